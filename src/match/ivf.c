/*
 * An inverted-file (IVF) index over a gallery, for galleries too large to
 * scan on every probe (a national watchlist of a million entries: an exact
 * int8 scan reads 524 MB, about 20 ms on one core).
 *
 * Spherical k-means (cosine) puts the templates into `nlist` cells around
 * unit centroids. Each cell keeps its templates' int8 codes contiguously (the
 * gallery's own int8 encoding: one scale and sum per template, so the same
 * VNNI kernels score them) with their template indices. A search (search.c)
 * scores the probe against every centroid, scans the int8 codes of the
 * `nprobe` best cells, keeps the best candidates and re-scores them with the
 * gallery's own rows (fp32, fp16, or the fp16 refine copy of an int8
 * gallery), so every score it returns is the exact search's score for that
 * template; what it can miss is a template in a cell it did not visit
 * (docs/matching.md measures how often, against FAISS and hnswlib).
 *
 * The index follows the gallery: fg_gallery_add puts a new template in the
 * cell of its nearest centroid (centroids are not retrained: rebuild the
 * index after the gallery has changed a lot), removals take templates out of
 * their cells, compaction renumbers them. It lives in memory only
 * (fg_gallery_save does not write it; build it again after opening).
 *
 * Training: k-means on a random sample of the live templates (default 40 per
 * cell), centroids seeded from the sample, each iteration assigning the
 * sample with the int8 kernels (centroids quantised per row); an empty cell
 * is re-seeded with a sample point of the largest cell. Then every live
 * template is assigned to its nearest centroid the same way.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/internal.h"
#include "match/match.h"

#define BATCH FG_SEARCH_MAX_BATCH

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void fg__ivf_free(fg__ivf *v) {
  if (!v) return;
  for (uint32_t l = 0; l < v->nlist && v->lists; l++) {
    free(v->lists[l].codes);
    free(v->lists[l].scale);
    free(v->lists[l].sum);
    free(v->lists[l].tmpl);
  }
  free(v->lists);
  free(v->cent);
  free(v->cent8);
  free(v->cscale);
  free(v->csum);
  free(v->where);
  free(v->pos);
  free(v);
}

/* ---- probes and kernels ---- */

/* int8 probes for the i8 kernel (every form a kernel may read; fg__probes). */
typedef struct qbuf {
  int8_t i8[BATCH * FG_GALLERY_MAX_DIM];
  uint8_t u8[BATCH * FG_GALLERY_MAX_DIM];
  int16_t i16[BATCH * FG_GALLERY_MAX_DIM];
  fg__probes p;
} qbuf;

/* Quantise nq normalised vectors (x: nq x dim) into b for rows of pdim bytes. */
static void quant_probes(qbuf *b, const float *x, int nq, uint32_t dim, size_t pdim) {
  memset(b->i8, 0, BATCH * pdim);
  b->p.nq = nq;
  b->p.pdim = pdim;
  b->p.i8 = b->i8, b->p.u8 = b->u8, b->p.i16 = b->i16, b->p.f32 = NULL;
  for (int j = 0; j < nq; j++) {
    int32_t sum;
    b->p.qscale[j] = fg__quantize_i8(x + (size_t)j * dim, dim, b->i8 + (size_t)j * pdim, &sum);
  }
  for (size_t i = 0; i < BATCH * pdim; i++) b->u8[i] = (uint8_t)(b->i8[i] + 128), b->i16[i] = b->i8[i];
}

/* Quantise the centroids (f32 rows) into int8 rows with their scales and sums. */
static void quant_centroids(fg__ivf *v) {
  for (uint32_t l = 0; l < v->nlist; l++) {
    memset(v->cent8 + (size_t)l * v->code_bytes, 0, v->code_bytes);
    v->cscale[l] = fg__quantize_i8(v->cent + (size_t)l * v->cent_stride, v->dim,
                                   (int8_t *)(v->cent8 + (size_t)l * v->code_bytes), &v->csum[l]);
  }
}

/* Nearest centroid of each of n normalised vectors (x: n x dim), by the int8
 * kernel; ties go to the lower cell. */
