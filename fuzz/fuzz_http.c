/*
 * libFuzzer target for `facegate serve`'s request handling (src/server/):
 * the router and its path parameters, query strings, authentication headers,
 * JSON bodies, base64 images and multipart forms, all through a real server
 * in this process, spoken to over a loopback socket.
 *
 * On the first input a fresh data directory is made under /tmp, one token
 * per role is created through the library (as tests/test_server.c does) and
 * fg_server starts on 127.0.0.1 with an ephemeral port and two workers. The
 * face models ($FACEGATE_MODELS, else var/models) load lazily, only if an
 * input gets as far as an image that decodes. Nothing is staged.
 *
 * Input layout. Byte 0 >= 0xf0: raw mode, the rest is sent verbatim as the
 * request ("$T0".."$T3" are replaced with the gate, officer, supervisor and
 * auditor tokens; the admin's is never given, so raw input cannot revoke the
 * fuzzer's own tokens); the server must answer it or close, never with a
 * problem document of status 500, and must then answer GET /healthz with 200.
 * Otherwise structured mode:
 *   byte 0  token: %8 = 0..4 the role (gate, officer, supervisor, auditor,
 *           admin), 5 none, 6 a well-formed unknown token, 7 a malformed one
 *   byte 1  the route: an index into fg_server_routes (mod their count)
 *   byte 2  bits 0-1 Content-Type (JSON, multipart with boundary "fgfuzz",
 *           text/csv, none); bit 2 send the body chunked; bits 4-6: 0-3 the
 *           route's method, 4 GET, 5 POST, 6 DELETE, 7 PUT
 *   then    the path parameter up to '\n' (the "{...}" of the template, or
 *           the file path after "/" for the static route), the query string
 *           up to the next '\n', and the body (the rest). Bytes that cannot
 *           appear in a request line are %-escaped; '%' itself is sent as is,
 *           so the server's decoding of escapes is exercised.
 * Invariants (abort() on violation): a well-formed status line; no status
 * >= 500 but 503 (a 500 is a bug: the server failed on some input); every
 * 4xx from the service is application/problem+json with the members of
 * docs/api.md, its status equal to the response's and its code the one the
 * docs pair with that status; 401 carries WWW-Authenticate, 405 Allow, 429
 * Retry-After; a 2xx JSON body parses; and no route under /v1/ answers 2xx
 * without a valid token, or to a role the route table does not allow.
 *
 * Raw mode waits at most RAW_IDLE_MS for an answer (libmicrohttpd ignores a
 * half-close in the middle of a request), then resets the connection.
 *
 * Checked-in seeds (one valid request per route family, and each input that
 * found a bug, named regress-*) are in fuzz/corpus/fuzz_http/; scripts/fuzz-run
 * passes that directory. Run from the project root (web/, var/models):
 *     build-fuzz/fuzz_http -timeout=20 build-fuzz/corpus/fuzz_http fuzz/corpus/fuzz_http
 * FUZZ_HTTP_VERBOSE=1 prints each structured request's line and answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "facegate/secure.h"
#include "facegate/server.h"
#include "facegate/store.h"

#define RECV_TIMEOUT_S 15
#define RAW_IDLE_MS 30
#define MAX_RESPONSE ((size_t)8 << 20)

/* The report chart draws text with cairo, whose fontconfig caches live until exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\nleak:libcairo.so\n"; }

static const char *const ROLES[FG_ROLE_COUNT] = {"gate", "officer", "supervisor", "auditor", "admin"};
static char tokens[FG_ROLE_COUNT][FG_API_TOKEN_LEN];
static int64_t token_ids[FG_ROLE_COUNT];
static char wrong_token[FG_API_TOKEN_LEN];
static char data_dir[64];
static fg_server *srv;
static unsigned port;

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_http: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

/* At exit (libFuzzer's -max_total_time, -runs): stop the server and remove
 * the data directory. A crash leaves both for the post-mortem. */
static void cleanup(void) {
  fg_server_destroy(srv);
  srv = NULL;
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", data_dir);
  if (system(cmd) != 0) fprintf(stderr, "fuzz_http: could not remove %s\n", data_dir);
}

