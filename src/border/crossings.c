/*
 * Entries and exits: recording a crossing (fg__record_crossing, called by the
 * gate encounter and by an officer's manual confirmation), a traveller's
 * history (fg_border_crossings) and the overstay list (fg_border_overstays).
 *
 * An exit closes the traveller's latest entry that no exit closes yet (its
 * entry_id); an entry of a foreign national carries admitted_until (the
 * manifest's value, else policy.admit_days after the entry). A foreign
 * national overstays when admitted_until passed without an exit ("no_exit")
 * or when the linked exit came after it ("exited_late"); both lists are as of
 * a given time, so exits after that time do not count yet. Reading either is
 * a read of personal data and is audited.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "store/sql_records.h"

#define DAY 86400

static int copy_text64(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err;
  if (n > 0 && c[0].type == FG_VAL_TEXT) snprintf((char *)ctx, 64, "%s", c[0].s);
  return 1;
}

/* ---- recording ----------------------------------------------------------------- */

int fg__record_crossing(fg_border *b, const fg_actor *who, int64_t traveller_id,
                        const char *direction, int64_t at, const char *port,
                        int64_t manifest_id, int64_t encounter_id, const char *method,
                        const char *officer, int64_t admitted_until,
                        const fg__crossing_facts *known, int64_t *crossing_id, fg_error *err) {
  int is_entry = direction && strcmp(direction, "entry") == 0;
  if (!is_entry && !(direction && strcmp(direction, "exit") == 0))
    return fg__seterr(err, FG_EINVAL, "crossing: direction must be \"entry\" or \"exit\"");
  if (!method || (strcmp(method, "biometric") != 0 && strcmp(method, "manual") != 0))
    return fg__seterr(err, FG_EINVAL, "crossing: method must be \"biometric\" or \"manual\"");
  if (strcmp(method, "manual") == 0 && (!officer || !*officer))
    return fg__seterr(err, FG_EINVAL, "crossing: a manual crossing needs the officer's name");

  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  char category[64] = "";
  fg_val tid = FG_V_INT(traveller_id);
  int64_t entry_id = 0, until = 0, id = known ? known->id : 0;
  if (known && known->category) {
    snprintf(category, sizeof category, "%s", known->category);
    entry_id = known->open_entry;
  } else {
    rc = fg_store_exec(b->store, &FG_Q_REC_TRAVELLER_CATEGORY, &tid, 1, copy_text64, category, err);
    if (rc == FG_OK && !category[0])
      rc = fg__seterr(err, FG_ENOTFOUND, "crossing: no traveller %lld", (long long)traveller_id);
    if (rc == FG_OK && !is_entry)
      rc = fg_store_exec_int(b->store, &FG_Q_REC_OPEN_ENTRY, &tid, 1, &entry_id, NULL, err);
  }
  if (rc == FG_OK && is_entry && strcmp(category, "foreign") == 0)
    until = admitted_until > 0 ? admitted_until : at + (int64_t)b->policy.admit_days * DAY;
  if (rc != FG_OK) {
    fg_store_rollback(b->store);
    return rc;
  }
  fg_val p[12] = {
      FG_V_INT(id),
      tid,
      FG_V_TEXT(direction),
      FG_V_INT(at),
      FG_V_TEXT(port ? port : b->port),
      manifest_id > 0 ? FG_V_INT(manifest_id) : FG_V_NULL,
      encounter_id > 0 ? FG_V_INT(encounter_id) : FG_V_NULL,
      FG_V_TEXT(method),
      FG_V_TEXT(officer && *officer ? officer : NULL),
      until > 0 ? FG_V_INT(until) : FG_V_NULL,
      entry_id > 0 ? FG_V_INT(entry_id) : FG_V_NULL,
      FG_V_TEXT(category),
  };
  if (id > 0) /* taken up front: nothing to wait for */
    rc = fg_store_exec(b->store, &FG_Q_REC_CROSSING_INSERT_ID, p, 12, NULL, NULL, err);
  else
    rc = fg_store_exec_int(b->store, &FG_Q_REC_CROSSING_INSERT, p + 1, 11, &id, NULL, err);
  char row[65];
  p[0] = FG_V_INT(id);
  fg__hash_crossing(b, p, row);
  if (rc == FG_OK)
    rc = fg__border_audit_about(
        b, who, "crossing.create", "crossing", id, "entry/exit record",
        json_pack("{s:I, s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:s}", "at",
                  (json_int_t)at, "traveller_id",
                  (json_int_t)traveller_id, "direction", direction, "method", method, "port",
                  port ? port : b->port, "entry_id",
                  entry_id > 0 ? json_integer(entry_id) : json_null(), "encounter_id",
                  encounter_id > 0 ? json_integer(encounter_id) : json_null(), "manifest_id",
                  manifest_id > 0 ? json_integer(manifest_id) : json_null(), "officer",
                  officer && *officer ? json_string(officer) : json_null(), "admitted_until",
                  fg__json_time(until), "category", category, "row", row),
        err);
  if (rc == FG_OK) rc = fg_store_commit(b->store, err);
  else fg_store_rollback(b->store);
  if (rc == FG_OK && crossing_id) *crossing_id = id;
  return rc;
}

