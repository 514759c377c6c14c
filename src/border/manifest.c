/*
 * Manifest import, amend, close, list and show: a carrier's passenger list
 * becomes travellers, documents, passengers and the flight's staged gallery
 * (sealed document photos and templates). docs/manifests.md describes the
 * formats, the problems reported and the report's members.
 *
 * An import runs in three phases so that the slow part holds no lock:
 *   1. parse (manifest_parse.c) and check the target: a new flight must not
 *      exist yet; an amended manifest must exist and be open;
 *   2. outside any transaction: find duplicate documents (in the file, and
 *      already on the manifest), read every photo and run the face pipeline
 *      on it, keeping the accepted photos' bytes and embeddings in memory;
 *   3. one write transaction: the manifest row (or the amended one checked
 *      again), travellers (found by issuing state and document number, or
 *      created), documents, passengers, photo rows with their image and
 *      template sealed to the row, the revision bump that tells the gallery
 *      cache to rebuild, and one audit event with counts only.
 * A passenger with field problems is not recorded; one whose photos all
 * failed is recorded with enrolled 0 (an officer checks them by hand) and
 * its problem codes in passengers.problems. List and show read no biometric
 * data and are not audited (like the other record listings).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "border/manifest_parse.h"
#include "store/sql_manifest.h"

#define PHOTO_MAX_BYTES FG_IMAGE_DEFAULT_MAX_BYTES

typedef struct staged_photo {
  const fg__manifest_photo *src;
  uint8_t *bytes;  /* the photo as given (image or DG2) */
  size_t len;
  int owned;       /* read from a file here (else points into the parsed doc) */
  float *emb;      /* fg_face_engine_dim floats */
  int dim;
  float quality;
} staged_photo;

typedef struct staged {
  int skip;        /* not recorded: field problems or a duplicate */
  int recorded;
  int nok;
  staged_photo ok[FG__MANIFEST_MAX_PHOTOS];
} staged;

typedef struct manifest_row {
  int found;
  char carrier[8], flight[16], port[8], direction[8], status[10];
  int64_t scheduled, revision, created, closed;
} manifest_row;

typedef struct import_ctx {
  fg_border *b;
  const fg_actor *who;
  const fg_manifest_import_opts *o;
  const char *base_dir;
  fg__manifest_doc doc;
  staged *st;
  int amend;
  int64_t manifest_id, revision;
  manifest_row target;  /* the flight (from the file, or the amended manifest) */
  size_t added, enrolled, templates;
} import_ctx;

/* ---- small helpers ------------------------------------------------------------ */

static void copy_text(char *dst, size_t cap, const fg_val *v) {
  snprintf(dst, cap, "%s", v->type == FG_VAL_TEXT ? v->s : "");
}

static int manifest_row_fn(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  (void)err;
  manifest_row *m = ctx;
  m->found = 1;
  copy_text(m->carrier, sizeof m->carrier, &c[0]);
  copy_text(m->flight, sizeof m->flight, &c[1]);
  copy_text(m->port, sizeof m->port, &c[2]);
  m->scheduled = fg__val_int(&c[3]);
  copy_text(m->direction, sizeof m->direction, &c[4]);
  copy_text(m->status, sizeof m->status, &c[5]);
  m->revision = fg__val_int(&c[6]);
  m->created = fg__val_int(&c[7]);
  m->closed = fg__val_int(&c[8]);
  return 1;
}

static int get_manifest(fg_border *b, int64_t id, manifest_row *m, fg_error *err) {
  memset(m, 0, sizeof *m);
  fg_val p = FG_V_INT(id);
  int rc = fg_store_exec(b->store, &FG_Q_MAN_GET, &p, 1, manifest_row_fn, m, err);
  if (rc == FG_OK && !m->found) rc = fg__seterr(err, FG_ENOTFOUND, "no manifest %lld", (long long)id);
  return rc;
}

static fg_manifest_format detect_format(const char *data, size_t len, const char *path) {
  if (path) {
    size_t n = strlen(path);
    if (n >= 4 && !strcasecmp(path + n - 4, ".csv")) return FG_MANIFEST_CSV;
    if (n >= 5 && !strcasecmp(path + n - 5, ".json")) return FG_MANIFEST_JSON;
  }
  size_t i = len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3) ? 3 : 0;
  while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')) i++;
  return i < len && data[i] == '{' ? FG_MANIFEST_JSON : FG_MANIFEST_CSV;
}

static void free_staged(import_ctx *c) {
  for (size_t i = 0; c->st && i < c->doc.n; i++)
    for (int j = 0; j < c->st[i].nok; j++) {
      staged_photo *sp = &c->st[i].ok[j];
      if (sp->owned) {
        sodium_memzero(sp->bytes, sp->len);
        free(sp->bytes);
      }
      if (sp->emb) sodium_memzero(sp->emb, (size_t)sp->dim * sizeof(float));
      free(sp->emb);
    }
  free(c->st);
  c->st = NULL;
  fg__manifest_doc_release(&c->doc);
}

/* ---- phase 1: the target ------------------------------------------------------- */

