/*
 * IEEE binary16 ("half") conversion in portable C: the one converter behind
 * fp16 templates (src/face/template.c, where F16C does the same when the CPU
 * has it) and the galleries' fp16 rows and search kernels (src/match).
 *
 * Bit-identical to the F16C instructions: float to half rounds to nearest,
 * ties to even (VCVTPS2PH with _MM_FROUND_TO_NEAREST_INT), overflows to
 * infinity from 65520 up, gives half subnormals below 2^-14 and zero from
 * 2^-25 down (2^-25 is a tie: the even neighbour is zero); half to float is
 * exact (VCVTPH2PS). A NaN stays a NaN of the same
 * sign, made quiet, keeping the top bits of its payload, both ways.
 * tests/test_template.c checks NaN, infinities, subnormals and rounding, and
 * compares with F16C over every half and a stride through all floats.
 */
#ifndef FACEGATE_COMMON_HALF_H
#define FACEGATE_COMMON_HALF_H

#include <stdint.h>
#include <string.h>

static inline uint16_t fg__f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) /* Inf, or NaN made quiet keeping its top mantissa bits */
    return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0));
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to Inf */
  if (a < 0x38800000u) {                                   /* below 2^-14: subnormal or zero */
    if (a < 0x33000000u) return (uint16_t)sign;            /* below 2^-25: zero */
    uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
    int shift = 126 - (int)e; /* 14..24 */
    uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1))) r++; /* may carry into the smallest normal: right */
    return (uint16_t)(sign | r);
  }
  uint32_t r = a - 0x38000000u; /* exponent rebias 127 -> 15 */
  uint32_t h = r >> 13, rem = r & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* a carry moves into the exponent, as it should */
  return (uint16_t)(sign | h);
}

static inline float fg__f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
  if (e == 0) {
    if (!m) {
      x = sign;
    } else { /* subnormal: renormalise */
      int s = 0;
      while (!(m & 0x400u)) m <<= 1, s++;
      x = sign | ((uint32_t)(113 - s) << 23) | ((m & 0x3ffu) << 13);
    }
  } else if (e == 31) { /* Inf; a NaN comes out quiet, as VCVTPH2PS makes it */
    x = sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0);
  } else {
    x = sign | ((e + 112) << 23) | (m << 13);
  }
  float f;
  memcpy(&f, &x, 4);
  return f;
}

#endif
