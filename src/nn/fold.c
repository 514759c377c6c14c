/*
 * Shape inference and constant folding, one pass in topological order.
 *
 * The models we run have a fixed input size, so every shape is static: each
 * node's output shapes are computed from its inputs', and attributes are
 * validated on the way (this is where an unsupported op or attribute value is
 * refused, naming the node). A node whose inputs are all constant — Constant
 * itself, and the Shape→Gather→Unsqueeze→Concat chains exporters emit for
 * reshapes — is evaluated right here with the C kernels and disappears.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"

#define ERR_ATTR(n, attr, why) \
  fg__seterr(err, FG_EUNSUPPORTED, "node '%s' (%s): attribute '%s' %s", fg__node_label(n), (n)->op_type, attr, why)
#define ERR_SHAPE(n, why) \
  fg__seterr(err, FG_ESHAPE, "node '%s' (%s): %s", fg__node_label(n), (n)->op_type, why)

static fg__tensor *IN(fg__graph *g, fg__node *n, int i) { return &g->t[n->in[i]]; }
static fg__tensor *OUT(fg__graph *g, fg__node *n, int i) { return &g->t[n->out[i]]; }

static void set_shape(fg__tensor *t, int rank, const int64_t *dims, int dtype) {
  t->rank = rank;
  if (rank) memmove(t->dims, dims, sizeof(int64_t) * (size_t)rank);
  t->dtype = dtype;
}

/* Conv and pooling geometry from strides, dilations, pads and auto_pad. */
static int node_geom(fg__node *n, const fg__tensor *x, int kh, int kw, fg__pool_geom *geo, fg_error *err) {
  const int64_t *v;
  size_t c;
  geo->kh = kh; geo->kw = kw;
  geo->sh = geo->sw = geo->dh = geo->dw = 1;
  geo->pt = geo->pl = geo->pb = geo->pr = 0;
  if ((c = fg__attr_ints(n, "strides", &v))) {
    if (c != 2 || v[0] < 1 || v[1] < 1 || v[0] > 1024 || v[1] > 1024) goto bad_strides;
    geo->sh = (int)v[0]; geo->sw = (int)v[1];
  }
  if ((c = fg__attr_ints(n, "dilations", &v))) {
    if (c != 2 || v[0] < 1 || v[1] < 1 || v[0] > 1024 || v[1] > 1024)
      return fg__seterr(err, FG_EUNSUPPORTED, "node '%s' (%s): attribute 'dilations' must be two values in 1..1024", fg__node_label(n), n->op_type);
    geo->dh = (int)v[0]; geo->dw = (int)v[1];
  }
  fg__attr *ap = fg__node_attr(n, "auto_pad");
  const char *autopad = ap && ap->type == FG__ATTR_STRING ? ap->s : "NOTSET";
  if ((c = fg__attr_ints(n, "pads", &v))) {
    if (c != 4) return fg__seterr(err, FG_EUNSUPPORTED, "node '%s' (%s): attribute 'pads' must have 4 values (2-D only)", fg__node_label(n), n->op_type);
    for (int i = 0; i < 4; i++)
      if (v[i] < 0 || v[i] > 4096) return fg__seterr(err, FG_EFORMAT, "node '%s' (%s): attribute 'pads' out of range", fg__node_label(n), n->op_type);
    geo->pt = (int)v[0]; geo->pl = (int)v[1]; geo->pb = (int)v[2]; geo->pr = (int)v[3];
  }
  if (strcmp(autopad, "SAME_UPPER") == 0 || strcmp(autopad, "SAME_LOWER") == 0) {
    int64_t ih = x->dims[2], iw = x->dims[3];
    int64_t oh = (ih + geo->sh - 1) / geo->sh, ow = (iw + geo->sw - 1) / geo->sw;
    int64_t ph = (oh - 1) * geo->sh + (int64_t)(kh - 1) * geo->dh + 1 - ih;
    int64_t pw = (ow - 1) * geo->sw + (int64_t)(kw - 1) * geo->dw + 1 - iw;
    if (ph < 0) ph = 0;
    if (pw < 0) pw = 0;
    int upper = autopad[5] == 'U';
    geo->pt = (int)(upper ? ph / 2 : ph - ph / 2); geo->pb = (int)(ph - geo->pt);
    geo->pl = (int)(upper ? pw / 2 : pw - pw / 2); geo->pr = (int)(pw - geo->pl);
  } else if (strcmp(autopad, "VALID") == 0) {
    geo->pt = geo->pl = geo->pb = geo->pr = 0;
  } else if (strcmp(autopad, "NOTSET") != 0) {
    return fg__seterr(err, FG_EUNSUPPORTED, "node '%s' (%s): attribute 'auto_pad' value '%s'", fg__node_label(n), n->op_type, autopad);
  }
  return FG_OK;
bad_strides:
  return fg__seterr(err, FG_EUNSUPPORTED, "node '%s' (%s): attribute 'strides' must be two values in 1..1024", fg__node_label(n), n->op_type);
}

