/*
 * Prometheus metrics (GET /metrics, text format 0.0.4):
 *   facegate_http_requests_total{route,method,status}   counter
 *   facegate_http_request_duration_seconds{route}        histogram
 *   facegate_http_requests_in_flight                     gauge (queue depth)
 *   facegate_encounters_total{outcome}                   counter
 *   facegate_referrals_open                              gauge, read from the store at scrape
 *   facegate_store_info{backend}                         gauge, 1
 *   facegate_store_round_trips_total                     counter: waits for the database server
 *   facegate_store_statements_total                      counter
 *   facegate_store_reconnects_total                      counter: connections re-established
 *   facegate_store_unreplicated_commits_total            counter: commits the synchronous
 *                                                        standby did not confirm in time
 *   facegate_store_synchronous_standby                   gauge: 1 the primary waits for a
 *                                                        standby on every commit, 0 it does not
 *                                                        (PostgreSQL only)
 *   facegate_retention_flush_pending                     gauge: a purge's copies still in the WAL
 *   facegate_retention_flush_incomplete_total            counter
 *   facegate_connections_open                            gauge
 *   facegate_connections_refused_total                   counter
 *   facegate_connections_closed_total{reason}            counter: evicted, header_deadline
 *   facegate_request_bodies_refused_total                counter: over the bytes-in-flight cap
 *   facegate_auth_denials_total, facegate_auth_throttled_total  counters
 *   facegate_build_info{version}                         gauge, 1
 * `route` is the route table's path template ("/v1/manifests/{id}"), or
 * "unmatched" for requests no route took, so labels stay few.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

static const double BUCKETS[FG__METRIC_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                   0.5,   1.0,  2.5,   5.0,  10.0, 30.0};
static const char *const METHODS[4] = {"GET", "POST", "DELETE", "OTHER"};
static const char *const OUTCOMES[5] = {"MATCHED", "NO_MATCH", "FAILURE_TO_ACQUIRE",
                                        "LIVENESS_SUSPECT", "OPT_OUT"};

int fg__metrics_init(fg__metrics *m, size_t nroutes) {
  memset(m, 0, sizeof *m);
  m->hist = calloc(nroutes + 1, sizeof *m->hist);
  m->hist_sum = calloc(nroutes + 1, sizeof *m->hist_sum);
  m->hist_count = calloc(nroutes + 1, sizeof *m->hist_count);
  if (!m->hist || !m->hist_sum || !m->hist_count) {
    fg__metrics_release(m);
    return FG_ENOMEM;
  }
  pthread_mutex_init(&m->mu, NULL);
  return FG_OK;
}

void fg__metrics_release(fg__metrics *m) {
  free(m->rows);
  free(m->hist);
  free(m->hist_sum);
  free(m->hist_count);
  if (m->hist && m->hist_sum && m->hist_count) pthread_mutex_destroy(&m->mu);
  memset(m, 0, sizeof *m);
}

static int method_index(const char *method) {
  for (int i = 0; i < 3; i++)
    if (strcmp(method, METHODS[i]) == 0) return i;
  return 3;
}

void fg__metrics_request(fg__metrics *m, int route, const char *method, int status, double sec) {
  int mi = method_index(method);
  size_t h = route >= 0 ? (size_t)route : fg__nroutes;
  pthread_mutex_lock(&m->mu);
  fg__metric_row *row = NULL;
  for (size_t i = 0; i < m->nrows; i++)
    if (m->rows[i].route == route && m->rows[i].method == mi && m->rows[i].status == status) {
      row = &m->rows[i];
      break;
    }
  if (!row && m->nrows == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    fg__metric_row *nr = realloc(m->rows, cap * sizeof *nr);
    if (nr) {
      m->rows = nr;
      m->cap = cap;
    }
  }
  if (!row && m->nrows < m->cap) {
    row = &m->rows[m->nrows++];
    *row = (fg__metric_row){route, mi, status, 0};
  }
  if (row) row->count++;
  int b = 0;
  while (b < FG__METRIC_BUCKETS && sec > BUCKETS[b]) b++;
  m->hist[h][b]++;
  m->hist_sum[h] += sec;
  m->hist_count[h]++;
  pthread_mutex_unlock(&m->mu);
}

void fg__metrics_outcome(fg__metrics *m, int outcome) {
  if (outcome >= 0 && outcome < 5) atomic_fetch_add(&m->outcomes[outcome], 1);
}

/* A growing text buffer. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) FG__PRINTF(2, 3);
static void put(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = 1;
      return;
    }
    if (b->p && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap * 2 : 8192;
    while (cap < b->len + (size_t)n + 1) cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
}

static const char *route_label(size_t h) {
  return h < fg__nroutes ? fg__routes[h].info.path : "unmatched";
}

int fg__route_metrics(fg__req *r) {
  fg__metrics *m = &r->srv->metrics;
  /* The open count is the queue summary's (GET /v1/referrals/summary): one
   * figure, one query, not audited. */
  int64_t open = 0;
  fg_error e;
  fg_doc *summary = NULL;
  int have_open = fg_border_referral_summary(r->b, &summary, &e) == FG_OK;
  if (have_open) open = json_integer_value(json_object_get(fg__json(summary), "open"));
  fg_doc_free(summary);
  sbuf b = {0};
  put(&b, "# HELP facegate_http_requests_total HTTP requests by route, method and status.\n"
          "# TYPE facegate_http_requests_total counter\n");
  pthread_mutex_lock(&m->mu);
  for (size_t i = 0; i < m->nrows; i++) {
    const fg__metric_row *row = &m->rows[i];
    put(&b, "facegate_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
        route_label(row->route >= 0 ? (size_t)row->route : fg__nroutes), METHODS[row->method],
        row->status, (unsigned long long)row->count);
  }
  put(&b, "# HELP facegate_http_request_duration_seconds Time from the request's headers to its response being queued.\n"
          "# TYPE facegate_http_request_duration_seconds histogram\n");
  for (size_t h = 0; h <= fg__nroutes; h++) {
    if (!m->hist_count[h]) continue;
    uint64_t cum = 0;
    for (int k = 0; k < FG__METRIC_BUCKETS; k++) {
      cum += m->hist[h][k];
      put(&b, "facegate_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
          route_label(h), BUCKETS[k], (unsigned long long)cum);
    }
    put(&b, "facegate_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
        route_label(h), (unsigned long long)m->hist_count[h]);
    put(&b, "facegate_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_label(h),
        m->hist_sum[h]);
    put(&b, "facegate_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route_label(h),
        (unsigned long long)m->hist_count[h]);
  }
  pthread_mutex_unlock(&m->mu);
  put(&b, "# HELP facegate_http_requests_in_flight Requests being processed now.\n"
          "# TYPE facegate_http_requests_in_flight gauge\n"
          "facegate_http_requests_in_flight %d\n", atomic_load(&r->srv->in_flight));
  put(&b, "# HELP facegate_encounters_total Gate encounters by outcome.\n"
          "# TYPE facegate_encounters_total counter\n");
  for (int i = 0; i < 5; i++)
    put(&b, "facegate_encounters_total{outcome=\"%s\"} %llu\n", OUTCOMES[i],
        (unsigned long long)atomic_load(&m->outcomes[i]));
  if (have_open)
    put(&b, "# HELP facegate_referrals_open Referrals waiting for an officer.\n"
            "# TYPE facegate_referrals_open gauge\n"
            "facegate_referrals_open %lld\n", (long long)open);
  fg_store_stats st;
  fg__pool_store_stats(&r->srv->pool, &st);
  put(&b, "# HELP facegate_store_info The store's backend.\n"
          "# TYPE facegate_store_info gauge\n"
          "facegate_store_info{backend=\"%s\"} 1\n", fg_border_store_backend(r->b));
  put(&b, "# HELP facegate_store_round_trips_total Times a request waited for the database server.\n"
          "# TYPE facegate_store_round_trips_total counter\n"
          "facegate_store_round_trips_total %llu\n", (unsigned long long)st.round_trips);
  put(&b, "# HELP facegate_store_statements_total Named queries run.\n"
          "# TYPE facegate_store_statements_total counter\n"
          "facegate_store_statements_total %llu\n", (unsigned long long)st.statements);
  put(&b, "# HELP facegate_store_reconnects_total Database connections re-established after a loss.\n"
          "# TYPE facegate_store_reconnects_total counter\n"
          "facegate_store_reconnects_total %llu\n", (unsigned long long)st.reconnects);
  put(&b, "# HELP facegate_store_unreplicated_commits_total Commits the synchronous standby did not confirm in time (they exist on the primary only).\n"
          "# TYPE facegate_store_unreplicated_commits_total counter\n"
          "facegate_store_unreplicated_commits_total %llu\n", (unsigned long long)st.unreplicated_commits);
  if (st.synchronous_standby >= 0)
    put(&b, "# HELP facegate_store_synchronous_standby 1: every commit waits for a standby; 0: commits exist on the primary only.\n"
            "# TYPE facegate_store_synchronous_standby gauge\n"
            "facegate_store_synchronous_standby %d\n", st.synchronous_standby);
  int64_t since = atomic_load(&r->srv->flush_pending_since);
  put(&b, "# HELP facegate_retention_flush_pending 1: copies of purged rows are still in the store's write-ahead log (a reader holds them; retried every second).\n"
          "# TYPE facegate_retention_flush_pending gauge\n"
          "facegate_retention_flush_pending %d\n", since > 0);
  put(&b, "# HELP facegate_retention_flush_incomplete_total Purges whose write-ahead-log flush a reader held up.\n"
          "# TYPE facegate_retention_flush_incomplete_total counter\n"
          "facegate_retention_flush_incomplete_total %llu\n",
      (unsigned long long)atomic_load(&r->srv->flush_incomplete));
  fg__guard_counts gc;
  fg__guard_stats(&r->srv->guard, &gc);
  uint64_t denials, events, throttled;
  fg__throttle_stats(&r->srv->throttle, &denials, &events, &throttled);
  put(&b, "# HELP facegate_connections_open Connections open now.\n"
          "# TYPE facegate_connections_open gauge\n"
          "facegate_connections_open %zu\n", gc.open);
  put(&b, "# HELP facegate_connections_refused_total Connections refused at accept (per address, per network, or all full).\n"
          "# TYPE facegate_connections_refused_total counter\n"
          "facegate_connections_refused_total %llu\n", (unsigned long long)gc.refused);
  put(&b, "# HELP facegate_connections_closed_total Connections closed by the server: evicted for a newcomer, or past the header deadline.\n"
          "# TYPE facegate_connections_closed_total counter\n"
          "facegate_connections_closed_total{reason=\"evicted\"} %llu\n"
          "facegate_connections_closed_total{reason=\"header_deadline\"} %llu\n",
      (unsigned long long)gc.evicted, (unsigned long long)gc.header_timeouts);
  put(&b, "# HELP facegate_request_bodies_refused_total Request bodies refused because the bytes held in flight were at their cap.\n"
          "# TYPE facegate_request_bodies_refused_total counter\n"
          "facegate_request_bodies_refused_total %llu\n",
      (unsigned long long)atomic_load(&r->srv->body_refused));
  put(&b, "# HELP facegate_auth_denials_total Requests refused 401, 403 or 429 by authentication.\n"
          "# TYPE facegate_auth_denials_total counter\n"
          "facegate_auth_denials_total %llu\n", (unsigned long long)denials);
  put(&b, "# HELP facegate_auth_throttled_total Requests answered 429 for too many failures.\n"
          "# TYPE facegate_auth_throttled_total counter\n"
          "facegate_auth_throttled_total %llu\n", (unsigned long long)throttled);
  put(&b, "# HELP facegate_build_info The running facegate.\n"
          "# TYPE facegate_build_info gauge\n"
          "facegate_build_info{version=\"%s\"} 1\n", FG__SERVER_VERSION);
  if (b.oom) {
    free(b.p);
    return fg__fail(r, FG_ENOMEM, "out of memory");
  }
  r->raw = b.p;
  r->raw_len = b.len;
  r->raw_type = "text/plain; version=0.0.4; charset=utf-8";
  r->status = 200;
  return FG_OK;
}
