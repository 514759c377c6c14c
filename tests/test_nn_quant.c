/*
 * Quantised inference around the kernels (which test_nn_ops.c and
 * test_nn_models.c compare with fp32): activation ranges (recording, JSON
 * round trip, every malformed file refused with a reason, the built-in ranges
 * of the default models, another model's ranges refused), the precision
 * options of the face engine, and the policy that decides when a session's
 * threads are used (adapt.c), driven with synthetic run times.
 */
#include "testutil.h"

#include <dirent.h>
#include <math.h>

#include "facegate/face.h"
#include "facegate/nn.h"
#include "nn/model.h"
#include "onnx.pb-c.h"

#include "onnx_build.h"

/* A tiny Conv -> Relu -> Conv model (no model files needed). */
static fg_model *tiny_model(void) {
  mb *b = mb_new(11);
  mb_input(b, "x", 4, (int64_t[]){1, 3, 8, 8});
  float w1[6 * 3 * 9], w2[4 * 6];
  for (size_t i = 0; i < sizeof w1 / sizeof *w1; i++) w1[i] = (float)((i * 37) % 19) / 19.f - 0.5f;
  for (size_t i = 0; i < sizeof w2 / sizeof *w2; i++) w2[i] = (float)((i * 11) % 7) / 7.f - 0.5f;
  mb_init_f(b, "w1", 4, (int64_t[]){6, 3, 3, 3}, w1, 0);
  mb_init_f(b, "w2", 4, (int64_t[]){4, 6, 1, 1}, w2, 0);
  Onnx__NodeProto *n = mb_node(b, "Conv", "x,w1", "c1");
  mb_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
  mb_node(b, "Relu", "c1", "r1");
  mb_node(b, "Conv", "r1,w2", "y");
  mb_output(b, "y");
  size_t len;
  uint8_t *buf = mb_pack(b, &len);
  fg_model *m;
  fg_error e;
  assert_int_equal(fg_model_load_memory(buf, len, NULL, &m, &e), FG_OK);
  free(buf);
  mb_free(b);
  return m;
}

static void record_once(fg_model *m, fg_quant_ranges *r, float bias) {
  fg_session *s;
  fg_error e;
  fg_session_options so = {.backend = FG_BACKEND_ONEDNN, .record = 1};
  assert_int_equal(fg_session_create(m, &so, &s, &e), FG_OK);
  float x[3 * 64], y[4 * 64];
  for (int i = 0; i < 3 * 64; i++) x[i] = (float)((i * 13) % 29) / 29.f - 0.5f + bias;
  const float *in[1] = {x};
  float *out[1] = {y};
  assert_int_equal(fg_session_run(s, in, out, &e), FG_OK);
  assert_int_equal(fg_session_record(s, r, &e), FG_OK);
  fg_session_destroy(s);
}

