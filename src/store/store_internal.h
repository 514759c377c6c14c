/*
 * The storage backend function table (not API). fg_store (store.c) holds one
 * backend and its connection and implements transactions' nesting, the
 * migrations and the conveniences; a backend only talks to its database.
 * SQLite: sqlite.c. A PostgreSQL backend adds a file beside it and an entry
 * in store.c's scheme table; nothing above src/store/ changes.
 */
#ifndef FG_STORE_INTERNAL_H
#define FG_STORE_INTERNAL_H

#include "facegate/store.h"

typedef struct fg__store_backend {
  const char *name;
  /* Connect to target (the part after "scheme:"), creating it if allowed. */
  int (*open)(const char *target, unsigned flags, void **conn, fg_error *err);
  void (*close)(void *conn);
  /* Run one or more statements without parameters or rows (DDL, BEGIN...). */
  int (*exec_script)(void *conn, const char *sql, fg_error *err);
  /* Run a named query; the backend may cache its prepared form by &q. */
  int (*exec)(void *conn, const fg_query *q, const fg_val *params, int np, fg_row_fn fn,
              void *ctx, fg_error *err);
  int64_t (*changes)(void *conn);
  /* Optional (NULL: FG_EUNSUPPORTED). */
  int (*backup)(void *conn, const char *path, fg_error *err);
  /* Optional (NULL: not checked): the number of tables in the database, so
   * that opening someone else's database is refused rather than migrated. */
  int (*count_tables)(void *conn, int64_t *n, fg_error *err);
  /* Optional (NULL: nothing to do): make deletions physical (SQLite: checkpoint
   * and truncate the WAL). */
  int (*flush)(void *conn, fg_error *err);
} fg__store_backend;

extern const fg__store_backend fg__store_sqlite;

/* For tests: the backend connection of st (store.c), and the number of
 * prepared statements a SQLite connection has cached (sqlite.c). */
void *fg__store_conn(fg_store *st);
int fg__sqlite_cached(void *conn);

/* schema.c: migration i takes version i to i + 1. */
extern const char *const fg__store_migrations[];
extern const int fg__store_migration_count;

#endif
