/*
 * Named queries of the records side of border operations (not API): referrals
 * and officers' decisions, entries/exits and overstays, the retention purge,
 * the daily report, key rotation and reading the audit table. The SQL text
 * lives in sql_records.c beside the schema so that src/border/ never sees it;
 * each object is static so a backend can cache its prepared form by address.
 *
 * Parameters are listed in each query's comment in sql_records.c, in order.
 */
#ifndef FG_STORE_SQL_RECORDS_H
#define FG_STORE_SQL_RECORDS_H

#include "facegate/store.h"

/* travellers and documents */
extern const fg_query FG_Q_REC_TRAVELLER_CATEGORY;
extern const fg_query FG_Q_REC_TRAVELLER_GET;
extern const fg_query FG_Q_REC_TRAVELLER_BY_DOCUMENT;
extern const fg_query FG_Q_REC_TRAVELLER_DOCUMENTS;
extern const fg_query FG_Q_REC_TRAVELLERS_BY_SURNAME;

/* crossings and overstays */
extern const fg_query FG_Q_REC_OPEN_ENTRY;
extern const fg_query FG_Q_REC_CROSSING_INSERT;
/* The same with the id taken up front (fg_store_next_id) first: (id, ...) */
extern const fg_query FG_Q_REC_CROSSING_INSERT_ID;
extern const fg_query FG_Q_REC_CROSSINGS_OF;
extern const fg_query FG_Q_REC_OVERSTAY_NO_EXIT;
extern const fg_query FG_Q_REC_OVERSTAY_LATE;

/* referrals */
extern const fg_query FG_Q_REC_REFERRAL_INSERT;
/* The same with the id taken up front first: (id, encounter_id, reason, created_at, candidate_id) */
extern const fg_query FG_Q_REC_REFERRAL_INSERT_ID;
extern const fg_query FG_Q_REC_REFERRAL_LIST;
extern const fg_query FG_Q_REC_REFERRAL_LIST_STATUS;
extern const fg_query FG_Q_REC_REFERRAL_GET;
extern const fg_query FG_Q_REC_REFERRAL_SUMMARY;
extern const fg_query FG_Q_REC_REFERRAL_NOTES;
extern const fg_query FG_Q_REC_REFERRAL_NOTE_INSERT;
extern const fg_query FG_Q_REC_REFERRAL_NOTE_SEAL;
extern const fg_query FG_Q_REC_REFERRAL_DECIDE;
extern const fg_query FG_Q_REC_REFERRAL_CONFIRM;
extern const fg_query FG_Q_REC_ENCOUNTER_GET;
extern const fg_query FG_Q_REC_ENCOUNTER_CAPTURE;
extern const fg_query FG_Q_REC_ENCOUNTER_IDENTIFY;
extern const fg_query FG_Q_REC_MANIFEST_DIRECTION;
extern const fg_query FG_Q_REC_PASSENGER_ADMITTED;
extern const fg_query FG_Q_REC_PASSENGER_MANUAL;
extern const fg_query FG_Q_REC_DOCUMENT_PHOTOS;

/* purge */
extern const fg_query FG_Q_REC_PURGE_CAPTURES;
extern const fg_query FG_Q_REC_PURGE_CAPTURES_UNIDENTIFIED;
extern const fg_query FG_Q_REC_PURGE_TEMPLATES;
extern const fg_query FG_Q_REC_PURGE_TEMPLATES_UNIDENTIFIED;
extern const fg_query FG_Q_REC_PURGE_GALLERY_COUNT;
extern const fg_query FG_Q_REC_PURGE_GALLERY_PHOTOS;
extern const fg_query FG_Q_REC_PURGE_GALLERY_PASSENGERS;
extern const fg_query FG_Q_REC_PURGE_GALLERY_MANIFESTS;
extern const fg_query FG_Q_REC_PURGE_CROSSING_CANDIDATES;
extern const fg_query FG_Q_REC_PURGE_CROSSING_DELETE;
extern const fg_query FG_Q_REC_PURGE_WATCHLIST_TEMPLATES;
extern const fg_query FG_Q_REC_PURGE_ENC_REFERRALS;
extern const fg_query FG_Q_REC_PURGE_ENC_REFERRALS_UNIDENTIFIED;
extern const fg_query FG_Q_REC_PURGE_ENC_ROWS;
extern const fg_query FG_Q_REC_PURGE_ENC_ROWS_UNIDENTIFIED;
extern const fg_query FG_Q_REC_PURGE_PASSENGERS;
extern const fg_query FG_Q_REC_PURGE_TRAVELLERS;

