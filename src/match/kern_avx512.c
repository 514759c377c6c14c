/*
 * AVX-512 scoring kernels (F, BW and VNNI). Only the functions here carry the
 * target attribute, so the rest of the build stays portable; search.c calls
 * them only after __builtin_cpu_supports said yes.
 *
 * Each kernel scores a tile of R rows against NQ probes at once: the R row
 * chunks are loaded once per 64 bytes and used by every probe, so a batch of
 * probes reads the gallery from memory once. NQ and R are compile-time
 * constants in each instantiation (R chosen so that NQ*R accumulators, R row
 * registers and one probe register fit the 32 zmm registers).
 *
 * int8 uses vpdpbusd, which multiplies UNSIGNED bytes by SIGNED bytes and
 * adds groups of four into int32 lanes (no saturation). The probe is
 * quantised to signed int8 q (as the templates are) and fed as u = q + 128
 * (in 0..255), so the accumulator holds
 *     sum u*g = sum q*g + 128 * sum g.
 * sum g is precomputed per template at enrolment (tsum), and the exact
 * integer dot product is acc - 128 * tsum: no approximation, bit-identical to
 * the scalar kernel. Magnitudes: |acc| <= 255*127*4096 < 2^31.
 */
#include "match/match.h"

#ifdef FG__HAVE_X86
#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define INL static inline __attribute__((always_inline))
#define MAXR 8

/* ---------------------------------------------------------------- int8 */
INL T512 void i8_tile(const uint8_t *rows, size_t rb, const fg__probes *p, const int NQ, const int R,
                      const float *tscale, const int32_t *tsum, float *out) {
  __m512i acc[FG_SEARCH_MAX_BATCH][MAXR];
#pragma GCC unroll 8
  for (int j = 0; j < NQ; j++)
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) acc[j][r] = _mm512_setzero_si512();
  for (size_t c = 0; c < rb; c += 64) {
    __m512i g[MAXR];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) g[r] = _mm512_loadu_si512((const void *)(rows + (size_t)r * rb + c));
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) {
      __m512i q = _mm512_loadu_si512((const void *)(p->u8 + (size_t)j * p->pdim + c));
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) acc[j][r] = _mm512_dpbusd_epi32(acc[j][r], q, g[r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) {
      /* wrapping arithmetic: exact for valid rows, defined for any bytes */
      int32_t d = (int32_t)((uint32_t)_mm512_reduce_add_epi32(acc[j][r]) - 128u * (uint32_t)tsum[r]);
      out[r * NQ + j] = (float)d * (p->qscale[j] * tscale[r]);
    }
}

/* ---------------------------------------------------------------- fp32 */
INL T512 void f32_tile(const uint8_t *rows, size_t rb, const fg__probes *p, const int NQ, const int R,
                       const float *tscale, const int32_t *tsum, float *out) {
  (void)tscale, (void)tsum;
  __m512 acc[FG_SEARCH_MAX_BATCH][MAXR];
#pragma GCC unroll 8
  for (int j = 0; j < NQ; j++)
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) acc[j][r] = _mm512_setzero_ps();
  for (size_t c = 0; c < rb; c += 64) {
    __m512 g[MAXR];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) g[r] = _mm512_loadu_ps((const void *)(rows + (size_t)r * rb + c));
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) {
      __m512 q = _mm512_loadu_ps(p->f32 + (size_t)j * p->pdim + c / 4);
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) acc[j][r] = _mm512_fmadd_ps(q, g[r], acc[j][r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) out[r * NQ + j] = _mm512_reduce_add_ps(acc[j][r]);
}

/* ---------------------------------------------------------------- fp16 */
INL T512 void f16_tile(const uint8_t *rows, size_t rb, const fg__probes *p, const int NQ, const int R,
                       const float *tscale, const int32_t *tsum, float *out) {
  (void)tscale, (void)tsum;
  __m512 acc[FG_SEARCH_MAX_BATCH][MAXR];
#pragma GCC unroll 8
  for (int j = 0; j < NQ; j++)
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) acc[j][r] = _mm512_setzero_ps();
  for (size_t c = 0; c < rb; c += 32) { /* 16 halves */
    __m512 g[MAXR];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
      g[r] = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(rows + (size_t)r * rb + c)));
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) {
      __m512 q = _mm512_loadu_ps(p->f32 + (size_t)j * p->pdim + c / 2);
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) acc[j][r] = _mm512_fmadd_ps(q, g[r], acc[j][r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) out[r * NQ + j] = _mm512_reduce_add_ps(acc[j][r]);
}

/* Run tiles of R rows, then single rows, over nrows. */
#define RUN(tile, NQ, R)                                                                           \
  do {                                                                                             \
    size_t r_ = 0;                                                                                 \
    for (; r_ + (R) <= nrows; r_ += (R))                                                           \
      tile(rows + r_ * rb, rb, p, NQ, R, tscale ? tscale + r_ : NULL, tsum ? tsum + r_ : NULL,     \
           out + r_ * (NQ));                                                                       \
    for (; r_ < nrows; r_++)                                                                       \
      tile(rows + r_ * rb, rb, p, NQ, 1, tscale ? tscale + r_ : NULL, tsum ? tsum + r_ : NULL,     \
           out + r_ * (NQ));                                                                       \
  } while (0)

/* Rows per tile for NQ probes: NQ*R + R + 1 <= 32 registers. */
#define DISPATCH(tile)                                                                             \
  switch (p->nq) {                                                                                 \
  case 1: RUN(tile, 1, 8); break;                                                                  \
  case 2: RUN(tile, 2, 8); break;                                                                  \
  case 3: RUN(tile, 3, 6); break;                                                                  \
  case 4: RUN(tile, 4, 4); break;                                                                  \
  case 5: RUN(tile, 5, 4); break;                                                                  \
  case 6: RUN(tile, 6, 4); break;                                                                  \
  case 7: RUN(tile, 7, 3); break;                                                                  \
  default: RUN(tile, 8, 3); break;                                                                 \
  }

static T512 void score_i8(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale,
                          const int32_t *tsum, const fg__probes *p, float *out) {
  DISPATCH(i8_tile);
}
static T512 void score_f32(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale,
                           const int32_t *tsum, const fg__probes *p, float *out) {
  DISPATCH(f32_tile);
}
static T512 void score_f16(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale,
                           const int32_t *tsum, const fg__probes *p, float *out) {
  DISPATCH(f16_tile);
}

const fg__kernels fg__kernels_avx512 = {score_f32, score_f16, score_i8};
#endif
