/*
 * facegate/store.h — the one storage interface of the border-operations layer.
 *
 * A store is a connection to the database that holds travellers, manifests,
 * encounters, crossings, the watchlist, referrals and the audit chain. Two
 * backends sit behind one function table (src/store/store_internal.h):
 *
 *   - SQLite, the embedded default: one file, WAL, foreign keys on,
 *     synchronous commits ("var/data/facegate.db" or "sqlite:PATH");
 *   - PostgreSQL, for several servers over one database: a libpq connection
 *     URI ("postgresql://user@host:5432/facegate", multi-host URIs with
 *     target_session_attrs included; "postgres://" too). Secrets never go
 *     into the database: the sealing key stays in each server's key file.
 *
 * Code above this layer never sees SQL text or a connection: it runs named
 * queries (fg_query, defined in src/store/sql_*.c) with typed parameters and
 * receives typed rows. Each backend owns its dialect: its migrations, its
 * transactions (SQLite's BEGIN IMMEDIATE; PostgreSQL's BEGIN plus one
 * advisory lock, so that writers are serialised exactly as in SQLite and the
 * audit chain stays one chain), its placeholders.
 *
 *     fg_store *st;
 *     if (fg_store_open("var/data/facegate.db", 0, &st, &e)) die(e.msg);
 *     fg_store_begin(st, &e);
 *     fg_store_exec(st, &FG_Q_CROSSING_INSERT, params, 7, NULL, NULL, &e);
 *     fg_store_commit(st, &e);           // durable when it returns FG_OK
 *     fg_store_close(st);
 *
 * Opening creates the database if absent (SQLite; a PostgreSQL database must
 * exist, empty or facegate's) and applies every migration it lacks, each in
 * its own transaction under the writer lock (so servers starting together
 * migrate once); a database written by a newer facegate is refused
 * (FG_EUNSUPPORTED), somebody else's database too (FG_EFORMAT).
 *
 * A PostgreSQL store survives a lost connection: the transaction in progress
 * fails with FG_EUNAVAILABLE (nothing of it was acknowledged), and the next
 * call outside a transaction reconnects (trying every host of the URI for
 * the read-write one) at most every 200 ms. FG_EUNAVAILABLE means "retry
 * later": no server, a standby that did not confirm a commit in time, a
 * statement that ran past its deadline.
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
FG_API_BEGIN

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
 * address, so queries are static objects. `ncols` is the number of columns
 * each result row has (0: the query returns no rows): checked once when the
 * statement is prepared, so a row callback may rely on it. */
typedef struct fg_query {
  const char *name; /* for error messages: "encounter_insert" */
  const char *sql;
  int ncols;
} fg_query;

/* Called once per result row. Return 0 to go on, 1 to stop early (not an
 * error), or a negative FG_E* code to abort (passed back by fg_store_exec). */
typedef int (*fg_row_fn)(void *ctx, const fg_val *cols, int ncols, fg_error *err);

/* Open flags. */
#define FG_STORE_READONLY 0x1u  /* no migrations, no writes */
#define FG_STORE_NOSYNC 0x2u    /* synchronous=NORMAL: faster, an acknowledged write may
                                   be lost on power failure (tests and benchmarks only) */

/* Open (creating and migrating as needed) the store at `target`: a file path
 * or "sqlite:PATH" (SQLite), "postgresql://..." or "postgres://..."
 * (PostgreSQL). Other schemes: FG_EUNSUPPORTED. On error *out is NULL and err
 * says why (FG_EIO with the database's message, FG_EUNAVAILABLE for a server
 * that cannot be reached, FG_EFORMAT for a database that is not facegate's,
 * FG_EUNSUPPORTED for a newer schema). Messages never show a password. */
