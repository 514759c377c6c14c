/*
 * The audit trail and retention (auditor; purge also admin):
 * GET /v1/audit?after=N&limit=M, GET /v1/audit/verify?anchor=SEQ:HEX,
 * GET /v1/purge (the newest "purge.run" event: when, by whom, the counts;
 * and whether the write-ahead log still holds copies of purged rows that a
 * reader kept, "flush"), POST /v1/purge (run the purge now, as the admin). Nothing here returns
 * biometric data: audit events never hold any.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

static int query_long(fg__req *r, const char *key, long long lo, long long hi, long long *v) {
  const char *s = fg__query(r, key);
  if (!s || !*s) return FG_OK;
  char *e;
  errno = 0;
  long long x = strtoll(s, &e, 10);
  if (errno || *e || x < lo || x > hi)
    return fg__fail(r, FG_EINVAL, "%s must be an integer in %lld..%lld", key, lo, hi);
  *v = x;
  return FG_OK;
}

int fg__route_audit_list(fg__req *r) {
  long long after = 0, limit = 100;
  int rc = query_long(r, "after", 0, INT64_MAX, &after);
  if (rc == FG_OK) rc = query_long(r, "limit", 1, 1000, &limit);
  if (rc != FG_OK) return rc;
  fg_doc *out = NULL;
  fg_error e;
  if ((rc = fg_border_audit_list(r->b, &r->actor, after, (int)limit, &out, &e)) != FG_OK)
    return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, out);
}

int fg__route_audit_verify(fg__req *r) {
  const char *anchor = fg__query(r, "anchor");
  fg_doc *out = NULL;
  fg_error e;
  fg_audit_verify_options vo = {anchor && *anchor ? anchor : NULL, r->srv->anchor_file};
  int rc = fg_border_audit_verify_with(r->b, &r->actor, &vo, &out, &e);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, out);
}

int fg__route_purge_status(fg__req *r) {
  fg_doc *last = NULL;
  fg_error e;
  int rc = fg_border_purge_last(r->b, &last, &e);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  int64_t since = atomic_load(&r->srv->flush_pending_since);
  return fg__reply(r, 200, json_pack("{s:o, s:i, s:{s:b, s:o, s:I}}", "last",
                                     last ? fg__json(last) : json_null(), "interval_seconds",
                                     r->srv->opt.purge_interval, "flush", "pending", since > 0,
                                     "pending_since", fg__json_time(since), "incomplete_purges",
                                     (json_int_t)atomic_load(&r->srv->flush_incomplete)));
}

int fg__route_purge_run(fg__req *r) {
  fg_doc *out = NULL;
  fg_error e;
  int rc = fg_border_purge(r->b, &r->actor, &out, &e);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  fg__purge_noted(r->srv, r->b, fg__json(out));
  return out ? fg__reply_doc(r, 200, out) : fg__reply(r, 200, json_object());
}
