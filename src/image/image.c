/*
 * The image module's front door: fg_image allocation, format sniffing, limits,
 * EXIF orientation, and the decode entry points that dispatch to the
 * per-format decoders (jpeg.c, png.c, j2k.c, pnm.c) and unwrap DG2 (dg2.c).
 *
 * Every decoder returns pixels in the stored orientation with 1 or 3 channels;
 * this file then applies the EXIF orientation and expands grey to RGB unless
 * the caller asked to keep grey, so each format gets the same treatment.
 */
#include <stdlib.h>
#include <string.h>

#include "facegate/dg2.h"
#include "image/image_internal.h"

void fg__image_limits_resolve(const fg_image_limits *in, fg_image_limits *out) {
  fg_image_limits l = {0};
  if (in) l = *in;
  if (l.max_bytes == 0) l.max_bytes = FG_IMAGE_DEFAULT_MAX_BYTES;
  if (l.max_pixels == 0) l.max_pixels = FG_IMAGE_DEFAULT_MAX_PIXELS;
  *out = l;
}

int fg__image_check_dims(uint64_t w, uint64_t h, const fg_image_limits *lim, const char *what,
                         fg_error *err) {
  if (w == 0 || h == 0)
    return fg__seterr(err, FG_EFORMAT, "%s: zero-sized image (%llux%llu)", what,
                      (unsigned long long)w, (unsigned long long)h);
  if (w > INT32_MAX / 4 || h > INT32_MAX / 4 || w * h > lim->max_pixels)
    return fg__seterr(err, FG_ELIMIT, "%s: %llux%llu pixels exceeds the limit of %llu pixels",
                      what, (unsigned long long)w, (unsigned long long)h,
                      (unsigned long long)lim->max_pixels);
  return FG_OK;
}

int fg__image_alloc(fg_image *img, int w, int h, int channels, fg_error *err) {
  memset(img, 0, sizeof *img);
  size_t n;
  if (w <= 0 || h <= 0 || (channels != 1 && channels != 3))
    return fg__seterr(err, FG_EINVAL, "image %dx%dx%d: invalid size or channel count", w, h,
                      channels);
  if (fg__mul_size((size_t)w, (size_t)h, &n) || fg__mul_size(n, (size_t)channels, &n))
    return fg__seterr(err, FG_ELIMIT, "image %dx%dx%d: size overflows", w, h, channels);
  img->data = malloc(n);
  if (!img->data) return fg__seterr(err, FG_ENOMEM, "image %dx%d: out of memory", w, h);
  img->width = w;
  img->height = h;
  img->channels = channels;
  return FG_OK;
}

int fg_image_init(fg_image *img, int width, int height, int channels, fg_error *err) {
  if (!img) return fg__seterr(err, FG_EINVAL, "fg_image_init: NULL image");
  int rc = fg__image_alloc(img, width, height, channels, err);
  if (rc) return rc;
  memset(img->data, 0, (size_t)width * (size_t)height * (size_t)channels);
  return FG_OK;
}

void fg_image_release(fg_image *img) {
  if (!img) return;
  free(img->data);
  memset(img, 0, sizeof *img);
}

/* ---- formats ----------------------------------------------------------------- */

static int is_pnm_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

fg_image_format fg_image_sniff(const uint8_t *b, size_t n) {
  static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  static const uint8_t jp2_sig[12] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};
  if (!b) return FG_IMAGE_FORMAT_UNKNOWN;
  if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return FG_IMAGE_FORMAT_JPEG;
  if (n >= 8 && memcmp(b, png_sig, 8) == 0) return FG_IMAGE_FORMAT_PNG;
  if (n >= 4 && b[0] == 0xFF && b[1] == 0x4F && b[2] == 0xFF && b[3] == 0x51)
    return FG_IMAGE_FORMAT_J2K;
  if (n >= 12 && memcmp(b, jp2_sig, 12) == 0) return FG_IMAGE_FORMAT_JP2;
  if (n >= 3 && b[0] == 'P' && (b[1] == '5' || b[1] == '6') && is_pnm_space(b[2]))
    return FG_IMAGE_FORMAT_PNM;
  if (fg_image_is_dg2(b, n)) return FG_IMAGE_FORMAT_DG2;
  return FG_IMAGE_FORMAT_UNKNOWN;
}

