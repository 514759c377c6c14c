/*
 * libmicrohttpd's access handler: one request from its headers to its
 * response.
 *
 * First call (headers only): find the route (404 / 405), authenticate and
 * authorise (auth.c: 401 / 403 / 429), and refuse a declared body above the
 * route's limit (413); each of these answers at once, before the body is
 * read. Further calls append the body to a buffer, up to the limit (a
 * chunked body that outgrows it is drained and answered 413). Last call: the
 * handler runs with an fg_border borrowed from the pool, and its JSON (or
 * raw bytes, or a problem document) is queued and counted in the metrics.
 * The completion callback logs one line (never the token) and frees it.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int fg__param_id(fg__req *r, int i, int64_t *id) {
  char *e;
  const char *s = i < r->nparams ? r->params[i] : "";
  long long v = strtoll(s, &e, 10);
  if (!*s || *e || v <= 0) return fg__fail(r, FG_EINVAL, "'%s' is not an id", s);
  *id = v;
  return FG_OK;
}

static size_t body_limit(const fg_server *s, int cls) {
  switch (cls) {
  case FG__BODY_MANIFEST: return s->opt.max_manifest;
  case FG__BODY_IMAGE: return s->opt.max_image / 3 * 4 + s->opt.max_json;
  case FG__BODY_IMAGES: return 2 * (s->opt.max_image / 3 * 4) + s->opt.max_json;
  default: return s->opt.max_json;
  }
}

/* Whether s is text a JSON string may hold (well-formed UTF-8). */
static int utf8_ok(const char *s) {
  json_t *j = json_string(s);
  json_decref(j);
  return j != NULL;
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

static void client_addr(struct MHD_Connection *c, char out[48]) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  snprintf(out, 48, "unknown");
  if (!ci || !ci->client_addr) return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, 48);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, 48);
}

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
  } else {
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  }
  if (!resp) return MHD_NO;
  if (status != 204) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  if (r->route < 0 || !fg__routes[r->route].prefix)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
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
        snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s", allow[0] ? ", " : "",
                 rt->info.method);
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
  if (!r) {
    if (!(r = calloc(1, sizeof *r))) return MHD_NO;
    *con_cls = r;
    r->srv = s;
    r->conn = c;
    r->method = method;
    r->path = url;
    r->t0 = fg__now_sec();
    snprintf(r->log_method, sizeof r->log_method, "%s", method);
    snprintf(r->log_path, sizeof r->log_path, "%s", url);
    r->counted = 1;
    atomic_fetch_add(&s->in_flight, 1);
    client_addr(c, r->addr);
    r->route = fg__route_match(method, url, r->params, &r->nparams);
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
    r->body_limit = body_limit(s, fg__routes[r->route].body);
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > r->body_limit) {
      fg__fail(r, FG_ELIMIT, "the body (%s bytes) is over this route's limit of %zu bytes", cl,
               r->body_limit);
      return queue(r);
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
    if (r->too_large || r->body_len + n > r->body_limit) {
      r->too_large = 1;
      return MHD_YES;
    }
    if (r->body_len + n + 1 > r->body_cap) {
      size_t cap = r->body_cap ? r->body_cap : 8192;
      while (cap < r->body_len + n + 1) cap *= 2;
      if (cap > r->body_limit + 1) cap = r->body_limit + 1;
      char *nb = realloc(r->body, cap);
      if (!nb) return MHD_NO;
      r->body = nb;
      r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, upload_data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return MHD_YES;
  }
  if (r->too_large)
    fg__fail(r, FG_ELIMIT, "the body is over this route's limit of %zu bytes", r->body_limit);
  else
    dispatch(r);
  return queue(r);
}

void fg__on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  (void)c;
  fg_server *s = cls;
  fg__req *r = *con_cls;
  if (!r) return;
  *con_cls = NULL;
  double sec = fg__now_sec() - r->t0;
  int status = r->queued ? r->status : 499; /* 499: the client left before an answer */
  fg__log(FG_LOG_INFO, "%s %s %d %.1f ms %s%s%s", r->log_method, r->log_path, status, sec * 1e3, r->addr,
          r->name[0] ? " " : "", r->name);
  (void)toe;
  json_decref(r->json);
  free(r->raw);
  free(r->body);
  if (r->counted) atomic_fetch_sub(&s->in_flight, 1);
  free(r);
}
