/*
 * Galleries in memory: creation, adding and removing templates, compaction,
 * and the subject-id index. Templates live in structure-of-arrays form (one
 * array of padded rows for the kernels to stream through, and parallel arrays
 * for the subject index, int8 scale and sum), so search reads nothing but the
 * rows and, per template, 4 to 12 bytes of metadata.
 *
 * Removal marks templates dead (subject index FG__DEAD) and sets the subject's
 * live count to 0; compaction (or saving, which writes a compacted image)
 * reclaims the slots. A gallery opened from a file views the mapping until its
 * first mutation, which copies everything into owned memory (fg__gallery_own).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <sodium.h>

#include "common/internal.h"
#include "facegate/template.h"
#include "match/match.h"

/* ------------------------------------------------------------ encodings */

const char *fg_encoding_name(fg_encoding enc) {
  switch (enc) {
  case FG_ENCODING_FP32: return "fp32";
  case FG_ENCODING_FP16: return "fp16";
  case FG_ENCODING_INT8: return "int8";
  }
  return "?";
}

int fg_encoding_parse(const char *name, fg_encoding *out) {
  if (!name) return FG_EINVAL;
  if (!strcmp(name, "fp32")) *out = FG_ENCODING_FP32;
  else if (!strcmp(name, "fp16")) *out = FG_ENCODING_FP16;
  else if (!strcmp(name, "int8")) *out = FG_ENCODING_INT8;
  else return FG_EINVAL;
  return FG_OK;
}

size_t fg_encoding_row_bytes(fg_encoding enc, uint32_t dim) {
  size_t elem;
  switch (enc) {
  case FG_ENCODING_FP32: elem = 4; break;
  case FG_ENCODING_FP16: elem = 2; break;
  case FG_ENCODING_INT8: elem = 1; break;
  default: return 0;
  }
  if (dim == 0 || dim > FG_GALLERY_MAX_DIM) return 0;
  return ((size_t)dim * elem + FG__ROW_ALIGN - 1) / FG__ROW_ALIGN * FG__ROW_ALIGN;
}

int fg_gallery_model_id_from_hex(const char *hex, uint8_t id[FG_GALLERY_MODEL_ID_BYTES]) {
  if (!hex) return FG_EINVAL;
  for (unsigned i = 0; i < FG_GALLERY_MODEL_ID_BYTES; i++) {
    int v = 0;
    for (int k = 0; k < 2; k++) {
      char c = hex[2 * i + (unsigned)k];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return FG_EINVAL;
      v = v * 16 + d;
    }
    id[i] = (uint8_t)v;
  }
  return FG_OK;
}

/* ------------------------------------------------------------ lifecycle */

int fg__gallery_alloc(uint32_t dim, fg_encoding enc, const uint8_t *model_id, fg_gallery **out,
                      fg_error *err) {
  *out = NULL;
  size_t rb = fg_encoding_row_bytes(enc, dim);
  if (!rb) {
    if (enc != FG_ENCODING_FP32 && enc != FG_ENCODING_FP16 && enc != FG_ENCODING_INT8)
      return fg__seterr(err, FG_EINVAL, "unknown gallery encoding %d", (int)enc);
    return fg__seterr(err, FG_EINVAL, "gallery dimension %u outside 1..%u", dim, FG_GALLERY_MAX_DIM);
  }
  fg_gallery *g = calloc(1, sizeof *g);
  if (!g) return fg__seterr(err, FG_ENOMEM, "out of memory");
  g->dim = dim;
  g->enc = enc;
  g->row_bytes = (uint32_t)rb;
  if (model_id) memcpy(g->model_id, model_id, FG_GALLERY_MODEL_ID_BYTES);
  *out = g;
  return FG_OK;
}

int fg__gallery_set_refine(fg_gallery *g, fg_error *err) {
  if (g->enc != FG_ENCODING_INT8)
    return fg__seterr(err, FG_EINVAL, "refine rows are for int8 galleries (this one is %s)", fg_encoding_name(g->enc));
  g->refine = 1;
  g->ref_row_bytes = (uint32_t)fg_encoding_row_bytes(FG_ENCODING_FP16, g->dim);
  return FG_OK;
}

