/*
 * Hostile and broken model files: the loader must answer each with an error
 * code and a message, or with a working model, and never crash, hang, leak or
 * allocate without bound (run it under `make check-asan` to see the "never").
 *
 *   - every prefix of a small model built here, and ~200 prefixes of
 *     fr_landmark.onnx at spread lengths: an error every time;
 *   - seeded random byte flips of both: an error or a model that runs;
 *   - handmade models, each with one thing wrong: absurd, negative and too
 *     many dimensions, raw data of the wrong length, a cycle, an output
 *     defined twice, an unknown operator (the message names node and op), an
 *     unsupported attribute (names node, op and attribute), an empty buffer,
 *     a 1 GiB tensor claimed in a small file, omitted required inputs, ...;
 *   - every file in tests/fixtures/onnx-regress/ (inputs that once crashed or
 *     misbehaved, from fuzzing and from these tests): loaded, and run when it
 *     loads.
 * With FG_WRITE_REGRESS=1 the handmade models are (re)written into that folder.
 */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <time.h>

#include "facegate/nn.h"
#include "onnx.pb-c.h"

#define REGRESS_DIR "tests/fixtures/onnx-regress"

#include "onnx_build.h"

/* ------------------------------------------------------------------ helpers */

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Load; if it loads, run it once on zeros with the given backend when small. Returns the load's code. */
static int load_and_run(const uint8_t *buf, size_t len, int run_backends, fg_error *e) {
  fg_model *m = NULL;
  fg_model_options mo = {.max_total_bytes = (size_t)64 << 20};
  int rc = fg_model_load_memory(buf, len, &mo, &m, e);
  if (rc) {
    assert_null(m);
    assert_int_equal(e->code, rc);
    assert_true(rc < 0);
    assert_true(e->msg[0] != 0);
    return rc;
  }
  assert_non_null(m);
  size_t total = 0;
  for (size_t i = 0; i < fg_model_input_count(m); i++) total += fg_model_input(m, i)->count;
  for (int b = 0; b < 2 && total < 100000; b++) {
    if (!(run_backends & (1 << b))) continue;
    fg_session *s;
    fg_error se;
    fg_session_options so = {.threads = 1, .backend = b ? FG_BACKEND_REFERENCE : FG_BACKEND_XNNPACK};
    if (fg_session_create(m, &so, &s, &se)) continue; /* refusing here is allowed too */
    const float *in[64] = {0};
    float *out[64] = {0};
    float *zeros = calloc(total + 1, sizeof(float));
    assert_non_null(zeros);
    size_t ni = fg_model_input_count(m), no = fg_model_output_count(m);
    if (ni <= 64 && no <= 64) {
      size_t off = 0;
      for (size_t i = 0; i < ni; i++) { in[i] = zeros + off; off += fg_model_input(m, i)->count; }
      for (size_t o = 0; o < no; o++) {
        out[o] = malloc(fg_model_output(m, o)->count * sizeof(float) + 1);
        assert_non_null(out[o]);
      }
      (void)fg_session_run(s, in, out, &se);
      for (size_t o = 0; o < no; o++) free(out[o]);
    }
    free(zeros);
    fg_session_destroy(s);
  }
  fg_model_destroy(m);
  return 0;
}

static void expect_error(const char *what, const uint8_t *buf, size_t len, int want1, int want2) {
  fg_error e;
  fg_model *m;
  int rc = fg_model_load_memory(buf, len, NULL, &m, &e);
  if (rc == 0) {
    fg_model_destroy(m);
    print_error("%s: loaded, expected %s\n", what, fg_err_name(want1));
    fail();
  }
  if (rc != want1 && rc != want2) {
    print_error("%s: got %s (%s), expected %s\n", what, fg_err_name(rc), e.msg, fg_err_name(want1));
    fail();
  }
  assert_null(m);
  fprintf(stderr, "  %-40s %s: %s\n", what, fg_err_name(rc), e.msg);
}

static void expect_msg(const char *what, const uint8_t *buf, size_t len, const char *const *needles) {
  fg_error e;
  fg_model *m;
  int rc = fg_model_load_memory(buf, len, NULL, &m, &e);
  if (rc == 0) { fg_model_destroy(m); print_error("%s: loaded\n", what); fail(); }
  for (int i = 0; needles[i]; i++)
    if (!strstr(e.msg, needles[i])) {
      print_error("%s: message \"%s\" does not name \"%s\"\n", what, e.msg, needles[i]);
      fail();
    }
}

