/*
 * 68-point landmarks (iBUG 300-W order), the 5 alignment points taken from
 * them, and the head pose they imply.
 *
 * The landmark model sees a grey square cut from the detector box and
 * returns each point relative to that square (0..1). Which square, and the
 * input scaling, were chosen by measurement (docs/pipeline.md): the options
 * lm_crop, lm_crop_scale, lm_refine, lm_mean and lm_scale say what is used.
 *
 * Pose is estimated by fitting a weak-perspective (scaled orthographic)
 * camera to six landmarks of a generic 3-D face (nose tip, chin, outer eye
 * corners, mouth corners; the model popularised by OpenCV's head-pose
 * examples): a 2x3 linear map A and a translation by least squares, A's rows
 * orthonormalised into the first two rows of a rotation R, the third their
 * cross product, and R read as roll (z) · yaw (y) · pitch (x).
 */
#include <math.h>
#include <string.h>

#include "face/face_internal.h"

/* The landmark model's crop for a box (full-source pixels): centre and size. */
static void lm_rect(const fg_face_options *o, const fg_face_box *b, double *cx, double *cy, double *w, double *h) {
  double bw = b->x1 - b->x0, bh = b->y1 - b->y0;
  *w = bw * o->lm_crop_scale, *h = bh * o->lm_crop_scale;
  if (o->lm_crop == FG_LANDMARK_CROP_SQUARE) *w = *h = fmax(*w, *h);
  *cx = (b->x0 + b->x1) / 2;
  *cy = (b->y0 + b->y1) / 2;
}

/* Run the model on the w x h rectangle centred on (cx, cy) (full-source
 * pixels), turned by theta radians (0: axis-aligned), and return the points
 * in full-source pixels. */
static int run_once(fg_face_engine *fe, const fg__face_view *v, double cx, double cy, double w, double h,
                    double theta, float lm[136], fg_error *err) {
  fg_image crop = {0}, grey = {0};
  int rc;
  /* The rectangle in the view's pixels (edge coordinates). */
  double icx = (cx - v->ox) / v->kx, icy = (cy - v->oy) / v->ky, iw = w / v->kx, ih = h / v->ky;
  int x = 0, y = 0, cw = 1, ch = 1;
  double sx = 1, sy = 1, tcx = 0, tcy = 0, c = cos(theta), s = sin(theta);
  if (theta == 0) {
    /* Whole pixels, so that the crop is an exact copy before the area
     * resize, and the points map back through the same rectangle. */
    x = (int)lround(icx - iw / 2), y = (int)lround(icy - ih / 2);
    cw = (int)lround(iw), ch = (int)lround(ih);
    if (cw < 1) cw = 1;
    if (ch < 1) ch = 1;
    rc = fg__face_crop_resize(v->img, x, y, cw, ch, fe->lm_w, fe->lm_h, &crop, err);
  } else {
    /* Turned: area-reduce the rectangle's bounding box to the model's scale
     * first (no aliasing), then rotate at that scale with the bilinear warp. */
    double bw = iw * fabs(c) + ih * fabs(s), bh = iw * fabs(s) + ih * fabs(c);
    x = (int)floor(icx - bw / 2) - 1, y = (int)floor(icy - bh / 2) - 1;
    cw = (int)ceil(icx + bw / 2) + 1 - x, ch = (int)ceil(icy + bh / 2) + 1 - y;
    double scale = fe->lm_w / iw; /* model pixels per view pixel */
    int tw = (int)lround(cw * scale), th = (int)lround(ch * scale);
    if (tw < 1) tw = 1;
    if (th < 1) th = 1;
    fg_image t = {0};
    if ((rc = fg__face_crop_resize(v->img, x, y, cw, ch, tw, th, &t, err))) return rc;
    sx = (double)tw / cw, sy = (double)th / ch;
    tcx = (icx - x) * sx, tcy = (icy - y) * sy; /* centre in t (edge coordinates) */
    double hx = 0.5 - fe->lm_w / 2.0, hy = 0.5 - fe->lm_h / 2.0;
    double ux = iw * sx / fe->lm_w, uy = ih * sy / fe->lm_h; /* t pixels per model pixel (~1) */
    float m[6] = {(float)(c * ux), (float)(-s * uy), (float)(tcx - 0.5 + c * ux * hx - s * uy * hy),
                  (float)(s * ux), (float)(c * uy), (float)(tcy - 0.5 + s * ux * hx + c * uy * hy)};
    rc = fg_image_warp_affine(&t, m, fe->lm_w, fe->lm_h, FG_IMAGE_BORDER_ZERO, &crop, err);
    fg_image_release(&t);
  }
  if (rc) return rc;
  rc = fg_image_to_grey(&crop, &grey, err);
  fg_image_release(&crop);
  if (!rc && fe->o.lm_light_norm > 0) {
    /* The same light plan as for recognition, from the crop's middle. */
    int rect[4] = {grey.width / 5, grey.height / 5, grey.width - grey.width / 5, grey.height - grey.height / 5};
    float u, alpha, lift;
    double mean = 0;
    for (size_t i = 0; i < (size_t)grey.width * grey.height; i++) mean += grey.data[i];
    mean /= (double)grey.width * grey.height;
    rc = fg__face_light_unevenness(&grey, rect, &u, NULL, err);
    if (!rc) fg__face_light_plan(fe->o.lm_light_norm, u, (float)mean, &alpha, &lift);
    if (!rc) rc = fg__face_light_normalise(&grey, alpha, lift, err);
  }
  if (rc) {
    fg_image_release(&grey);
    return rc;
  }
  fg__face_planes(&grey, 1, FG_CHANNELS_RGB, fe->o.lm_mean, fe->o.lm_scale, fe->lm_in);
  fg_image_release(&grey);
  const float *in[1] = {fe->lm_in};
  float *out[1] = {fe->lm_out};
  if ((rc = fg__face_run(fe, FG__LM, in, out, err))) return rc;
  for (int i = 0; i < FG_FACE_LANDMARKS; i++) {
    double px, py;
    if (theta == 0) {
      px = x + fe->lm_out[2 * i] * cw;
      py = y + fe->lm_out[2 * i + 1] * ch;
    } else {
      double dx = (fe->lm_out[2 * i] - 0.5) * iw, dy = (fe->lm_out[2 * i + 1] - 0.5) * ih;
      px = icx + c * dx - s * dy;
      py = icy + s * dx + c * dy;
    }
    lm[2 * i] = (float)(px * v->kx + v->ox);
    lm[2 * i + 1] = (float)(py * v->ky + v->oy);
  }
  return FG_OK;
}

