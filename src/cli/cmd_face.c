/*
 * The face commands: `facegate detect`, `quality`, `embed`, `compare`, and
 * `devset` (the measurement behind the pipeline's preprocessing choices,
 * run on an LFW subset disjoint from the protocol's pairs; docs/pipeline.md).
 *
 * Each is a thin shell over include/facegate/face.h and template.h: parse
 * options, run the engine, print text or --json. Exit codes: 0 success,
 * 1 failure, 2 usage error, 3 (compare) the two faces do not match,
 * 4 failure to acquire (no face, or quality below --quality-min).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "facegate/calibration.h"
#include "facegate/face.h"
#include "facegate/nn.h"
#include "facegate/template.h"

#define EXIT_FTA 4

/* Fallback thresholds when no calibration file for the model is found:
 * measured on the devset impostor pairs (docs/pipeline.md, "Fallback thresholds"). */
static const struct {
  double fmr, threshold;
} fallback_thresholds[] = {{1e-2, 0.2517}, {1e-3, 0.3452}, {1e-4, 0.4242}, {1e-5, 0.5207}};


/* ------------------------------------------------------------------ options */

typedef struct common_opts {
  const char *models_dir;
  int json;
  fg_face_options fo;
} common_opts;

static const char *need_val(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "facegate: option %s needs a value\n", argv[*i]);
    cli_exit(EXIT_USAGE);
  }
  return argv[++*i];
}

static double num_arg(const char *s, const char *what, double lo, double hi) {
  char *e;
  errno = 0;
  double v = strtod(s, &e);
  if (*e || e == s || errno || !(v >= lo && v <= hi)) {
    fprintf(stderr, "facegate: %s must be a number in [%g, %g] (got '%s')\n", what, lo, hi, s);
    cli_exit(EXIT_USAGE);
  }
  return v;
}

static const char common_help[] =
    "  --models-dir DIR     models directory (default $FACEGATE_MODELS or facegate's home)\n"
    "  --model NAME|FILE    recognition model descriptor (default $FACEGATE_MODEL or the\n"
    "                       built-in fr_feature; facegate models lists them)\n"
    "  --threads N          threads per inference (default 1)\n"
    "  --precision P        fp32, bf16 or int8 for every model, or per model as\n"
    "                       det=P,lm=P,feat=P,live=P (default: measured per model, see\n"
    "                       docs/engine.md; fp32 where this CPU lacks VNNI / BF16)\n"
    "  --backend B          onednn (default) or xnnpack (fp32 only)\n"
    "  --ranges-dir DIR     int8 activation ranges DIR/<model>.json (default: built in)\n"
    "  --det-score S        detector score threshold (default 0.7)\n"
    "  --min-face PX        ignore faces narrower than PX source pixels (default 20)\n"
    "  --det-pad P          detect again with P of the frame added on each side when no\n"
    "                       face is found or it touches an edge (default 0.25; 0: never)\n"
    "  --quality-min Q      unified quality (0-100) below which a capture is a failure to\n"
    "                       acquire (default 40; 0 turns the check off)\n"
    "  --no-liveness        do not run the liveness model\n"
    "  --decode-side N      decode large JPEGs at the DCT scale keeping the long side >= N\n"
    "                       (default 640; 0 = always decode in full)\n"
    "  --flip               add the mirrored face's embedding (test-time augmentation)\n"
    "  --json               machine-readable output\n";

/* Consume a common option at argv[*i]; 1 if it was one. */
static int common_opt(common_opts *c, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  if (!strcmp(a, "--models-dir")) c->models_dir = need_val(argc, argv, i);
  else if (!strcmp(a, "--model")) c->fo.model = need_val(argc, argv, i);
  else if (!strcmp(a, "--threads")) c->fo.threads = (int)num_arg(need_val(argc, argv, i), "--threads", 1, 256);
  else if (!strcmp(a, "--det-score")) c->fo.det_score = (float)num_arg(need_val(argc, argv, i), "--det-score", 0, 0.999);
  else if (!strcmp(a, "--min-face")) c->fo.min_face_px = (float)num_arg(need_val(argc, argv, i), "--min-face", 0, 1e5);
  else if (!strcmp(a, "--det-pad")) c->fo.det_pad = (float)num_arg(need_val(argc, argv, i), "--det-pad", 0, 2);
  else if (!strcmp(a, "--quality-min")) c->fo.quality_min = (float)num_arg(need_val(argc, argv, i), "--quality-min", 0, 100);
  else if (!strcmp(a, "--no-liveness")) c->fo.liveness = 0;
  else if (!strcmp(a, "--decode-side")) c->fo.decode_side = (int)num_arg(need_val(argc, argv, i), "--decode-side", 0, 1e5);
  else if (!strcmp(a, "--flip")) c->fo.flip = 1;
  else if (!strcmp(a, "--precision")) {
    if (cli_parse_precision(need_val(argc, argv, i), c->fo.precision)) {
      fprintf(stderr, "facegate: --precision takes fp32, bf16, int8 or det=P,lm=P,feat=P,live=P\n");
      exit(EXIT_USAGE);
    }
  } else if (!strcmp(a, "--backend")) {
    if (cli_parse_backend(need_val(argc, argv, i), &c->fo.backend)) {
      fprintf(stderr, "facegate: --backend takes onednn or xnnpack\n");
      exit(EXIT_USAGE);
    }
  } else if (!strcmp(a, "--ranges-dir")) c->fo.ranges_dir = need_val(argc, argv, i);
  else if (!strcmp(a, "--json")) c->json = 1;
  else return 0;
  return 1;
}

static void common_init(common_opts *c) {
  memset(c, 0, sizeof *c);
  fg_face_options_init(&c->fo);
}

static fg_face_engine *make_engine(const char *cmd, common_opts *c) {
  c->fo.models_dir = cli_models_dir(c->models_dir);
  c->fo.model = cli_model(c->fo.model);
  fg_face_engine *fe;
  fg_error e = {0};
  if (fg_face_engine_create(&c->fo, &fe, &e)) {
    fprintf(stderr, "facegate %s: %s\n", cmd, cli_errmsg(&e));
    return NULL;
  }
  return fe;
}

/* ------------------------------------------------------------------ printing */

static void json_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
  else fputs("null", f);
}

static void json_box(FILE *f, const fg_face_box *b) {
  fprintf(f, "{\"x0\": %.1f, \"y0\": %.1f, \"x1\": %.1f, \"y1\": %.1f, \"score\": %.4f}", b->x0, b->y0, b->x1, b->y1,
          b->score);
}

static void json_reasons(FILE *f, unsigned reasons) {
  fputc('[', f);
  int first = 1;
  for (unsigned bit = 1; bit < (1u << FG_QUALITY_REASON_COUNT); bit <<= 1)
    if (reasons & bit) {
      if (!first) fputs(", ", f);
      cli_json_str(f, fg_quality_reason_name(bit));
      first = 0;
    }
  fputc(']', f);
}

static void text_reasons(FILE *f, unsigned reasons) {
  int first = 1;
  for (unsigned bit = 1; bit < (1u << FG_QUALITY_REASON_COUNT); bit <<= 1)
    if (reasons & bit) fprintf(f, "%s%s", first ? "" : "; ", fg_quality_reason_text(bit)), first = 0;
  if (first) fputs("none", f);
}

static const char *status_name(fg_face_status s) {
  return s == FG_FACE_OK ? "ok" : s == FG_FACE_NO_FACE ? "no_face" : "low_quality";
}

static void json_quality(FILE *f, const fg_face_quality *q) {
  fprintf(f, "{\"score\": %.1f, \"reasons\": ", q->score);
  json_reasons(f, q->reasons);
  fprintf(f, ", \"inter_eye_px\": %.1f, \"yaw\": %.1f, \"pitch\": %.1f, \"roll\": %.1f, \"sharpness\": %.1f, "
             "\"brightness\": %.1f, \"dark_fraction\": %.4f, \"bright_fraction\": %.4f, \"contrast\": %.1f, "
             "\"in_frame\": %.3f, \"landmarks_inside\": %s, \"coverage\": %.3f, \"align_error\": %.4f, "
             "\"light_unevenness\": %.3f, \"shadow\": %.3f, \"harsh_light\": %s, \"surround\": %.1f, "
             "\"feature_norm\": %.3f, \"faces\": %d, "
             "\"factors\": {\"size\": %.3f, \"pose\": %.3f, \"roll\": %.3f, \"sharpness\": %.3f, "
             "\"exposure\": %.3f, \"contrast\": %.3f, \"frame\": %.3f, \"alignment\": %.3f, \"light\": %.3f}}",
          q->inter_eye_px, q->yaw, q->pitch, q->roll, q->sharpness, q->brightness, q->dark_fraction,
          q->bright_fraction, q->contrast, q->in_frame, q->landmarks_inside ? "true" : "false", q->coverage,
          q->align_error, q->light_unevenness, q->shadow, fg_face_quality_harsh_light(q) ? "true" : "false", q->surround, q->feature_norm, q->faces, q->f_size, q->f_pose,
          q->f_roll, q->f_sharpness, q->f_exposure, q->f_contrast, q->f_frame, q->f_align, q->f_light);
}

static void json_timings(FILE *f, const fg_face_timings *t) {
  fprintf(f, "{\"decode\": %.3f, \"detect\": %.3f, \"landmarks\": %.3f, \"align\": %.3f, \"quality\": %.3f, "
             "\"liveness\": %.3f, \"embed\": %.3f, \"total\": %.3f}",
          t->decode, t->detect, t->landmarks, t->align, t->quality, t->liveness, t->embed, t->total);
}

