/*
 * facegate/template.h — biometric templates: an L2-normalised face embedding
 * tied to the recognition model that made it, its versioned binary encoding
 * (fp32 or fp16), comparison by cosine similarity, and the calibration file
 * that turns a false-match rate into a score threshold.
 *
 *     fg_template a, b;
 *     fg_template_init(&a, r->embedding, r->dim, model_id, &e);   // normalises
 *     uint8_t buf[FG_TEMPLATE_MAX_BYTES]; size_t n;
 *     fg_template_encode(&a, FG_TEMPLATE_FP16, buf, sizeof buf, &n, &e);
 *     fg_template_decode(buf, n, model_id, &b, &e);               // refuses another model's
 *     float s;
 *     fg_template_compare(&a, &b, &s, &e);                        // cosine, -1..1
 *     fg_template_release(&a); fg_template_release(&b);
 *
 * Encoding (all integers little-endian; docs/pipeline.md has the table):
 *
 *   offset size  field
 *   0      4     magic "FGT1"
 *   4      1     format version (1)
 *   5      1     element type: 1 = fp32, 2 = fp16 (IEEE 754 binary16)
 *   6      1     flags: bit 0 = L2-normalised (always set by this version)
 *   7      1     reserved, 0
 *   8      8     model id: first 8 bytes of the recognition model file's SHA-256
 *   16     2     dimension n (1..FG_TEMPLATE_MAX_DIM)
 *   18     2     reserved, 0
 *   20     n*4 or n*2   the values
 *   end-4  4     checksum: first 4 bytes of SHA-256 over every byte before it
 *
 * Decoding checks every field and the exact length before reading values,
 * then the checksum, then the model, then that every value is finite and the
 * vector's norm is 1 within the encoding's precision. fp16 values are
 * rounded to nearest even (F16C instructions where the CPU has them, the
 * same result in portable C otherwise).
 *
 * Everything here is reentrant; an fg_template may be read from several
 * threads at once.
 */
#ifndef FACEGATE_TEMPLATE_H
#define FACEGATE_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/error.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

#define FG_TEMPLATE_MAGIC "FGT1"
#define FG_TEMPLATE_VERSION 1
#define FG_TEMPLATE_MAX_DIM 4096
#define FG_TEMPLATE_HEADER_BYTES 20
#define FG_TEMPLATE_CHECKSUM_BYTES 4
#define FG_TEMPLATE_MODEL_ID_BYTES 8
/* Largest encoding: fp32 at FG_TEMPLATE_MAX_DIM. */
#define FG_TEMPLATE_MAX_BYTES (FG_TEMPLATE_HEADER_BYTES + 4 * FG_TEMPLATE_MAX_DIM + FG_TEMPLATE_CHECKSUM_BYTES)

typedef enum fg_template_type { FG_TEMPLATE_FP32 = 1, FG_TEMPLATE_FP16 = 2 } fg_template_type;

#define FG_TEMPLATE_FLAG_NORMALISED 0x01u

/* A template in memory: always float32 values, L2-normalised. Caller-owned
 * struct; fg_template_release frees `values`. */
typedef struct fg_template {
  uint8_t model_id[FG_TEMPLATE_MODEL_ID_BYTES];
  int dim;
  fg_template_type type; /* encoding it was decoded from (FG_TEMPLATE_FP32 after init) */
  float *values;         /* dim floats */
} fg_template;

/* Set up *t from an embedding (copied, then L2-normalised). FG_EINVAL for a
 * dimension outside 1..FG_TEMPLATE_MAX_DIM, a non-finite value or a zero
 * vector; on error *t is zeroed. */
int fg_template_init(fg_template *t, const float *values, int dim,
                     const uint8_t model_id[FG_TEMPLATE_MODEL_ID_BYTES], fg_error *err);
/* Free the values and zero the struct; NULL or a released template is fine. */
void fg_template_release(fg_template *t);

/* Bytes fg_template_encode writes for dim values of type; 0 if invalid. */
size_t fg_template_encoded_size(int dim, fg_template_type type);
/* Encode into buf (cap bytes; FG_ELIMIT if too small), length in *len. */
int fg_template_encode(const fg_template *t, fg_template_type type, uint8_t *buf, size_t cap,
                       size_t *len, fg_error *err);
/* Decode and check (see above). expect_model: refuse (FG_EMODEL, naming both
 * ids) a template made by another model; NULL accepts any model. Errors:
 * FG_EFORMAT (magic, version, type, flags, reserved bytes, length, values),
 * FG_ECHECKSUM, FG_EMODEL (model), FG_ENOMEM. On error *out is zeroed. */
int fg_template_decode(const uint8_t *buf, size_t len,
                       const uint8_t expect_model[FG_TEMPLATE_MODEL_ID_BYTES], fg_template *out,
                       fg_error *err);
/* Cosine similarity (the dot product of the normalised vectors), -1..1.
 * FG_EMODEL when the models differ, FG_EINVAL when the dimensions do (both named). */
int fg_template_compare(const fg_template *a, const fg_template *b, float *score, fg_error *err);

/* Dot product of n floats (double accumulation). */
float fg_dot(const float *a, const float *b, size_t n);
/* IEEE 754 binary16 conversions, round to nearest even; NaN stays NaN,
 * overflow becomes infinity. Use F16C when available. */
void fg_fp32_to_fp16(const float *src, uint16_t *dst, size_t n);
void fg_fp16_to_fp32(const uint16_t *src, float *dst, size_t n);
/* The portable versions (what the tests compare F16C against). */
void fg_fp32_to_fp16_c(const float *src, uint16_t *dst, size_t n);
void fg_fp16_to_fp32_c(const uint16_t *src, float *dst, size_t n);

/* Model id in hex (16 characters + NUL). */
void fg_template_model_hex(const uint8_t id[FG_TEMPLATE_MODEL_ID_BYTES], char hex[17]);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
