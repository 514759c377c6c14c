/*
 * Shared state and helpers of the border-operations module (not API).
 *
 * Files: border.c (open/close, clock, audit and sealing helpers, the lazily
 * loaded face engine), policy.c, manifest_parse.c (JSON/CSV into
 * fg__manifest_doc), manifest.c (import, stage, close, list), gallery_cache.c
 * (flight and watchlist galleries in memory), encounter.c, verify.c,
 * watchlist.c, referral.c, crossings.c (crossings, overstays), purge.c,
 * report.c, keys.c (rotation). SQL lives in src/store/sql_*.c.
 */
#ifndef FG_BORDER_INTERNAL_H
#define FG_BORDER_INTERNAL_H

#include <stdint.h>

#include "common/doc.h"
#include "common/internal.h"
#include "facegate/calibration.h"
#include "facegate/border.h"
#include "facegate/gallery.h"
#include "facegate/secure.h"
#include "facegate/store.h"
#include "facegate/template.h"

/* A staged gallery in memory: subjects are traveller ids in decimal (flight)
 * or watchlist entry ids (watchlist). Rebuilt when the revision changes. */
typedef struct fg__gallery_cache {
  int64_t key;       /* manifest id (flight); watchlist: earliest expiry held (0: none) */
  int64_t revision;  /* manifests.revision / the watchlist's change counter */
  int valid;
  int trusted;       /* store notifies: no change announced since checked_ms */
  double checked_ms; /* when the revision was last read (fg__ms) */
  fg_gallery *g;     /* NULL when empty */
  size_t photos;     /* templates before fusion: what sets the FPIR threshold */
  size_t left_out;   /* templates of another model that could not be re-enrolled */
} fg__gallery_cache;

#define FG__FLIGHT_CACHE 4

struct fg_border {
  char *data_dir, *store_target, *key_path, *port;
  fg_policy policy;
  fg_store *store;
  fg_keyring *keys;
  fg_face_options face_opts;  /* strings point into face_strings */
  char *face_strings[6];
  fg_face_engine *face;       /* loaded on first use */
  fg_face_result *scratch;    /* one result, large: kept off the stack */
  fg_calibration cal;
  fg_fpir_calibration fpir;
  int have_cal, have_fpir;
  char cal_path[512], fpir_path[512]; /* where they were read from ("" when the model names none) */
  fg_clock_fn clock;
  void *clock_ctx;
  fg__gallery_cache flights[FG__FLIGHT_CACHE];
  unsigned flight_next;       /* round-robin eviction */
  fg__gallery_cache watchlist;
  const char *opt_out_refusal; /* why the last encounter's opt-out was refused (static), or NULL */
  fg_audit_tail tail;         /* the audit chain's tail as this transaction left it */
  uint64_t tail_serial;       /* the store transaction it belongs to (0: none) */
};

/* ---- border.c ---- */

/* Check a caller's text before it reaches a record: NULL is allowed (when the
 * field is optional), otherwise UTF-8 without control characters and at most
 * max bytes; FG_EINVAL naming `what` if not. */
int fg__border_text(const char *what, const char *s, size_t max, fg_error *err);

/* The face engine, loading the models on first call. */
int fg__border_face(fg_border *b, fg_face_engine **fe, fg_error *err);
/* Append an audit event for `who` (purpose defaults to `purpose` when the
 * actor gives none). detail: JSON text or NULL. Inside the caller's
 * transaction when one is open; there the chain's tail is read once per
 * transaction (or queued in a read batch by fg__border_audit_prefetch) and
 * kept in b, so N events cost one read. */
int fg__border_audit_prefetch(fg_border *b, fg_error *err);
int fg__border_audit(fg_border *b, const fg_actor *who, const char *action, const char *object,
                     const char *purpose, const char *detail, fg_error *err);
/* Same with a json_t detail (not stolen). */
int fg__border_audit_json(fg_border *b, const fg_actor *who, const char *action,
                          const char *object, const char *purpose, const json_t *detail,
                          fg_error *err);
