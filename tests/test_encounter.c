/*
 * Gate encounters, the 1:1 document check and the watchlist
 * (fg_border_encounter, fg_border_verify, fg_border_watchlist_*) on real
 * faces: a small flight of LFW people staged through a manifest in a fresh
 * data directory, then captures with other photos of them.
 *
 * What is checked, in order (the tests share one store and run in sequence):
 * every traveller's second photo is MATCHED and records one crossing; a
 * person not on the flight is NO_MATCH with a referral naming the nearest
 * traveller; a traveller presenting someone else's document is NO_MATCH; a
 * second capture of a crossed traveller is an already_crossed referral with
 * no second crossing; noise is a failure to acquire whose tries count up to
 * a referral at policy.fta_max_tries; a citizen's opt-out records OPT_OUT and
 * no image (the image pointer is poisoned: it must not be read); a foreign
 * national's opt-out is refused with nothing recorded; a watchlisted
 * passenger is referred and not crossed, and removing the entry deletes its
 * templates; a policy with a high liveness minimum gives LIVENESS_SUSPECT;
 * 1:1 verify of the same and of different people; a closed manifest refuses
 * encounters. The store is the test's (tests/teststore.h): SQLite, or a new
 * PostgreSQL database when FACEGATE_TEST_STORE=postgresql.
 *
 * The flight's photos come from LFW (FACEGATE_LFW, default ../shared/data/lfw)
 * when it is there; without it, from the sample-photo fixture
 * (tests/facefixture.h: nine faces of the photos scripts/setup installs,
 * four views each, in LFW's layout), so that the whole decision table runs
 * on a machine without LFW (CI). Only without the sample photos too are
 * the flight's tests skipped, with the reason.
 */
#include "teststore.h"
#include "facefixture.h"

#include <ctype.h>
#include <math.h>
#include <sys/stat.h>
#include <time.h>

#include "border/border_internal.h"
#include "cli/border_json.h"
#include "facegate/border.h"
#include "facegate/store.h"

#define NPAX 8
/* Passengers (enrolled with _0001, captured with _0002; _0003 for the
 * watchlist), and one person who is not on the flight. The first passenger's
 * document also carries _0004 (two photos: enrolled as their centroid). */
static const char *const LFW_PEOPLE[NPAX + 1] = {
    "Colin_Powell",   "Tony_Blair",   "Donald_Rumsfeld",   "Gerhard_Schroeder",
    "Ariel_Sharon",   "Hugo_Chavez",  "Junichiro_Koizumi", "Jean_Chretien",
    "Vladimir_Putin"};
static const char *const CATEGORY[NPAX] = {"citizen", "foreign", "resident", "foreign",
                                           "citizen", "exempt",  "foreign",  "citizen"};
/* The people in use: LFW's, or the fixture's (FF_PERSON); the last one,
 * STRANGER, is not on the flight. */
static const char *PEOPLE[NPAX + 1];
#define STRANGER PEOPLE[NPAX]
/* Roles in the scenario (indices into PEOPLE). */
#define WATCHED 7   /* put on the watchlist before any capture */
#define OPT_CIT 4   /* citizen who opts out */
#define OPT_FOR 6   /* foreign national who tries to opt out */
#define LIVE 5      /* captured under the liveness policy */

static ts_store T; /* T.dir is the data directory */
static char lfw_root[4096];
static int have_flight, have_models;
static const char *flight_source = "LFW";
static int64_t clock_now;
static fg_border *border;
static int64_t manifest_id;
static int64_t traveller[NPAX];
static fg_actor gate = {"gate-b12", "gate", "boarding"};
static fg_actor officer = {"officer-7", "supervisor", NULL};

static int64_t test_clock(void *ctx) {
  (void)ctx;
  return clock_now;
}

static void lfw_photo(char *buf, size_t n, const char *person, int k) {
  snprintf(buf, n, "%s/lfw-deepfunneled/%s/%s_%04d.jpg", lfw_root, person, person, k);
}

static uint8_t *read_photo(const char *person, int k, size_t *len) {
  char p[4400];
  lfw_photo(p, sizeof p, person, k);
  return tu_read(p, len);
}

/* The watchlist entry's name for a person ("Jean Chretien"), and its last
 * word in lower case ("chretien"), which the audit log must never hold. */
static void watch_name(char *name, size_t n, char *last, size_t nlast, const char *person) {
  snprintf(name, n, "%s", person);
  for (char *c = name; *c; c++)
    if (*c == '_') *c = ' ';
  const char *w = strrchr(name, ' ');
  snprintf(last, nlast, "%s", w ? w + 1 : name);
  for (char *c = last; *c; c++) *c = (char)tolower((unsigned char)*c);
}

/* ---- the database, read directly for assertions ----------------------- */

/* The first column of sql's first row, every `?` bound to arg (teststore.h). */
static int64_t sql_int(const char *sql, int64_t arg) { return ts_int(T.target, sql, arg); }

static int64_t count_encounters(void) { return sql_int("SELECT COUNT(*) FROM encounters", 0); }
static int64_t count_crossings(int64_t t) {
  return sql_int("SELECT COUNT(*) FROM crossings WHERE traveller_id = ?", t);
}

/* ---- images made here ------------------------------------------------------ */

/* A 256x256 PGM of uniform noise (no face). */
static uint8_t *noise_pgm(size_t *len, unsigned seed) {
  const char *hdr = "P5\n256 256\n255\n";
  size_t h = strlen(hdr);
  uint8_t *p = malloc(h + 256 * 256);
  assert_non_null(p);
  memcpy(p, hdr, h);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < 256 * 256; i++) {
    x = x * 1664525u + 1013904223u;
    p[h + i] = (uint8_t)(x >> 24);
  }
  *len = h + 256 * 256;
  return p;
}

/* ---- set-up: data directory, border, manifest ----------------------------- */