/* A constant int64 input (shape, axes, starts...) or NULL with an error. */
static const int64_t *const_ints(fg__graph *g, fg__node *n, int i, size_t *count, fg_error *err) {
  if (n->n_in <= i || n->in[i] < 0) { *count = 0; return NULL; }
  fg__tensor *t = IN(g, n, i);
  if (!t->data || t->dtype != FG__DT_INT64) {
    fg__seterr(err, FG_EUNSUPPORTED, "node '%s' (%s): input %d ('%s') must be a constant int64 tensor",
               fg__node_label(n), n->op_type, i, t->name);
    return NULL;
  }
  *count = fg__tensor_count(t);
  return t->data;
}

/* Resolve a Slice node's per-axis start and step and its output dims (shape
 * inference keeps start and step in the node's params for the kernel). */
static int slice_params(const fg__graph *gc, fg__node *n, int64_t *start, int64_t *step, int64_t *odims, fg_error *err) {
  fg__graph *g = (fg__graph *)gc;
  const fg__tensor *x = IN(g, n, 0);
  const int64_t *st, *en, *ax = NULL, *sp = NULL;
  size_t ns, ne, na = 0, nsp = 0;
  if (g->opset < 10) {
    ns = fg__attr_ints(n, "starts", &st);
    ne = fg__attr_ints(n, "ends", &en);
    na = fg__attr_ints(n, "axes", &ax);
  } else {
    fg_error e2;
    st = const_ints(g, n, 1, &ns, err);
    en = const_ints(g, n, 2, &ne, err);
    if (!st || !en) return err ? err->code : FG_EUNSUPPORTED;
    if (n->n_in > 3 && n->in[3] >= 0 && !(ax = const_ints(g, n, 3, &na, err))) return err ? err->code : FG_EUNSUPPORTED;
    if (n->n_in > 4 && n->in[4] >= 0 && !(sp = const_ints(g, n, 4, &nsp, &e2))) return fg__seterr(err, e2.code, "%s", e2.msg);
  }
  if (ns != ne || (ax && na != ns) || (sp && nsp != ns) || ns > (size_t)x->rank)
    return ERR_SHAPE(n, "starts/ends/axes/steps lengths disagree");
  for (int i = 0; i < x->rank; i++) { start[i] = 0; step[i] = 1; }
  int64_t end[FG__MAX_RANK];
  for (int i = 0; i < x->rank; i++) end[i] = x->dims[i];
  for (size_t i = 0; i < ns; i++) {
    int a = ax ? fg__norm_axis(ax[i], x->rank) : (int)i;
    if (a < 0) return ERR_SHAPE(n, "axis out of range");
    int64_t d = x->dims[a], s = st[i], e = en[i], p = sp ? sp[i] : 1;
    if (p == 0) return ERR_SHAPE(n, "step is zero");
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (p > 0) {
      s = s < 0 ? 0 : s > d ? d : s;
      e = e < 0 ? 0 : e > d ? d : e;
    } else {
      s = s < 0 ? -1 : s > d - 1 ? d - 1 : s;
      e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
    }
    start[a] = s; end[a] = e; step[a] = p;
  }
  for (int i = 0; i < x->rank; i++) {
    int64_t len = step[i] > 0 ? (end[i] - start[i] + step[i] - 1) / step[i]
                              : (start[i] - end[i] + (-step[i]) - 1) / (-step[i]);
    end[i] = len < 0 ? 0 : len; /* reuse: output dim */
  }
  if (odims) memcpy(odims, end, sizeof(int64_t) * (size_t)x->rank);
  return FG_OK;
}

/* How many inputs and outputs each operator takes at this opset, and which inputs
 * may be omitted (an empty name in the file). Anything else is refused here, so
 * the passes and kernels after this one can index inputs without checking. */
