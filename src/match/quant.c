/*
 * Encodings of stored templates: IEEE binary16 conversion (portable C, so the
 * scalar path needs no F16C) and symmetric per-vector int8 quantisation. Used
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

uint16_t fg__f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t e = (x >> 23) & 0xffu, m = x & 0x7fffffu;
  if (e == 0xff) return (uint16_t)(sign | 0x7c00u | (m ? 0x200u | (m >> 13) : 0)); /* inf, NaN */
  int32_t he = (int32_t)e - 127 + 15;
  if (he >= 31) return (uint16_t)(sign | 0x7c00u); /* overflow: inf */
  if (he <= 0) {                                    /* half subnormal or zero */
    if (he < -10) return (uint16_t)sign;
    m |= 0x800000u;
    uint32_t shift = (uint32_t)(14 - he);
    uint32_t hm = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (hm & 1))) hm++; /* may carry into the smallest normal: right */
    return (uint16_t)(sign | hm);
  }
  uint32_t hm = m >> 13, rem = m & 0x1fffu;
  uint32_t h = sign | ((uint32_t)he << 10) | hm;
  if (rem > 0x1000u || (rem == 0x1000u && (hm & 1))) h++; /* a carry into the exponent is right too */
  return (uint16_t)h;
}

float fg__f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
  if (e == 0) {
    if (m == 0) x = sign;
    else { /* subnormal: renormalise */
      e = 127 - 15 + 1;
      while (!(m & 0x400u)) { m <<= 1; e--; }
      m &= 0x3ffu;
      x = sign | (e << 23) | (m << 13);
    }
  } else if (e == 31) x = sign | 0x7f800000u | (m << 13);
  else x = sign | ((e - 15 + 127) << 23) | (m << 13);
  float f;
  memcpy(&f, &x, 4);
  return f;
}

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
