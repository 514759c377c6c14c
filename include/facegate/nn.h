/*
 * facegate/nn.h — load an ONNX model and run it on the CPU through XNNPACK.
 *
 * A model (fg_model) is the parsed, checked and constant-folded graph for a fixed
 * input size, with its weights already re-laid out for XNNPACK. It is immutable
 * once loaded and may be shared by any number of threads and sessions.
 *
 * A session (fg_session) is what runs: the compiled XNNPACK runtime(s), a thread
 * pool and the activation buffers. A session is NOT thread-safe: use one session
 * per thread (creating several sessions on one model is cheap in memory only for
 * the activations plus XNNPACK's packed weights). The model must outlive its
 * sessions.
 *
 *     fg_model *m; fg_session *s; fg_error e;
 *     if (fg_model_load_file("fr_feature.onnx", NULL, &m, &e)) die(e.msg);
 *     fg_session_options so = { .threads = 1 };
 *     if (fg_session_create(m, &so, &s, &e)) die(e.msg);
 *     const float *in[1] = { pixels };        // NCHW, 1x3x112x112
 *     float *out[1] = { embedding };          // 1x512
 *     fg_session_run(s, in, out, &e);
 *     fg_session_destroy(s); fg_model_destroy(m);
 *
 * Inputs and outputs are dense float32 tensors in the model's own (ONNX, so NCHW)
 * layout; the session converts to and from XNNPACK's NHWC internally.
 *
 * Supported operators (opset 7–13 semantics for the attributes listed):
 * Conv, BatchNormalization, Relu, Clip, PRelu, LeakyRelu, Sigmoid, Add, Sub, Mul,
 * Div, Gemm, MatMul, GlobalAveragePool, AveragePool, MaxPool, Softmax, Reshape,
 * Flatten, Transpose, Concat, Slice, Exp, Constant, Shape, Gather, Unsqueeze,
 * Squeeze, Identity, Dropout. Anything else is refused at load time with an error
 * naming the node, the operator and, where it applies, the attribute.
 */
#ifndef FACEGATE_NN_H
#define FACEGATE_NN_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/error.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

#define FG_NN_MAX_RANK 8

typedef struct fg_model fg_model;
typedef struct fg_session fg_session;
typedef struct fg_quant_ranges fg_quant_ranges;

typedef struct fg_model_options {
  /* Refuse files larger than this (bytes); 0 = default 512 MiB. */
  size_t max_file_bytes;
  /* Refuse graphs whose tensors would need more than this in total (bytes); 0 = 1 GiB. */
  size_t max_total_bytes;
  /* Override a symbolic or dynamic input shape: dims of input 0 (rank given by
   * input_rank, 0 = keep the file's static shape). */
  int input_rank;
  int64_t input_dims[FG_NN_MAX_RANK];
} fg_model_options;

typedef struct fg_session_options {
  int threads;   /* worker threads, 1 = run on the caller's thread; 0 = 1 */
  int backend;   /* FG_BACKEND_XNNPACK (default), FG_BACKEND_REFERENCE or FG_BACKEND_ONEDNN */
  int precision; /* FG_PRECISION_*: FP32 (default); BF16 and INT8 need FG_BACKEND_ONEDNN */
  /* INT8: the activation ranges to quantise with (fg_quant_ranges_*). NULL:
   * the built-in ranges of a default model; for another model, an error.
   * The session keeps no reference: the ranges may be destroyed after. */
  const fg_quant_ranges *ranges;
  /* INT8: scale each activation by the mean over the calibration runs of
   * its largest |x| instead of the largest |x| of all (clips outliers). */
  int ranges_mean;
  /* 4-D inputs come channels-last (N, H, W, C: a pixel's channels together)
   * instead of the model's NCHW. oneDNN's convolutions read that layout as it
   * is (no reorder before the first layer: about 4% of the detector's time);
   * the other backends transpose such inputs to NCHW before each run. */
  int input_nhwc;
  /* FG_BACKEND_ONEDNN, FP32: keep every activation of the last run in its own
   * buffer (more memory) so that fg_session_record can read them. */
  int record;
} fg_session_options;

