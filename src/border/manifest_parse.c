/*
 * The manifest parsers: JSON (jansson) and CSV (libcsv) into an
 * fg__manifest_doc (manifest_parse.h). Both formats share one field table
 * and one set of checks, so a passenger means the same whichever way it was
 * written; docs/manifests.md is the user's description of the same rules.
 *
 * Every value is checked for shape and length before it is copied into the
 * fixed-size fields of a passenger; a bad value becomes a problem of that
 * passenger (named by field, with the offending value echoed only for codes
 * and dates, never for names), and the parse goes on. What makes the file as
 * a whole unusable ends the parse with FG_EFORMAT or FG_ELIMIT.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <jansson.h>
#include <sodium.h>

#include "border/border_internal.h"
#include "border/manifest_parse.h"

/* ---- fields ------------------------------------------------------------------ */

enum {
  F_SURNAME, F_GIVEN, F_DOB, F_NATIONALITY, F_SEX, F_CATEGORY, F_DOC_TYPE, F_DOC_NUMBER,
  F_ISSUING, F_DOC_EXPIRY, F_ADMITTED, F_PHOTOS, F_COUNT
};

/* CSV column names, in field order. */
static const char *const CSV_COLUMNS[F_COUNT] = {
    "surname",  "given_names", "date_of_birth", "nationality",   "sex",            "category",
    "doc_type", "doc_number",  "issuing_state", "doc_expiry", "admitted_until", "photos"};

/* Fields a passenger cannot be recorded without. */
static const int REQUIRED[] = {F_SURNAME, F_CATEGORY, F_DOC_NUMBER, F_ISSUING};

void fg__manifest_problem_add(fg__manifest_passenger *p, const char *code, int photo,
                              const char *fmt, ...) {
  if (p->nproblems >= FG__MANIFEST_MAX_PROBLEMS) return;
  fg__manifest_problem *q = &p->problem[p->nproblems++];
  q->code = code;
  q->photo = photo;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(q->detail, sizeof q->detail, fmt, ap);
  va_end(ap);
}

/* A short printable copy of a value for a message: ASCII only, at most 32. */
static const char *echo(const char *s, size_t n, char buf[40]) {
  size_t k = 0;
  for (size_t i = 0; i < n && k < 32; i++)
    buf[k++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
  if (n > 32) {
    memcpy(buf + k, "...", 3);
    k += 3;
  }
  buf[k] = '\0';
  return buf;
}


/* Copy s (n bytes) upper-cased into out if it has min..max characters, each
 * alphanumeric (alpha_only: letters only). */
static int code_field(const char *s, size_t n, size_t min, size_t max, int alpha_only,
                      char *out) {
  if (n < min || n > max) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x80 || !(alpha_only ? isalpha(c) : isalnum(c))) return 0;
    out[i] = (char)toupper(c);
  }
  out[n] = '\0';
  return 1;
}

/* A calendar date "YYYY-MM-DD" that exists. */
static int date_field(const char *s, size_t n, char out[11]) {
  if (n != 10) return 0;
  char tmp[11];
  memcpy(tmp, s, 10);
  tmp[10] = '\0';
  int64_t t;
  if (fg__parse_time(tmp, &t) != FG_OK) return 0;
  memcpy(out, tmp, 11);
  return 1;
}

static void invalid(fg__manifest_passenger *p, const char *label, const char *why) {
  fg__manifest_problem_add(p, FG__PROBLEM_INVALID, -1, "%s: %s", label, why);
  p->rejected = 1;
}

