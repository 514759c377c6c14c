/*
 * Error rates per group in the evaluation (`facegate eval identify --labels`)
 * and the pieces they share with the daily report: the 95% Wilson interval
 * (fg_wilson95), the rule that withholds small groups (fg_groups_withhold) and
 * the labels file (fg_group_labels_parse).
 *
 * The end-to-end case runs the real command on a synthetic evaluation set
 * written by the test — LFW's layout with 60 made-up identities of three
 * (empty) images each, embeddings given with --embeddings, and a labels file
 * of invented groups (LFW has no official demographic labels, and none are
 * invented here for real people). Group "South" is planted to fail: its
 * images are far from their identity's centre, so its travellers are missed;
 * "North" is tight. Asserted: South's FNIR interval lies above North's; the
 * two small groups (6 and 5 people, min 10) are withheld from the text and the
 * JSON; the intervals are the formula's.
 */
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#include <jansson.h>

#include "testutil.h"

#include "facegate/eval.h"
#include "facegate/nn.h"

/* ---- Wilson ------------------------------------------------------------------------- */

static void test_wilson(void **state) {
  (void)state;
  double lo, hi;
  fg_wilson95(6, 12, &lo, &hi); /* worked by hand: centre 0.5, half 0.2462 */
  assert_float_equal(lo, 0.2538, 1e-4);
  assert_float_equal(hi, 0.7462, 1e-4);
  fg_wilson95(0, 12, &lo, &hi); /* upper = z²/(n+z²) */
  assert_float_equal(lo, 0, 0);
  assert_float_equal(hi, 3.8415 / 15.8415, 1e-4);
  fg_wilson95(12, 12, &lo, &hi);
  assert_float_equal(lo, 12 / 15.8415, 1e-4);
  assert_float_equal(hi, 1, 0);
  fg_wilson95(1, 1000, &lo, &hi); /* Wilson's, not the Wald interval's negative lower end */
  assert_float_equal(lo, 0.000177, 1e-6);
  assert_float_equal(hi, 0.005643, 1e-6);
  fg_wilson95(0, 0, &lo, &hi);
  assert_true(lo == 0 && hi == 1);
}

/* ---- withholding -------------------------------------------------------------------- */

static void test_withhold(void **state) {
  (void)state;
  uint8_t shown[4];
  int64_t a[] = {50, 30, 3, 25}; /* 3 alone could be recovered: the next smallest goes too */
  assert_int_equal(fg_groups_withhold(a, 4, 20, shown), 2);
  assert_true(shown[0] && shown[1] && !shown[2] && !shown[3]);
  int64_t b[] = {50, 12, 9, 8}; /* 9 + 8 >= 10: only those below */
  assert_int_equal(fg_groups_withhold(b, 4, 10, shown), 2);
  assert_true(shown[0] && shown[1] && !shown[2] && !shown[3]);
  int64_t b2[] = {50, 12, 9}; /* 9 alone would be 50 + 12 + 9 minus the shown: 12 goes too */
  assert_int_equal(fg_groups_withhold(b2, 3, 10, shown), 2);
  assert_true(shown[0] && !shown[1] && !shown[2]);
  int64_t c[] = {5, 4}; /* everything withheld */
  assert_int_equal(fg_groups_withhold(c, 2, 20, shown), 2);
  int64_t d[] = {20, 20};
  assert_int_equal(fg_groups_withhold(d, 2, 20, shown), 0);
  assert_int_equal(fg_groups_withhold(NULL, 0, 20, shown), 0);
}

/* ---- the labels file ------------------------------------------------------------------ */

static void expect_error(const char *text, const char *needle) {
  fg_group_labels *l = NULL;
  fg_error e = {0};
  assert_int_equal(fg_group_labels_parse(text, strlen(text), &l, &e), FG_EFORMAT);
  assert_null(l);
  if (!strstr(e.msg, needle)) {
    print_error("\"%s\" not in \"%s\"\n", needle, e.msg);
    fail();
  }
}

