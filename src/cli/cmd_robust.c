/*
 * `facegate eval robustness LFWDIR`: the face pipeline under capture
 * conditions a border sees and LFW does not (facegate/eval.h's condition
 * sets: tight crops, grey, directional light, dark and over-exposed frames,
 * backlight, small faces, JPEG), per condition: failure to acquire and its
 * reasons, verification accuracy and TAR at FAR 1e-3 on the acquired, the
 * actual false-match rate at the calibrated thresholds, and rank-1
 * identification with both sides under the condition. docs/pipeline.md
 * ("Robustness") has the protocol and the figures.
 *
 * Images. --set dev (default): LFW's development subset (fg_lfw_devset: 1906
 * images of 383 people that pairs.txt never names), where settings are
 * chosen. --set lfw: the 7,701 images of the standard protocol, to report
 * (never to tune on).
 *
 * Each image is first processed unmodified with LFW's rule (the detection
 * nearest the centre, else a fixed centre box): that gives the reference
 * embedding (a document photo) and where the face is, which the conditions
 * are built around. Then, per condition, the condition's image goes through
 * the gate's own pipeline (fg_face_process: its face selection and quality
 * gate) — the probe.
 *
 * Pairs: a reference (unmodified, itself acquired) against a probe (under the
 * condition, acquired). dev: every such ordered pair, genuine when the same
 * person; accuracy is 10-fold (folds by person) on a balanced list: each
 * genuine pair and one impostor pair made from it (the same reference, a
 * probe of another person in the same fold). lfw: the protocol's pairs
 * (reference = the first image, probe = the second), its folds.
 *
 * Identification (rank-1): per person the first image under the condition is
 * enrolled if acquired (under random light it is lit from the front, as a
 * document photo is), and the person's other acquired images are searched
 * against all enrolled; rank-1 is the share of those searches whose best
 * candidate is the person.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "facegate/calibration.h"
#include "facegate/eval.h"
#include "facegate/face.h"
#include "facegate/template.h"

#define CMD "facegate eval robustness"
#define LIGHT_REASONS (FG_QUALITY_DARK | FG_QUALITY_BRIGHT | FG_QUALITY_BACKLIGHT | FG_QUALITY_UNEVEN_LIGHT)

/* ST_OTHER_FACE: acquired, but not the labelled face: under a condition that
 * keeps the frame's geometry (no crop, no rescaling), the acquired face's box
 * overlaps the reference face's by less than OTHER_IOU (intersection over
 * union): another person in the frame, whom the condition (light on the
 * labelled head only) left better lit. Counted apart, not matched. */
enum { ST_OK = 0, ST_NO_FACE = 1, ST_LOW_QUALITY = 2, ST_OTHER_FACE = 3 };
#define OTHER_IOU 0.3

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------ the work */

typedef struct work {
  const fg_lfw_images *set;
  const char *images_dir;
  fg_face_engine **engines;
  int dim;
  /* reference pass */
  fg_condition_face *face;
  float *ref_emb;
  uint8_t *ref_ok;
  /* condition pass */
  const fg_condition *cond; /* NULL: the reference pass */
  float *emb;
  uint8_t *status;
  unsigned *reasons;
  fg_face_quality *quality;
  const char *write_dir;
  atomic_size_t next;
  atomic_int failed;
  fg_error err;
  pthread_mutex_t lock;
  cli_progress *progress;
} work;

typedef struct worker_arg {
  work *w;
  int index;
} worker_arg;

