/*
 * Threshold calibration from every cross-identity pair of a set of embeddings
 * (LFW: 13,233 images, ~87.5 million impostor pairs), and the calibration file
 * `facegate compare` reads. The method is in facegate/eval.h and
 * docs/evaluation.md; in short: two passes over all pairwise cosine scores, a
 * fine histogram first, then only the scores in the histogram bins that hold
 * the wanted order statistics, so every threshold is exact.
 *
 * The pairwise scores are a blocked matrix product E·Eᵀ over the upper
 * triangle. The matrix is copied once into column panels of FG__PANEL rows
 * stored transposed (k-major); the kernel fg__dot4x16 computes a 4x16 tile by
 * broadcasting one value of each of 4 rows against 16 contiguous panel floats,
 * a loop of independent multiply-adds that the compiler turns into SIMD
 * (SSE2 baseline, AVX2 and AVX-512 clones chosen at load time on x86-64). No
 * fused multiply-add and a fixed summation order (k ascending for every tile
 * element) make the scores bit-identical across the clones and the scalar
 * build. Row blocks of 64 are handed to the worker threads from an atomic
 * counter, largest (top of the triangle) first; each worker keeps its own
 * histogram and buffers, merged after the join, so there is no locking.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/internal.h"
#include "calib/calib_internal.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF /* same rounding in every clone and the scalar build */
#endif

#define NBINS 65536
#define ROWS 64 /* rows per work unit; a multiple of 4 and of FG__PANEL */

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
#define FG__CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FG__CLONES
#endif

/* ------------------------------------------------------------------ kernel */

float *fg__pack_panels(const float *emb, size_t n, size_t dim, size_t *npanels) {
  size_t np = (n + FG__PANEL - 1) / FG__PANEL, cnt;
  if (fg__mul_size(np * FG__PANEL, dim, &cnt) || fg__mul_size(cnt, sizeof(float), &cnt)) return NULL;
  float *p = aligned_alloc(64, (cnt + 63) & ~(size_t)63);
  if (!p) return NULL;
  for (size_t q = 0; q < np; q++) {
    float *dst = p + q * dim * FG__PANEL;
    for (size_t j = 0; j < FG__PANEL; j++) {
      size_t r = q * FG__PANEL + j;
      for (size_t k = 0; k < dim; k++) dst[k * FG__PANEL + j] = r < n ? emb[r * dim + k] : 0.0f;
    }
  }
  *npanels = np;
  return p;
}

/* The kernel proper: file-local, so the clones and their resolver stay in this
 * file (clang names an exported cloned function differently from GCC). */
FG__CLONES
static void dot4x16(const float *const a[4], const float *panel, size_t dim,
                    float out[4][FG__PANEL]) {
  float c0[FG__PANEL] = {0}, c1[FG__PANEL] = {0}, c2[FG__PANEL] = {0}, c3[FG__PANEL] = {0};
  const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
  for (size_t k = 0; k < dim; k++) {
    const float *p = panel + k * FG__PANEL;
    const float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
    for (int j = 0; j < FG__PANEL; j++) {
      c0[j] += x0 * p[j];
      c1[j] += x1 * p[j];
      c2[j] += x2 * p[j];
      c3[j] += x3 * p[j];
    }
  }
  memcpy(out[0], c0, sizeof c0);
  memcpy(out[1], c1, sizeof c1);
  memcpy(out[2], c2, sizeof c2);
  memcpy(out[3], c3, sizeof c3);
}

void fg__dot4x16(const float *const a[4], const float *panel, size_t dim,
                 float out[4][FG__PANEL]) {
  dot4x16(a, panel, dim, out);
}

void fg__dot4x16_ref(const float *const a[4], const float *panel, size_t dim,
                     float out[4][FG__PANEL]) {
  for (int r = 0; r < 4; r++)
    for (int j = 0; j < FG__PANEL; j++) {
      double s = 0;
      for (size_t k = 0; k < dim; k++) s += (double)a[r][k] * (double)panel[k * FG__PANEL + j];
      out[r][j] = (float)s;
    }
}

/* ---------------------------------------------------------------- workers */

static inline int bin_of(float s) {
  int b = (int)floorf((s + 1.0f) * (float)(NBINS / 2));
  return b < 0 ? 0 : b >= NBINS ? NBINS - 1 : b;
}

