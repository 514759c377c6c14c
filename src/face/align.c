/*
 * Alignment: the least-squares similarity (Umeyama's closed form without
 * reflection) taking the 5 facial points (or, with align_points, more of the
 * 68) onto the template, and the bilinear warp that produces the recognition
 * model's input crop.
 */
#include <math.h>
#include <string.h>

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

const float fg__arcface_5[10] = {38.2946f, 51.6963f, 73.5318f, 51.5014f, 56.0252f,
                                 71.7366f, 41.5493f, 92.3655f, 70.7299f, 92.2041f};

/* The mean 68-point shape (iBUG order) in the ArcFace 112x112 crop: the mean
 * over the 1906 devset faces of each point mapped by the default pipeline's
 * 5-point similarity onto fg__arcface_5 (`facegate devset --dump-landmarks`),
 * i.e. where the 5-point alignment puts each point on average. Its own
 * 5-point summary lies within 1.1 px of the ArcFace points. */
static const float mean68[136] = {
    17.14f, 51.61f, 17.62f, 64.46f, 18.57f, 76.94f, 20.24f, 89.19f, 23.88f, 100.35f, 30.11f, 109.29f,
    38.18f, 116.05f, 46.71f, 121.60f, 56.11f, 123.15f, 65.49f, 121.48f, 73.96f, 115.82f, 81.92f, 108.92f,
    88.09f, 99.75f, 91.80f, 88.48f, 93.59f, 76.09f, 94.71f, 63.59f, 95.30f, 50.75f, 24.61f, 43.95f,
    29.83f, 38.76f, 36.71f, 37.69f, 43.66f, 39.26f, 50.22f, 42.66f, 61.69f, 42.60f, 68.36f, 39.19f,
    75.40f, 37.62f, 82.29f, 38.67f, 87.54f, 43.74f, 55.92f, 50.14f, 55.96f, 57.37f, 55.98f, 64.55f,
    56.00f, 72.06f, 47.73f, 78.18f, 51.73f, 79.74f, 55.99f, 81.22f, 60.26f, 79.69f, 64.30f, 78.10f,
    32.47f, 51.91f, 36.73f, 49.55f, 41.44f, 49.48f, 45.80f, 52.97f, 41.20f, 53.77f, 36.49f, 53.74f,
    66.12f, 52.83f, 70.46f, 49.27f, 75.16f, 49.28f, 79.47f, 51.54f, 75.39f, 53.40f, 70.66f, 53.53f,
    40.15f, 92.07f, 46.27f, 89.36f, 52.06f, 87.88f, 56.04f, 89.08f, 60.02f, 87.78f, 65.90f, 89.19f,
    72.08f, 91.82f, 66.10f, 98.15f, 60.35f, 100.74f, 56.06f, 101.19f, 51.76f, 100.80f, 46.08f, 98.28f,
    42.43f, 92.52f, 51.95f, 91.99f, 56.02f, 92.51f, 60.07f, 91.92f, 69.78f, 92.28f, 60.18f, 94.59f,
    56.07f, 95.18f, 51.94f, 94.65f};

static const int stable_idx[23] = {36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
                                   27, 28, 29, 30, 31, 32, 33, 34, 35, 48, 54};

void fg__face_template68(const float tmpl5[10], float out[136]) {
  float m[6];
  if (fg_face_similarity(fg__arcface_5, tmpl5, 5, m)) {
    memcpy(out, mean68, sizeof mean68);
    return;
  }
  for (int i = 0; i < 68; i++)
    out[2 * i] = m[0] * mean68[2 * i] + m[1] * mean68[2 * i + 1] + m[2],
    out[2 * i + 1] = m[3] * mean68[2 * i] + m[4] * mean68[2 * i + 1] + m[5];
}

int fg__face_align_points(fg_align_points rule, const float lm[136], const float p5[10], const float tmpl5[10],
                          const float tmpl68[136], float *src, float *dst) {
  if (rule == FG_ALIGN_POINTS5) {
    memcpy(src, p5, 10 * sizeof *src);
    memcpy(dst, tmpl5, 10 * sizeof *dst);
    return 5;
  }
  int n = 0;
  for (int k = 0; k < (rule == FG_ALIGN_STABLE ? 23 : 51); k++, n++) {
    int i = rule == FG_ALIGN_STABLE ? stable_idx[k] : 17 + k;
    src[2 * n] = lm[2 * i], src[2 * n + 1] = lm[2 * i + 1];
    dst[2 * n] = tmpl68[2 * i], dst[2 * n + 1] = tmpl68[2 * i + 1];
  }
  return n;
}

int fg__face_warp(const fg_image *img, const float sim[6], int w, int h, fg_image *out, fg_error *err) {
  float inv[6];
  *out = (fg_image){0};
  if (fg_image_affine_invert(sim, inv)) return fg__seterr(err, FG_EINVAL, "align: degenerate landmarks");
  if (img->channels == 3) return fg_image_warp_affine(img, inv, w, h, FG_IMAGE_BORDER_ZERO, out, err);
  fg_image g = {0};
  int rc = fg_image_warp_affine(img, inv, w, h, FG_IMAGE_BORDER_ZERO, &g, err);
  if (!rc) rc = fg_image_to_rgb(&g, out, err);
  fg_image_release(&g);
  return rc;
}

int fg_face_align(const fg_image *img, const float p5[10], const float tmpl[10], int w, int h,
                  fg_image *out, float m[6], fg_error *err) {
  float sim[6];
  *out = (fg_image){0};
  if (fg_face_similarity(p5, tmpl, 5, sim)) return fg__seterr(err, FG_EINVAL, "align: degenerate landmarks");
  if (m)
    for (int i = 0; i < 6; i++) m[i] = sim[i];
  return fg__face_warp(img, sim, w, h, out, err);
}
