/*
 * The officer's, supervisor's and auditor's commands over the records:
 * `referral list|show|decide`, `crossings`, `overstays`, `purge`, `report`,
 * `audit verify|list`, `key rotate`, `policy show|check` (docs/records.md).
 * Each parses its options, calls one fg_border_* function and prints the
 * result as text, or as the library's JSON with --json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

/* Common loop: consume the shared options, hand the others to `other`, which
 * returns 1 if it took the argument, 0 for unknown, and collect positionals. */
typedef int (*opt_fn)(void *ctx, cli_border *o, int argc, char **argv, int *i);

static int parse(cli_border *o, int argc, char **argv, opt_fn other, void *ctx,
                 const char **pos, int max_pos, int *n_pos) {
  *n_pos = 0;
  for (int i = 1; i < argc; i++) {
    if (cli_border_option(o, argc, argv, &i)) continue;
    if (other && other(ctx, o, argc, argv, &i)) continue;
    if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "%s: unknown option %s (--help)\n", o->cmd, argv[i]);
      return EXIT_USAGE;
    }
    if (*n_pos >= max_pos) {
      fprintf(stderr, "%s: unexpected argument '%s' (--help)\n", o->cmd, argv[i]);
      return EXIT_USAGE;
    }
    pos[(*n_pos)++] = argv[i];
  }
  return EXIT_OK;
}

/* Open, run fn, print JSON or text, close. */
typedef int (*run_fn)(fg_border *b, const fg_actor *who, void *ctx, json_t **out, fg_error *e);
typedef void (*text_fn)(const json_t *out, void *ctx);

static int run(const cli_border *o, const char *purpose, run_fn fn, text_fn text, void *ctx,
               int (*exit_of)(const json_t *out)) {
  fg_border *b = cli_border_open(o);
  if (!b) return EXIT_FAIL;
  fg_actor who = cli_border_actor(o, purpose);
  json_t *out = NULL;
  fg_error e;
  int ex = EXIT_OK;
  if (fn(b, &who, ctx, &out, &e) != FG_OK) ex = cli_border_fail(o, &e);
  else {
    if (exit_of) ex = exit_of(out);
    if (o->json) {
      cli_print_json(out);
      out = NULL;
    } else if (text) text(out, ctx);
  }
  json_decref(out);
  fg_border_close(b);
  return ex;
}

static void print_rows(const json_t *rows, const char *const *keys, int nkeys) {
  size_t i;
  json_t *r;
  char buf[64];
  json_array_foreach(rows, i, r) {
    for (int k = 0; k < nkeys; k++) {
      const char *v = cli_jstr(r, keys[k], buf, sizeof buf);
      printf("%s%s=%s", k ? "  " : "", keys[k], *v ? v : "-");
    }
    printf("\n");
  }
  if (json_array_size(rows) == 0) printf("(none)\n");
}

/* ---------------------------------------------------------------- referral */

typedef struct referral_ctx {
  const char *status, *decision, *note, *at_site;
  long long id, traveller;
  int images;
} referral_ctx;

static int referral_opt(void *vctx, cli_border *o, int argc, char **argv, int *i) {
  referral_ctx *c = vctx;
  const char *a = argv[*i];
  if (!strcmp(a, "--status")) c->status = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--at-site")) c->at_site = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--note")) c->note = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--traveller"))
    c->traveller = cli_parse_long(o->cmd, cli_arg_val(o->cmd, argc, argv, i), "--traveller", 1, 1L << 62);
  else if (!strcmp(a, "--images")) c->images = 1;
  else return 0;
  return 1;
}

static int referral_list_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  referral_ctx *c = ctx;
  return fg_border_referral_list_at_j(b, w, c->status, c->at_site, out, e);
}
static int referral_show_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  referral_ctx *c = ctx;
  return fg_border_referral_show_j(b, w, c->id, c->images, out, e);
}
static int referral_decide_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  referral_ctx *c = ctx;
  return fg_border_referral_decide_j(b, w, c->id, c->decision, c->traveller, c->note, out, e);
}

