/*
 * The XNNPACK backend (and the reference backend): turns a prepared graph into
 * a list of steps and runs them.
 *
 * Steps are XNNPACK segments (maximal groups of nodes XNNPACK can run, compiled
 * once into one xnn_runtime each), single nodes run by the C kernels, and layout
 * conversions between them: inside XNNPACK a 4-D tensor lives as NHWC, the C
 * kernels and the caller see ONNX's NCHW. Two layout-aware C steps avoid
 * conversions the detector would otherwise pay for: a channel Concat of NHWC
 * inputs stays NHWC, and Transpose(0,2,3,1) of an NHWC tensor is a plain copy.
 *
 * The reference backend is the same machinery with XNNPACK switched off: every
 * node is a C step. Buffers are allocated once per session, so XNNPACK runtimes
 * are set up once and each run is just "copy in, invoke steps, copy out".
 *
 * With more than one thread every segment is compiled twice, once on the
 * session's thread pool and once on the caller's thread alone: the session
 * (model.c, adapt.c) runs whichever is faster at the moment, which on a busy
 * machine is the single-threaded one.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <pthreadpool.h>
#include <xnnpack.h>

#include "nn/model.h"

/* ST_ALIAS: a reshape-like node whose output is its input's NCHW bytes;
 * ST_T0231_NHWC: Transpose(0,2,3,1) whose output is its input's NHWC bytes.
 * Both cost nothing at run time: the output buffer is the input buffer. */
enum { ST_C, ST_XNN, ST_TO_NHWC, ST_TO_NCHW, ST_T0231_NHWC, ST_CONCAT_NHWC, ST_ALIAS };

typedef struct step { int kind, node, tensor; xnn_runtime_t rt[2]; /* [0] caller's thread, [1] pool */ } step;

typedef struct xsession xsession;
struct xsession {
  const fg_model *m;
  const fg__graph *g;
  float **nchw, **nhwc;   /* per tensor: buffer in each layout (NULL when not needed) */
  char *made;             /* per tensor, at plan time: 1 = NCHW exists, 2 = NHWC exists */
  step *steps;
  int n_steps, cap_steps;
  char *direct;           /* per graph input: the caller's buffer is read in place */
  void **owned;           /* repacked weights and our buffers, freed with the session */
  int n_owned, cap_owned;
  pthreadpool_t pool;
};

/* ---------------------------------------------------------------- utilities */

static void *own(xsession *s, size_t bytes) {
  if (s->n_owned == s->cap_owned) {
    int cap = s->cap_owned ? s->cap_owned * 2 : 64;
    void **o = realloc(s->owned, (size_t)cap * sizeof *o);
    if (!o) return NULL;
    s->owned = o;
    s->cap_owned = cap;
  }
  void *p = calloc(1, bytes ? bytes : 1);
  if (p) s->owned[s->n_owned++] = p;
  return p;
}

static int add_step(xsession *s, int kind, int node, int tensor) {
  if (s->n_steps == s->cap_steps) {
    int cap = s->cap_steps ? s->cap_steps * 2 : 64;
    step *st = realloc(s->steps, (size_t)cap * sizeof *st);
    if (!st) return FG_ENOMEM;
    s->steps = st;
    s->cap_steps = cap;
  }
  s->steps[s->n_steps++] = (step){kind, node, tensor, {NULL, NULL}};
  return FG_OK;
}

static int is4(const fg__tensor *t) { return t->rank == 4; }

/* NCHW and NHWC are the same bytes when H=W=1 or C=1, or when not 4-D. */
static int layout_trivial(const fg__tensor *t) {
  return !is4(t) || (t->dims[2] == 1 && t->dims[3] == 1) || t->dims[1] == 1;
}

static void nchw_to_nhwc(const float *src, float *dst, const int64_t *d) {
  size_t N = (size_t)d[0], C = (size_t)d[1], HW = (size_t)(d[2] * d[3]);
  for (size_t n = 0; n < N; n++)
    for (size_t c = 0; c < C; c++)
      for (size_t i = 0; i < HW; i++) dst[(n * HW + i) * C + c] = src[(n * C + c) * HW + i];
}

static void nhwc_to_nchw(const float *src, float *dst, const int64_t *d) {
  size_t N = (size_t)d[0], C = (size_t)d[1], HW = (size_t)(d[2] * d[3]);
  for (size_t n = 0; n < N; n++)
    for (size_t i = 0; i < HW; i++)
      for (size_t c = 0; c < C; c++) dst[(n * C + c) * HW + i] = src[(n * HW + i) * C + c];
}

