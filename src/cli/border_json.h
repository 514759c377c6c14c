/*
 * The border layer's results as jansson values, for the command line and the
 * tests. The public API hands documents out as opaque fg_doc
 * (facegate/doc.h); inside the project a document is a jansson value
 * (common/doc.h), and these adaptors, one per function of facegate/border.h
 * that returns one, let the CLI read members without a cast at every call.
 * Each behaves exactly as the function it names, *out a json_t (or NULL).
 */
#ifndef FG_CLI_BORDER_JSON_H
#define FG_CLI_BORDER_JSON_H

#include "common/doc.h"
#include "facegate/border.h"

static inline int fg_border_manifest_import_j(fg_border *b, const fg_actor *who, const char *path,
                                              const fg_manifest_import_opts *o, json_t **report,
                                              fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_manifest_import(b, who, path, o, report ? &d : NULL, err);
  if (report) *report = fg__json(d);
  return rc;
}
static inline int fg_border_manifest_import_buffer_j(fg_border *b, const fg_actor *who,
                                                     const char *data, size_t len,
                                                     const fg_manifest_import_opts *o,
                                                     json_t **report, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_manifest_import_buffer(b, who, data, len, o, report ? &d : NULL, err);
  if (report) *report = fg__json(d);
  return rc;
}
static inline int fg_border_manifest_list_j(fg_border *b, const fg_actor *who, json_t **out,
                                            fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_manifest_list(b, who, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_manifest_show_j(fg_border *b, const fg_actor *who, int64_t id,
                                            json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_manifest_show(b, who, id, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_watchlist_list_j(fg_border *b, const fg_actor *who, json_t **out,
                                             fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_watchlist_list(b, who, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_referral_list_j(fg_border *b, const fg_actor *who, const char *status,
                                            json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_referral_list(b, who, status, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_referral_list_at_j(fg_border *b, const fg_actor *who,
                                               const char *status, const char *site, json_t **out,
                                               fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_referral_list_at(b, who, status, site, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_referral_summary_j(fg_border *b, json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_referral_summary(b, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_referral_show_j(fg_border *b, const fg_actor *who, int64_t id,
                                            int images, json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_referral_show(b, who, id, images, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_referral_document_photos_j(fg_border *b, const fg_actor *who,
                                                       int64_t id, int64_t traveller_id,
                                                       json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_referral_document_photos(b, who, id, traveller_id, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_referral_decide_j(fg_border *b, const fg_actor *officer, int64_t id,
                                              const char *decision, int64_t traveller_id,
                                              const char *note, json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc =
      fg_border_referral_decide(b, officer, id, decision, traveller_id, note, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_crossings_j(fg_border *b, const fg_actor *who, const char *traveller,
                                        json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_crossings(b, who, traveller, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_overstays_j(fg_border *b, const fg_actor *who, int64_t as_of,
                                        json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_overstays(b, who, as_of, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_overstays_at_j(fg_border *b, const fg_actor *who, int64_t as_of,
                                           const char *site, json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_overstays_at(b, who, as_of, site, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_traveller_find_j(fg_border *b, const fg_actor *who,
                                             const fg_traveller_query *q, json_t **out,
                                             fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_traveller_find(b, who, q, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_purge_j(fg_border *b, const fg_actor *who, json_t **out,
                                    fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_purge(b, who, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_purge_last_j(fg_border *b, json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_purge_last(b, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_report_j(fg_border *b, const fg_actor *who, const char *date,
                                     const char *port, json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_report(b, who, date, port, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_audit_verify_with_j(fg_border *b, const fg_actor *who,
                                                const fg_audit_verify_options *o, json_t **out,
                                                fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_audit_verify_with(b, who, o, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_audit_verify_j(fg_border *b, const fg_actor *who, const char *anchor,
                                           json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_audit_verify(b, who, anchor, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_audit_publish_j(fg_border *b, const char *file, int to_syslog,
                                            json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_audit_publish(b, file, to_syslog, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_audit_list_j(fg_border *b, const fg_actor *who, int64_t after,
                                         int limit, json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_audit_list(b, who, after, limit, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_backup_j(fg_border *b, const fg_actor *who, const char *path,
                                     json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_backup(b, who, path, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_restore_j(const fg_border_options *o, const fg_actor *who,
                                      const char *path, json_t **out, fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_restore(o, who, path, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_border_key_rotate_j(fg_border *b, const fg_actor *who, json_t **out,
                                         fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_border_key_rotate(b, who, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}
static inline int fg_api_token_list_j(fg_border *b, const fg_actor *who, json_t **out,
                                      fg_error *err) {
  fg_doc *d = NULL;
  int rc = fg_api_token_list(b, who, out ? &d : NULL, err);
  if (out) *out = fg__json(d);
  return rc;
}

#endif
