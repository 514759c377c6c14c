/*
 * Shared helpers for the cmocka unit tests: where the models, sample photos,
 * fixtures and LFW live (each overridable by an environment variable), and a
 * "skip with a reason" helper so a skipped test always says why.
 */
#ifndef FG_TESTUTIL_H
#define FG_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ftw.h>
#include <unistd.h>

#include <cmocka.h>

/* Directory holding the verified default models (scripts/setup puts them there). */
static inline const char *tu_models_dir(void) {
  const char *d = getenv("FACEGATE_MODELS");
  return d && *d ? d : "var/models";
}
/* The npm sample photos (@vladmandic/face-api demo/sample1..6.jpg). */
static inline const char *tu_samples_dir(void) {
  const char *d = getenv("FACEGATE_SAMPLES");
  return d && *d ? d : "var/samples";
}
/* LFW (deep-funneled) root; may be absent on a user's machine. */
static inline const char *tu_lfw_dir(void) {
  const char *d = getenv("FACEGATE_LFW");
  return d && *d ? d : "../shared/data/lfw";
}

static inline void tu_path(char *buf, size_t n, const char *dir, const char *file) {
  snprintf(buf, n, "%s/%s", dir, file);
}

static inline int tu_exists(const char *path) { return access(path, R_OK) == 0; }

/* Monotonic milliseconds, for bounded waits in tests (never for assertions on speed). */
static inline double fg__test_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Skip the current test, printing why (cmocka's skip() prints no reason). */
#define TU_SKIP(...)                                                            \
  do {                                                                          \
    fprintf(stderr, "[  SKIP    ] ");                                           \
    fprintf(stderr, __VA_ARGS__);                                               \
    fprintf(stderr, "\n");                                                      \
    skip();                                                                     \
  } while (0)

static inline int tu_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)ftw;
  return type == FTW_DP ? rmdir(path) : unlink(path);
}
/* Remove a test's scratch directory and everything in it (no shell). 0 on success. */
static inline int tu_rm_rf(const char *dir) { return nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* Read a whole file (test helper; aborts the test on failure). */
static inline uint8_t *tu_read(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) { print_error("cannot open %s\n", path); fail(); }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
  assert_non_null(p);
  assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return p;
}

#endif
