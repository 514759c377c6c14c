/*
 * `facegate reenrol`: after the gates switch recognition model, re-embed every
 * stored template of another model (staged document photos, watchlist) from
 * its sealed photo (fg_border_reenrol; docs/models.md, "Switching the model").
 * The gates do the same for a flight's gallery when they first meet such a
 * template; this does it for everything at once, ahead of the flights, and
 * says who cannot be re-enrolled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/border_cli.h"
#include "cli/cli.h"
#include "cli/progress.h"

#define CMD "facegate reenrol"

static void help(void) {
  printf("usage: facegate reenrol [--model NAME|FILE] [--dry-run] [options]\n\n"
         "Re-embeds every stored template that another recognition model made (staged\n"
         "document photos of every manifest, watchlist entries) from the sealed photo it\n"
         "came from, with the model the gates now run, and writes it back sealed, one\n"
         "audited transaction each. A template whose photo is gone (retention deleted it,\n"
         "or the watchlist entry was loaded from embeddings) or in which the model finds\n"
         "no face is kept as it is and left out of galleries: the passenger gets the\n"
         "problem reenrol_no_photo or reenrol_no_face (facegate manifest show), a\n"
         "watchlist entry is counted here and named (by id) in the log. Gates that meet such templates\n"
         "re-enrol them too; running this first spares the first traveller the wait.\n\n"
         "The model is the one --model names (default $FACEGATE_MODEL or fr_feature): the\n"
         "one the gates run.\n\n"
         "options:\n"
         "  --dry-run         count only: nothing is written, no model is run (a template\n"
         "                    with its photo counts as re-enrolled)\n"
         CLI_BORDER_OPTIONS_HELP
         "\nexit codes: 0 every template is the model's now (or would be), 1 failure,\n"
         "            2 usage, 3 some templates could not be re-enrolled (left out)\n");
}

static void progress(void *ctx, size_t done, size_t total) {
  cli_progress *p = ctx;
  if (p->total != total) p->total = total;
  cli_progress_add(p, 1);
  (void)done;
}

static json_t *counts_json(const fg_reenrol_counts *c) {
  return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "templates", (json_int_t)c->templates, "current",
                   (json_int_t)c->current, "reenrolled", (json_int_t)c->reenrolled, "no_photo",
                   (json_int_t)c->no_photo, "no_face", (json_int_t)c->no_face, "left_out",
                   (json_int_t)c->left_out);
}

static void counts_text(const char *what, const fg_reenrol_counts *c, int dry) {
  printf("%-10s %zu templates: %zu current, %zu %s, %zu left out (%zu without a photo, %zu without a "
         "face) in %zu %s\n",
         what, c->templates, c->current, c->reenrolled, dry ? "to re-enrol" : "re-enrolled",
         c->no_photo + c->no_face, c->no_photo, c->no_face, c->left_out,
         !strcmp(what, "flights:") ? "passenger(s)" : "entry(ies)");
}

int cmd_reenrol(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    help();
    return EXIT_OK;
  }
  cli_border o;
  cli_border_init(&o, CMD);
  fg_reenrol_options ro = {0};
  for (int i = 1; i < argc; i++) {
    if (cli_border_option(&o, argc, argv, &i)) continue;
    if (!strcmp(argv[i], "--dry-run")) ro.dry_run = 1;
    else {
      fprintf(stderr, "%s: %s '%s' (--help)\n", CMD, argv[i][0] == '-' ? "unknown option" : "unexpected argument",
              argv[i]);
      return EXIT_USAGE;
    }
  }
  fg_border *b = cli_border_open(&o);
  if (!b) return EXIT_FAIL;
  fg_actor who = cli_border_actor(&o, "model change");
  cli_progress p;
  cli_progress_init(&p, ro.dry_run ? "checking" : "re-enrolling", "tpl", 0);
  ro.progress = progress;
  ro.progress_ctx = &p;
  fg_reenrol_result r;
  fg_error e;
  int rc = fg_border_reenrol(b, &who, &ro, &r, &e);
  cli_progress_finish(&p);
  int ex = EXIT_OK;
  if (rc != FG_OK) {
    ex = cli_border_fail(&o, &e);
  } else {
    size_t left = r.flights.no_photo + r.flights.no_face + r.watchlist.no_photo + r.watchlist.no_face;
    if (left) ex = EXIT_VERIFY;
    if (o.json) {
      cli_print_json(json_pack("{s:s, s:s, s:b, s:o, s:o}", "model", r.model, "model_id", r.model_id,
                               "dry_run", ro.dry_run, "flights", counts_json(&r.flights), "watchlist",
                               counts_json(&r.watchlist)));
    } else {
      printf("model %s (template model id %s)%s\n", r.model, r.model_id, ro.dry_run ? ", dry run" : "");
      counts_text("flights:", &r.flights, ro.dry_run);
      counts_text("watchlist:", &r.watchlist, ro.dry_run);
      if (left)
        printf("left out of galleries until enrolled again: see `facegate manifest show ID` (problems\n"
               "reenrol_no_photo, reenrol_no_face) and the log for watchlist entries\n");
    }
  }
  fg_border_close(b);
  return ex;
}
