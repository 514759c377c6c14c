/*
 * The keyring's insides, shared by the files of src/secure/ (not API): the
 * data keys with their ids, which one is current, the audit key and the key
 * derived from it for token hashes. Allocated with sodium_malloc (guarded,
 * locked pages) and wiped on destroy.
 */
#ifndef FG_SECURE_INTERNAL_H
#define FG_SECURE_INTERNAL_H

#include <stdint.h>

#include "facegate/secure.h"

#define FG__KEY_BYTES 32
#define FG__KEYRING_MAX 8

typedef struct fg__data_key {
  uint32_t id;
  uint8_t key[FG__KEY_BYTES];
} fg__data_key;

struct fg_keyring {
  int nkeys;
  uint32_t current;
  fg__data_key keys[FG__KEYRING_MAX];
  uint8_t audit[FG__KEY_BYTES];
  uint8_t token[FG__KEY_BYTES]; /* derived from audit (token.c) */
  uint8_t index[FG__KEY_BYTES]; /* blind indexes, derived from audit (token.c) */
  uint8_t row[FG__KEY_BYTES];   /* audited rows' hashes, derived from audit (token.c) */
};

/* The data key with this id, or NULL. */
const fg__data_key *fg__keyring_find(const fg_keyring *kr, uint32_t id);
/* Derive kr->token and kr->index from kr->audit (token.c). */
void fg__token_derive(fg_keyring *kr);
/* sodium_init once; FG_EIO if libsodium cannot start. */
int fg__sodium_ready(fg_error *err);

#endif