static int check_target(import_ctx *c, fg_error *err) {
  fg_border *b = c->b;
  const fg__manifest_doc *d = &c->doc;
  char when[32];
  if (c->amend) {
    int rc = get_manifest(b, c->o->amend, &c->target, err);
    if (rc != FG_OK) return rc;
    if (strcmp(c->target.status, "open") != 0)
      return fg__seterr(err, FG_ECONFLICT, "manifest %lld is %s: it cannot be amended",
                        (long long)c->o->amend, c->target.status);
    if (d->have_flight &&
        (strcmp(d->carrier, c->target.carrier) || strcmp(d->flight, c->target.flight) ||
         strcmp(d->port, c->target.port) || strcmp(d->direction, c->target.direction) ||
         d->scheduled != c->target.scheduled)) {
      fg__iso_time(c->target.scheduled, when);
      return fg__seterr(err, FG_ECONFLICT,
                        "amend: the file's flight is not manifest %lld's (%s %s, %s, %s)",
                        (long long)c->o->amend, c->target.flight, c->target.port, when,
                        c->target.direction);
    }
    c->manifest_id = c->o->amend;
    return FG_OK;
  }
  manifest_row *t = &c->target;
  memset(t, 0, sizeof *t);
  snprintf(t->carrier, sizeof t->carrier, "%s", d->carrier);
  snprintf(t->flight, sizeof t->flight, "%s", d->flight);
  snprintf(t->port, sizeof t->port, "%s", d->port);
  snprintf(t->direction, sizeof t->direction, "%s", d->direction);
  snprintf(t->status, sizeof t->status, "open");
  t->scheduled = d->scheduled;
  fg_val p[3] = {FG_V_TEXT(d->carrier), FG_V_TEXT(d->flight), FG_V_INT(d->scheduled)};
  int64_t id = 0;
  int found = 0;
  int rc = fg_store_exec_int(b->store, &FG_Q_MAN_FIND, p, 3, &id, &found, err);
  if (rc != FG_OK) return rc;
  if (found) {
    fg__iso_time(d->scheduled, when);
    return fg__seterr(err, FG_ECONFLICT,
                      "flight %s at %s already has manifest %lld: amend it instead", d->flight,
                      when, (long long)id);
  }
  return FG_OK;
}

/* ---- phase 2: duplicates and faces ---------------------------------------------- */

typedef struct doc_key {
  char state[4], number[FG__MANIFEST_MAX_DOCNUM + 1];
  size_t index;
} doc_key;

static int by_document(const void *x, const void *y) {
  const doc_key *a = x, *b = y;
  int r = strcmp(a->state, b->state);
  if (!r) r = strcmp(a->number, b->number);
  if (!r) r = a->index < b->index ? -1 : a->index > b->index;
  return r;
}

/* A document given twice in the file: the later passengers are duplicates. */
static int dup_in_file(import_ctx *c, fg_error *err) {
  doc_key *k = malloc((c->doc.n ? c->doc.n : 1) * sizeof *k);
  if (!k) return fg__seterr(err, FG_ENOMEM, "out of memory");
  size_t n = 0;
  for (size_t i = 0; i < c->doc.n; i++) {
    if (c->st[i].skip) continue;
    memcpy(k[n].state, c->doc.p[i].issuing_state, sizeof k[n].state);
    memcpy(k[n].number, c->doc.p[i].doc_number, sizeof k[n].number);
    k[n++].index = i;
  }
  qsort(k, n, sizeof *k, by_document);
  for (size_t i = 1, first = 0; i < n; i++) {
    if (strcmp(k[i].state, k[i - 1].state) || strcmp(k[i].number, k[i - 1].number)) {
      first = i;
      continue;
    }
    fg__manifest_passenger *p = &c->doc.p[k[i].index];
    fg__manifest_problem_add(p, FG__PROBLEM_DUPLICATE, -1,
                             "document %s %s is also passenger %zu's", p->issuing_state,
                             p->doc_number, k[first].index);
    c->st[k[i].index].skip = 1;
  }
  free(k);
  return FG_OK;
}

typedef struct doc_row {
  int found;
  int64_t document_id, traveller_id;
  uint8_t *sealed; /* documents.document_sealed, malloc'd (NULL: none) */
  size_t n;
} doc_row;

static int doc_row_fn(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  doc_row *d = ctx;
  d->found = 1;
  d->document_id = fg__val_int(&c[0]);
  d->traveller_id = fg__val_int(&c[1]);
  if (c[2].type == FG_VAL_BLOB) {
    if (!(d->sealed = malloc(c[2].n ? c[2].n : 1))) return fg__seterr(err, FG_ENOMEM, "out of memory");
    memcpy(d->sealed, c[2].b, c[2].n);
    d->n = c[2].n;
  }
  return 1;
}

/* The document (issuing state, number) by its blind index. The caller frees d->sealed. */
static int find_document(fg_border *b, const fg__manifest_passenger *p, doc_row *d,
                         fg_error *err) {
  memset(d, 0, sizeof *d);
  uint8_t index[32];
  fg__document_index(b, p->issuing_state, p->doc_number, index);
  fg_val k = FG_V_BLOB(index, sizeof index);
  return fg_store_exec(b->store, &FG_Q_MAN_DOC_FIND, &k, 1, doc_row_fn, d, err);
}

/* Whether the holder of p's document (d, when found) is on the manifest already;
 * if so the passenger becomes a duplicate. */
