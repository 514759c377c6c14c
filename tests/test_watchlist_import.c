/*
 * Bulk loading of the watchlist (src/border/watchlist_batch.c and
 * watchlist_import.c): batches written in one transaction with one audit
 * event, the JSON Lines importer, and `audit verify` accounting for every
 * watchlist row. Each test has its own store (tests/teststore.h): SQLite, or
 * a new PostgreSQL database when FACEGATE_TEST_STORE=postgresql.
 *
 * Checked: a batch's entries get consecutive ids, sealed rows (the name is
 * nowhere on disk in clear), one watchlist.import event, and reach the
 * cached watchlist gallery without a rebuild; a batch that fails part-way
 * (a bad entry, or the database refusing a row: a planted trigger) leaves
 * nothing; a file is imported in batches, photos through the face pipeline
 * (the face fixture of tests/facefixture.h); every kind of malformed line is
 * refused with its line number and nothing written; a photo without a face
 * while writing leaves the earlier batches and a resume line that works; and
 * rows edited, deleted, planted, un-removed or stripped of their templates
 * behind facegate's back are each named by `audit verify`.
 */
#include "teststore.h"
#include "facefixture.h"

#include <math.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "border/border_internal.h"
#include "cli/border_json.h"
#include "facegate/border.h"
#include "facegate/face.h"
#include "facegate/store.h"
#include "facegate/template.h"

static ts_store T;
static fg_border *B;
static const fg_actor SUP = {"supervisor-1", "supervisor", NULL};

/* A name nobody else uses: it must never be on disk in clear. */
#define SECRET_NAME "Zebulon Quixotewright"

static int setup(void **state) {
  (void)state;
  ts_make(&T, "wlimport");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  fg_border_close(B);
  B = NULL;
  ts_clean(&T);
  return 0;
}

static void open_border(void) {
  fg_border_options o;
  fg_border_options_init(&o);
  o.data_dir = T.dir;
  o.store = ts_store_opt(&T);
  o.store_flags = FG_STORE_NOSYNC;
  o.face.models_dir = tu_models_dir();
  fg_error e = {0};
  if (fg_border_open(&o, &B, &e) != FG_OK) fail_msg("fg_border_open: %s", e.msg);
}

#define NEED_MODELS()                                                                        \
  do {                                                                                       \
    char p_[4096];                                                                           \
    tu_path(p_, sizeof p_, tu_models_dir(), "fr_feature.onnx");                            \
    if (!tu_exists(p_)) TU_SKIP("models not found in %s (run scripts/setup)", tu_models_dir()); \
    open_border();                                                                           \
  } while (0)

static int dim(void) {
  fg_face_engine *fe;
  fg_error e;
  assert_int_equal(fg__border_face(B, &fe, &e), FG_OK);
  return fg_face_engine_dim(fe);
}

/* A random unit vector (deterministic per seed). */
static void unit(float *v, int d, unsigned seed) {
  uint32_t x = seed * 2654435761u + 12345;
  double n = 0;
  for (int k = 0; k < d; k++) {
    x = x * 1664525u + 1013904223u;
    v[k] = (float)((double)(x >> 8) / (1 << 24) - 0.5);
    n += (double)v[k] * v[k];
  }
  for (int k = 0; k < d; k++) v[k] = (float)(v[k] / sqrt(n));
}

/* Whether s is anywhere in the store's files. (Through a volatile pointer:
 * knowing it is T, GCC's format-truncation check misjudges teststore.h's
 * path lengths.) */
static ts_store *volatile T_ptr = &T;
static int on_disk(const char *s) { return ts_on_disk(T_ptr, s, strlen(s)); }

static int64_t count(const char *sql) { return ts_int(T.target, sql, 0); }
static int64_t imports(void) { return count("SELECT COUNT(*) FROM audit WHERE action = 'watchlist.import'"); }

/* audit verify: its "records" object (owned by the caller). */
static json_t *verify_records(void) {
  json_t *out = NULL;
  fg_error e;
  fg_actor aud = {"auditor", "auditor", NULL};
  assert_int_equal(fg_border_audit_verify_j(B, &aud, NULL, &out, &e), FG_OK);
  json_t *rec = json_incref(json_object_get(out, "records"));
  json_decref(out);
  return rec;
}