/* The last pass over several crops (lm_views): the crop itself and the crop
 * scaled by 1 +- lm_view_delta (3 views) or shifted by +-lm_view_delta of its
 * width and of its height along its own axes (5 views); the 68 points are
 * averaged, which damps the model's dependence on exactly where the crop
 * falls. */
static int run_views(fg_face_engine *fe, const fg__face_view *v, double cx, double cy, double w, double h,
                     double theta, float lm[136], fg_error *err) {
  int rc = run_once(fe, v, cx, cy, w, h, theta, lm, err);
  int n = fe->o.lm_views;
  if (rc || n <= 1) return rc;
  double acc[136], d = fe->o.lm_view_delta, c = cos(theta), s = sin(theta);
  for (int i = 0; i < 136; i++) acc[i] = lm[i];
  for (int k = 1; k < n; k++) {
    double ccx = cx, ccy = cy, cw = w, chh = h;
    if (n == 3) {
      double f = k == 1 ? 1 + d : 1 - d;
      cw *= f, chh *= f;
    } else {
      double dx = 0, dy = 0;
      if (k <= 2) dx = (k == 1 ? d : -d) * w;
      else dy = (k == 3 ? d : -d) * h;
      ccx += c * dx - s * dy, ccy += s * dx + c * dy;
    }
    if ((rc = run_once(fe, v, ccx, ccy, cw, chh, theta, lm, err))) return rc;
    for (int i = 0; i < 136; i++) acc[i] += lm[i];
  }
  for (int i = 0; i < 136; i++) lm[i] = (float)(acc[i] / n);
  return FG_OK;
}

int fg__face_landmarks(fg_face_engine *fe, const fg__face_view *v, const fg_face_box *box,
                       float lm[2 * FG_FACE_LANDMARKS], fg_error *err) {
  double cx, cy, w, h;
  lm_rect(&fe->o, box, &cx, &cy, &w, &h);
  if (!fe->o.lm_refine) return run_views(fe, v, cx, cy, w, h, 0, lm, err);
  int rc = run_once(fe, v, cx, cy, w, h, 0, lm, err);
  if (rc) return rc;
  /* Where the landmarks' centre sat in the first crop tells how far the box
   * was off; each refinement pass moves the crop by that amount, measured
   * against the average placement (lm_centre_dx/dy, a fraction of the crop),
   * and with lm_rotate also turns it by the eye line's angle, so that the
   * model sees the face upright and placed as in training. */
  double theta = 0;
  for (int pass = 0; pass < fe->o.lm_refine; pass++) {
    double mx = 0, my = 0;
    for (int i = 0; i < FG_FACE_LANDMARKS; i++) mx += lm[2 * i], my += lm[2 * i + 1];
    mx /= FG_FACE_LANDMARKS, my /= FG_FACE_LANDMARKS;
    double ex = 0, ey = 0;
    for (int i = 36; i < 42; i++) ex -= lm[2 * i], ey -= lm[2 * i + 1];
    for (int i = 42; i < 48; i++) ex += lm[2 * i], ey += lm[2 * i + 1];
    double roll = atan2(ey, ex);
    if (fe->o.lm_size_w > 0) {
      /* With lm_size_w/h the crop is also sized from the points, so that
       * every face fills it the same way whatever the box's own scale. */
      double ss = 0;
      for (int i = 0; i < FG_FACE_LANDMARKS; i++)
        ss += (lm[2 * i] - mx) * (lm[2 * i] - mx) + (lm[2 * i + 1] - my) * (lm[2 * i + 1] - my);
      double spread = sqrt(ss / FG_FACE_LANDMARKS);
      if (spread > 0.5) w = fe->o.lm_size_w * spread, h = fe->o.lm_size_h * spread;
    }
    /* Expected landmark centre = crop centre + the average offset, turned
     * with the crop. */
    double ox = fe->o.lm_centre_dx * w, oy = fe->o.lm_centre_dy * h;
    double c = cos(theta), s = sin(theta);
    cx += mx - (cx + c * ox - s * oy);
    cy += my - (cy + s * ox + c * oy);
    if (fe->o.lm_rotate) theta = roll;
    rc = pass + 1 < fe->o.lm_refine ? run_once(fe, v, cx, cy, w, h, theta, lm, err)
                                    : run_views(fe, v, cx, cy, w, h, theta, lm, err);
    if (rc) return rc;
  }
  return FG_OK;
}

