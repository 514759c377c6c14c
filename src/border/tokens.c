/*
 * API tokens (fg_api_token_*): the `tokens` table of the store holds each
 * token's name, role and keyed hash (fg_token_hash: BLAKE2b under the audit
 * key), never the token itself, which is shown once at creation. Creation and
 * revocation are audited in the same transaction as the change. Checking a
 * token is one indexed lookup by hash, so a revocation takes effect on the
 * next request.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "store/sql_admin.h"

const char *fg_role_name(unsigned role) {
  switch (role) {
  case FG_ROLE_GATE: return "gate";
  case FG_ROLE_OFFICER: return "officer";
  case FG_ROLE_SUPERVISOR: return "supervisor";
  case FG_ROLE_AUDITOR: return "auditor";
  case FG_ROLE_ADMIN: return "admin";
  default: return NULL;
  }
}

int fg_role_parse(const char *name, unsigned *role) {
  for (unsigned bit = 1; bit <= FG_ROLE_ADMIN; bit <<= 1)
    if (name && strcmp(name, fg_role_name(bit)) == 0) {
      *role = bit;
      return FG_OK;
    }
  return FG_EINVAL;
}

static int valid_name(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > FG_API_TOKEN_NAME_MAX) return 0;
  for (; *s; s++) {
    char c = *s;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '@' || c == '-'))
      return 0;
  }
  return 1;
}

int fg_api_token_create(fg_border *b, const fg_actor *who, const char *name, const char *role,
                        char token[FG_API_TOKEN_LEN], int64_t *id, fg_error *err) {
  unsigned bit;
  if (!valid_name(name))
    return fg__seterr(err, FG_EINVAL, "token name must be 1-%d of A-Z a-z 0-9 . _ @ -",
                      FG_API_TOKEN_NAME_MAX);
  if (fg_role_parse(role, &bit) != FG_OK)
    return fg__seterr(err, FG_EINVAL,
                      "role must be gate, officer, supervisor, auditor or admin (got '%s')",
                      role ? role : "");
  char tok[FG_API_TOKEN_LEN];
  uint8_t hash[32];
  fg_token_generate(tok);
  fg_token_hash(b->keys, tok, hash);
  int64_t new_id = 0;
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  fg_val p[5] = {FG_V_TEXT(name), FG_V_TEXT(role), FG_V_BLOB(hash, sizeof hash),
                 FG_V_INT(fg_border_now(b)), FG_V_TEXT(who && who->name ? who->name : "unknown")};
  rc = fg_store_exec_int(b->store, &FG_Q_ADM_TOKEN_INSERT, p, 5, &new_id, NULL, err);
  if (rc == FG_ECONFLICT) fg__seterr(err, rc, "a token named '%s' exists already", name);
  if (rc == FG_OK)
    rc = fg__border_audit_about(b, who, "token.create", "token", new_id, "access control",
                                json_pack("{s:s, s:s}", "name", name, "role", role), err);
  if (rc == FG_OK) rc = fg_store_commit(b->store, err);
  else fg_store_rollback(b->store);
  if (rc == FG_OK) {
    memcpy(token, tok, FG_API_TOKEN_LEN);
    if (id) *id = new_id;
  }
  sodium_memzero(tok, sizeof tok);
  return rc;
}

static int list_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n;
  json_t *arr = ctx;
  json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:s, s:o}", "id", (json_int_t)c[0].i, "name",
                        c[1].s, "role", c[2].s, "created_at", fg__json_time(c[3].i), "created_by",
                        c[4].s, "revoked_at",
                        c[5].type == FG_VAL_INT ? fg__json_time(c[5].i) : json_null());
  if (!o || json_array_append_new(arr, o)) return fg__seterr(err, FG_ENOMEM, "out of memory");
  return 0;
}

int fg_api_token_list(fg_border *b, const fg_actor *who, fg_doc **out, fg_error *err) {
  (void)who;
  json_t *arr = json_array();
  if (!arr) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = fg_store_exec(b->store, &FG_Q_ADM_TOKEN_LIST, NULL, 0, list_row, arr, err);
  if (rc != FG_OK) {
    json_decref(arr);
    return rc;
  }
  *out = fg__doc(arr);
  return FG_OK;
}

typedef struct found_token {
  int found;
  int64_t id;
  char name[FG_API_TOKEN_NAME_MAX + 1];
  int revoked;
  unsigned role;
} found_token;

/* One row of TOKEN_BY_ID / _BY_NAME / _BY_HASH: id, name, role, revoked_at. */
static int token_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n;
  (void)err;
  found_token *f = ctx;
  f->found = 1;
  f->id = c[0].i;
  snprintf(f->name, sizeof f->name, "%s", c[1].type == FG_VAL_TEXT ? c[1].s : "");
  if (c[2].type != FG_VAL_TEXT || fg_role_parse(c[2].s, &f->role) != FG_OK) f->role = 0;
  f->revoked = c[3].type != FG_VAL_NULL;
  return 1;
}

