/*
 * libFuzzer target for the EF.DG2 parser (BER-TLV and ISO/IEC 19794-5), with a
 * round-trip property: any face whose image the builder accepts must come back
 * from fg_dg2_build + fg_dg2_parse with the same bytes and metadata. Inputs
 * that parse are also run through fg_image_decode (small limits). Seeds:
 * fuzz/corpus/fuzz_dg2 (written by tests/test_dg2.c with FACEGATE_SEED_DIR).
 *
 *     make fuzz && build-fuzz/fuzz_dg2 -max_total_time=180 fuzz/corpus/fuzz_dg2
 *
 * Crash inputs go to tests/fixtures/fuzz-regress/dg2-*, which
 * tests/test_dg2.c re-runs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "facegate/dg2.h"
#include "facegate/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const fg_dg2_face *f) {
  uint8_t *b;
  size_t n;
  fg_error err;
  fg_dg2_face_meta m = f->meta;
  if (m.width == 0 || m.height == 0) m.width = m.height = 1; /* skip the header probe */
  if (fg_dg2_build(f->image, f->image_len, &m, &b, &n, &err) != FG_OK) return;
  fg_dg2 *d;
  if (fg_dg2_parse(b, n, &d, &err) != FG_OK) abort();
  const fg_dg2_face *g = fg_dg2_face_at(d, 0);
  if (fg_dg2_face_count(d) != 1 || g->image_len != f->image_len ||
      memcmp(g->image, f->image, f->image_len) != 0 || g->meta.gender != m.gender ||
      g->meta.width != m.width || g->meta.n_feature_points != m.n_feature_points ||
      memcmp(g->meta.pose, m.pose, 3) != 0)
    abort();
  for (unsigned k = 0; k < m.n_feature_points; k++)
    if (memcmp(&g->meta.feature_points[k], &m.feature_points[k], sizeof m.feature_points[k]))
      abort();
  fg_dg2_destroy(d);
  free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fg_dg2 *d = NULL;
  fg_error err;
  int sniff = fg_image_is_dg2(data, size);
  if (fg_dg2_parse(data, size, &d, &err) != FG_OK) {
    if (d) abort();
    return 0;
  }
  if (!sniff) abort(); /* whatever parses must also be recognised by the sniff */
  size_t n = fg_dg2_face_count(d);
  if (n == 0) abort();
  volatile unsigned sink = 0;
  for (size_t i = 0; i < n; i++) {
    const fg_dg2_face *f = fg_dg2_face_at(d, i);
    if (!f || f->image_len == 0) abort();
    for (size_t k = 0; k < f->image_len; k++) sink += f->image[k];
    for (unsigned k = 0; k < f->meta.n_feature_points; k++) sink += f->meta.feature_points[k].x;
    if (i < 4) round_trip(f);
  }
  if (fg_dg2_face_at(d, n)) abort();
  fg_dg2_destroy(d);
  fg_image_limits lim = {.max_bytes = 1 << 20, .max_pixels = 1 << 20};
  fg_image img;
  if (fg_image_decode(data, size, &lim, &img, &err) == FG_OK) fg_image_release(&img);
  (void)sink;
  return 0;
}
