/*
 * Manifest import and the staged galleries (fg_border_manifest_*,
 * fg__flight_gallery, fg__watchlist_gallery) on real faces, in a fresh data
 * directory under /tmp and a fresh store (tests/teststore.h: SQLite, or a new
 * PostgreSQL database when FACEGATE_TEST_STORE=postgresql).
 *
 * What is checked: the JSON and CSV parsers' limits and messages (no models
 * needed); malformed files are refused whole with FG_EFORMAT and nothing is
 * written; a JSON manifest of real faces given as a path, a DG2, base64, a
 * face-less image, a missing file, a duplicate document, a passenger without
 * a surname and a path escaping the directory gives the expected report and
 * rows, its blobs are sealed ("FGS1") and no photo's bytes, PNG signature or
 * raw template appear in the files holding the store (SQLite's database and
 * WAL; PostgreSQL's database directory and WAL); an amend adds a late passenger,
 * refuses one already on board and bumps the revision; the same passengers
 * in CSV give the same report and reuse the travellers; the flight gallery
 * ranks each traveller first for another photo of them and is cached per
 * revision; the watchlist gallery drops an entry when it expires; list and
 * show; close, then close or amend again is FG_ECONFLICT.
 *
 * Faces: LFW (FACEGATE_LFW, default ../shared/data/lfw) enrolled with _0001
 * and probed with _0002; without LFW the npm sample photos (each probed with
 * itself). Tests needing the models are skipped with the reason without them.
 */
#include "cli/border_json.h"
#include "facegate/secure.h"
#include "teststore.h"

#include <sodium.h>
#include <sys/stat.h>

#include "border/border_internal.h"
#include "border/manifest_parse.h"
#include "facegate/dg2.h"

#define NFACE 5
/* A: path, B: DG2, C: base64, G: path beside a bad entry, H: late (amend). */
static const char *const PEOPLE[NFACE] = {"Serena_Williams", "Laura_Bush", "Kofi_Annan",
                                          "Jacques_Chirac", "Vicente_Fox"};
static const char *const DOCS[NFACE] = {"A0001", "B0002", "C0003", "G0007", "H0008"};

static ts_store T; /* T.dir is the data directory */
static char man_dir[300];
static char enrol[NFACE][4400], probe[NFACE][4400], blur[4400];
/* face_ok: the photo has a face, so it is enrolled (whatever its quality);
 * face_good: and its quality passes (no low_quality problem). */
static int face_ok[NFACE], face_good[NFACE], blur_status = -1, have_models, have_faces, have_lfw;
static int64_t clock_now = 1795766400; /* 2026-11-27T08:00:00Z */
static fg_border *border;
static int64_t json_id, csv_id;
static json_t *json_report;
static fg_actor local = {"tester", "local", NULL};

static int64_t test_clock(void *ctx) {
  (void)ctx;
  return clock_now;
}

/* ---- files -------------------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const void *data, size_t len) {
  char p[800];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
}

static void copy_file(const char *from, const char *name) {
  size_t n;
  uint8_t *d = tu_read(from, &n);
  write_file(man_dir, name, d, n);
  free(d);
}

static char *base64_of(const char *path) {
  size_t n;
  uint8_t *d = tu_read(path, &n);
  size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
  char *s = malloc(cap);
  assert_non_null(s);
  sodium_bin2base64(s, cap, d, n, sodium_base64_VARIANT_ORIGINAL);
  free(d);
  return s;
}

/* A smooth grey gradient: an image without a face. */
static void write_gradient_png(const char *name) {
  fg_image img;
  fg_error e;
  assert_int_equal(fg_image_init(&img, 240, 200, 3, &e), FG_OK);
  for (int y = 0; y < img.height; y++)
    for (int x = 0; x < img.width; x++)
      for (int c = 0; c < 3; c++) img.data[(y * img.width + x) * 3 + c] = (uint8_t)(60 + x / 2);
  uint8_t *png;
  size_t n;
  assert_int_equal(fg_image_encode_png(&img, &png, &n, &e), FG_OK);
  write_file(man_dir, name, png, n);
  free(png);
  fg_image_release(&img);
}

static int contains(const uint8_t *hay, size_t n, const void *needle, size_t m) {
  for (size_t i = 0; m && i + m <= n; i++)
    if (hay[i] == ((const uint8_t *)needle)[0] && !memcmp(hay + i, needle, m)) return 1;
  return 0;
}

/* ---- reading the store directly ---------------------------------------------------- */

static const fg_query Q_TRAVELLERS = {"t_travellers", "SELECT COUNT(*) FROM travellers", 1};
static const fg_query Q_MANIFESTS = {"t_manifests", "SELECT COUNT(*) FROM manifests", 1};
static const fg_query Q_AUDIT = {"t_audit", "SELECT COUNT(*) FROM audit", 1};
static const fg_query Q_PASSENGERS = {"t_passengers",
                                      "SELECT COUNT(*) FROM passengers WHERE manifest_id = ?", 1};
static const fg_query Q_REVISION = {"t_revision", "SELECT revision FROM manifests WHERE id = ?", 1};
static const fg_query Q_PHOTOS = {
    "t_photos", "SELECT id, image_sealed, template_sealed FROM photos WHERE manifest_id = ?", 3};
static const fg_query Q_PROBLEMS = {
    "t_problems",
    "SELECT p.problems, p.enrolled FROM passengers p JOIN documents d ON d.id = p.document_id"
    " WHERE p.manifest_id = ? AND d.number_index = ?", 2};
static const fg_query Q_AUDIT_MANIFEST = {
    "t_audit_manifest", "SELECT action, detail FROM audit WHERE action LIKE 'manifest.%' ORDER BY seq", 2};

static int64_t count(const fg_query *q, int64_t arg) {
  fg_store *st;
  fg_error e;
  assert_int_equal(fg_store_open(T.target, FG_STORE_READONLY, &st, &e), FG_OK);
  fg_val p = FG_V_INT(arg);
  int64_t v = -1;
  int found = 0;
  assert_int_equal(fg_store_exec_int(st, q, &p, strchr(q->sql, '?') ? 1 : 0, &v, &found, &e), FG_OK);
  fg_store_close(st);
  return found ? v : -1;
}

typedef struct photo_rows {
  int n, sealed;
} photo_rows;

static int photo_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err;
  photo_rows *r = ctx;
  r->n++;
  if (n == 3 && c[1].type == FG_VAL_BLOB && c[2].type == FG_VAL_BLOB && c[1].n > 4 &&
      c[2].n > 4 && !memcmp(c[1].b, FG_SEAL_MAGIC, 4) && !memcmp(c[2].b, FG_SEAL_MAGIC, 4))
    r->sealed++;
  return 0;
}

typedef struct text_row {
  char a[512], b[512];
  int64_t i;
  int found;
} text_row;

static int text_row_fn(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err;
  text_row *r = ctx;
  r->found++;
  snprintf(r->a, sizeof r->a, "%s", c[0].type == FG_VAL_TEXT ? c[0].s : "");
  if (n > 1 && c[1].type == FG_VAL_TEXT) snprintf(r->b, sizeof r->b, "%s", c[1].s);
  if (n > 1 && c[1].type == FG_VAL_INT) r->i = c[1].i;
  return 0;
}

