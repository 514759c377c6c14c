/*
 * Tests of `facegate serve` (facegate/server.h): the real server, in this
 * process, on an ephemeral loopback port, over a fresh data directory, with
 * libcurl as the client.
 *
 * One token per role is created through the library. The tests walk every
 * route of the table with every role (and with no token, a wrong token, a
 * malformed one and a revoked one) and assert the authorisation matrix;
 * check that the referral queue's summary adds no audit event while the list
 * adds one per call, and that its path is not taken for a referral id;
 * check that /openapi.json lists exactly the server's routes; check problem
 * documents, body limits, the authentication rate limit and the refusal of
 * manifest photos given as paths; stage a real flight from real faces (LFW
 * when present, else the npm sample photos), post a gate capture as
 * multipart/form-data and expect MATCHED, and see it in /metrics; and shut a
 * server down while an encounter is in flight and expect the encounter to
 * finish and be answered.
 *
 * The store is the test's (tests/teststore.h): SQLite in the data directory,
 * or a new PostgreSQL database when FACEGATE_TEST_STORE=postgresql; every
 * server the tests start uses it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "cli/border_json.h"
#include "facegate/secure.h"
#include "facegate/server.h"
#include "facegate/store.h"
#include "teststore.h"

/* The report chart draws text with cairo, whose fontconfig caches live until exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\nleak:libcairo.so\n"; }

static ts_store T; /* T.dir is the data directory */
static char web_dir[96];
static fg_server *srv;
static unsigned port;
static int have_models;
static const char *const ROLES[FG_ROLE_COUNT] = {"gate", "officer", "supervisor", "auditor", "admin"};
static char tokens[FG_ROLE_COUNT][FG_API_TOKEN_LEN];
static char revoked_token[FG_API_TOKEN_LEN];

/* ---- an HTTP client ---------------------------------------------------------------- */

typedef struct resp {
  long status;
  char *body;
  size_t len;
  char ctype[128];
  char retry_after[32];
  char allow[64];
  CURLcode cc;
} resp;

static size_t on_body(char *p, size_t sz, size_t n, void *ctx) {
  resp *r = ctx;
  size_t k = sz * n;
  char *nb = realloc(r->body, r->len + k + 1);
  if (!nb) return 0;
  r->body = nb;
  memcpy(r->body + r->len, p, k);
  r->len += k;
  r->body[r->len] = '\0';
  return k;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  if (n <= nl || strncasecmp(line, name, nl) != 0) return;
  const char *v = line + nl;
  size_t vl = n - nl;
  while (vl && (*v == ' ')) v++, vl--;
  while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) vl--;
  if (vl >= cap) vl = cap - 1;
  memcpy(out, v, vl);
  out[vl] = '\0';
}

static size_t on_header(char *p, size_t sz, size_t n, void *ctx) {
  resp *r = ctx;
  header_value(p, sz * n, "Content-Type:", r->ctype, sizeof r->ctype);
  header_value(p, sz * n, "Retry-After:", r->retry_after, sizeof r->retry_after);
  header_value(p, sz * n, "Allow:", r->allow, sizeof r->allow);
  return sz * n;
}

typedef struct chunked_src {
  size_t left;
} chunked_src;

static size_t on_read(char *p, size_t sz, size_t n, void *ctx) {
  chunked_src *c = ctx;
  size_t k = sz * n < c->left ? sz * n : c->left;
  memset(p, 'x', k);
  c->left -= k;
  return k;
}

typedef struct req {
  const char *method, *path, *token, *ctype;
  const void *body;
  size_t len;
  curl_mime *(*mime)(CURL *, void *);
  void *mime_ctx;
  size_t chunked; /* > 0: send this many bytes chunked */
  unsigned port;  /* 0: the main server */
  int tls;        /* https (certificate not verified: a test's self-signed one) */
} req;

static void http(const req *q, resp *r) {
  memset(r, 0, sizeof *r);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  char url[512], auth[128];
  snprintf(url, sizeof url, "%s://127.0.0.1:%u%s", q->tls ? "https" : "http", q->port ? q->port : port,
           q->path);
  struct curl_slist *h = NULL;
  if (q->token) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", q->token);
    h = curl_slist_append(h, auth);
  }
  char ct[160];
  if (q->ctype) {
    snprintf(ct, sizeof ct, "Content-Type: %s", q->ctype);
    h = curl_slist_append(h, ct);
  }
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (q->tls) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_mime *m = NULL;
  chunked_src src = {q->chunked};
  if (q->mime) {
    m = q->mime(c, q->mime_ctx);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, m);
  } else if (q->chunked) {
    h = curl_slist_append(h, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &src);
  } else if (q->body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  r->cc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_mime_free(m);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
}

static void get(const char *path, const char *token, resp *r) {
  req q = {.method = "GET", .path = path, .token = token};
  http(&q, r);
}

static void post_json(const char *path, const char *token, const char *json, resp *r) {
  req q = {.method = "POST", .path = path, .token = token, .ctype = "application/json",
           .body = json, .len = strlen(json)};
  http(&q, r);
}

static json_t *body_json(const resp *r) {
  json_t *j = json_loadb(r->body ? r->body : "", r->len, 0, NULL);
  if (!j) print_error("not JSON (status %ld): %.300s\n", r->status, r->body ? r->body : "");
  assert_non_null(j);
  return j;
}

