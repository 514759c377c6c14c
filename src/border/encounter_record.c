/*
 * The gate encounter's transaction: decide the outcome and write it, durably
 * and at once (encounter.c did the slow part before: the face, the searches).
 *
 * It costs two round trips to the database whatever the outcome:
 *
 *   1. one read batch, right after taking the writer lock: the manifest again
 *      (closed meanwhile?), the idempotency key again (did a retry win?), the
 *      candidate's and the document holder's passenger rows, the gate's run
 *      of failures to acquire, the candidate's open entry (exit flights), the
 *      audit chain's tail, and the ids the new rows will have;
 *   2. the writes — the encounter with its sealed capture and template (the
 *      seal is bound to the id taken in 1), the crossing, the referral, the
 *      passenger's status, the audit events, the key's first outcome — sent
 *      with the commit.
 *
 * On SQLite both are function calls in process. The decision table is in
 * docs/encounters.md; docs/deployment.md says what the two round trips are
 * worth on PostgreSQL.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/encounter_internal.h"
#include "store/sql_encounter.h"
#include "store/sql_records.h"

/* Referral reasons by priority, highest first. */
static const char *const REFERRAL_ORDER[] = {"watchlist", "liveness", "already_crossed",
                                             "no_match", "failure_to_acquire", "opt_out"};

static int referral_rank(const char *reason) {
  for (int i = 0; i < (int)(sizeof REFERRAL_ORDER / sizeof *REFERRAL_ORDER); i++)
    if (strcmp(reason, REFERRAL_ORDER[i]) == 0) return i;
  return 99;
}

/* Ask for a referral; the one of highest priority wins. */
static void want_referral(fg__enc *c, const char *reason, int64_t candidate) {
  if (!c->referral || referral_rank(reason) < referral_rank(c->referral)) {
    c->referral = reason;
    c->referral_candidate = candidate;
  }
}

/* ---- 1: everything the decision needs, in one read batch -------------------- */

typedef struct prefetch {
  fg__manifest_row m;
  fg__key_row key;
  fg__passenger_row cand, holder;
  int64_t fta_run, open_entry;
  int64_t enc_id, crossing_id, referral_id; /* 0: not taken */
} prefetch;

/* Will this encounter certainly (or very likely) open a referral? Then its id
 * is taken up front; a referral decided otherwise (already crossed, the n-th
 * failure to acquire) is inserted the slower way, with one more round trip. */
static int referral_likely(const fg__enc *c) {
  const fg_policy *p = &c->b->policy;
  int live_suspect = p->liveness_min > 0 && !isnan(c->r->liveness) && c->r->liveness < p->liveness_min;
  return c->rq->opt_out || c->r->watchlist_id > 0 || live_suspect ||
         (c->acquired && c->candidate == 0);
}

static int read_all(fg__enc *c, prefetch *p, fg_error *err) {
  fg_border *b = c->b;
  const fg_encounter_request *rq = c->rq;
  int64_t cand = c->candidate;
  memset(p, 0, sizeof *p);
  fg_store_batch_begin(b->store);
  int rc = fg__enc_read_manifest(b, rq->manifest_id, &p->m, err);
  if (rc == FG_OK && rq->key) rc = fg__encounter_key_read(b, c->who, rq->key, &p->key, err);
  if (rc == FG_OK && cand > 0) rc = fg__enc_read_passenger(b, rq->manifest_id, cand, &p->cand, err);
  if (rc == FG_OK && c->holder > 0 && c->holder != cand)
    rc = fg__enc_read_passenger(b, rq->manifest_id, c->holder, &p->holder, err);
  if (rc == FG_OK && !rq->opt_out && !c->acquired) {
    fg_val v[4] = {FG_V_TEXT(c->m.port), FG_V_TEXT(rq->gate), FG_V_TEXT(c->m.port),
                   FG_V_TEXT(rq->gate)};
    rc = fg_store_exec_int(b->store, &FG_Q_ENC_FTA_RUN, v, 4, &p->fta_run, NULL, err);
  }
  if (rc == FG_OK && cand > 0 && !rq->opt_out && strcmp(c->m.direction, "exit") == 0) {
    fg_val t = FG_V_INT(cand);
    rc = fg_store_exec_int(b->store, &FG_Q_REC_OPEN_ENTRY, &t, 1, &p->open_entry, NULL, err);
  }
  if (rc == FG_OK) rc = fg_store_next_id(b->store, "encounters", &p->enc_id, err);
  if (rc == FG_OK && cand > 0 && !rq->opt_out)
    rc = fg_store_next_id(b->store, "crossings", &p->crossing_id, err);
  if (rc == FG_OK && referral_likely(c))
    rc = fg_store_next_id(b->store, "referrals", &p->referral_id, err);
  if (rc == FG_OK) rc = fg__border_audit_prefetch(b, err);
  fg_error run_err;
  int run = fg_store_batch_run(b->store, rc == FG_OK ? err : &run_err);
  return rc != FG_OK ? rc : run;
}