static void assert_reconciled(int64_t entries) {
  json_t *rec = verify_records();
  if (!json_is_true(json_object_get(rec, "ok"))) {
    char *s = json_dumps(rec, 0);
    fail_msg("audit verify: %s", s);
  }
  assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "checked"), "watchlist")), entries);
  json_decref(rec);
}

/* Does one of the problems `audit verify` names contain needle? */
static int problem_has(const json_t *rec, const char *needle) {
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(rec, "problems"), i, p) if (strstr(json_string_value(p), needle)) return 1;
  return 0;
}

/* ---- batches ------------------------------------------------------------------------ */

static void test_batch(void **state) {
  (void)state;
  NEED_MODELS();
  int d = dim();
  fg_error e;
  /* One entry the usual way, and the cached gallery built with it. */
  float *v = malloc(51 * (size_t)d * sizeof *v);
  for (int i = 0; i < 51; i++) unit(v + (size_t)i * d, d, (unsigned)i + 1);
  int64_t solo;
  assert_int_equal(fg_border_watchlist_add_embeddings(B, &SUP, "Solo", "test", 0, v, 1, d, &solo, &e), FG_OK);
  const fg_gallery *g;
  size_t photos;
  assert_int_equal(fg__watchlist_gallery(B, &g, &photos, &e), FG_OK);
  assert_non_null(g);
  const fg_gallery *before = g;

  fg_watchlist_entry en[50];
  char names[50][32];
  for (int i = 0; i < 50; i++) {
    snprintf(names[i], sizeof names[i], "Person %d", i);
    en[i] = (fg_watchlist_entry){.name = i == 7 ? SECRET_NAME : names[i], .reason = "bulk test",
                                 .expires_at = i == 3 ? 4102444800 : 0,
                                 .embeddings = v + (size_t)(i + 1) * d, .n = 1};
  }
  fg_watchlist_batch_result r;
  assert_int_equal(fg_border_watchlist_add_batch(B, &SUP, en, 50, d, &r, &e), FG_OK);
  assert_int_equal(r.entries, 50);
  assert_int_equal(r.templates, 50);
  assert_int_equal(r.last_id - r.first_id, 49);
  assert_true(r.first_id > solo);
  assert_int_equal(strlen(r.rows_hash), 64);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist"), 51);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist_templates"), 51);
  assert_int_equal(imports(), 1);
  /* sealed: the name is in no column and on no page in clear */
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist WHERE entry_sealed IS NULL OR name <> ''"), 0);
  assert_false(on_disk(SECRET_NAME));

  /* the cached gallery took the batch in place (same gallery, 51 subjects) */
  assert_int_equal(fg__watchlist_gallery(B, &g, &photos, &e), FG_OK);
  assert_ptr_equal(g, before);
  fg_gallery_info gi;
  fg_gallery_get_info(g, &gi);
  assert_int_equal(gi.n_subjects, 51);
  fg__gallery_cache_reset(B); /* and a rebuild from the store agrees */
  assert_int_equal(fg__watchlist_gallery(B, &g, &photos, &e), FG_OK);
  fg_gallery_get_info(g, &gi);
  assert_int_equal(gi.n_subjects, 51);

  /* listing opens every sealed name */
  json_t *list = NULL;
  assert_int_equal(fg_border_watchlist_list_j(B, &SUP, &list, &e), FG_OK);
  assert_int_equal(json_array_size(list), 51);
  assert_string_equal(json_string_value(json_object_get(json_array_get(list, 8), "name")), SECRET_NAME);
  json_decref(list);

  assert_int_equal(fg_border_watchlist_remove(B, &SUP, r.first_id + 5, &e), FG_OK);
  assert_reconciled(51);
  free(v);
}

/* Batches that take the cached gallery past FG__WATCHLIST_INDEX_MIN give it
 * its sketch index at once (adds alone keep an index, never make one). */
