/*
 * Reading a calibration file: the thresholds that give chosen false-match
 * rates for one recognition model, written by the LFW calibration
 * (`facegate eval`) as
 *   {"model_sha256": "...", "method": "...",
 *    "thresholds": {"1e-2": t, "1e-3": t, "1e-4": t, "1e-5": t}}.
 *
 * The library does not link a JSON library (the build has none), and this
 * flat, tiny format does not justify adding one: the reader below is a strict
 * recursive-descent JSON parser (RFC 8259 grammar, nesting limited) that keeps
 * only those three members and skips any others.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "facegate/template.h"

#define MAX_DEPTH 32

typedef struct rd {
  const char *p, *end;
  fg_error *err;
} rd;

static void ws(rd *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int bad(rd *r, const char *what) { return fg__seterr(r->err, FG_EFORMAT, "calibration: %s", what); }

/* A string into out (cap bytes, truncated; NULL to skip). Escapes other than
 * \uXXXX are decoded; \uXXXX is kept as '?' (only hex digests and ASCII
 * words are expected). */
static int str(rd *r, char *out, size_t cap) {
  size_t n = 0;
  if (r->p >= r->end || *r->p != '"') return bad(r, "expected a string");
  r->p++;
  while (r->p < r->end && *r->p != '"') {
    char c = *r->p++;
    if ((unsigned char)c < 0x20) return bad(r, "control character in a string");
    if (c == '\\') {
      if (r->p >= r->end) break;
      char e = *r->p++;
      switch (e) {
      case '"': case '\\': case '/': c = e; break;
      case 'b': c = '\b'; break;
      case 'f': c = '\f'; break;
      case 'n': c = '\n'; break;
      case 'r': c = '\r'; break;
      case 't': c = '\t'; break;
      case 'u':
        for (int i = 0; i < 4; i++, r->p++)
          if (r->p >= r->end || !strchr("0123456789abcdefABCDEF", *r->p) || !*r->p) return bad(r, "bad \\u escape");
        c = '?';
        break;
      default: return bad(r, "bad escape in a string");
      }
    }
    if (out && n + 1 < cap) out[n++] = c;
  }
  if (r->p >= r->end) return bad(r, "unterminated string");
  r->p++;
  if (out && cap) out[n] = 0;
  return FG_OK;
}

static int num(rd *r, double *v) {
  const char *s = r->p;
  if (s < r->end && *s == '-') s++;
  if (s >= r->end || *s < '0' || *s > '9') return bad(r, "expected a number");
  if (*s == '0') s++;
  else while (s < r->end && *s >= '0' && *s <= '9') s++;
  if (s < r->end && *s == '.') {
    s++;
    if (s >= r->end || *s < '0' || *s > '9') return bad(r, "bad number");
    while (s < r->end && *s >= '0' && *s <= '9') s++;
  }
  if (s < r->end && (*s == 'e' || *s == 'E')) {
    s++;
    if (s < r->end && (*s == '+' || *s == '-')) s++;
    if (s >= r->end || *s < '0' || *s > '9') return bad(r, "bad number");
    while (s < r->end && *s >= '0' && *s <= '9') s++;
  }
  char tmp[64];
  size_t n = (size_t)(s - r->p);
  if (n >= sizeof tmp) return bad(r, "number too long");
  memcpy(tmp, r->p, n);
  tmp[n] = 0;
  if (v) *v = strtod(tmp, NULL);
  r->p = s;
  return FG_OK;
}

static int skip(rd *r, int depth);

static int lit(rd *r, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n)) return bad(r, "unexpected character");
  r->p += n;
  return FG_OK;
}

/* Iterate the members of an object: cb(key) is called with r->p at the value. */
typedef int (*member_fn)(rd *r, const char *key, void *ctx, int depth);

static int object(rd *r, member_fn cb, void *ctx, int depth) {
  if (depth > MAX_DEPTH) return bad(r, "nested too deeply");
  ws(r);
  if (r->p >= r->end || *r->p != '{') return bad(r, "expected an object");
  r->p++;
  ws(r);
  if (r->p < r->end && *r->p == '}') return r->p++, FG_OK;
  for (;;) {
    char key[128];
    ws(r);
    int rc = str(r, key, sizeof key);
    if (rc) return rc;
    ws(r);
    if (r->p >= r->end || *r->p != ':') return bad(r, "expected ':'");
    r->p++;
    ws(r);
    if ((rc = cb ? cb(r, key, ctx, depth + 1) : skip(r, depth + 1))) return rc;
    ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->end && *r->p == '}') return r->p++, FG_OK;
    return bad(r, "expected ',' or '}'");
  }
}

