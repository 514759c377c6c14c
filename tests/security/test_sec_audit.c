/*
 * The security suite, audit coverage (issue 12, item 8). A real server with a
 * staged flight records encounters (a match, a no-match referral), an
 * officer's decision and crossings, and publishes the audit chain's head to
 * an anchor file every second. Then someone with write access to the
 * database, but not the key file or the anchor file, edits it behind
 * facegate's back, one attack at a time, and GET /v1/audit/verify must name
 * each:
 *
 *   - an encounter changed from NO_MATCH to MATCHED;
 *   - a referral closed in the database, not by an officer;
 *   - a crossing deleted;
 *   - an encounter planted with no event;
 *   - the newest events deleted (the chain that is left verifies; the records
 *     and the published anchor do not);
 *   - every event deleted: an empty chain is never "ok".
 *
 * Before the attacks it verifies clean (a purge included, so that purged
 * records are told apart from deleted ones).
 */
#include "sec.h"

static sec_flight F;
static char anchors[200];

SEC_FIXTURE("secaudit")

/* GET /v1/audit/verify as the auditor. */
static json_t *verify(void) {
  sec_resp r;
  sec_get(&S, "/v1/audit/verify", sec_token(&S, "auditor"), &r);
  assert_int_equal(r.status, 200);
  json_t *j = sec_json(&r);
  sec_free(&r);
  return j;
}

/* Whether verification's record problems name `what`. */
static void print_problems(const json_t *v);
static int names(const json_t *v, const char *what) {
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(json_object_get(v, "records"), "problems"), i, p)
    if (strstr(json_string_value(p), what)) return 1;
  print_message("not named: \"%s\"\n", what);
  print_problems(v);
  return 0;
}

static void print_problems(const json_t *v) {
  char *s = json_dumps(v, JSON_COMPACT);
  print_message("%.1500s\n", s);
  free(s);
}