static void test_record_save_load(void **st) {
  (void)st;
  fg_model *m = tiny_model();
  fg_quant_ranges *r, *back;
  fg_error e;
  assert_int_equal(fg_quant_ranges_create(m, &r, &e), FG_OK);
  record_once(m, r, 0);
  record_once(m, r, 0.25f);
  assert_int_equal(fg_quant_ranges_runs(r), 2);
  int kx = fg__quant_find(r, "x"), kr = fg__quant_find(r, "r1");
  assert_true(kx >= 0 && kr >= 0);
  assert_true(fabsf(r->min[kx] - (-0.5f)) < 1e-6f);     /* first run's lowest input */
  assert_true(fabsf(r->max[kx] - (28.f / 29.f - 0.25f)) < 1e-6f); /* second run's highest */
  assert_true(r->min[kr] >= 0);                          /* after the Relu (fused into the Conv) */
  char dir[] = "/tmp/fg_quant_XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/r.json", dir);
  assert_int_equal(fg_quant_ranges_save(r, path, "test", &e), FG_OK);
  assert_int_equal(fg_quant_ranges_load(path, m, &back, &e), FG_OK);
  assert_int_equal(fg_quant_ranges_runs(back), 2);
  for (size_t i = 0; i < r->n; i++) {
    int k = fg__quant_find(back, r->names[i]);
    assert_true(k >= 0);
    assert_true(fabsf(back->min[k] - r->min[i]) <= 1e-6f * fmaxf(1, fabsf(r->min[i])));
    assert_true(fabsf(back->max[k] - r->max[i]) <= 1e-6f * fmaxf(1, fabsf(r->max[i])));
  }
  /* an int8 session on these ranges runs and stays near fp32 */
  fg_session *s8, *s32;
  fg_session_options o8 = {.backend = FG_BACKEND_ONEDNN, .precision = FG_PRECISION_INT8, .ranges = back},
                     o32 = {.backend = FG_BACKEND_ONEDNN};
  assert_int_equal(fg_session_create(m, &o8, &s8, &e), FG_OK);
  assert_int_equal(fg_session_create(m, &o32, &s32, &e), FG_OK);
  float x[3 * 64], a[4 * 64], b[4 * 64], mx = 0, d = 0;
  for (int i = 0; i < 3 * 64; i++) x[i] = (float)((i * 13) % 29) / 29.f - 0.5f;
  const float *in[1] = {x};
  float *oa[1] = {a}, *ob[1] = {b};
  assert_int_equal(fg_session_run(s8, in, oa, &e), FG_OK);
  assert_int_equal(fg_session_run(s32, in, ob, &e), FG_OK);
  for (int i = 0; i < 4 * 64; i++) mx = fmaxf(mx, fabsf(b[i])), d = fmaxf(d, fabsf(a[i] - b[i]));
  assert_true(d <= 0.06f * fmaxf(1, mx));
  fg_session_destroy(s8);
  fg_session_destroy(s32);
  /* recording needs a recording fp32 oneDNN session */
  fg_session *sx;
  fg_session_options ox = {.backend = FG_BACKEND_XNNPACK};
  assert_int_equal(fg_session_create(m, &ox, &sx, &e), FG_OK);
  assert_int_equal(fg_session_record(sx, r, &e), FG_EUNSUPPORTED);
  fg_session_destroy(sx);
  assert_int_equal(fg_session_create(m, &o32, &sx, &e), FG_OK);
  assert_int_equal(fg_session_record(sx, r, &e), FG_EINVAL);
  fg_session_destroy(sx);
  fg_session_options bad = {.backend = FG_BACKEND_ONEDNN, .precision = FG_PRECISION_BF16, .record = 1};
  assert_int_equal(fg_session_create(m, &bad, &sx, &e), FG_EINVAL);
  /* an int8 session of a model without built-in ranges needs some */
  assert_int_equal(fg_session_create(m, &(fg_session_options){.backend = FG_BACKEND_ONEDNN, .precision = FG_PRECISION_INT8},
                                     &sx, &e), FG_EINVAL);
  assert_non_null(strstr(e.msg, "ranges"));
  fg_quant_ranges *none;
  assert_int_equal(fg_quant_ranges_builtin(m, &none, &e), FG_ENOTFOUND);
  assert_null(none);
  fg_quant_ranges_destroy(back);
  fg_quant_ranges_destroy(r);
  unlink(path);
  rmdir(dir);
  fg_model_destroy(m);
}

static void expect_bad(const char *json, const fg_model *m, int code, const char *needle) {
  fg_quant_ranges *r = (fg_quant_ranges *)1;
  fg_error e = {0};
  int rc = fg_quant_ranges_parse(json, strlen(json), m, &r, &e);
  if (rc != code || r != NULL || (needle && !strstr(e.msg, needle))) {
    print_error("parse %s: got %d (%s), want %d with '%s'\n", json, rc, e.msg, code, needle ? needle : "");
    fail();
  }
}

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_parse_refuses(void **st) {
  (void)st;
  expect_bad("", NULL, FG_EFORMAT, "line");
  expect_bad("[1]", NULL, FG_EFORMAT, "not a JSON object");
  expect_bad("{\"runs\": 1, \"tensors\": {\"a\": [0, 1, 1]}}", NULL, FG_EFORMAT, "model_sha256");
  expect_bad("{\"model_sha256\": \"ABC\", \"runs\": 1, \"tensors\": {\"a\": [0, 1, 1]}}", NULL, FG_EFORMAT, "hex");
  expect_bad("{\"model_sha256\": \"" SHA "\", \"runs\": 0, \"tensors\": {\"a\": [0, 1, 1]}}", NULL, FG_EFORMAT, "runs");
  expect_bad("{\"model_sha256\": \"" SHA "\", \"runs\": 2, \"tensors\": {}}", NULL, FG_EFORMAT, "no tensors");
  expect_bad("{\"model_sha256\": \"" SHA "\", \"runs\": 2, \"tensors\": {\"a\": [0, 1]}}", NULL, FG_EFORMAT, "'a'");
  expect_bad("{\"model_sha256\": \"" SHA "\", \"runs\": 2, \"tensors\": {\"a\": [2, 1, 1]}}", NULL, FG_EFORMAT, "impossible");
  expect_bad("{\"model_sha256\": \"" SHA "\", \"runs\": 2, \"tensors\": {\"a\": [0, 1, 5]}}", NULL, FG_EFORMAT, "impossible");
  expect_bad("{\"model_sha256\": \"" SHA "\", \"runs\": 2, \"tensors\": {\"a\": [0, 1e39, 1]}}", NULL, FG_EFORMAT, "impossible");
  expect_bad("{\"model_sha256\": \"" SHA "\", \"runs\": 2, \"tensors\": {\"a\": [0, \"1\", 1]}}", NULL, FG_EFORMAT, "'a'");
  expect_bad("{\"model_sha256\": \"" SHA "\", \"runs\": 2, \"tensors\": {\"a\": [0, 1, 1], \"a\": [0, 1, 1]}}", NULL,
             FG_EFORMAT, "duplicate");
  fg_model *m = tiny_model();
  expect_bad("{\"model_sha256\": \"" SHA "\", \"runs\": 2, \"tensors\": {\"a\": [0, 1, 1]}}", m, FG_EMODEL, "not on this model");
  fg_model_destroy(m);
  fg_quant_ranges *r;
  fg_error e;
  const char *ok = "{\"model_sha256\": \"" SHA "\", \"runs\": 3, \"method\": \"x\", \"other\": 1, \"tensors\": {\"a\": [-1, 2, 1.5]}}";
  assert_int_equal(fg_quant_ranges_parse(ok, strlen(ok), NULL, &r, &e), FG_OK);
  assert_int_equal(fg_quant_ranges_count(r), 1);
  assert_int_equal(fg_quant_ranges_runs(r), 3);
  fg_quant_ranges_destroy(r);
  assert_int_equal(fg_quant_ranges_load("/nonexistent/r.json", NULL, &r, &e), FG_ENOTFOUND);
  assert_non_null(strstr(e.msg, "/nonexistent/r.json"));
}

