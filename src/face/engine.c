/*
 * The face engine: option defaults, loading the four models, checking that
 * each has the inputs and outputs its stage expects, and the per-engine
 * buffers every stage reuses (so a steady stream of frames allocates little).
 *
 * Every default that is a preprocessing choice (channel orders, crops,
 * scaling, the liveness output) was fixed by measurement; docs/pipeline.md
 * has the numbers and the commands that reproduce them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face/face_internal.h"
#include "facegate/descriptor.h"
#include "image/image_internal.h"


/* The default recognition model (GUIDE §3) and the feature-norm limits
 * measured for it with its default preprocessing. */
#define DEFAULT_FEATURE_SHA256 "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581"
#define FNORM_GOOD 3.5f
#define FNORM_BAD 3.2f

static const char *const default_file[FG__NMODELS] = {"fr_detect.onnx", "fr_landmark.onnx",
                                                      "fr_feature.onnx", "fr_liveness.onnx"};

void fg_face_options_init(fg_face_options *o) {
  memset(o, 0, sizeof *o);
  o->models_dir = "var/models";
  o->threads = 1;
  o->backend = FG_BACKEND_ONEDNN;
  for (int i = 0; i < FG_FACE_MODELS; i++) o->precision[i] = fg__face_default_precision[i];
  o->det_score = 0.7f;
  o->det_nms_iou = 0.3f;
  o->min_face_px = 20.f;
  o->det_channels = FG_CHANNELS_RGB;
  o->det_pad = 0.25f;
  o->det_dark_gamma = 1;
  o->lm_crop = FG_LANDMARK_CROP_BOX;
  o->lm_crop_scale = 1.0f;
  o->lm_refine = 1;
  o->lm_rotate = 0;
  o->lm_centre_dx = 0.f;
  o->lm_centre_dy = 0.f;
  o->lm_mean = 0.f;
  o->lm_scale = 1.f / 256.f;
  o->points5 = FG_POINTS5_EYE6;
  o->realign = 1;
  o->lm_views = 1;
  o->lm_view_delta = 0.05f;
  o->align_points = FG_ALIGN_POINTS5;
  o->tta_zoom = 0.f;
  memcpy(o->align_template, fg__arcface_5, sizeof o->align_template);
  o->feat_channels = FG_CHANNELS_BGR;
  o->feat_mean = 127.f;
  o->feat_scale = 1.f / 128.f;
  o->light_norm = 1.0f;
  o->lm_light_norm = 0.8f;
  o->flip = 0;
  o->liveness = 1;
  o->live_crop_scale = 2.7f;
  o->live_channels = FG_CHANNELS_BGR;
  o->live_mean = 0.f;
  o->live_scale = 1.f;
  o->live_index = 0;
  o->decode_side = 640;
  o->quality_min = 40.f;
}

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* A model's tensor as N x C x H x W with N == 1, or FG_ESHAPE. */
static int nchw(const fg_tensor_info *t, const char *what, const char *path, int *c, int *h, int *w,
                fg_error *err) {
  if (!t || t->rank != 4 || t->dims[0] != 1)
    return fg__seterr(err, FG_ESHAPE, "%s: %s input must be 1xCxHxW", path, what);
  *c = (int)t->dims[1];
  *h = (int)t->dims[2];
  *w = (int)t->dims[3];
  return FG_OK;
}

/* The default precision of each model (detector, landmarks, recognition,
 * liveness): the fastest whose accuracy against fp32 stays inside the bounds
 * of docs/engine.md, measured on this project's reference CPU
 * (scripts/eval-precision). int8 (per-tensor activation scales) loses
 * accuracy on all four; bf16 moves the detector's boxes by up to 3.6 px (p99)
 * against a 1 px bound, so the detector stays fp32 (oneDNN's fp32 is already
 * ahead of ONNX Runtime). A CPU without AVX-512 BF16 runs fp32 instead. */
const int fg__face_default_precision[FG_FACE_MODELS] = {FG_PRECISION_FP32, FG_PRECISION_BF16, FG_PRECISION_BF16,
                                                        FG_PRECISION_BF16};