/* Check and store one text field (not photos). n == 0 means not given. */
static void set_field(fg__manifest_passenger *p, int f, const char *label, const char *s,
                      size_t n, unsigned *seen) {
  char e[40], msg[120];
  if (n == 0) return;
  *seen |= 1u << f;
  if (memchr(s, '\0', n)) {
    invalid(p, label, "contains a NUL byte");
    return;
  }
  switch (f) {
  case F_SURNAME:
  case F_GIVEN: {
    char *out = f == F_SURNAME ? p->surname : p->given_names;
    if (n > FG__MANIFEST_MAX_NAME) {
      snprintf(msg, sizeof msg, "longer than %d bytes", FG__MANIFEST_MAX_NAME);
      invalid(p, label, msg);
    } else if (!fg__utf8_text((const unsigned char *)s, n)) {
      invalid(p, label, "not UTF-8 text (or has control characters)");
    } else {
      memcpy(out, s, n);
      out[n] = '\0';
    }
    return;
  }
  case F_DOB:
  case F_DOC_EXPIRY:
    if (!date_field(s, n, f == F_DOB ? p->date_of_birth : p->doc_expiry)) {
      snprintf(msg, sizeof msg, "\"%s\" is not a date (YYYY-MM-DD)", echo(s, n, e));
      invalid(p, label, msg);
    }
    return;
  case F_NATIONALITY:
  case F_ISSUING:
    if (!code_field(s, n, 1, 3, 1, f == F_ISSUING ? p->issuing_state : p->nationality)) {
      snprintf(msg, sizeof msg, "\"%s\" is not an ICAO 9303 state code (1-3 letters)",
               echo(s, n, e));
      invalid(p, label, msg);
    }
    return;
  case F_SEX:
    if (n != 1 || !strchr("FMXfmx", s[0])) {
      snprintf(msg, sizeof msg, "\"%s\" is not F, M or X", echo(s, n, e));
      invalid(p, label, msg);
    } else {
      p->sex[0] = (char)toupper((unsigned char)s[0]);
      p->sex[1] = '\0';
    }
    return;
  case F_CATEGORY: {
    char low[16];
    size_t i;
    for (i = 0; i < n && i < sizeof low - 1; i++) low[i] = (char)tolower((unsigned char)s[i]);
    low[i] = '\0';
    if (n >= sizeof low || fg_category_parse(low, &p->category) != FG_OK) {
      snprintf(msg, sizeof msg, "\"%s\" is not citizen, resident, foreign or exempt",
               echo(s, n, e));
      invalid(p, label, msg);
    }
    return;
  }
  case F_DOC_TYPE:
    if (!code_field(s, n, 1, 2, 1, p->doc_type)) {
      snprintf(msg, sizeof msg, "\"%s\" is not a document type (1-2 letters)", echo(s, n, e));
      invalid(p, label, msg);
    }
    return;
  case F_DOC_NUMBER:
    if (!code_field(s, n, 1, FG__MANIFEST_MAX_DOCNUM, 0, p->doc_number)) {
      snprintf(msg, sizeof msg, "\"%s\" is not a document number (1-%d letters and digits)",
               echo(s, n, e), FG__MANIFEST_MAX_DOCNUM);
      invalid(p, label, msg);
    }
    return;
  case F_ADMITTED: {
    char tmp[32];
    int64_t t;
    if (n >= sizeof tmp) {
      invalid(p, label, "not a date");
      return;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (fg__parse_time(tmp, &t) != FG_OK) {
      snprintf(msg, sizeof msg, "\"%s\" is not a date (YYYY-MM-DD) or time", echo(s, n, e));
      invalid(p, label, msg);
    } else {
      /* "admitted until 2026-12-01" runs to the end of that day. */
      p->admitted_until = n == 10 ? t + 86399 : t;
    }
    return;
  }
  default:
    return;
  }
}

/* After all fields: report the required ones not given and apply defaults. */
static void finish_passenger(fg__manifest_passenger *p, unsigned seen, const char *const *labels) {
  for (size_t i = 0; i < sizeof REQUIRED / sizeof REQUIRED[0]; i++) {
    int f = REQUIRED[i];
    if (!(seen & (1u << f))) {
      fg__manifest_problem_add(p, FG__PROBLEM_MISSING, -1, "%s missing", labels[f]);
      p->rejected = 1;
    }
  }
  if (!p->doc_type[0]) strcpy(p->doc_type, "P");
  /* Not a reason to refuse the passenger (an officer checks them by hand),
   * but every passenger left out of the gallery is reported with a reason. */
  int photo_problems = 0;
  for (int k = 0; k < p->nproblems; k++) photo_problems += p->problem[k].photo >= 0;
  if (!p->rejected && p->nphotos == 0 && !photo_problems)
    fg__manifest_problem_add(p, FG__PROBLEM_MISSING, -1,
                             "no photos: the passenger cannot be matched at the gate");
}

/* ---- photos ------------------------------------------------------------------- */

/* A relative path inside the base directory: not absolute, no ".." component,
 * no control characters. */
static const char *path_problem(const char *s, size_t n) {
  if (n == 0) return "empty path";
  if (n > FG__MANIFEST_MAX_PATH) return "path too long";
  if (memchr(s, '\0', n)) return "path contains a NUL byte";
  if (!fg__utf8_text((const unsigned char *)s, n)) return "path is not UTF-8 text";
  if (s[0] == '/' || s[0] == '\\') return "absolute path refused";
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && s[j] != '/' && s[j] != '\\') j++;
    if (j - i == 2 && s[i] == '.' && s[i + 1] == '.')
      return "\"..\" refused (paths stay inside the manifest's directory)";
    i = j + 1;
  }
  return NULL;
}