static void maybe_write_regress(const char *file, const uint8_t *buf, size_t len) {
  const char *w = getenv("FG_WRITE_REGRESS");
  if (!w || !*w) return;
  char path[512];
  snprintf(path, sizeof path, "%s/%s", REGRESS_DIR, file);
  FILE *f = fopen(path, "wb");
  if (!f) { print_error("cannot write %s\n", path); fail(); }
  assert_int_equal(fwrite(buf, 1, len, f), len);
  fclose(f);
}

/* A small but complete model: Conv+Relu, MaxPool, Conv, GlobalAveragePool, Flatten,
 * Gemm, Softmax, with a Shape->Gather->Unsqueeze->Concat->Reshape chain. */
static mb *small_model(void) {
  mb *b = mb_new(11);
  mb_input(b, "x", 4, INTS(1, 2, 8, 8));
  float w1[4 * 2 * 9], b1[4], w2[6 * 4], W[3 * 6];
  for (size_t i = 0; i < sizeof w1 / sizeof *w1; i++) w1[i] = (float)((int)(i % 7) - 3) / 8;
  for (size_t i = 0; i < 4; i++) b1[i] = 0.1f * (float)i;
  for (size_t i = 0; i < sizeof w2 / sizeof *w2; i++) w2[i] = (float)((int)(i % 5) - 2) / 4;
  for (size_t i = 0; i < sizeof W / sizeof *W; i++) W[i] = (float)((int)(i % 3) - 1) / 2;
  mb_init_f(b, "w1", 4, INTS(4, 2, 3, 3), w1, 0);
  mb_init_f(b, "b1", 1, INTS(4), b1, 1);
  mb_init_f(b, "w2", 4, INTS(6, 4, 1, 1), w2, 0);
  mb_init_f(b, "W", 2, INTS(3, 6), W, 0);
  mb_init_i64(b, "zero", 0, NULL, INTS(0));
  mb_ints(b, "m1", 1, INTS(-1));
  Onnx__NodeProto *n = mb_node(b, "Conv", "x,w1,b1", "c1");
  mb_attr_ints(b, n, "pads", NINTS(1, 1, 1, 1));
  mb_node(b, "Relu", "c1", "r1");
  n = mb_node(b, "MaxPool", "r1", "p1");
  mb_attr_ints(b, n, "kernel_shape", NINTS(2, 2));
  mb_attr_ints(b, n, "strides", NINTS(2, 2));
  mb_node(b, "Conv", "p1,w2", "c2");
  mb_node(b, "GlobalAveragePool", "c2", "g");
  mb_node(b, "Shape", "g", "shp");
  n = mb_node(b, "Gather", "shp,zero", "n0");
  mb_attr_i(b, n, "axis", 0);
  n = mb_node(b, "Unsqueeze", "n0", "n1");
  mb_attr_ints(b, n, "axes", NINTS(0));
  n = mb_node(b, "Concat", "n1,m1", "shape");
  mb_attr_i(b, n, "axis", 0);
  mb_node(b, "Reshape", "g,shape", "f");
  n = mb_node(b, "Gemm", "f,W", "logits");
  mb_attr_i(b, n, "transB", 1);
  n = mb_node(b, "Softmax", "logits", "y");
  mb_attr_i(b, n, "axis", 1);
  mb_output(b, "y");
  return b;
}

/* ------------------------------------------------------------------ truncation and flips */

static void test_truncated_small(void **st) {
  (void)st;
  mb *b = small_model();
  size_t len;
  uint8_t *buf = mb_pack(b, &len);
  fg_error e;
  assert_int_equal(load_and_run(buf, len, 3, &e), 0); /* the whole file works */
  for (size_t n = 0; n < len; n++) {
    uint8_t *p = malloc(n + 1); /* exact-size copy so ASan sees any read past the end */
    memcpy(p, buf, n);
    int rc = load_and_run(n ? p : NULL, n, 3, &e);
    if (rc == 0) { print_error("prefix of %zu/%zu bytes loaded\n", n, len); fail(); }
    free(p);
  }
  fprintf(stderr, "  every prefix of a %zu-byte model refused\n", len);
  free(buf);
  mb_free(b);
}

