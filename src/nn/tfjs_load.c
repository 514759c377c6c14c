/*
 * A TensorFlow.js weights manifest → an ONNX model, so that a network shipped
 * as tfjs weights runs through the same loader, folding, fusion and backends
 * (XNNPACK, oneDNN) as every ONNX model.
 *
 * A tfjs manifest (`*-weights_manifest.json`) holds weights only: a list of
 * groups, each naming binary shard files (concatenated, relative to the
 * manifest) and the tensors packed in them in order: name, shape, dtype
 * "float32", and optionally a quantisation {dtype "uint8"|"uint16", min, scale}
 * under which the stored integers q mean min + scale * q. No graph is stored,
 * so the architecture is ours to know. One is supported: face-api's
 * faceRecognitionNet (@vladmandic/face-api, model/face_recognition_model*), a
 * port of dlib's ResNet metric network (dlib_face_recognition_resnet_model_v1:
 * 150x150 RGB in, 128-d out). Its forward pass, as face-api.js computes it
 * (the .ts files of src/faceRecognitionNet in the package):
 *
 *   x = (rgb - [122.782, 117.001, 104.298]) / 255            NHWC
 *   conv 7x7/2 valid → *scale + bias → relu; maxpool 3x3/2 valid
 *   residual blocks 32 x3, down 64, 64 x3, down 128, 128 x2, down 256, 256 x2,
 *   down 256 ("conv256_down_out"); mean over H, W; matmul fc (256x128).
 *   residual:      relu(conv2(relu(conv1(x))) + x)             3x3 same
 *   residual down: conv1 3x3/2 valid, conv2 3x3 same; shortcut avgpool 2x2/2
 *                  valid, zero-padded in channels when they double; where the
 *                  two sides differ by one row/column (odd sizes), the conv
 *                  side is padded with a zero row and column at the end.
 *   every conv: conv + bias, then a per-channel scale layer (x * w + b).
 *
 * What the ONNX graph makes of it: filters HWIO → OIHW with the scale layer
 * folded in (w' = w * s, b' = b * s + t); the input mean and 1/255 folded into
 * the first convolution (exact: it has no padding), so the model takes plain
 * RGB pixel values 0..255; the channel zero-padding of the shortcut is a 2x2/2
 * convolution whose weights are 1/4 on the identity channels (the average pool
 * and the zero channels at once); the odd-size zero row and column is conv2
 * computed one row and column further (extra end padding) times a 0/1 mask.
 *
 * Shapes and sizes of every tensor are checked against the manifest before
 * use; the shard files are read with the same size cap as a model file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "nn/graph.h"
#include "onnx.pb-c.h"

#define MAX_WEIGHTS 4096

typedef struct tfw {
  char *name;
  int rank;
  int64_t dims[4];
  float *data; /* dequantised */
} tfw;

typedef struct weights {
  tfw *w;
  int n;
} weights;

static void weights_free(weights *ws) {
  for (int i = 0; i < ws->n; i++) free(ws->w[i].name), free(ws->w[i].data);
  free(ws->w);
  ws->w = NULL;
  ws->n = 0;
}

static const tfw *wfind(const weights *ws, const char *name) {
  for (int i = 0; i < ws->n; i++)
    if (!strcmp(ws->w[i].name, name)) return &ws->w[i];
  return NULL;
}

/* Read one group's shards (concatenated) relative to the manifest's folder. */
static int read_shards(const char *dir, json_t *paths, size_t max_bytes, uint8_t **data, size_t *len, fg_error *err) {
  *data = NULL;
  *len = 0;
  if (!json_is_array(paths) || json_array_size(paths) == 0)
    return fg__seterr(err, FG_EFORMAT, "tfjs manifest: a group has no \"paths\"");
  size_t i;
  json_t *p;
  json_array_foreach(paths, i, p) {
    const char *rel = json_string_value(p);
    if (!rel || !*rel || strstr(rel, "..") || rel[0] == '/')
      return fg__seterr(err, FG_EFORMAT, "tfjs manifest: shard path must be a plain relative file name");
    char path[4096];
    int k = snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (k < 0 || (size_t)k >= sizeof path) return fg__seterr(err, FG_EINVAL, "tfjs manifest: shard path too long");
    uint8_t *buf;
    size_t n;
    int rc = fg__read_file(path, max_bytes - *len, &buf, &n, err);
    if (rc) {
      free(*data);
      *data = NULL;
      return rc;
    }
    uint8_t *all = realloc(*data, *len + n + 1);
    if (!all) {
      free(buf);
      free(*data);
      *data = NULL;
      return fg__seterr(err, FG_ENOMEM, "out of memory");
    }
    memcpy(all + *len, buf, n);
    free(buf);
    *data = all;
    *len += n;
  }
  return FG_OK;
}

