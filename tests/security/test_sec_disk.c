/*
 * The security suite, a copy of the disk (issue 12, items 7 and 10).
 *
 * Personal data at rest: through a real server, a supervisor stages a flight
 * (made-up names, dates of birth and document numbers that appear nowhere
 * else) and a watchlist entry (a name, a reason), gates capture and a
 * traveller opts out with a document number, an officer writes a note on a
 * referral and looks a traveller up by document number. Then every file of
 * the data directory (the database, its WAL and shared memory, the key file,
 * the server's log) and, on PostgreSQL, every file of the database and the
 * WAL written since it was created, is scanned: none of those values is
 * there. The data directory was made beforehand with mkdir's usual 0755 and
 * the umask is 022: the store's files are 0600 anyway, and a store file made
 * readable to others is refused at start.
 *
 * Retention completeness (SQLite): with another reader holding a snapshot, a
 * purge deletes a citizen's capture but cannot truncate the WAL, which still
 * holds the capture's sealed bytes. It says so ("flush": "incomplete"), and so
 * do /metrics and GET /v1/purge; once the reader is gone the server finishes
 * within seconds, on its own: the bytes are in no file, the pending flag is
 * down, and the audit chain records it. On PostgreSQL the purge says the
 * flush does not apply, and the test prints whether the bytes are still in
 * the table files (they are, until the space is reused: docs/records.md).
 */
#include <dirent.h>

/* Paths here are built from mkdtemp names far shorter than their buffers;
 * GCC cannot see that once the helpers are inlined (clang has no such
 * warning, and refuses to ignore one it does not know: make check-asan). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#include "sec.h"

static ts_store T;
static sec_server S;
static sec_flight F;

static int setup(void **state) {
  (void)state;
  ts_make(&T, "secdisk");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  sec_stop(&S);
  ts_clean(&T);
  return 0;
}

/* ---- scanning -------------------------------------------------------------------------- */

typedef struct needles {
  const char *const *v;
  int n;
  int found;
  char what[200], where[600];
} needles;

static int scan(void *ctx, const char *path, const uint8_t *data, size_t n) {
  needles *k = ctx;
  for (int i = 0; i < k->n && !k->found; i++)
    if (memmem(data, n, k->v[i], strlen(k->v[i]))) {
      k->found = 1;
      snprintf(k->what, sizeof k->what, "%s", k->v[i]);
      snprintf(k->where, sizeof k->where, "%s", path);
    }
  return k->found;
}

/* Every regular file under dir, recursively. */
static int scan_dir(const char *dir, needles *k) {
  int files = 0;
  DIR *d = opendir(dir);
  if (!d) return 0;
  for (struct dirent *de; (de = readdir(d)) && !k->found;) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    struct stat st;
    if (lstat(p, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) files += scan_dir(p, k);
    else if (S_ISREG(st.st_mode)) files++, ts_scan_file(p, scan, k);
  }
  closedir(d);
  return files;
}

