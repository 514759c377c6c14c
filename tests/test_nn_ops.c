/*
 * Per-operator tests of the inference engine on tiny models built here, at
 * test time, with the protoc-c structs generated from onnx.proto (no model
 * files needed, nothing skipped).
 *
 * Each case builds a one- to five-node ONNX model, feeds it seeded random
 * inputs and runs it with the reference backend (plain C kernels), XNNPACK at
 * 1 and 2 threads, and oneDNN at 1 and 2 threads in fp32, bf16 and int8 (the
 * int8 session quantises with ranges recorded by an fp32 oneDNN session on the
 * same input). Where the case also computes the answer itself with a naive
 * loop written in this file (Conv, Gemm, MatMul, Softmax, pooling,
 * BatchNormalization, broadcasting arithmetic, PRelu, Sigmoid, Exp,
 * Transpose, Concat, Slice), every backend is compared with that too.
 * Tolerance, for every comparison:
 *
 *   max |a - b| <= TOL * max(1, max |expected|)
 *
 * TOL = 1e-4 for the fp32 backends; 2e-2 for bf16 (8 significant bits in
 * weights and activations, fp32 sums); 6e-2 for int8 (per-tensor activation
 * scales, per-channel weight scales: a few steps of 1/127 of the range at the
 * input and output of a layer). The reduced precisions are also required to
 * run their own class on every node the oneDNN table gives one (not fp32 by
 * the back door): fg_session_describe is checked for that.
 *
 * Inputs are uniform in [-1, 1] (divisors in +-[0.5, 1.5]); weights likewise.
 * Cases that exercise a graph rewrite (BatchNormalization folded into Conv or
 * Gemm, Relu/Clip fused into their producer, Shape/Gather/... folded at load)
 * also assert that the rewrite happened (fg_model_stats.nodes_folded), so the
 * fused path is what gets compared.
 */
#include "testutil.h"

#include <math.h>

#include "facegate/nn.h"
#include "onnx.pb-c.h"

#define TOL 1e-4
#define TOL_BF16 2e-2
#define TOL_INT8 6e-2

#include "onnx_build.h"

/* ------------------------------------------------------------------ random data */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static float frand(void) { /* uniform [-1, 1) */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (float)((rng_state >> 40) * (1.0 / (1ull << 24))) * 2.f - 1.f;
}

static float *rnd(size_t n) {
  float *p = malloc(n * sizeof *p + 1);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++) p[i] = frand();
  return p;
}

/* Uniform in +-[0.5, 1.5]: safe divisors and BN variances (abs). */
static float *rnd_away0(size_t n) {
  float *p = rnd(n);
  for (size_t i = 0; i < n; i++) p[i] = p[i] >= 0 ? 0.5f + p[i] : -0.5f + p[i];
  return p;
}

/* ------------------------------------------------------------------ comparison */

static void compare_tol(const char *label, const char *what, const float *got, const float *want, size_t n, double tol) {
  double scale = 1, maxd = 0;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    if (!(d <= maxd)) { maxd = d; at = i; }
  }
  if (getenv("FG_TEST_ERR")) fprintf(stderr, "%-40s %-36s rel err %.4f (tol %.4f)\n", label, what, maxd / scale, tol);
  if (!(maxd <= tol * scale)) {
    print_error("%s: %s: element %zu: %.7g vs %.7g (|diff| %.3g > %.3g)\n", label, what, at, got[at], want[at], maxd,
                tol * scale);
    fail();
  }
}

/* A reduced-precision session must run the operators its table has rows for
 * in that precision, not fall back to fp32 (a fallback would pass the
 * tolerance and hide a missing row); forms no row takes run as C kernels
 * ("ref") in every precision. FG_TEST_DESCRIBE=1 prints every plan;
 * FG_TEST_ERR=1 every comparison's error against its tolerance. */
static void check_classes(const char *label, const char *run, const fg_session *s, int precision) {
  static const char *const i8_ops[] = {"Conv", "Add", "Sub", "PRelu", "MaxPool", "AveragePool", "GlobalAveragePool", "Concat", NULL};
  static const char *const bf_ops[] = {"Conv", "Gemm", "Add", "Sub", "Mul", "PRelu", "MaxPool", "AveragePool",
                                       "GlobalAveragePool", "Concat", NULL};
  char d[8192], name[128], op[64], cls[16];
  assert_true(fg_session_describe(s, d, sizeof d) >= 0);
  if (getenv("FG_TEST_DESCRIBE")) fprintf(stderr, "%s %s:\n%s", label, run, d);
  const char *const *ops = precision == FG_PRECISION_INT8 ? i8_ops : bf_ops;
  for (const char *line = d; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line)) {
    if (sscanf(line, "%127s %63s %15s", name, op, cls) != 3) continue;
    for (int i = 0; ops[i]; i++)
      if (!strcmp(op, ops[i]) && !strcmp(cls, "fp32")) { /* "ref": no row takes this form in any precision */
        print_error("%s: %s: node %s (%s) runs in %s\n", label, run, name, op, cls);
        fail();
      }
  }
}

/* Load the model, run it with XNNPACK (1 and 2 threads) and the reference backend
 * on `inputs`, compare the backends with each other and, when `expect` is given,
 * with it. min_folded: at least that many nodes must be gone after load (folded
 * or fused). */
static void check_model(const char *label, mb *b, const float *const *inputs, const float *const *expect, size_t min_folded) {
  size_t len;
  uint8_t *buf = mb_pack(b, &len);
  fg_model *m;
  fg_error e;
  if (fg_model_load_memory(buf, len, NULL, &m, &e) != FG_OK) {
    print_error("%s: load: %s\n", label, e.msg);
    fail();
  }
  free(buf);
  fg_model_stats st;
  fg_model_get_stats(m, &st);
  if (st.nodes_folded < min_folded) {
    print_error("%s: expected >= %zu nodes folded or fused, got %zu\n", label, min_folded, st.nodes_folded);
    fail();
  }
  size_t n_out = fg_model_output_count(m);
  assert_true(n_out >= 1 && n_out <= 4);
  static const struct { int backend, threads, precision; const char *name; double tol; } runs[] = {
    {FG_BACKEND_REFERENCE, 1, 0, "reference", TOL},
    {FG_BACKEND_XNNPACK, 1, 0, "xnnpack/1", TOL},
    {FG_BACKEND_XNNPACK, 2, 0, "xnnpack/2", TOL},
    {FG_BACKEND_ONEDNN, 1, FG_PRECISION_FP32, "onednn fp32/1", TOL},
    {FG_BACKEND_ONEDNN, 2, FG_PRECISION_FP32, "onednn fp32/2", TOL},
    {FG_BACKEND_ONEDNN, 1, FG_PRECISION_BF16, "onednn bf16/1", TOL_BF16},
    {FG_BACKEND_ONEDNN, 1, FG_PRECISION_INT8, "onednn int8/1", TOL_INT8},
    {FG_BACKEND_ONEDNN, 2, FG_PRECISION_INT8, "onednn int8/2", TOL_INT8}};
  float *ref[4] = {0};
  fg_quant_ranges *qr = NULL;
  for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
    fg_session *s;
    fg_session_options so = {.threads = runs[r].threads, .backend = runs[r].backend, .precision = runs[r].precision,
                             .ranges = qr};
    if (runs[r].precision == FG_PRECISION_INT8 && !qr) {
      /* the ranges of every activation on this very input */
      fg_session_options rec = {.backend = FG_BACKEND_ONEDNN, .record = 1};
      float *tmp[4] = {0};
      assert_int_equal(fg_quant_ranges_create(m, &qr, &e), FG_OK);
      assert_int_equal(fg_session_create(m, &rec, &s, &e), FG_OK);
      for (size_t o = 0; o < n_out; o++) assert_non_null(tmp[o] = malloc(fg_model_output(m, o)->count * sizeof(float) + 1));
      assert_int_equal(fg_session_run(s, inputs, tmp, &e), FG_OK);
      assert_int_equal(fg_session_record(s, qr, &e), FG_OK);
      for (size_t o = 0; o < n_out; o++) free(tmp[o]);
      fg_session_destroy(s);
      so.ranges = qr;
    }
    if (fg_session_create(m, &so, &s, &e) != FG_OK) {
      print_error("%s: %s session: %s\n", label, runs[r].name, e.msg);
      fail();
    }
    float *out[4] = {0};
    for (size_t o = 0; o < n_out; o++) {
      size_t cnt = fg_model_output(m, o)->count;
      out[o] = malloc(cnt * sizeof(float) + 1);
      assert_non_null(out[o]);
      for (size_t i = 0; i < cnt; i++) out[o][i] = NAN;
    }
    if (fg_session_run(s, inputs, out, &e) != FG_OK) {
      print_error("%s: %s run: %s\n", label, runs[r].name, e.msg);
      fail();
    }
    for (size_t o = 0; o < n_out; o++) {
      size_t cnt = fg_model_output(m, o)->count;
      char what[96];
      if (o == 0 && runs[r].precision != FG_PRECISION_FP32) check_classes(label, runs[r].name, s, runs[r].precision);
      if (expect && expect[o]) {
        snprintf(what, sizeof what, "%s output %zu vs naive", runs[r].name, o);
        compare_tol(label, what, out[o], expect[o], cnt, runs[r].tol);
      }
      if (r == 0) ref[o] = out[o];
      else {
        snprintf(what, sizeof what, "%s output %zu vs reference", runs[r].name, o);
        compare_tol(label, what, out[o], ref[o], cnt, runs[r].tol);
        free(out[o]);
      }
    }
    fg_session_destroy(s);
  }
  fg_quant_ranges_destroy(qr);
  for (size_t o = 0; o < n_out; o++) free(ref[o]);
  fg_model_destroy(m);
}

