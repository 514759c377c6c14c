/*
 * The oneDNN backend: each node of the prepared graph becomes one oneDNN
 * primitive (Debian's oneDNN 2.6, JIT kernels for AVX-512, VNNI and BF16), or
 * a C kernel (kernels.c) for the operators oneDNN does not run.
 *
 * How a node runs is a row of the table below, chosen by (operator, class):
 * a class is fp32, bf16 or int8 for oneDNN rows, and "ref" for the C kernels.
 * A session of a given precision gives each node the class of that precision
 * if the table has such a row for its operator and the row accepts the node,
 * else fp32 if it has an fp32 row, else ref. So a quantised operator is a row,
 * not a branch: adding int8 PRelu was adding {PRELU, X_I8}.
 *
 * Tensors live in one or more stored forms ("vars"): an element type (f32,
 * bf16, s8, u8 with a scale), and for 4-D tensors a layout, NCHW (what the C
 * kernels and the caller use) or NHWC (what oneDNN's kernels are fastest on).
 * A node asks for each input in the form its row wants; a form that does not
 * exist yet is made by a oneDNN reorder from the tensor's first form, which
 * converts layout, type and scale in one pass. Planning decides each
 * produced tensor's form from its consumers' classes (a convolution whose
 * readers are all int8 writes int8; one read by a C kernel writes f32).
 *
 * int8: weights are quantised per output channel (scale = max|w| / 127);
 * each activation has one scale per tensor from ranges recorded over a
 * calibration set (quant.c): max|x| / 127 (s8), or max / 255 (u8) for
 * tensors that cannot be negative (after a ReLU, a Clip at 0, a Sigmoid).
 * Operators that cannot change scale (pooling, PRelu, Concat, reshapes) share
 * one scale between inputs and output: tensors linked by them form a group
 * whose scale covers all of them.
 *
 * Buffers: every var gets a region of one arena, reused once the var is dead
 * (a linear scan over the steps), so the activations of a run stay small
 * enough for the caches.
 *
 * Threads: Debian's oneDNN runs on OpenMP (libgomp). Every primitive is
 * created twice when the session has threads, once with one thread (it then
 * never enters OpenMP) and once with the session's count; the session (adapt.c)
 * chooses per run. The caller's OpenMP thread count is restored after each
 * call.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "nn/model.h"

/* libgomp, which Debian's libdnnl is built on (no omp.h needed: clang lacks it). */
void omp_set_num_threads(int n);
int omp_get_max_threads(void);

enum { X_REF, X_F32, X_BF16, X_I8 };
static const char *const class_name[] = {"ref", "fp32", "bf16", "int8"};

/* ------------------------------------------------------------------ vars */

typedef struct var {
  int tensor;
  int dt;          /* FG__DT_FLOAT, FG__DT_BF16, FG__DT_INT8, FG__DT_UINT8 */
  int nhwc;        /* 4-D and stored NHWC */
  float scale;     /* int8: real value = scale * q */
  int alias;       /* -1, or the var whose storage this one is (reshapes) */
  size_t bytes, off; /* storage: size, offset in the arena */
  int first, last; /* steps that write it first and read it last */
  void *ext;       /* a graph input: the caller's buffer, set per run */
  dnnl_memory_t mem;
  dnnl_memory_desc_t md;
} var;

enum { DS_PRIM, DS_REF, DS_ALIAS };

typedef struct dstep {
  int kind, node;
  dnnl_primitive_t prim[2];   /* [0] one thread, [1] the session's threads (NULL: [0] serves) */
  dnnl_exec_arg_t args[12];
  int argvar[12];             /* the var behind each argument, -1 for memory the session owns */
  int nargs;
  int in[64], out[16];        /* DS_REF: vars of the C kernel's inputs and outputs */
  int n_in, n_out;
  char impl[40];              /* the kernel oneDNN chose, for fg_session_describe */
} dstep;

typedef struct dsession {
  const fg_model *m;
  const fg__graph *g;
  int threads, precision;
  int input_nhwc;             /* 4-D inputs come channels-last */
  dnnl_engine_t eng;
  dnnl_stream_t stream;
  var *v;
  int n_v, cap_v;
  int *first_var;             /* per tensor: its first var (-1 none) */
  int *next_var;              /* per var: the next var of the same tensor */
  dstep *steps;
  int n_steps, cap_steps;
  int *in_var, *out_var;      /* per graph input / output */
  char *arena;
  size_t arena_bytes;
  void **owned;               /* weights and constants, freed with the session */
  int n_owned, cap_owned;
  dnnl_memory_t *mems;        /* memory objects over owned data */
  int n_mems, cap_mems;
  /* planning */
  char *cls;                  /* per node: X_* */
  float *absmax;              /* per tensor: the int8 range (group-wide), 0 = none */
  char *nonneg;               /* per tensor: cannot be negative */
  int *group;                 /* per tensor: union-find parent for shared scales */
  int record_ok;              /* fp32 session in which every activation is a var */
  float *in_lo, *in_hi;       /* record_ok: each graph input's range in the last run */
} dsession;

static int ck(dnnl_status_t st, const char *what, fg_error *err) {
  if (st == dnnl_success) return FG_OK;
  if (st == dnnl_out_of_memory) return fg__seterr(err, FG_ENOMEM, "oneDNN: out of memory (%s)", what);
  return fg__seterr(err, FG_EBACKEND, "oneDNN: %s failed (status %d)", what, (int)st);
}

static void *own(dsession *s, size_t bytes) {
  if (s->n_owned == s->cap_owned) {
    int cap = s->cap_owned ? 2 * s->cap_owned : 64;
    void **o = realloc(s->owned, (size_t)cap * sizeof *o);
    if (!o) return NULL;
    s->owned = o;
    s->cap_owned = cap;
  }
  void *p = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
  if (p) {
    memset(p, 0, (bytes + 63) / 64 * 64 + 64);
    s->owned[s->n_owned++] = p;
  }
  return p;
}

static int keep_mem(dsession *s, dnnl_memory_t m) {
  if (s->n_mems == s->cap_mems) {
    int cap = s->cap_mems ? 2 * s->cap_mems : 64;
    dnnl_memory_t *o = realloc(s->mems, (size_t)cap * sizeof *o);
    if (!o) return FG_ENOMEM;
    s->mems = o;
    s->cap_mems = cap;
  }
  s->mems[s->n_mems++] = m;
  return FG_OK;
}

static dnnl_data_type_t ddt(int dt) {
  switch (dt) {
  case FG__DT_BF16: return dnnl_bf16;
  case FG__DT_INT8: return dnnl_s8;
  case FG__DT_UINT8: return dnnl_u8;
  case FG__DT_INT32: return dnnl_s32;
  default: return dnnl_f32;
  }
}

static int is4(const fg__tensor *t) { return t->rank == 4; }
/* NCHW and NHWC are the same bytes. */
static int layout_trivial(const fg__tensor *t) {
  return !is4(t) || (t->dims[2] == 1 && t->dims[3] == 1) || t->dims[1] == 1;
}

/* A memory descriptor for a tensor's shape in a layout and type. */
static int make_md(const fg__tensor *t, int dt, int nhwc, dnnl_memory_desc_t *md, fg_error *err) {
  dnnl_dims_t d;
  int r = t->rank ? t->rank : 1;
  if (r > 6) return fg__seterr(err, FG_EUNSUPPORTED, "oneDNN: tensor '%s' has rank %d", t->name, t->rank);
  for (int i = 0; i < r; i++) d[i] = t->rank ? t->dims[i] : 1;
  static const dnnl_format_tag_t plain[] = {dnnl_a, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd, dnnl_abcde, dnnl_abcdef};
  dnnl_format_tag_t tag = r == 4 && nhwc ? dnnl_acdb : plain[r];
  return ck(dnnl_memory_desc_init_by_tag(md, r, d, ddt(dt), tag), "memory descriptor", err);
}

static int add_var(dsession *s, int ti, int dt, int nhwc, float scale, fg_error *err) {
  if (s->n_v == s->cap_v) {
    int cap = s->cap_v ? 2 * s->cap_v : 128;
    var *v = realloc(s->v, (size_t)cap * sizeof *v);
    int *nx = realloc(s->next_var, (size_t)cap * sizeof *nx);
    if (nx) s->next_var = nx;
    if (!v || !nx) { if (v) s->v = v; return fg__seterr(err, FG_ENOMEM, "out of memory"); }
    s->v = v;
    s->cap_v = cap;
  }
  const fg__tensor *t = &s->g->t[ti];
  var *v = &s->v[s->n_v];
  memset(v, 0, sizeof *v);
  v->tensor = ti;
  v->dt = dt;
  v->nhwc = is4(t) && nhwc;
  v->scale = scale;
  v->alias = -1;
  v->first = s->n_steps;
  v->last = s->n_steps;
  v->bytes = fg__tensor_count(t) * fg__dtype_size(dt);
  int rc = make_md(t, dt, v->nhwc, &v->md, err);
  if (rc) return rc;
  /* append to the tensor's list */
  s->next_var[s->n_v] = -1;
  if (s->first_var[ti] < 0) s->first_var[ti] = s->n_v;
  else {
    int k = s->first_var[ti];
    while (s->next_var[k] >= 0) k = s->next_var[k];
    s->next_var[k] = s->n_v;
  }
  return s->n_v++;
}

static dstep *add_step(dsession *s, int kind, int node, fg_error *err) {
  if (s->n_steps == s->cap_steps) {
    int cap = s->cap_steps ? 2 * s->cap_steps : 64;
    dstep *st = realloc(s->steps, (size_t)cap * sizeof *st);
    if (!st) { fg__seterr(err, FG_ENOMEM, "out of memory"); return NULL; }
    s->steps = st;
    s->cap_steps = cap;
  }
  dstep *st = &s->steps[s->n_steps++];
  memset(st, 0, sizeof *st);
  st->kind = kind;
  st->node = node;
  return st;
}

