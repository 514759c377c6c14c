/* Shared pieces of the facegate command: subcommand signature, option helpers. */
#ifndef FG_CLI_H
#define FG_CLI_H

#include <stdio.h>

/* Exit codes scripts can rely on (documented in `facegate --help`). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_VERIFY = 3, EXIT_RETRY = 4 };

typedef int (*cli_cmd_fn)(int argc, char **argv);

/* True if argv has --help or -h. */
int cli_wants_help(int argc, char **argv);
/* Where the shipped files are, never from the working directory (paths.c):
 * the models directory (flag, $FACEGATE_MODELS, the facegate home's models);
 * the default recognition model's FMR and FPIR calibrations; the console's
 * files; the home itself (*found 0: none found, the install location named). */
const char *cli_models_dir(const char *flag);
const char *cli_calibration_fmr(void);
const char *cli_calibration_fpir(void);
const char *cli_web_dir(void);
const char *cli_home_root(int *found);
/* Recognition model descriptor: --model, $FACEGATE_MODEL, or NULL (the default
 * model); a path as given, or a name as the home's descriptor file (paths.c:
 * data/models/NAME.json in a source tree, SHAREDIR/descriptors/NAME.json
 * installed). The descriptors' directory itself: */
const char *cli_model(const char *flag);
const char *cli_descriptors_dir(void);
/* The FMR calibration file of recognition model `model` (cli_model's answer;
 * NULL: the default model) into path: its descriptor's, or the default
 * model's from the home; *is_default (if not NULL): whether it is the default
 * model. Non-zero, with err set, when the descriptor cannot be read. */
struct fg_error;
int cli_model_calibration(const char *model, char *path, size_t cap, int *is_default, struct fg_error *err);
/* The value after option argv[*i] (advancing *i); prints "CMD: option X needs a
 * value" and exits with EXIT_USAGE when there is none. */
const char *cli_arg_val(const char *cmd, int argc, char **argv, int *i);
/* An integer in lo..hi, or a "CMD: WHAT must be an integer in lo..hi" message and
 * exit with EXIT_USAGE. */
long cli_parse_long(const char *cmd, const char *s, const char *what, long lo, long hi);
/* The --json convention (json_out.c): cli_json_begin/cli_json_end around a
 * command (main.c) make what it prints on stdout one compact JSON document,
 * or a problem document for a failure; cli_json_end returns the exit code.
 * cli_json_error_code records the library's FG_E* code behind a failure;
 * cli_exit ends the process through cli_json_end; cli_json_print writes one
 * value compactly with shortest round-trip numbers. */
struct json_t;
void cli_json_begin(int argc, char **argv);
int cli_json_end(int rc);
void cli_json_error_code(int code);
/* e's message, its code recorded for the problem (cli_json_error_code). */
struct fg_error;
const char *cli_errmsg(const struct fg_error *e);
_Noreturn void cli_exit(int rc);
void cli_json_print(FILE *f, const struct json_t *j);
/* A JSON document as text for a person: "key: value" lines, nested ones
 * indented, lists of values on one line, long strings (images) summarised. */
void cli_print_text(const struct json_t *j);
#define cli_parse_precision fg_face_precision_parse
/* "onednn" or "xnnpack" into *backend (FG_BACKEND_*); 0, or -1 for anything else. */
int cli_parse_backend(const char *s, int *backend);
/* Print a JSON string literal (escaped) to f. */
void cli_json_str(FILE *f, const char *s);

/* One file per command (src/cli/cmd_NAME.c), or per group of commands named
 * in the README: the models (cmd_model.c: models, model), the face tools
 * (cmd_face.c: detect, quality, embed, compare, devset), the traveller records
 * (cmd_travellers.c: travellers, crossings, overstays), backups (cmd_backup.c:
 * backup, restore) and eval's subcommands (cmd_eval.c, cmd_identify.c,
 * cmd_robust.c). */
int cmd_models(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_quality(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_devset(int argc, char **argv);
int cmd_gallery(int argc, char **argv);
/* `facegate eval identify` (src/cli/cmd_identify.c); argv[0] is "identify". */
int cmd_eval_identify(int argc, char **argv);
int cmd_eval(int argc, char **argv);
/* `facegate eval robustness` (src/cli/cmd_robust.c); argv[0] is "robustness". */
int cmd_eval_robustness(int argc, char **argv);
/* `facegate eval condition` (src/cli/cmd_robust.c): one image under one condition. */
int cmd_eval_condition(int argc, char **argv);

struct fg_face_engine;
struct fg_image;
struct fg_face_detections;
struct fg_face_result;
struct fg_error;
/* LFW's labelled face in a decoded image (src/cli/cmd_eval.c): the detection
 * nearest the image centre, or with none a fixed centre box (the median LFW
 * detection; *fallback = 1), run through fg_face_process_box. det is scratch. */
int cli_lfw_centre_face(struct fg_face_engine *fe, const struct fg_image *img, struct fg_face_detections *det,
                        struct fg_face_result *r, int *fallback, struct fg_error *e);
/* The service (src/cli/cmd_serve.c) and its API tokens (src/cli/cmd_token.c). */
int cmd_serve(int argc, char **argv);
int cmd_token(int argc, char **argv);
/* Border operations (src/cli/cmd_manifest.c, cmd_watchlist.c, cmd_encounter.c, cmd_verify.c,
 * cmd_referral.c, cmd_travellers.c, cmd_purge.c, cmd_backup.c, cmd_report.c, cmd_audit.c,
 * cmd_key.c, cmd_policy.c, cmd_reenrol.c). */
int cmd_manifest(int argc, char **argv);
int cmd_watchlist(int argc, char **argv);
int cmd_encounter(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_referral(int argc, char **argv);
int cmd_crossings(int argc, char **argv);
int cmd_travellers(int argc, char **argv);
int cmd_overstays(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_reenrol(int argc, char **argv);
int cmd_policy(int argc, char **argv);

#endif
