/*
 * Idempotent gates: a gate names each capture with a key of its own choosing
 * (the HTTP Idempotency-Key header, `facegate encounter --key`), and a retry
 * with the same key — after a time-out, a dropped connection, a database
 * failover — gets the first outcome back instead of a second encounter or a
 * second crossing.
 *
 * The first outcome is stored with the encounter, in the same transaction
 * (table encounter_keys, keyed by the gate's name and the key): the result as
 * the gate received it, in JSON, sealed and bound to the encounter's id,
 * since it names the traveller. A key row goes when its encounter goes
 * (ON DELETE CASCADE), so keys expire with the encounter's retention. The
 * stored result also holds a fingerprint of the request (SHA-256 over the
 * manifest, gate, document, opt-out and the image bytes), so that a key
 * reused for a different capture is refused (FG_ECONFLICT) rather than
 * answered with someone else's outcome.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "store/sql_encounter.h"

int fg__encounter_key_check(const char *key, fg_error *err) {
  if (!key) return FG_OK;
  size_t n = strlen(key);
  if (n == 0 || n > FG_ENCOUNTER_KEY_MAX)
    return fg__seterr(err, FG_EINVAL, "idempotency key: 1 to %d characters", FG_ENCOUNTER_KEY_MAX);
  for (size_t i = 0; i < n; i++) {
    char c = key[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_' || c == '.' || c == ':'))
      return fg__seterr(err, FG_EINVAL,
                        "idempotency key: only letters, digits and - _ . : (a UUID fits)");
  }
  return FG_OK;
}

void fg__encounter_fingerprint(const fg_encounter_request *rq, char hex[65]) {
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  char head[64];
  int n = snprintf(head, sizeof head, "%lld|%d|", (long long)rq->manifest_id, rq->opt_out ? 1 : 0);
  crypto_hash_sha256_update(&h, (const uint8_t *)head, (size_t)n);
  const char *parts[2] = {rq->gate ? rq->gate : "", rq->document ? rq->document : ""};
  for (int i = 0; i < 2; i++) {
    uint64_t len = strlen(parts[i]);
    crypto_hash_sha256_update(&h, (const uint8_t *)&len, sizeof len);
    crypto_hash_sha256_update(&h, (const uint8_t *)parts[i], len);
  }
  if (rq->image && !rq->opt_out) crypto_hash_sha256_update(&h, rq->image, rq->image_len);
  uint8_t out[32];
  crypto_hash_sha256_final(&h, out);
  sodium_bin2hex(hex, 65, out, sizeof out);
}

/* ---- the stored result back into a struct -------------------------------------- */