static void assert_problem(const resp *r, long status, const char *code) {
  assert_int_equal(r->status, status);
  assert_non_null(strstr(r->ctype, "application/problem+json"));
  json_t *j = body_json(r);
  assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
  assert_string_equal(json_string_value(json_object_get(j, "code")), code);
  assert_non_null(json_string_value(json_object_get(j, "type")));
  assert_non_null(json_string_value(json_object_get(j, "title")));
  assert_non_null(json_string_value(json_object_get(j, "detail")));
  json_decref(j);
}

static void resp_free(resp *r) { free(r->body); }

/* ---- set-up ------------------------------------------------------------------------ */

static void server_options(fg_server_options *o) {
  fg_server_options_init(o);
  o->listen = "127.0.0.1:0";
  o->web_dir = web_dir;
  o->threads = 2;
  o->purge_interval = 0;
  /* the matrix makes many bad attempts; rate limits have their own server */
  o->auth_fail_limit = o->auth_fail_global = o->perm_fail_limit = 1000000;
  o->denial_audit_interval = 1; /* denials reach the audit chain within a second or two */
  o->border.data_dir = T.dir;
  o->border.store = ts_store_opt(&T);
  o->border.store_flags = FG_STORE_NOSYNC;
  o->border.face.models_dir = tu_models_dir();
}

static int start(fg_server_options *o, fg_server **s) {
  fg_error e = {0};
  int rc = fg_server_create(o, s, &e);
  if (rc != FG_OK) fprintf(stderr, "fg_server_create: %s\n", e.msg);
  return rc;
}

static int group_setup(void **state) {
  (void)state;
  if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) return -1;
  ts_make(&T, "server");
  snprintf(web_dir, sizeof web_dir, "%s/web", T.dir);
  char path[160];
  if (mkdir(web_dir, 0700) != 0) return -1;
  snprintf(path, sizeof path, "%s/index.html", web_dir);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs("<!doctype html><title>facegate</title>\n", f);
  fclose(f);
  char models[1024];
  tu_path(models, sizeof models, tu_models_dir(), "fr_feature.onnx");
  have_models = tu_exists(models);

  /* Tokens through the library: one per role, and one revoked. */
  fg_border_options bo;
  fg_border_options_init(&bo);
  bo.data_dir = T.dir;
  bo.store = ts_store_opt(&T);
  bo.store_flags = FG_STORE_NOSYNC;
  fg_border *b;
  fg_error e = {0};
  if (fg_border_open(&bo, &b, &e) != FG_OK) {
    fprintf(stderr, "fg_border_open: %s\n", e.msg);
    return -1;
  }
  fg_actor local = {"test", "local", NULL};
  for (int i = 0; i < FG_ROLE_COUNT; i++) {
    char name[32];
    snprintf(name, sizeof name, "%s-1", ROLES[i]);
    if (fg_api_token_create(b, &local, name, ROLES[i], tokens[i], NULL, &e) != FG_OK) {
      fprintf(stderr, "token: %s\n", e.msg);
      return -1;
    }
  }
  if (fg_api_token_create(b, &local, "officer-gone", "officer", revoked_token, NULL, &e) != FG_OK ||
      fg_api_token_revoke(b, &local, 0, "officer-gone", &e) != FG_OK) {
    fprintf(stderr, "token: %s\n", e.msg);
    return -1;
  }
  fg_border_close(b);
  /* The tokens are in the test's store (SQLite file or PostgreSQL database). */
  if (ts_raw_int(T.target, "SELECT count(*) FROM tokens") != FG_ROLE_COUNT + 1) {
    fprintf(stderr, "the tokens are not in the %s store %s\n", ts_backend(), T.target);
    return -1;
  }

  fg_server_options o;
  server_options(&o);
  if (start(&o, &srv) != FG_OK) return -1;
  port = fg_server_port(srv);
  return port ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  fg_server_destroy(srv);
  ts_clean(&T);
  curl_global_cleanup();
  return 0;
}

static const char *token_of(const char *role) {
  for (int i = 0; i < FG_ROLE_COUNT; i++)
    if (!strcmp(ROLES[i], role)) return tokens[i];
  return NULL;
}

/* ---- the route table and its document ------------------------------------------------ */

static void test_healthz(void **state) {
  (void)state;
  resp r;
  get("/healthz", NULL, &r);
  assert_int_equal(r.status, 200);
  json_t *j = body_json(&r);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
  json_decref(j);
  resp_free(&r);
}

static void test_openapi_matches_routes(void **state) {
  (void)state;
  resp r;
  get("/openapi.json", NULL, &r);
  assert_int_equal(r.status, 200);
  json_t *doc = body_json(&r);
  assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
  json_t *paths = json_object_get(doc, "paths");
  assert_true(json_is_object(paths));
  size_t n;
  const fg_route_info *rt = fg_server_routes(&n);
  /* every route is in the document, with its roles... */
  for (size_t i = 0; i < n; i++) {
    char m[8];
    size_t k = 0;
    for (; rt[i].method[k] && k < sizeof m - 1; k++) m[k] = (char)(rt[i].method[k] | 0x20);
    m[k] = '\0';
    json_t *op = json_object_get(json_object_get(paths, rt[i].path), m);
    if (!op) print_error("route %s %s is not in docs/openapi.json\n", rt[i].method, rt[i].path);
    assert_non_null(op);
    json_t *roles = json_object_get(op, "x-facegate-roles");
    unsigned mask = 0, bit;
    size_t j;
    json_t *v;
    json_array_foreach(roles, j, v) {
      assert_int_equal(fg_role_parse(json_string_value(v), &bit), FG_OK);
      mask |= bit;
    }
    if (mask != rt[i].roles)
      print_error("roles of %s %s differ between the table and the document\n", rt[i].method, rt[i].path);
    assert_int_equal(mask, rt[i].roles);
  }
  /* ...and the document has nothing else. */
  size_t ops = 0;
  const char *p;
  json_t *item;
  json_object_foreach(paths, p, item) {
    const char *m;
    json_t *op;
    json_object_foreach(item, m, op) {
      int found = 0;
      for (size_t i = 0; i < n; i++)
        found |= !strcmp(rt[i].path, p) && !strcasecmp(rt[i].method, m);
      if (!found) print_error("docs/openapi.json has %s %s, the server does not\n", m, p);
      assert_true(found);
      ops++;
    }
  }
  assert_int_equal(ops, n);
  /* The served document is the one built in. */
  size_t len;
  const char *built = fg_server_openapi(&len);
  assert_int_equal(len, r.len);
  assert_memory_equal(built, r.body, len);
  json_decref(doc);
  resp_free(&r);
}

