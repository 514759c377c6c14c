/*
 * fg_store: the backend-neutral half of the storage layer. It picks a backend
 * from the target's scheme ("sqlite:PATH", or a bare path for SQLite), applies
 * the migrations a database lacks (each in its own transaction, the version in
 * `meta` under 'schema_version'), nests transactions by counting so that only
 * the outermost begin/commit reaches the database, and offers the one-integer
 * convenience over fg_store_exec. A rollback at any depth dooms the whole
 * transaction: until the outermost level is closed, queries and commits fail
 * with FG_ECONFLICT instead of running outside any transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "store/store_internal.h"

struct fg_store {
  const fg__store_backend *be;
  void *conn;
  unsigned flags;
  int depth;  /* nesting level of the open transaction */
  int doomed; /* rolled back at some level; the outer levels must unwind */
};

static const struct {
  const char *scheme;
  const fg__store_backend *be;
} schemes[] = {
    {"sqlite:", &fg__store_sqlite},
};

static const fg_query q_version_get = {
    "schema_version_get", "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'"};
static const fg_query q_version_set = {
    "schema_version_set",
    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"};

/* The part of target after a known scheme, choosing the backend; a bare path
 * (no scheme, or a single-letter one that is a drive) is SQLite. */
static int pick_backend(const char *target, const fg__store_backend **be, const char **rest,
                        fg_error *err) {
  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
    size_t n = strlen(schemes[i].scheme);
    if (strncmp(target, schemes[i].scheme, n) == 0) {
      *be = schemes[i].be;
      *rest = target + n;
      return FG_OK;
    }
  }
  const char *colon = strchr(target, ':');
  const char *slash = strchr(target, '/');
  if (colon && colon > target && (!slash || colon < slash)) {
    int scheme = 1;
    for (const char *p = target; p < colon; p++)
      if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '+')) scheme = 0;
    if (scheme)
      return fg__seterr(err, FG_EUNSUPPORTED, "store %s: unsupported scheme '%.*s:' (only sqlite:)",
                        target, (int)(colon - target), target);
  }
  *be = &fg__store_sqlite;
  *rest = target;
  return FG_OK;
}

/* Version recorded in meta; 0 when the database has no meta table yet. */
static int read_version(fg_store *st, int *version, int *has_meta) {
  int64_t v = 0;
  int found = 0;
  fg_error e;
  *has_meta = fg_store_exec_int(st, &q_version_get, NULL, 0, &v, &found, &e) == FG_OK;
  *version = *has_meta && found ? (int)(v < 0 ? -1 : v > 1000000 ? 1000000 : v) : 0;
  return FG_OK;
}

