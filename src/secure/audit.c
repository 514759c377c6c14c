/*
 * The tamper-evident audit chain. Event n's hash is keyed BLAKE2b-256 (the
 * keyring's audit key) over
 *
 *     hash(n-1) (32 zero bytes for event 1) | n (i64 LE) | at (i64 LE) |
 *     for actor, role, action, object, purpose, detail: length (u64 LE) | bytes
 *
 * and is stored with the event (table `audit`, sequence numbers 1, 2, 3...
 * without gaps). fg_audit_verify walks the chain in order and reports the
 * first event that breaks it: a gap in the numbers (deleted events), an
 * event whose hash does not match its contents — told apart as "out of
 * place" when its contents and hash verify at another position (reordered),
 * else "edited" — and, given an anchor "SEQ:HEX" recorded earlier, a chain
 * that no longer holds that event with that hash (cut off at the end, or
 * rewritten by someone holding the key).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/internal.h"
#include "secure/secure_internal.h"
#include "store/sql_audit.h"

#define NFIELDS 6
#define HASH 32

typedef struct fields {
  const char *s[NFIELDS];
  size_t n[NFIELDS];
} fields;

static void put_u64(crypto_generichash_state *h, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  crypto_generichash_update(h, b, 8);
}

static void event_hash(const fg_keyring *kr, const uint8_t prev[HASH], int64_t seq, int64_t at,
                       const fields *f, uint8_t out[HASH]) {
  crypto_generichash_state h;
  crypto_generichash_init(&h, kr->audit, sizeof kr->audit, HASH);
  crypto_generichash_update(&h, prev, HASH);
  put_u64(&h, (uint64_t)seq);
  put_u64(&h, (uint64_t)at);
  for (int i = 0; i < NFIELDS; i++) {
    put_u64(&h, f->n[i]);
    crypto_generichash_update(&h, (const uint8_t *)f->s[i], f->n[i]);
  }
  crypto_generichash_final(&h, out, HASH);
}

/* ---- append --------------------------------------------------------------- */

static int on_last(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err, (void)n;
  fg_audit_tail *t = ctx;
  if (c[0].type != FG_VAL_INT || c[1].type != FG_VAL_BLOB || c[1].n != HASH) {
    t->malformed = 1;
    return 1;
  }
  t->seq = c[0].i;
  memcpy(t->hash, c[1].b, HASH);
  return 1;
}

int fg_audit_tail_read(fg_store *st, fg_audit_tail *tail, fg_error *err) {
  memset(tail, 0, sizeof *tail); /* an empty chain: seq 0, a zero hash */
  return fg_store_exec(st, &fg__q_audit_last, NULL, 0, on_last, tail, err);
}

static int check_event(const fg_audit_event *ev, fields *f, fg_error *err) {
  if (!ev || !ev->actor || !*ev->actor || !ev->role || !*ev->role || !ev->action || !*ev->action)
    return fg__seterr(err, FG_EINVAL, "audit: an event needs an actor, a role and an action");
  *f = (fields){{ev->actor, ev->role, ev->action, ev->object ? ev->object : "",
                 ev->purpose ? ev->purpose : "", ev->detail ? ev->detail : ""}, {0}};
  for (int i = 0; i < NFIELDS; i++) f->n[i] = strlen(f->s[i]);
  return FG_OK;
}

int fg_audit_append_after(fg_store *st, const fg_keyring *kr, fg_audit_tail *tail,
                          const fg_audit_event *ev, int64_t *seq, fg_error *err) {
  fields f;
  int rc = st && kr && tail ? check_event(ev, &f, err)
                            : fg__seterr(err, FG_EINVAL, "audit: missing argument");
  if (rc != FG_OK) return rc;
  if (tail->malformed)
    return fg__seterr(err, FG_EFORMAT, "audit: the newest event is malformed; run verify");
  uint8_t h[HASH];
  int64_t s = tail->seq + 1;
  event_hash(kr, tail->hash, s, ev->at, &f, h);
  fg_val p[9] = {FG_V_INT(s),       FG_V_INT(ev->at),  FG_V_TEXT(f.s[0]),
                 FG_V_TEXT(f.s[1]), FG_V_TEXT(f.s[2]), FG_V_TEXT(f.s[3]),
                 FG_V_TEXT(f.s[4]), FG_V_TEXT(f.s[5]), FG_V_BLOB(h, HASH)};
  rc = fg_store_exec(st, &fg__q_audit_insert, p, 9, NULL, NULL, err);
  if (rc != FG_OK) return rc;
  tail->seq = s;
  memcpy(tail->hash, h, HASH);
  if (seq) *seq = s;
  return FG_OK;
}

