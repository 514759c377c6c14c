/*
 * The gate encounter: one capture (or one declared opt-out) against a staged,
 * open manifest, turned into exactly one outcome and recorded durably.
 *
 * fg_border_encounter runs in two phases. Outside any transaction (this
 * file): the request is checked, the manifest, the document's holder and the
 * idempotency key read (one read batch: a retry of a key already answered
 * stops here with the first outcome), and (unless the traveller opted out)
 * the face pipeline run and the embedding searched against the watchlist and
 * the flight's gallery, so that the slow part never holds the store's write
 * lock. Then one store transaction (encounter_record.c) re-reads what may
 * have changed meanwhile, decides the outcome by the table in
 * docs/encounters.md, and writes the encounter row, its crossing, its
 * referral (one at most), the passenger's status, the audit events and the
 * sealed capture and template; it commits durably before returning.
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

#include "border/encounter_internal.h"
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

static void copy_col(char *dst, size_t cap, const fg_val *v) {
  snprintf(dst, cap, "%s", v->type == FG_VAL_TEXT ? v->s : "");
}

static int manifest_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  fg__manifest_row *m = ctx;
  m->found = 1;
  copy_col(m->status, sizeof m->status, &c[0]);
  copy_col(m->direction, sizeof m->direction, &c[1]);
  copy_col(m->port, sizeof m->port, &c[2]);
  return 1;
}

int fg__enc_read_manifest(fg_border *b, int64_t id, fg__manifest_row *m, fg_error *err) {
  memset(m, 0, sizeof *m);
  fg_val p = FG_V_INT(id);
  return fg_store_exec(b->store, &FG_Q_ENC_MANIFEST, &p, 1, manifest_cb, m, err);
}

int fg__enc_check_manifest(const fg__manifest_row *m, int64_t id, fg_error *err) {
  if (!m->found) return fg__seterr(err, FG_ENOTFOUND, "manifest %lld not found", (long long)id);
  if (strcmp(m->status, "open") != 0)
    return fg__seterr(err, FG_ECONFLICT, "manifest %lld is %s: no more encounters against it",
                      (long long)id, m->status);
  return FG_OK;
}

static int passenger_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n;
  fg__passenger_row *p = ctx;
  p->found = 1;
  copy_col(p->status, sizeof p->status, &c[0]);
  p->admitted_until = c[1].type == FG_VAL_INT ? c[1].i : 0;
  if (c[2].type != FG_VAL_TEXT || fg_category_parse(c[2].s, &p->category) != FG_OK)
    p->category = FG_CATEGORY_FOREIGN;
  fg__person person; /* sealed at rest (personal.c) */
  int rc = fg__person_open(p->b, p->traveller, &c[3], &person, err);
  if (rc != FG_OK) return rc;
  fg__person_name(&person, p->name, sizeof p->name);
  sodium_memzero(&person, sizeof person);
  return 1;
}

int fg__enc_read_passenger(fg_border *b, int64_t manifest, int64_t traveller,
                           fg__passenger_row *p, fg_error *err) {
  memset(p, 0, sizeof *p);
  p->b = b;
  p->traveller = traveller;
  fg_val v[2] = {FG_V_INT(manifest), FG_V_INT(traveller)};
  return fg_store_exec(b->store, &FG_Q_ENC_PASSENGER, v, 2, passenger_cb, p, err);
}

typedef struct holder_ctx {
  int64_t id;
  int rows;
} holder_ctx;

static int holder_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  holder_ctx *h = ctx;
  if (c[0].type == FG_VAL_INT && h->rows++ == 0) h->id = c[0].i;
  return 0;
}

/* Two passengers whose documents share a number (different issuing states)
 * cannot be told apart by the number alone: FG_ECONFLICT, rather than judge
 * one by the other's category. */
static int check_holder(const holder_ctx *h, int64_t manifest, const char *doc, fg_error *err) {
  if (h->rows > 1)
    return fg__seterr(err, FG_ECONFLICT,
                      "document number %s is held by several passengers of manifest %lld "
                      "(different issuing states): process this traveller by hand",
                      doc, (long long)manifest);
  return FG_OK;
}

