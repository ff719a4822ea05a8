#!/usr/bin/env bash
# Runs a command with an unlocked gnome-keyring serving the Secret Service on the current D-Bus
# session. Use inside `dbus-run-session`, e.g.:
#   HOME=$(mktemp -d) dbus-run-session -- bash scripts/with-keyring.sh cargo test
set -euo pipefail
mkdir -p "$HOME/.cache" "$HOME/.local/share/keyrings"
# The password unlocks (and on first use creates) the login keyring of this scratch HOME.
echo -n dockhand-tests | gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec "$@"
