/*
 * The gate encounter: one capture (or one declared opt-out) against a staged,
 * open manifest, turned into exactly one outcome and recorded durably.
 *
 * fg_border_encounter runs in three phases. Outside any transaction: the
 * request is checked, the manifest read, and (unless the traveller opted
 * out) the face pipeline run and the embedding searched against the
 * watchlist and the flight's gallery, so that the slow part never holds the
 * store's write lock. Then one store transaction re-reads what may have
 * changed meanwhile (the manifest still open, the candidate's passenger
 * status, the gate's run of failures to acquire), decides the outcome by the
 * table in docs/encounters.md, and writes the encounter row, its crossing,
 * its referral (one at most), the passenger's status, the audit events and
 * the sealed capture and template; it commits durably before returning.
 *
 * Errors are for requests that cannot be processed: nothing is recorded
 * then. Every outcome, including a referral, is FG_OK.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "store/sql_encounter.h"

const char *fg_outcome_name(fg_outcome o) {
  switch (o) {
  case FG_OUTCOME_MATCHED: return "MATCHED";
  case FG_OUTCOME_NO_MATCH: return "NO_MATCH";
  case FG_OUTCOME_FAILURE_TO_ACQUIRE: return "FAILURE_TO_ACQUIRE";
  case FG_OUTCOME_LIVENESS_SUSPECT: return "LIVENESS_SUSPECT";
  case FG_OUTCOME_OPT_OUT: return "OPT_OUT";
  }
  return "?";
}

/* ---- reading rows ---------------------------------------------------------- */

typedef struct manifest_row {
  int found;
  char status[16], direction[8], port[64];
} manifest_row;

static void copy_col(char *dst, size_t cap, const fg_val *v) {
  snprintf(dst, cap, "%s", v->type == FG_VAL_TEXT ? v->s : "");
}

static int manifest_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  (void)err;
  manifest_row *m = ctx;
  m->found = 1;
  copy_col(m->status, sizeof m->status, &c[0]);
  copy_col(m->direction, sizeof m->direction, &c[1]);
  copy_col(m->port, sizeof m->port, &c[2]);
  return 1;
}

/* The manifest must exist and be open. */
static int read_manifest(fg_border *b, int64_t id, manifest_row *m, fg_error *err) {
  memset(m, 0, sizeof *m);
  fg_val p = FG_V_INT(id);
  int rc = fg_store_exec(b->store, &FG_Q_ENC_MANIFEST, &p, 1, manifest_cb, m, err);
  if (rc != FG_OK) return rc;
  if (!m->found) return fg__seterr(err, FG_ENOTFOUND, "manifest %lld not found", (long long)id);
  if (strcmp(m->status, "open") != 0)
    return fg__seterr(err, FG_ECONFLICT, "manifest %lld is %s: no more encounters against it",
                      (long long)id, m->status);
  return FG_OK;
}

typedef struct passenger_row {
  int found;
  char status[16];
  int64_t admitted_until;
  fg_category category;
  char name[160];
} passenger_row;

static int passenger_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  (void)err;
  passenger_row *p = ctx;
  p->found = 1;
  copy_col(p->status, sizeof p->status, &c[0]);
  p->admitted_until = c[1].type == FG_VAL_INT ? c[1].i : 0;
  if (c[2].type != FG_VAL_TEXT || fg_category_parse(c[2].s, &p->category) != FG_OK)
    p->category = FG_CATEGORY_FOREIGN;
  snprintf(p->name, sizeof p->name, "%s, %s", c[3].type == FG_VAL_TEXT ? c[3].s : "",
           c[4].type == FG_VAL_TEXT ? c[4].s : "");
  return 1;
}

static int read_passenger(fg_border *b, int64_t manifest, int64_t traveller, passenger_row *p,
                          fg_error *err) {
  memset(p, 0, sizeof *p);
  fg_val v[2] = {FG_V_INT(manifest), FG_V_INT(traveller)};
  return fg_store_exec(b->store, &FG_Q_ENC_PASSENGER, v, 2, passenger_cb, p, err);
}

