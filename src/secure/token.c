/*
 * API tokens: "fgt_" + base64url (no padding) of 32 random bytes, and the
 * hash the database keeps instead of the token: keyed BLAKE2b-256 under a key
 * derived from the audit key (BLAKE2b keyed by the audit key over a context
 * string), so that a stolen database alone cannot test guessed tokens and the
 * audit key itself is never used for two purposes. The blind-index key
 * (fg_blind_index) is derived the same way with its own context.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "secure/secure_internal.h"

#define CONTEXT "facegate token hash v1"
#define INDEX_CONTEXT "facegate blind index v1"
#define ROW_CONTEXT "facegate audit row v1"

void fg__token_derive(fg_keyring *kr) {
  crypto_generichash(kr->token, sizeof kr->token, (const uint8_t *)CONTEXT, strlen(CONTEXT),
                     kr->audit, sizeof kr->audit);
  crypto_generichash(kr->index, sizeof kr->index, (const uint8_t *)INDEX_CONTEXT,
                     strlen(INDEX_CONTEXT), kr->audit, sizeof kr->audit);
  crypto_generichash(kr->row, sizeof kr->row, (const uint8_t *)ROW_CONTEXT, strlen(ROW_CONTEXT),
                     kr->audit, sizeof kr->audit);
}

static void put_u64(crypto_generichash_state *h, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  crypto_generichash_update(h, b, 8);
}

void fg_audit_row_hash(const fg_keyring *kr, const char *kind, const fg_val *v, int n,
                       char hex[65]) {
  crypto_generichash_state h;
  crypto_generichash_init(&h, kr->row, sizeof kr->row, 32);
  crypto_generichash_update(&h, (const uint8_t *)kind, strlen(kind) + 1);
  for (int i = 0; i < n; i++) {
    uint8_t t = (uint8_t)v[i].type;
    crypto_generichash_update(&h, &t, 1);
    switch (v[i].type) {
    case FG_VAL_INT: put_u64(&h, (uint64_t)v[i].i); break;
    case FG_VAL_REAL: { /* every REAL column holds a float: compare as one */
      float f = (float)v[i].r;
      uint32_t bits;
      memcpy(&bits, &f, 4);
      put_u64(&h, bits);
      break;
    }
    case FG_VAL_TEXT: {
      size_t len = v[i].s ? strlen(v[i].s) : 0;
      put_u64(&h, len);
      crypto_generichash_update(&h, (const uint8_t *)v[i].s, len);
      break;
    }
    case FG_VAL_BLOB:
      put_u64(&h, v[i].n);
      crypto_generichash_update(&h, v[i].b, v[i].n);
      break;
    default: break;
    }
  }
  uint8_t out[32];
  crypto_generichash_final(&h, out, sizeof out);
  sodium_bin2hex(hex, 65, out, sizeof out);
}

void fg_blind_index(const fg_keyring *kr, const char *label, const void *value, size_t n,
                    uint8_t out[32]) {
  crypto_generichash_state h;
  crypto_generichash_init(&h, kr->index, sizeof kr->index, 32);
  crypto_generichash_update(&h, (const uint8_t *)label, strlen(label) + 1); /* with its NUL */
  crypto_generichash_update(&h, value, n);
  crypto_generichash_final(&h, out, 32);
}

void fg_keyring_check_value(const fg_keyring *kr, char hex[65]) {
  static const char LABEL[] = "facegate key check v1";
  uint8_t h[32];
  crypto_generichash(h, sizeof h, (const uint8_t *)LABEL, strlen(LABEL), kr->audit, sizeof kr->audit);
  sodium_bin2hex(hex, 65, h, sizeof h);
}

void fg_token_generate(char token[4 + FG_TOKEN_CHARS + 1]) {
  _Static_assert(sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
                     FG_TOKEN_CHARS + 1,
                 "token length");
  uint8_t raw[32];
  if (sodium_init() < 0) abort(); /* no randomness: nothing safe to return */
  randombytes_buf(raw, sizeof raw);
  memcpy(token, FG_TOKEN_PREFIX, 4);
  sodium_bin2base64(token + 4, FG_TOKEN_CHARS + 1, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
}

void fg_token_hash(const fg_keyring *kr, const char *token, uint8_t hash[32]) {
  crypto_generichash(hash, 32, (const uint8_t *)token, strlen(token), kr->token,
                     sizeof kr->token);
}
