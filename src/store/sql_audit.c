/*
 * SQL of the audit chain (see sql_audit.h). The table is append-only: no
 * query here updates or deletes a row.
 */
#include "store/sql_audit.h"

const fg_query fg__q_audit_last = {
    "audit_last", "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", 2};

const fg_query fg__q_audit_insert = {
    "audit_insert",
    "INSERT INTO audit (seq, at, actor, role, action, object, purpose, detail, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", 0};

const fg_query fg__q_audit_all = {
    "audit_all",
    "SELECT seq, at, actor, role, action, object, purpose, detail, hash FROM audit ORDER BY seq", 9};
