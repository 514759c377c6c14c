/*
 * The security suite, what a gate learns (issue 12, item 9): a gate token's
 * encounter reply used to carry the traveller's name, the watchlist hit and
 * its score, the referral's reason; its opt-out replies told whether a
 * document was on the flight and its holder's category. Against a real
 * server with a staged flight (LFW, else the sample photos), this checks
 * that a gate is told only the action (and a retake's reasons):
 *
 *   - a matched traveller, a watchlisted one and an unknown face: replies hold
 *     exactly encounter_id, gate_action, replayed; a retry with the same
 *     Idempotency-Key (the stored first outcome) too;
 *   - a capture with no face: "retry" with its reasons;
 *   - opt-outs by a citizen on the flight (accepted), a foreign national on
 *     the flight (not allowed), and a document not on the flight: three
 *     byte-identical replies, retries included; the officer sees the accepted
 *     one in the queue, and the audit chain records each refusal with its
 *     reason and without the document number;
 *   - the officer's view still has everything (the watchlist referral).
 */
#include "sec.h"

static sec_flight F;

SEC_FIXTURE("secgate")

/* Only these members, and no others. */
static void assert_members(const char *body, const char *const *allowed) {
  json_t *j = json_loads(body, 0, NULL);
  assert_non_null(j);
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v) {
    int ok = 0;
    for (int i = 0; allowed[i]; i++) ok |= !strcmp(k, allowed[i]);
    if (!ok) print_error("a gate was told \"%s\": %s\n", k, body);
    assert_true(ok);
  }
  json_decref(j);
}

static const char *const CAPTURE_VIEW[] = {"encounter_id", "gate_action", "replayed", NULL};
static const char *const RETRY_VIEW[] = {"encounter_id", "gate_action", "replayed",
                                         "retry_reasons", "tries", NULL};

static void test_gate_view(void **state) {
  (void)state;
  sec_start(&T, &S, NULL);
  if (sec_stage_flight(&S, &F, "FG301") != 0)
    TU_SKIP("no models in %s, or no photos (LFW at %s, samples at %s)", tu_models_dir(), tu_lfw_dir(),
            tu_samples_dir());
  /* Passenger 2 is on the watchlist (another photo of theirs). */
  size_t n;
  uint8_t *wl = sec_photo(&F, 2, F.use_lfw ? 3 : 1, &n);
  char *b64 = sec_b64(wl, n);
  json_t *entry = json_pack("{s:s,s:s,s:[s]}", "name", "Watched Qwertz", "reason",
                            "armed and dangerous (test)", "photos", b64);
  char *text = json_dumps(entry, JSON_COMPACT);
  sec_resp r;
  sec_post_json(&S, "/v1/watchlist", sec_token(&S, "supervisor"), text, strlen(text), &r);
  assert_int_equal(r.status, 201);
  sec_free(&r);
  free(text);
  free(b64);
  free(wl);
  json_decref(entry);

  /* A matched traveller, then the watchlisted one, each once more with its key. */
  int who[2] = {0, 2};
  const char *want[2] = {"proceed", "see_officer"};
  int64_t watched_encounter = 0;
  for (int i = 0; i < 2; i++) {
    uint8_t *cap = sec_photo(&F, who[i], F.use_lfw ? 2 : 1, &n);
    char key[32], first[1024];
    snprintf(key, sizeof key, "sec-gate-%d", i);
    sec_encounter(&S, F.manifest_id, "G1", cap, n, 0, NULL, key, &r);
    assert_int_equal(r.status, 201);
    print_message("gate told: %s\n", r.body);
    assert_members(r.body, CAPTURE_VIEW);
    json_t *j = sec_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "gate_action")), want[i]);
    if (i == 1) watched_encounter = json_integer_value(json_object_get(j, "encounter_id"));
    json_decref(j);
    snprintf(first, sizeof first, "%s", r.body);
    sec_free(&r);
    sec_encounter(&S, F.manifest_id, "G1", cap, n, 0, NULL, key, &r); /* the stored first outcome */
    assert_int_equal(r.status, 201);
    assert_members(r.body, CAPTURE_VIEW);
    j = sec_json(&r);
    assert_true(json_is_true(json_object_get(j, "replayed")));
    assert_string_equal(json_string_value(json_object_get(j, "gate_action")), want[i]);
    json_decref(j);
    assert_null(strstr(r.body, SEC_SURNAME[who[i]]));
    sec_free(&r);
    free(cap);
  }
  /* The officer has the rest: the watchlist referral of that encounter. */
  sec_get(&S, "/v1/referrals", sec_token(&S, "officer"), &r);
  assert_int_equal(r.status, 200);
  json_t *refs = sec_json(&r);
  sec_free(&r);
  int seen = 0;
  size_t i;
  json_t *x;
  json_array_foreach(refs, i, x) if (json_integer_value(json_object_get(x, "encounter_id")) == watched_encounter) {
    assert_string_equal(json_string_value(json_object_get(x, "reason")), "watchlist");
    seen = 1;
  }
  json_decref(refs);
  assert_true(seen);

  /* No face: a retake, with its reasons. */
  static const uint8_t blank_pgm[] = "P5 64 64 255\n";
  size_t blen = sizeof blank_pgm - 1 + 64 * 64;
  uint8_t *blank = calloc(1, blen);
  memcpy(blank, blank_pgm, sizeof blank_pgm - 1);
  memset(blank + sizeof blank_pgm - 1, 128, 64 * 64);
  sec_encounter(&S, F.manifest_id, "G2", blank, blen, 0, NULL, NULL, &r);
  free(blank);
  assert_int_equal(r.status, 201);
  assert_members(r.body, RETRY_VIEW);
  json_t *j = sec_json(&r);
  assert_string_equal(json_string_value(json_object_get(j, "gate_action")), "retry");
  json_decref(j);
  sec_free(&r);
}