static int load(fg_face_engine *fe, int i, const int64_t *force_dims, fg_error *err) {
  const char *path = fe->paths[i];
  int rc = fg_model_load_file(path, NULL, &fe->model[i], err);
  if (rc == FG_ESHAPE && force_dims) {
    /* A recognition model exported with a symbolic batch (InsightFace's are):
     * fix it to one face of the aligned size. */
    fg_model_options mo = {.input_rank = 4};
    memcpy(mo.input_dims, force_dims, 4 * sizeof *force_dims);
    rc = fg_model_load_file(path, &mo, &fe->model[i], err);
  }
  if (rc) return rc;
  /* The detector's input is written channels-last (detect.c): what oneDNN's
   * first convolution reads without a reorder. */
  fg_session_options so = {.threads = fe->o.threads, .backend = fe->o.backend, .input_nhwc = i == FG__DET};
  int prec = fe->o.backend == FG_BACKEND_ONEDNN ? fe->o.precision[i] : FG_PRECISION_FP32;
  if (!fg_precision_native(prec)) prec = FG_PRECISION_FP32; /* this CPU would emulate it: slower than fp32 */
  fg_quant_ranges *qr = NULL;
  if (fe->o.record_ranges) {
    so.backend = FG_BACKEND_ONEDNN;
    so.record = 1;
    prec = FG_PRECISION_FP32;
    if ((rc = fg_quant_ranges_create(fe->model[i], &fe->ranges[i], err))) return rc;
  } else if (prec == FG_PRECISION_INT8 && fe->o.ranges_dir && *fe->o.ranges_dir) {
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t n = strlen(fe->o.ranges_dir) + strlen(base) + 8;
    char *rp = malloc(n);
    if (!rp) return fg__seterr(err, FG_ENOMEM, "face engine: out of memory");
    snprintf(rp, n, "%s/%s", fe->o.ranges_dir, base);
    char *dot = strrchr(rp, '.');
    if (dot && dot > strrchr(rp, '/')) strcpy(dot, ".json");
    else strcat(rp, ".json");
    rc = fg_quant_ranges_load(rp, fe->model[i], &qr, err);
    free(rp);
    if (rc) return rc;
  }
  so.precision = prec;
  so.ranges = qr;
  rc = fg_session_create(fe->model[i], &so, &fe->sess[i], err);
  fg_quant_ranges_destroy(qr);
  if (!rc) fe->prec[i] = prec;
  return rc ? fg__err_prefix(err, rc, "%s", path) : FG_OK; /* name the model file */
}

int fg__face_run(fg_face_engine *fe, int model, const float *const *in, float *const *out, fg_error *err) {
  int rc = fg_session_run(fe->sess[model], in, out, err);
  if (!rc && fe->ranges[model]) rc = fg_session_record(fe->sess[model], fe->ranges[model], err);
  return rc;
}

int fg_face_engine_save_ranges(const fg_face_engine *fe, const char *dir, fg_error *err) {
  if (!fe->o.record_ranges) return fg__seterr(err, FG_EINVAL, "the engine was not created with record_ranges");
  for (int i = 0; i < FG__NMODELS; i++) {
    if (!fe->ranges[i]) continue;
    const char *base = strrchr(fe->paths[i], '/') ? strrchr(fe->paths[i], '/') + 1 : fe->paths[i];
    char path[4096];
    int k = snprintf(path, sizeof path, "%s/%s", dir, base);
    if (k < 0 || (size_t)k + 6 >= sizeof path) return fg__seterr(err, FG_EINVAL, "%s: path too long", dir);
    char *dot = strrchr(path, '.');
    if (dot && dot > strrchr(path, '/')) strcpy(dot, ".json");
    else strcat(path, ".json");
    char method[256];
    snprintf(method, sizeof method, "facegate %s: activations of %s in fp32 (oneDNN) through the face pipeline",
             "devset --record-ranges", base);
    int rc = fg_quant_ranges_save(fe->ranges[i], path, method, err);
    if (rc) return rc;
  }
  return FG_OK;
}

