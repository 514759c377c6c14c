/*
 * Open-set thresholds: reading an FPIR calibration file and turning a target
 * false-positive identification rate and a gallery size into a score
 * threshold (the model and the interpolation are described in gallery.h and
 * docs/matching.md).
 *
 * The file is JSON; this reads it with a small strict recursive-descent
 * parser (objects, arrays, strings with the standard escapes, numbers,
 * true/false/null; nesting depth at most 16) and keeps only the members it
 * needs, so the library needs no JSON dependency for one small file.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/internal.h"
#include "match/match.h"

#define MAX_CAL_BYTES ((size_t)1 << 20)

typedef struct jp {
  const char *begin, *s, *end;
  int depth;
  fg_error *err;
  int rc;
} jp;

static int jfail(jp *p, const char *what) {
  if (!p->rc) p->rc = fg__seterr(p->err, FG_EFORMAT, "FPIR calibration: %s at byte %td", what, p->s - p->begin);
  return p->rc;
}

static void ws(jp *p) {
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static int lit(jp *p, char c) {
  ws(p);
  if (p->s < p->end && *p->s == c) {
    p->s++;
    return 1;
  }
  return 0;
}

/* A string into buf (truncated to n-1 bytes; buf may be NULL to skip). */
static int jstring(jp *p, char *buf, size_t n) {
  ws(p);
  if (p->s >= p->end || *p->s != '"') return jfail(p, "expected a string");
  p->s++;
  size_t k = 0;
  while (p->s < p->end && *p->s != '"') {
    char c = *p->s++;
    if ((unsigned char)c < 0x20) return jfail(p, "control character in a string");
    if (c == '\\') {
      if (p->s >= p->end) break;
      char x = *p->s++;
      switch (x) {
      case '"': case '\\': case '/': c = x; break;
      case 'b': c = '\b'; break;
      case 'f': c = '\f'; break;
      case 'n': c = '\n'; break;
      case 'r': c = '\r'; break;
      case 't': c = '\t'; break;
      case 'u':
        if (p->end - p->s < 4) return jfail(p, "bad \\u escape");
        p->s += 4;
        c = '?';
        break;
      default: return jfail(p, "bad escape");
      }
    }
    if (buf && k + 1 < n) buf[k++] = c;
  }
  if (p->s >= p->end) return jfail(p, "unterminated string");
  p->s++;
  if (buf && n) buf[k] = 0;
  return 0;
}

static int jnumber(jp *p, double *v) {
  ws(p);
  const char *b = p->s;
  while (p->s < p->end && strchr("+-0123456789.eE", *p->s)) p->s++;
  if (p->s == b || p->s - b > 63) return jfail(p, "expected a number");
  char tmp[64];
  memcpy(tmp, b, (size_t)(p->s - b));
  tmp[p->s - b] = 0;
  char *e;
  errno = 0;
  *v = strtod(tmp, &e);
  if (*e || errno || !isfinite(*v)) return jfail(p, "bad number");
  return 0;
}

static int jskip(jp *p);

static int jskip_container(jp *p, char open, char close) {
  if (++p->depth > 16) return jfail(p, "nesting too deep");
  p->s++;
  if (lit(p, close)) {
    p->depth--;
    return 0;
  }
  do {
    if (open == '{') {
      if (jstring(p, NULL, 0)) return p->rc;
      if (!lit(p, ':')) return jfail(p, "expected ':'");
    }
    if (jskip(p)) return p->rc;
  } while (lit(p, ','));
  if (!lit(p, close)) return jfail(p, open == '{' ? "expected '}'" : "expected ']'");
  p->depth--;
  return 0;
}

static int jskip(jp *p) {
  ws(p);
  if (p->s >= p->end) return jfail(p, "unexpected end");
  char c = *p->s;
  if (c == '{') return jskip_container(p, '{', '}');
  if (c == '[') return jskip_container(p, '[', ']');
  if (c == '"') return jstring(p, NULL, 0);
  static const char *const words[] = {"true", "false", "null"};
  for (int i = 0; i < 3; i++) {
    size_t l = strlen(words[i]);
    if ((size_t)(p->end - p->s) >= l && !memcmp(p->s, words[i], l)) {
      p->s += l;
      return 0;
    }
  }
  double v;
  return jnumber(p, &v);
}