int fg_store_open(const char *target, unsigned flags, fg_store **out, fg_error *err);
/* Close; an open transaction is rolled back. NULL does nothing. */
void fg_store_close(fg_store *st);
/* "sqlite" or "postgresql". */
const char *fg_store_backend(const fg_store *st);
/* Is target a PostgreSQL URI (rather than a SQLite file)? */
int fg_store_target_is_remote(const char *target);
/* target for messages and logs: a URI's password replaced by "***". */
void fg_store_redact(const char *target, char *buf, size_t cap);
/* Schema version the store is at (FG_STORE_SCHEMA_VERSION after open). */
int fg_store_schema_version(fg_store *st, int *version, fg_error *err);
#define FG_STORE_SCHEMA_VERSION 4

/* Transactions nest by counting: only the outermost begin/commit pair talks
 * to the database. A transaction is a writer's: it takes the store's one
 * writer lock up front (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory
 * lock), so it never fails half-way for a lock and sees no concurrent writer.
 * fg_store_rollback at any depth rolls the whole transaction back; the
 * enclosing commits then fail with FG_ECONFLICT and roll back nothing more.
 * Commit is durable when it returns FG_OK (unless FG_STORE_NOSYNC); on a
 * PostgreSQL primary with a synchronous standby, that includes the standby
 * (FG_EUNAVAILABLE when the standby did not confirm in time: the transaction
 * may then exist on the primary only, see docs/deployment.md).
 *
 * Inside a transaction a backend may defer statements that return no rows
 * (PostgreSQL pipelines them and sends them with the next query that returns
 * rows, or with the commit): such a statement's error is then returned by
 * that later call, and the transaction is doomed either way. Call
 * fg_store_changes to force them out. */
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
/* Several reads in one round trip. Between fg_store_batch_begin and
 * fg_store_batch_run, fg_store_exec may only queue its query (PostgreSQL
 * does; SQLite runs it at once): its callback is then called, in order, by
 * fg_store_batch_run, which returns the first error of any of them. So a
 * caller checks both, and uses what the callbacks filled only after the run.
 * Inside a transaction, or outside one (each query is then its own). */
void fg_store_batch_begin(fg_store *st);
int fg_store_batch_run(fg_store *st, fg_error *err);

/* The id the next row of `table` gets when the caller inserts it with that
 * id explicitly (encounters, crossings, referrals): taken up front so that a
 * row and what refers to it (seals, audit events, other rows) can be written
 * together without waiting for the database. Inside a writer transaction; ask
 * once per table before inserting (SQLite hands out the highest id + 1). In
 * a batch, *id is set when the batch runs. */
int fg_store_next_id(fg_store *st, const char *table, int64_t *id, fg_error *err);

/* n (>= 1) consecutive ids of `table` (watchlist, watchlist_templates), the
 * first in *first, for rows the caller inserts with those ids explicitly: a
 * bulk load writes whole rows, sealed to their ids, without a round trip per
 * row. Inside a writer transaction (which no other writer can interleave).
 * SQLite hands out the highest id + 1 onwards; PostgreSQL advances the
 * table's identity sequence by n (ids of a rolled-back transaction are
 * skipped, as a failed INSERT's would be). Not in a read batch. */
int fg_store_reserve_ids(fg_store *st, const char *table, int64_t n, int64_t *first,
                         fg_error *err);

/* A number that changes with every outermost transaction (0: none open), so
 * that what was read inside one can be told apart from another's. */
uint64_t fg_store_txn_serial(const fg_store *st);

/* Rows changed by the last INSERT/UPDATE/DELETE on this connection (-1 if a
 * deferred statement failed: the next call returns its error). */
int64_t fg_store_changes(fg_store *st);

/* Conveniences over fg_store_exec for the common one-row, one-column case:
 * the first column of the first row as an integer. *found (may be NULL) says
 * whether a row came back; without one *out is left untouched and FG_OK is
 * returned. Use with `... RETURNING id` to insert and get the id. */
int fg_store_exec_int(fg_store *st, const fg_query *q, const fg_val *params, int np,
                      int64_t *out, int *found, fg_error *err);

