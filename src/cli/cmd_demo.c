/*
 * `facegate demo PHOTO`: the four default models on one real photo, printing
 * what each produced. It is what `make run` shows until the service exists,
 * and a compact, readable walk through the face pipeline's stages:
 *   detect (letterboxed 320x240) → 68 landmarks (box crop, grey 64x64) →
 *   5 ArcFace points → similarity alignment to 112x112 → 512-d embedding (BGR),
 *   and liveness on a 2.7x crop (128x128 BGR).
 * The production pipeline (quality, thresholds, templates) is issue #3's work.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "facegate/image.h"
#include "facegate/nn.h"

typedef struct box { float x0, y0, x1, y1, score; } box;

static const float arcface_template[10] = {38.2946f, 51.6963f, 73.5318f, 51.5014f, 56.0252f,
                                           71.7366f, 41.5493f, 92.3655f, 70.7299f, 92.2041f};

static float iou(const box *a, const box *b) {
  float ix = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0), iy = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0);
  if (ix <= 0 || iy <= 0) return 0;
  float inter = ix * iy, ua = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - inter;
  return inter / ua;
}

static int cmp_score(const void *a, const void *b) {
  float x = ((const box *)a)->score, y = ((const box *)b)->score;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* Sample an axis-aligned region of img (may extend past the border) into a w x h image. */
static int crop_resize(const fg_image *img, float x0, float y0, float cw, float ch, int w, int h, fg_image *out, fg_error *e) {
  float m[6] = {cw / w, 0, x0 + 0.5f * cw / w - 0.5f, 0, ch / h, y0 + 0.5f * ch / h - 0.5f};
  return fg_image_warp_affine(img, m, w, h, FG_IMAGE_BORDER_ZERO, out, e);
}

/* Planar float tensor from interleaved RGB, optionally as BGR, with (x - mean) * scale. */
static void to_planes(const fg_image *im, float *dst, int bgr, float mean, float scale) {
  size_t hw = (size_t)im->width * im->height;
  for (size_t i = 0; i < hw; i++)
    for (int c = 0; c < im->channels; c++) {
      int sc = bgr && im->channels == 3 ? 2 - c : c;
      dst[c * hw + i] = (im->data[i * im->channels + sc] - mean) * scale;
    }
}

/* Least-squares similarity (scale, rotation, translation) mapping src points onto dst. */
static void similarity(const float *src, const float *dst, int n, float m[6]) {
  double sx = 0, sy = 0, dx = 0, dy = 0;
  for (int i = 0; i < n; i++) { sx += src[2 * i]; sy += src[2 * i + 1]; dx += dst[2 * i]; dy += dst[2 * i + 1]; }
  sx /= n; sy /= n; dx /= n; dy /= n;
  double a = 0, b = 0, var = 0;
  for (int i = 0; i < n; i++) {
    double px = src[2 * i] - sx, py = src[2 * i + 1] - sy, qx = dst[2 * i] - dx, qy = dst[2 * i + 1] - dy;
    a += px * qx + py * qy;
    b += px * qy - py * qx;
    var += px * px + py * py;
  }
  a /= var; b /= var;
  m[0] = (float)a; m[1] = (float)-b; m[2] = (float)(dx - a * sx + b * sy);
  m[3] = (float)b; m[4] = (float)a; m[5] = (float)(dy - b * sx - a * sy);
}

static int load_session(const char *dir, const char *file, fg_model **m, fg_session **s) {
  char path[4096];
  fg_error e = {0};
  snprintf(path, sizeof path, "%s/%s", dir, file);
  if (fg_model_load_file(path, NULL, m, &e) || fg_session_create(*m, NULL, s, &e)) {
    fprintf(stderr, "facegate demo: %s\n", cli_errmsg(&e));
    return -1;
  }
  return 0;
}