static int open_border(const char *policy_file, fg_border **out) {
  fg_border_options o;
  fg_border_options_init(&o);
  o.data_dir = T.dir;
  o.store = ts_store_opt(&T);
  o.store_flags = FG_STORE_NOSYNC;
  o.policy_file = policy_file;
  o.face.models_dir = tu_models_dir();
  o.clock = test_clock;
  fg_error e = {0};
  int rc = fg_border_open(&o, out, &e);
  if (rc != FG_OK) fprintf(stderr, "fg_border_open: %s\n", e.msg);
  return rc;
}

static int stage_manifest(void) {
  json_t *pax = json_array();
  for (int i = 0; i < NPAX; i++) {
    char photo[512], num[16];
    /* relative to base_dir (the manifest importer refuses absolute paths) */
    snprintf(photo, sizeof photo, "lfw-deepfunneled/%s/%s_0001.jpg", PEOPLE[i], PEOPLE[i]);
    snprintf(num, sizeof num, "X%07d", i + 1);
    json_array_append_new(
        pax, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:[s]}", "surname",
                       PEOPLE[i], "given_names", "T", "date_of_birth", "1950-01-01",
                       "nationality", strcmp(CATEGORY[i], "citizen") ? "FRA" : "XXA", "sex", "M",
                       "category", CATEGORY[i], "document", "type", "P", "number", num,
                       "issuing_state", strcmp(CATEGORY[i], "citizen") ? "FRA" : "XXA", "expiry",
                       "2031-01-01", "photos", photo));
    if (i == 0) {
      snprintf(photo, sizeof photo, "lfw-deepfunneled/%s/%s_0004.jpg", PEOPLE[i], PEOPLE[i]);
      json_array_append_new(json_object_get(json_array_get(pax, (size_t)i), "photos"), json_string(photo));
    }
  }
  json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "carrier", "FG", "flight", "FG101", "port",
                        "XXX", "scheduled", "2026-11-27T10:00:00Z", "direction", "entry",
                        "passengers", pax);
  char *text = json_dumps(m, 0);
  json_decref(m);
  fg_manifest_import_opts io;
  memset(&io, 0, sizeof io);
  io.base_dir = lfw_root;
  json_t *report = NULL;
  fg_error e = {0};
  int rc = fg_border_manifest_import_buffer_j(border, &officer, text, strlen(text), &io, &report,
                                            &e);
  free(text);
  if (rc != FG_OK) {
    fprintf(stderr, "manifest import: %s\n", e.msg);
    return rc;
  }
  json_t *id = json_object_get(report, "manifest_id");
  if (!id) id = json_object_get(report, "id");
  manifest_id = json_integer_value(id);
  json_t *problems = json_object_get(report, "problems");
  if (json_array_size(problems) > 0) {
    char *s = json_dumps(problems, JSON_COMPACT);
    fprintf(stderr, "manifest problems: %s\n", s);
    free(s);
  }
  json_decref(report);
  if (manifest_id <= 0) manifest_id = sql_int("SELECT MAX(id) FROM manifests", 0);
  for (int i = 0; i < NPAX; i++) { /* names are sealed: found through the library */
    fg_actor who = {"test", "local", NULL};
    fg_traveller_query q = {.surname = PEOPLE[i]};
    json_t *found = NULL;
    if (fg_border_traveller_find_j(border, &who, &q, &found, &e) != FG_OK) return FG_EIO;
    traveller[i] = json_integer_value(json_object_get(json_array_get(found, 0), "id"));
    json_decref(found);
  }
  return FG_OK;
}

static int group_setup(void **state) {
  (void)state;
  struct tm tm = {.tm_year = 126, .tm_mon = 10, .tm_mday = 27, .tm_hour = 9};
  clock_now = (int64_t)timegm(&tm);
  ts_make(&T, "encounter");
  char models[1024];
  tu_path(models, sizeof models, tu_models_dir(), "fr_feature.onnx");
  have_models = tu_exists(models);
  for (int i = 0; i <= NPAX; i++) PEOPLE[i] = LFW_PEOPLE[i];
  char pairs[4200];
  if (realpath(tu_lfw_dir(), lfw_root)) {
    lfw_photo(pairs, sizeof pairs, STRANGER, 1);
    have_flight = tu_exists(pairs);
  }
  if (!have_models) {
    fprintf(stderr, "models not found in %s: encounter tests will be skipped\n", tu_models_dir());
    return 0;
  }
  if (open_border(NULL, &border) != FG_OK) return -1;
  if (strcmp(fg_store_backend(border->store), ts_backend()) != 0) {
    fprintf(stderr, "the border's store is %s, not %s\n", fg_store_backend(border->store), ts_backend());
    return -1;
  }
  if (!have_flight) {
    /* The fixture, in the test's data directory. */
    fg_error e = {0};
    snprintf(lfw_root, sizeof lfw_root, "%s/faces", T.dir);
    if (mkdir(lfw_root, 0700) != 0 || ff_build(tu_samples_dir(), lfw_root, &e) != FG_OK) {
      fprintf(stderr, "LFW not found at %s and no fixture (%s): the flight scenario will be skipped\n",
              tu_lfw_dir(), e.msg[0] ? e.msg : strerror(errno));
      return 0;
    }
    _Static_assert(FF_PEOPLE == NPAX + 1, "the fixture has the flight's people and a stranger");
    for (int i = 0; i <= NPAX; i++) PEOPLE[i] = FF_PERSON[i].name;
    have_flight = 1;
    flight_source = "the sample-photo fixture";
    fprintf(stderr, "LFW not found at %s: the flight is the sample-photo fixture (tests/facefixture.h)\n",
            tu_lfw_dir());
  }
  return stage_manifest() == FG_OK ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  fg_border_close(border);
  ts_clean(&T);
  return 0;
}

