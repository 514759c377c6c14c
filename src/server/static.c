/*
 * The officer console's static files (web/, or --web DIR): GET / is
 * index.html, any other path outside /v1/ a file under the directory. Paths
 * with "..", hidden segments or anything that resolves outside the directory
 * (symbolic links included) are 404, as is a missing directory. No role is
 * needed: the console signs in with a token through the API.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

#define MAX_STATIC_BYTES ((size_t)32 << 20)

static const char *type_of(const char *path) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
      {".jpg", "image/jpeg"}, {".ico", "image/x-icon"}, {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"}, {".map", "application/json"},
  };
  const char *dot = strrchr(path, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
    if (strcmp(dot, types[i].ext) == 0) return types[i].type;
  return "application/octet-stream";
}

/* Each segment non-empty, not starting with '.', no backslash. */
static int safe_path(const char *p) {
  if (*p != '/') return 0;
  for (const char *s = p + 1; *s;) {
    if (*s == '.' || *s == '/') return 0;
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (memchr(s, '\\', n)) return 0;
    s += n;
    if (*s == '/') s++;
  }
  return 1;
}

int fg__serve_static(fg__req *r) {
  const char *dir = r->srv->web_dir;
  const char *rel = strcmp(r->path, "/") == 0 ? "/index.html" : r->path;
  if (!dir || !safe_path(rel)) return fg__fail(r, FG_ENOTFOUND, "no such file %s", r->path);
  char root[PATH_MAX], want[PATH_MAX], real[PATH_MAX];
  if (!realpath(dir, root)) return fg__fail(r, FG_ENOTFOUND, "no such file %s", r->path);
  if ((size_t)snprintf(want, sizeof want, "%s%s", root, rel) >= sizeof want || !realpath(want, real))
    return fg__fail(r, FG_ENOTFOUND, "no such file %s", r->path);
  size_t rl = strlen(root);
  if (strncmp(real, root, rl) != 0 || real[rl] != '/')
    return fg__fail(r, FG_ENOTFOUND, "no such file %s", r->path);
  uint8_t *data;
  size_t len;
  fg_error e;
  int rc = fg__read_file(real, MAX_STATIC_BYTES, &data, &len, &e);
  if (rc == FG_ENOMEM) return fg__lib_fail(r, rc, &e);
  if (rc != FG_OK) return fg__fail(r, FG_ENOTFOUND, "no such file %s", r->path);
  r->raw = (char *)data;
  r->raw_len = len;
  r->raw_type = type_of(real);
  r->status = 200;
  return FG_OK;
}