/* An event about the object "<kind>:<id>" with a JSON detail that this takes
 * over: NULL means the json_pack that should have made it failed (FG_ENOMEM),
 * so callers pass json_pack's result straight in. */
int fg__border_audit_about(fg_border *b, const fg_actor *who, const char *action,
                           const char *kind, int64_t id, const char *purpose, json_t *detail,
                           fg_error *err);
/* Seal / unseal a blob bound to (table, column, id). */
int fg__border_seal(fg_border *b, const char *table, const char *column, int64_t id,
                    const void *plain, size_t n, uint8_t **out, size_t *out_len, fg_error *err);
int fg__border_unseal(fg_border *b, const char *table, const char *column, int64_t id,
                      const uint8_t *sealed, size_t n, uint8_t **plain, size_t *plain_len,
                      fg_error *err);
/* Encode an embedding as an FGT1 fp32 template of the engine's model. */
int fg__border_template(fg_border *b, const float *emb, int dim, uint8_t **out, size_t *len,
                        fg_error *err);
/* The same, with the capture's FG_TEMPLATE_CAPTURE_* flags. */
int fg__border_template_capture(fg_border *b, const float *emb, int dim, unsigned capture, uint8_t **out,
                                size_t *len, fg_error *err);
/* Threshold for a target FPIR in a gallery of n templates / for a target FMR. */
int fg__border_fpir_threshold(fg_border *b, size_t n, double fpir, float *t, fg_error *err);
int fg__border_fmr_threshold(fg_border *b, double fmr, float *t, fg_error *err);
/* How much a 1:N threshold rises when the capture and the candidate's
 * enrolment are both harsh-lit: the calibration's harsh-light threshold minus
 * its plain one at the smallest FMR that has both (0 when none has). */
float fg__border_harsh_margin(const fg_border *b);
/* The same between two captures with FG_TEMPLATE_CAPTURE_* flags (raised when
 * both are harsh-lit: fg_calibration_threshold_for). */
int fg__border_fmr_threshold_for(fg_border *b, double fmr, unsigned capture_a, unsigned capture_b, float *t,
                                 fg_error *err);
/* fg__iso_time and fg__json_time: common/internal.h. */
/* Parse "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM[:SS]Z". */
int fg__parse_time(const char *s, int64_t *t);
/* A store value as JSON (NULL, not null, when it cannot be made: out of
 * memory, or text that is not UTF-8), and as an integer (0 unless one). */
/* A watchlist template made from emb (dim floats) with the photo's
 * FG_TEMPLATE_CAPTURE_* flags (byte 7: harsh light) and, when image is given,
 * the photo it came from, each sealed to watchlist_templates row `row` (its
 * bytes wiped once sealed). The caller frees both buffers (NULL on failure).
 * Used by the single add (watchlist.c) and the batch (watchlist_batch.c). */
int fg__watchlist_seal(fg_border *b, int64_t row, const float *emb, int dim, unsigned capture,
                       const uint8_t *image, size_t image_len, uint8_t **tpl_sealed,
                       size_t *tpl_sealed_n, uint8_t **img_sealed, size_t *img_sealed_n,
                       fg_error *err);
/* The capture flags all n of caps share (0 when caps is NULL): an entry
 * enrolled as one centroid is harsh-lit only when every photo of it is. */
static inline unsigned fg__captures_common(const uint8_t *caps, int n) {
  unsigned all = caps && n > 0 ? FG_TEMPLATE_CAPTURE_KNOWN : 0;
  for (int i = 0; caps && i < n; i++) all &= caps[i];
  return all;
}
json_t *fg__val_json(const fg_val *v);
/* The jansson forms behind fg_policy_to_json and fg_encounter_result_json,
 * for the border's own use (the audit chain, the replay record). */
json_t *fg__policy_json(const fg_policy *p);
json_t *fg__encounter_result_json(const fg_encounter_result *r);
int64_t fg__val_int(const fg_val *v);

/* ---- report_groups.c ---- */

/* A rate as the report writes it: value (null when den is 0), numerator,
 * denominator, ci95 ([lo, hi], 95% Wilson; null when den is 0) and, when term
 * is given, its ISO/IEC 19795-1 name. */
