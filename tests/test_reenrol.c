/*
 * Re-enrolment after a change of recognition model (src/border/reenrol.c,
 * fg_border_reenrol), on the test's store (tests/teststore.h: SQLite, or a
 * new PostgreSQL database when FACEGATE_TEST_STORE=postgresql).
 *
 * A flight is staged and a watchlist filled with the default model
 * (fr_feature, 512-d): three passengers (the first with two photos), one
 * watchlist entry from a photo and one from embeddings (no photo kept). The
 * third passenger's photo is then deleted behind facegate's back, as
 * retention would. The gates switch to dlib-resnet (128-d):
 *
 *   - a dry run counts 3 flight templates to re-enrol and 1 without a photo,
 *     1 and 1 on the watchlist, and writes nothing;
 *   - the flight's gallery builds: two travellers, dlib's 128-d templates,
 *     each traveller ranked first for another photo of them; three
 *     "template.reenrol" audit events; the third passenger is left out with
 *     the problem reenrol_no_photo and enrolled 0 in manifest show, audited
 *     once ("passenger.left_out"), and a rebuild adds no event;
 *   - the watchlist gallery builds with the photo entry only;
 *   - fg_border_reenrol then finds everything current but the two without a
 *     photo;
 *   - back on fr_feature, fg_border_reenrol re-enrols the four templates dlib
 *     made, and the third passenger's untouched template is current again.
 *
 * Faces: the sample-photo fixture (tests/facefixture.h), so no LFW is needed.
 */
#include "teststore.h"

#include <sys/stat.h>

#include "border/border_internal.h"
#include "common/doc.h"
#include "facefixture.h"

static ts_store T;
static char faces[600];
static int have_models;
static int64_t clock_now = 1795766400; /* 2026-11-27T08:00:00Z */
static int64_t manifest_id, traveller[3];
static fg_actor officer = {"tester", "local", NULL};

static int64_t test_clock(void *ctx) {
  (void)ctx;
  return clock_now;
}

static fg_border *open_border(const char *model) {
  fg_border_options o;
  fg_border_options_init(&o);
  o.data_dir = T.dir;
  o.store = ts_store_opt(&T);
  o.store_flags = FG_STORE_NOSYNC;
  o.face.models_dir = tu_models_dir();
  o.face.model = model;
  o.clock = test_clock;
  fg_border *b = NULL;
  fg_error e = {0};
  if (fg_border_open(&o, &b, &e) != FG_OK) {
    print_error("fg_border_open(%s): %s\n", model ? model : "default", e.msg);
    fail();
  }
  return b;
}

static void photo_of(char *buf, size_t cap, int person, int k) {
  snprintf(buf, cap, "%s/lfw-deepfunneled/%s/%s_%04d.jpg", faces, FF_PERSON[person].name,
           FF_PERSON[person].name, k);
}

static int64_t audits(const char *action) {
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM audit WHERE action = '%s'", action);
  return ts_raw_int(T.target, sql);
}

static int group_setup(void **state) {
  (void)state;
  ts_make(&T, "reenrol");
  char p[1024];
  tu_path(p, sizeof p, tu_models_dir(), "face_recognition_model.bin");
  have_models = tu_exists(p);
  tu_path(p, sizeof p, tu_models_dir(), "fr_feature.onnx");
  have_models &= tu_exists(p);
  if (!have_models) return 0;
  fg_error e = {0};
  snprintf(faces, sizeof faces, "%s/faces", T.dir);
  if (mkdir(faces, 0700) != 0 || ff_build(tu_samples_dir(), faces, &e) != FG_OK) {
    fprintf(stderr, "no face fixture (%s): the tests will be skipped\n", e.msg);
    have_models = 0;
  }
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  ts_clean(&T);
  return 0;
}

#define NEED() \
  if (!have_models) TU_SKIP("models (fr_feature, dlib-resnet) or sample photos not found (run scripts/setup)")