static uint64_t seed_of(const fg_lfw_image *im, const char *cond) {
  uint64_t h = 1469598103934665603ull;
  for (const char *p = im->name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
  h = (h ^ (uint64_t)im->number) * 1099511628211ull;
  for (const char *p = cond; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
  return h;
}

static int write_image(const char *dir, const fg_condition *c, const fg_lfw_image *im, const fg_image *img,
                       fg_error *e) {
  char p[4096];
  const char *parts[2] = {c->name, im->name};
  size_t k = (size_t)snprintf(p, sizeof p, "%s", dir);
  for (int i = 0; i < 2; i++) {
    k += (size_t)snprintf(p + k, sizeof p - (k < sizeof p ? k : sizeof p), "/%s", parts[i]);
    if (k >= sizeof p || (mkdir(p, 0777) && errno != EEXIST)) {
      e->code = FG_EIO;
      snprintf(e->msg, sizeof e->msg, "cannot create %.300s: %.100s", p, strerror(errno));
      return FG_EIO;
    }
  }
  snprintf(p + k, sizeof p - k, "/%s_%04d.png", im->name, im->number);
  return fg_image_write_png(p, img, e);
}

static double box_iou(const float a[4], const fg_face_box *b) {
  double iw = fmin(a[2], b->x1) - fmax(a[0], b->x0), ih = fmin(a[3], b->y1) - fmax(a[1], b->y0);
  if (iw <= 0 || ih <= 0) return 0;
  double in = iw * ih, ua = (a[2] - a[0]) * (a[3] - a[1]) + (b->x1 - b->x0) * (b->y1 - b->y0) - in;
  return ua > 0 ? in / ua : 0;
}

static int one_image(work *w, fg_face_engine *fe, size_t i, fg_face_detections *det, fg_face_result *r,
                     fg_error *e) {
  char path[4096];
  const fg_lfw_image *im = &w->set->images[i];
  int rc = fg_lfw_image_path(w->images_dir, im, path, sizeof path, e);
  fg_image img = {0}, cimg = {0};
  if (!rc) rc = fg_image_decode_file(path, NULL, &img, e);
  if (rc) return rc;
  if (!w->cond) {
    int fb = 0;
    rc = cli_lfw_centre_face(fe, &img, det, r, &fb, e);
    if (!rc) {
      fg_condition_face *f = &w->face[i];
      f->box[0] = r->box.x0, f->box[1] = r->box.y0, f->box[2] = r->box.x1, f->box[3] = r->box.y1;
      memcpy(f->points, r->points, sizeof f->points);
      memcpy(w->ref_emb + i * (size_t)w->dim, r->embedding, (size_t)w->dim * sizeof(float));
      w->ref_ok[i] = !fb && r->status == FG_FACE_OK;
    }
  } else {
    /* Under random light, a person's first image (the enrolment) is lit
     * from the front, as a document photo is. */
    fg_condition c = *w->cond;
    int first = i == 0 || w->set->images[i - 1].identity != im->identity;
    if (first && c.light && c.light_az_max > c.light_az) c.light = 0;
    rc = fg_condition_apply(&c, &img, &w->face[i], seed_of(im, w->cond->name), &cimg, e);
    if (!rc && w->write_dir) rc = write_image(w->write_dir, w->cond, im, &cimg, e);
    if (!rc) rc = fg_face_process(fe, &cimg, r, e);
    if (!rc) {
      w->status[i] = r->status == FG_FACE_OK ? ST_OK : r->status == FG_FACE_NO_FACE ? ST_NO_FACE : ST_LOW_QUALITY;
      int same_geometry = !c.crop && !c.out_w && !(c.small_ied > 0);
      if (w->status[i] == ST_OK && same_geometry && box_iou(w->face[i].box, &r->box) < OTHER_IOU)
        w->status[i] = ST_OTHER_FACE;
      w->reasons[i] = r->quality.reasons;
      w->quality[i] = r->quality;
      if (r->dim == w->dim) memcpy(w->emb + i * (size_t)w->dim, r->embedding, (size_t)w->dim * sizeof(float));
      else memset(w->emb + i * (size_t)w->dim, 0, (size_t)w->dim * sizeof(float));
    }
  }
  fg_image_release(&img);
  fg_image_release(&cimg);
  return rc;
}

static void *worker(void *arg) {
  worker_arg *wa = arg;
  work *w = wa->w;
  fg_face_engine *fe = w->engines[wa->index];
  fg_face_result *r = malloc(sizeof *r);
  fg_face_detections *det = malloc(sizeof *det);
  fg_error e = {0};
  if (!r || !det) {
    atomic_store(&w->failed, 1);
    goto out;
  }
  for (;;) {
    size_t i = atomic_fetch_add(&w->next, 1);
    if (i >= w->set->count || atomic_load(&w->failed)) break;
    int rc = one_image(w, fe, i, det, r, &e);
    if (rc) {
      pthread_mutex_lock(&w->lock);
      if (!atomic_load(&w->failed)) {
        w->err = e;
        w->err.code = rc;
        atomic_store(&w->failed, 1);
      }
      pthread_mutex_unlock(&w->lock);
      break;
    }
    cli_progress_add(w->progress, 1);
  }
out:
  free(r);
  free(det);
  return NULL;
}

static int run_pass(work *w, int threads, const char *label) {
  cli_progress prog;
  cli_progress_init(&prog, label, "img", w->set->count);
  w->progress = &prog;
  atomic_store(&w->next, 0);
  pthread_t tid[64];
  worker_arg wa[64];
  int started = 0;
  for (; started < threads; started++) {
    wa[started] = (worker_arg){w, started};
    if (pthread_create(&tid[started], NULL, worker, &wa[started])) break;
  }
  if (started == 0) worker(&(worker_arg){w, 0});
  for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
  cli_progress_finish(&prog);
  if (atomic_load(&w->failed)) {
    fprintf(stderr, CMD ": %s\n", cli_errmsg(&w->err)[0] ? cli_errmsg(&w->err) : "out of memory");
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------ metrics */

typedef struct stats {
  const char *name;
  size_t images, no_face, low_quality, fta_added, fta_light, fta_no_reason;
  size_t other_face; /* acquired, but another person in the frame (ST_OTHER_FACE) */
  unsigned reason_count[32];
  size_t genuine, impostor;
  double accuracy, accuracy_std, tar_1e3, thr_1e3;
  double fmr_cal[2], fnmr_cal[2]; /* at the calibrated 1e-3 and 1e-4 thresholds */
  size_t enrolled, people, probes, rank1_hits;
  size_t both_imp, both_fm; /* rank-1's impostor comparisons, and those >= the calibrated 1e-3 threshold */
  size_t both_fm_light;     /* ... and those >= the light-aware threshold (fg_calibration_threshold_for) */
  size_t both_imp_harsh, both_fm_harsh; /* of those, both sides harsh-lit (and >= the plain threshold) */
  size_t harsh_pairs;       /* impostor pairs of two harsh-lit acquired probes (pooled calibration) */
  double harsh_thr_1e3;     /* this condition's own 1e-3 threshold on them */
  size_t refused_gen, refused_gen_hit; /* low-quality probes' genuine pairs, accepted at cal 1e-3 */
} stats;

static int cmp_float_desc(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* Rank-1 with both sides under the condition (see the file comment). */
static void rank1(const fg_lfw_images *set, const float *emb, int dim, const uint8_t *status, const uint8_t *harsh,
                  double thr, double thr_harsh, stats *s) {
  size_t n = set->count, np = set->identities;
  long *enrol = malloc(np * sizeof *enrol);
  if (!enrol) return;
  for (size_t p = 0; p < np; p++) enrol[p] = -2; /* -2: not seen yet */
  for (size_t i = 0; i < n; i++) {
    uint32_t p = set->images[i].identity;
    if (enrol[p] == -2) enrol[p] = status[i] == ST_OK ? (long)i : -1;
  }
  s->people = np;
  for (size_t p = 0; p < np; p++) s->enrolled += enrol[p] >= 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t p = set->images[i].identity;
    if (status[i] != ST_OK || enrol[p] < 0 || enrol[p] == (long)i) continue;
    s->probes++;
    long best = -1;
    float bs = -2;
    for (size_t q = 0; q < np; q++) {
      if (enrol[q] < 0) continue;
      float sc = fg_dot(emb + i * (size_t)dim, emb + (size_t)enrol[q] * dim, (size_t)dim);
      if (sc > bs) bs = sc, best = (long)q;
      if (q != p) {
        int hh = harsh[i] && harsh[enrol[q]];
        s->both_imp++, s->both_fm += sc >= thr;
        s->both_fm_light += sc >= (hh ? thr_harsh : thr);
        s->both_imp_harsh += hh, s->both_fm_harsh += hh && sc >= thr;
      }
    }
    s->rank1_hits += best == (long)p;
  }
  free(enrol);
}

typedef struct pair_list {
  float *score;
  uint8_t *same, *fold;
  size_t n, cap;
} pair_list;

static int pl_add(pair_list *l, float sc, int same, int fold) {
  if (l->n == l->cap) {
    size_t c = l->cap ? 2 * l->cap : 4096;
    float *s = realloc(l->score, c * sizeof *s);
    if (!s) return -1;
    l->score = s;
    uint8_t *a = realloc(l->same, c), *b = a ? realloc(l->fold, c) : NULL;
    if (a) l->same = a;
    if (!a || !b) return -1;
    l->fold = b;
    l->cap = c;
  }
  l->score[l->n] = sc, l->same[l->n] = (uint8_t)same, l->fold[l->n] = (uint8_t)fold;
  l->n++;
  return 0;
}

/* Verification on the development subset (see the file comment). */
static int verify_dev(const work *w, const double cal[2], stats *s) {
  const fg_lfw_images *set = w->set;
  size_t n = set->count;
  int dim = w->dim, rc = -1;
  pair_list bal = {0}, all = {0};
  float *imp = NULL;
  size_t nimp = 0, capimp = 0;
  /* Probes per person, for the balanced list's impostor pairs. */
  size_t np = set->identities;
  size_t *first = calloc(np + 1, sizeof *first);
  if (!first) goto out;
  for (size_t i = 0; i < n; i++) first[set->images[i].identity + 1]++;
  for (size_t p = 0; p < np; p++) first[p + 1] += first[p];
  size_t fa[2] = {0}, gacc[2] = {0};
  for (size_t j = 0; j < n; j++) {
    if (w->status[j] != ST_OK) continue;
    uint32_t pj = set->images[j].identity;
    const float *pe = w->emb + j * (size_t)dim;
    for (size_t i = 0; i < n; i++) {
      if (!w->ref_ok[i] || i == j) continue;
      uint32_t pi = set->images[i].identity;
      float sc = fg_dot(w->ref_emb + i * (size_t)dim, pe, (size_t)dim);
      if (pi == pj) {
        if (pl_add(&all, sc, 1, 0)) goto out;
        for (int k = 0; k < 2; k++) gacc[k] += sc >= cal[k];
        /* Balanced list: this pair, and the reference against a probe of
         * another person of the same fold (person + 10, + 20, ... until one
         * with an acquired probe). */
        if (pl_add(&bal, sc, 1, (int)(pi % 10))) goto out;
        for (size_t step = 10; step < np; step += 10) {
          size_t q = (pi + step) % np, cnt = first[q + 1] - first[q];
          if (q % 10 != pi % 10 || !cnt) continue;
          size_t k = first[q] + (j - first[pj]) % cnt, found = 0;
          for (size_t t = 0; t < cnt && !found; t++) {
            size_t jj = first[q] + (k - first[q] + t) % cnt;
            if (w->status[jj] == ST_OK) found = jj + 1;
          }
          if (!found) continue;
          if (pl_add(&bal, fg_dot(w->ref_emb + i * (size_t)dim, w->emb + (found - 1) * (size_t)dim, (size_t)dim), 0,
                     (int)(pi % 10)))
            goto out;
          break;
        }
      } else {
        if (nimp == capimp) {
          capimp = capimp ? 2 * capimp : 1 << 20;
          float *t = realloc(imp, capimp * sizeof *t);
          if (!t) goto out;
          imp = t;
        }
        imp[nimp++] = sc;
        for (int k = 0; k < 2; k++) fa[k] += sc >= cal[k];
      }
    }
  }
  s->genuine = all.n, s->impostor = nimp;
  for (int k = 0; k < 2; k++) {
    s->fmr_cal[k] = nimp ? (double)fa[k] / nimp : NAN;
    s->fnmr_cal[k] = all.n ? 1 - (double)gacc[k] / all.n : NAN;
  }
  if (all.n && nimp) {
    /* TAR at FAR 1e-3 against this condition's own impostors. */
    size_t k = (size_t)floor(1e-3 * nimp);
    qsort(imp, nimp, sizeof *imp, cmp_float_desc);
    float thr = nextafterf(imp[k], 2.f);
    size_t acc = 0;
    for (size_t g = 0; g < all.n; g++) acc += all.score[g] >= thr;
    s->tar_1e3 = (double)acc / all.n, s->thr_1e3 = thr;
  }
  fg_kfold_result kf;
  fg_error e = {0};
  if (bal.n && !fg_verif_kfold(bal.score, bal.same, bal.fold, bal.n, 10, &kf, &e))
    s->accuracy = kf.accuracy, s->accuracy_std = kf.accuracy_std;
  else
    s->accuracy = NAN;
  rc = 0;
out:
  free(first);
  free(imp);
  free(bal.score), free(bal.same), free(bal.fold);
  free(all.score), free(all.same), free(all.fold);
  return rc;
}

/* Verification on the LFW protocol pairs: reference = first image, probe = second. */
static int verify_lfw(const work *w, const fg_lfw_pairs *pairs, const uint32_t *ia, const uint32_t *ib,
                      const double cal[2], stats *s) {
  pair_list l = {0};
  int dim = w->dim;
  size_t fa[2] = {0}, gacc[2] = {0};
  for (size_t k = 0; k < pairs->npairs; k++) {
    if (w->status[ib[k]] != ST_OK) continue;
    float sc = fg_dot(w->ref_emb + ia[k] * (size_t)dim, w->emb + ib[k] * (size_t)dim, (size_t)dim);
    if (pl_add(&l, sc, pairs->pairs[k].same, pairs->pairs[k].fold)) return -1;
    for (int t = 0; t < 2; t++) {
      if (pairs->pairs[k].same) gacc[t] += sc >= cal[t];
      else fa[t] += sc >= cal[t];
    }
  }
  size_t ng = 0;
  for (size_t k = 0; k < l.n; k++) ng += l.same[k];
  s->genuine = ng, s->impostor = l.n - ng;
  for (int t = 0; t < 2; t++) {
    s->fmr_cal[t] = s->impostor ? (double)fa[t] / s->impostor : NAN;
    s->fnmr_cal[t] = ng ? 1 - (double)gacc[t] / ng : NAN;
  }
  fg_error e = {0};
  fg_kfold_result kf;
  s->accuracy = s->tar_1e3 = NAN;
  if (ng && s->impostor && !fg_verif_kfold(l.score, l.same, l.fold, l.n, pairs->folds, &kf, &e))
    s->accuracy = kf.accuracy, s->accuracy_std = kf.accuracy_std;
  double tar, thr;
  if (ng && s->impostor && !fg_verif_tar_at_far(l.score, l.same, l.n, 1e-3, &tar, &thr, NULL, &e))
    s->tar_1e3 = tar, s->thr_1e3 = thr;
  free(l.score), free(l.same), free(l.fold);
  return 0;
}

static void count_capture(const work *w, const uint8_t *none_status, stats *s) {
  s->images = w->set->count;
  for (size_t i = 0; i < w->set->count; i++) {
    uint8_t st = w->status[i];
    if (st == ST_OTHER_FACE) s->other_face++;
    if (st == ST_OK || st == ST_OTHER_FACE) continue;
    s->no_face += st == ST_NO_FACE;
    s->low_quality += st == ST_LOW_QUALITY;
    if (none_status && none_status[i] == ST_OK) s->fta_added++;
    unsigned r = w->reasons[i];
    s->fta_light += (r & LIGHT_REASONS) != 0;
    s->fta_no_reason += r == 0;
    for (int b = 0; b < 32; b++) s->reason_count[b] += (r >> b) & 1;
  }
}

/* Impostor scores pooled over the conditions (the harsh-light calibration). */
typedef struct score_pool {
  float *v;
  size_t n, cap;
} score_pool;

static int cmp_float_desc(const void *a, const void *b);

/* The threshold at which a share fmr of the n scores (sorted descending)
 * is at or above it: just above the floor(fmr * n)-th highest. */
static double thr_at(const float *desc, size_t n, double fmr) {
  size_t k = (size_t)floor(fmr * (double)n);
  return n ? nextafterf(desc[k < n ? k : n - 1], 2.f) : NAN;
}

/* Scores of every impostor pair of two acquired, harsh-lit probes of this
 * condition (both captures under the same light), appended to *pool; the
 * condition's own FMR 1e-3 threshold on them into s. */
static int harsh_pairs(const work *w, const uint8_t *harsh, score_pool *pool, stats *s) {
  const fg_lfw_images *set = w->set;
  size_t start = pool->n;
  for (size_t i = 0; i < set->count; i++) {
    if (!harsh[i]) continue;
    for (size_t j = i + 1; j < set->count; j++) {
      if (!harsh[j] || set->images[i].identity == set->images[j].identity) continue;
      if (pool->n == pool->cap) {
        size_t c = pool->cap ? 2 * pool->cap : 1 << 20;
        float *t = realloc(pool->v, c * sizeof *t);
        if (!t) return -1;
        pool->v = t, pool->cap = c;
      }
      pool->v[pool->n++] = fg_dot(w->emb + i * (size_t)w->dim, w->emb + j * (size_t)w->dim, (size_t)w->dim);
    }
  }
  s->harsh_pairs = pool->n - start;
  s->harsh_thr_1e3 = NAN;
  if (s->harsh_pairs >= 1000) {
    float *c = malloc(s->harsh_pairs * sizeof *c);
    if (!c) return -1;
    memcpy(c, pool->v + start, s->harsh_pairs * sizeof *c);
    qsort(c, s->harsh_pairs, sizeof *c, cmp_float_desc);
    s->harsh_thr_1e3 = thr_at(c, s->harsh_pairs, 1e-3);
    free(c);
  }
  return 0;
}

/* One row per image of this condition (--per-image). */
static void write_rows(FILE *f, const work *w, double cal) {
  const fg_lfw_images *set = w->set;
  int dim = w->dim;
  for (size_t j = 0; j < set->count; j++) {
    double sum = 0, mn = 2, mx_imp = -2;
    size_t ng = 0, acc = 0;
    if (w->status[j] != ST_NO_FACE)
      for (size_t i = 0; i < set->count; i++) {
        if (!w->ref_ok[i] || i == j) continue;
        float sc = fg_dot(w->ref_emb + i * (size_t)dim, w->emb + j * (size_t)dim, (size_t)dim);
        if (set->images[i].identity == set->images[j].identity) sum += sc, ng++, acc += sc >= cal, mn = fmin(mn, sc);
        else mx_imp = fmax(mx_imp, sc);
      }
    const fg_face_quality *q = &w->quality[j];
    fprintf(f, "%s\t%s_%04d\t%d\t%u\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t%.1f\t%.4f\t%d", w->cond->name,
            set->images[j].name, set->images[j].number, w->status[j], w->reasons[j], q->score, q->inter_eye_px, q->yaw,
            q->pitch, q->roll, q->sharpness, q->brightness, q->contrast, q->in_frame, q->landmarks_inside);
    fprintf(f, "\t%.3f\t%.4f\t%.3f\t%.1f\t%.3f\t%.4f\t%.4f", q->coverage, q->align_error, q->light_unevenness,
            q->surround, q->feature_norm, q->dark_fraction, q->bright_fraction);
    /* The light factor and the product of the others: a light gate can be
     * re-simulated from the rows (score = 100 * f_light * f_other). */
    double f_other = (double)q->f_size * q->f_pose * q->f_roll * q->f_sharpness * q->f_contrast * q->f_frame *
                     q->f_align * q->f_exposure;
    fprintf(f, "\t%.4f\t%.4f\t%.4f", q->shadow, q->f_light, f_other);
    fprintf(f, "\t%zu\t%.4f\t%.4f\t%.4f\t%.4f\n", ng, ng ? sum / ng : NAN, ng ? mn : NAN,
            ng ? (double)acc / ng : NAN, mx_imp);
  }
}

/* ------------------------------------------------------------ output */

static double pc(size_t a, size_t b) { return b ? 100.0 * a / b : NAN; }

static void print_reasons(FILE *f, const stats *s, int json) {
  int first = 1;
  for (int b = 0; b < 32; b++) {
    if (!s->reason_count[b]) continue;
    const char *nm = fg_quality_reason_name(1u << b);
    if (json) fprintf(f, "%s\"%s\": %u", first ? "" : ", ", nm, s->reason_count[b]);
    else fprintf(f, "%s%s %u", first ? "" : ", ", nm, s->reason_count[b]);
    first = 0;
  }
}

static void json_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
  else fputs("null", f);
}

/* The harsh-light thresholds: those in the calibration file (applied), and
 * those measured on this run's pooled harsh-lit impostor pairs. */
typedef struct harsh_cal {
  double applied_1e3;  /* fg_calibration_threshold_for(1e-3, harsh, harsh) */
  size_t pairs;
  double measured[3];  /* at FMR 1e-3, 5e-4, 1e-4 */
} harsh_cal;

static const double HARSH_FMR[3] = {1e-3, 5e-4, 1e-4};

static void print_json(FILE *f, const char *set_name, size_t nimg, size_t npeople, const double cal[2],
                       const harsh_cal *hc, const stats *st, size_t ns) {
  fprintf(f, "{\"set\": \"%s\", \"images\": %zu, \"people\": %zu, \"calibrated_thresholds\": {\"1e-3\": %.6f, "
             "\"1e-4\": %.6f}, \"harsh_light_threshold_applied_1e-3\": %.6f, \"harsh_light_pairs\": %zu, "
             "\"harsh_light_thresholds_measured\": {",
          set_name, nimg, npeople, cal[0], cal[1], hc->applied_1e3, hc->pairs);
  for (int k = 0; k < 3; k++) {
    fprintf(f, "%s\"%g\": ", k ? ", " : "", HARSH_FMR[k]);
    json_num(f, hc->measured[k]);
  }
  fprintf(f, "}, \"conditions\": [");
  for (size_t c = 0; c < ns; c++) {
    const stats *s = &st[c];
    size_t fta = s->no_face + s->low_quality;
    fprintf(f, "%s\n  {\"condition\": \"%s\", \"fta\": ", c ? "," : "", s->name);
    json_num(f, (double)fta / s->images);
    fprintf(f, ", \"no_face\": %zu, \"low_quality\": %zu, \"fta_added\": ", s->no_face, s->low_quality);
    json_num(f, (double)s->fta_added / s->images);
    fprintf(f, ", \"fta_with_light_reason\": %zu, \"fta_without_reason\": %zu, \"other_face\": %zu, \"reasons\": {",
            s->fta_light, s->fta_no_reason, s->other_face);
    print_reasons(f, s, 1);
    fprintf(f, "}, \"genuine\": %zu, \"impostor\": %zu, \"accuracy\": ", s->genuine, s->impostor);
    json_num(f, s->accuracy);
    fprintf(f, ", \"accuracy_std\": ");
    json_num(f, s->accuracy_std);
    fprintf(f, ", \"tar_at_far_1e-3\": ");
    json_num(f, s->tar_1e3);
    fprintf(f, ", \"fmr_at_calibrated_1e-3\": ");
    json_num(f, s->fmr_cal[0]);
    fprintf(f, ", \"fnmr_at_calibrated_1e-3\": ");
    json_num(f, s->fnmr_cal[0]);
    fprintf(f, ", \"fmr_at_calibrated_1e-4\": ");
    json_num(f, s->fmr_cal[1]);
    fprintf(f, ", \"fnmr_at_calibrated_1e-4\": ");
    json_num(f, s->fnmr_cal[1]);
    fprintf(f, ", \"enrolled\": %zu, \"probes\": %zu, \"rank1\": ", s->enrolled, s->probes);
    json_num(f, s->probes ? (double)s->rank1_hits / s->probes : NAN);
    fprintf(f, ", \"fmr_both_at_calibrated_1e-3\": ");
    json_num(f, s->both_imp ? (double)s->both_fm / s->both_imp : NAN);
    fprintf(f, ", \"fmr_both_at_light_aware_1e-3\": ");
    json_num(f, s->both_imp ? (double)s->both_fm_light / s->both_imp : NAN);
    fprintf(f, ", \"both_impostor\": %zu, \"both_impostor_harsh\": %zu, \"fmr_both_harsh_at_calibrated_1e-3\": ",
            s->both_imp, s->both_imp_harsh);
    json_num(f, s->both_imp_harsh ? (double)s->both_fm_harsh / s->both_imp_harsh : NAN);
    fprintf(f, ", \"harsh_pairs\": %zu, \"harsh_threshold_1e-3\": ", s->harsh_pairs);
    json_num(f, s->harsh_thr_1e3);
    fprintf(f, "}");
  }
  fprintf(f, "\n]}\n");
}

static void print_table(const char *set_name, size_t nimg, size_t npeople, const double cal[2], const harsh_cal *hc,
                        const stats *st, size_t ns) {
  printf("robustness on %s: %zu images of %zu people; probe under the condition against an unmodified,\n"
         "acquired reference; calibrated thresholds %.4f (FMR 1e-3), %.4f (1e-4)\n\n",
         set_name, nimg, npeople, cal[0], cal[1]);
  printf("%-15s %6s %6s %6s %7s %7s %8s %7s %7s %7s %7s  %s\n", "condition", "FTA%", "+FTA%", "noface", "acc%",
         "TAR@1e-3", "FMR@cal", "FNMR@c", "rank1%", "FMR2@c", "FMR2@l", "reasons (FTA images)");
  for (size_t c = 0; c < ns; c++) {
    const stats *s = &st[c];
    printf("%-15s %6.2f %6.2f %6zu %7.2f %7.2f%% %7.2fx %6.2f%% %7.2f %6.2fx %6.2fx  ", s->name,
           pc(s->no_face + s->low_quality, s->images), pc(s->fta_added, s->images), s->no_face, 100 * s->accuracy,
           100 * s->tar_1e3, s->fmr_cal[0] / 1e-3, 100 * s->fnmr_cal[0], pc(s->rank1_hits, s->probes),
           s->both_imp ? (double)s->both_fm / s->both_imp / 1e-3 : NAN,
           s->both_imp ? (double)s->both_fm_light / s->both_imp / 1e-3 : NAN);
    print_reasons(stdout, s, 0);
    if (s->fta_no_reason) printf(" (%zu without a reason)", s->fta_no_reason);
    if (s->other_face) printf("; another person acquired %zu", s->other_face);
    printf("\n");
  }
  printf("\nFTA: no face or quality below the gate's minimum; +FTA: of those, acquired unmodified.\n"
         "acc: 10-fold verification accuracy on the acquired; TAR@1e-3 with the condition's own\n"
         "threshold; FMR@cal: actual false-match rate at the calibrated FMR 1e-3 threshold, as a\n"
         "multiple of 1e-3; FNMR@c: at that threshold; rank1: each person's first image\n"
         "enrolled (frontal light under random light), the person's other acquired images\n"
         "searched, both under the condition; FMR2@c: the false-match rate of those searches'\n"
         "impostor comparisons at the calibrated FMR 1e-3 threshold, as a multiple of 1e-3;\n"
         "FMR2@l: the same at the light-aware threshold (%.4f when both captures are harsh-lit).\n"
         "\"another person acquired\": the gate took a face other than the labelled one (a frame\n"
         "whose geometry the condition keeps; box overlap < 0.3): counted apart, not matched.\n",
         hc->applied_1e3);
  printf("\nharsh-light thresholds measured on this run (%zu impostor pairs of two harsh-lit captures\n"
         "under the same condition): FMR 1e-3 %.4f, 5e-4 %.4f, 1e-4 %.4f\n",
         hc->pairs, hc->measured[0], hc->measured[1], hc->measured[2]);
}

/* ------------------------------------------------------------ one image */

/* `facegate eval condition IMG NAME -o OUT.png [--seed N]`: one condition
 * made around the face the pipeline finds in IMG (to look at, or to try a
 * capture condition on one's own photos). */
int cmd_eval_condition(int argc, char **argv) {
  const char *img_path = NULL, *name = NULL, *out = NULL, *models = NULL;
  uint64_t seed = 1;
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate eval condition IMG CONDITION -o OUT.png [--seed N] [--models-dir DIR]\n\n"
           "Writes IMG under one capture condition of `facegate eval robustness --list`, made\n"
           "around the face the pipeline finds in IMG (the gate's choice). --seed drives the\n"
           "random parts (crop jitter, light direction). Exit 4 if IMG has no face.\n");
    return EXIT_OK;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-o") || !strcmp(a, "--output")) out = cli_arg_val("facegate eval condition", argc, argv, &i);
    else if (!strcmp(a, "--seed"))
      seed = (uint64_t)cli_parse_long("facegate eval condition", cli_arg_val("facegate eval condition", argc, argv, &i),
                                      "--seed", 0, 1L << 40);
    else if (!strcmp(a, "--models-dir")) models = cli_arg_val("facegate eval condition", argc, argv, &i);
    else if (a[0] == '-') return fprintf(stderr, "facegate eval condition: unknown option '%s'\n", a), EXIT_USAGE;
    else if (!img_path) img_path = a;
    else if (!name) name = a;
    else return fprintf(stderr, "facegate eval condition: unexpected argument '%s'\n", a), EXIT_USAGE;
  }
  if (!img_path || !name || !out)
    return fprintf(stderr, "usage: facegate eval condition IMG CONDITION -o OUT.png [--seed N]\n"), EXIT_USAGE;
  const fg_condition *c = fg_condition_find(name);
  if (!c) return fprintf(stderr, "facegate eval condition: unknown condition '%s' (eval robustness --list)\n", name), EXIT_USAGE;
  fg_face_options o;
  fg_face_options_init(&o);
  o.models_dir = cli_models_dir(models);
  o.liveness = 0;
  fg_face_engine *fe = NULL;
  fg_face_result *r = malloc(sizeof *r);
  fg_image img = {0}, cimg = {0};
  fg_error e = {0};
  int rc = EXIT_FAIL;
  if (!r) goto done;
  if (fg_face_engine_create(&o, &fe, &e) || fg_image_decode_file(img_path, NULL, &img, &e) ||
      fg_face_process(fe, &img, r, &e)) {
    fprintf(stderr, "facegate eval condition: %s\n", cli_errmsg(&e));
    goto done;
  }
  if (r->status == FG_FACE_NO_FACE) {
    fprintf(stderr, "facegate eval condition: %s: no face to build the condition around\n", img_path);
    rc = EXIT_RETRY;
    goto done;
  }
  fg_condition_face f = {{r->box.x0, r->box.y0, r->box.x1, r->box.y1}, {0}};
  memcpy(f.points, r->points, sizeof f.points);
  if (fg_condition_apply(c, &img, &f, seed, &cimg, &e) || fg_image_write_png(out, &cimg, &e)) {
    fprintf(stderr, "facegate eval condition: %s\n", cli_errmsg(&e));
    goto done;
  }
  printf("%s: %s (%s), %dx%d -> %s\n", img_path, c->name, c->what, cimg.width, cimg.height, out);
  rc = EXIT_OK;
done:
  fg_image_release(&img);
  fg_image_release(&cimg);
  fg_face_engine_destroy(fe);
  free(r);
  return rc;
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f) {
  fprintf(f,
          "usage: facegate eval robustness LFWDIR [--set dev|lfw] [--conditions A,B,...] [--list]\n"
          "                                [--per-person N] [--people N] [--threads N]\n"
          "                                [--quality-min Q]\n"
          "                                [--model NAME] [--calibration FILE] [--write DIR] [--json]\n"
          "                                [--json-out FILE] [--models-dir DIR]\n"
          "\n"
          "The face pipeline under capture conditions derived from LFW (tight crops, grey,\n"
          "directional light, dark and over-exposed frames, backlight, small faces, JPEG):\n"
          "per condition, failure to acquire and its reasons, verification accuracy and TAR\n"
          "at FAR 1e-3 on the acquired, the actual FMR at the calibrated thresholds and\n"
          "rank-1 identification (docs/pipeline.md, \"Robustness\").\n"
          "\n"
          "  --set dev|lfw       dev (default): LFW's development subset (images pairs.txt\n"
          "                      never names; choose settings here); lfw: the protocol's\n"
          "                      7,701 images and 6,000 pairs (report only)\n"
          "  --conditions LIST   comma-separated condition names (default: all; --list)\n"
          "  --per-person N      dev: images per person (default 10)\n"
          "  --people N          dev: only the first N people (a quick look)\n"
          "  --threads N         worker threads, one face engine each (default 2)\n"
          "  --quality-min Q     the gate's quality minimum (default: the engine's)\n"
          "  --det-pad P, --light-norm A, --lm-light-norm A, --realign 0|1\n"
          "                      the engine's options of those names (default: the engine's)\n"
          "  --model NAME|FILE   recognition model descriptor (default $FACEGATE_MODEL or the\n"
          "                      built-in fr_feature; facegate models lists them)\n"
          "  --calibration FILE  thresholds (default: the model's own calibration file)\n"
          "  --per-image FILE    one TSV row per condition and image: status, reasons, the\n"
          "                      quality measurements (with the light factor and the product of\n"
          "                      the others), and the probe's genuine scores against\n"
          "                      the acquired references (mean, minimum, share >= the\n"
          "                      calibrated FMR 1e-3 threshold) and its highest impostor score\n"
          "  --write DIR         also write every condition image as DIR/<condition>/<name>/\n"
          "                      <name>_NNNN.png (for facegate embed / gallery)\n"
          "  --json, --json-out FILE   the results as JSON (stdout / a file)\n");
}

/* The conditions asked for, "none" first (always: the baseline). */
static int parse_conditions(const char *list, const fg_condition **out, size_t *n) {
  const fg_condition *all;
  size_t na = fg_conditions(&all);
  out[0] = &all[0];
  *n = 1;
  if (!list) {
    for (size_t i = 1; i < na && *n < 64; i++) out[(*n)++] = &all[i];
    return 0;
  }
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", list);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    const fg_condition *c = fg_condition_find(tok);
    if (!c) {
      fprintf(stderr, CMD ": unknown condition '%s' (--list shows them)\n", tok);
      return -1;
    }
    if (c != &all[0] && *n < 64) out[(*n)++] = c;
  }
  return 0;
}

