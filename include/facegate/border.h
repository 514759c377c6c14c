/*
 * facegate/border.h — border operations: manifests and staged flight
 * galleries, gate encounters, 1:1 document checks, the watchlist, referrals
 * and officers' decisions, entries and exits, overstays, retention, reports
 * and the audit trail. The CLI and the HTTP service are thin layers over
 * this module.
 *
 *     fg_border_options o;
 *     fg_border_options_init(&o);           // data in var/data, default policy
 *     fg_border *b;
 *     if (fg_border_open(&o, &b, &e)) die(e.msg);
 *     fg_actor gate = {"gate-12", "gate", "boarding"};
 *     fg_encounter_request rq = {.manifest_id = 7, .gate = "B12", .image = jpg, .image_len = n};
 *     fg_encounter_result r;
 *     if (fg_border_encounter(b, &gate, &rq, &r, &e)) die(e.msg);
 *     printf("%s\n", fg_outcome_name(r.outcome));   // MATCHED, NO_MATCH, ...
 *     fg_border_close(b);
 *
 * Every function takes the acting person or device (fg_actor) and writes an
 * audit event for what it did (reads of biometric data included) in the same
 * transaction as the change, so a change and its audit record are committed
 * together or not at all. The one read that is not audited is the referral
 * queue's summary (fg_border_referral_summary: counts, no personal data).
 * Authorisation by role is the caller's job (the
 * service's route table); the library records the role it was given.
 *
 * Results that are lists or documents come back as fg_doc (facegate/doc.h:
 * opaque JSON, the caller frees it with fg_doc_free; fg_doc_text gives the
 * text). Their members are documented in docs/border.md and are what the
 * CLI's --json and the service's API print.
 *
 * Biometric data is sealed before it reaches the store (facegate/secure.h);
 * what policy says must go is deleted by fg_border_purge.
 *
 * Threads: an fg_border holds a store connection and a face engine and is NOT
 * thread-safe: open one per thread (they share the database and key file).
 */
#ifndef FACEGATE_BORDER_H
#define FACEGATE_BORDER_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/doc.h"

#include "facegate/error.h"
#include "facegate/face.h"
#include "facegate/store.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

typedef struct fg_border fg_border;

/* ---- policy ---------------------------------------------------------------- */

typedef enum fg_category {
  FG_CATEGORY_CITIZEN = 0,
  FG_CATEGORY_RESIDENT = 1,  /* permanent resident */
  FG_CATEGORY_FOREIGN = 2,   /* foreign national */
  FG_CATEGORY_EXEMPT = 3,    /* diplomats, crew, minors under the exemption age... */
  FG_CATEGORY_COUNT = 4
} fg_category;

/* "citizen", "resident", "foreign", "exempt". */
const char *fg_category_name(fg_category c);
int fg_category_parse(const char *name, fg_category *out);

/* What policy keeps and for how long, for one category (seconds; -1 = keep). */
typedef struct fg_category_policy {
  int opt_out_allowed;        /* may ask for a manual check instead of a capture */
  int64_t capture_retention;  /* gate capture images */
  int64_t template_retention; /* gate capture templates */
  int64_t crossing_retention; /* entry/exit records */
} fg_category_policy;

typedef struct fg_policy {
  int capture_mandatory;      /* 1: nobody may opt out, whatever the categories say */
  fg_category_policy category[FG_CATEGORY_COUNT];
  fg_category_policy unidentified; /* captures matched to nobody (until an officer says who) */
  int64_t gallery_retention;  /* staged document photos and templates, after the flight */
  int64_t overstay_crossing_retention; /* crossings of overstayers (EES: 5 years) */
  int fta_max_tries;          /* consecutive failures to acquire at a gate before a referral */
  double match_fpir;          /* flight gallery threshold, as a target FPIR */
  double watchlist_fpir;      /* watchlist threshold (strict) */
  double verify_fmr;          /* 1:1 document check threshold, as a target FMR */
  float liveness_min;         /* below: LIVENESS_SUSPECT; 0 turns the check off */
  float quality_min;          /* unified quality (0-100) below: failure to acquire */
  int admit_days;             /* foreign nationals' admission when the manifest gives none */
  int report_min_group;       /* the daily report's groups: fewer travellers are withheld */
} fg_policy;

/* Today's practice: citizens may opt out, everyone else is captured; citizens'
 * captures and templates go after 12 hours, foreign nationals' captures after
 * 14 days; docs/border.md lists every default and where it comes from. */
