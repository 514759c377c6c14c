/*
 * The CPU features the library chooses code paths by: the search kernels
 * (src/match/search.c: AVX2 with FMA, AVX-512 with VNNI, and VPOPCNTDQ for
 * the sign sketches), the inference precisions (src/nn/model.c: VNNI for
 * int8, AVX512-BF16 for bf16) and the fp16
 * conversion of templates (src/face/template.c: F16C). One probe, so that
 * every path agrees on what this CPU and its OS can run: the compiler's
 * runtime (__builtin_cpu_supports) tells AVX only when the OS saves the YMM
 * registers, and AVX-512 only when it saves the ZMM ones; F16C, which the
 * runtime of clang 14 cannot be asked about, is read from CPUID and counted
 * only together with usable AVX (its instructions use YMM registers).
 * Nothing is cached: the runtime keeps the answers, so a call costs a few
 * loads, and the library keeps no state of its own.
 */
#include "common/internal.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>
#define FG__CPU_X86 1
#endif

unsigned fg__cpu_features(void) {
  unsigned f = 0;
#ifdef FG__CPU_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= FG__CPU_AVX2;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vnni"))
    f |= FG__CPU_AVX512;
  if ((f & FG__CPU_AVX512) && __builtin_cpu_supports("avx512vpopcntdq") &&
      __builtin_cpu_supports("avx512vl"))
    f |= FG__CPU_AVX512_POPCNT;
  if (__builtin_cpu_supports("avx512vnni")) f |= FG__CPU_AVX512_VNNI;
  if (__builtin_cpu_supports("avx512bf16")) f |= FG__CPU_AVX512_BF16;
  unsigned a, b, c, d;
  if (__builtin_cpu_supports("avx") && __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C))
    f |= FG__CPU_F16C;
#endif
  return f;
}
