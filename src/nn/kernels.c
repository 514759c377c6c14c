/*
 * Plain C kernels, one per ONNX operator, on dense row-major (NCHW) tensors.
 *
 * They serve three purposes: the ops that XNNPACK lacks (the detector head's
 * Transpose/Slice/Exp/Concat/Div...) run here; constant folding evaluates
 * subgraphs with them at load time; and the reference backend runs whole models
 * with nothing but these, which the tests compare XNNPACK against. So they are
 * written to be obviously right first: no SIMD, simple loops.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"

#define T(k, i) (&(k)->g->t[(k)->n->in[i]])
#define TO(k, i) (&(k)->g->t[(k)->n->out[i]])

int fg__norm_axis(int64_t axis, int rank) {
  if (axis < 0) axis += rank;
  return axis < 0 || axis >= rank ? -1 : (int)axis;
}

int fg__broadcast_shape(int ra, const int64_t *a, int rb, const int64_t *b, int *ro, int64_t *o) {
  int r = ra > rb ? ra : rb;
  for (int i = 0; i < r; i++) {
    int64_t da = i - (r - ra) >= 0 ? a[i - (r - ra)] : 1;
    int64_t db = i - (r - rb) >= 0 ? b[i - (r - rb)] : 1;
    if (da != db && da != 1 && db != 1) return -1;
    o[i] = da == 1 ? db : da;
  }
  *ro = r;
  return 0;
}

/* Strides of `t` broadcast against an output of rank r (0 where broadcast). */
static void bcast_strides(const fg__tensor *t, int r, const int64_t *odims, size_t *st) {
  size_t s = 1;
  for (int i = r - 1; i >= 0; i--) {
    int ti = i - (r - t->rank);
    int64_t d = ti >= 0 ? t->dims[ti] : 1;
    st[i] = (d == 1 && odims[i] != 1) || ti < 0 ? 0 : s;
    if (ti >= 0) s *= (size_t)d;
  }
}

static int binary(const fg__kctx *k, int op) {
  const fg__tensor *o = TO(k, 0);
  const float *a = k->in[0], *b = k->in[1];
  float *y = k->out[0];
  size_t sa[FG__MAX_RANK], sb[FG__MAX_RANK], idx[FG__MAX_RANK] = {0};
  int r = o->rank;
  bcast_strides(T(k, 0), r, o->dims, sa);
  bcast_strides(T(k, 1), r, o->dims, sb);
  size_t n = fg__tensor_count(o), oa = 0, ob = 0;
  size_t na = fg__tensor_count(T(k, 0)), nb = fg__tensor_count(T(k, 1));
  /* Fast paths for the common cases: same shape, or one scalar operand. */
  if ((na == n || na == 1) && (nb == n || nb == 1) && op != 'p') {
    size_t ia = na == n, ib = nb == n;
    switch (op) {
    case '+': for (size_t i = 0; i < n; i++) y[i] = a[i * ia] + b[i * ib]; break;
    case '-': for (size_t i = 0; i < n; i++) y[i] = a[i * ia] - b[i * ib]; break;
    case '*': for (size_t i = 0; i < n; i++) y[i] = a[i * ia] * b[i * ib]; break;
    default: for (size_t i = 0; i < n; i++) y[i] = a[i * ia] / b[i * ib]; break;
    }
    return FG_OK;
  }
  for (size_t i = 0; i < n; i++) {
    float x = a[oa], z = b[ob];
    switch (op) {
    case '+': y[i] = x + z; break;
    case '-': y[i] = x - z; break;
    case '*': y[i] = x * z; break;
    case '/': y[i] = x / z; break;
    case 'p': y[i] = x >= 0 ? x : x * z; break; /* PRelu */
    }
    for (int d = r - 1; d >= 0; d--) {
      oa += sa[d];
      ob += sb[d];
      if (++idx[d] < (size_t)o->dims[d]) break;
      oa -= sa[d] * idx[d];
      ob -= sb[d] * idx[d];
      idx[d] = 0;
    }
  }
  return FG_OK;
}

