/*
 * Re-enrolment after a change of recognition model. A template records the
 * model that made it (facegate/template.h: 8 bytes of its id), and a gallery
 * holds one model's templates only. When the gates switch models, the stored
 * templates of the old one are re-embedded from the sealed photo they came
 * from, with the model now running, and written back sealed to the same row,
 * one audited transaction each ("template.reenrol", object photo:ID or
 * watchlist_template:ID, detail: the old and new model ids).
 *
 * Two ways in:
 *   - a gallery build (gallery_cache.c) that meets such a template: it leaves
 *     the template out, builds, has them re-enrolled here, and builds again;
 *   - fg_border_reenrol (`facegate reenrol`): every template of both stores
 *     (staged document photos, watchlist), with a dry run that only counts.
 *
 * A template whose photo is gone (retention deleted it, or a watchlist entry
 * was loaded from embeddings) or in which the running model's pipeline finds
 * no face cannot be re-enrolled: it stays as it is (switching back to the
 * old model finds it again) and is left out of galleries. For a passenger,
 * that is recorded where the supervisor looks (manifest show): the problem
 * "reenrol_no_photo" or "reenrol_no_face" and an `enrolled` count without
 * those templates, written (and audited as "passenger.left_out") once, when
 * it changes. For a watchlist entry, a warning in the log (ids only) and the
 * counts of `facegate reenrol`. Nothing here aborts a gallery because of one
 * template: only failures of the store, the keys or the engine are errors.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "facegate/log.h"
#include "border/manifest_parse.h"
#include "store/sql_manifest.h"
#include "store/sql_reenrol.h"
#include "store/sql_encounter.h"

int fg__stale_add(fg__stale_list *l, int64_t row, int64_t subject, int64_t manifest,
                  const uint8_t *model8, fg_error *err) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 8;
    fg__stale *v = realloc(l->v, cap * sizeof *v);
    if (!v) return fg__seterr(err, FG_ENOMEM, "out of memory");
    l->v = v, l->cap = cap;
  }
  fg__stale *s = &l->v[l->n++];
  *s = (fg__stale){.row = row, .subject = subject, .manifest = manifest};
  fg_template_model_hex(model8, s->from);
  return FG_OK;
}

void fg__stale_free(fg__stale_list *l) {
  free(l->v);
  memset(l, 0, sizeof *l);
}

/* ---- one template --------------------------------------------------------------- */

typedef struct blobs {
  int found;
  uint8_t *image, *tmpl; /* malloc'd copies (NULL: column NULL) */
  size_t image_n, tmpl_n;
} blobs;

static void blobs_free(blobs *x) {
  free(x->image);
  free(x->tmpl);
  memset(x, 0, sizeof *x);
}

static int copy_blob(const fg_val *v, uint8_t **out, size_t *n, fg_error *err) {
  if (v->type != FG_VAL_BLOB) return FG_OK;
  if (!(*out = malloc(v->n ? v->n : 1))) return fg__seterr(err, FG_ENOMEM, "out of memory");
  memcpy(*out, v->b, v->n);
  *n = v->n;
  return FG_OK;
}

/* (image_sealed, template_sealed) of one row */
static int blobs_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n;
  blobs *x = ctx;
  x->found = 1;
  int rc = copy_blob(&c[0], &x->image, &x->image_n, err);
  if (rc == FG_OK) rc = copy_blob(&c[1], &x->tmpl, &x->tmpl_n, err);
  return rc == FG_OK ? 1 : rc;
}

typedef struct kind {
  const char *table, *object, *channel;
  const fg_query *image, *set;
} kind;

static const kind FLIGHT = {"photos", "photo", FG__CHANNEL_MANIFEST, &FG_Q_REN_PHOTO_IMAGE,
                            &FG_Q_REN_PHOTO_SET};
static const kind WATCHLIST = {"watchlist_templates", "watchlist_template", FG__CHANNEL_WATCHLIST,
                               &FG_Q_REN_WATCHLIST_IMAGE, &FG_Q_REN_WATCHLIST_SET};

static int read_blobs(fg_border *b, const kind *k, int64_t row, blobs *x, fg_error *err) {
  memset(x, 0, sizeof *x);
  fg_val id = FG_V_INT(row);
  int rc = fg_store_exec(b->store, k->image, &id, 1, blobs_row, x, err);
  if (rc != FG_OK) blobs_free(x);
  return rc;
}

