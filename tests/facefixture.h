/*
 * A small flight of faces for the tests that otherwise need LFW.
 *
 * ff_build(samples, dir) writes nine people, four 250x250 JPEG photos each,
 * in LFW's layout: dir/lfw-deepfunneled/<Name>/<Name>_000k.jpg. The people
 * are faces in the sample photos that scripts/setup installs (var/samples:
 * the demo photos of @vladmandic/face-api, MIT, pinned by SHA-256 in
 * scripts/samples.sha256); the boxes below are the detector's on those files.
 * Each person's photos are different views of one face: another crop size
 * and position, a few degrees of roll, mirrored or not, lighter or darker
 * (FF_VIEWS). The first person also appears in a second sample photo, taken
 * at another moment: their fourth photo is that one (a real second photo).
 *
 * Same-person views of one face score much higher than two LFW photos taken
 * years apart, so the fixture checks the decision logic (who is matched,
 * referred, crossed), not accuracy; the faces of different people are as
 * far apart as LFW strangers (cosine below 0.3 between any two of the nine).
 */
#ifndef FG_FACEFIXTURE_H
#define FG_FACEFIXTURE_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "facegate/image.h"

#define FF_PEOPLE 9
#define FF_PHOTOS 4

typedef struct ff_face {
  int sample;           /* var/samples/sample<N>.jpg */
  float x0, y0, x1, y1; /* the face box in that photo */
  float roll;           /* degrees that straighten the head (added to the view's) */
} ff_face;

typedef struct ff_person {
  const char *name; /* folder and file name, as LFW's */
  ff_face face;
  ff_face other;    /* sample 0: none; else photo 4 is this (another photo of them) */
} ff_person;

static const ff_person FF_PERSON[FF_PEOPLE] = {
    {"Sample_Amber", {3, 1075, 212, 1301, 500, 0}, {1, 1465, 215, 1699, 442, 42}},
    {"Sample_Basil", {4, 262, 193, 428, 442, 0}, {0, 0, 0, 0, 0, 0}},
    {"Sample_Cedar", {3, 588, 320, 793, 605, 0}, {0, 0, 0, 0, 0, 0}},
    {"Sample_Delta", {4, 990, 178, 1165, 429, 0}, {0, 0, 0, 0, 0, 0}},
    {"Sample_Ember", {5, 1411, 383, 1593, 658, 0}, {0, 0, 0, 0, 0, 0}},
    {"Sample_Fjord", {6, 259, 482, 470, 758, 0}, {0, 0, 0, 0, 0, 0}},
    {"Sample_Grove", {5, 1120, 210, 1275, 432, 0}, {0, 0, 0, 0, 0, 0}},
    {"Sample_Heron", {6, 1477, 267, 1702, 560, 0}, {0, 0, 0, 0, 0, 0}},
    {"Sample_Indigo", {5, 378, 878, 555, 1167, 0}, {0, 0, 0, 0, 0, 0}},
};

/* How photo k (1..4) is taken from the face: the crop's side in face sizes,
 * its centre's shift (face sizes), roll in degrees, mirrored, light gain. */
typedef struct ff_view {
  float side, dx, dy, roll;
  int mirror;
  float gain;
} ff_view;

static const ff_view FF_VIEWS[FF_PHOTOS] = {
    {2.0f, 0.00f, 0.00f, 0.0f, 0, 1.00f},
    {2.2f, 0.06f, -0.04f, 5.0f, 1, 0.85f},
    {1.8f, -0.05f, 0.05f, -4.0f, 0, 1.15f},
    {2.1f, 0.03f, 0.03f, 3.0f, 1, 1.00f},
};

static int ff_fail(fg_error *err, const char *path) {
  if (err) {
    err->code = FG_EIO;
    snprintf(err->msg, sizeof err->msg, "%.400s: %s", path, strerror(errno));
  }
  return FG_EIO;
}