static void init(void) {
  if (sodium_init() < 0) die("sodium_init", NULL);
  snprintf(data_dir, sizeof data_dir, "/tmp/fg_fuzz_http_XXXXXX");
  if (!mkdtemp(data_dir)) die("mkdtemp", strerror(errno));
  const char *models = getenv("FACEGATE_MODELS");
  if (!models || !*models) models = "var/models";
  static char models_abs[PATH_MAX];
  if (!realpath(models, models_abs)) snprintf(models_abs, sizeof models_abs, "%s", models);

  fg_border_options bo;
  fg_border_options_init(&bo);
  bo.data_dir = data_dir;
  bo.store_flags = FG_STORE_NOSYNC;
  fg_border *b;
  fg_error e = {0};
  if (fg_border_open(&bo, &b, &e) != FG_OK) die("fg_border_open", e.msg);
  fg_actor local = {"fuzz", "local", NULL};
  for (int i = 0; i < FG_ROLE_COUNT; i++) {
    char name[32];
    snprintf(name, sizeof name, "%s-fuzz", ROLES[i]);
    if (fg_api_token_create(b, &local, name, ROLES[i], tokens[i], &token_ids[i], &e) != FG_OK)
      die("fg_api_token_create", e.msg);
  }
  fg_border_close(b);
  fg_token_generate(wrong_token);

  fg_server_options o;
  fg_server_options_init(&o);
  o.listen = "127.0.0.1:0";
  o.web_dir = "web";
  o.threads = 2;
  o.purge_interval = 0;
  o.conn_timeout = 2;
  o.auth_fail_limit = INT_MAX; /* bad tokens are most of the inputs: no 429 lock-out */
  o.border.data_dir = data_dir;
  o.border.store_flags = FG_STORE_NOSYNC;
  o.border.face.models_dir = models_abs;
  if (fg_server_create(&o, &srv, &e) != FG_OK) die("fg_server_create", e.msg);
  port = fg_server_port(srv);
  if (!port) die("no port", NULL);
  atexit(cleanup);
}

/* ---- a growing buffer -------------------------------------------------------------- */

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static void put(buf *b, const void *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1) cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) die("out of memory", NULL);
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* Append bytes to a request line: '%' and the characters a URL may carry go
 * as they are (and `extra`), anything else %-escaped. */
static void put_url(buf *b, const uint8_t *s, size_t n, const char *extra) {
  static const char SAFE[] = "-._~!$'()*+,;:@%";
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        (c && strchr(SAFE, c)) || (c && strchr(extra, c))) {
      put(b, &c, 1);
    } else {
      char esc[4];
      snprintf(esc, sizeof esc, "%%%02X", c);
      put(b, esc, 3);
    }
  }
}

/* ---- the wire ---------------------------------------------------------------------- */

static int connect_server(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket", strerror(errno));
  struct timeval tv = {RECV_TIMEOUT_S, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) die("connect", strerror(errno));
  return fd;
}

/* Send req and read until the server closes. idle_ms > 0: stop waiting once
 * the server has been silent that long (raw mode: libmicrohttpd does not
 * notice a client's half-close in the middle of a request and would wait for
 * its connection timeout), and reset the connection. Returns 0 when the
 * answer was read to its end, -1 on a timeout; a reset connection just ends
 * the answer. */
static int exchange(const buf *req, int idle_ms, buf *resp) {
  int fd = connect_server();
  size_t off = 0;
  while (off < req->len) {
    ssize_t k = send(fd, req->p + off, req->len - off, MSG_NOSIGNAL);
    if (k <= 0) break; /* the server answered early and closed: read what it said */
    off += (size_t)k;
  }
  if (idle_ms) shutdown(fd, SHUT_WR);
  int rc = 0;
  char tmp[16384];
  for (;;) {
    if (idle_ms) {
      struct pollfd pf = {.fd = fd, .events = POLLIN};
      int n = poll(&pf, 1, idle_ms);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        rc = -1;
        break;
      }
    }
    ssize_t k = recv(fd, tmp, sizeof tmp, 0);
    if (k > 0) {
      if (resp->len + (size_t)k > MAX_RESPONSE) break;
      put(resp, tmp, (size_t)k);
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) rc = -1;
    break;
  }
  close(fd);
  if (!resp->p) put(resp, "", 0);
  return rc;
}

/* ---- the answer -------------------------------------------------------------------- */

typedef struct answer {
  int status;
  const char *head; /* header block (after the status line), NUL-free copy */
  char *head_copy;
  const char *body;
  size_t body_len;
} answer;

