/*
 * Allocation-failure injection for the test programs (tests/test_faults.c):
 * the Nth allocation fails, the way SQLite runs its tests with failing
 * mallocs. No LD_PRELOAD: the program is linked with
 *
 *     -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,
 *         --wrap=strndup,--wrap=aligned_alloc,--wrap=posix_memalign
 *     -Wl,--wrap=json_loadb,--wrap=json_loads,--wrap=json_load_file
 *
 * (Makefile, FAULT_WRAP), which sends every call to those functions made by
 * the library's objects (libfacegate.a is linked statically) and by the test
 * itself to the __wrap_* functions below; shared libraries keep their own
 * malloc. jansson, whose objects facegate builds and hands around as its
 * own, is routed here too (fa_install: json_set_alloc_funcs), so a failing
 * json_object() or json_dumps() counts. jansson's decoder is left out
 * (json_loadb, json_loads and json_load_file are wrapped too, and allocations
 * inside them are not counted): it reports most allocation failures with an
 * empty error and some as a syntax error ("invalid token"), so a caller
 * cannot tell them from bad input; what facegate does with a NULL from it is
 * the bad-input path the fuzz targets cover. SQLite, libpq, libpng, libjpeg
 * and libmicrohttpd allocate outside the count: their out-of-memory handling
 * is theirs to test.
 *
 * fa_arm(n, persist) makes the nth counted allocation from now fail (and,
 * with persist, every one after it); fa_disarm() stops counting and says
 * whether the failure happened. A thread can exempt itself (fa_exempt) so a
 * test's own client code is never counted. In the counting mode
 * (fa_arm(0, 0)) each allocation's call site is remembered: the first frame
 * in this program (the library, linked in) outside the wrapper and outside
 * jansson, and the one above it, so the harness can fail each site once
 * instead of every allocation on a long path.
 */
#ifndef FG_FAULTALLOC_H
#define FG_FAULTALLOC_H

#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t n);

/* The program's own text (linker-defined): frames outside it are in a shared library. */
extern char __executable_start[], etext[];

#define FA_MAX_SITES 200000

static atomic_int fa_on;         /* counting */
static atomic_long fa_count;     /* counted allocations since fa_arm */
static long fa_fail_at;          /* 0: record sites, fail nothing */
static int fa_persist;
static atomic_int fa_fired;      /* failures injected since fa_arm */
static _Thread_local int fa_exempt_here;
static pthread_mutex_t fa_site_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t *fa_sites;      /* counting mode: 2 frames per allocation */
static long fa_nsites;

static int fa_in_program(void *a) { return (char *)a >= __executable_start && (char *)a < etext; }

static uintptr_t fa_fired_site[2]; /* where the last injected failure happened */

/* The allocation's site: from the wrapper's return address ra (found in
 * the backtrace), the first two frames in this program: the library's
 * caller of malloc, or of the jansson function that allocated. */
static void fa_site_of(void *ra, uintptr_t site[2]) {
  void *bt[32];
  int n = backtrace(bt, 32), i = 0;
  while (i < n && bt[i] != ra) i++;
  site[0] = (uintptr_t)ra, site[1] = 0;
  for (int k = 0; i < n && k < 2; i++)
    if (fa_in_program(bt[i])) site[k++] = (uintptr_t)bt[i];
}

static void fa_record_site(void *ra) {
  uintptr_t site[2];
  fa_site_of(ra, site);
  pthread_mutex_lock(&fa_site_lock);
  if (fa_sites && fa_nsites < FA_MAX_SITES) {
    fa_sites[2 * fa_nsites] = site[0];
    fa_sites[2 * fa_nsites + 1] = site[1];
  }
  fa_nsites++;
  pthread_mutex_unlock(&fa_site_lock);
}

static _Thread_local int fa_in_decoder;
static atomic_int fa_paused;     /* fa_pause: no thread counts */

static int fa_should_fail(void *ra) {
  if (!atomic_load_explicit(&fa_on, memory_order_relaxed) || fa_exempt_here || fa_in_decoder ||
      atomic_load_explicit(&fa_paused, memory_order_relaxed))
    return 0;
  long k = atomic_fetch_add(&fa_count, 1) + 1;
  if (fa_fail_at == 0) {
    if (fa_sites) fa_record_site(ra);
    return 0;
  }
  if (k == fa_fail_at || (fa_persist && k > fa_fail_at)) {
    if (atomic_fetch_add(&fa_fired, 1) == 0) fa_site_of(ra, fa_fired_site);
    return 1;
  }
  return 0;
}

#define FA_FAIL fa_should_fail(__builtin_return_address(0))
void *__wrap_malloc(size_t n) { return FA_FAIL ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return FA_FAIL ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return FA_FAIL ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return FA_FAIL ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return FA_FAIL ? NULL : __real_strndup(s, n); }
void *__wrap_aligned_alloc(size_t align, size_t n) {
  return FA_FAIL ? NULL : __real_aligned_alloc(align, n);
}
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
  return FA_FAIL ? ENOMEM : __real_posix_memalign(p, align, n);
}

static void *fa_json_malloc(size_t n) { return FA_FAIL ? NULL : __real_malloc(n); }

json_t *__real_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *e);
json_t *__real_json_loads(const char *s, size_t flags, json_error_t *e);
json_t *__real_json_load_file(const char *path, size_t flags, json_error_t *e);
json_t *__wrap_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *e);
json_t *__wrap_json_loads(const char *s, size_t flags, json_error_t *e);
json_t *__wrap_json_load_file(const char *path, size_t flags, json_error_t *e);

#define FA_DECODE(call)                                                                            \
  do {                                                                                             \
    fa_in_decoder++;                                                                               \
    json_t *j = call;                                                                              \
    fa_in_decoder--;                                                                               \
    return j;                                                                                      \
  } while (0)

json_t *__wrap_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *e) {
  FA_DECODE(__real_json_loadb(buf, len, flags, e));
}
json_t *__wrap_json_loads(const char *s, size_t flags, json_error_t *e) {
  FA_DECODE(__real_json_loads(s, flags, e));
}
json_t *__wrap_json_load_file(const char *path, size_t flags, json_error_t *e) {
  FA_DECODE(__real_json_load_file(path, flags, e));
}

/* Route jansson through the counter (before any JSON value is made). */
static void fa_install(void) { json_set_alloc_funcs(fa_json_malloc, free); }

/* Exempt the calling thread (a test's HTTP client) from counting, or not. */
static void fa_exempt(int on) { fa_exempt_here = on; }

/* Stop counting in every thread (a check between the calls under test), or resume. */
static void fa_pause(int on) { atomic_store(&fa_paused, on); }

/* Fail the nth counted allocation from now (n >= 1; with persist, and every
 * one after it); n = 0 counts and records each allocation's site into
 * sites[2 * i], sites[2 * i + 1] (cap FA_MAX_SITES allocations; may be NULL). */
static void fa_arm(long n, int persist, uintptr_t *sites) {
  atomic_store(&fa_count, 0);
  atomic_store(&fa_fired, 0);
  fa_fail_at = n;
  fa_persist = persist;
  fa_sites = sites;
  fa_nsites = 0;
  atomic_store(&fa_on, 1);
}

/* Stop counting; the number of failures injected since fa_arm. */
static int fa_disarm(void) {
  atomic_store(&fa_on, 0);
  fa_sites = NULL;
  return atomic_load(&fa_fired);
}

/* Allocations counted since fa_arm. */
static long fa_counted(void) { return atomic_load(&fa_count); }

#endif
