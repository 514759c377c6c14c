/*
 * `facegate eval identify DIR`: open-set 1:N identification on LFW following
 * NIST IR 8381's paperless-travel set-up, and the FPIR calibration that
 * `facegate gallery search --fpir` uses (--calibrate). docs/matching.md has
 * the protocol, the figures and the commands that reproduce them.
 *
 * Flights. Each of --flights simulated flights draws --gallery-size
 * travellers (default 420) from the LFW people with 2+ images. One image of
 * each traveller, drawn at random, is the probe at the gate (a mated search);
 * another is enrolled (setting "1 image"); where the traveller has a third,
 * it is enrolled too (setting "2 images", subject score = max over the two:
 * the gallery's max-fusion). As many non-mated searches as travellers use one
 * image each of people not on the flight (a random person, then a random image
 * of theirs). The same draws serve both settings, so they are compared pair by
 * pair. Search is the product's: an int8 gallery (--encoding), exact top 1.
 * Two images are enrolled both ways: as one template, their centroid
 * (fg_gallery_add_centroid, what facegate's workflows do), and as two
 * templates with max-fusion. Since only about half the travellers have a
 * third image, the three settings are repeated on flights drawn from the
 * people with 3+ images, where every traveller is enrolled with two.
 *
 * Metrics (ISO/IEC 19795-1, NIST IR 8381). FPIR(T): the share of non-mated
 * searches whose top score is >= T. FNIR(T): the share of mated searches whose
 * top candidate is not the traveller or scores < T. The threshold for a target
 * FPIR is set on all non-mated searches of all flights pooled (an operator
 * sets one threshold); FNIR is then measured per flight and reported as the
 * mean over flights with its spread. "All LFW": one gallery of every LFW
 * person (one image each); mated searches: another image of each person with
 * 2+ images; non-mated searches: one image of every person, searched with that
 * person left out of the ranking (the top candidate other than them).
 *
 * Embeddings: every LFW image through the face pipeline (N threads, one engine
 * each). Which face: LFW labels an image by the person at its centre, so the
 * detection nearest the image centre is used; with no detection, the pipeline
 * runs on a fixed centre box — the same rule and box as `facegate eval lfw`
 * (src/cli/cmd_eval.c), so --embeddings accepts that command's
 * --save-embeddings output (rows in sorted image order).
 *
 * Calibration (--calibrate OUT.json): for gallery sizes 50 .. 4000, random
 * galleries of that many LFW people (one image each, fp32) are searched with
 * images of people not enrolled until at least 60,000 non-mated searches per
 * size; the threshold for each target FPIR is the smallest score that at most
 * that share of the searches reach.
 */
#include <cairo.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "facegate/calibration.h"
#include "facegate/eval.h"
#include "facegate/face.h"
#include "facegate/gallery.h"
#include "facegate/image.h"
#include "facegate/nn.h"

enum { IMG_OK = 0, IMG_FALLBACK = 1, IMG_LOW_QUALITY = 2 };

static const char *arg_val(int argc, char **argv, int *i) { return cli_arg_val("facegate eval identify", argc, argv, i); }

