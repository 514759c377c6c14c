#!/usr/bin/env bash
# The command line's --json convention (docs/cli.md), command by command:
# every --json run prints exactly one JSON document on stdout — compact, its
# numbers in shortest round-trip form (the line equals Python's compact
# re-serialisation of what it parses to) — success or failure; a failure is
# the API's problem document (type, title, status, detail, code FG_E*) with
# "exit" equal to the exit status; the exit codes are those the README lists
# (0 success, 1 failure, 2 usage, 3 verification failed or referred, 4 failure
# to acquire). Also: the failures a person hits say what went wrong. Runs on
# the npm sample photos in a throw-away data directory. Part of `make test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
F=$(pwd)/${BUILD:-build}/facegate
S=$(pwd)/${FACEGATE_SAMPLES:-var/samples}
M=$(pwd)/${FACEGATE_MODELS:-var/models}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
unset FACEGATE_STORE
export FACEGATE_DATA=$T/data
cd "$T"
fails=0
checks=0
fail() { echo "cli_json: FAIL: $*" >&2; fails=$((fails + 1)); }

# check WANT_RC WANT_CODE CMD... — run CMD --json and keep what it printed;
# WANT_RC may list several ("0|3|4": any outcome); WANT_CODE is "-" for a result, else the problem's FG_E* code. The outputs
# are judged together at the end (one Python process: starting one per
# command costs more than the commands on a loaded machine).
mkdir -p "$T/runs"
check() {
  local want_rc=$1 want_code=$2; shift 2
  local rc=0 n
  checks=$((checks + 1))
  n=$(printf '%03d' "$checks")
  "$F" "$@" --json >"$T/runs/$n.out" 2>"$T/runs/$n.err" || rc=$?
  printf '%s\n%s\n%s\n%s\n' "$rc" "$want_rc" "$want_code" "facegate $* --json" >"$T/runs/$n.meta"
}
# detail_has WORD — the last check's problem detail contains WORD
detail_has() { printf '%s\n' "$1" >"$T/runs/$(printf '%03d' "$checks").detail"; }

judge() {
  python3 - "$T/runs" <<'EOF'
import glob, json, os, sys
bad = 0
for meta in sorted(glob.glob(os.path.join(sys.argv[1], "*.meta"))):
    base = meta[:-5]
    rc, want_rc, want, cmd = open(meta).read().split("\n")[:4]
    rc = int(rc)
    text = open(base + ".out", encoding="utf-8").read()
    err = open(base + ".err", encoding="utf-8", errors="replace").read()[:200]
    def why():
        lines = text.split("\n")
        if len(lines) != 2 or lines[1] != "":
            return f"not exactly one line on stdout: {text[:200]!r}"
        try:
            doc = json.loads(lines[0])
        except ValueError as e:
            return f"not JSON ({e}): {lines[0][:200]!r}"
        again = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        if again != lines[0]:
            i = next((k for k in range(min(len(again), len(lines[0]))) if again[k] != lines[0][k]), 0)
            return (f"not compact / shortest numbers near {lines[0][max(0, i-30):i+30]!r}"
                    f" (expected {again[max(0, i-30):i+30]!r})")
        problem = isinstance(doc, dict) and "code" in doc and "exit" in doc and "type" in doc
        if want == "-":
            if problem:
                return f"a problem for a result: {lines[0][:200]}"
        else:
            if not problem:
                return f"no problem document: {lines[0][:200]}"
            if doc["code"] != want:
                return f"code {doc['code']}, expected {want}: {doc.get('detail')}"
            if doc["exit"] != rc:
                return f"exit {doc['exit']} in the document, {rc} from the process"
            if not doc.get("detail") or doc["type"] != "urn:facegate:error:" + want[4:].lower():
                return f"detail or type missing: {lines[0][:200]}"
            if os.path.exists(base + ".detail"):
                word = open(base + ".detail").read().rstrip("\n")
                if word not in doc["detail"]:
                    return f"the detail does not say {word!r}: {doc['detail']!r}"
        if str(rc) not in want_rc.split("|"):
            return f"exit {rc}, expected {want_rc} ({err})"
        return None
    w = why()
    if w:
        bad += 1
        print(f"cli_json: FAIL: {cmd}: {w}", file=sys.stderr)
print(bad)
EOF
}

