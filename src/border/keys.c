/*
 * Key rotation (`facegate key rotate`): every sealed blob in the store is
 * re-sealed under a fresh data key, and the old key is then dropped from the
 * key file.
 *
 *   1. fg_keyring_rotate_begin adds a new current key and rewrites the key
 *      file with both keys;
 *   2. in ONE transaction, each sealed column (sql_records.c lists them) is
 *      read row by row, unsealed and sealed again under the new key with the
 *      same associated data (the blob stays bound to its row), and the
 *      "key.rotate" audit event with the counts is appended;
 *   3. after the commit, fg_keyring_rotate_finish drops the old key and the
 *      cached galleries are forgotten.
 *
 * A failure before the commit rolls everything back: the blobs are still
 * sealed under the old key, which the file keeps (with the new one) until a
 * rotation finishes, so nothing becomes unreadable. Blobs already under the
 * current key are left as they are, and a key file found holding two keys
 * (a rotation interrupted before or after its commit) is resumed rather than
 * refused: the blobs still under the old key are re-sealed, then finish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "store/sql_records.h"

typedef struct id_list {
  int64_t *v;
  size_t n, cap;
} id_list;

static int id_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  id_list *l = ctx;
  if (c[0].type != FG_VAL_INT) return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 256;
    int64_t *v = realloc(l->v, cap * sizeof *v);
    if (!v) return fg__seterr(err, FG_ENOMEM, "out of memory");
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = c[0].i;
  return 0;
}

typedef struct blob {
  uint8_t *p;
  size_t n;
} blob;

static int blob_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  blob *bl = ctx;
  if (c[0].type != FG_VAL_BLOB) return 1;
  if (!(bl->p = malloc(c[0].n ? c[0].n : 1))) return fg__seterr(err, FG_ENOMEM, "out of memory");
  memcpy(bl->p, c[0].b, c[0].n);
  bl->n = c[0].n;
  return 1;
}

/* Re-seal one row's blob under the current key; *done is 1 if it was rewritten. */
static int reseal_row(fg_border *b, const fg__sealed_column *col, int64_t id, uint32_t current,
                      int *done, fg_error *err) {
  *done = 0;
  blob bl = {0};
  fg_val p = FG_V_INT(id);
  int rc = fg_store_exec(b->store, col->get, &p, 1, blob_cb, &bl, err);
  if (rc != FG_OK || !bl.p) return rc;
  uint32_t kid = 0;
  uint8_t *plain = NULL, *sealed = NULL;
  size_t pn = 0, sn = 0;
  if ((rc = fg_sealed_key_id(bl.p, bl.n, &kid, err)) == FG_OK && kid != current &&
      (rc = fg__border_unseal(b, col->table, col->column, id, bl.p, bl.n, &plain, &pn, err)) ==
          FG_OK &&
      (rc = fg__border_seal(b, col->table, col->column, id, plain, pn, &sealed, &sn, err)) ==
          FG_OK) {
    fg_val u[2] = {FG_V_BLOB(sealed, sn), p};
    rc = fg_store_exec(b->store, col->put, u, 2, NULL, NULL, err);
    *done = rc == FG_OK;
  }
  if (rc != FG_OK)
    fg__err_prefix(err, rc, "key rotate: %s.%s of row %lld", col->table, col->column, (long long)id);
  if (plain) sodium_memzero(plain, pn);
  free(plain);
  free(sealed);
  free(bl.p);
  return rc;
}

static int reseal_all(fg_border *b, uint32_t current, json_t *counts, int64_t *total,
                      fg_error *err) {
  int rc = FG_OK;
  for (int i = 0; rc == FG_OK && i < fg__sealed_column_count; i++) {
    const fg__sealed_column *col = &fg__sealed_columns[i];
    id_list ids = {0};
    int64_t n = 0;
    rc = fg_store_exec(b->store, col->ids, NULL, 0, id_cb, &ids, err);
    for (size_t k = 0; rc == FG_OK && k < ids.n; k++) {
      int done = 0;
      rc = reseal_row(b, col, ids.v[k], current, &done, err);
      n += done;
    }
    free(ids.v);
    char key[96];
    snprintf(key, sizeof key, "%s.%s", col->table, col->column);
    if (rc == FG_OK && json_object_set_new(counts, key, json_integer(n)))
      rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    *total += n;
  }
  return rc;
}

int fg_border_key_rotate(fg_border *b, const fg_actor *who, fg_doc **out, fg_error *err) {
  if (out) *out = NULL;
  /* A key file that still holds two keys is a rotation that was interrupted
   * (a crash, or an error before the commit): resume it (re-seal what is not
   * yet under its current key, then finish) instead of refusing to start a
   * new one, which would leave the old key in the file for good. */
  int resume = fg_keyring_count(b->keys) > 1;
  uint32_t old_id = fg_keyring_current(b->keys);
  int rc = resume ? FG_OK : fg_keyring_rotate_begin(b->keys, b->key_path, err);
  if (rc != FG_OK) return rc;
  uint32_t new_id = fg_keyring_current(b->keys);
  json_t *counts = json_object(), *j = NULL;
  int64_t total = 0;
  if (!counts) return fg__seterr(err, FG_ENOMEM, "out of memory");
  if ((rc = fg_store_begin(b->store, err)) != FG_OK) goto done;
  if ((rc = reseal_all(b, new_id, counts, &total, err)) == FG_OK) {
    j = json_pack("{s:o, s:I, s:O, s:I, s:b}", "old_key",
                  resume ? json_null() : json_integer(old_id), "new_key", (json_int_t)new_id,
                  "resealed", counts, "total", (json_int_t)total, "resumed", resume);
    rc = j ? fg__border_audit_json(b, who, "key.rotate", "keyring", "key rotation", j, err)
           : fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  if (rc != FG_OK) {
    fg_store_rollback(b->store);
    goto done;
  }
  if ((rc = fg_store_commit(b->store, err)) != FG_OK) goto done;
  /* Committed: every blob opens with the new key. Drop the old one. */
  fg__gallery_cache_reset(b);
  if ((rc = fg_keyring_rotate_finish(b->keys, b->key_path, err)) != FG_OK) goto done;
  if (out) {
    *out = fg__doc(j);
    j = NULL;
  }
done:
  json_decref(j);
  json_decref(counts);
  return rc;
}
