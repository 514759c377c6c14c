/*
 * `facegate policy show|check`: the retention and decision policy in force,
 * or a policy file checked before it is deployed (docs/records.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

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
