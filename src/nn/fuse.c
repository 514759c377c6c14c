/*
 * Graph rewrites that make the compiled model cheaper without changing what it
 * computes (up to float rounding):
 *   - MatMul by a constant 2-D matrix becomes Gemm (one fully-connected path);
 *   - BatchNormalization after Conv or Gemm is folded into the weights and bias;
 *   - Relu / Clip after an op that can clamp its own output becomes that op's
 *     fused activation (XNNPACK applies it for free in the kernel epilogue);
 *   - nodes whose outputs nobody reads are dropped.
 * A rewrite only happens when the intermediate tensor has a single consumer and
 * is not a graph output, and when the weights it edits are not shared.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"

static int only_consumer(const fg__graph *g, int t) { return g->t[t].n_consumers == 1 && !g->t[t].is_output; }

/* Per tensor, the first live node that reads it (-1 if none), built once per pass
 * so a pass stays linear in the graph's size. A pass's rewrites keep it valid for
 * the tensors it later asks about: a fused node takes over the fused-away node's
 * output, whose consumers do not change. */
static int *consumer_map(const fg__graph *g) {
  int *map = malloc(((size_t)g->n_t + 1) * sizeof *map);
  if (!map) return NULL;
  for (int i = 0; i < g->n_t; i++) map[i] = -1;
  for (int i = 0; i < g->n_nodes; i++) {
    if (g->nodes[i].dead) continue;
    for (int k = 0; k < g->nodes[i].n_in; k++) {
      int t = g->nodes[i].in[k];
      if (t >= 0 && map[t] < 0) map[t] = i;
    }
  }
  return map;
}

/* Give node n a constant bias input (index 2) of `len` zeros if it has none. */
static int ensure_bias(fg__graph *g, fg__node *n, int64_t len, fg_error *err) {
  if (n->n_in > 2 && n->in[2] >= 0) return FG_OK;
  char name[300];
  snprintf(name, sizeof name, "%s#bias%d", fg__node_label(n), g->n_t);
  int nodeidx = (int)(n - g->nodes);
  int ti = fg__graph_add_tensor(g, name, err);
  if (ti < 0) return ti;
  n = &g->nodes[nodeidx];
  fg__tensor *b = &g->t[ti];
  b->rank = 1;
  b->dims[0] = len;
  b->data = calloc((size_t)len, sizeof(float));
  b->n_consumers = 1;
  int *in = realloc(n->in, 3 * sizeof *in);
  if (in) n->in = in;
  if (!b->data || !in) return fg__seterr(err, FG_ENOMEM, "out of memory");
  if (n->n_in < 3) n->n_in = 3;
  n->in[2] = ti;
  return FG_OK;
}

/* The node keeps its op_type ("MatMul") for messages; its params are
 * already Gemm's defaults (no transposes, alpha = beta = 1). */
static void matmul_to_gemm(fg__graph *g, fg__node *n) {
  if (n->op != FG__OP_MATMUL || n->n_in != 2) return;
  const fg__tensor *a = &g->t[n->in[0]], *b = &g->t[n->in[1]];
  if (a->rank != 2 || b->rank != 2 || !b->data) return;
  n->op = FG__OP_GEMM;
}