static size_t tbytes(const fg__tensor *t) { return fg__tensor_count(t) * fg__dtype_size(t->dtype); }

/* ------------------------------------------------------- what XNNPACK runs */

static int const_scalar(const fg__tensor *t) { return t->data && fg__tensor_count(t) == 1; }

static int xnn_can(const fg__graph *g, fg__node *n) {
  int op = n->op;
  const fg__tensor *x = &g->t[n->in[0]], *o = &g->t[n->out[0]];
  if (x->dtype != FG__DT_FLOAT || o->dtype != FG__DT_FLOAT) return 0;
  if (op == FG__OP_CONV) {
    const fg__tensor *w = &g->t[n->in[1]];
    return w->data && (n->n_in < 3 || n->in[2] < 0 || g->t[n->in[2]].data);
  }
  if (op == FG__OP_GEMM) {
    const fg__tensor *b = &g->t[n->in[1]];
    if (n->p.trans_a || n->p.alpha != 1.f || n->p.beta != 1.f) return 0;
    if (!b->data || x->rank != 2) return 0;
    if (n->n_in > 2 && n->in[2] >= 0) {
      const fg__tensor *c = &g->t[n->in[2]];
      if (!c->data || fg__tensor_count(c) != (size_t)o->dims[1] || (c->rank == 2 && c->dims[0] != 1)) return 0;
    }
    return 1;
  }
  if (op == FG__OP_ADD || op == FG__OP_SUB || op == FG__OP_MUL || op == FG__OP_DIV) {
    for (int i = 0; i < 2; i++) {
      const fg__tensor *t = &g->t[n->in[i]];
      if (const_scalar(t)) continue;
      if (is4(o) ? t->rank != 4 : t->rank == 4) return 0;
      if (t->rank > 6) return 0;
    }
    return 1;
  }
  if (op == FG__OP_PRELU) {
    /* XNNPACK's slope is per channel: accept only slopes that broadcast along the
     * channel axis alone ([C,1,1] or [1,C,1,1] on 4-D, [C] or [1,C] on 2-D). */
    const fg__tensor *sl = &g->t[n->in[1]];
    if (!sl->data || !(is4(x) || x->rank == 2) || sl->rank > x->rank) return 0;
    for (int i = 0; i < sl->rank; i++) {
      int axis = x->rank - sl->rank + i;
      if (sl->dims[i] != (axis == 1 ? x->dims[1] : 1)) return 0;
    }
    return sl->rank >= x->rank - 1;
  }
  if (op == FG__OP_RELU || op == FG__OP_CLIP || op == FG__OP_SIGMOID) return 1;
  if (op == FG__OP_SOFTMAX) return x->rank == 2 && n->p.axis == 1;
  if (op == FG__OP_GLOBALAVGPOOL) return 1;
  if (op == FG__OP_MAXPOOL || op == FG__OP_AVGPOOL) {
    const fg__pool_geom *geo = &n->p.geo;
    if (op == FG__OP_AVGPOOL && (geo->pt || geo->pl || geo->pb || geo->pr || geo->dh != 1 || geo->dw != 1)) return 0;
    return 1;
  }
  if (fg__op_is_reshape(op))
    return layout_trivial(x) && layout_trivial(o) && o->rank <= 6 && x->rank <= 6;
  return 0;
}

/* Which physical layout a step wants for input k of node n. */
static int want_nhwc(const fg__tensor *t) { return is4(t) && !layout_trivial(t); }

/* Make tensor ti available in the requested layout, inserting a conversion. */
static int need(xsession *s, int ti, int nhwc) {
  const fg__tensor *t = &s->g->t[ti];
  if (!is4(t) || layout_trivial(t)) {
    /* one buffer serves both layouts */
    return FG_OK;
  }
  int bit = nhwc ? 2 : 1;
  if (s->made[ti] & bit) return FG_OK;
  if (!nhwc && !s->nchw[ti] && !(s->nchw[ti] = own(s, tbytes(t)))) return FG_ENOMEM;
  if (nhwc && !s->nhwc[ti] && !(s->nhwc[ti] = own(s, tbytes(t)))) return FG_ENOMEM;
  s->made[ti] |= (char)bit;
  return add_step(s, nhwc ? ST_TO_NHWC : ST_TO_NCHW, -1, ti);
}

