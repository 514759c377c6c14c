/*
 * facegate/eval.h — measuring verification accuracy the standard way: the LFW
 * protocol (pairs.txt, 10-fold accuracy, TAR at a FAR, EER), DET curves drawn to
 * PNG or SVG, and decision thresholds calibrated on large impostor populations.
 *
 * Nothing here knows how an embedding is made: callers pass scores (or an
 * embeddings matrix) computed by any engine, so every figure can be checked on
 * synthetic data with a known answer (tests/test_eval.c) and the same code
 * measures any model. `facegate eval lfw` (src/cli/cmd_eval.c) wires it to the
 * face pipeline; docs/evaluation.md says how each figure is computed.
 *
 *     fg_lfw_pairs p;
 *     fg_error e;
 *     if (fg_lfw_pairs_load("lfw/pairs.txt", &p, &e)) { ... e.msg names the line ... }
 *     // score[i] = cosine of the embeddings of p.images.images[p.pairs[i].a] and [.b]
 *     fg_verif_report r;
 *     fg_verif_evaluate(score, same, fold, p.npairs, p.folds, &r, &e);
 *     printf("%.2f%% ± %.2f\n", 100 * r.kfold.accuracy, 100 * r.kfold.accuracy_std);
 *     fg_lfw_pairs_release(&p);
 *
 * Conventions. A score is a similarity: higher means "more likely the same
 * person", and a pair is accepted as a match when score >= threshold. FMR
 * (false match rate, also FAR) is the fraction of different-person (impostor)
 * pairs accepted, FNMR (false non-match rate, 1 - TAR) the fraction of
 * same-person (genuine) pairs rejected (ISO/IEC 19795-1 terms).
 *
 * Threads: every function is reentrant and keeps no state between calls; the
 * structs are plain caller-owned data (read them from any thread, write from one).
 * fg_calib_impostor (facegate/calibration.h) runs its own worker threads and joins them before returning.
 */
#ifndef FACEGATE_EVAL_H
#define FACEGATE_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/error.h"
#include "facegate/image.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

/* ---------------------------------------------------------------- LFW data */

/* One image of an LFW-style tree: <dir>/<name>/<name>_<number as %04d>.jpg. */
typedef struct fg_lfw_image {
  const char *name;  /* person, NUL-terminated; points into the owning set's pool */
  int number;        /* 1-based image number */
  uint32_t identity; /* dense person index in the owning set, 0 .. identities-1 */
} fg_lfw_image;

/* A set of images sorted by (name, number), without duplicates. Caller-owned:
 * zero-initialise or fill with a function below; fg_lfw_images_release frees it. */
typedef struct fg_lfw_images {
  size_t count;          /* images */
  size_t identities;     /* distinct names */
  fg_lfw_image *images;  /* count entries */
  char *pool;            /* the names (owned) */
} fg_lfw_images;

/* List every <name>/<name>_NNNN.jpg under images_dir (e.g. lfw/lfw-deepfunneled),
 * sorted. Other files are ignored; a directory with no such image is not a
 * person. FG_EIO/FG_ENOTFOUND if images_dir cannot be read, FG_ENOMEM. On error
 * *out is zeroed. */
int fg_lfw_images_scan(const char *images_dir, fg_lfw_images *out, fg_error *err);
/* Index of (name, number) in the set, or -1 if absent (binary search). */
long fg_lfw_images_find(const fg_lfw_images *set, const char *name, int number);
/* Free what the set holds and zero it; NULL or a zeroed set is fine. */
void fg_lfw_images_release(fg_lfw_images *set);
/* Write "<images_dir>/<name>/<name>_<number %04d>.jpg" into buf (n bytes).
 * FG_ELIMIT if it does not fit (buf then holds a truncated, terminated string). */
int fg_lfw_image_path(const char *images_dir, const fg_lfw_image *img, char *buf, size_t n,
                      fg_error *err);

