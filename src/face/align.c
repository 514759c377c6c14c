/*
 * Alignment: the least-squares similarity (Umeyama's closed form without
 * reflection) taking the 5 facial points onto the template, and the bilinear
 * warp that produces the recognition model's input crop.
 */
#include <math.h>

#include "face/face_internal.h"

int fg_face_similarity(const float *src, const float *dst, int n, float m[6]) {
  if (n < 2) return FG_EINVAL;
  double sx = 0, sy = 0, dx = 0, dy = 0;
  for (int i = 0; i < n; i++) {
    sx += src[2 * i], sy += src[2 * i + 1];
    dx += dst[2 * i], dy += dst[2 * i + 1];
  }
  sx /= n, sy /= n, dx /= n, dy /= n;
  double a = 0, b = 0, var = 0;
  for (int i = 0; i < n; i++) {
    double px = src[2 * i] - sx, py = src[2 * i + 1] - sy;
    double qx = dst[2 * i] - dx, qy = dst[2 * i + 1] - dy;
    a += px * qx + py * qy;
    b += px * qy - py * qx;
    var += px * px + py * py;
  }
  if (!(var > 1e-12)) return FG_EINVAL;
  a /= var, b /= var;
  m[0] = (float)a, m[1] = (float)-b, m[2] = (float)(dx - a * sx + b * sy);
  m[3] = (float)b, m[4] = (float)a, m[5] = (float)(dy - b * sx - a * sy);
  return FG_OK;
}

int fg_face_align(const fg_image *img, const float p5[10], const float tmpl[10], int w, int h,
                  fg_image *out, float m[6], fg_error *err) {
  float sim[6], inv[6];
  *out = (fg_image){0};
  if (fg_face_similarity(p5, tmpl, 5, sim) || fg_image_affine_invert(sim, inv))
    return fg__seterr(err, FG_EINVAL, "align: degenerate landmarks");
  if (m)
    for (int i = 0; i < 6; i++) m[i] = sim[i];
  if (img->channels == 3) return fg_image_warp_affine(img, inv, w, h, FG_IMAGE_BORDER_ZERO, out, err);
  fg_image g = {0};
  int rc = fg_image_warp_affine(img, inv, w, h, FG_IMAGE_BORDER_ZERO, &g, err);
  if (!rc) rc = fg_image_to_rgb(&g, out, err);
  fg_image_release(&g);
  return rc;
}
