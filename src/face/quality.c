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
static const float IED_GOOD = 22.f, IED_BAD = 14.f;        /* source px */
static const float YAW_GOOD = 35.f, YAW_BAD = 52.f;        /* degrees */
static const float PITCH_GOOD = 30.f, PITCH_BAD = 50.f;
static const float ROLL_GOOD = 20.f, ROLL_BAD = 60.f;
static const float SHARP_GOOD = 40.f, SHARP_BAD = 15.f;    /* Laplacian variance (contrast-scaled) */
static const float DARK_GOOD = 12.f, DARK_BAD = 5.f;       /* mean grey */
static const float DCLIP_GOOD = 0.1f, DCLIP_BAD = 0.5f;    /* share of black (<= 2) pixels */
static const float BRIGHT_GOOD = 200.f, BRIGHT_BAD = 240.f;
static const float CLIP_GOOD = 0.05f, CLIP_BAD = 0.4f;     /* share of clipped (>= 245) pixels */
static const float CONTRAST_GOOD = 12.f, CONTRAST_BAD = 4.f; /* grey std (scaled up for dark faces) */
static const float COVER_GOOD = 0.6f, COVER_BAD = 0.35f;   /* aligned crop share inside */
static const float ALIGN_GOOD = 0.12f, ALIGN_BAD = 0.22f;  /* landmark RMS / eye distance */
/* Light that needs a clear face to be acquired (light_factor) ... */
static const float UNEVEN_FLAG = 0.4f;                     /* unevenness at or above */
static const float DIM_FLAG = 25.f;                        /* mean grey below */
static const float BRIGHT_FLAG = 190.f, CLIP_FLAG = 0.15f; /* mean grey or clipped share above */
static const float BACK_SURROUND = 150.f, BACK_RATIO = 2.f;/* dim, with a surround this bright and this many times the face: backlight */
/* The more of the face in deep shadow, the clearer it must be: both
 * feature-norm limits rise by SHADOW_NORM per unit of shadow share above
 * SHADOW_FROM (at half the face in shadow, by 0.6). */
static const float SHADOW_FROM = 0.3f, SHADOW_NORM = 3.f;
/* Whatever the light, a face the recognition model barely responds to does
 * not match (misdetections, covered faces): its raw output norm is judged
 * too, 1.0 / 0.9 under the light gate's limits (for the default model factor
 * 1 at 2.5, 0 at 2.3), and a low one is refused as badly found (the
 * alignment component). */
static const float CLEAR_BELOW_GOOD = 1.0f, CLEAR_BELOW_BAD = 0.9f;
/* ... and without feature-norm limits for the model, unevenness alone. */
static const float UNEVEN_GOOD = 0.35f, UNEVEN_BAD = 0.7f;
static const float FRAME_DARK = 45.f, FRAME_BRIGHT = 225.f;/* no face: mean grey of the frame */
#define SHARP_REF_CONTRAST 34.4 /* devset median contrast: sharpness is scaled to it */

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

/* RMS distance of the 51 inner landmarks (17-67) from tmpl68's after the
 * least-squares similarity between them, in inter-eye distances of tmpl68. */
float fg__face_align_error(const float lm[136], const float tmpl68[136]) {
  float sim[6];
  if (fg_face_similarity(lm + 34, tmpl68 + 34, 51, sim)) return 1e3f;
  double ss = 0;
  for (int i = 17; i < 68; i++) {
    double x = sim[0] * lm[2 * i] + sim[1] * lm[2 * i + 1] + sim[2] - tmpl68[2 * i];
    double y = sim[3] * lm[2 * i] + sim[4] * lm[2 * i + 1] + sim[5] - tmpl68[2 * i + 1];
    ss += x * x + y * y;
  }
  /* Eye centres of the mean shape: points 36-41 and 42-47. */
  double ex = 0, ey = 0;
  for (int i = 36; i < 42; i++) ex -= tmpl68[2 * i] / 6, ey -= tmpl68[2 * i + 1] / 6;
  for (int i = 42; i < 48; i++) ex += tmpl68[2 * i] / 6, ey += tmpl68[2 * i + 1] / 6;
  return (float)(sqrt(ss / 51) / hypot(ex, ey));
}

/* Share of the w x h aligned crop whose source point (through the inverse of
 * the full-source -> crop similarity m) lies inside the src_w x src_h image;
 * sampled every other pixel. */
