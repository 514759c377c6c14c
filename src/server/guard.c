/*
 * Connection admission and deadlines: what keeps a few clients from holding
 * every connection the server has (slowloris: many connections, each sending
 * its request line and headers a byte at a time).
 *
 * Every connection is tracked from accept to close (libmicrohttpd's
 * connection notifications) with its client address and its network (/24 for
 * IPv4, /64 for IPv6). At accept time:
 *
 *   - an address with `per_addr` connections open gets no more
 *     (libmicrohttpd's own per-address limit, exact under concurrent
 *     accepts), and a network with `per_net` none either (the accept-policy
 *     callback below, which also counts connections admitted but not yet
 *     announced): the socket is closed at once;
 *   - above `soft` connections in all (the hard limit less a headroom), an
 *     address that already has a connection is refused, and a newcomer is let
 *     in by closing the oldest connection still waiting for its request
 *     headers, so that a gate or an officer's console that connects while
 *     someone fills the server still gets in;
 *   - at the hard limit, nothing more is accepted.
 *
 * A trusted reverse proxy (fg_server_options.trusted_proxies) carries many
 * clients over its connections: it is exempt from the per-address and
 * per-network limits (it applies its own, docs/deployment.md) and counts
 * only towards the total.
 *
 * Deadlines: a request's line and headers must arrive within
 * `header_deadline` seconds of the connection being accepted, or of the
 * previous response on a kept-alive connection (an idle keep-alive connection
 * thus closes then too). A watchdog thread checks every 200 ms and closes the
 * late ones with shutdown(2) on their socket: libmicrohttpd, which owns the
 * descriptor, then sees the end of the stream and cleans up as for any client
 * that went away. A connection that has sent its headers is in a request and
 * is bounded by the idle timeout and the body limits instead.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/server_internal.h"

struct fg__conn {
  struct MHD_Connection *c;
  int fd;
  char addr[48], net[48];
  double waiting_since; /* ms (fg__ms): waiting for a request's headers since; 0: in a request */
  double opened;
  size_t index;         /* in guard->conns */
};

void fg__net_of(const struct sockaddr *sa, char addr[48], char net[48]) {
  snprintf(addr, 48, "unknown");
  snprintf(net, 48, "unknown");
  if (!sa) return;
  if (sa->sa_family == AF_INET) {
    struct in_addr a = ((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    inet_ntop(AF_INET, &a, addr, 48);
    uint32_t h = ntohl(a.s_addr) & 0xffffff00u;
    struct in_addr n = {htonl(h)};
    char t[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &n, t, sizeof t);
    snprintf(net, 48, "%s/24", t);
  } else if (sa->sa_family == AF_INET6) {
    struct in6_addr a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    inet_ntop(AF_INET6, &a, addr, 48);
    if (IN6_IS_ADDR_V4MAPPED(&a)) { /* an IPv4 client on a dual-stack socket */
      struct sockaddr_in v4 = {.sin_family = AF_INET};
      memcpy(&v4.sin_addr, &a.s6_addr[12], 4);
      fg__net_of((const struct sockaddr *)&v4, addr, net);
      return;
    }
    memset(&a.s6_addr[8], 0, 8);
    char t[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a, t, sizeof t);
    size_t n = strlen(t);
    memcpy(net, t, n);
    memcpy(net + n, "/64", 4); /* the lower 64 bits are zero: at most "ffff:ffff:ffff:ffff::" */
  }
}

int fg__guard_init(fg__guard *g, const fg_server_options *o) {
  memset(g, 0, sizeof *g);
  g->per_addr = o->max_conns_per_addr > 0 ? o->max_conns_per_addr : 16;
  g->per_net = o->max_conns_per_net > 0 ? o->max_conns_per_net : 4 * g->per_addr;
  g->hard = o->max_conns > 0 ? o->max_conns : 1024;
  g->soft = g->hard - g->hard / 8;
  g->header_deadline_ms = 1e3 * (o->header_timeout > 0 ? o->header_timeout : 10);
  for (const char *p = o->trusted_proxies; p && *p && g->nproxies < 8;) {
    size_t n = strcspn(p, ", ");
    if (n > 0 && n < 48) {
      /* written as fg__net_of writes addresses, so that they compare */
      char text[48];
      memcpy(text, p, n);
      text[n] = 0;
      struct sockaddr_storage ss = {0};
      struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
      struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
      char net[48];
      if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) v4->sin_family = AF_INET;
      else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) v6->sin6_family = AF_INET6;
      else return FG_EINVAL;
      fg__net_of((struct sockaddr *)&ss, g->proxies[g->nproxies++], net);
    } else if (n > 0) {
      return FG_EINVAL;
    }
    p += n;
    while (*p == ',' || *p == ' ') p++;
  }
  g->conns = calloc((size_t)g->hard + 64, sizeof *g->conns);
  if (!g->conns) return FG_ENOMEM;
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, NULL);
  return FG_OK;
}