static void test_labels(void **state) {
  (void)state;
  static const char ok[] = "# made-up groups\r\nidentity,sex,age_band,region\r\n"
                           "Person_B,M,,\nPerson_A,F,30-44,Region North\n\nO'Brien_J.,X,75+,South_2\n";
  fg_group_labels *l = NULL;
  fg_error e = {0};
  assert_int_equal(fg_group_labels_parse(ok, strlen(ok), &l, &e), FG_OK);
  assert_int_equal(fg_group_labels_count(l), 3);
  assert_string_equal(fg_group_labels_get(l, "Person_A", FG_LABEL_REGION), "Region North");
  assert_string_equal(fg_group_labels_get(l, "Person_A", FG_LABEL_AGE_BAND), "30-44");
  assert_string_equal(fg_group_labels_get(l, "Person_B", FG_LABEL_SEX), "M");
  assert_string_equal(fg_group_labels_get(l, "Person_B", FG_LABEL_REGION), "");
  assert_string_equal(fg_group_labels_get(l, "O'Brien_J.", FG_LABEL_AGE_BAND), "75+");
  assert_null(fg_group_labels_get(l, "Person_C", FG_LABEL_SEX));
  assert_null(fg_group_labels_get(l, "Person_A", FG_LABEL_DIMS));
  fg_group_labels_free(l);

  expect_error("", "empty");
  expect_error("name,sex,age_band,region\n", "line 1: the first line must be");
  expect_error("identity,sex,age_band,region\nA,F,,\nB,F,,,\n", "line 3: expected 4 fields");
  expect_error("identity,sex,age_band,region\nA,female,,\n", "line 2: sex must be");
  expect_error("identity,sex,age_band,region\nA,F,\"30\",\n", "line 2: age_band and region");
  expect_error("identity,sex,age_band,region\n,F,,\n", "line 2: the identity");
  expect_error("identity,sex,age_band,region\nA b,F,,\n", "line 2: the identity");
  expect_error("identity,sex,age_band,region\nA,F,,\nB,M,,\nA,M,,\n", "identity A appears twice");
  static const char nul[] = "identity,sex,age_band,region\nA,F\0,,\n";
  assert_int_equal(fg_group_labels_parse(nul, sizeof nul - 1, &l, &e), FG_EFORMAT);
  assert_non_null(strstr(e.msg, "line 2: a NUL byte"));
  assert_int_equal(fg_group_labels_load("/nonexistent/labels.csv", &l, &e), FG_ENOTFOUND);
}

/* ---- the command, end to end ------------------------------------------------------------ */

#define IDS 60
#define IMAGES 3
#define DIM 32

static const char *region_of(int p) {
  return p < 25 ? "North" : p < 49 ? "South" : p < 55 ? "Tiny" : "Small";
}

