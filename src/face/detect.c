/*
 * Face detection (Ultra-Light-Fast-Generic-Face-Detector RFB-320 by default)
 * and the gate's choice of one face.
 *
 * The detector takes a fixed 320x240 input. An image of any other size or
 * aspect is scaled to fit inside it with its aspect ratio kept (area
 * averaging when it shrinks, bilinear when it grows), centred, and the rest of
 * the input is set to 0, the normalised value of mid-grey; nothing is
 * stretched, so a face keeps the proportions the detector was trained on.
 * The model's boxes come out already decoded (corners, relative to the
 * input); we keep those above the score threshold, suppress overlaps greedily
 * (best score first) and map the survivors back to the image's pixels.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/face_internal.h"

#define EDGE 0.02 /* a box within this share of the frame of an edge touches it */
#define FILL 0.7  /* a box taller than this share of the frame fills it */
#define DARK_FRAME 60.0  /* a frame without a face darker than this (mean grey) ... */
#define DARK_TARGET 110.0 /* ... is looked at again with its mean brought to this */

static int by_score(const void *a, const void *b) {
  float x = ((const fg_face_box *)a)->score, y = ((const fg_face_box *)b)->score;
  return x < y ? 1 : x > y ? -1 : 0;
}

static float iou(const fg_face_box *a, const fg_face_box *b) {
  float ix = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0);
  float iy = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0);
  if (ix <= 0 || iy <= 0) return 0;
  float inter = ix * iy;
  float u = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - inter;
  return u > 0 ? inter / u : 0;
}

/* One detector pass over img letterboxed with `pad` of its size added on
 * each side (mid-grey, like the letterbox bars): boxes after NMS and the size
 * limit, best score first, into out. */
