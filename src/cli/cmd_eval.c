/*
 * `facegate eval lfw DIR`: the LFW verification benchmark run the standard way
 * (docs/evaluation.md). It embeds every image the protocol needs — the 7,701
 * named by pairs.txt, or all 13,233 with --calibrate — on N worker threads,
 * each with its own face engine (engines are not thread-safe), then scores the
 * 6,000 pairs by cosine similarity and reports the 10-fold accuracy (threshold
 * chosen on the other 9 folds), TAR at FAR = 1e-3, FNMR at FMR = 5e-4 (the EU
 * EES operating point), the EER, detection failures and wall time; --plot
 * draws the DET curve, --calibrate computes thresholds from every
 * cross-identity pair and writes the calibration file `facegate compare` reads.
 *
 * Which face: LFW labels each image with the person at its centre (the
 * images were cut around a detection), and many hold other people too, so by
 * default the detection nearest the image centre is used (--select centre);
 * --select gate uses the engine's own rule for a gate camera (the largest).
 *
 * Detection failures: when the detector finds no face in an image, the
 * pipeline is run on a fixed box instead (fg_face_process_box): the box
 * (FALLBACK_*) is the median of the boxes the detector returns on LFW's
 * deep-funneled images, where faces are centred, scaled to the image size.
 * Every pair keeps a score, as the protocol requires.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "facegate/calibration.h"
#include "facegate/eval.h"
#include "facegate/face.h"
#include "facegate/nn.h"

/* Fallback face box as fractions of the image: the median detector box over
 * every 20th LFW deep-funneled image (662 images; each coordinate's median
 * separately), i.e. (80, 59)-(170, 190) in a 250x250 image. See
 * docs/evaluation.md. */
#define FALLBACK_X0 0.319f
#define FALLBACK_Y0 0.235f
#define FALLBACK_X1 0.681f
#define FALLBACK_Y1 0.762f

int cli_lfw_centre_face(fg_face_engine *fe, const fg_image *img, fg_face_detections *det, fg_face_result *r,
                        int *fallback, fg_error *e) {
  int rc = fg_face_detect(fe, img, det, e);
  if (rc) return rc;
  fg_face_box b = {FALLBACK_X0 * (float)img->width, FALLBACK_Y0 * (float)img->height,
                   FALLBACK_X1 * (float)img->width, FALLBACK_Y1 * (float)img->height, 0};
  *fallback = det->count == 0;
  double best = 1e300;
  for (int k = 0; k < det->count; k++) {
    const fg_face_box *c = &det->faces[k];
    double dx = (c->x0 + c->x1) / 2.0 - img->width / 2.0, dy = (c->y0 + c->y1) / 2.0 - img->height / 2.0;
    if (dx * dx + dy * dy < best) best = dx * dx + dy * dy, b = *c;
  }
  return fg_face_process_box(fe, img, &b, r, e);
}

enum { IMG_OK = 0, IMG_FALLBACK = 1, IMG_LOW_QUALITY = 2 };

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *arg_val(int argc, char **argv, int *i) { return cli_arg_val("facegate eval", argc, argv, i); }

