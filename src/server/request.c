/*
 * libmicrohttpd's access handler: one request from its headers to its
 * response.
 *
 * First call (headers only): find the route (404 / 405; HEAD is GET without
 * the body), authenticate and authorise (auth.c: 401 / 403 / 429), and refuse
 * a declared body above the route's limit (413); each of these answers at
 * once, before the body is read. Further calls append the body to a buffer,
 * up to the limit (a chunked body that outgrows it is drained and answered
 * 413). Memory is bounded three ways while the body arrives:
 *
 *   - per route, in bytes (body_limit);
 *   - for JSON, in values and nesting (fg__json_scan, counted chunk by chunk):
 *     a body with more values than its route could ever need (a 10 MB array
 *     of numbers posted as an encounter) stops being buffered at the first
 *     value too many and is answered 413, long before a parser would have
 *     turned it into hundreds of megabytes;
 *   - for the whole server, in bytes of bodies held at once (max_body_in_flight):
 *     a body that would go past it is drained and answered 503 with
 *     Retry-After.
 *
 * Last call: the handler runs with an fg_border borrowed from the pool, and
 * its JSON (or raw bytes, or a problem document) is queued, with the security
 * headers (Content-Security-Policy, frame and referrer policies, nosniff, HSTS
 * over TLS, no-store for API responses), and counted in the metrics. The
 * completion callback logs one line: method, the route's template (never the
 * raw path, which may hold a document number), status, time, client address
 * and token name; never the token, a body or a query.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "border/manifest_parse.h"
#include "server/server_internal.h"

const char *fg__query(fg__req *r, const char *key) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

int fg__reply(fg__req *r, int status, json_t *json) {
  json_decref(r->json);
  r->json = json;
  r->status = status;
  return FG_OK;
}

int fg__fail(fg__req *r, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err.msg, sizeof r->err.msg, fmt, ap);
  va_end(ap);
  r->err.code = code;
  if (r->status < 400) r->status = fg__problem_status(code);
  if (code == FG_EUNAVAILABLE && r->retry_after <= 0) r->retry_after = 1;
  return code;
}

int fg__lib_fail(fg__req *r, int rc, const fg_error *e) {
  return fg__fail(r, rc, "%s", e && e->code == rc && e->msg[0] ? e->msg : fg_strerror(rc));
}

int fg__parse_id(const char *s, int64_t *id) {
  if (!s || *s < '0' || *s > '9') return FG_EINVAL; /* no sign, no space */
  char *e;
  errno = 0;
  long long v = strtoll(s, &e, 10);
  if (errno == ERANGE || *e || v <= 0) return FG_EINVAL; /* never INT64_MAX for a longer number */
  *id = v;
  return FG_OK;
}

int fg__param_id(fg__req *r, int i, int64_t *id) {
  const char *s = i < r->nparams ? r->params[i] : "";
  if (fg__parse_id(s, id) != FG_OK)
    return fg__fail(r, FG_EINVAL, "'%s' is not an id (a positive integer below 2^63)", s);
  return FG_OK;
}

static size_t body_limit(const fg_server *s, int cls) {
  switch (cls) {
  case FG__BODY_MANIFEST:
  case FG__BODY_WATCHLIST: return s->opt.max_manifest;
  case FG__BODY_IMAGE: return s->opt.max_image / 3 * 4 + s->opt.max_json;
  case FG__BODY_IMAGES: return 2 * (s->opt.max_image / 3 * 4) + s->opt.max_json;
  default: return s->opt.max_json;
  }
}

/* Values and nesting a JSON body of this class may have: what the route can
 * use, with room to spare. A manifest: up to 5,000 passengers of about 60
 * values each (every field, eight photos); an encounter or a verify: a
 * dozen members; a watchlist entry: its fields and up to 16 photos. */
static void json_limits(int cls, size_t *values, int *depth) {
  switch (cls) {
  case FG__BODY_MANIFEST: *values = FG__MANIFEST_MAX_JSON_VALUES, *depth = FG__MANIFEST_MAX_JSON_DEPTH; break;
  case FG__BODY_WATCHLIST: *values = 256, *depth = 4; break;
  case FG__BODY_IMAGE:
  case FG__BODY_IMAGES: *values = 64, *depth = 3; break;
  default: *values = 1024, *depth = 8; break;
  }
}

