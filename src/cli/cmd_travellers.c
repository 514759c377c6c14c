/*
 * The traveller records (docs/records.md): `facegate travellers` (find by
 * name or document number), `facegate crossings` (a traveller's entries and
 * exits) and `facegate overstays`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

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
  cli_print_rows(json_object_get(out, "crossings"), keys, 7);
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
  int np, ex = cli_border_parse(&o, argc, argv, NULL, NULL, pos, 1, &np);
  if (ex != EXIT_OK) return ex;
  if (np != 1) {
    fprintf(stderr, "%s: which traveller? (an id or a document number)\n", o.cmd);
    return EXIT_USAGE;
  }
  return cli_border_run(&o, "crossing history", crossings_fn, crossings_text, (void *)pos[0], NULL);
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
  int np, ex = cli_border_parse(&o, argc, argv, travellers_opt, &q, pos, 0, &np);
  if (ex != EXIT_OK) return ex;
  if (!q.surname == !q.document) {
    fprintf(stderr, "%s: give --surname or --document (one of them)\n", o.cmd);
    return EXIT_USAGE;
  }
  return cli_border_run(&o, "traveller search", travellers_fn, travellers_text, &q, NULL);
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
  cli_print_rows(rows, keys, 6);
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
  int np, ex = cli_border_parse(&o, argc, argv, overstays_opt, &c, pos, 0, &np);
  if (ex != EXIT_OK) return ex;
  return cli_border_run(&o, "overstay review", overstays_fn, overstays_text, &c, NULL);
}
