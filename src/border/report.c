/*
 * The daily report (fg_border_report) and its chart (fg_border_report_plot).
 *
 * For one UTC day and one port (or all), from the encounters of that day:
 * counts by outcome, the rates below with their ISO/IEC 19795-1 names,
 * referrals by reason, opt-outs, watchlist hits, the median and 90th
 * percentile transaction time, and the crossings recorded that day by
 * method and direction. Each rate carries its numerator and denominator, so
 * a reader can check the arithmetic:
 *
 *   attempted     = encounters - opt-outs (an opt-out is no capture attempt)
 *   with a face   = MATCHED + NO_MATCH + LIVENESS_SUSPECT
 *   capture_rate  = with a face / attempted          (1 - FTAR)
 *   ftar          = FAILURE_TO_ACQUIRE / attempted   (failure-to-acquire rate)
 *   match_rate    = MATCHED / with a face
 *
 * Each rate also carries its 95% Wilson interval (ci95), and `groups` breaks
 * the rates down by the travellers' sex, age band and nationality
 * (report_groups.c, which says how an encounter is attributed and which
 * groups are withheld).
 *
 * The report ends with the audit chain's head ("SEQ:HEX"), taken after the
 * report's own audit event: printed and kept elsewhere, it is the anchor
 * `audit verify` checks a later chain against.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "border/border_internal.h"
#include "common/draw.h"
#include "store/sql_records.h"

#define DAY 86400

static const char *const OUTCOMES[] = {"MATCHED", "NO_MATCH", "FAILURE_TO_ACQUIRE",
                                       "LIVENESS_SUSPECT", "OPT_OUT"};
#define N_OUTCOMES 5
static const char *const REASONS[] = {"no_match",  "failure_to_acquire", "liveness",
                                      "opt_out",   "watchlist",          "already_crossed"};
#define N_REASONS 6

typedef struct day_figures {
  int64_t outcome[N_OUTCOMES];
  int64_t encounters, watchlist_hits;
  double *ms;
  size_t n_ms, cap_ms;
} day_figures;

static int encounter_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  day_figures *f = ctx;
  f->encounters++;
  int o = -1;
  for (int i = 0; c[0].type == FG_VAL_TEXT && i < N_OUTCOMES; i++)
    if (strcmp(c[0].s, OUTCOMES[i]) == 0) o = i;
  if (o >= 0) f->outcome[o]++;
  if (c[2].type == FG_VAL_INT) f->watchlist_hits++;
  /* Transaction times of captures only: an opt-out is a manual process. */
  if (o != FG_OUTCOME_OPT_OUT && (c[1].type == FG_VAL_REAL || c[1].type == FG_VAL_INT)) {
    if (f->n_ms == f->cap_ms) {
      size_t cap = f->cap_ms ? 2 * f->cap_ms : 256;
      double *ms = realloc(f->ms, cap * sizeof *ms);
      if (!ms) return fg__seterr(err, FG_ENOMEM, "out of memory");
      f->ms = ms;
      f->cap_ms = cap;
    }
    f->ms[f->n_ms++] = c[1].type == FG_VAL_REAL ? c[1].r : (double)c[1].i;
  }
  return 0;
}

static int count_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  json_t *o = ctx;
  if (c[0].type != FG_VAL_TEXT) return 0;
  json_int_t prev = json_integer_value(json_object_get(o, c[0].s));
  if (json_object_set_new(o, c[0].s, json_integer(prev + c[n - 1].i)))
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  return 0;
}

