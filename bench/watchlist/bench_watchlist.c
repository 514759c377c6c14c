/*
 * bench_watchlist — facegate's side of `make bench-watchlist` (scripts/bench-
 * watchlist runs it, then the FAISS and hnswlib peers on the same vectors, then
 * the report). A watchlist is screened on every capture with a strict
 * threshold; at a million entries an exact scan costs more than the whole
 * encounter budget, so the gallery gets an index: the sketch index
 * (src/match/sketch.c, what the border uses) and, for comparison, the IVF
 * index (src/match/ivf.c), each at several settings.
 *
 *   bench_watchlist DIR [--n 1000000] [--candidates 64,128,256,512]
 *                   [--nprobe 8,16,32,64] [--nlist 0]
 *                   [--fpir 0.003] [--calibration FILE] [--build-threads 2]
 *                   [--updates 1000] [--out FILE.json]
 *
 * Vectors: DIR/base.npy (the first n rows are the watchlist), DIR/probes.npy,
 * DIR/mates.npy (bench/search/gen.py writes them: real LFW embeddings and
 * rotated copies of them, or synthetic). The gallery is fp16, as the border
 * keeps its watchlist (src/border/gallery_cache.c).
 *
 * Measured, one thread, one probe per call: the exact scan (FG_SEARCH_EXACT)
 * and the indexed searches (sketch at each candidates count, IVF at each
 * nprobe): median and p90 latency, recall@1
 * against the exact scan (all probes; mated probes), and the watchlist's own
 * criterion: at the threshold for FPIR `fpir` in a gallery of n
 * (fg_fpir_threshold on the shipped FPIR calibration; beyond its range, the
 * strictest measured threshold, as the border does), a hit is a probe whose
 * exact top 1 scores at or above it; a hit is lost when the index's top 1 is
 * another entry or scores below. The same at thresholds 0.35, 0.45 and 0.55,
 * which many more probes reach (hits_lost_at: the lower the threshold, the
 * more near-threshold non-mates an index could miss). Also: build time (gallery, index), memory
 * per entry (gallery rows, index), and `updates` entries added then removed
 * through the index (time per add and per remove; each added one found).
 * Writes DIR/exact-N.npy (the exact top-1 index and score per probe) for the
 * peers, and one JSON object (stdout or --out).
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "facegate/calibration.h"
#include "facegate/gallery.h"
#include "facegate/nn.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const char *msg) {
  fprintf(stderr, "bench_watchlist: %s: %s\n", what, msg);
  exit(1);
}

/* A float32 .npy viewed in place (C order, little-endian, 2-D). */
typedef struct npy {
  const float *data;
  size_t rows, cols;
  void *map;
  size_t len;
} npy;

static void npy_map(const char *path, npy *a) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st)) die(path, "cannot open");
  a->len = (size_t)st.st_size;
  a->map = mmap(NULL, a->len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (a->map == MAP_FAILED) die(path, "cannot map");
  const unsigned char *b = a->map;
  if (a->len < 12 || memcmp(b, "\x93NUMPY", 6)) die(path, "not a .npy file");
  size_t hl = b[6] == 1 ? (size_t)(b[8] | b[9] << 8) : (size_t)(b[8] | b[9] << 8 | b[10] << 16 | (size_t)b[11] << 24);
  size_t off = b[6] == 1 ? 10 : 12;
  const char *h = (const char *)b + off;
  if (!strstr(h, "'<f4'") || strstr(h, "'fortran_order': True")) die(path, "not a C-order float32 array");
  const char *sh = strstr(h, "'shape': (");
  if (!sh || sscanf(sh, "'shape': (%zu, %zu)", &a->rows, &a->cols) != 2) die(path, "not 2-D");
  a->data = (const float *)(b + off + hl);
  if (off + hl + a->rows * a->cols * 4 > a->len) die(path, "truncated");
}

static void npy_unmap(npy *a) { munmap(a->map, a->len); }

