/*
 * The engine's internal graph: what an ONNX file becomes after loading, before
 * it is compiled for XNNPACK. Tensors and nodes live in flat arrays and refer to
 * each other by index, so passes (folding, fusion, shape inference) can rewrite
 * the graph without pointer surgery.
 *
 * Flow: onnx_load.c fills a graph from protobuf → fold.c folds constants and
 * infers every shape for the fixed input size → fuse.c folds BatchNormalization
 * into Conv/Gemm and activations into their producer → session.c builds
 * something runnable from it.
 */
#ifndef FG_NN_GRAPH_H
#define FG_NN_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "common/internal.h"
#include "facegate/nn.h"

#define FG__MAX_RANK FG_NN_MAX_RANK

/* Element types, numbered as ONNX TensorProto.DataType. A loaded graph holds
 * FLOAT and INT64 tensors only (the loader converts or refuses the others);
 * the narrower types are what a quantised session stores activations and
 * weights in (nn/quant.h), with the tensor's fg__qparams saying how. */
enum { FG__DT_FLOAT = 1, FG__DT_UINT8 = 2, FG__DT_INT8 = 3, FG__DT_INT32 = 6, FG__DT_INT64 = 7, FG__DT_BF16 = 16 };

/* The operators the engine knows, as an X-macro: FG__OP_<ENUM> and the ONNX
 * op_type. A node's op_type string is turned into this enum once, at load
 * (fg__op_lookup); everything after that (shape inference, fusion, the
 * kernels' dispatch table, the backends' row tables) switches on the enum. */
#define FG__OP_LIST(X)                                                                          \
  X(CONV, "Conv") X(BATCHNORM, "BatchNormalization") X(RELU, "Relu") X(CLIP, "Clip")             \
  X(PRELU, "PRelu") X(LEAKYRELU, "LeakyRelu") X(SIGMOID, "Sigmoid") X(EXP, "Exp") X(ADD, "Add")  \
  X(SUB, "Sub") X(MUL, "Mul") X(DIV, "Div") X(GEMM, "Gemm") X(MATMUL, "MatMul")                  \
  X(GLOBALAVGPOOL, "GlobalAveragePool") X(AVGPOOL, "AveragePool") X(MAXPOOL, "MaxPool")          \
  X(SOFTMAX, "Softmax") X(RESHAPE, "Reshape") X(FLATTEN, "Flatten") X(TRANSPOSE, "Transpose")     \
  X(CONCAT, "Concat") X(SLICE, "Slice") X(CONSTANT, "Constant") X(SHAPE, "Shape")                \
  X(GATHER, "Gather") X(UNSQUEEZE, "Unsqueeze") X(SQUEEZE, "Squeeze") X(IDENTITY, "Identity")    \
  X(DROPOUT, "Dropout")

#define FG__OP_ENUM(e, s) FG__OP_##e,
enum fg__op { FG__OP_UNKNOWN = 0, FG__OP_LIST(FG__OP_ENUM) FG__OP_COUNT };
#undef FG__OP_ENUM

/* The enum for an ONNX op_type (FG__OP_UNKNOWN if we have no such operator),
 * and the op_type of an enum value ("?" for UNKNOWN). */
int fg__op_lookup(const char *op_type);
const char *fg__op_name(int op);
/* Reshape-like ops: the output is the input's bytes under another shape. */
static inline int fg__op_is_reshape(int op) {
  return op == FG__OP_RESHAPE || op == FG__OP_FLATTEN || op == FG__OP_SQUEEZE || op == FG__OP_UNSQUEEZE ||
         op == FG__OP_IDENTITY || op == FG__OP_DROPOUT;
}

/* How a quantised tensor's stored integers q map back to real values:
 * x = scale * (q - zero). scale = 0 for a tensor that is not quantised. */
typedef struct fg__qparams { float scale; int32_t zero; } fg__qparams;

typedef struct fg__tensor {
  char *name;
  int dtype;                   /* FG__DT_* */
  int rank;                    /* -1 while unknown */
  int64_t dims[FG__MAX_RANK];
  void *data;                  /* owned constant data, NULL for activations */
  int producer;                /* node index, -1 for inputs and constants */
  int n_consumers;             /* filled by fg__graph_count_uses */
  int is_input, is_output;
  fg__qparams q;               /* set by a quantising session's plan, else zero */
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

/* Conv/pool geometry shared by shape inference and the kernels. */
typedef struct fg__pool_geom {
  int kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
} fg__pool_geom;

/* A node's attributes, read and checked once by shape inference (fold.c) so
 * that nothing on the per-inference path looks an attribute up by name. Only
 * the fields of the node's own op are meaningful. */
typedef struct fg__params {
  fg__pool_geom geo;             /* Conv, MaxPool, AveragePool (GlobalAveragePool: the whole plane) */
  int group;                     /* Conv */
  int axis;                      /* normalised: Softmax, Concat, Gather */
  int count_pad;                 /* AveragePool count_include_pad */
  int trans_a, trans_b;          /* Gemm */
  float alpha, beta;             /* Gemm; alpha also LeakyRelu's slope */
  float lo, hi;                  /* Clip bounds */
  float eps;                     /* BatchNormalization epsilon */
  int64_t perm[FG__MAX_RANK];    /* Transpose */
  int64_t start[FG__MAX_RANK];   /* Slice: per axis; Shape: start[0] */
  int64_t step[FG__MAX_RANK];    /* Slice */
} fg__params;

typedef struct fg__node {
  char *name;
  char *op_type;       /* as in the file, for messages */
  int op;              /* enum fg__op, from op_type at load (may change in rewrites) */
  fg__params p;        /* filled by shape inference */
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

/* ---- tfjs_load.c: a TensorFlow.js weights manifest (face-api's
 * faceRecognitionNet) as an ONNX model in memory ---- */
int fg__tfjs_looks_like(const uint8_t *data, size_t len);
/* text/len: the manifest read from path (its shards are read next to it).
 * On success *onnx (malloc'd, caller frees) holds the ONNX bytes. */
int fg__tfjs_to_onnx(const char *path, const uint8_t *text, size_t len, const fg_model_options *opts,
                     uint8_t **onnx, size_t *onnx_len, fg_error *err);

/* ---- fold.c: constant folding and shape inference ---- */
int fg__graph_infer(fg__graph *g, fg_error *err);

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

#endif