/* One protocol pair; a and b index the images of the owning fg_lfw_pairs. */
typedef struct fg_lfw_pair {
  uint32_t a, b;
  uint8_t same; /* 1: same person (genuine), 0: different people (impostor) */
  uint8_t fold; /* 0 .. folds-1 */
  int line;     /* 1-based line of pairs.txt it came from */
} fg_lfw_pair;

/* The verification protocol of an LFW pairs.txt ("View 2"): a header line
 * "<folds> <n>" (LFW: "10 300") followed, for each fold, by n same-person lines
 * "name i j" and then n different-person lines "name1 i name2 j". */
typedef struct fg_lfw_pairs {
  int folds;            /* folds in the file (LFW: 10) */
  int per_fold;         /* same-person pairs per fold = different-person pairs per fold */
  size_t npairs;        /* 2 * folds * per_fold (LFW: 6000) */
  fg_lfw_pair *pairs;   /* in file order */
  fg_lfw_images images; /* the distinct images the pairs name (LFW: 7701) */
} fg_lfw_pairs;

#define FG_EVAL_MAX_FOLDS 100

/* Parse a pairs file held in memory. Strict: fields are separated by spaces or
 * tabs, lines end in LF or CRLF, blank lines are allowed only at the end; the
 * header must be two integers (folds in 2..FG_EVAL_MAX_FOLDS, n >= 1); each
 * fold must hold exactly n lines of 3 fields then n lines of 4 fields; image
 * numbers are integers 1..9999; names are non-empty and contain no '/'; a
 * different-person line must name two different people; the file must end
 * after the last fold. Any violation is FG_EFORMAT with a message naming the
 * 1-based line and what was expected there. On error *out is zeroed. */
int fg_lfw_pairs_parse(const char *text, size_t len, fg_lfw_pairs *out, fg_error *err);
/* fg_lfw_pairs_parse on a file (at most 64 MiB); messages start with the path. */
int fg_lfw_pairs_load(const char *path, fg_lfw_pairs *out, fg_error *err);
/* Free what *p holds and zero it; NULL or a zeroed struct is fine. */
void fg_lfw_pairs_release(fg_lfw_pairs *p);

/* The development subset (docs/pipeline.md): the images of `all` that no pair
 * of `pairs` names, of the people with at least two such images, the first
 * per_person of each by number (0: all of them). Image-disjoint from every
 * protocol pair, so choices made on it do not look at the test folds. On LFW
 * with per_person 10: 1906 images of 383 people. *out is a new set (sorted,
 * identities renumbered); on error it is zeroed. FG_EINVAL, FG_ENOMEM. */
int fg_lfw_devset(const fg_lfw_images *all, const fg_lfw_pairs *pairs, int per_person,
                  fg_lfw_images *out, fg_error *err);

/* ----------------------------------------------------------- verification */

/* k-fold accuracy as in the LFW protocol: for each fold, the threshold that
 * maximises accuracy on the other folds is applied to that fold. Candidate
 * thresholds are the midpoints between consecutive distinct training scores
 * (and one below the lowest and above the highest); when several consecutive
 * candidates reach the best training accuracy, the middle one of the first such
 * run is taken (deterministic, independent of the test fold). */
typedef struct fg_kfold_result {
  int folds;
  double accuracy;     /* mean of the per-fold accuracies */
  double accuracy_std; /* their sample standard deviation (n-1), as in the LFW README */
  double accuracy_se;  /* standard error of the mean: accuracy_std / sqrt(folds) */
  double fold_accuracy[FG_EVAL_MAX_FOLDS];
  double fold_threshold[FG_EVAL_MAX_FOLDS];
} fg_kfold_result;

/* scores[i], same[i] (1 genuine, 0 impostor) and fold[i] (0..folds-1) for n
 * pairs; every fold must hold at least one pair (FG_EINVAL otherwise). */
int fg_verif_kfold(const float *scores, const uint8_t *same, const uint8_t *fold, size_t n,
                   int folds, fg_kfold_result *out, fg_error *err);

