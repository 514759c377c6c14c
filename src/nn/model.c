/*
 * fg_model: read an ONNX file, verify and prepare its graph, and answer
 * questions about it (inputs, outputs, ops, parameters, MACs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"

#define DEFAULT_MAX_FILE ((size_t)512 << 20)

static int fill_info(const fg__graph *g, const int *idx, int n, fg_tensor_info **out, fg_error *err) {
  fg_tensor_info *info = calloc((size_t)n + 1, sizeof *info);
  if (!info) return fg__seterr(err, FG_ENOMEM, "out of memory");
  for (int i = 0; i < n; i++) {
    const fg__tensor *t = &g->t[idx[i]];
    info[i].name = t->name;
    info[i].rank = t->rank;
    memcpy(info[i].dims, t->dims, sizeof info[i].dims);
    info[i].count = fg__tensor_count(t);
  }
  *out = info;
  return FG_OK;
}

/* Distinct operator types in first-seen order, comma-separated. */
static void list_ops(const fg__graph *g, char *ops, size_t cap) {
  for (int i = 0; i < g->n_nodes; i++) {
    const char *op = g->nodes[i].op_type;
    char key[80], probe[600];
    snprintf(key, sizeof key, ",%s,", op);
    snprintf(probe, sizeof probe, ",%s,", ops);
    if (strstr(probe, key) || strlen(ops) + strlen(op) + 2 >= cap) continue;
    if (*ops) strcat(ops, ",");
    strcat(ops, op);
  }
}

static void compute_stats(fg_model *m, const uint8_t *data, size_t len) {
  fg__graph *g = &m->g;
  fg_model_stats *s = &m->stats;
  s->opset = g->opset;
  s->nodes = g->n_nodes_file;
  fg__sha256_hex(data, len, s->sha256);
  for (int i = 0; i < g->n_nodes; i++) {
    const fg__node *n = &g->nodes[i];
    if (n->dead) { s->nodes_folded++; continue; }
    if (n->op == FG__OP_CONV) {
      const fg__tensor *w = &g->t[n->in[1]], *o = &g->t[n->out[0]];
      s->macs += (uint64_t)(fg__tensor_count(o)) * (uint64_t)(w->dims[1] * w->dims[2] * w->dims[3]);
    } else if (n->op == FG__OP_GEMM || n->op == FG__OP_MATMUL) {
      const fg__tensor *a = &g->t[n->in[0]], *o = &g->t[n->out[0]];
      int64_t K = a->dims[a->rank - 1];
      s->macs += (uint64_t)fg__tensor_count(o) * (uint64_t)K;
    }
  }
  for (int i = 0; i < g->n_t; i++) {
    const fg__tensor *t = &g->t[i];
    if (t->data && t->producer < 0 && t->dtype == FG__DT_FLOAT && t->n_consumers > 0) s->params += fg__tensor_count(t);
  }
}

int fg_model_load_memory(const void *data, size_t len, const fg_model_options *opts, fg_model **out, fg_error *err) {
  *out = NULL;
  if (!data || !len) return fg__seterr(err, FG_EFORMAT, "empty model");
  size_t maxb = opts && opts->max_file_bytes ? opts->max_file_bytes : DEFAULT_MAX_FILE;
  if (len > maxb) return fg__seterr(err, FG_ELIMIT, "model is %zu bytes, limit %zu", len, maxb);
  fg_model *m = calloc(1, sizeof *m);
  if (!m) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = fg__onnx_parse(data, len, opts, &m->g, err);
  if (!rc) list_ops(&m->g, m->stats.ops, sizeof m->stats.ops); /* as in the file, before rewrites */
  if (!rc) rc = fg__graph_infer(&m->g, err);
  if (!rc) rc = fg__graph_fuse(&m->g, err);
  if (!rc) rc = fill_info(&m->g, m->g.inputs, m->g.n_inputs, &m->inputs, err);
  if (!rc) rc = fill_info(&m->g, m->g.outputs, m->g.n_outputs, &m->outputs, err);
  if (rc) { fg_model_destroy(m); return rc; }
  compute_stats(m, data, len);
  *out = m;
  return FG_OK;
}

