#!/usr/bin/env bash
# tests/browser/run.sh — the officer console's browser test against a real server.
#
# Starts `build/facegate serve` on a free loopback port with a fresh data
# directory, creates one token per role with `facegate token create`, runs
# tests/browser/console.test.mjs (headless Chromium through playwright-core),
# then tests/browser/schemas.test.mjs (every route's responses against the
# schemas of /openapi.json) against the same server and store, stops the
# server and exits non-zero if anything failed. Screenshots and the
# server's log go to build/browser/.
#
# Environment: FACEGATE_BIN (default build/facegate), CHROMIUM (default
# /usr/bin/chromium), FACEGATE_LFW (default ../shared/data/lfw; the npm sample
# photos are used without it), KEEP_DATA=1 keeps the data directory.
# The store is the data directory's SQLite file, or with
# FACEGATE_TEST_STORE=postgresql (tests/pg/with-postgres) a new database in
# the test cluster, dropped at the end (tests/pg/testdb).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$(pwd)

BIN=${FACEGATE_BIN:-build/facegate}
OUT=${BROWSER_OUT:-build/browser}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

die() { echo "browser-test: $*" >&2; exit 1; }
[[ -x $BIN ]] || die "$BIN not found: build it first (make $BIN)"
[[ -x $CHROMIUM ]] || die "$CHROMIUM not found (Debian package chromium; scripts/setup installs it)"
command -v node >/dev/null || die "node not found (Debian package nodejs)"
if [[ ! -d node_modules/playwright-core ]]; then
    echo "browser-test: installing playwright-core (npm ci)"
    npm ci --no-audit --no-fund >/dev/null || die "npm ci failed"
fi

mkdir -p "$OUT"
rm -f "$OUT"/*.png
# shellcheck source=tests/pg/testdb
source tests/pg/testdb
data=$(mktemp -d "${TMPDIR:-/tmp}/facegate-browser.XXXXXX")
server_pid=
cleanup() {
    local rc=$?
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ ${KEEP_DATA:-0} == 1 ]]; then
        echo "browser-test: data kept in $data${testdb_name:+ (store $FACEGATE_STORE)}"
    else
        rm -rf "$data"
        testdb_drop
    fi
    exit "$rc"
}
trap cleanup EXIT INT TERM
testdb_create browser || die "no store for the test"

# token ROLE NAME — create a token and print it (the secret is shown once).
token() {
    local out
    out=$("$BIN" token create --role "$1" --name "$2" --data "$data" 2>&1) ||
        die "facegate token create --role $1 failed: $out"
    grep -o 'fgt_[A-Za-z0-9_-]*' <<<"$out" | head -n1 | grep . ||
        die "no fgt_ token in the output of facegate token create: $out"
}
export FG_NAME_SUPERVISOR=supervisor.okafor FG_NAME_GATE=gate-b12 \
       FG_NAME_OFFICER=officer.reyes FG_NAME_AUDITOR=auditor.lindqvist FG_NAME_ADMIN=admin.nakamura
FG_TOKEN_SUPERVISOR=$(token supervisor "$FG_NAME_SUPERVISOR")
FG_TOKEN_GATE=$(token gate "$FG_NAME_GATE")
FG_TOKEN_OFFICER=$(token officer "$FG_NAME_OFFICER")
FG_TOKEN_AUDITOR=$(token auditor "$FG_NAME_AUDITOR")
FG_TOKEN_ADMIN=$(token admin "$FG_NAME_ADMIN")
export FG_TOKEN_SUPERVISOR FG_TOKEN_GATE FG_TOKEN_OFFICER FG_TOKEN_AUDITOR FG_TOKEN_ADMIN

# A free loopback port (the kernel picks; a race with another process is
# possible but unlikely, and then the server fails to bind and we say so).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export FACEGATE_URL="http://127.0.0.1:$port"

"$BIN" serve --listen "127.0.0.1:$port" --data "$data" >"$OUT/server.log" 2>&1 &
server_pid=$!
for i in $(seq 300); do
    curl -fsS -o /dev/null "$FACEGATE_URL/healthz" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$OUT/server.log" >&2; die "facegate serve exited during start-up"; }
    [[ $i -eq 300 ]] && { cat "$OUT/server.log" >&2; die "facegate serve did not answer /healthz within 30 s"; }
    sleep 0.1
done
echo "browser-test: facegate serve on $FACEGATE_URL (pid $server_pid, data $data, store $(testdb_describe "$data"))"

# Without LFW, the schema test's faces come from the face fixture
# (tests/facefixture.h in LFW's layout; the sample photos are group photos).
if [[ ! -d ${FACEGATE_LFW:-../shared/data/lfw}/lfw-deepfunneled && -x ${BUILD:-build}/tests/make_facefixture ]]; then
    export FACEGATE_FACEFIXTURE=$data/fixture
    mkdir -p "$FACEGATE_FACEFIXTURE"
    "${BUILD:-build}/tests/make_facefixture" "${FACEGATE_SAMPLES:-var/samples}" "$FACEGATE_FACEFIXTURE" ||
        die "the face fixture could not be built"
fi

rc=0
node tests/browser/console.test.mjs || rc=$?
# every route's responses against /openapi.json's schemas, on the store the
# console test has just filled (tests/browser/schemas.test.mjs)
node tests/browser/schemas.test.mjs || rc=$?
echo "browser-test: screenshots in $OUT/: $(cd "$OUT" && ls *.png 2>/dev/null | tr '\n' ' ')"
[[ $rc -eq 0 ]] || echo "browser-test: FAILED (server log: $OUT/server.log)"
exit "$rc"
