/*
 * facegate/face.h — the face pipeline: from an image (a gate camera frame, a
 * passport photo, a chip's DG2) to one quality-checked, liveness-scored
 * embedding ready to be encoded as a template (facegate/template.h).
 *
 *     fg_face_options o;
 *     fg_face_options_init(&o);               // defaults; o.models_dir = "var/models"
 *     fg_face_engine *fe;
 *     if (fg_face_engine_create(&o, &fe, &e)) die(e.msg);
 *     fg_face_result *r = malloc(sizeof *r);  // large (embedding inline): keep it off small stacks
 *     if (fg_face_process_file(fe, "gate.jpg", NULL, r, &e)) die(e.msg);
 *     switch (r->status) {
 *     case FG_FACE_OK:          use(r->embedding, r->dim); break;
 *     case FG_FACE_NO_FACE:     retake();  break;              // failure to acquire
 *     case FG_FACE_LOW_QUALITY: show(r->quality.reasons); break; // failure to acquire
 *     }
 *     fg_face_engine_destroy(fe);
 *
 * Stages (docs/pipeline.md has the measured evidence behind every choice):
 * detect (letterboxed into the detector's 320x240 input, never stretched;
 * again with margins when the face touches an edge, brightened when a dark
 * frame shows none) → select (largest face; near-ties go to the one nearest
 * the image centre) → 68 landmarks (re-aligned when implausible) → 5 points →
 * least-squares similarity onto the alignment template → bilinear warp →
 * quality measurements → liveness → light normalisation of a shaded or dark
 * crop → embedding (L2-normalised) → quality score (whose light gate reads the
 * embedding's raw norm).
 *
 * Threads: an fg_face_engine holds one inference session per model and scratch
 * buffers, so it is NOT thread-safe: use one engine per thread. (Its `threads`
 * option instead spreads each single inference over a thread pool.) The
 * functions that take no engine are reentrant.
 *
 * Results: every fallible function returns FG_OK or a negative FG_E* code and
 * leaves a message in the optional fg_error. "No face" and "quality too low"
 * are not errors: fg_face_process returns FG_OK with result->status saying
 * so, because they are ordinary outcomes of a capture (a failure to acquire,
 * ISO/IEC 19795-1), distinct from a non-match.
 */
#ifndef FACEGATE_FACE_H
#define FACEGATE_FACE_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/error.h"
#include "facegate/image.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

typedef struct fg_face_engine fg_face_engine;

#define FG_FACE_MAX_FACES 64   /* detections kept per image (the rest are counted) */
#define FG_FACE_MAX_DIM 2048   /* longest embedding a recognition model may produce */
#define FG_FACE_LANDMARKS 68

/* The engine's four models, in this order wherever options index them. */
enum { FG_FACE_MODEL_DETECT = 0, FG_FACE_MODEL_LANDMARK = 1, FG_FACE_MODEL_FEATURE = 2, FG_FACE_MODEL_LIVENESS = 3,
       FG_FACE_MODELS = 4 };

/* Which way round a model wants its three colour planes. */
typedef enum fg_channel_order { FG_CHANNELS_RGB = 0, FG_CHANNELS_BGR = 1 } fg_channel_order;

/* How the landmark model's input square is cut from a detector box. */
typedef enum fg_landmark_crop {
  FG_LANDMARK_CROP_BOX = 0,    /* the box itself, stretched to 64x64 */
  FG_LANDMARK_CROP_SQUARE = 1  /* a square of the box's longer side, about its centre */
} fg_landmark_crop;

/* How the 5 alignment points are taken from the 68 landmarks (iBUG 300-W order). */
typedef enum fg_points5_rule {
  FG_POINTS5_EYE6 = 0,   /* eye centre = mean of its 6 points; mouth corners 48, 54 */
  FG_POINTS5_EYE4 = 1    /* eye centre = mean of its 4 lid points (the npm package's rule);
                            mouth corners = mean of outer and inner corners (48+60, 54+64) */
} fg_points5_rule;

