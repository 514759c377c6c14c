/*
 * Exact top-k search over a gallery: kernel selection, probe preparation,
 * the scan over template rows in blocks, per-probe top-k heaps with subject
 * max-fusion, and sharding over threads.
 *
 * The scan: probes are taken in batches of up to FG_SEARCH_MAX_BATCH; for each
 * block of BLOCK_ROWS rows the kernel scores every row against every probe of
 * the batch (each row is read from memory once per batch), then each score
 * that can enter its probe's heap is offered to it.
 *
 * Top-k with fusion: each probe has a min-heap of at most k entries (worst at
 * the root) holding at most one entry per subject. A template's score s for
 * subject u is offered as follows: if u is in the heap, its entry is raised to
 * max(old, s); otherwise (s, u) replaces the root if it is better. This is
 * exact: a subject evicted with score y was beaten by k subjects scoring
 * >= y, whose scores can only grow, so none of u's later templates scoring
 * <= y can re-enter, and one scoring more enters with its true (higher) max.
 * "Better" is (score higher) or (score equal and key lower): ties resolve to
 * the earlier-enrolled subject (or template), the same on every path.
 *
 * Sharding: with threads > 1 the template range is split into contiguous
 * shards, each thread scans its shard for all probes into its own heaps, and
 * the shards' heaps are merged by offering their entries, shard by shard, to a
 * fresh heap. A subject in the global top k is in the top k of the shard
 * holding its best template, with its true score, so the merge is exact too.
 * A gallery too small for two shards (< 2 * FG_SEARCH_MIN_SHARD templates)
 * searched with many probes is split by probes instead: each thread scans the
 * whole gallery for its own probes.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "match/match.h"

#define BLOCK_ROWS 256

/* ------------------------------------------------------------ kernel choice */

static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
/* Written once by cpu_detect under pthread_once, read-only afterwards. */
static int cpu_avx2, cpu_avx512, cpu_popcnt512;

static void cpu_detect(void) {
#ifdef FG__HAVE_X86
  unsigned f = fg__cpu_features(); /* src/common/cpu.c */
  cpu_avx2 = (f & FG__CPU_AVX2) != 0;
  cpu_avx512 = (f & FG__CPU_AVX512) != 0;
  cpu_popcnt512 = (f & FG__CPU_AVX512_POPCNT) != 0;
#endif
}

const char *fg_kernel_name(fg_kernel k) {
  switch (k) {
  case FG_KERNEL_AUTO: return "auto";
  case FG_KERNEL_SCALAR: return "scalar";
  case FG_KERNEL_AVX2: return "avx2";
  case FG_KERNEL_AVX512: return "avx512";
  }
  return "?";
}

int fg_kernel_supported(fg_kernel k) {
  pthread_once(&cpu_once, cpu_detect);
  switch (k) {
  case FG_KERNEL_AUTO:
  case FG_KERNEL_SCALAR: return 1;
  case FG_KERNEL_AVX2: return cpu_avx2;
  case FG_KERNEL_AVX512: return cpu_avx512;
  }
  return 0;
}

fg_kernel fg_kernel_best(void) {
  pthread_once(&cpu_once, cpu_detect);
  return cpu_avx512 ? FG_KERNEL_AVX512 : cpu_avx2 ? FG_KERNEL_AVX2 : FG_KERNEL_SCALAR;
}

const fg__kernels *fg__kernels_for(fg_kernel k) {
  if (k == FG_KERNEL_AUTO) k = fg_kernel_best();
  if (!fg_kernel_supported(k)) return NULL;
  switch (k) {
#ifdef FG__HAVE_X86
  case FG_KERNEL_AVX2: return &fg__kernels_avx2;
  case FG_KERNEL_AVX512: return &fg__kernels_avx512;
#endif
  case FG_KERNEL_SCALAR: return &fg__kernels_scalar;
  default: return NULL;
  }
}

const fg__sketch_kernels *fg__sketch_best(void) {
  pthread_once(&cpu_once, cpu_detect);
#ifdef FG__HAVE_X86
  if (cpu_popcnt512) return &fg__sketch_avx512;
#endif
  return &fg__sketch_scalar;
}

fg__score_fn fg__kernel_fn(const fg__kernels *kt, fg_encoding enc) {
  return enc == FG_ENCODING_FP32 ? kt->f32 : enc == FG_ENCODING_FP16 ? kt->f16 : kt->i8;
}

/* ------------------------------------------------------------ heaps */

typedef struct ent {
  float score;
  uint32_t key;  /* subject index (fused) or template index */
  uint32_t tmpl; /* template giving the score */
} ent;

typedef struct heap {
  ent *e;
  size_t n, k;
  float floor; /* scores below cannot enter: the threshold, then the root's score once full */
  float thr;
} heap;

static inline int better(float s, uint32_t key, const ent *b) {
  return s > b->score || (s == b->score && key < b->key);
}

static void sift_down(heap *h, size_t i) {
  ent x = h->e[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && better(h->e[c].score, h->e[c].key, &h->e[c + 1])) c++; /* the worse child */
    if (!better(x.score, x.key, &h->e[c])) break;
    h->e[i] = h->e[c];
    i = c;
  }
  h->e[i] = x;
}

static void sift_up(heap *h, size_t i) {
  ent x = h->e[i];
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!better(h->e[p].score, h->e[p].key, &x)) break; /* parent already worse */
    h->e[i] = h->e[p];
    i = p;
  }
  h->e[i] = x;
}

