/*
 * ONNX backend conformance: the node tests that Debian's libonnx-testdata ships
 * (/usr/share/libonnx-testdata/data/node/test_<name>/model.onnx with
 * test_data_set_N/input_K.pb and output_K.pb TensorProtos), for every operator
 * the engine claims (facegate/nn.h).
 *
 * Which tests: those whose graph is a single node of a claimed op, plus the
 * "_expanded" variants named after a claimed op (the same test written with
 * other, mostly unclaimed, ops; they must be refused cleanly).
 *
 * How each test is run:
 *   1. as is: load the model; if it loads, run every data set with XNNPACK
 *      (1 thread) and the reference backend and compare every output.
 *   2. if the engine refuses it as is and the graph has more than one input,
 *      again with inputs 1..n-1 turned into initializers holding the test's
 *      data ("const"): that is how weights, shapes, axes, slopes and clip
 *      bounds reach the engine in real models, and the engine requires them
 *      to be constant.
 * A refusal must be clean: FG_EUNSUPPORTED or FG_ESHAPE with a message that
 * names the input, output or opset at fault, or the node's operator. A test
 * that loads and then fails to run or gives a wrong number, or a refusal with
 * another code or a message that names nothing, is a failure.
 *
 * Tolerance: |ours - expected| <= 1e-5 + 1e-4 |expected| (ONNX's own backend
 * tests use rtol 1e-3, atol 1e-7).
 *
 * The test asserts zero failures and prints one line per op. With
 * FG_CONFORMANCE_MD=path it also writes the per-op pass/refuse lists as the
 * Markdown table kept in docs/engine-tests.md.
 * Skips, saying why, when libonnx-testdata is not installed.
 */
#include "testutil.h"

#include <dirent.h>
#include <math.h>

#include "facegate/nn.h"
#include "onnx.pb-c.h"

#define NODE_DIR "/usr/share/libonnx-testdata/data/node"
#define ATOL 1e-5
#define RTOL 1e-4
#define MAX_IO 8
#define WHY_MAX (3 * FG_ERROR_MSG_MAX)

static const char *const claimed[] = {
  "Conv", "BatchNormalization", "Relu", "Clip", "PRelu", "LeakyRelu", "Sigmoid", "Exp", "Add", "Sub", "Mul",
  "Div", "Gemm", "MatMul", "GlobalAveragePool", "AveragePool", "MaxPool", "Softmax", "Reshape", "Flatten",
  "Transpose", "Concat", "Slice", "Shape", "Gather", "Unsqueeze", "Squeeze", "Identity", "Dropout", "Constant"};
#define N_OPS (sizeof claimed / sizeof *claimed)

enum { R_PASS, R_PASS_CONST, R_REFUSED, R_FAIL };

typedef struct result {
  char name[128];
  int kind;
  char why[WHY_MAX];
} result;

typedef struct op_results {
  result *r;
  int n, cap;
  int count[4];
} op_results;

static op_results per_op[N_OPS];

static void add_result(size_t op, const char *name, int kind, const char *why) {
  op_results *o = &per_op[op];
  if (o->n == o->cap) {
    o->cap = o->cap ? o->cap * 2 : 16;
    o->r = realloc(o->r, (size_t)o->cap * sizeof *o->r);
    assert_non_null(o->r);
  }
  result *r = &o->r[o->n++];
  snprintf(r->name, sizeof r->name, "%s", name);
  snprintf(r->why, sizeof r->why, "%s", why ? why : "");
  r->kind = kind;
  o->count[kind]++;
}

static int lower_prefix(const char *name, const char *op) { /* name starts with lower(op) + "_" */
  size_t i = 0;
  for (; op[i]; i++)
    if (name[i] != (op[i] >= 'A' && op[i] <= 'Z' ? op[i] - 'A' + 'a' : op[i])) return 0;
  return name[i] == '_';
}

/* Which claimed op a test belongs to, or -1. */
static int classify(const char *test, const Onnx__ModelProto *mp) {
  const Onnx__GraphProto *g = mp->graph;
  if (!g) return -1;
  if (g->n_node == 1) {
    for (size_t i = 0; i < N_OPS; i++)
      if (g->node[0]->op_type && !strcmp(g->node[0]->op_type, claimed[i])) return (int)i;
    return -1;
  }
  if (!strstr(test, "_expanded")) return -1;
  for (size_t i = 0; i < N_OPS; i++)
    if (lower_prefix(test + 5, claimed[i])) return (int)i;
  return -1;
}

static Onnx__TensorProto *read_tensor(const char *path) {
  if (!tu_exists(path)) return NULL;
  size_t len;
  uint8_t *buf = tu_read(path, &len);
  Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, buf);
  free(buf);
  return t;
}

