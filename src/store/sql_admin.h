/*
 * The named queries of administration (not API): the service's API tokens,
 * the policy fingerprint kept in `meta`, and the newest purge in the audit
 * chain. Kept with the schema's other SQL under src/store/.
 */
#ifndef FG_STORE_SQL_ADMIN_H
#define FG_STORE_SQL_ADMIN_H

#include "facegate/store.h"

/* (name, role, hash, created_at, created_by) RETURNING id. */
extern const fg_query FG_Q_ADM_TOKEN_INSERT;
/* id, name, role, created_at, created_by, revoked_at; oldest first. */
extern const fg_query FG_Q_ADM_TOKEN_LIST;
/* (id) / (name) -> id, name, revoked_at. */
extern const fg_query FG_Q_ADM_TOKEN_BY_ID;
extern const fg_query FG_Q_ADM_TOKEN_BY_NAME;
/* (revoked_at, id); only a token not revoked yet. */
extern const fg_query FG_Q_ADM_TOKEN_REVOKE;
/* (hash) -> id, name, role, revoked_at. */
extern const fg_query FG_Q_ADM_TOKEN_BY_HASH;
/* (key) -> value; (key, value) upsert. */
extern const fg_query FG_Q_ADM_META_GET;
extern const fg_query FG_Q_ADM_META_PUT;
/* seq, at, actor, role, detail of the newest purge.run event. */
extern const fg_query FG_Q_ADM_LAST_PURGE;
/* () -> travellers, manifests, encounters, crossings, referrals, watchlist entries,
 * audit events: what a backup and a restore report. */
extern const fg_query FG_Q_ADM_COUNTS;

#endif