/* A concrete path for a template: ids that do not exist, a plausible date. */
static void concrete(const char *tmpl, char *out, size_t cap) {
  size_t k = 0;
  for (const char *t = tmpl; *t && k + 16 < cap;) {
    if (*t == '{') {
      const char *e = strchr(t, '}');
      const char *val = !strncmp(t, "{date}", 6) ? "2026-01-01" : !strncmp(t, "{ref}", 5) ? "NOSUCHDOC1" : "999999";
      k += (size_t)snprintf(out + k, cap - k, "%s", val);
      t = e + 1;
    } else {
      out[k++] = *t++;
    }
  }
  out[k] = '\0';
}

static void call_route(const fg_route_info *rt, const char *token, resp *r) {
  char path[256];
  concrete(rt->path, path, sizeof path);
  req q = {.method = rt->method, .path = path, .token = token};
  if (!strcmp(rt->method, "POST")) {
    q.ctype = "application/json";
    q.body = "{}";
    q.len = 2;
  }
  http(&q, r);
}

static void test_route_role_matrix(void **state) {
  (void)state;
  size_t n;
  const fg_route_info *rt = fg_server_routes(&n);
  char wrong[FG_API_TOKEN_LEN];
  fg_token_generate(wrong);
  for (size_t i = 0; i < n; i++) {
    for (int k = 0; k < FG_ROLE_COUNT; k++) {
      unsigned bit;
      fg_role_parse(ROLES[k], &bit);
      resp r;
      call_route(&rt[i], tokens[k], &r);
      int allowed = rt[i].roles == 0 || (rt[i].roles & bit);
      if (allowed ? (r.status == 401 || r.status == 403 || r.status >= 500 || r.status < 200)
                  : r.status != 403)
        print_error("%s %s as %s: %ld %.300s\n", rt[i].method, rt[i].path, ROLES[k], r.status,
                    r.body ? r.body : "");
      if (allowed) {
        assert_true(r.status >= 200 && r.status < 500);
        assert_true(r.status != 401 && r.status != 403);
      } else {
        assert_problem(&r, 403, "FG_EPERM");
      }
      resp_free(&r);
    }
    /* without a token, with a wrong, a malformed and a revoked one */
    const char *bad[] = {NULL, wrong, "fgt_short", revoked_token};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
      resp r;
      call_route(&rt[i], bad[k], &r);
      if (rt[i].roles == 0) {
        assert_true(r.status >= 200 && r.status < 400);
      } else {
        if (r.status != 401) print_error("%s %s with bad token %zu: %ld\n", rt[i].method, rt[i].path, k, r.status);
        assert_problem(&r, 401, "FG_EAUTH");
      }
      resp_free(&r);
    }
  }
  /* whoami names the token */
  resp r;
  get("/v1/whoami", token_of("officer"), &r);
  json_t *j = body_json(&r);
  assert_string_equal(json_string_value(json_object_get(j, "name")), "officer-1");
  assert_string_equal(json_string_value(json_object_get(j, "role")), "officer");
  json_decref(j);
  resp_free(&r);
  /* denials are audited (counted per source, written when the interval ends) */
  int seen = 0;
  for (int i = 0; i < 50 && !seen; i++) {
    get("/v1/audit?limit=1000", token_of("auditor"), &r);
    assert_int_equal(r.status, 200);
    seen = strstr(r.body, "auth.denied") != NULL;
    resp_free(&r);
    if (!seen) usleep(100 * 1000);
  }
  assert_true(seen);
}

/* ---- the queue's summary: not audited, unlike the list -------------------------------- */

/* Audit events with this action (NULL: every event but the "audit.read" each
 * page of this count appends), read through the API as the auditor. */
static long audit_count(const char *action) {
  long n = 0;
  long long after = 0;
  for (;;) {
    char path[96];
    snprintf(path, sizeof path, "/v1/audit?after=%lld&limit=1000", after);
    resp r;
    get(path, token_of("auditor"), &r);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    json_t *ev = json_object_get(j, "events");
    size_t i;
    json_t *x;
    json_array_foreach(ev, i, x) {
      const char *a = json_string_value(json_object_get(x, "action"));
      if (action ? !strcmp(a, action) : strcmp(a, "audit.read") != 0) n++;
      after = json_integer_value(json_object_get(x, "seq"));
    }
    size_t got = json_array_size(ev);
    json_decref(j);
    resp_free(&r);
    if (got < 1000) break;
  }
  return n;
}

