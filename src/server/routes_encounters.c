/*
 * The gate and the 1:1 check: POST /v1/encounters (gate) and POST /v1/verify
 * (officer). Both take either multipart/form-data (image files as parts) or
 * JSON with the images in base64; images are limited to max_image bytes
 * each once decoded (413 above). The encounter's response is the gate's view
 * (fg_encounter_result_gate_json: the action and a retake's reasons, nothing
 * about the traveller), status 201 for every outcome; errors are for requests
 * that could not be processed (docs/api.md). A gate sends an Idempotency-Key
 * header (or an idempotency_key field) so that a retry after a time-out or a
 * 503 returns the first outcome ("replayed": true), in the same view.
 *
 * An opt-out is answered {"gate_action": "see_officer"} whatever became of
 * it: accepted (an OPT_OUT encounter and a referral), or refused because of
 * the traveller (the document not on the flight, its holder's category not
 * allowed to opt out): that refusal is written to the audit chain
 * ("encounter.opt_out_refused", with the reason and no document number) and
 * the traveller goes to the officer either way, who has the full picture.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/server_internal.h"

static int truthy(const char *s) {
  return s && (!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"));
}

/* The form's text field (NULL when absent). */
static const char *field(const fg__form *f, const char *name) {
  const fg__part *p = fg__form_get(f, name);
  return p && p->data ? p->data : NULL;
}

/* Whether s is text a JSON string may hold (well-formed UTF-8, and no
 * control characters, which the encounter refuses too): a form's fields go
 * into the result and the audit log as JSON. */
static int utf8_ok(const char *s) { return fg__utf8_text((const unsigned char *)s, strlen(s)); }

static int parse_id(const char *s, int64_t *out) { return fg__parse_id(s, out) == FG_OK; }

int fg__route_encounter(fg__req *r) {
  fg_server *s = r->srv;
  fg_encounter_request rq;
  memset(&rq, 0, sizeof rq);
  fg__form form = {0};
  json_t *body = NULL;
  uint8_t *decoded = NULL;
  int rc;
  if (fg__is_multipart(r)) {
    if ((rc = fg__form_parse(r, &form, s->opt.max_image)) != FG_OK) return rc;
    if (!parse_id(field(&form, "manifest_id"), &rq.manifest_id)) {
      rc = fg__fail(r, FG_EINVAL, "manifest_id must be a positive integer");
      goto out;
    }
    rq.gate = field(&form, "gate");
    rq.opt_out = truthy(field(&form, "opt_out"));
    rq.document = field(&form, "document");
    if ((rq.gate && !utf8_ok(rq.gate)) || (rq.document && !utf8_ok(rq.document))) {
      rc = fg__fail(r, FG_EINVAL, "gate and document must be UTF-8 text");
      goto out;
    }
    const fg__part *img = fg__form_get(&form, "image");
    if (img && img->len) {
      rq.image = (const uint8_t *)img->data;
      rq.image_len = img->len;
    }
  } else {
    if ((rc = fg__body_json(r, &body)) != FG_OK) return rc;
    json_t *mid = json_object_get(body, "manifest_id");
    if (json_is_integer(mid) && json_integer_value(mid) > 0) rq.manifest_id = json_integer_value(mid);
    else if (!parse_id(json_string_value(mid), &rq.manifest_id)) {
      rc = fg__fail(r, FG_EINVAL, "manifest_id must be a positive integer");
      goto out;
    }
    rq.gate = json_string_value(json_object_get(body, "gate"));
    rq.opt_out = json_is_true(json_object_get(body, "opt_out"));
    rq.document = json_string_value(json_object_get(body, "document"));
    const char *b64 = json_string_value(json_object_get(body, "image_base64"));
    if (b64 && !rq.opt_out) {
      fg_error e;
      if ((rc = fg__base64_decode(b64, s->opt.max_image, &decoded, &rq.image_len, &e)) != FG_OK) {
        rc = fg__fail(r, rc, "image_base64: %s", e.msg);
        goto out;
      }
      rq.image = decoded;
    }
  }
  /* The gate's idempotency key: the Idempotency-Key header, or the field. */
  rq.key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Idempotency-Key");
  if (!rq.key) rq.key = body ? json_string_value(json_object_get(body, "idempotency_key"))
                             : field(&form, "idempotency_key");
  if (!rq.gate || !*rq.gate || strlen(rq.gate) > 64) {
    rc = fg__fail(r, FG_EINVAL, "gate is required (at most 64 characters)");
    goto out;
  }
  if (rq.opt_out) { /* the traveller asked for a manual check: the image is not touched */
    rq.image = NULL;
    rq.image_len = 0;
  } else if (!rq.image) {
    rc = fg__fail(r, FG_EINVAL, "an image is required unless opt_out is set");
    goto out;
  }
  fg_encounter_result res;
  fg_error e;
  rc = fg_border_encounter(r->b, &r->actor, &rq, &res, &e);
  const char *refusal = rc != FG_OK && rq.opt_out ? fg_border_opt_out_refusal(r->b) : NULL;
  if (refusal) { /* told like an accepted opt-out: see the officer */
    json_t *d = json_pack("{s:I, s:s, s:s}", "manifest_id", (json_int_t)rq.manifest_id, "gate",
                          rq.gate, "reason", refusal);
    char object[40];
    snprintf(object, sizeof object, "manifest:%lld", (long long)rq.manifest_id);
    fg_error ae;
    rc = d ? fg_border_audit_event(r->b, &r->actor, "encounter.opt_out_refused", object,
                                   "border control", fg__doc(d), &ae)
           : FG_ENOMEM;
    json_decref(d);
    if (rc != FG_OK) {
      rc = fg__fail(r, rc, "the opt-out could not be recorded: retry");
      goto out;
    }
    rc = fg__reply_doc(r, 201, fg_encounter_result_gate_json(&res, 1));
    goto out;
  }
  if (rc != FG_OK) {
    rc = fg__lib_fail(r, rc, &e);
    goto out;
  }
  fg__metrics_outcome(&s->metrics, (int)res.outcome);
  fg_doc *j = fg_encounter_result_gate_json(&res, rq.opt_out);
  rc = j ? fg__reply_doc(r, 201, j) : fg__fail(r, FG_ENOMEM, "out of memory");
out:
  fg__form_release(&form);
  json_decref(body);
  free(decoded);
  return rc;
}

