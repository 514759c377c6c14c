/*
 * Encodings of stored templates: fp16 rows (the conversion is the library's
 * one, src/common/half.h) and symmetric per-vector int8 quantisation. Used
 * when templates are added and when probes are prepared for a search.
 *
 * int8: scale = max|x| / 127 and q = round-half-away-from-zero(x * (127 / max|x|)),
 * clamped to [-127, 127] (-128 is never produced, so the range is symmetric).
 * For a unit vector of dimension d the rounding error per value is at most
 * scale/2, so a dot product of two quantised unit vectors is off by at most
 * about (scale_a + scale_b)/2 * sum|x| and, for errors that behave like
 * independent uniform noise, by sqrt(scale_a^2 + scale_b^2)/sqrt(12) in RMS
 * (about 4e-4 for 512-d face embeddings, where max|x| is around 0.2).
 */
#include <math.h>
#include <string.h>

#include "match/match.h"

float fg__quantize_i8(const float *x, size_t n, int8_t *q, int32_t *sum) {
  float m = 0.0f;
  for (size_t i = 0; i < n; i++) {
    float a = fabsf(x[i]);
    if (a > m) m = a;
  }
  if (m == 0.0f) {
    memset(q, 0, n);
    *sum = 0;
    return 0.0f;
  }
  float inv = 127.0f / m;
  int32_t s = 0;
  for (size_t i = 0; i < n; i++) {
    float v = roundf(x[i] * inv);
    if (v > 127.0f) v = 127.0f;
    if (v < -127.0f) v = -127.0f;
    q[i] = (int8_t)v;
    s += q[i];
  }
  *sum = s;
  return m / 127.0f;
}

int fg__normalise(const float *src, size_t n, float *dst) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)src[i] * src[i];
  if (!(s > 0.0) || !isfinite(s)) return FG_EINVAL;
  double inv = 1.0 / sqrt(s);
  for (size_t i = 0; i < n; i++) dst[i] = (float)(src[i] * inv);
  return FG_OK;
}

void fg__encode_f16(const float *x, uint32_t dim, uint8_t *row, size_t row_bytes) {
  memset(row, 0, row_bytes);
  for (uint32_t i = 0; i < dim; i++) {
    uint16_t h = fg__f32_to_f16(x[i]);
    memcpy(row + 2 * (size_t)i, &h, 2);
  }
}

void fg__encode_row(const fg_gallery *g, const float *x, uint8_t *row, float *scale, int32_t *sum) {
  memset(row, 0, g->row_bytes);
  *scale = 0.0f;
  *sum = 0;
  switch (g->enc) {
  case FG_ENCODING_FP32:
    memcpy(row, x, (size_t)g->dim * 4);
    break;
  case FG_ENCODING_FP16:
    for (uint32_t i = 0; i < g->dim; i++) {
      uint16_t h = fg__f32_to_f16(x[i]);
      memcpy(row + 2 * (size_t)i, &h, 2);
    }
    break;
  case FG_ENCODING_INT8:
    *scale = fg__quantize_i8(x, g->dim, (int8_t *)row, sum);
    break;
  }
}