static void test_referral_summary(void **state) {
  (void)state;
  /* Ten summaries: not one audit event. */
  long list0 = audit_count("referral.list"), all0 = audit_count(NULL);
  json_t *j = NULL;
  for (int i = 0; i < 10; i++) {
    resp r;
    get("/v1/referrals/summary", token_of(i % 2 ? "supervisor" : "officer"), &r);
    if (r.status != 200) print_error("summary: %ld %.300s\n", r.status, r.body ? r.body : "");
    assert_int_equal(r.status, 200);
    json_decref(j);
    j = body_json(&r);
    resp_free(&r);
  }
  assert_int_equal(audit_count("referral.list"), list0);
  assert_int_equal(audit_count(NULL), all0);
  /* Its shape: counts, the newest id, the oldest open age, and nothing else. */
  assert_true(json_is_integer(json_object_get(j, "open")));
  assert_true(json_is_object(json_object_get(j, "by_status")));
  assert_true(json_is_integer(json_object_get(json_object_get(j, "by_status"), "secondary")));
  assert_true(json_is_integer(json_object_get(json_object_get(j, "open_by_reason"), "watchlist")));
  assert_non_null(json_object_get(j, "newest_id"));
  assert_non_null(json_object_get(j, "oldest_open_age_s"));
  assert_int_equal(json_object_size(j), 6);
  json_int_t open = json_integer_value(json_object_get(j, "open"));
  json_decref(j);

  /* The list: one "referral.list" event per call, and it agrees on the count. */
  for (int i = 0; i < 3; i++) {
    resp r;
    get("/v1/referrals?status=open", token_of("officer"), &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_int_equal(json_array_size(j), (size_t)open);
    json_decref(j);
    resp_free(&r);
  }
  assert_int_equal(audit_count("referral.list"), list0 + 3);
  assert_int_equal(audit_count(NULL), all0 + 3);

  /* The literal path wins over /v1/referrals/{id}, and {id} must be numeric. */
  resp r;
  get("/v1/referrals/summary", token_of("gate"), &r);
  assert_problem(&r, 403, "FG_EPERM");
  resp_free(&r);
  get("/v1/referrals/summary", token_of("auditor"), &r);
  assert_problem(&r, 403, "FG_EPERM");
  resp_free(&r);
  get("/v1/referrals/summary/", token_of("officer"), &r);
  assert_problem(&r, 404, "FG_ENOTFOUND");
  resp_free(&r);
  get("/v1/referrals/summaryx", token_of("officer"), &r);
  assert_problem(&r, 400, "FG_EINVAL");
  resp_free(&r);
  get("/v1/referrals/12abc", token_of("officer"), &r);
  assert_problem(&r, 400, "FG_EINVAL");
  resp_free(&r);
  get("/v1/referrals/999999", token_of("officer"), &r);
  assert_problem(&r, 404, "FG_ENOTFOUND");
  resp_free(&r);
  post_json("/v1/referrals/summary", token_of("officer"), "{}", &r);
  assert_problem(&r, 405, "FG_EUNSUPPORTED");
  assert_string_equal(r.allow, "GET, HEAD");
  resp_free(&r);
  get("/v1/referrals/summary", token_of("supervisor"), &r);
  assert_int_equal(r.status, 200);
  resp_free(&r);
}

/* ---- problems and limits ------------------------------------------------------------ */

static void test_problems(void **state) {
  (void)state;
  resp r;
  get("/v1/no-such-route", token_of("admin"), &r);
  assert_problem(&r, 404, "FG_ENOTFOUND");
  resp_free(&r);
  get("/no-such-file.js", NULL, &r);
  assert_problem(&r, 404, "FG_ENOTFOUND");
  resp_free(&r);
  get("/", NULL, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.ctype, "text/html"));
  resp_free(&r);
  post_json("/v1/tokens", token_of("admin"), "{\"name\": \"x\", ", &r);
  assert_problem(&r, 400, "FG_EFORMAT");
  resp_free(&r);
  post_json("/v1/referrals/1/decision", token_of("officer"), "[1, 2]", &r);
  assert_problem(&r, 400, "FG_EFORMAT");
  resp_free(&r);
  req q = {.method = "DELETE", .path = "/v1/manifests", .token = token_of("supervisor")};
  http(&q, &r);
  assert_problem(&r, 405, "FG_EUNSUPPORTED");
  assert_non_null(strstr(r.allow, "GET"));
  assert_non_null(strstr(r.allow, "POST"));
  resp_free(&r);
  /* tokens over the API: create, use, list, revoke */
  post_json("/v1/tokens", token_of("admin"), "{\"name\":\"gate-7\",\"role\":\"gate\"}", &r);
  assert_int_equal(r.status, 201);
  json_t *j = body_json(&r);
  char tok[FG_API_TOKEN_LEN], path[64];
  snprintf(tok, sizeof tok, "%s", json_string_value(json_object_get(j, "token")));
  snprintf(path, sizeof path, "/v1/tokens/%lld", (long long)json_integer_value(json_object_get(j, "id")));
  json_decref(j);
  resp_free(&r);
  post_json("/v1/tokens", token_of("admin"), "{\"name\":\"gate-7\",\"role\":\"gate\"}", &r);
  assert_problem(&r, 409, "FG_ECONFLICT");
  resp_free(&r);
  get("/v1/whoami", tok, &r);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  get("/v1/tokens", token_of("admin"), &r);
  assert_int_equal(r.status, 200);
  assert_null(strstr(r.body, "fgt_")); /* never the tokens themselves */
  resp_free(&r);
  q = (req){.method = "DELETE", .path = path, .token = token_of("admin")};
  http(&q, &r);
  assert_int_equal(r.status, 204);
  resp_free(&r);
  get("/v1/whoami", tok, &r);
  assert_problem(&r, 401, "FG_EAUTH");
  resp_free(&r);
}

