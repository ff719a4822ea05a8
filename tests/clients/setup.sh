#!/usr/bin/env bash
# Installs the client libraries crates/cli/tests/it/client_libraries.rs runs: the Python packages of
# requirements.txt into a venv and the npm packages of package.json + package-lock.json, both in
# a folder of a cache keyed by the hash of those pinned files, so a second run (or another
# checkout with the same pins) installs nothing. tests/clients/.installed then points at it (the
# tests run with a scratch HOME, so they find the cache through this link, not through $HOME).
# The JDBC drivers, a JDK, Go with pgx and Ruby with ActiveRecord are Debian packages
# (scripts/setup-machine.sh). A folder whose install was interrupted has no .complete stamp and
# is installed again from scratch.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
root="${DOCKHAND_CLIENTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dockhand-clients}"
hash=$(cat requirements.txt package.json package-lock.json | sha256sum | cut -c1-16)
dir="$root/$hash"
if [ "$(cat "$dir/.complete" 2>/dev/null)" != "$hash" ]; then
  echo "== client libraries for the client-library test → $dir"
  rm -rf "$dir"
  mkdir -p "$dir/node"
  # Debian's own Python (python3-venv), not whichever python3 comes first on PATH.
  /usr/bin/python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install -q --disable-pip-version-check -r requirements.txt
  cp package.json package-lock.json "$dir/node/"
  (cd "$dir/node" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  echo "$hash" > "$dir/.complete"
fi
ln -sfn "$dir" "$here/.installed"
