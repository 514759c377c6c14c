/*
 * SQL of re-enrolment (declared in sql_reenrol.h). Portable SQL only.
 */
#include "store/sql_reenrol.h"

const fg_query FG_Q_REN_PHOTOS = {
    "reenrol_photos",
    "SELECT id, traveller_id, template_sealed, manifest_id FROM photos"
    " WHERE template_sealed IS NOT NULL ORDER BY id", 4};

const fg_query FG_Q_REN_PHOTO_IMAGE = {
    "reenrol_photo_image", "SELECT image_sealed, template_sealed FROM photos WHERE id = ?", 2};

const fg_query FG_Q_REN_PHOTO_SET = {
    "reenrol_photo_set", "UPDATE photos SET template_sealed = ? WHERE id = ?", 0};

const fg_query FG_Q_REN_PHOTO_COUNT = {
    "reenrol_photo_count",
    "SELECT COUNT(*) FROM photos WHERE manifest_id = ? AND traveller_id = ?"
    " AND template_sealed IS NOT NULL", 1};

const fg_query FG_Q_REN_PASSENGER_GET = {
    "reenrol_passenger_get",
    "SELECT problems, enrolled FROM passengers WHERE manifest_id = ? AND traveller_id = ?", 2};

const fg_query FG_Q_REN_PASSENGER_SET = {
    "reenrol_passenger_set",
    "UPDATE passengers SET problems = ?, enrolled = ? WHERE manifest_id = ? AND traveller_id = ?", 0};

const fg_query FG_Q_REN_WATCHLIST = {
    "reenrol_watchlist",
    "SELECT t.id, t.entry_id, t.template_sealed FROM watchlist_templates t"
    " JOIN watchlist w ON w.id = t.entry_id WHERE w.removed_at IS NULL ORDER BY t.id", 3};

const fg_query FG_Q_REN_WATCHLIST_IMAGE = {
    "reenrol_watchlist_image",
    "SELECT image_sealed, template_sealed FROM watchlist_templates WHERE id = ?", 2};

const fg_query FG_Q_REN_WATCHLIST_SET = {
    "reenrol_watchlist_set", "UPDATE watchlist_templates SET template_sealed = ? WHERE id = ?", 0};