void fg_policy_defaults(fg_policy *p);
/* Read a policy (JSON, docs/border.md) over the defaults: members left out
 * keep their default; unknown members are refused (FG_EFORMAT naming them),
 * as are negative or out-of-range values. */
int fg_policy_parse(const char *json, size_t len, fg_policy *p, fg_error *err);
int fg_policy_load(const char *path, fg_policy *p, fg_error *err);
/* The policy as JSON, in the file's units (retention of captures, templates and
 * galleries in hours, of crossings in days). */
fg_doc *fg_policy_to_json(const fg_policy *p);

/* ---- opening ---------------------------------------------------------------- */

typedef int64_t (*fg_clock_fn)(void *ctx); /* seconds since the epoch, UTC */

typedef struct fg_border_options {
  const char *data_dir;     /* default "var/data": facegate.db and facegate.key */
  const char *store;        /* NULL: <data_dir>/facegate.db (or "sqlite:PATH") */
  const char *key_file;     /* NULL: <data_dir>/facegate.key (created 0600 on first use) */
  const char *policy_file;  /* NULL: the defaults */
  const char *calibration;  /* NULL: the named model's descriptor's, else FG_CALIBRATION_DEFAULT */
  const char *fpir_calibration; /* NULL: the descriptor's, else FG_FPIR_CALIBRATION_DEFAULT */
  int require_calibration;  /* 1: opening fails (FG_ENOTFOUND / FG_EFORMAT naming the
                               file) unless both calibrations load, so that a server
                               refuses to start rather than fail every encounter; 0:
                               commands that never match (records, audit) open without */
  const char *port;         /* this installation's port code; default "XXX" */
  unsigned store_flags;     /* FG_STORE_* (facegate/store.h) */
  fg_face_options face;     /* models and pipeline */
  fg_clock_fn clock;        /* NULL: the system clock; tests drive time with their own */
  void *clock_ctx;
} fg_border_options;

void fg_border_options_init(fg_border_options *o);
/* Open the store (creating and migrating it), the key file (creating it) and
 * the policy. The face engine is loaded on first use. A policy different
 * from the last one recorded is written to the audit chain as
 * "policy.change". On error *out is NULL and nothing is left open. */
int fg_border_open(const fg_border_options *o, fg_border **out, fg_error *err);
void fg_border_close(fg_border *b);
const fg_policy *fg_border_policy(const fg_border *b);
/* The clock the module runs on. */
int64_t fg_border_now(fg_border *b);
/* The store's backend ("sqlite", "postgresql") and its connection's counters
 * (round trips, reconnections, commits the synchronous standby did not
 * confirm), for the service's metrics. */
const char *fg_border_store_backend(const fg_border *b);
void fg_border_store_stats(const fg_border *b, fg_store_stats *out);

/* Times: "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM[:SS]Z" to epoch
 * seconds (FG_EINVAL when malformed or not a real date), and back
 * ("YYYY-MM-DDTHH:MM:SSZ"). */
int fg_time_parse(const char *s, int64_t *t);
void fg_time_format(int64_t t, char buf[32]);

/* Who is acting, for the audit chain. role: gate, officer, supervisor,
 * auditor, admin, system (timers) or local (the command line). */
typedef struct fg_actor {
  const char *name;
  const char *role;
  const char *purpose; /* may be NULL: the action's usual purpose */
} fg_actor;

/* ---- manifests ------------------------------------------------------------- */

typedef enum fg_manifest_format {
  FG_MANIFEST_AUTO = 0, /* by file name (.csv) or first byte ('{') */
  FG_MANIFEST_JSON = 1,
  FG_MANIFEST_CSV = 2
} fg_manifest_format;

typedef struct fg_manifest_import_opts {
  fg_manifest_format format;
  int64_t amend;         /* > 0: add these passengers to manifest `amend` */
  const char *base_dir;  /* photo paths are relative to this (default: the file's dir) */
  /* CSV carries passengers only; the flight comes from these (JSON: ignored) */
  const char *carrier, *flight, *port, *scheduled, *direction;
  /* refuse photos given as file paths (each such photo is an invalid_field
   * problem): set by the service, which must never read its own files */
  int inline_photos_only;
  /* progress: called after each passenger (may be NULL) */
  void (*progress)(void *ctx, size_t done, size_t total);
  void *progress_ctx;
} fg_manifest_import_opts;

/* Import (or amend) a manifest from a file or a buffer and stage its
 * gallery. Per-passenger problems (no face, low quality, duplicate document,
 * unreadable photo, missing field) are reported in (*report)["problems"]
 * without rejecting the rest; a malformed file (not JSON/CSV, no passengers
 * array, bad flight fields) is refused whole with FG_EFORMAT and nothing
 * written. FG_ECONFLICT for amending a closed manifest. */
