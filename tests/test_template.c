/*
 * Templates (include/facegate/template.h): the FGT1 encoding round trip in
 * fp32 and fp16, refusal of another model's template and of every truncated
 * or corrupted encoding, cosine comparison, the fp16 conversions (F16C
 * against the portable C twin, bit for bit), and the calibration reader.
 * Pure CPU, no models needed.
 */
#include "testutil.h"

#include <math.h>

#include "facegate/calibration.h"
#include "facegate/template.h"

static const uint8_t model_a[8] = {0x87, 0xaa, 0xcd, 0xfe, 0x57, 0x51, 0x0a, 0x8f};
static const uint8_t model_b[8] = {0x87, 0xaa, 0xcd, 0xfe, 0x57, 0x51, 0x0a, 0x90};

/* A deterministic pseudo-random embedding (xorshift). */
static void fake_embedding(float *v, int n, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (int i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    v[i] = (float)((x >> 8) / 16777216.0 - 0.5);
  }
}

static void test_round_trip(void **state) {
  (void)state;
  float v[512];
  fake_embedding(v, 512, 1);
  fg_template t, d32, d16;
  fg_error e = {0};
  assert_int_equal(fg_template_init(&t, v, 512, model_a, &e), FG_OK);
  assert_true(fabs(fg_dot(t.values, t.values, 512) - 1) < 1e-5);

  uint8_t buf[FG_TEMPLATE_MAX_BYTES];
  size_t n32 = 0, n16 = 0;
  assert_int_equal(fg_template_encode(&t, FG_TEMPLATE_FP32, buf, sizeof buf, &n32, &e), FG_OK);
  assert_int_equal(n32, 20 + 512 * 4 + 4);
  assert_int_equal(n32, fg_template_encoded_size(512, FG_TEMPLATE_FP32));
  assert_memory_equal(buf, "FGT1", 4);
  assert_int_equal(buf[4], 1);
  assert_int_equal(buf[5], FG_TEMPLATE_FP32);
  assert_int_equal(buf[6], FG_TEMPLATE_FLAG_NORMALISED);
  assert_memory_equal(buf + 8, model_a, 8);
  assert_int_equal(buf[16] | buf[17] << 8, 512);
  assert_int_equal(fg_template_decode(buf, n32, model_a, &d32, &e), FG_OK);
  assert_int_equal(d32.dim, 512);
  assert_memory_equal(d32.values, t.values, 512 * sizeof(float)); /* fp32 is exact */

  assert_int_equal(fg_template_encode(&t, FG_TEMPLATE_FP16, buf, sizeof buf, &n16, &e), FG_OK);
  assert_int_equal(n16, 20 + 512 * 2 + 4);
  assert_int_equal(fg_template_decode(buf, n16, NULL, &d16, &e), FG_OK);
  assert_int_equal(d16.type, FG_TEMPLATE_FP16);
  float worst = 0;
  for (int i = 0; i < 512; i++) worst = fmaxf(worst, fabsf(d16.values[i] - t.values[i]));
  assert_true(worst < 1e-3f);
  float s;
  assert_int_equal(fg_template_compare(&t, &d16, &s, &e), FG_OK);
  assert_true(s > 0.99999f);
  assert_int_equal(fg_template_compare(&t, &d32, &s, &e), FG_OK);
  assert_true(fabsf(s - 1) < 1e-6f);

  /* Too small a buffer. */
  assert_int_equal(fg_template_encode(&t, FG_TEMPLATE_FP32, buf, n32 - 1, &n32, &e), FG_ELIMIT);
  fg_template_release(&t);
  fg_template_release(&d32);
  fg_template_release(&d16);
  fg_template_release(&d16); /* twice is fine */
}

static void test_refuse_other_model(void **state) {
  (void)state;
  float v[128];
  fake_embedding(v, 128, 2);
  fg_template a, b, d;
  fg_error e = {0};
  assert_int_equal(fg_template_init(&a, v, 128, model_a, &e), FG_OK);
  assert_int_equal(fg_template_init(&b, v, 128, model_b, &e), FG_OK);
  uint8_t buf[FG_TEMPLATE_MAX_BYTES];
  size_t n;
  assert_int_equal(fg_template_encode(&b, FG_TEMPLATE_FP16, buf, sizeof buf, &n, &e), FG_OK);
  assert_int_equal(fg_template_decode(buf, n, model_a, &d, &e), FG_EMODEL);
  assert_non_null(strstr(e.msg, "another model"));
  assert_null(d.values);
  float s;
  assert_int_equal(fg_template_compare(&a, &b, &s, &e), FG_EMODEL);
  assert_non_null(strstr(e.msg, "different models"));
  /* Different dimensions. */
  fg_template c;
  assert_int_equal(fg_template_init(&c, v, 64, model_a, &e), FG_OK);
  assert_int_equal(fg_template_compare(&a, &c, &s, &e), FG_EINVAL);
  fg_template_release(&a);
  fg_template_release(&b);
  fg_template_release(&c);
}

