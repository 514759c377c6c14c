/*
 * `facegate verify`: 1:1, a live capture against a document photo or DG2
 * (docs/encounters.md, "verify").
 *
 * Exit codes: 0 same person, 3 not the same person, 4 retry (failure to
 * acquire on either side), 1 error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

#define MAX_IMAGE_BYTES ((size_t)32 << 20)

/* "live capture: several faces in the picture, ..." when the side has reasons. */
static void side_reasons(const char *side, unsigned bits) {
  if (!bits) return;
  printf("  %s:", side);
  const char *sep = " ";
  for (unsigned i = 0; i < FG_QUALITY_REASON_COUNT; i++)
    if (bits & (1u << i)) printf("%s%s", sep, fg_quality_reason_text(1u << i)), sep = ", ";
  printf("\n");
}

int cmd_verify(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate verify LIVE --document DG2|IMAGE [--fmr F]\n\n"
           "Compares a live capture with the document's photo (an ICAO 9303 DG2 file or\n"
           "an image) at a false-match rate (default: the policy's verify_fmr, 5e-4 as\n"
           "the EU EES requires). Nothing is stored; the check is audited.\n\n"
           "exit codes: 0 same person, 3 not the same person, 4 a side failed to\n"
           "acquire, 1 error\n\n" CLI_BORDER_OPTIONS_HELP);
    return EXIT_OK;
  }
  cli_border o;
  cli_border_init(&o, "facegate verify");
  const char *live = NULL, *doc = NULL;
  double fmr = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (cli_border_option(&o, argc, argv, &i)) continue;
    if (!strcmp(a, "--document")) doc = cli_arg_val(o.cmd, argc, argv, &i);
    else if (!strcmp(a, "--fmr")) {
      const char *s = cli_arg_val(o.cmd, argc, argv, &i);
      char *end;
      fmr = strtod(s, &end);
      if (*end || !(fmr > 0 && fmr < 1)) {
        fprintf(stderr, "%s: --fmr must be a rate in (0, 1), e.g. 5e-4\n", o.cmd);
        return EXIT_USAGE;
      }
    } else if (a[0] == '-') {
      fprintf(stderr, "%s: unknown option %s\n", o.cmd, a);
      return EXIT_USAGE;
    } else if (!live) live = a;
    else {
      fprintf(stderr, "%s: one live capture (the document goes after --document)\n", o.cmd);
      return EXIT_USAGE;
    }
  }
  if (!live || !doc) {
    fprintf(stderr, "%s: LIVE and --document are required\n", o.cmd);
    return EXIT_USAGE;
  }
  unsigned char *ld = NULL, *dd = NULL;
  size_t ll, dl;
  int ex = cli_read_file(o.cmd, live, MAX_IMAGE_BYTES, &ld, &ll);
  if (ex == EXIT_OK) ex = cli_read_file(o.cmd, doc, MAX_IMAGE_BYTES, &dd, &dl);
  fg_border *b = ex == EXIT_OK ? cli_border_open(&o) : NULL;
  if (b) {
    fg_actor who = cli_border_actor(&o, "document check");
    fg_verify_result r;
    fg_error e;
    if (fg_border_verify(b, &who, ld, ll, dd, dl, fmr, &r, &e) != FG_OK)
      ex = cli_border_fail(&o, &e);
    else {
      if (o.json) cli_print_json(fg__json(fg_verify_result_json(&r)));
      else if (r.decision < 0)
        printf("failure to acquire: %s side (quality %.0f / %.0f)\n",
               r.live_status != FG_FACE_OK ? "live" : "document", r.live_quality,
               r.document_quality);
      else
        printf("%s: score %.3f, threshold %.3f at FMR %g\n",
               r.decision ? "SAME PERSON" : "NOT THE SAME PERSON", r.score, r.threshold, r.fmr);
      if (!o.json) {
        side_reasons("live capture", r.live_reasons);
        side_reasons("document photo", r.document_reasons);
      }
      ex = r.decision > 0 ? EXIT_OK : r.decision == 0 ? EXIT_VERIFY : EXIT_RETRY;
    }
    fg_border_close(b);
  } else if (ex == EXIT_OK) ex = EXIT_FAIL;
  free(ld);
  free(dd);
  return ex;
}
