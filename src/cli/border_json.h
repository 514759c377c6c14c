/*
 * The border layer's results as jansson values, for the command line, the
 * tests and the benchmarks. The public API hands documents out as opaque
 * fg_doc (facegate/doc.h); inside the project a document is a jansson value
 * (common/doc.h). NAME_j is NAME of facegate/border.h with *out a json_t (the
 * same value, no copy), so the CLI reads members without a cast at every call.
 */
#ifndef FG_CLI_BORDER_JSON_H
#define FG_CLI_BORDER_JSON_H

#include "common/doc.h"
#include "facegate/border.h"

#define FG__JSON_ADAPTOR(name, out, params, args)    \
  static inline int name##_j params {                \
    fg_doc *d = NULL;                                \
    int rc = name args;                              \
    if (out) *out = fg__json(d);                     \
    return rc;                                       \
  }

FG__JSON_ADAPTOR(fg_border_manifest_import, report,
                 (fg_border *b, const fg_actor *who, const char *path,
                  const fg_manifest_import_opts *o, json_t **report, fg_error *err),
                 (b, who, path, o, report ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_manifest_import_buffer, report,
                 (fg_border *b, const fg_actor *who, const char *data, size_t len,
                  const fg_manifest_import_opts *o, json_t **report, fg_error *err),
                 (b, who, data, len, o, report ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_manifest_list, out,
                 (fg_border *b, const fg_actor *who, json_t **out, fg_error *err),
                 (b, who, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_manifest_show, out,
                 (fg_border *b, const fg_actor *who, int64_t id, json_t **out, fg_error *err),
                 (b, who, id, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_watchlist_list, out,
                 (fg_border *b, const fg_actor *who, json_t **out, fg_error *err),
                 (b, who, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_referral_list, out,
                 (fg_border *b, const fg_actor *who, const char *status, json_t **out,
                  fg_error *err),
                 (b, who, status, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_referral_list_at, out,
                 (fg_border *b, const fg_actor *who, const char *status, const char *site,
                  json_t **out, fg_error *err),
                 (b, who, status, site, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_referral_summary, out,
                 (fg_border *b, json_t **out, fg_error *err),
                 (b, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_referral_show, out,
                 (fg_border *b, const fg_actor *who, int64_t id, int images, json_t **out,
                  fg_error *err),
                 (b, who, id, images, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_referral_document_photos, out,
                 (fg_border *b, const fg_actor *who, int64_t id, int64_t traveller_id,
                  json_t **out, fg_error *err),
                 (b, who, id, traveller_id, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_referral_decide, out,
                 (fg_border *b, const fg_actor *officer, int64_t id, const char *decision,
                  int64_t traveller_id, const char *note, json_t **out, fg_error *err),
                 (b, officer, id, decision, traveller_id, note, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_crossings, out,
                 (fg_border *b, const fg_actor *who, const char *traveller, json_t **out,
                  fg_error *err),
                 (b, who, traveller, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_overstays, out,
                 (fg_border *b, const fg_actor *who, int64_t as_of, json_t **out, fg_error *err),
                 (b, who, as_of, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_overstays_at, out,
                 (fg_border *b, const fg_actor *who, int64_t as_of, const char *site,
                  json_t **out, fg_error *err),
                 (b, who, as_of, site, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_traveller_find, out,
                 (fg_border *b, const fg_actor *who, const fg_traveller_query *q, json_t **out,
                  fg_error *err),
                 (b, who, q, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_purge, out,
                 (fg_border *b, const fg_actor *who, json_t **out, fg_error *err),
                 (b, who, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_purge_last, out,
                 (fg_border *b, json_t **out, fg_error *err),
                 (b, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_report, out,
                 (fg_border *b, const fg_actor *who, const char *date, const char *port,
                  json_t **out, fg_error *err),
                 (b, who, date, port, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_audit_verify_with, out,
                 (fg_border *b, const fg_actor *who, const fg_audit_verify_options *o,
                  json_t **out, fg_error *err),
                 (b, who, o, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_audit_verify, out,
                 (fg_border *b, const fg_actor *who, const char *anchor, json_t **out,
                  fg_error *err),
                 (b, who, anchor, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_audit_publish, out,
                 (fg_border *b, const char *file, int to_syslog, json_t **out, fg_error *err),
                 (b, file, to_syslog, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_audit_list, out,
                 (fg_border *b, const fg_actor *who, int64_t after, int limit, json_t **out,
                  fg_error *err),
                 (b, who, after, limit, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_backup, out,
                 (fg_border *b, const fg_actor *who, const char *path, json_t **out, fg_error *err),
                 (b, who, path, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_restore, out,
                 (const fg_border_options *o, const fg_actor *who, const char *path,
                  json_t **out, fg_error *err),
                 (o, who, path, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_border_key_rotate, out,
                 (fg_border *b, const fg_actor *who, json_t **out, fg_error *err),
                 (b, who, out ? &d : NULL, err))
FG__JSON_ADAPTOR(fg_api_token_list, out,
                 (fg_border *b, const fg_actor *who, json_t **out, fg_error *err),
                 (b, who, out ? &d : NULL, err))

#undef FG__JSON_ADAPTOR

#endif
