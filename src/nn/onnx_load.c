/*
 * ONNX file → fg__graph. The protobuf is decoded by C code that protoc-c
 * generates at build time from Debian's onnx.proto; this file only walks the
 * decoded message, copies what the engine needs and validates it, because the
 * file may be hostile: every dimension, count and byte length is checked before
 * anything is allocated from it, and the decoder itself runs under a capped
 * allocator so a crafted length cannot make it allocate without bound.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"
#include "onnx.pb-c.h"

#define MAX_NODES 100000
#define MAX_DIM ((int64_t)1 << 31)

/* protobuf-c allocator that refuses to go past a byte budget. */
typedef struct capped_alloc {
  size_t used, cap;
  int nomem; /* malloc failed (not the cap): out of memory, not a bad file */
} capped_alloc;

static void *capped_malloc(void *ud, size_t size) {
  capped_alloc *c = ud;
  if (size > c->cap - c->used) return NULL;
  size_t *p = malloc(size + sizeof(size_t) * 2);
  if (!p) {
    c->nomem = 1;
    return NULL;
  }
  c->used += size;
  p[0] = size;
  return p + 2;
}

static void capped_free(void *ud, void *ptr) {
  if (!ptr) return;
  capped_alloc *c = ud;
  size_t *p = (size_t *)ptr - 2;
  c->used -= p[0];
  free(p);
}

static char *xstrdup(const char *s) { return strdup(s ? s : ""); }

/* Validate dims and compute the element count against the byte budget. */
static int check_dims(const char *what, const char *name, size_t rank, const int64_t *dims,
                      size_t elem_size, size_t budget, size_t *count, fg_error *err) {
  if (rank > FG__MAX_RANK)
    return fg__seterr(err, FG_ELIMIT, "%s '%s': rank %zu exceeds %d", what, name, rank, FG__MAX_RANK);
  size_t c = 1;
  for (size_t i = 0; i < rank; i++) {
    if (dims[i] < 0 || dims[i] > MAX_DIM)
      return fg__seterr(err, FG_EFORMAT, "%s '%s': dimension %zu is %lld", what, name, i, (long long)dims[i]);
    if (fg__mul_size(c, (size_t)dims[i], &c))
      return fg__seterr(err, FG_ELIMIT, "%s '%s': element count overflows", what, name);
  }
  size_t bytes;
  if (fg__mul_size(c, elem_size, &bytes) || bytes > budget)
    return fg__seterr(err, FG_ELIMIT, "%s '%s': %zu elements exceed the size limit", what, name, c);
  *count = c;
  return FG_OK;
}