static void photo_invalid(fg__manifest_passenger *p, int pos, const char *why) {
  fg__manifest_problem_add(p, FG__PROBLEM_INVALID, pos, "photos[%d]: %s", pos, why);
}

/* Add photo entry `pos` (s, n: a path or base64 text). A bad entry becomes a
 * problem and is dropped; FG_ENOMEM is the only error. */
static int add_photo(fg__manifest_passenger *p, int pos, fg__photo_kind kind, const char *s,
                     size_t n, fg_error *err) {
  fg__manifest_photo *ph = &p->photo[p->nphotos];
  memset(ph, 0, sizeof *ph);
  ph->kind = kind;
  ph->pos = pos;
  if (kind != FG__PHOTO_BASE64) {
    const char *why = path_problem(s, n);
    if (why) {
      photo_invalid(p, pos, why);
      return FG_OK;
    }
    if (!(ph->path = malloc(n + 1))) return fg__seterr(err, FG_ENOMEM, "out of memory");
    memcpy(ph->path, s, n);
    ph->path[n] = '\0';
    p->nphotos++;
    return FG_OK;
  }
  if (n == 0) {
    photo_invalid(p, pos, "empty base64");
    return FG_OK;
  }
  if (n > FG__MANIFEST_MAX_BASE64) {
    char msg[80];
    snprintf(msg, sizeof msg, "base64 longer than %zu characters", FG__MANIFEST_MAX_BASE64);
    photo_invalid(p, pos, msg);
    return FG_OK;
  }
  size_t cap = n / 4 * 3 + 3, got = 0;
  if (!(ph->data = malloc(cap))) return fg__seterr(err, FG_ENOMEM, "out of memory");
  const char *end = NULL;
  int ok = sodium_base642bin(ph->data, cap, s, n, " \t\r\n", &got, &end,
                             sodium_base64_VARIANT_ORIGINAL) == 0 &&
           end == s + n;
  if (!ok)
    ok = sodium_base642bin(ph->data, cap, s, n, " \t\r\n", &got, &end,
                           sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0 &&
         end == s + n;
  if (!ok || got == 0) {
    free(ph->data);
    ph->data = NULL;
    photo_invalid(p, pos, ok ? "empty base64" : "not valid base64");
    return FG_OK;
  }
  ph->len = got;
  p->nphotos++;
  return FG_OK;
}

/* ---- the flight ---------------------------------------------------------------- */

static int flight_fields(fg__manifest_doc *doc, const char *const v[5], const char *what,
                         int require, fg_error *err) {
  static const char *const names[5] = {"carrier", "flight", "port", "scheduled", "direction"};
  int given = 0;
  for (int i = 0; i < 5; i++) given += v[i] != NULL;
  if (given == 0 && !require) return FG_OK;
  for (int i = 0; i < 5; i++)
    if (!v[i]) return fg__seterr(err, FG_EFORMAT, "manifest: %s '%s' missing", what, names[i]);
  char e[40];
  if (!code_field(v[0], strlen(v[0]), 2, 3, 0, doc->carrier))
    return fg__seterr(err, FG_EFORMAT, "manifest: carrier \"%s\" is not an airline code",
                      echo(v[0], strlen(v[0]), e));
  if (!code_field(v[1], strlen(v[1]), 1, 10, 0, doc->flight))
    return fg__seterr(err, FG_EFORMAT, "manifest: flight \"%s\" is not a flight number",
                      echo(v[1], strlen(v[1]), e));
  if (!code_field(v[2], strlen(v[2]), 3, 5, 0, doc->port))
    return fg__seterr(err, FG_EFORMAT, "manifest: port \"%s\" is not an airport code",
                      echo(v[2], strlen(v[2]), e));
  if (strlen(v[3]) > 31 || fg__parse_time(v[3], &doc->scheduled) != FG_OK)
    return fg__seterr(err, FG_EFORMAT,
                      "manifest: scheduled \"%s\" is not a time (YYYY-MM-DDTHH:MM:SSZ)",
                      echo(v[3], strlen(v[3]), e));
  if (strcmp(v[4], "entry") != 0 && strcmp(v[4], "exit") != 0)
    return fg__seterr(err, FG_EFORMAT, "manifest: direction \"%s\" is not entry or exit",
                      echo(v[4], strlen(v[4]), e));
  strcpy(doc->direction, v[4]);
  doc->have_flight = 1;
  return FG_OK;
}

void fg__manifest_doc_release(fg__manifest_doc *doc) {
  for (size_t i = 0; doc->p && i < doc->n; i++) {
    fg__manifest_passenger *p = &doc->p[i];
    for (int j = 0; j < p->nphotos; j++) {
      free(p->photo[j].path);
      if (p->photo[j].data) sodium_memzero(p->photo[j].data, p->photo[j].len);
      free(p->photo[j].data);
    }
  }
  free(doc->p);
  memset(doc, 0, sizeof *doc);
}

static size_t skip_bom(const char **data, size_t len) {
  if (len >= 3 && memcmp(*data, "\xEF\xBB\xBF", 3) == 0) {
    *data += 3;
    return len - 3;
  }
  return len;
}

/* ---- JSON ----------------------------------------------------------------------- */

static const char *const JSON_LABELS[F_COUNT] = {
    "surname",         "given_names",     "date_of_birth",          "nationality",
    "sex",             "category",        "document.type",          "document.number",
    "document.issuing_state", "document.expiry", "admitted_until", "photos"};

/* A string member (or null: not given) into field f. */
static void json_text(fg__manifest_passenger *p, int f, json_t *v, unsigned *seen) {
  if (json_is_null(v)) return;
  if (!json_is_string(v)) {
    *seen |= 1u << f;
    invalid(p, JSON_LABELS[f], "not a string");
    return;
  }
  set_field(p, f, JSON_LABELS[f], json_string_value(v), json_string_length(v), seen);
}

static void json_document(fg__manifest_passenger *p, json_t *d, unsigned *seen) {
  if (json_is_null(d)) return;
  if (!json_is_object(d)) {
    *seen |= 1u << F_DOC_NUMBER | 1u << F_ISSUING;
    invalid(p, "document", "not an object");
    return;
  }
  const char *k;
  json_t *v;
  json_object_foreach(d, k, v) {
    int f = !strcmp(k, "type") ? F_DOC_TYPE
            : !strcmp(k, "number") ? F_DOC_NUMBER
            : !strcmp(k, "issuing_state") ? F_ISSUING
            : !strcmp(k, "expiry") ? F_DOC_EXPIRY
                                       : -1;
    if (f < 0) {
      char e[40], msg[80];
      snprintf(msg, sizeof msg, "unknown member \"%s\"", echo(k, strlen(k), e));
      invalid(p, "document", msg);
    } else {
      json_text(p, f, v, seen);
    }
  }
}

static int json_photos(fg__manifest_passenger *p, json_t *a, unsigned *seen, fg_error *err) {
  if (json_is_null(a)) return FG_OK;
  *seen |= 1u << F_PHOTOS;
  if (!json_is_array(a)) {
    invalid(p, "photos", "not an array");
    return FG_OK;
  }
  if (json_array_size(a) > FG__MANIFEST_MAX_PHOTOS) {
    char msg[80];
    snprintf(msg, sizeof msg, "%zu entries, at most %d", json_array_size(a),
             FG__MANIFEST_MAX_PHOTOS);
    invalid(p, "photos", msg);
    return FG_OK;
  }
  size_t j;
  json_t *v;
  json_array_foreach(a, j, v) {
    int pos = (int)j, rc = FG_OK;
    if (json_is_string(v)) {
      rc = add_photo(p, pos, FG__PHOTO_PATH, json_string_value(v), json_string_length(v), err);
    } else if (json_is_object(v) && json_object_size(v) == 1) {
      const char *k = json_object_iter_key(json_object_iter(v));
      json_t *s = json_object_iter_value(json_object_iter(v));
      fg__photo_kind kind = !strcmp(k, "path") ? FG__PHOTO_PATH
                            : !strcmp(k, "dg2") ? FG__PHOTO_DG2
                            : !strcmp(k, "base64") ? FG__PHOTO_BASE64
                                                   : 0;
      if (!kind || !json_is_string(s))
        photo_invalid(p, pos, "expected {\"path\"|\"dg2\"|\"base64\": string}");
      else
        rc = add_photo(p, pos, kind, json_string_value(s), json_string_length(s), err);
    } else {
      photo_invalid(p, pos, "expected a path or {\"path\"|\"dg2\"|\"base64\": string}");
    }
    if (rc != FG_OK) return rc;
  }
  return FG_OK;
}

static int json_passenger(fg__manifest_passenger *p, json_t *o, fg_error *err) {
  unsigned seen = 0;
  if (!json_is_object(o)) {
    invalid(p, "passenger", "not an object");
    return FG_OK;
  }
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    int rc = FG_OK;
    if (!strcmp(k, "document")) json_document(p, v, &seen);
    else if (!strcmp(k, "photos")) rc = json_photos(p, v, &seen, err);
    else {
      int f = -1;
      for (int i = 0; i < F_COUNT; i++)
        if (i != F_DOC_TYPE && i != F_DOC_NUMBER && i != F_ISSUING && i != F_DOC_EXPIRY &&
            i != F_PHOTOS && !strcmp(k, CSV_COLUMNS[i]))
          f = i;
      if (f < 0) {
        char e[40], msg[80];
        snprintf(msg, sizeof msg, "unknown member \"%s\"", echo(k, strlen(k), e));
        invalid(p, "passenger", msg);
      } else {
        json_text(p, f, v, &seen);
      }
    }
    if (rc != FG_OK) return rc;
  }
  finish_passenger(p, seen, JSON_LABELS);
  return FG_OK;
}