static void referral_list_text(const json_t *out, void *ctx) {
  (void)ctx;
  size_t i;
  json_t *r;
  char b1[64], b2[64], b3[64], b4[64], b5[64], b6[64], b7[64];
  json_array_foreach(out, i, r) {
    json_t *cand = json_object_get(r, "candidate"), *wl = json_object_get(r, "watchlist");
    printf("%6s  %-18s %-9s gate %-4s %s  score %s / %s", cli_jstr(r, "id", b1, 64),
           cli_jstr(r, "reason", b2, 64), cli_jstr(r, "status", b3, 64),
           cli_jstr(r, "gate", b4, 64), cli_jstr(r, "created_at", b5, 64),
           cli_jstr(r, "score", b6, 64), cli_jstr(r, "threshold", b7, 64));
    if (json_is_object(cand)) printf("  candidate %s", cli_jstr(cand, "name", b2, 64));
    if (json_is_object(wl)) printf("  WATCHLIST %s", cli_jstr(wl, "name", b3, 64));
    printf("\n");
  }
  if (json_array_size(out) == 0) printf("(none)\n");
}

static void referral_text(const json_t *out, void *ctx) {
  (void)ctx;
  cli_print_text(out);
}

int cmd_referral(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : NULL;
  if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") || cli_wants_help(argc, argv)) {
    printf("usage: facegate referral list [--status open|secondary|confirmed|closed] [--at-site CODE]\n"
           "       facegate referral show ID [--images]\n"
           "       facegate referral decide ID confirm|secondary|close|note [--traveller ID]\n"
           "                                [--note TEXT] --as OFFICER\n\n"
           "The officer's queue. confirm records a manual crossing for the referral's\n"
           "candidate (or --traveller); secondary sends the traveller to secondary\n"
           "inspection; close ends it without a crossing; note adds a note. Every\n"
           "decision carries the officer's identity (--as). show --images includes the\n"
           "capture and document photos (a read of biometric data, audited). list\n"
           "--at-site: only referrals raised at that port of entry (default: every site).\n\n"
           CLI_BORDER_OPTIONS_HELP);
    return sub ? EXIT_OK : EXIT_USAGE;
  }
  char cmd[64];
  snprintf(cmd, sizeof cmd, "facegate referral %s", sub);
  cli_border o;
  cli_border_init(&o, cmd);
  referral_ctx c = {0};
  const char *pos[2];
  int np, ex = parse(&o, argc - 1, argv + 1, referral_opt, &c, pos, 2, &np);
  if (ex != EXIT_OK) return ex;
  if (!strcmp(sub, "list")) {
    if (np) {
      fprintf(stderr, "%s: takes no argument\n", cmd);
      return EXIT_USAGE;
    }
    return run(&o, "referral review", referral_list_fn, referral_list_text, &c, NULL);
  }
  if (np < 1) {
    fprintf(stderr, "%s: which referral? (an id from `facegate referral list`)\n", cmd);
    return EXIT_USAGE;
  }
  c.id = cli_parse_long(cmd, pos[0], "the referral id", 1, 1L << 62);
  if (!strcmp(sub, "show")) return run(&o, "referral review", referral_show_fn, referral_text, &c, NULL);
  if (!strcmp(sub, "decide")) {
    if (np < 2) {
      fprintf(stderr, "%s: which decision? confirm, secondary, close or note\n", cmd);
      return EXIT_USAGE;
    }
    if (!o.as) {
      fprintf(stderr, "%s: --as OFFICER is required: every decision carries the officer's identity\n", cmd);
      return EXIT_USAGE;
    }
    c.decision = pos[1];
    return run(&o, "referral decision", referral_decide_fn, referral_text, &c, NULL);
  }
  fprintf(stderr, "facegate referral: unknown subcommand '%s' (list, show, decide)\n", sub);
  return EXIT_USAGE;
}

/* ---------------------------------------------------------------- crossings, overstays */

static int crossings_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  return fg_border_crossings_j(b, w, (const char *)ctx, out, e);
}