static int check_arity(const fg__graph *g, const fg__node *n, fg_error *err) {
  int op = n->op;
  int lo = 1, hi = 1, outs = 1;
  unsigned opt = 0; /* bit i: input i may be omitted */
  if (op == FG__OP_CONV || op == FG__OP_GEMM) { lo = 2; hi = 3; opt = 1u << 2; }
  else if (op == FG__OP_BATCHNORM) { lo = hi = 5; outs = 5; }
  else if (op == FG__OP_CLIP && g->opset >= 11) { hi = 3; opt = 3u << 1; }
  else if (op == FG__OP_PRELU || op == FG__OP_ADD || op == FG__OP_SUB || op == FG__OP_MUL ||
           op == FG__OP_DIV || op == FG__OP_MATMUL || op == FG__OP_GATHER || op == FG__OP_RESHAPE)
    lo = hi = 2;
  else if (op == FG__OP_MAXPOOL) outs = 2;
  else if (op == FG__OP_CONCAT) hi = 64;
  else if (op == FG__OP_SLICE) { if (g->opset >= 10) { lo = 3; hi = 5; opt = 3u << 3; } }
  else if (op == FG__OP_CONSTANT) lo = hi = 0;
  else if (op == FG__OP_UNSQUEEZE && g->opset >= 13) lo = hi = 2;
  else if (op == FG__OP_SQUEEZE && g->opset >= 13) { hi = 2; opt = 1u << 1; }
  else if (op == FG__OP_DROPOUT) { hi = 3; outs = 2; opt = 3u << 1; }
  if (n->n_in < lo || n->n_in > hi) {
    if (lo == hi)
      return fg__seterr(err, FG_EFORMAT, "node '%s' (%s): has %d inputs, takes %d at opset %lld", fg__node_label(n), n->op_type,
                        n->n_in, lo, (long long)g->opset);
    return fg__seterr(err, FG_EFORMAT, "node '%s' (%s): has %d inputs, takes %d to %d at opset %lld", fg__node_label(n), n->op_type,
                      n->n_in, lo, hi, (long long)g->opset);
  }
  for (int i = 0; i < n->n_in; i++)
    if (n->in[i] < 0 && !(i < 32 && (opt >> i) & 1))
      return fg__seterr(err, FG_EFORMAT, "node '%s' (%s): input %d is required but omitted", fg__node_label(n), n->op_type, i);
  if (n->n_out < 1 || n->n_out > outs)
    return fg__seterr(err, FG_EFORMAT, "node '%s' (%s): has %d outputs, takes %s%d", fg__node_label(n), n->op_type, n->n_out,
                      outs > 1 ? "1 to " : "", outs);
  return FG_OK;
}

/* Element count of an inferred tensor within the model's byte budget. */
static int check_count(const fg__tensor *t, const fg__graph *g, size_t *count) {
  size_t c = 1;
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] < 0 || fg__mul_size(c, (size_t)t->dims[i], &c)) return -1;
  size_t bytes;
  if (fg__mul_size(c, fg__dtype_size(t->dtype), &bytes) || bytes > g->max_total_bytes) return -1;
  *count = c;
  return 0;
}