static const char *flight_member(json_t *root, const char *name, int *bad) {
  json_t *v = json_object_get(root, name);
  if (!v || json_is_null(v)) return NULL;
  if (!json_is_string(v)) {
    *bad = 1;
    return NULL;
  }
  return json_string_value(v);
}

int fg__manifest_parse_json(const char *data, size_t len, int require_flight,
                            fg__manifest_doc *doc, fg_error *err) {
  memset(doc, 0, sizeof *doc);
  doc->format = FG_MANIFEST_JSON;
  if (len > FG__MANIFEST_MAX_BYTES)
    return fg__seterr(err, FG_ELIMIT, "manifest: %zu bytes, at most %zu", len,
                      FG__MANIFEST_MAX_BYTES);
  len = skip_bom(&data, len);
  /* Before jansson builds it: a text with more values than the largest
   * manifest needs would cost tens of bytes of memory per value. */
  int lrc = fg__json_check(data, len, FG__MANIFEST_MAX_JSON_VALUES, FG__MANIFEST_MAX_JSON_DEPTH,
                           "manifest", err);
  if (lrc != FG_OK) return lrc;
  json_error_t je;
  json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return fg__seterr(err, FG_EFORMAT, "manifest: not JSON: line %d, column %d: %s", je.line,
                      je.column, je.text);
  int rc = FG_OK;
  if (!json_is_object(root)) {
    rc = fg__seterr(err, FG_EFORMAT, "manifest: the top level is not a JSON object");
    goto out;
  }
  static const char *const members[] = {"carrier", "flight",    "port",
                                        "scheduled", "direction", "passengers"};
  const char *k;
  json_t *v;
  json_object_foreach(root, k, v) {
    size_t i;
    for (i = 0; i < 6 && strcmp(k, members[i]) != 0; i++) {}
    if (i == 6) {
      char e[40];
      rc = fg__seterr(err, FG_EFORMAT, "manifest: unknown member \"%s\"", echo(k, strlen(k), e));
      goto out;
    }
  }
  int bad = 0;
  const char *fv[5];
  for (int i = 0; i < 5; i++) {
    fv[i] = flight_member(root, members[i], &bad);
    if (bad) {
      rc = fg__seterr(err, FG_EFORMAT, "manifest: member \"%s\" is not a string", members[i]);
      goto out;
    }
  }
  if ((rc = flight_fields(doc, fv, "member", require_flight, err)) != FG_OK) goto out;
  json_t *pax = json_object_get(root, "passengers");
  if (!json_is_array(pax)) {
    rc = fg__seterr(err, FG_EFORMAT, "manifest: no \"passengers\" array");
    goto out;
  }
  size_t n = json_array_size(pax);
  if (n == 0) {
    rc = fg__seterr(err, FG_EFORMAT, "manifest: the passengers array is empty");
    goto out;
  }
  if (n > FG__MANIFEST_MAX_PASSENGERS) {
    rc = fg__seterr(err, FG_ELIMIT, "manifest: %zu passengers, at most %d", n,
                    FG__MANIFEST_MAX_PASSENGERS);
    goto out;
  }
  if (!(doc->p = calloc(n, sizeof *doc->p))) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n && rc == FG_OK; i++) {
    doc->p[i].index = i;
    doc->n = i + 1;
    rc = json_passenger(&doc->p[i], json_array_get(pax, i), err);
  }
