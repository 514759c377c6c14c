#!/usr/bin/env bash
# The shared library's exports are exactly its public API: every dynamic symbol
# libfacegate.so defines is an fg_ name declared in include/facegate/ (none of the
# fg__ internals, the store's FG_Q_ queries or the ONNX protobuf code, which
# -fvisibility=hidden keeps inside), the command line, linked against the
# shared library alone, runs, and the service (src/server) uses the border layer
# and the store only through their public headers. Part of `make test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
B=${BUILD:-build}
fail() { echo "check_exports: $*" >&2; exit 1; }

syms=$(nm -D --defined-only "$B/libfacegate.so" | awk '{print $3}')
[ -n "$syms" ] || fail "libfacegate.so exports nothing"
leaked=$(grep -v '^fg_' <<<"$syms" || true)
leaked+=$(grep '^fg__' <<<"$syms" || true)
[ -z "$leaked" ] || fail "internal symbols exported: $(head -5 <<<"$leaked" | tr '\n' ' ')"

# every exported function is declared in a public header
undeclared=()
while read -r s; do
  grep -qw -- "$s" include/facegate/*.h || undeclared+=("$s")
done <<<"$syms"
[ ${#undeclared[@]} -eq 0 ] || fail "exported but not in include/facegate/: ${undeclared[*]:0:5}"

# the service reaches the border layer only through its public header
inside=$(grep -l 'border/border_internal.h\|store/sql_' src/server/*.c src/server/*.h || true)
[ -z "$inside" ] || fail "src/server reaches past include/facegate/border.h: $inside"

# the library's biggest user needs nothing else
"$B/tests/facegate-shared" --version >/dev/null 2>&1 || "$B/tests/facegate-shared" --help >/dev/null ||
  fail "the command line linked against libfacegate.so does not run"
deps=$(ldd "$B/tests/facegate-shared")
grep -q 'libfacegate\.so' <<<"$deps" || fail "facegate-shared is not linked against libfacegate.so"
echo "check_exports: $(wc -l <<<"$syms") symbols exported, all public fg_ names; the CLI runs on the shared library"