static void test_records_against_the_chain(void **state) {
  (void)state;
  snprintf(anchors, sizeof anchors, "%s/anchors.log", T.dir);
  const char *args[] = {"--anchor-file", anchors, "--anchor-interval", "1", NULL};
  sec_start(&T, &S, args);
  if (sec_stage_flight(&S, &F, "FG501") != 0)
    TU_SKIP("no models in %s, or no photos (LFW at %s, samples at %s)", tu_models_dir(), tu_lfw_dir(),
            tu_samples_dir());
  /* Two matches (crossings) and an outsider (no match, referred). */
  sec_resp r;
  int64_t matched = 0, unmatched = 0;
  for (int i = 0; i < 3; i++) {
    size_t n;
    uint8_t *jpg;
    if (i < 2) {
      jpg = sec_photo(&F, i == 0 ? 0 : 4, F.use_lfw ? 2 : 1, &n);
    } else { /* a face on nobody's passport */
      char path[1024];
      if (F.use_lfw) snprintf(path, sizeof path, "%s/lfw-deepfunneled/Aaron_Peirsol/Aaron_Peirsol_0001.jpg", tu_lfw_dir());
      else snprintf(path, sizeof path, "%s/sample4.jpg", tu_samples_dir());
      jpg = tu_read(path, &n);
    }
    sec_encounter(&S, F.manifest_id, "A1", jpg, n, 0, NULL, NULL, &r);
    free(jpg);
    assert_int_equal(r.status, 201);
    json_t *j = sec_json(&r);
    const char *action = json_string_value(json_object_get(j, "gate_action"));
    int64_t id = json_integer_value(json_object_get(j, "encounter_id"));
    if (!strcmp(action, "proceed")) matched = id;
    else unmatched = id;
    json_decref(j);
    sec_free(&r);
  }
  if (!matched || !unmatched) TU_SKIP("these photos gave no match and no-match pair here");
  int64_t referral = ts_int(T.target, "SELECT id FROM referrals WHERE encounter_id = ?", unmatched);
  int64_t crossing = ts_int(T.target, "SELECT id FROM crossings WHERE encounter_id = ?", matched);
  assert_true(referral > 0 && crossing > 0);
  /* An officer decides; the retention purge runs (deletes nothing due yet). */
  char path[96];
  snprintf(path, sizeof path, "/v1/referrals/%lld/decision", (long long)referral);
  const char *sec = "{\"decision\":\"secondary\"}";
  sec_post_json(&S, path, sec_token(&S, "officer"), sec, strlen(sec), &r);
  assert_int_equal(r.status, 200);
  sec_free(&r);
  sec_req q = {.method = "POST", .path = "/v1/purge", .token = sec_token(&S, "admin"),
               .ctype = "application/json", .body = "{}", .len = 2};
  sec_http(&S, &q, &r);
  assert_int_equal(r.status, 200);
  sec_free(&r);

  json_t *v = verify();
  if (!json_is_true(json_object_get(v, "ok"))) print_problems(v);
  assert_true(json_is_true(json_object_get(v, "ok")));
  assert_true(json_integer_value(json_object_get(json_object_get(json_object_get(v, "records"), "checked"),
                                                  "encounters")) >= 3);
  json_decref(v);

  /* 1. The no-match made a match. */
  char sql[200];
  snprintf(sql, sizeof sql, "UPDATE encounters SET outcome = 'MATCHED' WHERE id = %lld", (long long)unmatched);
  ts_raw(T.target, sql);
  v = verify();
  char want[64];
  snprintf(want, sizeof want, "encounter %lld does not match", (long long)unmatched);
  if (!names(v, want)) print_problems(v);
  assert_false(json_is_true(json_object_get(v, "ok")));
  assert_true(names(v, want));
  json_decref(v);
  /* 2. Its referral closed in the database. */
  snprintf(sql, sizeof sql, "UPDATE referrals SET status = 'closed', resolution = 'close' WHERE id = %lld",
           (long long)referral);
  ts_raw(T.target, sql);
  v = verify();
  snprintf(want, sizeof want, "referral %lld's status or decision", (long long)referral);
  assert_true(names(v, want));
  json_decref(v);
  /* 3. A crossing deleted. */
  snprintf(sql, sizeof sql, "DELETE FROM crossings WHERE id = %lld", (long long)crossing);
  ts_raw(T.target, sql);
  v = verify();
  snprintf(want, sizeof want, "crossing %lld was deleted", (long long)crossing);
  assert_true(names(v, want));
  json_decref(v);
  /* 4. An encounter no event wrote. */
  ts_raw(T.target, "INSERT INTO encounters(id, port, gate, at, outcome, actor) VALUES"
                   " (900001, 'XXX', 'A9', 1795773600, 'MATCHED', 'gate-1')");
  v = verify();
  assert_true(names(v, "encounter 900001 has no encounter.create event"));
  json_decref(v);

  /* 5. The newest events deleted: wait until the head is published, then cut. */
  int64_t head = ts_raw_int(T.target, "SELECT MAX(seq) FROM audit");
  int published = 0;
  for (int i = 0; i < 60 && !published; i++) {
    usleep(100 * 1000);
    size_t n = 0;
    if (!tu_exists(anchors)) continue;
    char *text = (char *)tu_read(anchors, &n);
    text = realloc(text, n + 1);
    text[n] = 0;
    char needle[64];
    snprintf(needle, sizeof needle, " %lld:", (long long)head);
    published = strstr(text, needle) != NULL;
    free(text);
  }
  assert_true(published);
  sec_stop(&S); /* no new events while the tail is cut */
  snprintf(sql, sizeof sql, "DELETE FROM audit WHERE seq > %lld", (long long)(head - 15));
  ts_raw(T.target, sql);
  sec_start(&T, &S, args);
  v = verify();
  print_message("after cutting the tail: chain_ok %d, anchors: %s\n",
                json_is_true(json_object_get(v, "chain_ok")),
                json_string_value(json_object_get(json_object_get(v, "anchors"), "problem")));
  assert_false(json_is_true(json_object_get(v, "ok")));
  assert_false(json_is_true(json_object_get(json_object_get(v, "anchors"), "ok")));
  assert_non_null(strstr(json_string_value(json_object_get(json_object_get(v, "anchors"), "problem")),
                         "removed from the end"));
  json_decref(v);

  /* 6. Every event deleted: never "ok". */
  sec_stop(&S);
  ts_raw(T.target, "DELETE FROM audit");
  sec_start(&T, &S, args);
  v = verify();
  print_message("after deleting every event: %s\n", json_string_value(json_object_get(v, "problem")));
  assert_false(json_is_true(json_object_get(v, "ok")));
  assert_false(json_is_true(json_object_get(v, "chain_ok")));
  assert_non_null(strstr(json_string_value(json_object_get(v, "problem")), "empty"));
  json_decref(v);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_records_against_the_chain, setup, teardown),
  };
  int rc = cmocka_run_group_tests_name("security: audit coverage", tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