/* Var vi (and the storage it aliases) is read by step `at`. */
static void use_at(dsession *s, int vi, int at) {
  while (vi >= 0) {
    if (s->v[vi].last < at) s->v[vi].last = at;
    vi = s->v[vi].alias;
  }
}

/* ------------------------------------------------------- primitive helpers */

/* Create a primitive from a descriptor twice: for one thread and for the
 * session's threads (the same descriptor, created under each thread count). */
typedef struct prim_pair {
  dnnl_primitive_desc_t pd[2];
} prim_pair;

static void pair_free(prim_pair *p) {
  for (int i = 0; i < 2; i++)
    if (p->pd[i]) dnnl_primitive_desc_destroy(p->pd[i]);
}

static int pair_create(dsession *s, const void *op_desc, const_dnnl_primitive_attr_t attr, prim_pair *p,
                       const char *what, fg_error *err) {
  int saved = omp_get_max_threads(), rc = FG_OK;
  memset(p, 0, sizeof *p);
  for (int w = 0; w < (s->threads > 1 ? 2 : 1) && !rc; w++) {
    omp_set_num_threads(w ? s->threads : 1);
    rc = ck(dnnl_primitive_desc_create(&p->pd[w], op_desc, attr, s->eng, NULL), what, err);
  }
  omp_set_num_threads(saved);
  if (rc) pair_free(p);
  return rc;
}

/* The implementation oneDNN picked ("brgconv:avx512_core_vnni", "ref:any"...). */
static const char *impl_of(const_dnnl_primitive_desc_t pd) {
  const char *info = "?";
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info) != dnnl_success) return "?";
  return info;
}

/* oneDNN's first implementation for a descriptor is not always its fastest.
 * Where one was measured faster (docs/engine.md, "The detector"), take it
 * instead when oneDNN offers it for this descriptor: the same operation, in
 * another kernel (fp32 results differ only in summation order). p keeps its
 * first choice otherwise. */
static void pair_prefer(dsession *s, const void *op_desc, const_dnnl_primitive_attr_t attr, prim_pair *p,
                        const char *prefix) {
  if (!prefix) return;
  int saved = omp_get_max_threads();
  for (int w = 0; w < 2; w++) {
    if (!p->pd[w] || !strncmp(impl_of(p->pd[w]), prefix, strlen(prefix))) continue;
    omp_set_num_threads(w ? s->threads : 1);
    dnnl_primitive_desc_iterator_t it;
    if (dnnl_primitive_desc_iterator_create(&it, op_desc, attr, s->eng, NULL) != dnnl_success) continue;
    do {
      dnnl_primitive_desc_t pd = dnnl_primitive_desc_iterator_fetch(it);
      if (!pd) break;
      if (!strncmp(impl_of(pd), prefix, strlen(prefix))) {
        dnnl_primitive_desc_destroy(p->pd[w]);
        p->pd[w] = pd;
        break;
      }
      dnnl_primitive_desc_destroy(pd);
    } while (dnnl_primitive_desc_iterator_next(it) == dnnl_success);
    dnnl_primitive_desc_iterator_destroy(it);
  }
  omp_set_num_threads(saved);
}

static int finish_step(dsession *s, dstep *st, prim_pair *p, fg_error *err) {
  int saved = omp_get_max_threads(), rc = FG_OK;
  snprintf(st->impl, sizeof st->impl, "%s", impl_of(p->pd[0]));
  for (int w = 0; w < 2 && !rc; w++) {
    if (!p->pd[w]) continue;
    omp_set_num_threads(w ? s->threads : 1);
    rc = ck(dnnl_primitive_create(&st->prim[w], p->pd[w]), "primitive", err);
  }
  omp_set_num_threads(saved);
  pair_free(p);
  return rc;
}

static void arg(dsession *s, dstep *st, int which, int vi) {
  if (which != DNNL_ARG_DST && which != DNNL_ARG_TO) use_at(s, vi, (int)(st - s->steps));
  st->args[st->nargs].arg = which;
  st->args[st->nargs].memory = NULL; /* the var's memory, once buffers are bound */
  st->argvar[st->nargs] = vi;
  st->nargs++;
}

/* An argument over memory the session owns outright (weights, bias, slopes). */
static int arg_owned(dsession *s, dstep *st, int which, const dnnl_memory_desc_t *md, void *data, fg_error *err) {
  dnnl_memory_t m;
  int rc = ck(dnnl_memory_create(&m, md, s->eng, data), "memory", err);
  if (rc) return rc;
  if (keep_mem(s, m)) { dnnl_memory_destroy(m); return fg__seterr(err, FG_ENOMEM, "out of memory"); }
  st->args[st->nargs].arg = which;
  st->args[st->nargs].memory = m;
  st->argvar[st->nargs] = -1;
  st->nargs++;
  return FG_OK;
}

/* Reorder src (a plain buffer we own, described by from) into a new owned
 * buffer laid out as `to`, with an output scale (count 1, or per channel of
 * mask) — done once, at plan time. */
static int reorder_now(dsession *s, const dnnl_memory_desc_t *from, void *src, const dnnl_memory_desc_t *to, int mask,
                       int count, const float *scales, void **out, fg_error *err) {
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t p = NULL;
  dnnl_memory_t ms = NULL, md = NULL;
  void *dst = own(s, dnnl_memory_desc_get_size(to));
  int rc = dst ? FG_OK : fg__seterr(err, FG_ENOMEM, "out of memory");
  /* created and run for this thread alone: OpenMP threads started here would
   * outlive the call, spinning, and make a later fork() of the process hang
   * in libgomp */
  int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  if (!rc) rc = ck(dnnl_primitive_attr_create(&attr), "attributes", err);
  if (!rc && scales) rc = ck(dnnl_primitive_attr_set_output_scales(attr, count, mask, scales), "scales", err);
  if (!rc) rc = ck(dnnl_reorder_primitive_desc_create(&pd, from, s->eng, to, s->eng, attr), "weights reorder", err);
  if (!rc) rc = ck(dnnl_primitive_create(&p, pd), "weights reorder", err);
  if (!rc) rc = ck(dnnl_memory_create(&ms, from, s->eng, src), "memory", err);
  if (!rc) rc = ck(dnnl_memory_create(&md, to, s->eng, dst), "memory", err);
  if (!rc) {
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, ms}, {DNNL_ARG_TO, md}};
    rc = ck(dnnl_primitive_execute(p, s->stream, 2, a), "weights reorder", err);
    if (!rc) rc = ck(dnnl_stream_wait(s->stream), "weights reorder", err);
  }
  omp_set_num_threads(saved);
  if (ms) dnnl_memory_destroy(ms);
  if (md) dnnl_memory_destroy(md);
  if (p) dnnl_primitive_destroy(p);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (!rc) *out = dst;
  return rc;
}

/* ------------------------------------------------------------ getting vars */

/* The var of tensor ti in the wanted form, made by a reorder from its first
 * form if it does not exist. int8 forms use the tensor's own scale. */
static float int8_scale(const dsession *s, int ti, int *dt);

static int get_var(dsession *s, int ti, int cls, int nhwc, fg_error *err) {
  const fg__tensor *t = &s->g->t[ti];
  int dt = FG__DT_FLOAT;
  float scale = 1;
  if (cls == X_BF16) dt = FG__DT_BF16;
  else if (cls == X_I8) scale = int8_scale(s, ti, &dt);
  if (cls == X_REF) nhwc = 0;
  int want_nhwc = is4(t) && nhwc, same_bytes = -1;
  for (int k = s->first_var[ti]; k >= 0; k = s->next_var[k])
    if (s->v[k].dt == dt && (dt != FG__DT_INT8 && dt != FG__DT_UINT8 ? 1 : s->v[k].scale == scale)) {
      if (s->v[k].nhwc == want_nhwc) return k;
      if (layout_trivial(t) && same_bytes < 0) same_bytes = k;
    }
  int src = s->first_var[ti];
  if (src < 0) return fg__seterr(err, FG_EBACKEND, "oneDNN plan: tensor '%s' used before it is made", t->name);
  int vi = add_var(s, ti, dt, want_nhwc, scale, err);
  if (vi < 0) return vi;
  if (same_bytes >= 0) { /* NCHW and NHWC are the same bytes here: another view, no copy */
    s->v[vi].alias = same_bytes;
    return vi;
  }
  const var *from = &s->v[src];
  float sc = 1;
  int qs = from->dt == FG__DT_INT8 || from->dt == FG__DT_UINT8, qd = dt == FG__DT_INT8 || dt == FG__DT_UINT8;
  if (qs) sc *= from->scale;
  if (qd) sc /= scale;
  dnnl_primitive_attr_t attr;
  int rc = ck(dnnl_primitive_attr_create(&attr), "attributes", err);
  if (rc) return rc;
  if (sc != 1) rc = ck(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &sc), "reorder scale", err);
  dstep *st = rc ? NULL : add_step(s, DS_PRIM, -1, err);
  if (!rc && !st) rc = err ? err->code : FG_ENOMEM;
  if (!rc) {
    int saved = omp_get_max_threads();
    for (int w = 0; w < (s->threads > 1 ? 2 : 1) && !rc; w++) {
      dnnl_primitive_desc_t pd;
      omp_set_num_threads(w ? s->threads : 1);
      rc = ck(dnnl_reorder_primitive_desc_create(&pd, &from->md, s->eng, &s->v[vi].md, s->eng, attr), "reorder", err);
      if (!rc) {
        rc = ck(dnnl_primitive_create(&st->prim[w], pd), "reorder", err);
        dnnl_primitive_desc_destroy(pd);
      }
    }
    omp_set_num_threads(saved);
    s->v[vi].first = s->n_steps - 1;
    arg(s, st, DNNL_ARG_FROM, src);
    arg(s, st, DNNL_ARG_TO, vi);
  }
  dnnl_primitive_attr_destroy(attr);
  return rc ? rc : vi;
}

