/*
 * Evaluation module tests: the pairs.txt parser (a valid file, every kind of
 * malformed line with the line number in the message, the real LFW file when
 * present), the metrics on scores whose answers are known or hand-computed
 * (docs/evaluation.md walks the k-fold case), the calibration's exact order
 * statistics against a brute-force sort of all pair scores, the SIMD pairwise
 * kernel against its plain-C twin, and the DET plot writing a real PNG and SVG.
 * No model is run here: everything is synthetic and takes well under a second.
 */
#include <math.h>

#include "calib/calib_internal.h"
#include "eval/eval_internal.h"
#include "facegate/calibration.h"
#include "facegate/eval.h"
#include "testutil.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF /* brute force must round exactly as the kernel */
#endif

/* Under `make check-asan`: fontconfig (loaded by cairo for the plot's text)
 * keeps process-lifetime caches that LeakSanitizer reports; they are not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\nleak:libcairo.so\n"; }

/* ---- helpers ------------------------------------------------------------------ */

/* |a - b| <= eps (cmocka 1.1.5 has no assert_double_equal). */
#define assert_near(a, b, eps)                                                          \
  do {                                                                                  \
    double a_ = (double)(a), b_ = (double)(b);                                         \
    if (!(fabs(a_ - b_) <= (double)(eps)))                                             \
      fail_msg("%s = %.17g, expected %s = %.17g (tolerance %g)", #a, a_, #b, b_, (double)(eps)); \
  } while (0)

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void) { /* xorshift64*, uniform in [0, 1) */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}
static double nrand(void) {
  double u = urand() + 1e-12, v = urand();
  return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Parse `text`, expect failure with a message containing `needle`. */
static void expect_parse_error(const char *text, const char *needle) {
  fg_lfw_pairs p;
  fg_error e = {0};
  int rc = fg_lfw_pairs_parse(text, strlen(text), &p, &e);
  if (rc != FG_EFORMAT || !strstr(e.msg, needle)) {
    print_error("rc %d, message \"%s\", wanted \"%s\"\n", rc, e.msg, needle);
    fail();
  }
  assert_null(p.pairs);
  assert_int_equal(p.npairs, 0);
}

/* 2 folds of 2 + 2 pairs. */
static const char *GOOD =
  "2\t2\n"
  "Alice\t1\t2\n"
  "Bob 1 3\n"
  "Alice\t1\tBob\t2\n"
  "Carol 1 Dave 1\n"
  "Carol 1 2\n"
  "Dave 2 3\n"
  "Alice 3 Carol 2\n"
  "Bob 1 Eve 1\n";

/* ---- pairs.txt ------------------------------------------------------------------ */

static void test_pairs_parse_good(void **state) {
  (void)state;
  fg_lfw_pairs p;
  fg_error e = {0};
  assert_int_equal(fg_lfw_pairs_parse(GOOD, strlen(GOOD), &p, &e), FG_OK);
  assert_int_equal(p.folds, 2);
  assert_int_equal(p.per_fold, 2);
  assert_int_equal(p.npairs, 8);
  /* Distinct images: Alice 1,2,3  Bob 1,2,3  Carol 1,2  Dave 1,2,3  Eve 1 */
  assert_int_equal(p.images.count, 12);
  assert_int_equal(p.images.identities, 5);
  const fg_lfw_image *im = p.images.images;
  assert_string_equal(im[0].name, "Alice");
  assert_int_equal(im[0].number, 1);
  assert_int_equal(im[11].identity, 4);
  assert_string_equal(im[11].name, "Eve");
  /* Pair 3 (line 5): Carol 1 vs Dave 1, different people, fold 0. */
  const fg_lfw_pair *q = &p.pairs[3];
  assert_int_equal(q->same, 0);
  assert_int_equal(q->fold, 0);
  assert_int_equal(q->line, 5);
  assert_string_equal(im[q->a].name, "Carol");
  assert_int_equal(im[q->a].number, 1);
  assert_string_equal(im[q->b].name, "Dave");
  assert_int_equal(p.pairs[4].fold, 1);
  assert_int_equal(p.pairs[4].same, 1);
  assert_int_equal(fg_lfw_images_find(&p.images, "Dave", 3), 10);
  assert_int_equal(fg_lfw_images_find(&p.images, "Dave", 4), -1);
  char path[256];
  assert_int_equal(fg_lfw_image_path("/x", &im[q->b], path, sizeof path, &e), FG_OK);
  assert_string_equal(path, "/x/Dave/Dave_0001.jpg");
  assert_int_equal(fg_lfw_image_path("/x", &im[q->b], path, 10, &e), FG_ELIMIT);
  fg_lfw_pairs_release(&p);
  fg_lfw_pairs_release(&p); /* twice is fine */

  /* CRLF line ends and trailing blank lines are accepted. */
  char crlf[1024] = "";
  for (const char *s = GOOD; *s; s++) {
    size_t l = strlen(crlf);
    if (*s == '\n') crlf[l++] = '\r';
    crlf[l] = *s;
    crlf[l + 1] = 0;
  }
  strcat(crlf, "\r\n\n   \n");
  assert_int_equal(fg_lfw_pairs_parse(crlf, strlen(crlf), &p, &e), FG_OK);
  assert_int_equal(p.npairs, 8);
  fg_lfw_pairs_release(&p);
}

static void test_pairs_parse_errors(void **state) {
  (void)state;
  expect_parse_error("", "line 1: empty file");
  expect_parse_error("10\n", "line 1: expected the header");
  expect_parse_error("ten 300\n", "line 1: expected the header");
  expect_parse_error("1 300\n", "line 1: expected the header"); /* at least 2 folds */
  expect_parse_error("2 0\n", "line 1: expected the header");
  /* A same-person line with 4 fields (line 3). */
  expect_parse_error("2 2\nAlice 1 2\nAlice 1 Bob 2\n", "line 3: expected fold 1's same-person pair 2 of 2");
  /* A different-person line with 3 fields (line 4). */
  expect_parse_error("2 2\nA 1 2\nB 1 2\nC 1 D 2\nC 1 2\n", "line 5: expected fold 1's different-person pair 2 of 2");
  /* Bad numbers. */
  expect_parse_error("2 1\nA 1 0\n", "line 2: image number \"0\"");
  expect_parse_error("2 1\nA 1 x2\n", "line 2: image number \"x2\"");
  expect_parse_error("2 1\nA 1 2\nB 10000 C 1\n", "line 3: image number \"10000\"");
  expect_parse_error("2 1\nA -1 2\n", "line 2: image number \"-1\"");
  /* Names. */
  expect_parse_error("2 1\n../etc 1 2\n", "line 2: bad person name");
  expect_parse_error("2 1\nA 1 2\nB 1 B 2\n", "line 3: a different-person pair names the same person");
  /* Too many fields, blank line inside. */
  expect_parse_error("2 1\nA 1 2 3 4 5\n", "line 2: expected fold 1's same-person pair 1 of 1 as 3 fields");
  expect_parse_error("2 1\nA 1 2\n\nB 1 C 2\n", "line 3:");
  /* Early end: the message names the missing line and fold. */
  expect_parse_error("2 1\nA 1 2\nB 1 C 2\n", "line 4: file ends early; expected fold 2's same-person pair 1 of 1");
  /* Content after the last fold. */
  expect_parse_error("2 1\nA 1 2\nB 1 C 2\nA 2 3\nB 2 C 3\nD 1 2\n", "line 6: unexpected content after the last fold");
  /* A NUL byte. */
  fg_lfw_pairs p;
  fg_error e = {0};
  assert_int_equal(fg_lfw_pairs_parse("2 1\nA 1 2\0\n", 11, &p, &e), FG_EFORMAT);
  assert_non_null(strstr(e.msg, "line 2: NUL byte"));
  /* A missing file. */
  assert_int_equal(fg_lfw_pairs_load("/nonexistent/pairs.txt", &p, &e), FG_ENOTFOUND);
}

static void test_pairs_real_lfw(void **state) {
  (void)state;
  char path[1024];
  tu_path(path, sizeof path, tu_lfw_dir(), "pairs.txt");
  if (!tu_exists(path)) TU_SKIP("%s absent (set FACEGATE_LFW)", path);
  fg_lfw_pairs p;
  fg_error e = {0};
  if (fg_lfw_pairs_load(path, &p, &e)) fail_msg("%s", e.msg);
  assert_int_equal(p.folds, 10);
  assert_int_equal(p.per_fold, 300);
  assert_int_equal(p.npairs, 6000);
  assert_int_equal(p.images.count, 7701);
  size_t same = 0;
  for (size_t i = 0; i < p.npairs; i++) same += p.pairs[i].same;
  assert_int_equal(same, 3000);

  /* Every image the protocol names exists in the tree. */
  char dir[1024];
  tu_path(dir, sizeof dir, tu_lfw_dir(), "lfw-deepfunneled");
  fg_lfw_images all;
  if (fg_lfw_images_scan(dir, &all, &e)) fail_msg("%s", e.msg);
  assert_int_equal(all.count, 13233);
  assert_int_equal(all.identities, 5749);
  for (size_t i = 0; i < p.images.count; i++)
    assert_true(fg_lfw_images_find(&all, p.images.images[i].name, p.images.images[i].number) >= 0);
  fg_lfw_images_release(&all);
  fg_lfw_pairs_release(&p);
  assert_int_equal(fg_lfw_images_scan("/nonexistent", &all, &e), FG_ENOTFOUND);
}

/* ---- metrics ------------------------------------------------------------------ */

static void test_metrics_separable(void **state) {
  (void)state;
  enum { N = 600 };
  float s[N];
  uint8_t same[N], fold[N];
  for (int i = 0; i < N; i++) {
    same[i] = i % 2;
    fold[i] = (uint8_t)((i / 2) % 10); /* each fold: 30 genuine, 30 impostor */
    s[i] = same[i] ? 0.5f + 0.4f * (float)urand() : 0.4f * (float)urand() - 0.1f;
  }
  fg_verif_report r;
  fg_error e = {0};
  assert_int_equal(fg_verif_evaluate(s, same, fold, N, 10, &r, &e), FG_OK);
  assert_near(r.kfold.accuracy, 1.0, 0);
  assert_near(r.kfold.accuracy_std, 0.0, 0);
  assert_near(r.eer, 0.0, 0);
  assert_near(r.tar_at_far_1e3, 1.0, 0);
  assert_near(r.fnmr_at_fmr_5e4, 0.0, 0);
  assert_int_equal(r.genuine, 300);
  assert_int_equal(r.impostor, 300);
  for (int f = 0; f < 10; f++) {
    assert_true(r.kfold.fold_threshold[f] > 0.3);
    assert_true(r.kfold.fold_threshold[f] <= 0.5);
  }

  /* Fully inverted scores: everything wrong at any threshold but the extremes. */
  for (int i = 0; i < N; i++) s[i] = -s[i];
  assert_int_equal(fg_verif_evaluate(s, same, fold, N, 10, &r, &e), FG_OK);
  assert_near(r.eer, 1.0, 1e-12);
  assert_near(r.kfold.accuracy, 0.5, 1e-12);
}

/* The 3-fold case worked by hand in docs/evaluation.md ("k-fold, by hand"). */
static void test_metrics_kfold_by_hand(void **state) {
  (void)state;
  const float s[] = {0.9f, 0.6f, 0.1f, 0.5f,   /* fold 0: g g i i */
                     0.8f, 0.4f, 0.2f, 0.3f,   /* fold 1 */
                     0.7f, 0.36f, 0.05f, 0.25f}; /* fold 2 */
  const uint8_t same[] = {1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0};
  const uint8_t fold[] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2};
  fg_kfold_result k;
  fg_error e = {0};
  assert_int_equal(fg_verif_kfold(s, same, fold, 12, 3, &k, &e), FG_OK);
  assert_near(k.fold_threshold[0], 0.5 * ((double)0.3f + (double)0.36f), 1e-12);
  assert_near(k.fold_threshold[1], 0.5 * ((double)0.25f + (double)0.36f), 1e-12);
  assert_near(k.fold_threshold[2], 0.5 * ((double)0.3f + (double)0.4f), 1e-12);
  assert_near(k.fold_accuracy[0], 0.75, 1e-12);
  assert_near(k.fold_accuracy[1], 1.0, 1e-12);
  assert_near(k.fold_accuracy[2], 1.0, 1e-12);
  assert_near(k.accuracy, 11.0 / 12.0, 1e-12);
  assert_near(k.accuracy_std, sqrt(1.0 / 48.0), 1e-12);
  assert_near(k.accuracy_se, sqrt(1.0 / 48.0) / sqrt(3.0), 1e-12);

  /* Errors: an empty fold, a fold index out of range. */
  const uint8_t bad[] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  assert_int_equal(fg_verif_kfold(s, same, bad, 12, 3, &k, &e), FG_EINVAL);
  assert_non_null(strstr(e.msg, "fold 3 holds no pair"));
  const uint8_t oob[] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 7};
  assert_int_equal(fg_verif_kfold(s, same, oob, 12, 3, &k, &e), FG_EINVAL);
}

