/*
 * The security suite, TLS: `facegate serve` with a certificate speaks TLS 1.2
 * and 1.3 with forward-secret AEAD suites only (FG_TLS_PRIORITIES), and says
 * so to browsers with HSTS.
 *
 * Each probe is a real client, `gnutls-cli` or `openssl s_client`, asked to
 * offer only what it probes: TLS 1.0, TLS 1.1, RSA key transport (no forward
 * secrecy), CBC with SHA-1. The probes are first run against a control server
 * started with a permissive priority string: a probe that fails there (the
 * client on this machine cannot speak it at all) is skipped with a reason
 * rather than counted as a refusal, so every refusal counted is the server's.
 * Then, against the default server, each weak probe must fail and the strong
 * ones (TLS 1.2 ECDHE-AES-GCM, TLS 1.3) succeed, and an HTTPS answer must
 * carry Strict-Transport-Security (a plain-HTTP one never does:
 * test_sec_http.c).
 */
#include "sec.h"

static ts_store T;
static sec_server S;
static char cert[160], key[160];

static int setup(void **state) {
  (void)state;
  ts_make(&T, "sectls");
  sec_tokens(&T, &S);
  snprintf(cert, sizeof cert, "%s/cert.pem", T.dir);
  snprintf(key, sizeof key, "%s/key.pem", T.dir);
  char cmd[512];
  /* RSA, so that RSA key transport would be possible if the server allowed it. */
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout %s "
           "-out %s >/dev/null 2>&1", key, cert);
  return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  sec_stop(&S);
  ts_clean(&T);
  return 0;
}

typedef struct probe {
  const char *what;
  const char *tool; /* "gnutls" or "openssl" */
  const char *arg;  /* a GnuTLS priority string, or s_client options */
  int weak;
} probe;

static const probe PROBES[] = {
    {"TLS 1.0", "gnutls", "NORMAL:-VERS-ALL:+VERS-TLS1.0", 1},
    {"TLS 1.1", "gnutls", "NORMAL:-VERS-ALL:+VERS-TLS1.1", 1},
    {"RSA key transport", "gnutls", "NORMAL:-KX-ALL:+RSA:-VERS-ALL:+VERS-TLS1.2", 1},
    {"AES-CBC with SHA-1", "gnutls", "NORMAL:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA1:-VERS-ALL:+VERS-TLS1.2", 1},
    {"TLS 1.0 (openssl)", "openssl", "-tls1 -cipher DEFAULT:@SECLEVEL=0", 1},
    {"TLS 1.1 (openssl)", "openssl", "-tls1_1 -cipher DEFAULT:@SECLEVEL=0", 1},
    {"AES128-SHA (openssl)", "openssl", "-tls1_2 -cipher AES128-SHA:@SECLEVEL=0", 1},
    {"TLS 1.2 ECDHE AES-GCM", "gnutls", "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM", 0},
    {"TLS 1.3", "gnutls", "NORMAL:-VERS-ALL:+VERS-TLS1.3", 0},
    {"TLS 1.2 (openssl)", "openssl", "-tls1_2", 0},
    {"TLS 1.3 (openssl)", "openssl", "-tls1_3", 0},
};
#define NPROBES (sizeof PROBES / sizeof PROBES[0])

/* 1 if the handshake completed. */
static int handshake(const probe *p, unsigned port) {
  char cmd[1024], out[200];
  snprintf(out, sizeof out, "%s/probe.out", T.dir);
  if (!strcmp(p->tool, "gnutls"))
    snprintf(cmd, sizeof cmd, "timeout 20 gnutls-cli --insecure --priority '%s' -p %u 127.0.0.1 "
             "</dev/null >%s 2>&1", p->arg, port, out);
  else
    snprintf(cmd, sizeof cmd, "timeout 20 openssl s_client -connect 127.0.0.1:%u %s </dev/null "
             ">%s 2>&1", port, p->arg, out);
  int rc = system(cmd);
  size_t n;
  char *text = (char *)tu_read(out, &n);
  text = realloc(text, n + 1);
  text[n] = 0;
  int ok;
  if (!strcmp(p->tool, "gnutls")) ok = rc == 0 && strstr(text, "Handshake was completed") != NULL;
  else ok = strstr(text, "Cipher is ") && !strstr(text, "Cipher is (NONE)");
  free(text);
  return ok;
}

static void test_tls_versions_and_suites(void **state) {
  (void)state;
  if (system("command -v gnutls-cli >/dev/null && command -v openssl >/dev/null") != 0)
    TU_SKIP("gnutls-cli or openssl not installed (Debian gnutls-bin, openssl; scripts/setup)");
  const char *control[] = {"--tls-cert", cert, "--tls-key", key, "--tls-priorities",
                           "NORMAL:+VERS-TLS1.0:+VERS-TLS1.1:+RSA:+AES-128-CBC:+AES-256-CBC:+SHA1:+SIGN-ALL",
                           NULL};
  S.tls = 1;
  sec_start(&T, &S, control);
  int speaks[NPROBES];
  for (size_t i = 0; i < NPROBES; i++) speaks[i] = handshake(&PROBES[i], S.port);
  sec_stop(&S);
  const char *strict[] = {"--tls-cert", cert, "--tls-key", key, NULL};
  sec_start(&T, &S, strict);
  int counted = 0;
  for (size_t i = 0; i < NPROBES; i++) {
    const probe *p = &PROBES[i];
    if (!speaks[i]) {
      print_message("%-24s skipped: the client here cannot make it even with a permissive server\n",
                    p->what);
      assert_true(p->weak); /* the strong ones must work with any server */
      continue;
    }
    int ok = handshake(p, S.port);
    print_message("%-24s %s\n", p->what, ok ? "accepted" : "refused");
    assert_int_equal(ok, !p->weak);
    counted += p->weak;
  }
  assert_true(counted >= 4); /* at least the four GnuTLS probes were real refusals */
  /* HSTS on HTTPS answers. */
  sec_resp r;
  char v[128];
  sec_get(&S, "/v1/whoami", sec_token(&S, "auditor"), &r);
  assert_int_equal(r.status, 200);
  assert_non_null(sec_header(&r, "Strict-Transport-Security", v, sizeof v));
  assert_non_null(strstr(v, "max-age="));
  sec_free(&r);
  sec_get(&S, "/healthz", NULL, &r);
  assert_non_null(sec_header(&r, "Strict-Transport-Security", v, sizeof v));
  sec_free(&r);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tls_versions_and_suites, setup, teardown),
  };
  int rc = cmocka_run_group_tests_name("security: tls", tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