/* report */
extern const fg_query FG_Q_REC_REPORT_ENCOUNTERS;
extern const fg_query FG_Q_REC_REPORT_ENCOUNTERS_PORT;
extern const fg_query FG_Q_REC_REPORT_REFERRALS;
extern const fg_query FG_Q_REC_REPORT_REFERRALS_PORT;
extern const fg_query FG_Q_REC_REPORT_CROSSINGS;
extern const fg_query FG_Q_REC_REPORT_CROSSINGS_PORT;
extern const fg_query FG_Q_REC_REPORT_GROUPS;
extern const fg_query FG_Q_REC_REPORT_GROUPS_PORT;

/* audit table */
extern const fg_query FG_Q_REC_AUDIT_LIST;

/* reconciling records with the audit chain */
extern const fg_query FG_Q_REC_AUDITED_ENCOUNTERS;
extern const fg_query FG_Q_REC_AUDITED_CROSSINGS;
extern const fg_query FG_Q_REC_AUDITED_REFERRALS;
/* () -> id, added_by, created_at, expires_at, removed_at, templates (count) */
extern const fg_query FG_Q_REC_AUDITED_WATCHLIST;
extern const fg_query FG_Q_REC_REFERRAL_STATE;
extern const fg_query FG_Q_REC_AUDIT_RECORD_EVENTS;
extern const fg_query FG_Q_REC_AUDIT_HASH;

/* Key rotation: one entry per sealed column. `ids` selects the ids of the
 * rows holding a blob (no parameters), `get` that row's blob (id), `put`
 * writes the re-sealed blob (blob, id). */
typedef struct fg__sealed_column {
  const char *table, *column;
  const fg_query *ids, *get, *put;
} fg__sealed_column;

/* What an officer looks at (referral.c). */
extern const fg_query FG_Q_REC_PASSENGER_STATUS;
extern const fg_query FG_Q_REC_WATCHLIST_PHOTOS;

extern const fg__sealed_column fg__sealed_columns[];
extern const int fg__sealed_column_count;

/* Personal data an older facegate wrote in clear, sealed when a store is
 * opened with its key file (src/border/personal.c): each LEGACY query lists
 * the rows not sealed yet with their plaintext, each SEAL writes the sealed
 * value (and blind indexes) and empties the plaintext columns.
 *   travellers: id, surname, given_names, date_of_birth, nationality, sex ->
 *     (person_sealed, surname_index, id)
 *   documents: id, doc_number, issuing_state, expiry ->
 *     (document_sealed, number_index, document_index, placeholder doc_number, id)
 *   watchlist: id, name, reason -> (entry_sealed, id)
 *   referral_notes: id, note -> (note_sealed, id) */
extern const fg_query FG_Q_PD_LEGACY_TRAVELLERS, FG_Q_PD_SEAL_TRAVELLER;
extern const fg_query FG_Q_PD_LEGACY_DOCUMENTS, FG_Q_PD_SEAL_DOCUMENT;
extern const fg_query FG_Q_PD_LEGACY_WATCHLIST, FG_Q_PD_SEAL_WATCHLIST;
extern const fg_query FG_Q_PD_LEGACY_NOTES, FG_Q_PD_SEAL_NOTE;

#endif