/* The value of header name (case-insensitive) into out; 0 if absent. */
static int header(const answer *a, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  for (const char *l = a->head; l && *l;) {
    l += strspn(l, "\r\n");
    if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
      const char *v = l + nl + 1;
      v += strspn(v, " \t");
      size_t n = strcspn(v, "\r\n");
      if (n >= cap) n = cap - 1;
      memcpy(out, v, n);
      out[n] = '\0';
      return 1;
    }
    l = strchr(l, '\n');
  }
  return 0;
}

/* Parse the first response in r. 0 on success, -1 if r is not an HTTP response. */
static int parse_answer(buf *r, answer *a) {
  memset(a, 0, sizeof *a);
  if (r->len < 12 || memcmp(r->p, "HTTP/1.", 7) != 0 || (r->p[7] != '0' && r->p[7] != '1') ||
      r->p[8] != ' ')
    return -1;
  for (int i = 9; i < 12; i++)
    if (r->p[i] < '0' || r->p[i] > '9') return -1;
  if (r->len > 12 && r->p[12] != ' ' && r->p[12] != '\r') return -1;
  a->status = (r->p[9] - '0') * 100 + (r->p[10] - '0') * 10 + (r->p[11] - '0');
  const char *end = memmem(r->p, r->len, "\r\n\r\n", 4);
  if (!end) return -1;
  const char *eol = memmem(r->p, (size_t)(end - r->p) + 2, "\r\n", 2);
  size_t hl = (size_t)(end - eol);
  a->head_copy = malloc(hl + 3);
  if (!a->head_copy) die("out of memory", NULL);
  memcpy(a->head_copy, eol, hl + 2);
  a->head_copy[hl + 2] = '\0';
  a->head = a->head_copy;
  a->body = end + 4;
  a->body_len = r->len - (size_t)(a->body - r->p);
  char cl[32];
  if (header(a, "Content-Length", cl, sizeof cl)) {
    unsigned long long n = strtoull(cl, NULL, 10);
    if (n < a->body_len) a->body_len = (size_t)n; /* what follows is another answer */
  }
  return 0;
}

static void fail(const char *why, const buf *req, const buf *resp) {
  fprintf(stderr, "fuzz_http: %s\n--- request (%zu bytes) ---\n%.2000s\n--- response (%zu bytes) ---\n%.2000s\n",
          why, req->len, req->p ? req->p : "", resp->len, resp->p ? resp->p : "");
  abort();
}

/* The code docs/api.md pairs with an error status. */
static int code_fits(int status, const char *code) {
  switch (status) {
  case 400: return !strcmp(code, "FG_EINVAL") || !strcmp(code, "FG_EFORMAT");
  case 401: return !strcmp(code, "FG_EAUTH");
  case 403: return !strcmp(code, "FG_EPERM");
  case 404: return !strcmp(code, "FG_ENOTFOUND");
  case 405: return !strcmp(code, "FG_EUNSUPPORTED");
  case 409: return !strcmp(code, "FG_ECONFLICT");
  case 413: return !strcmp(code, "FG_ELIMIT");
  case 415: return !strcmp(code, "FG_EFORMAT");
  case 429: return !strcmp(code, "FG_ELIMIT");
  default: return 0;
  }
}

/* A problem document as docs/api.md describes it. */
static void check_problem(const answer *a, const buf *req, const buf *resp) {
  json_error_t je;
  json_t *j = json_loadb(a->body, a->body_len, 0, &je);
  if (!json_is_object(j)) fail("problem+json body is not a JSON object", req, resp);
  const char *type = json_string_value(json_object_get(j, "type"));
  const char *code = json_string_value(json_object_get(j, "code"));
  json_t *st = json_object_get(j, "status");
  if (!type || strncmp(type, "urn:facegate:error:", 19) != 0) fail("problem: bad type", req, resp);
  if (!json_string_value(json_object_get(j, "title"))) fail("problem: no title", req, resp);
  if (!json_string_value(json_object_get(j, "detail"))) fail("problem: no detail", req, resp);
  if (!code || strncmp(code, "FG_E", 4) != 0) fail("problem: bad code", req, resp);
  if (!json_is_integer(st) || json_integer_value(st) != a->status) fail("problem: status differs", req, resp);
  if (!code_fits(a->status, code)) fail("problem: code does not fit the status (docs/api.md)", req, resp);
  json_decref(j);
}

/* Invariants of one answer from the service. `ours`: the request was
 * well-formed, so any 4xx comes from the service, not from libmicrohttpd. */
