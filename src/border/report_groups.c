/*
 * The daily report's error rates per traveller group (fg__report_groups):
 * capture rate, failure-to-acquire rate, match rate, false non-identification
 * rate and watchlist false-hit rate by the manifest's sex, age band (at the
 * report's day) and nationality, each with its 95% Wilson interval
 * (fg_wilson95, src/eval/interval.c). docs/records.md has the definitions
 * and what the figures do and do not tell.
 *
 * Attribution. An encounter belongs to the traveller it names: the matched
 * one, the one who declared themselves by opting out, or the one an officer
 * confirmed on its referral (encounters.traveller_id); else, for a failure to
 * acquire, the holder of the presented document its referral names. A
 * no_match referral's nearest candidate is not who was there, so it
 * attributes nothing. Encounters attributed to nobody are counted
 * (`unattributed_encounters`) but belong to no group.
 *
 * Privacy. The personal fields are unsealed here, in memory, only to find the
 * group; nothing personal is logged or returned. A group of fewer than
 * policy.report_min_group distinct travellers is withheld, and so are the
 * next smallest groups until the withheld ones hold together 0 or at least
 * that many travellers, so that no withheld group can be recovered by
 * subtraction from the others. Withheld groups are only counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "facegate/eval.h"
#include "store/sql_records.h"

enum { DIM_SEX, DIM_AGE, DIM_NATIONALITY, N_DIMS };
static const char *const DIM_NAMES[N_DIMS] = {"sex", "age_band", "nationality"};

/* One attributed encounter, reduced to what the groups need. */
typedef struct grow {
  int64_t traveller;
  char key[N_DIMS][8];
  int outcome;     /* fg_outcome, -1 unknown */
  int wl_hit;      /* a watchlist hit */
  int wl_false;    /* ... whose referral an officer confirmed (the traveller admitted) */
} grow;

typedef struct gctx {
  fg_border *b;
  int64_t day; /* the report's day, for ages */
  grow *rows;
  size_t n, cap;
  int64_t unattributed;
} gctx;

static int outcome_of(const fg_val *v) {
  static const char *const names[] = {"MATCHED", "NO_MATCH", "FAILURE_TO_ACQUIRE",
                                      "LIVENESS_SUSPECT", "OPT_OUT"};
  static const int codes[] = {FG_OUTCOME_MATCHED, FG_OUTCOME_NO_MATCH,
                              FG_OUTCOME_FAILURE_TO_ACQUIRE, FG_OUTCOME_LIVENESS_SUSPECT,
                              FG_OUTCOME_OPT_OUT};
  for (int i = 0; v->type == FG_VAL_TEXT && i < 5; i++)
    if (strcmp(v->s, names[i]) == 0) return codes[i];
  return -1;
}

/* Age in whole years on `day` from "YYYY-MM-DD", in bands; "unknown" when
 * the date is missing, malformed or after the day. */
static void age_band(const char *dob, int64_t day, char out[8]) {
  static const int lower[] = {0, 18, 30, 45, 60, 75};
  static const char *const names[] = {"0-17", "18-29", "30-44", "45-59", "60-74", "75+"};
  int y, m, d;
  int64_t t;
  snprintf(out, 8, "unknown");
  if (strlen(dob) != 10 || sscanf(dob, "%4d-%2d-%2d", &y, &m, &d) != 3 ||
      fg__parse_time(dob, &t) != FG_OK || t > day)
    return;
  char today[32];
  fg_time_format(day, today);
  int ty, tm, td;
  if (sscanf(today, "%4d-%2d-%2d", &ty, &tm, &td) != 3) return;
  int age = ty - y - (tm < m || (tm == m && td < d));
  for (int i = 5; i >= 0; i--)
    if (age >= lower[i]) {
      snprintf(out, 8, "%s", names[i]);
      return;
    }
}

static void sex_key(const char *s, char out[8]) {
  snprintf(out, 8, "%s", (!strcmp(s, "F") || !strcmp(s, "M") || !strcmp(s, "X")) ? s : "unknown");
}