/* Copy a TensorProto's data into tensor t (float or int64). */
static int load_tensor(fg__graph *g, int ti, const Onnx__TensorProto *tp, size_t *budget, fg_error *err) {
  fg__tensor *t = &g->t[ti];
  const char *name = t->name;
  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return fg__seterr(err, FG_EUNSUPPORTED, "initializer '%s': external data is not supported", name);
  int dt = tp->data_type;
  int kept;
  switch (dt) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: kept = FG__DT_FLOAT; break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: kept = FG__DT_INT64; break;
  default:
    return fg__seterr(err, FG_EUNSUPPORTED, "initializer '%s': data type %d is not supported", name, dt);
  }
  size_t count;
  int rc = check_dims("initializer", name, tp->n_dims, tp->dims, fg__dtype_size(kept), *budget, &count, err);
  if (rc) return rc;
  /* Check that the file holds the data the shape claims before allocating for it:
   * a small file must not be able to make us allocate a gigabyte. */
  size_t src_esz = (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32) ? 4 : 8;
  int raw = tp->has_raw_data && tp->raw_data.len > 0;
  size_t have;
  switch (dt) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: have = tp->n_float_data; break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: have = tp->n_double_data; break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: have = tp->n_int64_data; break;
  default: have = tp->n_int32_data; break;
  }
  if (raw && tp->raw_data.len / src_esz != count)
    return fg__seterr(err, FG_EFORMAT, "initializer '%s': raw data has %zu bytes, shape needs %zu", name,
                      tp->raw_data.len, count * src_esz);
  if (raw && tp->raw_data.len % src_esz)
    return fg__seterr(err, FG_EFORMAT, "initializer '%s': raw data has %zu bytes, not a whole number of elements", name,
                      tp->raw_data.len);
  if (!raw && have != count)
    return fg__seterr(err, FG_EFORMAT, "initializer '%s': has %zu values, shape needs %zu", name, have, count);
  size_t esz = fg__dtype_size(kept);
  t->data = malloc(count * esz + 1);
  if (!t->data) return fg__seterr(err, FG_ENOMEM, "initializer '%s': out of memory", name);
  t->dtype = kept;
  t->rank = (int)tp->n_dims;
  for (size_t i = 0; i < tp->n_dims; i++) t->dims[i] = tp->dims[i];
  *budget -= count * esz;

  if (raw) {
    const uint8_t *p = tp->raw_data.data;
    for (size_t i = 0; i < count; i++) {
      switch (dt) {
      case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: { float v; memcpy(&v, p + 4 * i, 4); ((float *)t->data)[i] = v; break; }
      case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: { double v; memcpy(&v, p + 8 * i, 8); ((float *)t->data)[i] = (float)v; break; }
      case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: { int64_t v; memcpy(&v, p + 8 * i, 8); ((int64_t *)t->data)[i] = v; break; }
      default: { int32_t v; memcpy(&v, p + 4 * i, 4); ((int64_t *)t->data)[i] = v; break; }
      }
    }
    return FG_OK;
  }
  for (size_t i = 0; i < count; i++) {
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: ((float *)t->data)[i] = tp->float_data[i]; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: ((float *)t->data)[i] = (float)tp->double_data[i]; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: ((int64_t *)t->data)[i] = tp->int64_data[i]; break;
    default: ((int64_t *)t->data)[i] = tp->int32_data[i]; break;
    }
  }
  return FG_OK;
}

/* Tensor names → indices while parsing: an open-addressing hash table, so that a
 * file with many nodes loads in linear time (a linear search per name would make
 * a hostile 100000-node file take minutes). */
typedef struct name_index {
  int *slot; /* tensor index or -1 */
  size_t cap, n;
} name_index;

static size_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)h;
}

static int index_find(const fg__graph *g, const name_index *ix, const char *name) {
  if (!ix->cap) return -1;
  for (size_t i = hash_name(name) & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
    if (ix->slot[i] < 0) return -1;
    if (!strcmp(g->t[ix->slot[i]].name, name)) return ix->slot[i];
  }
}

static int index_add(const fg__graph *g, name_index *ix, int ti) {
  if (2 * (ix->n + 1) > ix->cap) {
    size_t cap = ix->cap ? ix->cap * 2 : 256;
    int *slot = malloc(cap * sizeof *slot);
    if (!slot) return FG_ENOMEM;
    for (size_t i = 0; i < cap; i++) slot[i] = -1;
    for (size_t j = 0; j < ix->cap; j++) {
      if (ix->slot[j] < 0) continue;
      size_t i = hash_name(g->t[ix->slot[j]].name) & (cap - 1);
      while (slot[i] >= 0) i = (i + 1) & (cap - 1);
      slot[i] = ix->slot[j];
    }
    free(ix->slot);
    ix->slot = slot;
    ix->cap = cap;
  }
  size_t i = hash_name(g->t[ti].name) & (ix->cap - 1);
  while (ix->slot[i] >= 0) i = (i + 1) & (ix->cap - 1);
  ix->slot[i] = ti;
  ix->n++;
  return FG_OK;
}

/* A new tensor, indexed by name. */
static int add_tensor(fg__graph *g, name_index *ix, const char *name, fg_error *err) {
  int ti = fg__graph_add_tensor(g, name, err);
  if (ti < 0) return ti;
  if (index_add(g, ix, ti)) return fg__seterr(err, FG_ENOMEM, "out of memory adding tensor '%s'", name);
  return ti;
}

/* Tensor by name, created on first mention. */
static int tensor_ref(fg__graph *g, name_index *ix, const char *name, fg_error *err) {
  int i = index_find(g, ix, name);
  return i >= 0 ? i : add_tensor(g, ix, name, err);
}