static void test_metrics_tar_eer_by_hand(void **state) {
  (void)state;
  /* 1000 impostors i/1000 and three genuine scores. FAR 1e-3 allows 1 false
   * match: the threshold is just above the second highest impostor (0.998). */
  enum { N = 1003 };
  float s[N];
  uint8_t same[N] = {0};
  for (int i = 0; i < 1000; i++) s[i] = (float)i / 1000.0f;
  s[1000] = 0.5f, s[1001] = 0.9985f, s[1002] = 0.999f;
  same[1000] = same[1001] = same[1002] = 1;
  double tar, thr, fmr;
  fg_error e = {0};
  assert_int_equal(fg_verif_tar_at_far(s, same, N, 1e-3, &tar, &thr, &fmr, &e), FG_OK);
  assert_near(tar, 2.0 / 3.0, 1e-12);
  assert_near(fmr, 1e-3, 1e-12);
  assert_near(thr, (double)nextafterf(0.998f, 1.0f), 0);
  /* FAR 0: above every impostor; only the genuine 0.999 ties the top impostor
   * and is rejected. */
  assert_int_equal(fg_verif_tar_at_far(s, same, N, 0.0, &tar, &thr, &fmr, &e), FG_OK);
  assert_near(tar, 0.0, 0);
  assert_near(fmr, 0.0, 0);
  assert_int_equal(fg_verif_tar_at_far(s, same, N, 1.5, &tar, NULL, NULL, &e), FG_EINVAL);
  assert_int_equal(fg_verif_tar_at_far(s, same, 1000, 1e-3, &tar, NULL, NULL, &e), FG_EINVAL);

  /* EER without interpolation: genuine {0.6, 0.8}, impostor {0.2, 0.7}. */
  const float s2[] = {0.6f, 0.8f, 0.2f, 0.7f};
  const uint8_t g2[] = {1, 1, 0, 0};
  double eer;
  assert_int_equal(fg_verif_eer(s2, g2, 4, &eer, &thr, &e), FG_OK);
  assert_near(eer, 0.5, 1e-12);
  /* With interpolation: genuine {0.6, 0.8, 0.9}, impostor {0.2, 0.7}: between
   * (FMR .5, FNMR 1/3) and (FMR 0, FNMR 1/3), a = 1/3, EER = 1/3. */
  const float s3[] = {0.6f, 0.8f, 0.9f, 0.2f, 0.7f};
  const uint8_t g3[] = {1, 1, 1, 0, 0};
  assert_int_equal(fg_verif_eer(s3, g3, 5, &eer, &thr, &e), FG_OK);
  assert_near(eer, 1.0 / 3.0, 1e-12);
  double t_lo = 0.5 * ((double)0.6f + (double)0.7f), t_hi = 0.5 * ((double)0.7f + (double)0.8f);
  assert_near(thr, t_lo + (t_hi - t_lo) / 3.0, 1e-12);
}