/* Output shape(s) of one node; validates attributes. */
static int infer_node(fg__graph *g, fg__node *n, fg_error *err) {
  int op = n->op;
  int rc;
  if ((rc = check_arity(g, n, err))) return rc;
  for (int i = 0; i < n->n_in; i++)
    if (n->in[i] >= 0 && IN(g, n, i)->rank < 0)
      return ERR_SHAPE(n, "an input has an unknown shape");
  if (op == FG__OP_CONSTANT) {
    fg__attr *a = fg__node_attr(n, "value");
    if (!a || a->type != FG__ATTR_TENSOR) return ERR_ATTR(n, "value", "is missing (only tensor constants are supported)");
    fg__tensor *src = &g->t[a->tensor], *o = OUT(g, n, 0);
    o->data = src->data;
    src->data = NULL;
    set_shape(o, src->rank, src->dims, src->dtype);
    return FG_OK;
  }
  if (n->n_in < 1 || n->in[0] < 0) return ERR_SHAPE(n, "missing input");
  fg__tensor *x = IN(g, n, 0), *o = OUT(g, n, 0);
  int64_t d[FG__MAX_RANK];
  int r;
  if (op == FG__OP_CONV) {
    if (n->n_in < 2) return ERR_SHAPE(n, "needs a weight input");
    fg__tensor *w = IN(g, n, 1);
    if (x->rank != 4 || w->rank != 4) return ERR_SHAPE(n, "only 2-D convolution (4-D tensors) is supported");
    if (w->dims[2] > 4096 || w->dims[3] > 4096) return ERR_SHAPE(n, "kernel larger than 4096");
    if (w->dims[0] < 1 || w->dims[2] < 1 || w->dims[3] < 1) return ERR_SHAPE(n, "empty weights");
    int64_t groups = fg__attr_int(n, "group", 1);
    const int64_t *ks;
    size_t nk = fg__attr_ints(n, "kernel_shape", &ks);
    if (nk && (nk != 2 || ks[0] != w->dims[2] || ks[1] != w->dims[3])) return ERR_ATTR(n, "kernel_shape", "disagrees with the weights");
    if (groups < 1 || x->dims[1] % groups || w->dims[0] % groups || w->dims[1] * groups != x->dims[1])
      return ERR_ATTR(n, "group", "is inconsistent with the channel counts");
    if (n->n_in > 2 && n->in[2] >= 0 && fg__tensor_count(IN(g, n, 2)) != (size_t)w->dims[0])
      return ERR_SHAPE(n, "bias length differs from output channels");
    fg__pool_geom geo;
    if ((rc = node_geom(n, x, (int)w->dims[2], (int)w->dims[3], &geo, err))) return rc;
    int64_t eh = (int64_t)(geo.kh - 1) * geo.dh + 1, ew = (int64_t)(geo.kw - 1) * geo.dw + 1;
    /* compare before dividing: C division truncates (-1)/2 to 0, which would make a
     * kernel larger than the input produce one output row */
    if (x->dims[2] + geo.pt + geo.pb < eh || x->dims[3] + geo.pl + geo.pr < ew)
      return ERR_SHAPE(n, "kernel larger than the padded input");
    int64_t oh = (x->dims[2] + geo.pt + geo.pb - eh) / geo.sh + 1, ow = (x->dims[3] + geo.pl + geo.pr - ew) / geo.sw + 1;
    int64_t od[4] = {x->dims[0], w->dims[0], oh, ow};
    set_shape(o, 4, od, FG__DT_FLOAT);
    n->p.geo = geo;
    n->p.group = (int)groups;
  } else if (op == FG__OP_MAXPOOL || op == FG__OP_AVGPOOL) {
    if (x->rank != 4) return ERR_SHAPE(n, "only 2-D pooling is supported");
    const int64_t *ks;
    if (fg__attr_ints(n, "kernel_shape", &ks) != 2 || ks[0] < 1 || ks[1] < 1 || ks[0] > 4096 || ks[1] > 4096)
      return ERR_ATTR(n, "kernel_shape", "must be two positive values");
    if (fg__attr_int(n, "ceil_mode", 0)) return ERR_ATTR(n, "ceil_mode", "= 1 is not supported");
    if (fg__attr_int(n, "storage_order", 0)) return ERR_ATTR(n, "storage_order", "= 1 is not supported");
    n->p.count_pad = fg__attr_int(n, "count_include_pad", 0) != 0;
    if (n->n_out > 1) return ERR_SHAPE(n, "the Indices output is not supported");
    fg__pool_geom geo;
    if ((rc = node_geom(n, x, (int)ks[0], (int)ks[1], &geo, err))) return rc;
    if (geo.pt >= geo.kh || geo.pb >= geo.kh || geo.pl >= geo.kw || geo.pr >= geo.kw)
      return ERR_ATTR(n, "pads", "must be smaller than the kernel");
    int64_t eh = (int64_t)(geo.kh - 1) * geo.dh + 1, ew = (int64_t)(geo.kw - 1) * geo.dw + 1;
    if (x->dims[2] + geo.pt + geo.pb < eh || x->dims[3] + geo.pl + geo.pr < ew) /* before dividing, as for Conv */
      return ERR_SHAPE(n, "window larger than the padded input");
    int64_t od[4] = {x->dims[0], x->dims[1], (x->dims[2] + geo.pt + geo.pb - eh) / geo.sh + 1,
                     (x->dims[3] + geo.pl + geo.pr - ew) / geo.sw + 1};
    set_shape(o, 4, od, FG__DT_FLOAT);
    n->p.geo = geo;
  } else if (op == FG__OP_GLOBALAVGPOOL) {
    if (x->rank != 4) return ERR_SHAPE(n, "only 4-D input is supported");
    int64_t od[4] = {x->dims[0], x->dims[1], 1, 1};
    set_shape(o, 4, od, FG__DT_FLOAT);
    if (x->dims[2] > INT32_MAX || x->dims[3] > INT32_MAX) return ERR_SHAPE(n, "input plane too large");
    n->p.geo = (fg__pool_geom){.kh = (int)x->dims[2], .kw = (int)x->dims[3], .sh = 1, .sw = 1, .dh = 1, .dw = 1};
  } else if (op == FG__OP_BATCHNORM) {
    if (n->n_in != 5 || x->rank < 2) return ERR_SHAPE(n, "needs 5 inputs and a channel axis");
    for (int i = 1; i < 5; i++)
      if (!IN(g, n, i)->data || fg__tensor_count(IN(g, n, i)) != (size_t)x->dims[1])
        return ERR_SHAPE(n, "scale/bias/mean/var must be constants of the channel count");
    if (fg__attr_int(n, "training_mode", 0)) return ERR_ATTR(n, "training_mode", "= 1 is not supported");
    if (!fg__attr_int(n, "spatial", 1)) return ERR_ATTR(n, "spatial", "= 0 is not supported");
    n->p.eps = fg__attr_float(n, "epsilon", 1e-5f);
    fg__attr_float(n, "momentum", 0.9f);
    fg__node_attr(n, "is_test");
    if (n->n_out > 1) return ERR_SHAPE(n, "training outputs are not supported");
    set_shape(o, x->rank, x->dims, FG__DT_FLOAT);
  } else if (op == FG__OP_RELU || op == FG__OP_SIGMOID || op == FG__OP_EXP || op == FG__OP_LEAKYRELU ||
             op == FG__OP_SOFTMAX || op == FG__OP_IDENTITY || op == FG__OP_DROPOUT || op == FG__OP_CLIP) {
    if (op == FG__OP_LEAKYRELU) n->p.alpha = fg__attr_float(n, "alpha", 0.01f);
    if (op == FG__OP_CLIP) {
      n->p.lo = -INFINITY;
      n->p.hi = INFINITY;
      if (g->opset < 11) {
        n->p.lo = fg__attr_float(n, "min", -INFINITY);
        n->p.hi = fg__attr_float(n, "max", INFINITY);
      } else {
        fg__attr_float(n, "min", 0); /* read, so that check_attrs names a wrong type */
        fg__attr_float(n, "max", 0);
        for (int i = 1; i < n->n_in; i++)
          if (n->in[i] >= 0 && (!IN(g, n, i)->data || IN(g, n, i)->dtype != FG__DT_FLOAT || fg__tensor_count(IN(g, n, i)) != 1))
            return ERR_SHAPE(n, "min/max must be float scalar constants");
        if (n->n_in > 1 && n->in[1] >= 0) n->p.lo = *(const float *)IN(g, n, 1)->data;
        if (n->n_in > 2 && n->in[2] >= 0) n->p.hi = *(const float *)IN(g, n, 2)->data;
      }
    }
    if (op == FG__OP_SOFTMAX && (n->p.axis = fg__norm_axis(fg__attr_int(n, "axis", g->opset >= 13 ? -1 : 1), x->rank)) < 0)
      return ERR_ATTR(n, "axis", "is out of range");
    if (op == FG__OP_DROPOUT) {
      fg__attr_float(n, "ratio", 0.5f);
      fg__node_attr(n, "is_test");
      fg__node_attr(n, "seed");
      if (n->n_in > 2 && n->in[2] >= 0) return ERR_SHAPE(n, "training_mode input is not supported");
      if (n->n_out > 1) return ERR_SHAPE(n, "the mask output is not supported");
    }
    if (x->dtype != FG__DT_FLOAT && op != FG__OP_IDENTITY) return ERR_SHAPE(n, "only float32 is supported");
    set_shape(o, x->rank, x->dims, x->dtype);
  } else if (op == FG__OP_ADD || op == FG__OP_SUB || op == FG__OP_MUL || op == FG__OP_DIV ||
             op == FG__OP_PRELU) {
    if (n->n_in != 2) return ERR_SHAPE(n, "needs two inputs");
    fg__tensor *y = IN(g, n, 1);
    if (fg__node_attr(n, "broadcast") || fg__node_attr(n, "axis"))
      if (g->opset < 7) return ERR_ATTR(n, "broadcast", "(legacy opset < 7 broadcasting) is not supported");
    if (x->dtype != FG__DT_FLOAT || y->dtype != FG__DT_FLOAT) return ERR_SHAPE(n, "only float32 is supported");
    int64_t yd[FG__MAX_RANK];
    int yr = y->rank;
    memcpy(yd, y->dims, sizeof yd);
    /* A [C] slope on an NCHW input is per channel before opset 7 (and in exporters
     * that relied on it, when it could not broadcast along W anyway); from opset 7
     * it broadcasts numpy-style, i.e. along W. */
    if (op == FG__OP_PRELU && yr == 1 && x->rank == 4 && yd[0] == x->dims[1] && y->data &&
        (g->opset < 7 || (x->dims[3] != yd[0] && yd[0] != 1))) {
      yr = 3; yd[0] = x->dims[1]; yd[1] = 1; yd[2] = 1;
      y->rank = 3; memcpy(y->dims, yd, sizeof yd);
    }
    if (fg__broadcast_shape(x->rank, x->dims, yr, yd, &r, d)) return ERR_SHAPE(n, "inputs cannot be broadcast together");
    if (op == FG__OP_PRELU && (r != x->rank || memcmp(d, x->dims, sizeof(int64_t) * (size_t)r)))
      return ERR_SHAPE(n, "slope must broadcast to the input");
    set_shape(o, r, d, FG__DT_FLOAT);
  } else if (op == FG__OP_GEMM) {
    fg__tensor *b = IN(g, n, 1);
    if (x->rank != 2 || b->rank != 2) return ERR_SHAPE(n, "A and B must be 2-D");
    int ta = (int)fg__attr_int(n, "transA", 0), tb = (int)fg__attr_int(n, "transB", 0);
    n->p.trans_a = ta != 0;
    n->p.trans_b = tb != 0;
    n->p.alpha = fg__attr_float(n, "alpha", 1);
    n->p.beta = fg__attr_float(n, "beta", 1);
    fg__node_attr(n, "broadcast");
    int64_t M = ta ? x->dims[1] : x->dims[0], K = ta ? x->dims[0] : x->dims[1];
    int64_t K2 = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K != K2) return ERR_SHAPE(n, "inner dimensions differ");
    int64_t od[2] = {M, N};
    if (n->n_in > 2 && n->in[2] >= 0) {
      fg__tensor *c = IN(g, n, 2);
      if (fg__broadcast_shape(2, od, c->rank, c->dims, &r, d) || r != 2 || d[0] != M || d[1] != N)
        return ERR_SHAPE(n, "C does not broadcast to the output");
    }
    set_shape(o, 2, od, FG__DT_FLOAT);
  } else if (op == FG__OP_MATMUL) {
    fg__tensor *b = IN(g, n, 1);
    if (x->rank < 2 || b->rank < 2) return ERR_SHAPE(n, "1-D MatMul operands are not supported");
    if (b->rank > 2 && (b->rank != x->rank || memcmp(b->dims, x->dims, sizeof(int64_t) * (size_t)(x->rank - 2))))
      return ERR_SHAPE(n, "batched B must have the same batch dims as A");
    if (x->dims[x->rank - 1] != b->dims[b->rank - 2]) return ERR_SHAPE(n, "inner dimensions differ");
    memcpy(d, x->dims, sizeof d);
    d[x->rank - 1] = b->dims[b->rank - 1];
    set_shape(o, x->rank, d, FG__DT_FLOAT);
    n->p.alpha = n->p.beta = 1;
  } else if (op == FG__OP_RESHAPE) {
    size_t ns;
    const int64_t *s;
    if (g->opset < 5) return ERR_SHAPE(n, "opset < 5 Reshape is not supported");
    if (!(s = const_ints(g, n, 1, &ns, err))) return err ? err->code : FG_EUNSUPPORTED;
    if (fg__attr_int(n, "allowzero", 0)) return ERR_ATTR(n, "allowzero", "= 1 is not supported");
    if (ns > FG__MAX_RANK) return ERR_SHAPE(n, "target rank too large");
    size_t total = fg__tensor_count(x), known = 1;
    int neg = -1;
    for (size_t i = 0; i < ns; i++) {
      if (s[i] == -1) { if (neg >= 0) return ERR_SHAPE(n, "more than one -1 in the target shape"); neg = (int)i; continue; }
      if (s[i] == 0) { if ((int)i >= x->rank) return ERR_SHAPE(n, "0 refers past the input rank"); d[i] = x->dims[i]; }
      else if (s[i] < 0) return ERR_SHAPE(n, "negative target dimension");
      else d[i] = s[i];
      if (fg__mul_size(known, (size_t)d[i], &known)) return ERR_SHAPE(n, "target shape overflows");
    }
    if (neg >= 0) { if (!known || total % known) return ERR_SHAPE(n, "cannot infer -1"); d[neg] = (int64_t)(total / known); known = total; }
    if (known != total) return ERR_SHAPE(n, "element count changes");
    set_shape(o, (int)ns, d, x->dtype);
  } else if (op == FG__OP_FLATTEN) {
    int axis = (int)fg__attr_int(n, "axis", 1);
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis > x->rank) return ERR_ATTR(n, "axis", "is out of range");
    int64_t a = 1, b = 1;
    for (int i = 0; i < x->rank; i++) { if (i < axis) a *= x->dims[i]; else b *= x->dims[i]; }
    int64_t od[2] = {a, b};
    set_shape(o, 2, od, x->dtype);
  } else if (op == FG__OP_SQUEEZE || op == FG__OP_UNSQUEEZE) {
    const int64_t *ax;
    size_t na;
    if (g->opset >= 13) {
      if (n->n_in > 1 && n->in[1] >= 0) { if (!(ax = const_ints(g, n, 1, &na, err))) return err ? err->code : FG_EUNSUPPORTED; }
      else { ax = NULL; na = 0; }
    } else na = fg__attr_ints(n, "axes", &ax);
    int sq = op == FG__OP_SQUEEZE;
    int orank = sq ? x->rank : x->rank + (int)na;
    if (orank > FG__MAX_RANK || na > FG__MAX_RANK) return ERR_SHAPE(n, "rank too large");
    char mark[FG__MAX_RANK] = {0};
    for (size_t i = 0; i < na; i++) {
      int a = fg__norm_axis(ax[i], orank);
      if (a < 0 || mark[a]) return ERR_ATTR(n, "axes", "has an out-of-range or repeated axis");
      if (sq && x->dims[a] != 1) return ERR_SHAPE(n, "squeezed axis is not 1");
      mark[a] = 1;
    }
    r = 0;
    if (sq) {
      for (int i = 0; i < x->rank; i++)
        if (!(na ? mark[i] : x->dims[i] == 1)) d[r++] = x->dims[i];
    } else {
      for (int i = 0, j = 0; i < orank; i++) d[r++] = mark[i] ? 1 : x->dims[j++];
    }
    set_shape(o, r, d, x->dtype);
  } else if (op == FG__OP_TRANSPOSE) {
    const int64_t *perm;
    size_t np = fg__attr_ints(n, "perm", &perm);
    char seen[FG__MAX_RANK] = {0};
    if (np && np != (size_t)x->rank) return ERR_ATTR(n, "perm", "length differs from the rank");
    for (int i = 0; i < x->rank; i++) {
      int64_t p = np ? perm[i] : x->rank - 1 - i;
      if (p < 0 || p >= x->rank || seen[p]) return ERR_ATTR(n, "perm", "is not a permutation");
      seen[p] = 1;
      d[i] = x->dims[p];
      n->p.perm[i] = p;
    }
    set_shape(o, x->rank, d, x->dtype);
  } else if (op == FG__OP_CONCAT) {
    fg__attr *aa = fg__node_attr(n, "axis");
    if (!aa || aa->type != FG__ATTR_INT) return ERR_ATTR(n, "axis", "is required (an int)");
    int axis = fg__norm_axis(aa->i, x->rank);
    if (axis < 0) return ERR_ATTR(n, "axis", "is out of range");
    n->p.axis = axis;
    memcpy(d, x->dims, sizeof d);
    d[axis] = 0;
    for (int i = 0; i < n->n_in; i++) {
      fg__tensor *t = IN(g, n, i);
      if (t->rank != x->rank || t->dtype != x->dtype) return ERR_SHAPE(n, "inputs differ in rank or type");
      for (int j = 0; j < x->rank; j++)
        if (j != axis && t->dims[j] != x->dims[j]) return ERR_SHAPE(n, "inputs differ off the concat axis");
      d[axis] += t->dims[axis];
    }
    set_shape(o, x->rank, d, x->dtype);
  } else if (op == FG__OP_SLICE) {
    int64_t st[FG__MAX_RANK], sp[FG__MAX_RANK];
    if (g->opset < 10 && n->n_in != 1) return ERR_SHAPE(n, "takes one input before opset 10 (starts/ends are attributes)");
    if ((rc = slice_params(g, n, st, sp, d, err))) return rc;
    set_shape(o, x->rank, d, x->dtype);
    memcpy(n->p.start, st, sizeof st);
    memcpy(n->p.step, sp, sizeof sp);
  } else if (op == FG__OP_SHAPE) {
    int64_t s = fg__attr_int(n, "start", 0), e = fg__attr_int(n, "end", x->rank);
    if (s < 0) s += x->rank;
    if (e < 0) e += x->rank;
    s = s < 0 ? 0 : s > x->rank ? x->rank : s;
    e = e < 0 ? 0 : e > x->rank ? x->rank : e;
    int64_t od[1] = {e > s ? e - s : 0};
    set_shape(o, 1, od, FG__DT_INT64);
    n->p.start[0] = s;
  } else if (op == FG__OP_GATHER) {
    fg__tensor *ix = IN(g, n, 1);
    int axis = fg__norm_axis(fg__attr_int(n, "axis", 0), x->rank);
    if (axis < 0) return ERR_ATTR(n, "axis", "is out of range");
    n->p.axis = axis;
    if (!ix->data || ix->dtype != FG__DT_INT64) return ERR_SHAPE(n, "indices must be a constant integer tensor");
    if (x->rank + ix->rank - 1 > FG__MAX_RANK) return ERR_SHAPE(n, "output rank too large");
    r = 0;
    for (int i = 0; i < axis; i++) d[r++] = x->dims[i];
    for (int i = 0; i < ix->rank; i++) d[r++] = ix->dims[i];
    for (int i = axis + 1; i < x->rank; i++) d[r++] = x->dims[i];
    set_shape(o, r, d, x->dtype);
  } else {
    return fg__seterr(err, FG_EUNSUPPORTED, "node '%s': unsupported operator '%s'", fg__node_label(n), n->op_type);
  }
  size_t c;
  for (int i = 0; i < n->n_out; i++) {
    fg__tensor *t = OUT(g, n, i);
    if (t->rank < 0) return ERR_SHAPE(n, "output shape could not be inferred");
    if (check_count(t, g, &c)) return fg__seterr(err, FG_ELIMIT, "node '%s' (%s): output '%s' too large", fg__node_label(n), n->op_type, t->name);
  }
  return FG_OK;
}