static int skip(rd *r, int depth) {
  if (depth > MAX_DEPTH) return bad(r, "nested too deeply");
  ws(r);
  if (r->p >= r->end) return bad(r, "unexpected end");
  switch (*r->p) {
  case '{': return object(r, NULL, NULL, depth);
  case '[': {
    r->p++;
    ws(r);
    if (r->p < r->end && *r->p == ']') return r->p++, FG_OK;
    for (;;) {
      int rc = skip(r, depth + 1);
      if (rc) return rc;
      ws(r);
      if (r->p < r->end && *r->p == ',') {
        r->p++;
        continue;
      }
      if (r->p < r->end && *r->p == ']') return r->p++, FG_OK;
      return bad(r, "expected ',' or ']'");
    }
  }
  case '"': return str(r, NULL, 0);
  case 't': return lit(r, "true");
  case 'f': return lit(r, "false");
  case 'n': return lit(r, "null");
  default: return num(r, NULL);
  }
}

static int threshold_member(rd *r, const char *key, void *ctx, int depth) {
  (void)depth;
  fg_calibration *c = ctx;
  char *e;
  errno = 0;
  double fmr = strtod(key, &e);
  if (*e || e == key || !(fmr > 0 && fmr < 1)) return fg__seterr(r->err, FG_EFORMAT, "calibration: FMR key '%s' is not a rate in (0, 1)", key);
  double t;
  int rc = num(r, &t);
  if (rc) return rc;
  if (!isfinite(t) || t < -1 || t > 1) return fg__seterr(r->err, FG_EFORMAT, "calibration: threshold for %s is outside -1..1", key);
  if (c->count >= FG_CALIBRATION_MAX) return bad(r, "too many thresholds");
  int i = c->count++;
  while (i > 0 && c->fmr[i - 1] > fmr) {
    c->fmr[i] = c->fmr[i - 1];
    c->threshold[i] = c->threshold[i - 1];
    i--;
  }
  c->fmr[i] = fmr;
  c->threshold[i] = t;
  return FG_OK;
}

static int top_member(rd *r, const char *key, void *ctx, int depth) {
  fg_calibration *c = ctx;
  if (!strcmp(key, "model_sha256")) {
    int rc = str(r, c->model_sha256, sizeof c->model_sha256);
    if (rc) return rc;
    if (strlen(c->model_sha256) != 64 || strspn(c->model_sha256, "0123456789abcdef") != 64)
      return bad(r, "model_sha256 is not 64 lowercase hex digits");
    return FG_OK;
  }
  if (!strcmp(key, "method")) return str(r, c->method, sizeof c->method);
  if (!strcmp(key, "thresholds")) return object(r, threshold_member, c, depth);
  return skip(r, depth);
}

int fg_calibration_parse(const char *json, size_t len, fg_calibration *cal, fg_error *err) {
  memset(cal, 0, sizeof *cal);
  if (!json) return fg__seterr(err, FG_EINVAL, "calibration: NULL input");
  rd r = {json, json + len, err};
  int rc = object(&r, top_member, cal, 0);
  if (!rc) {
    ws(&r);
    if (r.p != r.end) rc = bad(&r, "trailing data after the object");
  }
  if (!rc && !cal->model_sha256[0]) rc = bad(&r, "no model_sha256");
  if (!rc && !cal->count) rc = bad(&r, "no thresholds");
  if (rc) memset(cal, 0, sizeof *cal);
  return rc;
}

int fg_calibration_load(const char *path, fg_calibration *cal, fg_error *err) {
  memset(cal, 0, sizeof *cal);
  uint8_t *data;
  size_t len;
  int rc = fg__read_file(path, 1 << 20, &data, &len, err);
  if (rc) return rc;
  rc = fg_calibration_parse((const char *)data, len, cal, err);
  free(data);
  if (rc && err) {
    char tmp[FG_ERROR_MSG_MAX];
    memcpy(tmp, err->msg, sizeof tmp);
    tmp[sizeof tmp - 1] = 0;
    fg__seterr(err, rc, "%s: %s", path, tmp);
  }
  return rc;
}

int fg_calibration_threshold(const fg_calibration *cal, double fmr, double *threshold, fg_error *err) {
  for (int i = 0; i < cal->count; i++)
    if (fabs(cal->fmr[i] - fmr) <= 1e-6 * fmr) {
      *threshold = cal->threshold[i];
      return FG_OK;
    }
  return fg__seterr(err, FG_ENOTFOUND, "calibration has no threshold for FMR %g", fmr);
}
