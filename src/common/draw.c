/* Chart helpers shared by the DET plots and the daily report (common/draw.h). */
#include "common/draw.h"

void fg__draw_text(cairo_t *cr, double x, double y, double size, const char *s, double align) {
  cairo_text_extents_t t;
  cairo_set_font_size(cr, size);
  cairo_text_extents(cr, s, &t);
  cairo_move_to(cr, x - align * t.x_advance, y);
  cairo_show_text(cr, s);
}
