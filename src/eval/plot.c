/*
 * DET curves (ISO/IEC 19795-1: false non-match rate against false match rate,
 * both on log axes) drawn with cairo to PNG or SVG. One curve per system, so a
 * plot can compare, say, the pipeline with and without flip augmentation; the
 * operating points the project reports are marked on each curve (EER, FMR =
 * 1e-3, FMR = 5e-4) and the EU EES requirement (FNMR < 1% at FMR = 0.05%) is
 * drawn as a target: a curve passing below-left of it meets the requirement.
 *
 * The operating points come from fg__roc (metrics.c), the same code the
 * reported figures use, so the picture and the numbers cannot disagree.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cairo-svg.h>
#include <cairo.h>

#include "common/draw.h"
#include "common/internal.h"
#include "eval/eval_internal.h"

typedef struct frame {
  double x0, y0, w, h;     /* plot area in device units */
  double lxmin, lymin;     /* log10 of the axis minima; maxima are 0 (rate 1) */
} frame;

static double px(const frame *f, double rate) {
  double l = rate > 0 ? log10(rate) : f->lxmin;
  if (l < f->lxmin) l = f->lxmin;
  if (l > 0) l = 0;
  return f->x0 + (l - f->lxmin) / (0 - f->lxmin) * f->w;
}
static double py(const frame *f, double rate) {
  double l = rate > 0 ? log10(rate) : f->lymin;
  if (l < f->lymin) l = f->lymin;
  if (l > 0) l = 0;
  return f->y0 + f->h - (l - f->lymin) / (0 - f->lymin) * f->h;
}

static const double palette[][3] = {
  {0.12, 0.40, 0.75}, {0.85, 0.35, 0.10}, {0.15, 0.60, 0.25},
  {0.60, 0.20, 0.65}, {0.55, 0.45, 0.10}, {0.10, 0.60, 0.65},
};

/* "10" with a raised exponent, centred (align 0) or right-aligned (align 1) at x. */
static void decade_label(cairo_t *cr, double x, double y, int e, int align) {
  char ex[8];
  snprintf(ex, sizeof ex, "%d", e);
  cairo_text_extents_t a, b;
  cairo_set_font_size(cr, 13);
  cairo_text_extents(cr, "10", &a);
  cairo_set_font_size(cr, 9);
  cairo_text_extents(cr, ex, &b);
  double tw = a.x_advance + b.x_advance;
  double sx = align ? x - tw : x - tw / 2;
  cairo_set_font_size(cr, 13);
  cairo_move_to(cr, sx, y);
  cairo_show_text(cr, e == 0 ? "1" : "10");
  if (e != 0) {
    cairo_set_font_size(cr, 9);
    cairo_move_to(cr, sx + a.x_advance, y - 6);
    cairo_show_text(cr, ex);
  }
}

static void marker(cairo_t *cr, double x, double y, int shape) {
  cairo_new_path(cr);
  switch (shape) {
  case 0: cairo_arc(cr, x, y, 5, 0, 2 * M_PI); break; /* EER: circle */
  case 1: cairo_rectangle(cr, x - 4.5, y - 4.5, 9, 9); break; /* FMR 1e-3: square */
  default: /* FMR 5e-4: diamond */
    cairo_move_to(cr, x, y - 6);
    cairo_line_to(cr, x + 6, y);
    cairo_line_to(cr, x, y + 6);
    cairo_line_to(cr, x - 6, y);
    cairo_close_path(cr);
  }
}

/* FNMR at the strictest threshold with FMR <= target, from the ROC points. */
static double fnmr_at(const fg__roc_point *p, size_t n, double target, double *fmr) {
  for (size_t i = 0; i < n; i++)
    if (p[i].fmr <= target * (1 + 1e-12)) {
      *fmr = p[i].fmr;
      return p[i].fnmr;
    }
  *fmr = 0;
  return 1;
}