int fg_gallery_create_ex(uint32_t dim, fg_encoding enc, const uint8_t *model_id, unsigned flags,
                         fg_gallery **out, fg_error *err) {
  if (!out) return fg__seterr(err, FG_EINVAL, "out is NULL");
  *out = NULL;
  if (flags & ~FG_GALLERY_REFINE) return fg__seterr(err, FG_EINVAL, "unknown gallery flags %#x", flags);
  int rc = fg__gallery_alloc(dim, enc, model_id, out, err);
  if (!rc && (flags & FG_GALLERY_REFINE) && (rc = fg__gallery_set_refine(*out, err))) {
    fg_gallery_destroy(*out);
    *out = NULL;
  }
  return rc;
}

int fg_gallery_create(uint32_t dim, fg_encoding enc, const uint8_t *model_id, fg_gallery **out,
                      fg_error *err) {
  return fg_gallery_create_ex(dim, enc, model_id, 0, out, err);
}

static void free_owned(fg_gallery *g) {
  free(g->vec);
  free(g->ref);
  free(g->tsubj);
  free(g->tscale);
  free(g->tsum);
  free(g->tcap);
  free(g->subj);
  free(g->names);
}

void fg_gallery_destroy(fg_gallery *g) {
  if (!g) return;
  fg_gallery_index_drop(g);
  if (!g->mapped) free_owned(g);
  if (g->map) munmap(g->map, g->map_len);
  free(g->hash);
  free(g);
}

/* 64-byte aligned (2 MiB for large blocks, which may then use huge pages). */
static void *alloc_rows(size_t bytes) {
  size_t align = bytes >= ((size_t)4 << 20) ? ((size_t)2 << 20) : FG__ROW_ALIGN;
  void *p = NULL;
  if (posix_memalign(&p, align, bytes ? bytes : FG__ROW_ALIGN)) return NULL;
#ifdef MADV_HUGEPAGE
  if (align > FG__ROW_ALIGN) madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

int fg__gallery_own(fg_gallery *g, fg_error *err) {
  if (!g->mapped) return FG_OK;
  int i8 = g->enc == FG_ENCODING_INT8;
  size_t n = g->n ? g->n : 1, ns = g->ns ? g->ns : 1;
  uint8_t *vec = alloc_rows(n * g->row_bytes);
  uint8_t *ref = g->refine ? alloc_rows(n * g->ref_row_bytes) : NULL;
  uint32_t *tsubj = malloc(n * 4);
  float *tscale = i8 ? malloc(n * 4) : NULL;
  int32_t *tsum = i8 ? malloc(n * 4) : NULL;
  fg__subject *subj = malloc(ns * sizeof *subj);
  char *names = malloc(g->names_len ? g->names_len : 1);
  uint8_t *tcap = g->tcap ? malloc(n) : NULL;
  if (!vec || (g->refine && !ref) || !tsubj || (i8 && (!tscale || !tsum)) || !subj || !names ||
      (g->tcap && !tcap)) {
    free(vec), free(ref), free(tsubj), free(tscale), free(tsum), free(subj), free(names), free(tcap);
    return fg__seterr(err, FG_ENOMEM, "out of memory copying a mapped gallery of %zu templates", g->n);
  }
  if (g->n) {
    memcpy(vec, g->vec, g->n * g->row_bytes);
    if (ref) memcpy(ref, g->ref, g->n * g->ref_row_bytes);
    memcpy(tsubj, g->tsubj, g->n * 4);
    if (i8) memcpy(tscale, g->tscale, g->n * 4), memcpy(tsum, g->tsum, g->n * 4);
    if (tcap) memcpy(tcap, g->tcap, g->n);
  }
  if (g->ns) memcpy(subj, g->subj, g->ns * sizeof *subj);
  if (g->names_len) memcpy(names, g->names, g->names_len);
  g->vec = vec, g->ref = ref, g->tsubj = tsubj, g->tscale = tscale, g->tsum = tsum, g->tcap = tcap;
  g->subj = subj, g->names = names;
  g->cap = n, g->scap = ns, g->names_cap = g->names_len ? g->names_len : 1;
  g->mapped = 0;
  if (g->map) munmap(g->map, g->map_len);
  g->map = NULL, g->map_len = 0, g->file = NULL, g->file_len = 0;
  return FG_OK;
}

/* ------------------------------------------------------------ id index */

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  return h ^ (h >> 29);
}

