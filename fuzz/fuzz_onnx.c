/*
 * libFuzzer target for ONNX model loading (protobuf decode, graph checks, shape
 * inference, constant folding, fusion). Limits are small (max_total_bytes
 * 64 MiB) so that any allocation a file can cause stays far below libFuzzer's
 * 2 GB; a model that loads is compiled for the reference backend and run once
 * on zeros when its inputs are small (< 1e5 elements in all) and one run is
 * cheap (the estimate below, < 2e7 multiply-adds or element moves), so the
 * C kernels are fuzzed too. With FG_FUZZ_XNNPACK=1 in the environment it also
 * builds and runs an XNNPACK session (src/nn/session.c and XNNPACK itself).
 *
 *     make fuzz && scripts/fuzz-run 300          # seeds: the models, truncations,
 *                                                # libonnx-testdata node models
 *
 * Each crash, once fixed, goes to tests/fixtures/onnx-regress/fuzz-*, which
 * tests/test_nn_hostile.c re-runs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "facegate/nn.h"
#include "nn/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Work of one run, roughly: output elements times the work per element. */
static double run_cost(const fg_model *m) {
  const fg__graph *g = &m->g;
  double cost = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const fg__node *n = &g->nodes[i];
    if (n->dead) continue;
    const fg__tensor *o = &g->t[n->out[0]], *x = &g->t[n->in[0]];
    double out = (double)fg__tensor_count(o), per = 1;
    if (n->op == FG__OP_CONV) {
      const fg__tensor *w = &g->t[n->in[1]];
      per = (double)w->dims[1] * (double)w->dims[2] * (double)w->dims[3];
    } else if (n->op == FG__OP_GEMM || n->op == FG__OP_MATMUL) {
      per = (double)x->dims[x->rank - 1] + (x->rank > 1 ? (double)x->dims[x->rank - 2] : 0); /* >= K */
    } else if (n->op == FG__OP_MAXPOOL || n->op == FG__OP_AVGPOOL || n->op == FG__OP_GLOBALAVGPOOL ||
               n->op == FG__OP_SOFTMAX) {
      per = (double)fg__tensor_count(x) / (out > 0 ? out : 1);
      if (n->op != FG__OP_GLOBALAVGPOOL && n->op != FG__OP_SOFTMAX) {
        for (int a = 0; a < n->n_attrs; a++)
          if (!strcmp(n->attrs[a].name, "kernel_shape") && n->attrs[a].n == 2)
            per = (double)n->attrs[a].ints[0] * (double)n->attrs[a].ints[1];
      }
    } else {
      for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0) per += (double)fg__tensor_count(&g->t[n->in[k]]) / (out > 0 ? out : 1);
    }
    cost += out * per + 1;
  }
  return cost;
}

static void run_once(const fg_model *m, int backend, size_t total) {
  fg_session *s;
  fg_error e;
  fg_session_options so = {.threads = 1, .backend = backend};
  if (fg_session_create(m, &so, &s, &e)) return;
  size_t ni = fg_model_input_count(m), no = fg_model_output_count(m);
  const float **in = calloc(ni + 1, sizeof *in);
  float **out = calloc(no + 1, sizeof *out);
  float *zeros = calloc(total + 1, sizeof *zeros);
  if (in && out && zeros) {
    size_t off = 0;
    for (size_t i = 0; i < ni; i++) {
      in[i] = zeros + off;
      off += fg_model_input(m, i)->count;
    }
    int ok = 1;
    for (size_t o = 0; o < no; o++)
      if (!(out[o] = malloc(fg_model_output(m, o)->count * sizeof(float) + 1))) ok = 0;
    if (ok) (void)fg_session_run(s, in, out, &e);
    for (size_t o = 0; o < no; o++) free(out[o]);
  }
  free(zeros);
  free(out);
  free(in);
  fg_session_destroy(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int xnn = -1;
  if (xnn < 0) {
    const char *v = getenv("FG_FUZZ_XNNPACK");
    xnn = v && *v == '1';
  }
  fg_model_options mo = {.max_total_bytes = (size_t)64 << 20};
  fg_model *m;
  fg_error e;
  if (fg_model_load_memory(data, size, &mo, &m, &e) != FG_OK) {
    if (m || e.code >= 0 || !e.msg[0]) abort(); /* an error must come with a code and a message */
    return 0;
  }
  size_t total = 0;
  for (size_t i = 0; i < fg_model_input_count(m); i++) total += fg_model_input(m, i)->count;
  if (total < 100000 && run_cost(m) < 2e7) {
    run_once(m, FG_BACKEND_REFERENCE, total);
    if (xnn) run_once(m, FG_BACKEND_XNNPACK, total);
  }
  fg_model_destroy(m);
  return 0;
}
