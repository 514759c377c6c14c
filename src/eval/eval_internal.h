/*
 * Internal to src/eval (not API): the sorted-score and ROC helpers shared by the
 * metrics and the DET plot.
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

#endif
