/*
 * fg_store: the backend-neutral half of the storage layer. It picks a backend
 * from the target's scheme ("postgresql://", "postgres://", "sqlite:PATH", or
 * a bare path for SQLite), applies the migrations a database lacks (each in
 * its own writer transaction, the version in `meta` under 'schema_version',
 * re-read under the lock so that servers starting together migrate once),
 * nests transactions by counting so that only the outermost begin/commit
 * reaches the backend, and offers the one-integer convenience over
 * fg_store_exec. A rollback at any depth dooms the whole transaction: until
 * the outermost level is closed, queries and commits fail with FG_ECONFLICT
 * instead of running outside any transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "store/store_internal.h"

/* Where fg_store_exec_int's callback writes. In a batch the callback runs
 * after fg_store_exec_int has returned, so these live in the store until the
 * batch has run. */
typedef struct int_ctx {
  int64_t *out;
  int *found;
  const fg_query *q;
} int_ctx;

#define BATCH_INTS 32

struct fg_store {
  const fg__store_backend *be;
  void *conn;
  unsigned flags;
  int depth;  /* nesting level of the open transaction */
  int doomed; /* rolled back at some level; the outer levels must unwind */
  uint64_t statements;
  uint64_t serial, txn_serial; /* transactions begun; the open one's number */
  int batching;
  int nints;
  int_ctx ints[BATCH_INTS];
};

static const struct {
  const char *scheme;
  const fg__store_backend *be;
  int keep_scheme; /* the backend takes the whole target (a URI) */
} schemes[] = {
    {"sqlite:", &fg__store_sqlite, 0},
    {"postgresql://", &fg__store_postgres, 1},
    {"postgres://", &fg__store_postgres, 1},
};

static const fg_query q_version_get = {
    "schema_version_get", "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'", 1};
