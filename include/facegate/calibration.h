/*
 * facegate/calibration.h — decision thresholds from measured error rates, in
 * one place: reading and producing the two calibration files a deployment
 * runs on.
 *
 *   1:1 (verify, compare, the gate's document check): the threshold for a
 *       target false match rate (FMR), from every impostor pair of a labelled
 *       set (`facegate eval lfw --calibrate`, `make calibrate`);
 *   1:N (flights, watchlists, `gallery search --fpir`): the threshold for a
 *       target false-positive identification rate (FPIR) in a gallery of N,
 *       from non-mated searches of galleries of several sizes (`facegate eval
 *       identify --calibrate`).
 *
 * Each file names the recognition model (SHA-256) it was measured with; a
 * model's descriptor names its two files (facegate/descriptor.h).
 * docs/evaluation.md and docs/matching.md say how each is measured.
 */
#ifndef FACEGATE_CALIBRATION_H
#define FACEGATE_CALIBRATION_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/error.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

/* ---- 1:1, reading: false-match rate -> threshold ----------------------------
 * A JSON file {"model_sha256": "<64 hex>", "method": "...", "thresholds":
 * {"1e-2": t, "1e-3": t, "1e-4": t, "1e-5": t}, optionally
 * "harsh_light_thresholds": {...} likewise} (other members ignored). */
#define FG_CALIBRATION_MAX 16
/* Where the LFW calibration of the default recognition model is written and
 * read from (make calibrate), relative to the working directory. */
#define FG_CALIBRATION_DEFAULT "data/calibration/fr_feature.json"
typedef struct fg_calibration {
  char model_sha256[65];
  char method[1024];
  int count;
  double fmr[FG_CALIBRATION_MAX];       /* ascending */
  double threshold[FG_CALIBRATION_MAX]; /* threshold[i] for fmr[i] */
  /* "harsh_light_thresholds" (optional): the thresholds that give the same
   * FMRs when both captures are harsh-lit (FG_TEMPLATE_CAPTURE_HARSH_LIGHT). */
  int harsh_count;
  double harsh_fmr[FG_CALIBRATION_MAX], harsh_threshold[FG_CALIBRATION_MAX];
} fg_calibration;

/* Read a calibration file. FG_ENOTFOUND if absent, FG_EFORMAT if malformed. */
int fg_calibration_load(const char *path, fg_calibration *cal, fg_error *err);
/* Parse one from memory. */
int fg_calibration_parse(const char *json, size_t len, fg_calibration *cal, fg_error *err);
/* Threshold for fmr: the entry whose FMR equals it (relative tolerance 1e-6);
 * FG_ENOTFOUND if the file has no such entry. */
int fg_calibration_threshold(const fg_calibration *cal, double fmr, double *threshold,
                             fg_error *err);
/* Threshold for fmr between two captures with FG_TEMPLATE_CAPTURE_* flags
 * (facegate/template.h) a and b: when both are harsh-lit and the file has a
 * harsh-light threshold for fmr, the higher of it and the plain one (two
 * faces lit the same hard way look alike to the model: docs/pipeline.md,
 * "Thresholds under harsh light"); otherwise fg_calibration_threshold. */
int fg_calibration_threshold_for(const fg_calibration *cal, double fmr, unsigned a, unsigned b,
                                 double *threshold, fg_error *err);
/* How much a 1:N threshold (FPIR) rises when the probe and the candidate are
 * both harsh-lit: the harsh-light threshold minus the plain one at the
 * smallest FMR that has both (the strictest measured pair); 0 when the file
 * has no harsh-light thresholds. The flight search, the watchlist screen and
 * `gallery search` add it to their threshold for such pairs. */
double fg_calibration_harsh_margin(const fg_calibration *cal);

/* ---- 1:1, producing: thresholds from every impostor pair ------------------ */

#define FG_CALIB_MAX_FMR 16

/* Thresholds for target false match rates, from every cross-identity pair of a
 * set of embeddings (n x dim, row-major, L2-normalised so the dot product is the
 * cosine). Pairs {i < j} with identity[i] != identity[j] are impostor pairs,
 * those with equal identities genuine pairs.
 *
 * Method (exact): pass 1 computes every pairwise score in cache-sized blocks
 * (4x16 register tiles over a column-panel copy of the matrix, a loop the
 * compiler vectorises; `threads` pthreads share the row blocks) into a
 * 65,536-bin histogram over [-1, 1] and keeps every genuine score; pass 2
 * recomputes the scores and keeps only those falling in the bins that hold the
 * wanted order statistics, so each threshold is the exact order statistic.
 * For a target FMR f with N impostor pairs, k = floor(f * N) false matches are
 * allowed and the threshold is the midpoint between the (k+1)-th highest
 * impostor score and the next higher distinct one (so exactly the k highest, or
 * fewer with ties, score >= threshold). */
typedef struct fg_calib_options {
  int threads;               /* worker threads, >= 1 (0: 2) */
  size_t nfmr;               /* targets (0: the default 1e-2, 1e-3, 5e-4, 1e-4, 1e-5) */
  double fmr[FG_CALIB_MAX_FMR];
} fg_calib_options;

