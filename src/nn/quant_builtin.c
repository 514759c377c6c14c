/*
 * The default models' activation ranges (data/quant/fr_*.json, measured on the
 * LFW development images by `facegate devset --record-ranges`, docs/engine.md),
 * built into the library so that an installed facegate runs int8 with no file
 * to find. Included by the assembler (paths relative to the project root, where
 * make runs); the Makefile makes this object depend on them.
 */
#include <stdio.h>
#include <string.h>

#include "nn/model.h"

#define EMBED(sym, file)                                                                                    \
  __asm__(".section .rodata\n.global " #sym "\n.hidden " #sym "\n.type " #sym ", @object\n.balign 16\n" #sym \
          ":\n.incbin \"" file "\"\n.byte 0\n.size " #sym ", .-" #sym "\n.previous\n");                     \
  extern const char sym[];
EMBED(fg__quant_detect, "data/quant/fr_detect.json")
EMBED(fg__quant_landmark, "data/quant/fr_landmark.json")
EMBED(fg__quant_feature, "data/quant/fr_feature.json")
EMBED(fg__quant_liveness, "data/quant/fr_liveness.json")

int fg_quant_ranges_builtin(const fg_model *m, fg_quant_ranges **out, fg_error *err) {
  static const char *const docs[] = {fg__quant_detect, fg__quant_landmark, fg__quant_feature, fg__quant_liveness};
  *out = NULL;
  char key[128];
  snprintf(key, sizeof key, "\"model_sha256\": \"%s\"", m->stats.sha256);
  for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
    if (strstr(docs[i], key)) return fg_quant_ranges_parse(docs[i], strlen(docs[i]), m, out, err);
  return fg__seterr(err, FG_ENOTFOUND, "no built-in quantisation ranges for model %.16s...", m->stats.sha256);
}
