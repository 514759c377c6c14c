/*
 * Helpers of the security suite (tests/security/): a real `facegate serve`
 * started as a child process on a free loopback port over the test's store
 * (tests/teststore.h: SQLite, or a new PostgreSQL database), one token per
 * role, and clients that speak to it as an attacker would: libcurl bound to
 * any 127.x.y.z source address, raw sockets for half-sent requests, the
 * server's memory read from /proc, its log file read back.
 *
 * The server is the program a user runs ($FACEGATE_BIN, else $BUILD/facegate,
 * else build/facegate), with its log (stderr) in the test's directory. It is
 * stopped with SIGTERM and waited for in the cmocka teardown (sec_stop), and
 * killed if it does not stop within 10 s, so that no test leaves one behind.
 */
#ifndef FG_SEC_H
#define FG_SEC_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "cli/border_json.h"
#include "facegate/secure.h"
#include "facegate/server.h"
#include "teststore.h"

static const char *const SEC_ROLES[FG_ROLE_COUNT] = {"gate", "officer", "supervisor", "auditor",
                                                     "admin"};

typedef struct sec_server {
  pid_t pid;
  unsigned port;
  char log[128];
  char tokens[FG_ROLE_COUNT][FG_API_TOKEN_LEN];
  int tls;
} sec_server;

static inline const char *sec_bin(void) {
  static char path[512];
  const char *b = getenv("FACEGATE_BIN");
  if (b && *b) return b;
  const char *build = getenv("BUILD");
  snprintf(path, sizeof path, "%s/facegate", build && *build ? build : "build");
  return path;
}

static inline const char *sec_token(const sec_server *s, const char *role) {
  for (int i = 0; i < FG_ROLE_COUNT; i++)
    if (!strcmp(SEC_ROLES[i], role)) return s->tokens[i];
  fail();
  return NULL;
}

/* One token per role, created through the library (named "<role>-1"). */
static inline void sec_tokens(const ts_store *t, sec_server *s) {
  fg_border_options bo;
  fg_border_options_init(&bo);
  bo.data_dir = t->dir;
  bo.store = ts_store_opt(t);
  bo.face.models_dir = tu_models_dir();
  fg_border *b;
  fg_error e;
  if (fg_border_open(&bo, &b, &e) != FG_OK) {
    print_error("open: %s\n", e.msg);
    fail();
  }
  fg_actor admin = {"test", "local", NULL};
  for (int i = 0; i < FG_ROLE_COUNT; i++) {
    char name[32];
    snprintf(name, sizeof name, "%s-1", SEC_ROLES[i]);
    assert_int_equal(fg_api_token_create(b, &admin, name, SEC_ROLES[i], s->tokens[i], NULL, &e), FG_OK);
  }
  fg_border_close(b);
}

/* Start `facegate serve` on t's store with the extra arguments (NULL-ended)
 * and wait until it listens. */
static inline void sec_start(const ts_store *t, sec_server *s, const char *const *extra) {
  s->pid = 0;
  s->port = 0;
  snprintf(s->log, sizeof s->log, "%s/serve.log", t->dir);
  const char *argv[48];
  int k = 0;
  argv[k++] = sec_bin();
  argv[k++] = "serve";
  argv[k++] = "--listen";
  argv[k++] = "127.0.0.1:0";
  argv[k++] = "--data";
  argv[k++] = t->dir;
  if (ts_store_opt(t)) {
    argv[k++] = "--store";
    argv[k++] = ts_store_opt(t);
  }
  argv[k++] = "--purge-interval";
  argv[k++] = "0";
  argv[k++] = "--models-dir";
  argv[k++] = tu_models_dir();
  for (int i = 0; extra && extra[i] && k < 46; i++) argv[k++] = extra[i];
  argv[k] = NULL;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, 2);
      dup2(fd, 1);
      close(fd);
    }
    unsetenv("FACEGATE_STORE");
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  s->pid = pid;
  for (int i = 0; i < 600 && !s->port; i++) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    size_t n = 0;
    FILE *f = fopen(s->log, "rb");
    if (!f) continue;
    char buf[8192];
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strstr(buf, "://127.0.0.1:");
    if (p) s->port = (unsigned)atoi(p + 13);
    int status;
    if (!s->port && waitpid(pid, &status, WNOHANG) == pid) {
      s->pid = 0;
      print_error("facegate serve exited: %s\n", buf);
      fail();
    }
  }
  if (!s->port) {
    print_error("facegate serve did not start within 30 s (log %s)\n", s->log);
    fail();
  }
}

