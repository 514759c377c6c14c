/*
 * Portable scoring kernels: the reference that the AVX2 and AVX-512 kernels
 * are tested against (tests/test_search.c), and the path on CPUs without them.
 *
 * fp32 and fp16 sum products in index order in float. int8 computes the exact
 * integer dot product of the quantised probe and row, then one float
 * multiplication: score = (float)dot * (probe_scale * row_scale); the SIMD
 * int8 kernels reach the same integer by other routes and apply the same
 * multiplication, so their scores are bit-identical to these.
 */
#include <string.h>

#include "match/match.h"

static void score_f32(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale, const int32_t *tsum,
                      const fg__probes *p, float *out) {
  (void)tscale, (void)tsum;
  size_t n = rb / 4;
  for (size_t r = 0; r < nrows; r++) {
    const float *g = (const float *)(const void *)(rows + r * rb);
    for (int j = 0; j < p->nq; j++) {
      const float *q = p->f32 + (size_t)j * p->pdim;
      float s = 0.0f;
      for (size_t i = 0; i < n; i++) s += q[i] * g[i];
      out[r * (size_t)p->nq + (size_t)j] = s;
    }
  }
}

static void score_f16(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale, const int32_t *tsum,
                      const fg__probes *p, float *out) {
  (void)tscale, (void)tsum;
  size_t n = rb / 2;
  float g[FG_GALLERY_MAX_DIM + 32];
  for (size_t r = 0; r < nrows; r++) {
    const uint8_t *row = rows + r * rb;
    for (size_t i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, row + 2 * i, 2);
      g[i] = fg__f16_to_f32(h);
    }
    for (int j = 0; j < p->nq; j++) {
      const float *q = p->f32 + (size_t)j * p->pdim;
      float s = 0.0f;
      for (size_t i = 0; i < n; i++) s += q[i] * g[i];
      out[r * (size_t)p->nq + (size_t)j] = s;
    }
  }
}

static void score_i8(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale, const int32_t *tsum,
                     const fg__probes *p, float *out) {
  (void)tsum;
  for (size_t r = 0; r < nrows; r++) {
    const int8_t *g = (const int8_t *)(rows + r * rb);
    for (int j = 0; j < p->nq; j++) {
      const int8_t *q = p->i8 + (size_t)j * p->pdim;
      int32_t d = 0;
      for (size_t i = 0; i < rb; i++) d += (int32_t)q[i] * g[i];
      out[r * (size_t)p->nq + (size_t)j] = (float)d * (p->qscale[j] * tscale[r]);
    }
  }
}

const fg__kernels fg__kernels_scalar = {score_f32, score_f16, score_i8};
