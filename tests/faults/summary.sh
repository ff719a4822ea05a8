#!/usr/bin/env bash
# Prints the fault and adversarial suite's result, one line per scenario, from a `cargo test` log:
#   bash tests/faults/summary.sh <log>
# Exits non-zero when any scenario failed or did not run. A scenario whose third column names a
# condition (`owned-engine`: the test kills dockerd, so it runs only where scripts/test-all.sh
# started the engine itself) is reported SKIP with that reason when the log says it was not met.
set -euo pipefail
log=$1
here=$(dirname "$0")
pass=0; fail=0; skip=0
echo "== fault and adversarial suite"
while IFS=$'\t' read -r test what needs; do
  case "$test" in ''|'#'*) continue ;; esac
  if grep -Eq "^test (.*::)?${test} \.\.\. ok$" "$log"; then
    echo "PASS     $what"; pass=$((pass + 1))
  elif grep -Eq "^test (.*::)?${test} \.\.\. FAILED$" "$log"; then
    echo "FAIL     $what"; fail=$((fail + 1))
  elif [ "${needs:-}" = owned-engine ] && ! grep -qx owned-engine "$log"; then
    echo "SKIP     $what (dockerd was not started by this run; the test kills only a daemon it started)"
    skip=$((skip + 1))
  else
    echo "NOT RUN  $what (test '$test' did not run)"; fail=$((fail + 1))
  fi
done < "$here/scenarios.tsv"
echo "fault and adversarial suite: $pass passed, $fail failed or not run, $skip skipped"
[ "$fail" = 0 ]