static void test_batch_index(void **state) {
  (void)state;
  NEED_MODELS();
  int d = dim();
  fg_error e;
  float *v = malloc(1000 * (size_t)d * sizeof *v);
  for (int i = 0; i < 1000; i++) unit(v + (size_t)i * d, d, (unsigned)i + 7000);
  int64_t solo;
  assert_int_equal(fg_border_watchlist_add_embeddings(B, &SUP, "Solo", "test", 0, v, 1, d, &solo, &e), FG_OK);
  const fg_gallery *g, *first;
  size_t photos;
  assert_int_equal(fg__watchlist_gallery(B, &first, &photos, &e), FG_OK);
  fg_watchlist_entry en[1000];
  for (int i = 0; i < 1000; i++)
    en[i] = (fg_watchlist_entry){.name = "Many", .reason = "index test", .embeddings = v + (size_t)i * d, .n = 1};
  fg_sketch_info si;
  for (int k = 0; k * 1000 < FG__WATCHLIST_INDEX_MIN; k++) {
    assert_int_equal(fg_gallery_sketch_info(first, &si), FG_ENOTFOUND);
    assert_int_equal(fg_border_watchlist_add_batch(B, &SUP, en, 1000, d, NULL, &e), FG_OK);
  }
  assert_int_equal(fg__watchlist_gallery(B, &g, &photos, &e), FG_OK);
  assert_ptr_equal(g, first); /* taken in place, not rebuilt */
  assert_int_equal(fg_gallery_sketch_info(g, &si), FG_OK);
  assert_int_equal(si.entries, FG__WATCHLIST_INDEX_MIN + 1);
  free(v);
}

/* The planted failure: the 30th watchlist row is refused by the database. */
static void plant_failure(void) {
  if (ts_pg())
    ts_raw(T.target,
           "CREATE FUNCTION fg_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
           " IF (SELECT COUNT(*) FROM watchlist) >= 29 THEN RAISE EXCEPTION 'planted failure'; END IF;"
           " RETURN NEW; END $$;"
           "CREATE TRIGGER fg_test_fail BEFORE INSERT ON watchlist FOR EACH ROW EXECUTE FUNCTION fg_test_fail();");
  else
    ts_raw(T.target, "CREATE TRIGGER fg_test_fail BEFORE INSERT ON watchlist"
                     " WHEN (SELECT COUNT(*) FROM watchlist) >= 29"
                     " BEGIN SELECT RAISE(ABORT, 'planted failure'); END;");
}

static void test_batch_atomic(void **state) {
  (void)state;
  NEED_MODELS();
  int d = dim();
  fg_error e;
  float *v = malloc(40 * (size_t)d * sizeof *v);
  for (int i = 0; i < 40; i++) unit(v + (size_t)i * d, d, (unsigned)i + 100);
  fg_watchlist_entry en[40];
  for (int i = 0; i < 40; i++)
    en[i] = (fg_watchlist_entry){.name = "Somebody", .reason = "atomic test",
                                 .embeddings = v + (size_t)i * d, .n = 1};
  /* a bad entry: refused before anything is written, and named */
  en[30].name = "bad\x01name";
  assert_int_equal(fg_border_watchlist_add_batch(B, &SUP, en, 40, d, NULL, &e), FG_EINVAL);
  assert_non_null(strstr(e.msg, "entry 30"));
  en[30].name = "Somebody";
  en[12].n = 0;
  assert_int_equal(fg_border_watchlist_add_batch(B, &SUP, en, 40, d, NULL, &e), FG_EINVAL);
  en[12].n = 1;
  assert_int_equal(fg_border_watchlist_add_batch(B, &SUP, en, 40, d + 1, NULL, &e), FG_EINVAL);
  assert_int_equal(fg_border_watchlist_add_batch(B, &SUP, en, 0, d, NULL, &e), FG_EINVAL);
  /* the database refuses the 30th row: the 29 before it go too */
  plant_failure();
  int64_t rev0 = count("SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'watchlist_revision'");
  assert_int_not_equal(fg_border_watchlist_add_batch(B, &SUP, en, 40, d, NULL, &e), FG_OK);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist"), 0);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist_templates"), 0);
  assert_int_equal(imports(), 0);
  assert_int_equal(count("SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'watchlist_revision'"),
                   rev0);
  ts_raw(T.target, ts_pg() ? "DROP TRIGGER fg_test_fail ON watchlist" : "DROP TRIGGER fg_test_fail");
  fg_watchlist_batch_result r;
  assert_int_equal(fg_border_watchlist_add_batch(B, &SUP, en, 40, d, &r, &e), FG_OK);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist"), 40);
  assert_reconciled(40); /* PostgreSQL skipped the failed batch's ids: still one range */
  free(v);
}

