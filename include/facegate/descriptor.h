/*
 * facegate/descriptor.h — recognition model descriptors: a small JSON file that
 * says everything the face engine needs to run a recognition model and
 * everything a template made with it depends on, so that a model is plugged in
 * without code (docs/models.md):
 *
 *   {"name": "dlib-resnet", "description": "...",
 *    "files": [{"path": "face_recognition_model-weights_manifest.json", "sha256": "..."},
 *              {"path": "face_recognition_model.bin", "sha256": "..."}],
 *    "model": "face_recognition_model-weights_manifest.json",
 *    "input": {"width": 150, "height": 150, "channels": "rgb", "mean": 0, "scale": 1},
 *    "alignment": {"template5": [x0, y0, ... x4, y4]},
 *    "embedding": {"length": 128, "metric": "euclidean"},
 *    "calibration": "../calibration/dlib-resnet.json",
 *    "fpir_calibration": "../calibration/dlib-resnet_fpir.json"}
 *
 * File paths are relative to the models directory; calibration paths to the
 * descriptor file's own directory (never the working directory): a
 * descriptor in data/models/ (a source tree) or SHAREDIR/descriptors/ (an
 * installation) finds its calibration in the calibration/ beside it.
 * fg_model_descriptor_load resolves them, so d->calibration and
 * d->fpir_calibration are paths that open as they are. "model" is the file the engine
 * loads (ONNX, or a TensorFlow.js manifest it knows: facegate/nn.h); every
 * file listed is checked against its SHA-256 before the engine uses it. The
 * 5-point template (left eye, right eye, nose tip, left and right mouth corner,
 * in pixels of the width x height crop) is the alignment. "metric" is the
 * model's own: facegate scores every model by the cosine of L2-normalised
 * embeddings, which orders pairs as Euclidean distance between them does
 * (|a - b|^2 = 2 - 2 cos), and its thresholds come from the calibration files.
 *
 * A fused model is a descriptor of two others (score-level fusion,
 * docs/models.md), named without a path: they are NAME.json in the fused
 * model's own directory.
 *
 *   {"name": "fused", "description": "...",
 *    "fuse": [{"model": "fr_feature", "weight": 0.63}, {"model": "dlib-resnet", "weight": 0.78}],
 *    "calibration": "...", "fpir_calibration": "..."}
 *
 * Its template is the two models' unit embeddings, each times its weight, one
 * after the other (weights with squares summing to 1, so the template is a unit
 * vector): the cosine of two such templates is w1^2 cos1 + w2^2 cos2, a
 * weighted sum of the two models' scores (z-scores of their impostor
 * distributions, up to a constant, when w_i^2 is proportional to the z-weight
 * over the impostor spread: scripts/fusion-weights.js), so galleries, search
 * and thresholds work unchanged. The first model's face (its alignment,
 * quality and liveness) is the face; the second model gets its own crop from
 * the same landmarks.
 *
 * A descriptor is named by a path (anything with a '/' or ending in .json) or
 * by a name, which this library looks up as FG_DESC_DIR/NAME.json (relative to
 * the working directory: a program that runs anywhere, like the facegate
 * command, passes paths it resolved itself). The default model's descriptor is
 * data/models/fr_feature.json in the source tree.
 */
#ifndef FACEGATE_DESCRIPTOR_H
#define FACEGATE_DESCRIPTOR_H

#include "facegate/error.h"
#include "facegate/face.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

#define FG_DESC_MAX_FILES 8
#define FG_DESC_DIR "data/models"
#define FG_DESC_DEFAULT "fr_feature"

typedef struct fg_model_descriptor {
  char name[64];
  char description[256];
  char source[512];                 /* the descriptor file it was read from */
  int n_files;
  char file[FG_DESC_MAX_FILES][256];
  char file_sha256[FG_DESC_MAX_FILES][65];
  char model[256];                  /* one of file[] */
  int width, height;
  fg_channel_order channels;
  float mean, scale;
  float template5[10];
  int embedding;                    /* length */
  char metric[16];                  /* "cosine" or "euclidean" */
  int n_fuse;                       /* 2 for a fused model (then files..embedding are unset) */
  char fuse_model[2][64];
  float fuse_weight[2];
  char calibration[512];            /* "" when none */
  char fpir_calibration[512];
} fg_model_descriptor;

/* Parse a descriptor from JSON text; source names it in messages. FG_EFORMAT
 * with the member at fault. */
int fg_model_descriptor_parse(const char *json, size_t len, const char *source, fg_model_descriptor *d,
                              fg_error *err);
/* Read NAME_OR_PATH (see above). FG_ENOTFOUND if there is no such descriptor. */
int fg_model_descriptor_load(const char *name_or_path, fg_model_descriptor *d, fg_error *err);
/* Check every file's SHA-256 in models_dir (NULL: var/models); FG_ENOTFOUND for a
 * missing file, FG_ECHECKSUM (or the I/O error) for a digest that differs. */
int fg_model_descriptor_verify(const fg_model_descriptor *d, const char *models_dir, fg_error *err);
/* Set the recognition part of *o from the descriptor: feature_model (written
 * into path, which must outlive o's use), align size and template, channel
 * order, mean and scale, and the embedding length the engine must find. */
int fg_model_descriptor_apply(const fg_model_descriptor *d, const char *models_dir, fg_face_options *o, char *path,
                              size_t path_cap, fg_error *err);
/* The descriptors in directory dir (NULL: FG_DESC_DIR), sorted by name: *out
 * (malloc'd, caller frees) of *n. Files that do not parse are skipped. */
int fg_model_descriptor_list(const char *dir, fg_model_descriptor **out, int *n, fg_error *err);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