json_t *fg__rate_json(int64_t num, int64_t den, const char *term);
/* The error rates per traveller group of one day (params: from, to[, port],
 * np 2 or 3), inside the report's transaction. */
int fg__report_groups(fg_border *b, int64_t day, const fg_val *params, int np, json_t **out,
                      fg_error *err);

/* ---- personal.c: personal data sealed at rest, blind indexes ---- */

#define FG__PERSON_NAME_MAX 160
typedef struct fg__person {
  char surname[FG__PERSON_NAME_MAX], given_names[FG__PERSON_NAME_MAX];
  char date_of_birth[16], nationality[8], sex[4];
} fg__person;
typedef struct fg__document {
  char number[40], issuing_state[8], expiry[16];
} fg__document;

/* Normalised forms for blind indexes (personal.c says how). */
void fg__norm_document(const char *in, char *out, size_t cap);
void fg__norm_name(const char *in, char *out, size_t cap);
/* documents.number_index, documents.document_index, travellers.surname_index. */
void fg__document_number_index(fg_border *b, const char *number, uint8_t out[32]);
void fg__document_index(fg_border *b, const char *state, const char *number, uint8_t out[32]);
int64_t fg__surname_index(fg_border *b, const char *surname);
/* What documents.doc_number holds since migration 3 ("index:" and the hex of
 * the document index: unique, and nothing personal). */
void fg__document_placeholder(const uint8_t index[32], char out[72]);
/* A JSON value sealed to (table, column, id), and opened again (NULL with err
 * set when it does not open; NULL without an error when nothing is stored). */
int fg__seal_json(fg_border *b, const char *table, const char *column, int64_t id,
                  const json_t *value, uint8_t **out, size_t *n, fg_error *err);
json_t *fg__open_json(fg_border *b, const char *table, const char *column, int64_t id,
                      const fg_val *sealed, fg_error *err);
/* travellers.person_sealed and documents.document_sealed. Opening a NULL
 * column gives an empty struct (FG_OK). */
int fg__person_open(fg_border *b, int64_t id, const fg_val *sealed, fg__person *p, fg_error *err);
int fg__person_seal(fg_border *b, int64_t id, const fg__person *p, uint8_t **out, size_t *n,
                    fg_error *err);
int fg__document_open(fg_border *b, int64_t id, const fg_val *sealed, fg__document *d,
                      fg_error *err);
int fg__document_seal(fg_border *b, int64_t id, const fg__document *d, uint8_t **out, size_t *n,
                      fg_error *err);
/* "SURNAME, Given names". */
void fg__person_name(const fg__person *p, char *out, size_t cap);
/* {id, surname, given_names, date_of_birth, nationality, sex, category} and
 * {type, number, issuing_state, expiry}. */
json_t *fg__person_json(int64_t id, const fg__person *p, const char *category);
json_t *fg__document_json(const char *type, const fg__document *d);
/* Seal what an older facegate left in clear (at open, writable stores). */
int fg__personal_seal_legacy(fg_border *b, fg_error *err);

/* ---- crossings.c ---- */

/* Record an entry or exit inside the caller's transaction. An exit is linked
 * to the traveller's latest entry that no exit closes yet (entry_id); an
 * entry of a foreign national gets admitted_until (the given value when > 0,
 * else at + policy.admit_days). method: "biometric" or "manual"; officer may
 * be NULL for biometric. Audited as "crossing.create". */
typedef struct fg__crossing_facts {
  const char *category; /* the traveller's category */
  int64_t open_entry;   /* exit: the entry it closes (0: none) */
  int64_t id;           /* taken up front with fg_store_next_id (0: the insert returns it) */
} fg__crossing_facts;
/* known (may be NULL): what the caller already read in its transaction, so
 * that recording the crossing needs no read of its own. */
int fg__record_crossing(fg_border *b, const fg_actor *who, int64_t traveller_id,
                        const char *direction, int64_t at, const char *port,
                        int64_t manifest_id, int64_t encounter_id, const char *method,
                        const char *officer, int64_t admitted_until,
                        const fg__crossing_facts *known, int64_t *crossing_id, fg_error *err);