/* Which landmarks the alignment similarity is fitted to. */
typedef enum fg_align_points {
  FG_ALIGN_POINTS5 = 0,  /* the 5 points (points5 rule) onto align_template */
  FG_ALIGN_STABLE = 1,   /* 23 points: both eyes (36-47), the nose (27-35), the mouth
                            corners (48, 54), onto the mean 68-point shape */
  FG_ALIGN_INNER = 2     /* the 51 inner points (17-67) onto the mean 68-point shape */
} fg_align_points;

/* Engine options. fg_face_options_init() fills the defaults; change what you
 * need. Strings are copied by fg_face_engine_create. Fields marked
 * "measured" were fixed by the measurements in docs/pipeline.md: change them
 * only for another model. */
typedef struct fg_face_options {
  /* --- models --- */
  const char *models_dir;     /* default "var/models" */
  const char *detect_model;   /* NULL: models_dir/fr_detect.onnx */
  const char *landmark_model; /* NULL: models_dir/fr_landmark.onnx */
  const char *feature_model;  /* NULL: models_dir/fr_feature.onnx */
  const char *liveness_model; /* NULL: models_dir/fr_liveness.onnx (only if liveness) */
  const char *model;          /* recognition model descriptor (facegate/descriptor.h): a name
                                 (data/models/NAME.json) or a path; its files are checked
                                 against their SHA-256 and it sets feature_model, the
                                 alignment, input scaling and feat_dim. NULL: the default
                                 (fr_feature, built in: the fields below as they are) */
  int feat_dim;               /* embedding length the recognition model must produce; 0 any */
  int threads;                /* threads per inference (1 = the caller's only); default 1.
                                 With more, each session uses them only while they are
                                 faster than one thread (facegate/nn.h) */

  /* --- inference (docs/engine.md, "Quantised inference") --- */
  int backend;                /* FG_BACKEND_ONEDNN (default) or FG_BACKEND_XNNPACK (fp32 only) */
  int precision[FG_FACE_MODELS]; /* FG_PRECISION_* per model; default: measured, the fastest
                                    that keeps each model's accuracy bound against fp32 on
                                    this CPU, fp32 where it has no AVX-512 VNNI / BF16 */
  const char *ranges_dir;     /* int8 activation ranges: DIR/<model file name>.json
                                 (fr_feature.onnx -> fr_feature.json); NULL: the built-in
                                 ranges of the default models */
  int record_ranges;          /* run every model in fp32 on oneDNN keeping its activations
                                 and record their ranges (calibration); see
                                 fg_face_engine_save_ranges */

  /* --- detection --- */
  float det_score;            /* keep boxes scoring above this; default 0.7 */
  float det_nms_iou;          /* suppress boxes overlapping a better one above this IoU; 0.3 */
  float min_face_px;          /* ignore faces whose box is narrower (source px); default 20 */
  fg_channel_order det_channels; /* measured: RGB */
  float det_pad;              /* when no face is found, or the chosen one touches an edge
                                 or fills the frame's height (a tight crop), detect again
                                 with this share of the frame added on each side;
                                 0: never. measured: 0.25 */
  int det_dark_gamma;         /* when no face is found in a dark frame (mean grey < 60),
                                 detect again with a gamma curve bringing it to 110;
                                 default 1 */

  /* --- landmarks --- */
  fg_landmark_crop lm_crop;   /* measured: FG_LANDMARK_CROP_BOX */
  float lm_crop_scale;        /* the crop's side relative to the box; measured: 1 */
  int lm_refine;              /* extra passes, each centring the same-size crop on the
                                 previous pass's 68 points (0..4); measured: 1 */
  int lm_rotate;              /* refinement passes also turn the crop upright (undo roll);
                                 default 0 (worse on LFW, better on strongly tilted faces) */
  float lm_centre_dx, lm_centre_dy; /* where refinement puts the 68 points' centre, as an
                                       offset from the crop centre in crop sizes; measured: 0, 0 */
  float lm_mean, lm_scale;    /* input = (grey - mean) * scale; measured: 0, 1/256 */
  fg_points5_rule points5;    /* measured: FG_POINTS5_EYE6 */
  int realign;                /* landmarks far from a face's shape (align_error > 0.12) are
                                 found again from a larger crop and from one sized from
                                 the points, keeping the most plausible set; default 1 */
  int lm_views;               /* crops whose 68 points are averaged in the last pass: 1, 3
                                 (the crop and the crop scaled by 1 +- lm_view_delta) or 5
                                 (the crop and the crop shifted by +-lm_view_delta of its
                                 width, then height); default 1 */
  float lm_view_delta;        /* default 0.05 */
  float lm_size_w, lm_size_h; /* > 0: refinement passes also size the crop from the previous
                                 pass, lm_size_w x lm_size_h times the 68 points' RMS distance
                                 from their centroid; 0: the box's size (default) */

  /* --- alignment and recognition --- */
  int align_width, align_height; /* aligned crop size = the recognition model's input;
                                    0: read from the model (112x112 for the default) */
  float align_template[10];   /* 5 points (left eye, right eye, nose tip, left and right
                                 mouth corner; x, y in aligned pixels); default ArcFace */
  fg_align_points align_points; /* default FG_ALIGN_POINTS5. The mean 68-point shape is the
                                   devset's mean under the 5-point ArcFace alignment, mapped
                                   with align_template (docs/pipeline.md) */
  fg_channel_order feat_channels; /* measured: BGR */
  float feat_mean, feat_scale;    /* input = (pixel - mean) * scale; default 127, 1/128 */
  float light_norm;           /* > 0: divide this power of the crop's smooth illumination
                                 out of the aligned crop before recognition (side light,
                                 dark faces); 0 off. measured: see docs/pipeline.md */
  float lm_light_norm;        /* the same for the landmark model's crop; 0 off */
  int flip;                   /* add the mirrored crop's embedding (test-time augmentation) */
  float tta_zoom;             /* 0: off; else also embed a crop aligned to the template
                                 scaled by 1 + tta_zoom about its centre and add it
                                 (test-time augmentation; with flip, its mirror too) */

  /* --- liveness --- */
  int liveness;               /* run the liveness model; default 1 */
  float live_crop_scale;      /* crop side relative to the box; default 2.7 */
  fg_channel_order live_channels; /* measured: BGR */
  float live_mean, live_scale;    /* measured: 0, 1 (raw 0..255) */
  int live_index;             /* which output is "live"; measured: 0 */

  /* --- decoding (fg_face_process_buffer / _file) --- */
  int decode_side;            /* a JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8)
                                 keeping its long side >= this; 0 = always in full;
                                 measured: 640 */

  /* --- quality --- */
  float quality_min;          /* unified score (0-100) below which a capture is a failure
                                 to acquire; default 40. 0 turns the check off */
} fg_face_options;

