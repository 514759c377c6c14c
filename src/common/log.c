/*
 * The library's logger (facegate/log.h): one sink, set by the program
 * (`facegate serve` sends it to stderr), silent by default so that the
 * library never prints on its own. The server logs requests and failures, the
 * store a lost connection or a commit the synchronous standby did not confirm;
 * never tokens, keys, personal or biometric data. The sink is the one piece of
 * process-wide mutable state the library keeps, set once before work starts.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "common/internal.h"
#include "facegate/log.h"

static _Atomic(fg_log_fn) sink;
static void *_Atomic sink_ctx;

void fg_log_set(fg_log_fn fn, void *ctx) {
  atomic_store(&sink_ctx, ctx);
  atomic_store(&sink, fn);
}

void fg__log(int level, const char *fmt, ...) {
  fg_log_fn fn = atomic_load(&sink);
  if (!fn) return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fn(atomic_load(&sink_ctx), level, line);
}