static int conv(const fg__kctx *k) {
  const fg__node *n = k->n;
  const fg__tensor *x = T(k, 0), *o = TO(k, 0);
  const fg__pool_geom g = n->p.geo;
  int groups = n->p.group;
  const float *X = k->in[0], *W = k->in[1], *B = n->n_in > 2 && n->in[2] >= 0 ? k->in[2] : NULL;
  float *Y = k->out[0];
  int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], Wd = x->dims[3];
  int64_t M = o->dims[1], OH = o->dims[2], OW = o->dims[3];
  int64_t cpg = C / groups, mpg = M / groups;
  for (int64_t b = 0; b < N; b++)
    for (int64_t m = 0; m < M; m++) {
      int64_t gi = m / mpg;
      for (int64_t oy = 0; oy < OH; oy++)
        for (int64_t ox = 0; ox < OW; ox++) {
          double acc = B ? B[m] : 0.0;
          for (int64_t c = 0; c < cpg; c++)
            for (int ky = 0; ky < g.kh; ky++) {
              int64_t iy = oy * g.sh - g.pt + (int64_t)ky * g.dh;
              if (iy < 0 || iy >= H) continue;
              for (int kx = 0; kx < g.kw; kx++) {
                int64_t ix = ox * g.sw - g.pl + (int64_t)kx * g.dw;
                if (ix < 0 || ix >= Wd) continue;
                acc += (double)X[((b * C + gi * cpg + c) * H + iy) * Wd + ix] *
                       W[((m * cpg + c) * g.kh + ky) * g.kw + kx];
              }
            }
          Y[((b * M + m) * OH + oy) * OW + ox] = (float)acc;
        }
    }
  return FG_OK;
}

static int pool(const fg__kctx *k, int is_max) {
  const fg__node *n = k->n;
  const fg__tensor *x = T(k, 0), *o = TO(k, 0);
  const fg__pool_geom g = n->p.geo; /* GlobalAveragePool: the whole plane */
  int count_pad = n->p.count_pad;
  const float *X = k->in[0];
  float *Y = k->out[0];
  int64_t NC = x->dims[0] * x->dims[1], H = x->dims[2], W = x->dims[3], OH = o->dims[2], OW = o->dims[3];
  for (int64_t c = 0; c < NC; c++)
    for (int64_t oy = 0; oy < OH; oy++)
      for (int64_t ox = 0; ox < OW; ox++) {
        double acc = is_max ? -INFINITY : 0.0;
        int cnt = 0;
        for (int ky = 0; ky < g.kh; ky++) {
          int64_t iy = oy * g.sh - g.pt + (int64_t)ky * g.dh;
          for (int kx = 0; kx < g.kw; kx++) {
            int64_t ix = ox * g.sw - g.pl + (int64_t)kx * g.dw;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) { cnt += count_pad; continue; }
            float v = X[(c * H + iy) * W + ix];
            if (is_max) acc = v > acc ? v : acc; else acc += v;
            cnt++;
          }
        }
        Y[(c * OH + oy) * OW + ox] = (float)(is_max ? acc : acc / (cnt ? cnt : 1));
      }
  return FG_OK;
}

/* Y = alpha * A' B' + beta * C; MatMul is the alpha=1, no-C case (batched over leading dims of A). */
static int gemm(const fg__kctx *k, int is_matmul) {
  const fg__node *n = k->n;
  const fg__tensor *a = T(k, 0), *b = T(k, 1), *o = TO(k, 0);
  int ta = n->p.trans_a, tb = n->p.trans_b; /* 0 for MatMul, alpha = beta = 1 */
  float alpha = n->p.alpha, beta = n->p.beta;
  int64_t M = o->dims[o->rank - 2], N = o->dims[o->rank - 1];
  int64_t K = ta ? a->dims[a->rank - 2] : a->dims[a->rank - 1];
  size_t batch = fg__tensor_count(o) / (size_t)(M * N);
  size_t bstride_b = b->rank > 2 ? (size_t)(K * N) : 0;
  const float *A = k->in[0], *B = k->in[1], *C = !is_matmul && n->n_in > 2 && n->in[2] >= 0 ? k->in[2] : NULL;
  size_t sc[FG__MAX_RANK] = {0};
  if (C) bcast_strides(T(k, 2), 2, o->dims + o->rank - 2, sc);
  float *Y = k->out[0];
  for (size_t bi = 0; bi < batch; bi++)
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double acc = 0;
        for (int64_t p = 0; p < K; p++) {
          float av = ta ? A[bi * M * K + p * M + i] : A[bi * M * K + i * K + p];
          float bv = tb ? B[bi * bstride_b + j * K + p] : B[bi * bstride_b + p * N + j];
          acc += (double)av * bv;
        }
        acc *= alpha;
        if (C) acc += beta * C[i * sc[0] + j * sc[1]];
        Y[bi * M * N + i * N + j] = (float)acc;
      }
  return FG_OK;
}