static int precision_word(const char *s, size_t n) {
  for (int p = FG_PRECISION_FP32; p <= FG_PRECISION_INT8; p++)
    if (n == strlen(fg_precision_name(p)) && !strncmp(s, fg_precision_name(p), n)) return p;
  return -1;
}

static const char *const model_key[FG_FACE_MODELS] = {"det", "lm", "feat", "live"};

int fg_face_precision_parse(const char *s, int prec[FG_FACE_MODELS]) {
  int out[FG_FACE_MODELS], p = precision_word(s, strlen(s));
  if (!*s) return -1;
  memcpy(out, prec, sizeof out);
  if (p >= 0) {
    for (int i = 0; i < FG_FACE_MODELS; i++) prec[i] = p;
    return 0;
  }
  while (*s) {
    const char *eq = strchr(s, '='), *end = strchr(s, ',');
    if (!end) end = s + strlen(s);
    if (!eq || eq > end) return -1;
    int m = -1;
    for (int i = 0; i < FG_FACE_MODELS; i++)
      if ((size_t)(eq - s) == strlen(model_key[i]) && !strncmp(s, model_key[i], (size_t)(eq - s))) m = i;
    if (m < 0 || (p = precision_word(eq + 1, (size_t)(end - eq - 1))) < 0) return -1;
    out[m] = p;
    if (*end && !end[1]) return -1; /* a trailing comma */
    s = *end ? end + 1 : end;
  }
  memcpy(prec, out, sizeof out);
  return 0;
}

void fg_face_precision_format(const int prec[FG_FACE_MODELS], char *buf, size_t cap) {
  snprintf(buf, cap, "det=%s,lm=%s,feat=%s,live=%s", fg_precision_name(prec[0]), fg_precision_name(prec[1]),
           fg_precision_name(prec[2]), fg_precision_name(prec[3]));
}

int fg_face_engine_precision(const fg_face_engine *fe, int model) {
  return model >= 0 && model < FG__NMODELS ? fe->prec[model] : -1;
}

static float *falloc(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }

