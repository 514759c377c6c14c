/*
 * The store a test runs on. The same tests run once per backend:
 *
 *   - SQLite (the default): a facegate.db in the test's mkdtemp directory;
 *   - PostgreSQL, when FACEGATE_TEST_STORE=postgresql and FACEGATE_TEST_PG
 *     holds the base URI of a throw-away cluster (tests/pg/with-postgres starts
 *     one and sets both): a new, empty database per test, dropped afterwards.
 *
 * Tests reach the database behind facegate's back only through ts_raw,
 * ts_int / ts_raw_int and ts_rows (sqlite3 or libpq): to check rows, read
 * sealed blobs, and plant what an attacker or an older facegate would leave
 * there. ts_disk_files reads the files that hold the store, for the
 * plaintext scans. Use ts_make in a cmocka set-up and ts_clean in its
 * teardown, so that the database and directory go also when a test fails.
 * docs/store-tests.md says how the two runs differ.
 */
#ifndef FG_TESTSTORE_H
#define FG_TESTSTORE_H

#include <dirent.h>
#include <errno.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "testutil.h"

static inline int ts_pg(void) {
  const char *s = getenv("FACEGATE_TEST_STORE");
  return s && !strcmp(s, "postgresql");
}

/* "sqlite" or "postgresql", for messages and assertions. */
static inline const char *ts_backend(void) { return ts_pg() ? "postgresql" : "sqlite"; }

typedef struct ts_store {
  char dir[64];      /* the test's scratch directory (key file, policy...) */
  char target[512];  /* what fg_store_open takes: <dir>/facegate.db, or a URI */
  char db[64];       /* PostgreSQL: the database's name */
  char wal0[32];     /* PostgreSQL: the WAL segment current when it was created */
} ts_store;

/* What fg_border_options.store takes: NULL on SQLite (the data directory's
 * facegate.db, i.e. t->target when the data directory is t->dir, so that the
 * default path stays the one tested), the URI on PostgreSQL. */
static inline const char *ts_store_opt(const ts_store *t) { return t->db[0] ? t->target : NULL; }

static inline int ts_is_pg_target(const char *target) {
  return !strncmp(target, "postgresql://", 13) || !strncmp(target, "postgres://", 11);
}

static inline const char *ts_sqlite_path(const char *target) {
  return !strncmp(target, "sqlite:", 7) ? target + 7 : target;
}

static inline PGconn *ts_pg_connect(const char *target) {
  PGconn *pc = PQconnectdb(target);
  if (PQstatus(pc) != CONNECTION_OK) {
    print_error("cannot connect to %s: %s\n", target, PQerrorMessage(pc));
    fail();
  }
  return pc;
}

/* The single text value of sql on an open connection (asserts one row). */
static inline void ts_pg_value(PGconn *pc, const char *sql, char *out, size_t cap) {
  PGresult *r = PQexec(pc, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
    print_error("%s: %s\n", sql, PQerrorMessage(pc));
    fail();
  }
  snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
}

static inline PGconn *ts_pg_admin(void) {
  char uri[512];
  const char *base = getenv("FACEGATE_TEST_PG");
  if (!base || !*base) {
    print_error("FACEGATE_TEST_STORE=postgresql needs FACEGATE_TEST_PG (tests/pg/with-postgres)\n");
    fail();
  }
  snprintf(uri, sizeof uri, "%s/postgres", base);
  PGconn *pc = PQconnectdb(uri);
  if (PQstatus(pc) != CONNECTION_OK) {
    print_error("cannot reach the test cluster at %s: %s\n", base, PQerrorMessage(pc));
    fail();
  }
  return pc;
}

static inline void ts_pg_admin_exec(const char *sql) {
  PGconn *pc = ts_pg_admin();
  PGresult *r = PQexec(pc, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    print_error("%s: %s\n", sql, PQerrorMessage(pc));
    fail();
  }
  PQclear(r);
  PQfinish(pc);
}

