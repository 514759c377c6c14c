/*
 * Reconciling the records with the audit chain: `facegate audit verify`
 * checks not only that the chain is whole but that the encounters, crossings
 * and referrals in the store are exactly what its events say they wrote.
 *
 * Each event that writes one of those records carries the hash of the row
 * it wrote (fg_audit_row_hash under a key derived from the audit key, so a
 * forged row cannot be made to match without the key file):
 *
 *   encounter.create  "row": the encounter's columns fixed at creation
 *                     (fg__hash_encounter), with its traveller and category
 *                     in clear, which an officer's confirm may fill in later;
 *   crossing.create   "row": every column of the crossing, with the ids that
 *                     a deletion elsewhere sets to NULL (encounter, entry,
 *                     manifest) in clear;
 *   referral.create   "row": the referral as opened;
 *   referral.decide   "state": status, officer, decision time, resolution,
 *                     confirmed traveller and crossing, as stored after the
 *                     decision (and "category", the confirmed traveller's);
 *   purge.run         "cutoffs": per category, the times up to which it
 *                     deleted encounter records and crossings;
 *   watchlist.add     "row": the entry as inserted (id, added_by,
 *                     created_at, expires_at; fg__hash_watchlist);
 *   watchlist.import  a batch (watchlist_batch.c): "first_id", "last_id",
 *                     "entries" and "rows", the hash over its entries' row
 *                     hashes in id order (fg__hash_watchlist_batch);
 *   watchlist.remove  (no hash): the entry it marks removed.
 *
 * Verification reads every such event and every row, and names each record
 * that is planted (a row no event created), edited (its hash, traveller,
 * category or decision state is not what the events say), or deleted (an
 * event created it, it is gone, and no later purge's cut-offs cover it).
 * Rows whose creating event has no hash (written before facegate recorded
 * them) are counted as unverifiable, not as problems; so are deletions
 * before the first purge that recorded its cut-offs.
 *
 * Watchlist entries are never deleted (removal keeps the row), so every
 * watchlist row must be accounted for: by its own watchlist.add event or by
 * the watchlist.import batch whose id range holds it (a batch is checked
 * whole: a row missing, edited or planted in its range breaks its hash; the
 * problem names the batch and its ids). A row marked removed needs a
 * watchlist.remove event and a removal event needs its row still marked; a
 * live, unexpired entry needs at least one template (removal and the purge
 * of expired entries are the only deleters of templates).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "store/sql_records.h"

/* ---- the hashes writers and the verifier share ------------------------------------ */

void fg__hash_encounter(fg_border *b, const fg_val insert[19], char hex[65]) {
  /* FG_Q_ENC_INSERT_ID's id, manifest_id, port, gate, at, outcome, score, threshold,
   * quality, watchlist_id, watchlist_score, actor: FG_Q_REC_AUDITED_ENCOUNTERS' order */
  static const int PICK[12] = {0, 1, 2, 3, 4, 5, 8, 9, 10, 13, 14, 15};
  fg_val v[12];
  for (int i = 0; i < 12; i++) v[i] = insert[PICK[i]];
  fg_audit_row_hash(b->keys, "encounter", v, 12, hex);
}

void fg__hash_crossing(fg_border *b, const fg_val v[12], char hex[65]) {
  fg_audit_row_hash(b->keys, "crossing", v, 12, hex);
}

void fg__hash_referral_created(fg_border *b, const fg_val v[5], char hex[65]) {
  fg_audit_row_hash(b->keys, "referral", v, 5, hex);
}

void fg__hash_watchlist(fg_border *b, const fg_val v[4], char hex[65]) {
  fg_audit_row_hash(b->keys, "watchlist", v, 4, hex);
}

void fg__hash_watchlist_batch(fg_border *b, const uint8_t *rows, size_t n, char hex[65]) {
  fg_val v = FG_V_BLOB(rows, 32 * n);
  fg_audit_row_hash(b->keys, "watchlist-batch", &v, 1, hex);
}