/* ---- set-up ------------------------------------------------------------------------- */

static int group_setup(void **state) {
  (void)state;
  ts_make(&T, "manifest");
  snprintf(man_dir, sizeof man_dir, "%s/m", T.dir);
  mkdir(man_dir, 0700);
  char sub[400];
  snprintf(sub, sizeof sub, "%s/photos", man_dir);
  mkdir(sub, 0700);

  char first[4400];
  snprintf(first, sizeof first, "%s/lfw-deepfunneled/%s/%s_0001.jpg", tu_lfw_dir(), PEOPLE[0],
           PEOPLE[0]);
  int lfw = have_lfw = tu_exists(first);
  have_faces = 1;
  for (int i = 0; i < NFACE; i++) {
    if (lfw) {
      snprintf(enrol[i], sizeof enrol[i], "%s/lfw-deepfunneled/%s/%s_0001.jpg", tu_lfw_dir(),
               PEOPLE[i], PEOPLE[i]);
      snprintf(probe[i], sizeof probe[i], "%s/lfw-deepfunneled/%s/%s_0002.jpg", tu_lfw_dir(),
               PEOPLE[i], PEOPLE[i]);
    } else {
      snprintf(enrol[i], sizeof enrol[i], "%s/sample%d.jpg", tu_samples_dir(), i + 1);
      memcpy(probe[i], enrol[i], sizeof probe[i]);
    }
    have_faces &= tu_exists(enrol[i]) && tu_exists(probe[i]);
  }
  /* A document photo below the quality minimum (LFW's Jacques_Chirac_0010: the
   * face turned about 59 degrees away, quality 0). */
  if (lfw)
    snprintf(blur, sizeof blur, "%s/lfw-deepfunneled/Jacques_Chirac/Jacques_Chirac_0010.jpg",
             tu_lfw_dir());
  else
    snprintf(blur, sizeof blur, "%s/sample6.jpg", tu_samples_dir());
  have_faces &= tu_exists(blur);

  fg_border_options o;
  fg_border_options_init(&o);
  o.data_dir = T.dir;
  o.store = ts_store_opt(&T);
  o.store_flags = FG_STORE_NOSYNC;
  o.clock = test_clock;
  o.face.models_dir = tu_models_dir();
  fg_error e = {0};
  if (fg_border_open(&o, &border, &e) != FG_OK) {
    fprintf(stderr, "fg_border_open: %s\n", e.msg);
    return -1;
  }
  if (strcmp(fg_store_backend(border->store), ts_backend()) != 0) {
    fprintf(stderr, "the border's store is %s, not %s\n", fg_store_backend(border->store), ts_backend());
    return -1;
  }
  fg_face_engine *fe;
  have_models = fg__border_face(border, &fe, &e) == FG_OK;
  if (!have_models) fprintf(stderr, "face engine unavailable (%s): face tests skipped\n", e.msg);
  for (int i = 0; have_models && have_faces && i < NFACE; i++)
    if (fg_face_process_file(fe, enrol[i], NULL, border->scratch, &e) == FG_OK) {
      face_ok[i] = border->scratch->status != FG_FACE_NO_FACE;
      face_good[i] = border->scratch->status == FG_FACE_OK;
    }
  if (have_models && have_faces && fg_face_process_file(fe, blur, NULL, border->scratch, &e) == FG_OK)
    blur_status = (int)border->scratch->status;
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  fg_border_close(border);
  json_decref(json_report);
  ts_clean(&T);
  return 0;
}

#define NEED_FACES()                                                                      \
  do {                                                                                    \
    if (!have_models) TU_SKIP("models not found in %s (run scripts/setup)", tu_models_dir()); \
    if (!have_faces) TU_SKIP("no LFW at %s and no sample photos in %s", tu_lfw_dir(),     \
                             tu_samples_dir());                                           \
  } while (0)

/* ---- parsers ------------------------------------------------------------------------ */

#define FLIGHT                                                                                \
  "\"carrier\":\"XA\",\"flight\":\"XA123\",\"port\":\"JFK\",\"scheduled\":\"2026-11-27T10:00:00Z\"," \
  "\"direction\":\"entry\""

static int has_problem(const fg__manifest_passenger *p, const char *code, int photo,
                       const char *text) {
  for (int k = 0; k < p->nproblems; k++)
    if (!strcmp(p->problem[k].code, code) && p->problem[k].photo == photo &&
        (!text || strstr(p->problem[k].detail, text)))
      return 1;
  return 0;
}