/* Inputs fuzz/fuzz_http.c found (each also kept in fuzz/corpus/fuzz_http/). */
static void test_fuzz_found(void **state) {
  (void)state;
  /* A problem's detail quoting a path that is not UTF-8 once %-decoded: the
   * document used to be sent with an empty body (jansson refuses such text). */
  resp r;
  get("/v1/manifests/%9A", token_of("officer"), &r);
  assert_problem(&r, 400, "FG_EINVAL");
  resp_free(&r);
  get("/no-such-%FF%C3.js", NULL, &r);
  assert_problem(&r, 404, "FG_ENOTFOUND");
  resp_free(&r);
  /* A query value that is not UTF-8 reached the library's JSON (the report's
   * port): 500 "out of memory". */
  get("/v1/reports/2026-01-01?port=JFK%8E", token_of("supervisor"), &r);
  assert_problem(&r, 400, "FG_EINVAL");
  resp_free(&r);
  /* A multipart part whose Content-Disposition has no name: the post
   * processor hands it over with a NULL key, which crashed the server. */
  static const char form[] =
      "--fgfuzz\r\nContent-Disposition: for\000\000\000\000\000\000\000\354name=\"manifest_id\"\r\n\r\n1"
      "\r\n--fgfuzz\r\nContent-Disposition: form-data; name=\"gate\"\r\n\r\nB12"
      "\r\n--fgfuzz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.pgm\"\r\n\r\nP5\n1 1\n255\n\200"
      "\r\n--fgfuzz--\r\n";
  req q = {.method = "POST", .path = "/v1/encounters", .token = token_of("gate"),
           .ctype = "multipart/form-data; boundary=fgfuzz", .body = form, .len = sizeof form - 1};
  http(&q, &r);
  assert_problem(&r, 400, "FG_EINVAL");
  resp_free(&r);
  /* Form fields that are not UTF-8 went into the encounter's JSON: 500. */
  static const char form2[] = "--fgfuzz\r\nContent-Disposition: form-data; name=\"manifest_id\"\r\n\r\n1\r\n"
                              "--fgfuzz\r\nContent-Disposition: form-data; name=\"gate\"\r\n\r\nB\377\r\n"
                              "--fgfuzz\r\nContent-Disposition: form-data; name=\"opt_out\"\r\n\r\n1\r\n"
                              "--fgfuzz\r\nContent-Disposition: form-data; name=\"document\"\r\n\r\nX1\r\n--fgfuzz--\r\n";
  q = (req){.method = "POST", .path = "/v1/encounters", .token = token_of("gate"),
            .ctype = "multipart/form-data; boundary=fgfuzz", .body = form2, .len = sizeof form2 - 1};
  http(&q, &r);
  assert_problem(&r, 400, "FG_EINVAL");
  resp_free(&r);
  get("/healthz", NULL, &r);
  assert_int_equal(r.status, 200);
  resp_free(&r);
}

static void test_body_limits(void **state) {
  (void)state;
  size_t n = 200 * 1024; /* over the 64 KiB JSON limit */
  char *big = malloc(n + 1);
  assert_non_null(big);
  memset(big, ' ', n);
  big[0] = '{';
  big[n - 1] = '}';
  big[n] = '\0';
  resp r;
  post_json("/v1/tokens", token_of("admin"), big, &r);
  assert_problem(&r, 413, "FG_ELIMIT");
  resp_free(&r);
  /* the same without a declared length */
  req q = {.method = "POST", .path = "/v1/referrals/1/decision", .token = token_of("officer"),
           .ctype = "application/json", .chunked = n};
  http(&q, &r);
  assert_problem(&r, 413, "FG_ELIMIT");
  resp_free(&r);
  /* an image over 8 MiB once decoded, in base64 inside JSON */
  size_t img = ((size_t)8 << 20) + 4096, b64 = sodium_base64_ENCODED_LEN(img, sodium_base64_VARIANT_ORIGINAL);
  uint8_t *raw = calloc(1, img);
  char *enc = malloc(b64 + 128);
  assert_non_null(raw);
  assert_non_null(enc);
  int k = snprintf(enc, 128, "{\"manifest_id\":1,\"gate\":\"G1\",\"image_base64\":\"");
  sodium_bin2base64(enc + k, b64, raw, img, sodium_base64_VARIANT_ORIGINAL);
  strcat(enc, "\"}");
  post_json("/v1/encounters", token_of("gate"), enc, &r);
  assert_problem(&r, 413, "FG_ELIMIT");
  resp_free(&r);
  free(raw);
  free(enc);
  free(big);
}

static void test_rate_limit(void **state) {
  (void)state;
  fg_server_options o;
  server_options(&o);
  o.auth_fail_limit = 3;
  o.auth_fail_window = 60;
  fg_server *s2;
  assert_int_equal(start(&o, &s2), FG_OK);
  unsigned p2 = fg_server_port(s2);
  char wrong[FG_API_TOKEN_LEN];
  fg_token_generate(wrong);
  resp r;
  for (int i = 0; i < 3; i++) {
    req q = {.method = "GET", .path = "/v1/whoami", .token = wrong, .port = p2};
    http(&q, &r);
    assert_problem(&r, 401, "FG_EAUTH");
    resp_free(&r);
  }
  req q = {.method = "GET", .path = "/v1/whoami", .token = wrong, .port = p2};
  http(&q, &r);
  assert_problem(&r, 429, "FG_ELIMIT");
  assert_true(atoi(r.retry_after) > 0 && atoi(r.retry_after) <= 60);
  resp_free(&r);
  /* a good token from the same address is never refused for others' failures
   * (tests/security/test_sec_http.c has the rest); public routes are not limited */
  q.token = token_of("officer");
  http(&q, &r);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  q = (req){.method = "GET", .path = "/healthz", .port = p2};
  http(&q, &r);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  fg_server_destroy(s2);
}

