/*
 * The daily report's error rates per traveller group, end to end: real
 * manifests staged from real photos, real gate encounters through the border
 * API, officers' decisions, then the report as the library returns it, as
 * `facegate report` prints it (text and --json) and as the console's API
 * (GET /v1/reports/{date} on a real `facegate serve`) sends it.
 *
 * The day (policy: report_min_group 10, fta_max_tries 1): 35 travellers on 12
 * flights, each flight holding up to three of the npm sample photos that pass
 * the gate's quality check (every flight's gallery is three different people).
 *
 *   nationality AAA, travellers 0-11: all captured; 0 and 3 present someone
 *     else's face with their own passport (NO_MATCH; an officer then confirms
 *     who they are, which attributes the encounter); the four whose photo is
 *     on the watchlist are confirmed by an officer (false hits);
 *   nationality BBB, travellers 12-23: the planted group that fails more —
 *     12-17 present a blank frame (failure to acquire, attributed through the
 *     referral's document holder), the rest are matched;
 *   nationality CCC (2 travellers) and DDD (9): below 10, withheld together.
 *   Age bands: 3 travellers 75+ (withheld) and 12 aged 18-29 (withheld with
 *   them, since 3 alone could be recovered by subtraction); 20 aged 30-44.
 *
 * Asserted: each shown group's counts and rates with their 95% Wilson
 * intervals (worked out below from the formula, independently of the code);
 * BBB's FTAR [25.4%, 74.6%] against AAA's [0, 24.3%]; the withheld groups
 * appear nowhere — not in the JSON, not in the text, not in the API's answer —
 * and with the default minimum (20) every nationality is withheld; the
 * encounters attributed to nobody until an officer decides are counted apart;
 * only the supervisor and auditor roles get the report over HTTP.
 *
 * The store is the test's (tests/teststore.h): SQLite, or a new PostgreSQL
 * database when FACEGATE_TEST_STORE=postgresql.
 */
#include <limits.h>
#include <math.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "cli/border_json.h"
#include "facegate/border.h"
#include "facegate/server.h"
#include "teststore.h"

/* The report chart draws text with cairo, whose fontconfig caches live until exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\nleak:libcairo.so\n"; }

#define N 35
#define DAY "2026-11-27"

typedef struct fx {
  ts_store t;
  char photos[3][PATH_MAX + 64];
  char policy[128];
  int64_t now;
  fg_border *b;
} fx;

static const fg_actor SUP = {"supervisor-1", "supervisor", NULL};
static const fg_actor OFFICER = {"officer-1", "officer", NULL};
static const fg_actor AUDITOR = {"auditor-1", "auditor", NULL};

static int64_t test_clock(void *ctx) { return ((fx *)ctx)->now; }

static int64_t at_time(const char *s) {
  int64_t t;
  assert_int_equal(fg_time_parse(s, &t), FG_OK);
  return t;
}

/* Traveller id of a document number, through the crossings API. */
static int64_t traveller_of(fx *f, int i) {
  char number[16];
  snprintf(number, sizeof number, "G%05d", i);
  json_t *out = NULL;
  assert_int_equal(fg_border_crossings_j(f->b, &OFFICER, number, &out, NULL), FG_OK);
  int64_t id = json_integer_value(json_object_get(json_object_get(out, "traveller"), "id"));
  json_decref(out);
  assert_true(id > 0);
  return id;
}

static const char *nationality(int i) {
  return i < 12 ? "AAA" : i < 24 ? "BBB" : i < 26 ? "CCC" : "DDD";
}
static const char *birth(int i) {
  return i < 3 ? "1940-01-01" : i < 15 ? "2000-06-01" : "1985-03-15"; /* 86, 26, 41 on DAY */
}
static int fails_to_acquire(int i) { return i >= 12 && i <= 17; }
static int shows_other_face(int i) { return i == 0 || i == 3; }
static int watchlisted(int i) { return i % 3 == 2; } /* sample6.jpg is on the watchlist */