#define NEED_FLIGHT()                                                                        \
  do {                                                                                       \
    if (!have_models) TU_SKIP("models not found in %s (run scripts/setup)", tu_models_dir()); \
    if (!have_flight) TU_SKIP("neither LFW (%s) nor the sample photos", tu_lfw_dir());    \
  } while (0)

static int capture(const char *gate_name, const char *person, int k, const char *document,
                   fg_encounter_result *r) {
  size_t n;
  uint8_t *img = read_photo(person, k, &n);
  fg_encounter_request rq = {.manifest_id = manifest_id, .gate = gate_name, .image = img,
                             .image_len = n, .document = document};
  fg_error e = {0};
  int rc = fg_border_encounter(border, &gate, &rq, r, &e);
  if (rc != FG_OK) fprintf(stderr, "encounter %s_%04d: %s\n", person, k, e.msg);
  free(img);
  clock_now += 7;
  return rc;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_request_checks(void **state) {
  (void)state;
  if (!have_models) TU_SKIP("models not found in %s (run scripts/setup)", tu_models_dir());
  fg_encounter_result r;
  fg_error e = {0};
  uint8_t byte = 0xff;
  fg_encounter_request rq = {.manifest_id = 999999, .gate = "A1", .image = &byte, .image_len = 1};
  assert_int_equal(fg_border_encounter(border, &gate, &rq, &r, &e), FG_ENOTFOUND);
  rq.gate = "";
  assert_int_equal(fg_border_encounter(border, &gate, &rq, &r, &e), FG_EINVAL);
  rq.gate = "A1";
  rq.image = NULL;
  assert_int_equal(fg_border_encounter(border, &gate, &rq, &r, &e), FG_EINVAL);
  rq.opt_out = 1; /* opting out needs the document */
  assert_int_equal(fg_border_encounter(border, &gate, &rq, &r, &e), FG_EINVAL);
  assert_string_equal(fg_outcome_name(FG_OUTCOME_LIVENESS_SUSPECT), "LIVENESS_SUSPECT");
}

static void test_watchlist_add(void **state) {
  (void)state;
  NEED_FLIGHT();
  fg_error e = {0};
  size_t n[2];
  uint8_t *good = read_photo(PEOPLE[WATCHED], 3, &n[0]);
  uint8_t *noise = noise_pgm(&n[1], 1);
  const uint8_t *imgs[2] = {good, noise};
  int64_t id = 0;
  int64_t before = sql_int("SELECT COUNT(*) FROM watchlist", 0);
  char name[64], last[64];
  watch_name(name, sizeof name, last, sizeof last, PEOPLE[WATCHED]);
  /* One photo without a face refuses the whole entry, naming the photo. */
  assert_int_equal(fg_border_watchlist_add(border, &officer, name, "test", 0, imgs, n, 2,
                                           &id, &e),
                   FG_EINVAL);
  assert_non_null(strstr(e.msg, "photo 2"));
  assert_int_equal(sql_int("SELECT COUNT(*) FROM watchlist", 0), before);
  assert_int_equal(fg_border_watchlist_add(border, &officer, name, "test", 0, imgs, n, 1,
                                           &id, &e),
                   FG_OK);
  assert_true(id > 0);
  assert_int_equal(sql_int("SELECT COUNT(*) FROM watchlist_templates WHERE entry_id = ?"
                           " AND image_sealed IS NOT NULL AND length(template_sealed) > 48", id),
                   1);
  free(good);
  free(noise);
}

static void test_matched(void **state) {
  (void)state;
  NEED_FLIGHT();
  double total[NPAX], face[NPAX], search[NPAX], wl[NPAX], store[NPAX];
  int k = 0;
  for (int i = 0; i < NPAX; i++) {
    if (i == WATCHED || i == OPT_CIT || i == OPT_FOR || i == LIVE) continue;
    fg_encounter_result r;
    assert_int_equal(capture("B12", PEOPLE[i], 2, NULL, &r), FG_OK);
    if (r.outcome != FG_OUTCOME_MATCHED)
      fprintf(stderr, "%s: %s score %.3f threshold %.3f quality %.1f\n", PEOPLE[i],
              fg_outcome_name(r.outcome), (double)r.score, (double)r.threshold,
              (double)r.quality);
    assert_int_equal(r.outcome, FG_OUTCOME_MATCHED);
    assert_int_equal(r.traveller_id, traveller[i]);
    assert_non_null(strstr(r.traveller_name, PEOPLE[i]));
    assert_true(r.crossing_id > 0);
    assert_int_equal(r.referral_id, 0);
    assert_int_equal(r.watchlist_id, 0);
    assert_string_equal(r.gate_action, "proceed");
    assert_true(r.score >= r.threshold);
    assert_int_equal(count_crossings(traveller[i]), 1);
    assert_int_equal(sql_int("SELECT COUNT(*) FROM encounters WHERE id = ? AND"
                             " capture_sealed IS NOT NULL AND template_sealed IS NOT NULL",
                             r.encounter_id),
                     1);
    total[k] = r.ms_total;
    face[k] = r.ms_face;
    search[k] = r.ms_search;
    wl[k] = r.ms_watchlist;
    store[k] = r.ms_store;
    k++;
  }
  fprintf(stderr, "encounter ms (median of %d, 250x250 JPEG from %s, gallery %d, NOSYNC): total %.2f "
          "face %.2f search %.3f watchlist %.3f store %.2f\n",
          k, flight_source, NPAX, median(total, k), median(face, k), median(search, k), median(wl, k),
          median(store, k));
}

/* The flight gallery holds one template per traveller: the centroid of their
 * document photos (the first passenger has two). */
static void test_flight_gallery_centroid(void **state) {
  (void)state;
  NEED_FLIGHT();
  const fg_gallery *g = NULL;
  fg_error e = {0};
  size_t photos = 0;
  assert_int_equal(fg__flight_gallery(border, manifest_id, &g, &photos, &e), FG_OK);
  fg_gallery_info in;
  fg_gallery_get_info(g, &in);
  assert_int_equal(in.n_subjects, NPAX);
  assert_int_equal(in.n_templates, NPAX);
  assert_int_equal(photos, NPAX + 1); /* the FPIR threshold counts photos (the safe side) */
  assert_int_equal(sql_int("SELECT COUNT(*) FROM photos WHERE traveller_id = ? AND template_sealed IS NOT NULL",
                           traveller[0]),
                   2);
  /* the template is the centroid of the two photos' embeddings */
  fg_face_options fo;
  fg_face_options_init(&fo);
  fo.models_dir = tu_models_dir();
  fg_face_engine *fe = NULL;
  assert_int_equal(fg_face_engine_create(&fo, &fe, &e), FG_OK);
  fg_face_result *r = malloc(sizeof *r);
  assert_non_null(r);
  float two[2 * FG_FACE_MAX_DIM], c[FG_FACE_MAX_DIM], t[FG_FACE_MAX_DIM];
  int dim = fg_face_engine_dim(fe);
  for (int k = 0; k < 2; k++) {
    char path[4600];
    snprintf(path, sizeof path, "%s/lfw-deepfunneled/%s/%s_%04d.jpg", lfw_root, PEOPLE[0], PEOPLE[0], k ? 4 : 1);
    assert_int_equal(fg_face_process_file(fe, path, NULL, r, &e), FG_OK);
    memcpy(two + k * dim, r->embedding, (size_t)dim * sizeof(float));
  }
  assert_int_equal(fg_embedding_centroid(two, 2, (size_t)dim, 0, c, &e), FG_OK);
  char id[24];
  snprintf(id, sizeof id, "%lld", (long long)traveller[0]);
  uint32_t subj, ts;
  assert_int_equal(fg_gallery_find_subject(g, id, &subj), FG_OK);
  int found = 0;
  for (size_t i = 0; i < in.n_templates; i++)
    if (fg_gallery_template(g, i, &ts, t) == FG_OK && ts == subj) {
      double dot = 0, d0 = 0, d1 = 0;
      for (int d = 0; d < dim; d++) dot += (double)t[d] * c[d], d0 += (double)t[d] * two[d], d1 += (double)t[d] * two[dim + d];
      assert_true(dot > 0.999);        /* stored templates may be fp16: not bit-exact */
      assert_true(d0 < 0.99 && d1 < 0.99); /* and it is neither photo on its own */
      found++;
    }
  assert_int_equal(found, 1);
  free(r);
  fg_face_engine_destroy(fe);
}

static void test_json(void **state) {
  (void)state;
  NEED_FLIGHT();
  fg_encounter_result r;
  assert_int_equal(capture("B12", STRANGER, 1, NULL, &r), FG_OK);
  json_t *j = fg__json(fg_encounter_result_json(&r));
  assert_non_null(j);
  static const char *const members[] = {"encounter_id", "outcome",  "gate_action", "traveller_id",
                                        "score",        "threshold", "quality",    "quality_reasons",
                                        "liveness",     "tries",     "watchlist",  "referral",
                                        "crossing_id",  "ms"};
  for (size_t i = 0; i < sizeof members / sizeof *members; i++)
    assert_non_null(json_object_get(j, members[i]));
  assert_string_equal(json_string_value(json_object_get(j, "outcome")), "NO_MATCH");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(j, "referral"), "reason")), "no_match");
  json_decref(j);
}