out:
  json_decref(root);
  if (rc != FG_OK) {
    fg__manifest_doc_release(doc);
    doc->format = FG_MANIFEST_JSON;
  }
  return rc;
}

/* ---- CSV -------------------------------------------------------------------------- */

typedef struct csv_state {
  fg__manifest_doc *doc;
  size_t cap;
  int header_done;
  int ncols;
  int col[F_COUNT];   /* column -> field */
  int field;          /* fields seen in the current row */
  int in_row;
  unsigned seen;
  long line;          /* line being fed */
  int rc;
  fg_error *err;
} csv_state;

static int csv_fail(csv_state *st, int code, const char *fmt, ...) FG__PRINTF(3, 4);
static int csv_fail(csv_state *st, int code, const char *fmt, ...) {
  if (st->rc != FG_OK) return st->rc;
  char msg[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return st->rc = fg__seterr(st->err, code, "manifest: line %ld: %s", st->line, msg);
}

static void csv_header_field(csv_state *st, const char *s, size_t n) {
  char name[32], e[40];
  size_t k = 0;
  for (size_t i = 0; i < n && k < sizeof name - 1; i++) name[k++] = (char)tolower((unsigned char)s[i]);
  name[k] = '\0';
  if (n == 0) {
    csv_fail(st, FG_EFORMAT, "a column without a name");
    return;
  }
  int f = -1;
  for (int i = 0; i < F_COUNT && n < sizeof name; i++)
    if (!strcmp(name, CSV_COLUMNS[i])) f = i;
  if (f < 0) {
    csv_fail(st, FG_EFORMAT,
             "unknown column \"%s\" (not a CSV manifest? see docs/manifests.md)",
             echo(s, n, e));
    return;
  }
  for (int i = 0; i < st->ncols; i++)
    if (st->col[i] == f) {
      csv_fail(st, FG_EFORMAT, "column \"%s\" given twice", CSV_COLUMNS[f]);
      return;
    }
  st->col[st->ncols++] = f;
}

/* The photos cell: items separated by ';', each "dg2:PATH", "base64:DATA",
 * "path:PATH" or a bare path. */
static int csv_photos(fg__manifest_passenger *p, const char *s, size_t n, fg_error *err) {
  int pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && s[j] != ';') j++;
    size_t a = i, b = j;
    while (a < b && (s[a] == ' ' || s[a] == '\t')) a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) b--;
    i = j + 1;
    if (a == b) continue;
    if (pos >= FG__MANIFEST_MAX_PHOTOS) {
      char msg[60];
      snprintf(msg, sizeof msg, "more than %d entries", FG__MANIFEST_MAX_PHOTOS);
      invalid(p, "photos", msg);
      return FG_OK;
    }
    fg__photo_kind kind = FG__PHOTO_PATH;
    if (b - a >= 4 && !strncmp(s + a, "dg2:", 4)) kind = FG__PHOTO_DG2, a += 4;
    else if (b - a >= 7 && !strncmp(s + a, "base64:", 7)) kind = FG__PHOTO_BASE64, a += 7;
    else if (b - a >= 5 && !strncmp(s + a, "path:", 5)) a += 5;
    int rc = add_photo(p, pos++, kind, s + a, b - a, err);
    if (rc != FG_OK) return rc;
  }
  return FG_OK;
}

