/*
 * The queries of the gate encounter, the 1:1 document check and the
 * watchlist (src/border/encounter.c, verify.c, watchlist.c). The SQL text is
 * in sql_encounter.c, next to the schema it reads, so that nothing above
 * src/store/ holds SQL; each query's comment lists its parameters and the
 * columns of its rows, in order.
 */
#ifndef FG_SQL_ENCOUNTER_H
#define FG_SQL_ENCOUNTER_H

#include "facegate/store.h"

/* (manifest id) -> status, direction, port */
extern const fg_query FG_Q_ENC_MANIFEST;
/* (manifest id, number_index) -> traveller id of the passenger holding a
 * document with that number (its blind index) */
extern const fg_query FG_Q_ENC_DOC_HOLDER;
/* (manifest id, traveller id) -> status, admitted_until, category, person_sealed */
extern const fg_query FG_Q_ENC_PASSENGER;
/* (port, gate, port, gate) -> consecutive failures to acquire at the gate since
 * its last encounter that was not one or that opened a referral */
extern const fg_query FG_Q_ENC_FTA_RUN;
/* (manifest, port, gate, at, outcome, traveller, category, score, threshold,
 * quality, quality_reasons, liveness, watchlist_id, watchlist_score, actor) -> id */
extern const fg_query FG_Q_ENC_INSERT;
/* (capture_sealed, template_sealed, ms, id) */
extern const fg_query FG_Q_ENC_FINISH;
/* The whole row at once, its id taken up front (fg_store_next_id) so that the
 * capture could be sealed to it: (id, manifest_id, port, gate, at, outcome,
 * traveller_id, category, score, threshold, quality, quality_reasons, liveness,
 * watchlist_id, watchlist_score, actor, ms, capture_sealed, template_sealed,
 * watchlist_threshold) */
extern const fg_query FG_Q_ENC_INSERT_ID;
/* (status, manifest id, traveller id): only a passenger still 'expected'
 * becomes 'referred' */
extern const fg_query FG_Q_ENC_PASSENGER_REFER;
/* (manifest id, traveller id) */
extern const fg_query FG_Q_ENC_PASSENGER_CROSS;
/* (actor, key) -> encounter_id, result_sealed: a gate's idempotency key */
extern const fg_query FG_Q_ENC_KEY_GET;
/* (actor, key, encounter_id, created_at, result_sealed) */
extern const fg_query FG_Q_ENC_KEY_INSERT;

/* (added_by, created_at, expires_at) -> id (name and reason are sealed to it next) */
extern const fg_query FG_Q_WL_INSERT;
/* (entry_sealed, id) */
extern const fg_query FG_Q_WL_SEAL;
/* (entry id, placeholder blob) -> template row id (sealed blobs follow) */
extern const fg_query FG_Q_WL_TEMPLATE_INSERT;
/* (image_sealed, template_sealed, id) */
extern const fg_query FG_Q_WL_TEMPLATE_SEAL;
/* () meta 'watchlist_revision' += 1 (created at 1) */
extern const fg_query FG_Q_WL_REVISION_BUMP;
/* (id) -> removed_at (NULL while live); no row: no such entry */
extern const fg_query FG_Q_WL_GET;
/* (removed_at, id) */
extern const fg_query FG_Q_WL_REMOVE;
/* (entry id) */
extern const fg_query FG_Q_WL_TEMPLATES_DELETE;
/* () -> id, entry_sealed, added_by, created_at, expires_at, removed_at, templates */
extern const fg_query FG_Q_WL_LIST;
/* Bulk loading: whole rows at once, their ids reserved up front
 * (fg_store_reserve_ids) so that each was sealed to its id before the insert.
 * (id, added_by, created_at, expires_at, entry_sealed) */
extern const fg_query FG_Q_WL_INSERT_ID;
/* (id, entry id, image_sealed, template_sealed) */
extern const fg_query FG_Q_WL_TEMPLATE_INSERT_ID;

#endif
