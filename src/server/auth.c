/*
 * Authentication and authorisation of each request, before its body is read.
 *
 * A route with roles needs `Authorization: Bearer fgt_...`; the token is
 * checked against the store (fg_api_token_check) and its role against the
 * route table. Missing or bad tokens get 401, a role the route does not allow
 * gets 403; both are audited as "auth.denied" (with the token's name when
 * known, the method, the route and the reason). Every 401 (no token, a
 * malformed, unknown or revoked one) counts as a failure for the client's
 * address, which also bounds the audit writes an anonymous client can cause.
 * Past `auth_fail_limit` failures in `auth_fail_window` seconds the address
 * gets 429 with Retry-After for any request that needs a token, good tokens
 * included, so that guessing stops.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "border/border_internal.h"
#include "server/server_internal.h"

static fg__rate_slot *slot_for(fg__ratelimit *rl, const char *addr, int64_t now, int create) {
  fg__rate_slot *oldest = NULL;
  for (int i = 0; i < FG__RATE_SLOTS; i++) {
    fg__rate_slot *s = &rl->slot[i];
    if (s->addr[0] && strcmp(s->addr, addr) == 0) return s;
    if (!oldest || !s->addr[0] || (oldest->addr[0] && s->window_start < oldest->window_start))
      oldest = s;
  }
  if (!create) return NULL;
  /* Reuse a free slot, or the oldest window (an attacker with many addresses
   * can push others out, but each address still gets at most `limit` tries
   * per window before it is seen again). */
  snprintf(oldest->addr, sizeof oldest->addr, "%s", addr);
  oldest->window_start = now;
  oldest->failures = 0;
  return oldest;
}

int fg__rate_blocked(fg__ratelimit *rl, const char *addr, int64_t now) {
  pthread_mutex_lock(&rl->mu);
  int wait = 0;
  fg__rate_slot *s = slot_for(rl, addr, now, 0);
  if (s && s->failures >= rl->limit && now - s->window_start < rl->window)
    wait = (int)(rl->window - (now - s->window_start));
  pthread_mutex_unlock(&rl->mu);
  return wait;
}

void fg__rate_fail(fg__ratelimit *rl, const char *addr, int64_t now) {
  pthread_mutex_lock(&rl->mu);
  fg__rate_slot *s = slot_for(rl, addr, now, 1);
  if (now - s->window_start >= rl->window) {
    s->window_start = now;
    s->failures = 0;
  }
  s->failures++;
  pthread_mutex_unlock(&rl->mu);
}

/* Write "auth.denied"; a failure to audit is logged, the request is refused anyway. */
static void audit_denied(fg__req *r, fg_border *b, const char *name, const char *role,
                         const char *reason) {
  fg_actor who = {name, role, "access control"};
  const char *route = r->route >= 0 ? fg__routes[r->route].info.path : r->path;
  json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "method", r->method, "route", route, "reason",
                        reason, "address", r->addr);
  fg_error e;
  if (!d || fg__border_audit_json(b, &who, "auth.denied", route, "access control", d, &e) != FG_OK)
    fg__log(FG_LOG_ERROR, "auth.denied not audited for %s %s", r->method, route);
  json_decref(d);
}

int fg__authorise(fg__req *r) {
  const fg__route *rt = &fg__routes[r->route];
  if (rt->info.roles == 0) return FG_OK;
  fg_server *s = r->srv;
  int64_t now = (int64_t)time(NULL);
  int wait = fg__rate_blocked(&s->rate, r->addr, now);
  if (wait > 0) {
    r->retry_after = wait;
    r->problem_code = "FG_ELIMIT";
    r->status = 429;
    return fg__fail(r, FG_ELIMIT, "too many failed authentications from %s: retry in %d s",
                    r->addr, wait);
  }
  const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  const char *token = NULL;
  if (h && strncasecmp(h, "Bearer ", 7) == 0) {
    token = h + 7;
    while (*token == ' ') token++;
  }
  fg_border *b = fg__pool_acquire(&s->pool);
  int rc;
  if (!token || !*token) {
    fg__rate_fail(&s->rate, r->addr, now); /* counted too: each denial is an audit write */
    audit_denied(r, b, "anonymous", "none", "no token");
    r->www_authenticate = 1;
    rc = fg__fail(r, FG_EAUTH, "this route needs a token: Authorization: Bearer fgt_...");
    goto out;
  }
  fg_api_token_info info;
  fg_error e;
  rc = fg_api_token_check(b, token, &info, &e);
  if (rc != FG_OK) {
    if (rc == FG_EAUTH) {
      fg__rate_fail(&s->rate, r->addr, now);
      audit_denied(r, b, "anonymous", "none", e.msg);
      r->www_authenticate = 1;
      rc = fg__fail(r, FG_EAUTH, "%s", e.msg);
    } else {
      fg__log(FG_LOG_ERROR, "token check failed: %s", e.msg);
      rc = fg__fail(r, rc, "cannot check the token now");
    }
    goto out;
  }
  snprintf(r->name, sizeof r->name, "%s", info.name);
  r->role = info.role;
  r->actor.name = r->name;
  r->actor.role = fg_role_name(info.role);
  r->actor.purpose = NULL;
  if (!(rt->info.roles & info.role)) {
    audit_denied(r, b, r->name, r->actor.role, "role not allowed");
    rc = fg__fail(r, FG_EPERM, "role %s may not %s %s", r->actor.role, r->method, rt->info.path);
    goto out;
  }
  rc = FG_OK;
out:
  fg__pool_release(&s->pool, b);
  return rc;
}