static int parse_weight(json_t *spec, const uint8_t *bin, size_t len, size_t *off, weights *ws, fg_error *err) {
  const char *name = json_string_value(json_object_get(spec, "name"));
  const char *dtype = json_string_value(json_object_get(spec, "dtype"));
  json_t *shape = json_object_get(spec, "shape"), *q = json_object_get(spec, "quantization");
  if (!name || !dtype || !json_is_array(shape))
    return fg__seterr(err, FG_EFORMAT, "tfjs manifest: a weight lacks name, dtype or shape");
  if (strcmp(dtype, "float32"))
    return fg__seterr(err, FG_EUNSUPPORTED, "tfjs manifest: weight '%s' has dtype %s (only float32)", name, dtype);
  if (json_array_size(shape) > 4)
    return fg__seterr(err, FG_EUNSUPPORTED, "tfjs manifest: weight '%s' has rank > 4", name);
  if (ws->n >= MAX_WEIGHTS) return fg__seterr(err, FG_ELIMIT, "tfjs manifest: more than %d weights", MAX_WEIGHTS);
  tfw w = {.rank = (int)json_array_size(shape)};
  size_t count = 1;
  for (int d = 0; d < w.rank; d++) {
    json_t *v = json_array_get(shape, (size_t)d);
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > (1 << 24))
      return fg__seterr(err, FG_EFORMAT, "tfjs manifest: weight '%s': bad dimension", name);
    w.dims[d] = json_integer_value(v);
    if (fg__mul_size(count, (size_t)w.dims[d], &count) || count > ((size_t)1 << 28))
      return fg__seterr(err, FG_ELIMIT, "tfjs manifest: weight '%s' is too large", name);
  }
  size_t esize = 4;
  double qmin = 0, qscale = 0;
  if (q) {
    const char *qd = json_string_value(json_object_get(q, "dtype"));
    json_t *mn = json_object_get(q, "min"), *sc = json_object_get(q, "scale");
    if (!qd || !json_is_number(mn) || !json_is_number(sc))
      return fg__seterr(err, FG_EFORMAT, "tfjs manifest: weight '%s': quantization needs dtype, min and scale", name);
    if (!strcmp(qd, "uint8")) esize = 1;
    else if (!strcmp(qd, "uint16")) esize = 2;
    else return fg__seterr(err, FG_EUNSUPPORTED, "tfjs manifest: weight '%s': quantization %s (only uint8, uint16)", name, qd);
    qmin = json_number_value(mn);
    qscale = json_number_value(sc);
    if (!isfinite(qmin) || !isfinite(qscale))
      return fg__seterr(err, FG_EFORMAT, "tfjs manifest: weight '%s': non-finite quantization", name);
  }
  if (count * esize > len - *off)
    return fg__seterr(err, FG_EFORMAT, "tfjs manifest: weight '%s' runs past the end of its shard files", name);
  w.data = malloc(count * sizeof *w.data);
  w.name = strdup(name);
  if (!w.data || !w.name) {
    free(w.data), free(w.name);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  const uint8_t *p = bin + *off;
  for (size_t i = 0; i < count; i++) {
    if (esize == 4) {
      memcpy(&w.data[i], p + 4 * i, 4); /* tfjs stores little-endian, as this CPU */
      if (!isfinite(w.data[i])) {
        free(w.data), free(w.name);
        return fg__seterr(err, FG_EFORMAT, "tfjs manifest: weight '%s' holds a non-finite value", name);
      }
    } else {
      unsigned v = esize == 1 ? p[i] : (unsigned)(p[2 * i] | p[2 * i + 1] << 8);
      w.data[i] = (float)(qmin + qscale * v);
    }
  }
  *off += count * esize;
  ws->w[ws->n++] = w;
  return FG_OK;
}