/* ISO 3166-1 alpha-3 (or the ICAO codes such as "D" or "XXA" that passports
 * carry): one to three capital letters; anything else is "unknown". */
static void nationality_key(const char *s, char out[8]) {
  size_t n = strlen(s), ok = n >= 1 && n <= 3;
  for (size_t i = 0; ok && i < n; i++) ok = s[i] >= 'A' && s[i] <= 'Z';
  snprintf(out, 8, "%s", ok ? s : "unknown");
}

static int row_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  gctx *g = ctx;
  if (c[2].type != FG_VAL_INT) {
    g->unattributed++;
    return 0;
  }
  if (g->n == g->cap) {
    size_t cap = g->cap ? 2 * g->cap : 256;
    grow *r = realloc(g->rows, cap * sizeof *r);
    if (!r) return fg__seterr(err, FG_ENOMEM, "out of memory");
    g->rows = r;
    g->cap = cap;
  }
  grow *r = &g->rows[g->n];
  memset(r, 0, sizeof *r);
  r->traveller = c[2].i;
  r->outcome = outcome_of(&c[0]);
  r->wl_hit = c[1].type == FG_VAL_INT;
  r->wl_false = r->wl_hit && c[4].type == FG_VAL_TEXT && !strcmp(c[4].s, "watchlist") &&
                c[5].type == FG_VAL_TEXT && !strcmp(c[5].s, "confirmed");
  fg__person p;
  int rc = fg__person_open(g->b, r->traveller, &c[3], &p, err);
  if (rc != FG_OK) return rc;
  sex_key(p.sex, r->key[DIM_SEX]);
  age_band(p.date_of_birth, g->day, r->key[DIM_AGE]);
  nationality_key(p.nationality, r->key[DIM_NATIONALITY]);
  sodium_memzero(&p, sizeof p); /* names, too: none of it leaves this function */
  g->n++;
  return 0;
}

/* ---- aggregation ------------------------------------------------------------------ */

typedef struct gstat {
  const char *key;
  int64_t travellers, encounters, outcome[5], wl_hits, wl_false;
  int shown;
} gstat;

static int row_cmp(const void *pa, const void *pb, void *dim) {
  const grow *a = pa, *b = pb;
  int d = *(const int *)dim;
  int c = strcmp(a->key[d], b->key[d]);
  return c ? c : (a->traveller > b->traveller) - (a->traveller < b->traveller);
}

/* Groups of one dimension from rows sorted by (key, traveller). */
static size_t aggregate(const grow *rows, size_t n, int dim, gstat *out) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || strcmp(rows[i].key[dim], rows[i - 1].key[dim])) {
      memset(&out[k], 0, sizeof out[k]);
      out[k++].key = rows[i].key[dim];
    }
    gstat *s = &out[k - 1];
    if (i == 0 || s->encounters == 0 || rows[i].traveller != rows[i - 1].traveller) s->travellers++;
    s->encounters++;
    if (rows[i].outcome >= 0) s->outcome[rows[i].outcome]++;
    s->wl_hits += rows[i].wl_hit;
    s->wl_false += rows[i].wl_false;
  }
  return k;
}

json_t *fg__rate_json(int64_t num, int64_t den, const char *term) {
  double lo, hi;
  fg_wilson95(num, den, &lo, &hi);
  json_t *r = json_pack("{s:o, s:I, s:I}", "value",
                        den > 0 ? json_real((double)num / (double)den) : json_null(), "numerator",
                        (json_int_t)num, "denominator", (json_int_t)den);
  if (r && den > 0) json_object_set_new(r, "ci95", json_pack("[f, f]", lo, hi));
  if (r && den <= 0) json_object_set_new(r, "ci95", json_null());
  if (r && term) json_object_set_new(r, "iso_19795_1", json_string(term));
  return r;
}

