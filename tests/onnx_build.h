/*
 * A tiny ONNX model builder for the engine tests: models are assembled at test
 * time from the protoc-c structs generated from onnx.proto and packed into
 * bytes, so the tests need no model files. Everything the builder allocates is
 * recorded in an arena and freed by mb_free. Shared by test_nn_ops.c and
 * test_nn_hostile.c.
 */
#ifndef FG_TEST_ONNX_BUILD_H
#define FG_TEST_ONNX_BUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"


#define MB_CAP 64

typedef struct mb {
  void *allocs[4096];
  size_t n_allocs;
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
} mb;

static inline void *mb_alloc(mb *b, size_t n) {
  void *p = calloc(1, n ? n : 1);
  assert_non_null(p);
  assert_true(b->n_allocs < sizeof b->allocs / sizeof *b->allocs);
  b->allocs[b->n_allocs++] = p;
  return p;
}

static inline char *mb_str(mb *b, const char *s) {
  char *p = mb_alloc(b, strlen(s) + 1);
  memcpy(p, s, strlen(s) + 1);
  return p;
}

static inline mb *mb_new(int64_t opset) {
  mb *b = calloc(1, sizeof *b);
  assert_non_null(b);
  Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
  Onnx__OperatorSetIdProto o = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  b->model = m;
  b->graph = g;
  b->opset = o;
  b->opset.domain = mb_str(b, "");
  b->opset.has_version = 1;
  b->opset.version = opset;
  b->opsets[0] = &b->opset;
  b->model.has_ir_version = 1;
  b->model.ir_version = 7;
  b->model.n_opset_import = 1;
  b->model.opset_import = b->opsets;
  b->model.graph = &b->graph;
  b->graph.name = mb_str(b, "test");
  b->graph.node = mb_alloc(b, MB_CAP * sizeof(void *));
  b->graph.initializer = mb_alloc(b, MB_CAP * sizeof(void *));
  b->graph.input = mb_alloc(b, MB_CAP * sizeof(void *));
  b->graph.output = mb_alloc(b, MB_CAP * sizeof(void *));
  return b;
}

static inline void mb_free(mb *b) {
  for (size_t i = 0; i < b->n_allocs; i++) free(b->allocs[i]);
  free(b);
}

