/*
 * `facegate key rotate`: a new data key, everything re-sealed under it in one
 * transaction (docs/records.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

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
  int np, ex = cli_border_parse(&o, argc - 1, argv + 1, NULL, NULL, pos, 0, &np);
  if (ex != EXIT_OK) return ex;
  return cli_border_run(&o, "key management", key_rotate_fn, cli_text_json, NULL, NULL);
}