/* The passenger row read for traveller id (the candidate's or the holder's). */
static const fg__passenger_row *row_of(const fg__enc *c, const prefetch *p, int64_t id) {
  static const fg__passenger_row none = {0};
  if (id > 0 && id == c->candidate) return &p->cand;
  if (id > 0 && id == c->holder) return &p->holder;
  return &none;
}

/* ---- the decision -------------------------------------------------------------- */

static void decide(fg__enc *c, const prefetch *p) {
  fg_border *b = c->b;
  fg_encounter_result *r = c->r;
  const fg_encounter_request *rq = c->rq;

  if (rq->opt_out) {
    c->pax = *row_of(c, p, c->holder);
    r->outcome = FG_OUTCOME_OPT_OUT;
    r->traveller_id = c->enc_traveller = c->holder;
    snprintf(r->traveller_name, sizeof r->traveller_name, "%s", c->pax.name);
    c->category = fg_category_name(c->pax.category);
    want_referral(c, "opt_out", c->holder);
    return;
  }

  if (c->r->watchlist_id > 0) want_referral(c, "watchlist", 0);

  if (!c->acquired) {
    r->outcome = FG_OUTCOME_FAILURE_TO_ACQUIRE;
    r->tries = (int)p->fta_run + 1;
    if (r->tries >= b->policy.fta_max_tries) want_referral(c, "failure_to_acquire", c->holder);
    return;
  }

  int live_suspect = b->policy.liveness_min > 0 && !isnan(r->liveness) &&
                     r->liveness < b->policy.liveness_min;
  if (live_suspect) {
    r->outcome = FG_OUTCOME_LIVENESS_SUSPECT;
    want_referral(c, "liveness", c->candidate);
  }

  int64_t cand = c->candidate;
  if (cand > 0 && rq->document && *rq->document && c->holder != cand) cand = 0; /* someone else's document */
  if (cand > 0) {
    c->pax = p->cand;
    if (!c->pax.found) cand = 0; /* left the manifest since the gallery was cached */
  }
  if (cand == 0) {
    if (!live_suspect) r->outcome = FG_OUTCOME_NO_MATCH;
    want_referral(c, "no_match", c->nearest);
    return;
  }
  if (live_suspect) return; /* a candidate, but not one to act on */
  r->outcome = FG_OUTCOME_MATCHED;
  r->traveller_id = c->enc_traveller = cand;
  snprintf(r->traveller_name, sizeof r->traveller_name, "%s", c->pax.name);
  c->category = fg_category_name(c->pax.category);
  if (c->r->watchlist_id > 0) c->referral_candidate = cand;
  if (strcmp(c->pax.status, "crossed") == 0) want_referral(c, "already_crossed", cand);
  c->cross = c->referral == NULL;
}

/* ---- 2: the writes ------------------------------------------------------------- */

/* Quality reasons as a JSON array of their names (text, malloc'd). */
static char *reasons_json(unsigned bits) {
  json_t *a = json_array();
  if (!a) return NULL;
  for (unsigned i = 0; i < FG_QUALITY_REASON_COUNT; i++)
    if (bits & (1u << i)) json_array_append_new(a, json_string(fg_quality_reason_name(1u << i)));
  char *s = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  return s;
}

static fg_val real_or_null(float x) { return isnan(x) ? FG_V_NULL : FG_V_REAL(x); }
static fg_val id_or_null(int64_t x) { return x > 0 ? FG_V_INT(x) : FG_V_NULL; }

