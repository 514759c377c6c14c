/*
 * `facegate manifest import|close|list|show`: what a supervisor does before a
 * flight (docs/manifests.md). Thin: parse options, call fg_border_*, print.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/border_cli.h"
#include "cli/cli.h"
#include "cli/progress.h"

#define MAX_PHOTO_BYTES ((size_t)32 << 20)

static void progress_cb(void *ctx, size_t done, size_t total) {
  cli_progress *p = ctx;
  if (p->total == 0 && total) p->total = total;
  uint64_t have = atomic_load(&p->done);
  if (done > have) cli_progress_add(p, done - have);
}

static void print_import(const json_t *r) {
  char b1[64], b2[64], b3[64], b4[64];
  printf("manifest %s: %s %s, %s, %s %s\n", cli_jstr(r, "manifest_id", b1, 64),
         cli_jstr(r, "carrier", b2, 64), cli_jstr(r, "flight", b3, 64),
         cli_jstr(r, "port", b4, 64), json_string_value(json_object_get(r, "direction")),
         json_string_value(json_object_get(r, "scheduled")));
  printf("  passengers %s, enrolled %s, templates %s\n", cli_jstr(r, "passengers", b1, 64),
         cli_jstr(r, "enrolled_passengers", b2, 64), cli_jstr(r, "templates", b3, 64));
  json_t *problems = json_object_get(r, "problems");
  size_t i;
  json_t *p;
  if (json_array_size(problems)) printf("  problems:\n");
  json_array_foreach(problems, i, p) {
    printf("    passenger %s (document %s): %s", cli_jstr(p, "index", b1, 64),
           cli_jstr(p, "document", b2, 64), cli_jstr(p, "problem", b3, 64));
    const char *d = json_string_value(json_object_get(p, "detail"));
    printf("%s%s\n", d && *d ? ": " : "", d ? d : "");
  }
}

static int manifest_import(int argc, char **argv) {
  cli_border o;
  cli_border_init(&o, "facegate manifest import");
  fg_manifest_import_opts io = {0};
  const char *file = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (cli_border_option(&o, argc, argv, &i)) continue;
    if (!strcmp(a, "--amend"))
      io.amend = cli_parse_long(o.cmd, cli_arg_val(o.cmd, argc, argv, &i), "--amend", 1, 1L << 62);
    else if (!strcmp(a, "--format")) {
      const char *f = cli_arg_val(o.cmd, argc, argv, &i);
      if (!strcmp(f, "json")) io.format = FG_MANIFEST_JSON;
      else if (!strcmp(f, "csv")) io.format = FG_MANIFEST_CSV;
      else {
        fprintf(stderr, "%s: --format must be json or csv\n", o.cmd);
        return EXIT_USAGE;
      }
    } else if (!strcmp(a, "--carrier")) io.carrier = cli_arg_val(o.cmd, argc, argv, &i);
    else if (!strcmp(a, "--flight")) io.flight = cli_arg_val(o.cmd, argc, argv, &i);
    else if (!strcmp(a, "--flight-port")) io.port = cli_arg_val(o.cmd, argc, argv, &i);
    else if (!strcmp(a, "--scheduled")) io.scheduled = cli_arg_val(o.cmd, argc, argv, &i);
    else if (!strcmp(a, "--direction")) io.direction = cli_arg_val(o.cmd, argc, argv, &i);
    else if (a[0] == '-') {
      fprintf(stderr, "%s: unknown option %s\n", o.cmd, a);
      return EXIT_USAGE;
    } else if (!file) file = a;
    else {
      fprintf(stderr, "%s: one manifest file at a time\n", o.cmd);
      return EXIT_USAGE;
    }
  }
  if (!file) {
    fprintf(stderr, "%s: which manifest file? (--help)\n", o.cmd);
    return EXIT_USAGE;
  }
  fg_border *b = cli_border_open(&o);
  if (!b) return EXIT_FAIL;
  cli_progress bar;
  cli_progress_init(&bar, "staging", "passenger", 0);
  io.progress = progress_cb;
  io.progress_ctx = &bar;
  fg_actor who = cli_border_actor(&o, "flight staging");
  json_t *report = NULL;
  fg_error e;
  int rc = fg_border_manifest_import_j(b, &who, file, &io, &report, &e);
  cli_progress_finish(&bar);
  int ex = EXIT_OK;
  if (rc != FG_OK) ex = cli_border_fail(&o, &e);
  else if (o.json) cli_print_json(report);
  else {
    print_import(report);
    json_decref(report);
  }
  fg_border_close(b);
  return ex;
}

static int manifest_simple(const char *sub, int argc, char **argv) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "facegate manifest %s", sub);
  cli_border o;
  cli_border_init(&o, cmd);
  long long id;
  int is_list = !strcmp(sub, "list");
  int ex = cli_border_id_args(&o, argc, argv, !is_list, "manifest",
                              "an id from `facegate manifest list`", &id);
  if (ex != EXIT_OK) return ex;
  fg_border *b = cli_border_open(&o);
  if (!b) return EXIT_FAIL;
  fg_actor who = cli_border_actor(&o, "flight staging");
  fg_error e;
  json_t *out = NULL;
  int rc;
  if (!strcmp(sub, "close")) rc = fg_border_manifest_close(b, &who, id, &e);
  else if (is_list) rc = fg_border_manifest_list_j(b, &who, &out, &e);
  else rc = fg_border_manifest_show_j(b, &who, id, &out, &e);
  ex = EXIT_OK;
  if (rc != FG_OK) ex = cli_border_fail(&o, &e);
  else if (!out) printf("manifest %lld closed\n", id);
  else if (o.json) cli_print_json(out);
  else {
    char b1[64], b2[64], b3[64], b4[64], b5[64], b6[64];
    json_t *rows = is_list ? out : json_object_get(out, "passengers");
    if (!is_list)
      printf("manifest %s: %s %s %s %s (%s)\n", cli_jstr(out, "id", b1, 64),
             cli_jstr(out, "carrier", b2, 64), cli_jstr(out, "flight", b3, 64),
             cli_jstr(out, "port", b4, 64), cli_jstr(out, "scheduled", b5, 64),
             cli_jstr(out, "status", b6, 64));
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
      char c1[64], c2[64], c3[64], c4[64], c5[64];
      if (is_list) {
        printf("%6s  %-4s %-8s %-5s %-20s %-6s %-7s", cli_jstr(r, "id", b1, 64),
               cli_jstr(r, "carrier", b2, 64), cli_jstr(r, "flight", b3, 64),
               cli_jstr(r, "port", b4, 64), cli_jstr(r, "scheduled", b5, 64),
               cli_jstr(r, "direction", b6, 64), cli_jstr(r, "status", c1, 64));
        printf(" passengers %s, enrolled %s, crossed %s, manual %s, referred %s\n",
               cli_jstr(r, "passengers", c1, 64), cli_jstr(r, "enrolled", c2, 64),
               cli_jstr(r, "crossed", c3, 64), cli_jstr(r, "manual", c4, 64),
               cli_jstr(r, "referred", c5, 64));
      } else {
        json_t *d = json_object_get(r, "document");
        char doc[96];
        snprintf(doc, sizeof doc, "%s %s", cli_jstr(d, "issuing_state", c1, 64),
                 cli_jstr(d, "number", c2, 64));
        printf("  %6s  %-20s %-20s %-9s %-14s %-9s enrolled %s\n",
               cli_jstr(r, "traveller_id", b1, 64), cli_jstr(r, "surname", b2, 64),
               cli_jstr(r, "given_names", b3, 64), cli_jstr(r, "category", b4, 64), doc,
               cli_jstr(r, "status", b5, 64), cli_jstr(r, "enrolled", b6, 64));
      }
    }
    json_decref(out);
  }
  fg_border_close(b);
  return ex;
}

int cmd_manifest(int argc, char **argv) {
  const char *sub = argc > 1 ? argv[1] : NULL;
  if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") || cli_wants_help(argc, argv)) {
    printf("usage: facegate manifest import FILE [--amend ID] [--format json|csv]\n"
           "                         [--carrier C --flight F --flight-port P --scheduled T\n"
           "                          --direction entry|exit]   (CSV: the flight)\n"
           "       facegate manifest close ID\n"
           "       facegate manifest list\n"
           "       facegate manifest show ID\n\n"
           "import reads a flight manifest (JSON or CSV, docs/manifests.md), runs every\n"
           "document photo through the face pipeline and stages the flight's gallery;\n"
           "per-passenger problems are reported without rejecting the rest. --amend adds\n"
           "late passengers to an open manifest. close stops encounters against it.\n\n"
           CLI_BORDER_OPTIONS_HELP);
    return sub ? EXIT_OK : EXIT_USAGE;
  }
  if (!strcmp(sub, "import")) return manifest_import(argc - 1, argv + 1);
  if (!strcmp(sub, "close") || !strcmp(sub, "list") || !strcmp(sub, "show"))
    return manifest_simple(sub, argc - 1, argv + 1);
  fprintf(stderr, "facegate manifest: unknown subcommand '%s' (import, close, list, show)\n", sub);
  return EXIT_USAGE;
}
