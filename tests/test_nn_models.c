/*
 * The four default models against OpenCV DNN's outputs (tests/fixtures/nn,
 * made by scripts/make-fixtures.py; its README gives each model's float input
 * formula). Every model runs through XNNPACK and oneDNN (fp32) at 1 and 2
 * threads and through the reference backend (plain C kernels only), and each
 * output is compared with the fixture:
 *
 *   max |ours - OpenCV| <= TOL_REL * max(1, max |OpenCV|)   (TOL_REL = 1e-4)
 *
 * The reduced precisions run too, with bounds that catch a broken kernel or
 * scale, not accuracy (which scripts/eval-precision measures on LFW): bf16
 * within 5e-2 of the scale and cosine >= 0.999 for the embedding; int8 (the
 * built-in ranges) within 0.25 of the scale and cosine >= 0.9.
 *
 * The README measures OpenCV against ONNX Runtime at <= 4.3e-6 on these
 * outputs (liveness, scale 7.25) and <= 6.3e-7 elsewhere, so 1e-4 of the
 * output's scale leaves room for summation order without hiding a wrong
 * kernel (a wrong padding or layout moves outputs by 1e-2 or more).
 * The recognition embedding is also compared as a direction: cosine >= 0.9999
 * after L2 normalisation (the criterion; ~1 - 1e-12 in practice).
 *
 * Determinism: two sessions on one model give bit-identical outputs, and so do
 * two runs of one session (XNNPACK and our kernels have no run-to-run state);
 * sessions on one shared model in three threads at once agree with a lone run.
 *
 * Channels-last input (fg_session_options.input_nhwc, how the face engine
 * feeds the detector): the same bits as the NCHW input on every backend
 * (oneDNN reads it without a reorder, the others transpose it first).
 *
 * Skips, saying why, when the models are not set up (scripts/setup).
 */
#include "testutil.h"

#include <math.h>
#include <pthread.h>

#include "facegate/nn.h"

#define TOL_REL 1e-4
#define COS_MIN 0.9999

typedef struct model_case {
  const char *file;        /* in the models directory */
  const char *fixture_in;  /* uint8 input in tests/fixtures/nn */
  float sub, div;          /* float input = (x - sub) / div */
  int n_out;
  const char *fixture_out[2];
  int is_embedding;
} model_case;

static const model_case cases[] = {
  {"fr_detect.onnx", "detect.in.npy", 127.f, 128.f, 2, {"detect.scores.npy", "detect.boxes.npy"}, 0},
  {"fr_landmark.onnx", "landmark.in.npy", 0.f, 256.f, 1, {"landmark.out.npy", NULL}, 0},
  {"fr_feature.onnx", "feature.in.npy", 127.f, 128.f, 1, {"feature.out.npy", NULL}, 1},
  {"fr_liveness.onnx", "liveness.in.npy", 0.f, 1.f, 1, {"liveness.out.npy", NULL}, 0},
};

#define FIXDIR "tests/fixtures/nn"

typedef struct loaded {
  fg_model *m;
  float *in;
  size_t in_count;
  float *ref[2];
  size_t ref_count[2];
} loaded;

/* Load the model and its fixtures; returns 0, or 1 after TU_SKIP-worthy absence. */
static int load_case(const model_case *c, loaded *L) {
  char path[1024];
  fg_error e;
  memset(L, 0, sizeof *L);
  tu_path(path, sizeof path, tu_models_dir(), c->file);
  if (!tu_exists(path)) return 1;
  if (fg_model_load_file(path, NULL, &L->m, &e) != FG_OK) {
    print_error("%s: %s\n", c->file, e.msg);
    fail();
  }
  assert_int_equal(fg_model_input_count(L->m), 1);
  assert_int_equal(fg_model_output_count(L->m), (size_t)c->n_out);

  int rank;
  int64_t dims[FG_NN_MAX_RANK];
  tu_path(path, sizeof path, FIXDIR, c->fixture_in);
  if (fg_npy_read(path, &L->in, &rank, dims, &e) != FG_OK) { print_error("%s\n", e.msg); fail(); }
  const fg_tensor_info *ti = fg_model_input(L->m, 0);
  assert_int_equal(rank, ti->rank);
  for (int i = 0; i < rank; i++) assert_int_equal(dims[i], ti->dims[i]);
  L->in_count = ti->count;
  for (size_t i = 0; i < L->in_count; i++) L->in[i] = (L->in[i] - c->sub) / c->div;

  for (int o = 0; o < c->n_out; o++) {
    tu_path(path, sizeof path, FIXDIR, c->fixture_out[o]);
    if (fg_npy_read(path, &L->ref[o], &rank, dims, &e) != FG_OK) { print_error("%s\n", e.msg); fail(); }
    const fg_tensor_info *oi = fg_model_output(L->m, (size_t)o);
    size_t cnt = 1;
    for (int i = 0; i < rank; i++) cnt *= (size_t)dims[i];
    assert_int_equal(cnt, oi->count);
    L->ref_count[o] = cnt;
  }
  return 0;
}

