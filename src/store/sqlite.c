/*
 * The SQLite backend of fg_store (src/store/store_internal.h). One connection
 * per store, opened in WAL mode with foreign keys on, synchronous=FULL (NORMAL
 * under FG_STORE_NOSYNC), a 5 s busy timeout and defensive mode (no writable
 * schema). Each fg_query is prepared once per connection and cached by the
 * query object's address in a small chained hash, reset after every use and
 * finalized on close; its column count is checked against the query's
 * ncols when it is prepared. A transaction is BEGIN IMMEDIATE: the writer
 * takes the database's one write lock up front. Errors: a UNIQUE/CHECK/
 * FOREIGN KEY/NOT NULL failure is FG_ECONFLICT naming the query; a file that
 * is not SQLite is FG_EFORMAT; anything else is FG_EIO with SQLite's own
 * message. Backups use SQLite's online backup API into a new 0600 file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/internal.h"
#include "store/store_internal.h"

#define NBUCKETS 64
#define MAX_COLS 64

typedef struct cached {
  const fg_query *q;
  sqlite3_stmt *stmt;
  struct cached *next;
} cached;

typedef struct sq_conn {
  sqlite3 *db;
  int ncached;
  cached *buckets[NBUCKETS];
} sq_conn;

static unsigned bucket_of(const fg_query *q) {
  uintptr_t a = (uintptr_t)q;
  return (unsigned)((a >> 3) ^ (a >> 9)) % NBUCKETS;
}

/* Map SQLite's last error on db to an FG code and message about `what`. */
static int sq_err(sqlite3 *db, int rc, const char *what, fg_error *err) {
  int prim = rc & 0xff;
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (prim == SQLITE_CONSTRAINT) return fg__seterr(err, FG_ECONFLICT, "%s: %s", what, msg);
  if (prim == SQLITE_NOTADB) return fg__seterr(err, FG_EFORMAT, "%s: not a SQLite database", what);
  if (prim == SQLITE_NOMEM) return fg__seterr(err, FG_ENOMEM, "%s: out of memory", what);
  return fg__seterr(err, FG_EIO, "%s: %s", what, msg);
}

static void sq_close(void *conn) {
  sq_conn *c = conn;
  if (!c) return;
  for (int b = 0; b < NBUCKETS; b++) {
    for (cached *e = c->buckets[b], *next; e; e = next) {
      next = e->next;
      sqlite3_finalize(e->stmt);
      free(e);
    }
  }
  sqlite3_close_v2(c->db);
  free(c);
}

/* A store holds sealed biometrics and personal records: its files are the
 * owner's alone. A new database file is created 0600 whatever the umask
 * (SQLite gives its -wal and -shm files the database file's mode), and an
 * existing one that group or others may read or write is refused, as the key
 * file is. */
static int private_file(const char *target, unsigned flags, fg_error *err) {
  struct stat st;
  if (stat(target, &st) != 0) {
    if (errno != ENOENT || (flags & FG_STORE_READONLY)) return FG_OK; /* SQLite reports it */
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno != EEXIST)
      return fg__seterr(err, FG_EIO, "%s: cannot create: %s", target, strerror(errno));
    if (fd >= 0) {
      fchmod(fd, 0600);
      close(fd);
    }
    return FG_OK;
  }
  static const char *const SUFFIX[] = {"", "-wal", "-shm"};
  for (int i = 0; i < 3; i++) {
    char p[4096];
    snprintf(p, sizeof p, "%s%s", target, SUFFIX[i]);
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
      return fg__seterr(err, FG_EPERM,
                        "store %s: mode %03o lets group or others at sealed biometrics and personal "
                        "records; chmod 600 it (and its -wal and -shm files)",
                        p, (unsigned)(st.st_mode & 0777));
  }
  return FG_OK;
}