static void heap_init(heap *h, ent *storage, size_t k, float thr) {
  h->e = storage, h->n = 0, h->k = k, h->thr = thr, h->floor = thr;
}

/* Offer (s, key, tmpl); the caller has checked s >= h->floor. */
static void offer(heap *h, float s, uint32_t key, uint32_t tmpl, int fused) {
  if (fused) {
    for (size_t i = 0; i < h->n; i++)
      if (h->e[i].key == key) {
        if (s > h->e[i].score) {
          h->e[i].score = s, h->e[i].tmpl = tmpl;
          sift_down(h, i);
          if (h->n == h->k) h->floor = h->e[0].score;
        }
        return;
      }
  }
  if (h->n < h->k) {
    h->e[h->n] = (ent){s, key, tmpl};
    sift_up(h, h->n++);
  } else if (better(s, key, &h->e[0])) {
    h->e[0] = (ent){s, key, tmpl};
    sift_down(h, 0);
  } else return;
  if (h->n == h->k) h->floor = h->e[0].score;
}

static int cmp_best_first(const void *a, const void *b) {
  const ent *x = a, *y = b;
  if (better(x->score, x->key, y)) return -1;
  if (better(y->score, y->key, x)) return 1;
  return 0;
}

/* ------------------------------------------------------------ scanning */

typedef struct job {
  const fg_gallery *g;
  fg__score_fn fn;
  const float *probes;
  size_t n_probes, stride, k, batch;
  size_t lo, hi; /* template range */
  int fused;
  float thr;
  heap *heaps;   /* n_probes heaps */
  ent *storage;  /* n_probes * k */
  int rc;
} job;

/* Prepare probes [i0, i0+nq) into p using buf (see prep_bytes). */
static size_t prep_bytes(size_t pdim) {
  return FG_SEARCH_MAX_BATCH * pdim * (sizeof(float) + 1 + 1 + sizeof(int16_t));
}

static void prepare(const job *jb, size_t i0, int nq, size_t pdim, uint8_t *buf, fg__probes *p) {
  const fg_gallery *g = jb->g;
  float *f = (float *)(void *)buf;
  int16_t *w = (int16_t *)(void *)(buf + FG_SEARCH_MAX_BATCH * pdim * sizeof(float));
  int8_t *q = (int8_t *)(buf + FG_SEARCH_MAX_BATCH * pdim * (sizeof(float) + sizeof(int16_t)));
  uint8_t *u = (uint8_t *)q + FG_SEARCH_MAX_BATCH * pdim;
  size_t used = (size_t)nq * pdim, unused = (FG_SEARCH_MAX_BATCH - (size_t)nq) * pdim;
  memset(f + used, 0, unused * sizeof *f); /* unused probe slots are zero (fg__probes) */
  memset(w + used, 0, unused * sizeof *w);
  memset(q + used, 0, unused);
  memset(u + used, 0, unused);
  p->nq = nq;
  p->pdim = pdim;
  p->f32 = f, p->i8 = q, p->u8 = u, p->i16 = w;
  for (int j = 0; j < nq; j++) {
    float *fj = f + (size_t)j * pdim;
    memset(fj, 0, pdim * sizeof *fj);
    fg__normalise(jb->probes + (i0 + (size_t)j) * jb->stride, g->dim, fj); /* checked before */
    p->qscale[j] = 0.0f;
    if (g->enc == FG_ENCODING_INT8) {
      int8_t *qj = q + (size_t)j * pdim;
      int32_t sum;
      memset(qj, 0, pdim);
      p->qscale[j] = fg__quantize_i8(fj, g->dim, qj, &sum);
      for (size_t i = 0; i < pdim; i++) {
        u[(size_t)j * pdim + i] = (uint8_t)(qj[i] + 128);
        w[(size_t)j * pdim + i] = qj[i];
      }
    }
  }
}

/* Does any score of the block reach its probe's floor? Most blocks hold none
 * once the heaps are warm. For batches of 1, 2, 4 or 8 probes, eight
 * independent running maxima (lane l sees only column l % nq; no loop-carried
 * latency chain, 4x faster than one running maximum); other batch sizes and
 * the tail compare score by score. */
