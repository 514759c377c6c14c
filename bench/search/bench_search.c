/*
 * bench_search — facegate's side of `make bench-search` (scripts/bench-search
 * runs it, then the FAISS / hnswlib peers on the same vectors, then prints the
 * table). Reads the vectors bench/search/gen.py wrote:
 *
 *   bench_search DIR [--sizes 420,10000,100000,1000000] [--threads 1,2]
 *                [--single N] [--batched N] [--k 10] [--out FILE.json]
 *
 * For each gallery size n (the first n rows of DIR/base.npy) and each
 * encoding it builds a gallery and measures, at each thread count:
 *   single   one probe per fg_gallery_search call: median and mean latency
 *   batched  all probes in one call (8 probes per pass over memory): probes/s
 * and, from the batched results, recall@1 against exact fp32 search (the fp32
 * gallery's top 1) over all probes and over the mated ones, plus the
 * identification rate of mated probes (top 1 is the mate, DIR/mates.npy).
 * Bytes scanned per probe are the rows plus the per-template metadata the scan
 * reads; "bandwidth" is bytes per probe / mean single-probe latency.
 *
 * "int8r" is int8 with FG_GALLERY_REFINE, searched the way a service would
 * hold a large one: saved to DIR/refine-N.fgg (deleted afterwards), dropped
 * from the page cache, opened mapped; after its searches, mincore() counts
 * how much of the fp16 refine section was ever read into memory
 * ("refine_resident_bytes").
 *
 * It also measures the machine's streaming read bandwidth with a plain read
 * kernel (sum of 64-bit words over a 1 GiB buffer, AVX-512 or AVX2 loads, 8
 * independent accumulators) at each thread count, best of 5 passes.
 *
 * Output: one JSON object on stdout (or --out), read by bench/search/report.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "facegate/gallery.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *fmt, const char *a) {
  fprintf(stderr, "bench_search: ");
  fprintf(stderr, fmt, a);
  fprintf(stderr, "\n");
  exit(1);
}

/* ---------------------------------------------------------------- refine galleries */

/* Save g to path, drop the file from the page cache, open it mapped (lazy:
 * the digest pass would read every byte) and return that instead of g. */
static fg_gallery *reopen_cold(fg_gallery *g, const char *path) {
  fg_error e;
  if (fg_gallery_save(g, path, &e)) die("%s", e.msg);
  fg_gallery_destroy(g);
  int fd = open(path, O_RDONLY);
  if (fd < 0 || fdatasync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)) die("%s: cannot drop from cache", path);
  close(fd);
  fg_gallery *h;
  if (fg_gallery_open(path, NULL, FG_GALLERY_OPEN_LAZY, &h, &e)) die("%s", e.msg);
  return h;
}

/* Bytes of the last `tail` bytes of the file that are in the page cache. */
static size_t resident_tail(const char *path, size_t tail) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st)) die("%s: cannot open", path);
  size_t len = (size_t)st.st_size, pg = (size_t)sysconf(_SC_PAGESIZE);
  void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) die("%s: cannot map", path);
  size_t from = (len - tail) / pg * pg, pages = (len - from + pg - 1) / pg, res = 0;
  unsigned char *v = malloc(pages);
  if (!v || mincore((char *)m + from, len - from, v)) die("%s: mincore failed", path);
  for (size_t i = 0; i < pages; i++) res += v[i] & 1;
  free(v);
  munmap(m, len);
  return res * pg;
}

/* ---------------------------------------------------------------- .npy (mmap) */

typedef struct npy {
  const void *data;
  size_t rows, cols;
  int is_i64;
} npy;