/* Row callbacks of FG_Q_REC_TRAVELLER_GET (the traveller, unsealed, into
 * out as fg__person_json) and FG_Q_REC_TRAVELLER_DOCUMENTS (each document
 * appended to the array out), shared by crossings and the traveller search. */
typedef struct fg__person_rows {
  fg_border *b;
  json_t *out;
} fg__person_rows;
int fg__traveller_row(void *ctx, const fg_val *c, int n, fg_error *err);
int fg__document_row(void *ctx, const fg_val *c, int n, fg_error *err);

/* ---- reconcile.c: records against the audit chain ---- */
/* The row hashes audit events carry (fg_audit_row_hash): an encounter from
 * FG_Q_ENC_INSERT_ID's 19 values, a crossing from FG_Q_REC_CROSSING_INSERT_ID's
 * 12, a referral from FG_Q_REC_REFERRAL_INSERT_ID's 5, and a referral's state
 * as stored now (one read). */
void fg__hash_encounter(fg_border *b, const fg_val insert[19], char hex[65]);
void fg__hash_crossing(fg_border *b, const fg_val v[12], char hex[65]);
void fg__hash_referral_created(fg_border *b, const fg_val v[5], char hex[65]);
int fg__referral_state_hash(fg_border *b, int64_t id, char hex[65], fg_error *err);
/* A watchlist entry's row hash over (id, added_by, created_at, expires_at) as
 * inserted, and a batch's: over the 32-byte row hashes of its entries in id
 * order (n of them, concatenated). */
void fg__hash_watchlist(fg_border *b, const fg_val v[4], char hex[65]);
void fg__hash_watchlist_batch(fg_border *b, const uint8_t *rows, size_t n, char hex[65]);
/* {"ok", "problem_count", "problems" (the first 20), "checked": {encounters,
 * crossings, referrals}, "unverifiable"}. */
int fg__reconcile(fg_border *b, json_t **out, fg_error *err);

/* ---- watchlist_batch.c: bulk loading ---- */

/* Check a batch's entries and make every template's embedding (photos
 * through the face pipeline): *embs (malloc'd, the caller wipes and frees it)
 * holds sum(n) x *dim floats in entry order, *caps (malloc'd, the caller
 * frees it) their sum(n) FG_TEMPLATE_CAPTURE_* flags (a photo's from its
 * quality, an embedding's from the entry's captures). */
int fg__watchlist_batch_embed(fg_border *b, const fg_watchlist_entry *entries, size_t n, int dim,
                              float **embs, uint8_t **caps, int *out_dim, fg_error *err);
/* Write a checked batch in one transaction (watchlist_batch.c says how);
 * caps: the templates' capture flags (as embs; NULL: none); `extra` (taken
 * over, may be NULL) adds members to the audit event's detail. */
int fg__watchlist_write_batch(fg_border *b, const fg_actor *who, const fg_watchlist_entry *entries,
                              size_t n, const float *embs, const uint8_t *caps, int dim,
                              const char *source, json_t *extra, fg_watchlist_batch_result *r,
                              fg_error *err);

/* ---- watchlist_import.c: the file format (fuzz/fuzz_watchlist_line.c) ---- */

#define FG__WL_LINE_MAX ((size_t)1 << 20)
#define FG__WL_PATH_MAX 1024
/* One parsed line. Strings and arrays are malloc'd (fg__wl_line_release). */
typedef struct fg__wl_line {
  char *name, *reason;
  int64_t expires_at;          /* 0: none */
  int nphotos, ntemplates;     /* exactly one of them is > 0 */
  char *photo[FG_WATCHLIST_PHOTOS_MAX];
  uint8_t capture[FG_WATCHLIST_PHOTOS_MAX]; /* each template's capture flags (byte 7) */
  float *emb;                  /* ntemplates x dim (wiped on release) */
  int dim;
} fg__wl_line;
/* Parse one line (len bytes, no newline) into *out. model: the 8-byte model
 * id templates must carry (NULL: any); dim: the length they must have (0:
 * any, then the first template's). FG_EFORMAT with a message that says what
 * is wrong (the caller adds the line number); *out is then empty. */