static void nearest(const fg__ivf *v, fg__score_fn i8, const float *x, size_t n, uint32_t *out, qbuf *qb,
                    float *scores) {
  for (size_t i0 = 0; i0 < n; i0 += BATCH) {
    int nq = (int)(n - i0 < BATCH ? n - i0 : BATCH);
    quant_probes(qb, x + i0 * v->dim, nq, v->dim, v->code_bytes);
    float best[BATCH];
    for (int j = 0; j < nq; j++) best[j] = -INFINITY, out[i0 + (size_t)j] = 0;
    for (uint32_t c0 = 0; c0 < v->nlist; c0 += 256) {
      uint32_t nr = v->nlist - c0 < 256 ? v->nlist - c0 : 256;
      i8(v->cent8 + (size_t)c0 * v->code_bytes, v->code_bytes, nr, v->cscale + c0, v->csum + c0, &qb->p, scores);
      for (uint32_t r = 0; r < nr; r++)
        for (int j = 0; j < nq; j++)
          if (scores[(size_t)r * (size_t)nq + (size_t)j] > best[j])
            best[j] = scores[(size_t)r * (size_t)nq + (size_t)j], out[i0 + (size_t)j] = c0 + r;
    }
  }
}

/* ---- a parallel loop over [0, n) in chunks, on up to `threads` threads ---- */

typedef struct pjob {
  const fg__ivf *v;
  fg__score_fn i8;
  const float *x;
  size_t lo, hi;
  uint32_t *out;
  int rc;
} pjob;

static void *assign_range(void *arg) {
  pjob *j = arg;
  qbuf *qb = malloc(sizeof *qb);
  float *scores = malloc(256 * BATCH * sizeof *scores);
  if (!qb || !scores) j->rc = FG_ENOMEM;
  else nearest(j->v, j->i8, j->x + j->lo * j->v->dim, j->hi - j->lo, j->out + j->lo, qb, scores);
  free(qb);
  free(scores);
  return NULL;
}

/* out[i] = nearest centroid of x[i], i < n, on `threads` threads. */
static int assign_all(const fg__ivf *v, fg__score_fn i8, const float *x, size_t n, uint32_t *out, unsigned threads) {
  if (threads < 1) threads = 1;
  if (threads > 64) threads = 64;
  if ((size_t)threads > n / 64 + 1) threads = (unsigned)(n / 64 + 1);
  pjob jobs[64];
  pthread_t tid[64];
  unsigned started = 0;
  for (unsigned t = 0; t < threads; t++) jobs[t] = (pjob){v, i8, x, n * t / threads, n * (t + 1) / threads, out, FG_OK};
  for (unsigned t = 1; t < threads; t++, started++)
    if (pthread_create(&tid[t], NULL, assign_range, &jobs[t])) break;
  for (unsigned t = started + 1; t < threads; t++) assign_range(&jobs[t]); /* threads that did not start */
  assign_range(&jobs[0]);
  for (unsigned t = 1; t <= started; t++) pthread_join(tid[t], NULL);
  for (unsigned t = 0; t < threads; t++)
    if (jobs[t].rc) return jobs[t].rc;
  return FG_OK;
}

/* ---- cells ---- */

static int list_reserve(fg__ivf_list *L, uint32_t need, size_t code_bytes) {
  if (need <= L->cap) return 0;
  uint32_t cap = L->cap ? L->cap : 16;
  while (cap < need) cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
  uint8_t *codes = NULL;
  if (posix_memalign((void **)&codes, 64, (size_t)cap * code_bytes)) return -1;
  float *scale = malloc((size_t)cap * sizeof *scale);
  int32_t *sum = malloc((size_t)cap * sizeof *sum);
  uint32_t *tmpl = malloc((size_t)cap * sizeof *tmpl);
  if (!scale || !sum || !tmpl) {
    free(codes), free(scale), free(sum), free(tmpl);
    return -1;
  }
  if (L->n) {
    memcpy(codes, L->codes, (size_t)L->n * code_bytes);
    memcpy(scale, L->scale, (size_t)L->n * sizeof *scale);
    memcpy(sum, L->sum, (size_t)L->n * sizeof *sum);
    memcpy(tmpl, L->tmpl, (size_t)L->n * sizeof *tmpl);
  }
  free(L->codes), free(L->scale), free(L->sum), free(L->tmpl);
  L->codes = codes, L->scale = scale, L->sum = sum, L->tmpl = tmpl, L->cap = cap;
  return 0;
}