enum outcome { REENROLLED, NO_PHOTO, NO_FACE, GONE };

/* The running model's template of the photo in x, sealed to row (*out). */
static int embed_photo(fg_border *b, const kind *k, int64_t row, const blobs *x, fg_face_result *r,
                       uint8_t **out, size_t *out_n, enum outcome *o, fg_error *err) {
  fg_face_engine *fe;
  int rc = fg__border_face(b, &fe, err);
  if (rc != FG_OK) return rc;
  uint8_t *img = NULL;
  size_t img_n = 0;
  if ((rc = fg__border_unseal(b, k->table, "image_sealed", row, x->image, x->image_n, &img, &img_n,
                              err)) != FG_OK)
    return rc;
  fg_error e = {0};
  rc = fg_face_process_buffer(fe, img, img_n, NULL, r, &e);
  sodium_memzero(img, img_n);
  free(img);
  if (rc == FG_ENOMEM || rc == FG_EBACKEND) return fg__seterr(err, rc, "%s %" PRId64 ": %s", k->table, row, e.msg);
  /* A document photo is enrolled whatever its quality (manifest.c), so any face will do. */
  if (rc != FG_OK || r->status == FG_FACE_NO_FACE || r->dim != fg_face_engine_dim(fe)) {
    *o = NO_FACE;
    return FG_OK;
  }
  uint8_t *tpl = NULL;
  size_t tpl_n = 0;
  /* The photo's light, judged again by the running pipeline: a harsh-lit
   * photo's template stays marked (docs/pipeline.md, "Thresholds under harsh light"). */
  unsigned capture = fg_face_quality_harsh_light(&r->quality) ? FG_TEMPLATE_CAPTURE_HARSH_LIGHT : 0;
  rc = fg__border_template_capture(b, r->embedding, r->dim, capture, &tpl, &tpl_n, err);
  sodium_memzero(r->embedding, (size_t)r->dim * sizeof(float));
  if (rc == FG_OK) rc = fg__border_seal(b, k->table, "template_sealed", row, tpl, tpl_n, out, out_n, err);
  if (tpl) sodium_memzero(tpl, tpl_n);
  free(tpl);
  if (rc == FG_OK) *o = REENROLLED;
  return rc;
}

/* Write the new template if the row still holds the one seen (another
 * process may have re-enrolled it meanwhile), with the audit event, the
 * revision bump and the announcement, in one transaction. */
static int write_template(fg_border *b, const fg_actor *who, const kind *k, const fg__stale *s,
                          const blobs *seen, const uint8_t *sealed, size_t n, const char *to,
                          enum outcome *o, fg_error *err) {
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  blobs now;
  rc = read_blobs(b, k, s->row, &now, err);
  int same = rc == FG_OK && now.found && now.tmpl_n == seen->tmpl_n &&
             !memcmp(now.tmpl, seen->tmpl, seen->tmpl_n);
  blobs_free(&now);
  if (rc == FG_OK && !same) { /* changed or gone meanwhile: not ours to write (nothing written) */
    *o = GONE;
    return fg_store_commit(b->store, err);
  }
  fg_val v[2] = {FG_V_BLOB(sealed, n), FG_V_INT(s->row)};
  if (rc == FG_OK) rc = fg_store_exec(b->store, k->set, v, 2, NULL, NULL, err);
  if (rc == FG_OK && k == &FLIGHT) {
    fg_val m = FG_V_INT(s->manifest);
    int64_t rev = 0;
    rc = fg_store_exec_int(b->store, &FG_Q_MAN_BUMP, &m, 1, &rev, NULL, err);
  } else if (rc == FG_OK) {
    rc = fg_store_exec(b->store, &FG_Q_WL_REVISION_BUMP, NULL, 0, NULL, NULL, err);
  }
  if (rc == FG_OK) rc = fg__border_announce(b, k->channel, k == &FLIGHT ? s->manifest : 0, err);
  if (rc == FG_OK)
    rc = fg__border_audit_about(
        b, who, "template.reenrol", k->object, s->row, "model change",
        k == &FLIGHT ? json_pack("{s:s, s:s, s:I, s:I}", "from_model", s->from, "to_model", to,
                                 "manifest", (json_int_t)s->manifest, "traveller", (json_int_t)s->subject)
                     : json_pack("{s:s, s:s, s:I}", "from_model", s->from, "to_model", to,
                                 "watchlist_entry", (json_int_t)s->subject),
        err);
  if (rc == FG_OK) rc = fg_store_commit(b->store, err);
  else fg_store_rollback(b->store);
  if (rc == FG_OK) *o = REENROLLED;
  return rc;
}