static const fg_query q_version_set = {
    "schema_version_set",
    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", 0};

int fg__store_file_starts_with(const char *path, const void *magic, size_t n, int *yes,
                               fg_error *err) {
  unsigned char head[64];
  FILE *f = fopen(path, "rb");
  if (!f) return fg__seterr(err, FG_EIO, "%s: %s", path, strerror(errno));
  size_t got = n <= sizeof head ? fread(head, 1, n, f) : 0;
  fclose(f);
  *yes = got == n && memcmp(head, magic, n) == 0;
  return FG_OK;
}

int fg__store_migration_count(const fg__store_backend *be) {
  int n = 0;
  while (be->migrations[n]) n++;
  return n;
}

int fg_store_target_is_remote(const char *target) {
  return target && (strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0);
}

/* Replace what follows "user:" up to the '@' of a URI's authority, and the
 * value of a password= parameter, by "***". */
void fg_store_redact(const char *target, char *buf, size_t cap) {
  if (!cap) return;
  snprintf(buf, cap, "%s", target ? target : "");
  if (!fg_store_target_is_remote(buf)) return;
  char *auth = strstr(buf, "://") + 3;
  char *end = auth + strcspn(auth, "/?");
  char *at = NULL;
  for (char *p = auth; p < end; p++)
    if (*p == '@') at = p;
  char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  char tmp[1024];
  if (colon && (size_t)(colon - buf) + 5 < cap) {
    snprintf(tmp, sizeof tmp, "***%s", at);
    snprintf(colon + 1, cap - (size_t)(colon + 1 - buf), "%s", tmp);
  }
  char *pw = strstr(buf, "password=");
  if (pw && (pw == buf || pw[-1] == '?' || pw[-1] == '&')) {
    char *rest = pw + 9 + strcspn(pw + 9, "&");
    snprintf(tmp, sizeof tmp, "***%s", rest);
    snprintf(pw + 9, cap - (size_t)(pw + 9 - buf), "%s", tmp);
  }
}

/* The part of target a backend takes, choosing it; a bare path (no scheme, or
 * a single-letter one that is a drive) is SQLite. */
static int pick_backend(const char *target, const fg__store_backend **be, const char **rest,
                        fg_error *err) {
  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
    size_t n = strlen(schemes[i].scheme);
    if (strncmp(target, schemes[i].scheme, n) == 0) {
      *be = schemes[i].be;
      *rest = schemes[i].keep_scheme ? target : target + n;
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
      return fg__seterr(err, FG_EUNSUPPORTED,
                        "store: unsupported scheme '%.*s:' (sqlite:PATH or postgresql://...)",
                        (int)(colon - target), target);
  }
  *be = &fg__store_sqlite;
  *rest = target;
  return FG_OK;
}

/* Version recorded in meta; 0 when the database has no meta table yet. A
 * failed read (no meta table) inside a transaction dooms it on PostgreSQL, so
 * the caller reads the table count first. */
static int read_version(fg_store *st, int *version, int *has_meta, fg_error *err) {
  int64_t v = 0;
  int found = 0;
  fg_error e;
  int rc = fg_store_exec_int(st, &q_version_get, NULL, 0, &v, &found, &e);
  if (rc == FG_EUNAVAILABLE) {
    if (err) *err = e;
    return rc;
  }
  *has_meta = rc == FG_OK;
  *version = *has_meta && found ? (int)(v < 0 ? -1 : v > 1000000 ? 1000000 : v) : 0;
  return FG_OK;
}

/* Refuse what this facegate cannot use: a newer schema, somebody else's
 * database, or (read-only) one that still needs migrating. */
static int check_version(fg_store *st, const char *shown, int version, int has_meta,
                         fg_error *err);

/* The version, and whether this is a facegate database at all: tables but no
 * version can also be another server's migration 1 committed between our two
 * reads, so the version is read once more before the store is refused. */
static int read_checked_version(fg_store *st, const char *shown, int *version, fg_error *err) {
  int has_meta;
  int rc = read_version(st, version, &has_meta, err);
  if (rc == FG_OK && !has_meta) {
    int64_t tables = 0;
    if (st->be->count_tables && (rc = st->be->count_tables(st->conn, &tables, err)) != FG_OK)
      return rc;
    if (tables > 0) rc = read_version(st, version, &has_meta, err);
  }
  return rc == FG_OK ? check_version(st, shown, *version, has_meta, err) : rc;
}

static int check_version(fg_store *st, const char *shown, int version, int has_meta,
                         fg_error *err) {
  int count = fg__store_migration_count(st->be);
  if (version > count)
    return fg__seterr(err, FG_EUNSUPPORTED,
                      "store %s: schema version %d is newer than this facegate's (%d): "
                      "upgrade facegate",
                      shown, version, count);
  if (version < 0) return fg__seterr(err, FG_EFORMAT, "store %s: bad schema version", shown);
  if (!has_meta && st->be->count_tables) {
    /* Never add facegate's tables to somebody else's database. */
    int64_t tables = 0;
    int rc = st->be->count_tables(st->conn, &tables, err);
    if (rc != FG_OK) return rc;
    if (tables > 0)
      return fg__seterr(err, FG_EFORMAT,
                        "store %s: not a facegate database (%lld tables, no facegate schema)",
                        shown, (long long)tables);
  }
  if (st->flags & FG_STORE_READONLY) {
    if (version == 0)
      return fg__seterr(err, FG_EFORMAT, "store %s: not a facegate database (no schema version)",
                        shown);
    if (version < count)
      return fg__seterr(err, FG_EUNSUPPORTED,
                        "store %s: schema version %d needs migrating to %d; open it writable once",
                        shown, version, count);
  }
  return FG_OK;
}

/* Apply migration i + 1 unless another process did while we waited for the
 * writer lock. */
static int migrate_one(fg_store *st, const char *shown, int i, fg_error *err) {
  int version = 0, has_meta = 0;
  int64_t tables = 0;
  int rc = fg_store_begin(st, err);
  if (rc != FG_OK) return rc;
  if (i == 0 && st->be->count_tables) rc = st->be->count_tables(st->conn, &tables, err);
  if (rc == FG_OK && (i > 0 || tables > 0)) rc = read_version(st, &version, &has_meta, err);
  if (rc == FG_OK && version > i) { /* done by someone else meanwhile */
    fg_store_rollback(st);
    return FG_OK;
  }
  if (rc == FG_OK && i == 0 && tables > 0)
    rc = fg__seterr(err, FG_EFORMAT, "store %s: not a facegate database (%lld tables)", shown,
                    (long long)tables);
  char num[16];
  snprintf(num, sizeof num, "%d", i + 1);
  fg_val p = FG_V_TEXT(num);
  if (rc == FG_OK) rc = st->be->exec_script(st->conn, st->be->migrations[i], err);
  if (rc == FG_OK) rc = fg_store_exec(st, &q_version_set, &p, 1, NULL, NULL, err);
  if (rc == FG_OK) rc = fg_store_commit(st, err);
  if (rc == FG_OK) return FG_OK;
  if (st->depth) fg_store_rollback(st);
  if (rc != FG_EFORMAT) fg__err_prefix(err, rc, "store %s: migration %d", shown, i + 1);
  return rc;
}

static int migrate(fg_store *st, const char *shown, fg_error *err) {
  int version;
  int rc = read_checked_version(st, shown, &version, err);
  if (rc != FG_OK) return rc;
  if (st->flags & FG_STORE_READONLY) return FG_OK;
  for (int i = version; i < fg__store_migration_count(st->be); i++)
    if ((rc = migrate_one(st, shown, i, err)) != FG_OK) return rc;
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
  char shown[512];
  fg_store_redact(target, shown, sizeof shown);
  fg_store *st = calloc(1, sizeof *st);
  if (!st) return fg__seterr(err, FG_ENOMEM, "store %s: out of memory", shown);
  st->be = be;
  st->flags = flags;
  rc = be->open(rest, flags, &st->conn, err);
  if (rc != FG_OK) {
    free(st);
    return rc;
  }
  rc = migrate(st, shown, err);
  if (rc != FG_OK) {
    fg_store_close(st);
    return rc;
  }
  *out = st;
  return FG_OK;
}

void fg_store_close(fg_store *st) {
  if (!st) return;
  if (st->depth && !st->doomed) st->be->rollback(st->conn);
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
    int rc = st->be->begin(st->conn, err);
    if (rc != FG_OK) return rc;
    st->txn_serial = ++st->serial;
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
  st->txn_serial = 0;
  return st->be->commit(st->conn, err); /* the backend rolls back what failed */
}

void fg_store_rollback(fg_store *st) {
  if (!st || st->depth == 0) return;
  if (!st->doomed) st->be->rollback(st->conn);
  st->depth--;
  st->doomed = st->depth > 0;
  if (st->depth == 0) st->txn_serial = 0;
}

uint64_t fg_store_txn_serial(const fg_store *st) { return st ? st->txn_serial : 0; }

void fg_store_batch_begin(fg_store *st) {
  st->batching = 1;
  st->nints = 0;
  if (st->be->batch_begin) st->be->batch_begin(st->conn);
}

int fg_store_batch_run(fg_store *st, fg_error *err) {
  st->batching = 0;
  return st->be->batch_run ? st->be->batch_run(st->conn, err) : FG_OK;
}

int fg_store_depth(const fg_store *st) { return st ? st->depth : 0; }

int fg_store_exec(fg_store *st, const fg_query *q, const fg_val *params, int np, fg_row_fn fn,
                  void *ctx, fg_error *err) {
  if (!st || !q || np < 0 || (np > 0 && !params))
    return fg__seterr(err, FG_EINVAL, "fg_store_exec: bad arguments");
  if (st->doomed)
    return fg__seterr(err, FG_ECONFLICT, "%s: the enclosing transaction was rolled back", q->name);
  st->statements++;
  return st->be->exec(st->conn, q, params, np, fn, ctx, err);
}

int64_t fg_store_changes(fg_store *st) { return st->be->changes(st->conn); }

static int take_int(void *ctx, const fg_val *cols, int ncols, fg_error *err) {
  int_ctx *c = ctx;
  (void)ncols; /* q->ncols >= 1, checked when prepared */
  if (cols[0].type == FG_VAL_INT) *c->out = cols[0].i;
  else if (cols[0].type == FG_VAL_NULL) return 1; /* a row with NULL: not found */
  else return fg__seterr(err, FG_EFORMAT, "%s: first column is not an integer", c->q->name);
  if (c->found) *c->found = 1;
  return 1;
}

int fg_store_next_id(fg_store *st, const char *table, int64_t *id, fg_error *err) {
  const fg_query *q = NULL;
  for (const fg_query *n = st->be->next_ids; n && n->name && table && !q; n++)
    if (!strncmp(n->name, "next_id_", 8) && !strcmp(n->name + 8, table)) q = n;
  if (!q) return fg__seterr(err, FG_EINVAL, "next id: no sequence for table %s", table ? table : "?");
  if (st->depth == 0) return fg__seterr(err, FG_EINVAL, "next id: outside a transaction");
  return fg_store_exec_int(st, q, NULL, 0, id, NULL, err);
}

int fg_store_reserve_ids(fg_store *st, const char *table, int64_t n, int64_t *first,
                         fg_error *err) {
  const fg_query *q = NULL;
  for (const fg_query *r = st->be->reserve_ids; r && r->name && table && !q; r++)
    if (!strncmp(r->name, "reserve_ids_", 12) && !strcmp(r->name + 12, table)) q = r;
  if (!q) return fg__seterr(err, FG_EINVAL, "reserve ids: no sequence for table %s", table ? table : "?");
  if (st->depth == 0) return fg__seterr(err, FG_EINVAL, "reserve ids: outside a transaction");
  if (st->batching) return fg__seterr(err, FG_EINVAL, "reserve ids: inside a read batch");
  if (n < 1 || n > ((int64_t)1 << 40)) return fg__seterr(err, FG_EINVAL, "reserve ids: %lld ids", (long long)n);
  fg_val p = FG_V_INT(n);
  int64_t last = 0;
  int found = 0;
  int rc = fg_store_exec_int(st, q, &p, 1, &last, &found, err);
  if (rc != FG_OK) return rc;
  if (!found || last < n) return fg__seterr(err, FG_EIO, "%s: no id came back", q->name);
  *first = last - n + 1;
  return FG_OK;
}

int fg_store_exec_int(fg_store *st, const fg_query *q, const fg_val *params, int np,
                      int64_t *out, int *found, fg_error *err) {
  if (found) *found = 0;
  if (q && q->ncols < 1) return fg__seterr(err, FG_EINVAL, "%s: returns no column", q->name);
  int_ctx local = {out, found, q}, *c = &local;
  if (st && st->batching) {
    if (st->nints == BATCH_INTS) return fg__seterr(err, FG_ELIMIT, "%s: batch too long", q->name);
    c = &st->ints[st->nints++];
    *c = local;
  }
  return fg_store_exec(st, q, params, np, take_int, c, err);
}

int fg_store_backup(fg_store *st, const char *path, fg_error *err) {
  if (!st->be->backup)
    return fg__seterr(err, FG_EUNSUPPORTED, "store: the %s backend cannot back up", st->be->name);
  if (st->depth > 0) return fg__seterr(err, FG_ECONFLICT, "store: backup inside a transaction");
  return st->be->backup(st->conn, path, err);
}

int fg_store_restore(const char *target, const char *path, fg_error *err) {
  if (!target || !*target || !path || !*path)
    return fg__seterr(err, FG_EINVAL, "restore: a target and a backup file are needed");
  const fg__store_backend *be = NULL;
  const char *rest = NULL;
  int rc = pick_backend(target, &be, &rest, err);
  if (rc != FG_OK) return rc;
  if (!be->restore)
    return fg__seterr(err, FG_EUNSUPPORTED, "restore: the %s backend cannot restore", be->name);
  return be->restore(rest, path, err);
}

int fg_store_discard_restored(const char *target, fg_error *err) {
  const fg__store_backend *be = NULL;
  const char *rest = NULL;
  int rc = target ? pick_backend(target, &be, &rest, err) : fg__seterr(err, FG_EINVAL, "discard: no target");
  if (rc != FG_OK) return rc;
  if (!be->discard)
    return fg__seterr(err, FG_EUNSUPPORTED, "discard: the %s backend cannot", be->name);
  return be->discard(rest, err);
}

int fg_store_flush(fg_store *st, int *state, fg_error *err) {
  if (state) *state = FG_FLUSH_NONE;
  if (st->depth > 0)
    return fg__seterr(err, FG_ECONFLICT, "store: flush inside a transaction");
  if (!st->be->flush) return FG_OK;
  int done = 0;
  int rc = st->be->flush(st->conn, &done, err);
  if (state) *state = done ? FG_FLUSH_DONE : FG_FLUSH_INCOMPLETE;
  return rc;
}

unsigned fg_store_caps(const fg_store *st) {
  return st && st->be->notify ? FG_STORE_CAP_NOTIFY : 0u;
}

int fg_store_notify(fg_store *st, const char *channel, const char *payload, fg_error *err) {
  if (!st->be->notify) return FG_OK;
  if (st->doomed)
    return fg__seterr(err, FG_ECONFLICT, "notify: the enclosing transaction was rolled back");
  return st->be->notify(st->conn, channel, payload, err);
}

int fg_store_listen(fg_store *st, const char *channel, fg_error *err) {
  return st->be->listen ? st->be->listen(st->conn, channel, err) : FG_OK;
}

int fg_store_poll(fg_store *st, fg_notify_fn fn, void *ctx) {
  if (!st->be->poll || st->depth > 0) return 0;
  return st->be->poll(st->conn, fn, ctx);
}

void fg_store_get_stats(const fg_store *st, fg_store_stats *out) {
  memset(out, 0, sizeof *out);
  out->synchronous_standby = -1;
  if (!st) return;
  if (st->be->stats) st->be->stats(st->conn, out);
  out->statements = st->statements;
}

void *fg__store_conn(fg_store *st) { return st ? st->conn : NULL; }
