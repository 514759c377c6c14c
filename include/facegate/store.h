/*
 * facegate/store.h — the one storage interface of the border-operations layer.
 *
 * A store is a connection to the database that holds travellers, manifests,
 * encounters, crossings, the watchlist, referrals and the audit chain. The
 * embedded default is SQLite (one file, WAL, foreign keys on, synchronous
 * commits); a PostgreSQL backend will sit behind the same function table
 * (src/store/store_internal.h). Code above this layer never sees SQL text or a
 * connection: it runs named queries (fg_query, defined next to the schema in
 * src/store/) with typed parameters and receives typed rows.
 *
 *     fg_store *st;
 *     if (fg_store_open("var/data/facegate.db", 0, &st, &e)) die(e.msg);
 *     fg_store_begin(st, &e);
 *     fg_store_exec(st, &FG_Q_CROSSING_INSERT, params, 7, NULL, NULL, &e);
 *     fg_store_commit(st, &e);           // durable when it returns FG_OK
 *     fg_store_close(st);
 *
 * Opening creates the database if absent and applies every migration the
 * file lacks, each in its own transaction (schema version in `meta`); a file
 * written by a newer facegate is refused (FG_EUNSUPPORTED).
 *
 * Threads: an fg_store is one connection and is NOT thread-safe; open one per
 * thread (SQLite's WAL lets readers run beside the single writer; writers
 * wait up to the busy timeout).
 */
#ifndef FACEGATE_STORE_H
#define FACEGATE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fg_store fg_store;

/* A typed value: a query parameter or a column of a result row. TEXT is
 * NUL-terminated; BLOB is (b, n). Row values point into the backend's
 * buffers and are valid only during the row callback. */
typedef enum fg_val_type {
  FG_VAL_NULL = 0,
  FG_VAL_INT = 1,
  FG_VAL_REAL = 2,
  FG_VAL_TEXT = 3,
  FG_VAL_BLOB = 4
} fg_val_type;

typedef struct fg_val {
  fg_val_type type;
  int64_t i;
  double r;
  const char *s;
  const void *b;
  size_t n;
} fg_val;

#define FG_V_NULL ((fg_val){.type = FG_VAL_NULL})
#define FG_V_INT(x) ((fg_val){.type = FG_VAL_INT, .i = (int64_t)(x)})
#define FG_V_REAL(x) ((fg_val){.type = FG_VAL_REAL, .r = (double)(x)})
/* NULL text becomes SQL NULL. (The test goes through a function so that a
 * char array argument does not trip GCC's -Waddress.) */
static inline int fg__val_present(const void *p) { return p != NULL; }
#define FG_V_TEXT(x) ((fg_val){.type = fg__val_present(x) ? FG_VAL_TEXT : FG_VAL_NULL, .s = (x)})
#define FG_V_BLOB(p, len) \
  ((fg_val){.type = fg__val_present(p) ? FG_VAL_BLOB : FG_VAL_NULL, .b = (p), .n = (len)})

/* A named query. `sql` is portable SQL (the subset SQLite and PostgreSQL
 * share: `?` placeholders, `RETURNING`, no backend functions); a backend may
 * rewrite it (placeholders) and caches its prepared form by the struct's
 * address, so queries are static objects. */
typedef struct fg_query {
  const char *name; /* for error messages: "encounter_insert" */
  const char *sql;
} fg_query;

/* Called once per result row. Return 0 to go on, 1 to stop early (not an
 * error), or a negative FG_E* code to abort (passed back by fg_store_exec). */
typedef int (*fg_row_fn)(void *ctx, const fg_val *cols, int ncols, fg_error *err);

/* Open flags. */
#define FG_STORE_READONLY 0x1u  /* no migrations, no writes */
#define FG_STORE_NOSYNC 0x2u    /* synchronous=NORMAL: faster, an acknowledged write may
                                   be lost on power failure (tests and benchmarks only) */

/* Open (creating and migrating as needed) the store at `target`: a file path
 * or "sqlite:PATH" (SQLite). Other schemes: FG_EUNSUPPORTED. On error *out is
 * NULL and err says why (FG_EIO with the database's message, FG_EFORMAT for
 * a file that is not a facegate database, FG_EUNSUPPORTED for a newer schema). */
int fg_store_open(const char *target, unsigned flags, fg_store **out, fg_error *err);
/* Close; an open transaction is rolled back. NULL does nothing. */
void fg_store_close(fg_store *st);
/* "sqlite" (later "postgres"). */
const char *fg_store_backend(const fg_store *st);
/* Schema version the store is at (FG_STORE_SCHEMA_VERSION after open). */
int fg_store_schema_version(fg_store *st, int *version, fg_error *err);
#define FG_STORE_SCHEMA_VERSION 1

/* Transactions nest by counting: only the outermost begin/commit pair talks
 * to the database (BEGIN IMMEDIATE ... COMMIT, so a writer takes the lock up
 * front and never fails half-way for a lock). fg_store_rollback at any depth
 * rolls the whole transaction back; the enclosing commits then fail with
 * FG_ECONFLICT and roll back nothing more. Commit is durable when it
 * returns FG_OK (unless FG_STORE_NOSYNC). */
int fg_store_begin(fg_store *st, fg_error *err);
int fg_store_commit(fg_store *st, fg_error *err);
void fg_store_rollback(fg_store *st);
/* Depth of the current transaction (0: none). */
int fg_store_depth(const fg_store *st);

/* Run query q with np parameters, calling fn for each row (fn may be NULL).
 * Errors: FG_EIO (database), FG_ECONFLICT (a UNIQUE, CHECK, NOT NULL or FOREIGN KEY
 * constraint; the message names the query), whatever fn returned. */
int fg_store_exec(fg_store *st, const fg_query *q, const fg_val *params, int np, fg_row_fn fn,
                  void *ctx, fg_error *err);
/* Rows changed by the last INSERT/UPDATE/DELETE on this connection. */
int64_t fg_store_changes(fg_store *st);

/* Conveniences over fg_store_exec for the common one-row, one-column case:
 * the first column of the first row as an integer. *found (may be NULL) says
 * whether a row came back; without one *out is left untouched and FG_OK is
 * returned. Use with `... RETURNING id` to insert and get the id. */
int fg_store_exec_int(fg_store *st, const fg_query *q, const fg_val *params, int np,
                      int64_t *out, int *found, fg_error *err);

/* Make deletions physical: deleted rows are overwritten when deleted (SQLite's
 * secure_delete), and this also removes the copies the write-ahead log still
 * holds (a WAL checkpoint that truncates it; what open readers still need goes
 * at the next one). Outside a transaction (FG_ECONFLICT otherwise). */
int fg_store_flush(fg_store *st, fg_error *err);

/* Copy the whole database to `path` (a consistent snapshot, online). */
int fg_store_backup(fg_store *st, const char *path, fg_error *err);

#ifdef __cplusplus
}
#endif
#endif
