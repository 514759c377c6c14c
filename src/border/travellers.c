/*
 * Finding travellers by a document number or by name (fg_border_traveller_find;
 * border.h has the contract). Names and numbers are sealed at rest
 * (personal.c), so the store is asked through blind indexes: the document
 * number's index (exact), or the surname's bucket (many names share one),
 * whose travellers are opened and compared in their normalised form. The
 * search is audited with how it was made and how many it found, never the
 * values searched for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "store/sql_records.h"

typedef struct find_ctx {
  fg_border *b;
  const fg_traveller_query *q;
  char surname[2 * FG__PERSON_NAME_MAX], given[2 * FG__PERSON_NAME_MAX];
  int64_t ids[201];
  int n, limit, more;
} find_ctx;

static void add_id(find_ctx *f, int64_t id) {
  for (int i = 0; i < f->n; i++)
    if (f->ids[i] == id) return;
  if (f->n == f->limit) f->more = 1;
  else f->ids[f->n++] = id;
}

static int doc_holder(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n, (void)err;
  if (c[0].type == FG_VAL_INT) add_id(ctx, c[0].i);
  return 0;
}

/* One traveller of the surname's bucket: kept if the names match once opened. */
static int bucket_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n;
  find_ctx *f = ctx;
  fg__person p;
  int64_t id = c[0].type == FG_VAL_INT ? c[0].i : 0;
  int rc = fg__person_open(f->b, id, &c[1], &p, err);
  if (rc != FG_OK) return rc;
  char s[2 * FG__PERSON_NAME_MAX], g[2 * FG__PERSON_NAME_MAX];
  fg__norm_name(p.surname, s, sizeof s);
  fg__norm_name(p.given_names, g, sizeof g);
  int match = strcmp(s, f->surname) == 0 && (!f->given[0] || strcmp(g, f->given) == 0) &&
              (!f->q->date_of_birth || !*f->q->date_of_birth ||
               strcmp(p.date_of_birth, f->q->date_of_birth) == 0);
  sodium_memzero(&p, sizeof p);
  sodium_memzero(s, sizeof s);
  if (match) add_id(f, id);
  return 0;
}

/* A document's issuing state must be the one asked for, when one was. */
typedef struct state_check {
  fg_border *b;
  const char *state;
  int ok;
} state_check;

static int state_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n;
  state_check *s = ctx;
  fg__document d;
  int rc = fg__document_open(s->b, c[0].type == FG_VAL_INT ? c[0].i : 0, &c[2], &d, err);
  if (rc != FG_OK) return rc;
  char want[16], have[16];
  fg__norm_document(s->state, want, sizeof want);
  fg__norm_document(d.issuing_state, have, sizeof have);
  s->ok |= strcmp(want, have) == 0;
  sodium_memzero(&d, sizeof d);
  return 0;
}

int fg_border_traveller_find(fg_border *b, const fg_actor *who, const fg_traveller_query *q,
                             fg_doc **out, fg_error *err) {
  *out = NULL;
  if (!b || !q) return fg__seterr(err, FG_EINVAL, "traveller find: missing argument");
  int by_doc = q->document && *q->document, by_name = q->surname && *q->surname;
  if (by_doc == by_name)
    return fg__seterr(err, FG_EINVAL, "traveller find: give a document number or a surname");
  int rc;
  if ((rc = fg__border_text("document", q->document, 64, err)) != FG_OK ||
      (rc = fg__border_text("issuing state", q->issuing_state, 8, err)) != FG_OK ||
      (rc = fg__border_text("surname", q->surname, FG__PERSON_NAME_MAX, err)) != FG_OK ||
      (rc = fg__border_text("given names", q->given_names, FG__PERSON_NAME_MAX, err)) != FG_OK ||
      (rc = fg__border_text("date of birth", q->date_of_birth, 10, err)) != FG_OK)
    return rc;
  if (q->limit < 0 || q->limit > 200)
    return fg__seterr(err, FG_EINVAL, "traveller find: limit 1 to 200 (0: 50)");
  find_ctx *f = calloc(1, sizeof *f);
  if (!f) return fg__seterr(err, FG_ENOMEM, "out of memory");
  f->b = b;
  f->q = q;
  f->limit = q->limit ? q->limit : 50;
  if (by_doc) {
    uint8_t index[32];
    fg__document_number_index(b, q->document, index);
    fg_val v = FG_V_BLOB(index, sizeof index);
    rc = fg_store_exec(b->store, &FG_Q_REC_TRAVELLER_BY_DOCUMENT, &v, 1, doc_holder, f, err);
  } else {
    fg__norm_name(q->surname, f->surname, sizeof f->surname);
    fg__norm_name(q->given_names, f->given, sizeof f->given);
    fg_val v = FG_V_INT(fg__surname_index(b, q->surname));
    rc = fg_store_exec(b->store, &FG_Q_REC_TRAVELLERS_BY_SURNAME, &v, 1, bucket_row, f, err);
  }
  if (rc == FG_OK && f->more)
    rc = fg__seterr(err, FG_ELIMIT, "traveller find: more than %d travellers match; narrow the search",
                    f->limit);
  json_t *list = rc == FG_OK ? json_array() : NULL;
  if (rc == FG_OK && !list) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  for (int i = 0; rc == FG_OK && i < f->n; i++) {
    fg_val id = FG_V_INT(f->ids[i]);
    fg__person_rows pc = {b, NULL}, dc = {b, json_array()};
    if (by_doc && q->issuing_state && *q->issuing_state) { /* that state's document only */
      state_check sc = {b, q->issuing_state, 0};
      rc = fg_store_exec(b->store, &FG_Q_REC_TRAVELLER_DOCUMENTS, &id, 1, state_row, &sc, err);
      if (rc != FG_OK || !sc.ok) {
        json_decref(dc.out);
        continue;
      }
    }
    if (rc == FG_OK && !dc.out) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    if (rc == FG_OK)
      rc = fg_store_exec(b->store, &FG_Q_REC_TRAVELLER_GET, &id, 1, fg__traveller_row, &pc, err);
    if (rc == FG_OK)
      rc = fg_store_exec(b->store, &FG_Q_REC_TRAVELLER_DOCUMENTS, &id, 1, fg__document_row, &dc, err);
    if (rc == FG_OK && pc.out &&
        (json_object_set(pc.out, "documents", dc.out) || json_array_append(list, pc.out)))
      rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(pc.out);
    json_decref(dc.out);
  }
  sodium_memzero(f, sizeof *f);
  free(f);
  if (rc == FG_OK) {
    int narrowed = (by_doc && q->issuing_state && *q->issuing_state) ||
                   (by_name && ((q->given_names && *q->given_names) ||
                                (q->date_of_birth && *q->date_of_birth)));
    json_t *d = json_pack("{s:s, s:b, s:I}", "by", by_doc ? "document" : "name", "narrowed",
                          narrowed, "found", (json_int_t)json_array_size(list));
    rc = d ? fg__border_audit_json(b, who, "traveller.find", "travellers", "traveller search", d, err)
           : fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(d);
  }
  if (rc != FG_OK) {
    json_decref(list);
    return rc;
  }
  *out = fg__doc(list);
  return FG_OK;
}
