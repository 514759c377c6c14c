/*
 * The daemon: options, the listen address, TLS, libmicrohttpd's thread pool,
 * and an orderly shutdown.
 *
 * Binding: "ADDR:PORT" ("[V6]:PORT", "localhost:PORT"); port 0 picks a free
 * port (fg_server_port says which). Plain HTTP is for loopback only: any
 * other address needs TLS (a PEM certificate and key) or insecure_bind,
 * because tokens and face images travel in the requests.
 *
 * Shutdown (fg_server_shutdown, on SIGTERM in `facegate serve`): the listen
 * socket is closed at once (MHD_quiesce_daemon), requests already being
 * processed (an encounter being matched and written) run to the end and
 * their responses are sent, then the workers stop, the purge timer is
 * joined and the border handles are closed.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/server_internal.h"

void fg_server_options_init(fg_server_options *o) {
  memset(o, 0, sizeof *o);
  o->listen = "127.0.0.1:8080";
  o->web_dir = "web";
  o->threads = 2;
  o->purge_interval = 600;
  o->conn_timeout = 30;
  o->max_manifest = (size_t)16 << 20;
  o->max_image = (size_t)8 << 20;
  o->max_json = (size_t)64 << 10;
  o->max_body_in_flight = (size_t)64 << 20;
  o->auth_fail_limit = 10;
  o->auth_fail_window = 60;
  o->auth_fail_global = 100;
  o->perm_fail_limit = 20;
  o->denial_audit_interval = 10;
  o->max_conns = 1024;
  o->max_conns_per_addr = 16;
  o->max_conns_per_net = 64;
  o->header_timeout = 10;
  o->anchor_interval = 60;
  fg_border_options_init(&o->border);
}

/* Parse "ADDR:PORT" into a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl, fg_error *err) {
  char host[256];
  const char *port;
  if (s[0] == '[') {
    const char *e = strchr(s, ']');
    if (!e || e[1] != ':' || (size_t)(e - s - 1) >= sizeof host) goto bad;
    memcpy(host, s + 1, (size_t)(e - s - 1));
    host[e - s - 1] = '\0';
    port = e + 2;
  } else {
    const char *c = strrchr(s, ':');
    if (!c || (size_t)(c - s) >= sizeof host || c == s) goto bad;
    memcpy(host, s, (size_t)(c - s));
    host[c - s] = '\0';
    port = c + 1;
  }
  char *pe;
  long p = strtol(port, &pe, 10);
  if (!*port || *pe || p < 0 || p > 65535) goto bad;
  if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
  struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
  struct addrinfo *ai = NULL;
  if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) goto bad;
  memcpy(ss, ai->ai_addr, ai->ai_addrlen);
  *sl = ai->ai_addrlen;
  freeaddrinfo(ai);
  return FG_OK;
bad:
  return fg__seterr(err, FG_EINVAL, "--listen wants ADDR:PORT with a numeric address, e.g. 127.0.0.1:8080 or [::1]:8080 (got '%s')", s);
}

static int is_loopback(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *in = (const void *)ss;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const void *)ss;
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return 1;
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
  }
  return 0;
}

static int read_pem(const char *path, char **out, fg_error *err) {
  uint8_t *data;
  size_t len;
  int rc = fg__read_file(path, (size_t)1 << 20, &data, &len, err);
  if (rc != FG_OK) return rc;
  char *s = realloc(data, len + 1);
  if (!s) {
    free(data);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  s[len] = '\0';
  *out = s;
  return FG_OK;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
  fg__log(FG_LOG_WARN, "http: %s", line);
}

int fg_server_create(const fg_server_options *o, fg_server **out, fg_error *err) {
  *out = NULL;
  fg_server_options defaults;
  if (!o) {
    fg_server_options_init(&defaults);
    o = &defaults;
  }
  struct sockaddr_storage ss;
  socklen_t sl;
  int rc = parse_listen(o->listen ? o->listen : "127.0.0.1:8080", &ss, &sl, err);
  if (rc != FG_OK) return rc;
  int tls = o->tls_cert || o->tls_key;
  if (tls && !(o->tls_cert && o->tls_key))
    return fg__seterr(err, FG_EINVAL, "TLS needs both a certificate and a key");
  if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
    return fg__seterr(err, FG_EUNSUPPORTED, "this libmicrohttpd was built without TLS support");
  if (!tls && !o->insecure_bind && !is_loopback(&ss))
    return fg__seterr(err, FG_EPERM,
                      "refusing to serve plain HTTP (no TLS) on non-loopback address %s: tokens and face "
                      "images would cross the network in clear; give --tls-cert and --tls-key, "
                      "or --insecure-bind if something else encrypts the traffic",
                      o->listen);
  if (o->threads < 1 || o->threads > 256) return fg__seterr(err, FG_EINVAL, "threads must be 1..256");

  fg_server *s = calloc(1, sizeof *s);
  if (!s) return fg__seterr(err, FG_ENOMEM, "out of memory");
  s->opt = *o;
  s->opt.listen = NULL;
  if (!s->opt.max_body_in_flight) s->opt.max_body_in_flight = (size_t)64 << 20;
  s->opt.trusted_proxies = NULL; /* copied into the guard below */
  s->tls = tls;
  pthread_mutex_init(&s->shut_mu, NULL);
  fg__throttle_init(&s->throttle, o);
  int pool_ok = 0, metrics_ok = 0, timer_ok = 0, guard_ok = 0;
  if (o->anchor_file && !(s->anchor_file = strdup(o->anchor_file))) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto fail;
  }
  s->opt.anchor_file = s->anchor_file;
  if ((rc = fg__guard_init(&s->guard, o)) != FG_OK) {
    if (rc == FG_EINVAL)
      fg__seterr(err, rc, "--trusted-proxy wants numeric addresses (at most 8), e.g. 127.0.0.1");
    else
      fg__seterr(err, rc, "out of memory");
    if (s->guard.conns) fg__guard_release(&s->guard);
    goto fail;
  }
  guard_ok = 1;
  if (o->web_dir && !(s->web_dir = strdup(o->web_dir))) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto fail;
  }
  if (tls && ((rc = read_pem(o->tls_cert, &s->tls_cert_pem, err)) != FG_OK ||
              (rc = read_pem(o->tls_key, &s->tls_key_pem, err)) != FG_OK))
    goto fail;
  if ((rc = fg__metrics_init(&s->metrics, fg__nroutes)) != FG_OK) {
    fg__seterr(err, rc, "out of memory");
    goto fail;
  }
  metrics_ok = 1;
  /* One handle per worker and one for the purge timer. */
  if ((rc = fg__pool_init(&s->pool, o->threads + 1, &o->border, err)) != FG_OK) goto fail;
  pool_ok = 1;

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_AUTO;
  if (tls) flags |= MHD_USE_TLS;
  if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  struct MHD_OptionItem opts[16];
  int k = 0;
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, s};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)(o->conn_timeout ? o->conn_timeout : 30), NULL};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)fg__on_completed, s};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)fg__guard_notify, s};
  /* The guard (guard.c) admits connections by address and network below this. */
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)s->guard.hard, NULL};
  /* Headers up to 64 KiB (libmicrohttpd answers larger ones itself, in HTML:
   * docs/deployment.md has a reverse proxy that refuses them first). */
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL};
  if (o->threads > 1) opts[k++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, o->threads, NULL};
  if (tls) {
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem};
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem};
    opts[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                        (void *)(o->tls_priorities ? o->tls_priorities
                                                                   : FG_TLS_PRIORITIES)};
  }
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  s->daemon = MHD_start_daemon(flags, 0, fg__guard_accept, s, fg__on_request, s, MHD_OPTION_ARRAY,
                               opts, MHD_OPTION_END);
  if (!s->daemon) {
    rc = fg__seterr(err, FG_EIO, "cannot listen on %s (in use? a bad certificate or key?)",
                    o->listen ? o->listen : "127.0.0.1:8080");
    goto fail;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  s->port = di ? di->port : 0;
  if (fg__guard_start(s) != FG_OK) {
    rc = fg__seterr(err, FG_ENOMEM, "cannot start the connection watchdog");
    goto fail;
  }
  if ((rc = fg__purge_timer_start(s, err)) != FG_OK) goto fail;
  timer_ok = 1;
  if (fg__housekeeping_start(s) != FG_OK) {
    rc = fg__seterr(err, FG_ENOMEM, "cannot start the housekeeping thread");
    fg__purge_timer_stop(s);
    goto fail;
  }
  (void)timer_ok;
  *out = s;
  return FG_OK;
fail:
  if (guard_ok) fg__guard_stop(s);
  if (s->daemon) MHD_stop_daemon(s->daemon);
  if (guard_ok) fg__guard_release(&s->guard);
  if (pool_ok) fg__pool_release_all(&s->pool);
  if (metrics_ok) fg__metrics_release(&s->metrics);
  free(s->web_dir);
  free(s->tls_cert_pem);
  free(s->tls_key_pem);
  pthread_mutex_destroy(&s->shut_mu);
  fg__throttle_release(&s->throttle);
  free(s->anchor_file);
  free(s);
  return rc;
}

