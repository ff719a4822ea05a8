#!/usr/bin/env bash
# Runs every test of Dockhand: sets the machine up (packages, Docker engine, test images), runs the
# fast lane (lint and unit tests, no Docker: scripts/fast-lane.sh) and stops there if it fails,
# then the end-to-end tests against the real engines, the app and the package. Prints each
# stage's time and one summary line at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

# Each stage's time, printed at the end (and when the run stops early).
timings=(); stage_name=""; stage_start=$start
stage() {
  local now; now=$(date +%s)
  [ -z "$stage_name" ] || timings+=("$(printf '%6d s  %s' $((now - stage_start)) "$stage_name")")
  stage_name=$1; stage_start=$now
  [ -z "$1" ] || echo "== $1"
}
print_timings() {
  stage ""
  echo "== stages"; printf '%s\n' "${timings[@]}"
  echo "== done in $(( $(date +%s) - start )) s"
}

# Whether this run starts the Docker engine: only a daemon this script started may be killed by
# the fault test that kills dockerd (a developer's own engine is never touched).
engine_was_running=0
docker info >/dev/null 2>&1 && engine_was_running=1
stage "packages"
bash scripts/setup-machine.sh packages
command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)"; exit 1; }

# The fault summary reads every pass's results from this log (some scenarios are unit tests).
log=$(mktemp)
stage "fast lane (scripts/fast-lane.sh)"
set +e
bash scripts/fast-lane.sh 2>&1 | tee "$log"
fast_status=${PIPESTATUS[0]}
set -e
if [ "$fast_status" != 0 ]; then
  rm -f "$log"
  print_timings
  echo "== the fast lane failed: fix it before the Docker tests run (bash scripts/fast-lane.sh)"
  exit 1
fi

stage "client libraries, engine, test images"
bash scripts/setup-machine.sh clients engine images

stage "build"
cargo build --workspace --all-targets --locked

stage "tests (in a private D-Bus session with an unlocked gnome-keyring: the real OS keychain)"
set +e
# Every integration-test binary (`--test '*'`); the unit tests ran in the fast lane.
# --no-fail-fast: a failing test binary must not hide the ones after it (the summary below
# reports any scenario that did not run as a failure).
bash scripts/with-keyring.sh cargo test --workspace --locked --no-fail-fast --test '*' 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}
# The pass above runs the oldest supported versions (postgres:15, redis:7, mariadb:10.11), and
# the extension tests (crates/cli/tests/it/extensions.rs) on pgvector/pgvector:pg17 and :pg18 and
# postgis/postgis:17-3.5. This one runs again, on the catalog's defaults — what a user gets
# without naming a version (postgres:18, redis:8, mariadb:11, and Valkey 9 wherever Redis runs;
# see crates/cli/tests/it/common/versions.rs) —
# every test in an `each_version` module: those whose outcome depends on the server's version
# (its initialisation, isolation rules, dump and restore tools, exit on kill). The rest — bad
# input, Docker hung, ports, leases, kill -9 of Dockhand itself — test Dockhand's own code, the
# same whatever the server, and stay in the first pass only (about 6 minutes saved).
# `--workspace`, as every cargo command of this run: the same package selection unifies the same
# features, so nothing is compiled twice (`-p dockhand-cli` recompiled ~100 dependencies).
stage "the default versions (Debian 13 and vendored sid test images)"
export DOCKHAND_TEST_VERSIONS=defaults
bash scripts/with-keyring.sh cargo test --workspace --locked --no-fail-fast --test it -- each_version:: 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
unset DOCKHAND_TEST_VERSIONS
# MySQL 9 (tests/images/mysql, from the vendored Debian sid packages): every test that runs a
# server of the MySQL family runs again with MySQL in MariaDB's place — isolation attacks,
# provisioning and restores under kill -9, backup/restore, import/export with the hostile files,
# `db create/drop`, adoption, the client libraries. The list is the tests that call `my_spec()`
# (crates/cli/tests/it/common/versions.rs), and a test there fails when one is missing from it.
MYSQL_LANE=(
  adversarial::mariadb_grants_do_not_treat_underscores_in_a_projects_name_as_wildcards
  adversarial::one_project_cannot_take_every_connection_slot_from_the_others
  adversarial::an_attach_killed_at_random_moments_always_finishes_on_the_next_run
  backups::a_mariadb_restore_killed_midway_is_completed_by_the_rerun
  backups::a_mariadb_restore_killed_at_each_step_is_settled_by_the_rerun
  backups::each_version::mariadb_rows_survive_backup_drop_and_restore
  backups::each_version::data_written_through_the_admin_url_is_backed_up_and_nothing_is_never_silent
  client_libraries::real_client_libraries_read_the_variables_as_they_are_and_stay_in_their_project
  engine::a_cli_killed_mid_up_is_picked_up_without_a_duplicate
  engine::each_version::mariadb_lifecycle_keeps_data_across_stop_and_destroy
  engine::each_version::three_services_start_in_parallel
  hostile_ground::a_replacement_killed_while_the_project_is_kept_out_lets_it_in_again
  hostile_ground::attaching_never_takes_over_what_dockhand_did_not_create
  hostile_ground::each_version::mariadb_keeps_the_project_out_while_its_database_is_replaced
  hostile_ground::each_version::mariadb_imports_read_no_server_file_and_restores_grant_nothing_new
  import_export::a_mariadb_import_killed_mid_stream_is_recoverable_and_the_next_one_succeeds
  import_export::each_version::mariadb_imports_dumps_as_the_project_user_and_refuses_what_does_not_fit
  modes::each_version::fast_mode_settings_are_what_a_projects_session_sees
  projects::each_version::each_project_gets_its_own_database_and_cannot_open_another_projects
  registry::a_users_mysql_family_container_is_adopted_and_serves_projects
  window_core::mariadb_databases_are_created_alone_and_dropped_after_a_backup
  window_core::backing_up_a_fresh_server_backs_up_what_is_there_or_says_there_is_nothing
)
stage "MySQL 9 in MariaDB's place (the MySQL family's tests)"
DOCKHAND_TEST_MYSQL_FAMILY=mysql bash scripts/with-keyring.sh cargo test --workspace --locked --no-fail-fast --test it -- --exact "${MYSQL_LANE[@]}" 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
if [ "$engine_was_running" = 0 ]; then
  # The engine is ours: the ignored test that kills dockerd (and restarts it) may run.
  stage "the engine killed (dockerd is this run's own)"
  bash scripts/with-keyring.sh cargo test --workspace --locked --test it -- --ignored --exact \
    supervisor::the_daemon_going_away_is_reported_within_seconds_and_services_come_back 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  echo "owned-engine" >>"$log"