static void hash_referral_state(fg_border *b, const fg_val v[6], char hex[65]) {
  fg_audit_row_hash(b->keys, "referral-state", v, 6, hex);
}

typedef struct state_ctx {
  fg_border *b;
  char *hex;
  int found;
} state_ctx;

static int state_hash_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  state_ctx *s = ctx;
  hash_referral_state(s->b, c, s->hex);
  s->found = 1;
  return 1;
}

int fg__referral_state_hash(fg_border *b, int64_t id, char hex[65], fg_error *err) {
  state_ctx s = {b, hex, 0};
  fg_val p = FG_V_INT(id);
  int rc = fg_store_exec(b->store, &FG_Q_REC_REFERRAL_STATE, &p, 1, state_hash_row, &s, err);
  if (rc == FG_OK && !s.found) rc = fg__seterr(err, FG_ENOTFOUND, "no referral %lld", (long long)id);
  return rc;
}

/* ---- what the events say ------------------------------------------------------------ */

#define CATS (FG_CATEGORY_COUNT + 1) /* the last: unidentified */

typedef struct ev_enc {
  int64_t id, seq, at, traveller;
  int cat;             /* category index; CATS - 1: unidentified */
  char row[65];        /* "" when the event has none */
  int present;
} ev_enc;

typedef struct ev_cro {
  int64_t id, seq, at, encounter, entry, manifest;
  int cat;
  char row[65];
  int present;
} ev_cro;

typedef struct ev_ref {
  int64_t id, seq, encounter, crossing; /* crossing: the latest decision's (0: none) */
  char row[65], state[65];
  int decided, present;
} ev_ref;

typedef struct ev_wl { /* a watchlist.add event */
  int64_t id, seq;
  char row[65];
  int present;
} ev_wl;

typedef struct ev_wl_removed { /* a watchlist.remove event */
  int64_t id, seq;
  int seen;
} ev_wl_removed;

typedef struct wl_batch { /* a watchlist.import event */
  int64_t seq, first, last;
  char rows[65];
  uint8_t *hashes;  /* (last - first + 1) x 32, filled as rows arrive */
  int64_t have;
} wl_batch;

typedef struct purge_ev {
  int64_t seq;
  int has_cutoffs;
  int64_t enc[CATS], cro[CATS], over; /* INT64_MIN: kept forever */
} purge_ev;

/* A growing array with a map from id to index (open addressing). */
typedef struct table {
  void *v;
  size_t n, cap, size;
  int64_t *keys;
  size_t *slots, nslots;
} table;

static size_t slot_of(const table *t, int64_t id) {
  size_t h = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull) & (t->nslots - 1);
  while (t->keys[h] != 0 && t->keys[h] != id) h = (h + 1) & (t->nslots - 1);
  return h;
}

/* The entry for id (created zeroed with its id when new; a later event with
 * the same id replaces an earlier one: SQLite reuses the id of a deleted
 * newest row). NULL when out of memory. */
static void *entry_for(table *t, int64_t id, int create) {
  if (id <= 0) return NULL;
  if (!t->nslots || (create && 2 * (t->n + 1) > t->nslots)) {
    if (!create && !t->nslots) return NULL;
    size_t ns = t->nslots ? 2 * t->nslots : 1024;
    int64_t *keys = calloc(ns, sizeof *keys);
    size_t *slots = calloc(ns, sizeof *slots);
    if (!keys || !slots) {
      free(keys);
      free(slots);
      return NULL;
    }
    int64_t *ok = t->keys;
    size_t *os = t->slots, on = t->nslots;
    t->keys = keys, t->slots = slots, t->nslots = ns;
    for (size_t i = 0; i < on; i++)
      if (ok[i]) {
        size_t h = slot_of(t, ok[i]);
        t->keys[h] = ok[i];
        t->slots[h] = os[i];
      }
    free(ok);
    free(os);
  }
  size_t h = slot_of(t, id);
  if (t->keys[h] == id) return (char *)t->v + t->slots[h] * t->size;
  if (!create) return NULL;
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 256;
    void *v = realloc(t->v, cap * t->size);
    if (!v) return NULL;
    t->v = v;
    t->cap = cap;
  }
  void *e = (char *)t->v + t->n * t->size;
  memset(e, 0, t->size);
  memcpy(e, &id, sizeof id); /* every entry starts with its id */
  t->keys[h] = id;
  t->slots[h] = t->n++;
  return e;
}

