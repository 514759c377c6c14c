/*
 * The key file: reading, creating and rotating it. Text, one item a line:
 *
 *     facegate-keyring 1
 *     audit <64 hex>
 *     key <id> <64 hex> current
 *     key <id> <64 hex>            (only during a rotation)
 *     end
 *
 * Ids are decimal 1..4294967295 without leading zeros, unique; exactly one
 * key is current; the closing "end" line makes a truncated file detectable.
 * Anything else (other lines, spaces, CR, a missing final newline) is
 * FG_EFORMAT. The file must be a regular file not accessible by group or
 * others (FG_EPERM otherwise). Every write goes to a fresh temporary file
 * beside it (O_CREAT|O_EXCL, mode 0600), is fsync'd, and then link()ed into
 * place (creation: fails if another process won the race, whose file is then
 * read) or rename()d over it (rotation), and the directory is fsync'd.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/internal.h"
#include "secure/secure_internal.h"

#define MAX_FILE 4096
#define HEADER "facegate-keyring 1"

int fg__sodium_ready(fg_error *err) {
  if (sodium_init() < 0) return fg__seterr(err, FG_EIO, "libsodium failed to initialise");
  return FG_OK;
}

const fg__data_key *fg__keyring_find(const fg_keyring *kr, uint32_t id) {
  for (int i = 0; i < kr->nkeys; i++)
    if (kr->keys[i].id == id) return &kr->keys[i];
  return NULL;
}

static fg_keyring *kr_alloc(void) {
  fg_keyring *kr = sodium_malloc(sizeof *kr);
  if (kr) sodium_memzero(kr, sizeof *kr);
  return kr;
}

void fg_keyring_destroy(fg_keyring *kr) {
  if (!kr) return;
  sodium_memzero(kr, sizeof *kr);
  sodium_free(kr);
}

uint32_t fg_keyring_current(const fg_keyring *kr) { return kr->current; }
int fg_keyring_count(const fg_keyring *kr) { return kr->nkeys; }

/* 64 hex characters exactly → 32 bytes. */
static int parse_hex32(const char *s, size_t n, uint8_t out[FG__KEY_BYTES]) {
  if (n != 2 * FG__KEY_BYTES) return -1;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return -1;
  size_t got = 0;
  if (sodium_hex2bin(out, FG__KEY_BYTES, s, n, NULL, &got, NULL) != 0 || got != FG__KEY_BYTES)
    return -1;
  return 0;
}

static int parse_id(const char *s, size_t n, uint32_t *id) {
  if (n == 0 || n > 10 || s[0] == '0') return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v > UINT32_MAX) return -1;
  *id = (uint32_t)v;
  return 0;
}

/* Parse one line (without its newline) into kr. */
static int parse_line(fg_keyring *kr, const char *l, size_t n, int *have_audit, int *ncurrent) {
  if (n == 70 && memcmp(l, "audit ", 6) == 0) {
    if (*have_audit) return -1;
    *have_audit = 1;
    return parse_hex32(l + 6, 64, kr->audit);
  }
  if (n < 4 || memcmp(l, "key ", 4) != 0) return -1;
  const char *id = l + 4, *sp = memchr(id, ' ', n - 4);
  if (!sp || kr->nkeys == FG__KEYRING_MAX) return -1;
  fg__data_key *k = &kr->keys[kr->nkeys];
  if (parse_id(id, (size_t)(sp - id), &k->id) || fg__keyring_find(kr, k->id)) return -1;
  const char *hex = sp + 1, *end = l + n;
  if (end - hex < 64 || parse_hex32(hex, 64, k->key)) return -1;
  if (end - hex == 72 && memcmp(hex + 64, " current", 8) == 0) {
    (*ncurrent)++;
    kr->current = k->id;
  } else if (end - hex != 64) {
    return -1;
  }
  kr->nkeys++;
  return 0;
}