/* A new var for what node n writes into tensor ti. */
static int out_var(dsession *s, int ti, int dt, int nhwc, float scale, fg_error *err) {
  int vi = add_var(s, ti, dt, nhwc, scale, err);
  if (vi >= 0) s->v[vi].first = s->n_steps;
  return vi;
}

/* ------------------------------------------------------------- int8 scales */

static int grp(dsession *s, int t) {
  while (s->group[t] != t) t = s->group[t] = s->group[s->group[t]];
  return t;
}

static float int8_scale(const dsession *s, int ti, int *dt) {
  int r = ti;
  while (s->group[r] != r) r = s->group[r];
  float a = s->absmax[r] > 0 ? s->absmax[r] : 1e-6f;
  *dt = s->nonneg[r] ? FG__DT_UINT8 : FG__DT_INT8;
  return a / (s->nonneg[r] ? 255.f : 127.f);
}

/* ------------------------------------------------------------------- rows */

typedef struct row {
  int op, cls;
  int (*accept)(const dsession *s, const fg__node *n);        /* NULL: every node */
  int (*build)(dsession *s, int ni, int cls, fg_error *err);
} row;

static const fg__tensor *TI(const dsession *s, const fg__node *n, int k) { return &s->g->t[n->in[k]]; }
static const fg__tensor *TOUT(const dsession *s, const fg__node *n) { return &s->g->t[n->out[0]]; }

/* The output's form: int8 only if every reader runs int8, bf16 only if every
 * reader runs bf16 (or int8); f32 otherwise. For int8 and bf16 classes. */
static int out_class(const dsession *s, int ti, int cls);

static int post_act(const fg__node *n, float scale_div, dnnl_primitive_attr_t attr, fg_error *err) {
  if (!(n->act.lo > -INFINITY || n->act.hi < INFINITY)) return FG_OK;
  dnnl_post_ops_t po;
  int rc = ck(dnnl_post_ops_create(&po), "post-ops", err);
  if (rc) return rc;
  if (n->act.lo == 0 && n->act.hi == INFINITY) rc = ck(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0, 0), "relu", err);
  else
    rc = ck(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_clip, n->act.lo / scale_div, n->act.hi / scale_div), "clip", err);
  if (!rc) rc = ck(dnnl_primitive_attr_set_post_ops(attr, po), "post-ops", err);
  dnnl_post_ops_destroy(po);
  return rc;
}

static int accept_conv(const dsession *s, const fg__node *n) {
  const fg__tensor *w = TI(s, n, 1);
  return w->data && (n->n_in < 3 || n->in[2] < 0 || TI(s, n, 2)->data);
}

/* The form a tensor would take in a class, without making it. */
static int form_of(const dsession *s, int ti, int cls, float *scale) {
  int dt = cls == X_BF16 ? FG__DT_BF16 : FG__DT_FLOAT;
  *scale = 1;
  if (cls == X_I8) *scale = int8_scale(s, ti, &dt);
  return dt;
}

/* A convolution in class cls reading its input in one layout: its
 * descriptor, attributes (int8 scales, fused activation) and per-channel
 * data. Returns the primitive pair (pd[0] NULL on failure). */
typedef struct conv_try {
  int cls, ocls, src_nhwc, dt_out;
  float y_scale;
  dnnl_memory_desc_t wplain, bmd;
  void *wsrc;
  float *bias;
  prim_pair p;
} conv_try;

static int conv_prepare(dsession *s, const fg__node *n, conv_try *c, fg_error *err) {
  const fg__tensor *x = TI(s, n, 0), *wt = TI(s, n, 1), *o = TOUT(s, n);
  const fg__pool_geom *geo = &n->p.geo;
  int64_t M = wt->dims[0], cpg = wt->dims[1], kh = wt->dims[2], kw = wt->dims[3], G = n->p.group;
  int cls = c->cls;
  c->ocls = out_class(s, n->out[0], cls);
  if (cls == X_F32) c->ocls = X_F32;
  float xs;
  int dt_in = form_of(s, n->in[0], cls, &xs);
  c->dt_out = c->ocls == X_BF16 ? FG__DT_BF16 : FG__DT_FLOAT;
  c->y_scale = 1;
  if (c->ocls == X_I8) c->y_scale = int8_scale(s, n->out[0], &c->dt_out);
  int wdt = cls == X_BF16 ? FG__DT_BF16 : cls == X_I8 ? FG__DT_INT8 : FG__DT_FLOAT;
  int pdt = cls == X_I8 ? FG__DT_INT8 : FG__DT_FLOAT;
  dnnl_memory_desc_t wany, xmd, ymd;
  dnnl_dims_t wd5 = {G, M / G, cpg, kh, kw}, wd4 = {M, cpg, kh, kw}, bd = {M};
  int rc = G > 1 ? ck(dnnl_memory_desc_init_by_tag(&wany, 5, wd5, ddt(wdt), dnnl_format_tag_any), "weights", err)
                 : ck(dnnl_memory_desc_init_by_tag(&wany, 4, wd4, ddt(wdt), dnnl_format_tag_any), "weights", err);
  if (!rc) rc = G > 1 ? ck(dnnl_memory_desc_init_by_tag(&c->wplain, 5, wd5, ddt(pdt), dnnl_goihw), "weights", err)
                      : ck(dnnl_memory_desc_init_by_tag(&c->wplain, 4, wd4, ddt(pdt), dnnl_oihw), "weights", err);
  if (!rc) rc = ck(dnnl_memory_desc_init_by_tag(&c->bmd, 1, bd, dnnl_f32, dnnl_a), "bias", err);
  if (!rc) rc = make_md(x, dt_in, c->src_nhwc, &xmd, err);
  if (!rc) rc = make_md(o, c->dt_out, 1, &ymd, err);
  if (rc) return rc;
  /* int8: per output channel weight scales, bias in accumulator units, one
   * output scale per channel (oneDNN 2.x: dst = scale * (conv + bias)). */
  size_t per = (size_t)(cpg * kh * kw);
  const float *W = wt->data, *B = n->n_in > 2 && n->in[2] >= 0 ? TI(s, n, 2)->data : NULL;
  float *oscale = NULL;
  c->bias = own(s, (size_t)M * sizeof(float));
  c->wsrc = (void *)W;
  if (!c->bias) return fg__seterr(err, FG_ENOMEM, "out of memory");
  if (cls == X_I8) {
    int8_t *q = own(s, (size_t)M * per);
    oscale = own(s, (size_t)M * sizeof(float));
    if (!q || !oscale) return fg__seterr(err, FG_ENOMEM, "out of memory");
    for (int64_t m = 0; m < M; m++) {
      float mx = 0;
      for (size_t i = 0; i < per; i++) mx = fmaxf(mx, fabsf(W[(size_t)m * per + i]));
      /* a dead channel (all weights zero or denormal after BN folding) quantises
       * to zeros with scale 1; a tiny scale would make its bias infinite */
      float ws = mx > 1e-20f ? mx / 127.f : 1.f;
      for (size_t i = 0; i < per; i++) {
        float r = roundf(W[(size_t)m * per + i] / ws);
        q[(size_t)m * per + i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
      }
      c->bias[m] = B ? B[m] / (xs * ws) : 0;
      oscale[m] = xs * ws / c->y_scale;
    }
    c->wsrc = q;
  } else if (B) memcpy(c->bias, B, (size_t)M * sizeof(float));
  dnnl_convolution_desc_t cd;
  dnnl_dims_t strides = {geo->sh, geo->sw}, dil = {geo->dh - 1, geo->dw - 1}, pl = {geo->pt, geo->pl},
              pr = {geo->pb, geo->pr};
  rc = ck(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &xmd, &wany,
                                                      &c->bmd, &ymd, strides, dil, pl, pr),
          "convolution", err);
  dnnl_primitive_attr_t attr = NULL;
  if (!rc) rc = ck(dnnl_primitive_attr_create(&attr), "attributes", err);
  if (!rc && oscale) rc = ck(dnnl_primitive_attr_set_output_scales(attr, M, 1 << 1, oscale), "output scales", err);
  if (!rc) rc = post_act(n, c->y_scale, attr, err);
  if (!rc) rc = pair_create(s, &cd, attr, &c->p, "convolution", err);
  /* fp32, measured one layer at a time, one thread (p10 of 200 runs):
   * depthwise 3x3 in oneDNN's jit_dw kernel is 1.1-1.7x faster than the
   * brdgmm_dw it picks first (16 channels at 120x160: 0.038 against
   * 0.064 ms); a first layer (<= 4 input channels) in jit:avx512_core 0.106
   * against brgconv's 0.124 ms. (bf16's jit_dw is 1.1-1.2x faster too, but
   * its other summation order moved LFW accuracy by 4 pairs of 6,000, more
   * than issue 15's bound allows a speed change: bf16 keeps oneDNN's choice.) */
  const char *pref = NULL;
  if (cls == X_F32 && c->ocls == X_F32)
    pref = G > 1 && G == M && cpg == 1 ? "jit_dw:avx512_core" : cpg * G <= 4 ? "jit:avx512_core" : NULL;
  if (!rc) pair_prefer(s, &cd, attr, &c->p, pref);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return rc;
}

/* Tries, in order: the class asked for with the input NHWC (NCHW for a first
 * layer of up to four channels, which oneDNN's kernels read that way), the
 * other layout, then fp32 in both; the first that oneDNN runs with a kernel
 * of its own (not its reference code) is used, else the last. */