else
  echo "== not killing dockerd: it was running before this script (the scenario that kills it is skipped)"
fi
set -e
# The sum of cargo's "N passed" (or failed) over a log's test results.
tally() { grep 'test result:' "$2" | grep -Eo "[0-9]+ $1" | awk '{s+=$1} END {print s+0}'; }
passed=$(tally passed "$log")
failed=$(tally failed "$log")
# Each fault and adversarial scenario is one of the tests above; this says which held. A scenario
# that failed or did not run fails the whole run.
if ! bash tests/faults/summary.sh "$log"; then
  [ "$status" = 0 ] && status=1
fi

stage "Podman: the engine, project, backup, supervisor, modes, images and tasks tests on Podman's Docker API"
# Its own engine (a private `podman system service`, scripts/podman-tests.sh) beside dockerd; the
# same test files, so they stay out of the fault summary above (which reads dockerd's run). The
# OOM test is Docker's only: Podman 4.3 on these machines (cgroup v1) does not report OOMKilled.
set +e
bash scripts/podman-tests.sh 2>&1 | tee "$log"
podman_status=${PIPESTATUS[0]}
set -e
podman_passed=$(tally passed "$log")
podman_failed=$(tally failed "$log")
grep -q '^== left behind on Podman' "$log" && podman_failed=$((podman_failed + 1))
if [ "$podman_status" != 0 ] && [ "$podman_failed" = 0 ]; then podman_failed=1; fi
echo "podman: ${podman_passed} passed, ${podman_failed} failed"
passed=$((passed + podman_passed)); failed=$((failed + podman_failed))
[ "$status" = 0 ] && status=$podman_status

stage "end-to-end: the tray app under Xvfb, driven by WebDriver and over D-Bus"
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

stage "install: the .deb from scripts/package.sh, installed into a clean Debian 12 container"
# A debug build: it reuses the test build above, adding only the app's bundled variant (Tauri's
# custom-protocol feature) — compiled once per build cache, then the step is about a minute to
# package plus a few minutes to install; a release build would compile every crate again.
# tauri-cli is installed into CARGO_HOME on the first run (a one-time build).
set +e
if bash scripts/package.sh --debug 2>&1 | tee "$log"; then
  deb=$(ls -t "$(sed -n 's/^== packages in //p' "$log" | tail -1)"/deb/*.deb 2>/dev/null | head -1)
  bash tests/install/run.sh "$deb" 2>&1 | tee "$log"
  install_status=${PIPESTATUS[0]}
else
  echo "FAIL     the packages build (bash scripts/package.sh --debug)"
  echo "install test: 0 passed, 1 failed" | tee "$log"
  install_status=1
fi
set -e
install_line=$(grep -E '^install test: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
install_passed=$(echo "$install_line" | awk '{print $3+0}')
install_failed=$(echo "$install_line" | awk '{print $5+0}')
if [ -z "$install_line" ] && [ "$install_status" != 0 ]; then install_failed=1; fi
passed=$((passed + install_passed)); failed=$((failed + install_failed))
[ "$status" = 0 ] && status=$install_status
rm -f "$log"
# The tests remove what they create; anything of theirs still here (test services are named
# dockhand-t<hex>-…) is a leak, and fails the run.
leaks=$( { docker ps -a --format '{{.Names}}'; docker volume ls --format '{{.Name}}'; } | grep -E '^dockhand-t[0-9a-f]+-' || true)
if [ -n "$leaks" ]; then
  echo "== left behind by the tests:"; echo "$leaks"
  [ "$status" = 0 ] && status=1
  failed=$((failed + 1))
fi
print_timings
echo "${passed} passed, ${failed} failed"
exit "$status"
