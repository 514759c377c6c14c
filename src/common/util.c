/* Small shared utilities: whole-file reads with a size cap, SHA-256 in hex. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include <sodium.h>

#include "common/internal.h"

int fg__read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len, fg_error *err) {
  *data = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return fg__seterr(err, errno == ENOENT ? FG_ENOTFOUND : FG_EIO, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return fg__seterr(err, FG_EINVAL, "%s: %s", path,
                      S_ISDIR(st.st_mode) ? "a directory, not a file" : "not a regular file");
  }
  if ((size_t)st.st_size > max_bytes) {
    fclose(f);
    return fg__seterr(err, FG_ELIMIT, "%s: %lld bytes exceeds the limit of %zu", path, (long long)st.st_size, max_bytes);
  }
  size_t n = (size_t)st.st_size;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) {
    fclose(f);
    return fg__seterr(err, FG_ENOMEM, "%s: out of memory", path);
  }
  if (fread(buf, 1, n, f) != n) {
    free(buf);
    fclose(f);
    return fg__seterr(err, FG_EIO, "%s: read error", path);
  }
  fclose(f);
  *data = buf;
  *len = n;
  return FG_OK;
}

void fg__sha256_hex(const uint8_t *data, size_t len, char hex[65]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, data, len);
  sodium_bin2hex(hex, 65, h, sizeof h);
}

size_t fg__utf8_seq(const unsigned char *s, size_t avail) {
  if (avail == 0) return 0;
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n == 0 || n > avail) return 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xc0) != 0x80) return 0;
  /* overlong 3- and 4-byte forms, surrogates, past U+10FFFF */
  if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
      (c == 0xf4 && s[1] > 0x8f))
    return 0;
  return n;
}

int fg__utf8_valid(const unsigned char *s, size_t n) {
  for (size_t i = 0, k; i < n; i += k)
    if (!(k = fg__utf8_seq(s + i, n - i))) return 0;
  return 1;
}

int fg__utf8_text(const unsigned char *s, size_t n) {
  for (size_t i = 0, k; i < n; i += k) {
    if (!(k = fg__utf8_seq(s + i, n - i))) return 0;
    if (s[i] < 0x20 || s[i] == 0x7f || (s[i] == 0xc2 && s[i + 1] < 0xa0)) return 0; /* C0, DEL, C1 */
  }
  return 1;
}

void fg__iso_time(int64_t t, char buf[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *fg__json_time(int64_t t) {
  if (t <= 0) return json_null();
  char buf[32];
  fg__iso_time(t, buf);
  return json_string(buf);
}