static void table_free(table *t) {
  free(t->v);
  free(t->keys);
  free(t->slots);
}

static int cat_index(const char *name) {
  fg_category c;
  return name && fg_category_parse(name, &c) == FG_OK ? (int)c : CATS - 1;
}

typedef struct recon {
  fg_border *b;
  table enc, cro, ref, wl, wl_removed;
  purge_ev *purges;
  size_t npurges, cappurges;
  wl_batch *batches;
  size_t nbatches, capbatches;
  int64_t now;
  json_t *problems;
  int64_t nproblems, unverifiable, rows[4];
  int oom;
} recon;

static void problem(recon *r, const char *fmt, ...) FG__PRINTF(2, 3);
static void problem(recon *r, const char *fmt, ...) {
  r->nproblems++;
  if (json_array_size(r->problems) >= 20) return;
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_array_append_new(r->problems, json_string(msg));
}

static int64_t obj_id(const char *object, const char *kind) {
  size_t k = strlen(kind);
  if (!object || strncmp(object, kind, k) != 0 || object[k] != ':') return 0;
  return strtoll(object + k + 1, NULL, 10);
}

static int64_t jint(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static void copy_hash(char dst[65], const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  snprintf(dst, 65, "%s", s && strlen(s) == 64 ? s : "");
}

static void cutoffs(const json_t *o, int64_t *out) {
  for (int i = 0; i < CATS; i++) {
    const char *k = i < FG_CATEGORY_COUNT ? fg_category_name((fg_category)i) : "unidentified";
    const json_t *v = json_object_get(o, k);
    out[i] = json_is_integer(v) ? (int64_t)json_integer_value(v) : INT64_MIN;
  }
}

static int event_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  recon *r = ctx;
  int64_t seq = c[0].type == FG_VAL_INT ? c[0].i : 0;
  const char *action = c[1].type == FG_VAL_TEXT ? c[1].s : "";
  const char *object = c[2].type == FG_VAL_TEXT ? c[2].s : "";
  json_t *d = c[3].type == FG_VAL_TEXT ? json_loads(c[3].s, 0, NULL) : NULL;
  /* The record's time: in the detail, else the event's own (a moment later). */
  int64_t at = jint(d, "at") ? jint(d, "at") : (c[4].type == FG_VAL_INT ? c[4].i : 0);
  if (!strcmp(action, "encounter.create")) {
    ev_enc *e = entry_for(&r->enc, obj_id(object, "encounter"), 1);
    if (e) {
      e->seq = seq;
      e->at = at;
      e->traveller = jint(d, "traveller_id");
      e->cat = cat_index(json_string_value(json_object_get(d, "category")));
      copy_hash(e->row, d, "row");
    }
  } else if (!strcmp(action, "crossing.create")) {
    ev_cro *e = entry_for(&r->cro, obj_id(object, "crossing"), 1);
    if (e) {
      e->seq = seq;
      e->at = at;
      e->encounter = jint(d, "encounter_id");
      e->entry = jint(d, "entry_id");
      e->manifest = jint(d, "manifest_id");
      e->cat = cat_index(json_string_value(json_object_get(d, "category")));
      copy_hash(e->row, d, "row");
    }
  } else if (!strcmp(action, "referral.create")) {
    ev_ref *e = entry_for(&r->ref, obj_id(object, "referral"), 1);
    if (e) {
      e->seq = seq;
      e->encounter = jint(d, "encounter_id");
      copy_hash(e->row, d, "row");
      e->decided = 0;
    }
  } else if (!strcmp(action, "referral.decide")) {
    ev_ref *e = entry_for(&r->ref, obj_id(object, "referral"), 0);
    if (e && json_object_get(d, "state")) {
      copy_hash(e->state, d, "state");
      e->decided = 1;
      if (jint(d, "crossing_id") > 0) e->crossing = jint(d, "crossing_id");
      /* A confirm attributes the encounter (COALESCE: only where none was). */
      const char *decision = json_string_value(json_object_get(d, "decision"));
      ev_enc *en = decision && !strcmp(decision, "confirm") ? entry_for(&r->enc, e->encounter, 0) : NULL;
      if (en && !en->traveller) {
        en->traveller = jint(d, "traveller_id");
        if (en->cat == CATS - 1) en->cat = cat_index(json_string_value(json_object_get(d, "category")));
      }
    }
  } else if (!strcmp(action, "watchlist.add")) {
    ev_wl *e = entry_for(&r->wl, obj_id(object, "watchlist"), 1);
    if (e) {
      e->seq = seq;
      copy_hash(e->row, d, "row");
    } else if (obj_id(object, "watchlist") > 0) r->oom = 1;
  } else if (!strcmp(action, "watchlist.remove")) {
    ev_wl_removed *e = entry_for(&r->wl_removed, obj_id(object, "watchlist"), 1);
    if (e) e->seq = seq;
    else if (obj_id(object, "watchlist") > 0) r->oom = 1;
  } else if (!strcmp(action, "watchlist.import")) {
    int64_t first = jint(d, "first_id"), last = jint(d, "last_id");
    if (first > 0 && last >= first && last - first < ((int64_t)1 << 24)) {
      if (r->nbatches == r->capbatches) {
        size_t cap = r->capbatches ? 2 * r->capbatches : 64;
        wl_batch *v = realloc(r->batches, cap * sizeof *v);
        if (!v) r->oom = 1;
        else r->batches = v, r->capbatches = cap;
      }
      if (r->nbatches < r->capbatches) {
        wl_batch *w = &r->batches[r->nbatches++];
        memset(w, 0, sizeof *w);
        w->seq = seq, w->first = first, w->last = last;
        copy_hash(w->rows, d, "rows");
      }
    }
  } else if (!strcmp(action, "purge.run")) {
    if (r->npurges == r->cappurges) {
      size_t cap = r->cappurges ? 2 * r->cappurges : 64;
      purge_ev *v = realloc(r->purges, cap * sizeof *v);
      if (!v) r->oom = 1;
      else r->purges = v, r->cappurges = cap;
    }
    if (r->npurges < r->cappurges) {
      purge_ev *p = &r->purges[r->npurges++];
      memset(p, 0, sizeof *p);
      p->seq = seq;
      const json_t *cut = json_object_get(d, "cutoffs");
      p->has_cutoffs = json_is_object(cut);
      cutoffs(json_object_get(cut, "encounter_records"), p->enc);
      cutoffs(json_object_get(cut, "crossings"), p->cro);
      const json_t *ov = json_object_get(cut, "overstayer_crossings");
      p->over = json_is_integer(ov) ? (int64_t)json_integer_value(ov) : INT64_MIN;
    }
  }
  json_decref(d);
  return 0;
}