const char *fg_image_format_name(fg_image_format fmt) {
  switch (fmt) {
  case FG_IMAGE_FORMAT_JPEG: return "jpeg";
  case FG_IMAGE_FORMAT_PNG: return "png";
  case FG_IMAGE_FORMAT_J2K: return "j2k";
  case FG_IMAGE_FORMAT_JP2: return "jp2";
  case FG_IMAGE_FORMAT_PNM: return "pnm";
  case FG_IMAGE_FORMAT_DG2: return "dg2";
  default: return "unknown";
  }
}

/* ---- orientation --------------------------------------------------------------- */

/* Stored (raw) coordinates of displayed pixel (x, y) for EXIF orientation o,
 * raw image W x H. Orientations 5..8 swap the displayed width and height. */
static inline void orient_src(int o, int W, int H, int x, int y, int *sx, int *sy) {
  switch (o) {
  case 2: *sx = W - 1 - x; *sy = y; break;
  case 3: *sx = W - 1 - x; *sy = H - 1 - y; break;
  case 4: *sx = x; *sy = H - 1 - y; break;
  case 5: *sx = y; *sy = x; break;
  case 6: *sx = y; *sy = H - 1 - x; break;
  case 7: *sx = W - 1 - y; *sy = H - 1 - x; break;
  case 8: *sx = W - 1 - y; *sy = x; break;
  default: *sx = x; *sy = y; break;
  }
}

int fg__image_orient(fg_image *img, int o, fg_error *err) {
  if (o < 2 || o > 8) return FG_OK;
  const int W = img->width, H = img->height, c = img->channels;
  const int dw = o >= 5 ? H : W, dh = o >= 5 ? W : H;
  fg_image t;
  int rc = fg__image_alloc(&t, dw, dh, c, err);
  if (rc) return rc;
  for (int y = 0; y < dh; y++) {
    uint8_t *d = t.data + (size_t)y * dw * c;
    for (int x = 0; x < dw; x++, d += c) {
      int sx, sy;
      orient_src(o, W, H, x, y, &sx, &sy);
      const uint8_t *s = img->data + ((size_t)sy * W + sx) * c;
      for (int k = 0; k < c; k++) d[k] = s[k];
    }
  }
  fg_image_release(img);
  *img = t;
  return FG_OK;
}

void fg__orient_rect_to_raw(int o, int raw_w, int raw_h, int x, int y, int w, int h, int *rx,
                            int *ry, int *rw, int *rh) {
  int ax, ay, bx, by;
  orient_src(o, raw_w, raw_h, x, y, &ax, &ay);
  orient_src(o, raw_w, raw_h, x + w - 1, y + h - 1, &bx, &by);
  *rx = ax < bx ? ax : bx;
  *ry = ay < by ? ay : by;
  *rw = (ax > bx ? ax - bx : bx - ax) + 1;
  *rh = (ay > by ? ay - by : by - ay) + 1;
}

/* Grey to RGB in place (replacing the buffer) unless the caller keeps grey. */
static int finish_channels(fg_image *img, const fg_image_limits *lim, fg_error *err) {
  if (img->channels == 3 || (lim->flags & FG_IMAGE_KEEP_GREY)) return FG_OK;
  fg_image t;
  int rc = fg_image_to_rgb(img, &t, err);
  if (rc) return rc;
  fg_image_release(img);
  *img = t;
  return FG_OK;
}

/* ---- decode entry points ---------------------------------------------------------- */

enum { MODE_FULL, MODE_SCALED, MODE_REGION, MODE_REGION_SCALED };

typedef struct decode_req {
  int mode;
  int max_side;           /* MODE_SCALED */
  int rx, ry, rw, rh;     /* MODE_REGION(_SCALED), displayed coordinates */
  int den;                /* MODE_REGION_SCALED: the DCT factor asked for (1, 2, 4, 8) */
  int ox, oy;             /* MODE_REGION_SCALED: full-size displayed position of out's corner */
  int scale_num, scale_den;
} decode_req;

/* Displayed position of the raw rectangle (x, y, w, h)'s top-left corner
 * after orientation o (raw image W x H). */
static void orient_rect_origin(int o, int W, int H, int x, int y, int w, int h, int *dx, int *dy) {
  switch (o) {
  case 2: *dx = W - x - w; *dy = y; break;
  case 3: *dx = W - x - w; *dy = H - y - h; break;
  case 4: *dx = x; *dy = H - y - h; break;
  case 5: *dx = y; *dy = x; break;
  case 6: *dx = H - y - h; *dy = x; break;
  case 7: *dx = H - y - h; *dy = W - x - w; break;
  case 8: *dx = y; *dy = W - x - w; break;
  default: *dx = x; *dy = y; break;
  }
}

