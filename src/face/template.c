/*
 * Templates: the "FGT1" binary encoding of a normalised embedding (layout in
 * include/facegate/template.h and docs/pipeline.md), cosine comparison, and
 * the fp16 conversions the compact encoding uses.
 *
 * The decoder reads untrusted bytes (a template file, a database column, a
 * request body): it checks the header fields and the exact total length
 * before it touches a value, then the checksum, then which model made it,
 * then the values themselves. fuzz/fuzz_template.c exercises it.
 *
 * fp16: round to nearest even, as the F16C instruction VCVTPS2PH does with
 * _MM_FROUND_TO_NEAREST_INT; the portable C conversion (src/common/half.h,
 * also the galleries') gives bit-identical results (tests/test_template.c
 * compares them over every half and a large sample of floats), and is used
 * where the CPU lacks F16C.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/half.h"
#include "common/internal.h"
#include "facegate/template.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
#define FG_HAVE_F16C_PATH 1
#endif

/* ------------------------------------------------------------------ fp16 */

void fg_fp32_to_fp16_c(const float *src, uint16_t *dst, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = fg__f32_to_f16(src[i]);
}

void fg_fp16_to_fp32_c(const uint16_t *src, float *dst, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = fg__f16_to_f32(src[i]);
}

#ifdef FG_HAVE_F16C_PATH
__attribute__((target("avx,f16c"))) static void to16_f16c(const float *src, uint16_t *dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128((__m128i *)(void *)(dst + i), h);
  }
  fg_fp32_to_fp16_c(src + i, dst + i, n - i);
}

__attribute__((target("avx,f16c"))) static void to32_f16c(const uint16_t *src, float *dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(src + i))));
  fg_fp16_to_fp32_c(src + i, dst + i, n - i);
}

/* F16C with the AVX state saved by the OS: src/common/cpu.c. */
static int have_f16c(void) { return (fg__cpu_features() & FG__CPU_F16C) != 0; }
#endif

void fg_fp32_to_fp16(const float *src, uint16_t *dst, size_t n) {
#ifdef FG_HAVE_F16C_PATH
  if (have_f16c()) {
    to16_f16c(src, dst, n);
    return;
  }
#endif
  fg_fp32_to_fp16_c(src, dst, n);
}

void fg_fp16_to_fp32(const uint16_t *src, float *dst, size_t n) {
#ifdef FG_HAVE_F16C_PATH
  if (have_f16c()) {
    to32_f16c(src, dst, n);
    return;
  }
#endif
  fg_fp16_to_fp32_c(src, dst, n);
}

/* ------------------------------------------------------------------ templates */

float fg_dot(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return (float)s;
}

void fg_template_model_hex(const uint8_t id[FG_TEMPLATE_MODEL_ID_BYTES], char hex[17]) {
  static const char d[] = "0123456789abcdef";
  for (int i = 0; i < 8; i++) hex[2 * i] = d[id[i] >> 4], hex[2 * i + 1] = d[id[i] & 15];
  hex[16] = 0;
}

/* Normalise v in place; -1 if it is zero or not finite. */
static int normalise(float *v, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) {
    if (!isfinite(v[i])) return -1;
    s += (double)v[i] * v[i];
  }
  s = sqrt(s);
  if (!(s > 0) || !isfinite(s)) return -1;
  for (int i = 0; i < n; i++) v[i] = (float)(v[i] / s);
  return 0;
}

int fg_template_init(fg_template *t, const float *values, int dim,
                     const uint8_t model_id[FG_TEMPLATE_MODEL_ID_BYTES], fg_error *err) {
  memset(t, 0, sizeof *t);
  if (dim < 1 || dim > FG_TEMPLATE_MAX_DIM || !values || !model_id)
    return fg__seterr(err, FG_EINVAL, "template: dimension %d outside 1..%d", dim, FG_TEMPLATE_MAX_DIM);
  float *v = malloc((size_t)dim * sizeof *v);
  if (!v) return fg__seterr(err, FG_ENOMEM, "template: out of memory");
  memcpy(v, values, (size_t)dim * sizeof *v);
  if (normalise(v, dim)) {
    free(v);
    return fg__seterr(err, FG_EINVAL, "template: the embedding is zero or has a non-finite value");
  }
  memcpy(t->model_id, model_id, FG_TEMPLATE_MODEL_ID_BYTES);
  t->dim = dim;
  t->type = FG_TEMPLATE_FP32;
  t->values = v;
  return FG_OK;
}

