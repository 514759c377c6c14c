/*
 * The storage backend function table (not API). fg_store (store.c) holds one
 * backend and its connection and implements transactions' nesting, the
 * migration loop and the conveniences; a backend talks to its database and
 * owns its dialect: transactions, placeholders, and the text of every
 * migration. SQLite: sqlite.c + schema_sqlite.c; PostgreSQL: postgres.c +
 * schema_postgres.c. Adding a backend adds such a pair and a row in store.c's
 * scheme table; nothing above src/store/ changes.
 */
#ifndef FG_STORE_INTERNAL_H
#define FG_STORE_INTERNAL_H

#include "facegate/store.h"

typedef struct fg__store_backend {
  const char *name;
  /* Connect to target (the whole target string), creating it if allowed. */
  int (*open)(const char *target, unsigned flags, void **conn, fg_error *err);
  void (*close)(void *conn);
  /* Transactions, outermost level only (store.c counts the nesting). begin
   * takes the store's writer lock; rollback never fails (a lost connection
   * has rolled back already). */
  int (*begin)(void *conn, fg_error *err);
  int (*commit)(void *conn, fg_error *err);
  void (*rollback)(void *conn);
  /* Run statements without parameters or rows, separated by ';' (a
   * migration), inside the open transaction. */
  int (*exec_script)(void *conn, const char *sql, fg_error *err);
  /* Run a named query; the backend may cache its prepared form by &q and
   * checks q->ncols when it prepares it. */
  int (*exec)(void *conn, const fg_query *q, const fg_val *params, int np, fg_row_fn fn,
              void *ctx, fg_error *err);
  int64_t (*changes)(void *conn);
  /* Optional (NULL: exec runs at once): queue execs until batch_run. */
  void (*batch_begin)(void *conn);
  int (*batch_run)(void *conn, fg_error *err);
  /* The dialect's queries for the next id of a table (one column each),
   * named "next_id_<table>", ending with {NULL}. */
  const fg_query *next_ids;
  /* The dialect's queries that reserve n consecutive ids of a table (one
   * parameter, n; one column: the last id reserved), named
   * "reserve_ids_<table>", ending with {NULL}. */
  const fg_query *reserve_ids;
  /* The dialect's migrations, NULL-terminated: migrations[i] takes version i
   * to i + 1. Every backend has the same number, meaning the same schema. */
  const char *const *migrations;
  /* Optional (NULL: not checked): the number of tables in the database, so
   * that opening someone else's database is refused rather than migrated. */
  int (*count_tables)(void *conn, int64_t *n, fg_error *err);
  /* Optional (NULL: nothing to do, FG_FLUSH_NONE): make deletions physical
   * (SQLite: checkpoint and truncate the WAL); *done 1 when complete. */
  int (*flush)(void *conn, int *done, fg_error *err);
  /* Optional (NULL: FG_EUNSUPPORTED): a backup file of the database, and
   * loading one into an empty target (no connection open). */
  int (*backup)(void *conn, const char *path, fg_error *err);
  int (*restore)(const char *target, const char *path, fg_error *err);
  int (*discard)(const char *target, fg_error *err);
  /* Optional (NULL: no notifications, fg_store_notify/listen/poll do nothing). */
  int (*notify)(void *conn, const char *channel, const char *payload, fg_error *err);
  int (*listen)(void *conn, const char *channel, fg_error *err);
  int (*poll)(void *conn, fg_notify_fn fn, void *ctx);
  /* Optional: counters (store.c fills `statements`). */
  void (*stats)(void *conn, fg_store_stats *out);
} fg__store_backend;

extern const fg__store_backend fg__store_sqlite;
extern const fg__store_backend fg__store_postgres;

/* For tests: the backend connection of st (store.c), and the number of
 * prepared statements a SQLite connection has cached (sqlite.c). */
void *fg__store_conn(fg_store *st);
int fg__sqlite_cached(void *conn);

/* schema_sqlite.c, schema_postgres.c (NULL-terminated) */
extern const char *const fg__sqlite_migrations[];
extern const char *const fg__postgres_migrations[];
/* Does the file at path begin with the n bytes of magic? FG_OK and *yes, or
 * FG_EIO naming the file (store.c; backends' restore uses it). */
int fg__store_file_starts_with(const char *path, const void *magic, size_t n, int *yes,
                               fg_error *err);
/* Entries of a NULL-terminated migration list (store.c). */
int fg__store_migration_count(const fg__store_backend *be);

/* PostgreSQL deadlines: past them a statement is cancelled and fails with
 * FG_EUNAVAILABLE. A commit waits for the synchronous standby at most
 * FG__STORE_COMMIT_TIMEOUT_MS (then it exists on the primary only: reported,
 * counted and logged). Environment overrides, in milliseconds, for tests and
 * operators: FACEGATE_STORE_TIMEOUT_MS, FACEGATE_STORE_COMMIT_TIMEOUT_MS. */
#define FG__STORE_TIMEOUT_MS 30000
#define FG__STORE_COMMIT_TIMEOUT_MS 5000

#endif