static int check_on_manifest(import_ctx *c, size_t i, const doc_row *d, fg_error *err) {
  if (!d->found || !c->manifest_id) return FG_OK;
  fg_val k[2] = {FG_V_INT(c->manifest_id), FG_V_INT(d->traveller_id)};
  int64_t one = 0;
  int found = 0;
  int rc = fg_store_exec_int(c->b->store, &FG_Q_MAN_PASSENGER_EXISTS, k, 2, &one, &found, err);
  if (rc == FG_OK && found) {
    fg__manifest_passenger *p = &c->doc.p[i];
    fg__manifest_problem_add(p, FG__PROBLEM_DUPLICATE, -1,
                             "document %s %s: its holder is already on manifest %lld",
                             p->issuing_state, p->doc_number, (long long)c->manifest_id);
    c->st[i].skip = 1;
  }
  return rc;
}

/* Join base_dir and a checked relative path. */
static char *photo_path(const char *base, const char *rel) {
  size_t n = strlen(base) + strlen(rel) + 2;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s/%s", base, rel);
  return s;
}

static void reasons_text(unsigned bits, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = '\0';
  for (unsigned bit = 1; bit && k < cap; bit <<= 1)
    if (bits & bit) {
      const char *name = fg_quality_reason_name(bit);
      if (*name) k += (size_t)snprintf(buf + k, cap - k, "%s%s", k ? ", " : "", name);
    }
}

/* Read photo j of passenger i and run the pipeline on it; keep it if a face
 * of sufficient quality was found, else record the problem. Only failures of
 * the engine itself (memory, inference backend) are errors. */
static int stage_photo(import_ctx *c, fg_face_engine *fe, size_t i, int j, fg_error *err) {
  fg__manifest_passenger *p = &c->doc.p[i];
  const fg__manifest_photo *ph = &p->photo[j];
  staged_photo sp = {.src = ph};
  fg_error e = {0};
  int rc;
  if (ph->kind == FG__PHOTO_BASE64) {
    sp.bytes = ph->data;
    sp.len = ph->len;
  } else if (c->o && c->o->inline_photos_only) {
    fg__manifest_problem_add(p, FG__PROBLEM_INVALID, ph->pos,
                             "photos[%d]: a file path is not accepted here (send the photo "
                             "as base64)", ph->pos);
    return FG_OK;
  } else {
    char *full = photo_path(c->base_dir, ph->path);
    if (!full) return fg__seterr(err, FG_ENOMEM, "out of memory");
    rc = fg__read_file(full, PHOTO_MAX_BYTES, &sp.bytes, &sp.len, &e);
    free(full);
    if (rc == FG_ENOMEM) return fg__seterr(err, rc, "%s", e.msg);
    if (rc != FG_OK) {
      fg__manifest_problem_add(p, FG__PROBLEM_UNREADABLE, ph->pos, "photos[%d]: %s", ph->pos,
                               e.msg);
      return FG_OK;
    }
    sp.owned = 1;
  }
  fg_face_result *r = c->b->scratch;
  rc = fg_face_process_buffer(fe, sp.bytes, sp.len, NULL, r, &e);
  const char *code = NULL;
  char detail[200];
  if (rc == FG_ENOMEM || rc == FG_EBACKEND) {
    fg__seterr(err, rc, "photos[%d] of passenger %zu: %s", ph->pos, p->index, e.msg);
    goto drop;
  }
  if (rc != FG_OK) {
    code = FG__PROBLEM_UNREADABLE;
    snprintf(detail, sizeof detail, "%.180s", e.msg);
  } else if (r->status == FG_FACE_NO_FACE) {
    code = FG__PROBLEM_NO_FACE;
    snprintf(detail, sizeof detail, "no face found");
  } else if (r->status != FG_FACE_OK) {
    /* A document photo is the only reference there is: a poor one is still
     * enrolled (a gate capture of the same quality would be retaken instead),
     * and flagged so the supervisor can ask for a better one. */
    char why[120];
    reasons_text(r->quality.reasons, why, sizeof why);
    fg__manifest_problem_add(p, FG__PROBLEM_LOW_QUALITY, ph->pos,
                             "photos[%d]: enrolled with quality %.0f below %.0f (%s)", ph->pos,
                             r->quality.score, c->b->policy.quality_min,
                             why[0] ? why : "no single reason");
  }
  if (code) {
    fg__manifest_problem_add(p, code, ph->pos, "photos[%d]: %s", ph->pos, detail);
    rc = FG_OK;
    goto drop;
  }
  sp.dim = r->dim;
  sp.quality = r->quality.score;
  if (!(sp.emb = malloc((size_t)r->dim * sizeof(float)))) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto drop;
  }
  memcpy(sp.emb, r->embedding, (size_t)r->dim * sizeof(float));
  c->st[i].ok[c->st[i].nok++] = sp;
  return FG_OK;
drop:
  if (sp.owned) {
    sodium_memzero(sp.bytes, sp.len);
    free(sp.bytes);
  }
  return rc;
}

