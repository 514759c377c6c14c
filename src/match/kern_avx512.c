/*
 * AVX-512 scoring kernels (F, BW and VNNI). Only the functions here carry the
 * target attribute, so the rest of the build stays portable; search.c calls
 * them only after __builtin_cpu_supports said yes.
 *
 * Each kernel scores tiles of R rows x NQ probes with R * NQ = 16 (NQ, the
 * batch rounded up to 1, 2, 4 or 8, and R are compile-time constants in each
 * instantiation): the tile's rows are read one after the other in memory
 * order, each 64-byte chunk of a row is loaded once and multiplied with the
 * same chunk of every probe (re-read from L1), and the 16 accumulators are
 * reduced together at the end of the tile by one transposing reduction. So a
 * batch of probes reads the gallery from memory once, the access pattern is
 * purely sequential (which the hardware prefetchers follow best: interleaving
 * rows chunk by chunk, tried first, reached a third of the read bandwidth on
 * AMD Zen 4), and the horizontal sums cost about 3 instructions per score
 * instead of 9. Rows left over after the last full tile are scored one by one.
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

/* 16 accumulators -> one vector whose lane i is the sum of v[i]'s lanes
 * (a transposing reduction: 45 instructions instead of 16 x 9). */
INL T512 __m512i hsum16_epi32(const __m512i v[16]) {
  __m512i a[8], b[4], c[2];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) /* per 128-bit lane: v2i and v2i+1 partial sums, interleaved */
    a[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]),
                            _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]));
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) /* per 128-bit lane: [v4i, v4i+1, v4i+2, v4i+3] */
    b[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(a[2 * i], a[2 * i + 1]),
                            _mm512_unpackhi_epi64(a[2 * i], a[2 * i + 1]));
#pragma GCC unroll 2
  for (int i = 0; i < 2; i++) /* fold 128-bit lanes 0+1 and 2+3 */
    c[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm512_shuffle_i32x4(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_add_epi32(_mm512_shuffle_i32x4(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0)),
                          _mm512_shuffle_i32x4(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

INL T512 __m512 hsum16_ps(const __m512 v[16]) {
  __m512 a[8], b[4], c[2];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++)
    a[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++)
    b[i] = _mm512_add_ps(
        _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a[2 * i]), _mm512_castps_pd(a[2 * i + 1]))),
        _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a[2 * i]), _mm512_castps_pd(a[2 * i + 1]))));
#pragma GCC unroll 2
  for (int i = 0; i < 2; i++)
    c[i] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/* The sum of one vector's lanes in exactly the order hsum16_ps sums each of
 * its inputs, ((e0+e2)+(e1+e3)) per 128-bit lane L, then (L0+L1)+(L2+L3): a
 * row's score must not depend on whether it was scored in a tile or alone
 * (which varies with the batch size and shard boundaries). */