static int check_options(const fg_face_options *o, fg_error *err) {
  if (o->threads < 0 || o->threads > 256) return fg__seterr(err, FG_EINVAL, "threads must be 0..256");
  if (o->backend != FG_BACKEND_ONEDNN && o->backend != FG_BACKEND_XNNPACK)
    return fg__seterr(err, FG_EINVAL, "backend must be FG_BACKEND_ONEDNN or FG_BACKEND_XNNPACK");
  for (int i = 0; i < FG_FACE_MODELS; i++)
    if (o->precision[i] < FG_PRECISION_FP32 || o->precision[i] > FG_PRECISION_INT8)
      return fg__seterr(err, FG_EINVAL, "precision[%d] must be FG_PRECISION_FP32, BF16 or INT8", i);
  if (!(o->det_score >= 0 && o->det_score < 1)) return fg__seterr(err, FG_EINVAL, "det_score must be in [0, 1)");
  if (!(o->det_nms_iou > 0 && o->det_nms_iou <= 1)) return fg__seterr(err, FG_EINVAL, "det_nms_iou must be in (0, 1]");
  if (!(o->min_face_px >= 0)) return fg__seterr(err, FG_EINVAL, "min_face_px must be >= 0");
  if (!(o->det_pad >= 0 && o->det_pad <= 2)) return fg__seterr(err, FG_EINVAL, "det_pad must be in [0, 2]");
  if (!(o->light_norm >= 0 && o->light_norm <= 1) || !(o->lm_light_norm >= 0 && o->lm_light_norm <= 1))
    return fg__seterr(err, FG_EINVAL, "light_norm and lm_light_norm must be in [0, 1]");
  if (!(o->lm_crop_scale >= 0.5f && o->lm_crop_scale <= 3.f))
    return fg__seterr(err, FG_EINVAL, "lm_crop_scale must be in [0.5, 3]");
  if (o->lm_refine < 0 || o->lm_refine > 4) return fg__seterr(err, FG_EINVAL, "lm_refine must be 0..4");
  if (!(fabsf(o->lm_centre_dx) <= 0.5f && fabsf(o->lm_centre_dy) <= 0.5f))
    return fg__seterr(err, FG_EINVAL, "lm_centre_dx/dy must be in [-0.5, 0.5]");
  if (o->lm_views != 1 && o->lm_views != 3 && o->lm_views != 5)
    return fg__seterr(err, FG_EINVAL, "lm_views must be 1, 3 or 5");
  if (!(o->lm_view_delta >= 0 && o->lm_view_delta <= 0.25f))
    return fg__seterr(err, FG_EINVAL, "lm_view_delta must be in [0, 0.25]");
  if (!(o->lm_size_w >= 0 && o->lm_size_w <= 10 && o->lm_size_h >= 0 && o->lm_size_h <= 10) ||
      ((o->lm_size_w > 0) != (o->lm_size_h > 0)))
    return fg__seterr(err, FG_EINVAL, "lm_size_w/h must both be 0 or both in (0, 10]");
  if (o->align_points < FG_ALIGN_POINTS5 || o->align_points > FG_ALIGN_INNER)
    return fg__seterr(err, FG_EINVAL, "align_points: unknown value");
  if (!(o->tta_zoom > -0.3f && o->tta_zoom < 0.3f))
    return fg__seterr(err, FG_EINVAL, "tta_zoom must be in (-0.3, 0.3)");
  if (o->align_width < 0 || o->align_height < 0 || o->align_width > 1024 || o->align_height > 1024)
    return fg__seterr(err, FG_EINVAL, "align size must be 0..1024");
  if (!(o->live_crop_scale >= 1.f && o->live_crop_scale <= 8.f))
    return fg__seterr(err, FG_EINVAL, "live_crop_scale must be in [1, 8]");
  if (o->live_index < 0 || o->live_index > 7) return fg__seterr(err, FG_EINVAL, "live_index must be 0..7");
  if (o->decode_side < 0) return fg__seterr(err, FG_EINVAL, "decode_side must be >= 0");
  if (!(o->quality_min >= 0 && o->quality_min <= 100))
    return fg__seterr(err, FG_EINVAL, "quality_min must be in [0, 100]");
  for (int i = 0; i < 10; i++)
    if (!isfinite(o->align_template[i])) return fg__seterr(err, FG_EINVAL, "align_template must be finite");
  return FG_OK;
}

/* A fused model (facegate/descriptor.h): the first model's engine, which does
 * everything a single model's does, holding a recognition-only engine of the
 * second; the template is the two unit embeddings times their weights. */
static int create_fused(const fg_face_options *opts, const fg_model_descriptor *d, fg_face_engine **out,
                        fg_error *err) {
  int rc = fg_model_descriptor_verify(d, opts->models_dir, err);
  if (rc) return rc;
  fg_face_options a = *opts, b = *opts;
  char pa[600], pb[600]; /* the members, beside the fused model's descriptor */
  if (fg__descriptor_member(d, 0, pa, sizeof pa) || fg__descriptor_member(d, 1, pb, sizeof pb))
    return fg__seterr(err, FG_EINVAL, "model %s: path too long", d->name);
  a.model = pa;
  b.model = pb;
  b.liveness = 0;
  b.record_ranges = 0;
  fg_face_engine *fe;
  if ((rc = fg_face_engine_create(&a, &fe, err))) return rc;
  if ((rc = fg_face_engine_create(&b, &fe->second, err))) goto fail;
  if (fe->dim + fe->second->dim > FG_FACE_MAX_DIM) {
    rc = fg__seterr(err, FG_ESHAPE, "model %s: %d + %d values exceed %d", d->name, fe->dim, fe->second->dim,
                    FG_FACE_MAX_DIM);
    goto fail;
  }
  fe->fuse_w[0] = d->fuse_weight[0];
  fe->fuse_w[1] = d->fuse_weight[1];
  snprintf(fe->model_name, sizeof fe->model_name, "%s", d->name);
  snprintf(fe->calibration, sizeof fe->calibration, "%s", d->calibration);
  snprintf(fe->fpir_calibration, sizeof fe->fpir_calibration, "%s", d->fpir_calibration);
  /* The fused model's identity: both models and the weights. */
  char id[200];
  int n = snprintf(id, sizeof id, "fuse %s %.6f %s %.6f", fe->sha256, fe->fuse_w[0], fe->second->sha256, fe->fuse_w[1]);
  fg__sha256_hex((const uint8_t *)id, (size_t)n, fe->sha256);
  for (int i = 0; i < 8; i++) {
    unsigned v;
    sscanf(fe->sha256 + 2 * i, "%2x", &v);
    fe->model_id[i] = (uint8_t)v;
  }
  fe->o.model = fe->model_name;
  *out = fe;
  return FG_OK;
fail:
  fg_face_engine_destroy(fe);
  return rc;
}