static int reenrol_one(fg_border *b, const fg_actor *who, const kind *k, const fg__stale *s,
                       int dry_run, const char *to, fg_face_result *r, enum outcome *o, fg_error *err) {
  blobs x;
  int rc = read_blobs(b, k, s->row, &x, err);
  if (rc != FG_OK) return rc;
  if (!x.found || !x.tmpl) *o = GONE;
  else if (!x.image) *o = NO_PHOTO;
  else if (dry_run) *o = REENROLLED; /* would be, unless the model finds no face */
  else {
    uint8_t *sealed = NULL;
    size_t n = 0;
    rc = embed_photo(b, k, s->row, &x, r, &sealed, &n, o, err);
    if (rc == FG_OK && *o == REENROLLED) rc = write_template(b, who, k, s, &x, sealed, n, to, o, err);
    free(sealed);
  }
  blobs_free(&x);
  return rc;
}

/* ---- passengers left out ----------------------------------------------------------- */

typedef struct passenger_row {
  int found;
  char *problems;
  int64_t enrolled;
} passenger_row;

static int passenger_fn(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n;
  passenger_row *p = ctx;
  p->found = 1;
  if (c[0].type == FG_VAL_TEXT && !(p->problems = strdup(c[0].s)))
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  p->enrolled = fg__val_int(&c[1]);
  return 1;
}

/* problems (a JSON array of codes, or NULL) with code added; NULL for none
 * needed (*changed 0), or a malloc'd string. */
static int add_problem(const char *problems, const char *code, char **out, int *changed,
                       fg_error *err) {
  *out = NULL;
  *changed = 0;
  json_t *a = problems ? json_loads(problems, 0, NULL) : json_array();
  if (a && !json_is_array(a)) json_decref(a), a = json_array();
  if (!a) return fg__seterr(err, FG_ENOMEM, "out of memory");
  size_t i;
  json_t *v;
  int seen = 0;
  json_array_foreach(a, i, v) seen |= json_is_string(v) && !strcmp(json_string_value(v), code);
  if (!seen) {
    if (json_array_append_new(a, json_string(code)) || !(*out = json_dumps(a, JSON_COMPACT))) {
      json_decref(a);
      return fg__seterr(err, FG_ENOMEM, "out of memory");
    }
    *changed = 1;
  }
  json_decref(a);
  return FG_OK;
}

/* Passenger (s->manifest, s->subject) had `failed` templates that could not
 * be re-enrolled (the last for `code`): their problem and enrolled count,
 * written when they change. */
static int mark_passenger(fg_border *b, const fg_actor *who, const fg__stale *s, int64_t failed,
                          const char *code, fg_error *err) {
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  fg_val k[2] = {FG_V_INT(s->manifest), FG_V_INT(s->subject)};
  passenger_row p = {0};
  int64_t templates = 0;
  rc = fg_store_exec(b->store, &FG_Q_REN_PASSENGER_GET, k, 2, passenger_fn, &p, err);
  if (rc == FG_OK) rc = fg_store_exec_int(b->store, &FG_Q_REN_PHOTO_COUNT, k, 2, &templates, NULL, err);
  int64_t enrolled = templates > failed ? templates - failed : 0;
  char *problems = NULL;
  int changed = 0;
  if (rc == FG_OK && p.found) rc = add_problem(p.problems, code, &problems, &changed, err);
  if (rc == FG_OK && p.found && (changed || enrolled != p.enrolled)) {
    fg_val v[4] = {problems ? FG_V_TEXT(problems) : p.problems ? FG_V_TEXT(p.problems) : FG_V_NULL,
                   FG_V_INT(enrolled), k[0], k[1]};
    int64_t rev = 0;
    rc = fg_store_exec(b->store, &FG_Q_REN_PASSENGER_SET, v, 4, NULL, NULL, err);
    if (rc == FG_OK) rc = fg_store_exec_int(b->store, &FG_Q_MAN_BUMP, &k[0], 1, &rev, NULL, err);
    if (rc == FG_OK) rc = fg__border_announce(b, FG__CHANNEL_MANIFEST, s->manifest, err);
    if (rc == FG_OK)
      rc = fg__border_audit_about(b, who, "passenger.left_out", "manifest", s->manifest, "model change",
                                  json_pack("{s:I, s:s, s:I, s:I}", "traveller", (json_int_t)s->subject,
                                            "reason", code, "templates_left_out", (json_int_t)failed,
                                            "enrolled", (json_int_t)enrolled),
                                  err);
  }
  free(problems);
  free(p.problems);
  if (rc == FG_OK) rc = fg_store_commit(b->store, err);
  else fg_store_rollback(b->store);
  return rc;
}