static int parse_manifest(const char *path, const uint8_t *text, size_t tlen, size_t max_bytes, weights *ws,
                          fg_error *err) {
  json_error_t je;
  json_t *root = json_loadb((const char *)text, tlen, JSON_REJECT_DUPLICATES, &je);
  if (!root) return fg__seterr(err, FG_EFORMAT, "tfjs manifest: line %d: %s", je.line, je.text);
  int rc = FG_OK;
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  else snprintf(dir, sizeof dir, ".");
  ws->w = calloc(MAX_WEIGHTS, sizeof *ws->w);
  if (!ws->w) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  else if (!json_is_array(root) || json_array_size(root) == 0)
    rc = fg__seterr(err, FG_EFORMAT, "tfjs manifest: not a list of weight groups");
  size_t gi;
  json_t *grp;
  json_array_foreach(root, gi, grp) {
    if (rc) break;
    json_t *specs = json_object_get(grp, "weights");
    if (!json_is_array(specs)) {
      rc = fg__seterr(err, FG_EFORMAT, "tfjs manifest: group %zu has no \"weights\" list", gi);
      break;
    }
    uint8_t *bin = NULL;
    size_t len = 0, off = 0;
    if ((rc = read_shards(dir, json_object_get(grp, "paths"), max_bytes, &bin, &len, err))) break;
    size_t wi;
    json_t *spec;
    json_array_foreach(specs, wi, spec) {
      if ((rc = parse_weight(spec, bin, len, &off, ws, err))) break;
    }
    if (!rc && off != len)
      rc = fg__seterr(err, FG_EFORMAT, "tfjs manifest: group %zu: shard files hold %zu bytes, weights %zu", gi, len, off);
    free(bin);
  }
  json_decref(root);
  if (rc) weights_free(ws);
  return rc;
}

/* ---- building the ONNX model (every allocation goes through the arena) ---- */

typedef struct arena {
  void **p;
  size_t n, cap;
  int oom;
} arena;

static void *anew(arena *a, size_t size) {
  if (a->oom) return NULL;
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 256;
    void **p = realloc(a->p, cap * sizeof *p);
    if (!p) return a->oom = 1, NULL;
    a->p = p;
    a->cap = cap;
  }
  void *m = calloc(1, size ? size : 1);
  if (!m) return a->oom = 1, NULL;
  return a->p[a->n++] = m;
}

static char *astr(arena *a, const char *s) {
  char *d = anew(a, strlen(s) + 1);
  if (d) strcpy(d, s);
  return d;
}

static void arena_free(arena *a) {
  for (size_t i = 0; i < a->n; i++) free(a->p[i]);
  free(a->p);
}

typedef struct builder {
  arena a;
  Onnx__NodeProto *nodes[256];
  size_t n_nodes;
  Onnx__TensorProto *inits[256];
  size_t n_inits;
  int uniq;
} builder;

static Onnx__TensorProto *init_f(builder *b, const char *name, int rank, const int64_t *dims, float **data) {
  Onnx__TensorProto *t = anew(&b->a, sizeof *t);
  int64_t *d = anew(&b->a, 4 * sizeof *d);
  size_t n = 1;
  for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
  float *v = anew(&b->a, n * sizeof *v);
  if (!t || !d || !v || b->n_inits >= 256) return b->a.oom = 1, NULL;
  onnx__tensor_proto__init(t);
  memcpy(d, dims, (size_t)rank * sizeof *d);
  t->n_dims = (size_t)rank;
  t->dims = d;
  t->has_data_type = 1;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->name = astr(&b->a, name);
  t->has_raw_data = 1;
  t->raw_data.data = (uint8_t *)v;
  t->raw_data.len = n * sizeof *v;
  b->inits[b->n_inits++] = t;
  *data = v;
  return t;
}

static Onnx__AttributeProto *attr_ints(builder *b, const char *name, int n, const int64_t *v) {
  Onnx__AttributeProto *a = anew(&b->a, sizeof *a);
  int64_t *d = anew(&b->a, (size_t)n * sizeof *d);
  if (!a || !d) return NULL;
  onnx__attribute_proto__init(a);
  a->name = astr(&b->a, name);
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  memcpy(d, v, (size_t)n * sizeof *d);
  a->n_ints = (size_t)n;
  a->ints = d;
  return a;
}

