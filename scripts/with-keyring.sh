#!/usr/bin/env bash
# Runs a command with a real, unlocked, empty OS keychain (gnome-keyring serving the Secret
# Service) on a private D-Bus session, in a scratch HOME that is removed afterwards:
#   bash scripts/with-keyring.sh cargo test -p dockhand-cli --test projects
# cargo and rustup keep the toolchain of the real HOME (CARGO_HOME/RUSTUP_HOME are exported
# before HOME moves), so the command works as written on a developer's machine. A caller that
# already runs in its own D-Bus session and scratch HOME sets DOCKHAND_KEYRING_HOME to that HOME.
set -euo pipefail
if [ -z "${DOCKHAND_KEYRING_HOME:-}" ]; then
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  DOCKHAND_KEYRING_HOME=$(mktemp -d)
  export DOCKHAND_KEYRING_HOME
  trap 'rm -rf "$DOCKHAND_KEYRING_HOME"' EXIT
  set +e
  HOME="$DOCKHAND_KEYRING_HOME" dbus-run-session -- bash "$0" "$@"
  exit $?
fi
mkdir -p "$HOME/.cache" "$HOME/.local/share/keyrings"
# The password unlocks (and on first use creates) the login keyring of this scratch HOME.
echo -n dockhand-tests | gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec "$@"
