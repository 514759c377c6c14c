/*
 * SQL of the gate encounter, the 1:1 document check and the watchlist
 * (declared, with parameters and columns, in sql_encounter.h). Portable SQL
 * only: `?` placeholders, RETURNING, CAST; no backend functions.
 */
#include "store/sql_encounter.h"

const fg_query FG_Q_ENC_MANIFEST = {
    "encounter_manifest", "SELECT status, direction, port FROM manifests WHERE id = ?", 3};

const fg_query FG_Q_ENC_DOC_HOLDER = {
    "encounter_doc_holder",
    "SELECT p.traveller_id FROM passengers p"
    " JOIN documents d ON d.id = p.document_id"
    " WHERE p.manifest_id = ? AND d.number_index = ?"
    " ORDER BY p.traveller_id LIMIT 2", 1};

const fg_query FG_Q_ENC_PASSENGER = {
    "encounter_passenger",
    "SELECT p.status, p.admitted_until, t.category, t.person_sealed"
    " FROM passengers p JOIN travellers t ON t.id = p.traveller_id"
    " WHERE p.manifest_id = ? AND p.traveller_id = ?", 4};

const fg_query FG_Q_ENC_FTA_RUN = {
    "encounter_fta_run",
    "SELECT COUNT(*) FROM encounters e"
    " WHERE e.port = ? AND e.gate = ? AND e.outcome = 'FAILURE_TO_ACQUIRE'"
    " AND e.id > COALESCE((SELECT MAX(x.id) FROM encounters x"
    "   WHERE x.port = ? AND x.gate = ? AND (x.outcome <> 'FAILURE_TO_ACQUIRE'"
    "     OR EXISTS (SELECT 1 FROM referrals r WHERE r.encounter_id = x.id))), 0)", 1};

const fg_query FG_Q_ENC_INSERT = {
    "encounter_insert",
    "INSERT INTO encounters(manifest_id, port, gate, at, outcome, traveller_id, category,"
    " score, threshold, quality, quality_reasons, liveness, watchlist_id, watchlist_score,"
    " actor) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", 1};

const fg_query FG_Q_ENC_INSERT_ID = {
    "encounter_insert_id",
    "INSERT INTO encounters(id, manifest_id, port, gate, at, outcome, traveller_id, category,"
    " score, threshold, quality, quality_reasons, liveness, watchlist_id, watchlist_score,"
    " actor, ms, capture_sealed, template_sealed, watchlist_threshold)"
    " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 0};

const fg_query FG_Q_ENC_FINISH = {
    "encounter_finish",
    "UPDATE encounters SET capture_sealed = ?, template_sealed = ?, ms = ? WHERE id = ?", 0};

const fg_query FG_Q_ENC_PASSENGER_REFER = {
    "encounter_passenger_refer",
    "UPDATE passengers SET status = ? WHERE manifest_id = ? AND traveller_id = ?"
    " AND status = 'expected'", 0};

const fg_query FG_Q_ENC_PASSENGER_CROSS = {
    "encounter_passenger_cross",
    "UPDATE passengers SET status = 'crossed' WHERE manifest_id = ? AND traveller_id = ?", 0};

const fg_query FG_Q_ENC_KEY_GET = {
    "encounter_key_get",
    "SELECT encounter_id, result_sealed FROM encounter_keys WHERE actor = ? AND key = ?", 2};

const fg_query FG_Q_ENC_KEY_INSERT = {
    "encounter_key_insert",
    "INSERT INTO encounter_keys(actor, key, encounter_id, created_at, result_sealed)"
    " VALUES(?, ?, ?, ?, ?)", 0};

const fg_query FG_Q_WL_INSERT = {
    "watchlist_insert",
    "INSERT INTO watchlist(name, reason, added_by, created_at, expires_at)"
    " VALUES('', '', ?, ?, ?) RETURNING id", 1};

const fg_query FG_Q_WL_SEAL = {
    "watchlist_seal", "UPDATE watchlist SET entry_sealed = ? WHERE id = ?", 0};

const fg_query FG_Q_WL_TEMPLATE_INSERT = {
    "watchlist_template_insert",
    "INSERT INTO watchlist_templates(entry_id, template_sealed) VALUES(?, ?) RETURNING id", 1};

const fg_query FG_Q_WL_TEMPLATE_SEAL = {
    "watchlist_template_seal",
    "UPDATE watchlist_templates SET image_sealed = ?, template_sealed = ? WHERE id = ?", 0};

const fg_query FG_Q_WL_REVISION_BUMP = {
    "watchlist_revision_bump",
    "INSERT INTO meta(key, value) VALUES('watchlist_revision', '1')"
    " ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)", 0};

const fg_query FG_Q_WL_GET = {"watchlist_get", "SELECT removed_at FROM watchlist WHERE id = ?", 1};

const fg_query FG_Q_WL_REMOVE = {
    "watchlist_remove", "UPDATE watchlist SET removed_at = ? WHERE id = ? AND removed_at IS NULL", 0};

const fg_query FG_Q_WL_TEMPLATES_DELETE = {
    "watchlist_templates_delete", "DELETE FROM watchlist_templates WHERE entry_id = ?", 0};

const fg_query FG_Q_WL_INSERT_ID = {
    "watchlist_insert_id",
    "INSERT INTO watchlist(id, name, reason, added_by, created_at, expires_at, entry_sealed)"
    " VALUES(?, '', '', ?, ?, ?, ?)", 0};

const fg_query FG_Q_WL_TEMPLATE_INSERT_ID = {
    "watchlist_template_insert_id",
    "INSERT INTO watchlist_templates(id, entry_id, image_sealed, template_sealed) VALUES(?, ?, ?, ?)",
    0};

const fg_query FG_Q_WL_LIST = {
    "watchlist_list",
    "SELECT w.id, w.entry_sealed, w.added_by, w.created_at, w.expires_at, w.removed_at,"
    " (SELECT COUNT(*) FROM watchlist_templates t WHERE t.entry_id = w.id)"
    " FROM watchlist w ORDER BY w.id", 7};