static json_t *group_json(const gstat *s) {
  const int64_t *o = s->outcome;
  int64_t attempted = s->encounters - o[FG_OUTCOME_OPT_OUT];
  int64_t with_face = o[FG_OUTCOME_MATCHED] + o[FG_OUTCOME_NO_MATCH] + o[FG_OUTCOME_LIVENESS_SUSPECT];
  int64_t searched = o[FG_OUTCOME_MATCHED] + o[FG_OUTCOME_NO_MATCH];
  return json_pack(
      "{s:s, s:I, s:I, s:I, s:I, s:I, s:{s:o, s:o, s:o, s:o, s:o}}", "group", s->key,
      "travellers", (json_int_t)s->travellers, "encounters", (json_int_t)s->encounters,
      "attempted", (json_int_t)attempted, "with_face", (json_int_t)with_face, "watchlist_hits",
      (json_int_t)s->wl_hits, "rates", "capture_rate",
      fg__rate_json(with_face, attempted, NULL), "ftar",
      fg__rate_json(o[FG_OUTCOME_FAILURE_TO_ACQUIRE], attempted, NULL), "match_rate",
      fg__rate_json(o[FG_OUTCOME_MATCHED], with_face, NULL), "fnir",
      fg__rate_json(o[FG_OUTCOME_NO_MATCH], searched, NULL), "watchlist_false_hit_rate",
      fg__rate_json(s->wl_false, with_face, NULL));
}

static json_t *dimension_json(grow *rows, size_t n, int dim, int64_t min, gstat *scratch) {
  if (n) qsort_r(rows, n, sizeof *rows, row_cmp, &dim);
  size_t k = aggregate(rows, n, dim, scratch);
  int64_t *members = malloc((k ? k : 1) * sizeof *members);
  uint8_t *shown = malloc(k ? k : 1);
  if (!members || !shown) {
    free(members);
    free(shown);
    return NULL;
  }
  for (size_t i = 0; i < k; i++) members[i] = scratch[i].travellers;
  size_t withheld = fg_groups_withhold(members, k, min, shown);
  for (size_t i = 0; i < k; i++) scratch[i].shown = shown[i];
  free(members);
  free(shown);
  json_t *groups = json_array();
  for (size_t i = 0; groups && i < k; i++)
    if (scratch[i].shown && json_array_append_new(groups, group_json(&scratch[i]))) {
      json_decref(groups);
      groups = NULL;
    }
  return groups ? json_pack("{s:o, s:I}", "groups", groups, "withheld_groups", (json_int_t)withheld)
                : NULL;
}

int fg__report_groups(fg_border *b, int64_t day, const fg_val *params, int np, json_t **out,
                      fg_error *err) {
  *out = NULL;
  gctx g = {.b = b, .day = day};
  int rc = fg_store_exec(b->store, np == 3 ? &FG_Q_REC_REPORT_GROUPS_PORT : &FG_Q_REC_REPORT_GROUPS,
                         params, np, row_cb, &g, err);
  gstat *scratch = rc == FG_OK ? calloc(g.n ? g.n : 1, sizeof *scratch) : NULL;
  if (rc == FG_OK && !scratch) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  int64_t min = b->policy.report_min_group;
  json_t *r = NULL;
  if (rc == FG_OK)
    r = json_pack("{s:I, s:s, s:I, s:I}", "min_travellers", (json_int_t)min, "interval",
                  "wilson95", "attributed_encounters", (json_int_t)g.n, "unattributed_encounters",
                  (json_int_t)g.unattributed);
  for (int d = 0; rc == FG_OK && d < N_DIMS; d++) {
    json_t *dj = r ? dimension_json(g.rows, g.n, d, min, scratch) : NULL;
    if (!dj || json_object_set_new(r, DIM_NAMES[d], dj))
      rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  if (g.rows) sodium_memzero(g.rows, g.cap * sizeof *g.rows);
  free(g.rows);
  free(scratch);
  if (rc != FG_OK) {
    json_decref(r);
    return rc;
  }
  *out = r;
  return FG_OK;
}
