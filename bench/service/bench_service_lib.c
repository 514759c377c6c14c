/*
 * bench/service/bench_service_lib — the in-process reference of
 * `make bench-service`: the same gate captures as the load test, through the
 * library in one process, on as many threads as the service has workers.
 *
 * Each thread opens its own fg_border (the handle is not thread-safe; the
 * service's pool does the same: one per worker, default face options, so one
 * inference thread each) on the data directory given, which holds a flight
 * staged identically to the service's. The threads take request numbers
 * k = 0..N-1 from one atomic counter and submit capture k mod C (the wrk
 * script's threads cover the same k, so both runs see the same multiset of
 * captures) with fg_border_encounter (gate "B12", durable commit), timing
 * each call. Nothing is warmed up, as in the service run.
 *
 * Prints one JSON object (also to --out): requests, ok, errors, wall seconds,
 * throughput (ok / wall), latency percentiles in ms, outcomes.
 *
 * usage: bench_service_lib --data DIR --manifest ID --captures FILE
 *                          [--threads N] [--requests N] [--models-dir D]
 *                          [--out FILE]
 *   FILE: one image path per line.
 */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "facegate/border.h"

typedef struct {
  uint8_t *data;
  size_t len;
} capture;

static capture *caps;
static size_t ncaps;
static long nreq = 840;
static int64_t manifest_id;
static fg_border_options bopt;
static atomic_long next_k;
static double *lat_ms;                 /* per request number */
static signed char *outcome_of;        /* per request number: fg_outcome, or -1 on error */
static pthread_barrier_t start_line;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what, const char *msg) {
  fprintf(stderr, "bench_service_lib: %s: %s\n", what, msg);
  exit(1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The q-quantile of sorted v (nearest rank, as wrk reports its percentiles). */
static double pct(const double *v, size_t n, double q) {
  if (!n) return NAN;
  size_t r = (size_t)ceil(q * (double)n);
  return v[r ? r - 1 : 0];
}

static void read_captures(const char *list) {
  FILE *f = fopen(list, "r");
  if (!f) die(list, "cannot open");
  char line[PATH_MAX];
  size_t cap = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (!*line) continue;
    FILE *img = fopen(line, "rb");
    if (!img) die(line, "cannot open");
    fseek(img, 0, SEEK_END);
    long len = ftell(img);
    fseek(img, 0, SEEK_SET);
    if (ncaps == cap) {
      cap = cap ? 2 * cap : 512;
      caps = realloc(caps, cap * sizeof *caps);
      if (!caps) die("captures", "out of memory");
    }
    caps[ncaps].data = malloc((size_t)len);
    caps[ncaps].len = (size_t)len;
    if (!caps[ncaps].data || fread(caps[ncaps].data, 1, (size_t)len, img) != (size_t)len) die(line, "read failed");
    fclose(img);
    ncaps++;
  }
  fclose(f);
  if (!ncaps) die(list, "no captures");
}

static void *worker(void *arg) {
  (void)arg;
  fg_border *b;
  fg_error e;
  if (fg_border_open(&bopt, &b, &e) != FG_OK) die("fg_border_open", e.msg);
  fg_actor gate = {"bench-gate", "gate", NULL};
  pthread_barrier_wait(&start_line);
  for (;;) {
    long k = atomic_fetch_add(&next_k, 1);
    if (k >= nreq) break;
    const capture *c = &caps[(size_t)k % ncaps];
    fg_encounter_request rq = {.manifest_id = manifest_id, .gate = "B12", .image = c->data, .image_len = c->len};
    fg_encounter_result r;
    double t0 = now_ms();
    int rc = fg_border_encounter(b, &gate, &rq, &r, &e);
    lat_ms[k] = now_ms() - t0;
    outcome_of[k] = rc == FG_OK ? (signed char)r.outcome : -1;
    if (rc != FG_OK) fprintf(stderr, "bench_service_lib: request %ld: %s\n", k, e.msg);
  }
  fg_border_close(b);
  return NULL;
}

int main(int argc, char **argv) {
  const char *data = NULL, *list = NULL, *out = NULL, *models = getenv("FACEGATE_MODELS");
  int threads = 2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) goto usage;
    if (!strcmp(a, "--data")) data = v;
    else if (!strcmp(a, "--manifest")) manifest_id = atoll(v);
    else if (!strcmp(a, "--captures")) list = v;
    else if (!strcmp(a, "--threads")) threads = atoi(v);
    else if (!strcmp(a, "--requests")) nreq = atol(v);
    else if (!strcmp(a, "--models-dir")) models = v;
    else if (!strcmp(a, "--out")) out = v;
    else goto usage;
    i++;
  }
  if (!data || !list || manifest_id <= 0 || threads < 1 || threads > 64 || nreq < 1) goto usage;
  read_captures(list);

  fg_border_options_init(&bopt); /* as facegate serve: defaults, durable commit */
  bopt.data_dir = data;
  bopt.face.models_dir = models && *models ? models : "var/models";
  lat_ms = calloc((size_t)nreq, sizeof *lat_ms);
  outcome_of = calloc((size_t)nreq, 1);
  if (!lat_ms || !outcome_of) die("results", "out of memory");

  pthread_t *th = calloc((size_t)threads, sizeof *th);
  pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
  for (int t = 0; t < threads; t++) pthread_create(&th[t], NULL, worker, NULL);
  pthread_barrier_wait(&start_line); /* every handle open: start the clock */
  double t0 = now_ms();
  for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
  double wall_s = (now_ms() - t0) / 1e3;

  long ok = 0, errors = 0, outcomes[5] = {0};
  for (long k = 0; k < nreq; k++) {
    if (outcome_of[k] < 0) errors++;
    else {
      ok++;
      if (outcome_of[k] < 5) outcomes[(int)outcome_of[k]]++;
    }
  }
  qsort(lat_ms, (size_t)nreq, sizeof *lat_ms, cmp_double);
  double mean = 0;
  for (long k = 0; k < nreq; k++) mean += lat_ms[k] / (double)nreq;
  json_t *res = json_pack(
      "{s:i, s:I, s:I, s:I, s:I, s:f, s:f, s:{s:f, s:f, s:f, s:f, s:f, s:f}, s:{s:I, s:I, s:I, s:I, s:I}}",
      "threads", threads, "captures", (json_int_t)ncaps, "requests", (json_int_t)nreq, "ok", (json_int_t)ok,
      "errors", (json_int_t)errors, "wall_s", wall_s, "throughput_rps", (double)ok / wall_s, "latency_ms",
      "p50", pct(lat_ms, (size_t)nreq, 0.50), "p90", pct(lat_ms, (size_t)nreq, 0.90), "p99",
      pct(lat_ms, (size_t)nreq, 0.99), "max", lat_ms[nreq - 1], "mean", mean, "min", lat_ms[0], "outcomes",
      "MATCHED", (json_int_t)outcomes[FG_OUTCOME_MATCHED], "NO_MATCH", (json_int_t)outcomes[FG_OUTCOME_NO_MATCH],
      "FAILURE_TO_ACQUIRE", (json_int_t)outcomes[FG_OUTCOME_FAILURE_TO_ACQUIRE], "LIVENESS_SUSPECT",
      (json_int_t)outcomes[FG_OUTCOME_LIVENESS_SUSPECT], "OPT_OUT", (json_int_t)outcomes[FG_OUTCOME_OPT_OUT]);
  char *s = json_dumps(res, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
  printf("%s\n", s);
  if (out) {
    FILE *f = fopen(out, "w");
    if (!f) die(out, "cannot write");
    fprintf(f, "%s\n", s);
    fclose(f);
  }
  free(s);
  json_decref(res);
  for (size_t i = 0; i < ncaps; i++) free(caps[i].data);
  free(caps);
  free(lat_ms);
  free(outcome_of);
  free(th);
  return errors ? 1 : 0;

usage:
  fprintf(stderr, "usage: bench_service_lib --data DIR --manifest ID --captures FILE [--threads N] "
                  "[--requests N] [--models-dir D] [--out FILE]\n");
  return 2;
}