int fg_border_manifest_import(fg_border *b, const fg_actor *who, const char *path,
                              const fg_manifest_import_opts *o, fg_doc **report, fg_error *err);
int fg_border_manifest_import_buffer(fg_border *b, const fg_actor *who, const char *data,
                                     size_t len, const fg_manifest_import_opts *o,
                                     fg_doc **report, fg_error *err);
/* Close a manifest: no more encounters against it. */
int fg_border_manifest_close(fg_border *b, const fg_actor *who, int64_t id, fg_error *err);
/* Manifests (newest first) with passenger / crossed / referred counts. */
int fg_border_manifest_list(fg_border *b, const fg_actor *who, fg_doc **out, fg_error *err);
/* One manifest with its passengers (names, document, status, enrolled templates). */
int fg_border_manifest_show(fg_border *b, const fg_actor *who, int64_t id, fg_doc **out,
                            fg_error *err);

/* ---- gate encounters ------------------------------------------------------ */

typedef enum fg_outcome {
  FG_OUTCOME_MATCHED = 0,
  FG_OUTCOME_NO_MATCH = 1,
  FG_OUTCOME_FAILURE_TO_ACQUIRE = 2,
  FG_OUTCOME_LIVENESS_SUSPECT = 3,
  FG_OUTCOME_OPT_OUT = 4
} fg_outcome;

const char *fg_outcome_name(fg_outcome o);

typedef struct fg_encounter_request {
  int64_t manifest_id;
  const char *gate;
  const uint8_t *image;  /* the capture (any format fg_image_decode reads); NULL with opt_out */
  size_t image_len;
  int opt_out;           /* the traveller asks for a manual check: the image is not touched */
  const char *document;  /* the presented document's number: required with opt_out (its
                            holder's category decides whether opting out is allowed);
                            otherwise optional, and when given the match must be its holder */
  const char *key;       /* idempotency key chosen by the gate (NULL: none): 1 to
                            FG_ENCOUNTER_KEY_MAX letters, digits, '-', '_', '.', ':' (a UUID).
                            A retry with the same key by the same gate returns the first
                            outcome (result.replayed) and records nothing more; the same key
                            with another capture is FG_ECONFLICT. */
} fg_encounter_request;

#define FG_ENCOUNTER_KEY_MAX 128

typedef struct fg_encounter_result {
  int64_t encounter_id;
  fg_outcome outcome;
  const char *gate_action;  /* "proceed", "retry", "see_officer" (static string) */
  int64_t traveller_id;     /* MATCHED (or the opt-out's document holder); else 0 */
  char traveller_name[160];
  float score;              /* best flight-gallery score (NAN when not searched) */
  float threshold;          /* the flight threshold applied */
  float quality;            /* unified quality 0-100 (NAN without a face) */
  unsigned quality_reasons; /* FG_QUALITY_* bits */
  float liveness;           /* NAN when not measured */
  int tries;                /* consecutive failures to acquire at this gate, this one included */
  int64_t watchlist_id;     /* > 0: a watchlist hit (referred, never acted on) */
  float watchlist_score;
  float watchlist_threshold; /* the watchlist threshold screened at (NAN: not searched) */
  int64_t referral_id;      /* > 0: a referral was opened */
  char referral_reason[24];
  int64_t crossing_id;      /* > 0: a crossing was recorded */
  int replayed;             /* 1: the first outcome of this idempotency key, returned again */
  /* milliseconds */
  double ms_face, ms_search, ms_watchlist, ms_store, ms_total;
} fg_encounter_result;

/* Process one gate capture against a staged, open manifest and record it
 * durably with its outcome (docs/border.md has the decision table). Returns
 * FG_OK for every outcome; errors are for requests that cannot be processed
 * (FG_ENOTFOUND manifest, FG_ECONFLICT closed manifest, FG_EPERM opt-out not
 * allowed for the document holder's category, FG_EFORMAT/FG_ELIMIT image),
 * and then nothing is recorded. */
int fg_border_encounter(fg_border *b, const fg_actor *who, const fg_encounter_request *rq,
                        fg_encounter_result *r, fg_error *err);
fg_doc *fg_encounter_result_json(const fg_encounter_result *r);