/* A node with up to 3 inputs and the given attributes; returns its output name. */
static const char *node(builder *b, const char *op, const char *name, const char *in0, const char *in1,
                        const char *in2, Onnx__AttributeProto **attrs, int n_attrs) {
  Onnx__NodeProto *n = anew(&b->a, sizeof *n);
  char **ins = anew(&b->a, 3 * sizeof *ins), **outs = anew(&b->a, sizeof *outs);
  Onnx__AttributeProto **at = anew(&b->a, 4 * sizeof *at);
  char out[160];
  snprintf(out, sizeof out, "%s:%d", name, b->uniq++);
  if (!n || !ins || !outs || !at || b->n_nodes >= 256) return b->a.oom = 1, NULL;
  onnx__node_proto__init(n);
  n->op_type = astr(&b->a, op);
  n->name = astr(&b->a, out);
  ins[0] = (char *)in0, ins[1] = (char *)in1, ins[2] = (char *)in2;
  n->n_input = in2 ? 3 : in1 ? 2 : 1;
  n->input = ins;
  outs[0] = astr(&b->a, out);
  n->n_output = 1;
  n->output = outs;
  for (int i = 0; i < n_attrs; i++) {
    if (!attrs[i]) return b->a.oom = 1, NULL;
    at[i] = attrs[i];
  }
  n->n_attribute = (size_t)n_attrs;
  n->attribute = at;
  b->nodes[b->n_nodes++] = n;
  return outs[0];
}

static const char *conv_node(builder *b, const char *name, const char *x, const char *w, const char *bias, int k,
                             int stride, const int64_t pads[4]) {
  int64_t ks[2] = {k, k}, st[2] = {stride, stride};
  Onnx__AttributeProto *at[3] = {attr_ints(b, "kernel_shape", 2, ks), attr_ints(b, "strides", 2, st),
                                 attr_ints(b, "pads", 4, pads)};
  return node(b, "Conv", name, x, w, bias, at, 3);
}

/* A face-api conv layer (conv + bias, scale layer) as one ONNX Conv with the
 * scale folded in. in_mean/in_scale (first layer only): the input
 * normalisation to fold, x_model = (x - mean[c]) * in_scale. */
static const char *conv_layer(builder *b, const weights *ws, const char *prefix, const char *x, int64_t cin, int k,
                              int stride, const int64_t pads[4], const float *in_mean, float in_scale,
                              int64_t *cout_out, fg_error *err) {
  char key[160];
  const tfw *f, *bi, *sw, *sb;
  snprintf(key, sizeof key, "%s/conv/filters", prefix);
  f = wfind(ws, key);
  snprintf(key, sizeof key, "%s/conv/bias", prefix);
  bi = wfind(ws, key);
  snprintf(key, sizeof key, "%s/scale/weights", prefix);
  sw = wfind(ws, key);
  snprintf(key, sizeof key, "%s/scale/biases", prefix);
  sb = wfind(ws, key);
  if (!f || !bi || !sw || !sb) {
    fg__seterr(err, FG_EFORMAT, "tfjs manifest: layer %s lacks conv/filters, conv/bias or scale weights", prefix);
    return NULL;
  }
  int64_t kh = f->dims[0], kw = f->dims[1], ci = f->dims[2], co = f->dims[3];
  if (f->rank != 4 || kh != k || kw != k || ci != cin || bi->rank != 1 || bi->dims[0] != co || sw->rank != 1 ||
      sw->dims[0] != co || sb->rank != 1 || sb->dims[0] != co) {
    fg__seterr(err, FG_ESHAPE, "tfjs manifest: layer %s: shapes do not fit (filters must be [%d,%d,%lld,C])", prefix,
               k, k, (long long)cin);
    return NULL;
  }
  float *wd, *bd;
  int64_t wdims[4] = {co, ci, kh, kw};
  snprintf(key, sizeof key, "%s/W", prefix);
  Onnx__TensorProto *wt = init_f(b, key, 4, wdims, &wd);
  snprintf(key, sizeof key, "%s/B", prefix);
  Onnx__TensorProto *bt = init_f(b, key, 1, &co, &bd);
  if (!wt || !bt) return NULL;
  for (int64_t o = 0; o < co; o++) {
    double s = sw->data[o], shift = 0;
    for (int64_t c = 0; c < ci; c++)
      for (int64_t y = 0; y < kh; y++)
        for (int64_t xx = 0; xx < kw; xx++) {
          double v = f->data[((y * kw + xx) * ci + c) * co + o];
          if (in_mean) shift += v * in_mean[c] * in_scale, v *= in_scale;
          wd[((o * ci + c) * kh + y) * kw + xx] = (float)(v * s);
        }
    bd[o] = (float)((bi->data[o] - shift) * s + sb->data[o]);
  }
  *cout_out = co;
  return conv_node(b, prefix, x, wt->name, bt->name, (int)kh, stride, pads);
}