/* ---- calibration ------------------------------------------------------------------ */

static void random_unit_rows(float *m, size_t n, size_t dim) {
  for (size_t i = 0; i < n; i++) {
    double ss = 0;
    for (size_t k = 0; k < dim; k++) {
      m[i * dim + k] = (float)nrand();
      ss += (double)m[i * dim + k] * m[i * dim + k];
    }
    float inv = (float)(1.0 / sqrt(ss));
    for (size_t k = 0; k < dim; k++) m[i * dim + k] *= inv;
  }
}

static void test_kernel_vs_plain_c(void **state) {
  (void)state;
  enum { DIM = 512 };
  float *rows = malloc(4 * DIM * sizeof *rows), *cols = malloc(FG__PANEL * DIM * sizeof *cols);
  random_unit_rows(rows, 4, DIM);
  random_unit_rows(cols, FG__PANEL, DIM);
  size_t np;
  float *panel = fg__pack_panels(cols, FG__PANEL, DIM, &np);
  assert_non_null(panel);
  assert_int_equal(np, 1);
  const float *a[4] = {rows, rows + DIM, rows + 2 * DIM, rows + 3 * DIM};
  float fast[4][FG__PANEL], ref[4][FG__PANEL];
  fg__dot4x16(a, panel, DIM, fast);
  fg__dot4x16_ref(a, panel, DIM, ref);
  /* Tolerance: float accumulation of 512 products of unit vectors. */
  for (int r = 0; r < 4; r++)
    for (int j = 0; j < FG__PANEL; j++) assert_near(fast[r][j], ref[r][j], 1e-5);
  free(panel);
  free(rows);
  free(cols);
}

