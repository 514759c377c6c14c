/*
 * Records and figures: GET /v1/travellers?surname=&given_names=&date_of_birth=
 * or ?document=&issuing_state= (officer: finding a traveller by name or
 * document through the blind indexes, fg_border_traveller_find),
 * GET /v1/travellers/{ref}/crossings (officer),
 * GET /v1/overstays?as_of=YYYY-MM-DD (officer, supervisor),
 * GET /v1/reports/{date}?port=P and its chart GET
 * /v1/reports/{date}/chart.png (supervisor, auditor). The chart is drawn by
 * fg_border_report_plot into a private temporary file that is read back and
 * removed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server_internal.h"

int fg__route_traveller_find(fg__req *r) {
  fg_traveller_query q = {0};
  q.document = fg__query(r, "document");
  q.issuing_state = fg__query(r, "issuing_state");
  q.surname = fg__query(r, "surname");
  q.given_names = fg__query(r, "given_names");
  q.date_of_birth = fg__query(r, "date_of_birth");
  const char *limit = fg__query(r, "limit");
  if (limit && *limit) {
    char *end;
    long n = strtol(limit, &end, 10);
    if (*end || n < 1 || n > 200) return fg__fail(r, FG_EINVAL, "limit must be 1..200");
    q.limit = (int)n;
  }
  /* an empty parameter is no parameter (a form's untouched field) */
  if (q.document && !*q.document) q.document = NULL;
  if (q.issuing_state && !*q.issuing_state) q.issuing_state = NULL;
  if (q.surname && !*q.surname) q.surname = NULL;
  if (q.given_names && !*q.given_names) q.given_names = NULL;
  if (q.date_of_birth && !*q.date_of_birth) q.date_of_birth = NULL;
  fg_doc *out = NULL;
  fg_error e;
  int rc = fg_border_traveller_find(r->b, &r->actor, &q, &out, &e);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, out);
}

int fg__route_crossings(fg__req *r) {
  fg_doc *out = NULL;
  fg_error e;
  int rc = fg_border_crossings(r->b, &r->actor, r->params[0], &out, &e);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, out);
}

int fg__route_overstays(fg__req *r) {
  const char *as_of = fg__query(r, "as_of");
  int64_t t = fg_border_now(r->b);
  if (as_of && *as_of && fg_time_parse(as_of, &t) != FG_OK)
    return fg__fail(r, FG_EINVAL, "as_of must be a date YYYY-MM-DD");
  fg_doc *out = NULL;
  fg_error e;
  int rc = fg_border_overstays_at(r->b, &r->actor, t, fg__query(r, "site"), &out, &e);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  return fg__reply_doc(r, 200, out);
}

static int report(fg__req *r, fg_doc **out) {
  const char *port = fg__query(r, "port");
  int64_t t;
  if (strlen(r->params[0]) != 10 || fg_time_parse(r->params[0], &t) != FG_OK)
    return fg__fail(r, FG_EINVAL, "the date must be YYYY-MM-DD (got '%s')", r->params[0]);
  fg_error e;
  int rc = fg_border_report(r->b, &r->actor, r->params[0], port && *port ? port : NULL, out, &e);
  return rc == FG_OK ? FG_OK : fg__lib_fail(r, rc, &e);
}

int fg__route_report(fg__req *r) {
  fg_doc *out = NULL;
  int rc = report(r, &out);
  return rc == FG_OK ? fg__reply_doc(r, 200, out) : rc;
}

int fg__route_report_chart(fg__req *r) {
  fg_doc *rep = NULL;
  int rc = report(r, &rep);
  if (rc != FG_OK) return rc;
  const char *tmp = getenv("TMPDIR");
  char path[512];
  snprintf(path, sizeof path, "%s/facegate-chart-XXXXXX.png", tmp && *tmp ? tmp : "/tmp");
  int fd = mkstemps(path, 4);
  if (fd < 0) {
    fg_doc_free(rep);
    return fg__fail(r, FG_EIO, "cannot create a temporary file for the chart");
  }
  close(fd);
  fg_error e;
  rc = fg_border_report_plot(rep, path, &e);
  fg_doc_free(rep);
  uint8_t *png = NULL;
  size_t len = 0;
  if (rc == FG_OK) rc = fg__read_file(path, (size_t)16 << 20, &png, &len, &e);
  unlink(path);
  if (rc != FG_OK) return fg__lib_fail(r, rc, &e);
  r->raw = (char *)png;
  r->raw_len = len;
  r->raw_type = "image/png";
  r->status = 200;
  return FG_OK;
}