static void test_parse_json(void **state) {
  (void)state;
  const char *js =
      "{" FLIGHT ",\"passengers\":["
      /* 0: fine, lower-case document number, admitted until a day */
      "{\"surname\":\"M\\u00fcller\",\"given_names\":\"Ana\",\"date_of_birth\":\"1980-02-29\","
      "\"nationality\":\"deu\",\"sex\":\"f\",\"category\":\"foreign\",\"admitted_until\":\"2026-12-01\","
      "\"document\":{\"number\":\"ab12\",\"issuing_state\":\"D\"},"
      "\"photos\":[\"a.jpg\",{\"dg2\":\"x/b.dg2\"},{\"base64\":\"/9j/4A==\"},\"a/..b/c.jpg\"]},"
      /* 1: bad values everywhere */
      "{\"surname\":\"X\",\"date_of_birth\":\"2026-02-30\",\"sex\":\"Q\",\"category\":\"tourist\","
      "\"seat\":\"12A\",\"document\":{\"number\":\"AB-12\",\"issuing_state\":\"USA\"}},"
      /* 2: photo entries refused one by one */
      "{\"surname\":\"Y\",\"category\":\"citizen\",\"document\":{\"number\":\"Y1\",\"issuing_state\":\"USA\"},"
      "\"photos\":[\"../up.jpg\",\"/etc/passwd\",\"a/../../b.jpg\",{\"base64\":\"!!!\"},{\"url\":\"x\"},7,\"ok.jpg\"]},"
      /* 3: too many photos; 4: missing everything; 5: not an object */
      "{\"surname\":\"Z\",\"category\":\"citizen\",\"document\":{\"number\":\"Z1\",\"issuing_state\":\"USA\"},"
      "\"photos\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]},"
      "{},"
      "[1]"
      "]}";
  fg__manifest_doc d;
  fg_error e = {0};
  assert_int_equal(fg__manifest_parse_json(js, strlen(js), 1, &d, &e), FG_OK);
  assert_int_equal(d.n, 6);
  assert_true(d.have_flight);
  assert_string_equal(d.flight, "XA123");
  assert_int_equal(d.scheduled, 1795773600);
  const fg__manifest_passenger *p = &d.p[0];
  assert_false(p->rejected);
  assert_int_equal(p->nproblems, 0);
  assert_string_equal(p->surname, "M\xc3\xbcller");
  assert_string_equal(p->doc_number, "AB12");
  assert_string_equal(p->doc_type, "P");
  assert_string_equal(p->issuing_state, "D");
  assert_string_equal(p->nationality, "DEU");
  assert_string_equal(p->sex, "F");
  assert_int_equal(p->category, FG_CATEGORY_FOREIGN);
  assert_int_equal(p->admitted_until, 1796083200 + 86399); /* 2026-12-01T23:59:59Z */
  assert_int_equal(p->nphotos, 4);
  assert_int_equal(p->photo[1].kind, FG__PHOTO_DG2);
  assert_int_equal(p->photo[2].kind, FG__PHOTO_BASE64);
  assert_int_equal(p->photo[2].len, 4);
  assert_memory_equal(p->photo[2].data, "\xff\xd8\xff\xe0", 4);

  p = &d.p[1];
  assert_true(p->rejected);
  assert_true(has_problem(p, FG__PROBLEM_INVALID, -1, "date_of_birth: \"2026-02-30\""));
  assert_true(has_problem(p, FG__PROBLEM_INVALID, -1, "sex"));
  assert_true(has_problem(p, FG__PROBLEM_INVALID, -1, "category"));
  assert_true(has_problem(p, FG__PROBLEM_INVALID, -1, "seat"));
  assert_true(has_problem(p, FG__PROBLEM_INVALID, -1, "document.number"));

  p = &d.p[2];
  assert_false(p->rejected);
  assert_int_equal(p->nphotos, 1);
  assert_string_equal(p->photo[0].path, "ok.jpg");
  assert_int_equal(p->photo[0].pos, 6);
  for (int j = 0; j < 6; j++) assert_true(has_problem(p, FG__PROBLEM_INVALID, j, NULL));
  assert_true(has_problem(p, FG__PROBLEM_INVALID, 1, "absolute"));

  assert_true(d.p[3].rejected);
  assert_true(has_problem(&d.p[3], FG__PROBLEM_INVALID, -1, "9 entries"));
  assert_true(has_problem(&d.p[4], FG__PROBLEM_MISSING, -1, "surname"));
  assert_true(has_problem(&d.p[4], FG__PROBLEM_MISSING, -1, "document.number"));
  assert_true(has_problem(&d.p[4], FG__PROBLEM_MISSING, -1, "category"));
  assert_true(d.p[5].rejected);
  fg__manifest_doc_release(&d);

  /* Refused whole. */
  static const char *const bad[] = {
      "{not json",
      "[]",
      "{" FLIGHT "}",
      "{" FLIGHT ",\"passengers\":[]}",
      "{" FLIGHT ",\"passengers\":{}}",
      "{" FLIGHT ",\"passengers\":[{}],\"extra\":1}",
      "{\"carrier\":\"XA\",\"port\":\"JFK\",\"scheduled\":\"2026-11-27T10:00:00Z\","
      "\"direction\":\"entry\",\"passengers\":[{}]}",
      "{\"carrier\":\"XA\",\"flight\":\"XA1\",\"port\":\"JFK\",\"scheduled\":\"tomorrow\","
      "\"direction\":\"entry\",\"passengers\":[{}]}",
      "{\"carrier\":\"XA\",\"flight\":\"XA1\",\"port\":\"JFK\",\"scheduled\":\"2026-11-27T10:00:00Z\","
      "\"direction\":\"sideways\",\"passengers\":[{}]}",
      "{\"carrier\":\"XA\",\"carrier\":\"XB\",\"flight\":\"XA1\",\"port\":\"JFK\",\"scheduled\":"
      "\"2026-11-27T10:00:00Z\",\"direction\":\"entry\",\"passengers\":[{}]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = fg__manifest_parse_json(bad[i], strlen(bad[i]), 1, &d, &e);
    if (rc != FG_EFORMAT) print_error("case %zu: %d %s\n", i, rc, e.msg);
    assert_int_equal(rc, FG_EFORMAT);
    assert_int_equal(d.n, 0);
    assert_null(d.p);
  }
  /* An amend may leave the flight out, but not half of it. */
  const char *am = "{\"passengers\":[{}]}";
  assert_int_equal(fg__manifest_parse_json(am, strlen(am), 0, &d, &e), FG_OK);
  assert_false(d.have_flight);
  fg__manifest_doc_release(&d);
  const char *half = "{\"flight\":\"XA1\",\"passengers\":[{}]}";
  assert_int_equal(fg__manifest_parse_json(half, strlen(half), 0, &d, &e), FG_EFORMAT);
  assert_non_null(strstr(e.msg, "carrier"));

  /* Too many passengers. */
  size_t cap = 64 + 3 * (FG__MANIFEST_MAX_PASSENGERS + 1);
  char *big = malloc(cap);
  assert_non_null(big);
  size_t k = (size_t)snprintf(big, cap, "{\"passengers\":[");
  for (int i = 0; i <= FG__MANIFEST_MAX_PASSENGERS; i++) k += (size_t)snprintf(big + k, cap - k, "%s{}", i ? "," : "");
  k += (size_t)snprintf(big + k, cap - k, "]}");
  assert_int_equal(fg__manifest_parse_json(big, k, 0, &d, &e), FG_ELIMIT);
  free(big);
}