/* ------------------------------------------------------------------ naive references */

typedef struct conv_p {
  int N, C, H, W, M, kh, kw, group, sh, sw, dh, dw, pt, pl, pb, pr;
  int bias;
  int act;          /* 0 none, 1 Relu, 2 Clip(0,6) attrs (opset 9), 3 Clip(-0.5,0.5) inputs (opset 11), 4 Clip min only */
  const char *autopad; /* NULL = explicit pads */
} conv_p;

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

static void act_range(int act, float *lo, float *hi) {
  *lo = -INFINITY; *hi = INFINITY;
  if (act == 1) *lo = 0;
  if (act == 2) { *lo = 0; *hi = 6; }
  if (act == 3) { *lo = -0.5f; *hi = 0.5f; }
  if (act == 4) *lo = -0.25f;
}

static void naive_conv(const conv_p *p, const float *x, const float *w, const float *bias, float *y, int OH, int OW) {
  float lo, hi;
  act_range(p->act, &lo, &hi);
  int cpg = p->C / p->group, mpg = p->M / p->group;
  for (int n = 0; n < p->N; n++)
    for (int m = 0; m < p->M; m++)
      for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++) {
          double acc = bias ? bias[m] : 0;
          int g = m / mpg;
          for (int c = 0; c < cpg; c++)
            for (int ky = 0; ky < p->kh; ky++)
              for (int kx = 0; kx < p->kw; kx++) {
                int iy = oy * p->sh - p->pt + ky * p->dh, ix = ox * p->sw - p->pl + kx * p->dw;
                if (iy < 0 || iy >= p->H || ix < 0 || ix >= p->W) continue;
                acc += (double)x[((n * p->C + g * cpg + c) * p->H + iy) * p->W + ix] *
                       w[((m * cpg + c) * p->kh + ky) * p->kw + kx];
              }
          y[((n * p->M + m) * OH + oy) * OW + ox] = clampf((float)acc, lo, hi);
        }
}

/* Pads that auto_pad SAME_UPPER/SAME_LOWER imply (ONNX semantics). */
static void same_pads(conv_p *p) {
  int oh = (p->H + p->sh - 1) / p->sh, ow = (p->W + p->sw - 1) / p->sw;
  int ph = (oh - 1) * p->sh + (p->kh - 1) * p->dh + 1 - p->H, pw = (ow - 1) * p->sw + (p->kw - 1) * p->dw + 1 - p->W;
  if (ph < 0) ph = 0;
  if (pw < 0) pw = 0;
  int upper = !strcmp(p->autopad, "SAME_UPPER");
  p->pt = upper ? ph / 2 : ph - ph / 2; p->pb = ph - p->pt;
  p->pl = upper ? pw / 2 : pw - pw / 2; p->pr = pw - p->pl;
}

static void run_conv_case(const char *label, conv_p p) {
  int opset = p.act == 3 || p.act == 4 ? 11 : 9;
  mb *b = mb_new(opset);
  mb_input(b, "x", 4, INTS(p.N, p.C, p.H, p.W));
  int cpg = p.C / p.group;
  int64_t wd[4] = {p.M, cpg, p.kh, p.kw};
  float *w = rnd(count_of(4, wd)), *bias = p.bias ? rnd((size_t)p.M) : NULL;
  mb_init_f(b, "w", 4, wd, w, 0);
  if (bias) mb_init_f(b, "b", 1, INTS(p.M), bias, 1);
  Onnx__NodeProto *n = mb_node(b, "Conv", bias ? "x,w,b" : "x,w", p.act ? "c" : "y");
  mb_attr_ints(b, n, "kernel_shape", NINTS(p.kh, p.kw));
  if (p.sh != 1 || p.sw != 1) mb_attr_ints(b, n, "strides", NINTS(p.sh, p.sw));
  if (p.dh != 1 || p.dw != 1) mb_attr_ints(b, n, "dilations", NINTS(p.dh, p.dw));
  if (p.group != 1) mb_attr_i(b, n, "group", p.group);
  if (p.autopad) {
    mb_attr_s(b, n, "auto_pad", p.autopad);
    if (strcmp(p.autopad, "VALID")) same_pads(&p);
  } else if (p.pt || p.pl || p.pb || p.pr)
    mb_attr_ints(b, n, "pads", NINTS(p.pt, p.pl, p.pb, p.pr));
  if (p.act == 1) mb_node(b, "Relu", "c", "y");
  if (p.act == 2) {
    Onnx__NodeProto *c = mb_node(b, "Clip", "c", "y");
    mb_attr_f(b, c, "min", 0);
    mb_attr_f(b, c, "max", 6);
  }
  if (p.act == 3) {
    mb_init_f(b, "lo", 0, NULL, (const float[]){-0.5f}, 0);
    mb_init_f(b, "hi", 0, NULL, (const float[]){0.5f}, 0);
    mb_node(b, "Clip", "c,lo,hi", "y");
  }
  if (p.act == 4) {
    mb_init_f(b, "lo", 0, NULL, (const float[]){-0.25f}, 0);
    mb_node(b, "Clip", "c,lo", "y");
  }
  mb_output(b, "y");
  int OH = (p.H + p.pt + p.pb - ((p.kh - 1) * p.dh + 1)) / p.sh + 1;
  int OW = (p.W + p.pl + p.pr - ((p.kw - 1) * p.dw + 1)) / p.sw + 1;
  float *x = rnd((size_t)(p.N * p.C * p.H * p.W));
  float *y = malloc(sizeof(float) * (size_t)(p.N * p.M * OH * OW));
  assert_non_null(y);
  naive_conv(&p, x, w, bias, y, OH, OW);
  check_model(label, b, (const float *const[]){x}, (const float *const[]){y}, p.act ? 1 : 0);
  free(x); free(y); free(w); free(bias);
  mb_free(b);
}

static void test_conv(void **st) {
  (void)st;
  /*                                       N  C  H   W  M  kh kw g sh sw dh dw pt pl pb pr bias act */
  run_conv_case("conv 3x3 pad1 bias",     (conv_p){1, 3, 9, 11, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, NULL});
  run_conv_case("conv 3x3 no bias",       (conv_p){1, 4, 8, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, NULL});
  run_conv_case("conv 1x1",               (conv_p){1, 16, 5, 7, 12, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, NULL});
  run_conv_case("conv stride 2",          (conv_p){1, 3, 12, 13, 6, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, NULL});
  run_conv_case("conv stride (2,1)",      (conv_p){1, 3, 12, 13, 6, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, NULL});
  run_conv_case("conv dilation 2",        (conv_p){1, 4, 12, 12, 4, 3, 3, 1, 1, 1, 2, 2, 2, 2, 2, 2, 1, 0, NULL});
  run_conv_case("conv asymmetric pads",   (conv_p){1, 3, 10, 9, 4, 3, 3, 1, 2, 2, 1, 1, 0, 1, 1, 0, 1, 0, NULL});
  run_conv_case("conv asym pads 2",       (conv_p){1, 2, 7, 8, 3, 3, 5, 1, 1, 1, 1, 1, 2, 0, 0, 3, 1, 0, NULL});
  run_conv_case("conv rect kernel 5x3",   (conv_p){1, 3, 11, 9, 4, 5, 3, 1, 1, 1, 1, 1, 2, 1, 2, 1, 1, 0, NULL});
  run_conv_case("conv depthwise",         (conv_p){1, 8, 9, 9, 8, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, NULL});
  run_conv_case("conv depthwise s2",      (conv_p){1, 8, 10, 10, 8, 3, 3, 8, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, NULL});
  run_conv_case("conv depthwise x2 mult", (conv_p){1, 4, 8, 8, 8, 3, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, NULL});
  run_conv_case("conv depthwise nobias",  (conv_p){1, 6, 7, 7, 6, 3, 3, 6, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, NULL});
  run_conv_case("conv grouped g2",        (conv_p){1, 8, 8, 8, 6, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, NULL});
  run_conv_case("conv grouped g4 s2",     (conv_p){1, 8, 9, 9, 8, 3, 3, 4, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, NULL});
  run_conv_case("conv batch 2",           (conv_p){2, 3, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, NULL});
  run_conv_case("conv + Relu",            (conv_p){1, 3, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL});
  run_conv_case("dwconv + Relu",          (conv_p){1, 6, 8, 8, 6, 3, 3, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, NULL});
  run_conv_case("conv + Clip attrs",      (conv_p){1, 3, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, NULL});
  run_conv_case("conv + Clip inputs",     (conv_p){1, 3, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, NULL});
  run_conv_case("conv + Clip min only",   (conv_p){1, 3, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, NULL});
  run_conv_case("conv SAME_UPPER s2",     (conv_p){1, 3, 9, 10, 4, 3, 3, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 0, "SAME_UPPER"});
  run_conv_case("conv SAME_LOWER s2",     (conv_p){1, 3, 9, 10, 4, 4, 4, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 0, "SAME_LOWER"});
  run_conv_case("conv VALID",             (conv_p){1, 3, 9, 10, 4, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, "VALID"});
}

