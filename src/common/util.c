/* Small shared utilities: whole-file reads with a size cap, SHA-256 in hex. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF)
 * without control characters. */
int fg__utf8_text(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return 0;
      i++;
      continue;
    }
    size_t k;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) k = 1, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) k = 2, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) k = 3, cp = c & 0x07;
    else return 0;
    if (n - i <= k) return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
      return 0;
    if (cp >= 0x80 && cp < 0xa0) return 0; /* C1 controls */
    i += k + 1;
  }
  return 1;
}