int fg__route_verify(fg__req *r) {
  fg_server *s = r->srv;
  fg__form form = {0};
  json_t *body = NULL;
  uint8_t *dec[2] = {NULL, NULL};
  const uint8_t *img[2] = {NULL, NULL};
  size_t len[2] = {0, 0};
  double fmr = 0;
  const char *fmr_text = NULL;
  static const char *const FIELDS[2][2] = {{"live", "live_base64"}, {"document", "document_base64"}};
  int rc = FG_OK;
  if (fg__is_multipart(r)) {
    if ((rc = fg__form_parse(r, &form, s->opt.max_image)) != FG_OK) return rc;
    for (int i = 0; i < 2; i++) {
      const fg__part *p = fg__form_get(&form, FIELDS[i][0]);
      if (p && p->len) {
        img[i] = (const uint8_t *)p->data;
        len[i] = p->len;
      }
    }
    fmr_text = field(&form, "fmr");
  } else {
    if ((rc = fg__body_json(r, &body)) != FG_OK) return rc;
    for (int i = 0; i < 2; i++) {
      const char *b64 = json_string_value(json_object_get(body, FIELDS[i][1]));
      if (!b64) continue;
      fg_error e;
      if ((rc = fg__base64_decode(b64, s->opt.max_image, &dec[i], &len[i], &e)) != FG_OK) {
        rc = fg__fail(r, rc, "%s: %s", FIELDS[i][1], e.msg);
        goto out;
      }
      img[i] = dec[i];
    }
    json_t *f = json_object_get(body, "fmr");
    if (json_is_number(f)) fmr = json_number_value(f);
    else fmr_text = json_string_value(f);
  }
  if (fmr_text) {
    char *e;
    fmr = strtod(fmr_text, &e);
    if (!*fmr_text || *e) {
      rc = fg__fail(r, FG_EINVAL, "fmr must be a number");
      goto out;
    }
  }
  if (!(fmr >= 0 && fmr < 1)) {
    rc = fg__fail(r, FG_EINVAL, "fmr must be in [0, 1)");
    goto out;
  }
  if (!img[0] || !img[1]) {
    rc = fg__fail(r, FG_EINVAL, "both a live capture and a document photo are required");
    goto out;
  }
  fg_verify_result res;
  fg_error e;
  rc = fg_border_verify(r->b, &r->actor, img[0], len[0], img[1], len[1], fmr, &res, &e);
  if (rc != FG_OK) {
    rc = fg__lib_fail(r, rc, &e);
    goto out;
  }
  fg_doc *j = fg_verify_result_json(&res);
  rc = j ? fg__reply_doc(r, 200, j) : fg__fail(r, FG_ENOMEM, "out of memory");
out:
  fg__form_release(&form);
  json_decref(body);
  free(dec[0]);
  free(dec[1]);
  return rc;
}
