/*
 * Reading a calibration file: the thresholds that give chosen false-match
 * rates for one recognition model, written by the LFW calibration
 * (`facegate eval lfw --calibrate`, scripts/calibrate) as
 *   {"model_sha256": "...", "method": "...",
 *    "thresholds": {"1e-2": t, "1e-3": t, "1e-4": t, "1e-5": t},
 *    "harsh_light_thresholds": {"1e-3": t, ...}}   (optional)
 * Parsed with jansson; other members are ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/internal.h"
#include "facegate/calibration.h"
#include "facegate/template.h"

static int bad(fg_error *err, const char *what) { return fg__seterr(err, FG_EFORMAT, "calibration: %s", what); }

/* Insert (fmr, t) into the n entries of fmrs/thrs, keeping fmr ascending. */
static int add_threshold(int *n, double *fmrs, double *thrs, const char *key, json_t *v, fg_error *err) {
  char *e;
  errno = 0;
  double fmr = strtod(key, &e);
  if (*e || e == key || !(fmr > 0 && fmr < 1))
    return fg__seterr(err, FG_EFORMAT, "calibration: FMR key '%s' is not a rate in (0, 1)", key);
  if (!json_is_number(v)) return fg__seterr(err, FG_EFORMAT, "calibration: threshold for %s is not a number", key);
  double t = json_number_value(v);
  if (!isfinite(t) || t < -1 || t > 1)
    return fg__seterr(err, FG_EFORMAT, "calibration: threshold for %s is outside -1..1", key);
  if (*n >= FG_CALIBRATION_MAX) return bad(err, "too many thresholds");
  int i = (*n)++;
  while (i > 0 && fmrs[i - 1] > fmr) {
    fmrs[i] = fmrs[i - 1];
    thrs[i] = thrs[i - 1];
    i--;
  }
  fmrs[i] = fmr;
  thrs[i] = t;
  return FG_OK;
}

int fg_calibration_parse(const char *json, size_t len, fg_calibration *cal, fg_error *err) {
  memset(cal, 0, sizeof *cal);
  if (!json) return fg__seterr(err, FG_EINVAL, "calibration: NULL input");
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) return fg__seterr(err, FG_EFORMAT, "calibration: line %d: %s", jerr.line, jerr.text);
  int rc = FG_OK;
  json_t *sha = json_object_get(root, "model_sha256"), *method = json_object_get(root, "method"),
         *th = json_object_get(root, "thresholds"), *harsh = json_object_get(root, "harsh_light_thresholds");
  if (!json_is_object(root)) rc = bad(err, "not a JSON object");
  else if (!json_is_string(sha)) rc = bad(err, "no model_sha256");
  else if (strlen(json_string_value(sha)) != 64 || strspn(json_string_value(sha), "0123456789abcdef") != 64)
    rc = bad(err, "model_sha256 is not 64 lowercase hex digits");
  else if (method && !json_is_string(method)) rc = bad(err, "method is not a string");
  else if (!json_is_object(th) || json_object_size(th) == 0) rc = bad(err, "no thresholds");
  else if (harsh && !json_is_object(harsh)) rc = bad(err, "harsh_light_thresholds is not an object");
  if (!rc) {
    memcpy(cal->model_sha256, json_string_value(sha), 65);
    if (method) snprintf(cal->method, sizeof cal->method, "%s", json_string_value(method));
    const char *key;
    json_t *v;
    json_object_foreach(th, key, v) {
      if ((rc = add_threshold(&cal->count, cal->fmr, cal->threshold, key, v, err))) break;
    }
    if (!rc && harsh) json_object_foreach(harsh, key, v) {
        if ((rc = add_threshold(&cal->harsh_count, cal->harsh_fmr, cal->harsh_threshold, key, v, err))) break;
      }
  }
  json_decref(root);
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
  return rc ? fg__err_prefix(err, rc, "%s", path) : FG_OK;
}

int fg_calibration_threshold(const fg_calibration *cal, double fmr, double *threshold, fg_error *err) {
  for (int i = 0; i < cal->count; i++)
    if (fabs(cal->fmr[i] - fmr) <= 1e-6 * fmr) {
      *threshold = cal->threshold[i];
      return FG_OK;
    }
  return fg__seterr(err, FG_ENOTFOUND, "calibration has no threshold for FMR %g", fmr);
}

int fg_calibration_threshold_for(const fg_calibration *cal, double fmr, unsigned a, unsigned b,
                                 double *threshold, fg_error *err) {
  int rc = fg_calibration_threshold(cal, fmr, threshold, err);
  if (rc || !(a & b & FG_TEMPLATE_CAPTURE_HARSH_LIGHT)) return rc;
  for (int i = 0; i < cal->harsh_count; i++)
    if (fabs(cal->harsh_fmr[i] - fmr) <= 1e-6 * fmr && cal->harsh_threshold[i] > *threshold)
      *threshold = cal->harsh_threshold[i];
  return FG_OK;
}

double fg_calibration_harsh_margin(const fg_calibration *cal) {
  if (!cal) return 0;
  for (int i = 0; i < cal->harsh_count; i++) /* ascending FMR: the smallest first */
    for (int k = 0; k < cal->count; k++)
      if (fabs(cal->fmr[k] - cal->harsh_fmr[i]) <= 1e-6 * cal->harsh_fmr[i])
        return cal->harsh_threshold[i] > cal->threshold[k] ? cal->harsh_threshold[i] - cal->threshold[k] : 0;
  return 0;
}