static int build_conv(dsession *s, int ni, int cls, fg_error *err) {
  const fg__node *n = &s->g->nodes[ni];
  int pref = s->g->t[n->in[0]].dims[1] > 4, rc = FG_OK;
  conv_try c = {0};
  int tries[4][2] = {{cls, pref}, {cls, !pref}, {X_F32, pref}, {X_F32, !pref}};
  int nt = cls == X_F32 ? 2 : 4;
  for (int t = 0; t < nt; t++) {
    pair_free(&c.p);
    memset(&c, 0, sizeof c);
    c.cls = tries[t][0];
    c.src_nhwc = tries[t][1];
    if ((rc = conv_prepare(s, n, &c, err))) return rc;
    if (strncmp(impl_of(c.p.pd[0]), "ref", 3)) break;
  }
  const dnnl_memory_desc_t *wq = dnnl_primitive_desc_query_md(c.p.pd[0], dnnl_query_weights_md, 0);
  if (c.p.pd[1] && !dnnl_memory_desc_equal(wq, dnnl_primitive_desc_query_md(c.p.pd[1], dnnl_query_weights_md, 0))) {
    /* the threaded kernel wants the weights laid out otherwise: rather than a
     * second copy, this layer runs on one thread in threaded runs too */
    dnnl_primitive_desc_destroy(c.p.pd[1]);
    c.p.pd[1] = NULL;
  }
  s->cls[ni] = (char)c.cls;
  void *wbuf;
  int xv = get_var(s, n->in[0], c.cls, c.src_nhwc, err);
  if (xv < 0) { pair_free(&c.p); return xv; }
  if ((rc = reorder_now(s, &c.wplain, c.wsrc, wq, 0, 0, NULL, &wbuf, err))) { pair_free(&c.p); return rc; }
  int yv = out_var(s, n->out[0], c.dt_out, 1, c.y_scale, err);
  if (yv < 0) { pair_free(&c.p); return yv; }
  dstep *st = add_step(s, DS_PRIM, ni, err);
  if (!st) { pair_free(&c.p); return err ? err->code : FG_ENOMEM; }
  arg(s, st, DNNL_ARG_SRC, xv);
  arg(s, st, DNNL_ARG_DST, yv);
  if ((rc = arg_owned(s, st, DNNL_ARG_WEIGHTS, wq, wbuf, err)) || (rc = arg_owned(s, st, DNNL_ARG_BIAS, &c.bmd, c.bias, err))) {
    pair_free(&c.p);
    return rc;
  }
  return finish_step(s, st, &c.p, err);
}

/* Gemm by a constant matrix: an inner product (fp32 or bf16). */
static int accept_gemm(const dsession *s, const fg__node *n) {
  const fg__tensor *x = TI(s, n, 0), *b = TI(s, n, 1), *o = TOUT(s, n);
  if (n->p.trans_a || n->p.alpha != 1.f || n->p.beta != 1.f || !b->data || x->rank != 2 || x->data) return 0;
  if (n->n_in > 2 && n->in[2] >= 0) {
    const fg__tensor *c = TI(s, n, 2);
    if (!c->data || fg__tensor_count(c) != (size_t)o->dims[1] || (c->rank == 2 && c->dims[0] != 1)) return 0;
  }
  return 1;
}

static int build_gemm(dsession *s, int ni, int cls, fg_error *err) {
  const fg__node *n = &s->g->nodes[ni];
  const fg__tensor *x = TI(s, n, 0), *bt = TI(s, n, 1), *o = TOUT(s, n);
  int64_t K = x->dims[1], N = o->dims[1];
  int ocls = out_class(s, n->out[0], cls);
  int xv = get_var(s, n->in[0], cls, 0, err);
  if (xv < 0) return xv;
  int dt_out = ocls == X_BF16 ? FG__DT_BF16 : FG__DT_FLOAT;
  int wdt = cls == X_BF16 ? FG__DT_BF16 : FG__DT_FLOAT;
  float *W = own(s, (size_t)(N * K) * sizeof(float)), *bias = own(s, (size_t)N * sizeof(float));
  if (!W || !bias) return fg__seterr(err, FG_ENOMEM, "out of memory");
  const float *B = bt->data;
  for (int64_t j = 0; j < N; j++)
    for (int64_t p = 0; p < K; p++) W[j * K + p] = n->p.trans_b ? B[j * K + p] : B[p * N + j];
  if (n->n_in > 2 && n->in[2] >= 0) memcpy(bias, TI(s, n, 2)->data, (size_t)N * sizeof(float));
  dnnl_memory_desc_t wany, wplain, bmd, ymd;
  dnnl_dims_t wd = {N, K}, bd = {N};
  int rc = ck(dnnl_memory_desc_init_by_tag(&wany, 2, wd, ddt(wdt), dnnl_format_tag_any), "weights", err);
  if (!rc) rc = ck(dnnl_memory_desc_init_by_tag(&wplain, 2, wd, dnnl_f32, dnnl_ab), "weights", err);
  if (!rc) rc = ck(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a), "bias", err);
  if (!rc) rc = make_md(o, dt_out, 0, &ymd, err);
  dnnl_inner_product_desc_t ipd;
  if (!rc) rc = ck(dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_inference, &s->v[xv].md, &wany, &bmd, &ymd), "inner product", err);
  dnnl_primitive_attr_t attr = NULL;
  if (!rc) rc = ck(dnnl_primitive_attr_create(&attr), "attributes", err);
  if (!rc) rc = post_act(n, 1, attr, err);
  prim_pair p = {{0}};
  if (!rc) rc = pair_create(s, &ipd, attr, &p, "inner product", err);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (rc) return rc;
  if (p.pd[1] && !dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(p.pd[0], dnnl_query_weights_md, 0),
                                         dnnl_primitive_desc_query_md(p.pd[1], dnnl_query_weights_md, 0))) {
    dnnl_primitive_desc_destroy(p.pd[1]);
    p.pd[1] = NULL;
  }
  const dnnl_memory_desc_t *wq = dnnl_primitive_desc_query_md(p.pd[0], dnnl_query_weights_md, 0);
  void *wbuf;
  if ((rc = reorder_now(s, &wplain, W, wq, 0, 0, NULL, &wbuf, err))) { pair_free(&p); return rc; }
  int yv = out_var(s, n->out[0], dt_out, 0, 1, err);
  dstep *st = yv < 0 ? NULL : add_step(s, DS_PRIM, ni, err);
  if (!st) { pair_free(&p); return yv < 0 ? yv : err ? err->code : FG_ENOMEM; }
  arg(s, st, DNNL_ARG_SRC, xv);
  arg(s, st, DNNL_ARG_DST, yv);
  if ((rc = arg_owned(s, st, DNNL_ARG_WEIGHTS, wq, wbuf, err)) || (rc = arg_owned(s, st, DNNL_ARG_BIAS, &bmd, bias, err))) {
    pair_free(&p);
    return rc;
  }
  return finish_step(s, st, &p, err);
}

/* PRelu with a per-channel (or single) constant slope on a 4-D or 2-D input. */
static int accept_prelu(const dsession *s, const fg__node *n) {
  const fg__tensor *x = TI(s, n, 0), *sl = TI(s, n, 1);
  if (!sl->data || !(is4(x) || x->rank == 2) || sl->rank > x->rank) return 0;
  size_t cnt = fg__tensor_count(sl);
  if (cnt == 1) return 1;
  for (int i = 0; i < sl->rank; i++) {
    int axis = x->rank - sl->rank + i;
    if (sl->dims[i] != (axis == 1 ? x->dims[1] : 1)) return 0;
  }
  return 1;
}

static int build_prelu(dsession *s, int ni, int cls, fg_error *err) {
  const fg__node *n = &s->g->nodes[ni];
  const fg__tensor *x = TI(s, n, 0), *sl = TI(s, n, 1);
  int64_t C = x->dims[1];
  int xv = get_var(s, n->in[0], cls, 1, err);
  if (xv < 0) return xv;
  float *slope = own(s, (size_t)C * sizeof(float));
  if (!slope) return fg__seterr(err, FG_ENOMEM, "out of memory");
  const float *S = sl->data;
  for (int64_t c = 0; c < C; c++) slope[c] = fg__tensor_count(sl) == 1 ? S[0] : S[c];
  dnnl_memory_desc_t smd;
  dnnl_dims_t sd4 = {1, C, 1, 1}, sd2 = {1, C};
  int rc = is4(x) ? ck(dnnl_memory_desc_init_by_tag(&smd, 4, sd4, dnnl_f32, dnnl_acdb), "slope", err)
                  : ck(dnnl_memory_desc_init_by_tag(&smd, 2, sd2, dnnl_f32, dnnl_ab), "slope", err);
  dnnl_prelu_desc_t pdsc;
  /* int8: in and out share one scale (a group), so the kernel works in q units */
  if (!rc) rc = ck(dnnl_prelu_forward_desc_init(&pdsc, dnnl_forward_inference, &s->v[xv].md, &smd), "prelu", err);
  prim_pair p = {{0}};
  if (!rc) rc = pair_create(s, &pdsc, NULL, &p, "prelu", err);
  if (rc) return rc;
  int yv = out_var(s, n->out[0], s->v[xv].dt, s->v[xv].nhwc, s->v[xv].scale, err);
  dstep *st = yv < 0 ? NULL : add_step(s, DS_PRIM, ni, err);
  if (!st) { pair_free(&p); return yv < 0 ? yv : err ? err->code : FG_ENOMEM; }
  arg(s, st, DNNL_ARG_SRC, xv);
  arg(s, st, DNNL_ARG_DST, yv);
  if ((rc = arg_owned(s, st, DNNL_ARG_WEIGHTS, &smd, slope, err))) { pair_free(&p); return rc; }
  return finish_step(s, st, &p, err);
}

/* Add, Sub, Mul, Div of two tensors of the output's rank (4 or 2), the second
 * broadcast to the first, or a constant. */
