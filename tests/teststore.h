/*
 * The store a test runs on. The same tests run once per backend:
 *
 *   - SQLite (the default): a facegate.db in the test's mkdtemp directory;
 *   - PostgreSQL, when FACEGATE_TEST_STORE=postgresql and FACEGATE_TEST_PG
 *     holds the base URI of a throw-away cluster (tests/pg/with-postgres starts
 *     one and sets both): a new, empty database per test, dropped afterwards.
 *
 * Tests reach the database behind facegate's back only through ts_raw /
 * ts_raw_int (sqlite3 or libpq), to plant what an attacker or an older
 * facegate would leave there.
 */
#ifndef FG_TESTSTORE_H
#define FG_TESTSTORE_H

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
  char target[512];  /* what fg_store_open / fg_border_options.store take */
  char db[64];       /* PostgreSQL: the database's name */
} ts_store;

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

/* A PostgreSQL target for a new database called name (created empty). */
static inline void ts_pg_new_db(char *target, size_t cap, const char *name) {
  char sql[160];
  snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8'", name);
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
  } else {
    snprintf(t->target, sizeof t->target, "%s/facegate.db", t->dir);
  }
}

static inline void ts_clean(ts_store *t) {
  if (t->db[0]) ts_pg_drop_db(t->db);
  if (t->dir[0] && tu_rm_rf(t->dir) != 0) fprintf(stderr, "could not remove %s\n", t->dir);
  t->dir[0] = t->db[0] = 0;
}

/* Run sql on the store at target behind facegate's back; asserts success. */
static inline void ts_raw(const char *target, const char *sql) {
  if (!strncmp(target, "postgresql://", 13)) {
    PGconn *pc = PQconnectdb(target);
    assert_int_equal(PQstatus(pc), CONNECTION_OK);
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
  const char *path = !strncmp(target, "sqlite:", 7) ? target + 7 : target;
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    print_error("%s: %s\n", sql, msg ? msg : "?");
    fail();
  }
  sqlite3_close(db);
}

/* The first column of the first row of sql (an integer), behind facegate's back. */
static inline long long ts_raw_int(const char *target, const char *sql) {
  long long v = -1;
  if (!strncmp(target, "postgresql://", 13)) {
    PGconn *pc = PQconnectdb(target);
    assert_int_equal(PQstatus(pc), CONNECTION_OK);
    PGresult *r = PQexec(pc, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
      print_error("%s: %s\n", sql, PQerrorMessage(pc));
      fail();
    }
    v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(pc);
    return v;
  }
  const char *path = !strncmp(target, "sqlite:", 7) ? target + 7 : target;
  sqlite3 *db;
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
  if (sqlite3_step(q) == SQLITE_ROW) v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return v;
}

#endif