/* Was a record created by event `seq` at `at` deleted by a later purge? */
static int purged(const recon *r, int64_t seq, int64_t at, int crossing, int cat) {
  for (size_t i = 0; i < r->npurges; i++) {
    const purge_ev *p = &r->purges[i];
    if (p->seq < seq) continue;
    if (!p->has_cutoffs) return 1; /* an older facegate's purge: it may have */
    int64_t cut = crossing ? p->cro[cat] : p->enc[cat];
    if ((cut != INT64_MIN && at <= cut) || (crossing && p->over != INT64_MIN && at <= p->over))
      return 1;
  }
  return 0;
}

/* ---- the rows -------------------------------------------------------------------------- */

static int enc_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  recon *r = ctx;
  int64_t id = c[0].i;
  r->rows[0]++;
  ev_enc *e = entry_for(&r->enc, id, 0);
  if (!e) {
    problem(r, "encounter %" PRId64 " has no encounter.create event (planted, or its event deleted)", id);
    return 0;
  }
  e->present = 1;
  if (!e->row[0]) {
    r->unverifiable++;
    return 0;
  }
  char h[65];
  fg_audit_row_hash(r->b->keys, "encounter", c, 12, h);
  if (strcmp(h, e->row) != 0) {
    problem(r, "encounter %" PRId64 " does not match its audit event %" PRId64 " (edited)", id, e->seq);
    return 0;
  }
  int64_t trav = c[12].type == FG_VAL_INT ? c[12].i : 0;
  int cat = c[13].type == FG_VAL_TEXT ? cat_index(c[13].s) : CATS - 1;
  if (trav != e->traveller || cat != e->cat)
    problem(r, "encounter %" PRId64 "'s traveller or category is not what its audit events say (edited)", id);
  return 0;
}