static int load_attr(fg__graph *g, name_index *ix, fg__node *n, fg__attr *a, const Onnx__AttributeProto *ap,
                     size_t *budget, fg_error *err) {
  a->name = xstrdup(ap->name);
  if (!a->name) return fg__seterr(err, FG_ENOMEM, "out of memory");
  a->tensor = -1;
  switch (ap->type) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: a->type = FG__ATTR_FLOAT; a->f = ap->f; break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: a->type = FG__ATTR_INT; a->i = ap->i; break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
    a->type = FG__ATTR_STRING;
    a->s = malloc(ap->s.len + 1);
    if (!a->s) return fg__seterr(err, FG_ENOMEM, "out of memory");
    if (ap->s.len) memcpy(a->s, ap->s.data, ap->s.len);
    a->s[ap->s.len] = 0;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
    a->type = FG__ATTR_INTS;
    a->n = ap->n_ints;
    a->ints = malloc((ap->n_ints + 1) * sizeof *a->ints);
    if (!a->ints) return fg__seterr(err, FG_ENOMEM, "out of memory");
    if (ap->n_ints) memcpy(a->ints, ap->ints, ap->n_ints * sizeof *a->ints);
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
    a->type = FG__ATTR_FLOATS;
    a->n = ap->n_floats;
    a->floats = malloc((ap->n_floats + 1) * sizeof *a->floats);
    if (!a->floats) return fg__seterr(err, FG_ENOMEM, "out of memory");
    if (ap->n_floats) memcpy(a->floats, ap->floats, ap->n_floats * sizeof *a->floats);
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
    if (!ap->t) return fg__seterr(err, FG_EFORMAT, "node '%s' (%s): attribute '%s' has no tensor",
                                  fg__node_label(n), n->op_type, a->name);
    char tname[512];
    snprintf(tname, sizeof tname, "%s/%s#%d", fg__node_label(n), a->name, g->n_t);
    int ti = add_tensor(g, ix, tname, err);
    if (ti < 0) return ti;
    a->type = FG__ATTR_TENSOR;
    a->tensor = ti;
    return load_tensor(g, ti, ap->t, budget, err);
  }
  default:
    return fg__seterr(err, FG_EUNSUPPORTED, "node '%s' (%s): attribute '%s' has unsupported type %d",
                      fg__node_label(n), n->op_type, a->name, (int)ap->type);
  }
  return FG_OK;
}

static int load_node(fg__graph *g, name_index *ix, const Onnx__NodeProto *np, size_t *budget, fg_error *err) {
  if (g->n_nodes == g->cap_nodes) {
    int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
    fg__node *nn = realloc(g->nodes, (size_t)cap * sizeof *nn);
    if (!nn) return fg__seterr(err, FG_ENOMEM, "out of memory");
    g->nodes = nn;
    g->cap_nodes = cap;
  }
  fg__node *n = &g->nodes[g->n_nodes++];
  memset(n, 0, sizeof *n);
  n->act.lo = -INFINITY;
  n->act.hi = INFINITY;
  n->name = xstrdup(np->name);
  n->op_type = xstrdup(np->op_type);
  if (!n->name || !n->op_type) return fg__seterr(err, FG_ENOMEM, "out of memory");
  n->op = fg__op_lookup(n->op_type); /* the one place an operator name is compared */
  if (np->domain && *np->domain && strcmp(np->domain, "ai.onnx") != 0)
    return fg__seterr(err, FG_EUNSUPPORTED, "node '%s' (%s): operator domain '%s' is not supported",
                      fg__node_label(n), n->op_type, np->domain);
  if (np->n_input > 64 || np->n_output > 16)
    return fg__seterr(err, FG_ELIMIT, "node '%s' (%s): too many inputs or outputs", fg__node_label(n), n->op_type);
  n->in = malloc((np->n_input + 1) * sizeof *n->in);
  n->out = malloc((np->n_output + 1) * sizeof *n->out);
  n->attrs = calloc(np->n_attribute + 1, sizeof *n->attrs);
  if (!n->in || !n->out || !n->attrs) return fg__seterr(err, FG_ENOMEM, "out of memory");
  for (size_t i = 0; i < np->n_input; i++) {
    if (!np->input[i] || !*np->input[i]) { n->in[n->n_in++] = -1; continue; }
    int ti = tensor_ref(g, ix, np->input[i], err);
    if (ti < 0) return ti;
    n->in[n->n_in++] = ti;
  }
  for (size_t i = 0; i < np->n_output; i++) {
    const char *on = np->output[i] && *np->output[i] ? np->output[i] : NULL;
    char tmp[64];
    if (!on) { snprintf(tmp, sizeof tmp, "#unused%d", g->n_t); on = tmp; }
    int ti = tensor_ref(g, ix, on, err);
    if (ti < 0) return ti;
    if (g->t[ti].producer >= 0 || g->t[ti].data || g->t[ti].is_input)
      return fg__seterr(err, FG_EFORMAT, "node '%s' (%s): output '%s' is defined twice", fg__node_label(n), n->op_type, on);
    g->t[ti].producer = g->n_nodes - 1;
    n->out[n->n_out++] = ti;
  }
  for (size_t i = 0; i < np->n_attribute; i++) {
    int rc = load_attr(g, ix, n, &n->attrs[n->n_attrs++], np->attribute[i], budget, err);
    if (rc) return rc;
  }
  return FG_OK;
}

