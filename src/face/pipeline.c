/*
 * fg_face_process and friends: the stages strung together, with the choice
 * of which pixels each stage reads, and per-stage timings.
 *
 * Detection needs only a 320x240 view of the frame, while landmarks,
 * alignment, quality and liveness need the face at roughly the recognition
 * model's scale. So for bytes (fg_face_process_buffer) a large JPEG is
 * decoded at a reduced DCT scale (1/2, 1/4 or 1/8, keeping the long side
 * >= options.decode_side) for detection; if the chosen face is then at least
 * FACE_MIN_W pixels wide in that reduced image it is used as is, otherwise
 * just the face's region is decoded again, at the coarsest finer DCT scale
 * that makes it FACE_MIN_W wide (libjpeg's partial decode: columns cropped,
 * rows above skipped, decoding stopped after the region's last row). Faces wider
 * than FACE_MAX_W in whichever image is used are first area-reduced (in a
 * region around them) to FACE_TARGET_W, so that the bilinear alignment warp
 * never shrinks by more than about 2x and does not alias. docs/pipeline.md
 * has the timings that justify this.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/face_internal.h"
#include "image/image_internal.h"

#define FACE_MIN_W 80.0      /* narrowest box (px) the face stages accept from a reduced decode */
#define FACE_MAX_W 160.0     /* wider boxes are area-reduced first ... */
#define FACE_TARGET_W 128.0  /* ... to this width */
#define REGION_SCALE 2.2     /* region kept about the face: this many box sides, square */

/* Where full-resolution face pixels can be fetched from, if anywhere. */
typedef struct hires_src {
  const uint8_t *buf;
  size_t len;
  const fg_image_limits *lim;
} hires_src;

/* The rectangle (full-source, whole pixels, inside the image) the face stages
 * may read: a square of REGION_SCALE box sides about the box, and the
 * liveness crop. */
static void face_region(const fg_face_options *o, const fg_face_box *b, int W, int H, int r[4]) {
  double cx = (b->x0 + b->x1) / 2, cy = (b->y0 + b->y1) / 2;
  double half = REGION_SCALE / 2 * fmax(b->x1 - b->x0, b->y1 - b->y0);
  double x0 = floor(cx - half), y0 = floor(cy - half), x1 = ceil(cx + half), y1 = ceil(cy + half);
  if (o->liveness) {
    int lr[4];
    fg__face_live_rect(o, b, W, H, lr);
    x0 = fmin(x0, lr[0]), y0 = fmin(y0, lr[1]);
    x1 = fmax(x1, lr[2] + 1), y1 = fmax(y1, lr[3] + 1);
  }
  r[0] = (int)fmax(0, x0), r[1] = (int)fmax(0, y0);
  r[2] = (int)fmin(W, x1), r[3] = (int)fmin(H, y1);
  if (r[2] <= r[0]) r[2] = r[0] + 1 <= W ? r[0] + 1 : W, r[0] = r[2] - 1;
  if (r[3] <= r[1]) r[3] = r[1] + 1 <= H ? r[1] + 1 : H, r[1] = r[3] - 1;
}

/* Make *v a view of the face suited to the stages; *owned receives any pixels
 * made for it (release after use). */