static int subject_is(const fg_gallery *g, uint32_t s, const char *id, size_t len) {
  return g->subj[s].name_len == len && !memcmp(g->names + g->subj[s].name_off, id, len);
}

/* Slot for id: holds index+1 if present, else 0 (where it would go). */
static size_t hash_slot(const fg_gallery *g, const char *id, size_t len) {
  size_t mask = g->hash_cap - 1, i = (size_t)hash_bytes(id, len) & mask;
  while (g->hash[i] && !subject_is(g, g->hash[i] - 1, id, len)) i = (i + 1) & mask;
  return i;
}

/* (Re)build the index with room for at least `want` subjects at load <= 1/2. */
static int index_build(fg_gallery *g, size_t want, fg_error *err) {
  size_t cap = 16;
  while (cap < 2 * want) cap *= 2;
  uint32_t *h = calloc(cap, sizeof *h);
  if (!h) return fg__seterr(err, FG_ENOMEM, "out of memory (subject index)");
  free(g->hash);
  g->hash = h, g->hash_cap = cap;
  for (size_t s = 0; s < g->ns; s++) {
    size_t i = hash_slot(g, g->names + g->subj[s].name_off, g->subj[s].name_len);
    if (g->hash[i]) return fg__seterr(err, FG_EFORMAT, "duplicate subject id '%s'", g->names + g->subj[s].name_off);
    g->hash[i] = (uint32_t)s + 1;
  }
  return FG_OK;
}

/* Before any mutation: own the memory and have an index with room for one more subject. */
static int prepare_mutation(fg_gallery *g, fg_error *err) {
  int rc = fg__gallery_own(g, err);
  if (rc) return rc;
  if (!g->hash || 2 * (g->ns + 1) > g->hash_cap) return index_build(g, g->ns + 1 > 8 ? 2 * (g->ns + 1) : 8, err);
  return FG_OK;
}

static int lookup(const fg_gallery *g, const char *id, size_t len, uint32_t *index) {
  if (g->hash) {
    size_t i = hash_slot(g, id, len);
    if (!g->hash[i]) return FG_ENOTFOUND;
    *index = g->hash[i] - 1;
    return FG_OK;
  }
  for (size_t s = 0; s < g->ns; s++)
    if (subject_is(g, (uint32_t)s, id, len)) {
      *index = (uint32_t)s;
      return FG_OK;
    }
  return FG_ENOTFOUND;
}

static int check_id(const char *id, size_t *len, fg_error *err) {
  if (!id) return fg__seterr(err, FG_EINVAL, "subject id is NULL");
  size_t n = strnlen(id, FG_GALLERY_ID_MAX + 1);
  if (n == 0 || n > FG_GALLERY_ID_MAX)
    return fg__seterr(err, FG_EINVAL, "subject id must be 1..%u bytes", FG_GALLERY_ID_MAX);
  *len = n;
  return FG_OK;
}

/* ------------------------------------------------------------ mutation */

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t nc = *cap ? *cap : 16;
  while (nc < need) nc += nc / 2 + 16;
  void *q = realloc(*p, nc * elem);
  if (!q) return -1;
  *p = q, *cap = nc;
  return 0;
}