static void usage(FILE *f) {
  fprintf(f,
          "usage: facegate eval lfw DIR [--pairs FILE] [--threads N] [--flip|--no-flip]\n"
          "                         [--select centre|gate] [--plot DET.png|.svg] [--json]\n"
          "                         [--json-out FILE]\n"
          "                         [--calibrate OUT.json]\n"
          "                         [--models-dir DIR] [--model NAME|FILE]\n"
          "                         [--save-embeddings F.npy]\n"
          "                         [--embeddings F.npy] [--scores OUT.tsv]\n"
          "                         [--precision P] [--backend onednn|xnnpack] [--ranges-dir DIR]\n"
          "\n"
          "LFW verification with the standard protocol (docs/evaluation.md). DIR holds\n"
          "lfw-deepfunneled/<name>/<name>_NNNN.jpg and pairs.txt.\n"
          "\n"
          "  --pairs FILE        protocol file (default DIR/pairs.txt)\n"
          "  --threads N         worker threads, one face engine each (default 2)\n"
          "  --flip, --no-flip   add the mirrored face's embedding, or not (default: the\n"
          "                      engine's default)\n"
          "  --select RULE       which detected face an image is about: centre (default:\n"
          "                      nearest the image centre, LFW's convention) or gate (the\n"
          "                      engine's rule for a gate camera: the largest face)\n"
          "  --plot FILE         write the DET curve (FNMR vs FMR, log axes); .svg or PNG\n"
          "  --json              print the results as one JSON object on stdout\n"
          "  --json-out FILE     write that JSON object to FILE (with the usual report)\n"
          "  --calibrate FILE    embed all images and write thresholds for FMR 1e-2, 1e-3,\n"
          "                      5e-4, 1e-4, 1e-5 from every cross-identity pair\n"
          "  --models-dir DIR    models (default $FACEGATE_MODELS or facegate's home)\n"
          "  --model NAME|FILE   recognition model descriptor (default $FACEGATE_MODEL or the\n"
          "                      built-in fr_feature; `facegate models` lists them)\n"
          "  --precision P       fp32, bf16, int8 or det=P,lm=P,feat=P,live=P (default: the\n"
          "                      engine's; docs/engine.md); --backend, --ranges-dir as for\n"
          "                      `facegate embed`\n"
          "  --save-embeddings F write the embeddings (rows in sorted image order) as .npy\n"
          "  --embeddings F      read them instead of running the pipeline (same image set)\n"
          "  --scores FILE       write each pair's line, label, fold and score (TSV)\n"
          "\n"
          "Peak memory stays well under 300 MB with 2 threads. A progress bar is shown\n"
          "when stderr is a terminal.\n"
          "\n"
          "usage: facegate eval plot OUT.png|OUT.svg [--title T] LABEL=SCORES.tsv...\n"
          "  one DET curve per --scores file (up to 6), e.g. to compare flip and no flip\n"
          "\n"
          "usage: facegate eval identify ...   1:N on LFW flights (facegate eval identify --help)\n"
          "usage: facegate eval robustness ... per capture condition derived from LFW (--help)\n"
          "usage: facegate eval condition IMG NAME -o OUT.png   one image under one condition\n");
}

/* ------------------------------------------------------------ embedding */

typedef struct job {
  const fg_lfw_images *set;
  const char *images_dir;
  fg_face_engine **engines;
  float *emb; /* set->count x dim */
  int dim;
  uint8_t *state;   /* IMG_* per image */
  double *ms;       /* pipeline ms per image */
  atomic_size_t next;
  atomic_int failed;
  fg_error err;     /* first failure */
  pthread_mutex_t lock;
  cli_progress *progress;
  int centre;               /* select the face nearest the image centre */
  fg_face_detections *det;  /* one per worker (large: kept off the stack) */
} job;

typedef struct worker_arg {
  job *j;
  int index;
} worker_arg;

static void *embed_worker(void *arg) {
  worker_arg *wa = arg;
  job *j = wa->j;
  fg_face_engine *fe = j->engines[wa->index];
  fg_face_result *r = malloc(sizeof *r);
  fg_error e = {0};
  char path[4096];
  if (!r) {
    atomic_store(&j->failed, 1);
    return NULL;
  }
  for (;;) {
    size_t i = atomic_fetch_add(&j->next, 1);
    if (i >= j->set->count || atomic_load(&j->failed)) break;
    double t0 = now_s();
    int rc = fg_lfw_image_path(j->images_dir, &j->set->images[i], path, sizeof path, &e);
    uint8_t st = IMG_OK;
    if (!rc && !j->centre) {
      /* The engine's own choice (the gate rule: largest face). */
      rc = fg_face_process_file(fe, path, NULL, r, &e);
      if (!rc && r->status == FG_FACE_NO_FACE) st = IMG_FALLBACK;
    }
    if (!rc && (j->centre || st == IMG_FALLBACK)) {
      /* LFW's subject is the face at the centre of the image: detect, take
       * the box whose centre is nearest the image centre; no face: the
       * fixed fallback box. */
      fg_image img = {0};
      int fb = 0;
      rc = fg_image_decode_file(path, NULL, &img, &e);
      if (!rc) rc = cli_lfw_centre_face(fe, &img, &j->det[wa->index], r, &fb, &e);
      if (!rc && fb) st = IMG_FALLBACK;
      if (!rc && st == IMG_OK && r->status == FG_FACE_LOW_QUALITY) st = IMG_LOW_QUALITY;
      fg_image_release(&img);
    } else if (!rc && r->status == FG_FACE_LOW_QUALITY) {
      st = IMG_LOW_QUALITY;
    }
    if (!rc && r->dim != j->dim) {
      rc = FG_ESHAPE;
      snprintf(e.msg, sizeof e.msg, "%.400s: embedding of %d values, expected %d", path, r->dim, j->dim);
    }
    if (rc) {
      pthread_mutex_lock(&j->lock);
      if (!atomic_load(&j->failed)) {
        j->err = e;
        j->err.code = rc;
        atomic_store(&j->failed, 1);
      }
      pthread_mutex_unlock(&j->lock);
      break;
    }
    memcpy(j->emb + i * (size_t)j->dim, r->embedding, (size_t)j->dim * sizeof(float));
    j->state[i] = st;
    j->ms[i] = 1000.0 * (now_s() - t0);
    cli_progress_add(j->progress, 1);
  }
  free(r);
  return NULL;
}