static int cro_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  recon *r = ctx;
  int64_t id = c[0].i;
  r->rows[1]++;
  ev_cro *e = entry_for(&r->cro, id, 0);
  if (!e) {
    problem(r, "crossing %" PRId64 " has no crossing.create event (planted, or its event deleted)", id);
    return 0;
  }
  e->present = 1;
  if (!e->row[0]) {
    r->unverifiable++;
    return 0;
  }
  /* Hashed as written: a reference a deletion set to NULL is put back. */
  fg_val v[12];
  memcpy(v, c, sizeof v);
  if (v[5].type == FG_VAL_NULL && e->manifest) v[5] = FG_V_INT(e->manifest);
  if (v[6].type == FG_VAL_NULL && e->encounter) v[6] = FG_V_INT(e->encounter);
  if (v[10].type == FG_VAL_NULL && e->entry) v[10] = FG_V_INT(e->entry);
  char h[65];
  fg_audit_row_hash(r->b->keys, "crossing", v, 12, h);
  if (strcmp(h, e->row) != 0)
    problem(r, "crossing %" PRId64 " does not match its audit event %" PRId64 " (edited)", id, e->seq);
  return 0;
}

static int ref_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  recon *r = ctx;
  int64_t id = c[0].i;
  r->rows[2]++;
  ev_ref *e = entry_for(&r->ref, id, 0);
  if (!e) {
    problem(r, "referral %" PRId64 " has no referral.create event (planted, or its event deleted)", id);
    return 0;
  }
  e->present = 1;
  if (!e->row[0]) {
    r->unverifiable++;
    return 0;
  }
  char h[65];
  fg_audit_row_hash(r->b->keys, "referral", c, 5, h);
  if (strcmp(h, e->row) != 0) {
    problem(r, "referral %" PRId64 " does not match its audit event %" PRId64 " (edited)", id, e->seq);
    return 0;
  }
  fg_val st[6];
  memcpy(st, c + 5, sizeof st);
  if (st[5].type == FG_VAL_NULL && e->crossing) st[5] = FG_V_INT(e->crossing);
  char want[65];
  if (e->decided) {
    snprintf(want, sizeof want, "%s", e->state);
  } else { /* as opened */
    fg_val open[6] = {FG_V_TEXT("open"), FG_V_NULL, FG_V_NULL, FG_V_NULL, FG_V_NULL, FG_V_NULL};
    hash_referral_state(r->b, open, want);
  }
  hash_referral_state(r->b, st, h);
  if (strcmp(h, want) != 0)
    problem(r, "referral %" PRId64 "'s status or decision is not what its audit events say (edited)", id);
  return 0;
}

static int batch_cmp(const void *x, const void *y) {
  const wl_batch *a = x, *b = y;
  if (a->first != b->first) return a->first < b->first ? -1 : 1;
  return (a->seq > b->seq) - (a->seq < b->seq);
}

/* The batch whose id range holds id (the latest by seq where ranges overlap:
 * SQLite may hand out again the ids of a rolled-back batch's... never of a
 * committed one, but a forged event could claim any range). */
