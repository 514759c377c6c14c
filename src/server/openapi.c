/*
 * The OpenAPI 3.0 document (docs/openapi.json), built into the library so
 * that an installed `facegate serve` serves the document of its own routes
 * at GET /openapi.json. The file is included by the assembler (.incbin, path
 * relative to the project root where make runs) and NUL-terminated; the
 * Makefile makes this object depend on it.
 */
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

__asm__(".section .rodata\n"
        ".global fg__openapi_doc\n"
        ".hidden fg__openapi_doc\n"
        ".type fg__openapi_doc, @object\n"
        ".balign 16\n"
        "fg__openapi_doc:\n"
        ".incbin \"docs/openapi.json\"\n"
        ".byte 0\n"
        ".size fg__openapi_doc, .-fg__openapi_doc\n"
        ".previous\n");

extern const char fg__openapi_doc[];

const char *fg_server_openapi(size_t *len) {
  if (len) *len = strlen(fg__openapi_doc);
  return fg__openapi_doc;
}

int fg__route_openapi(fg__req *r) {
  size_t n;
  const char *doc = fg_server_openapi(&n);
  char *copy = malloc(n ? n : 1);
  if (!copy) return fg__fail(r, FG_ENOMEM, "out of memory");
  memcpy(copy, doc, n);
  r->raw = copy;
  r->raw_len = n;
  r->raw_type = "application/json";
  r->status = 200;
  return FG_OK;
}