static int decode_region_generic(fg_image *full, const decode_req *q, fg_image *out,
                                 fg_error *err) {
  int rc = fg_image_crop(full, q->rx, q->ry, q->rw, q->rh, out, err);
  fg_image_release(full);
  return rc;
}

static int region_check(int W, int H, const decode_req *q, fg_error *err) {
  if (q->rw <= 0 || q->rh <= 0 || q->rx < 0 || q->ry < 0 || q->rx > W - q->rw ||
      q->ry > H - q->rh)
    return fg__seterr(err, FG_EINVAL, "region %d,%d %dx%d is not inside the %dx%d image", q->rx,
                      q->ry, q->rw, q->rh, W, H);
  return FG_OK;
}

static int decode_jpeg(const uint8_t *buf, size_t len, const fg_image_limits *lim,
                       decode_req *q, fg_image *out, fg_error *err) {
  int o = (lim->flags & FG_IMAGE_IGNORE_EXIF) ? 1 : fg__exif_orientation(buf, len);
  if (o < 1 || o > 8) o = 1;
  int rc;
  if (q->mode == MODE_REGION || q->mode == MODE_REGION_SCALED) {
    int W, H;
    if ((rc = fg__jpeg_probe(buf, len, &W, &H, err))) return rc;
    if ((rc = fg__image_check_dims((uint64_t)W, (uint64_t)H, lim, "jpeg", err))) return rc;
    int dw = o >= 5 ? H : W, dh = o >= 5 ? W : H;
    if ((rc = region_check(dw, dh, q, err))) return rc;
    int x, y, w, h, sx, sy;
    fg__orient_rect_to_raw(o, W, H, q->rx, q->ry, q->rw, q->rh, &x, &y, &w, &h);
    int den = q->mode == MODE_REGION ? 1 : q->den;
    /* A plain region decode reads the whole file, so that damage anywhere is
     * an error; the scaled one stops after the region (see image.h). */
    rc = fg__jpeg_decode_raw_region_scaled(buf, len, lim, x, y, w, h, den, q->mode == MODE_REGION, out, &sx,
                                           &sy, err);
    if (rc) return rc;
    /* The region was cut in the stored orientation: orient the region itself. */
    orient_rect_origin(o, W, H, sx * den, sy * den, out->width * den, out->height * den, &q->ox, &q->oy);
    q->scale_num = 1;
    q->scale_den = den;
  } else {
    rc = fg__jpeg_decode(buf, len, lim, q->mode == MODE_SCALED ? q->max_side : 0, &q->scale_num,
                         &q->scale_den, out, err);
    if (rc) return rc;
  }
  if ((rc = fg__image_orient(out, o, err))) {
    fg_image_release(out);
    return rc;
  }
  return FG_OK;
}

/* Decode one non-DG2 image per the request. */
static int decode_plain(const uint8_t *buf, size_t len, fg_image_format fmt,
                        const fg_image_limits *lim, decode_req *q, fg_image *out,
                        fg_error *err) {
  fg_image full = {0};
  int rc;
  q->scale_num = q->scale_den = 1;
  switch (fmt) {
  case FG_IMAGE_FORMAT_JPEG: return decode_jpeg(buf, len, lim, q, out, err);
  case FG_IMAGE_FORMAT_PNG: rc = fg__png_decode(buf, len, lim, &full, err); break;
  case FG_IMAGE_FORMAT_J2K: rc = fg__j2k_decode(buf, len, 0, lim, &full, err); break;
  case FG_IMAGE_FORMAT_JP2: rc = fg__j2k_decode(buf, len, 1, lim, &full, err); break;
  case FG_IMAGE_FORMAT_PNM: rc = fg__pnm_decode(buf, len, lim, &full, err); break;
  default:
    return fg__seterr(err, FG_EFORMAT, "unknown image format (first bytes not JPEG, PNG, "
                                       "JPEG 2000, PGM/PPM or DG2)");
  }
  if (rc) return rc;
  if (q->mode == MODE_REGION || q->mode == MODE_REGION_SCALED) {
    q->ox = q->rx, q->oy = q->ry;
    if ((rc = region_check(full.width, full.height, q, err))) {
      fg_image_release(&full);
      return rc;
    }
    return decode_region_generic(&full, q, out, err);
  }
  *out = full;
  return FG_OK;
}

