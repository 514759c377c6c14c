/*
 * The storage layer (include/facegate/store.h), one suite for both backends:
 * it runs on SQLite, and on PostgreSQL when FACEGATE_TEST_STORE=postgresql
 * (tests/pg/with-postgres starts a throw-away cluster; tests/teststore.h).
 *
 * Migrations on a fresh store and on re-open (servers starting together
 * migrate once), refusal of a newer schema and of somebody else's database,
 * nested transactions and their rollback rules, constraint and foreign-key
 * failures as FG_ECONFLICT (also when PostgreSQL deferred the statement to
 * the commit), each query's column count checked once, row callbacks (early
 * stop, error propagation), typed values both ways, the prepared-statement
 * cache, backup and restore into a fresh store, change notifications, lost
 * connections (PostgreSQL), round trips per transaction, and that the two
 * dialects describe the same tables and columns.
 */
#include "teststore.h"

#include <pthread.h>

#include "facegate/store.h"
#include "store/store_internal.h"

static fg_store *open_ok(const char *target) {
  fg_store *st = NULL;
  fg_error e = {0};
  int rc = fg_store_open(target, FG_STORE_NOSYNC, &st, &e);
  if (rc != FG_OK) print_error("open %s: %s\n", target, e.msg);
  assert_int_equal(rc, FG_OK);
  return st;
}

static const fg_query q_trav_insert = {
    "traveller_insert",
    "INSERT INTO travellers (surname, category, created_at) VALUES (?, ?, ?) RETURNING id", 1};
static const fg_query q_trav_add = {
    "traveller_add", "INSERT INTO travellers (surname, category, created_at) VALUES (?, ?, ?)", 0};
static const fg_query q_trav_count = {"traveller_count", "SELECT count(*) FROM travellers", 1};
static const fg_query q_trav_all = {
    "traveller_all", "SELECT id, surname, given_names, date_of_birth FROM travellers ORDER BY id", 4};
static const fg_query q_doc_insert = {
    "document_insert",
    "INSERT INTO documents (traveller_id, doc_number, issuing_state) VALUES (?, ?, ?)", 0};

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
  ts_store t;
  ts_make(&t, "store");
  fg_store *st = open_ok(t.target);
  assert_string_equal(fg_store_backend(st), ts_backend());
  int v = -1;
  fg_error e = {0};
  assert_int_equal(fg_store_schema_version(st, &v, &e), FG_OK);
  assert_int_equal(v, FG_STORE_SCHEMA_VERSION);
  assert_int_equal(add_traveller(st, "Okafor"), 1);
  fg_store_close(st);

  /* Re-open: nothing re-applied, the data is there (SQLite: with the scheme). */
  char target[600];
  snprintf(target, sizeof target, "%s%s", ts_pg() ? "" : "sqlite:", t.target);
  st = open_ok(target);
  assert_int_equal(fg_store_schema_version(st, &v, &e), FG_OK);
  assert_int_equal(v, FG_STORE_SCHEMA_VERSION);
  assert_int_equal(count_travellers(st), 1);
  fg_store_close(st);

  /* Read-only: reads work, writes fail. */
  assert_int_equal(fg_store_open(t.target, FG_STORE_READONLY, &st, &e), FG_OK);
  assert_int_equal(count_travellers(st), 1);
  fg_val p[3] = {FG_V_TEXT("X"), FG_V_TEXT("citizen"), FG_V_INT(1)};
  assert_int_not_equal(fg_store_exec(st, &q_trav_insert, p, 3, NULL, NULL, &e), FG_OK);
  fg_store_close(st);
  assert_int_equal(ts_raw_int(t.target, "SELECT count(*) FROM travellers"), 1);

  /* Other schemes are refused; NULL close is a no-op. */
  assert_int_equal(fg_store_open("mysql://db/x", 0, &st, &e), FG_EUNSUPPORTED);
  assert_null(st);
  fg_store_close(NULL);
  ts_clean(&t);
}

/* A PostgreSQL server that is not there: a clear, retryable error that never
 * shows the password. Needs no server, so it runs with both backends. */
