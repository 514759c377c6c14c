/*
 * Authentication and authorisation of each request, before its body is read;
 * throttling of failed attempts; denials in the audit chain, coalesced.
 *
 * A route with roles needs `Authorization: Bearer fgt_...`; the token is
 * checked against the store (fg_api_token_check) and its role against the
 * route table. A valid token is always checked first and never refused
 * because of anybody else's failures: a gate behind the same NAT as a broken
 * client keeps working.
 *
 * Failed authentications (no token, a malformed, unknown or revoked one: 401)
 * are counted per client network (/24 for IPv4, /64 for IPv6, so that
 * rotating addresses within one network does not help) and over all networks.
 * Past `auth_fail_limit` failures of a network in `auth_fail_window` seconds,
 * or `auth_fail_global` failures of all networks together, a request without
 * a valid token gets 429 with Retry-After instead of 401. A valid token whose
 * role the route does not allow gets 403, and past `perm_fail_limit` of those
 * in the window 429: a misconfigured or stolen gate token probing officers'
 * routes is slowed down too.
 *
 * Every denial (401, 403, 429) is audited as "auth.denied", but not one event
 * per request: denials are counted per source (the network for 401s, the
 * token for 403s) and written as one event per source per
 * `denial_audit_interval` seconds, when the interval ends (fg__denials_flush,
 * from the server's housekeeping thread, and at shutdown), with the count,
 * the reasons and routes seen and the first and last time. At most
 * FG__DENIAL_SOURCES sources get events of their own per interval; the rest
 * are folded into the source "*". So the audit writes an anonymous flood can
 * cause are bounded whatever addresses it comes from.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/server_internal.h"

static const char *const REASONS[FG__DENIAL_REASONS] = {"no token", "malformed token", "unknown token",
                                                        "revoked token", "role not allowed",
                                                        "throttled"};

int fg__throttle_init(fg__throttle *t, const fg_server_options *o) {
  memset(t, 0, sizeof *t);
  pthread_mutex_init(&t->mu, NULL);
  t->net_limit = o->auth_fail_limit > 0 ? o->auth_fail_limit : 10;
  t->window = o->auth_fail_window > 0 ? o->auth_fail_window : 60;
  t->global_limit = o->auth_fail_global > 0 ? o->auth_fail_global : 100;
  t->perm_limit = o->perm_fail_limit > 0 ? o->perm_fail_limit : 20;
  t->interval = o->denial_audit_interval > 0 ? o->denial_audit_interval : 10;
  return FG_OK;
}

void fg__throttle_release(fg__throttle *t) { pthread_mutex_destroy(&t->mu); }

/* ---- counting ----------------------------------------------------------------- */

/* The slot of key (under mu): found, or a free or stale one taken over; NULL
 * when every slot is in use (the caller then counts under "*"). */
static fg__throttle_slot *slot_for(fg__throttle *t, const char *key, int64_t now) {
  fg__throttle_slot *free_slot = NULL;
  for (int i = 0; i < FG__THROTTLE_SLOTS; i++) {
    fg__throttle_slot *s = &t->slot[i];
    if (s->key[0] && strcmp(s->key, key) == 0) return s;
    int stale = !s->key[0] || (s->pending == 0 && now - s->window_start >= t->window);
    if (stale && !free_slot) free_slot = s;
  }
  if (!free_slot) return NULL;
  memset(free_slot, 0, sizeof *free_slot);
  snprintf(free_slot->key, sizeof free_slot->key, "%s", key);
  free_slot->window_start = now;
  return free_slot;
}

static void roll_window(const fg__throttle *t, fg__throttle_slot *s, int64_t now) {
  if (now - s->window_start >= t->window) {
    s->window_start = now;
    s->failures = 0;
  }
}

/* Count one failure of `key` (and globally); *wait: seconds until it may try
 * again when now over a limit (0 otherwise). Under mu. */