static int decode_any(const uint8_t *buf, size_t len, const fg_image_limits *lim_in,
                      decode_req *q, fg_image *out, fg_error *err) {
  if (!out) return fg__seterr(err, FG_EINVAL, "image decode: NULL output");
  memset(out, 0, sizeof *out);
  if (!buf && len) return fg__seterr(err, FG_EINVAL, "image decode: NULL buffer");
  fg_image_limits lim;
  fg__image_limits_resolve(lim_in, &lim);
  if (len == 0) return fg__seterr(err, FG_EFORMAT, "image decode: empty input (0 bytes)");
  if (len > lim.max_bytes)
    return fg__seterr(err, FG_ELIMIT, "image decode: %zu bytes exceeds the limit of %zu", len,
                      lim.max_bytes);
  fg_image_format fmt = fg_image_sniff(buf, len);
  int rc;
  if (fmt == FG_IMAGE_FORMAT_DG2) {
    fg_dg2 *d = NULL;
    if ((rc = fg_dg2_parse(buf, len, &d, err))) return rc;
    const fg_dg2_face *f = fg_dg2_face_at(d, 0);
    fg_image_format inner = fg_image_sniff(f->image, f->image_len);
    if (inner != FG_IMAGE_FORMAT_JPEG && inner != FG_IMAGE_FORMAT_J2K &&
        inner != FG_IMAGE_FORMAT_JP2) {
      fg_dg2_destroy(d);
      return fg__seterr(err, FG_EFORMAT, "dg2: embedded image is neither JPEG nor JPEG 2000");
    }
    rc = decode_plain(f->image, f->image_len, inner, &lim, q, out, err);
    fg_dg2_destroy(d);
    if (rc && err && strncmp(err->msg, "dg2", 3) != 0) fg__err_prefix(err, rc, "dg2: embedded image");
  } else {
    rc = decode_plain(buf, len, fmt, &lim, q, out, err);
  }
  if (rc) return rc;
  if ((rc = finish_channels(out, &lim, err))) {
    fg_image_release(out);
    return rc;
  }
  return FG_OK;
}

int fg_image_decode(const uint8_t *buf, size_t len, const fg_image_limits *lim, fg_image *out,
                    fg_error *err) {
  decode_req q = {.mode = MODE_FULL};
  return decode_any(buf, len, lim, &q, out, err);
}

int fg_image_decode_jpeg_scaled(const uint8_t *buf, size_t len, const fg_image_limits *lim,
                                int max_side, fg_image *out, int *scale_num, int *scale_den,
                                fg_error *err) {
  decode_req q = {.mode = MODE_SCALED, .max_side = max_side > 0 ? max_side : 0};
  int rc = decode_any(buf, len, lim, &q, out, err);
  if (scale_num) *scale_num = rc ? 0 : q.scale_num;
  if (scale_den) *scale_den = rc ? 0 : q.scale_den;
  return rc;
}

int fg_image_decode_region(const uint8_t *buf, size_t len, const fg_image_limits *lim, int x,
                           int y, int w, int h, fg_image *out, fg_error *err) {
  decode_req q = {.mode = MODE_REGION, .rx = x, .ry = y, .rw = w, .rh = h};
  return decode_any(buf, len, lim, &q, out, err);
}

int fg__image_decode_region_scaled(const uint8_t *buf, size_t len, const fg_image_limits *lim, int x, int y,
                                   int w, int h, int den, fg_image *out, int *ox, int *oy, int *out_den,
                                   fg_error *err) {
  if (den != 1 && den != 2 && den != 4 && den != 8) {
    if (out) memset(out, 0, sizeof *out);
    return fg__seterr(err, FG_EINVAL, "region decode: scale 1/%d (1, 2, 4 or 8)", den);
  }
  decode_req q = {.mode = MODE_REGION_SCALED, .rx = x, .ry = y, .rw = w, .rh = h, .den = den};
  int rc = decode_any(buf, len, lim, &q, out, err);
  *ox = rc ? 0 : q.ox;
  *oy = rc ? 0 : q.oy;
  *out_den = rc ? 0 : q.scale_den;
  return rc;
}

int fg_image_decode_file(const char *path, const fg_image_limits *lim_in, fg_image *out,
                         fg_error *err) {
  if (out) memset(out, 0, sizeof *out);
  if (!path || !out) return fg__seterr(err, FG_EINVAL, "fg_image_decode_file: NULL argument");
  fg_image_limits lim;
  fg__image_limits_resolve(lim_in, &lim);
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = fg__read_file(path, lim.max_bytes, &data, &len, err);
  if (rc) return rc;
  rc = fg_image_decode(data, len, &lim, out, err);
  free(data);
  return rc ? fg__err_prefix(err, rc, "%s", path) : FG_OK;
}