static int sq_open(const char *target, unsigned flags, void **conn, fg_error *err) {
  *conn = NULL;
  if (strcmp(target, ":memory:") != 0) {
    int prc = private_file(target, flags, err);
    if (prc != FG_OK) return prc;
  }
  sq_conn *c = calloc(1, sizeof *c);
  if (!c) return fg__seterr(err, FG_ENOMEM, "%s: out of memory", target);
  int oflags = (flags & FG_STORE_READONLY) ? SQLITE_OPEN_READONLY
                                           : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(target, &c->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    rc = sq_err(c->db, rc, target, err);
    sq_close(c);
    return rc;
  }
  sqlite3_extended_result_codes(c->db, 1);
  sqlite3_busy_timeout(c->db, 5000);
  sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
  sqlite3_db_config(c->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
  /* secure_delete: deleted rows (purged captures) are overwritten with zeros,
   * not left in free pages until reused. */
  char pragmas[200];
  snprintf(pragmas, sizeof pragmas,
           "%sPRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; PRAGMA synchronous = %s;",
           (flags & FG_STORE_READONLY) ? "" : "PRAGMA journal_mode = WAL; ",
           (flags & FG_STORE_NOSYNC) ? "NORMAL" : "FULL");
  /* Reading the header (journal_mode does) tells a non-database file apart. */
  rc = sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_master;", NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    rc = sq_err(c->db, rc, target, err);
    sq_close(c);
    return rc;
  }
  *conn = c;
  return FG_OK;
}

static int sq_exec_script(void *conn, const char *sql, fg_error *err) {
  sq_conn *c = conn;
  int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? FG_OK : sq_err(c->db, rc, "sqlite", err);
}

static int sq_begin(void *conn, fg_error *err) {
  return sq_exec_script(conn, "BEGIN IMMEDIATE", err);
}

static int sq_commit(void *conn, fg_error *err) {
  int rc = sq_exec_script(conn, "COMMIT", err);
  if (rc != FG_OK) sq_exec_script(conn, "ROLLBACK", NULL);
  return rc;
}

static void sq_rollback(void *conn) { sq_exec_script(conn, "ROLLBACK", NULL); }

/* The cached statement for q, preparing it on first use. */
static int get_stmt(sq_conn *c, const fg_query *q, sqlite3_stmt **out, fg_error *err) {
  unsigned b = bucket_of(q);
  for (cached *e = c->buckets[b]; e; e = e->next) {
    if (e->q == q) {
      *out = e->stmt;
      return FG_OK;
    }
  }
  sqlite3_stmt *stmt = NULL;
  const char *tail = NULL;
  int rc = sqlite3_prepare_v3(c->db, q->sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) return sq_err(c->db, rc, q->name, err);
  if (!stmt || (tail && tail[strspn(tail, " \t\r\n;")])) {
    sqlite3_finalize(stmt);
    return fg__seterr(err, FG_EINVAL, "%s: not exactly one SQL statement", q->name);
  }
  if (sqlite3_column_count(stmt) != q->ncols) {
    int n = sqlite3_column_count(stmt);
    sqlite3_finalize(stmt);
    return fg__seterr(err, FG_EINVAL, "%s: returns %d columns, %d expected", q->name, n,
                      q->ncols);
  }
  cached *e = malloc(sizeof *e);
  if (!e) {
    sqlite3_finalize(stmt);
    return fg__seterr(err, FG_ENOMEM, "%s: out of memory", q->name);
  }
  e->q = q;
  e->stmt = stmt;
  e->next = c->buckets[b];
  c->buckets[b] = e;
  c->ncached++;
  *out = stmt;
  return FG_OK;
}

static int bind_all(sq_conn *c, sqlite3_stmt *s, const fg_query *q, const fg_val *p, int np,
                    fg_error *err) {
  if (sqlite3_bind_parameter_count(s) != np)
    return fg__seterr(err, FG_EINVAL, "%s: %d parameters given, %d expected", q->name, np,
                      sqlite3_bind_parameter_count(s));
  for (int i = 0; i < np; i++) {
    int rc;
    switch (p[i].type) {
    case FG_VAL_NULL: rc = sqlite3_bind_null(s, i + 1); break;
    case FG_VAL_INT: rc = sqlite3_bind_int64(s, i + 1, p[i].i); break;
    case FG_VAL_REAL: rc = sqlite3_bind_double(s, i + 1, p[i].r); break;
    case FG_VAL_TEXT:
      rc = p[i].s ? sqlite3_bind_text(s, i + 1, p[i].s, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i + 1);
      break;
    case FG_VAL_BLOB:
      rc = p[i].b ? sqlite3_bind_blob64(s, i + 1, p[i].b, p[i].n, SQLITE_STATIC)
                  : sqlite3_bind_null(s, i + 1);
      break;
    default: return fg__seterr(err, FG_EINVAL, "%s: parameter %d has a bad type", q->name, i + 1);
    }
    if (rc != SQLITE_OK) return sq_err(c->db, rc, q->name, err);
  }
  return FG_OK;
}