static void test_bind_refusals(void **state) {
  (void)state;
  fg_server_options o;
  server_options(&o);
  o.listen = "0.0.0.0:0";
  fg_server *s2 = NULL;
  fg_error e = {0};
  assert_int_equal(fg_server_create(&o, &s2, &e), FG_EPERM);
  assert_null(s2);
  assert_non_null(strstr(e.msg, "TLS"));
  o.listen = "127.0.0.1";
  assert_int_equal(fg_server_create(&o, &s2, &e), FG_EINVAL);
  o.listen = "127.0.0.1:0";
  o.tls_cert = "/nonexistent/cert.pem";
  assert_int_equal(fg_server_create(&o, &s2, &e), FG_EINVAL); /* a cert without a key */
}

static void test_tls(void **state) {
  (void)state;
  char cert[160], key[160], cmd[512];
  snprintf(cert, sizeof cert, "%s/cert.pem", T.dir);
  snprintf(key, sizeof key, "%s/key.pem", T.dir);
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
           "-subj /CN=127.0.0.1 -keyout %s -out %s >/dev/null 2>&1", key, cert);
  if (system(cmd) != 0) TU_SKIP("openssl cannot make a test certificate");
  fg_server_options o;
  server_options(&o);
  o.tls_cert = cert;
  o.tls_key = key;
  fg_server *s2;
  assert_int_equal(start(&o, &s2), FG_OK);
  resp r;
  req q = {.method = "GET", .path = "/v1/whoami", .token = token_of("auditor"),
           .port = fg_server_port(s2), .tls = 1};
  http(&q, &r);
  if (r.status != 200) print_error("https: %ld %s\n", r.status, curl_easy_strerror(r.cc));
  assert_int_equal(r.status, 200);
  resp_free(&r);
  q.tls = 0; /* plain HTTP to a TLS port gets no HTTP answer */
  http(&q, &r);
  assert_true(r.status != 200);
  resp_free(&r);
  fg_server_destroy(s2);
  /* with TLS a non-loopback address is allowed */
  o.listen = "0.0.0.0:0";
  assert_int_equal(start(&o, &s2), FG_OK);
  fg_server_destroy(s2);
}

static void test_manifest_path_photos_refused(void **state) {
  (void)state;
  const char *bodies[] = {
      "{\"carrier\":\"FG\",\"flight\":\"FG9\",\"port\":\"XXX\",\"scheduled\":\"2026-11-27T10:00:00Z\","
      "\"direction\":\"entry\",\"passengers\":[{\"surname\":\"A\",\"category\":\"foreign\","
      "\"document\":{\"number\":\"P1\",\"issuing_state\":\"FRA\"},\"photos\":[\"facegate.key\"]}]}",
      "{\"carrier\":\"FG\",\"flight\":\"FG9\",\"port\":\"XXX\",\"scheduled\":\"2026-11-27T10:00:00Z\","
      "\"direction\":\"entry\",\"passengers\":[{\"surname\":\"A\",\"category\":\"foreign\","
      "\"document\":{\"number\":\"P1\",\"issuing_state\":\"FRA\"},\"photos\":[{\"path\":\"/etc/passwd\"}]}]}",
      "{\"carrier\":\"FG\",\"flight\":\"FG9\",\"port\":\"XXX\",\"scheduled\":\"2026-11-27T10:00:00Z\","
      "\"direction\":\"entry\",\"passengers\":[{\"surname\":\"A\",\"category\":\"foreign\","
      "\"document\":{\"number\":\"P1\",\"issuing_state\":\"FRA\"},\"photos\":[{\"dg2\":\"x.dg2\"}]}]}",
  };
  for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
    resp r;
    post_json("/v1/manifests", token_of("supervisor"), bodies[i], &r);
    assert_problem(&r, 400, "FG_EINVAL");
    resp_free(&r);
  }
  resp r;
  get("/v1/manifests", token_of("supervisor"), &r);
  assert_int_equal(r.status, 200);
  assert_null(strstr(r.body, "FG9")); /* nothing was imported */
  resp_free(&r);
}

/* ---- a real flight ---------------------------------------------------------------- */

#define NPAX 5
static const char *const PEOPLE[NPAX] = {"George_W_Bush", "Colin_Powell", "Tony_Blair",
                                         "Donald_Rumsfeld", "Gerhard_Schroeder"};
static int64_t manifest_id;
static int use_lfw;

/* The enrolment photo (k = 1) or a gate capture (k = 2) of passenger i. */
static uint8_t *photo(int i, int k, size_t *len) {
  char path[1024];
  if (use_lfw)
    snprintf(path, sizeof path, "%s/lfw-deepfunneled/%s/%s_%04d.jpg", tu_lfw_dir(), PEOPLE[i], PEOPLE[i], k);
  else { /* the sample photos: one per person, so the capture is the enrolment photo;
            the ones that pass the gate's quality check first (1, 2, 4 are group photos) */
    static const int SAMPLE[NPAX] = {3, 5, 6, 1, 2};
    snprintf(path, sizeof path, "%s/sample%d.jpg", tu_samples_dir(), SAMPLE[i]);
  }
  return tu_read(path, len);
}

