/*
 * Images for a person to look at: what an officer compares when reviewing a
 * referral (referral.c). Two things matter to a person judging identity, and
 * neither is the 112-pixel aligned crop the recogniser sees:
 *
 *   - every photo in a form the browser shows, at its own resolution: JPEG
 *     and PNG are passed through as stored; JPEG 2000, a passport chip's DG2
 *     and PNM are decoded and re-encoded as JPEG (quality 92) pixel for pixel,
 *     never scaled;
 *   - the gate capture's face region: the face the gate chose (the same rule
 *     as the pipeline, fg_face_select), widened to head and shoulders and cut
 *     from the capture at the capture's own resolution, so that a 1920x1080
 *     frame does not shrink the face to a thumbnail.
 *
 * The plaintext images are wiped before they are freed (they are biometric
 * data, however briefly in the clear).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "facegate/face.h"
#include "facegate/image.h"

#define DISPLAY_JPEG_QUALITY 92
/* The region around the detector's box (which runs from the brow to the
 * chin): this many box widths wide and box heights high, its centre moved up
 * by REGION_UP box heights so that the hair and the top of the head show. */
#define REGION_W 1.9f
#define REGION_H 2.3f
#define REGION_UP 0.08f

static void wipe_image(fg_image *img) {
  if (img->data) sodium_memzero(img->data, (size_t)img->width * (size_t)img->height * (size_t)img->channels);
  fg_image_release(img);
}

json_t *fg__base64_json(const uint8_t *p, size_t n) {
  size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
  char *s = malloc(cap);
  if (!s) return NULL;
  sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
  json_t *j = json_string(s);
  sodium_memzero(s, cap); /* an image in clear, however encoded */
  free(s);
  return j;
}

static int encode(const fg_image *img, uint8_t **out, size_t *n, fg_error *err) {
  return fg_image_encode_jpeg(img, DISPLAY_JPEG_QUALITY, out, n, err);
}

int fg__display_image(const uint8_t *p, size_t n, uint8_t **out, size_t *out_n, fg_error *err) {
  *out = NULL;
  *out_n = 0;
  fg_image_format f = fg_image_sniff(p, n);
  if (f == FG_IMAGE_FORMAT_JPEG || f == FG_IMAGE_FORMAT_PNG) {
    if (!(*out = malloc(n ? n : 1))) return fg__seterr(err, FG_ENOMEM, "out of memory");
    memcpy(*out, p, n);
    *out_n = n;
    return FG_OK;
  }
  fg_image img = {0};
  int rc = fg_image_decode(p, n, NULL, &img, err);
  if (rc == FG_OK) rc = encode(&img, out, out_n, err);
  wipe_image(&img);
  return rc;
}

int fg__display_face_region(fg_border *b, const uint8_t *p, size_t n, json_t **out,
                            fg_error *err) {
  *out = NULL;
  fg_face_engine *fe;
  int rc = fg__border_face(b, &fe, err);
  if (rc != FG_OK) return rc;
  fg_image img = {0}, crop = {0};
  fg_face_detections det;
  uint8_t *jpg = NULL;
  size_t jn = 0;
  if ((rc = fg_image_decode(p, n, NULL, &img, err)) != FG_OK) return rc;
  if ((rc = fg_face_detect(fe, &img, &det, err)) != FG_OK) goto done;
  int k = fg_face_select(&det, img.width, img.height);
  if (k < 0) goto done; /* no face: no region, and not an error */
  const fg_face_box *f = &det.faces[k];
  float bw = f->x1 - f->x0, bh = f->y1 - f->y0;
  float cx = (f->x0 + f->x1) / 2, cy = (f->y0 + f->y1) / 2 - REGION_UP * bh;
  float w = bw * REGION_W, h = bh * REGION_H;
  int x0 = (int)fmaxf(0, floorf(cx - w / 2)), y0 = (int)fmaxf(0, floorf(cy - h / 2));
  int x1 = (int)fminf((float)img.width, ceilf(cx + w / 2));
  int y1 = (int)fminf((float)img.height, ceilf(cy + h / 2));
  if (x1 - x0 < 2 || y1 - y0 < 2) goto done;
  if ((rc = fg_image_crop(&img, x0, y0, x1 - x0, y1 - y0, &crop, err)) != FG_OK) goto done;
  if ((rc = encode(&crop, &jpg, &jn, err)) != FG_OK) goto done;
  json_t *b64 = fg__base64_json(jpg, jn);
  *out = b64 ? json_pack("{s:o, s:i, s:i, s:i, s:i, s:i, s:i}", "image", b64, "x", x0, "y", y0,
                         "w", x1 - x0, "h", y1 - y0, "width", img.width, "height", img.height)
             : NULL;
  if (!*out) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
done:
  if (jpg) sodium_memzero(jpg, jn);
  free(jpg);
  wipe_image(&crop);
  wipe_image(&img);
  return rc;
}