static int reserve_templates(fg_gallery *g, size_t need) {
  if (need <= g->cap) return 0;
  size_t nc = g->cap ? g->cap : 64;
  while (nc < need) nc += nc / 2 + 64;
  int i8 = g->enc == FG_ENCODING_INT8;
  uint32_t *ts = realloc(g->tsubj, nc * 4);
  if (!ts) return -1;
  g->tsubj = ts;
  if (i8) {
    float *sc = realloc(g->tscale, nc * 4);
    if (!sc) return -1;
    g->tscale = sc;
    int32_t *su = realloc(g->tsum, nc * 4);
    if (!su) return -1;
    g->tsum = su;
  }
  if (g->tcap) {
    uint8_t *c = realloc(g->tcap, nc);
    if (!c) return -1;
    g->tcap = c;
  }
  uint8_t *v = alloc_rows(nc * g->row_bytes);
  uint8_t *r = g->refine ? alloc_rows(nc * g->ref_row_bytes) : NULL;
  if (!v || (g->refine && !r)) {
    free(v), free(r);
    return -1;
  }
  if (g->n) memcpy(v, g->vec, g->n * g->row_bytes);
  if (g->n && r) memcpy(r, g->ref, g->n * g->ref_row_bytes);
  free(g->vec), free(g->ref);
  g->vec = v, g->ref = r, g->cap = nc;
  return 0;
}

int fg_gallery_add(fg_gallery *g, const char *subject, const float *embedding, size_t dim,
                   size_t *template_index, fg_error *err) {
  size_t len;
  if (!g || !embedding) return fg__seterr(err, FG_EINVAL, "gallery or embedding is NULL");
  int rc = check_id(subject, &len, err);
  if (rc) return rc;
  if (dim != g->dim) return fg__seterr(err, FG_EINVAL, "embedding has %zu values, gallery holds %u", dim, g->dim);
  if (g->n >= FG_GALLERY_MAX_TEMPLATES || g->ns >= UINT32_MAX - 1)
    return fg__seterr(err, FG_ELIMIT, "gallery is full (%zu templates)", g->n);
  float *x = malloc((size_t)dim * sizeof *x);
  if (!x) return fg__seterr(err, FG_ENOMEM, "out of memory");
  if (fg__normalise(embedding, dim, x)) {
    free(x);
    return fg__seterr(err, FG_EINVAL, "embedding is zero or not finite");
  }
  if ((rc = prepare_mutation(g, err))) goto out;
  uint32_t s, cell = 0;
  int is_new = lookup(g, subject, len, &s) != FG_OK;
  if (reserve_templates(g, g->n + 1) || fg__ivf_prepare_add(g, x, &cell) || fg__sketch_prepare_add(g) ||
      (is_new && (grow((void **)&g->subj, &g->scap, g->ns + 1, sizeof *g->subj) ||
                  grow((void **)&g->names, &g->names_cap, g->names_len + len + 1, 1)))) {
    rc = fg__seterr(err, FG_ENOMEM, "out of memory adding a template");
    goto out;
  }
  /* nothing can fail from here on */
  if (is_new) {
    s = (uint32_t)g->ns++;
    g->subj[s] = (fg__subject){.name_off = g->names_len, .name_len = (uint32_t)len, .n_templates = 0};
    memcpy(g->names + g->names_len, subject, len);
    g->names[g->names_len + len] = 0;
    g->names_len += len + 1;
    g->hash[hash_slot(g, subject, len)] = s + 1;
  }
  if (g->subj[s].n_templates++ == 0) g->ns_live++;
  size_t t = g->n++;
  float scale;
  int32_t sum;
  fg__encode_row(g, x, g->vec + t * g->row_bytes, &scale, &sum);
  if (g->refine) fg__encode_f16(x, g->dim, g->ref + t * g->ref_row_bytes, g->ref_row_bytes);
  g->tsubj[t] = s;
  if (g->enc == FG_ENCODING_INT8) g->tscale[t] = scale, g->tsum[t] = sum;
  if (g->tcap) g->tcap[t] = 0;
  fg__ivf_commit_add(g, cell, t, x);
  fg__sketch_commit_add(g, t, x);
  if (template_index) *template_index = t;
out:
  free(x);
  return rc;
}

