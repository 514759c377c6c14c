/*
 * Internal pieces of the face pipeline shared by the files of src/face (not API): the
 * engine struct, the crop/tensor helpers every stage uses, and the stage
 * functions the pipeline (pipeline.c) strings together.
 */
#ifndef FG_FACE_INTERNAL_H
#define FG_FACE_INTERNAL_H

#include <time.h>

#include "common/internal.h"
#include "facegate/descriptor.h"
#include "facegate/face.h"
#include "facegate/nn.h"

enum { FG__DET = 0, FG__LM = 1, FG__FEAT = 2, FG__LIVE = 3, FG__NMODELS = 4 };

struct fg_face_engine {
  fg_face_options o;            /* resolved; string fields point into paths[] */
  char *models_dir;
  char *paths[FG__NMODELS];
  fg_model *model[FG__NMODELS];
  fg_session *sess[FG__NMODELS];
  int prec[FG__NMODELS];             /* FG_PRECISION_* each session runs in */
  fg_quant_ranges *ranges[FG__NMODELS]; /* record_ranges: what each model's activations held */

  /* detector: input det_w x det_h, `anchors` candidate boxes */
  int det_w, det_h;
  size_t anchors;
  int det_scores_out, det_boxes_out; /* output index of each */
  float *det_in, *det_scores, *det_boxes;
  fg_face_box *cand;                 /* anchors entries of scratch for NMS */
  fg_face_detections det2;           /* the padded second pass (scratch) */

  int lm_w, lm_h;                    /* landmark input (grey) */
  float *lm_in;
  float lm_out[2 * FG_FACE_LANDMARKS];

  int feat_w, feat_h, dim;
  float *feat_in, *feat_out, *feat_out2;
  float feat_norm;                   /* raw output norm of the last embedding, per run */
  float fnorm_good, fnorm_bad;       /* the light factor's feature-norm limits (0: unknown model) */

  int live_w, live_h, live_n;
  float *live_in;
  float live_out[8];

  fg_image aligned;                  /* last aligned crop */
  fg_image aligned2;                 /* the tta_zoom crop (scratch) */
  float tmpl68[136];                 /* the mean 68-point shape under align_template */
  char sha256[65];
  char model_name[64], calibration[512], fpir_calibration[512];
  char *desc_path;                   /* the descriptor's model path (owned) */
  struct fg_face_engine *second;     /* a fused model's second recognition model (recognition
                                        only), or NULL; its embedding follows this one's */
  float fuse_w[2];                   /* a fused model's weights (squares sum to 1) */
  uint8_t model_id[8];
};

/* The rectangle (x, y, w, h) of src, zero outside the image, resized to
 * out_w x out_h with area averaging (bilinear where it enlarges). Integer
 * rectangle so the crop itself is an exact copy. */
/* The descriptor file of a fused model's member k: NAME.json beside d's own
 * (descriptor.c); -1 when it does not fit in cap. */
int fg__descriptor_member(const fg_model_descriptor *d, int k, char *path, size_t cap);

int fg__face_crop_resize(const fg_image *src, int x, int y, int w, int h, int out_w, int out_h,
                         fg_image *out, fg_error *err);
/* Planar float tensor (C x H x W) from an interleaved image: channel order,
 * then (pixel - mean) * scale. A grey image fills every plane the same way;
 * planes == 1 needs a grey image. */
void fg__face_planes(const fg_image *im, int planes, fg_channel_order order, float mean,
                     float scale, float *dst);

/* The pixels the per-face stages read: img, whose pixel edges x, y lie at
 * x * kx + ox, y * ky + oy of the full-resolution, upright source image of
 * full_w x full_h (coordinates with pixel i spanning [i, i+1), as boxes and
 * landmarks are reported). img may be the source itself (k = 1, o = 0), a
 * reduced decode of it (k = 2, 4, 8), or a region decoded or resampled for
 * the face. Boxes and points given to and returned by the stages are in
 * full-source coordinates; each stage maps its own crop rectangle into img. */
typedef struct fg__face_view {
  const fg_image *img;
  double kx, ky, ox, oy;
  int full_w, full_h;
} fg__face_view;

/* Run model i on the engine's session (and record its ranges when the
 * engine records them). */
int fg__face_run(fg_face_engine *fe, int model, const float *const *in, float *const *out, fg_error *err);
extern const int fg__face_default_precision[FG__NMODELS];

/* The ArcFace 5-point template (112x112). */
extern const float fg__arcface_5[10];
/* The mean 68-point shape mapped by the similarity taking fg__arcface_5 to tmpl5. */
void fg__face_template68(const float tmpl5[10], float out[136]);
/* The point pairs the alignment is fitted to under `rule` (src from lm / p5,
 * dst from the templates): up to 51 pairs into src, dst; returns the count. */
