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