static long parse_long(const char *s, const char *what, long lo, long hi) {
  return cli_parse_long("facegate eval identify", s, what, lo, hi);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------- random */

typedef struct rng {
  uint64_t s;
} rng;

static uint64_t rnext(rng *r) { /* splitmix64 */
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static uint32_t rbelow(rng *r, uint32_t n) { return (uint32_t)(((rnext(r) >> 32) * (uint64_t)n) >> 32); }
static void rshuffle(rng *r, uint32_t *a, size_t n) {
  for (size_t i = n; i > 1; i--) {
    uint32_t j = rbelow(r, (uint32_t)i), t = a[i - 1];
    a[i - 1] = a[j], a[j] = t;
  }
}

/* ---------------------------------------------------------------- data */

typedef struct lfw {
  fg_lfw_images set;
  char images_dir[4096];
  size_t n, ids;
  uint32_t *start, *count; /* per identity: first image index, number of images */
  int dim;
  float *emb;              /* n x dim */
  uint8_t *state;          /* IMG_* */
  uint8_t model[16];
  char model_sha[65];
} lfw;

/* Run the pipeline on one LFW image: the face nearest the centre, or the
 * fallback box. On success r holds the embedding and fe the aligned crop. */
static int embed_image(fg_face_engine *fe, const char *path, fg_face_detections *det, fg_face_result *r,
                       uint8_t *state, fg_error *e) {
  fg_image img = {0};
  int fb = 0;
  int rc = fg_image_decode_file(path, NULL, &img, e);
  if (!rc) rc = cli_lfw_centre_face(fe, &img, det, r, &fb, e);
  if (!rc) *state = fb ? IMG_FALLBACK : r->status == FG_FACE_LOW_QUALITY ? IMG_LOW_QUALITY : IMG_OK;
  fg_image_release(&img);
  return rc;
}

typedef struct embed_job {
  lfw *L;
  fg_face_engine **engines;
  atomic_size_t next;
  atomic_int failed;
  fg_error err;
  pthread_mutex_t lock;
  cli_progress *progress;
} embed_job;

typedef struct embed_arg {
  embed_job *j;
  int index;
} embed_arg;

static void *embed_worker(void *arg) {
  embed_arg *a = arg;
  embed_job *j = a->j;
  lfw *L = j->L;
  fg_face_result *r = malloc(sizeof *r);
  fg_face_detections *det = malloc(sizeof *det);
  char path[4096];
  fg_error e = {0};
  for (; r && det;) {
    size_t i = atomic_fetch_add(&j->next, 1);
    if (i >= L->n || atomic_load(&j->failed)) break;
    int rc = fg_lfw_image_path(L->images_dir, &L->set.images[i], path, sizeof path, &e);
    if (!rc) rc = embed_image(j->engines[a->index], path, det, r, &L->state[i], &e);
    if (!rc && r->dim != L->dim) rc = e.code = FG_ESHAPE, snprintf(e.msg, sizeof e.msg, "%.400s: bad dimension", path);
    if (rc) {
      pthread_mutex_lock(&j->lock);
      if (!atomic_exchange(&j->failed, 1)) j->err = e, j->err.code = rc;
      pthread_mutex_unlock(&j->lock);
      break;
    }
    memcpy(L->emb + i * (size_t)L->dim, r->embedding, (size_t)L->dim * sizeof(float));
    cli_progress_add(j->progress, 1);
  }
  free(r), free(det);
  return NULL;
}

static int make_engines(const fg_face_options *o, int n, fg_face_engine **fe, fg_error *e) {
  for (int t = 0; t < n; t++)
    if (fg_face_engine_create(o, &fe[t], e)) return e->code;
  return FG_OK;
}

static int embed_all(lfw *L, const fg_face_options *o, int threads, fg_error *e) {
  fg_face_engine *fe[64] = {0};
  int rc = make_engines(o, threads, fe, e);
  if (!rc) {
    L->dim = fg_face_engine_dim(fe[0]);
    snprintf(L->model_sha, sizeof L->model_sha, "%s", fg_face_engine_model_sha256(fe[0]));
    L->emb = malloc(L->n * (size_t)L->dim * sizeof *L->emb);
    if (!L->emb) rc = e->code = FG_ENOMEM;
  }
  if (!rc) {
    cli_progress prog;
    cli_progress_init(&prog, "embedding", "img", L->n);
    embed_job j = {.L = L, .engines = fe, .progress = &prog};
    pthread_mutex_init(&j.lock, NULL);
    pthread_t tid[64];
    embed_arg args[64];
    for (int t = 0; t < threads; t++) {
      args[t] = (embed_arg){&j, t};
      if (t) pthread_create(&tid[t], NULL, embed_worker, &args[t]);
    }
    embed_worker(&args[0]);
    for (int t = 1; t < threads; t++) pthread_join(tid[t], NULL);
    cli_progress_finish(&prog);
    pthread_mutex_destroy(&j.lock);
    if (atomic_load(&j.failed)) *e = j.err, rc = j.err.code ? j.err.code : FG_EIO;
  }
  for (int t = 0; t < threads; t++) fg_face_engine_destroy(fe[t]);
  return rc;
}

/* ---------------------------------------------------------------- experiments */

typedef struct outcome {
  float score;    /* top candidate's score */
  uint8_t hit;    /* mated: the top candidate is the traveller */
  uint32_t probe; /* image index of the probe */
  uint32_t mate;  /* mated: image index of the (first) enrolled image of the traveller */
  uint32_t top;   /* image index of the top candidate's template */
} outcome;

typedef struct setting {
  const char *name;
  size_t nm, nn;          /* mated and non-mated searches */
  outcome *mated, *non;
  size_t per_flight;      /* mated searches per flight (0: one gallery) */
  size_t enrolled_extra;  /* travellers enrolled with two images */
  /* results */
  double thr[2], fnir_mean[2], fnir_std[2], fnir_min[2], fnir_max[2], fpir_at[2];
  double rank1_miss;
  size_t miss_below[2], miss_outranked[2], miss_lowq[2]; /* misses: mate at rank 1 below T; outranked; with a
                                                            low-quality or undetected probe or enrolled image */
} setting;

static const double TARGETS[2] = {0.003, 0.01};

/* Thresholds with FPIR <= f come from fg_fpir_threshold_of (facegate/calibration.h):
 * the smallest float above the (k+1)-th highest non-mated score, k = floor(f * n). */

static void evaluate(setting *s, const uint8_t *state) {
  float *ns = malloc(s->nn * sizeof *ns);
  for (size_t i = 0; i < s->nn; i++) ns[i] = s->non[i].score;
  size_t miss1 = 0;
  for (size_t i = 0; i < s->nm; i++) miss1 += !s->mated[i].hit;
  s->rank1_miss = (double)miss1 / (double)s->nm;
  for (int t = 0; t < 2; t++) {
    double T = fg_fpir_threshold_of(ns, s->nn, TARGETS[t]);
    s->thr[t] = T;
    size_t fp = 0;
    for (size_t i = 0; i < s->nn; i++) fp += s->non[i].score >= T;
    s->fpir_at[t] = (double)fp / (double)s->nn;
    s->miss_below[t] = s->miss_outranked[t] = s->miss_lowq[t] = 0;
    for (size_t i = 0; i < s->nm; i++) {
      const outcome *o = &s->mated[i];
      if (o->hit && o->score >= T) continue;
      if (o->hit) s->miss_below[t]++;
      else s->miss_outranked[t]++;
      s->miss_lowq[t] += state[o->probe] != IMG_OK || state[o->mate] != IMG_OK;
    }
    size_t per = s->per_flight ? s->per_flight : s->nm, nf = s->nm / per;
    double sum = 0, sum2 = 0, mn = 1, mx = 0;
    for (size_t f = 0; f < nf; f++) {
      size_t miss = 0;
      for (size_t i = f * per; i < (f + 1) * per; i++) miss += !s->mated[i].hit || s->mated[i].score < T;
      double r = (double)miss / (double)per;
      sum += r, sum2 += r * r;
      mn = fmin(mn, r), mx = fmax(mx, r);
    }
    s->fnir_mean[t] = sum / (double)nf;
    s->fnir_std[t] = nf > 1 ? sqrt(fmax(0, (sum2 - sum * sum / (double)nf) / (double)(nf - 1))) : 0;
    s->fnir_min[t] = mn, s->fnir_max[t] = mx;
  }
  free(ns);
}

typedef struct run_cfg {
  const lfw *L;
  fg_encoding enc;
  size_t gallery_size, flights;
  uint64_t seed;
} run_cfg;

static int add_image(fg_gallery *g, const lfw *L, uint32_t img, fg_error *e) {
  return fg_gallery_add(g, L->set.images[img].name, L->emb + (size_t)img * (size_t)L->dim, (size_t)L->dim, NULL, e);
}

/* One search per probe image, top k; results in m (k per probe). */
static int search_images(const fg_gallery *g, const lfw *L, const uint32_t *imgs, size_t n, size_t k,
                         fg_match *m, size_t *cnt, float *buf, fg_error *e) {
  for (size_t i = 0; i < n; i++)
    memcpy(buf + i * (size_t)L->dim, L->emb + (size_t)imgs[i] * (size_t)L->dim, (size_t)L->dim * sizeof *buf);
  fg_search_opts o = {.threads = 1};
  return fg_gallery_search(g, buf, n, 0, k, &o, m, cnt, e);
}

/* Enrol two images of one traveller as their centroid (the product's way). */
static int add_centroid(fg_gallery *g, const lfw *L, uint32_t a, uint32_t b, fg_error *e) {
  size_t d = (size_t)L->dim;
  float *two = malloc(2 * d * sizeof *two);
  if (!two) return e->code = FG_ENOMEM;
  memcpy(two, L->emb + (size_t)a * d, d * sizeof *two);
  memcpy(two + d, L->emb + (size_t)b * d, d * sizeof *two);
  int rc = fg_gallery_add_centroid(g, L->set.images[a].name, two, 2, d, 0, NULL, e);
  free(two);
  return rc;
}

/* The flights, travellers drawn from the people with at least min_images
 * images: st[0] one image per traveller; st[1] a second where available,
 * enrolled as one centroid template; st[2] the same two as two templates
 * (max-fusion). */
static int run_flights(const run_cfg *c, uint32_t min_images, setting st[3], fg_error *e) {
  const lfw *L = c->L;
  size_t N = c->gallery_size, F = c->flights;
  uint32_t *p2 = malloc(L->ids * sizeof *p2), *others = malloc(L->ids * sizeof *others);
  uint8_t *on = calloc(L->ids, 1);
  uint32_t *probe = malloc(N * sizeof *probe), *non = malloc(N * sizeof *non);
  uint32_t (*enrol)[2] = malloc(N * sizeof *enrol);
  uint32_t *tmpl_img[3] = {malloc(2 * N * sizeof(uint32_t)), malloc(2 * N * sizeof(uint32_t)),
                           malloc(2 * N * sizeof(uint32_t))};
  float *buf = malloc(N * (size_t)L->dim * sizeof *buf);
  fg_match *m = malloc(N * sizeof *m);
  size_t *cnt = malloc(N * sizeof *cnt), np2 = 0;
  int rc = FG_OK;
  for (int s = 0; s < 3; s++) {
    st[s].nm = st[s].nn = F * N;
    st[s].per_flight = N;
    st[s].mated = malloc(F * N * sizeof *st[s].mated);
    st[s].non = malloc(F * N * sizeof *st[s].non);
    st[s].enrolled_extra = 0;
    if (!st[s].mated || !st[s].non) rc = FG_ENOMEM;
  }
  if (rc || !p2 || !others || !on || !probe || !non || !enrol || !tmpl_img[0] || !tmpl_img[1] || !tmpl_img[2] || !buf || !m || !cnt) {
    rc = e->code = FG_ENOMEM;
    snprintf(e->msg, sizeof e->msg, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < L->ids; i++)
    if (L->count[i] >= min_images) p2[np2++] = (uint32_t)i;
  if (np2 < N || L->ids - N < N) {
    rc = e->code = FG_EINVAL;
    snprintf(e->msg, sizeof e->msg,
             "gallery size %zu needs %zu people with %u+ images (LFW has %zu) and as many others", N, N, min_images,
             np2);
    goto out;
  }
  cli_progress prog;
  cli_progress_init(&prog, min_images > 2 ? "flights (3+ images)" : "flights", "flights", F);
  for (size_t f = 0; f < F && !rc; f++) {
    /* the 2+ draws are those of every earlier version; the 3+ flights draw their own */
    rng r = {c->seed * 0x100000001b3ull + f + (min_images > 2 ? 0x3000000000ull : 0)};
    /* travellers: the first N of a shuffled copy of p2 */
    uint32_t *tr = malloc(np2 * sizeof *tr);
    memcpy(tr, p2, np2 * sizeof *tr);
    for (size_t i = 0; i < N; i++) { /* partial Fisher-Yates */
      uint32_t j = (uint32_t)i + rbelow(&r, (uint32_t)(np2 - i)), t = tr[i];
      tr[i] = tr[j], tr[j] = t;
    }
    memset(on, 0, L->ids);
    for (size_t i = 0; i < N; i++) {
      uint32_t id = tr[i], c0 = L->count[id];
      on[id] = 1;
      uint32_t pick[3], perm[64];
      if (c0 <= 64) {
        for (uint32_t k = 0; k < c0; k++) perm[k] = k;
        rshuffle(&r, perm, c0);
        for (int k = 0; k < 3; k++) pick[k] = perm[k < (int)c0 ? k : 0];
      } else { /* large identities: three distinct draws */
        pick[0] = rbelow(&r, c0);
        do pick[1] = rbelow(&r, c0); while (pick[1] == pick[0]);
        do pick[2] = rbelow(&r, c0); while (pick[2] == pick[0] || pick[2] == pick[1]);
      }
      probe[i] = L->start[id] + pick[0];
      enrol[i][0] = L->start[id] + pick[1];
      enrol[i][1] = c0 >= 3 ? L->start[id] + pick[2] : UINT32_MAX;
    }
    /* non-mated: N distinct people not on the flight, a random image each */
    size_t no = 0;
    for (size_t i = 0; i < L->ids; i++)
      if (!on[i]) others[no++] = (uint32_t)i;
    for (size_t i = 0; i < N; i++) {
      uint32_t j = (uint32_t)i + rbelow(&r, (uint32_t)(no - i)), t = others[i];
      others[i] = others[j], others[j] = t;
      non[i] = L->start[others[i]] + rbelow(&r, L->count[others[i]]);
    }
    free(tr);
    for (int s = 0; s < 3 && !rc; s++) {
      fg_gallery *g = NULL;
      size_t nt = 0;
      rc = fg_gallery_create((uint32_t)L->dim, c->enc, L->model, &g, e);
      for (size_t i = 0; i < N && !rc; i++) {
        int two = s > 0 && enrol[i][1] != UINT32_MAX;
        rc = s == 1 && two ? add_centroid(g, L, enrol[i][0], enrol[i][1], e) : add_image(g, L, enrol[i][0], e);
        tmpl_img[s][nt++] = enrol[i][0];
        if (s == 1 && two) st[s].enrolled_extra++;
        if (!rc && s == 2 && two) {
          rc = add_image(g, L, enrol[i][1], e);
          tmpl_img[s][nt++] = enrol[i][1];
          st[s].enrolled_extra++;
        }
      }
      if (!rc) rc = search_images(g, L, probe, N, 1, m, cnt, buf, e);
      for (size_t i = 0; i < N && !rc; i++)
        st[s].mated[f * N + i] = (outcome){m[i].score, m[i].subject == i, probe[i], enrol[i][0],
                                           tmpl_img[s][m[i].template_index]};
      if (!rc) rc = search_images(g, L, non, N, 1, m, cnt, buf, e);
      for (size_t i = 0; i < N && !rc; i++)
        st[s].non[f * N + i] = (outcome){m[i].score, 0, non[i], UINT32_MAX, tmpl_img[s][m[i].template_index]};
      fg_gallery_destroy(g);
    }
    cli_progress_add(&prog, 1);
  }
  cli_progress_finish(&prog);
out:
  free(p2), free(others), free(on), free(probe), free(non), free(enrol);
  free(tmpl_img[0]), free(tmpl_img[1]), free(tmpl_img[2]);
  free(buf), free(m), free(cnt);
  return rc;
}

/* One gallery of every LFW person. */
static int run_all(const run_cfg *c, setting *s, fg_error *e) {
  const lfw *L = c->L;
  rng r = {c->seed ^ 0xa11a11a11ull};
  uint32_t *enr = malloc(L->ids * sizeof *enr), *prb = malloc(L->ids * sizeof *prb);
  uint32_t *mprobe = malloc(L->ids * sizeof *mprobe), *mid = malloc(L->ids * sizeof *mid);
  float *buf = malloc(L->ids * (size_t)L->dim * sizeof *buf);
  fg_match *m = malloc(2 * L->ids * sizeof *m);
  size_t *cnt = malloc(L->ids * sizeof *cnt), nm = 0;
  s->mated = malloc(L->ids * sizeof *s->mated);
  s->non = malloc(L->ids * sizeof *s->non);
  fg_gallery *g = NULL;
  int rc = FG_OK;
  if (!enr || !prb || !mprobe || !mid || !buf || !m || !cnt || !s->mated || !s->non) {
    rc = e->code = FG_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < L->ids; i++) {
    uint32_t c0 = L->count[i];
    uint32_t a = rbelow(&r, c0), b = a;
    if (c0 >= 2) do b = rbelow(&r, c0); while (b == a);
    enr[i] = L->start[i] + a;
    prb[i] = L->start[i] + b; /* = the enrolled image for one-image people */
    if (c0 >= 2) mprobe[nm] = prb[i], mid[nm++] = (uint32_t)i;
  }
  rc = fg_gallery_create((uint32_t)L->dim, c->enc, L->model, &g, e);
  for (size_t i = 0; i < L->ids && !rc; i++) rc = add_image(g, L, enr[i], e);
  if (!rc) rc = search_images(g, L, mprobe, nm, 1, m, cnt, buf, e);
  for (size_t i = 0; i < nm && !rc; i++)
    s->mated[i] = (outcome){m[i].score, m[i].subject == mid[i], mprobe[i], enr[mid[i]], enr[m[i].subject]};
  if (!rc) rc = search_images(g, L, prb, L->ids, 2, m, cnt, buf, e);
  for (size_t i = 0; i < L->ids && !rc; i++) { /* the best candidate other than the probe's own person */
    const fg_match *x = &m[2 * i];
    if (x->subject == i) x++;
    s->non[i] = (outcome){x->score, 0, prb[i], UINT32_MAX, enr[x->subject]};
  }
  s->nm = nm, s->nn = L->ids, s->per_flight = 0;
out:
  fg_gallery_destroy(g);
  free(enr), free(prb), free(mprobe), free(mid), free(buf), free(m), free(cnt);
  return rc;
}

/* ---------------------------------------------------------------- calibration */

static int calibrate(const lfw *L, uint64_t seed, const char *path, fg_error *e) {
  static const double sizes[] = {50, 100, 200, 420, 1000, 2000, 4000};
  static const double rates[] = {0.3, 0.1, 0.03, 0.01, 0.003, 0.001};
  enum { NS = sizeof sizes / sizeof sizes[0], NR = sizeof rates / sizeof rates[0] };
  const size_t want = 60000;
  fg_fpir_calibration cal = {.n_sizes = NS, .n_fpir = NR};
  snprintf(cal.model_sha256, sizeof cal.model_sha256, "%s", L->model_sha);
  for (int si = 0; si < NS; si++) cal.size[si] = sizes[si];
  for (int ri = 0; ri < NR; ri++) cal.fpir[ri] = rates[ri];
  size_t searches[NS];
  uint32_t *ids = malloc(L->ids * sizeof *ids), *probe = malloc(L->ids * sizeof *probe);
  float *buf = malloc(L->ids * (size_t)L->dim * sizeof *buf), *all = malloc((want + L->ids) * sizeof *all);
  fg_match *m = malloc(L->ids * sizeof *m);
  size_t *cnt = malloc(L->ids * sizeof *cnt);
  int rc = FG_OK;
  if (!ids || !probe || !buf || !all || !m || !cnt) {
    rc = e->code = FG_ENOMEM;
    goto out;
  }
  cli_progress prog;
  cli_progress_init(&prog, "calibrating", "sizes", NS);
  for (int si = 0; si < NS && !rc; si++) {
    size_t N = (size_t)sizes[si], got = 0;
    rng r = {seed * 31 + N};
    for (int trial = 0; got < want && !rc; trial++) {
      for (size_t i = 0; i < L->ids; i++) ids[i] = (uint32_t)i;
      rshuffle(&r, ids, L->ids);
      fg_gallery *g = NULL;
      rc = fg_gallery_create((uint32_t)L->dim, FG_ENCODING_FP32, L->model, &g, e);
      for (size_t i = 0; i < N && !rc; i++)
        rc = add_image(g, L, L->start[ids[i]] + rbelow(&r, L->count[ids[i]]), e);
      size_t np = L->ids - N;
      for (size_t i = 0; i < np; i++) probe[i] = L->start[ids[N + i]] + rbelow(&r, L->count[ids[N + i]]);
      if (!rc) rc = search_images(g, L, probe, np, 1, m, cnt, buf, e);
      for (size_t i = 0; i < np && !rc; i++) all[got++] = m[i].score;
      fg_gallery_destroy(g);
    }
    for (int ri = 0; ri < NR; ri++) cal.threshold[si][ri] = fg_fpir_threshold_of(all, got, rates[ri]);
    searches[si] = got;
    cli_progress_add(&prog, 1);
  }
  cli_progress_finish(&prog);
  if (rc) goto out;
  char method[512];
  snprintf(method, sizeof method,
           "LFW (%zu images, %zu people), every image through the face pipeline (face nearest the "
           "centre); for each gallery size, random galleries of that many people with one image each "
           "(fp32) searched with one image of each person not enrolled, until >= %zu non-mated "
           "searches; threshold = smallest score reached by at most FPIR of them (facegate eval "
           "identify --calibrate, seed %llu)",
           L->n, L->ids, want, (unsigned long long)seed);
  rc = fg_fpir_calibration_write(path, &cal, method, searches, e);
out:
  free(ids), free(probe), free(buf), free(all), free(m), free(cnt);
  return rc;
}

/* ---------------------------------------------------------------- plots */

/* FNIR against FPIR, log axes: one curve per setting. */
static int plot_curves(const char *path, setting *const *s, int ns, size_t gallery_size, fg_error *e) {
  const int W = 900, H = 640, X0 = 90, Y0 = 40, X1 = W - 30, Y1 = H - 70;
  const double fx0 = -4, fx1 = 0, fy0 = -3, fy1 = 0; /* log10 ranges */
  int svg = strlen(path) > 4 && !strcmp(path + strlen(path) - 4, ".svg");
  cairo_surface_t *sf = svg ? NULL : cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  if (svg) {
    e->code = FG_EUNSUPPORTED;
    snprintf(e->msg, sizeof e->msg, "write the plot as .png");
    return FG_EUNSUPPORTED;
  }
  cairo_t *cr = cairo_create(sf);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_line_width(cr, 1);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 12);
#define PX(v) (X0 + ((v) - fx0) / (fx1 - fx0) * (X1 - X0))
#define PY(v) (Y1 - ((v) - fy0) / (fy1 - fy0) * (Y1 - Y0))
  for (int d = (int)fx0; d <= (int)fx1; d++) { /* grid and labels */
    for (int k = 1; k <= 9 && d + log10(k) <= fx1; k++) {
      double x = PX(d + log10(k));
      cairo_set_source_rgb(cr, k == 1 ? 0.75 : 0.92, k == 1 ? 0.75 : 0.92, k == 1 ? 0.75 : 0.92);
      cairo_move_to(cr, x, Y0), cairo_line_to(cr, x, Y1), cairo_stroke(cr);
    }
    char t[16];
    snprintf(t, sizeof t, "1e%d", d);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, PX(d) - 14, Y1 + 18), cairo_show_text(cr, t);
  }
  for (int d = (int)fy0; d <= (int)fy1; d++) {
    for (int k = 1; k <= 9 && d + log10(k) <= fy1; k++) {
      double y = PY(d + log10(k));
      cairo_set_source_rgb(cr, k == 1 ? 0.75 : 0.92, k == 1 ? 0.75 : 0.92, k == 1 ? 0.75 : 0.92);
      cairo_move_to(cr, X0, y), cairo_line_to(cr, X1, y), cairo_stroke(cr);
    }
    char t[16];
    snprintf(t, sizeof t, "1e%d", d);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, X0 - 40, PY(d) + 4), cairo_show_text(cr, t);
  }
  for (int t = 0; t < 2; t++) { /* the reported operating points */
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    double dash[] = {4, 4};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_move_to(cr, PX(log10(TARGETS[t])), Y0), cairo_line_to(cr, PX(log10(TARGETS[t])), Y1), cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, X0, Y0, X1 - X0, Y1 - Y0), cairo_stroke(cr);
  cairo_set_font_size(cr, 14);
  cairo_move_to(cr, (X0 + X1) / 2 - 150, H - 25);
  cairo_show_text(cr, "False positive identification rate (FPIR)");
  cairo_save(cr);
  cairo_move_to(cr, 25, (Y0 + Y1) / 2 + 130), cairo_rotate(cr, -M_PI / 2);
  cairo_show_text(cr, "False negative identification rate (FNIR)");
  cairo_restore(cr);
  char title[160];
  snprintf(title, sizeof title, "Open-set identification on LFW: flights of %zu travellers (NIST IR 8381 set-up)",
           gallery_size);
  cairo_move_to(cr, X0, 25), cairo_show_text(cr, title);
  static const double col[7][3] = {{0.80, 0.15, 0.10}, {0.10, 0.35, 0.80}, {0.45, 0.65, 0.95},
                                   {0.85, 0.55, 0.10}, {0.50, 0.15, 0.65}, {0.75, 0.55, 0.85},
                                   {0.15, 0.60, 0.20}};
  cairo_set_line_width(cr, 2);
  for (int k = 0; k < ns; k++) {
    const setting *S = s[k];
    float *nsr = malloc(S->nn * sizeof *nsr);
    for (size_t i = 0; i < S->nn; i++) nsr[i] = S->non[i].score;
    cairo_set_source_rgb(cr, col[k % 7][0], col[k % 7][1], col[k % 7][2]);
    int started = 0;
    for (double lf = fx0; lf <= fx1 + 1e-9; lf += 0.02) {
      double f = pow(10, lf), T = fg_fpir_threshold_of(nsr, S->nn, f);
      if (f * (double)S->nn < 1) continue; /* below one false positive: not measured */
      size_t miss = 0;
      for (size_t i = 0; i < S->nm; i++) miss += !S->mated[i].hit || S->mated[i].score < T;
      double fn = (double)miss / (double)S->nm, ly = log10(fmax(fn, pow(10, fy0)));
      if (!started) cairo_move_to(cr, PX(lf), PY(ly)), started = 1;
      else cairo_line_to(cr, PX(lf), PY(ly));
    }
    cairo_stroke(cr);
    cairo_move_to(cr, X1 - 300, Y0 + 22 + 20 * k), cairo_line_to(cr, X1 - 270, Y0 + 22 + 20 * k), cairo_stroke(cr);
    cairo_set_font_size(cr, 13);
    cairo_move_to(cr, X1 - 262, Y0 + 26 + 20 * k), cairo_show_text(cr, S->name);
    free(nsr);
  }
#undef PX
#undef PY
  cairo_destroy(cr);
  cairo_status_t cs = cairo_surface_write_to_png(sf, path);
  cairo_surface_destroy(sf);
  if (cs != CAIRO_STATUS_SUCCESS) {
    e->code = FG_EIO;
    snprintf(e->msg, sizeof e->msg, "cannot write %s: %s", path, cairo_status_to_string(cs));
    return FG_EIO;
  }
  return FG_OK;
}

