/*
 * Retention: fg_border_purge deletes what policy says must go by now (the
 * module's clock, fg_border_now), in one transaction with one "purge.run"
 * audit event that carries the counts, per kind and per category:
 *
 *   captures, templates   gate captures and their templates, by the encounter's
 *                         category (NULL: policy.unidentified) and
 *                         capture_/template_retention; the blob becomes NULL
 *                         and *_purged_at records when;
 *   gallery_photos        staged document photos and templates of manifests
 *                         whose scheduled_at + gallery_retention has passed
 *                         (the manifest becomes 'purged');
 *   crossings             entry/exit records older than their category's
 *                         crossing_retention, or overstay_crossing_retention
 *                         for travellers who overstayed;
 *   watchlist_templates   photos and templates of removed or expired entries;
 *   encounter_records     the encounter rows themselves (who, where, when,
 *                         outcome) and their referrals and notes, once older
 *                         than the category's crossing_retention (the record
 *                         retention; unidentified: policy.unidentified's);
 *   passengers            a flight's passenger list, per traveller, once the
 *                         flight is older than the category's record retention;
 *   travellers            people (names, documents) nothing refers to any more.
 *
 * A retention of -1 keeps forever; a blob is due when at + retention <= now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "border/border_internal.h"
#include "store/sql_admin.h"
#include "store/sql_records.h"

typedef struct purge_counts {
  int64_t captures[FG_CATEGORY_COUNT + 1]; /* last: unidentified */
  int64_t templates[FG_CATEGORY_COUNT + 1];
  int64_t gallery_photos[FG_CATEGORY_COUNT + 1];
  int64_t crossings[FG_CATEGORY_COUNT + 1];
  int64_t overstayer_crossings;
  int64_t encounter_records[FG_CATEGORY_COUNT + 1];
  int64_t passengers[FG_CATEGORY_COUNT + 1];
  int64_t travellers;
  int64_t galleries;
  int64_t watchlist_templates;
} purge_counts;

static int category_index(const char *name) {
  fg_category c;
  return name && fg_category_parse(name, &c) == FG_OK ? (int)c : FG_CATEGORY_COUNT;
}