/* Make deletions physical: deleted rows are overwritten when deleted (SQLite's
 * secure_delete), and this also removes the copies the write-ahead log still
 * holds (a WAL checkpoint that truncates it). *state (may be NULL) says how
 * far it got: FG_FLUSH_DONE, FG_FLUSH_INCOMPLETE (another connection still
 * reads pages the log holds: they cannot go until it moves on; call again
 * later), or FG_FLUSH_NONE (a backend with nothing of the kind to remove:
 * PostgreSQL, whose WAL, table pages and standby are beyond a client's
 * reach, docs/records.md). It does not wait for readers. Outside a
 * transaction (FG_ECONFLICT otherwise). */
#define FG_FLUSH_DONE 1
#define FG_FLUSH_INCOMPLETE 0
#define FG_FLUSH_NONE 2
int fg_store_flush(fg_store *st, int *state, fg_error *err);

/* Copy the whole database to the file `path` (a consistent snapshot, online,
 * written to a temporary name and renamed into place, mode 0600): SQLite's
 * online backup (a database file), PostgreSQL's pg_dump (custom format).
 * Sealed columns stay sealed. Refuses to overwrite an existing file. */
int fg_store_backup(fg_store *st, const char *path, fg_error *err);
/* Load the backup file `path` (either kind, told apart by its first bytes)
 * into the store at `target`, which must be empty (a SQLite path that does not
 * exist yet, or an empty PostgreSQL database); a SQLite backup goes to a
 * SQLite target and a PostgreSQL dump to a PostgreSQL one. Nothing of a
 * failed restore is left behind (SQLite: the file is removed; PostgreSQL:
 * pg_restore runs in a single transaction). The caller then opens the store
 * (migrating a backup of an older schema) and applies retention. */
int fg_store_restore(const char *target, const char *path, fg_error *err);
/* Undo a restore that must not be used after all (the caller found the wrong
 * key file, a newer schema...): SQLite removes the file (and its WAL);
 * PostgreSQL drops and re-creates the schema it restored into, which
 * fg_store_restore required to be empty. No connection may be open on it. */
int fg_store_discard_restored(const char *target, fg_error *err);

/* ---- several servers on one store ------------------------------------------ */

/* What a backend can do beyond queries. */
#define FG_STORE_CAP_NOTIFY 0x1u /* change notifications reach other connections */
unsigned fg_store_caps(const fg_store *st);

/* Announce a change on `channel` (a short lowercase identifier) with an
 * optional payload (at most 200 bytes), delivered to every connection that
 * listens when the current transaction commits (or at once outside one),
 * and never if it rolls back. A no-op without FG_STORE_CAP_NOTIFY: readers
 * of such a store poll (an embedded store has one writer process anyway). */
int fg_store_notify(fg_store *st, const char *channel, const char *payload, fg_error *err);
/* Receive the announcements of `channel` on this connection (kept across
 * reconnections). A no-op without FG_STORE_CAP_NOTIFY. */
int fg_store_listen(fg_store *st, const char *channel, fg_error *err);
/* Called for each announcement received; channel NULL means "the connection
 * was re-established, announcements may have been missed: assume anything
 * changed". */
typedef void (*fg_notify_fn)(void *ctx, const char *channel, const char *payload);
/* Deliver what arrived since the last call, without waiting and without a
 * round trip (outside a transaction; inside one, nothing is delivered).
 * Returns how many calls were made. */
int fg_store_poll(fg_store *st, fg_notify_fn fn, void *ctx);

/* Counters of this connection since it was opened. */
typedef struct fg_store_stats {
  uint64_t round_trips;          /* times the client waited for the database server */
  uint64_t statements;           /* named queries run */
  uint64_t reconnects;           /* connections re-established after a loss */
  uint64_t unreplicated_commits; /* commits the synchronous standby did not confirm */
  int synchronous_standby;       /* 1: the server waits for a standby on every commit;
                                    0: it does not (one copy only); -1: not applicable */
} fg_store_stats;
void fg_store_get_stats(const fg_store *st, fg_store_stats *out);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