/* ---- a list of them ------------------------------------------------------------------ */

static void count(fg_reenrol_counts *c, enum outcome o) {
  if (o == REENROLLED) c->reenrolled++;
  else if (o == NO_PHOTO) c->no_photo++;
  else if (o == NO_FACE) c->no_face++;
  else c->current++; /* re-enrolled by someone else meanwhile, or deleted */
}

int fg__reenrol(fg_border *b, const fg_actor *who, int watchlist, const fg__stale_list *l,
                int dry_run, fg_reenrol_counts *c, const fg_reenrol_options *po, size_t done,
                size_t total, fg_error *err) {
  static const fg_actor sys = {"facegate", "system", "model change"};
  if (!who) who = &sys;
  const kind *k = watchlist ? &WATCHLIST : &FLIGHT;
  fg_face_engine *fe;
  int rc = fg__border_face(b, &fe, err);
  if (rc != FG_OK) return rc;
  uint8_t id[FG_TEMPLATE_MODEL_ID_BYTES];
  char to[17];
  fg_face_engine_model_id(fe, id);
  fg_template_model_hex(id, to);
  if (!l->n) return FG_OK;
  /* its own result, not b->scratch: an encounter's capture may still be there */
  enum outcome *o = calloc(l->n, sizeof *o);
  fg_face_result *fr = dry_run ? NULL : malloc(sizeof *fr);
  if (!o || (!dry_run && !fr)) {
    free(o);
    free(fr);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  for (size_t i = 0; rc == FG_OK && i < l->n; i++) {
    rc = reenrol_one(b, who, k, &l->v[i], dry_run, to, fr, &o[i], err);
    if (rc == FG_OK) count(c, o[i]);
    if (po && po->progress) po->progress(po->progress_ctx, done + i + 1, total);
  }
  /* Who is left out: passengers marked (rows are in any order: group by hand),
   * watchlist entries logged. */
  for (size_t i = 0; rc == FG_OK && i < l->n; i++) {
    if (o[i] != NO_PHOTO && o[i] != NO_FACE) continue;
    const fg__stale *s = &l->v[i];
    int64_t failed = 0, first = 1;
    const char *code = NULL;
    for (size_t j = 0; j < l->n; j++) {
      const fg__stale *t = &l->v[j];
      if (t->subject != s->subject || t->manifest != s->manifest || (o[j] != NO_PHOTO && o[j] != NO_FACE)) continue;
      if (j < i) first = 0;
      failed++;
      if (!code || o[j] == NO_PHOTO) code = o[j] == NO_PHOTO ? FG__PROBLEM_REENROL_NO_PHOTO : FG__PROBLEM_REENROL_NO_FACE;
    }
    if (!first) continue;
    if (watchlist) {
      fg__log(FG_LOG_WARN, "watchlist entry %" PRId64 ": %" PRId64 " template(s) of model %s cannot be "
              "re-enrolled with model %s (%s): left out of screening until it is enrolled again",
              s->subject, failed, s->from, to, o[i] == NO_PHOTO ? "no photo kept" : "no face found");
      c->left_out++;
    } else {
      c->left_out++;
      if (!dry_run) rc = mark_passenger(b, who, s, failed, code, err);
    }
  }
  if (fr) sodium_memzero(fr, sizeof *fr);
  free(fr);
  free(o);
  return rc;
}

/* ---- fg_border_reenrol ------------------------------------------------------------ */

typedef struct scan_ctx {
  fg_border *b;
  const kind *k;
  uint8_t model8[FG_TEMPLATE_MODEL_ID_BYTES];
  fg__stale_list stale;
  fg_reenrol_counts *c;
} scan_ctx;

/* (row id, subject id, template_sealed[, manifest id]) */
static int scan_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  scan_ctx *s = ctx;
  if (c[0].type != FG_VAL_INT || c[1].type != FG_VAL_INT || c[2].type != FG_VAL_BLOB)
    return fg__seterr(err, FG_EFORMAT, "%s: a template row of the wrong shape", s->k->table);
  uint8_t *plain = NULL;
  size_t len = 0;
  int rc = fg__border_unseal(s->b, s->k->table, "template_sealed", c[0].i, c[2].b, c[2].n, &plain, &len, err);
  if (rc != FG_OK) return rc;
  fg_template t;
  fg_error e = {0};
  rc = fg_template_decode(plain, len, s->model8, &t, &e);
  s->c->templates++;
  if (rc == FG_OK) {
    s->c->current++;
    fg_template_release(&t);
  } else if (rc == FG_EMODEL) {
    rc = fg__stale_add(&s->stale, c[0].i, c[1].i, n > 3 ? fg__val_int(&c[3]) : 0, plain + 8, err);
  } else {
    rc = fg__seterr(err, rc, "%s %" PRId64 ": %s", s->k->table, c[0].i, e.msg);
  }
  sodium_memzero(plain, len);
  free(plain);
  return rc;
}