/* What phase 1 reads, in one batch: the manifest, the presented document's
 * holder on it (0: none), and the idempotency key's first outcome. */
typedef struct first_reads {
  holder_ctx holder;
  fg__key_row key;
  uint8_t number_index[32]; /* the document number's blind index (a batch parameter) */
} first_reads;

static int read_first(fg__enc *c, first_reads *f, fg_error *err) {
  fg_border *b = c->b;
  const fg_encounter_request *rq = c->rq;
  memset(f, 0, sizeof *f);
  fg_store_batch_begin(b->store);
  int rc = fg__enc_read_manifest(b, rq->manifest_id, &c->m, err);
  if (rc == FG_OK && rq->key) rc = fg__encounter_key_read(b, c->who, rq->key, &f->key, err);
  if (rc == FG_OK && rq->document && *rq->document) {
    fg__document_number_index(b, rq->document, f->number_index); /* numbers are sealed */
    fg_val v[2] = {FG_V_INT(rq->manifest_id), FG_V_BLOB(f->number_index, 32)};
    rc = fg_store_exec(b->store, &FG_Q_ENC_DOC_HOLDER, v, 2, holder_cb, &f->holder, err);
  }
  fg_error run_err;
  int run = fg_store_batch_run(b->store, rc == FG_OK ? err : &run_err);
  return rc != FG_OK ? rc : run;
}

/* Top-1 search of a gallery. *best = NAN and *id = 0 when it is empty. */
/* The k best matches of emb in g (best first; *count of them), and
 * *templates, how many g holds. No gallery (nobody enrolled): none. */
static int search_top(const fg_gallery *g, const float *emb, int dim, size_t k, fg_match *m, size_t *count,
                      size_t *templates, fg_error *err) {
  *count = 0;
  *templates = 0;
  if (!g) return FG_OK;
  fg_gallery_info info;
  fg_gallery_get_info(g, &info);
  if (info.dim != (uint32_t)dim)
    return fg__seterr(err, FG_EMODEL, "gallery holds %u-d templates, the capture is %d-d", info.dim, dim);
  *templates = info.n_templates;
  if (info.n_templates == 0) return FG_OK;
  return fg_gallery_search(g, emb, 1, 0, k, NULL, m, count, err);
}

/* A match's subject as a row id (subjects are decimal ids; 0 if not). */
static int64_t match_id(const fg_gallery *g, const fg_match *m) {
  const char *sid = fg_gallery_subject_id(g, m->subject, NULL);
  return sid ? strtoll(sid, NULL, 10) : 0;
}

/* Whether a match's template was enrolled from harsh-lit photos only. */
static int match_harsh(const fg_gallery *g, const fg_match *m) {
  return (fg_gallery_template_capture(g, m->template_index) & FG_TEMPLATE_CAPTURE_HARSH_LIGHT) != 0;
}

/* ---- phase 1: the face, the watchlist and the flight ----------------------- */