/* XNNPACK: fp32, Debian's 2022 snapshot. REFERENCE: plain C, double
 * accumulation (what tests compare against). ONEDNN: Debian's oneDNN 2.6,
 * fp32, bf16 (AVX-512 BF16) or int8 (AVX-512 VNNI) convolutions; operators it
 * does not run go through the C kernels. */
enum { FG_BACKEND_XNNPACK = 0, FG_BACKEND_REFERENCE = 1, FG_BACKEND_ONEDNN = 2 };
/* fp32; bf16 weights and activations, fp32 accumulation; int8 weights (per
 * output channel scales) and activations (per tensor, from calibrated ranges),
 * int32 accumulation. Layers a precision cannot run (a Softmax, a Sigmoid in
 * int8, an operator oneDNN lacks) run in fp32 in the same session. */
enum { FG_PRECISION_FP32 = 0, FG_PRECISION_BF16 = 1, FG_PRECISION_INT8 = 2 };
/* "fp32", "bf16", "int8" ("?" otherwise). */
const char *fg_precision_name(int precision);
/* 1 if this CPU runs the precision with instructions of its own (int8:
 * AVX-512 VNNI; bf16: AVX-512 BF16; fp32: always), 0 if oneDNN would emulate it. */
int fg_precision_native(int precision);

/* A tensor's name and static shape, valid as long as the model lives. */
typedef struct fg_tensor_info {
  const char *name;
  int rank;
  int64_t dims[FG_NN_MAX_RANK];
  size_t count; /* number of elements */
} fg_tensor_info;

/* Summary of a loaded model for `facegate model info`. */
typedef struct fg_model_stats {
  int64_t opset;
  size_t nodes;          /* nodes in the file */
  size_t nodes_folded;   /* nodes removed by constant folding */
  size_t params;         /* number of weight elements */
  uint64_t macs;         /* multiply-accumulates of one run (Conv, Gemm, MatMul) */
  char sha256[65];       /* of the file (or buffer) */
  char ops[512];         /* distinct operator types in the file, comma-separated */
} fg_model_stats;

/* Load and check a model from a file. On success *out owns the model; on error
 * *out is NULL, nothing is leaked, and err says what and where. opts may be NULL.
 * The file is an ONNX model, or a TensorFlow.js weights manifest
 * (`*-weights_manifest.json`, its shard files next to it) of a network the
 * engine knows the architecture of: face-api's faceRecognitionNet (dlib's
 * ResNet, 150x150 RGB 0..255 in, 128-d out; src/nn/tfjs_load.c), which is
 * turned into ONNX first; opts->input_dims may change its input size. */
int fg_model_load_file(const char *path, const fg_model_options *opts, fg_model **out,
                       fg_error *err);
/* Same, from memory (the buffer is not kept). */
int fg_model_load_memory(const void *data, size_t len, const fg_model_options *opts,
                         fg_model **out, fg_error *err);
/* The ONNX model that fg_model_load_file builds from a TensorFlow.js weights
 * manifest, as bytes (*onnx malloc'd, the caller frees it): for other ONNX
 * tools (ONNX Runtime in `make bench-models`). FG_EFORMAT if path is not a
 * manifest. */
int fg_model_convert_file(const char *path, const fg_model_options *opts, uint8_t **onnx, size_t *len,
                          fg_error *err);
/* Free a model; NULL does nothing. All its sessions must be destroyed first. */
void fg_model_destroy(fg_model *m);

size_t fg_model_input_count(const fg_model *m);
size_t fg_model_output_count(const fg_model *m);
/* Returns NULL for an index out of range. */
const fg_tensor_info *fg_model_input(const fg_model *m, size_t i);
const fg_tensor_info *fg_model_output(const fg_model *m, size_t i);
void fg_model_get_stats(const fg_model *m, fg_model_stats *stats);

/* Compile the model for execution. opts may be NULL (1 thread, XNNPACK). */
int fg_session_create(const fg_model *m, const fg_session_options *opts, fg_session **out,
                      fg_error *err);
/* Run once. inputs[i] points to fg_model_input(m,i)->count floats, outputs[i] to room
 * for fg_model_output(m,i)->count floats. On error outputs are unspecified.
 * With threads > 1 the session times its runs and uses its threads only while
 * they are faster than the caller's thread alone (on a busy machine they are
 * not): see fg_session_get_stats. */