static void crossings_text(const json_t *out, void *ctx) {
  (void)ctx;
  char b1[64], b2[64], b3[64];
  json_t *t = json_object_get(out, "traveller");
  if (t)
    printf("traveller %s: %s, %s (%s)\n", cli_jstr(t, "id", b1, 64), cli_jstr(t, "surname", b2, 64),
           cli_jstr(t, "given_names", b3, 64), json_string_value(json_object_get(t, "category")));
  static const char *const keys[] = {"id", "direction", "at", "port", "method", "admitted_until", "entry_id"};
  print_rows(json_object_get(out, "crossings"), keys, 7);
}

int cmd_crossings(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate crossings TRAVELLER   (a traveller id or a document number)\n\n"
           "The traveller's entries and exits, newest first; each exit names the entry it\n"
           "closes.\n\n" CLI_BORDER_OPTIONS_HELP);
    return EXIT_OK;
  }
  cli_border o;
  cli_border_init(&o, "facegate crossings");
  const char *pos[1];
  int np, ex = parse(&o, argc, argv, NULL, NULL, pos, 1, &np);
  if (ex != EXIT_OK) return ex;
  if (np != 1) {
    fprintf(stderr, "%s: which traveller? (an id or a document number)\n", o.cmd);
    return EXIT_USAGE;
  }
  return run(&o, "crossing history", crossings_fn, crossings_text, (void *)pos[0], NULL);
}

/* facegate travellers: finding a traveller by name or document (the blind
 * indexes of fg_border_traveller_find). */
static int travellers_opt(void *vctx, cli_border *o, int argc, char **argv, int *i) {
  fg_traveller_query *q = vctx;
  const char *a = argv[*i];
  if (!strcmp(a, "--surname")) q->surname = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--given-names")) q->given_names = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--born")) q->date_of_birth = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--document")) q->document = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--issuing-state")) q->issuing_state = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--limit"))
    q->limit = (int)cli_parse_long(o->cmd, cli_arg_val(o->cmd, argc, argv, i), "--limit", 1, 200);
  else return 0;
  return 1;
}

static int travellers_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  return fg_border_traveller_find_j(b, w, ctx, out, e);
}

static void travellers_text(const json_t *out, void *ctx) {
  (void)ctx;
  size_t i, k;
  json_t *t, *d;
  char b1[32], b2[32];
  json_array_foreach(out, i, t) {
    const char *given = json_string_value(json_object_get(t, "given_names"));
    printf("%-6s %s%s%s  born %s  %s  %s  documents:", cli_jstr(t, "id", b1, sizeof b1),
           json_string_value(json_object_get(t, "surname")), given && *given ? ", " : "",
           given ? given : "", cli_jstr(t, "date_of_birth", b2, sizeof b2),
           json_string_value(json_object_get(t, "nationality")) ?: "-",
           json_string_value(json_object_get(t, "category")) ?: "-");
    json_array_foreach(json_object_get(t, "documents"), k, d)
      printf(" %s %s", json_string_value(json_object_get(d, "number")) ?: "?",
             json_string_value(json_object_get(d, "issuing_state")) ?: "");
    printf("\n");
  }
  if (json_array_size(out) == 0) printf("(nobody)\n");
}

int cmd_travellers(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate travellers --surname S [--given-names G] [--born YYYY-MM-DD]\n"
           "       facegate travellers --document NUMBER [--issuing-state ST]\n"
           "                           [--limit N]\n\n"
           "Finds travellers by name or by document number. Names and numbers are sealed\n"
           "in the store and found through keyed blind indexes: a name matches whole and\n"
           "exactly once normalised (case, runs of spaces, '-', \"'\" and ',' aside), never\n"
           "by its first letters; a document number in any issuing state unless one is\n"
           "given. At most --limit (default 50) travellers; more is an error (narrow the\n"
           "search with the given names or the date of birth). Audited without the\n"
           "values searched for. `facegate crossings ID` then shows one's history.\n\n"
           "exit codes: 0 found (or nobody), 1 failure (too many: narrow it), 2 usage\n\n"
           CLI_BORDER_OPTIONS_HELP);
    return EXIT_OK;
  }
  cli_border o;
  cli_border_init(&o, "facegate travellers");
  fg_traveller_query q = {0};
  const char *pos[1];
  int np, ex = parse(&o, argc, argv, travellers_opt, &q, pos, 0, &np);
  if (ex != EXIT_OK) return ex;
  if (!q.surname == !q.document) {
    fprintf(stderr, "%s: give --surname or --document (one of them)\n", o.cmd);
    return EXIT_USAGE;
  }
  return run(&o, "traveller search", travellers_fn, travellers_text, &q, NULL);
}