static void read_row(sqlite3_stmt *s, fg_val *cols, int n) {
  for (int i = 0; i < n; i++) {
    fg_val *v = &cols[i];
    memset(v, 0, sizeof *v);
    switch (sqlite3_column_type(s, i)) {
    case SQLITE_INTEGER:
      v->type = FG_VAL_INT;
      v->i = sqlite3_column_int64(s, i);
      v->r = (double)v->i;
      break;
    case SQLITE_FLOAT:
      v->type = FG_VAL_REAL;
      v->r = sqlite3_column_double(s, i);
      break;
    case SQLITE_TEXT:
      v->type = FG_VAL_TEXT;
      v->s = (const char *)sqlite3_column_text(s, i);
      v->n = (size_t)sqlite3_column_bytes(s, i);
      break;
    case SQLITE_BLOB:
      v->type = FG_VAL_BLOB;
      v->b = sqlite3_column_blob(s, i);
      v->n = (size_t)sqlite3_column_bytes(s, i);
      if (!v->b) v->b = ""; /* an empty blob is still a blob */
      break;
    default: v->type = FG_VAL_NULL; break;
    }
  }
}

static int sq_exec(void *conn, const fg_query *q, const fg_val *params, int np, fg_row_fn fn,
                   void *ctx, fg_error *err) {
  sq_conn *c = conn;
  sqlite3_stmt *s = NULL;
  int rc = get_stmt(c, q, &s, err);
  if (rc != FG_OK) return rc;
  rc = bind_all(c, s, q, params, np, err);
  int ncols = sqlite3_column_count(s);
  if (rc == FG_OK && ncols > MAX_COLS)
    rc = fg__seterr(err, FG_ELIMIT, "%s: %d columns (at most %d)", q->name, ncols, MAX_COLS);
  while (rc == FG_OK) {
    int step = sqlite3_step(s);
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_ROW) {
      rc = sq_err(c->db, step, q->name, err);
      break;
    }
    if (!fn) continue;
    fg_val cols[MAX_COLS];
    read_row(s, cols, ncols);
    int r = fn(ctx, cols, ncols, err);
    if (r == 1) break;
    if (r < 0) rc = r;
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc;
}

static int64_t sq_changes(void *conn) { return sqlite3_changes64(((sq_conn *)conn)->db); }

static int sq_count_tables(void *conn, int64_t *n, fg_error *err) {
  sq_conn *c = conn;
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(c->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                              -1, &st, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    *n = sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc == SQLITE_OK ? FG_OK : sq_err(c->db, rc, "count tables", err);
}

/* Copy the WAL into the database and truncate it, so that the page images of
 * deleted rows it still holds are gone too. A reader still on old pages
 * keeps the checkpoint from finishing (SQLITE_BUSY, or a log that is not
 * empty afterwards): *done 0, and the caller tries again later. */
static int sq_flush(void *conn, int *done, fg_error *err) {
  sq_conn *c = conn;
  /* Wait for readers only briefly: the caller retries. */
  sqlite3_busy_timeout(c->db, 100);
  int log = -1, ckpt = -1;
  int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &ckpt);
  sqlite3_busy_timeout(c->db, 5000);
  *done = rc == SQLITE_OK && log <= 0;
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return FG_OK;
  return rc == SQLITE_OK ? FG_OK : sq_err(c->db, rc, "checkpoint", err);
}

/* Copy the live database page by page into a new file at tmp. */
static int backup_into(sq_conn *c, const char *tmp, fg_error *err) {
  sqlite3 *dst = NULL;
  int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK) {
    rc = sq_err(dst, rc, tmp, err);
    sqlite3_close_v2(dst);
    return rc;
  }
  sqlite3_backup *b = sqlite3_backup_init(dst, "main", c->db, "main");
  if (!b) {
    rc = sq_err(dst, sqlite3_errcode(dst), tmp, err);
    sqlite3_close_v2(dst);
    return rc;
  }
  do {
    rc = sqlite3_backup_step(b, 256);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  int fin = sqlite3_backup_finish(b);
  int out = FG_OK;
  if (rc != SQLITE_DONE) out = sq_err(dst, fin != SQLITE_OK ? fin : rc, tmp, err);
  /* A backup is one self-contained file: no WAL beside it. */
  if (out == FG_OK && (rc = sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL)))
    out = sq_err(dst, rc, tmp, err);
  sqlite3_close_v2(dst);
  return out;
}

/* Create path exclusively, mode 0600 whatever the umask: the file then holds
 * sealed biometrics and personal records. */