typedef struct fg_calib_result {
  size_t images, identities, dim;
  uint64_t impostor_pairs, genuine_pairs;
  double impostor_mean, impostor_std, impostor_max;
  double genuine_mean;
  size_t nfmr;
  double fmr[FG_CALIB_MAX_FMR];           /* targets, as given */
  double threshold[FG_CALIB_MAX_FMR];     /* accept when score >= threshold */
  uint64_t false_matches[FG_CALIB_MAX_FMR]; /* impostor scores >= threshold (<= floor(f*N)) */
  double fnmr[FG_CALIB_MAX_FMR];          /* genuine scores < threshold / genuine pairs */
  double seconds;                         /* wall time of the two passes */
} fg_calib_result;

/* Compute the thresholds. identity[i] labels row i. FG_EINVAL if n < 2, dim < 1,
 * a target outside (0, 1), or there are no impostor pairs; FG_ENOMEM. The
 * embeddings are not modified. Memory: a second copy of the matrix (column
 * panels) plus the genuine scores. */
int fg_calib_impostor(const float *emb, size_t n, size_t dim, const uint32_t *identity,
                      const fg_calib_options *opts, fg_calib_result *out, fg_error *err);

/* Write the calibration as JSON (to path.tmp, then renamed):
 *   {"model_sha256": "...", "method": "...", "impostor_pairs": N, "images": N,
 *    "thresholds": {"1e-2": t, ...}, ...more keys}
 * Threshold keys are the targets written as "%.0e" without the exponent's
 * leading zeros ("1e-2", "5e-4"). `embedding` says how the embeddings were made
 * (e.g. "flip") and is stored as given; it may be NULL. */
int fg_calib_write_json(const char *path, const fg_calib_result *r, const char *model_sha256,
                        const char *embedding, const char *dataset, fg_error *err);

/* The key for a target FMR: "1e-2", "5e-4"... buf needs 16 bytes. */
void fg_calib_fmr_key(double fmr, char buf[16]);

/* ---- 1:N, reading: FPIR and gallery size -> threshold -----------------------
 * FPIR(T, N), the false-positive identification rate, is the fraction of
 * non-mated searches (the probe's subject is not enrolled) whose best score
 * is >= T, in a gallery of N subjects; it grows with N. An FPIR calibration
 * holds, for several gallery sizes N_i and target rates F_j, the threshold
 * T_ij measured from real non-mated searches (how: docs/matching.md):
 *
 *   {"model_sha256": "<64 hex>", "method": "...",
 *    "gallery_sizes": [N_0, ...], "fpir": [F_0, ...],
 *    "thresholds": [[T_00, T_01, ...], ...]}       (rows: sizes; other members ignored)
 *
 * fg_fpir_threshold interpolates linearly in log N and log F inside the
 * measured range. Outside the measured sizes it extrapolates under the
 * independence model FPIR = 1 - (1 - q(T))^N: the nearest size's row (the
 * smallest or the largest) gives q(T) at its thresholds, and the threshold for
 * (F, N) is the one whose q equals 1 - (1 - F)^(1/N). It refuses (FG_ELIMIT)
 * rates needing a threshold outside the measured ones. The
 * calibration was measured with one template per subject: for a gallery
 * with several per subject, pass the number of templates as N (each template
 * is one more chance of a false positive, so this errs on the safe side). */
#define FG_FPIR_CALIBRATION_DEFAULT "data/calibration/fr_feature_fpir.json"
#define FG_FPIR_MAX 24

typedef struct fg_fpir_calibration {
  char model_sha256[65];
  int n_sizes, n_fpir;
  double size[FG_FPIR_MAX];                  /* ascending */
  double fpir[FG_FPIR_MAX];                  /* descending (larger rate, lower threshold first) */
  double threshold[FG_FPIR_MAX][FG_FPIR_MAX]; /* [size][fpir] */
} fg_fpir_calibration;

/* Read a calibration file. FG_ENOTFOUND if absent, FG_EFORMAT if malformed
 * (the message names what). Sizes are sorted ascending and rates descending. */
int fg_fpir_calibration_load(const char *path, fg_fpir_calibration *cal, fg_error *err);
int fg_fpir_calibration_parse(const char *json, size_t len, fg_fpir_calibration *cal, fg_error *err);
/* Threshold for target FPIR `fpir` in a gallery of `n` subjects (see above).
 * `model_hex` (may be NULL) is the gallery's model id in hex: at least its
 * first 16 digits must match the calibration's model (FG_EINVAL otherwise). */
int fg_fpir_threshold(const fg_fpir_calibration *cal, const char *model_hex, size_t n, double fpir,
                      double *threshold, fg_error *err);

/* ---- 1:N, producing: thresholds from non-mated searches ---------------------
 * `facegate eval identify --calibrate` searches random galleries of each size
 * with people not enrolled and passes their best scores here; the file it
 * writes is the one fg_fpir_calibration_load reads. */

/* The threshold at which at most floor(fpir * n) of the n non-mated scores
 * are >= it: the smallest float above the (k+1)-th highest score. `scores`
 * is sorted in place (descending). -INFINITY when fpir * n >= n. */
double fg_fpir_threshold_of(float *scores, size_t n, double fpir);

/* Write cal as JSON (to path.tmp, then renamed; the layout above, plus
 * "method" and "non_mated_searches": searches[i] for size i, may be NULL).
 * FG_EIO with the path if it cannot be written, FG_EINVAL for an empty one. */
int fg_fpir_calibration_write(const char *path, const fg_fpir_calibration *cal, const char *method,
                              const size_t *searches, fg_error *err);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
