/*
 * libFuzzer target for the template decoder (fg_template_decode) and the
 * two calibration readers (fg_calibration_parse, fg_fpir_calibration_parse),
 * all of which read untrusted bytes. A random input almost never carries a valid SHA-256 checksum, so
 * each input is decoded twice: as is, and with its last 4 bytes replaced by
 * the correct checksum, which lets the fuzzer reach the model, value and
 * norm checks behind it. Any decoded template is re-encoded and must decode
 * to the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "facegate/calibration.h"
#include "facegate/template.h"

static void check(const uint8_t *p, size_t n) {
  static const uint8_t model[8] = {0x87, 0xaa, 0xcd, 0xfe, 0x57, 0x51, 0x0a, 0x8f};
  fg_template t, u;
  fg_error e;
  if (fg_template_decode(p, n, NULL, &t, &e) != FG_OK) return;
  fg_template_decode(p, n, model, &u, &e);
  fg_template_release(&u);
  uint8_t *buf = malloc(FG_TEMPLATE_MAX_BYTES);
  size_t len;
  if (buf && fg_template_encode(&t, t.type, buf, FG_TEMPLATE_MAX_BYTES, &len, &e) == FG_OK) {
    if (fg_template_decode(buf, len, t.model_id, &u, &e) != FG_OK) abort();
    if (t.type == FG_TEMPLATE_FP32 && memcmp(u.values, t.values, (size_t)t.dim * sizeof(float))) abort();
    float s;
    if (fg_template_compare(&t, &u, &s, &e) != FG_OK || s < 0.999f) abort();
    fg_template_release(&u);
  }
  free(buf);
  fg_template_release(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check(data, size);
  if (size >= 24 && size <= FG_TEMPLATE_MAX_BYTES) {
    uint8_t *c = malloc(size);
    if (!c) return 0;
    memcpy(c, data, size);
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, c, size - 4);
    memcpy(c + size - 4, h, 4);
    check(c, size);
    free(c);
  }
  fg_calibration cal;
  fg_error e;
  if (fg_calibration_parse((const char *)data, size, &cal, &e) == FG_OK) {
    double t;
    fg_calibration_threshold(&cal, 1e-4, &t, &e);
  }
  fg_fpir_calibration fc;
  if (fg_fpir_calibration_parse((const char *)data, size, &fc, &e) == FG_OK) {
    double t;
    fg_fpir_threshold(&fc, NULL, 420, 0.003, &t, &e);
    fg_fpir_threshold(&fc, NULL, 1000000, 0.003, &t, &e);
  }
  return 0;
}