static void test_not_on_flight(void **state) {
  (void)state;
  NEED_FLIGHT();
  fg_encounter_result r;
  assert_int_equal(capture("B12", STRANGER, 2, NULL, &r), FG_OK);
  assert_int_equal(r.outcome, FG_OUTCOME_NO_MATCH);
  assert_int_equal(r.traveller_id, 0);
  assert_int_equal(r.crossing_id, 0);
  assert_true(r.referral_id > 0);
  assert_string_equal(r.referral_reason, "no_match");
  assert_string_equal(r.gate_action, "see_officer");
  assert_true(r.score < r.threshold);
  /* The officer is shown the nearest traveller. */
  int64_t cand = sql_int("SELECT candidate_id FROM referrals WHERE id = ?", r.referral_id);
  int known = 0;
  for (int i = 0; i < NPAX; i++) known |= cand == traveller[i];
  assert_true(known);
  assert_true(sql_int("SELECT COUNT(*) FROM encounters WHERE id = ? AND category IS NULL",
                      r.encounter_id) == 1);
}

static void test_stolen_document(void **state) {
  (void)state;
  NEED_FLIGHT();
  /* Passenger 1 presents passenger 2's passport: X0000003. */
  int64_t before = count_crossings(traveller[1]) + count_crossings(traveller[2]);
  fg_encounter_result r;
  assert_int_equal(capture("B12", PEOPLE[1], 3, "X0000003", &r), FG_OK);
  assert_int_equal(r.outcome, FG_OUTCOME_NO_MATCH);
  assert_int_equal(r.crossing_id, 0);
  assert_string_equal(r.referral_reason, "no_match");
  assert_int_equal(count_crossings(traveller[1]) + count_crossings(traveller[2]), before);
  /* Their own document matches, but they have crossed already. */
  assert_int_equal(capture("B12", PEOPLE[1], 3, "X0000002", &r), FG_OK);
  assert_int_equal(r.outcome, FG_OUTCOME_MATCHED);
  assert_string_equal(r.referral_reason, "already_crossed");
}

static void test_already_crossed(void **state) {
  (void)state;
  NEED_FLIGHT();
  fg_encounter_result r;
  assert_int_equal(capture("B14", PEOPLE[0], 4, NULL, &r), FG_OK);
  assert_int_equal(r.outcome, FG_OUTCOME_MATCHED);
  assert_int_equal(r.traveller_id, traveller[0]);
  assert_int_equal(r.crossing_id, 0);
  assert_true(r.referral_id > 0);
  assert_string_equal(r.referral_reason, "already_crossed");
  assert_string_equal(r.gate_action, "see_officer");
  assert_int_equal(count_crossings(traveller[0]), 1);
}

