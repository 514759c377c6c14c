/*
 * bench/pipeline_bench — facegate's side of `make bench-pipeline`
 * (scripts/bench-pipeline): the whole face pipeline, from the bytes of a JPEG
 * to a template, timed stage by stage with the engine's own per-stage clocks
 * (fg_face_result.ms: decode, detect, landmarks, align, quality, liveness,
 * embed, total).
 *
 * usage: pipeline_bench [--threads N] [--runs R] [--warmup W] [--models-dir D]
 *                       [--flip|--no-flip] [--no-liveness] [--decode-side N]
 *                       [--precision P] [--backend onednn|xnnpack]
 *                       [--options-out F.json] IMAGE...
 *   --threads N  threads per inference (fg_face_options.threads; default 1):
 *                one image at a time, as a gate processes its camera
 *   --runs R     timed runs per image (default 1); --warmup W untimed runs of
 *                the first image first (default 5)
 *   --no-liveness  liveness model off (fg_face_options.liveness = 0, as the
 *                border module runs by default when its policy has no liveness check)
 *   --decode-side N  fg_face_options.decode_side (default: the engine's)
 *   --options-out F  write the engine's resolved options as JSON, so that the
 *                ONNX Runtime peer (bench/pipeline_ort.js) runs the same stages
 *   --compare-decode-side N  no timing: run every image also through an engine
 *                with decode_side N and print how far the results are from the
 *                first engine's: embedding cosine (mean, min), the box's and the
 *                landmarks' largest coordinate difference and the live
 *                probability's (max over images, full-frame pixels), one line of
 *                JSON (scripts/eval-decode)
 * Each image's bytes are read into memory once, before timing: the decode
 * stage is decoding, not disk I/O. Prints one line of JSON:
 *   {"threads": N, "samples": S, "median_ms": {"decode": …, …, "total": …},
 *    "p10_ms": {the same stages' 10th percentiles},
 *    "status": {"ok": …, "no_face": …, "low_quality": …}}
 * where each median is over all (image, run) samples.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facegate/face.h"
#include "facegate/nn.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
  if (!n) return 0;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = n > 0 ? malloc((size_t)n) : NULL;
  if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
    free(p);
    p = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return p;
}

static void write_options(const char *path, const fg_face_engine *fe) {
  const fg_face_options *o = fg_face_engine_options(fe);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "pipeline_bench: cannot write %s\n", path);
    exit(1);
  }
  fprintf(f, "{\"det_score\": %g, \"det_nms_iou\": %g, \"min_face_px\": %g, \"det_bgr\": %d,\n", o->det_score,
          o->det_nms_iou, o->min_face_px, o->det_channels == FG_CHANNELS_BGR);
  fprintf(f, " \"lm_square\": %d, \"lm_crop_scale\": %g, \"lm_refine\": %d, \"lm_mean\": %g, \"lm_scale\": %g,"
             " \"points5_eye4\": %d,\n",
          o->lm_crop == FG_LANDMARK_CROP_SQUARE, o->lm_crop_scale, o->lm_refine, o->lm_mean, o->lm_scale,
          o->points5 == FG_POINTS5_EYE4);
  fprintf(f, " \"align_template\": [");
  for (int i = 0; i < 10; i++) fprintf(f, "%s%g", i ? ", " : "", o->align_template[i]);
  fprintf(f, "],\n \"feat_bgr\": %d, \"feat_mean\": %g, \"feat_scale\": %g, \"flip\": %d,\n",
          o->feat_channels == FG_CHANNELS_BGR, o->feat_mean, o->feat_scale, o->flip);
  fprintf(f, " \"liveness\": %d, \"live_crop_scale\": %g, \"live_bgr\": %d, \"live_mean\": %g, \"live_scale\": %g,"
             " \"live_index\": %d}\n",
          o->liveness, o->live_crop_scale, o->live_channels == FG_CHANNELS_BGR, o->live_mean, o->live_scale,
          o->live_index);
  fclose(f);
}

/* --compare-decode-side: each image through fe and through fe2. */
static int compare(fg_face_engine *fe, fg_face_engine *fe2, int side2, uint8_t **buf, size_t *len, int n) {
  fg_face_result *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  fg_error e = {0};
  double csum = 0, cmin = 1, box = 0, lm = 0, live = 0;
  int k = 0, skipped = 0;
  for (int i = 0; i < n; i++) {
    if (fg_face_process_buffer(fe, buf[i], len[i], NULL, a, &e) || fg_face_process_buffer(fe2, buf[i], len[i], NULL, b, &e)) {
      fprintf(stderr, "pipeline_bench: image %d: %s\n", i, e.msg);
      return 1;
    }
    if (a->status == FG_FACE_NO_FACE || b->status == FG_FACE_NO_FACE || a->dim != b->dim) { skipped++; continue; }
    double c = 0;
    for (int j = 0; j < a->dim; j++) c += (double)a->embedding[j] * b->embedding[j];
    csum += c, cmin = fmin(cmin, c), k++;
    box = fmax(box, fmax(fmax(fabs(a->box.x0 - b->box.x0), fabs(a->box.y0 - b->box.y0)),
                         fmax(fabs(a->box.x1 - b->box.x1), fabs(a->box.y1 - b->box.y1))));
    for (int j = 0; j < 2 * FG_FACE_LANDMARKS; j++) lm = fmax(lm, fabs(a->landmarks[j] - b->landmarks[j]));
    live = fmax(live, fabs(a->liveness - b->liveness));
  }
  printf("{\"decode_side\": %d, \"other_decode_side\": %d, \"images\": %d, \"no_face\": %d, \"cos_mean\": %.6f, "
         "\"cos_min\": %.6f, \"box_px_max\": %.2f, \"landmark_px_max\": %.2f, \"live_max\": %.4f}\n",
         fg_face_engine_options(fe)->decode_side, side2, k, skipped, k ? csum / k : 0, cmin, box, lm, live);
  free(a);
  free(b);
  return 0;
}

