/*
 * peak_fma — the fp32 multiply-add rate one core can reach: 12 independent
 * chains of 512-bit (AVX-512) or 256-bit (AVX2) fused multiply-adds, best of
 * 5 passes. docs/pipeline.md uses it to bound how fast the four models can
 * run in fp32 on one thread (their multiply-adds over this rate).
 *
 *   cc -O3 -march=native -o build/peak_fma bench/peak/peak_fma.c && build/peak_fma
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define STORE _mm512_storeu_ps
#elif defined(__AVX2__) && defined(__FMA__)
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define STORE _mm256_storeu_ps
#else
#error "needs AVX2+FMA or AVX-512 (build with -march=native)"
#endif

int main(void) {
  enum { CHAINS = 12 };
  vec a[CHAINS], b = SET1(1.0000001f), c = SET1(1e-7f);
  for (int i = 0; i < CHAINS; i++) a[i] = SET1((float)i);
  const long iters = 20000000;
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long it = 0; it < iters; it++)
      for (int i = 0; i < CHAINS; i++) a[i] = FMA(a[i], b, c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    double g = (double)iters * CHAINS * LANES / s / 1e9;
    if (g > best) best = g;
  }
  float sink = 0, t[LANES];
  for (int i = 0; i < CHAINS; i++) STORE(t, a[i]), sink += t[0]; /* keep the chains alive */
  printf("%d-lane fp32 FMA, one thread: %.1f G multiply-adds/s (%.1f GFLOPS)%s\n", LANES, best, 2 * best,
         sink == 0.5f ? " " : "");
  return 0;
}