/* Buffer for a produced tensor in the given layout. */
static int produce(xsession *s, int ti, int nhwc) {
  const fg__tensor *t = &s->g->t[ti];
  if (!is4(t) || layout_trivial(t)) {
    if (!s->nchw[ti] && !(s->nchw[ti] = own(s, tbytes(t)))) return FG_ENOMEM;
    s->nhwc[ti] = s->nchw[ti];
    s->made[ti] = 3;
    return FG_OK;
  }
  float **slot = nhwc ? &s->nhwc[ti] : &s->nchw[ti];
  if (!*slot && !(*slot = own(s, tbytes(t)))) return FG_ENOMEM;
  s->made[ti] = nhwc ? 2 : 1;
  return FG_OK;
}

/* ------------------------------------------------------------ XNNPACK build */

typedef struct seg_ctx {
  xsession *s;
  xnn_subgraph_t sg;
  uint32_t *vid;      /* per tensor value id in this subgraph, XNN_INVALID_VALUE_ID if none */
  int *seg_of;        /* per node: segment number, -1 for C nodes */
  int seg;
  uint32_t next_ext;
  const char *used_outside; /* per tensor: read by a node of another step */
} seg_ctx;

static void phys_dims(const fg__tensor *t, size_t *d, size_t *r) {
  if (t->rank == 0) { d[0] = 1; *r = 1; return; }
  if (is4(t)) { d[0] = (size_t)t->dims[0]; d[1] = (size_t)t->dims[2]; d[2] = (size_t)t->dims[3]; d[3] = (size_t)t->dims[1]; *r = 4; return; }
  for (int i = 0; i < t->rank; i++) d[i] = (size_t)t->dims[i];
  *r = (size_t)t->rank;
}

static int define_static(seg_ctx *c, size_t rank, const size_t *dims, const float *data, uint32_t *id) {
  return xnn_define_tensor_value(c->sg, xnn_datatype_fp32, rank, dims, data, XNN_INVALID_VALUE_ID, 0, id) == xnn_status_success ? FG_OK : FG_EBACKEND;
}

/* Value id for an activation (or constant operand) used inside the segment. */
static int value(seg_ctx *c, int ti, int out_rank, uint32_t *id) {
  xsession *s = c->s;
  const fg__graph *g = s->g;
  const fg__tensor *t = &g->t[ti];
  if (c->vid[ti] != XNN_INVALID_VALUE_ID) { *id = c->vid[ti]; return FG_OK; }
  size_t d[FG__MAX_RANK], r;
  if (t->data) { /* constant operand of an elementwise op */
    if (fg__tensor_count(t) == 1) {
      for (int i = 0; i < out_rank; i++) d[i] = 1;
      return define_static(c, (size_t)(out_rank ? out_rank : 1), d, t->data, id);
    }
    phys_dims(t, d, &r);
    const float *data = t->data;
    if (is4(t) && !layout_trivial(t)) {
      float *p = own(s, tbytes(t));
      if (!p) return FG_ENOMEM;
      nchw_to_nhwc(t->data, p, t->dims);
      data = p;
    }
    int rc = define_static(c, r, d, data, id);
    if (!rc) c->vid[ti] = *id;
    return rc;
  }
  /* produced outside this segment → external input */
  phys_dims(t, d, &r);
  uint32_t ext = c->next_ext++;
  if (xnn_define_tensor_value(c->sg, xnn_datatype_fp32, r, d, NULL, ext, XNN_VALUE_FLAG_EXTERNAL_INPUT, id) != xnn_status_success)
    return FG_EBACKEND;
  c->vid[ti] = *id;
  return FG_OK;
}

/* Value id for a node output: external if used outside the segment. */
static int out_value(seg_ctx *c, int ti, uint32_t *id) {
  xsession *s = c->s;
  const fg__graph *g = s->g;
  const fg__tensor *t = &g->t[ti];
  int external = t->is_output || c->used_outside[ti];
  size_t d[FG__MAX_RANK], r;
  phys_dims(t, d, &r);
  uint32_t ext = external ? c->next_ext++ : XNN_INVALID_VALUE_ID;
  if (xnn_define_tensor_value(c->sg, xnn_datatype_fp32, r, d, NULL, ext, external ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT : 0, id) != xnn_status_success)
    return FG_EBACKEND;
  c->vid[ti] = *id;
  if (external) return produce(s, ti, 1);
  return FG_OK;
}