/* ---- files -------------------------------------------------------------------------- */

/* A template line for seed s: {"name", "reason", "templates": [base64]}. */
static void template_line(FILE *f, unsigned s, const char *extra) {
  int d = dim();
  fg_face_engine *fe;
  fg_error e;
  assert_int_equal(fg__border_face(B, &fe, &e), FG_OK);
  uint8_t id[8];
  fg_face_engine_model_id(fe, id);
  float *v = malloc((size_t)d * sizeof *v);
  unit(v, d, s);
  fg_template t;
  assert_int_equal(fg_template_init(&t, v, d, id, &e), FG_OK);
  uint8_t buf[FG_TEMPLATE_MAX_BYTES];
  size_t n;
  assert_int_equal(fg_template_encode(&t, s % 2 ? FG_TEMPLATE_FP16 : FG_TEMPLATE_FP32, buf, sizeof buf, &n, &e), FG_OK);
  char b64[sodium_base64_ENCODED_LEN(FG_TEMPLATE_MAX_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, buf, n, sodium_base64_VARIANT_ORIGINAL);
  fprintf(f, "{\"name\": \"Entry %u\", \"reason\": \"file test\", \"templates\": [\"%s\"]%s}\n", s, b64,
          extra ? extra : "");
  fg_template_release(&t);
  free(v);
}

static void path_in(char *p, size_t n, const char *name) { snprintf(p, n, "%s/%s", T.dir, name); }

/* The face fixture's first two people under T.dir/faces (0: no sample photos). */
static int make_faces(void) {
  char dir[256];
  path_in(dir, sizeof dir, "faces");
  fg_error e;
  if (mkdir(dir, 0700) != 0 || ff_build(tu_samples_dir(), dir, &e) != FG_OK) return 0;
  return 1;
}

static void test_import_file(void **state) {
  (void)state;
  NEED_MODELS();
  int faces = make_faces();
  char file[256];
  path_in(file, sizeof file, "list.jsonl");
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fputs("\xEF\xBB\xBF", f); /* a byte-order mark, allowed on the first line */
  for (unsigned i = 0; i < 25; i++) {
    template_line(f, i + 1, i == 4 ? ", \"expires\": \"2031-02-03\"" : NULL);
    if (i == 10) fputs("   \n\r\n", f); /* blank lines */
  }
  if (faces)
    fprintf(f, "{\"name\": \"%s\", \"reason\": \"photo\", \"photos\": [\"faces/lfw-deepfunneled/%s/%s_0001.jpg\","
               " \"faces/lfw-deepfunneled/%s/%s_0002.jpg\"]}\r\n",
            FF_PERSON[0].name, FF_PERSON[0].name, FF_PERSON[0].name, FF_PERSON[0].name, FF_PERSON[0].name);
  fclose(f);
  fg_watchlist_import_opts o = {.batch = 10};
  fg_watchlist_import_report r;
  fg_error e;
  /* --check first: nothing written */
  o.check_only = 1;
  assert_int_equal(fg_border_watchlist_import(B, &SUP, file, &o, &r, &e), FG_OK);
  assert_int_equal(r.entries, 25 + faces);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist"), 0);
  o.check_only = 0;
  if (fg_border_watchlist_import(B, &SUP, file, &o, &r, &e) != FG_OK) fail_msg("import: %s", e.msg);
  assert_int_equal(r.entries, 25 + faces);
  assert_int_equal(r.templates, 25 + 2 * faces);
  assert_int_equal(r.batches, 3);
  assert_int_equal(r.next_line, 0);
  assert_int_equal(r.last_id - r.first_id + 1, 25 + faces);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist"), 25 + faces);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist_templates WHERE image_sealed IS NOT NULL"), 2 * faces);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist WHERE expires_at IS NOT NULL"), 1);
  assert_int_equal(imports(), 3);
  assert_reconciled(25 + faces);
  if (!faces) TU_SKIP("photo lines: no sample photos in %s for the face fixture", tu_samples_dir());
}