static int accept_binary(const dsession *s, const fg__node *n) {
  const fg__tensor *o = TOUT(s, n);
  if (o->rank != 4 && o->rank != 2) return 0;
  int full = -1;
  for (int k = 0; k < 2; k++) {
    const fg__tensor *t = TI(s, n, k);
    if (t->rank != o->rank && fg__tensor_count(t) != 1) return 0;
    if (fg__tensor_count(t) == fg__tensor_count(o) && !t->data && full < 0) full = k;
  }
  if (full < 0) return 0;
  if (full == 1 && n->op != FG__OP_ADD && n->op != FG__OP_MUL) return 0; /* not commutative */
  return 1;
}

static int build_binary(dsession *s, int ni, int cls, fg_error *err) {
  const fg__node *n = &s->g->nodes[ni];
  const fg__tensor *o = TOUT(s, n);
  int a = n->in[0], b = n->in[1];
  if (fg__tensor_count(&s->g->t[a]) != fg__tensor_count(o) || s->g->t[a].data) { int t = a; a = b; b = t; }
  const fg__tensor *tb = &s->g->t[b];
  int ocls = out_class(s, n->out[0], cls);
  if (cls == X_I8 && ocls != X_I8) ocls = X_F32;
  int av = get_var(s, a, cls, 1, err);
  if (av < 0) return av;
  int bv = -1, rc = FG_OK;
  dnnl_memory_desc_t bmd;
  void *bconst = NULL;
  if (tb->data) {
    /* a constant second operand: f32, expanded to the output's rank */
    fg__tensor shape = *tb;
    if (shape.rank != o->rank) {
      shape.rank = o->rank;
      for (int i = 0; i < o->rank; i++) shape.dims[i] = 1;
    }
    if ((rc = make_md(&shape, FG__DT_FLOAT, 1, &bmd, err))) return rc;
    bconst = tb->data;
    if (is4(&shape) && !layout_trivial(&shape)) { /* NCHW constant into NHWC */
      float *q = own(s, fg__tensor_count(tb) * sizeof(float));
      if (!q) return fg__seterr(err, FG_ENOMEM, "out of memory");
      size_t C = (size_t)shape.dims[1], HW = (size_t)(shape.dims[2] * shape.dims[3]);
      for (size_t c = 0; c < C; c++)
        for (size_t i = 0; i < HW; i++) q[i * C + c] = ((const float *)tb->data)[c * HW + i];
      bconst = q;
    }
  } else {
    /* the second operand in the same class; a small gate stays f32 in int8 */
    int bcls = cls == X_I8 && fg__tensor_count(tb) != fg__tensor_count(o) ? X_F32 : cls;
    if ((bv = get_var(s, b, bcls, 1, err)) < 0) return bv;
    bmd = s->v[bv].md;
  }
  int dt_out = ocls == X_BF16 ? FG__DT_BF16 : FG__DT_FLOAT;
  float y_scale = 1;
  if (ocls == X_I8) y_scale = int8_scale(s, n->out[0], &dt_out);
  dnnl_memory_desc_t ymd;
  if ((rc = make_md(o, dt_out, 1, &ymd, err))) return rc;
  dnnl_alg_kind_t alg = n->op == FG__OP_ADD ? dnnl_binary_add : n->op == FG__OP_SUB ? dnnl_binary_sub
                      : n->op == FG__OP_MUL ? dnnl_binary_mul : dnnl_binary_div;
  dnnl_binary_desc_t bd;
  rc = ck(dnnl_binary_desc_init(&bd, alg, &s->v[av].md, &bmd, &ymd), "binary", err);
  dnnl_primitive_attr_t attr = NULL;
  if (!rc) rc = ck(dnnl_primitive_attr_create(&attr), "attributes", err);
  float sa = s->v[av].scale, sb = bv >= 0 ? s->v[bv].scale : 1;
  /* real = s * q; the result in the output's units: y/ys = (sa/ys) qa op (sb/ys) qb
   * for + and -, (sa sb / ys) qa qb for x. */
  if (!rc && (sa != 1 || sb != 1 || y_scale != 1)) {
    float s0 = n->op == FG__OP_MUL ? sa * sb / y_scale : sa / y_scale, s1 = n->op == FG__OP_MUL ? 1 : sb / y_scale;
    if (n->op == FG__OP_DIV) s0 = sa / (sb * y_scale), s1 = 1;
    rc = ck(dnnl_primitive_attr_set_scales(attr, DNNL_ARG_SRC_0, 1, 0, &s0), "scales", err);
    if (!rc) rc = ck(dnnl_primitive_attr_set_scales(attr, DNNL_ARG_SRC_1, 1, 0, &s1), "scales", err);
  }
  if (!rc) rc = post_act(n, y_scale, attr, err);
  prim_pair p = {{0}};
  if (!rc) rc = pair_create(s, &bd, attr, &p, "binary", err);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (rc) return rc;
  int yv = out_var(s, n->out[0], dt_out, 1, y_scale, err);
  dstep *st = yv < 0 ? NULL : add_step(s, DS_PRIM, ni, err);
  if (!st) { pair_free(&p); return yv < 0 ? yv : err ? err->code : FG_ENOMEM; }
  arg(s, st, DNNL_ARG_SRC_0, av);
  if (bv >= 0) arg(s, st, DNNL_ARG_SRC_1, bv);
  else if ((rc = arg_owned(s, st, DNNL_ARG_SRC_1, &bmd, bconst, err))) { pair_free(&p); return rc; }
  arg(s, st, DNNL_ARG_DST, yv);
  return finish_step(s, st, &p, err);
}

/* Relu, Clip, Sigmoid, Exp (fp32, bf16). */
static int build_eltwise(dsession *s, int ni, int cls, fg_error *err) {
  const fg__node *n = &s->g->nodes[ni];
  int xv = get_var(s, n->in[0], cls, 1, err);
  if (xv < 0) return xv;
  dnnl_alg_kind_t alg = dnnl_eltwise_relu;
  float alpha = 0, beta = 0;
  if (n->op == FG__OP_CLIP) alg = dnnl_eltwise_clip, alpha = n->p.lo, beta = n->p.hi;
  else if (n->op == FG__OP_SIGMOID) alg = dnnl_eltwise_logistic;
  else if (n->op == FG__OP_EXP) alg = dnnl_eltwise_exp;
  else if (n->op == FG__OP_LEAKYRELU) alpha = n->p.alpha;
  dnnl_eltwise_desc_t ed;
  int rc = ck(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, alg, &s->v[xv].md, alpha, beta), "eltwise", err);
  prim_pair p = {{0}};
  if (!rc) rc = pair_create(s, &ed, NULL, &p, "eltwise", err);
  if (rc) return rc;
  int yv = out_var(s, n->out[0], s->v[xv].dt, s->v[xv].nhwc, s->v[xv].scale, err);
  dstep *st = yv < 0 ? NULL : add_step(s, DS_PRIM, ni, err);
  if (!st) { pair_free(&p); return yv < 0 ? yv : err ? err->code : FG_ENOMEM; }
  arg(s, st, DNNL_ARG_SRC, xv);
  arg(s, st, DNNL_ARG_DST, yv);
  return finish_step(s, st, &p, err);
}

static int build_pool(dsession *s, int ni, int cls, fg_error *err) {
  const fg__node *n = &s->g->nodes[ni];
  const fg__tensor *o = TOUT(s, n);
  const fg__pool_geom *g = &n->p.geo;
  int xv = get_var(s, n->in[0], cls, 1, err);
  if (xv < 0) return xv;
  dnnl_memory_desc_t ymd;
  int rc = make_md(o, s->v[xv].dt, 1, &ymd, err);
  dnnl_alg_kind_t alg = n->op == FG__OP_MAXPOOL ? dnnl_pooling_max
                      : n->p.count_pad ? dnnl_pooling_avg_include_padding : dnnl_pooling_avg_exclude_padding;
  dnnl_dims_t strides = {g->sh, g->sw}, kernel = {g->kh, g->kw}, dil = {g->dh - 1, g->dw - 1}, pl = {g->pt, g->pl},
              pr = {g->pb, g->pr};
  dnnl_pooling_v2_desc_t pd;
  if (!rc) rc = ck(dnnl_pooling_v2_forward_desc_init(&pd, dnnl_forward_inference, alg, &s->v[xv].md, &ymd, strides, kernel,
                                                     dil, pl, pr), "pooling", err);
  dnnl_primitive_attr_t attr = NULL;
  if (!rc) rc = ck(dnnl_primitive_attr_create(&attr), "attributes", err);
  if (!rc) rc = post_act(n, s->v[xv].scale, attr, err);
  prim_pair p = {{0}};
  if (!rc) rc = pair_create(s, &pd, attr, &p, "pooling", err);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (rc) return rc;
  int yv = out_var(s, n->out[0], s->v[xv].dt, 1, s->v[xv].scale, err);
  dstep *st = yv < 0 ? NULL : add_step(s, DS_PRIM, ni, err);
  if (!st) { pair_free(&p); return yv < 0 ? yv : err ? err->code : FG_ENOMEM; }
  arg(s, st, DNNL_ARG_SRC, xv);
  arg(s, st, DNNL_ARG_DST, yv);
  size_t ws = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(p.pd[0], dnnl_query_workspace_md, 0));
  if (ws) { pair_free(&p); return fg__seterr(err, FG_EBACKEND, "oneDNN: pooling wants a workspace in inference"); }
  return finish_step(s, st, &p, err);
}

/* Concat of 4-D tensors along channels (NHWC), no constant inputs. */
static int accept_concat(const dsession *s, const fg__node *n) {
  if (!is4(TOUT(s, n)) || n->p.axis != 1 || n->n_in > 10) return 0;
  for (int k = 0; k < n->n_in; k++)
    if (TI(s, n, k)->data) return 0;
  return 1;
}