static wl_batch *batch_of(recon *r, int64_t id) {
  size_t lo = 0, hi = r->nbatches;
  while (lo < hi) { /* the first batch with first > id */
    size_t mid = (lo + hi) / 2;
    if (r->batches[mid].first <= id) lo = mid + 1;
    else hi = mid;
  }
  for (size_t i = lo; i-- > 0;)
    if (r->batches[i].last >= id) return &r->batches[i];
  return NULL;
}

static int wl_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  recon *r = ctx;
  int64_t id = c[0].i;
  r->rows[3]++;
  char h[65];
  fg__hash_watchlist(r->b, c, h);
  ev_wl *e = entry_for(&r->wl, id, 0);
  wl_batch *w = e ? NULL : batch_of(r, id);
  if (e) {
    e->present = 1;
    if (!e->row[0]) r->unverifiable++;
    else if (strcmp(h, e->row) != 0)
      problem(r, "watchlist entry %" PRId64 " does not match its audit event %" PRId64 " (edited)", id, e->seq);
  } else if (w) {
    if (!w->hashes && !(w->hashes = calloc((size_t)(w->last - w->first + 1), 32))) {
      r->oom = 1;
      return 0;
    }
    sodium_hex2bin(w->hashes + 32 * (size_t)(id - w->first), 32, h, 64, NULL, NULL, NULL);
    w->have++;
  } else {
    problem(r, "watchlist entry %" PRId64 " has no watchlist.add or watchlist.import event (planted, "
            "or its event deleted)", id);
  }
  ev_wl_removed *rm = entry_for(&r->wl_removed, id, 0);
  int removed = c[4].type != FG_VAL_NULL;
  if (rm) rm->seen = 1;
  if (removed && !rm)
    problem(r, "watchlist entry %" PRId64 " is marked removed but no watchlist.remove event says so (edited)", id);
  if (!removed && rm)
    problem(r, "watchlist entry %" PRId64 " was removed (audit event %" PRId64 ") but is live again (edited)", id,
            rm->seq);
  int64_t expires = c[3].type == FG_VAL_INT ? c[3].i : 0;
  int64_t templates = c[5].type == FG_VAL_INT ? c[5].i : 0;
  if (!removed && (expires <= 0 || expires > r->now) && templates == 0)
    problem(r, "watchlist entry %" PRId64 " is live but has no templates (deleted behind facegate's back: it "
            "can no longer be screened)", id);
  return 0;
}

/* After every row: what the watchlist events created and is gone, and each
 * batch against its hash. */
static void wl_check_events(recon *r) {
  for (size_t i = 0; i < r->wl.n; i++) {
    ev_wl *e = (ev_wl *)r->wl.v + i;
    if (!e->present)
      problem(r, "watchlist entry %" PRId64 " was deleted (entries are kept for the audit trail)", e->id);
  }
  for (size_t i = 0; i < r->wl_removed.n; i++) {
    ev_wl_removed *e = (ev_wl_removed *)r->wl_removed.v + i;
    if (!e->seen && !entry_for(&r->wl, e->id, 0) && !batch_of(r, e->id))
      problem(r, "watchlist entry %" PRId64 " removed by audit event %" PRId64 " has no creating event", e->id,
              e->seq);
  }
  for (size_t i = 0; i < r->nbatches; i++) {
    wl_batch *w = &r->batches[i];
    int64_t count = w->last - w->first + 1;
    if (!w->rows[0]) {
      r->unverifiable += w->have;
    } else if (w->have < count) {
      problem(r, "%" PRId64 " of the %" PRId64 " watchlist entries of audit event %" PRId64 " (ids %" PRId64
              "-%" PRId64 ") are missing (deleted)", count - w->have, count, w->seq, w->first, w->last);
    } else {
      char h[65];
      fg__hash_watchlist_batch(r->b, w->hashes, (size_t)count, h);
      if (strcmp(h, w->rows) != 0)
        problem(r, "the watchlist entries of audit event %" PRId64 " (ids %" PRId64 "-%" PRId64 ") do not "
                "match it (edited)", w->seq, w->first, w->last);
    }
  }
}