static void test_unreachable(void **state) {
  (void)state;
  fg_store *st = NULL;
  fg_error e = {0};
  double t0 = fg__test_ms();
  assert_int_equal(fg_store_open("postgresql://fg:s3cret@127.0.0.1:1/facegate", 0, &st, &e),
                   FG_EUNAVAILABLE);
  assert_null(st);
  assert_true(fg__test_ms() - t0 < 10000);
  assert_non_null(strstr(e.msg, "cannot connect"));
  assert_non_null(strstr(e.msg, "fg:***@127.0.0.1:1"));
  assert_null(strstr(e.msg, "s3cret"));
  assert_int_equal(fg_store_target_is_remote("postgres://h/db"), 1);
  assert_int_equal(fg_store_target_is_remote("var/data/facegate.db"), 0);
  char buf[200];
  fg_store_redact("postgresql://u:pw@h:5/db?password=x&sslmode=require", buf, sizeof buf);
  assert_string_equal(buf, "postgresql://u:***@h:5/db?password=***&sslmode=require");
  fg_store_redact("postgresql://h1:5432,h2:5432/db?target_session_attrs=read-write", buf, sizeof buf);
  assert_string_equal(buf, "postgresql://h1:5432,h2:5432/db?target_session_attrs=read-write");
}

static void test_refusals(void **state) {
  (void)state;
  ts_store t;
  ts_make(&t, "refuse");
  fg_store *st = open_ok(t.target);
  fg_store_close(st);
  /* Its file is the owner's alone, whatever the umask; one that group or
   * others may read is refused, as a readable key file is. */
  if (!ts_pg()) {
    struct stat sb;
    assert_int_equal(stat(t.target, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", t.target);
    if (stat(wal, &sb) == 0) assert_int_equal(sb.st_mode & 0777, 0600);
    chmod(t.target, 0644);
    fg_error pe = {0};
    assert_int_equal(fg_store_open(t.target, 0, &st, &pe), FG_EPERM);
    assert_non_null(strstr(pe.msg, "chmod 600"));
    chmod(t.target, 0600);
  }
  /* A newer facegate wrote this store. */
  ts_raw(t.target, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
  fg_error e = {0};
  assert_int_equal(fg_store_open(t.target, 0, &st, &e), FG_EUNSUPPORTED);
  assert_null(st);
  assert_non_null(strstr(e.msg, "99"));
  assert_non_null(strstr(e.msg, "newer"));
  ts_clean(&t);

  /* Somebody else's database: refused, read-only or not, and left as it was. */
  ts_make(&t, "other");
  ts_raw(t.target, "CREATE TABLE people (name TEXT)");
  if (!ts_pg()) chmod(t.target, 0600); /* a readable one is refused before anything else */
  assert_int_equal(fg_store_open(t.target, FG_STORE_READONLY, &st, &e), FG_EFORMAT);
  assert_int_equal(fg_store_open(t.target, 0, &st, &e), FG_EFORMAT);
  assert_non_null(strstr(e.msg, "not a facegate database"));
  assert_int_equal(ts_raw_int(t.target, ts_pg() ? "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                                                : "SELECT count(*) FROM sqlite_master"), 1);
  ts_clean(&t);

  if (!ts_pg()) {
    /* Not a database at all. */
    ts_make(&t, "text");
    FILE *f = fopen(t.target, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++) fputs("this is not a database, only some text\n", f);
    fclose(f);
    chmod(t.target, 0600);
    assert_int_equal(fg_store_open(t.target, 0, &st, &e), FG_EFORMAT);
    assert_null(st);
    assert_int_equal(fg_store_open(t.target, FG_STORE_READONLY, &st, &e), FG_EFORMAT);
    ts_clean(&t);
    /* A directory that does not exist. */
    assert_int_equal(fg_store_open("/nonexistent/dir/fg.db", 0, &st, &e), FG_EIO);
  } else {
    /* A database that does not exist. */
    char target[600];
    snprintf(target, sizeof target, "%s/fgt_no_such_db", getenv("FACEGATE_TEST_PG"));
    assert_int_equal(fg_store_open(target, 0, &st, &e), FG_EUNAVAILABLE);
    assert_non_null(strstr(e.msg, "fgt_no_such_db"));
  }
}

typedef struct opener {
  const char *target;
  int rc;
  char msg[FG_ERROR_MSG_MAX];
} opener;

static void *open_thread(void *arg) {
  opener *o = arg;
  fg_store *st = NULL;
  fg_error e = {0};
  o->rc = fg_store_open(o->target, FG_STORE_NOSYNC, &st, &e);
  snprintf(o->msg, sizeof o->msg, "%s", e.msg);
  fg_store_close(st);
  return NULL;
}

/* Servers starting together on an empty database: each migration runs once. */
static void test_concurrent_migration(void **state) {
  (void)state;
  ts_store t;
  ts_make(&t, "migrate");
  opener o[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    o[i] = (opener){.target = t.target};
    assert_int_equal(pthread_create(&th[i], NULL, open_thread, &o[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    if (o[i].rc != FG_OK) print_error("opener %d: %s\n", i, o[i].msg);
    assert_int_equal(o[i].rc, FG_OK);
  }
  assert_int_equal(ts_raw_int(t.target, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'"),
                   FG_STORE_SCHEMA_VERSION);
  ts_clean(&t);
}

static void test_transactions(void **state) {
  (void)state;
  ts_store t;
  ts_make(&t, "txn");
  fg_store *st = open_ok(t.target);
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
  st = open_ok(t.target);
  assert_int_equal(count_travellers(st), 1);

  /* A reader sees the last commit, never a writer's uncommitted rows. */
  fg_store *st2 = open_ok(t.target);
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  add_traveller(st, "G");
  assert_int_equal(count_travellers(st2), 1);
  assert_int_equal(fg_store_commit(st, &e), FG_OK);
  assert_int_equal(count_travellers(st2), 2);
  fg_store_close(st2);
  fg_store_close(st);
  ts_clean(&t);
}

typedef struct writer {
  const char *target;
  int n, failed;
} writer;

static const fg_query q_meta_get = {"meta_counter", "SELECT value FROM meta WHERE key = 'counter'", 1};
static const fg_query q_meta_put = {
    "meta_counter_put",
    "INSERT INTO meta (key, value) VALUES ('counter', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", 0};

static int take_text_int(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  *(int64_t *)ctx = c[0].type == FG_VAL_TEXT ? strtoll(c[0].s, NULL, 10) : 0;
  return 1;
}

/* Read-modify-write in a transaction: correct only if writers are serialised
 * (SQLite's BEGIN IMMEDIATE; PostgreSQL's writer lock). */
static void *writer_thread(void *arg) {
  writer *w = arg;
  fg_store *st = NULL;
  fg_error e;
  if (fg_store_open(w->target, FG_STORE_NOSYNC, &st, &e) != FG_OK) {
    w->failed = w->n;
    return NULL;
  }
  for (int i = 0; i < w->n; i++) {
    int64_t v = 0;
    char buf[32];
    int rc = fg_store_begin(st, &e);
    if (rc == FG_OK) rc = fg_store_exec(st, &q_meta_get, NULL, 0, take_text_int, &v, &e);
    snprintf(buf, sizeof buf, "%lld", (long long)v + 1);
    fg_val p = FG_V_TEXT(buf);
    if (rc == FG_OK) rc = fg_store_exec(st, &q_meta_put, &p, 1, NULL, NULL, &e);
    if (rc == FG_OK) rc = fg_store_commit(st, &e);
    else fg_store_rollback(st);
    if (rc != FG_OK) w->failed++;
  }
  fg_store_close(st);
  return NULL;
}

static void test_writers_serialised(void **state) {
  (void)state;
  ts_store t;
  ts_make(&t, "writers");
  fg_store_close(open_ok(t.target));
  writer w[3];
  pthread_t th[3];
  for (int i = 0; i < 3; i++) {
    w[i] = (writer){t.target, 40, 0};
    assert_int_equal(pthread_create(&th[i], NULL, writer_thread, &w[i]), 0);
  }
  for (int i = 0; i < 3; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].failed, 0);
  }
  assert_int_equal(ts_raw_int(t.target, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'counter'"), 120);
  ts_clean(&t);
}

static void test_constraints(void **state) {
  (void)state;
  ts_store t;
  ts_make(&t, "constraints");
  fg_store *st = open_ok(t.target);
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
  assert_non_null(strcasestr(e.msg, "FOREIGN KEY"));
  /* Wrong parameter count, bad SQL, two statements, a wrong column count. */
  assert_int_equal(fg_store_exec(st, &q_doc_insert, d, 2, NULL, NULL, &e), FG_EINVAL);
  assert_non_null(strstr(e.msg, "2 parameters given, 3 expected"));
  static const fg_query q_bad = {"bad", "SELECT nope FROM nowhere", 1};
  assert_int_equal(fg_store_exec(st, &q_bad, NULL, 0, NULL, NULL, &e), FG_EIO);
  assert_non_null(strstr(e.msg, "bad: "));
  assert_non_null(strstr(e.msg, "nowhere"));
  static const fg_query q_two = {"two", "SELECT 1; SELECT 2", 1};
  assert_int_equal(fg_store_exec(st, &q_two, NULL, 0, NULL, NULL, &e), FG_EINVAL);
  static const fg_query q_cols = {"cols", "SELECT id FROM travellers", 2};
  assert_int_equal(fg_store_exec(st, &q_cols, NULL, 0, NULL, NULL, &e), FG_EINVAL);
  assert_non_null(strstr(e.msg, "cols: returns 1 columns, 2 expected"));
  /* The store still works after each refusal. */
  assert_int_equal(count_travellers(st), 1);
  /* exec_int without a row leaves *out alone. */
  static const fg_query q_none = {"none", "SELECT id FROM travellers WHERE id = ?", 1};
  fg_val p = FG_V_INT(12345);
  int64_t out = 77;
  int found = 1;
  assert_int_equal(fg_store_exec_int(st, &q_none, &p, 1, &out, &found, &e), FG_OK);
  assert_int_equal(found, 0);
  assert_int_equal(out, 77);

  /* Inside a transaction a failing write dooms it, whether the backend
   * reports it at once (SQLite) or with the commit (PostgreSQL pipelines it):
   * nothing of the transaction is kept, and the store goes on working. */
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  add_traveller(st, "Kept-not");
  int rc = fg_store_exec(st, &q_doc_insert, d, 3, NULL, NULL, &e);
  if (rc == FG_OK) rc = fg_store_commit(st, &e);
  else fg_store_rollback(st);
  assert_int_equal(rc, FG_ECONFLICT);
  assert_non_null(strstr(e.msg, "document_insert"));
  assert_int_equal(fg_store_depth(st), 0);
  assert_int_equal(count_travellers(st), 1);
  fg_store_close(st);
  ts_clean(&t);
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
  assert_int_equal(cols[2].n, 0);
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
  int cat_null, empty_blob;
  int64_t big;
} got;

static int getter(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err;
  got *g = ctx;
  assert_int_equal(n, 5);
  assert_int_equal(c[0].type, FG_VAL_REAL);
  g->score = c[0].r;
  assert_int_equal(c[1].type, FG_VAL_BLOB);
  assert_true(c[1].n <= sizeof g->b);
  g->n = c[1].n;
  memcpy(g->b, c[1].b, c[1].n);
  g->cat_null = c[2].type == FG_VAL_NULL;
  g->empty_blob = c[3].type == FG_VAL_BLOB && c[3].n == 0;
  assert_int_equal(c[4].type, FG_VAL_INT);
  g->big = c[4].i;
  return 0;
}

static void test_rows(void **state) {
  (void)state;
  ts_store t;
  ts_make(&t, "rows");
  fg_store *st = open_ok(t.target);
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
  /* Blobs (bytes 0 and 255, and empty), reals, NULL text and 64-bit integers
   * round-trip exactly. */
  static const fg_query q_enc = {
      "encounter_insert",
      "INSERT INTO encounters (port, gate, at, outcome, actor, score, capture_sealed, category,"
      " template_sealed) VALUES ('LHR', 'g1', ?, 'MATCHED', 'gate', ?, ?, ?, ?) RETURNING id", 1};
  uint8_t blob[5] = {0, 1, 2, 0, 255};
  int64_t big = INT64_C(4102444800123);
  fg_val p[5] = {FG_V_INT(big), FG_V_REAL(0.1 + 0.2), FG_V_BLOB(blob, 5),
                 FG_V_TEXT((const char *)NULL), FG_V_BLOB("", 0)};
  int64_t id;
  assert_int_equal(fg_store_exec_int(st, &q_enc, p, 5, &id, NULL, &e), FG_OK);
  static const fg_query q_get = {
      "encounter_get",
      "SELECT score, capture_sealed, category, template_sealed, at FROM encounters WHERE id = ?", 5};
  got g = {0};
  fg_val pid = FG_V_INT(id);
  assert_int_equal(fg_store_exec(st, &q_get, &pid, 1, getter, &g, &e), FG_OK);
  assert_true(g.score == 0.1 + 0.2);
  assert_int_equal(g.n, 5);
  assert_memory_equal(g.b, blob, 5);
  assert_true(g.cat_null);
  assert_true(g.empty_blob);
  assert_int_equal(g.big, big);
  fg_store_close(st);
  ts_clean(&t);
}

static void test_statement_cache(void **state) {
  (void)state;
  ts_store t;
  ts_make(&t, "cache");
  fg_store *st = open_ok(t.target);
  fg_error e = {0};
  int64_t n;
  if (!ts_pg()) {
    void *conn = fg__store_conn(st);
    int base = fg__sqlite_cached(conn);
    for (int i = 0; i < 50; i++) count_travellers(st);
    assert_int_equal(fg__sqlite_cached(conn), base + 1);
    /* Same SQL text, another object: its own entry. */
    static const fg_query twin = {"traveller_count_twin", "SELECT count(*) FROM travellers", 1};
    assert_int_equal(fg_store_exec_int(st, &twin, NULL, 0, &n, NULL, &e), FG_OK);
    assert_int_equal(fg__sqlite_cached(conn), base + 2);
  } else {
    /* A prepared statement costs nothing the second time: one round trip per run. */
    count_travellers(st);
    fg_store_stats a, b;
    fg_store_get_stats(st, &a);
    for (int i = 0; i < 50; i++) count_travellers(st);
    fg_store_get_stats(st, &b);
    assert_int_equal(b.round_trips - a.round_trips, 50);
  }
  /* Many queries: the cache holds them all and finds each again. */
  static fg_query many[200];
  static char sql[200][48];
  for (int i = 0; i < 200; i++) {
    snprintf(sql[i], sizeof sql[i], "SELECT %d + count(*) FROM travellers", i);
    many[i] = (fg_query){"many", sql[i], 1};
  }
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 200; i++) {
      assert_int_equal(fg_store_exec_int(st, &many[i], NULL, 0, &n, NULL, &e), FG_OK);
      assert_int_equal(n, i);
    }
  }
  /* A failed prepare caches nothing: the same query fails the same way again. */
  static const fg_query q_bad = {"bad", "SELEKT", 0};
  for (int i = 0; i < 2; i++) {
    assert_int_equal(fg_store_exec(st, &q_bad, NULL, 0, NULL, NULL, &e), FG_EIO);
    assert_non_null(strstr(e.msg, "bad:"));
  }
  assert_int_equal(count_travellers(st), 0);
  fg_store_close(st);
  ts_clean(&t);
}

/* PostgreSQL sends a transaction's writes with its commit: one round trip
 * for any number of statements that return no rows. */
static void test_round_trips(void **state) {
  (void)state;
  if (!ts_pg()) TU_SKIP("round trips are a PostgreSQL matter (SQLite runs in process)");
  ts_store t;
  ts_make(&t, "trips");
  fg_store *st = open_ok(t.target);
  fg_error e = {0};
  fg_val p[3] = {FG_V_TEXT("Pipe"), FG_V_TEXT("citizen"), FG_V_INT(1)};
  fg_store_exec(st, &q_trav_add, p, 3, NULL, NULL, &e); /* prepared once */
  fg_store_stats a, b;
  fg_store_get_stats(st, &a);
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  for (int i = 0; i < 20; i++) assert_int_equal(fg_store_exec(st, &q_trav_add, p, 3, NULL, NULL, &e), FG_OK);
  assert_int_equal(fg_store_commit(st, &e), FG_OK);
  fg_store_get_stats(st, &b);
  assert_int_equal(b.round_trips - a.round_trips, 1);
  assert_int_equal(b.statements - a.statements, 20);
  assert_int_equal(count_travellers(st), 21);
  /* fg_store_changes forces the queued statements out. */
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  assert_int_equal(fg_store_exec(st, &q_trav_add, p, 3, NULL, NULL, &e), FG_OK);
  assert_int_equal(fg_store_changes(st), 1);
  fg_store_rollback(st);
  assert_int_equal(count_travellers(st), 21);
  fg_store_close(st);
  ts_clean(&t);
}

typedef struct seen {
  int rows;
  char last[32];
} seen;

static int note_rows(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  seen *s = ctx;
  s->rows++;
  snprintf(s->last, sizeof s->last, "%s", c[1].type == FG_VAL_TEXT ? c[1].s : "");
  return 0;
}

/* Read batches: callbacks run in order by fg_store_batch_run (at once on
 * SQLite), the first error comes back, and on PostgreSQL the whole batch is
 * one round trip, inside a transaction or not. Ids taken up front. */
static void test_batches(void **state) {
  (void)state;
  ts_store t;
  ts_make(&t, "batch");
  fg_store *st = open_ok(t.target);
  fg_error e = {0};
  add_traveller(st, "First");
  add_traveller(st, "Second");
  fg_store_stats a, b;
  for (int in_txn = 0; in_txn < 2; in_txn++) {
    if (in_txn) assert_int_equal(fg_store_begin(st, &e), FG_OK);
    fg_store_get_stats(st, &a);
    int64_t n = -1, next = -1;
    seen s = {0};
    fg_store_batch_begin(st);
    int rc = fg_store_exec_int(st, &q_trav_count, NULL, 0, &n, NULL, &e);
    if (rc == FG_OK) rc = fg_store_exec(st, &q_trav_all, NULL, 0, note_rows, &s, &e);
    if (rc == FG_OK && in_txn) rc = fg_store_next_id(st, "encounters", &next, &e);
    if (rc == FG_OK) rc = fg_store_batch_run(st, &e);
    assert_int_equal(rc, FG_OK);
    fg_store_get_stats(st, &b);
    assert_int_equal(n, 2);
    assert_int_equal(s.rows, 2);
    assert_string_equal(s.last, "Second");
    if (ts_pg()) assert_int_equal(b.round_trips - a.round_trips, 1);
    if (in_txn) {
      assert_true(next >= 1);
      /* The id taken up front goes into the row as is. */
      static const fg_query q_enc_id = {
          "encounter_insert_with_id",
          "INSERT INTO encounters (id, port, gate, at, outcome, actor) VALUES (?, 'LHR', 'g', 1,"
          " 'MATCHED', 'gate')", 0};
      fg_val id = FG_V_INT(next);
      assert_int_equal(fg_store_exec(st, &q_enc_id, &id, 1, NULL, NULL, &e), FG_OK);
      assert_int_equal(fg_store_commit(st, &e), FG_OK);
      char sql[96];
      snprintf(sql, sizeof sql, "SELECT count(*) FROM encounters WHERE id = %lld", (long long)next);
      assert_int_equal(ts_raw_int(t.target, sql), 1);
    }
  }
  /* Outside a transaction there is no id to take. */
  int64_t id;
  assert_int_equal(fg_store_next_id(st, "encounters", &id, &e), FG_EINVAL);
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  assert_int_equal(fg_store_next_id(st, "no_such_table", &id, &e), FG_EINVAL);
  fg_store_rollback(st);
  /* A failing query in a batch: its error comes back, the store goes on. */
  static const fg_query q_bad = {"bad_in_batch", "SELECT nope FROM nowhere", 1};
  int64_t n = -1;
  fg_store_batch_begin(st);
  int rc = fg_store_exec(st, &q_bad, NULL, 0, NULL, NULL, &e);
  int rc2 = fg_store_exec_int(st, &q_trav_count, NULL, 0, &n, NULL, &e);
  int run = fg_store_batch_run(st, &e);
  assert_true(rc != FG_OK || run != FG_OK);
  (void)rc2;
  assert_non_null(strstr(e.msg, "nowhere"));
  assert_int_equal(count_travellers(st), 2);
  fg_store_close(st);
  ts_clean(&t);
}

static void test_backup_restore(void **state) {
  (void)state;
  ts_store t, r;
  ts_make(&t, "backup");
  fg_store *st = open_ok(t.target);
  fg_error e = {0};
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  for (int i = 0; i < 500; i++) add_traveller(st, "Backup");
  assert_int_equal(fg_store_commit(st, &e), FG_OK);
  char path[128];
  snprintf(path, sizeof path, "%s/copy.backup", t.dir);
  int rc = fg_store_backup(st, path, &e);
  if (rc != FG_OK) print_error("backup: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  add_traveller(st, "After"); /* not in the copy */
  /* A backup never overwrites. */
  assert_int_equal(fg_store_backup(st, path, &e), FG_ECONFLICT);
  assert_int_equal(fg_store_backup(st, "/nonexistent/dir/copy.db", &e), ts_pg() ? FG_EIO : FG_EIO);
  fg_store_close(st);

  /* Restore into a fresh store: everything of the snapshot, nothing after. */
  ts_make(&r, "restore");
  rc = fg_store_restore(r.target, path, &e);
  if (rc != FG_OK) print_error("restore: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  fg_store *copy = open_ok(r.target);
  assert_int_equal(count_travellers(copy), 500);
  int v;
  assert_int_equal(fg_store_schema_version(copy, &v, &e), FG_OK);
  assert_int_equal(v, FG_STORE_SCHEMA_VERSION);
  assert_true(add_traveller(copy, "New") > 500); /* ids go on after the restored ones */
  fg_store_close(copy);
  /* Never into a store that has data, nor from something that is no backup. */
  assert_int_equal(fg_store_restore(r.target, path, &e), FG_ECONFLICT);
  assert_int_equal(count_travellers(copy = open_ok(r.target)), 501);
  fg_store_close(copy);
  char junk[128];
  snprintf(junk, sizeof junk, "%s/junk", t.dir);
  FILE *f = fopen(junk, "w");
  fputs("not a backup at all", f);
  fclose(f);
  ts_clean(&r);
  ts_make(&r, "restore2");
  assert_int_equal(fg_store_restore(r.target, junk, &e), FG_EFORMAT);
  assert_non_null(strstr(e.msg, "not a"));
  ts_clean(&r);
  ts_clean(&t);
}

typedef struct heard {
  int calls, resets;
  char channel[64], payload[64];
} heard;

static void on_notify(void *ctx, const char *channel, const char *payload) {
  heard *h = ctx;
  h->calls++;
  if (!channel) {
    h->resets++;
    return;
  }
  snprintf(h->channel, sizeof h->channel, "%s", channel);
  snprintf(h->payload, sizeof h->payload, "%s", payload ? payload : "");
}

static int poll_until(fg_store *st, heard *h, int want, double ms) {
  double end = fg__test_ms() + ms;
  while (h->calls < want && fg__test_ms() < end) {
    fg_store_poll(st, on_notify, h);
    if (h->calls < want) usleep(10000);
  }
  return h->calls;
}

static void test_notifications(void **state) {
  (void)state;
  ts_store t;
  ts_make(&t, "notify");
  fg_store *a = open_ok(t.target), *b = open_ok(t.target);
  fg_error e = {0};
  heard h = {0};
  if (!ts_pg()) {
    assert_int_equal(fg_store_caps(a), 0);
    assert_int_equal(fg_store_listen(a, "facegate_watchlist", &e), FG_OK);
    assert_int_equal(fg_store_notify(b, "facegate_watchlist", "1", &e), FG_OK);
    assert_int_equal(fg_store_poll(a, on_notify, &h), 0);
  } else {
    assert_int_equal(fg_store_caps(a), FG_STORE_CAP_NOTIFY);
    assert_int_equal(fg_store_listen(a, "facegate_watchlist", &e), FG_OK);
    assert_int_equal(fg_store_listen(a, "Bad Channel", &e), FG_EINVAL);
    /* Sent with the commit, never before it, never after a rollback. */
    assert_int_equal(fg_store_begin(b, &e), FG_OK);
    assert_int_equal(fg_store_notify(b, "facegate_watchlist", "rolled-back", &e), FG_OK);
    fg_store_rollback(b);
    assert_int_equal(fg_store_begin(b, &e), FG_OK);
    assert_int_equal(fg_store_notify(b, "facegate_watchlist", "42", &e), FG_OK);
    usleep(100000);
    assert_int_equal(fg_store_poll(a, on_notify, &h), 0);
    assert_int_equal(fg_store_commit(b, &e), FG_OK);
    assert_int_equal(poll_until(a, &h, 1, 2000), 1);
    assert_string_equal(h.channel, "facegate_watchlist");
    assert_string_equal(h.payload, "42");
    /* Nothing on a channel nobody listens to. */
    assert_int_equal(fg_store_notify(b, "facegate_other", NULL, &e), FG_OK);
    usleep(100000);
    assert_int_equal(fg_store_poll(a, on_notify, &h), 0);
  }
  fg_store_close(a);
  fg_store_close(b);
  ts_clean(&t);
}

/* Terminate the server side of every facegate connection to database db. */
static void kill_sessions(const char *db) {
  char sql[300];
  snprintf(sql, sizeof sql,
           "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'"
           " AND application_name = 'facegate'", db);
  PGconn *pc = ts_pg_admin();
  PGresult *res = PQexec(pc, sql);
  assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
  PQclear(res);
  PQfinish(pc);
  usleep(100000);
}

/* A lost connection: the open transaction fails (nothing of it kept), the
 * next call reconnects by itself, and listeners hear "assume anything
 * changed" (notifications may have been missed). */
static void test_lost_connection(void **state) {
  (void)state;
  if (!ts_pg()) TU_SKIP("an embedded SQLite store has no connection to lose");
  ts_store t;
  ts_make(&t, "lost");
  fg_store *st = open_ok(t.target);
  fg_error e = {0};
  heard h = {0};
  assert_int_equal(fg_store_listen(st, "facegate_watchlist", &e), FG_OK);
  add_traveller(st, "Before");

  /* Outside a transaction: the first call fails, the next reconnects. */
  kill_sessions(t.db);
  int64_t n = -1;
  int rc = fg_store_exec_int(st, &q_trav_count, NULL, 0, &n, NULL, &e);
  if (rc != FG_OK) {
    assert_int_equal(rc, FG_EUNAVAILABLE);
    assert_non_null(strstr(e.msg, "traveller_count"));
  }
  assert_int_equal(count_travellers(st), 1);
  assert_int_equal(poll_until(st, &h, 1, 1000), 1);
  assert_int_equal(h.resets, 1);

  /* Inside a transaction: it fails as a whole, and is not recorded. */
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  fg_val p[3] = {FG_V_TEXT("Lost"), FG_V_TEXT("citizen"), FG_V_INT(1)};
  assert_int_equal(fg_store_exec(st, &q_trav_add, p, 3, NULL, NULL, &e), FG_OK);
  kill_sessions(t.db);
  assert_int_equal(fg_store_exec(st, &q_trav_add, p, 3, NULL, NULL, &e), FG_OK); /* queued */
  assert_int_equal(fg_store_commit(st, &e), FG_EUNAVAILABLE);
  assert_int_equal(fg_store_depth(st), 0);
  assert_int_equal(count_travellers(st), 1);
  fg_store_stats s;
  fg_store_get_stats(st, &s);
  assert_true(s.reconnects >= 2);
  /* The listener survives reconnection. */
  fg_store *b = open_ok(t.target);
  h = (heard){0};
  poll_until(st, &h, 1, 300); /* the second reconnection's reset */
  h = (heard){0};
  assert_int_equal(fg_store_notify(b, "facegate_watchlist", "after", &e), FG_OK);
  assert_int_equal(poll_until(st, &h, 1, 2000), 1);
  assert_string_equal(h.payload, "after");
  fg_store_close(b);
  fg_store_close(st);
  ts_clean(&t);
}

/* The two dialects describe the same tables and columns. */
typedef struct colset {
  char names[256][80];
  int n;
} colset;

static void sqlite_columns(const char *path, colset *out) {
  sqlite3 *db;
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT m.name || '.' || lower(p.name) FROM sqlite_master m,"
                                      " pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY 1",
                                      -1, &q, NULL),
                   SQLITE_OK);
  while (sqlite3_step(q) == SQLITE_ROW && out->n < 256)
    snprintf(out->names[out->n++], 80, "%s", (const char *)sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  sqlite3_close(db);
}

static void pg_columns(const char *target, colset *out) {
  PGconn *pc = PQconnectdb(target);
  assert_int_equal(PQstatus(pc), CONNECTION_OK);
  PGresult *r = PQexec(pc, "SELECT table_name || '.' || column_name FROM information_schema.columns"
                           " WHERE table_schema = 'public' ORDER BY 1");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  for (int i = 0; i < PQntuples(r) && out->n < 256; i++)
    snprintf(out->names[out->n++], 80, "%s", PQgetvalue(r, i, 0));
  PQclear(r);
  PQfinish(pc);
}

static void test_dialects_agree(void **state) {
  (void)state;
  if (!ts_pg()) TU_SKIP("needs both backends (run under tests/pg/with-postgres)");
  ts_store t;
  ts_make(&t, "dialects");
  fg_store_close(open_ok(t.target));
  char path[128];
  snprintf(path, sizeof path, "%s/dialect.db", t.dir);
  fg_store_close(open_ok(path));
  static colset a, b;
  a.n = b.n = 0;
  sqlite_columns(path, &a);
  pg_columns(t.target, &b);
  assert_true(a.n > 50);
  for (int i = 0; i < a.n && i < b.n; i++) assert_string_equal(a.names[i], b.names[i]);
  assert_int_equal(a.n, b.n);
  ts_clean(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_migrate_and_reopen),
      cmocka_unit_test(test_unreachable),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_concurrent_migration),
      cmocka_unit_test(test_transactions),
      cmocka_unit_test(test_writers_serialised),
      cmocka_unit_test(test_constraints),
      cmocka_unit_test(test_rows),
      cmocka_unit_test(test_statement_cache),
      cmocka_unit_test(test_round_trips),
      cmocka_unit_test(test_batches),
      cmocka_unit_test(test_backup_restore),
      cmocka_unit_test(test_notifications),
      cmocka_unit_test(test_lost_connection),
      cmocka_unit_test(test_dialects_agree),
  };
  fprintf(stderr, "store tests on %s\n", ts_backend());
  return cmocka_run_group_tests(tests, NULL, NULL);
}
