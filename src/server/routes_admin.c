/*
 * Handlers for the service itself: GET /healthz, GET /v1/whoami,
 * GET /v1/policy, and the API tokens (GET/POST /v1/tokens,
 * DELETE /v1/tokens/{id}; admin only by the route table). A created token is
 * in the response once and nowhere else.
 */
#include <string.h>

#include <sodium.h>

#include "server/server_internal.h"

int fg__route_healthz(fg__req *r) {
  if (atomic_load(&r->srv->draining))
    return fg__reply(r, 503, json_pack("{s:s, s:s}", "status", "draining", "version", FG__SERVER_VERSION));
  return fg__reply(r, 200, json_pack("{s:s, s:s}", "status", "ok", "version", FG__SERVER_VERSION));
}

int fg__route_whoami(fg__req *r) {
  return fg__reply(r, 200, json_pack("{s:s, s:s}", "name", r->name, "role", r->actor.role));
}

int fg__route_policy(fg__req *r) {
  fg_doc *p = fg_policy_to_json(fg_border_policy(r->b));
  if (!p) return fg__fail(r, FG_ENOMEM, "out of memory");
  return fg__reply_doc(r, 200, p);
}

int fg__route_token_list(fg__req *r) {
  fg_doc *list;
  fg_error e;
  int rc = fg_api_token_list(r->b, &r->actor, &list, &e);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, list);
}

int fg__route_token_create(fg__req *r) {
  json_t *body;
  int rc = fg__body_json(r, &body);
  if (rc != FG_OK) return rc;
  const char *name = json_string_value(json_object_get(body, "name"));
  const char *role = json_string_value(json_object_get(body, "role"));
  if (!name || !role) {
    json_decref(body);
    return fg__fail(r, FG_EINVAL, "expected {\"name\": ..., \"role\": ...}");
  }
  char token[FG_API_TOKEN_LEN];
  int64_t id;
  fg_error e;
  rc = fg_api_token_create(r->b, &r->actor, name, role, token, &id, &e);
  if (rc != FG_OK) {
    json_decref(body);
    return fg__lib_fail(r, rc, &e);
  }
  fg__reply(r, 201, json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "token", token, "name",
                              name, "role", role));
  sodium_memzero(token, sizeof token);
  json_decref(body);
  return FG_OK;
}

int fg__route_token_revoke(fg__req *r) {
  int64_t id;
  int rc = fg__param_id(r, 0, &id);
  if (rc != FG_OK) return rc;
  fg_error e;
  if ((rc = fg_api_token_revoke(r->b, &r->actor, id, NULL, &e)) != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply(r, 204, NULL);
}
