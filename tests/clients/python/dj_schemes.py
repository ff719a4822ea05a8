"""Which schemes dj-database-url maps to a Django backend (it only parses; `manage.py migrate`
is the real connection). Prints SCHEME lines for the URL in VARIABLE under each scheme.

    dj_schemes.py VARIABLE SCHEME...
"""
import sys

import dj_database_url

from common import env, with_scheme

url = env(sys.argv[1])
for scheme in sys.argv[2:]:
    try:
        engine = dj_database_url.parse(with_scheme(url, scheme))["ENGINE"]
        print(f"SCHEME {scheme} ok {engine}")
    except Exception as e:
        print(f"SCHEME {scheme} fail {type(e).__name__}: {e}")