/* The built-in ranges cover every activation the int8 sessions of the
 * default models quantise. */
static void test_builtin(void **st) {
  (void)st;
  int any = 0;
  for (size_t i = 0; fg_default_model_at(i); i++) {
    char path[512];
    tu_path(path, sizeof path, tu_models_dir(), fg_default_model_at(i)->file);
    if (!tu_exists(path)) continue;
    any = 1;
    fg_model *m;
    fg_quant_ranges *r;
    fg_error e;
    assert_int_equal(fg_model_load_file(path, NULL, &m, &e), FG_OK);
    assert_int_equal(fg_quant_ranges_builtin(m, &r, &e), FG_OK);
    assert_true(fg_quant_ranges_count(r) > 10);
    assert_true(fg_quant_ranges_runs(r) >= 1906); /* every development image at least once */
    fg_session *s;
    fg_session_options so = {.backend = FG_BACKEND_ONEDNN, .precision = FG_PRECISION_INT8};
    assert_int_equal(fg_session_create(m, &so, &s, &e), FG_OK);
    char desc[65536];
    assert_true(fg_session_describe(s, desc, sizeof desc) > 0);
    assert_non_null(strstr(desc, "Conv int8"));
    fg_session_destroy(s);
    fg_quant_ranges_destroy(r);
    fg_model_destroy(m);
  }
  if (!any) TU_SKIP("no default model in %s (run scripts/setup)", tu_models_dir());
}

static void test_precision_parse(void **st) {
  (void)st;
  int p[FG_FACE_MODELS] = {0, 0, 0, 0};
  assert_int_equal(fg_face_precision_parse("int8", p), 0);
  for (int i = 0; i < FG_FACE_MODELS; i++) assert_int_equal(p[i], FG_PRECISION_INT8);
  assert_int_equal(fg_face_precision_parse("det=fp32,feat=bf16", p), 0);
  assert_int_equal(p[0], FG_PRECISION_FP32);
  assert_int_equal(p[1], FG_PRECISION_INT8);
  assert_int_equal(p[2], FG_PRECISION_BF16);
  assert_int_equal(p[3], FG_PRECISION_INT8);
  static const char *const bad[] = {"", "int9", "det=int9", "foo=fp32", "det=", "det=fp32,", "det", ",", "det=fp32,,lm=int8"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int q[FG_FACE_MODELS] = {0, 1, 2, 0};
    assert_int_equal(fg_face_precision_parse(bad[i], q), -1);
    assert_int_equal(q[1], 1); /* unchanged on error */
  }
  char buf[64];
  fg_face_precision_format(p, buf, sizeof buf);
  assert_string_equal(buf, "det=fp32,lm=int8,feat=bf16,live=int8");
  fg_face_options o;
  fg_face_options_init(&o);
  o.precision[2] = 7;
  fg_face_engine *fe;
  fg_error e;
  assert_int_equal(fg_face_engine_create(&o, &fe, &e), FG_EINVAL);
}