static const char *relu(builder *b, const char *name, const char *x) { return node(b, "Relu", name, x, NULL, NULL, NULL, 0); }

static int out_size(int in, int k, int s) { return (in - k) / s + 1; }

/* relu(conv2(relu(conv1(x))) + x), 3x3 same. */
static const char *residual(builder *b, const weights *ws, const char *prefix, const char *x, int64_t c,
                            fg_error *err) {
  static const int64_t same[4] = {1, 1, 1, 1};
  char p[160];
  int64_t co;
  snprintf(p, sizeof p, "%s/conv1", prefix);
  const char *y = conv_layer(b, ws, p, x, c, 3, 1, same, NULL, 0, &co, err);
  if (!y || co != c) return y ? (fg__seterr(err, FG_ESHAPE, "tfjs manifest: %s changes channels", p), NULL) : NULL;
  y = relu(b, p, y);
  snprintf(p, sizeof p, "%s/conv2", prefix);
  y = conv_layer(b, ws, p, y, c, 3, 1, same, NULL, 0, &co, err);
  if (!y || co != c) return y ? (fg__seterr(err, FG_ESHAPE, "tfjs manifest: %s changes channels", p), NULL) : NULL;
  y = node(b, "Add", prefix, y, x, NULL, NULL, 0);
  return y ? relu(b, prefix, y) : NULL;
}

/* The down-sampling residual block; *c and *hw are updated to its output. */
static const char *residual_down(builder *b, const weights *ws, const char *prefix, const char *x, int64_t *c,
                                 int *hw, fg_error *err) {
  static const int64_t valid[4] = {0, 0, 0, 0};
  char p[160];
  int64_t co, co2;
  int h1 = *hw >= 3 ? out_size(*hw, 3, 2) : 0, hp = out_size(*hw, 2, 2), e = hp - h1;
  if (*hw < 3 || e < 0 || e > 1) {
    fg__seterr(err, FG_ESHAPE, "tfjs model: %s: input %dx%d does not fit this network", prefix, *hw, *hw);
    return NULL;
  }
  snprintf(p, sizeof p, "%s/conv1", prefix);
  const char *y = conv_layer(b, ws, p, x, *c, 3, 2, valid, NULL, 0, &co, err);
  if (!y) return NULL;
  y = relu(b, p, y);
  snprintf(p, sizeof p, "%s/conv2", prefix);
  const int64_t pad2[4] = {1, 1, 1 + e, 1 + e};
  y = conv_layer(b, ws, p, y, co, 3, 1, pad2, NULL, 0, &co2, err);
  if (!y) return NULL;
  if (co2 != co || (co != *c && co != 2 * *c)) {
    fg__seterr(err, FG_ESHAPE, "tfjs manifest: %s: channels %lld → %lld → %lld do not fit", prefix, (long long)*c,
               (long long)co, (long long)co2);
    return NULL;
  }
  if (e) { /* zero the extra row and column, as face-api's concat of zeros */
    float *m;
    char key[160];
    snprintf(key, sizeof key, "%s/pad_mask", prefix);
    int64_t md[4] = {1, 1, hp, hp};
    Onnx__TensorProto *mt = init_f(b, key, 4, md, &m);
    if (!mt) return NULL;
    for (int i = 0; i < hp; i++)
      for (int j = 0; j < hp; j++) m[i * hp + j] = i < h1 && j < h1 ? 1.f : 0.f;
    y = node(b, "Mul", key, y, mt->name, NULL, NULL, 0);
  }
  const char *sc;
  int64_t k2[2] = {2, 2};
  if (co == *c) {
    Onnx__AttributeProto *at[2] = {attr_ints(b, "kernel_shape", 2, k2), attr_ints(b, "strides", 2, k2)};
    snprintf(p, sizeof p, "%s/shortcut", prefix);
    sc = node(b, "AveragePool", p, x, NULL, NULL, at, 2);
  } else { /* average pool and zero channels as one 2x2/2 convolution */
    float *w;
    char key[160];
    snprintf(key, sizeof key, "%s/shortcut/W", prefix);
    int64_t wd[4] = {co, *c, 2, 2};
    Onnx__TensorProto *wt = init_f(b, key, 4, wd, &w);
    if (!wt) return NULL;
    for (int64_t o = 0; o < *c; o++)
      for (int k = 0; k < 4; k++) w[(o * *c + o) * 4 + k] = 0.25f;
    snprintf(p, sizeof p, "%s/shortcut", prefix);
    sc = conv_node(b, p, x, wt->name, NULL, 2, 2, valid);
  }
  if (!y || !sc) return NULL;
  y = node(b, "Add", prefix, sc, y, NULL, NULL, 0);
  *c = co;
  *hw = hp;
  return y ? relu(b, prefix, y) : NULL;
}