int fg__face_align_points(fg_align_points rule, const float lm[136], const float p5[10], const float tmpl5[10],
                          const float tmpl68[136], float *src, float *dst);
/* Warp img by the similarity sim (img pixel centres -> crop pixel centres) to
 * a w x h RGB crop, bilinear, zero outside. */
int fg__face_warp(const fg_image *img, const float sim[6], int w, int h, fg_image *out, fg_error *err);
/* Light normalisation (src/face/illum.c). The unevenness of im's smooth
 * illumination over rect (x0, y0, x1, y1): (q90 - q10) / (q90 + q10), 0 for
 * an evenly lit face, towards 1 with one part in shadow. */
int fg__face_light_unevenness(const fg_image *im, const int rect[4], float *u, fg_error *err);
/* Divide alpha of im's smooth illumination out of it in place, and scale a
 * face darker than dark_lift up to it (0: no lift). FG_ENOMEM. */
int fg__face_light_normalise(fg_image *im, float alpha, float dark_lift, fg_error *err);
/* How much normalisation a crop of unevenness u and mean grey `mean` gets:
 * alpha (0..max_alpha) and the dark lift. */
void fg__face_light_plan(float max_alpha, float u, float mean, float *alpha, float *lift);
/* Embedding from n aligned crops (raw outputs summed, each with its mirror
 * when opts.flip), L2-normalised. */
int fg__face_embed_n(fg_face_engine *fe, const fg_image *const *crops, int n, float *emb, fg_error *err);

/* fg_face_detect on an image whose pixel is px_scale source pixels wide (a
 * reduced decode), so that min_face_px is judged in source pixels. */
int fg__face_detect(fg_face_engine *fe, const fg_image *img, double px_scale, fg_face_detections *out,
                    fg_error *err);
/* 68 landmarks (full-source pixels) of the face in `box`. */
int fg__face_landmarks(fg_face_engine *fe, const fg__face_view *v, const fg_face_box *box,
                       float lm[2 * FG_FACE_LANDMARKS], fg_error *err);
/* RMS distance of the 51 inner landmarks from tmpl68's after a least-squares
 * similarity, in inter-eye distances of tmpl68 (quality's align_error). */
float fg__face_align_error(const float lm[2 * FG_FACE_LANDMARKS], const float tmpl68[136]);
/* The landmarks again when lm (from fg__face_landmarks) are implausible
 * (align_error above FG__ALIGN_RETRY): from a crop 1.3x the box, then one
 * sized from the points; lm gets whichever set is most plausible. */
#define FG__ALIGN_RETRY 0.12f
int fg__face_landmarks_retry(fg_face_engine *fe, const fg__face_view *v, const fg_face_box *box,
                             float lm[2 * FG_FACE_LANDMARKS], fg_error *err);
/* Head pose in degrees from 68 landmarks (weak-perspective fit to a mean face). */
void fg__face_pose(const float lm[2 * FG_FACE_LANDMARKS], float *yaw, float *pitch, float *roll);
/* The liveness crop of box as in training (whole full-source pixels, inside
 * the image): x0, y0, x1, y1 inclusive. */
void fg__face_live_rect(const fg_face_options *o, const fg_face_box *box, int full_w, int full_h,
                        int r[4]);
/* Liveness of the face in box: the model's outputs in raw, P(live) in *p_live. */
int fg__face_liveness(fg_face_engine *fe, const fg__face_view *v, const fg_face_box *box,
                      float raw[3], float *p_live, fg_error *err);
/* Fill q's measurements from the aligned crop (before any light
 * normalisation), the landmarks, 5 points, the full-source -> crop similarity
 * `align` and the box in full-source pixels of a src_w x src_h image with
 * `faces` faces; tmpl68 is the mean 68-point shape in crop pixels, surround
 * the mean grey around the face (fg__face_surround). */
void fg__face_quality_measure(const fg_face_options *o, const fg_image *aligned,
                              const float lm[2 * FG_FACE_LANDMARKS], const float p5[10], const float align[6],
                              const float tmpl68[136], const fg_face_box *box, int src_w, int src_h, int faces,
                              float surround, fg_face_quality *q);
/* Factors, score and reasons from q's measurements (q->feature_norm set from
 * the embedding); fnorm_good/bad: the recognition model's feature-norm limits
 * for faces in difficult light (0: none known for the model). */
void fg__face_quality_score(const fg_face_options *o, float fnorm_good, float fnorm_bad, fg_face_quality *q);
/* Quality of a frame where no face was found: reasons "no face", and "too
 * dark" or "too bright" from the frame's mean grey. */
void fg__face_quality_no_face(const fg_image *img, fg_face_quality *q);
/* Mean grey of the view's pixels in a ring around box (from 0.1 to 1 box
 * size beyond it, inside the image), sampled sparsely; -1 if none. */
float fg__face_surround(const fg__face_view *v, const fg_face_box *box);

#endif