void fg_template_release(fg_template *t) {
  if (!t) return;
  free(t->values);
  memset(t, 0, sizeof *t);
}

size_t fg_template_encoded_size(int dim, fg_template_type type) {
  if (dim < 1 || dim > FG_TEMPLATE_MAX_DIM) return 0;
  size_t el = type == FG_TEMPLATE_FP32 ? 4 : type == FG_TEMPLATE_FP16 ? 2 : 0;
  if (!el) return 0;
  return FG_TEMPLATE_HEADER_BYTES + el * (size_t)dim + FG_TEMPLATE_CHECKSUM_BYTES;
}

static void checksum(const uint8_t *p, size_t n, uint8_t out[4]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, p, n);
  memcpy(out, h, 4);
}

int fg_template_encode(const fg_template *t, fg_template_type type, uint8_t *buf, size_t cap, size_t *len,
                       fg_error *err) {
  if (len) *len = 0;
  if (!t || !t->values) return fg__seterr(err, FG_EINVAL, "template encode: empty template");
  size_t need = fg_template_encoded_size(t->dim, type);
  if (!need) return fg__seterr(err, FG_EINVAL, "template encode: dimension %d or type %d invalid", t->dim, (int)type);
  if (!buf || cap < need)
    return fg__seterr(err, FG_ELIMIT, "template encode: needs %zu bytes, buffer has %zu", need, cap);
  memset(buf, 0, FG_TEMPLATE_HEADER_BYTES);
  memcpy(buf, FG_TEMPLATE_MAGIC, 4);
  buf[4] = FG_TEMPLATE_VERSION;
  buf[5] = (uint8_t)type;
  buf[6] = FG_TEMPLATE_FLAG_NORMALISED;
  buf[7] = (uint8_t)(t->capture & FG_TEMPLATE_CAPTURE_KNOWN);
  memcpy(buf + 8, t->model_id, 8);
  buf[16] = (uint8_t)(t->dim & 0xff);
  buf[17] = (uint8_t)(t->dim >> 8);
  uint8_t *p = buf + FG_TEMPLATE_HEADER_BYTES;
  if (type == FG_TEMPLATE_FP32) {
    for (int i = 0; i < t->dim; i++) {
      uint32_t x;
      memcpy(&x, &t->values[i], 4);
      for (int k = 0; k < 4; k++) p[4 * i + k] = (uint8_t)(x >> (8 * k));
    }
  } else {
    uint16_t h[256];
    for (int i = 0; i < t->dim; i += 256) {
      int m = t->dim - i < 256 ? t->dim - i : 256;
      fg_fp32_to_fp16(t->values + i, h, (size_t)m);
      for (int k = 0; k < m; k++) p[2 * (i + k)] = (uint8_t)h[k], p[2 * (i + k) + 1] = (uint8_t)(h[k] >> 8);
    }
  }
  checksum(buf, need - 4, buf + need - 4);
  *len = need;
  return FG_OK;
}