/* A PostgreSQL target for a new database called name (created empty).
 * FILE_COPY copies template0's files rather than writing them to the WAL
 * (PostgreSQL 15's default): quicker for the many small databases of a run,
 * and it keeps the WAL that ts_disk_files scans to the test's own writes. */
static inline void ts_pg_new_db(char *target, size_t cap, const char *name) {
  char sql[160];
  snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' STRATEGY FILE_COPY", name);
  ts_pg_admin_exec(sql);
  snprintf(target, cap, "%s/%s", getenv("FACEGATE_TEST_PG"), name);
}

static inline void ts_pg_drop_db(const char *name) {
  char sql[160];
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
  ts_pg_admin_exec(sql);
}

/* A scratch directory and an empty store target; tag names the test. */
static inline void ts_make(ts_store *t, const char *tag) {
  static int counter;
  memset(t, 0, sizeof *t);
  snprintf(t->dir, sizeof t->dir, "/tmp/fg_%s_XXXXXX", tag);
  assert_non_null(mkdtemp(t->dir));
  if (ts_pg()) {
    snprintf(t->db, sizeof t->db, "fgt_%d_%d_%s", (int)getpid(), ++counter, tag);
    ts_pg_new_db(t->target, sizeof t->target, t->db);
    PGconn *pc = ts_pg_connect(t->target);
    ts_pg_value(pc, "SELECT pg_walfile_name(pg_current_wal_lsn())", t->wal0, sizeof t->wal0);
    PQfinish(pc);
  } else {
    snprintf(t->target, sizeof t->target, "%s/facegate.db", t->dir);
  }
}

/* Start again from an empty store (same directory, same key file): SQLite
 * removes the database and its WAL, PostgreSQL drops and re-creates the
 * database. The caller has closed every connection to it. */
static inline void ts_reset(ts_store *t) {
  if (t->db[0]) {
    ts_pg_drop_db(t->db);
    ts_pg_new_db(t->target, sizeof t->target, t->db);
    return;
  }
  static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
  for (int i = 0; i < 4; i++) {
    char p[600];
    snprintf(p, sizeof p, "%s%s", ts_sqlite_path(t->target), suffix[i]);
    if (unlink(p) != 0 && errno != ENOENT) {
      print_error("cannot remove %s\n", p);
      fail();
    }
  }
}

static inline void ts_clean(ts_store *t) {
  if (t->db[0]) ts_pg_drop_db(t->db);
  if (t->dir[0] && tu_rm_rf(t->dir) != 0) fprintf(stderr, "could not remove %s\n", t->dir);
  t->dir[0] = t->db[0] = 0;
}

/* Run sql (one or more statements) on the store at target behind
 * facegate's back; asserts success. */
