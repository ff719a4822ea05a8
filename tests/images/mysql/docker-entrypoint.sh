#!/usr/bin/env bash
# Compact re-implementation of the official mysql image entrypoint (the subset apps rely on).
set -Eeo pipefail
log()  { printf '%s 0 [Note] [Entrypoint]: %s\n' "$(date -u '+%F %T')" "$*"; }
die()  { printf '%s 0 [ERROR] [Entrypoint]: %s\n' "$(date -u '+%F %T')" "$*" >&2; exit 1; }
file_env() {  # VAR or VAR_FILE, like the official image
	local var="$1" fileVar="${1}_FILE" def="${2:-}" val
	if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then die "both $var and $fileVar are set (but are exclusive)"; fi
	val="$def"
	if [ "${!var:-}" ]; then val="${!var}"; elif [ "${!fileVar:-}" ]; then val="$(< "${!fileVar}")"; fi
	export "$var"="$val"; unset "$fileVar"
}
sql_str() { local s=${1//\\/\\\\}; s=${s//\'/\\\'}; printf "'%s'" "$s"; }
sql_id()  { printf '`%s`' "${1//\`/\`\`}"; }

if [ "${1:0:1}" = '-' ]; then set -- mysqld "$@"; fi

if [ "$1" = 'mysqld' ]; then
	DATADIR=/var/lib/mysql; SOCKET=/var/run/mysqld/mysqld.sock
	if [ "$(id -u)" = '0' ]; then
		mkdir -p "$DATADIR" /var/run/mysqld
		find "$DATADIR" /var/run/mysqld \! -user mysql -exec chown mysql: '{}' +
		exec gosu mysql "$BASH_SOURCE" "$@"
	fi
	if [ ! -d "$DATADIR/mysql" ]; then
		file_env MYSQL_ROOT_PASSWORD; file_env MYSQL_ALLOW_EMPTY_PASSWORD; file_env MYSQL_RANDOM_ROOT_PASSWORD
		file_env MYSQL_DATABASE; file_env MYSQL_USER; file_env MYSQL_PASSWORD; file_env MYSQL_ROOT_HOST '%'
		if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "$MYSQL_ALLOW_EMPTY_PASSWORD" ] && [ -z "$MYSQL_RANDOM_ROOT_PASSWORD" ]; then
			die 'Database is uninitialized and password option is not specified
    You need to specify one of the following as an environment variable:
    - MYSQL_ROOT_PASSWORD
    - MYSQL_ALLOW_EMPTY_PASSWORD
    - MYSQL_RANDOM_ROOT_PASSWORD'
		fi
		if [ -n "$MYSQL_RANDOM_ROOT_PASSWORD" ]; then
			MYSQL_ROOT_PASSWORD="$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)"; log "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
		fi
		log 'Initializing database files'
		"$@" --initialize-insecure --default-time-zone=SYSTEM
		log 'Starting temporary server'
		"$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" &
		pid=$!
		cli=( mysql --protocol=socket --socket="$SOCKET" -uroot -hlocalhost --comments )
		for i in $(seq 600); do "${cli[@]}" --database=mysql -e 'SELECT 1' &>/dev/null && break; kill -0 $pid 2>/dev/null || die 'temporary server died'; sleep 0.1; done
		log 'Temporary server started.'
		rp=$(sql_str "$MYSQL_ROOT_PASSWORD")
		{
			echo "SET @@SESSION.SQL_LOG_BIN=0;"
			if [ "$MYSQL_ROOT_HOST" != 'localhost' ]; then
				echo "CREATE USER 'root'@$(sql_str "$MYSQL_ROOT_HOST") IDENTIFIED BY $rp;"
				echo "GRANT ALL ON *.* TO 'root'@$(sql_str "$MYSQL_ROOT_HOST") WITH GRANT OPTION;"
			fi
			echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $rp;"
			echo "FLUSH PRIVILEGES;"
			[ -n "$MYSQL_DATABASE" ] && echo "CREATE DATABASE IF NOT EXISTS $(sql_id "$MYSQL_DATABASE");"
			if [ -n "$MYSQL_USER" ] && [ -n "$MYSQL_PASSWORD" ]; then
				echo "CREATE USER $(sql_str "$MYSQL_USER")@'%' IDENTIFIED BY $(sql_str "$MYSQL_PASSWORD");"
				[ -n "$MYSQL_DATABASE" ] && echo "GRANT ALL ON $(sql_id "$MYSQL_DATABASE").* TO $(sql_str "$MYSQL_USER")@'%';"
			fi
		} | "${cli[@]}" --database=mysql
		export MYSQL_PWD="$MYSQL_ROOT_PASSWORD"
		for f in /docker-entrypoint-initdb.d/*; do
			case "$f" in
				*.sh)     if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
				*.sql)    "${cli[@]}" ${MYSQL_DATABASE:+--database="$MYSQL_DATABASE"} < "$f" ;;
				*.sql.gz) gunzip -c "$f" | "${cli[@]}" ${MYSQL_DATABASE:+--database="$MYSQL_DATABASE"} ;;
				*)        [ -e "$f" ] && log "ignoring $f" ;;
			esac
		done
		mysqladmin --socket="$SOCKET" -uroot shutdown
		wait $pid || :
		unset MYSQL_PWD
		log 'MySQL init process done. Ready for start up.'
	fi
fi
exec "$@"
