#!/usr/bin/env bash
# An installed facegate works outside the source tree. `make install` into a
# temporary prefix (and once more with DESTDIR, as a package build does), then,
# from an unrelated working directory and with none of the FACEGATE_* path
# variables set: --version names the installed home; `models` verifies the
# installed models; `detect`, `compare` (the calibration's threshold, not the
# fallback, also with FACEGATE_MODELS set) and `gallery search --fpir` work;
# another recognition model named by --model (dlib-resnet) is found in the
# installed descriptors with its calibration beside them (`models`, `compare`,
# `verify`);
# `token create` and `serve` keep their data in $FACEGATE_DATA; the service
# serves the installed console. Nothing is written into the working
# directory. The systemd unit is checked by `systemd-analyze verify` and
# its `security` score, and the installed service starts from its settings
# file (--conf). Part of `make test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
src=$(pwd)
BUILD=${BUILD:-build}
S=$src/${FACEGATE_SAMPLES:-var/samples}
T=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/facegate-install.XXXXXX")" && pwd -P)
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "install_check: $*" >&2; exit 1; }
jget() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval("d"+sys.argv[1]))' "$1"; }

unset FACEGATE_HOME FACEGATE_MODELS FACEGATE_DATA FACEGATE_STORE
P=$T/prefix
make --no-print-directory -s BUILD="$BUILD" PREFIX="$P" install >"$T/install.log" 2>&1 ||
  fail "make install failed: $(tail -5 "$T/install.log")"
for f in bin/facegate lib/libfacegate.a lib/libfacegate.so.0 include/facegate/border.h \
         lib/pkgconfig/facegate.pc share/facegate/models/fr_feature.onnx \
         share/facegate/calibration/fr_feature.json share/facegate/calibration/fr_feature_fpir.json \
         share/facegate/descriptors/fr_feature.json share/facegate/descriptors/dlib-resnet.json \
         share/facegate/models/face_recognition_model.bin \
         share/facegate/web/index.html share/facegate/web/app.js share/facegate/web/core.js share/facegate/web/schema.js share/facegate/web/favicon.ico \
         lib/systemd/system/facegate.service lib/sysusers.d/facegate.conf etc/facegate/facegate.conf; do
  [[ -f $P/$f ]] || fail "make install did not install $f"
done
grep -q "^prefix=$P\$" "$P/lib/pkgconfig/facegate.pc" || fail "facegate.pc does not name the prefix: $(head -3 "$P/lib/pkgconfig/facegate.pc")"

# the systemd unit: the installed paths, a clean `systemd-analyze verify` (no
# warning either), and its hardening scored by systemd itself (exposure <= 2.0)
unit=$P/lib/systemd/system/facegate.service
grep -q "^ExecStart=$P/bin/facegate serve --conf $P/etc/facegate/facegate.conf\$" "$unit" ||
  fail "the unit does not start the installed facegate with its settings file: $(grep ExecStart "$unit")"
for want in User=facegate StateDirectory=facegate NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes; do
  grep -qx "$want" "$unit" || fail "the unit lacks $want"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify --man=no "$unit" >"$T/verify.out" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify.out")"
  [[ ! -s $T/verify.out ]] || fail "systemd-analyze verify warns: $(cat "$T/verify.out")"
  systemd-analyze security --offline=yes --threshold=20 "$unit" >"$T/security.out" 2>&1 ||
    fail "the unit's exposure is above 2.0: $(tail -1 "$T/security.out")"
else
  echo "install_check: systemd-analyze not found: the unit is not verified (Debian package systemd)"
fi

W=$T/elsewhere
mkdir -p "$W"
cp "$S/sample1.jpg" "$S/sample3.jpg" "$S/sample4.jpg" "$W/"
cd "$W"
F=$P/bin/facegate
home=$(cd "$P/share/facegate" && pwd -P)

out=$("$F" --version) || fail "--version failed: $out"
grep -q "^home    $home\$" <<<"$out" || fail "--version does not name the installed home $home: $out"

"$F" models >"$T/models.out" 2>&1 || fail "facegate models failed from another directory: $(cat "$T/models.out")"
"$F" detect sample1.jpg >"$T/detect.out" 2>&1 || fail "facegate detect failed from another directory: $(cat "$T/detect.out")"
grep -q "face(s)" "$T/detect.out" || fail "detect found nothing: $(cat "$T/detect.out")"

for models in "" "$P/share/facegate/models"; do
  out=$(FACEGATE_MODELS=$models "$F" compare sample1.jpg sample3.jpg --json) || [[ $? -le 4 ]] ||
    fail "compare failed (FACEGATE_MODELS=$models): $out"
  src_=$(jget '["threshold_source"]' <<<"$out")
  [[ $src_ == "calibration $home/calibration/fr_feature.json" ]] ||
    fail "compare did not use the installed calibration (FACEGATE_MODELS=$models): $src_"
done

# another recognition model, by name: the installed descriptor and its calibration
grep -Eq "^recognition models \($home/descriptors/\*\.json\)" "$T/models.out" ||
  fail "models does not list the installed descriptors: $(cat "$T/models.out")"
grep -Eq "^  dlib-resnet .* ok +calibrated" "$T/models.out" ||
  fail "models does not show dlib-resnet verified and calibrated: $(cat "$T/models.out")"