/* BN parameters: scale, bias, mean, var (var > 0). */
static void bn_params(mb *b, int C, float **prm) {
  prm[0] = rnd((size_t)C); prm[1] = rnd((size_t)C); prm[2] = rnd((size_t)C); prm[3] = rnd_away0((size_t)C);
  for (int i = 0; i < C; i++) prm[3][i] = fabsf(prm[3][i]);
  mb_init_f(b, "bn_s", 1, INTS(C), prm[0], 0);
  mb_init_f(b, "bn_b", 1, INTS(C), prm[1], 0);
  mb_init_f(b, "bn_m", 1, INTS(C), prm[2], 0);
  mb_init_f(b, "bn_v", 1, INTS(C), prm[3], 0);
}

static void naive_bn(float *y, size_t N, size_t C, size_t inner, float *const *prm, float eps) {
  for (size_t n = 0; n < N; n++)
    for (size_t c = 0; c < C; c++)
      for (size_t i = 0; i < inner; i++) {
        float *v = &y[(n * C + c) * inner + i];
        *v = (float)((*v - prm[2][c]) / sqrt((double)prm[3][c] + eps) * prm[0][c] + prm[1][c]);
      }
}

static void test_batchnorm(void **st) {
  (void)st;
  /* after Conv: folded into its weights (and then Relu fused) */
  for (int with_relu = 0; with_relu < 2; with_relu++) {
    conv_p p = {1, 3, 8, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, with_relu, 0, NULL};
    mb *b = mb_new(9);
    mb_input(b, "x", 4, INTS(1, 3, 8, 8));
    int64_t wd[4] = {5, 3, 3, 3};
    float *w = rnd(count_of(4, wd)), *bias = with_relu ? rnd(5) : NULL, *prm[4];
    mb_init_f(b, "w", 4, wd, w, 0);
    if (bias) mb_init_f(b, "b", 1, INTS(5), bias, 0);
    Onnx__NodeProto *n = mb_node(b, "Conv", bias ? "x,w,b" : "x,w", "c");
    mb_attr_ints(b, n, "pads", NINTS(1, 1, 1, 1));
    mb_attr_ints(b, n, "kernel_shape", NINTS(3, 3));
    bn_params(b, 5, prm);
    n = mb_node(b, "BatchNormalization", "c,bn_s,bn_b,bn_m,bn_v", with_relu ? "bn" : "y");
    mb_attr_f(b, n, "epsilon", 1e-3f);
    if (with_relu) mb_node(b, "Relu", "bn", "y");
    mb_output(b, "y");
    float *x = rnd(3 * 64), *y = malloc(5 * 64 * sizeof(float));
    p.act = 0;
    naive_conv(&p, x, w, bias, y, 8, 8);
    naive_bn(y, 1, 5, 64, prm, 1e-3f);
    if (with_relu) for (int i = 0; i < 5 * 64; i++) y[i] = y[i] > 0 ? y[i] : 0;
    check_model(with_relu ? "Conv+BN+Relu (fused)" : "Conv+BN (fused)", b, (const float *const[]){x}, (const float *const[]){y},
                (size_t)(1 + with_relu));
    free(x); free(y); free(w); free(bias);
    for (int i = 0; i < 4; i++) free(prm[i]);
    mb_free(b);
  }
  /* standalone, 4-D and 2-D input */
  for (int rank = 2; rank <= 4; rank += 2) {
    mb *b = mb_new(9);
    int64_t d4[4] = {2, 6, 5, 7}, d2[2] = {3, 6};
    int64_t *d = rank == 4 ? d4 : d2;
    mb_input(b, "x", rank, d);
    float *prm[4];
    bn_params(b, 6, prm);
    mb_node(b, "BatchNormalization", "x,bn_s,bn_b,bn_m,bn_v", "y");
    mb_output(b, "y");
    size_t n = count_of(rank, d);
    float *x = rnd(n), *y = malloc(n * sizeof(float));
    memcpy(y, x, n * sizeof(float));
    naive_bn(y, (size_t)d[0], 6, n / (size_t)d[0] / 6, prm, 1e-5f);
    check_model(rank == 4 ? "BN standalone 4-D" : "BN standalone 2-D", b, (const float *const[]){x}, (const float *const[]){y}, 0);
    free(x); free(y);
    for (int i = 0; i < 4; i++) free(prm[i]);
    mb_free(b);
  }
}

/* Y = alpha * op(A) op(B) + beta * C, C broadcast from [cr, cc]. */
static void naive_gemm(const float *A, const float *B, const float *C, int cr, int cc, int M, int K, int N, int ta, int tb,
                       float alpha, float beta, float *Y) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double acc = 0;
      for (int p = 0; p < K; p++) acc += (double)(ta ? A[p * M + i] : A[i * K + p]) * (tb ? B[j * K + p] : B[p * N + j]);
      acc *= alpha;
      if (C) acc += beta * C[(cr == 1 ? 0 : i) * cc + (cc == 1 ? 0 : j)];
      Y[i * N + j] = (float)acc;
    }
}

typedef struct gemm_p { int M, K, N, ta, tb; int bias; /* 0 none, 1 [N], 2 [1,N], 3 [M,N], 4 scalar */ float alpha, beta; int dyn_b; int relu; } gemm_p;

static void run_gemm_case(const char *label, gemm_p p) {
  mb *b = mb_new(11);
  mb_input(b, "a", 2, p.ta ? INTS(p.K, p.M) : INTS(p.M, p.K));
  int64_t bd[2] = {p.tb ? p.N : p.K, p.tb ? p.K : p.N};
  float *B = rnd((size_t)(p.K * p.N)), *A = rnd((size_t)(p.M * p.K)), *C = NULL;
  int cr = 1, cc = 1;
  if (p.dyn_b) mb_input(b, "b", 2, bd);
  else mb_init_f(b, "b", 2, bd, B, 0);
  if (p.bias == 1) { cc = p.N; C = rnd((size_t)p.N); mb_init_f(b, "c", 1, INTS(p.N), C, 0); }
  if (p.bias == 2) { cc = p.N; C = rnd((size_t)p.N); mb_init_f(b, "c", 2, INTS(1, p.N), C, 0); }
  if (p.bias == 3) { cr = p.M; cc = p.N; C = rnd((size_t)(p.M * p.N)); mb_init_f(b, "c", 2, INTS(p.M, p.N), C, 0); }
  if (p.bias == 4) { C = rnd(1); mb_init_f(b, "c", 0, NULL, C, 0); }
  Onnx__NodeProto *n = mb_node(b, "Gemm", p.bias ? "a,b,c" : "a,b", p.relu ? "g" : "y");
  if (p.ta) mb_attr_i(b, n, "transA", 1);
  if (p.tb) mb_attr_i(b, n, "transB", 1);
  if (p.alpha != 1) mb_attr_f(b, n, "alpha", p.alpha);
  if (p.beta != 1) mb_attr_f(b, n, "beta", p.beta);
  if (p.relu) mb_node(b, "Relu", "g", "y");
  mb_output(b, "y");
  float *Y = malloc(sizeof(float) * (size_t)(p.M * p.N));
  naive_gemm(A, B, C, cr, cc, p.M, p.K, p.N, p.ta, p.tb, p.alpha, p.beta, Y);
  if (p.relu) for (int i = 0; i < p.M * p.N; i++) Y[i] = Y[i] > 0 ? Y[i] : 0;
  const float *ins[2] = {A, B};
  check_model(label, b, ins, (const float *const[]){Y}, (size_t)p.relu);
  free(A); free(B); free(C); free(Y);
  mb_free(b);
}

static void test_gemm(void **st) {
  (void)st;
  run_gemm_case("Gemm transB=0 bias [N]", (gemm_p){3, 17, 9, 0, 0, 1, 1, 1, 0, 0});
  run_gemm_case("Gemm transB=1 bias [N]", (gemm_p){3, 17, 9, 0, 1, 1, 1, 1, 0, 0});
  run_gemm_case("Gemm transB=1 no bias", (gemm_p){1, 64, 10, 0, 1, 0, 1, 1, 0, 0});
  run_gemm_case("Gemm bias [1,N]", (gemm_p){2, 8, 5, 0, 1, 2, 1, 1, 0, 0});
  run_gemm_case("Gemm bias [M,N]", (gemm_p){4, 8, 5, 0, 0, 3, 1, 1, 0, 0});
  run_gemm_case("Gemm bias scalar", (gemm_p){4, 8, 5, 0, 0, 4, 1, 1, 0, 0});
  run_gemm_case("Gemm transA=1", (gemm_p){4, 6, 5, 1, 0, 1, 1, 1, 0, 0});
  run_gemm_case("Gemm alpha/beta", (gemm_p){3, 7, 4, 0, 1, 1, 0.5f, 2.f, 0, 0});
  run_gemm_case("Gemm dynamic B", (gemm_p){3, 7, 4, 0, 1, 1, 1, 1, 1, 0});
  run_gemm_case("Gemm + Relu", (gemm_p){2, 16, 8, 0, 1, 1, 1, 1, 0, 1});
}