typedef struct overstays_ctx {
  int64_t as_of;
  const char *at_site;
} overstays_ctx;

static int overstays_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  overstays_ctx *c = ctx;
  return fg_border_overstays_at_j(b, w, c->as_of, c->at_site, out, e);
}

static void overstays_text(const json_t *out, void *ctx) {
  (void)ctx;
  const json_t *rows = json_is_array(out) ? out : json_object_get(out, "overstays");
  static const char *const keys[] = {"traveller_id", "surname", "kind", "admitted_until", "exit_at", "days_over"};
  print_rows(rows, keys, 6);
}

static int overstays_opt(void *vctx, cli_border *o, int argc, char **argv, int *i) {
  overstays_ctx *c = vctx;
  if (!strcmp(argv[*i], "--at-site")) c->at_site = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(argv[*i], "--as-of"))
    c->as_of = cli_parse_time(o->cmd, cli_arg_val(o->cmd, argc, argv, i), "--as-of");
  else return 0;
  return 1;
}

int cmd_overstays(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate overstays [--as-of DATE] [--at-site CODE]\n\n"
           "Foreign nationals whose admitted-until date passed with no exit, and those\n"
           "who exited after it, as of DATE (default: now); with --at-site, only those\n"
           "who entered at that port of entry (default: every site).\n\n" CLI_BORDER_OPTIONS_HELP);
    return EXIT_OK;
  }
  cli_border o;
  cli_border_init(&o, "facegate overstays");
  overstays_ctx c = {(int64_t)time(NULL), NULL};
  const char *pos[1];
  int np, ex = parse(&o, argc, argv, overstays_opt, &c, pos, 0, &np);
  if (ex != EXIT_OK) return ex;
  return run(&o, "overstay review", overstays_fn, overstays_text, &c, NULL);
}

/* ---------------------------------------------------------------- purge, report */

static int purge_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  (void)ctx;
  return fg_border_purge_j(b, w, out, e);
}

static void json_text(const json_t *out, void *ctx) { referral_text(out, ctx); }

int cmd_purge(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate purge\n\n"
           "Deletes every capture, template, staged gallery and record the retention\n"
           "policy says must go by now (docs/records.md), and writes one audit event with\n"
           "the counts per category. `facegate serve` also runs it on a timer.\n\n"
           CLI_BORDER_OPTIONS_HELP);
    return EXIT_OK;
  }
  cli_border o;
  cli_border_init(&o, "facegate purge");
  const char *pos[1];
  int np, ex = parse(&o, argc, argv, NULL, NULL, pos, 0, &np);
  if (ex != EXIT_OK) return ex;
  return run(&o, "retention", purge_fn, json_text, NULL, NULL);
}

typedef struct report_ctx {
  const char *date, *port, *plot;
} report_ctx;

static int report_opt(void *vctx, cli_border *o, int argc, char **argv, int *i) {
  report_ctx *c = vctx;
  if (!strcmp(argv[*i], "--date")) c->date = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(argv[*i], "--plot")) c->plot = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(argv[*i], "--at-port")) c->port = cli_arg_val(o->cmd, argc, argv, i);
  else return 0;
  return 1;
}

static int report_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  report_ctx *c = ctx;
  int rc = fg_border_report_j(b, w, c->date, c->port, out, e);
  if (rc == FG_OK && c->plot) rc = fg_border_report_plot(fg__doc(*out), c->plot, e);
  return rc;
}