/* The tensor as float32 (float or double data), or NULL. */
static float *tensor_floats(const Onnx__TensorProto *t, size_t *count) {
  size_t n = 1;
  for (size_t i = 0; i < t->n_dims; i++) n *= (size_t)t->dims[i];
  float *v = malloc(n * sizeof *v + 1);
  assert_non_null(v);
  int raw = t->has_raw_data && t->raw_data.len > 0;
  if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
    if (raw ? t->raw_data.len != n * 4 : t->n_float_data != n) { free(v); return NULL; }
    if (raw) memcpy(v, t->raw_data.data, n * 4);
    else memcpy(v, t->float_data, n * 4);
  } else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
    if (raw ? t->raw_data.len != n * 8 : t->n_double_data != n) { free(v); return NULL; }
    for (size_t i = 0; i < n; i++) {
      double d;
      if (raw) memcpy(&d, t->raw_data.data + 8 * i, 8);
      else d = t->double_data[i];
      v[i] = (float)d;
    }
  } else {
    free(v);
    return NULL;
  }
  *count = n;
  return v;
}

typedef struct dataset {
  Onnx__TensorProto *in[MAX_IO], *out[MAX_IO];
  int n_in, n_out;
} dataset;

static void dataset_free(dataset *d) {
  for (int i = 0; i < d->n_in; i++) onnx__tensor_proto__free_unpacked(d->in[i], NULL);
  for (int i = 0; i < d->n_out; i++) onnx__tensor_proto__free_unpacked(d->out[i], NULL);
  memset(d, 0, sizeof *d);
}

static int dataset_read(const char *dir, int k, dataset *d) {
  char path[1024];
  memset(d, 0, sizeof *d);
  snprintf(path, sizeof path, "%s/test_data_set_%d", dir, k);
  if (!tu_exists(path)) return 0;
  for (int i = 0; i < MAX_IO; i++) {
    snprintf(path, sizeof path, "%s/test_data_set_%d/input_%d.pb", dir, k, i);
    if (!(d->in[i] = read_tensor(path))) break;
    d->n_in++;
  }
  for (int i = 0; i < MAX_IO; i++) {
    snprintf(path, sizeof path, "%s/test_data_set_%d/output_%d.pb", dir, k, i);
    if (!(d->out[i] = read_tensor(path))) break;
    d->n_out++;
  }
  return 1;
}

/* Run one data set on a loaded model with one backend; 0 = matches, else a reason in why. */
static int run_compare(fg_model *m, int backend, const dataset *d, int n_model_inputs, char *why, size_t wn) {
  fg_error e;
  fg_session *s;
  fg_session_options so = {.threads = 1, .backend = backend};
  const char *bname = backend == FG_BACKEND_REFERENCE ? "reference" : "xnnpack";
  if (fg_session_create(m, &so, &s, &e)) { snprintf(why, wn, "%s session: %s", bname, e.msg); return -1; }
  int rc = -1;
  const float *in[MAX_IO] = {0};
  float *inbuf[MAX_IO] = {0}, *out[MAX_IO] = {0}, *want[MAX_IO] = {0};
  if ((int)fg_model_output_count(m) != d->n_out) {
    snprintf(why, wn, "model has %zu outputs, test data %d", fg_model_output_count(m), d->n_out);
    goto out;
  }
  for (int i = 0; i < n_model_inputs; i++) {
    size_t cnt;
    if (!(inbuf[i] = tensor_floats(d->in[i], &cnt)) || cnt != fg_model_input(m, (size_t)i)->count) {
      snprintf(why, wn, "input %d: not float data of the model's size", i);
      goto out;
    }
    in[i] = inbuf[i];
  }
  for (int o = 0; o < d->n_out; o++) {
    const fg_tensor_info *ti = fg_model_output(m, (size_t)o);
    size_t cnt;
    if (!(want[o] = tensor_floats(d->out[o], &cnt))) { snprintf(why, wn, "output %d: expected data is not float", o); goto out; }
    if (cnt != ti->count || (int)d->out[o]->n_dims != ti->rank) {
      snprintf(why, wn, "output %d: shape differs (rank %d, %zu elements; expected rank %zu, %zu)", o, ti->rank, ti->count,
               d->out[o]->n_dims, cnt);
      goto out;
    }
    for (int r = 0; r < ti->rank; r++)
      if (ti->dims[r] != d->out[o]->dims[r]) { snprintf(why, wn, "output %d: dimension %d differs", o, r); goto out; }
    out[o] = malloc(cnt * sizeof(float) + 1);
    assert_non_null(out[o]);
    for (size_t i = 0; i < cnt; i++) out[o][i] = NAN;
  }
  if (fg_session_run(s, in, out, &e)) { snprintf(why, wn, "%s run: %s", bname, e.msg); goto out; }
  for (int o = 0; o < d->n_out; o++) {
    size_t cnt = fg_model_output(m, (size_t)o)->count;
    for (size_t i = 0; i < cnt; i++) {
      double a = out[o][i], b = want[o][i];
      if (isinf(b) && a == b) continue;
      if (!(fabs(a - b) <= ATOL + RTOL * fabs(b))) {
        snprintf(why, wn, "%s output %d element %zu: %.8g, expected %.8g", bname, o, i, a, b);
        goto out;
      }
    }
  }
  rc = 0;
out:
  for (int i = 0; i < MAX_IO; i++) { free(inbuf[i]); free(out[i]); free(want[i]); }
  fg_session_destroy(s);
  return rc;
}

