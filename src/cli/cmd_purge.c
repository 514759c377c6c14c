/*
 * `facegate purge`: delete what the retention policy says must go
 * (docs/records.md; the service runs the same on a timer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

static int purge_fn(fg_border *b, const fg_actor *w, void *ctx, json_t **out, fg_error *e) {
  (void)ctx;
  return fg_border_purge_j(b, w, out, e);
}

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
  int np, ex = cli_border_parse(&o, argc, argv, NULL, NULL, pos, 0, &np);
  if (ex != EXIT_OK) return ex;
  return cli_border_run(&o, "retention", purge_fn, cli_text_json, NULL, NULL);
}