static int build_concat(dsession *s, int ni, int cls, fg_error *err) {
  const fg__node *n = &s->g->nodes[ni];
  const fg__tensor *o = TOUT(s, n);
  int vi[10] = {0};
  dnnl_memory_desc_t mds[10], ymd;
  if (n->n_in < 1 || n->n_in > 10) return fg__seterr(err, FG_EBACKEND, "oneDNN plan: concat of %d inputs", n->n_in);
  for (int k = 0; k < n->n_in; k++) {
    if ((vi[k] = get_var(s, n->in[k], cls, 1, err)) < 0) return vi[k];
    mds[k] = s->v[vi[k]].md;
  }
  int dt = s->v[vi[0]].dt;
  for (int k = 1; k < n->n_in; k++)
    if (s->v[vi[k]].dt != dt || s->v[vi[k]].scale != s->v[vi[0]].scale)
      return fg__seterr(err, FG_EBACKEND, "oneDNN plan: concat '%s' inputs differ in type or scale", fg__node_label(n));
  int rc = make_md(o, dt, 1, &ymd, err);
  if (rc) return rc;
  prim_pair p = {{0}};
  int saved = omp_get_max_threads();
  for (int w = 0; w < (s->threads > 1 ? 2 : 1) && !rc; w++) {
    omp_set_num_threads(w ? s->threads : 1);
    rc = ck(dnnl_concat_primitive_desc_create(&p.pd[w], &ymd, n->n_in, 1, mds, NULL, s->eng), "concat", err);
  }
  omp_set_num_threads(saved);
  if (rc) { pair_free(&p); return rc; }
  int yv = out_var(s, n->out[0], dt, 1, s->v[vi[0]].scale, err);
  dstep *st = yv < 0 ? NULL : add_step(s, DS_PRIM, ni, err);
  if (!st) { pair_free(&p); return yv < 0 ? yv : err ? err->code : FG_ENOMEM; }
  for (int k = 0; k < n->n_in; k++) arg(s, st, DNNL_ARG_MULTIPLE_SRC + k, vi[k]);
  arg(s, st, DNNL_ARG_DST, yv);
  return finish_step(s, st, &p, err);
}

/* Reshape-like nodes of a tensor whose NCHW and NHWC bytes agree, and
 * Transpose(0,2,3,1) of a tensor stored NHWC: the output is the input's
 * bytes. Any class (the bytes keep their type). */
static int accept_alias(const dsession *s, const fg__node *n) {
  const fg__tensor *x = TI(s, n, 0), *o = TOUT(s, n);
  if (x->data || o->is_output || n->n_out != 1 || o->rank > 6 || x->rank > 6) return 0;
  if (n->op == FG__OP_TRANSPOSE)
    return is4(x) && n->p.perm[0] == 0 && n->p.perm[1] == 2 && n->p.perm[2] == 3 && n->p.perm[3] == 1;
  return 1;
}

/* A reshape reads its input stored plainly (NCHW order, a reorder if it was
 * NHWC); a Transpose(0,2,3,1) reads it NHWC. */
static int build_alias(dsession *s, int ni, int cls, fg_error *err) {
  const fg__node *n = &s->g->nodes[ni];
  int tr = n->op == FG__OP_TRANSPOSE;
  int xv = get_var(s, n->in[0], cls, tr, err);
  if (xv < 0) return xv;
  if (tr && !s->v[xv].nhwc)
    return fg__seterr(err, FG_EBACKEND, "oneDNN plan: transpose '%s' of an NCHW var", fg__node_label(n));
  int yv = add_var(s, n->out[0], s->v[xv].dt, 0, s->v[xv].scale, err);
  if (yv < 0) return yv;
  s->v[yv].alias = xv;
  s->v[yv].first = s->n_steps;
  dstep *st = add_step(s, DS_ALIAS, ni, err);
  return st ? FG_OK : err ? err->code : FG_ENOMEM;
}

static int build_ref(dsession *s, int ni, int cls, fg_error *err) {
  (void)cls;
  const fg__node *n = &s->g->nodes[ni];
  int in[64], out[16];
  for (int k = 0; k < n->n_in; k++) {
    in[k] = -1;
    if (n->in[k] < 0 || s->g->t[n->in[k]].data) continue;
    if ((in[k] = get_var(s, n->in[k], X_REF, 0, err)) < 0) return in[k];
  }
  for (int k = 0; k < n->n_out; k++) {
    const fg__tensor *t = &s->g->t[n->out[k]];
    if ((out[k] = out_var(s, n->out[k], t->dtype == FG__DT_INT64 ? FG__DT_INT64 : FG__DT_FLOAT, 0, 1, err)) < 0) return out[k];
  }
  dstep *st = add_step(s, DS_REF, ni, err);
  if (!st) return err ? err->code : FG_ENOMEM;
  memcpy(st->in, in, sizeof(int) * (size_t)n->n_in);
  for (int k = 0; k < n->n_in; k++)
    if (in[k] >= 0) use_at(s, in[k], s->n_steps - 1);
  memcpy(st->out, out, sizeof(int) * (size_t)n->n_out);
  st->n_in = n->n_in;
  st->n_out = n->n_out;
  return FG_OK;
}

/* The table: how each operator runs in each class. */
static const row rows[] = {
  {FG__OP_CONV, X_F32, accept_conv, build_conv},       {FG__OP_CONV, X_BF16, accept_conv, build_conv},
  {FG__OP_CONV, X_I8, accept_conv, build_conv},        {FG__OP_GEMM, X_F32, accept_gemm, build_gemm},
  {FG__OP_GEMM, X_BF16, accept_gemm, build_gemm},      {FG__OP_PRELU, X_F32, accept_prelu, build_prelu},
  {FG__OP_PRELU, X_BF16, accept_prelu, build_prelu},   {FG__OP_PRELU, X_I8, accept_prelu, build_prelu},
  {FG__OP_ADD, X_F32, accept_binary, build_binary},    {FG__OP_ADD, X_BF16, accept_binary, build_binary},
  {FG__OP_ADD, X_I8, accept_binary, build_binary},     {FG__OP_SUB, X_F32, accept_binary, build_binary},
  {FG__OP_SUB, X_BF16, accept_binary, build_binary},   {FG__OP_SUB, X_I8, accept_binary, build_binary},
  {FG__OP_MUL, X_F32, accept_binary, build_binary},    {FG__OP_MUL, X_BF16, accept_binary, build_binary},
  {FG__OP_MUL, X_I8, accept_binary, build_binary},     {FG__OP_DIV, X_F32, accept_binary, build_binary},
  {FG__OP_RELU, X_F32, NULL, build_eltwise},           {FG__OP_RELU, X_BF16, NULL, build_eltwise},
  {FG__OP_CLIP, X_F32, NULL, build_eltwise},           {FG__OP_CLIP, X_BF16, NULL, build_eltwise},
  {FG__OP_LEAKYRELU, X_F32, NULL, build_eltwise},      {FG__OP_SIGMOID, X_F32, NULL, build_eltwise},
  {FG__OP_EXP, X_F32, NULL, build_eltwise},            {FG__OP_MAXPOOL, X_F32, NULL, build_pool},
  {FG__OP_MAXPOOL, X_BF16, NULL, build_pool},   {FG__OP_MAXPOOL, X_I8, NULL, build_pool},
  {FG__OP_AVGPOOL, X_F32, NULL, build_pool},    {FG__OP_AVGPOOL, X_BF16, NULL, build_pool},
  {FG__OP_AVGPOOL, X_I8, NULL, build_pool},     {FG__OP_GLOBALAVGPOOL, X_F32, NULL, build_pool},
  {FG__OP_GLOBALAVGPOOL, X_BF16, NULL, build_pool},    {FG__OP_GLOBALAVGPOOL, X_I8, NULL, build_pool},
  {FG__OP_CONCAT, X_F32, accept_concat, build_concat}, {FG__OP_CONCAT, X_BF16, accept_concat, build_concat},
  {FG__OP_CONCAT, X_I8, accept_concat, build_concat},  {FG__OP_TRANSPOSE, X_F32, accept_alias, build_alias},
  {FG__OP_RESHAPE, X_F32, accept_alias, build_alias},  {FG__OP_RESHAPE, X_BF16, accept_alias, build_alias},
  {FG__OP_RESHAPE, X_I8, accept_alias, build_alias},   {FG__OP_FLATTEN, X_F32, accept_alias, build_alias},
  {FG__OP_FLATTEN, X_BF16, accept_alias, build_alias}, {FG__OP_FLATTEN, X_I8, accept_alias, build_alias},
  {FG__OP_SQUEEZE, X_F32, accept_alias, build_alias},  {FG__OP_UNSQUEEZE, X_F32, accept_alias, build_alias},
  {FG__OP_IDENTITY, X_F32, accept_alias, build_alias}, {FG__OP_DROPOUT, X_F32, accept_alias, build_alias},
};

static const row *find_row(const dsession *s, const fg__node *n, int cls) {
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    if (rows[i].op == n->op && rows[i].cls == cls) {
      if (rows[i].accept && !rows[i].accept(s, n)) return NULL;
      if (n->act.lo > -INFINITY || n->act.hi < INFINITY) {
        /* fused activations: only where post_act applies them */
        int op = n->op;
        if (op != FG__OP_CONV && op != FG__OP_GEMM && op != FG__OP_ADD && op != FG__OP_SUB && op != FG__OP_MUL &&
            op != FG__OP_DIV && op != FG__OP_MAXPOOL && op != FG__OP_AVGPOOL && op != FG__OP_GLOBALAVGPOOL)
          return NULL;
      }
      return &rows[i];
    }
  return NULL;
}

static int out_class(const dsession *s, int ti, int cls) {
  const fg__graph *g = s->g;
  if (g->t[ti].is_output) return X_F32;
  int all = 1;
  for (int i = 0; i < g->n_nodes && all; i++) {
    const fg__node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] == ti) {
        int c = s->cls[i];
        if (n->op == FG__OP_BATCHNORM || c == X_REF) all = 0;
        else if (cls == X_I8 && c != X_I8) all = 0;
        else if (cls == X_BF16 && c != X_BF16) all = 0;
        /* a small gate multiplied into an int8 tensor stays f32 */
        if (cls == X_I8 && c == X_I8 && n->op == FG__OP_MUL && fg__tensor_count(&g->t[ti]) != fg__tensor_count(&g->t[n->out[0]]))
          all = 0;
      }
  }
  return all ? cls : X_F32;
}