/* A clean refusal: the right code and a message naming what is at fault. */
static int clean_refusal(const fg_error *e, const char *op, char *why, size_t wn) {
  if (e->code != FG_EUNSUPPORTED && e->code != FG_ESHAPE) {
    snprintf(why, wn, "refused with %s (want FG_EUNSUPPORTED or FG_ESHAPE): %s", fg_err_name(e->code), e->msg);
    return 0;
  }
  if (!strstr(e->msg, op) && strncmp(e->msg, "input '", 7) && strncmp(e->msg, "initializer '", 13) &&
      strncmp(e->msg, "graph output '", 14) && strncmp(e->msg, "graph has no inputs", 19) && strncmp(e->msg, "opset", 5) &&
      !strstr(e->msg, "node '")) {
    snprintf(why, wn, "refusal names neither node, op nor tensor: %s", e->msg);
    return 0;
  }
  return 1;
}

/* Model bytes with graph inputs 1..n-1 made initializers holding data set 0's values. */
static uint8_t *const_variant(Onnx__ModelProto *mp, const dataset *d, size_t *len) {
  Onnx__GraphProto *g = mp->graph, copy = *g;
  if (g->n_input < 2 || (int)g->n_input > d->n_in) return NULL;
  Onnx__TensorProto **inits = malloc((g->n_initializer + g->n_input) * sizeof *inits);
  assert_non_null(inits);
  for (size_t i = 0; i < g->n_initializer; i++) inits[i] = g->initializer[i];
  char *saved[MAX_IO];
  for (size_t i = 1; i < g->n_input; i++) {
    saved[i] = d->in[i]->name;
    d->in[i]->name = g->input[i]->name;
    inits[g->n_initializer + i - 1] = d->in[i];
  }
  copy.n_initializer = g->n_initializer + g->n_input - 1;
  copy.initializer = inits;
  copy.n_input = 1;
  mp->graph = &copy;
  *len = onnx__model_proto__get_packed_size(mp);
  uint8_t *buf = malloc(*len + 1);
  assert_non_null(buf);
  onnx__model_proto__pack(mp, buf);
  mp->graph = g;
  for (size_t i = 1; i < g->n_input; i++) d->in[i]->name = saved[i];
  free(inits);
  return buf;
}

/* Load and check all data sets; returns R_PASS (loaded and matched), R_REFUSED (why = the
 * refusal, clean) or R_FAIL (why says what went wrong). */
static int try_model(const char *dir, const uint8_t *buf, size_t len, const char *op, int *n_inputs_out, char *why, size_t wn) {
  fg_model *m;
  fg_error e;
  if (fg_model_load_memory(buf, len, NULL, &m, &e)) {
    if (!clean_refusal(&e, op, why, wn)) return R_FAIL;
    snprintf(why, wn, "%s", e.msg);
    return R_REFUSED;
  }
  int n_in = (int)fg_model_input_count(m), rc = R_PASS, sets = 0;
  *n_inputs_out = n_in;
  for (int k = 0; rc == R_PASS; k++) {
    dataset d;
    if (!dataset_read(dir, k, &d)) break;
    sets++;
    if (d.n_in < n_in) { snprintf(why, wn, "data set %d has %d inputs, model %d", k, d.n_in, n_in); rc = R_FAIL; }
    for (int b = 0; b < 2 && rc == R_PASS; b++)
      if (run_compare(m, b ? FG_BACKEND_REFERENCE : FG_BACKEND_XNNPACK, &d, n_in, why, wn)) rc = R_FAIL;
    dataset_free(&d);
  }
  if (!sets && rc == R_PASS) { snprintf(why, wn, "no test data"); rc = R_FAIL; }
  fg_model_destroy(m);
  return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void write_markdown(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) { fprintf(stderr, "cannot write %s\n", path); return; }
  fprintf(f, "| op | pass | pass (const inputs) | refused | fail |\n|---|---|---|---|---|\n");
  for (size_t i = 0; i < N_OPS; i++) {
    const op_results *o = &per_op[i];
    fprintf(f, "| %s | %d | %d | %d | %d |\n", claimed[i], o->count[R_PASS], o->count[R_PASS_CONST], o->count[R_REFUSED],
            o->count[R_FAIL]);
  }
  fprintf(f, "\n");
  for (size_t i = 0; i < N_OPS; i++) {
    const op_results *o = &per_op[i];
    fprintf(f, "### %s\n\n", claimed[i]);
    if (!o->n) { fprintf(f, "No node test in this version of the test data.\n\n"); continue; }
    static const char *const label[] = {"pass", "pass, const inputs", "refused", "FAIL"};
    for (int k = 0; k < 4; k++) {
      int any = 0;
      for (int j = 0; j < o->n; j++) {
        if (o->r[j].kind != k) continue;
        if (!any) fprintf(f, "- %s:", label[k]);
        if (k == R_PASS || k == R_PASS_CONST) fprintf(f, "%s `%s`", any ? "," : "", o->r[j].name + 5);
        else fprintf(f, "\n  - `%s`: %s", o->r[j].name + 5, o->r[j].why);
        any = 1;
      }
      if (any) fprintf(f, "\n");
    }
    fprintf(f, "\n");
  }
  fclose(f);
}

