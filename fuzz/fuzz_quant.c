/*
 * libFuzzer target for the activation-ranges reader (fg_quant_ranges_parse):
 * a ranges file sets the scale of every int8 activation, so a malformed one
 * must be refused with a message, never half-read. Checks: a refused file
 * leaves *out NULL; an accepted one holds finite ranges with min <= max and
 * survives a save and a reload unchanged (to float precision). Seeds in
 * fuzz/corpus/fuzz_quant (re-read by tests/test_nn_quant.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facegate/nn.h"
#include "nn/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fg_quant_ranges *r = (fg_quant_ranges *)1;
  fg_error e;
  if (fg_quant_ranges_parse((const char *)data, size, NULL, &r, &e) != FG_OK) {
    if (r != NULL) abort(); /* refused: nothing returned */
    return 0;
  }
  for (size_t i = 0; i < r->n; i++)
    if (!isfinite(r->min[i]) || !isfinite(r->max[i]) || r->min[i] > r->max[i] || !r->names[i]) abort();
  char path[64];
  snprintf(path, sizeof path, "/tmp/fuzz_quant.%d.json", (int)getpid());
  if (fg_quant_ranges_save(r, path, "fuzz", &e) != FG_OK) abort();
  fg_quant_ranges *back;
  if (fg_quant_ranges_load(path, NULL, &back, &e) != FG_OK) abort();
  unlink(path);
  if (back->n != r->n || back->runs != r->runs) abort();
  for (size_t i = 0; i < r->n; i++) {
    int k = fg__quant_find(back, r->names[i]);
    if (k < 0 || fabsf(back->min[k] - r->min[i]) > 1e-6f * fmaxf(1, fabsf(r->min[i])) ||
        fabsf(back->max[k] - r->max[i]) > 1e-6f * fmaxf(1, fabsf(r->max[i])))
      abort();
  }
  fg_quant_ranges_destroy(back);
  fg_quant_ranges_destroy(r);
  return 0;
}
