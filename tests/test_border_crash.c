/*
 * Crash safety: a child process records gate encounters as fast as it can and
 * reports each one's id on a pipe the moment fg_border_encounter returns (the
 * gate's acknowledgement); the parent kills it with SIGKILL at a random
 * moment, several times over the same store. Afterwards:
 *   - every acknowledged encounter is in the store (durable commit);
 *   - SQLite: the database passes SQLite's integrity and foreign-key checks;
 *     PostgreSQL (the client is what dies; the server stays up): the killed
 *     client's session ends by itself (so its writer lock is released), every
 *     table and its TOAST data pass amcheck's verify_heapam, every B-tree
 *     index passes bt_index_check with heapallindexed, and every foreign key
 *     is validated;
 *   - each encounter has exactly its audit event (a change and its audit
 *     record are committed together or not at all), and the chain verifies;
 *   - the store still opens and takes new encounters.
 * The store is the test's (tests/teststore.h): SQLite, or a new PostgreSQL
 * database when FACEGATE_TEST_STORE=postgresql.
 * Faces: the npm sample photos (always installed by scripts/setup).
 */
#include <limits.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "teststore.h"

#include "cli/border_json.h"
#include "facegate/border.h"

#define ROUNDS 3

static ts_store T; /* T.dir is the data directory */
static char samples[PATH_MAX];

static fg_border *open_border(void) {
  fg_border_options o;
  fg_border_options_init(&o);
  o.data_dir = T.dir;
  o.store = ts_store_opt(&T);
  o.face.models_dir = tu_models_dir();
  fg_border *b;
  fg_error e;
  if (fg_border_open(&o, &b, &e) != FG_OK) {
    print_error("open: %s\n", e.msg);
    return NULL;
  }
  return b;
}

static int64_t stage(fg_border *b) {
  char js[4096];
  snprintf(js, sizeof js,
           "{\"carrier\":\"XA\",\"flight\":\"XA9\",\"port\":\"JFK\","
           "\"scheduled\":\"2099-01-01T10:00:00Z\",\"direction\":\"entry\",\"passengers\":["
           "{\"surname\":\"One\",\"category\":\"citizen\",\"document\":{\"number\":\"C1\","
           "\"issuing_state\":\"USA\"},\"photos\":[\"sample1.jpg\"]},"
           "{\"surname\":\"Two\",\"category\":\"foreign\",\"document\":{\"number\":\"C2\","
           "\"issuing_state\":\"FRA\"},\"photos\":[\"sample2.jpg\"]}]}");
  fg_manifest_import_opts io = {.format = FG_MANIFEST_JSON, .base_dir = samples};
  fg_actor sup = {"supervisor-1", "supervisor", NULL};
  json_t *rep;
  fg_error e;
  int rc = fg_border_manifest_import_buffer_j(b, &sup, js, strlen(js), &io, &rep, &e);
  if (rc != FG_OK) print_error("import: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  int64_t id = json_integer_value(json_object_get(rep, "manifest_id"));
  json_decref(rep);
  return id;
}

/* The child: encounters forever, each id written to fd once acknowledged. */
static void child(int fd, int64_t manifest) {
  fg_border *b = open_border();
  if (!b) _exit(2);
  char path[PATH_MAX + 16];
  size_t n[2];
  uint8_t *img[2];
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "%s/sample%d.jpg", samples, k + 1);
    FILE *f = fopen(path, "rb");
    if (!f) _exit(3);
    fseek(f, 0, SEEK_END);
    n[k] = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    img[k] = malloc(n[k]);
    if (!img[k] || fread(img[k], 1, n[k], f) != n[k]) _exit(3);
    fclose(f);
  }
  fg_actor gate = {"gate-C", "gate", NULL};
  for (unsigned i = 0;; i++) {
    fg_encounter_request rq = {.manifest_id = manifest, .gate = "C1", .image = img[i & 1],
                               .image_len = n[i & 1]};
    fg_encounter_result r;
    fg_error e;
    if (fg_border_encounter(b, &gate, &rq, &r, &e) != FG_OK) _exit(4);
    if (write(fd, &r.encounter_id, sizeof r.encounter_id) != sizeof r.encounter_id) _exit(5);
  }
}

