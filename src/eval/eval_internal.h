/*
 * Internal to src/eval (not API): the sorted-score and ROC helpers shared by the
 * metrics and the DET plot, and the pairwise-score kernels of the calibration
 * with their plain-C twin, exposed so tests/test_eval.c can compare them.
 */
#ifndef FG_EVAL_INTERNAL_H
#define FG_EVAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/eval.h"

typedef struct fg__scored {
  float score;
  uint8_t same;
} fg__scored;

/* qsort comparator: ascending score, impostors first on ties. */
int fg__scored_cmp(const void *a, const void *b);

/* One threshold candidate (see metrics.c): accepts the scores >= threshold. */
typedef struct fg__roc_point {
  double threshold;
  double fmr, fnmr;
  size_t correct; /* genuine accepted + impostors rejected */
} fg__roc_point;

/* Operating points of scores sorted ascending (v, n): one per gap between
 * distinct scores plus the two outer ones, in order of increasing threshold
 * (FMR falling from 1, FNMR rising to 1). *pts is malloc'd. FG_ENOMEM. */
int fg__roc(const fg__scored *v, size_t n, fg__roc_point **pts, size_t *npts);

/* Column panels for the pairwise kernel: rows of E (n x dim) grouped by
 * FG__PANEL and transposed, panel p holding dim x FG__PANEL floats with
 * P[k * FG__PANEL + j] = E[p * FG__PANEL + j][k] (zero past row n). */
#define FG__PANEL 16
float *fg__pack_panels(const float *emb, size_t n, size_t dim, size_t *npanels);

/* out[r][j] = dot(a[r], column j of panel) for 4 rows a[0..3] (each dim floats)
 * and the FG__PANEL columns of one panel: the vectorised kernel. */
void fg__dot4x16(const float *const a[4], const float *panel, size_t dim,
                 float out[4][FG__PANEL]);
/* Its plain-C twin: the same products, one dot product at a time in double. */
void fg__dot4x16_ref(const float *const a[4], const float *panel, size_t dim,
                     float out[4][FG__PANEL]);

#endif
