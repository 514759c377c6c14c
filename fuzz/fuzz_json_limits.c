/*
 * libFuzzer target for the JSON value counter (src/common/json_limits.c),
 * which decides, before jansson builds anything, whether a request body or a
 * manifest has too many values or nests too deeply. Checks, for any bytes:
 *   - fed in two pieces split anywhere, the scan ends exactly as fed whole
 *     (the service feeds it a body chunk by chunk);
 *   - a text the scan lets through and jansson accepts never holds more
 *     values than the scan counted, nor nests deeper than the limit: so the
 *     bound the service relies on holds for every text jansson would build.
 * Limits: byte 0 picks them (values 1..256, depth 1..16), the rest is the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/internal.h"

static size_t count(const json_t *j, int depth, int *deepest) {
  size_t n = 1;
  if (json_is_array(j) || json_is_object(j)) {
    if (depth > *deepest) *deepest = depth;
  }
  if (json_is_array(j)) {
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) n += count(v, depth + 1, deepest);
  } else if (json_is_object(j)) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v) n += count(v, depth + 1, deepest);
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t max_values = (size_t)(data[0] % 64) * 4 + 1;
  int max_depth = data[0] / 64 * 4 + 1 + data[0] % 4;
  const char *text = (const char *)data + 1;
  size_t n = size - 1;
  fg__json_scan whole, split;
  fg__json_scan_init(&whole, max_values, max_depth);
  int rc = fg__json_scan_feed(&whole, text, n);
  size_t cut = n ? (size_t)data[0] * 7 % (n + 1) : 0;
  fg__json_scan_init(&split, max_values, max_depth);
  fg__json_scan_feed(&split, text, cut);
  fg__json_scan_feed(&split, text + cut, n - cut);
  if (split.over != whole.over || (!whole.over && (split.values != whole.values ||
                                                   split.deepest != whole.deepest)))
    abort();
  if (rc != FG_OK) return 0;
  json_t *j = json_loadb(text, n, JSON_DECODE_ANY, NULL);
  if (!j) return 0;
  int deepest = 0;
  size_t values = count(j, 1, &deepest);
  json_decref(j);
  if (values > whole.values || deepest > max_depth || deepest > whole.deepest) abort();
  return 0;
}