static int face_view(const fg_face_options *o, const fg_face_box *box, const fg__face_view *det,
                     const hires_src *hi, fg__face_view *v, fg_image *owned, fg_error *err) {
  *v = *det;
  double bw = box->x1 - box->x0;
  int R[4];
  face_region(o, box, det->full_w, det->full_h, R);
  int rc;
  if (hi && bw / det->kx < FACE_MIN_W && det->kx > 1) {
    /* The coarsest finer DCT scale at which the face is FACE_MIN_W wide. */
    int den = (int)lround(det->kx) / 2;
    while (den > 1 && bw / den < FACE_MIN_W) den /= 2;
    if (den < 1) den = 1;
    fg_image reg = {0};
    int ox, oy, od;
    rc = fg__image_decode_region_scaled(hi->buf, hi->len, hi->lim, R[0], R[1], R[2] - R[0], R[3] - R[1], den, &reg,
                                        &ox, &oy, &od, err);
    if (rc == FG_OK) {
      *owned = reg;
      *v = (fg__face_view){owned, od, od, ox, oy, det->full_w, det->full_h};
    } else if (rc == FG_ENOMEM) {
      return rc;
    }
    /* Otherwise (a region the estimated size put past the edge): keep the reduced image. */
  }
  double wpx = bw / v->kx;
  if (wpx > FACE_MAX_W) {
    double f = wpx / FACE_TARGET_W;
    /* R in the current view's pixels. */
    int x0 = (int)floor((R[0] - v->ox) / v->kx), y0 = (int)floor((R[1] - v->oy) / v->ky);
    int x1 = (int)ceil((R[2] - v->ox) / v->kx), y1 = (int)ceil((R[3] - v->oy) / v->ky);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > v->img->width) x1 = v->img->width;
    if (y1 > v->img->height) y1 = v->img->height;
    int ow = (int)lround((x1 - x0) / f), oh = (int)lround((y1 - y0) / f);
    if (ow < 1) ow = 1;
    if (oh < 1) oh = 1;
    fg_image red = {0};
    if ((rc = fg__face_crop_resize(v->img, x0, y0, x1 - x0, y1 - y0, ow, oh, &red, err))) return rc;
    fg__face_view nv = {NULL,
                        v->kx * (x1 - x0) / ow,
                        v->ky * (y1 - y0) / oh,
                        v->ox + x0 * v->kx,
                        v->oy + y0 * v->ky,
                        v->full_w,
                        v->full_h};
    fg_image_release(owned);
    *owned = red;
    nv.img = owned;
    *v = nv;
  }
  return FG_OK;
}

/* The stages after the choice of a face. */
static int embed_second(fg_face_engine *fe, const fg__face_view *v, fg_face_result *r, float alpha, float lift,
                        fg_error *err);

static int process_face(fg_face_engine *fe, const fg__face_view *det, const hires_src *hi, fg_face_result *r,
                        fg_error *err) {
  fg_image owned = {0};
  fg__face_view v;
  double t = fg__ms();
  int rc = face_view(&fe->o, &r->box, det, hi, &v, &owned, err);
  r->ms.decode += fg__ms() - t;
  if (rc) goto done;

  t = fg__ms();
  if ((rc = fg__face_landmarks(fe, &v, &r->box, r->landmarks, err))) goto done;
  if (fe->o.realign && (rc = fg__face_landmarks_retry(fe, &v, &r->box, r->landmarks, err))) goto done;
  fg_face_points5(r->landmarks, fe->o.points5, r->points);
  r->ms.landmarks = fg__ms() - t;

  /* Align in the view's pixels (centre convention for the warp). */
  t = fg__ms();
  float src[2 * 51], dst[2 * 51], sim[6];
  int np = fg__face_align_points(fe->o.align_points, r->landmarks, r->points, fe->o.align_template, fe->tmpl68,
                                 src, dst);
  for (int i = 0; i < np; i++) {
    src[2 * i] = (float)((src[2 * i] - v.ox) / v.kx - 0.5);
    src[2 * i + 1] = (float)((src[2 * i + 1] - v.oy) / v.ky - 0.5);
  }
  fg_image_release(&fe->aligned);
  if (fg_face_similarity(src, dst, np, sim)) {
    rc = fg__seterr(err, FG_EINVAL, "align: degenerate landmarks");
    goto done;
  }
  if ((rc = fg__face_warp(v.img, sim, fe->feat_w, fe->feat_h, &fe->aligned, err))) goto done;
  if (fe->o.tta_zoom != 0) {
    /* The same alignment onto the template scaled by 1 + tta_zoom about its
     * 5 points' centroid. */
    const float *tp = fe->o.align_template;
    double z = 1 + fe->o.tta_zoom, tx = (tp[0] + tp[2] + tp[4] + tp[6] + tp[8]) / 5,
           ty = (tp[1] + tp[3] + tp[5] + tp[7] + tp[9]) / 5;
    float sz[6] = {(float)(z * sim[0]), (float)(z * sim[1]), (float)(z * sim[2] + (1 - z) * tx),
                   (float)(z * sim[3]), (float)(z * sim[4]), (float)(z * sim[5] + (1 - z) * ty)};
    fg_image_release(&fe->aligned2);
    if ((rc = fg__face_warp(v.img, sz, fe->feat_w, fe->feat_h, &fe->aligned2, err))) goto done;
  }
  /* The same similarity from full-source coordinates. */
  r->align[0] = (float)(sim[0] / v.kx), r->align[1] = (float)(sim[1] / v.ky);
  r->align[2] = (float)(sim[2] - sim[0] * (v.ox / v.kx + 0.5) - sim[1] * (v.oy / v.ky + 0.5));
  r->align[3] = (float)(sim[3] / v.kx), r->align[4] = (float)(sim[4] / v.ky);
  r->align[5] = (float)(sim[5] - sim[3] * (v.ox / v.kx + 0.5) - sim[4] * (v.oy / v.ky + 0.5));
  r->ms.align = fg__ms() - t;

  t = fg__ms();
  fg__face_quality_measure(&fe->o, &fe->aligned, r->landmarks, r->points, r->align, fe->tmpl68, &r->box, r->width,
                           r->height, r->det.total, fg__face_surround(&v, &r->box), &r->quality);
  r->ms.quality = fg__ms() - t;

  if (fe->o.liveness) {
    t = fg__ms();
    if ((rc = fg__face_liveness(fe, &v, &r->box, r->liveness_out, &r->liveness, err))) goto done;
    r->liveness_done = 1;
    r->ms.liveness = fg__ms() - t;
  }

  t = fg__ms();
  /* Shaded or dark faces get their light evened out before recognition. */
  float alpha, lift;
  fg__face_light_plan(fe->o.light_norm, r->quality.light_unevenness, r->quality.brightness, &alpha, &lift);
  if ((rc = fg__face_light_normalise(&fe->aligned, alpha, lift, err))) goto done;
  if (fe->o.tta_zoom != 0 && (rc = fg__face_light_normalise(&fe->aligned2, alpha, lift, err))) goto done;
  {
    const fg_image *crops[2] = {&fe->aligned, &fe->aligned2};
    if ((rc = fg__face_embed_n(fe, crops, fe->o.tta_zoom != 0 ? 2 : 1, r->embedding, err))) goto done;
  }
  r->dim = fe->dim;
  if (fe->second && (rc = embed_second(fe, &v, r, alpha, lift, err))) goto done;
  r->quality.feature_norm = fe->feat_norm;
  r->ms.embed = fg__ms() - t;
  t = fg__ms();
  fg__face_quality_score(&fe->o, fe->fnorm_good, fe->fnorm_bad, &r->quality);
  r->ms.quality += fg__ms() - t;

  r->status = fe->o.quality_min > 0 && r->quality.score < fe->o.quality_min ? FG_FACE_LOW_QUALITY : FG_FACE_OK;
done:
  fg_image_release(&owned);
  return rc;
}

