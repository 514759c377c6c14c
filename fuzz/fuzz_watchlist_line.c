/*
 * libFuzzer target for one line of a watchlist import file
 * (fg__wl_parse_line, src/border/watchlist_import.c): JSON Lines a supervisor
 * loads with `facegate watchlist import`. Anything malformed must be refused
 * with FG_EFORMAT (or FG_ENOMEM) and an empty result, never crash, over-read
 * or leak; what is accepted must respect the documented bounds (name and
 * reason lengths, 1..16 photos or templates, never both, relative paths
 * without "..", finite unit-norm embeddings of one length). The first input
 * byte picks whether templates must carry the default model's id (bit 0) and
 * a length (bit 1: 512); checked-in seeds are in
 * fuzz/corpus/fuzz_watchlist_line/.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "border/border_internal.h"

static void check(int ok) {
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  /* the model id the seeds' templates carry (any 8 bytes do for the parser) */
  static const uint8_t model[8] = {0x87, 0xaa, 0xcd, 0xfe, 0x57, 0x51, 0x0d, 0xb2};
  fg__wl_line l;
  fg_error e;
  int rc = fg__wl_parse_line((const char *)data + 1, size - 1, data[0] & 1 ? model : NULL,
                             data[0] & 2 ? 512 : 0, &l, &e);
  if (rc != FG_OK) {
    check(rc == FG_EFORMAT || rc == FG_ENOMEM);
    check(!l.name && !l.reason && !l.emb && l.nphotos == 0 && l.ntemplates == 0);
    return 0;
  }
  check(l.name && l.name[0] && strlen(l.name) <= 256);
  check(l.reason && l.reason[0] && strlen(l.reason) <= 1024);
  check(l.expires_at >= 0);
  check((l.nphotos > 0) != (l.ntemplates > 0));
  check(l.nphotos <= FG_WATCHLIST_PHOTOS_MAX && l.ntemplates <= FG_WATCHLIST_PHOTOS_MAX);
  for (int i = 0; i < l.nphotos; i++) {
    const char *p = l.photo[i];
    check(p && p[0] && p[0] != '/' && strlen(p) <= FG__WL_PATH_MAX && !strstr(p, "/../") &&
          strncmp(p, "../", 3) != 0 && strcmp(p, ".."));
  }
  if (l.ntemplates) {
    check(l.emb && l.dim > 0 && (!(data[0] & 2) || l.dim == 512));
    for (int t = 0; t < l.ntemplates; t++) {
      double n = 0;
      for (int k = 0; k < l.dim; k++) {
        float x = l.emb[(size_t)t * (size_t)l.dim + (size_t)k];
        check(isfinite(x));
        n += (double)x * x;
      }
      check(fabs(n - 1.0) < 0.01);
    }
  }
  fg__wl_line_release(&l);
  return 0;
}