/* Fill *o with the defaults. */
void fg_face_options_init(fg_face_options *o);

/* Load the models and create one session per model. On success *out owns the
 * engine; on error *out is NULL, nothing leaks and err names the file. opts may
 * be NULL (defaults). Errors: those of fg_model_load_file, FG_ESHAPE when a
 * model's inputs or outputs are not what its stage needs, FG_EINVAL for bad
 * options. */
int fg_face_engine_create(const fg_face_options *opts, fg_face_engine **out, fg_error *err);
/* Free the engine and its sessions; NULL does nothing. */
void fg_face_engine_destroy(fg_face_engine *fe);
/* The options the engine runs with (defaults resolved; strings owned by it). */
const fg_face_options *fg_face_engine_options(const fg_face_engine *fe);
/* The recognition model's descriptor name ("fr_feature" for the built-in default),
 * its FMR calibration file and its FPIR calibration file (paths relative to the
 * working directory; "" where the descriptor names none). Valid while fe lives. */
const char *fg_face_engine_model_name(const fg_face_engine *fe);
const char *fg_face_engine_calibration(const fg_face_engine *fe);
const char *fg_face_engine_fpir_calibration(const fg_face_engine *fe);
/* First 8 bytes of the recognition model's SHA-256: what a template is tied to. */
void fg_face_engine_model_id(const fg_face_engine *fe, uint8_t id[8]);
/* SHA-256 of the recognition model file (of the ONNX model built from a
 * TensorFlow.js manifest, which covers its weights), 64 hex characters; valid
 * while fe lives. */
