/*
 * API tokens: "fgt_" + base64url (no padding) of 32 random bytes, and the
 * hash the database keeps instead of the token: keyed BLAKE2b-256 under a key
 * derived from the audit key (BLAKE2b keyed by the audit key over a context
 * string), so that a stolen database alone cannot test guessed tokens and the
 * audit key itself is never used for two purposes.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "secure/secure_internal.h"

#define CONTEXT "facegate token hash v1"

void fg__token_derive(fg_keyring *kr) {
  crypto_generichash(kr->token, sizeof kr->token, (const uint8_t *)CONTEXT, strlen(CONTEXT),
                     kr->audit, sizeof kr->audit);
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