static int define_node(seg_ctx *c, fg__node *n, fg_error *err) {
  xsession *s = c->s;
  const fg__graph *g = s->g;
  int op = n->op;
  const fg__tensor *x = &g->t[n->in[0]], *o = &g->t[n->out[0]];
  float lo = n->act.lo, hi = n->act.hi;
  uint32_t in, out, w = XNN_INVALID_VALUE_ID, b = XNN_INVALID_VALUE_ID;
  enum xnn_status st = xnn_status_success;
  int rc;
  if ((rc = value(c, n->in[0], o->rank, &in))) goto fail;
  if (op == FG__OP_CONV) {
    const fg__tensor *wt = &g->t[n->in[1]];
    const fg__pool_geom geo = n->p.geo;
    size_t M = (size_t)wt->dims[0], cpg = (size_t)wt->dims[1], kh = (size_t)geo.kh, kw = (size_t)geo.kw;
    size_t C = (size_t)x->dims[1], groups = C / cpg;
    const float *W = wt->data;
    float *P = own(s, tbytes(wt));
    if (!P) { rc = FG_ENOMEM; goto fail; }
    int dw = groups == C && cpg == 1 && groups > 1;
    if (dw) {
      for (size_t m = 0; m < M; m++)
        for (size_t i = 0; i < kh * kw; i++) P[i * M + m] = W[m * kh * kw + i];
      size_t d[4] = {1, kh, kw, M};
      rc = define_static(c, 4, d, P, &w);
    } else {
      for (size_t m = 0; m < M; m++)
        for (size_t ci = 0; ci < cpg; ci++)
          for (size_t i = 0; i < kh * kw; i++) P[(m * kh * kw + i) * cpg + ci] = W[(m * cpg + ci) * kh * kw + i];
      size_t d[4] = {M, kh, kw, cpg};
      rc = define_static(c, 4, d, P, &w);
    }
    if (!rc && n->n_in > 2 && n->in[2] >= 0) {
      size_t d[1] = {M};
      rc = define_static(c, 1, d, g->t[n->in[2]].data, &b);
    }
    if (!rc) rc = out_value(c, n->out[0], &out);
    if (rc) goto fail;
    if (dw)
      st = xnn_define_depthwise_convolution_2d(c->sg, geo.pt, geo.pr, geo.pb, geo.pl, geo.kh, geo.kw, geo.sh, geo.sw,
                                               geo.dh, geo.dw, (uint32_t)(M / C), C, lo, hi, in, w, b, out, 0);
    else
      st = xnn_define_convolution_2d(c->sg, geo.pt, geo.pr, geo.pb, geo.pl, geo.kh, geo.kw, geo.sh, geo.sw, geo.dh,
                                     geo.dw, (uint32_t)groups, cpg, M / groups, lo, hi, in, w, b, out, 0);
  } else if (op == FG__OP_GEMM) {
    const fg__tensor *bt = &g->t[n->in[1]];
    int tb = n->p.trans_b;
    size_t K = (size_t)x->dims[1], N = (size_t)o->dims[1];
    const float *B = bt->data;
    float *P = own(s, tbytes(bt));
    if (!P) { rc = FG_ENOMEM; goto fail; }
    for (size_t j = 0; j < N; j++)
      for (size_t p = 0; p < K; p++) P[j * K + p] = tb ? B[j * K + p] : B[p * N + j];
    size_t d[2] = {N, K};
    rc = define_static(c, 2, d, P, &w);
    if (!rc && n->n_in > 2 && n->in[2] >= 0) {
      size_t d1[1] = {N};
      rc = define_static(c, 1, d1, g->t[n->in[2]].data, &b);
    }
    if (!rc) rc = out_value(c, n->out[0], &out);
    if (rc) goto fail;
    st = xnn_define_fully_connected(c->sg, lo, hi, in, w, b, out, 0);
  } else if (op == FG__OP_ADD || op == FG__OP_SUB || op == FG__OP_MUL || op == FG__OP_DIV) {
    uint32_t in2;
    if ((rc = value(c, n->in[1], o->rank, &in2)) || (rc = out_value(c, n->out[0], &out))) goto fail;
    if (op == FG__OP_ADD) st = xnn_define_add2(c->sg, lo, hi, in, in2, out, 0);
    else if (op == FG__OP_SUB) st = xnn_define_subtract(c->sg, lo, hi, in, in2, out, 0);
    else if (op == FG__OP_MUL) st = xnn_define_multiply2(c->sg, lo, hi, in, in2, out, 0);
    else st = xnn_define_divide(c->sg, lo, hi, in, in2, out, 0);
  } else if (op == FG__OP_PRELU) {
    size_t d[1] = {(size_t)x->dims[1]};
    if ((rc = define_static(c, 1, d, g->t[n->in[1]].data, &w)) || (rc = out_value(c, n->out[0], &out))) goto fail;
    st = xnn_define_prelu(c->sg, in, w, out, 0);
  } else if (op == FG__OP_RELU || op == FG__OP_CLIP) {
    float l = 0, h = INFINITY;
    if (op == FG__OP_CLIP) { l = n->p.lo; h = n->p.hi; }
    if ((rc = out_value(c, n->out[0], &out))) goto fail;
    st = xnn_define_clamp(c->sg, fmaxf(l, lo), fminf(h, hi), in, out, 0);
  } else if (op == FG__OP_SIGMOID) {
    if ((rc = out_value(c, n->out[0], &out))) goto fail;
    st = xnn_define_sigmoid(c->sg, in, out, 0);
  } else if (op == FG__OP_SOFTMAX) {
    if ((rc = out_value(c, n->out[0], &out))) goto fail;
    st = xnn_define_softmax(c->sg, in, out, 0);
  } else if (op == FG__OP_GLOBALAVGPOOL) {
    if ((rc = out_value(c, n->out[0], &out))) goto fail;
    st = xnn_define_global_average_pooling_2d(c->sg, lo, hi, in, out, 0);
  } else if (op == FG__OP_MAXPOOL || op == FG__OP_AVGPOOL) {
    const fg__pool_geom geo = n->p.geo;
    if ((rc = out_value(c, n->out[0], &out))) goto fail;
    if (op == FG__OP_MAXPOOL)
      st = xnn_define_max_pooling_2d(c->sg, geo.pt, geo.pr, geo.pb, geo.pl, geo.kh, geo.kw, geo.sh, geo.sw, geo.dh, geo.dw, lo, hi, in, out, 0);
    else
      st = xnn_define_average_pooling_2d(c->sg, 0, 0, 0, 0, geo.kh, geo.kw, geo.sh, geo.sw, lo, hi, in, out, 0);
  } else { /* reshape family: layout-trivial by construction */
    size_t d[FG__MAX_RANK], r;
    phys_dims(o, d, &r);
    if ((rc = out_value(c, n->out[0], &out))) goto fail;
    st = xnn_define_static_reshape(c->sg, r, d, in, out, 0);
  }
  if (st != xnn_status_success)
    return fg__seterr(err, FG_EBACKEND, "node '%s' (%s): XNNPACK refused the node (status %d)", fg__node_label(n), n->op_type, (int)st);
  return FG_OK;
fail:
  return fg__seterr(err, rc, "node '%s' (%s): %s", fg__node_label(n), n->op_type, fg_strerror(rc));
}

