/*
 * The officer's queue: GET /v1/referrals?status=open&site=LHR (audited: it names
 * people), GET /v1/referrals/summary (counts, the newest id and the oldest
 * open referral's age: no personal data, not audited, for the console to
 * poll and for supervisors' staffing), GET
 * /v1/referrals/{id}?images=1 (the capture and document photos, a read of
 * biometric data the library audits), POST /v1/referrals/{id}/decision
 * ({decision: confirm|secondary|close|note, traveller_id?, note?}), recorded
 * under the token's name as the officer, and GET
 * /v1/referrals/{id}/document-photos?traveller_id=T (the document photos of a
 * passenger of the referral's flight, for the officer choosing whose
 * document was checked; audited).
 */
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

int fg__route_referral_list(fg__req *r) {
  const char *status = fg__query(r, "status"), *site = fg__query(r, "site");
  if (status && !*status) status = NULL;
  fg_doc *out = NULL;
  fg_error e;
  int rc = fg_border_referral_list_at(r->b, &r->actor, status, site, &out, &e);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, out);
}

int fg__route_referral_summary(fg__req *r) {
  fg_doc *out = NULL;
  fg_error e;
  int rc = fg_border_referral_summary(r->b, &out, &e);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, out);
}

int fg__route_referral_show(fg__req *r) {
  int64_t id;
  int rc = fg__param_id(r, 0, &id);
  if (rc != FG_OK) return rc;
  const char *images = fg__query(r, "images");
  int with_images = images && (!strcmp(images, "1") || !strcmp(images, "true"));
  fg_doc *out = NULL;
  fg_error e;
  if ((rc = fg_border_referral_show(r->b, &r->actor, id, with_images, &out, &e)) != FG_OK)
    return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, out);
}

int fg__route_referral_decide(fg__req *r) {
  int64_t id;
  int rc = fg__param_id(r, 0, &id);
  if (rc != FG_OK) return rc;
  json_t *body;
  if ((rc = fg__body_json(r, &body)) != FG_OK) return rc;
  const char *decision = json_string_value(json_object_get(body, "decision"));
  json_t *tid = json_object_get(body, "traveller_id");
  json_t *note = json_object_get(body, "note");
  static const char *const OK[] = {"confirm", "secondary", "close", "note"};
  int known = 0;
  for (size_t i = 0; decision && i < sizeof OK / sizeof OK[0]; i++) known |= !strcmp(decision, OK[i]);
  if (!known) rc = fg__fail(r, FG_EINVAL, "decision must be confirm, secondary, close or note");
  else if (tid && !json_is_null(tid) && !(json_is_integer(tid) && json_integer_value(tid) > 0))
    rc = fg__fail(r, FG_EINVAL, "traveller_id must be a positive integer");
  else if (note && !json_is_null(note) && !json_is_string(note))
    rc = fg__fail(r, FG_EINVAL, "note must be a string");
  else if (!strcmp(decision, "note") && !json_is_string(note))
    rc = fg__fail(r, FG_EINVAL, "a note decision needs a note");
  if (rc == FG_OK) {
    fg_doc *out = NULL;
    fg_error e;
    rc = fg_border_referral_decide(r->b, &r->actor, id, decision,
                                   json_is_integer(tid) ? json_integer_value(tid) : 0,
                                   json_string_value(note), &out, &e);
    if (rc != FG_OK) rc = fg__lib_fail(r, rc, &e);
    else if (out) rc = fg__reply_doc(r, 200, out);
    else rc = fg__reply(r, 200, json_pack("{s:I}", "id", (json_int_t)id));
  }
  json_decref(body);
  return rc;
}

int fg__route_referral_photos(fg__req *r) {
  int64_t id, tid = 0;
  int rc = fg__param_id(r, 0, &id);
  if (rc != FG_OK) return rc;
  const char *t = fg__query(r, "traveller_id");
  char *end = NULL;
  if (t && *t) tid = strtoll(t, &end, 10);
  if (!t || !*t || *end || tid <= 0)
    return fg__fail(r, FG_EINVAL, "traveller_id must be a positive integer");
  fg_doc *out = NULL;
  fg_error e;
  if ((rc = fg_border_referral_document_photos(r->b, &r->actor, id, tid, &out, &e)) != FG_OK)
    return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, out);
}
