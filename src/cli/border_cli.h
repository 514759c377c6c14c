/*
 * What the border-operations commands share: the options every one of them
 * takes (--data, --store, --config, --as, --models-dir, --site, --json), opening the
 * border module with them, and printing results and errors.
 */
#ifndef FG_CLI_BORDER_H
#define FG_CLI_BORDER_H

#include <jansson.h>

#include "cli/border_json.h"
#include "facegate/border.h"

typedef struct cli_border {
  const char *cmd;        /* "facegate manifest import", for messages */
  const char *data_dir;   /* --data, $FACEGATE_DATA, var/data */
  const char *store;      /* --store, $FACEGATE_STORE; NULL: <data_dir>/facegate.db */
  const char *config;     /* --config: policy file */
  const char *models_dir; /* --models-dir */
  const char *model;      /* --model: recognition model descriptor (default $FACEGATE_MODEL) */
  const char *as;         /* --as: the person acting (default $USER) */
  const char *port;       /* --site (or --port): this installation's port of entry */
  int json;               /* --json */
} cli_border;

#define CLI_BORDER_OPTIONS_HELP                                                           \
  "common options:\n"                                                                     \
  "  --data DIR        the key file, and the SQLite store unless --store names another\n"   \
  "                    (default $FACEGATE_DATA or var/data)\n"                              \
  "  --store TARGET    the store: a SQLite file or postgresql://... (default\n"             \
  "                    $FACEGATE_STORE or DIR/facegate.db; docs/deployment.md)\n"           \
  "  --config FILE     policy file (default: built-in policy; docs/border.md, Policy)\n"  \
  "  --as NAME         who is acting, for the audit log (default $USER)\n"                \
  "  --site CODE       this installation's port of entry, e.g. LHR (default XXX)\n"       \
  "  --models-dir DIR  models (default $FACEGATE_MODELS or facegate's home)\n"          \
  "  --model NAME|FILE recognition model the gates run (default $FACEGATE_MODEL or\n"   \
  "                    fr_feature; after a switch: facegate reenrol, docs/models.md)\n" \
  "  --json            print JSON\n"

void cli_border_init(cli_border *o, const char *cmd);
/* Consume the common option at argv[*i] (advancing *i past its value);
 * returns 1 if it was one. */
int cli_border_option(cli_border *o, int argc, char **argv, int *i);
/* Parse the arguments of a command that takes the common options and at most
 * one id (`manifest show 7`, `watchlist remove 3`): *id is 0 when none was
 * given; with `required`, none is a usage error naming `what` ("manifest",
 * "entry") and where ids come from (`hint`). Returns EXIT_OK or the exit code. */
int cli_border_id_args(cli_border *o, int argc, char **argv, int required, const char *what,
                       const char *hint, long long *id);
/* Open the border module; on failure print "cmd: message" and return NULL. */
fg_border *cli_border_open(const cli_border *o);
/* The local actor: {--as or $USER, "local", purpose}. */
/* The shipped files' paths (paths.c) into bo: the models (models_flag, or
 * the default), the FMR and FPIR calibrations unless already set. */
void cli_border_paths(fg_border_options *bo, const char *models_flag);
fg_actor cli_border_actor(const cli_border *o, const char *purpose);
/* Print "cmd: message" for err and return the exit code it maps to. */
int cli_border_fail(const cli_border *o, const fg_error *err);
/* Print j (indented JSON) and a newline on stdout; steals the reference. */
void cli_print_json(json_t *j);
/* Member as text ("" for null/absent; numbers formatted). buf >= 64 bytes. */
const char *cli_jstr(const json_t *obj, const char *key, char *buf, size_t cap);
/* Read a whole file (at most max bytes); prints the error. */
int cli_read_file(const char *cmd, const char *path, size_t max, unsigned char **data, size_t *len);
/* A date/time argument "YYYY-MM-DD[THH:MM[:SS]Z]" as epoch seconds; exits with
 * EXIT_USAGE on a malformed one. */
long long cli_parse_time(const char *cmd, const char *s, const char *what);

/* The records commands' skeleton (cmd_referral.c, cmd_travellers.c, ...). */
/* Parse argv: the shared options (cli_border_option), then `other`, which
 * returns 1 if it took the argument and 0 if it does not know it; the rest
 * are positionals (at most max_pos). EXIT_USAGE with a message otherwise. */
typedef int (*cli_opt_fn)(void *ctx, cli_border *o, int argc, char **argv, int *i);
int cli_border_parse(cli_border *o, int argc, char **argv, cli_opt_fn other, void *ctx,
                     const char **pos, int max_pos, int *n_pos);
/* Open the border, run fn, print its result (JSON with --json, else text),
 * close; the exit code is exit_of(result) when given, else 0 (or the error's). */
typedef int (*cli_run_fn)(fg_border *b, const fg_actor *who, void *ctx, json_t **out, fg_error *e);
typedef void (*cli_text_fn)(const json_t *out, void *ctx);
int cli_border_run(const cli_border *o, const char *purpose, cli_run_fn fn, cli_text_fn text,
                   void *ctx, int (*exit_of)(const json_t *out));
/* A text_fn: the result as indented text (cli_print_text). */
void cli_text_json(const json_t *out, void *ctx);
/* One line per row of the keys' values ("(none)" for no rows). */
void cli_print_rows(const json_t *rows, const char *const *keys, int nkeys);

#endif