static int audit_searches(fg__enc *c, fg_error *err) {
  fg_border *b = c->b;
  int rc = FG_OK;
  if (c->searched) {
    rc = fg__border_audit_about(
        b, c->who, "gallery.search", "manifest", c->rq->manifest_id, "border control",
        json_pack("{s:I,s:o,s:f}", "gallery_templates", (json_int_t)c->flight_templates,
                  "best_score", isnan(c->r->score) ? json_null() : json_real(c->r->score),
                  "threshold", (double)c->r->threshold),
        err);
    if (rc != FG_OK) return rc;
  }
  if (c->wl_searched) {
    json_t *d = json_pack("{s:I,s:o,s:f,s:b,s:b}", "gallery_templates", (json_int_t)c->wl_templates,
                          "best_score", isnan(c->wl_best) ? json_null() : json_real(c->wl_best),
                          "threshold", (double)c->wl_threshold, "harsh_light", c->wl_harsh,
                          "hit", c->r->watchlist_id > 0);
    if (!d) return fg__seterr(err, FG_ENOMEM, "out of memory");
    rc = fg__border_audit_json(b, c->who, "watchlist.search", "watchlist", "border control", d,
                               err);
    json_decref(d);
  }
  return rc;
}

static int audit_encounter(fg__enc *c, fg_error *err) {
  fg_encounter_result *r = c->r;
  json_t *d = json_pack("{s:s,s:I,s:s}", "outcome", fg_outcome_name(r->outcome), "manifest_id",
                        (json_int_t)c->rq->manifest_id, "gate", c->rq->gate);
  if (!d) return fg__seterr(err, FG_ENOMEM, "out of memory");
  if (r->traveller_id > 0) json_object_set_new(d, "traveller_id", json_integer(r->traveller_id));
  if (r->crossing_id > 0) json_object_set_new(d, "crossing_id", json_integer(r->crossing_id));
  if (r->referral_id > 0) {
    json_object_set_new(d, "referral_id", json_integer(r->referral_id));
    json_object_set_new(d, "referral", json_string(r->referral_reason));
  }
  if (r->watchlist_id > 0) json_object_set_new(d, "watchlist_id", json_integer(r->watchlist_id));
  /* What `audit verify` reconciles the row against (reconcile.c). */
  json_object_set_new(d, "category", c->category ? json_string(c->category) : json_null());
  json_object_set_new(d, "at", json_integer(c->at));
  json_object_set_new(d, "row", json_string(c->row_hash));
  return fg__border_audit_about(c->b, c->who, "encounter.create", "encounter", r->encounter_id,
                                "border control", d, err);
}