static void count_failure(fg__throttle *t, const char *key, int limit, int global, int64_t now,
                          int *wait) {
  *wait = 0;
  fg__throttle_slot *s = slot_for(t, key, now);
  if (!s) s = &t->overflow;
  roll_window(t, s, now);
  s->failures++;
  if (s->failures > limit) *wait = (int)(t->window - (now - s->window_start));
  if (global) {
    if (now - t->global_start >= t->window) {
      t->global_start = now;
      t->global_failures = 0;
    }
    if (++t->global_failures > t->global_limit) {
      int gw = (int)(t->window - (now - t->global_start));
      if (gw > *wait) *wait = gw;
    }
  }
  if (*wait < 0) *wait = 0;
  if (*wait > 0 && *wait < 1) *wait = 1;
}

/* ---- denials in the audit chain ------------------------------------------------ */

/* Count a denial for source (under mu). */
static void note_denial(fg__throttle *t, const char *source, const char *name, const char *role,
                        int reason, const char *route, const char *addr, int64_t now) {
  fg__throttle_slot *s = slot_for(t, source, now);
  if (s && !s->pending && t->sources_in_interval >= FG__DENIAL_SOURCES) s = NULL;
  if (!s) s = &t->overflow;
  if (!s->pending) {
    if (s != &t->overflow) t->sources_in_interval++;
    s->first_at = now;
    snprintf(s->name, sizeof s->name, "%s", s == &t->overflow ? "anonymous" : name);
    snprintf(s->role, sizeof s->role, "%s", s == &t->overflow ? "none" : role);
    snprintf(s->route, sizeof s->route, "%s", route);
    memset(s->reasons, 0, sizeof s->reasons);
  } else if (strcmp(s->route, route) != 0) {
    snprintf(s->route, sizeof s->route, "*");
  }
  s->pending++;
  s->last_at = now;
  s->reasons[reason]++;
  snprintf(s->addr, sizeof s->addr, "%s", addr);
  t->denials_total++;
}

typedef struct denial_event {
  char source[72], name[FG_API_TOKEN_NAME_MAX + 1], role[16], route[64], addr[48];
  int64_t count, first_at, last_at;
  int64_t reasons[FG__DENIAL_REASONS];
} denial_event;

static void take_event(fg__throttle_slot *s, const char *source, denial_event *e) {
  snprintf(e->source, sizeof e->source, "%s", source);
  snprintf(e->name, sizeof e->name, "%s", s->name);
  snprintf(e->role, sizeof e->role, "%s", s->role);
  snprintf(e->route, sizeof e->route, "%s", s->route);
  snprintf(e->addr, sizeof e->addr, "%s", s->addr);
  e->count = s->pending;
  e->first_at = s->first_at;
  e->last_at = s->last_at;
  memcpy(e->reasons, s->reasons, sizeof e->reasons);
  s->pending = 0;
}

static int write_event(fg_border *b, const denial_event *e, fg_error *err) {
  fg_actor who = {e->name, e->role, "access control"};
  json_t *reasons = json_object();
  for (int i = 0; reasons && i < FG__DENIAL_REASONS; i++)
    if (e->reasons[i]) json_object_set_new(reasons, REASONS[i], json_integer(e->reasons[i]));
  json_t *d = reasons ? json_pack("{s:s, s:I, s:o, s:o, s:o, s:s, s:s}", "source", e->source,
                                  "count", (json_int_t)e->count, "first_at",
                                  fg__json_time(e->first_at), "last_at", fg__json_time(e->last_at),
                                  "reasons", reasons, "route", e->route, "last_address", e->addr)
                      : NULL;
  int rc = d ? fg_border_audit_event(b, &who, "auth.denied", e->route, "access control", fg__doc(d), err)
             : fg__seterr(err, FG_ENOMEM, "out of memory");
  json_decref(d);
  return rc;
}