static int float_desc(const void *pa, const void *pb) {
  float a = *(const float *)pa, b = *(const float *)pb;
  return (a < b) - (a > b);
}

/* The thresholds fg_calib_impostor must produce, by sorting every score. The
 * dot product sums in float, k ascending, without FMA: the kernel's order. */
static void brute_force(const float *m, size_t n, size_t dim, const uint32_t *id, const double *fmr,
                        size_t nf, double *thr, uint64_t *fm, double *fnmr, uint64_t *nimp) {
  float *imp = malloc(n * n / 2 * sizeof *imp), *gen = malloc(n * n / 2 * sizeof *gen);
  size_t ni = 0, ng = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      float s = 0;
      for (size_t k = 0; k < dim; k++) s += m[i * dim + k] * m[j * dim + k];
      if (id[i] == id[j]) gen[ng++] = s;
      else imp[ni++] = s;
    }
  qsort(imp, ni, sizeof *imp, float_desc);
  for (size_t t = 0; t < nf; t++) {
    size_t k = (size_t)floor(fmr[t] * (double)ni * (1 + 1e-12));
    float s = imp[k];
    size_t hi = k;
    while (hi > 0 && imp[hi - 1] == s) hi--;
    thr[t] = hi ? 0.5 * ((double)s + (double)imp[hi - 1]) : (double)nextafterf(s, INFINITY);
    fm[t] = hi;
    size_t below = 0;
    for (size_t g = 0; g < ng; g++) below += (double)gen[g] < thr[t];
    fnmr[t] = ng ? (double)below / (double)ng : 0;
  }
  *nimp = ni;
  free(imp);
  free(gen);
}

