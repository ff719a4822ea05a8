#!/usr/bin/env bash
# Runs every test of Dockhand: sets the machine up (packages, Docker engine, test images), then the
# unit tests and the end-to-end tests against the real engine. Prints one summary line at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

bash scripts/setup-machine.sh

command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)"; exit 1; }
echo "== build"
cargo build --workspace --all-targets --locked

echo "== tests (in a private D-Bus session with an unlocked gnome-keyring: the real OS keychain)"
log=$(mktemp)
# HOME moves to a scratch directory so the keyring starts empty; cargo and rustup keep theirs.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
keyring_home=$(mktemp -d)
set +e
# The supervisor fault test kills and restarts dockerd: allowed here, where setup-machine.sh
# started (or found) the engine for this run.
export DOCKHAND_TEST_KILL_DOCKERD=1
HOME="$keyring_home" dbus-run-session -- bash scripts/with-keyring.sh cargo test --workspace --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
rm -rf "$keyring_home"
passed=$(grep 'test result:' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep 'test result:' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
# Each fault scenario is one of the tests above; this says which held.
bash tests/faults/summary.sh "$log" || true

echo "== end-to-end: the tray app under Xvfb, driven by WebDriver and over D-Bus"
set +e
bash tests/e2e/run.sh 2>&1 | tee "$log"
e2e_status=${PIPESTATUS[0]}
set -e
e2e_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
e2e_passed=$(echo "$e2e_line" | awk '{print $1+0}')
e2e_failed=$(echo "$e2e_line" | awk '{print $3+0}')
if [ -z "$e2e_line" ] && [ "$e2e_status" != 0 ]; then e2e_failed=1; fi
passed=$((passed + e2e_passed)); failed=$((failed + e2e_failed))
[ "$status" = 0 ] && status=$e2e_status
rm -f "$log"
echo "== done in $(( $(date +%s) - start )) s"
echo "${passed} passed, ${failed} failed"
exit "$status"