static void test_refuse_corruption(void **state) {
  (void)state;
  float v[512];
  fake_embedding(v, 512, 3);
  fg_template t, d;
  fg_error e = {0};
  assert_int_equal(fg_template_init(&t, v, 512, model_a, &e), FG_OK);
  for (int ty = FG_TEMPLATE_FP32; ty <= FG_TEMPLATE_FP16; ty++) {
    uint8_t buf[FG_TEMPLATE_MAX_BYTES];
    size_t n;
    assert_int_equal(fg_template_encode(&t, (fg_template_type)ty, buf, sizeof buf, &n, &e), FG_OK);
    /* Every truncation. */
    for (size_t k = 0; k < n; k++) {
      int rc = fg_template_decode(buf, k, model_a, &d, &e);
      assert_int_not_equal(rc, FG_OK);
      assert_null(d.values);
    }
    /* One extra byte. */
    uint8_t longer[FG_TEMPLATE_MAX_BYTES + 1];
    memcpy(longer, buf, n);
    longer[n] = 0;
    assert_int_equal(fg_template_decode(longer, n + 1, model_a, &d, &e), FG_EFORMAT);
    /* Every byte changed (one bit, then all bits). */
    for (size_t k = 0; k < n; k++)
      for (int m = 0; m < 2; m++) {
        uint8_t c[FG_TEMPLATE_MAX_BYTES];
        memcpy(c, buf, n);
        c[k] ^= m ? 0xff : 0x01;
        int rc = fg_template_decode(c, n, model_a, &d, &e);
        assert_int_not_equal(rc, FG_OK);
        assert_null(d.values);
      }
    assert_int_equal(fg_template_decode(buf, n, model_a, &d, &e), FG_OK);
    fg_template_release(&d);
  }
  /* Bad input to init. */
  float z[4] = {0, 0, 0, 0}, nanv[2] = {1, NAN};
  assert_int_equal(fg_template_init(&d, z, 4, model_a, &e), FG_EINVAL);
  assert_int_equal(fg_template_init(&d, nanv, 2, model_a, &e), FG_EINVAL);
  assert_int_equal(fg_template_init(&d, v, 0, model_a, &e), FG_EINVAL);
  fg_template_release(&t);
}

static uint32_t bits(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  return x;
}

static void test_fp16_matches_c(void **state) {
  (void)state;
  /* Every half to float. */
  static uint16_t h[65536];
  static float a[65536], b[65536];
  for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
  fg_fp16_to_fp32(h, a, 65536);
  fg_fp16_to_fp32_c(h, b, 65536);
  for (int i = 0; i < 65536; i++) assert_int_equal(bits(a[i]), bits(b[i]));
  /* Known values. */
  assert_true(b[0x3c00] == 1.0f && b[0xc000] == -2.0f && b[0x7bff] == 65504.0f);
  assert_true(b[0x0001] == ldexpf(1, -24) && isinf(b[0x7c00]) && isnan(b[0x7e00]));
  /* Float to half: every half's float and its neighbours (ties, overflow
   * edges), then a stride through all 2^32 bit patterns. */
  enum { N = 1 << 16 };
  static float f[N];
  static uint16_t x[N], y[N];
  for (int i = 0; i < N; i++) {
    float base = b[i];
    f[i] = isnan(base) ? base : (i & 1) ? nextafterf(base, INFINITY) : nextafterf(base, -INFINITY);
  }
  fg_fp32_to_fp16(f, x, N);
  fg_fp32_to_fp16_c(f, y, N);
  for (int i = 0; i < N; i++) assert_int_equal(x[i], y[i]);
  for (uint64_t start = 0; start < 64; start++) {
    for (int i = 0; i < N; i++) {
      uint32_t u = (uint32_t)(start * 0x9e3779b9u + (uint64_t)i * 65537u);
      memcpy(&f[i], &u, 4);
    }
    fg_fp32_to_fp16(f, x, N);
    fg_fp32_to_fp16_c(f, y, N);
    for (int i = 0; i < N; i++) {
      if (x[i] != y[i]) print_error("float 0x%08x: f16c 0x%04x, C 0x%04x\n", bits(f[i]), x[i], y[i]);
      assert_int_equal(x[i], y[i]);
    }
  }
  /* Round to nearest even at a tie: 1 + 2^-11 is halfway between 1 and 1 + 2^-10. */
  float tie = 1.0f + ldexpf(1, -11), up = 1.0f + 3 * ldexpf(1, -11);
  uint16_t r;
  fg_fp32_to_fp16_c(&tie, &r, 1);
  assert_int_equal(r, 0x3c00);
  fg_fp32_to_fp16_c(&up, &r, 1);
  assert_int_equal(r, 0x3c02);
  float big = 65520.0f;
  fg_fp32_to_fp16_c(&big, &r, 1);
  assert_int_equal(r, 0x7c00);
}

