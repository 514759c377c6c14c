/*
 * Capture conditions derived from an unmodified face image (facegate/eval.h):
 * what `facegate eval robustness` measures the pipeline under. Each condition
 * is a short list of steps (crop about the face, resize, directional light,
 * gain, gamma, backlight, grey, a small face in a wide frame, a JPEG round
 * trip), applied in a fixed order while an affine map keeps track of where the
 * face went, so that later steps (light, small) know where it is.
 *
 * The light model: the head is an ellipsoid around the face (half-axes 0.75
 * and 0.8 times the detector box), its lateral slopes steepened 1.6x, with
 * normal n at each pixel; a photo lit from the
 * front is relit by the ratio (a + (1 - a) max(0, n.L)) / (a + (1 - a) n_z)
 * for a light direction L and an ambient share a, capped at 2.5 so the lit
 * rim does not blow up. Outside the ellipse the normal is the silhouette's
 * (n_z = 0). It is no physical model of a face, but it reproduces what side
 * light does to a camera frame: one half of the face near black, the other
 * bright, with a shading edge across the nose.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "facegate/eval.h"

/* name, what, crop, margin, aspect, dy, jitter, out_w, out_h,
 * light, az, az_max, el, el_max, ambient, gain, gamma, backlight, grey,
 * small_ied, canvas_w, canvas_h, jpeg */
static const fg_condition table[] = {
    {"none", "unmodified", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"crop-25", "crop: the face box plus 25% of its size on each side", 1, 0.25f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
     0, 0, 0, 0, 0, 0, 0},
    {"crop-10", "crop: the face box plus 10% on each side", 1, 0.10f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
     0, 0, 0},
    {"crop-box", "crop: the face box itself", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"crop-in10", "crop: 10% inside the face box on each side (chin and forehead cut)", 1, -0.10f, 0, 0, 0, 0, 0, 0,
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"crop-doc", "document crop: box height, 7:8 width, jittered 4%, 168x192", 1, 0, 0.875f, 0, 0.04f, 168, 192, 0,
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"grey", "grey (one channel)", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0},
    {"light-30", "directional light 30 deg from the side", 0, 0, 0, 0, 0, 0, 0, 1, 30, 0, 0, 0, 0.06f, 0, 0, 0, 0, 0,
     0, 0, 0},
    {"light-60", "directional light 60 deg from the side", 0, 0, 0, 0, 0, 0, 0, 1, 60, 0, 0, 0, 0.06f, 0, 0, 0, 0, 0,
     0, 0, 0},
    {"light-90", "directional light 90 deg from the side", 0, 0, 0, 0, 0, 0, 0, 1, 90, 0, 0, 0, 0.06f, 0, 0, 0, 0, 0,
     0, 0, 0},
    {"light-120", "directional light 120 deg from the side (from behind)", 0, 0, 0, 0, 0, 0, 0, 1, 120, 0, 0, 0,
     0.06f, 0, 0, 0, 0, 0, 0, 0, 0},
    {"light-top", "directional light 60 deg from above", 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 60, 0, 0.06f, 0, 0, 0, 0, 0, 0,
     0, 0},
    {"dim", "under-exposed: pixel values x 0.3", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.3f, 0, 0, 0, 0, 0, 0, 0},
    {"dark", "very dark: pixel values x 0.1", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.1f, 0, 0, 0, 0, 0, 0, 0},
    {"black", "near black: pixel values x 0.03", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.03f, 0, 0, 0, 0, 0, 0, 0},
    {"gamma-2.2", "gamma 2.2 (dark mid-tones)", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2.2f, 0, 0, 0, 0, 0, 0},
    {"gamma-0.4", "gamma 0.4 (washed out)", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.4f, 0, 0, 0, 0, 0, 0},
    {"overexposed", "over-exposed: pixel values x 2.5, clipped", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2.5f, 0, 0,
     0, 0, 0, 0, 0},
    {"backlight", "backlight: head at 25%, background towards white", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
     0.25f, 0, 0, 0, 0, 0},
    {"small-24", "eyes 24 px apart in a 640x480 frame", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 24, 640,
     480, 0},
    {"small-32", "eyes 32 px apart in a 640x480 frame", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 640,
     480, 0},
    {"small-48", "eyes 48 px apart in a 640x480 frame", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 48, 640,
     480, 0},
    {"small-64", "eyes 64 px apart in a 640x480 frame (enlarged)", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
     64, 640, 480, 0},
    {"jpeg-20", "JPEG quality 20", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20},
    {"jpeg-8", "JPEG quality 8", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8},
    {"doc-grey-light", "grey 168x192 document crop, light 0-130 deg from either side, elevation -20..45",
     1, 0, 0.875f, 0, 0.04f, 168, 192, 1, 0, 130, -20, 45, 0.04f, 0, 0, 0, 1, 0, 0, 0, 0},
    {"head-grey", "grey 92x112, the head filling the frame (1.3x box height, 9:11)", 1, 0.15f, 0.82f, -0.06f,
     0.04f, 92, 112, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0},
};

