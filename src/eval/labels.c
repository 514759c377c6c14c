/*
 * Group labels of an evaluation set (fg_group_labels_*, facegate/eval.h):
 * the CSV that `facegate eval identify --labels` reads to break its error
 * rates down by sex, age band and region.
 *
 *   identity,sex,age_band,region
 *   Person_A,F,30-44,Region North
 *   Person_B,M,,
 *
 * Strict on purpose: the labels decide which group a miss is counted in, so
 * a row that does not say exactly what it means is refused with its line
 * number rather than guessed at. No quoting (no field needs a comma).
 * Lookups are by binary search over the rows sorted by identity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "facegate/eval.h"

#define LABEL_MAX 32
#define IDENTITY_MAX 128
#define ROWS_MAX 1000000

typedef struct label_row {
  char identity[IDENTITY_MAX];
  char value[FG_LABEL_DIMS][LABEL_MAX];
} label_row;

struct fg_group_labels {
  label_row *rows;
  size_t n;
};

static const char HEADER[] = "identity,sex,age_band,region";

static int identity_ok(const char *s, size_t n) {
  if (n == 0 || n >= IDENTITY_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-' || c == '.' || c == '\''))
      return 0;
  }
  return 1;
}

static int value_ok(const char *s, size_t n) {
  if (n >= LABEL_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ' ||
          c == '+' || c == '-' || c == '_'))
      return 0;
  }
  return 1;
}

static int row_cmp(const void *a, const void *b) {
  return strcmp(((const label_row *)a)->identity, ((const label_row *)b)->identity);
}

/* Split one line (without its end) into exactly 4 fields at commas. */
static int split4(const char *s, size_t n, const char *f[4], size_t fl[4]) {
  int k = 0;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++)
    if (i == n || s[i] == ',') {
      if (k == 4) return 0;
      f[k] = s + start;
      fl[k++] = i - start;
      start = i + 1;
    }
  return k == 4;
}

int fg_group_labels_parse(const char *text, size_t len, fg_group_labels **out, fg_error *err) {
  *out = NULL;
  fg_group_labels *l = calloc(1, sizeof *l);
  if (!l) return fg__seterr(err, FG_ENOMEM, "out of memory");
  size_t cap = 0, line = 0, pos = 0;
  int header = 0, rc = FG_OK;
  while (pos < len && rc == FG_OK) {
    const char *s = text + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) : len - pos;
    pos += n + (nl != NULL);
    line++;
    if (n && s[n - 1] == '\r') n--;
    if (memchr(s, '\0', n)) {
      rc = fg__seterr(err, FG_EFORMAT, "labels: line %zu: a NUL byte", line);
      break;
    }
    if (n == 0 || s[0] == '#') continue;
    if (!header) {
      if (n != strlen(HEADER) || memcmp(s, HEADER, n))
        rc = fg__seterr(err, FG_EFORMAT, "labels: line %zu: the first line must be \"%s\"", line,
                        HEADER);
      header = 1;
      continue;
    }
    const char *f[4];
    size_t fl[4];
    if (!split4(s, n, f, fl)) {
      rc = fg__seterr(err, FG_EFORMAT, "labels: line %zu: expected 4 fields (%s)", line, HEADER);
      break;
    }
    if (!identity_ok(f[0], fl[0])) {
      rc = fg__seterr(err, FG_EFORMAT,
                      "labels: line %zu: the identity must be 1 to %d of letters, digits, '_', "
                      "'-', '.', '\\''",
                      line, IDENTITY_MAX - 1);
      break;
    }
    if (!(fl[1] == 0 || (fl[1] == 1 && (f[1][0] == 'F' || f[1][0] == 'M' || f[1][0] == 'X')))) {
      rc = fg__seterr(err, FG_EFORMAT, "labels: line %zu: sex must be F, M, X or empty", line);
      break;
    }
    if (!value_ok(f[2], fl[2]) || !value_ok(f[3], fl[3])) {
      rc = fg__seterr(err, FG_EFORMAT,
                      "labels: line %zu: age_band and region take up to %d of letters, digits, "
                      "space, '+', '-', '_'",
                      line, LABEL_MAX - 1);
      break;
    }
    if (l->n == ROWS_MAX) {
      rc = fg__seterr(err, FG_ELIMIT, "labels: more than %d identities", ROWS_MAX);
      break;
    }
    if (l->n == cap) {
      size_t c2 = cap ? 2 * cap : 64;
      label_row *r = realloc(l->rows, c2 * sizeof *r);
      if (!r) {
        rc = fg__seterr(err, FG_ENOMEM, "out of memory");
        break;
      }
      l->rows = r;
      cap = c2;
    }
    label_row *r = &l->rows[l->n++];
    memset(r, 0, sizeof *r);
    memcpy(r->identity, f[0], fl[0]);
    for (int d = 0; d < FG_LABEL_DIMS; d++) memcpy(r->value[d], f[d + 1], fl[d + 1]);
  }
  if (rc == FG_OK && !header) rc = fg__seterr(err, FG_EFORMAT, "labels: empty (no \"%s\" line)", HEADER);
  if (rc == FG_OK && l->n) {
    qsort(l->rows, l->n, sizeof *l->rows, row_cmp);
    for (size_t i = 1; i < l->n && rc == FG_OK; i++)
      if (!strcmp(l->rows[i].identity, l->rows[i - 1].identity))
        rc = fg__seterr(err, FG_EFORMAT, "labels: identity %s appears twice", l->rows[i].identity);
  }
  if (rc != FG_OK) {
    fg_group_labels_free(l);
    return rc;
  }
  *out = l;
  return FG_OK;
}

int fg_group_labels_load(const char *path, fg_group_labels **out, fg_error *err) {
  uint8_t *data = NULL;
  size_t len = 0;
  *out = NULL;
  int rc = fg__read_file(path, (size_t)64 << 20, &data, &len, err);
  if (rc != FG_OK) return rc;
  rc = fg_group_labels_parse((const char *)data, len, out, err);
  free(data);
  return rc;
}

size_t fg_group_labels_count(const fg_group_labels *l) { return l ? l->n : 0; }

const char *fg_group_labels_get(const fg_group_labels *l, const char *identity, int dim) {
  if (!l || !identity || dim < 0 || dim >= FG_LABEL_DIMS || strlen(identity) >= IDENTITY_MAX)
    return NULL;
  label_row key;
  memset(key.identity, 0, sizeof key.identity);
  snprintf(key.identity, sizeof key.identity, "%s", identity);
  const label_row *r = bsearch(&key, l->rows, l->n, sizeof *l->rows, row_cmp);
  return r ? r->value[dim] : NULL;
}

void fg_group_labels_free(fg_group_labels *l) {
  if (!l) return;
  free(l->rows);
  free(l);
}