/* The highest TAR (= 1 - FNMR) with FMR <= `far`, over all pairs: with I
 * impostor pairs, k = floor(far * I) false matches are allowed, and the
 * threshold is the smallest float above the (k+1)-th highest impostor score, so
 * every genuine score above that impostor counts. *tar, *threshold (may be
 * NULL) and *fmr_at (the FMR actually reached, <= far; may be NULL) are filled.
 * FG_EINVAL without genuine or impostor pairs, or far outside [0, 1]. */
int fg_verif_tar_at_far(const float *scores, const uint8_t *same, size_t n, double far,
                        double *tar, double *threshold, double *fmr_at, fg_error *err);

/* Equal error rate: the FMR and FNMR curves as functions of the threshold are
 * walked over all distinct scores; at the first threshold where FNMR >= FMR the
 * two neighbouring operating points are interpolated linearly to FMR = FNMR.
 * *threshold (may be NULL) is the score there. */
int fg_verif_eer(const float *scores, const uint8_t *same, size_t n, double *eer,
                 double *threshold, fg_error *err);

/* Everything `facegate eval` reports for one set of scores. */
typedef struct fg_verif_report {
  fg_kfold_result kfold;
  size_t pairs, genuine, impostor;
  double tar_at_far_1e3, threshold_far_1e3; /* FAR = 1e-3 */
  double fnmr_at_fmr_5e4, threshold_fmr_5e4; /* FMR = 5e-4: the EU EES operating point */
  double eer, threshold_eer;
} fg_verif_report;

int fg_verif_evaluate(const float *scores, const uint8_t *same, const uint8_t *fold, size_t n,
                      int folds, fg_verif_report *out, fg_error *err);

/* The 95% Wilson score interval of a proportion k / n (z = 1.959964): the
 * interval error rates per group are quoted with (the daily report's groups,
 * `eval identify --labels`). Unlike the normal approximation it stays inside
 * [0, 1] and is not empty at k = 0 or k = n. n = 0: [0, 1]. */
void fg_wilson95(int64_t k, int64_t n, double *lo, double *hi);

/* Which groups of a breakdown may be shown, so that none of fewer than min
 * members can be seen or recovered by subtraction: a group of fewer than min
 * members is withheld, then the next smallest until the withheld groups hold
 * together 0 or at least min members. members[i]: distinct people in group i;
 * shown[i] is set to 1 or 0. Returns the number of groups withheld. */
size_t fg_groups_withhold(const int64_t *members, size_t n, int64_t min, uint8_t *shown);

/* Group labels of an evaluation set's identities (`eval identify --labels`):
 * CSV, one header line "identity,sex,age_band,region", then one row per
 * identity (the LFW name, e.g. George_W_Bush). sex: F, M, X or empty; age_band
 * and region: up to 31 of letters, digits, space, '+', '-', '_', or empty.
 * Empty means unknown. No quoting; blank lines and lines starting with '#' are
 * skipped; a repeated identity is an error. docs/matching.md. */
enum { FG_LABEL_SEX, FG_LABEL_AGE_BAND, FG_LABEL_REGION, FG_LABEL_DIMS };
typedef struct fg_group_labels fg_group_labels;
int fg_group_labels_parse(const char *text, size_t len, fg_group_labels **out, fg_error *err);
int fg_group_labels_load(const char *path, fg_group_labels **out, fg_error *err);
size_t fg_group_labels_count(const fg_group_labels *l);
/* The identity's label for a dimension (FG_LABEL_*): "" when unknown, NULL
 * when the identity is not in the file. */
const char *fg_group_labels_get(const fg_group_labels *l, const char *identity, int dim);
void fg_group_labels_free(fg_group_labels *l);

/* ------------------------------------------------------------------ DET */

/* One curve of a DET plot: the scores of one system, and its label. */
typedef struct fg_det_series {
  const char *label;      /* legend text (may be NULL) */
  const float *scores;
  const uint8_t *same;
  size_t n;
} fg_det_series;

typedef struct fg_det_options {
  const char *title;  /* NULL: "DET curve" */
  int width, height;  /* pixels (PNG) or points (SVG); 0: 900 x 700 */
  int no_marks;       /* 1: do not mark the operating points */
} fg_det_options;

