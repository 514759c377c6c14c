#!/usr/bin/env bash
# `facegate gallery` from the command line, on the npm sample photos (always
# present after set-up): --centroid enrols several photos as one template,
# --refine galleries keep fp16 rows and report them, wrong uses fail with a
# message and leave the file as it was. Part of `make test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
F=${BUILD:-build}/facegate
S=${FACEGATE_SAMPLES:-var/samples}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "cli_gallery: $*" >&2; exit 1; }
field() { grep -o "\"$1\": *[^,}]*" | head -1 | sed 's/.*: *//'; }

# several photos of one subject, one template
"$F" gallery create "$T/c.fgg" >/dev/null
"$F" gallery add "$T/c.fgg" P "$S/sample1.jpg" "$S/sample2.jpg" --centroid --allow-low-quality >/dev/null
[ "$("$F" gallery info "$T/c.fgg" --json | field templates)" = 1 ] || fail "--centroid did not make one template"
"$F" gallery add "$T/c.fgg" Q "$S/sample4.jpg" "$S/sample5.jpg" --allow-low-quality >/dev/null
info=$("$F" gallery info "$T/c.fgg" --json)
[ "$(echo "$info" | field templates)" = 3 ] || fail "without --centroid each photo should be a template: $info"
[ "$(echo "$info" | field subjects)" = 2 ] || fail "two subjects expected: $info"
# a failed input leaves the file unchanged (all or nothing)
before=$(sha256sum "$T/c.fgg")
if "$F" gallery add "$T/c.fgg" R "$S/sample6.jpg" "$T/missing.jpg" --centroid 2>"$T/err"; then
  fail "a missing photo was accepted"
fi
grep -q "missing.jpg" "$T/err" || fail "the error does not name the missing photo: $(cat "$T/err")"
[ "$(sha256sum "$T/c.fgg")" = "$before" ] || fail "a failed add changed the gallery"

# refine rows: reported, searched, exact against the same photo
"$F" gallery create "$T/r.fgg" --refine >/dev/null
"$F" gallery add "$T/r.fgg" P "$S/sample1.jpg" --allow-low-quality >/dev/null
"$F" gallery add "$T/r.fgg" Q "$S/sample3.jpg" --allow-low-quality >/dev/null
info=$("$F" gallery info "$T/r.fgg" --json)
[ "$(echo "$info" | field refine)" = true ] || fail "refine not reported: $info"
[ "$(echo "$info" | field refine_bytes_per_template)" = 1024 ] || fail "refine rows of 1024 bytes expected: $info"
out=$("$F" gallery search "$T/r.fgg" "$S/sample1.jpg" --k 2 --allow-low-quality --json)
echo "$out" | grep -q '"subject": *"P"' || fail "search did not find P: $out"
score=$(echo "$out" | field score)
awk -v s="$score" 'BEGIN { exit !(s > 0.999) }' || fail "the same photo should score ~1 in fp16, got $score"
if "$F" gallery create "$T/bad.fgg" --refine --encoding fp16 2>"$T/err"; then fail "--refine with fp16 accepted"; fi
grep -q "int8" "$T/err" || fail "the refusal does not say refine is for int8: $(cat "$T/err")"
echo "cli_gallery: ok"