static int stage_faces(import_ctx *c, fg_error *err) {
  fg_face_engine *fe = NULL;
  int rc = FG_OK;
  for (size_t i = 0; i < c->doc.n; i++) {
    fg__manifest_passenger *p = &c->doc.p[i];
    for (int j = 0; !c->st[i].skip && j < p->nphotos; j++) {
      if (!fe && (rc = fg__border_face(c->b, &fe, err)) != FG_OK) return rc;
      if ((rc = stage_photo(c, fe, i, j, err)) != FG_OK) return rc;
    }
    if (c->o->progress) c->o->progress(c->o->progress_ctx, i + 1, c->doc.n);
  }
  return FG_OK;
}

/* ---- phase 3: the records ---------------------------------------------------------- */

/* passengers.problems: the distinct problem codes, as a JSON array (NULL: none). */
static char *problem_codes(const fg__manifest_passenger *p) {
  if (!p->nproblems) return NULL;
  json_t *a = json_array();
  for (int k = 0; a && k < p->nproblems; k++) {
    int seen = 0;
    for (int m = 0; m < k; m++) seen |= p->problem[m].code == p->problem[k].code;
    if (!seen) json_array_append_new(a, json_string(p->problem[k].code));
  }
  char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
  json_decref(a);
  return s;
}

static int write_photo(import_ctx *c, int64_t traveller_id, staged_photo *sp, int64_t now,
                       fg_error *err) {
  fg_border *b = c->b;
  char source[256];
  switch (sp->src->kind) {
  /* Not the file's name: it may be the traveller's. */
  case FG__PHOTO_PATH: snprintf(source, sizeof source, "path"); break;
  case FG__PHOTO_DG2: snprintf(source, sizeof source, "dg2"); break;
  default: snprintf(source, sizeof source, "base64"); break;
  }
  fg_val ins[5] = {FG_V_INT(c->manifest_id), FG_V_INT(traveller_id), FG_V_TEXT(source),
                   FG_V_REAL(sp->quality), FG_V_INT(now)};
  int64_t id = 0;
  int rc = fg_store_exec_int(b->store, &FG_Q_MAN_PHOTO_INSERT, ins, 5, &id, NULL, err);
  if (rc != FG_OK) return rc;
  uint8_t *tmpl = NULL, *simg = NULL, *stmpl = NULL;
  size_t tlen = 0, silen = 0, stlen = 0;
  if ((rc = fg__border_template(b, sp->emb, sp->dim, &tmpl, &tlen, err)) == FG_OK &&
      (rc = fg__border_seal(b, "photos", "image_sealed", id, sp->bytes, sp->len, &simg, &silen,
                            err)) == FG_OK &&
      (rc = fg__border_seal(b, "photos", "template_sealed", id, tmpl, tlen, &stmpl, &stlen,
                            err)) == FG_OK) {
    fg_val up[3] = {FG_V_BLOB(simg, silen), FG_V_BLOB(stmpl, stlen), FG_V_INT(id)};
    rc = fg_store_exec(b->store, &FG_Q_MAN_PHOTO_SEAL, up, 3, NULL, NULL, err);
  }
  if (tmpl) sodium_memzero(tmpl, tlen);
  free(tmpl);
  free(simg);
  free(stmpl);
  return rc;
}

static int blob_copy_fn(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n;
  doc_row *d = ctx; /* reused for a traveller's person_sealed */
  if (c[0].type == FG_VAL_BLOB) {
    if (!(d->sealed = malloc(c[0].n ? c[0].n : 1))) return fg__seterr(err, FG_ENOMEM, "out of memory");
    memcpy(d->sealed, c[0].b, c[0].n);
    d->n = c[0].n;
  }
  return 1;
}

/* The traveller's sealed person and blind index, written to row id. */
static int seal_traveller(fg_border *b, int64_t id, const fg__person *person, const char *cat,
                          fg_error *err) {
  uint8_t *sealed = NULL;
  size_t n = 0;
  int rc = fg__person_seal(b, id, person, &sealed, &n, err);
  if (rc == FG_OK) {
    fg_val v[4] = {FG_V_BLOB(sealed, n), FG_V_INT(fg__surname_index(b, person->surname)),
                   FG_V_TEXT(cat), FG_V_INT(id)};
    rc = fg_store_exec(b->store, &FG_Q_MAN_TRAVELLER_UPDATE, v, 4, NULL, NULL, err);
  }
  free(sealed);
  return rc;
}

static int seal_document(fg_border *b, int64_t id, const char *type, const fg__document *doc,
                         fg_error *err) {
  uint8_t *sealed = NULL;
  size_t n = 0;
  int rc = fg__document_seal(b, id, doc, &sealed, &n, err);
  if (rc == FG_OK) {
    fg_val v[3] = {FG_V_TEXT(type), FG_V_BLOB(sealed, n), FG_V_INT(id)};
    rc = fg_store_exec(b->store, &FG_Q_MAN_DOC_UPDATE, v, 3, NULL, NULL, err);
  }
  free(sealed);
  return rc;
}

/* A traveller and a document known already: what the file gives replaces what
 * was stored, optional fields it leaves out keep their stored values. */
