/*
 * `facegate encounter`: one gate capture against a staged flight.
 * docs/encounters.md has the decision table behind the outcomes.
 *
 * Exit codes, for scripts at a gate: 0 proceed (crossing recorded), 3 see an
 * officer (a referral was opened), 4 retry (failure to acquire), 1 error
 * (nothing recorded).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

#define MAX_IMAGE_BYTES ((size_t)32 << 20)

static void print_reasons(unsigned reasons) {
  int first = 1;
  for (unsigned bit = 1; bit < (1u << FG_QUALITY_REASON_COUNT); bit <<= 1)
    if (reasons & bit) {
      printf("%s%s", first ? "" : "; ", fg_quality_reason_text(bit));
      first = 0;
    }
}

static void print_result(const fg_encounter_result *r) {
  printf("%s", fg_outcome_name(r->outcome));
  if (r->outcome == FG_OUTCOME_MATCHED) printf(": %s (traveller %lld)", r->traveller_name,
                                               (long long)r->traveller_id);
  printf("  -> %s\n", r->gate_action);
  if (r->replayed) printf("  (the first outcome of this key, encounter %lld: nothing new recorded)\n",
                          (long long)r->encounter_id);
  if (!isnan(r->score)) printf("  score %.3f, threshold %.3f\n", r->score, r->threshold);
  if (!isnan(r->quality)) {
    printf("  quality %.0f", r->quality);
    if (r->quality_reasons) {
      printf(" (");
      print_reasons(r->quality_reasons);
      printf(")");
    }
    printf("\n");
  }
  if (r->outcome == FG_OUTCOME_FAILURE_TO_ACQUIRE) printf("  try %d at this gate\n", r->tries);
  if (!isnan(r->liveness)) printf("  liveness %.3f\n", r->liveness);
  if (r->watchlist_id > 0)
    printf("  watchlist hit: entry %lld, score %.3f, threshold %.3f (for officer review)\n",
           (long long)r->watchlist_id, r->watchlist_score, r->watchlist_threshold);
  if (r->referral_id > 0)
    printf("  referral %lld: %s\n", (long long)r->referral_id, r->referral_reason);
  if (r->crossing_id > 0) printf("  crossing %lld recorded\n", (long long)r->crossing_id);
  printf("  encounter %lld, %.1f ms (face %.1f, search %.2f, watchlist %.2f, store %.1f)\n",
         (long long)r->encounter_id, r->ms_total, r->ms_face, r->ms_search, r->ms_watchlist,
         r->ms_store);
}

int cmd_encounter(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: facegate encounter --manifest ID --gate G [--document NUMBER] [--key K] IMAGE\n"
           "       facegate encounter --manifest ID --gate G --opt-out --document NUMBER [--key K]\n\n"
           "Matches one gate capture against the flight's staged gallery, screens it\n"
           "against the watchlist and records the outcome durably: MATCHED (crossing\n"
           "recorded), NO_MATCH (referral for a manual document check),\n"
           "FAILURE_TO_ACQUIRE (retry; a referral after the policy's tries),\n"
           "LIVENESS_SUSPECT (referral) or OPT_OUT (no image is read or stored; manual\n"
           "processing; only where policy allows it for the document holder's category).\n"
           "--document: the presented document; the match must be its holder.\n"
           "--key: an idempotency key for this capture (e.g. a UUID): running the same\n"
           "command again with it returns the first outcome and records nothing more.\n\n"
           "exit codes: 0 proceed, 3 see an officer, 4 retry, 1 error (nothing recorded)\n\n"
           CLI_BORDER_OPTIONS_HELP);
    return EXIT_OK;
  }
  cli_border o;
  cli_border_init(&o, "facegate encounter");
  fg_encounter_request rq = {0};
  const char *image = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (cli_border_option(&o, argc, argv, &i)) continue;
    if (!strcmp(a, "--manifest"))
      rq.manifest_id = cli_parse_long(o.cmd, cli_arg_val(o.cmd, argc, argv, &i), "--manifest", 1,
                                      1L << 62);
    else if (!strcmp(a, "--gate")) rq.gate = cli_arg_val(o.cmd, argc, argv, &i);
    else if (!strcmp(a, "--document")) rq.document = cli_arg_val(o.cmd, argc, argv, &i);
    else if (!strcmp(a, "--opt-out")) rq.opt_out = 1;
    else if (!strcmp(a, "--key")) rq.key = cli_arg_val(o.cmd, argc, argv, &i);
    else if (a[0] == '-') {
      fprintf(stderr, "%s: unknown option %s\n", o.cmd, a);
      return EXIT_USAGE;
    } else if (!image) image = a;
    else {
      fprintf(stderr, "%s: one capture at a time\n", o.cmd);
      return EXIT_USAGE;
    }
  }
  if (!rq.manifest_id || !rq.gate || (!image && !rq.opt_out)) {
    fprintf(stderr, "%s: --manifest, --gate and an IMAGE (or --opt-out) are required\n", o.cmd);
    return EXIT_USAGE;
  }
  if (rq.opt_out && image) {
    fprintf(stderr, "%s: --opt-out takes no image (none is processed or stored)\n", o.cmd);
    return EXIT_USAGE;
  }
  unsigned char *data = NULL;
  if (image && cli_read_file(o.cmd, image, MAX_IMAGE_BYTES, &data, &rq.image_len) != EXIT_OK)
    return EXIT_FAIL;
  rq.image = data;
  fg_border *b = cli_border_open(&o);
  if (!b) {
    free(data);
    return EXIT_FAIL;
  }
  fg_actor who = cli_border_actor(&o, "border crossing");
  fg_encounter_result r;
  fg_error e;
  int ex;
  if (fg_border_encounter(b, &who, &rq, &r, &e) != FG_OK) ex = cli_border_fail(&o, &e);
  else {
    if (o.json) cli_print_json(fg__json(fg_encounter_result_json(&r)));
    else print_result(&r);
    ex = !strcmp(r.gate_action, "proceed") ? EXIT_OK
         : !strcmp(r.gate_action, "retry") ? EXIT_RETRY
                                           : EXIT_VERIFY;
  }
  fg_border_close(b);
  free(data);
  return ex;
}
