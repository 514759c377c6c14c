/*
 * bench/encounter — `make bench-encounter`: one gate encounter end to end,
 * as a gate would submit it: a 1920x1080 JPEG, a staged 420-traveller flight
 * gallery, a watchlist of a million entries (--watchlist; screened through its
 * sketch index, src/match/sketch.c), and the durable write (synchronous
 * commit) of the encounter, its crossing and its audit events.
 *
 * Set-up (not timed): a fresh store in a temporary directory; the flight is
 * staged from LFW (first photo of 420 people with two or more photos); the
 * watchlist holds that many entries of synthetic unit vectors (random
 * directions, Gaussian then normalised; timing only: a watchlist search
 * costs about the same whatever the vectors; say so when quoting; how well
 * the index finds real faces is bench-watchlist's job). The watchlist is
 * staged with durable commits (as `facegate watchlist import` writes)
 * through both write paths, timed, in the same run: --per-entry entries one
 * transaction each (fg_border_watchlist_add_embeddings), spread evenly among
 * the batches so that both paths meet the same database sizes, and the rest
 * through the bulk loader (fg_border_watchlist_add_batch, --batch entries
 * per transaction); entries per second of each and their ratio go to the
 * JSON ("watchlist_load"). Vector generation is not timed.
 * Captures: each traveller's second LFW photo scaled 2x into a 1920x1080
 * frame, JPEG quality 90, encoded before timing.
 *
 * Timed: fg_border_encounter on one thread, once per capture, with its own
 * breakdown (face pipeline incl. decode, flight search, watchlist search,
 * store incl. commit). The reference in the same run is the face pipeline
 * alone on the same bytes (fg_face_process_buffer), so the ratio is the cost
 * of everything border operations add. Medians and p90; JSON to --out.
 *
 * usage: bench_encounter --lfw DIR [--runs N] [--watchlist N] [--out FILE]
 *                        [--models-dir D] [--per-entry N] [--batch N]
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <turbojpeg.h>

#include "cli/border_json.h"
#include "facegate/border.h"
#include "facegate/eval.h"
#include "facegate/image.h"
#include "facegate/store.h"

#define TRAVELLERS 420

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double quantile(double *v, size_t n, double q) {
  if (!n) return NAN;
  qsort(v, n, sizeof *v, cmp_double);
  double pos = q * (double)(n - 1);
  size_t i = (size_t)pos;
  return i + 1 < n ? v[i] + (pos - (double)i) * (v[i + 1] - v[i]) : v[i];
}

/* The load average as uptime prints it (the machine is shared: quote it with each figure). */
static void loadavg(char *buf, size_t n) {
  FILE *f = fopen("/proc/loadavg", "r");
  buf[0] = '\0';
  if (f && fgets(buf, (int)n, f)) buf[strcspn(buf, "\n")] = '\0';
  if (f) fclose(f);
}

static void die(const char *what, const char *msg) {
  fprintf(stderr, "bench_encounter: %s: %s\n", what, msg);
  exit(1);
}

/* A 1920x1080 JPEG with the photo scaled 2x at (x, y). */
static uint8_t *frame_jpeg(const char *photo, int x, int y, unsigned long *len) {
  fg_image src, big, frame;
  fg_error e;
  if (fg_image_decode_file(photo, NULL, &src, &e) != FG_OK) die(photo, e.msg);
  if (fg_image_resize_bilinear(&src, src.width * 2, src.height * 2, &big, &e) != FG_OK) die(photo, e.msg);
  if (fg_image_init(&frame, 1920, 1080, 3, &e) != FG_OK) die("frame", e.msg);
  for (int r = 0; r < 1080; r++)
    for (int c = 0; c < 1920; c++) {
      uint8_t *p = frame.data + 3 * ((size_t)r * 1920 + c);
      p[0] = (uint8_t)(90 + c / 40); /* a gentle gradient: a hall, not a void */
      p[1] = (uint8_t)(95 + r / 30);
      p[2] = 100;
    }
  for (int r = 0; r < big.height && y + r < 1080; r++)
    memcpy(frame.data + 3 * ((size_t)(y + r) * 1920 + x), big.data + 3 * (size_t)r * big.width,
           3 * (size_t)(x + big.width <= 1920 ? big.width : 1920 - x));
  tjhandle tj = tjInitCompress();
  uint8_t *jpg = NULL;
  *len = 0;
  if (!tj || tjCompress2(tj, frame.data, 1920, 0, 1080, TJPF_RGB, &jpg, len, TJSAMP_420, 90, 0))
    die("jpeg", tj ? tjGetErrorStr2(tj) : "tjInitCompress");
  tjDestroy(tj);
  fg_image_release(&src);
  fg_image_release(&big);
  fg_image_release(&frame);
  return jpg;
}

