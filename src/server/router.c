/*
 * The route table of `facegate serve`: every path, method, the roles allowed
 * and the handler. This table is the authority: the authoriser reads it, the
 * metrics label requests by its paths, fg_server_routes exposes it, and a test
 * checks that docs/openapi.json lists exactly these paths and methods.
 *
 * Paths are OpenAPI templates; a `{name}` segment matches one non-empty path
 * segment and is handed to the handler as a parameter, in order. A path
 * without parameters wins over a template that also matches it, wherever
 * the two are in the table: /v1/referrals/summary is never a referral
 * whose id is "summary" (and {id} segments must be numeric anyway:
 * fg__param_id answers 400 otherwise). HEAD is answered as GET, without
 * the body.
 */
#include <string.h>

#include "server/server_internal.h"

#define G FG_ROLE_GATE
#define O FG_ROLE_OFFICER
#define S FG_ROLE_SUPERVISOR
#define A FG_ROLE_AUDITOR
#define D FG_ROLE_ADMIN

#define FG__ROUTE_TABLE(XX) \
  XX("GET", "/healthz", 0, fg__route_healthz, FG__BODY_NONE, 0) \
  XX("GET", "/openapi.json", 0, fg__route_openapi, FG__BODY_NONE, 0) \
  XX("GET", "/", 0, fg__serve_static, FG__BODY_NONE, 1) \
  XX("GET", "/metrics", D | A, fg__route_metrics, FG__BODY_NONE, 0) \
  XX("GET", "/v1/whoami", FG_ROLE_ANY, fg__route_whoami, FG__BODY_NONE, 0) \
  XX("POST", "/v1/manifests", S, fg__route_manifest_import, FG__BODY_MANIFEST, 0) \
  XX("GET", "/v1/manifests", S | O, fg__route_manifest_list, FG__BODY_NONE, 0) \
  XX("GET", "/v1/manifests/{id}", S | O, fg__route_manifest_show, FG__BODY_NONE, 0) \
  XX("POST", "/v1/manifests/{id}/passengers", S, fg__route_manifest_amend, FG__BODY_MANIFEST, 0) \
  XX("POST", "/v1/manifests/{id}/close", S, fg__route_manifest_close, FG__BODY_JSON, 0) \
  XX("POST", "/v1/encounters", G, fg__route_encounter, FG__BODY_IMAGE, 0) \
  XX("POST", "/v1/verify", O, fg__route_verify, FG__BODY_IMAGES, 0) \
  XX("GET", "/v1/watchlist", S, fg__route_watchlist_list, FG__BODY_NONE, 0) \
  XX("POST", "/v1/watchlist", S, fg__route_watchlist_add, FG__BODY_WATCHLIST, 0) \
  XX("DELETE", "/v1/watchlist/{id}", S, fg__route_watchlist_remove, FG__BODY_NONE, 0) \
  XX("GET", "/v1/referrals", O, fg__route_referral_list, FG__BODY_NONE, 0) \
  XX("GET", "/v1/referrals/summary", O | S, fg__route_referral_summary, FG__BODY_NONE, 0) \
  XX("GET", "/v1/referrals/{id}", O, fg__route_referral_show, FG__BODY_NONE, 0) \
  XX("POST", "/v1/referrals/{id}/decision", O, fg__route_referral_decide, FG__BODY_JSON, 0) \
  XX("GET", "/v1/referrals/{id}/document-photos", O, fg__route_referral_photos, FG__BODY_NONE, 0) \
  XX("GET", "/v1/travellers", O, fg__route_traveller_find, FG__BODY_NONE, 0) \
  XX("GET", "/v1/travellers/{ref}/crossings", O, fg__route_crossings, FG__BODY_NONE, 0) \
  XX("GET", "/v1/overstays", O | S, fg__route_overstays, FG__BODY_NONE, 0) \
  XX("GET", "/v1/reports/{date}", S | A, fg__route_report, FG__BODY_NONE, 0) \
  XX("GET", "/v1/reports/{date}/chart.png", S | A, fg__route_report_chart, FG__BODY_NONE, 0) \
  XX("GET", "/v1/audit", A, fg__route_audit_list, FG__BODY_NONE, 0) \
  XX("GET", "/v1/audit/verify", A, fg__route_audit_verify, FG__BODY_NONE, 0) \
  XX("GET", "/v1/purge", D | A, fg__route_purge_status, FG__BODY_NONE, 0) \
  XX("POST", "/v1/purge", D, fg__route_purge_run, FG__BODY_JSON, 0) \
  XX("GET", "/v1/policy", D | S | A, fg__route_policy, FG__BODY_NONE, 0) \
  XX("GET", "/v1/tokens", D, fg__route_token_list, FG__BODY_NONE, 0) \
  XX("POST", "/v1/tokens", D, fg__route_token_create, FG__BODY_JSON, 0) \
  XX("DELETE", "/v1/tokens/{id}", D, fg__route_token_revoke, FG__BODY_NONE, 0)