/* Take n more bytes from the server's budget for bodies in flight. */
static int budget_take(fg_server *s, size_t n) {
  size_t cur = atomic_load(&s->body_bytes);
  do {
    if (cur + n > s->opt.max_body_in_flight) return 0;
  } while (!atomic_compare_exchange_weak(&s->body_bytes, &cur, cur + n));
  return 1;
}

static void budget_give(fg_server *s, size_t n) { atomic_fetch_sub(&s->body_bytes, n); }

/* Free the body and give its bytes back to the budget. */
static void drop_body(fg__req *r) {
  free(r->body);
  r->body = NULL;
  budget_give(r->srv, r->reserved);
  r->reserved = r->body_cap = r->body_len = 0;
}

/* Whether s is text a JSON string may hold (well-formed UTF-8). */
static int utf8_ok(const char *s) { /* what json_string accepts, without allocating one */
  return fg__utf8_valid((const unsigned char *)s, strlen(s));
}

/* Query arguments end up in JSON (reports, audit events): each key and value
 * must be UTF-8 once %-decoded. */
static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  (void)kind;
  const char **bad = cls;
  if ((key && !utf8_ok(key)) || (value && !utf8_ok(value))) {
    *bad = key ? key : "";
    return MHD_NO;
  }
  return MHD_YES;
}

/* The client's address and network; behind a trusted reverse proxy, the
 * address the proxy saw (its X-Real-IP header, a numeric address). */
static void client_addr(fg_server *s, struct MHD_Connection *c, char addr[48], char net[48]) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  fg__net_of(ci ? ci->client_addr : NULL, addr, net);
  if (!s->guard.nproxies || !fg__guard_is_proxy(&s->guard, addr)) return;
  const char *real = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Real-IP");
  struct sockaddr_storage ss = {0};
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (real && inet_pton(AF_INET, real, &v4->sin_addr) == 1) v4->sin_family = AF_INET;
  else if (real && inet_pton(AF_INET6, real, &v6->sin6_addr) == 1) v6->sin6_family = AF_INET6;
  else return; /* the proxy's own address, then */
  fg__net_of((struct sockaddr *)&ss, addr, net);
}

/* The security headers every response gets (item by item in docs/api.md). */
static void security_headers(fg__req *r, struct MHD_Response *resp, int api) {
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  /* The console loads its script, style and data from this origin only; the
   * referral's photos are data: URLs made from the API's base64. */
  MHD_add_response_header(resp, "Content-Security-Policy",
                          api ? "default-src 'none'; frame-ancestors 'none'"
                              : "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  if (api) MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (r->srv->tls)
    MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
}

/* The answer when the request's state or its answer cannot be allocated:
 * a static problem document that MHD sends without copying. */
static const char NOMEM_PROBLEM[] =
    "{\"type\":\"urn:facegate:error:nomem\",\"title\":\"Internal Server Error\",\"status\":500,"
    "\"detail\":\"out of memory\",\"code\":\"FG_ENOMEM\"}";

static struct MHD_Response *nomem_response(void) {
  return MHD_create_response_from_buffer(sizeof NOMEM_PROBLEM - 1, (void *)NOMEM_PROBLEM,
                                         MHD_RESPMEM_PERSISTENT);
}

/* The answer to a request that changed something (POST, DELETE) and
 * succeeded when its result cannot be written out for want of memory: the
 * change is made, so the status stays a success (a 500 would send the
 * client to retry, and a retried import is a conflict); the body says to
 * read the result back. */
static const char DONE_NO_BODY[] =
    "{\"detail\":\"done, but the result could not be written out (out of memory): read it back\","
    "\"code\":\"FG_ENOMEM\"}";

/* Build and queue the response r describes. */
static enum MHD_Result queue(fg__req *r) {
  const char *type = "application/json";
  char *text = NULL;
  size_t len = 0;
  int status = r->status ? r->status : 200;
  if (r->err.code != FG_OK || status >= 400) {
    if (status < 400) status = fg__problem_status(r->err.code);
    const char *code = r->problem_code ? r->problem_code : fg_err_name(r->err.code);
    json_decref(r->json);
    r->json = fg__problem(status, code, r->err.msg);
    type = "application/problem+json";
    free(r->raw);
    r->raw = NULL;
  }
  struct MHD_Response *resp;
  if (r->raw) {
    resp = MHD_create_response_from_buffer(r->raw_len, r->raw, MHD_RESPMEM_MUST_FREE);
    if (resp) r->raw = NULL;
    type = r->raw_type;
  } else if (r->json) {
    text = json_dumps(r->json, JSON_COMPACT);
    len = text ? strlen(text) : 0;
    resp = text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!resp) free(text);
  } else if (r->err.code == FG_OK && status < 400) {
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  } else {
    resp = NULL; /* the problem document could not be made */
  }
  if (!resp && status < 300 && strcmp(r->log_method, "GET") != 0 && strcmp(r->log_method, "HEAD") != 0)
    resp = MHD_create_response_from_buffer(sizeof DONE_NO_BODY - 1, (void *)DONE_NO_BODY,
                                           MHD_RESPMEM_PERSISTENT);
  if (!resp) {
    status = 500;
    type = "application/problem+json";
    resp = nomem_response();
  }
  if (!resp) return MHD_NO;
  if (status != 204) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  security_headers(r, resp, r->route < 0 || !fg__routes[r->route].prefix);
  if (r->retry_after > 0) {
    char ra[16];
    snprintf(ra, sizeof ra, "%d", r->retry_after);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
  }
  if (r->www_authenticate)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"facegate\"");
  if (status == 405) {
    char allow[64] = "";
    for (size_t i = 0; i < fg__nroutes; i++) {
      char p[FG__MAX_PARAMS][128];
      int np;
      const fg__route *rt = &fg__routes[i];
      if (fg__route_match(rt->info.method, r->path, p, &np) == (int)i && !strstr(allow, rt->info.method))
        snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s%s", allow[0] ? ", " : "",
                 rt->info.method, strcmp(rt->info.method, "GET") == 0 ? ", HEAD" : "");
    }
    if (allow[0]) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
  }
  r->status = status;
  /* Counted before the client can see the answer, so a scrape that follows
   * a response always includes it. */
  fg__metrics_request(&r->srv->metrics, r->route, r->log_method, status, fg__now_sec() - r->t0);
  enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  r->queued = 1;
  return ok;
}