typedef struct holder_ctx {
  int64_t id;
  int rows;
} holder_ctx;

static int holder_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err;
  holder_ctx *h = ctx;
  if (n > 0 && c[0].type == FG_VAL_INT && h->rows++ == 0) h->id = c[0].i;
  return 0;
}

/* Traveller id of the passenger travelling on document number `doc` (0:
 * none). Two passengers whose documents share a number (different issuing
 * states) cannot be told apart by the number alone: FG_ECONFLICT, rather than
 * judge one by the other's category. */
static int read_holder(fg_border *b, int64_t manifest, const char *doc, int64_t *holder,
                       fg_error *err) {
  *holder = 0;
  holder_ctx h = {0, 0};
  fg_val v[2] = {FG_V_INT(manifest), FG_V_TEXT(doc)};
  int rc = fg_store_exec(b->store, &FG_Q_ENC_DOC_HOLDER, v, 2, holder_cb, &h, err);
  if (rc != FG_OK) return rc;
  if (h.rows > 1)
    return fg__seterr(err, FG_ECONFLICT,
                      "document number %s is held by several passengers of manifest %lld "
                      "(different issuing states): process this traveller by hand",
                      doc, (long long)manifest);
  *holder = h.id;
  return FG_OK;
}

/* ---- the encounter's working state ---------------------------------------- */

typedef struct enc {
  fg_border *b;
  const fg_actor *who;
  const fg_encounter_request *rq;
  fg_encounter_result *r;
  manifest_row m;
  double t0;
  int64_t holder;            /* the presented document's holder on this manifest (0: none) */
  /* face */
  int have_face;             /* a face was found (an embedding exists) */
  int acquired;              /* FG_FACE_OK */
  float *emb;
  int dim;
  /* watchlist screen */
  int wl_searched;
  size_t wl_templates;
  float wl_best, wl_threshold;
  int64_t wl_best_id;
  /* flight search */
  int searched;
  size_t flight_templates;
  int64_t nearest;           /* best-scoring traveller (0: empty gallery) */
  /* decision */
  int64_t candidate;         /* matched above threshold (0: none) */
  const char *referral;      /* NULL: none */
  int64_t referral_candidate;
  int cross;                 /* record a crossing for r->traveller_id */
  int64_t enc_traveller;     /* encounters.traveller_id */
  const char *category;      /* encounters.category (NULL: unidentified) */
  passenger_row pax;         /* the candidate's or holder's passenger row */
  char fingerprint[65];      /* of the request, with an idempotency key */
  int replay;                /* the key's first outcome was found inside the transaction */
} enc;

/* Referral reasons by priority, highest first. */
static const char *const REFERRAL_ORDER[] = {"watchlist", "liveness", "already_crossed",
                                             "no_match", "failure_to_acquire", "opt_out"};

static int referral_rank(const char *reason) {
  for (int i = 0; i < (int)(sizeof REFERRAL_ORDER / sizeof *REFERRAL_ORDER); i++)
    if (strcmp(reason, REFERRAL_ORDER[i]) == 0) return i;
  return 99;
}

/* Ask for a referral; the one of highest priority wins. */
static void want_referral(enc *c, const char *reason, int64_t candidate) {
  if (!c->referral || referral_rank(reason) < referral_rank(c->referral)) {
    c->referral = reason;
    c->referral_candidate = candidate;
  }
}