static long *read_mates(const char *path, size_t n) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path, "cannot open");
  unsigned char h[256];
  if (fread(h, 1, 10, f) != 10 || memcmp(h, "\x93NUMPY", 6)) die(path, "not a .npy file");
  size_t hl = (size_t)(h[8] | h[9] << 8);
  if (hl > sizeof h || fread(h, 1, hl, f) != hl) die(path, "bad header");
  long *m = malloc(n * sizeof *m);
  int64_t v;
  for (size_t i = 0; i < n; i++) {
    if (fread(&v, 8, 1, f) != 1) die(path, "truncated");
    m[i] = (long)v;
  }
  fclose(f);
  return m;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double quant(double *v, size_t n, double q) {
  qsort(v, n, sizeof *v, cmp_d);
  return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

int main(int argc, char **argv) {
  const char *dir = NULL, *out = NULL, *calib = FG_FPIR_CALIBRATION_DEFAULT;
  size_t n = 1000000, updates = 1000;
  unsigned nlist = 0, build_threads = 2, nprobes[16] = {8, 16, 32, 64}, n_np = 4, cands[16] = {64, 128, 256, 512}, n_c = 4;
  double fpir = 0.003;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--n") && i + 1 < argc) n = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(a, "--nlist") && i + 1 < argc) nlist = (unsigned)strtoul(argv[++i], NULL, 10);
    else if (!strcmp(a, "--fpir") && i + 1 < argc) fpir = atof(argv[++i]);
    else if (!strcmp(a, "--calibration") && i + 1 < argc) calib = argv[++i];
    else if (!strcmp(a, "--build-threads") && i + 1 < argc) build_threads = (unsigned)atoi(argv[++i]);
    else if (!strcmp(a, "--updates") && i + 1 < argc) updates = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(a, "--out") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(a, "--nprobe") && i + 1 < argc) {
      n_np = 0;
      for (char *s = argv[++i]; *s && n_np < 16; s = strchr(s, ',') ? strchr(s, ',') + 1 : s + strlen(s))
        nprobes[n_np++] = (unsigned)strtoul(s, NULL, 10);
    } else if (!strcmp(a, "--candidates") && i + 1 < argc) {
      n_c = 0;
      for (char *s = argv[++i]; *s && n_c < 16; s = strchr(s, ',') ? strchr(s, ',') + 1 : s + strlen(s))
        cands[n_c++] = (unsigned)strtoul(s, NULL, 10);
    } else if (a[0] != '-' && !dir) dir = a;
    else {
      fprintf(stderr, "usage: bench_watchlist DIR [--n N] [--nprobe a,b,..] [--nlist N] [--fpir F] "
                      "[--calibration FILE] [--build-threads N] [--updates N] [--out FILE]\n");
      return 2;
    }
  }
  if (!dir) die("usage", "no data directory");
  char path[4096];
  npy base, probes;
  snprintf(path, sizeof path, "%s/base.npy", dir);
  npy_map(path, &base);
  snprintf(path, sizeof path, "%s/probes.npy", dir);
  npy_map(path, &probes);
  if (n > base.rows) n = base.rows;
  uint32_t dim = (uint32_t)base.cols;
  size_t np = probes.rows;
  snprintf(path, sizeof path, "%s/mates.npy", dir);
  long *mates = read_mates(path, np);
  fg_error e;
  fg_fpir_calibration cal;
  double thr;
  if (fg_fpir_calibration_load(calib, &cal, &e)) die(calib, e.msg);
  int rc = fg_fpir_threshold(&cal, NULL, n, fpir, &thr, &e);
  if (rc == FG_ELIMIT) { /* as the border does (src/border/border.c): the strictest measured threshold */
    thr = -1;
    for (int i = 0; i < cal.n_sizes; i++)
      for (int j = 0; j < cal.n_fpir; j++)
        if (cal.threshold[i][j] > thr) thr = cal.threshold[i][j];
  } else if (rc) die(calib, e.msg);
  /* and lower thresholds, where many more probes are hits: what an index could miss */
  static const double sweep[] = {0.35, 0.45, 0.55};
  enum { NSWEEP = 3 };

  /* the watchlist gallery, fp16 as the border keeps it */
  fprintf(stderr, "bench_watchlist: %zu entries of %u values\n", n, dim);
  double t = now();
  fg_gallery *g;
  if (fg_gallery_create(dim, FG_ENCODING_FP16, NULL, &g, &e)) die("gallery", e.msg);
  char id[32];
  for (size_t i = 0; i < n; i++) {
    snprintf(id, sizeof id, "w%zu", i);
    if (fg_gallery_add(g, id, base.data + i * dim, dim, NULL, &e)) die("add", e.msg);
  }
  double gallery_s = now() - t;
  fg_gallery_info gi;
  fg_gallery_get_info(g, &gi);

  /* exact scan: the reference, and its time */
  fg_match m;
  size_t cnt;
  double *lat = malloc(np * sizeof *lat);
  long *ex = malloc(np * sizeof *ex);
  float *exs = malloc(np * sizeof *exs);
  fg_search_opts ox = {.flags = FG_SEARCH_EXACT};
  fprintf(stderr, "bench_watchlist: exact scan of %zu probes\n", np);
  for (size_t i = 0; i < np; i++) {
    t = now();
    if (fg_gallery_search(g, probes.data + i * dim, 1, 0, 1, &ox, &m, &cnt, &e)) die("search", e.msg);
    lat[i] = 1e3 * (now() - t);
    ex[i] = cnt ? (long)m.template_index : -1;
    exs[i] = cnt ? m.score : -INFINITY;
  }
  double exact_med = quant(lat, np, 0.5), exact_p90 = quant(lat, np, 0.9);
  size_t hits = 0, mated = 0, hits_sw[NSWEEP] = {0};
  for (size_t i = 0; i < np; i++) {
    hits += exs[i] >= thr, mated += mates[i] >= 0;
    for (int k = 0; k < NSWEEP; k++) hits_sw[k] += exs[i] >= sweep[k];
  }
  { /* the exact answers, for the peers: [index, score] rows */
    snprintf(path, sizeof path, "%s/exact-%zu.npy", dir, n);
    float *rows = malloc(np * 2 * sizeof *rows);
    for (size_t i = 0; i < np; i++) rows[2 * i] = (float)ex[i], rows[2 * i + 1] = exs[i];
    int64_t d[2] = {(int64_t)np, 2};
    if (fg_npy_write(path, rows, 2, d, &e)) die(path, e.msg);
    free(rows);
  }

  FILE *f = out ? fopen(out, "w") : stdout;
  if (!f) die(out, "cannot write");
  fprintf(f, "{\"entries\": %zu, \"dim\": %u, \"probes\": %zu, \"mated_probes\": %zu, \"fpir\": %g, \"threshold\": %.6f, "
             "\"hits_exact\": %zu, \"gallery_build_s\": %.3f, \"gallery_bytes_per_entry\": %zu, "
             "\"exact\": {\"probe_ms_median_1thread\": %.4f, \"probe_ms_p90_1thread\": %.4f}, \"hits_exact_at\": {",
          n, dim, np, mated, fpir, thr, hits, gallery_s, gi.bytes_per_template, exact_med, exact_p90);
  for (int k = 0; k < NSWEEP; k++) fprintf(f, "%s\"%.2f\": %zu", k ? ", " : "", sweep[k], hits_sw[k]);
  fprintf(f, "}");

  /* the two indexes, each at its settings; the sketch index last (the one kept for the updates) */
  for (int kind = 0; kind < 2; kind++) {
    int sketch = kind == 1;
    fprintf(stderr, "bench_watchlist: building the %s index\n", sketch ? "sketch" : "IVF");
    double build_s, bpe;
    if (sketch) {
      if (fg_gallery_sketch_build(g, NULL, &e)) die("sketch index", e.msg);
      fg_sketch_info si;
      fg_gallery_sketch_info(g, &si);
      build_s = si.build_s, bpe = si.bytes_per_entry;
      fprintf(f, ", \"sketch\": {\"bits\": %u, \"default_candidates\": %u, \"build_s\": %.3f, \"bytes_per_entry\": %.1f, "
                 "\"runs\": [", si.bits, si.candidates, build_s, bpe);
    } else {
      fg_ivf_opts io = {.nlist = nlist, .threads = build_threads};
      if (fg_gallery_ivf_build(g, &io, &e)) die("IVF index", e.msg);
      fg_ivf_info ii;
      fg_gallery_ivf_info(g, &ii);
      build_s = ii.build_s, bpe = ii.bytes_per_entry;
      fprintf(f, ", \"ivf\": {\"nlist\": %u, \"default_nprobe\": %u, \"build_s\": %.3f, \"bytes_per_entry\": %.1f, "
                 "\"largest_cell\": %zu, \"build_threads\": %u, \"runs\": [", ii.nlist, ii.nprobe, build_s, bpe,
              ii.largest_cell, build_threads);
    }
    unsigned nset = sketch ? n_c : n_np;
    for (unsigned r = 0; r < nset; r++) {
      fg_search_opts oi = {.nprobe = sketch ? 0 : nprobes[r], .candidates = sketch ? cands[r] : 0};
      size_t agree = 0, agree_mated = 0, lost = 0, lost_sw[NSWEEP] = {0};
      for (size_t i = 0; i < np; i++) {
        t = now();
        if (fg_gallery_search(g, probes.data + i * dim, 1, 0, 1, &oi, &m, &cnt, &e)) die("search", e.msg);
        lat[i] = 1e3 * (now() - t);
        int same = cnt && (long)m.template_index == ex[i];
        agree += (size_t)same;
        agree_mated += (size_t)(same && mates[i] >= 0);
        if (exs[i] >= thr && !(same && m.score >= thr)) lost++;
      }
      /* hits at the lower thresholds: searched with that threshold (the sketch
       * index then also keeps every template that could reach it) */
      for (int k = 0; k < NSWEEP; k++) {
        fg_search_opts ot = oi;
        ot.flags = FG_SEARCH_THRESHOLD;
        ot.threshold = (float)sweep[k];
        for (size_t i = 0; i < np; i++) {
          if (!(exs[i] >= sweep[k])) continue;
          if (fg_gallery_search(g, probes.data + i * dim, 1, 0, 1, &ot, &m, &cnt, &e)) die("search", e.msg);
          lost_sw[k] += !(cnt && (long)m.template_index == ex[i]);
        }
      }
      fprintf(f, "%s{\"%s\": %u, \"probe_ms_median_1thread\": %.4f, \"probe_ms_p90_1thread\": %.4f, "
                 "\"recall_at_1\": %.5f, \"recall_at_1_mated\": %.5f, \"hits_lost_at_threshold\": %zu, \"hits_lost_at\": {",
              r ? ", " : "", sketch ? "candidates" : "nprobe", sketch ? cands[r] : nprobes[r], quant(lat, np, 0.5),
              quant(lat, np, 0.9), (double)agree / (double)np, mated ? (double)agree_mated / (double)mated : 1.0, lost);
      for (int k = 0; k < NSWEEP; k++) fprintf(f, "%s\"%.2f\": %zu", k ? ", " : "", sweep[k], lost_sw[k]);
      fprintf(f, "}}");
      fflush(f);
      fprintf(stderr, "bench_watchlist: %s %u done\n", sketch ? "candidates" : "nprobe", sketch ? cands[r] : nprobes[r]);
    }
    fprintf(f, "]}");
  }

  /* updates through the index: add entries (each must then be found), remove them */
  if (updates > 0) {
    float *x = malloc(dim * sizeof *x);
    uint64_t s = 12345;
    double add_s = 0, rm_s = 0;
    size_t found = 0;
    for (size_t u = 0; u < updates; u++) {
      for (uint32_t d = 0; d < dim; d++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[d] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
      }
      snprintf(id, sizeof id, "new%zu", u);
      t = now();
      if (fg_gallery_add(g, id, x, dim, NULL, &e)) die("add", e.msg);
      add_s += now() - t;
      if (!fg_gallery_search(g, x, 1, 0, 1, NULL, &m, &cnt, &e) && cnt &&
          !strcmp(fg_gallery_subject_id(g, m.subject, NULL), id))
        found++;
    }
    for (size_t u = 0; u < updates; u++) {
      snprintf(id, sizeof id, "new%zu", u);
      t = now();
      if (fg_gallery_remove(g, id, NULL, &e)) die("remove", e.msg);
      rm_s += now() - t;
    }
    fprintf(f, ", \"updates\": {\"added\": %zu, \"found_after_add\": %zu, \"add_us_mean\": %.2f, \"remove_us_mean\": %.2f}",
            updates, found, 1e6 * add_s / (double)updates, 1e6 * rm_s / (double)updates);
    free(x);
  }
  fprintf(f, "}\n");
  if (out) fclose(f);
  fg_gallery_destroy(g);
  npy_unmap(&base), npy_unmap(&probes);
  free(lat), free(ex), free(exs), free(mates);
  return 0;
}
