/*
 * libFuzzer target for the TensorFlow.js weights-manifest loader
 * (src/nn/tfjs_load.c): the manifest is JSON naming shard files next to it, and
 * either may be hostile. The input is the manifest; its shards are read from a
 * scratch directory holding "w.bin" (4,096 bytes) made once. Checks: no crash,
 * leak or unbounded allocation; an accepted manifest gives ONNX bytes that the
 * ONNX loader accepts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/graph.h"

static char dir[] = "/tmp/fg_fuzz_tfjs_XXXXXX";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    if (!mkdtemp(dir)) abort();
    char p[256];
    snprintf(p, sizeof p, "%s/w.bin", dir);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    for (int i = 0; i < 4096; i++) fputc((i * 37) & 255, f);
    fclose(f);
    ready = 1;
  }
  char path[256];
  snprintf(path, sizeof path, "%s/m.json", dir);
  fg_model_options o = {.max_file_bytes = 1 << 20};
  uint8_t *onnx = NULL;
  size_t len = 0;
  fg_error e;
  if (fg__tfjs_to_onnx(path, data, size, &o, &onnx, &len, &e) != FG_OK) {
    if (onnx) abort();
    return 0;
  }
  fg_model *m;
  if (fg_model_load_memory(onnx, len, NULL, &m, &e) == FG_OK) fg_model_destroy(m);
  free(onnx);
  return 0;
}