static int detect_pass(fg_face_engine *fe, const fg_image *img, double px_scale, double pad, const float *lut,
                       fg_face_detections *out, fg_error *err) {
  memset(out, 0, sizeof *out);
  const int W = fe->det_w, H = fe->det_h;
  double s = fmin((double)W / (img->width * (1 + 2 * pad)), (double)H / (img->height * (1 + 2 * pad)));
  int nw = (int)lround(img->width * s), nh = (int)lround(img->height * s);
  nw = nw < 1 ? 1 : nw > W ? W : nw;
  nh = nh < 1 ? 1 : nh > H ? H : nh;
  int ox = (W - nw) / 2, oy = (H - nh) / 2;

  fg_image small = {0};
  const fg_image *src = img;
  if (nw != img->width || nh != img->height) {
    int rc = fg_image_resize_area(img, nw, nh, &small, err);
    if (rc) return rc;
    src = &small;
  }
  /* Letterbox: the scaled image in the middle, zero (mid-grey) in the bars
   * around it (only the bars are cleared: the rest is written below). The
   * input is channels-last (the session reads it so: engine.c), each pixel's
   * three values together. */
  float *px = fe->det_in;
  memset(px, 0, (size_t)oy * W * 3 * sizeof(float));
  memset(px + (size_t)(oy + nh) * W * 3, 0, (size_t)(H - oy - nh) * W * 3 * sizeof(float));
  if (nw < W)
    for (int y = oy; y < oy + nh; y++) {
      memset(px + (size_t)y * W * 3, 0, (size_t)ox * 3 * sizeof(float));
      memset(px + ((size_t)y * W + ox + nw) * 3, 0, (size_t)(W - ox - nw) * 3 * sizeof(float));
    }
  const float mean = 127.f, scale = 1.f / 128.f;
  /* where each source channel goes in a pixel: R G B, or B G R */
  const int c0 = fe->o.det_channels == FG_CHANNELS_BGR ? 2 : 0, c2 = 2 - c0;
  for (int y = 0; y < nh; y++) {
    const uint8_t *p = src->data + (size_t)y * nw * src->channels;
    float *q = px + ((size_t)(y + oy) * W + ox) * 3;
    if (lut) {
      /* The dark-frame pass: values through the brightening curve. */
      if (src->channels == 3) {
        for (int x = 0; x < nw; x++, p += 3, q += 3) q[c0] = lut[p[0]], q[1] = lut[p[1]], q[c2] = lut[p[2]];
      } else {
        for (int x = 0; x < nw; x++, q += 3) q[0] = q[1] = q[2] = lut[p[x]];
      }
    } else if (src->channels == 3) {
      if (c0 == 0) /* the same order: one stream of values */
        for (int x = 0; x < 3 * nw; x++) q[x] = ((float)p[x] - mean) * scale;
      else
        for (int x = 0; x < nw; x++, p += 3, q += 3) {
          q[c0] = ((float)p[0] - mean) * scale;
          q[1] = ((float)p[1] - mean) * scale;
          q[c2] = ((float)p[2] - mean) * scale;
        }
    } else {
      for (int x = 0; x < nw; x++, q += 3) q[0] = q[1] = q[2] = ((float)p[x] - mean) * scale;
    }
  }
  fg_image_release(&small);

  const float *in[1] = {fe->det_in};
  float *outs[2];
  outs[fe->det_scores_out] = fe->det_scores;
  outs[fe->det_boxes_out] = fe->det_boxes;
  int rc = fg__face_run(fe, FG__DET, in, outs, err);
  if (rc) return rc;

  /* Candidates in image pixels (per-axis factors: nw, nh were rounded). */
  const double fx = (double)nw / img->width, fy = (double)nh / img->height;
  size_t n = 0;
  for (size_t i = 0; i < fe->anchors; i++) {
    float sc = fe->det_scores[2 * i + 1];
    if (!(sc > fe->o.det_score)) continue;
    const float *b = fe->det_boxes + 4 * i;
    fg_face_box c = {(float)((b[0] * W - ox) / fx), (float)((b[1] * H - oy) / fy), (float)((b[2] * W - ox) / fx),
                     (float)((b[3] * H - oy) / fy), sc};
    if (!(c.x1 > c.x0 && c.y1 > c.y0)) continue;
    fe->cand[n++] = c;
  }
  qsort(fe->cand, n, sizeof *fe->cand, by_score);
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    int keep = 1;
    for (size_t j = 0; j < kept && keep; j++)
      if (iou(&fe->cand[i], &fe->cand[j]) > fe->o.det_nms_iou) keep = 0;
    if (keep) fe->cand[kept++] = fe->cand[i];
  }
  /* The size limit applies after NMS, so a small duplicate of a large face
   * cannot survive on its own. */
  for (size_t i = 0; i < kept; i++) {
    const fg_face_box *c = &fe->cand[i];
    if ((c->x1 - c->x0) * px_scale < fe->o.min_face_px) continue;
    if (out->count < FG_FACE_MAX_FACES) out->faces[out->count++] = *c;
    out->total++;
  }
  return FG_OK;
}

/* Mean grey (0..255) of the image part of the detector's input after a pass
 * without padding or curve. */
static double dark_mean(const fg_face_engine *fe, const fg_image *img) {
  const int W = fe->det_w, H = fe->det_h;
  double s = fmin((double)W / img->width, (double)H / img->height);
  int nw = (int)lround(img->width * s), nh = (int)lround(img->height * s);
  nw = nw < 1 ? 1 : nw > W ? W : nw;
  nh = nh < 1 ? 1 : nh > H ? H : nh;
  int ox = (W - nw) / 2, oy = (H - nh) / 2;
  double sum = 0;
  for (int y = oy; y < oy + nh; y += 2)
    for (int x = ox; x < ox + nw; x += 2) {
      const float *q = fe->det_in + ((size_t)y * W + x) * 3; /* channels-last */
      sum += (q[0] + q[1] + q[2]) / 3;
    }
  double n = (double)((nh + 1) / 2) * ((nw + 1) / 2);
  return sum / n * 128 + 127;
}

/* Does the gate's face need a second look with margins around the frame:
 * none found, or the chosen one touching an edge or filling most of the
 * height (a tight crop, where the detector sees a partial face)? */
