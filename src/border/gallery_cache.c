/*
 * The staged galleries in memory: each open manifest's flight gallery and the
 * live watchlist, built from the sealed templates in the store and kept in
 * the fg_border until the data they came from changes.
 *
 * Flight galleries (fp32; subject id = the traveller id in decimal) hold one
 * template per traveller: the centroid of their accepted document photos'
 * templates (fg_gallery_add_centroid; with two photos it misses fewer mates
 * than max-fusion over separate templates, docs/matching.md). They are cached in b->flights[], at most
 * FG__FLIGHT_CACHE manifests, the oldest slot replaced first (round-robin).
 * A cached gallery is reused while manifests.revision is unchanged: every
 * import and amend bumps it in the transaction that changes the photos, and
 * the revision is read BEFORE the templates, so a gallery is never labelled
 * with a revision newer than its contents (at worst it is rebuilt once more).
 *
 * The watchlist gallery (fp16; subject id = the watchlist entry id) holds one
 * template per entry neither removed nor expired, the centroid of its photos. It is rebuilt when meta
 * 'watchlist_revision' changes (watchlist.c bumps it on every add and
 * remove) and when the earliest expiry among the entries it holds has come.
 * That expiry is kept in the cache's `key` (the watchlist has no other key).
 * A watchlist of FG__WATCHLIST_INDEX_MIN entries or more gets a sketch index
 * (fg_gallery_sketch_build: a million entries screened in about 2 ms instead
 * of 20+, docs/matching.md). This process's own adds and removes are applied
 * to the cached gallery and its index (fg__watchlist_cache_changed) rather
 * than rebuilding it from the store, as long as the cache was current when
 * the change began; another server's changes (or a stale cache) still mean a
 * rebuild.
 *
 * Several servers on one store (PostgreSQL): every change above is also
 * announced (fg__border_announce, sent with the writer's commit), and each
 * border listens. A cached gallery whose revision was read is then trusted
 * without reading it again until an announcement for it arrives, the
 * connection to the database is re-established (announcements may have been
 * missed), or TRUST_MS pass; an announced change reaches the next capture
 * on every server (the watchlist within the 2 s that docs/deployment.md
 * promises). On SQLite the revision is read before every use, as one
 * process writes.
 *
 * Every template is unsealed (bound to its row) and decoded against the face
 * engine's model: a template that does not open or is damaged fails the build
 * (FG_EAUTH, FG_EFORMAT...) rather than silently leaving a traveller out. A
 * template made by another model (the gates switched models) is left out of
 * the first build; those met are then re-enrolled from their sealed photos
 * (reenrol.c), and the gallery is built again with the revision read again.
 * What still cannot be re-enrolled (the photo is gone, or has no face for
 * this model) stays out, counted in the cache's left_out and recorded where
 * operators see it (reenrol.c); one such traveller never stops a flight.
 * Plaintext templates are wiped once added.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "facegate/log.h"
#include "store/sql_manifest.h"

/* How long a trusted gallery goes without its revision being read again. */
#define TRUST_MS 60000.0

typedef struct build_ctx {
  fg_border *b;
  const char *table;     /* whose template_sealed column (sealing's associated data) */
  fg_encoding enc;
  uint8_t model8[FG_TEMPLATE_MODEL_ID_BYTES];
  uint8_t model16[FG_GALLERY_MODEL_ID_BYTES];
  fg_gallery *g;
  int64_t manifest;      /* flights: the manifest (for the stale list) */
  fg__stale_list stale;  /* templates of another model, left out */
  int64_t min_expiry;    /* watchlist: earliest expires_at included (0: none) */
  /* the current subject's templates (rows arrive ordered by subject), enrolled as
   * their centroid when the subject changes and at the end */
  int64_t subject;
  float *pending;        /* n_pending x dim plaintext values, wiped after use */
  size_t n_pending, cap_pending, dim;
  size_t photos;         /* templates read */
  int pending_harsh;     /* every pending template is harsh-lit */
} build_ctx;