#define RETRY_GAIN 0.6f /* a retry must cut the alignment error by 40% */

int fg__face_landmarks_retry(fg_face_engine *fe, const fg__face_view *v, const fg_face_box *box,
                             float lm[2 * FG_FACE_LANDMARKS], fg_error *err) {
  const float first = fg__face_align_error(lm, fe->tmpl68);
  if (!(first > FG__ALIGN_RETRY)) return FG_OK;
  float best_lm[2 * FG_FACE_LANDMARKS], cand[2 * FG_FACE_LANDMARKS], best = first;
  memcpy(best_lm, lm, sizeof best_lm);
  /* 1. More context: a box 1.3x as large about the same centre (a partial
   * box from a tight crop makes the model squeeze a whole face into it). */
  double cx = (box->x0 + box->x1) / 2, cy = (box->y0 + box->y1) / 2;
  double hw = 0.65 * (box->x1 - box->x0), hh = 0.65 * (box->y1 - box->y0);
  fg_face_box big = {(float)(cx - hw), (float)(cy - hh), (float)(cx + hw), (float)(cy + hh), box->score};
  int rc = fg__face_landmarks(fe, v, &big, cand, err);
  if (rc) return rc;
  float e = fg__face_align_error(cand, fe->tmpl68);
  if (e < best) best = e, memcpy(best_lm, cand, sizeof cand);
  if (best > FG__ALIGN_RETRY) {
    /* 2. A box from the most plausible points so far: their extent, widened
     * to the average box-to-points proportions (docs/pipeline.md: lm_size),
     * the points' centre 10% of its height below the box's. */
    double mx = 0, my = 0, ss = 0;
    for (int i = 0; i < FG_FACE_LANDMARKS; i++) mx += best_lm[2 * i], my += best_lm[2 * i + 1];
    mx /= FG_FACE_LANDMARKS, my /= FG_FACE_LANDMARKS;
    for (int i = 0; i < FG_FACE_LANDMARKS; i++)
      ss += (best_lm[2 * i] - mx) * (best_lm[2 * i] - mx) + (best_lm[2 * i + 1] - my) * (best_lm[2 * i + 1] - my);
    double spread = sqrt(ss / FG_FACE_LANDMARKS);
    if (spread > 1) {
      hw = 2.537 / 2 * spread, hh = 3.676 / 2 * spread;
      double bcy = my - 0.2 * hh;
      fg_face_box pts = {(float)(mx - hw), (float)(bcy - hh), (float)(mx + hw), (float)(bcy + hh), box->score};
      if ((rc = fg__face_landmarks(fe, v, &pts, cand, err))) return rc;
      e = fg__face_align_error(cand, fe->tmpl68);
      if (e < best) best = e, memcpy(best_lm, cand, sizeof cand);
    }
  }
  /* Taken only if clearly more plausible: a face turned far away is
   * implausible by nature, and a "more average" fit of it is a wrong one. */
  if (best < RETRY_GAIN * first) memcpy(lm, best_lm, sizeof best_lm);
  return FG_OK;
}