int cmd_eval_robustness(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) return usage(stdout), EXIT_OK;
  const char *dir = NULL, *set_name = "dev", *cond_list = NULL, *cal_path = NULL;
  const char *models = NULL, *write_dir = NULL, *json_out = NULL, *model = NULL;
  int threads = 2, per = 10, json = 0, max_people = 0;
  float qmin = -1, det_pad = -1, light_norm = -1, lm_light_norm = -1, realign = -1;
  const char *per_image = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--set")) set_name = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--conditions")) cond_list = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--per-person")) per = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), "--per-person", 2, 1000);
    else if (!strcmp(a, "--people"))
      max_people = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), "--people", 1, 1000000);
    else if (!strcmp(a, "--threads")) threads = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), "--threads", 1, 64);
    else if (!strcmp(a, "--quality-min"))
      qmin = (float)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), "--quality-min", 0, 100);
    else if (!strcmp(a, "--det-pad")) det_pad = (float)atof(cli_arg_val(CMD, argc, argv, &i));
    else if (!strcmp(a, "--light-norm")) light_norm = (float)atof(cli_arg_val(CMD, argc, argv, &i));
    else if (!strcmp(a, "--lm-light-norm")) lm_light_norm = (float)atof(cli_arg_val(CMD, argc, argv, &i));
    else if (!strcmp(a, "--realign")) realign = (float)atof(cli_arg_val(CMD, argc, argv, &i));
    else if (!strcmp(a, "--per-image")) per_image = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--calibration")) cal_path = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--models-dir")) models = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--model")) model = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--write")) write_dir = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--json")) json = 1;
    else if (!strcmp(a, "--json-out")) json_out = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--list")) {
      const fg_condition *all;
      size_t na = fg_conditions(&all);
      for (size_t k = 0; k < na; k++) printf("%-15s %s\n", all[k].name, all[k].what);
      return EXIT_OK;
    } else if (a[0] == '-') {
      fprintf(stderr, CMD ": unknown option '%s'\n", a);
      return EXIT_USAGE;
    } else if (!dir) dir = a;
    else {
      fprintf(stderr, CMD ": unexpected argument '%s'\n", a);
      return EXIT_USAGE;
    }
  }
  if (!dir) return usage(stderr), EXIT_USAGE;
  int dev = !strcmp(set_name, "dev");
  if (!dev && strcmp(set_name, "lfw")) {
    fprintf(stderr, CMD ": --set is dev or lfw (got '%s')\n", set_name);
    return EXIT_USAGE;
  }
  const fg_condition *conds[64];
  size_t ncond;
  if (parse_conditions(cond_list, conds, &ncond)) return EXIT_USAGE;
  if (write_dir && mkdir(write_dir, 0777) && errno != EEXIST) {
    fprintf(stderr, CMD ": cannot create %s: %s\n", write_dir, strerror(errno));
    return EXIT_FAIL;
  }

  int rc = EXIT_FAIL;
  fg_error e = {0};
  char images_dir[4096], pairs_path[4096];
  snprintf(images_dir, sizeof images_dir, "%s/lfw-deepfunneled", dir);
  snprintf(pairs_path, sizeof pairs_path, "%s/pairs.txt", dir);
  fg_lfw_pairs pairs = {0};
  fg_lfw_images all = {0}, devset = {0};
  fg_face_engine *engines[64] = {0};
  stats *st = calloc(ncond, sizeof *st);
  uint32_t *ia = NULL, *ib = NULL;
  uint8_t *none_status = NULL;
  work w = {0};
  FILE *rows = NULL;
  fg_calibration cal;
  double thr[2];
  harsh_cal hc = {0, 0, {NAN, NAN, NAN}};
  score_pool pool = {0};
  uint8_t *harsh = NULL;
  if (!st) goto oom;
  /* The model's own calibration: its descriptor's, or the default model's. */
  char dcal[512];
  model = cli_model(model);
  if (cli_model_calibration(model, dcal, sizeof dcal, NULL, &e)) {
    fprintf(stderr, CMD ": %s\n", cli_errmsg(&e));
    goto out;
  }
  if (!cal_path) cal_path = dcal;
  if (fg_calibration_load(cal_path, &cal, &e) || fg_calibration_threshold(&cal, 1e-3, &thr[0], &e) ||
      fg_calibration_threshold(&cal, 1e-4, &thr[1], &e) ||
      fg_calibration_threshold_for(&cal, 1e-3, FG_TEMPLATE_CAPTURE_HARSH_LIGHT, FG_TEMPLATE_CAPTURE_HARSH_LIGHT,
                                   &hc.applied_1e3, &e)) {
    fprintf(stderr, CMD ": %s\n", cli_errmsg(&e));
    goto out;
  }
  if (fg_lfw_pairs_load(pairs_path, &pairs, &e)) {
    fprintf(stderr, CMD ": %s\n", cli_errmsg(&e));
    goto out;
  }
  const fg_lfw_images *set = &pairs.images;
  if (dev) {
    if (fg_lfw_images_scan(images_dir, &all, &e) || fg_lfw_devset(&all, &pairs, per, &devset, &e)) {
      fprintf(stderr, CMD ": %s\n", cli_errmsg(&e));
      goto out;
    }
    set = &devset;
    if (max_people > 0) {
      /* The first N people only (a quick look; figures are quoted on all). */
      size_t k = 0;
      while (k < devset.count && devset.images[k].identity < (uint32_t)max_people) k++;
      devset.count = k;
      if (devset.identities > (size_t)max_people) devset.identities = (size_t)max_people;
    }
  } else {
    ia = malloc(pairs.npairs * sizeof *ia);
    ib = malloc(pairs.npairs * sizeof *ib);
    if (!ia || !ib) goto oom;
    for (size_t k = 0; k < pairs.npairs; k++) ia[k] = pairs.pairs[k].a, ib[k] = pairs.pairs[k].b;
  }
  size_t n = set->count;
  fg_face_options o;
  fg_face_options_init(&o);
  o.models_dir = cli_models_dir(models);
  o.model = model;
  o.liveness = 0;
  if (qmin >= 0) o.quality_min = qmin;
  if (det_pad >= 0) o.det_pad = det_pad;
  if (light_norm >= 0) o.light_norm = light_norm;
  if (realign >= 0) o.realign = (int)realign;
  if (lm_light_norm >= 0) o.lm_light_norm = lm_light_norm;
  for (int t = 0; t < threads; t++)
    if (fg_face_engine_create(&o, &engines[t], &e)) {
      fprintf(stderr, CMD ": %s\n", cli_errmsg(&e));
      goto out;
    }
  w.set = set, w.images_dir = images_dir, w.engines = engines, w.dim = fg_face_engine_dim(engines[0]);
  w.write_dir = write_dir;
  w.face = calloc(n, sizeof *w.face);
  w.ref_emb = malloc(n * (size_t)w.dim * sizeof(float));
  w.ref_ok = calloc(n, 1);
  w.emb = malloc(n * (size_t)w.dim * sizeof(float));
  w.status = calloc(n, 1);
  w.reasons = calloc(n, sizeof *w.reasons);
  w.quality = calloc(n, sizeof *w.quality);
  none_status = calloc(n, 1);
  harsh = calloc(n, 1);
  if (!harsh) goto oom;
  if (!w.face || !w.ref_emb || !w.ref_ok || !w.emb || !w.status || !w.reasons || !w.quality || !none_status) goto oom;
  atomic_init(&w.next, 0);
  atomic_init(&w.failed, 0);
  pthread_mutex_init(&w.lock, NULL);
  if (per_image) {
    if (!(rows = fopen(per_image, "w"))) {
      fprintf(stderr, CMD ": cannot write %s\n", per_image);
      goto out_lock;
    }
    fprintf(rows, "condition\timage\tstatus\treasons\tscore\tied\tyaw\tpitch\troll\tsharpness\tbrightness"
                  "\tcontrast\tin_frame\tlm_inside\tcoverage\talign_error\tlight_uneven\tsurround\tfnorm\tdark_frac\tbright_frac\tshadow\tf_light\tf_other\tgenuine\tgen_mean\tgen_min\tgen_acc\timp_max\n");
  }
  double t0 = now_s();
  if (run_pass(&w, threads, "reference")) goto out_lock;
  /* "none" (unmodified) runs first, whatever was asked: +FTA is measured against it. */
  for (size_t c = 0; c < ncond; c++) {
    const fg_condition *cd = conds[c];
    stats *s = &st[c];
    w.cond = cd;
    if (run_pass(&w, threads, cd->name)) goto out_lock;
    if (c == 0) memcpy(none_status, w.status, n);
    s->name = cd->name;
    count_capture(&w, none_status, s);
    if (dev ? verify_dev(&w, thr, s) : verify_lfw(&w, &pairs, ia, ib, thr, s)) goto oom_lock;
    for (size_t i = 0; i < n; i++) harsh[i] = w.status[i] == ST_OK && fg_face_quality_harsh_light(&w.quality[i]);
    rank1(set, w.emb, w.dim, w.status, harsh, thr[0], hc.applied_1e3, s);
    if (harsh_pairs(&w, harsh, &pool, s)) goto oom_lock;
    if (rows) write_rows(rows, &w, thr[0]);
    if (!json)
      fprintf(stderr, "  %-15s FTA %.2f%%  acc %.2f%%  TAR@1e-3 %.2f%%  FMR@cal1e-3 %.2fx  rank-1 %.2f%%\n", cd->name,
              pc(s->no_face + s->low_quality, s->images), 100 * s->accuracy, 100 * s->tar_1e3, s->fmr_cal[0] / 1e-3,
              pc(s->rank1_hits, s->probes));
  }
  hc.pairs = pool.n;
  if (pool.n) {
    qsort(pool.v, pool.n, sizeof *pool.v, cmp_float_desc);
    for (int k = 0; k < 3; k++) hc.measured[k] = pool.n * HARSH_FMR[k] >= 10 ? thr_at(pool.v, pool.n, HARSH_FMR[k]) : NAN;
  }
  const char *label = dev ? "LFW development subset" : "LFW protocol images";
  if (json_out) {
    FILE *jf = fopen(json_out, "w");
    if (!jf) {
      fprintf(stderr, CMD ": cannot write %s\n", json_out);
      goto out_lock;
    }
    print_json(jf, set_name, n, set->identities, thr, &hc, st, ncond);
    fclose(jf);
  }
  if (json) print_json(stdout, set_name, n, set->identities, thr, &hc, st, ncond);
  else {
    print_table(label, n, set->identities, thr, &hc, st, ncond);
    printf("wall time %.0f s on %d threads\n", now_s() - t0, threads);
  }
  rc = EXIT_OK;
  goto out_lock;
oom_lock:
  fprintf(stderr, CMD ": out of memory\n");
out_lock:
  if (rows) fclose(rows);
  pthread_mutex_destroy(&w.lock);
  goto out;
oom:
  fprintf(stderr, CMD ": out of memory\n");
out:
  for (int t = 0; t < threads; t++) fg_face_engine_destroy(engines[t]);
  free(w.face), free(w.ref_emb), free(w.ref_ok), free(w.emb), free(w.status), free(w.reasons), free(w.quality);
  free(none_status), free(st), free(ia), free(ib), free(harsh), free(pool.v);
  fg_lfw_images_release(&all);
  fg_lfw_images_release(&devset);
  fg_lfw_pairs_release(&pairs);
  return rc;
}