static double num(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static int64_t id_of(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static const char *const ACTIONS[] = {"proceed", "retry", "see_officer"};

static int result_from_json(const json_t *j, fg_encounter_result *r) {
  memset(r, 0, sizeof *r);
  const char *outcome = json_string_value(json_object_get(j, "outcome"));
  int found = 0;
  for (int o = FG_OUTCOME_MATCHED; o <= FG_OUTCOME_OPT_OUT && outcome; o++)
    if (!strcmp(outcome, fg_outcome_name((fg_outcome)o))) r->outcome = (fg_outcome)o, found = 1;
  if (!found) return -1;
  const char *action = json_string_value(json_object_get(j, "gate_action"));
  r->gate_action = ACTIONS[2];
  for (int i = 0; i < 3 && action; i++)
    if (!strcmp(action, ACTIONS[i])) r->gate_action = ACTIONS[i];
  r->encounter_id = id_of(j, "encounter_id");
  r->traveller_id = id_of(j, "traveller_id");
  snprintf(r->traveller_name, sizeof r->traveller_name, "%s",
           json_string_value(json_object_get(j, "traveller_name")) ? json_string_value(json_object_get(j, "traveller_name")) : "");
  r->score = (float)num(j, "score");
  r->threshold = (float)num(j, "threshold");
  r->quality = (float)num(j, "quality");
  r->liveness = (float)num(j, "liveness");
  r->tries = (int)id_of(j, "tries");
  size_t i;
  json_t *reason;
  json_array_foreach(json_object_get(j, "quality_reasons"), i, reason) {
    for (unsigned bit = 0; bit < FG_QUALITY_REASON_COUNT; bit++)
      if (json_string_value(reason) && !strcmp(json_string_value(reason), fg_quality_reason_name(1u << bit)))
        r->quality_reasons |= 1u << bit;
  }
  const json_t *wl = json_object_get(j, "watchlist");
  r->watchlist_id = id_of(wl, "id");
  r->watchlist_score = (float)num(wl, "score");
  r->watchlist_threshold = (float)num(wl, "threshold");
  const json_t *ref = json_object_get(j, "referral");
  r->referral_id = id_of(ref, "id");
  snprintf(r->referral_reason, sizeof r->referral_reason, "%s",
           json_string_value(json_object_get(ref, "reason")) ? json_string_value(json_object_get(ref, "reason")) : "");
  r->crossing_id = id_of(j, "crossing_id");
  r->replayed = 1;
  return 0;
}

/* ---- lookup and store ---------------------------------------------------------- */

static int key_cb(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n;
  fg__key_row *k = ctx;
  if (c[0].type != FG_VAL_INT || c[1].type != FG_VAL_BLOB) return fg__seterr(err, FG_EFORMAT, "encounter key: malformed row");
  k->found = 1;
  k->encounter_id = c[0].i;
  if (!(k->sealed = malloc(c[1].n ? c[1].n : 1))) return fg__seterr(err, FG_ENOMEM, "out of memory");
  memcpy(k->sealed, c[1].b, c[1].n);
  k->n = c[1].n;
  return 1;
}

int fg__encounter_key_read(fg_border *b, const fg_actor *who, const char *key, fg__key_row *k,
                           fg_error *err) {
  memset(k, 0, sizeof *k);
  fg_val p[2] = {FG_V_TEXT(who && who->name ? who->name : "unknown"), FG_V_TEXT(key)};
  return fg_store_exec(b->store, &FG_Q_ENC_KEY_GET, p, 2, key_cb, k, err);
}

int fg__encounter_key_resolve(fg_border *b, fg__key_row *k, const char *key,
                              const char fingerprint[65], fg_encounter_result *r, int *found,
                              fg_error *err) {
  *found = 0;
  if (!k->found) return FG_OK;
  uint8_t *plain = NULL;
  size_t len = 0;
  int rc = fg__border_unseal(b, "encounter_keys", "result_sealed", k->encounter_id, k->sealed,
                             k->n, &plain, &len, err);
  free(k->sealed);
  k->sealed = NULL;
  if (rc != FG_OK) return rc;
  json_error_t je;
  json_t *j = json_loadb((const char *)plain, len, 0, &je);
  sodium_memzero(plain, len);
  free(plain);
  const char *fp = json_string_value(json_object_get(j, "request"));
  if (!j || !fp) rc = fg__seterr(err, FG_EFORMAT, "encounter key %s: the stored outcome is malformed", key);
  else if (strcmp(fp, fingerprint) != 0)
    rc = fg__seterr(err, FG_ECONFLICT,
                    "idempotency key %s was used for another capture (encounter %lld); "
                    "use a new key for each capture",
                    key, (long long)k->encounter_id);
  else if (result_from_json(json_object_get(j, "result"), r) != 0)
    rc = fg__seterr(err, FG_EFORMAT, "encounter key %s: the stored outcome is malformed", key);
  json_decref(j);
  if (rc == FG_OK) *found = 1;
  return rc;
}

int fg__encounter_key_lookup(fg_border *b, const fg_actor *who, const fg_encounter_request *rq,
                             const char fingerprint[65], fg_encounter_result *r, int *found,
                             fg_error *err) {
  fg__key_row k;
  *found = 0;
  int rc = fg__encounter_key_read(b, who, rq->key, &k, err);
  if (rc == FG_OK) rc = fg__encounter_key_resolve(b, &k, rq->key, fingerprint, r, found, err);
  free(k.sealed);
  return rc;
}

int fg__encounter_key_store(fg_border *b, const fg_actor *who, const fg_encounter_request *rq,
                            const char fingerprint[65], const fg_encounter_result *r, int64_t at,
                            fg_error *err) {
  json_t *res = fg__encounter_result_json(r);
  json_t *j = res ? json_pack("{s:s,s:o}", "request", fingerprint, "result", res) : NULL;
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!text) return fg__seterr(err, FG_ENOMEM, "out of memory");
  uint8_t *sealed = NULL;
  size_t n = 0;
  int rc = fg__border_seal(b, "encounter_keys", "result_sealed", r->encounter_id, text,
                           strlen(text), &sealed, &n, err);
  sodium_memzero(text, strlen(text));
  free(text);
  if (rc != FG_OK) return rc;
  fg_val p[5] = {FG_V_TEXT(who && who->name ? who->name : "unknown"), FG_V_TEXT(rq->key),
                 FG_V_INT(r->encounter_id), FG_V_INT(at), FG_V_BLOB(sealed, n)};
  rc = fg_store_exec(b->store, &FG_Q_ENC_KEY_INSERT, p, 5, NULL, NULL, err);
  free(sealed);
  return rc;
}