/* SIGTERM, wait (10 s at most, then SIGKILL). */
static inline void sec_stop(sec_server *s) {
  if (!s->pid) return;
  kill(s->pid, SIGTERM);
  for (int i = 0; i < 200; i++) {
    int status;
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
      s->pid = 0;
      return;
    }
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  kill(s->pid, SIGKILL);
  waitpid(s->pid, NULL, 0);
  s->pid = 0;
}

/* The fixture most security tests share: a fresh store T (named NAME, under
 * the test directory) with one token per role in S, its server started by
 * each test (sec_start) and stopped, and everything removed, in teardown —
 * also when the test failed. */
#define SEC_FIXTURE(NAME)                 \
  static ts_store T;                      \
  static sec_server S;                    \
  static int setup(void **state) {        \
    (void)state;                          \
    ts_make(&T, NAME);                    \
    sec_tokens(&T, &S);                   \
    return 0;                             \
  }                                       \
  static int teardown(void **state) {     \
    (void)state;                          \
    sec_stop(&S);                         \
    ts_clean(&T);                         \
    return 0;                             \
  }

/* The server's log so far (malloc'd, NUL-terminated). */
static inline char *sec_log(const sec_server *s) {
  size_t n = 0;
  uint8_t *p = tu_read(s->log, &n);
  char *t = realloc(p, n + 1);
  assert_non_null(t);
  t[n] = 0;
  return t;
}

/* ---- memory ---------------------------------------------------------------------- */

/* kB of "VmRSS:" or "VmHWM:" in /proc/PID/status. */
static inline long sec_mem_kb(pid_t pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long v = -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, field, strlen(field))) v = atol(line + strlen(field));
  fclose(f);
  return v;
}

/* Reset the peak (VmHWM) to the current RSS: /proc/PID/clear_refs "5". */
static inline int sec_reset_peak(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)pid);
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -1;
  int ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok ? 0 : -1;
}

/* ---- HTTP ------------------------------------------------------------------------- */

typedef struct sec_resp {
  long status;
  char *body;
  size_t len;
  char headers[4096];
  CURLcode cc;
  double seconds;
} sec_resp;

typedef struct sec_req {
  const char *method, *path, *token, *ctype, *from; /* from: a source address (127.x.y.z) */
  const void *body;
  size_t len;
  const char *extra_header;
  long timeout_ms;
} sec_req;

static inline size_t sec_on_body(char *p, size_t sz, size_t n, void *ctx) {
  sec_resp *r = ctx;
  size_t k = sz * n;
  char *nb = realloc(r->body, r->len + k + 1);
  if (!nb) return 0;
  r->body = nb;
  memcpy(r->body + r->len, p, k);
  r->len += k;
  r->body[r->len] = '\0';
  return k;
}

static inline size_t sec_on_header(char *p, size_t sz, size_t n, void *ctx) {
  sec_resp *r = ctx;
  size_t k = sz * n, used = strlen(r->headers);
  if (used + k + 1 < sizeof r->headers) {
    memcpy(r->headers + used, p, k);
    r->headers[used + k] = 0;
  }
  return k;
}

static inline void sec_http(const sec_server *s, const sec_req *q, sec_resp *r) {
  memset(r, 0, sizeof *r);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  char auth[128], ct[160];
  size_t ul = strlen(q->path) + 64;
  char *url = malloc(ul);
  assert_non_null(url);
  snprintf(url, ul, "%s://127.0.0.1:%u%s", s->tls ? "https" : "http", s->port, q->path);
  struct curl_slist *h = NULL;
  if (q->token) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", q->token);
    h = curl_slist_append(h, auth);
  }
  if (q->ctype) {
    snprintf(ct, sizeof ct, "Content-Type: %s", q->ctype);
    h = curl_slist_append(h, ct);
  }
  if (q->extra_header) h = curl_slist_append(h, q->extra_header);
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url);
  if (getenv("SEC_VERBOSE")) curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  if (q->method && !strcmp(q->method, "HEAD")) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  else curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method ? q->method : "GET");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sec_on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sec_on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, q->timeout_ms ? q->timeout_ms : 60000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (q->from) curl_easy_setopt(c, CURLOPT_INTERFACE, q->from);
  if (s->tls) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (q->body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  double t0 = fg__test_ms();
  r->cc = curl_easy_perform(c);
  r->seconds = (fg__test_ms() - t0) / 1e3;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  free(url);
}