static float coverage(const float m[6], int w, int h, int src_w, int src_h) {
  float inv[6];
  if (fg_image_affine_invert(m, inv)) return 0;
  size_t in = 0, n = 0;
  for (int y = 0; y < h; y += 2)
    for (int x = 0; x < w; x += 2) {
      float sx = inv[0] * x + inv[1] * y + inv[2], sy = inv[3] * x + inv[4] * y + inv[5];
      in += sx >= 0 && sy >= 0 && sx < src_w && sy < src_h;
      n++;
    }
  return n ? (float)in / n : 0;
}

void fg__face_quality_measure(const fg_face_options *o, const fg_image *al, const float lm[2 * FG_FACE_LANDMARKS],
                      const float p5[10], const float align[6], const float tmpl68[136], const fg_face_box *box,
                      int src_w, int src_h, int faces, float surround, fg_face_quality *q) {
  memset(q, 0, sizeof *q);
  q->faces = faces;
  q->surround = surround;

  /* Size and pose from the landmarks. */
  q->inter_eye_px = hypotf(p5[2] - p5[0], p5[3] - p5[1]);
  fg__face_pose(lm, &q->yaw, &q->pitch, &q->roll);
  q->align_error = fg__face_align_error(lm, tmpl68);

  /* Framing: the box's share inside the image, the landmarks, and how much of
   * the aligned crop the image covers (what the recognition model sees). */
  float bw = box->x1 - box->x0, bh = box->y1 - box->y0;
  float iw = fminf(box->x1, (float)src_w) - fmaxf(box->x0, 0), ih = fminf(box->y1, (float)src_h) - fmaxf(box->y0, 0);
  q->in_frame = (bw > 0 && bh > 0 && iw > 0 && ih > 0) ? (iw * ih) / (bw * bh) : 0;
  q->landmarks_inside = 1;
  for (int i = 17; i < FG_FACE_LANDMARKS; i++)
    if (lm[2 * i] < 0 || lm[2 * i + 1] < 0 || lm[2 * i] >= src_w || lm[2 * i + 1] >= src_h) q->landmarks_inside = 0;
  q->coverage = coverage(align, al->width, al->height, src_w, src_h);

  /* Pixel statistics inside the template's face rectangle; its left and
   * right halves split at the template's centre line. */
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
  /* Pixels whose source (or a neighbour's) is outside the image are the
   * warp's black fill, not the face: left out. */
  float inv[6];
  int have_inv = fg_image_affine_invert(align, inv) == 0;
#define GREY(X, Y)                                                                              \
  (C == 3 ? (77 * al->data[((size_t)(Y) * W + (X)) * 3] + 150 * al->data[((size_t)(Y) * W + (X)) * 3 + 1] + \
             29 * al->data[((size_t)(Y) * W + (X)) * 3 + 2] + 128) >> 8                          \
          : al->data[(size_t)(Y) * W + (X)])
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) {
      if (have_inv) {
        float sx = inv[0] * x + inv[1] * y + inv[2], sy = inv[3] * x + inv[4] * y + inv[5];
        if (sx < 1 || sy < 1 || sx >= src_w - 1 || sy >= src_h - 1) continue;
      }
      int g = GREY(x, y);
      int lap = GREY(x - 1, y) + GREY(x + 1, y) + GREY(x, y - 1) + GREY(x, y + 1) - 4 * g;
      sum += g, sum2 += (double)g * g;
      lsum += lap, lsum2 += (double)lap * lap;
      dark += g <= 2;
      bright += g >= 245;
      n++;
    }
#undef GREY
  if (n) {
    q->brightness = (float)(sum / n);
    q->contrast = (float)sqrt(fmax(0, sum2 / n - (sum / n) * (sum / n)));
    double k = SHARP_REF_CONTRAST / fmax(q->contrast, 8);
    q->sharpness = (float)(fmax(0, lsum2 / n - (lsum / n) * (lsum / n)) * k * k);
    q->dark_fraction = (float)dark / n;
    q->bright_fraction = (float)bright / n;
  }
  {
    int rect[4] = {x0, y0, x1, y1};
    if (fg__face_light_unevenness(al, rect, &q->light_unevenness, &q->shadow, NULL)) q->light_unevenness = 0;
  }

}

/* The light factor: a face lit unevenly, dimly or too brightly is acquired
 * only if the recognition model still sees it clearly (its raw output norm:
 * measured to track whether a face will match; docs/pipeline.md). Without
 * limits for the model, the unevenness alone decides. */
