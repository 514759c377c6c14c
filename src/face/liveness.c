/*
 * Liveness (2-D presentation-attack detection, MiniFASNet-style model).
 *
 * The crop follows the model's training code (Silent-Face-Anti-Spoofing's
 * CropImage, which the npm package copies): a box live_crop_scale (2.7) times
 * the detector box about its centre, the factor reduced if the image is
 * smaller than that, the box shifted (not clipped) to stay inside the image
 * and cut on whole pixels; then a bilinear resize to the model's 128x128, as
 * in training (OpenCV's INTER_LINEAR sampling: no anti-aliasing). The channel
 * order, scaling and which output means "live" were established on real
 * photos only (docs/pipeline.md): no attack data exists here, so the score
 * is a signal whose error rates are not measured.
 */
#include <math.h>

#include "face/face_internal.h"

void fg__face_live_rect(const fg_face_options *o, const fg_face_box *box, int full_w, int full_h,
                        int r[4]) {
  const double W = full_w, H = full_h;
  double bw = box->x1 - box->x0, bh = box->y1 - box->y0;
  double s = fmin(fmin((H - 1) / bh, (W - 1) / bw), o->live_crop_scale);
  double nw = bw * s, nh = bh * s, cx = box->x0 + bw / 2, cy = box->y0 + bh / 2;
  double x0 = cx - nw / 2, y0 = cy - nh / 2, x1 = cx + nw / 2, y1 = cy + nh / 2;
  if (x0 < 0) x1 -= x0, x0 = 0;
  if (y0 < 0) y1 -= y0, y0 = 0;
  if (x1 > W - 1) x0 -= x1 - W + 1, x1 = W - 1;
  if (y1 > H - 1) y0 -= y1 - H + 1, y1 = H - 1;
  r[0] = (int)fmax(0, x0), r[1] = (int)fmax(0, y0);
  r[2] = (int)fmax(r[0], x1), r[3] = (int)fmax(r[1], y1);
}

int fg__face_liveness(fg_face_engine *fe, const fg__face_view *v, const fg_face_box *box, float raw[3],
                      float *p_live, fg_error *err) {
  int rr[4];
  fg__face_live_rect(&fe->o, box, v->full_w, v->full_h, rr);
  int ix0 = rr[0], iy0 = rr[1];
  double cw = rr[2] - rr[0] + 1, ch = rr[3] - rr[1] + 1;
  /* Into the view's pixels, then a resize as a warp: the destination pixel
   * centre (x + 0.5) * step - 0.5 of the crop, INTER_LINEAR's mapping. */
  double sx = cw / fe->live_w / v->kx, sy = ch / fe->live_h / v->ky;
  double gx = (ix0 - v->ox) / v->kx, gy = (iy0 - v->oy) / v->ky;
  float m[6] = {(float)sx, 0, (float)(gx + 0.5 * sx - 0.5), 0, (float)sy, (float)(gy + 0.5 * sy - 0.5)};
  fg_image small = {0};
  int rc = fg_image_warp_affine(v->img, m, fe->live_w, fe->live_h, FG_IMAGE_BORDER_REPLICATE, &small, err);
  if (rc) return rc;
  fg__face_planes(&small, 3, fe->o.live_channels, fe->o.live_mean, fe->o.live_scale, fe->live_in);
  fg_image_release(&small);
  const float *in[1] = {fe->live_in};
  float *out[1] = {fe->live_out};
  if ((rc = fg__face_run(fe, FG__LIVE, in, out, err))) return rc;
  float mx = fe->live_out[0];
  for (int i = 1; i < fe->live_n; i++) mx = fmaxf(mx, fe->live_out[i]);
  double se = 0;
  for (int i = 0; i < fe->live_n; i++) se += exp(fe->live_out[i] - mx);
  for (int i = 0; i < 3; i++) raw[i] = i < fe->live_n ? fe->live_out[i] : 0;
  *p_live = (float)(exp(fe->live_out[fe->o.live_index] - mx) / se);
  return FG_OK;
}