static void csv_cb_field(void *field, size_t n, void *ctx) {
  csv_state *st = ctx;
  const char *s = field ? field : "";
  if (st->rc != FG_OK) return;
  if (!st->header_done) {
    csv_header_field(st, s, n);
    return;
  }
  fg__manifest_doc *doc = st->doc;
  if (!st->in_row) {
    if (doc->n >= FG__MANIFEST_MAX_PASSENGERS) {
      csv_fail(st, FG_ELIMIT, "more than %d passengers", FG__MANIFEST_MAX_PASSENGERS);
      return;
    }
    if (doc->n == st->cap) {
      size_t cap = st->cap ? st->cap * 2 : 16;
      if (cap > FG__MANIFEST_MAX_PASSENGERS) cap = FG__MANIFEST_MAX_PASSENGERS;
      fg__manifest_passenger *np = realloc(doc->p, cap * sizeof *np);
      if (!np) {
        csv_fail(st, FG_ENOMEM, "out of memory");
        return;
      }
      doc->p = np;
      st->cap = cap;
    }
    fg__manifest_passenger *p = &doc->p[doc->n];
    memset(p, 0, sizeof *p);
    p->index = doc->n++;
    st->in_row = 1;
    st->field = 0;
    st->seen = 0;
  }
  fg__manifest_passenger *p = &doc->p[doc->n - 1];
  int c = st->field++;
  if (c >= st->ncols) return; /* counted; reported at the row's end */
  int f = st->col[c];
  if (f == F_PHOTOS) {
    if (n) st->seen |= 1u << F_PHOTOS;
    if (memchr(s, '\0', n)) invalid(p, "photos", "contains a NUL byte");
    else {
      int rc = csv_photos(p, s, n, st->err);
      if (rc != FG_OK) st->rc = rc;
    }
  } else {
    set_field(p, f, CSV_COLUMNS[f], s, n, &st->seen);
  }
}