static void test_calibration_vs_sort(void **state) {
  (void)state;
  enum { N = 203, DIM = 40 }; /* not multiples of the 64-row blocks or 16-column panels */
  float *m = malloc(N * DIM * sizeof *m);
  uint32_t id[N];
  random_unit_rows(m, N, DIM);
  for (int i = 0; i < N; i++) id[i] = (uint32_t)(i / 3);
  /* Ties: row 100 duplicates row 0 under another identity, so every score of
   * row 0 appears twice, and their mutual score is 1 (the top impostor). */
  memcpy(m + 100 * DIM, m, DIM * sizeof *m);
  /* Make genuine pairs more similar than impostors, as real ones are. */
  for (int i = 0; i < N; i++)
    if (i % 3 && i != 100 && i != 101 && i != 102) {
      float *r = m + i * DIM, *b = m + (i - i % 3) * DIM;
      double ss = 0;
      for (int k = 0; k < DIM; k++) r[k] = 0.5f * r[k] + b[k], ss += (double)r[k] * r[k];
      for (int k = 0; k < DIM; k++) r[k] = (float)(r[k] / sqrt(ss));
    }
  fg_calib_options o = {.threads = 2, .nfmr = 6, .fmr = {1e-1, 1e-2, 1e-3, 5e-4, 1e-4, 2e-5}};
  double thr[6], fnmr[6];
  uint64_t fm[6], ni;
  brute_force(m, N, DIM, id, o.fmr, 6, thr, fm, fnmr, &ni);

  for (int threads = 1; threads <= 3; threads++) {
    o.threads = threads;
    fg_calib_result r;
    fg_error e = {0};
    if (fg_calib_impostor(m, N, DIM, id, &o, &r, &e)) fail_msg("%s", e.msg);
    assert_int_equal(r.impostor_pairs, ni);
    assert_int_equal(r.impostor_pairs + r.genuine_pairs, (uint64_t)N * (N - 1) / 2);
    assert_int_equal(r.images, N);
    assert_int_equal(r.identities, 68);
    assert_near(r.impostor_max, 1.0, 1e-6);
    for (int t = 0; t < 6; t++) {
      assert_near(r.threshold[t], thr[t], 0);
      assert_int_equal(r.false_matches[t], fm[t]);
      assert_true(r.false_matches[t] <= (uint64_t)floor(o.fmr[t] * (double)ni + 1e-9));
      assert_near(r.fnmr[t], fnmr[t], 0);
    }
  }

  /* Errors. */
  fg_calib_result r;
  fg_error e = {0};
  uint32_t one[N] = {0};
  assert_int_equal(fg_calib_impostor(m, N, DIM, one, NULL, &r, &e), FG_EINVAL);
  assert_non_null(strstr(e.msg, "no impostor pairs"));
  o.fmr[0] = 1.0;
  assert_int_equal(fg_calib_impostor(m, N, DIM, id, &o, &r, &e), FG_EINVAL);
  free(m);
}

