/*
 * SQL of manifest import and the staged galleries (declared, with parameters
 * and columns, in sql_manifest.h). Portable SQL only: `?` placeholders,
 * RETURNING, CAST, COALESCE; no backend functions.
 */
#include "store/sql_manifest.h"

const fg_query FG_Q_MAN_GET = {
    "manifest_get",
    "SELECT carrier, flight, port, scheduled_at, direction, status, revision, created_at,"
    " closed_at FROM manifests WHERE id = ?", 9};

const fg_query FG_Q_MAN_FIND = {
    "manifest_find",
    "SELECT id FROM manifests WHERE carrier = ? AND flight = ? AND scheduled_at = ?", 1};

const fg_query FG_Q_MAN_INSERT = {
    "manifest_insert",
    "INSERT INTO manifests(carrier, flight, port, scheduled_at, direction, created_at)"
    " VALUES(?, ?, ?, ?, ?, ?) RETURNING id", 1};

const fg_query FG_Q_MAN_BUMP = {
    "manifest_bump",
    "UPDATE manifests SET revision = revision + 1 WHERE id = ? RETURNING revision", 1};

const fg_query FG_Q_MAN_CLOSE = {
    "manifest_close",
    "UPDATE manifests SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open'", 0};

const fg_query FG_Q_MAN_LIST = {
    "manifest_list",
    "SELECT m.id, m.carrier, m.flight, m.port, m.scheduled_at, m.direction, m.status,"
    " m.revision, m.created_at, m.closed_at,"
    " COUNT(p.traveller_id),"
    " COALESCE(SUM(CASE WHEN p.enrolled > 0 THEN 1 ELSE 0 END), 0),"
    " COALESCE(SUM(CASE WHEN p.status = 'expected' THEN 1 ELSE 0 END), 0),"
    " COALESCE(SUM(CASE WHEN p.status = 'crossed' THEN 1 ELSE 0 END), 0),"
    " COALESCE(SUM(CASE WHEN p.status = 'manual' THEN 1 ELSE 0 END), 0),"
    " COALESCE(SUM(CASE WHEN p.status = 'referred' THEN 1 ELSE 0 END), 0)"
    " FROM manifests m LEFT JOIN passengers p ON p.manifest_id = m.id"
    " GROUP BY m.id, m.carrier, m.flight, m.port, m.scheduled_at, m.direction, m.status,"
    " m.revision, m.created_at, m.closed_at"
    " ORDER BY m.id DESC", 16};

const fg_query FG_Q_MAN_PASSENGERS = {
    "manifest_passengers",
    "SELECT p.traveller_id, t.person_sealed, t.category, d.id, d.doc_type, d.document_sealed,"
    " p.status, p.enrolled, p.problems, p.admitted_until, p.added_at"
    " FROM passengers p JOIN travellers t ON t.id = p.traveller_id"
    " JOIN documents d ON d.id = p.document_id"
    " WHERE p.manifest_id = ? ORDER BY p.traveller_id", 11};

const fg_query FG_Q_MAN_DOC_FIND = {
    "manifest_doc_find",
    "SELECT id, traveller_id, document_sealed FROM documents WHERE document_index = ?", 3};

/* The plaintext columns of migration 1 get no personal data: doc_number holds
 * the document index in hex (unique, as the old constraint wants). */
const fg_query FG_Q_MAN_DOC_INSERT = {
    "manifest_doc_insert",
    "INSERT INTO documents(traveller_id, doc_type, doc_number, issuing_state, number_index,"
    " document_index) VALUES(?, ?, ?, '', ?, ?) RETURNING id", 1};

const fg_query FG_Q_MAN_DOC_UPDATE = {
    "manifest_doc_update", "UPDATE documents SET doc_type = ?, document_sealed = ? WHERE id = ?", 0};

const fg_query FG_Q_MAN_TRAVELLER_INSERT = {
    "manifest_traveller_insert",
    "INSERT INTO travellers(surname, given_names, category, created_at) VALUES('', '', ?, ?)"
    " RETURNING id", 1};

const fg_query FG_Q_MAN_TRAVELLER_UPDATE = {
    "manifest_traveller_update",
    "UPDATE travellers SET person_sealed = ?, surname_index = ?, category = ? WHERE id = ?", 0};

const fg_query FG_Q_MAN_TRAVELLER_PERSON = {
    "manifest_traveller_person", "SELECT person_sealed FROM travellers WHERE id = ?", 1};

const fg_query FG_Q_MAN_PASSENGER_EXISTS = {
    "manifest_passenger_exists",
    "SELECT 1 FROM passengers WHERE manifest_id = ? AND traveller_id = ?", 1};

const fg_query FG_Q_MAN_PASSENGER_INSERT = {
    "manifest_passenger_insert",
    "INSERT INTO passengers(manifest_id, traveller_id, document_id, enrolled, problems,"
    " admitted_until, added_at) VALUES(?, ?, ?, ?, ?, ?, ?)", 0};

const fg_query FG_Q_MAN_PHOTO_INSERT = {
    "manifest_photo_insert",
    "INSERT INTO photos(manifest_id, traveller_id, source, quality, created_at)"
    " VALUES(?, ?, ?, ?, ?) RETURNING id", 1};

const fg_query FG_Q_MAN_PHOTO_SEAL = {
    "manifest_photo_seal", "UPDATE photos SET image_sealed = ?, template_sealed = ? WHERE id = ?", 0};

const fg_query FG_Q_GAL_FLIGHT_REVISION = {
    "gallery_flight_revision", "SELECT revision FROM manifests WHERE id = ?", 1};

const fg_query FG_Q_GAL_FLIGHT_TEMPLATES = {
    "gallery_flight_templates",
    "SELECT id, traveller_id, template_sealed FROM photos"
    " WHERE manifest_id = ? AND template_sealed IS NOT NULL ORDER BY traveller_id, id", 3};

const fg_query FG_Q_GAL_WATCHLIST_REVISION = {
    "gallery_watchlist_revision",
    "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'watchlist_revision'", 1};

const fg_query FG_Q_GAL_WATCHLIST_TEMPLATES = {
    "gallery_watchlist_templates",
    "SELECT t.id, t.entry_id, t.template_sealed, w.expires_at"
    " FROM watchlist_templates t JOIN watchlist w ON w.id = t.entry_id"
    " WHERE w.removed_at IS NULL AND (w.expires_at IS NULL OR w.expires_at > ?)"
    " ORDER BY t.entry_id, t.id", 4};