static void test_parse_csv(void **state) {
  (void)state;
  const char *csv =
      "\xEF\xBB\xBF" "Surname,given_names,date_of_birth,category,doc_number,issuing_state,photos\r\n"
      "Smith,\"Ann, Jr\",1990-01-02,citizen,S1,USA,a.jpg; dg2:d/b.dg2 ;base64:/9j/4A==\r\n"
      "\r\n"
      "Jones,Bob,1990-13-01,resident,J1,GBR,\r\n"
      "Short,row\r\n"
      "Quote,\"multi\nline\",,exempt,Q1,FRA,../x.jpg;ok.jpg\n";
  fg__manifest_flight fl = {"xa", "xa123", "jfk", "2026-11-27T10:00:00Z", "exit"};
  fg__manifest_doc d;
  fg_error e = {0};
  assert_int_equal(fg__manifest_parse_csv(csv, strlen(csv), &fl, 1, &d, &e), FG_OK);
  assert_int_equal(d.n, 4);
  assert_string_equal(d.carrier, "XA");
  assert_string_equal(d.direction, "exit");
  const fg__manifest_passenger *p = &d.p[0];
  assert_false(p->rejected);
  assert_int_equal(p->nproblems, 0);
  assert_string_equal(p->given_names, "Ann, Jr");
  assert_int_equal(p->line, 2);
  assert_int_equal(p->nphotos, 3);
  assert_int_equal(p->photo[0].kind, FG__PHOTO_PATH);
  assert_int_equal(p->photo[1].kind, FG__PHOTO_DG2);
  assert_string_equal(p->photo[1].path, "d/b.dg2");
  assert_int_equal(p->photo[2].kind, FG__PHOTO_BASE64);
  p = &d.p[1];
  assert_int_equal(p->index, 1);
  assert_int_equal(p->line, 4);
  assert_true(p->rejected);
  assert_true(has_problem(p, FG__PROBLEM_INVALID, -1, "date_of_birth"));
  p = &d.p[2];
  assert_int_equal(p->line, 5);
  assert_true(has_problem(p, FG__PROBLEM_INVALID, -1, "2 fields"));
  p = &d.p[3];
  assert_int_equal(p->line, 7); /* the row ends on line 7 */
  assert_true(p->rejected);     /* a name with a line break */
  assert_true(has_problem(p, FG__PROBLEM_INVALID, -1, "given_names"));
  assert_int_equal(p->nphotos, 1);
  assert_true(has_problem(p, FG__PROBLEM_INVALID, 0, ".."));
  fg__manifest_doc_release(&d);

  static const char *const bad[] = {
      "",
      "surname,category,doc_number,issuing_state\n",               /* no rows */
      "surname,name,doc_number,issuing_state\nA,B,C,D\n",          /* unknown column */
      "surname,surname,category,doc_number,issuing_state\nA,A,citizen,1,USA\n",
      "surname,doc_number,issuing_state\nA,1,USA\n",                /* no category column */
      "surname,category,doc_number,issuing_state\nA,citizen,\"1,USA\n", /* open quote */
      "surname,category,doc_number,issuing_state\nA,citi\"zen,1,USA\n",  /* stray quote */
      "\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t n = i == 7 ? 16 : strlen(bad[i]);
    int rc = fg__manifest_parse_csv(bad[i], n, &fl, 1, &d, &e);
    if (rc != FG_EFORMAT) print_error("case %zu: %d %s\n", i, rc, e.msg);
    assert_int_equal(rc, FG_EFORMAT);
    assert_int_equal(d.n, 0);
  }
  /* The flight must come from the options for an import. */
  const char *ok = "surname,category,doc_number,issuing_state\nA,citizen,1,USA\n";
  assert_int_equal(fg__manifest_parse_csv(ok, strlen(ok), NULL, 1, &d, &e), FG_EFORMAT);
  assert_int_equal(fg__manifest_parse_csv(ok, strlen(ok), NULL, 0, &d, &e), FG_OK);
  assert_true(has_problem(&d.p[0], FG__PROBLEM_MISSING, -1, "no photos"));
  fg__manifest_doc_release(&d);
}

/* ---- malformed files write nothing ------------------------------------------------------ */

static void test_malformed_refused(void **state) {
  (void)state;
  int64_t m0 = count(&Q_MANIFESTS, 0), t0 = count(&Q_TRAVELLERS, 0), a0 = count(&Q_AUDIT, 0);
  static const char *const bad[] = {
      "{not json",
      "{" FLIGHT "}",
      "{\"carrier\":\"XA\",\"passengers\":[{\"surname\":\"A\"}]}",
      "surname,nom\nA,B\n",
      "surname,category,doc_number,issuing_state\nA,citizen,\"1,USA\n",
  };
  fg_manifest_import_opts o = {0};
  o.carrier = "XA", o.flight = "XA9", o.port = "JFK", o.scheduled = "2026-11-27T10:00:00Z";
  o.direction = "entry";
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *r = (json_t *)1;
    fg_error e = {0};
    assert_int_equal(fg_border_manifest_import_buffer_j(border, &local, bad[i], strlen(bad[i]), &o, &r, &e),
                     FG_EFORMAT);
    assert_null(r);
  }
  /* A CSV without the flight options. */
  const char *csv = "surname,category,doc_number,issuing_state\nA,citizen,1,USA\n";
  json_t *r;
  fg_error e;
  assert_int_equal(fg_border_manifest_import_buffer_j(border, &local, csv, strlen(csv), NULL, &r, &e),
                   FG_EFORMAT);
  /* A file that is not there. */
  assert_int_equal(fg_border_manifest_import_j(border, &local, "/nonexistent/m.json", NULL, &r, &e),
                   FG_ENOTFOUND);
  assert_int_equal(count(&Q_MANIFESTS, 0), m0);
  assert_int_equal(count(&Q_TRAVELLERS, 0), t0);
  assert_int_equal(count(&Q_AUDIT, 0), a0);
}

/* ---- the JSON manifest of real faces ------------------------------------------------------ */

static char *b64_c;

static void make_fixtures(void) {
  static int done;
  if (done) return;
  done = 1;
  copy_file(enrol[0], "photos/a.jpg");
  size_t n, dn;
  uint8_t *jpg = tu_read(enrol[1], &n), *dg2;
  fg_error e;
  assert_int_equal(fg_dg2_build(jpg, n, NULL, &dg2, &dn, &e), FG_OK);
  write_file(man_dir, "b.dg2", dg2, dn);
  free(jpg);
  free(dg2);
  b64_c = base64_of(enrol[2]);
  copy_file(enrol[3], "g.jpg");
  copy_file(enrol[4], "h.jpg");
  copy_file(blur, "blur.jpg");
  write_gradient_png("grey.png");
}

/* The seven passengers, as JSON array members. */
static char *json_passengers(void) {
  size_t cap = strlen(b64_c) + 4096;
  char *s = malloc(cap);
  assert_non_null(s);
  snprintf(s, cap,
           "{\"surname\":\"Williams\",\"given_names\":\"Serena\",\"date_of_birth\":\"1981-09-26\","
           "\"nationality\":\"USA\",\"sex\":\"F\",\"category\":\"citizen\",\"document\":{\"type\":\"P\","
           "\"number\":\"A0001\",\"issuing_state\":\"USA\",\"expiry\":\"2030-01-01\"},"
           "\"photos\":[\"photos/a.jpg\"]},"
           "{\"surname\":\"Bush\",\"given_names\":\"Laura\",\"category\":\"foreign\","
           "\"document\":{\"number\":\"B0002\",\"issuing_state\":\"GBR\"},"
           "\"admitted_until\":\"2026-12-31\",\"photos\":[{\"dg2\":\"b.dg2\"}]},"
           "{\"surname\":\"Annan\",\"given_names\":\"Kofi\",\"category\":\"resident\","
           "\"document\":{\"number\":\"C0003\",\"issuing_state\":\"CAN\"},"
           "\"photos\":[{\"base64\":\"%s\"}]},"
           "{\"surname\":\"Grey\",\"category\":\"citizen\",\"document\":{\"number\":\"D0004\","
           "\"issuing_state\":\"USA\"},\"photos\":[\"grey.png\",{\"path\":\"missing.jpg\"}]},"
           "{\"surname\":\"Twin\",\"category\":\"citizen\",\"document\":{\"number\":\"A0001\","
           "\"issuing_state\":\"USA\"},\"photos\":[\"photos/a.jpg\"]},"
           "{\"given_names\":\"Nobody\",\"category\":\"citizen\",\"document\":{\"number\":\"F0006\","
           "\"issuing_state\":\"USA\"}},"
           "{\"surname\":\"Chirac\",\"given_names\":\"Jacques\",\"category\":\"foreign\","
           "\"document\":{\"number\":\"G0007\",\"issuing_state\":\"FRA\"},"
           "\"photos\":[\"../escape.jpg\",{\"path\":\"g.jpg\"}]},"
           "{\"surname\":\"Ashcroft\",\"given_names\":\"John\",\"category\":\"citizen\","
           "\"document\":{\"number\":\"J0009\",\"issuing_state\":\"USA\"},\"photos\":[\"blur.jpg\"]}",
           b64_c);
  return s;
}

