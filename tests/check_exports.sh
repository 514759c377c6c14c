#!/usr/bin/env bash
# The shared library's exports are exactly its public API: every dynamic symbol
# libfacegate.so defines is an fg_ name declared in include/facegate/ (none of the
# fg__ internals, the store's FG_Q_ queries or the ONNX protobuf code, which
# -fvisibility=hidden keeps inside), the command line, linked against the
# shared library alone, runs, and the service (src/server) uses the border layer
# and the store only through their public headers, and the public headers need
# no third-party header. Part of `make test`.
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

# the public headers stand alone: a program that includes every one of them
# compiles with -Iinclude only (no third-party type, such as jansson's json_t,
# crosses the API) and reads a document through fg_doc alone
foreign=$(grep -hoE '#include <[^>]+>' include/facegate/*.h | sort -u |
  grep -vE '<(stddef|stdint|stdbool|stdio|stdlib|string|time|limits)\.h>' || true)
[ -z "$foreign" ] || fail "a public header includes a third-party header: $foreign"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  for h in include/facegate/*.h; do echo "#include \"facegate/$(basename "$h")\""; done
  cat <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  fg_doc *d = NULL;
  fg_error e;
  const char *in = "{\"passengers\": [1, 2], \"flight\": \"XA1\"}";
  if (fg_doc_parse(in, strlen(in), &d, &e) != FG_OK) return 1;
  char *t = fg_doc_text(d, FG_DOC_COMPACT);
  int ok = t && !strcmp(t, "{\"passengers\":[1,2],\"flight\":\"XA1\"}");
  free(t);
  fg_doc_free(d);
  if (fg_doc_parse("[1,", 3, &d, &e) != FG_EFORMAT) ok = 0;
  puts(ok ? "ok" : "wrong");
  return !ok;
}
C
} >"$tmp/api.c"
cc -std=c17 -Wall -Wextra -Werror -Iinclude "$tmp/api.c" -o "$tmp/api" -L"$B" -lfacegate \
  -Wl,-rpath,"$PWD/$B" 2>"$tmp/cc.log" || fail "the public headers do not compile alone: $(head -3 "$tmp/cc.log")"
[ "$("$tmp/api")" = ok ] || fail "a program on the public API alone cannot read a document"

# the library's biggest user needs nothing else
"$B/tests/facegate-shared" --version >/dev/null 2>&1 || "$B/tests/facegate-shared" --help >/dev/null ||
  fail "the command line linked against libfacegate.so does not run"
deps=$(ldd "$B/tests/facegate-shared")
grep -q 'libfacegate\.so' <<<"$deps" || fail "facegate-shared is not linked against libfacegate.so"
echo "check_exports: $(wc -l <<<"$syms") symbols exported, all public fg_ names; the public headers compile alone; the CLI runs on the shared library"