/* The encounter's row, its capture and template sealed to its id. */
static int insert_encounter(fg__enc *c, int64_t at, fg_error *err) {
  fg_border *b = c->b;
  fg_encounter_result *r = c->r;
  const fg_encounter_request *rq = c->rq;
  uint8_t *cap = NULL, *tpl = NULL, *tpl_sealed = NULL;
  size_t cap_n = 0, tpl_n = 0, tpl_sealed_n = 0;
  char *reasons = NULL;
  int rc = FG_OK;
  if (!rq->opt_out) {
    rc = fg__border_seal(b, "encounters", "capture_sealed", r->encounter_id, rq->image,
                         rq->image_len, &cap, &cap_n, err);
    if (rc == FG_OK && c->have_face) {
      rc = fg__border_template_capture(b, c->emb, c->dim, c->harsh ? FG_TEMPLATE_CAPTURE_HARSH_LIGHT : 0, &tpl,
                                       &tpl_n, err);
      if (rc == FG_OK)
        rc = fg__border_seal(b, "encounters", "template_sealed", r->encounter_id, tpl, tpl_n,
                             &tpl_sealed, &tpl_sealed_n, err);
    }
    if (rc == FG_OK && r->quality_reasons && !(reasons = reasons_json(r->quality_reasons)))
      rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  if (rc == FG_OK) {
    fg_val v[20] = {FG_V_INT(r->encounter_id),
                    FG_V_INT(rq->manifest_id),
                    FG_V_TEXT(c->m.port),
                    FG_V_TEXT(rq->gate),
                    FG_V_INT(at),
                    FG_V_TEXT(fg_outcome_name(r->outcome)),
                    id_or_null(c->enc_traveller),
                    FG_V_TEXT(c->category),
                    real_or_null(r->score),
                    real_or_null(r->threshold),
                    real_or_null(r->quality),
                    rq->opt_out ? FG_V_NULL : FG_V_TEXT(reasons ? reasons : "[]"),
                    real_or_null(r->liveness),
                    id_or_null(r->watchlist_id),
                    r->watchlist_id > 0 ? FG_V_REAL(r->watchlist_score) : FG_V_NULL,
                    FG_V_TEXT(c->who && c->who->name ? c->who->name : "unknown"),
                    FG_V_REAL(fg__ms() - c->t0),
                    FG_V_BLOB(cap, cap_n),
                    FG_V_BLOB(tpl_sealed, tpl_sealed_n),
                    real_or_null(r->watchlist_threshold)};
    fg__hash_encounter(b, v, c->row_hash); /* the first 19, as before */
    rc = fg_store_exec(b->store, &FG_Q_ENC_INSERT_ID, v, 20, NULL, NULL, err);
  }
  free(reasons);
  free(cap);
  if (tpl) sodium_memzero(tpl, tpl_n);
  free(tpl);
  free(tpl_sealed);
  return rc;
}

static int write_records(fg__enc *c, const prefetch *p, fg_error *err) {
  fg_border *b = c->b;
  fg_encounter_result *r = c->r;
  const fg_encounter_request *rq = c->rq;
  int64_t at = c->at = fg_border_now(b);
  r->encounter_id = p->enc_id;
  int rc = insert_encounter(c, at, err);
  if (rc != FG_OK) return rc;
  if (c->cross) {
    fg__crossing_facts known = {c->category, p->open_entry, p->crossing_id};
    rc = fg__record_crossing(b, c->who, r->traveller_id, c->m.direction, at, c->m.port,
                             rq->manifest_id, r->encounter_id, "biometric", NULL,
                             c->pax.admitted_until, &known, &r->crossing_id, err);
    if (rc != FG_OK) return rc;
    fg_val v[2] = {FG_V_INT(rq->manifest_id), FG_V_INT(r->traveller_id)};
    if ((rc = fg_store_exec(b->store, &FG_Q_ENC_PASSENGER_CROSS, v, 2, NULL, NULL, err)) != FG_OK)
      return rc;
  }
  if (c->referral) {
    r->referral_id = p->referral_id; /* 0: not taken up front, the insert returns it */
    rc = fg__open_referral(b, c->who, r->encounter_id, c->referral, c->referral_candidate,
                           &r->referral_id, err);
    if (rc != FG_OK) return rc;
    snprintf(r->referral_reason, sizeof r->referral_reason, "%s", c->referral);
    /* The identified traveller (matched or declared) now waits for an officer. */
    if (c->enc_traveller > 0) {
      fg_val v[3] = {FG_V_TEXT("referred"), FG_V_INT(rq->manifest_id),
                     FG_V_INT(c->enc_traveller)};
      rc = fg_store_exec(b->store, &FG_Q_ENC_PASSENGER_REFER, v, 3, NULL, NULL, err);
      if (rc != FG_OK) return rc;
    }
  }
  if ((rc = audit_searches(c, err)) != FG_OK) return rc;
  return audit_encounter(c, err);
}

static void set_gate_action(fg_encounter_result *r) {
  if (r->crossing_id > 0) r->gate_action = "proceed";
  else if (r->referral_id > 0) r->gate_action = "see_officer";
  else if (r->outcome == FG_OUTCOME_FAILURE_TO_ACQUIRE) r->gate_action = "retry";
  else r->gate_action = "see_officer";
}

int fg__enc_record(fg__enc *c, fg_error *err) {
  fg_border *b = c->b;
  double t = fg__ms();
  prefetch p;
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  rc = read_all(c, &p, err);
  if (rc == FG_OK) rc = fg__enc_check_manifest(&p.m, c->rq->manifest_id, err); /* closed meanwhile? */
  if (rc == FG_OK && c->rq->key) /* a retry with this key may have won the race */
    rc = fg__encounter_key_resolve(b, &p.key, c->rq->key, c->fingerprint, c->r, &c->replay, err);
  if (rc == FG_OK && c->replay) {
    fg_store_rollback(b->store);
    return FG_OK;
  }
  if (rc == FG_OK) {
    decide(c, &p);
    rc = write_records(c, &p, err);
  }
  if (rc == FG_OK) set_gate_action(c->r);
  if (rc == FG_OK && c->rq->key)
    rc = fg__encounter_key_store(b, c->who, c->rq, c->fingerprint, c->r, fg_border_now(b), err);
  if (rc == FG_OK) rc = fg_store_commit(b->store, err);
  else fg_store_rollback(b->store);
  free(p.key.sealed);
  c->r->ms_store = fg__ms() - t;
  return rc;
}