/* Draw an RGB image at (x, y) scaled to side px. */
static void draw_rgb(cairo_t *cr, const fg_image *im, double x, double y, double side) {
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, im->width, im->height);
  unsigned char *d = cairo_image_surface_get_data(s);
  int stride = cairo_image_surface_get_stride(s);
  cairo_surface_flush(s);
  for (int r = 0; r < im->height; r++)
    for (int c = 0; c < im->width; c++) {
      const uint8_t *p = im->data + ((size_t)r * (size_t)im->width + (size_t)c) * (size_t)im->channels;
      uint32_t v = im->channels == 3 ? (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]
                                     : (uint32_t)p[0] * 0x010101u;
      memcpy(d + (size_t)r * (size_t)stride + 4 * (size_t)c, &v, 4);
    }
  cairo_surface_mark_dirty(s);
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_scale(cr, side / im->width, side / im->height);
  cairo_set_source_surface(cr, s, 0, 0);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(s);
}

/* Aligned crop of one LFW image (the pipeline re-run on it). */
static int aligned_of(fg_face_engine *fe, const lfw *L, uint32_t img, fg_face_detections *det, fg_face_result *r,
                      fg_image *out, fg_error *e) {
  char path[4096];
  uint8_t st;
  int rc = fg_lfw_image_path(L->images_dir, &L->set.images[img], path, sizeof path, e);
  if (!rc) rc = embed_image(fe, path, det, r, &st, e);
  const fg_image *a = rc ? NULL : fg_face_engine_aligned(fe);
  if (!a) return rc ? rc : FG_ENOTFOUND;
  out->width = a->width, out->height = a->height, out->channels = a->channels;
  size_t n = (size_t)a->width * (size_t)a->height * (size_t)a->channels;
  out->data = malloc(n);
  if (!out->data) return FG_ENOMEM;
  memcpy(out->data, a->data, n);
  return FG_OK;
}