/* The problems of a report as "index:problem:photo" lines, in order. */
static void problem_lines(const json_t *report, char *buf, size_t cap) {
  size_t k = 0, i;
  json_t *v;
  buf[0] = '\0';
  json_array_foreach(json_object_get(report, "problems"), i, v) {
    json_t *ph = json_object_get(v, "photo");
    k += (size_t)snprintf(buf + k, cap - k, "%lld:%s:%lld\n",
                          (long long)json_integer_value(json_object_get(v, "index")),
                          json_string_value(json_object_get(v, "problem")),
                          ph ? (long long)json_integer_value(ph) : -1LL);
  }
}

/* Passengers recorded by the import, and those enrolled (photos with a face:
 * a low-quality document photo is enrolled and flagged). */
#define N_RECORDED 6
static int n_ok(void) {
  return face_ok[0] + face_ok[1] + face_ok[2] + face_ok[3] +
         (blur_status == FG_FACE_OK || blur_status == FG_FACE_LOW_QUALITY);
}

/* A file of the store must not hold any of these in the clear. */
typedef struct plain_scan {
  uint8_t *photo_heads[4];
} plain_scan;

static int plain_file(void *ctx, const char *path, const uint8_t *db, size_t n) {
  plain_scan *ps = ctx;
  const struct {
    const void *p;
    size_t n;
    const char *what;
  } never[] = {{"\x89PNG\r\n\x1a\n", 8, "a PNG signature"},
               {"FGT1\x01\x01", 6, "a template header"},
               {"FGT1\x01\x02", 6, "a template header"},
               {b64_c, 32, "a base64 photo"},
               {ps->photo_heads[0], 24, "photo A"},
               {ps->photo_heads[1], 24, "photo B (DG2)"},
               {ps->photo_heads[2], 24, "photo C"},
               {ps->photo_heads[3], 24, "photo G"}};
  for (size_t k = 0; k < sizeof never / sizeof never[0]; k++)
    if (contains(db, n, never[k].p, never[k].n)) {
      print_error("%s in the clear in %s\n", never[k].what, path);
      fail();
    }
  return 0;
}

static void progress(void *ctx, size_t done, size_t total) {
  size_t *calls = ctx;
  assert_true(done <= total);
  (*calls)++;
}

static void test_import_json(void **state) {
  (void)state;
  NEED_FACES();
  if (have_lfw) /* these LFW photos are all good document photos */
    for (int i = 0; i < NFACE; i++) assert_true(face_good[i]);
  make_fixtures();
  char *pax = json_passengers();
  size_t cap = strlen(pax) + 512;
  char *js = malloc(cap);
  assert_non_null(js);
  snprintf(js, cap, "{" FLIGHT ",\"passengers\":[%s]}", pax);
  write_file(man_dir, "flight.json", js, strlen(js));
  free(pax);
  free(js);

  char path[600];
  snprintf(path, sizeof path, "%s/flight.json", man_dir);
  size_t calls = 0;
  fg_manifest_import_opts o = {0};
  o.progress = progress;
  o.progress_ctx = &calls;
  fg_error e = {0};
  int rc = fg_border_manifest_import_j(border, &local, path, &o, &json_report, &e);
  if (rc) print_error("%s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  assert_int_equal(calls, 8);
  json_t *r = json_report;
  json_id = json_integer_value(json_object_get(r, "manifest_id"));
  assert_true(json_id > 0);
  assert_string_equal(json_string_value(json_object_get(r, "flight")), "XA123");
  assert_string_equal(json_string_value(json_object_get(r, "scheduled")), "2026-11-27T10:00:00Z");
  assert_string_equal(json_string_value(json_object_get(r, "direction")), "entry");
  assert_int_equal(json_integer_value(json_object_get(r, "revision")), 1);
  assert_int_equal(json_integer_value(json_object_get(r, "passengers")), N_RECORDED);
  assert_int_equal(json_integer_value(json_object_get(r, "enrolled_passengers")), n_ok());
  assert_int_equal(json_integer_value(json_object_get(r, "templates")), n_ok());

  char lines[2048];
  problem_lines(r, lines, sizeof lines);
  assert_non_null(strstr(lines, "3:no_face:0\n"));
  assert_non_null(strstr(lines, "3:unreadable_photo:1\n"));
  assert_non_null(strstr(lines, "4:duplicate_document:-1\n"));
  assert_non_null(strstr(lines, "5:missing_field:-1\n"));
  assert_non_null(strstr(lines, "6:invalid_field:0\n"));
  if (have_lfw) assert_non_null(strstr(lines, "7:low_quality:0\n"));
  assert_int_equal(json_array_size(json_object_get(r, "problems")),
                   5 + (4 - (face_good[0] + face_good[1] + face_good[2] + face_good[3])) +
                       (blur_status != FG_FACE_OK));
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(r, "problems"), i, v) {
    long long idx = json_integer_value(json_object_get(v, "index"));
    assert_int_equal(json_is_true(json_object_get(v, "recorded")), idx != 4 && idx != 5);
    if (idx == 4) assert_string_equal(json_string_value(json_object_get(v, "document")), "A0001");
  }

  /* The rows. */
  assert_int_equal(count(&Q_TRAVELLERS, 0), N_RECORDED);
  assert_int_equal(count(&Q_PASSENGERS, json_id), N_RECORDED);
  assert_int_equal(count(&Q_REVISION, json_id), 1);
  fg_store *st;
  assert_int_equal(fg_store_open(T.target, FG_STORE_READONLY, &st, &e), FG_OK);
  photo_rows pr = {0};
  fg_val id = FG_V_INT(json_id);
  assert_int_equal(fg_store_exec(st, &Q_PHOTOS, &id, 1, photo_row, &pr, &e), FG_OK);
  assert_int_equal(pr.n, n_ok());
  assert_int_equal(pr.sealed, n_ok());
  text_row tr = {0};
  /* Document numbers are sealed: a passenger's row is found by the number's
   * blind index, as the library finds it. */
  char kpath[160];
  snprintf(kpath, sizeof kpath, "%s/facegate.key", T.dir);
  fg_keyring *kr;
  assert_int_equal(fg_keyring_open(kpath, 0, &kr, &e), FG_OK);
  uint8_t d4[32], a1[32];
  fg_blind_index(kr, "document-number", "D0004", 5, d4);
  fg_blind_index(kr, "document-number", "A0001", 5, a1);
  fg_keyring_destroy(kr);
  fg_val k[2] = {FG_V_INT(json_id), FG_V_BLOB(d4, 32)};
  assert_int_equal(fg_store_exec(st, &Q_PROBLEMS, k, 2, text_row_fn, &tr, &e), FG_OK);
  assert_int_equal(tr.found, 1);
  assert_string_equal(tr.a, "[\"no_face\",\"unreadable_photo\"]");
  assert_int_equal(tr.i, 0);
  memset(&tr, 0, sizeof tr);
  k[1] = FG_V_BLOB(a1, 32);
  assert_int_equal(fg_store_exec(st, &Q_PROBLEMS, k, 2, text_row_fn, &tr, &e), FG_OK);
  assert_int_equal(tr.found, 1);
  assert_int_equal(tr.i, face_ok[0]);
  memset(&tr, 0, sizeof tr);
  assert_int_equal(fg_store_exec(st, &Q_AUDIT_MANIFEST, NULL, 0, text_row_fn, &tr, &e), FG_OK);
  assert_int_equal(tr.found, 1);
  assert_string_equal(tr.a, "manifest.import");
  assert_non_null(strstr(tr.b, "\"templates\""));
  assert_null(strstr(tr.b, "Williams"));
  assert_null(strstr(tr.b, "A0001"));
  fg_store_close(st);

  /* Nothing in the files holding the store is a photo or a raw template. */
  size_t nb;
  plain_scan ps = {0};
  const char *srcs[4] = {enrol[0], NULL, enrol[2], enrol[3]};
  char dg2p[600];
  snprintf(dg2p, sizeof dg2p, "%s/b.dg2", man_dir);
  srcs[1] = dg2p;
  for (int j = 0; j < 4; j++) ps.photo_heads[j] = tu_read(srcs[j], &nb);
  assert_true(ts_disk_files(&T, plain_file, &ps) > 0);
  for (int j = 0; j < 4; j++) free(ps.photo_heads[j]);

  /* The same flight again is a conflict, not a second manifest. */
  json_t *again = NULL;
  assert_int_equal(fg_border_manifest_import_j(border, &local, path, NULL, &again, &e), FG_ECONFLICT);
  assert_null(again);
}

