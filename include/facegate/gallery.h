/*
 * facegate/gallery.h — galleries of face templates and exact 1:N search.
 *
 * A gallery holds templates (L2-normalised embeddings of one fixed dimension,
 * produced by one recognition model) keyed by subject id: a non-empty string
 * of at most FG_GALLERY_ID_MAX bytes. A subject may have several templates
 * (several enrolment photos). Templates are stored in one of three encodings:
 *
 *   FG_ENCODING_FP32  the reference: 4 bytes per dimension.
 *   FG_ENCODING_FP16  IEEE binary16, rounded to nearest even: 2 bytes.
 *   FG_ENCODING_INT8  symmetric int8 with one float scale per template,
 *                     scale = max|x|/127, q = round-half-away(x * 127/max|x|):
 *                     1 byte, plus 8 bytes per template (scale, sum of q).
 *
 * Each template row is padded with zeros to a multiple of 64 bytes, so every
 * row starts on a cache line and the kernels never handle a tail.
 *
 * Search (fg_gallery_search) is exact: every live template is scored against
 * each probe (cosine similarity = dot product of the normalised vectors,
 * computed in the gallery's encoding) and the k best subjects are returned.
 * A subject's score is the MAXIMUM over its templates (max-fusion: a subject
 * is as close as its closest enrolment photo); pass FG_SEARCH_TEMPLATES to rank
 * templates instead. Enrolling several photos of one person as a single
 * template, their centroid (fg_gallery_add_centroid), measures better than
 * max-fusion over separate templates and is what facegate's own workflows do. Results are ordered by score, descending; equal scores
 * are ordered by subject index (earlier enrolled first), so results are
 * deterministic whatever the kernel, thread count or batch size.
 *
 * Persistence: fg_gallery_save writes a versioned file (layout in
 * docs/matching.md) with a BLAKE2b-256 digest of the header and of each
 * section; fg_gallery_open maps it read-only (mmap) and searches it in place,
 * without copying. The first mutation (add/remove/compact) of a mapped gallery
 * copies it into memory; the file is never written through the mapping.
 *
 *     fg_gallery *g;
 *     fg_gallery_create(512, FG_ENCODING_INT8, model_id, &g, &err);
 *     fg_gallery_add(g, "P123", embedding, 512, NULL, &err);
 *     fg_match m[5]; size_t n;
 *     fg_gallery_search(g, probe, 1, 0, 5, NULL, m, &n, &err);
 *     printf("%s %.3f\n", fg_gallery_subject_id(g, m[0].subject, NULL), m[0].score);
 *     fg_gallery_save(g, "flight.fgg", &err);
 *     fg_gallery_destroy(g);
 *
 * Threads: a gallery may be searched (and read through any const function) by
 * several threads at once. Mutating functions (add, remove, compact) need
 * exclusive access: the caller serialises them against every other call on
 * the same gallery (e.g. with a read-write lock). fg_gallery_search may itself
 * use several threads (fg_search_opts.threads); it creates and joins them
 * within the call.
 *
 * The CPU kernel (scalar, AVX2, AVX-512) is chosen at run time; the CPU's
 * features are detected once per process (pthread_once) and kept in a static
 * variable, the only state outside a gallery handle.
 */
#ifndef FACEGATE_GALLERY_H
#define FACEGATE_GALLERY_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/error.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

#define FG_GALLERY_MAX_DIM 4096u          /* largest embedding dimension */
#define FG_GALLERY_ID_MAX 255u            /* longest subject id, in bytes */
#define FG_GALLERY_MODEL_ID_BYTES 16u     /* model id: first 16 bytes of its SHA-256 */
#define FG_GALLERY_MAX_TEMPLATES ((size_t)1 << 31)
#define FG_GALLERY_FORMAT_VERSION 2u      /* newest file format written and read (1 is still read,
                                             and written while no template has capture flags) */
#define FG_SEARCH_MAX_K 1024u             /* largest k of fg_gallery_search */
#define FG_SEARCH_MAX_BATCH 8u            /* most probes scored per pass over memory */

typedef enum fg_encoding {
  FG_ENCODING_FP32 = 1,
  FG_ENCODING_FP16 = 2,
  FG_ENCODING_INT8 = 3
} fg_encoding;