static int block_may_enter(const float *scores, size_t nr, int nq, const heap *hs) {
  size_t n = nr * (size_t)nq;
  float m[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
  size_t i = 0;
  if (nq == 1 || nq == 2 || nq == 4 || nq == 8) {
    for (; i + 8 <= n; i += 8)
      for (int l = 0; l < 8; l++) m[l] = scores[i + (size_t)l] > m[l] ? scores[i + (size_t)l] : m[l];
    for (int l = 0; l < 8; l++) /* lane l holds column l % nq */
      if (m[l] >= hs[l % nq].floor) return 1;
  }
  for (; i < n; i++)
    if (scores[i] >= hs[i % (size_t)nq].floor) return 1;
  return 0;
}

static void *scan(void *arg) {
  job *jb = arg;
  const fg_gallery *g = jb->g;
  size_t elem = g->enc == FG_ENCODING_FP32 ? 4 : g->enc == FG_ENCODING_FP16 ? 2 : 1;
  size_t pdim = g->row_bytes / elem, rb = g->row_bytes;
  uint8_t *buf = NULL;
  float *scores = NULL;
  if (posix_memalign((void **)&buf, 64, prep_bytes(pdim)) ||
      posix_memalign((void **)&scores, 64, BLOCK_ROWS * FG_SEARCH_MAX_BATCH * sizeof *scores)) {
    free(buf);
    jb->rc = FG_ENOMEM;
    return NULL;
  }
  for (size_t i = 0; i < jb->n_probes; i++) heap_init(&jb->heaps[i], jb->storage + i * jb->k, jb->k, jb->thr);
  const int i8 = g->enc == FG_ENCODING_INT8;
  for (size_t i0 = 0; i0 < jb->n_probes; i0 += jb->batch) {
    int nq = (int)(jb->n_probes - i0 < jb->batch ? jb->n_probes - i0 : jb->batch);
    fg__probes p;
    prepare(jb, i0, nq, pdim, buf, &p);
    heap *hs = jb->heaps + i0;
    for (size_t b = jb->lo; b < jb->hi; b += BLOCK_ROWS) {
      size_t nr = jb->hi - b < BLOCK_ROWS ? jb->hi - b : BLOCK_ROWS;
      jb->fn(g->vec + b * rb, rb, nr, i8 ? g->tscale + b : NULL, i8 ? g->tsum + b : NULL, &p, scores);
      /* most blocks hold nothing that can enter any heap: find out without branches */
      if (!block_may_enter(scores, nr, nq, hs)) continue;
      for (size_t r = 0; r < nr; r++) {
        uint32_t s = g->tsubj[b + r];
        if (s == FG__DEAD) continue;
        uint32_t key = jb->fused ? s : (uint32_t)(b + r);
        const float *sc = scores + r * (size_t)nq;
        for (int j = 0; j < nq; j++)
          if (sc[j] >= hs[j].floor) offer(&hs[j], sc[j], key, (uint32_t)(b + r), jb->fused);
      }
    }
  }
  free(buf);
  free(scores);
  jb->rc = FG_OK;
  return NULL;
}

/* ------------------------------------------------------------ refine */

/* An int8 score is within REFINE_ERR of the fp16 one (measured: at most
 * 2.6e-3 over 4 million pairs of real embeddings, docs/matching.md), so a
 * candidate more than 2 * REFINE_ERR below the k-th best int8 score cannot
 * reach the top k: only the others are re-scored (each costs a random read
 * of its fp16 row). */
#define REFINE_ERR 4e-3f

/* The score exact search gives template t: its fp16 refine copy, or the
 * gallery's own fp32/fp16 row (`fn` the kernel for it; p holds the probe in
 * f32 for rows of that length). For the IVF search's candidates. */
static float exact_score(const fg_gallery *g, fg__score_fn fn, const fg__probes *p, size_t t) {
  float s;
  if (g->refine) fn(g->ref + t * g->ref_row_bytes, g->ref_row_bytes, 1, NULL, NULL, p, &s);
  else fn(g->vec + t * g->row_bytes, g->row_bytes, 1, NULL, NULL, p, &s);
  return s;
}

/* Re-score one probe's n candidates (the int8 pass's best, at most k +
 * FG_SEARCH_REFINE_EXTRA) with their fp16 copies (the fp16 kernel, one row at
 * a time: candidates are scattered), drop those below thr and order them best
 * first. f: 8 * pdim floats, slot 0 the normalised probe, the rest zero
 * (fg__probes). A fused candidate's score is the best of its templates' in
 * fp16: with `mark` (a bit per subject, all clear; the gallery has subjects
 * with several templates) every template of the candidates is re-scored,
 * found by one pass over the template-to-subject array (no per-subject list
 * is kept); without it, the one template the int8 pass chose. */
static size_t refine_candidates(const fg_gallery *g, fg__score_fn f16, const float *f, ent *e, size_t n,
                                size_t k, float thr, uint8_t *mark, int *unsure) {
  size_t exact_bytes = g->refine ? g->ref_row_bytes : g->row_bytes;
  size_t elem = g->refine || g->enc == FG_ENCODING_FP16 ? 2 : 4;
  fg__probes p = {.nq = 1, .pdim = exact_bytes / elem, .f32 = f};
  qsort(e, n, sizeof *e, cmp_best_first);
  *unsure = 0;
  if (n > k) {
    /* a subject's fp16 best is within REFINE_ERR of its best int8 template */
    float cut = e[k - 1].score - 2 * REFINE_ERR;
    size_t full = n;
    while (n > k && e[n - 1].score < cut) n--;
    /* nothing pruned from a full pool: a candidate left out of it may still reach the top k */
    *unsure = n == full;
    if (*unsure) return 0;
  }
  if (mark) {
    for (size_t i = 0; i < n; i++) mark[e[i].key >> 3] |= (uint8_t)(1u << (e[i].key & 7)), e[i].score = -INFINITY;
    for (size_t t = 0; t < g->n; t++) {
      uint32_t u = g->tsubj[t];
      if (u == FG__DEAD || !(mark[u >> 3] & (1u << (u & 7)))) continue;
      float s = exact_score(g, f16, &p, t);
      for (size_t i = 0; i < n; i++)
        if (e[i].key == u) {
          if (s > e[i].score) e[i].score = s, e[i].tmpl = (uint32_t)t; /* ties: the earlier template */
          break;
        }
    }
    for (size_t i = 0; i < n; i++) mark[e[i].key >> 3] = 0;
  } else
    for (size_t i = 0; i < n; i++) e[i].score = exact_score(g, f16, &p, e[i].tmpl);
  size_t kept = 0;
  for (size_t i = 0; i < n; i++)
    if (e[i].score >= thr) e[kept++] = e[i];
  qsort(e, kept, sizeof *e, cmp_best_first);
  return kept;
}

/* ------------------------------------------------------------ IVF search */

/* One probe through the IVF index (ivf.c): the nprobe cells whose centroids
 * score highest, their int8 codes scanned into a heap of kpool candidates
 * (the same heap and fusion as the exact scan), then, unless the gallery is
 * plain int8 (whose codes are its rows), every candidate re-scored with the
 * gallery's exact rows (refine_candidates) so that the scores returned are
 * exact search's. f: the normalised probe (pdim floats for the gallery's rows,
 * zero padded; 8 x that for the kernel's probe slots, the rest zero). */
typedef struct ivf_scratch {
  uint8_t *qb;       /* int8 probe in every form, prep_bytes(code pdim) */
  float *cf;         /* the probe for centroid rows: BATCH x cent_stride floats */
  float *cscore;     /* nlist */
  uint32_t *cells;   /* nprobe best cells */
  float *scores;     /* BLOCK_ROWS */
  ent *e;            /* kpool */
} ivf_scratch;

static size_t ivf_one(const fg_gallery *g, const fg__kernels *kt, const float *x, size_t k, size_t kpool, unsigned nprobe,
                      int fused, float thr_pool, float thr, int exact_rescore, const float *fexact, uint8_t *mark,
                      ivf_scratch *sc, ent *out, int *unsure) {
  const fg__ivf *v = g->ivf;
  /* the probe in int8 for the cells' codes */
  size_t pdim = v->code_bytes;
  fg__probes p;
  {
    uint8_t *buf = sc->qb;
    float *f = (float *)(void *)buf;
    int16_t *w = (int16_t *)(void *)(buf + FG_SEARCH_MAX_BATCH * pdim * sizeof(float));
    int8_t *q = (int8_t *)(buf + FG_SEARCH_MAX_BATCH * pdim * (sizeof(float) + sizeof(int16_t)));
    uint8_t *u = (uint8_t *)q + FG_SEARCH_MAX_BATCH * pdim;
    memset(q, 0, FG_SEARCH_MAX_BATCH * pdim);
    int32_t sum;
    p.qscale[0] = fg__quantize_i8(x, g->dim, q, &sum);
    for (size_t i = 0; i < FG_SEARCH_MAX_BATCH * pdim; i++) u[i] = (uint8_t)(q[i] + 128), w[i] = q[i];
    p.nq = 1, p.pdim = pdim, p.f32 = f, p.i8 = q, p.u8 = u, p.i16 = w;
  }
  /* centroid scores (fp32) and the nprobe best cells (ties: the lower cell) */
  fg__probes pc = {.nq = 1, .pdim = v->cent_stride, .f32 = sc->cf};
  memcpy(sc->cf, x, g->dim * sizeof(float));
  kt->f32((const uint8_t *)v->cent, v->cent_stride * sizeof(float), v->nlist, NULL, NULL, &pc, sc->cscore);
  unsigned nc = 0;
  for (uint32_t l = 0; l < v->nlist; l++) { /* insertion into a sorted list of the best nprobe */
    float s = sc->cscore[l];
    if (nc == nprobe && !(s > sc->cscore[sc->cells[nc - 1]])) continue;
    unsigned i = nc < nprobe ? nc++ : nprobe - 1;
    while (i > 0 && s > sc->cscore[sc->cells[i - 1]]) sc->cells[i] = sc->cells[i - 1], i--;
    sc->cells[i] = l;
  }
  heap h;
  heap_init(&h, sc->e, kpool, thr_pool);
  for (unsigned c = 0; c < nc; c++) {
    const fg__ivf_list *L = &v->lists[sc->cells[c]];
    for (uint32_t b = 0; b < L->n; b += BLOCK_ROWS) {
      size_t nr = L->n - b < BLOCK_ROWS ? L->n - b : BLOCK_ROWS;
      kt->i8(L->codes + (size_t)b * v->code_bytes, v->code_bytes, nr, L->scale + b, L->sum + b, &p, sc->scores);
      if (!block_may_enter(sc->scores, nr, 1, &h)) continue;
      for (size_t r = 0; r < nr; r++) {
        if (!(sc->scores[r] >= h.floor)) continue;
        uint32_t t = L->tmpl[b + r], s = g->tsubj[t];
        if (s == FG__DEAD) continue;
        offer(&h, sc->scores[r], fused ? s : t, t, fused);
      }
    }
  }
  *unsure = 0;
  size_t n = h.n;
  if (exact_rescore) {
    n = refine_candidates(g, fg__kernel_fn(kt, g->refine ? FG_ENCODING_FP16 : g->enc), fexact, h.e, n, k, thr, mark, unsure);
    if (*unsure && h.n < kpool) /* the pool held everything the cells had: refine all of it */
      n = refine_candidates(g, fg__kernel_fn(kt, g->refine ? FG_ENCODING_FP16 : g->enc), fexact, h.e, h.n, h.n, thr,
                            mark, unsure), *unsure = 0;
  } else
    qsort(h.e, n, sizeof *h.e, cmp_best_first);
  if (n > k) n = k;
  memcpy(out, h.e, n * sizeof *out);
  return n;
}

static int ivf_search(const fg_gallery *g, const fg__kernels *kt, const float *probes, size_t n_probes, size_t stride,
                      size_t k, const fg_search_opts *opts, int fused, float thr, fg_match *matches, size_t *counts,
                      fg_error *err) {
  const fg__ivf *v = g->ivf;
  unsigned nprobe = opts->nprobe ? opts->nprobe : v->nprobe;
  if (nprobe > v->nlist) nprobe = v->nlist;
  if (nprobe < 1) nprobe = 1;
  /* candidates are re-scored with the exact rows unless the codes are the rows (plain int8) */
  int exact_rescore = g->enc != FG_ENCODING_INT8 || (g->refine && !(opts->flags & FG_SEARCH_NO_REFINE));
  size_t extra = exact_rescore ? FG_SEARCH_REFINE_EXTRA : 0;
  size_t exact_bytes = g->refine ? g->ref_row_bytes : g->row_bytes;
  size_t exact_pdim = exact_bytes / (g->refine || g->enc == FG_ENCODING_FP16 ? 2 : g->enc == FG_ENCODING_FP32 ? 4 : 1);
  ivf_scratch sc = {0};
  float *x = malloc(((size_t)g->dim + FG_SEARCH_MAX_BATCH * exact_pdim) * sizeof *x), *fexact = NULL;
  int multi = exact_rescore && fused && g->n - g->n_dead > g->ns_live;
  uint8_t *mark = multi ? calloc(g->ns / 8 + 1, 1) : NULL;
  ent *pool = malloc(FG_SEARCH_MAX_K * sizeof *pool);
  int rc = FG_OK;
  if (posix_memalign((void **)&sc.qb, 64, prep_bytes(v->code_bytes)) ||
      posix_memalign((void **)&sc.cf, 64, FG_SEARCH_MAX_BATCH * v->cent_stride * sizeof(float)))
    sc.qb = sc.qb ? sc.qb : NULL, rc = FG_ENOMEM;
  sc.cscore = malloc((size_t)v->nlist * sizeof *sc.cscore);
  sc.cells = malloc((size_t)nprobe * sizeof *sc.cells);
  sc.scores = malloc(BLOCK_ROWS * sizeof *sc.scores);
  sc.e = malloc(FG_SEARCH_MAX_K * sizeof *sc.e);
  if (rc || !x || (multi && !mark) || !pool || !sc.cscore || !sc.cells || !sc.scores || !sc.e) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory for search state");
    goto out;
  }
  memset(sc.cf, 0, FG_SEARCH_MAX_BATCH * v->cent_stride * sizeof(float));
  fexact = x + g->dim;
  memset(fexact, 0, FG_SEARCH_MAX_BATCH * exact_pdim * sizeof *fexact);
  for (size_t i = 0; i < n_probes; i++) {
    fg__normalise(probes + i * stride, g->dim, x); /* checked by the caller */
    memcpy(fexact, x, g->dim * sizeof *x);
    size_t kpool = k + extra < FG_SEARCH_MAX_K ? k + extra : FG_SEARCH_MAX_K;
    int unsure = 0;
    size_t n;
    for (;;) {
      n = ivf_one(g, kt, x, k, kpool, nprobe, fused, exact_rescore ? thr - 2 * REFINE_ERR : thr, thr, exact_rescore,
                  fexact, mark, &sc, pool, &unsure);
      if (!unsure || kpool == FG_SEARCH_MAX_K) break;
      kpool = 4 * kpool < FG_SEARCH_MAX_K ? 4 * kpool : FG_SEARCH_MAX_K; /* near-ties beyond the pool */
    }
    for (size_t e = 0; e < n; e++)
      matches[i * k + e] = (fg_match){.subject = fused ? pool[e].key : g->tsubj[pool[e].tmpl],
                                      .template_index = pool[e].tmpl, .score = pool[e].score};
    counts[i] = n;
  }
out:
  free(x), free(mark), free(pool), free(sc.qb), free(sc.cf), free(sc.cscore), free(sc.cells), free(sc.scores), free(sc.e);
  return rc;
}