static void free_case(loaded *L) {
  fg_model_destroy(L->m);
  free(L->in);
  free(L->ref[0]);
  free(L->ref[1]);
}

static void run_session(fg_session *s, const loaded *L, int n_out, float **out) {
  fg_error e;
  const float *in[1] = {L->in};
  for (int o = 0; o < n_out; o++) {
    out[o] = malloc(L->ref_count[o] * sizeof(float));
    assert_non_null(out[o]);
    for (size_t i = 0; i < L->ref_count[o]; i++) out[o][i] = NAN; /* every element must be written */
  }
  if (fg_session_run(s, in, (float *const *)out, &e) != FG_OK) { print_error("run: %s\n", e.msg); fail(); }
}

static void run_backend(const loaded *L, int n_out, int backend, int threads, int precision, float **out) {
  fg_error e;
  fg_session *s;
  fg_session_options so = {.threads = threads, .backend = backend, .precision = precision};
  if (fg_session_create(L->m, &so, &s, &e) != FG_OK) { print_error("session: %s\n", e.msg); fail(); }
  run_session(s, L, n_out, out);
  fg_session_destroy(s);
}

static void compare_tol(const char *what, const float *got, const float *ref, size_t n, int embedding, double tol,
                        double cos_min) {
  double scale = 1, maxd = 0;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - ref[i]);
    if (!(d <= maxd)) { maxd = d; at = i; } /* NaN counts as the worst */
  }
  fprintf(stderr, "  %-34s max|diff| %.3g (scale %.3g)", what, maxd, scale);
  if (embedding) {
    double na = 0, nb = 0, dot = 0;
    for (size_t i = 0; i < n; i++) { na += (double)got[i] * got[i]; nb += (double)ref[i] * ref[i]; dot += (double)got[i] * ref[i]; }
    double cosv = dot / sqrt(na * nb);
    fprintf(stderr, " cosine %.12f", cosv);
    if (!(cosv >= cos_min)) { print_error("%s: cosine %.9f < %g\n", what, cosv, cos_min); fail(); }
  }
  fprintf(stderr, "\n");
  if (!(maxd <= tol * scale)) {
    print_error("%s: element %zu: got %g, OpenCV %g (|diff| %g > %g)\n", what, at, got[at], ref[at], maxd, tol * scale);
    fail();
  }
}



static void test_model(const model_case *c) {
  loaded L;
  if (load_case(c, &L)) TU_SKIP("%s not in %s (run scripts/setup)", c->file, tu_models_dir());
  static const struct { int backend, threads, precision; const char *name; double tol, cos_min; } runs[] = {
    {FG_BACKEND_XNNPACK, 1, 0, "xnnpack/1", TOL_REL, COS_MIN},
    {FG_BACKEND_XNNPACK, 2, 0, "xnnpack/2", TOL_REL, COS_MIN},
    {FG_BACKEND_REFERENCE, 1, 0, "reference", TOL_REL, COS_MIN},
    {FG_BACKEND_ONEDNN, 1, FG_PRECISION_FP32, "onednn fp32/1", TOL_REL, COS_MIN},
    {FG_BACKEND_ONEDNN, 2, FG_PRECISION_FP32, "onednn fp32/2", TOL_REL, COS_MIN},
    {FG_BACKEND_ONEDNN, 1, FG_PRECISION_BF16, "onednn bf16/1", 5e-2, 0.999},
    {FG_BACKEND_ONEDNN, 1, FG_PRECISION_INT8, "onednn int8/1", 0.25, 0.9}};
  for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
    float *out[2] = {NULL, NULL};
    run_backend(&L, c->n_out, runs[r].backend, runs[r].threads, runs[r].precision, out);
    for (int o = 0; o < c->n_out; o++) {
      char what[128];
      snprintf(what, sizeof what, "%s %s %s", c->file, c->fixture_out[o], runs[r].name);
      compare_tol(what, out[o], L.ref[o], L.ref_count[o], c->is_embedding, runs[r].tol, runs[r].cos_min);
      free(out[o]);
    }
  }
  free_case(&L);
}