static Onnx__ValueInfoProto *value_info(builder *b, const char *name, int rank, const int64_t *dims) {
  Onnx__ValueInfoProto *vi = anew(&b->a, sizeof *vi);
  Onnx__TypeProto *tp = anew(&b->a, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = anew(&b->a, sizeof *tt);
  Onnx__TensorShapeProto *sh = anew(&b->a, sizeof *sh);
  Onnx__TensorShapeProto__Dimension **dv = anew(&b->a, (size_t)rank * sizeof *dv);
  if (!vi || !tp || !tt || !sh || !dv) return NULL;
  for (int i = 0; i < rank; i++) {
    Onnx__TensorShapeProto__Dimension *d = anew(&b->a, sizeof *d);
    if (!d) return NULL;
    onnx__tensor_shape_proto__dimension__init(d);
    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d->dim_value = dims[i];
    dv[i] = d;
  }
  onnx__value_info_proto__init(vi);
  onnx__type_proto__init(tp);
  onnx__type_proto__tensor__init(tt);
  onnx__tensor_shape_proto__init(sh);
  sh->n_dim = (size_t)rank;
  sh->dim = dv;
  tt->has_elem_type = 1;
  tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tt->shape = sh;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  vi->name = astr(&b->a, name);
  vi->type = tp;
  return vi;
}

/* dlib's mean RGB as face-api subtracts it, in pixel units. */
static const float dlib_mean_rgb[3] = {122.782f, 117.001f, 104.298f};

static int build_face_resnet(builder *b, const weights *ws, int size, Onnx__ModelProto *mp, fg_error *err) {
  static const int64_t valid[4] = {0, 0, 0, 0};
  static const char *const blocks[] = {"conv32_1",   "conv32_2",  "conv32_3",    "conv64_down",     "conv64_1",
                                       "conv64_2",   "conv64_3",  "conv128_down", "conv128_1",      "conv128_2",
                                       "conv256_down", "conv256_1", "conv256_2",  "conv256_down_out"};
  int64_t c = 3;
  int hw = size;
  const char *x = conv_layer(b, ws, "conv32_down", "input", 3, 7, 2, valid, dlib_mean_rgb, 1.f / 255.f, &c, err);
  if (!x) goto fail;
  x = relu(b, "conv32_down", x);
  hw = out_size(hw, 7, 2);
  int64_t k3[2] = {3, 3}, s2[2] = {2, 2};
  Onnx__AttributeProto *mpa[2] = {attr_ints(b, "kernel_shape", 2, k3), attr_ints(b, "strides", 2, s2)};
  x = node(b, "MaxPool", "maxpool", x, NULL, NULL, mpa, 2);
  hw = out_size(hw, 3, 2);
  for (size_t i = 0; x && i < sizeof blocks / sizeof *blocks; i++) {
    if (strstr(blocks[i], "down")) x = residual_down(b, ws, blocks[i], x, &c, &hw, err);
    else x = residual(b, ws, blocks[i], x, c, err);
    if (x && hw < 1) {
      fg__seterr(err, FG_ESHAPE, "tfjs model: input %dx%d is too small for this network", size, size);
      goto fail;
    }
  }
  if (!x) goto fail;
  x = node(b, "GlobalAveragePool", "mean", x, NULL, NULL, NULL, 0);
  x = node(b, "Flatten", "flatten", x, NULL, NULL, NULL, 0);
  const tfw *fc = wfind(ws, "fc");
  if (!fc || fc->rank != 2 || fc->dims[0] != c) {
    fg__seterr(err, FG_ESHAPE, "tfjs manifest: fc must be [%lld, D]", (long long)c);
    goto fail;
  }
  float *fd;
  Onnx__TensorProto *ft = init_f(b, "fc", 2, fc->dims, &fd);
  if (!ft) goto nomem;
  memcpy(fd, fc->data, (size_t)(fc->dims[0] * fc->dims[1]) * sizeof *fd);
  x = node(b, "MatMul", "fc", x, ft->name, NULL, NULL, 0);
  if (!x) goto nomem;

  Onnx__GraphProto *gp = anew(&b->a, sizeof *gp);
  Onnx__OperatorSetIdProto *os = anew(&b->a, sizeof *os), **osv = anew(&b->a, sizeof *osv);
  Onnx__ValueInfoProto **ins = anew(&b->a, sizeof *ins), **outs = anew(&b->a, sizeof *outs);
  int64_t idims[4] = {1, 3, size, size}, odims[2] = {1, fc->dims[1]};
  if (!gp || !os || !osv || !ins || !outs) goto nomem;
  ins[0] = value_info(b, "input", 4, idims);
  outs[0] = value_info(b, x, 2, odims);
  if (!ins[0] || !outs[0]) goto nomem;
  onnx__graph_proto__init(gp);
  gp->name = astr(&b->a, "face-api faceRecognitionNet (dlib ResNet)");
  gp->n_node = b->n_nodes;
  gp->node = b->nodes;
  gp->n_initializer = b->n_inits;
  gp->initializer = b->inits;
  gp->n_input = 1;
  gp->input = ins;
  gp->n_output = 1;
  gp->output = outs;
  onnx__operator_set_id_proto__init(os);
  os->domain = astr(&b->a, "");
  os->has_version = 1;
  os->version = 13;
  osv[0] = os;
  onnx__model_proto__init(mp);
  mp->has_ir_version = 1;
  mp->ir_version = 7;
  mp->n_opset_import = 1;
  mp->opset_import = osv;
  mp->producer_name = astr(&b->a, "facegate (tfjs weights manifest)");
  mp->graph = gp;
  if (b->a.oom) goto nomem;
  return FG_OK;
nomem:
  return fg__seterr(err, FG_ENOMEM, "out of memory building the model");
fail:
  if (b->a.oom) goto nomem;
  return err && err->code ? err->code : fg__seterr(err, FG_EFORMAT, "tfjs model: could not build the network");
}

int fg__tfjs_looks_like(const uint8_t *data, size_t len) {
  size_t i = 0;
  while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) i++;
  return i < len && data[i] == '[';
}

