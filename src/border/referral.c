/*
 * The officer's queue: opening a referral for an encounter (called by the
 * gate encounter), listing and showing referrals, and an officer's decision.
 *
 * A referral is opened 'open' with a reason (no_match, failure_to_acquire,
 * liveness, opt_out, watchlist, already_crossed) and, when there is one, the
 * candidate traveller. Decisions: "confirm" (identity checked by hand: a
 * manual crossing is recorded under the officer's name for the given
 * traveller or the candidate, the referral becomes 'confirmed'), "secondary"
 * (sent to secondary inspection; still undecided), "close" (no crossing) and
 * "note" (a note only). A confirmed or closed referral takes no further
 * decision (FG_ECONFLICT). Every decision names the officer and is audited
 * with the change, in one transaction.
 *
 * The summary (fg_border_referral_summary: counts, the newest id, the oldest
 * open referral's age) carries no personal data and is not audited.
 *
 * Showing a referral with images unseals the gate capture and the
 * candidate's staged document photos: a read of biometric data, audited as
 * "biometric.read" with the purpose "referral review".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "store/sql_records.h"

static const char *const REASONS[] = {"no_match",  "failure_to_acquire", "liveness",
                                      "opt_out",   "watchlist",          "already_crossed"};
static const char *const STATUSES[] = {"open", "secondary", "confirmed", "closed"};

static int one_of(const char *s, const char *const *set, size_t n) {
  for (size_t i = 0; s && i < n; i++)
    if (strcmp(s, set[i]) == 0) return 1;
  return 0;
}

/* A JSON text column parsed (quality reasons), or the text itself if it is not JSON. */
static json_t *val_json_text(const fg_val *v) {
  if (v->type != FG_VAL_TEXT) return json_null();
  json_t *j = json_loads(v->s, JSON_DECODE_ANY, NULL);
  return j ? j : json_string(v->s);
}

/* Rows of referrals (list, get), opened with the border's keys. */
typedef struct referral_rows {
  fg_border *b;
  json_t *arr;
} referral_rows;

/* The candidate's name, unsealed: "SURNAME, Given names", or null. */
static json_t *name_json(fg_border *b, int64_t id, const fg_val *sealed, fg_error *err, int *rc) {
  fg__person p;
  *rc = fg__person_open(b, id, sealed, &p, err);
  if (*rc != FG_OK || !p.surname[0]) return json_null();
  char buf[2 * FG__PERSON_NAME_MAX + 4];
  fg__person_name(&p, buf, sizeof buf);
  sodium_memzero(&p, sizeof p);
  return json_string(buf);
}

/* ---- opening ----------------------------------------------------------------------- */

int fg__open_referral(fg_border *b, const fg_actor *who, int64_t encounter_id,
                      const char *reason, int64_t traveller_id, int64_t *referral_id,
                      fg_error *err) {
  if (!one_of(reason, REASONS, sizeof REASONS / sizeof *REASONS))
    return fg__seterr(err, FG_EINVAL, "referral: unknown reason \"%s\"", reason ? reason : "");
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  fg_val p[5] = {FG_V_INT(referral_id ? *referral_id : 0), FG_V_INT(encounter_id),
                 FG_V_TEXT(reason), FG_V_INT(fg_border_now(b)),
                 traveller_id > 0 ? FG_V_INT(traveller_id) : FG_V_NULL};
  int64_t id = referral_id ? *referral_id : 0;
  if (id > 0) /* taken up front: nothing to wait for */
    rc = fg_store_exec(b->store, &FG_Q_REC_REFERRAL_INSERT_ID, p, 5, NULL, NULL, err);
  else
    rc = fg_store_exec_int(b->store, &FG_Q_REC_REFERRAL_INSERT, p + 1, 4, &id, NULL, err);
  char row[65];
  p[0] = FG_V_INT(id);
  fg__hash_referral_created(b, p, row);
  if (rc == FG_OK)
    rc = fg__border_audit_about(
        b, who, "referral.create", "referral", id, "referral",
        json_pack("{s:I, s:s, s:o, s:s}", "encounter_id", (json_int_t)encounter_id, "reason",
                  reason, "candidate_id",
                  traveller_id > 0 ? json_integer(traveller_id) : json_null(), "row", row),
        err);
  if (rc == FG_OK) rc = fg_store_commit(b->store, err);
  else fg_store_rollback(b->store);
  if (rc == FG_OK && referral_id) *referral_id = id;
  return rc;
}

/* ---- reading ----------------------------------------------------------------------- */