unsigned fg__face_light_flags(const fg_face_quality *q) {
  unsigned flags = 0;
  if (q->light_unevenness >= UNEVEN_FLAG) flags |= FG_QUALITY_UNEVEN_LIGHT;
  if (q->brightness < DIM_FLAG)
    flags |= q->surround >= BACK_SURROUND && q->surround >= BACK_RATIO * q->brightness ? FG_QUALITY_BACKLIGHT
                                                                                      : FG_QUALITY_DARK;
  if (q->brightness > BRIGHT_FLAG || q->bright_fraction > CLIP_FLAG) flags |= FG_QUALITY_BRIGHT;
  return flags;
}

/* Uneven light only: dim, dark, backlit and over-exposed faces were measured
 * not to raise the impostor scores between two such captures (docs/pipeline.md,
 * "Thresholds under harsh light"). */
int fg_face_quality_harsh_light(const fg_face_quality *q) {
  return q && (fg__face_light_flags(q) & FG_QUALITY_UNEVEN_LIGHT) != 0;
}

static float light_factor(const fg_face_quality *q, float fnorm_good, float fnorm_bad, unsigned *flags) {
  *flags = fg__face_light_flags(q);
  if (!*flags) return 1;
  if (fnorm_good > 0 && q->feature_norm > 0) {
    float d = SHADOW_NORM * fmaxf(0, q->shadow - SHADOW_FROM);
    return ramp(q->feature_norm, fnorm_good + d, fnorm_bad + d);
  }
  return ramp(q->light_unevenness, UNEVEN_GOOD, UNEVEN_BAD);
}

void fg__face_quality_score(const fg_face_options *o, float fnorm_good, float fnorm_bad, fg_face_quality *q) {
  q->reasons = 0;
  q->f_size = ramp(q->inter_eye_px, IED_GOOD, IED_BAD);
  q->f_pose = ramp(fabsf(q->yaw), YAW_GOOD, YAW_BAD) * ramp(fabsf(q->pitch), PITCH_GOOD, PITCH_BAD);
  q->f_roll = ramp(fabsf(q->roll), ROLL_GOOD, ROLL_BAD);
  q->f_sharpness = ramp(q->sharpness, SHARP_GOOD, SHARP_BAD);
  float f_dark = fminf(ramp(q->brightness, DARK_GOOD, DARK_BAD), ramp(q->dark_fraction, DCLIP_GOOD, DCLIP_BAD));
  float f_bright =
      fminf(ramp(q->brightness, BRIGHT_GOOD, BRIGHT_BAD), ramp(q->bright_fraction, CLIP_GOOD, CLIP_BAD));
  q->f_exposure = fminf(f_dark, f_bright);
  /* Contrast relative to a mid-grey face: a dim face has proportionally less. */
  q->f_contrast = ramp(q->contrast * fmaxf(1, 100 / fmaxf(q->brightness, 10)), CONTRAST_GOOD, CONTRAST_BAD);
  q->f_frame = ramp(q->coverage, COVER_GOOD, COVER_BAD);
  if (!q->landmarks_inside) q->f_frame = fminf(q->f_frame, 0.5f);
  q->f_align = ramp(q->align_error, ALIGN_GOOD, ALIGN_BAD);
  unsigned light_flags;
  q->f_light = light_factor(q, fnorm_good, fnorm_bad, &light_flags);
  if (!light_flags && fnorm_good > 0 && q->feature_norm > 0)
    q->f_align =
        fminf(q->f_align, ramp(q->feature_norm, fnorm_good - CLEAR_BELOW_GOOD, fnorm_bad - CLEAR_BELOW_BAD));
  /* In difficult light the blur and contrast readings measure the shading,
   * not the face; with the feature-norm gate judging whether it is clear
   * enough, they do not count. */
  if (light_flags && fnorm_good > 0 && q->feature_norm > 0) q->f_sharpness = q->f_contrast = 1;

  const struct {
    float f;
    unsigned bit;
  } comp[] = {{q->f_size, FG_QUALITY_TOO_SMALL},     {q->f_pose, FG_QUALITY_POSE},
              {q->f_roll, FG_QUALITY_TILT},          {q->f_sharpness, FG_QUALITY_BLUR},
              {f_dark, FG_QUALITY_DARK},             {f_bright, FG_QUALITY_BRIGHT},
              {q->f_contrast, FG_QUALITY_LOW_CONTRAST}, {q->f_frame, FG_QUALITY_OUT_OF_FRAME},
              {q->f_align, FG_QUALITY_ALIGNMENT}};
  const int nc = (int)(sizeof comp / sizeof comp[0]);
  double score = 1;
  int weakest = 0;
  for (int i = 0; i < nc; i++) {
    unsigned b = comp[i].bit;
    /* Exposure counts once: the worse of dark and bright. */
    if (b != FG_QUALITY_DARK && b != FG_QUALITY_BRIGHT) score *= comp[i].f;
    if (comp[i].f < REASON_BELOW) q->reasons |= b;
    if (comp[i].f < comp[weakest].f) weakest = i;
  }
  score *= q->f_exposure * q->f_light;
  if (q->f_light < REASON_BELOW) q->reasons |= light_flags;
  /* to one decimal, as it is shown: a capture shown as 40.0 passes a minimum of 40 */
  q->score = (float)(round(1000.0 * score) / 10.0);
  if (q->score < o->quality_min && !q->reasons)
    q->reasons |= q->f_light < comp[weakest].f && light_flags ? light_flags : comp[weakest].bit;
  /* Say what a person can act on: under a lighting problem the blur, contrast
   * and size readings are its symptoms, and backlight or side light explain a
   * dark face better than "too dark". */
  unsigned light = q->reasons & (FG_QUALITY_DARK | FG_QUALITY_BRIGHT | FG_QUALITY_UNEVEN_LIGHT | FG_QUALITY_BACKLIGHT);
  if (light) q->reasons &= ~(FG_QUALITY_BLUR | FG_QUALITY_LOW_CONTRAST | FG_QUALITY_TOO_SMALL);
  if (q->reasons & (FG_QUALITY_BACKLIGHT | FG_QUALITY_UNEVEN_LIGHT)) q->reasons &= ~FG_QUALITY_DARK;
  if (q->faces > 1) q->reasons |= FG_QUALITY_SEVERAL_FACES;
}

