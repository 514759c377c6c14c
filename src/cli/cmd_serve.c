/*
 * `facegate serve`: the HTTP JSON API and the officer console
 * (facegate/server.h, docs/api.md). Logs one line per request to stderr
 * (never tokens or images), and on SIGTERM or SIGINT stops accepting
 * connections, lets the requests in flight finish (an encounter being
 * matched and written), then exits 0.
 */
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/border_cli.h"
#include "cli/cli.h"
#include "facegate/server.h"

#define CMD "facegate serve"

/* Set by the signal handler, read by the main loop: the one flag main keeps. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void log_stderr(void *ctx, int level, const char *line) {
  (void)ctx;
  char ts[32];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  static const char *const LEVELS[] = {"error", "warn", "info"};
  fprintf(stderr, "%s %s %s\n", ts, level >= 0 && level <= 2 ? LEVELS[level] : "info", line);
}

static void help(FILE *f) {
  fprintf(f,
          "usage: facegate serve [--conf FILE] [--listen ADDR:PORT] [--data DIR] [--config FILE] [options]\n"
          "\n"
          "Serve the HTTP JSON API (docs/api.md, /openapi.json) and the officer console.\n"
          "\n"
          "options:\n"
          "  --conf FILE           settings file: these options one per line, 'name = value'\n"
          "                        ('name' alone for a switch; the command line wins; also\n"
          "                        $FACEGATE_CONF; deploy/systemd/facegate.conf)\n"
          "  --listen ADDR:PORT    address to bind (default 127.0.0.1:8080; port 0: any free port)\n"
          "  --data DIR            the key file, and the SQLite store unless --store names\n"
          "                        another (default $FACEGATE_DATA or var/data)\n"
          "  --store TARGET        the store: a SQLite file or a PostgreSQL URI, e.g.\n"
          "                        postgresql://facegate@db1,db2/facegate?target_session_attrs=read-write\n"
          "                        (default $FACEGATE_STORE or DIR/facegate.db; docs/deployment.md)\n"
          "  --site CODE           this server's port of entry, e.g. LHR: recorded with every\n"
          "                        encounter and crossing (default XXX; --port-code is the same)\n"
          "  --config FILE         policy file (docs/border.md; default: the built-in policy)\n"
          "  --web DIR             console files to serve (default: facegate's home, facegate --version)\n"
          "  --threads N           worker threads, one border handle each (default: the CPUs\n"
          "                        this process may run on, at most 16)\n"
          "  --inference-threads N threads per model inference in each worker (default 1)\n"
          "                        Workers x inference threads never exceed the CPUs by default:\n"
          "                        more would only make threads wait for each other (an inference\n"
          "                        that uses threads falls back to one when they lose, but the\n"
          "                        workers still compete). A setting that exceeds them is allowed,\n"
          "                        with a warning.\n"
          "  --tls-cert FILE       PEM certificate: serve HTTPS (with --tls-key;\n"
          "                        or $FACEGATE_TLS_CERT / $FACEGATE_TLS_KEY)\n"
          "  --tls-key FILE        PEM private key\n"
          "  --insecure-bind       allow plain HTTP on a non-loopback address\n"
          "  --purge-interval S    run the retention purge every S seconds (default 600; 0: never)\n"
          "  --timeout S           idle connection timeout (default 30)\n"
          "  --models-dir DIR      models (default $FACEGATE_MODELS or facegate's home)\n"
          "  --calibration FILE    1:1 calibration (default: the home's calibration/fr_feature.json)\n"
          "  --fpir-calibration FILE  1:N calibration (default: the home's fr_feature_fpir.json);\n"
          "                        the server refuses to start without both\n"
          "\n"
          "limits (docs/api.md, \"Limits\"; defaults in brackets):\n"
          "  --header-timeout S    a request's line and headers must arrive within S s [10]\n"
          "  --max-conns N         connections at once [1024]; the last eighth is headroom\n"
          "  --max-conns-per-addr N  per client address [16]\n"
          "  --max-conns-per-net N   per client network, /24 or /64 [64]\n"
          "  --max-body-in-flight MB request bodies held at once, all together [64]\n"
          "  --auth-fail-limit N   failed authentications per network per window [10]\n"
          "  --auth-fail-global N  failed authentications per window, all networks [100]\n"
          "  --auth-fail-window S  the window [60]\n"
          "  --perm-fail-limit N   403s per token per window [20]\n"
          "  --denial-audit-interval S  one auth.denied event per source per S s [10]\n"
          "  --tls-priorities STR  GnuTLS priority string (default: TLS 1.2+, ECDHE, AEAD)\n"
          "  --anchor-file FILE    publish the audit chain's head to FILE (append-only, on another\n"
          "                        volume: docs/records.md); GET /v1/audit/verify checks it\n"
          "  --anchor-syslog       publish it to the system log (the journal) too\n"
          "  --anchor-interval S   at most every S seconds, when the chain has grown [60]\n"
          "  --trusted-proxy ADDRS a reverse proxy's addresses (comma-separated): not limited per\n"
          "                        address; the client is its X-Real-IP (deploy/nginx/facegate.conf)\n"

          "\n"
          "Tokens: facegate token create --role ROLE --name NAME. Stop with SIGTERM or Ctrl-C:\n"
          "in-flight requests finish first.\n"
          "exit codes: 0 stopped cleanly, 1 failure, 2 usage (a refused --listen included)\n");
}

/* ---- the settings file ------------------------------------------------------------- */