static void doc(int i, char out[16]) { snprintf(out, 16, "G%05d", i); }

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  if (!f) return -1;
  *state = f;
  ts_make(&f->t, "groups");
  static const char *files[3] = {"sample3.jpg", "sample5.jpg", "sample6.jpg"};
  char dir[PATH_MAX];
  if (!realpath(tu_samples_dir(), dir)) return 0; /* the test skips */
  for (int k = 0; k < 3; k++) tu_path(f->photos[k], sizeof f->photos[k], dir, files[k]);
  snprintf(f->policy, sizeof f->policy, "%s/policy.json", f->t.dir);
  FILE *p = fopen(f->policy, "w");
  if (!p) return -1;
  fputs("{\"report_min_group\": 10, \"fta_max_tries\": 1}\n", p);
  fclose(p);
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  if (f->b) fg_border_close(f->b);
  ts_clean(&f->t);
  free(f);
  return 0;
}

static fg_border *open_border(fx *f, const char *policy) {
  fg_border_options o;
  fg_border_options_init(&o);
  o.data_dir = f->t.dir;
  o.store = ts_store_opt(&f->t);
  o.store_flags = FG_STORE_NOSYNC;
  o.policy_file = policy;
  o.face.models_dir = tu_models_dir();
  o.port = "JFK";
  o.clock = test_clock;
  o.clock_ctx = f;
  fg_border *b = NULL;
  fg_error e = {0};
  int rc = fg_border_open(&o, &b, &e);
  if (rc != FG_OK) print_error("open: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  return b;
}

/* Flight `flight` holds travellers 3*flight .. 3*flight+2, traveller i with photo i % 3. */
static int64_t stage(fx *f, int flight) {
  json_t *pax = json_array();
  for (int i = 3 * flight; i < 3 * flight + 3 && i < N; i++) {
    char number[16], name[32];
    doc(i, number);
    snprintf(name, sizeof name, "TRAVELLER%02d", i);
    json_array_append_new(
        pax, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:[s]}", "surname",
                       name, "given_names", "", "date_of_birth", birth(i), "nationality",
                       nationality(i), "sex", i % 2 ? "M" : "F", "category", "foreign",
                       "document", "type", "P", "number", number, "issuing_state",
                       nationality(i), "expiry", "2031-01-01", "photos", f->photos[i % 3] + 1));
  }
  char fl[16];
  snprintf(fl, sizeof fl, "XA%03d", flight);
  json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "carrier", "XA", "flight", fl, "port",
                        "JFK", "scheduled", DAY "T10:00:00Z", "direction", "entry", "passengers",
                        pax);
  char *js = json_dumps(m, 0);
  json_decref(m);
  fg_manifest_import_opts io = {.format = FG_MANIFEST_JSON, .base_dir = "/"};
  json_t *rep = NULL;
  fg_error e = {0};
  int rc = fg_border_manifest_import_buffer_j(f->b, &SUP, js, strlen(js), &io, &rep, &e);
  if (rc != FG_OK) print_error("import: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  free(js);
  int64_t id = json_integer_value(json_object_get(rep, "manifest_id"));
  assert_true(id > 0);
  json_decref(rep);
  return id;
}

static fg_encounter_result encounter(fx *f, int64_t manifest, int i) {
  static uint8_t blank[13 + 64 * 64];
  memcpy(blank, "P5\n64 64\n255\n", 13);
  memset(blank + 13, 128, sizeof blank - 13);
  size_t n = sizeof blank;
  uint8_t *img = NULL;
  if (!fails_to_acquire(i)) img = tu_read(f->photos[(i + shows_other_face(i)) % 3], &n);
  char number[16];
  doc(i, number);
  fg_actor gate = {"gate-A1", "gate", NULL};
  fg_encounter_request rq = {.manifest_id = manifest, .gate = "A1",
                             .image = img ? img : blank, .image_len = n, .document = number};
  fg_encounter_result r;
  fg_error e = {0};
  int rc = fg_border_encounter(f->b, &gate, &rq, &r, &e);
  if (rc != FG_OK) print_error("encounter %d: %s\n", i, e.msg);
  assert_int_equal(rc, FG_OK);
  free(img);
  return r;
}