static inline void mb_input(mb *b, const char *name, int rank, const int64_t *dims) {
  Onnx__ValueInfoProto *vi = mb_alloc(b, sizeof *vi);
  Onnx__TypeProto *tp = mb_alloc(b, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = mb_alloc(b, sizeof *tt);
  Onnx__TensorShapeProto *sp = mb_alloc(b, sizeof *sp);
  Onnx__ValueInfoProto vi0 = ONNX__VALUE_INFO_PROTO__INIT;
  Onnx__TypeProto tp0 = ONNX__TYPE_PROTO__INIT;
  Onnx__TypeProto__Tensor tt0 = ONNX__TYPE_PROTO__TENSOR__INIT;
  Onnx__TensorShapeProto sp0 = ONNX__TENSOR_SHAPE_PROTO__INIT;
  *vi = vi0; *tp = tp0; *tt = tt0; *sp = sp0;
  sp->n_dim = (size_t)rank;
  sp->dim = mb_alloc(b, (size_t)(rank + 1) * sizeof(void *));
  for (int i = 0; i < rank; i++) {
    Onnx__TensorShapeProto__Dimension d0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    Onnx__TensorShapeProto__Dimension *d = mb_alloc(b, sizeof *d);
    *d = d0;
    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d->dim_value = dims[i];
    sp->dim[i] = d;
  }
  tt->has_elem_type = 1;
  tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tt->shape = sp;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  vi->name = mb_str(b, name);
  vi->type = tp;
  assert_true(b->graph.n_input < MB_CAP);
  b->graph.input[b->graph.n_input++] = vi;
}

static inline void mb_output(mb *b, const char *name) {
  Onnx__ValueInfoProto *vi = mb_alloc(b, sizeof *vi);
  Onnx__ValueInfoProto vi0 = ONNX__VALUE_INFO_PROTO__INIT;
  *vi = vi0;
  vi->name = mb_str(b, name);
  assert_true(b->graph.n_output < MB_CAP);
  b->graph.output[b->graph.n_output++] = vi;
}

static inline Onnx__TensorProto *mb_tensor(mb *b, const char *name, int dtype, int rank, const int64_t *dims) {
  Onnx__TensorProto *t = mb_alloc(b, sizeof *t);
  Onnx__TensorProto t0 = ONNX__TENSOR_PROTO__INIT;
  *t = t0;
  t->name = mb_str(b, name);
  t->has_data_type = 1;
  t->data_type = dtype;
  t->n_dims = (size_t)rank;
  t->dims = mb_alloc(b, (size_t)(rank + 1) * sizeof(int64_t));
  if (rank) memcpy(t->dims, dims, (size_t)rank * sizeof(int64_t));
  return t;
}

static inline size_t count_of(int rank, const int64_t *dims) {
  size_t c = 1;
  for (int i = 0; i < rank; i++) c *= (size_t)dims[i];
  return c;
}

/* Float initializer, stored as raw_data (as exporters do) or, with typed=1, as float_data. */
static inline void mb_init_f(mb *b, const char *name, int rank, const int64_t *dims, const float *data, int typed) {
  Onnx__TensorProto *t = mb_tensor(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims);
  size_t n = count_of(rank, dims);
  if (typed) {
    t->n_float_data = n;
    t->float_data = mb_alloc(b, n * sizeof(float));
    if (n && data) memcpy(t->float_data, data, n * sizeof(float));
  } else {
    t->has_raw_data = 1;
    t->raw_data.len = n * sizeof(float);
    t->raw_data.data = mb_alloc(b, n * sizeof(float));
    if (n && data) memcpy(t->raw_data.data, data, n * sizeof(float));
  }
  assert_true(b->graph.n_initializer < MB_CAP);
  b->graph.initializer[b->graph.n_initializer++] = t;
}

static inline void mb_init_i64(mb *b, const char *name, int rank, const int64_t *dims, const int64_t *data) {
  Onnx__TensorProto *t = mb_tensor(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, rank, dims);
  size_t n = count_of(rank, dims);
  t->n_int64_data = n;
  t->int64_data = mb_alloc(b, n * sizeof(int64_t));
  memcpy(t->int64_data, data, n * sizeof(int64_t));
  assert_true(b->graph.n_initializer < MB_CAP);
  b->graph.initializer[b->graph.n_initializer++] = t;
}

/* 1-D int64 initializer from a list. */
static inline void mb_ints(mb *b, const char *name, int n, const int64_t *v) {
  int64_t d[1] = {n};
  mb_init_i64(b, name, 1, d, v);
}

/* Split "a,b,,c" into names ("" = omitted optional input). */
static inline size_t split_names(mb *b, const char *list, char ***out) {
  size_t n = 1;
  for (const char *p = list; *p; p++) n += *p == ',';
  if (!*list) n = 0;
  char **v = mb_alloc(b, (n + 1) * sizeof *v);
  const char *s = list;
  for (size_t i = 0; i < n; i++) {
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    v[i] = mb_alloc(b, len + 1);
    memcpy(v[i], s, len);
    s = e ? e + 1 : s + len;
  }
  *out = v;
  return n;
}

static inline Onnx__NodeProto *mb_node(mb *b, const char *op, const char *ins, const char *outs) {
  Onnx__NodeProto *n = mb_alloc(b, sizeof *n);
  Onnx__NodeProto n0 = ONNX__NODE_PROTO__INIT;
  *n = n0;
  char name[64];
  snprintf(name, sizeof name, "%s_%zu", op, b->graph.n_node);
  n->name = mb_str(b, name);
  n->op_type = mb_str(b, op);
  n->n_input = split_names(b, ins, &n->input);
  n->n_output = split_names(b, outs, &n->output);
  n->attribute = mb_alloc(b, 16 * sizeof(void *));
  assert_true(b->graph.n_node < MB_CAP);
  b->graph.node[b->graph.n_node++] = n;
  return n;
}

static inline Onnx__AttributeProto *mb_attr(mb *b, Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType type) {
  Onnx__AttributeProto *a = mb_alloc(b, sizeof *a);
  Onnx__AttributeProto a0 = ONNX__ATTRIBUTE_PROTO__INIT;
  *a = a0;
  a->name = mb_str(b, name);
  a->has_type = 1;
  a->type = type;
  assert_true(n->n_attribute < 16);
  n->attribute[n->n_attribute++] = a;
  return a;
}

static inline void mb_attr_i(mb *b, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
}

static inline void mb_attr_f(mb *b, Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = v;
}

static inline void mb_attr_s(mb *b, Onnx__NodeProto *n, const char *name, const char *v) {
  Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = 1;
  a->s.len = strlen(v);
  a->s.data = (uint8_t *)mb_str(b, v);
}

static inline void mb_attr_ints(mb *b, Onnx__NodeProto *n, const char *name, int cnt, const int64_t *v) {
  Onnx__AttributeProto *a = mb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = (size_t)cnt;
  a->ints = mb_alloc(b, (size_t)(cnt + 1) * sizeof(int64_t));
  memcpy(a->ints, v, (size_t)cnt * sizeof(int64_t));
}

#define INTS(...) ((const int64_t[]){__VA_ARGS__})
#define NINTS(...) (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), INTS(__VA_ARGS__)

static inline uint8_t *mb_pack(mb *b, size_t *len) {
  *len = onnx__model_proto__get_packed_size(&b->model);
  uint8_t *buf = malloc(*len + 1);
  assert_non_null(buf);
  assert_int_equal(onnx__model_proto__pack(&b->model, buf), *len);
  return buf;
}

#endif