static int mode_of(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

/* ---- personal data at rest ------------------------------------------------------------- */

static void test_no_personal_data_on_disk(void **state) {
  (void)state;
  umask(022);
  /* The data directory as an operator makes it: mkdir -p, 0755. */
  ts_store D = T;
  snprintf(D.dir, sizeof D.dir, "%s/data", T.dir);
  assert_int_equal(mkdir(D.dir, 0755), 0);
  if (!ts_pg()) snprintf(D.target, sizeof D.target, "%s/facegate.db", D.dir);
  sec_tokens(&D, &S);
  sec_start(&D, &S, NULL);
  if (sec_stage_flight(&S, &F, "FG401") != 0)
    TU_SKIP("no models in %s, or no photos (LFW at %s, samples at %s)", tu_models_dir(), tu_lfw_dir(),
            tu_samples_dir());
  sec_resp r;
  /* A watchlist entry: a name and a reason. */
  size_t n;
  uint8_t *jpg = sec_photo(&F, 2, F.use_lfw ? 3 : 1, &n);
  char *b64 = sec_b64(jpg, n);
  json_t *wl = json_pack("{s:s,s:s,s:[s]}", "name", "Zebulonia Watchlistova", "reason",
                         "suspected of Quixotical smuggling", "photos", b64);
  char *text = json_dumps(wl, JSON_COMPACT);
  sec_post_json(&S, "/v1/watchlist", sec_token(&S, "supervisor"), text, strlen(text), &r);
  assert_int_equal(r.status, 201);
  sec_free(&r);
  free(text);
  free(b64);
  free(jpg);
  json_decref(wl);
  /* Gates: a capture presenting a document, and an opt-out naming one. */
  jpg = sec_photo(&F, 0, F.use_lfw ? 2 : 1, &n);
  sec_encounter(&S, F.manifest_id, "D1", jpg, n, 0, SEC_DOC[0], "disk-1", &r);
  assert_int_equal(r.status, 201);
  sec_free(&r);
  free(jpg);
  sec_encounter(&S, F.manifest_id, "D1", NULL, 0, 1, SEC_DOC[1], "disk-2", &r);
  assert_int_equal(r.status, 201);
  sec_free(&r);
  /* An officer: a note on the opt-out's referral, a look-up by document number. */
  sec_get(&S, "/v1/referrals?status=open", sec_token(&S, "officer"), &r);
  json_t *refs = sec_json(&r);
  sec_free(&r);
  assert_true(json_array_size(refs) > 0);
  char path[128];
  snprintf(path, sizeof path, "/v1/referrals/%lld/decision",
           (long long)json_integer_value(json_object_get(json_array_get(refs, 0), "id")));
  json_decref(refs);
  const char *note = "{\"decision\":\"note\",\"note\":\"Wulfhilde said her brother Adalbertix travels too\"}";
  sec_post_json(&S, path, sec_token(&S, "officer"), note, strlen(note), &r);
  assert_int_equal(r.status, 200);
  sec_free(&r);
  snprintf(path, sizeof path, "/v1/travellers/%s/crossings", SEC_DOC[0]);
  sec_get(&S, path, sec_token(&S, "officer"), &r);
  assert_int_equal(r.status, 200);
  json_t *h = sec_json(&r);
  assert_string_equal(json_string_value(json_object_get(json_object_get(h, "traveller"), "surname")),
                      SEC_SURNAME[0]); /* the officer still reads it */
  json_decref(h);
  sec_free(&r);

  const char *v[3 * SEC_NPAX + 6];
  int k = 0;
  for (int i = 0; i < SEC_NPAX; i++) v[k++] = SEC_SURNAME[i], v[k++] = SEC_GIVEN[i], v[k++] = SEC_DOC[i];
  v[k++] = SEC_BIRTH[0];
  v[k++] = "Zebulonia";
  v[k++] = "Watchlistova";
  v[k++] = "Quixotical";
  v[k++] = "Adalbertix";
  /* While the server runs (the WAL and its index are there), and after. */
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) sec_stop(&S);
    needles nd = {v, k, 0, "", ""};
    int files = scan_dir(D.dir, &nd);
    if (!nd.found && ts_pg()) files += ts_disk_files(&D, scan, &nd);
    print_message("%s: %d files scanned for %d planted values\n", pass ? "stopped" : "serving",
                  files, k);
    if (nd.found) print_error("\"%s\" found in %s\n", nd.what, nd.where);
    assert_false(nd.found);
    assert_true(files >= (ts_pg() ? 4 : pass ? 3 : 5));
  }

  /* The store's files are the owner's alone, whatever the umask and the directory. */
  char p[700];
  snprintf(p, sizeof p, "%s/facegate.key", D.dir);
  assert_int_equal(mode_of(p), 0600);
  if (!ts_pg()) {
    static const char *const SUFFIX[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
      snprintf(p, sizeof p, "%s%s", D.target, SUFFIX[i]);
      if (mode_of(p) >= 0) assert_int_equal(mode_of(p), 0600);
    }
    /* Made readable to others: refused at start, as the key file is. */
    chmod(D.target, 0644);
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open("/dev/null", O_WRONLY);
      dup2(fd, 2);
      const char *argv[] = {sec_bin(), "serve", "--listen", "127.0.0.1:0", "--data", D.dir, NULL};
      execv(argv[0], (char *const *)argv);
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    chmod(D.target, 0600);
  }
  /* A data directory facegate creates itself is 0700, whatever the umask. */
  if (!ts_pg()) {
    char top[700];
    snprintf(top, sizeof top, "%s/new", T.dir);
    snprintf(p, sizeof p, "%s/new/deeper", T.dir);
    fg_border_options bo;
    fg_border_options_init(&bo);
    bo.data_dir = p;
    fg_border *b;
    fg_error e;
    assert_int_equal(fg_border_open(&bo, &b, &e), FG_OK);
    fg_border_close(b);
    assert_int_equal(mode_of(p), 0700);
    assert_int_equal(mode_of(top), 0700);
  }
}

/* ---- retention and the write-ahead log --------------------------------------------------- */

typedef struct blob_out {
  uint8_t head[64];
  size_t n;
} blob_out;

static int take_blob(void *ctx, const ts_col *c, int nc) {
  (void)nc;
  blob_out *b = ctx;
  b->n = c[0].n < sizeof b->head ? c[0].n : sizeof b->head;
  memcpy(b->head, c[0].p, b->n);
  return 1;
}

