/*
 * The audit trail for auditors: verifying the hash chain
 * (fg_border_audit_verify, over fg_audit_verify) and reading events
 * (fg_border_audit_list). Both are themselves audited ("audit.verify",
 * "audit.read"), appended after the work so that what was verified or read
 * is the chain as it stood.
 *
 * verify → {"ok", "chain_ok", "events", "bad_seq", "problem", "head_seq",
 * "head_hash", "records" (reconcile.c: every encounter, crossing and referral
 * against the events that wrote it), "anchors"}; "ok" only if the chain is
 * whole and not empty, the records reconcile and every anchor holds. Anchors
 * catch truncation: one "SEQ:HEX" kept from an earlier report, and the file
 * of heads facegate itself publishes (fg_border_audit_publish: appended to a
 * file that may live on another volume and be append-only, and to the system
 * journal), each of which the chain must still hold with that hash.
 * list → {"events": [{seq, at, actor, role, action, object, purpose,
 * detail}], "next_after"}: detail is parsed when it is JSON, else a string.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "store/sql_records.h"

#define LIST_MAX 10000

/* ---- anchors: the chain's head, published where the database's writer cannot
 * rewrite it ---------------------------------------------------------------------- */

#define ANCHOR_MAGIC "facegate-anchor 1 "
#define ANCHORS_CHECKED 10000 /* the newest ones of a file; older ones are covered by them */

int fg_border_audit_publish(fg_border *b, const char *file, int to_syslog, fg_doc **out,
                            fg_error *err) {
  if (out) *out = NULL;
  int64_t seq = 0;
  char hex[65] = "";
  int rc = fg_audit_head(b->store, &seq, hex, err);
  if (rc != FG_OK) return rc;
  if (seq <= 0) return fg__seterr(err, FG_ENOTFOUND, "audit: the chain is empty: nothing to anchor");
  char when[32], line[160];
  fg__iso_time(fg_border_now(b), when);
  int len = snprintf(line, sizeof line, ANCHOR_MAGIC "%lld:%s %s\n", (long long)seq, hex, when);
  if (file && *file) {
    /* Appended, never rewritten: the file may be append-only (chattr +a) on
     * a volume the database's host does not write. */
    int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fg__seterr(err, FG_EIO, "anchor file %s: %s", file, strerror(errno));
    ssize_t w = write(fd, line, (size_t)len);
    int ok = w == len && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok) return fg__seterr(err, FG_EIO, "anchor file %s: %s", file, strerror(e));
  }
  if (to_syslog) /* the system journal, where systemd runs it: another writer's records */
    syslog(LOG_AUTHPRIV | LOG_NOTICE, "facegate audit anchor %lld:%s", (long long)seq, hex);
  if (out && !(*out = fg__doc(json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)seq, "hash", hex, "at", when))))
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  return FG_OK;
}

int fg__anchor_parse(const char *line, int64_t *seq, char hex[65]) {
  size_t m = strlen(ANCHOR_MAGIC);
  if (strncmp(line, ANCHOR_MAGIC, m) != 0) return -1;
  const char *p = line + m;
  if (*p == '0') return -1; /* written without leading zeros */
  int64_t v = 0;
  int digits = 0;
  for (; *p >= '0' && *p <= '9'; p++, digits++) {
    if (v > (INT64_MAX - 9) / 10) return -1;
    v = v * 10 + (*p - '0');
  }
  if (!digits || v <= 0 || *p++ != ':') return -1;
  for (int i = 0; i < 64; i++)
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return -1;
  if (p[64] != ' ' && p[64] != '\n' && p[64] != '\0') return -1;
  memcpy(hex, p, 64);
  hex[64] = '\0';
  *seq = v;
  return 0;
}

static int hash_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  char *hex = ctx;
  if (c[0].type == FG_VAL_BLOB && c[0].n == 32) sodium_bin2hex(hex, 65, c[0].b, 32);
  return 1;
}

/* Check the anchors a file holds against the chain: each must name an event
 * the chain still has, with the same hash. */
