/*
 * The security suite, HTTP side: a real `facegate serve` (a child process on
 * a loopback port, over the test's store: SQLite, or PostgreSQL in the second
 * run of `make test`) attacked as issue 12 found it could be:
 *
 *   1. bodies that cost memory: a 10.6 MB JSON array posted as an encounter,
 *      four at once, a 16.5 MB manifest of tiny values, a nesting bomb; and
 *      more image-sized bodies at once than the server's budget;
 *   2. slowloris: 1,000 unfinished connections from several 127.x addresses
 *      while a gate from another address must still be answered within 1 s;
 *      the header deadline; the global limit's headroom;
 *   3. failed authentications: a valid token from an address that failed
 *      before is never refused; a network that keeps failing gets 429;
 *      rotating addresses meet the global limit; every denial is in the audit
 *      chain, coalesced into a bounded number of events; 403s are limited too;
 *   5. headers: the console's CSP and frame, referrer and sniffing policies;
 *      no-store on API answers;
 *   6. the log: a %0a in a path forges no line; no document number is logged;
 *  11. HEAD, ids past int64, a revoked token's 401, a missing calibration.
 *
 * Bounded: each test starts its own server and stops it in its teardown;
 * the whole file takes about 20 s.
 */
#include <pthread.h>

#include "sec.h"


SEC_FIXTURE("sechttp")

/* ---- 1. memory under large JSON bodies ------------------------------------------- */

/* "[0,0,0,...]" of n bytes. */
static char *json_array_of(size_t n) {
  char *p = malloc(n + 1);
  assert_non_null(p);
  p[0] = '[';
  for (size_t i = 1; i + 1 < n; i += 2) p[i] = '0', p[i + 1] = ',';
  p[n - 2] = '0';
  p[n - 1] = ']';
  p[n] = 0;
  return p;
}

/* A manifest whose passengers array holds n bytes of tiny objects. */
static char *manifest_of(size_t n) {
  const char *head = "{\"carrier\":\"FG\",\"flight\":\"FG1\",\"port\":\"XXX\",\"scheduled\":"
                     "\"2026-11-27T10:00:00Z\",\"direction\":\"entry\",\"passengers\":[";
  const char *item = "{\"surname\":\"A\"},";
  size_t hl = strlen(head), il = strlen(item);
  char *p = malloc(n + 8);
  assert_non_null(p);
  memcpy(p, head, hl);
  size_t at = hl;
  while (at + il + 3 < n) memcpy(p + at, item, il), at += il;
  memcpy(p + at - 1, "]}", 3);
  return p;
}

typedef struct post_job {
  const char *path, *token, *body;
  size_t len;
  sec_resp r;
} post_job;

static void *post_thread(void *arg) {
  post_job *j = arg;
  sec_post_json(&S, j->path, j->token, j->body, j->len, &j->r);
  return NULL;
}

static void assert_refused(const sec_resp *r) {
  if (r->status < 400 || r->status >= 500)
    print_error("expected a 4xx, got %ld (%s): %.200s\n", r->status, curl_easy_strerror(r->cc),
                r->body ? r->body : "");
  assert_true(r->status >= 400 && r->status < 500);
}