int fg__tfjs_to_onnx(const char *path, const uint8_t *text, size_t len, const fg_model_options *opts,
                     uint8_t **onnx, size_t *onnx_len, fg_error *err) {
  *onnx = NULL;
  *onnx_len = 0;
  size_t maxb = opts && opts->max_file_bytes ? opts->max_file_bytes : ((size_t)512 << 20);
  int size = 150;
  if (opts && opts->input_rank) {
    if (opts->input_rank != 4 || opts->input_dims[0] != 1 || opts->input_dims[1] != 3 ||
        opts->input_dims[2] != opts->input_dims[3] || opts->input_dims[2] < 32 || opts->input_dims[2] > 1024)
      return fg__seterr(err, FG_ESHAPE, "tfjs model: input must be 1x3xSxS with S in 32..1024");
    size = (int)opts->input_dims[2];
  }
  weights ws = {0};
  int rc = parse_manifest(path, text, len, maxb, &ws, err);
  if (rc) return rc;
  if (!wfind(&ws, "conv32_down/conv/filters") || !wfind(&ws, "fc")) {
    weights_free(&ws);
    return fg__seterr(err, FG_EUNSUPPORTED,
                      "tfjs manifest: not a network facegate knows (supported: face-api's faceRecognitionNet)");
  }
  builder *b = calloc(1, sizeof *b);
  if (!b) {
    weights_free(&ws);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  Onnx__ModelProto mp;
  if (err) err->code = 0;
  rc = build_face_resnet(b, &ws, size, &mp, err);
  if (!rc) {
    size_t n = onnx__model_proto__get_packed_size(&mp);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    else {
      onnx__model_proto__pack(&mp, buf);
      *onnx = buf;
      *onnx_len = n;
    }
  }
  arena_free(&b->a);
  free(b);
  weights_free(&ws);
  return rc;
}
