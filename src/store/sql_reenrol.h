/*
 * The queries of re-enrolment (src/border/reenrol.c): templates of another
 * recognition model re-embedded from the sealed photo they came from. The
 * SQL text is in sql_reenrol.c; each comment lists the parameters and the
 * columns of the rows, in order.
 */
#ifndef FG_STORE_SQL_REENROL_H
#define FG_STORE_SQL_REENROL_H

#include "facegate/store.h"

/* () -> photo id, traveller id, template_sealed, manifest id; every staged
 * document photo with a template, in id order */
extern const fg_query FG_Q_REN_PHOTOS;
/* (photo id) -> image_sealed (NULL: the photo is gone), template_sealed */
extern const fg_query FG_Q_REN_PHOTO_IMAGE;
/* (template_sealed, photo id) */
extern const fg_query FG_Q_REN_PHOTO_SET;
/* (manifest id, traveller id) -> templates staged for the passenger */
extern const fg_query FG_Q_REN_PHOTO_COUNT;
/* (manifest id, traveller id) -> problems, enrolled */
extern const fg_query FG_Q_REN_PASSENGER_GET;
/* (problems, enrolled, manifest id, traveller id) */
extern const fg_query FG_Q_REN_PASSENGER_SET;
/* () -> template id, entry id, template_sealed; the templates of every entry
 * not removed, in id order */
extern const fg_query FG_Q_REN_WATCHLIST;
/* (template id) -> image_sealed (NULL: no photo was kept), template_sealed */
extern const fg_query FG_Q_REN_WATCHLIST_IMAGE;
/* (template_sealed, template id) */
extern const fg_query FG_Q_REN_WATCHLIST_SET;

#endif