static void check_sqlite(void) {
  sqlite3 *db;
  /* Read-write: opening replays the WAL left by the killed process. */
  assert_int_equal(sqlite3_open(T.target, &db), SQLITE_OK);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
  sqlite3_finalize(st);
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

static void check_postgresql(void) {
  /* The killed client's server process notices the closed socket, rolls back
   * what it had open and ends, releasing the writer lock (bounded wait: 60 s, as a loaded
   * machine was seen to need more than 10). */
  const char *others = "SELECT count(*) FROM pg_stat_activity"
                       " WHERE datname = current_database() AND pid <> pg_backend_pid()";
  double t0 = fg__test_ms();
  while (ts_raw_int(T.target, others) > 0 && fg__test_ms() - t0 < 60000) usleep(20000);
  assert_int_equal(ts_raw_int(T.target, others), 0);
  /* amcheck (contrib, in Debian's postgresql-15): heap and TOAST pages, and
   * every index against its table. */
  ts_raw(T.target, "SET client_min_messages = warning;"
                   "CREATE SCHEMA IF NOT EXISTS fg_test_amcheck;"
                   "CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA fg_test_amcheck");
  assert_int_equal(ts_raw_int(T.target,
                              "SELECT count(*) FROM pg_class c,"
                              " LATERAL fg_test_amcheck.verify_heapam(c.oid, check_toast => true)"
                              " WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"),
                   0);
  assert_true(ts_raw_int(T.target,
                         "SELECT count(*) FROM (SELECT fg_test_amcheck.bt_index_check(c.oid, true)"
                         " FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relkind = 'i'"
                         " AND a.amname = 'btree' AND c.relnamespace = 'public'::regnamespace) s") > 5);
  assert_int_equal(ts_raw_int(T.target, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
                                        " AND NOT convalidated"), 0);
  assert_true(ts_raw_int(T.target, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
                                   " AND connamespace = 'public'::regnamespace") > 5);
}

static void check_store(const int64_t *acked, size_t n_acked) {
  if (ts_pg()) check_postgresql();
  else check_sqlite();
  /* Every acknowledged encounter is there (the ids are distinct). */
  size_t cap = 64 + 24 * n_acked;
  char *sql = malloc(cap);
  assert_non_null(sql);
  size_t o = (size_t)snprintf(sql, cap, "SELECT count(*) FROM encounters WHERE id IN (0");
  for (size_t i = 0; i < n_acked; i++)
    o += (size_t)snprintf(sql + o, cap - o, ",%lld", (long long)acked[i]);
  snprintf(sql + o, cap - o, ")");
  assert_int_equal(ts_raw_int(T.target, sql), (long long)n_acked);
  free(sql);
  assert_int_equal(ts_raw_int(T.target, "SELECT count(*) FROM encounters"),
                   ts_raw_int(T.target, "SELECT count(*) FROM audit WHERE action = 'encounter.create'"));
}

static int setup(void **state) {
  (void)state;
  ts_make(&T, "crash");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ts_clean(&T);
  return 0;
}

static void test_sigkill(void **state) {
  (void)state;
  char rel[PATH_MAX];
  tu_path(rel, sizeof rel, tu_samples_dir(), "sample1.jpg");
  if (!tu_exists(rel) || !realpath(tu_samples_dir(), samples))
    TU_SKIP("sample photos not found in %s (run scripts/setup)", tu_samples_dir());
  fg_border *b = open_border();
  assert_non_null(b);
  int64_t manifest = stage(b);
  fg_border_close(b);

  srand((unsigned)time(NULL));
  int64_t *acked = NULL;
  size_t n_acked = 0, cap = 0;
  for (int round = 0; round < ROUNDS; round++) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      child(fds[1], manifest);
    }
    close(fds[1]);
    /* Let it acknowledge a few, then kill it somewhere inside the next ones. */
    int want = 4 + rand() % 6;
    size_t before = n_acked;
    int64_t id;
    while ((int)(n_acked - before) < want && read(fds[0], &id, sizeof id) == sizeof id) {
      if (n_acked == cap) {
        cap = cap ? 2 * cap : 64;
        acked = realloc(acked, cap * sizeof *acked);
        assert_non_null(acked);
      }
      acked[n_acked++] = id;
    }
    usleep((useconds_t)(rand() % 20000));
    kill(pid, SIGKILL);
    /* What was acknowledged before the kill is still in the pipe. */
    while (read(fds[0], &id, sizeof id) == sizeof id) {
      if (n_acked == cap) {
        cap *= 2;
        acked = realloc(acked, cap * sizeof *acked);
        assert_non_null(acked);
      }
      acked[n_acked++] = id;
    }
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_true(n_acked - before >= (size_t)want);
    check_store(acked, n_acked);
  }
  print_message("%zu acknowledged encounters over %d kills: all present, store consistent\n",
                n_acked, ROUNDS);

  /* The store still opens, verifies and takes encounters. */
  b = open_border();
  assert_non_null(b);
  fg_actor aud = {"auditor-1", "auditor", NULL};
  json_t *av;
  fg_error e;
  assert_int_equal(fg_border_audit_verify_j(b, &aud, NULL, &av, &e), FG_OK);
  assert_true(json_is_true(json_object_get(av, "ok")));
  json_decref(av);
  fg_border_close(b);
  free(acked);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sigkill, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