static int check_anchors(fg_border *b, const char *file, int64_t head, json_t **out, fg_error *err) {
  *out = NULL;
  FILE *f = fopen(file, "r");
  if (!f && errno == ENOENT) { /* none published yet */
    *out = json_pack("{s:s, s:I, s:I, s:b, s:n, s:n}", "file", file, "published", (json_int_t)0,
                     "checked", (json_int_t)0, "ok", 1, "problem", "newest");
    return *out ? FG_OK : fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  if (!f) return fg__seterr(err, FG_EIO, "anchor file %s: %s", file, strerror(errno));
  size_t cap = 1024, n = 0, published = 0;
  struct { int64_t seq; char hex[65]; } *a = malloc(cap * sizeof *a);
  char line[256], problem[256] = "";
  while (a && fgets(line, sizeof line, f)) {
    int64_t seq;
    char hex[65];
    if (fg__anchor_parse(line, &seq, hex) != 0) {
      if (!problem[0]) snprintf(problem, sizeof problem, "anchor file line %zu is malformed", published + 1);
      published++;
      continue;
    }
    published++;
    if (n == cap) { /* keep the newest ANCHORS_CHECKED */
      if (cap < ANCHORS_CHECKED) {
        void *v = realloc(a, 2 * cap * sizeof *a);
        if (!v) break;
        a = v;
        cap *= 2;
      } else {
        memmove(a, a + 1, (cap - 1) * sizeof *a);
        n--;
      }
    }
    a[n].seq = seq;
    memcpy(a[n].hex, hex, 65);
    n++;
  }
  fclose(f);
  if (!a) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = FG_OK;
  for (size_t i = 0; rc == FG_OK && i < n && !problem[0]; i++) {
    if (a[i].seq > head) {
      snprintf(problem, sizeof problem,
               "the chain ends at event %lld but facegate published event %lld as its head: "
               "events were removed from the end",
               (long long)head, (long long)a[i].seq);
      break;
    }
    char have[65] = "";
    fg_val p = FG_V_INT(a[i].seq);
    rc = fg_store_exec(b->store, &FG_Q_REC_AUDIT_HASH, &p, 1, hash_row, have, err);
    if (rc == FG_OK && strcmp(have, a[i].hex) != 0)
      snprintf(problem, sizeof problem, "event %lld is not the one facegate published as its head "
               "(%s): the chain was rewritten or cut", (long long)a[i].seq,
               have[0] ? "its hash differs" : "it is missing");
  }
  if (rc == FG_OK) {
    char newest[96] = "";
    if (n) snprintf(newest, sizeof newest, "%lld:%s", (long long)a[n - 1].seq, a[n - 1].hex);
    *out = json_pack("{s:s, s:I, s:I, s:b, s:o, s:o}", "file", file, "published",
                     (json_int_t)published, "checked", (json_int_t)n, "ok", !problem[0], "problem",
                     problem[0] ? json_string(problem) : json_null(), "newest",
                     n ? json_string(newest) : json_null());
    if (!*out) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  free(a);
  return rc;
}

int fg_border_audit_verify_with(fg_border *b, const fg_actor *who,
                                const fg_audit_verify_options *o, fg_doc **out, fg_error *err) {
  *out = NULL;
  const char *anchor = o ? o->anchor : NULL, *file = o ? o->anchor_file : NULL;
  fg_audit_check ck;
  memset(&ck, 0, sizeof ck);
  int rc = fg_audit_verify(b->store, b->keys, anchor, &ck, err);
  if (rc != FG_OK) return rc;
  if (ck.ok && ck.events == 0) { /* nothing to vouch for anything: never "ok" */
    ck.ok = 0;
    snprintf(ck.problem, sizeof ck.problem, "the audit chain is empty: every event was deleted");
  }
  json_t *records = NULL, *anchors = NULL;
  if ((rc = fg__reconcile(b, &records, err)) != FG_OK) return rc;
  if (file && *file && (rc = check_anchors(b, file, ck.head_seq, &anchors, err)) != FG_OK) {
    json_decref(records);
    return rc;
  }
  int ok = ck.ok && json_is_true(json_object_get(records, "ok")) &&
           (!anchors || json_is_true(json_object_get(anchors, "ok")));
  json_t *j = json_pack("{s:b, s:b, s:I, s:o, s:o, s:I, s:s, s:o, s:o}", "ok", ok, "chain_ok",
                        ck.ok, "events", (json_int_t)ck.events,
                        "bad_seq", ck.bad_seq > 0 ? json_integer(ck.bad_seq) : json_null(),
                        "problem", ck.problem[0] ? json_string(ck.problem) : json_null(),
                        "head_seq", (json_int_t)ck.head_seq, "head_hash", ck.head_hash,
                        "records", records, "anchors", anchors ? anchors : json_null());
  if (!j) return fg__seterr(err, FG_ENOMEM, "out of memory");
  json_t *d = json_pack("{s:b, s:I, s:o, s:o, s:I, s:b}", "ok", ok, "events", (json_int_t)ck.events,
                        "bad_seq", ck.bad_seq > 0 ? json_integer(ck.bad_seq) : json_null(),
                        "anchor", anchor ? json_string(anchor) : json_null(), "record_problems",
                        json_integer_value(json_object_get(json_object_get(j, "records"), "problem_count")),
                        "anchor_file", file && *file);
  rc = d ? fg__border_audit_json(b, who, "audit.verify", "audit", "audit", d, err)
         : fg__seterr(err, FG_ENOMEM, "out of memory");
  json_decref(d);
  if (rc != FG_OK) {
    json_decref(j);
    return rc;
  }
  *out = fg__doc(j);
  return FG_OK;
}

int fg_border_audit_verify(fg_border *b, const fg_actor *who, const char *anchor, fg_doc **out,
                           fg_error *err) {
  fg_audit_verify_options o = {anchor, NULL};
  return fg_border_audit_verify_with(b, who, &o, out, err);
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
                         fg_doc **out, fg_error *err) {
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
  if (rc == FG_OK && !(*out = fg__doc(json_pack("{s:O, s:I}", "events", events, "next_after", next))))
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  json_decref(events);
  return rc;
}