/* ---- amend ------------------------------------------------------------------------------- */

static void test_amend(void **state) {
  (void)state;
  NEED_FACES();
  if (!json_id) TU_SKIP("the JSON import did not run");
  const char *js =
      "{\"passengers\":["
      "{\"surname\":\"Fox\",\"given_names\":\"Vicente\",\"category\":\"exempt\","
      "\"document\":{\"number\":\"H0008\",\"issuing_state\":\"MEX\"},\"photos\":[\"h.jpg\"]},"
      "{\"surname\":\"Williams\",\"category\":\"citizen\",\"document\":{\"number\":\"A0001\","
      "\"issuing_state\":\"USA\"},\"photos\":[\"photos/a.jpg\"]}]}";
  fg_manifest_import_opts o = {0};
  o.amend = json_id;
  o.base_dir = man_dir;
  json_t *r = NULL;
  fg_error e = {0};
  int rc = fg_border_manifest_import_buffer_j(border, &local, js, strlen(js), &o, &r, &e);
  if (rc) print_error("%s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  assert_int_equal(json_integer_value(json_object_get(r, "manifest_id")), json_id);
  assert_string_equal(json_string_value(json_object_get(r, "action")), "amend");
  assert_int_equal(json_integer_value(json_object_get(r, "revision")), 2);
  assert_int_equal(json_integer_value(json_object_get(r, "passengers")), 1);
  assert_int_equal(json_integer_value(json_object_get(r, "templates")), face_ok[4]);
  char lines[512];
  problem_lines(r, lines, sizeof lines);
  assert_non_null(strstr(lines, "1:duplicate_document:-1\n"));
  json_decref(r);
  assert_int_equal(count(&Q_REVISION, json_id), 2);
  assert_int_equal(count(&Q_PASSENGERS, json_id), N_RECORDED + 1);
  assert_int_equal(count(&Q_TRAVELLERS, 0), N_RECORDED + 1);

  /* An amend naming another flight is refused. */
  const char *other = "{\"carrier\":\"XA\",\"flight\":\"XA999\",\"port\":\"JFK\",\"scheduled\":"
                      "\"2026-11-27T10:00:00Z\",\"direction\":\"entry\",\"passengers\":[{}]}";
  assert_int_equal(fg_border_manifest_import_buffer_j(border, &local, other, strlen(other), &o, &r, &e),
                   FG_ECONFLICT);
  o.amend = 9999;
  assert_int_equal(fg_border_manifest_import_buffer_j(border, &local, js, strlen(js), &o, &r, &e),
                   FG_ENOTFOUND);
  assert_int_equal(count(&Q_REVISION, json_id), 2);
}

/* ---- the flight gallery --------------------------------------------------------------------- */

static int64_t traveller_of(const json_t *show, const char *doc) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(show, "passengers"), i, v) {
    const char *n = json_string_value(json_object_get(json_object_get(v, "document"), "number"));
    if (n && !strcmp(n, doc)) return json_integer_value(json_object_get(v, "traveller_id"));
  }
  return 0;
}

