/*
 * The security suite, reverse proxy: libmicrohttpd answers a few malformed
 * requests itself in HTML (431, 414, 505) and cannot be told otherwise, so
 * facegate ships deploy/nginx/facegate.conf, and this test runs that very
 * file (only its listen address, upstream, certificate and key lines
 * rewritten) in a real nginx in front of a real `facegate serve
 * --trusted-proxy 127.0.0.1`, and checks:
 *
 *   - what would have reached libmicrohttpd's HTML pages (headers or a
 *     request line too large, an HTTP version it does not speak), a body
 *     over 16 MiB, and facegate being down, come back from nginx as
 *     application/problem+json with the status and code docs/api.md pairs;
 *   - a normal request passes with facegate's own answer and headers;
 *   - facegate sees the client behind the proxy (X-Real-IP): its log names
 *     the client's address, and failed authentications are throttled per
 *     client network, not for everyone behind nginx at once.
 *
 * Without nginx installed (Debian nginx; scripts/setup installs it) the
 * test says so and is skipped.
 */
#include "sec.h"

static ts_store T;
static sec_server S;
static pid_t nginx_pid;
static unsigned nginx_port;

static int setup(void **state) {
  (void)state;
  ts_make(&T, "secproxy");
  sec_tokens(&T, &S);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (getenv("SEC_KEEP")) { /* debugging: leave nginx and the directory */
    sec_stop(&S);
    return 0;
  }
  if (nginx_pid > 0) {
    kill(nginx_pid, SIGQUIT);
    for (int i = 0; i < 100 && waitpid(nginx_pid, NULL, WNOHANG) != nginx_pid; i++) usleep(50000);
    kill(nginx_pid, SIGKILL);
    waitpid(nginx_pid, NULL, 0);
    nginx_pid = 0;
  }
  sec_stop(&S);
  ts_clean(&T);
  return 0;
}

/* A free loopback port (bound then released: nginx takes it a moment later). */
static unsigned free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