/* "fp32", "fp16", "int8"; "?" for anything else. */
const char *fg_encoding_name(fg_encoding enc);
/* Parse "fp32" / "fp16" / "int8". FG_EINVAL for anything else. */
int fg_encoding_parse(const char *name, fg_encoding *out);
/* Bytes of one stored row of `dim` values (padded to 64), 0 if invalid. */
size_t fg_encoding_row_bytes(fg_encoding enc, uint32_t dim);

typedef struct fg_gallery fg_gallery;

/* Parse a model id from hex (the model's SHA-256: at least the first 32 hex
 * digits are used, further digits ignored). FG_EINVAL if not hex. */
int fg_gallery_model_id_from_hex(const char *hex, uint8_t id[FG_GALLERY_MODEL_ID_BYTES]);

/* New empty gallery. `model_id` names the recognition model whose embeddings
 * it will hold; NULL means all zero ("unspecified"). On error *out is NULL.
 * Errors: FG_EINVAL (dim 0 or > FG_GALLERY_MAX_DIM, unknown encoding), FG_ENOMEM. */
/* Creation flags. FG_GALLERY_REFINE (int8 only): keep an fp16 copy of every
 * template beside its int8 row, in a section of its own in the file. A search
 * streams the int8 rows as usual, keeps the best k + FG_SEARCH_REFINE_EXTRA
 * candidates and re-scores them with their fp16 copies, so its order is that
 * of exact search (recall@1 against fp32 0.996 -> 1.000 on a million real
 * templates, docs/matching.md) at int8 speed. Only the candidates' fp16 rows
 * are read: a mapped gallery's resident memory stays about the int8 size,
 * while the file (and a gallery built in memory) holds 2 bytes more per value. */
#define FG_GALLERY_REFINE 0x1u
#define FG_SEARCH_REFINE_EXTRA 32u
int fg_gallery_create_ex(uint32_t dim, fg_encoding enc, const uint8_t *model_id, unsigned flags,
                         fg_gallery **out, fg_error *err);
int fg_gallery_create(uint32_t dim, fg_encoding enc, const uint8_t *model_id, fg_gallery **out,
                      fg_error *err);
/* Free the gallery (and unmap its file). NULL does nothing. */
void fg_gallery_destroy(fg_gallery *g);

/* Add one template for `subject` (created if new). The embedding (dim floats)
 * is L2-normalised here, then encoded. *template_index (if non-NULL) receives
 * the new template's index, valid until the next compaction. On error the
 * gallery is unchanged. Errors: FG_EINVAL (bad id, dim differs, zero or
 * non-finite vector), FG_ELIMIT (too many templates), FG_ENOMEM. */
int fg_gallery_add(fg_gallery *g, const char *subject, const float *embedding, size_t dim,
                   size_t *template_index, fg_error *err);
/* Add ONE template for `subject` made from n embeddings of that person
 * (n x dim floats, rows `stride` floats apart; 0 = dim): each is
 * L2-normalised, they are averaged and the mean is L2-normalised (template
 * averaging: the subject's centroid). With several enrolment photos this
 * separates mates from non-mates better than max-fusion over separate
 * templates (LFW flights, docs/matching.md: FNIR at FPIR 0.003 3.10% ->
 * 2.29% with two photos per traveller), because the photos' independent
 * variations partly cancel. n = 1 is fg_gallery_add. Errors as
 * fg_gallery_add; FG_EINVAL also when n is 0 or the embeddings cancel out. */
int fg_gallery_add_centroid(fg_gallery *g, const char *subject, const float *embeddings, size_t n,
                            size_t dim, size_t stride, size_t *template_index, fg_error *err);
/* The centroid itself (out: dim floats, L2-normalised), for callers that
 * keep templates elsewhere (the border's flight galleries). */
int fg_embedding_centroid(const float *embeddings, size_t n, size_t dim, size_t stride, float *out,
                          fg_error *err);
/* Remove a subject and all its templates (their slots are freed by the next
 * fg_gallery_compact or save). *n_removed (if non-NULL) gets the number of
 * templates removed. FG_ENOTFOUND if no live subject has that id. */
int fg_gallery_remove(fg_gallery *g, const char *subject, size_t *n_removed, fg_error *err);
/* Remove one template; its subject goes when its last template does.
 * FG_ENOTFOUND if the index is out of range or already removed. */
