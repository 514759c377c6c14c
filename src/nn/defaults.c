/* The default models and their pinned SHA-256 digests (see docs/models.md). */
#include <stdlib.h>

#include "common/internal.h"
#include "facegate/nn.h"

static const fg_default_model models[] = {
  {"detect", "fr_detect.onnx", "6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854",
   "face detector (Ultra-Light-Fast RFB-320), 1x3x240x320"},
  {"landmark", "fr_landmark.onnx", "f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258",
   "68-point landmarks, 1x1x64x64 grey"},
  {"feature", "fr_feature.onnx", "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
   "recognition (MobileFaceNet-style, 512-d), 1x3x112x112 BGR"},
  {"liveness", "fr_liveness.onnx", "afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d",
   "presentation-attack detection (MiniFASNet-style), 1x3x128x128"},
};

const fg_default_model *fg_default_model_at(size_t i) {
  return i < sizeof models / sizeof models[0] ? &models[i] : NULL;
}

int fg_file_sha256(const char *path, char hex[65], fg_error *err) {
  uint8_t *buf;
  size_t len;
  int rc = fg__read_file(path, (size_t)1 << 30, &buf, &len, err);
  if (rc) return rc;
  fg__sha256_hex(buf, len, hex);
  free(buf);
  return FG_OK;
}
