/*
 * facegate — the command-line tool. main() only dispatches to subcommands;
 * each lives in its own cmd_*.c file and prints its own --help.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "facegate/face.h"
#include "facegate/nn.h"

static const struct {
  const char *name;
  cli_cmd_fn fn;
  const char *summary;
} commands[] = {
  {"models", cmd_models, "list the default models in use and verify their SHA-256"},
  {"demo", cmd_demo, "run the four default models on one photo and print what each produced"},
  {"model", cmd_model, "inspect (info), run or benchmark any supported ONNX model"},
  {"detect", cmd_detect, "find the faces in an image (boxes, scores, the gate's choice; --draw)"},
  {"quality", cmd_quality, "capture quality of the face in an image, with feedback reasons"},
  {"embed", cmd_embed, "write the template of the face in an image (FGT1, fp32 or fp16)"},
  {"compare", cmd_compare, "compare two faces (images, DG2 or templates) at a chosen FMR"},
  {"devset", cmd_devset, "measure the face pipeline on the LFW development subset"},
  {"gallery", cmd_gallery, "galleries of templates: create, add, remove, info, 1:N search"},
  {"eval", cmd_eval, "accuracy on a benchmark: eval lfw DIR (10-fold, TAR@FAR, EER, DET, calibration)"},
  {"serve", cmd_serve, "serve the HTTP JSON API and the officer console (facegate serve --help)"},
  {"token", cmd_token, "API tokens for the service: create --role ROLE --name NAME, list, revoke NAME"},
  {"manifest", cmd_manifest, "flight manifests: import (stages the gallery), close, list, show"},
  {"encounter", cmd_encounter, "one gate capture against a flight: MATCHED, NO_MATCH, ..."},
  {"verify", cmd_verify, "1:1 check of a live capture against a document photo or DG2"},
  {"watchlist", cmd_watchlist, "watchlist entries: add, import, remove, list"},
  {"referral", cmd_referral, "the officer's queue: list, show, decide"},
  {"travellers", cmd_travellers, "find travellers by name or document number"},
  {"crossings", cmd_crossings, "a traveller's entries and exits"},
  {"overstays", cmd_overstays, "foreign nationals past their admitted-until date"},
  {"purge", cmd_purge, "delete what the retention policy says must go"},
  {"backup", cmd_backup, "copy the whole store into one file (sealed data stays sealed)"},
  {"restore", cmd_restore, "load a backup into an empty store, then apply retention"},
  {"report", cmd_report, "the day's figures (capture, match, FTA rates, referrals; --plot)"},
  {"audit", cmd_audit, "the tamper-evident audit log: verify, list"},
  {"reenrol", cmd_reenrol, "re-embed templates of another recognition model from their sealed photos"},
  {"key", cmd_key, "the data key: rotate (re-seals every image and template)"},
  {"policy", cmd_policy, "show the policy in force (or check a policy file)"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: facegate <command> [options]   (facegate <command> --help for details)\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\nenvironment:\n"
             "  FACEGATE_HOME    facegate's files: models, calibration, console (default: found from\n"
             "                   the executable, PREFIX/share/facegate or the source tree; facegate --version)\n"
             "  FACEGATE_MODELS  directory of the default models (default HOME's models)\n"
             "  FACEGATE_DATA    the key file and SQLite store (default var/data)\n"
             "  FACEGATE_STORE   the store, when not DATA/facegate.db: a SQLite file or postgresql://...\n"
             "  FACEGATE_LFW     Labeled Faces in the Wild, for eval (default ../shared/data/lfw)\n"
             "\nexit codes: 0 success, 1 failure, 2 usage error, 3 verification failed or referred\n"
             "            to an officer, 4 failure to acquire (retry)\n");
}

int cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
  return 0;
}


int cli_parse_backend(const char *s, int *backend) {
  if (!strcmp(s, "onednn")) *backend = FG_BACKEND_ONEDNN;
  else if (!strcmp(s, "xnnpack")) *backend = FG_BACKEND_XNNPACK;
  else return -1;
  return 0;
}

const char *cli_arg_val(const char *cmd, int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "%s: option %s needs a value\n", cmd, argv[*i]);
    cli_exit(EXIT_USAGE);
  }
  return argv[++*i];
}

long cli_parse_long(const char *cmd, const char *s, const char *what, long lo, long hi) {
  char *e;
  errno = 0;
  long v = strtol(s, &e, 10);
  if (errno || e == s || *e || v < lo || v > hi) {
    fprintf(stderr, "%s: %s must be an integer in %ld..%ld (got '%s')\n", cmd, what, lo, hi, s);
    cli_exit(EXIT_USAGE);
  }
  return v;
}

/* jansson's encoder, so that the command line escapes as the service does;
 * text that is not UTF-8 cannot be a JSON string and is written as null. */
void cli_json_str(FILE *f, const char *s) {
  json_t *j = json_string_nocheck(s ? s : "");
  if (!j || json_dumpf(j, f, JSON_ENCODE_ANY) != 0) fputs("null", f);
  json_decref(j);
}

#ifndef FG_VERSION
#define FG_VERSION "unknown"
#endif

/* facegate --version: the version, and where the shipped files were found. */
static int version(void) {
  int found;
  const char *root = cli_home_root(&found);
  printf("facegate %s\n", FG_VERSION);
  printf("home    %s%s\n", root, found ? "" : " (not found: set FACEGATE_HOME)");
  printf("models  %s\n", cli_models_dir(NULL));
  printf("calibration %s, %s\n", cli_calibration_fmr(), cli_calibration_fpir());
  printf("console %s\n", cli_web_dir());
  return found ? EXIT_OK : EXIT_FAIL;
}

int main(int argc, char **argv) {
  if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) return version();
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) {
      cli_json_begin(argc - 1, argv + 1);
      return cli_json_end(commands[i].fn(argc - 1, argv + 1));
    }
  fprintf(stderr, "facegate: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return EXIT_USAGE;
}
