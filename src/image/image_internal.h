/*
 * Internal interface of the image module (not API): the per-format decoders
 * behind fg_image_decode*, shared checks, and small byte-reading helpers.
 * Each decoder takes resolved limits (fg__image_limits_resolve: no zero fields),
 * produces 1 (grey) or 3 (RGB) channels in the stored orientation, and leaves
 * *out zeroed on error. image.c then orients and expands grey as asked.
 */
#ifndef FG_IMAGE_INTERNAL_H
#define FG_IMAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/internal.h"
#include "facegate/image.h"

static inline uint16_t fg__be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t fg__be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void fg__put_be16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void fg__put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Copy *in (may be NULL) with defaults filled in for zero fields. */
void fg__image_limits_resolve(const fg_image_limits *in, fg_image_limits *out);
/* FG_EFORMAT for a zero dimension, FG_ELIMIT above lim->max_pixels or above
 * INT32 range; `what` names the format in the message. */
int fg__image_check_dims(uint64_t w, uint64_t h, const fg_image_limits *lim, const char *what,
                         fg_error *err);
/* Allocate w*h*channels bytes into *img (uninitialised pixels). */
int fg__image_alloc(fg_image *img, int w, int h, int channels, fg_error *err);

/* fg_image_resize_area with the SIMD passes (simd != 0; SSE2 on x86-64) or
 * the portable scalar ones: identical results (tests compare them). */
int fg__image_resize_area_impl(const fg_image *src, int dw, int dh, fg_image *out, int simd, fg_error *err);
/* The area resize of the rectangle (x, y, w, h) of src, which must lie inside
 * it, to dw x dh <= w x h, read in place (no copy of the rectangle first):
 * the same bytes as fg_image_crop followed by fg_image_resize_area.
 * FG_EINVAL for a rectangle outside src or an enlargement. */
int fg__image_resize_area_rect(const fg_image *src, int x, int y, int w, int h, int dw, int dh, fg_image *out,
                               int simd, fg_error *err);

/* Re-lay *img for EXIF orientation 2..8 (1 or invalid: unchanged). Replaces
 * img->data; on FG_ENOMEM *img is left as it was. */
int fg__image_orient(fg_image *img, int orientation, fg_error *err);
/* Map the rectangle (x,y,w,h) of the image as displayed after orientation `o`
 * to the rectangle of the stored image (raw_w x raw_h) that holds it. */
void fg__orient_rect_to_raw(int o, int raw_w, int raw_h, int x, int y, int w, int h, int *rx,
                            int *ry, int *rw, int *rh);

/* EXIF orientation (1..8) from the first Exif APP1 segment before SOS;
 * 0 when absent or malformed. Reads only within [p, p+n). */
int fg__exif_orientation(const uint8_t *p, size_t n);

/* JPEG decode at factor 1/(2^k) chosen for max_side (0: full size); stored orientation. */
int fg__jpeg_decode(const uint8_t *buf, size_t len, const fg_image_limits *lim, int max_side,
                    int *scale_num, int *scale_den, fg_image *out, fg_error *err);
/* JPEG decode, through the libjpeg API (jpeg_crop_scanline, jpeg_skip_scanlines),
 * of the raw (stored orientation) rectangle at DCT factor 1/den (1, 2, 4, 8):
 * *out holds the scaled pixels [*sx, *sx + out->width) x [*sy, ...) of the
 * 1/den image, the fewest that cover the rectangle (exactly the rectangle for
 * den 1). read_all: also read the entropy-coded data after the region (so
 * damage there is an error); otherwise decoding stops after its last row. */
int fg__jpeg_decode_raw_region_scaled(const uint8_t *buf, size_t len, const fg_image_limits *lim, int x,
                                      int y, int w, int h, int den, int read_all, fg_image *out, int *sx,
                                      int *sy, fg_error *err);
/* The region (x, y, w, h) of the displayed full-size image decoded at DCT
 * factor 1/den where the format allows it (JPEG, plain or in a DG2; others at
 * 1/1, *out_den says which): *out's pixel (i, j) covers the full-size
 * displayed pixels from (*ox + i * den, *oy + j * den), den x den of them
 * (the last row or column may be partial when the image size is not a
 * multiple of den). For JPEG, decoding stops after the region's last row, so
 * damage below it is not detected: use it on bytes that have already decoded
 * whole (as fg_face_process_buffer does after its reduced decode). */
int fg__image_decode_region_scaled(const uint8_t *buf, size_t len, const fg_image_limits *lim, int x, int y,
                                   int w, int h, int den, fg_image *out, int *ox, int *oy, int *out_den,
                                   fg_error *err);
/* JPEG header dimensions. */
int fg__jpeg_probe(const uint8_t *buf, size_t len, int *w, int *h, fg_error *err);

int fg__png_decode(const uint8_t *buf, size_t len, const fg_image_limits *lim, fg_image *out,
                   fg_error *err);
int fg__pnm_decode(const uint8_t *buf, size_t len, const fg_image_limits *lim, fg_image *out,
                   fg_error *err);
/* JPEG 2000: jp2 = 1 for the JP2 container, 0 for a bare codestream. */
int fg__j2k_decode(const uint8_t *buf, size_t len, int jp2, const fg_image_limits *lim,
                   fg_image *out, fg_error *err);
/* JPEG 2000 image size from the SIZ marker (checked, without OpenJPEG). */
int fg__j2k_probe(const uint8_t *buf, size_t len, int jp2, uint32_t *w, uint32_t *h,
                  fg_error *err);

#endif