cp "$S/sample1.jpg" "$S/sample3.jpg" "$S/sample4.jpg" .
: >empty.jpg
mkdir adir
head -c 2000 "$M/fr_detect.onnx" >truncated.onnx
{ printf 'P5 96 96 255\n'; head -c 9216 /dev/zero | tr '\0' '\200'; } >grey.pgm  # a grey frame: no face

# ---- the face commands -------------------------------------------------------------
check 0 - models
check 0 - model info "$M/fr_detect.onnx"
check 1 FG_EFORMAT model info truncated.onnx
check 0 - detect sample1.jpg
check 1 FG_ENOTFOUND detect missing.jpg
detail_has missing.jpg
check 1 FG_EINVAL detect adir
detail_has "a directory"
check 2 FG_EINVAL detect sample1.jpg --no-such-option
check 0 - quality sample4.jpg
check 2 FG_EINVAL compare sample1.jpg
check "0|3|4" - compare sample1.jpg sample3.jpg
check 0 - embed sample4.jpg -o t.fgt
check 2 FG_EINVAL embed sample4.jpg
detail_has "-o FILE"
check 0 - gallery create g.fgg
check 0 - gallery add g.fgg P sample4.jpg
check 0 - gallery info g.fgg
check 0 - gallery search g.fgg sample4.jpg --fpir 0.003
check 1 FG_ENOTFOUND gallery info nope.fgg
# a failure to acquire is exit 4 everywhere, with a result document
check 4 - quality grey.pgm
check 4 - compare grey.pgm sample4.jpg
check 4 - gallery add g.fgg X grey.pgm
check 4 - gallery search g.fgg grey.pgm

# ---- the border commands -----------------------------------------------------------
cat >flight.json <<EOF
{"carrier": "XA", "flight": "XA123", "port": "JFK", "scheduled": "2026-11-27T10:00:00Z",
 "direction": "entry", "passengers": [
  {"surname": "Doe", "given_names": "Jane", "category": "foreign", "nationality": "USA",
   "document": {"number": "X1234567", "issuing_state": "USA"}, "photos": ["sample4.jpg"]},
  {"surname": "Roe", "given_names": "Rick", "category": "citizen",
   "document": {"number": "Y7654321", "issuing_state": "USA"}, "photos": ["sample3.jpg"]}]}
EOF
check 0 - token create --role officer --name officer.json
check 0 - token list
check 2 FG_EINVAL token create --name nobody
check 0 - manifest import flight.json
check 0 - manifest list
check 0 - manifest show 1
check 1 FG_ENOTFOUND manifest show 99
check 0 - watchlist add --name "Watch One" --reason "test entry" sample4.jpg
check 0 - watchlist list
# bulk loading (in a data directory of its own: the re-enrolment below counts this one's
# watchlist): a file of one template line (the embed above) and one photo line; a bad line
printf '{"name": "Bulk One", "reason": "test", "templates": ["%s"]}\n{"name": "Bulk Two", "reason": "test", "photos": ["sample4.jpg"]}\n' \
  "$(base64 -w0 t.fgt)" >wl.jsonl