/* Top-1 search of a gallery. *best = NAN and *id = 0 when it is empty. */
static int search_top1(const fg_gallery *g, const float *emb, int dim, float *best, int64_t *id,
                       size_t *templates, fg_error *err) {
  *best = NAN;
  *id = 0;
  *templates = 0;
  if (!g) return FG_OK;
  fg_gallery_info info;
  fg_gallery_get_info(g, &info);
  if (info.dim != (uint32_t)dim)
    return fg__seterr(err, FG_EMODEL, "gallery holds %u-d templates, the capture is %d-d",
                      info.dim, dim);
  *templates = info.n_templates;
  if (info.n_templates == 0) return FG_OK;
  fg_match m;
  size_t count = 0;
  int rc = fg_gallery_search(g, emb, 1, 0, 1, NULL, &m, &count, err);
  if (rc != FG_OK || count == 0) return rc;
  const char *sid = fg_gallery_subject_id(g, m.subject, NULL);
  *best = m.score;
  *id = sid ? strtoll(sid, NULL, 10) : 0;
  return FG_OK;
}

/* ---- phase 1: the face, the watchlist and the flight ----------------------- */

static int run_face(enc *c, fg_error *err) {
  fg_border *b = c->b;
  fg_encounter_result *r = c->r;
  fg_face_engine *fe;
  double t = fg__ms();
  int rc = fg__border_face(b, &fe, err);
  if (rc != FG_OK) return rc;
  fg_face_result *fr = b->scratch;
  rc = fg_face_process_buffer(fe, c->rq->image, c->rq->image_len, NULL, fr, err);
  if (rc != FG_OK) return rc;
  r->ms_face = fg__ms() - t;
  /* Copy out what is needed: the gallery cache may use the scratch result. */
  c->acquired = fr->status == FG_FACE_OK;
  c->have_face = fr->status != FG_FACE_NO_FACE && fr->dim > 0;
  if (fr->status != FG_FACE_NO_FACE) {
    r->quality = fr->quality.score;
    r->quality_reasons = fr->quality.reasons;
    if (fr->liveness_done) r->liveness = fr->liveness;
  }
  if (c->have_face) {
    c->dim = fr->dim;
    c->emb = malloc((size_t)fr->dim * sizeof *c->emb);
    if (!c->emb) return fg__seterr(err, FG_ENOMEM, "out of memory");
    memcpy(c->emb, fr->embedding, (size_t)fr->dim * sizeof *c->emb);
  }
  return FG_OK;
}

static int screen_watchlist(enc *c, fg_error *err) {
  fg_border *b = c->b;
  double t = fg__ms();
  const fg_gallery *g = NULL;
  size_t photos = 0;
  int rc = fg__watchlist_gallery(b, &g, &photos, err);
  if (rc == FG_OK)
    rc = search_top1(g, c->emb, c->dim, &c->wl_best, &c->wl_best_id, &c->wl_templates, err);
  /* N for the threshold: the photos, not the fused templates (see search_flight) */
  if (rc == FG_OK)
    rc = fg__border_fpir_threshold(b, photos, b->policy.watchlist_fpir,
                                   &c->wl_threshold, err);
  if (rc != FG_OK) return rc;
  c->wl_searched = 1;
  if (c->wl_best_id > 0 && c->wl_best >= c->wl_threshold) {
    c->r->watchlist_id = c->wl_best_id;
    c->r->watchlist_score = c->wl_best;
  }
  c->r->ms_watchlist = fg__ms() - t;
  return FG_OK;
}

static int search_flight(enc *c, fg_error *err) {
  fg_border *b = c->b;
  fg_encounter_result *r = c->r;
  double t = fg__ms();
  const fg_gallery *g = NULL;
  float best;
  size_t photos = 0;
  int rc = fg__flight_gallery(b, c->rq->manifest_id, &g, &photos, err);
  if (rc == FG_OK)
    rc = search_top1(g, c->emb, c->dim, &best, &c->nearest, &c->flight_templates, err);
  /* The calibration counts single-photo subjects. A traveller enrolled from m
   * photos (one centroid template) raises the non-mated tail: on LFW flights
   * where everyone has two, FPIR at the single-photo threshold for 0.003 is
   * 0.0038. Counting photos, as when each was a template of its own, errs on
   * the safe side (a stricter threshold). */
  if (rc == FG_OK)
    rc = fg__border_fpir_threshold(b, photos, b->policy.match_fpir, &r->threshold, err);
  if (rc != FG_OK) return rc;
  c->searched = 1;
  r->score = best;
  if (c->nearest > 0 && best >= r->threshold) c->candidate = c->nearest;
  r->ms_search = fg__ms() - t;
  return FG_OK;
}