/* What a gate may be told, for the same result: the gate shows the traveller
 * an action and, for a retake, what to correct, nothing else (a name, a
 * watchlist hit, a referral's reason, a score or an outcome are a tip-off at
 * an unattended gate; the officer's console has them):
 *
 *   {"encounter_id": 42, "gate_action": "proceed" | "retry" | "see_officer",
 *    "retry_reasons": ["face_too_small", ...],   (gate_action "retry" only)
 *    "tries": 2,                                  (gate_action "retry" only)
 *    "replayed": false}
 *
 * An opt-out is told only {"gate_action": "see_officer"}, the same whether
 * or not it was accepted, on a retry too (fg_border_opt_out_refusal), so a
 * gate cannot learn whether a document is on the flight or its holder's
 * category. The service answers gates with this; a replayed result (an
 * idempotency key's first outcome) goes through the same function. */
fg_doc *fg_encounter_result_gate_json(const fg_encounter_result *r, int opt_out);

/* After fg_border_encounter failed for an opt-out: why, when the reason is
 * the traveller's (a static string: "not_on_manifest", "several_holders",
 * "not_allowed" for the holder's category, "capture_mandatory"), or NULL when
 * the failure was about the request or the manifest. The service records
 * such a refusal in the audit chain and tells the gate only "see_officer". */
const char *fg_border_opt_out_refusal(const fg_border *b);

/* ---- 1:1 document check ------------------------------------------------- */

typedef struct fg_verify_result {
  int decision;            /* 1: same person at the FMR, 0: not, -1: a side failed to acquire */
  float score, threshold;
  double fmr;
  fg_face_status live_status, document_status;
  float live_quality, document_quality, liveness;
  unsigned live_reasons, document_reasons;
} fg_verify_result;

/* Compare a live capture with a document photo (image or DG2) at `fmr`
 * (0: the policy's verify_fmr). Nothing is stored; the check is audited. */
int fg_border_verify(fg_border *b, const fg_actor *who, const uint8_t *live, size_t live_len,
                     const uint8_t *document, size_t document_len, double fmr,
                     fg_verify_result *r, fg_error *err);
fg_doc *fg_verify_result_json(const fg_verify_result *r);

/* ---- watchlist ------------------------------------------------------------ */

/* Add one person with n photos (images or DG2). Photos without an acceptable
 * face are refused (FG_EINVAL naming which) and nothing is added. */
int fg_border_watchlist_add(fg_border *b, const fg_actor *who, const char *name,
                            const char *reason, int64_t expires_at,
                            const uint8_t *const *images, const size_t *lens, int n,
                            int64_t *id, fg_error *err);
/* Add one person from embeddings already computed (dim floats each, made by
 * the engine's model): bulk loading and benchmarks. */
int fg_border_watchlist_add_embeddings(fg_border *b, const fg_actor *who, const char *name,
                                       const char *reason, int64_t expires_at,
                                       const float *emb, int n, int dim, int64_t *id,
                                       fg_error *err);
int fg_border_watchlist_remove(fg_border *b, const fg_actor *who, int64_t id, fg_error *err);
int fg_border_watchlist_list(fg_border *b, const fg_actor *who, fg_doc **out, fg_error *err);

/* ---- watchlist: bulk loading (docs/encounters.md, "Bulk loading") --------- */

/* One entry of a batch: a name, a reason, an expiry (0: none) and n (1..16)
 * templates, given either as embeddings made by the engine's model (n x dim
 * floats) or as n photos (images or DG2, run through the face pipeline as in
 * fg_border_watchlist_add; a photo without an acceptable face refuses the
 * batch). Exactly one of embeddings and photos. */
typedef struct fg_watchlist_entry {
  const char *name, *reason;
  int64_t expires_at;
  const float *embeddings;
  const uint8_t *const *photos;
  const size_t *photo_lens;
  int n;
  /* With embeddings (optional, NULL: none): each one's FG_TEMPLATE_CAPTURE_*
   * flags (facegate/template.h), e.g. FG_TEMPLATE_CAPTURE_HARSH_LIGHT from the
   * template it came from. Photos get theirs from their quality. */
  const uint8_t *captures;
} fg_watchlist_entry;

#define FG_WATCHLIST_BATCH_DEFAULT 1000
#define FG_WATCHLIST_BATCH_MAX 10000
#define FG_WATCHLIST_PHOTOS_MAX 16

/* What a batch wrote: entries with the consecutive ids first_id..last_id and
 * their templates, and the hash its audit event carries over their rows. */
typedef struct fg_watchlist_batch_result {
  int64_t first_id, last_id;
  size_t entries, templates;
  char rows_hash[65];
} fg_watchlist_batch_result;

