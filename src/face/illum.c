/*
 * Light normalisation of a face crop: the slowly varying part of the grey
 * image (the illumination: at half resolution, a normalised box blur of
 * radius about a tenth of the crop, three passes, so close to a Gaussian) is
 * divided out partially,
 *
 *     out = in * (T / L(x))^alpha,   T = the mean of L over the crop,
 *
 * with the gain clamped to [1/4, MAX_GAIN], and a face darker than DARK_BELOW
 * is scaled as a whole to a mean of DARK_LIFT (fg__face_light_plan says how
 * much of each a crop gets, from its unevenness). A face shaded by side light
 * or lit from above gets its dark half lifted towards the bright one; an
 * evenly lit face is nearly unchanged (L is then nearly flat). Pixels that
 * are exactly 0 in every channel (the warp's fill outside the image) are
 * left out of L and stay 0. Reflectance times shading is what a camera
 * records, so dividing by a smooth shading estimate is the textbook
 * correction (the self-quotient image, retinex); alpha < 1 keeps part of
 * the natural shading the recognition model was trained with.
 * docs/pipeline.md ("Robustness") has the measurements behind alpha.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/face_internal.h"

#define MAX_GAIN 8.f
#define UNEVEN_FROM 0.3f /* no correction below this unevenness ... */
#define UNEVEN_FULL 0.5f /* ... the full alpha above this */
#define DARK_BELOW 70.f   /* a face darker than this (mean grey) ... */
#define DARK_LIFT 100.f   /* ... is scaled up to this */

/* In-place box blur of a w x h float plane (radius r, edges clamped). */
static void box_blur(float *p, float *tmp, int w, int h, int r) {
  for (int y = 0; y < h; y++) {
    float *row = p + (size_t)y * w;
    double s = 0;
    for (int x = -r; x <= r; x++) s += row[x < 0 ? 0 : x >= w ? w - 1 : x];
    for (int x = 0; x < w; x++) {
      tmp[x] = (float)(s / (2 * r + 1));
      int xa = x + r + 1, xr = x - r;
      s += row[xa >= w ? w - 1 : xa] - row[xr < 0 ? 0 : xr];
    }
    memcpy(row, tmp, (size_t)w * sizeof *tmp);
  }
  for (int x = 0; x < w; x++) {
    double s = 0;
    for (int y = -r; y <= r; y++) s += p[(size_t)(y < 0 ? 0 : y >= h ? h - 1 : y) * w + x];
    for (int y = 0; y < h; y++) {
      tmp[y] = (float)(s / (2 * r + 1));
      int ya = y + r + 1, yr = y - r;
      s += p[(size_t)(ya >= h ? h - 1 : ya) * w + x] - p[(size_t)(yr < 0 ? 0 : yr) * w + x];
    }
    for (int y = 0; y < h; y++) p[(size_t)y * w + x] = tmp[y];
  }
}

/* The illumination estimate of im, at half resolution (it is smooth): for the
 * 2x2 block of pixel (x, y), lum / mask is the smooth grey level (mask: the
 * blurred share of pixels inside the image; NULL when all are). */
typedef struct illum {
  float *lum, *mask, *tmp;
  int lw, lh, any;
} illum;

static void illum_release(illum *il) { free(il->lum), free(il->mask), free(il->tmp); }

static int is_fill(const uint8_t *p, int C) { return C == 3 ? (p[0] | p[1] | p[2]) == 0 : p[0] == 0; }

/* The smooth grey level at pixel (x, y); -1 where the estimate has no support. */
static float level(const illum *il, int x, int y) {
  size_t i = (size_t)(y / 2) * il->lw + x / 2;
  if (!il->mask) return il->lum[i];
  return il->mask[i] > 1e-3f ? il->lum[i] / il->mask[i] : -1.f;
}

