/*
 * Resizing: bilinear (fixed point, pixel centres aligned as OpenCV's
 * INTER_LINEAR) for small changes and enlargements, and area averaging for
 * reductions (each output pixel the weighted mean of the source area it
 * covers, as OpenCV's INTER_AREA), which avoids the aliasing bilinear shows
 * when a gate camera frame is shrunk to detector size.
 */
#include <stdlib.h>
#include <string.h>

#include "image/image_internal.h"

#define WBITS 11
#define WONE (1 << WBITS)

static int check_args(const fg_image *s, int dw, int dh, fg_image *out, const char *fn,
                      fg_error *err) {
  if (out && out != s) memset(out, 0, sizeof *out);
  if (!s || !out || s == out) return fg__seterr(err, FG_EINVAL, "%s: bad arguments", fn);
  if (!s->data || s->width <= 0 || s->height <= 0 || (s->channels != 1 && s->channels != 3))
    return fg__seterr(err, FG_EINVAL, "%s: invalid source image", fn);
  if (dw <= 0 || dh <= 0 || dw > INT32_MAX / 4 || dh > INT32_MAX / 4)
    return fg__seterr(err, FG_EINVAL, "%s: invalid output size %dx%d", fn, dw, dh);
  return FG_OK;
}

/* Source index pair and weight of the second for each output coordinate. */
static void bilinear_table(int sn, int dn, int *i0, int *i1, int *wt) {
  const double sc = (double)sn / dn;
  for (int d = 0; d < dn; d++) {
    double f = (d + 0.5) * sc - 0.5;
    if (f < 0) f = 0;
    int a = (int)f;
    if (a >= sn - 1) {
      i0[d] = i1[d] = sn - 1;
      wt[d] = 0;
    } else {
      i0[d] = a;
      i1[d] = a + 1;
      wt[d] = (int)((f - a) * WONE + 0.5);
    }
  }
}

static inline void bilinear_rows(const uint8_t *r0, const uint8_t *r1, uint8_t *d, int dw,
                                 int c, const int *x0, const int *x1, const int *wx, int wy) {
  for (int x = 0; x < dw; x++) {
    const int a0 = x0[x] * c, a1 = x1[x] * c, w1 = wx[x], w0 = WONE - w1;
    for (int k = 0; k < c; k++) {
      int top = r0[a0 + k] * w0 + r0[a1 + k] * w1;
      int bot = r1[a0 + k] * w0 + r1[a1 + k] * w1;
      d[x * c + k] = (uint8_t)((top * (WONE - wy) + bot * wy + (1 << (2 * WBITS - 1))) >>
                               (2 * WBITS));
    }
  }
}

int fg_image_resize_bilinear(const fg_image *src, int dw, int dh, fg_image *out,
                             fg_error *err) {
  int rc = check_args(src, dw, dh, out, "fg_image_resize_bilinear", err);
  if (rc) return rc;
  const int sw = src->width, sh = src->height, c = src->channels;
  int *tab = malloc(sizeof(int) * ((size_t)dw * 3 + (size_t)dh * 3));
  if (!tab) return fg__seterr(err, FG_ENOMEM, "resize: out of memory");
  if ((rc = fg__image_alloc(out, dw, dh, c, err))) {
    free(tab);
    return rc;
  }
  int *x0 = tab, *x1 = x0 + dw, *wx = x1 + dw, *y0 = wx + dw, *y1 = y0 + dh, *wy = y1 + dh;
  bilinear_table(sw, dw, x0, x1, wx);
  bilinear_table(sh, dh, y0, y1, wy);
  const size_t sstride = (size_t)sw * c;
  for (int y = 0; y < dh; y++) {
    const uint8_t *r0 = src->data + y0[y] * sstride, *r1 = src->data + y1[y] * sstride;
    uint8_t *d = out->data + (size_t)y * dw * c;
    if (c == 3) bilinear_rows(r0, r1, d, dw, 3, x0, x1, wx, wy[y]);
    else bilinear_rows(r0, r1, d, dw, 1, x0, x1, wx, wy[y]);
  }
  free(tab);
  return FG_OK;
}

/* Area weights for reducing sn to dn (sn >= dn): output d covers source
 * [d*s, (d+1)*s) with s = sn/dn; first[d] is its first source index, cnt[d]
 * how many, and w[off[d] .. off[d]+cnt[d]) their weights (summing to 1). */
typedef struct area_tab {
  int *first, *cnt, *off;
  float *w;
} area_tab;

static int area_table(int sn, int dn, area_tab *t) {
  const double s = (double)sn / dn;
  const int maxc = (int)s + 2;
  t->first = malloc(sizeof(int) * (size_t)dn * 3);
  t->w = malloc(sizeof(float) * (size_t)dn * (size_t)maxc);
  if (!t->first || !t->w) return -1;
  t->cnt = t->first + dn;
  t->off = t->cnt + dn;
  int off = 0;
  for (int d = 0; d < dn; d++) {
    double a = d * s, b = (d + 1) * s;
    if (b > sn) b = sn;
    int i = (int)a, n = 0;
    t->first[d] = i;
    t->off[d] = off;
    for (; i < sn && i < b && n < maxc; i++, n++) {
      double lo = a > i ? a : i, hi = b < i + 1 ? b : i + 1;
      t->w[off + n] = (float)((hi - lo) / s);
    }
    t->cnt[d] = n;
    off += n;
  }
  return 0;
}

int fg_image_resize_area(const fg_image *src, int dw, int dh, fg_image *out, fg_error *err) {
  int rc = check_args(src, dw, dh, out, "fg_image_resize_area", err);
  if (rc) return rc;
  const int sw = src->width, sh = src->height, c = src->channels;
  if (dw > sw || dh > sh) return fg_image_resize_bilinear(src, dw, dh, out, err);
  area_tab tx = {0}, ty = {0};
  float *acc = malloc(sizeof(float) * (size_t)dw * c * 2);
  if (!acc || area_table(sw, dw, &tx) || area_table(sh, dh, &ty)) {
    rc = fg__seterr(err, FG_ENOMEM, "resize: out of memory");
    goto done;
  }
  if ((rc = fg__image_alloc(out, dw, dh, c, err))) goto done;
  float *hrow = acc + (size_t)dw * c;
  for (int y = 0; y < dh; y++) {
    memset(acc, 0, sizeof(float) * (size_t)dw * c);
    for (int j = 0; j < ty.cnt[y]; j++) {
      const uint8_t *r = src->data + (size_t)(ty.first[y] + j) * sw * c;
      const float wy = ty.w[ty.off[y] + j];
      for (int x = 0; x < dw; x++) {
        const uint8_t *p = r + (size_t)tx.first[x] * c;
        const float *w = tx.w + tx.off[x];
        float s0 = 0, s1 = 0, s2 = 0;
        for (int i = 0; i < tx.cnt[x]; i++, p += c) {
          s0 += w[i] * p[0];
          if (c == 3) {
            s1 += w[i] * p[1];
            s2 += w[i] * p[2];
          }
        }
        hrow[x * c] = s0;
        if (c == 3) {
          hrow[x * c + 1] = s1;
          hrow[x * c + 2] = s2;
        }
      }
      for (int i = 0; i < dw * c; i++) acc[i] += wy * hrow[i];
    }
    uint8_t *d = out->data + (size_t)y * dw * c;
    for (int i = 0; i < dw * c; i++) {
      float v = acc[i] + 0.5f;
      d[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
  }
done:
  free(acc);
  free(tx.first);
  free(tx.w);
  free(ty.first);
  free(ty.w);
  return rc;
}
