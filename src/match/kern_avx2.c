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

INL T256 void i8_rows(const uint8_t *rows, size_t rb, size_t nrows, const fg__probes *p, const int NQ,
                      const float *tscale, const int32_t *tsum, float *out) {
  (void)tsum;
  for (size_t r = 0; r < nrows; r++) {
    const uint8_t *row = rows + r * rb;
    __m256i acc[FG_SEARCH_MAX_BATCH];
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) acc[j] = _mm256_setzero_si256();
    for (size_t c = 0; c < rb; c += 16) {
      __m256i g = _mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)(row + c)));
#pragma GCC unroll 8
      for (int j = 0; j < NQ; j++)
        acc[j] = _mm256_add_epi32(
            acc[j], _mm256_madd_epi16(_mm256_loadu_si256((const void *)(p->i16 + (size_t)j * p->pdim + c)), g));
    }
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++)
      out[r * (size_t)NQ + (size_t)j] = (float)hsum_epi32(acc[j]) * (p->qscale[j] * tscale[r]);
  }
}

INL T256 void f32_rows(const uint8_t *rows, size_t rb, size_t nrows, const fg__probes *p, const int NQ,
                       const float *tscale, const int32_t *tsum, float *out) {
  (void)tscale, (void)tsum;
  for (size_t r = 0; r < nrows; r++) {
    const uint8_t *row = rows + r * rb;
    __m256 acc[FG_SEARCH_MAX_BATCH];
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) acc[j] = _mm256_setzero_ps();
    for (size_t c = 0; c < rb; c += 32) {
      __m256 g = _mm256_loadu_ps((const void *)(row + c));
#pragma GCC unroll 8
      for (int j = 0; j < NQ; j++)
        acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(p->f32 + (size_t)j * p->pdim + c / 4), g, acc[j]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) out[r * (size_t)NQ + (size_t)j] = hsum_ps(acc[j]);
  }
}

INL T256 void f16_rows(const uint8_t *rows, size_t rb, size_t nrows, const fg__probes *p, const int NQ,
                       const float *tscale, const int32_t *tsum, float *out) {
  (void)tscale, (void)tsum;
  for (size_t r = 0; r < nrows; r++) {
    const uint8_t *row = rows + r * rb;
    __m256 acc[FG_SEARCH_MAX_BATCH];
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) acc[j] = _mm256_setzero_ps();
    for (size_t c = 0; c < rb; c += 16) { /* 8 halves */
      __m256 g = _mm256_cvtph_ps(_mm_loadu_si128((const void *)(row + c)));
#pragma GCC unroll 8
      for (int j = 0; j < NQ; j++)
        acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(p->f32 + (size_t)j * p->pdim + c / 2), g, acc[j]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) out[r * (size_t)NQ + (size_t)j] = hsum_ps(acc[j]);
  }
}

#define DISPATCH(fn)                                                                               \
  switch (p->nq) {                                                                                 \
  case 1: fn(rows, rb, nrows, p, 1, tscale, tsum, out); break;                                     \
  case 2: fn(rows, rb, nrows, p, 2, tscale, tsum, out); break;                                     \
  case 3: fn(rows, rb, nrows, p, 3, tscale, tsum, out); break;                                     \
  case 4: fn(rows, rb, nrows, p, 4, tscale, tsum, out); break;                                     \
  case 5: fn(rows, rb, nrows, p, 5, tscale, tsum, out); break;                                     \
  case 6: fn(rows, rb, nrows, p, 6, tscale, tsum, out); break;                                     \
  case 7: fn(rows, rb, nrows, p, 7, tscale, tsum, out); break;                                     \
  default: fn(rows, rb, nrows, p, 8, tscale, tsum, out); break;                                    \
  }

static T256 void score_i8(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale,
                          const int32_t *tsum, const fg__probes *p, float *out) {
  DISPATCH(i8_rows);
}
static T256 void score_f32(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale,
                           const int32_t *tsum, const fg__probes *p, float *out) {
  DISPATCH(f32_rows);
}
static T256 void score_f16(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale,
                           const int32_t *tsum, const fg__probes *p, float *out) {
  DISPATCH(f16_rows);
}

const fg__kernels fg__kernels_avx2 = {score_f32, score_f16, score_i8};
#endif