static inline void sec_free(sec_resp *r) {
  free(r->body);
  r->body = NULL;
}

static inline void sec_get(const sec_server *s, const char *path, const char *token, sec_resp *r) {
  sec_req q = {.method = "GET", .path = path, .token = token};
  sec_http(s, &q, r);
}

static inline void sec_post_json(const sec_server *s, const char *path, const char *token,
                                 const char *json, size_t len, sec_resp *r) {
  sec_req q = {.method = "POST", .path = path, .token = token, .ctype = "application/json",
               .body = json, .len = len};
  sec_http(s, &q, r);
}

/* The value of header name (case-insensitive) in r, or NULL; copied to out. */
static inline const char *sec_header(const sec_resp *r, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  for (const char *p = r->headers; *p;) {
    const char *e = strstr(p, "\r\n");
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
      const char *v = p + nl + 1;
      while (*v == ' ') v++;
      size_t vl = (size_t)(p + n - v);
      if (vl >= cap) vl = cap - 1;
      memcpy(out, v, vl);
      out[vl] = 0;
      return out;
    }
    p += n + (e ? 2 : 0);
  }
  return NULL;
}

static inline json_t *sec_json(const sec_resp *r) {
  json_t *j = json_loadb(r->body ? r->body : "", r->len, 0, NULL);
  if (!j) print_error("not JSON (status %ld): %.300s\n", r->status, r->body ? r->body : "");
  assert_non_null(j);
  return j;
}

/* ---- raw sockets ------------------------------------------------------------------ */

