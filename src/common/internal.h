/*
 * Internal helpers shared by all modules (not API). Names are fg__-prefixed.
 */
#ifndef FG_COMMON_INTERNAL_H
#define FG_COMMON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "facegate/error.h"

#if defined(__GNUC__)
#define FG__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FG__PRINTF(a, b)
#endif

/* Log a line through the sink set by fg_log_set (src/common/log.c); level
 * FG_LOG_ERROR, FG_LOG_WARN or FG_LOG_INFO. Nothing happens without a sink. */
void fg__log(int level, const char *fmt, ...) FG__PRINTF(2, 3);

/* Fill *err (if non-NULL) and return code, so callers can `return fg__seterr(...)`. */
int fg__seterr(fg_error *err, int code, const char *fmt, ...) FG__PRINTF(3, 4);
/* Put "PREFIX: " (PREFIX from fmt: a file's path, the step that failed) before
 * the message a callee left in *err (if non-NULL), set its code, return code. */
int fg__err_prefix(fg_error *err, int code, const char *fmt, ...) FG__PRINTF(3, 4);

/* Monotonic clock in milliseconds (stage timings). */
static inline double fg__ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Multiply with overflow detection: returns 0 and stores a*b, or -1 on overflow. */
static inline int fg__mul_size(size_t a, size_t b, size_t *out) {
  return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}

/* Read a whole file into malloc'd memory, refusing files above max_bytes. */
int fg__read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len, fg_error *err);

/* UTF-8 (RFC 3629), the one check the library has: the length of the
 * well-formed sequence at s, of at most avail bytes (no overlong forms, no
 * surrogates, nothing past U+10FFFF), 0 if there is none; */
size_t fg__utf8_seq(const unsigned char *s, size_t avail);
/* whether s[0..n) is well-formed UTF-8 throughout (what a JSON string holds); */
int fg__utf8_valid(const unsigned char *s, size_t n);
/* and whether it is besides free of control characters (C0, DEL, C1): text
 * that can go into JSON and a record. */
int fg__utf8_text(const unsigned char *s, size_t n);

/* The CPU features the library dispatches on (src/common/cpu.c): FG__CPU_* bits
 * for what this CPU has and its OS lets run. */
#define FG__CPU_AVX2 1u   /* AVX2 and FMA */
#define FG__CPU_AVX512 2u /* AVX-512 F, BW and VNNI */
#define FG__CPU_F16C 4u   /* F16C (with AVX) */
#define FG__CPU_AVX512_POPCNT 8u /* with FG__CPU_AVX512: VPOPCNTDQ and VL */
#define FG__CPU_AVX512_VNNI 16u  /* AVX-512 VNNI (int8 inference) */
#define FG__CPU_AVX512_BF16 32u  /* AVX-512 BF16 (bf16 inference) */
unsigned fg__cpu_features(void);

/* SHA-256 of a buffer as 64 lowercase hex characters plus NUL. */
void fg__sha256_hex(const uint8_t *data, size_t len, char hex[65]);

/* ---- json_limits.c: how many values a JSON text holds, and how deep ---- */

/* A running count over a JSON text fed in pieces (constant memory): each
 * string (member names included), scalar, array and object is one value.
 * Once a limit is passed the scan stops and stays over (sticky). */
#define FG__JSON_OVER_VALUES 1
#define FG__JSON_OVER_DEPTH 2
typedef struct fg__json_scan {
  size_t values, max_values;
  int depth, deepest, max_depth;
  int in_string, escape, in_scalar;
  int over; /* 0, FG__JSON_OVER_VALUES or FG__JSON_OVER_DEPTH */
} fg__json_scan;
void fg__json_scan_init(fg__json_scan *s, size_t max_values, int max_depth);
/* FG_OK while within the limits, FG_ELIMIT once past one. */
int fg__json_scan_feed(fg__json_scan *s, const char *p, size_t n);
/* FG_OK, or FG_ELIMIT with a message naming `what` and the limit passed. */
int fg__json_scan_error(const fg__json_scan *s, const char *what, fg_error *err);
/* The whole text at once. */
int fg__json_check(const char *p, size_t n, size_t max_values, int max_depth, const char *what,
                   fg_error *err);

/* ---- escaping for log lines ---- */

/* Copy s into out (cap bytes, NUL-terminated, cut if needed) with every
 * control character and backslash written as \n, \r, \t, \\ or \xHH, so that
 * a value quoted in a log line can never start a line of its own. */
void fg__escape_log(const char *s, char *out, size_t cap);

/* "YYYY-MM-DDTHH:MM:SSZ" for t (UTC). buf >= 21 bytes. */
void fg__iso_time(int64_t t, char buf[32]);
/* A JSON time member (a jansson json_t): string for t > 0, null otherwise.
 * Shared by the border layer and the service, which write times alike. */
struct json_t *fg__json_time(int64_t t);

#endif
