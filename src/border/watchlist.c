/*
 * The watchlist: people an officer must see if they present at a gate. A
 * hit at a gate (encounter.c) is only ever a referral for review.
 *
 * An entry has a name, a reason, who added it, an optional expiry, and one
 * template per photo. fg_border_watchlist_add runs every photo through the
 * face pipeline first and refuses the whole entry, naming the photo, if one
 * has no acceptable face; fg_border_watchlist_add_embeddings takes
 * embeddings already computed (bulk loading, benchmarks). Templates (FGT1,
 * fp32) and photos are stored sealed, each bound to its watchlist_templates
 * row. Every change bumps meta 'watchlist_revision' (so cached watchlist
 * galleries are rebuilt) and is audited in the same transaction. Removing an
 * entry keeps its row (removed_at, for the audit trail) and deletes its
 * templates and photos: biometric data does not outlive the entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "store/sql_encounter.h"

int fg__watchlist_seal(fg_border *b, int64_t row, const float *emb, int dim, unsigned capture,
                       const uint8_t *image, size_t image_len, uint8_t **tpl_sealed,
                       size_t *tpl_sealed_n, uint8_t **img_sealed, size_t *img_sealed_n,
                       fg_error *err) {
  *tpl_sealed = *img_sealed = NULL;
  *tpl_sealed_n = *img_sealed_n = 0;
  uint8_t *tpl = NULL;
  size_t tpl_n = 0;
  int rc = fg__border_template_capture(b, emb, dim, capture, &tpl, &tpl_n, err);
  if (rc == FG_OK)
    rc = fg__border_seal(b, "watchlist_templates", "template_sealed", row, tpl, tpl_n, tpl_sealed,
                         tpl_sealed_n, err);
  if (rc == FG_OK && image)
    rc = fg__border_seal(b, "watchlist_templates", "image_sealed", row, image, image_len,
                         img_sealed, img_sealed_n, err);
  if (tpl) sodium_memzero(tpl, tpl_n);
  free(tpl);
  if (rc != FG_OK) {
    free(*tpl_sealed), free(*img_sealed);
    *tpl_sealed = *img_sealed = NULL;
  }
  return rc;
}

/* One template (and optionally the photo it came from) sealed to a new
 * watchlist_templates row of entry `entry`. */
static int add_template(fg_border *b, int64_t entry, const float *emb, int dim, unsigned capture,
                        const uint8_t *image, size_t image_len, fg_error *err) {
  int64_t row = 0;
  static const uint8_t placeholder[1] = {0};
  fg_val v[2] = {FG_V_INT(entry), FG_V_BLOB(placeholder, 0)};
  int rc = fg_store_exec_int(b->store, &FG_Q_WL_TEMPLATE_INSERT, v, 2, &row, NULL, err);
  if (rc != FG_OK) return rc;
  uint8_t *tpl_sealed, *img_sealed;
  size_t tpl_sealed_n, img_sealed_n;
  rc = fg__watchlist_seal(b, row, emb, dim, capture, image, image_len, &tpl_sealed,
                          &tpl_sealed_n, &img_sealed, &img_sealed_n, err);
  if (rc == FG_OK) {
    fg_val u[3] = {FG_V_BLOB(img_sealed, img_sealed_n), FG_V_BLOB(tpl_sealed, tpl_sealed_n),
                   FG_V_INT(row)};
    rc = fg_store_exec(b->store, &FG_Q_WL_TEMPLATE_SEAL, u, 3, NULL, NULL, err);
  }
  free(tpl_sealed);
  free(img_sealed);
  return rc;
}

/* Insert the entry and its n templates (embs: n x dim; caps: their
 * FG_TEMPLATE_CAPTURE_* flags, NULL for none; images may be NULL) in one
 * transaction with the revision bump and the audit event. */