/* One row of REFERRAL_SELECT (sql_records.c lists the columns) as JSON. */
static int referral_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  referral_rows *rr = ctx;
  json_t *arr = rr->arr;
  int rc = FG_OK;
  json_t *candidate = c[5].type == FG_VAL_INT
                          ? json_pack("{s:o, s:o}", "id", fg__val_json(&c[5]), "name",
                                      name_json(rr->b, fg__val_int(&c[5]), &c[21], err, &rc))
                          : json_null();
  json_t *entry = c[19].type == FG_VAL_INT && c[22].type == FG_VAL_BLOB
                      ? fg__open_json(rr->b, "watchlist", "entry_sealed", fg__val_int(&c[19]), &c[22], err)
                      : NULL;
  if (c[19].type == FG_VAL_INT && c[22].type == FG_VAL_BLOB && !entry) rc = err ? err->code : FG_EFORMAT;
  if (rc != FG_OK) {
    json_decref(candidate);
    return rc;
  }
  json_t *watch = c[19].type == FG_VAL_INT
                      ? json_pack("{s:o, s:O?, s:O?, s:o, s:o}", "id", fg__val_json(&c[19]), "name",
                                  json_object_get(entry, "name"), "reason",
                                  json_object_get(entry, "reason"), "score", fg__val_json(&c[20]),
                                  "threshold", fg__val_json(&c[23]))
                      : json_null();
  json_decref(entry);
  json_t *r = json_pack(
      "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
      " s:o, s:o}",
      "id", fg__val_json(&c[0]), "reason", fg__val_json(&c[1]), "status", fg__val_json(&c[2]), "created_at",
      fg__json_time(fg__val_int(&c[3])), "encounter_id", fg__val_json(&c[4]), "manifest_id",
      fg__val_json(&c[18]), "port", fg__val_json(&c[11]), "gate", fg__val_json(&c[12]), "encounter_at",
      fg__json_time(fg__val_int(&c[13])), "outcome", fg__val_json(&c[14]), "score", fg__val_json(&c[15]),
      "threshold", fg__val_json(&c[16]), "reasons", val_json_text(&c[17]), "candidate", candidate,
      "watchlist", watch, "officer", fg__val_json(&c[6]), "decided_at",
      fg__json_time(fg__val_int(&c[7])), "resolution", fg__val_json(&c[8]), "traveller_id",
      fg__val_json(&c[9]));
  if (!r || json_object_set_new(r, "crossing_id", fg__val_json(&c[10]))) {
    json_decref(r); /* set_new took only the value */
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  if (json_array_append_new(arr, r)) return fg__seterr(err, FG_ENOMEM, "out of memory");
  return 0;
}

int fg_border_referral_list(fg_border *b, const fg_actor *who, const char *status, fg_doc **out,
                            fg_error *err) {
  return fg_border_referral_list_at(b, who, status, NULL, out, err);
}

int fg_border_referral_list_at(fg_border *b, const fg_actor *who, const char *status,
                               const char *site, fg_doc **out, fg_error *err) {
  *out = NULL;
  if (status && !one_of(status, STATUSES, sizeof STATUSES / sizeof *STATUSES))
    return fg__seterr(err, FG_EINVAL,
                      "referral status must be open, secondary, confirmed or closed, not \"%s\"",
                      status);
  if (site && *site && fg__border_text("site", site, 16, err) != FG_OK) return FG_EINVAL;
  if (site && !*site) site = NULL;
  json_t *list = json_array();
  if (!list) return fg__seterr(err, FG_ENOMEM, "out of memory");
  fg_val p[2] = {FG_V_TEXT(status), FG_V_TEXT(site)};
  referral_rows rr = {b, list};
  int rc = status ? fg_store_exec(b->store, &FG_Q_REC_REFERRAL_LIST_STATUS, p, 2, referral_row,
                                  &rr, err)
                  : fg_store_exec(b->store, &FG_Q_REC_REFERRAL_LIST, p + 1, 1, referral_row, &rr,
                                  err);
  if (rc == FG_OK) {
    json_t *d = json_pack("{s:o, s:o, s:I}", "status", status ? json_string(status) : json_null(),
                          "site", site ? json_string(site) : json_null(),
                          "count", (json_int_t)json_array_size(list));
    rc = d ? fg__border_audit_json(b, who, "referral.list", "referrals", "referral review", d, err)
           : fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(d);
  }
  if (rc != FG_OK) {
    json_decref(list);
    return rc;
  }
  *out = fg__doc(list);
  return FG_OK;
}

/* ---- the queue's summary (no personal data, not audited) ---------------------- */

typedef struct summary_ctx {
  json_t *by_status, *by_reason;
  int64_t newest, oldest_open; /* 0: none */
} summary_ctx;

