/*
 * What postgres.c and postgres_dump.c share (not API): the connection's URI
 * for the pg_dump / pg_restore child processes, and the two file operations
 * of the PostgreSQL backend's function table.
 */
#ifndef FG_STORE_POSTGRES_INTERNAL_H
#define FG_STORE_POSTGRES_INTERNAL_H

#include "facegate/error.h"

/* The URI the connection was opened with (password included: never print). */
const char *fg__pg_uri(void *conn);
/* pg_dump -Fc of the connected database into a new 0600 file at path. */
int fg__pg_backup(void *conn, const char *path, fg_error *err);
/* pg_restore of a custom-format dump into the empty database at uri. */
int fg__pg_restore(const char *uri, const char *path, fg_error *err);
/* Drop and re-create the current schema of the database at uri (undoing a restore). */
int fg__pg_discard(const char *uri, fg_error *err);

#endif
