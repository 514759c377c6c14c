/*
 * The engine's internal graph: what an ONNX file becomes after loading, before
 * it is compiled for XNNPACK. Tensors and nodes live in flat arrays and refer to
 * each other by index, so passes (folding, fusion, shape inference) can rewrite
 * the graph without pointer surgery.
 *
 * Flow: onnx_load.c fills a graph from protobuf → fold.c folds constants and
 * infers every shape for the fixed input size → fuse.c folds BatchNormalization
 * into Conv/Gemm and activations into their producer → session.c builds the
 * steps that run it (XNNPACK segments and the C kernels of kernels.c; the
 * reference backend: C kernels only).
 */
#ifndef FG_NN_GRAPH_H
#define FG_NN_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "common/internal.h"
#include "facegate/nn.h"

#define FG__MAX_RANK FG_NN_MAX_RANK

/* ONNX TensorProto.DataType values we keep (others are converted or refused). */
enum { FG__DT_FLOAT = 1, FG__DT_INT64 = 7 };

typedef struct fg__tensor {
  char *name;
  int dtype;                   /* FG__DT_* */
  int rank;                    /* -1 while unknown */
  int64_t dims[FG__MAX_RANK];
  void *data;                  /* owned constant data, NULL for activations */
  int producer;                /* node index, -1 for inputs and constants */
  int n_consumers;             /* filled by fg__graph_count_uses */
  int is_input, is_output;
} fg__tensor;

enum { FG__ATTR_FLOAT = 1, FG__ATTR_INT = 2, FG__ATTR_STRING = 3, FG__ATTR_TENSOR = 4,
       FG__ATTR_FLOATS = 6, FG__ATTR_INTS = 7 };

typedef struct fg__attr {
  char *name;
  int type;
  float f;
  int64_t i;
  char *s;
  int64_t *ints;
  float *floats;
  size_t n;       /* length of ints/floats */
  int tensor;     /* tensor index for FG__ATTR_TENSOR */
  int used;       /* set when an op reads it: unread attributes are refused */
} fg__attr;

/* Fused activation carried by a node after fuse.c: out = clamp(op(x), lo, hi). */
typedef struct fg__act { float lo, hi; } fg__act;

typedef struct fg__node {
  char *name;
  char *op;
  int n_in, n_out;
  int *in;             /* tensor indices, -1 = omitted optional input */
  int *out;
  fg__attr *attrs;
  int n_attrs;
  int dead;            /* removed by a pass */
  fg__act act;         /* fused clamp; lo=-INF hi=+INF when none */
} fg__node;

typedef struct fg__graph {
  fg__tensor *t;
  int n_t, cap_t;
  fg__node *nodes;
  int n_nodes, cap_nodes;
  int *inputs, n_inputs;
  int *outputs, n_outputs;
  int64_t opset;
  size_t max_total_bytes;
  size_t n_nodes_file;  /* as loaded, for stats */
} fg__graph;

/* ---- graph.c: building and querying ---- */
void fg__graph_free(fg__graph *g);
int fg__graph_add_tensor(fg__graph *g, const char *name, fg_error *err); /* returns index or <0 */
int fg__graph_find_tensor(const fg__graph *g, const char *name);          /* -1 if absent */
size_t fg__tensor_count(const fg__tensor *t);                              /* elements, rank known */
size_t fg__dtype_size(int dtype);
fg__attr *fg__node_attr(fg__node *n, const char *name);
int64_t fg__attr_int(fg__node *n, const char *name, int64_t dflt);
float fg__attr_float(fg__node *n, const char *name, float dflt);
/* Ints attribute; returns count (0 if absent) and sets *v. */
size_t fg__attr_ints(fg__node *n, const char *name, const int64_t **v);
/* Order nodes topologically (stable), refusing cycles and dangling inputs. */
int fg__graph_toposort(fg__graph *g, fg_error *err);
void fg__graph_count_uses(fg__graph *g);
/* Check every attribute of live nodes was read by some pass; error names the first unread. */
int fg__graph_check_attrs(const fg__graph *g, fg_error *err);
const char *fg__node_label(const fg__node *n); /* name, or "(unnamed)" */

/* ---- onnx_load.c ---- */
int fg__onnx_parse(const uint8_t *data, size_t len, const fg_model_options *opts, fg__graph *g,
                   fg_error *err);

/* ---- fold.c: constant folding and shape inference ---- */
int fg__graph_infer(fg__graph *g, fg_error *err);
/* Resolve a Slice node's per-axis start and step (and, if odims is non-NULL, its
 * output dims) from its attributes or constant inputs; shared with kernels.c. */
int fg__slice_params(const fg__graph *g, fg__node *n, int64_t *start, int64_t *step, int64_t *odims, fg_error *err);

/* ---- fuse.c: BN folding, activation fusion ---- */
int fg__graph_fuse(fg__graph *g, fg_error *err);

/* ---- kernels.c: plain C reference kernels (NCHW), used by the reference backend
 * and for the ops XNNPACK lacks. Each runs one node on dense row-major tensors. */
typedef struct fg__kctx {
  const fg__graph *g;
  const fg__node *n;
  const void *const *in;   /* data per input (NULL for omitted); float or int64 per dtype */
  void *const *out;
} fg__kctx;
int fg__kernel_run(const fg__kctx *k, fg_error *err);

/* Numpy-style broadcast of a and b into out; returns 0 or -1 if incompatible. */
int fg__broadcast_shape(int ra, const int64_t *a, int rb, const int64_t *b, int *ro, int64_t *o);
/* Normalise a possibly negative axis against rank; -1 if out of range. */
int fg__norm_axis(int64_t axis, int rank);
/* Conv/pool geometry shared by shape inference and the kernels. */
typedef struct fg__pool_geom {
  int kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
} fg__pool_geom;
int fg__node_geom(fg__node *n, const fg__tensor *x, int kh, int kw, fg__pool_geom *geo, fg_error *err);

#endif