/* ---- a traveller's history --------------------------------------------------------- */

static int collect_ids(void *ctx, const fg_val *c, int n, fg_error *err) {
  json_t *arr = ctx;
  if (n > 0 && c[0].type == FG_VAL_INT && json_array_append_new(arr, json_integer(c[0].i)))
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  return 0;
}

/* "17" is a traveller id when such a traveller exists; anything else (or a
 * number that is no traveller's id) is a document number, which must name
 * exactly one traveller. */
static int resolve_traveller(fg_border *b, const char *key, int64_t *id, fg_error *err) {
  if (!key || !*key) return fg__seterr(err, FG_EINVAL, "crossings: no traveller given");
  int digits = 1;
  for (const char *p = key; *p; p++) digits &= isdigit((unsigned char)*p) != 0;
  if (digits && strlen(key) < 18) {
    fg_val v = FG_V_INT(strtoll(key, NULL, 10));
    char cat[64] = "";
    int rc = fg_store_exec(b->store, &FG_Q_REC_TRAVELLER_CATEGORY, &v, 1, copy_text64, cat, err);
    if (rc != FG_OK) return rc;
    if (cat[0]) {
      *id = v.i;
      return FG_OK;
    }
  }
  json_t *ids = json_array();
  if (!ids) return fg__seterr(err, FG_ENOMEM, "out of memory");
  uint8_t index[32]; /* numbers are sealed: found by their blind index */
  fg__document_number_index(b, key, index);
  fg_val v = FG_V_BLOB(index, sizeof index);
  int rc = fg_store_exec(b->store, &FG_Q_REC_TRAVELLER_BY_DOCUMENT, &v, 1, collect_ids, ids, err);
  if (rc == FG_OK) {
    size_t n = json_array_size(ids);
    if (n == 0) rc = fg__seterr(err, FG_ENOTFOUND, "no traveller with id or document \"%s\"", key);
    else if (n > 1)
      rc = fg__seterr(err, FG_ECONFLICT,
                      "document number \"%s\" is held by %zu travellers: give the traveller id",
                      key, n);
    else *id = json_integer_value(json_array_get(ids, 0));
  }
  json_decref(ids);
  return rc;
}

int fg__traveller_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  fg__person_rows *pc = ctx;
  fg__person p;
  int64_t id = fg__val_int(&c[0]);
  int rc = fg__person_open(pc->b, id, &c[1], &p, err);
  if (rc != FG_OK) return rc;
  pc->out = fg__person_json(id, &p, c[2].type == FG_VAL_TEXT ? c[2].s : NULL);
  sodium_memzero(&p, sizeof p);
  return pc->out ? 1 : fg__seterr(err, FG_ENOMEM, "out of memory");
}

int fg__document_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  fg__person_rows *pc = ctx;
  fg__document d;
  int rc = fg__document_open(pc->b, fg__val_int(&c[0]), &c[2], &d, err);
  if (rc != FG_OK) return rc;
  json_t *j = fg__document_json(c[1].type == FG_VAL_TEXT ? c[1].s : NULL, &d);
  sodium_memzero(&d, sizeof d);
  if (!j || json_array_append_new(pc->out, j)) return fg__seterr(err, FG_ENOMEM, "out of memory");
  return 0;
}