int fg_session_run(fg_session *s, const float *const *inputs, float *const *outputs,
                   fg_error *err);
void fg_session_destroy(fg_session *s);

typedef struct fg_session_stats {
  const char *backend;          /* "xnnpack", "onednn" */
  int threads;                  /* as created */
  unsigned long runs;           /* fg_session_run calls that succeeded */
  unsigned long threaded_runs;  /* of those, how many used the threads */
  int using_threads;            /* what the next run will do (barring a probe) */
} fg_session_stats;
void fg_session_get_stats(const fg_session *s, fg_session_stats *stats);
/* oneDNN sessions: one line per node, "name OpType precision how" (precision
 * fp32, bf16, int8, or ref for the C kernels; how: dnnl, C or alias), written
 * into buf like snprintf; returns the length needed, -1 for other backends. */
int fg_session_describe(const fg_session *s, char *buf, size_t cap);

/* ---- activation ranges for int8 (docs/engine.md, "Quantised inference") ----
 * Record them by running an FG_BACKEND_ONEDNN, FG_PRECISION_FP32 session over
 * calibration inputs and calling fg_session_record after each run; save them
 * as JSON, load them for an INT8 session. The default models' ranges, measured
 * on the LFW development images, are built in (fg_quant_ranges_builtin). */
/* Empty ranges for every activation of m. */
int fg_quant_ranges_create(const fg_model *m, fg_quant_ranges **out, fg_error *err);
/* Fold the activations of the session's last run into r (same model). */
int fg_session_record(fg_session *s, fg_quant_ranges *r, fg_error *err);
/* Write r as JSON (temporary file renamed over path); method: a free text. */
int fg_quant_ranges_save(const fg_quant_ranges *r, const char *path, const char *method, fg_error *err);
/* Read ranges; with m non-NULL, FG_EMODEL unless they were measured on m. */
int fg_quant_ranges_load(const char *path, const fg_model *m, fg_quant_ranges **out, fg_error *err);
int fg_quant_ranges_parse(const char *json, size_t len, const fg_model *m, fg_quant_ranges **out,
                          fg_error *err);
/* The built-in ranges for m (one of the default models), FG_ENOTFOUND otherwise. */
int fg_quant_ranges_builtin(const fg_model *m, fg_quant_ranges **out, fg_error *err);
size_t fg_quant_ranges_count(const fg_quant_ranges *r);   /* tensors */
uint64_t fg_quant_ranges_runs(const fg_quant_ranges *r);  /* runs recorded */
void fg_quant_ranges_destroy(fg_quant_ranges *r);

/* ---- the default models (GUIDE: npm faceplugin-face-recognition-js@0.0.1) ---- */
typedef struct fg_default_model {
  const char *role;   /* "detect", "landmark", "feature", "liveness" */
  const char *file;   /* file name inside the models directory */
  const char *sha256; /* pinned digest */
  const char *what;   /* one-line description */
} fg_default_model;
/* The i-th default model, or NULL past the end. */
const fg_default_model *fg_default_model_at(size_t i);
/* Verify a file's SHA-256 against `expect` (hex). FG_ECHECKSUM on mismatch. */
int fg_file_sha256(const char *path, char hex[65], fg_error *err);

/* ---- .npy tensor files (NumPy format 1.0/2.0, little-endian, C order) ----
 * Used by `facegate model run` and the tests to exchange tensors with other tools.
 * Reading accepts float32, float64, uint8 and int64 arrays and converts to float32;
 * *data is malloc'd and owned by the caller. */
int fg_npy_read(const char *path, float **data, int *rank, int64_t dims[FG_NN_MAX_RANK], fg_error *err);
int fg_npy_read_memory(const uint8_t *buf, size_t len, float **data, int *rank,
                       int64_t dims[FG_NN_MAX_RANK], fg_error *err);
/* Write a float32 array; the file is written to a temporary name and renamed. */
int fg_npy_write(const char *path, const float *data, int rank, const int64_t *dims, fg_error *err);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