static int summary_row(void *vctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  summary_ctx *s = vctx;
  if (c[0].type != FG_VAL_TEXT) return fg__seterr(err, FG_EIO, "referral summary: unexpected columns");
  if (strcmp(c[0].s, "newest") == 0) {
    s->newest = fg__val_int(&c[2]);
    return 0;
  }
  json_t *into = strcmp(c[0].s, "status") == 0 ? s->by_status : s->by_reason;
  if (c[1].type != FG_VAL_TEXT || !json_object_get(into, c[1].s)) return 0; /* not a known key */
  if (json_object_set_new(into, c[1].s, json_integer(fg__val_int(&c[2]))))
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  int64_t created = fg__val_int(&c[3]);
  if (into == s->by_reason && c[3].type == FG_VAL_INT && (!s->oldest_open || created < s->oldest_open))
    s->oldest_open = created;
  return 0;
}

int fg_border_referral_summary(fg_border *b, fg_doc **out, fg_error *err) {
  *out = NULL;
  summary_ctx s = {json_object(), json_object(), 0, 0};
  json_t *r = NULL;
  int rc = FG_OK;
  if (!s.by_status || !s.by_reason) goto oom;
  for (size_t i = 0; i < sizeof STATUSES / sizeof *STATUSES; i++)
    if (json_object_set_new(s.by_status, STATUSES[i], json_integer(0))) goto oom;
  for (size_t i = 0; i < sizeof REASONS / sizeof *REASONS; i++)
    if (json_object_set_new(s.by_reason, REASONS[i], json_integer(0))) goto oom;
  /* A plain read outside any transaction: nothing is written, no audit event. */
  if ((rc = fg_store_exec(b->store, &FG_Q_REC_REFERRAL_SUMMARY, NULL, 0, summary_row, &s, err)) !=
      FG_OK)
    goto done;
  int64_t now = fg_border_now(b);
  int64_t age = s.oldest_open && now > s.oldest_open ? now - s.oldest_open : 0;
  r = json_pack("{s:O, s:O, s:O, s:o, s:o, s:o}", "open",
                json_object_get(s.by_status, "open"), "by_status", s.by_status,
                "open_by_reason", s.by_reason, "newest_id",
                s.newest > 0 ? json_integer(s.newest) : json_null(), "oldest_open_age_s",
                s.oldest_open ? json_integer(age) : json_null(), "at", fg__json_time(now));
  if (!r) goto oom;
  *out = fg__doc(r);
  goto done;
oom:
  rc = fg__seterr(err, FG_ENOMEM, "out of memory");
done:
  json_decref(s.by_status);
  json_decref(s.by_reason);
  return rc;
}

static int encounter_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  json_t **out = ctx;
  *out = json_pack(
      "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
      " s:b, s:b, s:o, s:o}",
      "id", fg__val_json(&c[0]), "manifest_id", fg__val_json(&c[1]), "port", fg__val_json(&c[2]), "gate",
      fg__val_json(&c[3]), "at", fg__json_time(fg__val_int(&c[4])), "outcome", fg__val_json(&c[5]),
      "traveller_id", fg__val_json(&c[6]), "category", fg__val_json(&c[7]), "score", fg__val_json(&c[8]),
      "threshold", fg__val_json(&c[9]), "quality", fg__val_json(&c[10]), "quality_reasons",
      val_json_text(&c[11]), "liveness", fg__val_json(&c[12]), "watchlist_id", fg__val_json(&c[13]),
      "watchlist_score", fg__val_json(&c[14]), "actor", fg__val_json(&c[15]), "ms", fg__val_json(&c[16]),
      "has_capture", (int)fg__val_int(&c[17]), "has_template", (int)fg__val_int(&c[18]),
      "capture_purged_at", fg__json_time(fg__val_int(&c[19])), "template_purged_at",
      fg__json_time(fg__val_int(&c[20])));
  return *out ? 1 : fg__seterr(err, FG_ENOMEM, "out of memory");
}

static int note_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  referral_rows *rr = ctx;
  json_t *note = fg__open_json(rr->b, "referral_notes", "note_sealed", fg__val_int(&c[0]), &c[3], err);
  if (!note && c[3].type == FG_VAL_BLOB) return err ? err->code : FG_EFORMAT;
  json_t *x = json_pack("{s:o, s:o, s:o}", "officer", fg__val_json(&c[1]), "at",
                        fg__json_time(fg__val_int(&c[2])), "note", note ? note : json_null());
  if (!x || json_array_append_new(rr->arr, x)) return fg__seterr(err, FG_ENOMEM, "out of memory");
  return 0;
}