static void npy_map(const char *path, npy *a) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) die("cannot open %s", path);
  struct stat st;
  fstat(fd, &st);
  const uint8_t *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED || st.st_size < 16 || memcmp(p, "\x93NUMPY", 6)) die("%s: not a .npy file", path);
  size_t hl = p[6] == 1 ? (size_t)(p[8] | p[9] << 8) : (size_t)(p[8] | p[9] << 8 | p[10] << 16 | p[11] << 24);
  size_t off = (p[6] == 1 ? 10 : 12) + hl;
  char hdr[4096];
  snprintf(hdr, sizeof hdr, "%.*s", (int)(hl < 4000 ? hl : 4000), (const char *)p + off - hl);
  a->is_i64 = strstr(hdr, "<i8") != NULL;
  if (!a->is_i64 && !strstr(hdr, "<f4")) die("%s: expected float32 or int64", path);
  if (strstr(hdr, "'fortran_order': True")) die("%s: Fortran order", path);
  const char *s = strstr(hdr, "'shape': (");
  if (!s) die("%s: no shape", path);
  s += 10;
  a->rows = strtoull(s, (char **)&s, 10);
  a->cols = 1;
  if (*s == ',' && s[1] == ' ' && s[2] != ')') a->cols = strtoull(s + 2, NULL, 10);
  a->data = p + off;
}

/* ---------------------------------------------------------------- bandwidth */

typedef struct bw_job {
  const uint64_t *p;
  size_t n; /* words */
  uint64_t sum;
} bw_job;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static uint64_t read512(const uint64_t *p, size_t n) {
  __m512i a[8];
  for (int i = 0; i < 8; i++) a[i] = _mm512_setzero_si512();
  for (size_t i = 0; i + 64 <= n; i += 64)
    for (int j = 0; j < 8; j++) a[j] = _mm512_add_epi64(a[j], _mm512_load_si512((const void *)(p + i + 8 * j)));
  for (int j = 1; j < 8; j++) a[0] = _mm512_add_epi64(a[0], a[j]);
  return (uint64_t)_mm512_reduce_add_epi64(a[0]);
}
__attribute__((target("avx2"))) static uint64_t read256(const uint64_t *p, size_t n) {
  __m256i a[8];
  for (int i = 0; i < 8; i++) a[i] = _mm256_setzero_si256();
  for (size_t i = 0; i + 32 <= n; i += 32)
    for (int j = 0; j < 8; j++) a[j] = _mm256_add_epi64(a[j], _mm256_load_si256((const void *)(p + i + 4 * j)));
  for (int j = 1; j < 8; j++) a[0] = _mm256_add_epi64(a[0], a[j]);
  uint64_t o[4];
  _mm256_storeu_si256((void *)o, a[0]);
  return o[0] + o[1] + o[2] + o[3];
}
#endif

static void *bw_run(void *arg) {
  bw_job *j = arg;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) j->sum = read512(j->p, j->n);
  else if (__builtin_cpu_supports("avx2")) j->sum = read256(j->p, j->n);
  else
#endif
  {
    uint64_t s = 0;
    for (size_t i = 0; i < j->n; i++) s += j->p[i];
    j->sum = s;
  }
  return NULL;
}

static double bandwidth(const uint64_t *buf, size_t words, int threads) {
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    bw_job jobs[16];
    pthread_t tid[16];
    double t0 = now();
    for (int t = 0; t < threads; t++) {
      size_t lo = words * (size_t)t / (size_t)threads / 64 * 64, hi = words * (size_t)(t + 1) / (size_t)threads / 64 * 64;
      jobs[t] = (bw_job){buf + lo, hi - lo, 0};
      if (t) pthread_create(&tid[t], NULL, bw_run, &jobs[t]);
    }
    bw_run(&jobs[0]);
    for (int t = 1; t < threads; t++) pthread_join(tid[t], NULL);
    double dt = now() - t0;
    volatile uint64_t sink = 0;
    for (int t = 0; t < threads; t++) sink += jobs[t].sum;
    (void)sink;
    double gbs = (double)words * 8 / dt / 1e9;
    if (gbs > best) best = gbs;
  }
  return best;
}