INL T512 float hsum1_ps(__m512 v) {
  __m512 a = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
  __m512 b = _mm512_add_ps(a, _mm512_permute_ps(a, _MM_SHUFFLE(2, 3, 0, 1)));
  __m512 c = _mm512_add_ps(b, _mm512_shuffle_f32x4(b, b, _MM_SHUFFLE(2, 3, 0, 1)));
  __m512 d = _mm512_add_ps(c, _mm512_shuffle_f32x4(c, c, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm512_cvtss_f32(d);
}

/* One 64-byte chunk of a row times one 64-byte chunk of probe j, per encoding.
 * fp16 chunks are 32 halves, taken as two 16-float halves. */
#define I8_STEP(acc, j, row, c)                                                                     \
  acc = _mm512_dpbusd_epi32(acc, _mm512_loadu_si512((const void *)(p->u8 + (size_t)(j) * p->pdim + (c))), g)
#define F32_STEP(acc, j, row, c)                                                                    \
  acc = _mm512_fmadd_ps(_mm512_loadu_ps(p->f32 + (size_t)(j) * p->pdim + (c) / 4), g, acc)

/* ---------------------------------------------------------------- int8 */
/* Tile of R rows x NQ probes (R * NQ = 16): rows read one after the other,
 * 16 accumulators live, one transposing reduction per tile. */
INL T512 void i8_tile(const uint8_t *rows, size_t rb, const fg__probes *p, const int NQ, const int R,
                      const float *tscale, const int32_t *tsum, float *out, int nq_out) {
  __m512i acc[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_si512();
#pragma GCC unroll 16
  for (int r = 0; r < R; r++) {
    const uint8_t *row = rows + (size_t)r * rb;
    for (size_t c = 0; c < rb; c += 64) {
      __m512i g = _mm512_loadu_si512((const void *)(row + c));
#pragma GCC unroll 8
      for (int j = 0; j < NQ; j++) I8_STEP(acc[r * NQ + j], j, row, c);
    }
  }
  int32_t d[16];
  _mm512_storeu_si512((void *)d, hsum16_epi32(acc));
#pragma GCC unroll 16
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++)
      if (j < nq_out) {
        /* wrapping arithmetic: exact for valid rows, defined for any bytes */
        int32_t v = (int32_t)((uint32_t)d[r * NQ + j] - 128u * (uint32_t)tsum[r]);
        out[(size_t)r * (size_t)nq_out + (size_t)j] = (float)v * (p->qscale[j] * tscale[r]);
      }
}

/* One row (tile tails). */
INL T512 void i8_row(const uint8_t *row, size_t rb, const fg__probes *p, const int NQ, const float *tscale,
                     const int32_t *tsum, float *out, int nq_out) {
  __m512i acc[FG_SEARCH_MAX_BATCH];
#pragma GCC unroll 8
  for (int j = 0; j < NQ; j++) acc[j] = _mm512_setzero_si512();
  for (size_t c = 0; c < rb; c += 64) {
    __m512i g = _mm512_loadu_si512((const void *)(row + c));
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) I8_STEP(acc[j], j, row, c);
  }
#pragma GCC unroll 8
  for (int j = 0; j < NQ; j++)
    if (j < nq_out) {
      int32_t v = (int32_t)((uint32_t)_mm512_reduce_add_epi32(acc[j]) - 128u * (uint32_t)tsum[0]);
      out[j] = (float)v * (p->qscale[j] * tscale[0]);
    }
}

/* ---------------------------------------------------------------- fp32 */
INL T512 void f32_tile(const uint8_t *rows, size_t rb, const fg__probes *p, const int NQ, const int R,
                       const float *tscale, const int32_t *tsum, float *out, int nq_out) {
  (void)tscale, (void)tsum;
  __m512 acc[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
#pragma GCC unroll 16
  for (int r = 0; r < R; r++) {
    const uint8_t *row = rows + (size_t)r * rb;
    for (size_t c = 0; c < rb; c += 64) {
      __m512 g = _mm512_loadu_ps((const void *)(row + c));
#pragma GCC unroll 8
      for (int j = 0; j < NQ; j++) F32_STEP(acc[r * NQ + j], j, row, c);
    }
  }
  float d[16];
  _mm512_storeu_ps(d, hsum16_ps(acc));
#pragma GCC unroll 16
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++)
      if (j < nq_out) out[(size_t)r * (size_t)nq_out + (size_t)j] = d[r * NQ + j];
}

INL T512 void f32_row(const uint8_t *row, size_t rb, const fg__probes *p, const int NQ, const float *tscale,
                      const int32_t *tsum, float *out, int nq_out) {
  (void)tscale, (void)tsum;
  __m512 acc[FG_SEARCH_MAX_BATCH];
#pragma GCC unroll 8
  for (int j = 0; j < NQ; j++) acc[j] = _mm512_setzero_ps();
  for (size_t c = 0; c < rb; c += 64) {
    __m512 g = _mm512_loadu_ps((const void *)(row + c));
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++) F32_STEP(acc[j], j, row, c);
  }
#pragma GCC unroll 8
  for (int j = 0; j < NQ; j++)
    if (j < nq_out) out[j] = hsum1_ps(acc[j]);
}

/* ---------------------------------------------------------------- fp16 */
/* 32 halves per 64 bytes: converted 16 at a time, each half-chunk a step. */
INL T512 void f16_tile(const uint8_t *rows, size_t rb, const fg__probes *p, const int NQ, const int R,
                       const float *tscale, const int32_t *tsum, float *out, int nq_out) {
  (void)tscale, (void)tsum;
  __m512 acc[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
#pragma GCC unroll 16
  for (int r = 0; r < R; r++) {
    const uint8_t *row = rows + (size_t)r * rb;
    for (size_t c = 0; c < rb; c += 32) {
      __m512 g = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(row + c)));
#pragma GCC unroll 8
      for (int j = 0; j < NQ; j++)
        acc[r * NQ + j] = _mm512_fmadd_ps(_mm512_loadu_ps(p->f32 + (size_t)j * p->pdim + c / 2), g, acc[r * NQ + j]);
    }
  }
  float d[16];
  _mm512_storeu_ps(d, hsum16_ps(acc));
#pragma GCC unroll 16
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++)
      if (j < nq_out) out[(size_t)r * (size_t)nq_out + (size_t)j] = d[r * NQ + j];
}

INL T512 void f16_row(const uint8_t *row, size_t rb, const fg__probes *p, const int NQ, const float *tscale,
                      const int32_t *tsum, float *out, int nq_out) {
  (void)tscale, (void)tsum;
  __m512 acc[FG_SEARCH_MAX_BATCH];
#pragma GCC unroll 8
  for (int j = 0; j < NQ; j++) acc[j] = _mm512_setzero_ps();
  for (size_t c = 0; c < rb; c += 32) {
    __m512 g = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(row + c)));
#pragma GCC unroll 8
    for (int j = 0; j < NQ; j++)
      acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(p->f32 + (size_t)j * p->pdim + c / 2), g, acc[j]);
  }
#pragma GCC unroll 8
  for (int j = 0; j < NQ; j++)
    if (j < nq_out) out[j] = hsum1_ps(acc[j]);
}