static uint8_t *read_model(const char *file, size_t *len) {
  char path[1024];
  tu_path(path, sizeof path, tu_models_dir(), file);
  if (!tu_exists(path)) return NULL;
  return tu_read(path, len);
}

static void test_truncated_landmark(void **st) {
  (void)st;
  size_t len;
  uint8_t *buf = read_model("fr_landmark.onnx", &len);
  if (!buf) TU_SKIP("fr_landmark.onnx not in %s (run scripts/setup)", tu_models_dir());
  fg_error e;
  int counts[16] = {0};
  for (int i = 0; i < 200; i++) {
    /* dense near the start (headers, graph structure), then spread over the weights and the end */
    size_t n = i < 64 ? (size_t)i * 17 : i < 190 ? (size_t)((double)(i - 64) / 126.0 * (double)len) : len - (size_t)(200 - i);
    if (n >= len) n = len - 1;
    uint8_t *p = malloc(n + 1);
    memcpy(p, buf, n);
    int rc = load_and_run(p, n, 1, &e);
    if (rc == 0) { print_error("fr_landmark.onnx prefix of %zu/%zu bytes loaded\n", n, len); fail(); }
    counts[-rc < 16 ? -rc : 0]++;
    free(p);
  }
  fprintf(stderr, "  200 prefixes of fr_landmark.onnx refused: %d FG_EFORMAT, %d FG_EUNSUPPORTED, %d other\n",
          counts[-FG_EFORMAT], counts[-FG_EUNSUPPORTED], 200 - counts[-FG_EFORMAT] - counts[-FG_EUNSUPPORTED]);
  free(buf);
}

static void flip_run(const char *what, const uint8_t *buf, size_t len, int n_variants, int max_flips, int backends) {
  uint8_t *p = malloc(len);
  int ok = 0;
  fg_error e;
  for (int v = 0; v < n_variants; v++) {
    memcpy(p, buf, len);
    int flips = 1 + (int)(next_rand() % (uint64_t)max_flips);
    for (int f = 0; f < flips; f++) {
      size_t at = (size_t)(next_rand() % len);
      switch (next_rand() % 3) {
      case 0: p[at] ^= (uint8_t)(1u << (next_rand() % 8)); break;
      case 1: p[at] = (uint8_t)next_rand(); break;
      default: p[at] = (uint8_t)(next_rand() & 1 ? 0xff : 0x00); break;
      }
    }
    const char *dump = getenv("FG_DUMP_CURRENT");
    if (dump) { FILE *f = fopen(dump, "wb"); if (f) { fwrite(p, 1, len, f); fclose(f); } }
    if (load_and_run(p, len, backends, &e) == 0) ok++;
  }
  fprintf(stderr, "  %s: %d flipped variants, %d loaded and ran, %d refused\n", what, n_variants, ok, n_variants - ok);
  free(p);
}

static void test_byte_flips(void **st) {
  (void)st;
  mb *b = small_model();
  size_t len;
  uint8_t *buf = mb_pack(b, &len);
  flip_run("small model", buf, len, 3000, 4, 3);
  free(buf);
  mb_free(b);
  buf = read_model("fr_landmark.onnx", &len);
  if (!buf) TU_SKIP("fr_landmark.onnx not in %s (run scripts/setup)", tu_models_dir());
  /* flips land mostly in the weights; bias them towards the graph structure at the end too */
  flip_run("fr_landmark.onnx", buf, len, 100, 8, 1);
  free(buf);
}

/* ------------------------------------------------------------------ handmade hostile models */

/* x -> Relu -> y, plus whatever the case adds. */
static mb *base(int64_t opset) {
  mb *b = mb_new(opset);
  mb_input(b, "x", 4, INTS(1, 3, 4, 4));
  return b;
}

static void pack_expect(const char *what, const char *file, mb *b, int want1, int want2) {
  size_t len;
  uint8_t *buf = mb_pack(b, &len);
  expect_error(what, buf, len, want1, want2);
  if (file) maybe_write_regress(file, buf, len);
  free(buf);
  mb_free(b);
}