/* Add n (1..FG_WATCHLIST_BATCH_MAX) entries in ONE transaction: every entry
 * and template sealed to its row as fg_border_watchlist_add does, one
 * revision bump, one "watchlist.import" audit event naming the count, the
 * ids and a keyed hash of the rows (which `audit verify` reconciles), and the
 * cached watchlist gallery and its index updated once, after the commit.
 * All or nothing: on error nothing of the batch is written and err names the
 * entry (0-based index) at fault. dim: the embeddings' length (ignored for
 * photos). r may be NULL. */
int fg_border_watchlist_add_batch(fg_border *b, const fg_actor *who,
                                  const fg_watchlist_entry *entries, size_t n, int dim,
                                  fg_watchlist_batch_result *r, fg_error *err);

/* Import a watchlist file: JSON Lines, one entry per line,
 *   {"name": "...", "reason": "...", "expires": "2027-06-30",
 *    "photos": ["dir/a.jpg", ...]}           (relative to base_dir)
 *   {"name": "...", "reason": "...", "templates": ["<base64 FGT1>", ...]}
 * (docs/encounters.md gives the rules). The whole file is read and checked
 * first (every line's syntax and fields, every template decoded against the
 * engine's model, every photo file present): a malformed line is refused
 * with FG_EFORMAT naming its line number, and nothing is written. Then the
 * entries are written in batches of o->batch (fg_border_watchlist_add_batch:
 * each batch all or nothing). A failure while writing (a photo without a
 * face, the database) leaves the batches before it committed and none of
 * the failing one: r->next_line says where to resume (o->first_line). */
typedef struct fg_watchlist_import_opts {
  size_t batch;          /* entries per transaction (0: FG_WATCHLIST_BATCH_DEFAULT) */
  const char *base_dir;  /* photo paths are relative to this (NULL: the file's directory) */
  long first_line;       /* resume at this line (1-based; 0 or 1: the start) */
  int check_only;        /* read and check everything (photos through the pipeline
                          * too), write nothing */
  /* progress: while checking, (entries checked, 0) every 1000 entries (every
   * entry when check_only runs photos through the pipeline); while writing,
   * (entries written, entries in all) after each batch */
  void (*progress)(void *ctx, size_t done, size_t total);
  void *progress_ctx;
} fg_watchlist_import_opts;

typedef struct fg_watchlist_import_report {
  long lines;             /* lines of the file read (from first_line) */
  size_t entries;         /* entries written (check_only: found valid) */
  size_t templates;       /* their templates */
  size_t batches;         /* transactions committed */
  int64_t first_id, last_id; /* ids written (0: none) */
  long next_line;         /* the first line not written (0: every line was) */
  long error_line;        /* the line an error is about (0: none) */
  double seconds;         /* writing (after the check) */
} fg_watchlist_import_report;

int fg_border_watchlist_import(fg_border *b, const fg_actor *who, const char *path,
                               const fg_watchlist_import_opts *o, fg_watchlist_import_report *r,
                               fg_error *err);

/* ---- referrals -------------------------------------------------------------- */

/* status: NULL (all), "open", "secondary", "confirmed", "closed". Oldest first. */
int fg_border_referral_list(fg_border *b, const fg_actor *who, const char *status, fg_doc **out,
                            fg_error *err);
/* The same, only referrals raised at port of entry `site` (NULL: every site). */
int fg_border_referral_list_at(fg_border *b, const fg_actor *who, const char *status,
                               const char *site, fg_doc **out, fg_error *err);
/* The queue at a glance, for screens that poll it (the officer's console
 * every 2 s) and for staffing:
 *
 *   {"open": 3,
 *    "by_status": {"open": 3, "secondary": 1, "confirmed": 40, "closed": 7},
 *    "open_by_reason": {"no_match": 2, "failure_to_acquire": 0, "liveness": 0,
 *                       "opt_out": 1, "watchlist": 0, "already_crossed": 0},
 *    "newest_id": 51,             (the highest referral id; null when none)
 *    "oldest_open_age_s": 412,    (seconds since the oldest open referral was
 *                                  opened; null when none is open)
 *    "at": "2026-11-27T10:06:52Z"}
 *
 * Every status and reason is listed, 0 included. It carries no personal
 * data: counts, one sequential id and one age, never a name, document,
 * gate, encounter, score or image; it cannot say who is waiting, only how
 * many and for how long (the figure /metrics already exports as
 * facegate_referrals_open). So, unlike fg_border_referral_list, it is NOT
 * audited and takes no actor: the audit chain records reads of personal and
 * biometric data, and an event per poll would cost a durable write (and the
 * store's write lock, which gate encounters need) for nothing a reviewer
 * could use. It writes nothing at all: one read-only statement, one
 * snapshot, no transaction. A client that wants the list polls this and
 * fetches the (audited) list only when "newest_id" or "open" changes. */