int main(int argc, char **argv) {
  const char *lfw = NULL, *out = "build/bench/encounter.json", *models = "var/models";
  int runs = TRAVELLERS, watch = 1000000, per_entry = 2000, batch = FG_WATCHLIST_BATCH_DEFAULT;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--lfw") && i + 1 < argc) lfw = argv[++i];
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--watchlist") && i + 1 < argc) watch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(argv[i], "--models-dir") && i + 1 < argc) models = argv[++i];
    else if (!strcmp(argv[i], "--per-entry") && i + 1 < argc) per_entry = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_encounter --lfw DIR [--runs N] [--watchlist N] [--out FILE]\n");
      return 2;
    }
  }
  if (!lfw) die("--lfw", "LFW directory required");
  if (runs < 1 || runs > TRAVELLERS) runs = TRAVELLERS;
  if (batch < 1 || batch > FG_WATCHLIST_BATCH_MAX) batch = FG_WATCHLIST_BATCH_DEFAULT;
  if (per_entry < 0) per_entry = 0;
  if (per_entry > watch) per_entry = watch;
  char rel[PATH_MAX], images[PATH_MAX];
  snprintf(rel, sizeof rel, "%s/lfw-deepfunneled", lfw);
  if (!realpath(rel, images)) die(rel, "not found");

  /* People with 2+ photos, spread over the alphabet. */
  fg_lfw_images set = {0};
  fg_error e;
  if (fg_lfw_images_scan(images, &set, &e) != FG_OK) die(images, e.msg);
  size_t *first = calloc(set.identities, sizeof *first);
  int *count = calloc(set.identities, sizeof *count);
  for (size_t i = set.count; i-- > 0;) {
    first[set.images[i].identity] = i;
    count[set.images[i].identity]++;
  }
  size_t multi = 0;
  for (size_t p = 0; p < set.identities; p++) multi += count[p] >= 2;
  size_t step = multi / TRAVELLERS, seen = 0;
  static char enrol[TRAVELLERS][PATH_MAX], capture[TRAVELLERS][PATH_MAX];
  int n = 0;
  json_t *pax = json_array();
  for (size_t p = 0; p < set.identities && n < TRAVELLERS; p++) {
    if (count[p] < 2 || seen++ % step) continue;
    fg_lfw_image_path(images, &set.images[first[p]], enrol[n], PATH_MAX, NULL);
    fg_lfw_image_path(images, &set.images[first[p] + 1], capture[n], PATH_MAX, NULL);
    char doc[16];
    snprintf(doc, sizeof doc, "B%06d", n);
    json_array_append_new(pax, json_pack("{s:s, s:s, s:{s:s, s:s}, s:[s]}", "surname",
                                         set.images[first[p]].name, "category",
                                         n % 2 ? "foreign" : "citizen", "document", "number",
                                         doc, "issuing_state", "XXA", "photos", enrol[n] + 1));
    n++;
  }
  json_t *man = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "carrier", "XA", "flight", "XA1",
                          "port", "JFK", "scheduled", "2026-11-27T10:00:00Z", "direction",
                          "entry", "passengers", pax);
  char *man_text = json_dumps(man, 0);
  json_decref(man);

  char dir[] = "/tmp/facegate-bench-XXXXXX";
  if (!mkdtemp(dir)) die("mkdtemp", "failed");
  fg_border_options o;
  fg_border_options_init(&o);
  o.data_dir = dir;
  o.port = "JFK";
  o.face.models_dir = models;
  o.store_flags = FG_STORE_NOSYNC; /* set-up only: the timed runs reopen with full sync */
  fg_border *b;
  if (fg_border_open(&o, &b, &e) != FG_OK) die("open", e.msg);
  fprintf(stderr, "staging %d travellers...\n", n);
  fg_actor sup = {"bench", "supervisor", NULL};
  fg_manifest_import_opts io = {.format = FG_MANIFEST_JSON, .base_dir = "/"};
  json_t *rep;
  if (fg_border_manifest_import_buffer_j(b, &sup, man_text, strlen(man_text), &io, &rep, &e) != FG_OK)
    die("import", e.msg);
  int64_t manifest = json_integer_value(json_object_get(rep, "manifest_id"));
  json_decref(rep);
  free(man_text);
  fg_border_close(b);
  o.store_flags = 0; /* the watchlist is loaded durably, as an agency would load it */
  if (fg_border_open(&o, &b, &e) != FG_OK) die("open", e.msg);

  fprintf(stderr, "watchlist of %d synthetic entries: %d one at a time, the rest in batches of %d...\n",
          watch, per_entry, batch);
  srand(7);
  float *v = malloc((size_t)batch * 512 * sizeof *v);
  fg_watchlist_entry *en = calloc((size_t)batch, sizeof *en);
  char (*names)[32] = calloc((size_t)batch, sizeof *names);
  if (!v || !en || !names) die("watchlist", "out of memory");
  double t_single = 0, t_batch = 0;
  int singles = 0;
  for (int w = 0; w < watch;) {
    /* one entry at a time while behind its share of the entries so far */
    int single = singles < per_entry && (double)singles * (watch - per_entry) <= (double)per_entry * (w - singles);
    int n = single ? 1 : (watch - w - (per_entry - singles) < batch ? watch - w - (per_entry - singles) : batch);
    if (n < 1) single = 1, n = 1;
    for (int j = 0; j < n; j++) {
      float *x = v + (size_t)j * 512;
      double norm = 0;
      for (int k = 0; k < 512; k++) {
        double u1 = (rand() + 1.0) / (RAND_MAX + 2.0), u2 = (rand() + 1.0) / (RAND_MAX + 2.0);
        x[k] = (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
        norm += (double)x[k] * x[k];
      }
      for (int k = 0; k < 512; k++) x[k] = (float)(x[k] / sqrt(norm));
      snprintf(names[j], sizeof names[j], "synthetic %d", w + j);
      en[j] = (fg_watchlist_entry){.name = names[j], .reason = "benchmark", .embeddings = x, .n = 1};
    }
    double t0 = now_ms();
    int64_t id;
    if (single) {
      if (fg_border_watchlist_add_embeddings(b, &sup, names[0], "benchmark", 0, v, 1, 512, &id, &e) != FG_OK)
        die("watchlist", e.msg);
      t_single += now_ms() - t0;
    } else {
      if (fg_border_watchlist_add_batch(b, &sup, en, (size_t)n, 512, NULL, &e) != FG_OK) die("watchlist", e.msg);
      t_batch += now_ms() - t0;
    }
    w += n;
    singles += single;
    if (!single && ((w - singles) / batch) % 100 == 0)
      fprintf(stderr, "  %d entries (batches %.0f entries/s, one at a time %.0f)\n", w,
              (w - singles) / (t_batch / 1e3), singles / (t_single / 1e3));
  }
  free(v);
  free(en);
  free(names);
  double rate_single = per_entry ? per_entry / (t_single / 1e3) : NAN;
  double rate_batch = watch > per_entry ? (watch - per_entry) / (t_batch / 1e3) : NAN;
  fprintf(stderr, "watchlist staged: one at a time %.0f entries/s, batches of %d %.0f entries/s (%.1fx)\n",
          rate_single, batch, rate_batch, rate_batch / rate_single);
  fg_border_close(b);

  char load_start[128], load_end[128];
  loadavg(load_start, sizeof load_start);
  fprintf(stderr, "encoding %d 1920x1080 captures...\n", runs);
  uint8_t **jpg = calloc((size_t)runs, sizeof *jpg);
  unsigned long *jlen = calloc((size_t)runs, sizeof *jlen);
  for (int i = 0; i < runs; i++)
    jpg[i] = frame_jpeg(capture[i], 300 + (i * 97) % 1100, 40 + (i * 31) % 500, &jlen[i]);

  o.store_flags = 0; /* durable: synchronous commit */
  if (fg_border_open(&o, &b, &e) != FG_OK) die("reopen", e.msg);
  fg_face_engine *fe;
  fg_face_options fo = o.face;
  fo.liveness = fg_border_policy(b)->liveness_min > 0; /* as the border module runs it */
  fo.quality_min = fg_border_policy(b)->quality_min;
  if (fg_face_engine_create(&fo, &fe, &e) != FG_OK) die("engine", e.msg);
  fg_face_result *fr = malloc(sizeof *fr);

  double *tot = calloc((size_t)runs, sizeof(double)), *face = calloc((size_t)runs, sizeof(double)),
         *srch = calloc((size_t)runs, sizeof(double)), *wl = calloc((size_t)runs, sizeof(double)),
         *st = calloc((size_t)runs, sizeof(double)), *wall = calloc((size_t)runs, sizeof(double)),
         *ref = calloc((size_t)runs, sizeof(double));
  int outcomes[5] = {0};
  fg_actor gate = {"bench-gate", "gate", NULL};
  /* Warm-up of the engine and caches on a capture not counted afterwards: the
   * border's first encounter also builds its watchlist gallery (and index)
   * from the store, which a running service does once. */
  for (int i = 0; i < 3; i++) fg_face_process_buffer(fe, jpg[0], jlen[0], NULL, fr, &e);
  {
    fg_encounter_request rq = {.manifest_id = manifest, .gate = "G0", .image = jpg[0], .image_len = jlen[0]};
    fg_encounter_result r;
    double t0 = now_ms();
    if (fg_border_encounter(b, &gate, &rq, &r, &e) != FG_OK) die("encounter", e.msg);
    fprintf(stderr, "first encounter (builds the caches): %.0f ms\n", now_ms() - t0);
  }
  for (int i = 0; i < runs; i++) {
    double t0 = now_ms();
    if (fg_face_process_buffer(fe, jpg[i], jlen[i], NULL, fr, &e) != FG_OK) die("pipeline", e.msg);
    ref[i] = now_ms() - t0;
    fg_encounter_request rq = {.manifest_id = manifest, .gate = "G1", .image = jpg[i],
                               .image_len = jlen[i]};
    fg_encounter_result r;
    t0 = now_ms();
    if (fg_border_encounter(b, &gate, &rq, &r, &e) != FG_OK) die("encounter", e.msg);
    wall[i] = now_ms() - t0;
    tot[i] = r.ms_total;
    face[i] = r.ms_face;
    srch[i] = r.ms_search;
    wl[i] = r.ms_watchlist;
    st[i] = r.ms_store;
    if ((unsigned)r.outcome < 5) outcomes[r.outcome]++;
  }
  loadavg(load_end, sizeof load_end);
  double m_wall = quantile(wall, runs, 0.5), p90_wall = quantile(wall, runs, 0.9);
  double m_ref = quantile(ref, runs, 0.5);
  json_t *res = json_pack(
      "{s:i, s:i, s:i, s:{s:{s:i, s:f}, s:{s:i, s:i, s:f}, s:f, s:s}, s:{s:f, s:f, s:f, s:f, s:f, s:f},"
      " s:{s:f}, s:f, s:f, s:{s:i, s:i, s:i, s:i, s:i}, s:s, s:s}",
      "captures", runs, "gallery", n, "watchlist", watch, "watchlist_load", "per_entry", "entries",
      per_entry, "entries_per_s", isnan(rate_single) ? 0.0 : rate_single, "batch", "entries",
      watch - per_entry, "batch_size", batch, "entries_per_s", isnan(rate_batch) ? 0.0 : rate_batch,
      "ratio", isnan(rate_single) || isnan(rate_batch) ? 0.0 : rate_batch / rate_single, "store",
      "sqlite, durable commits", "median_ms", "encounter", m_wall,
      "face", quantile(face, runs, 0.5), "flight_search", quantile(srch, runs, 0.5), "watchlist",
      quantile(wl, runs, 0.5), "store", quantile(st, runs, 0.5), "library_total",
      quantile(tot, runs, 0.5), "p90_ms", "encounter", p90_wall, "pipeline_alone_median_ms", m_ref,
      "ratio_to_pipeline", m_wall / m_ref, "outcomes", "MATCHED", outcomes[0], "NO_MATCH",
      outcomes[1], "FAILURE_TO_ACQUIRE", outcomes[2], "LIVENESS_SUSPECT", outcomes[3], "OPT_OUT",
      outcomes[4], "loadavg_start", load_start, "loadavg_end", load_end);
  printf("encounter, 1920x1080 JPEG, %d-traveller gallery, %d-entry watchlist, 1 thread, "
         "synchronous commit (%d captures)\n", n, watch, runs);
  printf("  %-26s %9s\n", "stage", "median ms");
  printf("  %-26s %9.2f\n", "face pipeline (decode..)", quantile(face, runs, 0.5));
  printf("  %-26s %9.3f\n", "flight search", quantile(srch, runs, 0.5));
  printf("  %-26s %9.3f\n", "watchlist search", quantile(wl, runs, 0.5));
  printf("  %-26s %9.2f\n", "store (durable commit)", quantile(st, runs, 0.5));
  printf("  %-26s %9.2f   (p90 %.2f; target <= 15)\n", "encounter, end to end", m_wall, p90_wall);
  printf("  %-26s %9.2f   (same bytes, same run)\n", "face pipeline alone", m_ref);
  printf("  ratio encounter / pipeline alone: %.2f\n", m_wall / m_ref);
  printf("  load average: %s (start), %s (end)\n", load_start, load_end);
  printf("  outcomes: MATCHED %d, NO_MATCH %d, FAILURE_TO_ACQUIRE %d\n", outcomes[0], outcomes[1],
         outcomes[2]);
  printf("  watchlist staging: %d one at a time %.0f entries/s; %d in batches of %d %.0f entries/s (%.1fx)\n",
         per_entry, rate_single, watch - per_entry, batch, rate_batch, rate_batch / rate_single);
  FILE *f = fopen(out, "w");
  if (f) {
    char *s = json_dumps(res, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fprintf(f, "%s\n", s);
    free(s);
    fclose(f);
    printf("wrote %s\n", out);
  }
  json_decref(res);
  fg_border_close(b);
  fg_face_engine_destroy(fe);
  free(fr);
  for (int i = 0; i < runs; i++) tjFree(jpg[i]);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "bench_encounter: could not remove %s\n", dir);
  fg_lfw_images_release(&set);
  return 0;
}