static void text_quality(FILE *f, const fg_face_quality *q) {
  fprintf(f, "quality:    %.1f / 100 (reasons: ", q->score);
  text_reasons(f, q->reasons);
  fprintf(f, ")\n");
  fprintf(f, "  size        inter-eye %.1f px                      factor %.2f\n", q->inter_eye_px, q->f_size);
  fprintf(f, "  pose        yaw %+.1f, pitch %+.1f deg               factor %.2f\n", q->yaw, q->pitch, q->f_pose);
  fprintf(f, "  roll        %+.1f deg                             factor %.2f\n", q->roll, q->f_roll);
  fprintf(f, "  sharpness   Laplacian variance %.1f               factor %.2f\n", q->sharpness, q->f_sharpness);
  fprintf(f, "  exposure    mean %.1f, dark %.1f%%, bright %.1f%%      factor %.2f\n", q->brightness,
          100 * q->dark_fraction, 100 * q->bright_fraction, q->f_exposure);
  fprintf(f, "  contrast    grey std %.1f                         factor %.2f\n", q->contrast, q->f_contrast);
  fprintf(f, "  framing     %.1f%% of the aligned crop in the image, landmarks %s   factor %.2f\n",
          100 * q->coverage, q->landmarks_inside ? "inside" : "OUTSIDE", q->f_frame);
  fprintf(f, "  alignment   landmark error %.3f eye distances        factor %.2f\n", q->align_error, q->f_align);
  fprintf(f, "  light       unevenness %.2f, shadow %.0f%%, surround %.0f%s   factor %.2f\n", q->light_unevenness,
          100 * q->shadow, q->surround, fg_face_quality_harsh_light(q) ? " (harsh)" : "", q->f_light);
  fprintf(f, "  faces       %d\n", q->faces);
}

/* ------------------------------------------------------------------ detect */

static void draw_rect(fg_image *im, const fg_face_box *b, const uint8_t rgb[3], int thick) {
  int x0 = (int)lroundf(b->x0), y0 = (int)lroundf(b->y0), x1 = (int)lroundf(b->x1) - 1, y1 = (int)lroundf(b->y1) - 1;
  for (int t = 0; t < thick; t++)
    for (int y = y0 + t; y <= y1 - t; y++)
      for (int x = x0 + t; x <= x1 - t; x++) {
        if (y != y0 + t && y != y1 - t && x != x0 + t && x != x1 - t) continue;
        if (x < 0 || y < 0 || x >= im->width || y >= im->height) continue;
        uint8_t *p = im->data + ((size_t)y * im->width + x) * im->channels;
        for (int c = 0; c < im->channels; c++) p[c] = im->channels == 3 ? rgb[c] : rgb[1];
      }
}

static void draw_dot(fg_image *im, float fx, float fy, int r, const uint8_t rgb[3]) {
  int cx = (int)lroundf(fx), cy = (int)lroundf(fy);
  for (int y = cy - r; y <= cy + r; y++)
    for (int x = cx - r; x <= cx + r; x++)
      if (x >= 0 && y >= 0 && x < im->width && y < im->height) {
        uint8_t *p = im->data + ((size_t)y * im->width + x) * im->channels;
        for (int c = 0; c < im->channels; c++) p[c] = im->channels == 3 ? rgb[c] : rgb[1];
      }
}

int cmd_detect(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate detect IMG [--draw OUT.png] [options]\n\n"
           "Finds every face in IMG (JPEG, PNG, JPEG 2000, PGM/PPM or a passport chip's DG2), with\n"
           "its score and box in image pixels, and the face a gate would take (the largest; near-ties\n"
           "go to the most central). --draw writes IMG with the boxes drawn: the chosen face in\n"
           "green with its 68 landmarks, the others in red.\n\noptions:\n"
           "  --draw OUT.png       write the annotated image\n%s"
           "\nexit: 0 at least one face, 4 no face, 1 error, 2 usage\n",
           common_help);
    return EXIT_OK;
  }
  common_opts c;
  common_init(&c);
  const char *img_path = NULL, *draw = NULL;
  for (int i = 1; i < argc; i++) {
    if (common_opt(&c, argc, argv, &i)) continue;
    if (!strcmp(argv[i], "--draw")) draw = need_val(argc, argv, &i);
    else if (argv[i][0] == '-' && argv[i][1]) return fprintf(stderr, "facegate detect: unknown option '%s'\n", argv[i]), EXIT_USAGE;
    else if (!img_path) img_path = argv[i];
    else return fprintf(stderr, "facegate detect: one image at a time\n"), EXIT_USAGE;
  }
  if (!img_path) return fprintf(stderr, "usage: facegate detect IMG [--draw OUT.png] [--json]\n"), EXIT_USAGE;
  c.fo.liveness = 0; /* detection only */
  fg_face_engine *fe = make_engine("detect", &c);
  if (!fe) return EXIT_FAIL;
  fg_image img = {0};
  fg_error e = {0};
  fg_face_detections *det = malloc(sizeof *det);
  int rc = EXIT_FAIL;
  if (!det) goto done;
  if (fg_image_decode_file(img_path, NULL, &img, &e)) {
    fprintf(stderr, "facegate detect: %s\n", cli_errmsg(&e));
    goto done;
  }
  if (fg_face_detect(fe, &img, det, &e)) {
    fprintf(stderr, "facegate detect: %s\n", cli_errmsg(&e));
    goto done;
  }
  int sel = fg_face_select(det, img.width, img.height);
  if (c.json) {
    printf("{\"image\": ");
    cli_json_str(stdout, img_path);
    printf(", \"width\": %d, \"height\": %d, \"faces\": %d, \"selected\": %d, \"boxes\": [", img.width, img.height,
           det->total, sel);
    for (int i = 0; i < det->count; i++) {
      if (i) printf(", ");
      json_box(stdout, &det->faces[i]);
    }
    printf("]}\n");
  } else {
    printf("%s: %dx%d, %d face(s)%s\n", img_path, img.width, img.height, det->total,
           det->total > det->count ? " (first ones listed)" : "");
    for (int i = 0; i < det->count; i++) {
      const fg_face_box *b = &det->faces[i];
      printf("  face %d: score %.3f box (%.0f, %.0f)-(%.0f, %.0f) %.0fx%.0f%s\n", i, b->score, b->x0, b->y0, b->x1,
             b->y1, b->x1 - b->x0, b->y1 - b->y0, i == sel ? "  <- selected" : "");
    }
  }
  if (draw) {
    static const uint8_t red[3] = {230, 40, 40}, green[3] = {40, 220, 60};
    int thick = img.width / 400 + 2;
    for (int i = 0; i < det->count; i++)
      if (i != sel) draw_rect(&img, &det->faces[i], red, thick);
    if (sel >= 0) {
      draw_rect(&img, &det->faces[sel], green, thick);
      fg_face_result *r = malloc(sizeof *r);
      if (r && fg_face_process_box(fe, &img, &det->faces[sel], r, &e) == FG_OK)
        for (int k = 0; k < FG_FACE_LANDMARKS; k++)
          draw_dot(&img, r->landmarks[2 * k], r->landmarks[2 * k + 1], thick / 2 + 1, green);
      free(r);
    }
    if (fg_image_write_png(draw, &img, &e)) {
      fprintf(stderr, "facegate detect: %s\n", cli_errmsg(&e));
      goto done;
    }
  }
  rc = det->total > 0 ? EXIT_OK : EXIT_FTA;
done:
  free(det);
  fg_image_release(&img);
  fg_face_engine_destroy(fe);
  return rc;
}

/* ------------------------------------------------------------------ quality */

static int print_result_json(const char *path, const fg_face_result *r) {
  printf("{\"image\": ");
  cli_json_str(stdout, path);
  printf(", \"status\": \"%s\", \"width\": %d, \"height\": %d, \"faces\": %d, \"reasons\": ", status_name(r->status),
         r->width, r->height, r->det.total);
  json_reasons(stdout, r->quality.reasons);
  if (r->status == FG_FACE_NO_FACE) printf(", \"frame_brightness\": %.1f", r->quality.brightness);
  if (r->status != FG_FACE_NO_FACE) {
    printf(", \"box\": ");
    json_box(stdout, &r->box);
    printf(", \"points\": [");
    for (int i = 0; i < 10; i++) printf("%s%.1f", i ? ", " : "", r->points[i]);
    printf("], \"quality\": ");
    json_quality(stdout, &r->quality);
    if (r->liveness_done) {
      printf(", \"liveness\": {\"score\": %.4f, \"outputs\": [%.4f, %.4f, %.4f], \"validated\": false}", r->liveness,
             r->liveness_out[0], r->liveness_out[1], r->liveness_out[2]);
    }
  }
  printf(", \"ms\": ");
  json_timings(stdout, &r->ms);
  printf("}");
  return 0;
}

static double median_of(double *v, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : NAN;
}

/* --repeat: median stage timings of the library's path and of a full decode. */
static int time_pipeline(fg_face_engine *fe, const char *path, int n, int json) {
  FILE *f = fopen(path, "rb");
  if (!f) return fprintf(stderr, "facegate quality: %s: %s\n", path, strerror(errno)), -1;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
  double *t = malloc(sizeof(double) * (size_t)n * 16);
  fg_face_result *r = malloc(sizeof *r);
  int rc = -1;
  if (!buf || !t || !r || fread(buf, 1, (size_t)len, f) != (size_t)len) goto out;
  fg_error e = {0};
  for (int mode = 0; mode < 2; mode++) {
    for (int i = -3; i < n; i++) {
      double t0 = 0, dec = 0;
      fg_image img = {0};
      if (mode == 0) {
        if (fg_face_process_buffer(fe, buf, (size_t)len, NULL, r, &e)) goto fail;
      } else {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (fg_image_decode(buf, (size_t)len, NULL, &img, &e)) goto fail;
        clock_gettime(CLOCK_MONOTONIC, &b);
        dec = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
        int prc = fg_face_process(fe, &img, r, &e);
        fg_image_release(&img);
        if (prc) goto fail;
      }
      (void)t0;
      if (i < 0) continue;
      double *row = t + 16 * (size_t)i;
      row[0] = r->ms.decode + dec, row[1] = r->ms.detect, row[2] = r->ms.landmarks, row[3] = r->ms.align;
      row[4] = r->ms.quality, row[5] = r->ms.liveness, row[6] = r->ms.embed, row[7] = r->ms.total + dec;
    }
    static const char *names[8] = {"decode", "detect", "landmarks", "align", "quality", "liveness", "embed", "total"};
    double med[8];
    double *col = malloc(sizeof(double) * (size_t)n);
    if (!col) goto out;
    for (int k = 0; k < 8; k++) {
      for (int i = 0; i < n; i++) col[i] = t[16 * (size_t)i + k];
      med[k] = median_of(col, n);
    }
    free(col);
    const char *label = mode == 0 ? "library path (reduced DCT decode where it helps)" : "full decode + fg_face_process";
    if (json) {
      printf("{\"timing\": \"%s\", \"runs\": %d, \"median_ms\": {", mode == 0 ? "library" : "full_decode", n);
      for (int k = 0; k < 8; k++) printf("%s\"%s\": %.3f", k ? ", " : "", names[k], med[k]);
      printf("}}\n");
    } else {
      printf("%s, median of %d runs (ms):", label, n);
      for (int k = 0; k < 8; k++) printf(" %s %.2f", names[k], med[k]);
      printf("\n");
    }
  }
  rc = 0;
  goto out;
fail:
  fprintf(stderr, "facegate quality: %s\n", cli_errmsg(&e));
out:
  fclose(f);
  free(buf);
  free(t);
  free(r);
  return rc;
}