static void test_conformance(void **st) {
  (void)st;
  DIR *dp = opendir(NODE_DIR);
  if (!dp) TU_SKIP("%s not found (apt-get install libonnx-testdata)", NODE_DIR);
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(dp))) {
    if (strncmp(de->d_name, "test_", 5)) continue;
    if (n == cap) { cap = cap ? cap * 2 : 256; names = realloc(names, cap * sizeof *names); assert_non_null(names); }
    names[n++] = strdup(de->d_name);
  }
  closedir(dp);
  qsort(names, n, sizeof *names, cmp_str);
  int total = 0, fails = 0;
  for (size_t t = 0; t < n; t++) {
    char dir[1024], path[1100], why[WHY_MAX] = "";
    snprintf(dir, sizeof dir, "%s/%s", NODE_DIR, names[t]);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    if (!tu_exists(path)) continue;
    size_t len;
    uint8_t *buf = tu_read(path, &len);
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    int op = mp ? classify(names[t], mp) : -1;
    if (op < 0) {
      if (mp) onnx__model_proto__free_unpacked(mp, NULL);
      free(buf);
      continue;
    }
    total++;
    int n_in = 0;
    int kind = try_model(dir, buf, len, claimed[op], &n_in, why, sizeof why);
    if (kind == R_REFUSED && mp->graph->n_input > 1) {
      dataset d;
      size_t clen;
      uint8_t *cbuf;
      char why2[sizeof why] = "";
      if (dataset_read(dir, 0, &d) && (cbuf = const_variant(mp, &d, &clen))) {
        int k2 = try_model(dir, cbuf, clen, claimed[op], &n_in, why2, sizeof why2);
        if (k2 == R_PASS) kind = R_PASS_CONST;
        else if (k2 == R_FAIL) { kind = R_FAIL; why2[FG_ERROR_MSG_MAX] = 0; snprintf(why, sizeof why, "with const inputs: %s", why2); }
        else if (strcmp(why, why2)) {
          char first[FG_ERROR_MSG_MAX + 1];
          snprintf(first, sizeof first, "%s", why);
          why2[FG_ERROR_MSG_MAX] = 0;
          snprintf(why, sizeof why, "%s; with const inputs: %s", first, why2);
        }
        free(cbuf);
      }
      dataset_free(&d);
    }
    add_result((size_t)op, names[t], kind, why);
    if (kind == R_FAIL) {
      fails++;
      print_error("FAIL %s: %s\n", names[t], why);
    }
    onnx__model_proto__free_unpacked(mp, NULL);
    free(buf);
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  int pass = 0, cpass = 0, refused = 0;
  for (size_t i = 0; i < N_OPS; i++) {
    const op_results *o = &per_op[i];
    pass += o->count[R_PASS];
    cpass += o->count[R_PASS_CONST];
    refused += o->count[R_REFUSED];
    fprintf(stderr, "  %-18s %2d tests: %2d pass, %2d pass with const inputs, %2d refused cleanly, %d FAIL\n", claimed[i], o->n,
            o->count[R_PASS], o->count[R_PASS_CONST], o->count[R_REFUSED], o->count[R_FAIL]);
  }
  fprintf(stderr, "  conformance: %d node tests: %d pass, %d pass with const inputs, %d refused cleanly, %d FAIL\n", total, pass,
          cpass, refused, fails);
  const char *md = getenv("FG_CONFORMANCE_MD");
  if (md && *md) write_markdown(md);
  for (size_t i = 0; i < N_OPS; i++) free(per_op[i].r);
  assert_true(total > 0);
  assert_int_equal(fails, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_conformance),
  };
  return cmocka_run_group_tests_name("nn_conformance", tests, NULL, NULL);
}
