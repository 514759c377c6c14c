/*
 * `facegate watchlist add|import|remove|list`: the watchlist the gates
 * screen every capture against (docs/encounters.md; import: "Bulk
 * loading"). Thin: parse options, call fg_border_*, print.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/border_cli.h"
#include "cli/cli.h"
#include "cli/progress.h"

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

/* Import progress: a "checking" bar (count only) while the file is checked,
 * then an "importing" bar with the total. */
typedef struct import_bars {
  cli_progress check, write;
  int writing;
} import_bars;

static void import_progress(void *ctx, size_t done, size_t total) {
  import_bars *p = ctx;
  if (total && !p->writing) {
    cli_progress_finish(&p->check);
    cli_progress_init(&p->write, "importing", "entry", total);
    p->writing = 1;
  }
  cli_progress *bar = p->writing ? &p->write : &p->check;
  uint64_t have = atomic_load(&bar->done);
  if (done > have) cli_progress_add(bar, done - have);
}

static int watchlist_import(int argc, char **argv) {
  cli_border o;
  cli_border_init(&o, "facegate watchlist import");
  fg_watchlist_import_opts io = {0};
  const char *file = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (cli_border_option(&o, argc, argv, &i)) continue;
    if (!strcmp(a, "--batch"))
      io.batch = (size_t)cli_parse_long(o.cmd, cli_arg_val(o.cmd, argc, argv, &i), "--batch", 1,
                                        FG_WATCHLIST_BATCH_MAX);
    else if (!strcmp(a, "--from-line"))
      io.first_line = cli_parse_long(o.cmd, cli_arg_val(o.cmd, argc, argv, &i), "--from-line", 1,
                                     1L << 40);
    else if (!strcmp(a, "--base-dir")) io.base_dir = cli_arg_val(o.cmd, argc, argv, &i);
    else if (!strcmp(a, "--check")) io.check_only = 1;
    else if (a[0] == '-') {
      fprintf(stderr, "%s: unknown option %s\n", o.cmd, a);
      return EXIT_USAGE;
    } else if (!file) file = a;
    else {
      fprintf(stderr, "%s: one watchlist file at a time\n", o.cmd);
      return EXIT_USAGE;
    }
  }
  if (!file) {
    fprintf(stderr, "%s: which file? (--help)\n", o.cmd);
    return EXIT_USAGE;
  }
  fg_border *b = cli_border_open(&o);
  if (!b) return EXIT_FAIL;
  import_bars bars = {0};
  cli_progress_init(&bars.check, "checking", "entry", 0);
  io.progress = import_progress;
  io.progress_ctx = &bars;
  fg_actor who = cli_border_actor(&o, "watchlist maintenance");
  fg_watchlist_import_report r;
  fg_error e;
  int rc = fg_border_watchlist_import(b, &who, file, &io, &r, &e);
  if (bars.writing) cli_progress_finish(&bars.write);
  else cli_progress_finish(&bars.check);
  double rate = r.seconds > 0 ? (double)r.entries / r.seconds : 0;
  /* what was written goes first: the error itself is the last line (--json's detail) */
  if (rc != FG_OK && r.batches)
    fprintf(stderr, "%s: %zu entries (ids %lld-%lld) were written in %zu batches before the error "
            "below; nothing from line %ld on was: resume with --from-line %ld\n", o.cmd, r.entries,
            (long long)r.first_id, (long long)r.last_id, r.batches, r.next_line, r.next_line);
  else if (rc != FG_OK && !io.check_only)
    fprintf(stderr, "%s: nothing was written\n", o.cmd);
  int ex = rc == FG_OK ? EXIT_OK : cli_border_fail(&o, &e);
  if (o.json) {
    cli_print_json(json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:f, s:f}", "ok",
                             rc == FG_OK, "check_only", io.check_only, "lines", (json_int_t)r.lines,
                             "entries", (json_int_t)r.entries, "templates", (json_int_t)r.templates,
                             "batches", (json_int_t)r.batches,
                             "first_id", r.first_id ? json_integer(r.first_id) : json_null(),
                             "last_id", r.last_id ? json_integer(r.last_id) : json_null(),
                             "next_line", r.next_line ? json_integer(r.next_line) : json_null(),
                             "error_line", r.error_line ? json_integer(r.error_line) : json_null(),
                             "seconds", r.seconds, "entries_per_s", rate));
  } else if (rc == FG_OK && io.check_only) {
    printf("%s: %zu entries (%zu templates) checked, nothing written\n", file, r.entries, r.templates);
  } else if (rc == FG_OK) {
    printf("%s: %zu entries (%zu templates) imported in %zu batches, ids %lld-%lld, %.1f s "
           "(%.0f entries/s)\n", file, r.entries, r.templates, r.batches, (long long)r.first_id,
           (long long)r.last_id, r.seconds, rate);
  }
  fg_border_close(b);
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
           "       facegate watchlist import FILE [--batch N] [--check] [--from-line L]\n"
           "                                      [--base-dir DIR]\n"
           "       facegate watchlist remove ID\n"
           "       facegate watchlist list\n\n"
           "Every gate encounter is screened against the watchlist at a strict threshold\n"
           "(policy watchlist_fpir); a hit opens a referral for an officer and is never\n"
           "acted on automatically. Removing an entry deletes its templates.\n\n"
           "import loads many entries from a JSON Lines file, one entry a line:\n"
           "  {\"name\": \"DOE, Jane\", \"reason\": \"...\", \"expires\": \"2027-06-30\",\n"
           "   \"photos\": [\"photos/doe.jpg\"]}      (paths relative to the file, or --base-dir)\n"
           "  {\"name\": \"...\", \"reason\": \"...\", \"templates\": [\"<base64 FGT1>\"]}\n"
           "(docs/encounters.md, Bulk loading). The whole file is checked first: a bad\n"
           "line is refused with its number and nothing is written. Entries are then\n"
           "written in batches (--batch, default %d, at most %d), each one transaction\n"
           "and one audit event; if writing fails part-way (a photo without a face, the\n"
           "database), the batches before it stay and the message says which line to\n"
           "resume from (--from-line). --check reads and checks everything, photos\n"
           "through the face pipeline too, and writes nothing.\n"
           "Exit codes: 0 imported (or checked), 1 refused or failed (see the message),\n"
           "2 usage.\n\n"
           CLI_BORDER_OPTIONS_HELP, FG_WATCHLIST_BATCH_DEFAULT, FG_WATCHLIST_BATCH_MAX);
    return sub ? EXIT_OK : EXIT_USAGE;
  }
  if (!strcmp(sub, "add")) return watchlist_add(argc - 1, argv + 1);
  if (!strcmp(sub, "import")) return watchlist_import(argc - 1, argv + 1);
  if (!strcmp(sub, "remove") || !strcmp(sub, "list")) return watchlist_other(sub, argc - 1, argv + 1);
  fprintf(stderr, "facegate watchlist: unknown subcommand '%s' (add, import, remove, list)\n", sub);
  return EXIT_USAGE;
}