int fg_face_engine_create(const fg_face_options *opts, fg_face_engine **out, fg_error *err) {
  *out = NULL;
  fg_face_options defaults;
  if (!opts) {
    fg_face_options_init(&defaults);
    opts = &defaults;
  }
  int rc = check_options(opts, err);
  if (rc) return rc;
  if (opts->model && *opts->model) {
    fg_model_descriptor *d = malloc(sizeof *d);
    if (!d) return fg__seterr(err, FG_ENOMEM, "face engine: out of memory");
    int fused = 0;
    rc = fg_model_descriptor_load(opts->model, d, err);
    if (!rc && d->n_fuse) fused = 1, rc = create_fused(opts, d, out, err);
    free(d);
    if (rc || fused) return rc;
  }
  fg_face_engine *fe = calloc(1, sizeof *fe);
  if (!fe) return fg__seterr(err, FG_ENOMEM, "face engine: out of memory");
  snprintf(fe->model_name, sizeof fe->model_name, "%s", FG_DESC_DEFAULT);
  snprintf(fe->calibration, sizeof fe->calibration, "data/calibration/fr_feature.json");
  snprintf(fe->fpir_calibration, sizeof fe->fpir_calibration, "data/calibration/fr_feature_fpir.json");
  fg_face_options with_desc;
  if (opts->model && *opts->model) { /* a descriptor sets the recognition part */
    fg_model_descriptor *d = malloc(sizeof *d);
    fe->desc_path = malloc(4096);
    if (!d || !fe->desc_path) {
      free(d);
      goto nomem;
    }
    with_desc = *opts;
    rc = fg_model_descriptor_load(opts->model, d, err);
    if (!rc) rc = fg_model_descriptor_verify(d, opts->models_dir, err);
    if (!rc) rc = fg_model_descriptor_apply(d, opts->models_dir, &with_desc, fe->desc_path, 4096, err);
    if (!rc) rc = check_options(&with_desc, err);
    if (!rc) {
      snprintf(fe->model_name, sizeof fe->model_name, "%s", d->name);
      snprintf(fe->calibration, sizeof fe->calibration, "%s", d->calibration);
      snprintf(fe->fpir_calibration, sizeof fe->fpir_calibration, "%s", d->fpir_calibration);
    }
    free(d);
    if (rc) goto fail;
    opts = &with_desc;
  }
  fe->o = *opts;
  if (fe->o.threads == 0) fe->o.threads = 1;
  fg__face_template68(fe->o.align_template, fe->tmpl68);

  /* Resolve and own every path. */
  const char *dir = opts->models_dir && *opts->models_dir ? opts->models_dir : "var/models";
  const char *given[FG__NMODELS] = {opts->detect_model, opts->landmark_model, opts->feature_model,
                                    opts->liveness_model};
  fe->models_dir = dupstr(dir);
  if (!fe->models_dir) goto nomem;
  for (int i = 0; i < FG__NMODELS; i++) {
    if (given[i] && *given[i]) {
      fe->paths[i] = dupstr(given[i]);
    } else {
      size_t n = strlen(dir) + strlen(default_file[i]) + 2;
      if ((fe->paths[i] = malloc(n))) snprintf(fe->paths[i], n, "%s/%s", dir, default_file[i]);
    }
    if (!fe->paths[i]) goto nomem;
  }
  fe->o.models_dir = fe->models_dir;
  fe->o.detect_model = fe->paths[FG__DET];
  fe->o.landmark_model = fe->paths[FG__LM];
  fe->o.feature_model = fe->paths[FG__FEAT];
  fe->o.liveness_model = fe->paths[FG__LIVE];

  /* Detector: 1x3xHxW in, scores (1xNx2) and boxes (1xNx4) out, found by shape. */
  if ((rc = load(fe, FG__DET, NULL, err))) goto fail;
  {
    int c = 0;
    if ((rc = nchw(fg_model_input(fe->model[FG__DET], 0), "detector", fe->paths[FG__DET], &c, &fe->det_h,
                   &fe->det_w, err)))
      goto fail;
    fe->det_scores_out = fe->det_boxes_out = -1;
    for (size_t i = 0; i < fg_model_output_count(fe->model[FG__DET]); i++) {
      const fg_tensor_info *t = fg_model_output(fe->model[FG__DET], i);
      if (t->rank == 3 && t->dims[2] == 2) fe->det_scores_out = (int)i, fe->anchors = (size_t)t->dims[1];
      else if (t->rank == 3 && t->dims[2] == 4) fe->det_boxes_out = (int)i;
    }
    if (c != 3 || fe->det_scores_out < 0 || fe->det_boxes_out < 0 || fg_model_output_count(fe->model[FG__DET]) != 2 ||
        (size_t)fg_model_output(fe->model[FG__DET], (size_t)fe->det_boxes_out)->dims[1] != fe->anchors) {
      rc = fg__seterr(err, FG_ESHAPE, "%s: expected a 1x3xHxW input and outputs scores 1xNx2, boxes 1xNx4",
                      fe->paths[FG__DET]);
      goto fail;
    }
    fe->det_in = falloc((size_t)3 * fe->det_w * fe->det_h);
    fe->det_scores = falloc(fe->anchors * 2);
    fe->det_boxes = falloc(fe->anchors * 4);
    fe->cand = malloc((fe->anchors ? fe->anchors : 1) * sizeof *fe->cand);
    if (!fe->det_in || !fe->det_scores || !fe->det_boxes || !fe->cand) goto nomem;
  }

  /* Landmarks: 1x1xHxW grey in, 136 values out. */
  if ((rc = load(fe, FG__LM, NULL, err))) goto fail;
  {
    int c = 0;
    if ((rc = nchw(fg_model_input(fe->model[FG__LM], 0), "landmark", fe->paths[FG__LM], &c, &fe->lm_h, &fe->lm_w,
                   err)))
      goto fail;
    const fg_tensor_info *t = fg_model_output(fe->model[FG__LM], 0);
    if (c != 1 || !t || t->count != 2 * FG_FACE_LANDMARKS) {
      rc = fg__seterr(err, FG_ESHAPE, "%s: expected a 1x1xHxW input and 136 outputs", fe->paths[FG__LM]);
      goto fail;
    }
    if (!(fe->lm_in = falloc((size_t)fe->lm_w * fe->lm_h))) goto nomem;
  }

  /* Recognition: 1x3xHxW in (the aligned size), one vector out. */
  {
    int64_t dims[4] = {1, 3, opts->align_height ? opts->align_height : 112,
                       opts->align_width ? opts->align_width : 112};
    if ((rc = load(fe, FG__FEAT, dims, err))) goto fail;
    int c = 0;
    if ((rc = nchw(fg_model_input(fe->model[FG__FEAT], 0), "recognition", fe->paths[FG__FEAT], &c, &fe->feat_h,
                   &fe->feat_w, err)))
      goto fail;
    if (c != 3 || (opts->align_width && opts->align_width != fe->feat_w) ||
        (opts->align_height && opts->align_height != fe->feat_h)) {
      rc = fg__seterr(err, FG_ESHAPE, "%s: input is %dx%dx%d, options ask for 3x%dx%d", fe->paths[FG__FEAT], c,
                      fe->feat_h, fe->feat_w, opts->align_height, opts->align_width);
      goto fail;
    }
    fe->o.align_width = fe->feat_w;
    fe->o.align_height = fe->feat_h;
    const fg_tensor_info *t = fg_model_output(fe->model[FG__FEAT], 0);
    if (!t || t->count < 2 || t->count > FG_FACE_MAX_DIM) {
      rc = fg__seterr(err, FG_ESHAPE, "%s: output has %zu values (2..%d supported)", fe->paths[FG__FEAT],
                      t ? t->count : 0, FG_FACE_MAX_DIM);
      goto fail;
    }
    fe->dim = (int)t->count;
    if (opts->feat_dim && opts->feat_dim != fe->dim) {
      rc = fg__seterr(err, FG_ESHAPE, "%s: produces %d values, the descriptor says %d", fe->paths[FG__FEAT], fe->dim,
                      opts->feat_dim);
      goto fail;
    }
    fe->feat_in = falloc((size_t)3 * fe->feat_w * fe->feat_h);
    fe->feat_out = falloc((size_t)fe->dim);
    fe->feat_out2 = falloc((size_t)fe->dim);
    if (!fe->feat_in || !fe->feat_out || !fe->feat_out2) goto nomem;
    { /* of the file, or of the ONNX built from a TensorFlow.js manifest (its weights) */
      fg_model_stats st;
      fg_model_get_stats(fe->model[FG__FEAT], &st);
      memcpy(fe->sha256, st.sha256, sizeof fe->sha256);
    }
    for (int i = 0; i < 8; i++) {
      unsigned v;
      sscanf(fe->sha256 + 2 * i, "%2x", &v);
      fe->model_id[i] = (uint8_t)v;
    }
    /* The feature-norm limits of the light factor were measured for the
     * default recognition model (docs/pipeline.md, "Robustness"); another
     * model's norms are on another scale, so it goes without them. */
    if (!strcmp(fe->sha256, DEFAULT_FEATURE_SHA256) && fe->o.feat_channels == FG_CHANNELS_BGR &&
        fe->o.feat_mean == 127.f && fe->o.feat_scale == 1.f / 128.f)
      fe->fnorm_good = FNORM_GOOD, fe->fnorm_bad = FNORM_BAD;
  }

  /* Liveness: 1x3xHxW in, a few class scores out. */
  if (opts->liveness) {
    if ((rc = load(fe, FG__LIVE, NULL, err))) goto fail;
    int c = 0;
    if ((rc = nchw(fg_model_input(fe->model[FG__LIVE], 0), "liveness", fe->paths[FG__LIVE], &c, &fe->live_h,
                   &fe->live_w, err)))
      goto fail;
    const fg_tensor_info *t = fg_model_output(fe->model[FG__LIVE], 0);
    if (c != 3 || !t || t->count < 2 || t->count > 8 || (size_t)opts->live_index >= t->count) {
      rc = fg__seterr(err, FG_ESHAPE, "%s: expected a 1x3xHxW input and 2..8 outputs (live_index %d)",
                      fe->paths[FG__LIVE], opts->live_index);
      goto fail;
    }
    fe->live_n = (int)t->count;
    if (!(fe->live_in = falloc((size_t)3 * fe->live_w * fe->live_h))) goto nomem;
  }
  fe->o.ranges_dir = NULL; /* only read while loading: the caller's string is not kept */
  fe->o.model = fe->model_name;
  *out = fe;
  return FG_OK;

nomem:
  rc = fg__seterr(err, FG_ENOMEM, "face engine: out of memory");
fail:
  fg_face_engine_destroy(fe);
  return rc;
}

