"""What every Python client program shares: the URL from the environment exactly as Dockhand
hands it out, the same URL under other schemes (to record which ones a library takes), and the
lines the Rust test reads back:

    SCHEME <scheme> ok | SCHEME <scheme> fail <error>   a connection attempt under that scheme
    READ <token>                                        the row or key read back after writing it
"""
import os
import sys


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set: run this under `dockhand run <project> -- ...`")
    return value


def with_scheme(url, scheme):
    return scheme + "://" + url.split("://", 1)[1]


def try_schemes(url, schemes, connect):
    """Connects with `url` under each scheme and says which worked; returns nothing."""
    for scheme in schemes:
        try:
            connect(with_scheme(url, scheme))
            print(f"SCHEME {scheme} ok", flush=True)
        except Exception as e:  # the library's own refusal is what we record
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            print(f"SCHEME {scheme} fail {type(e).__name__}: {first}", flush=True)
