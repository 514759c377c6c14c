/*
 * bench/store — the store's side of a gate encounter, measured on any store
 * target (`make bench-store` runs it on SQLite, PostgreSQL and PostgreSQL with
 * a synchronous standby in the same run; scripts/bench-store).
 *
 * Set-up (not timed): flights of 420 passengers staged through the real
 * manifest import, each passenger then enrolled with a synthetic template (a
 * random unit vector, sealed and stored as the import would: the face
 * pipeline is not what is measured here); a watchlist of synthetic entries.
 *
 * tps mode: N client threads, each with its own fg_border (one database
 * connection each, as `facegate serve` workers have), run encounters for S
 * seconds through the real encounter code (fg__border_encounter_with: the
 * watchlist and flight searches, the decision, the durable writes of the
 * encounter, crossing or referral, passenger status, audit events, the
 * sealed capture — synthetic bytes — and an idempotency key). Each probe is
 * a traveller's template with noise, so it matches (a crossing); travellers
 * are shared out between threads and each crosses once. Prints encounters
 * per second, errors, and the database round trips and statements per
 * encounter (fg_store_stats).
 *
 * latency mode: one thread, fg_border_encounter on a real photo (the whole
 * encounter, face pipeline included), R times; prints the median.
 *
 * usage: bench_store --store TARGET --data DIR [--mode tps|latency]
 *                    [--clients N] [--seconds S] [--flights F] [--watchlist W]
 *                    [--image FILE] [--runs R] [--models-dir D]
 * Prints one JSON object on stdout.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "border/border_internal.h"
#include "cli/border_json.h"
#include "facegate/border.h"
#include "store/sql_manifest.h"

#define PASSENGERS 420
#define DIM 512
#define CAPTURE_BYTES 24000 /* about a gate camera's face crop as JPEG */

static void die(const char *what, const char *msg) {
  fprintf(stderr, "bench_store: %s: %s\n", what, msg);
  exit(1);
}

/* xorshift: the same synthetic templates in every run and backend. */
static uint64_t rng_state = 88172645463325252ull;
static double uniform(void) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return (double)(rng_state >> 11) / 9007199254740992.0;
}
static float gauss(void) {
  double u = uniform() + 1e-12, v = uniform();
  return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}
static void unit(float *v) {
  double s = 0;
  for (int i = 0; i < DIM; i++) s += (double)v[i] * v[i];
  for (int i = 0; i < DIM; i++) v[i] = (float)(v[i] / sqrt(s));
}

typedef struct opts {
  const char *store, *data, *mode, *image, *models;
  int clients, seconds, flights, watchlist, runs;
} opts;

static fg_border *open_border(const opts *o) {
  fg_border_options bo;
  fg_border_options_init(&bo);
  bo.data_dir = o->data;
  bo.store = o->store;
  bo.face.models_dir = o->models;
  fg_border *b;
  fg_error e;
  if (fg_border_open(&bo, &b, &e) != FG_OK) die("open", e.msg);
  return b;
}

typedef struct traveller {
  int64_t manifest, id;
  float t[DIM];
} traveller;

/* Enrol one synthetic template for (manifest, traveller), as the import would. */
static void enrol(fg_border *b, int64_t manifest, int64_t traveller_id, const float *t) {
  fg_error e;
  int64_t photo;
  fg_val ins[5] = {FG_V_INT(manifest), FG_V_INT(traveller_id), FG_V_TEXT("bench"), FG_V_REAL(90.0),
                   FG_V_INT(fg_border_now(b))};
  if (fg_store_exec_int(b->store, &FG_Q_MAN_PHOTO_INSERT, ins, 5, &photo, NULL, &e) != FG_OK)
    die("photo", e.msg);
  uint8_t *tpl, *sealed;
  size_t tn, sn;
  if (fg__border_template(b, t, DIM, &tpl, &tn, &e) != FG_OK ||
      fg__border_seal(b, "photos", "template_sealed", photo, tpl, tn, &sealed, &sn, &e) != FG_OK)
    die("seal", e.msg);
  fg_val up[3] = {FG_V_NULL, FG_V_BLOB(sealed, sn), FG_V_INT(photo)};
  if (fg_store_exec(b->store, &FG_Q_MAN_PHOTO_SEAL, up, 3, NULL, NULL, &e) != FG_OK) die("seal", e.msg);
  free(tpl);
  free(sealed);
}

