/*
 * Backup and restore of the border store (fg_border_backup, fg_border_restore;
 * `facegate backup|restore`), on whichever backend the run uses
 * (tests/teststore.h: SQLite, or PostgreSQL under tests/pg/with-postgres).
 *
 * A store with a staged flight, encounters and a watchlist entry is backed
 * up; one more encounter follows. The backup, restored into a fresh store 15
 * days later, holds exactly what the store held when it was taken, has had
 * retention applied as of the restore (every capture is past its retention
 * by then, so none is left), verifies its audit chain (which records the
 * backup, the purge and the restore), and takes a new encounter. Refusals:
 * no overwrite, no restore into a store with data, none without the key file,
 * and none with another deployment's key file — which leaves nothing behind.
 * Faces: the npm sample photos (scripts/setup).
 */
#include <limits.h>

#include "teststore.h"

#include "cli/border_json.h"
#include "facegate/border.h"

static char samples[PATH_MAX];
static int64_t now_t;

static int64_t test_clock(void *ctx) {
  (void)ctx;
  return now_t;
}

static int open_border(const ts_store *t, fg_border **b, fg_error *e) {
  fg_border_options o;
  fg_border_options_init(&o);
  o.data_dir = t->dir;
  o.store = t->target;
  o.store_flags = FG_STORE_NOSYNC;
  o.face.models_dir = tu_models_dir();
  o.clock = test_clock;
  return fg_border_open(&o, b, e);
}

