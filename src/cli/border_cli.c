/*
 * Shared plumbing of the border-operations commands (border_cli.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/border_cli.h"
#include "cli/cli.h"

void cli_border_init(cli_border *o, const char *cmd) {
  memset(o, 0, sizeof *o);
  o->cmd = cmd;
  const char *d = getenv("FACEGATE_DATA");
  o->data_dir = d && *d ? d : "var/data";
  const char *st = getenv("FACEGATE_STORE");
  o->store = st && *st ? st : NULL;
}

int cli_border_option(cli_border *o, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  if (!strcmp(a, "--data")) o->data_dir = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--store")) o->store = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--config")) o->config = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--models-dir")) o->models_dir = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--model")) o->model = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--as")) o->as = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--site") || !strcmp(a, "--port")) o->port = cli_arg_val(o->cmd, argc, argv, i);
  else if (!strcmp(a, "--json")) o->json = 1;
  else return 0;
  return 1;
}

int cli_border_id_args(cli_border *o, int argc, char **argv, int required, const char *what,
                       const char *hint, long long *id) {
  *id = 0;
  char label[64];
  snprintf(label, sizeof label, "the %s id", what);
  for (int i = 1; i < argc; i++) {
    if (cli_border_option(o, argc, argv, &i)) continue;
    if (argv[i][0] == '-') {
      fprintf(stderr, "%s: unknown option %s\n", o->cmd, argv[i]);
      return EXIT_USAGE;
    }
    if (*id) {
      fprintf(stderr, "%s: one %s at a time\n", o->cmd, what);
      return EXIT_USAGE;
    }
    *id = cli_parse_long(o->cmd, argv[i], label, 1, 1L << 62);
  }
  if (required && !*id) {
    fprintf(stderr, "%s: which %s? (%s)\n", o->cmd, what, hint);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

fg_border *cli_border_open(const cli_border *o) {
  fg_border_options bo;
  fg_border_options_init(&bo);
  bo.data_dir = o->data_dir;
  bo.store = o->store;
  bo.policy_file = o->config;
  if (o->port) bo.port = o->port;
  bo.face.model = cli_model(o->model);
  cli_border_paths(&bo, o->models_dir);
  fg_border *b;
  fg_error e;
  if (fg_border_open(&bo, &b, &e) != FG_OK) {
    fprintf(stderr, "%s: %s\n", o->cmd, cli_errmsg(&e));
    return NULL;
  }
  return b;
}

void cli_border_paths(fg_border_options *bo, const char *models_flag) {
  bo->face.models_dir = cli_models_dir(models_flag);
  if (!bo->face.model) bo->face.model = cli_model(NULL); /* $FACEGATE_MODEL: the model the gates run */
  if (bo->face.model && *bo->face.model) return; /* a named model: its descriptor's calibration */
  if (!bo->calibration) bo->calibration = cli_calibration_fmr();
  if (!bo->fpir_calibration) bo->fpir_calibration = cli_calibration_fpir();
}

fg_actor cli_border_actor(const cli_border *o, const char *purpose) {
  const char *name = o->as;
  if (!name || !*name) name = getenv("USER");
  if (!name || !*name) name = "local";
  return (fg_actor){name, "local", purpose};
}

int cli_border_fail(const cli_border *o, const fg_error *err) {
  cli_json_error_code(err->code);
  fprintf(stderr, "%s: %s\n", o->cmd, cli_errmsg(err));
  return err->code == FG_EINVAL ? EXIT_USAGE : EXIT_FAIL;
}

const char *cli_jstr(const json_t *obj, const char *key, char *buf, size_t cap) {
  json_t *v = json_object_get(obj, key);
  if (json_is_string(v)) return json_string_value(v);
  if (json_is_integer(v)) snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) snprintf(buf, cap, "%.4f", json_real_value(v));
  else if (json_is_true(v)) snprintf(buf, cap, "yes");
  else if (json_is_false(v)) snprintf(buf, cap, "no");
  else snprintf(buf, cap, "%s", "");
  return buf;
}