int fg_gallery_remove_template(fg_gallery *g, size_t template_index, fg_error *err);
/* Drop removed templates and subjects, keeping the order of the rest.
 * Template and subject indices change. FG_ENOMEM leaves the gallery unchanged. */
int fg_gallery_compact(fg_gallery *g, fg_error *err);

typedef struct fg_gallery_info {
  uint32_t dim;
  fg_encoding encoding;
  uint32_t row_bytes;           /* bytes of one stored vector (padded) */
  size_t n_templates;           /* live templates */
  size_t n_subjects;            /* live subjects */
  size_t template_slots;        /* template indices in use, removed ones included */
  size_t subject_slots;         /* subject indices in use, removed ones included */
  uint8_t model_id[FG_GALLERY_MODEL_ID_BYTES];
  size_t bytes_per_template;    /* row + per-template metadata (subject index, int8 scale and sum):
                                   what a search reads */
  int refine;                   /* FG_GALLERY_REFINE */
  size_t refine_bytes_per_template; /* the fp16 copy (read for candidates only), 0 without refine */
  size_t bytes_ids;             /* subject table and id strings */
  size_t bytes_total;           /* bytes_per_template * template_slots + bytes_ids */
  int mapped;                   /* 1 while it views a file or buffer (not yet copied) */
  uint32_t format_version;      /* the file format it was opened from (1 or 2); 0: made in memory */
} fg_gallery_info;

void fg_gallery_get_info(const fg_gallery *g, fg_gallery_info *info);

/* Subject `index`'s id (NUL-terminated, owned by the gallery, valid until the
 * next mutation) and, if n_templates is non-NULL, its live template count
 * (0 once removed). NULL if index >= subject_slots. */
const char *fg_gallery_subject_id(const fg_gallery *g, uint32_t index, size_t *n_templates);
/* Index of the live subject with this id; FG_ENOTFOUND if none. O(1) after the
 * first mutation of the gallery (which builds a hash index), O(subjects) before. */
int fg_gallery_find_subject(const fg_gallery *g, const char *subject, uint32_t *index);
/* Template t: its subject index and, if `embedding` is non-NULL, its stored
 * vector decoded to dim floats. FG_ENOTFOUND if out of range or removed. */
int fg_gallery_template(const fg_gallery *g, size_t t, uint32_t *subject, float *embedding);

/* ---- capture flags -----------------------------------------------------------
 * Each template may carry the capture flags of the photo it came from
 * (FG_TEMPLATE_CAPTURE_* of facegate/template.h, byte 7 of an FGT1 template:
 * FG_TEMPLATE_CAPTURE_HARSH_LIGHT), so that a search can compare two harsh-lit
 * faces at the higher threshold they need (fg_calibration_threshold_for).
 * A new template has none (0); templates of a version-1 file read as 0.
 * Setting flags is a mutation (a mapped gallery is copied first): FG_ENOTFOUND
 * for a removed or out-of-range template, FG_EINVAL for undefined flags. */
int fg_gallery_set_template_capture(fg_gallery *g, size_t template_index, unsigned capture,
                                    fg_error *err);
/* Template t's flags (0 if out of range or removed). */
unsigned fg_gallery_template_capture(const fg_gallery *g, size_t template_index);
/* The flags every live template of subject `index` has (bitwise AND over
 * them: harsh-lit only when all its templates are); 0 for a removed subject.
 * O(templates) scan. */
unsigned fg_gallery_subject_capture(const fg_gallery *g, uint32_t index);

/* ---- persistence ------------------------------------------------------------
 * fg_gallery_save writes live templates and subjects only (a compacted image;
 * the gallery itself is unchanged) to PATH.tmp.XXXXXX beside PATH, fsyncs it
 * and renames it over PATH, so a crash leaves the old or the new file. */
int fg_gallery_save(const fg_gallery *g, const char *path, fg_error *err);

/* Open flags. By default every checksum is verified at open (the vectors'
 * digest reads the whole file: ~0.3 s for 1M int8 templates). */
#define FG_GALLERY_OPEN_LAZY 0x1u      /* skip the vectors' digest; fg_gallery_verify checks it later.
                                          Header and metadata are always verified. */