/* ------------------------------------------------------------ sketch search */

static int search_impl(const fg_gallery *g, const float *probes, size_t n_probes, size_t probe_stride, size_t k,
                       const fg_search_opts *opts, fg_match *matches, size_t *counts, size_t extra, fg_error *err);

/* Exact scores of single templates for one probe, in the gallery's own
 * encoding (the fp16 refine copy of an int8 gallery that has one). */
typedef struct exact1 {
  const fg_gallery *g;
  fg__score_fn fn;
  fg__probes p;
  const uint8_t *rows;
  size_t row_bytes;
  int i8;
} exact1;

static void exact1_init(exact1 *x, const fg_gallery *g, const fg__kernels *kt, const float *f, uint8_t *qbuf) {
  x->g = g;
  x->i8 = g->enc == FG_ENCODING_INT8 && !g->refine;
  x->rows = g->refine ? g->ref : g->vec;
  x->row_bytes = g->refine ? g->ref_row_bytes : g->row_bytes;
  x->fn = fg__kernel_fn(kt, g->refine ? FG_ENCODING_FP16 : g->enc);
  size_t elem = x->i8 ? 1 : g->refine || g->enc == FG_ENCODING_FP16 ? 2 : 4;
  memset(&x->p, 0, sizeof x->p);
  x->p.nq = 1;
  x->p.pdim = x->row_bytes / elem;
  x->p.f32 = f;
  if (x->i8) { /* a quantised probe as the scan makes it */
    size_t pdim = x->p.pdim;
    int16_t *w = (int16_t *)(void *)(qbuf + FG_SEARCH_MAX_BATCH * pdim * sizeof(float));
    int8_t *q = (int8_t *)(qbuf + FG_SEARCH_MAX_BATCH * pdim * (sizeof(float) + sizeof(int16_t)));
    uint8_t *u = (uint8_t *)q + FG_SEARCH_MAX_BATCH * pdim;
    memset(q, 0, FG_SEARCH_MAX_BATCH * pdim);
    int32_t sum;
    x->p.qscale[0] = fg__quantize_i8(f, g->dim, q, &sum);
    for (size_t i = 0; i < FG_SEARCH_MAX_BATCH * pdim; i++) u[i] = (uint8_t)(q[i] + 128), w[i] = q[i];
    x->p.i8 = q, x->p.u8 = u, x->p.i16 = w;
  }
}