static void cache_clear(fg__gallery_cache *c) {
  fg_gallery_destroy(c->g);
  memset(c, 0, sizeof *c);
}

/* Hand out a cached gallery and the photo count it was built from. */
static int cache_give(const fg__gallery_cache *c, const fg_gallery **g, size_t *photos) {
  *g = c->g;
  if (photos) *photos = c->photos;
  return FG_OK;
}

/* Keep a freshly built gallery in c, then hand it out. */
static int cache_keep(fg_border *b, fg__gallery_cache *c, int64_t key, int64_t revision,
                      fg_gallery *ng, size_t n, size_t left_out, const fg_gallery **g, size_t *photos) {
  *c = (fg__gallery_cache){.key = key, .revision = revision, .valid = 1, .g = ng, .photos = n,
                           .left_out = left_out};
  c->trusted = (fg_store_caps(b->store) & FG_STORE_CAP_NOTIFY) != 0;
  c->checked_ms = fg__ms();
  return cache_give(c, g, photos);
}

/* The revision was read again and is unchanged. */
static void cache_checked(fg_border *b, fg__gallery_cache *c) {
  c->trusted = (fg_store_caps(b->store) & FG_STORE_CAP_NOTIFY) != 0;
  c->checked_ms = fg__ms();
}

static int cache_trusted(const fg__gallery_cache *c) {
  return c->valid && c->trusted && fg__ms() - c->checked_ms < TRUST_MS;
}

/* An announcement: distrust what it names (NULL channel: everything). */
static void on_announce(void *ctx, const char *channel, const char *payload) {
  fg_border *b = ctx;
  int all = channel == NULL;
  if (all || !strcmp(channel, FG__CHANNEL_WATCHLIST)) b->watchlist.trusted = 0;
  if (all || !strcmp(channel, FG__CHANNEL_MANIFEST)) {
    int64_t id = payload && *payload ? strtoll(payload, NULL, 10) : 0;
    for (int i = 0; i < FG__FLIGHT_CACHE; i++)
      if (id <= 0 || b->flights[i].key == id) b->flights[i].trusted = 0;
  }
}

int fg__gallery_cache_listen(fg_border *b, fg_error *err) {
  int rc = fg_store_listen(b->store, FG__CHANNEL_WATCHLIST, err);
  return rc == FG_OK ? fg_store_listen(b->store, FG__CHANNEL_MANIFEST, err) : rc;
}

int fg__border_announce(fg_border *b, const char *channel, int64_t id, fg_error *err) {
  char payload[24] = "";
  if (id > 0) snprintf(payload, sizeof payload, "%" PRId64, id);
  return fg_store_notify(b->store, channel, payload, err);
}

/* Enrol the pending subject's templates as one centroid template. */
static int flush_subject(build_ctx *bc, fg_error *err) {
  if (bc->n_pending == 0) return FG_OK;
  int rc = FG_OK;
  if (!bc->g) rc = fg_gallery_create((uint32_t)bc->dim, bc->enc, bc->model16, &bc->g, err);
  char subject[24];
  snprintf(subject, sizeof subject, "%" PRId64, bc->subject);
  size_t t = 0;
  if (rc == FG_OK)
    rc = fg_gallery_add_centroid(bc->g, subject, bc->pending, bc->n_pending, bc->dim, 0, &t, err);
  /* the centroid is harsh-lit when every photo it averages is (the flight
   * search and the watchlist screen read it from the template) */
  if (rc == FG_OK && bc->pending_harsh)
    rc = fg_gallery_set_template_capture(bc->g, t, FG_TEMPLATE_CAPTURE_HARSH_LIGHT, err);
  sodium_memzero(bc->pending, bc->n_pending * bc->dim * sizeof(float));
  bc->n_pending = 0;
  return rc;
}