static inline void ts_raw(const char *target, const char *sql) {
  if (ts_is_pg_target(target)) {
    PGconn *pc = ts_pg_connect(target);
    PGresult *r = PQexec(pc, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      print_error("%s: %s\n", sql, PQerrorMessage(pc));
      fail();
    }
    PQclear(r);
    PQfinish(pc);
    return;
  }
  sqlite3 *db;
  assert_int_equal(sqlite3_open(ts_sqlite_path(target), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    print_error("%s: %s\n", sql, msg ? msg : "?");
    fail();
  }
  sqlite3_close(db);
}

/* One column of a result row: text (integers as decimal text) or a blob's
 * bytes; p is NUL-terminated either way. Valid during the callback only. */
typedef struct ts_col {
  const uint8_t *p;
  size_t n;
  int null;
} ts_col;
/* Return 0 to go on, non-zero to stop. */
typedef int (*ts_row_fn)(void *ctx, const ts_col *cols, int ncols);

/* PostgreSQL's placeholders for a query written with `?` (outside quotes),
 * every one of them the single parameter $1. */
static inline void ts_pg_placeholders(const char *sql, char *out, size_t cap, int *nparams) {
  size_t o = 0;
  int quoted = 0;
  *nparams = 0;
  for (const char *p = sql; *p && o + 3 < cap; p++) {
    if (*p == '\'') quoted = !quoted;
    if (*p == '?' && !quoted) {
      out[o++] = '$';
      out[o++] = '1';
      *nparams = 1;
    } else {
      out[o++] = *p;
    }
  }
  if (o + 3 >= cap) {
    print_error("query too long for the test helper: %s\n", sql);
    fail();
  }
  out[o] = 0;
}

/* Run a query behind facegate's back and call fn for each row; every `?` in
 * sql is bound to arg. Returns the number of rows seen (read-only on SQLite). */
static inline int64_t ts_rows(const char *target, const char *sql, int64_t arg, ts_row_fn fn,
                              void *ctx) {
  int64_t rows = 0;
  ts_col cols[16];
  if (ts_is_pg_target(target)) {
    char q[4096], val[32];
    int np;
    ts_pg_placeholders(sql, q, sizeof q, &np);
    snprintf(val, sizeof val, "%lld", (long long)arg);
    const char *params[1] = {val};
    PGconn *pc = ts_pg_connect(target);
    PGresult *r = PQexecParams(pc, q, np, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      print_error("%s: %s\n", sql, PQerrorMessage(pc));
      fail();
    }
    int nc = PQnfields(r) < 16 ? PQnfields(r) : 16;
    for (int i = 0; i < PQntuples(r); i++) {
      uint8_t *bytes[16] = {0};
      for (int c = 0; c < nc; c++) {
        cols[c].null = PQgetisnull(r, i, c);
        if (PQftype(r, c) == 17 /* bytea */ && !cols[c].null) {
          size_t n = 0;
          bytes[c] = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, c), &n);
          assert_non_null(bytes[c]);
          cols[c].p = bytes[c];
          cols[c].n = n;
        } else {
          cols[c].p = (const uint8_t *)PQgetvalue(r, i, c);
          cols[c].n = (size_t)PQgetlength(r, i, c);
        }
      }
      rows++;
      int stop = fn ? fn(ctx, cols, nc) : 0;
      for (int c = 0; c < nc; c++) PQfreemem(bytes[c]);
      if (stop) break;
    }
    PQclear(r);
    PQfinish(pc);
    return rows;
  }
  sqlite3 *db;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open_v2(ts_sqlite_path(target), &db, SQLITE_OPEN_READONLY, NULL),
                   SQLITE_OK);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    print_error("%s: %s\n", sql, sqlite3_errmsg(db));
    fail();
  }
  for (int k = 1; k <= sqlite3_bind_parameter_count(st); k++) sqlite3_bind_int64(st, k, arg);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int nc = sqlite3_column_count(st) < 16 ? sqlite3_column_count(st) : 16;
    for (int c = 0; c < nc; c++) {
      int type = sqlite3_column_type(st, c);
      cols[c].null = type == SQLITE_NULL;
      cols[c].p = type == SQLITE_BLOB ? sqlite3_column_blob(st, c) : sqlite3_column_text(st, c);
      cols[c].n = (size_t)sqlite3_column_bytes(st, c);
      if (!cols[c].p) cols[c].p = (const uint8_t *)"";
    }
    rows++;
    if (fn && fn(ctx, cols, nc)) break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    print_error("%s: %s\n", sql, sqlite3_errmsg(db));
    fail();
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

static inline int ts_first_int(void *ctx, const ts_col *cols, int ncols) {
  *(int64_t *)ctx = ncols > 0 && !cols[0].null ? strtoll((const char *)cols[0].p, NULL, 10) : 0;
  return 1;
}

/* The first column of the first row of sql as an integer (NULL: 0, no row:
 * -1), every `?` bound to arg; behind facegate's back. */
static inline int64_t ts_int(const char *target, const char *sql, int64_t arg) {
  int64_t v = -1;
  ts_rows(target, sql, arg, ts_first_int, &v);
  return v;
}

/* ts_int without parameters. */
static inline long long ts_raw_int(const char *target, const char *sql) {
  return (long long)ts_int(target, sql, 0);
}