static void test_failure_to_acquire(void **state) {
  (void)state;
  NEED_FLIGHT();
  int max = fg_border_policy(border)->fta_max_tries;
  for (int round = 0; round < 2; round++) {
    for (int t = 1; t <= max; t++) {
      size_t n;
      uint8_t *img = noise_pgm(&n, (unsigned)(round * 100 + t));
      fg_encounter_request rq = {.manifest_id = manifest_id, .gate = "C3", .image = img,
                                 .image_len = n};
      fg_encounter_result r;
      fg_error e = {0};
      assert_int_equal(fg_border_encounter(border, &gate, &rq, &r, &e), FG_OK);
      free(img);
      assert_int_equal(r.outcome, FG_OUTCOME_FAILURE_TO_ACQUIRE);
      assert_int_not_equal(r.quality_reasons, 0); /* never without a reason ("no_face") */
      assert_int_equal(r.tries, t); /* a referral starts the count again */
      assert_true(isnan(r.score));
      assert_int_equal(r.crossing_id, 0);
      if (t < max) {
        assert_string_equal(r.gate_action, "retry");
        assert_int_equal(r.referral_id, 0);
      } else {
        assert_string_equal(r.gate_action, "see_officer");
        assert_string_equal(r.referral_reason, "failure_to_acquire");
      }
      /* The capture is kept (sealed) for the officer; there is no template. */
      assert_int_equal(sql_int("SELECT COUNT(*) FROM encounters WHERE id = ? AND"
                               " capture_sealed IS NOT NULL AND template_sealed IS NULL",
                               r.encounter_id),
                       1);
    }
  }
  /* A match at the gate ends a run of failures. */
  size_t n;
  uint8_t *img = noise_pgm(&n, 7);
  fg_encounter_request rq = {.manifest_id = manifest_id, .gate = "C3", .image = img,
                             .image_len = n};
  fg_encounter_result r;
  assert_int_equal(fg_border_encounter(border, &gate, &rq, &r, NULL), FG_OK);
  assert_int_equal(r.tries, 1);
  assert_int_equal(capture("C3", PEOPLE[2], 3, NULL, &r), FG_OK);
  assert_int_equal(fg_border_encounter(border, &gate, &rq, &r, NULL), FG_OK);
  assert_int_equal(r.tries, 1);
  free(img);
}

static void test_opt_out(void **state) {
  (void)state;
  NEED_FLIGHT();
  /* A poisoned pointer: reading it would crash. */
  const uint8_t *poison = (const uint8_t *)(uintptr_t)16;
  fg_encounter_request rq = {.manifest_id = manifest_id, .gate = "B12", .image = poison,
                             .image_len = 4096, .opt_out = 1, .document = "X0000005"};
  fg_encounter_result r;
  fg_error e = {0};
  assert_int_equal(fg_border_encounter(border, &gate, &rq, &r, &e), FG_OK);
  assert_int_equal(r.outcome, FG_OUTCOME_OPT_OUT);
  assert_int_equal(r.traveller_id, traveller[OPT_CIT]);
  assert_string_equal(r.referral_reason, "opt_out");
  assert_string_equal(r.gate_action, "see_officer");
  assert_int_equal(r.crossing_id, 0);
  assert_int_equal(sql_int("SELECT COUNT(*) FROM encounters WHERE id = ? AND capture_sealed IS"
                           " NULL AND template_sealed IS NULL AND quality IS NULL",
                           r.encounter_id),
                   1);
  assert_int_equal(sql_int("SELECT COUNT(*) FROM passengers WHERE traveller_id = ? AND"
                           " status = 'referred'", traveller[OPT_CIT]),
                   1);
  /* A document no passenger holds. */
  rq.document = "NOSUCH";
  assert_int_equal(fg_border_encounter(border, &gate, &rq, &r, &e), FG_ENOTFOUND);
}

static void test_opt_out_refused(void **state) {
  (void)state;
  NEED_FLIGHT();
  int64_t before = count_encounters();
  int64_t audit = sql_int("SELECT COUNT(*) FROM audit", 0);
  fg_encounter_request rq = {.manifest_id = manifest_id, .gate = "B12", .opt_out = 1,
                             .document = "X0000007"};
  fg_encounter_result r;
  fg_error e = {0};
  assert_int_equal(fg_border_encounter(border, &gate, &rq, &r, &e), FG_EPERM);
  assert_non_null(strstr(e.msg, "foreign nationals"));
  assert_int_equal(count_encounters(), before);
  assert_int_equal(sql_int("SELECT COUNT(*) FROM audit", 0), audit);
  assert_int_equal(r.encounter_id, 0);
}