static void test_detect(void **st) { (void)st; test_model(&cases[0]); }
static void test_landmark(void **st) { (void)st; test_model(&cases[1]); }
static void test_feature(void **st) { (void)st; test_model(&cases[2]); }
static void test_liveness(void **st) { (void)st; test_model(&cases[3]); }

static void assert_same_bits(const float *a, const float *b, size_t n, const char *what) {
  if (memcmp(a, b, n * sizeof(float)) != 0) {
    for (size_t i = 0; i < n; i++)
      if (memcmp(&a[i], &b[i], sizeof(float))) { print_error("%s: element %zu differs: %.9g vs %.9g\n", what, i, a[i], b[i]); break; }
    fail();
  }
}

/* Two sessions on one model agree bit for bit; a session run three times
 * agrees with itself. With 2 threads the first run uses the threads and the
 * second the caller's thread alone (the session measures what one thread
 * takes, adapt.c), so this also checks that both ways give the same bits. */
static void test_determinism(void **st) {
  (void)st;
  int any = 0;
  static const struct { int backend, precision; } kinds[] = {
    {FG_BACKEND_XNNPACK, FG_PRECISION_FP32}, {FG_BACKEND_ONEDNN, FG_PRECISION_FP32},
    {FG_BACKEND_ONEDNN, FG_PRECISION_BF16}, {FG_BACKEND_ONEDNN, FG_PRECISION_INT8}};
  for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
    const model_case *c = &cases[ci];
    loaded L;
    if (load_case(c, &L)) continue;
    any = 1;
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
    for (int threads = 1; threads <= 2; threads++) {
      fg_error e;
      fg_session *s1, *s2;
      fg_session_options so = {.threads = threads, .backend = kinds[k].backend, .precision = kinds[k].precision};
      assert_int_equal(fg_session_create(L.m, &so, &s1, &e), FG_OK);
      assert_int_equal(fg_session_create(L.m, &so, &s2, &e), FG_OK);
      float *a[2] = {0}, *b[2] = {0}, *a2[2] = {0}, *a3[2] = {0};
      run_session(s1, &L, c->n_out, a);
      run_session(s2, &L, c->n_out, b);
      run_session(s1, &L, c->n_out, a2);
      run_session(s1, &L, c->n_out, a3);
      for (int o = 0; o < c->n_out; o++) {
        char what[160];
        snprintf(what, sizeof what, "%s output %d, %s %s, %d thread(s)", c->file, o,
                 kinds[k].backend == FG_BACKEND_XNNPACK ? "xnnpack" : "onednn", fg_precision_name(kinds[k].precision),
                 threads);
        assert_same_bits(a[o], b[o], L.ref_count[o], what);
        assert_same_bits(a[o], a2[o], L.ref_count[o], what);
        assert_same_bits(a[o], a3[o], L.ref_count[o], what);
        free(a[o]); free(b[o]); free(a2[o]); free(a3[o]);
      }
      fg_session_destroy(s1);
      fg_session_destroy(s2);
    }
    /* the reference backend is deterministic too (checked on the smallest model:
     * it is slow under the sanitizers) */
    if (strcmp(c->file, "fr_landmark.onnx")) { free_case(&L); continue; }
    fg_error e;
    fg_session *r;
    fg_session_options so = {.threads = 1, .backend = FG_BACKEND_REFERENCE};
    assert_int_equal(fg_session_create(L.m, &so, &r, &e), FG_OK);
    float *a[2] = {0}, *b[2] = {0};
    run_session(r, &L, c->n_out, a);
    run_session(r, &L, c->n_out, b);
    for (int o = 0; o < c->n_out; o++) {
      assert_same_bits(a[o], b[o], L.ref_count[o], c->file);
      free(a[o]); free(b[o]);
    }
    fg_session_destroy(r);
    free_case(&L);
  }
  if (!any) TU_SKIP("no default model in %s (run scripts/setup)", tu_models_dir());
}

/* One model, one session per thread, several threads at once (the documented rule):
 * every thread gets the single-threaded answer bit for bit. The detector is used
 * for XNNPACK because it also runs C kernels (Slice, Exp, Concat...). */