/* ---- the bytes on disk ------------------------------------------------------------- */

/* Called with each file's contents; return non-zero to stop. */
typedef int (*ts_file_fn)(void *ctx, const char *path, const uint8_t *data, size_t n);

static inline int ts_scan_file(const char *path, ts_file_fn fn, void *ctx) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(n > 0 ? (size_t)n + 1 : 1);
  assert_non_null(p);
  size_t got = n > 0 ? fread(p, 1, (size_t)n, f) : 0;
  fclose(f);
  int stop = fn(ctx, path, p, got);
  free(p);
  return stop;
}

/*
 * Every file that holds the store's data, as the disk has it:
 *   - SQLite: the database file and its write-ahead log;
 *   - PostgreSQL (after a CHECKPOINT, so that the pages are written): the
 *     database's directory under the cluster's base/ (tables, TOAST, indexes)
 *     and the WAL segments written since the database was created (older ones
 *     the checkpoint already recycled are gone). The cluster's files must be
 *     readable by the test (the cluster runs as the test's user, or the test
 *     runs as root).
 * Returns the number of files scanned.
 */
static inline int ts_disk_files(const ts_store *t, ts_file_fn fn, void *ctx) {
  int files = 0;
  if (!t->db[0]) {
    char p[600];
    const char *base = ts_sqlite_path(t->target);
    snprintf(p, sizeof p, "%s", base);
    if (tu_exists(p)) files++;
    if (ts_scan_file(p, fn, ctx)) return files;
    snprintf(p, sizeof p, "%s-wal", base);
    if (tu_exists(p)) files++;
    ts_scan_file(p, fn, ctx);
    return files;
  }
  char datadir[1024], oid[32], wal1[32];
  PGconn *pc = ts_pg_connect(t->target);
  PGresult *r = PQexec(pc, "CHECKPOINT");
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    print_error("CHECKPOINT: %s\n", PQerrorMessage(pc));
    fail();
  }
  PQclear(r);
  ts_pg_value(pc, "SHOW data_directory", datadir, sizeof datadir);
  ts_pg_value(pc, "SELECT oid FROM pg_database WHERE datname = current_database()", oid, sizeof oid);
  ts_pg_value(pc, "SELECT pg_walfile_name(pg_current_wal_lsn())", wal1, sizeof wal1);
  PQfinish(pc);
  char dir[1200];
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 0) snprintf(dir, sizeof dir, "%s/base/%s", datadir, oid);
    else snprintf(dir, sizeof dir, "%s/pg_wal", datadir);
    DIR *d = opendir(dir);
    if (!d) {
      print_error("cannot read %s (the cluster's files must be readable by the test)\n", dir);
      fail();
    }
    for (struct dirent *de; (de = readdir(d));) {
      if (de->d_name[0] == '.') continue;
      if (pass == 1 && (strlen(de->d_name) != 24 || strcmp(de->d_name, t->wal0) < 0 ||
                        strcmp(de->d_name, wal1) > 0))
        continue;
      char p[1500];
      snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
      files++;
      if (ts_scan_file(p, fn, ctx)) {
        closedir(d);
        return files;
      }
    }
    closedir(d);
  }
  return files;
}

typedef struct ts_needle {
  const void *p;
  size_t n;
  int found;
  char where[1500];
} ts_needle;

static inline int ts_needle_fn(void *ctx, const char *path, const uint8_t *data, size_t n) {
  ts_needle *k = ctx;
  if (memmem(data, n, k->p, k->n)) {
    k->found = 1;
    snprintf(k->where, sizeof k->where, "%s", path);
    return 1;
  }
  return 0;
}

/* Whether the n bytes at p are anywhere in the store's files (ts_disk_files). */
static inline int ts_on_disk(const ts_store *t, const void *p, size_t n) {
  ts_needle k = {.p = p, .n = n};
  assert_true(ts_disk_files(t, ts_needle_fn, &k) > 0);
  if (k.found) print_message("found on disk in %s\n", k.where);
  return k.found;
}

#endif