#define FG_GALLERY_OPEN_NO_VERIFY 0x2u /* skip all digests (fuzzing; trusted files). Structure is
                                          still validated: a bad file cannot cause an out-of-bounds read */
#define FG_GALLERY_OPEN_POPULATE 0x4u  /* pre-fault the mapping (MAP_POPULATE) */

/* Map PATH read-only and open it in place. `expect_model` (may be NULL: any
 * model) must equal the file's model id. On error *out is NULL. Errors:
 * FG_EIO / FG_ENOTFOUND (cannot open or map), FG_EFORMAT (not a gallery,
 * truncated, inconsistent), FG_EUNSUPPORTED (another format version),
 * FG_ECHECKSUM (digest mismatch: corrupt), FG_EMODEL (another model). */
int fg_gallery_open(const char *path, const uint8_t *expect_model, unsigned flags, fg_gallery **out,
                    fg_error *err);
/* Same over a caller's buffer, viewed in place: `buf` must be 64-byte aligned
 * (FG_EINVAL otherwise), stay unchanged and outlive the gallery. */
int fg_gallery_open_memory(const void *buf, size_t len, const uint8_t *expect_model, unsigned flags,
                           fg_gallery **out, fg_error *err);
/* Verify every digest of an opened gallery (for FG_GALLERY_OPEN_LAZY).
 * FG_OK for galleries not opened from a file or buffer. */
int fg_gallery_verify(const fg_gallery *g, fg_error *err);

/* ---- search ----------------------------------------------------------------- */

typedef enum fg_kernel {
  FG_KERNEL_AUTO = 0,   /* the best this CPU supports */
  FG_KERNEL_SCALAR = 1, /* portable C: the reference the others are tested against */
  FG_KERNEL_AVX2 = 2,   /* AVX2 + FMA + F16C */
  FG_KERNEL_AVX512 = 3  /* AVX-512 F/BW + VNNI (vpdpbusd for int8) */
} fg_kernel;

/* "auto", "scalar", "avx2", "avx512". */
const char *fg_kernel_name(fg_kernel k);
/* 1 if this CPU (and OS) can run kernel k. AUTO and SCALAR always can. */
int fg_kernel_supported(fg_kernel k);
/* The kernel AUTO resolves to on this CPU. */
fg_kernel fg_kernel_best(void);

#define FG_SEARCH_TEMPLATES 0x1u /* rank templates, not subjects (no fusion) */
#define FG_SEARCH_THRESHOLD 0x2u /* return only candidates scoring >= threshold */
#define FG_SEARCH_NO_REFINE 0x4u /* a FG_GALLERY_REFINE gallery: int8 scores only (benchmarks) */
#define FG_SEARCH_EXACT 0x8u     /* scan every template even if the gallery has an IVF index */

typedef struct fg_search_opts {
  unsigned threads; /* 0 or 1: the calling thread only; n: up to n threads over gallery shards
                       (at least FG_SEARCH_MIN_SHARD templates per shard) or, for a smaller
                       gallery and at least 2 batches of probes, over the probes */
  unsigned batch;   /* probes scored per pass over the gallery, 1..FG_SEARCH_MAX_BATCH; 0 = max */
  fg_kernel kernel; /* FG_KERNEL_AUTO (0) unless testing; FG_EUNSUPPORTED if the CPU lacks it */
  unsigned flags;   /* FG_SEARCH_* */
  float threshold;  /* with FG_SEARCH_THRESHOLD */
  unsigned nprobe;  /* with an IVF index: cells searched per probe; 0 = the index's */
  unsigned candidates; /* with a sketch index: templates scored exactly per probe; 0 = the index's */
} fg_search_opts;

#define FG_SEARCH_MIN_SHARD 16384u

typedef struct fg_match {
  uint32_t subject;        /* subject index: fg_gallery_subject_id(g, subject, NULL) */
  uint32_t template_index; /* the template that gave the score */
  float score;             /* cosine similarity in the gallery's encoding (with FG_GALLERY_REFINE:
                              in fp16), in about [-1, 1] */
} fg_match;

/* Search n_probes probes (each dim floats, `probe_stride` floats apart; 0
 * means dim) and write, for probe i, its best min(k, live subjects) matches to
 * matches[i*k ...], best first, and their number to counts[i] (fewer with
 * FG_SEARCH_THRESHOLD). Probes are L2-normalised here. `opts` may be NULL
 * (defaults). Errors: FG_EINVAL (k 0 or > FG_SEARCH_MAX_K, zero or
 * non-finite probe), FG_EUNSUPPORTED (kernel), FG_ENOMEM, FG_EIO (a thread
 * could not be started). On error counts[] are 0. */
