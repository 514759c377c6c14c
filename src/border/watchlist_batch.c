/*
 * Bulk loading of the watchlist: many entries in one transaction
 * (fg_border_watchlist_add_batch; the file importer, watchlist_import.c,
 * writes through it).
 *
 * One entry at a time (watchlist.c) costs a durable commit, a revision bump
 * and an audit event each: about 300 entries a second, an hour for a national
 * list of a million. A batch writes N entries with what one entry costs once:
 *
 *   - the ids of its entries and templates are reserved up front
 *     (fg_store_reserve_ids), so every row is sealed to its id before it is
 *     inserted whole (no insert-then-update, no round trip per row on
 *     PostgreSQL, whose inserts are pipelined);
 *   - each entry's name and reason are sealed to watchlist.entry_sealed, each
 *     template (FGT1 fp32) and photo to its watchlist_templates row, exactly
 *     as for a single entry: nothing personal or biometric in the clear;
 *   - one revision bump, one announcement, and one "watchlist.import" audit
 *     event: {"entries", "templates", "first_id", "last_id", "rows",
 *     "source"[, "import", "batch", "lines"]}, where "rows" is the keyed hash
 *     (fg__hash_watchlist_batch) over the row hash of every entry in id order
 *     (fg__hash_watchlist: id, added_by, created_at, expires_at), so that
 *     `facegate audit verify` accounts for every row of the batch
 *     (reconcile.c) and names a batch whose rows were edited, deleted or
 *     joined by a planted one;
 *   - after the commit, the cached watchlist gallery (and its index) takes
 *     the batch's entries in one pass (fg__watchlist_cache_changed), or is
 *     rebuilt at the next capture if it was not current; a gallery the batch
 *     takes past FG__WATCHLIST_INDEX_MIN entries gets its sketch index then.
 *
 * All or nothing: any failure rolls the batch back and names the entry.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "store/sql_encounter.h"

/* The photos of entry `idx` through the face pipeline into out (n x dim),
 * each one's capture flags (harsh light, from its quality) into caps. */
static int embed_photos(fg_border *b, fg_face_engine *fe, const fg_watchlist_entry *e, size_t idx,
                        int dim, float *out, uint8_t *caps, fg_error *err) {
  fg_face_result *fr = b->scratch;
  for (int i = 0; i < e->n; i++) {
    fg_error e2 = {0};
    int rc;
    if (!e->photos[i] || !e->photo_lens[i])
      return fg__seterr(err, FG_EINVAL, "watchlist entry %zu: photo %d is empty", idx, i + 1);
    if ((rc = fg_face_process_buffer(fe, e->photos[i], e->photo_lens[i], NULL, fr, &e2)) != FG_OK)
      return fg__seterr(err, rc == FG_ENOMEM ? rc : FG_EINVAL,
                        "watchlist entry %zu: photo %d cannot be read: %s", idx, i + 1, e2.msg);
    if (fr->status == FG_FACE_NO_FACE)
      return fg__seterr(err, FG_EINVAL, "watchlist entry %zu: photo %d: no face found", idx, i + 1);
    if (fr->status != FG_FACE_OK || fr->dim != dim)
      return fg__seterr(err, FG_EINVAL, "watchlist entry %zu: photo %d: quality %.0f too low", idx,
                        i + 1, (double)fr->quality.score);
    memcpy(out + (size_t)i * (size_t)dim, fr->embedding, (size_t)dim * sizeof *out);
    caps[i] = fg_face_quality_harsh_light(&fr->quality) ? FG_TEMPLATE_CAPTURE_HARSH_LIGHT : 0;
  }
  return FG_OK;
}

