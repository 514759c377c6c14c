/*
 * `facegate audit verify|anchor|list`: the tamper-evident audit log
 * (docs/records.md): the chain checked and the records reconciled with it,
 * the head published, the events read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

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
  char b3[64], b4[64];
  printf("records %s: %s encounters, %s crossings, %s referrals, %s watchlist entries checked\n",
         json_is_true(json_object_get(rec, "ok")) ? "OK" : "NOT ACCOUNTED FOR",
         cli_jstr(ck, "encounters", b1, 64), cli_jstr(ck, "crossings", b2, 64),
         cli_jstr(ck, "referrals", b3, 64), cli_jstr(ck, "watchlist", b4, 64));
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
  cli_print_rows(rows, keys, 7);
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
  int np, ex = cli_border_parse(&o, argc - 1, argv + 1, audit_opt, &c, pos, 0, &np);
  if (ex != EXIT_OK) return ex;
  if (!strcmp(sub, "verify"))
    return cli_border_run(&o, "audit", audit_verify_fn, audit_verify_text, &c, audit_verify_exit);
  if (!strcmp(sub, "list"))
    return cli_border_run(&o, "audit", audit_list_fn, audit_list_text, &c, NULL);
  if (!strcmp(sub, "anchor")) {
    if (!c.anchor_file && !c.syslog) {
      fprintf(stderr, "%s: --anchor-file FILE or --syslog is required\n", cmd);
      return EXIT_USAGE;
    }
    return cli_border_run(&o, "audit", audit_anchor_fn, audit_anchor_text, &c, NULL);
  }
  fprintf(stderr, "facegate audit: unknown subcommand '%s' (verify, anchor, list)\n", sub);
  return EXIT_USAGE;
}