/* ---------------------------------------------------------------- planning */

static int has_range(const dsession *s, int ti) { return s->absmax[ti] > 0; }

/* Which class each node runs in, the int8 ranges and their groups. */
static int classify(dsession *s, const fg_quant_ranges *r, int use_mean, fg_error *err) {
  const fg__graph *g = s->g;
  (void)err;
  for (int i = 0; i < g->n_t; i++) {
    s->group[i] = i;
    s->absmax[i] = 0;
    s->nonneg[i] = 0;
    if (!r) continue;
    int k = fg__quant_find(r, g->t[i].name);
    if (k < 0 || !(r->min[k] <= r->max[k])) continue;
    float a = fmaxf(fabsf(r->min[k]), fabsf(r->max[k]));
    if (use_mean && r->runs) a = (float)(r->sum_absmax[k] / (double)r->runs);
    s->absmax[i] = a;
    /* a graph input never negative over the calibration set (raw pixels, x/256)
     * is stored u8: a full bit more than s8 (a negative value would clip to 0) */
    if (g->t[i].is_input && r->min[k] >= 0) s->nonneg[i] = 1;
  }
  int want = s->precision == FG_PRECISION_INT8 ? X_I8 : s->precision == FG_PRECISION_BF16 ? X_BF16 : X_F32;
  for (int i = 0; i < g->n_nodes; i++) {
    const fg__node *n = &g->nodes[i];
    s->cls[i] = X_REF;
    if (n->dead) continue;
    int c = want;
    if (c == X_I8) {
      /* int8 needs a range for every tensor input; outputs may still be f32 */
      for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && !g->t[n->in[k]].data && !has_range(s, n->in[k])) c = X_F32;
      if (n->op != FG__OP_CONV && !fg__op_is_reshape(n->op) && !has_range(s, n->out[0])) c = X_F32;
    }
    if (find_row(s, n, c)) s->cls[i] = (char)c;
    else if (c != X_F32 && c == X_I8 && find_row(s, n, X_F32)) s->cls[i] = X_F32;
    else if (c == X_BF16 && find_row(s, n, X_F32)) s->cls[i] = X_F32;
    else if (c == X_F32 && find_row(s, n, X_F32)) s->cls[i] = X_F32;
  }
  /* structurally non-negative tensors, in order */
  for (int i = 0; i < g->n_nodes; i++) {
    const fg__node *n = &g->nodes[i];
    if (n->dead) continue;
    int nn = 0;
    if (n->act.lo >= 0) nn = 1;
    else if (n->op == FG__OP_RELU || n->op == FG__OP_SIGMOID || (n->op == FG__OP_CLIP && n->p.lo >= 0)) nn = 1;
    else if (n->op == FG__OP_MAXPOOL || n->op == FG__OP_AVGPOOL || n->op == FG__OP_GLOBALAVGPOOL ||
             fg__op_is_reshape(n->op))
      nn = s->nonneg[n->in[0]];
    else if (n->op == FG__OP_CONCAT) {
      nn = 1;
      for (int k = 0; k < n->n_in; k++) nn &= s->nonneg[n->in[k]];
    }
    s->nonneg[n->out[0]] = (char)nn;
  }
  /* int8 nodes that keep the scale: input(s) and output in one group */
  for (int i = 0; i < g->n_nodes; i++) {
    const fg__node *n = &g->nodes[i];
    if (n->dead || s->cls[i] != X_I8) continue;
    int keep = n->op == FG__OP_PRELU || n->op == FG__OP_MAXPOOL || n->op == FG__OP_AVGPOOL ||
               n->op == FG__OP_GLOBALAVGPOOL || n->op == FG__OP_CONCAT || fg__op_is_reshape(n->op);
    if (!keep) continue;
    for (int k = 0; k < (n->op == FG__OP_CONCAT ? n->n_in : 1); k++) {
      int a = grp(s, n->in[k]), b = grp(s, n->out[0]);
      if (a == b) continue;
      s->group[a] = b;
      s->absmax[b] = fmaxf(s->absmax[a], s->absmax[b]);
      s->nonneg[b] = (char)(s->nonneg[a] && s->nonneg[b]);
    }
  }
  return FG_OK;
}

static int plan(dsession *s, fg_error *err) {
  const fg__graph *g = s->g;
  int rc = FG_OK;
  for (int i = 0; i < g->n_inputs && !rc; i++) {
    int vi = add_var(s, g->inputs[i], FG__DT_FLOAT, s->input_nhwc, 1, err); /* as the caller lays it out */
    if (vi < 0) return vi;
    s->v[vi].first = -1;
    s->v[vi].ext = (void *)1; /* the caller's buffer */
    s->in_var[i] = vi;
  }
  for (int i = 0; i < g->n_nodes && !rc; i++) {
    const fg__node *n = &g->nodes[i];
    if (n->dead) continue;
    const row *r = s->cls[i] == X_REF ? NULL : find_row(s, n, s->cls[i]);
    rc = r ? r->build(s, i, s->cls[i], err) : build_ref(s, i, X_REF, err);
    if (rc > 0) rc = FG_OK; /* a var index */
  }
  for (int i = 0; i < g->n_outputs && !rc; i++) {
    int ti = g->outputs[i];
    if (g->t[ti].data) { s->out_var[i] = -1; continue; }
    int vi = get_var(s, ti, X_REF, 0, err);
    if (vi < 0) return vi;
    s->out_var[i] = vi;
    use_at(s, vi, s->n_steps); /* read after the last step */
  }
  return rc;
}

/* Offsets in one arena: a var's storage is free after its last reader. */
static int assign_buffers(dsession *s, fg_error *err) {
  typedef struct blk { size_t off, size; int free_after; } blk;
  blk *b = calloc((size_t)s->n_v + 1, sizeof *b);
  if (!b) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int nb = 0;
  size_t top = 0;
  /* the last step that reads any alias of a root */
  for (int i = 0; i < s->n_v; i++) {
    var *v = &s->v[i];
    if (v->alias >= 0) {
      int r = v->alias;
      while (s->v[r].alias >= 0) r = s->v[r].alias;
      if (s->v[r].last < v->last) s->v[r].last = v->last;
    }
  }
  /* in order of first write, reuse a block freed before it */
  int *order = malloc(((size_t)s->n_v + 1) * sizeof *order);
  if (!order) { free(b); return fg__seterr(err, FG_ENOMEM, "out of memory"); }
  int no = 0;
  for (int i = 0; i < s->n_v; i++)
    if (s->v[i].alias < 0 && !s->v[i].ext) order[no++] = i;
  for (int i = 1; i < no; i++) { /* insertion sort by first write (already nearly sorted) */
    int x = order[i], j = i - 1;
    while (j >= 0 && s->v[order[j]].first > s->v[x].first) { order[j + 1] = order[j]; j--; }
    order[j + 1] = x;
  }
  for (int k = 0; k < no; k++) {
    var *v = &s->v[order[k]];
    size_t need = (v->bytes + 63) / 64 * 64;
    int best = -1;
    for (int j = 0; j < nb; j++)
      if (b[j].free_after < v->first && b[j].size >= need && (best < 0 || b[j].size < b[best].size)) best = j;
    if (best < 0) {
      b[nb] = (blk){top, need, 0};
      top += need;
      best = nb++;
    }
    v->off = b[best].off;
    b[best].free_after = v->last;
  }
  free(order);
  free(b);
  s->arena_bytes = top;
  s->arena = aligned_alloc(64, top + 64);
  if (!s->arena) return fg__seterr(err, FG_ENOMEM, "out of memory");
  memset(s->arena, 0, top + 64);
  return FG_OK;
}

static void *var_ptr(const dsession *s, int vi) {
  while (s->v[vi].alias >= 0) vi = s->v[vi].alias;
  return s->v[vi].ext ? s->v[vi].ext : s->arena + s->v[vi].off;
}

static int bind(dsession *s, fg_error *err) {
  for (int i = 0; i < s->n_v; i++) {
    var *v = &s->v[i];
    int r = i;
    while (s->v[r].alias >= 0) r = s->v[r].alias;
    void *p = s->v[r].ext ? DNNL_MEMORY_NONE : var_ptr(s, i); /* inputs: the caller's, per run */
    int rc = ck(dnnl_memory_create(&v->mem, &v->md, s->eng, p), "memory", err);
    if (rc) return rc;
  }
  for (int i = 0; i < s->n_steps; i++) {
    dstep *st = &s->steps[i];
    for (int k = 0; k < st->nargs; k++)
      if (st->argvar[k] >= 0) st->args[k].memory = s->v[st->argvar[k]].mem;
  }
  return FG_OK;
}

/* ------------------------------------------------------------------ running */