/* The referral with "encounter" and "notes" (no images, not audited). */
static int load_referral(fg_border *b, int64_t id, json_t **out, fg_error *err) {
  *out = NULL;
  json_t *arr = json_array(), *enc = NULL, *notes = json_array();
  int rc = FG_OK;
  fg_val p = FG_V_INT(id);
  if (!arr || !notes) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto done;
  }
  referral_rows rr = {b, arr}, nr = {b, notes};
  if ((rc = fg_store_exec(b->store, &FG_Q_REC_REFERRAL_GET, &p, 1, referral_row, &rr, err)) !=
      FG_OK)
    goto done;
  json_t *r = json_array_get(arr, 0);
  if (!r) {
    rc = fg__seterr(err, FG_ENOTFOUND, "no referral %lld", (long long)id);
    goto done;
  }
  fg_val e = FG_V_INT(json_integer_value(json_object_get(r, "encounter_id")));
  if ((rc = fg_store_exec(b->store, &FG_Q_REC_ENCOUNTER_GET, &e, 1, encounter_row, &enc, err)) !=
          FG_OK ||
      (rc = fg_store_exec(b->store, &FG_Q_REC_REFERRAL_NOTES, &p, 1, note_row, &nr, err)) !=
          FG_OK)
    goto done;
  if (json_object_set(r, "encounter", enc ? enc : json_null()) ||
      json_object_set(r, "notes", notes)) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto done;
  }
  *out = json_incref(r);
done:
  json_decref(arr);
  json_decref(enc);
  json_decref(notes);
  return rc;
}

/* A sealed blob copied out of a row (values live only during the callback). */
typedef struct blob_row {
  int64_t id, purged_at;
  uint8_t *p;
  size_t n;
} blob_row;

static int capture_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  blob_row *r = ctx;
  r->purged_at = fg__val_int(&c[1]);
  if (c[0].type == FG_VAL_BLOB && c[0].n) {
    if (!(r->p = malloc(c[0].n))) return fg__seterr(err, FG_ENOMEM, "out of memory");
    memcpy(r->p, c[0].b, c[0].n);
    r->n = c[0].n;
  }
  return 1;
}

typedef struct blob_list {
  blob_row *rows;
  size_t n, cap;
} blob_list;

static int photo_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  (void)n; /* the column count is the query's ncols, checked when prepared */
  blob_list *l = ctx;
  if (c[1].type != FG_VAL_BLOB) return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 4;
    blob_row *rows = realloc(l->rows, cap * sizeof *rows);
    if (!rows) return fg__seterr(err, FG_ENOMEM, "out of memory");
    l->rows = rows;
    l->cap = cap;
  }
  blob_row *r = &l->rows[l->n];
  memset(r, 0, sizeof *r);
  r->id = fg__val_int(&c[0]);
  if (!(r->p = malloc(c[1].n ? c[1].n : 1))) return fg__seterr(err, FG_ENOMEM, "out of memory");
  memcpy(r->p, c[1].b, c[1].n);
  r->n = c[1].n;
  l->n++;
  return 0;
}

static void blob_list_free(blob_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->rows[i].p);
  free(l->rows);
  memset(l, 0, sizeof *l);
}

/* Unseal (table.column, id) into a base64 JSON string of the image as a
 * browser shows it (display.c); with face, also the capture's face region
 * (*face NULL when none is found). The plaintext is wiped. */
static int unseal_display(fg_border *b, const char *table, const char *column, int64_t id,
                          const uint8_t *sealed, size_t n, json_t **out, json_t **face,
                          fg_error *err) {
  uint8_t *plain = NULL, *shown = NULL;
  size_t pn = 0, sn = 0;
  *out = NULL;
  if (face) *face = NULL;
  int rc = fg__border_unseal(b, table, column, id, sealed, n, &plain, &pn, err);
  if (rc != FG_OK) return rc;
  rc = fg__display_image(plain, pn, &shown, &sn, err);
  if (rc == FG_OK && !(*out = fg__base64_json(shown, sn)))
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  if (rc == FG_OK && face) {
    /* A capture the detector cannot read is still shown whole. */
    fg_error ferr;
    if (fg__display_face_region(b, plain, pn, face, &ferr) != FG_OK) *face = NULL;
  }
  if (shown) sodium_memzero(shown, sn);
  free(shown);
  sodium_memzero(plain, pn);
  free(plain);
  return rc;
}

