/*
 * AVX2 scoring kernels (with FMA and F16C), for x86 CPUs without AVX-512 /
 * VNNI. Same tiling as kern_avx512.c (R rows x NQ probes per tile, NQ*R + R + 1
 * <= 16 ymm registers), 32-byte steps.
 *
 * int8: vpmaddubsw (unsigned x signed bytes) would saturate its 16-bit pair
 * sums (2 * 255 * 127 > 32767), so rows are widened to int16 (vpmovsxbw) and
 * multiplied with the probe pre-widened to int16 by vpmaddwd, whose pair sums
 * (at most 2 * 127 * 127) fit in int32: exact, bit-identical to the scalar
 * kernel.
 */
#include "match/match.h"

#ifdef FG__HAVE_X86
#include <immintrin.h>

#define T256 __attribute__((target("avx2,fma,f16c")))
#define INL static inline __attribute__((always_inline))
#define MAXR 6

INL T256 float hsum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

INL T256 int32_t hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

INL T256 void i8_tile(const uint8_t *rows, size_t rb, const fg__probes *p, const int NQ, const int R,
                      const float *tscale, const int32_t *tsum, float *out) {
  (void)tsum;
  __m256i acc[FG_SEARCH_MAX_BATCH][MAXR];
#pragma GCC unroll 8
  for (int j = 0; j < NQ; j++)
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) acc[j][r] = _mm256_setzero_si256();
  for (size_t c = 0; c < rb; c += 16) {
    __m256i g[MAXR];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
      g[r] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)(rows + (size_t)r * rb + c)));
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) {
      __m256i q = _mm256_loadu_si256((const void *)(p->i16 + (size_t)j * p->pdim + c));
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) acc[j][r] = _mm256_add_epi32(acc[j][r], _mm256_madd_epi16(q, g[r]));
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++)
      out[r * NQ + j] = (float)hsum_epi32(acc[j][r]) * (p->qscale[j] * tscale[r]);
}

INL T256 void f32_tile(const uint8_t *rows, size_t rb, const fg__probes *p, const int NQ, const int R,
                       const float *tscale, const int32_t *tsum, float *out) {
  (void)tscale, (void)tsum;
  __m256 acc[FG_SEARCH_MAX_BATCH][MAXR];
#pragma GCC unroll 8
  for (int j = 0; j < NQ; j++)
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) acc[j][r] = _mm256_setzero_ps();
  for (size_t c = 0; c < rb; c += 32) {
    __m256 g[MAXR];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) g[r] = _mm256_loadu_ps((const void *)(rows + (size_t)r * rb + c));
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) {
      __m256 q = _mm256_loadu_ps(p->f32 + (size_t)j * p->pdim + c / 4);
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) acc[j][r] = _mm256_fmadd_ps(q, g[r], acc[j][r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) out[r * NQ + j] = hsum_ps(acc[j][r]);
}

INL T256 void f16_tile(const uint8_t *rows, size_t rb, const fg__probes *p, const int NQ, const int R,
                       const float *tscale, const int32_t *tsum, float *out) {
  (void)tscale, (void)tsum;
  __m256 acc[FG_SEARCH_MAX_BATCH][MAXR];
#pragma GCC unroll 8
  for (int j = 0; j < NQ; j++)
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) acc[j][r] = _mm256_setzero_ps();
  for (size_t c = 0; c < rb; c += 16) { /* 8 halves */
    __m256 g[MAXR];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
      g[r] = _mm256_cvtph_ps(_mm_loadu_si128((const void *)(rows + (size_t)r * rb + c)));
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) {
      __m256 q = _mm256_loadu_ps(p->f32 + (size_t)j * p->pdim + c / 2);
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) acc[j][r] = _mm256_fmadd_ps(q, g[r], acc[j][r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) out[r * NQ + j] = hsum_ps(acc[j][r]);
}

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

#define DISPATCH(tile)                                                                             \
  switch (p->nq) {                                                                                 \
  case 1: RUN(tile, 1, 6); break;                                                                  \
  case 2: RUN(tile, 2, 4); break;                                                                  \
  case 3: RUN(tile, 3, 3); break;                                                                  \
  case 4: RUN(tile, 4, 2); break;                                                                  \
  case 5: RUN(tile, 5, 2); break;                                                                  \
  case 6: RUN(tile, 6, 2); break;                                                                  \
  case 7: RUN(tile, 7, 1); break;                                                                  \
  default: RUN(tile, 8, 1); break;                                                                 \
  }

static T256 void score_i8(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale,
                          const int32_t *tsum, const fg__probes *p, float *out) {
  DISPATCH(i8_tile);
}
static T256 void score_f32(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale,
                           const int32_t *tsum, const fg__probes *p, float *out) {
  DISPATCH(f32_tile);
}
static T256 void score_f16(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale,
                           const int32_t *tsum, const fg__probes *p, float *out) {
  DISPATCH(f16_tile);
}

const fg__kernels fg__kernels_avx2 = {score_f32, score_f16, score_i8};
#endif