int fg_border_referral_summary(fg_border *b, fg_doc **out, fg_error *err);
/* One referral with its encounter, candidate, watchlist hit and notes. With
 * images, also (base64, each as a browser shows it at its own resolution:
 * JPEG or PNG as stored, anything else re-encoded as JPEG) the capture, its
 * face region ("capture_face": {image, x, y, w, h, width, height}, null when
 * no face is found), the watchlist entry's photos ("watchlist.photos") and
 * the candidate's document photos, only when the candidate is one to propose
 * (matched at the gate, or holding the document presented at an opt-out or a
 * failure to acquire; not after a no-match, where the candidate is merely the
 * nearest passenger); a read of biometric data, audited as such. */
int fg_border_referral_show(fg_border *b, const fg_actor *who, int64_t id, int images,
                            fg_doc **out, fg_error *err);
/* The staged document photos of traveller_id, who must be a passenger of the
 * referral's flight (FG_ENOTFOUND otherwise), for an officer choosing whose
 * document was checked: {"referral_id", "traveller_id", "passenger_status",
 * "photos": [base64...]}. Audited as a read of biometric data. */
int fg_border_referral_document_photos(fg_border *b, const fg_actor *who, int64_t id,
                                       int64_t traveller_id, fg_doc **out, fg_error *err);
/* An officer's decision: "confirm" (identity checked by hand: records a manual
 * crossing for traveller_id, or, when 0, for the candidate only when one is
 * proposed as above — after a no-match FG_EINVAL; a passenger who already
 * crossed on the flight: FG_ECONFLICT),
 * "secondary" (sent to secondary inspection), "close" (no crossing), or
 * "note" (adds a note only). FG_ECONFLICT for a referral already confirmed or
 * closed. *out (may be NULL) receives the updated referral. */
int fg_border_referral_decide(fg_border *b, const fg_actor *officer, int64_t id,
                              const char *decision, int64_t traveller_id, const char *note,
                              fg_doc **out, fg_error *err);

/* ---- travellers, crossings, overstays -------------------------------------- */

/* `traveller`: a traveller id ("17") or a document number. */
int fg_border_crossings(fg_border *b, const fg_actor *who, const char *traveller, fg_doc **out,
                        fg_error *err);
/* Foreign nationals whose admitted-until passed before as_of without an exit,
 * and those who exited after it (with the exit linked to its entry). */
int fg_border_overstays(fg_border *b, const fg_actor *who, int64_t as_of, fg_doc **out,
                        fg_error *err);
/* The same, only travellers who entered at port of entry `site` (NULL: all). */
int fg_border_overstays_at(fg_border *b, const fg_actor *who, int64_t as_of, const char *site,
                           fg_doc **out, fg_error *err);

/* Find travellers by a document number or by name: the search the officer's
 * console offers (the store keeps names and numbers sealed, so this goes
 * through their blind indexes, src/border/personal.c).
 *
 * Exactly one of `document` and `surname` is given. A document matches its
 * number in any issuing state (or only `issuing_state`'s when given), compared
 * upper-case with spaces, '-' and '<' ignored. A surname matches whole and
 * exactly once normalised (upper-case ASCII; runs of spaces, '-', '\'' and
 * ',' count as one space; letters beyond ASCII as written, no
 * transliteration); given_names and date_of_birth, when given, must match
 * too (given names normalised the same way; the date as YYYY-MM-DD). No
 * prefixes, no wildcards, no fuzzy matching: a blind index can only say
 * "equal".
 *
 *   [{"id", "surname", "given_names", "date_of_birth", "nationality", "sex",
 *     "category", "documents": [{"type", "number", "issuing_state", "expiry"}]}]
 *
 * in traveller id order, at most `limit` (1-200; 0: 50), FG_ELIMIT when more
 * match (narrow the search). Audited as "traveller.find" with how it searched
 * and how many it found, never the values searched for. */
typedef struct fg_traveller_query {
  const char *document, *issuing_state;
  const char *surname, *given_names, *date_of_birth;
  int limit;
} fg_traveller_query;
int fg_border_traveller_find(fg_border *b, const fg_actor *who, const fg_traveller_query *q,
                             fg_doc **out, fg_error *err);

/* ---- retention, reports, audit, keys --------------------------------------- */

