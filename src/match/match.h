/*
 * Internals of the matching module (not API): the gallery struct shared by
 * gallery.c, gallery_io.c and search.c; encoding helpers (quant.c); and the
 * scoring-kernel table, one entry per instruction set (kern_scalar.c,
 * kern_avx2.c, kern_avx512.c).
 *
 * A scoring kernel scores `nrows` consecutive stored rows against nq <= 8
 * prepared probes and writes out[r * nq + j] = score of row r for probe j.
 * The scalar kernels are the reference: the int8 SIMD kernels must match them
 * exactly (integer dot products, then the same float multiplication), the
 * fp32 and fp16 ones within summation-order rounding (tests/test_search.c).
 */
#ifndef FG_MATCH_MATCH_H
#define FG_MATCH_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/half.h"
#include "facegate/gallery.h"

#define FG__DEAD UINT32_MAX /* template_subject[t] of a removed template */
#define FG__ROW_ALIGN 64u

/* The IVF index (ivf.c): one cell per centroid, each with its templates'
 * int8 codes (the gallery's int8 encoding) stored contiguously. */
typedef struct fg__ivf_list {
  uint32_t n, cap;
  uint8_t *codes;  /* cap * code_bytes, 64-aligned */
  float *scale;
  int32_t *sum;
  uint32_t *tmpl;  /* gallery template index of each entry */
} fg__ivf_list;

typedef struct fg__ivf {
  uint32_t nlist, nprobe, dim;
  uint32_t code_bytes;  /* int8 row bytes (padded) */
  uint32_t cent_stride; /* floats per centroid row (padded) */
  float *cent;          /* nlist unit centroids, fp32 rows */
  uint8_t *cent8;       /* the same in int8 rows (assignment) */
  float *cscale;
  int32_t *csum;
  fg__ivf_list *lists;
  uint32_t *where, *pos; /* per template slot: its cell (FG__DEAD: none) and place in it */
  size_t slots;
  size_t entries;
  double build_s;
} fg__ivf;

/* The sketch index (sketch.c): the sign bits of every template after a fixed
 * random rotation, one code per template slot. */
#define FG__SKETCH_ROUNDS 3
typedef struct fg__sketch {
  uint32_t dim, wdim;   /* dimension; rotation size (a power of two >= dim) */
  uint32_t bits;        /* bits kept (wdim, at least 256) */
  uint32_t code_bytes;  /* whole 32-byte words */
  int8_t *signs;        /* FG__SKETCH_ROUNDS x wdim random signs */
  uint8_t *codes;       /* cap x code_bytes, 64-aligned: the whole sketches */
  uint8_t *lo;          /* cap x 32: their first 256 bits again, for the first pass */
  size_t slots, cap;
  unsigned cand;        /* default candidates */
  double build_s;
} fg__sketch;

/* One subject-table entry; the same 16 bytes in memory and on disk. */
typedef struct fg__subject {
  uint64_t name_off;    /* offset of the NUL-terminated id in the names blob */
  uint32_t name_len;    /* bytes, without the NUL */
  uint32_t n_templates; /* live templates; 0 = removed */
} fg__subject;

struct fg_gallery {
  uint32_t dim;
  fg_encoding enc;
  uint32_t row_bytes;
  uint8_t model_id[FG_GALLERY_MODEL_ID_BYTES];

  /* templates: n slots, cap allocated (owned galleries only) */
  size_t n, cap, n_dead;
  uint8_t *vec;        /* n * row_bytes, 64-aligned */
  uint32_t *tsubj;     /* subject index per template, FG__DEAD if removed */
  float *tscale;       /* int8: scale per template (NULL otherwise) */
  int32_t *tsum;       /* int8: sum of the quantised values (NULL otherwise) */
  uint8_t *tcap;       /* capture flags per template (FG_TEMPLATE_CAPTURE_*); NULL while all are 0 */
  /* FG_GALLERY_REFINE (int8 only): an fp16 copy of every template, n * ref_row_bytes,
   * read only to re-score a search's best candidates */
  int refine;
  uint32_t ref_row_bytes;
  uint8_t *ref;

  /* subjects: ns slots, ns_live with templates */
  size_t ns, scap, ns_live;
  fg__subject *subj;
  char *names;         /* blob of NUL-terminated ids */
  size_t names_len, names_cap;

  /* id -> subject index, open addressing (index + 1; 0 = empty), built on first mutation */
  uint32_t *hash;
  size_t hash_cap;

  fg__ivf *ivf;         /* IVF index, or NULL (in memory only) */
  fg__sketch *sketch;   /* sketch index, or NULL (in memory only); at most one of the two */

  /* a file or buffer viewed in place (arrays above point into it until copied) */
  int mapped;          /* 1: arrays are views, not owned */
  void *map;           /* mmap'd region to munmap, or NULL (memory buffer) */
  size_t map_len;
  const uint8_t *file; /* start of the viewed image (for fg_gallery_verify) */
  size_t file_len;
  uint32_t file_version; /* the format version of the file it was opened from (0: made in memory) */
};

/* ---- encodings (quant.c; fp16: fg__f32_to_f16, fg__f16_to_f32 in common/half.h) ---- */
/* q[i] = round-half-away(x[i] * 127 / max|x|), clamped to [-127, 127]; returns
 * the scale max|x| / 127 (0 for an all-zero x, when q is all 0). *sum = sum q. */