const char *fg_face_engine_model_sha256(const fg_face_engine *fe);
/* Embedding length the recognition model produces. */
int fg_face_engine_dim(const fg_face_engine *fe);
/* With record_ranges: write each model's recorded activation ranges as
 * DIR/<model file stem>.json (the format fg_quant_ranges_load reads). */
int fg_face_engine_save_ranges(const fg_face_engine *fe, const char *dir, fg_error *err);
/* The precision each model runs in (after CPU checks and fallbacks). */
int fg_face_engine_precision(const fg_face_engine *fe, int model);
/* "fp32", "bf16", "int8" (every model) or "det=P,lm=P,feat=P,live=P" (only the
 * models named) into prec[FG_FACE_MODELS] (FG_PRECISION_*); 0, or -1 (prec
 * unchanged) for anything else. What every --precision option takes. */
int fg_face_precision_parse(const char *s, int prec[FG_FACE_MODELS]);
/* The inverse: "det=P,lm=P,feat=P,live=P" into buf (at least 48 bytes). */
void fg_face_precision_format(const int prec[FG_FACE_MODELS], char *buf, size_t cap);
/* The aligned crop (RGB, align_width x align_height) of the last face
 * processed, or NULL if none; owned by the engine, valid until its next call. */
const fg_image *fg_face_engine_aligned(const fg_face_engine *fe);

/* ---------------------------------------------------------------- detection */

/* A face box in source pixel coordinates (x1, y1 exclusive) and its score. */
typedef struct fg_face_box {
  float x0, y0, x1, y1;
  float score;
} fg_face_box;

typedef struct fg_face_detections {
  int count;  /* boxes in faces[], best score first, at most FG_FACE_MAX_FACES */
  int total;  /* faces found (after NMS and the size limit) before the cap */
  fg_face_box faces[FG_FACE_MAX_FACES];
} fg_face_detections;

/* Detect every face in img (any size and aspect). The image is scaled to fit
 * the detector's input keeping its aspect ratio (letterboxing; the rest of the
 * input is neutral grey), and boxes are mapped back to img's pixels. */
int fg_face_detect(fg_face_engine *fe, const fg_image *img, fg_face_detections *out,
                   fg_error *err);
/* The gate's choice among det's faces in an image of width x height: the
 * largest box; boxes within 10% of the largest area are near-ties and the one
 * whose centre is nearest the image centre wins. -1 when det has no face. */
int fg_face_select(const fg_face_detections *det, int width, int height);

/* ---------------------------------------------------------------- quality */

/* Reasons, as bits of fg_face_quality.reasons. */
#define FG_QUALITY_TOO_SMALL 0x001u     /* "face too small" */
#define FG_QUALITY_POSE 0x002u          /* "turn towards the camera" (yaw/pitch) */
#define FG_QUALITY_TILT 0x004u          /* "hold your head straight" (roll) */
#define FG_QUALITY_BLUR 0x008u          /* "image blurred" */
#define FG_QUALITY_DARK 0x010u          /* "too dark" */
#define FG_QUALITY_BRIGHT 0x020u        /* "too bright" */
#define FG_QUALITY_LOW_CONTRAST 0x040u  /* "low contrast" */
#define FG_QUALITY_OUT_OF_FRAME 0x080u  /* "face partly outside the frame" */
#define FG_QUALITY_SEVERAL_FACES 0x100u /* "several faces" */
#define FG_QUALITY_NO_FACE 0x200u       /* "no face found" (with FG_FACE_NO_FACE) */
#define FG_QUALITY_BACKLIGHT 0x400u     /* "light behind you: face the light" */
#define FG_QUALITY_UNEVEN_LIGHT 0x800u  /* "uneven light on the face" (side light) */
#define FG_QUALITY_ALIGNMENT 0x1000u    /* "face not found reliably: look at the camera" */
#define FG_QUALITY_REASON_COUNT 13

