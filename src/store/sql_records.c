/*
 * SQL of the records side of border operations: referrals, crossings and
 * overstays, the retention purge, the daily report, key rotation and the
 * audit listing (declared in sql_records.h, used by src/border/referral.c,
 * crossings.c, purge.c, report.c, keys.c and audit_api.c).
 *
 * Portable SQL only (the subset SQLite and PostgreSQL share): `?`
 * placeholders, RETURNING, CASE and COALESCE, no backend functions; times are
 * integer seconds, so day windows and cut-offs are computed by the caller.
 * Each comment lists the parameters in order; column lists are relied on by
 * position in the callers, so change both together.
 */
#include "store/sql_records.h"

/* ---- travellers and documents ------------------------------------------- */

/* (traveller_id) → category */
const fg_query FG_Q_REC_TRAVELLER_CATEGORY = {
    "rec_traveller_category", "SELECT category FROM travellers WHERE id = ?", 1};

/* (traveller_id) → id, person_sealed, category */
const fg_query FG_Q_REC_TRAVELLER_GET = {
    "rec_traveller_get", "SELECT id, person_sealed, category FROM travellers WHERE id = ?", 3};

/* (number_index) → traveller_id (one row per holder; several states may issue the number) */
const fg_query FG_Q_REC_TRAVELLER_BY_DOCUMENT = {
    "rec_traveller_by_document",
    "SELECT DISTINCT traveller_id FROM documents WHERE number_index = ? ORDER BY traveller_id", 1};

/* (traveller_id) → id, doc_type, document_sealed */
const fg_query FG_Q_REC_TRAVELLER_DOCUMENTS = {
    "rec_traveller_documents",
    "SELECT id, doc_type, document_sealed FROM documents WHERE traveller_id = ? ORDER BY id", 3};

/* (surname_index) → id, person_sealed, category: the travellers whose surname
 * falls in that bucket (many names share one; the caller compares once
 * unsealed) */
const fg_query FG_Q_REC_TRAVELLERS_BY_SURNAME = {
    "rec_travellers_by_surname",
    "SELECT id, person_sealed, category FROM travellers WHERE surname_index = ? ORDER BY id", 3};

/* ---- crossings and overstays --------------------------------------------- */

/* (traveller_id) → id of the latest entry no exit closes yet */
const fg_query FG_Q_REC_OPEN_ENTRY = {
    "rec_open_entry",
    "SELECT e.id FROM crossings e WHERE e.traveller_id = ? AND e.direction = 'entry'"
    " AND NOT EXISTS (SELECT 1 FROM crossings x WHERE x.entry_id = e.id)"
    " ORDER BY e.at DESC, e.id DESC LIMIT 1", 1};

/* (traveller_id, direction, at, port, manifest_id, encounter_id, method, officer,
 *  admitted_until, entry_id, category) → id */
const fg_query FG_Q_REC_CROSSING_INSERT = {
    "rec_crossing_insert",
    "INSERT INTO crossings(traveller_id, direction, at, port, manifest_id, encounter_id,"
    " method, officer, admitted_until, entry_id, category)"
    " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", 1};

/* (id, traveller_id, direction, at, port, manifest_id, encounter_id, method, officer,
 *  admitted_until, entry_id, category) */
