#!/usr/bin/env bash
# Install test: installs a built .deb into a clean Debian 12 container (the test images'
# debootstrap base plus the tools the checks use; no Dockhand dependency preinstalled) with
# `apt-get install ./dockhand_….deb`, then checks, as a desktop user would, `dockhand --version`,
# `man dockhand`, bash completion, the desktop entry, the app starting from its installed path under
# Xvfb with its tray item registered, and Launch at Login writing the installed path.
#   bash tests/install/run.sh [path/to/dockhand_….deb]   (default: the newest under
#   $CARGO_TARGET_DIR or target/, */bundle/deb)
# Needs Docker, the test images' base (scripts/setup-machine.sh builds it) and the Debian mirror.
# Prints one PASS/FAIL line per check and `install test: N passed, N failed`; exits non-zero on a
# failure. Removes its container; keeps the tools image (cache, tagged by its recipe's hash).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/install
start=$(date +%s)

deb=${1:-$(ls -t "${CARGO_TARGET_DIR:-target}"/*/bundle/deb/*.deb 2>/dev/null | head -1)}
[ -f "$deb" ] || { echo "no .deb found: run 'bash scripts/package.sh' first (or pass its path)"; exit 1; }
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
# The commit --version must show: the one the package was built from, i.e. this checkout's.
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo "${DOCKHAND_GIT_COMMIT:-unknown}")

base=dockhand-test-base:bookworm
base_id=$(docker image inspect -f '{{.Id}}' "$base" 2>/dev/null) \
  || { echo "no $base image: run 'bash scripts/setup-machine.sh' (it builds the test images)"; exit 1; }
# Rebuilt only when the recipe or the base changes.
hash=$( { cat "$here/Dockerfile"; echo "$base_id"; } | sha256sum | cut -c1-16)
image=dockhand-install-test:bookworm
if [ "$(docker image inspect -f '{{index .Config.Labels "dockhand.test-recipe"}}' "$image" 2>/dev/null)" != "$hash" ]; then
  echo "+ build $image ($hash)"
  old=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
  DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$base" --label dockhand.test-recipe="$hash" -t "$image" "$here" >/dev/null
  # The stale recipe's image is no cache any more.
  [ -z "$old" ] || docker image rm "$old" >/dev/null 2>&1 || true
fi

name=dockhand-install-$$-$RANDOM
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
log=$(mktemp)
echo "== install test: $(basename "$deb") in a clean Debian 12 container"
set +e
timeout --kill-after=30 900 docker run --rm --name "$name" \
  -v "$deb:/pkg/$(basename "$deb"):ro" -v "$PWD/$here:/t:ro" \
  "$image" bash /t/in-container.sh "/pkg/$(basename "$deb")" "$commit" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
pass=$(grep -c '^PASS ' "$log" || true)
fail=$(grep -c '^FAIL ' "$log" || true)
rm -f "$log"
# A run that died before its checks (no PASS/FAIL lines) is a failure, never a silent pass.
if [ "$status" != 0 ] && [ "$fail" = 0 ]; then echo "FAIL     the install test ran to its end (exit $status)"; fail=1; fi
echo "install test: $pass passed, $fail failed ($(( $(date +%s) - start )) s)"
[ "$fail" = 0 ] && [ "$status" = 0 ]
