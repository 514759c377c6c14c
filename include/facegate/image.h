/*
 * facegate/image.h — decode images from untrusted bytes, and the few pixel
 * operations the face pipeline needs (crop, resize, colour, affine warp, PNG out).
 *
 * An fg_image is plain caller-visible data: 8-bit samples, interleaved, row-major,
 * no padding (stride = width * channels), channels 1 (grey) or 3 (R,G,B). The
 * caller owns the struct; fg_image_release() frees the pixels and zeroes it.
 *
 *     fg_image img = {0};
 *     fg_error e;
 *     if (fg_image_decode_file("gate.jpg", NULL, &img, &e) != FG_OK)
 *         fprintf(stderr, "%s: %s\n", fg_err_name(e.code), e.msg);
 *     ...                          // img.width x img.height, RGB
 *     fg_image_release(&img);
 *
 * Decoding detects the format from the first bytes, never from a file name:
 * JPEG (libjpeg-turbo), PNG (libpng), JPEG 2000 codestream and JP2 (OpenJPEG),
 * binary PGM/PPM, and ICAO 9303 EF.DG2 (the first face's embedded JPEG or
 * JPEG 2000; see facegate/dg2.h). EXIF orientation (JPEG) is applied, so the
 * result is upright as a viewer would show it. Input size and pixel count are
 * limited (fg_image_limits); the pixel count is checked from the header before
 * any pixel memory is allocated, so decompression bombs are refused cheaply.
 * Truncated or corrupt data is an error (FG_EFORMAT), never a partial image.
 * See docs/images.md for every rule.
 *
 * Every function here is reentrant: there is no shared state, and distinct
 * images may be used from distinct threads at once. An fg_image has no lock;
 * reading one image from several threads is fine, writing it is not.
 *
 * Output arguments: on success `*out` receives freshly allocated pixels; it is
 * overwritten without being released first, and must not alias the source. On
 * error `*out` is zeroed ({0}) and nothing is leaked.
 */
#ifndef FACEGATE_IMAGE_H
#define FACEGATE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/error.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

typedef struct fg_image {
  int width;     /* pixels, > 0 for a decoded image */
  int height;    /* pixels, > 0 for a decoded image */
  int channels;  /* 1 = grey, 3 = RGB */
  uint8_t *data; /* width * height * channels bytes, owned by the struct */
} fg_image;

/* Defaults used where an fg_image_limits field is 0 (or the pointer NULL). */
#define FG_IMAGE_DEFAULT_MAX_BYTES ((size_t)32 << 20) /* 32 MiB of input */
#define FG_IMAGE_DEFAULT_MAX_PIXELS 40000000u          /* 40 megapixels */

/* fg_image_limits.flags */
#define FG_IMAGE_KEEP_GREY 0x1u   /* grey sources stay 1 channel (default: RGB) */
#define FG_IMAGE_IGNORE_EXIF 0x2u /* do not apply the EXIF orientation tag */

/* Limits and options for decoding. Zero-initialise and set what you need. */
typedef struct fg_image_limits {
  size_t max_bytes;    /* larger inputs: FG_ELIMIT (0: FG_IMAGE_DEFAULT_MAX_BYTES) */
  uint64_t max_pixels; /* width*height above this: FG_ELIMIT (0: default) */
  unsigned flags;      /* FG_IMAGE_* bits above */
} fg_image_limits;

typedef enum fg_image_format {
  FG_IMAGE_FORMAT_UNKNOWN = 0,
  FG_IMAGE_FORMAT_JPEG,
  FG_IMAGE_FORMAT_PNG,
  FG_IMAGE_FORMAT_J2K, /* JPEG 2000 codestream (FF 4F FF 51) */
  FG_IMAGE_FORMAT_JP2, /* JPEG 2000 in the JP2 box container */
  FG_IMAGE_FORMAT_PNM, /* binary PGM (P5) or PPM (P6) */
  FG_IMAGE_FORMAT_DG2  /* ICAO 9303 EF.DG2 */
} fg_image_format;

/* The format of `buf` judged from its first bytes; FG_IMAGE_FORMAT_UNKNOWN if none. */
fg_image_format fg_image_sniff(const uint8_t *buf, size_t len);
/* Static lower-case name of a format ("jpeg", "dg2", ...); never NULL. */
const char *fg_image_format_name(fg_image_format fmt);

/* Set up *img as a width x height image of `channels` (1 or 3) with zeroed
 * pixels. On error (FG_EINVAL for bad sizes, FG_ENOMEM) *img is zeroed. */
int fg_image_init(fg_image *img, int width, int height, int channels, fg_error *err);
/* Free the pixels and zero the struct. NULL or an already-released image is fine. */
void fg_image_release(fg_image *img);

/* Decode an image held in memory. `lim` may be NULL (defaults). The result is
 * RGB, or grey for grey sources when FG_IMAGE_KEEP_GREY is set. Errors:
 * FG_ELIMIT (input too large, too many pixels), FG_EFORMAT (unknown format,
 * zero size, truncated or corrupt data), FG_EUNSUPPORTED (a valid file using a
 * feature not handled, e.g. a JPEG 2000 with 5 components), FG_ENOMEM. */
int fg_image_decode(const uint8_t *buf, size_t len, const fg_image_limits *lim,
                    fg_image *out, fg_error *err);

/* fg_image_decode on the contents of a file (read whole, refused above
 * lim->max_bytes before reading). FG_ENOTFOUND if it does not exist, FG_EIO if
 * it cannot be opened or read; messages start with the path. */