const fg_query FG_Q_REC_CROSSING_INSERT_ID = {
    "rec_crossing_insert_id",
    "INSERT INTO crossings(id, traveller_id, direction, at, port, manifest_id, encounter_id,"
    " method, officer, admitted_until, entry_id, category)"
    " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 0};

/* (traveller_id) → 0 id, 1 direction, 2 at, 3 port, 4 manifest_id, 5 carrier, 6 flight,
 * 7 encounter_id, 8 method, 9 officer, 10 admitted_until, 11 entry_id, 12 category,
 * 13 id of the exit that closes this entry; newest first */
const fg_query FG_Q_REC_CROSSINGS_OF = {
    "rec_crossings_of",
    "SELECT c.id, c.direction, c.at, c.port, c.manifest_id, m.carrier, m.flight,"
    " c.encounter_id, c.method, c.officer, c.admitted_until, c.entry_id, c.category, x.id"
    " FROM crossings c LEFT JOIN manifests m ON m.id = c.manifest_id"
    " LEFT JOIN crossings x ON x.entry_id = c.id"
    " WHERE c.traveller_id = ? ORDER BY c.at DESC, c.id DESC", 14};

/* (as_of, as_of, as_of, entry site or NULL) → 0 entry id, 1 traveller_id,
 * 2 person_sealed, 3 entered at, 4 port, 5 admitted_until: foreign nationals' entries
 * whose admission ended before as_of and that no exit up to as_of closes */
const fg_query FG_Q_REC_OVERSTAY_NO_EXIT = {
    "rec_overstay_no_exit",
    "SELECT e.id, e.traveller_id, t.person_sealed, e.at, e.port,"
    " e.admitted_until FROM crossings e JOIN travellers t ON t.id = e.traveller_id"
    " WHERE e.direction = 'entry' AND e.category = 'foreign' AND e.admitted_until IS NOT NULL"
    " AND e.admitted_until < ? AND e.at <= ?"
    " AND NOT EXISTS (SELECT 1 FROM crossings x WHERE x.entry_id = e.id AND x.at <= ?)"
    " AND COALESCE(?, e.port) = e.port ORDER BY e.admitted_until, e.id", 6};

/* (as_of, entry site or NULL) → 0 entry id, 1 traveller_id, 2 person_sealed,
 * 3 entered at, 4 entry port, 5 admitted_until, 6 exit id, 7 exited at, 8 exit port:
 * foreign nationals whose linked exit (up to as_of) came after admitted_until */
const fg_query FG_Q_REC_OVERSTAY_LATE = {
    "rec_overstay_late",
    "SELECT e.id, e.traveller_id, t.person_sealed, e.at, e.port,"
    " e.admitted_until, x.id, x.at, x.port"
    " FROM crossings e JOIN crossings x ON x.entry_id = e.id"
    " JOIN travellers t ON t.id = e.traveller_id"
    " WHERE e.direction = 'entry' AND e.category = 'foreign' AND e.admitted_until IS NOT NULL"
    " AND x.at > e.admitted_until AND x.at <= ? AND COALESCE(?, e.port) = e.port"
    " ORDER BY x.at, x.id", 9};

/* ---- referrals ------------------------------------------------------------ */

/* (encounter_id, reason, created_at, candidate_id) → id */
const fg_query FG_Q_REC_REFERRAL_INSERT = {
    "rec_referral_insert",
    "INSERT INTO referrals(encounter_id, reason, status, created_at, candidate_id)"
    " VALUES(?, ?, 'open', ?, ?) RETURNING id", 1};

/* (id, encounter_id, reason, created_at, candidate_id) */
const fg_query FG_Q_REC_REFERRAL_INSERT_ID = {
    "rec_referral_insert_id",
    "INSERT INTO referrals(id, encounter_id, reason, status, created_at, candidate_id)"
    " VALUES(?, ?, ?, 'open', ?, ?)", 0};

/* Columns of a referral row (list, get): 0 id, 1 reason, 2 status, 3 created_at,
 * 4 encounter_id, 5 candidate_id, 6 officer, 7 decided_at, 8 resolution,
 * 9 traveller_id, 10 crossing_id, 11 port, 12 gate, 13 encounter at, 14 outcome,
 * 15 score, 16 threshold, 17 quality_reasons, 18 manifest_id, 19 watchlist_id,
 * 20 watchlist_score, 21 the candidate's person_sealed, 22 the watchlist entry's
 * entry_sealed, 23 watchlist_threshold */
#define REFERRAL_SELECT                                                                    \
  "SELECT r.id, r.reason, r.status, r.created_at, r.encounter_id, r.candidate_id,"        \
  " r.officer, r.decided_at, r.resolution, r.traveller_id, r.crossing_id,"                \
  " e.port, e.gate, e.at, e.outcome, e.score, e.threshold, e.quality_reasons,"            \
  " e.manifest_id, e.watchlist_id, e.watchlist_score, t.person_sealed, w.entry_sealed,"  \
  " e.watchlist_threshold"                                                                \
  " FROM referrals r JOIN encounters e ON e.id = r.encounter_id"                          \
  " LEFT JOIN travellers t ON t.id = r.candidate_id"                                      \
  " LEFT JOIN watchlist w ON w.id = e.watchlist_id"

/* (site or NULL for every site) → referral rows, oldest first */
const fg_query FG_Q_REC_REFERRAL_LIST = {
    "rec_referral_list", REFERRAL_SELECT " WHERE COALESCE(?, e.port) = e.port ORDER BY r.id", 24};
/* (status, site or NULL) → referral rows, oldest first */
const fg_query FG_Q_REC_REFERRAL_LIST_STATUS = {
    "rec_referral_list_status",
    REFERRAL_SELECT " WHERE r.status = ? AND COALESCE(?, e.port) = e.port ORDER BY r.id", 24};
/* (id) → one referral row */
const fg_query FG_Q_REC_REFERRAL_GET = {"rec_referral_get", REFERRAL_SELECT " WHERE r.id = ?", 24};

/* () → the queue's summary, one read-only statement (so one snapshot, no
 * transaction, no write lock): rows (kind, key, count, min created_at):
 *   'status', status, referrals with that status, NULL
 *   'open_reason', reason, open referrals with that reason, oldest created_at
 *   'newest', NULL, the highest referral id (NULL when there is none), NULL
 * Counts and one id only: no column of a person is read. */
const fg_query FG_Q_REC_REFERRAL_SUMMARY = {
    "rec_referral_summary",
    "SELECT 'status', status, COUNT(*), NULL FROM referrals GROUP BY status"
    " UNION ALL SELECT 'open_reason', reason, COUNT(*), MIN(created_at) FROM referrals"
    " WHERE status = 'open' GROUP BY reason"
    " UNION ALL SELECT 'newest', NULL, MAX(id), NULL FROM referrals", 4};

/* (referral_id) → id, officer, at, note_sealed; oldest first */
const fg_query FG_Q_REC_REFERRAL_NOTES = {
    "rec_referral_notes",
    "SELECT id, officer, at, note_sealed FROM referral_notes WHERE referral_id = ? ORDER BY id", 4};

/* (referral_id, officer, at) → id (the note is sealed to it next) */
const fg_query FG_Q_REC_REFERRAL_NOTE_INSERT = {
    "rec_referral_note_insert",
    "INSERT INTO referral_notes(referral_id, officer, at, note) VALUES(?, ?, ?, '') RETURNING id", 1};

/* (note_sealed, id) */
const fg_query FG_Q_REC_REFERRAL_NOTE_SEAL = {
    "rec_referral_note_seal", "UPDATE referral_notes SET note_sealed = ? WHERE id = ?", 0};

/* (status, officer, decided_at, resolution, id) */
const fg_query FG_Q_REC_REFERRAL_DECIDE = {
    "rec_referral_decide",
    "UPDATE referrals SET status = ?, officer = ?, decided_at = ?, resolution = ? WHERE id = ?", 0};

/* (officer, decided_at, traveller_id, crossing_id, id) */
const fg_query FG_Q_REC_REFERRAL_CONFIRM = {
    "rec_referral_confirm",
    "UPDATE referrals SET status = 'confirmed', officer = ?, decided_at = ?,"
    " resolution = 'confirm', traveller_id = ?, crossing_id = ? WHERE id = ?", 0};

/* (id) → 0 id, 1 manifest_id, 2 port, 3 gate, 4 at, 5 outcome, 6 traveller_id,
 * 7 category, 8 score, 9 threshold, 10 quality, 11 quality_reasons, 12 liveness,
 * 13 watchlist_id, 14 watchlist_score, 15 actor, 16 ms, 17 has capture (0/1),
 * 18 has template (0/1), 19 capture_purged_at, 20 template_purged_at */
const fg_query FG_Q_REC_ENCOUNTER_GET = {
    "rec_encounter_get",
    "SELECT id, manifest_id, port, gate, at, outcome, traveller_id, category, score,"
    " threshold, quality, quality_reasons, liveness, watchlist_id, watchlist_score, actor, ms,"
    " CASE WHEN capture_sealed IS NULL THEN 0 ELSE 1 END,"
    " CASE WHEN template_sealed IS NULL THEN 0 ELSE 1 END,"
    " capture_purged_at, template_purged_at FROM encounters WHERE id = ?", 21};

/* (id) → capture_sealed, capture_purged_at */
const fg_query FG_Q_REC_ENCOUNTER_CAPTURE = {
    "rec_encounter_capture",
    "SELECT capture_sealed, capture_purged_at FROM encounters WHERE id = ?", 2};

/* (traveller_id, category, id): an officer said who an encounter's traveller is */
const fg_query FG_Q_REC_ENCOUNTER_IDENTIFY = {
    "rec_encounter_identify",
    "UPDATE encounters SET traveller_id = COALESCE(traveller_id, ?),"
    " category = COALESCE(category, ?) WHERE id = ?", 0};

/* (manifest_id) → direction, port */
const fg_query FG_Q_REC_MANIFEST_DIRECTION = {
    "rec_manifest_direction", "SELECT direction, port FROM manifests WHERE id = ?", 2};

/* (manifest_id, traveller_id) → admitted_until */
const fg_query FG_Q_REC_PASSENGER_ADMITTED = {
    "rec_passenger_admitted",
    "SELECT admitted_until FROM passengers WHERE manifest_id = ? AND traveller_id = ?", 1};

/* (manifest_id, traveller_id) */
const fg_query FG_Q_REC_PASSENGER_MANUAL = {
    "rec_passenger_manual",
    "UPDATE passengers SET status = 'manual' WHERE manifest_id = ? AND traveller_id = ?", 0};

/* (manifest_id, traveller_id) → id, image_sealed */
const fg_query FG_Q_REC_DOCUMENT_PHOTOS = {
    "rec_document_photos",
    "SELECT id, image_sealed FROM photos WHERE manifest_id = ? AND traveller_id = ?"
    " AND image_sealed IS NOT NULL ORDER BY id", 2};

/* ---- purge -------------------------------------------------------------------- */

/* (purged_at, category, cutoff) */
const fg_query FG_Q_REC_PURGE_CAPTURES = {
    "rec_purge_captures",
    "UPDATE encounters SET capture_sealed = NULL, capture_purged_at = ?"
    " WHERE capture_sealed IS NOT NULL AND category = ? AND at <= ?", 0};
/* (purged_at, cutoff) */
const fg_query FG_Q_REC_PURGE_CAPTURES_UNIDENTIFIED = {
    "rec_purge_captures_unidentified",
    "UPDATE encounters SET capture_sealed = NULL, capture_purged_at = ?"
    " WHERE capture_sealed IS NOT NULL AND category IS NULL AND at <= ?", 0};
/* (purged_at, category, cutoff) */
const fg_query FG_Q_REC_PURGE_TEMPLATES = {
    "rec_purge_templates",
    "UPDATE encounters SET template_sealed = NULL, template_purged_at = ?"
    " WHERE template_sealed IS NOT NULL AND category = ? AND at <= ?", 0};
/* (purged_at, cutoff) */
const fg_query FG_Q_REC_PURGE_TEMPLATES_UNIDENTIFIED = {
    "rec_purge_templates_unidentified",
    "UPDATE encounters SET template_sealed = NULL, template_purged_at = ?"
    " WHERE template_sealed IS NOT NULL AND category IS NULL AND at <= ?", 0};

#define GALLERY_DUE "SELECT id FROM manifests WHERE status <> 'purged' AND scheduled_at <= ?"

/* (cutoff) → category, count of staged photos due */
const fg_query FG_Q_REC_PURGE_GALLERY_COUNT = {
    "rec_purge_gallery_count",
    "SELECT t.category, COUNT(*) FROM photos p JOIN travellers t ON t.id = p.traveller_id"
    " WHERE p.manifest_id IN (" GALLERY_DUE ") GROUP BY t.category", 2};
/* (cutoff) */
const fg_query FG_Q_REC_PURGE_GALLERY_PHOTOS = {
    "rec_purge_gallery_photos", "DELETE FROM photos WHERE manifest_id IN (" GALLERY_DUE ")", 0};
/* (cutoff) */
const fg_query FG_Q_REC_PURGE_GALLERY_PASSENGERS = {
    "rec_purge_gallery_passengers",
    "UPDATE passengers SET enrolled = 0 WHERE manifest_id IN (" GALLERY_DUE ")", 0};
/* (purged_at, cutoff) */
const fg_query FG_Q_REC_PURGE_GALLERY_MANIFESTS = {
    "rec_purge_gallery_manifests",
    "UPDATE manifests SET status = 'purged', purged_at = ?, revision = revision + 1"
    " WHERE status <> 'purged' AND scheduled_at <= ?", 0};

/* (now, cutoff) → 0 id, 1 category, 2 at, 3 overstayer (0/1): crossings old enough
 * for the shortest crossing retention; an overstayer is a traveller with an entry
 * whose admission ended before now and that no exit up to admitted_until closes */
const fg_query FG_Q_REC_PURGE_CROSSING_CANDIDATES = {
    "rec_purge_crossing_candidates",
    "SELECT c.id, c.category, c.at, CASE WHEN c.traveller_id IN ("
    "SELECT e.traveller_id FROM crossings e WHERE e.direction = 'entry'"
    " AND e.admitted_until IS NOT NULL AND e.admitted_until < ?"
    " AND NOT EXISTS (SELECT 1 FROM crossings x WHERE x.entry_id = e.id"
    " AND x.at <= e.admitted_until)) THEN 1 ELSE 0 END"
    " FROM crossings c WHERE c.at <= ? ORDER BY c.id", 4};
/* (id) */
const fg_query FG_Q_REC_PURGE_CROSSING_DELETE = {"rec_purge_crossing_delete",
                                                 "DELETE FROM crossings WHERE id = ?", 0};

/* (now) */
const fg_query FG_Q_REC_PURGE_WATCHLIST_TEMPLATES = {
    "rec_purge_watchlist_templates",
    "DELETE FROM watchlist_templates WHERE entry_id IN (SELECT id FROM watchlist"
    " WHERE removed_at IS NOT NULL OR (expires_at > 0 AND expires_at <= ?))", 0};

/* ---- report ---------------------------------------------------------------------- */

/* (from, to[, port]) → outcome, ms, watchlist_id */
const fg_query FG_Q_REC_REPORT_ENCOUNTERS = {
    "rec_report_encounters",
    "SELECT outcome, ms, watchlist_id FROM encounters WHERE at >= ? AND at < ?", 3};
const fg_query FG_Q_REC_REPORT_ENCOUNTERS_PORT = {
    "rec_report_encounters_port",
    "SELECT outcome, ms, watchlist_id FROM encounters WHERE at >= ? AND at < ? AND port = ?", 3};

/* (from, to[, port]) → reason, count of referrals of that day's encounters */
const fg_query FG_Q_REC_REPORT_REFERRALS = {
    "rec_report_referrals",
    "SELECT r.reason, COUNT(*) FROM referrals r JOIN encounters e ON e.id = r.encounter_id"
    " WHERE e.at >= ? AND e.at < ? GROUP BY r.reason", 2};
const fg_query FG_Q_REC_REPORT_REFERRALS_PORT = {
    "rec_report_referrals_port",
    "SELECT r.reason, COUNT(*) FROM referrals r JOIN encounters e ON e.id = r.encounter_id"
    " WHERE e.at >= ? AND e.at < ? AND e.port = ? GROUP BY r.reason", 2};

/* (from, to[, port]) → method, direction, count */
const fg_query FG_Q_REC_REPORT_CROSSINGS = {
    "rec_report_crossings",
    "SELECT method, direction, COUNT(*) FROM crossings WHERE at >= ? AND at < ?"
    " GROUP BY method, direction", 3};
const fg_query FG_Q_REC_REPORT_CROSSINGS_PORT = {
    "rec_report_crossings_port",
    "SELECT method, direction, COUNT(*) FROM crossings WHERE at >= ? AND at < ? AND port = ?"
    " GROUP BY method, direction", 3};

/* (from, to[, port]) → outcome, watchlist_id, traveller id, person_sealed,
 * referral reason, referral status: each encounter with the traveller it is
 * attributed to (the matched, declared or officer-confirmed one, else the
 * presented document's holder named by a failure-to-acquire referral; never
 * a no_match referral's nearest candidate), for the error rates per group. */
#define REPORT_GROUPS                                                                             \
  "SELECT e.outcome, e.watchlist_id, t.id, t.person_sealed, r.reason, r.status"                 \
  " FROM encounters e LEFT JOIN referrals r ON r.encounter_id = e.id"                           \
  " LEFT JOIN travellers t ON t.id = COALESCE(e.traveller_id,"                                  \
  "   CASE WHEN r.reason = 'failure_to_acquire' THEN r.candidate_id END)"                       \
  " WHERE e.at >= ? AND e.at < ?"
const fg_query FG_Q_REC_REPORT_GROUPS = {"rec_report_groups", REPORT_GROUPS, 6};
const fg_query FG_Q_REC_REPORT_GROUPS_PORT = {"rec_report_groups_port",
                                              REPORT_GROUPS " AND e.port = ?", 6};

/* ---- audit table ------------------------------------------------------------------ */

/* (after, limit) → seq, at, actor, role, action, object, purpose, detail */
const fg_query FG_Q_REC_AUDIT_LIST = {
    "rec_audit_list",
    "SELECT seq, at, actor, role, action, object, purpose, detail FROM audit"
    " WHERE seq > ? ORDER BY seq LIMIT ?", 8};

/* ---- key rotation: every sealed column ---------------------------------------------- */

/* A sealed column, its blobs bound to the row's `idcol` ("id", or the
 * encounter an idempotency key belongs to). */
#define SEALED_BY(tbl, col, idcol)                                                          \
  static const fg_query Q_IDS_##tbl##_##col = {                                             \
      "rec_sealed_ids_" #tbl "_" #col,                                                      \
      "SELECT " #idcol " FROM " #tbl " WHERE " #col " IS NOT NULL ORDER BY " #idcol, 1};    \
  static const fg_query Q_GET_##tbl##_##col = {                                             \
      "rec_sealed_get_" #tbl "_" #col, "SELECT " #col " FROM " #tbl " WHERE " #idcol " = ?", 1}; \
  static const fg_query Q_PUT_##tbl##_##col = {                                             \
      "rec_sealed_put_" #tbl "_" #col, "UPDATE " #tbl " SET " #col " = ? WHERE " #idcol " = ?", 0};
#define SEALED(tbl, col) SEALED_BY(tbl, col, id)

SEALED(photos, image_sealed)
SEALED(photos, template_sealed)
SEALED(encounters, capture_sealed)
SEALED(encounters, template_sealed)
SEALED(watchlist_templates, image_sealed)
SEALED(watchlist_templates, template_sealed)
SEALED_BY(encounter_keys, result_sealed, encounter_id)
SEALED(travellers, person_sealed)
SEALED(documents, document_sealed)
SEALED(watchlist, entry_sealed)
SEALED(referral_notes, note_sealed)

#define COLUMN(tbl, col) {#tbl, #col, &Q_IDS_##tbl##_##col, &Q_GET_##tbl##_##col, &Q_PUT_##tbl##_##col}

const fg__sealed_column fg__sealed_columns[] = {
    COLUMN(photos, image_sealed),
    COLUMN(photos, template_sealed),
    COLUMN(encounters, capture_sealed),
    COLUMN(encounters, template_sealed),
    COLUMN(watchlist_templates, image_sealed),
    COLUMN(watchlist_templates, template_sealed),
    COLUMN(encounter_keys, result_sealed),
    COLUMN(travellers, person_sealed),
    COLUMN(documents, document_sealed),
    COLUMN(watchlist, entry_sealed),
    COLUMN(referral_notes, note_sealed),
};
const int fg__sealed_column_count = (int)(sizeof fg__sealed_columns / sizeof fg__sealed_columns[0]);

/* Encounter records (and their referrals; notes cascade) older than their
 * category's record retention. (category, cutoff) or (cutoff). */
const fg_query FG_Q_REC_PURGE_ENC_REFERRALS = {
    "rec_purge_enc_referrals",
    "DELETE FROM referrals WHERE encounter_id IN"
    " (SELECT id FROM encounters WHERE category = ? AND at <= ?)", 0};
const fg_query FG_Q_REC_PURGE_ENC_REFERRALS_UNIDENTIFIED = {
    "rec_purge_enc_referrals_unidentified",
    "DELETE FROM referrals WHERE encounter_id IN"
    " (SELECT id FROM encounters WHERE category IS NULL AND at <= ?)", 0};
const fg_query FG_Q_REC_PURGE_ENC_ROWS = {
    "rec_purge_enc_rows", "DELETE FROM encounters WHERE category = ? AND at <= ?", 0};
const fg_query FG_Q_REC_PURGE_ENC_ROWS_UNIDENTIFIED = {
    "rec_purge_enc_rows_unidentified", "DELETE FROM encounters WHERE category IS NULL AND at <= ?", 0};

/* Passenger lists past their record retention: (category, cutoff on the
 * flight's scheduled time). */
const fg_query FG_Q_REC_PURGE_PASSENGERS = {
    "rec_purge_passengers",
    "DELETE FROM passengers WHERE traveller_id IN (SELECT id FROM travellers WHERE category = ?)"
    " AND manifest_id IN (SELECT id FROM manifests WHERE scheduled_at <= ?)", 0};
/* Travellers nothing refers to any more (their documents cascade). */
const fg_query FG_Q_REC_PURGE_TRAVELLERS = {
    "rec_purge_travellers",
    "DELETE FROM travellers WHERE"
    " NOT EXISTS (SELECT 1 FROM passengers p WHERE p.traveller_id = travellers.id)"
    " AND NOT EXISTS (SELECT 1 FROM crossings c WHERE c.traveller_id = travellers.id)"
    " AND NOT EXISTS (SELECT 1 FROM encounters e WHERE e.traveller_id = travellers.id)"
    " AND NOT EXISTS (SELECT 1 FROM photos f WHERE f.traveller_id = travellers.id)"
    " AND NOT EXISTS (SELECT 1 FROM referrals r"
    "   WHERE r.candidate_id = travellers.id OR r.traveller_id = travellers.id)", 0};

/* ---- personal data written by an older facegate, sealed at open ------------------- */

const fg_query FG_Q_PD_LEGACY_TRAVELLERS = {
    "pd_legacy_travellers",
    "SELECT id, surname, given_names, date_of_birth, nationality, sex FROM travellers"
    " WHERE person_sealed IS NULL ORDER BY id", 6};
const fg_query FG_Q_PD_SEAL_TRAVELLER = {
    "pd_seal_traveller",
    "UPDATE travellers SET person_sealed = ?, surname_index = ?, surname = '', given_names = '',"
    " date_of_birth = NULL, nationality = NULL, sex = NULL WHERE id = ?", 0};
const fg_query FG_Q_PD_LEGACY_DOCUMENTS = {
    "pd_legacy_documents",
    "SELECT id, doc_number, issuing_state, expiry FROM documents WHERE document_sealed IS NULL"
    " ORDER BY id", 4};
const fg_query FG_Q_PD_SEAL_DOCUMENT = {
    "pd_seal_document",
    "UPDATE documents SET document_sealed = ?, number_index = ?, document_index = ?,"
    " doc_number = ?, issuing_state = '', expiry = NULL WHERE id = ?", 0};
const fg_query FG_Q_PD_LEGACY_WATCHLIST = {
    "pd_legacy_watchlist",
    "SELECT id, name, reason FROM watchlist WHERE entry_sealed IS NULL ORDER BY id", 3};
const fg_query FG_Q_PD_SEAL_WATCHLIST = {
    "pd_seal_watchlist", "UPDATE watchlist SET entry_sealed = ?, name = '', reason = '' WHERE id = ?", 0};
const fg_query FG_Q_PD_LEGACY_NOTES = {
    "pd_legacy_notes", "SELECT id, note FROM referral_notes WHERE note_sealed IS NULL ORDER BY id", 2};
const fg_query FG_Q_PD_SEAL_NOTE = {
    "pd_seal_note", "UPDATE referral_notes SET note_sealed = ?, note = '' WHERE id = ?", 0};

/* ---- reconciling records with the audit chain (src/border/reconcile.c) ------------- */

/* The columns an audit event's row hash covers, in the order hashed; then
 * what may change later and is checked against the events that change it. */
const fg_query FG_Q_REC_AUDITED_ENCOUNTERS = {
    "rec_audited_encounters",
    "SELECT id, manifest_id, port, gate, at, outcome, score, threshold, quality, watchlist_id,"
    " watchlist_score, actor, traveller_id, category FROM encounters ORDER BY id", 14};
const fg_query FG_Q_REC_AUDITED_CROSSINGS = {
    "rec_audited_crossings",
    "SELECT id, traveller_id, direction, at, port, manifest_id, encounter_id, method, officer,"
    " admitted_until, entry_id, category FROM crossings ORDER BY id", 12};
const fg_query FG_Q_REC_AUDITED_REFERRALS = {
    "rec_audited_referrals",
    "SELECT id, encounter_id, reason, created_at, candidate_id, status, officer, decided_at,"
    " resolution, traveller_id, crossing_id FROM referrals ORDER BY id", 11};
/* (id) → status, officer, decided_at, resolution, traveller_id, crossing_id */
const fg_query FG_Q_REC_REFERRAL_STATE = {
    "rec_referral_state",
    "SELECT status, officer, decided_at, resolution, traveller_id, crossing_id FROM referrals"
    " WHERE id = ?", 6};
/* The events that create, change or delete the reconciled records. */
const fg_query FG_Q_REC_AUDITED_WATCHLIST = {
    "rec_audited_watchlist",
    "SELECT w.id, w.added_by, w.created_at, w.expires_at, w.removed_at,"
    " (SELECT COUNT(*) FROM watchlist_templates t WHERE t.entry_id = w.id)"
    " FROM watchlist w ORDER BY w.id", 6};
const fg_query FG_Q_REC_AUDIT_RECORD_EVENTS = {
    "rec_audit_record_events",
    "SELECT seq, action, object, detail, at FROM audit WHERE action IN ('encounter.create',"
    " 'crossing.create', 'referral.create', 'referral.decide', 'purge.run', 'watchlist.add',"
    " 'watchlist.import', 'watchlist.remove') ORDER BY seq", 5};
/* (seq) → hash */
const fg_query FG_Q_REC_AUDIT_HASH = {"rec_audit_hash", "SELECT hash FROM audit WHERE seq = ?", 1};

/* ---- what an officer looks at ------------------------------------------------------ */

/* (manifest_id, traveller_id) → status (none: not a passenger of that flight) */
const fg_query FG_Q_REC_PASSENGER_STATUS = {
    "rec_passenger_status",
    "SELECT status FROM passengers WHERE manifest_id = ? AND traveller_id = ?", 1};

/* (entry_id) → id, image_sealed: a watchlist entry's photos */
const fg_query FG_Q_REC_WATCHLIST_PHOTOS = {
    "rec_watchlist_photos",
    "SELECT id, image_sealed FROM watchlist_templates WHERE entry_id = ?"
    " AND image_sealed IS NOT NULL ORDER BY id", 2};
