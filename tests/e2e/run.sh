#!/usr/bin/env bash
# End-to-end test of the tray app: builds it, makes sure tauri-driver and selenium are there, and
# runs tests/e2e/app_e2e.py under Xvfb in a private D-Bus session with an unlocked gnome-keyring.
# Needs what scripts/setup-machine.sh installs. Prints `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export PATH="$CARGO_HOME/bin:$PATH"

cargo build --workspace --bin dockhand --bin dockhand-app --bin dockhand-tray --locked
command -v tauri-driver >/dev/null || cargo install tauri-driver --version '^2' --locked
venv=target/e2e-venv
# Pillow decodes the dashboard's screenshot, so its check can tell a rendered page from a blank one.
[ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import selenium, PIL' 2>/dev/null || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q selenium pillow
}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# TMPDIR too: the tray icon's library writes its pictures to $TMPDIR/tray-icon.
mkdir -p "$scratch/tmp"
HOME="$scratch" TMPDIR="$scratch/tmp" DOCKHAND_KEYRING_HOME="$scratch" xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- timeout --kill-after=30 900 bash scripts/with-keyring.sh "$venv/bin/python" tests/e2e/app_e2e.py