/* A fused model's second embedding: that model's crop from the same 5 points
 * (its own template and size, the same light correction), appended to the
 * first's, each times its weight. */
static int embed_second(fg_face_engine *fe, const fg__face_view *v, fg_face_result *r, float alpha, float lift,
                        fg_error *err) {
  fg_face_engine *s = fe->second;
  float src[10], sim[6];
  for (int i = 0; i < 5; i++) {
    src[2 * i] = (float)((r->points[2 * i] - v->ox) / v->kx - 0.5);
    src[2 * i + 1] = (float)((r->points[2 * i + 1] - v->oy) / v->ky - 0.5);
  }
  if (fg_face_similarity(src, s->o.align_template, 5, sim)) return fg__seterr(err, FG_EINVAL, "align: degenerate landmarks");
  fg_image_release(&s->aligned);
  int rc = fg__face_warp(v->img, sim, s->feat_w, s->feat_h, &s->aligned, err);
  if (!rc) rc = fg__face_light_normalise(&s->aligned, alpha, lift, err);
  const fg_image *crops[1] = {&s->aligned};
  if (!rc) rc = fg__face_embed_n(s, crops, 1, r->embedding + fe->dim, err);
  if (rc) return rc;
  for (int i = 0; i < fe->dim; i++) r->embedding[i] *= fe->fuse_w[0];
  for (int i = 0; i < s->dim; i++) r->embedding[fe->dim + i] *= fe->fuse_w[1];
  r->dim = fe->dim + s->dim;
  return FG_OK;
}

static void reset(fg_face_engine *fe, fg_face_result *r) {
  memset(r, 0, sizeof *r);
  r->selected = -1;
  fg_image_release(&fe->aligned);
}

