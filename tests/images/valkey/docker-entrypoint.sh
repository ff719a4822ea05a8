#!/bin/sh
# Compact version of the official valkey/valkey entrypoint (valkey-io/valkey-container).
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- valkey-server "$@"; fi
if [ "$1" = 'valkey-server' ]; then
	# Upstream compiles protected-mode off; Debian's binary defaults it on (refusing non-loopback
	# clients without a password), so turn it off unless the user configured it.
	case " $* " in
		*protected-mode*) ;;
		*) pm=no; for a in "$@"; do case "$a" in *.conf) grep -qs '^ *protected-mode' "$a" && pm=;; esac; done
		   [ -n "$pm" ] && set -- "$@" --protected-mode no ;;
	esac
	if [ "$(id -u)" = '0' ]; then
		find . \! -user valkey -exec chown valkey '{}' +
		if command -v setpriv >/dev/null; then
			exec setpriv --reuid=valkey --regid=valkey --clear-groups -- "$0" "$@"
		fi
		exec gosu valkey "$0" "$@"
	elif [ ! -w . ]; then
		echo >&2 "error: directory is not writable by current user ($(id -u))"
		exit 1
	fi
fi
[ "$(umask)" = '0022' ] && umask 0077
# Unquoted on purpose, as upstream: the variable holds several flags.
exec "$@" $VALKEY_EXTRA_FLAGS