static int stage_flight(void) {
  char probe[1024];
  snprintf(probe, sizeof probe, "%s/lfw-deepfunneled/%s/%s_0002.jpg", tu_lfw_dir(), PEOPLE[0], PEOPLE[0]);
  use_lfw = tu_exists(probe);
  if (!use_lfw) {
    snprintf(probe, sizeof probe, "%s/sample1.jpg", tu_samples_dir());
    if (!tu_exists(probe)) return -1;
  }
  json_t *pax = json_array();
  for (int i = 0; i < NPAX; i++) {
    size_t n;
    uint8_t *jpg = photo(i, 1, &n);
    char *b64 = malloc(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL));
    sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), jpg, n,
                      sodium_base64_VARIANT_ORIGINAL);
    char num[16];
    snprintf(num, sizeof num, "S%07d", i + 1);
    json_array_append_new(
        pax, json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s},s:[{s:s}]}", "surname", PEOPLE[i],
                       "given_names", "T", "category", "foreign", "nationality", "FRA",
                       "document", "type", "P", "number", num, "issuing_state", "FRA", "photos",
                       "base64", b64));
    free(b64);
    free(jpg);
  }
  json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "carrier", "FG", "flight", "FG202", "port",
                        "XXX", "scheduled", "2026-11-27T10:00:00Z", "direction", "entry",
                        "passengers", pax);
  char *text = json_dumps(m, JSON_COMPACT);
  json_decref(m);
  resp r;
  post_json("/v1/manifests", token_of("supervisor"), text, &r);
  free(text);
  if (r.status != 201) print_error("manifest import: %ld %.500s\n", r.status, r.body ? r.body : "");
  assert_int_equal(r.status, 201);
  json_t *rep = body_json(&r);
  manifest_id = json_integer_value(json_object_get(rep, "manifest_id"));
  json_decref(rep);
  resp_free(&r);
  return manifest_id > 0 ? 0 : -1;
}

typedef struct capture {
  const uint8_t *jpg;
  size_t len;
  char manifest[24];
  const char *gate;
} capture;

static curl_mime *encounter_form(CURL *c, void *ctx) {
  capture *cp = ctx;
  curl_mime *m = curl_mime_init(c);
  curl_mimepart *p = curl_mime_addpart(m);
  curl_mime_name(p, "manifest_id");
  curl_mime_data(p, cp->manifest, CURL_ZERO_TERMINATED);
  p = curl_mime_addpart(m);
  curl_mime_name(p, "gate");
  curl_mime_data(p, cp->gate, CURL_ZERO_TERMINATED);
  p = curl_mime_addpart(m);
  curl_mime_name(p, "image");
  curl_mime_filename(p, "capture.jpg");
  curl_mime_type(p, "image/jpeg");
  curl_mime_data(p, (const char *)cp->jpg, cp->len);
  return m;
}

static void post_encounter(unsigned to_port, int who, const char *gate, resp *r) {
  size_t n;
  uint8_t *jpg = photo(who, 2, &n);
  capture cp = {jpg, n, "", gate};
  snprintf(cp.manifest, sizeof cp.manifest, "%lld", (long long)manifest_id);
  req q = {.method = "POST", .path = "/v1/encounters", .token = token_of("gate"),
           .mime = encounter_form, .mime_ctx = &cp, .port = to_port};
  http(&q, r);
  free(jpg);
}

static void test_flight_encounter_multipart(void **state) {
  (void)state;
  if (!have_models) TU_SKIP("models not found in %s", tu_models_dir());
  if (stage_flight() != 0) TU_SKIP("no LFW at %s and no sample photos at %s", tu_lfw_dir(), tu_samples_dir());
  resp r;
  post_encounter(0, 2, "B12", &r);
  if (r.status != 201) print_error("encounter: %ld %.500s\n", r.status, r.body ? r.body : "");
  assert_int_equal(r.status, 201);
  json_t *j = body_json(&r);
  /* The gate's view: the action, nothing about the traveller (docs/api.md). */
  assert_string_equal(json_string_value(json_object_get(j, "gate_action")), "proceed");
  assert_true(json_integer_value(json_object_get(j, "encounter_id")) > 0);
  assert_null(json_object_get(j, "traveller_name"));
  assert_null(json_object_get(j, "outcome"));
  assert_null(json_object_get(j, "score"));
  json_decref(j);
  resp_free(&r);
  /* the same capture as JSON with base64 */
  size_t n;
  uint8_t *jpg = photo(1, 2, &n);
  char *b64 = malloc(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL));
  sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), jpg, n,
                    sodium_base64_VARIANT_ORIGINAL);
  json_t *body = json_pack("{s:I,s:s,s:s}", "manifest_id", (json_int_t)manifest_id, "gate", "B13",
                           "image_base64", b64);
  char *text = json_dumps(body, JSON_COMPACT);
  post_json("/v1/encounters", token_of("gate"), text, &r);
  assert_int_equal(r.status, 201);
  j = body_json(&r);
  assert_string_equal(json_string_value(json_object_get(j, "gate_action")), "proceed");
  json_decref(j);
  resp_free(&r);
  free(text);
  json_decref(body);
  free(b64);
  free(jpg);

  /* the manifest and its counts, for an officer */
  char path[64];
  snprintf(path, sizeof path, "/v1/manifests/%lld", (long long)manifest_id);
  get(path, token_of("officer"), &r);
  assert_int_equal(r.status, 200);
  resp_free(&r);

  get("/metrics", token_of("admin"), &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.ctype, "text/plain"));
  assert_non_null(strstr(r.body, "facegate_encounters_total{outcome=\"MATCHED\"} 2\n"));
  assert_non_null(strstr(r.body, "facegate_http_requests_total{route=\"/v1/encounters\",method=\"POST\",status=\"201\"} 2\n"));
  assert_non_null(strstr(r.body, "facegate_http_request_duration_seconds_count{route=\"/v1/encounters\"}"));
  assert_non_null(strstr(r.body, "facegate_referrals_open "));
  assert_non_null(strstr(r.body, "facegate_build_info{version=\""));
  resp_free(&r);
}