/* Keep one decoded template of the current subject. */
static int keep_template(build_ctx *bc, int64_t subject, const fg_template *t, fg_error *err) {
  if (bc->n_pending && subject != bc->subject) {
    int rc = flush_subject(bc, err);
    if (rc != FG_OK) return rc;
  }
  if (!bc->g && bc->n_pending == 0) bc->dim = (size_t)t->dim;
  if ((size_t)t->dim != bc->dim)
    return fg__seterr(err, FG_EFORMAT, "%s: templates of %d and %zu values", bc->table, t->dim, bc->dim);
  if (bc->n_pending == bc->cap_pending) {
    size_t cap = bc->cap_pending ? 2 * bc->cap_pending : 4;
    float *p = malloc(cap * bc->dim * sizeof *p);
    if (!p) return fg__seterr(err, FG_ENOMEM, "out of memory");
    if (bc->pending) { /* not realloc: the old copy of plaintext biometrics is wiped first */
      memcpy(p, bc->pending, bc->n_pending * bc->dim * sizeof *p);
      sodium_memzero(bc->pending, bc->n_pending * bc->dim * sizeof *p);
    }
    free(bc->pending);
    bc->pending = p, bc->cap_pending = cap;
  }
  memcpy(bc->pending + bc->n_pending * bc->dim, t->values, bc->dim * sizeof(float));
  bc->pending_harsh = (bc->n_pending == 0 || bc->pending_harsh) && (t->capture & FG_TEMPLATE_CAPTURE_HARSH_LIGHT);
  bc->n_pending++;
  bc->photos++;
  bc->subject = subject;
  return FG_OK;
}

/* One row: (template row id, subject id, template_sealed[, expires_at]). */
static int add_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  build_ctx *bc = ctx;
  if (c[0].type != FG_VAL_INT || c[1].type != FG_VAL_INT || c[2].type != FG_VAL_BLOB)
    return fg__seterr(err, FG_EFORMAT, "%s: a template row of the wrong shape", bc->table);
  if (n > 3 && c[3].type == FG_VAL_INT && c[3].i > 0 &&
      (bc->min_expiry == 0 || c[3].i < bc->min_expiry))
    bc->min_expiry = c[3].i;
  uint8_t *plain = NULL;
  size_t len = 0;
  int rc = fg__border_unseal(bc->b, bc->table, "template_sealed", c[0].i, c[2].b, c[2].n, &plain,
                             &len, err);
  if (rc != FG_OK) return rc;
  fg_template t;
  fg_error e = {0};
  rc = fg_template_decode(plain, len, bc->model8, &t, &e);
  if (rc == FG_EMODEL) /* another model's: re-enrolled after this build */
    rc = fg__stale_add(&bc->stale, c[0].i, c[1].i, bc->manifest, plain + 8, err);
  else if (rc != FG_OK)
    rc = fg__seterr(err, rc, "%s %" PRId64 ": %s", bc->table, c[0].i, e.msg);
  else
    rc = 1; /* decoded */
  sodium_memzero(plain, len);
  free(plain);
  if (rc != 1) return rc;
  rc = keep_template(bc, c[1].i, &t, err);
  sodium_memzero(t.values, (size_t)t.dim * sizeof(float));
  fg_template_release(&t);
  return rc;
}

/* Run q over the store and build a gallery from its rows; templates of
 * another model are left out and listed in *stale (the caller frees it). */
static int build_once(fg_border *b, const char *table, fg_encoding enc, const fg_query *q,
                      const fg_val *params, int np, int64_t manifest, fg_gallery **g, size_t *photos,
                      int64_t *min_expiry, fg__stale_list *stale, fg_error *err) {
  fg_face_engine *fe;
  int rc = fg__border_face(b, &fe, err);
  if (rc != FG_OK) return rc;
  build_ctx bc = {.b = b, .table = table, .enc = enc, .manifest = manifest};
  fg_face_engine_model_id(fe, bc.model8);
  fg_gallery_model_id_from_hex(fg_face_engine_model_sha256(fe), bc.model16);
  rc = fg_store_exec(b->store, q, params, np, add_row, &bc, err);
  if (rc == FG_OK) rc = flush_subject(&bc, err);
  if (bc.pending) sodium_memzero(bc.pending, bc.n_pending * bc.dim * sizeof(float));
  free(bc.pending);
  *stale = bc.stale;
  if (rc != FG_OK) {
    fg_gallery_destroy(bc.g);
    return rc;
  }
  *g = bc.g;
  *photos = bc.photos;
  if (min_expiry) *min_expiry = bc.min_expiry;
  return FG_OK;
}