static int update_known(import_ctx *c, const fg__manifest_passenger *p, const doc_row *d,
                        fg__person *person, fg__document *doc, const char *cat, fg_error *err) {
  fg_border *b = c->b;
  doc_row t = {0};
  fg_val tid = FG_V_INT(d->traveller_id);
  fg__person old;
  fg__document olddoc;
  int rc = fg_store_exec(b->store, &FG_Q_MAN_TRAVELLER_PERSON, &tid, 1, blob_copy_fn, &t, err);
  fg_val tv = FG_V_BLOB(t.sealed, t.n), dv = FG_V_BLOB(d->sealed, d->n);
  if (rc == FG_OK) rc = fg__person_open(b, d->traveller_id, &tv, &old, err);
  if (rc == FG_OK) rc = fg__document_open(b, d->document_id, &dv, &olddoc, err);
  if (rc == FG_OK) {
    if (!person->date_of_birth[0]) memcpy(person->date_of_birth, old.date_of_birth, sizeof old.date_of_birth);
    if (!person->nationality[0]) memcpy(person->nationality, old.nationality, sizeof old.nationality);
    if (!person->sex[0]) memcpy(person->sex, old.sex, sizeof old.sex);
    if (!doc->expiry[0]) memcpy(doc->expiry, olddoc.expiry, sizeof olddoc.expiry);
    rc = seal_traveller(b, d->traveller_id, person, cat, err);
  }
  if (rc == FG_OK) rc = seal_document(b, d->document_id, p->doc_type, doc, err);
  sodium_memzero(&old, sizeof old);
  sodium_memzero(&olddoc, sizeof olddoc);
  free(t.sealed);
  return rc;
}

static int write_passenger(import_ctx *c, size_t i, int64_t now, fg_error *err) {
  fg_border *b = c->b;
  fg__manifest_passenger *p = &c->doc.p[i];
  staged *s = &c->st[i];
  doc_row d;
  int rc = find_document(b, p, &d, err);
  if (rc == FG_OK) rc = check_on_manifest(c, i, &d, err);
  if (rc != FG_OK || s->skip) {
    free(d.sealed);
    return rc;
  }
  const char *cat = fg_category_name(p->category);
  int64_t traveller = d.traveller_id, document = d.document_id;
  fg__person person;
  fg__document doc;
  memset(&person, 0, sizeof person);
  memset(&doc, 0, sizeof doc);
  snprintf(person.surname, sizeof person.surname, "%s", p->surname);
  snprintf(person.given_names, sizeof person.given_names, "%s", p->given_names);
  snprintf(person.date_of_birth, sizeof person.date_of_birth, "%s", p->date_of_birth);
  snprintf(person.nationality, sizeof person.nationality, "%s", p->nationality);
  snprintf(person.sex, sizeof person.sex, "%s", p->sex);
  snprintf(doc.number, sizeof doc.number, "%s", p->doc_number);
  snprintf(doc.issuing_state, sizeof doc.issuing_state, "%s", p->issuing_state);
  snprintf(doc.expiry, sizeof doc.expiry, "%s", p->doc_expiry);
  if (d.found) {
    rc = update_known(c, p, &d, &person, &doc, cat, err);
  } else {
    /* New rows first (their ids bind the seals), then their sealed values. */
    fg_val t[2] = {FG_V_TEXT(cat), FG_V_INT(now)};
    uint8_t num[32], index[32];
    char placeholder[72];
    fg__document_number_index(b, p->doc_number, num);
    fg__document_index(b, p->issuing_state, p->doc_number, index);
    fg__document_placeholder(index, placeholder);
    rc = fg_store_exec_int(b->store, &FG_Q_MAN_TRAVELLER_INSERT, t, 2, &traveller, NULL, err);
    if (rc == FG_OK) rc = seal_traveller(b, traveller, &person, cat, err);
    if (rc == FG_OK) {
      fg_val dv[5] = {FG_V_INT(traveller), FG_V_TEXT(p->doc_type), FG_V_TEXT(placeholder),
                      FG_V_BLOB(num, 32), FG_V_BLOB(index, 32)};
      rc = fg_store_exec_int(b->store, &FG_Q_MAN_DOC_INSERT, dv, 5, &document, NULL, err);
    }
    if (rc == FG_OK) rc = seal_document(b, document, p->doc_type, &doc, err);
  }
  sodium_memzero(&person, sizeof person);
  sodium_memzero(&doc, sizeof doc);
  free(d.sealed);
  if (rc != FG_OK) return rc;
  char *codes = problem_codes(p);
  if (p->nproblems && !codes) return fg__seterr(err, FG_ENOMEM, "out of memory");
  fg_val pv[7] = {FG_V_INT(c->manifest_id),
                  FG_V_INT(traveller),
                  FG_V_INT(document),
                  FG_V_INT(s->nok),
                  FG_V_TEXT(codes),
                  p->admitted_until > 0 ? FG_V_INT(p->admitted_until) : FG_V_NULL,
                  FG_V_INT(now)};
  rc = fg_store_exec(b->store, &FG_Q_MAN_PASSENGER_INSERT, pv, 7, NULL, NULL, err);
  free(codes);
  for (int j = 0; rc == FG_OK && j < s->nok; j++) rc = write_photo(c, traveller, &s->ok[j], now, err);
  if (rc != FG_OK) return rc;
  s->recorded = 1;
  c->added++;
  c->enrolled += s->nok > 0;
  c->templates += (size_t)s->nok;
  return FG_OK;
}

