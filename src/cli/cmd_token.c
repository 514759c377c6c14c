/*
 * `facegate token create|list|revoke`: the service's API tokens
 * (facegate/server.h). A token is printed once, at creation; the store keeps
 * only its keyed hash. Creation and revocation are audited under the local
 * user ($USER, role "local").
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/border_cli.h"
#include "cli/cli.h"
#include "facegate/server.h"

#define CMD "facegate token"

static void help(FILE *f) {
  fprintf(f,
          "usage: facegate token create --role ROLE --name NAME [--data DIR] [--store T] [--json]\n"
          "       facegate token list [--data DIR] [--store T] [--json]\n"
          "       facegate token revoke NAME [--data DIR] [--store T]\n"
          "\n"
          "API tokens for facegate serve (Authorization: Bearer fgt_...). The token is printed\n"
          "once, by create; only a keyed hash of it is stored. Roles: gate (encounters),\n"
          "officer (referrals, verify, crossings), supervisor (manifests, watchlist),\n"
          "auditor (audit, reports), admin (tokens, policy, purge).\n"
          "\n"
          "options:\n"
          "  --data DIR      the key file, and the SQLite store (default $FACEGATE_DATA or var/data)\n"
          "  --store TARGET  the store: a SQLite file or postgresql://... (default $FACEGATE_STORE\n"
          "                  or DIR/facegate.db)\n"
          "  --json          machine-readable output\n"
          "exit codes: 0 success, 1 failure (name taken, no such token...), 2 usage\n");
}

int cmd_token(int argc, char **argv) {
  if (argc < 2 || cli_wants_help(argc, argv)) {
    help(argc < 2 ? stderr : stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  const char *sub = argv[1], *role = NULL, *name = NULL, *target = NULL;
  cli_border where;
  cli_border_init(&where, CMD);
  int json = 0;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--role")) role = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--name")) name = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--data")) where.data_dir = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--store")) where.store = cli_arg_val(CMD, argc, argv, &i);
    else if (!strcmp(a, "--json")) json = 1;
    else if (a[0] != '-' && !target) target = a;
    else {
      fprintf(stderr, CMD ": unexpected argument '%s' (see --help)\n", a);
      return EXIT_USAGE;
    }
  }
  int is_create = !strcmp(sub, "create"), is_list = !strcmp(sub, "list"),
      is_revoke = !strcmp(sub, "revoke");
  if (!is_create && !is_list && !is_revoke) {
    fprintf(stderr, CMD ": unknown subcommand '%s' (create, list, revoke)\n", sub);
    return EXIT_USAGE;
  }
  if (is_create && (!role || !name || target)) {
    fprintf(stderr, CMD " create: needs --role ROLE and --name NAME\n");
    return EXIT_USAGE;
  }
  if (is_revoke && !target) {
    fprintf(stderr, CMD " revoke: needs the token's NAME\n");
    return EXIT_USAGE;
  }
  unsigned bit;
  if (is_create && fg_role_parse(role, &bit) != FG_OK) {
    fprintf(stderr, CMD " create: role must be gate, officer, supervisor, auditor or admin\n");
    return EXIT_USAGE;
  }

  fg_border_options o;
  fg_border_options_init(&o);
  o.data_dir = where.data_dir;
  o.store = where.store;
  fg_border *b;
  fg_error e;
  if (fg_border_open(&o, &b, &e) != FG_OK) {
    fprintf(stderr, CMD ": %s\n", cli_errmsg(&e));
    return EXIT_FAIL;
  }
  const char *user = getenv("USER");
  fg_actor who = {user && *user ? user : "local", "local", "access control"};
  int rc, code = EXIT_OK;
  if (is_create) {
    char token[FG_API_TOKEN_LEN];
    int64_t id;
    rc = fg_api_token_create(b, &who, name, role, token, &id, &e);
    if (rc == FG_OK) {
      if (json) {
        printf("{\"id\":%lld,\"name\":", (long long)id);
        cli_json_str(stdout, name);
        printf(",\"role\":\"%s\",\"token\":\"%s\"}\n", role, token);
      } else {
        printf("%s\n", token);
        fprintf(stderr, "token for %s (%s) created; it is shown only this once\n", name, role);
      }
      sodium_memzero(token, sizeof token);
    }
  } else if (is_list) {
    json_t *list = NULL;
    rc = fg_api_token_list_j(b, &who, &list, &e);
    if (rc == FG_OK && json) {
      char *s = json_dumps(list, JSON_COMPACT);
      printf("%s\n", s ? s : "[]");
      free(s);
    } else if (rc == FG_OK) {
      printf("%-4s %-24s %-10s %-20s %s\n", "id", "name", "role", "created", "revoked");
      size_t i;
      json_t *t;
      json_array_foreach(list, i, t) {
        const char *rv = json_string_value(json_object_get(t, "revoked_at"));
        printf("%-4lld %-24s %-10s %-20s %s\n", (long long)json_integer_value(json_object_get(t, "id")),
               json_string_value(json_object_get(t, "name")),
               json_string_value(json_object_get(t, "role")),
               json_string_value(json_object_get(t, "created_at")), rv ? rv : "-");
      }
    }
    json_decref(list);
  } else {
    rc = fg_api_token_revoke(b, &who, 0, target, &e);
    if (rc == FG_OK) fprintf(stderr, "token %s revoked\n", target);
  }
  if (rc != FG_OK) {
    fprintf(stderr, CMD " %s: %s\n", sub, cli_errmsg(&e));
    code = EXIT_FAIL;
  }
  fg_border_close(b);
  return code;
}
