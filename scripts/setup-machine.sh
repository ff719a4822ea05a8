#!/usr/bin/env bash
# Makes a fresh Debian machine ready to run Dockhand and its tests: the packages below, a running
# Docker engine, and the local test images (postgres:15/17/18, redis:7/8, valkey/valkey:8/9,
# mariadb:10.11/11.8, mysql:9.7, pgvector/pgvector:pg17/pg18, postgis/postgis:17-3.5, from
# Debian 12 and 13 packages and the vendored Debian sid ones in ../shared/vendor:
# tests/images/build-images.sh).
# Idempotent: each step is skipped when its result is already there.
#   bash scripts/setup-machine.sh [packages] [clients] [engine] [images]     (default: all four)
# scripts/test-all.sh runs `packages` first (what the fast lane needs to build and lint), then the
# rest.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l

PACKAGES=(
  docker.io            # the engine Dockhand manages (dockerd + client)
  debootstrap          # builds the test images' root filesystem
  docker-registry      # a local registry for the image-pull tests
  podman netavark aardvark-dns   # the engine, project and backup tests run on Podman's Docker
                                 # API as well (scripts/podman-tests.sh); netavark resolves names
  postgresql-client redis-tools mariadb-client   # the clients tests use to check data, as a user would
  gnome-keyring dbus libsecret-tools             # a real OS keychain (Secret Service) for the tests
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libssl-dev
                                                 # the Tauri tray app's system libraries
  xvfb xauth webkit2gtk-driver dunst xclip haskell-status-notifier-item-utils xdotool xterm
                                                 # its end-to-end test: a display, WebDriver, a
                                                 # notification daemon, the clipboard, a tray host,
                                                 # xdotool to answer native dialogs, a terminal
                                                 # for "Open in psql"
  python3-venv                                   # selenium for the end-to-end test
  python3-sqlalchemy                             # reads the SQL Server URL Dockhand hands out (sqlserver.rs)
  build-essential pkg-config                     # C parts of crates (SQLite)
)
steps=" ${*:-packages clients engine images} "
want() { [[ "$steps" == *" $1 "* ]]; }

missing=()
want packages && for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Client libraries (crates/cli/tests/it/client_libraries.rs runs real apps' clients against
# Dockhand's variables). Debian: a JDK, the PostgreSQL and MariaDB JDBC drivers, Go with pgx v4,
# Ruby with ActiveRecord and pg. PyPI and npm: tests/clients/setup.sh installs the pinned
# requirements into a cache keyed by their hash (nothing to do when it is there already).
CLIENT_PACKAGES=(
  openjdk-17-jdk-headless libpostgresql-jdbc-java libmariadb-java
  golang-go golang-github-jackc-pgx-v4-dev
  ruby-activerecord ruby-pg
  python3-mysqldb                                # mysqlclient (MySQLdb), the C driver of Django's MySQL backend
)
want clients || CLIENT_PACKAGES=()
# Node may come from elsewhere (nodesource, nvm): Debian's is needed only when there is none.
want clients && ! { command -v node >/dev/null && command -v npm >/dev/null; } && CLIENT_PACKAGES+=(nodejs npm)
missing=()
for p in "${CLIENT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing client libraries ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
if want clients; then bash tests/clients/setup.sh; fi
# --- end of client libraries

if want engine && ! docker info >/dev/null 2>&1; then
  echo "== starting dockerd"
  # No systemd on the CI machines: run the daemon directly.
  $SUDO sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log"; tail -20 /var/log/dockerd.log; exit 1; }
fi

if want images; then
  echo "== test images"
  bash tests/images/build-images.sh
fi
