/*
 * Open-set thresholds: reading an FPIR calibration file and turning a target
 * false-positive identification rate and a gallery size into a score
 * threshold (the model and the interpolation are described in gallery.h and
 * docs/matching.md).
 *
 * The file is JSON, read with jansson; only the members below are used.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "common/internal.h"
#include "facegate/calibration.h"

#define MAX_CAL_BYTES ((size_t)1 << 20)

/* Copy a JSON array of numbers into v (at most FG_FPIR_MAX). */
static int numbers(json_t *arr, const char *what, double *v, int *n, fg_error *err) {
  *n = 0;
  if (!json_is_array(arr)) return fg__seterr(err, FG_EFORMAT, "FPIR calibration: %s must be an array of numbers", what);
  if (json_array_size(arr) > FG_FPIR_MAX) return fg__seterr(err, FG_EFORMAT, "FPIR calibration: too many %s", what);
  size_t i;
  json_t *x;
  json_array_foreach(arr, i, x) {
    if (!json_is_number(x)) return fg__seterr(err, FG_EFORMAT, "FPIR calibration: %s[%zu] is not a number", what, i);
    v[(*n)++] = json_number_value(x);
  }
  return FG_OK;
}

static int parse_tree(json_t *root, fg_fpir_calibration *cal, double thr[FG_FPIR_MAX][FG_FPIR_MAX], int *cols, int *rows,
                      fg_error *err) {
  if (!json_is_object(root)) return fg__seterr(err, FG_EFORMAT, "FPIR calibration: not a JSON object");
  json_t *sha = json_object_get(root, "model_sha256"), *sizes = json_object_get(root, "gallery_sizes"),
         *fpir = json_object_get(root, "fpir"), *th = json_object_get(root, "thresholds");
  if (!sizes || !fpir || !th)
    return fg__seterr(err, FG_EFORMAT, "FPIR calibration: needs gallery_sizes, fpir and thresholds");
  if (sha) {
    if (!json_is_string(sha) || strlen(json_string_value(sha)) >= sizeof cal->model_sha256)
      return fg__seterr(err, FG_EFORMAT, "FPIR calibration: model_sha256 is not a digest string");
    memcpy(cal->model_sha256, json_string_value(sha), strlen(json_string_value(sha)) + 1);
  }
  int rc;
  if ((rc = numbers(sizes, "gallery_sizes", cal->size, &cal->n_sizes, err)) ||
      (rc = numbers(fpir, "fpir", cal->fpir, &cal->n_fpir, err)))
    return rc;
  if (!json_is_array(th)) return fg__seterr(err, FG_EFORMAT, "FPIR calibration: thresholds must be an array of arrays");
  if (json_array_size(th) > FG_FPIR_MAX) return fg__seterr(err, FG_EFORMAT, "FPIR calibration: too many threshold rows");
  size_t i;
  json_t *row;
  json_array_foreach(th, i, row) {
    if ((rc = numbers(row, "thresholds row", thr[i], &cols[i], err))) return rc;
    (*rows)++;
  }
  return FG_OK;
}

int fg_fpir_calibration_parse(const char *json, size_t len, fg_fpir_calibration *cal, fg_error *err) {
  memset(cal, 0, sizeof *cal);
  if (!json) return fg__seterr(err, FG_EINVAL, "FPIR calibration: NULL input");
  int rows = 0;
  double thr[FG_FPIR_MAX][FG_FPIR_MAX];
  int cols[FG_FPIR_MAX];
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) return fg__seterr(err, FG_EFORMAT, "FPIR calibration: line %d: %s", jerr.line, jerr.text);
  int rc = parse_tree(root, cal, thr, cols, &rows, err);
  json_decref(root);
  if (rc) return rc;
  if (cal->n_sizes < 1 || cal->n_fpir < 1)
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
  return rc ? fg__err_prefix(err, rc, "%s", path) : FG_OK;
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

/* ---- producing ---------------------------------------------------------------- */

static int float_desc(const void *pa, const void *pb) {
  float a = *(const float *)pa, b = *(const float *)pb;
  return a < b ? 1 : a > b ? -1 : 0;
}

double fg_fpir_threshold_of(float *scores, size_t n, double fpir) {
  size_t k = (size_t)floor(fpir * (double)n + 1e-9);
  if (k >= n) return -INFINITY;
  qsort(scores, n, sizeof *scores, float_desc);
  return nextafterf(scores[k], INFINITY);
}

int fg_fpir_calibration_write(const char *path, const fg_fpir_calibration *cal, const char *method,
                              const size_t *searches, fg_error *err) {
  if (!path || !cal || cal->n_sizes < 1 || cal->n_fpir < 1 || cal->n_sizes > FG_FPIR_MAX ||
      cal->n_fpir > FG_FPIR_MAX)
    return fg__seterr(err, FG_EINVAL, "FPIR calibration: nothing to write");
  /* One template per subject: the reader's extrapolation assumes it (see the header). */
  json_t *root = json_pack("{s:s, s:s, s:i}", "model_sha256", cal->model_sha256, "method",
                           method ? method : "", "templates_per_subject", 1);
  json_t *sizes = json_array(), *rates = json_array(), *rows = json_array();
  json_t *done = searches ? json_array() : NULL;
  int bad = !root || !sizes || !rates || !rows || (searches && !done);
  for (int i = 0; !bad && i < cal->n_sizes; i++) {
    json_t *row = json_array();
    bad |= !row || json_array_append_new(sizes, json_real(cal->size[i])) ||
           (done && json_array_append_new(done, json_integer((json_int_t)searches[i])));
    for (int j = 0; row && !bad && j < cal->n_fpir; j++)
      bad |= json_array_append_new(row, json_real(round(cal->threshold[i][j] * 1e6) / 1e6));
    bad |= json_array_append_new(rows, row);
  }
  for (int j = 0; !bad && j < cal->n_fpir; j++) bad |= json_array_append_new(rates, json_real(cal->fpir[j]));
  if (!bad) {
    bad |= json_object_set_new(root, "gallery_sizes", sizes);
    sizes = NULL;
    if (done) bad |= json_object_set_new(root, "non_mated_searches", done);
    done = NULL;
    bad |= json_object_set_new(root, "fpir", rates) | json_object_set_new(root, "thresholds", rows);
    rates = rows = NULL;
  }
  json_decref(sizes), json_decref(rates), json_decref(rows), json_decref(done);
  if (bad) {
    json_decref(root);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  char tmp[4096];
  int rc = FG_OK;
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    rc = fg__seterr(err, FG_EINVAL, "FPIR calibration: path too long");
  else if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) ||
           rename(tmp, path)) {
    rc = fg__seterr(err, FG_EIO, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
  }
  json_decref(root);
  return rc;
}