int fg__wl_parse_line(const char *text, size_t len, const uint8_t *model, int dim, fg__wl_line *out,
                      fg_error *err);
void fg__wl_line_release(fg__wl_line *l);

/* ---- audit_api.c ---- */
/* One line of an anchor file ("facegate-anchor 1 SEQ:HEX TIME"): 0 and its
 * sequence number and hash, or -1 for anything else (fuzz/fuzz_anchor.c). */
int fg__anchor_parse(const char *line, int64_t *seq, char hex[65]);

/* ---- purge.c ---- */
/* "done", "incomplete", "not_applicable" for an FG_FLUSH_* state. */
const char *fg__flush_state_name(int state);

/* ---- referral.c ---- */

/* Open a referral for an encounter inside the caller's transaction.
 * reason: one of the schema's referral reasons; traveller_id: the candidate
 * (0: none). *referral_id > 0 on entry: the id taken up front
 * (fg_store_next_id), used as is; otherwise it receives the new one. Audited
 * as "referral.create". */
int fg__open_referral(fg_border *b, const fg_actor *who, int64_t encounter_id,
                      const char *reason, int64_t traveller_id, int64_t *referral_id,
                      fg_error *err);

/* ---- encounter.c ---- */

/* A capture whose face was already turned into an embedding: the store and
 * search half of an encounter alone, for the store benchmark (bench/store).
 * rq->image is still sealed and stored as the capture. */
typedef struct fg__precomputed_face {
  const float *embedding;
  int dim;
  float quality;
  unsigned capture; /* FG_TEMPLATE_CAPTURE_* of the capture (harsh light) */
} fg__precomputed_face;
int fg__border_encounter_with(fg_border *b, const fg_actor *who, const fg_encounter_request *rq,
                              const fg__precomputed_face *face, fg_encounter_result *r,
                              fg_error *err);

/* ---- encounter_key.c: idempotent gates ---- */

/* NULL or a well-formed key (FG_EINVAL naming the rule otherwise). */
int fg__encounter_key_check(const char *key, fg_error *err);
/* SHA-256 (hex) of what makes a capture the same request. */
void fg__encounter_fingerprint(const fg_encounter_request *rq, char hex[65]);
/* A key's row, read on its own or in a read batch (filled when it runs). */
typedef struct fg__key_row {
  int found;
  int64_t encounter_id;
  uint8_t *sealed; /* malloc'd; freed by resolve */
  size_t n;
} fg__key_row;
int fg__encounter_key_read(fg_border *b, const fg_actor *who, const char *key, fg__key_row *k,
                           fg_error *err);
/* After the read: as fg__encounter_key_lookup. */
int fg__encounter_key_resolve(fg_border *b, fg__key_row *k, const char *key,
                              const char fingerprint[65], fg_encounter_result *r, int *found,
                              fg_error *err);
/* The first outcome of (who, rq->key), into r (replayed = 1) with *found = 1;
 * *found = 0 when the key is new; FG_ECONFLICT when it was used for another
 * request (fingerprint). */
int fg__encounter_key_lookup(fg_border *b, const fg_actor *who, const fg_encounter_request *rq,
                             const char fingerprint[65], fg_encounter_result *r, int *found,
                             fg_error *err);
/* Keep r as (who, rq->key)'s first outcome, inside the encounter's transaction. */
int fg__encounter_key_store(fg_border *b, const fg_actor *who, const fg_encounter_request *rq,
                            const char fingerprint[65], const fg_encounter_result *r, int64_t at,
                            fg_error *err);

/* ---- reenrol.c ---- */

/* A template of another model met in a scan: its row, subject (traveller or
 * watchlist entry), manifest (flights) and the model it records (hex). */
typedef struct fg__stale {
  int64_t row, subject, manifest;
  char from[17];
} fg__stale;
typedef struct fg__stale_list {
  fg__stale *v;
  size_t n, cap;
} fg__stale_list;
int fg__stale_add(fg__stale_list *l, int64_t row, int64_t subject, int64_t manifest,
                  const uint8_t *model8, fg_error *err);