static void print_rate(const json_t *rates, const char *key, const char *label) {
  json_t *r = json_object_get(rates, key);
  if (!json_is_object(r)) return;
  char b1[64], b2[64];
  json_t *v = json_object_get(r, "value");
  if (json_is_number(v))
    printf("  %-22s %6.2f%%  (%s of %s)\n", label, 100 * json_number_value(v),
           cli_jstr(r, "numerator", b1, 64), cli_jstr(r, "denominator", b2, 64));
  else printf("  %-22s      -  (no encounters)\n", label);
}

/* "12.5% [8.1-18.7]" or "-" (no denominator). */
static const char *rate_ci(const json_t *r, char *buf, size_t cap) {
  const json_t *v = json_object_get(r, "value"), *ci = json_object_get(r, "ci95");
  if (!json_is_number(v) || !json_is_array(ci)) return "-";
  snprintf(buf, cap, "%.1f%% [%.1f-%.1f]", 100 * json_number_value(v),
           100 * json_number_value(json_array_get(ci, 0)),
           100 * json_number_value(json_array_get(ci, 1)));
  return buf;
}

/* The error rates per traveller group: one table per dimension. */
static void groups_text(const json_t *g) {
  if (!json_is_object(g)) return;
  char b1[64], b2[64], b3[64];
  printf("  error rates per traveller group (95%% Wilson intervals; %s encounters attributed to a\n"
         "  manifest traveller, %s not; groups of fewer than %s travellers withheld):\n",
         cli_jstr(g, "attributed_encounters", b1, 64), cli_jstr(g, "unattributed_encounters", b2, 64),
         cli_jstr(g, "min_travellers", b3, 64));
  static const char *const dims[] = {"sex", "age_band", "nationality"};
  static const char *const rates[] = {"capture_rate", "ftar", "fnir", "watchlist_false_hit_rate"};
  for (int d = 0; d < 3; d++) {
    const json_t *dim = json_object_get(g, dims[d]), *groups = json_object_get(dim, "groups");
    long long w = (long long)json_integer_value(json_object_get(dim, "withheld_groups"));
    if (!json_array_size(groups)) {
      if (w) printf("    by %-12s (%lld group%s withheld: too few travellers)\n", dims[d], w, w == 1 ? "" : "s");
      else printf("    by %-12s (no attributed encounters)\n", dims[d]);
      continue;
    }
    printf("    by %-12s %10s %10s  %-20s  %-20s  %-20s  %s\n", dims[d], "travellers",
           "encounters", "capture rate", "FTAR", "FNIR", "watchlist false hits");
    size_t i;
    const json_t *row;
    json_array_foreach(groups, i, row) {
      const json_t *rs = json_object_get(row, "rates");
      printf("    %-15s %10s %10s", json_string_value(json_object_get(row, "group")),
             cli_jstr(row, "travellers", b1, 64), cli_jstr(row, "encounters", b2, 64));
      for (int k = 0; k < 4; k++)
        printf(k < 3 ? "  %-20s" : "  %s", rate_ci(json_object_get(rs, rates[k]), b1, 64));
      printf("\n");
    }
    if (w) printf("    (%lld group%s withheld: too few travellers)\n", w, w == 1 ? "" : "s");
  }
}