static size_t problem_count(const import_ctx *c) {
  size_t n = 0;
  for (size_t i = 0; i < c->doc.n; i++) n += (size_t)c->doc.p[i].nproblems;
  return n;
}

static json_t *build_report(const import_ctx *c);

/* The report is built before the commit: an import that cannot report its
 * outcome records nothing. */
static int write_records(import_ctx *c, json_t **report, fg_error *err) {
  fg_border *b = c->b;
  int64_t now = fg_border_now(b);
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  if (c->amend) {
    manifest_row m;
    if ((rc = get_manifest(b, c->manifest_id, &m, err)) == FG_OK && strcmp(m.status, "open"))
      rc = fg__seterr(err, FG_ECONFLICT, "manifest %lld is %s: it cannot be amended",
                      (long long)c->manifest_id, m.status);
  } else {
    fg_val mv[6] = {FG_V_TEXT(c->target.carrier), FG_V_TEXT(c->target.flight),
                    FG_V_TEXT(c->target.port),    FG_V_INT(c->target.scheduled),
                    FG_V_TEXT(c->target.direction), FG_V_INT(now)};
    rc = fg_store_exec_int(b->store, &FG_Q_MAN_INSERT, mv, 6, &c->manifest_id, NULL, err);
    c->target.created = now;
  }
  for (size_t i = 0; rc == FG_OK && i < c->doc.n; i++)
    if (!c->st[i].skip) rc = write_passenger(c, i, now, err);
  if (rc == FG_OK) {
    fg_val id = FG_V_INT(c->manifest_id);
    rc = fg_store_exec_int(b->store, &FG_Q_MAN_BUMP, &id, 1, &c->revision, NULL, err);
  }
  if (rc == FG_OK) rc = fg__border_announce(b, FG__CHANNEL_MANIFEST, c->manifest_id, err);
  if (rc == FG_OK)
    rc = fg__border_audit_about(
        b, c->who, c->amend ? "manifest.amend" : "manifest.import", "manifest", c->manifest_id,
        "flight staging",
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "format",
                  c->doc.format == FG_MANIFEST_CSV ? "csv" : "json", "revision",
                  (json_int_t)c->revision, "rows", (json_int_t)c->doc.n, "passengers",
                  (json_int_t)c->added, "enrolled_passengers", (json_int_t)c->enrolled,
                  "templates", (json_int_t)c->templates, "problems",
                  (json_int_t)problem_count(c)),
        err);
  if (rc == FG_OK && !(*report = build_report(c))) rc = fg__seterr(err, FG_ENOMEM, "out of memory (report)");
  if (rc == FG_OK) {
    if ((rc = fg_store_commit(b->store, err)) != FG_OK) {
      json_decref(*report);
      *report = NULL;
    }
    return rc;
  }
  fg_store_rollback(b->store);
  return rc;
}

/* ---- the report ------------------------------------------------------------------- */

static json_t *build_report(const import_ctx *c) {
  json_t *problems = json_array();
  for (size_t i = 0; problems && i < c->doc.n; i++) {
    const fg__manifest_passenger *p = &c->doc.p[i];
    for (int k = 0; k < p->nproblems; k++) {
      const fg__manifest_problem *q = &p->problem[k];
      json_t *o = json_pack("{s:I, s:o, s:s, s:s, s:b}", "index", (json_int_t)p->index,
                            "document", p->doc_number[0] ? json_string(p->doc_number) : json_null(),
                            "problem", q->code, "detail", q->detail, "recorded",
                            c->st[i].recorded);
      if (o && q->photo >= 0) json_object_set_new(o, "photo", json_integer(q->photo));
      if (o && p->line > 0) json_object_set_new(o, "line", json_integer(p->line));
      if (!o || json_array_append_new(problems, o)) {
        json_decref(problems);
        return NULL;
      }
    }
  }
  if (!problems) return NULL;
  return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:I, s:I, s:o}", "manifest_id",
                   (json_int_t)c->manifest_id, "action", c->amend ? "amend" : "import", "carrier",
                   c->target.carrier, "flight", c->target.flight, "port", c->target.port,
                   "scheduled", fg__json_time(c->target.scheduled), "direction",
                   c->target.direction, "revision", (json_int_t)c->revision, "passengers",
                   (json_int_t)c->added, "enrolled_passengers", (json_int_t)c->enrolled,
                   "templates", (json_int_t)c->templates, "problems", problems);
}

/* ---- import ----------------------------------------------------------------------- */

