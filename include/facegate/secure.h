/*
 * facegate/secure.h — sealing biometric data at rest, the tamper-evident
 * audit chain, and API token hashing.
 *
 * Keyring. A key file (text, mode 0600, created on first use) holds the data
 * keys (32 random bytes each, with a 32-bit id; one is current) and the audit
 * key. It never leaves the machine and is never logged.
 *
 *     fg_keyring *kr;
 *     fg_keyring_open("var/data/facegate.key", FG_KEYRING_CREATE, &kr, &e);
 *     uint8_t *sealed; size_t n;
 *     fg_seal(kr, jpeg, jpeg_len, "facegate:encounters.capture_sealed:42", &sealed, &n, &e);
 *     ...
 *     fg_unseal(kr, sealed, n, "facegate:encounters.capture_sealed:42", &plain, &pn, &e);
 *
 * Sealed format: "FGS1" | key id (u32 LE) | nonce (24 bytes) | ciphertext |
 * tag (16 bytes): XChaCha20-Poly1305 (libsodium, IETF construction) with the
 * associated data given by the caller, which binds the blob to its record
 * (table, column, row id): a blob moved to another row does not open.
 *
 * Rotation (`facegate key rotate`): fg_keyring_rotate_begin adds a new current
 * key and rewrites the file (old keys kept, so both open); the caller re-seals
 * every blob; fg_keyring_rotate_finish drops the old keys and rewrites the
 * file. A crash at any point leaves every blob openable.
 *
 * Audit chain. Each event's hash is keyed BLAKE2b-256 (audit key) over the
 * previous event's hash and the event's fields (length-prefixed), so an
 * edited, deleted, inserted or reordered event breaks the chain at that
 * point, and nobody without the key file can forge a consistent chain.
 * Truncating the newest events is only visible against an anchor kept
 * elsewhere (fg_audit_head: print it in the daily report, compare later).
 *
 * Threads: an fg_keyring is read-only after open and may be shared across
 * threads except during rotation. The audit functions use the caller's
 * store (one per thread).
 */
#ifndef FACEGATE_SECURE_H
#define FACEGATE_SECURE_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/error.h"
#include "facegate/store.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

typedef struct fg_keyring fg_keyring;

#define FG_KEYRING_CREATE 0x1u /* create the file (0600) with fresh keys if absent */

#define FG_SEAL_MAGIC "FGS1"
#define FG_SEAL_OVERHEAD (4 + 4 + 24 + 16)

/* Open the key file. Refuses (FG_EPERM) a file readable or writable by group
 * or others, FG_EFORMAT for a malformed one, FG_ENOTFOUND when absent without
 * FG_KEYRING_CREATE. On error *out is NULL. */
int fg_keyring_open(const char *path, unsigned flags, fg_keyring **out, fg_error *err);
/* Wipe the keys from memory and free. NULL does nothing. */
void fg_keyring_destroy(fg_keyring *kr);
/* Id of the key new blobs are sealed with. */
uint32_t fg_keyring_current(const fg_keyring *kr);
/* Number of data keys held (2 during a rotation, else 1). */
int fg_keyring_count(const fg_keyring *kr);

/* Seal n bytes under the current key with associated data ad (a string,
 * not NULL). *out is malloc'd (n + FG_SEAL_OVERHEAD bytes), the caller frees. */
int fg_seal(const fg_keyring *kr, const void *plain, size_t n, const char *ad, uint8_t **out,
            size_t *out_len, fg_error *err);
/* Open a sealed blob. FG_EFORMAT (not a sealed blob), FG_ENOTFOUND (key id
 * not in the keyring), FG_EAUTH (tampered, or bound to another record).
 * *plain is malloc'd; the caller frees (and should wipe) it. */
int fg_unseal(const fg_keyring *kr, const uint8_t *sealed, size_t n, const char *ad,
              uint8_t **plain, size_t *plain_len, fg_error *err);
/* Key id a sealed blob names, without opening it (FG_EFORMAT if not sealed). */
int fg_sealed_key_id(const uint8_t *sealed, size_t n, uint32_t *key_id, fg_error *err);
/* The associated data for a column of a row: "facegate:<table>.<column>:<id>". */
void fg_seal_ad(char *buf, size_t cap, const char *table, const char *column, int64_t id);
/* A value that tells key files apart without revealing a key (hex of a keyed
 * BLAKE2b of a fixed label under the audit key, which rotation keeps): a
 * store records it, so that a server holding another deployment's key file
 * is refused instead of writing records nobody can open. */
void fg_keyring_check_value(const fg_keyring *kr, char hex[65]);