static int crossing_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n; /* the column count is the query's ncols, checked when prepared */
  json_t *arr = ctx;
  json_t *flight = c[6].type == FG_VAL_TEXT
                       ? json_pack("{s:o, s:o}", "carrier", fg__val_json(&c[5]), "flight",
                                   fg__val_json(&c[6]))
                       : json_null();
  json_t *x = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                        "id", fg__val_json(&c[0]), "direction", fg__val_json(&c[1]), "at",
                        fg__json_time(fg__val_int(&c[2])), "port", fg__val_json(&c[3]), "manifest_id",
                        fg__val_json(&c[4]), "flight", flight, "encounter_id", fg__val_json(&c[7]),
                        "method", fg__val_json(&c[8]), "officer", fg__val_json(&c[9]),
                        "admitted_until", fg__json_time(fg__val_int(&c[10])), "category",
                        fg__val_json(&c[12]), "entry_id", fg__val_json(&c[11]), "exit_id",
                        fg__val_json(&c[13]));
  if (!x || json_array_append_new(arr, x)) return fg__seterr(err, FG_ENOMEM, "out of memory");
  return 0;
}

/* Give each exit the entry it closes ("entry": {id, at, port, admitted_until})
 * and find the open entry (the latest entry without an exit). */
static int link_history(json_t *list, json_t **open_entry) {
  size_t i;
  json_t *x;
  *open_entry = NULL;
  json_array_foreach(list, i, x) {
    const char *dir = json_string_value(json_object_get(x, "direction"));
    if (dir && strcmp(dir, "entry") == 0) {
      if (!*open_entry && json_is_null(json_object_get(x, "exit_id"))) *open_entry = x;
      continue;
    }
    json_int_t eid = json_integer_value(json_object_get(x, "entry_id"));
    json_t *entry = json_null();
    size_t j;
    json_t *y;
    json_array_foreach(list, j, y) {
      if (json_integer_value(json_object_get(y, "id")) == eid && eid) {
        entry = json_pack("{s:O, s:O, s:O, s:O}", "id", json_object_get(y, "id"), "at",
                          json_object_get(y, "at"), "port", json_object_get(y, "port"),
                          "admitted_until", json_object_get(y, "admitted_until"));
        if (!entry) return -1;
        break;
      }
    }
    if (json_object_set_new(x, "entry", entry)) return -1;
  }
  return 0;
}

int fg_border_crossings(fg_border *b, const fg_actor *who, const char *traveller, fg_doc **out,
                        fg_error *err) {
  *out = NULL;
  int64_t id = 0;
  int rc = resolve_traveller(b, traveller, &id, err);
  if (rc != FG_OK) return rc;
  fg_val v = FG_V_INT(id);
  json_t *person = NULL, *docs = json_array(), *list = json_array();
  if (!docs || !list) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto done;
  }
  fg__person_rows pc = {b, NULL}, dc = {b, docs};
  rc = fg_store_exec(b->store, &FG_Q_REC_TRAVELLER_GET, &v, 1, fg__traveller_row, &pc, err);
  person = pc.out;
  if (rc != FG_OK ||
      (rc = fg_store_exec(b->store, &FG_Q_REC_TRAVELLER_DOCUMENTS, &v, 1, fg__document_row, &dc,
                          err)) != FG_OK ||
      (rc = fg_store_exec(b->store, &FG_Q_REC_CROSSINGS_OF, &v, 1, crossing_row, list, err)) !=
          FG_OK)
    goto done;
  if (!person) {
    rc = fg__seterr(err, FG_ENOTFOUND, "no traveller %lld", (long long)id);
    goto done;
  }
  json_t *open = NULL;
  if (json_object_set(person, "documents", docs) || link_history(list, &open)) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    goto done;
  }
  /* How the traveller was named, never the document number itself. */
  int by_id = 1;
  for (const char *q = traveller; *q; q++) by_id &= isdigit((unsigned char)*q) != 0;
  char idtext[24];
  snprintf(idtext, sizeof idtext, "%lld", (long long)id);
  by_id &= strcmp(traveller, idtext) == 0;
  rc = fg__border_audit_about(b, who, "crossings.read", "traveller", id, "entry/exit history",
                              json_pack("{s:s, s:I}", "by", by_id ? "id" : "document", "crossings",
                                        (json_int_t)json_array_size(list)),
                              err);
  if (rc != FG_OK) goto done;
  *out = fg__doc(json_pack("{s:O, s:O, s:O}", "traveller", person, "crossings", list, "open_entry",
                   open ? open : json_null()));
  if (!*out) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
done:
  json_decref(person);
  json_decref(docs);
  json_decref(list);
  return rc;
}

/* ---- overstays ------------------------------------------------------------------------- */