/* Every image of a blob list, unsealed for display, appended to arr. */
static int add_photos(fg_border *b, const char *table, const blob_list *l, json_t *arr,
                      fg_error *err) {
  int rc = FG_OK;
  for (size_t i = 0; rc == FG_OK && i < l->n; i++) {
    json_t *one = NULL;
    rc = unseal_display(b, table, "image_sealed", l->rows[i].id, l->rows[i].p, l->rows[i].n, &one,
                        NULL, err);
    if (rc == FG_OK && json_array_append_new(arr, one))
      rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  return rc;
}

/* The staged document photos of traveller tid on manifest mid, for display. */
static int document_photos(fg_border *b, int64_t mid, int64_t tid, json_t *arr, size_t *n,
                           fg_error *err) {
  blob_list photos = {0};
  fg_val p[2] = {FG_V_INT(mid), FG_V_INT(tid)};
  int rc = fg_store_exec(b->store, &FG_Q_REC_DOCUMENT_PHOTOS, p, 2, photo_cb, &photos, err);
  if (rc == FG_OK) rc = add_photos(b, "photos", &photos, arr, err);
  *n = photos.n;
  blob_list_free(&photos);
  return rc;
}

/* Is the referral's candidate someone to propose? The gate matched them, or
 * (opt-out, failure to acquire) they hold the document presented. After a
 * no-match the candidate column names the nearest passenger, whom nothing
 * confirmed, and an officer must not be offered them. scored: the encounter
 * has a score and a threshold. */
static int candidate_matched(const char *reason, int scored, double score, double threshold) {
  return reason && strcmp(reason, "no_match") != 0 && (!scored || score >= threshold);
}

static int json_candidate_matched(const json_t *r) {
  const json_t *s = json_object_get(r, "score"), *t = json_object_get(r, "threshold");
  return candidate_matched(json_string_value(json_object_get(r, "reason")),
                           json_is_number(s) && json_is_number(t), json_number_value(s),
                           json_number_value(t));
}

/* Add "capture" (+ "capture_face", "capture_purged_at"), "document_photos"
 * (the matched candidate's only) and the watchlist entry's "photos" to r. */
static int add_images(fg_border *b, json_t *r, int *n_capture, size_t *n_photos, size_t *n_watch,
                      fg_error *err) {
  json_t *enc = json_object_get(r, "encounter");
  int64_t eid = json_integer_value(json_object_get(r, "encounter_id"));
  int64_t mid = json_integer_value(json_object_get(enc, "manifest_id"));
  int64_t cid = json_integer_value(json_object_get(json_object_get(r, "candidate"), "id"));
  json_t *watch = json_object_get(r, "watchlist");
  int64_t wid = json_integer_value(json_object_get(watch, "id"));
  blob_row cap = {0};
  blob_list wl = {0};
  size_t n_docs = 0;
  json_t *capture = NULL, *face = NULL, *docs = json_array(), *wphotos = json_array();
  fg_val e = FG_V_INT(eid);
  int rc = docs && wphotos ? fg_store_exec(b->store, &FG_Q_REC_ENCOUNTER_CAPTURE, &e, 1,
                                           capture_cb, &cap, err)
                           : fg__seterr(err, FG_ENOMEM, "out of memory");
  if (rc == FG_OK && mid > 0 && cid > 0 && json_candidate_matched(r))
    rc = document_photos(b, mid, cid, docs, &n_docs, err);
  if (rc == FG_OK && cap.p)
    rc = unseal_display(b, "encounters", "capture_sealed", eid, cap.p, cap.n, &capture, &face,
                        err);
  if (rc == FG_OK && wid > 0) {
    fg_val w = FG_V_INT(wid);
    rc = fg_store_exec(b->store, &FG_Q_REC_WATCHLIST_PHOTOS, &w, 1, photo_cb, &wl, err);
    if (rc == FG_OK) rc = add_photos(b, "watchlist_templates", &wl, wphotos, err);
  }
  if (rc == FG_OK &&
      (json_object_set_new(r, "capture", capture ? capture : json_null()) ||
       json_object_set_new(r, "capture_face", face ? face : json_null()) ||
       json_object_set_new(r, "capture_purged_at", fg__json_time(cap.purged_at)) ||
       json_object_set(r, "document_photos", docs) ||
       (json_is_object(watch) && json_object_set(watch, "photos", wphotos))))
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  else if (rc != FG_OK) {
    json_decref(capture);
    json_decref(face);
  }
  *n_capture = cap.p != NULL;
  *n_photos = n_docs;
  *n_watch = wl.n;
  free(cap.p);
  blob_list_free(&wl);
  json_decref(docs);
  json_decref(wphotos);
  return rc;
}

int fg_border_referral_show(fg_border *b, const fg_actor *who, int64_t id, int images,
                            fg_doc **out, fg_error *err) {
  *out = NULL;
  json_t *r = NULL;
  int rc = load_referral(b, id, &r, err);
  if (rc != FG_OK) return rc;
  char object[48];
  snprintf(object, sizeof object, "referral:%lld", (long long)id);
  /* The images are unsealed, decoded and the face found before the audit
   * event's transaction: that work must not hold the store's writer lock. */
  int n_capture = 0;
  size_t n_photos = 0, n_watch = 0;
  if (images && (rc = add_images(b, r, &n_capture, &n_photos, &n_watch, err)) != FG_OK) goto fail;
  if ((rc = fg_store_begin(b->store, err)) != FG_OK) goto fail;
  if (images) {
    json_t *d = json_pack("{s:I, s:b, s:I, s:I}", "encounter_id",
                          json_integer_value(json_object_get(r, "encounter_id")), "capture",
                          n_capture, "document_photos", (json_int_t)n_photos, "watchlist_photos",
                          (json_int_t)n_watch);
    rc = d ? fg__border_audit_json(b, who, "biometric.read", object, "referral review", d, err)
           : fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(d);
  } else {
    rc = fg__border_audit(b, who, "referral.read", object, "referral review", NULL, err);
  }
  if (rc == FG_OK) rc = fg_store_commit(b->store, err);
  else fg_store_rollback(b->store);
  if (rc != FG_OK) goto fail;
  *out = fg__doc(r);
  return FG_OK;
fail:
  json_decref(r);
  return rc;
}

/* Copies a 16-byte text column (defined with the deciding code below). */
static int category_row(void *ctx, const fg_val *c, int n, fg_error *err);

/* The passenger's status on manifest mid ("" when not on it). */
static int passenger_status(fg_border *b, int64_t mid, int64_t tid, char status[16],
                            fg_error *err) {
  status[0] = '\0';
  fg_val p[2] = {FG_V_INT(mid), FG_V_INT(tid)};
  return fg_store_exec(b->store, &FG_Q_REC_PASSENGER_STATUS, p, 2, category_row, status, err);
}

int fg_border_referral_document_photos(fg_border *b, const fg_actor *who, int64_t id,
                                       int64_t traveller_id, fg_doc **out, fg_error *err) {
  *out = NULL;
  if (traveller_id <= 0)
    return fg__seterr(err, FG_EINVAL, "referral %lld: which traveller's document photos?",
                      (long long)id);
  json_t *r = NULL, *photos = json_array();
  int rc = photos ? load_referral(b, id, &r, err) : fg__seterr(err, FG_ENOMEM, "out of memory");
  int64_t mid = json_integer_value(json_object_get(json_object_get(r, "encounter"), "manifest_id"));
  char status[16] = "";
  size_t n = 0;
  if (rc == FG_OK && mid <= 0)
    rc = fg__seterr(err, FG_ENOTFOUND, "referral %lld: its encounter has no flight", (long long)id);
  if (rc == FG_OK) rc = passenger_status(b, mid, traveller_id, status, err);
  if (rc == FG_OK && !status[0])
    rc = fg__seterr(err, FG_ENOTFOUND, "traveller %lld is not a passenger of referral %lld's flight",
                    (long long)traveller_id, (long long)id);
  if (rc == FG_OK) rc = document_photos(b, mid, traveller_id, photos, &n, err);
  if (rc == FG_OK && (rc = fg_store_begin(b->store, err)) == FG_OK) {
    char object[48];
    snprintf(object, sizeof object, "referral:%lld", (long long)id);
    json_t *d = json_pack("{s:I, s:I}", "traveller_id", (json_int_t)traveller_id,
                          "document_photos", (json_int_t)n);
    rc = d ? fg__border_audit_json(b, who, "biometric.read", object, "referral review", d, err)
           : fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(d);
    if (rc == FG_OK) rc = fg_store_commit(b->store, err);
    else fg_store_rollback(b->store);
  }
  if (rc == FG_OK && !(*out = fg__doc(json_pack("{s:I, s:I, s:s, s:O}", "referral_id", (json_int_t)id,
                                        "traveller_id", (json_int_t)traveller_id,
                                        "passenger_status", status, "photos", photos))))
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  json_decref(r);
  json_decref(photos);
  return rc;
}

/* ---- deciding ------------------------------------------------------------------------ */

typedef struct referral_state {
  char status[16], reason[24];
  int64_t encounter_id, candidate_id;
  int matched; /* the candidate is one to propose (candidate_matched) */
} referral_state;

static int state_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err; /* the column count is the query's ncols, checked when prepared */
  referral_state *s = ctx;
  snprintf(s->status, sizeof s->status, "%s", c[2].type == FG_VAL_TEXT ? c[2].s : "");
  snprintf(s->reason, sizeof s->reason, "%s", c[1].type == FG_VAL_TEXT ? c[1].s : "");
  s->encounter_id = fg__val_int(&c[4]);
  s->candidate_id = fg__val_int(&c[5]);
  s->matched = s->candidate_id > 0 &&
               candidate_matched(s->reason, c[15].type == FG_VAL_REAL && c[16].type == FG_VAL_REAL,
                                 c[15].type == FG_VAL_REAL ? c[15].r : 0,
                                 c[16].type == FG_VAL_REAL ? c[16].r : 0);
  return 1;
}