static int softmax(const fg__kctx *k) {
  const fg__tensor *x = T(k, 0);
  int axis = k->n->p.axis;
  size_t outer = 1, len = 1, inner = 1;
  for (int i = 0; i < x->rank; i++) {
    if (i < axis) outer *= (size_t)x->dims[i];
    else if (k->g->opset < 13 || i == axis) len *= (size_t)x->dims[i];
    else inner *= (size_t)x->dims[i];
  }
  const float *X = k->in[0];
  float *Y = k->out[0];
  for (size_t o = 0; o < outer; o++)
    for (size_t in = 0; in < inner; in++) {
      const float *xp = X + o * len * inner + in;
      float *yp = Y + o * len * inner + in;
      float mx = -INFINITY;
      for (size_t i = 0; i < len; i++) mx = xp[i * inner] > mx ? xp[i * inner] : mx;
      double s = 0;
      for (size_t i = 0; i < len; i++) s += yp[i * inner] = expf(xp[i * inner] - mx);
      for (size_t i = 0; i < len; i++) yp[i * inner] = (float)(yp[i * inner] / s);
    }
  return FG_OK;
}

static int batchnorm(const fg__kctx *k) {
  const fg__tensor *x = T(k, 0);
  float eps = k->n->p.eps;
  const float *X = k->in[0], *s = k->in[1], *b = k->in[2], *m = k->in[3], *v = k->in[4];
  float *Y = k->out[0];
  size_t C = (size_t)x->dims[1], inner = fg__tensor_count(x) / (size_t)x->dims[0] / C;
  for (size_t bi = 0; bi < (size_t)x->dims[0]; bi++)
    for (size_t c = 0; c < C; c++) {
      float sc = s[c] / sqrtf(v[c] + eps), sh = b[c] - m[c] * sc;
      for (size_t i = 0; i < inner; i++) {
        size_t o = (bi * C + c) * inner + i;
        Y[o] = X[o] * sc + sh;
      }
    }
  return FG_OK;
}

static int transpose(const fg__kctx *k) {
  const fg__tensor *x = T(k, 0), *o = TO(k, 0);
  const int64_t *perm = k->n->p.perm;
  size_t esz = fg__dtype_size(x->dtype), st[FG__MAX_RANK], s = 1, idx[FG__MAX_RANK] = {0};
  size_t ist[FG__MAX_RANK];
  for (int i = x->rank - 1; i >= 0; i--) { ist[i] = s; s *= (size_t)x->dims[i]; }
  for (int i = 0; i < o->rank; i++) st[i] = ist[perm[i]];
  size_t cnt = fg__tensor_count(o), off = 0;
  const char *X = k->in[0];
  char *Y = k->out[0];
  for (size_t i = 0; i < cnt; i++) {
    memcpy(Y + i * esz, X + off * esz, esz);
    for (int d = o->rank - 1; d >= 0; d--) {
      off += st[d];
      if (++idx[d] < (size_t)o->dims[d]) break;
      off -= st[d] * idx[d];
      idx[d] = 0;
    }
  }
  return FG_OK;
}

static int concat(const fg__kctx *k) {
  const fg__node *n = k->n;
  const fg__tensor *o = TO(k, 0);
  int axis = n->p.axis;
  size_t esz = fg__dtype_size(o->dtype), outer = 1, inner = esz;
  for (int i = 0; i < axis; i++) outer *= (size_t)o->dims[i];
  for (int i = axis + 1; i < o->rank; i++) inner *= (size_t)o->dims[i];
  size_t orow = (size_t)o->dims[axis] * inner, pos = 0;
  char *Y = k->out[0];
  for (int j = 0; j < n->n_in; j++) {
    size_t row = (size_t)T(k, j)->dims[axis] * inner;
    const char *X = k->in[j];
    for (size_t i = 0; i < outer; i++) memcpy(Y + i * orow + pos, X + i * row, row);
    pos += row;
  }
  return FG_OK;
}

