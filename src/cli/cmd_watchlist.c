/*
 * `facegate watchlist add|remove|list`: the watchlist the gates screen every
 * capture against (docs/encounters.md). Thin: parse options, call
 * fg_border_*, print.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

#define MAX_PHOTO_BYTES ((size_t)32 << 20)

static int watchlist_add(int argc, char **argv) {
  cli_border o;
  cli_border_init(&o, "facegate watchlist add");
  const char *name = NULL, *reason = NULL;
  long long expires = 0;
  const char *photos[16];
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (cli_border_option(&o, argc, argv, &i)) continue;
    if (!strcmp(argv[i], "--name")) name = cli_arg_val(o.cmd, argc, argv, &i);
    else if (!strcmp(argv[i], "--reason")) reason = cli_arg_val(o.cmd, argc, argv, &i);
    else if (!strcmp(argv[i], "--expires"))
      expires = cli_parse_time(o.cmd, cli_arg_val(o.cmd, argc, argv, &i), "--expires");
    else if (argv[i][0] == '-') {
      fprintf(stderr, "%s: unknown option %s\n", o.cmd, argv[i]);
      return EXIT_USAGE;
    } else if (n < 16) photos[n++] = argv[i];
    else {
      fprintf(stderr, "%s: at most 16 photos per entry\n", o.cmd);
      return EXIT_USAGE;
    }
  }
  if (!name || !reason || n == 0) {
    fprintf(stderr, "%s: --name, --reason and at least one photo are required\n", o.cmd);
    return EXIT_USAGE;
  }
  unsigned char *data[16] = {0};
  size_t lens[16];
  int ex = EXIT_OK;
  for (int i = 0; i < n && ex == EXIT_OK; i++)
    ex = cli_read_file(o.cmd, photos[i], MAX_PHOTO_BYTES, &data[i], &lens[i]);
  fg_border *b = ex == EXIT_OK ? cli_border_open(&o) : NULL;
  if (b) {
    fg_actor who = cli_border_actor(&o, "watchlist maintenance");
    int64_t id;
    fg_error e;
    if (fg_border_watchlist_add(b, &who, name, reason, expires, (const uint8_t *const *)data,
                                lens, n, &id, &e) != FG_OK)
      ex = cli_border_fail(&o, &e);
    else if (o.json) cli_print_json(json_pack("{s:I, s:i}", "id", (json_int_t)id, "photos", n));
    else printf("watchlist entry %lld added (%d photo%s)\n", (long long)id, n, n > 1 ? "s" : "");
    fg_border_close(b);
  } else if (ex == EXIT_OK) ex = EXIT_FAIL;
  for (int i = 0; i < n; i++) free(data[i]);
  return ex;
}

static int watchlist_other(const char *sub, int argc, char **argv) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "facegate watchlist %s", sub);
  cli_border o;
  cli_border_init(&o, cmd);
  long long id;
  int is_list = !strcmp(sub, "list");
  int ex = cli_border_id_args(&o, argc, argv, !is_list, "entry",
                              "an id from `facegate watchlist list`", &id);
  if (ex != EXIT_OK) return ex;
  fg_border *b = cli_border_open(&o);
  if (!b) return EXIT_FAIL;
  fg_actor who = cli_border_actor(&o, "watchlist maintenance");
  fg_error e;
  json_t *out = NULL;
  ex = EXIT_OK;
  int rc = is_list ? fg_border_watchlist_list_j(b, &who, &out, &e)
                   : fg_border_watchlist_remove(b, &who, id, &e);
  if (rc != FG_OK) ex = cli_border_fail(&o, &e);
  else if (!is_list) printf("watchlist entry %lld removed (its templates deleted)\n", id);
  else if (o.json) cli_print_json(out);
  else {
    size_t i;
    json_t *r;
    char b1[64], b2[64], b3[64], b4[64], b5[64];
    json_array_foreach(out, i, r) {
      const char *exp = cli_jstr(r, "expires_at", b5, 64);
      printf("%6s  %-28s %-28s %-8s templates %s, expires %s\n", cli_jstr(r, "id", b1, 64),
             cli_jstr(r, "name", b2, 64), cli_jstr(r, "reason", b3, 64),
             json_string_value(json_object_get(r, "status")), cli_jstr(r, "templates", b4, 64),
             *exp ? exp : "never");
    }
    json_decref(out);
  }
  fg_border_close(b);
  return ex;
}

int cmd_watchlist(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : NULL;
  if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") || cli_wants_help(argc, argv)) {
    printf("usage: facegate watchlist add --name NAME --reason TEXT [--expires DATE] PHOTO...\n"
           "       facegate watchlist remove ID\n"
           "       facegate watchlist list\n\n"
           "Every gate encounter is screened against the watchlist at a strict threshold\n"
           "(policy watchlist_fpir); a hit opens a referral for an officer and is never\n"
           "acted on automatically. Removing an entry deletes its templates.\n\n"
           CLI_BORDER_OPTIONS_HELP);
    return sub ? EXIT_OK : EXIT_USAGE;
  }
  if (!strcmp(sub, "add")) return watchlist_add(argc - 1, argv + 1);
  if (!strcmp(sub, "remove") || !strcmp(sub, "list")) return watchlist_other(sub, argc - 1, argv + 1);
  fprintf(stderr, "facegate watchlist: unknown subcommand '%s' (add, remove, list)\n", sub);
  return EXIT_USAGE;
}