void fg_face_points5(const float lm[2 * FG_FACE_LANDMARKS], fg_points5_rule rule, float p5[10]) {
  memset(p5, 0, 10 * sizeof *p5);
  if (rule == FG_POINTS5_EYE4) {
    static const int le[4] = {37, 38, 40, 41}, re[4] = {43, 44, 46, 47};
    for (int k = 0; k < 4; k++) {
      p5[0] += lm[2 * le[k]] / 4, p5[1] += lm[2 * le[k] + 1] / 4;
      p5[2] += lm[2 * re[k]] / 4, p5[3] += lm[2 * re[k] + 1] / 4;
    }
    p5[6] = (lm[96] + lm[120]) / 2, p5[7] = (lm[97] + lm[121]) / 2;
    p5[8] = (lm[108] + lm[128]) / 2, p5[9] = (lm[109] + lm[129]) / 2;
  } else {
    for (int i = 36; i < 42; i++) p5[0] += lm[2 * i] / 6, p5[1] += lm[2 * i + 1] / 6;
    for (int i = 42; i < 48; i++) p5[2] += lm[2 * i] / 6, p5[3] += lm[2 * i + 1] / 6;
    p5[6] = lm[96], p5[7] = lm[97];
    p5[8] = lm[108], p5[9] = lm[109];
  }
  p5[4] = lm[60], p5[5] = lm[61];
}

/* Generic face, image-aligned axes (x right, y down, z away from the camera),
 * arbitrary units: nose tip 30, chin 8, outer eye corners 36 and 45, mouth
 * corners 48 and 54. */
static const int pose_idx[6] = {30, 8, 36, 45, 48, 54};
static const double pose_3d[6][3] = {{0, 0, 0},       {0, 330, 65},    {-225, -170, 135},
                                     {225, -170, 135}, {-150, 150, 125}, {150, 150, 125}};

static int inv3(const double a[3][3], double r[3][3]) {
  double d = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
             a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
  if (fabs(d) < 1e-12) return -1;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      int i1 = (j + 1) % 3, i2 = (j + 2) % 3, j1 = (i + 1) % 3, j2 = (i + 2) % 3;
      r[i][j] = (a[i1][j1] * a[i2][j2] - a[i1][j2] * a[i2][j1]) / d;
    }
  return 0;
}

void fg__face_pose(const float lm[2 * FG_FACE_LANDMARKS], float *yaw, float *pitch, float *roll) {
  double mx[3] = {0}, mp[2] = {0};
  for (int k = 0; k < 6; k++) {
    for (int j = 0; j < 3; j++) mx[j] += pose_3d[k][j] / 6;
    mp[0] += lm[2 * pose_idx[k]] / 6.0;
    mp[1] += lm[2 * pose_idx[k] + 1] / 6.0;
  }
  double xx[3][3] = {{0}}, px[2][3] = {{0}};
  for (int k = 0; k < 6; k++) {
    double X[3] = {pose_3d[k][0] - mx[0], pose_3d[k][1] - mx[1], pose_3d[k][2] - mx[2]};
    double P[2] = {lm[2 * pose_idx[k]] - mp[0], lm[2 * pose_idx[k] + 1] - mp[1]};
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 3; j++) xx[i][j] += X[i] * X[j];
      px[0][i] += P[0] * X[i];
      px[1][i] += P[1] * X[i];
    }
  }
  double xi[3][3], A[2][3] = {{0}};
  *yaw = *pitch = *roll = 0;
  if (inv3(xx, xi)) return;
  for (int r = 0; r < 2; r++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 3; k++) A[r][j] += px[r][k] * xi[k][j];
  double n1 = sqrt(A[0][0] * A[0][0] + A[0][1] * A[0][1] + A[0][2] * A[0][2]);
  if (n1 < 1e-12) return;
  double r1[3] = {A[0][0] / n1, A[0][1] / n1, A[0][2] / n1};
  double d = r1[0] * A[1][0] + r1[1] * A[1][1] + r1[2] * A[1][2];
  double r2[3] = {A[1][0] - d * r1[0], A[1][1] - d * r1[1], A[1][2] - d * r1[2]};
  double n2 = sqrt(r2[0] * r2[0] + r2[1] * r2[1] + r2[2] * r2[2]);
  if (n2 < 1e-12) return;
  for (int j = 0; j < 3; j++) r2[j] /= n2;
  double r3[3] = {r1[1] * r2[2] - r1[2] * r2[1], r1[2] * r2[0] - r1[0] * r2[2], r1[0] * r2[1] - r1[1] * r2[0]};
  /* R = Rz(roll) Ry(b) Rx(a), rows r1, r2, r3. With these axes b > 0 turns
   * the nose towards the image's left and a > 0 tips the head down; we report
   * yaw > 0 = nose towards the image's right, pitch > 0 = looking up, roll > 0
   * = clockwise in the image. */
  double b = asin(fmax(-1.0, fmin(1.0, -r3[0])));
  double a = atan2(r3[1], r3[2]);
  double g = atan2(r2[0], r1[0]);
  const double deg = 180.0 / M_PI;
  *yaw = (float)(-b * deg);
  *pitch = (float)(-a * deg);
  *roll = (float)(g * deg);
}