int cmd_quality(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate quality IMG [options]\n\n"
           "Runs the face pipeline on IMG and reports each quality component (inter-eye distance,\n"
           "head pose, sharpness, exposure, contrast, framing, number of faces) with its 0..1 factor,\n"
           "the unified 0-100 score (100 x the product of the factors), feedback reasons (\"too dark\",\n"
           "\"turn towards the camera\", ...) and the liveness score (a signal whose error rates are\n"
           "not measured). docs/pipeline.md gives every formula.\n\noptions:\n"
           "  --repeat N           also time the pipeline N times (after 3 warm-up runs) and print\n"
           "                       each stage's median, for the library's path (reduced DCT decode\n"
           "                       for large JPEGs) and for a full decode followed by fg_face_process\n%s"
           "\nexit: 0 acquired, 4 failure to acquire (no face, or score below --quality-min),\n"
           "      1 error, 2 usage\n",
           common_help);
    return EXIT_OK;
  }
  common_opts c;
  common_init(&c);
  const char *img_path = NULL;
  int repeat = 0;
  for (int i = 1; i < argc; i++) {
    if (common_opt(&c, argc, argv, &i)) continue;
    if (!strcmp(argv[i], "--repeat")) {
      repeat = (int)num_arg(need_val(argc, argv, &i), "--repeat", 1, 100000);
      continue;
    }
    if (argv[i][0] == '-' && argv[i][1]) return fprintf(stderr, "facegate quality: unknown option '%s'\n", argv[i]), EXIT_USAGE;
    if (img_path) return fprintf(stderr, "facegate quality: one image at a time\n"), EXIT_USAGE;
    img_path = argv[i];
  }
  if (!img_path) return fprintf(stderr, "usage: facegate quality IMG [--json]\n"), EXIT_USAGE;
  fg_face_engine *fe = make_engine("quality", &c);
  if (!fe) return EXIT_FAIL;
  fg_face_result *r = malloc(sizeof *r);
  fg_error e = {0};
  int rc = EXIT_FAIL;
  if (!r) goto done;
  if (fg_face_process_file(fe, img_path, NULL, r, &e)) {
    fprintf(stderr, "facegate quality: %s\n", cli_errmsg(&e));
    goto done;
  }
  if (repeat && time_pipeline(fe, img_path, repeat, c.json)) goto done;
  if (c.json) {
    print_result_json(img_path, r);
    printf("\n");
  } else {
    printf("%s: %dx%d, %d face(s), %s\n", img_path, r->width, r->height, r->det.total,
           r->status == FG_FACE_OK ? "acquired"
           : r->status == FG_FACE_NO_FACE ? "FAILURE TO ACQUIRE: no face"
                                          : "FAILURE TO ACQUIRE: quality too low");
    if (r->status == FG_FACE_NO_FACE) {
      printf("reasons:    ");
      text_reasons(stdout, r->quality.reasons);
      printf(" (frame mean grey %.0f)\n", r->quality.brightness);
    } else {
      printf("face:       box (%.0f, %.0f)-(%.0f, %.0f), score %.3f\n", r->box.x0, r->box.y0, r->box.x1, r->box.y1,
             r->box.score);
      text_quality(stdout, &r->quality);
      if (r->liveness_done)
        printf("liveness:   %.3f (model outputs %.2f %.2f %.2f; error rates not measured)\n", r->liveness,
               r->liveness_out[0], r->liveness_out[1], r->liveness_out[2]);
    }
  }
  rc = r->status == FG_FACE_OK ? EXIT_OK : EXIT_FTA;
done:
  free(r);
  fg_face_engine_destroy(fe);
  return rc;
}

/* ------------------------------------------------------------------ embed */

static int write_file(const char *path, const uint8_t *p, size_t n, fg_error *e) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    snprintf(e->msg, sizeof e->msg, "%.400s: %s", tmp, strerror(errno));
    return -1;
  }
  int bad = fwrite(p, 1, n, f) != n;
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, path)) {
    snprintf(e->msg, sizeof e->msg, "%.400s: write failed", path);
    remove(tmp);
    return -1;
  }
  return 0;
}

static int save_aligned(const char *dir, const char *img_path, const fg_image *al, fg_error *e) {
  const char *base = strrchr(img_path, '/');
  base = base ? base + 1 : img_path;
  char name[4096];
  size_t n = strcspn(base, ".");
  mkdir(dir, 0777);
  snprintf(name, sizeof name, "%s/%.*s.aligned.png", dir, (int)(n ? n : strlen(base)), base);
  return fg_image_write_png(name, al, e);
}

int cmd_embed(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate embed IMG -o FILE [--fp16] [--save-aligned DIR] [--force] [options]\n\n"
           "Runs the face pipeline on IMG and writes the chosen face's template (the FGT1 format of\n"
           "docs/pipeline.md: L2-normalised embedding tied to the recognition model's SHA-256).\n\n"
           "options:\n"
           "  -o, --output FILE    template file to write\n"
           "  --fp16               store half-precision values (1 KiB instead of 2 KiB; scores\n"
           "                       change by < 1e-3)\n"
           "  --save-aligned DIR   also write the aligned crop as DIR/<name>.aligned.png\n"
           "  --force              write a template even when quality is below --quality-min\n%s"
           "\nexit: 0 written, 4 failure to acquire (nothing written unless --force), 1 error, 2 usage\n",
           common_help);
    return EXIT_OK;
  }
  common_opts c;
  common_init(&c);
  const char *img_path = NULL, *out = NULL, *aligned_dir = NULL;
  int fp16 = 0, force = 0;
  for (int i = 1; i < argc; i++) {
    if (common_opt(&c, argc, argv, &i)) continue;
    if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) out = need_val(argc, argv, &i);
    else if (!strcmp(argv[i], "--fp16")) fp16 = 1;
    else if (!strcmp(argv[i], "--force")) force = 1;
    else if (!strcmp(argv[i], "--save-aligned")) aligned_dir = need_val(argc, argv, &i);
    else if (argv[i][0] == '-' && argv[i][1]) return fprintf(stderr, "facegate embed: unknown option '%s'\n", argv[i]), EXIT_USAGE;
    else if (!img_path) img_path = argv[i];
    else return fprintf(stderr, "facegate embed: one image at a time\n"), EXIT_USAGE;
  }
  if (!img_path) return fprintf(stderr, "usage: facegate embed IMG -o FILE [--fp16] [--save-aligned DIR]\n"), EXIT_USAGE;
  if (!out) return fprintf(stderr, "facegate embed: where should the template go? -o FILE is required\n"), EXIT_USAGE;
  fg_face_engine *fe = make_engine("embed", &c);
  if (!fe) return EXIT_FAIL;
  fg_face_result *r = malloc(sizeof *r);
  fg_error e = {0};
  fg_template t = {0};
  int rc = EXIT_FAIL;
  uint8_t *buf = NULL;
  if (!r) goto done;
  if (fg_face_process_file(fe, img_path, NULL, r, &e)) {
    fprintf(stderr, "facegate embed: %s\n", cli_errmsg(&e));
    goto done;
  }
  if (aligned_dir && fg_face_engine_aligned(fe) && save_aligned(aligned_dir, img_path, fg_face_engine_aligned(fe), &e)) {
    fprintf(stderr, "facegate embed: %s\n", cli_errmsg(&e));
    goto done;
  }
  int write = r->status == FG_FACE_OK || (r->status == FG_FACE_LOW_QUALITY && force);
  size_t len = 0;
  if (write) {
    uint8_t id[8];
    fg_face_engine_model_id(fe, id);
    fg_template_type ty = fp16 ? FG_TEMPLATE_FP16 : FG_TEMPLATE_FP32;
    size_t cap = fg_template_encoded_size(r->dim, ty);
    if (!(buf = malloc(cap)) || fg_template_init(&t, r->embedding, r->dim, id, &e) ||
        (t.capture = fg_face_quality_harsh_light(&r->quality) ? FG_TEMPLATE_CAPTURE_HARSH_LIGHT : 0,
         fg_template_encode(&t, ty, buf, cap, &len, &e)) ||
        write_file(out, buf, len, &e)) {
      fprintf(stderr, "facegate embed: %s\n", buf ? cli_errmsg(&e) : "out of memory");
      goto done;
    }
  }
  if (c.json) {
    printf("{\"result\": ");
    print_result_json(img_path, r);
    printf(", \"template\": ");
    if (write) {
      printf("{\"path\": ");
      cli_json_str(stdout, out);
      printf(", \"bytes\": %zu, \"dim\": %d, \"type\": \"%s\", \"model_sha256\": \"%s\"}}\n", len, r->dim,
             fp16 ? "fp16" : "fp32", fg_face_engine_model_sha256(fe));
    } else {
      printf("null}\n");
    }
  } else if (write) {
    printf("%s: template written to %s (%zu bytes, %d x %s, quality %.1f%s)\n", img_path, out, len, r->dim,
           fp16 ? "fp16" : "fp32", r->quality.score, r->status == FG_FACE_LOW_QUALITY ? ", BELOW --quality-min" : "");
  } else {
    printf("%s: FAILURE TO ACQUIRE (%s)", img_path, r->status == FG_FACE_NO_FACE ? "no face" : "quality too low");
    if (r->status == FG_FACE_LOW_QUALITY) printf(": quality %.1f", r->quality.score);
    printf("; ");
    text_reasons(stdout, r->quality.reasons);
    printf("; no template written\n");
  }
  rc = r->status == FG_FACE_OK ? EXIT_OK : EXIT_FTA;