/* Crossings: count by method and by direction (rows: method, direction, count). */
static int crossing_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  json_t *o = ctx;
  if (c[0].type != FG_VAL_TEXT || c[1].type != FG_VAL_TEXT) return 0;
  const char *keys[2] = {c[0].s, c[1].s};
  for (int k = 0; k < 2; k++) {
    json_int_t prev = json_integer_value(json_object_get(o, keys[k]));
    if (json_object_set_new(o, keys[k], json_integer(prev + c[2].i)))
      return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  json_int_t total = json_integer_value(json_object_get(o, "total"));
  if (json_object_set_new(o, "total", json_integer(total + c[2].i)))
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median (mean of the middle two when even) and nearest-rank percentile. */
static json_t *median_json(const double *v, size_t n) {
  if (!n) return json_null();
  return json_real(n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}
static json_t *percentile_json(const double *v, size_t n, double p) {
  if (!n) return json_null();
  size_t rank = (size_t)ceil(p * (double)n);
  return json_real(v[rank ? rank - 1 : 0]);
}

static json_t *build(const char *date, const char *port, const day_figures *f, json_t *referrals,
                     json_t *crossings) {
  json_t *outcomes = json_object();
  for (int i = 0; outcomes && i < N_OUTCOMES; i++)
    if (json_object_set_new(outcomes, OUTCOMES[i], json_integer(f->outcome[i]))) {
      json_decref(outcomes);
      outcomes = NULL;
    }
  int64_t opt_outs = f->outcome[FG_OUTCOME_OPT_OUT];
  int64_t attempted = f->encounters - opt_outs;
  int64_t fta = f->outcome[FG_OUTCOME_FAILURE_TO_ACQUIRE];
  int64_t matched = f->outcome[FG_OUTCOME_MATCHED];
  int64_t with_face = matched + f->outcome[FG_OUTCOME_NO_MATCH] +
                      f->outcome[FG_OUTCOME_LIVENESS_SUSPECT];
  json_t *rates = json_pack(
      "{s:o, s:o, s:o}", "capture_rate",
      fg__rate_json(with_face, attempted,
                "acquisition rate, 1 - FTAR (GAO's \"capture rate\"); per encounter"),
      "ftar", fg__rate_json(fta, attempted, "failure-to-acquire rate (FTAR); per encounter"),
      "match_rate",
      fg__rate_json(matched, with_face,
                "no 19795-1 rate: identification rate at the operating threshold, ground "
                "truth unknown (not 1 - FNIR)"));
  return json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:o, s:o, s:O, s:I, s:I, s:{s:o, s:o, s:I},"
                   " s:O}",
                   "date", date, "port", port ? json_string(port) : json_null(), "encounters",
                   (json_int_t)f->encounters, "attempted", (json_int_t)attempted, "with_face",
                   (json_int_t)with_face, "opt_outs", (json_int_t)opt_outs, "outcomes",
                   outcomes, "rates", rates, "referrals", referrals, "watchlist_hits",
                   (json_int_t)f->watchlist_hits, "failures_to_acquire", (json_int_t)fta,
                   "transaction_ms", "median", median_json(f->ms, f->n_ms), "p90",
                   percentile_json(f->ms, f->n_ms, 0.9), "n", (json_int_t)f->n_ms,
                   "crossings", crossings);
}

int fg_border_report(fg_border *b, const fg_actor *who, const char *date, const char *port,
                     fg_doc **out, fg_error *err) {
  *out = NULL;
  int64_t from;
  if (!date || strlen(date) != 10 || fg__parse_time(date, &from) != FG_OK)
    return fg__seterr(err, FG_EINVAL, "report: date must be YYYY-MM-DD, not \"%s\"",
                      date ? date : "");
  int trc = fg__border_text("report: port", port, 64, err);
  if (trc != FG_OK) return trc;
  day_figures f;
  memset(&f, 0, sizeof f);
  json_t *referrals = json_object(), *crossings = json_object(), *r = NULL;
  for (int i = 0; referrals && i < N_REASONS; i++)
    json_object_set_new(referrals, REASONS[i], json_integer(0));
  static const char *const CKEYS[] = {"biometric", "manual", "entry", "exit", "total"};
  for (int i = 0; crossings && i < 5; i++) json_object_set_new(crossings, CKEYS[i], json_integer(0));
  fg_val p[3] = {FG_V_INT(from), FG_V_INT(from + DAY), FG_V_TEXT(port)};
  int np = port ? 3 : 2;
  int rc = referrals && crossings ? fg_store_begin(b->store, err)
                                  : fg__seterr(err, FG_ENOMEM, "out of memory");
  if (rc != FG_OK) goto done;
  if ((rc = fg_store_exec(b->store,
                          port ? &FG_Q_REC_REPORT_ENCOUNTERS_PORT : &FG_Q_REC_REPORT_ENCOUNTERS, p,
                          np, encounter_cb, &f, err)) != FG_OK ||
      (rc = fg_store_exec(b->store,
                          port ? &FG_Q_REC_REPORT_REFERRALS_PORT : &FG_Q_REC_REPORT_REFERRALS, p,
                          np, count_cb, referrals, err)) != FG_OK ||
      (rc = fg_store_exec(b->store,
                          port ? &FG_Q_REC_REPORT_CROSSINGS_PORT : &FG_Q_REC_REPORT_CROSSINGS, p,
                          np, crossing_cb, crossings, err)) != FG_OK)
    goto rollback;
  json_t *groups = NULL;
  if ((rc = fg__report_groups(b, from, p, np, &groups, err)) != FG_OK) goto rollback;
  if (f.n_ms) qsort(f.ms, f.n_ms, sizeof *f.ms, cmp_double);
  if (!(r = build(date, port, &f, referrals, crossings)) ||
      json_object_set_new(r, "groups", groups)) {
    if (!r) json_decref(groups);
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto rollback;
  }
  json_t *d = json_pack("{s:s, s:o, s:I}", "date", date, "port",
                        port ? json_string(port) : json_null(), "encounters",
                        (json_int_t)f.encounters);
  rc = d ? fg__border_audit_json(b, who, "report.run", "report", "accountability", d, err)
         : fg__seterr(err, FG_ENOMEM, "out of memory");
  json_decref(d);
  int64_t seq = 0;
  char hex[65] = "", anchor[96];
  if (rc == FG_OK) rc = fg_audit_head(b->store, &seq, hex, err);
  if (rc != FG_OK) goto rollback;
  snprintf(anchor, sizeof anchor, "%lld:%s", (long long)seq, hex);
  if (json_object_set_new(r, "audit_anchor", json_string(anchor))) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto rollback;
  }
  if ((rc = fg_store_commit(b->store, err)) != FG_OK) goto done;
  *out = fg__doc(r);
  r = NULL;
  goto done;
rollback:
  fg_store_rollback(b->store);
done:
  json_decref(r);
  json_decref(referrals);
  json_decref(crossings);
  free(f.ms);
  return rc;
}

