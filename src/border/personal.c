/*
 * Personal data at rest: travellers' names, dates of birth, nationality and
 * sex, their documents' numbers, issuing states and expiries, watchlist names
 * and reasons, officers' notes. Each is sealed like a biometric
 * (fg__border_seal: XChaCha20-Poly1305 under the data key, bound to
 * "facegate:<table>.<column>:<row id>"), as a small JSON object (or the note's
 * text), so a copy of the database, its WAL or a backup shows none of it.
 *
 * Searching still works through blind indexes (fg_blind_index: keyed BLAKE2b
 * under a key derived from the audit key; key rotation keeps it), computed
 * from normalised values:
 *
 *   documents.number_index    a document number, any issuing state: the
 *                             gate's "which passenger holds this document",
 *                             the officer's crossings by document number;
 *   documents.document_index  issuing state and number, unique: the manifest
 *                             import's "is this document known";
 *   travellers.surname_index  a 16-bit bucket of the surname: a search by name
 *                             reads the bucket's travellers (tens, at a
 *                             million travellers) and compares once unsealed.
 *                             A bucket tells a copy of the database only which
 *                             travellers share one of 65,536 buckets; a full
 *                             index would let it count travellers per surname.
 *
 * Normalisation (fg__norm_document, fg__norm_name): document numbers and
 * issuing states upper-case, without spaces, '-' and '<'; names upper-case
 * ASCII, with runs of spaces, '-', '\'' and ',' made one space, trimmed.
 * Letters beyond ASCII are compared as written (no transliteration: "MÜLLER"
 * is not "MUELLER"); manifests carry MRZ-style names in practice.
 *
 * A store written by an older facegate holds these in clear in migration 1's
 * columns: fg__personal_seal_legacy, run when a store is opened writable with
 * its key file, seals them in one transaction, empties those columns and
 * flushes the write-ahead log. fg_border_traveller_find (border.h) is the
 * search by document or name that the console (issue 16) builds on.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "store/sql_records.h"

/* ---- normalisation and indexes ------------------------------------------------------ */

void fg__norm_document(const char *in, char *out, size_t cap) {
  size_t k = 0;
  for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p && k + 1 < cap; p++) {
    if (*p == ' ' || *p == '-' || *p == '<' || *p == '\t') continue;
    out[k++] = (char)toupper(*p);
  }
  out[k] = '\0';
}

void fg__norm_name(const char *in, char *out, size_t cap) {
  size_t k = 0;
  int gap = 0;
  for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p && k + 2 < cap; p++) {
    if (*p == ' ' || *p == '-' || *p == '\'' || *p == ',' || *p == '\t') {
      gap = k > 0;
      continue;
    }
    if (gap) out[k++] = ' ';
    gap = 0;
    out[k++] = (char)(*p < 0x80 ? toupper(*p) : *p);
  }
  out[k] = '\0';
}

void fg__document_number_index(fg_border *b, const char *number, uint8_t out[32]) {
  char n[64];
  fg__norm_document(number, n, sizeof n);
  fg_blind_index(b->keys, "document-number", n, strlen(n), out);
}

void fg__document_index(fg_border *b, const char *state, const char *number, uint8_t out[32]) {
  char s[16], n[64], both[96];
  fg__norm_document(state, s, sizeof s);
  fg__norm_document(number, n, sizeof n);
  int len = snprintf(both, sizeof both, "%s|%s", s, n);
  fg_blind_index(b->keys, "document", both, (size_t)len, out);
}

int64_t fg__surname_index(fg_border *b, const char *surname) {
  char n[FG__PERSON_NAME_MAX * 2];
  uint8_t h[32];
  fg__norm_name(surname, n, sizeof n);
  fg_blind_index(b->keys, "surname", n, strlen(n), h);
  return (int64_t)h[0] << 8 | h[1];
}

/* ---- sealed JSON --------------------------------------------------------------------- */

int fg__seal_json(fg_border *b, const char *table, const char *column, int64_t id,
                  const json_t *value, uint8_t **out, size_t *n, fg_error *err) {
  char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!text) return fg__seterr(err, FG_ENOMEM, "out of memory");
  size_t len = strlen(text);
  int rc = fg__border_seal(b, table, column, id, text, len, out, n, err);
  sodium_memzero(text, len);
  free(text);
  return rc;
}