int fg__denials_flush(fg_server *s, fg_border *b, int all) {
  fg__throttle *t = &s->throttle;
  int64_t now = (int64_t)time(NULL);
  denial_event ev[16];
  int written = 0;
  for (;;) {
    int n = 0;
    pthread_mutex_lock(&t->mu);
    if (all || now - t->interval_start >= t->interval) {
      for (int i = 0; i < FG__THROTTLE_SLOTS && n < 16; i++)
        if (t->slot[i].pending) take_event(&t->slot[i], t->slot[i].key, &ev[n++]);
      if (n < 16 && t->overflow.pending) take_event(&t->overflow, "*", &ev[n++]);
      if (n == 0) {
        t->interval_start = now;
        t->sources_in_interval = 0;
      }
    }
    pthread_mutex_unlock(&t->mu);
    if (n == 0) break;
    for (int i = 0; i < n; i++) {
      fg_error e;
      if (write_event(b, &ev[i], &e) != FG_OK)
        fg__log(FG_LOG_ERROR, "auth.denied for %s (%lld denials) not audited: %s", ev[i].source,
                (long long)ev[i].count, e.msg);
      else written++;
    }
    pthread_mutex_lock(&t->mu);
    t->denial_events_total += (uint64_t)n;
    pthread_mutex_unlock(&t->mu);
  }
  return written;
}

void fg__throttle_stats(fg__throttle *t, uint64_t *denials, uint64_t *events, uint64_t *throttled) {
  pthread_mutex_lock(&t->mu);
  *denials = t->denials_total;
  *events = t->denial_events_total;
  *throttled = t->throttled_total;
  pthread_mutex_unlock(&t->mu);
}

/* ---- the check ---------------------------------------------------------------- */

static int reason_of(const char *msg) {
  if (!msg) return 2;
  if (strstr(msg, "malformed")) return 1;
  if (strstr(msg, "revoked")) return 3;
  return 2;
}

static int throttled(fg__req *r, int wait) {
  r->retry_after = wait;
  r->problem_code = "FG_ELIMIT";
  r->status = 429;
  return fg__fail(r, FG_ELIMIT, "too many refused requests from this network or token: retry in %d s",
                  wait);
}

int fg__authorise(fg__req *r) {
  const fg__route *rt = &fg__routes[r->route];
  if (rt->info.roles == 0) return FG_OK;
  fg_server *s = r->srv;
  fg__throttle *t = &s->throttle;
  int64_t now = (int64_t)time(NULL);
  const char *route = rt->info.path;
  const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  const char *token = NULL;
  if (h && strncasecmp(h, "Bearer ", 7) == 0) {
    token = h + 7;
    while (*token == ' ') token++;
  }
  int rc, reason = 0;
  char why[FG_ERROR_MSG_MAX] = "this route needs a token: Authorization: Bearer fgt_...";
  if (token && *token) {
    fg_api_token_info info;
    fg_error e;
    fg_border *b = fg__pool_acquire(&s->pool);
    rc = fg_api_token_check(b, token, &info, &e);
    fg__pool_release(&s->pool, b);
    if (rc == FG_OK) {
      snprintf(r->name, sizeof r->name, "%s", info.name);
      r->role = info.role;
      r->actor.name = r->name;
      r->actor.role = fg_role_name(info.role);
      r->actor.purpose = NULL;
      if (rt->info.roles & info.role) return FG_OK;
      /* A valid token on a route its role may not use. */
      char key[80];
      snprintf(key, sizeof key, "token:%s", r->name);
      int wait;
      pthread_mutex_lock(&t->mu);
      count_failure(t, key, t->perm_limit, 0, now, &wait);
      note_denial(t, key, r->name, r->actor.role, wait ? 5 : 4, route, r->addr, now);
      if (wait) t->throttled_total++;
      pthread_mutex_unlock(&t->mu);
      if (wait) return throttled(r, wait);
      return fg__fail(r, FG_EPERM, "role %s may not %s %s", r->actor.role, r->method, route);
    }
    if (rc != FG_EAUTH) {
      fg__log(FG_LOG_ERROR, "token check failed: %s", e.msg);
      return fg__fail(r, rc, "cannot check the token now");
    }
    reason = reason_of(e.msg);
    snprintf(why, sizeof why, "%s", e.msg);
  }
  /* No valid token: a failed authentication of this network. */
  int wait;
  pthread_mutex_lock(&t->mu);
  count_failure(t, r->net, t->net_limit, 1, now, &wait);
  note_denial(t, r->net, "anonymous", "none", wait ? 5 : reason, route, r->addr, now);
  if (wait) t->throttled_total++;
  pthread_mutex_unlock(&t->mu);
  if (wait) return throttled(r, wait);
  r->www_authenticate = 1;
  return fg__fail(r, FG_EAUTH, "%s", why);
}