/* Tiles of 16/NQ rows, then single rows. NQ is nq rounded up to 1, 2, 4 or
 * 8; the extra probe slots are zero (fg__probes contract) and their scores
 * are not written. */
#define RUN(tile, row1, NQ)                                                                        \
  do {                                                                                             \
    const int R_ = 16 / (NQ);                                                                      \
    size_t r_ = 0;                                                                                 \
    for (; r_ + (size_t)R_ <= nrows; r_ += (size_t)R_)                                             \
      tile(rows + r_ * rb, rb, p, NQ, R_, tscale ? tscale + r_ : NULL, tsum ? tsum + r_ : NULL,    \
           out + r_ * (size_t)p->nq, p->nq);                                                       \
    for (; r_ < nrows; r_++)                                                                       \
      row1(rows + r_ * rb, rb, p, NQ, tscale ? tscale + r_ : NULL, tsum ? tsum + r_ : NULL,        \
           out + r_ * (size_t)p->nq, p->nq);                                                       \
  } while (0)

#define DISPATCH(tile, row1)                                                                       \
  switch (p->nq) {                                                                                 \
  case 1: RUN(tile, row1, 1); break;                                                               \
  case 2: RUN(tile, row1, 2); break;                                                               \
  case 3:                                                                                          \
  case 4: RUN(tile, row1, 4); break;                                                               \
  default: RUN(tile, row1, 8); break;                                                              \
  }

static T512 void score_i8(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale,
                          const int32_t *tsum, const fg__probes *p, float *out) {
  DISPATCH(i8_tile, i8_row);
}
static T512 void score_f32(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale,
                           const int32_t *tsum, const fg__probes *p, float *out) {
  DISPATCH(f32_tile, f32_row);
}
static T512 void score_f16(const uint8_t *rows, size_t rb, size_t nrows, const float *tscale,
                           const int32_t *tsum, const fg__probes *p, float *out) {
  DISPATCH(f16_tile, f16_row);
}

const fg__kernels fg__kernels_avx512 = {score_f32, score_f16, score_i8};
/* Hamming distances of n 32-byte sketch words to a probe's: two rows per
 * 512-bit register, XOR, VPOPCNTQ, then each 256-bit half's four counts summed
 * in place (lane swaps). Equal to the scalar twin in sketch.c (tested). */
#define TPOP __attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq")))
TPOP static void ham32_avx512(const uint8_t *codes, size_t n, const uint8_t *probe, uint16_t *out) {
  __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)probe);
  __m512i q2 = _mm512_inserti64x4(_mm512_castsi256_si512(q), q, 1);
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    __m512i p = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_load_si512((const void *)(codes + 32 * i)), q2));
    p = _mm512_add_epi64(p, _mm512_shuffle_i64x2(p, p, _MM_SHUFFLE(2, 3, 0, 1))); /* 128-bit lanes 0+1, 2+3 */
    p = _mm512_add_epi64(p, _mm512_shuffle_epi32(p, _MM_PERM_BADC));             /* the two qwords of each lane */
    __m128i lo = _mm512_castsi512_si128(p), hi = _mm512_extracti32x4_epi32(p, 2);
    out[i] = (uint16_t)_mm_cvtsi128_si64(lo);
    out[i + 1] = (uint16_t)_mm_cvtsi128_si64(hi);
  }
  for (; i < n; i++) {
    __m256i p = _mm256_popcnt_epi64(_mm256_xor_si256(_mm256_load_si256((const __m256i *)(const void *)(codes + 32 * i)), q));
    __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    out[i] = (uint16_t)(_mm_cvtsi128_si64(s2) + _mm_extract_epi64(s2, 1));
  }
}

/* Indices of the distances <= cut, 32 at a time (compare, compress-store). */
TPOP static size_t select_le_avx512(const uint16_t *d, size_t n, uint16_t cut, uint32_t *idx) {
  size_t k = 0, i = 0;
  __m512i c = _mm512_set1_epi16((short)cut), iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (; i + 32 <= n; i += 32) {
    __mmask32 m = _mm512_cmple_epu16_mask(_mm512_loadu_si512((const void *)(d + i)), c);
    if (!m) continue;
    __m512i b0 = _mm512_add_epi32(iota, _mm512_set1_epi32((int)i)), b1 = _mm512_add_epi32(b0, _mm512_set1_epi32(16));
    _mm512_mask_compressstoreu_epi32(idx + k, (__mmask16)m, b0);
    k += (size_t)__builtin_popcount(m & 0xffffu);
    _mm512_mask_compressstoreu_epi32(idx + k, (__mmask16)(m >> 16), b1);
    k += (size_t)__builtin_popcount(m >> 16);
  }
  for (; i < n; i++)
    if (d[i] <= cut) idx[k++] = (uint32_t)i;
  return k;
}

const fg__sketch_kernels fg__sketch_avx512 = {ham32_avx512, select_le_avx512};

#endif
