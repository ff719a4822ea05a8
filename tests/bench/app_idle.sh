#!/usr/bin/env bash
# The tray app's idle benchmark (tests/bench/app_idle.py) in a private display, bus and keyring.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
cargo build --release -p dockhand-app -p dockhand-tray -p dockhand-cli --locked
# python-xlib closes the dashboard the way a window manager's close button does.
venv=target/bench-venv
[ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import Xlib' 2>/dev/null || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q python-xlib
}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
HOME="$scratch" DOCKHAND_KEYRING_HOME="$scratch" xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- timeout 900 bash scripts/with-keyring.sh "$venv/bin/python" tests/bench/app_idle.py