static void report_text(const json_t *out, void *ctx) {
  const report_ctx *c = ctx;
  char b1[64], b2[64], b3[64], b4[64];
  printf("report %s, %s\n", cli_jstr(out, "date", b1, 64), c->port ? c->port : "all ports");
  printf("  encounters %s (with a face %s, opt-outs %s, watchlist hits %s)\n",
         cli_jstr(out, "encounters", b1, 64), cli_jstr(out, "with_face", b2, 64),
         cli_jstr(out, "opt_outs", b3, 64), cli_jstr(out, "watchlist_hits", b4, 64));
  const char *key;
  json_t *v;
  printf("  outcomes:");
  json_object_foreach(json_object_get(out, "outcomes"), key, v)
    printf(" %s %lld", key, (long long)json_integer_value(v));
  printf("\n");
  json_t *rates = json_object_get(out, "rates");
  print_rate(rates, "capture_rate", "capture rate");
  print_rate(rates, "ftar", "FTAR");
  print_rate(rates, "match_rate", "match rate");
  printf("  referrals:");
  json_object_foreach(json_object_get(out, "referrals"), key, v)
    if (json_integer_value(v)) printf(" %s %lld", key, (long long)json_integer_value(v));
  printf("\n");
  json_t *t = json_object_get(out, "transaction_ms");
  printf("  transaction time: median %.1f ms, p90 %.1f ms\n",
         json_number_value(json_object_get(t, "median")), json_number_value(json_object_get(t, "p90")));
  json_t *cr = json_object_get(out, "crossings");
  printf("  crossings: %s biometric, %s manual\n", cli_jstr(cr, "biometric", b1, 64),
         cli_jstr(cr, "manual", b2, 64));
  groups_text(json_object_get(out, "groups"));
  printf("  audit anchor (keep it elsewhere): %s\n", cli_jstr(out, "audit_anchor", b1, 64));
  if (c->plot) printf("  chart: %s\n", c->plot);
}

int cmd_report(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate report [--date YYYY-MM-DD] [--port P] [--plot FILE.png] [--json]\n\n"
           "--date: the day (UTC; default today); --port: one port of entry's figures\n"
           "(default all ports; --at-port is the same).\n\n"
           "The day's figures (UTC): encounters by outcome, capture rate, failure-to-\n"
           "acquire rate (FTAR), match rate, referrals by reason, opt-outs, watchlist\n"
           "hits, median transaction time, with their ISO/IEC 19795-1 names, and the\n"
           "audit chain's head as an anchor to keep elsewhere. The capture rate, FTAR,\n"
           "FNIR and watchlist false-hit rate are also given per traveller group (sex,\n"
           "age band, nationality) with 95%% Wilson intervals; groups of fewer travellers\n"
           "than the policy's report_min_group (default 20) are withheld\n"
           "(docs/records.md, Error rates per traveller group).\n\n" CLI_BORDER_OPTIONS_HELP);
    return EXIT_OK;
  }
  cli_border o;
  cli_border_init(&o, "facegate report");
  report_ctx c = {0};
  const char *pos[1];
  int np, ex = parse(&o, argc, argv, report_opt, &c, pos, 0, &np);
  if (ex != EXIT_OK) return ex;
  char today[16];
  if (!c.date) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    c.date = today;
  }
  cli_parse_time(o.cmd, c.date, "--date");
  if (!c.port && o.port) c.port = o.port; /* the site's report is its port's figures */
  return run(&o, "reporting", report_fn, report_text, &c, NULL);
}

/* ---------------------------------------------------------------- audit, key, policy */

typedef struct audit_ctx {
  const char *anchor, *anchor_file;
  int syslog;
  long long after;
  long limit;
} audit_ctx;

static int audit_opt(void *vctx, cli_border *o, int argc, char **argv, int *i) {
  audit_ctx *c = vctx;
  if (!strcmp(argv[*i], "--anchor")) c->anchor = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(argv[*i], "--anchor-file")) c->anchor_file = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(argv[*i], "--syslog")) c->syslog = 1;
  else if (!strcmp(argv[*i], "--after"))
    c->after = cli_parse_long(o->cmd, cli_arg_val(o->cmd, argc, argv, i), "--after", 0, 1L << 62);
  else if (!strcmp(argv[*i], "--limit"))
    c->limit = cli_parse_long(o->cmd, cli_arg_val(o->cmd, argc, argv, i), "--limit", 1, 100000);
  else return 0;
  return 1;
}

static int audit_verify_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  audit_ctx *c = ctx;
  fg_audit_verify_options vo = {c->anchor, c->anchor_file};
  return fg_border_audit_verify_with_j(b, w, &vo, out, e);
}
static int audit_anchor_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  (void)w;
  audit_ctx *c = ctx;
  return fg_border_audit_publish_j(b, c->anchor_file, c->syslog, out, e);
}
static void audit_anchor_text(const json_t *out, void *ctx) {
  (void)ctx;
  char b1[64];
  printf("published %s:%s\n", cli_jstr(out, "seq", b1, 64), json_string_value(json_object_get(out, "hash")));
}
static int audit_list_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  audit_ctx *c = ctx;
  return fg_border_audit_list_j(b, w, c->after, (int)c->limit, out, e);
}