static void test_calibration_json(void **state) {
  (void)state;
  char key[16];
  fg_calib_fmr_key(1e-2, key);
  assert_string_equal(key, "1e-2");
  fg_calib_fmr_key(5e-4, key);
  assert_string_equal(key, "5e-4");
  fg_calib_fmr_key(1e-5, key);
  assert_string_equal(key, "1e-5");
  fg_calib_fmr_key(2.5e-3, key);
  assert_string_equal(key, "0.0025");

  fg_calib_result r = {.images = 10, .identities = 4, .dim = 8, .impostor_pairs = 40, .nfmr = 2,
                       .fmr = {1e-2, 5e-4}, .threshold = {0.25, 0.5}};
  char path[] = "/tmp/facegate-test-calib-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  fg_error e = {0};
  assert_int_equal(fg_calib_write_json(path, &r, "abc", "flip", "test", &e), FG_OK);
  size_t len;
  char *txt = (char *)tu_read(path, &len);
  txt = realloc(txt, len + 1);
  txt[len] = 0;
  assert_non_null(strstr(txt, "\"model_sha256\": \"abc\""));
  assert_non_null(strstr(txt, "\"impostor_pairs\": 40"));
  assert_non_null(strstr(txt, "\"images\": 10"));
  assert_non_null(strstr(txt, "\"thresholds\": {\"1e-2\": 0.250000000, \"5e-4\": 0.500000000}"));
  free(txt);
  remove(path);
  assert_int_equal(fg_calib_write_json("/nonexistent/dir/x.json", &r, "abc", NULL, NULL, &e), FG_EIO);
}

/* ---- DET plot ------------------------------------------------------------------ */

static void test_det_plot(void **state) {
  (void)state;
  enum { N = 4000 };
  float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
  uint8_t *same = malloc(N);
  for (int i = 0; i < N; i++) {
    same[i] = i % 2;
    a[i] = (float)(same[i] ? 0.6 + 0.12 * nrand() : 0.1 * nrand());
    b[i] = (float)(same[i] ? 0.5 + 0.15 * nrand() : 0.1 * nrand());
  }
  fg_det_series s[2] = {{"system A", a, same, N}, {"system B", b, same, N}};
  char png[] = "/tmp/facegate-test-det-XXXXXX.png";
  int fd = mkstemps(png, 4);
  assert_true(fd >= 0);
  close(fd);
  fg_error e = {0};
  assert_int_equal(fg_det_plot(png, s, 2, NULL, &e), FG_OK);
  size_t len;
  uint8_t *d = tu_read(png, &len);
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  assert_true(len > 5000);
  assert_memory_equal(d, sig, 8);
  assert_memory_equal(d + 12, "IHDR", 4);
  uint32_t w = (uint32_t)d[16] << 24 | d[17] << 16 | d[18] << 8 | d[19];
  uint32_t h = (uint32_t)d[20] << 24 | d[21] << 16 | d[22] << 8 | d[23];
  assert_int_equal(w, 900);
  assert_int_equal(h, 700);
  assert_memory_equal(d + len - 8, "IEND", 4);
  free(d);
  remove(png);

  char svg[] = "/tmp/facegate-test-det-XXXXXX.svg";
  fd = mkstemps(svg, 4);
  assert_true(fd >= 0);
  close(fd);
  fg_det_options o = {.title = "test", .width = 640, .height = 480};
  assert_int_equal(fg_det_plot(svg, s, 1, &o, &e), FG_OK);
  d = tu_read(svg, &len);
  d = realloc(d, len + 1);
  d[len] = 0;
  assert_non_null(strstr((char *)d, "<svg"));
  free(d);
  remove(svg);

  assert_int_equal(fg_det_plot("/nonexistent/dir/det.png", s, 1, NULL, &e), FG_EIO);
  assert_int_equal(fg_det_plot(png, s, 0, NULL, &e), FG_EINVAL);
  free(a);
  free(b);
  free(same);
}

