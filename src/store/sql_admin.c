/*
 * SQL of administration: API tokens, the policy fingerprint, the newest purge
 * (sql_admin.h says what each returns).
 */
#include "store/sql_admin.h"

const fg_query FG_Q_ADM_TOKEN_INSERT = {
    "token_insert",
    "INSERT INTO tokens(name, role, hash, created_at, created_by) VALUES(?, ?, ?, ?, ?) "
    "RETURNING id", 1};
const fg_query FG_Q_ADM_TOKEN_LIST = {
    "token_list",
    "SELECT id, name, role, created_at, created_by, revoked_at FROM tokens ORDER BY id", 6};
const fg_query FG_Q_ADM_TOKEN_BY_ID = {
    "token_by_id", "SELECT id, name, role, revoked_at FROM tokens WHERE id = ?", 4};
const fg_query FG_Q_ADM_TOKEN_BY_NAME = {
    "token_by_name", "SELECT id, name, role, revoked_at FROM tokens WHERE name = ?", 4};
const fg_query FG_Q_ADM_TOKEN_REVOKE = {
    "token_revoke", "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", 0};
const fg_query FG_Q_ADM_TOKEN_BY_HASH = {
    "token_by_hash", "SELECT id, name, role, revoked_at FROM tokens WHERE hash = ?", 4};
const fg_query FG_Q_ADM_META_GET = {"meta_get", "SELECT value FROM meta WHERE key = ?", 1};
const fg_query FG_Q_ADM_META_PUT = {
    "meta_put",
    "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", 0};
const fg_query FG_Q_ADM_LAST_PURGE = {
    "last_purge",
    "SELECT seq, at, actor, role, detail FROM audit WHERE action = 'purge.run' "
    "ORDER BY seq DESC LIMIT 1", 5};
const fg_query FG_Q_ADM_COUNTS = {
    "store_counts",
    "SELECT (SELECT COUNT(*) FROM travellers), (SELECT COUNT(*) FROM manifests),"
    " (SELECT COUNT(*) FROM encounters), (SELECT COUNT(*) FROM crossings),"
    " (SELECT COUNT(*) FROM referrals), (SELECT COUNT(*) FROM watchlist),"
    " (SELECT COUNT(*) FROM audit)", 7};
