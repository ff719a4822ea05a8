#!/usr/bin/env bash
# Runs Dockhand's tests against Podman's Docker-compatible API (Stardeck's engine) instead of
# dockerd — by default the engine, project, backup, supervisor, modes, images, tasks and
# PostgreSQL 18 tests, then MySQL 9's life cycle, isolation and backups:
#   bash scripts/podman-tests.sh [test filters…]     (default: the modules below, e.g. backups::)
# Podman here is rootful Podman from Debian (4.3), serving the API with `podman system service`
# on a private socket, with its own storage, network configuration and events log under one
# folder: the machine's own Podman (its images, containers, /etc/cni/net.d) is never touched,
# and only the service this script started is stopped. The storage is a cache kept between runs
# (the test images are copied in from Docker once per image ID, about 30 s); everything else is
# removed at the end.
# Needs: podman (setup-machine.sh installs it), Docker's test images (tests/images/build-images.sh)
# and the `docker` client, which the tests use to look at containers — pointed at Podman too.
set -euo pipefail
cd "$(dirname "$0")/.."

storage="${DOCKHAND_PODMAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dockhand/podman}"
run=$(mktemp -d /tmp/dockhand-podman.XXXXXX)
# Podman records its run folders in its database: they stay at the same place for this storage,
# and are emptied after each run (as a reboot empties /run).
podman_cmd=(podman --root "$storage/root" --runroot "$storage/run/root" --tmpdir "$storage/run/libpod")
podman_() { "${podman_cmd[@]}" "$@"; }
# The processes of this storage (the service, and conmon for each container and exec session),
# found by its path, which no other Podman uses.
ours() { pgrep -f -- "$storage/root" || true; }
service_pid=""
netavark_dir_was_there=1   # until known: never remove a folder that was there
netavark_chains_before=1   # likewise for its firewall chains
cleanup() {
  local status=$?
  if [ -n "$service_pid" ]; then
    # Whatever a failed test left is ours alone (private storage): report it, then remove it.
    left=$(podman_ ps -a --format '{{.Names}}' 2>/dev/null; podman_ volume ls --format '{{.Name}}' 2>/dev/null)
    if [ -n "$left" ]; then
      echo "== left behind on Podman by the tests:"; echo "$left"
      status=1
      podman_ rm -af -t 0 >/dev/null 2>&1 || true
      podman_ volume rm -af >/dev/null 2>&1 || true
    fi
    kill "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
    # Podman 4.3 keeps the conmon of each exec session for 300 s after it ends: with no
    # container left, any process of this storage is one of those.
    for _ in $(seq 20); do [ -z "$(ours)" ] && break; sleep 0.5; done
    leftover=$(ours)
    if [ -n "$leftover" ]; then
      echo "== ending $(echo "$leftover" | wc -l) conmon process(es) of exec sessions (Podman keeps them up to 300 s)"
      kill $leftover 2>/dev/null || true
      sleep 1
      leftover=$(ours); [ -z "$leftover" ] || kill -9 $leftover 2>/dev/null || true
    fi
  fi
  podman_ network prune -f >/dev/null 2>&1 || true
  # Podman may leave its storage's overlay folder bind-mounted on itself.
  mountpoint -q "$storage/root/overlay" && umount "$storage/root/overlay" 2>/dev/null || true
  rm -rf "$storage/run"
  # netavark keeps its address leases and aardvark-dns's records in /run/containers/networks
  # (not configurable per run): remove what appeared during this run, nothing else.
  for d in /run/containers/networks/*; do
    [ -e "$d" ] && ! grep -qxF "$d" "$run/netavark-before" 2>/dev/null && rm -rf "$d"
  done
  [ -n "$netavark_dir_was_there" ] || rmdir /run/containers/networks /run/containers 2>/dev/null || true
  # netavark leaves its (empty) firewall chains and the jumps to them: removed when this run
  # made them, left alone when they were there before.
  [ "$netavark_chains_before" != 0 ] || drop_netavark_chains
  rm -rf "$run"
  exit $status
}
drop_netavark_chains() {
  local t c
  for t in filter nat; do
    iptables-save -t "$t" | grep -E '^-A [A-Z]+ .*-j NETAVARK' | sed 's/^-A/-D/' |
      while read -r rule; do eval iptables -t "$t" "$rule"; done
    for c in $(iptables-save -t "$t" | sed -n 's/^:\(NETAVARK[^ ]*\) .*/\1/p'); do iptables -t "$t" -F "$c"; done
    for c in $(iptables-save -t "$t" | sed -n 's/^:\(NETAVARK[^ ]*\) .*/\1/p'); do iptables -t "$t" -X "$c"; done
  done
}
trap cleanup EXIT
netavark_chains_before=$(iptables-save 2>/dev/null | grep -c NETAVARK || true)