/* Connections of addr and of net (under mu). */
static void count_of(const fg__guard *g, const char *addr, const char *net, int *n_addr, int *n_net) {
  *n_addr = *n_net = 0;
  for (size_t i = 0; i < g->n; i++) {
    if (!strcmp(g->conns[i]->net, net)) {
      (*n_net)++;
      if (!strcmp(g->conns[i]->addr, addr)) (*n_addr)++;
    }
  }
}

/* Close the oldest connection waiting for its headers (under mu): 1 if one was. */
static int evict_oldest_waiting(fg__guard *g, double now) {
  fg__conn *oldest = NULL;
  for (size_t i = 0; i < g->n; i++) {
    fg__conn *c = g->conns[i];
    if (c->waiting_since > 0 && c->fd >= 0 && (!oldest || c->waiting_since < oldest->waiting_since))
      oldest = c;
  }
  if (!oldest || now - oldest->waiting_since < 100) return 0; /* none, or all just arrived */
  shutdown(oldest->fd, SHUT_RDWR);
  oldest->fd = -1; /* shut once; it goes when libmicrohttpd notices */
  oldest->waiting_since = 0;
  g->evicted++;
  return 1;
}

enum MHD_Result fg__guard_accept(void *cls, const struct sockaddr *sa, socklen_t len) {
  (void)len;
  fg_server *s = cls;
  fg__guard *g = &s->guard;
  char addr[48], net[48];
  fg__net_of(sa, addr, net);
  enum MHD_Result ok = MHD_YES;
  pthread_mutex_lock(&g->mu);
  int n_addr, n_net;
  count_of(g, addr, net, &n_addr, &n_net);
  double now = fg__ms();
  /* Admitted by another worker thread a moment ago, not announced yet. */
  size_t live = 0;
  for (size_t i = 0; i < g->npending; i++) {
    if (now - g->pending[i].at > 2000) continue; /* never announced: forget it */
    g->pending[live++] = g->pending[i];
    if (!strcmp(g->pending[live - 1].net, net)) {
      n_net++;
      if (!strcmp(g->pending[live - 1].addr, addr)) n_addr++;
    }
  }
  g->npending = live;
  size_t total = g->n + live;
  if (fg__guard_is_proxy(g, addr)) { /* the proxy limits its clients; only the total here */
    if (total >= (size_t)g->hard) {
      g->refused_total++;
      ok = MHD_NO;
    }
  } else if (n_addr >= g->per_addr) {
    g->refused_addr++;
    ok = MHD_NO;
  } else if (n_net >= g->per_net) {
    g->refused_net++;
    ok = MHD_NO;
  } else if (total >= (size_t)g->soft) {
    if (n_addr > 0 || total >= (size_t)g->hard || !evict_oldest_waiting(g, now)) {
      g->refused_total++;
      ok = MHD_NO;
    }
  }
  if (ok == MHD_YES && g->npending < FG__GUARD_PENDING) {
    fg__pending *p = &g->pending[g->npending++];
    memcpy(p->addr, addr, sizeof p->addr);
    memcpy(p->net, net, sizeof p->net);
    p->at = now;
  }
  pthread_mutex_unlock(&g->mu);
  return ok;
}