/* Re-enrolment after a change of recognition model (docs/models.md): every
 * stored template of another model than the one b runs, in both stores
 * (staged document photos, watchlist), re-embedded from its sealed photo and
 * written back sealed to its row, each in its own audited transaction
 * ("template.reenrol"). A template whose photo is gone, or in whose photo the
 * model finds no face, is kept as it is and left out of galleries: the
 * passenger gets the problem "reenrol_no_photo" or "reenrol_no_face" (manifest
 * show) and an enrolled count without it ("passenger.left_out"). A gallery
 * build that meets such templates does the same for its own (gallery_cache.c),
 * so a switch of model never stops a flight. A dry run reads and counts only
 * (a template with a photo counts as re-enrolled). One "templates.reenrol"
 * event carries the counts. */
typedef struct fg_reenrol_counts {
  size_t templates;  /* read */
  size_t current;    /* already the running model's (or re-enrolled meanwhile by another process) */
  size_t reenrolled; /* re-embedded (dry run: would be) */
  size_t no_photo;   /* another model's, and no photo to re-embed: left out */
  size_t no_face;    /* another model's, and no face found in the photo: left out */
  size_t left_out;   /* passengers (per manifest) or watchlist entries with a template left out */
} fg_reenrol_counts;
typedef struct fg_reenrol_options {
  int dry_run;
  void (*progress)(void *ctx, size_t done, size_t total); /* after each template of another model */
  void *progress_ctx;
} fg_reenrol_options;
typedef struct fg_reenrol_result {
  char model[64];    /* the running model's name */
  char model_id[17]; /* and its template model id (hex) */
  fg_reenrol_counts flights, watchlist;
} fg_reenrol_result;
int fg_border_reenrol(fg_border *b, const fg_actor *who, const fg_reenrol_options *o,
                      fg_reenrol_result *r, fg_error *err);

/* Delete everything policy says must go by now; counts per category and kind
 * in *out (may be NULL) and in one audit event. Then the copies of the
 * deleted rows that the store's write-ahead log still holds are removed
 * (fg_store_flush), retried for about 1.6 s while another connection's read
 * holds them; *out's "flush" says how it ended: {"state": "done" |
 * "incomplete" | "not_applicable", "tries": n}. "incomplete" is not an
 * error: the caller calls fg_border_retention_flush later (the service does,
 * every second, and shows it in /metrics). */
int fg_border_purge(fg_border *b, const fg_actor *who, fg_doc **out, fg_error *err);
/* The last purge's audit event: {seq, at, actor, role, detail}, or JSON null
 * in *out when no purge has run. */
int fg_border_purge_last(fg_border *b, fg_doc **out, fg_error *err);
/* One more try at what an incomplete purge left in the write-ahead log
 * (*state: FG_FLUSH_*). When it completes and pending_since > 0 (when the
 * purge that left it ran), a "retention.flush" audit event records it. */
int fg_border_retention_flush(fg_border *b, const fg_actor *who, int64_t pending_since,
                              int *state, fg_error *err);
/* The day's figures (date "YYYY-MM-DD", UTC; port NULL for all). */
int fg_border_report(fg_border *b, const fg_actor *who, const char *date, const char *port,
                     fg_doc **out, fg_error *err);
/* A chart of a report (PNG by cairo). */
int fg_border_report_plot(const fg_doc *report, const char *path, fg_error *err);
/* Verify the audit chain (against an optional "SEQ:HEX" anchor), reconcile
 * every encounter, crossing and referral with the events that wrote them, and
 * check the heads facegate published (docs/records.md, "Audit"):
 *
 *   {"ok", "chain_ok", "events", "bad_seq", "problem", "head_seq", "head_hash",
 *    "records": {"ok", "problem_count", "problems": [...], "checked": {...},
 *                "unverifiable"},
 *    "anchors": {"file", "published", "checked", "ok", "problem", "newest"} or null}
 *
 * "ok" is true only if the chain verifies and is not empty, every record
 * reconciles, and every published anchor is still in the chain. */
typedef struct fg_audit_verify_options {
  const char *anchor;      /* "SEQ:HEX" kept elsewhere (NULL: none) */
  const char *anchor_file; /* the file fg_border_audit_publish appends to (NULL: none) */
} fg_audit_verify_options;
int fg_border_audit_verify_with(fg_border *b, const fg_actor *who,
                                const fg_audit_verify_options *o, fg_doc **out, fg_error *err);
int fg_border_audit_verify(fg_border *b, const fg_actor *who, const char *anchor, fg_doc **out,
                           fg_error *err);
/* Publish the chain's head ("SEQ:HEX") where the database's writer cannot
 * rewrite it: appended to `file` (0600, fsync'd; NULL: none) as
 * "facegate-anchor 1 SEQ:HEX TIME", and to the system log (syslog(3),
 * LOG_AUTHPRIV; the journal under systemd) when to_syslog. The service does
 * it every --anchor-interval seconds when the chain has grown. *out (may be
 * NULL): {"seq", "hash", "at"}. Not audited (it writes no record). */