int fg__reconcile(fg_border *b, json_t **out, fg_error *err) {
  *out = NULL;
  recon r = {.b = b, .problems = json_array()};
  r.enc.size = sizeof(ev_enc);
  r.cro.size = sizeof(ev_cro);
  r.ref.size = sizeof(ev_ref);
  r.wl.size = sizeof(ev_wl);
  r.wl_removed.size = sizeof(ev_wl_removed);
  r.now = fg_border_now(b);
  int rc = r.problems ? FG_OK : fg__seterr(err, FG_ENOMEM, "out of memory");
  if (rc == FG_OK) rc = fg_store_exec(b->store, &FG_Q_REC_AUDIT_RECORD_EVENTS, NULL, 0, event_row, &r, err);
  if (rc == FG_OK) rc = fg_store_exec(b->store, &FG_Q_REC_AUDITED_ENCOUNTERS, NULL, 0, enc_row, &r, err);
  if (rc == FG_OK) rc = fg_store_exec(b->store, &FG_Q_REC_AUDITED_CROSSINGS, NULL, 0, cro_row, &r, err);
  if (rc == FG_OK) rc = fg_store_exec(b->store, &FG_Q_REC_AUDITED_REFERRALS, NULL, 0, ref_row, &r, err);
  if (rc == FG_OK) {
    if (r.nbatches) qsort(r.batches, r.nbatches, sizeof *r.batches, batch_cmp);
    rc = fg_store_exec(b->store, &FG_Q_REC_AUDITED_WATCHLIST, NULL, 0, wl_row, &r, err);
  }
  if (rc == FG_OK && r.oom) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  if (rc == FG_OK) wl_check_events(&r);
  if (rc == FG_OK) { /* what the events created and is gone */
    for (size_t i = 0; i < r.enc.n; i++) {
      ev_enc *e = (ev_enc *)r.enc.v + i;
      if (!e->present && !purged(&r, e->seq, e->at, 0, e->cat))
        problem(&r, "encounter %" PRId64 " was deleted (no purge accounts for it)", e->id);
    }
    for (size_t i = 0; i < r.cro.n; i++) {
      ev_cro *e = (ev_cro *)r.cro.v + i;
      if (!e->present && !purged(&r, e->seq, e->at, 1, e->cat))
        problem(&r, "crossing %" PRId64 " was deleted (no purge accounts for it)", e->id);
    }
    for (size_t i = 0; i < r.ref.n; i++) {
      ev_ref *e = (ev_ref *)r.ref.v + i;
      if (e->present) continue;
      ev_enc *en = entry_for(&r.enc, e->encounter, 0);
      int with_encounter = en && !en->present && purged(&r, en->seq, en->at, 0, en->cat);
      if (!with_encounter)
        problem(&r, "referral %" PRId64 " was deleted (no purge of its encounter accounts for it)",
                e->id);
    }
  }
  if (rc == FG_OK) {
    *out = json_pack("{s:b, s:I, s:O, s:{s:I, s:I, s:I, s:I}, s:I}", "ok", r.nproblems == 0,
                     "problem_count", (json_int_t)r.nproblems, "problems", r.problems, "checked",
                     "encounters", (json_int_t)r.rows[0], "crossings", (json_int_t)r.rows[1],
                     "referrals", (json_int_t)r.rows[2], "watchlist", (json_int_t)r.rows[3],
                     "unverifiable", (json_int_t)r.unverifiable);
    if (!*out) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  json_decref(r.problems);
  table_free(&r.enc);
  table_free(&r.cro);
  table_free(&r.ref);
  table_free(&r.wl);
  table_free(&r.wl_removed);
  for (size_t i = 0; i < r.nbatches; i++) free(r.batches[i].hashes);
  free(r.batches);
  free(r.purges);
  return rc;
}
