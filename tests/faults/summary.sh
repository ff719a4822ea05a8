#!/usr/bin/env bash
# Prints the fault suite's result, one line per scenario, from a `cargo test` log:
#   bash tests/faults/summary.sh <log>
set -euo pipefail
log=$1
here=$(dirname "$0")
pass=0; fail=0
echo "== fault suite"
while IFS=$'\t' read -r test what; do
  case "$test" in ''|'#'*) continue ;; esac
  if grep -Eq "^test (.*::)?${test} \.\.\. ok$" "$log"; then
    echo "PASS  $what"; pass=$((pass + 1))
  elif grep -Eq "^test (.*::)?${test} \.\.\. FAILED$" "$log"; then
    echo "FAIL  $what"; fail=$((fail + 1))
  else
    echo "MISS  $what (test '$test' did not run)"; fail=$((fail + 1))
  fi
done < "$here/scenarios.tsv"
echo "fault suite: $pass passed, $fail failed"