typedef struct fbuf {
  float *v;
  size_t n, cap;
} fbuf;

static int fbuf_push(fbuf *b, float x) {
  if (b->n == b->cap) {
    size_t c = b->cap ? b->cap * 2 : 4096;
    float *p = realloc(b->v, c * sizeof *p);
    if (!p) return -1;
    b->v = p;
    b->cap = c;
  }
  b->v[b->n++] = x;
  return 0;
}

typedef struct shared {
  const float *emb, *panels, *zero;
  size_t n, dim, nunits;
  const uint32_t *id;
  const uint8_t *want; /* pass 2: bins to keep; NULL in pass 1 */
  atomic_size_t next;
} shared;

typedef struct worker {
  shared *sh;
  pthread_t tid;
  uint64_t *hist; /* pass 1 */
  uint64_t imp;
  double sum, sumsq;
  float max;
  fbuf gen;  /* pass 1: genuine scores */
  fbuf keep; /* pass 2: impostor scores in wanted bins */
  int oom;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  shared *sh = w->sh;
  const size_t n = sh->n, dim = sh->dim;
  const uint32_t *id = sh->id;
  const int pass1 = sh->want == NULL;
  float out[4][FG__PANEL];
  for (;;) {
    size_t u = atomic_fetch_add(&sh->next, 1);
    if (u >= sh->nunits) break;
    size_t i0 = u * ROWS, i1 = i0 + ROWS < n ? i0 + ROWS : n;
    for (size_t p = i0 / FG__PANEL; p * FG__PANEL < n; p++) {
      const float *panel = sh->panels + p * dim * FG__PANEL;
      size_t j0 = p * FG__PANEL;
      for (size_t i = i0; i < i1; i += 4) {
        if (j0 + FG__PANEL <= i + 1) continue; /* tile entirely on or below the diagonal */
        const float *a[4];
        for (int r = 0; r < 4; r++) a[r] = i + r < i1 ? sh->emb + (i + r) * dim : sh->zero;
        dot4x16(a, panel, dim, out);
        for (int r = 0; r < 4 && i + r < i1; r++) {
          size_t ii = i + r;
          uint32_t idi = id[ii];
          size_t jstart = j0 > ii ? 0 : ii + 1 - j0;
          size_t jend = j0 + FG__PANEL <= n ? FG__PANEL : n - j0;
          for (size_t jj = jstart; jj < jend; jj++) {
            float s = out[r][jj];
            if (id[j0 + jj] == idi) {
              if (pass1 && fbuf_push(&w->gen, s)) { w->oom = 1; return NULL; }
              continue;
            }
            int b = bin_of(s);
            if (pass1) {
              w->hist[b]++;
              w->imp++;
              w->sum += s;
              w->sumsq += (double)s * s;
              if (s > w->max) w->max = s;
            } else if (sh->want[b] && fbuf_push(&w->keep, s)) {
              w->oom = 1;
              return NULL;
            }
          }
        }
      }
    }
  }
  return NULL;
}

/* Run one pass on `threads` workers (the calling thread waits). */
static int run_pass(shared *sh, worker *ws, int threads) {
  atomic_store(&sh->next, 0);
  int started = 0, rc = 0;
  for (; started < threads; started++) {
    ws[started].sh = sh;
    if (pthread_create(&ws[started].tid, NULL, work, &ws[started])) { rc = -1; break; }
  }
  if (rc) {
    /* Stop the ones started: let them drain the (now exhausted) counter. */
    atomic_store(&sh->next, sh->nunits);
  }
  for (int t = 0; t < started; t++) pthread_join(ws[t].tid, NULL);
  for (int t = 0; t < started; t++)
    if (ws[t].oom) rc = -2;
  return rc;
}