static uint64_t lcg = 88172645463325252ull;
static double uniform(void) {
  lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
  return ((double)(lcg >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform()); }

static void unit(float *v) {
  double n = 0;
  for (int i = 0; i < DIM; i++) n += (double)v[i] * v[i];
  for (int i = 0; i < DIM; i++) v[i] = (float)(v[i] / sqrt(n));
}

typedef struct fx {
  char dir[96], images[160], npy[160], labels[160];
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  if (!f) return -1;
  const char *tmp = getenv("TMPDIR");
  snprintf(f->dir, sizeof f->dir, "%.40s/facegate-evalgroups-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(f->dir)) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  tu_rm_rf(f->dir);
  free(f);
  return 0;
}

/* The set: IDS identities of IMAGES empty files, embeddings in sorted image order. */
static void write_set(fx *f) {
  snprintf(f->images, sizeof f->images, "%s/lfw-deepfunneled", f->dir);
  assert_int_equal(mkdir(f->images, 0700), 0);
  for (int p = 0; p < IDS; p++) {
    char d[256], file[320];
    snprintf(d, sizeof d, "%s/Person_%03d", f->images, p);
    assert_int_equal(mkdir(d, 0700), 0);
    for (int k = 1; k <= IMAGES; k++) {
      snprintf(file, sizeof file, "%s/Person_%03d_%04d.jpg", d, p, k);
      FILE *o = fopen(file, "w");
      assert_non_null(o);
      fclose(o);
    }
  }
  fg_lfw_images set = {0};
  assert_int_equal(fg_lfw_images_scan(f->images, &set, NULL), FG_OK);
  assert_int_equal(set.count, IDS * IMAGES);
  float centre[IDS][DIM];
  for (int p = 0; p < IDS; p++) {
    for (int i = 0; i < DIM; i++) centre[p][i] = (float)gauss();
    unit(centre[p]);
  }
  float *emb = malloc(set.count * DIM * sizeof *emb);
  assert_non_null(emb);
  for (size_t i = 0; i < set.count; i++) {
    int p = atoi(set.images[i].name + strlen("Person_"));
    /* South: noise of norm ~1.5 around the centre (genuine cosine ~0.3); others ~0.05 */
    double sigma = (!strcmp(region_of(p), "South") ? 1.5 : 0.05) / sqrt(DIM);
    float *v = emb + i * DIM;
    for (int k = 0; k < DIM; k++) v[k] = centre[p][k] + (float)(sigma * gauss());
    unit(v);
  }
  fg_lfw_images_release(&set);
  snprintf(f->npy, sizeof f->npy, "%s/emb.npy", f->dir);
  int64_t dims[2] = {IDS * IMAGES, DIM};
  assert_int_equal(fg_npy_write(f->npy, emb, 2, dims, NULL), FG_OK);
  free(emb);

  snprintf(f->labels, sizeof f->labels, "%s/labels.csv", f->dir);
  FILE *o = fopen(f->labels, "w");
  assert_non_null(o);
  fprintf(o, "identity,sex,age_band,region\n");
  for (int p = 0; p < IDS; p++)
    fprintf(o, "Person_%03d,%s,%s,%s\n", p, p % 2 ? "M" : "F", p % 2 ? "" : "30-44", region_of(p));
  fclose(o);
}

static char *run(const fx *f, const char *extra, int *status) {
  const char *bin = getenv("FACEGATE_BIN");
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "'%s' eval identify '%s' --embeddings '%s' --gallery-size 10 --flights 20 --threads 1 %s 2>&1",
           bin && *bin ? bin : "build/facegate", f->dir, f->npy, extra);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t cap = 1 << 18, n = 0, k;
  char *out = malloc(cap);
  assert_non_null(out);
  while ((k = fread(out + n, 1, cap - 1 - n, p)) > 0) n += k;
  out[n] = '\0';
  *status = pclose(p);
  return out;
}

static const json_t *group(const json_t *dim, const char *name) {
  size_t i;
  const json_t *g;
  json_array_foreach(json_object_get(dim, "groups"), i, g) if (!strcmp(json_string_value(json_object_get(g, "group")), name))
      return g;
  return NULL;
}

static void check_ci(const json_t *r) {
  double lo, hi, k = (double)json_integer_value(json_object_get(r, "numerator")),
                 n = (double)json_integer_value(json_object_get(r, "denominator"));
  double z = 1.96, p = k / n, d = 1 + z * z / n;
  double c = (p + z * z / (2 * n)) / d, h = z / d * sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  lo = fmax(0, c - h), hi = fmin(1, c + h);
  assert_float_equal(json_real_value(json_array_get(json_object_get(r, "ci95"), 0)), lo, 1e-4);
  assert_float_equal(json_real_value(json_array_get(json_object_get(r, "ci95"), 1)), hi, 1e-4);
}

static void test_identify_groups(void **state) {
  fx *f = *state;
  write_set(f);
  char extra[300];
  int st;
  snprintf(extra, sizeof extra, "--labels '%s' --min-group 10 --json", f->labels);
  char *out = run(f, extra, &st);
  if (st != 0) print_error("%s\n", out);
  assert_int_equal(st, 0);
  const char *brace = strchr(out, '{'); /* progress lines go to stderr, merged above it */
  json_t *j = brace ? json_loads(brace, 0, NULL) : NULL;
  if (!j) print_error("not JSON:\n%s\n", out);
  assert_non_null(j);
  const json_t *g = json_object_get(j, "groups");
  assert_int_equal(json_integer_value(json_object_get(g, "min_people")), 10);
  assert_int_equal(json_integer_value(json_object_get(g, "labelled_people")), IDS);
  const json_t *region = json_object_get(g, "region");
  const json_t *north = group(region, "North"), *south = group(region, "South");
  assert_non_null(north);
  assert_non_null(south);
  assert_null(group(region, "Tiny"));
  assert_null(group(region, "Small"));
  assert_int_equal(json_integer_value(json_object_get(region, "withheld_groups")), 2);
  const json_t *fn = json_object_get(north, "fnir_at_fpir_0.003"), *fs = json_object_get(south, "fnir_at_fpir_0.003");
  check_ci(fn);
  check_ci(fs);
  check_ci(json_object_get(south, "fpir_at_fpir_0.01"));
  double n_hi = json_real_value(json_array_get(json_object_get(fn, "ci95"), 1));
  double s_lo = json_real_value(json_array_get(json_object_get(fs, "ci95"), 0));
  print_message("FNIR @ FPIR 0.003: North %.3f (upper %.3f), South %.3f (lower %.3f)\n",
                json_real_value(json_object_get(fn, "value")), n_hi,
                json_real_value(json_object_get(fs, "value")), s_lo);
  assert_true(s_lo > n_hi); /* the planted group fails more, beyond the intervals */
  /* Every mated search of the headline setting is in one region group. */
  json_int_t mated = json_integer_value(json_object_get(json_object_get(j, "one_image"), "mated_searches"));
  json_int_t shown = json_integer_value(json_object_get(north, "mated_searches")) +
                     json_integer_value(json_object_get(south, "mated_searches"));
  assert_true(shown > 0 && shown < mated);
  /* Sex: F and M, 30 people each; age band: 30-44 and unknown. */
  assert_int_equal(json_integer_value(json_object_get(group(json_object_get(g, "sex"), "F"), "people")), 30);
  assert_non_null(group(json_object_get(g, "age_band"), "unknown"));
  char *dump = json_dumps(g, JSON_COMPACT);
  assert_null(strstr(dump, "Tiny"));
  assert_null(strstr(dump, "Small"));
  free(dump);
  json_decref(j);
  free(out);

  /* The text. */
  snprintf(extra, sizeof extra, "--labels '%s' --min-group 10", f->labels);
  out = run(f, extra, &st);
  assert_int_equal(st, 0);
  assert_non_null(strstr(out, "error rates per group"));
  assert_non_null(strstr(out, "\n  South "));
  assert_non_null(strstr(out, "(2 groups withheld: too few people)"));
  assert_null(strstr(out, "Tiny"));
  assert_null(strstr(out, "Small"));
  free(out);

  /* A bad labels file: refused before any work, with its line. */
  char bad[192];
  snprintf(bad, sizeof bad, "%s/bad.csv", f->dir);
  FILE *o = fopen(bad, "w");
  assert_non_null(o);
  fputs("identity,sex,age_band,region\nPerson_000,woman,,\n", o);
  fclose(o);
  snprintf(extra, sizeof extra, "--labels '%s'", bad);
  out = run(f, extra, &st);
  assert_true(st != 0);
  assert_non_null(strstr(out, "labels: line 2: sex must be F, M, X or empty"));
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wilson),
      cmocka_unit_test(test_withhold),
      cmocka_unit_test(test_labels),
      cmocka_unit_test_setup_teardown(test_identify_groups, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