static int check_entry(const fg_watchlist_entry *e, size_t idx, fg_error *err) {
  if (!e->name || !*e->name)
    return fg__seterr(err, FG_EINVAL, "watchlist entry %zu: a name is required", idx);
  if (!e->reason || !*e->reason)
    return fg__seterr(err, FG_EINVAL, "watchlist entry %zu: a reason is required", idx);
  if (e->n < 1 || e->n > FG_WATCHLIST_PHOTOS_MAX)
    return fg__seterr(err, FG_EINVAL, "watchlist entry %zu: %d templates (1 to %d)", idx, e->n,
                      FG_WATCHLIST_PHOTOS_MAX);
  if (!e->embeddings == !e->photos)
    return fg__seterr(err, FG_EINVAL, "watchlist entry %zu: give either embeddings or photos", idx);
  if (e->photos && !e->photo_lens)
    return fg__seterr(err, FG_EINVAL, "watchlist entry %zu: photo lengths missing", idx);
  if (e->expires_at < 0)
    return fg__seterr(err, FG_EINVAL, "watchlist entry %zu: a negative expiry", idx);
  char what[64];
  snprintf(what, sizeof what, "watchlist entry %zu: name", idx);
  int rc = fg__border_text(what, e->name, 256, err);
  snprintf(what, sizeof what, "watchlist entry %zu: reason", idx);
  return rc == FG_OK ? fg__border_text(what, e->reason, 1024, err) : rc;
}

/* One template sealed to watchlist_templates row `row` of entry `entry`. */
static int insert_template(fg_border *b, int64_t row, int64_t entry, const float *emb, int dim,
                           unsigned capture, const uint8_t *image, size_t image_len, fg_error *err) {
  uint8_t *tpl_sealed, *img_sealed;
  size_t tpl_sealed_n, img_sealed_n;
  int rc = fg__watchlist_seal(b, row, emb, dim, capture, image, image_len, &tpl_sealed,
                              &tpl_sealed_n, &img_sealed, &img_sealed_n, err);
  if (rc == FG_OK) {
    fg_val v[4] = {FG_V_INT(row), FG_V_INT(entry), FG_V_BLOB(img_sealed, img_sealed_n),
                   FG_V_BLOB(tpl_sealed, tpl_sealed_n)};
    rc = fg_store_exec(b->store, &FG_Q_WL_TEMPLATE_INSERT_ID, v, 4, NULL, NULL, err);
  }
  free(tpl_sealed);
  free(img_sealed);
  return rc;
}

/* The entry row `id`, its name and reason sealed to it; its row hash into h. */
static int insert_entry_row(fg_border *b, int64_t id, const char *added_by, int64_t now,
                            const fg_watchlist_entry *e, uint8_t h[32], fg_error *err) {
  json_t *j = json_pack("{s:s, s:s}", "name", e->name, "reason", e->reason);
  if (!j) return fg__seterr(err, FG_ENOMEM, "out of memory");
  uint8_t *sealed = NULL;
  size_t sn = 0;
  int rc = fg__seal_json(b, "watchlist", "entry_sealed", id, j, &sealed, &sn, err);
  json_decref(j);
  if (rc == FG_OK) {
    fg_val v[5] = {FG_V_INT(id), FG_V_TEXT(added_by), FG_V_INT(now),
                   e->expires_at > 0 ? FG_V_INT(e->expires_at) : FG_V_NULL, FG_V_BLOB(sealed, sn)};
    rc = fg_store_exec(b->store, &FG_Q_WL_INSERT_ID, v, 5, NULL, NULL, err);
    char hex[65];
    fg__hash_watchlist(b, v, hex);
    sodium_hex2bin(h, 32, hex, 64, NULL, NULL, NULL);
  }
  free(sealed);
  return rc;
}