json_t *fg__open_json(fg_border *b, const char *table, const char *column, int64_t id,
                      const fg_val *sealed, fg_error *err) {
  if (sealed->type != FG_VAL_BLOB) return NULL; /* nothing stored (a row planted by hand) */
  uint8_t *plain = NULL;
  size_t len = 0;
  if (fg__border_unseal(b, table, column, id, sealed->b, sealed->n, &plain, &len, err) != FG_OK)
    return NULL;
  json_t *j = json_loadb((const char *)plain, len, JSON_DECODE_ANY, NULL);
  sodium_memzero(plain, len);
  free(plain);
  if (!j) fg__seterr(err, FG_EFORMAT, "%s.%s of row %lld: not what facegate sealed", table, column,
                     (long long)id);
  return j;
}

/* ---- people and documents ------------------------------------------------------------------ */

static void copy_member(const json_t *o, const char *k, char *dst, size_t cap) {
  const char *v = json_string_value(json_object_get(o, k));
  snprintf(dst, cap, "%s", v ? v : "");
}

int fg__person_open(fg_border *b, int64_t id, const fg_val *sealed, fg__person *p, fg_error *err) {
  memset(p, 0, sizeof *p);
  if (sealed->type != FG_VAL_BLOB) return FG_OK;
  json_t *j = fg__open_json(b, "travellers", "person_sealed", id, sealed, err);
  if (!j) return err ? err->code : FG_EFORMAT;
  copy_member(j, "surname", p->surname, sizeof p->surname);
  copy_member(j, "given_names", p->given_names, sizeof p->given_names);
  copy_member(j, "date_of_birth", p->date_of_birth, sizeof p->date_of_birth);
  copy_member(j, "nationality", p->nationality, sizeof p->nationality);
  copy_member(j, "sex", p->sex, sizeof p->sex);
  json_decref(j);
  return FG_OK;
}

int fg__person_seal(fg_border *b, int64_t id, const fg__person *p, uint8_t **out, size_t *n,
                    fg_error *err) {
  json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "surname", p->surname, "given_names",
                        p->given_names, "date_of_birth", p->date_of_birth, "nationality",
                        p->nationality, "sex", p->sex);
  if (!j) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = fg__seal_json(b, "travellers", "person_sealed", id, j, out, n, err);
  json_decref(j);
  return rc;
}

void fg__person_name(const fg__person *p, char *out, size_t cap) {
  if (p->given_names[0]) snprintf(out, cap, "%s, %s", p->surname, p->given_names);
  else snprintf(out, cap, "%s", p->surname);
}

static json_t *text_or_null(const char *s) { return s && s[0] ? json_string(s) : json_null(); }

json_t *fg__person_json(int64_t id, const fg__person *p, const char *category) {
  return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)id, "surname",
                   p->surname[0] ? json_string(p->surname) : json_null(), "given_names",
                   json_string(p->given_names), "date_of_birth", text_or_null(p->date_of_birth),
                   "nationality", text_or_null(p->nationality), "sex", text_or_null(p->sex),
                   "category", text_or_null(category));
}

int fg__document_open(fg_border *b, int64_t id, const fg_val *sealed, fg__document *d,
                      fg_error *err) {
  memset(d, 0, sizeof *d);
  if (sealed->type != FG_VAL_BLOB) return FG_OK;
  json_t *j = fg__open_json(b, "documents", "document_sealed", id, sealed, err);
  if (!j) return err ? err->code : FG_EFORMAT;
  copy_member(j, "number", d->number, sizeof d->number);
  copy_member(j, "issuing_state", d->issuing_state, sizeof d->issuing_state);
  copy_member(j, "expiry", d->expiry, sizeof d->expiry);
  json_decref(j);
  return FG_OK;
}

int fg__document_seal(fg_border *b, int64_t id, const fg__document *d, uint8_t **out, size_t *n,
                      fg_error *err) {
  json_t *j = json_pack("{s:s, s:s, s:s}", "number", d->number, "issuing_state",
                        d->issuing_state, "expiry", d->expiry);
  if (!j) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = fg__seal_json(b, "documents", "document_sealed", id, j, out, n, err);
  json_decref(j);
  return rc;
}