static void test_matmul(void **st) {
  (void)st;
  /* MatMul by a constant matrix, then BatchNormalization: becomes one Gemm with BN folded */
  {
    mb *b = mb_new(9);
    mb_input(b, "a", 2, INTS(2, 12));
    float *B = rnd(12 * 7), *A = rnd(24), *prm[4];
    mb_init_f(b, "b", 2, INTS(12, 7), B, 0);
    mb_node(b, "MatMul", "a,b", "mm");
    bn_params(b, 7, prm);
    mb_node(b, "BatchNormalization", "mm,bn_s,bn_b,bn_m,bn_v", "y");
    mb_output(b, "y");
    float *Y = malloc(14 * sizeof(float));
    naive_gemm(A, B, NULL, 1, 1, 2, 12, 7, 0, 0, 1, 1, Y);
    naive_bn(Y, 2, 7, 1, prm, 1e-5f);
    check_model("MatMul(const B)+BN (fused)", b, (const float *const[]){A}, (const float *const[]){Y}, 1);
    free(A); free(B); free(Y);
    for (int i = 0; i < 4; i++) free(prm[i]);
    mb_free(b);
  }
  /* MatMul 3-D A by constant 2-D B; batched 3-D x 3-D, both dynamic */
  for (int batched = 0; batched < 2; batched++) {
    mb *b = mb_new(13);
    mb_input(b, "a", 3, INTS(2, 3, 5));
    float *A = rnd(30), *B = rnd(batched ? 2 * 5 * 4 : 5 * 4);
    if (batched) mb_input(b, "b", 3, INTS(2, 5, 4));
    else mb_init_f(b, "b", 2, INTS(5, 4), B, 0);
    mb_node(b, "MatMul", "a,b", "y");
    mb_output(b, "y");
    float Y[24];
    for (int i = 0; i < 2; i++) naive_gemm(A + i * 15, B + (batched ? i * 20 : 0), NULL, 1, 1, 3, 5, 4, 0, 0, 1, 1, Y + i * 12);
    check_model(batched ? "MatMul batched 3-D" : "MatMul 3-D x const 2-D", b, (const float *const[]){A, B},
                (const float *const[]){Y}, 0);
    free(A); free(B);
    mb_free(b);
  }
}

/* Naive numpy broadcast of a binary op over rank-4 (shapes right-aligned, padded with 1). */
static void naive_binary(char op, int ra, const int64_t *da, const float *a, int rb, const int64_t *db, const float *b, int ro,
                         const int64_t *dout, float *y) {
  int64_t A[4] = {1, 1, 1, 1}, B[4] = {1, 1, 1, 1}, O[4] = {1, 1, 1, 1};
  for (int i = 0; i < ra; i++) A[4 - ra + i] = da[i];
  for (int i = 0; i < rb; i++) B[4 - rb + i] = db[i];
  for (int i = 0; i < ro; i++) O[4 - ro + i] = dout[i];
  size_t k = 0;
  for (int64_t i0 = 0; i0 < O[0]; i0++)
    for (int64_t i1 = 0; i1 < O[1]; i1++)
      for (int64_t i2 = 0; i2 < O[2]; i2++)
        for (int64_t i3 = 0; i3 < O[3]; i3++) {
          int64_t ia = (((A[0] > 1 ? i0 : 0) * A[1] + (A[1] > 1 ? i1 : 0)) * A[2] + (A[2] > 1 ? i2 : 0)) * A[3] + (A[3] > 1 ? i3 : 0);
          int64_t ib = (((B[0] > 1 ? i0 : 0) * B[1] + (B[1] > 1 ? i1 : 0)) * B[2] + (B[2] > 1 ? i2 : 0)) * B[3] + (B[3] > 1 ? i3 : 0);
          float x = a[ia], z = b[ib];
          y[k++] = op == '+' ? x + z : op == '-' ? x - z : op == '*' ? x * z : op == '/' ? x / z : (x >= 0 ? x : x * z);
        }
}

typedef struct bin_p {
  const char *op;
  int ra; int64_t da[4];
  int rb; int64_t db[4];
  int b_const;  /* 1: B is an initializer */
  int swap;     /* 1: the initializer/second operand comes first (op(B, A)) */
  int relu;
} bin_p;

static void run_binary_case(bin_p p) {
  char opc = !strcmp(p.op, "Add") ? '+' : !strcmp(p.op, "Sub") ? '-' : !strcmp(p.op, "Mul") ? '*' : !strcmp(p.op, "Div") ? '/' : 'p';
  char label[160];
  snprintf(label, sizeof label, "%s rank %d x rank %d%s%s%s", p.op, p.ra, p.rb, p.b_const ? " (const)" : "",
           p.swap ? " swapped" : "", p.relu ? " + Relu" : "");
  mb *b = mb_new(11);
  size_t na = count_of(p.ra, p.da), nb = count_of(p.rb, p.db);
  float *A = rnd(na), *B = opc == '/' ? rnd_away0(nb) : rnd(nb);
  if (opc == '/' && p.swap) { free(A); A = rnd_away0(na); free(B); B = rnd(nb); }
  mb_input(b, "a", p.ra, p.da);
  if (p.b_const) mb_init_f(b, "b", p.rb, p.db, B, 0);
  else mb_input(b, "b", p.rb, p.db);
  mb_node(b, p.op, p.swap ? "b,a" : "a,b", p.relu ? "t" : "y");
  if (p.relu) mb_node(b, "Relu", "t", "y");
  mb_output(b, "y");
  int64_t od[4];
  int ro = p.ra > p.rb ? p.ra : p.rb;
  for (int i = 0; i < ro; i++) {
    int ia = i - (ro - p.ra), ib = i - (ro - p.rb);
    int64_t x = ia >= 0 ? p.da[ia] : 1, z = ib >= 0 ? p.db[ib] : 1;
    od[i] = x > z ? x : z;
  }
  size_t no = count_of(ro, od);
  float *Y = malloc(no * sizeof(float));
  if (p.swap) naive_binary(opc, p.rb, p.db, B, p.ra, p.da, A, ro, od, Y);
  else naive_binary(opc, p.ra, p.da, A, p.rb, p.db, B, ro, od, Y);
  if (p.relu) for (size_t i = 0; i < no; i++) Y[i] = Y[i] > 0 ? Y[i] : 0;
  const float *ins[2] = {A, B};
  check_model(label, b, ins, (const float *const[]){Y}, (size_t)p.relu);
  free(A); free(B); free(Y);
  mb_free(b);
}

static void test_binary(void **st) {
  (void)st;
  static const char *const ops[] = {"Add", "Sub", "Mul", "Div"};
  for (int o = 0; o < 4; o++) {
    const char *op = ops[o];
    run_binary_case((bin_p){op, 4, {1, 5, 6, 7}, 4, {1, 5, 6, 7}, 0, 0, 0});   /* same shape, both dynamic */
    run_binary_case((bin_p){op, 4, {1, 5, 6, 7}, 0, {0}, 1, 0, 0});            /* scalar constant (rank 0) */
    run_binary_case((bin_p){op, 4, {1, 5, 6, 7}, 1, {1}, 1, 1, 0});            /* [1] constant, first operand */
    run_binary_case((bin_p){op, 4, {1, 5, 6, 7}, 4, {1, 5, 1, 1}, 1, 0, 0});   /* [1,C,1,1] constant */
    run_binary_case((bin_p){op, 4, {1, 5, 6, 7}, 4, {1, 5, 1, 1}, 1, 1, 0});   /* [1,C,1,1] constant, first operand */
    run_binary_case((bin_p){op, 4, {1, 5, 6, 7}, 3, {5, 1, 1}, 1, 0, 0});      /* [C,1,1] constant */
    run_binary_case((bin_p){op, 4, {1, 5, 6, 7}, 1, {7}, 1, 0, 0});            /* [W] constant */
    run_binary_case((bin_p){op, 4, {1, 5, 6, 7}, 4, {1, 5, 1, 1}, 0, 0, 0});   /* [1,C,1,1] dynamic (SE block) */
    run_binary_case((bin_p){op, 4, {1, 5, 6, 7}, 4, {1, 1, 6, 7}, 0, 0, 0});   /* [1,1,H,W] dynamic */
    run_binary_case((bin_p){op, 4, {2, 5, 6, 7}, 4, {1, 5, 6, 1}, 1, 0, 0});   /* batch 2, [1,C,H,1] */
    run_binary_case((bin_p){op, 3, {1, 20, 4}, 3, {1, 20, 4}, 1, 0, 0});      /* 3-D, full constant (detector priors) */
    run_binary_case((bin_p){op, 3, {1, 20, 2}, 0, {0}, 1, 0, 0});             /* 3-D, scalar */
    run_binary_case((bin_p){op, 2, {3, 8}, 1, {8}, 1, 0, 0});                 /* 2-D, row vector */
    run_binary_case((bin_p){op, 2, {3, 8}, 2, {3, 1}, 0, 0, 0});              /* 2-D, column vector, dynamic */
    run_binary_case((bin_p){op, 4, {1, 5, 6, 7}, 4, {1, 5, 6, 7}, 0, 0, 1});   /* + Relu, fused */
  }
}

static void test_prelu(void **st) {
  (void)st;
  run_binary_case((bin_p){"PRelu", 4, {1, 6, 5, 7}, 3, {6, 1, 1}, 1, 0, 0});    /* per channel */
  run_binary_case((bin_p){"PRelu", 4, {2, 6, 5, 7}, 4, {1, 6, 1, 1}, 1, 0, 0}); /* per channel, rank 4 slope */
  run_binary_case((bin_p){"PRelu", 2, {3, 6}, 1, {6}, 1, 0, 0});                /* 2-D, per feature */
  run_binary_case((bin_p){"PRelu", 4, {1, 6, 5, 7}, 0, {0}, 1, 0, 0});          /* one shared slope */
  run_binary_case((bin_p){"PRelu", 4, {1, 6, 5, 7}, 4, {1, 6, 5, 7}, 0, 0, 0}); /* elementwise, dynamic slope */
  /* old-style [C] slope on a 4-D input (PRelu-6 semantics: per channel) */
  {
    mb *b = mb_new(6);
    mb_input(b, "x", 4, INTS(1, 6, 5, 7));
    float *x = rnd(210), *s = rnd(6), y[210];
    mb_init_f(b, "s", 1, INTS(6), s, 0);
    mb_node(b, "PRelu", "x,s", "y");
    mb_output(b, "y");
    for (int c = 0; c < 6; c++)
      for (int i = 0; i < 35; i++) y[c * 35 + i] = x[c * 35 + i] >= 0 ? x[c * 35 + i] : x[c * 35 + i] * s[c];
    check_model("PRelu opset 6, slope [C]", b, (const float *const[]){x}, (const float *const[]){y}, 0);
    free(x); free(s);
    mb_free(b);
  }
}