int fg_gallery_search(const fg_gallery *g, const float *probes, size_t n_probes, size_t probe_stride,
                      size_t k, const fg_search_opts *opts, fg_match *matches, size_t *counts,
                      fg_error *err);

/* ---- indexes: large galleries (a watchlist of a million) --------------------
 * A gallery may carry one index, built in memory (not saved: build it again
 * after opening), kept current by add, remove and compact, freed with the
 * gallery, and used by fg_gallery_search unless FG_SEARCH_EXACT. Building
 * needs exclusive access, like a mutation. Every score a search returns is
 * exact search's score for that template; what an index can miss is a
 * template it did not look at (docs/matching.md measures how often).
 *
 * The sketch index keeps one bit per dimension of every template (the signs
 * after a fixed random rotation: 64 bytes at 512-d), scans them all with XOR
 * and POPCNT, and scores exactly the `candidates` templates whose sketches
 * are nearest the probe's, plus, with a threshold, every template whose
 * sketch is close enough that it could reach it. It is what a watchlist uses
 * (measured on face embeddings: it keeps every mate an IVF index loses). */
typedef struct fg_sketch_opts {
  unsigned candidates; /* templates scored exactly per probe; 0 = 256 */
  uint64_t seed;       /* the random rotation; 0 = a fixed default */
} fg_sketch_opts;

typedef struct fg_sketch_info {
  unsigned bits, candidates;
  size_t entries;
  size_t bytes;
  double bytes_per_entry;
  double build_s;
} fg_sketch_info;

int fg_gallery_sketch_build(fg_gallery *g, const fg_sketch_opts *opts, fg_error *err);
int fg_gallery_sketch_info(const fg_gallery *g, fg_sketch_info *info); /* FG_ENOTFOUND without */
/* Drop the gallery's index, whichever it is (searches scan everything again). */
void fg_gallery_index_drop(fg_gallery *g);

/* An inverted-file index groups the templates into cells around k-means
 * centroids; a search then scans only the nprobe cells nearest the probe
 * (their int8 codes, with the VNNI kernels) and re-scores its best candidates
 * with the gallery's own rows, so every score returned is exact search's
 * score, and what it can miss is a template in a cell it did not visit
 * (docs/matching.md: recall, speed and memory against FAISS IVF and hnswlib).
 * fg_gallery_search uses it unless FG_SEARCH_EXACT. It is kept current by
 * add, remove and compact (a new template joins its nearest cell; centroids
 * are not retrained), lives in memory only (not saved), and is freed with the
 * gallery. Building needs exclusive access, like a mutation. */
typedef struct fg_ivf_opts {
  unsigned nlist;   /* cells; 0 = auto (a power of two about sqrt(templates)) */
  unsigned nprobe;  /* default cells searched per probe; 0 = nlist / 16 (at least 8) */
  size_t sample;    /* templates k-means trains on; 0 = 40 per cell */
  unsigned iters;   /* k-means iterations; 0 = 10 */
  unsigned threads; /* threads for the build; 0 or 1 = the calling thread */
  uint64_t seed;    /* 0 = a fixed default (builds are reproducible) */
} fg_ivf_opts;

typedef struct fg_ivf_info {
  unsigned nlist, nprobe;
  size_t entries;         /* templates indexed */
  size_t largest_cell;
  size_t bytes;           /* memory the index holds */
  double bytes_per_entry; /* bytes / entries (the gallery's own rows come on top) */
  double build_s;         /* wall seconds of the last build */
} fg_ivf_info;

/* Build (or rebuild) the index. opts may be NULL. On error the gallery keeps
 * its previous index (or none). FG_EINVAL (empty gallery, nlist > 65536), FG_ENOMEM. */
int fg_gallery_ivf_build(fg_gallery *g, const fg_ivf_opts *opts, fg_error *err);
/* FG_ENOTFOUND (info zeroed) if the gallery has no index. */
int fg_gallery_ivf_info(const fg_gallery *g, fg_ivf_info *info);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