static int parse(fg_keyring *kr, const char *buf, size_t len, const char *path, fg_error *err) {
  size_t at = 0;
  int line = 0, have_audit = 0, ncurrent = 0, ended = 0;
  while (at < len) {
    const char *l = buf + at, *nl = memchr(l, '\n', len - at);
    line++;
    if (!nl || ended) goto bad;
    size_t n = (size_t)(nl - l);
    at += n + 1;
    if (line == 1) {
      if (n != strlen(HEADER) || memcmp(l, HEADER, n)) goto bad;
    } else if (n == 3 && memcmp(l, "end", 3) == 0) {
      ended = 1;
    } else if (parse_line(kr, l, n, &have_audit, &ncurrent)) {
      goto bad;
    }
  }
  if (!ended || !have_audit || kr->nkeys == 0 || ncurrent != 1)
    return fg__seterr(err, FG_EFORMAT,
                      "key file %s: incomplete (needs a header, an audit key, exactly one current "
                      "data key and an end line)",
                      path);
  return FG_OK;
bad:
  return fg__seterr(err, FG_EFORMAT, "key file %s: line %d is malformed or out of place", path,
                    line);
}

/* The file's text; the caller wipes and frees it. */
static char *render(const fg_keyring *kr, size_t *len) {
  size_t cap = 64 + 80 + (size_t)kr->nkeys * 96;
  char *s = malloc(cap);
  if (!s) return NULL;
  size_t n = (size_t)snprintf(s, cap, HEADER "\naudit ");
  sodium_bin2hex(s + n, cap - n, kr->audit, FG__KEY_BYTES);
  n += 64;
  s[n++] = '\n';
  for (int i = 0; i < kr->nkeys; i++) {
    n += (size_t)snprintf(s + n, cap - n, "key %u ", kr->keys[i].id);
    sodium_bin2hex(s + n, cap - n, kr->keys[i].key, FG__KEY_BYTES);
    n += 64;
    n += (size_t)snprintf(s + n, cap - n, "%s\n", kr->keys[i].id == kr->current ? " current" : "");
  }
  n += (size_t)snprintf(s + n, cap - n, "end\n");
  *len = n;
  return s;
}

static void fsync_dir(const char *path) {
  char *copy = strdup(path);
  if (!copy) return;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(copy);
}

/* Write kr to path through a temporary file: link() when create (EEXIST if
 * the file appeared meanwhile), else rename() over it. */
static int write_file(const fg_keyring *kr, const char *path, int create, fg_error *err) {
  char tmp[4096];
  unsigned char rnd[8];
  char rhex[17];
  randombytes_buf(rnd, sizeof rnd);
  sodium_bin2hex(rhex, sizeof rhex, rnd, sizeof rnd);
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%s", path, rhex) >= sizeof tmp)
    return fg__seterr(err, FG_EINVAL, "key file path too long");
  size_t len = 0;
  char *text = render(kr, &len);
  if (!text) return fg__seterr(err, FG_ENOMEM, "key file %s: out of memory", path);
  int rc = FG_OK;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    rc = fg__seterr(err, FG_EIO, "key file %s: cannot create %s: %s", path, tmp, strerror(errno));
    goto out;
  }
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(fd, text + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += (size_t)w;
  }
  if (done != len || fsync(fd) != 0) {
    rc = fg__seterr(err, FG_EIO, "key file %s: cannot write %s: %s", path, tmp, strerror(errno));
    close(fd);
    unlink(tmp);
    goto out;
  }
  close(fd);
  if (create ? link(tmp, path) != 0 : rename(tmp, path) != 0) {
    rc = errno == EEXIST ? FG_ECONFLICT
                         : fg__seterr(err, FG_EIO, "key file %s: %s", path, strerror(errno));
    unlink(tmp);
    goto out;
  }
  if (create) unlink(tmp);
  fsync_dir(path);
out:
  sodium_memzero(text, len);
  free(text);
  return rc;
}

static int fresh_key(fg_keyring *kr, uint32_t id) {
  if (kr->nkeys == FG__KEYRING_MAX) return -1;
  fg__data_key *k = &kr->keys[kr->nkeys++];
  k->id = id;
  randombytes_buf(k->key, FG__KEY_BYTES);
  kr->current = id;
  return 0;
}