done:
  free(buf);
  free(r);
  fg_template_release(&t);
  fg_face_engine_destroy(fe);
  return rc;
}

/* ------------------------------------------------------------------ compare */

typedef struct side {
  const char *path;
  const char *kind; /* "template", "image" */
  fg_template t;
  fg_face_status status;
  float quality, liveness;
  int liveness_done;
  unsigned reasons;
} side;

/* Load one side: a template file as is, anything else through the engine. */
static int load_side(const char *cmd, side *s, common_opts *c, fg_face_engine **fe, fg_face_result *r) {
  fg_error e = {0};
  FILE *f = fopen(s->path, "rb");
  if (!f) return fprintf(stderr, "facegate %s: %s: %s\n", cmd, s->path, strerror(errno)), -1;
  char magic[16] = {0};
  size_t got = fread(magic, 1, sizeof magic, f);
  fclose(f);
  if (got >= 4 && !memcmp(magic, FG_TEMPLATE_MAGIC, 4)) {
    s->kind = "template";
    s->status = FG_FACE_OK;
    FILE *g = fopen(s->path, "rb");
    uint8_t buf[FG_TEMPLATE_MAX_BYTES + 1];
    size_t n = g ? fread(buf, 1, sizeof buf, g) : 0;
    if (g) fclose(g);
    if (fg_template_decode(buf, n, NULL, &s->t, &e))
      return fprintf(stderr, "facegate %s: %s: %s\n", cmd, s->path, cli_errmsg(&e)), -1;
    return 0;
  }
  s->kind = fg_image_sniff((const uint8_t *)magic, got) == FG_IMAGE_FORMAT_DG2 ? "dg2" : "image";
  if (!*fe && !(*fe = make_engine(cmd, c))) return -1;
  if (fg_face_process_file(*fe, s->path, NULL, r, &e))
    return fprintf(stderr, "facegate %s: %s: %s\n", cmd, s->path, cli_errmsg(&e)), -1;
  s->status = r->status;
  s->quality = r->quality.score;
  s->reasons = r->quality.reasons;
  s->liveness = r->liveness;
  s->liveness_done = r->liveness_done;
  if (r->status == FG_FACE_NO_FACE) return 0;
  uint8_t id[8];
  fg_face_engine_model_id(*fe, id);
  if (fg_template_init(&s->t, r->embedding, r->dim, id, &e))
    return fprintf(stderr, "facegate %s: %s\n", cmd, cli_errmsg(&e)), -1;
  if (fg_face_quality_harsh_light(&r->quality)) s->t.capture |= FG_TEMPLATE_CAPTURE_HARSH_LIGHT;
  return 0;
}

int cmd_compare(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate compare A B [--fmr 1e-4] [--calibration FILE] [options]\n\n"
           "Compares two faces: each of A and B is an image, a passport chip's DG2, or a template\n"
           "file from `facegate embed`. Prints the cosine similarity and the decision at the chosen\n"
           "false-match rate, whose threshold comes from the calibration file for the recognition\n"
           "model (default calibration/fr_feature.json in facegate's home; written by the LFW calibration). Without\n"
           "one, a documented fallback measured on a development subset of LFW is used and said so.\n\n"
           "options:\n"
           "  --fmr R              false-match rate of the decision (default 1e-4; the calibration\n"
           "                       file must list it; the fallback has 1e-2 .. 1e-5)\n"
           "  --calibration FILE   thresholds file (JSON: model_sha256, method, thresholds)\n%s"
           "\nexit: 0 match, 3 no match, 4 failure to acquire on either side, 1 error, 2 usage\n",
           common_help);
    return EXIT_OK;
  }
  common_opts c;
  common_init(&c);
  const char *paths[2] = {NULL, NULL}, *cal_path = NULL;
  double fmr = 1e-4;
  int np = 0;
  for (int i = 1; i < argc; i++) {
    if (common_opt(&c, argc, argv, &i)) continue;
    if (!strcmp(argv[i], "--fmr")) fmr = num_arg(need_val(argc, argv, &i), "--fmr", 1e-9, 0.5);
    else if (!strcmp(argv[i], "--calibration")) cal_path = need_val(argc, argv, &i);
    else if (argv[i][0] == '-' && argv[i][1]) return fprintf(stderr, "facegate compare: unknown option '%s'\n", argv[i]), EXIT_USAGE;
    else if (np < 2) paths[np++] = argv[i];
    else return fprintf(stderr, "facegate compare: exactly two inputs\n"), EXIT_USAGE;
  }
  if (np != 2) return fprintf(stderr, "usage: facegate compare A B [--fmr 1e-4] [--calibration FILE] [--json]\n"), EXIT_USAGE;
  fg_face_engine *fe = NULL;
  fg_face_result *r = malloc(sizeof *r);
  side s[2] = {{.path = paths[0]}, {.path = paths[1]}};
  int rc = EXIT_FAIL;
  fg_error e = {0};
  if (!r) goto done;
  for (int k = 0; k < 2; k++)
    if (load_side("compare", &s[k], &c, &fe, r)) goto done;

  /* Threshold: the calibration file if it is for this model, else the fallback. */
  char model_hex[17] = "";
  const uint8_t *mid = s[0].t.values ? s[0].t.model_id : s[1].t.values ? s[1].t.model_id : NULL;
  if (mid) fg_template_model_hex(mid, model_hex);
  double thr = NAN;
  char source[700] = "";
  fg_calibration cal;
  /* The model's own calibration: its descriptor's, or the default model's. */
  char dcal[512];
  int default_model;
  if (cli_model_calibration(cli_model(c.fo.model), dcal, sizeof dcal, &default_model, &e)) {
    fprintf(stderr, "facegate compare: %s\n", e.msg);
    goto done;
  }
  const char *cp = cal_path ? cal_path : dcal;
  int crc = fg_calibration_load(cp, &cal, &e);
  if (crc == FG_OK && mid && strncmp(cal.model_sha256, model_hex, 16)) {
    snprintf(source, sizeof source, "calibration %s is for model %.16s, not %s", cp, cal.model_sha256, model_hex);
    crc = FG_EINVAL;
  } else if (crc == FG_OK && fg_calibration_threshold_for(&cal, fmr, s[0].t.capture, s[1].t.capture, &thr, &e) == FG_OK) {
    double plain = thr;
    fg_calibration_threshold(&cal, fmr, &plain, NULL);
    snprintf(source, sizeof source, "calibration %s%s", cp, thr > plain ? ", both captures in harsh light" : "");
  } else if (crc == FG_OK) {
    snprintf(source, sizeof source, "calibration %s has no threshold for FMR %g", cp, fmr);
    crc = FG_ENOTFOUND;
  } else {
    snprintf(source, sizeof source, "%s", e.msg);
  }
  if (crc != FG_OK) {
    if (cal_path || !default_model) { /* the fallback thresholds are the default model's */
      fprintf(stderr, "facegate compare: %s\n", source);
      goto done;
    }
    for (size_t i = 0; i < sizeof fallback_thresholds / sizeof fallback_thresholds[0]; i++)
      if (fabs(fallback_thresholds[i].fmr - fmr) <= 1e-6 * fmr) thr = fallback_thresholds[i].threshold;
    if (isnan(thr)) {
      fprintf(stderr, "facegate compare: no calibration file (%s) and the fallback has no threshold for FMR %g "
                      "(it has 1e-2, 1e-3, 1e-4, 1e-5)\n", source, fmr);
      rc = EXIT_USAGE;
      goto done;
    }
    char why[600];
    snprintf(why, sizeof why, "%.590s", source);
    snprintf(source, sizeof source, "fallback (devset, docs/pipeline.md): %s", why);
    if (!c.json) fprintf(stderr, "facegate compare: no usable calibration (%s); using the documented fallback threshold\n", why);
  }

  int fta = s[0].status != FG_FACE_OK || s[1].status != FG_FACE_OK;
  float score = NAN;
  if (!fta && fg_template_compare(&s[0].t, &s[1].t, &score, &e)) {
    fprintf(stderr, "facegate compare: %s\n", cli_errmsg(&e));
    goto done;
  }
  int match = !fta && score >= thr;
  if (c.json) {
    printf("{\"inputs\": [");
    for (int k = 0; k < 2; k++) {
      printf("%s{\"path\": ", k ? ", " : "");
      cli_json_str(stdout, s[k].path);
      printf(", \"kind\": \"%s\", \"status\": \"%s\"", s[k].kind, status_name(s[k].status));
      if (strcmp(s[k].kind, "template") && s[k].status != FG_FACE_NO_FACE) {
        printf(", \"quality\": %.1f, \"reasons\": ", s[k].quality);
        json_reasons(stdout, s[k].reasons);
        if (s[k].liveness_done) printf(", \"liveness\": %.4f", s[k].liveness);
      }
      printf("}");
    }
    printf("], \"score\": ");
    json_num(stdout, score);
    printf(", \"fmr\": %g, \"threshold\": %.4f, \"threshold_source\": ", fmr, thr);
    cli_json_str(stdout, source);
    if (crc == FG_OK) printf(", \"calibration_method\": "), cli_json_str(stdout, cal.method);
    printf(", \"decision\": \"%s\"}\n", fta ? "failure_to_acquire" : match ? "match" : "no_match");
  } else {
    for (int k = 0; k < 2; k++) {
      printf("%s: %s", s[k].path, s[k].kind);
      if (strcmp(s[k].kind, "template")) {
        if (s[k].status == FG_FACE_NO_FACE) printf(", FAILURE TO ACQUIRE: no face");
        else {
          printf(", quality %.1f", s[k].quality);
          if (s[k].status == FG_FACE_LOW_QUALITY) printf(" FAILURE TO ACQUIRE (quality too low: "), text_reasons(stdout, s[k].reasons), printf(")");
          if (s[k].liveness_done) printf(", liveness %.3f (unvalidated)", s[k].liveness);
        }
      }
      printf("\n");
    }
    if (fta) printf("decision: failure to acquire (not a non-match)\n");
    else
      printf("score %.4f, threshold %.4f at FMR %g (%s)\ndecision: %s\n", score, thr, fmr, source,
             match ? "MATCH" : "NO MATCH");
  }
  rc = fta ? EXIT_FTA : match ? EXIT_OK : EXIT_VERIFY;