static void dispatch(fg__req *r) {
  fg_server *s = r->srv;
  const fg__route *rt = &fg__routes[r->route];
  r->b = fg__pool_acquire(&s->pool);
  int rc = rt->handler(r);
  fg__pool_release(&s->pool, r->b);
  r->b = NULL;
  if (rc != FG_OK && r->err.code == FG_OK) fg__fail(r, rc, "%s", fg_strerror(rc));
  if (r->err.code != FG_OK && r->status >= 500)
    fg__log(r->status == 503 ? FG_LOG_WARN : FG_LOG_ERROR, "%s %s: %s: %s", r->method,
            rt->info.path, fg_err_name(r->err.code), r->err.msg);
}

enum MHD_Result fg__on_request(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version,
                               const char *upload_data, size_t *upload_size, void **con_cls) {
  (void)version;
  fg_server *s = cls;
  fg__req *r = *con_cls;
  if (r == (const void *)NOMEM_PROBLEM) { /* answered: no memory for the request */
    *upload_size = 0;
    return MHD_YES;
  }
  if (!r) {
    if (!(r = calloc(1, sizeof *r))) {
      struct MHD_Response *resp = nomem_response();
      if (!resp) return MHD_NO;
      *con_cls = (void *)NOMEM_PROBLEM;
      MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
      enum MHD_Result ok = MHD_queue_response(c, 500, resp);
      MHD_destroy_response(resp);
      return ok;
    }
    *con_cls = r;
    r->srv = s;
    r->conn = c;
    r->method = method;
    r->path = url;
    r->t0 = fg__now_sec();
    snprintf(r->log_method, sizeof r->log_method, "%s", method);
    snprintf(r->log_route, sizeof r->log_route, "(unmatched)");
    r->counted = 1;
    atomic_fetch_add(&s->in_flight, 1);
    fg__guard_request_started(s, c);
    client_addr(s, c, r->addr, r->net);
    r->route = fg__route_match(method, url, r->params, &r->nparams);
    if (r->route >= 0 && !fg__routes[r->route].prefix)
      snprintf(r->log_route, sizeof r->log_route, "%s", fg__routes[r->route].info.path);
    else if (r->route >= 0)
      snprintf(r->log_route, sizeof r->log_route, "(console file)");
    if (r->route == -1) {
      fg__fail(r, FG_ENOTFOUND, "no route %s", url);
      return queue(r);
    }
    if (r->route == -2) {
      r->route = -1;
      r->status = 405;
      r->problem_code = "FG_EUNSUPPORTED";
      fg__fail(r, FG_EUNSUPPORTED, "%s is not allowed on %s", method, url);
      return queue(r);
    }
    if (fg__authorise(r) != FG_OK) return queue(r);
    const char *bad = NULL;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_arg, &bad);
    if (bad) {
      fg__fail(r, FG_EINVAL, "the query string is not UTF-8 (argument '%s')", bad);
      return queue(r);
    }
    int cls = fg__routes[r->route].body;
    r->body_limit = body_limit(s, cls);
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    r->declared = cl ? (size_t)strtoull(cl, NULL, 10) : 0;
    if (cl && strtoull(cl, NULL, 10) > r->body_limit) {
      fg__fail(r, FG_ELIMIT, "the body (%s bytes) is over this route's limit of %zu bytes", cl,
               r->body_limit);
      return queue(r);
    }
    /* Anything but a form is read as JSON (the handlers refuse other types). */
    if (!fg__is_multipart(r)) {
      size_t values;
      int depth;
      json_limits(cls, &values, &depth);
      fg__json_scan_init(&r->scan, values, depth);
      r->scan_json = 1;
    }
    return MHD_YES;
  }
  if (r->queued) { /* answered early: drop whatever still comes */
    *upload_size = 0;
    return MHD_YES;
  }
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    if (r->too_large || r->over_budget || r->scan.over) return MHD_YES; /* drained */
    if (r->body_len + n > r->body_limit) {
      r->too_large = 1;
      drop_body(r);
      return MHD_YES;
    }
    if (r->scan_json && fg__json_scan_feed(&r->scan, upload_data, n) != FG_OK) {
      /* Refused on its shape: nothing more of it is kept. */
      drop_body(r);
      return MHD_YES;
    }
    if (r->body_len + n + 1 > r->body_cap) {
      /* A declared length is taken from the budget whole, at the first
       * bytes, so that bodies arriving together are admitted or refused
       * whole rather than all stalling half-way; a chunked body takes its
       * share as its buffer doubles. */
      size_t cap = r->body_cap ? r->body_cap : 8192;
      while (cap < r->body_len + n + 1) cap *= 2;
      if (cap > r->body_limit + 1) cap = r->body_limit + 1;
      size_t want = r->declared && r->declared + 1 > cap ? r->declared + 1 : cap;
      if (want > r->body_limit + 1) want = r->body_limit + 1;
      if (want > r->reserved && !budget_take(s, want - r->reserved)) {
        r->over_budget = 1;
        atomic_fetch_add(&s->body_refused, 1);
        drop_body(r);
        return MHD_YES;
      }
      if (want > r->reserved) r->reserved = want;
      char *nb = realloc(r->body, cap);
      if (!nb) { /* drained like a body over the limit, and answered 500 */
        fg__fail(r, FG_ENOMEM, "out of memory reading the body");
        r->too_large = 1;
        return MHD_YES;
      }
      r->body = nb;
      r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, upload_data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return MHD_YES;
  }
  if (r->too_large) {
    /* over the limit; or the body could not grow (FG_ENOMEM, already set) */
    if (r->err.code == FG_OK)
      fg__fail(r, FG_ELIMIT, "the body is over this route's limit of %zu bytes", r->body_limit);
  } else if (r->scan.over) {
    fg_error e;
    fg__json_scan_error(&r->scan, "the body", &e);
    fg__fail(r, FG_ELIMIT, "%s: more than this route accepts", e.msg);
  } else if (r->over_budget) {
    r->retry_after = 1;
    fg__fail(r, FG_EUNAVAILABLE, "the server holds as many request bodies as it may now "
             "(%zu bytes): retry shortly", r->srv->opt.max_body_in_flight);
  } else {
    dispatch(r);
  }
  drop_body(r); /* the body is no longer needed once the handler has run */
  return queue(r);
}

void fg__on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  fg_server *s = cls;
  fg__req *r = *con_cls;
  *con_cls = NULL;
  if (!r || r == (const void *)NOMEM_PROBLEM) return;
  double sec = fg__now_sec() - r->t0;
  int status = r->queued ? r->status : 499; /* 499: the client left before an answer */
  fg__log(FG_LOG_INFO, "%s %s %d %.1f ms %s%s%s", r->log_method, r->log_route, status, sec * 1e3,
          r->addr, r->name[0] ? " " : "", r->name);
  (void)toe;
  fg__guard_request_done(s, c);
  json_decref(r->json);
  free(r->raw);
  drop_body(r);
  if (r->counted) atomic_fetch_sub(&s->in_flight, 1);
  free(r);
}