static float exact1_score(const exact1 *x, size_t t) {
  float s;
  x->fn(x->rows + t * x->row_bytes, x->row_bytes, 1, x->i8 ? x->g->tscale + t : NULL, x->i8 ? x->g->tsum + t : NULL,
        &x->p, &s);
  return s;
}

/* The sketch index (sketch.c), in three passes:
 *   1. the first 256 bits of every sketch against the probe's (32 bytes a
 *      template: the one pass over the whole index), keeping the first-pass
 *      candidates: at least PASS1 x `cand` of them, plus, with a threshold,
 *      every one whose distance a template scoring it could show (SKETCH_Z
 *      spreads above its expectation at 256 bits);
 *   2. their whole sketches, keeping at least `cand`, plus those a template
 *      scoring the threshold could show at the full width;
 *   3. exact scores for those alone.
 * The cuts are whole distances; every template at a cut's distance is kept.
 * Removed templates keep their sketches until compaction and may take a
 * place in the first pass's count. A probe whose cuts would keep more than a
 * quarter of the gallery (a low threshold) is searched exactly instead. */
#define SKETCH_Z 4.5 /* spreads of the Hamming estimate kept above a threshold's */
#define PASS1 8      /* first-pass candidates per final one */

/* The distance a template at cosine c shows on `bits` sketch bits, plus
 * SKETCH_Z of its spread (0 without a threshold: no cut from it). */
