/*
 * Capture quality in the spirit of ISO/IEC 29794-5: a handful of measurable
 * components, each mapped to a factor in 0..1, one unified 0..100 score, and
 * capture feedback a traveller can act on.
 *
 * Every component has a "good" limit (factor 1 at or beyond it) and a "bad"
 * limit (factor 0), linear in between. The unified score is 100 times the
 * product of the factors: a capture is only as good as its weakest aspect,
 * and components inside their comfortable range cost nothing. A reason is
 * reported for a factor below REASON_BELOW; if the score still falls under
 * the engine's quality_min with no reason reported, the weakest component's
 * reason is added, so a failure to acquire always comes with feedback.
 *
 * Where measured: the pixel statistics come from the aligned crop (so they
 * describe the face, at a fixed scale, not the background), inside the
 * rectangle spanned by the template's 5 points widened by 30% of the
 * template's eye distance; size, pose and framing come from the landmarks
 * and the box in source pixels. Limits are in docs/pipeline.md with the
 * distributions they were set from.
 */
#include <math.h>
#include <string.h>

#include "face/face_internal.h"

#define REASON_BELOW 0.75f

/* Limits (good, bad) of each component; see docs/pipeline.md. */
static const float IED_GOOD = 30.f, IED_BAD = 12.f;        /* source px */
static const float YAW_GOOD = 20.f, YAW_BAD = 50.f;        /* degrees */
static const float PITCH_GOOD = 20.f, PITCH_BAD = 45.f;
static const float ROLL_GOOD = 20.f, ROLL_BAD = 60.f;
static const float SHARP_GOOD = 100.f, SHARP_BAD = 20.f;   /* Laplacian variance */
static const float DARK_GOOD = 70.f, DARK_BAD = 25.f;      /* mean grey */
static const float BRIGHT_GOOD = 190.f, BRIGHT_BAD = 235.f;
static const float CLIP_GOOD = 0.05f, CLIP_BAD = 0.4f;     /* clipped share */
static const float CONTRAST_GOOD = 22.f, CONTRAST_BAD = 6.f; /* grey std */
static const float FRAME_GOOD = 0.98f, FRAME_BAD = 0.7f;   /* box share inside */

static const struct {
  unsigned bit;
  const char *name, *text;
} reasons[FG_QUALITY_REASON_COUNT] = {
    {FG_QUALITY_TOO_SMALL, "too_small", "face too small"},
    {FG_QUALITY_POSE, "pose", "turn towards the camera"},
    {FG_QUALITY_TILT, "tilt", "hold your head straight"},
    {FG_QUALITY_BLUR, "blur", "image blurred"},
    {FG_QUALITY_DARK, "dark", "too dark"},
    {FG_QUALITY_BRIGHT, "bright", "too bright"},
    {FG_QUALITY_LOW_CONTRAST, "low_contrast", "low contrast"},
    {FG_QUALITY_OUT_OF_FRAME, "out_of_frame", "face partly outside the frame"},
    {FG_QUALITY_SEVERAL_FACES, "several_faces", "several faces"},
    {FG_QUALITY_NO_FACE, "no_face", "no face found"},
    {FG_QUALITY_BACKLIGHT, "backlight", "light behind you: face the light"},
    {FG_QUALITY_UNEVEN_LIGHT, "uneven_light", "uneven light on the face"},
    {FG_QUALITY_ALIGNMENT, "alignment", "face not found reliably: look at the camera"},
};

const char *fg_quality_reason_text(unsigned bit) {
  for (int i = 0; i < FG_QUALITY_REASON_COUNT; i++)
    if (reasons[i].bit == bit) return reasons[i].text;
  return "";
}

const char *fg_quality_reason_name(unsigned bit) {
  for (int i = 0; i < FG_QUALITY_REASON_COUNT; i++)
    if (reasons[i].bit == bit) return reasons[i].name;
  return "";
}