static int metric(const char *name) {
  sec_resp r;
  sec_get(&S, "/metrics", sec_token(&S, "admin"), &r);
  assert_int_equal(r.status, 200);
  char line[128];
  snprintf(line, sizeof line, "\n%s ", name); /* the sample, not its HELP or TYPE line */
  const char *p = strstr(r.body, line);
  int v = p ? atoi(p + strlen(line)) : -1;
  sec_free(&r);
  return v;
}

static void test_purge_with_a_reader(void **state) {
  (void)state;
  sec_tokens(&T, &S);
  char policy[200];
  snprintf(policy, sizeof policy, "%s/policy.json", T.dir);
  FILE *f = fopen(policy, "w");
  fputs("{\"categories\":{\"citizen\":{\"capture_retention_hours\":0,"
        "\"template_retention_hours\":0}}}", f);
  fclose(f);
  const char *args[] = {"--config", policy, NULL};
  sec_start(&T, &S, args);
  if (sec_stage_flight(&S, &F, "FG402") != 0)
    TU_SKIP("no models in %s, or no photos (LFW at %s, samples at %s)", tu_models_dir(), tu_lfw_dir(),
            tu_samples_dir());
  /* A citizen's capture (passenger 1), whose retention is 0 h under this policy. */
  size_t n;
  uint8_t *jpg = sec_photo(&F, 1, F.use_lfw ? 2 : 1, &n);
  sec_resp r;
  sec_encounter(&S, F.manifest_id, "W1", jpg, n, 0, NULL, NULL, &r);
  free(jpg);
  assert_int_equal(r.status, 201);
  json_t *j = sec_json(&r);
  int64_t enc = json_integer_value(json_object_get(j, "encounter_id"));
  json_decref(j);
  sec_free(&r);
  blob_out cap = {{0}, 0};
  ts_rows(T.target, "SELECT capture_sealed FROM encounters WHERE id = ?", enc, take_blob, &cap);
  assert_true(cap.n == sizeof cap.head); /* the sealed capture's first bytes: its nonce is unique */

  sqlite3 *reader = NULL;
  if (!ts_pg()) { /* another reader with a snapshot from before the purge */
    assert_int_equal(sqlite3_open(T.target, &reader), SQLITE_OK);
    assert_int_equal(sqlite3_exec(reader, "BEGIN; SELECT COUNT(*) FROM encounters;", NULL, NULL, NULL),
                     SQLITE_OK);
  }
  sec_req q = {.method = "POST", .path = "/v1/purge", .token = sec_token(&S, "admin"),
               .ctype = "application/json", .body = "{}", .len = 2};
  sec_http(&S, &q, &r);
  assert_int_equal(r.status, 200);
  j = sec_json(&r);
  sec_free(&r);
  assert_true(json_integer_value(json_object_get(json_object_get(j, "captures"), "citizen")) >= 1);
  const char *flush = json_string_value(json_object_get(json_object_get(j, "flush"), "state"));
  print_message("purge with a reader open: flush %s\n", flush);
  if (ts_pg()) {
    assert_string_equal(flush, "not_applicable");
    json_decref(j);
    print_message("PostgreSQL: the purged capture's sealed bytes %s in the database's files "
                  "(kept until the space is reused: docs/records.md)\n",
                  ts_on_disk(&T, cap.head, cap.n) ? "are still" : "are not");
    return;
  }
  assert_string_equal(flush, "incomplete");
  json_decref(j);
  assert_true(ts_on_disk(&T, cap.head, cap.n)); /* still in the WAL */
  assert_int_equal(metric("facegate_retention_flush_pending"), 1);
  sec_get(&S, "/v1/purge", sec_token(&S, "auditor"), &r);
  j = sec_json(&r);
  assert_true(json_is_true(json_object_get(json_object_get(j, "flush"), "pending")));
  json_decref(j);
  sec_free(&r);

  sqlite3_exec(reader, "COMMIT;", NULL, NULL, NULL);
  sqlite3_close(reader);
  int pending = 1;
  for (int i = 0; i < 100 && pending; i++) {
    usleep(100 * 1000);
    pending = metric("facegate_retention_flush_pending");
  }
  assert_int_equal(pending, 0);
  assert_false(ts_on_disk(&T, cap.head, cap.n)); /* while it serves */
  sec_stop(&S);
  assert_false(ts_on_disk(&T, cap.head, cap.n));
  assert_true(ts_raw_int(T.target, "SELECT COUNT(*) FROM audit WHERE action = 'retention.flush'") >= 1);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_no_personal_data_on_disk, setup, teardown),
      cmocka_unit_test_setup_teardown(test_purge_with_a_reader, setup, teardown),
  };
  int rc = cmocka_run_group_tests_name("security: a copy of the disk", tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