static int run_face(fg__enc *c, fg_error *err) {
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
  c->harsh = c->have_face && fg_face_quality_harsh_light(&fr->quality);
  r->quality_reasons = fr->quality.reasons; /* with no face too: "no_face", and "dark" for a dark frame */
  if (fr->status != FG_FACE_NO_FACE) {
    r->quality = fr->quality.score;
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

/* Candidates looked at when the capture is harsh-lit: a harsh-lit entry
 * refused at its higher threshold must not hide an evenly lit one just below
 * it that passes the plain threshold. */
#define WL_HARSH_CANDIDATES 8

static int screen_watchlist(fg__enc *c, fg_error *err) {
  fg_border *b = c->b;
  double t = fg__ms();
  const fg_gallery *g = NULL;
  size_t photos = 0;
  fg_match m[WL_HARSH_CANDIDATES];
  size_t count = 0;
  int rc = fg__watchlist_gallery(b, &g, &photos, err);
  c->wl_best = NAN;
  c->wl_best_id = 0;
  if (rc == FG_OK)
    rc = search_top(g, c->emb, c->dim, c->harsh ? WL_HARSH_CANDIDATES : 1, m, &count, &c->wl_templates, err);
  /* N for the threshold: the photos, not the fused templates (see search_flight) */
  float plain = NAN;
  if (rc == FG_OK)
    rc = fg__border_fpir_threshold(b, photos, b->policy.watchlist_fpir, &plain, err);
  if (rc != FG_OK) return rc;
  c->wl_searched = 1;
  c->wl_threshold = plain;
  /* The first candidate (best first) that reaches its own threshold is the
   * hit: the watchlist's, plus the calibrated harsh-light margin when the
   * capture and every photo the entry was enrolled from are harsh-lit (two
   * faces lit the same hard way look alike: docs/pipeline.md, "Thresholds
   * under harsh light"), exactly as the flight search does. */
  float margin = c->harsh ? fg__border_harsh_margin(b) : 0.f;
  for (size_t i = 0; i < count; i++) {
    int64_t id = match_id(g, &m[i]);
    int harsh = c->harsh && match_harsh(g, &m[i]);
    float th = harsh ? plain + margin : plain;
    if (i == 0) {
      c->wl_best = m[i].score, c->wl_best_id = id;
      c->wl_threshold = th, c->wl_harsh = harsh;
    }
    if (id > 0 && m[i].score >= th) {
      c->r->watchlist_id = id;
      c->r->watchlist_score = m[i].score;
      c->wl_threshold = th, c->wl_harsh = harsh;
      break;
    }
    if (m[i].score < plain) break; /* no lower candidate reaches even the plain threshold */
  }
  c->r->watchlist_threshold = c->wl_threshold;
  c->r->ms_watchlist = fg__ms() - t;
  return FG_OK;
}

static int search_flight(fg__enc *c, fg_error *err) {
  fg_border *b = c->b;
  fg_encounter_result *r = c->r;
  double t = fg__ms();
  const fg_gallery *g = NULL;
  fg_match m;
  size_t photos = 0, count = 0;
  int rc = fg__flight_gallery(b, c->rq->manifest_id, &g, &photos, err);
  if (rc == FG_OK) rc = search_top(g, c->emb, c->dim, 1, &m, &count, &c->flight_templates, err);
  float best = count ? m.score : NAN;
  c->nearest = count ? match_id(g, &m) : 0;
  /* The calibration counts single-photo subjects. A traveller enrolled from m
   * photos (one centroid template) raises the non-mated tail: on LFW flights
   * where everyone has two, FPIR at the single-photo threshold for 0.003 is
   * 0.0038. Counting photos, as when each was a template of its own, errs on
   * the safe side (a stricter threshold). */
  if (rc == FG_OK)
    rc = fg__border_fpir_threshold(b, photos, b->policy.match_fpir, &r->threshold, err);
  if (rc != FG_OK) return rc;
  /* The capture and the candidate's enrolment both harsh-lit: two faces lit
   * the same hard way look alike, so the threshold rises by the calibrated
   * margin (docs/pipeline.md, "Thresholds under harsh light"). */
  if (c->harsh && c->nearest > 0 && match_harsh(g, &m))
    r->threshold += fg__border_harsh_margin(b);
  c->searched = 1;
  r->score = best;
  if (c->nearest > 0 && best >= r->threshold) c->candidate = c->nearest;
  r->ms_search = fg__ms() - t;
  return FG_OK;
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
  r->watchlist_threshold = NAN;
}

/* The face as the caller computed it. */
static int take_face(fg__enc *c, const fg__precomputed_face *face, fg_error *err) {
  c->acquired = c->have_face = 1;
  c->harsh = (face->capture & FG_TEMPLATE_CAPTURE_HARSH_LIGHT) != 0;
  c->r->quality = face->quality;
  c->dim = face->dim;
  c->emb = malloc((size_t)face->dim * sizeof *c->emb);
  if (!c->emb) return fg__seterr(err, FG_ENOMEM, "out of memory");
  memcpy(c->emb, face->embedding, (size_t)face->dim * sizeof *c->emb);
  return FG_OK;
}

int fg_border_encounter(fg_border *b, const fg_actor *who, const fg_encounter_request *rq,
                        fg_encounter_result *r, fg_error *err) {
  return fg__border_encounter_with(b, who, rq, NULL, r, err);
}

int fg__border_encounter_with(fg_border *b, const fg_actor *who, const fg_encounter_request *rq,
                              const fg__precomputed_face *face, fg_encounter_result *r,
                              fg_error *err) {
  if (!b || !rq || !r) return fg__seterr(err, FG_EINVAL, "encounter: missing argument");
  result_init(r);
  b->opt_out_refusal = NULL;
  fg__enc c = {.b = b, .who = who, .rq = rq, .r = r, .t0 = fg__ms()};
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
  if (rq->key) fg__encounter_fingerprint(rq, c.fingerprint);
  first_reads f;
  int rc = read_first(&c, &f, err);
  if (rc == FG_OK && rq->key) {
    int found = 0;
    rc = fg__encounter_key_resolve(b, &f.key, rq->key, c.fingerprint, r, &found, err);
    if (rc == FG_OK && found) rc = replay(b, who, r, err);
    if (rc != FG_OK || found) {
      if (rc != FG_OK) result_init(r);
      free(f.key.sealed);
      return rc;
    }
  }
  free(f.key.sealed);
  if (rc == FG_OK) rc = fg__enc_check_manifest(&c.m, rq->manifest_id, err);
  if (rc == FG_OK && rq->document && *rq->document &&
      (rc = check_holder(&f.holder, rq->manifest_id, rq->document, err)) != FG_OK && rq->opt_out)
    b->opt_out_refusal = "several_holders";
  if (rc != FG_OK) return rc;
  c.holder = f.holder.id;
  /* A server that serves one port of entry takes only that port's flights: a
   * gate wired to the wrong server must not record a crossing elsewhere. */
  if (strcmp(b->port, "XXX") != 0 && strcmp(c.m.port, b->port) != 0)
    return fg__seterr(err, FG_ECONFLICT,
                      "manifest %lld is processed at %s; this server serves %s (--site)",
                      (long long)rq->manifest_id, c.m.port, b->port);

  if (rq->opt_out) {
    /* The image is never looked at: policy first, then the record. */
    if (c.holder == 0 && (b->opt_out_refusal = "not_on_manifest"))
      return fg__seterr(err, FG_ENOTFOUND, "opt-out: document %s is not held by a passenger of "
                        "manifest %lld", rq->document, (long long)rq->manifest_id);
    if ((rc = fg__enc_read_passenger(b, rq->manifest_id, c.holder, &c.pax, err)) != FG_OK) return rc;
    const fg_policy *p = &b->policy;
    if (p->capture_mandatory && (b->opt_out_refusal = "capture_mandatory"))
      return fg__seterr(err, FG_EPERM, "opt-out is not allowed: capture is mandatory by policy");
    if (!p->category[c.pax.category].opt_out_allowed && (b->opt_out_refusal = "not_allowed")) {
      static const char *const plural[FG_CATEGORY_COUNT] = {
          "citizens", "permanent residents", "foreign nationals", "exempt travellers"};
      return fg__seterr(err, FG_EPERM, "opt-out is not allowed for %s by policy",
                        plural[c.pax.category]);
    }
  } else {
    if ((rc = face ? take_face(&c, face, err) : run_face(&c, err)) != FG_OK) goto done;
    if (c.have_face && (rc = screen_watchlist(&c, err)) != FG_OK) goto done;
    if (c.acquired && (rc = search_flight(&c, err)) != FG_OK) goto done;
  }
  if ((rc = fg__enc_record(&c, err)) != FG_OK) goto done;
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

json_t *fg__encounter_result_json(const fg_encounter_result *r) {
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
                          ? json_pack("{s:I,s:f,s:o}", "id", (json_int_t)r->watchlist_id, "score",
                                      (double)r->watchlist_score, "threshold",
                                      num_or_null(r->watchlist_threshold))
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

fg_doc *fg_encounter_result_json(const fg_encounter_result *r) {
  return fg__doc(fg__encounter_result_json(r));
}