/* Slice: start and step per axis were resolved by shape inference (fold.c). */
static int slice(const fg__kctx *k) {
  const int64_t *start = k->n->p.start, *step = k->n->p.step;
  const fg__tensor *x = T(k, 0), *o = TO(k, 0);
  size_t esz = fg__dtype_size(x->dtype), ist[FG__MAX_RANK], s = 1, idx[FG__MAX_RANK] = {0};
  for (int i = x->rank - 1; i >= 0; i--) { ist[i] = s; s *= (size_t)x->dims[i]; }
  int64_t off = 0;
  for (int i = 0; i < x->rank; i++) off += start[i] * (int64_t)ist[i];
  size_t cnt = fg__tensor_count(o);
  const char *X = k->in[0];
  char *Y = k->out[0];
  /* Copy whole rows when the innermost axis is taken contiguously (the usual case). */
  int last = o->rank - 1;
  size_t run = last >= 0 && step[last] == 1 ? (size_t)o->dims[last] : 1;
  int top = run > 1 ? last - 1 : last;
  /* Short rows of floats (the detector's box decoding takes 2 of 4 values per
   * anchor, 4420 times): a loop, not a memcpy call per row. */
  int small_f32 = esz == sizeof(float) && run <= 8;
  for (size_t i = 0; i < cnt; i += run) {
    if (small_f32) {
      const float *xs = (const float *)(const void *)(X + (size_t)off * esz);
      float *ys = (float *)(void *)(Y + i * esz);
      for (size_t j = 0; j < run; j++) ys[j] = xs[j];
    } else
      memcpy(Y + i * esz, X + (size_t)off * esz, esz * run);
    for (int d = top; d >= 0; d--) {
      off += step[d] * (int64_t)ist[d];
      if (++idx[d] < (size_t)o->dims[d]) break;
      off -= step[d] * (int64_t)ist[d] * (int64_t)idx[d];
      idx[d] = 0;
    }
  }
  return FG_OK;
}

static int gather(const fg__kctx *k, fg_error *err) {
  const fg__node *n = k->n;
  const fg__tensor *x = T(k, 0), *ix = T(k, 1);
  int axis = n->p.axis;
  size_t esz = fg__dtype_size(x->dtype), outer = 1, inner = esz;
  for (int i = 0; i < axis; i++) outer *= (size_t)x->dims[i];
  for (int i = axis + 1; i < x->rank; i++) inner *= (size_t)x->dims[i];
  size_t ni = fg__tensor_count(ix);
  const int64_t *I = k->in[1];
  const char *X = k->in[0];
  char *Y = k->out[0];
  for (size_t o = 0; o < outer; o++)
    for (size_t j = 0; j < ni; j++) {
      int64_t v = I[j] < 0 ? I[j] + x->dims[axis] : I[j];
      if (v < 0 || v >= x->dims[axis])
        return fg__seterr(err, FG_EFORMAT, "node '%s' (Gather): index %lld out of range", fg__node_label(n), (long long)I[j]);
      memcpy(Y + (o * ni + j) * inner, X + (o * (size_t)x->dims[axis] + (size_t)v) * inner, inner);
    }
  return FG_OK;
}

static int relu(const fg__kctx *k) {
  const float *X = k->in[0];
  float *Y = k->out[0];
  size_t cnt = fg__tensor_count(T(k, 0));
  for (size_t i = 0; i < cnt; i++) Y[i] = X[i] > 0 ? X[i] : 0;
  return FG_OK;
}

static int sigmoid(const fg__kctx *k) {
  const float *X = k->in[0];
  float *Y = k->out[0];
  size_t cnt = fg__tensor_count(T(k, 0));
  for (size_t i = 0; i < cnt; i++) Y[i] = 1.f / (1.f + expf(-X[i]));
  return FG_OK;
}

static int exp_(const fg__kctx *k) {
  const float *X = k->in[0];
  float *Y = k->out[0];
  size_t cnt = fg__tensor_count(T(k, 0));
  for (size_t i = 0; i < cnt; i++) Y[i] = expf(X[i]);
  return FG_OK;
}

static int leaky_relu(const fg__kctx *k) {
  const float *X = k->in[0];
  float *Y = k->out[0], a = k->n->p.alpha;
  size_t cnt = fg__tensor_count(T(k, 0));
  for (size_t i = 0; i < cnt; i++) Y[i] = X[i] >= 0 ? X[i] : a * X[i];
  return FG_OK;
}