static void audit_verify_text(const json_t *out, void *ctx) {
  (void)ctx;
  char b1[64], b2[64];
  if (json_is_true(json_object_get(out, "chain_ok")))
    printf("audit chain OK: %s events; head %s:%s\n", cli_jstr(out, "events", b1, 64),
           cli_jstr(out, "head_seq", b2, 64), json_string_value(json_object_get(out, "head_hash")));
  else if (json_is_null(json_object_get(out, "bad_seq")))
    printf("audit chain BROKEN: %s\n", json_string_value(json_object_get(out, "problem")));
  else
    printf("audit chain BROKEN at event %s: %s\n", cli_jstr(out, "bad_seq", b1, 64),
           json_string_value(json_object_get(out, "problem")));
  const json_t *rec = json_object_get(out, "records"), *ck = json_object_get(rec, "checked");
  size_t i;
  json_t *p;
  char b3[64];
  printf("records %s: %s encounters, %s crossings, %s referrals checked\n",
         json_is_true(json_object_get(rec, "ok")) ? "OK" : "NOT ACCOUNTED FOR",
         cli_jstr(ck, "encounters", b1, 64), cli_jstr(ck, "crossings", b2, 64),
         cli_jstr(ck, "referrals", b3, 64));
  json_array_foreach(json_object_get(rec, "problems"), i, p) printf("  %s\n", json_string_value(p));
  const json_t *an = json_object_get(out, "anchors");
  if (json_is_object(an))
    printf("anchors %s: %s published in %s%s%s\n", json_is_true(json_object_get(an, "ok")) ? "OK" : "BROKEN",
           cli_jstr(an, "published", b2, 64), json_string_value(json_object_get(an, "file")),
           json_string_value(json_object_get(an, "problem")) ? ": " : "",
           json_string_value(json_object_get(an, "problem")) ? json_string_value(json_object_get(an, "problem")) : "");
}

static int audit_verify_exit(const json_t *out) {
  return json_is_true(json_object_get(out, "ok")) ? EXIT_OK : EXIT_VERIFY;
}

static void audit_list_text(const json_t *out, void *ctx) {
  (void)ctx;
  const json_t *rows = json_is_array(out) ? out : json_object_get(out, "events");
  static const char *const keys[] = {"seq", "at", "actor", "role", "action", "object", "purpose"};
  print_rows(rows, keys, 7);
}

int cmd_audit(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : NULL;
  if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") || cli_wants_help(argc, argv)) {
    printf("usage: facegate audit verify [--anchor SEQ:HASH] [--anchor-file FILE]\n"
           "       facegate audit anchor --anchor-file FILE [--syslog]\n"
           "       facegate audit list [--after SEQ] [--limit N]\n\n"
           "verify walks the hash chain and names the first edited, deleted or reordered\n"
           "event, reconciles every encounter, crossing and referral with the events that\n"
           "wrote them (naming each edited, deleted or planted one), and checks anchors:\n"
           "--anchor a head recorded earlier (e.g. from a daily report), --anchor-file the\n"
           "heads facegate published (`facegate serve --anchor-file`, or `audit anchor`).\n"
           "An empty chain is never OK. Exit 3 when anything does not verify.\n"
           "anchor appends the chain's head to FILE (and with --syslog to the system log):\n"
           "keep FILE where the database's host cannot rewrite it (docs/records.md).\n\n"
           CLI_BORDER_OPTIONS_HELP);
    return sub ? EXIT_OK : EXIT_USAGE;
  }
  char cmd[64];
  snprintf(cmd, sizeof cmd, "facegate audit %s", sub);
  cli_border o;
  cli_border_init(&o, cmd);
  audit_ctx c = {NULL, NULL, 0, 0, 100};
  const char *pos[1];
  int np, ex = parse(&o, argc - 1, argv + 1, audit_opt, &c, pos, 0, &np);
  if (ex != EXIT_OK) return ex;
  if (!strcmp(sub, "verify"))
    return run(&o, "audit", audit_verify_fn, audit_verify_text, &c, audit_verify_exit);
  if (!strcmp(sub, "list")) return run(&o, "audit", audit_list_fn, audit_list_text, &c, NULL);
  if (!strcmp(sub, "anchor")) {
    if (!c.anchor_file && !c.syslog) {
      fprintf(stderr, "%s: --anchor-file FILE or --syslog is required\n", cmd);
      return EXIT_USAGE;
    }
    return run(&o, "audit", audit_anchor_fn, audit_anchor_text, &c, NULL);
  }
  fprintf(stderr, "facegate audit: unknown subcommand '%s' (verify, anchor, list)\n", sub);
  return EXIT_USAGE;
}

