#!/usr/bin/env bash
# Runs each unit-test binary given as an argument and prints one closing line
# "N passed, N failed" (test binaries, each a cmocka group) so CI can read it.
set -u
pass=0; fail=0; failed=()
for t in "$@"; do
  echo "== $(basename "$t")"
  if "$t"; then pass=$((pass+1)); else fail=$((fail+1)); failed+=("$(basename "$t")"); fi
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