/* Draw FNMR against FMR, both on log10 axes, one curve per series, with a grid,
 * decade labels, axis titles and a legend; marked on each curve: the EER, FMR =
 * 1e-3 and FMR = 5e-4; and the EU EES requirement (FNMR 1% at FMR 0.05%) as a
 * target point. The axes span the decades holding the curves' non-zero rates
 * (down to 1e-6); a rate of 0 is drawn on the lower edge. The format follows the
 * path's extension: ".svg" writes SVG, anything else PNG (cairo). opts may be
 * NULL. FG_EIO if the file cannot be written, FG_EINVAL for empty series. */
int fg_det_plot(const char *path, const fg_det_series *series, size_t nseries,
                const fg_det_options *opts, fg_error *err);

/* ------------------------------------------------------ condition sets */

/* Capture conditions a border sees and LFW does not (tight document crops,
 * grey images, harsh directional light, dark or over-exposed frames,
 * backlight, small faces in a wide frame, heavy JPEG compression), made from
 * an unmodified image and where its face is. Used by `facegate eval
 * robustness` (docs/pipeline.md, "Robustness") to measure the pipeline per
 * condition on sets derived from LFW's development subset. Deterministic: the
 * same image, face, condition and seed give the same pixels. */

/* Where the face is in the unmodified image (source pixels). */
typedef struct fg_condition_face {
  float box[4];     /* detector box x0, y0, x1, y1 */
  float points[10]; /* eye centres (left, right as seen), nose tip, mouth corners */
} fg_condition_face;

/* One condition: each step is applied when its field is set, in this order. */
typedef struct fg_condition {
  const char *name; /* "crop-box", "light-90", ... */
  const char *what; /* one line for people */
  /* 1. crop about the face box: the box widened by crop_margin of its size on
   * each side (0: the box itself); with crop_aspect > 0 the height is the
   * widened box's and the width crop_aspect times it; crop_dy moves the crop
   * down by that share of the box height; crop_jitter moves and scales it at
   * random by up to that share. Parts outside the image are mid-grey. */
  int crop;
  float crop_margin, crop_aspect, crop_dy, crop_jitter;
  int out_w, out_h; /* 2. resize to this (0: keep) */
  /* 3. directional light (Lambertian ellipsoid head, relit from frontal):
   * azimuth in degrees (> 0 from the image's right), uniform in
   * [light_az, light_az_max] from either side when light_az_max > light_az;
   * elevation likewise (> 0 from above); ambient share of the light. */
  int light;
  float light_az, light_az_max, light_el, light_el_max, ambient;
  float gain;      /* 4. pixel values times gain, clipped (0: 1) */
  float gamma;     /* 5. 255 (v / 255)^gamma (0: 1) */
  float backlight; /* 6. > 0: the head darkened to this share, the background
                      pushed towards white (a window behind the traveller) */
  int grey;        /* 7. BT.601 grey, one channel */
  /* 8. scaled so the eyes are small_ied pixels apart, centred in a
   * canvas_w x canvas_h mid-grey frame */
  float small_ied;
  int canvas_w, canvas_h;
  int jpeg_quality; /* 9. JPEG round trip at this quality (0: none) */
} fg_condition;

/* The built-in conditions (a static table; *list points into it): their
 * count. The first is "none" (unmodified). */
size_t fg_conditions(const fg_condition **list);
/* The built-in condition called name, or NULL. */
const fg_condition *fg_condition_find(const char *name);
/* Make the condition's image from src (grey or RGB) whose face is `face`;
 * `seed` drives the random parts (jitter, light direction). *out receives new
 * pixels (RGB, or grey with `grey`); on error it is zeroed. FG_EINVAL for a
 * bad image or an empty box, FG_ENOMEM. */
int fg_condition_apply(const fg_condition *c, const fg_image *src, const fg_condition_face *face,
                       uint64_t seed, fg_image *out, fg_error *err);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