int fg_embedding_centroid(const float *embeddings, size_t n, size_t dim, size_t stride, float *out,
                          fg_error *err) {
  if (!embeddings || !out) return fg__seterr(err, FG_EINVAL, "embeddings or output is NULL");
  if (n == 0 || dim == 0) return fg__seterr(err, FG_EINVAL, "no embeddings to average");
  if (!stride) stride = dim;
  if (stride < dim) return fg__seterr(err, FG_EINVAL, "stride %zu < dimension %zu", stride, dim);
  float *x = malloc(dim * sizeof *x);
  double *acc = calloc(dim, sizeof *acc);
  int rc = FG_OK;
  if (!x || !acc) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  for (size_t i = 0; i < n && !rc; i++) {
    if (fg__normalise(embeddings + i * stride, dim, x))
      rc = fg__seterr(err, FG_EINVAL, "embedding %zu is zero or not finite", i);
    for (size_t d = 0; d < dim && !rc; d++) acc[d] += x[d];
  }
  for (size_t d = 0; d < dim && !rc; d++) x[d] = (float)acc[d];
  if (!rc && fg__normalise(x, dim, out))
    rc = fg__seterr(err, FG_EINVAL, "the embeddings cancel out: no centroid");
  if (x) sodium_memzero(x, dim * sizeof *x); /* copies of biometric data do not outlive the call */
  if (acc) sodium_memzero(acc, dim * sizeof *acc);
  free(x), free(acc);
  return rc;
}

int fg_gallery_add_centroid(fg_gallery *g, const char *subject, const float *embeddings, size_t n,
                            size_t dim, size_t stride, size_t *template_index, fg_error *err) {
  if (!g) return fg__seterr(err, FG_EINVAL, "gallery is NULL");
  if (dim != g->dim) return fg__seterr(err, FG_EINVAL, "embedding has %zu values, gallery holds %u", dim, g->dim);
  float *c = malloc(dim * sizeof *c);
  if (!c) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = fg_embedding_centroid(embeddings, n, dim, stride, c, err);
  if (!rc) rc = fg_gallery_add(g, subject, c, dim, template_index, err);
  sodium_memzero(c, dim * sizeof *c);
  free(c);
  return rc;
}

int fg_gallery_remove(fg_gallery *g, const char *subject, size_t *n_removed, fg_error *err) {
  size_t len;
  uint32_t s;
  if (n_removed) *n_removed = 0;
  if (!g) return fg__seterr(err, FG_EINVAL, "gallery is NULL");
  int rc = check_id(subject, &len, err);
  if (rc) return rc;
  if (lookup(g, subject, len, &s) || g->subj[s].n_templates == 0)
    return fg__seterr(err, FG_ENOTFOUND, "no subject '%s' in the gallery", subject);
  if ((rc = prepare_mutation(g, err))) return rc;
  size_t k = 0;
  for (size_t t = 0; t < g->n && k < g->subj[s].n_templates; t++)
    if (g->tsubj[t] == s) g->tsubj[t] = FG__DEAD, fg__ivf_remove(g, t), k++;
  g->n_dead += k;
  g->subj[s].n_templates = 0;
  g->ns_live--;
  if (n_removed) *n_removed = k;
  return FG_OK;
}

int fg_gallery_remove_template(fg_gallery *g, size_t t, fg_error *err) {
  if (!g) return fg__seterr(err, FG_EINVAL, "gallery is NULL");
  if (t >= g->n || g->tsubj[t] == FG__DEAD)
    return fg__seterr(err, FG_ENOTFOUND, "no live template %zu", t);
  int rc = prepare_mutation(g, err);
  if (rc) return rc;
  uint32_t s = g->tsubj[t];
  g->tsubj[t] = FG__DEAD;
  fg__ivf_remove(g, t);
  g->n_dead++;
  if (--g->subj[s].n_templates == 0) g->ns_live--;
  return FG_OK;
}