int fg_model_load_file(const char *path, const fg_model_options *opts, fg_model **out, fg_error *err) {
  *out = NULL;
  uint8_t *buf;
  size_t len;
  size_t maxb = opts && opts->max_file_bytes ? opts->max_file_bytes : DEFAULT_MAX_FILE;
  int rc = fg__read_file(path, maxb, &buf, &len, err);
  if (rc) return rc;
  if (fg__tfjs_looks_like(buf, len)) { /* a TensorFlow.js weights manifest (JSON list) */
    uint8_t *onnx;
    size_t n;
    rc = fg__tfjs_to_onnx(path, buf, len, opts, &onnx, &n, err);
    free(buf);
    buf = onnx, len = n;
  }
  if (!rc) rc = fg_model_load_memory(buf, len, opts, out, err);
  free(buf);
  return rc ? fg__err_prefix(err, rc, "%s", path) : FG_OK;
}

int fg_model_convert_file(const char *path, const fg_model_options *opts, uint8_t **onnx, size_t *len,
                          fg_error *err) {
  *onnx = NULL;
  *len = 0;
  uint8_t *buf;
  size_t n;
  size_t maxb = opts && opts->max_file_bytes ? opts->max_file_bytes : DEFAULT_MAX_FILE;
  int rc = fg__read_file(path, maxb, &buf, &n, err);
  if (rc) return rc;
  if (!fg__tfjs_looks_like(buf, n)) {
    free(buf);
    return fg__seterr(err, FG_EFORMAT, "%s: not a TensorFlow.js weights manifest", path);
  }
  rc = fg__tfjs_to_onnx(path, buf, n, opts, onnx, len, err);
  free(buf);
  return rc;
}

void fg_model_destroy(fg_model *m) {
  if (!m) return;
  fg__graph_free(&m->g);
  free(m->inputs);
  free(m->outputs);
  free(m);
}

size_t fg_model_input_count(const fg_model *m) { return (size_t)m->g.n_inputs; }
size_t fg_model_output_count(const fg_model *m) { return (size_t)m->g.n_outputs; }
const fg_tensor_info *fg_model_input(const fg_model *m, size_t i) {
  return i < (size_t)m->g.n_inputs ? &m->inputs[i] : NULL;
}
const fg_tensor_info *fg_model_output(const fg_model *m, size_t i) {
  return i < (size_t)m->g.n_outputs ? &m->outputs[i] : NULL;
}
void fg_model_get_stats(const fg_model *m, fg_model_stats *stats) { *stats = m->stats; }

int fg_session_create(const fg_model *m, const fg_session_options *opts, fg_session **out, fg_error *err) {
  *out = NULL;
  int threads = opts && opts->threads > 0 ? opts->threads : 1;
  if (threads > 256) return fg__seterr(err, FG_EINVAL, "thread count %d is too large", threads);
  int backend = opts ? opts->backend : FG_BACKEND_XNNPACK;
  int precision = opts ? opts->precision : FG_PRECISION_FP32;
  if (precision < FG_PRECISION_FP32 || precision > FG_PRECISION_INT8)
    return fg__seterr(err, FG_EINVAL, "unknown precision %d", precision);
  if (backend == FG_BACKEND_ONEDNN) return fg__session_create_dnnl(m, opts, out, err);
  if (precision != FG_PRECISION_FP32)
    return fg__seterr(err, FG_EUNSUPPORTED, "%s precision needs the oneDNN backend", fg_precision_name(precision));
  int rc;
  if (backend == FG_BACKEND_REFERENCE) rc = fg__session_create_ref(m, out, err);
  else if (backend != FG_BACKEND_XNNPACK) return fg__seterr(err, FG_EINVAL, "unknown backend %d", backend);
  else rc = fg__session_create_xnn(m, threads, out, err);
  if (rc || !opts || !opts->input_nhwc) return rc;
  /* These backends read NCHW: room to transpose each 4-D input into. */
  fg_session *s = *out;
  size_t ni = fg_model_input_count(m);
  s->m = m;
  s->nchw = calloc(ni + 1, sizeof *s->nchw);
  rc = s->nchw ? FG_OK : FG_ENOMEM;
  for (size_t i = 0; i < ni && !rc; i++) {
    const fg_tensor_info *t = fg_model_input(m, i);
    if (t->rank == 4 && !(s->nchw[i] = malloc(t->count * sizeof(float)))) rc = FG_ENOMEM;
  }
  if (rc) {
    fg_session_destroy(s);
    *out = NULL;
    return fg__seterr(err, rc, "out of memory");
  }
  return FG_OK;
}

