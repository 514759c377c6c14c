/*
 * Several servers, one store: border handles opened side by side on the same
 * store (as `facegate serve` processes at different ports of entry are), on
 * whichever backend the run uses (tests/teststore.h) — the point of the
 * PostgreSQL run.
 *
 *   - a server that serves one port refuses an encounter against another
 *     port's manifest;
 *   - an exit at port MAN is linked to the entry recorded at port LHR;
 *   - two servers capturing the same traveller at the same moment record one
 *     crossing, and the other capture becomes an already_crossed referral;
 *   - a watchlist entry added at headquarters is used by a server that had
 *     the watchlist cached, at its very next capture (LISTEN/NOTIFY on
 *     PostgreSQL; a revision read on SQLite); the same for a flight gallery
 *     amended elsewhere;
 *   - the audit chain, written by all of them, verifies;
 *   - a server with another deployment's key file is refused, and one with
 *     none does not create one beside a store sealed with a key.
 *
 * Faces are synthetic templates (random unit vectors) enrolled as an import
 * would and probed through fg__border_encounter_with: what is tested is the
 * store and the caches, not the face pipeline (which needs no second store).
 */
#include <math.h>
#include <pthread.h>

#include "teststore.h"

#include "border/border_internal.h"
#include "cli/border_json.h"
#include "facegate/border.h"
#include "store/sql_manifest.h"

#define DIM 512

static ts_store t;
static const fg_actor SUP = {"hq-supervisor", "supervisor", NULL};
static const fg_actor GATE_LHR = {"gate-lhr", "gate", NULL};
static const fg_actor GATE_MAN = {"gate-man", "gate", NULL};
static int have_models;
static uint64_t seed = 0x2545F4914F6CDD1Dull;