static int fold_bn(fg__graph *g, const int *cons, int ni, fg_error *err) {
  fg__node *n = &g->nodes[ni];
  int is_conv = n->op == FG__OP_CONV, is_gemm = n->op == FG__OP_GEMM;
  if (!is_conv && !is_gemm) return FG_OK;
  int y = n->out[0];
  if (!only_consumer(g, y)) return FG_OK;
  int bi = cons[y];
  if (bi < 0 || g->nodes[bi].op != FG__OP_BATCHNORM || g->nodes[bi].in[0] != y) return FG_OK;
  fg__tensor *w = &g->t[n->in[1]];
  if (!w->data || w->n_consumers != 1) return FG_OK;
  int transb = 0;
  if (is_gemm) {
    if (n->p.trans_a || n->p.alpha != 1.f || n->p.beta != 1.f) return FG_OK;
    transb = n->p.trans_b;
  }
  int64_t M = is_conv ? w->dims[0] : (transb ? w->dims[0] : w->dims[1]);
  if (n->n_in > 2 && n->in[2] >= 0) {
    fg__tensor *b = &g->t[n->in[2]];
    if (!b->data || b->n_consumers != 1 || fg__tensor_count(b) != (size_t)M) return FG_OK;
  }
  int rc = ensure_bias(g, n, M, err);
  if (rc) return rc;
  n = &g->nodes[ni];
  fg__node *bn = &g->nodes[bi];
  w = &g->t[n->in[1]];
  float *W = w->data, *B = g->t[n->in[2]].data;
  const float *s = g->t[bn->in[1]].data, *beta = g->t[bn->in[2]].data, *mean = g->t[bn->in[3]].data,
              *var = g->t[bn->in[4]].data;
  float eps = bn->p.eps;
  size_t per = fg__tensor_count(w) / (size_t)M;
  for (int64_t m = 0; m < M; m++) {
    float sc = s[m] / sqrtf(var[m] + eps);
    if (is_conv || transb) for (size_t i = 0; i < per; i++) W[(size_t)m * per + i] *= sc;
    else for (size_t i = 0; i < per; i++) W[i * (size_t)M + (size_t)m] *= sc;
    B[m] = (B[m] - mean[m]) * sc + beta[m];
  }
  /* The conv now writes the BN's output directly. */
  g->t[bn->out[0]].producer = ni;
  n->out[0] = bn->out[0];
  g->t[y].n_consumers = 0;
  bn->dead = 1;
  return FG_OK;
}

static int can_clamp(int op) {
  switch (op) {
  case FG__OP_CONV: case FG__OP_GEMM: case FG__OP_ADD: case FG__OP_SUB: case FG__OP_MUL: case FG__OP_DIV:
  case FG__OP_GLOBALAVGPOOL: case FG__OP_AVGPOOL: case FG__OP_MAXPOOL: return 1;
  default: return 0;
  }
}

static void fuse_act(fg__graph *g, const int *cons, int ni) {
  fg__node *n = &g->nodes[ni];
  if (!can_clamp(n->op) || n->n_out != 1) return;
  int y = n->out[0];
  if (!only_consumer(g, y)) return;
  int ai = cons[y];
  if (ai < 0 || g->nodes[ai].in[0] != y) return;
  fg__node *a = &g->nodes[ai];
  float lo, hi;
  if (a->op == FG__OP_RELU) { lo = 0; hi = INFINITY; }
  else if (a->op == FG__OP_CLIP) { lo = a->p.lo; hi = a->p.hi; }
  else return;
  n->act.lo = fmaxf(n->act.lo, lo);
  n->act.hi = fminf(n->act.hi, hi);
  g->t[a->out[0]].producer = ni;
  n->out[0] = a->out[0];
  g->t[y].n_consumers = 0;
  a->dead = 1;
}

/* Drop nodes whose outputs nobody reads (and that are not graph outputs), last to
 * first so whole dead branches go. Besides saving work, this keeps dangling
 * values out of the XNNPACK subgraphs: XNNPACK (2022-02) aborts on an assertion
 * when a max-pooling node's output is an unused internal value. */
static void drop_unused(fg__graph *g) {
  fg__graph_count_uses(g);
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    fg__node *n = &g->nodes[i];
    if (n->dead) continue;
    int used = 0;
    for (int k = 0; k < n->n_out; k++) used |= g->t[n->out[k]].n_consumers > 0;
    if (used) continue;
    n->dead = 1;
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] >= 0) g->t[n->in[k]].n_consumers--;
  }
}

int fg__graph_fuse(fg__graph *g, fg_error *err) {
  for (int i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i].dead) matmul_to_gemm(g, &g->nodes[i]);
  fg__graph_count_uses(g);
  int *cons = consumer_map(g);
  if (!cons) return fg__seterr(err, FG_ENOMEM, "out of memory");
  for (int i = 0; i < g->n_nodes; i++) {
    if (g->nodes[i].dead) continue;
    int rc = fold_bn(g, cons, i, err);
    if (rc) { free(cons); return rc; }
  }
  free(cons);
  fg__graph_count_uses(g);
  if (!(cons = consumer_map(g))) return fg__seterr(err, FG_ENOMEM, "out of memory");
  for (int i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i].dead) fuse_act(g, cons, i);
  free(cons);
  drop_unused(g);
  fg__graph_count_uses(g);
  return FG_OK;
}
