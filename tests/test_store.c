/*
 * The storage layer (include/facegate/store.h) on SQLite: migrations on a
 * fresh file and on re-open, refusal of a newer schema and of a file that is
 * not a database, nested transactions and their rollback rules, constraint
 * and foreign-key failures as FG_ECONFLICT, row callbacks (early stop, error
 * propagation), the prepared-statement cache, and online backup. Each test
 * works in its own mkdtemp directory under /tmp and removes it.
 */
#include "testutil.h"

#include <sqlite3.h>

#include "facegate/store.h"
#include "store/store_internal.h"

typedef struct tmp {
  char dir[64];
  char db[96];
} tmp;

static void tmp_make(tmp *t) {
  snprintf(t->dir, sizeof t->dir, "/tmp/fg_store_XXXXXX");
  assert_non_null(mkdtemp(t->dir));
  snprintf(t->db, sizeof t->db, "%s/fg.db", t->dir);
}

static void tmp_clean(tmp *t) {
  assert_int_equal(tu_rm_rf(t->dir), 0);
}

static fg_store *open_ok(const char *path) {
  fg_store *st = NULL;
  fg_error e = {0};
  int rc = fg_store_open(path, FG_STORE_NOSYNC, &st, &e);
  if (rc != FG_OK) print_error("open %s: %s\n", path, e.msg);
  assert_int_equal(rc, FG_OK);
  return st;
}

static const fg_query q_trav_insert = {
    "traveller_insert",
    "INSERT INTO travellers (surname, category, created_at) VALUES (?, ?, ?) RETURNING id"};
static const fg_query q_trav_count = {"traveller_count", "SELECT count(*) FROM travellers"};
static const fg_query q_trav_all = {"traveller_all",
                                    "SELECT id, surname, given_names, date_of_birth FROM travellers ORDER BY id"};
static const fg_query q_doc_insert = {
    "document_insert",
    "INSERT INTO documents (traveller_id, doc_number, issuing_state) VALUES (?, ?, ?)"};

static int64_t add_traveller(fg_store *st, const char *surname) {
  fg_val p[3] = {FG_V_TEXT(surname), FG_V_TEXT("citizen"), FG_V_INT(1700000000)};
  int64_t id = -1;
  int found = 0;
  fg_error e = {0};
  assert_int_equal(fg_store_exec_int(st, &q_trav_insert, p, 3, &id, &found, &e), FG_OK);
  assert_true(found);
  return id;
}

static int64_t count_travellers(fg_store *st) {
  int64_t n = -1;
  fg_error e = {0};
  assert_int_equal(fg_store_exec_int(st, &q_trav_count, NULL, 0, &n, NULL, &e), FG_OK);
  return n;
}

static void test_migrate_and_reopen(void **state) {
  (void)state;
  tmp t;
  tmp_make(&t);
  fg_store *st = open_ok(t.db);
  assert_string_equal(fg_store_backend(st), "sqlite");
  int v = -1;
  fg_error e = {0};
  assert_int_equal(fg_store_schema_version(st, &v, &e), FG_OK);
  assert_int_equal(v, FG_STORE_SCHEMA_VERSION);
  assert_int_equal(add_traveller(st, "Okafor"), 1);
  fg_store_close(st);

  /* Re-open (with the scheme): nothing re-applied, the data is there. */
  char target[128];
  snprintf(target, sizeof target, "sqlite:%s", t.db);
  st = open_ok(target);
  assert_int_equal(fg_store_schema_version(st, &v, &e), FG_OK);
  assert_int_equal(v, FG_STORE_SCHEMA_VERSION);
  assert_int_equal(count_travellers(st), 1);
  fg_store_close(st);

  /* Read-only: reads work, writes fail. */
  assert_int_equal(fg_store_open(t.db, FG_STORE_READONLY, &st, &e), FG_OK);
  assert_int_equal(count_travellers(st), 1);
  fg_val p[3] = {FG_V_TEXT("X"), FG_V_TEXT("citizen"), FG_V_INT(1)};
  assert_int_equal(fg_store_exec(st, &q_trav_insert, p, 3, NULL, NULL, &e), FG_EIO);
  fg_store_close(st);

  /* Other schemes are refused; NULL close is a no-op. */
  assert_int_equal(fg_store_open("postgres://db/x", 0, &st, &e), FG_EUNSUPPORTED);
  assert_null(st);
  fg_store_close(NULL);
  tmp_clean(&t);
}