static const fg_query Q_ENROLLED = {
    "bench_enrolled", "UPDATE passengers SET enrolled = 1 WHERE manifest_id = ?", 0};
static const fg_query Q_TRAVELLERS = {
    "bench_travellers",
    "SELECT traveller_id FROM passengers WHERE manifest_id = ? ORDER BY traveller_id", 1};

static int take_id(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  traveller **t = ctx;
  (*t)->id = c[0].i;
  (*t)++;
  return 0;
}

/* Stage o->flights flights and a watchlist; return the travellers. */
static traveller *stage(const opts *o, size_t *n_out) {
  fg_border *b = open_border(o);
  fg_actor sup = {"bench-supervisor", "supervisor", NULL};
  size_t n = (size_t)o->flights * PASSENGERS;
  traveller *tr = calloc(n, sizeof *tr);
  if (!tr) die("stage", "out of memory");
  fg_error e;
  for (int f = 0; f < o->flights; f++) {
    /* The import (no photos: enrolled below), scheduled an hour from now. */
    size_t cap = 128 * PASSENGERS + 256, len = 0;
    char *js = malloc(cap);
    char when[32];
    time_t t = time(NULL) + 3600;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    len += (size_t)snprintf(js + len, cap - len,
                            "{\"carrier\":\"BX\",\"flight\":\"BX%d\",\"port\":\"XXX\",\"scheduled\":"
                            "\"%s\",\"direction\":\"entry\",\"passengers\":[", f + 1, when);
    for (int p = 0; p < PASSENGERS; p++)
      len += (size_t)snprintf(js + len, cap - len,
                              "%s{\"surname\":\"P%dX%d\",\"category\":\"%s\",\"document\":{\"number\":"
                              "\"D%dX%d\",\"issuing_state\":\"UTO\"}}", p ? "," : "", f, p,
                              p % 3 ? "foreign" : "citizen", f, p);
    snprintf(js + len, cap - len, "]}");
    fg_manifest_import_opts io = {.format = FG_MANIFEST_JSON};
    json_t *rep;
    if (fg_border_manifest_import_buffer_j(b, &sup, js, strlen(js), &io, &rep, &e) != FG_OK)
      die("import", e.msg);
    int64_t manifest = json_integer_value(json_object_get(rep, "manifest_id"));
    json_decref(rep);
    free(js);
    traveller *cur = tr + (size_t)f * PASSENGERS;
    fg_val m = FG_V_INT(manifest);
    if (fg_store_exec(b->store, &Q_TRAVELLERS, &m, 1, take_id, &cur, &e) != FG_OK) die("read", e.msg);
    if (fg_store_begin(b->store, &e) != FG_OK) die("begin", e.msg);
    for (int p = 0; p < PASSENGERS; p++) {
      traveller *x = &tr[(size_t)f * PASSENGERS + (size_t)p];
      x->manifest = manifest;
      for (int i = 0; i < DIM; i++) x->t[i] = gauss();
      unit(x->t);
      enrol(b, manifest, x->id, x->t);
    }
    int64_t rev;
    if (fg_store_exec(b->store, &Q_ENROLLED, &m, 1, NULL, NULL, &e) != FG_OK ||
        fg_store_exec_int(b->store, &FG_Q_MAN_BUMP, &m, 1, &rev, NULL, &e) != FG_OK ||
        fg_store_commit(b->store, &e) != FG_OK)
      die("enrol", e.msg);
  }
  float *v = malloc(DIM * sizeof *v);
  for (int w = 0; w < o->watchlist; w++) {
    for (int i = 0; i < DIM; i++) v[i] = gauss();
    unit(v);
    char name[32];
    snprintf(name, sizeof name, "W%d", w);
    int64_t id;
    if (fg_border_watchlist_add_embeddings(b, &sup, name, "benchmark", 0, v, 1, DIM, &id, &e) != FG_OK)
      die("watchlist", e.msg);
  }
  free(v);
  fg_border_close(b);
  *n_out = n;
  return tr;
}