json_t *fg__document_json(const char *type, const fg__document *d) {
  return json_pack("{s:o, s:o, s:o, s:o}", "type", text_or_null(type), "number",
                   text_or_null(d->number), "issuing_state", text_or_null(d->issuing_state),
                   "expiry", text_or_null(d->expiry));
}

void fg__document_placeholder(const uint8_t index[32], char out[72]) {
  memcpy(out, "index:", 6);
  sodium_bin2hex(out + 6, 65, index, 32);
}

/* ---- what an older facegate left in clear --------------------------------------------- */

/* Copy src into dst (cap bytes), cut at a character boundary if too long. */
static void put(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) {
    n = cap - 1;
    while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80) n--; /* not inside a UTF-8 sequence */
  }
  memcpy(dst, src, n);
  dst[n] = '\0';
}

typedef struct legacy_row {
  int64_t id;
  char f[5][FG__PERSON_NAME_MAX * 2];
} legacy_row;

typedef struct legacy_rows {
  legacy_row *v;
  size_t n, cap;
  int nfields;
} legacy_rows;

static int legacy_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  legacy_rows *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 64;
    legacy_row *v = realloc(l->v, cap * sizeof *v);
    if (!v) return fg__seterr(err, FG_ENOMEM, "out of memory");
    l->v = v;
    l->cap = cap;
  }
  legacy_row *r = &l->v[l->n++];
  memset(r, 0, sizeof *r);
  r->id = c[0].type == FG_VAL_INT ? c[0].i : 0;
  for (int i = 1; i < n && i <= 5; i++)
    if (c[i].type == FG_VAL_TEXT) snprintf(r->f[i - 1], sizeof r->f[i - 1], "%s", c[i].s);
  return 0;
}