static int ff_fail_too_long(fg_error *err, const char *dir) {
  if (err) {
    err->code = FG_EINVAL;
    snprintf(err->msg, sizeof err->msg, "%.400s: path too long", dir);
  }
  return FG_EINVAL;
}

/* One 250x250 view of the face in img: dest -> source map, then the gain. */
static int ff_view_of(const fg_image *img, const ff_face *f, const ff_view *v, fg_image *out,
                      fg_error *err) {
  const int n = 250;
  float s = fmaxf(f->x1 - f->x0, f->y1 - f->y0);
  float cx = (f->x0 + f->x1) / 2 + v->dx * s, cy = (f->y0 + f->y1) / 2 + v->dy * s;
  float scale = v->side * s / n; /* source pixels per output pixel */
  float a = (v->roll + f->roll) * 3.14159265f / 180, c = cosf(a) * scale, sn = sinf(a) * scale;
  float mx = v->mirror ? -1.0f : 1.0f;
  float h = (n - 1) / 2.0f;
  /* src = centre + R * S * (dest - h), the x axis mirrored first */
  float m[6] = {mx * c, -sn, 0, mx * sn, c, 0};
  m[2] = cx - (m[0] * h + m[1] * h);
  m[5] = cy - (m[3] * h + m[4] * h);
  int rc = fg_image_warp_affine(img, m, n, n, FG_IMAGE_BORDER_REPLICATE, out, err);
  if (rc != FG_OK) return rc;
  size_t len = (size_t)out->width * (size_t)out->height * (size_t)out->channels;
  for (size_t i = 0; i < len; i++) {
    float x = out->data[i] * v->gain;
    out->data[i] = (uint8_t)(x > 255 ? 255 : x + 0.5f);
  }
  return FG_OK;
}

static int ff_write_view(const char *samples, const ff_face *f, const ff_view *v,
                         const char *path, fg_error *err) {
  char src[4096];
  if (snprintf(src, sizeof src, "%s/sample%d.jpg", samples, f->sample) >= (int)sizeof src)
    return ff_fail_too_long(err, samples);
  fg_image img = {0}, view = {0};
  uint8_t *jpg = NULL;
  size_t len = 0;
  int rc = fg_image_decode_file(src, NULL, &img, err);
  if (rc == FG_OK) rc = ff_view_of(&img, f, v, &view, err);
  if (rc == FG_OK) rc = fg_image_encode_jpeg(&view, 90, &jpg, &len, err);
  if (rc == FG_OK) {
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(jpg, 1, len, fp) != len) rc = ff_fail(err, path);
    if (fp && fclose(fp) != 0 && rc == FG_OK) rc = ff_fail(err, path);
  }
  free(jpg);
  fg_image_release(&view);
  fg_image_release(&img);
  return rc;
}

/* Write the fixture under dir (which must exist); FG_OK or the first error. */
static int ff_build(const char *samples, const char *dir, fg_error *err) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/lfw-deepfunneled", dir) >= (int)sizeof path)
    return ff_fail_too_long(err, dir);
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    return ff_fail(err, path);
  for (int p = 0; p < FF_PEOPLE; p++) {
    const ff_person *who = &FF_PERSON[p];
    if (snprintf(path, sizeof path, "%s/lfw-deepfunneled/%s", dir, who->name) >= (int)sizeof path)
      return ff_fail_too_long(err, dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
      return ff_fail(err, path);
    for (int k = 1; k <= FF_PHOTOS; k++) {
      const ff_face *f = k == FF_PHOTOS && who->other.sample ? &who->other : &who->face;
      if (snprintf(path, sizeof path, "%s/lfw-deepfunneled/%s/%s_%04d.jpg", dir, who->name,
                   who->name, k) >= (int)sizeof path)
        return ff_fail_too_long(err, dir);
      int rc = ff_write_view(samples, f, &FF_VIEWS[f == &who->other ? 0 : k - 1], path, err);
      if (rc != FG_OK) return rc;
    }
  }
  return FG_OK;
}

#endif