static void test_watchlist_hit(void **state) {
  (void)state;
  NEED_FLIGHT();
  fg_encounter_result r;
  assert_int_equal(capture("B12", PEOPLE[WATCHED], 2, NULL, &r), FG_OK);
  assert_true(r.watchlist_id > 0);
  assert_true(r.watchlist_score > 0);
  /* the threshold it passed is kept with the encounter, for the officer */
  assert_true(r.watchlist_threshold > 0 && r.watchlist_score >= r.watchlist_threshold);
  assert_int_equal(sql_int("SELECT CAST(ROUND(watchlist_threshold * 10000) AS INTEGER) FROM encounters"
                           " WHERE id = ?", r.encounter_id),
                   llround((double)r.watchlist_threshold * 10000));
  assert_string_equal(r.referral_reason, "watchlist");
  assert_string_equal(r.gate_action, "see_officer");
  assert_int_equal(r.crossing_id, 0);
  assert_int_equal(count_crossings(traveller[WATCHED]), 0);
  assert_int_equal(sql_int("SELECT candidate_id FROM referrals WHERE id = ?", r.referral_id),
                   traveller[WATCHED]);
  /* Screening was audited without names. */
  assert_true(sql_int("SELECT COUNT(*) FROM audit WHERE action = 'watchlist.search'", 0) > 0);
  char name[64], last[64], sql[200];
  watch_name(name, sizeof name, last, sizeof last, PEOPLE[WATCHED]);
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM audit WHERE lower(detail) LIKE '%%%s%%'", last);
  assert_int_equal(sql_int(sql, 0), 0);

  /* Removal deletes the templates; the entry's row stays, marked removed. */
  fg_error e = {0};
  assert_int_equal(fg_border_watchlist_remove(border, &officer, r.watchlist_id, &e), FG_OK);
  assert_int_equal(fg_border_watchlist_remove(border, &officer, r.watchlist_id, &e),
                   FG_ECONFLICT);
  assert_int_equal(fg_border_watchlist_remove(border, &officer, 424242, &e), FG_ENOTFOUND);
  assert_int_equal(sql_int("SELECT COUNT(*) FROM watchlist_templates WHERE entry_id = ?",
                           r.watchlist_id),
                   0);
  json_t *list = NULL;
  assert_int_equal(fg_border_watchlist_list_j(border, &officer, &list, &e), FG_OK);
  assert_int_equal(json_array_size(list), 1);
  json_t *it = json_array_get(list, 0);
  assert_string_equal(json_string_value(json_object_get(it, "status")), "removed");
  assert_int_equal(json_integer_value(json_object_get(it, "templates")), 0);
  json_decref(list);
  /* Off the list, the same traveller's next capture matches and crosses. */
  assert_int_equal(capture("B12", PEOPLE[WATCHED], 4, NULL, &r), FG_OK);
  assert_int_equal(r.watchlist_id, 0);
  assert_int_equal(r.outcome, FG_OUTCOME_MATCHED);
  assert_true(r.crossing_id > 0);
}

static void test_liveness_policy(void **state) {
  (void)state;
  NEED_FLIGHT();
  char pol[400];
  snprintf(pol, sizeof pol, "%s/policy.json", T.dir);
  FILE *f = fopen(pol, "w");
  assert_non_null(f);
  fputs("{\"liveness_min\": 1.0}\n", f);
  fclose(f);
  fg_border *b2;
  assert_int_equal(open_border(pol, &b2), FG_OK);
  size_t n;
  uint8_t *img = read_photo(PEOPLE[LIVE], 2, &n);
  fg_encounter_request rq = {.manifest_id = manifest_id, .gate = "D1", .image = img,
                             .image_len = n};
  fg_encounter_result r;
  fg_error e = {0};
  assert_int_equal(fg_border_encounter(b2, &gate, &rq, &r, &e), FG_OK);
  free(img);
  fg_border_close(b2);
  if (!(r.liveness < 1.0f)) TU_SKIP("liveness model scored exactly 1: cannot fall below 1");
  assert_int_equal(r.outcome, FG_OUTCOME_LIVENESS_SUSPECT);
  assert_string_equal(r.referral_reason, "liveness");
  assert_int_equal(r.crossing_id, 0);
  assert_int_equal(r.traveller_id, 0);
  assert_int_equal(count_crossings(traveller[LIVE]), 0);
}

static void test_verify(void **state) {
  (void)state;
  NEED_FLIGHT();
  fg_verify_result r;
  fg_error e = {0};
  size_t na, nb, nc, nd;
  uint8_t *a = read_photo(PEOPLE[3], 2, &na);
  uint8_t *b = read_photo(PEOPLE[3], 1, &nb);
  uint8_t *c = read_photo(STRANGER, 1, &nc);
  uint8_t *d = noise_pgm(&nd, 3);
  assert_int_equal(fg_border_verify(border, &officer, a, na, b, nb, 0, &r, &e), FG_OK);
  assert_int_equal(r.decision, 1);
  assert_true(r.score >= r.threshold);
  assert_true(fabs(r.fmr - fg_border_policy(border)->verify_fmr) < 1e-12);
  json_t *j = fg__json(fg_verify_result_json(&r));
  assert_non_null(j);
  assert_true(json_is_true(json_object_get(j, "same_person")));
  json_decref(j);
  assert_int_equal(fg_border_verify(border, &officer, a, na, c, nc, 1e-4, &r, &e), FG_OK);
  assert_int_equal(r.decision, 0);
  assert_true(r.score < r.threshold);
  /* A document photo without a face: no decision. */
  assert_int_equal(fg_border_verify(border, &officer, a, na, d, nd, 1e-4, &r, &e), FG_OK);
  assert_int_equal(r.decision, -1);
  assert_int_equal(r.document_status, FG_FACE_NO_FACE);
  assert_true(sql_int("SELECT COUNT(*) FROM audit WHERE action = 'verify.document'", 0) >= 3);
  free(a);
  free(b);
  free(c);
  free(d);
}

/* ---- watchlist screening under harsh light ---------------------------------
 * A harsh-lit capture against a watchlist entry enrolled from harsh-lit
 * photos must clear the watchlist threshold plus the calibrated harsh-light
 * margin (docs/pipeline.md, "Thresholds under harsh light"). Scores are made
 * exact: the probe p is a random unit vector and the entry's embedding
 * s p + sqrt(1 - s^2) q with q orthogonal to p scores s (within fp16's
 * rounding), s halfway between the plain and the harsh threshold. */

/* One watchlist entry with embedding emb and capture flags cap; its id. */
static int64_t add_wl_embedding(const char *name, const float *emb, int dim, const uint8_t *cap) {
  fg_watchlist_entry we = {.name = name, .reason = "harsh-light test", .embeddings = emb, .n = 1,
                           .captures = cap};
  fg_watchlist_batch_result br;
  fg_error e = {0};
  assert_int_equal(fg_border_watchlist_add_batch(border, &officer, &we, 1, dim, &br, &e), FG_OK);
  return br.first_id;
}