void fg__face_quality_no_face(const fg_image *img, fg_face_quality *q) {
  memset(q, 0, sizeof *q);
  q->reasons = FG_QUALITY_NO_FACE;
  /* The whole frame's mean grey, on a grid of about 64 x 64 samples. */
  int sx = img->width / 64 + 1, sy = img->height / 64 + 1, C = img->channels;
  double sum = 0;
  size_t n = 0;
  for (int y = sy / 2; y < img->height; y += sy)
    for (int x = sx / 2; x < img->width; x += sx) {
      const uint8_t *p = img->data + ((size_t)y * img->width + x) * C;
      sum += C == 3 ? (77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8 : p[0];
      n++;
    }
  q->surround = q->brightness = n ? (float)(sum / n) : 0;
  if (q->brightness < FRAME_DARK) q->reasons |= FG_QUALITY_DARK;
  if (q->brightness > FRAME_BRIGHT) q->reasons |= FG_QUALITY_BRIGHT;
}

float fg__face_surround(const fg__face_view *v, const fg_face_box *box) {
  const fg_image *im = v->img;
  double bw = box->x1 - box->x0, bh = box->y1 - box->y0;
  /* In the view's pixels: the outer rectangle and the hole. */
  double ox0 = (box->x0 - bw - v->ox) / v->kx, ox1 = (box->x1 + bw - v->ox) / v->kx;
  double oy0 = (box->y0 - bh - v->oy) / v->ky, oy1 = (box->y1 + bh - v->oy) / v->ky;
  double hx0 = (box->x0 - 0.1 * bw - v->ox) / v->kx, hx1 = (box->x1 + 0.1 * bw - v->ox) / v->kx;
  double hy0 = (box->y0 - 0.1 * bh - v->oy) / v->ky, hy1 = (box->y1 + 0.1 * bh - v->oy) / v->ky;
  double step = fmax(1, fmax(ox1 - ox0, oy1 - oy0) / 48);
  const int C = im->channels;
  double sum = 0;
  size_t n = 0;
  for (double y = fmax(0, oy0) + 0.5; y < fmin(im->height, oy1); y += step)
    for (double x = fmax(0, ox0) + 0.5; x < fmin(im->width, ox1); x += step) {
      if (x >= hx0 && x < hx1 && y >= hy0 && y < hy1) continue;
      const uint8_t *p = im->data + ((size_t)y * im->width + (size_t)x) * C;
      sum += C == 3 ? (77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8 : p[0];
      n++;
    }
  return n ? (float)(sum / n) : -1.f;
}