static int import(fg_border *b, const fg_actor *who, const char *data, size_t len,
                  const char *path, const char *base_dir, const fg_manifest_import_opts *o,
                  json_t **report, fg_error *err) {
  fg_manifest_import_opts none;
  if (!o) {
    memset(&none, 0, sizeof none);
    o = &none;
  }
  *report = NULL;
  if (!data && len) return fg__seterr(err, FG_EINVAL, "manifest: no data");
  import_ctx c = {.b = b, .who = who, .o = o, .base_dir = base_dir, .amend = o->amend > 0};
  fg_manifest_format fmt = o->format ? o->format : detect_format(data ? data : "", len, path);
  int rc;
  if (fmt == FG_MANIFEST_CSV) {
    fg__manifest_flight fl = {o->carrier, o->flight, o->port, o->scheduled, o->direction};
    rc = fg__manifest_parse_csv(data ? data : "", len, &fl, !c.amend, &c.doc, err);
  } else if (fmt == FG_MANIFEST_JSON) {
    rc = fg__manifest_parse_json(data ? data : "", len, !c.amend, &c.doc, err);
  } else {
    rc = fg__seterr(err, FG_EINVAL, "manifest: unknown format %d", (int)fmt);
  }
  if (rc != FG_OK) return rc;
  if (!(c.st = calloc(c.doc.n, sizeof *c.st))) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < c.doc.n; i++) c.st[i].skip = c.doc.p[i].rejected;
  if ((rc = check_target(&c, err)) != FG_OK || (rc = dup_in_file(&c, err)) != FG_OK) goto out;
  for (size_t i = 0; c.amend && i < c.doc.n && rc == FG_OK; i++) {
    doc_row d;
    if (c.st[i].skip) continue;
    if ((rc = find_document(b, &c.doc.p[i], &d, err)) == FG_OK)
      rc = check_on_manifest(&c, i, &d, err);
    free(d.sealed);
  }
  if (rc == FG_OK && (rc = stage_faces(&c, err)) == FG_OK) rc = write_records(&c, report, err);
out:
  free_staged(&c);
  return rc;
}

int fg_border_manifest_import_buffer(fg_border *b, const fg_actor *who, const char *data,
                                     size_t len, const fg_manifest_import_opts *o,
                                     fg_doc **report, fg_error *err) {
  const char *base = o && o->base_dir ? o->base_dir : ".";
  json_t *r = NULL;
  int rc = import(b, who, data, len, NULL, base, o, &r, err);
  *report = fg__doc(r);
  return rc;
}

int fg_border_manifest_import(fg_border *b, const fg_actor *who, const char *path,
                              const fg_manifest_import_opts *o, fg_doc **report, fg_error *err) {
  *report = NULL;
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = fg__read_file(path, FG__MANIFEST_MAX_BYTES, &data, &len, err);
  if (rc != FG_OK) return rc;
  char *dir = NULL;
  if (!(o && o->base_dir)) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (slash == path) n = 1;
    if ((dir = malloc(n + 1))) {
      memcpy(dir, slash ? path : ".", n);
      dir[n] = '\0';
    }
  }
  if (!(o && o->base_dir) && !dir) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  else {
    json_t *r = NULL;
    rc = import(b, who, (const char *)data, len, path, dir ? dir : o->base_dir, o, &r, err);
    *report = fg__doc(r);
  }
  free(dir);
  free(data);
  return rc;
}

/* ---- close, list, show -------------------------------------------------------------- */

int fg_border_manifest_close(fg_border *b, const fg_actor *who, int64_t id, fg_error *err) {
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  manifest_row m;
  if ((rc = get_manifest(b, id, &m, err)) == FG_OK && strcmp(m.status, "open") != 0)
    rc = fg__seterr(err, FG_ECONFLICT, "manifest %lld is already %s", (long long)id, m.status);
  if (rc == FG_OK) {
    fg_val p[2] = {FG_V_INT(fg_border_now(b)), FG_V_INT(id)};
    rc = fg_store_exec(b->store, &FG_Q_MAN_CLOSE, p, 2, NULL, NULL, err);
  }
  if (rc == FG_OK) {
    char object[40];
    snprintf(object, sizeof object, "manifest:%lld", (long long)id);
    rc = fg__border_audit(b, who, "manifest.close", object, "flight staging", NULL, err);
  }
  if (rc == FG_OK) return fg_store_commit(b->store, err);
  fg_store_rollback(b->store);
  return rc;
}

/* The manifest's own columns as an object (cols: id first, then FG_Q_MAN_GET's). */
static json_t *manifest_json(const fg_val *c) {
  return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o}", "id",
                   (json_int_t)fg__val_int(&c[0]), "carrier", fg__val_json(&c[1]), "flight",
                   fg__val_json(&c[2]), "port", fg__val_json(&c[3]), "scheduled",
                   fg__json_time(fg__val_int(&c[4])), "direction", fg__val_json(&c[5]), "status",
                   fg__val_json(&c[6]), "revision", (json_int_t)fg__val_int(&c[7]), "created_at",
                   fg__json_time(fg__val_int(&c[8])), "closed_at", fg__json_time(fg__val_int(&c[9])));
}

static int list_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  json_t *o = manifest_json(c);
  static const char *const counts[6] = {"passengers", "enrolled", "expected",
                                        "crossed",    "manual",   "referred"};
  for (int i = 0; o && i < 6; i++)
    if (json_object_set_new(o, counts[i], json_integer(fg__val_int(&c[10 + i])))) {
      json_decref(o);
      o = NULL;
    }
  if (!o || json_array_append_new((json_t *)ctx, o))
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  return 0;
}

int fg_border_manifest_list(fg_border *b, const fg_actor *who, fg_doc **out, fg_error *err) {
  (void)who;
  *out = fg__doc(json_array());
  if (!*out) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = fg_store_exec(b->store, &FG_Q_MAN_LIST, NULL, 0, list_row, fg__json(*out), err);
  if (rc != FG_OK) {
    fg_doc_free(*out);
    *out = NULL;
  }
  return rc;
}