typedef struct worker {
  const opts *o;
  int index;
  traveller *tr;
  size_t n_tr;
  double stop_at;
  uint64_t done, errors, unavailable, outcomes[5];
  fg_store_stats stats;
  char first_error[FG_ERROR_MSG_MAX];
} worker;

static void *run_worker(void *arg) {
  worker *w = arg;
  fg_border *b = open_border(w->o);
  uint8_t *capture = malloc(CAPTURE_BYTES);
  for (int i = 0; i < CAPTURE_BYTES; i++) capture[i] = (uint8_t)(i * 131 + w->index);
  fg_actor gate = {NULL, "gate", NULL};
  char gate_name[32], key[64];
  snprintf(gate_name, sizeof gate_name, "bench-gate-%d", w->index);
  gate.name = gate_name;
  float probe[DIM];
  uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(w->index + 1);
  fg_store_stats before;
  fg_border_store_stats(b, &before);
  for (size_t k = 0; fg__ms() < w->stop_at; k++) {
    traveller *t = &w->tr[k % w->n_tr];
    for (int i = 0; i < DIM; i++) {
      seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
      probe[i] = t->t[i] + 0.02f * ((float)(seed >> 40) / (float)(1 << 24) - 0.5f);
    }
    unit(probe);
    snprintf(key, sizeof key, "bench-%d-%zu-%lld", w->index, k, (long long)time(NULL));
    fg_encounter_request rq = {.manifest_id = t->manifest, .gate = "B1", .image = capture,
                               .image_len = CAPTURE_BYTES, .key = key};
    fg__precomputed_face face = {probe, DIM, 90.0f, 0};
    fg_encounter_result r;
    fg_error e;
    int rc = fg__border_encounter_with(b, &gate, &rq, &face, &r, &e);
    if (rc == FG_OK) {
      w->done++;
      w->outcomes[r.outcome]++;
    } else {
      w->errors++;
      if (rc == FG_EUNAVAILABLE) w->unavailable++;
      if (!w->first_error[0]) snprintf(w->first_error, sizeof w->first_error, "%s", e.msg);
    }
  }
  fg_border_store_stats(b, &w->stats);
  w->stats.round_trips -= before.round_trips;
  w->stats.statements -= before.statements;
  free(capture);
  fg_border_close(b);
  return NULL;
}