/* Everything measured, as one JSON object. */
typedef struct summary {
  const fg_verif_report *rep;
  size_t np, n, fallback, fallback_pairs_imgs, lowq;
  int flip_used, threads, dim, centre;
  double t_embed, med_ms, wall;
  const char *model_sha, *calib;
  const fg_calib_result *cr; /* NULL without --calibrate */
} summary;

static void print_json(FILE *f, const summary *S) {
  const fg_verif_report *rep = S->rep;
  const fg_calib_result *cr = S->cr;
  fprintf(f, "{\"accuracy\": %.6f, \"accuracy_std\": %.6f, \"accuracy_se\": %.6f, \"tar_at_far_1e-3\": %.6f, "
             "\"eer\": %.6f, \"fnmr_at_fmr_5e-4\": %.6f, \"detect_failures\": %zu, \"pairs\": %zu",
          rep->kfold.accuracy, rep->kfold.accuracy_std, rep->kfold.accuracy_se, rep->tar_at_far_1e3, rep->eer,
          rep->fnmr_at_fmr_5e4, S->fallback_pairs_imgs, S->np);
  fprintf(f, ", \"detect_failure_action\": \"pipeline run on a fixed centre box (%.3f,%.3f)-(%.3f,%.3f) of the image\"",
          FALLBACK_X0, FALLBACK_Y0, FALLBACK_X1, FALLBACK_Y1);
  fprintf(f, ", \"genuine\": %zu, \"impostor\": %zu, \"images\": %zu, \"detect_failures_all_images\": %zu, "
             "\"low_quality\": %zu, \"flip\": %s, \"select\": \"%s\", \"threads\": %d, \"dim\": %d",
          rep->genuine, rep->impostor, S->n, S->fallback, S->lowq, S->flip_used ? "true" : "false",
          S->centre ? "centre" : "gate", S->threads, S->dim);
  fprintf(f, ", \"threshold_far_1e-3\": %.6f, \"threshold_fmr_5e-4\": %.6f, \"threshold_eer\": %.6f, \"fold_accuracy\": [",
          rep->threshold_far_1e3, rep->threshold_fmr_5e4, rep->threshold_eer);
  for (int k = 0; k < rep->kfold.folds; k++) fprintf(f, "%s%.6f", k ? ", " : "", rep->kfold.fold_accuracy[k]);
  fprintf(f, "], \"fold_threshold\": [");
  for (int k = 0; k < rep->kfold.folds; k++) fprintf(f, "%s%.6f", k ? ", " : "", rep->kfold.fold_threshold[k]);
  fprintf(f, "], \"embed_s\": %.3f, \"median_ms_per_image\": %.3f, \"wall_s\": %.3f, \"model_sha256\": \"%s\"",
          S->t_embed, S->med_ms, S->wall, S->model_sha);
  if (cr) {
    fprintf(f, ", \"calibration\": {\"file\": ");
    cli_json_str(f, S->calib);
    fprintf(f, ", \"impostor_pairs\": %llu, \"thresholds\": {", (unsigned long long)cr->impostor_pairs);
    char key[16];
    for (size_t t = 0; t < cr->nfmr; t++) {
      fg_calib_fmr_key(cr->fmr[t], key);
      fprintf(f, "%s\"%s\": %.6f", t ? ", " : "", key, cr->threshold[t]);
    }
    fprintf(f, "}, \"seconds\": %.3f}", cr->seconds);
  }
  fprintf(f, "}\n");
}