static int key_rotate_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  (void)ctx;
  return fg_border_key_rotate_j(b, w, out, e);
}

int cmd_key(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : NULL;
  if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") || cli_wants_help(argc, argv)) {
    printf("usage: facegate key rotate\n\n"
           "Creates a new data key, re-seals every stored image and template under it in\n"
           "one transaction, then drops the old key from the key file (<data>/facegate.key).\n\n"
           CLI_BORDER_OPTIONS_HELP);
    return sub ? EXIT_OK : EXIT_USAGE;
  }
  if (strcmp(sub, "rotate")) {
    fprintf(stderr, "facegate key: unknown subcommand '%s' (rotate)\n", sub);
    return EXIT_USAGE;
  }
  cli_border o;
  cli_border_init(&o, "facegate key rotate");
  const char *pos[1];
  int np, ex = parse(&o, argc - 1, argv + 1, NULL, NULL, pos, 0, &np);
  if (ex != EXIT_OK) return ex;
  return run(&o, "key management", key_rotate_fn, json_text, NULL, NULL);
}

int cmd_policy(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : NULL;
  if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") || cli_wants_help(argc, argv)) {
    printf("usage: facegate policy show [--config FILE]\n"
           "       facegate policy check FILE\n\n"
           "show prints the policy in force (the defaults, or --config over them);\n"
           "check reads a policy file and says what is wrong with it, if anything.\n"
           "The format and every default: docs/border.md, section Policy.\n");
    return sub ? EXIT_OK : EXIT_USAGE;
  }
  fg_policy p;
  fg_policy_defaults(&p);
  fg_error e;
  const char *file = NULL;
  int json = 0;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--config")) file = cli_arg_val("facegate policy", argc, argv, &i);
    else if (!strcmp(argv[i], "--json")) json = 1;
    else if (!strcmp(sub, "check") && !file) file = argv[i];
    else {
      fprintf(stderr, "facegate policy %s: unexpected argument '%s'\n", sub, argv[i]);
      return EXIT_USAGE;
    }
  }
  if (strcmp(sub, "show") && strcmp(sub, "check")) {
    fprintf(stderr, "facegate policy: unknown subcommand '%s' (show, check)\n", sub);
    return EXIT_USAGE;
  }
  if (!strcmp(sub, "check") && !file) {
    fprintf(stderr, "facegate policy check: which file?\n");
    return EXIT_USAGE;
  }
  if (file && fg_policy_load(file, &p, &e) != FG_OK) {
    fprintf(stderr, "facegate policy %s: %s\n", sub, cli_errmsg(&e));
    return EXIT_FAIL;
  }
  if (!strcmp(sub, "check")) {
    if (json) printf("{\"file\": "), cli_json_str(stdout, file), printf(", \"valid\": true}\n");
    else printf("%s: a valid policy\n", file);
  } else if (json) {
    cli_print_json(fg__json(fg_policy_to_json(&p)));
  } else {
    json_t *j = fg__json(fg_policy_to_json(&p));
    cli_print_text(j);
    json_decref(j);
  }
  return EXIT_OK;
}
