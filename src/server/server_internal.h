/*
 * Shared state of the HTTP service (not API).
 *
 * Files: server.c (daemon, options, listen address, TLS, shutdown), request.c
 * (libmicrohttpd's access handler: routing, authentication, body limits,
 * dispatch, responses), router.c (the route table), auth.c (bearer tokens,
 * role checks, per-address rate limit), tokens.c (fg_api_token_*), pool.c
 * (one fg_border per worker), body.c (JSON, base64 and multipart bodies),
 * problem.c (application/problem+json), metrics.c (Prometheus text),
 * static.c (web/ files), openapi.c (the embedded docs/openapi.json),
 * purge_timer.c, and routes_*.c (the handlers, one file per area).
 */
#ifndef FG_SERVER_INTERNAL_H
#define FG_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <microhttpd.h>

#include "common/internal.h"
#include "facegate/border.h"
#include "facegate/server.h"

#define FG__SERVER_VERSION "0.1.0"

/* ---- pool.c: fg_border handles, one per worker ---- */
typedef struct fg__pool {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  fg_border **free_list;
  int nfree, size;
  fg_border **all;
  fg_store_stats *seen;  /* each handle's store counters when last given back */
  fg_store_stats total;  /* the sum of what every handle did (under mu) */
} fg__pool;

int fg__pool_init(fg__pool *p, int size, const fg_border_options *o, fg_error *err);
fg_border *fg__pool_acquire(fg__pool *p);
void fg__pool_release(fg__pool *p, fg_border *b);
void fg__pool_release_all(fg__pool *p); /* close every handle (all must be back) */
void fg__pool_store_stats(fg__pool *p, fg_store_stats *out); /* totals so far */

/* ---- auth.c: per-address failure counts ---- */
#define FG__RATE_SLOTS 256
typedef struct fg__rate_slot {
  char addr[48];
  int64_t window_start;
  int failures;
} fg__rate_slot;

typedef struct fg__ratelimit {
  pthread_mutex_t mu;
  int limit, window;
  fg__rate_slot slot[FG__RATE_SLOTS];
} fg__ratelimit;

/* Seconds until addr may try again (0: not limited). */
int fg__rate_blocked(fg__ratelimit *rl, const char *addr, int64_t now);
void fg__rate_fail(fg__ratelimit *rl, const char *addr, int64_t now);

/* ---- metrics.c ---- */
#define FG__METRIC_BUCKETS 12
typedef struct fg__metric_row {
  int route;   /* index in the route table; -1: no route */
  int method;  /* 0 GET, 1 POST, 2 DELETE, 3 other */
  int status;
  uint64_t count;
} fg__metric_row;

typedef struct fg__metrics {
  pthread_mutex_t mu;
  fg__metric_row *rows;
  size_t nrows, cap;
  /* per route (+1 for "no route"): histogram of durations */
  uint64_t (*hist)[FG__METRIC_BUCKETS + 1];
  double *hist_sum;
  uint64_t *hist_count;
  atomic_uint_fast64_t outcomes[5]; /* fg_outcome */
} fg__metrics;

int fg__metrics_init(fg__metrics *m, size_t nroutes);
void fg__metrics_release(fg__metrics *m);
void fg__metrics_request(fg__metrics *m, int route, const char *method, int status, double sec);
void fg__metrics_outcome(fg__metrics *m, int outcome);

/* ---- the server ---- */
struct fg_server {
  struct MHD_Daemon *daemon;
  fg_server_options opt;
  char *web_dir;
  char *tls_cert_pem, *tls_key_pem;
  unsigned port;
  fg__pool pool;
  fg__ratelimit rate;
  fg__metrics metrics;
  atomic_int in_flight;
  atomic_int draining;
  int shut_down;
  pthread_mutex_t shut_mu;
  /* purge timer */
  pthread_t purge_thread;
  int purge_running;
  pthread_mutex_t purge_mu;
  pthread_cond_t purge_cv;
  int purge_stop;
};

/* ---- the request being handled ---- */
typedef struct fg__req fg__req;
typedef int (*fg__handler)(fg__req *r);

/* Body size classes. */
enum { FG__BODY_NONE = 0, FG__BODY_JSON, FG__BODY_IMAGE, FG__BODY_IMAGES, FG__BODY_MANIFEST };

typedef struct fg__route {
  fg_route_info info;
  fg__handler handler;
  int body;       /* FG__BODY_* */
  int prefix;     /* "/" also serves every non-API path (static files) */
} fg__route;

extern const fg__route fg__routes[];
extern const size_t fg__nroutes;

#define FG__MAX_PARAMS 3
/* Find the route for method and path. Returns its index, -1 when no route
 * has that path (404), -2 when one has it but not for this method (405). */
int fg__route_match(const char *method, const char *path, char params[FG__MAX_PARAMS][128],
                    int *nparams);

