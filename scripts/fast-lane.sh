#!/usr/bin/env bash
# The fast lane: everything that needs no container engine, no server and no keychain — the lint
# (clippy with warnings as errors, every target) and the unit tests of every crate (core, CLI, app,
# bench; the core's with the fake engine). scripts/test-all.sh runs it first and stops there when
# it fails; on its own, after `bash scripts/setup-machine.sh packages`:
#   bash scripts/fast-lane.sh
# It builds the same units the full run's test build does (`--workspace`, the same features), so it
# costs the full run little more than the lint.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== fast lane: cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== fast lane: unit tests (no Docker)"
cargo test --workspace --locked --lib --bins