/* Stage with the default model, then delete the third passenger's photo. */
static void test_stage_with_default(void **state) {
  (void)state;
  NEED();
  fg_border *b = open_border(NULL);
  json_t *pax = json_array();
  for (int i = 0; i < 3; i++) {
    char num[16], p1[64], p4[64];
    snprintf(num, sizeof num, "R%07d", i + 1);
    snprintf(p1, sizeof p1, "lfw-deepfunneled/%s/%s_0001.jpg", FF_PERSON[i].name, FF_PERSON[i].name);
    snprintf(p4, sizeof p4, "lfw-deepfunneled/%s/%s_0003.jpg", FF_PERSON[i].name, FF_PERSON[i].name);
    json_t *photos = i == 0 ? json_pack("[s,s]", p1, p4) : json_pack("[s]", p1);
    json_array_append_new(
        pax, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:o}", "surname", FF_PERSON[i].name,
                       "given_names", "T", "date_of_birth", "1960-01-01", "nationality", "FRA", "sex", "F",
                       "category", "foreign", "document", "type", "P", "number", num,
                       "issuing_state", "FRA", "expiry", "2031-01-01", "photos", photos));
  }
  json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "carrier", "FG", "flight", "FG714", "port", "XXX",
                        "scheduled", "2026-11-27T10:00:00Z", "direction", "entry", "passengers", pax);
  char *text = json_dumps(m, 0);
  json_decref(m);
  fg_manifest_import_opts io = {.base_dir = faces};
  fg_doc *rdoc = NULL;
  fg_error e = {0};
  int rc = fg_border_manifest_import_buffer(b, &officer, text, strlen(text), &io, &rdoc, &e);
  json_t *report = fg__json(rdoc);
  free(text);
  if (rc) fail_msg("import: %s", e.msg);
  if (json_array_size(json_object_get(report, "problems"))) {
    char *rs = json_dumps(json_object_get(report, "problems"), JSON_COMPACT);
    print_error("manifest problems: %.600s\n", rs);
    free(rs);
    fail();
  }
  manifest_id = json_integer_value(json_object_get(report, "manifest_id"));
  if (!manifest_id) manifest_id = json_integer_value(json_object_get(report, "id"));
  fg_doc_free(rdoc);
  assert_true(manifest_id > 0);
  for (int i = 0; i < 3; i++) {
    fg_traveller_query q = {.surname = FF_PERSON[i].name};
    fg_doc *found = NULL;
    assert_int_equal(fg_border_traveller_find(b, &officer, &q, &found, &e), FG_OK);
    traveller[i] = json_integer_value(json_object_get(json_array_get(fg__json(found), 0), "id"));
    fg_doc_free(found);
    assert_true(traveller[i] > 0);
  }
  const fg_gallery *g;
  assert_int_equal(fg__flight_gallery(b, manifest_id, &g, NULL, &e), FG_OK);
  fg_gallery_info gi;
  fg_gallery_get_info(g, &gi);
  assert_int_equal(gi.n_subjects, 3);
  assert_int_equal(gi.dim, 512);

  /* The watchlist: one entry from a photo, one from an embedding (no photo kept). */
  char p[700];
  photo_of(p, sizeof p, 3, 1);
  size_t n;
  uint8_t *img = tu_read(p, &n);
  const uint8_t *imgs[1] = {img};
  int64_t wl = 0;
  assert_int_equal(fg_border_watchlist_add(b, &officer, "Delta", "test", 0, imgs, &n, 1, &wl, &e), FG_OK);
  free(img);
  fg_face_engine *fe;
  assert_int_equal(fg__border_face(b, &fe, &e), FG_OK);
  fg_face_result *r = malloc(sizeof *r);
  assert_non_null(r);
  photo_of(p, sizeof p, 4, 1);
  assert_int_equal(fg_face_process_file(fe, p, NULL, r, &e), FG_OK);
  assert_int_equal(r->dim, 512);
  assert_int_equal(fg_border_watchlist_add_embeddings(b, &officer, "Ember", "test", 0, r->embedding, 1, 512, &wl,
                                                      &e), FG_OK);
  free(r);
  fg_border_close(b);

  /* Retention took the third passenger's photo; the template stays. */
  char sql[200];
  snprintf(sql, sizeof sql, "UPDATE photos SET image_sealed = NULL WHERE traveller_id = %lld",
           (long long)traveller[2]);
  ts_raw(T.target, sql);
}