static int slots_reserve(fg__ivf *v, size_t need) {
  if (need <= v->slots) return 0;
  size_t cap = v->slots ? v->slots : 1024;
  while (cap < need) cap *= 2;
  uint32_t *w = realloc(v->where, cap * sizeof *w);
  if (w) v->where = w;
  uint32_t *p = realloc(v->pos, cap * sizeof *p);
  if (p) v->pos = p;
  if (!w || !p) return -1;
  for (size_t i = v->slots; i < cap; i++) v->where[i] = FG__DEAD, v->pos[i] = 0;
  v->slots = cap;
  return 0;
}

/* The int8 code of template t (decoded from the gallery's finest copy). */
static void code_of(const fg_gallery *g, size_t t, const float *x, uint8_t *code, float *scale, int32_t *sum,
                    size_t code_bytes) {
  if (g->enc == FG_ENCODING_INT8) { /* the gallery's own int8 row: the same scores */
    memcpy(code, g->vec + t * g->row_bytes, code_bytes);
    *scale = g->tscale[t], *sum = g->tsum[t];
    return;
  }
  memset(code, 0, code_bytes);
  *scale = fg__quantize_i8(x, g->dim, (int8_t *)code, sum);
}

/* Append template t (normalised vector x) to cell l; capacity reserved. */
static void list_append(const fg_gallery *g, fg__ivf *v, uint32_t l, size_t t, const float *x) {
  fg__ivf_list *L = &v->lists[l];
  uint32_t i = L->n++;
  code_of(g, t, x, L->codes + (size_t)i * v->code_bytes, &L->scale[i], &L->sum[i], v->code_bytes);
  L->tmpl[i] = (uint32_t)t;
  v->where[t] = l;
  v->pos[t] = i;
  v->entries++;
}

/* ---- building ---- */

static unsigned auto_nlist(size_t live) {
  unsigned n = 1;
  while ((double)n * n < (double)live && n < 65536) n *= 2; /* about sqrt(n): cells of sqrt(n) templates */
  return n;
}