typedef struct bad_case {
  const char *what, *line; /* the line at number 4 */
} bad_case;

static void test_import_malformed(void **state) {
  (void)state;
  NEED_MODELS();
  char file[256], longline[FG__WL_LINE_MAX + 64];
  memset(longline, ' ', sizeof longline - 1);
  longline[sizeof longline - 1] = '\0';
  static const char head[] = "{\"name\": \"x\", \"reason\": \"y\", \"photos\": [\"a.jpg\"]}";
  memcpy(longline, head, strlen(head));
  /* a template of another model (model id bytes changed, checksum redone by encode) */
  static const bad_case cases[] = {
      {"not JSON", "{\"name\": \"x\", "},
      {"not an object", "[1, 2]"},
      {"missing name", "{\"reason\": \"y\", \"photos\": [\"a.jpg\"]}"},
      {"empty reason", "{\"name\": \"x\", \"reason\": \"\", \"photos\": [\"a.jpg\"]}"},
      {"unknown member", "{\"name\": \"x\", \"reason\": \"y\", \"photos\": [\"a.jpg\"], \"nmae\": 1}"},
      {"duplicate member", "{\"name\": \"x\", \"name\": \"z\", \"reason\": \"y\", \"photos\": [\"a.jpg\"]}"},
      {"name with a control character", "{\"name\": \"x\\u0007\", \"reason\": \"y\", \"photos\": [\"a.jpg\"]}"},
      {"name with NUL", "{\"name\": \"x\\u0000y\", \"reason\": \"y\", \"photos\": [\"a.jpg\"]}"},
      {"both photos and templates", "{\"name\": \"x\", \"reason\": \"y\", \"photos\": [\"a.jpg\"], \"templates\": []}"},
      {"neither", "{\"name\": \"x\", \"reason\": \"y\"}"},
      {"bad expiry", "{\"name\": \"x\", \"reason\": \"y\", \"expires\": \"soon\", \"photos\": [\"a.jpg\"]}"},
      {"path outside", "{\"name\": \"x\", \"reason\": \"y\", \"photos\": [\"../a.jpg\"]}"},
      {"absolute path", "{\"name\": \"x\", \"reason\": \"y\", \"photos\": [\"/etc/passwd\"]}"},
      {"missing photo", "{\"name\": \"x\", \"reason\": \"y\", \"photos\": [\"nowhere.jpg\"]}"},
      {"17 photos", "{\"name\": \"x\", \"reason\": \"y\", \"photos\": [\"a.jpg\",\"a.jpg\",\"a.jpg\",\"a.jpg\","
                    "\"a.jpg\",\"a.jpg\",\"a.jpg\",\"a.jpg\",\"a.jpg\",\"a.jpg\",\"a.jpg\",\"a.jpg\",\"a.jpg\","
                    "\"a.jpg\",\"a.jpg\",\"a.jpg\",\"a.jpg\"]}"},
      {"not base64", "{\"name\": \"x\", \"reason\": \"y\", \"templates\": [\"!!!\"]}"},
      {"not a template", "{\"name\": \"x\", \"reason\": \"y\", \"templates\": [\"AAAAAAAAAAAAAAAAAAAAAAAA\"]}"},
      {"too long", NULL},
  };
  char photo[256];
  path_in(photo, sizeof photo, "a.jpg"); /* exists (contents do not matter before writing) */
  FILE *pf = fopen(photo, "w");
  fputs("not really a jpeg", pf);
  fclose(pf);
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    path_in(file, sizeof file, "bad.jsonl");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    for (unsigned i = 0; i < 3; i++) template_line(f, i + 1, NULL);
    fprintf(f, "%s\n", cases[c].line ? cases[c].line : longline);
    template_line(f, 9, NULL);
    fclose(f);
    fg_watchlist_import_report r;
    fg_error e = {0};
    int rc = fg_border_watchlist_import(B, &SUP, file, NULL, &r, &e);
    if (rc != FG_EFORMAT || r.error_line != 4 || strncmp(e.msg, "line 4: ", 8) != 0)
      fail_msg("%s: rc %d, line %ld, \"%s\"", cases[c].what, rc, r.error_line, e.msg);
    assert_int_equal(r.entries, 0);
    assert_int_equal(count("SELECT COUNT(*) FROM watchlist"), 0);
    assert_int_equal(imports(), 0);
  }
  /* a NUL byte in a line */
  FILE *f = fopen(file, "w");
  template_line(f, 1, NULL);
  fwrite("{\"name\": \"x\0\"}\n", 1, 16, f);
  fclose(f);
  fg_watchlist_import_report r;
  fg_error e = {0};
  assert_int_equal(fg_border_watchlist_import(B, &SUP, file, NULL, &r, &e), FG_EFORMAT);
  assert_int_equal(r.error_line, 2);
  /* an empty file, a file that is not there */
  f = fopen(file, "w");
  fputs("\n\n", f);
  fclose(f);
  assert_int_equal(fg_border_watchlist_import(B, &SUP, file, NULL, &r, &e), FG_EFORMAT);
  path_in(file, sizeof file, "absent.jsonl");
  assert_int_equal(fg_border_watchlist_import(B, &SUP, file, NULL, &r, &e), FG_ENOTFOUND);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist"), 0);
}