int cmd_demo(int argc, char **argv) {
  const char *photo = NULL, *dir = NULL;
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate demo PHOTO [--models-dir DIR]\n\n"
           "Runs the four default models on one photo and prints what each produced:\n"
           "faces found, landmarks, the embedding of the most confident face, liveness scores.\n");
    return EXIT_OK;
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--models-dir") && i + 1 < argc) dir = argv[++i];
    else if (argv[i][0] == '-') { fprintf(stderr, "facegate demo: unknown option '%s'\n", argv[i]); return EXIT_USAGE; }
    else photo = argv[i];
  }
  if (!photo) { fprintf(stderr, "usage: facegate demo PHOTO [--models-dir DIR]\n"); return EXIT_USAGE; }
  dir = cli_models_dir(dir);
  fg_error e = {0};
  fg_image img = {0}, tmp = {0};
  fg_model *m[4] = {0};
  fg_session *s[4] = {0};
  int rc = EXIT_FAIL;
  float *det_in = NULL, *scores = NULL, *boxes = NULL;
  box *faces = NULL;
  if (fg_image_decode_file(photo, NULL, &img, &e)) { fprintf(stderr, "facegate demo: %s\n", cli_errmsg(&e)); return EXIT_FAIL; }
  printf("photo: %s (%dx%d)\n", photo, img.width, img.height);
  const char *files[4] = {"fr_detect.onnx", "fr_landmark.onnx", "fr_feature.onnx", "fr_liveness.onnx"};
  for (int i = 0; i < 4; i++)
    if (load_session(dir, files[i], &m[i], &s[i])) goto done;

  /* 1. detector on a letterboxed 320x240 copy (aspect kept, zero padding) */
  float scale = fminf(320.f / img.width, 240.f / img.height);
  if (crop_resize(&img, 0, 0, 320 / scale, 240 / scale, 320, 240, &tmp, &e)) goto img_err;
  det_in = malloc(sizeof(float) * 3 * 320 * 240);
  scores = malloc(sizeof(float) * 4420 * 2);
  boxes = malloc(sizeof(float) * 4420 * 4);
  faces = malloc(sizeof(box) * 4420);
  if (!det_in || !scores || !boxes || !faces) goto done;
  to_planes(&tmp, det_in, 0, 127.f, 1 / 128.f);
  fg_image_release(&tmp);
  {
    const float *in[1] = {det_in};
    float *out[2] = {scores, boxes};
    if (fg_session_run(s[0], in, out, &e)) goto nn_err;
  }
  int nf = 0;
  for (int i = 0; i < 4420; i++)
    if (scores[2 * i + 1] > 0.7f)
      faces[nf++] = (box){boxes[4 * i] * 320 / scale, boxes[4 * i + 1] * 240 / scale, boxes[4 * i + 2] * 320 / scale,
                          boxes[4 * i + 3] * 240 / scale, scores[2 * i + 1]};
  qsort(faces, (size_t)nf, sizeof *faces, cmp_score);
  int kept = 0;
  for (int i = 0; i < nf; i++) {
    int keep = 1;
    for (int j = 0; j < kept && keep; j++)
      if (iou(&faces[i], &faces[j]) > 0.3f) keep = 0;
    if (keep) faces[kept++] = faces[i];
  }
  printf("detector:  %d face(s) (score > 0.7, NMS IoU 0.3)\n", kept);
  for (int i = 0; i < kept && i < 10; i++)
    printf("  face %d: score %.3f box (%.0f, %.0f)-(%.0f, %.0f)\n", i, faces[i].score, faces[i].x0, faces[i].y0, faces[i].x1, faces[i].y1);
  if (!kept) { printf("no face: nothing more to show\n"); rc = EXIT_OK; goto done; }
  box f = faces[0];
  float bw = f.x1 - f.x0, bh = f.y1 - f.y0;

  /* 2. 68 landmarks on the box crop, grey 64x64, x/256 */
  fg_image grey = {0};
  float lm_in[64 * 64], lm[136], pts[136];
  if (crop_resize(&img, f.x0, f.y0, bw, bh, 64, 64, &tmp, &e) || fg_image_to_grey(&tmp, &grey, &e)) goto img_err;
  fg_image_release(&tmp);
  to_planes(&grey, lm_in, 0, 0, 1 / 256.f);
  fg_image_release(&grey);
  {
    const float *in[1] = {lm_in};
    float *out[1] = {lm};
    if (fg_session_run(s[1], in, out, &e)) goto nn_err;
  }
  for (int i = 0; i < 68; i++) { pts[2 * i] = f.x0 + lm[2 * i] * bw; pts[2 * i + 1] = f.y0 + lm[2 * i + 1] * bh; }
  float five[10] = {0};
  for (int i = 36; i < 42; i++) { five[0] += pts[2 * i] / 6; five[1] += pts[2 * i + 1] / 6; }
  for (int i = 42; i < 48; i++) { five[2] += pts[2 * i] / 6; five[3] += pts[2 * i + 1] / 6; }
  five[4] = pts[60]; five[5] = pts[61];      /* nose tip, point 30 */
  five[6] = pts[96]; five[7] = pts[97];      /* mouth corner, point 48 */
  five[8] = pts[108]; five[9] = pts[109];    /* mouth corner, point 54 */
  printf("landmarks: 68 points; eyes (%.1f, %.1f) and (%.1f, %.1f), nose (%.1f, %.1f), mouth (%.1f, %.1f)-(%.1f, %.1f)\n",
         five[0], five[1], five[2], five[3], five[4], five[5], five[6], five[7], five[8], five[9]);
  printf("           inter-eye distance %.1f px\n", hypotf(five[2] - five[0], five[3] - five[1]));

  /* 3. align to the ArcFace template, embed (BGR planes, (x-127)/128), L2-normalise */
  float sim[6], inv[6], feat_in[3 * 112 * 112], emb[512];
  similarity(five, arcface_template, 5, sim);
  fg_image_affine_invert(sim, inv);
  if (fg_image_warp_affine(&img, inv, 112, 112, FG_IMAGE_BORDER_ZERO, &tmp, &e)) goto img_err;
  to_planes(&tmp, feat_in, 1, 127.f, 1 / 128.f);
  fg_image_release(&tmp);
  {
    const float *in[1] = {feat_in};
    float *out[1] = {emb};
    if (fg_session_run(s[2], in, out, &e)) goto nn_err;
  }
  double norm = 0;
  for (int i = 0; i < 512; i++) norm += (double)emb[i] * emb[i];
  norm = sqrt(norm);
  printf("embedding: 512-d, raw L2 norm %.3f; normalised first values:", norm);
  for (int i = 0; i < 6; i++) printf(" %+.4f", emb[i] / norm);
  printf(" ...\n");

  /* 4. liveness on a 2.7x crop about the face centre, 128x128 BGR, raw 0..255 */
  float lv_in[3 * 128 * 128], lv[3];
  float cx = (f.x0 + f.x1) / 2, cy = (f.y0 + f.y1) / 2, lw = bw * 2.7f, lh = bh * 2.7f;
  if (crop_resize(&img, cx - lw / 2, cy - lh / 2, lw, lh, 128, 128, &tmp, &e)) goto img_err;
  to_planes(&tmp, lv_in, 1, 0, 1);
  fg_image_release(&tmp);
  {
    const float *in[1] = {lv_in};
    float *out[1] = {lv};
    if (fg_session_run(s[3], in, out, &e)) goto nn_err;
  }
  float mx = fmaxf(lv[0], fmaxf(lv[1], lv[2])), se = 0, p[3];
  for (int i = 0; i < 3; i++) se += p[i] = expf(lv[i] - mx);
  printf("liveness:  raw (%.3f, %.3f, %.3f), softmax (%.3f, %.3f, %.3f) — a signal whose error rates are not yet measured\n",
         lv[0], lv[1], lv[2], p[0] / se, p[1] / se, p[2] / se);
  rc = EXIT_OK;
  goto done;
img_err:
nn_err:
  fprintf(stderr, "facegate demo: %s\n", cli_errmsg(&e));
done:
  fg_image_release(&img);
  fg_image_release(&tmp);
  for (int i = 0; i < 4; i++) { fg_session_destroy(s[i]); fg_model_destroy(m[i]); }
  free(det_in); free(scores); free(boxes); free(faces);
  return rc;
}