done:
  fg_template_release(&s[0].t);
  fg_template_release(&s[1].t);
  free(r);
  fg_face_engine_destroy(fe);
  return rc;
}

/* ------------------------------------------------------------------ devset */

/* The development set: LFW images that pairs.txt never references, of people
 * with at least two such images, the first `per` of each by number. Genuine
 * pairs are all pairs within a person, impostor pairs all pairs across
 * people. Being image-disjoint from the protocol pairs, choices made on it do
 * not look at the test folds. */
typedef struct dev_img {
  int person;
  char path[512];
} dev_img;

typedef struct ref_set {
  char (*name)[96];
  int *num;
  size_t n, cap;
} ref_set;

static int ref_add(ref_set *r, const char *name, int num) {
  if (r->n == r->cap) {
    size_t nc = r->cap ? 2 * r->cap : 1024;
    char(*nn)[96] = realloc(r->name, nc * sizeof *nn);
    if (!nn) return -1;
    r->name = nn;
    int *nu = realloc(r->num, nc * sizeof *nu);
    if (!nu) return -1;
    r->num = nu;
    r->cap = nc;
  }
  snprintf(r->name[r->n], sizeof r->name[0], "%s", name);
  r->num[r->n++] = num;
  return 0;
}

static int ref_has(const ref_set *r, const char *name, int num) {
  for (size_t i = 0; i < r->n; i++)
    if (r->num[i] == num && !strcmp(r->name[i], name)) return 1;
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/* Build the list; returns the count or -1. */
static long devset_list(const char *lfw, int per, int max_people, dev_img **out, int *people) {
  char path[1024];
  ref_set refs = {0};
  snprintf(path, sizeof path, "%s/pairs.txt", lfw);
  FILE *f = fopen(path, "r");
  if (!f) return fprintf(stderr, "facegate devset: %s: %s\n", path, strerror(errno)), -1;
  char line[512];
  int first = 1;
  while (fgets(line, sizeof line, f)) {
    char a[96], b[96];
    int n1, n2;
    if (first) { first = 0; continue; }
    if (sscanf(line, "%95s %d %95s %d", a, &n1, b, &n2) == 4) ref_add(&refs, a, n1), ref_add(&refs, b, n2);
    else if (sscanf(line, "%95s %d %d", a, &n1, &n2) == 3) ref_add(&refs, a, n1), ref_add(&refs, a, n2);
  }
  fclose(f);
  snprintf(path, sizeof path, "%s/lfw-deepfunneled", lfw);
  DIR *d = opendir(path);
  if (!d) return fprintf(stderr, "facegate devset: %s: %s\n", path, strerror(errno)), -1;
  char **names = NULL;
  size_t nn = 0, cn = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    if (nn == cn) {
      cn = cn ? 2 * cn : 8192;
      names = realloc(names, cn * sizeof *names);
      if (!names) return closedir(d), -1;
    }
    names[nn++] = strdup(de->d_name);
  }
  closedir(d);
  qsort(names, nn, sizeof *names, cmp_str);
  dev_img *list = NULL;
  size_t n = 0, cap = 0;
  int np = 0;
  for (size_t i = 0; i < nn && (max_people <= 0 || np < max_people); i++) {
    char dir[1024];
    if (snprintf(dir, sizeof dir, "%s/%s", path, names[i]) >= (int)sizeof dir) continue;
    DIR *pd = opendir(dir);
    if (!pd) continue;
    int nums[2048], k = 0;
    while ((de = readdir(pd)) && k < 2048) {
      size_t L = strlen(de->d_name);
      if (L < 9 || strcmp(de->d_name + L - 4, ".jpg")) continue;
      int num = atoi(de->d_name + L - 8);
      if (num > 0 && !ref_has(&refs, names[i], num)) nums[k++] = num;
    }
    closedir(pd);
    if (k < 2) continue;
    qsort(nums, (size_t)k, sizeof *nums, cmp_int);
    if (k > per) k = per;
    for (int j = 0; j < k; j++) {
      if (n == cap) {
        cap = cap ? 2 * cap : 1024;
        list = realloc(list, cap * sizeof *list);
        if (!list) return -1;
      }
      list[n].person = np;
      if (snprintf(list[n].path, sizeof list[n].path, "%s/%s_%04d.jpg", dir, names[i], nums[j]) >=
          (int)sizeof list[n].path)
        continue;
      n++;
    }
    np++;
  }
  for (size_t i = 0; i < nn; i++) free(names[i]);
  free(names);
  free(refs.name);
  free(refs.num);
  *out = list;
  *people = np;
  return (long)n;
}

static float pct(float *v, size_t n, double p) {
  if (!n) return NAN;
  qsort(v, n, sizeof *v, cmp_float);
  size_t i = (size_t)(p * (n - 1) + 0.5);
  return v[i];
}

static int parse_channels(const char *s, fg_channel_order *o) {
  if (!strcmp(s, "rgb")) *o = FG_CHANNELS_RGB;
  else if (!strcmp(s, "bgr")) *o = FG_CHANNELS_BGR;
  else return fprintf(stderr, "facegate devset: channel order is rgb or bgr (got '%s')\n", s), -1;
  return 0;
}

/* Pixel scaling by name: raw (x), unit (x / 255), sym ((x - 127) / 128), lm (x / 256). */
static int parse_scaling(const char *s, float *mean, float *scale) {
  if (!strcmp(s, "raw")) *mean = 0, *scale = 1;
  else if (!strcmp(s, "unit")) *mean = 0, *scale = 1.f / 255;
  else if (!strcmp(s, "sym")) *mean = 127, *scale = 1.f / 128;
  else if (!strcmp(s, "div256")) *mean = 0, *scale = 1.f / 256;
  else return fprintf(stderr, "facegate devset: scaling is raw, unit, sym or div256 (got '%s')\n", s), -1;
  return 0;
}

/* --compare P: each model of engine `cand` against the same model of `base`
 * (fp32) on the same input, over the development images, so that one model's
 * precision is not blurred by the stages before it: the detector on the same
 * image (the candidate's box nearest the baseline's by IoU), the landmark
 * model from the baseline's box, liveness on the baseline's box, recognition
 * on the baseline's aligned crop. Differences in source pixels; per image the
 * largest over the box's 4 coordinates or the 136 landmark coordinates. */
static double iou(const fg_face_box *a, const fg_face_box *b) {
  double ix = fmin(a->x1, b->x1) - fmax(a->x0, b->x0), iy = fmin(a->y1, b->y1) - fmax(a->y0, b->y0);
  if (ix <= 0 || iy <= 0) return 0;
  double in = ix * iy, ua = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - in;
  return ua > 0 ? in / ua : 0;
}