/* ---------------------------------------------------------------- search runs */

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void parse_list(const char *s, size_t *v, int *n, int max) {
  *n = 0;
  while (*s && *n < max) {
    v[(*n)++] = strtoull(s, (char **)&s, 10);
    if (*s == ',') s++;
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help")) {
    printf("usage: bench_search DIR [--sizes 420,10000,100000,1000000] [--threads 1,2] [--single N] "
           "[--batched N] [--k K] [--out FILE]\n");
    return argc < 2 ? 2 : 0;
  }
  const char *dir = argv[1], *outp = NULL;
  size_t sizes[8] = {420, 10000, 100000, 1000000}, thr[4] = {1, 2};
  int nsizes = 4, nthr = 2;
  size_t single_max = 200, batched_max = 1000, k = 10;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--sizes") && i + 1 < argc) parse_list(argv[++i], sizes, &nsizes, 8);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) parse_list(argv[++i], thr, &nthr, 4);
    else if (!strcmp(argv[i], "--single") && i + 1 < argc) single_max = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--batched") && i + 1 < argc) batched_max = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--k") && i + 1 < argc) k = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--out") && i + 1 < argc) outp = argv[++i];
    else die("unknown option %s", argv[i]);
  }
  char path[4096];
  npy base, probes, mates;
  snprintf(path, sizeof path, "%s/base.npy", dir);
  npy_map(path, &base);
  snprintf(path, sizeof path, "%s/probes.npy", dir);
  npy_map(path, &probes);
  snprintf(path, sizeof path, "%s/mates.npy", dir);
  npy_map(path, &mates);
  if (base.cols != probes.cols || mates.rows != probes.rows || !mates.is_i64) die("%s: inconsistent files", dir);
  const float *B = base.data, *P = probes.data;
  const int64_t *M = mates.data;
  uint32_t dim = (uint32_t)base.cols;
  size_t np = probes.rows;
  FILE *out = outp ? fopen(outp, "w") : stdout;
  if (!out) die("cannot write %s", outp);

  fprintf(out, "{\"kernel\": \"%s\", \"dim\": %u, \"probes\": %zu, \"k\": %zu", fg_kernel_name(fg_kernel_best()), dim,
          np, k);
  /* streaming read bandwidth */
  size_t words = ((size_t)1 << 30) / 8;
  uint64_t *buf = NULL;
  if (posix_memalign((void **)&buf, 1 << 21, words * 8)) die("%s", "out of memory");
  madvise(buf, words * 8, MADV_HUGEPAGE);
  for (size_t i = 0; i < words; i++) buf[i] = i;
  fprintf(out, ", \"read_bandwidth_gbs\": {");
  for (int t = 0; t < nthr; t++) {
    double gbs = bandwidth(buf, words, (int)thr[t]);
    fprintf(out, "%s\"%zu\": %.2f", t ? ", " : "", thr[t], gbs);
    fprintf(stderr, "bench_search: read bandwidth %zu thread(s): %.2f GB/s\n", thr[t], gbs);
  }
  fprintf(out, "}");
  free(buf);

  fprintf(out, ", \"sizes\": {");
  static const fg_encoding encs[] = {FG_ENCODING_FP32, FG_ENCODING_FP16, FG_ENCODING_INT8, FG_ENCODING_INT8};
  for (int si = 0; si < nsizes; si++) {
    size_t n = sizes[si];
    if (n > base.rows) die("%s: fewer base vectors than a requested size", dir);
    size_t nb = np < batched_max ? np : batched_max, ns1 = np < single_max ? np : single_max;
    if (n >= 1000000 && ns1 > 50) ns1 = 50;
    uint32_t *exact = malloc(nb * sizeof *exact);
    fg_match *m = malloc(nb * k * sizeof *m);
    size_t *cnt = malloc(nb * sizeof *cnt);
    fprintf(out, "%s\"%zu\": {\"batched_probes\": %zu, \"single_probes\": %zu, \"encodings\": {", si ? ", " : "", n, nb,
            ns1);
    for (int ei = 0; ei < 4; ei++) {
      fg_gallery *g;
      fg_error e;
      int refine = ei == 3;
      const char *ename = refine ? "int8r" : fg_encoding_name(encs[ei]);
      if (fg_gallery_create_ex(dim, encs[ei], NULL, refine ? FG_GALLERY_REFINE : 0, &g, &e)) die("%s", e.msg);
      double t0 = now();
      char id[32];
      for (size_t t = 0; t < n; t++) {
        snprintf(id, sizeof id, "t%07zu", t);
        if (fg_gallery_add(g, id, B + t * dim, dim, NULL, &e)) die("%s", e.msg);
      }
      double build_s = now() - t0;
      char rpath[4200];
      snprintf(rpath, sizeof rpath, "%s/refine-%zu.fgg", dir, n);
      if (refine) g = reopen_cold(g, rpath);
      fg_gallery_info in;
      fg_gallery_get_info(g, &in);
      size_t scanned = n * (in.row_bytes + 4 + (encs[ei] == FG_ENCODING_INT8 ? 8 : 0));
      fprintf(out, "%s\"%s\": {\"build_s\": %.3f, \"bytes_per_template\": %zu, \"bytes_ids\": %zu, "
                   "\"bytes_scanned_per_probe\": %zu, \"threads\": {",
              ei ? ", " : "", ename, build_s, in.bytes_per_template, in.bytes_ids, scanned);
      fg_search_opts o = {0};
      fg_gallery_search(g, P, 1, 0, k, &o, m, cnt, &e); /* warm up */
      for (int ti = 0; ti < nthr; ti++) {
        o = (fg_search_opts){.threads = (unsigned)thr[ti], .batch = 1};
        double *lat = malloc(ns1 * sizeof *lat), sum = 0;
        for (size_t i = 0; i < ns1; i++) {
          double a = now();
          if (fg_gallery_search(g, P + i * dim, 1, 0, k, &o, m, cnt, &e)) die("%s", e.msg);
          lat[i] = now() - a;
          sum += lat[i];
        }
        qsort(lat, ns1, sizeof *lat, cmp_d);
        double med = lat[ns1 / 2], mean = sum / (double)ns1;
        free(lat);
        o.batch = FG_SEARCH_MAX_BATCH;
        double a = now();
        if (fg_gallery_search(g, P, nb, 0, k, &o, m, cnt, &e)) die("%s", e.msg);
        double bt = now() - a;
        if (encs[ei] == FG_ENCODING_FP32 && ti == 0)
          for (size_t i = 0; i < nb; i++) exact[i] = m[i * k].template_index;
        size_t agree = 0, agree_m = 0, mated = 0, ident = 0;
        for (size_t i = 0; i < nb; i++) {
          int ok = m[i * k].template_index == exact[i];
          agree += ok;
          if (M[i] >= 0 && (size_t)M[i] < n) {
            mated++;
            agree_m += ok;
            ident += m[i * k].template_index == (uint32_t)M[i];
          }
        }
        fprintf(out, "%s\"%zu\": {\"single_median_us\": %.2f, \"single_mean_us\": %.2f, \"single_qps\": %.1f, "
                     "\"single_gbs\": %.2f, \"batched_qps\": %.1f, \"batched_gbs\": %.2f, \"recall_at_1\": %.5f, "
                     "\"recall_at_1_mated\": %.5f, \"mated_rank1_rate\": %.5f}",
                ti ? ", " : "", thr[ti], med * 1e6, mean * 1e6, 1.0 / mean, (double)scanned / mean / 1e9,
                (double)nb / bt, (double)scanned * (double)nb / FG_SEARCH_MAX_BATCH / bt / 1e9,
                (double)agree / (double)nb, mated ? (double)agree_m / (double)mated : 1.0,
                mated ? (double)ident / (double)mated : 0.0);
        fprintf(stderr, "bench_search: n=%zu %s %zu thr: single %.1f us (%.2f GB/s), batched %.0f probes/s, recall@1 %.4f\n",
                n, ename, thr[ti], mean * 1e6, (double)scanned / mean / 1e9, (double)nb / bt,
                (double)agree / (double)nb);
      }
      fprintf(out, "}");
      if (refine) {
        size_t rb = resident_tail(rpath, n * in.refine_bytes_per_template);
        fprintf(out, ", \"refine_bytes_per_template\": %zu, \"refine_resident_bytes\": %zu, \"searches\": %zu",
                in.refine_bytes_per_template, rb, (size_t)nthr * (ns1 + nb) + 1);
        fprintf(stderr, "bench_search: n=%zu int8r: %zu bytes of the %zu-byte refine section read into memory\n", n, rb,
                n * in.refine_bytes_per_template);
      }
      fprintf(out, "}");
      fg_gallery_destroy(g);
      if (refine) unlink(rpath);
    }
    fprintf(out, "}, \"exact_top1\": [");
    for (size_t i = 0; i < nb; i++) fprintf(out, "%s%u", i ? "," : "", exact[i]);
    fprintf(out, "]}");
    fflush(out);
    free(exact), free(m), free(cnt);
  }
  fprintf(out, "}}\n");
  if (outp) fclose(out);
  return 0;
}
