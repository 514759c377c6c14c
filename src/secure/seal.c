/*
 * Sealing at rest: XChaCha20-Poly1305 (libsodium's IETF construction) under
 * the keyring's current data key, with caller-given associated data that
 * binds a blob to its record. Layout (secure.h): "FGS1" | key id (u32 LE) |
 * nonce (24 random bytes) | ciphertext | tag (16). The nonce is random per
 * blob; at 192 bits a collision is not a concern at any realistic volume.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/internal.h"
#include "secure/secure_internal.h"

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define HDR (4 + 4 + NONCE)

_Static_assert(FG_SEAL_OVERHEAD == HDR + TAG, "FG_SEAL_OVERHEAD disagrees with libsodium");

static uint32_t get_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int fg_seal(const fg_keyring *kr, const void *plain, size_t n, const char *ad, uint8_t **out,
            size_t *out_len, fg_error *err) {
  if (!out || !out_len) return fg__seterr(err, FG_EINVAL, "fg_seal: out is NULL");
  *out = NULL;
  *out_len = 0;
  if (!kr || !ad || (n && !plain)) return fg__seterr(err, FG_EINVAL, "fg_seal: bad arguments");
  if (n > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX || n > SIZE_MAX - FG_SEAL_OVERHEAD)
    return fg__seterr(err, FG_ELIMIT, "fg_seal: %zu bytes is too much to seal", n);
  const fg__data_key *k = fg__keyring_find(kr, kr->current);
  if (!k) return fg__seterr(err, FG_ENOTFOUND, "fg_seal: no current key");
  uint8_t *b = malloc(n + FG_SEAL_OVERHEAD);
  if (!b) return fg__seterr(err, FG_ENOMEM, "fg_seal: out of memory (%zu bytes)", n);
  memcpy(b, FG_SEAL_MAGIC, 4);
  for (int i = 0; i < 4; i++) b[4 + i] = (uint8_t)(k->id >> (8 * i));
  randombytes_buf(b + 8, NONCE);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(b + HDR, &clen, plain, n, (const uint8_t *)ad,
                                             strlen(ad), NULL, b + 8, k->key);
  *out = b;
  *out_len = HDR + (size_t)clen;
  return FG_OK;
}

int fg_sealed_key_id(const uint8_t *sealed, size_t n, uint32_t *key_id, fg_error *err) {
  if (!sealed || n < FG_SEAL_OVERHEAD || memcmp(sealed, FG_SEAL_MAGIC, 4) != 0)
    return fg__seterr(err, FG_EFORMAT, "not a sealed blob (%zu bytes)", n);
  *key_id = get_u32le(sealed + 4);
  return FG_OK;
}

int fg_unseal(const fg_keyring *kr, const uint8_t *sealed, size_t n, const char *ad,
              uint8_t **plain, size_t *plain_len, fg_error *err) {
  if (!plain || !plain_len) return fg__seterr(err, FG_EINVAL, "fg_unseal: out is NULL");
  *plain = NULL;
  *plain_len = 0;
  if (!kr || !ad) return fg__seterr(err, FG_EINVAL, "fg_unseal: bad arguments");
  uint32_t id;
  int rc = fg_sealed_key_id(sealed, n, &id, err);
  if (rc != FG_OK) return rc;
  const fg__data_key *k = fg__keyring_find(kr, id);
  if (!k) return fg__seterr(err, FG_ENOTFOUND, "sealed blob names key %u, not in the keyring", id);
  size_t m = n - FG_SEAL_OVERHEAD;
  uint8_t *p = malloc(m ? m : 1);
  if (!p) return fg__seterr(err, FG_ENOMEM, "fg_unseal: out of memory (%zu bytes)", m);
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(p, &plen, NULL, sealed + HDR, n - HDR,
                                                 (const uint8_t *)ad, strlen(ad), sealed + 8,
                                                 k->key) != 0) {
    free(p);
    return fg__seterr(err, FG_EAUTH, "sealed blob does not open for \"%s\" (tampered or moved)",
                      ad);
  }
  *plain = p;
  *plain_len = (size_t)plen;
  return FG_OK;
}

void fg_seal_ad(char *buf, size_t cap, const char *table, const char *column, int64_t id) {
  if (cap) snprintf(buf, cap, "facegate:%s.%s:%lld", table, column, (long long)id);
}