static int thr_cut(double c, unsigned bits) {
  if (!(c > -INFINITY)) return 0;
  c = c > 1 ? 1 : c < -1 ? -1 : c;
  double p = acos(c) / M_PI, h = bits * (p + SKETCH_Z * sqrt(p * (1 - p) / bits)) + 1;
  return h > bits ? (int)bits : (int)h;
}

/* The smallest cut keeping at least `want` of the n distances in d (all
 * within 0..maxd): a histogram of every 8th distance estimates it, and it is
 * raised until the count holds. hist: maxd + 1 counters. */
static uint16_t cut_for(const uint16_t *d, size_t n, size_t want, unsigned maxd, uint32_t *hist) {
  if (want >= n) return (uint16_t)maxd;
  memset(hist, 0, (maxd + 1) * sizeof *hist);
  for (size_t i = 0; i < n; i += 8) hist[d[i]]++;
  size_t need = want / 8 + 1, kept = 0;
  unsigned c = 0;
  for (; c < maxd; c++)
    if ((kept += hist[c]) >= need) break;
  return (uint16_t)c;
}

static int sketch_search(const fg_gallery *g, const fg__kernels *kt, const float *probes, size_t n_probes, size_t stride,
                         size_t k, const fg_search_opts *opts, int fused, float thr, fg_match *matches, size_t *counts,
                         fg_error *err) {
  const fg__sketch *sk = g->sketch;
  const fg__sketch_kernels *hk = fg__sketch_best();
  size_t cand = opts->candidates ? opts->candidates : sk->cand, n = g->n;
  size_t rb_max = g->row_bytes > g->ref_row_bytes ? g->row_bytes : g->ref_row_bytes;
  float *x = calloc((size_t)sk->bits + FG_SEARCH_MAX_BATCH * rb_max, sizeof *x);
  float *work = malloc((size_t)sk->bits * sizeof *work);
  uint8_t *pcode = NULL, *qbuf = NULL;
  uint16_t *hd = malloc((n ? n : 1) * sizeof *hd), *h2 = malloc((n ? n : 1) * sizeof *h2);
  uint32_t *idx = malloc((n ? n : 1) * sizeof *idx), *hist = malloc(((size_t)sk->bits + 1) * sizeof *hist);
  ent *storage = malloc(k * sizeof *storage);
  int rc = FG_OK;
  if (posix_memalign((void **)&pcode, 64, sk->code_bytes) || posix_memalign((void **)&qbuf, 64, prep_bytes(rb_max)))
    rc = FG_ENOMEM;
  if (rc || !x || !work || !hd || !h2 || !idx || !hist || !storage) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory for search state");
    goto out;
  }
  int t1 = thr_cut(thr, 256), t2 = thr_cut(thr, sk->bits);
  size_t live = g->n - g->n_dead;
  for (size_t i = 0; i < n_probes; i++) {
    fg__normalise(probes + i * stride, g->dim, x); /* checked by the caller */
    fg__sketch_encode(sk, x, pcode, work);
    /* 1: the first 256 bits of every sketch */
    hk->ham32(sk->lo, n, pcode, hd);
    uint16_t c1 = cut_for(hd, n, PASS1 * cand, 256, hist);
    size_t m = hk->select_le(hd, n, c1, idx);
    while (m < PASS1 * cand && m < n && c1 < 256) m = hk->select_le(hd, n, ++c1, idx); /* the estimate was short */
    if ((int)c1 < t1) m = hk->select_le(hd, n, (uint16_t)t1, idx);
    if (m > live / 4) goto exact;
    /* 2: their whole sketches */
    for (size_t j = 0; j < m; j++)
      h2[j] = (uint16_t)(hd[idx[j]] + (sk->code_bytes > 32 ? fg__hamming_scalar(sk->codes + (size_t)idx[j] * sk->code_bytes + 32,
                                                                                 pcode + 32, sk->code_bytes - 32) : 0));
    uint16_t c2 = cut_for(h2, m, cand, sk->bits, hist);
    size_t kept;
    for (;;) {
      kept = 0;
      for (size_t j = 0; j < m; j++) kept += h2[j] <= c2;
      if (kept >= cand || kept == m || c2 >= sk->bits) break;
      c2++;
    }
    if ((int)c2 < t2) c2 = (uint16_t)t2;
    /* 3: exact scores */
    exact1 ex;
    exact1_init(&ex, g, kt, x, qbuf);
    heap h;
    heap_init(&h, storage, k, thr);
    size_t scored = 0;
    for (size_t j = 0; j < m; j++) {
      if (h2[j] > c2) continue;
      uint32_t t = idx[j], s = g->tsubj[t];
      if (s == FG__DEAD) continue;
      float sc = exact1_score(&ex, t);
      scored++;
      if (sc >= h.floor) offer(&h, sc, fused ? s : t, t, fused);
    }
    if (scored > live / 4) goto exact;
    qsort(h.e, h.n, sizeof *h.e, cmp_best_first);
    for (size_t e = 0; e < h.n; e++)
      matches[i * k + e] = (fg_match){.subject = fused ? h.e[e].key : g->tsubj[h.e[e].tmpl],
                                      .template_index = h.e[e].tmpl, .score = h.e[e].score};
    counts[i] = h.n;
    continue;
  exact: { /* too many to score one by one: the exact scan is faster */
      fg_search_opts o = *opts;
      o.flags |= FG_SEARCH_EXACT;
      if ((rc = search_impl(g, probes + i * stride, 1, stride, k, &o, matches + i * k, counts + i, FG_SEARCH_REFINE_EXTRA,
                            err)))
        goto out;
    }
  }