int fg_det_plot(const char *path, const fg_det_series *series, size_t nseries,
                const fg_det_options *opts, fg_error *err) {
  if (!path || !series || !nseries) return fg__seterr(err, FG_EINVAL, "DET plot: no series");
  int W = opts && opts->width > 0 ? opts->width : 900;
  int H = opts && opts->height > 0 ? opts->height : 700;
  const char *title = opts && opts->title ? opts->title : "DET curve";
  int marks = !(opts && opts->no_marks);

  fg__roc_point **roc = calloc(nseries, sizeof *roc);
  size_t *nroc = calloc(nseries, sizeof *nroc);
  double *eer = calloc(nseries, sizeof *eer);
  int rc = FG_OK;
  cairo_surface_t *s = NULL;
  cairo_t *cr = NULL;
  if (!roc || !nroc || !eer) { rc = fg__seterr(err, FG_ENOMEM, "DET plot: out of memory"); goto done; }

  double minx = 1, miny = 1;
  for (size_t k = 0; k < nseries; k++) {
    const fg_det_series *sr = &series[k];
    if (!sr->scores || !sr->same || !sr->n) { rc = fg__seterr(err, FG_EINVAL, "DET plot: series %zu is empty", k); goto done; }
    fg__scored *v = malloc(sr->n * sizeof *v);
    if (!v) { rc = fg__seterr(err, FG_ENOMEM, "DET plot: out of memory"); goto done; }
    for (size_t i = 0; i < sr->n; i++) v[i] = (fg__scored){sr->scores[i], (uint8_t)(sr->same[i] != 0)};
    qsort(v, sr->n, sizeof *v, fg__scored_cmp);
    rc = fg__roc(v, sr->n, &roc[k], &nroc[k]);
    free(v);
    if (rc) { rc = fg__seterr(err, rc, "DET plot: out of memory"); goto done; }
    if ((rc = fg_verif_eer(sr->scores, sr->same, sr->n, &eer[k], NULL, err))) goto done;
    for (size_t i = 0; i < nroc[k]; i++) {
      if (roc[k][i].fmr > 0 && roc[k][i].fmr < minx) minx = roc[k][i].fmr;
      if (roc[k][i].fnmr > 0 && roc[k][i].fnmr < miny) miny = roc[k][i].fnmr;
    }
  }
  frame fr;
  fr.lxmin = floor(log10(minx) + 1e-9);
  fr.lymin = floor(log10(miny) + 1e-9);
  if (fr.lxmin > -4) fr.lxmin = -4; /* room for the EES point at 5e-4 */
  if (fr.lymin > -3) fr.lymin = -3;
  if (fr.lxmin < -6) fr.lxmin = -6;
  if (fr.lymin < -6) fr.lymin = -6;
  fr.x0 = 90;
  fr.y0 = 50;
  fr.w = W - fr.x0 - 30;
  fr.h = H - fr.y0 - 75;

  size_t pl = strlen(path);
  int svg = pl >= 4 && !strcasecmp(path + pl - 4, ".svg");
  s = svg ? cairo_svg_surface_create(path, W, H) : cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    rc = fg__seterr(err, FG_EIO, "%s: cannot create the %s surface: %s", path, svg ? "SVG" : "image",
                    cairo_status_to_string(cairo_surface_status(s)));
    goto done;
  }
  cr = cairo_create(s);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  /* Grid: minor lines (2..9 x 10^e), then decades. */
  cairo_set_line_width(cr, 1);
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 0) cairo_set_source_rgb(cr, 0.93, 0.93, 0.93);
    else cairo_set_source_rgb(cr, 0.78, 0.78, 0.78);
    for (int e = (int)fr.lxmin; e <= 0; e++)
      for (int m = pass ? 1 : 2; m <= (pass ? 1 : 9); m++) {
        double r = m * pow(10, e);
        if (r > 1) continue;
        double x = floor(px(&fr, r)) + 0.5;
        cairo_move_to(cr, x, fr.y0);
        cairo_line_to(cr, x, fr.y0 + fr.h);
      }
    for (int e = (int)fr.lymin; e <= 0; e++)
      for (int m = pass ? 1 : 2; m <= (pass ? 1 : 9); m++) {
        double r = m * pow(10, e);
        if (r > 1) continue;
        double y = floor(py(&fr, r)) + 0.5;
        cairo_move_to(cr, fr.x0, y);
        cairo_line_to(cr, fr.x0 + fr.w, y);
      }
    cairo_stroke(cr);
  }
  /* Axis labels. */
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  for (int e = (int)fr.lxmin; e <= 0; e++) decade_label(cr, px(&fr, pow(10, e)), fr.y0 + fr.h + 20, e, 0);
  for (int e = (int)fr.lymin; e <= 0; e++) decade_label(cr, fr.x0 - 8, py(&fr, pow(10, e)) + 5, e, 1);
  fg__draw_text(cr, fr.x0 + fr.w / 2, H - 22, 14, "False match rate (FMR)", 0.5);
  cairo_save(cr);
  cairo_translate(cr, 24, fr.y0 + fr.h / 2);
  cairo_rotate(cr, -M_PI / 2);
  fg__draw_text(cr, 0, 0, 14, "False non-match rate (FNMR)", 0.5);
  cairo_restore(cr);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  fg__draw_text(cr, fr.x0 + fr.w / 2, 30, 16, title, 0.5);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  /* Clip curves to the plot area. */
  cairo_save(cr);
  cairo_rectangle(cr, fr.x0, fr.y0, fr.w, fr.h);
  cairo_clip(cr);
  /* FMR = FNMR diagonal (where the EER lies). */
  cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
  double dash[] = {4, 4};
  cairo_set_dash(cr, dash, 2, 0);
  double dmin = fr.lxmin > fr.lymin ? fr.lxmin : fr.lymin;
  cairo_move_to(cr, px(&fr, pow(10, dmin)), py(&fr, pow(10, dmin)));
  cairo_line_to(cr, px(&fr, 1), py(&fr, 1));
  cairo_stroke(cr);
  /* EU EES requirement: FNMR 1% at FMR 0.05%, dashed guides to the target point. */
  cairo_set_source_rgb(cr, 0.75, 0.1, 0.1);
  cairo_move_to(cr, px(&fr, 5e-4), fr.y0 + fr.h);
  cairo_line_to(cr, px(&fr, 5e-4), py(&fr, 1e-2));
  cairo_line_to(cr, fr.x0, py(&fr, 1e-2));
  cairo_stroke(cr);
  cairo_set_dash(cr, NULL, 0, 0);
  double ex = px(&fr, 5e-4), ey = py(&fr, 1e-2);
  cairo_set_line_width(cr, 2);
  cairo_move_to(cr, ex - 7, ey - 7);
  cairo_line_to(cr, ex + 7, ey + 7);
  cairo_move_to(cr, ex - 7, ey + 7);
  cairo_line_to(cr, ex + 7, ey - 7);
  cairo_stroke(cr);
  cairo_set_font_size(cr, 11);
  fg__draw_text(cr, ex + 10, ey + 18, 11, "EU EES: FNMR 1% at FMR 0.05%", 0);

  /* Curves: straight segments between consecutive operating points (on log
   * axes); FNMR 0 is drawn on the lower edge, and a curve ends at its last
   * point with FMR > 0 (1 / impostor pairs is the finest FMR measured). */
  for (size_t k = 0; k < nseries; k++) {
    const double *c = palette[k % (sizeof palette / sizeof *palette)];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, 2);
    cairo_new_path(cr);
    for (size_t i = 0; i < nroc[k]; i++) {
      if (roc[k][i].fmr <= 0) break; /* FMR 0 is off the axis: the curve ends */
      double x = px(&fr, roc[k][i].fmr), y = py(&fr, roc[k][i].fnmr);
      if (!i) cairo_move_to(cr, x, y);
      else cairo_line_to(cr, x, y);
    }
    cairo_stroke(cr);
    if (!marks) continue;
    double f3, f5;
    double n3 = fnmr_at(roc[k], nroc[k], 1e-3, &f3), n5 = fnmr_at(roc[k], nroc[k], 5e-4, &f5);
    double mx[3] = {px(&fr, eer[k]), px(&fr, f3), px(&fr, f5)};
    double my[3] = {py(&fr, eer[k]), py(&fr, n3), py(&fr, n5)};
    for (int m = 0; m < 3; m++) {
      marker(cr, mx[m], my[m], m);
      cairo_set_source_rgb(cr, 1, 1, 1);
      cairo_fill_preserve(cr);
      cairo_set_source_rgb(cr, c[0], c[1], c[2]);
      cairo_set_line_width(cr, 2);
      cairo_stroke(cr);
    }
  }
  cairo_restore(cr);

  /* Frame. */
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, fr.x0 + 0.5, fr.y0 + 0.5, fr.w, fr.h);
  cairo_stroke(cr);

  /* Legend (top right inside the plot, where DET curves never go). */
  {
    size_t rows = nseries + (marks ? 1 : 0);
    double lw = 360, lh = 10 + 20 * (double)rows;
    double lx = fr.x0 + fr.w - lw - 10, ly = fr.y0 + 10;
    cairo_set_source_rgba(cr, 1, 1, 1, 0.92);
    cairo_rectangle(cr, lx, ly, lw, lh);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_stroke(cr);
    for (size_t k = 0; k < nseries; k++) {
      const double *c = palette[k % (sizeof palette / sizeof *palette)];
      double yy = ly + 20 + 20 * (double)k;
      cairo_set_source_rgb(cr, c[0], c[1], c[2]);
      cairo_set_line_width(cr, 2);
      cairo_move_to(cr, lx + 10, yy - 4);
      cairo_line_to(cr, lx + 35, yy - 4);
      cairo_stroke(cr);
      char buf[256];
      double f3;
      double n3 = fnmr_at(roc[k], nroc[k], 1e-3, &f3);
      snprintf(buf, sizeof buf, "%s  (EER %.2f%%, FNMR@FMR=1e-3 %.2f%%)",
               series[k].label ? series[k].label : "scores", 100 * eer[k], 100 * n3);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      fg__draw_text(cr, lx + 42, yy, 11, buf, 0);
    }
    if (marks) {
      double yy = ly + 20 + 20 * (double)nseries;
      cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
      cairo_set_line_width(cr, 1.5);
      const char *names[3] = {"EER", "FMR 1e-3", "FMR 5e-4"};
      double xx = lx + 14;
      for (int m = 0; m < 3; m++) {
        marker(cr, xx, yy - 4, m);
        cairo_stroke(cr);
        fg__draw_text(cr, xx + 10, yy, 11, names[m], 0);
        xx += 95;
      }
    }
  }

  if (svg) {
    cairo_destroy(cr);
    cr = NULL;
    cairo_surface_finish(s);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
      rc = fg__seterr(err, FG_EIO, "%s: %s", path, cairo_status_to_string(cairo_surface_status(s)));
      goto done;
    }
  } else {
    cairo_surface_flush(s);
    cairo_status_t st = cairo_surface_write_to_png(s, path);
    if (st != CAIRO_STATUS_SUCCESS) {
      rc = fg__seterr(err, FG_EIO, "%s: cannot write PNG: %s", path, cairo_status_to_string(st));
      goto done;
    }
  }

done:
  if (cr) cairo_destroy(cr);
  if (s) cairo_surface_destroy(s);
  if (roc)
    for (size_t k = 0; k < nseries; k++) free(roc[k]);
  free(roc);
  free(nroc);
  free(eer);
  return rc;
}
