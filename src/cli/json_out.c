/*
 * One JSON convention for the whole command line (docs/cli.md): with --json,
 * every command prints exactly one JSON document on stdout, success or
 * failure, compact, numbers in their shortest round-trip form; a failure is
 * the API's problem document (fg_problem_json: type, title, status, detail,
 * code) with the command's exit code added ("exit").
 *
 * The commands print their results as they always have; main() calls
 * cli_json_begin before the command and cli_json_end after it, so the rule
 * holds for every command by construction:
 *
 *   - stdout is collected in memory while the command runs; at the end, a
 *     result (exit 0, 3 or 4, which are outcomes, not failures) that is one
 *     JSON document is printed again compactly; anything else becomes a
 *     problem document (a failed command's own document, e.g. which inputs
 *     of a batch failed, goes with it as "result");
 *   - stderr still reaches the terminal as it is written (progress, warnings,
 *     the error message), and its last line is kept: the problem's detail;
 *   - the library's error code behind a failure, when the command knows it
 *     (cli_json_error_code), is the problem's code; without it the exit code
 *     says: usage → FG_EINVAL, a failure → FG_EIO.
 *
 * Numbers: a value that is exactly a float (most scores are computed in
 * single precision) is written with the fewest digits that read back as that
 * float (0.4181, not 0.41809999942779541); any other double with the fewest
 * that read back as that double (0.0005, not 0.00050000000000000001).
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/doc.h"
#include "facegate/error.h"
#include "facegate/server.h"

static struct {
  int on;
  FILE *real_out, *real_err;
  char *buf;
  size_t len;
  char last[1024]; /* stderr's last complete or current line */
  size_t last_n;
  int pending_nl;
  int code; /* FG_E* behind the failure, 0: unknown */
} J;

/* ---- writing -------------------------------------------------------------------- */

/* The fewest significant digits (1..max) that read back as v: as a float
 * when single, else as a double; positional notation for everyday
 * magnitudes (100.0, not 1e+02). */
static void shortest(char *b, size_t n, double v, int single) {
  int max = single ? 9 : 17, p = 1;
  for (; p < max; p++) {
    snprintf(b, n, "%.*e", p - 1, v);
    if (single ? strtof(b, NULL) == (float)v : strtod(b, NULL) == v) break;
  }
  double a = fabs(v);
  if (a == 0 || (a >= 1e-4 && a < 1e16)) {
    int exp10 = (int)floor(log10(a ? a : 1));
    int decimals = p - 1 - exp10; /* digits after the point */
    snprintf(b, n, "%.*f", decimals > 0 ? decimals : 0, v);
  } else {
    snprintf(b, n, "%.*e", p - 1, v);
  }
}

static void put_real(FILE *f, double v) {
  char b[64];
  if (!isfinite(v)) {
    fputs("null", f);
    return;
  }
  shortest(b, sizeof b, v, (double)(float)v == v);
  /* a real stays a real when read back ("1.0", not "1") */
  if (!strpbrk(b, ".eE")) strcat(b, ".0");
  fputs(b, f);
}

static void put_string(FILE *f, const char *s, size_t n) {
  json_t *j = json_stringn(s, n);
  char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
  fputs(t ? t : "\"\"", f);
  free(t);
  json_decref(j);
}

void cli_json_print(FILE *f, const json_t *j) {
  switch (json_typeof(j)) {
  case JSON_OBJECT: {
    const char *k;
    json_t *v;
    int first = 1;
    fputc('{', f);
    json_object_foreach((json_t *)j, k, v) {
      if (!first) fputc(',', f);
      first = 0;
      put_string(f, k, strlen(k));
      fputc(':', f);
      cli_json_print(f, v);
    }
    fputc('}', f);
    break;
  }
  case JSON_ARRAY: {
    size_t i;
    json_t *v;
    fputc('[', f);
    json_array_foreach(j, i, v) {
      if (i) fputc(',', f);
      cli_json_print(f, v);
    }
    fputc(']', f);
    break;
  }
  case JSON_STRING: put_string(f, json_string_value(j), json_string_length(j)); break;
  case JSON_INTEGER: fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(j)); break;
  case JSON_REAL: put_real(f, json_real_value(j)); break;
  case JSON_TRUE: fputs("true", f); break;
  case JSON_FALSE: fputs("false", f); break;
  default: fputs("null", f); break;
  }
}

void cli_print_json(json_t *j) {
  if (!j) return;
  cli_json_print(stdout, j);
  fputc('\n', stdout);
  json_decref(j);
}

/* ---- the same documents as text, for a person -------------------------------------- */

static int scalar(const json_t *v) { return !json_is_object(v) && !json_is_array(v); }

static void text_scalar(const json_t *v) {
  if (json_is_string(v)) {
    size_t n = json_string_length(v);
    if (n > 160) printf("(%zu characters: an image or other data; --json shows it)", n);
    else fputs(json_string_value(v), stdout);
  } else if (json_is_integer(v)) printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else if (json_is_real(v)) printf("%.4g", json_real_value(v));
  else if (json_is_true(v)) fputs("yes", stdout);
  else if (json_is_false(v)) fputs("no", stdout);
  else fputs("-", stdout);
}

static void text_key(const char *k, int indent) {
  printf("%*s", indent, "");
  for (; *k; k++) putchar(*k == '_' ? ' ' : *k);
  putchar(':');
}