static int read_keyring(const char *path, fg_keyring *kr, fg_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int e = errno;
    return fg__seterr(err, e == ENOENT ? FG_ENOTFOUND : FG_EIO, "key file %s: %s", path,
                      strerror(e));
  }
  struct stat sb;
  char *buf = NULL;
  int rc = FG_OK;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    rc = fg__seterr(err, FG_EIO, "key file %s: not a regular file", path);
  } else if (sb.st_mode & 077) {
    rc = fg__seterr(err, FG_EPERM,
                    "key file %s: mode %03o lets group or others at the keys; chmod 600 it", path,
                    (unsigned)(sb.st_mode & 0777));
  } else if (sb.st_size > MAX_FILE) {
    rc = fg__seterr(err, FG_EFORMAT, "key file %s: too large to be a key file", path);
  } else if (!(buf = sodium_malloc(MAX_FILE + 1))) {
    rc = fg__seterr(err, FG_ENOMEM, "key file %s: out of memory", path);
  } else {
    size_t len = 0;
    for (;;) {
      ssize_t r = read(fd, buf + len, MAX_FILE + 1 - len);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) rc = fg__seterr(err, FG_EIO, "key file %s: %s", path, strerror(errno));
      if (r <= 0 || (len += (size_t)r) > MAX_FILE) break;
    }
    if (rc == FG_OK && len > MAX_FILE)
      rc = fg__seterr(err, FG_EFORMAT, "key file %s: too large to be a key file", path);
    if (rc == FG_OK) rc = parse(kr, buf, len, path, err);
    sodium_free(buf); /* wipes */
  }
  close(fd);
  return rc;
}

int fg_keyring_open(const char *path, unsigned flags, fg_keyring **out, fg_error *err) {
  if (!out) return fg__seterr(err, FG_EINVAL, "fg_keyring_open: out is NULL");
  *out = NULL;
  if (!path || !*path) return fg__seterr(err, FG_EINVAL, "fg_keyring_open: empty path");
  int rc = fg__sodium_ready(err);
  if (rc != FG_OK) return rc;
  fg_keyring *kr = kr_alloc();
  if (!kr) return fg__seterr(err, FG_ENOMEM, "key file %s: out of memory", path);
  rc = read_keyring(path, kr, err);
  if (rc == FG_ENOTFOUND && (flags & FG_KEYRING_CREATE)) {
    sodium_memzero(kr, sizeof *kr);
    randombytes_buf(kr->audit, FG__KEY_BYTES);
    fresh_key(kr, 1);
    rc = write_file(kr, path, 1, err);
    if (rc == FG_ECONFLICT) { /* another process created it first: use theirs */
      sodium_memzero(kr, sizeof *kr);
      rc = read_keyring(path, kr, err);
    }
  }
  if (rc != FG_OK) {
    fg_keyring_destroy(kr);
    return rc;
  }
  fg__token_derive(kr);
  *out = kr;
  return FG_OK;
}

int fg_keyring_rotate_begin(fg_keyring *kr, const char *path, fg_error *err) {
  if (kr->nkeys > 1)
    return fg__seterr(err, FG_ECONFLICT,
                      "key file %s: a rotation is already under way; finish it first", path);
  uint32_t id = kr->keys[0].id;
  if (id == UINT32_MAX) return fg__seterr(err, FG_ELIMIT, "key file %s: key ids exhausted", path);
  uint32_t old = kr->current;
  fresh_key(kr, id + 1);
  int rc = write_file(kr, path, 0, err);
  if (rc != FG_OK) { /* the file still holds the old key alone */
    kr->nkeys--;
    sodium_memzero(&kr->keys[kr->nkeys], sizeof kr->keys[0]);
    kr->current = old;
  }
  return rc;
}

int fg_keyring_rotate_finish(fg_keyring *kr, const char *path, fg_error *err) {
  if (kr->nkeys == 1) return FG_OK;
  fg_keyring *next = kr_alloc();
  if (!next) return fg__seterr(err, FG_ENOMEM, "key file %s: out of memory", path);
  memcpy(next->audit, kr->audit, FG__KEY_BYTES);
  next->keys[0] = *fg__keyring_find(kr, kr->current);
  next->nkeys = 1;
  next->current = kr->current;
  int rc = write_file(next, path, 0, err);
  if (rc == FG_OK) {
    for (int i = 0; i < kr->nkeys; i++) sodium_memzero(&kr->keys[i], sizeof kr->keys[i]);
    kr->keys[0] = next->keys[0];
    kr->nkeys = 1;
  }
  fg_keyring_destroy(next);
  return rc;
}