static void check_answer(const answer *a, int ours, const char *method, const buf *req, const buf *resp) {
  char ct[128] = "", v[128];
  header(a, "Content-Type", ct, sizeof ct);
  int problem = strncmp(ct, "application/problem+json", 24) == 0;
  if (a->status == 500 || (a->status > 503 && problem) || (a->status > 500 && a->status != 503 && ours))
    fail("status >= 500", req, resp);
  if (a->status < 100) fail("bad status", req, resp);
  if (a->status >= 400 && ours && !problem) fail("an error that is not application/problem+json", req, resp);
  if (strcmp(method, "HEAD") == 0) return;
  if (problem) check_problem(a, req, resp);
  if (problem && a->status == 401 && !header(a, "WWW-Authenticate", v, sizeof v)) fail("401 without WWW-Authenticate", req, resp);
  if (problem && a->status == 405 && !header(a, "Allow", v, sizeof v)) fail("405 without Allow", req, resp);
  if (problem && a->status == 429 && !header(a, "Retry-After", v, sizeof v)) fail("429 without Retry-After", req, resp);
  if (a->status >= 200 && a->status < 300 && a->status != 204 && strncmp(ct, "application/json", 16) == 0) {
    json_t *j = json_loadb(a->body, a->body_len, JSON_DECODE_ANY, NULL);
    if (!j) fail("a 2xx JSON body that does not parse", req, resp);
    json_decref(j);
  }
}

/* ---- the two modes ----------------------------------------------------------------- */

static void healthz(void) {
  buf req = {0}, resp = {0};
  puts_(&req, "GET /healthz HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n");
  answer a;
  if (exchange(&req, 0, &resp) != 0 || parse_answer(&resp, &a) != 0 || a.status != 200)
    fail("the server no longer answers GET /healthz with 200", &req, &resp);
  free(a.head_copy);
  free(req.p);
  free(resp.p);
}

static void raw_mode(const uint8_t *data, size_t size) {
  buf req = {0}, resp = {0};
  for (size_t i = 0; i < size; i++) {
    if (data[i] == '$' && i + 2 < size && data[i + 1] == 'T' && data[i + 2] >= '0' && data[i + 2] <= '3') {
      puts_(&req, tokens[data[i + 2] - '0']);
      i += 2;
    } else {
      put(&req, &data[i], 1);
    }
  }
  if (req.len) {
    exchange(&req, RAW_IDLE_MS, &resp);
    answer a;
    if (parse_answer(&resp, &a) == 0) {
      char ct[128] = "";
      header(&a, "Content-Type", ct, sizeof ct);
      /* the method of the first request: a HEAD's answer has no body */
      char method[8] = "";
      size_t ml = strcspn(req.p, " ");
      if (ml < sizeof method) memcpy(method, req.p, ml), method[ml] = '\0';
      if (strncmp(ct, "application/problem+json", 24) == 0) check_answer(&a, 0, method, &req, &resp);
      free(a.head_copy);
    }
  }
  if (getenv("FUZZ_HTTP_VERBOSE")) fprintf(stderr, "fuzz_http: raw: %zu bytes answered %.60s\n", resp.len, resp.p ? resp.p : "");
  free(req.p);
  free(resp.p);
  healthz();
}

static const char *const CTYPES[4] = {"application/json", "multipart/form-data; boundary=fgfuzz",
                                      "text/csv", NULL};