static void test_flight_gallery(void **state) {
  (void)state;
  NEED_FACES();
  if (!json_id) TU_SKIP("the JSON import did not run");
  json_t *show;
  fg_error e = {0};
  assert_int_equal(fg_border_manifest_show_j(border, &local, json_id, &show, &e), FG_OK);
  const fg_gallery *g;
  int rc = fg__flight_gallery(border, json_id, &g, NULL, &e);
  if (rc) print_error("%s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  int enrolled = n_ok() + face_ok[4];
  assert_non_null(g);
  fg_gallery_info info;
  fg_gallery_get_info(g, &info);
  assert_int_equal(info.n_subjects, enrolled);
  assert_int_equal(info.n_templates, enrolled);
  assert_int_equal(info.encoding, FG_ENCODING_FP32);

  fg_face_engine *fe;
  assert_int_equal(fg__border_face(border, &fe, &e), FG_OK);
  fg_face_result *res = malloc(sizeof *res);
  assert_non_null(res);
  for (int i = 0; i < NFACE; i++) {
    if (!face_ok[i]) continue;
    assert_int_equal(fg_face_process_file(fe, probe[i], NULL, res, &e), FG_OK);
    if (res->status == FG_FACE_NO_FACE) continue;
    fg_match m[3];
    size_t n = 0;
    assert_int_equal(fg_gallery_search(g, res->embedding, 1, 0, 3, NULL, m, &n, &e), FG_OK);
    assert_true(n >= 1);
    char want[24];
    snprintf(want, sizeof want, "%lld", (long long)traveller_of(show, DOCS[i]));
    const char *got = fg_gallery_subject_id(g, m[0].subject, NULL);
    if (strcmp(got, want)) print_error("%s: ranked %s first, not %s\n", PEOPLE[i], got, want);
    assert_string_equal(got, want);
  }
  free(res);
  json_decref(show);

  /* Cached while the revision holds. */
  const fg_gallery *g2;
  assert_int_equal(fg__flight_gallery(border, json_id, &g2, NULL, &e), FG_OK);
  assert_ptr_equal(g, g2);
  assert_int_equal(fg__flight_gallery(border, 424242, &g2, NULL, &e), FG_ENOTFOUND);
  fg__gallery_cache_reset(border);
  assert_int_equal(fg__flight_gallery(border, json_id, &g2, NULL, &e), FG_OK);
  fg_gallery_get_info(g2, &info);
  assert_int_equal(info.n_subjects, enrolled);
}

/* ---- CSV ---------------------------------------------------------------------------------- */

static void test_import_csv(void **state) {
  (void)state;
  NEED_FACES();
  if (!json_report) TU_SKIP("the JSON import did not run");
  size_t cap = strlen(b64_c) + 4096;
  char *csv = malloc(cap);
  assert_non_null(csv);
  snprintf(csv, cap,
           "surname,given_names,date_of_birth,nationality,sex,category,doc_type,doc_number,"
           "issuing_state,doc_expiry,admitted_until,photos\n"
           "Williams,Serena,1981-09-26,USA,F,citizen,P,A0001,USA,2030-01-01,,photos/a.jpg\n"
           "Bush,Laura,,,,foreign,,B0002,GBR,,2026-12-31,dg2:b.dg2\n"
           "Annan,Kofi,,,,resident,,C0003,CAN,,,base64:%s\n"
           "Grey,,,,,citizen,,D0004,USA,,,grey.png;path:missing.jpg\n"
           "Twin,,,,,citizen,,A0001,USA,,,photos/a.jpg\n"
           ",Nobody,,,,citizen,,F0006,USA,,,\n"
           "Chirac,Jacques,,,,foreign,,G0007,FRA,,,../escape.jpg;g.jpg\n"
           "Ashcroft,John,,,,citizen,,J0009,USA,,,blur.jpg\n",
           b64_c);
  write_file(man_dir, "flight.csv", csv, strlen(csv));
  free(csv);
  char path[600];
  snprintf(path, sizeof path, "%s/flight.csv", man_dir);
  fg_manifest_import_opts o = {0};
  o.carrier = "XA", o.flight = "XA124", o.port = "JFK", o.scheduled = "2026-11-28T10:00:00Z";
  o.direction = "exit";
  json_t *r = NULL;
  fg_error e = {0};
  int rc = fg_border_manifest_import_j(border, &local, path, &o, &r, &e);
  if (rc) print_error("%s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  csv_id = json_integer_value(json_object_get(r, "manifest_id"));
  assert_true(csv_id > json_id);
  assert_string_equal(json_string_value(json_object_get(r, "direction")), "exit");
  static const char *const same[] = {"passengers", "enrolled_passengers", "templates", "revision"};
  for (int i = 0; i < 4; i++)
    assert_int_equal(json_integer_value(json_object_get(r, same[i])),
                     json_integer_value(json_object_get(json_report, same[i])));
  char a[2048], b[2048];
  problem_lines(r, a, sizeof a);
  problem_lines(json_report, b, sizeof b);
  assert_string_equal(a, b);
  /* CSV problems name their line: passenger 5 (no surname) is on line 7. */
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(r, "problems"), i, v)
    if (json_integer_value(json_object_get(v, "index")) == 5)
      assert_int_equal(json_integer_value(json_object_get(v, "line")), 7);
  json_decref(r);
  /* Same documents: the same travellers. */
  assert_int_equal(count(&Q_TRAVELLERS, 0), N_RECORDED + 1);
  assert_int_equal(count(&Q_PASSENGERS, csv_id), N_RECORDED);
}

/* ---- the watchlist gallery ------------------------------------------------------------------ */

static void test_watchlist_gallery(void **state) {
  (void)state;
  if (!have_models) TU_SKIP("models not found in %s (run scripts/setup)", tu_models_dir());
  fg_face_engine *fe;
  fg_error e = {0};
  assert_int_equal(fg__border_face(border, &fe, &e), FG_OK);
  int dim = fg_face_engine_dim(fe);
  float *emb = calloc((size_t)dim, sizeof *emb);
  assert_non_null(emb);
  emb[0] = 1;
  const fg_gallery *g;
  assert_int_equal(fg__watchlist_gallery(border, &g, NULL, &e), FG_OK);
  assert_null(g);
  int64_t soon, later;
  int rc = fg_border_watchlist_add_embeddings(border, &local, "Expiring", "test", clock_now + 3600,
                                              emb, 1, dim, &soon, &e);
  if (rc) print_error("%s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  emb[0] = 0;
  emb[1] = 1;
  assert_int_equal(fg_border_watchlist_add_embeddings(border, &local, "Lasting", "test", 0, emb, 1,
                                                      dim, &later, &e),
                   FG_OK);
  assert_int_equal(fg__watchlist_gallery(border, &g, NULL, &e), FG_OK);
  assert_non_null(g);
  fg_gallery_info info;
  fg_gallery_get_info(g, &info);
  assert_int_equal(info.n_subjects, 2);
  assert_int_equal(info.encoding, FG_ENCODING_FP16);
  char id[24];
  uint32_t idx;
  snprintf(id, sizeof id, "%lld", (long long)soon);
  assert_int_equal(fg_gallery_find_subject(g, id, &idx), FG_OK);
  const fg_gallery *g2;
  assert_int_equal(fg__watchlist_gallery(border, &g2, NULL, &e), FG_OK);
  assert_ptr_equal(g, g2);
  /* The first entry expires: rebuilt without it, though nothing was written. */
  clock_now += 3601;
  assert_int_equal(fg__watchlist_gallery(border, &g, NULL, &e), FG_OK);
  assert_non_null(g);
  fg_gallery_get_info(g, &info);
  assert_int_equal(info.n_subjects, 1);
  assert_int_equal(fg_gallery_find_subject(g, id, &idx), FG_ENOTFOUND);
  snprintf(id, sizeof id, "%lld", (long long)later);
  assert_int_equal(fg_gallery_find_subject(g, id, &idx), FG_OK);
  /* Removing the other: the revision changes. */
  assert_int_equal(fg_border_watchlist_remove(border, &local, later, &e), FG_OK);
  assert_int_equal(fg__watchlist_gallery(border, &g, NULL, &e), FG_OK);
  assert_null(g);
  free(emb);
}

/* ---- list, show, close ------------------------------------------------------------------------- */

static void test_list_show_close(void **state) {
  (void)state;
  NEED_FACES();
  if (!json_id || !csv_id) TU_SKIP("the imports did not run");
  json_t *list;
  fg_error e = {0};
  assert_int_equal(fg_border_manifest_list_j(border, &local, &list, &e), FG_OK);
  assert_int_equal(json_array_size(list), 2);
  json_t *newest = json_array_get(list, 0), *older = json_array_get(list, 1);
  assert_int_equal(json_integer_value(json_object_get(newest, "id")), csv_id);
  assert_int_equal(json_integer_value(json_object_get(older, "id")), json_id);
  assert_int_equal(json_integer_value(json_object_get(older, "passengers")), N_RECORDED + 1);
  assert_int_equal(json_integer_value(json_object_get(older, "enrolled")), n_ok() + face_ok[4]);
  assert_int_equal(json_integer_value(json_object_get(older, "crossed")), 0);
  assert_int_equal(json_integer_value(json_object_get(older, "referred")), 0);
  assert_string_equal(json_string_value(json_object_get(older, "status")), "open");
  json_decref(list);

  json_t *show;
  assert_int_equal(fg_border_manifest_show_j(border, &local, json_id, &show, &e), FG_OK);
  assert_int_equal(json_array_size(json_object_get(show, "passengers")), N_RECORDED + 1);
  size_t i;
  json_t *v;
  int seen_grey = 0;
  json_array_foreach(json_object_get(show, "passengers"), i, v) {
    assert_null(json_object_get(v, "photos"));
    if (strcmp(json_string_value(json_object_get(v, "surname")), "Grey") != 0) continue;
    seen_grey = 1;
    assert_int_equal(json_integer_value(json_object_get(v, "enrolled")), 0);
    json_t *pr = json_object_get(v, "problems");
    assert_int_equal(json_array_size(pr), 2);
    assert_string_equal(json_string_value(json_array_get(pr, 0)), "no_face");
    assert_string_equal(json_string_value(json_object_get(v, "status")), "expected");
  }
  assert_true(seen_grey);
  json_decref(show);
  assert_int_equal(fg_border_manifest_show_j(border, &local, 9999, &show, &e), FG_ENOTFOUND);

  /* Close; then closing or amending again conflicts. */
  assert_int_equal(fg_border_manifest_close(border, &local, json_id, &e), FG_OK);
  assert_int_equal(fg_border_manifest_close(border, &local, json_id, &e), FG_ECONFLICT);
  assert_int_equal(fg_border_manifest_close(border, &local, 9999, &e), FG_ENOTFOUND);
  const char *late = "{\"passengers\":[{\"surname\":\"Late\",\"category\":\"citizen\","
                     "\"document\":{\"number\":\"L1\",\"issuing_state\":\"USA\"}}]}";
  fg_manifest_import_opts o = {0};
  o.amend = json_id;
  json_t *r = NULL;
  int64_t t0 = count(&Q_TRAVELLERS, 0);
  assert_int_equal(fg_border_manifest_import_buffer_j(border, &local, late, strlen(late), &o, &r, &e),
                   FG_ECONFLICT);
  assert_null(r);
  assert_int_equal(count(&Q_TRAVELLERS, 0), t0);
  assert_int_equal(fg_border_manifest_show_j(border, &local, json_id, &show, &e), FG_OK);
  assert_string_equal(json_string_value(json_object_get(show, "status")), "closed");
  assert_true(json_is_string(json_object_get(show, "closed_at")));
  json_decref(show);
  /* A photo-less amend of the open CSV manifest needs no face engine work. */
  o.amend = csv_id;
  assert_int_equal(fg_border_manifest_import_buffer_j(border, &local, late, strlen(late), &o, &r, &e),
                   FG_OK);
  assert_int_equal(json_integer_value(json_object_get(r, "passengers")), 1);
  assert_int_equal(json_integer_value(json_object_get(r, "enrolled_passengers")), 0);
  json_decref(r);
}

/* With inline_photos_only (the service), a photo given as a path is refused
 * and never read, even one that exists. */
static void test_inline_photos_only(void **state) {
  (void)state;
  const char *js = "{\"carrier\":\"XB\",\"flight\":\"XB9\",\"port\":\"JFK\","
                   "\"scheduled\":\"2026-11-28T10:00:00Z\",\"direction\":\"entry\","
                   "\"passengers\":[{\"surname\":\"Path\",\"category\":\"citizen\","
                   "\"document\":{\"number\":\"Z0001\",\"issuing_state\":\"USA\"},"
                   "\"photos\":[\"sample1.jpg\",{\"dg2\":\"x.dg2\"}]}]}";
  fg_manifest_import_opts o = {.format = FG_MANIFEST_JSON, .base_dir = tu_samples_dir(),
                               .inline_photos_only = 1};
  json_t *r = NULL;
  fg_error e = {0};
  assert_int_equal(fg_border_manifest_import_buffer_j(border, &local, js, strlen(js), &o, &r, &e),
                   FG_OK);
  assert_int_equal(json_integer_value(json_object_get(r, "enrolled_passengers")), 0);
  json_t *pr = json_object_get(r, "problems");
  assert_int_equal(json_array_size(pr), 2);
  for (size_t i = 0; i < 2; i++)
    assert_string_equal(json_string_value(json_object_get(json_array_get(pr, i), "problem")),
                        "invalid_field");
  json_decref(r);
}

/* Times in manifests and on the command line: real dates only, digits only. */
static void test_time_parse(void **state) {
  (void)state;
  int64_t t;
  assert_int_equal(fg_time_parse("2026-11-27T10:00:00Z", &t), FG_OK);
  assert_int_equal(t, 1795773600);
  assert_int_equal(fg_time_parse("2026-11-27", &t), FG_OK);
  assert_int_equal(t, 1795737600);
  char buf[32];
  fg_time_format(1795773600, buf);
  assert_string_equal(buf, "2026-11-27T10:00:00Z");
  static const char *const bad[] = {"2026-02-31", "2026-13-01", "2026-01-02T10:-5Z",
                                    "2026-01-02T+1:05Z", "2026-1-02", "2026-01-02T10:05+02:00",
                                    "", "tomorrow", "2026-01-02T25:00Z"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (fg_time_parse(bad[i], &t) == FG_OK) print_error("accepted '%s'\n", bad[i]);
    assert_int_equal(fg_time_parse(bad[i], &t), FG_EINVAL);
  }
}

/* Text that JSON cannot carry never reaches a record: refused at the door. */
static void test_text_refused(void **state) {
  (void)state;
  fg_error e = {0};
  json_t *out = NULL;
  assert_int_equal(fg_border_report_j(border, &local, "2026-11-27", "JF\xff", &out, &e), FG_EINVAL);
  assert_null(out);
  fg_encounter_request rq = {.manifest_id = 1, .gate = "A\x01", .opt_out = 1, .document = "X1"};
  fg_encounter_result r;
  assert_int_equal(fg_border_encounter(border, &local, &rq, &r, &e), FG_EINVAL);
  fg_actor bad = {"officer\xc3", "officer", NULL};
  assert_int_equal(fg_border_audit_list_j(border, &bad, 0, 1, &out, &e), FG_EINVAL);
  assert_non_null(strstr(e.msg, "actor name"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_json),      cmocka_unit_test(test_parse_csv),
      cmocka_unit_test(test_malformed_refused), cmocka_unit_test(test_import_json),
      cmocka_unit_test(test_amend),           cmocka_unit_test(test_flight_gallery),
      cmocka_unit_test(test_import_csv),      cmocka_unit_test(test_watchlist_gallery),
      cmocka_unit_test(test_list_show_close), cmocka_unit_test(test_inline_photos_only),
      cmocka_unit_test(test_time_parse), cmocka_unit_test(test_text_refused),
  };
  int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
  free(b64_c);
  return rc;
}
