/*
 * A sketch index over a gallery: one bit per dimension of every template
 * (64 bytes for 512-d instead of the int8 row's 524), scanned in full with
 * XOR and POPCNT, then exact search on the few templates the scan keeps.
 *
 * The bits are the signs of the template after a fixed random rotation (three
 * rounds of random sign flips and a Walsh-Hadamard transform: O(d log d), a
 * near-uniform random rotation). For two unit vectors at angle a, each bit
 * differs with probability a / pi, so the Hamming distance h between their
 * sketches estimates the cosine, cos(pi h / bits), with a spread of about
 * sqrt(p (1 - p) / bits) in p = h / bits (0.022 at 512 bits). A search keeps
 * every template whose sketch is within the `candidates` nearest of the
 * probe's and, with a threshold T, also every one whose Hamming distance is
 * below what a template scoring T would show plus 4.5 of that spread (a true
 * score >= T is left out with probability below 4e-6 per template); those
 * alone are scored exactly with the gallery's own rows. The scores returned
 * are exact search's; what can be missed is a template whose sketch looked
 * farther than the cut (docs/matching.md measures how often, against FAISS
 * and hnswlib).
 *
 * Measured on LFW face embeddings (bench-watchlist): the k-means cells of an
 * IVF index (ivf.c) do not hold a probe's mate reliably even when half of
 * them are searched (mated recall@1 0.998 at 100,000 templates), while 64-byte
 * sketches with 256 candidates hold it every time (1.000); the sketch scan
 * reads 8 x less memory than the int8 scan.
 *
 * Like the IVF index it follows the gallery (add, remove, compact) and lives
 * in memory only. A sketch is kept per template slot (removed ones are
 * skipped at search and dropped by compaction).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/internal.h"
#include "match/match.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fg__sketch_free(fg__sketch *k) {
  if (!k) return;
  free(k->signs);
  free(k->codes);
  free(k->lo);
  free(k);
}

/* In-place Walsh-Hadamard transform of n = 2^m values (unnormalised). */
static void fwht(float *x, uint32_t n) {
  for (uint32_t h = 1; h < n; h *= 2)
    for (uint32_t i = 0; i < n; i += 2 * h)
      for (uint32_t j = i; j < i + h; j++) {
        float a = x[j], b = x[j + h];
        x[j] = a + b, x[j + h] = a - b;
      }
}