/* Rough cost of evaluating node n once (multiply-adds or element moves), so that
 * folding a constant subgraph at load time cannot be made to take hours. */
static double fold_cost(const fg__graph *g, fg__node *n) {
  const fg__tensor *o = &g->t[n->out[0]];
  double out = (double)fg__tensor_count(o), per = 1;
  if (n->op == FG__OP_CONV) {
    const fg__tensor *w = &g->t[n->in[1]];
    per = (double)w->dims[1] * (double)w->dims[2] * (double)w->dims[3];
  } else if (n->op == FG__OP_GEMM || n->op == FG__OP_MATMUL) {
    const fg__tensor *a = &g->t[n->in[0]];
    per = a->rank >= 1 ? (double)a->dims[a->rank - 1] + (a->rank >= 2 ? (double)a->dims[a->rank - 2] : 0) : 1; /* K (or M if transA) */
  } else if (n->op == FG__OP_MAXPOOL || n->op == FG__OP_AVGPOOL) {
    const int64_t *ks;
    if (fg__attr_ints(n, "kernel_shape", &ks) == 2) per = (double)ks[0] * (double)ks[1];
  } else if (n->op == FG__OP_GLOBALAVGPOOL || n->op == FG__OP_SOFTMAX) {
    per = (double)fg__tensor_count(&g->t[n->in[0]]) / (out > 0 ? out : 1) + 2;
  }
  return out * per;
}