/* Failure cases of setting s at threshold T: probe | enrolled image of the
 * traveller | the wrong top candidate (if one outranked the traveller). */
static int plot_failures(const char *path, const lfw *L, const setting *s, double T, const char *models_dir,
                         size_t *shown, fg_error *e) {
  enum { MAXROWS = 24, SIDE = 140, PAD = 12, TEXTW = 420 };
  size_t idx[MAXROWS], n = 0;
  for (size_t i = 0; i < s->nm && n < MAXROWS; i++) {
    const outcome *o = &s->mated[i];
    if (o->hit && o->score >= T) continue;
    int dup = 0;
    for (size_t k = 0; k < n; k++) dup |= s->mated[idx[k]].probe == o->probe;
    if (!dup) idx[n++] = i;
  }
  *shown = n;
  if (!n) return FG_OK;
  fg_face_engine *fe = NULL;
  fg_face_options o;
  fg_face_options_init(&o);
  o.models_dir = models_dir;
  o.model = cli_model(NULL);
  if (make_engines(&o, 1, &fe, e)) return e->code;
  fg_face_result *r = malloc(sizeof *r);
  fg_face_detections *det = malloc(sizeof *det);
  int W = 3 * (SIDE + PAD) + TEXTW, H = (int)n * (SIDE + PAD) + 50;
  cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create(sf);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_font_size(cr, 14);
  char t[512];
  snprintf(t, sizeof t, "%s: missed mated searches at FPIR 0.003 (threshold %.3f); aligned faces", s->name, T);
  cairo_move_to(cr, PAD, 22), cairo_show_text(cr, t);
  cairo_set_font_size(cr, 12);
  cairo_move_to(cr, PAD, 42), cairo_show_text(cr, "probe (gate)          enrolled (traveller)      top candidate (if wrong)");
  int rc = FG_OK;
  for (size_t k = 0; k < n && !rc && r && det; k++) {
    const outcome *o = &s->mated[idx[k]];
    double y = 50 + (double)k * (SIDE + PAD);
    uint32_t imgs[3] = {o->probe, o->mate, o->hit ? UINT32_MAX : o->top};
    for (int c = 0; c < 3; c++) {
      if (imgs[c] == UINT32_MAX) continue;
      fg_image a = {0};
      fg_error ie = {0};
      if (aligned_of(fe, L, imgs[c], det, r, &a, &ie) == FG_OK) draw_rgb(cr, &a, PAD + c * (SIDE + PAD), y, SIDE);
      free(a.data);
    }
    const fg_lfw_image *pi = &L->set.images[o->probe], *ti = &L->set.images[o->top];
    cairo_set_source_rgb(cr, 0, 0, 0);
    double tx = 3 * (SIDE + PAD) + PAD;
    snprintf(t, sizeof t, "%s_%04d", pi->name, pi->number);
    cairo_move_to(cr, tx, y + 18), cairo_show_text(cr, t);
    if (o->hit) snprintf(t, sizeof t, "rank 1, score %.3f < threshold %.3f", o->score, T);
    else snprintf(t, sizeof t, "outranked: %s_%04d scored %.3f", ti->name, ti->number, o->score);
    cairo_move_to(cr, tx, y + 38), cairo_show_text(cr, t);
    uint8_t st[3] = {L->state[o->probe], L->state[o->mate], o->hit ? 0 : L->state[o->top]};
    static const char *sn[3] = {"", "no face detected: centre box", "low quality"};
    for (int c = 0; c < 3; c++)
      if (st[c]) {
        snprintf(t, sizeof t, "%s: %s", c == 0 ? "probe" : c == 1 ? "enrolled" : "candidate", sn[st[c]]);
        cairo_move_to(cr, tx, y + 58 + 18 * c), cairo_show_text(cr, t);
      }
  }
  if (!r || !det) rc = e->code = FG_ENOMEM;
  cairo_destroy(cr);
  if (!rc && cairo_surface_write_to_png(sf, path) != CAIRO_STATUS_SUCCESS) {
    rc = e->code = FG_EIO;
    snprintf(e->msg, sizeof e->msg, "cannot write %s", path);
  }
  cairo_surface_destroy(sf);
  free(r), free(det);
  fg_face_engine_destroy(fe);
  return rc;
}

