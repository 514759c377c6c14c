/*
 * Internal to src/calib (not API): the pairwise-score kernels of the FMR
 * calibration (impostor.c) with their plain-C twin, exposed so
 * tests/test_eval.c can compare them.
 */
#ifndef FG_CALIB_INTERNAL_H
#define FG_CALIB_INTERNAL_H

#include <stddef.h>

#include "facegate/calibration.h"

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