static float from_bits(uint32_t x) {
  float f;
  memcpy(&f, &x, 4);
  return f;
}

/* The one fp16 conversion (src/common/half.h) at its edges, through the C
 * path and the dispatched one (F16C where the CPU has it): NaN, infinities,
 * subnormals, and rounding to nearest even, with the carries it makes. */
static void test_fp16_edges(void **state) {
  (void)state;
  static const struct {
    uint32_t f;
    uint16_t h;
    const char *what;
  } to_half[] = {
      {0x00000000u, 0x0000, "+0"},
      {0x80000000u, 0x8000, "-0"},
      {0x3f800000u, 0x3c00, "1"},
      {0xc0000000u, 0xc000, "-2"},
      {0x477fe000u, 0x7bff, "65504, the largest half"},
      {0x477fefffu, 0x7bff, "just below 65520 rounds down"},
      {0x477ff000u, 0x7c00, "65520: a tie, the even neighbour is infinity"},
      {0x4e6e6b28u, 0x7c00, "1e9 overflows to infinity"},
      {0xce6e6b28u, 0xfc00, "-1e9 to minus infinity"},
      {0x7f800000u, 0x7c00, "+inf"},
      {0xff800000u, 0xfc00, "-inf"},
      {0x7fc00000u, 0x7e00, "quiet NaN"},
      {0xffc00000u, 0xfe00, "negative quiet NaN"},
      {0x7f800001u, 0x7e00, "signalling NaN, low payload: quiet, still a NaN"},
      {0x7fa00000u, 0x7f00, "NaN payload: its top bits kept"},
      {0x38800000u, 0x0400, "2^-14, the smallest normal"},
      {0x387fc000u, 0x03ff, "2^-14 - 2^-24, the largest subnormal"},
      {0x387fe000u, 0x0400, "2^-14 - 2^-25: a tie, rounds up into the smallest normal"},
      {0x33800000u, 0x0001, "2^-24, the smallest subnormal"},
      {0xb3800000u, 0x8001, "-2^-24"},
      {0x33000000u, 0x0000, "2^-25: a tie, the even neighbour is zero"},
      {0x33000001u, 0x0001, "just above 2^-25 rounds up"},
      {0x32ffffffu, 0x0000, "just below 2^-25 rounds to zero"},
      {0x33c00000u, 0x0002, "3 x 2^-25: a tie between 1 and 2 x 2^-24, even is 2"},
      {0x3f801000u, 0x3c00, "1 + 2^-11: a tie, even below"},
      {0x3f803000u, 0x3c02, "1 + 3 x 2^-11: a tie, even above"},
      {0x3f801001u, 0x3c01, "just above the tie rounds up"},
      {0x3ffff000u, 0x4000, "2 - 2^-11: a tie, rounds up into the next exponent"},
  };
  for (size_t i = 0; i < sizeof to_half / sizeof *to_half; i++) {
    float f = from_bits(to_half[i].f);
    uint16_t c, d;
    fg_fp32_to_fp16_c(&f, &c, 1);
    fg_fp32_to_fp16(&f, &d, 1);
    if (c != to_half[i].h || d != to_half[i].h)
      print_error("float 0x%08x (%s): C 0x%04x, dispatched 0x%04x, want 0x%04x\n", to_half[i].f,
                  to_half[i].what, c, d, to_half[i].h);
    assert_int_equal(c, to_half[i].h);
    assert_int_equal(d, to_half[i].h);
  }
  static const struct {
    uint16_t h;
    uint32_t f;
    const char *what;
  } to_float[] = {
      {0x0000, 0x00000000u, "+0"},
      {0x8000, 0x80000000u, "-0"},
      {0x3c00, 0x3f800000u, "1"},
      {0x7bff, 0x477fe000u, "65504"},
      {0x0400, 0x38800000u, "the smallest normal"},
      {0x03ff, 0x387fc000u, "the largest subnormal"},
      {0x0001, 0x33800000u, "the smallest subnormal"},
      {0x8001, 0xb3800000u, "minus the smallest subnormal"},
      {0x7c00, 0x7f800000u, "+inf"},
      {0xfc00, 0xff800000u, "-inf"},
      {0x7e00, 0x7fc00000u, "quiet NaN"},
      {0xfe00, 0xffc00000u, "negative quiet NaN"},
      {0x7d00, 0x7fe00000u, "signalling NaN: made quiet, payload kept"},
      {0x7c01, 0x7fc02000u, "signalling NaN, lowest payload bit"},
  };
  for (size_t i = 0; i < sizeof to_float / sizeof *to_float; i++) {
    float c, d;
    fg_fp16_to_fp32_c(&to_float[i].h, &c, 1);
    fg_fp16_to_fp32(&to_float[i].h, &d, 1);
    if (bits(c) != to_float[i].f || bits(d) != to_float[i].f)
      print_error("half 0x%04x (%s): C 0x%08x, dispatched 0x%08x, want 0x%08x\n", to_float[i].h,
                  to_float[i].what, bits(c), bits(d), to_float[i].f);
    assert_int_equal(bits(c), to_float[i].f);
    assert_int_equal(bits(d), to_float[i].f);
  }
}