/* ---- phase 2: the decision, inside the transaction ------------------------ */

static int decide(enc *c, fg_error *err) {
  fg_border *b = c->b;
  fg_encounter_result *r = c->r;
  const fg_encounter_request *rq = c->rq;
  int rc;

  if (rq->opt_out) {
    if ((rc = read_passenger(b, rq->manifest_id, c->holder, &c->pax, err)) != FG_OK) return rc;
    r->outcome = FG_OUTCOME_OPT_OUT;
    r->traveller_id = c->enc_traveller = c->holder;
    snprintf(r->traveller_name, sizeof r->traveller_name, "%s", c->pax.name);
    c->category = fg_category_name(c->pax.category);
    want_referral(c, "opt_out", c->holder);
    return FG_OK;
  }

  if (c->r->watchlist_id > 0) want_referral(c, "watchlist", 0);

  if (!c->acquired) {
    r->outcome = FG_OUTCOME_FAILURE_TO_ACQUIRE;
    int64_t run = 0;
    fg_val v[4] = {FG_V_TEXT(c->m.port), FG_V_TEXT(rq->gate), FG_V_TEXT(c->m.port),
                   FG_V_TEXT(rq->gate)};
    if ((rc = fg_store_exec_int(b->store, &FG_Q_ENC_FTA_RUN, v, 4, &run, NULL, err)) != FG_OK)
      return rc;
    r->tries = (int)run + 1;
    if (r->tries >= b->policy.fta_max_tries) want_referral(c, "failure_to_acquire", c->holder);
    return FG_OK;
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
    if ((rc = read_passenger(b, rq->manifest_id, cand, &c->pax, err)) != FG_OK) return rc;
    if (!c->pax.found) cand = 0; /* left the manifest since the gallery was cached */
  }
  if (cand == 0) {
    if (!live_suspect) r->outcome = FG_OUTCOME_NO_MATCH;
    want_referral(c, "no_match", c->nearest);
    return FG_OK;
  }
  if (live_suspect) return FG_OK; /* a candidate, but not one to act on */
  r->outcome = FG_OUTCOME_MATCHED;
  r->traveller_id = c->enc_traveller = cand;
  snprintf(r->traveller_name, sizeof r->traveller_name, "%s", c->pax.name);
  c->category = fg_category_name(c->pax.category);
  if (c->r->watchlist_id > 0) c->referral_candidate = cand;
  if (strcmp(c->pax.status, "crossed") == 0) want_referral(c, "already_crossed", cand);
  c->cross = c->referral == NULL;
  return FG_OK;
}

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

static int audit_searches(enc *c, fg_error *err) {
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
    json_t *d = json_pack("{s:I,s:o,s:f,s:b}", "gallery_templates", (json_int_t)c->wl_templates,
                          "best_score", isnan(c->wl_best) ? json_null() : json_real(c->wl_best),
                          "threshold", (double)c->wl_threshold, "hit", c->r->watchlist_id > 0);
    if (!d) return fg__seterr(err, FG_ENOMEM, "out of memory");
    rc = fg__border_audit_json(b, c->who, "watchlist.search", "watchlist", "border control", d,
                               err);
    json_decref(d);
  }
  return rc;
}

static int audit_encounter(enc *c, fg_error *err) {
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
  return fg__border_audit_about(c->b, c->who, "encounter.create", "encounter", r->encounter_id,
                                "border control", d, err);
}