void fg_face_engine_destroy(fg_face_engine *fe) {
  if (!fe) return;
  for (int i = 0; i < FG__NMODELS; i++) {
    fg_session_destroy(fe->sess[i]);
    fg_model_destroy(fe->model[i]);
    fg_quant_ranges_destroy(fe->ranges[i]);
    free(fe->paths[i]);
  }
  free(fe->models_dir);
  free(fe->desc_path);
  fg_face_engine_destroy(fe->second);
  free(fe->det_in);
  free(fe->det_scores);
  free(fe->det_boxes);
  free(fe->cand);
  free(fe->lm_in);
  free(fe->feat_in);
  free(fe->feat_out);
  free(fe->feat_out2);
  free(fe->live_in);
  fg_image_release(&fe->aligned);
  fg_image_release(&fe->aligned2);
  free(fe);
}

const fg_face_options *fg_face_engine_options(const fg_face_engine *fe) { return &fe->o; }

void fg_face_engine_model_id(const fg_face_engine *fe, uint8_t id[8]) { memcpy(id, fe->model_id, 8); }

const char *fg_face_engine_model_sha256(const fg_face_engine *fe) { return fe->sha256; }

const char *fg_face_engine_model_name(const fg_face_engine *fe) { return fe->model_name; }
const char *fg_face_engine_calibration(const fg_face_engine *fe) { return fe->calibration; }
const char *fg_face_engine_fpir_calibration(const fg_face_engine *fe) { return fe->fpir_calibration; }

