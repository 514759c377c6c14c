/*
 * libFuzzer target for the image decoders: every format behind
 * fg_image_decode (JPEG, PNG, JPEG 2000, PGM/PPM, DG2), plus the scaled and
 * region paths (TurboJPEG scaling; libjpeg partial decode, plain and scaled) on
 * inputs that decode, and the scaled region on inputs that do not.
 * Small limits keep each run cheap and within libFuzzer's memory limit; the
 * decoder must refuse anything larger cleanly. Seeds: fuzz/corpus/fuzz_image
 * (written by tests/test_image.c with FACEGATE_SEED_DIR set). Decoded images of up
 * to 256K pixels also go through resize, warp, crop and grey with parameters
 * drawn from the input, and small ones through a PNG encode/decode round trip.
 *
 *     make fuzz && build-fuzz/fuzz_image -max_total_time=180 fuzz/corpus/fuzz_image
 *
 * Crash inputs go to tests/fixtures/fuzz-regress/image-*, which
 * tests/test_image.c re-runs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "facegate/image.h"
#include "image/image_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read every pixel so that ASan sees any out-of-bounds or uninitialised use. */
static unsigned touch(const fg_image *img) {
  unsigned s = 0;
  size_t n = (size_t)img->width * img->height * img->channels;
  for (size_t i = 0; i < n; i++) s += img->data[i];
  return s;
}

/* Pixel operations on a decoded image, parameters drawn from a hash of the input;
 * and a PNG encode -> decode round trip that must be exact. */
static void ops(const fg_image *img, const uint8_t *data, size_t size) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 16777619u;
  fg_image o;
  fg_error err;
  const int dw = 1 + (int)(h % 64), dh = 1 + (int)((h >> 6) % 64);
  if (fg_image_resize_bilinear(img, dw, dh, &o, &err) != FG_OK) abort();
  touch(&o);
  fg_image_release(&o);
  if (fg_image_resize_area(img, dw, dh, &o, &err) != FG_OK) abort();
  touch(&o);
  fg_image_release(&o);
  float m[6];
  for (int i = 0; i < 6; i++) m[i] = (float)((int)((h >> (i * 5)) & 31) - 16) / 4.0f;
  m[2] *= (float)img->width / 4;
  m[5] *= (float)img->height / 4;
  if (fg_image_warp_affine(img, m, dw, dh, (fg_image_border)((h >> 30) & 1), &o, &err) != FG_OK)
    abort();
  touch(&o);
  fg_image_release(&o);
  const int cx = (int)(h % (uint32_t)img->width), cy = (int)((h >> 8) % (uint32_t)img->height);
  if (fg_image_crop(img, cx, cy, img->width - cx, img->height - cy, &o, &err) != FG_OK) abort();
  fg_image_release(&o);
  if (fg_image_to_grey(img, &o, &err) != FG_OK) abort();
  fg_image_release(&o);
  if ((size_t)img->width * img->height <= 4096) {
    uint8_t *png;
    size_t n;
    if (fg_image_encode_png(img, &png, &n, &err) != FG_OK) abort();
    if (fg_image_decode(png, n, NULL, &o, &err) != FG_OK || o.width != img->width ||
        o.height != img->height || o.channels != img->channels ||
        memcmp(o.data, img->data, (size_t)o.width * o.height * o.channels) != 0)
      abort();
    fg_image_release(&o);
    free(png);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fg_image_limits lim = {.max_bytes = 1 << 20, .max_pixels = 1 << 20};
  fg_image img;
  fg_error err;
  volatile unsigned sink = 0;
  int ox, oy, od;
  if (fg_image_decode(data, size, &lim, &img, &err) != FG_OK) {
    if (img.data) abort(); /* the error contract: *out zeroed */
    /* The scaled region decode stops after the region, so it may succeed
     * where the whole decode failed: it must still never crash or leak. */
    if (fg__image_decode_region_scaled(data, size, &lim, 0, 0, 1, 1, 2, &img, &ox, &oy, &od, &err) == FG_OK) {
      sink += touch(&img);
      fg_image_release(&img);
    } else if (img.data) {
      abort();
    }
    return 0;
  }
  if (img.width <= 0 || img.height <= 0 || (img.channels != 3)) abort();
  sink += touch(&img);
  if ((size_t)img.width * img.height <= (1u << 18)) ops(&img, data, size);
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
  /* The libjpeg partial decode at a scale drawn from the input: the fewest
   * scaled pixels covering the region. */
  const int sd = 1 << (size % 4), rx = w / 4, ry = h / 5, rw = (w + 2) / 3, rh = (h + 1) / 2;
  if (fg__image_decode_region_scaled(data, size, &lim, rx, ry, rw, rh, sd, &img, &ox, &oy, &od, &err) == FG_OK) {
    if (img.width < 1 || img.height < 1 || ox > rx || oy > ry || ox + img.width * od < rx + rw ||
        oy + img.height * od < ry + rh || img.width > (w + od - 1) / od + 1 || img.height > (h + od - 1) / od + 1)
      abort();
    sink += touch(&img);
    fg_image_release(&img);
  } else if (img.data) {
    abort();
  }
  (void)sink;
  return 0;
}
