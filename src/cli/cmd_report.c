/*
 * `facegate report`: the day's figures — capture, match and failure-to-acquire
 * rates, referrals, error rates per traveller group, a chart (--plot)
 * (docs/records.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

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
  int np, ex = cli_border_parse(&o, argc, argv, report_opt, &c, pos, 0, &np);
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
  return cli_border_run(&o, "reporting", report_fn, report_text, &c, NULL);
}