struct fg__req {
  fg_server *srv;
  struct MHD_Connection *conn;
  int route;              /* index, or -1 */
  const char *method;
  const char *path;
  char params[FG__MAX_PARAMS][128];
  int nparams;
  char addr[48];          /* client address, text */
  /* who (valid after authentication) */
  char name[FG_API_TOKEN_NAME_MAX + 1];
  unsigned role;
  fg_actor actor;
  fg_border *b;           /* held only while the handler runs */
  /* body */
  char *body;
  size_t body_len, body_cap, body_limit;
  int too_large;
  /* response */
  int status;
  json_t *json;           /* owned */
  char *raw;              /* owned (malloc) */
  size_t raw_len;
  const char *raw_type;
  const char *problem_code; /* for non-library problems */
  int retry_after;        /* > 0: a Retry-After header (429) */
  int www_authenticate;   /* a WWW-Authenticate header (401) */
  fg_error err;
  /* bookkeeping */
  double t0;
  char log_method[12], log_path[160]; /* copies for the completion log line */
  int queued;
  int counted;            /* counted in in_flight */
};

/* ---- request.c ---- */
enum MHD_Result fg__on_request(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version,
                               const char *upload_data, size_t *upload_size, void **con_cls);
void fg__on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe);
/* Monotonic seconds (request timing): the common millisecond clock. */
static inline double fg__now_sec(void) { return fg__ms() / 1e3; }

/* Query-string argument (NULL when absent). */
const char *fg__query(fg__req *r, const char *key);
/* Set the response: json (stolen) with status. Returns FG_OK. */
int fg__reply(fg__req *r, int status, json_t *json);
/* Fail with code and a message: returns code, the problem is built from it. */
int fg__fail(fg__req *r, int code, const char *fmt, ...) FG__PRINTF(3, 4);
/* A library call failed with rc: the problem carries its message. */
int fg__lib_fail(fg__req *r, int rc, const fg_error *e);
/* Parse path parameter i as a positive id (FG_EINVAL otherwise). */
int fg__param_id(fg__req *r, int i, int64_t *id);

/* ---- problem.c ---- */
/* HTTP status for an FG_E* code. */
int fg__problem_status(int code);
/* The problem document {type, title, status, detail, code}. */
json_t *fg__problem(int status, const char *code, const char *detail);

/* ---- body.c ---- */
/* Parse r->body as a JSON object (FG_EFORMAT naming the place otherwise). */
int fg__body_json(fg__req *r, json_t **out);
/* Decode base64 (standard or URL-safe alphabet, padding and whitespace
 * optional, an optional "data:...;base64," prefix). FG_ELIMIT above max. */
int fg__base64_decode(const char *s, size_t max, uint8_t **out, size_t *len, fg_error *err);
/* Whether the request is multipart/form-data. */
int fg__is_multipart(fg__req *r);
/* A multipart body's fields, by name (first of each). */
typedef struct fg__part {
  char name[64];
  char *data;
  size_t len, cap;
  int too_large;
} fg__part;
typedef struct fg__form {
  fg__part part[8];
  int n;
  size_t max_part;
} fg__form;
int fg__form_parse(fg__req *r, fg__form *f, size_t max_part);
const fg__part *fg__form_get(const fg__form *f, const char *name);
void fg__form_release(fg__form *f);

/* ---- auth.c ---- */
/* Authenticate and authorise r for its route: FG_OK, or a response ready in r
 * (401, 403, 429). */
int fg__authorise(fg__req *r);

/* ---- static.c, openapi.c ---- */
int fg__serve_static(fg__req *r);
int fg__route_openapi(fg__req *r);

/* ---- metrics.c ---- */
int fg__route_metrics(fg__req *r);

/* ---- purge_timer.c ---- */
int fg__purge_timer_start(fg_server *s, fg_error *err);
void fg__purge_timer_stop(fg_server *s);

/* ---- the handlers (routes_*.c) ---- */
int fg__route_healthz(fg__req *r);
int fg__route_whoami(fg__req *r);
int fg__route_manifest_import(fg__req *r);
int fg__route_manifest_amend(fg__req *r);
int fg__route_manifest_close(fg__req *r);
int fg__route_manifest_list(fg__req *r);
int fg__route_manifest_show(fg__req *r);
int fg__route_encounter(fg__req *r);
int fg__route_verify(fg__req *r);
int fg__route_watchlist_list(fg__req *r);
int fg__route_watchlist_add(fg__req *r);
int fg__route_watchlist_remove(fg__req *r);
int fg__route_referral_list(fg__req *r);
int fg__route_referral_summary(fg__req *r);
int fg__route_referral_show(fg__req *r);
int fg__route_referral_decide(fg__req *r);
int fg__route_referral_photos(fg__req *r);
int fg__route_crossings(fg__req *r);
int fg__route_overstays(fg__req *r);
int fg__route_report(fg__req *r);
int fg__route_report_chart(fg__req *r);
int fg__route_audit_list(fg__req *r);
int fg__route_audit_verify(fg__req *r);
int fg__route_purge_status(fg__req *r);
int fg__route_purge_run(fg__req *r);
int fg__route_policy(fg__req *r);
int fg__route_token_list(fg__req *r);
int fg__route_token_create(fg__req *r);
int fg__route_token_revoke(fg__req *r);

#endif