/* ---- when a session uses its threads (adapt.c) ---- */

/* Run the policy `runs` times with a session whose one-thread runs take t1 ms
 * and threaded runs tn ms; returns how many used the threads. */
static unsigned long drive(fg__adapt *a, unsigned long runs, double t1, double tn) {
  unsigned long wide = 0;
  for (unsigned long i = 0; i < runs; i++) {
    int w = fg__adapt_choose(a);
    wide += (unsigned long)w;
    fg__adapt_record(a, w, w ? tn : t1);
  }
  return wide;
}

static void test_adapt(void **st) {
  (void)st;
  fg__adapt a;
  fg__adapt_init(&a, 1);
  assert_int_equal(drive(&a, 100, 10, 1), 0); /* one thread: nothing to decide */

  /* quiet machine: threads twice as fast, used on all runs but the refreshes of t1 */
  fg__adapt_init(&a, 2);
  unsigned long w = drive(&a, 1000, 10, 5);
  assert_true(w >= 960);
  assert_true(a.wide);

  /* busy machine: threads 30 times slower; after the first runs, the threads
   * are tried once every 256 runs at most */
  fg__adapt_init(&a, 2);
  w = drive(&a, 2000, 10, 300);
  assert_true(w <= 16);
  assert_false(a.wide);
  unsigned long before = a.wide_runs;
  w = drive(&a, 1024, 10, 300);
  assert_true(w <= 5 && a.wide_runs - before == w);

  /* the neighbour leaves: back to the threads within one back-off period */
  w = drive(&a, 300, 10, 5);
  assert_true(a.wide);
  w = drive(&a, 100, 10, 5);
  assert_true(w >= 95);

  /* it comes back: the next threaded run falls back at once */
  (void)drive(&a, 1, 10, 300);
  assert_false(a.wide);

  /* threads that help only a little (within 10%) are not worth the spinning */
  fg__adapt_init(&a, 4);
  w = drive(&a, 1000, 10, 9.5);
  assert_true(a.wide); /* 9.5 < 1.2 * 10: never falls back once on them */
  fg__adapt_init(&a, 4);
  w = drive(&a, 1000, 10, 12.5);
  assert_false(a.wide);
  assert_true(w <= 12);
}

/* A real session's statistics say what the policy did. */
static void test_session_stats(void **st) {
  (void)st;
  fg_model *m = tiny_model();
  fg_session *s;
  fg_error e;
  fg_session_options so = {.backend = FG_BACKEND_ONEDNN, .threads = 2};
  assert_int_equal(fg_session_create(m, &so, &s, &e), FG_OK);
  float x[3 * 64] = {0}, y[4 * 64];
  const float *in[1] = {x};
  float *out[1] = {y};
  for (int i = 0; i < 5; i++) assert_int_equal(fg_session_run(s, in, out, &e), FG_OK);
  fg_session_stats ss;
  fg_session_get_stats(s, &ss);
  assert_string_equal(ss.backend, "onednn");
  assert_int_equal(ss.threads, 2);
  assert_int_equal(ss.runs, 5);
  assert_true(ss.threaded_runs >= 1 && ss.threaded_runs <= 4); /* run 1 is on one thread (t1) */
  fg_session_destroy(s);
  fg_model_destroy(m);
}

/* The fuzz seeds and whatever the fuzzer kept (fuzz/corpus/fuzz_quant): each
 * is read without crashing, and the seeds that are valid files still are. */
static void test_fuzz_corpus(void **st) {
  (void)st;
  DIR *d = opendir("fuzz/corpus/fuzz_quant");
  if (!d) TU_SKIP("fuzz/corpus/fuzz_quant not found (run from the project root)");
  struct dirent *de;
  int n = 0, ok = 0;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char path[512];
    snprintf(path, sizeof path, "fuzz/corpus/fuzz_quant/%s", de->d_name);
    size_t len;
    uint8_t *buf = tu_read(path, &len);
    fg_quant_ranges *r;
    fg_error e;
    if (fg_quant_ranges_parse((const char *)buf, len, NULL, &r, &e) == FG_OK) ok++, fg_quant_ranges_destroy(r);
    free(buf);
    n++;
  }
  closedir(d);
  assert_true(n >= 2 && ok >= 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_record_save_load), cmocka_unit_test(test_parse_refuses), cmocka_unit_test(test_builtin),
    cmocka_unit_test(test_precision_parse),  cmocka_unit_test(test_adapt),         cmocka_unit_test(test_session_stats),
    cmocka_unit_test(test_fuzz_corpus),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