static int needs_padding(const fg_face_detections *d, int w, int h) {
  int sel = fg_face_select(d, w, h);
  if (sel < 0) return 1;
  const fg_face_box *b = &d->faces[sel];
  double mx = EDGE * w, my = EDGE * h;
  return b->x0 < mx || b->y0 < my || b->x1 > w - mx || b->y1 > h - my || b->y1 - b->y0 > FILL * h;
}

int fg__face_detect(fg_face_engine *fe, const fg_image *img, double px_scale, fg_face_detections *out,
                    fg_error *err) {
  memset(out, 0, sizeof *out);
  if (!img || !img->data || img->width <= 0 || img->height <= 0 || (img->channels != 1 && img->channels != 3))
    return fg__seterr(err, FG_EINVAL, "detect: not a decoded image");
  int rc = detect_pass(fe, img, px_scale, 0, NULL, out, err);
  if (rc) return rc;
  double pad = fe->o.det_pad > 0 && needs_padding(out, img->width, img->height) ? fe->o.det_pad : 0;
  float lut[256];
  int dark = 0;
  if (out->count == 0 && fe->o.det_dark_gamma) {
    /* A dark frame: its mean grey (from the letterboxed input just made). */
    double m = dark_mean(fe, img);
    if (m < DARK_FRAME) {
      /* A gamma curve taking the mean to DARK_TARGET: the shadows are lifted
       * most, where a side-lit face's features are. */
      double gamma = log(DARK_TARGET / 255.0) / log(fmax(m, 1) / 255.0);
      for (int v = 0; v < 256; v++) lut[v] = (float)((255 * pow(v / 255.0, gamma) - 127) / 128);
      dark = 1;
    }
  }
  if (pad == 0 && !dark) return FG_OK;
  /* Second pass with the frame padded (and brightened if dark): its boxes,
   * plus the first pass's boxes it did not find (small faces its coarser
   * scale may miss). */
  fg_face_detections *p = &fe->det2;
  if ((rc = detect_pass(fe, img, px_scale, pad, dark ? lut : NULL, p, err))) return rc;
  if (p->count == 0) return FG_OK;
  for (int i = 0; i < out->count && p->count < FG_FACE_MAX_FACES; i++) {
    int dup = 0;
    for (int j = 0; j < p->count && !dup; j++) dup = iou(&out->faces[i], &p->faces[j]) > fe->o.det_nms_iou;
    if (!dup) p->faces[p->count++] = out->faces[i], p->total++;
  }
  p->total += out->total - out->count;
  qsort(p->faces, (size_t)p->count, sizeof *p->faces, by_score);
  *out = *p;
  return FG_OK;
}

int fg_face_detect(fg_face_engine *fe, const fg_image *img, fg_face_detections *out, fg_error *err) {
  return fg__face_detect(fe, img, 1.0, out, err);
}

int fg_face_select(const fg_face_detections *det, int width, int height) {
  if (!det || det->count <= 0) return -1;
  float best_area = 0;
  for (int i = 0; i < det->count; i++) {
    const fg_face_box *b = &det->faces[i];
    float a = (b->x1 - b->x0) * (b->y1 - b->y0);
    if (a > best_area) best_area = a;
  }
  /* A camera sees the traveller in front of it largest; when two faces are
   * about as large (within 10% in area), the one nearer the optical axis is
   * the one the gate is framed on. */
  int pick = -1;
  double best_d = 0;
  for (int i = 0; i < det->count; i++) {
    const fg_face_box *b = &det->faces[i];
    float a = (b->x1 - b->x0) * (b->y1 - b->y0);
    if (a < 0.9f * best_area) continue;
    double dx = (b->x0 + b->x1) / 2.0 - width / 2.0, dy = (b->y0 + b->y1) / 2.0 - height / 2.0;
    double d = dx * dx + dy * dy;
    if (pick < 0 || d < best_d) pick = i, best_d = d;
  }
  return pick;
}