/* An array of at most FG_FPIR_MAX numbers. */
static int jnumbers(jp *p, double *v, int *n) {
  *n = 0;
  if (!lit(p, '[')) return jfail(p, "expected an array of numbers");
  if (lit(p, ']')) return 0;
  do {
    if (*n >= (int)FG_FPIR_MAX) return jfail(p, "too many entries");
    if (jnumber(p, &v[(*n)++])) return p->rc;
  } while (lit(p, ','));
  if (!lit(p, ']')) return jfail(p, "expected ']'");
  return 0;
}

int fg_fpir_calibration_parse(const char *json, size_t len, fg_fpir_calibration *cal, fg_error *err) {
  memset(cal, 0, sizeof *cal);
  jp p = {json, json, json + len, 0, err, 0};
  int have_sizes = 0, have_fpir = 0, have_thr = 0, rows = 0;
  double thr[FG_FPIR_MAX][FG_FPIR_MAX];
  int cols[FG_FPIR_MAX];
  if (!lit(&p, '{')) return fg__seterr(err, FG_EFORMAT, "FPIR calibration: not a JSON object");
  if (!lit(&p, '}')) {
    do {
      char key[64];
      if (jstring(&p, key, sizeof key) || !lit(&p, ':')) return p.rc ? p.rc : jfail(&p, "expected ':'");
      if (!strcmp(key, "model_sha256")) {
        if (jstring(&p, cal->model_sha256, sizeof cal->model_sha256)) return p.rc;
      } else if (!strcmp(key, "gallery_sizes")) {
        if (jnumbers(&p, cal->size, &cal->n_sizes)) return p.rc;
        have_sizes = 1;
      } else if (!strcmp(key, "fpir")) {
        if (jnumbers(&p, cal->fpir, &cal->n_fpir)) return p.rc;
        have_fpir = 1;
      } else if (!strcmp(key, "thresholds")) {
        if (!lit(&p, '[')) return jfail(&p, "thresholds must be an array of arrays");
        if (!lit(&p, ']')) {
          do {
            if (rows >= (int)FG_FPIR_MAX) return jfail(&p, "too many threshold rows");
            if (jnumbers(&p, thr[rows], &cols[rows])) return p.rc;
            rows++;
          } while (lit(&p, ','));
          if (!lit(&p, ']')) return jfail(&p, "expected ']'");
        }
        have_thr = 1;
      } else if (jskip(&p)) return p.rc;
    } while (lit(&p, ','));
    if (!lit(&p, '}')) return jfail(&p, "expected '}'");
  }
  ws(&p);
  if (p.s != p.end) return jfail(&p, "trailing bytes");
  if (!have_sizes || !have_fpir || !have_thr || cal->n_sizes < 1 || cal->n_fpir < 1)
    return fg__seterr(err, FG_EFORMAT, "FPIR calibration: needs gallery_sizes, fpir and thresholds");
  if (rows != cal->n_sizes) return fg__seterr(err, FG_EFORMAT, "FPIR calibration: %d threshold rows for %d sizes",
                                              rows, cal->n_sizes);
  for (int i = 0; i < rows; i++)
    if (cols[i] != cal->n_fpir)
      return fg__seterr(err, FG_EFORMAT, "FPIR calibration: row %d has %d thresholds for %d rates", i, cols[i],
                        cal->n_fpir);
  /* sort sizes ascending and rates descending, carrying the table */
  int si[FG_FPIR_MAX], fi[FG_FPIR_MAX];
  for (int i = 0; i < cal->n_sizes; i++) si[i] = i;
  for (int j = 0; j < cal->n_fpir; j++) fi[j] = j;
  for (int a = 1; a < cal->n_sizes; a++)
    for (int b = a; b > 0 && cal->size[si[b]] < cal->size[si[b - 1]]; b--) { int t = si[b]; si[b] = si[b - 1]; si[b - 1] = t; }
  for (int a = 1; a < cal->n_fpir; a++)
    for (int b = a; b > 0 && cal->fpir[fi[b]] > cal->fpir[fi[b - 1]]; b--) { int t = fi[b]; fi[b] = fi[b - 1]; fi[b - 1] = t; }
  double size[FG_FPIR_MAX], rate[FG_FPIR_MAX];
  for (int i = 0; i < cal->n_sizes; i++) size[i] = cal->size[si[i]];
  for (int j = 0; j < cal->n_fpir; j++) rate[j] = cal->fpir[fi[j]];
  for (int i = 0; i < cal->n_sizes; i++) {
    cal->size[i] = size[i];
    if (!(size[i] >= 1) || (i && size[i] == size[i - 1]))
      return fg__seterr(err, FG_EFORMAT, "FPIR calibration: gallery sizes must be distinct and >= 1");
    for (int j = 0; j < cal->n_fpir; j++) cal->threshold[i][j] = thr[si[i]][fi[j]];
  }
  for (int j = 0; j < cal->n_fpir; j++) {
    cal->fpir[j] = rate[j];
    if (!(rate[j] > 0 && rate[j] < 1) || (j && rate[j] == rate[j - 1]))
      return fg__seterr(err, FG_EFORMAT, "FPIR calibration: rates must be distinct and in (0, 1)");
  }
  return FG_OK;
}