/* ------------------------------------------------------------------ main */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int eval_lfw(int argc, char **argv) {
  const char *dir = NULL, *pairs_path = NULL, *plot = NULL, *calib = NULL, *models = NULL, *model = NULL;
  const char *save_emb = NULL, *load_emb = NULL, *scores_path = NULL, *json_out = NULL, *backend = NULL,
             *ranges_dir = NULL;
  int threads = 2, flip = -1, json = 0, centre = 1, precision[FG_FACE_MODELS] = {-1, -1, -1, -1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--pairs")) pairs_path = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--threads")) {
      const char *v = arg_val(argc, argv, &i);
      char *end;
      long t = strtol(v, &end, 10);
      if (*end || t < 1 || t > 64) {
        fprintf(stderr, "facegate eval: --threads must be an integer in 1..64 (got '%s')\n", v);
        return EXIT_USAGE;
      }
      threads = (int)t;
    } else if (!strcmp(a, "--flip")) flip = 1;
    else if (!strcmp(a, "--no-flip")) flip = 0;
    else if (!strcmp(a, "--plot")) plot = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--select")) {
      const char *v = arg_val(argc, argv, &i);
      if (!strcmp(v, "centre") || !strcmp(v, "center")) centre = 1;
      else if (!strcmp(v, "gate")) centre = 0;
      else {
        fprintf(stderr, "facegate eval: --select is centre or gate (got '%s')\n", v);
        return EXIT_USAGE;
      }
    }
    else if (!strcmp(a, "--json")) json = 1;
    else if (!strcmp(a, "--json-out")) json_out = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--calibrate")) calib = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--models-dir")) models = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--model")) model = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--save-embeddings")) save_emb = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--embeddings")) load_emb = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--scores")) scores_path = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--precision")) {
      if (cli_parse_precision(arg_val(argc, argv, &i), precision)) {
        fprintf(stderr, "facegate eval lfw: --precision takes fp32, bf16, int8 or det=P,lm=P,feat=P,live=P\n");
        return EXIT_USAGE;
      }
    } else if (!strcmp(a, "--backend")) backend = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--ranges-dir")) ranges_dir = arg_val(argc, argv, &i);
    else if (a[0] == '-') {
      fprintf(stderr, "facegate eval lfw: unknown option '%s'\n", a);
      return EXIT_USAGE;
    } else if (!dir) dir = a;
    else {
      fprintf(stderr, "facegate eval lfw: unexpected argument '%s'\n", a);
      return EXIT_USAGE;
    }
  }
  if (!dir) {
    usage(stderr);
    return EXIT_USAGE;
  }
  double t_start = now_s();
  int rc = EXIT_FAIL;
  fg_error e = {0};
  char pbuf[4096], images_dir[4096];
  if (!pairs_path) {
    snprintf(pbuf, sizeof pbuf, "%s/pairs.txt", dir);
    pairs_path = pbuf;
  }
  snprintf(images_dir, sizeof images_dir, "%s/lfw-deepfunneled", dir);
  struct stat st;
  if (stat(images_dir, &st) || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "facegate eval lfw: %s is not a directory (expected DIR/lfw-deepfunneled/<name>/...)\n", images_dir);
    return EXIT_FAIL;
  }

  fg_lfw_pairs pairs = {0};
  fg_lfw_images all = {0};
  const fg_lfw_images *set;
  fg_face_engine **engines = NULL;
  float *emb = NULL, *scores = NULL;
  uint8_t *state = NULL, *same = NULL, *fold = NULL;
  uint32_t *ia = NULL, *ib = NULL, *identity = NULL;
  double *ms = NULL;
  int nengines = 0, dim = 0;
  char model_sha[65] = "";
  int flip_used = 0;

  if (fg_lfw_pairs_load(pairs_path, &pairs, &e)) {
    fprintf(stderr, "facegate eval lfw: %s\n", cli_errmsg(&e));
    return EXIT_FAIL;
  }
  if (calib || load_emb) {
    if (fg_lfw_images_scan(images_dir, &all, &e)) {
      fprintf(stderr, "facegate eval lfw: %s\n", cli_errmsg(&e));
      goto out;
    }
    set = &all;
  } else {
    set = &pairs.images;
  }
  if (load_emb && !calib) { /* embeddings of the protocol's images, or of every image (eval identify's) */
    int rank;
    int64_t dims[FG_NN_MAX_RANK];
    float *peek;
    if (fg_npy_read(load_emb, &peek, &rank, dims, &e)) {
      fprintf(stderr, "facegate eval lfw: %s\n", cli_errmsg(&e));
      goto out;
    }
    free(peek);
    if (rank == 2 && dims[0] == (int64_t)pairs.images.count) set = &pairs.images;
  }
  size_t n = set->count, np = pairs.npairs;
  ia = malloc(np * sizeof *ia);
  ib = malloc(np * sizeof *ib);
  state = calloc(n, 1);
  ms = calloc(n, sizeof *ms);
  identity = malloc(n * sizeof *identity);
  if (!ia || !ib || !state || !ms || !identity) goto oom;
  for (size_t k = 0; k < np; k++) {
    const fg_lfw_image *a = &pairs.images.images[pairs.pairs[k].a], *b = &pairs.images.images[pairs.pairs[k].b];
    long x = fg_lfw_images_find(set, a->name, a->number), y = fg_lfw_images_find(set, b->name, b->number);
    if (x < 0 || y < 0) {
      const fg_lfw_image *m = x < 0 ? a : b;
      fprintf(stderr, "facegate eval lfw: %s line %d names %s_%04d.jpg, which is not under %s\n", pairs_path,
              pairs.pairs[k].line, m->name, m->number, images_dir);
      goto out;
    }
    ia[k] = (uint32_t)x;
    ib[k] = (uint32_t)y;
  }
  for (size_t i = 0; i < n; i++) identity[i] = set->images[i].identity;

  double t_embed = now_s();
  if (load_emb) {
    float *data;
    int rank;
    int64_t dims[8];
    if (fg_npy_read(load_emb, &data, &rank, dims, &e)) {
      fprintf(stderr, "facegate eval lfw: %s\n", cli_errmsg(&e));
      goto out;
    }
    if (rank != 2 || dims[0] != (int64_t)n || dims[1] < 1 || dims[1] > FG_FACE_MAX_DIM) {
      fprintf(stderr, "facegate eval lfw: %s: expected a %zu x D matrix (one row per image of this run, sorted)\n",
              load_emb, n);
      free(data);
      goto out;
    }
    emb = data;
    dim = (int)dims[1];
    flip_used = flip > 0;
  } else {
    fg_face_options o;
    fg_face_options_init(&o);
    o.models_dir = cli_models_dir(models);
    o.model = cli_model(model);
    o.threads = 1;
    if (precision[0] >= 0) memcpy(o.precision, precision, sizeof o.precision);
    if (backend && cli_parse_backend(backend, &o.backend)) {
      fprintf(stderr, "facegate eval lfw: --backend takes onednn or xnnpack\n");
      goto out;
    }
    o.ranges_dir = ranges_dir;
    o.liveness = 0; /* not needed for verification; saves its inference */
    if (flip >= 0) o.flip = flip;
    flip_used = o.flip;
    engines = calloc((size_t)threads, sizeof *engines);
    if (!engines) goto oom;
    for (; nengines < threads; nengines++)
      if (fg_face_engine_create(&o, &engines[nengines], &e)) {
        fprintf(stderr, "facegate eval lfw: %s\n", cli_errmsg(&e));
        goto out;
      }
    dim = fg_face_engine_dim(engines[0]);
    snprintf(model_sha, sizeof model_sha, "%s", fg_face_engine_model_sha256(engines[0]));
    emb = malloc(n * (size_t)dim * sizeof *emb);
    if (!emb) goto oom;

    cli_progress prog;
    cli_progress_init(&prog, "embedding", "img", n);
    fg_face_detections *dets = calloc((size_t)threads, sizeof *dets);
    if (!dets) goto oom;
    job j = {.set = set, .images_dir = images_dir, .engines = engines, .emb = emb, .dim = dim,
             .state = state, .ms = ms, .progress = &prog, .centre = centre, .det = dets};
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, 0);
    pthread_mutex_init(&j.lock, NULL);
    pthread_t tid[64];
    worker_arg wa[64];
    int started = 0;
    for (; started < threads; started++) {
      wa[started] = (worker_arg){&j, started};
      if (pthread_create(&tid[started], NULL, embed_worker, &wa[started])) break;
    }
    if (started == 0) embed_worker(&(worker_arg){&j, 0});
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    cli_progress_finish(&prog);
    pthread_mutex_destroy(&j.lock);
    free(dets);
    if (atomic_load(&j.failed)) {
      fprintf(stderr, "facegate eval lfw: %s\n", cli_errmsg(&j.err)[0] ? cli_errmsg(&j.err) : "out of memory");
      goto out;
    }
    for (int t = 0; t < nengines; t++) fg_face_engine_destroy(engines[t]);
    nengines = 0;
  }
  t_embed = now_s() - t_embed;
  if (save_emb) {
    int64_t dims[2] = {(int64_t)n, dim};
    if (fg_npy_write(save_emb, emb, 2, dims, &e)) {
      fprintf(stderr, "facegate eval lfw: %s\n", cli_errmsg(&e));
      goto out;
    }
  }

  /* Pair scores: cosine of L2-normalised embeddings. */
  scores = malloc(np * sizeof *scores);
  same = malloc(np);
  fold = malloc(np);
  if (!scores || !same || !fold) goto oom;
  for (size_t k = 0; k < np; k++) {
    const float *x = emb + (size_t)ia[k] * dim, *y = emb + (size_t)ib[k] * dim;
    double s = 0;
    for (int d = 0; d < dim; d++) s += (double)x[d] * y[d];
    scores[k] = (float)s;
    same[k] = pairs.pairs[k].same;
    fold[k] = pairs.pairs[k].fold;
  }
  if (scores_path) {
    FILE *f = fopen(scores_path, "w");
    if (!f) {
      fprintf(stderr, "facegate eval lfw: cannot write %s\n", scores_path);
      goto out;
    }
    fprintf(f, "line\tsame\tfold\tscore\n");
    for (size_t k = 0; k < np; k++)
      fprintf(f, "%d\t%d\t%d\t%.7f\n", pairs.pairs[k].line, same[k], fold[k] + 1, scores[k]);
    fclose(f);
  }
  fg_verif_report rep;
  if (fg_verif_evaluate(scores, same, fold, np, pairs.folds, &rep, &e)) {
    fprintf(stderr, "facegate eval lfw: %s\n", cli_errmsg(&e));
    goto out;
  }

  /* Failures among the images the pairs use (and among all, if more). */
  size_t fallback = 0, lowq = 0, fallback_pairs_imgs = 0;
  {
    uint8_t *used = calloc(n, 1);
    if (!used) goto oom;
    for (size_t k = 0; k < np; k++) used[ia[k]] = used[ib[k]] = 1;
    for (size_t i = 0; i < n; i++) {
      fallback += state[i] == IMG_FALLBACK;
      lowq += state[i] == IMG_LOW_QUALITY;
      fallback_pairs_imgs += used[i] && state[i] == IMG_FALLBACK;
    }
    free(used);
  }
  double med_ms = 0;
  if (!load_emb) {
    double *tmp = malloc(n * sizeof *tmp);
    if (!tmp) goto oom;
    memcpy(tmp, ms, n * sizeof *tmp);
    qsort(tmp, n, sizeof *tmp, cmp_double);
    med_ms = tmp[n / 2];
    free(tmp);
  }

  if (plot) {
    char label[64];
    snprintf(label, sizeof label, "facegate, %s", flip_used ? "flip" : "no flip");
    fg_det_series s = {label, scores, same, np};
    char title[128];
    snprintf(title, sizeof title, "LFW deep-funneled, %zu pairs (%zu genuine, %zu impostor)", np, rep.genuine,
             rep.impostor);
    fg_det_options po = {.title = title};
    if (fg_det_plot(plot, &s, 1, &po, &e)) {
      fprintf(stderr, "facegate eval lfw: %s\n", cli_errmsg(&e));
      goto out;
    }
  }

  fg_calib_result cr;
  int have_calib = 0;
  if (calib) {
    fg_calib_options co = {.threads = threads};
    if (fg_calib_impostor(emb, n, (size_t)dim, identity, &co, &cr, &e)) {
      fprintf(stderr, "facegate eval lfw: %s\n", cli_errmsg(&e));
      goto out;
    }
    char what[256];
    snprintf(what, sizeof what, "facegate face pipeline (engine defaults), %s; the labelled face: %s",
             flip_used ? "flip" : "no flip",
             centre ? "the detection nearest the image centre" : "the engine's gate rule (largest)");
    if (!model_sha[0] && cli_model(model)) {
      /* embeddings read from a file, made by the named model: its engine says which that is */
      fg_face_options o;
      fg_face_options_init(&o);
      o.models_dir = cli_models_dir(models);
      o.model = cli_model(model);
      o.liveness = 0;
      fg_face_engine *fe;
      if (fg_face_engine_create(&o, &fe, &e)) {
        fprintf(stderr, "facegate eval lfw: %s\n", e.msg);
        goto out;
      }
      snprintf(model_sha, sizeof model_sha, "%s", fg_face_engine_model_sha256(fe));
      int mdim = fg_face_engine_dim(fe);
      fg_face_engine_destroy(fe);
      if (mdim != dim) {
        fprintf(stderr, "facegate eval lfw: the embeddings are %d-d, model %s makes %d-d\n", dim, cli_model(model), mdim);
        goto out;
      }
    } else if (!model_sha[0]) {
      /* embeddings read from a file: the model is the one in the models directory */
      char mp[4096];
      snprintf(mp, sizeof mp, "%s/fr_feature.onnx", cli_models_dir(models));
      if (fg_file_sha256(mp, model_sha, &e)) model_sha[0] = 0;
    }
    if (fg_calib_write_json(calib, &cr, model_sha, what, "LFW deep-funneled, all images", &e)) {
      fprintf(stderr, "facegate eval lfw: %s\n", cli_errmsg(&e));
      goto out;
    }
    have_calib = 1;
  }
  double wall = now_s() - t_start;

  summary S = {&rep, np, n, fallback, fallback_pairs_imgs, lowq, flip_used, threads, dim, centre,
               t_embed, med_ms, wall, model_sha, calib, have_calib ? &cr : NULL};
  if (json_out) {
    FILE *jf = fopen(json_out, "w");
    if (!jf) {
      fprintf(stderr, "facegate eval lfw: cannot write %s\n", json_out);
      goto out;
    }
    print_json(jf, &S);
    fclose(jf);
  }
  if (json) {
    print_json(stdout, &S);
  } else {
    printf("LFW (%s), %zu pairs (%zu genuine, %zu impostor), %d folds; %zu images embedded, %s, %s face\n",
           pairs_path, np, rep.genuine, rep.impostor, rep.kfold.folds, n, flip_used ? "flip" : "no flip",
           centre ? "centre" : "largest (gate rule)");
    printf("  %2d-fold accuracy   %.2f%% ± %.2f (sample std over folds; standard error %.2f)\n",
           rep.kfold.folds, 100 * rep.kfold.accuracy, 100 * rep.kfold.accuracy_std, 100 * rep.kfold.accuracy_se);
    printf("  TAR @ FAR=1e-3     %.2f%%  (threshold %.4f)\n", 100 * rep.tar_at_far_1e3, rep.threshold_far_1e3);
    printf("  FNMR @ FMR=5e-4    %.2f%%  (threshold %.4f)\n", 100 * rep.fnmr_at_fmr_5e4,
           rep.threshold_fmr_5e4);
    if (5e-4 * (double)rep.impostor < 100)
      /* 5e-4 of a few thousand impostor pairs is one or two pairs: that threshold is
       * set by chance, so the figure says little about the EU EES point */
      printf("                     note: FMR 5e-4 of these %zu impostor pairs is %.1f pairs, too few to\n"
             "                     measure the EU EES point (FNMR < 1%%); the README's figure is over all\n"
             "                     genuine LFW pairs at the threshold calibrated on all impostor pairs\n"
             "                     (make calibrate; --calibrate here)\n",
             rep.impostor, 5e-4 * (double)rep.impostor);
    printf("  EER                %.2f%%  (threshold %.4f)\n", 100 * rep.eer, rep.threshold_eer);
    printf("  detect failures    %zu of the pairs' images (%zu of all %zu embedded): pipeline run on a fixed\n"
           "                     centre box instead\n",
           fallback_pairs_imgs, fallback, n);
    printf("  low quality        %zu images below the engine's quality threshold (embedded anyway)\n", lowq);
    if (!load_emb) printf("  embedding          %.1f s on %d threads, median %.1f ms per image\n", t_embed, threads, med_ms);
    if (have_calib) {
      printf("  calibration        %llu impostor pairs, %llu genuine, %.1f s -> %s\n",
             (unsigned long long)cr.impostor_pairs, (unsigned long long)cr.genuine_pairs, cr.seconds, calib);
      char key[16];
      for (size_t t = 0; t < cr.nfmr; t++) {
        fg_calib_fmr_key(cr.fmr[t], key);
        printf("    FMR %-5s threshold %.4f  (%llu false matches; FNMR %.3f%% over all genuine pairs)\n", key,
               cr.threshold[t], (unsigned long long)cr.false_matches[t], 100 * cr.fnmr[t]);
      }
    }
    if (plot) printf("  DET curve          %s\n", plot);
    printf("  wall time          %.1f s\n", wall);
  }
  rc = EXIT_OK;
  goto out;