static void test_opt_out_view(void **state) {
  (void)state;
  sec_start(&T, &S, NULL);
  if (sec_stage_flight(&S, &F, "FG302") != 0)
    TU_SKIP("no models in %s, or no photos (LFW at %s, samples at %s)", tu_models_dir(), tu_lfw_dir(),
            tu_samples_dir());
  /* A citizen on the flight (accepted), a foreign national on it (not
   * allowed), a document on no flight: the same answer, retries included. */
  const char *docs[3] = {SEC_DOC[1], SEC_DOC[0], "QX0000001"};
  char answers[6][256];
  for (int k = 0; k < 6; k++) {
    sec_resp r;
    char key[32];
    snprintf(key, sizeof key, "sec-opt-%d", k % 3);
    sec_encounter(&S, F.manifest_id, "G3", NULL, 0, 1, docs[k % 3], key, &r);
    if (r.status != 201) print_error("opt-out %d: %ld %s\n", k, r.status, r.body ? r.body : "");
    assert_int_equal(r.status, 201);
    snprintf(answers[k], sizeof answers[k], "%s", r.body);
    sec_free(&r);
  }
  print_message("opt-out answers: %s | %s | %s\n", answers[0], answers[1], answers[2]);
  for (int k = 1; k < 6; k++) assert_string_equal(answers[k], answers[0]);
  assert_string_equal(answers[0], "{\"gate_action\":\"see_officer\"}");
  /* The officer sees the accepted one; the refusals are in the audit chain
   * with their reasons, never the document number. */
  sec_resp r;
  sec_get(&S, "/v1/referrals?status=open", sec_token(&S, "officer"), &r);
  assert_non_null(strstr(r.body, "\"opt_out\""));
  sec_free(&r);
  sec_get(&S, "/v1/audit?limit=1000", sec_token(&S, "auditor"), &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "encounter.opt_out_refused"));
  assert_non_null(strstr(r.body, "not_allowed"));
  assert_non_null(strstr(r.body, "not_on_manifest"));
  assert_null(strstr(r.body, "QX0000001"));
  assert_null(strstr(r.body, SEC_DOC[0]));
  sec_free(&r);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_gate_view, setup, teardown),
      cmocka_unit_test_setup_teardown(test_opt_out_view, setup, teardown),
  };
  int rc = cmocka_run_group_tests_name("security: what a gate learns", tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