/* A 256x256 PGM of noise: no face (a problem only the face pipeline finds). */
static void write_noise(const char *path) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs("P5\n256 256\n255\n", f);
  uint32_t x = 7;
  for (int i = 0; i < 256 * 256; i++) {
    x = x * 1664525u + 1013904223u;
    fputc((int)(x >> 24), f);
  }
  fclose(f);
}

static void test_import_resume(void **state) {
  (void)state;
  NEED_MODELS();
  char file[256], noise[256];
  path_in(noise, sizeof noise, "noise.pgm");
  write_noise(noise);
  path_in(file, sizeof file, "list.jsonl");
  FILE *f = fopen(file, "w");
  for (unsigned i = 1; i <= 30; i++) {
    if (i == 25) fputs("{\"name\": \"No Face\", \"reason\": \"r\", \"photos\": [\"noise.pgm\"]}\n", f);
    else template_line(f, i, NULL);
  }
  fclose(f);
  fg_watchlist_import_opts o = {.batch = 10};
  fg_watchlist_import_report r;
  fg_error e;
  /* --check finds it, writing nothing */
  o.check_only = 1;
  assert_int_equal(fg_border_watchlist_import(B, &SUP, file, &o, &r, &e), FG_EINVAL);
  assert_int_equal(r.error_line, 25);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist"), 0);
  /* writing: lines 1-20 in two batches, the third batch not at all */
  o.check_only = 0;
  assert_int_equal(fg_border_watchlist_import(B, &SUP, file, &o, &r, &e), FG_EINVAL);
  assert_non_null(strstr(e.msg, "line 25: photo 1: no face"));
  assert_int_equal(r.error_line, 25);
  assert_int_equal(r.next_line, 21);
  assert_int_equal(r.entries, 20);
  assert_int_equal(r.batches, 2);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist"), 20);
  assert_reconciled(20);
  /* the line fixed, resumed where it said */
  f = fopen(file, "w");
  for (unsigned i = 1; i <= 30; i++) template_line(f, i, NULL);
  fclose(f);
  o.first_line = r.next_line;
  assert_int_equal(fg_border_watchlist_import(B, &SUP, file, &o, &r, &e), FG_OK);
  assert_int_equal(r.entries, 10);
  assert_int_equal(r.lines, 10);
  assert_int_equal(count("SELECT COUNT(*) FROM watchlist"), 30);
  assert_reconciled(30);
}

/* ---- audit verify against rows changed behind facegate's back ----------------------- */