/* ---------------------------------------------------------------- groups */

/* Error rates per group (--labels): for the flights with one image per
 * traveller, FNIR of the mated searches by the traveller's group and FPIR of
 * the non-mated searches by the searching person's group, at the two
 * thresholds, pooled over flights, with 95% Wilson intervals. A group of
 * fewer than min people is withheld (fg_groups_withhold). */
typedef struct group_acc {
  const char *name;
  int64_t people;
  size_t mated, miss[2], non, fp[2];
} group_acc;

static json_t *rate_json(size_t k, size_t n) {
  double lo, hi;
  fg_wilson95((int64_t)k, (int64_t)n, &lo, &hi);
  return json_pack("{s:o, s:I, s:I, s:o}", "value", n ? json_real((double)k / (double)n) : json_null(),
                   "numerator", (json_int_t)k, "denominator", (json_int_t)n, "ci95",
                   n ? json_pack("[f, f]", lo, hi) : json_null());
}

static const char *label_of(const fg_group_labels *l, const char *name, int dim) {
  const char *v = fg_group_labels_get(l, name, dim);
  return v && *v ? v : "unknown";
}

static json_t *group_dim(const lfw *L, const setting *s, const fg_group_labels *labels, int dim, long min) {
  group_acc *g = calloc(L->ids + 1, sizeof *g);
  uint32_t *gid = malloc((L->ids + 1) * sizeof *gid);
  uint8_t *seen = calloc(L->ids + 1, 1), *shown = malloc(L->ids + 1);
  int64_t *members = malloc((L->ids + 1) * sizeof *members);
  json_t *arr = json_array(), *out = NULL;
  size_t ng = 0;
  if (!g || !gid || !seen || !shown || !members || !arr) goto done;
  for (size_t i = 0; i < L->ids; i++) {
    const char *name = label_of(labels, L->set.images[L->start[i]].name, dim);
    size_t k = 0;
    while (k < ng && strcmp(g[k].name, name)) k++;
    if (k == ng) g[ng++].name = name;
    gid[i] = (uint32_t)k;
  }
  for (size_t i = 0; i < s->nm; i++) {
    uint32_t id = L->set.images[s->mated[i].probe].identity;
    group_acc *a = &g[gid[id]];
    a->mated++;
    for (int t = 0; t < 2; t++) a->miss[t] += !s->mated[i].hit || s->mated[i].score < s->thr[t];
    if (!seen[id]) seen[id] = 1, a->people++;
  }
  for (size_t i = 0; i < s->nn; i++) {
    uint32_t id = L->set.images[s->non[i].probe].identity;
    group_acc *a = &g[gid[id]];
    a->non++;
    for (int t = 0; t < 2; t++) a->fp[t] += s->non[i].score >= s->thr[t];
    if (!seen[id]) seen[id] = 1, a->people++;
  }
  for (size_t k = 0; k < ng; k++) members[k] = g[k].people;
  size_t withheld = fg_groups_withhold(members, ng, min, shown);
  for (size_t k = 0; k < ng; k++) {
    if (!shown[k] || !g[k].people) continue;
    json_t *r = json_pack("{s:s, s:I, s:I, s:I}", "group", g[k].name, "people", (json_int_t)g[k].people,
                          "mated_searches", (json_int_t)g[k].mated, "non_mated_searches", (json_int_t)g[k].non);
    for (int t = 0; r && t < 2; t++) {
      char key[40];
      snprintf(key, sizeof key, "fnir_at_fpir_%g", TARGETS[t]);
      json_object_set_new(r, key, rate_json(g[k].miss[t], g[k].mated));
      snprintf(key, sizeof key, "fpir_at_fpir_%g", TARGETS[t]);
      json_object_set_new(r, key, rate_json(g[k].fp[t], g[k].non));
    }
    if (!r || json_array_append_new(arr, r)) goto done;
  }
  out = json_pack("{s:O, s:I}", "groups", arr, "withheld_groups", (json_int_t)withheld);
done:
  json_decref(arr);
  free(g), free(gid), free(seen), free(shown), free(members);
  return out;
}