/* build_once; when templates of another model were met, they are re-enrolled
 * and, if any was, the revision (rq, rp) is read again and the gallery built
 * again. *left_out: templates still left out. A re-enrolment that fails (a
 * read-only store...) leaves them out of this build, with a warning. */
static int build(fg_border *b, const char *table, fg_encoding enc, const fg_query *q,
                 const fg_val *params, int np, int64_t manifest, const fg_query *rq,
                 const fg_val *rp, int rnp, int64_t *revision, fg_gallery **g, size_t *photos,
                 size_t *left_out, int64_t *min_expiry, fg_error *err) {
  fg__stale_list stale = {0};
  int rc = build_once(b, table, enc, q, params, np, manifest, g, photos, min_expiry, &stale, err);
  *left_out = stale.n;
  /* Not inside a caller's transaction: each re-enrolment is a transaction of its own. */
  if (rc == FG_OK && stale.n && fg_store_depth(b->store) == 0) {
    fg_reenrol_counts c = {0};
    fg_error e = {0};
    int watchlist = !strcmp(table, "watchlist_templates");
    if (fg__reenrol(b, NULL, watchlist, &stale, 0, &c, NULL, 0, stale.n, &e) != FG_OK)
      fg__log(FG_LOG_WARN, "%s: %zu template(s) of another model left out, re-enrolment failed: %s", table,
              stale.n, e.msg);
    fg__stale_free(&stale);
    if (c.reenrolled) {
      fg_gallery_destroy(*g);
      *g = NULL;
      rc = fg_store_exec_int(b->store, rq, rp, rnp, revision, NULL, err);
      if (rc == FG_OK)
        rc = build_once(b, table, enc, q, params, np, manifest, g, photos, min_expiry, &stale, err);
      *left_out = stale.n;
    }
  }
  fg__stale_free(&stale);
  return rc;
}

int fg__flight_gallery(fg_border *b, int64_t manifest_id, const fg_gallery **g, size_t *photos,
                       fg_error *err) {
  *g = NULL;
  if (photos) *photos = 0;
  fg_store_poll(b->store, on_announce, b);
  fg__gallery_cache *slot = NULL;
  for (int i = 0; i < FG__FLIGHT_CACHE; i++)
    if (b->flights[i].valid && b->flights[i].key == manifest_id) slot = &b->flights[i];
  if (slot && cache_trusted(slot)) return cache_give(slot, g, photos);
  fg_val id = FG_V_INT(manifest_id);
  int64_t revision = 0;
  int found = 0;
  int rc = fg_store_exec_int(b->store, &FG_Q_GAL_FLIGHT_REVISION, &id, 1, &revision, &found, err);
  if (rc != FG_OK) return rc;
  if (!found) return fg__seterr(err, FG_ENOTFOUND, "no manifest %lld", (long long)manifest_id);
  if (slot && slot->revision == revision) {
    cache_checked(b, slot);
    return cache_give(slot, g, photos);
  }
  if (!slot) {
    slot = &b->flights[b->flight_next % FG__FLIGHT_CACHE];
    b->flight_next = (b->flight_next + 1) % FG__FLIGHT_CACHE;
  }
  cache_clear(slot);
  fg_gallery *ng = NULL;
  size_t n = 0, left_out = 0;
  rc = build(b, "photos", FG_ENCODING_FP32, &FG_Q_GAL_FLIGHT_TEMPLATES, &id, 1, manifest_id,
             &FG_Q_GAL_FLIGHT_REVISION, &id, 1, &revision, &ng, &n, &left_out, NULL, err);
  if (rc != FG_OK) return rc;
  return cache_keep(b, slot, manifest_id, revision, ng, n, left_out, g, photos);
}