/* A slope whose element count equals the channel count but which broadcasts along W
 * (opset >= 7 numpy broadcasting): [C] and [1,1,C] on a [1,C,H,C] input. XNNPACK's
 * PRelu is per channel, so these must run as C kernels (regression test). */
static void test_prelu_slope_along_w(void **st) {
  (void)st;
  run_binary_case((bin_p){"PRelu", 4, {1, 6, 5, 6}, 1, {6}, 1, 0, 0});
  run_binary_case((bin_p){"PRelu", 4, {1, 6, 5, 6}, 3, {1, 1, 6}, 1, 0, 0});
}

/* Unary ops on a 4-D input that comes straight from the graph input, and after a Conv (NHWC inside XNNPACK). */
static void run_unary_case(const char *op, int after_conv, int rank) {
  char label[96];
  snprintf(label, sizeof label, "%s rank %d%s", op, rank, after_conv ? " after Conv" : "");
  mb *b = mb_new(11);
  int64_t d4[4] = {1, 4, 5, 6}, d2[2] = {3, 7};
  const int64_t *d = rank == 4 ? d4 : d2;
  size_t n = count_of(rank, d);
  float *x = rnd(n), *w = rnd(16), *y = malloc(n * sizeof(float)), *t = malloc(n * sizeof(float));
  mb_input(b, "x", rank, d);
  if (after_conv) {
    mb_init_f(b, "w", 4, INTS(4, 4, 1, 1), w, 0);
    mb_node(b, "Conv", "x,w", "c");
    for (int c = 0; c < 4; c++)
      for (int i = 0; i < 30; i++) {
        double acc = 0;
        for (int k = 0; k < 4; k++) acc += (double)w[c * 4 + k] * x[k * 30 + i];
        t[c * 30 + i] = (float)acc;
      }
  } else memcpy(t, x, n * sizeof(float));
  Onnx__NodeProto *nd = mb_node(b, op, after_conv ? "c" : "x", "y");
  mb_output(b, "y");
  for (size_t i = 0; i < n; i++) {
    float v = t[i];
    if (!strcmp(op, "Relu")) y[i] = v > 0 ? v : 0;
    else if (!strcmp(op, "Sigmoid")) y[i] = (float)(1 / (1 + exp(-(double)v)));
    else if (!strcmp(op, "Exp")) y[i] = (float)exp(v);
    else if (!strcmp(op, "LeakyRelu")) y[i] = v >= 0 ? v : 0.2f * v;
    else if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) y[i] = v;
    else y[i] = clampf(v, -0.3f, 0.4f); /* Clip */
  }
  if (!strcmp(op, "LeakyRelu")) mb_attr_f(b, nd, "alpha", 0.2f);
  if (!strcmp(op, "Clip")) {
    mb_init_f(b, "lo", 0, NULL, (const float[]){-0.3f}, 0);
    mb_init_f(b, "hi", 0, NULL, (const float[]){0.4f}, 0);
    nd->n_input = 3;
    char **in = mb_alloc(b, 3 * sizeof *in);
    in[0] = nd->input[0]; in[1] = mb_str(b, "lo"); in[2] = mb_str(b, "hi");
    nd->input = in;
  }
  check_model(label, b, (const float *const[]){x}, (const float *const[]){y}, 0);
  free(x); free(w); free(y); free(t);
  mb_free(b);
}

static void test_unary(void **st) {
  (void)st;
  static const char *const ops[] = {"Relu", "Sigmoid", "Exp", "LeakyRelu", "Clip", "Identity", "Dropout"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
    run_unary_case(ops[i], 0, 4);
    run_unary_case(ops[i], 1, 4);
    run_unary_case(ops[i], 0, 2);
  }
}

/* Softmax along `axis` with ONNX semantics for the given opset (< 13: the input is
 * coerced to 2-D at axis; >= 13: one axis). */
static void naive_softmax(const float *x, int rank, const int64_t *d, int axis, int opset, float *y) {
  size_t outer = 1, len = 1, inner = 1;
  for (int i = 0; i < rank; i++) {
    if (i < axis) outer *= (size_t)d[i];
    else if (i == axis || opset < 13) len *= (size_t)d[i];
    else inner *= (size_t)d[i];
  }
  for (size_t o = 0; o < outer; o++)
    for (size_t in = 0; in < inner; in++) {
      double mx = -INFINITY, s = 0;
      for (size_t i = 0; i < len; i++) mx = fmax(mx, x[(o * len + i) * inner + in]);
      for (size_t i = 0; i < len; i++) s += exp(x[(o * len + i) * inner + in] - mx);
      for (size_t i = 0; i < len; i++) y[(o * len + i) * inner + in] = (float)(exp(x[(o * len + i) * inner + in] - mx) / s);
    }
}

static void run_softmax_case(int opset, int rank, const int64_t *d, int axis_attr, int has_axis) {
  char label[96];
  snprintf(label, sizeof label, "Softmax opset %d rank %d axis %s%d", opset, rank, has_axis ? "" : "default ", axis_attr);
  mb *b = mb_new(opset);
  mb_input(b, "x", rank, d);
  Onnx__NodeProto *n = mb_node(b, "Softmax", "x", "y");
  if (has_axis) mb_attr_i(b, n, "axis", axis_attr);
  mb_output(b, "y");
  size_t cnt = count_of(rank, d);
  float *x = rnd(cnt), *y = malloc(cnt * sizeof(float));
  for (size_t i = 0; i < cnt; i++) x[i] *= 4; /* spread the logits */
  int axis = has_axis ? axis_attr : opset >= 13 ? -1 : 1;
  if (axis < 0) axis += rank;
  naive_softmax(x, rank, d, axis, opset, y);
  check_model(label, b, (const float *const[]){x}, (const float *const[]){y}, 0);
  free(x); free(y);
  mb_free(b);
}

static void test_softmax(void **st) {
  (void)st;
  run_softmax_case(11, 2, INTS(3, 10), 1, 1);
  run_softmax_case(11, 2, INTS(3, 10), 1, 0);
  run_softmax_case(13, 2, INTS(3, 10), -1, 0);
  run_softmax_case(13, 3, INTS(1, 50, 2), -1, 0);   /* the detector's scores */
  run_softmax_case(11, 3, INTS(1, 50, 2), 2, 1);
  run_softmax_case(9, 3, INTS(2, 5, 3), 1, 1);      /* opset < 13: over the last two axes together */
  run_softmax_case(13, 3, INTS(2, 5, 3), 1, 1);     /* opset 13: over axis 1 only */
  run_softmax_case(13, 4, INTS(1, 3, 4, 5), 1, 1);
}

typedef struct pool_p { const char *op; int C, H, W, kh, kw, sh, sw, pt, pl, pb, pr, count_pad, dil; } pool_p;

static void run_pool_case(pool_p p, int relu) {
  char label[128];
  snprintf(label, sizeof label, "%s k%dx%d s%dx%d pads %d,%d,%d,%d%s%s%s", p.op, p.kh, p.kw, p.sh, p.sw, p.pt, p.pl, p.pb,
           p.pr, p.count_pad ? " count_include_pad" : "", p.dil > 1 ? " dilation" : "", relu ? " + Relu" : "");
  int is_max = p.op[0] == 'M';
  int dil = p.dil > 1 ? p.dil : 1;
  mb *b = mb_new(12);
  mb_input(b, "x", 4, INTS(1, p.C, p.H, p.W));
  Onnx__NodeProto *n = mb_node(b, p.op, "x", relu ? "t" : "y");
  mb_attr_ints(b, n, "kernel_shape", NINTS(p.kh, p.kw));
  if (p.sh != 1 || p.sw != 1) mb_attr_ints(b, n, "strides", NINTS(p.sh, p.sw));
  if (p.pt || p.pl || p.pb || p.pr) mb_attr_ints(b, n, "pads", NINTS(p.pt, p.pl, p.pb, p.pr));
  if (p.count_pad) mb_attr_i(b, n, "count_include_pad", 1);
  if (dil > 1) mb_attr_ints(b, n, "dilations", NINTS(dil, dil));
  if (relu) mb_node(b, "Relu", "t", "y");
  mb_output(b, "y");
  int OH = (p.H + p.pt + p.pb - ((p.kh - 1) * dil + 1)) / p.sh + 1, OW = (p.W + p.pl + p.pr - ((p.kw - 1) * dil + 1)) / p.sw + 1;
  float *x = rnd((size_t)(p.C * p.H * p.W)), *y = malloc(sizeof(float) * (size_t)(p.C * OH * OW));
  for (int c = 0; c < p.C; c++)
    for (int oy = 0; oy < OH; oy++)
      for (int ox = 0; ox < OW; ox++) {
        double acc = is_max ? -INFINITY : 0;
        int cnt = 0;
        for (int ky = 0; ky < p.kh; ky++)
          for (int kx = 0; kx < p.kw; kx++) {
            int iy = oy * p.sh - p.pt + ky * dil, ix = ox * p.sw - p.pl + kx * dil;
            if (iy < 0 || iy >= p.H || ix < 0 || ix >= p.W) { cnt += p.count_pad; continue; }
            double v = x[(c * p.H + iy) * p.W + ix];
            acc = is_max ? fmax(acc, v) : acc + v;
            cnt++;
          }
        float v = (float)(is_max ? acc : acc / cnt);
        y[(c * OH + oy) * OW + ox] = relu && v < 0 ? 0 : v;
      }
  check_model(label, b, (const float *const[]){x}, (const float *const[]){y}, (size_t)relu);
  free(x); free(y);
  mb_free(b);
}