static void test_dry_run_writes_nothing(void **state) {
  (void)state;
  NEED();
  if (!manifest_id) TU_SKIP("staging did not run");
  fg_border *b = open_border("dlib-resnet");
  fg_reenrol_options o = {.dry_run = 1};
  fg_reenrol_result r;
  fg_error e = {0};
  int64_t revision = ts_int(T.target, "SELECT revision FROM manifests WHERE id = ?", manifest_id);
  assert_int_equal(fg_border_reenrol(b, &officer, &o, &r, &e), FG_OK);
  assert_string_equal(r.model, "dlib-resnet");
  assert_int_equal(r.flights.templates, 4);
  assert_int_equal(r.flights.current, 0);
  assert_int_equal(r.flights.reenrolled, 3);
  assert_int_equal(r.flights.no_photo, 1);
  assert_int_equal(r.flights.left_out, 1);
  assert_int_equal(r.watchlist.templates, 2);
  assert_int_equal(r.watchlist.reenrolled, 1);
  assert_int_equal(r.watchlist.no_photo, 1);
  assert_int_equal(audits("template.reenrol"), 0);
  assert_int_equal(audits("passenger.left_out"), 0);
  assert_int_equal(audits("templates.reenrol"), 1); /* the read itself */
  assert_int_equal(ts_int(T.target, "SELECT revision FROM manifests WHERE id = ?", manifest_id), revision);
  fg_border_close(b);
}

static json_t *passenger(json_t *show, int64_t id) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(show, "passengers"), i, v) {
    json_t *t = json_object_get(v, "traveller_id");
    if (!t) t = json_object_get(json_object_get(v, "traveller"), "id");
    if (json_integer_value(t) == id) return v;
  }
  return NULL;
}

static int has_problem(json_t *p, const char *code) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(p, "problems"), i, v) {
    if (json_is_string(v) && !strcmp(json_string_value(v), code)) return 1;
    if (json_is_object(v) && !strcmp(json_string_value(json_object_get(v, "code")), code)) return 1;
  }
  return 0;
}

