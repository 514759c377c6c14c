#!/usr/bin/env bash
# Runs each unit-test binary given as an argument and prints one closing line
# "N passed, N failed" (test binaries, each a cmocka group) so CI can read it.
#
# `make test` runs the tests twice (SQLite, then PostgreSQL under
# tests/pg/with-postgres) and wants one closing line for both:
#   TESTS_LABEL=WORD   names this run ("== test_store [postgresql]", and its
#                      own line "tests on WORD: N passed, N failed (S s)")
#   TESTS_TALLY=FILE   also appends this run's counts to FILE
#   tests/run.sh --total FILE LABEL...
#                      prints "tests: N passed, N failed" over every run
#                      recorded in FILE (and the failed tests' names); an
#                      expected LABEL with no run recorded (e.g. the PostgreSQL
#                      cluster did not start) counts as one failure. Exit
#                      status 0 only if nothing failed.
set -u
if [[ ${1:-} == --total ]]; then
  tally=${2:?--total FILE LABEL...}
  shift 2
  pass=0; fail=0; failed=()
  while read -r label p f names; do
    pass=$((pass + p)); fail=$((fail + f))
    [[ -n $names ]] && failed+=("$names")
  done < <(cat "$tally" 2>/dev/null)
  for want in "$@"; do
    grep -q "^$want " "$tally" 2>/dev/null && continue
    fail=$((fail + 1)); failed+=("[$want: did not run]")
  done
  [[ ${#failed[@]} -gt 0 ]] && echo "failed: ${failed[*]}"
  echo "tests: $pass passed, $fail failed"
  [[ $fail -eq 0 ]]
  exit
fi

label=${TESTS_LABEL:-}
pass=0; fail=0; failed=()
for t in "$@"; do
  echo "== $(basename "$t")${label:+ [$label]}"
  if "$t"; then pass=$((pass+1)); else fail=$((fail+1)); failed+=("$(basename "$t")${label:+[$label]}"); fi
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
if [[ -n $label ]]; then
  echo "tests on $label: $pass passed, $fail failed (${SECONDS} s)"
else
  echo "tests: $pass passed, $fail failed"
fi
[[ -n ${TESTS_TALLY:-} ]] && echo "${label:-default} $pass $fail ${failed[*]}" >>"$TESTS_TALLY"
[ "$fail" -eq 0 ]
