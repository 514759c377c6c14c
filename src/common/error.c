/*
 * Error codes: names and descriptions generated from FG_ERRNO_MAP, plus the
 * internal helper that fills a caller's fg_error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/internal.h"

const char *fg_strerror(int code) {
  switch (code) {
  case FG_OK: return "success";
#define FG__ERR_STR(name, val, text) case FG_E##name: return text;
  FG_ERRNO_MAP(FG__ERR_STR)
#undef FG__ERR_STR
  default: return "unknown error";
  }
}

const char *fg_err_name(int code) {
  switch (code) {
  case FG_OK: return "FG_OK";
#define FG__ERR_NAME(name, val, text) case FG_E##name: return "FG_E" #name;
  FG_ERRNO_MAP(FG__ERR_NAME)
#undef FG__ERR_NAME
  default: return "FG_EUNKNOWN";
  }
}

int fg__err_prefix(fg_error *err, int code, const char *fmt, ...) {
  if (err) {
    char was[FG_ERROR_MSG_MAX];
    memcpy(was, err->msg, sizeof was);
    was[sizeof was - 1] = '\0';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof err->msg)
      snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", was);
    err->code = code;
  }
  return code;
}

int fg__seterr(fg_error *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}