static void legacy_free(legacy_rows *l) {
  if (l->v) sodium_memzero(l->v, l->cap * sizeof *l->v);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static int seal_travellers(fg_border *b, int64_t *count, fg_error *err) {
  legacy_rows l = {0};
  int rc = fg_store_exec(b->store, &FG_Q_PD_LEGACY_TRAVELLERS, NULL, 0, legacy_cb, &l, err);
  for (size_t i = 0; rc == FG_OK && i < l.n; i++) {
    fg__person p;
    memset(&p, 0, sizeof p);
    put(p.surname, sizeof p.surname, l.v[i].f[0]);
    put(p.given_names, sizeof p.given_names, l.v[i].f[1]);
    put(p.date_of_birth, sizeof p.date_of_birth, l.v[i].f[2]);
    put(p.nationality, sizeof p.nationality, l.v[i].f[3]);
    put(p.sex, sizeof p.sex, l.v[i].f[4]);
    uint8_t *sealed = NULL;
    size_t n = 0;
    rc = fg__person_seal(b, l.v[i].id, &p, &sealed, &n, err);
    if (rc == FG_OK) {
      fg_val v[3] = {FG_V_BLOB(sealed, n), FG_V_INT(fg__surname_index(b, p.surname)),
                     FG_V_INT(l.v[i].id)};
      rc = fg_store_exec(b->store, &FG_Q_PD_SEAL_TRAVELLER, v, 3, NULL, NULL, err);
    }
    sodium_memzero(&p, sizeof p);
    free(sealed);
  }
  *count += (int64_t)l.n;
  legacy_free(&l);
  return rc;
}

static int seal_documents(fg_border *b, int64_t *count, fg_error *err) {
  legacy_rows l = {0};
  int rc = fg_store_exec(b->store, &FG_Q_PD_LEGACY_DOCUMENTS, NULL, 0, legacy_cb, &l, err);
  for (size_t i = 0; rc == FG_OK && i < l.n; i++) {
    fg__document d;
    memset(&d, 0, sizeof d);
    fg__norm_document(l.v[i].f[0], d.number, sizeof d.number);
    fg__norm_document(l.v[i].f[1], d.issuing_state, sizeof d.issuing_state);
    put(d.expiry, sizeof d.expiry, l.v[i].f[2]);
    uint8_t *sealed = NULL, num[32], doc[32];
    size_t n = 0;
    char placeholder[72];
    fg__document_number_index(b, d.number, num);
    fg__document_index(b, d.issuing_state, d.number, doc);
    fg__document_placeholder(doc, placeholder);
    rc = fg__document_seal(b, l.v[i].id, &d, &sealed, &n, err);
    if (rc == FG_OK) {
      fg_val v[5] = {FG_V_BLOB(sealed, n), FG_V_BLOB(num, 32), FG_V_BLOB(doc, 32),
                     FG_V_TEXT(placeholder), FG_V_INT(l.v[i].id)};
      rc = fg_store_exec(b->store, &FG_Q_PD_SEAL_DOCUMENT, v, 5, NULL, NULL, err);
    }
    sodium_memzero(&d, sizeof d);
    free(sealed);
  }
  *count += (int64_t)l.n;
  legacy_free(&l);
  return rc;
}

static int seal_watchlist(fg_border *b, int64_t *count, fg_error *err) {
  legacy_rows l = {0};
  int rc = fg_store_exec(b->store, &FG_Q_PD_LEGACY_WATCHLIST, NULL, 0, legacy_cb, &l, err);
  for (size_t i = 0; rc == FG_OK && i < l.n; i++) {
    json_t *j = json_pack("{s:s, s:s}", "name", l.v[i].f[0], "reason", l.v[i].f[1]);
    uint8_t *sealed = NULL;
    size_t n = 0;
    rc = j ? fg__seal_json(b, "watchlist", "entry_sealed", l.v[i].id, j, &sealed, &n, err)
           : fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(j);
    if (rc == FG_OK) {
      fg_val v[2] = {FG_V_BLOB(sealed, n), FG_V_INT(l.v[i].id)};
      rc = fg_store_exec(b->store, &FG_Q_PD_SEAL_WATCHLIST, v, 2, NULL, NULL, err);
    }
    free(sealed);
  }
  *count += (int64_t)l.n;
  legacy_free(&l);
  return rc;
}

static int seal_notes(fg_border *b, int64_t *count, fg_error *err) {
  legacy_rows l = {0};
  int rc = fg_store_exec(b->store, &FG_Q_PD_LEGACY_NOTES, NULL, 0, legacy_cb, &l, err);
  for (size_t i = 0; rc == FG_OK && i < l.n; i++) {
    json_t *j = json_string(l.v[i].f[0]);
    uint8_t *sealed = NULL;
    size_t n = 0;
    rc = j ? fg__seal_json(b, "referral_notes", "note_sealed", l.v[i].id, j, &sealed, &n, err)
           : fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(j);
    if (rc == FG_OK) {
      fg_val v[2] = {FG_V_BLOB(sealed, n), FG_V_INT(l.v[i].id)};
      rc = fg_store_exec(b->store, &FG_Q_PD_SEAL_NOTE, v, 2, NULL, NULL, err);
    }
    free(sealed);
  }
  *count += (int64_t)l.n;
  legacy_free(&l);
  return rc;
}

int fg__personal_seal_legacy(fg_border *b, fg_error *err) {
  int64_t count = 0;
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  if ((rc = seal_travellers(b, &count, err)) == FG_OK && (rc = seal_documents(b, &count, err)) == FG_OK &&
      (rc = seal_watchlist(b, &count, err)) == FG_OK && (rc = seal_notes(b, &count, err)) == FG_OK &&
      count > 0) {
    fg_actor sys = {"facegate", "system", "personal data at rest"};
    rc = fg__border_audit_about(b, &sys, "personal.seal", "store", 0, "personal data at rest",
                                json_pack("{s:I}", "rows", (json_int_t)count), err);
  }
  if (rc != FG_OK) {
    fg_store_rollback(b->store);
    return rc;
  }
  if ((rc = fg_store_commit(b->store, err)) != FG_OK) return rc;
  /* The cleared values' old pages are still in the write-ahead log. */
  if (count > 0) fg_store_flush(b->store, NULL, NULL);
  return FG_OK;
}