oom:
  fprintf(stderr, "facegate eval lfw: out of memory\n");
out:
  for (int t = 0; t < nengines; t++) fg_face_engine_destroy(engines[t]);
  free(engines);
  free(emb);
  free(scores);
  free(state);
  free(same);
  free(fold);
  free(ia);
  free(ib);
  free(identity);
  free(ms);
  fg_lfw_images_release(&all);
  fg_lfw_pairs_release(&pairs);
  return rc;
}

/* ------------------------------------------------------------------ plot */

/* One --scores file: "line\tsame\tfold\tscore" rows after a header. */
static int read_scores(const char *path, float **scores, uint8_t **same, size_t *n) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "facegate eval plot: cannot read %s\n", path);
    return -1;
  }
  size_t cap = 8192, k = 0;
  float *s = malloc(cap * sizeof *s);
  uint8_t *g = malloc(cap);
  char line[256];
  int ln = 0, bad = 0;
  while (s && g && fgets(line, sizeof line, f)) {
    ln++;
    if (ln == 1 && !strncmp(line, "line", 4)) continue;
    int l, sm, fo;
    float sc;
    if (sscanf(line, "%d\t%d\t%d\t%f", &l, &sm, &fo, &sc) != 4 || (sm != 0 && sm != 1)) {
      fprintf(stderr, "facegate eval plot: %s line %d: expected \"line<TAB>same<TAB>fold<TAB>score\"\n", path, ln);
      bad = 1;
      break;
    }
    if (k == cap) {
      cap *= 2;
      float *ns = realloc(s, cap * sizeof *s);
      uint8_t *ng = realloc(g, cap);
      if (ns) s = ns;
      if (ng) g = ng;
      if (!ns || !ng) break;
    }
    s[k] = sc;
    g[k++] = (uint8_t)sm;
  }
  fclose(f);
  if (bad || !s || !g || !k) {
    if (!bad) fprintf(stderr, "facegate eval plot: %s: no scores\n", path);
    free(s);
    free(g);
    return -1;
  }
  *scores = s;
  *same = g;
  *n = k;
  return 0;
}

