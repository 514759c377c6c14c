/*
 * The 1:1 document check: a live capture against the photo on the presented
 * document (an image, or the passport chip's DG2, which the face pipeline
 * decodes itself), decided at a threshold calibrated for a target false-match
 * rate (the policy's verify_fmr unless the caller gives one; the EU Entry/Exit
 * System asks for FNMR < 1% at FMR = 0.05%). Nothing is stored: the check is
 * audited ("verify.document") with its score and decision only.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"

static const char *status_name(fg_face_status s) {
  switch (s) {
  case FG_FACE_OK: return "ok";
  case FG_FACE_NO_FACE: return "no_face";
  case FG_FACE_LOW_QUALITY: return "low_quality";
  }
  return "?";
}

int fg_border_verify(fg_border *b, const fg_actor *who, const uint8_t *live, size_t live_len,
                     const uint8_t *document, size_t document_len, double fmr,
                     fg_verify_result *r, fg_error *err) {
  if (!b || !r) return fg__seterr(err, FG_EINVAL, "verify: missing argument");
  memset(r, 0, sizeof *r);
  r->score = r->threshold = r->live_quality = r->document_quality = r->liveness = NAN;
  r->decision = -1;
  if (!live || !live_len) return fg__seterr(err, FG_EINVAL, "verify: no live capture");
  if (!document || !document_len) return fg__seterr(err, FG_EINVAL, "verify: no document photo");
  if (fmr < 0 || fmr >= 1) return fg__seterr(err, FG_EINVAL, "verify: FMR %g out of range", fmr);
  r->fmr = fmr > 0 ? fmr : b->policy.verify_fmr;
  float th;
  int rc = fg__border_fmr_threshold(b, r->fmr, &th, err);
  if (rc != FG_OK) return rc;
  fg_face_engine *fe;
  if ((rc = fg__border_face(b, &fe, err)) != FG_OK) return rc;
  fg_face_result *a = malloc(sizeof *a), *d = b->scratch;
  if (!a) return fg__seterr(err, FG_ENOMEM, "out of memory");
  const char *side = "live capture";
  rc = fg_face_process_buffer(fe, live, live_len, NULL, a, err);
  if (rc == FG_OK) {
    side = "document photo";
    rc = fg_face_process_buffer(fe, document, document_len, NULL, d, err);
  }
  if (rc != FG_OK) {
    if (err) { /* say which side could not be read */
      char why[FG_ERROR_MSG_MAX];
      snprintf(why, sizeof why, "%s", err->msg);
      fg__seterr(err, rc, "%s: %.480s", side, why);
    }
    goto done;
  }

  r->threshold = th;
  r->live_status = a->status;
  r->document_status = d->status;
  r->live_reasons = a->quality.reasons; /* with no face too: "no_face" (and "dark") */
  r->document_reasons = d->quality.reasons;
  if (a->status != FG_FACE_NO_FACE) {
    r->live_quality = a->quality.score;
    if (a->liveness_done) r->liveness = a->liveness;
  }
  if (d->status != FG_FACE_NO_FACE) r->document_quality = d->quality.score;
  if (a->status == FG_FACE_OK && d->status == FG_FACE_OK && a->dim == d->dim) {
    r->score = fg_dot(a->embedding, d->embedding, (size_t)a->dim);
    r->decision = r->score >= th;
  }

  json_t *detail = json_pack("{s:o,s:f,s:f,s:s,s:s,s:s}", "score",
                             isnan(r->score) ? json_null() : json_real(r->score), "threshold",
                             (double)th, "fmr", r->fmr, "decision",
                             r->decision == 1 ? "match" : r->decision == 0 ? "no_match"
                                                                           : "failure_to_acquire",
                             "live", status_name(a->status), "document", status_name(d->status));
  if (!detail) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto done;
  }
  rc = fg__border_audit_json(b, who, "verify.document", "", "document check", detail, err);
  json_decref(detail);
done:
  /* An embedding is biometric data: do not leave it in the heap (sodium_memzero: a plain
   * memset before free is a dead store the compiler removes). */
  sodium_memzero(a, sizeof *a);
  free(a);
  if (rc != FG_OK) {
    memset(r, 0, sizeof *r);
    r->decision = -1;
    r->score = r->threshold = r->live_quality = r->document_quality = r->liveness = NAN;
  }
  return rc;
}

static json_t *num_or_null(double x) { return isnan(x) ? json_null() : json_real(x); }

static json_t *reasons_array(unsigned bits) {
  json_t *a = json_array();
  for (unsigned i = 0; a && i < FG_QUALITY_REASON_COUNT; i++)
    if (bits & (1u << i)) json_array_append_new(a, json_string(fg_quality_reason_name(1u << i)));
  return a;
}

static json_t *verify_json(const fg_verify_result *r) {
  if (!r) return NULL;
  const char *decision = r->decision == 1   ? "match"
                         : r->decision == 0 ? "no_match"
                                            : "failure_to_acquire";
  return json_pack("{s:s,s:o,s:o,s:o,s:f,s:{s:s,s:o,s:o,s:o},s:{s:s,s:o,s:o}}", "decision",
                   decision, "same_person",
                   r->decision < 0 ? json_null() : json_boolean(r->decision == 1), "score",
                   num_or_null(r->score), "threshold", num_or_null(r->threshold), "fmr", r->fmr,
                   "live", "status", status_name(r->live_status), "quality",
                   num_or_null(r->live_quality), "quality_reasons", reasons_array(r->live_reasons),
                   "liveness", num_or_null(r->liveness), "document", "status",
                   status_name(r->document_status), "quality", num_or_null(r->document_quality),
                   "quality_reasons", reasons_array(r->document_reasons));
}

fg_doc *fg_verify_result_json(const fg_verify_result *r) { return fg__doc(verify_json(r)); }