int fg_template_decode(const uint8_t *buf, size_t len, const uint8_t expect_model[FG_TEMPLATE_MODEL_ID_BYTES],
                       fg_template *out, fg_error *err) {
  memset(out, 0, sizeof *out);
  if (!buf || len < FG_TEMPLATE_HEADER_BYTES + FG_TEMPLATE_CHECKSUM_BYTES)
    return fg__seterr(err, FG_EFORMAT, "template: %zu bytes is shorter than any template", len);
  if (memcmp(buf, FG_TEMPLATE_MAGIC, 4)) return fg__seterr(err, FG_EFORMAT, "template: bad magic (not FGT1)");
  if (buf[4] != FG_TEMPLATE_VERSION)
    return fg__seterr(err, FG_EFORMAT, "template: version %u (this build reads %d)", buf[4], FG_TEMPLATE_VERSION);
  fg_template_type type = (fg_template_type)buf[5];
  if (type != FG_TEMPLATE_FP32 && type != FG_TEMPLATE_FP16)
    return fg__seterr(err, FG_EFORMAT, "template: element type %u (1 = fp32, 2 = fp16)", buf[5]);
  if (buf[6] != FG_TEMPLATE_FLAG_NORMALISED)
    return fg__seterr(err, FG_EFORMAT, "template: flags 0x%02x (only 0x01, normalised, is defined)", buf[6]);
  if (buf[7] & ~FG_TEMPLATE_CAPTURE_KNOWN)
    return fg__seterr(err, FG_EFORMAT, "template: capture flags 0x%02x (only 0x01, harsh light, is defined)", buf[7]);
  if (buf[18] || buf[19]) return fg__seterr(err, FG_EFORMAT, "template: reserved bytes are not zero");
  int dim = buf[16] | buf[17] << 8;
  size_t need = fg_template_encoded_size(dim, type);
  if (!need) return fg__seterr(err, FG_EFORMAT, "template: dimension %d outside 1..%d", dim, FG_TEMPLATE_MAX_DIM);
  if (len != need)
    return fg__seterr(err, FG_EFORMAT, "template: %zu bytes, a %s template of dimension %d has %zu", len,
                      type == FG_TEMPLATE_FP32 ? "fp32" : "fp16", dim, need);
  uint8_t sum[4];
  checksum(buf, need - 4, sum);
  if (memcmp(sum, buf + need - 4, 4)) return fg__seterr(err, FG_ECHECKSUM, "template: checksum mismatch (corrupted)");
  if (expect_model && memcmp(expect_model, buf + 8, 8)) {
    char a[17], b[17];
    fg_template_model_hex(buf + 8, a);
    fg_template_model_hex(expect_model, b);
    return fg__seterr(err, FG_EMODEL, "template: made by another model (model id %s, this one is %s)", a, b);
  }
  float *v = malloc((size_t)dim * sizeof *v);
  if (!v) return fg__seterr(err, FG_ENOMEM, "template: out of memory");
  const uint8_t *p = buf + FG_TEMPLATE_HEADER_BYTES;
  if (type == FG_TEMPLATE_FP32) {
    for (int i = 0; i < dim; i++) {
      uint32_t x = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                   (uint32_t)p[4 * i + 3] << 24;
      memcpy(&v[i], &x, 4);
    }
  } else {
    uint16_t h[256];
    for (int i = 0; i < dim; i += 256) {
      int m = dim - i < 256 ? dim - i : 256;
      for (int k = 0; k < m; k++) h[k] = (uint16_t)(p[2 * (i + k)] | p[2 * (i + k) + 1] << 8);
      fg_fp16_to_fp32(h, v + i, (size_t)m);
    }
  }
  double s = 0;
  for (int i = 0; i < dim; i++) {
    if (!isfinite(v[i])) {
      free(v);
      return fg__seterr(err, FG_EFORMAT, "template: value %d is not finite", i);
    }
    s += (double)v[i] * v[i];
  }
  /* fp16 keeps 11 significant bits: the norm of a normalised vector stays
   * within a few 1e-4 of 1; 1e-2 leaves room and still catches garbage. */
  double tol = type == FG_TEMPLATE_FP32 ? 1e-4 : 1e-2;
  if (!(fabs(sqrt(s) - 1) <= tol)) {
    free(v);
    return fg__seterr(err, FG_EFORMAT, "template: flagged normalised but its norm is %g", sqrt(s));
  }
  if (type == FG_TEMPLATE_FP16) normalise(v, dim);
  memcpy(out->model_id, buf + 8, 8);
  out->dim = dim;
  out->type = type;
  out->capture = buf[7];
  out->values = v;
  return FG_OK;
}

int fg_template_compare(const fg_template *a, const fg_template *b, float *score, fg_error *err) {
  if (!a || !b || !a->values || !b->values) return fg__seterr(err, FG_EINVAL, "compare: empty template");
  if (memcmp(a->model_id, b->model_id, 8)) {
    char x[17], y[17];
    fg_template_model_hex(a->model_id, x);
    fg_template_model_hex(b->model_id, y);
    return fg__seterr(err, FG_EMODEL, "compare: templates from different models (%s, %s)", x, y);
  }
  if (a->dim != b->dim) return fg__seterr(err, FG_EINVAL, "compare: dimensions differ (%d, %d)", a->dim, b->dim);
  float s = fg_dot(a->values, b->values, (size_t)a->dim);
  *score = s > 1 ? 1 : s < -1 ? -1 : s;
  return FG_OK;
}
