/*
 * Policy: who may opt out, how long each kind of biometric data and record
 * is kept, and the decision thresholds. Read from a JSON file over built-in
 * defaults (today's practice, docs/border.md "Policy" says where each comes from);
 * unknown members are refused so that a misspelt retention rule cannot be
 * silently ignored.
 *
 *   {"capture_mandatory": false,
 *    "categories": {"citizen": {"opt_out_allowed": true, "capture_retention_hours": 12,
 *                               "template_retention_hours": 12,
 *                               "crossing_retention_days": 365}, ...},
 *    "unidentified": {...}, "gallery_retention_hours": 12, ...}
 *
 * A retention of -1 means "keep"; 0 means "delete at the next purge".
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "border/border_internal.h"

#define HOUR 3600LL
#define DAY (24 * HOUR)

static const char *const CATEGORY_NAMES[FG_CATEGORY_COUNT] = {"citizen", "resident", "foreign",
                                                               "exempt"};

const char *fg_category_name(fg_category c) {
  return (unsigned)c < FG_CATEGORY_COUNT ? CATEGORY_NAMES[c] : "unknown";
}

int fg_category_parse(const char *name, fg_category *out) {
  for (int i = 0; name && i < FG_CATEGORY_COUNT; i++)
    if (strcmp(name, CATEGORY_NAMES[i]) == 0) {
      *out = (fg_category)i;
      return FG_OK;
    }
  return FG_EINVAL;
}

static fg_category_policy cat(int opt_out, int64_t capture, int64_t tmpl, int64_t crossing) {
  return (fg_category_policy){opt_out, capture, tmpl, crossing};
}

void fg_policy_defaults(fg_policy *p) {
  memset(p, 0, sizeof *p);
  p->capture_mandatory = 0;
  /* Citizens: opt-out allowed, photos and templates gone within 12 hours (CBP TVS). */
  p->category[FG_CATEGORY_CITIZEN] = cat(1, 12 * HOUR, 12 * HOUR, 365 * DAY);
  p->category[FG_CATEGORY_RESIDENT] = cat(0, 14 * DAY, 14 * DAY, 1095 * DAY);
  /* Foreign nationals: captures 14 days; records 3 years (EU EES). */
  p->category[FG_CATEGORY_FOREIGN] = cat(0, 14 * DAY, 14 * DAY, 1095 * DAY);
  p->category[FG_CATEGORY_EXEMPT] = cat(1, 12 * HOUR, 12 * HOUR, 365 * DAY);
  /* Captures matched to nobody: kept for the officer's review, then gone. */
  p->unidentified = cat(0, 14 * DAY, 14 * DAY, 1095 * DAY);
  p->gallery_retention = 12 * HOUR;
  p->overstay_crossing_retention = 1825 * DAY; /* EES: 5 years for overstayers */
  p->fta_max_tries = 3;
  p->match_fpir = 0.003;    /* NIST IR 8381's operating point for flight galleries */
  p->watchlist_fpir = 0.003;
  p->verify_fmr = 5e-4;     /* EU EES: FNMR < 1% at FMR = 0.05% */
  p->liveness_min = 0.0f;   /* the liveness model's error rates are not measured: off */
  p->quality_min = 40.0f;
  p->admit_days = 90;
  p->report_min_group = 20; /* docs/records.md, Error rates per traveller group */
}

/* ---- parsing ---- */

static int bad(fg_error *err, const char *where, const char *what) {
  return fg__seterr(err, FG_EFORMAT, "policy: %s: %s", where, what);
}

/* A duration member in `unit` seconds: a number >= -1 (-1 = keep). */
static int get_duration(json_t *v, const char *where, int64_t unit, int64_t *out, fg_error *err) {
  if (!json_is_number(v)) return bad(err, where, "expected a number (-1 = keep)");
  double d = json_number_value(v);
  if (!isfinite(d) || (d < 0 && d != -1) || d > 1e6) return bad(err, where, "out of range");
  *out = d == -1 ? -1 : (int64_t)llround(d * (double)unit);
  return FG_OK;
}

static int get_bool(json_t *v, const char *where, int *out, fg_error *err) {
  if (!json_is_boolean(v)) return bad(err, where, "expected true or false");
  *out = json_is_true(v);
  return FG_OK;
}

static int get_real(json_t *v, const char *where, double lo, double hi, double *out,
                    fg_error *err) {
  if (!json_is_number(v)) return bad(err, where, "expected a number");
  double d = json_number_value(v);
  if (!(d >= lo && d <= hi)) {
    char msg[96];
    snprintf(msg, sizeof msg, "must be between %g and %g", lo, hi);
    return bad(err, where, msg);
  }
  *out = d;
  return FG_OK;
}

static int parse_category(json_t *o, const char *name, fg_category_policy *c, fg_error *err) {
  if (!json_is_object(o)) return bad(err, name, "expected an object");
  const char *key;
  json_t *v;
  char where[96];
  json_object_foreach(o, key, v) {
    snprintf(where, sizeof where, "%s.%s", name, key);
    int rc;
    if (strcmp(key, "opt_out_allowed") == 0) rc = get_bool(v, where, &c->opt_out_allowed, err);
    else if (strcmp(key, "capture_retention_hours") == 0)
      rc = get_duration(v, where, HOUR, &c->capture_retention, err);
    else if (strcmp(key, "template_retention_hours") == 0)
      rc = get_duration(v, where, HOUR, &c->template_retention, err);
    else if (strcmp(key, "crossing_retention_days") == 0)
      rc = get_duration(v, where, DAY, &c->crossing_retention, err);
    else rc = bad(err, where, "unknown member");
    if (rc != FG_OK) return rc;
  }
  return FG_OK;
}