static int build_segment(xsession *s, int segno, int *seg_of, uint32_t *vid, step *stp, fg_error *err) {
  const fg__graph *g = s->g;
  char *used_outside = calloc((size_t)g->n_t + 1, 1);
  if (!used_outside) return fg__seterr(err, FG_ENOMEM, "out of memory");
  for (int i = 0; i < g->n_nodes; i++) {
    if (g->nodes[i].dead || seg_of[i] == segno) continue;
    for (int k = 0; k < g->nodes[i].n_in; k++)
      if (g->nodes[i].in[k] >= 0) used_outside[g->nodes[i].in[k]] = 1;
  }
  seg_ctx c = {s, NULL, vid, seg_of, segno, 0, used_outside};
  for (int i = 0; i < g->n_t; i++) vid[i] = XNN_INVALID_VALUE_ID;
  /* Count external values generously: at most every tensor. */
  if (xnn_create_subgraph((uint32_t)g->n_t, 0, &c.sg) != xnn_status_success) {
    free(used_outside);
    return fg__seterr(err, FG_EBACKEND, "XNNPACK could not create a subgraph");
  }
  int rc = FG_OK;
  for (int i = 0; i < g->n_nodes && !rc; i++)
    if (seg_of[i] == segno) rc = define_node(&c, &g->nodes[i], err);
  /* One runtime on the caller's thread, and one on the pool if there is one. */
  for (int w = 0; w < (s->pool ? 2 : 1) && !rc; w++) {
    xnn_runtime_t rt;
    enum xnn_status st = xnn_create_runtime_v2(c.sg, w ? s->pool : NULL, 0, &rt);
    if (st != xnn_status_success) rc = fg__seterr(err, FG_EBACKEND, "XNNPACK could not create a runtime (status %d)", (int)st);
    else {
      struct xnn_external_value *ev = calloc(c.next_ext + 1, sizeof *ev);
      uint32_t ne = 0;
      if (!ev) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
      /* Every external id belongs to a tensor whose vid equals it. */
      for (int t = 0; t < g->n_t && ev; t++)
        if (vid[t] < c.next_ext && !g->t[t].data) {
          float *buf = is4(&g->t[t]) ? s->nhwc[t] : s->nchw[t];
          ev[ne++] = (struct xnn_external_value){vid[t], buf};
        }
      if (!rc && xnn_setup_runtime(rt, ne, ev) != xnn_status_success)
        rc = fg__seterr(err, FG_EBACKEND, "XNNPACK could not set up the runtime");
      free(ev);
      if (rc) xnn_delete_runtime(rt);
      else stp->rt[w] = rt;
    }
  }
  xnn_delete_subgraph(c.sg);
  free(used_outside);
  return rc;
}