static int migrate(fg_store *st, const char *target, fg_error *err) {
  int version, has_meta;
  read_version(st, &version, &has_meta);
  if (version > fg__store_migration_count)
    return fg__seterr(err, FG_EUNSUPPORTED,
                      "store %s: schema version %d is newer than this facegate's (%d)", target,
                      version, fg__store_migration_count);
  if (version < 0) return fg__seterr(err, FG_EFORMAT, "store %s: bad schema version", target);
  if (!has_meta && st->be->count_tables) {
    /* Never add facegate's tables to somebody else's database. */
    int64_t tables = 0;
    int rc = st->be->count_tables(st->conn, &tables, err);
    if (rc != FG_OK) return rc;
    if (tables > 0)
      return fg__seterr(err, FG_EFORMAT,
                        "store %s: not a facegate database (%lld tables, no facegate schema)",
                        target, (long long)tables);
  }
  if (st->flags & FG_STORE_READONLY) {
    if (version == 0)
      return fg__seterr(err, FG_EFORMAT, "store %s: not a facegate database (no schema version)",
                        target);
    if (version < fg__store_migration_count)
      return fg__seterr(err, FG_EUNSUPPORTED,
                        "store %s: schema version %d needs migrating to %d; open it writable once",
                        target, version, fg__store_migration_count);
    return FG_OK;
  }
  for (int i = version; i < fg__store_migration_count; i++) {
    char num[16];
    snprintf(num, sizeof num, "%d", i + 1);
    fg_val p = FG_V_TEXT(num);
    int rc = fg_store_begin(st, err);
    if (rc == FG_OK) rc = st->be->exec_script(st->conn, fg__store_migrations[i], err);
    if (rc == FG_OK) rc = fg_store_exec(st, &q_version_set, &p, 1, NULL, NULL, err);
    if (rc == FG_OK) rc = fg_store_commit(st, err);
    if (rc != FG_OK) {
      if (st->depth) fg_store_rollback(st);
      if (i == 0 && !has_meta && rc == FG_EIO)
        return fg__seterr(err, FG_EFORMAT, "store %s: not a facegate database (%s)", target,
                          err ? err->msg : "migration 1 failed");
      if (err) {
        char msg[FG_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        fg__seterr(err, rc, "store %s: migration %d: %s", target, i + 1, msg);
      }
      return rc;
    }
  }
  return FG_OK;
}

int fg_store_open(const char *target, unsigned flags, fg_store **out, fg_error *err) {
  if (!out) return fg__seterr(err, FG_EINVAL, "fg_store_open: out is NULL");
  *out = NULL;
  if (!target || !*target) return fg__seterr(err, FG_EINVAL, "fg_store_open: empty target");
  const fg__store_backend *be = NULL;
  const char *rest = NULL;
  int rc = pick_backend(target, &be, &rest, err);
  if (rc != FG_OK) return rc;
  fg_store *st = calloc(1, sizeof *st);
  if (!st) return fg__seterr(err, FG_ENOMEM, "store %s: out of memory", target);
  st->be = be;
  st->flags = flags;
  rc = be->open(rest, flags, &st->conn, err);
  if (rc != FG_OK) {
    free(st);
    return rc;
  }
  rc = migrate(st, target, err);
  if (rc != FG_OK) {
    fg_store_close(st);
    return rc;
  }
  *out = st;
  return FG_OK;
}

void fg_store_close(fg_store *st) {
  if (!st) return;
  if (st->depth && !st->doomed) st->be->exec_script(st->conn, "ROLLBACK", NULL);
  st->be->close(st->conn);
  free(st);
}

const char *fg_store_backend(const fg_store *st) { return st ? st->be->name : ""; }

int fg_store_schema_version(fg_store *st, int *version, fg_error *err) {
  int64_t v = 0;
  int found = 0;
  int rc = fg_store_exec_int(st, &q_version_get, NULL, 0, &v, &found, err);
  if (rc != FG_OK) return rc;
  *version = found ? (int)v : 0;
  return FG_OK;
}

int fg_store_begin(fg_store *st, fg_error *err) {
  if (st->doomed)
    return fg__seterr(err, FG_ECONFLICT, "store: the enclosing transaction was rolled back");
  if (st->depth == 0) {
    int rc = st->be->exec_script(st->conn, "BEGIN IMMEDIATE", err);
    if (rc != FG_OK) return rc;
  }
  st->depth++;
  return FG_OK;
}

int fg_store_commit(fg_store *st, fg_error *err) {
  if (st->depth == 0) return fg__seterr(err, FG_EINVAL, "store: commit without a transaction");
  st->depth--;
  if (st->doomed) {
    if (st->depth == 0) st->doomed = 0;
    return fg__seterr(err, FG_ECONFLICT, "store: the transaction was rolled back");
  }
  if (st->depth > 0) return FG_OK;
  int rc = st->be->exec_script(st->conn, "COMMIT", err);
  if (rc != FG_OK) st->be->exec_script(st->conn, "ROLLBACK", NULL);
  return rc;
}

void fg_store_rollback(fg_store *st) {
  if (!st || st->depth == 0) return;
  if (!st->doomed) st->be->exec_script(st->conn, "ROLLBACK", NULL);
  st->depth--;
  st->doomed = st->depth > 0;
}

int fg_store_depth(const fg_store *st) { return st ? st->depth : 0; }

int fg_store_exec(fg_store *st, const fg_query *q, const fg_val *params, int np, fg_row_fn fn,
                  void *ctx, fg_error *err) {
  if (!st || !q || np < 0 || (np > 0 && !params))
    return fg__seterr(err, FG_EINVAL, "fg_store_exec: bad arguments");
  if (st->doomed)
    return fg__seterr(err, FG_ECONFLICT, "%s: the enclosing transaction was rolled back", q->name);
  return st->be->exec(st->conn, q, params, np, fn, ctx, err);
}

int64_t fg_store_changes(fg_store *st) { return st->be->changes(st->conn); }

typedef struct int_ctx {
  int64_t *out;
  int *found;
  const fg_query *q;
} int_ctx;

static int take_int(void *ctx, const fg_val *cols, int ncols, fg_error *err) {
  int_ctx *c = ctx;
  if (ncols < 1) return fg__seterr(err, FG_EINVAL, "%s: no column", c->q->name);
  if (cols[0].type == FG_VAL_INT) *c->out = cols[0].i;
  else if (cols[0].type == FG_VAL_NULL) return 1; /* a row with NULL: not found */
  else return fg__seterr(err, FG_EFORMAT, "%s: first column is not an integer", c->q->name);
  if (c->found) *c->found = 1;
  return 1;
}

int fg_store_exec_int(fg_store *st, const fg_query *q, const fg_val *params, int np,
                      int64_t *out, int *found, fg_error *err) {
  if (found) *found = 0;
  int_ctx c = {out, found, q};
  return fg_store_exec(st, q, params, np, take_int, &c, err);
}

int fg_store_backup(fg_store *st, const char *path, fg_error *err) {
  if (!st->be->backup)
    return fg__seterr(err, FG_EUNSUPPORTED, "store: the %s backend cannot back up", st->be->name);
  return st->be->backup(st->conn, path, err);
}

int fg_store_flush(fg_store *st, fg_error *err) {
  if (st->depth > 0)
    return fg__seterr(err, FG_ECONFLICT, "store: flush inside a transaction");
  return st->be->flush ? st->be->flush(st->conn, err) : FG_OK;
}

void *fg__store_conn(fg_store *st) { return st ? st->conn : NULL; }