static int insert_entry(fg_border *b, const fg_actor *who, const char *name, const char *reason,
                        int64_t expires_at, const float *embs, const uint8_t *caps, int n, int dim,
                        const uint8_t *const *images, const size_t *lens, const char *source,
                        int64_t *id, fg_error *err) {
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  int64_t entry = 0, before = 0, after = 0;
  rc = fg__watchlist_revision(b, &before, err);
  fg_val v[3] = {FG_V_TEXT(who && who->name ? who->name : "unknown"), FG_V_INT(fg_border_now(b)),
                 expires_at > 0 ? FG_V_INT(expires_at) : FG_V_NULL};
  if (rc == FG_OK) rc = fg_store_exec_int(b->store, &FG_Q_WL_INSERT, v, 3, &entry, NULL, err);
  if (rc == FG_OK) { /* the name and the reason, sealed to the entry */
    json_t *j = json_pack("{s:s, s:s}", "name", name, "reason", reason);
    uint8_t *sealed = NULL;
    size_t sn = 0;
    rc = j ? fg__seal_json(b, "watchlist", "entry_sealed", entry, j, &sealed, &sn, err)
           : fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(j);
    if (rc == FG_OK) {
      fg_val sv[2] = {FG_V_BLOB(sealed, sn), FG_V_INT(entry)};
      rc = fg_store_exec(b->store, &FG_Q_WL_SEAL, sv, 2, NULL, NULL, err);
    }
    free(sealed);
  }
  for (int i = 0; rc == FG_OK && i < n; i++)
    rc = add_template(b, entry, embs + (size_t)i * (size_t)dim, dim, caps ? caps[i] : 0,
                      images ? images[i] : NULL, images ? lens[i] : 0, err);
  if (rc == FG_OK) rc = fg_store_exec(b->store, &FG_Q_WL_REVISION_BUMP, NULL, 0, NULL, NULL, err);
  if (rc == FG_OK) rc = fg__watchlist_revision(b, &after, err);
  if (rc == FG_OK) rc = fg__border_announce(b, FG__CHANNEL_WATCHLIST, 0, err);
  char row[65] = ""; /* the row as inserted, for `audit verify` (reconcile.c) */
  if (rc == FG_OK) {
    fg_val hv[4] = {FG_V_INT(entry), v[0], v[1], v[2]};
    fg__hash_watchlist(b, hv, row);
  }
  if (rc == FG_OK)
    rc = fg__border_audit_about(b, who, "watchlist.add", "watchlist", entry, "watchlist",
                                json_pack("{s:i,s:s,s:o,s:s}", "templates", n, "source", source,
                                          "expires_at", fg__json_time(expires_at), "row", row),
                                err);
  if (rc == FG_OK) rc = fg_store_commit(b->store, err);
  else fg_store_rollback(b->store);
  if (rc == FG_OK) {
    fg__watchlist_cache_changed(b, before, after, entry, embs, n, dim,
                                fg__captures_common(caps, n), expires_at, 0);
    if (id) *id = entry;
  }
  return rc;
}

static int check_entry(const char *name, const char *reason, int n, fg_error *err) {
  if (!name || !*name) return fg__seterr(err, FG_EINVAL, "watchlist: a name is required");
  if (!reason || !*reason) return fg__seterr(err, FG_EINVAL, "watchlist: a reason is required");
  if (n < 1) return fg__seterr(err, FG_EINVAL, "watchlist: at least one photo is required");
  int rc = fg__border_text("watchlist: name", name, 256, err);
  return rc == FG_OK ? fg__border_text("watchlist: reason", reason, 1024, err) : rc;
}

