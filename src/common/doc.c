/*
 * fg_doc: the opaque JSON document of the public API (facegate/doc.h).
 *
 * Inside the project a document IS a jansson value: an fg_doc pointer is the
 * json_t pointer converted (src/common/doc.h), so handing a result from the
 * border layer to the service or the CLI costs no copy. Only the conversion
 * functions below and in doc.h know it; the public headers do not.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/doc.h"
#include "common/internal.h"

char *fg_doc_text(const fg_doc *d, int flags) {
  if (!d) return NULL;
  size_t f = JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
  f |= flags == FG_DOC_INDENT ? JSON_INDENT(2) : JSON_COMPACT;
  return json_dumps(fg__json(d), f);
}

int fg_doc_parse(const char *text, size_t len, fg_doc **out, fg_error *err) {
  if (!out) return fg__seterr(err, FG_EINVAL, "fg_doc_parse: no output");
  *out = NULL;
  if (!text) return fg__seterr(err, FG_EINVAL, "fg_doc_parse: no text");
  json_error_t je;
  json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!j) {
    return fg__seterr(err, FG_EFORMAT, "not JSON (line %d, column %d): %s", je.line, je.column,
                      je.text);
  }
  if (!json_is_object(j) && !json_is_array(j)) {
    json_decref(j);
    return fg__seterr(err, FG_EFORMAT, "a document must be a JSON object or array");
  }
  *out = fg__doc(j);
  return FG_OK;
}

void fg_doc_free(fg_doc *d) { json_decref(fg__json(d)); }