/* ---------------------------------------------------------------- planning */

static pthread_once_t xnn_once = PTHREAD_ONCE_INIT;
static enum xnn_status xnn_init_status;
static void xnn_init(void) { xnn_init_status = xnn_initialize(NULL); }

static void xnn_destroy(void *impl) {
  xsession *s = impl;
  if (!s) return;
  for (int i = 0; i < s->n_steps; i++)
    for (int w = 0; w < 2; w++)
      if (s->steps[i].rt[w]) xnn_delete_runtime(s->steps[i].rt[w]);
  for (int i = 0; i < s->n_owned; i++) free(s->owned[i]);
  if (s->pool) pthreadpool_destroy(s->pool);
  free(s->owned);
  free(s->steps);
  free(s->nchw);
  free(s->nhwc);
  free(s->made);
  free(s->direct);
  free(s);
}

static int ready(const fg__graph *g, int i, const char *avail) {
  const fg__node *n = &g->nodes[i];
  for (int k = 0; k < n->n_in; k++)
    if (n->in[k] >= 0 && !avail[n->in[k]]) return 0;
  return 1;
}

static int plan(xsession *s, int use_xnn, fg_error *err) {
  const fg__graph *g = s->g;
  int rc = FG_OK, nseg = 0;
  char *avail = calloc((size_t)g->n_t + 1, 1), *done = calloc((size_t)g->n_nodes + 1, 1);
  char *can = calloc((size_t)g->n_nodes + 1, 1);
  int *seg_of = malloc(((size_t)g->n_nodes + 1) * sizeof *seg_of);
  uint32_t *vid = malloc(((size_t)g->n_t + 1) * sizeof *vid);
  if (!avail || !done || !can || !seg_of || !vid) { rc = fg__seterr(err, FG_ENOMEM, "out of memory"); goto out; }
  for (int i = 0; i < g->n_t; i++) {
    const fg__tensor *t = &g->t[i];
    if (t->data) { avail[i] = 1; s->nchw[i] = s->nhwc[i] = t->data; s->made[i] = 3; }
  }
  for (int i = 0; i < g->n_inputs; i++) {
    int ti = g->inputs[i];
    avail[ti] = 1;
    if ((rc = produce(s, ti, 0))) goto nomem;
  }
  for (int i = 0; i < g->n_nodes; i++) {
    seg_of[i] = -1;
    done[i] = (char)g->nodes[i].dead;
    can[i] = (char)(use_xnn && !done[i] && xnn_can(g, &g->nodes[i]));
  }
  for (;;) {
    /* 1. the largest group of XNNPACK nodes runnable now */
    int any = 0, grew = 1;
    while (grew) {
      grew = 0;
      for (int i = 0; i < g->n_nodes; i++) {
        if (done[i] || !can[i] || !ready(g, i, avail)) continue;
        done[i] = 1;
        seg_of[i] = nseg;
        for (int k = 0; k < g->nodes[i].n_out; k++) {
          int ti = g->nodes[i].out[k];
          avail[ti] = 1;
          /* XNNPACK writes it as NHWC; buffers come when the segment is built */
          s->made[ti] = (char)(layout_trivial(&g->t[ti]) ? 3 : 2);
        }
        any = grew = 1;
      }
    }
    if (any) {
      /* inputs this segment takes from outside must exist in NHWC */
      for (int i = 0; i < g->n_nodes; i++) {
        if (seg_of[i] != nseg) continue;
        for (int k = 0; k < g->nodes[i].n_in; k++) {
          int ti = g->nodes[i].in[k];
          if (ti < 0 || g->t[ti].data) continue;
          int p = g->t[ti].producer;
          if (p >= 0 && seg_of[p] == nseg) continue;
          if ((rc = need(s, ti, want_nhwc(&g->t[ti])))) goto nomem;
        }
      }
      if ((rc = add_step(s, ST_XNN, nseg, -1))) goto nomem;
      nseg++;
      continue;
    }
    /* 2. otherwise one C node */
    int pick = -1;
    for (int i = 0; i < g->n_nodes && pick < 0; i++)
      if (!done[i] && ready(g, i, avail)) pick = i;
    if (pick < 0) break;
    fg__node *n = &g->nodes[pick];
    done[pick] = 1;
    const fg__tensor *x = &g->t[n->in[0]];
    const int64_t *perm = n->p.perm;
    int kind = ST_C;
    if (n->op == FG__OP_TRANSPOSE && is4(x) && (s->made[n->in[0]] & 2) && !(s->made[n->in[0]] & 1) &&
        perm[0] == 0 && perm[1] == 2 && perm[2] == 3 && perm[3] == 1)
      kind = ST_T0231_NHWC;
    if (n->op == FG__OP_CONCAT && is4(x) && n->p.axis == 1) {
      int all = 1;
      for (int k = 0; k < n->n_in; k++)
        if (!(s->made[n->in[k]] & 2) || g->t[n->in[k]].data) all = 0;
      if (all) kind = ST_CONCAT_NHWC;
    }
    if (kind == ST_C && n->n_out == 1 && !x->data && !g->t[n->out[0]].is_output &&
        fg__op_is_reshape(n->op))
      kind = ST_ALIAS;
    if (kind == ST_C || kind == ST_ALIAS)
      for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && (rc = need(s, n->in[k], 0))) goto nomem;
    for (int k = 0; k < n->n_out; k++) {
      int ti = n->out[k];
      avail[ti] = 1;
      if (kind == ST_ALIAS || (kind == ST_T0231_NHWC && !g->t[ti].is_output)) {
        s->made[ti] = (char)(layout_trivial(&g->t[ti]) ? 3 : 1); /* buffer assigned when steps are resolved */
        continue;
      }
      if ((rc = produce(s, ti, kind == ST_CONCAT_NHWC))) goto nomem;
    }
    if ((rc = add_step(s, kind, pick, -1))) goto nomem;
  }
  for (int i = 0; i < g->n_outputs; i++)
    if (!g->t[g->outputs[i]].data && (rc = need(s, g->outputs[i], 0))) goto nomem;
  /* Resolve aliases and compile segments in step order, so every buffer a
   * segment binds exists by the time it is built. */
  for (int i = 0; i < s->n_steps && !rc; i++) {
    step *st = &s->steps[i];
    if (st->kind == ST_XNN) rc = build_segment(s, st->node, seg_of, vid, st, err);
    if (st->kind == ST_ALIAS || (st->kind == ST_T0231_NHWC && !s->nchw[g->nodes[st->node].out[0]])) {
      const fg__node *n = &g->nodes[st->node];
      int in = n->in[0], o = n->out[0];
      s->nchw[o] = st->kind == ST_ALIAS ? s->nchw[in] : s->nhwc[in];
      if (layout_trivial(&g->t[o])) s->nhwc[o] = s->nchw[o];
      st->kind = ST_ALIAS; /* nothing left to do at run time */
    }
  }
  /* A graph input that only feeds NCHW→NHWC conversions is read in place. */
  for (int i = 0; i < g->n_inputs && !rc; i++) {
    int ti = g->inputs[i];
    s->direct[i] = (char)(!layout_trivial(&g->t[ti]) && !g->t[ti].is_output);
    for (int k = 0; k < s->n_steps; k++) {
      const step *st = &s->steps[k];
      if (st->kind != ST_C && st->kind != ST_ALIAS && st->kind != ST_CONCAT_NHWC && st->kind != ST_T0231_NHWC) continue;
      const fg__node *n = &g->nodes[st->node];
      for (int j = 0; j < n->n_in; j++)
        if (n->in[j] == ti) s->direct[i] = 0;
    }
  }
  goto out;