out:
  free(x), free(work), free(pcode), free(qbuf), free(hd), free(h2), free(idx), free(hist), free(storage);
  return rc;
}

/* ------------------------------------------------------------ entry point */



int fg_gallery_search(const fg_gallery *g, const float *probes, size_t n_probes, size_t probe_stride,
                      size_t k, const fg_search_opts *opts, fg_match *matches, size_t *counts,
                      fg_error *err) {
  return search_impl(g, probes, n_probes, probe_stride, k, opts, matches, counts, FG_SEARCH_REFINE_EXTRA, err);
}

/* fg_gallery_search; with refine rows, the int8 pass keeps `extra` more
 * candidates than k (a probe whose pool turns out too small is searched again
 * with four times as many, up to FG_SEARCH_MAX_K). */
static int search_impl(const fg_gallery *g, const float *probes, size_t n_probes, size_t probe_stride, size_t k,
                       const fg_search_opts *opts, fg_match *matches, size_t *counts, size_t extra, fg_error *err) {
  static const fg_search_opts defaults = {0};
  if (!opts) opts = &defaults;
  if (counts) memset(counts, 0, n_probes * sizeof *counts);
  if (!g || (!probes && n_probes) || !matches || !counts)
    return fg__seterr(err, FG_EINVAL, "NULL gallery, probes, matches or counts");
  if (k == 0 || k > FG_SEARCH_MAX_K) return fg__seterr(err, FG_EINVAL, "k must be 1..%u", FG_SEARCH_MAX_K);
  size_t stride = probe_stride ? probe_stride : g->dim;
  if (stride < g->dim) return fg__seterr(err, FG_EINVAL, "probe stride %zu < dimension %u", stride, g->dim);
  if (opts->batch > FG_SEARCH_MAX_BATCH)
    return fg__seterr(err, FG_EINVAL, "batch must be 0..%u", FG_SEARCH_MAX_BATCH);
  const fg__kernels *kt = fg__kernels_for(opts->kernel);
  if (!kt) return fg__seterr(err, FG_EUNSUPPORTED, "this CPU cannot run the %s kernel", fg_kernel_name(opts->kernel));
  if (n_probes == 0) return FG_OK;
  {
    float *tmp = malloc((size_t)g->dim * sizeof *tmp);
    if (!tmp) return fg__seterr(err, FG_ENOMEM, "out of memory");
    for (size_t i = 0; i < n_probes; i++)
      if (fg__normalise(probes + i * stride, g->dim, tmp)) {
        free(tmp);
        return fg__seterr(err, FG_EINVAL, "probe %zu is zero or not finite", i);
      }
    free(tmp);
  }
  int fused = !(opts->flags & FG_SEARCH_TEMPLATES);
  float thr = (opts->flags & FG_SEARCH_THRESHOLD) ? opts->threshold : -INFINITY;
  if (isnan(thr)) return fg__seterr(err, FG_EINVAL, "threshold is NaN");
  if (g->ivf && !(opts->flags & FG_SEARCH_EXACT))
    return ivf_search(g, kt, probes, n_probes, stride, k, opts, fused, thr, matches, counts, err);
  if (g->sketch && !(opts->flags & FG_SEARCH_EXACT))
    return sketch_search(g, kt, probes, n_probes, stride, k, opts, fused, thr, matches, counts, err);
  /* Refine: the int8 pass keeps FG_SEARCH_REFINE_EXTRA more candidates, and
   * candidates up to 2 * REFINE_ERR below the threshold, for the fp16 pass to
   * decide. */
  int refine = g->refine && !(opts->flags & FG_SEARCH_NO_REFINE);
  size_t kout = k;
  float thr_out = thr;
  if (refine) {
    k = k + extra < FG_SEARCH_MAX_K ? k + extra : FG_SEARCH_MAX_K;
    thr = thr - 2 * REFINE_ERR;
  }

  size_t want = opts->threads > 1 ? opts->threads : 1, batch = opts->batch ? opts->batch : FG_SEARCH_MAX_BATCH;
  if (want > 256) want = 256;
  size_t nt = want;
  if (nt > g->n / FG_SEARCH_MIN_SHARD) nt = g->n / FG_SEARCH_MIN_SHARD;
  if (nt < 1) nt = 1;
  /* a gallery too small to shard, and many probes: give each thread its own probes instead */
  int by_probe = nt == 1 && want > 1 && n_probes >= 2 * batch;
  if (by_probe) nt = want < n_probes / batch ? want : n_probes / batch;
  size_t per = n_probes * k;
  job *jobs = calloc(nt, sizeof *jobs);
  heap *heaps = calloc(nt * n_probes, sizeof *heaps);
  ent *storage = malloc((nt * per + k) * sizeof *storage);
  pthread_t *tids = calloc(nt, sizeof *tids);
  size_t rpdim = refine ? g->ref_row_bytes / 2 : 0;
  float *rprobe = refine ? calloc(FG_SEARCH_MAX_BATCH * rpdim, sizeof *rprobe) : NULL;
  /* subjects with several templates: each candidate's templates are all re-scored */
  int multi = refine && fused && g->n - g->n_dead > g->ns_live;
  uint8_t *mark = multi ? calloc(g->ns / 8 + 1, 1) : NULL;
  int rc = FG_OK;
  if (!jobs || !heaps || !storage || !tids || (refine && !rprobe) || (multi && !mark)) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory for search state");
    goto out;
  }
  size_t started = 0;
  for (size_t t = 0; t < nt; t++) {
    jobs[t] = (job){.g = g, .fn = fg__kernel_fn(kt, g->enc), .probes = probes, .n_probes = n_probes,
                    .stride = stride, .k = k, .batch = batch,
                    .lo = g->n * t / nt, .hi = g->n * (t + 1) / nt, .fused = fused, .thr = thr,
                    .heaps = heaps + t * n_probes, .storage = storage + t * per, .rc = FG_OK};
    if (by_probe) { /* probes [p0, p1) over the whole gallery, straight into their final heaps */
      size_t p0 = n_probes * t / nt, p1 = n_probes * (t + 1) / nt;
      jobs[t].probes = probes + p0 * stride, jobs[t].n_probes = p1 - p0;
      jobs[t].lo = 0, jobs[t].hi = g->n;
      jobs[t].heaps = heaps + p0, jobs[t].storage = storage + p0 * k;
    }
  }
  for (size_t t = 1; t < nt; t++, started++)
    if (pthread_create(&tids[t], NULL, scan, &jobs[t])) {
      rc = fg__seterr(err, FG_EIO, "cannot start search thread %zu", t);
      break;
    }
  if (!rc) scan(&jobs[0]);
  for (size_t t = 1; t <= started; t++) pthread_join(tids[t], NULL);
  if (rc) goto out;
  for (size_t t = 0; t < nt; t++)
    if (jobs[t].rc) {
      rc = fg__seterr(err, jobs[t].rc, "out of memory in a search thread");
      goto out;
    }

  ent *merged = storage + nt * per; /* k spare entries */
  for (size_t i = 0; i < n_probes; i++) {
    heap h, *res = &heaps[i];
    if (nt > 1 && !by_probe) {
      heap_init(&h, merged, k, thr);
      for (size_t t = 0; t < nt; t++) {
        const heap *s = &heaps[t * n_probes + i];
        for (size_t e = 0; e < s->n; e++)
          if (s->e[e].score >= h.floor) offer(&h, s->e[e].score, s->e[e].key, s->e[e].tmpl, fused);
      }
      res = &h;
    }
    size_t n = res->n;
    if (refine) {
      fg__normalise(probes + i * stride, g->dim, rprobe); /* checked above */
      int unsure = 0;
      n = refine_candidates(g, kt->f16, rprobe, res->e, n, kout, thr_out, mark, &unsure);
      if (unsure && n == 0 && res->n == k && k < FG_SEARCH_MAX_K) { /* rare: near-ties beyond the pool */
        rc = search_impl(g, probes + i * stride, 1, stride, kout, opts, matches + i * kout, counts + i,
                         4 * (k - kout) + kout, err);
        if (rc) goto out;
        continue;
      }
      if (unsure) /* the pool could not grow (or held everything): refine what it holds */
        n = refine_candidates(g, kt->f16, rprobe, res->e, res->n, res->n, thr_out, mark, &unsure);
      if (n > kout) n = kout;
    } else qsort(res->e, n, sizeof *res->e, cmp_best_first);
    for (size_t e = 0; e < n; e++)
      matches[i * kout + e] = (fg_match){.subject = fused ? res->e[e].key : g->tsubj[res->e[e].tmpl],
                                         .template_index = res->e[e].tmpl, .score = res->e[e].score};
    counts[i] = n;
  }
out:
  free(jobs), free(heaps), free(storage), free(tids), free(rprobe), free(mark);
  return rc;
}