int fg__watchlist_write_batch(fg_border *b, const fg_actor *who, const fg_watchlist_entry *entries,
                              size_t n, const float *embs, const uint8_t *caps, int dim,
                              const char *source, json_t *extra, fg_watchlist_batch_result *r,
                              fg_error *err) {
  size_t templates = 0;
  for (size_t i = 0; i < n; i++) templates += (size_t)entries[i].n;
  uint8_t *rows = malloc(32 * n);
  if (!rows) {
    json_decref(extra);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  const char *added_by = who && who->name ? who->name : "unknown";
  int64_t now = fg_border_now(b), first = 0, tfirst = 0, before = 0, after = 0;
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) {
    free(rows);
    json_decref(extra);
    return rc;
  }
  rc = fg__watchlist_revision(b, &before, err);
  if (rc == FG_OK) rc = fg_store_reserve_ids(b->store, "watchlist", (int64_t)n, &first, err);
  if (rc == FG_OK)
    rc = fg_store_reserve_ids(b->store, "watchlist_templates", (int64_t)templates, &tfirst, err);
  size_t t = 0;
  for (size_t i = 0; rc == FG_OK && i < n; i++) {
    const fg_watchlist_entry *e = &entries[i];
    int64_t id = first + (int64_t)i;
    rc = insert_entry_row(b, id, added_by, now, e, rows + 32 * i, err);
    for (int k = 0; rc == FG_OK && k < e->n; k++, t++)
      rc = insert_template(b, tfirst + (int64_t)t, id, embs + t * (size_t)dim, dim,
                           caps ? caps[t] : 0, e->photos ? e->photos[k] : NULL, e->photos ? e->photo_lens[k] : 0, err);
    if (rc != FG_OK && err) { /* say which entry */
      char msg[sizeof err->msg];
      snprintf(msg, sizeof msg, "%s", err->msg);
      fg__seterr(err, rc, "watchlist entry %zu: %s", i, msg);
    }
  }
  char hash[65] = "";
  if (rc == FG_OK) rc = fg_store_exec(b->store, &FG_Q_WL_REVISION_BUMP, NULL, 0, NULL, NULL, err);
  if (rc == FG_OK) rc = fg__watchlist_revision(b, &after, err);
  if (rc == FG_OK) rc = fg__border_announce(b, FG__CHANNEL_WATCHLIST, 0, err);
  if (rc == FG_OK) {
    fg__hash_watchlist_batch(b, rows, n, hash);
    json_t *d = json_pack("{s:I, s:I, s:I, s:I, s:s, s:s}", "entries", (json_int_t)n, "templates",
                          (json_int_t)templates, "first_id", (json_int_t)first, "last_id",
                          (json_int_t)(first + (int64_t)n - 1), "rows", hash, "source", source);
    if (d && extra && json_object_update(d, extra) != 0) {
      json_decref(d);
      d = NULL;
    }
    rc = fg__border_audit_about(b, who, "watchlist.import", "watchlist", first, "watchlist", d, err);
  }
  json_decref(extra);
  free(rows);
  if (rc == FG_OK) rc = fg_store_commit(b->store, err);
  else fg_store_rollback(b->store);
  if (rc != FG_OK) return rc;
  /* The cached gallery takes the whole batch now (the first change moves it
   * from `before` to `after`, the others find it at `after`). */
  t = 0;
  for (size_t i = 0; i < n; i++) {
    fg__watchlist_cache_changed(b, i ? after : before, after, first + (int64_t)i,
                                embs + t * (size_t)dim, entries[i].n, dim,
                                fg__captures_common(caps ? caps + t : NULL, entries[i].n),
                                entries[i].expires_at, 0);
    t += (size_t)entries[i].n;
  }
  /* A cached gallery the batch took past FG__WATCHLIST_INDEX_MIN gets its
   * sketch index now, as a rebuild would give it (adds keep an index current
   * but do not make one); if that fails, the next capture rebuilds. */
  fg__gallery_cache *c = &b->watchlist;
  fg_gallery_info gi;
  fg_sketch_info si;
  if (c->valid && c->g && (fg_gallery_get_info(c->g, &gi), gi.n_subjects >= FG__WATCHLIST_INDEX_MIN) &&
      fg_gallery_sketch_info(c->g, &si) == FG_ENOTFOUND && fg_gallery_sketch_build(c->g, NULL, NULL) != FG_OK)
    c->valid = 0;
  if (r) {
    r->first_id = first;
    r->last_id = first + (int64_t)n - 1;
    r->entries = n;
    r->templates = templates;
    memcpy(r->rows_hash, hash, sizeof r->rows_hash);
  }
  return FG_OK;
}

