/*
 * The named queries of the audit chain (src/secure/audit.c), kept with the
 * schema's other SQL under src/store/ (not API).
 */
#ifndef FG_STORE_SQL_AUDIT_H
#define FG_STORE_SQL_AUDIT_H

#include "facegate/store.h"

/* (seq, hash) of the newest event; no row when the chain is empty. */
extern const fg_query fg__q_audit_last;
/* Insert (seq, at, actor, role, action, object, purpose, detail, hash). */
extern const fg_query fg__q_audit_insert;
/* Every event in seq order: seq, at, actor, role, action, object, purpose,
 * detail, hash. */
extern const fg_query fg__q_audit_all;

#endif