static int eval_plot(int argc, char **argv) {
  const char *out = NULL, *title = "DET curve";
  fg_det_series ser[6];
  size_t ns = 0;
  int rc = EXIT_FAIL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--title")) title = arg_val(argc, argv, &i);
    else if (!out) out = argv[i];
    else {
      char *eq = strchr(argv[i], '=');
      if (!eq || ns == 6) {
        fprintf(stderr, "facegate eval plot: expected LABEL=SCORES.tsv (at most 6), got '%s'\n", argv[i]);
        goto done;
      }
      *eq = 0;
      ser[ns].label = argv[i];
      float *s;
      uint8_t *g;
      if (read_scores(eq + 1, &s, &g, &ser[ns].n)) goto done;
      ser[ns].scores = s;
      ser[ns].same = g;
      ns++;
    }
  }
  if (!out || !ns) {
    fprintf(stderr, "usage: facegate eval plot OUT.png|OUT.svg [--title T] LABEL=SCORES.tsv...\n");
    rc = EXIT_USAGE;
    goto done;
  }
  fg_error e = {0};
  fg_det_options po = {.title = title};
  if (fg_det_plot(out, ser, ns, &po, &e)) {
    fprintf(stderr, "facegate eval plot: %s\n", cli_errmsg(&e));
    goto done;
  }
  rc = EXIT_OK;
done:
  for (size_t k = 0; k < ns; k++) {
    free((void *)ser[k].scores);
    free((void *)ser[k].same);
  }
  return rc;
}

int cmd_eval(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  if (!strcmp(argv[1], "lfw")) {
    if (cli_wants_help(argc - 1, argv + 1)) {
      usage(stdout);
      return EXIT_OK;
    }
    return eval_lfw(argc - 1, argv + 1);
  }
  if (!strcmp(argv[1], "plot")) return eval_plot(argc - 1, argv + 1);
  if (!strcmp(argv[1], "identify")) return cmd_eval_identify(argc - 1, argv + 1);
  if (!strcmp(argv[1], "robustness")) return cmd_eval_robustness(argc - 1, argv + 1);
  if (!strcmp(argv[1], "condition")) return cmd_eval_condition(argc - 1, argv + 1);
  fprintf(stderr, "facegate eval: unknown benchmark '%s' (known: lfw, identify, robustness, condition, plot)\n",
          argv[1]);
  return EXIT_USAGE;
}
