/*
 * `facegate referral list|show|decide`: the officer's queue of referrals
 * (docs/records.md). Text for people, the library's JSON with --json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

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
  int np, ex = cli_border_parse(&o, argc - 1, argv + 1, referral_opt, &c, pos, 2, &np);
  if (ex != EXIT_OK) return ex;
  if (!strcmp(sub, "list")) {
    if (np) {
      fprintf(stderr, "%s: takes no argument\n", cmd);
      return EXIT_USAGE;
    }
    return cli_border_run(&o, "referral review", referral_list_fn, referral_list_text, &c, NULL);
  }
  if (np < 1) {
    fprintf(stderr, "%s: which referral? (an id from `facegate referral list`)\n", cmd);
    return EXIT_USAGE;
  }
  c.id = cli_parse_long(cmd, pos[0], "the referral id", 1, 1L << 62);
  if (!strcmp(sub, "show"))
    return cli_border_run(&o, "referral review", referral_show_fn, cli_text_json, &c, NULL);
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
    return cli_border_run(&o, "referral decision", referral_decide_fn, cli_text_json, &c, NULL);
  }
  fprintf(stderr, "facegate referral: unknown subcommand '%s' (list, show, decide)\n", sub);
  return EXIT_USAGE;
}