static void text_value(const json_t *v, int indent);

static void text_object(const json_t *o, int indent) {
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)o, k, v) {
    text_key(k, indent);
    if (scalar(v)) {
      putchar(' ');
      text_scalar(v);
      putchar('\n');
    } else {
      text_value(v, indent);
    }
  }
}

/* After "key:" — a one-line list of scalars, or nested lines. */
static void text_value(const json_t *v, int indent) {
  size_t i;
  json_t *x;
  int flat = json_is_array(v);
  json_array_foreach(v, i, x) flat = flat && scalar(x);
  if (json_is_array(v) && json_array_size(v) == 0) {
    fputs(" (none)\n", stdout);
  } else if (flat) {
    json_array_foreach(v, i, x) {
      fputs(i ? ", " : " ", stdout);
      text_scalar(x);
    }
    putchar('\n');
  } else if (json_is_array(v)) {
    putchar('\n');
    json_array_foreach(v, i, x) {
      printf("%*s- %zu\n", indent + 2, "", i + 1);
      if (scalar(x)) printf("%*s", indent + 4, ""), text_scalar(x), putchar('\n');
      else if (json_is_object(x)) text_object(x, indent + 4);
      else text_value(x, indent + 4);
    }
  } else {
    putchar('\n');
    text_object(v, indent + 2);
  }
}

void cli_print_text(const json_t *j) {
  if (json_is_object(j)) text_object(j, 0);
  else if (scalar(j)) text_scalar(j), putchar('\n');
  else text_value(j, -2);
}

/* ---- stderr, passed through, its last line kept --------------------------------- */

static ssize_t err_write(void *cookie, const char *p, size_t n) {
  (void)cookie;
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(STDERR_FILENO, p + done, n - done);
    if (w <= 0) break;
    done += (size_t)w;
  }
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c == '\n') {
      J.pending_nl = 1;
      continue;
    }
    if (c == '\r') continue; /* a progress bar redrawing itself */
    if (J.pending_nl) J.last_n = 0, J.pending_nl = 0;
    if (J.last_n + 1 < sizeof J.last) J.last[J.last_n++] = c;
  }
  J.last[J.last_n] = '\0';
  return (ssize_t)n;
}

/* ---- around the command ---------------------------------------------------------- */

void cli_json_begin(int argc, char **argv) {
  int want = 0;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--json")) want = 1;
  if (!want) return;
  FILE *out = open_memstream(&J.buf, &J.len);
  cookie_io_functions_t io = {.write = err_write};
  FILE *err = fopencookie(NULL, "w", io);
  if (!out || !err) { /* out of memory: plain output rather than none */
    if (out) fclose(out);
    if (err) fclose(err);
    free(J.buf);
    J.buf = NULL;
    return;
  }
  setvbuf(err, NULL, _IONBF, 0);
  J.real_out = stdout;
  J.real_err = stderr;
  stdout = out;
  stderr = err;
  J.on = 1;
}

void cli_json_error_code(int code) {
  if (code < 0) J.code = code;
}

const char *cli_errmsg(const fg_error *e) {
  cli_json_error_code(e->code);
  return e->msg;
}

/* The message of the last line on stderr, without its "facegate CMD: " prefix. */
static const char *detail_of(const char *line) {
  if (strncmp(line, "facegate", 8) != 0) return line;
  const char *c = strstr(line, ": ");
  return c ? c + 2 : line;
}

int cli_json_end(int rc) {
  if (!J.on) return rc;
  J.on = 0;
  fclose(stdout);
  fclose(stderr);
  stdout = J.real_out;
  stderr = J.real_err;
  json_error_t jerr;
  json_t *doc = J.len ? json_loadb(J.buf, J.len, JSON_DECODE_ANY, &jerr) : NULL;
  int outcome = rc == EXIT_OK || rc == EXIT_VERIFY || rc == EXIT_RETRY;
  if (doc && outcome) {
    cli_json_print(stdout, doc);
    fputc('\n', stdout);
  } else {
    /* a failure, or a result that is not one document: say so as a problem */
    if (!outcome && J.len && !doc) fwrite(J.buf, 1, J.len, stderr); /* nothing printed is lost */
    int code = J.code ? J.code : rc == EXIT_USAGE ? FG_EINVAL : FG_EIO;
    char detail[FG_ERROR_MSG_MAX];
    if (outcome) {
      snprintf(detail, sizeof detail, "the command's result is not one JSON document (%s)",
               J.len ? jerr.text : "nothing printed");
      code = FG_EIO;
      rc = EXIT_FAIL;
    } else {
      snprintf(detail, sizeof detail, "%.500s", J.last_n ? detail_of(J.last) : fg_strerror(code));
    }
    json_t *p = fg__json(fg_problem_json(code, detail));
    if (p) json_object_set_new(p, "exit", json_integer(rc));
    if (p && doc && !outcome) json_object_set(p, "result", doc); /* e.g. which inputs failed */
    if (p) cli_json_print(stdout, p);
    else fputs("{\"code\":\"FG_ENOMEM\",\"exit\":1}", stdout);
    fputc('\n', stdout);
    json_decref(p);
  }
  json_decref(doc);
  free(J.buf);
  J.buf = NULL;
  fflush(stdout);
  return rc;
}

_Noreturn void cli_exit(int rc) {
  exit(cli_json_end(rc));
}