static int tps(const opts *o) {
  size_t n;
  traveller *tr = stage(o, &n);
  worker *w = calloc((size_t)o->clients, sizeof *w);
  pthread_t *th = calloc((size_t)o->clients, sizeof *th);
  size_t per = n / (size_t)o->clients;
  double t0 = fg__ms();
  for (int i = 0; i < o->clients; i++) {
    w[i] = (worker){.o = o, .index = i, .tr = tr + (size_t)i * per, .n_tr = per,
                    .stop_at = t0 + o->seconds * 1000.0};
    pthread_create(&th[i], NULL, run_worker, &w[i]);
  }
  uint64_t done = 0, errors = 0, unavailable = 0, trips = 0, stmts = 0, outcomes[5] = {0};
  const char *first_error = NULL;
  for (int i = 0; i < o->clients; i++) {
    pthread_join(th[i], NULL);
    done += w[i].done, errors += w[i].errors, unavailable += w[i].unavailable;
    trips += w[i].stats.round_trips, stmts += w[i].stats.statements;
    for (int k = 0; k < 5; k++) outcomes[k] += w[i].outcomes[k];
    if (!first_error && w[i].first_error[0]) first_error = w[i].first_error;
  }
  double secs = (fg__ms() - t0) / 1000.0;
  json_t *j = json_pack("{s:s,s:s,s:i,s:f,s:I,s:I,s:I,s:f,s:f,s:f,s:{s:I,s:I,s:I,s:I,s:I},s:s?}",
                        "mode", "tps", "backend", fg_store_target_is_remote(o->store) ? "postgresql" : "sqlite",
                        "clients", o->clients, "seconds", secs, "encounters", (json_int_t)done,
                        "errors", (json_int_t)errors, "unavailable", (json_int_t)unavailable,
                        "tps", done / secs, "round_trips_per_encounter",
                        done ? (double)trips / (double)done : 0.0, "statements_per_encounter",
                        done ? (double)stmts / (double)done : 0.0, "outcomes", "MATCHED",
                        (json_int_t)outcomes[0], "NO_MATCH", (json_int_t)outcomes[1],
                        "FAILURE_TO_ACQUIRE", (json_int_t)outcomes[2], "LIVENESS_SUSPECT",
                        (json_int_t)outcomes[3], "OPT_OUT", (json_int_t)outcomes[4], "first_error",
                        first_error);
  char *s = json_dumps(j, JSON_COMPACT);
  puts(s);
  free(s);
  json_decref(j);
  free(w);
  free(th);
  free(tr);
  return errors ? 1 : 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int latency(const opts *o) {
  size_t n;
  traveller *tr = stage(o, &n);
  free(tr);
  FILE *f = fopen(o->image, "rb");
  if (!f) die(o->image, "cannot open");
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *img = malloc((size_t)len);
  if (fread(img, 1, (size_t)len, f) != (size_t)len) die(o->image, "read error");
  fclose(f);
  fg_border *b = open_border(o);
  fg_actor gate = {"bench-gate", "gate", NULL};
  double *ms = calloc((size_t)o->runs, sizeof *ms), *store = calloc((size_t)o->runs, sizeof *store);
  int64_t manifest = 1;
  for (int i = -2; i < o->runs; i++) { /* two warm-up runs: models loaded, statements prepared */
    fg_encounter_request rq = {.manifest_id = manifest, .gate = "L1", .image = img, .image_len = (size_t)len};
    fg_encounter_result r;
    fg_error e;
    double t = fg__ms();
    if (fg_border_encounter(b, &gate, &rq, &r, &e) != FG_OK) die("encounter", e.msg);
    if (i >= 0) ms[i] = fg__ms() - t, store[i] = r.ms_store;
  }
  qsort(ms, (size_t)o->runs, sizeof *ms, cmp_double);
  qsort(store, (size_t)o->runs, sizeof *store, cmp_double);
  printf("{\"mode\":\"latency\",\"backend\":\"%s\",\"runs\":%d,\"median_ms\":%.3f,\"store_median_ms\":%.3f}\n",
         fg_store_target_is_remote(o->store) ? "postgresql" : "sqlite", o->runs, ms[o->runs / 2], store[o->runs / 2]);
  fg_border_close(b);
  free(ms);
  free(store);
  free(img);
  return 0;
}

int main(int argc, char **argv) {
  opts o = {.mode = "tps", .clients = 4, .seconds = 5, .flights = 4, .watchlist = 1000,
            .runs = 30, .models = "var/models"};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) die(a, "needs a value");
    if (!strcmp(a, "--store")) o.store = v;
    else if (!strcmp(a, "--data")) o.data = v;
    else if (!strcmp(a, "--mode")) o.mode = v;
    else if (!strcmp(a, "--image")) o.image = v;
    else if (!strcmp(a, "--models-dir")) o.models = v;
    else if (!strcmp(a, "--clients")) o.clients = atoi(v);
    else if (!strcmp(a, "--seconds")) o.seconds = atoi(v);
    else if (!strcmp(a, "--flights")) o.flights = atoi(v);
    else if (!strcmp(a, "--watchlist")) o.watchlist = atoi(v);
    else if (!strcmp(a, "--runs")) o.runs = atoi(v);
    else die(a, "unknown option");
    i++;
  }
  if (!o.store || !o.data || o.clients < 1 || o.seconds < 1 || o.flights < 1 || o.runs < 1)
    die("usage", "bench_store --store TARGET --data DIR [--mode tps|latency] [--clients N] "
                 "[--seconds S] [--flights F] [--watchlist W] [--image FILE] [--runs R]");
  if (!strcmp(o.mode, "latency")) {
    if (!o.image) die("latency", "needs --image");
    return latency(&o);
  }
  return tps(&o);
}