int fg_gallery_compact(fg_gallery *g, fg_error *err) {
  if (!g) return fg__seterr(err, FG_EINVAL, "gallery is NULL");
  if (g->n_dead == 0 && g->ns_live == g->ns) return FG_OK;
  int rc = fg__gallery_own(g, err);
  if (rc) return rc;
  /* everything that can fail first: the new subject numbering and names blob */
  uint32_t *remap = malloc((g->ns ? g->ns : 1) * sizeof *remap);
  char *names = malloc(g->names_len ? g->names_len : 1);
  int indexed = g->ivf || g->sketch;
  uint32_t *tremap = indexed ? malloc((g->n ? g->n : 1) * sizeof *tremap) : NULL; /* the index's renumbering */
  if (!remap || !names || (indexed && !tremap)) {
    free(remap), free(names), free(tremap);
    return fg__seterr(err, FG_ENOMEM, "out of memory compacting the gallery");
  }
  size_t ns = 0, nl = 0;
  for (size_t s = 0; s < g->ns; s++) {
    if (!g->subj[s].n_templates) { remap[s] = FG__DEAD; continue; }
    fg__subject e = g->subj[s];
    memcpy(names + nl, g->names + e.name_off, (size_t)e.name_len + 1);
    e.name_off = nl;
    nl += (size_t)e.name_len + 1;
    remap[s] = (uint32_t)ns;
    g->subj[ns++] = e;
  }
  free(g->names);
  g->names = names, g->names_len = nl, g->names_cap = g->names_len ? g->names_len : 1;
  g->ns = ns, g->ns_live = ns;
  size_t n = 0;
  for (size_t t = 0; t < g->n; t++) {
    if (tremap) tremap[t] = FG__DEAD;
    if (g->tsubj[t] == FG__DEAD) continue;
    if (n != t) {
      memcpy(g->vec + n * g->row_bytes, g->vec + t * g->row_bytes, g->row_bytes);
      if (g->refine) memcpy(g->ref + n * g->ref_row_bytes, g->ref + t * g->ref_row_bytes, g->ref_row_bytes);
      if (g->enc == FG_ENCODING_INT8) g->tscale[n] = g->tscale[t], g->tsum[n] = g->tsum[t];
      if (g->tcap) g->tcap[n] = g->tcap[t];
    }
    if (tremap) tremap[t] = (uint32_t)n;
    g->tsubj[n++] = remap[g->tsubj[t]];
  }
  size_t old_n = g->n;
  g->n = n, g->n_dead = 0;
  free(remap);
  if (tremap) fg__ivf_renumber(g, tremap, old_n), fg__sketch_renumber(g, tremap, old_n);
  free(tremap);
  /* the index must follow the new numbering; without memory for it, drop it (lookups fall back to a scan) */
  if (index_build(g, ns + 1, NULL)) {
    free(g->hash);
    g->hash = NULL, g->hash_cap = 0;
  }
  return FG_OK;
}

/* ------------------------------------------------------------ capture flags */

int fg_gallery_set_template_capture(fg_gallery *g, size_t t, unsigned capture, fg_error *err) {
  if (!g) return fg__seterr(err, FG_EINVAL, "gallery is NULL");
  if (t >= g->n || g->tsubj[t] == FG__DEAD)
    return fg__seterr(err, FG_ENOTFOUND, "no live template %zu in the gallery", t);
  if (capture & ~FG_TEMPLATE_CAPTURE_KNOWN)
    return fg__seterr(err, FG_EINVAL, "capture flags %#x: only %#x is defined", capture, FG_TEMPLATE_CAPTURE_KNOWN);
  if (!g->tcap && capture == 0) return FG_OK; /* all zero already */
  int rc = fg__gallery_own(g, err);
  if (rc) return rc;
  if (!g->tcap) { /* the first flag set: every other template reads 0 */
    if (!(g->tcap = calloc(g->cap ? g->cap : 1, 1)))
      return fg__seterr(err, FG_ENOMEM, "out of memory (capture flags)");
  }
  g->tcap[t] = (uint8_t)capture;
  return FG_OK;
}