/* ---- chart ------------------------------------------------------------------------------ */

typedef struct bar {
  const char *label;
  double value;
} bar;

/* One panel of horizontal bars with a heading, labels on the left, counts on the right. */
static void panel(cairo_t *cr, double x, double y, double w, const char *heading, const bar *bars,
                  int n, const double rgb[3]) {
  double vmax = 1;
  for (int i = 0; i < n; i++) vmax = bars[i].value > vmax ? bars[i].value : vmax;
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  fg__draw_text(cr, x, y, 15, heading, 0);
  double label_w = 170, bar_h = 22, gap = 8, bw = w - label_w - 60;
  for (int i = 0; i < n; i++) {
    double by = y + 14 + i * (bar_h + gap);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    fg__draw_text(cr, x + label_w - 8, by + bar_h * 0.7, 12, bars[i].label, 1);
    double len = bars[i].value / vmax * bw;
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_rectangle(cr, x + label_w, by, len > 0 ? len : 0, bar_h);
    cairo_fill(cr);
    char v[32];
    snprintf(v, sizeof v, "%.0f", bars[i].value);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    fg__draw_text(cr, x + label_w + len + 6, by + bar_h * 0.7, 12, v, 0);
  }
}

int fg_border_report_plot(const fg_doc *doc, const char *path, fg_error *err) {
  const json_t *report = fg__json(doc);
  if (!json_is_object(report) || !path)
    return fg__seterr(err, FG_EINVAL, "report plot: a report object and a path are required");
  bar outcomes[N_OUTCOMES], reasons[N_REASONS];
  const json_t *oc = json_object_get(report, "outcomes"), *rf = json_object_get(report, "referrals");
  for (int i = 0; i < N_OUTCOMES; i++)
    outcomes[i] = (bar){OUTCOMES[i], (double)json_integer_value(json_object_get(oc, OUTCOMES[i]))};
  for (int i = 0; i < N_REASONS; i++)
    reasons[i] = (bar){REASONS[i], (double)json_integer_value(json_object_get(rf, REASONS[i]))};

  const int W = 760, H = 500;
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create(s);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  const char *date = json_string_value(json_object_get(report, "date"));
  const char *port = json_string_value(json_object_get(report, "port"));
  char title[160], sub[200];
  snprintf(title, sizeof title, "facegate report %s, %s", date ? date : "?",
           port ? port : "all ports");
  const json_t *rates = json_object_get(report, "rates");
  double cr_v = json_real_value(json_object_get(json_object_get(rates, "capture_rate"), "value"));
  double mr_v = json_real_value(json_object_get(json_object_get(rates, "match_rate"), "value"));
  snprintf(sub, sizeof sub, "%lld encounters, capture rate %.1f%%, match rate %.1f%%",
           (long long)json_integer_value(json_object_get(report, "encounters")), 100 * cr_v,
           100 * mr_v);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  fg__draw_text(cr, W / 2.0, 32, 18, title, 0.5);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  fg__draw_text(cr, W / 2.0, 54, 13, sub, 0.5);

  static const double blue[3] = {0.12, 0.40, 0.75}, orange[3] = {0.85, 0.35, 0.10};
  panel(cr, 30, 90, W - 60, "Encounters by outcome", outcomes, N_OUTCOMES, blue);
  panel(cr, 30, 90 + 30 + N_OUTCOMES * 30 + 20, W - 60, "Referrals by reason", reasons, N_REASONS,
        orange);

  cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_write_to_png(s, path);
  cairo_surface_destroy(s);
  if (st != CAIRO_STATUS_SUCCESS)
    return fg__seterr(err, FG_EIO, "report plot %s: %s", path, cairo_status_to_string(st));
  return FG_OK;
}