static int dnnl_run(void *impl, int wide, const float *const *inputs, float *const *outputs, fg_error *err) {
  dsession *s = impl;
  const fg__graph *g = s->g;
  for (int i = 0; i < g->n_inputs; i++) {
    if (!inputs || !inputs[i]) return fg__seterr(err, FG_EINVAL, "input %d is NULL", i);
    s->v[s->in_var[i]].ext = (void *)inputs[i]; /* only ever read */
    if (s->record_ok) {
      size_t n = fg__tensor_count(&g->t[g->inputs[i]]);
      float lo = INFINITY, hi = -INFINITY;
      for (size_t k = 0; k < n; k++) {
        lo = inputs[i][k] < lo ? inputs[i][k] : lo;
        hi = inputs[i][k] > hi ? inputs[i][k] : hi;
      }
      s->in_lo[i] = lo;
      s->in_hi[i] = hi;
    }
  }
  for (int i = 0; i < s->n_v; i++) {
    int r = i;
    while (s->v[r].alias >= 0) r = s->v[r].alias;
    if (s->v[r].ext) dnnl_memory_set_data_handle(s->v[i].mem, s->v[r].ext);
  }
  int saved = omp_get_max_threads(), rc = FG_OK;
  int nthr = wide ? s->threads : 1;
  if (saved != nthr) omp_set_num_threads(nthr);
  for (int i = 0; i < s->n_steps && !rc; i++) {
    dstep *st = &s->steps[i];
    if (st->kind == DS_PRIM) {
      dnnl_primitive_t p = wide && st->prim[1] ? st->prim[1] : st->prim[0];
      if (!wide || st->prim[1]) rc = ck(dnnl_primitive_execute(p, s->stream, st->nargs, st->args), "execute", err);
      else { /* this layer has only its one-thread form */
        omp_set_num_threads(1);
        rc = ck(dnnl_primitive_execute(p, s->stream, st->nargs, st->args), "execute", err);
        omp_set_num_threads(nthr);
      }
    } else if (st->kind == DS_REF) {
      const fg__node *n = &g->nodes[st->node];
      const void *in[64];
      void *out[16];
      for (int k = 0; k < st->n_in; k++)
        in[k] = st->in[k] >= 0 ? var_ptr(s, st->in[k]) : n->in[k] >= 0 ? g->t[n->in[k]].data : NULL;
      for (int k = 0; k < st->n_out; k++) out[k] = var_ptr(s, st->out[k]);
      fg__kctx kc = {g, n, in, out};
      rc = fg__kernel_run(&kc, err);
    }
  }
  if (!rc) rc = ck(dnnl_stream_wait(s->stream), "wait", err);
  if (saved != nthr || omp_get_max_threads() != saved) omp_set_num_threads(saved);
  for (int i = 0; i < g->n_inputs; i++) s->v[s->in_var[i]].ext = (void *)1;
  if (rc) return rc;
  for (int i = 0; i < g->n_outputs; i++) {
    if (!outputs || !outputs[i]) return fg__seterr(err, FG_EINVAL, "output %d is NULL", i);
    const fg__tensor *t = &g->t[g->outputs[i]];
    const void *src = s->out_var[i] >= 0 ? var_ptr(s, s->out_var[i]) : t->data;
    memcpy(outputs[i], src, fg__tensor_count(t) * fg__dtype_size(t->dtype));
  }
  return FG_OK;
}

/* Every activation's range in the last run: an fp32 session created with
 * `record` keeps every var's storage to itself. */
static int dnnl_record(void *impl, fg_quant_ranges *r, fg_error *err) {
  dsession *s = impl;
  const fg__graph *g = s->g;
  if (!s->record_ok) return fg__seterr(err, FG_EINVAL, "recording ranges needs a session created with record = 1 in fp32");
  if (strcmp(r->model_sha256, s->m->stats.sha256)) return fg__seterr(err, FG_EMODEL, "ranges are for another model");
  for (int ti = 0; ti < g->n_t; ti++) {
    int vi = -1;
    if (g->t[ti].is_input) continue; /* below */
    for (int k = s->first_var[ti]; k >= 0 && vi < 0; k = s->next_var[k]) {
      int r = k;
      while (s->v[r].alias >= 0) r = s->v[r].alias;
      if (s->v[k].dt == FG__DT_FLOAT && !s->v[r].ext) vi = k; /* graph inputs: recorded during the run */
    }
    if (vi < 0) continue;
    int k = fg__quant_find(r, g->t[ti].name);
    if (k < 0) continue;
    const float *x = var_ptr(s, vi);
    size_t n = fg__tensor_count(&g->t[ti]);
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      lo = x[i] < lo ? x[i] : lo;
      hi = x[i] > hi ? x[i] : hi;
    }
    if (n) fg__quant_update(r, k, lo, hi);
  }
  for (int i = 0; i < g->n_inputs; i++) /* read from the caller's buffer during the run */
    fg__quant_update(r, fg__quant_find(r, g->t[g->inputs[i]].name), s->in_lo[i], s->in_hi[i]);
  r->runs++;
  return FG_OK;
}

static void dnnl_destroy(void *impl) {
  dsession *s = impl;
  if (!s) return;
  for (int i = 0; i < s->n_steps; i++)
    for (int w = 0; w < 2; w++)
      if (s->steps[i].prim[w]) dnnl_primitive_destroy(s->steps[i].prim[w]);
  for (int i = 0; i < s->n_v; i++)
    if (s->v[i].mem) dnnl_memory_destroy(s->v[i].mem);
  for (int i = 0; i < s->n_mems; i++) dnnl_memory_destroy(s->mems[i]);
  for (int i = 0; i < s->n_owned; i++) free(s->owned[i]);
  if (s->stream) dnnl_stream_destroy(s->stream);
  if (s->eng) dnnl_engine_destroy(s->eng);
  free(s->owned);
  free(s->mems);
  free(s->v);
  free(s->next_var);
  free(s->first_var);
  free(s->steps);
  free(s->in_var);
  free(s->out_var);
  free(s->arena);
  free(s->cls);
  free(s->absmax);
  free(s->nonneg);
  free(s->group);
  free(s->in_lo);
  free(s->in_hi);
  free(s);
}

static const fg__backend dnnl_backend = {"onednn", dnnl_run, dnnl_record, dnnl_destroy};

int fg__session_create_dnnl(const fg_model *m, const fg_session_options *o, fg_session **out, fg_error *err) {
  *out = NULL;
  const fg__graph *g = &m->g;
  dsession *s = calloc(1, sizeof *s);
  if (!s) return fg__seterr(err, FG_ENOMEM, "out of memory");
  s->m = m;
  s->g = g;
  s->threads = o && o->threads > 0 ? o->threads : 1;
  s->precision = o ? o->precision : FG_PRECISION_FP32;
  s->input_nhwc = o && o->input_nhwc;
  int record = o && o->record;
  fg_quant_ranges *builtin = NULL;
  const fg_quant_ranges *ranges = o ? o->ranges : NULL;
  int rc = FG_OK;
  if (record && s->precision != FG_PRECISION_FP32) rc = fg__seterr(err, FG_EINVAL, "recording ranges needs fp32");
  if (!rc && s->precision == FG_PRECISION_INT8 && !ranges) {
    rc = fg_quant_ranges_builtin(m, &builtin, err);
    if (rc == FG_ENOTFOUND)
      rc = fg__seterr(err, FG_EINVAL, "int8 needs activation ranges for this model (fg_quant_ranges_load); "
                      "only the default models' are built in");
    ranges = builtin;
  }
  if (!rc && ranges && strcmp(ranges->model_sha256, m->stats.sha256))
    rc = fg__seterr(err, FG_EMODEL, "quantisation ranges were measured on model %.16s..., not on this model %.16s...",
                    ranges->model_sha256, m->stats.sha256);
  size_t nt = (size_t)g->n_t + 1, nn = (size_t)g->n_nodes + 1;
  if (!rc) {
    s->first_var = malloc(nt * sizeof *s->first_var);
    s->cls = calloc(nn, 1);
    s->absmax = calloc(nt, sizeof *s->absmax);
    s->nonneg = calloc(nt, 1);
    s->group = calloc(nt, sizeof *s->group);
    s->in_var = calloc((size_t)g->n_inputs + 1, sizeof *s->in_var);
    s->out_var = calloc((size_t)g->n_outputs + 1, sizeof *s->out_var);
    if (!s->first_var || !s->cls || !s->absmax || !s->nonneg || !s->group || !s->in_var || !s->out_var)
      rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    else
      for (size_t i = 0; i < nt; i++) s->first_var[i] = -1;
  }
  if (!rc) rc = ck(dnnl_engine_create(&s->eng, dnnl_cpu, 0), "engine", err);
  if (!rc) rc = ck(dnnl_stream_create(&s->stream, s->eng, dnnl_stream_default_flags), "stream", err);
  if (!rc) rc = classify(s, s->precision == FG_PRECISION_INT8 ? ranges : NULL, o && o->ranges_mean, err);
  if (!rc) rc = plan(s, err);
  if (!rc && record) { /* every var keeps its storage: the last run stays readable */
    for (int i = 0; i < s->n_v; i++) s->v[i].last = s->n_steps + 1, s->v[i].first = 0;
    s->record_ok = 1;
    s->in_lo = calloc((size_t)g->n_inputs + 1, sizeof *s->in_lo);
    s->in_hi = calloc((size_t)g->n_inputs + 1, sizeof *s->in_hi);
    if (!s->in_lo || !s->in_hi) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  if (!rc) rc = assign_buffers(s, err);
  if (!rc) rc = bind(s, err);
  fg_quant_ranges_destroy(builtin);
  if (!rc) rc = fg__session_wrap(&dnnl_backend, s, s->threads, out, err);
  if (rc) dnnl_destroy(s);
  return rc;
}

int fg_session_describe(const fg_session *fs, char *buf, size_t cap) {
  if (fs->be != &dnnl_backend) return -1;
  const dsession *s = fs->impl;
  size_t used = 0;
  if (cap) buf[0] = 0;
  for (int i = 0; i < s->n_steps; i++) {
    const dstep *st = &s->steps[i];
    if (st->node < 0) continue;
    const fg__node *n = &s->g->nodes[st->node];
    const char *impl = st->kind == DS_PRIM ? st->impl : st->kind == DS_REF ? "C" : "alias";
    int k = snprintf(buf + used, cap > used ? cap - used : 0, "%s %s %s %s %s <- %s\n", fg__node_label(n), n->op_type,
                     class_name[(int)s->cls[st->node]], impl, s->g->t[n->out[0]].name, s->g->t[n->in[0]].name);
    if (k > 0) used += (size_t)k;
  }
  return (int)used;
}
