/*
 * The audit trail for auditors: verifying the hash chain
 * (fg_border_audit_verify, over fg_audit_verify) and reading events
 * (fg_border_audit_list). Both are themselves audited ("audit.verify",
 * "audit.read"), appended after the work so that what was verified or read
 * is the chain as it stood.
 *
 * verify → {"ok", "events", "bad_seq", "problem", "head_seq", "head_hash"};
 * an anchor "SEQ:HEX" kept from an earlier report also catches truncation.
 * list → {"events": [{seq, at, actor, role, action, object, purpose,
 * detail}], "next_after"}: detail is parsed when it is JSON, else a string.
 */
#include <stdio.h>
#include <string.h>

#include "border/border_internal.h"
#include "store/sql_records.h"

#define LIST_MAX 10000

int fg_border_audit_verify(fg_border *b, const fg_actor *who, const char *anchor, json_t **out,
                           fg_error *err) {
  *out = NULL;
  fg_audit_check ck;
  memset(&ck, 0, sizeof ck);
  int rc = fg_audit_verify(b->store, b->keys, anchor, &ck, err);
  if (rc != FG_OK) return rc;
  json_t *j = json_pack("{s:b, s:I, s:o, s:o, s:I, s:s}", "ok", ck.ok, "events",
                        (json_int_t)ck.events,
                        "bad_seq", ck.bad_seq > 0 ? json_integer(ck.bad_seq) : json_null(),
                        "problem", ck.problem[0] ? json_string(ck.problem) : json_null(),
                        "head_seq", (json_int_t)ck.head_seq, "head_hash", ck.head_hash);
  if (!j) return fg__seterr(err, FG_ENOMEM, "out of memory");
  json_t *d = json_pack("{s:b, s:I, s:o, s:o}", "ok", ck.ok, "events", (json_int_t)ck.events,
                        "bad_seq", ck.bad_seq > 0 ? json_integer(ck.bad_seq) : json_null(),
                        "anchor", anchor ? json_string(anchor) : json_null());
  rc = d ? fg__border_audit_json(b, who, "audit.verify", "audit", "audit", d, err)
         : fg__seterr(err, FG_ENOMEM, "out of memory");
  json_decref(d);
  if (rc != FG_OK) {
    json_decref(j);
    return rc;
  }
  *out = j;
  return FG_OK;
}

static json_t *text_json(const fg_val *v) {
  return v->type == FG_VAL_TEXT ? json_string(v->s) : json_null();
}

static int event_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  json_t *arr = ctx;
  json_t *detail = NULL;
  if (c[7].type == FG_VAL_TEXT && c[7].s[0])
    detail = json_loads(c[7].s, JSON_DECODE_ANY, NULL);
  if (!detail) detail = c[7].type == FG_VAL_TEXT && c[7].s[0] ? json_string(c[7].s) : json_null();
  json_t *e = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "seq", (json_int_t)c[0].i,
                        "at", fg__json_time(c[1].type == FG_VAL_INT ? c[1].i : 0), "actor",
                        text_json(&c[2]), "role", text_json(&c[3]), "action", text_json(&c[4]),
                        "object", text_json(&c[5]), "purpose", text_json(&c[6]), "detail",
                        detail);
  if (!e || json_array_append_new(arr, e)) return fg__seterr(err, FG_ENOMEM, "out of memory");
  return 0;
}

int fg_border_audit_list(fg_border *b, const fg_actor *who, int64_t after, int limit,
                         json_t **out, fg_error *err) {
  *out = NULL;
  if (limit < 0) return fg__seterr(err, FG_EINVAL, "audit list: negative limit");
  if (limit == 0) limit = 100;
  if (limit > LIST_MAX) limit = LIST_MAX;
  json_t *events = json_array();
  if (!events) return fg__seterr(err, FG_ENOMEM, "out of memory");
  fg_val p[2] = {FG_V_INT(after), FG_V_INT(limit)};
  int rc = fg_store_exec(b->store, &FG_Q_REC_AUDIT_LIST, p, 2, event_row, events, err);
  size_t n = json_array_size(events);
  json_int_t next = n ? json_integer_value(json_object_get(json_array_get(events, n - 1), "seq"))
                      : (json_int_t)after;
  if (rc == FG_OK) {
    json_t *d = json_pack("{s:I, s:i, s:I}", "after", (json_int_t)after, "limit", limit,
                          "count", (json_int_t)n);
    rc = d ? fg__border_audit_json(b, who, "audit.read", "audit", "audit", d, err)
           : fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(d);
  }
  if (rc == FG_OK && !(*out = json_pack("{s:O, s:I}", "events", events, "next_after", next)))
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  json_decref(events);
  return rc;
}