static int illum_estimate(const fg_image *im, illum *il, fg_error *err) {
  const int w = im->width, h = im->height, C = im->channels, lw = (w + 1) / 2, lh = (h + 1) / 2;
  const size_t n = (size_t)lw * lh;
  il->lw = lw, il->lh = lh, il->any = 0;
  il->lum = calloc(n, sizeof *il->lum), il->mask = calloc(n, sizeof *il->mask);
  il->tmp = malloc((size_t)(lw > lh ? lw : lh) * sizeof *il->tmp);
  if (!il->lum || !il->mask || !il->tmp) {
    illum_release(il);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  int fill = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const uint8_t *p = im->data + ((size_t)y * w + x) * C;
      size_t i = (size_t)(y / 2) * lw + x / 2;
      if (is_fill(p, C)) {
        fill = 1;
        continue;
      }
      il->mask[i] += 0.25f;
      il->lum[i] += 0.25f * (float)(C == 3 ? (77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8 : p[0]);
      il->any = 1;
    }
  /* Odd edges: the last column or row holds fewer than 4 pixels. */
  if ((w & 1) || (h & 1))
    for (int y = 0; y < lh; y++)
      for (int x = 0; x < lw; x++) {
        int cw = (x == lw - 1 && (w & 1)) ? 1 : 2, ch = (y == lh - 1 && (h & 1)) ? 1 : 2;
        float k = 4.f / (float)(cw * ch);
        il->mask[(size_t)y * lw + x] *= k, il->lum[(size_t)y * lw + x] *= k;
      }
  int r = (w + h) / 40;
  if (r < 1) r = 1;
  for (int pass = 0; pass < 3; pass++) box_blur(il->lum, il->tmp, lw, lh, r);
  if (fill) {
    for (int pass = 0; pass < 3; pass++) box_blur(il->mask, il->tmp, lw, lh, r);
  } else {
    free(il->mask);
    il->mask = NULL;
  }
  return FG_OK;
}

/* (q90 - q10) / (q90 + q10) of the illumination over the rectangle, the
 * quantiles from a 256-bin histogram (the illumination is a grey level); and
 * into *shadow (if not NULL) the share of the rectangle in deep shadow: lit
 * less than SHADOW_BELOW of its q90. */
#define SHADOW_BELOW 0.3f
static float unevenness(const fg_image *im, const illum *il, const int rect[4], float *shadow) {
  int x0 = rect[0] < 0 ? 0 : rect[0], y0 = rect[1] < 0 ? 0 : rect[1];
  int x1 = rect[2] > im->width ? im->width : rect[2], y1 = rect[3] > im->height ? im->height : rect[3];
  unsigned hist[256] = {0};
  size_t k = 0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) {
      if (il->mask && il->mask[(size_t)(y / 2) * il->lw + x / 2] <= 0.5f) continue;
      int b = (int)level(il, x, y);
      hist[b < 0 ? 0 : b > 255 ? 255 : b]++;
      k++;
    }
  if (shadow) *shadow = 0;
  if (k <= 10) return 0;
  size_t lo_n = k / 10, hi_n = k - 1 - k / 10, c = 0;
  int lo = -1, hi = 255;
  for (int b = 0; b < 256; b++) {
    c += hist[b];
    if (lo < 0 && c > lo_n) lo = b;
    if (c > hi_n) {
      hi = b;
      break;
    }
  }
  float l = lo + 0.5f, h = hi + 0.5f;
  if (shadow) {
    size_t deep = 0;
    for (int b = 0; b < 256 && b + 0.5f < SHADOW_BELOW * h; b++) deep += hist[b];
    *shadow = (float)deep / (float)k;
  }
  return (h - l) / fmaxf(h + l, 1);
}

int fg__face_light_unevenness(const fg_image *im, const int rect[4], float *u, float *shadow, fg_error *err) {
  illum il;
  *u = 0;
  if (shadow) *shadow = 0;
  int rc = illum_estimate(im, &il, err);
  if (rc) return rc;
  if (il.any) *u = unevenness(im, &il, rect, shadow);
  illum_release(&il);
  return FG_OK;
}

int fg__face_light_normalise(fg_image *im, float alpha, float dark_lift, fg_error *err) {
  if (!(alpha > 0) && !(dark_lift > 0)) return FG_OK;
  illum il;
  int rc = illum_estimate(im, &il, err);
  if (rc || !il.any) {
    if (!rc) illum_release(&il);
    return rc;
  }
  const int C = im->channels;
  double target = 0, tn = 0;
  for (int y = 0; y < il.lh; y++)
    for (int x = 0; x < il.lw; x++) {
      float l = level(&il, 2 * x, 2 * y);
      if (l >= 0 && (!il.mask || il.mask[(size_t)y * il.lw + x] > 0.5f)) target += l, tn++;
    }
  target = tn > 0 ? target / tn : 128;
  /* A dark face is lifted as a whole to dark_lift. */
  double global = dark_lift > 0 && target < dark_lift ? fmin(dark_lift / fmax(target, 1), MAX_GAIN) : 1;
  for (int y = 0; y < im->height; y++)
    for (int x = 0; x < im->width; x++) {
      uint8_t *p = im->data + ((size_t)y * im->width + x) * C;
      if (is_fill(p, C)) continue;
      double l = level(&il, x, y);
      if (l < 0) l = target;
      double g = (alpha > 0 ? pow(target / fmax(l, 1), alpha) : 1) * global;
      if (g > MAX_GAIN) g = MAX_GAIN;
      if (g < 0.25) g = 0.25;
      for (int k = 0; k < C; k++) {
        double v = p[k] * g;
        p[k] = v >= 255 ? 255 : (uint8_t)(v + 0.5);
      }
    }
  illum_release(&il);
  return FG_OK;
}

void fg__face_light_plan(float max_alpha, float u, float mean, float *alpha, float *lift) {
  float t = (u - UNEVEN_FROM) / (UNEVEN_FULL - UNEVEN_FROM);
  *alpha = max_alpha * (t < 0 ? 0 : t > 1 ? 1 : t);
  *lift = max_alpha > 0 && mean < DARK_BELOW ? DARK_LIFT : 0;
}