int fg_api_token_revoke(fg_border *b, const fg_actor *who, int64_t id, const char *name,
                        fg_error *err) {
  found_token f = {0};
  fg_val key = id > 0 ? FG_V_INT(id) : FG_V_TEXT(name ? name : "");
  int rc = fg_store_begin(b->store, err);
  if (rc != FG_OK) return rc;
  rc = fg_store_exec(b->store, id > 0 ? &FG_Q_ADM_TOKEN_BY_ID : &FG_Q_ADM_TOKEN_BY_NAME, &key, 1, token_row, &f,
                     err);
  if (rc == FG_OK && !f.found) {
    if (id > 0) rc = fg__seterr(err, FG_ENOTFOUND, "no token %lld", (long long)id);
    else rc = fg__seterr(err, FG_ENOTFOUND, "no token named '%s'", name ? name : "");
  }
  if (rc == FG_OK && f.revoked) rc = fg__seterr(err, FG_ECONFLICT, "token '%s' is already revoked", f.name);
  if (rc == FG_OK) {
    fg_val p[2] = {FG_V_INT(fg_border_now(b)), FG_V_INT(f.id)};
    rc = fg_store_exec(b->store, &FG_Q_ADM_TOKEN_REVOKE, p, 2, NULL, NULL, err);
  }
  if (rc == FG_OK)
    rc = fg__border_audit_about(b, who, "token.revoke", "token", f.id, "access control",
                                json_pack("{s:s}", "name", f.name), err);
  if (rc == FG_OK) rc = fg_store_commit(b->store, err);
  else fg_store_rollback(b->store);
  return rc;
}

/* "fgt_" and 43 characters of the base64url alphabet. */
static int well_formed(const char *t) {
  size_t plen = strlen(FG_TOKEN_PREFIX);
  if (!t || strncmp(t, FG_TOKEN_PREFIX, plen) != 0 || strlen(t) != plen + FG_TOKEN_CHARS) return 0;
  for (const char *p = t + plen; *p; p++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      return 0;
  }
  return 1;
}

int fg_api_token_check(fg_border *b, const char *token, fg_api_token_info *info, fg_error *err) {
  if (!well_formed(token)) return fg__seterr(err, FG_EAUTH, "malformed token");
  uint8_t hash[32];
  fg_token_hash(b->keys, token, hash);
  found_token f = {0};
  fg_val key = FG_V_BLOB(hash, sizeof hash);
  int rc = fg_store_exec(b->store, &FG_Q_ADM_TOKEN_BY_HASH, &key, 1, token_row, &f, err);
  if (rc != FG_OK) return rc;
  if (!f.found) return fg__seterr(err, FG_EAUTH, "unknown token");
  /* Never the token's name: whoever holds a revoked token learns nothing
   * about whose it was. */
  if (f.revoked) return fg__seterr(err, FG_EAUTH, "revoked token");
  if (!f.role) return fg__seterr(err, FG_EAUTH, "token '%s' has no valid role", f.name);
  info->id = f.id;
  snprintf(info->name, sizeof info->name, "%s", f.name);
  info->role = f.role;
  return FG_OK;
}