static int clip(const fg__kctx *k) {
  const float *X = k->in[0];
  float *Y = k->out[0], lo = k->n->p.lo, hi = k->n->p.hi;
  size_t cnt = fg__tensor_count(T(k, 0));
  for (size_t i = 0; i < cnt; i++) Y[i] = X[i] < lo ? lo : X[i] > hi ? hi : X[i];
  return FG_OK;
}

static int shape(const fg__kctx *k) {
  const fg__tensor *x = T(k, 0), *o = TO(k, 0);
  int64_t st = k->n->p.start[0]; /* clamped by shape inference */
  for (int i = 0; i < o->dims[0]; i++) ((int64_t *)k->out[0])[i] = x->dims[st + i];
  return FG_OK;
}

/* Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout: the same bytes. */
static int copy(const fg__kctx *k) {
  const fg__tensor *x = T(k, 0);
  if (k->out[0] != k->in[0]) memcpy(k->out[0], k->in[0], fg__tensor_count(x) * fg__dtype_size(x->dtype));
  return FG_OK;
}

static int add(const fg__kctx *k) { return binary(k, '+'); }
static int sub(const fg__kctx *k) { return binary(k, '-'); }
static int mul(const fg__kctx *k) { return binary(k, '*'); }
static int div_(const fg__kctx *k) { return binary(k, '/'); }
static int prelu(const fg__kctx *k) { return binary(k, 'p'); }
static int gemm_(const fg__kctx *k) { return gemm(k, 0); }
static int matmul(const fg__kctx *k) { return gemm(k, 1); }
static int maxpool(const fg__kctx *k) { return pool(k, 1); }
static int avgpool(const fg__kctx *k) { return pool(k, 0); }
static int gather_(const fg__kctx *k) { return gather(k, NULL); }

/* The dispatch table: one row per operator, indexed by enum fg__op. Gather is
 * the one kernel that can fail at run time (an index out of range), so it is
 * called directly with the caller's error. */
typedef int (*kernel_fn)(const fg__kctx *k);
static const kernel_fn kernels[FG__OP_COUNT] = {
  [FG__OP_CONV] = conv, [FG__OP_BATCHNORM] = batchnorm, [FG__OP_RELU] = relu, [FG__OP_CLIP] = clip,
  [FG__OP_PRELU] = prelu, [FG__OP_LEAKYRELU] = leaky_relu, [FG__OP_SIGMOID] = sigmoid, [FG__OP_EXP] = exp_,
  [FG__OP_ADD] = add, [FG__OP_SUB] = sub, [FG__OP_MUL] = mul, [FG__OP_DIV] = div_, [FG__OP_GEMM] = gemm_,
  [FG__OP_MATMUL] = matmul, [FG__OP_GLOBALAVGPOOL] = avgpool, [FG__OP_AVGPOOL] = avgpool,
  [FG__OP_MAXPOOL] = maxpool, [FG__OP_SOFTMAX] = softmax, [FG__OP_RESHAPE] = copy, [FG__OP_FLATTEN] = copy,
  [FG__OP_TRANSPOSE] = transpose, [FG__OP_CONCAT] = concat, [FG__OP_SLICE] = slice, [FG__OP_SHAPE] = shape,
  [FG__OP_GATHER] = gather_, [FG__OP_UNSQUEEZE] = copy, [FG__OP_SQUEEZE] = copy, [FG__OP_IDENTITY] = copy,
  [FG__OP_DROPOUT] = copy,
};

int fg__kernel_run(const fg__kctx *k, fg_error *err) {
  const fg__node *n = k->n;
  int rc;
  if (n->op == FG__OP_GATHER) rc = gather(k, err);
  else if (n->op > 0 && n->op < FG__OP_COUNT && kernels[n->op]) rc = kernels[n->op](k);
  else rc = fg__seterr(err, FG_EUNSUPPORTED, "node '%s': no kernel for op '%s'", fg__node_label(n), n->op_type);
  if (rc) return rc;
  if (n->act.lo > -INFINITY || n->act.hi < INFINITY) {
    float *Y = k->out[0];
    size_t cnt = fg__tensor_count(TO(k, 0));
    for (size_t i = 0; i < cnt; i++) Y[i] = Y[i] < n->act.lo ? n->act.lo : Y[i] > n->act.hi ? n->act.hi : Y[i];
  }
  return FG_OK;
}
