/*
 * The watchlist (supervisor): GET /v1/watchlist, POST /v1/watchlist
 * ({name, reason, expires, photos: [base64...]}), DELETE /v1/watchlist/{id}.
 * A watchlist hit at a gate is only ever a referral for an officer.
 */
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

#define MAX_WATCHLIST_PHOTOS 16

int fg__route_watchlist_list(fg__req *r) {
  fg_doc *out = NULL;
  fg_error e;
  int rc = fg_border_watchlist_list(r->b, &r->actor, &out, &e);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, out);
}

int fg__route_watchlist_add(fg__req *r) {
  json_t *body;
  int rc = fg__body_json(r, &body);
  if (rc != FG_OK) return rc;
  uint8_t *img[MAX_WATCHLIST_PHOTOS] = {0};
  size_t len[MAX_WATCHLIST_PHOTOS] = {0};
  int n = 0;
  const char *name = json_string_value(json_object_get(body, "name"));
  const char *reason = json_string_value(json_object_get(body, "reason"));
  json_t *exp = json_object_get(body, "expires");
  json_t *photos = json_object_get(body, "photos");
  int64_t expires = 0;
  if (!name || !*name || !reason || !*reason) {
    rc = fg__fail(r, FG_EINVAL, "name and reason are required");
    goto out;
  }
  if (exp && !json_is_null(exp) &&
      (!json_is_string(exp) || fg_time_parse(json_string_value(exp), &expires) != FG_OK)) {
    rc = fg__fail(r, FG_EINVAL, "expires must be a date YYYY-MM-DD (or YYYY-MM-DDTHH:MM:SSZ) or null");
    goto out;
  }
  if (!json_is_array(photos) || json_array_size(photos) == 0 ||
      json_array_size(photos) > MAX_WATCHLIST_PHOTOS) {
    rc = fg__fail(r, FG_EINVAL, "photos must be an array of 1 to %d base64 images", MAX_WATCHLIST_PHOTOS);
    goto out;
  }
  for (size_t i = 0; i < json_array_size(photos); i++) {
    json_t *p = json_array_get(photos, i);
    const char *b64 = json_is_string(p) ? json_string_value(p) : json_string_value(json_object_get(p, "base64"));
    fg_error e;
    if (!b64) {
      rc = fg__fail(r, FG_EINVAL, "photos[%zu] must be base64 text", i);
      goto out;
    }
    if ((rc = fg__base64_decode(b64, r->srv->opt.max_image, &img[n], &len[n], &e)) != FG_OK) {
      rc = fg__fail(r, rc, "photos[%zu]: %s", i, e.msg);
      goto out;
    }
    n++;
  }
  int64_t id = 0;
  fg_error e;
  rc = fg_border_watchlist_add(r->b, &r->actor, name, reason, expires, (const uint8_t *const *)img,
                               len, n, &id, &e);
  if (rc != FG_OK) {
    rc = fg__lib_fail(r, rc, &e);
    goto out;
  }
  rc = fg__reply(r, 201, json_pack("{s:I}", "id", (json_int_t)id));
out:
  for (int i = 0; i < n; i++) free(img[i]);
  json_decref(body);
  return rc;
}

int fg__route_watchlist_remove(fg__req *r) {
  int64_t id;
  int rc = fg__param_id(r, 0, &id);
  if (rc != FG_OK) return rc;
  fg_error e;
  if ((rc = fg_border_watchlist_remove(r->b, &r->actor, id, &e)) != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply(r, 204, NULL);
}