static json_t *counts_json(const int64_t *n) {
  json_t *o = json_object();
  for (int i = 0; o && i <= FG_CATEGORY_COUNT; i++) {
    const char *k = i < FG_CATEGORY_COUNT ? fg_category_name((fg_category)i) : "unidentified";
    if (json_object_set_new(o, k, json_integer(n[i]))) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

static int64_t sum(const int64_t *n) {
  int64_t s = 0;
  for (int i = 0; i <= FG_CATEGORY_COUNT; i++) s += n[i];
  return s;
}

/* Captures and templates of encounters, per category. */
static int purge_encounters(fg_border *b, int64_t now, purge_counts *pc, fg_error *err) {
  for (int i = 0; i <= FG_CATEGORY_COUNT; i++) {
    const fg_category_policy *cp =
        i < FG_CATEGORY_COUNT ? &b->policy.category[i] : &b->policy.unidentified;
    const char *cat = i < FG_CATEGORY_COUNT ? fg_category_name((fg_category)i) : NULL;
    int64_t ret[2] = {cp->capture_retention, cp->template_retention};
    const fg_query *q[2] = {cat ? &FG_Q_REC_PURGE_CAPTURES : &FG_Q_REC_PURGE_CAPTURES_UNIDENTIFIED,
                            cat ? &FG_Q_REC_PURGE_TEMPLATES
                                : &FG_Q_REC_PURGE_TEMPLATES_UNIDENTIFIED};
    int64_t *out[2] = {&pc->captures[i], &pc->templates[i]};
    for (int k = 0; k < 2; k++) {
      if (ret[k] < 0) continue;
      fg_val p[3] = {FG_V_INT(now), FG_V_TEXT(cat), FG_V_INT(now - ret[k])};
      fg_val pu[2] = {p[0], p[2]};
      int rc = cat ? fg_store_exec(b->store, q[k], p, 3, NULL, NULL, err)
                   : fg_store_exec(b->store, q[k], pu, 2, NULL, NULL, err);
      if (rc != FG_OK) return rc;
      *out[k] = fg_store_changes(b->store);
    }
  }
  return FG_OK;
}

/* Encounter rows past their category's record retention, with their referrals. */
static int purge_encounter_records(fg_border *b, int64_t now, purge_counts *pc, fg_error *err) {
  for (int i = 0; i <= FG_CATEGORY_COUNT; i++) {
    const fg_category_policy *cp =
        i < FG_CATEGORY_COUNT ? &b->policy.category[i] : &b->policy.unidentified;
    if (cp->crossing_retention < 0) continue;
    const char *cat = i < FG_CATEGORY_COUNT ? fg_category_name((fg_category)i) : NULL;
    fg_val p[2] = {FG_V_TEXT(cat), FG_V_INT(now - cp->crossing_retention)};
    const fg_val *args = cat ? p : p + 1;
    int np = cat ? 2 : 1;
    int rc = fg_store_exec(b->store,
                           cat ? &FG_Q_REC_PURGE_ENC_REFERRALS
                               : &FG_Q_REC_PURGE_ENC_REFERRALS_UNIDENTIFIED,
                           args, np, NULL, NULL, err);
    if (rc == FG_OK)
      rc = fg_store_exec(b->store,
                         cat ? &FG_Q_REC_PURGE_ENC_ROWS : &FG_Q_REC_PURGE_ENC_ROWS_UNIDENTIFIED,
                         args, np, NULL, NULL, err);
    if (rc != FG_OK) return rc;
    pc->encounter_records[i] = fg_store_changes(b->store);
  }
  return FG_OK;
}

/* Passenger lists past their record retention, then the people nothing refers
 * to any more: names and documents do not outlive the records about them. */
static int purge_people(fg_border *b, int64_t now, purge_counts *pc, fg_error *err) {
  for (int i = 0; i < FG_CATEGORY_COUNT; i++) {
    int64_t ret = b->policy.category[i].crossing_retention;
    if (ret < 0) continue;
    fg_val p[2] = {FG_V_TEXT(fg_category_name((fg_category)i)), FG_V_INT(now - ret)};
    int rc = fg_store_exec(b->store, &FG_Q_REC_PURGE_PASSENGERS, p, 2, NULL, NULL, err);
    if (rc != FG_OK) return rc;
    pc->passengers[i] = fg_store_changes(b->store);
  }
  int rc = fg_store_exec(b->store, &FG_Q_REC_PURGE_TRAVELLERS, NULL, 0, NULL, NULL, err);
  if (rc == FG_OK) pc->travellers = fg_store_changes(b->store);
  return rc;
}

static int gallery_count_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err;
  purge_counts *pc = ctx;
  if (n >= 2 && c[1].type == FG_VAL_INT)
    pc->gallery_photos[category_index(c[0].type == FG_VAL_TEXT ? c[0].s : NULL)] += c[1].i;
  return 0;
}

/* Staged galleries of flights that left long enough ago. */
static int purge_galleries(fg_border *b, int64_t now, purge_counts *pc, fg_error *err) {
  if (b->policy.gallery_retention < 0) return FG_OK;
  fg_val cut = FG_V_INT(now - b->policy.gallery_retention);
  fg_val mp[2] = {FG_V_INT(now), cut};
  int rc;
  if ((rc = fg_store_exec(b->store, &FG_Q_REC_PURGE_GALLERY_COUNT, &cut, 1, gallery_count_row, pc,
                          err)) != FG_OK ||
      (rc = fg_store_exec(b->store, &FG_Q_REC_PURGE_GALLERY_PHOTOS, &cut, 1, NULL, NULL, err)) !=
          FG_OK ||
      (rc = fg_store_exec(b->store, &FG_Q_REC_PURGE_GALLERY_PASSENGERS, &cut, 1, NULL, NULL,
                          err)) != FG_OK ||
      (rc = fg_store_exec(b->store, &FG_Q_REC_PURGE_GALLERY_MANIFESTS, mp, 2, NULL, NULL, err)) !=
          FG_OK)
    return rc;
  pc->galleries = fg_store_changes(b->store);
  return pc->galleries > 0 ? fg__border_announce(b, FG__CHANNEL_MANIFEST, 0, err) : FG_OK;
}

typedef struct due_crossings {
  fg_border *b;
  int64_t now;
  purge_counts *pc;
  int64_t *ids;
  size_t n, cap;
} due_crossings;

static int crossing_candidate(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  due_crossings *d = ctx;
  int cat = category_index(c[1].type == FG_VAL_TEXT ? c[1].s : NULL);
  int overstayer = c[3].type == FG_VAL_INT && c[3].i;
  int64_t ret = overstayer ? d->b->policy.overstay_crossing_retention
                : cat < FG_CATEGORY_COUNT ? d->b->policy.category[cat].crossing_retention
                                          : d->b->policy.unidentified.crossing_retention;
  if (ret < 0 || c[2].i + ret > d->now) return 0;
  if (d->n == d->cap) {
    size_t cap = d->cap ? 2 * d->cap : 64;
    int64_t *ids = realloc(d->ids, cap * sizeof *ids);
    if (!ids) return fg__seterr(err, FG_ENOMEM, "out of memory");
    d->ids = ids;
    d->cap = cap;
  }
  d->ids[d->n++] = c[0].i;
  d->pc->crossings[cat]++;
  d->pc->overstayer_crossings += overstayer;
  return 0;
}

/* Crossings: which are due is decided in C (per category, overstayers apart)
 * over the rows old enough for the shortest retention, then deleted by id. */
static int purge_crossings(fg_border *b, int64_t now, purge_counts *pc, fg_error *err) {
  int64_t shortest = b->policy.overstay_crossing_retention;
  for (int i = 0; i <= FG_CATEGORY_COUNT; i++) {
    int64_t r = i < FG_CATEGORY_COUNT ? b->policy.category[i].crossing_retention
                                      : b->policy.unidentified.crossing_retention;
    if (r >= 0 && (shortest < 0 || r < shortest)) shortest = r;
  }
  if (shortest < 0) return FG_OK;
  due_crossings d = {b, now, pc, NULL, 0, 0};
  fg_val p[2] = {FG_V_INT(now), FG_V_INT(now - shortest)};
  int rc = fg_store_exec(b->store, &FG_Q_REC_PURGE_CROSSING_CANDIDATES, p, 2, crossing_candidate,
                         &d, err);
  for (size_t i = 0; rc == FG_OK && i < d.n; i++) {
    fg_val id = FG_V_INT(d.ids[i]);
    rc = fg_store_exec(b->store, &FG_Q_REC_PURGE_CROSSING_DELETE, &id, 1, NULL, NULL, err);
  }
  free(d.ids);
  return rc;
}

/* The cut-offs this purge applied to records: which encounters and crossings
 * it deleted, as a rule (category and time) rather than a list of ids, so
 * that `audit verify` can tell a purged record from one deleted behind
 * facegate's back (reconcile.c). null: kept forever. */
static json_t *cutoffs_json(const fg_border *b, int64_t now) {
  json_t *enc = json_object(), *cro = json_object();
  for (int i = 0; enc && cro && i <= FG_CATEGORY_COUNT; i++) {
    const fg_category_policy *cp =
        i < FG_CATEGORY_COUNT ? &b->policy.category[i] : &b->policy.unidentified;
    const char *k = i < FG_CATEGORY_COUNT ? fg_category_name((fg_category)i) : "unidentified";
    json_t *t = cp->crossing_retention < 0 ? json_null() : json_integer(now - cp->crossing_retention);
    json_object_set(enc, k, t);
    json_object_set_new(cro, k, t);
  }
  int64_t over = b->policy.overstay_crossing_retention;
  return json_pack("{s:o, s:o, s:o}", "encounter_records", enc, "crossings", cro,
                   "overstayer_crossings", over < 0 ? json_null() : json_integer(now - over));
}

static json_t *purge_json(int64_t now, const purge_counts *pc) {
  int64_t total = sum(pc->captures) + sum(pc->templates) + sum(pc->gallery_photos) +
                  sum(pc->crossings) + pc->watchlist_templates + sum(pc->encounter_records) +
                  sum(pc->passengers) + pc->travellers;
  return json_pack("{s:o, s:o, s:o, s:o, s:I, s:o, s:I, s:o, s:o, s:I, s:I, s:I}", "at",
                   fg__json_time(now),
                   "captures", counts_json(pc->captures), "templates",
                   counts_json(pc->templates), "gallery_photos",
                   counts_json(pc->gallery_photos), "galleries", (json_int_t)pc->galleries,
                   "crossings", counts_json(pc->crossings), "overstayer_crossings",
                   (json_int_t)pc->overstayer_crossings, "encounter_records",
                   counts_json(pc->encounter_records), "passengers",
                   counts_json(pc->passengers), "travellers", (json_int_t)pc->travellers,
                   "watchlist_templates",
                   (json_int_t)pc->watchlist_templates, "total", (json_int_t)total);
}

static int purge_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n;
  json_t **out = ctx;
  json_t *detail = c[4].type == FG_VAL_TEXT && c[4].s[0] ? json_loads(c[4].s, 0, NULL) : NULL;
  *out = json_pack("{s:I, s:o, s:s, s:s, s:o}", "seq", (json_int_t)c[0].i, "at",
                   fg__json_time(c[1].i), "actor", c[2].type == FG_VAL_TEXT ? c[2].s : "", "role",
                   c[3].type == FG_VAL_TEXT ? c[3].s : "", "detail", detail ? detail : json_null());
  return *out ? 1 : fg__seterr(err, FG_ENOMEM, "out of memory");
}