/* The settings file (--conf FILE or $FACEGATE_CONF) as command-line options:
 * "name = value" gives "--name value", "name" alone or "= yes|true|on" gives
 * "--name", "= no|false|off" nothing; '#' starts a comment. The file's
 * options come first, so the command line's win. *nconf: how many of the
 * returned arguments came from the file. NULL (after a message) when the file
 * cannot be read or a line is malformed. The strings live in *hold. */
static char **with_conf(int argc, char **argv, int *out_argc, int *nconf, char **hold,
                        const char **conf_path) {
  const char *path = getenv("FACEGATE_CONF");
  if (path && !*path) path = NULL;
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--conf")) path = argv[i + 1];
  *conf_path = path;
  *nconf = 0;
  *hold = NULL;
  size_t cap = (size_t)argc + 1;
  char *text = NULL;
  size_t len = 0;
  if (path) {
    FILE *f = fopen(path, "r");
    if (!f) {
      fprintf(stderr, CMD ": settings file %s: %s\n", path, strerror(errno));
      return NULL;
    }
    FILE *m = open_memstream(&text, &len);
    char buf[4096];
    size_t n;
    while (m && (n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, m);
    if (m) fclose(m);
    fclose(f);
    if (!text) return NULL;
    for (size_t i = 0; i < len; i++) cap += text[i] == '\n' ? 2 : 0;
    cap += 2;
  }
  char **out = calloc(cap, sizeof *out);
  if (!out) {
    free(text);
    return NULL;
  }
  int k = 0;
  out[k++] = argv[0];
  int line_no = 0;
  for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line;
       line = strtok_r(NULL, "\n", &save)) {
    line_no++;
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *name = line;
    while (isspace((unsigned char)*name)) name++;
    char *end = name + strlen(name);
    while (end > name && isspace((unsigned char)end[-1])) *--end = '\0';
    if (!*name) continue;
    char *value = NULL, *eq = strchr(name, '=');
    if (eq) {
      value = eq + 1;
      *eq = '\0';
      for (char *e = eq; e > name && isspace((unsigned char)e[-1]);) *--e = '\0';
      while (isspace((unsigned char)*value)) value++;
    }
    int bad = !*name || name[0] == '-' || strpbrk(name, " \t");
    if (bad || (value && !*value)) {
      fprintf(stderr, CMD ": settings file %s: line %d: expected 'name = value' or 'name'\n", path,
              line_no);
      free(out);
      free(text);
      return NULL;
    }
    if (value && (!strcasecmp(value, "no") || !strcasecmp(value, "false") || !strcasecmp(value, "off")))
      continue;
    char *opt = malloc(strlen(name) + 3); /* "--name": freed by free_conf */
    if (!opt) break;
    sprintf(opt, "--%s", name);
    out[k++] = opt;
    if (value && strcasecmp(value, "yes") && strcasecmp(value, "true") && strcasecmp(value, "on"))
      out[k++] = value;
  }
  *nconf = k - 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--conf") && i + 1 < argc) {
      i++;
      continue;
    }
    out[k++] = argv[i];
  }
  out[k] = NULL;
  *out_argc = k;
  *hold = text;
  return out;
}

