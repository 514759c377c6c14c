/*
 * Simple whole-image operations: crop, grey/RGB conversion, horizontal flip.
 * Each allocates a new image for its result and never touches the source.
 */
#include <string.h>

#include "image/image_internal.h"

static int check_src(const fg_image *s, const fg_image *out, const char *fn, fg_error *err) {
  if (!s || !out) return fg__seterr(err, FG_EINVAL, "%s: NULL argument", fn);
  if (s == out) return fg__seterr(err, FG_EINVAL, "%s: output aliases the source", fn);
  if (!s->data || s->width <= 0 || s->height <= 0 || (s->channels != 1 && s->channels != 3))
    return fg__seterr(err, FG_EINVAL, "%s: invalid source image %dx%dx%d", fn, s->width,
                      s->height, s->channels);
  return FG_OK;
}

int fg_image_crop(const fg_image *src, int x, int y, int w, int h, fg_image *out,
                  fg_error *err) {
  int rc = check_src(src, out, "fg_image_crop", err);
  if (rc) {
    if (out && out != src) memset(out, 0, sizeof *out);
    return rc;
  }
  memset(out, 0, sizeof *out);
  if (w <= 0 || h <= 0 || x < 0 || y < 0 || x > src->width - w || y > src->height - h)
    return fg__seterr(err, FG_EINVAL, "crop %d,%d %dx%d is not inside the %dx%d image", x, y, w,
                      h, src->width, src->height);
  const int c = src->channels;
  if ((rc = fg__image_alloc(out, w, h, c, err))) return rc;
  for (int r = 0; r < h; r++)
    memcpy(out->data + (size_t)r * w * c, src->data + ((size_t)(y + r) * src->width + x) * c,
           (size_t)w * c);
  return FG_OK;
}

int fg_image_to_grey(const fg_image *src, fg_image *out, fg_error *err) {
  int rc = check_src(src, out, "fg_image_to_grey", err);
  if (rc) {
    if (out && out != src) memset(out, 0, sizeof *out);
    return rc;
  }
  if ((rc = fg__image_alloc(out, src->width, src->height, 1, err))) return rc;
  size_t n = (size_t)src->width * src->height;
  if (src->channels == 1) {
    memcpy(out->data, src->data, n);
    return FG_OK;
  }
  const uint8_t *s = src->data;
  for (size_t i = 0; i < n; i++, s += 3)
    out->data[i] = (uint8_t)((77u * s[0] + 150u * s[1] + 29u * s[2] + 128u) >> 8);
  return FG_OK;
}

int fg_image_to_rgb(const fg_image *src, fg_image *out, fg_error *err) {
  int rc = check_src(src, out, "fg_image_to_rgb", err);
  if (rc) {
    if (out && out != src) memset(out, 0, sizeof *out);
    return rc;
  }
  if ((rc = fg__image_alloc(out, src->width, src->height, 3, err))) return rc;
  size_t n = (size_t)src->width * src->height;
  if (src->channels == 3) {
    memcpy(out->data, src->data, n * 3);
    return FG_OK;
  }
  uint8_t *d = out->data;
  for (size_t i = 0; i < n; i++, d += 3) d[0] = d[1] = d[2] = src->data[i];
  return FG_OK;
}

int fg_image_flip_horizontal(const fg_image *src, fg_image *out, fg_error *err) {
  int rc = check_src(src, out, "fg_image_flip_horizontal", err);
  if (rc) {
    if (out && out != src) memset(out, 0, sizeof *out);
    return rc;
  }
  const int w = src->width, h = src->height, c = src->channels;
  if ((rc = fg__image_alloc(out, w, h, c, err))) return rc;
  for (int y = 0; y < h; y++) {
    const uint8_t *s = src->data + (size_t)y * w * c;
    uint8_t *d = out->data + (size_t)y * w * c + (size_t)(w - 1) * c;
    for (int x = 0; x < w; x++, s += c, d -= c)
      for (int k = 0; k < c; k++) d[k] = s[k];
  }
  return FG_OK;
}