typedef struct encounter_place {
  int64_t manifest_id;
  char port[64];
  char direction[16];
} encounter_place;

static int place_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err; /* the column count is the query's ncols, checked when prepared */
  encounter_place *pl = ctx;
  pl->manifest_id = fg__val_int(&c[1]);
  snprintf(pl->port, sizeof pl->port, "%s", c[2].type == FG_VAL_TEXT ? c[2].s : "");
  return 1;
}

static int direction_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err;
  encounter_place *pl = ctx;
  if (n > 0 && c[0].type == FG_VAL_TEXT) snprintf(pl->direction, sizeof pl->direction, "%s", c[0].s);
  return 1;
}

static int category_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err;
  if (n > 0 && c[0].type == FG_VAL_TEXT) snprintf((char *)ctx, 16, "%s", c[0].s);
  return 1;
}

/* "confirm": the manual crossing, the referral confirmed, the encounter
 * attributed to the traveller (its retention is now their category's) and
 * the passenger marked 'manual' when on the manifest. */
static int confirm(fg_border *b, const fg_actor *officer, int64_t id, const referral_state *s,
                   int64_t traveller_id, int64_t now, int64_t *crossing_id, char category[16],
                   fg_error *err) {
  encounter_place pl = {0};
  fg_val e = FG_V_INT(s->encounter_id);
  int rc = fg_store_exec(b->store, &FG_Q_REC_ENCOUNTER_GET, &e, 1, place_row, &pl, err);
  if (rc != FG_OK) return rc;
  if (pl.manifest_id <= 0)
    return fg__seterr(err, FG_ECONFLICT,
                      "referral %lld: its encounter has no manifest, so no direction to record",
                      (long long)id);
  fg_val m = FG_V_INT(pl.manifest_id);
  if ((rc = fg_store_exec(b->store, &FG_Q_REC_MANIFEST_DIRECTION, &m, 1, direction_row, &pl,
                          err)) != FG_OK)
    return rc;
  if (!pl.direction[0])
    return fg__seterr(err, FG_ENOTFOUND, "referral %lld: no manifest %lld", (long long)id,
                      (long long)pl.manifest_id);
  /* A passenger who already crossed on this flight cannot cross again by hand. */
  char pst[16];
  if ((rc = passenger_status(b, pl.manifest_id, traveller_id, pst, err)) != FG_OK) return rc;
  if (strcmp(pst, "crossed") == 0 || strcmp(pst, "manual") == 0)
    return fg__seterr(err, FG_ECONFLICT,
                      "referral %lld: traveller %lld has already crossed on this flight (%s)",
                      (long long)id, (long long)traveller_id, pst);
  fg_val mt[2] = {FG_V_INT(pl.manifest_id), FG_V_INT(traveller_id)};
  int64_t admitted = 0;
  if ((rc = fg_store_exec_int(b->store, &FG_Q_REC_PASSENGER_ADMITTED, mt, 2, &admitted, NULL,
                              err)) != FG_OK)
    return rc;
  if ((rc = fg__record_crossing(b, officer, traveller_id, pl.direction, now,
                                pl.port[0] ? pl.port : NULL, pl.manifest_id, s->encounter_id,
                                "manual", officer->name, admitted, NULL, crossing_id, err)) != FG_OK)
    return rc;
  category[0] = '\0';
  fg_val t = FG_V_INT(traveller_id);
  if ((rc = fg_store_exec(b->store, &FG_Q_REC_TRAVELLER_CATEGORY, &t, 1, category_row, category,
                          err)) != FG_OK)
    return rc;
  fg_val ident[3] = {t, FG_V_TEXT(category), e};
  fg_val conf[5] = {FG_V_TEXT(officer->name), FG_V_INT(now), t, FG_V_INT(*crossing_id),
                    FG_V_INT(id)};
  if ((rc = fg_store_exec(b->store, &FG_Q_REC_ENCOUNTER_IDENTIFY, ident, 3, NULL, NULL, err)) !=
          FG_OK ||
      (rc = fg_store_exec(b->store, &FG_Q_REC_REFERRAL_CONFIRM, conf, 5, NULL, NULL, err)) !=
          FG_OK)
    return rc;
  return fg_store_exec(b->store, &FG_Q_REC_PASSENGER_MANUAL, mt, 2, NULL, NULL, err);
}

