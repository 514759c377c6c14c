/*
 * libFuzzer target for recognition model descriptors (fg_model_descriptor_parse):
 * an operator writes them by hand to plug in a model, so a malformed one must be
 * refused with a message. Checks: a refused descriptor leaves a zeroed struct
 * (but its source); an accepted one is self-consistent (the model is one of its
 * files, the template inside the input, a fused one's weights unit).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "facegate/descriptor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static fg_model_descriptor d;
  fg_error e;
  if (fg_model_descriptor_parse((const char *)data, size, "fuzz", &d, &e) != FG_OK) {
    if (d.name[0] || d.n_files || d.n_fuse || d.embedding) abort();
    return 0;
  }
  if (d.n_fuse) {
    double s = (double)d.fuse_weight[0] * d.fuse_weight[0] + (double)d.fuse_weight[1] * d.fuse_weight[1];
    if (d.n_fuse != 2 || fabs(s - 1) > 1e-3 || !d.fuse_model[0][0] || !d.fuse_model[1][0]) abort();
    return 0;
  }
  int listed = 0;
  for (int i = 0; i < d.n_files; i++) listed |= !strcmp(d.file[i], d.model);
  if (!listed || d.width < 16 || d.height < 16 || d.embedding < 2 || d.embedding > FG_FACE_MAX_DIM) abort();
  for (int i = 0; i < 10; i++)
    if (!(d.template5[i] >= 0 && d.template5[i] <= (i % 2 ? d.height : d.width))) abort();
  return 0;
}