/* deploy/nginx/facegate.conf with its site-specific lines replaced. */
static void write_config(const char *cert, const char *key) {
  size_t n;
  char *shipped = (char *)tu_read("deploy/nginx/facegate.conf", &n);
  shipped = realloc(shipped, n + 1);
  shipped[n] = 0;
  char path[200];
  snprintf(path, sizeof path, "%s/facegate.conf", T.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  int replaced = 0;
  char *save = NULL;
  for (char *line = strtok_r(shipped, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    const char *t = line + strspn(line, " ");
    if (!strncmp(t, "listen ", 7)) fprintf(f, "    listen 127.0.0.1:%u ssl;\n", nginx_port), replaced++;
    else if (!strncmp(t, "server 127.0.0.1:8080", 21)) fprintf(f, "    server 127.0.0.1:%u;\n", S.port), replaced++;
    else if (!strncmp(t, "ssl_certificate ", 16)) fprintf(f, "    ssl_certificate %s;\n", cert), replaced++;
    else if (!strncmp(t, "ssl_certificate_key ", 20)) fprintf(f, "    ssl_certificate_key %s;\n", key), replaced++;
    else fprintf(f, "%s\n", line);
  }
  fclose(f);
  free(shipped);
  assert_int_equal(replaced, 4);
  snprintf(path, sizeof path, "%s/nginx.conf", T.dir);
  f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f,
          "pid %s/nginx.pid;\nerror_log %s/nginx-error.log;\nworker_processes 1;\n"
          "events { worker_connections 256; }\n"
          "http {\n  client_body_temp_path %s/body;\n  proxy_temp_path %s/proxy;\n"
          "  fastcgi_temp_path %s/fcgi;\n  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n"
          "  include %s/facegate.conf;\n}\n",
          T.dir, T.dir, T.dir, T.dir, T.dir, T.dir, T.dir, T.dir);
  fclose(f);
}

static void start_nginx(void) {
  char conf[200];
  snprintf(conf, sizeof conf, "%s/nginx.conf", T.dir);
  nginx_pid = fork();
  assert_true(nginx_pid >= 0);
  if (nginx_pid == 0) {
    char log[200];
    snprintf(log, sizeof log, "%s/nginx.out", T.dir);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    execlp("nginx", "nginx", "-p", T.dir, "-c", conf, "-g", "daemon off;", (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 200; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)nginx_port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    if (ok) return;
    if (waitpid(nginx_pid, NULL, WNOHANG) == nginx_pid) {
      nginx_pid = 0;
      fail_msg("nginx exited (see %s/nginx.out)", T.dir);
    }
    usleep(50000);
  }
  fail_msg("nginx did not listen within 10 s");
}

/* The same request through nginx. */
static void via(const sec_req *q, sec_resp *r) {
  sec_server p = S;
  p.port = nginx_port;
  p.tls = 1;
  sec_http(&p, q, r);
}

static void assert_problem(const sec_resp *r, long status, const char *code) {
  char ct[128];
  if (r->status != status)
    print_error("expected %ld, got %ld: %.300s\n", status, r->status, r->body ? r->body : "");
  assert_int_equal(r->status, status);
  assert_non_null(sec_header(r, "Content-Type", ct, sizeof ct));
  assert_non_null(strstr(ct, "application/problem+json"));
  json_t *j = sec_json(r);
  assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
  assert_string_equal(json_string_value(json_object_get(j, "code")), code);
  assert_non_null(json_string_value(json_object_get(j, "type")));
  assert_non_null(json_string_value(json_object_get(j, "detail")));
  json_decref(j);
}

/* A request through TLS with raw bytes (for what curl will not send). */
static char *raw_tls(const char *request) {
  char in[200], out[200], cmd[600];
  snprintf(in, sizeof in, "%s/raw.in", T.dir);
  snprintf(out, sizeof out, "%s/raw.out", T.dir);
  FILE *f = fopen(in, "w");
  fputs(request, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "timeout 20 openssl s_client -quiet -connect 127.0.0.1:%u <%s >%s 2>/dev/null",
           nginx_port, in, out);
  if (system(cmd) < 0) fail();
  size_t n;
  char *text = (char *)tu_read(out, &n);
  text = realloc(text, n + 1);
  text[n] = 0;
  return text;
}

static void test_proxy(void **state) {
  if (getenv("SEC_KEEP")) print_message("dir %s\n", T.dir);
  (void)state;
  if (system("command -v nginx >/dev/null 2>&1") != 0)
    TU_SKIP("nginx not installed (Debian nginx; scripts/setup installs it)");
  char cert[160], key[160], cmd[512];
  snprintf(cert, sizeof cert, "%s/cert.pem", T.dir);
  snprintf(key, sizeof key, "%s/key.pem", T.dir);
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
           "-subj /CN=127.0.0.1 -keyout %s -out %s >/dev/null 2>&1", key, cert);
  assert_int_equal(system(cmd), 0);
  const char *args[] = {"--trusted-proxy", "127.0.0.1", NULL};
  sec_start(&T, &S, args);
  nginx_port = free_port();
  write_config(cert, key);
  start_nginx();

  /* A normal request: facegate's answer and headers, the client's address in its log. */
  sec_resp r;
  char v[256];
  sec_req q = {.method = "GET", .path = "/v1/whoami", .token = sec_token(&S, "auditor"), .from = "127.10.0.7"};
  via(&q, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(sec_header(&r, "Content-Security-Policy", v, sizeof v));
  assert_string_equal(sec_header(&r, "Cache-Control", v, sizeof v), "no-store");
  sec_free(&r);

  /* Headers too large, a request line too long, a body over 16 MiB. */
  static char big_header[20000];
  snprintf(big_header, sizeof big_header, "X-Big: ");
  memset(big_header + 7, 'a', sizeof big_header - 8);
  q = (sec_req){.method = "GET", .path = "/v1/whoami", .extra_header = big_header};
  via(&q, &r);
  assert_problem(&r, 400, "FG_EINVAL");
  sec_free(&r);
  static char long_path[20000];
  long_path[0] = '/';
  memset(long_path + 1, 'a', sizeof long_path - 2);
  q = (sec_req){.method = "GET", .path = long_path};
  via(&q, &r);
  assert_problem(&r, 414, "FG_ELIMIT");
  sec_free(&r);
  size_t big = (size_t)17 << 20;
  char *body = calloc(1, big);
  q = (sec_req){.method = "POST", .path = "/v1/manifests", .token = sec_token(&S, "supervisor"),
                .ctype = "application/json", .body = body, .len = big};
  via(&q, &r);
  assert_problem(&r, 413, "FG_ELIMIT");
  sec_free(&r);
  free(body);
  /* An HTTP version libmicrohttpd would answer with its HTML page. */
  char *ans = raw_tls("GET /healthz HTTP/3.0\r\nHost: x\r\n\r\n");
  assert_non_null(strstr(ans, "application/problem+json"));
  assert_null(strstr(ans, "<html"));
  free(ans);

  /* Throttling sees the clients behind the proxy, network by network. */
  char wrong[FG_API_TOKEN_LEN];
  fg_token_generate(wrong);
  int throttled = 0;
  for (int i = 0; i < 12; i++) {
    q = (sec_req){.method = "GET", .path = "/v1/whoami", .token = wrong, .from = "127.10.0.7"};
    via(&q, &r);
    throttled += r.status == 429;
    sec_free(&r);
  }
  assert_true(throttled >= 2);
  q = (sec_req){.method = "GET", .path = "/v1/whoami", .token = wrong, .from = "127.11.0.7"};
  via(&q, &r);
  assert_problem(&r, 401, "FG_EAUTH"); /* another network: not throttled */
  sec_free(&r);

  /* facegate down: a problem, not nginx's HTML. */
  sec_stop(&S);
  char *log = sec_log(&S);
  assert_non_null(strstr(log, " 127.10.0.7 auditor-1"));
  assert_null(strstr(log, "127.0.0.1 auditor-1"));
  free(log);
  q = (sec_req){.method = "GET", .path = "/healthz"};
  via(&q, &r);
  assert_problem(&r, 503, "FG_EUNAVAILABLE");
  assert_non_null(sec_header(&r, "Retry-After", v, sizeof v));
  sec_free(&r);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_proxy, setup, teardown),
  };
  int rc = cmocka_run_group_tests_name("security: reverse proxy", tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
