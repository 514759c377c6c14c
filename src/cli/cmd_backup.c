/*
 * `facegate backup FILE` and `facegate restore FILE`: a backup of the border
 * store in one file (SQLite: a database file; PostgreSQL: a pg_dump
 * custom-format file), and loading one into an empty store, which is then
 * purged as of now (retention applies to what a backup brings back), its
 * audit chain verified, and the restore recorded. Both are audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

static void print_counts(const json_t *counts) {
  const char *key;
  json_t *v;
  int first = 1;
  json_object_foreach((json_t *)counts, key, v) {
    printf("%s%s %lld", first ? "" : ", ", key, (long long)json_integer_value(v));
    first = 0;
  }
  printf("\n");
}

/* The one FILE argument, the common options around it. */
static int one_file(cli_border *o, int argc, char **argv, const char **file) {
  *file = NULL;
  for (int i = 1; i < argc; i++) {
    if (cli_border_option(o, argc, argv, &i)) continue;
    if (argv[i][0] == '-') {
      fprintf(stderr, "%s: unknown option %s (--help)\n", o->cmd, argv[i]);
      return EXIT_USAGE;
    }
    if (*file) {
      fprintf(stderr, "%s: one file at a time\n", o->cmd);
      return EXIT_USAGE;
    }
    *file = argv[i];
  }
  if (!*file) {
    fprintf(stderr, "%s: which file? (--help)\n", o->cmd);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

int cmd_backup(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate backup FILE [--data DIR] [--store TARGET] [--json]\n\n"
           "Copies the whole store, online, into the new file FILE (never overwritten):\n"
           "a SQLite store into a database file (SQLite's online backup), a PostgreSQL\n"
           "store into a pg_dump custom-format file. Images and templates stay sealed:\n"
           "keep the key file (DIR/facegate.key) apart from the backups; without it a\n"
           "backup's biometric data does not open. Audited (store.backup).\n"
           "Restore with `facegate restore FILE` into an empty store.\n\n"
           "exit codes: 0 written, 1 failure (nothing left at FILE), 2 usage\n\n"
           CLI_BORDER_OPTIONS_HELP);
    return EXIT_OK;
  }
  cli_border o;
  cli_border_init(&o, "facegate backup");
  const char *file;
  int ex = one_file(&o, argc, argv, &file);
  if (ex != EXIT_OK) return ex;
  fg_border *b = cli_border_open(&o);
  if (!b) return EXIT_FAIL;
  fg_actor who = cli_border_actor(&o, "backup");
  json_t *out = NULL;
  fg_error e;
  if (fg_border_backup_j(b, &who, file, &out, &e) != FG_OK) ex = cli_border_fail(&o, &e);
  else if (o.json) cli_print_json(json_incref(out));
  else {
    printf("backup of the %s store written to %s (%lld bytes): ",
           json_string_value(json_object_get(out, "backend")), file,
           (long long)json_integer_value(json_object_get(out, "bytes")));
    print_counts(json_object_get(out, "counts"));
  }
  json_decref(out);
  fg_border_close(b);
  return ex;
}

int cmd_restore(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate restore FILE [--data DIR] [--store TARGET] [--json]\n\n"
           "Loads a backup made by `facegate backup` into an empty store: a SQLite backup\n"
           "into a SQLite path that does not exist yet (default DIR/facegate.db), a\n"
           "PostgreSQL dump into an empty database (--store postgresql://...). The key file\n"
           "in DIR must be the one the backup was sealed with. Then, before the store is\n"
           "used: migrations (a backup of an older facegate), the retention purge as of\n"
           "now (what the policy says must be gone by now goes, even if it was in the\n"
           "backup), a check of the audit chain, and an audit event of the restore.\n"
           "Nothing of a failed restore is left in the store.\n\n"
           "exit codes: 0 restored and the audit chain verifies, 3 restored but the chain\n"
           "does not verify (see `facegate audit verify`), 1 failure, 2 usage\n\n"
           CLI_BORDER_OPTIONS_HELP);
    return EXIT_OK;
  }
  cli_border o;
  cli_border_init(&o, "facegate restore");
  const char *file;
  int ex = one_file(&o, argc, argv, &file);
  if (ex != EXIT_OK) return ex;
  fg_border_options bo;
  fg_border_options_init(&bo);
  bo.data_dir = o.data_dir;
  bo.store = o.store;
  bo.policy_file = o.config;
  if (o.port) bo.port = o.port;
  cli_border_paths(&bo, o.models_dir);
  fg_actor who = cli_border_actor(&o, "restore");
  json_t *out = NULL;
  fg_error e;
  if (fg_border_restore_j(&bo, &who, file, &out, &e) != FG_OK) return cli_border_fail(&o, &e);
  int ok = json_is_true(json_object_get(json_object_get(out, "audit"), "ok"));
  if (o.json) cli_print_json(json_incref(out));
  else {
    printf("restored %s into the %s store: ", file, json_string_value(json_object_get(out, "backend")));
    print_counts(json_object_get(out, "counts"));
    printf("retention applied: %lld records purged\n",
           (long long)json_integer_value(json_object_get(json_object_get(out, "purge"), "total")));
    printf("audit chain: %s\n", ok ? "verified" : "DOES NOT VERIFY (facegate audit verify)");
  }
  json_decref(out);
  return ok ? EXIT_OK : EXIT_VERIFY;
}