int fg_audit_append(fg_store *st, const fg_keyring *kr, const fg_audit_event *ev, int64_t *seq,
                    fg_error *err) {
  fields f;
  int rc = st && kr ? check_event(ev, &f, err) : fg__seterr(err, FG_EINVAL, "audit: missing argument");
  if (rc != FG_OK) return rc;
  if ((rc = fg_store_begin(st, err)) != FG_OK) return rc;
  fg_audit_tail t;
  rc = fg_audit_tail_read(st, &t, err);
  if (rc == FG_OK) rc = fg_audit_append_after(st, kr, &t, ev, seq, err);
  if (rc == FG_OK) return fg_store_commit(st, err);
  fg_store_rollback(st);
  return rc;
}

int fg_audit_head(fg_store *st, int64_t *seq, char hex[65], fg_error *err) {
  fg_audit_tail t;
  int rc = fg_audit_tail_read(st, &t, err);
  if (rc != FG_OK) return rc;
  if (t.malformed) return fg__seterr(err, FG_EFORMAT, "audit: the newest event is malformed");
  *seq = t.seq;
  if (t.seq) sodium_bin2hex(hex, 65, t.hash, HASH);
  else hex[0] = 0;
  return FG_OK;
}

/* ---- verify --------------------------------------------------------------- */

/* One row, checked for shape; 0 if malformed. */
static int row_of(const fg_val *c, int n, int64_t *seq, int64_t *at, fields *f,
                  const uint8_t **hash) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  if (c[0].type != FG_VAL_INT) return 0;
  *seq = c[0].i;
  if (c[1].type != FG_VAL_INT || c[8].type != FG_VAL_BLOB || c[8].n != HASH) return 0;
  *at = c[1].i;
  for (int i = 0; i < NFIELDS; i++) {
    if (c[2 + i].type != FG_VAL_TEXT) return 0;
    f->s[i] = c[2 + i].s;
    f->n[i] = c[2 + i].n;
  }
  *hash = c[8].b;
  return 1;
}

typedef struct walk {
  const fg_keyring *kr;
  fg_audit_check *c;
  int64_t expect;
  uint8_t prev[HASH];
  int broken;
  /* The first event whose hash did not match, kept for the diagnosis. */
  int64_t bad_at;
  char *bad_fields[NFIELDS];
  size_t bad_n[NFIELDS];
  uint8_t bad_hash[HASH];
  /* Anchor. */
  int64_t anchor_seq;
  uint8_t anchor_hash[HASH];
  int anchor_seen, anchor_match;
} walk;

static void broken(walk *w, int64_t seq, const char *fmt, ...) FG__PRINTF(3, 4);
static void broken(walk *w, int64_t seq, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  w->broken = 1;
  w->c->ok = 0;
  w->c->bad_seq = seq;
  vsnprintf(w->c->problem, sizeof w->c->problem, fmt, ap);
  va_end(ap);
}

static int on_event(void *ctx, const fg_val *c, int n, fg_error *err) {
  walk *w = ctx;
  int64_t seq = 0, at = 0;
  fields f;
  const uint8_t *hash = NULL;
  int shaped = row_of(c, n, &seq, &at, &f, &hash);
  w->c->events++;
  w->c->head_seq = seq;
  if (hash) sodium_bin2hex(w->c->head_hash, sizeof w->c->head_hash, hash, HASH);
  else w->c->head_hash[0] = 0;
  if (w->anchor_seq && seq == w->anchor_seq) {
    w->anchor_seen = 1;
    w->anchor_match = hash && sodium_memcmp(hash, w->anchor_hash, HASH) == 0;
  }
  if (w->broken) return 0;
  if (seq != w->expect) {
    if (seq < w->expect)
      broken(w, seq, "event %" PRId64 " is not part of the chain (inserted)", seq);
    else if (seq == w->expect + 1)
      broken(w, w->expect, "event %" PRId64 " is missing (deleted)", w->expect);
    else
      broken(w, w->expect, "events %" PRId64 " to %" PRId64 " are missing (deleted)", w->expect,
             seq - 1);
    return 0;
  }
  if (!shaped) {
    broken(w, seq, "event %" PRId64 " is malformed (edited)", seq);
    return 0;
  }
  uint8_t h[HASH];
  event_hash(w->kr, w->prev, seq, at, &f, h);
  if (sodium_memcmp(h, hash, HASH) != 0) {
    broken(w, seq, "event %" PRId64 " was edited", seq);
    w->bad_at = at;
    memcpy(w->bad_hash, hash, HASH);
    for (int i = 0; i < NFIELDS; i++) {
      w->bad_fields[i] = malloc(f.n[i] + 1);
      if (!w->bad_fields[i]) return fg__seterr(err, FG_ENOMEM, "audit verify: out of memory");
      memcpy(w->bad_fields[i], f.s[i], f.n[i]);
      w->bad_n[i] = f.n[i];
    }
    return 0;
  }
  memcpy(w->prev, hash, HASH);
  w->expect++;
  return 0;
}