/* Feedback text for one reason bit ("too dark"); "" for an unknown bit. */
const char *fg_quality_reason_text(unsigned bit);
/* Stable machine name for one reason bit ("dark"); "" for an unknown bit. */
const char *fg_quality_reason_name(unsigned bit);

/* Each measured component, its 0..1 factor, the unified score and reasons.
 * docs/pipeline.md gives every formula and limit. */
typedef struct fg_face_quality {
  float score;          /* 0..100: 100 x the product of the factors below, to 0.1 */
  unsigned reasons;     /* FG_QUALITY_* bits */
  /* measurements */
  float inter_eye_px;   /* between the eye centres, source pixels */
  float yaw, pitch, roll; /* degrees, from the 68 landmarks (weak-perspective fit) */
  float sharpness;      /* variance of the Laplacian on the aligned grey face, scaled to a
                           contrast of 34.4 (x (34.4 / max(contrast, 8))^2) so that
                           exposure does not read as blur */
  float brightness;     /* mean grey level of the aligned face region, 0..255 */
  float dark_fraction;  /* share of face pixels <= 10 */
  float bright_fraction;/* share of face pixels >= 245 */
  float contrast;       /* standard deviation of the face region's grey levels */
  float in_frame;       /* share of the face box inside the image, 0..1 */
  int landmarks_inside; /* the 51 inner landmarks (brows, eyes, nose, mouth: 17-67) inside
                           the image (the jaw line may leave a tight crop) */
  int faces;            /* faces detected in the image */
  /* factors, 1 = no concern, 0 = unusable */
  float f_size, f_pose, f_roll, f_sharpness, f_exposure, f_contrast, f_frame;
  /* alignment and light (docs/pipeline.md, "Robustness") */
  float coverage;        /* share of the aligned crop whose pixels lie inside the image */
  float align_error;     /* RMS distance of the 51 inner landmarks from the mean face after
                            a similarity fit, in inter-eye distances of the mean face */
  float light_unevenness;/* of the face's smooth illumination (aligned crop, the face
                            region): (q90 - q10) / (q90 + q10); 0 evenly lit, towards 1
                            with part of the face in shadow (side or top light) */
  float surround;        /* mean grey of the frame around the face (a ring out to 2 box
                            sizes); with no face, of the whole frame */
  float f_align, f_light;/* factors: alignment; light (uneven, backlight) */
  float feature_norm;    /* L2 norm of the recognition model's raw output (per crop run) */
  float shadow;          /* share of the face region in deep shadow: its smooth illumination
                            under 0.3 of the region's 90th percentile (the light gate asks
                            a clearer face the more of it is in shadow) */
} fg_face_quality;

/* Nonzero when q describes a face in harsh light: lit unevenly (side or top
 * light; the light gate's "uneven light" flag), whether or not it was
 * acquired. Two faces lit the same hard way look more alike to the model
 * than two evenly lit ones: their templates carry
 * FG_TEMPLATE_CAPTURE_HARSH_LIGHT and are compared at a higher threshold
 * (fg_calibration_threshold_for). */
int fg_face_quality_harsh_light(const fg_face_quality *q);

/* ---------------------------------------------------------------- one call */

typedef enum fg_face_status {
  FG_FACE_OK = 0,          /* a face, acquired */
  FG_FACE_NO_FACE = 1,     /* failure to acquire: no face found */
  FG_FACE_LOW_QUALITY = 2  /* failure to acquire: quality.score < quality_min */
} fg_face_status;