static void confirm(fx *f, int64_t referral, int64_t traveller) {
  fg_error e = {0};
  int rc = fg_border_referral_decide_j(f->b, &OFFICER, referral, "confirm", traveller,
                                     "passport checked by hand", NULL, &e);
  if (rc != FG_OK) print_error("decide %lld: %s\n", (long long)referral, e.msg);
  assert_int_equal(rc, FG_OK);
}

/* ---- checking the report ---------------------------------------------------------- */

/* The 95% Wilson interval, written out here from the formula (not the library's). */
static void wilson(double k, double n, double *lo, double *hi) {
  double z = 1.96, p = k / n, d = 1 + z * z / n;
  double c = (p + z * z / (2 * n)) / d, h = z / d * sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  *lo = fmax(0, c - h);
  *hi = fmin(1, c + h);
}

static const json_t *find_group(const json_t *rep, const char *dim, const char *key) {
  const json_t *groups = json_object_get(json_object_get(json_object_get(rep, "groups"), dim),
                                         "groups");
  size_t i;
  const json_t *g;
  json_array_foreach(groups, i, g) if (!strcmp(json_string_value(json_object_get(g, "group")), key))
      return g;
  return NULL;
}

static json_int_t count_of(const json_t *g, const char *k) {
  return json_integer_value(json_object_get(g, k));
}

static void check_rate(const json_t *g, const char *rate, int k, int n) {
  const json_t *r = json_object_get(json_object_get(g, "rates"), rate);
  assert_int_equal(json_integer_value(json_object_get(r, "numerator")), k);
  assert_int_equal(json_integer_value(json_object_get(r, "denominator")), n);
  assert_float_equal(json_real_value(json_object_get(r, "value")), (double)k / n, 1e-12);
  double lo, hi;
  wilson(k, n, &lo, &hi);
  const json_t *ci = json_object_get(r, "ci95");
  assert_float_equal(json_real_value(json_array_get(ci, 0)), lo, 1e-4);
  assert_float_equal(json_real_value(json_array_get(ci, 1)), hi, 1e-4);
}

static size_t withheld(const json_t *rep, const char *dim) {
  return (size_t)json_integer_value(
      json_object_get(json_object_get(json_object_get(rep, "groups"), dim), "withheld_groups"));
}

static size_t shown(const json_t *rep, const char *dim) {
  return json_array_size(
      json_object_get(json_object_get(json_object_get(rep, "groups"), dim), "groups"));
}

/* Neither withheld nationality nor the withheld age bands appear anywhere in text. */
static void assert_nothing_withheld(const char *text) {
  static const char *const never[] = {"CCC", "DDD", "75+", "18-29"};
  for (int i = 0; i < 4; i++)
    if (strstr(text, never[i])) {
      print_error("a withheld group (%s) is in the output:\n%s\n", never[i], text);
      fail();
    }
}