int fg_gallery_ivf_build(fg_gallery *g, const fg_ivf_opts *opts, fg_error *err) {
  static const fg_ivf_opts defaults = {0};
  if (!g) return fg__seterr(err, FG_EINVAL, "gallery is NULL");
  if (!opts) opts = &defaults;
  double t0 = now_s();
  size_t live = g->n - g->n_dead;
  if (live == 0) return fg__seterr(err, FG_EINVAL, "the gallery is empty: nothing to index");
  unsigned nlist = opts->nlist ? opts->nlist : auto_nlist(live);
  if (nlist > 65536) return fg__seterr(err, FG_EINVAL, "nlist %u is too large (at most 65536)", nlist);
  if (nlist > live) nlist = (unsigned)live;
  unsigned iters = opts->iters ? opts->iters : 10;
  size_t sample = opts->sample ? opts->sample : (size_t)nlist * 40;
  if (sample > live) sample = live;
  if (sample < nlist) sample = nlist;
  const fg__kernels *kt = fg__kernels_for(FG_KERNEL_AUTO);
  fg__score_fn i8 = kt->i8;
  uint32_t dim = g->dim;
  uint64_t seed = opts->seed ? opts->seed : 0x1f2e3d4c5b6a7988ull;

  fg__ivf *v = calloc(1, sizeof *v);
  size_t *live_ix = malloc(live * sizeof *live_ix);
  float *xs = NULL, *all = NULL;
  uint32_t *assign = NULL, *count = NULL;
  double *acc = NULL;
  int rc = FG_OK;
  if (!v || !live_ix) goto nomem;
  v->nlist = nlist;
  v->dim = dim;
  v->code_bytes = (uint32_t)fg_encoding_row_bytes(FG_ENCODING_INT8, dim);
  v->cent_stride = (uint32_t)(fg_encoding_row_bytes(FG_ENCODING_FP32, dim) / sizeof(float));
  v->nprobe = opts->nprobe ? opts->nprobe : (nlist >= 128 ? nlist / 16 : nlist < 8 ? nlist : 8);
  if (v->nprobe > nlist) v->nprobe = nlist;
  size_t nl = 0;
  for (size_t t = 0; t < g->n; t++)
    if (g->tsubj[t] != FG__DEAD) live_ix[nl++] = t;
  if (posix_memalign((void **)&v->cent, 64, (size_t)nlist * v->cent_stride * sizeof(float)) ||
      posix_memalign((void **)&v->cent8, 64, (size_t)nlist * v->code_bytes))
    goto nomem;
  memset(v->cent, 0, (size_t)nlist * v->cent_stride * sizeof(float));
  v->cscale = malloc(nlist * sizeof *v->cscale);
  v->csum = malloc(nlist * sizeof *v->csum);
  v->lists = calloc(nlist, sizeof *v->lists);
  xs = malloc(sample * dim * sizeof *xs);
  assign = malloc((sample > live ? sample : live) * sizeof *assign);
  count = calloc(nlist, sizeof *count);
  acc = malloc((size_t)nlist * dim * sizeof *acc);
  if (!v->cscale || !v->csum || !v->lists || !xs || !assign || !count || !acc || slots_reserve(v, g->cap > g->n ? g->cap : g->n + 1))
    goto nomem;

  /* the training sample: a random subset of the live templates (partial Fisher-Yates) */
  for (size_t i = 0; i < sample; i++) {
    size_t j = i + (size_t)(rng_next(&seed) % (uint64_t)(live - i));
    size_t tmp = live_ix[i];
    live_ix[i] = live_ix[j], live_ix[j] = tmp;
    fg_gallery_template(g, live_ix[i], NULL, xs + i * dim);
    fg__normalise(xs + i * dim, dim, xs + i * dim);
  }
  /* seeds: the first nlist sample points (a random subset) */
  for (uint32_t l = 0; l < nlist; l++) memcpy(v->cent + (size_t)l * v->cent_stride, xs + (size_t)l * dim, dim * sizeof(float));
  for (unsigned it = 0; it < iters; it++) {
    quant_centroids(v);
    if ((rc = assign_all(v, i8, xs, sample, assign, opts->threads))) goto fail;
    memset(acc, 0, (size_t)nlist * dim * sizeof *acc);
    memset(count, 0, nlist * sizeof *count);
    for (size_t i = 0; i < sample; i++) {
      count[assign[i]]++;
      const float *x = xs + i * dim;
      double *a = acc + (size_t)assign[i] * dim;
      for (uint32_t d = 0; d < dim; d++) a[d] += x[d];
    }
    for (uint32_t l = 0; l < nlist; l++) {
      float *c = v->cent + (size_t)l * v->cent_stride;
      if (count[l] == 0) { /* re-seed from a random member of the largest cell */
        uint32_t big = 0;
        for (uint32_t m = 1; m < nlist; m++)
          if (count[m] > count[big]) big = m;
        for (size_t tries = 0; tries < 4 * sample; tries++) {
          size_t i = (size_t)(rng_next(&seed) % sample);
          if (assign[i] == big) {
            memcpy(c, xs + i * dim, dim * sizeof(float));
            break;
          }
        }
        continue;
      }
      const double *a = acc + (size_t)l * dim;
      double nn = 0;
      for (uint32_t d = 0; d < dim; d++) nn += a[d] * a[d];
      if (nn <= 0) continue;
      double inv = 1 / sqrt(nn);
      for (uint32_t d = 0; d < dim; d++) c[d] = (float)(a[d] * inv);
    }
  }
  quant_centroids(v);
  free(xs);
  xs = NULL;

  /* every live template into the cell of its nearest centroid, in chunks */
  enum { CHUNK = 65536 };
  all = malloc((size_t)CHUNK * dim * sizeof *all);
  if (!all) goto nomem;
  size_t *ix = malloc((size_t)CHUNK * sizeof *ix), tcur = 0;
  if (!ix) goto nomem;
  for (size_t c0 = 0; c0 < nl; c0 += CHUNK) {
    /* in template order, so that cells list their templates in enrolment order */
    size_t nc = 0;
    for (; tcur < g->n && nc < CHUNK; tcur++)
      if (g->tsubj[tcur] != FG__DEAD) ix[nc++] = tcur;
    for (size_t i = 0; i < nc; i++) {
      fg_gallery_template(g, ix[i], NULL, all + i * dim);
      fg__normalise(all + i * dim, dim, all + i * dim);
    }
    if ((rc = assign_all(v, i8, all, nc, assign, opts->threads))) {
      free(ix);
      goto fail;
    }
    for (size_t i = 0; i < nc; i++) {
      if (list_reserve(&v->lists[assign[i]], v->lists[assign[i]].n + 1, v->code_bytes)) {
        free(ix);
        goto nomem;
      }
      list_append(g, v, assign[i], ix[i], all + i * dim);
    }
  }
  free(ix);
  v->build_s = now_s() - t0;
  free(live_ix), free(all), free(assign), free(count), free(acc);
  fg_gallery_index_drop(g);
  g->ivf = v;
  return FG_OK;
nomem:
  rc = FG_ENOMEM;
fail:
  free(live_ix), free(xs), free(all), free(assign), free(count), free(acc);
  fg__ivf_free(v);
  return fg__seterr(err, rc, rc == FG_ENOMEM ? "out of memory building the index" : "could not build the index");
}