int fg__watchlist_gallery(fg_border *b, const fg_gallery **g, size_t *photos, fg_error *err) {
  *g = NULL;
  if (photos) *photos = 0;
  int64_t revision = 0, now = fg_border_now(b);
  fg__gallery_cache *c = &b->watchlist;
  fg_store_poll(b->store, on_announce, b);
  /* c->key: the earliest expiry among the entries held (0: none expires). */
  int unexpired = c->key == 0 || now < c->key;
  if (cache_trusted(c) && unexpired) return cache_give(c, g, photos);
  int rc = fg_store_exec_int(b->store, &FG_Q_GAL_WATCHLIST_REVISION, NULL, 0, &revision, NULL, err);
  if (rc != FG_OK) return rc;
  if (c->valid && c->revision == revision && unexpired) {
    cache_checked(b, c);
    return cache_give(c, g, photos);
  }
  cache_clear(c);
  fg_gallery *ng = NULL;
  int64_t min_expiry = 0;
  fg_val at = FG_V_INT(now);
  size_t n = 0, left_out = 0;
  rc = build(b, "watchlist_templates", FG_ENCODING_FP16, &FG_Q_GAL_WATCHLIST_TEMPLATES, &at, 1, 0,
             &FG_Q_GAL_WATCHLIST_REVISION, NULL, 0, &revision, &ng, &n, &left_out, &min_expiry, err);
  if (rc != FG_OK) return rc;
  fg_gallery_info gi;
  fg_gallery_get_info(ng, &gi);
  if (ng && gi.n_subjects >= FG__WATCHLIST_INDEX_MIN && (rc = fg_gallery_sketch_build(ng, NULL, err)) != FG_OK) {
    fg_gallery_destroy(ng);
    return rc;
  }
  return cache_keep(b, c, min_expiry, revision, ng, n, left_out, g, photos);
}

int fg__watchlist_revision(fg_border *b, int64_t *revision, fg_error *err) {
  *revision = 0;
  return fg_store_exec_int(b->store, &FG_Q_GAL_WATCHLIST_REVISION, NULL, 0, revision, NULL, err);
}

void fg__watchlist_cache_changed(fg_border *b, int64_t before, int64_t after, int64_t id, const float *embs, int n,
                                 int dim, unsigned capture, int64_t expires_at, size_t photos_removed) {
  fg__gallery_cache *c = &b->watchlist;
  if (!c->valid || c->revision != before || !c->g) { /* not current (or empty): the next capture rebuilds */
    cache_clear(c);
    return;
  }
  char subject[24];
  snprintf(subject, sizeof subject, "%" PRId64, id);
  int rc;
  if (embs) {
    size_t t = 0;
    rc = fg_gallery_add_centroid(c->g, subject, embs, (size_t)n, (size_t)dim, 0, &t, NULL);
    if (rc == FG_OK && capture) rc = fg_gallery_set_template_capture(c->g, t, capture, NULL);
    if (rc == FG_OK) {
      c->photos += (size_t)n;
      if (expires_at > 0 && (c->key == 0 || expires_at < c->key)) c->key = expires_at;
    }
  } else {
    size_t gone = 0;
    rc = fg_gallery_remove(c->g, subject, &gone, NULL);
    if (rc == FG_ENOTFOUND) rc = FG_OK; /* an expired entry the gallery no longer held */
    if (rc == FG_OK) c->photos = c->photos > photos_removed ? c->photos - photos_removed : 0;
  }
  fg_gallery_info gi;
  if (rc == FG_OK) fg_gallery_get_info(c->g, &gi);
  if (rc != FG_OK || gi.n_subjects == 0) { /* failed, or the last entry went: an empty watchlist has no gallery */
    cache_clear(c);
    return;
  }
  c->revision = after;
}

void fg__gallery_cache_reset(fg_border *b) {
  for (int i = 0; i < FG__FLIGHT_CACHE; i++) cache_clear(&b->flights[i]);
  cache_clear(&b->watchlist);
  b->flight_next = 0;
}

void fg__gallery_cache_release(fg_border *b) { fg__gallery_cache_reset(b); }