static void test_calibration(void **state) {
  (void)state;
  const char *ok = "{\"model_sha256\": \"87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581\",\n"
                   " \"method\": \"all cross-identity LFW pairs\", \"pairs\": [1, 2, {\"x\": null}],\n"
                   " \"thresholds\": {\"1e-2\": 0.25, \"1e-3\": 0.33, \"1e-4\": 0.39, \"1e-5\": 0.44}}";
  fg_calibration c;
  fg_error e = {0};
  assert_int_equal(fg_calibration_parse(ok, strlen(ok), &c, &e), FG_OK);
  assert_int_equal(c.count, 4);
  assert_string_equal(c.method, "all cross-identity LFW pairs");
  double t;
  assert_int_equal(fg_calibration_threshold(&c, 1e-4, &t, &e), FG_OK);
  assert_true(fabs(t - 0.39) < 1e-12);
  assert_true(c.fmr[0] < c.fmr[3]);
  assert_int_equal(fg_calibration_threshold(&c, 5e-4, &t, &e), FG_ENOTFOUND);
  static const char *bad[] = {
      "",
      "{",
      "[]",
      "{\"model_sha256\": \"87aa\", \"thresholds\": {\"1e-4\": 0.3}}",
      "{\"model_sha256\": \"87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581\"}",
      "{\"model_sha256\": \"87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581\", "
      "\"thresholds\": {\"abc\": 0.3}}",
      "{\"model_sha256\": \"87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581\", "
      "\"thresholds\": {\"1e-4\": 3}}",
      "{\"model_sha256\": \"87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581\", "
      "\"thresholds\": {\"1e-4\": 0.3}} x",
      "{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(fg_calibration_parse(bad[i], strlen(bad[i]), &c, &e), FG_EFORMAT);
    assert_int_equal(c.count, 0);
  }
  /* Every truncation of the good one fails cleanly. */
  for (size_t k = 0; k + 1 < strlen(ok); k++) assert_int_not_equal(fg_calibration_parse(ok, k, &c, &e), FG_OK);
  assert_int_equal(fg_calibration_load("/nonexistent/calibration.json", &c, &e), FG_ENOTFOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_refuse_other_model),
      cmocka_unit_test(test_refuse_corruption),
      cmocka_unit_test(test_fp16_matches_c),
      cmocka_unit_test(test_fp16_edges),
      cmocka_unit_test(test_calibration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