static void test_pool(void **st) {
  (void)st;
  for (int m = 0; m < 2; m++) {
    const char *op = m ? "AveragePool" : "MaxPool";
    run_pool_case((pool_p){op, 5, 8, 10, 2, 2, 2, 2, 0, 0, 0, 0, 0, 1}, 0);
    run_pool_case((pool_p){op, 5, 9, 11, 3, 3, 2, 2, 0, 0, 0, 0, 0, 1}, 0);
    run_pool_case((pool_p){op, 4, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 0, 1}, 0);
    run_pool_case((pool_p){op, 4, 9, 9, 3, 3, 2, 2, 0, 1, 1, 0, 0, 1}, 0);
    run_pool_case((pool_p){op, 4, 8, 8, 3, 2, 1, 2, 1, 0, 1, 1, 0, 1}, 0);
    run_pool_case((pool_p){op, 5, 8, 10, 2, 2, 2, 2, 0, 0, 0, 0, 0, 1}, 1);
  }
  run_pool_case((pool_p){"AveragePool", 4, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 0);
  run_pool_case((pool_p){"AveragePool", 4, 9, 9, 3, 3, 2, 2, 0, 1, 1, 0, 1, 1}, 0);
  run_pool_case((pool_p){"MaxPool", 3, 10, 10, 3, 3, 1, 1, 2, 2, 2, 2, 0, 2}, 0);

  /* GlobalAveragePool on the input and after a Conv */
  for (int after_conv = 0; after_conv < 2; after_conv++) {
    mb *b = mb_new(9);
    mb_input(b, "x", 4, INTS(2, 6, 5, 7));
    float *x = rnd(420), *w = rnd(36), t[420], y[12];
    if (after_conv) {
      mb_init_f(b, "w", 4, INTS(6, 6, 1, 1), w, 0);
      mb_node(b, "Conv", "x,w", "c");
      for (int n = 0; n < 2; n++)
        for (int c = 0; c < 6; c++)
          for (int i = 0; i < 35; i++) {
            double acc = 0;
            for (int k = 0; k < 6; k++) acc += (double)w[c * 6 + k] * x[(n * 6 + k) * 35 + i];
            t[(n * 6 + c) * 35 + i] = (float)acc;
          }
    } else memcpy(t, x, sizeof t);
    mb_node(b, "GlobalAveragePool", after_conv ? "c" : "x", "y");
    mb_output(b, "y");
    for (int c = 0; c < 12; c++) {
      double s = 0;
      for (int i = 0; i < 35; i++) s += t[c * 35 + i];
      y[c] = (float)(s / 35);
    }
    check_model(after_conv ? "GlobalAveragePool after Conv" : "GlobalAveragePool", b, (const float *const[]){x},
                (const float *const[]){y}, 0);
    free(x); free(w);
    mb_free(b);
  }
}

/* 1x1 conv helper for layout tests: y[M,H,W] = w[M,C] x[C,H,W] (batch 1). */
static void conv1x1(const float *x, const float *w, int C, int M, int HW, float *y) {
  for (int m = 0; m < M; m++)
    for (int i = 0; i < HW; i++) {
      double acc = 0;
      for (int c = 0; c < C; c++) acc += (double)w[m * C + c] * x[c * HW + i];
      y[m * HW + i] = (float)acc;
    }
}

static void test_reshape_flatten(void **st) {
  (void)st;
  /* Reshape with 0 and -1, on the input and after a Conv (NCHW order must survive NHWC inside) */
  for (int after_conv = 0; after_conv < 2; after_conv++) {
    mb *b = mb_new(13);
    mb_input(b, "x", 4, INTS(1, 4, 3, 5));
    float *x = rnd(60), *w = rnd(16), t[60];
    if (after_conv) {
      mb_init_f(b, "w", 4, INTS(4, 4, 1, 1), w, 0);
      mb_node(b, "Conv", "x,w", "c");
      conv1x1(x, w, 4, 4, 15, t);
    } else memcpy(t, x, sizeof t);
    mb_ints(b, "shape", 3, INTS(0, -1, 5));
    mb_node(b, "Reshape", after_conv ? "c,shape" : "x,shape", "y");
    mb_output(b, "y");
    check_model(after_conv ? "Reshape after Conv" : "Reshape", b, (const float *const[]){x}, (const float *const[]){t}, 0);
    free(x); free(w);
    mb_free(b);
  }
  /* Flatten axis 1 / 2 / 0 after a Conv */
  for (int axis = 0; axis <= 2; axis++) {
    mb *b = mb_new(11);
    mb_input(b, "x", 4, INTS(1, 4, 3, 5));
    float *x = rnd(60), *w = rnd(24), t[90];
    mb_init_f(b, "w", 4, INTS(6, 4, 1, 1), w, 0);
    mb_node(b, "Conv", "x,w", "c");
    conv1x1(x, w, 4, 6, 15, t);
    Onnx__NodeProto *n = mb_node(b, "Flatten", "c", "y");
    if (axis != 1) mb_attr_i(b, n, "axis", axis);
    mb_output(b, "y");
    char label[64];
    snprintf(label, sizeof label, "Flatten axis %d after Conv", axis);
    check_model(label, b, (const float *const[]){x}, (const float *const[]){t}, 0);
    free(x); free(w);
    mb_free(b);
  }
  /* GlobalAveragePool -> Flatten -> Gemm (the classifier tail of liveness/feature) */
  {
    mb *b = mb_new(11);
    mb_input(b, "x", 4, INTS(1, 8, 4, 4));
    float *x = rnd(128), *W = rnd(8 * 3), *B = rnd(3), pooled[8], y[3];
    mb_init_f(b, "W", 2, INTS(3, 8), W, 0);
    mb_init_f(b, "B", 1, INTS(3), B, 0);
    mb_node(b, "GlobalAveragePool", "x", "p");
    mb_node(b, "Flatten", "p", "f");
    Onnx__NodeProto *n = mb_node(b, "Gemm", "f,W,B", "y");
    mb_attr_i(b, n, "transB", 1);
    mb_output(b, "y");
    for (int c = 0; c < 8; c++) {
      double s = 0;
      for (int i = 0; i < 16; i++) s += x[c * 16 + i];
      pooled[c] = (float)(s / 16);
    }
    naive_gemm(pooled, W, B, 1, 3, 1, 8, 3, 0, 1, 1, 1, y);
    check_model("GAP->Flatten->Gemm", b, (const float *const[]){x}, (const float *const[]){y}, 0);
    free(x); free(W); free(B);
    mb_free(b);
  }
  /* Squeeze / Unsqueeze, attribute form (opset 11) and input form (opset 13) */
  for (int opset = 11; opset <= 13; opset += 2) {
    mb *b = mb_new(opset);
    mb_input(b, "x", 4, INTS(1, 6, 1, 1));
    Onnx__NodeProto *n;
    if (opset == 11) {
      n = mb_node(b, "Squeeze", "x", "s");
      mb_attr_ints(b, n, "axes", NINTS(2, 3));
      n = mb_node(b, "Unsqueeze", "s", "y");
      mb_attr_ints(b, n, "axes", NINTS(0));
    } else {
      mb_ints(b, "ax1", 2, INTS(-1, -2));
      mb_ints(b, "ax2", 1, INTS(0));
      mb_node(b, "Squeeze", "x,ax1", "s");
      mb_node(b, "Unsqueeze", "s,ax2", "y");
    }
    mb_output(b, "y");
    float *x = rnd(6);
    check_model(opset == 11 ? "Squeeze/Unsqueeze opset 11" : "Squeeze/Unsqueeze opset 13", b, (const float *const[]){x},
                (const float *const[]){x}, 0);
    free(x);
    mb_free(b);
  }
}

static void naive_transpose4(const float *x, const int64_t *d, const int *perm, float *y) {
  int64_t od[4], ist[4] = {d[1] * d[2] * d[3], d[2] * d[3], d[3], 1};
  for (int i = 0; i < 4; i++) od[i] = d[perm[i]];
  size_t k = 0;
  for (int64_t a = 0; a < od[0]; a++)
    for (int64_t b = 0; b < od[1]; b++)
      for (int64_t c = 0; c < od[2]; c++)
        for (int64_t e = 0; e < od[3]; e++) y[k++] = x[a * ist[perm[0]] + b * ist[perm[1]] + c * ist[perm[2]] + e * ist[perm[3]]];
}

static void test_transpose(void **st) {
  (void)st;
  static const int perms[][4] = {{0, 2, 3, 1}, {0, 3, 1, 2}, {1, 0, 2, 3}, {3, 2, 1, 0}};
  for (size_t pi = 0; pi < 4; pi++)
    for (int after_conv = 0; after_conv < 2; after_conv++) {
      const int *p = perms[pi];
      mb *b = mb_new(11);
      int64_t d[4] = {1, 6, 3, 5};
      mb_input(b, "x", 4, INTS(1, 4, 3, 5));
      float *x = rnd(60), *w = rnd(24), t[90], y[90];
      if (after_conv) {
        mb_init_f(b, "w", 4, INTS(6, 4, 1, 1), w, 0);
        mb_node(b, "Conv", "x,w", "c");
        conv1x1(x, w, 4, 6, 15, t);
      } else {
        memcpy(t, x, 60 * sizeof(float));
        d[1] = 4;
      }
      Onnx__NodeProto *n = mb_node(b, "Transpose", after_conv ? "c" : "x", "y");
      mb_attr_ints(b, n, "perm", NINTS(p[0], p[1], p[2], p[3]));
      mb_output(b, "y");
      naive_transpose4(t, d, p, y);
      char label[96];
      snprintf(label, sizeof label, "Transpose (%d,%d,%d,%d)%s", p[0], p[1], p[2], p[3], after_conv ? " after Conv" : "");
      check_model(label, b, (const float *const[]){x}, (const float *const[]){y}, 0);
      free(x); free(w);
      mb_free(b);
    }
  /* default perm (reverse) on 3-D */
  {
    mb *b = mb_new(11);
    mb_input(b, "x", 3, INTS(2, 3, 4));
    mb_node(b, "Transpose", "x", "y");
    mb_output(b, "y");
    float *x = rnd(24), y[24];
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 3; j++)
        for (int k = 0; k < 4; k++) y[(k * 3 + j) * 2 + i] = x[(i * 3 + j) * 4 + k];
    check_model("Transpose default perm 3-D", b, (const float *const[]){x}, (const float *const[]){y}, 0);
    free(x);
    mb_free(b);
  }
}