int fg_image_decode_file(const char *path, const fg_image_limits *lim, fg_image *out,
                         fg_error *err);

/* Decode at reduced size where the format allows it cheaply. For a JPEG
 * (plain or inside a DG2) libjpeg-turbo's DCT scaling is used: of the factors
 * 1/1, 1/2, 1/4, 1/8 the smallest whose result keeps the long side >= max_side
 * (1/1 when the image is already smaller, or max_side <= 0). Only powers of two
 * are used: libjpeg-turbo's other factors (7/8, 3/4 ...) have no SIMD IDCT and
 * are slower than a full decode. Other formats decode at full size with 1/1.
 * The factor used is returned in *scale_num / *scale_den (each may be NULL);
 * a full-size coordinate is scaled_coordinate * den / num. Scaled dimensions
 * are ceil(full * num / den). Limits apply to the full-size header. */
int fg_image_decode_jpeg_scaled(const uint8_t *buf, size_t len, const fg_image_limits *lim,
                                int max_side, fg_image *out, int *scale_num,
                                int *scale_den, fg_error *err);

/* Decode only the rectangle (x, y, w, h) of the full-resolution, upright
 * (EXIF-oriented) image; it must lie inside the image (FG_EINVAL otherwise).
 * For JPEG, libjpeg's partial decode (jpeg_crop_scanline, jpeg_skip_scanlines,
 * in the stored orientation) inverse-transforms and colour-converts only the
 * blocks about the region, and the pixels are those of a whole decode; the
 * entropy-coded data is still read in full, so damage anywhere is an error.
 * Other formats are decoded whole and cropped. Same limits and errors as
 * fg_image_decode. */
int fg_image_decode_region(const uint8_t *buf, size_t len, const fg_image_limits *lim,
                           int x, int y, int w, int h, fg_image *out, fg_error *err);

/* ---- pixel operations (src is 1 or 3 channels; out must not alias src) ---- */

/* Copy the rectangle (x, y, w, h), which must lie inside src (FG_EINVAL). Crops
 * reaching past the border: use fg_image_warp_affine with a translation. */
int fg_image_crop(const fg_image *src, int x, int y, int w, int h, fg_image *out,
                  fg_error *err);
/* Grey copy: Y = (77 R + 150 G + 29 B + 128) >> 8 (BT.601); grey src is copied. */
int fg_image_to_grey(const fg_image *src, fg_image *out, fg_error *err);
/* RGB copy: grey replicated into R, G and B; RGB src is copied. */
int fg_image_to_rgb(const fg_image *src, fg_image *out, fg_error *err);
/* Mirror left-right (for test-time augmentation). */
int fg_image_flip_horizontal(const fg_image *src, fg_image *out, fg_error *err);

/* Bilinear resize to dst_w x dst_h with pixel centres aligned (as OpenCV's
 * INTER_LINEAR: src = (dst + 0.5) * scale - 0.5, clamped at the edges),
 * 11-bit fixed-point weights. Reducing by more than 2x aliases: prefer
 * fg_image_resize_area for large reductions. */
int fg_image_resize_bilinear(const fg_image *src, int dst_w, int dst_h, fg_image *out,
                             fg_error *err);
/* Area-average resize (each output pixel is the mean of the source area it
 * covers, fractional pixels weighted), the right filter for reductions; axes
 * that are enlarged fall back to fg_image_resize_bilinear as a whole. */
int fg_image_resize_area(const fg_image *src, int dst_w, int dst_h, fg_image *out,
                         fg_error *err);

typedef enum fg_image_border {
  FG_IMAGE_BORDER_ZERO = 0,     /* samples outside the source are 0 (black) */
  FG_IMAGE_BORDER_REPLICATE = 1 /* samples outside take the nearest edge pixel */
} fg_image_border;

/* Affine warp with bilinear sampling. `m` maps DESTINATION to SOURCE
 * coordinates (the inverse map, as used for sampling):
 *     src_x = m[0]*x + m[1]*y + m[2],   src_y = m[3]*x + m[4]*y + m[5]
 * with integer coordinates at pixel centres (pixel (0,0) is centred on 0,0).
 * The identity reproduces src exactly; m = {1,0,tx, 0,1,ty} gives
 * out(x,y) = src(x+tx, y+ty). To warp with a source-to-destination matrix
 * (e.g. an alignment similarity), invert it first with fg_image_affine_invert.
 * out has src's channel count. */
int fg_image_warp_affine(const fg_image *src, const float m[6], int dst_w, int dst_h,
                         fg_image_border border, fg_image *out, fg_error *err);
/* inv = the inverse of the 2x3 affine m. FG_EINVAL if m is singular. */
int fg_image_affine_invert(const float m[6], float inv[6]);

/* Encode as an 8-bit grey or RGB PNG. *png is malloc'd: free() it. On error
 * *png is NULL and *len 0. */
int fg_image_encode_png(const fg_image *img, uint8_t **png, size_t *len, fg_error *err);
/* Encode and write to `path` (replaced if it exists). FG_EIO on write errors. */
int fg_image_write_png(const char *path, const fg_image *img, fg_error *err);
/* Encode as a baseline JPEG (grey, or RGB with 4:2:0 chroma) at quality
 * 1..100 (FG_EINVAL otherwise). *jpg is malloc'd: free() it. On error *jpg is
 * NULL and *len 0. */
int fg_image_encode_jpeg(const fg_image *img, int quality, uint8_t **jpg, size_t *len, fg_error *err);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