int fg_border_audit_publish(fg_border *b, const char *file, int to_syslog, fg_doc **out,
                            fg_error *err);
/* Write one audit event that no other border function writes: the service's
 * access-control denials ("auth.denied") and refused opt-outs, for example.
 * object names what it is about ("manifest:12", a route); detail (may be NULL)
 * is copied. Chained like every other event. */
int fg_border_audit_event(fg_border *b, const fg_actor *who, const char *action,
                          const char *object, const char *purpose, const fg_doc *detail,
                          fg_error *err);
/* The audit chain's head: its last event's sequence number and hash (seq 0
 * and an empty hash for an empty chain). */
int fg_border_audit_head(fg_border *b, int64_t *seq, char hex[65], fg_error *err);
/* Events with seq > after, oldest first, at most limit (0: 100). */
int fg_border_audit_list(fg_border *b, const fg_actor *who, int64_t after, int limit,
                         fg_doc **out, fg_error *err);
/* Back the store up into the new file `path` (SQLite: a database file;
 * PostgreSQL: a pg_dump custom-format file), sealed columns still sealed;
 * audited ("store.backup"). *out: {backend, file, bytes, counts}. */
int fg_border_backup(fg_border *b, const fg_actor *who, const char *path, fg_doc **out,
                     fg_error *err);
/* Load a backup file into the empty store that o names (a SQLite path that
 * does not exist yet, or an empty PostgreSQL database), open it with o's key
 * file (which must be the one the backup was sealed with), apply retention as
 * of now (fg_border_purge), verify the audit chain and record the restore.
 * *out: {backend, file, counts, purge, audit}. Nothing of a failed load stays. */
int fg_border_restore(const fg_border_options *o, const fg_actor *who, const char *path,
                      fg_doc **out, fg_error *err);
/* Re-seal every sealed blob under a fresh key (see facegate/secure.h). */
int fg_border_key_rotate(fg_border *b, const fg_actor *who, fg_doc **out, fg_error *err);

/* ---- roles and API tokens ------------------------------------------------- */

/* Roles are bits so that a route names the set it allows. */
#define FG_ROLE_GATE 0x01u
#define FG_ROLE_OFFICER 0x02u
#define FG_ROLE_SUPERVISOR 0x04u
#define FG_ROLE_AUDITOR 0x08u
#define FG_ROLE_ADMIN 0x10u
#define FG_ROLE_ANY 0x1fu
#define FG_ROLE_COUNT 5

/* "gate", "officer", "supervisor", "auditor", "admin" for one bit; NULL otherwise. */
const char *fg_role_name(unsigned role);
/* The bit for a role name; FG_EINVAL (and *role untouched) for anything else. */
int fg_role_parse(const char *name, unsigned *role);

#define FG_API_TOKEN_LEN (4 + 43 + 1) /* "fgt_" + 43 base64url chars + NUL */
#define FG_API_TOKEN_NAME_MAX 64

typedef struct fg_api_token_info {
  int64_t id;
  char name[FG_API_TOKEN_NAME_MAX + 1];
  unsigned role; /* one FG_ROLE_* bit */
} fg_api_token_info;

/* Create a token for `name` (1-64 of [A-Za-z0-9._@-]) with `role`; the token
 * text goes to token[] and is never stored (only fg_token_hash of it).
 * FG_ECONFLICT if the name is taken (revoked names included), FG_EINVAL for a
 * bad name or role. Audited as "token.create". */
int fg_api_token_create(fg_border *b, const fg_actor *who, const char *name, const char *role,
                        char token[FG_API_TOKEN_LEN], int64_t *id, fg_error *err);
/* All tokens, oldest first: [{id, name, role, created_at, created_by, revoked_at}]. */
int fg_api_token_list(fg_border *b, const fg_actor *who, fg_doc **out, fg_error *err);
/* Revoke by id (> 0) or else by name. FG_ENOTFOUND if there is no such
 * token, FG_ECONFLICT if already revoked. Audited as "token.revoke". */
int fg_api_token_revoke(fg_border *b, const fg_actor *who, int64_t id, const char *name,
                        fg_error *err);
/* Check a presented token: FG_OK and *info for a live token, FG_EAUTH for a
 * malformed, unknown or revoked one (err says which; never the token). */
int fg_api_token_check(fg_border *b, const char *token, fg_api_token_info *info, fg_error *err);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