/* Seal the capture and its template to the encounter row and note the time. */
static int finish_row(enc *c, fg_error *err) {
  fg_border *b = c->b;
  fg_encounter_result *r = c->r;
  uint8_t *cap = NULL, *tpl = NULL, *tpl_sealed = NULL;
  size_t cap_n = 0, tpl_n = 0, tpl_sealed_n = 0;
  int rc = FG_OK;
  if (!c->rq->opt_out) {
    rc = fg__border_seal(b, "encounters", "capture_sealed", r->encounter_id, c->rq->image,
                         c->rq->image_len, &cap, &cap_n, err);
    if (rc == FG_OK && c->have_face) {
      rc = fg__border_template(b, c->emb, c->dim, &tpl, &tpl_n, err);
      if (rc == FG_OK)
        rc = fg__border_seal(b, "encounters", "template_sealed", r->encounter_id, tpl, tpl_n,
                             &tpl_sealed, &tpl_sealed_n, err);
    }
  }
  if (rc == FG_OK) {
    fg_val v[4] = {FG_V_BLOB(cap, cap_n), FG_V_BLOB(tpl_sealed, tpl_sealed_n),
                   FG_V_REAL(fg__ms() - c->t0), FG_V_INT(r->encounter_id)};
    rc = fg_store_exec(b->store, &FG_Q_ENC_FINISH, v, 4, NULL, NULL, err);
  }
  free(cap);
  if (tpl) sodium_memzero(tpl, tpl_n);
  free(tpl);
  free(tpl_sealed);
  return rc;
}

static int write_records(enc *c, fg_error *err) {
  fg_border *b = c->b;
  fg_encounter_result *r = c->r;
  const fg_encounter_request *rq = c->rq;
  int64_t at = fg_border_now(b);
  char *reasons = NULL;
  int rc;
  if (!rq->opt_out && r->quality_reasons && !(reasons = reasons_json(r->quality_reasons)))
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  fg_val v[15] = {FG_V_INT(rq->manifest_id),
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
                  FG_V_TEXT(c->who && c->who->name ? c->who->name : "unknown")};
  rc = fg_store_exec_int(b->store, &FG_Q_ENC_INSERT, v, 15, &r->encounter_id, NULL, err);
  free(reasons);
  if (rc != FG_OK) return rc;

  if (c->cross) {
    rc = fg__record_crossing(b, c->who, r->traveller_id, c->m.direction, at, c->m.port,
                             rq->manifest_id, r->encounter_id, "biometric", NULL,
                             c->pax.admitted_until, &r->crossing_id, err);
    if (rc != FG_OK) return rc;
    fg_val p[2] = {FG_V_INT(rq->manifest_id), FG_V_INT(r->traveller_id)};
    if ((rc = fg_store_exec(b->store, &FG_Q_ENC_PASSENGER_CROSS, p, 2, NULL, NULL, err)) != FG_OK)
      return rc;
  }
  if (c->referral) {
    rc = fg__open_referral(b, c->who, r->encounter_id, c->referral, c->referral_candidate,
                           &r->referral_id, err);
    if (rc != FG_OK) return rc;
    snprintf(r->referral_reason, sizeof r->referral_reason, "%s", c->referral);
    /* The identified traveller (matched or declared) now waits for an officer. */
    if (c->enc_traveller > 0) {
      fg_val p[3] = {FG_V_TEXT("referred"), FG_V_INT(rq->manifest_id),
                     FG_V_INT(c->enc_traveller)};
      rc = fg_store_exec(b->store, &FG_Q_ENC_PASSENGER_REFER, p, 3, NULL, NULL, err);
      if (rc != FG_OK) return rc;
    }
  }
  if ((rc = audit_searches(c, err)) != FG_OK) return rc;
  if ((rc = audit_encounter(c, err)) != FG_OK) return rc;
  return finish_row(c, err);
}

static void set_gate_action(fg_encounter_result *r) {
  if (r->crossing_id > 0) r->gate_action = "proceed";
  else if (r->referral_id > 0) r->gate_action = "see_officer";
  else if (r->outcome == FG_OUTCOME_FAILURE_TO_ACQUIRE) r->gate_action = "retry";
  else r->gate_action = "see_officer";
}