float fg__quantize_i8(const float *x, size_t n, int8_t *q, int32_t *sum);
/* Encode a normalised vector into a zero-padded row of g's encoding. */
void fg__encode_row(const fg_gallery *g, const float *x, uint8_t *row, float *scale, int32_t *sum);
/* The same as a zero-padded fp16 row of ref_row_bytes (the refine copy). */
void fg__encode_f16(const float *x, uint32_t dim, uint8_t *row, size_t row_bytes);
/* L2-normalise src (n floats) into dst; FG_EINVAL if zero or non-finite. */
int fg__normalise(const float *src, size_t n, float *dst);

/* ---- kernels ---- */
/* Prepared probes. Every array holds FG_SEARCH_MAX_BATCH probes of pdim
 * values: kernels may compute with probe slots nq..7 (which must be zero) and
 * discard those scores. */
typedef struct fg__probes {
  int nq;             /* 1..FG_SEARCH_MAX_BATCH */
  size_t pdim;        /* padded dimension: row_bytes / element size */
  const float *f32;   /* nq * pdim normalised floats (fp32 and fp16 galleries) */
  const int8_t *i8;   /* int8 galleries: quantised probes */
  const uint8_t *u8;  /* i8 + 128 (for vpdpbusd: unsigned x signed) */
  const int16_t *i16; /* i8 widened (for vpmaddwd) */
  float qscale[FG_SEARCH_MAX_BATCH];
} fg__probes;

typedef void (*fg__score_fn)(const uint8_t *rows, size_t row_bytes, size_t nrows, const float *tscale,
                             const int32_t *tsum, const fg__probes *p, float *out);

typedef struct fg__kernels {
  fg__score_fn f32, f16, i8;
} fg__kernels;

extern const fg__kernels fg__kernels_scalar;
#if defined(__x86_64__) || defined(__i386__)
#define FG__HAVE_X86 1
extern const fg__kernels fg__kernels_avx2;
extern const fg__kernels fg__kernels_avx512;
#endif

/* The kernel table for k (AUTO resolved); NULL if unsupported here. */
const fg__kernels *fg__kernels_for(fg_kernel k);
fg__score_fn fg__kernel_fn(const fg__kernels *kt, fg_encoding enc);

/* ---- the IVF index kept current by gallery.c (ivf.c) ---- */
void fg__ivf_free(fg__ivf *v);
/* Before adding normalised x: find its cell and reserve room (-1: no memory;
 * the gallery is then left unchanged). 0 without an index. */
int fg__ivf_prepare_add(fg_gallery *g, const float *x, uint32_t *cell);
/* After adding template t: put it in the cell (cannot fail). */
void fg__ivf_commit_add(fg_gallery *g, uint32_t cell, size_t t, const float *x);
/* Template t was removed. */
void fg__ivf_remove(fg_gallery *g, size_t t);
/* Compaction moved template i to remap[i] (live ones only). */
void fg__ivf_renumber(fg_gallery *g, const uint32_t *remap, size_t old_n);

/* ---- the sketch index (sketch.c) ---- */
void fg__sketch_free(fg__sketch *k);
int fg__sketch_new(uint32_t dim, uint64_t seed, fg__sketch **out);
/* code_bytes of sketch for normalised x; work: wdim floats. */
void fg__sketch_encode(const fg__sketch *k, const float *x, uint8_t *code, float *work);
int fg__sketch_prepare_add(fg_gallery *g);                     /* -1: no memory */
void fg__sketch_commit_add(fg_gallery *g, size_t t, const float *x);
void fg__sketch_renumber(fg_gallery *g, const uint32_t *remap, size_t old_n);
/* Hamming distances of n 32-byte codes (rows 32 bytes apart, 64-aligned) to a
 * 32-byte probe; and the indices i < n with d[i] <= cut (returns how many). */
typedef struct fg__sketch_kernels {
  void (*ham32)(const uint8_t *codes, size_t n, const uint8_t *probe, uint16_t *out);
  size_t (*select_le)(const uint16_t *d, size_t n, uint16_t cut, uint32_t *idx);
} fg__sketch_kernels;
uint32_t fg__hamming_scalar(const uint8_t *a, const uint8_t *b, size_t bytes);
extern const fg__sketch_kernels fg__sketch_scalar;
#ifdef FG__HAVE_X86
extern const fg__sketch_kernels fg__sketch_avx512;
#endif
/* The fastest this CPU runs (AVX-512 VPOPCNTDQ, or the scalar twins). */
const fg__sketch_kernels *fg__sketch_best(void);

/* ---- gallery.c helpers used by gallery_io.c ---- */
/* Copy every viewed array into owned memory (first mutation of a mapped gallery). */
int fg__gallery_own(fg_gallery *g, fg_error *err);
/* Allocate an empty gallery struct with dim/encoding/model set. */
int fg__gallery_alloc(uint32_t dim, fg_encoding enc, const uint8_t *model_id, fg_gallery **out,
                      fg_error *err);
/* Mark g as keeping refine rows (int8 only; before any template). */
int fg__gallery_set_refine(fg_gallery *g, fg_error *err);

#endif
