/*
 * libFuzzer target: the gallery loader over a memory buffer
 * (fg_gallery_open_memory), with and without checksum verification, then
 * whatever a caller would do with a gallery that opened: read its info and
 * ids, search it, and mutate it (which copies it out of the buffer).
 *
 * Checksums stop random mutations at the door, so every input is also opened
 * with FG_GALLERY_OPEN_NO_VERIFY: the structural checks must then be enough
 * to make any accepted file safe to search. Seeds: fuzz/corpus/fuzz_gallery,
 * galleries saved by fg_gallery_save (one per encoding, dimension 8 or 24,
 * 3 subjects x 2 templates, one with a removed subject; and a version-2 file
 * with capture flags from `facegate gallery add`: int8 with refine rows,
 * 512-d, one of its three templates harsh-lit); tests/test_gallery.c
 * re-runs that folder in `make test`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "facegate/gallery.h"

static void exercise(fg_gallery *g) {
  fg_gallery_info in;
  fg_gallery_get_info(g, &in);
  for (uint32_t s = 0; s < in.subject_slots && s < 64; s++) {
    size_t nt;
    const char *id = fg_gallery_subject_id(g, s, &nt);
    uint32_t back;
    if (id) fg_gallery_find_subject(g, id, &back);
    fg_gallery_subject_capture(g, s); /* version 2: the templates' capture flags */
  }
  for (size_t t = 0; t < in.template_slots && t < 64; t++) fg_gallery_template_capture(g, t);
  float *q = calloc(in.dim, sizeof *q);
  if (!q) return;
  for (uint32_t i = 0; i < in.dim; i++) q[i] = (float)((i * 2654435761u) % 17) - 8.0f;
  q[0] = 1.0f;
  fg_match m[8];
  size_t cnt;
  fg_gallery_search(g, q, 1, 0, 8, NULL, m, &cnt, NULL);
  fg_search_opts o = {.flags = FG_SEARCH_TEMPLATES, .kernel = FG_KERNEL_SCALAR};
  fg_gallery_search(g, q, 1, 0, 8, &o, m, &cnt, NULL);
  fg_gallery_verify(g, NULL);
  if (in.n_templates) fg_gallery_set_template_capture(g, in.template_slots - 1, 1, NULL);
  if (in.n_templates) fg_gallery_remove_template(g, 0, NULL);
  fg_gallery_add(g, "fuzz", q, in.dim, NULL, NULL);
  const char *id0 = fg_gallery_subject_id(g, 0, NULL);
  if (id0) {
    char copy[FG_GALLERY_ID_MAX + 1];
    strncpy(copy, id0, sizeof copy - 1);
    copy[sizeof copy - 1] = 0;
    fg_gallery_remove(g, copy, NULL, NULL);
  }
  fg_gallery_compact(g, NULL);
  fg_gallery_search(g, q, 1, 0, 8, NULL, m, &cnt, NULL);
  free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *buf = NULL;
  if (posix_memalign((void **)&buf, 64, size ? size : 64)) return 0;
  if (size) memcpy(buf, data, size);
  static const unsigned flags[] = {0, FG_GALLERY_OPEN_LAZY, FG_GALLERY_OPEN_NO_VERIFY};
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
    fg_gallery *g;
    if (fg_gallery_open_memory(buf, size, NULL, flags[i], &g, NULL) == FG_OK) {
      exercise(g);
      fg_gallery_destroy(g);
    }
  }
  free(buf);
  return 0;
}