static void check_report(const json_t *rep) {
  const json_t *g = json_object_get(rep, "groups");
  assert_int_equal(count_of(g, "min_travellers"), 10);
  assert_int_equal(count_of(g, "attributed_encounters"), N);
  assert_int_equal(count_of(g, "unattributed_encounters"), 0);

  /* Nationality: AAA and BBB shown, CCC (2) and DDD (9) withheld together (11). */
  assert_int_equal(shown(rep, "nationality"), 2);
  assert_int_equal(withheld(rep, "nationality"), 2);
  const json_t *a = find_group(rep, "nationality", "AAA"), *b = find_group(rep, "nationality", "BBB");
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(count_of(a, "travellers"), 12);
  assert_int_equal(count_of(a, "encounters"), 12);
  assert_int_equal(count_of(a, "with_face"), 12);
  assert_int_equal(count_of(a, "watchlist_hits"), 4);
  check_rate(a, "capture_rate", 12, 12);
  check_rate(a, "ftar", 0, 12);
  check_rate(a, "match_rate", 10, 12);
  check_rate(a, "fnir", 2, 12);
  check_rate(a, "watchlist_false_hit_rate", 4, 12);
  /* The planted group: half its travellers fail to acquire. */
  assert_int_equal(count_of(b, "travellers"), 12);
  assert_int_equal(count_of(b, "attempted"), 12);
  assert_int_equal(count_of(b, "with_face"), 6);
  assert_int_equal(count_of(b, "watchlist_hits"), 2);
  check_rate(b, "capture_rate", 6, 12);
  check_rate(b, "ftar", 6, 12);
  check_rate(b, "fnir", 0, 6);
  check_rate(b, "watchlist_false_hit_rate", 0, 6); /* two hits, neither resolved yet */
  /* The report says BBB fails more, and its interval does not overlap AAA's. */
  const json_t *fa = json_object_get(json_object_get(a, "rates"), "ftar"),
               *fb = json_object_get(json_object_get(b, "rates"), "ftar");
  double a_hi = json_real_value(json_array_get(json_object_get(fa, "ci95"), 1));
  double b_lo = json_real_value(json_array_get(json_object_get(fb, "ci95"), 0));
  assert_true(b_lo > a_hi);
  print_message("FTAR: BBB 6/12 [%.1f%%, %.1f%%], AAA 0/12 [0, %.1f%%]\n", 100 * b_lo,
                100 * json_real_value(json_array_get(json_object_get(fb, "ci95"), 1)), 100 * a_hi);

  /* Sex: F 18, M 17, both shown. */
  assert_int_equal(shown(rep, "sex"), 2);
  assert_int_equal(withheld(rep, "sex"), 0);
  assert_int_equal(count_of(find_group(rep, "sex", "F"), "travellers"), 18);
  assert_int_equal(count_of(find_group(rep, "sex", "M"), "travellers"), 17);
  /* Age: 75+ (3) is withheld, and 18-29 (12) with it, since the 3 alone could be
   * recovered from the shown groups and the total; 30-44 (20) is shown. */
  assert_int_equal(shown(rep, "age_band"), 1);
  assert_int_equal(withheld(rep, "age_band"), 2);
  assert_int_equal(count_of(find_group(rep, "age_band", "30-44"), "travellers"), 20);
  assert_null(find_group(rep, "age_band", "75+"));
  assert_null(find_group(rep, "age_band", "18-29"));

  char *text = json_dumps(rep, JSON_COMPACT);
  assert_nothing_withheld(text);
  free(text);
}

/* ---- the command line ---------------------------------------------------------------- */

static char *run_cli(fx *f, const char *policy, int json) {
  const char *bin = getenv("FACEGATE_BIN"), *store = ts_store_opt(&f->t);
  char cmd[2048], opt_store[700] = "", opt_policy[300] = "";
  if (store) snprintf(opt_store, sizeof opt_store, " --store '%s'", store);
  if (policy) snprintf(opt_policy, sizeof opt_policy, " --config '%s'", policy);
  snprintf(cmd, sizeof cmd, "'%s' report --date " DAY " --data '%s'%s%s --as auditor-1%s 2>&1",
           bin && *bin ? bin : "build/facegate", f->t.dir, opt_store, opt_policy,
           json ? " --json" : "");
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t cap = 1 << 16, n = 0;
  char *out = malloc(cap);
  assert_non_null(out);
  size_t k;
  while ((k = fread(out + n, 1, cap - 1 - n, p)) > 0) n += k;
  out[n] = '\0';
  int st = pclose(p);
  if (st != 0) print_error("%s\n%s\n", cmd, out);
  assert_int_equal(st, 0);
  return out;
}

/* ---- the console's API ---------------------------------------------------------------- */

typedef struct buf {
  char *p;
  size_t n;
} buf;