static void test_absurd_tensors(void **st) {
  (void)st;
  float one = 1;
  /* initializer claiming 1e12 elements */
  mb *b = base(11);
  Onnx__TensorProto *t = mb_tensor(b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, INTS(1000000, 1000000));
  t->has_raw_data = 1; t->raw_data.len = 4; t->raw_data.data = (uint8_t *)&one;
  b->graph.initializer[b->graph.n_initializer++] = t;
  mb_node(b, "Add", "x,w", "y");
  mb_output(b, "y");
  pack_expect("initializer dims 1e6 x 1e6", "absurd-dims-1e12.onnx", b, FG_ELIMIT, FG_EFORMAT);

  b = base(11);
  t = mb_tensor(b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, INTS((int64_t)1e12));
  t->has_raw_data = 1; t->raw_data.len = 4; t->raw_data.data = (uint8_t *)&one;
  b->graph.initializer[b->graph.n_initializer++] = t;
  mb_node(b, "Add", "x,w", "y");
  mb_output(b, "y");
  pack_expect("initializer dim 1e12", NULL, b, FG_EFORMAT, FG_ELIMIT);

  /* negative dims */
  b = base(11);
  t = mb_tensor(b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, INTS(-1, -4));
  t->has_raw_data = 1; t->raw_data.len = 4; t->raw_data.data = (uint8_t *)&one;
  b->graph.initializer[b->graph.n_initializer++] = t;
  mb_node(b, "Add", "x,w", "y");
  mb_output(b, "y");
  pack_expect("initializer negative dims", "negative-dims.onnx", b, FG_EFORMAT, FG_EFORMAT);

  /* rank 9 */
  b = base(11);
  t = mb_tensor(b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 9, INTS(1, 1, 1, 1, 1, 1, 1, 1, 1));
  t->has_raw_data = 1; t->raw_data.len = 4; t->raw_data.data = (uint8_t *)&one;
  b->graph.initializer[b->graph.n_initializer++] = t;
  mb_node(b, "Add", "x,w", "y");
  mb_output(b, "y");
  pack_expect("initializer rank 9", "rank9.onnx", b, FG_ELIMIT, FG_EFORMAT);

  /* input rank 9, input with a huge shape */
  b = mb_new(11);
  mb_input(b, "x", 9, INTS(1, 1, 1, 1, 1, 1, 1, 1, 1));
  mb_node(b, "Relu", "x", "y");
  mb_output(b, "y");
  pack_expect("input rank 9", NULL, b, FG_ELIMIT, FG_EFORMAT);
  b = mb_new(11);
  mb_input(b, "x", 3, INTS(1, 100000, 100000));
  mb_node(b, "Relu", "x", "y");
  mb_output(b, "y");
  pack_expect("input of 1e10 floats", NULL, b, FG_ELIMIT, FG_EFORMAT);

  /* raw_data length mismatch: short, long, not a whole element */
  static const size_t lens[] = {8, 16, 13};
  static uint8_t raw[64];
  for (int i = 0; i < 3; i++) {
    b = base(11);
    t = mb_tensor(b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, INTS(3));
    t->has_raw_data = 1; t->raw_data.len = lens[i]; t->raw_data.data = raw;
    b->graph.initializer[b->graph.n_initializer++] = t;
    mb_node(b, "Add", "x,w", "y");
    mb_output(b, "y");
    char what[64];
    snprintf(what, sizeof what, "raw_data of %zu bytes for 3 floats", lens[i]);
    pack_expect(what, i == 0 ? "raw-data-short.onnx" : NULL, b, FG_EFORMAT, FG_EFORMAT);
  }
  /* typed data count mismatch */
  b = base(11);
  t = mb_tensor(b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, INTS(5));
  t->n_float_data = 1; t->float_data = &one;
  b->graph.initializer[b->graph.n_initializer++] = t;
  mb_node(b, "Add", "x,w", "y");
  mb_output(b, "y");
  pack_expect("float_data of 1 value for 5", NULL, b, FG_EFORMAT, FG_EFORMAT);

  /* 1 GiB claimed in a small file: no allocation of it, an error */
  b = base(11);
  t = mb_tensor(b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, INTS((int64_t)1 << 28));
  t->has_raw_data = 1; t->raw_data.len = 16; t->raw_data.data = raw;
  b->graph.initializer[b->graph.n_initializer++] = t;
  mb_node(b, "Add", "x,w", "y");
  mb_output(b, "y");
  pack_expect("1 GiB initializer, 16 bytes of data", "claims-1GiB.onnx", b, FG_EFORMAT, FG_ELIMIT);
  b = base(11);
  t = mb_tensor(b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, 1, INTS((int64_t)1 << 28));
  t->has_raw_data = 1; t->raw_data.len = 16; t->raw_data.data = raw;
  b->graph.initializer[b->graph.n_initializer++] = t;
  mb_node(b, "Add", "x,w", "y");
  mb_output(b, "y");
  pack_expect("2 GiB double initializer", NULL, b, FG_ELIMIT, FG_EFORMAT);
  /* a Constant node claiming 1 GiB */
  b = base(11);
  t = mb_tensor(b, "c", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, INTS(1 << 14, 1 << 14));
  t->has_raw_data = 1; t->raw_data.len = 16; t->raw_data.data = raw;
  Onnx__NodeProto *n = mb_node(b, "Constant", "", "c");
  mb_attr(b, n, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t = t;
  mb_node(b, "Add", "x,c", "y");
  mb_output(b, "y");
  pack_expect("Constant claiming 1 GiB", NULL, b, FG_EFORMAT, FG_ELIMIT);
  /* external data */
  b = base(11);
  t = mb_tensor(b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, INTS(1));
  t->has_data_location = 1;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  b->graph.initializer[b->graph.n_initializer++] = t;
  mb_node(b, "Add", "x,w", "y");
  mb_output(b, "y");
  pack_expect("external data", NULL, b, FG_EUNSUPPORTED, FG_EUNSUPPORTED);
}

static void test_bad_graphs(void **st) {
  (void)st;
  /* a cycle: two nodes feeding each other */
  mb *b = base(11);
  mb_node(b, "Add", "x,b", "a");
  mb_node(b, "Relu", "a", "b");
  mb_output(b, "b");
  pack_expect("cycle of two nodes", "cycle.onnx", b, FG_EFORMAT, FG_EFORMAT);
  b = base(11);
  mb_node(b, "Relu", "y", "y");
  mb_output(b, "y");
  pack_expect("node reading its own output", NULL, b, FG_EFORMAT, FG_EFORMAT);
  /* an output defined twice; a node writing a graph input or an initializer */
  b = base(11);
  mb_node(b, "Relu", "x", "y");
  mb_node(b, "Sigmoid", "x", "y");
  mb_output(b, "y");
  pack_expect("output defined twice", "output-twice.onnx", b, FG_EFORMAT, FG_EFORMAT);
  b = base(11);
  mb_node(b, "Relu", "x", "x");
  mb_output(b, "x");
  pack_expect("node writes the graph input", NULL, b, FG_EFORMAT, FG_EFORMAT);
  b = base(11);
  mb_init_f(b, "w", 0, NULL, (const float[]){1}, 0);
  mb_node(b, "Relu", "x", "w");
  mb_output(b, "w");
  pack_expect("node writes an initializer", NULL, b, FG_EFORMAT, FG_EFORMAT);
  /* dangling input, no outputs, no inputs, no graph, no opset, initializer twice */
  b = base(11);
  mb_node(b, "Add", "x,nowhere", "y");
  mb_output(b, "y");
  pack_expect("input nobody produces", NULL, b, FG_EFORMAT, FG_EFORMAT);
  b = base(11);
  mb_node(b, "Relu", "x", "y");
  pack_expect("graph without outputs", NULL, b, FG_EFORMAT, FG_EFORMAT);
  b = base(11);
  mb_output(b, "never");
  pack_expect("output never produced", NULL, b, FG_EFORMAT, FG_EFORMAT);
  b = base(11);
  b->model.graph = NULL;
  pack_expect("model without graph", NULL, b, FG_EFORMAT, FG_EFORMAT);
  b = base(11);
  mb_node(b, "Relu", "x", "y");
  mb_output(b, "y");
  b->model.n_opset_import = 0;
  pack_expect("model without opset", NULL, b, FG_EFORMAT, FG_EFORMAT);
  b = base(30);
  mb_node(b, "Relu", "x", "y");
  mb_output(b, "y");
  pack_expect("opset 30", NULL, b, FG_EUNSUPPORTED, FG_EUNSUPPORTED);
  b = base(11);
  mb_init_f(b, "w", 0, NULL, (const float[]){1}, 0);
  mb_init_f(b, "w", 0, NULL, (const float[]){2}, 0);
  mb_node(b, "Add", "x,w", "y");
  mb_output(b, "y");
  pack_expect("initializer defined twice", NULL, b, FG_EFORMAT, FG_EFORMAT);
  /* omitted required inputs, wrong arity, nodes without outputs */
  b = base(11);
  mb_node(b, "Conv", "x,", "y");
  mb_output(b, "y");
  pack_expect("Conv with an omitted weight", "conv-omitted-weight.onnx", b, FG_EFORMAT, FG_EFORMAT);
  b = base(11);
  Onnx__NodeProto *n = mb_node(b, "Concat", "x,,x", "y");
  mb_attr_i(b, n, "axis", 1);
  mb_output(b, "y");
  pack_expect("Concat with an omitted input", "concat-omitted-input.onnx", b, FG_EFORMAT, FG_EFORMAT);
  b = base(11);
  mb_node(b, "Add", "x", "y");
  mb_output(b, "y");
  pack_expect("Add with one input", "add-one-input.onnx", b, FG_EFORMAT, FG_EFORMAT);
  b = base(11);
  mb_node(b, "Relu", "x", "");
  mb_node(b, "Relu", "x", "y");
  mb_output(b, "y");
  pack_expect("node without outputs", "node-no-output.onnx", b, FG_EFORMAT, FG_EFORMAT);
  b = base(11);
  mb_node(b, "Relu", "x,x,x", "y");
  mb_output(b, "y");
  pack_expect("Relu with three inputs", NULL, b, FG_EFORMAT, FG_EFORMAT);
  b = base(9);
  mb_ints(b, "st", 1, INTS(0));
  mb_node(b, "Slice", "x,st,st", "y");
  mb_output(b, "y");
  pack_expect("opset 9 Slice with inputs", NULL, b, FG_ESHAPE, FG_EFORMAT);
}

static void test_bad_nodes(void **st) {
  (void)st;
  /* unknown op: message names node and op */
  mb *b = base(11);
  Onnx__NodeProto *n = mb_node(b, "FrobnicateV2", "x", "y");
  n->name = mb_str(b, "frob_1");
  mb_output(b, "y");
  size_t len;
  uint8_t *buf = mb_pack(b, &len);
  expect_error("unknown op", buf, len, FG_EUNSUPPORTED, FG_EUNSUPPORTED);
  expect_msg("unknown op", buf, len, (const char *const[]){"frob_1", "FrobnicateV2", NULL});
  free(buf);
  mb_free(b);
  /* unsupported attribute: names node, op and attribute */
  b = base(11);
  n = mb_node(b, "Relu", "x", "y");
  n->name = mb_str(b, "relu_7");
  mb_attr_f(b, n, "gamma", 2);
  mb_output(b, "y");
  buf = mb_pack(b, &len);
  expect_error("unsupported attribute", buf, len, FG_EUNSUPPORTED, FG_EUNSUPPORTED);
  expect_msg("unsupported attribute", buf, len, (const char *const[]){"relu_7", "Relu", "gamma", NULL});
  free(buf);
  mb_free(b);
  /* unsupported attribute value, and an attribute of the wrong type */
  b = base(11);
  n = mb_node(b, "MaxPool", "x", "y");
  n->name = mb_str(b, "pool_3");
  mb_attr_ints(b, n, "kernel_shape", NINTS(2, 2));
  mb_attr_i(b, n, "ceil_mode", 1);
  mb_output(b, "y");
  buf = mb_pack(b, &len);
  expect_msg("ceil_mode=1", buf, len, (const char *const[]){"pool_3", "MaxPool", "ceil_mode", NULL});
  free(buf);
  mb_free(b);
  b = base(11);
  n = mb_node(b, "Conv", "x,w", "y");
  n->name = mb_str(b, "conv_9");
  mb_init_f(b, "w", 4, INTS(2, 3, 1, 1), (const float[]){1, 2, 3, 4, 5, 6}, 0);
  mb_attr_i(b, n, "strides", 2);
  mb_output(b, "y");
  buf = mb_pack(b, &len);
  expect_error("strides given as an int", buf, len, FG_EUNSUPPORTED, FG_EUNSUPPORTED);
  expect_msg("strides given as an int", buf, len, (const char *const[]){"conv_9", "Conv", "strides", NULL});
  free(buf);
  mb_free(b);
  /* other domain */
  b = base(11);
  n = mb_node(b, "Relu", "x", "y");
  n->domain = mb_str(b, "com.microsoft");
  mb_output(b, "y");
  pack_expect("custom domain", NULL, b, FG_EUNSUPPORTED, FG_EUNSUPPORTED);
  /* a Clip bound that is an empty tensor (read out of bounds once) */
  b = base(11);
  mb_init_f(b, "lo", 1, INTS(0), NULL, 0);
  mb_node(b, "Clip", "x,lo", "y");
  mb_output(b, "y");
  pack_expect("Clip with an empty min", "clip-empty-min.onnx", b, FG_ESHAPE, FG_EUNSUPPORTED);
  /* Gather with an index out of range, folded at load */
  b = base(11);
  mb_init_f(b, "d", 1, INTS(3), (const float[]){1, 2, 3}, 0);
  mb_ints(b, "i", 1, INTS(7));
  mb_node(b, "Gather", "d,i", "g");
  mb_node(b, "Add", "x,g", "y");
  mb_output(b, "y");
  pack_expect("Gather index out of range", NULL, b, FG_EFORMAT, FG_EFORMAT);
  /* pooling with a kernel as large as allowed and pads past it */
  b = base(11);
  n = mb_node(b, "MaxPool", "x", "y");
  mb_attr_ints(b, n, "kernel_shape", NINTS(4096, 4096));
  mb_attr_ints(b, n, "pads", NINTS(4096, 4096, 4096, 4096));
  mb_output(b, "y");
  pack_expect("MaxPool pads >= kernel", "maxpool-huge-pads.onnx", b, FG_EUNSUPPORTED, FG_ESHAPE);
  /* Reshape to a shape with the wrong element count, two -1s */
  b = base(11);
  mb_ints(b, "s", 2, INTS(5, -1));
  mb_node(b, "Reshape", "x,s", "y");
  mb_output(b, "y");
  pack_expect("Reshape count mismatch", NULL, b, FG_ESHAPE, FG_ESHAPE);
  b = base(11);
  mb_ints(b, "s", 2, INTS(-1, -1));
  mb_node(b, "Reshape", "x,s", "y");
  mb_output(b, "y");
  pack_expect("Reshape two -1", NULL, b, FG_ESHAPE, FG_ESHAPE);
  /* Transpose with a bad permutation, Concat without axis */
  b = base(11);
  n = mb_node(b, "Transpose", "x", "y");
  mb_attr_ints(b, n, "perm", NINTS(0, 1, 1, 9));
  mb_output(b, "y");
  pack_expect("Transpose perm not a permutation", NULL, b, FG_EUNSUPPORTED, FG_ESHAPE);
  b = base(11);
  mb_node(b, "Concat", "x,x", "y");
  mb_output(b, "y");
  pack_expect("Concat without axis", NULL, b, FG_EUNSUPPORTED, FG_ESHAPE);
  /* folding that would grow without bound: Concat of a constant with itself, repeatedly */
  b = base(11);
  static float big[1 << 16];
  mb_init_f(b, "c0", 1, INTS(1 << 16), big, 0);
  char in[64], out[64];
  for (int i = 0; i < 40; i++) {
    snprintf(in, sizeof in, "c%d,c%d", i, i);
    snprintf(out, sizeof out, "c%d", i + 1);
    n = mb_node(b, "Concat", in, out);
    mb_attr_i(b, n, "axis", 0);
  }
  mb_node(b, "Relu", "c40", "y");
  mb_output(b, "y");
  pack_expect("doubling Concat chain of constants", "concat-doubling.onnx", b, FG_ELIMIT, FG_ELIMIT);
  /* Shape with a start before the first axis (read dims[-k] once) */
  b = base(15);
  n = mb_node(b, "Shape", "x", "s");
  mb_attr_i(b, n, "start", -10);
  mb_node(b, "Reshape", "x,s", "y");
  mb_output(b, "y");
  size_t l2;
  uint8_t *b2 = mb_pack(b, &l2);
  fg_error e;
  assert_int_equal(load_and_run(b2, l2, 3, &e), 0);
  maybe_write_regress("shape-start-negative.onnx", b2, l2);
  free(b2);
  mb_free(b);
}

static void test_empty_and_junk(void **st) {
  (void)st;
  fg_error e;
  fg_model *m;
  assert_int_equal(fg_model_load_memory(NULL, 0, NULL, &m, &e), FG_EFORMAT);
  assert_null(m);
  assert_int_equal(fg_model_load_memory("", 0, NULL, &m, &e), FG_EFORMAT);
  static const uint8_t junk[][8] = {{0}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x3a, 0x7f}, {0x08, 0x07}};
  static const size_t jl[] = {1, 8, 2, 2};
  for (int i = 0; i < 4; i++) {
    int rc = fg_model_load_memory(junk[i], jl[i], NULL, &m, &e);
    assert_true(rc == FG_EFORMAT);
    assert_null(m);
  }
  /* a file over the size limit, and a missing file */
  fg_model_options mo = {.max_file_bytes = 4};
  assert_int_equal(fg_model_load_memory(junk[1], 8, &mo, &m, &e), FG_ELIMIT);
  assert_int_not_equal(fg_model_load_file("/nonexistent/model.onnx", NULL, &m, &e), FG_OK);
  assert_null(m);
  /* NULL error pointer is allowed */
  assert_int_equal(fg_model_load_memory(junk[1], 8, NULL, &m, NULL), FG_EFORMAT);
}