/* ------------------------------------------------------ condition sets */

/* A synthetic "face": a 200x240 image with a textured ellipse about a known
 * box, so every condition's geometry can be checked by hand. */
static void synthetic_face(fg_image *im, fg_condition_face *f) {
  fg_error e = {0};
  assert_int_equal(fg_image_init(im, 200, 240, 3, &e), FG_OK);
  for (int y = 0; y < 240; y++)
    for (int x = 0; x < 200; x++) {
      uint8_t *p = im->data + ((size_t)y * 200 + x) * 3;
      int v = 120 + (int)(40 * sin(x * 0.3) * cos(y * 0.2));
      p[0] = (uint8_t)v, p[1] = (uint8_t)(v - 10), p[2] = (uint8_t)(v - 20);
    }
  const float box[4] = {60, 60, 140, 180}, pts[10] = {80, 100, 120, 100, 100, 125, 85, 150, 115, 150};
  memcpy(f->box, box, sizeof box);
  memcpy(f->points, pts, sizeof pts);
}

static double mean_grey(const fg_image *im, int x0, int y0, int x1, int y1) {
  double s = 0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) {
      const uint8_t *p = im->data + ((size_t)y * im->width + x) * im->channels;
      s += im->channels == 3 ? (p[0] + p[1] + p[2]) / 3.0 : p[0];
    }
  return s / ((double)(x1 - x0) * (y1 - y0));
}