#define FG__ROUTE_ROW(m, p, roles, h, body, prefix) {{m, p, roles}, h, body, prefix},
const fg__route fg__routes[] = {FG__ROUTE_TABLE(FG__ROUTE_ROW)};
#undef FG__ROUTE_ROW
const size_t fg__nroutes = sizeof fg__routes / sizeof fg__routes[0];

#define FG__ROUTE_INFO(m, p, roles, h, body, prefix) {m, p, roles},
static const fg_route_info route_info[] = {FG__ROUTE_TABLE(FG__ROUTE_INFO)};
#undef FG__ROUTE_INFO

const fg_route_info *fg_server_routes(size_t *n) {
  if (n) *n = sizeof route_info / sizeof route_info[0];
  return route_info;
}

/* Does template t match path p? Fills params from {…} segments. */
static int match_path(const char *t, const char *p, char params[FG__MAX_PARAMS][128], int *np) {
  int n = 0;
  while (*t && *p) {
    if (*t == '{') {
      const char *te = strchr(t, '}');
      const char *pe = strchr(p, '/');
      size_t len = pe ? (size_t)(pe - p) : strlen(p);
      if (!te || len == 0 || len >= 128 || n >= FG__MAX_PARAMS) return 0;
      memcpy(params[n], p, len);
      params[n][len] = '\0';
      n++;
      t = te + 1;
      p += len;
      continue;
    }
    if (*t != *p) return 0;
    t++;
    p++;
  }
  if (*t || *p) return 0;
  *np = n;
  return 1;
}

int fg__route_match(const char *method, const char *path, char params[FG__MAX_PARAMS][128],
                    int *nparams) {
  int path_found = 0, static_idx = -1;
  /* HEAD is GET without the body (libmicrohttpd leaves the body out). */
  if (strcmp(method, "HEAD") == 0) method = "GET";
  /* Pass 0: literal paths; pass 1: templates. A literal path that matches
   * (with another method: 405) is not handed to a template either. */
  for (int pass = 0; pass < 2 && !path_found; pass++) {
    for (size_t i = 0; i < fg__nroutes; i++) {
      const fg__route *rt = &fg__routes[i];
      if (rt->prefix) static_idx = (int)i;
      if ((strchr(rt->info.path, '{') != NULL) != pass) continue;
      int np = 0;
      if (!match_path(rt->info.path, path, params, &np)) continue;
      if (strcmp(rt->info.method, method) != 0) {
        path_found = 1;
        continue;
      }
      *nparams = np;
      return (int)i;
    }
  }
  if (path_found) return -2;
  /* Everything outside the API is a static file of the console. */
  if (static_idx >= 0 && strncmp(path, "/v1/", 4) != 0 && strcmp(path, "/v1") != 0) {
    *nparams = 0;
    return strcmp(method, "GET") == 0 ? static_idx : -2;
  }
  return -1;
}