#define MAX_FOLD_COST 2e8 /* ~0.2 s of plain C; exporters' shape chains cost a few dozen */

static int fold_node(fg__graph *g, fg__node *n, double *cost, fg_error *err) {
  const void *in[64];
  void *out[16] = {0};
  *cost += fold_cost(g, n);
  if (*cost > MAX_FOLD_COST)
    return fg__seterr(err, FG_ELIMIT, "node '%s' (%s): constant subgraph too costly to fold at load", fg__node_label(n), n->op_type);
  for (int i = 0; i < n->n_in; i++) in[i] = n->in[i] >= 0 ? g->t[n->in[i]].data : NULL;
  for (int i = 0; i < n->n_out; i++) {
    fg__tensor *t = &g->t[n->out[i]];
    t->data = malloc(fg__tensor_count(t) * fg__dtype_size(t->dtype) + 1);
    if (!t->data) return fg__seterr(err, FG_ENOMEM, "out of memory folding node '%s'", fg__node_label(n));
    out[i] = t->data;
  }
  fg__kctx k = {g, n, in, out};
  int rc = fg__kernel_run(&k, err);
  if (rc) return rc;
  n->dead = 1;
  return FG_OK;
}

/* Budget: graph inputs, every node output (folded constants included) and, in
 * onnx_load.c, the initializers each count against max_total_bytes. */