size_t fg_conditions(const fg_condition **list) {
  if (list) *list = table;
  return sizeof table / sizeof table[0];
}

const fg_condition *fg_condition_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcmp(table[i].name, name)) return &table[i];
  return NULL;
}

/* splitmix64: a small, well-mixed generator for the random parts. */
static uint64_t next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static double uniform(uint64_t *s) { return (double)(next(s) >> 11) / 9007199254740992.0; }

/* The face as it moves through the steps: box and points in the current image. */
typedef struct geo {
  double box[4], pts[10];
} geo;

static void geo_map(geo *g, double sx, double sy, double ox, double oy) {
  for (int i = 0; i < 4; i++) g->box[i] = g->box[i] * (i % 2 ? sy : sx) + (i % 2 ? oy : ox);
  for (int i = 0; i < 10; i++) g->pts[i] = g->pts[i] * (i % 2 ? sy : sx) + (i % 2 ? oy : ox);
}

static uint8_t clip8(double v) { return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lround(v); }

/* Replace *im with a w x h window whose top-left is at (x, y) (mid-grey outside). */
static int window(fg_image *im, int x, int y, int w, int h, fg_error *err) {
  fg_image o = {0};
  int rc = fg_image_init(&o, w, h, im->channels, err);
  if (rc) return rc;
  memset(o.data, 128, (size_t)w * h * im->channels);
  const int C = im->channels;
  for (int r = 0; r < h; r++) {
    int sy = y + r;
    if (sy < 0 || sy >= im->height) continue;
    int c0 = x < 0 ? -x : 0, c1 = x + w > im->width ? im->width - x : w;
    if (c1 > c0)
      memcpy(o.data + ((size_t)r * w + c0) * C, im->data + ((size_t)sy * im->width + x + c0) * C,
             (size_t)(c1 - c0) * C);
  }
  fg_image_release(im);
  *im = o;
  return FG_OK;
}

static int resize(fg_image *im, int w, int h, fg_error *err) {
  if (w == im->width && h == im->height) return FG_OK;
  fg_image o = {0};
  int rc = w < im->width && h < im->height ? fg_image_resize_area(im, w, h, &o, err)
                                           : fg_image_resize_bilinear(im, w, h, &o, err);
  if (rc) return rc;
  fg_image_release(im);
  *im = o;
  return FG_OK;
}