static void test_switch_stages_flight(void **state) {
  (void)state;
  NEED();
  if (!manifest_id) TU_SKIP("staging did not run");
  fg_border *b = open_border("dlib-resnet");
  const fg_gallery *g;
  size_t photos = 0;
  fg_error e = {0};
  int rc = fg__flight_gallery(b, manifest_id, &g, &photos, &e);
  if (rc) fail_msg("flight gallery after the switch: %s", e.msg);
  assert_non_null(g);
  fg_gallery_info gi;
  fg_gallery_get_info(g, &gi);
  assert_int_equal(gi.n_subjects, 2);
  assert_int_equal(gi.dim, 128);
  assert_int_equal(photos, 3);
  assert_int_equal(b->flights[0].left_out + b->flights[1].left_out + b->flights[2].left_out +
                       b->flights[3].left_out, 1);
  assert_int_equal(audits("template.reenrol"), 3);
  assert_int_equal(audits("passenger.left_out"), 1);

  /* Each traveller ranks first for another photo of them, with dlib's templates. */
  fg_face_engine *fe;
  assert_int_equal(fg__border_face(b, &fe, &e), FG_OK);
  fg_face_result *r = malloc(sizeof *r);
  assert_non_null(r);
  for (int i = 0; i < 2; i++) {
    char p[700];
    photo_of(p, sizeof p, i, 2);
    assert_int_equal(fg_face_process_file(fe, p, NULL, r, &e), FG_OK);
    assert_int_not_equal(r->status, FG_FACE_NO_FACE);
    fg_match mm[2];
    size_t n = 0;
    assert_int_equal(fg_gallery_search(g, r->embedding, 1, 0, 2, NULL, mm, &n, &e), FG_OK);
    assert_true(n >= 1);
    char want[24];
    snprintf(want, sizeof want, "%lld", (long long)traveller[i]);
    assert_string_equal(fg_gallery_subject_id(g, mm[0].subject, NULL), want);
  }
  free(r);

  /* The supervisor sees who is left out, and why. */
  fg_doc *sdoc = NULL;
  assert_int_equal(fg_border_manifest_show(b, &officer, manifest_id, &sdoc, &e), FG_OK);
  json_t *show = fg__json(sdoc);
  json_t *p2 = passenger(show, traveller[2]);
  assert_non_null(p2);
  assert_true(has_problem(p2, "reenrol_no_photo"));
  assert_int_equal(json_integer_value(json_object_get(p2, "enrolled")), 0);
  json_t *p0 = passenger(show, traveller[0]);
  assert_non_null(p0);
  assert_false(has_problem(p0, "reenrol_no_photo"));
  assert_int_equal(json_integer_value(json_object_get(p0, "enrolled")), 2);
  assert_int_equal(json_integer_value(json_object_get(show, "enrolled")), 2);
  fg_doc_free(sdoc);

  /* A rebuild re-enrols nothing more and records nothing more. */
  fg__gallery_cache_reset(b);
  assert_int_equal(fg__flight_gallery(b, manifest_id, &g, &photos, &e), FG_OK);
  fg_gallery_get_info(g, &gi);
  assert_int_equal(gi.n_subjects, 2);
  assert_int_equal(audits("template.reenrol"), 3);
  assert_int_equal(audits("passenger.left_out"), 1);

  /* The watchlist: the entry with a photo is screened, the other left out. */
  rc = fg__watchlist_gallery(b, &g, &photos, &e);
  if (rc) fail_msg("watchlist gallery after the switch: %s", e.msg);
  assert_non_null(g);
  fg_gallery_get_info(g, &gi);
  assert_int_equal(gi.n_subjects, 1);
  assert_int_equal(gi.dim, 128);
  assert_int_equal(b->watchlist.left_out, 1);
  assert_int_equal(audits("template.reenrol"), 4);

  /* Everything that could be is current now. */
  fg_reenrol_result rr;
  assert_int_equal(fg_border_reenrol(b, &officer, NULL, &rr, &e), FG_OK);
  assert_int_equal(rr.flights.templates, 4);
  assert_int_equal(rr.flights.current, 3);
  assert_int_equal(rr.flights.reenrolled, 0);
  assert_int_equal(rr.flights.no_photo, 1);
  assert_int_equal(rr.watchlist.current, 1);
  assert_int_equal(rr.watchlist.no_photo, 1);
  assert_int_equal(audits("template.reenrol"), 4);
  assert_int_equal(audits("passenger.left_out"), 1);
  fg_border_close(b);
}

static void test_switch_back(void **state) {
  (void)state;
  NEED();
  if (!manifest_id) TU_SKIP("staging did not run");
  fg_border *b = open_border(NULL);
  fg_reenrol_result r;
  fg_error e = {0};
  assert_int_equal(fg_border_reenrol(b, &officer, NULL, &r, &e), FG_OK);
  assert_string_equal(r.model, "fr_feature");
  assert_int_equal(r.flights.reenrolled, 3);
  assert_int_equal(r.flights.current, 1); /* the third passenger's, never rewritten */
  assert_int_equal(r.flights.no_photo, 0);
  assert_int_equal(r.watchlist.reenrolled, 1);
  assert_int_equal(r.watchlist.current, 1);
  assert_int_equal(audits("template.reenrol"), 8);
  const fg_gallery *g;
  assert_int_equal(fg__flight_gallery(b, manifest_id, &g, NULL, &e), FG_OK);
  fg_gallery_info gi;
  fg_gallery_get_info(g, &gi);
  assert_int_equal(gi.n_subjects, 3);
  assert_int_equal(gi.dim, 512);
  /* the audit chain holds together through all of it */
  fg_doc *v = NULL;
  assert_int_equal(fg_border_audit_verify(b, &officer, NULL, &v, &e), FG_OK);
  assert_true(json_is_true(json_object_get(fg__json(v), "ok")));
  fg_doc_free(v);
  fg_border_close(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stage_with_default),
      cmocka_unit_test(test_dry_run_writes_nothing),
      cmocka_unit_test(test_switch_stages_flight),
      cmocka_unit_test(test_switch_back),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