out=$("$F" compare sample1.jpg sample3.jpg --model dlib-resnet --json) || [[ $? -le 4 ]] ||
  fail "compare --model dlib-resnet failed: $out"
src_=$(jget '["threshold_source"]' <<<"$out")
[[ $src_ == "calibration $home/calibration/dlib-resnet.json" ]] ||
  fail "compare --model dlib-resnet did not use the installed calibration: $src_"

"$F" gallery create g.fgg >/dev/null
"$F" gallery add g.fgg P sample1.jpg --allow-low-quality >/dev/null
"$F" gallery add g.fgg Q sample4.jpg --allow-low-quality >/dev/null
"$F" gallery search g.fgg sample1.jpg --fpir 0.003 --allow-low-quality >"$T/search.out" 2>&1 ||
  fail "gallery search --fpir failed from another directory: $(cat "$T/search.out")"

# token and serve keep their data where FACEGATE_DATA says
export FACEGATE_DATA=$T/data
tok=$("$F" token create --role admin --name admin.install 2>/dev/null) || fail "token create failed"
[[ -f $T/data/facegate.key ]] || fail "token create did not use FACEGATE_DATA ($T/data)"
out=$("$F" verify sample3.jpg --document sample3.jpg --model dlib-resnet --json) ||
  fail "verify --model dlib-resnet failed from another directory: $out"
[[ $(jget '["decision"]' <<<"$out") == match ]] || fail "verify --model dlib-resnet: $out"
python3 - "$home/calibration/dlib-resnet.json" "$out" <<'EOF' || fail "verify --model dlib-resnet did not use dlib-resnet's installed threshold: $out"
import json, sys
cal, v = json.load(open(sys.argv[1])), json.loads(sys.argv[2])
sys.exit(not any(abs(t - v["threshold"]) < 1e-6 for t in cal["thresholds"].values()))
EOF
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$F" serve --listen "127.0.0.1:$port" >"$T/serve.log" 2>&1 &
server_pid=$!
for i in $(seq 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || fail "serve exited: $(cat "$T/serve.log")"
  [[ $i -eq 300 ]] && fail "serve did not answer within 30 s: $(cat "$T/serve.log")"
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/" | grep -q "app.js" || fail "serve did not serve the installed console"
curl -fsS -o /dev/null "http://127.0.0.1:$port/favicon.ico" || fail "no /favicon.ico"
# the console's modules: every file app.js imports, and the ones they import
for m in $(grep -ho "from '\./[a-z]*\.js'" "$P/share/facegate/web/"*.js | sort -u | grep -o '[a-z]*\.js'); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/$m" || fail "serve did not serve the console's module $m"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/v1/tokens")
[[ $code == 200 ]] || fail "the token made for FACEGATE_DATA is not the server's ($code)"
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=

# the installed settings file, as the unit passes it, with one setting added
# and one overridden on the command line
cp "$P/etc/facegate/facegate.conf" "$T/serve.conf"
printf 'site = TST\nthreads = 1\n' >>"$T/serve.conf"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$F" serve --conf "$T/serve.conf" --listen "127.0.0.1:$port" >"$T/serve2.log" 2>&1 &
server_pid=$!
for i in $(seq 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || fail "serve --conf exited: $(cat "$T/serve2.log")"
  [[ $i -eq 300 ]] && fail "serve --conf did not answer within 30 s: $(cat "$T/serve2.log")"
  sleep 0.1
done
grep -q "1 threads" "$T/serve2.log" || fail "serve did not take threads from the settings file: $(head -2 "$T/serve2.log")"
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=
printf 'no-such-setting = 1\n' >"$T/bad.conf"
if "$F" serve --conf "$T/bad.conf" >"$T/bad.out" 2>&1; then fail "serve accepted an unknown setting"; fi
grep -q "bad.conf: unknown setting 'no-such-setting'" "$T/bad.out" || fail "the refusal does not name the file and the setting: $(cat "$T/bad.out")"
unset FACEGATE_DATA

[[ ! -e $W/var && ! -e $W/data && ! -e $W/web ]] || fail "something was written into the working directory: $(ls "$W")"

# a staged install (DESTDIR, as a package build does) runs where it is staged
cd "$src"
make --no-print-directory -s BUILD="$BUILD" PREFIX=/usr SYSCONFDIR=/etc DESTDIR="$T/stage" install >"$T/stage.log" 2>&1 ||
  fail "make install DESTDIR=... failed: $(tail -5 "$T/stage.log")"
grep -q "^prefix=/usr\$" "$T/stage/usr/lib/pkgconfig/facegate.pc" || fail "staged facegate.pc should name /usr"
grep -q "^ExecStart=/usr/bin/facegate serve --conf /etc/facegate/facegate.conf\$" "$T/stage/usr/lib/systemd/system/facegate.service" ||
  fail "the staged unit should name /usr/bin/facegate and /etc/facegate/facegate.conf"
[[ -f $T/stage/etc/facegate/facegate.conf ]] || fail "the settings file was not staged in /etc"
cd "$W"
out=$("$T/stage/usr/bin/facegate" --version) || fail "staged --version failed: $out"
grep -q "^home    $T/stage/usr/share/facegate\$" <<<"$out" || fail "the staged copy does not find its files: $out"
echo "install_check: ok"