mkdir -p "$storage" "$run/networks"
netavark_dir_was_there=""; [ -d /run/containers ] && netavark_dir_was_there=1
ls -d /run/containers/networks/* >"$run/netavark-before" 2>/dev/null || true
# In this kind of sandbox rootful Podman's default ulimits are refused ("error setting rlimit
# type 7"); the events go to a file (no journald); networks are netavark's, with aardvark-dns
# resolving container names (Podman's default backend since 4.0 where installed; Debian 12's
# `podman` alone gives CNI without name resolution — see docs/manual.md), and the networks Dockhand
# creates are written to this run's folder instead of /etc/containers/networks.
cat > "$run/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
events_logger = "file"
events_logfile_path = "$run/events.log"
[network]
network_backend = "netavark"
network_config_dir = "$run/networks"
EOF
# The image-pull test pushes to Debian's docker-registry on 127.0.0.1 over plain HTTP: Docker
# allows that for loopback by default, Podman only for registries marked insecure (the test takes
# the first free port from 45000).
{
  echo 'unqualified-search-registries = ["docker.io"]'
  for p in $(seq 45000 45019); do
    printf '[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' "$p"
  done
} > "$run/registries.conf"
export CONTAINERS_CONF="$run/containers.conf" CONTAINERS_REGISTRIES_CONF="$run/registries.conf"

# The test images, under the names a Podman user who pulled them from Docker Hub has
# (docker.io/library/postgres:17 …), copied from Docker when Podman lacks that image ID.
images=(postgres:15 postgres:17 postgres:18 redis:7 redis:8 mariadb:10.11 mariadb:11 mysql:9 valkey/valkey:8 valkey/valkey:9)
copy=()
for i in "${images[@]}"; do
  full="docker.io/$i"; [[ "$i" == */* ]] || full="docker.io/library/$i"
  want=$(docker image inspect -f '{{.Id}}' "$i")
  have=$(podman_ image inspect -f '{{.Id}}' "$full" 2>/dev/null || true)
  [ "sha256:$have" = "$want" ] || [ "$have" = "$want" ] || copy+=("$i")
done
if [ ${#copy[@]} -gt 0 ]; then
  echo "== copying ${copy[*]} from Docker to Podman"
  docker save "${copy[@]}" | podman_ load -q >/dev/null
  for i in "${copy[@]}"; do
    full="docker.io/$i"; [[ "$i" == */* ]] || full="docker.io/library/$i"
    podman_ tag "localhost/$i" "$full"
    podman_ untag "localhost/$i" "localhost/$i"
  done
  podman_ image prune -f >/dev/null
fi

echo "== Podman $(podman --version | awk '{print $3}'): serving the Docker API on $run/podman.sock"
# exec: the pid is the service's own (a function in the background would be a subshell, and
# killing it would leave the service running).
(exec "${podman_cmd[@]}" system service --time=0 "unix://$run/podman.sock") >"$run/service.log" 2>&1 &
service_pid=$!
export DOCKER_HOST="unix://$run/podman.sock"
# Tests that depend on what this Podman lacks (a container update: Podman 5.1) ask this.
DOCKHAND_TEST_ENGINE="podman-$(podman --version | awk '{print $3}' | cut -d. -f1)"
export DOCKHAND_TEST_ENGINE
for _ in $(seq 50); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
docker version >/dev/null 2>&1 || { echo "podman system service did not answer"; cat "$run/service.log"; exit 1; }

defaults=0
[ $# -gt 0 ] || { defaults=1; set -- engine:: projects:: backups:: supervisor:: modes:: images:: tasks:: \
  postgres18:: --skip an_oom_kill_names_the_limit; }
set +e
# --workspace, as in scripts/test-all.sh: the same features, nothing compiled twice.
bash scripts/with-keyring.sh cargo test --workspace --locked --no-fail-fast --test it -- "$@"
status=$?
if [ $defaults = 1 ]; then
  # MySQL 9 in MariaDB's place (as the MySQL lane of scripts/test-all.sh): its life cycle,
  # isolation and backups on Podman.
  DOCKHAND_TEST_MYSQL_FAMILY=mysql bash scripts/with-keyring.sh cargo test --workspace --locked \
    --no-fail-fast --test it -- --exact engine::each_version::mariadb_lifecycle_keeps_data_across_stop_and_destroy \
    backups::each_version::mariadb_rows_survive_backup_drop_and_restore \
    projects::each_version::each_project_gets_its_own_database_and_cannot_open_another_projects
  [ $? = 0 ] || status=1
fi
set -e
exit $status
