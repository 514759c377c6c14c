/*
 * Verification metrics on labelled scores: the LFW k-fold accuracy with the
 * threshold chosen on the other folds, TAR at a fixed FAR, the equal error rate,
 * and the operating points of a DET curve (shared with plot.c through
 * eval_internal.h). Everything works on a sorted copy of the scores, so each
 * figure is exact for the given scores — no threshold grid, no sampling.
 *
 * Threshold candidates. With the scores sorted ascending, a threshold can only
 * fall into one of the gaps between consecutive distinct scores (or below the
 * lowest, or above the highest): candidate i accepts exactly the scores
 * s[i..n-1]. Its value is the midpoint of the gap (one unit beyond the extreme
 * scores for the two outer candidates).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "eval/eval_internal.h"

int fg__scored_cmp(const void *pa, const void *pb) {
  const fg__scored *a = pa, *b = pb;
  if (a->score < b->score) return -1;
  if (a->score > b->score) return 1;
  return (int)a->same - (int)b->same;
}

static int float_desc(const void *pa, const void *pb) {
  float a = *(const float *)pa, b = *(const float *)pb;
  return (a < b) - (a > b);
}

/* Sorted copy of the pairs selected by `fold` (take those with fold[i] != skip
 * if exclude, == skip otherwise; fold NULL takes all). */
static fg__scored *sorted_pairs(const float *scores, const uint8_t *same, const uint8_t *fold,
                                size_t n, int skip, int exclude, size_t *m) {
  fg__scored *v = malloc((n ? n : 1) * sizeof *v);
  if (!v) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (fold && ((fold[i] == skip) == exclude)) continue;
    v[k].score = scores[i];
    v[k].same = same[i] ? 1 : 0;
    k++;
  }
  qsort(v, k, sizeof *v, fg__scored_cmp);
  *m = k;
  return v;
}

int fg__roc(const fg__scored *v, size_t n, fg__roc_point **pts, size_t *npts) {
  size_t g = 0;
  for (size_t i = 0; i < n; i++) g += v[i].same;
  size_t imp = n - g;
  fg__roc_point *p = malloc((n + 1) * sizeof *p);
  if (!p) return FG_ENOMEM;
  size_t k = 0, gen_below = 0, imp_below = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == 0 || i == n || v[i].score != v[i - 1].score) {
      double t = i == 0 ? (n ? (double)v[0].score - 1.0 : 0.0)
               : i == n ? (double)v[n - 1].score + 1.0
                        : 0.5 * ((double)v[i - 1].score + (double)v[i].score);
      p[k].threshold = t;
      p[k].fnmr = g ? (double)gen_below / (double)g : 0.0;
      p[k].fmr = imp ? (double)(imp - imp_below) / (double)imp : 0.0;
      p[k].correct = (g - gen_below) + imp_below;
      k++;
    }
    if (i < n) {
      if (v[i].same) gen_below++;
      else imp_below++;
    }
  }
  *pts = p;
  *npts = k;
  return FG_OK;
}

int fg_verif_kfold(const float *scores, const uint8_t *same, const uint8_t *fold, size_t n,
                   int folds, fg_kfold_result *out, fg_error *err) {
  memset(out, 0, sizeof *out);
  if (!scores || !same || !fold || folds < 2 || folds > FG_EVAL_MAX_FOLDS)
    return fg__seterr(err, FG_EINVAL, "k-fold: need scores, labels, folds and 2..%d folds", FG_EVAL_MAX_FOLDS);
  size_t count[FG_EVAL_MAX_FOLDS] = {0};
  for (size_t i = 0; i < n; i++) {
    if (fold[i] >= folds) return fg__seterr(err, FG_EINVAL, "k-fold: pair %zu is in fold %d of %d", i, fold[i], folds);
    count[fold[i]]++;
  }
  for (int f = 0; f < folds; f++)
    if (!count[f]) return fg__seterr(err, FG_EINVAL, "k-fold: fold %d holds no pair", f + 1);

  out->folds = folds;
  for (int f = 0; f < folds; f++) {
    size_t m, npts;
    fg__scored *train = sorted_pairs(scores, same, fold, n, f, 1, &m);
    fg__roc_point *pts = NULL;
    if (!train || fg__roc(train, m, &pts, &npts)) {
      free(train);
      return fg__seterr(err, FG_ENOMEM, "k-fold: out of memory");
    }
    /* Best training accuracy; the first run of candidates reaching it. */
    size_t best = 0;
    for (size_t i = 1; i < npts; i++)
      if (pts[i].correct > pts[best].correct) best = i;
    size_t end = best;
    while (end + 1 < npts && pts[end + 1].correct == pts[best].correct) end++;
    double t = 0.5 * (pts[best].threshold + pts[end].threshold);
    free(pts);
    free(train);

    size_t ok = 0, tot = 0;
    for (size_t i = 0; i < n; i++) {
      if (fold[i] != f) continue;
      int accept = (double)scores[i] >= t;
      ok += accept == (same[i] != 0);
      tot++;
    }
    out->fold_accuracy[f] = (double)ok / (double)tot;
    out->fold_threshold[f] = t;
  }
  double s = 0;
  for (int f = 0; f < folds; f++) s += out->fold_accuracy[f];
  out->accuracy = s / folds;
  double ss = 0;
  for (int f = 0; f < folds; f++) ss += (out->fold_accuracy[f] - out->accuracy) * (out->fold_accuracy[f] - out->accuracy);
  out->accuracy_std = sqrt(ss / (folds - 1));
  out->accuracy_se = out->accuracy_std / sqrt((double)folds);
  return FG_OK;
}