static fg_border *open_ok(const ts_store *t) {
  fg_border *b = NULL;
  fg_error e = {0};
  int rc = open_border(t, &b, &e);
  if (rc != FG_OK) print_error("open: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  return b;
}

static fg_actor admin = {"admin-1", "admin", NULL};
static fg_actor gate = {"gate-C", "gate", NULL};

static int64_t stage(fg_border *b, const char *flight, const char *when) {
  char js[1024];
  snprintf(js, sizeof js,
           "{\"carrier\":\"XA\",\"flight\":\"%s\",\"port\":\"JFK\","
           "\"scheduled\":\"%s\",\"direction\":\"entry\",\"passengers\":["
           "{\"surname\":\"One\",\"category\":\"citizen\",\"document\":{\"number\":\"B1\","
           "\"issuing_state\":\"USA\"},\"photos\":[\"sample2.jpg\"]},"
           "{\"surname\":\"Two\",\"category\":\"foreign\",\"document\":{\"number\":\"B2\","
           "\"issuing_state\":\"FRA\"},\"photos\":[\"sample3.jpg\"]}]}",
           flight, when);
  fg_manifest_import_opts io = {.format = FG_MANIFEST_JSON, .base_dir = samples};
  json_t *rep;
  fg_error e = {0};
  fg_actor sup = {"supervisor-1", "supervisor", NULL};
  int rc = fg_border_manifest_import_buffer_j(b, &sup, js, strlen(js), &io, &rep, &e);
  if (rc != FG_OK) print_error("import: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  int64_t id = json_integer_value(json_object_get(rep, "manifest_id"));
  json_decref(rep);
  return id;
}

static void encounter(fg_border *b, int64_t manifest, int k) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/sample%d.jpg", samples, k);
  size_t n;
  uint8_t *img = tu_read(path, &n);
  fg_encounter_request rq = {.manifest_id = manifest, .gate = "C1", .image = img, .image_len = n};
  fg_encounter_result r;
  fg_error e = {0};
  int rc = fg_border_encounter(b, &gate, &rq, &r, &e);
  if (rc != FG_OK) print_error("encounter: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  free(img);
}

static void copy_file(const char *from, const char *to) {
  size_t n;
  uint8_t *p = tu_read(from, &n);
  FILE *f = fopen(to, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  fclose(f);
  chmod(to, 0600);
  free(p);
}

static long long count(const char *target, const char *table) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", table);
  return ts_raw_int(target, sql);
}

static long long json_count(const json_t *out, const char *key) {
  return (long long)json_integer_value(json_object_get(json_object_get(out, "counts"), key));
}

static int tables_in(const char *target) {
  if (!ts_pg()) return access(target, F_OK) == 0 ? 1 : 0;
  return (int)ts_raw_int(target, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()");
}

static void test_backup_restore(void **state) {
  (void)state;
  char probe[PATH_MAX];
  tu_path(probe, sizeof probe, tu_samples_dir(), "sample2.jpg");
  if (!tu_exists(probe) || !realpath(tu_samples_dir(), samples))
    TU_SKIP("sample photos not found in %s (run scripts/setup)", tu_samples_dir());
  char models[PATH_MAX];
  tu_path(models, sizeof models, tu_models_dir(), "fr_feature.onnx");
  if (!tu_exists(models)) TU_SKIP("models not found in %s (run scripts/setup)", tu_models_dir());
  now_t = 1796000000; /* 2026-11-29 */
  ts_store t, r;
  ts_make(&t, "bk");
  fg_border *b = open_ok(&t);
  int64_t manifest = stage(b, "XA7", "2026-12-01T10:00:00Z");
  for (int k = 2; k <= 4; k++) encounter(b, manifest, k);
  long long enc = count(t.target, "encounters"), trav = count(t.target, "travellers");
  assert_int_equal(enc, 3);
  assert_true(count(t.target, "encounters WHERE capture_sealed IS NOT NULL") == 3);

  /* The backup: everything so far, and it never overwrites. */
  char path[128];
  snprintf(path, sizeof path, "%s/store.backup", t.dir);
  json_t *out = NULL;
  fg_error e = {0};
  int rc = fg_border_backup_j(b, &admin, path, &out, &e);
  if (rc != FG_OK) print_error("backup: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  assert_int_equal(json_count(out, "encounters"), enc);
  assert_int_equal(json_count(out, "travellers"), trav);
  assert_true(json_integer_value(json_object_get(out, "bytes")) > 0);
  json_decref(out);
  assert_int_equal(fg_border_backup_j(b, &admin, path, &out, &e), FG_ECONFLICT);
  long long audit_at_backup = count(t.target, "audit");
  encounter(b, manifest, 2); /* after the backup: not in it */
  fg_border_close(b);

  /* Restore 15 days later into a fresh store with the deployment's key file. */
  now_t += 15 * 86400;
  ts_make(&r, "rs");
  fg_border_options o;
  fg_border_options_init(&o);
  o.data_dir = r.dir;
  o.store = r.target;
  o.store_flags = FG_STORE_NOSYNC;
  o.face.models_dir = tu_models_dir();
  o.clock = test_clock;
  assert_int_equal(fg_border_restore_j(&o, &admin, path, &out, &e), FG_ENOTFOUND); /* no key yet */
  assert_non_null(strstr(e.msg, "key file"));
  assert_int_equal(tables_in(r.target), 0);
  char key_from[128], key_to[128];
  snprintf(key_from, sizeof key_from, "%s/facegate.key", t.dir);
  snprintf(key_to, sizeof key_to, "%s/facegate.key", r.dir);
  copy_file(key_from, key_to);
  rc = fg_border_restore_j(&o, &admin, path, &out, &e);
  if (rc != FG_OK) print_error("restore: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  assert_true(json_is_true(json_object_get(json_object_get(out, "audit"), "ok")));
  assert_int_equal(json_count(out, "encounters"), enc);
  assert_int_equal(json_count(out, "travellers"), trav);
  assert_true(json_count(out, "audit_events") > audit_at_backup);
  json_decref(out);
  /* Retention as of the restore: every capture is past it. */
  assert_int_equal(count(r.target, "encounters WHERE capture_sealed IS NOT NULL"), 0);
  assert_int_equal(count(r.target, "audit WHERE action = 'store.restore'"), 1);
  assert_int_equal(count(r.target, "audit WHERE action = 'purge.run'"), 1);

  /* The restored store works: a new flight (the old one's gallery went with
   * retention), an encounter, and the chain still verifies. */
  b = open_ok(&r);
  encounter(b, stage(b, "XA8", "2026-12-16T10:00:00Z"), 3);
  assert_int_equal(count(r.target, "encounters"), enc + 1);
  json_t *av = NULL;
  assert_int_equal(fg_border_audit_verify_j(b, &admin, NULL, &av, &e), FG_OK);
  assert_true(json_is_true(json_object_get(av, "ok")));
  json_decref(av);
  fg_border_close(b);

  /* Never into a store with data. */
  assert_int_equal(fg_border_restore_j(&o, &admin, path, &out, &e), FG_ECONFLICT);
  ts_clean(&r);

  /* Another deployment's key file: refused, and nothing is left behind. */
  ts_store w, other;
  ts_make(&w, "wk");
  ts_make(&other, "ok");
  fg_border_close(open_ok(&other)); /* makes the other deployment's key */
  snprintf(key_from, sizeof key_from, "%s/facegate.key", other.dir);
  snprintf(key_to, sizeof key_to, "%s/facegate.key", w.dir);
  copy_file(key_from, key_to);
  o.data_dir = w.dir;
  o.store = w.target;
  assert_int_equal(fg_border_restore_j(&o, &admin, path, &out, &e), FG_EPERM);
  assert_non_null(strstr(e.msg, "another key file"));
  assert_int_equal(tables_in(w.target), 0);
  ts_clean(&other);
  ts_clean(&w);
  ts_clean(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backup_restore),
  };
  fprintf(stderr, "backup tests on %s\n", ts_backend());
  return cmocka_run_group_tests(tests, NULL, NULL);
}
