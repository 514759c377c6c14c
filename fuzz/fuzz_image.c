/*
 * libFuzzer target for the image decoders: every format behind
 * fg_image_decode (JPEG, PNG, JPEG 2000, PGM/PPM, DG2), plus the scaled and
 * region paths (TurboJPEG scaling and lossless crop) on inputs that decode.
 * Small limits keep each run cheap and within libFuzzer's memory limit; the
 * decoder must refuse anything larger cleanly. Seeds: fuzz/corpus/fuzz_image
 * (written by tests/test_image.c with FACEGATE_SEED_DIR set).
 *
 *     make fuzz && build-fuzz/fuzz_image -max_total_time=180 fuzz/corpus/fuzz_image
 *
 * Crash inputs go to tests/fixtures/fuzz-regress/image-*, which
 * tests/test_image.c re-runs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "facegate/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read every pixel so that ASan sees any out-of-bounds or uninitialised use. */
static unsigned touch(const fg_image *img) {
  unsigned s = 0;
  size_t n = (size_t)img->width * img->height * img->channels;
  for (size_t i = 0; i < n; i++) s += img->data[i];
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fg_image_limits lim = {.max_bytes = 1 << 20, .max_pixels = 1 << 20};
  fg_image img;
  fg_error err;
  volatile unsigned sink = 0;
  if (fg_image_decode(data, size, &lim, &img, &err) != FG_OK) {
    if (img.data) abort(); /* the error contract: *out zeroed */
    return 0;
  }
  if (img.width <= 0 || img.height <= 0 || (img.channels != 3)) abort();
  sink += touch(&img);
  const int w = img.width, h = img.height;
  fg_image_release(&img);

  int num = 0, den = 0;
  if (fg_image_decode_jpeg_scaled(data, size, &lim, 16, &img, &num, &den, &err) == FG_OK) {
    if (num != 1 || den < 1 || img.width != (w + den - 1) / den) abort();
    sink += touch(&img);
    fg_image_release(&img);
  }
  if (fg_image_decode_region(data, size, &lim, w / 3, h / 3, (w + 1) / 2, (h + 1) / 2, &img,
                             &err) == FG_OK) {
    if (img.width != (w + 1) / 2 || img.height != (h + 1) / 2) abort();
    sink += touch(&img);
    fg_image_release(&img);
  }
  (void)sink;
  return 0;
}
