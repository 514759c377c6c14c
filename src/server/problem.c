/*
 * Errors as RFC 9457 problem documents (application/problem+json):
 * {type, title, status, detail, code}. `code` is stable: the library's
 * FG_E* name (FG_ENOTFOUND...), and `type` is derived from it
 * ("urn:facegate:error:notfound"). The HTTP status follows the code:
 * FG_EINVAL/FG_EFORMAT 400, FG_EAUTH 401, FG_EPERM 403, FG_ENOTFOUND 404,
 * FG_ECONFLICT 409, FG_ELIMIT 413, FG_EUNAVAILABLE 503 (with Retry-After:
 * the database is switching over or unreachable; nothing was recorded, or
 * an idempotent retry returns what was), anything else 500. The few problems that
 * come from HTTP itself (405, 415, 429) keep a code from the same list.
 * The detail often quotes the request (a path, a parameter, a query value)
 * and may be cut at any byte: anything that is not well-formed UTF-8 is
 * replaced with '?', since JSON text must be UTF-8 (jansson refuses it and
 * the problem would be sent with an empty body).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "server/server_internal.h"

int fg__problem_status(int code) {
  switch (code) {
  case FG_EINVAL:
  case FG_EFORMAT: return 400;
  case FG_EAUTH: return 401;
  case FG_EPERM: return 403;
  case FG_ENOTFOUND: return 404;
  case FG_ECONFLICT: return 409;
  case FG_ELIMIT: return 413;
  case FG_EUNAVAILABLE: return 503;
  default: return 500;
  }
}

static const char *title_of(int status) {
  switch (status) {
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 413: return "Content Too Large";
  case 415: return "Unsupported Media Type";
  case 429: return "Too Many Requests";
  case 503: return "Service Unavailable";
  default: return "Internal Server Error";
  }
}

json_t *fg__problem(int status, const char *code, const char *detail) {
  char text[FG_ERROR_MSG_MAX];
  size_t k = 0, left = strlen(detail ? detail : "");
  for (const unsigned char *d = (const unsigned char *)(detail ? detail : ""); *d && k + 1 < sizeof text;) {
    size_t n = fg__utf8_seq(d, left);
    if (n == 0 || k + n >= sizeof text) {
      text[k++] = '?';
      d++, left--;
      continue;
    }
    memcpy(text + k, d, n);
    k += n;
    d += n, left -= n;
  }
  text[k] = '\0';

  char type[64] = "urn:facegate:error:";
  size_t at = strlen(type);
  const char *c = strncmp(code, "FG_E", 4) == 0 ? code + 4 : code;
  for (; *c && at + 1 < sizeof type; c++) type[at++] = (char)tolower((unsigned char)*c);
  type[at] = '\0';
  return json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", title_of(status), "status",
                   status, "detail", text, "code", code);
}

fg_doc *fg_problem_json(int code, const char *detail) {
  return fg__doc(fg__problem(fg__problem_status(code), fg_err_name(code), detail));
}