int cli_read_file(const char *cmd, const char *path, size_t max, unsigned char **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  struct stat st;
  if (!f || fstat(fileno(f), &st) != 0) {
    cli_json_error_code(errno == ENOENT ? FG_ENOTFOUND : FG_EIO);
    fprintf(stderr, "%s: %s: %s\n", cmd, path, strerror(errno));
    if (f) fclose(f);
    return EXIT_FAIL;
  }
  if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max || st.st_size == 0) {
    cli_json_error_code(!S_ISREG(st.st_mode) ? FG_EINVAL : st.st_size ? FG_ELIMIT : FG_EFORMAT);
    if (S_ISDIR(st.st_mode)) fprintf(stderr, "%s: %s is a directory, not a file\n", cmd, path);
    else if (!S_ISREG(st.st_mode)) fprintf(stderr, "%s: %s is not a regular file\n", cmd, path);
    else if (st.st_size == 0) fprintf(stderr, "%s: %s is empty\n", cmd, path);
    else
      fprintf(stderr, "%s: %s is too large: %lld bytes, the limit is %zu MiB\n", cmd, path,
              (long long)st.st_size, max >> 20);
    fclose(f);
    return EXIT_FAIL;
  }
  size_t n = (size_t)st.st_size;
  unsigned char *buf = malloc(n ? n : 1);
  if (!buf || fread(buf, 1, n, f) != n) {
    fprintf(stderr, "%s: %s: %s\n", cmd, path, buf ? "read error" : "out of memory");
    free(buf);
    fclose(f);
    return EXIT_FAIL;
  }
  fclose(f);
  *data = buf;
  *len = n;
  return EXIT_OK;
}

long long cli_parse_time(const char *cmd, const char *s, const char *what) {
  int64_t t;
  if (fg_time_parse(s, &t) != FG_OK) {
    fprintf(stderr, "%s: %s must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (got '%s')\n", cmd, what, s);
    cli_exit(EXIT_USAGE);
  }
  return (long long)t;
}

/* Common loop: consume the shared options, hand the others to `other`, which
 * returns 1 if it took the argument, 0 for unknown, and collect positionals. */

int cli_border_parse(cli_border *o, int argc, char **argv, cli_opt_fn other, void *ctx,
                     const char **pos, int max_pos, int *n_pos) {
  *n_pos = 0;
  for (int i = 1; i < argc; i++) {
    if (cli_border_option(o, argc, argv, &i)) continue;
    if (other && other(ctx, o, argc, argv, &i)) continue;
    if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "%s: unknown option %s (--help)\n", o->cmd, argv[i]);
      return EXIT_USAGE;
    }
    if (*n_pos >= max_pos) {
      fprintf(stderr, "%s: unexpected argument '%s' (--help)\n", o->cmd, argv[i]);
      return EXIT_USAGE;
    }
    pos[(*n_pos)++] = argv[i];
  }
  return EXIT_OK;
}


int cli_border_run(const cli_border *o, const char *purpose, cli_run_fn fn, cli_text_fn text,
                   void *ctx, int (*exit_of)(const json_t *out)) {
  fg_border *b = cli_border_open(o);
  if (!b) return EXIT_FAIL;
  fg_actor who = cli_border_actor(o, purpose);
  json_t *out = NULL;
  fg_error e;
  int ex = EXIT_OK;
  if (fn(b, &who, ctx, &out, &e) != FG_OK) ex = cli_border_fail(o, &e);
  else {
    if (exit_of) ex = exit_of(out);
    if (o->json) {
      cli_print_json(out);
      out = NULL;
    } else if (text) text(out, ctx);
  }
  json_decref(out);
  fg_border_close(b);
  return ex;
}

void cli_print_rows(const json_t *rows, const char *const *keys, int nkeys) {
  size_t i;
  json_t *r;
  char buf[64];
  json_array_foreach(rows, i, r) {
    for (int k = 0; k < nkeys; k++) {
      const char *v = cli_jstr(r, keys[k], buf, sizeof buf);
      printf("%s%s=%s", k ? "  " : "", keys[k], *v ? v : "-");
    }
    printf("\n");
  }
  if (json_array_size(rows) == 0) printf("(none)\n");
}

void cli_text_json(const json_t *out, void *ctx) {
  (void)ctx;
  cli_print_text(out);
}