static int record(enc *c, fg_error *err) {
  fg_border *b = c->b;
  double t = fg__ms();
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  manifest_row again;
  rc = read_manifest(b, c->rq->manifest_id, &again, err); /* closed meanwhile? */
  if (rc == FG_OK && c->rq->key) { /* a retry of this key may have won the race */
    rc = fg__encounter_key_lookup(b, c->who, c->rq, c->fingerprint, c->r, &c->replay, err);
    if (rc == FG_OK && c->replay) {
      fg_store_rollback(b->store);
      return FG_OK;
    }
  }
  if (rc == FG_OK) rc = decide(c, err);
  if (rc == FG_OK) rc = write_records(c, err);
  if (rc == FG_OK) set_gate_action(c->r);
  if (rc == FG_OK && c->rq->key)
    rc = fg__encounter_key_store(b, c->who, c->rq, c->fingerprint, c->r, fg_border_now(b), err);
  if (rc == FG_OK) rc = fg_store_commit(b->store, err);
  else fg_store_rollback(b->store);
  c->r->ms_store = fg__ms() - t;
  return rc;
}

/* A retry of a key already answered: the first outcome again, nothing
 * recorded but the audit event that it was handed out once more. */
static int replay(fg_border *b, const fg_actor *who, fg_encounter_result *r, fg_error *err) {
  return fg__border_audit_about(b, who, "encounter.replay", "encounter", r->encounter_id,
                                "border control",
                                json_pack("{s:s}", "outcome", fg_outcome_name(r->outcome)), err);
}

/* ---- the call -------------------------------------------------------------- */

static void result_init(fg_encounter_result *r) {
  memset(r, 0, sizeof *r);
  r->gate_action = "see_officer";
  r->score = r->threshold = r->quality = r->liveness = r->watchlist_score = NAN;
}