/* ---- shutdown with an encounter in flight ------------------------------------------- */

typedef struct inflight {
  unsigned port;
  resp r;
} inflight;

static void *encounter_thread(void *arg) {
  inflight *f = arg;
  post_encounter(f->port, 0, "C3", &f->r);
  return NULL;
}

/* GET /v1/travellers: by name (case and spacing as typed by a person, whole
 * names only) and by document number, through the blind indexes; runs after
 * test_flight_encounter_multipart staged the flight. */
static void test_traveller_find(void **state) {
  (void)state;
  if (manifest_id <= 0) TU_SKIP("no flight staged (see test_flight_encounter_multipart)");
  char path[256], name[64];
  snprintf(name, sizeof name, "%s", PEOPLE[1]);
  for (char *c = name; *c; c++) *c = (char)tolower((unsigned char)*c);
  resp r;
  snprintf(path, sizeof path, "/v1/travellers?surname=%s", name); /* "colin_powell" */
  get(path, token_of("officer"), &r);
  if (r.status != 200) print_error("%s: %ld %.300s\n", path, r.status, r.body ? r.body : "");
  assert_int_equal(r.status, 200);
  json_t *j = body_json(&r);
  assert_int_equal(json_array_size(j), 1);
  json_t *t = json_array_get(j, 0);
  assert_string_equal(json_string_value(json_object_get(t, "surname")), PEOPLE[1]);
  json_t *doc = json_array_get(json_object_get(t, "documents"), 0);
  assert_string_equal(json_string_value(json_object_get(doc, "number")), "S0000002");
  json_decref(j);
  resp_free(&r);
  /* a prefix is not a name */
  snprintf(path, sizeof path, "/v1/travellers?surname=%.5s", PEOPLE[1]);
  get(path, token_of("officer"), &r);
  assert_int_equal(r.status, 200);
  j = body_json(&r);
  assert_int_equal(json_array_size(j), 0);
  json_decref(j);
  resp_free(&r);
  get("/v1/travellers?document=s-0000003", token_of("officer"), &r);
  assert_int_equal(r.status, 200);
  j = body_json(&r);
  assert_int_equal(json_array_size(j), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "surname")), PEOPLE[2]);
  json_decref(j);
  resp_free(&r);
  get("/v1/travellers", token_of("officer"), &r);
  assert_problem(&r, 400, "FG_EINVAL");
  resp_free(&r);
  get("/v1/travellers?surname=Powell&limit=0", token_of("officer"), &r);
  assert_problem(&r, 400, "FG_EINVAL");
  resp_free(&r);
  get("/v1/travellers?surname=Powell", token_of("supervisor"), &r);
  assert_problem(&r, 403, "FG_EPERM");
  resp_free(&r);
}

static void test_shutdown_finishes_inflight(void **state) {
  (void)state;
  if (!have_models) TU_SKIP("models not found in %s", tu_models_dir());
  if (manifest_id <= 0) TU_SKIP("no staged flight (see the flight test)");
  fg_server_options o;
  server_options(&o);
  fg_server *s3;
  assert_int_equal(start(&o, &s3), FG_OK);
  inflight f = {fg_server_port(s3), {0}};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, encounter_thread, &f), 0);
  /* wait until the request is being handled, then shut down as SIGTERM does */
  for (int i = 0; i < 20000 && fg_server_in_flight(s3) == 0; i++) {
    struct timespec ts = {0, 100 * 1000};
    nanosleep(&ts, NULL);
  }
  assert_true(fg_server_in_flight(s3) > 0);
  assert_int_equal(fg_server_shutdown(s3, 60000), FG_OK);
  /* no new connections once shutting down */
  req q = {.method = "GET", .path = "/healthz", .port = f.port};
  resp r;
  http(&q, &r);
  assert_int_not_equal(r.cc, CURLE_OK);
  resp_free(&r);
  pthread_join(t, NULL);
  fg_server_destroy(s3);
  if (f.r.status != 201) print_error("in-flight encounter: %ld (%s)\n", f.r.status, curl_easy_strerror(f.r.cc));
  assert_int_equal(f.r.status, 201);
  json_t *j = body_json(&f.r);
  assert_string_equal(json_string_value(json_object_get(j, "gate_action")), "proceed");
  assert_true(json_integer_value(json_object_get(j, "encounter_id")) > 0);
  json_decref(j);
  resp_free(&f.r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_healthz),
      cmocka_unit_test(test_openapi_matches_routes),
      cmocka_unit_test(test_route_role_matrix),
      cmocka_unit_test(test_referral_summary),
      cmocka_unit_test(test_problems),
      cmocka_unit_test(test_fuzz_found),
      cmocka_unit_test(test_body_limits),
      cmocka_unit_test(test_rate_limit),
      cmocka_unit_test(test_bind_refusals),
      cmocka_unit_test(test_tls),
      cmocka_unit_test(test_manifest_path_photos_refused),
      cmocka_unit_test(test_flight_encounter_multipart),
      cmocka_unit_test(test_traveller_find),
      cmocka_unit_test(test_shutdown_finishes_inflight),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