static int load_io(fg__graph *g, name_index *ix, const Onnx__ValueInfoProto *vi, int is_input,
                   const fg_model_options *opts, fg_error *err) {
  int ti = tensor_ref(g, ix, vi->name ? vi->name : "", err);
  if (ti < 0) return ti;
  fg__tensor *t = &g->t[ti];
  if (!is_input) { t->is_output = 1; return ti; }
  if (t->data) return -1000; /* an initializer listed among inputs (old exporters): not an input */
  t->is_input = 1;
  if (opts && opts->input_rank > 0 && g->n_inputs == 0) {
    size_t c;
    int rc = check_dims("input", t->name, (size_t)opts->input_rank, opts->input_dims, 4, g->max_total_bytes, &c, err);
    if (rc) return rc;
    t->rank = opts->input_rank;
    memcpy(t->dims, opts->input_dims, sizeof(int64_t) * (size_t)opts->input_rank);
    return ti;
  }
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    return fg__seterr(err, FG_EUNSUPPORTED, "input '%s': not a tensor", t->name);
  if (tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
    return fg__seterr(err, FG_EUNSUPPORTED, "input '%s': element type %d (only float32 inputs are supported)",
                      t->name, tp->tensor_type->elem_type);
  const Onnx__TensorShapeProto *sp = tp->tensor_type->shape;
  if (!sp) return fg__seterr(err, FG_ESHAPE, "input '%s': no shape; give one in the model options", t->name);
  if (sp->n_dim > FG__MAX_RANK) return fg__seterr(err, FG_ELIMIT, "input '%s': rank %zu", t->name, sp->n_dim);
  int64_t dims[FG__MAX_RANK];
  for (size_t i = 0; i < sp->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = sp->dim[i];
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value == 0)
      return fg__seterr(err, FG_EUNSUPPORTED, "input '%s': dimension %zu is 0 (zero-size tensors are not supported)", t->name, i);
    if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || d->dim_value <= 0)
      return fg__seterr(err, FG_ESHAPE, "input '%s': dimension %zu is not static; give a fixed shape in the model options",
                        t->name, i);
    dims[i] = d->dim_value;
  }
  size_t c;
  int rc = check_dims("input", t->name, sp->n_dim, dims, 4, g->max_total_bytes, &c, err);
  if (rc) return rc;
  t->rank = (int)sp->n_dim;
  memcpy(t->dims, dims, sizeof(int64_t) * sp->n_dim);
  return ti;
}

static int push_idx(int **arr, int *n, int v) {
  int *a = realloc(*arr, (size_t)(*n + 1) * sizeof *a);
  if (!a) return FG_ENOMEM;
  a[(*n)++] = v;
  *arr = a;
  return FG_OK;
}

