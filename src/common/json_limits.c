/*
 * Bounds on a JSON text before a parser builds it: how many values it holds
 * and how deeply they nest. jansson (like any DOM parser) spends tens of bytes
 * of memory per value, so a 10 MB array of small numbers becomes hundreds of
 * megabytes before anything can look at it; this scan refuses such a text
 * while reading it, chunk by chunk, in constant memory, so that the service
 * can stop buffering a body the moment it has too many values.
 *
 * It is a counter, not a parser: it follows strings (with their escapes) so
 * that brackets and commas inside them do not count, and counts one value for
 * each string (member names included), each run of scalar characters and each
 * array or object. For any text jansson accepts, this count is at least the
 * number of values jansson would create and the depth is exactly the deepest
 * nesting of arrays and objects (fuzz/fuzz_json_limits.c checks both). It does
 * not judge well-formedness: a text it lets through still goes to jansson.
 */
#include <stdio.h>
#include <string.h>

#include "common/internal.h"

void fg__json_scan_init(fg__json_scan *s, size_t max_values, int max_depth) {
  memset(s, 0, sizeof *s);
  s->max_values = max_values;
  s->max_depth = max_depth;
}

static int count_value(fg__json_scan *s) {
  if (++s->values > s->max_values) s->over = FG__JSON_OVER_VALUES;
  return s->over;
}

int fg__json_scan_feed(fg__json_scan *s, const char *p, size_t n) {
  for (size_t i = 0; i < n && !s->over; i++) {
    char c = p[i];
    if (s->in_string) {
      if (s->escape) s->escape = 0;
      else if (c == '\\') s->escape = 1;
      else if (c == '"') s->in_string = 0;
      continue;
    }
    int structural = c == '[' || c == ']' || c == '{' || c == '}' || c == ',' || c == ':' ||
                     c == '"' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (s->in_scalar && !structural) continue;
    s->in_scalar = 0;
    switch (c) {
    case '"':
      s->in_string = 1;
      count_value(s);
      break;
    case '[':
    case '{':
      if (count_value(s)) break;
      if (++s->depth > s->deepest) s->deepest = s->depth;
      if (s->depth > s->max_depth) s->over = FG__JSON_OVER_DEPTH;
      break;
    case ']':
    case '}':
      if (s->depth > 0) s->depth--;
      break;
    case ',': case ':': case ' ': case '\t': case '\r': case '\n':
      break;
    default: /* a number, true, false, null (or garbage jansson will refuse) */
      s->in_scalar = 1;
      count_value(s);
      break;
    }
  }
  return s->over ? FG_ELIMIT : FG_OK;
}

int fg__json_scan_error(const fg__json_scan *s, const char *what, fg_error *err) {
  if (s->over == FG__JSON_OVER_DEPTH)
    return fg__seterr(err, FG_ELIMIT, "%s: JSON nested deeper than %d levels", what, s->max_depth);
  if (s->over == FG__JSON_OVER_VALUES)
    return fg__seterr(err, FG_ELIMIT, "%s: JSON with more than %zu values", what, s->max_values);
  return FG_OK;
}

int fg__json_check(const char *p, size_t n, size_t max_values, int max_depth, const char *what,
                   fg_error *err) {
  fg__json_scan s;
  fg__json_scan_init(&s, max_values, max_depth);
  fg__json_scan_feed(&s, p, n);
  return fg__json_scan_error(&s, what, err);
}