int fg_border_reenrol(fg_border *b, const fg_actor *who, const fg_reenrol_options *o,
                      fg_reenrol_result *r, fg_error *err) {
  if (!b || !r) return fg__seterr(err, FG_EINVAL, "reenrol: no handle");
  memset(r, 0, sizeof *r);
  fg_face_engine *fe;
  int rc = fg__border_face(b, &fe, err);
  if (rc != FG_OK) return rc;
  uint8_t id[FG_TEMPLATE_MODEL_ID_BYTES];
  fg_face_engine_model_id(fe, id);
  fg_template_model_hex(id, r->model_id);
  snprintf(r->model, sizeof r->model, "%s", fg_face_engine_model_name(fe));
  scan_ctx s[2] = {{.b = b, .k = &FLIGHT, .c = &r->flights}, {.b = b, .k = &WATCHLIST, .c = &r->watchlist}};
  const fg_query *q[2] = {&FG_Q_REN_PHOTOS, &FG_Q_REN_WATCHLIST};
  for (int i = 0; i < 2; i++) {
    memcpy(s[i].model8, id, sizeof id);
    if (rc == FG_OK) rc = fg_store_exec(b->store, q[i], NULL, 0, scan_row, &s[i], err);
  }
  size_t total = s[0].stale.n + s[1].stale.n;
  int dry = o && o->dry_run;
  if (rc == FG_OK) rc = fg__reenrol(b, who, 0, &s[0].stale, dry, &r->flights, o, 0, total, err);
  if (rc == FG_OK) rc = fg__reenrol(b, who, 1, &s[1].stale, dry, &r->watchlist, o, s[0].stale.n, total, err);
  fg__stale_free(&s[0].stale);
  fg__stale_free(&s[1].stale);
  if (rc == FG_OK && !dry) fg__gallery_cache_reset(b);
  /* Every template was opened to read its model: a read of biometric data, audited. */
  if (rc == FG_OK) {
    json_t *d = json_pack("{s:s, s:s, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
                          "model", r->model, "model_id", r->model_id, "dry_run", dry, "flights",
                          "templates", (json_int_t)r->flights.templates, "current", (json_int_t)r->flights.current,
                          "reenrolled", (json_int_t)r->flights.reenrolled, "no_photo", (json_int_t)r->flights.no_photo,
                          "no_face", (json_int_t)r->flights.no_face, "left_out", (json_int_t)r->flights.left_out,
                          "watchlist", "templates", (json_int_t)r->watchlist.templates, "current",
                          (json_int_t)r->watchlist.current, "reenrolled", (json_int_t)r->watchlist.reenrolled,
                          "no_photo", (json_int_t)r->watchlist.no_photo, "no_face", (json_int_t)r->watchlist.no_face,
                          "left_out", (json_int_t)r->watchlist.left_out);
    rc = d ? fg__border_audit_json(b, who, "templates.reenrol", "templates", "model change", d, err)
           : fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(d);
  }
  return rc;
}