/* A capture with a precomputed embedding and capture flags, screened. */
static void screen(const float *probe, int dim, unsigned capture, fg_encounter_result *r) {
  static const uint8_t bytes[] = "not an image: the embedding is given";
  fg__precomputed_face face = {probe, dim, 90.0f, capture};
  fg_encounter_request rq = {.manifest_id = manifest_id, .gate = "H1", .image = bytes,
                             .image_len = sizeof bytes};
  fg_error e = {0};
  assert_int_equal(fg__border_encounter_with(border, &gate, &rq, &face, r, &e), FG_OK);
}

/* Whether the cached watchlist gallery holds entry id's template as harsh-lit. */
static int cached_harsh(int64_t id) {
  const fg_gallery *g = NULL;
  fg_error e = {0};
  assert_int_equal(fg__watchlist_gallery(border, &g, NULL, &e), FG_OK);
  assert_non_null(g);
  char sid[24];
  snprintf(sid, sizeof sid, "%lld", (long long)id);
  uint32_t s;
  assert_int_equal(fg_gallery_find_subject(g, sid, &s), FG_OK);
  return (fg_gallery_subject_capture(g, s) & FG_TEMPLATE_CAPTURE_HARSH_LIGHT) != 0;
}

static void test_watchlist_harsh_light(void **state) {
  (void)state;
  NEED_FLIGHT();
  fg_face_engine *fe;
  fg_error e = {0};
  assert_int_equal(fg__border_face(border, &fe, &e), FG_OK);
  int dim = fg_face_engine_dim(fe);
  float margin = fg__border_harsh_margin(border);
  print_message("harsh-light margin %.4f\n", margin);
  assert_true(margin > 0.02f); /* the default calibration has harsh-light thresholds */
  const fg_gallery *g = NULL;
  size_t photos = 0;
  assert_int_equal(fg__watchlist_gallery(border, &g, &photos, &e), FG_OK);
  float plain;
  assert_int_equal(fg__border_fpir_threshold(border, photos + 1, border->policy.watchlist_fpir, &plain, &e),
                   FG_OK);
  float s = plain + margin / 2;
  float *p = malloc((size_t)dim * sizeof *p), *q = malloc((size_t)dim * sizeof *q),
        *x = malloc((size_t)dim * sizeof *x);
  assert_true(p && q && x);
  uint32_t r32 = 12345;
  double pp = 0, pq = 0, qq = 0;
  for (int i = 0; i < dim; i++) {
    r32 = r32 * 1664525u + 1013904223u, p[i] = (float)(r32 >> 8) / 16777216.0f - 0.5f;
    r32 = r32 * 1664525u + 1013904223u, q[i] = (float)(r32 >> 8) / 16777216.0f - 0.5f;
    pp += (double)p[i] * p[i];
  }
  for (int i = 0; i < dim; i++) p[i] /= (float)sqrt(pp), pq += (double)p[i] * q[i];
  for (int i = 0; i < dim; i++) q[i] -= (float)pq * p[i], qq += (double)q[i] * q[i];
  for (int i = 0; i < dim; i++) q[i] /= (float)sqrt(qq), x[i] = s * p[i] + sqrtf(1 - s * s) * q[i];
  const uint8_t harsh_cap = FG_TEMPLATE_CAPTURE_HARSH_LIGHT;
  fg_encounter_result r;

  /* An entry enrolled from a harsh-lit photo: stored and cached as such. */
  int64_t h = add_wl_embedding("Harsh Lit", x, dim, &harsh_cap);
  assert_true(cached_harsh(h));
  fg__gallery_cache_reset(border); /* rebuilt from the stored templates: the bit is in byte 7 */
  assert_true(cached_harsh(h));
  assert_int_equal(fg__watchlist_gallery(border, &g, &photos, &e), FG_OK);
  float plain_now;
  assert_int_equal(fg__border_fpir_threshold(border, photos, border->policy.watchlist_fpir, &plain_now, &e), FG_OK);
  assert_true(fabsf(plain_now - plain) < 1e-6f);
  /* harsh-lit capture, harsh-lit entry, score between the thresholds: no hit */
  screen(p, dim, FG_TEMPLATE_CAPTURE_HARSH_LIGHT, &r);
  print_message("plain %.4f, harsh %.4f, best %.4f\n", plain, plain + margin, r.watchlist_threshold);
  assert_int_equal(r.watchlist_id, 0);
  assert_true(fabsf(r.watchlist_threshold - (plain + margin)) < 1e-5f);
  assert_int_equal(sql_int("SELECT COUNT(*) FROM audit WHERE action = 'watchlist.search' AND detail LIKE "
                           "'%\"harsh_light\": true%'", 0) +
                       sql_int("SELECT COUNT(*) FROM audit WHERE action = 'watchlist.search' AND detail LIKE "
                               "'%\"harsh_light\":true%'", 0),
                   1);
  /* an evenly lit capture against it: the plain threshold, a hit */
  screen(p, dim, 0, &r);
  assert_int_equal(r.watchlist_id, h);
  assert_true(fabsf(r.watchlist_threshold - plain) < 1e-5f);
  assert_true(r.watchlist_score >= plain && r.watchlist_score < plain + margin);
  assert_int_equal(fg_border_watchlist_remove(border, &officer, h, &e), FG_OK);

  /* The same score from an evenly lit entry (no capture flags, as every
   * template from before the flag existed): a hit for a harsh-lit capture. */
  int64_t even = add_wl_embedding("Evenly Lit", x, dim, NULL);
  assert_false(cached_harsh(even));
  screen(p, dim, FG_TEMPLATE_CAPTURE_HARSH_LIGHT, &r);
  assert_int_equal(r.watchlist_id, even);
  assert_true(fabsf(r.watchlist_threshold - plain) < 1e-5f);

  /* Both at once: the harsh-lit entry refused at its threshold does not hide
   * the evenly lit one just below it. */
  for (int i = 0; i < dim; i++) x[i] = (s + 0.002f) * p[i] + sqrtf(1 - (s + 0.002f) * (s + 0.002f)) * q[i];
  h = add_wl_embedding("Harsh Lit Again", x, dim, &harsh_cap);
  assert_int_equal(fg__watchlist_gallery(border, &g, &photos, &e), FG_OK);
  assert_int_equal(fg__border_fpir_threshold(border, photos, border->policy.watchlist_fpir, &plain_now, &e), FG_OK);
  screen(p, dim, FG_TEMPLATE_CAPTURE_HARSH_LIGHT, &r);
  if (plain_now <= s) assert_int_equal(r.watchlist_id, even); /* two photos: the threshold may have risen past s */
  assert_int_not_equal(r.watchlist_id, h);
  assert_int_equal(fg_border_watchlist_remove(border, &officer, h, &e), FG_OK);
  assert_int_equal(fg_border_watchlist_remove(border, &officer, even, &e), FG_OK);
  free(p), free(q), free(x);
}