static int count_labels(const uint8_t *same, size_t n, size_t *g, size_t *imp) {
  *g = 0;
  for (size_t i = 0; i < n; i++) *g += same[i] != 0;
  *imp = n - *g;
  return *g && *imp;
}

int fg_verif_tar_at_far(const float *scores, const uint8_t *same, size_t n, double far,
                        double *tar, double *threshold, double *fmr_at, fg_error *err) {
  size_t g, ni;
  if (!scores || !same || !(far >= 0.0 && far <= 1.0))
    return fg__seterr(err, FG_EINVAL, "TAR at FAR: need scores, labels and a FAR in [0, 1]");
  if (!count_labels(same, n, &g, &ni))
    return fg__seterr(err, FG_EINVAL, "TAR at FAR: need both genuine and impostor pairs (%zu genuine, %zu impostor)", g, ni);
  float *imp = malloc(ni * sizeof *imp);
  if (!imp) return fg__seterr(err, FG_ENOMEM, "TAR at FAR: out of memory");
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!same[i]) imp[k++] = scores[i];
  qsort(imp, ni, sizeof *imp, float_desc);
  /* k false matches allowed; the tiny slack keeps 1e-3 * 3000 at 3, not 2. */
  size_t allowed = (size_t)floor(far * (double)ni * (1.0 + 1e-12));
  double t;
  if (allowed >= ni) t = (double)imp[ni - 1] - 1.0; /* everything accepted */
  else t = (double)nextafterf(imp[allowed], INFINITY);
  free(imp);
  size_t ta = 0, fa = 0;
  for (size_t i = 0; i < n; i++) {
    if ((double)scores[i] < t) continue;
    if (same[i]) ta++;
    else fa++;
  }
  if (tar) *tar = (double)ta / (double)g;
  if (threshold) *threshold = t;
  if (fmr_at) *fmr_at = (double)fa / (double)ni;
  return FG_OK;
}

int fg_verif_eer(const float *scores, const uint8_t *same, size_t n, double *eer,
                 double *threshold, fg_error *err) {
  size_t g, ni;
  if (!scores || !same) return fg__seterr(err, FG_EINVAL, "EER: need scores and labels");
  if (!count_labels(same, n, &g, &ni))
    return fg__seterr(err, FG_EINVAL, "EER: need both genuine and impostor pairs (%zu genuine, %zu impostor)", g, ni);
  size_t m, npts;
  fg__scored *v = sorted_pairs(scores, same, NULL, n, 0, 0, &m);
  fg__roc_point *p = NULL;
  if (!v || fg__roc(v, m, &p, &npts)) {
    free(v);
    return fg__seterr(err, FG_ENOMEM, "EER: out of memory");
  }
  free(v);
  /* p[0] has FNMR 0, FMR 1; the last FNMR 1, FMR 0: a crossing exists, c >= 1. */
  size_t c = 1;
  while (c < npts - 1 && p[c].fnmr < p[c].fmr) c++;
  double dp = p[c - 1].fnmr - p[c - 1].fmr, dc = p[c].fnmr - p[c].fmr;
  double a = dp == dc ? 1.0 : dp / (dp - dc);
  if (eer) *eer = p[c - 1].fmr + a * (p[c].fmr - p[c - 1].fmr);
  if (threshold) *threshold = p[c - 1].threshold + a * (p[c].threshold - p[c - 1].threshold);
  free(p);
  return FG_OK;
}

int fg_verif_evaluate(const float *scores, const uint8_t *same, const uint8_t *fold, size_t n,
                      int folds, fg_verif_report *out, fg_error *err) {
  memset(out, 0, sizeof *out);
  int rc = fg_verif_kfold(scores, same, fold, n, folds, &out->kfold, err);
  if (rc) return rc;
  out->pairs = n;
  count_labels(same, n, &out->genuine, &out->impostor);
  double tar;
  if ((rc = fg_verif_tar_at_far(scores, same, n, 1e-3, &out->tar_at_far_1e3, &out->threshold_far_1e3, NULL, err)))
    return rc;
  if ((rc = fg_verif_tar_at_far(scores, same, n, 5e-4, &tar, &out->threshold_fmr_5e4, NULL, err)))
    return rc;
  out->fnmr_at_fmr_5e4 = 1.0 - tar;
  return fg_verif_eer(scores, same, n, &out->eer, &out->threshold_eer, err);
}
