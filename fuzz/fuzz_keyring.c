/*
 * libFuzzer target: the key file reader (fg_keyring_open). Each input is
 * written to a temporary file of mode 0600 and opened as a keyring; one that
 * opens must then seal and unseal, hash a token, and survive a rotation
 * begin/finish on its own file, after which a re-open must find the same
 * current key. Seeds: fuzz/corpus/fuzz_keyring (a fresh key file and one in
 * mid-rotation); tests/test_secure.c re-runs that folder in `make test`.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facegate/secure.h"

static char dir[64];

static int put(const char *path, const uint8_t *data, size_t size) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  fchmod(fd, 0600);
  size_t done = 0;
  while (done < size) {
    ssize_t w = write(fd, data + done, size - done);
    if (w <= 0) break;
    done += (size_t)w;
  }
  close(fd);
  return done == size ? 0 : -1;
}

static void exercise(fg_keyring *kr, const char *path) {
  fg_error e;
  uint8_t *s, *p;
  size_t sn, pn;
  if (fg_seal(kr, "x", 1, "ad", &s, &sn, &e) != FG_OK) abort();
  if (fg_unseal(kr, s, sn, "ad", &p, &pn, &e) != FG_OK || pn != 1 || p[0] != 'x') abort();
  free(p);
  free(s);
  uint8_t h[32];
  fg_token_hash(kr, "fgt_x", h);
  if (fg_keyring_count(kr) == 1 && fg_keyring_rotate_begin(kr, path, &e) == FG_OK &&
      fg_keyring_count(kr) != 2)
    abort();
  if (fg_keyring_rotate_finish(kr, path, &e) != FG_OK) return;
  fg_keyring *again;
  if (fg_keyring_open(path, 0, &again, &e) != FG_OK) abort();
  if (fg_keyring_current(again) != fg_keyring_current(kr) || fg_keyring_count(again) != 1) abort();
  fg_keyring_destroy(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/fg_fuzz_keyring_XXXXXX");
    if (!mkdtemp(dir)) abort();
  }
  char path[96];
  snprintf(path, sizeof path, "%s/k", dir);
  if (put(path, data, size) != 0) return 0;
  fg_keyring *kr;
  fg_error e;
  if (fg_keyring_open(path, 0, &kr, &e) == FG_OK) {
    exercise(kr, path);
    fg_keyring_destroy(kr);
  }
  unlink(path);
  return 0;
}
