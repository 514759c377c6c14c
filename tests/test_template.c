/*
 * Templates (include/facegate/template.h): the FGT1 encoding round trip in
 * fp32 and fp16, refusal of another model's template and of every truncated
 * or corrupted encoding, cosine comparison, the fp16 conversions (F16C
 * against the portable C twin, bit for bit), and the calibration reader.
 * Pure CPU, no models needed.
 */
#include "testutil.h"

#include <math.h>

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
      cmocka_unit_test(test_calibration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