static int step_crop(const fg_condition *c, fg_image *im, geo *g, uint64_t *rng, fg_error *err) {
  double bw = g->box[2] - g->box[0], bh = g->box[3] - g->box[1];
  double cx = (g->box[0] + g->box[2]) / 2, cy = (g->box[1] + g->box[3]) / 2 + c->crop_dy * bh;
  double w = bw * (1 + 2 * c->crop_margin), h = bh * (1 + 2 * c->crop_margin);
  if (c->crop_aspect > 0) w = h * c->crop_aspect;
  if (c->crop_jitter > 0) {
    double j = c->crop_jitter, s = 1 + j * (2 * uniform(rng) - 1);
    cx += j * w * (2 * uniform(rng) - 1);
    cy += j * h * (2 * uniform(rng) - 1);
    w *= s, h *= s;
  }
  int x = (int)lround(cx - w / 2), y = (int)lround(cy - h / 2);
  int iw = (int)lround(w), ih = (int)lround(h);
  if (iw < 2 || ih < 2) return fg__seterr(err, FG_EINVAL, "condition %s: face box too small", c->name);
  int rc = window(im, x, y, iw, ih, err);
  if (rc) return rc;
  geo_map(g, 1, 1, -x, -y);
  return FG_OK;
}

#define SIDE 1.6

static void step_light(const fg_condition *c, fg_image *im, const geo *g, uint64_t *rng) {
  double az = c->light_az, el = c->light_el;
  if (c->light_az_max > c->light_az) {
    az = c->light_az + (c->light_az_max - c->light_az) * uniform(rng);
    if (next(rng) & 1) az = -az;
  }
  if (c->light_el_max > c->light_el) el = c->light_el + (c->light_el_max - c->light_el) * uniform(rng);
  const double d = M_PI / 180;
  /* Light direction: x to the image's right, y down, z towards the camera. */
  double lx = sin(az * d) * cos(el * d), ly = -sin(el * d), lz = cos(az * d) * cos(el * d);
  double cx = (g->box[0] + g->box[2]) / 2, cy = (g->box[1] + g->box[3]) / 2;
  double a = 0.75 * (g->box[2] - g->box[0]), b = 0.8 * (g->box[3] - g->box[1]);
  double amb = c->ambient;
  const int C = im->channels;
  for (int y = 0; y < im->height; y++)
    for (int x = 0; x < im->width; x++) {
      double u = (x + 0.5 - cx) / a, v = (y + 0.5 - cy) / b, r2 = u * u + v * v, nz = 0;
      if (r2 < 1) {
        /* Lateral slopes steepened (x SIDE): cheeks and temples face sideways
         * sooner than on a sphere, as on a head. */
        nz = sqrt(1 - r2);
        u *= SIDE, v *= SIDE;
        double l = sqrt(u * u + v * v + nz * nz);
        u /= l, v /= l, nz /= l;
      } else {
        u /= sqrt(r2), v /= sqrt(r2);
      }
      double lit = u * lx + v * ly + nz * lz;
      double ratio = (amb + (1 - amb) * fmax(0, lit)) / (amb + (1 - amb) * nz);
      if (ratio > 2.5) ratio = 2.5;
      uint8_t *p = im->data + ((size_t)y * im->width + x) * C;
      for (int k = 0; k < C; k++) p[k] = clip8(p[k] * ratio);
    }
}

static void step_backlight(const fg_condition *c, fg_image *im, const geo *g) {
  /* The head: an ellipse a little larger than the face box, soft-edged. */
  double cx = (g->box[0] + g->box[2]) / 2, cy = (g->box[1] + g->box[3]) / 2;
  double a = 0.75 * (g->box[2] - g->box[0]), b = 0.75 * (g->box[3] - g->box[1]);
  const int C = im->channels;
  for (int y = 0; y < im->height; y++)
    for (int x = 0; x < im->width; x++) {
      double u = (x + 0.5 - cx) / a, v = (y + 0.5 - cy) / b, r = sqrt(u * u + v * v);
      double head = r < 0.9 ? 1 : r > 1.1 ? 0 : (1.1 - r) / 0.2;
      uint8_t *p = im->data + ((size_t)y * im->width + x) * C;
      for (int k = 0; k < C; k++) {
        double fg = p[k] * c->backlight, bg = 255 - (255 - p[k]) * 0.25;
        p[k] = clip8(head * fg + (1 - head) * bg);
      }
    }
}