int fg_keyring_rotate_begin(fg_keyring *kr, const char *path, fg_error *err);
int fg_keyring_rotate_finish(fg_keyring *kr, const char *path, fg_error *err);

/* ---- audit chain -------------------------------------------------------- */

typedef struct fg_audit_event {
  int64_t at;          /* seconds since the epoch, UTC */
  const char *actor;   /* who: token name, officer, "system" */
  const char *role;    /* gate, officer, supervisor, auditor, admin, system, local */
  const char *action;  /* "encounter.create", "referral.decide", "purge.run", ... */
  const char *object;  /* "encounter:42", "manifest:7", "" */
  const char *purpose; /* why: "boarding", "referral review", "retention" */
  const char *detail;  /* JSON text, never biometric data; "" allowed */
} fg_audit_event;

/* Append one event inside the store's current transaction (or its own if
 * none is open). *seq (may be NULL) receives its sequence number. */
int fg_audit_append(fg_store *st, const fg_keyring *kr, const fg_audit_event *ev, int64_t *seq,
                    fg_error *err);

/* The chain's newest event as a writer sees it: a transaction that appends
 * several events reads it once (fg_audit_tail_read, which may be part of a
 * read batch: the tail is filled when the batch runs) and appends after it
 * without reading again (fg_audit_append_after, which advances it). Valid only
 * inside the writer transaction that read it: the writer lock keeps the chain
 * still until the commit. */
typedef struct fg_audit_tail {
  int64_t seq;
  uint8_t hash[32];
  int malformed; /* the newest row is not an audit event: nothing may follow it */
} fg_audit_tail;
int fg_audit_tail_read(fg_store *st, fg_audit_tail *tail, fg_error *err);
int fg_audit_append_after(fg_store *st, const fg_keyring *kr, fg_audit_tail *tail,
                          const fg_audit_event *ev, int64_t *seq, fg_error *err);

typedef struct fg_audit_check {
  int64_t events;      /* events examined */
  int ok;              /* 1: the whole chain verifies */
  int64_t bad_seq;     /* first event that does not verify (0 if ok) */
  char problem[256];   /* "event 17 was edited", "event 18 is missing", ... */
  int64_t head_seq;    /* newest event */
  char head_hash[65];  /* its hash, hex: the anchor to keep elsewhere */
} fg_audit_check;

/* Walk the whole chain. `anchor` (may be NULL) is a "SEQ:HEX" head recorded
 * earlier: the chain must still contain that event with that hash. Returns
 * FG_OK whether or not the chain verifies (see check->ok); errors are for
 * failures to read. */
int fg_audit_verify(fg_store *st, const fg_keyring *kr, const char *anchor,
                    fg_audit_check *check, fg_error *err);
/* The newest event's sequence number and hash (0 and "" when empty). */
int fg_audit_head(fg_store *st, int64_t *seq, char hex[65], fg_error *err);

/* The hash of a record an audit event wrote (an encounter's row, a crossing,
 * a referral's state): keyed BLAKE2b-256 under a key derived from the audit
 * key, over `kind` and the values in order (type-tagged; REAL values as the
 * float they were stored from), in hex. The event carries it, so that
 * verification can tell an edited, deleted or planted record from one the
 * chain accounts for (src/border/reconcile.c), and nobody without the key
 * file can make a forged row match. */
void fg_audit_row_hash(const fg_keyring *kr, const char *kind, const fg_val *v, int n,
                       char hex[65]);

/* ---- blind indexes ---------------------------------------------------------- */

/* A blind index: keyed BLAKE2b-256 of label (with its NUL) and the n bytes of
 * value, under a key derived from the audit key (which key rotation keeps,
 * so indexes survive a rotation). The store keeps it beside a sealed value
 * so that equality searches (a document number, a surname) work without the
 * value in clear, and a copy of the database alone cannot test guesses.
 * Callers normalise the value first (src/border/personal.c). */
void fg_blind_index(const fg_keyring *kr, const char *label, const void *value, size_t n,
                    uint8_t out[32]);

/* ---- API tokens ---------------------------------------------------------- */

#define FG_TOKEN_CHARS 43 /* base64url of 32 random bytes, no padding */
#define FG_TOKEN_PREFIX "fgt_"

/* A fresh token "fgt_<43 chars>" (NUL-terminated, 48 bytes with the NUL). */
void fg_token_generate(char token[4 + FG_TOKEN_CHARS + 1]);
/* The hash stored for a token: keyed BLAKE2b-256 under the audit key, so a
 * copy of the database alone cannot be used to test guesses. */
void fg_token_hash(const fg_keyring *kr, const char *token, uint8_t hash[32]);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