void fg__sketch_encode(const fg__sketch *k, const float *x, uint8_t *code, float *work) {
  memset(work, 0, k->bits * sizeof *work);
  memcpy(work, x, k->dim * sizeof *work);
  for (int r = 0; r < FG__SKETCH_ROUNDS; r++) {
    const int8_t *s = k->signs + (size_t)r * k->wdim;
    for (uint32_t i = 0; i < k->wdim; i++) work[i] *= s[i];
    fwht(work, k->wdim);
  }
  memset(code, 0, k->code_bytes);
  for (uint32_t i = 0; i < k->wdim; i++) /* bits past wdim stay 0 in every code */
    if (work[i] > 0) code[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static void put(fg__sketch *k, size_t t, const float *x, float *work) {
  fg__sketch_encode(k, x, k->codes + t * k->code_bytes, work);
  memcpy(k->lo + 32 * t, k->codes + t * k->code_bytes, 32);
}

uint32_t fg__hamming_scalar(const uint8_t *a, const uint8_t *b, size_t bytes) {
  uint32_t h = 0;
  for (size_t i = 0; i < bytes; i += 8) {
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    h += (uint32_t)__builtin_popcountll(x ^ y);
  }
  return h;
}

/* The scalar twins of the AVX-512 kernels (kern_avx512.c), and the reference they are tested against. */
static void ham32_scalar(const uint8_t *codes, size_t n, const uint8_t *probe, uint16_t *out) {
  for (size_t i = 0; i < n; i++) out[i] = (uint16_t)fg__hamming_scalar(codes + 32 * i, probe, 32);
}

static size_t select_le_scalar(const uint16_t *d, size_t n, uint16_t cut, uint32_t *idx) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (d[i] <= cut) idx[k++] = (uint32_t)i;
  return k;
}

const fg__sketch_kernels fg__sketch_scalar = {ham32_scalar, select_le_scalar};

static int slots_reserve(fg__sketch *k, size_t need) {
  if (need <= k->cap) return 0;
  size_t cap = k->cap ? k->cap : 1024;
  while (cap < need) cap *= 2;
  uint8_t *c = NULL, *lo = NULL;
  if (posix_memalign((void **)&c, 64, cap * k->code_bytes)) return -1;
  if (posix_memalign((void **)&lo, 64, cap * 32)) {
    free(c);
    return -1;
  }
  if (k->slots) memcpy(c, k->codes, k->slots * k->code_bytes), memcpy(lo, k->lo, k->slots * 32);
  free(k->codes), free(k->lo);
  k->codes = c, k->lo = lo, k->cap = cap;
  return 0;
}

int fg__sketch_new(uint32_t dim, uint64_t seed, fg__sketch **out) {
  fg__sketch *k = calloc(1, sizeof *k);
  if (!k) return -1;
  k->dim = dim;
  k->wdim = 1;
  while (k->wdim < dim) k->wdim *= 2;
  k->bits = k->wdim < 256 ? 256 : k->wdim;     /* every output of the rotation (zero-padded to 256) */
  k->code_bytes = (k->bits + 255) / 256 * 32;  /* whole 256-bit words */
  k->signs = malloc((size_t)FG__SKETCH_ROUNDS * k->wdim);
  if (!k->signs) {
    free(k);
    return -1;
  }
  uint64_t s = seed ? seed : 0x5eed5eed5eed5eedull;
  for (size_t i = 0; i < (size_t)FG__SKETCH_ROUNDS * k->wdim; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    k->signs[i] = (s >> 63) ? 1 : -1;
  }
  *out = k;
  return 0;
}

int fg_gallery_sketch_build(fg_gallery *g, const fg_sketch_opts *opts, fg_error *err) {
  static const fg_sketch_opts defaults = {0};
  if (!g) return fg__seterr(err, FG_EINVAL, "gallery is NULL");
  if (!opts) opts = &defaults;
  double t0 = now_s();
  fg__sketch *k;
  if (fg__sketch_new(g->dim, opts->seed, &k)) return fg__seterr(err, FG_ENOMEM, "out of memory building the sketches");
  k->cand = opts->candidates ? opts->candidates : 256;
  float *x = malloc(((size_t)g->dim + k->bits) * sizeof *x);
  if (!x || slots_reserve(k, g->n > g->cap ? g->n : g->cap ? g->cap : 1)) {
    free(x);
    fg__sketch_free(k);
    return fg__seterr(err, FG_ENOMEM, "out of memory building the sketches");
  }
  for (size_t t = 0; t < g->n; t++) {
    if (g->tsubj[t] == FG__DEAD) {
      memset(k->codes + t * k->code_bytes, 0, k->code_bytes);
      memset(k->lo + 32 * t, 0, 32);
      continue;
    }
    fg_gallery_template(g, t, NULL, x);
    fg__normalise(x, g->dim, x);
    put(k, t, x, x + g->dim);
  }
  k->slots = g->n;
  k->build_s = now_s() - t0;
  free(x);
  fg_gallery_index_drop(g);
  g->sketch = k;
  return FG_OK;
}

/* ---- kept current by gallery.c ---- */

int fg__sketch_prepare_add(fg_gallery *g) {
  return g->sketch && slots_reserve(g->sketch, g->n + 1) ? -1 : 0;
}

void fg__sketch_commit_add(fg_gallery *g, size_t t, const float *x) {
  fg__sketch *k = g->sketch;
  if (!k) return;
  float work[FG_GALLERY_MAX_DIM];
  put(k, t, x, work);
  if (t >= k->slots) k->slots = t + 1;
}

void fg__sketch_renumber(fg_gallery *g, const uint32_t *remap, size_t old_n) {
  fg__sketch *k = g->sketch;
  if (!k) return;
  for (size_t t = 0; t < old_n && t < k->slots; t++)
    if (remap[t] != FG__DEAD && remap[t] != t) {
      memmove(k->codes + (size_t)remap[t] * k->code_bytes, k->codes + t * k->code_bytes, k->code_bytes);
      memmove(k->lo + (size_t)remap[t] * 32, k->lo + t * 32, 32);
    }
  k->slots = g->n;
}

int fg_gallery_sketch_info(const fg_gallery *g, fg_sketch_info *info) {
  memset(info, 0, sizeof *info);
  if (!g || !g->sketch) return FG_ENOTFOUND;
  const fg__sketch *k = g->sketch;
  info->bits = k->bits;
  info->candidates = k->cand;
  info->entries = g->n - g->n_dead;
  info->bytes = k->slots * (k->code_bytes + 32) + (size_t)FG__SKETCH_ROUNDS * k->wdim; /* in use (capacity grows by doubling) */
  info->bytes_per_entry = info->entries ? (double)info->bytes / (double)info->entries : 0;
  info->build_s = k->build_s;
  return FG_OK;
}

void fg_gallery_index_drop(fg_gallery *g) {
  if (!g) return;
  fg__ivf_free(g->ivf);
  fg__sketch_free(g->sketch);
  g->ivf = NULL;
  g->sketch = NULL;
}