static void test_json_bodies_bounded(void **state) {
  (void)state;
  sec_start(&T, &S, NULL);
  sec_resp r;
  /* Warm the server up (threads, pools, the database) before the baseline. */
  for (int i = 0; i < 4; i++) {
    sec_post_json(&S, "/v1/encounters", sec_token(&S, "gate"), "{\"manifest_id\":1}", 17, &r);
    sec_free(&r);
  }
  long base = sec_mem_kb(S.pid, "VmRSS:");
  assert_true(base > 0);
  int peak_ok = sec_reset_peak(S.pid) == 0;

  char *arr = json_array_of((size_t)10600000);
  sec_post_json(&S, "/v1/encounters", sec_token(&S, "gate"), arr, strlen(arr), &r);
  assert_refused(&r);
  assert_non_null(strstr(r.body, "more than"));
  sec_free(&r);

  post_job jobs[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    jobs[i] = (post_job){"/v1/encounters", sec_token(&S, "gate"), arr, strlen(arr), {0}};
    assert_int_equal(pthread_create(&th[i], NULL, post_thread, &jobs[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_refused(&jobs[i].r);
    sec_free(&jobs[i].r);
  }
  free(arr);

  char *man = manifest_of((size_t)16500000);
  sec_post_json(&S, "/v1/manifests", sec_token(&S, "supervisor"), man, strlen(man), &r);
  assert_refused(&r);
  sec_free(&r);
  free(man);

  char bomb[4096];
  memset(bomb, '[', 2000);
  memset(bomb + 2000, ']', 2000);
  bomb[4000] = 0;
  sec_post_json(&S, "/v1/manifests", sec_token(&S, "supervisor"), bomb, 4000, &r);
  assert_refused(&r);
  sec_free(&r);

  long peak = sec_mem_kb(S.pid, "VmHWM:"), after = sec_mem_kb(S.pid, "VmRSS:");
  print_message("server RSS: %ld kB before, peak %ld kB%s, %ld kB after\n", base, peak,
                peak_ok ? "" : " (since start: clear_refs refused)", after);
#if defined(__SANITIZE_ADDRESS__)
  print_message("sanitizer build: memory figures not asserted\n");
#else
  if (peak_ok) assert_true(peak - base <= 32 * 1024);
  assert_true(after - base <= 32 * 1024);
#endif
  /* Still serving. */
  sec_get(&S, "/healthz", NULL, &r);
  assert_int_equal(r.status, 200);
  sec_free(&r);
}

/* More image-sized bodies at once than the server's budget: the ones past it
 * are drained and answered 503 with Retry-After, and the server goes on. */
static void test_body_budget(void **state) {
  (void)state;
  const char *args[] = {"--max-body-in-flight", "16", NULL};
  sec_start(&T, &S, args);
  size_t n = (size_t)9 << 20;
  char *body = malloc(n + 64);
  assert_non_null(body);
  int k = snprintf(body, 64, "{\"manifest_id\":1,\"gate\":\"A1\",\"image_base64\":\"");
  memset(body + k, 'A', n - (size_t)k - 2);
  memcpy(body + n - 2, "\"}", 3);
  post_job jobs[3];
  pthread_t th[3];
  for (int i = 0; i < 3; i++) {
    jobs[i] = (post_job){"/v1/encounters", sec_token(&S, "gate"), body, n, {0}};
    assert_int_equal(pthread_create(&th[i], NULL, post_thread, &jobs[i]), 0);
  }
  int unavailable = 0;
  for (int i = 0; i < 3; i++) {
    pthread_join(th[i], NULL);
    char ra[16];
    if (jobs[i].r.status == 503) {
      unavailable++;
      assert_non_null(sec_header(&jobs[i].r, "Retry-After", ra, sizeof ra));
    } else {
      assert_true(jobs[i].r.status >= 400 && jobs[i].r.status < 500); /* not an image */
    }
    sec_free(&jobs[i].r);
  }
  free(body);
  print_message("%d of 3 bodies of 9 MB over a 16 MB budget answered 503\n", unavailable);
  assert_true(unavailable >= 1);
  sec_resp r;
  sec_get(&S, "/healthz", NULL, &r);
  assert_int_equal(r.status, 200);
  sec_free(&r);
}

/* ---- 2. connection exhaustion ------------------------------------------------------ */

static void gate_answers_within_1s(const char *from) {
  sec_resp r;
  int ok = 0;
  for (int attempt = 0; attempt < 3 && !ok; attempt++) {
    sec_req q = {.method = "GET", .path = "/v1/whoami", .token = sec_token(&S, "gate"),
                 .from = from, .timeout_ms = 1000};
    sec_http(&S, &q, &r);
    print_message("gate from %s: %ld in %.3f s (%s)\n", from, r.status, r.seconds,
                  curl_easy_strerror(r.cc));
    ok = r.status == 200 && r.seconds <= 1.0;
    sec_free(&r);
  }
  assert_true(ok);
}

static void test_slowloris(void **state) {
  (void)state;
  sec_more_fds();
  const char *args[] = {"--header-timeout", "4", NULL};
  sec_start(&T, &S, args);
  enum { N = 1000, ADDRS = 8 };
  int *fd = malloc(N * sizeof *fd);
  assert_non_null(fd);
  int opened = 0;
  for (int i = 0; i < N; i++) {
    char from[32];
    snprintf(from, sizeof from, "127.2.%d.%d", i % ADDRS + 1, 1 + (i % ADDRS) / 4);
    fd[i] = sec_connect(&S, from);
    if (fd[i] >= 0) {
      opened++;
      const char *part = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
      if (send(fd[i], part, strlen(part), MSG_NOSIGNAL) < 0) {
        close(fd[i]);
        fd[i] = -1;
      }
    }
  }
  /* The server closes what it does not admit: count what stays open. */
  struct timespec ts = {0, 500 * 1000 * 1000};
  nanosleep(&ts, NULL);
  int held = 0;
  for (int i = 0; i < N; i++) {
    if (fd[i] < 0) continue;
    if (sec_closed_within(fd[i], 1)) {
      close(fd[i]);
      fd[i] = -1;
    } else {
      held++;
    }
  }
  print_message("%d connections made, %d held open by the server (%d addresses)\n", opened, held,
                ADDRS);
  assert_true(held <= ADDRS * 16);
  gate_answers_within_1s("127.3.0.1");
  /* Trickle a header line every half second: the deadline (4 s) closes them anyway. */
  int still = held;
  for (int round = 0; round < 14 && still > 0; round++) {
    nanosleep(&ts, NULL);
    still = 0;
    for (int i = 0; i < N; i++) {
      if (fd[i] < 0) continue;
      if (send(fd[i], "X-A: b\r\n", 8, MSG_NOSIGNAL) < 0 || sec_closed_within(fd[i], 1)) {
        close(fd[i]);
        fd[i] = -1;
      } else {
        still++;
      }
    }
  }
  print_message("%d still open after 7 s of trickled headers\n", still);
  assert_int_equal(still, 0);
  for (int i = 0; i < N; i++)
    if (fd[i] >= 0) close(fd[i]);
  free(fd);
  gate_answers_within_1s("127.3.0.2");
}

/* The global limit keeps headroom: with the server full of unfinished
 * connections from many addresses, a newcomer still gets in. */
static void test_headroom(void **state) {
  (void)state;
  sec_more_fds();
  const char *args[] = {"--max-conns", "64", "--max-conns-per-net", "64", NULL};
  sec_start(&T, &S, args);
  int fd[200];
  int held = 0;
  for (int i = 0; i < 200; i++) {
    char from[32];
    snprintf(from, sizeof from, "127.4.%d.1", i / 4 + 1);
    fd[i] = sec_connect(&S, from);
    if (fd[i] >= 0) send(fd[i], "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL);
  }
  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);
  for (int i = 0; i < 200; i++)
    if (fd[i] >= 0 && !sec_closed_within(fd[i], 1)) held++;
  print_message("%d of 200 unfinished connections held by a server limited to 64\n", held);
  assert_true(held <= 64);
  gate_answers_within_1s("127.5.0.1");
  for (int i = 0; i < 200; i++)
    if (fd[i] >= 0) close(fd[i]);
}

/* ---- 3. authentication throttling ------------------------------------------------- */

typedef struct denials {
  int64_t events, sum;
} denials;

static int add_denial(void *ctx, const ts_col *c, int nc) {
  (void)nc;
  denials *a = ctx;
  json_t *d = json_loadb((const char *)c[0].p, c[0].n, 0, NULL);
  a->events++;
  a->sum += json_integer_value(json_object_get(d, "count"));
  json_decref(d);
  return 0;
}

/* auth.denied events in the audit chain, and the denials they count. */
static int64_t denial_events(int64_t *sum) {
  denials a = {0, 0};
  ts_rows(T.target, "SELECT detail FROM audit WHERE action = 'auth.denied'", 0, add_denial, &a);
  *sum = a.sum;
  return a.events;
}

static void test_valid_token_never_refused(void **state) {
  (void)state;
  const char *args[] = {"--auth-fail-limit", "5", NULL};
  sec_start(&T, &S, args);
  char wrong[FG_API_TOKEN_LEN];
  fg_token_generate(wrong);
  sec_resp r;
  int refused = 0;
  for (int i = 0; i < 12; i++) {
    sec_req q = {.method = "GET", .path = "/v1/whoami", .token = wrong, .from = "127.6.0.1"};
    sec_http(&S, &q, &r);
    assert_true(r.status == 401 || r.status == 429);
    refused += r.status == 429;
    sec_free(&r);
  }
  assert_true(refused >= 6);
  /* The same address, and another in its network, with a valid gate token. */
  const char *from[2] = {"127.6.0.1", "127.6.0.9"};
  for (int i = 0; i < 2; i++) {
    sec_req q = {.method = "GET", .path = "/v1/whoami", .token = sec_token(&S, "gate"), .from = from[i]};
    sec_http(&S, &q, &r);
    assert_int_equal(r.status, 200);
    sec_free(&r);
  }
  /* A bad token from that network is still throttled, with Retry-After. */
  sec_req q = {.method = "GET", .path = "/v1/whoami", .token = wrong, .from = "127.6.0.77"};
  sec_http(&S, &q, &r);
  assert_int_equal(r.status, 429);
  char ra[16];
  assert_non_null(sec_header(&r, "Retry-After", ra, sizeof ra));
  assert_true(atoi(ra) >= 1);
  sec_free(&r);
}

static void test_rotating_sources(void **state) {
  (void)state;
  const char *args[] = {"--auth-fail-global", "100", "--denial-audit-interval", "1", NULL};
  sec_start(&T, &S, args);
  char wrong[FG_API_TOKEN_LEN];
  fg_token_generate(wrong);
  int answered401 = 0, answered429 = 0;
  enum { TRIES = 300 };
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < TRIES; i++) {
    char from[32];
    snprintf(from, sizeof from, "127.7.%d.%d", i % 150 + 1, i / 150 + 1);
    sec_resp r;
    sec_req q = {.method = "GET", .path = "/v1/whoami", .token = wrong, .from = from};
    sec_http(&S, &q, &r);
    answered401 += r.status == 401;
    answered429 += r.status == 429;
    sec_free(&r);
  }
  print_message("%d tries from 300 addresses in 150 networks: %d x 401, %d x 429\n", TRIES,
                answered401, answered429);
  assert_true(answered401 <= 101);
  assert_int_equal(answered401 + answered429, TRIES);
  /* A valid token is not held up by the flood. */
  sec_resp r;
  sec_req q = {.method = "GET", .path = "/v1/whoami", .token = sec_token(&S, "gate"), .from = "127.7.1.1"};
  sec_http(&S, &q, &r);
  assert_int_equal(r.status, 200);
  sec_free(&r);
  sec_stop(&S); /* writes what is still counted */
  clock_gettime(CLOCK_MONOTONIC, &t1);
  /* The bound is per audit interval (1 s here): at most 64 sources and the
   * folded "*" each. A slow machine spreads the flood over more intervals, so
   * the bound counts the intervals the flood and the shutdown spanned. */
  long intervals = (long)(t1.tv_sec - t0.tv_sec) + 2;
  int64_t sum = 0, events = denial_events(&sum);
  print_message("%lld auth.denied events hold %lld denials over %ld intervals\n", (long long)events,
                (long long)sum, intervals);
  assert_int_equal(sum, TRIES);
  assert_true(events <= intervals * (64 + 1));
}

static void test_forbidden_limited(void **state) {
  (void)state;
  const char *args[] = {"--perm-fail-limit", "10", NULL};
  sec_start(&T, &S, args);
  int forbidden = 0, throttled = 0;
  for (int i = 0; i < 25; i++) {
    sec_resp r;
    sec_get(&S, "/v1/referrals", sec_token(&S, "gate"), &r);
    forbidden += r.status == 403;
    throttled += r.status == 429;
    sec_free(&r);
  }
  assert_int_equal(forbidden, 10);
  assert_int_equal(throttled, 15);
  /* The token still works where its role may go. */
  sec_resp r;
  sec_get(&S, "/v1/whoami", sec_token(&S, "gate"), &r);
  assert_int_equal(r.status, 200);
  sec_free(&r);
  sec_stop(&S);
  int64_t sum = 0, events = denial_events(&sum);
  assert_int_equal(sum, 25);
  assert_true(events <= 2);
}

/* ---- 5. headers --------------------------------------------------------------------- */

static void test_security_headers(void **state) {
  (void)state;
  const char *args[] = {"--web", "web", NULL};
  sec_start(&T, &S, args);
  sec_resp r;
  char v[512];
  sec_get(&S, "/", NULL, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(sec_header(&r, "Content-Security-Policy", v, sizeof v));
  assert_non_null(strstr(v, "default-src 'self'"));
  assert_non_null(strstr(v, "frame-ancestors 'none'"));
  assert_string_equal(sec_header(&r, "X-Frame-Options", v, sizeof v), "DENY");
  assert_string_equal(sec_header(&r, "Referrer-Policy", v, sizeof v), "no-referrer");
  assert_string_equal(sec_header(&r, "X-Content-Type-Options", v, sizeof v), "nosniff");
  assert_null(sec_header(&r, "Strict-Transport-Security", v, sizeof v)); /* plain HTTP */
  sec_free(&r);
  /* API answers that carry personal data are never cached. */
  sec_get(&S, "/v1/manifests", sec_token(&S, "officer"), &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(sec_header(&r, "Cache-Control", v, sizeof v), "no-store");
  assert_non_null(sec_header(&r, "Content-Security-Policy", v, sizeof v));
  assert_string_equal(sec_header(&r, "X-Frame-Options", v, sizeof v), "DENY");
  sec_free(&r);
  sec_get(&S, "/v1/travellers/P7777777/crossings", sec_token(&S, "officer"), &r);
  assert_int_equal(r.status, 404);
  assert_string_equal(sec_header(&r, "Cache-Control", v, sizeof v), "no-store");
  sec_free(&r);
}

/* ---- 6. the log ------------------------------------------------------------------------ */

static void test_log_injection(void **state) {
  (void)state;
  sec_start(&T, &S, NULL);
  sec_resp r;
  sec_get(&S, "/v1/x%0a2026-12-01T00:00:00Z%20info%20FORGED%20LINE", NULL, &r);
  assert_int_equal(r.status, 404);
  sec_free(&r);
  sec_get(&S, "/v1/travellers/P7777777/crossings", sec_token(&S, "officer"), &r);
  sec_free(&r);
  sec_get(&S, "/v1/travellers/P7777777%0aFORGED/crossings", sec_token(&S, "officer"), &r);
  sec_free(&r);
  const char *enc = "{\"manifest_id\":1,\"gate\":\"A1\",\"opt_out\":true,\"document\":\"P7777777\"}";
  sec_post_json(&S, "/v1/encounters", sec_token(&S, "gate"), enc, strlen(enc), &r);
  sec_free(&r);
  sec_stop(&S);
  char *log = sec_log(&S);
  /* Every line is the server's own: its banner, or a time it wrote (not the
   * forged one); the forged text and the document number are nowhere. */
  char *save = NULL;
  for (char *line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    int ours = !strncmp(line, "facegate:", 9) ||
               (strlen(line) > 20 && line[4] == '-' && line[10] == 'T' && line[19] == 'Z' &&
                strncmp(line, "2026-12-01T00:00:00Z", 20) != 0);
    if (!ours || strstr(line, "FORGED") || strstr(line, "P7777777"))
      print_error("log line not the server's own, or quoting the request: %s\n", line);
    assert_true(ours);
    assert_null(strstr(line, "FORGED"));
    assert_null(strstr(line, "P7777777"));
  }
  free(log);
  log = sec_log(&S);
  assert_non_null(strstr(log, "GET /v1/travellers/{ref}/crossings 404"));
  assert_non_null(strstr(log, "GET (unmatched) 404"));
  free(log);
}

/* ---- 11. smaller items ------------------------------------------------------------------ */

static void test_small_items(void **state) {
  (void)state;
  sec_start(&T, &S, NULL);
  sec_resp r;
  char v[128];
  sec_req head = {.method = "HEAD", .path = "/v1/whoami", .token = sec_token(&S, "auditor")};
  sec_http(&S, &head, &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.len, 0);
  sec_free(&r);
  head.path = "/v1/purge";
  head.token = sec_token(&S, "admin");
  sec_http(&S, &head, &r); /* GET /v1/purge exists: HEAD too */
  assert_int_equal(r.status, 200);
  sec_free(&r);
  head.path = "/v1/encounters"; /* POST only */
  head.token = sec_token(&S, "gate");
  sec_http(&S, &head, &r);
  assert_int_equal(r.status, 405);
  assert_non_null(sec_header(&r, "Allow", v, sizeof v));
  sec_free(&r);
  /* An id past int64 is a bad id, not INT64_MAX. */
  sec_get(&S, "/v1/referrals/99999999999999999999999", sec_token(&S, "officer"), &r);
  assert_int_equal(r.status, 400);
  sec_free(&r);
  sec_get(&S, "/v1/referrals/9223372036854775808", sec_token(&S, "officer"), &r);
  assert_int_equal(r.status, 400);
  sec_free(&r);
  /* A revoked token's 401 does not name the token. */
  sec_get(&S, "/v1/tokens", sec_token(&S, "admin"), &r);
  json_t *list = sec_json(&r);
  sec_free(&r);
  int64_t gate_id = 0;
  size_t i;
  json_t *t;
  json_array_foreach(list, i, t) if (!strcmp(json_string_value(json_object_get(t, "name")), "gate-1"))
      gate_id = json_integer_value(json_object_get(t, "id"));
  json_decref(list);
  char path[64];
  snprintf(path, sizeof path, "/v1/tokens/%lld", (long long)gate_id);
  sec_req del = {.method = "DELETE", .path = path, .token = sec_token(&S, "admin")};
  sec_http(&S, &del, &r);
  assert_int_equal(r.status, 204);
  sec_free(&r);
  sec_get(&S, "/v1/whoami", sec_token(&S, "gate"), &r);
  assert_int_equal(r.status, 401);
  assert_null(strstr(r.body, "gate-1"));
  assert_non_null(strstr(r.body, "revoked"));
  sec_free(&r);
  sec_stop(&S);
}

/* A server that cannot find its calibration files refuses to start (it
 * used to start and answer every encounter 404). */
static void test_missing_calibration(void **state) {
  (void)state;
  const char *args[] = {"--calibration", "/nonexistent/fr_feature.json", NULL};
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char log[160];
    snprintf(log, sizeof log, "%s/nocal.log", T.dir);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    const char *argv[] = {sec_bin(), "serve", "--listen", "127.0.0.1:0", "--data", T.dir,
                          ts_store_opt(&T) ? "--store" : args[0],
                          ts_store_opt(&T) ? ts_store_opt(&T) : args[1], args[0], args[1], NULL};
    unsetenv("FACEGATE_STORE");
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  int status = 0;
  for (int i = 0; i < 600; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    if (i == 599) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      fail_msg("the server started without its calibration");
    }
  }
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  char log[160];
  snprintf(log, sizeof log, "%s/nocal.log", T.dir);
  size_t n;
  char *text = (char *)tu_read(log, &n);
  text = realloc(text, n + 1);
  text[n] = 0;
  assert_non_null(strstr(text, "/nonexistent/fr_feature.json"));
  free(text);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_json_bodies_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_body_budget, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slowloris, setup, teardown),
      cmocka_unit_test_setup_teardown(test_headroom, setup, teardown),
      cmocka_unit_test_setup_teardown(test_valid_token_never_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rotating_sources, setup, teardown),
      cmocka_unit_test_setup_teardown(test_forbidden_limited, setup, teardown),
      cmocka_unit_test_setup_teardown(test_security_headers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_log_injection, setup, teardown),
      cmocka_unit_test_setup_teardown(test_small_items, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_calibration, setup, teardown),
  };
  int rc = cmocka_run_group_tests_name("security: http", tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