int main(int argc, char **argv) {
  int threads = 1, runs = 1, warmup = 5, flip = -1, liveness = 1, decode_side = -1, backend = -1, side2 = -1;
  int prec[FG_FACE_MODELS] = {-1, -1, -1, -1};
  const char *models = NULL, *opts_out = NULL;
  char **files = calloc((size_t)argc, sizeof *files);
  int nfiles = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(a, "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(a, "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
    else if (!strcmp(a, "--models-dir") && i + 1 < argc) models = argv[++i];
    else if (!strcmp(a, "--options-out") && i + 1 < argc) opts_out = argv[++i];
    else if (!strcmp(a, "--flip")) flip = 1;
    else if (!strcmp(a, "--no-flip")) flip = 0;
    else if (!strcmp(a, "--no-liveness")) liveness = 0;
    else if (!strcmp(a, "--decode-side") && i + 1 < argc) decode_side = atoi(argv[++i]);
    else if (!strcmp(a, "--compare-decode-side") && i + 1 < argc) side2 = atoi(argv[++i]);
    else if (!strcmp(a, "--precision") && i + 1 < argc) {
      if (fg_face_precision_parse(argv[++i], prec)) {
        fprintf(stderr, "pipeline_bench: --precision takes fp32, bf16, int8 or det=P,lm=P,feat=P,live=P\n");
        return 2;
      }
    } else if (!strcmp(a, "--backend") && i + 1 < argc) {
      const char *b = argv[++i];
      backend = !strcmp(b, "xnnpack") ? FG_BACKEND_XNNPACK : !strcmp(b, "onednn") ? FG_BACKEND_ONEDNN : -2;
      if (backend == -2) {
        fprintf(stderr, "pipeline_bench: --backend takes onednn or xnnpack\n");
        return 2;
      }
    }
    else if (a[0] == '-') {
      fprintf(stderr, "pipeline_bench: unknown option %s\n", a);
      return 2;
    } else files[nfiles++] = argv[i];
  }
  if (!nfiles || threads < 1 || runs < 1 || warmup < 0) {
    fprintf(stderr, "usage: pipeline_bench [--threads N] [--runs R] [--warmup W] [--models-dir D] "
                    "[--flip|--no-flip] [--no-liveness] [--decode-side N] [--options-out F] IMAGE...\n");
    return 2;
  }
  fg_face_options o;
  fg_face_options_init(&o);
  if (models) o.models_dir = models;
  else if (getenv("FACEGATE_MODELS")) o.models_dir = getenv("FACEGATE_MODELS");
  o.threads = threads;
  if (flip >= 0) o.flip = flip;
  o.liveness = liveness;
  if (decode_side >= 0) o.decode_side = decode_side;
  if (prec[0] >= 0) memcpy(o.precision, prec, sizeof o.precision);
  if (backend >= 0) o.backend = backend;
  fg_face_engine *fe;
  fg_error e = {0};
  if (fg_face_engine_create(&o, &fe, &e)) {
    fprintf(stderr, "pipeline_bench: %s\n", e.msg);
    return 1;
  }
  if (opts_out) write_options(opts_out, fe);

  uint8_t **buf = calloc((size_t)nfiles, sizeof *buf);
  size_t *len = calloc((size_t)nfiles, sizeof *len);
  for (int i = 0; i < nfiles; i++)
    if (!(buf[i] = slurp(files[i], &len[i]))) {
      fprintf(stderr, "pipeline_bench: cannot read %s\n", files[i]);
      return 1;
    }
  if (side2 >= 0) {
    fg_face_engine *fe2;
    o.decode_side = side2;
    if (fg_face_engine_create(&o, &fe2, &e)) {
      fprintf(stderr, "pipeline_bench: %s\n", e.msg);
      return 1;
    }
    int rc = compare(fe, fe2, side2, buf, len, nfiles);
    fg_face_engine_destroy(fe2);
    fg_face_engine_destroy(fe);
    return rc;
  }
  fg_face_result *r = malloc(sizeof *r);
  for (int w = 0; w < warmup; w++)
    if (fg_face_process_buffer(fe, buf[0], len[0], NULL, r, &e)) {
      fprintf(stderr, "pipeline_bench: %s: %s\n", files[0], e.msg);
      return 1;
    }
  size_t S = (size_t)nfiles * (size_t)runs, k = 0;
  enum { NST = 8 };
  static const char *names[NST] = {"decode", "detect", "landmarks", "align", "quality", "liveness", "embed", "total"};
  double *v[NST];
  for (int s = 0; s < NST; s++) v[s] = malloc(S * sizeof(double));
  int ok = 0, noface = 0, lowq = 0;
  for (int i = 0; i < nfiles; i++)
    for (int rr = 0; rr < runs; rr++) {
      if (fg_face_process_buffer(fe, buf[i], len[i], NULL, r, &e)) {
        fprintf(stderr, "pipeline_bench: %s: %s\n", files[i], e.msg);
        return 1;
      }
      if (rr == 0) {
        ok += r->status == FG_FACE_OK;
        noface += r->status == FG_FACE_NO_FACE;
        lowq += r->status == FG_FACE_LOW_QUALITY;
      }
      const fg_face_timings *t = &r->ms;
      double x[NST] = {t->decode, t->detect, t->landmarks, t->align, t->quality, t->liveness, t->embed, t->total};
      for (int s = 0; s < NST; s++) v[s][k] = x[s];
      k++;
    }
  int used[FG_FACE_MODELS];
  char pstr[64];
  for (int m = 0; m < FG_FACE_MODELS; m++) used[m] = fg_face_engine_precision(fe, m) < 0 ? 0 : fg_face_engine_precision(fe, m);
  fg_face_precision_format(used, pstr, sizeof pstr);
  printf("{\"threads\": %d, \"samples\": %zu, \"images\": %d, \"runs\": %d, \"flip\": %d, \"backend\": \"%s\", "
         "\"precision\": \"%s\", \"median_ms\": {", threads, S, nfiles, runs, fg_face_engine_options(fe)->flip,
         fg_face_engine_options(fe)->backend == FG_BACKEND_XNNPACK ? "xnnpack" : "onednn", pstr);
  for (int s = 0; s < NST; s++) printf("%s\"%s\": %.4f", s ? ", " : "", names[s], median(v[s], S));
  printf("}, \"p10_ms\": {"); /* v[s] sorted by median(): the 10th percentile, less moved by a busy machine */
  for (int s = 0; s < NST; s++) printf("%s\"%s\": %.4f", s ? ", " : "", names[s], v[s][S / 10]);
  printf("}, \"status\": {\"ok\": %d, \"no_face\": %d, \"low_quality\": %d}}\n", ok, noface, lowq);
  for (int s = 0; s < NST; s++) free(v[s]);
  for (int i = 0; i < nfiles; i++) free(buf[i]);
  free(buf);
  free(len);
  free(files);
  free(r);
  fg_face_engine_destroy(fe);
  return 0;
}