int fg_fpir_calibration_load(const char *path, fg_fpir_calibration *cal, fg_error *err) {
  uint8_t *buf;
  size_t len;
  memset(cal, 0, sizeof *cal);
  int rc = fg__read_file(path, MAX_CAL_BYTES, &buf, &len, err);
  if (rc) return rc;
  rc = fg_fpir_calibration_parse((const char *)buf, len, cal, err);
  free(buf);
  if (rc) {
    char msg[FG_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
    return fg__seterr(err, rc, "%s: %s", path, msg);
  }
  return FG_OK;
}

/* Threshold at rate f on row i: linear in log f between the row's rates. */
static int row_threshold(const fg_fpir_calibration *c, int i, double f, double *t) {
  int m = c->n_fpir;
  if (f > c->fpir[0] || f < c->fpir[m - 1]) return -1;
  for (int j = 0; j + 1 < m; j++)
    if (f <= c->fpir[j] && f >= c->fpir[j + 1]) {
      double a = (log(c->fpir[j]) - log(f)) / (log(c->fpir[j]) - log(c->fpir[j + 1]));
      *t = c->threshold[i][j] + a * (c->threshold[i][j + 1] - c->threshold[i][j]);
      return 0;
    }
  *t = c->threshold[i][0]; /* m == 1 and f equals that rate */
  return 0;
}

int fg_fpir_threshold(const fg_fpir_calibration *c, const char *model_hex, size_t n, double fpir,
                      double *threshold, fg_error *err) {
  if (!c || !threshold || !(fpir > 0 && fpir < 1) || n == 0)
    return fg__seterr(err, FG_EINVAL, "FPIR must be in (0, 1) and the gallery non-empty");
  if (model_hex && c->model_sha256[0]) {
    size_t l = strlen(model_hex);
    if (l > 64) l = 64;
    if (l < 16 || strncasecmp(model_hex, c->model_sha256, l))
      return fg__seterr(err, FG_EINVAL, "the FPIR calibration is for model %.16s..., the gallery's is %.16s...",
                        c->model_sha256, model_hex);
  }
  double N = (double)n;
  int last = c->n_sizes - 1;
  if (N >= c->size[0] && N <= c->size[last]) {
    int i = 0;
    while (i < last && N > c->size[i + 1]) i++;
    double t0, t1;
    if (row_threshold(c, i, fpir, &t0) || (i < last && row_threshold(c, i + 1, fpir, &t1)))
      return fg__seterr(err, FG_ELIMIT, "FPIR %g is outside the calibrated rates (%g..%g)", fpir,
                        c->fpir[c->n_fpir - 1], c->fpir[0]);
    if (i == last || N == c->size[i]) *threshold = t0;
    else {
      double a = (log(N) - log(c->size[i])) / (log(c->size[i + 1]) - log(c->size[i]));
      *threshold = t0 + a * (t1 - t0);
    }
    return FG_OK;
  }
  /* outside the sizes: the per-comparison rate q the target needs, found on the nearest (first or last) row */
  int row = N < c->size[0] ? 0 : last;
  double Nl = c->size[row];
  double q = -expm1(log1p(-fpir) / N);        /* 1 - (1 - F)^(1/N) */
  double f_eq = -expm1(Nl * log1p(-q));       /* the rate at size Nl with that q */
  double t;
  if (row_threshold(c, row, f_eq, &t))
    return fg__seterr(err, FG_ELIMIT,
                      "FPIR %g at %zu subjects needs FPIR %.3g at the %s calibrated size (%g), outside its "
                      "rates (%g..%g)",
                      fpir, n, f_eq, row ? "largest" : "smallest", Nl, c->fpir[c->n_fpir - 1], c->fpir[0]);
  *threshold = t;
  return FG_OK;
}