int fg_border_encounter(fg_border *b, const fg_actor *who, const fg_encounter_request *rq,
                        fg_encounter_result *r, fg_error *err) {
  if (!b || !rq || !r) return fg__seterr(err, FG_EINVAL, "encounter: missing argument");
  result_init(r);
  enc c = {.b = b, .who = who, .rq = rq, .r = r, .t0 = fg__ms()};
  c.wl_best = c.wl_threshold = NAN;
  if (!rq->gate || !*rq->gate) return fg__seterr(err, FG_EINVAL, "encounter: no gate given");
  int trc;
  if ((trc = fg__border_text("encounter: gate", rq->gate, 64, err)) != FG_OK ||
      (trc = fg__border_text("encounter: document number", rq->document, 64, err)) != FG_OK ||
      (trc = fg__encounter_key_check(rq->key, err)) != FG_OK)
    return trc;
  if (!rq->opt_out && (!rq->image || rq->image_len == 0))
    return fg__seterr(err, FG_EINVAL, "encounter: no image (and no opt-out)");
  if (rq->opt_out && (!rq->document || !*rq->document))
    return fg__seterr(err, FG_EINVAL, "opt-out: the presented document's number is required");
  if (rq->key) {
    int found = 0;
    fg__encounter_fingerprint(rq, c.fingerprint);
    trc = fg__encounter_key_lookup(b, who, rq, c.fingerprint, r, &found, err);
    if (trc == FG_OK && found) trc = replay(b, who, r, err);
    if (trc != FG_OK) result_init(r);
    if (trc != FG_OK || found) return trc;
  }
  int rc = read_manifest(b, rq->manifest_id, &c.m, err);
  if (rc != FG_OK) return rc;
  /* A server that serves one port of entry takes only that port's flights: a
   * gate wired to the wrong server must not record a crossing elsewhere. */
  if (strcmp(b->port, "XXX") != 0 && strcmp(c.m.port, b->port) != 0)
    return fg__seterr(err, FG_ECONFLICT,
                      "manifest %lld is processed at %s; this server serves %s (--site)",
                      (long long)rq->manifest_id, c.m.port, b->port);
  if (rq->document && *rq->document &&
      (rc = read_holder(b, rq->manifest_id, rq->document, &c.holder, err)) != FG_OK)
    return rc;

  if (rq->opt_out) {
    /* The image is never looked at: policy first, then the record. */
    if (c.holder == 0)
      return fg__seterr(err, FG_ENOTFOUND, "opt-out: document %s is not held by a passenger of "
                        "manifest %lld", rq->document, (long long)rq->manifest_id);
    if ((rc = read_passenger(b, rq->manifest_id, c.holder, &c.pax, err)) != FG_OK) return rc;
    const fg_policy *p = &b->policy;
    if (p->capture_mandatory)
      return fg__seterr(err, FG_EPERM, "opt-out is not allowed: capture is mandatory by policy");
    if (!p->category[c.pax.category].opt_out_allowed) {
      static const char *const plural[FG_CATEGORY_COUNT] = {
          "citizens", "permanent residents", "foreign nationals", "exempt travellers"};
      return fg__seterr(err, FG_EPERM, "opt-out is not allowed for %s by policy",
                        plural[c.pax.category]);
    }
  } else {
    if ((rc = run_face(&c, err)) != FG_OK) goto done;
    if (c.have_face && (rc = screen_watchlist(&c, err)) != FG_OK) goto done;
    if (c.acquired && (rc = search_flight(&c, err)) != FG_OK) goto done;
  }
  if ((rc = record(&c, err)) != FG_OK) goto done;
  if (c.replay) {
    rc = replay(b, who, r, err);
    goto done;
  }
  r->ms_total = fg__ms() - c.t0;
done:
  if (c.emb) sodium_memzero(c.emb, (size_t)c.dim * sizeof *c.emb);
  free(c.emb);
  if (rc != FG_OK) {
    result_init(r);
  }
  return rc;
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *num_or_null(double x) { return isnan(x) ? json_null() : json_real(x); }

json_t *fg_encounter_result_json(const fg_encounter_result *r) {
  if (!r) return NULL;
  json_t *reasons = json_array();
  for (unsigned i = 0; reasons && i < FG_QUALITY_REASON_COUNT; i++)
    if (r->quality_reasons & (1u << i))
      json_array_append_new(reasons, json_string(fg_quality_reason_name(1u << i)));
  json_t *o = json_pack(
      "{s:I,s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:i}", "encounter_id",
      (json_int_t)r->encounter_id, "outcome", fg_outcome_name(r->outcome), "gate_action",
      r->gate_action ? r->gate_action : "see_officer", "traveller_id",
      r->traveller_id > 0 ? json_integer(r->traveller_id) : json_null(), "traveller_name",
      r->traveller_name, "score", num_or_null(r->score), "threshold", num_or_null(r->threshold),
      "quality", num_or_null(r->quality), "quality_reasons", reasons ? reasons : json_array(),
      "liveness", num_or_null(r->liveness), "tries", r->tries);
  if (!o) return NULL;
  json_object_set_new(o, "watchlist",
                      r->watchlist_id > 0
                          ? json_pack("{s:I,s:f}", "id", (json_int_t)r->watchlist_id, "score",
                                      (double)r->watchlist_score)
                          : json_null());
  json_object_set_new(o, "referral",
                      r->referral_id > 0
                          ? json_pack("{s:I,s:s}", "id", (json_int_t)r->referral_id, "reason",
                                      r->referral_reason)
                          : json_null());
  json_object_set_new(o, "crossing_id",
                      r->crossing_id > 0 ? json_integer(r->crossing_id) : json_null());
  json_object_set_new(o, "replayed", json_boolean(r->replayed));
  json_object_set_new(o, "ms",
                      json_pack("{s:f,s:f,s:f,s:f,s:f}", "face", r->ms_face, "search",
                                r->ms_search, "watchlist", r->ms_watchlist, "store", r->ms_store,
                                "total", r->ms_total));
  return o;
}