static int devset_compare(const dev_img *list, long n, fg_face_engine *base, fg_face_engine *cand, int json) {
  fg_face_result *r0 = malloc(sizeof *r0), *r1 = malloc(sizeof *r1);
  fg_face_detections *det = malloc(sizeof *det);
  int dim = fg_face_engine_dim(base);
  float *emb = malloc((size_t)dim * sizeof *emb);
  float *dbox = calloc((size_t)n, sizeof *dbox), *dlm = calloc((size_t)n, sizeof *dlm), *cosv = calloc((size_t)n, sizeof *cosv),
        *dlive = calloc((size_t)n, sizeof *dlive), *dscore = calloc((size_t)n, sizeof *dscore),
        *dprob = calloc((size_t)n, sizeof *dprob);
  long k = 0, missed = 0, live_agree = 0;
  int rc = EXIT_FAIL;
  fg_error e = {0};
  if (!r0 || !r1 || !det || !emb || !dbox || !dlm || !cosv || !dlive || !dscore || !dprob) goto done;
  for (long i = 0; i < n; i++) {
    fg_image img = {0};
    if (fg_image_decode_file(list[i].path, NULL, &img, &e) || fg_face_process(base, &img, r0, &e)) {
      fprintf(stderr, "facegate devset: %s\n", cli_errmsg(&e));
      fg_image_release(&img);
      goto done;
    }
    if (r0->status == FG_FACE_NO_FACE) { fg_image_release(&img); continue; }
    const fg_image *al = fg_face_engine_aligned(base); /* base's: the candidate's calls leave it alone */
    int bad = !al || fg_face_detect(cand, &img, det, &e) || fg_face_process_box(cand, &img, &r0->box, r1, &e) ||
              fg_face_embed(cand, al, emb, &e);
    fg_image_release(&img);
    if (bad) {
      fprintf(stderr, "facegate devset: %s: %s\n", list[i].path, cli_errmsg(&e));
      goto done;
    }
    double best = 0;
    int bi = -1;
    for (int d = 0; d < det->count; d++)
      if (iou(&det->faces[d], &r0->box) > best) best = iou(&det->faces[d], &r0->box), bi = d;
    if (bi < 0 || best < 0.5) { missed++; dbox[k] = 1e9f; } /* not found: counts as over 1 px, not in mean or max */
    else {
      const fg_face_box *b = &det->faces[bi];
      dbox[k] = fmaxf(fmaxf(fabsf(b->x0 - r0->box.x0), fabsf(b->y0 - r0->box.y0)),
                      fmaxf(fabsf(b->x1 - r0->box.x1), fabsf(b->y1 - r0->box.y1)));
      dscore[k] = fabsf(b->score - r0->box.score);
    }
    for (int j = 0; j < 2 * FG_FACE_LANDMARKS; j++) dlm[k] = fmaxf(dlm[k], fabsf(r1->landmarks[j] - r0->landmarks[j]));
    cosv[k] = fg_dot(emb, r0->embedding, (size_t)dim);
    int a0 = 0, a1 = 0;
    for (int j = 0; j < 3; j++) {
      dlive[k] = fmaxf(dlive[k], fabsf(r1->liveness_out[j] - r0->liveness_out[j]));
      if (r0->liveness_out[j] > r0->liveness_out[a0]) a0 = j;
      if (r1->liveness_out[j] > r1->liveness_out[a1]) a1 = j;
    }
    live_agree += a0 == a1;
    dprob[k] = fabsf(r1->liveness - r0->liveness); /* the live probability the policy thresholds */
    k++;
  }
  double mb = 0, ml = 0, mc = 0;
  long over_b = 0, over_l = 0;
  for (long i = 0; i < k; i++) {
    mb += dbox[i] < 1e9f ? dbox[i] / k : 0, ml += dlm[i] / k, mc += cosv[i] / k;
    over_b += dbox[i] > 1, over_l += dlm[i] > 1;
  }
  float pbmax = 0;
  for (long i = 0; i < k; i++)
    if (dbox[i] < 1e9f && dbox[i] > pbmax) pbmax = dbox[i];
  float pb99 = pct(dbox, (size_t)k, 0.99), pl99 = pct(dlm, (size_t)k, 0.99),
        plmax = pct(dlm, (size_t)k, 1), cmin = pct(cosv, (size_t)k, 0), lmax = pct(dlive, (size_t)k, 1),
        smax = pct(dscore, (size_t)k, 1), pp99 = pct(dprob, (size_t)k, 0.99), ppmax = pct(dprob, (size_t)k, 1);
  if (json)
    printf("{\"images\": %ld, \"box_px_mean\": %.4f, \"box_px_p99\": %.4f, \"box_px_max\": %.4f, \"box_over_1px\": %ld, "
           "\"box_not_found\": %ld, \"score_maxdiff\": %.5f, \"landmark_px_mean\": %.4f, \"landmark_px_p99\": %.4f, "
           "\"landmark_px_max\": %.4f, \"landmark_over_1px\": %ld, \"embedding_cos_mean\": %.7f, "
           "\"embedding_cos_min\": %.7f, \"liveness_maxdiff\": %.4f, \"liveness_argmax_agree\": %.5f, "
           "\"liveness_prob_p99\": %.5f, \"liveness_prob_max\": %.5f}\n",
           k, mb, pb99, pbmax, over_b, missed, smax, ml, pl99, plmax, over_l, mc, cmin, lmax, k ? (double)live_agree / k : 0,
           pp99, ppmax);
  else {
    printf("compared on %ld development images, each model on the same input as fp32:\n", k);
    printf("  detector   box: mean %.3f px, p99 %.3f, max %.3f, %ld over 1 px, %ld not found; score max diff %.4f\n", mb,
           pb99, pbmax, over_b, missed, smax);
    printf("  landmarks  mean %.3f px, p99 %.3f, max %.3f, %ld over 1 px\n", ml, pl99, plmax, over_l);
    printf("  recognition cosine to fp32: mean %.6f, min %.6f\n", mc, cmin);
    printf("  liveness   largest output difference %.4f; same argmax on %.2f%% of faces; live probability\n"
           "             differs by at most %.4f on 99%% of faces (%.4f on all)\n", lmax,
           k ? 100.0 * live_agree / k : 0, pp99, ppmax);
  }
  rc = EXIT_OK;
done:
  free(r0), free(r1), free(det), free(emb), free(dbox), free(dlm), free(cosv), free(dlive), free(dscore), free(dprob);
  return rc;
}