static void test_refusals(void **state) {
  (void)state;
  tmp t;
  tmp_make(&t);
  fg_store *st = open_ok(t.db);
  fg_store_close(st);
  /* A newer facegate wrote this file. */
  sqlite3 *db;
  assert_int_equal(sqlite3_open(t.db, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
                                NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  fg_error e = {0};
  assert_int_equal(fg_store_open(t.db, 0, &st, &e), FG_EUNSUPPORTED);
  assert_null(st);
  assert_non_null(strstr(e.msg, "99"));

  /* Not a database at all. */
  char path[128];
  snprintf(path, sizeof path, "%s/text.db", t.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  for (int i = 0; i < 200; i++) fputs("this is not a database, only some text\n", f);
  fclose(f);
  assert_int_equal(fg_store_open(path, 0, &st, &e), FG_EFORMAT);
  assert_null(st);
  assert_int_equal(fg_store_open(path, FG_STORE_READONLY, &st, &e), FG_EFORMAT);

  /* A SQLite database of something else, read-only: not a facegate database. */
  snprintf(path, sizeof path, "%s/other.db", t.dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "CREATE TABLE meta (k TEXT)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(fg_store_open(path, FG_STORE_READONLY, &st, &e), FG_EFORMAT);
  assert_int_equal(fg_store_open(path, 0, &st, &e), FG_EFORMAT);

  /* Somebody else's database without a clashing table: refused, left as it was. */
  snprintf(path, sizeof path, "%s/people.db", t.dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "CREATE TABLE people (name TEXT)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(fg_store_open(path, 0, &st, &e), FG_EFORMAT);
  assert_non_null(strstr(e.msg, "not a facegate database"));
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(q, 0), 1);
  sqlite3_finalize(q);
  sqlite3_close(db);

  /* A directory that does not exist. */
  assert_int_equal(fg_store_open("/nonexistent/dir/fg.db", 0, &st, &e), FG_EIO);
  tmp_clean(&t);
}

static void test_transactions(void **state) {
  (void)state;
  tmp t;
  tmp_make(&t);
  fg_store *st = open_ok(t.db);
  fg_error e = {0};
  assert_int_equal(fg_store_depth(st), 0);
  assert_int_equal(fg_store_commit(st, &e), FG_EINVAL);

  /* Nested commit: only the outermost one counts. */
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  assert_int_equal(fg_store_depth(st), 2);
  add_traveller(st, "A");
  assert_int_equal(fg_store_commit(st, &e), FG_OK);
  assert_int_equal(fg_store_depth(st), 1);
  fg_store_rollback(st); /* the outer rollback undoes the inner commit */
  assert_int_equal(fg_store_depth(st), 0);
  assert_int_equal(count_travellers(st), 0);

  /* Inner rollback dooms the whole transaction. */
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  add_traveller(st, "B");
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  add_traveller(st, "C");
  fg_store_rollback(st);
  assert_int_equal(fg_store_depth(st), 1);
  /* No query may run outside the transaction its caller believes open. */
  fg_val p[3] = {FG_V_TEXT("D"), FG_V_TEXT("citizen"), FG_V_INT(1)};
  assert_int_equal(fg_store_exec(st, &q_trav_insert, p, 3, NULL, NULL, &e), FG_ECONFLICT);
  assert_int_equal(fg_store_begin(st, &e), FG_ECONFLICT);
  assert_int_equal(fg_store_depth(st), 1);
  assert_int_equal(fg_store_commit(st, &e), FG_ECONFLICT);
  assert_int_equal(fg_store_depth(st), 0);
  assert_int_equal(count_travellers(st), 0);

  /* Plain commit persists; the store works normally again. */
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  add_traveller(st, "E");
  assert_int_equal(fg_store_commit(st, &e), FG_OK);
  assert_int_equal(count_travellers(st), 1);

  /* Closing with a transaction open rolls it back. */
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  add_traveller(st, "F");
  fg_store_close(st);
  st = open_ok(t.db);
  assert_int_equal(count_travellers(st), 1);

  /* A second writer waits for, then sees, the first one's commit. */
  fg_store *st2 = open_ok(t.db);
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  add_traveller(st, "G");
  assert_int_equal(count_travellers(st2), 1); /* WAL: the reader sees the last commit */
  assert_int_equal(fg_store_commit(st, &e), FG_OK);
  assert_int_equal(count_travellers(st2), 2);
  fg_store_close(st2);
  fg_store_close(st);
  tmp_clean(&t);
}

static void test_constraints(void **state) {
  (void)state;
  tmp t;
  tmp_make(&t);
  fg_store *st = open_ok(t.db);
  fg_error e = {0};
  int64_t id = add_traveller(st, "Nakamura");
  fg_val d[3] = {FG_V_INT(id), FG_V_TEXT("X1234567"), FG_V_TEXT("JPN")};
  assert_int_equal(fg_store_exec(st, &q_doc_insert, d, 3, NULL, NULL, &e), FG_OK);
  assert_int_equal(fg_store_changes(st), 1);
  /* UNIQUE (issuing_state, doc_number). */
  assert_int_equal(fg_store_exec(st, &q_doc_insert, d, 3, NULL, NULL, &e), FG_ECONFLICT);
  assert_non_null(strstr(e.msg, "document_insert"));
  /* CHECK (category IN ...). */
  fg_val bad[3] = {FG_V_TEXT("Z"), FG_V_TEXT("alien"), FG_V_INT(1)};
  assert_int_equal(fg_store_exec(st, &q_trav_insert, bad, 3, NULL, NULL, &e), FG_ECONFLICT);
  assert_non_null(strstr(e.msg, "traveller_insert"));
  /* FOREIGN KEY: no traveller 999. */
  fg_val orphan[3] = {FG_V_INT(999), FG_V_TEXT("Y1"), FG_V_TEXT("JPN")};
  assert_int_equal(fg_store_exec(st, &q_doc_insert, orphan, 3, NULL, NULL, &e), FG_ECONFLICT);
  assert_non_null(strstr(e.msg, "FOREIGN KEY"));
  /* Wrong parameter count, bad SQL, two statements. */
  assert_int_equal(fg_store_exec(st, &q_doc_insert, d, 2, NULL, NULL, &e), FG_EINVAL);
  static const fg_query q_bad = {"bad", "SELECT nope FROM nowhere"};
  assert_int_equal(fg_store_exec(st, &q_bad, NULL, 0, NULL, NULL, &e), FG_EIO);
  assert_non_null(strstr(e.msg, "bad: no such table"));
  static const fg_query q_two = {"two", "SELECT 1; SELECT 2"};
  assert_int_equal(fg_store_exec(st, &q_two, NULL, 0, NULL, NULL, &e), FG_EINVAL);
  /* exec_int without a row leaves *out alone. */
  static const fg_query q_none = {"none", "SELECT id FROM travellers WHERE id = ?"};
  fg_val p = FG_V_INT(12345);
  int64_t out = 77;
  int found = 1;
  assert_int_equal(fg_store_exec_int(st, &q_none, &p, 1, &out, &found, &e), FG_OK);
  assert_int_equal(found, 0);
  assert_int_equal(out, 77);
  fg_store_close(st);
  tmp_clean(&t);
}

typedef struct rows {
  int seen;
  int stop_at;
  int fail_at;
  char names[8][16];
  int null_dob;
} rows;

static int on_row(void *ctx, const fg_val *cols, int ncols, fg_error *err) {
  rows *r = ctx;
  assert_int_equal(ncols, 4);
  assert_int_equal(cols[0].type, FG_VAL_INT);
  assert_int_equal(cols[1].type, FG_VAL_TEXT);
  assert_int_equal(cols[2].type, FG_VAL_TEXT); /* '' default */
  if (cols[3].type == FG_VAL_NULL) r->null_dob++;
  snprintf(r->names[r->seen % 8], 16, "%s", cols[1].s);
  r->seen++;
  if (r->seen == r->fail_at) {
    if (err) snprintf(err->msg, sizeof err->msg, "row %d refused", r->seen), err->code = FG_EFORMAT;
    return FG_EFORMAT;
  }
  return r->seen == r->stop_at;
}

typedef struct got {
  double score;
  uint8_t b[8];
  size_t n;
  int cat_null;
} got;

static int getter(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err;
  got *g = ctx;
  assert_int_equal(n, 3);
  assert_int_equal(c[0].type, FG_VAL_REAL);
  g->score = c[0].r;
  assert_int_equal(c[1].type, FG_VAL_BLOB);
  assert_true(c[1].n <= sizeof g->b);
  g->n = c[1].n;
  memcpy(g->b, c[1].b, c[1].n);
  g->cat_null = c[2].type == FG_VAL_NULL;
  return 0;
}

static void test_rows(void **state) {
  (void)state;
  tmp t;
  tmp_make(&t);
  fg_store *st = open_ok(t.db);
  fg_error e = {0};
  const char *names[] = {"Ada", "Bo", "Cy", "Di", "Ed"};
  for (int i = 0; i < 5; i++) add_traveller(st, names[i]);
  rows r = {0};
  assert_int_equal(fg_store_exec(st, &q_trav_all, NULL, 0, on_row, &r, &e), FG_OK);
  assert_int_equal(r.seen, 5);
  assert_int_equal(r.null_dob, 5);
  assert_string_equal(r.names[4], "Ed");
  /* Early stop is not an error, and the statement is reusable afterwards. */
  memset(&r, 0, sizeof r);
  r.stop_at = 2;
  assert_int_equal(fg_store_exec(st, &q_trav_all, NULL, 0, on_row, &r, &e), FG_OK);
  assert_int_equal(r.seen, 2);
  /* A callback's error comes back as is. */
  memset(&r, 0, sizeof r);
  r.fail_at = 3;
  assert_int_equal(fg_store_exec(st, &q_trav_all, NULL, 0, on_row, &r, &e), FG_EFORMAT);
  assert_string_equal(e.msg, "row 3 refused");
  assert_int_equal(r.seen, 3);
  /* Blobs and reals round-trip, including an empty blob and NULL text. */
  static const fg_query q_enc = {
      "encounter_insert",
      "INSERT INTO encounters (port, gate, at, outcome, actor, score, capture_sealed, category) "
      "VALUES ('LHR', 'g1', 1, 'MATCHED', 'gate', ?, ?, ?) RETURNING id"};
  uint8_t blob[5] = {0, 1, 2, 0, 255};
  fg_val p[3] = {FG_V_REAL(0.625), FG_V_BLOB(blob, 5), FG_V_TEXT((const char *)NULL)};
  int64_t id;
  assert_int_equal(fg_store_exec_int(st, &q_enc, p, 3, &id, NULL, &e), FG_OK);
  static const fg_query q_get = {"encounter_get",
                                 "SELECT score, capture_sealed, category FROM encounters WHERE id = ?"};
  got g = {0};
  fg_val pid = FG_V_INT(id);
  assert_int_equal(fg_store_exec(st, &q_get, &pid, 1, getter, &g, &e), FG_OK);
  assert_true(g.score == 0.625);
  assert_int_equal(g.n, 5);
  assert_memory_equal(g.b, blob, 5);
  assert_true(g.cat_null);
  fg_store_close(st);
  tmp_clean(&t);
}

static void test_statement_cache(void **state) {
  (void)state;
  tmp t;
  tmp_make(&t);
  fg_store *st = open_ok(t.db);
  void *conn = fg__store_conn(st);
  int base = fg__sqlite_cached(conn);
  for (int i = 0; i < 50; i++) count_travellers(st);
  assert_int_equal(fg__sqlite_cached(conn), base + 1);
  /* Same SQL text, another object: its own entry. */
  static const fg_query twin = {"traveller_count_twin", "SELECT count(*) FROM travellers"};
  int64_t n;
  fg_error e = {0};
  assert_int_equal(fg_store_exec_int(st, &twin, NULL, 0, &n, NULL, &e), FG_OK);
  assert_int_equal(fg__sqlite_cached(conn), base + 2);
  /* Many queries: the cache holds them all and finds each again. */
  static fg_query many[200];
  static char sql[200][48];
  for (int i = 0; i < 200; i++) {
    snprintf(sql[i], sizeof sql[i], "SELECT %d + count(*) FROM travellers", i);
    many[i] = (fg_query){"many", sql[i]};
  }
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 200; i++) {
      assert_int_equal(fg_store_exec_int(st, &many[i], NULL, 0, &n, NULL, &e), FG_OK);
      assert_int_equal(n, i);
    }
  }
  assert_int_equal(fg__sqlite_cached(conn), base + 202);
  /* A failed prepare caches nothing. */
  static const fg_query q_bad = {"bad", "SELEKT"};
  assert_int_equal(fg_store_exec(st, &q_bad, NULL, 0, NULL, NULL, &e), FG_EIO);
  assert_int_equal(fg__sqlite_cached(conn), base + 202);
  fg_store_close(st);
  tmp_clean(&t);
}

static void test_backup(void **state) {
  (void)state;
  tmp t;
  tmp_make(&t);
  fg_store *st = open_ok(t.db);
  fg_error e = {0};
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  for (int i = 0; i < 500; i++) add_traveller(st, "Backup");
  assert_int_equal(fg_store_commit(st, &e), FG_OK);
  char path[128];
  snprintf(path, sizeof path, "%s/copy.db", t.dir);
  assert_int_equal(fg_store_backup(st, path, &e), FG_OK);
  add_traveller(st, "After"); /* not in the copy */
  fg_store *copy = open_ok(path);
  assert_int_equal(count_travellers(copy), 500);
  int v;
  assert_int_equal(fg_store_schema_version(copy, &v, &e), FG_OK);
  assert_int_equal(v, FG_STORE_SCHEMA_VERSION);
  fg_store_close(copy);
  assert_int_equal(fg_store_backup(st, "/nonexistent/dir/copy.db", &e), FG_EIO);
  fg_store_close(st);
  tmp_clean(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_migrate_and_reopen),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_transactions),
      cmocka_unit_test(test_constraints),
      cmocka_unit_test(test_rows),
      cmocka_unit_test(test_statement_cache),
      cmocka_unit_test(test_backup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
