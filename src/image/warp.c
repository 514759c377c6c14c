/*
 * Affine warp with bilinear sampling, used to cut aligned 112x112 faces (and
 * padded crops) out of a frame. The matrix maps destination pixels to source
 * positions; pixel centres sit on integer coordinates; the border is either
 * zero or the replicated edge. In float: the outputs are small (a face crop),
 * and the identity or an integer translation reproduces pixels exactly.
 */
#include <math.h>
#include <string.h>

#include "image/image_internal.h"

int fg_image_affine_invert(const float m[6], float inv[6]) {
  if (!m || !inv) return FG_EINVAL;
  double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5];
  double det = a * e - b * d;
  if (!isfinite(det) || fabs(det) < 1e-12) return FG_EINVAL;
  double ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  inv[0] = (float)ia;
  inv[1] = (float)ib;
  inv[2] = (float)(-(ia * c + ib * f));
  inv[3] = (float)id;
  inv[4] = (float)ie;
  inv[5] = (float)(-(id * c + ie * f));
  return FG_OK;
}

int fg_image_warp_affine(const fg_image *src, const float m[6], int dw, int dh,
                         fg_image_border border, fg_image *out, fg_error *err) {
  if (out && out != src) memset(out, 0, sizeof *out);
  if (!src || !m || !out || src == out)
    return fg__seterr(err, FG_EINVAL, "fg_image_warp_affine: bad arguments");
  if (!src->data || src->width <= 0 || src->height <= 0 ||
      (src->channels != 1 && src->channels != 3))
    return fg__seterr(err, FG_EINVAL, "fg_image_warp_affine: invalid source image");
  for (int i = 0; i < 6; i++)
    if (!isfinite(m[i])) return fg__seterr(err, FG_EINVAL, "fg_image_warp_affine: non-finite matrix");
  if (border != FG_IMAGE_BORDER_ZERO && border != FG_IMAGE_BORDER_REPLICATE)
    return fg__seterr(err, FG_EINVAL, "fg_image_warp_affine: unknown border mode %d", border);
  int rc = fg__image_alloc(out, dw, dh, src->channels, err);
  if (rc) return rc;
  const int sw = src->width, sh = src->height, c = src->channels;
  const int replicate = border == FG_IMAGE_BORDER_REPLICATE;
  const uint8_t *S = src->data;
  uint8_t *d = out->data;
  for (int y = 0; y < dh; y++) {
    for (int x = 0; x < dw; x++, d += c) {
      float sx = m[0] * x + m[1] * y + m[2], sy = m[3] * x + m[4] * y + m[5];
      /* keep far-away positions in int range; they are outside either way */
      if (sx < -2.0f) sx = -2.0f;
      if (sx > sw + 1.0f) sx = sw + 1.0f;
      if (sy < -2.0f) sy = -2.0f;
      if (sy > sh + 1.0f) sy = sh + 1.0f;
      float fx0 = floorf(sx), fy0 = floorf(sy);
      int x0 = (int)fx0, y0 = (int)fy0, x1 = x0 + 1, y1 = y0 + 1;
      float fx = sx - fx0, fy = sy - fy0;
      if (x0 >= 0 && x1 < sw && y0 >= 0 && y1 < sh) {
        const uint8_t *p00 = S + ((size_t)y0 * sw + x0) * c, *p10 = p00 + (size_t)sw * c;
        for (int k = 0; k < c; k++) {
          float t = p00[k] + fx * (p00[k + c] - p00[k]);
          float b = p10[k] + fx * (p10[k + c] - p10[k]);
          float v = t + fy * (b - t) + 0.5f;
          d[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
        continue;
      }
      /* border path: fetch each neighbour separately */
      int xs[2] = {x0, x1}, ys[2] = {y0, y1};
      const uint8_t *p[2][2];
      for (int j = 0; j < 2; j++)
        for (int i = 0; i < 2; i++) {
          int xi = xs[i], yj = ys[j];
          if (replicate) {
            xi = xi < 0 ? 0 : xi >= sw ? sw - 1 : xi;
            yj = yj < 0 ? 0 : yj >= sh ? sh - 1 : yj;
            p[j][i] = S + ((size_t)yj * sw + xi) * c;
          } else {
            p[j][i] = (xi < 0 || xi >= sw || yj < 0 || yj >= sh)
                          ? NULL
                          : S + ((size_t)yj * sw + xi) * c;
          }
        }
      for (int k = 0; k < c; k++) {
        float v00 = p[0][0] ? p[0][0][k] : 0, v01 = p[0][1] ? p[0][1][k] : 0;
        float v10 = p[1][0] ? p[1][0][k] : 0, v11 = p[1][1] ? p[1][1][k] : 0;
        float t = v00 + fx * (v01 - v00), b = v10 + fx * (v11 - v10);
        float v = t + fy * (b - t) + 0.5f;
        d[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
    }
  }
  return FG_OK;
}