unsigned fg_gallery_template_capture(const fg_gallery *g, size_t t) {
  if (!g || !g->tcap || t >= g->n || g->tsubj[t] == FG__DEAD) return 0;
  return g->tcap[t];
}

unsigned fg_gallery_subject_capture(const fg_gallery *g, uint32_t subject) {
  if (!g || subject >= g->ns || g->subj[subject].n_templates == 0) return 0;
  if (!g->tcap) return 0;
  unsigned all = FG_TEMPLATE_CAPTURE_KNOWN, seen = 0;
  for (size_t t = 0; t < g->n && seen < g->subj[subject].n_templates; t++)
    if (g->tsubj[t] == subject) all &= g->tcap[t], seen++;
  return seen ? all : 0;
}

/* ------------------------------------------------------------ queries */

void fg_gallery_get_info(const fg_gallery *g, fg_gallery_info *info) {
  memset(info, 0, sizeof *info);
  if (!g) return;
  info->dim = g->dim;
  info->encoding = g->enc;
  info->row_bytes = g->row_bytes;
  info->n_templates = g->n - g->n_dead;
  info->n_subjects = g->ns_live;
  info->template_slots = g->n;
  info->subject_slots = g->ns;
  memcpy(info->model_id, g->model_id, sizeof info->model_id);
  info->bytes_per_template = g->row_bytes + 4 + (g->enc == FG_ENCODING_INT8 ? 8 : 0);
  info->refine = g->refine;
  info->refine_bytes_per_template = g->refine ? g->ref_row_bytes : 0;
  info->bytes_ids = g->ns * sizeof(fg__subject) + g->names_len + g->hash_cap * sizeof(uint32_t);
  info->bytes_total = info->bytes_per_template * g->n + info->bytes_ids; /* refine rows apart: paged in on demand */
  info->mapped = g->mapped;
  info->format_version = g->file_version;
}

const char *fg_gallery_subject_id(const fg_gallery *g, uint32_t index, size_t *n_templates) {
  if (!g || index >= g->ns) return NULL;
  if (n_templates) *n_templates = g->subj[index].n_templates;
  return g->names + g->subj[index].name_off;
}

int fg_gallery_find_subject(const fg_gallery *g, const char *subject, uint32_t *index) {
  size_t len;
  uint32_t s;
  if (!g || check_id(subject, &len, NULL)) return FG_EINVAL;
  if (lookup(g, subject, len, &s) || g->subj[s].n_templates == 0) return FG_ENOTFOUND;
  if (index) *index = s;
  return FG_OK;
}

int fg_gallery_template(const fg_gallery *g, size_t t, uint32_t *subject, float *embedding) {
  if (!g || t >= g->n || g->tsubj[t] == FG__DEAD) return FG_ENOTFOUND;
  if (subject) *subject = g->tsubj[t];
  if (!embedding) return FG_OK;
  const uint8_t *row = g->vec + t * g->row_bytes;
  if (g->refine) { /* the finer copy */
    for (uint32_t i = 0; i < g->dim; i++) {
      uint16_t h;
      memcpy(&h, g->ref + t * g->ref_row_bytes + 2 * (size_t)i, 2);
      embedding[i] = fg__f16_to_f32(h);
    }
    return FG_OK;
  }
  for (uint32_t i = 0; i < g->dim; i++) {
    switch (g->enc) {
    case FG_ENCODING_FP32: memcpy(&embedding[i], row + 4 * (size_t)i, 4); break;
    case FG_ENCODING_FP16: {
      uint16_t h;
      memcpy(&h, row + 2 * (size_t)i, 2);
      embedding[i] = fg__f16_to_f32(h);
      break;
    }
    case FG_ENCODING_INT8: embedding[i] = (float)(int8_t)row[i] * g->tscale[t]; break;
    }
  }
  return FG_OK;
}