typedef struct overstay_ctx {
  fg_border *b;
  json_t *list;
  int64_t as_of;
  int late;
} overstay_ctx;

/* Days over (or late), counting a begun day as a day. */
static int64_t days_after(int64_t t, int64_t limit) { return (t - limit + DAY - 1) / DAY; }

static int overstay_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  overstay_ctx *o = ctx;
  if (n < (o->late ? 9 : 6)) return fg__seterr(err, FG_EIO, "overstay: unexpected columns");
  int64_t until = fg__val_int(&c[5]);
  fg__person p;
  int rc = fg__person_open(o->b, fg__val_int(&c[1]), &c[2], &p, err);
  if (rc != FG_OK) return rc;
  json_t *x = json_pack("{s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "kind",
                        o->late ? "exited_late" : "no_exit", "traveller_id", fg__val_json(&c[1]),
                        "surname", p.surname[0] ? json_string(p.surname) : json_null(),
                        "given_names", p.given_names, "nationality",
                        p.nationality[0] ? json_string(p.nationality) : json_null(), "entry_id",
                        fg__val_json(&c[0]), "entered_at", fg__json_time(fg__val_int(&c[3])), "entry_port",
                        fg__val_json(&c[4]), "admitted_until", fg__json_time(until));
  sodium_memzero(&p, sizeof p);
  if (!x) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int bad;
  if (o->late)
    bad = json_object_set_new(x, "exit_id", fg__val_json(&c[6])) ||
          json_object_set_new(x, "exited_at", fg__json_time(fg__val_int(&c[7]))) ||
          json_object_set_new(x, "exit_port", fg__val_json(&c[8])) ||
          json_object_set_new(x, "days_late", json_integer(days_after(fg__val_int(&c[7]), until)));
  else
    bad = json_object_set_new(x, "days_over", json_integer(days_after(o->as_of, until)));
  if (bad || json_array_append_new(o->list, x)) {
    if (bad) json_decref(x);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  return 0;
}

int fg_border_overstays(fg_border *b, const fg_actor *who, int64_t as_of, fg_doc **out,
                        fg_error *err) {
  return fg_border_overstays_at(b, who, as_of, NULL, out, err);
}

int fg_border_overstays_at(fg_border *b, const fg_actor *who, int64_t as_of, const char *site,
                           fg_doc **out, fg_error *err) {
  *out = NULL;
  if (site && *site && fg__border_text("site", site, 16, err) != FG_OK) return FG_EINVAL;
  if (site && !*site) site = NULL;
  if (as_of <= 0) as_of = fg_border_now(b);
  overstay_ctx o = {b, json_array(), as_of, 0};
  if (!o.list) return fg__seterr(err, FG_ENOMEM, "out of memory");
  fg_val p[4] = {FG_V_INT(as_of), FG_V_INT(as_of), FG_V_INT(as_of), FG_V_TEXT(site)};
  fg_val late_p[2] = {FG_V_INT(as_of), FG_V_TEXT(site)};
  int rc = fg_store_exec(b->store, &FG_Q_REC_OVERSTAY_NO_EXIT, p, 4, overstay_row, &o, err);
  size_t no_exit = json_array_size(o.list);
  o.late = 1;
  if (rc == FG_OK)
    rc = fg_store_exec(b->store, &FG_Q_REC_OVERSTAY_LATE, late_p, 2, overstay_row, &o, err);
  size_t late = json_array_size(o.list) - no_exit;
  json_t *counts = json_pack("{s:I, s:I}", "no_exit", (json_int_t)no_exit, "exited_late",
                             (json_int_t)late);
  if (rc == FG_OK && !counts) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  if (rc == FG_OK) {
    char when[32];
    fg__iso_time(as_of, when);
    json_t *d = json_pack("{s:s, s:o, s:O}", "as_of", when, "site",
                          site ? json_string(site) : json_null(), "counts", counts);
    rc = d ? fg__border_audit_json(b, who, "overstays.read", "overstays", "overstay review", d,
                                   err)
           : fg__seterr(err, FG_ENOMEM, "out of memory");
    json_decref(d);
  }
  if (rc == FG_OK) {
    *out = fg__doc(json_pack("{s:o, s:o, s:O, s:O}", "as_of", fg__json_time(as_of), "site",
                     site ? json_string(site) : json_null(), "counts", counts, "overstays", o.list));
    if (!*out) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  json_decref(counts);
  json_decref(o.list);
  return rc;
}