/* Wall time of each stage in milliseconds (0 for a stage not run). */
typedef struct fg_face_timings {
  double decode, detect, landmarks, align, quality, liveness, embed, total;
} fg_face_timings;

typedef struct fg_face_result {
  fg_face_status status;
  int width, height;          /* of the (upright, full-resolution) source image */
  fg_face_detections det;     /* every face found */
  int selected;               /* index into det.faces; -1 with FG_FACE_NO_FACE */
  fg_face_box box;            /* the selected face */
  float landmarks[2 * FG_FACE_LANDMARKS]; /* x, y in source pixels */
  float points[10];           /* the 5 alignment points in source pixels */
  float align[6];             /* source -> aligned similarity, x' = a0 x + a1 y + a2 ... */
  fg_face_quality quality;
  int liveness_done;          /* the liveness model ran */
  float liveness;             /* probability of the "live" class, 0..1 (unvalidated signal) */
  float liveness_out[3];      /* the model's raw outputs */
  int dim;                    /* embedding length (0 until computed) */
  float embedding[FG_FACE_MAX_DIM]; /* L2-normalised */
  fg_face_timings ms;
} fg_face_result;

/* The whole pipeline on a decoded image. Returns FG_OK when it ran, whatever
 * the status: with FG_FACE_NO_FACE nothing past det is filled; with
 * FG_FACE_LOW_QUALITY every field is filled (the embedding too, so that an
 * evaluation can use it) but a gate must not match on it. */
int fg_face_process(fg_face_engine *fe, const fg_image *img, fg_face_result *r, fg_error *err);
/* The same from the bytes of anything fg_image_decode accepts (JPEG, PNG,
 * JPEG 2000, PGM/PPM, DG2). A JPEG much larger than the detector needs is
 * decoded at a reduced DCT scale for detection; the face region is decoded
 * again (only that region, at the finer DCT scale it needs) only when the
 * reduced image is too coarse for it. */
int fg_face_process_buffer(fg_face_engine *fe, const uint8_t *buf, size_t len,
                           const fg_image_limits *lim, fg_face_result *r, fg_error *err);
int fg_face_process_file(fg_face_engine *fe, const char *path, const fg_image_limits *lim,
                         fg_face_result *r, fg_error *err);
/* The pipeline on a face box given by the caller (detection skipped; e.g. a
 * fallback when the detector finds nothing in a tightly cropped photo).
 * det holds only that box. */
int fg_face_process_box(fg_face_engine *fe, const fg_image *img, const fg_face_box *box,
                        fg_face_result *r, fg_error *err);

/* ---------------------------------------------------------------- pieces */

/* Least-squares similarity (scale, rotation, translation; no shear or
 * reflection) taking the n points src onto dst (x, y pairs): m maps source to
 * destination, x' = m0 x + m1 y + m2, y' = m3 x + m4 y + m5. FG_EINVAL if the
 * source points all coincide. */
int fg_face_similarity(const float *src, const float *dst, int n, float m[6]);
/* The 5 alignment points (left eye, right eye, nose tip 30, left and right
 * mouth corner, as seen in the image) from 68 landmarks by `rule`. */
void fg_face_points5(const float lm[2 * FG_FACE_LANDMARKS], fg_points5_rule rule, float p5[10]);
/* Warp img so that the 5 points p5 land on tmpl (bilinear, zero outside), into
 * a w x h RGB image; *m receives the source->aligned similarity (may be NULL). */
int fg_face_align(const fg_image *img, const float p5[10], const float tmpl[10], int w,
                  int h, fg_image *out, float m[6], fg_error *err);
/* Embedding of an already aligned crop (align_width x align_height; RGB or grey),
 * L2-normalised into emb (fg_face_engine_dim floats). Honours opts.flip. */
int fg_face_embed(fg_face_engine *fe, const fg_image *aligned, float *emb, fg_error *err);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