typedef struct worker {
  const loaded *L;
  int n_out, backend, precision, runs;
  const float *const *want;
  int bad;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  fg_session *s;
  fg_error e;
  fg_session_options so = {.threads = 1, .backend = w->backend, .precision = w->precision};
  if (fg_session_create(w->L->m, &so, &s, &e)) { w->bad = 1; return NULL; }
  for (int r = 0; r < w->runs && !w->bad; r++) {
    float *out[2] = {0};
    const float *in[1] = {w->L->in};
    for (int o = 0; o < w->n_out; o++) out[o] = malloc(w->L->ref_count[o] * sizeof(float));
    if (fg_session_run(s, in, (float *const *)out, &e)) w->bad = 1;
    for (int o = 0; o < w->n_out; o++) {
      if (!w->bad && memcmp(out[o], w->want[o], w->L->ref_count[o] * sizeof(float))) w->bad = 1;
      free(out[o]);
    }
  }
  fg_session_destroy(s);
  return NULL;
}

static void test_threads_share_model(void **st) {
  (void)st;
  /* XNNPACK and oneDNN int8 on the detector; the reference backend (slow under
   * the sanitizers) on the landmarks */
  static const struct { int ci, backend, precision, runs; } plan[] = {
    {0, FG_BACKEND_XNNPACK, 0, 6}, {0, FG_BACKEND_ONEDNN, FG_PRECISION_INT8, 6}, {1, FG_BACKEND_REFERENCE, 0, 2}};
  for (int p = 0; p < 3; p++) {
    const model_case *c = &cases[plan[p].ci];
    loaded L;
    if (load_case(c, &L)) TU_SKIP("%s not in %s (run scripts/setup)", c->file, tu_models_dir());
    float *want[2] = {0};
    run_backend(&L, c->n_out, plan[p].backend, 1, plan[p].precision, want);
    worker w[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
      w[i] = (worker){&L, c->n_out, plan[p].backend, plan[p].precision, plan[p].runs, (const float *const *)want, 0};
      assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
      pthread_join(th[i], NULL);
      assert_int_equal(w[i].bad, 0);
    }
    free(want[0]);
    free(want[1]);
    free_case(&L);
  }
}

static void test_input_nhwc(void **st) {
  (void)st;
  const model_case *c = &cases[0];
  loaded L;
  if (load_case(c, &L)) TU_SKIP("%s not in %s (run scripts/setup)", c->file, tu_models_dir());
  const fg_tensor_info *t = fg_model_input(L.m, 0);
  size_t C = (size_t)t->dims[1], hw = (size_t)t->dims[2] * (size_t)t->dims[3];
  float *nhwc = malloc(L.in_count * sizeof(float));
  assert_non_null(nhwc);
  for (size_t ch = 0; ch < C; ch++)
    for (size_t p = 0; p < hw; p++) nhwc[p * C + ch] = L.in[ch * hw + p];
  static const struct { int backend, precision; const char *name; } kinds[] = {
    {FG_BACKEND_ONEDNN, FG_PRECISION_FP32, "onednn fp32"}, {FG_BACKEND_ONEDNN, FG_PRECISION_BF16, "onednn bf16"},
    {FG_BACKEND_XNNPACK, FG_PRECISION_FP32, "xnnpack"}};
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
    float *want[2] = {0}, *got[2] = {0};
    run_backend(&L, c->n_out, kinds[k].backend, 1, kinds[k].precision, want);
    fg_error e;
    fg_session *s;
    fg_session_options so = {.threads = 1, .backend = kinds[k].backend, .precision = kinds[k].precision, .input_nhwc = 1};
    assert_int_equal(fg_session_create(L.m, &so, &s, &e), FG_OK);
    loaded Ln = L;
    Ln.in = nhwc;
    run_session(s, &Ln, c->n_out, got);
    fg_session_destroy(s);
    for (int o = 0; o < c->n_out; o++) {
      char what[96];
      snprintf(what, sizeof what, "%s output %d, %s, NHWC input", c->file, o, kinds[k].name);
      assert_same_bits(want[o], got[o], L.ref_count[o], what);
      free(want[o]);
      free(got[o]);
    }
  }
  free(nhwc);
  free_case(&L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_detect),
    cmocka_unit_test(test_landmark),
    cmocka_unit_test(test_feature),
    cmocka_unit_test(test_liveness),
    cmocka_unit_test(test_determinism),
    cmocka_unit_test(test_threads_share_model),
    cmocka_unit_test(test_input_nhwc),
  };
  return cmocka_run_group_tests_name("nn_models", tests, NULL, NULL);
}