nomem:
  rc = fg__seterr(err, FG_ENOMEM, "out of memory planning the session");
out:
  free(avail);
  free(done);
  free(can);
  free(seg_of);
  free(vid);
  return rc;
}

static const fg__backend xnn_backend; /* below */

static int create(const fg_model *m, int use_xnn, int threads, fg_session **out, fg_error *err) {
  xsession *s = calloc(1, sizeof *s);
  if (!s) return fg__seterr(err, FG_ENOMEM, "out of memory");
  s->m = m;
  s->g = &m->g;
  size_t nt = (size_t)m->g.n_t + 1;
  s->nchw = calloc(nt, sizeof *s->nchw);
  s->nhwc = calloc(nt, sizeof *s->nhwc);
  s->made = calloc(nt, 1);
  s->direct = calloc((size_t)m->g.n_inputs + 1, 1);
  if (!s->nchw || !s->nhwc || !s->made || !s->direct) { xnn_destroy(s); return fg__seterr(err, FG_ENOMEM, "out of memory"); }
  if (use_xnn) {
    pthread_once(&xnn_once, xnn_init);
    if (xnn_init_status != xnn_status_success) {
      xnn_destroy(s);
      return fg__seterr(err, FG_EBACKEND, "XNNPACK failed to initialise (status %d): unsupported CPU?", (int)xnn_init_status);
    }
    if (threads > 1 && !(s->pool = pthreadpool_create((size_t)threads))) {
      xnn_destroy(s);
      return fg__seterr(err, FG_ENOMEM, "could not create a pool of %d threads", threads);
    }
  }
  int rc = plan(s, use_xnn, err);
  if (!rc) rc = fg__session_wrap(&xnn_backend, s, s->pool ? threads : 1, out, err);
  if (rc) xnn_destroy(s);
  return rc;
}

