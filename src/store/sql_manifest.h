/*
 * The queries of manifest import, amend, close, list and show
 * (src/border/manifest.c) and of the staged galleries
 * (src/border/gallery_cache.c). The SQL text is in sql_manifest.c, next to
 * the schema it reads; each query's comment lists its parameters and the
 * columns of its rows, in order.
 */
#ifndef FG_SQL_MANIFEST_H
#define FG_SQL_MANIFEST_H

#include "facegate/store.h"

/* (id) -> carrier, flight, port, scheduled_at, direction, status, revision,
 * created_at, closed_at */
extern const fg_query FG_Q_MAN_GET;
/* (carrier, flight, scheduled_at) -> id */
extern const fg_query FG_Q_MAN_FIND;
/* (carrier, flight, port, scheduled_at, direction, created_at) -> id */
extern const fg_query FG_Q_MAN_INSERT;
/* (id) -> revision after the bump */
extern const fg_query FG_Q_MAN_BUMP;
/* (closed_at, id): only an open manifest closes */
extern const fg_query FG_Q_MAN_CLOSE;
/* () -> id, carrier, flight, port, scheduled_at, direction, status, revision,
 * created_at, closed_at, passengers, enrolled, expected, crossed, manual,
 * referred; newest first */
extern const fg_query FG_Q_MAN_LIST;
/* (manifest id) -> traveller id, person_sealed, category, document id, doc_type,
 * document_sealed, status, enrolled, problems, admitted_until, added_at; in
 * traveller id order (the caller sorts by name once unsealed) */
extern const fg_query FG_Q_MAN_PASSENGERS;

/* (document_index) -> document id, traveller id, document_sealed */
extern const fg_query FG_Q_MAN_DOC_FIND;
/* (traveller id, doc_type, placeholder doc_number, number_index, document_index) -> id */
extern const fg_query FG_Q_MAN_DOC_INSERT;
/* (doc_type, document_sealed, id) */
extern const fg_query FG_Q_MAN_DOC_UPDATE;
/* (category, created_at) -> id (the person is sealed to it next) */
extern const fg_query FG_Q_MAN_TRAVELLER_INSERT;
/* (person_sealed, surname_index, category, id) */
extern const fg_query FG_Q_MAN_TRAVELLER_UPDATE;
/* (id) -> person_sealed */
extern const fg_query FG_Q_MAN_TRAVELLER_PERSON;
/* (manifest id, traveller id) -> 1 when the traveller is on the manifest */
extern const fg_query FG_Q_MAN_PASSENGER_EXISTS;
/* (manifest id, traveller id, document id, enrolled, problems, admitted_until, added_at) */
extern const fg_query FG_Q_MAN_PASSENGER_INSERT;
/* (manifest id, traveller id, source, quality, created_at) -> id */
extern const fg_query FG_Q_MAN_PHOTO_INSERT;
/* (image_sealed, template_sealed, id) */
extern const fg_query FG_Q_MAN_PHOTO_SEAL;

/* (manifest id) -> revision */
extern const fg_query FG_Q_GAL_FLIGHT_REVISION;
/* (manifest id) -> photo id, traveller id, template_sealed; in id order */
extern const fg_query FG_Q_GAL_FLIGHT_TEMPLATES;
/* () -> the watchlist's change counter (meta 'watchlist_revision') */
extern const fg_query FG_Q_GAL_WATCHLIST_REVISION;
/* (now) -> template id, entry id, template_sealed, expires_at of the entries
 * neither removed nor expired at `now`; in id order */
extern const fg_query FG_Q_GAL_WATCHLIST_TEMPLATES;

#endif