typedef struct passengers_ctx {
  fg_border *b;
  json_t **v; /* passenger objects, sorted by name once all are read */
  size_t n, cap;
} passengers_ctx;

static int passenger_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  passengers_ctx *pc = ctx;
  int64_t tid = fg__val_int(&c[0]), did = fg__val_int(&c[3]);
  fg__person person;
  fg__document doc;
  int rc = fg__person_open(pc->b, tid, &c[1], &person, err);
  if (rc == FG_OK) rc = fg__document_open(pc->b, did, &c[5], &doc, err);
  if (rc != FG_OK) return rc;
  json_t *problems = NULL;
  if (c[8].type == FG_VAL_TEXT) problems = json_loads(c[8].s, 0, NULL);
  if (!json_is_array(problems)) {
    json_decref(problems);
    problems = json_array();
  }
  json_t *o = fg__person_json(tid, &person, c[2].type == FG_VAL_TEXT ? c[2].s : NULL);
  if (o) json_object_del(o, "id");
  const char *type = c[4].type == FG_VAL_TEXT ? c[4].s : NULL;
  int bad = !o || json_object_set_new(o, "traveller_id", json_integer(tid)) ||
            json_object_set_new(o, "document", fg__document_json(type, &doc)) ||
            json_object_set_new(o, "status", fg__val_json(&c[6])) ||
            json_object_set_new(o, "enrolled", json_integer(fg__val_int(&c[7])));
  if (bad) /* problems not reached: ours to free (set_new takes it, succeeding or not) */
    json_decref(problems);
  else
    bad = json_object_set_new(o, "problems", problems) ||
          json_object_set_new(o, "admitted_until", fg__json_time(fg__val_int(&c[9]))) ||
          json_object_set_new(o, "added_at", fg__json_time(fg__val_int(&c[10])));
  sodium_memzero(&person, sizeof person);
  sodium_memzero(&doc, sizeof doc);
  if (!bad && pc->n == pc->cap) {
    size_t cap = pc->cap ? 2 * pc->cap : 64;
    json_t **v = realloc(pc->v, cap * sizeof *v);
    if (v) pc->v = v, pc->cap = cap;
    else bad = 1;
  }
  if (bad) {
    json_decref(o);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  pc->v[pc->n++] = o;
  return 0;
}

static const char *member(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* By surname, given names, then traveller id (as the list always read). */
static int by_name(const void *x, const void *y) {
  const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
  int r = strcmp(member(a, "surname"), member(b, "surname"));
  if (!r) r = strcmp(member(a, "given_names"), member(b, "given_names"));
  if (!r) {
    json_int_t i = json_integer_value(json_object_get(a, "traveller_id"));
    json_int_t j = json_integer_value(json_object_get(b, "traveller_id"));
    r = i < j ? -1 : i > j;
  }
  return r;
}

int fg_border_manifest_show(fg_border *b, const fg_actor *who, int64_t id, fg_doc **out,
                            fg_error *err) {
  *out = NULL;
  manifest_row m;
  int rc = get_manifest(b, id, &m, err);
  if (rc != FG_OK) return rc;
  json_t *pax = json_array();
  if (!pax) return fg__seterr(err, FG_ENOMEM, "out of memory");
  fg_val p = FG_V_INT(id);
  passengers_ctx pc = {b, NULL, 0, 0};
  rc = fg_store_exec(b->store, &FG_Q_MAN_PASSENGERS, &p, 1, passenger_row, &pc, err);
  if (rc == FG_OK) qsort(pc.v, pc.n, sizeof *pc.v, by_name);
  for (size_t k = 0; k < pc.n; k++)
    if (rc != FG_OK || json_array_append_new(pax, pc.v[k])) {
      if (rc == FG_OK) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
      else json_decref(pc.v[k]);
    }
  free(pc.v);
  if (rc != FG_OK) {
    json_decref(pax);
    return rc;
  }
  size_t enrolled = 0, idx;
  json_t *v;
  json_array_foreach(pax, idx, v) enrolled += json_integer_value(json_object_get(v, "enrolled")) > 0;
  *out = fg__doc(json_pack("{s:I, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:o, s:o, s:I, s:I, s:o}", "id",
                   (json_int_t)id, "carrier", m.carrier, "flight", m.flight, "port", m.port,
                   "scheduled", fg__json_time(m.scheduled), "direction", m.direction, "status",
                   m.status, "revision", (json_int_t)m.revision, "created_at",
                   fg__json_time(m.created), "closed_at", fg__json_time(m.closed),
                   "passengers_count", (json_int_t)json_array_size(pax), "enrolled",
                   (json_int_t)enrolled, "passengers", pax));
  if (!*out) return fg__seterr(err, FG_ENOMEM, "out of memory");
  /* Names, dates of birth and documents: a read of personal data, audited. */
  if ((rc = fg__border_audit_about(b, who, "manifest.read", "manifest", id, "flight staging",
                                    json_pack("{s:I}", "passengers",
                                              (json_int_t)json_array_size(pax)),
                                    err)) != FG_OK) {
    fg_doc_free(*out);
    *out = NULL;
    return rc;
  }
  return FG_OK;
}