int fg__session_create_ref(const fg_model *m, fg_session **out, fg_error *err) { return create(m, 0, 1, out, err); }
int fg__session_create_xnn(const fg_model *m, int threads, fg_session **out, fg_error *err) {
  return create(m, 1, threads, out, err);
}

/* ---------------------------------------------------------------- running */

static void concat_nhwc(xsession *s, const fg__node *n) {
  const fg__graph *g = s->g;
  const fg__tensor *o = &g->t[n->out[0]];
  size_t pixels = (size_t)(o->dims[0] * o->dims[2] * o->dims[3]), OC = (size_t)o->dims[1], pos = 0;
  float *Y = s->nhwc[n->out[0]];
  for (int k = 0; k < n->n_in; k++) {
    size_t C = (size_t)g->t[n->in[k]].dims[1];
    const float *X = s->nhwc[n->in[k]];
    for (size_t p = 0; p < pixels; p++) memcpy(Y + p * OC + pos, X + p * C, C * sizeof(float));
    pos += C;
  }
}

static int xnn_run(void *impl, int wide, const float *const *inputs, float *const *outputs, fg_error *err) {
  xsession *s = impl;
  const fg__graph *g = s->g;
  for (int i = 0; i < g->n_inputs; i++) {
    if (!inputs || !inputs[i]) return fg__seterr(err, FG_EINVAL, "input %d is NULL", i);
    if (s->direct[i]) s->nchw[g->inputs[i]] = (float *)inputs[i]; /* only ever read */
    else memcpy(s->nchw[g->inputs[i]], inputs[i], tbytes(&g->t[g->inputs[i]]));
  }
  for (int i = 0; i < s->n_steps; i++) {
    const step *st = &s->steps[i];
    switch (st->kind) {
    case ST_XNN:
      if (xnn_invoke_runtime(st->rt[wide && st->rt[1]]) != xnn_status_success)
        return fg__seterr(err, FG_EBACKEND, "XNNPACK runtime failed");
      break;
    case ST_TO_NHWC: nchw_to_nhwc(s->nchw[st->tensor], s->nhwc[st->tensor], g->t[st->tensor].dims); break;
    case ST_TO_NCHW: nhwc_to_nchw(s->nhwc[st->tensor], s->nchw[st->tensor], g->t[st->tensor].dims); break;
    case ST_T0231_NHWC: { /* only when the output is a graph output */
      const fg__node *n = &g->nodes[st->node];
      memcpy(s->nchw[n->out[0]], s->nhwc[n->in[0]], tbytes(&g->t[n->in[0]]));
      break;
    }
    case ST_ALIAS: break;
    case ST_CONCAT_NHWC: concat_nhwc(s, &g->nodes[st->node]); break;
    default: {
      const fg__node *n = &g->nodes[st->node];
      const void *in[64];
      void *out[16];
      for (int k = 0; k < n->n_in; k++) in[k] = n->in[k] >= 0 ? s->nchw[n->in[k]] : NULL;
      for (int k = 0; k < n->n_out; k++) out[k] = s->nchw[n->out[k]];
      fg__kctx kc = {g, n, in, out};
      int rc = fg__kernel_run(&kc, err);
      if (rc) return rc;
    }
    }
  }
  for (int i = 0; i < g->n_outputs; i++) {
    if (!outputs || !outputs[i]) return fg__seterr(err, FG_EINVAL, "output %d is NULL", i);
    memcpy(outputs[i], s->nchw[g->outputs[i]], tbytes(&g->t[g->outputs[i]]));
  }
  return FG_OK;
}

static const fg__backend xnn_backend = {"xnnpack", xnn_run, NULL, xnn_destroy};