static int float_desc(const void *pa, const void *pb) {
  float a = *(const float *)pa, b = *(const float *)pb;
  return (a < b) - (a > b);
}
static int float_asc(const void *pa, const void *pb) { return -float_desc(pa, pb); }
static int cmp_u32(const void *pa, const void *pb) {
  uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
  return (a > b) - (a < b);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int fg_calib_impostor(const float *emb, size_t n, size_t dim, const uint32_t *identity,
                      const fg_calib_options *opts, fg_calib_result *out, fg_error *err) {
  static const double defaults[] = {1e-2, 1e-3, 5e-4, 1e-4, 1e-5};
  memset(out, 0, sizeof *out);
  if (!emb || !identity || n < 2 || dim < 1)
    return fg__seterr(err, FG_EINVAL, "calibration: need at least 2 embeddings of dimension >= 1");
  int threads = opts && opts->threads > 0 ? opts->threads : 2;
  if (threads > 256) threads = 256;
  if (opts && opts->nfmr) {
    if (opts->nfmr > FG_CALIB_MAX_FMR)
      return fg__seterr(err, FG_EINVAL, "calibration: at most %d target FMRs", FG_CALIB_MAX_FMR);
    out->nfmr = opts->nfmr;
    memcpy(out->fmr, opts->fmr, opts->nfmr * sizeof *opts->fmr);
  } else {
    out->nfmr = sizeof defaults / sizeof *defaults;
    memcpy(out->fmr, defaults, sizeof defaults);
  }
  for (size_t t = 0; t < out->nfmr; t++)
    if (!(out->fmr[t] > 0.0 && out->fmr[t] < 1.0))
      return fg__seterr(err, FG_EINVAL, "calibration: target FMR %g is not in (0, 1)", out->fmr[t]);

  double t0 = now_s();
  int rc = FG_OK;
  shared sh = {.emb = emb, .n = n, .dim = dim, .id = identity, .nunits = (n + ROWS - 1) / ROWS};
  worker *ws = calloc((size_t)threads, sizeof *ws);
  uint64_t *hist = calloc(NBINS, sizeof *hist);
  uint8_t *want = calloc(NBINS, 1);
  float *zero = calloc(dim, sizeof *zero);
  size_t np;
  float *panels = fg__pack_panels(emb, n, dim, &np);
  fbuf gen = {0}, keep = {0};
  if (!ws || !hist || !want || !zero || !panels) goto oom;
  for (int t = 0; t < threads; t++) {
    if (!(ws[t].hist = calloc(NBINS, sizeof *ws[t].hist))) goto oom;
    ws[t].max = -INFINITY;
  }
  sh.panels = panels;
  sh.zero = zero;

  /* Pass 1: histogram, moments, genuine scores. */
  if ((rc = run_pass(&sh, ws, threads))) goto thread_fail;
  double sum = 0, sumsq = 0;
  float mx = -INFINITY;
  for (int t = 0; t < threads; t++) {
    for (int b = 0; b < NBINS; b++) hist[b] += ws[t].hist[b];
    out->impostor_pairs += ws[t].imp;
    sum += ws[t].sum;
    sumsq += ws[t].sumsq;
    if (ws[t].max > mx) mx = ws[t].max;
    gen.n += ws[t].gen.n;
  }
  uint64_t N = out->impostor_pairs;
  if (!N) {
    rc = fg__seterr(err, FG_EINVAL, "calibration: no impostor pairs (all %zu images have one identity)", n);
    goto done;
  }
  if (gen.n) {
    if (!(gen.v = malloc(gen.n * sizeof *gen.v))) goto oom;
    size_t k = 0;
    for (int t = 0; t < threads; t++) {
      if (ws[t].gen.n) memcpy(gen.v + k, ws[t].gen.v, ws[t].gen.n * sizeof *gen.v);
      k += ws[t].gen.n;
      free(ws[t].gen.v);
      ws[t].gen = (fbuf){0};
    }
    qsort(gen.v, gen.n, sizeof *gen.v, float_asc);
  }
  out->genuine_pairs = gen.n;
  double gs = 0;
  for (size_t i = 0; i < gen.n; i++) gs += gen.v[i];
  out->genuine_mean = gen.n ? gs / (double)gen.n : 0.0;
  out->impostor_mean = sum / (double)N;
  double var = sumsq / (double)N - out->impostor_mean * out->impostor_mean;
  out->impostor_std = var > 0 ? sqrt(var) : 0.0;
  out->impostor_max = mx;

  /* Which bins hold each target's (k+1)-th highest score, and the next
   * non-empty bin above it (where the next higher distinct score may be). */
  int tbin[FG_CALIB_MAX_FMR];
  uint64_t above_bin[FG_CALIB_MAX_FMR], kk[FG_CALIB_MAX_FMR];
  for (size_t t = 0; t < out->nfmr; t++) {
    uint64_t k = (uint64_t)floor(out->fmr[t] * (double)N * (1.0 + 1e-12));
    if (k >= N) k = N - 1;
    kk[t] = k;
    uint64_t cum = 0;
    int b = NBINS - 1;
    for (; b > 0; b--) {
      if (cum + hist[b] > k) break;
      cum += hist[b];
    }
    tbin[t] = b;
    above_bin[t] = cum;
    want[b] = 1;
    for (int c = b + 1; c < NBINS; c++)
      if (hist[c]) { want[c] = 1; break; }
  }

  /* Pass 2: keep the scores in those bins. */
  sh.want = want;
  if ((rc = run_pass(&sh, ws, threads))) goto thread_fail;
  for (int t = 0; t < threads; t++) keep.n += ws[t].keep.n;
  if (!(keep.v = malloc((keep.n ? keep.n : 1) * sizeof *keep.v))) goto oom;
  {
    size_t k = 0;
    for (int t = 0; t < threads; t++) {
      if (ws[t].keep.n) memcpy(keep.v + k, ws[t].keep.v, ws[t].keep.n * sizeof *keep.v);
      k += ws[t].keep.n;
    }
  }
  qsort(keep.v, keep.n, sizeof *keep.v, float_desc);

  for (size_t t = 0; t < out->nfmr; t++) {
    /* Start of bin tbin's scores in the descending list. */
    size_t q = 0;
    while (q < keep.n && bin_of(keep.v[q]) > tbin[t]) q++;
    size_t idx = q + (size_t)(kk[t] - above_bin[t]);
    if (idx >= keep.n || bin_of(keep.v[idx]) != tbin[t]) {
      rc = fg__seterr(err, FG_EINVAL, "calibration: internal inconsistency between passes (bin %d)", tbin[t]);
      goto done;
    }
    float s = keep.v[idx];
    size_t hi = idx; /* first element (going up) with a higher value */
    while (hi > 0 && keep.v[hi - 1] == s) hi--;
    double thr;
    if (hi > 0) thr = 0.5 * ((double)s + (double)keep.v[hi - 1]);
    else thr = (double)nextafterf(s, INFINITY); /* s is the highest impostor score */
    /* Scores >= thr are those above s: all in bins above tbin, plus the part of
     * tbin above s. */
    size_t in_bin_above = hi - q;
    out->threshold[t] = thr;
    out->false_matches[t] = above_bin[t] + in_bin_above;
    if (gen.n) {
      size_t lo = 0, up = gen.n; /* genuine scores < thr */
      while (lo < up) {
        size_t mid = (lo + up) / 2;
        if ((double)gen.v[mid] < thr) lo = mid + 1;
        else up = mid;
      }
      out->fnmr[t] = (double)lo / (double)gen.n;
    }
  }
  out->images = n;
  out->dim = dim;
  {
    /* identities: distinct labels */
    uint32_t *ids = malloc(n * sizeof *ids);
    if (!ids) goto oom;
    memcpy(ids, identity, n * sizeof *ids);
    size_t d = 0;
    qsort(ids, n, sizeof *ids, cmp_u32);
    for (size_t i = 0; i < n; i++) d += !i || ids[i] != ids[i - 1];
    free(ids);
    out->identities = d;
  }
  out->seconds = now_s() - t0;
  rc = FG_OK;
  goto done;

thread_fail:
  if (rc == -1) rc = fg__seterr(err, FG_ENOMEM, "calibration: cannot start %d threads", threads);
  else rc = fg__seterr(err, FG_ENOMEM, "calibration: out of memory keeping scores");
  goto done;
oom:
  rc = fg__seterr(err, FG_ENOMEM, "calibration: out of memory (%zu x %zu embeddings)", n, dim);
done:
  if (ws)
    for (int t = 0; t < threads; t++) {
      free(ws[t].hist);
      free(ws[t].gen.v);
      free(ws[t].keep.v);
    }
  free(ws);
  free(hist);
  free(want);
  free(zero);
  free(panels);
  free(gen.v);
  free(keep.v);
  if (rc) {
    size_t nf = out->nfmr;
    double f[FG_CALIB_MAX_FMR];
    memcpy(f, out->fmr, sizeof f);
    memset(out, 0, sizeof *out);
    out->nfmr = nf;
    memcpy(out->fmr, f, sizeof f);
  }
  return rc;
}

/* ------------------------------------------------------------------- JSON */

void fg_calib_fmr_key(double fmr, char buf[16]) {
  if (!(fmr > 0) || !isfinite(fmr)) {
    snprintf(buf, 16, "%g", fmr);
    return;
  }
  int e = (int)floor(log10(fmr) + 1e-9);
  long m = lround(fmr / pow(10, e));
  if (m == 10) m = 1, e++;
  if (m >= 1 && m <= 9 && fabs(m * pow(10, e) - fmr) <= 1e-9 * fmr) snprintf(buf, 16, "%lde%d", m, e);
  else snprintf(buf, 16, "%.3g", fmr);
}

/* A JSON string through jansson's encoder (not UTF-8: null). */
static void json_str(FILE *f, const char *s) {
  json_t *j = json_string_nocheck(s ? s : "");
  if (!j || json_dumpf(j, f, JSON_ENCODE_ANY) != 0) fputs("null", f);
  json_decref(j);
}

int fg_calib_write_json(const char *path, const fg_calib_result *r, const char *model_sha256,
                        const char *embedding, const char *dataset, fg_error *err) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return fg__seterr(err, FG_ELIMIT, "calibration path too long");
  FILE *f = fopen(tmp, "w");
  if (!f) return fg__seterr(err, FG_EIO, "%s: cannot write", tmp);
  fprintf(f, "{\n  \"model_sha256\": ");
  json_str(f, model_sha256 ? model_sha256 : "");
  fprintf(f, ",\n  \"method\": ");
  json_str(f, "exact order statistics of all cross-identity cosine scores: for a target FMR f "
              "with N impostor pairs, k = floor(f*N) and the threshold is the midpoint between the "
              "(k+1)-th highest impostor score and the next higher distinct one; accept when "
              "score >= threshold (two passes: 65536-bin histogram, then the scores of the bins "
              "holding the order statistics)");
  fprintf(f, ",\n  \"impostor_pairs\": %llu,\n  \"images\": %zu,\n  \"thresholds\": {",
          (unsigned long long)r->impostor_pairs, r->images);
  char key[16];
  for (size_t t = 0; t < r->nfmr; t++) {
    fg_calib_fmr_key(r->fmr[t], key);
    fprintf(f, "%s\"%s\": %.9f", t ? ", " : "", key, r->threshold[t]);
  }
  fprintf(f, "},\n  \"false_matches\": {");
  for (size_t t = 0; t < r->nfmr; t++) {
    fg_calib_fmr_key(r->fmr[t], key);
    fprintf(f, "%s\"%s\": %llu", t ? ", " : "", key, (unsigned long long)r->false_matches[t]);
  }
  fprintf(f, "},\n  \"fnmr_all_genuine_pairs\": {");
  for (size_t t = 0; t < r->nfmr; t++) {
    fg_calib_fmr_key(r->fmr[t], key);
    fprintf(f, "%s\"%s\": %.6f", t ? ", " : "", key, r->fnmr[t]);
  }
  fprintf(f, "},\n  \"identities\": %zu,\n  \"genuine_pairs\": %llu,\n  \"dim\": %zu,\n", r->identities,
          (unsigned long long)r->genuine_pairs, r->dim);
  fprintf(f, "  \"impostor_mean\": %.6f,\n  \"impostor_std\": %.6f,\n  \"impostor_max\": %.6f,\n"
             "  \"genuine_mean\": %.6f,\n",
          r->impostor_mean, r->impostor_std, r->impostor_max, r->genuine_mean);
  fprintf(f, "  \"embedding\": ");
  json_str(f, embedding ? embedding : "");
  fprintf(f, ",\n  \"dataset\": ");
  json_str(f, dataset ? dataset : "");
  fprintf(f, "\n}\n");
  int bad = ferror(f);
  if (fclose(f) || bad) {
    remove(tmp);
    return fg__seterr(err, FG_EIO, "%s: write error", tmp);
  }
  if (rename(tmp, path)) {
    remove(tmp);
    return fg__seterr(err, FG_EIO, "%s: cannot rename to %s", tmp, path);
  }
  return FG_OK;
}
