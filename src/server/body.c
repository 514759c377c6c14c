/*
 * Request bodies: JSON objects, base64 images inside JSON, and
 * multipart/form-data forms (libmicrohttpd's post processor, run over the
 * body once it is complete, so that the route's size limit has already been
 * applied). Every parse error is FG_EFORMAT naming what was wrong, a part or
 * image over its limit FG_ELIMIT.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "server/server_internal.h"

int fg__body_json(fg__req *r, json_t **out) {
  const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (ct && strncasecmp(ct, "application/json", 16) != 0) {
    r->status = 415;
    return fg__fail(r, FG_EFORMAT, "expected Content-Type application/json (got %s)", ct);
  }
  if (!r->body_len) return fg__fail(r, FG_EFORMAT, "expected a JSON object as the body");
  json_error_t je;
  json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
  if (!j) return fg__fail(r, FG_EFORMAT, "malformed JSON at line %d, column %d: %s", je.line, je.column, je.text);
  if (!json_is_object(j)) {
    json_decref(j);
    return fg__fail(r, FG_EFORMAT, "expected a JSON object as the body");
  }
  *out = j;
  return FG_OK;
}

int fg__base64_decode(const char *s, size_t max, uint8_t **out, size_t *len, fg_error *err) {
  if (!s) return fg__seterr(err, FG_EINVAL, "missing base64 data");
  if (strncmp(s, "data:", 5) == 0) {
    const char *comma = strstr(s, ";base64,");
    if (!comma) return fg__seterr(err, FG_EFORMAT, "a data: URL must be base64");
    s = comma + 8;
  }
  size_t n = strlen(s);
  if (n / 4 * 3 > max + 3)
    return fg__seterr(err, FG_ELIMIT, "an image is over the limit of %zu bytes", max);
  int urlsafe = strpbrk(s, "-_") != NULL, padded = strchr(s, '=') != NULL;
  int variant = urlsafe ? (padded ? sodium_base64_VARIANT_URLSAFE : sodium_base64_VARIANT_URLSAFE_NO_PADDING)
                        : (padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  uint8_t *buf = malloc(n / 4 * 3 + 3);
  if (!buf) return fg__seterr(err, FG_ENOMEM, "out of memory");
  size_t got = 0;
  const char *end = NULL;
  if (sodium_base642bin(buf, n / 4 * 3 + 3, s, n, " \t\r\n", &got, &end, variant) != 0 ||
      (end && *end)) {
    free(buf);
    return fg__seterr(err, FG_EFORMAT, "malformed base64");
  }
  if (got > max) {
    free(buf);
    return fg__seterr(err, FG_ELIMIT, "an image of %zu bytes is over the limit of %zu bytes", got, max);
  }
  if (got == 0) {
    free(buf);
    return fg__seterr(err, FG_EFORMAT, "empty base64 data");
  }
  *out = buf;
  *len = got;
  return FG_OK;
}

int fg__is_multipart(fg__req *r) {
  const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  return ct && strncasecmp(ct, "multipart/form-data", 19) == 0;
}

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size) {
  (void)kind, (void)filename, (void)content_type, (void)transfer_encoding, (void)off;
  fg__form *f = cls;
  fg__part *p = NULL;
  if (!key) return MHD_YES; /* a part whose Content-Disposition has no name: ignored */
  for (int i = 0; i < f->n; i++)
    if (strcmp(f->part[i].name, key) == 0) p = &f->part[i];
  if (!p) {
    if (f->n == (int)(sizeof f->part / sizeof f->part[0]) || strlen(key) >= sizeof p->name)
      return MHD_YES; /* fields we do not know are ignored */
    p = &f->part[f->n++];
    memset(p, 0, sizeof *p);
    strcpy(p->name, key);
  }
  if (p->too_large || p->len + size > f->max_part) {
    p->too_large = 1;
    return MHD_YES;
  }
  if (p->len + size + 1 > p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 4096;
    while (cap < p->len + size + 1) cap *= 2;
    char *nb = realloc(p->data, cap);
    if (!nb) {
      f->nomem = 1;
      return MHD_NO;
    }
    p->data = nb;
    p->cap = cap;
  }
  memcpy(p->data + p->len, data, size);
  p->len += size;
  p->data[p->len] = '\0';
  return MHD_YES;
}

int fg__form_parse(fg__req *r, fg__form *f, size_t max_part) {
  memset(f, 0, sizeof *f);
  f->max_part = max_part;
  struct MHD_PostProcessor *pp = MHD_create_post_processor(r->conn, 64 * 1024, on_part, f);
  if (!pp) return fg__fail(r, FG_EFORMAT, "malformed multipart/form-data (no boundary?)");
  enum MHD_Result ok = r->body_len ? MHD_post_process(pp, r->body, r->body_len) : MHD_YES;
  enum MHD_Result done = MHD_destroy_post_processor(pp);
  if (ok != MHD_YES || done != MHD_YES) {
    fg__form_release(f);
    if (f->nomem) return fg__fail(r, FG_ENOMEM, "out of memory reading the multipart/form-data body");
    return fg__fail(r, FG_EFORMAT, "malformed multipart/form-data body");
  }
  for (int i = 0; i < f->n; i++)
    if (f->part[i].too_large) {
      int rc = fg__fail(r, FG_ELIMIT, "field '%s' is over the limit of %zu bytes", f->part[i].name, max_part);
      fg__form_release(f);
      return rc;
    }
  return FG_OK;
}

const fg__part *fg__form_get(const fg__form *f, const char *name) {
  for (int i = 0; i < f->n; i++)
    if (strcmp(f->part[i].name, name) == 0) return &f->part[i];
  return NULL;
}

void fg__form_release(fg__form *f) {
  for (int i = 0; i < f->n; i++) free(f->part[i].data);
  f->n = 0;
}