void fg__stale_free(fg__stale_list *l);
/* Re-enrol l's templates (watchlist: watchlist_templates, else photos) with
 * the running model, counting outcomes into *c; who NULL: the system.
 * Progress (po may be NULL) runs from done to total. */
int fg__reenrol(fg_border *b, const fg_actor *who, int watchlist, const fg__stale_list *l,
                int dry_run, fg_reenrol_counts *c, const fg_reenrol_options *po, size_t done,
                size_t total, fg_error *err);

/* ---- gallery_cache.c ---- */

/* The staged gallery of manifest id (NULL *g when nobody is enrolled). The
 * gallery stays owned by the cache; valid until the next call on b.
 * *photos (if non-NULL): the enrolled photos' templates it was made from
 * (each subject's are fused into one centroid template, which carries
 * FG_TEMPLATE_CAPTURE_HARSH_LIGHT when every one of them was harsh-lit). */
int fg__flight_gallery(fg_border *b, int64_t manifest_id, const fg_gallery **g, size_t *photos,
                       fg_error *err);
/* The live watchlist gallery (expired and removed entries left out). Each
 * entry's template carries FG_TEMPLATE_CAPTURE_HARSH_LIGHT when every photo
 * it was enrolled from was harsh-lit (fg_gallery_template_capture). */
int fg__watchlist_gallery(fg_border *b, const fg_gallery **g, size_t *photos, fg_error *err);
/* Forget cached galleries (after a purge or a key rotation). */
void fg__gallery_cache_reset(fg_border *b);
/* Watchlists this large get a sketch index (gallery_cache.c). */
#define FG__WATCHLIST_INDEX_MIN 20000
/* The watchlist's revision (inside a writer's transaction: before and after its bump). */
int fg__watchlist_revision(fg_border *b, int64_t *revision, fg_error *err);
/* This process committed a watchlist change that moved the revision from
 * `before` to `after`: entry `id` added with n embeddings (embs, dim values
 * each; capture: the FG_TEMPLATE_CAPTURE_* flags all of them share; expires_at
 * 0 for none), or removed (embs NULL; photos_removed templates deleted). The
 * cached gallery follows if it was current, else it is forgotten. */
void fg__watchlist_cache_changed(fg_border *b, int64_t before, int64_t after, int64_t id, const float *embs, int n,
                                 int dim, unsigned capture, int64_t expires_at, size_t photos_removed);
void fg__gallery_cache_release(fg_border *b);
/* Several servers on one store: listen for the changes other servers
 * announce (at open), and announce one (inside the writer's transaction, so
 * it goes out with the commit): the watchlist, or manifest id's gallery (0:
 * every manifest's). Nothing happens on a store without notifications. */
#define FG__CHANNEL_WATCHLIST "facegate_watchlist"
#define FG__CHANNEL_MANIFEST "facegate_manifest"
int fg__gallery_cache_listen(fg_border *b, fg_error *err);
int fg__border_announce(fg_border *b, const char *channel, int64_t id, fg_error *err);

/* ---- display.c: images for a person to look at ---- */
/* A base64 JSON string of p (the encoded copy is wiped); NULL: out of memory. */
json_t *fg__base64_json(const uint8_t *p, size_t n);
/* The image as a browser shows it, at its own resolution: JPEG and PNG as
 * they are, anything else decoded and re-encoded as JPEG. *out (malloc'd) is
 * the caller's. */
int fg__display_image(const uint8_t *p, size_t n, uint8_t **out, size_t *out_n, fg_error *err);
/* The gate's face in a capture, widened to head and shoulders and cut at the
 * capture's resolution: {"image" (base64 JPEG), "x", "y", "w", "h" (the
 * region in the capture), "width", "height" (the capture's)}; *out NULL
 * (and FG_OK) when no face is found. */
int fg__display_face_region(fg_border *b, const uint8_t *p, size_t n, json_t **out,
                            fg_error *err);

#endif