static void test_conditions(void **state) {
  (void)state;
  const fg_condition *all;
  size_t n = fg_conditions(&all);
  assert_true(n > 20);
  assert_string_equal(all[0].name, "none");
  assert_null(fg_condition_find("no-such-condition"));
  fg_image src = {0}, a = {0}, b = {0};
  fg_condition_face f;
  fg_error e = {0};
  synthetic_face(&src, &f);
  for (size_t i = 0; i < n; i++) {
    /* Every condition runs, and the same seed gives the same pixels. */
    assert_int_equal(fg_condition_apply(&all[i], &src, &f, 42, &a, &e), FG_OK);
    assert_int_equal(fg_condition_apply(&all[i], &src, &f, 42, &b, &e), FG_OK);
    assert_int_equal(a.width, b.width);
    assert_int_equal(a.height, b.height);
    assert_memory_equal(a.data, b.data, (size_t)a.width * a.height * a.channels);
    assert_int_equal(a.channels, all[i].grey ? 1 : 3);
    fg_image_release(&a);
    fg_image_release(&b);
  }
  /* none: the image itself. */
  assert_int_equal(fg_condition_apply(fg_condition_find("none"), &src, &f, 1, &a, &e), FG_OK);
  assert_memory_equal(a.data, src.data, (size_t)src.width * src.height * 3);
  fg_image_release(&a);
  /* crop-box: exactly the box; crop-25: 1.5x its size. */
  assert_int_equal(fg_condition_apply(fg_condition_find("crop-box"), &src, &f, 1, &a, &e), FG_OK);
  assert_int_equal(a.width, 80);
  assert_int_equal(a.height, 120);
  assert_memory_equal(a.data, src.data + ((size_t)60 * 200 + 60) * 3, 80 * 3);
  fg_image_release(&a);
  assert_int_equal(fg_condition_apply(fg_condition_find("crop-25"), &src, &f, 1, &a, &e), FG_OK);
  assert_int_equal(a.width, 120);
  assert_int_equal(a.height, 180);
  fg_image_release(&a);
  /* The document crop: 168x192 whatever the jitter. */
  assert_int_equal(fg_condition_apply(fg_condition_find("doc-grey-light"), &src, &f, 7, &a, &e), FG_OK);
  assert_int_equal(a.width, 168);
  assert_int_equal(a.height, 192);
  assert_int_equal(a.channels, 1);
  fg_image_release(&a);
  /* Light from the right (90 deg): the face's left half (as seen) far darker. */
  assert_int_equal(fg_condition_apply(fg_condition_find("light-90"), &src, &f, 1, &a, &e), FG_OK);
  double l = mean_grey(&a, 65, 90, 95, 160), r = mean_grey(&a, 105, 90, 135, 160);
  print_message("light-90: left half %.1f, right half %.1f\n", l, r);
  assert_true(l < 0.3 * r);
  fg_image_release(&a);
  /* Dark: values x 0.1. */
  assert_int_equal(fg_condition_apply(fg_condition_find("dark"), &src, &f, 1, &a, &e), FG_OK);
  assert_true(fabs(mean_grey(&a, 0, 0, 200, 240) - 0.1 * mean_grey(&src, 0, 0, 200, 240)) < 1.0);
  fg_image_release(&a);
  /* small-24: the eyes 40 px apart become 24, in a 640x480 frame. */
  assert_int_equal(fg_condition_apply(fg_condition_find("small-24"), &src, &f, 1, &a, &e), FG_OK);
  assert_int_equal(a.width, 640);
  assert_int_equal(a.height, 480);
  fg_image_release(&a);
  /* Errors: an empty box, no image. */
  fg_condition_face bad = f;
  bad.box[2] = bad.box[0];
  assert_int_equal(fg_condition_apply(fg_condition_find("crop-box"), &src, &bad, 1, &a, &e), FG_EINVAL);
  assert_null(a.data);
  fg_image none = {0};
  assert_int_equal(fg_condition_apply(fg_condition_find("grey"), &none, &f, 1, &a, &e), FG_EINVAL);
  fg_image_release(&src);
}

/* The development subset: image-disjoint from the protocol's pairs. */
static void test_devset(void **state) {
  (void)state;
  char pairs_path[1024], dir[1024];
  snprintf(pairs_path, sizeof pairs_path, "%s/pairs.txt", tu_lfw_dir());
  snprintf(dir, sizeof dir, "%s/lfw-deepfunneled", tu_lfw_dir());
  if (!tu_exists(pairs_path)) TU_SKIP("LFW not found (%s); set FACEGATE_LFW", pairs_path);
  fg_lfw_pairs p = {0};
  fg_lfw_images all = {0}, dev = {0};
  fg_error e = {0};
  assert_int_equal(fg_lfw_pairs_load(pairs_path, &p, &e), FG_OK);
  assert_int_equal(fg_lfw_images_scan(dir, &all, &e), FG_OK);
  assert_int_equal(fg_lfw_devset(&all, &p, 10, &dev, &e), FG_OK);
  print_message("devset: %zu images of %zu people\n", dev.count, dev.identities);
  assert_int_equal(dev.count, 1906);
  assert_int_equal(dev.identities, 383);
  for (size_t i = 0; i < dev.count; i++)
    assert_true(fg_lfw_images_find(&p.images, dev.images[i].name, dev.images[i].number) < 0);
  fg_lfw_images_release(&dev);
  fg_lfw_images_release(&all);
  fg_lfw_pairs_release(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pairs_parse_good),
    cmocka_unit_test(test_pairs_parse_errors),
    cmocka_unit_test(test_pairs_real_lfw),
    cmocka_unit_test(test_metrics_separable),
    cmocka_unit_test(test_metrics_kfold_by_hand),
    cmocka_unit_test(test_metrics_tar_eer_by_hand),
    cmocka_unit_test(test_kernel_vs_plain_c),
    cmocka_unit_test(test_calibration_vs_sort),
    cmocka_unit_test(test_calibration_json),
    cmocka_unit_test(test_det_plot),
    cmocka_unit_test(test_conditions),
    cmocka_unit_test(test_devset),
  };
  return cmocka_run_group_tests_name("eval", tests, NULL, NULL);
}