unsigned fg_server_port(const fg_server *s) { return s->port; }

int fg_server_in_flight(const fg_server *s) { return atomic_load(&s->in_flight); }

int fg_server_shutdown(fg_server *s, int timeout_ms) {
  pthread_mutex_lock(&s->shut_mu);
  if (!s->shut_down) {
    atomic_store(&s->draining, 1);
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    s->shut_down = 1;
    fg__log(FG_LOG_INFO, "shutting down: no new connections, %d request(s) in flight",
            atomic_load(&s->in_flight));
  }
  pthread_mutex_unlock(&s->shut_mu);
  double until = fg__now_sec() + timeout_ms / 1e3;
  while (atomic_load(&s->in_flight) > 0) {
    if (fg__now_sec() > until) return FG_ELIMIT;
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return FG_OK;
}

void fg_server_destroy(fg_server *s) {
  if (!s) return;
  if (fg_server_shutdown(s, 30000) != FG_OK)
    fg__log(FG_LOG_WARN, "shutdown: %d request(s) still in flight after 30 s; stopping anyway",
            atomic_load(&s->in_flight));
  fg__purge_timer_stop(s);
  fg__housekeeping_stop(s);
  fg__guard_stop(s);
  MHD_stop_daemon(s->daemon);
  fg__guard_release(&s->guard);
  /* Denials counted since the last interval go to the audit chain now. */
  fg_border *b = fg__pool_acquire(&s->pool);
  fg__denials_flush(s, b, 1);
  fg__pool_release(&s->pool, b);
  fg__pool_release_all(&s->pool);
  fg__metrics_release(&s->metrics);
  pthread_mutex_destroy(&s->purge_mu);
  pthread_cond_destroy(&s->purge_cv);
  pthread_mutex_destroy(&s->shut_mu);
  fg__throttle_release(&s->throttle);
  free(s->anchor_file);
  free(s->web_dir);
  free(s->tls_cert_pem);
  free(s->tls_key_pem);
  free(s);
}