static void structured_mode(const uint8_t *data, size_t size) {
  size_t nroutes;
  const fg_route_info *routes = fg_server_routes(&nroutes);
  int who = data[0] % 8;
  const fg_route_info *rt = &routes[data[1] % nroutes];
  int ctype = data[2] & 3, chunked = (data[2] >> 2) & 1, m = (data[2] >> 4) & 7;
  static const char *const METHODS[4] = {"GET", "POST", "DELETE", "PUT"};
  const char *method = m < 4 ? rt->method : METHODS[m - 4];
  const uint8_t *p = data + 3, *end = data + size;
  const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
  const uint8_t *param = p;
  size_t param_len = nl ? (size_t)(nl - p) : (size_t)(end - p);
  const uint8_t *query = NULL, *body = NULL;
  size_t query_len = 0, body_len = 0;
  if (nl) {
    query = nl + 1;
    const uint8_t *nl2 = memchr(query, '\n', (size_t)(end - query));
    query_len = nl2 ? (size_t)(nl2 - query) : (size_t)(end - query);
    if (nl2) {
      body = nl2 + 1;
      body_len = (size_t)(end - body);
    }
  }
  /* Never revoke the fuzzer's own tokens (the admin may DELETE /v1/tokens/{id}). */
  if (strcmp(rt->path, "/v1/tokens/{id}") == 0 && param_len < 32) {
    char s[32];
    memcpy(s, param, param_len);
    s[param_len] = '\0';
    char *e;
    long long id = strtoll(s, &e, 10);
    for (int i = 0; i < FG_ROLE_COUNT; i++)
      if (memchr(param, '%', param_len) || (s[0] && !*e && id == token_ids[i])) return;
  }

  buf req = {0}, resp = {0};
  puts_(&req, method);
  puts_(&req, " ");
  const char *brace = strchr(rt->path, '{');
  int simple = !memchr(param, '/', param_len) && !memchr(param, '%', param_len);
  if (brace) {
    put(&req, rt->path, (size_t)(brace - rt->path));
    put_url(&req, param, param_len, "");
    puts_(&req, strchr(brace, '}') + 1);
  } else if (strcmp(rt->path, "/") == 0) {
    puts_(&req, "/");
    put_url(&req, param, param_len, "/");
  } else {
    puts_(&req, rt->path);
  }
  if (query_len) {
    puts_(&req, "?");
    put_url(&req, query, query_len, "&=/?");
  }
  puts_(&req, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
  if (who < FG_ROLE_COUNT || who == 6 || who == 7) {
    puts_(&req, "Authorization: Bearer ");
    puts_(&req, who < FG_ROLE_COUNT ? tokens[who] : who == 6 ? wrong_token : "fgt_short");
    puts_(&req, "\r\n");
  }
  if (CTYPES[ctype]) {
    puts_(&req, "Content-Type: ");
    puts_(&req, CTYPES[ctype]);
    puts_(&req, "\r\n");
  }
  if (chunked && body_len) {
    puts_(&req, "Transfer-Encoding: chunked\r\n\r\n");
    /* two chunks, split in the middle, then the last chunk */
    size_t half = body_len / 2, parts[2] = {half, body_len - half}, at = 0;
    for (int i = 0; i < 2; i++) {
      if (!parts[i]) continue;
      char sz[32];
      snprintf(sz, sizeof sz, "%zx\r\n", parts[i]);
      puts_(&req, sz);
      put(&req, body + at, parts[i]);
      puts_(&req, "\r\n");
      at += parts[i];
    }
    puts_(&req, "0\r\n\r\n");
  } else {
    char cl[48];
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n\r\n", body_len);
    puts_(&req, cl);
    if (body_len) put(&req, body, body_len);
  }

  if (exchange(&req, 0, &resp) != 0 && resp.len == 0) fail("no answer", &req, &resp);
  answer a;
  if (parse_answer(&resp, &a) != 0) fail("not an HTTP response", &req, &resp);
  /* A request line over libmicrohttpd's buffer is refused by it (414, 431,
   * 400 with its own HTML); anything else is the service's. */
  int ours = !(a.status == 414 || a.status == 431 || (a.status == 400 && req.len > 4096));
  if (getenv("FUZZ_HTTP_VERBOSE"))
    fprintf(stderr, "fuzz_http: %s %.*s -> %d %.200s\n", method, (int)strcspn(req.p + strlen(method) + 1, " "),
            req.p + strlen(method) + 1, a.status, a.body);
  check_answer(&a, ours, method, &req, &resp);
  /* Authorisation: nothing under /v1/ succeeds without a valid token, or for
   * a role the route does not allow (when the path is the template's). */
  int ok = a.status >= 200 && a.status < 300;
  if (ok && rt->roles && who >= FG_ROLE_COUNT && strncmp(rt->path, "/v1/", 4) == 0)
    fail("a 2xx without a valid token", &req, &resp);
  if (ok && rt->roles && who < FG_ROLE_COUNT && simple && !strcmp(method, rt->method) &&
      !(rt->roles & (1u << who)))
    fail("a 2xx for a role the route does not allow", &req, &resp);
  free(a.head_copy);
  free(req.p);
  free(resp.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    init();
    ready = 1;
  }
  if (size < 1) return 0;
  if (data[0] >= 0xf0) raw_mode(data + 1, size - 1);
  else if (size >= 3) structured_mode(data, size);
  return 0;
}