/* Second pass after a hash mismatch at event s: do s's contents and hash
 * verify at some other position t (preceded by event t-1's stored hash, or —
 * for neighbours swapped — by the hash now stored at t itself)? */
typedef struct where {
  const walk *w;
  int64_t prev_seq;
  uint8_t prev_hash[HASH];
  int64_t found;
} where;

static int on_candidate(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err;
  where *x = ctx;
  const walk *w = x->w;
  int64_t t = 0, at = 0;
  fields f, bad;
  const uint8_t *hash = NULL;
  if (!row_of(c, n, &t, &at, &f, &hash)) {
    x->prev_seq = 0;
    return 0;
  }
  for (int i = 0; i < NFIELDS; i++) bad.s[i] = w->bad_fields[i], bad.n[i] = w->bad_n[i];
  int64_t s = w->c->bad_seq;
  uint8_t h[HASH];
  static const uint8_t zero[HASH];
  if (t != s) {
    const uint8_t *cands[2] = {t == 1 ? zero : x->prev_seq == t - 1 ? x->prev_hash : NULL,
                               t - 1 == s ? hash : NULL};
    for (int k = 0; k < 2; k++) {
      if (!cands[k]) continue;
      event_hash(w->kr, cands[k], t, w->bad_at, &bad, h);
      if (sodium_memcmp(h, w->bad_hash, HASH) == 0) {
        x->found = t;
        return 1;
      }
    }
  }
  x->prev_seq = t;
  memcpy(x->prev_hash, hash, HASH);
  return 0;
}

static int parse_anchor(const char *anchor, walk *w, fg_error *err) {
  const char *colon = strchr(anchor, ':');
  char *end = NULL;
  long long seq = strtoll(anchor, &end, 10);
  size_t got = 0;
  if (!colon || end != colon || seq <= 0 || anchor[0] == '+' || anchor[0] == ' ' ||
      strlen(colon + 1) != 64 ||
      sodium_hex2bin(w->anchor_hash, HASH, colon + 1, 64, NULL, &got, NULL) != 0 || got != HASH)
    return fg__seterr(err, FG_EINVAL, "audit anchor \"%.80s\" is not SEQ:HEX (64 hex digits)",
                      anchor);
  w->anchor_seq = seq;
  return FG_OK;
}

int fg_audit_verify(fg_store *st, const fg_keyring *kr, const char *anchor,
                    fg_audit_check *check, fg_error *err) {
  if (!st || !kr || !check) return fg__seterr(err, FG_EINVAL, "fg_audit_verify: bad arguments");
  memset(check, 0, sizeof *check);
  check->ok = 1;
  walk w = {.kr = kr, .c = check, .expect = 1};
  int rc = anchor ? parse_anchor(anchor, &w, err) : FG_OK;
  if (rc == FG_OK) rc = fg_store_exec(st, &fg__q_audit_all, NULL, 0, on_event, &w, err);
  if (rc == FG_OK && w.bad_fields[NFIELDS - 1]) {
    where x = {.w = &w};
    rc = fg_store_exec(st, &fg__q_audit_all, NULL, 0, on_candidate, &x, err);
    if (x.found)
      snprintf(check->problem, sizeof check->problem,
               "event %" PRId64 " is out of place: it holds event %" PRId64
               "'s contents (events reordered)",
               check->bad_seq, x.found);
  }
  for (int i = 0; i < NFIELDS; i++) free(w.bad_fields[i]);
  if (rc != FG_OK) return rc;
  if (w.anchor_seq && (!w.anchor_seen || !w.anchor_match) &&
      (check->ok || check->bad_seq > w.anchor_seq)) {
    check->ok = 0;
    check->bad_seq = w.anchor_seq;
    if (!w.anchor_seen && check->head_seq < w.anchor_seq)
      snprintf(check->problem, sizeof check->problem,
               "the chain ends at event %" PRId64 " but the anchor names event %" PRId64
               ": events were removed from the end",
               check->head_seq, w.anchor_seq);
    else if (!w.anchor_seen)
      snprintf(check->problem, sizeof check->problem, "event %" PRId64 " of the anchor is missing",
               w.anchor_seq);
    else
      snprintf(check->problem, sizeof check->problem,
               "event %" PRId64 " does not match the anchor (chain rewritten)", w.anchor_seq);
  }
  return FG_OK;
}
