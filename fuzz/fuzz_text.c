/*
 * libFuzzer target for the small text and tensor formats read from files a
 * user hands us: .npy tensors (`facegate model run --input`) and LFW-style
 * pairs files (`facegate eval lfw --pairs`). Both must refuse anything
 * malformed with an error, never crash or over-read. The first input byte
 * picks the parser so one corpus covers both.
 */
#include <stdint.h>
#include <stdlib.h>

#include "facegate/eval.h"
#include "facegate/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  fg_error e;
  if (data[0] & 1) {
    float *t = NULL;
    int rank;
    int64_t dims[FG_NN_MAX_RANK];
    if (fg_npy_read_memory(data + 1, size - 1, &t, &rank, dims, &e) == FG_OK) {
      size_t n = 1;
      for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
      volatile float sink = 0;
      for (size_t i = 0; i < n; i++) sink += t[i]; /* every element must be readable */
      (void)sink;
    }
    free(t);
  } else {
    fg_lfw_pairs p;
    if (fg_lfw_pairs_parse((const char *)data + 1, size - 1, &p, &e) == FG_OK) fg_lfw_pairs_release(&p);
  }
  return 0;
}