static int parse_member(fg_policy *p, const char *key, json_t *v, fg_error *err) {
  double d;
  int rc;
  if (strcmp(key, "capture_mandatory") == 0) return get_bool(v, key, &p->capture_mandatory, err);
  if (strcmp(key, "categories") == 0) {
    if (!json_is_object(v)) return bad(err, key, "expected an object");
    const char *name;
    json_t *c;
    json_object_foreach(v, name, c) {
      fg_category k;
      if (fg_category_parse(name, &k) != FG_OK)
        return bad(err, name, "unknown category (citizen, resident, foreign, exempt)");
      if ((rc = parse_category(c, name, &p->category[k], err)) != FG_OK) return rc;
    }
    return FG_OK;
  }
  if (strcmp(key, "unidentified") == 0) return parse_category(v, key, &p->unidentified, err);
  if (strcmp(key, "gallery_retention_hours") == 0)
    return get_duration(v, key, HOUR, &p->gallery_retention, err);
  if (strcmp(key, "overstay_crossing_retention_days") == 0)
    return get_duration(v, key, DAY, &p->overstay_crossing_retention, err);
  if (strcmp(key, "fta_max_tries") == 0) {
    if ((rc = get_real(v, key, 1, 100, &d, err)) == FG_OK) p->fta_max_tries = (int)d;
    return rc;
  }
  if (strcmp(key, "match_fpir") == 0) return get_real(v, key, 1e-6, 0.5, &p->match_fpir, err);
  if (strcmp(key, "watchlist_fpir") == 0)
    return get_real(v, key, 1e-6, 0.5, &p->watchlist_fpir, err);
  if (strcmp(key, "verify_fmr") == 0) return get_real(v, key, 1e-7, 0.5, &p->verify_fmr, err);
  if (strcmp(key, "liveness_min") == 0) {
    if ((rc = get_real(v, key, 0, 1, &d, err)) == FG_OK) p->liveness_min = (float)d;
    return rc;
  }
  if (strcmp(key, "quality_min") == 0) {
    if ((rc = get_real(v, key, 0, 100, &d, err)) == FG_OK) p->quality_min = (float)d;
    return rc;
  }
  if (strcmp(key, "admit_days") == 0) {
    if ((rc = get_real(v, key, 1, 3650, &d, err)) == FG_OK) p->admit_days = (int)d;
    return rc;
  }
  if (strcmp(key, "report_min_group") == 0) {
    if ((rc = get_real(v, key, 5, 1e6, &d, err)) == FG_OK) p->report_min_group = (int)d;
    return rc;
  }
  return bad(err, key, "unknown member");
}

int fg_policy_parse(const char *json, size_t len, fg_policy *p, fg_error *err) {
  json_error_t je;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) return fg__seterr(err, FG_EFORMAT, "policy: line %d: %s", je.line, je.text);
  fg_policy tmp = *p;
  int rc = FG_OK;
  if (!json_is_object(root)) rc = bad(err, "top level", "expected an object");
  const char *key;
  json_t *v;
  if (rc == FG_OK) json_object_foreach(root, key, v) {
      if ((rc = parse_member(&tmp, key, v, err)) != FG_OK) break;
    }
  json_decref(root);
  if (rc == FG_OK) *p = tmp;
  return rc;
}

int fg_policy_load(const char *path, fg_policy *p, fg_error *err) {
  uint8_t *data;
  size_t len;
  int rc = fg__read_file(path, 1 << 20, &data, &len, err);
  if (rc != FG_OK) return rc;
  rc = fg_policy_parse((const char *)data, len, p, err);
  free(data);
  return rc;
}

/* ---- output ---- */

static json_t *duration(int64_t s, int64_t unit) {
  if (s < 0) return json_integer(-1);
  if (s % unit == 0) return json_integer(s / unit);
  return json_real((double)s / (double)unit);
}

static json_t *category_json(const fg_category_policy *c) {
  return json_pack("{s:b, s:o, s:o, s:o}", "opt_out_allowed", c->opt_out_allowed,
                   "capture_retention_hours", duration(c->capture_retention, HOUR),
                   "template_retention_hours", duration(c->template_retention, HOUR),
                   "crossing_retention_days", duration(c->crossing_retention, DAY));
}

json_t *fg__policy_json(const fg_policy *p) {
  json_t *cats = json_object();
  if (!cats) return NULL;
  for (int i = 0; i < FG_CATEGORY_COUNT; i++)
    json_object_set_new(cats, CATEGORY_NAMES[i], category_json(&p->category[i]));
  return json_pack("{s:b, s:o, s:o, s:o, s:o, s:i, s:f, s:f, s:f, s:f, s:f, s:i, s:i}",
                   "capture_mandatory", p->capture_mandatory, "categories", cats,
                   "unidentified", category_json(&p->unidentified), "gallery_retention_hours",
                   duration(p->gallery_retention, HOUR), "overstay_crossing_retention_days",
                   duration(p->overstay_crossing_retention, DAY), "fta_max_tries",
                   p->fta_max_tries, "match_fpir", p->match_fpir, "watchlist_fpir",
                   p->watchlist_fpir, "verify_fmr", p->verify_fmr, "liveness_min",
                   (double)p->liveness_min, "quality_min", (double)p->quality_min,
                   "admit_days", p->admit_days, "report_min_group", p->report_min_group);
}

fg_doc *fg_policy_to_json(const fg_policy *p) { return fg__doc(fg__policy_json(p)); }
