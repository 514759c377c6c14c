#!/usr/bin/env bash
# Thresholds under harsh light from the command line (docs/pipeline.md,
# "Thresholds under harsh light"), on an npm sample photo lit from 90° by
# `facegate eval condition`: its template records the harsh light (capture
# flags, byte 7) and an unmodified one's does not; `compare` between two
# harsh-lit captures decides at the calibration's harsh-light threshold, above
# the plain one, and between a harsh-lit and an evenly lit capture at the
# plain one. Part of `make test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
F=${BUILD:-build}/facegate
S=${FACEGATE_SAMPLES:-var/samples}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "cli_harsh_light: $*" >&2; exit 1; }
field() { grep -o "\"$1\": *[^,}]*" | head -1 | sed 's/.*: *//'; }
byte7() { od -An -tu1 -j7 -N1 "$1" | tr -d ' '; }

"$F" eval condition "$S/sample3.jpg" light-90 -o "$T/lit.png" --seed 1 >/dev/null
"$F" embed "$T/lit.png" -o "$T/lit.fgt" --force --no-liveness >/dev/null 2>&1 || true
"$F" embed "$S/sample3.jpg" -o "$T/even.fgt" --no-liveness >/dev/null
[ -s "$T/lit.fgt" ] || fail "no template written for the side-lit photo"
[ "$(byte7 "$T/lit.fgt")" = 1 ] || fail "the side-lit template does not record harsh light (byte 7 = $(byte7 "$T/lit.fgt"))"
[ "$(byte7 "$T/even.fgt")" = 0 ] || fail "the evenly lit template records harsh light"

both=$("$F" compare "$T/lit.fgt" "$T/lit.fgt" --json || true)
one=$("$F" compare "$T/lit.fgt" "$T/even.fgt" --json || true)
echo "$both" | grep -q 'both captures in harsh light' || fail "two harsh-lit captures did not get the harsh-light threshold: $both"
echo "$one" | grep -q 'harsh light' && fail "one harsh-lit capture got the harsh-light threshold: $one"
tb=$(echo "$both" | field threshold) to=$(echo "$one" | field threshold)
awk -v a="$tb" -v b="$to" 'BEGIN { exit !(a > b) }' || fail "harsh-light threshold $tb is not above the plain $to"
echo "cli_harsh_light: ok ($to plain, $tb both harsh-lit)"

# gallery add / search: the template keeps its capture flags in the gallery
# file (format version 2), and a search with a threshold holds a harsh-lit
# probe against a harsh-lit candidate to the threshold plus the calibration's
# harsh-light margin. The same embedding without the flag (a .npy carries
# none: the side-lit template's values under a .npy header) passes at the
# plain threshold. The threshold is set between the two for the pair's score.
npy_of() { # FGT1 fp32 template -> .npy of its 512 values (offset 20)
  local dict="{'descr': '<f4', 'fortran_order': False, 'shape': (512,), }"
  local pad=$(( 64 - (10 + ${#dict} + 1) % 64 ))
  { printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x $(( (${#dict} + pad + 1) % 256 )))\\x$(printf %02x $(( (${#dict} + pad + 1) / 256 )))"
    printf '%s%*s\n' "$dict" "$pad" ''; dd if="$1" bs=1 skip=20 count=2048 status=none; } > "$2"
}
npy_of "$T/lit.fgt" "$T/lit_noflag.npy"
"$F" gallery create "$T/g.fgg" --encoding fp32 >/dev/null
"$F" gallery create "$T/e.fgg" --encoding fp32 >/dev/null
add=$("$F" gallery add "$T/g.fgg" harsh "$T/lit.fgt" --json)
echo "$add" | grep -Eq '"harsh_light": ?true' || fail "gallery add did not keep the template's harsh-light flag: $add"
"$F" gallery add "$T/g.fgg" even "$T/even.fgt" >/dev/null
"$F" gallery add "$T/e.fgg" noflag "$T/lit_noflag.npy" >/dev/null
[ "$("$F" gallery info "$T/g.fgg" --json | field format_version)" = 2 ] || fail "a gallery with a harsh-lit template is not format version 2"
[ "$("$F" gallery info "$T/e.fgg" --json | field format_version)" = 1 ] || fail "a gallery without capture flags is not format version 1"
rank=$("$F" gallery search "$T/g.fgg" "$T/lit.fgt" --json)
echo "$rank" | grep -Eq '"probe_harsh_light": ?true' || fail "the side-lit probe is not marked harsh-lit: $rank"
margin=$(echo "$rank" | field harsh_light_margin)
score=$(echo "$rank" | field score)
echo "$rank" | grep -Eo '"subject": ?"harsh"[^}]*' | grep -Eq '"harsh_light": ?true' || fail "ranking does not mark the harsh-lit pair: $rank"
echo "$rank" | grep -Eo '"subject": ?"even"[^}]*' | grep -Eq '"harsh_light": ?false' || fail "ranking marks an evenly lit candidate harsh-lit: $rank"
awk -v m="$margin" 'BEGIN { exit !(m > 0.01) }' || fail "no harsh-light margin from the calibration ($margin)"
thr=$(awk -v s="$score" -v m="$margin" 'BEGIN { printf "%.6f", s - m / 2 }')
held=$("$F" gallery search "$T/g.fgg" "$T/lit.fgt" --threshold "$thr" --json)
echo "$held" | grep -Eo '"candidates": ?\[[^]]*\]' | grep -q '"harsh"' && fail "a harsh-lit pair scoring $score passed threshold $thr + margin $margin: $held"
echo "$held" | grep -Eo '"held_back": ?\[[^]]*\]' | grep -Eq '"subject": ?"harsh"' || fail "the held-back harsh-lit pair is not reported: $held"
plain=$("$F" gallery search "$T/e.fgg" "$T/lit.fgt" --threshold "$thr" --json)
echo "$plain" | grep -Eo '"candidates": ?\[[^]]*\]' | grep -q '"noflag"' || fail "the same score from an evenly lit template did not pass threshold $thr: $plain"
s2=$(echo "$plain" | field score)
awk -v a="$score" -v b="$s2" 'BEGIN { exit !(a - b < 1e-4 && b - a < 1e-4) }' || fail "the .npy copy scores $s2, the template $score"
# an evenly lit probe against the harsh-lit template: the plain threshold
evenp=$("$F" gallery search "$T/g.fgg" "$T/lit_noflag.npy" --threshold "$thr" --json)
echo "$evenp" | grep -Eo '"candidates": ?\[[^]]*\]' | grep -q '"harsh"' || fail "an evenly lit probe was held to the harsh-light threshold: $evenp"
echo "cli_harsh_light: gallery ok (pair score $score, threshold $thr, margin $margin)"