/* The flight search, the same way: a harsh-lit capture against a traveller
 * whose centroid template is harsh-lit must clear the flight threshold plus
 * the margin; an evenly lit capture scoring the same is held to the plain
 * one. The flag is set on the cached gallery's template, as a build from
 * harsh-lit stored photos sets it (test_watchlist_harsh_light checks that
 * part); the cache is rebuilt from the store afterwards. */
static void test_flight_harsh_light(void **state) {
  (void)state;
  NEED_FLIGHT();
  fg_error e = {0};
  const fg_gallery *g = NULL;
  size_t photos = 0;
  assert_int_equal(fg__flight_gallery(border, manifest_id, &g, &photos, &e), FG_OK);
  assert_non_null(g);
  fg_gallery_info gi;
  fg_gallery_get_info(g, &gi);
  int dim = (int)gi.dim;
  float margin = fg__border_harsh_margin(border), plain;
  assert_int_equal(fg__border_fpir_threshold(border, photos, border->policy.match_fpir, &plain, &e), FG_OK);
  float s = plain + margin / 2;
  float *y = malloc((size_t)dim * sizeof *y), *q = malloc((size_t)dim * sizeof *q),
        *p = malloc((size_t)dim * sizeof *p);
  assert_true(y && q && p);
  uint32_t subject;
  assert_int_equal(fg_gallery_template(g, 0, &subject, y), FG_OK);
  /* p = s y + sqrt(1 - s^2) q, q a random unit vector orthogonal to y: p scores s against y */
  uint32_t r32 = 777;
  double yy = 0, yq = 0, qq = 0;
  for (int i = 0; i < dim; i++) yy += (double)y[i] * y[i];
  for (int i = 0; i < dim; i++) {
    y[i] /= (float)sqrt(yy);
    r32 = r32 * 1664525u + 1013904223u, q[i] = (float)(r32 >> 8) / 16777216.0f - 0.5f;
  }
  for (int i = 0; i < dim; i++) yq += (double)y[i] * q[i];
  for (int i = 0; i < dim; i++) q[i] -= (float)yq * y[i], qq += (double)q[i] * q[i];
  for (int i = 0; i < dim; i++) q[i] /= (float)sqrt(qq), p[i] = s * y[i] + sqrtf(1 - s * s) * q[i];
  assert_int_equal(fg_gallery_set_template_capture((fg_gallery *)g, 0, FG_TEMPLATE_CAPTURE_HARSH_LIGHT, &e), FG_OK);

  fg_encounter_result r;
  screen(p, dim, FG_TEMPLATE_CAPTURE_HARSH_LIGHT, &r);
  print_message("flight: plain %.4f, harsh %.4f, score %.4f, threshold %.4f\n", plain, plain + margin, r.score,
                r.threshold);
  assert_true(fabsf(r.score - s) < 2e-3f);
  assert_true(fabsf(r.threshold - (plain + margin)) < 1e-5f);
  assert_int_not_equal(r.outcome, FG_OUTCOME_MATCHED);
  screen(p, dim, 0, &r); /* an evenly lit capture: the plain threshold, which the score clears */
  assert_true(fabsf(r.threshold - plain) < 1e-5f);
  assert_true(r.score >= r.threshold);
  fg__gallery_cache_reset(border);
  free(y), free(q), free(p);
}

static void test_closed_manifest(void **state) {
  (void)state;
  NEED_FLIGHT();
  fg_error e = {0};
  assert_int_equal(fg_border_manifest_close(border, &officer, manifest_id, &e), FG_OK);
  int64_t before = count_encounters();
  fg_encounter_result r;
  size_t n;
  uint8_t *img = read_photo(PEOPLE[2], 2, &n);
  fg_encounter_request rq = {.manifest_id = manifest_id, .gate = "B12", .image = img,
                             .image_len = n};
  assert_int_equal(fg_border_encounter(border, &gate, &rq, &r, &e), FG_ECONFLICT);
  free(img);
  assert_int_equal(count_encounters(), before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_request_checks),  cmocka_unit_test(test_watchlist_add),
      cmocka_unit_test(test_matched),         cmocka_unit_test(test_flight_gallery_centroid),         cmocka_unit_test(test_json),
      cmocka_unit_test(test_not_on_flight),   cmocka_unit_test(test_stolen_document),
      cmocka_unit_test(test_already_crossed), cmocka_unit_test(test_failure_to_acquire),
      cmocka_unit_test(test_opt_out),         cmocka_unit_test(test_opt_out_refused),
      cmocka_unit_test(test_watchlist_hit),   cmocka_unit_test(test_liveness_policy),
      cmocka_unit_test(test_verify),          cmocka_unit_test(test_watchlist_harsh_light),
      cmocka_unit_test(test_flight_harsh_light), cmocka_unit_test(test_closed_manifest),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
