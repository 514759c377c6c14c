/*
 * facegate/error.h — error codes and error messages shared by every module.
 *
 * Every library function that can fail returns an int: 0 (FG_OK) on success or a
 * negative FG_E* code. Functions that can say more take an optional `fg_error *`
 * where they leave a human-readable message naming what failed (a file, a node,
 * an attribute). Passing NULL is allowed and simply drops the message.
 *
 *     fg_error err;
 *     fg_model *m;
 *     if (fg_model_load_file("fr_feature.onnx", NULL, &m, &err) != FG_OK)
 *         fprintf(stderr, "%s: %s\n", fg_err_name(err.code), err.msg);
 *
 * Codes are generated from one table (FG_ERRNO_MAP); new codes go last and none is
 * ever removed, so their numeric values are stable across releases.
 */
#ifndef FACEGATE_ERROR_H
#define FACEGATE_ERROR_H

/*
 * The library is compiled with -fvisibility=hidden: what the public headers declare
 * between FG_API_BEGIN and FG_API_END is exported from libfacegate.so, and nothing
 * else (internal fg__ functions, the store's FG_Q_ queries, the ONNX protobuf code).
 * scripts/check-exports proves it on every `make test`.
 */
#if defined(__GNUC__) || defined(__clang__)
#define FG_API_BEGIN _Pragma("GCC visibility push(default)")
#define FG_API_END _Pragma("GCC visibility pop")
#else
#define FG_API_BEGIN
#define FG_API_END
#endif

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

#define FG_ERRNO_MAP(XX)                                                        \
  XX(INVAL,       -1, "invalid argument")                                      \
  XX(NOMEM,       -2, "out of memory")                                         \
  XX(IO,          -3, "input/output error")                                    \
  XX(FORMAT,      -4, "malformed or corrupt data")                             \
  XX(UNSUPPORTED, -5, "unsupported feature")                                   \
  XX(LIMIT,       -6, "size limit exceeded")                                   \
  XX(CHECKSUM,    -7, "checksum mismatch")                                     \
  XX(BACKEND,     -8, "inference backend failure")                             \
  XX(SHAPE,       -9, "tensor shape mismatch")                                 \
  XX(NOTFOUND,   -10, "not found")                                           \
  XX(MODEL,      -11, "made by another recognition model")                   \
  XX(PERM,       -12, "not permitted")                                       \
  XX(CONFLICT,   -13, "conflicts with the current state")                    \
  XX(AUTH,       -14, "authentication failed")                               \
  XX(UNAVAILABLE, -15, "temporarily unavailable; try again")

typedef enum fg_errcode {
  FG_OK = 0,
#define FG__ERR_ENUM(name, val, text) FG_E##name = (val),
  FG_ERRNO_MAP(FG__ERR_ENUM)
#undef FG__ERR_ENUM
} fg_errcode;

#define FG_ERROR_MSG_MAX 512

/* Caller-owned error record. `code` mirrors the return value, `msg` says why. */
typedef struct fg_error {
  int code;
  char msg[FG_ERROR_MSG_MAX];
} fg_error;

/* Static description of a code ("out of memory"); never NULL. */
const char *fg_strerror(int code);
/* Static symbolic name of a code ("FG_ENOMEM"); never NULL. */
const char *fg_err_name(int code);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
