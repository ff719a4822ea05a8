#!/usr/bin/env bash
# Runs a command with a real, unlocked, empty OS keychain (gnome-keyring serving the Secret
# Service) on a private D-Bus session, in a scratch HOME that is removed afterwards:
#   bash scripts/with-keyring.sh cargo test --workspace --test it -- projects::
# cargo and rustup keep the toolchain of the real HOME (CARGO_HOME/RUSTUP_HOME are exported
# before HOME moves), so the command works as written on a developer's machine. A caller that
# already runs in its own D-Bus session and scratch HOME sets DOCKHAND_KEYRING_HOME to that HOME.
set -euo pipefail
if [ -z "${DOCKHAND_KEYRING_HOME:-}" ]; then
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  DOCKHAND_KEYRING_HOME=$(mktemp -d)
  export DOCKHAND_KEYRING_HOME
  trap 'rm -rf "$DOCKHAND_KEYRING_HOME"' EXIT
  # gnome-keyring-daemon aborts when a client is killed in the middle of a Secret Service
  # request (an upstream bug: "gkd_secret_service_get_pkcs11_session: assertion 'client'
  # failed", then SIGTRAP), and the crash tests kill `dockhand` at random moments — sometimes
  # exactly then. D-Bus then starts a new daemon for the next request by the system's activation
  # file, and that one's keyring stays locked (no password, no display to ask on): every later
  # test would fail with "locked collection". This session's own activation file starts it
  # unlocked instead; the request waits for it, and the keyring file on disk keeps every item.
  # (A user's own keyring after such a crash is locked, and Dockhand says to unlock it.)
  services="$DOCKHAND_KEYRING_HOME/.dbus-services/dbus-1/services"
  mkdir -p "$services"
  printf '%s\n' '[D-BUS Service]' 'Name=org.freedesktop.secrets' \
    "Exec=/bin/sh -c 'printf dockhand-tests | exec gnome-keyring-daemon --foreground --unlock --components=secrets'" \
    > "$services/org.freedesktop.secrets.service"
  export XDG_DATA_DIRS="$DOCKHAND_KEYRING_HOME/.dbus-services:${XDG_DATA_DIRS:-/usr/local/share:/usr/share}"
  set +e
  HOME="$DOCKHAND_KEYRING_HOME" dbus-run-session -- bash "$0" "$@"
  exit $?
fi
mkdir -p "$HOME/.cache" "$HOME/.local/share/keyrings"
# The password unlocks (and on first use creates) the login keyring of this scratch HOME.
echo -n dockhand-tests | gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec "$@"