void fg__guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe) {
  fg_server *s = cls;
  fg__guard *g = &s->guard;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    fg__conn *k = calloc(1, sizeof *k);
    const union MHD_ConnectionInfo *fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ca = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    pthread_mutex_lock(&g->mu);
    if (k && ca) { /* announced: no longer pending */
      char addr[48], net[48];
      fg__net_of(ca->client_addr, addr, net);
      for (size_t i = 0; i < g->npending; i++)
        if (!strcmp(g->pending[i].addr, addr)) {
          g->pending[i] = g->pending[--g->npending];
          break;
        }
    }
    if (k && g->n < (size_t)g->hard + 64) {
      k->c = c;
      k->fd = fd ? fd->connect_fd : -1;
      fg__net_of(ca ? ca->client_addr : NULL, k->addr, k->net);
      k->opened = k->waiting_since = fg__ms();
      k->index = g->n;
      g->conns[g->n++] = k;
      *socket_context = k;
    } else {
      free(k);
      *socket_context = NULL;
    }
    pthread_mutex_unlock(&g->mu);
    return;
  }
  fg__conn *k = *socket_context;
  if (!k) return;
  pthread_mutex_lock(&g->mu);
  size_t i = k->index;
  g->conns[i] = g->conns[--g->n];
  g->conns[i]->index = i;
  pthread_mutex_unlock(&g->mu);
  free(k);
  *socket_context = NULL;
}

static fg__conn *conn_of(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return i ? (fg__conn *)i->socket_context : NULL;
}

void fg__guard_request_started(fg_server *s, struct MHD_Connection *c) {
  fg__conn *k = conn_of(c);
  if (!k) return;
  pthread_mutex_lock(&s->guard.mu);
  k->waiting_since = 0;
  pthread_mutex_unlock(&s->guard.mu);
}

void fg__guard_request_done(fg_server *s, struct MHD_Connection *c) {
  fg__conn *k = conn_of(c);
  if (!k) return;
  pthread_mutex_lock(&s->guard.mu);
  if (k->fd >= 0) k->waiting_since = fg__ms();
  pthread_mutex_unlock(&s->guard.mu);
}

static void *watchdog(void *arg) {
  fg_server *s = arg;
  fg__guard *g = &s->guard;
  pthread_mutex_lock(&g->mu);
  while (!g->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 200 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&g->cv, &g->mu, &until);
    if (g->stop) break;
    double now = fg__ms();
    for (size_t i = 0; i < g->n; i++) {
      fg__conn *k = g->conns[i];
      if (k->waiting_since > 0 && k->fd >= 0 && now - k->waiting_since > g->header_deadline_ms) {
        shutdown(k->fd, SHUT_RDWR);
        k->fd = -1;
        k->waiting_since = 0;
        g->header_timeouts++;
      }
    }
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

int fg__guard_start(fg_server *s) {
  if (pthread_create(&s->guard.thread, NULL, watchdog, s) != 0) return FG_ENOMEM;
  s->guard.running = 1;
  return FG_OK;
}

void fg__guard_stop(fg_server *s) {
  fg__guard *g = &s->guard;
  if (!g->conns) return;
  pthread_mutex_lock(&g->mu);
  g->stop = 1;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
  if (g->running) pthread_join(g->thread, NULL);
  g->running = 0;
}

void fg__guard_release(fg__guard *g) {
  if (!g->conns) return;
  for (size_t i = 0; i < g->n; i++) free(g->conns[i]);
  free(g->conns);
  g->conns = NULL;
  pthread_mutex_destroy(&g->mu);
  pthread_cond_destroy(&g->cv);
}

int fg__guard_is_proxy(const fg__guard *g, const char *addr) {
  for (int i = 0; i < g->nproxies; i++)
    if (!strcmp(g->proxies[i], addr)) return 1;
  return 0;
}

void fg__guard_stats(fg__guard *g, fg__guard_counts *out) {
  pthread_mutex_lock(&g->mu);
  out->open = g->n;
  out->refused = g->refused_addr + g->refused_net + g->refused_total;
  out->evicted = g->evicted;
  out->header_timeouts = g->header_timeouts;
  pthread_mutex_unlock(&g->mu);
}