/* ---- keeping it current (gallery.c) ---- */

int fg__ivf_prepare_add(fg_gallery *g, const float *x, uint32_t *cell) {
  fg__ivf *v = g->ivf;
  if (!v) return 0;
  qbuf *qb = malloc(sizeof *qb);
  float *scores = malloc(256 * BATCH * sizeof *scores);
  int bad = !qb || !scores;
  if (!bad) nearest(v, fg__kernels_for(FG_KERNEL_AUTO)->i8, x, 1, cell, qb, scores);
  free(qb), free(scores);
  if (bad || list_reserve(&v->lists[*cell], v->lists[*cell].n + 1, v->code_bytes) || slots_reserve(v, g->n + 1))
    return -1;
  return 0;
}

void fg__ivf_commit_add(fg_gallery *g, uint32_t cell, size_t t, const float *x) {
  if (g->ivf) list_append(g, g->ivf, cell, t, x);
}

void fg__ivf_remove(fg_gallery *g, size_t t) {
  fg__ivf *v = g->ivf;
  if (!v || t >= v->slots || v->where[t] == FG__DEAD) return;
  fg__ivf_list *L = &v->lists[v->where[t]];
  uint32_t i = v->pos[t], last = --L->n;
  if (i != last) { /* the cell's last entry takes the hole */
    memcpy(L->codes + (size_t)i * v->code_bytes, L->codes + (size_t)last * v->code_bytes, v->code_bytes);
    L->scale[i] = L->scale[last], L->sum[i] = L->sum[last], L->tmpl[i] = L->tmpl[last];
    v->pos[L->tmpl[i]] = i;
  }
  v->where[t] = FG__DEAD;
  v->entries--;
}

void fg__ivf_renumber(fg_gallery *g, const uint32_t *remap, size_t old_n) {
  fg__ivf *v = g->ivf;
  if (!v) return;
  for (uint32_t l = 0; l < v->nlist; l++)
    for (uint32_t i = 0; i < v->lists[l].n; i++) v->lists[l].tmpl[i] = remap[v->lists[l].tmpl[i]];
  for (size_t i = 0; i < v->slots; i++) v->where[i] = FG__DEAD;
  for (uint32_t l = 0; l < v->nlist; l++)
    for (uint32_t i = 0; i < v->lists[l].n; i++) v->where[v->lists[l].tmpl[i]] = l, v->pos[v->lists[l].tmpl[i]] = i;
  (void)old_n;
}

int fg_gallery_ivf_info(const fg_gallery *g, fg_ivf_info *info) {
  memset(info, 0, sizeof *info);
  if (!g || !g->ivf) return FG_ENOTFOUND;
  const fg__ivf *v = g->ivf;
  info->nlist = v->nlist;
  info->nprobe = v->nprobe;
  info->entries = v->entries;
  info->build_s = v->build_s;
  size_t bytes = (size_t)v->nlist * (v->cent_stride * sizeof(float) + v->code_bytes + 8) + v->slots * 8;
  for (uint32_t l = 0; l < v->nlist; l++) {
    bytes += (size_t)v->lists[l].cap * (v->code_bytes + 12);
    if (v->lists[l].n > info->largest_cell) info->largest_cell = v->lists[l].n;
  }
  info->bytes = bytes;
  info->bytes_per_entry = v->entries ? (double)bytes / (double)v->entries : 0;
  return FG_OK;
}