static float gauss(void) {
  seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
  double u = (double)(seed >> 11) / 9007199254740992.0 + 1e-12;
  seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
  double v = (double)(seed >> 11) / 9007199254740992.0;
  return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

static void random_unit(float *v) {
  double s = 0;
  for (int i = 0; i < DIM; i++) {
    v[i] = gauss();
    s += (double)v[i] * v[i];
  }
  for (int i = 0; i < DIM; i++) v[i] = (float)(v[i] / sqrt(s));
}

static fg_border *open_site(const char *site) {
  fg_border_options o;
  fg_border_options_init(&o);
  o.data_dir = t.dir;
  o.store = t.target;
  o.store_flags = FG_STORE_NOSYNC;
  o.port = site;
  o.face.models_dir = tu_models_dir();
  fg_border *b = NULL;
  fg_error e = {0};
  int rc = fg_border_open(&o, &b, &e);
  if (rc != FG_OK) print_error("open %s: %s\n", site, e.msg);
  assert_int_equal(rc, FG_OK);
  return b;
}

/* A manifest of one passenger (document `doc`) at `port`, enrolled with template tpl. */
static int64_t stage(fg_border *b, const char *flight, const char *port, const char *dir,
                     const char *doc, const float *tpl, int64_t amend) {
  char js[512];
  snprintf(js, sizeof js,
           "{\"carrier\":\"CL\",\"flight\":\"%s\",\"port\":\"%s\",\"scheduled\":\"2099-01-01T10:00:00Z\","
           "\"direction\":\"%s\",\"passengers\":[{\"surname\":\"P%s\",\"category\":\"foreign\","
           "\"document\":{\"number\":\"%s\",\"issuing_state\":\"UTO\"}}]}",
           flight, port, dir, doc, doc);
  fg_manifest_import_opts io = {.format = FG_MANIFEST_JSON, .amend = amend};
  json_t *rep;
  fg_error e = {0};
  int rc = fg_border_manifest_import_buffer_j(b, &SUP, js, strlen(js), &io, &rep, &e);
  if (rc != FG_OK) print_error("import: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  int64_t manifest = json_integer_value(json_object_get(rep, "manifest_id"));
  json_decref(rep);
  /* Enrol the synthetic template as the import would have, and say so. */
  /* Its holder (document numbers are sealed: the library finds them). */
  fg_traveller_query tq = {.document = doc};
  json_t *found = NULL;
  assert_int_equal(fg_border_traveller_find_j(b, &SUP, &tq, &found, &e), FG_OK);
  int64_t traveller = json_integer_value(json_object_get(json_array_get(found, 0), "id"));
  json_decref(found);
  assert_true(traveller > 0);
  assert_int_equal(fg_store_begin(b->store, &e), FG_OK);
  int64_t photo, rev;
  fg_val ins[5] = {FG_V_INT(manifest), FG_V_INT(traveller), FG_V_TEXT("test"), FG_V_REAL(90.0),
                   FG_V_INT(fg_border_now(b))};
  assert_int_equal(fg_store_exec_int(b->store, &FG_Q_MAN_PHOTO_INSERT, ins, 5, &photo, NULL, &e), FG_OK);
  uint8_t *plain, *sealed;
  size_t pn, sn;
  assert_int_equal(fg__border_template(b, tpl, DIM, &plain, &pn, &e), FG_OK);
  assert_int_equal(fg__border_seal(b, "photos", "template_sealed", photo, plain, pn, &sealed, &sn, &e), FG_OK);
  fg_val up[3] = {FG_V_NULL, FG_V_BLOB(sealed, sn), FG_V_INT(photo)};
  assert_int_equal(fg_store_exec(b->store, &FG_Q_MAN_PHOTO_SEAL, up, 3, NULL, NULL, &e), FG_OK);
  fg_val m = FG_V_INT(manifest);
  assert_int_equal(fg_store_exec_int(b->store, &FG_Q_MAN_BUMP, &m, 1, &rev, NULL, &e), FG_OK);
  assert_int_equal(fg__border_announce(b, FG__CHANNEL_MANIFEST, manifest, &e), FG_OK);
  assert_int_equal(fg_store_commit(b->store, &e), FG_OK);
  free(plain);
  free(sealed);
  return manifest;
}

/* A capture of tpl (with a little noise) at b's gate. */
static int capture(fg_border *b, const fg_actor *gate, int64_t manifest, const float *tpl,
                   fg_encounter_result *r, fg_error *e) {
  float probe[DIM];
  double s = 0;
  for (int i = 0; i < DIM; i++) {
    probe[i] = tpl[i] + 0.01f * gauss();
    s += (double)probe[i] * probe[i];
  }
  for (int i = 0; i < DIM; i++) probe[i] = (float)(probe[i] / sqrt(s));
  static const uint8_t bytes[64] = "synthetic capture bytes";
  fg_encounter_request rq = {.manifest_id = manifest, .gate = "C1", .image = bytes, .image_len = sizeof bytes};
  fg__precomputed_face face = {probe, DIM, 90.0f, 0};
  return fg__border_encounter_with(b, gate, &rq, &face, r, e);
}

static int setup(void **state) {
  (void)state;
  char p[1024];
  tu_path(p, sizeof p, tu_models_dir(), "fr_feature.onnx");
  have_models = tu_exists(p); /* the border needs the model's id for templates */
  ts_make(&t, "cluster");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ts_clean(&t);
  return 0;
}

#define NEED_MODELS() \
  if (!have_models) TU_SKIP("models not found in %s (run scripts/setup)", tu_models_dir())

static void test_sites_and_exit_linking(void **state) {
  (void)state;
  NEED_MODELS();
  fg_border *lhr = open_site("LHR"), *man = open_site("MAN"), *hq = open_site("XXX");
  float tpl[DIM];
  random_unit(tpl);
  int64_t inbound = stage(hq, "CL1", "LHR", "entry", "T1", tpl, 0);
  int64_t outbound = stage(hq, "CL2", "MAN", "exit", "T1", tpl, 0);
  fg_encounter_result r;
  fg_error e = {0};
  /* MAN's server takes no encounter against LHR's flight, and records nothing. */
  assert_int_equal(capture(man, &GATE_MAN, inbound, tpl, &r, &e), FG_ECONFLICT);
  assert_non_null(strstr(e.msg, "processed at LHR"));
  assert_int_equal(ts_raw_int(t.target, "SELECT count(*) FROM encounters"), 0);
  /* In at LHR, out at MAN: the exit closes the entry. */
  assert_int_equal(capture(lhr, &GATE_LHR, inbound, tpl, &r, &e), FG_OK);
  assert_int_equal(r.outcome, FG_OUTCOME_MATCHED);
  int64_t entry = r.crossing_id;
  assert_true(entry > 0);
  assert_int_equal(capture(man, &GATE_MAN, outbound, tpl, &r, &e), FG_OK);
  assert_int_equal(r.outcome, FG_OUTCOME_MATCHED);
  assert_true(r.crossing_id > 0);
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT entry_id FROM crossings WHERE id = %lld", (long long)r.crossing_id);
  assert_int_equal(ts_raw_int(t.target, sql), entry);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM crossings WHERE port = 'MAN' AND id = %lld",
           (long long)r.crossing_id);
  assert_int_equal(ts_raw_int(t.target, sql), 1);
  fg_border_close(lhr);
  fg_border_close(man);
  fg_border_close(hq);
}

typedef struct racer {
  fg_border *b;
  int64_t manifest;
  const float *tpl;
  fg_encounter_result r;
  int rc;
} racer;

static void *race(void *arg) {
  racer *x = arg;
  fg_error e;
  x->rc = capture(x->b, &GATE_LHR, x->manifest, x->tpl, &x->r, &e);
  return NULL;
}

static void test_same_traveller_twice_at_once(void **state) {
  (void)state;
  NEED_MODELS();
  fg_border *hq = open_site("XXX");
  float tpl[DIM];
  random_unit(tpl);
  int64_t manifest = stage(hq, "CL3", "XXX", "entry", "T2", tpl, 0);
  racer x[2];
  pthread_t th[2];
  for (int i = 0; i < 2; i++) {
    x[i] = (racer){.b = open_site("XXX"), .manifest = manifest, .tpl = tpl};
    capture(x[i].b, &GATE_LHR, 999999, tpl, &x[i].r, NULL); /* load the engine first: no head start */
  }
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, race, &x[i]), 0);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  int crossings = 0, already = 0;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(x[i].rc, FG_OK);
    assert_int_equal(x[i].r.outcome, FG_OUTCOME_MATCHED);
    crossings += x[i].r.crossing_id > 0;
    already += x[i].r.referral_id > 0 && !strcmp(x[i].r.referral_reason, "already_crossed");
    fg_border_close(x[i].b);
  }
  assert_int_equal(crossings, 1);
  assert_int_equal(already, 1);
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM crossings WHERE manifest_id = %lld", (long long)manifest);
  assert_int_equal(ts_raw_int(t.target, sql), 1);
  fg_border_close(hq);
}