int fg_border_watchlist_add(fg_border *b, const fg_actor *who, const char *name,
                            const char *reason, int64_t expires_at,
                            const uint8_t *const *images, const size_t *lens, int n,
                            int64_t *id, fg_error *err) {
  if (!b) return fg__seterr(err, FG_EINVAL, "watchlist: no handle");
  int rc = check_entry(name, reason, n, err);
  if (rc != FG_OK) return rc;
  if (!images || !lens) return fg__seterr(err, FG_EINVAL, "watchlist: no photos given");
  fg_face_engine *fe;
  if ((rc = fg__border_face(b, &fe, err)) != FG_OK) return rc;
  int dim = fg_face_engine_dim(fe);
  float *embs = malloc((size_t)n * (size_t)dim * sizeof *embs);
  uint8_t *caps = malloc((size_t)n); /* each photo's capture flags (harsh light) */
  if (!embs || !caps) {
    free(embs), free(caps);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  fg_face_result *fr = b->scratch;
  for (int i = 0; i < n && rc == FG_OK; i++) {
    fg_error e2 = {0};
    if (!images[i] || !lens[i]) {
      rc = fg__seterr(err, FG_EINVAL, "watchlist photo %d is empty", i + 1);
    } else if ((rc = fg_face_process_buffer(fe, images[i], lens[i], NULL, fr, &e2)) != FG_OK) {
      rc = fg__seterr(err, rc == FG_ENOMEM ? rc : FG_EINVAL, "watchlist photo %d cannot be read: %s", i + 1,
                      e2.msg);
    } else if (fr->status == FG_FACE_NO_FACE) {
      rc = fg__seterr(err, FG_EINVAL, "watchlist photo %d: no face found", i + 1);
    } else if (fr->status != FG_FACE_OK || fr->dim != dim) {
      char why[256] = "";
      size_t used = 0;
      for (unsigned k = 0; k < FG_QUALITY_REASON_COUNT; k++)
        if (fr->quality.reasons & (1u << k) && used < sizeof why)
          used += (size_t)snprintf(why + used, sizeof why - used, "%s%s", used ? ", " : "",
                                   fg_quality_reason_text(1u << k));
      rc = fg__seterr(err, FG_EINVAL, "watchlist photo %d: quality %.0f too low%s%s", i + 1,
                      (double)fr->quality.score, why[0] ? ": " : "", why);
    } else {
      memcpy(embs + (size_t)i * (size_t)dim, fr->embedding, (size_t)dim * sizeof *embs);
      caps[i] = fg_face_quality_harsh_light(&fr->quality) ? FG_TEMPLATE_CAPTURE_HARSH_LIGHT : 0;
    }
  }
  if (rc == FG_OK)
    rc = insert_entry(b, who, name, reason, expires_at, embs, caps, n, dim, images, lens, "photos",
                      id, err);
  sodium_memzero(embs, (size_t)n * (size_t)dim * sizeof *embs);
  free(embs);
  free(caps);
  return rc;
}

int fg_border_watchlist_add_embeddings(fg_border *b, const fg_actor *who, const char *name,
                                       const char *reason, int64_t expires_at,
                                       const float *emb, int n, int dim, int64_t *id,
                                       fg_error *err) {
  if (!b) return fg__seterr(err, FG_EINVAL, "watchlist: no handle");
  int rc = check_entry(name, reason, n, err);
  if (rc != FG_OK) return rc;
  if (!emb) return fg__seterr(err, FG_EINVAL, "watchlist: no embeddings given");
  fg_face_engine *fe;
  if ((rc = fg__border_face(b, &fe, err)) != FG_OK) return rc;
  if (dim != fg_face_engine_dim(fe))
    return fg__seterr(err, FG_EINVAL, "watchlist: %d-d embeddings, the recognition model makes %d",
                      dim, fg_face_engine_dim(fe));
  return insert_entry(b, who, name, reason, expires_at, emb, NULL, n, dim, NULL, NULL,
                      "embeddings", id, err);
}

static int removed_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err;
  int *state = ctx; /* 1: live, 2: removed */
  *state = n > 0 && c[0].type != FG_VAL_NULL ? 2 : 1;
  return 1;
}