int fg_border_purge_last(fg_border *b, fg_doc **out, fg_error *err) {
  if (!b || !out) return fg__seterr(err, FG_EINVAL, "purge: missing argument");
  *out = NULL;
  json_t *last = NULL;
  int rc = fg_store_exec(b->store, &FG_Q_ADM_LAST_PURGE, NULL, 0, purge_row, &last, err);
  *out = fg__doc(last);
  return rc;
}

int fg_border_purge(fg_border *b, const fg_actor *who, fg_doc **out, fg_error *err) {
  if (out) *out = NULL;
  int64_t now = fg_border_now(b);
  purge_counts pc;
  memset(&pc, 0, sizeof pc);
  json_t *j = NULL;
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  fg_val nv = FG_V_INT(now);
  if ((rc = purge_encounters(b, now, &pc, err)) != FG_OK ||
      (rc = purge_galleries(b, now, &pc, err)) != FG_OK ||
      (rc = purge_crossings(b, now, &pc, err)) != FG_OK ||
      (rc = purge_encounter_records(b, now, &pc, err)) != FG_OK ||
      (rc = purge_people(b, now, &pc, err)) != FG_OK ||
      (rc = fg_store_exec(b->store, &FG_Q_REC_PURGE_WATCHLIST_TEMPLATES, &nv, 1, NULL, NULL,
                          err)) != FG_OK)
    goto fail;
  pc.watchlist_templates = fg_store_changes(b->store);
  if (!(j = purge_json(now, &pc)) || json_object_set_new(j, "cutoffs", cutoffs_json(b, now))) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = fg__border_audit_json(b, who, "purge.run", "retention", "retention", j, err)) != FG_OK)
    goto fail;
  if ((rc = fg_store_commit(b->store, err)) != FG_OK) { /* the store rolled it back */
    json_decref(j);
    return rc;
  }
  if (json_integer_value(json_object_get(j, "total")) > 0 || pc.galleries > 0)
    fg__gallery_cache_reset(b);
  /* Make sure no copy of a deleted row lingers in the write-ahead log: on every
   * purge, not only one that deleted something, because a checkpoint that an
   * open reader blocked last time left those pages there. A reader can hold
   * it up: try for up to about 1.6 s, then say so in the result
   * ("flush": "incomplete"); the caller retries later
   * (fg_border_retention_flush; the service every second). Inside a
   * caller's transaction this waits for the next purge. */
  int state = FG_FLUSH_NONE, tries = 0;
  if (fg_store_depth(b->store) == 0) {
    for (int wait_ms = 25;; wait_ms *= 2) {
      tries++;
      if ((rc = fg_store_flush(b->store, &state, err)) != FG_OK) {
        json_decref(j);
        return rc;
      }
      if (state != FG_FLUSH_INCOMPLETE || wait_ms > 800) break;
      struct timespec ts = {0, (long)wait_ms * 1000000L};
      nanosleep(&ts, NULL);
    }
  }
  json_object_set_new(j, "flush", json_pack("{s:s, s:i}", "state", fg__flush_state_name(state),
                                            "tries", tries));
  if (out) *out = fg__doc(j);
  else json_decref(j);
  return FG_OK;
fail:
  fg_store_rollback(b->store);
  json_decref(j);
  return rc;
}

const char *fg__flush_state_name(int state) {
  return state == FG_FLUSH_DONE ? "done" : state == FG_FLUSH_INCOMPLETE ? "incomplete"
                                                                         : "not_applicable";
}

int fg_border_retention_flush(fg_border *b, const fg_actor *who, int64_t pending_since,
                              int *state, fg_error *err) {
  int st = FG_FLUSH_NONE;
  int rc = fg_store_flush(b->store, &st, err);
  if (state) *state = st;
  if (rc != FG_OK || st != FG_FLUSH_DONE || pending_since <= 0) return rc;
  /* What an earlier purge left in the log is gone now: say when. */
  return fg__border_audit_about(
      b, who, "retention.flush", "retention", 0, "retention",
      json_pack("{s:o, s:o}", "pending_since", fg__json_time(pending_since), "done_at",
                fg__json_time(fg_border_now(b))),
      err);
}