static void test_changes_reach_cached_servers(void **state) {
  (void)state;
  NEED_MODELS();
  fg_border *lhr = open_site("LHR"), *hq = open_site("XXX");
  float a[DIM], w[DIM], v[DIM];
  random_unit(a);
  random_unit(w);
  random_unit(v);
  int64_t flight = stage(hq, "CL4", "LHR", "entry", "A1", a, 0);
  fg_encounter_result r;
  fg_error e = {0};
  /* LHR caches the flight gallery and the (empty) watchlist. */
  assert_int_equal(capture(lhr, &GATE_LHR, flight, a, &r, &e), FG_OK);
  assert_int_equal(r.outcome, FG_OUTCOME_MATCHED);
  assert_int_equal(r.watchlist_id, 0);
  /* Headquarters adds a watchlist entry: LHR's next capture of that face hits it. */
  int64_t entry;
  assert_int_equal(fg_border_watchlist_add_embeddings(hq, &SUP, "Watched", "test", 0, w, 1, DIM,
                                                      &entry, &e), FG_OK);
  assert_int_equal(capture(lhr, &GATE_LHR, flight, w, &r, &e), FG_OK);
  assert_int_equal(r.watchlist_id, entry);
  assert_string_equal(r.referral_reason, "watchlist");
  /* Headquarters amends the flight: LHR matches the new passenger at once. */
  stage(hq, "CL4", "LHR", "entry", "V1", v, flight);
  assert_int_equal(capture(lhr, &GATE_LHR, flight, v, &r, &e), FG_OK);
  assert_int_equal(r.outcome, FG_OUTCOME_MATCHED);
  assert_true(r.crossing_id > 0);
  /* Removing the entry reaches it too. */
  assert_int_equal(fg_border_watchlist_remove(hq, &SUP, entry, &e), FG_OK);
  assert_int_equal(capture(lhr, &GATE_LHR, flight, w, &r, &e), FG_OK);
  assert_int_equal(r.watchlist_id, 0);
  /* Everybody wrote to one chain, and it verifies. */
  json_t *av = NULL;
  assert_int_equal(fg_border_audit_verify_j(hq, &SUP, NULL, &av, &e), FG_OK);
  assert_true(json_is_true(json_object_get(av, "ok")));
  json_decref(av);
  fg_border_close(lhr);
  fg_border_close(hq);
}

/* A server holding another deployment's key file is refused at start, with
 * a message that says so; one without a key file creates none next to a
 * store sealed with one. */
static void test_other_deployments_key(void **state) {
  (void)state;
  NEED_MODELS();
  fg_border_close(open_site("XXX")); /* the store has this deployment's key check */
  ts_store other;
  ts_make(&other, "otherkey");
  fg_border_options o;
  fg_border_options_init(&o);
  o.data_dir = other.dir; /* no key file there yet */
  o.store = t.target;
  o.store_flags = FG_STORE_NOSYNC;
  fg_border *b = NULL;
  fg_error e = {0};
  assert_int_equal(fg_border_open(&o, &b, &e), FG_ENOTFOUND);
  assert_null(b);
  assert_non_null(strstr(e.msg, "key file"));
  char key[128];
  snprintf(key, sizeof key, "%s/facegate.key", other.dir);
  assert_false(tu_exists(key));
  /* Another deployment's key file. */
  fg_border_options mine = o;
  mine.store = other.target;
  assert_int_equal(fg_border_open(&mine, &b, &e), FG_OK); /* makes a key for `other` */
  fg_border_close(b);
  assert_int_equal(fg_border_open(&o, &b, &e), FG_EPERM);
  assert_null(b);
  assert_non_null(strstr(e.msg, "another key file"));
  ts_clean(&other);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sites_and_exit_linking),
      cmocka_unit_test(test_same_traveller_twice_at_once),
      cmocka_unit_test(test_changes_reach_cached_servers),
      cmocka_unit_test(test_other_deployments_key),
  };
  fprintf(stderr, "several servers on one %s store\n", ts_backend());
  return cmocka_run_group_tests(tests, setup, teardown);
}