static void test_reconcile_tamper(void **state) {
  (void)state;
  NEED_MODELS();
  int d = dim();
  fg_error e;
  float *v = malloc(21 * (size_t)d * sizeof *v);
  for (int i = 0; i < 21; i++) unit(v + (size_t)i * d, d, (unsigned)i + 500);
  fg_watchlist_entry en[20];
  for (int i = 0; i < 20; i++)
    en[i] = (fg_watchlist_entry){.name = "Tamper", .reason = "t", .embeddings = v + (size_t)i * d, .n = 1};
  fg_watchlist_batch_result a, c;
  assert_int_equal(fg_border_watchlist_add_batch(B, &SUP, en, 10, d, &a, &e), FG_OK);
  assert_int_equal(fg_border_watchlist_add_batch(B, &SUP, en + 10, 10, d, &c, &e), FG_OK);
  int64_t solo, gone;
  assert_int_equal(fg_border_watchlist_add_embeddings(B, &SUP, "Solo", "t", 0, v + 20 * (size_t)d, 1, d, &solo, &e),
                   FG_OK);
  assert_int_equal(fg_border_watchlist_add_embeddings(B, &SUP, "Gone", "t", 0, v, 1, d, &gone, &e), FG_OK);
  assert_int_equal(fg_border_watchlist_remove(B, &SUP, a.first_id + 1, &e), FG_OK);
  assert_reconciled(22);
  char sql[1024];
  /* batch a: one row's expiry edited; batch c: one row deleted; the solo row's
   * actor edited; a removed entry made live again; a live one stripped of its
   * templates; a row planted; a solo row deleted */
  snprintf(sql, sizeof sql,
           "UPDATE watchlist SET expires_at = 1 WHERE id = %lld;"
           "DELETE FROM watchlist_templates WHERE entry_id = %lld; DELETE FROM watchlist WHERE id = %lld;"
           "UPDATE watchlist SET added_by = 'someone else' WHERE id = %lld;"
           "UPDATE watchlist SET removed_at = NULL WHERE id = %lld;"
           "DELETE FROM watchlist_templates WHERE entry_id = %lld;"
           "INSERT INTO watchlist(id, name, reason, added_by, created_at) VALUES (%lld, '', '', 'x', 1);"
           "DELETE FROM watchlist_templates WHERE entry_id = %lld; DELETE FROM watchlist WHERE id = %lld;",
           (long long)a.first_id + 3, (long long)c.first_id + 2, (long long)c.first_id + 2, (long long)solo,
           (long long)a.first_id + 1, (long long)a.first_id + 6, (long long)gone + 100, (long long)gone,
           (long long)gone);
  ts_raw(T.target, sql);
  json_t *rec = verify_records();
  assert_false(json_is_true(json_object_get(rec, "ok")));
  char want[256];
  snprintf(want, sizeof want, "(ids %lld-%lld) do not match", (long long)a.first_id, (long long)a.last_id);
  assert_true(problem_has(rec, want));
  snprintf(want, sizeof want, "1 of the 10 watchlist entries of audit event");
  assert_true(problem_has(rec, want));
  snprintf(want, sizeof want, "watchlist entry %lld does not match its audit event", (long long)solo);
  assert_true(problem_has(rec, want));
  snprintf(want, sizeof want, "watchlist entry %lld was removed", (long long)a.first_id + 1);
  assert_true(problem_has(rec, want));
  snprintf(want, sizeof want, "watchlist entry %lld is live but has no templates", (long long)a.first_id + 6);
  assert_true(problem_has(rec, want));
  snprintf(want, sizeof want, "watchlist entry %lld has no watchlist.add", (long long)gone + 100);
  assert_true(problem_has(rec, want));
  snprintf(want, sizeof want, "watchlist entry %lld was deleted", (long long)gone);
  assert_true(problem_has(rec, want));
  json_decref(rec);
  free(v);
}

int main(void) {
  fprintf(stderr, "store: %s\n", ts_backend());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_index, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_atomic, setup, teardown),
      cmocka_unit_test_setup_teardown(test_import_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_import_malformed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_import_resume, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reconcile_tamper, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