/* A long chain written in reverse order: loading stays fast (the sort and the name
 * lookup were quadratic once). */
static void test_long_reversed_chain(void **st) {
  (void)st;
  enum { N = 20000 };
  Onnx__NodeProto *nodes = calloc(N, sizeof *nodes), **np = calloc(N, sizeof *np);
  char (*names)[16] = calloc(N + 1, sizeof *names);
  char **ins = calloc(N, sizeof *ins), **outs = calloc(N, sizeof *outs);
  assert_true(nodes && np && names && ins && outs);
  for (int i = 0; i <= N; i++) snprintf(names[i], sizeof names[i], i ? "t%d" : "x", i);
  for (int i = 0; i < N; i++) {
    Onnx__NodeProto n0 = ONNX__NODE_PROTO__INIT;
    nodes[i] = n0;
    nodes[i].op_type = (char *)"Relu";
    ins[i] = names[i];
    outs[i] = names[i + 1];
    nodes[i].n_input = 1; nodes[i].input = &ins[i];
    nodes[i].n_output = 1; nodes[i].output = &outs[i];
    np[N - 1 - i] = &nodes[i];
  }
  mb *b = mb_new(11);
  mb_input(b, "x", 2, INTS(1, 8));
  b->graph.n_node = N;
  b->graph.node = np;
  char yname[16];
  snprintf(yname, sizeof yname, "t%d", N);
  mb_output(b, yname);
  size_t len;
  uint8_t *buf = mb_pack(b, &len);
  b->graph.node = NULL;
  b->graph.n_node = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  fg_model *m;
  fg_error e;
  int rc = fg_model_load_memory(buf, len, NULL, &m, &e);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  fprintf(stderr, "  %d-node reversed chain: %s in %.2f s\n", N, rc ? e.msg : "loaded", s);
  assert_int_equal(rc, FG_OK);
  fg_model_destroy(m);
  assert_true(s < 10);
  free(buf);
  free(nodes); free(np); free(names); free(ins); free(outs);
  b->graph.node = NULL;
  mb_free(b);
}