static size_t on_body(char *p, size_t sz, size_t n, void *ctx) {
  buf *b = ctx;
  char *q = realloc(b->p, b->n + sz * n + 1);
  if (!q) return 0;
  memcpy(q + b->n, p, sz * n);
  b->p = q;
  b->n += sz * n;
  b->p[b->n] = '\0';
  return sz * n;
}

static long http_get(unsigned port, const char *path, const char *token, buf *out) {
  CURL *c = curl_easy_init();
  assert_non_null(c);
  char url[256], auth[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
  struct curl_slist *h = curl_slist_append(NULL, auth);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  long status = 0;
  assert_int_equal(curl_easy_perform(c), CURLE_OK);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return status;
}

static void check_api(fx *f) {
  char tokens[3][FG_API_TOKEN_LEN];
  static const char *const roles[3] = {"auditor", "supervisor", "officer"};
  fg_actor local = {"test", "local", NULL};
  for (int i = 0; i < 3; i++) {
    char name[32];
    snprintf(name, sizeof name, "%s-api", roles[i]);
    assert_int_equal(fg_api_token_create(f->b, &local, name, roles[i], tokens[i], NULL, NULL),
                     FG_OK);
  }
  fg_border_close(f->b);
  f->b = NULL;

  char web[160];
  snprintf(web, sizeof web, "%s/web", f->t.dir);
  assert_int_equal(mkdir(web, 0700), 0);
  fg_server_options o;
  fg_server_options_init(&o);
  o.listen = "127.0.0.1:0";
  o.web_dir = web;
  o.threads = 1;
  o.purge_interval = 0;
  o.border.data_dir = f->t.dir;
  o.border.store = ts_store_opt(&f->t);
  o.border.store_flags = FG_STORE_NOSYNC;
  o.border.policy_file = f->policy;
  o.border.face.models_dir = tu_models_dir();
  o.border.clock = test_clock;
  o.border.clock_ctx = f;
  fg_server *s = NULL;
  fg_error e = {0};
  int rc = fg_server_create(&o, &s, &e);
  if (rc != FG_OK) print_error("server: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  unsigned port = fg_server_port(s);

  for (int i = 0; i < 3; i++) {
    buf b = {0};
    long st = http_get(port, "/v1/reports/" DAY, tokens[i], &b);
    if (i < 2) {
      assert_int_equal(st, 200);
      json_t *rep = json_loads(b.p, 0, NULL);
      assert_non_null(rep);
      check_report(rep);
      json_decref(rep);
      assert_nothing_withheld(b.p);
    } else {
      assert_int_equal(st, 403); /* an officer does not see reports, nor their groups */
      assert_null(strstr(b.p ? b.p : "", "AAA"));
    }
    free(b.p);
  }
  fg_server_destroy(s);
}

/* ---- the day --------------------------------------------------------------------------- */

static void test_groups(void **state) {
  fx *f = *state;
  if (!f->photos[0][0] || !tu_exists(f->photos[0])) TU_SKIP("the npm sample photos (%s)", tu_samples_dir());
  f->now = at_time(DAY "T08:00:00Z");
  f->b = open_border(f, f->policy);

  /* The watchlist holds sample6's face: the four AAA travellers with that
   * photo are hits an officer clears (false hits). */
  size_t wn;
  uint8_t *wimg = tu_read(f->photos[2], &wn);
  const uint8_t *imgs[1] = {wimg};
  int64_t wid = 0;
  assert_int_equal(fg_border_watchlist_add(f->b, &SUP, "PERSON OF INTEREST", "test", 0, imgs, &wn,
                                           1, &wid, NULL),
                   FG_OK);
  free(wimg);

  int64_t manifests[12];
  for (int fl = 0; fl < 12; fl++) manifests[fl] = stage(f, fl);
  f->now = at_time(DAY "T10:30:00Z");
  int64_t pending[2];
  int np = 0;
  for (int i = 0; i < N; i++) {
    fg_encounter_result r = encounter(f, manifests[i / 3], i);
    f->now += 20;
    if (fails_to_acquire(i)) {
      assert_int_equal(r.outcome, FG_OUTCOME_FAILURE_TO_ACQUIRE);
      assert_string_equal(r.referral_reason, "failure_to_acquire");
    } else if (shows_other_face(i)) {
      assert_int_equal(r.outcome, FG_OUTCOME_NO_MATCH);
      pending[np++] = r.referral_id;
    } else {
      assert_int_equal(r.outcome, FG_OUTCOME_MATCHED);
      assert_int_equal(r.watchlist_id > 0, watchlisted(i));
      if (watchlisted(i) && i < 12) confirm(f, r.referral_id, r.traveller_id);
    }
  }

  /* Before the officer decides, the two NO_MATCH encounters belong to nobody. */
  json_t *rep = NULL;
  fg_error e = {0};
  assert_int_equal(fg_border_report_j(f->b, &AUDITOR, DAY, NULL, &rep, &e), FG_OK);
  assert_int_equal(count_of(json_object_get(rep, "groups"), "unattributed_encounters"), 2);
  assert_int_equal(count_of(find_group(rep, "nationality", "AAA"), "encounters"), 10);
  json_decref(rep);
  /* The officer checks their passports: travellers 0 and 3. */
  confirm(f, pending[0], traveller_of(f, 0));
  confirm(f, pending[1], traveller_of(f, 3));

  assert_int_equal(fg_border_report_j(f->b, &AUDITOR, DAY, NULL, &rep, &e), FG_OK);
  check_report(rep);
  /* The day's rates carry their interval too. */
  const json_t *ftar = json_object_get(json_object_get(rep, "rates"), "ftar");
  assert_int_equal(json_integer_value(json_object_get(ftar, "numerator")), 6);
  assert_true(json_is_array(json_object_get(ftar, "ci95")));
  json_decref(rep);

  /* With the default minimum (20), every nationality is withheld. */
  fg_border_close(f->b);
  f->b = open_border(f, NULL);
  assert_int_equal(fg_border_report_j(f->b, &AUDITOR, DAY, NULL, &rep, &e), FG_OK);
  assert_int_equal(count_of(json_object_get(rep, "groups"), "min_travellers"), 20);
  assert_int_equal(shown(rep, "nationality"), 0);
  assert_int_equal(withheld(rep, "nationality"), 4);
  assert_null(find_group(rep, "nationality", "BBB"));
  /* 30-44 has 20 travellers, but the 15 in the other bands would be recovered
   * by subtraction: all three are withheld. */
  assert_int_equal(shown(rep, "age_band"), 0);
  assert_int_equal(withheld(rep, "age_band"), 3);
  json_decref(rep);
  char *out = run_cli(f, NULL, 0);
  assert_null(strstr(out, "AAA"));
  assert_null(strstr(out, "BBB"));
  assert_non_null(strstr(out, "(4 groups withheld: too few travellers)"));
  free(out);
  fg_border_close(f->b);
  f->b = open_border(f, f->policy);

  /* The command line, text and JSON. */
  out = run_cli(f, f->policy, 0);
  fputs(out, stdout);
  assert_non_null(strstr(out, "by nationality"));
  const char *bbb = strstr(out, "\n    BBB ");
  if (!bbb) print_error("no BBB row in:\n%s\n", out);
  assert_non_null(bbb);
  assert_non_null(strstr(bbb, "50.0% [25.4-74.6]"));
  assert_non_null(strstr(out, "\n    AAA "));
  assert_non_null(strstr(out, "(2 groups withheld: too few travellers)"));
  assert_nothing_withheld(out);
  free(out);
  out = run_cli(f, f->policy, 1);
  json_t *cj = json_loads(out, 0, NULL);
  if (!cj) print_error("not JSON:\n%s\n", out);
  assert_non_null(cj);
  check_report(cj);
  json_decref(cj);
  free(out);

  /* The console's API. */
  check_api(f);
}

int main(void) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