static void test_concat(void **st) {
  (void)st;
  /* v=0: axis 1 of two Conv outputs (stays NHWC); v=1: axis 1 of Conv, graph input, Conv;
   * v=2: axis 2 of a Conv output with itself; v=3: axis -1 likewise */
  static const char *const labels[] = {"Concat axis 1 of two Convs", "Concat axis 1 Conv,input,Conv", "Concat axis 2",
                                       "Concat axis -1"};
  for (int v = 0; v < 4; v++) {
    mb *b = mb_new(11);
    mb_input(b, "x", 4, INTS(1, 4, 3, 5));
    float *x = rnd(60), *w1 = rnd(24), *w2 = rnd(12), c1[90], c2[45], y[300];
    mb_init_f(b, "w1", 4, INTS(6, 4, 1, 1), w1, 0);
    mb_init_f(b, "w2", 4, INTS(3, 4, 1, 1), w2, 0);
    if (v < 2) mb_node(b, "Conv", "x,w1", "c1");
    mb_node(b, "Conv", "x,w2", "c2");
    conv1x1(x, w1, 4, 6, 15, c1);
    conv1x1(x, w2, 4, 3, 15, c2);
    Onnx__NodeProto *n = mb_node(b, "Concat", v == 0 ? "c1,c2" : v == 1 ? "c1,x,c2" : "c2,c2", "y");
    mb_attr_i(b, n, "axis", v < 2 ? 1 : v == 2 ? 2 : -1);
    mb_output(b, "y");
    size_t k = 0;
    if (v == 0) { memcpy(y, c1, sizeof c1); memcpy(y + 90, c2, sizeof c2); }
    if (v == 1) { memcpy(y, c1, sizeof c1); memcpy(y + 90, x, 60 * sizeof(float)); memcpy(y + 150, c2, sizeof c2); }
    if (v == 2)
      for (int c = 0; c < 3; c++)
        for (int r = 0; r < 2; r++) { memcpy(y + k, c2 + c * 15, 15 * sizeof(float)); k += 15; }
    if (v == 3)
      for (int c = 0; c < 3; c++)
        for (int h = 0; h < 3; h++)
          for (int r = 0; r < 2; r++) { memcpy(y + k, c2 + c * 15 + h * 5, 5 * sizeof(float)); k += 5; }
    check_model(labels[v], b, (const float *const[]){x}, (const float *const[]){y}, 0);
    free(x); free(w1); free(w2);
    mb_free(b);
  }
}

static void test_slice(void **st) {
  (void)st;
  /* x: [2, 5, 8]; each case's output computed by index loops */
  typedef struct { int opset; int n; int64_t starts[3], ends[3], axes[3], steps[3]; int has_axes, has_steps; } sl;
  static const sl cases[] = {
    {10, 1, {1}, {3}, {2}, {1}, 1, 0},                        /* last axis 1:3 */
    {10, 2, {0, 2}, {1, 1000}, {0, 2}, {1, 1}, 1, 0},         /* end past the dim */
    {10, 1, {-3}, {-1}, {-1}, {1}, 1, 0},                     /* negative start/end/axis */
    {10, 1, {1}, {8}, {2}, {2}, 1, 1},                        /* step 2 */
    {10, 1, {6}, {0}, {2}, {-2}, 1, 1},                       /* negative step */
    {10, 3, {0, 1, 0}, {2, 5, 8}, {0, 1, 2}, {1, 1, 3}, 0, 1},/* default axes */
    {9, 2, {1, 2}, {4, 7}, {1, 2}, {1, 1}, 1, 0},             /* opset 9: attributes */
  };
  for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
    const sl *c = &cases[ci];
    int64_t d[3] = {2, 5, 8};
    mb *b = mb_new(c->opset);
    mb_input(b, "x", 3, d);
    Onnx__NodeProto *n;
    if (c->opset >= 10) {
      mb_ints(b, "st", c->n, c->starts);
      mb_ints(b, "en", c->n, c->ends);
      if (c->has_axes) mb_ints(b, "ax", c->n, c->axes);
      if (c->has_steps) mb_ints(b, "sp", c->n, c->steps);
      n = mb_node(b, "Slice", c->has_steps ? (c->has_axes ? "x,st,en,ax,sp" : "x,st,en,,sp") : c->has_axes ? "x,st,en,ax" : "x,st,en", "y");
    } else {
      n = mb_node(b, "Slice", "x", "y");
      mb_attr_ints(b, n, "starts", c->n, c->starts);
      mb_attr_ints(b, n, "ends", c->n, c->ends);
      mb_attr_ints(b, n, "axes", c->n, c->axes);
    }
    mb_output(b, "y");
    /* naive: per axis start/step/len */
    int64_t s[3] = {0, 0, 0}, p[3] = {1, 1, 1}, len[3] = {2, 5, 8};
    for (int i = 0; i < c->n; i++) {
      int a = (int)(c->has_axes || c->opset < 10 ? (c->axes[i] < 0 ? c->axes[i] + 3 : c->axes[i]) : i);
      int64_t st0 = c->starts[i], en = c->ends[i], step = c->has_steps ? c->steps[i] : 1, dim = d[a];
      if (st0 < 0) st0 += dim;
      if (en < 0) en += dim;
      if (step > 0) { st0 = st0 < 0 ? 0 : st0 > dim ? dim : st0; en = en < 0 ? 0 : en > dim ? dim : en; }
      else { st0 = st0 < 0 ? -1 : st0 > dim - 1 ? dim - 1 : st0; en = en < -1 ? -1 : en > dim - 1 ? dim - 1 : en; }
      s[a] = st0; p[a] = step;
      len[a] = step > 0 ? (en - st0 + step - 1) / step : (st0 - en - step - 1) / -step;
      if (len[a] < 0) len[a] = 0;
    }
    float *x = rnd(80), y[80];
    size_t k = 0;
    for (int64_t i = 0; i < len[0]; i++)
      for (int64_t j = 0; j < len[1]; j++)
        for (int64_t l = 0; l < len[2]; l++) y[k++] = x[((s[0] + i * p[0]) * 5 + s[1] + j * p[1]) * 8 + s[2] + l * p[2]];
    char label[64];
    snprintf(label, sizeof label, "Slice case %zu (opset %d)", ci, c->opset);
    check_model(label, b, (const float *const[]){x}, (const float *const[]){y}, 0);
    free(x);
    mb_free(b);
  }
}