int fg__onnx_parse(const uint8_t *data, size_t len, const fg_model_options *opts, fg__graph *g, fg_error *err) {
  memset(g, 0, sizeof *g);
  g->max_total_bytes = opts && opts->max_total_bytes ? opts->max_total_bytes : ((size_t)1 << 30);
  capped_alloc cap = {0, len * 4 + ((size_t)64 << 20), 0};
  ProtobufCAllocator alloc = {capped_malloc, capped_free, &cap};
  Onnx__ModelProto *mp = onnx__model_proto__unpack(&alloc, len, data);
  if (!mp && cap.nomem) return fg__seterr(err, FG_ENOMEM, "out of memory decoding the model");
  if (!mp) return fg__seterr(err, FG_EFORMAT, "not a valid ONNX model (protobuf decoding failed: truncated or corrupt)");
  int rc = FG_OK;
  name_index ix = {NULL, 0, 0};
  const Onnx__GraphProto *gp = mp->graph;
  if (!gp) { rc = fg__seterr(err, FG_EFORMAT, "ONNX model has no graph"); goto out; }
  g->opset = -1;
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const char *dom = mp->opset_import[i]->domain;
    if (!dom || !*dom || strcmp(dom, "ai.onnx") == 0) g->opset = mp->opset_import[i]->version;
  }
  /* Required since IR version 3; a missing one is also what a file cut short right
   * after its graph looks like (opset_import is serialized last). */
  if (g->opset < 0) { rc = fg__seterr(err, FG_EFORMAT, "model declares no ai.onnx opset (truncated file?)"); goto out; }
  if (g->opset < 1) { rc = fg__seterr(err, FG_EFORMAT, "opset %lld is not a valid version", (long long)g->opset); goto out; }
  if (g->opset > 18) { rc = fg__seterr(err, FG_EUNSUPPORTED, "opset %lld is newer than supported (18)", (long long)g->opset); goto out; }
  if (gp->n_node > MAX_NODES) { rc = fg__seterr(err, FG_ELIMIT, "graph has %zu nodes (limit %d)", gp->n_node, MAX_NODES); goto out; }

  size_t budget = g->max_total_bytes;
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    const char *name = tp->name ? tp->name : "";
    if (index_find(g, &ix, name) >= 0) { rc = fg__seterr(err, FG_EFORMAT, "initializer '%s' is defined twice", name); goto out; }
    int ti = add_tensor(g, &ix, name, err);
    if (ti < 0) { rc = ti; goto out; }
    if ((rc = load_tensor(g, ti, tp, &budget, err))) goto out;
  }
  for (size_t i = 0; i < gp->n_input; i++) {
    int ti = load_io(g, &ix, gp->input[i], 1, opts, err);
    if (ti == -1000) continue;
    if (ti < 0) { rc = ti; goto out; }
    if ((rc = push_idx(&g->inputs, &g->n_inputs, ti))) { rc = fg__seterr(err, rc, "out of memory"); goto out; }
  }
  if (g->n_inputs == 0) {
    rc = fg__seterr(err, FG_EUNSUPPORTED, "graph has no inputs (a model that computes a constant is not supported)");
    goto out;
  }
  for (size_t i = 0; i < gp->n_node; i++)
    if ((rc = load_node(g, &ix, gp->node[i], &budget, err))) goto out;
  for (size_t i = 0; i < gp->n_output; i++) {
    int ti = load_io(g, &ix, gp->output[i], 0, opts, err);
    if (ti < 0) { rc = ti; goto out; }
    if ((rc = push_idx(&g->outputs, &g->n_outputs, ti))) { rc = fg__seterr(err, rc, "out of memory"); goto out; }
  }
  if (g->n_outputs == 0) { rc = fg__seterr(err, FG_EFORMAT, "graph has no outputs"); goto out; }
  /* Every tensor must come from somewhere. */
  for (int i = 0; i < g->n_t; i++) {
    fg__tensor *t = &g->t[i];
    if (t->producer < 0 && !t->data && !t->is_input) {
      rc = fg__seterr(err, FG_EFORMAT, "tensor '%s' is used but neither an input, an initializer nor a node output", t->name);
      goto out;
    }
  }
  g->n_nodes_file = (size_t)g->n_nodes;
  rc = fg__graph_toposort(g, err);
out:
  free(ix.slot);
  onnx__model_proto__free_unpacked(mp, &alloc);
  return rc;
}