static void free_conf(char **args, int nconf, char *hold) {
  if (!args) return;
  for (int i = 1; i <= nconf; i++)
    if (args[i][0] == '-' && args[i][1] == '-') free(args[i]); /* values point into hold */
  free(args);
  free(hold);
}

/* argv: the settings file's nconf options, then the command line's. */
static int serve(int argc, char **argv, int nconf, const char *conf_path) {
  fg_server_options o;
  fg_server_options_init(&o);
  const char *models = NULL, *web = NULL;
  /* workers x inference threads <= the CPUs we may use, by default */
  int cpus = 0, inference = 1, threads_given = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus < 1) cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1) cpus = 1;
  o.threads = cpus < 16 ? cpus : 16;
  const char *env_data = getenv("FACEGATE_DATA"), *env_store = getenv("FACEGATE_STORE");
  if (env_data && *env_data) o.border.data_dir = env_data;
  if (env_store && *env_store) o.border.store = env_store;
  o.tls_cert = getenv("FACEGATE_TLS_CERT");
  o.tls_key = getenv("FACEGATE_TLS_KEY");
  if (o.tls_cert && !*o.tls_cert) o.tls_cert = NULL;
  if (o.tls_key && !*o.tls_key) o.tls_key = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--listen")) o.listen = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--conf")) cli_arg_val(CMD, argc, argv, &i); /* no file: says so */
    else if (!strcmp(a, "--data")) o.border.data_dir = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--store")) o.border.store = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--config")) o.border.policy_file = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--web")) web = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--threads"))
      o.threads = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), "--threads", 1, 256), threads_given = 1;
    else if (!strcmp(a, "--inference-threads"))
      inference = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), "--inference-threads", 1, 256);
    else if (!strcmp(a, "--tls-cert")) o.tls_cert = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--tls-key")) o.tls_key = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--insecure-bind")) o.insecure_bind = 1;
    else if (!strcmp(a, "--purge-interval"))
      o.purge_interval = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i),
                                             "--purge-interval", 0, 7L * 24 * 3600);
    else if (!strcmp(a, "--timeout"))
      o.conn_timeout = (unsigned)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), "--timeout", 1, 3600);
    else if (!strcmp(a, "--models-dir")) models = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--calibration")) o.border.calibration = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--fpir-calibration"))
      o.border.fpir_calibration = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--header-timeout"))
      o.header_timeout = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), a, 1, 3600);
    else if (!strcmp(a, "--max-conns"))
      o.max_conns = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), a, 16, 65536);
    else if (!strcmp(a, "--max-conns-per-addr"))
      o.max_conns_per_addr = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), a, 1, 65536);
    else if (!strcmp(a, "--max-conns-per-net"))
      o.max_conns_per_net = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), a, 1, 65536);
    else if (!strcmp(a, "--max-body-in-flight"))
      o.max_body_in_flight =
          (size_t)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), a, 1, 1 << 16) << 20;
    else if (!strcmp(a, "--auth-fail-limit"))
      o.auth_fail_limit = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), a, 1, 1000000);
    else if (!strcmp(a, "--auth-fail-global"))
      o.auth_fail_global = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), a, 1, 1000000);
    else if (!strcmp(a, "--auth-fail-window"))
      o.auth_fail_window = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), a, 1, 86400);
    else if (!strcmp(a, "--perm-fail-limit"))
      o.perm_fail_limit = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), a, 1, 1000000);
    else if (!strcmp(a, "--denial-audit-interval"))
      o.denial_audit_interval = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), a, 1, 86400);
    else if (!strcmp(a, "--tls-priorities")) o.tls_priorities = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--trusted-proxy")) o.trusted_proxies = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--anchor-file")) o.anchor_file = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--anchor-syslog")) o.anchor_syslog = 1;
    else if (!strcmp(a, "--anchor-interval"))
      o.anchor_interval = (int)cli_parse_long(CMD, cli_arg_val(CMD, argc, argv, &i), a, 1, 86400);
    else if (!strcmp(a, "--site") || !strcmp(a, "--port-code"))
      o.border.port = cli_arg_val(CMD, argc, argv, &i);
    else if (i <= nconf) {
      fprintf(stderr, CMD ": settings file %s: unknown setting '%s' (the options of --help, without the dashes)\n",
              conf_path, a + 2);
      return EXIT_USAGE;
    } else {
      fprintf(stderr, CMD ": unknown option '%s' (see --help)\n", a);
      return EXIT_USAGE;
    }
  }
  if (!o.tls_cert != !o.tls_key) {
    fprintf(stderr, CMD ": --tls-cert and --tls-key go together\n");
    return EXIT_USAGE;
  }
  o.border.face.threads = inference;
  if (!threads_given && o.threads * inference > cpus) o.threads = cpus / inference > 0 ? cpus / inference : 1;
  if (o.threads * inference > cpus)
    fprintf(stderr, CMD ": warning: %d workers x %d inference threads = %d threads on %d CPUs: they will wait for "
                    "each other\n", o.threads, inference, o.threads * inference, cpus);
  o.border.require_calibration = 1; /* fail now, not at every encounter */
  cli_border_paths(&o.border, models); /* --calibration and --fpir-calibration kept */
  if (!web) web = cli_web_dir();
  o.web_dir = web;
  /* Request bodies and decoded images are large and short-lived: give them
   * their own mappings, returned to the system when freed, rather than let
   * glibc raise its threshold and keep them in the heap (a burst of large
   * bodies would otherwise stay in the process's memory). Process-wide, so
   * set here by the program, not by the library. */
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  fg_log_set(log_stderr, NULL);
  fg_server *s;
  fg_error e;
  int rc = fg_server_create(&o, &s, &e);
  if (rc != FG_OK) {
    fprintf(stderr, CMD ": %s\n", cli_errmsg(&e));
    return rc == FG_EPERM || rc == FG_EINVAL ? EXIT_USAGE : EXIT_FAIL;
  }
  const char *listen = o.listen;
  char host[128] = "127.0.0.1";
  const char *colon = strrchr(listen, ':');
  if (colon && (size_t)(colon - listen) < sizeof host) {
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
  }
  fprintf(stderr, "facegate: serving %s://%s:%u/ (console at /, API under /v1/, %d threads); "
                  "SIGTERM or Ctrl-C stops\n",
          o.tls_cert ? "https" : "http", host, fg_server_port(s), o.threads);
  while (!stop_requested) pause();
  fprintf(stderr, "facegate: stopping: finishing %d request(s) in flight\n", fg_server_in_flight(s));
  fg_server_destroy(s);
  fg_log_set(NULL, NULL);
  fprintf(stderr, "facegate: stopped\n");
  return EXIT_OK;
}

int cmd_serve(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    help(stdout);
    return EXIT_OK;
  }
  int n, nconf;
  char *hold;
  const char *conf_path;
  char **args = with_conf(argc, argv, &n, &nconf, &hold, &conf_path);
  if (!args) return EXIT_USAGE;
  int rc = serve(n, args, nconf, conf_path);
  free_conf(args, nconf, hold);
  return rc;
}