/* 1 at or beyond `good`, 0 at or beyond `bad`, linear between (either order). */
static float ramp(float v, float good, float bad) {
  float t = (v - bad) / (good - bad);
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

void fg__face_quality(const fg_face_options *o, const fg_image *al, const float lm[2 * FG_FACE_LANDMARKS],
                      const float p5[10], const fg_face_box *box, int src_w, int src_h, int faces,
                      fg_face_quality *q) {
  memset(q, 0, sizeof *q);
  q->faces = faces;

  /* Size and pose from the landmarks. */
  q->inter_eye_px = hypotf(p5[2] - p5[0], p5[3] - p5[1]);
  fg__face_pose(lm, &q->yaw, &q->pitch, &q->roll);

  /* Framing: the box's share inside the image, and the landmarks. */
  float bw = box->x1 - box->x0, bh = box->y1 - box->y0;
  float iw = fminf(box->x1, (float)src_w) - fmaxf(box->x0, 0), ih = fminf(box->y1, (float)src_h) - fmaxf(box->y0, 0);
  q->in_frame = (bw > 0 && bh > 0 && iw > 0 && ih > 0) ? (iw * ih) / (bw * bh) : 0;
  q->landmarks_inside = 1;
  for (int i = 0; i < FG_FACE_LANDMARKS; i++)
    if (lm[2 * i] < 0 || lm[2 * i + 1] < 0 || lm[2 * i] >= src_w || lm[2 * i + 1] >= src_h) q->landmarks_inside = 0;

  /* Pixel statistics inside the template's face rectangle. */
  const float *t = o->align_template;
  float tx0 = t[0], tx1 = t[0], ty0 = t[1], ty1 = t[1];
  for (int i = 1; i < 5; i++) {
    tx0 = fminf(tx0, t[2 * i]), tx1 = fmaxf(tx1, t[2 * i]);
    ty0 = fminf(ty0, t[2 * i + 1]), ty1 = fmaxf(ty1, t[2 * i + 1]);
  }
  float m = 0.3f * hypotf(t[2] - t[0], t[3] - t[1]);
  int x0 = (int)fmaxf(1, tx0 - m), x1 = (int)fminf((float)al->width - 1, tx1 + m);
  int y0 = (int)fmaxf(1, ty0 - m), y1 = (int)fminf((float)al->height - 1, ty1 + m);
  const int W = al->width, C = al->channels;
  double sum = 0, sum2 = 0, lsum = 0, lsum2 = 0;
  size_t n = 0, dark = 0, bright = 0;
#define GREY(X, Y)                                                                              \
  (C == 3 ? (77 * al->data[((size_t)(Y) * W + (X)) * 3] + 150 * al->data[((size_t)(Y) * W + (X)) * 3 + 1] + \
             29 * al->data[((size_t)(Y) * W + (X)) * 3 + 2] + 128) >> 8                          \
          : al->data[(size_t)(Y) * W + (X)])
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) {
      int g = GREY(x, y);
      int lap = GREY(x - 1, y) + GREY(x + 1, y) + GREY(x, y - 1) + GREY(x, y + 1) - 4 * g;
      sum += g, sum2 += (double)g * g;
      lsum += lap, lsum2 += (double)lap * lap;
      dark += g <= 10;
      bright += g >= 245;
      n++;
    }
#undef GREY
  if (n) {
    q->brightness = (float)(sum / n);
    q->contrast = (float)sqrt(fmax(0, sum2 / n - (sum / n) * (sum / n)));
    q->sharpness = (float)fmax(0, lsum2 / n - (lsum / n) * (lsum / n));
    q->dark_fraction = (float)dark / n;
    q->bright_fraction = (float)bright / n;
  }

  /* Factors. */
  q->f_size = ramp(q->inter_eye_px, IED_GOOD, IED_BAD);
  q->f_pose = ramp(fabsf(q->yaw), YAW_GOOD, YAW_BAD) * ramp(fabsf(q->pitch), PITCH_GOOD, PITCH_BAD);
  q->f_roll = ramp(fabsf(q->roll), ROLL_GOOD, ROLL_BAD);
  q->f_sharpness = ramp(q->sharpness, SHARP_GOOD, SHARP_BAD);
  float f_dark = fminf(ramp(q->brightness, DARK_GOOD, DARK_BAD), ramp(q->dark_fraction, CLIP_GOOD, CLIP_BAD));
  float f_bright =
      fminf(ramp(q->brightness, BRIGHT_GOOD, BRIGHT_BAD), ramp(q->bright_fraction, CLIP_GOOD, CLIP_BAD));
  q->f_exposure = fminf(f_dark, f_bright);
  q->f_contrast = ramp(q->contrast, CONTRAST_GOOD, CONTRAST_BAD);
  q->f_frame = ramp(q->in_frame, FRAME_GOOD, FRAME_BAD);
  if (!q->landmarks_inside) q->f_frame = fminf(q->f_frame, 0.5f);

  const struct {
    float f;
    unsigned bit;
  } comp[] = {{q->f_size, FG_QUALITY_TOO_SMALL}, {q->f_pose, FG_QUALITY_POSE},
              {q->f_roll, FG_QUALITY_TILT},      {q->f_sharpness, FG_QUALITY_BLUR},
              {f_dark, FG_QUALITY_DARK},         {f_bright, FG_QUALITY_BRIGHT},
              {q->f_contrast, FG_QUALITY_LOW_CONTRAST}, {q->f_frame, FG_QUALITY_OUT_OF_FRAME}};
  const int nc = (int)(sizeof comp / sizeof comp[0]);
  double score = 1;
  int weakest = 0;
  for (int i = 0; i < nc; i++) {
    if (comp[i].bit != FG_QUALITY_DARK && comp[i].bit != FG_QUALITY_BRIGHT) score *= comp[i].f;
    if (comp[i].f < REASON_BELOW) q->reasons |= comp[i].bit;
    if (comp[i].f < comp[weakest].f) weakest = i;
  }
  score *= q->f_exposure;
  q->score = (float)(100.0 * score);
  if (q->score < o->quality_min && !q->reasons) q->reasons |= comp[weakest].bit;
  if (faces > 1) q->reasons |= FG_QUALITY_SEVERAL_FACES;
}