static int step_small(const fg_condition *c, fg_image *im, geo *g, fg_error *err) {
  double ied = hypot(g->pts[2] - g->pts[0], g->pts[3] - g->pts[1]);
  if (!(ied > 1)) return fg__seterr(err, FG_EINVAL, "condition %s: eye points coincide", c->name);
  double s = c->small_ied / ied;
  int w = (int)lround(im->width * s), h = (int)lround(im->height * s);
  if (w < 1) w = 1;
  if (h < 1) h = 1;
  double sx = (double)w / im->width, sy = (double)h / im->height;
  int rc = resize(im, w, h, err);
  if (rc) return rc;
  geo_map(g, sx, sy, 0, 0);
  /* The face centre at the canvas centre. */
  double fx = (g->box[0] + g->box[2]) / 2, fy = (g->box[1] + g->box[3]) / 2;
  int x = (int)lround(fx - c->canvas_w / 2.0), y = (int)lround(fy - c->canvas_h / 2.0);
  if ((rc = window(im, x, y, c->canvas_w, c->canvas_h, err))) return rc;
  geo_map(g, 1, 1, -x, -y);
  return FG_OK;
}

static int step_jpeg(const fg_condition *c, fg_image *im, fg_error *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = fg_image_encode_jpeg(im, c->jpeg_quality, &buf, &len, err);
  if (rc) return rc;
  fg_image o = {0};
  fg_image_limits lim = {0};
  lim.flags = im->channels == 1 ? FG_IMAGE_KEEP_GREY : 0;
  rc = fg_image_decode(buf, len, &lim, &o, err);
  free(buf);
  if (rc) return rc;
  fg_image_release(im);
  *im = o;
  return FG_OK;
}

int fg_condition_apply(const fg_condition *c, const fg_image *src, const fg_condition_face *face, uint64_t seed,
                       fg_image *out, fg_error *err) {
  memset(out, 0, sizeof *out);
  if (!c || !face) return fg__seterr(err, FG_EINVAL, "condition: NULL condition or face");
  if (!src || !src->data || src->width <= 0 || src->height <= 0 || (src->channels != 1 && src->channels != 3))
    return fg__seterr(err, FG_EINVAL, "condition: not a decoded image");
  if (!(face->box[2] > face->box[0] && face->box[3] > face->box[1]))
    return fg__seterr(err, FG_EINVAL, "condition %s: empty face box", c->name);
  geo g;
  for (int i = 0; i < 4; i++) g.box[i] = face->box[i];
  for (int i = 0; i < 10; i++) g.pts[i] = face->points[i];
  uint64_t rng = seed ^ 0x5eed5eed5eed5eedull;
  fg_image im = {0};
  int rc = fg_image_to_rgb(src, &im, err);
  if (rc) return rc;
  if (c->crop && (rc = step_crop(c, &im, &g, &rng, err))) goto fail;
  if (c->out_w > 0 && c->out_h > 0) {
    double sx = (double)c->out_w / im.width, sy = (double)c->out_h / im.height;
    if ((rc = resize(&im, c->out_w, c->out_h, err))) goto fail;
    geo_map(&g, sx, sy, 0, 0);
  }
  if (c->light) step_light(c, &im, &g, &rng);
  if (c->gain > 0 || c->gamma > 0) {
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) {
      double x = v * (c->gain > 0 ? c->gain : 1);
      if (c->gamma > 0) x = 255 * pow(fmin(x, 255) / 255, c->gamma);
      lut[v] = clip8(x);
    }
    for (size_t i = 0; i < (size_t)im.width * im.height * im.channels; i++) im.data[i] = lut[im.data[i]];
  }
  if (c->backlight > 0) step_backlight(c, &im, &g);
  if (c->grey) {
    fg_image grey = {0};
    if ((rc = fg_image_to_grey(&im, &grey, err))) goto fail;
    fg_image_release(&im);
    im = grey;
  }
  if (c->small_ied > 0 && (rc = step_small(c, &im, &g, err))) goto fail;
  if (c->jpeg_quality > 0 && (rc = step_jpeg(c, &im, err))) goto fail;
  *out = im;
  return FG_OK;
fail:
  fg_image_release(&im);
  return rc;
}