int fg_face_engine_dim(const fg_face_engine *fe) { return fe->second ? fe->dim + fe->second->dim : fe->dim; }

const fg_image *fg_face_engine_aligned(const fg_face_engine *fe) {
  return fe->aligned.data ? &fe->aligned : NULL;
}

/* ---- helpers shared by the stages ---- */

int fg__face_crop_resize(const fg_image *src, int x, int y, int w, int h, int out_w, int out_h,
                         fg_image *out, fg_error *err) {
  if (w <= 0 || h <= 0) return fg__seterr(err, FG_EINVAL, "empty crop");
  fg_image tmp = {0};
  int rc;
  const int inside = x >= 0 && y >= 0 && x <= src->width - w && y <= src->height - h;
  /* A reduction of a rectangle inside the image is read in place (no copy). */
  if (inside && out_w <= w && out_h <= h && (out_w < w || out_h < h))
    return fg__image_resize_area_rect(src, x, y, w, h, out_w, out_h, out, 1, err);
  if (inside) {
    rc = fg_image_crop(src, x, y, w, h, &tmp, err);
  } else {
    /* Past the border: a pure integer translation through the warp is an
     * exact copy with zeros outside. */
    float m[6] = {1, 0, (float)x, 0, 1, (float)y};
    rc = fg_image_warp_affine(src, m, w, h, FG_IMAGE_BORDER_ZERO, &tmp, err);
  }
  if (rc) return rc;
  if (w == out_w && h == out_h) {
    *out = tmp;
    return FG_OK;
  }
  rc = fg_image_resize_area(&tmp, out_w, out_h, out, err);
  fg_image_release(&tmp);
  return rc;
}

void fg__face_planes(const fg_image *im, int planes, fg_channel_order order, float mean, float scale,
                     float *dst) {
  size_t hw = (size_t)im->width * im->height;
  const uint8_t *p = im->data;
  if (im->channels == 1) {
    for (size_t i = 0; i < hw; i++) {
      float v = ((float)p[i * im->channels] - mean) * scale;
      for (int c = 0; c < planes; c++) dst[c * hw + i] = v;
    }
    return;
  }
  float *d0 = dst, *d1 = dst + hw, *d2 = dst + 2 * hw;
  if (order == FG_CHANNELS_BGR) {
    d0 = dst + 2 * hw;
    d2 = dst;
  }
  for (size_t i = 0; i < hw; i++, p += 3) {
    d0[i] = ((float)p[0] - mean) * scale;
    d1[i] = ((float)p[1] - mean) * scale;
    d2[i] = ((float)p[2] - mean) * scale;
  }
}
