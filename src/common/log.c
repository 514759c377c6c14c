/*
 * The library's logger (facegate/log.h): one sink, set by the program
 * (`facegate serve` sends it to stderr), silent by default so that the
 * library never prints on its own. The server logs requests and failures, the
 * store a lost connection or a commit the synchronous standby did not confirm;
 * never tokens, keys, personal or biometric data. Every line is passed
 * through fg__escape_log, so control characters in a quoted value (a "%0a" in
 * a request path) show as escapes and cannot forge a line. The sink is the one piece of
 * process-wide mutable state the library keeps, set once before work starts.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

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
  char line[1024], safe[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* One event, one line: whatever a caller quoted (a path, a database's
   * message) cannot forge a line of its own. */
  fg__escape_log(line, safe, sizeof safe);
  fn(atomic_load(&sink_ctx), level, safe);
}

void fg__escape_log(const char *s, char *out, size_t cap) {
  static const char HEX[] = "0123456789abcdef";
  size_t k = 0;
  if (!cap) return;
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    char esc[5];
    size_t n = 0;
    unsigned c = *p;
    if (c == '\n') esc[n++] = '\\', esc[n++] = 'n';
    else if (c == '\r') esc[n++] = '\\', esc[n++] = 'r';
    else if (c == '\t') esc[n++] = '\\', esc[n++] = 't';
    else if (c == '\\') esc[n++] = '\\', esc[n++] = '\\';
    else if (c < 0x20 || c == 0x7f)
      esc[n++] = '\\', esc[n++] = 'x', esc[n++] = HEX[c >> 4], esc[n++] = HEX[c & 15];
    else esc[n++] = (char)c;
    if (k + n >= cap) break;
    memcpy(out + k, esc, n);
    k += n;
  }
  out[k] = '\0';
}