/* Detect on det's image, map boxes to full-source pixels, pick one, go on. */
static int run(fg_face_engine *fe, const fg__face_view *det, const hires_src *hi, fg_face_result *r,
               fg_error *err) {
  r->width = det->full_w;
  r->height = det->full_h;
  double t = fg__ms();
  int rc = fg__face_detect(fe, det->img, det->kx, &r->det, err);
  if (rc) return rc;
  for (int i = 0; i < r->det.count; i++) {
    fg_face_box *b = &r->det.faces[i];
    b->x0 = (float)(b->x0 * det->kx + det->ox), b->x1 = (float)(b->x1 * det->kx + det->ox);
    b->y0 = (float)(b->y0 * det->ky + det->oy), b->y1 = (float)(b->y1 * det->ky + det->oy);
  }
  r->ms.detect = fg__ms() - t;
  r->selected = fg_face_select(&r->det, r->width, r->height);
  if (r->selected < 0) {
    r->status = FG_FACE_NO_FACE;
    fg__face_quality_no_face(det->img, &r->quality);
    return FG_OK;
  }
  r->box = r->det.faces[r->selected];
  return process_face(fe, det, hi, r, err);
}

static int check_image(const fg_image *img, fg_error *err) {
  if (!img || !img->data || img->width <= 0 || img->height <= 0 || (img->channels != 1 && img->channels != 3))
    return fg__seterr(err, FG_EINVAL, "face: not a decoded image");
  return FG_OK;
}

int fg_face_process(fg_face_engine *fe, const fg_image *img, fg_face_result *r, fg_error *err) {
  reset(fe, r);
  int rc = check_image(img, err);
  if (rc) return rc;
  double t0 = fg__ms();
  fg__face_view v = {img, 1, 1, 0, 0, img->width, img->height};
  rc = run(fe, &v, NULL, r, err);
  r->ms.total = fg__ms() - t0;
  return rc;
}

int fg_face_process_box(fg_face_engine *fe, const fg_image *img, const fg_face_box *box, fg_face_result *r,
                        fg_error *err) {
  reset(fe, r);
  int rc = check_image(img, err);
  if (rc) return rc;
  if (!box || !(box->x1 > box->x0 && box->y1 > box->y0))
    return fg__seterr(err, FG_EINVAL, "face: empty box");
  double t0 = fg__ms();
  fg__face_view v = {img, 1, 1, 0, 0, img->width, img->height};
  r->width = img->width;
  r->height = img->height;
  r->det.count = r->det.total = 1;
  r->det.faces[0] = *box;
  r->selected = 0;
  r->box = *box;
  rc = process_face(fe, &v, NULL, r, err);
  r->ms.total = fg__ms() - t0;
  return rc;
}

int fg_face_process_buffer(fg_face_engine *fe, const uint8_t *buf, size_t len, const fg_image_limits *lim,
                           fg_face_result *r, fg_error *err) {
  reset(fe, r);
  double t0 = fg__ms();
  fg_image img = {0};
  int num = 1, den = 1;
  int rc = fe->o.decode_side > 0 ? fg_image_decode_jpeg_scaled(buf, len, lim, fe->o.decode_side, &img, &num, &den, err)
                                  : fg_image_decode(buf, len, lim, &img, err);
  if (rc) return rc;
  r->ms.decode = fg__ms() - t0;
  /* The full size is not returned by a reduced decode: libjpeg-turbo's
   * reduced size is ceil(full / den), so full is within den - 1 pixels of
   * this; exact whenever the size is a multiple of den, as camera frames are.
   * Only the framing measure and the edge clamp of the region use it. */
  double k = (double)den / num;
  fg__face_view v = {&img, k, k, 0, 0, (int)lround(img.width * k), (int)lround(img.height * k)};
  hires_src hi = {buf, len, lim};
  rc = run(fe, &v, k > 1 ? &hi : NULL, r, err);
  fg_image_release(&img);
  r->ms.total = fg__ms() - t0;
  return rc;
}

int fg_face_process_file(fg_face_engine *fe, const char *path, const fg_image_limits *lim, fg_face_result *r,
                         fg_error *err) {
  reset(fe, r);
  if (!path) return fg__seterr(err, FG_EINVAL, "face: NULL path");
  size_t max = lim && lim->max_bytes ? lim->max_bytes : FG_IMAGE_DEFAULT_MAX_BYTES;
  uint8_t *data = NULL;
  size_t len = 0;
  double t0 = fg__ms();
  int rc = fg__read_file(path, max, &data, &len, err);
  if (rc) return rc;
  double t_read = fg__ms() - t0;
  rc = fg_face_process_buffer(fe, data, len, lim, r, err);
  free(data);
  r->ms.decode += t_read;
  r->ms.total += t_read;
  return rc;
}