/* A channels-last 4-D input into the model's NCHW. */
static void nhwc_to_nchw(const fg_tensor_info *t, const float *x, float *y) {
  size_t N = (size_t)t->dims[0], C = (size_t)t->dims[1], hw = (size_t)t->dims[2] * (size_t)t->dims[3];
  for (size_t n = 0; n < N; n++, x += hw * C, y += hw * C)
    for (size_t p = 0; p < hw; p++)
      for (size_t c = 0; c < C; c++) y[c * hw + p] = x[p * C + c];
}

int fg__session_wrap(const fg__backend *be, void *impl, int threads, fg_session **out, fg_error *err) {
  fg_session *s = calloc(1, sizeof *s);
  if (!s) return fg__seterr(err, FG_ENOMEM, "out of memory");
  s->be = be;
  s->impl = impl;
  fg__adapt_init(&s->adapt, threads);
  *out = s;
  return FG_OK;
}

int fg_session_run(fg_session *s, const float *const *inputs, float *const *outputs, fg_error *err) {
  const float *conv[8];
  if (s->nchw) {
    size_t ni = fg_model_input_count(s->m);
    if (ni > sizeof conv / sizeof conv[0]) return fg__seterr(err, FG_EUNSUPPORTED, "input_nhwc: more than 8 inputs");
    for (size_t i = 0; i < ni; i++) {
      if (!inputs || !inputs[i]) return fg__seterr(err, FG_EINVAL, "input %zu is NULL", i);
      conv[i] = inputs[i];
      if (s->nchw[i]) nhwc_to_nchw(fg_model_input(s->m, i), inputs[i], s->nchw[i]), conv[i] = s->nchw[i];
    }
    inputs = conv;
  }
  int wide = fg__adapt_choose(&s->adapt);
  double t0 = s->adapt.threads > 1 ? fg__ms() : 0;
  int rc = s->be->run(s->impl, wide, inputs, outputs, err);
  if (!rc && s->adapt.threads > 1) fg__adapt_record(&s->adapt, wide, fg__ms() - t0);
  return rc;
}

int fg_session_record(fg_session *s, fg_quant_ranges *r, fg_error *err) {
  if (!s->be->record)
    return fg__seterr(err, FG_EUNSUPPORTED, "recording ranges needs an fp32 session on the oneDNN backend");
  return s->be->record(s->impl, r, err);
}

void fg_session_get_stats(const fg_session *s, fg_session_stats *st) {
  memset(st, 0, sizeof *st);
  st->backend = s->be->name;
  st->threads = s->adapt.threads;
  st->runs = s->adapt.runs;
  st->threaded_runs = s->adapt.wide_runs;
  st->using_threads = s->adapt.threads > 1 && s->adapt.wide;
}

void fg_session_destroy(fg_session *s) {
  if (!s) return;
  s->be->destroy(s->impl);
  if (s->nchw)
    for (size_t i = 0; i < fg_model_input_count(s->m); i++) free(s->nchw[i]);
  free(s->nchw);
  free(s);
}

int fg_precision_native(int precision) {
  unsigned f = fg__cpu_features(); /* src/common/cpu.c */
  switch (precision) {
  case FG_PRECISION_FP32: return 1;
  case FG_PRECISION_INT8: return (f & FG__CPU_AVX512_VNNI) != 0;
  case FG_PRECISION_BF16: return (f & FG__CPU_AVX512_BF16) != 0;
  default: return 0;
  }
}

const char *fg_precision_name(int precision) {
  switch (precision) {
  case FG_PRECISION_FP32: return "fp32";
  case FG_PRECISION_BF16: return "bf16";
  case FG_PRECISION_INT8: return "int8";
  default: return "?";
  }
}