static json_t *group_rates(const lfw *L, const setting *s, const fg_group_labels *labels, long min) {
  static const char *const dims[FG_LABEL_DIMS] = {"sex", "age_band", "region"};
  size_t unlabelled = 0;
  for (size_t i = 0; i < L->ids; i++)
    unlabelled += !fg_group_labels_get(labels, L->set.images[L->start[i]].name, 0);
  json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:s}", "setting", "one_image", "min_people", (json_int_t)min,
                        "labelled_people", (json_int_t)(L->ids - unlabelled), "unlabelled_people",
                        (json_int_t)unlabelled, "interval", "wilson95 (searches counted as independent)");
  for (int d = 0; o && d < FG_LABEL_DIMS; d++) {
    json_t *dj = group_dim(L, s, labels, d, min);
    if (!dj || json_object_set_new(o, dims[d], dj)) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

static void ci_text(const json_t *r, char *buf, size_t cap) {
  const json_t *ci = json_object_get(r, "ci95");
  if (!json_is_array(ci)) snprintf(buf, cap, "-");
  else
    snprintf(buf, cap, "%.2f%% [%.2f-%.2f]", 100 * json_number_value(json_object_get(r, "value")),
             100 * json_number_value(json_array_get(ci, 0)), 100 * json_number_value(json_array_get(ci, 1)));
}

static void print_groups(const json_t *o) {
  static const char *const dims[FG_LABEL_DIMS] = {"sex", "age_band", "region"};
  printf("\nerror rates per group (--labels; flights with 1 image per traveller; 95%% Wilson intervals, which\n"
         "count searches as independent although a person recurs across flights; groups of fewer than %lld\n"
         "people withheld; %lld people labelled, %lld not, counted as unknown):\n",
         (long long)json_integer_value(json_object_get(o, "min_people")),
         (long long)json_integer_value(json_object_get(o, "labelled_people")),
         (long long)json_integer_value(json_object_get(o, "unlabelled_people")));
  for (int d = 0; d < FG_LABEL_DIMS; d++) {
    const json_t *dj = json_object_get(o, dims[d]), *row;
    printf("  by %-14s %7s %8s  %-24s %-24s %-24s\n", dims[d], "people", "mated", "FNIR @ FPIR 0.003",
           "FNIR @ FPIR 0.01", "FPIR @ FPIR 0.003");
    size_t i;
    json_array_foreach(json_object_get(dj, "groups"), i, row) {
      char a[64], b[64], c[64];
      ci_text(json_object_get(row, "fnir_at_fpir_0.003"), a, sizeof a);
      ci_text(json_object_get(row, "fnir_at_fpir_0.01"), b, sizeof b);
      ci_text(json_object_get(row, "fpir_at_fpir_0.003"), c, sizeof c);
      printf("  %-17s %7lld %8lld  %-24s %-24s %-24s\n", json_string_value(json_object_get(row, "group")),
             (long long)json_integer_value(json_object_get(row, "people")),
             (long long)json_integer_value(json_object_get(row, "mated_searches")), a, b, c);
    }
    long long w = (long long)json_integer_value(json_object_get(dj, "withheld_groups"));
    if (w) printf("  (%lld group%s withheld: too few people)\n", w, w == 1 ? "" : "s");
  }
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f) {
  fprintf(f,
          "usage: facegate eval identify DIR [--gallery-size 420] [--flights 200] [--seed 1]\n"
          "                                  [--encoding int8|fp16|fp32] [--threads 2]\n"
          "                                  [--embeddings F.npy] [--save-embeddings F.npy] [--flip]\n"
          "                                  [--plot FILE.png] [--failures FILE.png]\n"
          "                                  [--calibrate OUT.json] [--json] [--models-dir DIR]\n"
          "                                  [--model NAME|FILE]  (recognition model descriptor;\n"
          "                                  default $FACEGATE_MODEL or fr_feature)\n"
          "                                  [--precision P] [--backend B] [--ranges-dir DIR]\n"
          "                                  [--labels FILE.csv [--min-group 20]]\n"
          "\n"
          "Open-set 1:N identification on LFW (DIR holds lfw-deepfunneled/), following NIST\n"
          "IR 8381's paperless-travel set-up: each simulated flight enrols one image of\n"
          "--gallery-size travellers drawn from people with 2+ images; mated searches use\n"
          "another image of each traveller, non-mated searches images of people not on the\n"
          "flight. Reports FNIR at FPIR = 0.003 and 0.01 (threshold set on all non-mated\n"
          "searches; FNIR mean over flights and its spread); the same with two enrolment\n"
          "images per traveller where available, enrolled as their centroid (the\n"
          "product's way) and as two templates (max-fusion); the same three for flights of\n"
          "people with 3+ images (two enrolment images for every traveller); and for one\n"
          "gallery of every LFW person.\n"
          "\n"
          "  --embeddings F      use embeddings of every LFW image (rows in sorted image\n"
          "                      order, e.g. from `facegate eval lfw --calibrate\n"
          "                      --save-embeddings F`) instead of running the pipeline\n"
          "  --save-embeddings F write the embeddings computed here\n"
          "  --flip              add each face's mirrored crop to its embedding (test-time\n"
          "                      augmentation, as `facegate eval lfw --flip`)\n"
          "  --plot FILE.png     FNIR against FPIR for every setting\n"
          "  --failures FILE.png missed mated searches at FPIR 0.003 (one image per\n"
          "                      traveller) as aligned faces: probe, enrolled, wrong top\n"
          "  --calibrate OUT     write the FPIR calibration `gallery search --fpir` reads\n"
          "                      (thresholds for gallery sizes 50..4000 from >= 60,000\n"
          "                      non-mated searches each)\n"
          "  --labels FILE.csv   group labels of the identities (identity,sex,age_band,region;\n"
          "                      docs/matching.md): FNIR and FPIR per group, with 95%%\n"
          "                      Wilson intervals, for the flights with one image per traveller\n"
          "  --min-group N       withhold groups of fewer than N people (default 20)\n"
          "  --json              print {\"fnir_at_fpir_0.003\": ..., \"fnir_at_fpir_0.01\": ...,\n"
          "                      \"flights\": ..., \"gallery_size\": ..., ...}\n");
}

static void print_setting_json(FILE *f, const setting *s) {
  fprintf(f, "{\"mated_searches\": %zu, \"non_mated_searches\": %zu, \"rank1_miss_rate\": %.6f", s->nm, s->nn,
          s->rank1_miss);
  for (int t = 0; t < 2; t++)
    fprintf(f, ", \"fnir_at_fpir_%g\": %.6f, \"fnir_std_%g\": %.6f, \"fnir_min_%g\": %.6f, \"fnir_max_%g\": %.6f, "
               "\"threshold_%g\": %.6f, \"fpir_reached_%g\": %.6f",
            TARGETS[t], s->fnir_mean[t], TARGETS[t], s->fnir_std[t], TARGETS[t], s->fnir_min[t], TARGETS[t],
            s->fnir_max[t], TARGETS[t], s->thr[t], TARGETS[t], s->fpir_at[t]);
  for (int t = 0; t < 2; t++)
    fprintf(f, ", \"misses_%g\": {\"mate_rank1_below_threshold\": %zu, \"outranked\": %zu, "
               "\"low_quality_or_undetected_image\": %zu}",
            TARGETS[t], s->miss_below[t], s->miss_outranked[t], s->miss_lowq[t]);
  fprintf(f, "}");
}

int cmd_eval_identify(int argc, char **argv) {
  const char *dir = NULL, *emb_in = NULL, *emb_out = NULL, *plot = NULL, *fails = NULL, *calib = NULL,
             *models_dir = NULL, *ranges_dir = NULL, *labels_path = NULL;
  int precision[FG_FACE_MODELS] = {-1, -1, -1, -1}, backend = -1;
  long N = 420, F = 200, threads = 2, seed = 1, min_group = 20;
  int json = 0, flip = 0;
  fg_encoding enc = FG_ENCODING_INT8;
  if (cli_wants_help(argc, argv)) {
    usage(stdout);
    return EXIT_OK;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--gallery-size")) N = parse_long(arg_val(argc, argv, &i), "--gallery-size", 2, 100000);
    else if (!strcmp(a, "--flights")) F = parse_long(arg_val(argc, argv, &i), "--flights", 1, 100000);
    else if (!strcmp(a, "--seed")) seed = parse_long(arg_val(argc, argv, &i), "--seed", 0, 1L << 40);
    else if (!strcmp(a, "--threads")) threads = parse_long(arg_val(argc, argv, &i), "--threads", 1, 64);
    else if (!strcmp(a, "--encoding")) {
      const char *v = arg_val(argc, argv, &i);
      if (fg_encoding_parse(v, &enc)) {
        fprintf(stderr, "facegate eval identify: --encoding must be int8, fp16 or fp32\n");
        return EXIT_USAGE;
      }
    } else if (!strcmp(a, "--embeddings")) emb_in = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--save-embeddings")) emb_out = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--plot")) plot = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--failures")) fails = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--calibrate")) calib = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--models-dir")) models_dir = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--model")) setenv("FACEGATE_MODEL", arg_val(argc, argv, &i), 1); /* read by cli_model */
    else if (!strcmp(a, "--labels")) labels_path = arg_val(argc, argv, &i);
    else if (!strcmp(a, "--min-group")) min_group = parse_long(arg_val(argc, argv, &i), "--min-group", 1, 1000000);
    else if (!strcmp(a, "--json")) json = 1;
    else if (!strcmp(a, "--flip")) flip = 1;
    else if (!strcmp(a, "--precision")) {
      if (cli_parse_precision(arg_val(argc, argv, &i), precision)) {
        fprintf(stderr, "facegate eval identify: --precision takes fp32, bf16, int8 or det=P,lm=P,feat=P,live=P\n");
        return EXIT_USAGE;
      }
    } else if (!strcmp(a, "--backend")) {
      if (cli_parse_backend(arg_val(argc, argv, &i), &backend)) {
        fprintf(stderr, "facegate eval identify: --backend takes onednn or xnnpack\n");
        return EXIT_USAGE;
      }
    } else if (!strcmp(a, "--ranges-dir")) ranges_dir = arg_val(argc, argv, &i);
    else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "facegate eval identify: unknown option '%s'\n", a);
      return EXIT_USAGE;
    } else if (!dir) dir = a;
    else {
      fprintf(stderr, "facegate eval identify: unexpected argument '%s'\n", a);
      return EXIT_USAGE;
    }
  }
  if (!dir) {
    usage(stderr);
    return EXIT_USAGE;
  }
  models_dir = cli_models_dir(models_dir);
  double t0 = now_s();
  lfw L;
  memset(&L, 0, sizeof L);
  fg_error e = {0};
  int code = EXIT_OK;
  fg_group_labels *labels = NULL;
  json_t *groups = NULL;
  enum { NSET = 7, ALL = 6 };
  setting st[NSET] = {{.name = "1 image per traveller"},
                      {.name = "2 images where available, centroid"},
                      {.name = "2 images where available, max-fusion"},
                      {.name = "3+ people: 1 image per traveller"},
                      {.name = "3+ people: 2 images each, centroid"},
                      {.name = "3+ people: 2 images each, max-fusion"},
                      {.name = "all LFW people, 1 image each"}};
  if (labels_path && fg_group_labels_load(labels_path, &labels, &e)) goto fail;
  snprintf(L.images_dir, sizeof L.images_dir, "%s/lfw-deepfunneled", dir);
  if (fg_lfw_images_scan(L.images_dir, &L.set, &e)) goto fail;
  L.n = L.set.count, L.ids = L.set.identities;
  L.start = calloc(L.ids, sizeof *L.start), L.count = calloc(L.ids, sizeof *L.count);
  L.state = calloc(L.n ? L.n : 1, 1);
  if (!L.start || !L.count || !L.state) goto oom;
  for (size_t i = L.n; i-- > 0;) L.start[L.set.images[i].identity] = (uint32_t)i, L.count[L.set.images[i].identity]++;
  if (emb_in) {
    float *d;
    int rank;
    int64_t dims[FG_NN_MAX_RANK];
    if (fg_npy_read(emb_in, &d, &rank, dims, &e)) goto fail;
    if (rank != 2 || (size_t)dims[0] != L.n) {
      free(d);
      fprintf(stderr, "facegate eval identify: %s must hold %zu rows (one per image of %s, sorted)\n", emb_in, L.n,
              L.images_dir);
      code = EXIT_FAIL;
      goto out;
    }
    L.emb = d, L.dim = (int)dims[1];
    const fg_default_model *dm;
    for (size_t i = 0; (dm = fg_default_model_at(i)); i++)
      if (!strcmp(dm->role, "feature")) snprintf(L.model_sha, sizeof L.model_sha, "%s", dm->sha256);
    if (cli_model(NULL)) { /* embeddings of a named model: its engine says which model that is */
      fg_face_options o;
      fg_face_options_init(&o);
      o.models_dir = models_dir;
      o.model = cli_model(NULL);
      o.liveness = 0;
      fg_face_engine *fe;
      if (fg_face_engine_create(&o, &fe, &e)) goto fail;
      snprintf(L.model_sha, sizeof L.model_sha, "%s", fg_face_engine_model_sha256(fe));
      int dim = fg_face_engine_dim(fe);
      fg_face_engine_destroy(fe);
      if (dim != L.dim) {
        fprintf(stderr, "facegate eval identify: %s holds %d-d rows, model %s makes %d-d embeddings\n", emb_in, L.dim,
                cli_model(NULL), dim);
        code = EXIT_FAIL;
        goto out;
      }
    }
  } else {
    fg_face_options o;
    fg_face_options_init(&o);
    o.models_dir = models_dir;
  o.model = cli_model(NULL);
    o.flip = flip;
    o.liveness = 0; /* not needed for identification; saves its inference */
    if (precision[0] >= 0) memcpy(o.precision, precision, sizeof o.precision);
    if (backend >= 0) o.backend = backend;
    o.ranges_dir = ranges_dir;
    if (embed_all(&L, &o, (int)threads, &e)) goto fail;
    if (emb_out) {
      int64_t dims[2] = {(int64_t)L.n, L.dim};
      if (fg_npy_write(emb_out, L.emb, 2, dims, &e)) goto fail;
    }
  }
  fg_gallery_model_id_from_hex(L.model_sha, L.model);
  double t_embed = now_s() - t0;
  size_t fallback = 0, lowq = 0;
  for (size_t i = 0; i < L.n; i++) fallback += L.state[i] == IMG_FALLBACK, lowq += L.state[i] == IMG_LOW_QUALITY;

  if (calib) {
    if (calibrate(&L, (uint64_t)seed, calib, &e)) goto fail;
    if (!json) printf("wrote the FPIR calibration %s\n", calib);
  }
  run_cfg cfg = {&L, enc, (size_t)N, (size_t)F, (uint64_t)seed};
  if (run_flights(&cfg, 2, &st[0], &e) || run_flights(&cfg, 3, &st[3], &e) || run_all(&cfg, &st[ALL], &e))
    goto fail;
  for (int s = 0; s < NSET; s++) evaluate(&st[s], L.state);
  if (labels && !(groups = group_rates(&L, &st[0], labels, min_group))) goto oom;
  size_t shown = 0;
  if (plot) {
    setting *ps[NSET];
    for (int s = 0; s < NSET; s++) ps[s] = &st[s];
    if (plot_curves(plot, ps, NSET, (size_t)N, &e)) goto fail;
  }
  if (fails && plot_failures(fails, &L, &st[0], st[0].thr[0], models_dir, &shown, &e)) goto fail;
  double wall = now_s() - t0;
  if (json) {
    printf("{\"fnir_at_fpir_0.003\": %.6f, \"fnir_at_fpir_0.01\": %.6f, \"flights\": %ld, \"gallery_size\": %ld",
           st[0].fnir_mean[0], st[0].fnir_mean[1], F, N);
    printf(", \"encoding\": \"%s\", \"seed\": %ld, \"images\": %zu, \"people\": %zu, \"detect_failures\": %zu, "
           "\"low_quality\": %zu, \"two_images_enrolled_travellers\": %zu",
           fg_encoding_name(enc), seed, L.n, L.ids, fallback, lowq, st[1].enrolled_extra);
    static const char *const key[NSET] = {"one_image",
                                          "two_images", /* centroid: the product's way */
                                          "two_images_max_fusion",
                                          "three_plus_one_image",
                                          "three_plus_two_images",
                                          "three_plus_two_images_max_fusion",
                                          "all_lfw"};
    for (int s = 0; s < NSET; s++) {
      printf(", \"%s\": ", key[s]);
      print_setting_json(stdout, &st[s]);
    }
    if (groups) {
      char *gj = json_dumps(groups, JSON_COMPACT);
      if (!gj) goto oom;
      printf(", \"groups\": %s", gj);
      free(gj);
    }
    printf(", \"model_sha256\": \"%s\", \"embed_s\": %.1f, \"wall_s\": %.1f}\n", L.model_sha, t_embed, wall);
  } else {
    printf("LFW open-set identification (NIST IR 8381 flights): %zu images of %zu people, %s gallery\n", L.n, L.ids,
           fg_encoding_name(enc));
    printf("detection failures (centre box used) %zu, low quality (kept) %zu\n\n", fallback, lowq);
    printf("%-42s %9s %9s  %-26s %-26s %9s\n", "setting", "mated", "non-mated", "FNIR @ FPIR 0.003 (spread)",
           "FNIR @ FPIR 0.01 (spread)", "rank-1 miss");
    for (int s = 0; s < NSET; s++) {
      char a[64], b[64];
      if (st[s].per_flight) {
        snprintf(a, sizeof a, "%.2f%% (sd %.2f, %.2f-%.2f)", 100 * st[s].fnir_mean[0], 100 * st[s].fnir_std[0],
                 100 * st[s].fnir_min[0], 100 * st[s].fnir_max[0]);
        snprintf(b, sizeof b, "%.2f%% (sd %.2f, %.2f-%.2f)", 100 * st[s].fnir_mean[1], 100 * st[s].fnir_std[1],
                 100 * st[s].fnir_min[1], 100 * st[s].fnir_max[1]);
      } else {
        snprintf(a, sizeof a, "%.2f%%", 100 * st[s].fnir_mean[0]);
        snprintf(b, sizeof b, "%.2f%%", 100 * st[s].fnir_mean[1]);
      }
      printf("%-42s %9zu %9zu  %-26s %-26s %8.2f%%\n", st[s].name, st[s].nm, st[s].nn, a, b, 100 * st[s].rank1_miss);
    }
    printf("\nthresholds (cosine, FPIR 0.003 / 0.01):");
    for (int s = 0; s < NSET; s++) printf("%s %s %.4f / %.4f", s ? ";" : "", st[s].name, st[s].thr[0], st[s].thr[1]);
    printf("\n");
    printf("misses at FPIR 0.003 (1 image): %zu with the mate at rank 1 below the threshold, %zu outranked; %zu "
           "involve a low-quality or undetected image\n",
           st[0].miss_below[0], st[0].miss_outranked[0], st[0].miss_lowq[0]);
    printf("%ld flights of %ld travellers (seed %ld) from the people with 2+ images and as many from those with 3+;\n"
           "%zu and %zu travellers enrolled with two images; %.1f s\n",
           F, N, seed, st[1].enrolled_extra, st[4].enrolled_extra, wall);
    if (groups) print_groups(groups);
    if (plot) printf("wrote %s\n", plot);
    if (fails) printf("wrote %s (%zu failure cases)\n", fails, shown);
  }
  goto out;
oom:
  e.code = FG_ENOMEM;
  snprintf(e.msg, sizeof e.msg, "out of memory");
fail:
  fprintf(stderr, "facegate eval identify: %s\n", cli_errmsg(&e));
  code = EXIT_FAIL;
out:
  for (int s = 0; s < NSET; s++) free(st[s].mated), free(st[s].non);
  json_decref(groups);
  fg_group_labels_free(labels);
  free(L.start), free(L.count), free(L.state), free(L.emb);
  fg_lfw_images_release(&L.set);
  return code;
}