int fg_border_referral_decide(fg_border *b, const fg_actor *officer, int64_t id,
                              const char *decision, int64_t traveller_id, const char *note,
                              fg_doc **out, fg_error *err) {
  if (out) *out = NULL;
  if (!officer || !officer->name || !officer->name[0])
    return fg__seterr(err, FG_EINVAL, "referral decision: the officer's name is required");
  static const char *const DECISIONS[] = {"confirm", "secondary", "close", "note"};
  if (!one_of(decision, DECISIONS, 4))
    return fg__seterr(err, FG_EINVAL,
                      "referral decision must be confirm, secondary, close or note, not \"%s\"",
                      decision ? decision : "");
  int trc = fg__border_text("referral decision: note", note, 4096, err);
  if (trc != FG_OK) return trc;
  int is_note = strcmp(decision, "note") == 0;
  if (is_note && (!note || !note[0]))
    return fg__seterr(err, FG_EINVAL, "referral decision \"note\" needs a note");

  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  referral_state s = {0};
  fg_val p = FG_V_INT(id);
  int64_t now = fg_border_now(b), crossing_id = 0, who_id = 0;
  char category[16] = "", state[65] = "";
  if ((rc = fg_store_exec(b->store, &FG_Q_REC_REFERRAL_GET, &p, 1, state_row, &s, err)) != FG_OK)
    goto fail;
  if (!s.status[0]) {
    rc = fg__seterr(err, FG_ENOTFOUND, "no referral %lld", (long long)id);
    goto fail;
  }
  if (strcmp(s.status, "confirmed") == 0 || strcmp(s.status, "closed") == 0) {
    rc = fg__seterr(err, FG_ECONFLICT, "referral %lld is already %s", (long long)id, s.status);
    goto fail;
  }
  if (strcmp(decision, "confirm") == 0) {
    /* Without a traveller named, only a candidate to propose is meant (the
     * gate matched them, or they hold the document presented): after a
     * no-match the candidate column holds the nearest passenger, whom nobody
     * confirmed. */
    who_id = traveller_id > 0 ? traveller_id : s.matched ? s.candidate_id : 0;
    if (who_id <= 0) {
      rc = fg__seterr(err, FG_EINVAL,
                      "referral %lld proposes nobody (no match): confirm needs the id of the "
                      "traveller whose document was checked",
                      (long long)id);
      goto fail;
    }
    if ((rc = confirm(b, officer, id, &s, who_id, now, &crossing_id, category, err)) != FG_OK)
      goto fail;
  } else if (!is_note) {
    const char *status = strcmp(decision, "secondary") == 0 ? "secondary" : "closed";
    fg_val u[5] = {FG_V_TEXT(status), FG_V_TEXT(officer->name), FG_V_INT(now),
                   FG_V_TEXT(decision), p};
    if ((rc = fg_store_exec(b->store, &FG_Q_REC_REFERRAL_DECIDE, u, 5, NULL, NULL, err)) != FG_OK)
      goto fail;
  }
  if (note && note[0]) { /* sealed to its row, like the people it may name */
    fg_val nv[3] = {p, FG_V_TEXT(officer->name), FG_V_INT(now)};
    int64_t note_id = 0;
    uint8_t *sealed = NULL;
    size_t sn = 0;
    json_t *text = json_string(note);
    if ((rc = fg_store_exec_int(b->store, &FG_Q_REC_REFERRAL_NOTE_INSERT, nv, 3, &note_id, NULL,
                                err)) == FG_OK)
      rc = text ? fg__seal_json(b, "referral_notes", "note_sealed", note_id, text, &sealed, &sn, err)
                : fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(text);
    if (rc == FG_OK) {
      fg_val sv[2] = {FG_V_BLOB(sealed, sn), FG_V_INT(note_id)};
      rc = fg_store_exec(b->store, &FG_Q_REC_REFERRAL_NOTE_SEAL, sv, 2, NULL, NULL, err);
    }
    free(sealed);
    if (rc != FG_OK) goto fail;
  }
  /* The referral's state as stored now, for `audit verify` (reconcile.c). */
  if ((rc = fg__referral_state_hash(b, id, state, err)) != FG_OK) goto fail;
  rc = fg__border_audit_about(
      b, officer, "referral.decide", "referral", id, "referral decision",
      json_pack("{s:s, s:s, s:s, s:o, s:o, s:b, s:o, s:s}", "decision", decision, "officer",
                officer->name, "previous_status", s.status, "traveller_id",
                who_id > 0 ? json_integer(who_id) : json_null(), "crossing_id",
                crossing_id > 0 ? json_integer(crossing_id) : json_null(), "note", note && note[0],
                "category", category[0] ? json_string(category) : json_null(), "state", state),
      err);
  if (rc != FG_OK) goto fail;
  if ((rc = fg_store_commit(b->store, err)) != FG_OK) return rc;
  if (!out) return FG_OK;
  json_t *r = NULL;
  rc = load_referral(b, id, &r, err);
  *out = fg__doc(r);
  return rc;
fail:
  fg_store_rollback(b->store);
  return rc;
}