check 0 - watchlist import wl.jsonl --check --data "$T/wl-data"
check 0 - watchlist import wl.jsonl --batch 1 --data "$T/wl-data"
printf '{"name": "x", "reason": "y", "photos": ["sample3.jpg"]}\n{"name": "x", "reasom": "y"}\n' >wl-bad.jsonl
check 1 FG_EFORMAT watchlist import wl-bad.jsonl --data "$T/wl-data"
detail_has "line 2: unknown member"
check 1 FG_ENOTFOUND watchlist import nowhere.jsonl --data "$T/wl-data"
check 2 FG_EINVAL watchlist import wl.jsonl --batch 0 --data "$T/wl-data"
check "0|3|4" - encounter --manifest 1 --gate A1 sample4.jpg --key k1
check 2 FG_EINVAL encounter --manifest 1 sample4.jpg
check 0 - referral list
check 1 FG_ENOTFOUND referral show 99
check 0 - crossings X1234567
check 0 - travellers --surname "doe" --given-names JANE
check 0 - travellers --document x-1234567
check 2 FG_EINVAL travellers
check 0 - overstays
check 0 - report --date 2026-11-27
check 0 - audit verify
check 0 - audit list --limit 5
check 0 - policy show
check 0 - report
check "0|3|4" - verify sample4.jpg --document sample4.jpg
check 1 FG_EFORMAT verify empty.jpg --document sample4.jpg
detail_has "empty.jpg is empty"
check 1 FG_EINVAL verify adir --document sample4.jpg
detail_has "adir is a directory"
check 1 FG_EFORMAT verify sample4.jpg --document flight.json
detail_has "document"
check 1 FG_ENOTFOUND verify sample4.jpg --document nope.jpg
detail_has nope.jpg
check 4 - verify grey.pgm --document sample4.jpg
check 0 - backup "$T/b.fgb"

# ---- another recognition model, named from this (other) working directory ------------
# The descriptor is found in facegate's home, its calibration beside it; the
# templates staged with the default model are re-enrolled (docs/models.md).
check 0 - reenrol --dry-run
out=$("$F" reenrol --model dlib-resnet --json 2>"$T/reenrol.err") || fail "reenrol --model dlib-resnet: exit $? $(cat "$T/reenrol.err")"
grep -q '"model":"dlib-resnet"' <<<"$out" && grep -q '"flights":{"templates":2,"current":0,"reenrolled":2,' <<<"$out" &&
  grep -q '"watchlist":{"templates":1,"current":0,"reenrolled":1,' <<<"$out" ||
  fail "reenrol --model dlib-resnet did not re-enrol the flight's 2 and the watchlist's 1 templates: $out"
check 0 - reenrol --model dlib-resnet
check "0|3|4" - encounter --manifest 1 --gate A1 sample3.jpg --model dlib-resnet
check "0|3|4" - verify sample3.jpg --document sample3.jpg --model dlib-resnet
check 1 FG_ENOTFOUND verify sample3.jpg --document sample3.jpg --model no-such-model
check 0 - reenrol
check 2 FG_EINVAL reenrol --bogus

# ---- text without --json -------------------------------------------------------------
out=$("$F" referral list 2>/dev/null) || fail "referral list failed"
if [[ ${out:0:1} == "{" || ${out:0:1} == "[" ]]; then fail "referral list prints JSON without --json"; fi
found=$("$F" travellers --surname DOE 2>&1) || fail "travellers --surname failed: $found"
grep -q "X1234567" <<<"$found" || fail "travellers --surname DOE does not list Jane Doe's document: $found"
found=$("$F" travellers --surname Do 2>&1) || fail "travellers --surname Do failed: $found"
grep -q "nobody" <<<"$found" || fail "a prefix found somebody (names match whole): $found"
for cmd in "policy show" "purge" "report"; do
  out=$("$F" $cmd 2>/dev/null) || fail "$cmd failed"
  if [[ ${out:0:1} == "{" || ${out:0:1} == "[" ]]; then fail "$cmd prints JSON without --json: ${out:0:80}"; fi
done
id=$("$F" referral list --json 2>/dev/null | grep -o '"id":[0-9]*' | head -1 | cut -d: -f2)
if [[ -n $id ]]; then
  out=$("$F" referral show "$id" 2>/dev/null) || fail "referral show failed"
  [[ ${out:0:1} != "{" ]] || fail "referral show prints JSON without --json: ${out:0:80}"
fi

fails=$((fails + $(judge)))
echo "cli_json: $checks commands checked with --json, $fails failed"
[[ $fails -eq 0 ]]
