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
#include <sys/socket.h>

#include <microhttpd.h>

#include "common/doc.h"
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

/* ---- auth.c: failed authentications, throttling, coalesced denials ---- */
#define FG__THROTTLE_SLOTS 512
#define FG__DENIAL_SOURCES 64 /* sources audited on their own per interval; the rest: "*" */
#define FG__DENIAL_REASONS 6  /* no, malformed, unknown, revoked token; role; throttled */
typedef struct fg__throttle_slot {
  char key[80];             /* a network ("127.0.0.0/24") or "token:NAME" */
  int64_t window_start;
  int failures;             /* in the window */
  /* denials not yet in the audit chain */
  int64_t pending, first_at, last_at;
  int64_t reasons[FG__DENIAL_REASONS];
  char name[FG_API_TOKEN_NAME_MAX + 1], role[16], route[64], addr[48];
} fg__throttle_slot;

typedef struct fg__throttle {
  pthread_mutex_t mu;
  int net_limit, window, global_limit, perm_limit, interval;
  int64_t global_start;
  int global_failures;
  int64_t interval_start;
  int sources_in_interval;
  fg__throttle_slot slot[FG__THROTTLE_SLOTS];
  fg__throttle_slot overflow; /* "*": sources past FG__DENIAL_SOURCES, or no slot free */
  uint64_t denials_total, denial_events_total, throttled_total;
} fg__throttle;

int fg__throttle_init(fg__throttle *t, const fg_server_options *o);
void fg__throttle_release(fg__throttle *t);
/* Write the denials counted so far as auth.denied events: those of an
 * interval that has ended, or (all) every pending one. Returns events written. */
int fg__denials_flush(fg_server *s, fg_border *b, int all);
void fg__throttle_stats(fg__throttle *t, uint64_t *denials, uint64_t *events, uint64_t *throttled);

/* ---- guard.c: connection admission and header deadlines ---- */
typedef struct fg__conn fg__conn;
#define FG__GUARD_PENDING 64
typedef struct fg__pending {
  char addr[48], net[48];
  double at;
} fg__pending;
typedef struct fg__guard {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  fg__conn **conns;
  size_t n;
  fg__pending pending[FG__GUARD_PENDING]; /* admitted, not yet announced */
  size_t npending;
  char proxies[8][48];    /* trusted reverse proxies (addresses, as fg__net_of writes them) */
  int nproxies;
  int per_addr, per_net, soft, hard;
  double header_deadline_ms;
  pthread_t thread;
  int running, stop;
  uint64_t refused_addr, refused_net, refused_total, evicted, header_timeouts;
} fg__guard;

typedef struct fg__guard_counts {
  size_t open;
  uint64_t refused, evicted, header_timeouts;
} fg__guard_counts;

/* "192.0.2.7" and "192.0.2.0/24" (IPv6: the address and its /64). */
void fg__net_of(const struct sockaddr *sa, char addr[48], char net[48]);
int fg__guard_init(fg__guard *g, const fg_server_options *o);
int fg__guard_start(fg_server *s);
void fg__guard_stop(fg_server *s);
void fg__guard_release(fg__guard *g);
enum MHD_Result fg__guard_accept(void *cls, const struct sockaddr *sa, socklen_t len);
void fg__guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe);
/* The connection's request headers have arrived / its response is done. */
void fg__guard_request_started(fg_server *s, struct MHD_Connection *c);
void fg__guard_request_done(fg_server *s, struct MHD_Connection *c);
void fg__guard_stats(fg__guard *g, fg__guard_counts *out);
/* Whether addr is one of the trusted reverse proxies. */
int fg__guard_is_proxy(const fg__guard *g, const char *addr);

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
  fg__throttle throttle;
  fg__guard guard;
  fg__metrics metrics;
  int tls;
  atomic_size_t body_bytes;   /* request bodies held in memory now */
  /* retention: a purge whose write-ahead-log flush a reader held up */
  _Atomic int64_t flush_pending_since; /* 0: none pending */
  atomic_uint_fast64_t flush_incomplete; /* purges that ended so */
  atomic_uint_fast64_t body_refused; /* bodies refused because body_bytes was at its cap */
  atomic_int in_flight;
  atomic_int draining;
  int shut_down;
  pthread_mutex_t shut_mu;
  char *anchor_file;          /* a copy of opt.anchor_file */
  int64_t anchored_seq;       /* the head last published (housekeeping thread only) */
  double anchored_ms;
  /* housekeeping thread (housekeeping.c) */
  pthread_t hk_thread;
  int hk_running, hk_stop;
  pthread_mutex_t hk_mu;
  pthread_cond_t hk_cv;
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

/* Body classes: each has a byte limit (request.c, from the server's options)
 * and, for JSON, a limit on values and nesting (the values a DOM parser would
 * build: request.c counts them as the body arrives). */
enum {
  FG__BODY_NONE = 0,
  FG__BODY_JSON,      /* a small JSON object (64 KiB) */
  FG__BODY_IMAGE,     /* one image, in multipart or base64 in JSON */
  FG__BODY_IMAGES,    /* two images */
  FG__BODY_MANIFEST,  /* a manifest (16 MiB, up to 5,000 passengers) */
  FG__BODY_WATCHLIST  /* one watchlist entry with up to 16 photos */
};

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
  char net[48];           /* its network: /24 (IPv4) or /64 (IPv6) */
  /* who (valid after authentication) */
  char name[FG_API_TOKEN_NAME_MAX + 1];
  unsigned role;
  fg_actor actor;
  fg_border *b;           /* held only while the handler runs */
  /* body */
  char *body;
  size_t body_len, body_cap, body_limit;
  size_t declared;        /* Content-Length (0: none, or chunked) */
  size_t reserved;        /* bytes taken from the server's budget for this body */
  int too_large;          /* over the route's byte limit */
  int over_budget;        /* the server's bytes in flight were at their cap */
  int scan_json;          /* count the body's JSON values as it arrives */
  fg__json_scan scan;
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
  char log_method[12], log_route[96]; /* for the completion log line: the method
                                         and the route's template, never the raw path */
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
/* The same for a document of the border layer (the reply takes it over). */
static inline int fg__reply_doc(fg__req *r, int status, fg_doc *doc) {
  return fg__reply(r, status, fg__json(doc));
}
/* Fail with code and a message: returns code, the problem is built from it. */
int fg__fail(fg__req *r, int code, const char *fmt, ...) FG__PRINTF(3, 4);
/* A library call failed with rc: the problem carries its message. */
int fg__lib_fail(fg__req *r, int rc, const fg_error *e);
/* Parse path parameter i as a positive id (FG_EINVAL otherwise). */
int fg__param_id(fg__req *r, int i, int64_t *id);
/* A positive decimal id below 2^63: digits only (FG_EINVAL for anything else,
 * a number too large included: never read as INT64_MAX). */
int fg__parse_id(const char *s, int64_t *id);

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
  int nomem; /* a part could not be kept */
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

/* ---- housekeeping.c ---- */
int fg__housekeeping_start(fg_server *s);
void fg__housekeeping_stop(fg_server *s);
void fg__housekeeping_tick(fg_server *s);

/* ---- purge_timer.c ---- */
/* After a purge (timer or POST /v1/purge): note an incomplete flush. */
void fg__purge_noted(fg_server *s, fg_border *b, const json_t *result);
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
int fg__route_traveller_find(fg__req *r);
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