int cmd_devset(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate devset LFWDIR [--per-person 10] [--people N] [variant options] [options]\n\n"
           "Measures the face pipeline on the development subset of LFW used to choose its\n"
           "preprocessing: images that pairs.txt never references, of people with >= 2 of them,\n"
           "the first --per-person by number (LFWDIR/lfw-deepfunneled, LFWDIR/pairs.txt). Reports\n"
           "detection failures (a median box is used instead; where the largest face is not the\n"
           "central one, the central one, LFW's subject, is used), verification on all genuine and\n"
           "impostor pairs (EER, TAR at FAR 1e-3 / 1e-4, thresholds at FMR 1e-2 .. 1e-5), the\n"
           "liveness model's outputs, quality statistics and median stage timings.\n\n"
           "variant options (defaults are the engine's):\n"
           "  --det-channels rgb|bgr     --feat-channels rgb|bgr     --live-channels rgb|bgr\n"
           "  --lm-crop box|square       --lm-crop-scale S           --lm-refine N\n"
           "  --lm-rotate                --lm-centre DX,DY\n"
           "  --lm-scaling div256|unit|sym|raw                       --points5 eye6|eye4\n"
           "  --lm-views 1|3|5           --lm-view-delta D           --align points5|stable|inner\n"
           "  --tta-zoom Z               --lm-size W,H\n"
           "  --live-scaling raw|unit|sym                            --feat-scaling sym|unit|raw\n"
           "other options:\n"
           "  --per-person N       images per person (default 10)\n"
           "  --people N           only the first N people (alphabetical) of the set\n"
           "  --worst N            list the N lowest-scoring genuine pairs on stderr\n"
           "  --record-ranges DIR  run the models in fp32 (oneDNN) recording every activation's\n"
           "                       range, and write DIR/<model>.json: the int8 calibration\n"
           "                       (data/quant/ was made so, docs/engine.md)\n"
           "  --compare P          instead of the report: run each model in precision P (as\n"
           "                       --precision takes it; default: the engine's; xnnpack: fp32\n"
           "                       on XNNPACK, the noise\n"
           "                       floor) against fp32 on the same input (the\n"
           "                       detector on the image, landmarks and liveness on fp32's box,\n"
           "                       recognition on fp32's aligned crop) and print the differences\n"
           "  --dump-faces F       write per image a line: path, box (x0 y0 x1 y1 score), the 68\n"
           "                       points and the liveness outputs in source pixels, and the\n"
           "                       embedding (tab-separated groups): what scripts/eval-precision\n"
           "                       compares between precisions\n"
           "  --dump-landmarks F   write each face's 68 points in aligned-crop coordinates to F\n"
           "                       (one line per image: 136 numbers, then the box's width and\n"
           "                       height at that scale; how the 68-point template was derived)\n%s",
           common_help);
    return EXIT_OK;
  }
  common_opts c;
  common_init(&c);
  c.fo.quality_min = 40;
  const char *lfw = NULL;
  const char *dump_path = NULL, *record_dir = NULL, *faces_path = NULL, *compare = NULL;
  int per = 10, max_people = 0, worst = 0;
  for (int i = 1; i < argc; i++) {
    if (common_opt(&c, argc, argv, &i)) continue;
    const char *a = argv[i];
    int bad = 0;
    if (!strcmp(a, "--dump-landmarks")) dump_path = need_val(argc, argv, &i);
    else if (!strcmp(a, "--record-ranges")) record_dir = need_val(argc, argv, &i), c.fo.record_ranges = 1;
    else if (!strcmp(a, "--dump-faces")) faces_path = need_val(argc, argv, &i);
    else if (!strcmp(a, "--compare")) compare = need_val(argc, argv, &i);
    else if (!strcmp(a, "--worst")) worst = (int)num_arg(need_val(argc, argv, &i), a, 1, 1e6);
    else if (!strcmp(a, "--per-person")) per = (int)num_arg(need_val(argc, argv, &i), a, 2, 1000);
    else if (!strcmp(a, "--people")) max_people = (int)num_arg(need_val(argc, argv, &i), a, 1, 1e6);
    else if (!strcmp(a, "--det-channels")) bad = parse_channels(need_val(argc, argv, &i), &c.fo.det_channels);
    else if (!strcmp(a, "--feat-channels")) bad = parse_channels(need_val(argc, argv, &i), &c.fo.feat_channels);
    else if (!strcmp(a, "--live-channels")) bad = parse_channels(need_val(argc, argv, &i), &c.fo.live_channels);
    else if (!strcmp(a, "--lm-scaling")) bad = parse_scaling(need_val(argc, argv, &i), &c.fo.lm_mean, &c.fo.lm_scale);
    else if (!strcmp(a, "--live-scaling")) bad = parse_scaling(need_val(argc, argv, &i), &c.fo.live_mean, &c.fo.live_scale);
    else if (!strcmp(a, "--feat-scaling")) bad = parse_scaling(need_val(argc, argv, &i), &c.fo.feat_mean, &c.fo.feat_scale);
    else if (!strcmp(a, "--lm-crop-scale")) c.fo.lm_crop_scale = (float)num_arg(need_val(argc, argv, &i), a, 0.5, 3);
    else if (!strcmp(a, "--lm-refine")) c.fo.lm_refine = (int)num_arg(need_val(argc, argv, &i), a, 0, 4);
    else if (!strcmp(a, "--lm-rotate")) c.fo.lm_rotate = 1;
    else if (!strcmp(a, "--lm-views")) c.fo.lm_views = (int)num_arg(need_val(argc, argv, &i), a, 1, 5);
    else if (!strcmp(a, "--lm-view-delta")) c.fo.lm_view_delta = (float)num_arg(need_val(argc, argv, &i), a, 0, 0.25);
    else if (!strcmp(a, "--lm-size")) {
      const char *v = need_val(argc, argv, &i);
      if (sscanf(v, "%f,%f", &c.fo.lm_size_w, &c.fo.lm_size_h) != 2) bad = 1;
    }
    else if (!strcmp(a, "--tta-zoom")) c.fo.tta_zoom = (float)num_arg(need_val(argc, argv, &i), a, -0.25, 0.25);
    else if (!strcmp(a, "--align")) {
      const char *v = need_val(argc, argv, &i);
      if (!strcmp(v, "points5")) c.fo.align_points = FG_ALIGN_POINTS5;
      else if (!strcmp(v, "stable")) c.fo.align_points = FG_ALIGN_STABLE;
      else if (!strcmp(v, "inner")) c.fo.align_points = FG_ALIGN_INNER;
      else bad = 1;
    }
    else if (!strcmp(a, "--lm-centre")) {
      const char *v = need_val(argc, argv, &i);
      if (sscanf(v, "%f,%f", &c.fo.lm_centre_dx, &c.fo.lm_centre_dy) != 2) bad = 1;
    }
    else if (!strcmp(a, "--lm-crop")) {
      const char *v = need_val(argc, argv, &i);
      if (!strcmp(v, "box")) c.fo.lm_crop = FG_LANDMARK_CROP_BOX;
      else if (!strcmp(v, "square")) c.fo.lm_crop = FG_LANDMARK_CROP_SQUARE;
      else bad = 1;
    } else if (!strcmp(a, "--points5")) {
      const char *v = need_val(argc, argv, &i);
      if (!strcmp(v, "eye6")) c.fo.points5 = FG_POINTS5_EYE6;
      else if (!strcmp(v, "eye4")) c.fo.points5 = FG_POINTS5_EYE4;
      else bad = 1;
    } else if (a[0] == '-' && a[1]) return fprintf(stderr, "facegate devset: unknown option '%s'\n", a), EXIT_USAGE;
    else lfw = a;
    if (bad) return fprintf(stderr, "facegate devset: bad value for %s\n", a), EXIT_USAGE;
  }
  if (!lfw) return fprintf(stderr, "usage: facegate devset LFWDIR [options]\n"), EXIT_USAGE;
  dev_img *list = NULL;
  int people = 0;
  long n = devset_list(lfw, per, max_people, &list, &people);
  if (n < 0) return EXIT_FAIL;
  if (n < 2) return fprintf(stderr, "facegate devset: no images found\n"), free(list), EXIT_FAIL;
  if (compare) {
    common_opts cc = c;
    for (int m = 0; m < FG_FACE_MODELS; m++) c.fo.precision[m] = FG_PRECISION_FP32;
    if (!strcmp(compare, "xnnpack")) { /* the other fp32 engine: the noise floor of the comparison */
      cc.fo.backend = FG_BACKEND_XNNPACK;
      compare = "fp32";
    }
    if (strcmp(compare, "default") && cli_parse_precision(compare, cc.fo.precision))
      return fprintf(stderr, "facegate devset: --compare takes what --precision takes\n"), free(list), EXIT_USAGE;
    fg_face_engine *base = make_engine("devset", &c), *cand = base ? make_engine("devset", &cc) : NULL;
    int rc = base && cand ? devset_compare(list, n, base, cand, c.json) : EXIT_FAIL;
    fg_face_engine_destroy(base);
    fg_face_engine_destroy(cand);
    free(list);
    return rc;
  }
  fg_face_engine *fe = make_engine("devset", &c);
  if (!fe) return free(list), EXIT_FAIL;
  int dim = fg_face_engine_dim(fe);
  float *emb = calloc((size_t)n * dim, sizeof *emb);
  float *st = calloc((size_t)n * 20, sizeof *st); /* per-image statistics */
  unsigned char *failed = calloc((size_t)n, 1);
  fg_face_result *r = malloc(sizeof *r);
  fg_error e = {0};
  int rc = EXIT_FAIL, fails = 0, several = 0, fta = 0, recentred = 0, live_argmax[3] = {0}, reason_count[FG_QUALITY_REASON_COUNT] = {0};
  double live_mean[3] = {0};
  float *tmp = malloc((size_t)n * sizeof *tmp);
  fg_face_box mbox = {0};
  FILE *dump = NULL, *faces = NULL;
  if (!emb || !st || !failed || !r || !tmp) goto done;
  if (faces_path && !(faces = fopen(faces_path, "w"))) {
    fprintf(stderr, "facegate devset: %s: %s\n", faces_path, strerror(errno));
    goto done;
  }
  if (dump_path && !(dump = fopen(dump_path, "w"))) {
    fprintf(stderr, "facegate devset: %s: %s\n", dump_path, strerror(errno));
    goto done;
  }
  /* Pass 1: the pipeline; pass 2: images without a face get the median box. */
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      if (!fails) break;
      float *bx = malloc((size_t)n * 4 * sizeof *bx);
      if (!bx) goto done;
      size_t k = 0;
      for (long i = 0; i < n; i++)
        if (!failed[i]) memcpy(bx + 4 * k++, st + 20 * i + 12, 4 * sizeof *bx);
      float col[4];
      for (int j = 0; j < 4; j++) {
        for (size_t q = 0; q < k; q++) tmp[q] = bx[4 * q + j];
        col[j] = pct(tmp, k, 0.5);
      }
      free(bx);
      mbox = (fg_face_box){col[0], col[1], col[2], col[3], 0};
    }
    for (long i = 0; i < n; i++) {
      if (pass == 1 && !failed[i]) continue;
      if (pass == 0) {
        if (fg_face_process_file(fe, list[i].path, NULL, r, &e)) {
          fprintf(stderr, "facegate devset: %s\n", cli_errmsg(&e));
          goto done;
        }
        if (r->status == FG_FACE_NO_FACE) {
          failed[i] = 1, fails++;
          continue;
        }
        /* LFW's subject is the face at the image centre. Where the gate's
         * rule (largest face) picked another one, process the central face
         * instead, so that selection does not blur the comparison of
         * preprocessing variants; counted as `recentred`. */
        int best = -1;
        double bd = 1e30;
        for (int k = 0; k < r->det.count; k++) {
          const fg_face_box *b = &r->det.faces[k];
          double dx = (b->x0 + b->x1 - r->width) / 2.0, dy = (b->y0 + b->y1 - r->height) / 2.0;
          if (dx * dx + dy * dy < bd) bd = dx * dx + dy * dy, best = k;
        }
        if (best >= 0 && best != r->selected) {
          fg_image img = {0};
          fg_face_box b = r->det.faces[best];
          int total = r->det.total;
          if (fg_image_decode_file(list[i].path, NULL, &img, &e) || fg_face_process_box(fe, &img, &b, r, &e)) {
            fg_image_release(&img);
            fprintf(stderr, "facegate devset: %s\n", cli_errmsg(&e));
            goto done;
          }
          fg_image_release(&img);
          r->det.total = total;
          recentred++;
        }
      } else {
        fg_image img = {0};
        if (fg_image_decode_file(list[i].path, NULL, &img, &e) || fg_face_process_box(fe, &img, &mbox, r, &e)) {
          fg_image_release(&img);
          fprintf(stderr, "facegate devset: %s\n", cli_errmsg(&e));
          goto done;
        }
        fg_image_release(&img);
      }
      memcpy(emb + (size_t)i * dim, r->embedding, (size_t)dim * sizeof *emb);
      if (faces) {
        fprintf(faces, "%s\t%.3f %.3f %.3f %.3f %.5f\t", list[i].path, r->box.x0, r->box.y0, r->box.x1, r->box.y1,
                r->box.score);
        for (int k = 0; k < 2 * FG_FACE_LANDMARKS; k++) fprintf(faces, "%s%.3f", k ? " " : "", r->landmarks[k]);
        fputc('\t', faces);
        for (int k = 0; k < 3; k++) fprintf(faces, "%s%.5f", k ? " " : "", r->liveness_done ? r->liveness_out[k] : 0.f);
        fputc('\t', faces);
        for (int k = 0; k < dim; k++) fprintf(faces, "%s%.7f", k ? " " : "", r->embedding[k]);
        fprintf(faces, "\t%d\n", pass);
      }
      if (dump) {
        const float *m = r->align, *p = r->landmarks;
        for (int k = 0; k < FG_FACE_LANDMARKS; k++)
          fprintf(dump, "%s%.3f %.3f", k ? " " : "", m[0] * p[2 * k] + m[1] * p[2 * k + 1] + m[2],
                  m[3] * p[2 * k] + m[4] * p[2 * k + 1] + m[5]);
        double sc = hypot(m[0], m[3]);
        fprintf(dump, " %.3f %.3f\n", (r->box.x1 - r->box.x0) * sc, (r->box.y1 - r->box.y0) * sc);
      }
      float *s = st + 20 * i;
      const fg_face_quality *q = &r->quality;
      s[0] = q->inter_eye_px, s[1] = q->yaw, s[2] = q->pitch, s[3] = q->roll, s[4] = q->sharpness;
      s[5] = q->brightness, s[6] = q->contrast, s[7] = q->score;
      s[8] = (r->box.x1 - r->box.x0) / (q->inter_eye_px > 0 ? q->inter_eye_px : 1);
      s[9] = (float)r->ms.detect, s[10] = (float)r->ms.landmarks, s[11] = (float)r->ms.embed;
      s[12] = r->box.x0, s[13] = r->box.y0, s[14] = r->box.x1, s[15] = r->box.y1;
      {
        /* Where the 68 points' centre sits in the landmark crop, and how
         * far the chosen face is from the image centre. */
        double mx = 0, my = 0, bw = r->box.x1 - r->box.x0, bh = r->box.y1 - r->box.y0;
        const fg_face_options *fo = fg_face_engine_options(fe);
        double cw = bw * fo->lm_crop_scale, ch = bh * fo->lm_crop_scale;
        if (fo->lm_crop == FG_LANDMARK_CROP_SQUARE) cw = ch = fmax(cw, ch);
        for (int k = 0; k < FG_FACE_LANDMARKS; k++) mx += r->landmarks[2 * k], my += r->landmarks[2 * k + 1];
        s[16] = (float)((mx / FG_FACE_LANDMARKS - (r->box.x0 + r->box.x1) / 2) / cw);
        s[17] = (float)((my / FG_FACE_LANDMARKS - (r->box.y0 + r->box.y1) / 2) / ch);
        s[18] = r->box.score;
        s[19] = hypotf((r->box.x0 + r->box.x1 - r->width) / 2, (r->box.y0 + r->box.y1 - r->height) / 2) /
                (float)(r->width < r->height ? r->width : r->height);
      }
      if (pass == 0) {
        several += r->det.total > 1;
        fta += r->status == FG_FACE_LOW_QUALITY;
        for (int b = 0; b < FG_QUALITY_REASON_COUNT; b++) reason_count[b] += !!(q->reasons & (1u << b));
      }
      if (r->liveness_done) {
        int am = 0;
        double mx = r->liveness_out[0], se = 0;
        for (int j = 1; j < 3; j++)
          if (r->liveness_out[j] > r->liveness_out[am]) am = j;
        mx = r->liveness_out[am];
        for (int j = 0; j < 3; j++) se += exp(r->liveness_out[j] - mx);
        for (int j = 0; j < 3; j++) live_mean[j] += exp(r->liveness_out[j] - mx) / se / n;
        live_argmax[am]++;
      }
    }
  }

  /* Scores: all genuine and impostor pairs. */
  size_t ng = 0, ni = 0;
  for (long i = 0; i < n; i++)
    for (long j = i + 1; j < n; j++) list[i].person == list[j].person ? ng++ : ni++;
  float *gen = malloc(ng * sizeof *gen), *imp = malloc(ni * sizeof *imp);
  if (!gen || !imp) {
    free(gen), free(imp);
    goto done;
  }
  size_t gi = 0, ii = 0;
  for (long i = 0; i < n; i++)
    for (long j = i + 1; j < n; j++) {
      float sc = fg_dot(emb + (size_t)i * dim, emb + (size_t)j * dim, (size_t)dim);
      if (list[i].person == list[j].person) gen[gi++] = sc;
      else imp[ii++] = sc;
    }
  if (worst > 0) {
    /* The worst genuine pairs, for looking at what fails (stderr). */
    qsort(gen, ng, sizeof *gen, cmp_float);
    float lim = gen[(size_t)worst < ng ? (size_t)worst - 1 : ng - 1];
    for (long i = 0; i < n; i++)
      for (long j = i + 1; j < n; j++)
        if (list[i].person == list[j].person) {
          float sc = fg_dot(emb + (size_t)i * dim, emb + (size_t)j * dim, (size_t)dim);
          if (sc <= lim) fprintf(stderr, "worst genuine %.4f %s %s\n", sc, list[i].path, list[j].path);
        }
  }
  qsort(gen, ng, sizeof *gen, cmp_float);
  qsort(imp, ni, sizeof *imp, cmp_float);
  /* Threshold at FMR f: the impostor score with a share f of impostors at or above it. */
  double fmrs[4] = {1e-2, 1e-3, 1e-4, 1e-5}, thr[4], tar[4];
  for (int k = 0; k < 4; k++) {
    size_t above = (size_t)floor(fmrs[k] * ni);
    thr[k] = above == 0 ? imp[ni - 1] + 1e-6 : imp[ni - above];
    size_t acc = 0;
    for (size_t g = 0; g < ng; g++) acc += gen[g] >= thr[k];
    tar[k] = (double)acc / ng;
  }
  /* EER: walk the merged sorted lists. */
  double eer = 1;
  {
    size_t g = 0, im = 0;
    double best = 2;
    while (g < ng || im < ni) {
      double t = g < ng && (im >= ni || gen[g] <= imp[im]) ? gen[g] : imp[im];
      while (g < ng && gen[g] <= t) g++;
      while (im < ni && imp[im] <= t) im++;
      double frr = (double)g / ng, far = 1 - (double)im / ni;
      if (fabs(frr - far) < best) best = fabs(frr - far), eer = (frr + far) / 2;
    }
  }
  double gm = 0, imm = 0;
  for (size_t g = 0; g < ng; g++) gm += gen[g] / ng;
  for (size_t q = 0; q < ni; q++) imm += imp[q] / ni;
  free(gen);
  free(imp);
  float med[20], p10[20], p90[20];
  int off_centre = 0;
  double mean_score = 0, mean_dx = 0, mean_dy = 0;
  for (long i = 0; i < n; i++)
    if (!failed[i]) {
      off_centre += st[20 * i + 19] > 0.1f;
      mean_score += st[20 * i + 18] / (n - fails);
      mean_dx += st[20 * i + 16] / (n - fails), mean_dy += st[20 * i + 17] / (n - fails);
    }
  for (int j = 0; j < 20; j++) {
    size_t k = 0;
    for (long i = 0; i < n; i++)
      if (!failed[i]) tmp[k++] = st[20 * i + j];
    med[j] = pct(tmp, k, 0.5), p10[j] = pct(tmp, k, 0.1), p90[j] = pct(tmp, k, 0.9);
  }
  if (c.json) {
    printf("{\"images\": %ld, \"people\": %d, \"detect_failures\": %d, \"several_faces\": %d, \"genuine\": %zu, "
           "\"impostor\": %zu, \"eer\": %.5f, \"tar_at_far_1e-3\": %.5f, \"tar_at_far_1e-4\": %.5f, "
           "\"thresholds\": {\"1e-2\": %.4f, \"1e-3\": %.4f, \"1e-4\": %.4f, \"1e-5\": %.4f}, "
           "\"genuine_mean\": %.4f, \"impostor_mean\": %.4f, \"liveness_argmax\": [%d, %d, %d], "
           "\"liveness_mean\": [%.4f, %.4f, %.4f], \"fta\": %d, \"median_ms\": {\"detect\": %.3f, "
           "\"landmarks\": %.3f, \"embed\": %.3f}, \"selected_score_mean\": %.4f, \"recentred\": %d, \"off_centre\": %d, "
           "\"lm_centre\": [%.4f, %.4f]}\n",
           n, people, fails, several, ng, ni, eer, tar[1], tar[2], thr[0], thr[1], thr[2], thr[3], gm, imm,
           live_argmax[0], live_argmax[1], live_argmax[2], live_mean[0], live_mean[1], live_mean[2], fta, med[9],
           med[10], med[11], mean_score, recentred, off_centre, mean_dx, mean_dy);
  } else {
    printf("devset: %ld images of %d people (%s, first %d unreferenced by pairs.txt each)\n", n, people, lfw, per);
    printf("detection: %d failure(s) (median box (%.0f, %.0f)-(%.0f, %.0f) used), %d image(s) with several faces\n",
           fails, mbox.x0, mbox.y0, mbox.x1, mbox.y1, several);
    printf("  chosen face: mean score %.4f; the largest face was not the central one in %d image(s) (the central "
           "one was used); %d still off the image centre (> 10%% of the short side); 68-point centre at (%+.4f, "
           "%+.4f) of the landmark crop from its centre\n",
           mean_score, recentred, off_centre, mean_dx, mean_dy);
    printf("verification: %zu genuine, %zu impostor pairs; EER %.3f%%; TAR %.3f%% at FAR 1e-3, %.3f%% at 1e-4\n", ng, ni,
           100 * eer, 100 * tar[1], 100 * tar[2]);
    printf("  thresholds: FMR 1e-2 %.4f, 1e-3 %.4f, 1e-4 %.4f, 1e-5 %.4f; mean genuine %.4f, impostor %.4f\n", thr[0],
           thr[1], thr[2], thr[3], gm, imm);
    printf("liveness: argmax counts [%d, %d, %d], mean softmax [%.4f, %.4f, %.4f]\n", live_argmax[0], live_argmax[1],
           live_argmax[2], live_mean[0], live_mean[1], live_mean[2]);
    static const char *names[9] = {"inter-eye px", "yaw", "pitch", "roll", "sharpness", "brightness", "contrast",
                                   "quality score", "box width / inter-eye"};
    printf("quality (p10 / median / p90):\n");
    for (int j = 0; j < 9; j++) printf("  %-22s %8.2f %8.2f %8.2f\n", names[j], p10[j], med[j], p90[j]);
    printf("  failure to acquire at quality %.0f: %d; reasons:", c.fo.quality_min, fta);
    for (int b = 0; b < FG_QUALITY_REASON_COUNT; b++)
      if (reason_count[b]) printf(" %s %d", fg_quality_reason_name(1u << b), reason_count[b]);
    printf("\nmedian ms: detect %.2f, landmarks %.2f, embed %.2f\n", med[9], med[10], med[11]);
  }
  rc = EXIT_OK;
  if (record_dir) {
    if (fg_face_engine_save_ranges(fe, record_dir, &e)) {
      fprintf(stderr, "facegate devset: %s\n", cli_errmsg(&e));
      rc = EXIT_FAIL;
    } else fprintf(stderr, "devset: activation ranges written to %s/\n", record_dir);
  }
done:
  if (dump && fclose(dump) && rc == EXIT_OK) {
    fprintf(stderr, "facegate devset: %s: write failed\n", dump_path);
    rc = EXIT_FAIL;
  }
  if (faces && fclose(faces) && rc == EXIT_OK) {
    fprintf(stderr, "facegate devset: %s: write failed\n", faces_path);
    rc = EXIT_FAIL;
  }
  free(list);
  free(emb);
  free(st);
  free(failed);
  free(r);
  free(tmp);
  fg_face_engine_destroy(fe);
  return rc;
}