/* Every file kept in tests/fixtures/onnx-regress/ loads or fails cleanly, and runs if it loads. */
static void test_regress_folder(void **st) {
  (void)st;
  DIR *d = opendir(REGRESS_DIR);
  if (!d) TU_SKIP("%s missing", REGRESS_DIR);
  struct dirent *de;
  int n = 0, loaded = 0;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' || strstr(de->d_name, ".md")) continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", REGRESS_DIR, de->d_name);
    size_t len;
    uint8_t *buf = tu_read(path, &len);
    fg_error e;
    int rc = load_and_run(len ? buf : NULL, len, 3, &e);
    fprintf(stderr, "  %-40s %s%s%s\n", de->d_name, rc ? fg_err_name(rc) : "loaded and ran", rc ? ": " : "", rc ? e.msg : "");
    loaded += rc == 0;
    n++;
    free(buf);
  }
  closedir(d);
  fprintf(stderr, "  %d regression inputs, %d load\n", n, loaded);
  assert_true(n > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_empty_and_junk),
    cmocka_unit_test(test_absurd_tensors),
    cmocka_unit_test(test_bad_graphs),
    cmocka_unit_test(test_bad_nodes),
    cmocka_unit_test(test_truncated_small),
    cmocka_unit_test(test_truncated_landmark),
    cmocka_unit_test(test_byte_flips),
    cmocka_unit_test(test_long_reversed_chain),
    cmocka_unit_test(test_regress_folder),
  };
  return cmocka_run_group_tests_name("nn_hostile", tests, NULL, NULL);
}
