/*
 * What the library's charts share (cairo): the DET plots (src/eval/plot.c)
 * and the daily report's chart (src/border/report.c). Internal, not API.
 */
#ifndef FACEGATE_COMMON_DRAW_H
#define FACEGATE_COMMON_DRAW_H

#include <cairo.h>

/* Text s at size (user units) on the baseline y, placed by align: 0 starts
 * at x, 0.5 is centred on x, 1 ends at x. */
void fg__draw_text(cairo_t *cr, double x, double y, double size, const char *s, double align);

#endif