static void csv_cb_row(int term, void *ctx) {
  (void)term;
  csv_state *st = ctx;
  if (st->rc != FG_OK) return;
  if (!st->header_done) {
    if (st->ncols == 0) return;
    static const int must[] = {F_SURNAME, F_CATEGORY, F_DOC_NUMBER, F_ISSUING};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
      int have = 0;
      for (int c = 0; c < st->ncols; c++) have |= st->col[c] == must[i];
      if (!have) {
        csv_fail(st, FG_EFORMAT, "the header has no \"%s\" column",
                 CSV_COLUMNS[must[i]]);
        return;
      }
    }
    st->header_done = 1;
    return;
  }
  if (!st->in_row) return;
  fg__manifest_passenger *p = &st->doc->p[st->doc->n - 1];
  p->line = st->line;
  st->in_row = 0;
  if (st->field != st->ncols) {
    char msg[80];
    snprintf(msg, sizeof msg, "%d fields, the header has %d", st->field, st->ncols);
    invalid(p, "row", msg);
  }
  finish_passenger(p, st->seen, CSV_COLUMNS);
}

int fg__manifest_parse_csv(const char *data, size_t len, const fg__manifest_flight *flight,
                           int require_flight, fg__manifest_doc *doc, fg_error *err) {
  memset(doc, 0, sizeof *doc);
  doc->format = FG_MANIFEST_CSV;
  if (len > FG__MANIFEST_MAX_BYTES)
    return fg__seterr(err, FG_ELIMIT, "manifest: %zu bytes, at most %zu", len,
                      FG__MANIFEST_MAX_BYTES);
  len = skip_bom(&data, len);
  const char *nul = memchr(data, '\0', len);
  if (nul)
    return fg__seterr(err, FG_EFORMAT, "manifest: a NUL byte at offset %zu (not a CSV file)",
                      (size_t)(nul - data));
  const char *fv[5] = {0};
  if (flight) {
    fv[0] = flight->carrier, fv[1] = flight->flight, fv[2] = flight->port;
    fv[3] = flight->scheduled, fv[4] = flight->direction;
  }
  int rc = flight_fields(doc, fv, "option", require_flight, err);
  if (rc != FG_OK) return rc;

  struct csv_parser cp;
  if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  csv_state st = {.doc = doc, .rc = FG_OK, .err = err};
  /* Fed a line at a time, so that a row's problems can name its line. */
  for (size_t off = 0; off < len && st.rc == FG_OK;) {
    const char *nl = memchr(data + off, '\n', len - off);
    size_t n = nl ? (size_t)(nl - (data + off)) + 1 : len - off;
    st.line++;
    if (csv_parse(&cp, data + off, n, csv_cb_field, csv_cb_row, &st) != n) {
      csv_fail(&st, FG_EFORMAT, "malformed CSV (%s)",
               csv_strerror(csv_error(&cp)));
      break;
    }
    off += n;
  }
  if (st.rc == FG_OK && csv_fini(&cp, csv_cb_field, csv_cb_row, &st) != 0)
    csv_fail(&st, FG_EFORMAT, "malformed CSV (%s)",
             csv_strerror(csv_error(&cp)));
  csv_free(&cp);
  if (st.in_row && st.rc == FG_OK) csv_cb_row(-1, &st);
  if (st.rc == FG_OK && !st.header_done)
    st.rc = fg__seterr(err, FG_EFORMAT, "manifest: empty CSV (no header row)");
  if (st.rc == FG_OK && doc->n == 0)
    st.rc = fg__seterr(err, FG_EFORMAT, "manifest: no passengers (only a header row)");
  if (st.rc != FG_OK) {
    fg__manifest_doc_release(doc);
    doc->format = FG_MANIFEST_CSV;
  }
  return st.rc;
}