static int create_private(const char *path, fg_error *err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return fg__seterr(err, errno == EEXIST ? FG_ECONFLICT : FG_EIO, "%s: %s", path,
                      errno == EEXIST ? "exists already (backups never overwrite)" : strerror(errno));
  fchmod(fd, 0600);
  close(fd);
  return FG_OK;
}

static int sq_backup(void *conn, const char *path, fg_error *err) {
  sq_conn *c = conn;
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.partial", path) >= (int)sizeof tmp)
    return fg__seterr(err, FG_EINVAL, "backup: path too long");
  if (access(path, F_OK) == 0)
    return fg__seterr(err, FG_ECONFLICT, "%s: exists already (backups never overwrite)", path);
  unlink(tmp); /* left by an interrupted backup */
  int rc = create_private(tmp, err);
  if (rc == FG_OK) rc = backup_into(c, tmp, err);
  if (rc == FG_OK && link(tmp, path) != 0) /* link: never replaces a file made meanwhile */
    rc = fg__seterr(err, errno == EEXIST ? FG_ECONFLICT : FG_EIO, "%s: %s", path, strerror(errno));
  unlink(tmp);
  return rc;
}

/* A SQLite backup becomes the new database file: it must be a SQLite file,
 * and the target must not exist (the caller then opens and migrates it). */
static int sq_restore(const char *target, const char *path, fg_error *err) {
  int sqlite = 0;
  int rc = fg__store_file_starts_with(path, "SQLite format 3", 16, &sqlite, err);
  if (rc != FG_OK) return rc;
  if (!sqlite)
    return fg__seterr(err, FG_EFORMAT, "%s: not a SQLite backup (a PostgreSQL dump restores into "
                      "a postgresql:// store)", path);
  if (access(target, F_OK) == 0)
    return fg__seterr(err, FG_ECONFLICT, "%s: a store exists there already; restore into a new "
                      "path or data directory", target);
  sqlite3 *src = NULL;
  rc = sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL);
  sq_conn c = {.db = src};
  if (rc != SQLITE_OK) {
    rc = sq_err(src, rc, path, err);
    sqlite3_close_v2(src);
    return rc;
  }
  rc = sqlite3_exec(src, "PRAGMA quick_check", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    rc = sq_err(src, rc, path, err);
    sqlite3_close_v2(src);
    return rc;
  }
  rc = create_private(target, err);
  if (rc == FG_OK) rc = backup_into(&c, target, err);
  sqlite3_close_v2(src);
  if (rc != FG_OK) unlink(target);
  return rc;
}

static int sq_discard(const char *target, fg_error *err) {
  static const char *const SUFFIX[] = {"", "-wal", "-shm", "-journal"};
  for (int i = 0; i < 4; i++) {
    char p[4096];
    snprintf(p, sizeof p, "%s%s", target, SUFFIX[i]);
    if (unlink(p) != 0 && errno != ENOENT)
      return fg__seterr(err, FG_EIO, "%s: %s", p, strerror(errno));
  }
  return FG_OK;
}

/* The highest id + 1: the writer holds the database's one write lock, so
 * nobody takes it meanwhile (an id freed by deleting the newest row may come
 * back, as SQLite's rowids do). */
#define NEXT_ID(table) {"next_id_" table, "SELECT COALESCE(MAX(id), 0) + 1 FROM " table, 1}
static const fg_query NEXT_IDS[] = {NEXT_ID("encounters"), NEXT_ID("crossings"),
                                    NEXT_ID("referrals"), {NULL, NULL, 0}};
/* n ids from the highest + 1, under the same lock: the last is the highest + n. */
#define RESERVE_IDS(table) \
  {"reserve_ids_" table, "SELECT COALESCE(MAX(id), 0) + ? FROM " table, 1}
static const fg_query RESERVE_IDS[] = {RESERVE_IDS("watchlist"), RESERVE_IDS("watchlist_templates"),
                                       {NULL, NULL, 0}};

/* Test hook: statements prepared and cached on this connection. */
int fg__sqlite_cached(void *conn) { return conn ? ((sq_conn *)conn)->ncached : 0; }

const fg__store_backend fg__store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .exec_script = sq_exec_script,
    .exec = sq_exec,
    .changes = sq_changes,
    .next_ids = NEXT_IDS,
    .reserve_ids = RESERVE_IDS,
    .migrations = fg__sqlite_migrations,
    .count_tables = sq_count_tables,
    .flush = sq_flush,
    .backup = sq_backup,
    .restore = sq_restore,
    .discard = sq_discard,
};
