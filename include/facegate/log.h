/*
 * facegate/log.h — where the library's log lines go.
 *
 * The library never prints. A program that wants its lines (`facegate serve`
 * sends them to stderr) sets one sink before it starts work; without one
 * they go nowhere. Lines are single, without a newline, and never carry a
 * token, a key, personal or biometric data. Who logs: the server (requests,
 * failures, the purge timer) and the store (a lost database connection, a
 * commit the synchronous standby did not confirm).
 *
 *     static void to_stderr(void *ctx, int level, const char *line) {
 *       fprintf(stderr, "%d %s\n", level, line);
 *     }
 *     fg_log_set(to_stderr, NULL);
 *
 * Threads: fg_log_set is meant to be called once, before other threads run;
 * the sink is then called from any thread (it must be thread-safe).
 */
#ifndef FACEGATE_LOG_H
#define FACEGATE_LOG_H

#include "facegate/error.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

#define FG_LOG_ERROR 0
#define FG_LOG_WARN 1
#define FG_LOG_INFO 2

/* The sink (NULL: nowhere, the default). The only process-wide mutable state
 * of the library. */
typedef void (*fg_log_fn)(void *ctx, int level, const char *line);
void fg_log_set(fg_log_fn fn, void *ctx);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