int fg__watchlist_batch_embed(fg_border *b, const fg_watchlist_entry *entries, size_t n, int dim,
                              float **out, uint8_t **out_caps, int *out_dim, fg_error *err) {
  *out = NULL;
  *out_caps = NULL;
  if (!b) return fg__seterr(err, FG_EINVAL, "watchlist: no handle");
  if (!entries || n < 1 || n > FG_WATCHLIST_BATCH_MAX)
    return fg__seterr(err, FG_EINVAL, "watchlist: a batch holds 1 to %d entries",
                      FG_WATCHLIST_BATCH_MAX);
  size_t templates = 0;
  int rc = FG_OK;
  for (size_t i = 0; i < n && rc == FG_OK; i++) {
    rc = check_entry(&entries[i], i, err);
    templates += (size_t)entries[i].n;
  }
  if (rc != FG_OK) return rc;
  fg_face_engine *fe;
  if ((rc = fg__border_face(b, &fe, err)) != FG_OK) return rc;
  int edim = fg_face_engine_dim(fe);
  for (size_t i = 0; i < n; i++)
    if (entries[i].embeddings && dim != edim)
      return fg__seterr(err, FG_EINVAL, "watchlist: %d-d embeddings, the recognition model makes %d",
                        dim, edim);
  float *embs = malloc(templates * (size_t)edim * sizeof *embs);
  uint8_t *caps = calloc(templates, 1);
  if (!embs || !caps) {
    free(embs), free(caps);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  size_t t = 0;
  for (size_t i = 0; i < n && rc == FG_OK; i++) {
    const fg_watchlist_entry *e = &entries[i];
    float *dst = embs + t * (size_t)edim;
    if (e->embeddings) {
      memcpy(dst, e->embeddings, (size_t)e->n * (size_t)edim * sizeof *dst);
      for (int k = 0; e->captures && k < e->n; k++)
        caps[t + (size_t)k] = (uint8_t)(e->captures[k] & FG_TEMPLATE_CAPTURE_KNOWN);
    } else {
      rc = embed_photos(b, fe, e, i, edim, dst, caps + t, err);
    }
    t += (size_t)e->n;
  }
  if (rc != FG_OK) {
    sodium_memzero(embs, templates * (size_t)edim * sizeof *embs);
    free(embs);
    free(caps);
    return rc;
  }
  *out = embs;
  *out_caps = caps;
  *out_dim = edim;
  return FG_OK;
}

int fg_border_watchlist_add_batch(fg_border *b, const fg_actor *who,
                                  const fg_watchlist_entry *entries, size_t n, int dim,
                                  fg_watchlist_batch_result *r, fg_error *err) {
  if (r) memset(r, 0, sizeof *r);
  float *embs = NULL;
  uint8_t *caps = NULL;
  int edim = 0;
  int rc = fg__watchlist_batch_embed(b, entries, n, dim, &embs, &caps, &edim, err);
  if (rc != FG_OK) return rc;
  size_t templates = 0;
  int photos = 0;
  for (size_t i = 0; i < n; i++) templates += (size_t)entries[i].n, photos |= entries[i].photos != NULL;
  rc = fg__watchlist_write_batch(b, who, entries, n, embs, caps, edim,
                                 photos ? "photos" : "embeddings", NULL, r, err);
  sodium_memzero(embs, templates * (size_t)edim * sizeof *embs);
  free(embs);
  free(caps);
  return rc;
}