int fg_border_watchlist_remove(fg_border *b, const fg_actor *who, int64_t id, fg_error *err) {
  if (!b) return fg__seterr(err, FG_EINVAL, "watchlist: no handle");
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  int state = 0;
  int64_t before = 0, after = 0;
  fg_val k = FG_V_INT(id);
  rc = fg__watchlist_revision(b, &before, err);
  if (rc == FG_OK) rc = fg_store_exec(b->store, &FG_Q_WL_GET, &k, 1, removed_cb, &state, err);
  if (rc == FG_OK && state == 0)
    rc = fg__seterr(err, FG_ENOTFOUND, "watchlist entry %lld not found", (long long)id);
  if (rc == FG_OK && state == 2)
    rc = fg__seterr(err, FG_ECONFLICT, "watchlist entry %lld was already removed", (long long)id);
  if (rc == FG_OK) {
    fg_val v[2] = {FG_V_INT(fg_border_now(b)), FG_V_INT(id)};
    rc = fg_store_exec(b->store, &FG_Q_WL_REMOVE, v, 2, NULL, NULL, err);
  }
  int64_t deleted = 0;
  if (rc == FG_OK && (rc = fg_store_exec(b->store, &FG_Q_WL_TEMPLATES_DELETE, &k, 1, NULL, NULL,
                                         err)) == FG_OK)
    deleted = fg_store_changes(b->store);
  if (rc == FG_OK) rc = fg_store_exec(b->store, &FG_Q_WL_REVISION_BUMP, NULL, 0, NULL, NULL, err);
  if (rc == FG_OK) rc = fg__watchlist_revision(b, &after, err);
  if (rc == FG_OK) rc = fg__border_announce(b, FG__CHANNEL_WATCHLIST, 0, err);
  if (rc == FG_OK)
    rc = fg__border_audit_about(b, who, "watchlist.remove", "watchlist", id, "watchlist",
                                json_pack("{s:I}", "templates_deleted", (json_int_t)deleted), err);
  if (rc == FG_OK) rc = fg_store_commit(b->store, err);
  else fg_store_rollback(b->store);
  if (rc == FG_OK) {
    fg__watchlist_cache_changed(b, before, after, id, NULL, 0, 0, 0, 0, (size_t)deleted);
    /* The templates are deleted; their copies in the write-ahead log go now
     * (best effort: every purge flushes again). */
    if (fg_store_depth(b->store) == 0) fg_store_flush(b->store, NULL, NULL);
  }
  return rc;
}

typedef struct list_ctx {
  fg_border *b;
  json_t *arr;
  int64_t now;
} list_ctx;

static json_t *text_or_null(const fg_val *v) {
  return v->type == FG_VAL_TEXT ? json_string(v->s) : json_null();
}

static int list_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  list_ctx *l = ctx;
  int64_t expires = c[4].type == FG_VAL_INT ? c[4].i : 0;
  int64_t removed = c[5].type == FG_VAL_INT ? c[5].i : 0;
  const char *status = removed ? "removed" : (expires > 0 && expires <= l->now) ? "expired"
                                                                               : "active";
  json_t *entry = fg__open_json(l->b, "watchlist", "entry_sealed", c[0].i, &c[1], err);
  if (!entry && c[1].type == FG_VAL_BLOB) return err ? err->code : FG_EFORMAT;
  json_t *o = json_pack("{s:I,s:O?,s:O?,s:o,s:o,s:o,s:o,s:s,s:I}", "id", (json_int_t)c[0].i,
                        "name", json_object_get(entry, "name"), "reason",
                        json_object_get(entry, "reason"), "added_by", text_or_null(&c[2]),
                        "created_at", fg__json_time(c[3].type == FG_VAL_INT ? c[3].i : 0),
                        "expires_at", fg__json_time(expires), "removed_at",
                        fg__json_time(removed), "status", status, "templates",
                        (json_int_t)(c[6].type == FG_VAL_INT ? c[6].i : 0));
  json_decref(entry);
  if (!o || json_array_append_new(l->arr, o) != 0)
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  return 0;
}

int fg_border_watchlist_list(fg_border *b, const fg_actor *who, fg_doc **out, fg_error *err) {
  if (!b || !out) return fg__seterr(err, FG_EINVAL, "watchlist: missing argument");
  *out = NULL;
  list_ctx l = {b, json_array(), fg_border_now(b)};
  if (!l.arr) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = fg_store_exec(b->store, &FG_Q_WL_LIST, NULL, 0, list_cb, &l, err);
  if (rc == FG_OK) {
    json_t *d = json_pack("{s:I}", "entries", (json_int_t)json_array_size(l.arr));
    rc = d ? fg__border_audit_json(b, who, "watchlist.list", "watchlist", "watchlist", d, err)
           : fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(d);
  }
  if (rc != FG_OK) {
    json_decref(l.arr);
    return rc;
  }
  *out = fg__doc(l.arr);
  return FG_OK;
}