/* The exporter's Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain, folded at load. */
static void test_shape_chain(void **st) {
  (void)st;
  mb *b = mb_new(9);
  mb_input(b, "x", 4, INTS(1, 4, 3, 5));
  float *x = rnd(60), *w = rnd(32), t[120];
  mb_init_f(b, "w", 4, INTS(8, 4, 1, 1), w, 0);
  mb_node(b, "Conv", "x,w", "c");
  conv1x1(x, w, 4, 8, 15, t);
  mb_node(b, "Shape", "c", "shp");
  mb_init_i64(b, "zero", 0, NULL, INTS(0));
  Onnx__NodeProto *n = mb_node(b, "Gather", "shp,zero", "n");
  mb_attr_i(b, n, "axis", 0);
  n = mb_node(b, "Unsqueeze", "n", "n1");
  mb_attr_ints(b, n, "axes", NINTS(0));
  Onnx__TensorProto *ct = mb_tensor(b, "minus1", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, INTS(1));
  ct->n_int64_data = 1;
  ct->int64_data = mb_alloc(b, sizeof(int64_t));
  ct->int64_data[0] = -1;
  n = mb_node(b, "Constant", "", "m1");
  Onnx__AttributeProto *a = mb_attr(b, n, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
  a->t = ct;
  n = mb_node(b, "Concat", "n1,m1", "shape");
  mb_attr_i(b, n, "axis", 0);
  mb_node(b, "Reshape", "c,shape", "y");
  mb_output(b, "y");
  check_model("Shape->Gather->Unsqueeze->Concat->Reshape", b, (const float *const[]){x}, (const float *const[]){t}, 5);
  free(x); free(w);
  mb_free(b);
}

/* A miniature of the detector head: two Conv branches, Transpose(0,2,3,1) and Reshape to
 * [1,-1,k], Concat along anchors, Softmax on scores, box decoding with Slice/Exp/Mul/Add/
 * Sub/Div against constant priors, Concat of the corners. */
static void test_detector_head(void **st) {
  (void)st;
  mb *b = mb_new(11);
  const int C = 4, H = 3, W = 5, A = 2; /* A anchors per pixel */
  mb_input(b, "x", 4, INTS(1, C, H, W));
  float *x = rnd((size_t)(C * H * W)), *ws = rnd((size_t)(A * 2 * C)), *wb = rnd((size_t)(A * 4 * C));
  float *pri = rnd((size_t)(H * W * A * 4));
  for (int i = 0; i < H * W * A * 4; i++) pri[i] = 0.5f + 0.25f * pri[i];
  mb_init_f(b, "ws", 4, INTS(A * 2, C, 1, 1), ws, 0);
  mb_init_f(b, "wb", 4, INTS(A * 4, C, 1, 1), wb, 0);
  mb_init_f(b, "pri", 3, INTS(1, H * W * A, 4), pri, 0);
  mb_init_f(b, "v", 0, NULL, (const float[]){0.1f}, 0);
  mb_init_f(b, "two", 0, NULL, (const float[]){2.f}, 0);
  mb_ints(b, "shs", 3, INTS(1, -1, 2));
  mb_ints(b, "shb", 3, INTS(1, -1, 4));
  mb_ints(b, "s0", 1, INTS(0));
  mb_ints(b, "s2", 1, INTS(2));
  mb_ints(b, "s4", 1, INTS(4));
  mb_ints(b, "ax", 1, INTS(2));
  mb_node(b, "Conv", "x,ws", "cs");
  mb_node(b, "Conv", "x,wb", "cb");
  Onnx__NodeProto *n = mb_node(b, "Transpose", "cs", "ts");
  mb_attr_ints(b, n, "perm", NINTS(0, 2, 3, 1));
  n = mb_node(b, "Transpose", "cb", "tb");
  mb_attr_ints(b, n, "perm", NINTS(0, 2, 3, 1));
  mb_node(b, "Reshape", "ts,shs", "rs");
  mb_node(b, "Reshape", "tb,shb", "rb");
  n = mb_node(b, "Softmax", "rs", "scores");
  mb_attr_i(b, n, "axis", 2);
  mb_node(b, "Slice", "rb,s0,s2,ax", "bxy");
  mb_node(b, "Slice", "rb,s2,s4,ax", "bwh");
  mb_node(b, "Slice", "pri,s0,s2,ax", "pxy");
  mb_node(b, "Slice", "pri,s2,s4,ax", "pwh");
  mb_node(b, "Mul", "bxy,v", "t1");
  mb_node(b, "Mul", "t1,pwh", "t2");
  mb_node(b, "Add", "t2,pxy", "cxy");
  mb_node(b, "Mul", "bwh,v", "t3");
  mb_node(b, "Exp", "t3", "t4");
  mb_node(b, "Mul", "t4,pwh", "wh");
  mb_node(b, "Div", "wh,two", "half");
  mb_node(b, "Sub", "cxy,half", "lo");
  mb_node(b, "Add", "cxy,half", "hi");
  n = mb_node(b, "Concat", "lo,hi", "boxes");
  mb_attr_i(b, n, "axis", 2);
  mb_output(b, "scores");
  mb_output(b, "boxes");
  /* naive */
  int P = H * W * A;
  float *cs = malloc(sizeof(float) * (size_t)(A * 2 * H * W)), *cb = malloc(sizeof(float) * (size_t)(A * 4 * H * W));
  float *scores = malloc(sizeof(float) * (size_t)(P * 2)), *boxes = malloc(sizeof(float) * (size_t)(P * 4));
  conv1x1(x, ws, C, A * 2, H * W, cs);
  conv1x1(x, wb, C, A * 4, H * W, cb);
  for (int pix = 0; pix < H * W; pix++)
    for (int a = 0; a < A; a++) {
      int p = pix * A + a;
      float s0 = cs[(a * 2 + 0) * H * W + pix], s1 = cs[(a * 2 + 1) * H * W + pix];
      double m = fmax(s0, s1), e0 = exp(s0 - m), e1 = exp(s1 - m);
      scores[p * 2] = (float)(e0 / (e0 + e1));
      scores[p * 2 + 1] = (float)(e1 / (e0 + e1));
      float r[4];
      for (int k = 0; k < 4; k++) r[k] = cb[(a * 4 + k) * H * W + pix];
      const float *q = pri + p * 4;
      for (int k = 0; k < 2; k++) {
        float c = r[k] * 0.1f * q[2 + k] + q[k];
        float h = expf(r[2 + k] * 0.1f) * q[2 + k] / 2;
        boxes[p * 4 + k] = c - h;
        boxes[p * 4 + 2 + k] = c + h;
      }
    }
  check_model("detector head", b, (const float *const[]){x}, (const float *const[]){scores, boxes}, 0);
  free(x); free(ws); free(wb); free(pri); free(cs); free(cb); free(scores); free(boxes);
  mb_free(b);
}

/* A squeeze-excitation block as in the liveness model: GAP -> 1x1 Conv -> Relu -> 1x1 Conv
 * -> Sigmoid -> Mul with the block input; plus PRelu and a residual Add. */
static void test_se_block(void **st) {
  (void)st;
  mb *b = mb_new(9);
  const int C = 8, R = 2, HW = 20;
  mb_input(b, "x", 4, INTS(1, C, 4, 5));
  float *x = rnd((size_t)(C * HW)), *w1 = rnd((size_t)(R * C)), *w2 = rnd((size_t)(R * C)), *sl = rnd((size_t)C);
  mb_init_f(b, "w1", 4, INTS(R, C, 1, 1), w1, 0);
  mb_init_f(b, "w2", 4, INTS(C, R, 1, 1), w2, 0);
  mb_init_f(b, "sl", 3, INTS(C, 1, 1), sl, 0);
  mb_node(b, "PRelu", "x,sl", "px");
  mb_node(b, "GlobalAveragePool", "px", "g");
  mb_node(b, "Conv", "g,w1", "c1");
  mb_node(b, "Relu", "c1", "r1");
  mb_node(b, "Conv", "r1,w2", "c2");
  mb_node(b, "Sigmoid", "c2", "sg");
  mb_node(b, "Mul", "px,sg", "m");
  mb_node(b, "Add", "m,x", "y");
  mb_output(b, "y");
  float px[160], g[8], r1[2], sg[8], y[160];
  for (int c = 0; c < C; c++) {
    double s = 0;
    for (int i = 0; i < HW; i++) {
      float v = x[c * HW + i];
      px[c * HW + i] = v >= 0 ? v : v * sl[c];
      s += px[c * HW + i];
    }
    g[c] = (float)(s / HW);
  }
  for (int r = 0; r < R; r++) {
    double acc = 0;
    for (int c = 0; c < C; c++) acc += (double)w1[r * C + c] * g[c];
    r1[r] = acc > 0 ? (float)acc : 0;
  }
  for (int c = 0; c < C; c++) {
    double acc = 0;
    for (int r = 0; r < R; r++) acc += (double)w2[c * R + r] * r1[r];
    sg[c] = (float)(1 / (1 + exp(-acc)));
  }
  for (int c = 0; c < C; c++)
    for (int i = 0; i < HW; i++) y[c * HW + i] = px[c * HW + i] * sg[c] + x[c * HW + i];
  check_model("squeeze-excitation block", b, (const float *const[]){x}, (const float *const[]){y}, 1);
  free(x); free(w1); free(w2); free(sl);
  mb_free(b);
}

/* Gather on a runtime tensor with a constant index, and a graph output that is also consumed. */
static void test_gather_and_shared_output(void **st) {
  (void)st;
  mb *b = mb_new(11);
  mb_input(b, "x", 3, INTS(2, 5, 3));
  mb_ints(b, "idx", 2, INTS(4, -5));
  Onnx__NodeProto *n = mb_node(b, "Gather", "x,idx", "g");
  mb_attr_i(b, n, "axis", 1);
  mb_node(b, "Relu", "g", "r");
  mb_node(b, "Exp", "r", "y");
  mb_output(b, "r");
  mb_output(b, "y");
  float *x = rnd(30), r[12], y[12];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 3; k++) {
        float v = x[(i * 5 + (j ? 0 : 4)) * 3 + k];
        r[(i * 2 + j) * 3 + k] = v > 0 ? v : 0;
        y[(i * 2 + j) * 3 + k] = expf(r[(i * 2 + j) * 3 + k]);
      }
  check_model("Gather runtime + output also consumed", b, (const float *const[]){x}, (const float *const[]){r, y}, 0);
  free(x);
  mb_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_conv),
    cmocka_unit_test(test_batchnorm),
    cmocka_unit_test(test_gemm),
    cmocka_unit_test(test_matmul),
    cmocka_unit_test(test_binary),
    cmocka_unit_test(test_prelu),
    cmocka_unit_test(test_prelu_slope_along_w),
    cmocka_unit_test(test_unary),
    cmocka_unit_test(test_softmax),
    cmocka_unit_test(test_pool),
    cmocka_unit_test(test_reshape_flatten),
    cmocka_unit_test(test_transpose),
    cmocka_unit_test(test_concat),
    cmocka_unit_test(test_slice),
    cmocka_unit_test(test_shape_chain),
    cmocka_unit_test(test_detector_head),
    cmocka_unit_test(test_se_block),
    cmocka_unit_test(test_gather_and_shared_output),
  };
  return cmocka_run_group_tests_name("nn_ops", tests, NULL, NULL);
}