static int add_bytes(const fg__graph *g, const fg__tensor *t, size_t *total) {
  size_t b = fg__tensor_count(t) * fg__dtype_size(t->dtype);
  if (b > g->max_total_bytes - *total) return -1;
  *total += b;
  return 0;
}

int fg__graph_infer(fg__graph *g, fg_error *err) {
  size_t total = 0;
  double cost = 0;
  for (int i = 0; i < g->n_inputs; i++)
    if (add_bytes(g, &g->t[g->inputs[i]], &total))
      return fg__seterr(err, FG_ELIMIT, "input '%s': inputs exceed the size limit", g->t[g->inputs[i]].name);
  for (int i = 0; i < g->n_nodes; i++) {
    fg__node *n = &g->nodes[i];
    if (n->op == FG__OP_UNKNOWN)
      return fg__seterr(err, FG_EUNSUPPORTED, "node '%s': unsupported operator '%s'", fg__node_label(n), n->op_type);
    int rc = infer_node(g, n, err);
    if (rc) return rc;
    for (int k = 0; k < n->n_out; k++)
      if (add_bytes(g, &g->t[n->out[k]], &total))
        return fg__seterr(err, FG_ELIMIT, "node '%s' (%s): tensors exceed the size limit", fg__node_label(n), n->op_type);
    if (n->op == FG__OP_CONSTANT) { n->dead = 1; continue; }
    int all_const = 1;
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] >= 0 && !g->t[n->in[k]].data) all_const = 0;
    if (all_const || n->op == FG__OP_SHAPE) {
      if ((rc = fold_node(g, n, &cost, err))) return rc;
      continue;
    }
    for (int k = 0; k < n->n_out; k++)
      if (fg__tensor_count(&g->t[n->out[k]]) == 0)
        return fg__seterr(err, FG_EUNSUPPORTED, "node '%s' (%s): output '%s' is empty (zero-size tensors are not supported)",
                          fg__node_label(n), n->op_type, g->t[n->out[k]].name);
  }
  for (int i = 0; i < g->n_inputs; i++)
    if (fg__tensor_count(&g->t[g->inputs[i]]) == 0)
      return fg__seterr(err, FG_EUNSUPPORTED, "input '%s' is empty (zero-size tensors are not supported)", g->t[g->inputs[i]].name);
  for (int i = 0; i < g->n_outputs; i++) {
    fg__tensor *t = &g->t[g->outputs[i]];
    if (t->rank < 0) return fg__seterr(err, FG_EFORMAT, "graph output '%s' is never produced", t->name);
    if (t->dtype != FG__DT_FLOAT) return fg__seterr(err, FG_EUNSUPPORTED, "graph output '%s' is not float32", t->name);
  }
  return fg__graph_check_attrs(g, err);
}
