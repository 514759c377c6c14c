/*
 * Manifests over HTTP (supervisor; listing and reading also officer):
 * POST /v1/manifests (import a JSON manifest and stage its gallery),
 * POST /v1/manifests/{id}/passengers (amend), POST /v1/manifests/{id}/close,
 * GET /v1/manifests, GET /v1/manifests/{id}.
 *
 * Over HTTP a manifest's photos must be inline base64: a photo given as a
 * path or a DG2 file name would make the server read its own files on a
 * client's say-so, so such a manifest is refused whole (400) before the
 * library sees it, and the library is given no base directory to resolve
 * paths against.
 */
#include <stdio.h>
#include <string.h>

#include "server/server_internal.h"

/* Members that name a file instead of carrying the bytes. */
static const char *const PATH_KEYS[] = {"path", "dg2"};

/* Find a photo given by path anywhere in the document; *where names it. */
static int find_path_photo(json_t *j, char *where, size_t cap) {
  if (json_is_array(j)) {
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) if (find_path_photo(v, where, cap)) return 1;
    return 0;
  }
  if (!json_is_object(j)) return 0;
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v) {
    for (size_t i = 0; i < sizeof PATH_KEYS / sizeof PATH_KEYS[0]; i++)
      if (strcmp(k, PATH_KEYS[i]) == 0) {
        snprintf(where, cap, "a photo given as '%s'", k);
        return 1;
      }
    if (strcmp(k, "photos") == 0 || strcmp(k, "photo") == 0) {
      if (json_is_string(v)) {
        snprintf(where, cap, "'%s' given as a string (a path)", k);
        return 1;
      }
      size_t i;
      json_t *p;
      if (json_is_array(v)) json_array_foreach(v, i, p) if (json_is_string(p)) {
          snprintf(where, cap, "'%s' with a string element (a path)", k);
          return 1;
        }
    }
    if (find_path_photo(v, where, cap)) return 1;
  }
  return 0;
}

static int import(fg__req *r, int64_t amend) {
  json_t *doc;
  int rc = fg__body_json(r, &doc);
  if (rc != FG_OK) return rc;
  char where[96];
  int bad = find_path_photo(doc, where, sizeof where);
  json_decref(doc);
  if (bad)
    return fg__fail(r, FG_EINVAL,
                    "%s: over HTTP a manifest's photos must be inline {\"base64\": ...}; paths "
                    "and DG2 file names are refused",
                    where);
  fg_manifest_import_opts o;
  memset(&o, 0, sizeof o);
  o.format = FG_MANIFEST_JSON;
  o.amend = amend;
  o.inline_photos_only = 1; /* and the library refuses them too */
  fg_doc *report = NULL;
  fg_error e;
  rc = fg_border_manifest_import_buffer(r->b, &r->actor, r->body, r->body_len, &o, &report, &e);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, amend ? 200 : 201, report);
}

int fg__route_manifest_import(fg__req *r) { return import(r, 0); }

int fg__route_manifest_amend(fg__req *r) {
  int64_t id;
  int rc = fg__param_id(r, 0, &id);
  return rc != FG_OK ? rc : import(r, id);
}

int fg__route_manifest_close(fg__req *r) {
  int64_t id;
  int rc = fg__param_id(r, 0, &id);
  if (rc != FG_OK) return rc;
  fg_error e;
  if ((rc = fg_border_manifest_close(r->b, &r->actor, id, &e)) != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply(r, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", "closed"));
}

int fg__route_manifest_list(fg__req *r) {
  fg_doc *out = NULL;
  fg_error e;
  int rc = fg_border_manifest_list(r->b, &r->actor, &out, &e);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, out);
}

int fg__route_manifest_show(fg__req *r) {
  int64_t id;
  int rc = fg__param_id(r, 0, &id);
  if (rc != FG_OK) return rc;
  fg_doc *out = NULL;
  fg_error e;
  if ((rc = fg_border_manifest_show(r->b, &r->actor, id, &out, &e)) != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, out);
}