/* A TCP connection from source address `from` (NULL: any) to the server; -1 if refused. */
static inline int sec_connect(const sec_server *s, const char *from) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (from) {
    struct sockaddr_in b = {.sin_family = AF_INET};
    inet_pton(AF_INET, from, &b.sin_addr);
    if (bind(fd, (struct sockaddr *)&b, sizeof b) != 0) {
      close(fd);
      return -1;
    }
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Whether the server has closed fd (EOF or reset) within ms. */
static inline int sec_closed_within(int fd, int ms) {
  struct pollfd p = {fd, POLLIN, 0};
  double until = fg__test_ms() + ms;
  while (fg__test_ms() < until) {
    int left = (int)(until - fg__test_ms());
    if (poll(&p, 1, left > 0 ? left : 0) > 0) {
      char b[256];
      ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
      if (n <= 0) return 1;
    }
  }
  return 0;
}

/* Allow this process as many descriptors as the hard limit. */
static inline void sec_more_fds(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* ---- a staged flight --------------------------------------------------------------- */

/* Five passengers: LFW people with two photos or more (the first enrols, the
 * second is the gate capture), or without LFW the npm sample photos (one
 * each, capture = enrolment). Their names and document numbers are made-up
 * strings that appear nowhere else, so that a scan of the disk or the log
 * for them means something. */
#define SEC_NPAX 5
static const char *const SEC_PEOPLE[SEC_NPAX] = {"George_W_Bush", "Colin_Powell", "Tony_Blair",
                                                 "Donald_Rumsfeld", "Gerhard_Schroeder"};
static const char *const SEC_SURNAME[SEC_NPAX] = {"Qwertzuiopa", "Asdfghjklo", "Yxcvbnmqre",
                                                  "Plokijuhzt", "Mnbvcxyqwe"};
static const char *const SEC_GIVEN[SEC_NPAX] = {"Wulfhilde", "Ortwinius", "Sigismundo",
                                                "Brunhildea", "Kunibertus"};
static const char *const SEC_DOC[SEC_NPAX] = {"QX7302918", "QX8410293", "QX9527364", "QX6638475",
                                              "QX5749586"};
static const char *const SEC_CATEGORY[SEC_NPAX] = {"foreign", "citizen", "foreign", "citizen",
                                                   "foreign"};
static const char *const SEC_BIRTH[SEC_NPAX] = {"1961-03-17", "1972-11-04", "1958-07-29",
                                                "1980-01-13", "1969-09-21"};

typedef struct sec_flight {
  int64_t manifest_id;
  int use_lfw;
} sec_flight;

/* Photo k (1: enrolment, 2: a gate capture, 3: another) of passenger i. */
static inline uint8_t *sec_photo(const sec_flight *f, int i, int k, size_t *len) {
  char path[1024];
  if (f->use_lfw) {
    snprintf(path, sizeof path, "%s/lfw-deepfunneled/%s/%s_%04d.jpg", tu_lfw_dir(), SEC_PEOPLE[i],
             SEC_PEOPLE[i], k);
  } else { /* the sample photos that pass the gate's quality check first */
    static const int SAMPLE[SEC_NPAX] = {3, 5, 6, 1, 2};
    snprintf(path, sizeof path, "%s/sample%d.jpg", tu_samples_dir(), SAMPLE[i]);
  }
  return tu_read(path, len);
}

static inline char *sec_b64(const uint8_t *p, size_t n) {
  size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
  char *b = malloc(cap);
  assert_non_null(b);
  sodium_bin2base64(b, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
  return b;
}

/* Stage the flight through the API (as a supervisor). 0, or -1 when there
 * are no photos to stage it from (the caller skips, saying why). */
static inline int sec_stage_flight(const sec_server *s, sec_flight *f, const char *flight) {
  char probe[1024];
  snprintf(probe, sizeof probe, "%s/lfw-deepfunneled/%s/%s_0003.jpg", tu_lfw_dir(), SEC_PEOPLE[0],
           SEC_PEOPLE[0]);
  f->use_lfw = tu_exists(probe);
  snprintf(probe, sizeof probe, "%s/sample1.jpg", tu_samples_dir());
  if (!f->use_lfw && !tu_exists(probe)) return -1;
  snprintf(probe, sizeof probe, "%s/fr_feature.onnx", tu_models_dir());
  if (!tu_exists(probe)) return -1;
  json_t *pax = json_array();
  for (int i = 0; i < SEC_NPAX; i++) {
    size_t n;
    uint8_t *jpg = sec_photo(f, i, 1, &n);
    char *b64 = sec_b64(jpg, n);
    json_array_append_new(
        pax, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:[{s:s}]}", "surname",
                       SEC_SURNAME[i], "given_names", SEC_GIVEN[i], "category", SEC_CATEGORY[i],
                       "nationality", "UTO", "sex", "X", "date_of_birth", SEC_BIRTH[i], "document",
                       "type", "P", "number", SEC_DOC[i], "issuing_state", "UTO", "expiry",
                       "2031-05-06", "photos", "base64", b64));
    free(b64);
    free(jpg);
  }
  json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "carrier", "FG", "flight", flight, "port",
                        "XXX", "scheduled", "2026-11-27T10:00:00Z", "direction", "entry",
                        "passengers", pax);
  char *text = json_dumps(m, JSON_COMPACT);
  json_decref(m);
  sec_resp r;
  sec_post_json(s, "/v1/manifests", sec_token(s, "supervisor"), text, strlen(text), &r);
  free(text);
  if (r.status != 201) print_error("manifest import: %ld %.500s\n", r.status, r.body ? r.body : "");
  assert_int_equal(r.status, 201);
  json_t *rep = sec_json(&r);
  f->manifest_id = json_integer_value(json_object_get(rep, "manifest_id"));
  json_decref(rep);
  sec_free(&r);
  return f->manifest_id > 0 ? 0 : -1;
}

/* POST /v1/encounters as the gate (JSON): a capture (img, n) or an opt-out
 * with a document; key: an Idempotency-Key or NULL. */
static inline void sec_encounter(const sec_server *s, int64_t manifest, const char *gate,
                                 const uint8_t *img, size_t n, int opt_out, const char *document,
                                 const char *key, sec_resp *r) {
  char *b64 = img ? sec_b64(img, n) : NULL;
  json_t *body = json_pack("{s:I,s:s,s:b}", "manifest_id", (json_int_t)manifest, "gate", gate,
                           "opt_out", opt_out);
  if (b64) json_object_set_new(body, "image_base64", json_string(b64));
  if (document) json_object_set_new(body, "document", json_string(document));
  char *text = json_dumps(body, JSON_COMPACT);
  char hdr[200];
  if (key) snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
  sec_req q = {.method = "POST", .path = "/v1/encounters", .token = sec_token(s, "gate"),
               .ctype = "application/json", .body = text, .len = strlen(text),
               .extra_header = key ? hdr : NULL};
  sec_http(s, &q, r);
  free(text);
  free(b64);
  json_decref(body);
}

#endif
