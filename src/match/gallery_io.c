/*
 * Gallery files: fg_gallery_save writes them, fg_gallery_open maps them and
 * searches them in place. Byte-by-byte layout (also in docs/matching.md):
 *
 *   0    8  magic "FGGALLRY"
 *   8    4  format version: 1, or 2 when some template has capture flags
 *   12   4  header size (448 in version 1, 512 in version 2)
 *   16   4  dimension
 *   20   4  encoding (1 fp32, 2 fp16, 3 int8)
 *   24   4  row bytes (dimension * element size, rounded up to 64)
 *   28   4  flags (bit 0: FG_GALLERY_REFINE, int8 only)
 *   32   8  templates
 *   40   8  subjects
 *   48  16  model id (first 16 bytes of the recognition model's SHA-256)
 *   64   .  7 (version 1) or 8 (version 2) section entries {u64 offset, u64 size,
 *           32-byte BLAKE2b-256 digest}: subjects, names, template_subject,
 *           template_scale, template_sum, vectors, refine (all zero without
 *           FG_GALLERY_REFINE: files from before it are valid), template_capture
 *           (version 2 only)
 *   400 (v1) / 448 (v2)  16 / 32  zero
 *   416 (v1) / 480 (v2)  32  BLAKE2b-256 of the header bytes before it
 *
 * A gallery whose templates carry no capture flags is written as version 1,
 * byte for byte as before capture flags existed (older builds read it); one
 * with any is written as version 2. Both are read; version 1's templates read
 * as evenly lit (flags 0).
 *
 * All integers little-endian. Sections follow in that order, each at the
 * first offset past the previous one aligned to 64 bytes (vectors and refine:
 * 4096), the gaps zero-filled, and the file ends where the last one ends. The layout is
 * canonical: the loader recomputes every offset and size from the counts and
 * refuses any other, and checks the gaps are zero, so every byte of a valid
 * file is either covered by a digest or known to be zero.
 *
 *   subjects          n_subjects x {u64 name offset, u32 name length, u32 templates}
 *   names             the ids, each followed by a NUL, in subject order
 *   template_subject  n_templates x u32 subject index
 *   template_scale    int8 only: n_templates x f32 (else empty)
 *   template_sum      int8 only: n_templates x i32 sum of the row's values (else empty)
 *   vectors           n_templates x row bytes, zero-padded rows
 *   refine            FG_GALLERY_REFINE: n_templates x fp16 rows (dimension * 2
 *                     rounded up to 64), the same templates; else absent
 *   template_capture  version 2: n_templates x u8 capture flags
 *                     (FG_TEMPLATE_CAPTURE_*, facegate/template.h); else absent
 *
 * Validation never trusts a count or offset before checking it against the
 * buffer, with or without digests, so a hostile file cannot cause an
 * out-of-bounds access (fuzz/fuzz_gallery.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/internal.h"
#include "facegate/template.h"
#include "match/match.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gallery files are little-endian and viewed in place: big-endian hosts are not supported"
#endif

#define SECT_AT 64u
#define N_SECT 8 /* version 2; version 1 has the first 7 */
#define DIGEST 32u

/* What differs between the two versions' headers. */
typedef struct hdr_shape {
  uint32_t bytes, n_sect, reserved_at, digest_at;
} hdr_shape;
static const hdr_shape HDR_V1 = {448u, 7, 400u, 416u};
static const hdr_shape HDR_V2 = {512u, 8, 448u, 480u};
#define HDR_MIN 448u

enum { S_SUBJ, S_NAMES, S_TSUBJ, S_SCALE, S_SUM, S_VEC, S_REF, S_CAP };
static const char *const sect_name[N_SECT] = {"subjects", "names", "template_subject", "template_scale",
                                               "template_sum", "vectors", "refine", "template_capture"};
static const char MAGIC[8] = {'F', 'G', 'G', 'A', 'L', 'L', 'R', 'Y'};

typedef struct sect {
  uint64_t off, size;
  uint8_t digest[DIGEST];
} sect;

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }
static uint64_t sect_align(int s) { return s >= S_VEC ? 4096 : 64; }

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

static void digest(const void *p, size_t n, uint8_t out[DIGEST]) {
  crypto_generichash(out, DIGEST, p, n, NULL, 0);
}

static void hex_id(const uint8_t *id, char out[2 * FG_GALLERY_MODEL_ID_BYTES + 1]) {
  sodium_bin2hex(out, 2 * FG_GALLERY_MODEL_ID_BYTES + 1, id, FG_GALLERY_MODEL_ID_BYTES);
}

/* Whether section i is in a file (refine rows: with the flag; capture flags: version 2). */
static int present(int i, int refine, int caps) { return i == S_REF ? refine : i == S_CAP ? caps : 1; }

/* Canonical offsets from sizes; 0 on success, -1 if they overflow. An absent
 * section's entry stays all zero. */
static int layout(sect s[N_SECT], int refine, int caps, uint32_t hdr_bytes, uint64_t *end) {
  uint64_t off = hdr_bytes;
  for (int i = 0; i < N_SECT; i++) {
    if (!present(i, refine, caps)) {
      s[i].off = s[i].size = 0;
      continue;
    }
    off = align_up(off, sect_align(i));
    s[i].off = off;
    if (s[i].size > UINT64_MAX - off - 4096) return -1;
    off += s[i].size;
  }
  *end = off;
  return 0;
}

/* ------------------------------------------------------------ save */

typedef struct writer {
  FILE *f;
  uint64_t pos;
  crypto_generichash_state st;
  int bad;
} writer;

static void w_bytes(writer *w, const void *p, size_t n) {
  if (!n || w->bad) return;
  if (fwrite(p, 1, n, w->f) != n) w->bad = 1;
  crypto_generichash_update(&w->st, p, n);
  w->pos += n;
}

static void w_begin(writer *w, uint64_t off) {
  static const uint8_t zero[4096];
  while (!w->bad && w->pos < off) {
    size_t n = off - w->pos < sizeof zero ? (size_t)(off - w->pos) : sizeof zero;
    if (fwrite(zero, 1, n, w->f) != n) w->bad = 1;
    w->pos += n;
  }
  crypto_generichash_init(&w->st, NULL, 0, DIGEST);
}

static void w_end(writer *w, sect *s) { crypto_generichash_final(&w->st, s->digest, DIGEST); }

int fg_gallery_save(const fg_gallery *g, const char *path, fg_error *err) {
  if (!g || !path) return fg__seterr(err, FG_EINVAL, "gallery or path is NULL");
  if (sodium_init() < 0) return fg__seterr(err, FG_EIO, "libsodium failed to initialise");
  int i8 = g->enc == FG_ENCODING_INT8;
  uint32_t *remap = malloc((g->ns ? g->ns : 1) * sizeof *remap);
  if (!remap) return fg__seterr(err, FG_ENOMEM, "out of memory");
  size_t ns = 0, names = 0, n = g->n - g->n_dead;
  for (size_t s = 0; s < g->ns; s++) {
    remap[s] = g->subj[s].n_templates ? (uint32_t)ns++ : FG__DEAD;
    if (g->subj[s].n_templates) names += (size_t)g->subj[s].name_len + 1;
  }
  sect sc[N_SECT] = {{0}};
  sc[S_SUBJ].size = ns * sizeof(fg__subject);
  sc[S_NAMES].size = names;
  sc[S_TSUBJ].size = (uint64_t)n * 4;
  sc[S_SCALE].size = i8 ? (uint64_t)n * 4 : 0;
  sc[S_SUM].size = i8 ? (uint64_t)n * 4 : 0;
  sc[S_VEC].size = (uint64_t)n * g->row_bytes;
  sc[S_REF].size = g->refine ? (uint64_t)n * g->ref_row_bytes : 0;
  int caps = 0; /* version 2 only when a live template has capture flags */
  for (size_t t = 0; g->tcap && t < g->n && !caps; t++) caps = g->tsubj[t] != FG__DEAD && g->tcap[t];
  const hdr_shape *hs = caps ? &HDR_V2 : &HDR_V1;
  sc[S_CAP].size = caps ? (uint64_t)n : 0;
  uint64_t end = 0;
  layout(sc, g->refine, caps, hs->bytes, &end);

  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp) {
    free(remap);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp.XXXXXX", 12);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    free(remap), free(tmp);
    return fg__seterr(err, FG_EIO, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
  }
  writer w = {.f = fdopen(fd, "wb")};
  int rc = FG_OK;
  if (!w.f) {
    close(fd);
    rc = fg__seterr(err, FG_EIO, "%s: fdopen: %s", tmp, strerror(errno));
    goto fail;
  }
  setvbuf(w.f, NULL, _IOFBF, 1 << 20);

  /* subjects and names (w_begin zero-fills the header's place: it is written last) */
  w_begin(&w, sc[S_SUBJ].off);
  uint64_t noff = 0;
  for (size_t s = 0; s < g->ns; s++) {
    if (remap[s] == FG__DEAD) continue;
    uint8_t e[16];
    put64(e, noff);
    put32(e + 8, g->subj[s].name_len);
    put32(e + 12, g->subj[s].n_templates);
    w_bytes(&w, e, sizeof e);
    noff += (uint64_t)g->subj[s].name_len + 1;
  }
  w_end(&w, &sc[S_SUBJ]);
  w_begin(&w, sc[S_NAMES].off);
  for (size_t s = 0; s < g->ns; s++)
    if (remap[s] != FG__DEAD) w_bytes(&w, g->names + g->subj[s].name_off, (size_t)g->subj[s].name_len + 1);
  w_end(&w, &sc[S_NAMES]);
  /* per-template arrays */
  w_begin(&w, sc[S_TSUBJ].off);
  for (size_t t = 0; t < g->n; t++)
    if (g->tsubj[t] != FG__DEAD) {
      uint8_t b[4];
      put32(b, remap[g->tsubj[t]]);
      w_bytes(&w, b, 4);
    }
  w_end(&w, &sc[S_TSUBJ]);
  w_begin(&w, sc[S_SCALE].off);
  for (size_t t = 0; i8 && t < g->n; t++)
    if (g->tsubj[t] != FG__DEAD) w_bytes(&w, &g->tscale[t], 4);
  w_end(&w, &sc[S_SCALE]);
  w_begin(&w, sc[S_SUM].off);
  for (size_t t = 0; i8 && t < g->n; t++)
    if (g->tsubj[t] != FG__DEAD) w_bytes(&w, &g->tsum[t], 4);
  w_end(&w, &sc[S_SUM]);
  w_begin(&w, sc[S_VEC].off);
  for (size_t t = 0; t < g->n;) { /* runs of live rows in one write */
    if (g->tsubj[t] == FG__DEAD) { t++; continue; }
    size_t u = t;
    while (u < g->n && g->tsubj[u] != FG__DEAD) u++;
    w_bytes(&w, g->vec + t * g->row_bytes, (u - t) * g->row_bytes);
    t = u;
  }
  w_end(&w, &sc[S_VEC]);
  if (g->refine) {
    w_begin(&w, sc[S_REF].off);
    for (size_t t = 0; t < g->n; t++)
      if (g->tsubj[t] != FG__DEAD) w_bytes(&w, g->ref + t * g->ref_row_bytes, g->ref_row_bytes);
    w_end(&w, &sc[S_REF]);
  }
  if (caps) {
    w_begin(&w, sc[S_CAP].off);
    for (size_t t = 0; t < g->n; t++)
      if (g->tsubj[t] != FG__DEAD) w_bytes(&w, &g->tcap[t], 1);
    w_end(&w, &sc[S_CAP]);
  }

  /* header */
  uint8_t h[512] = {0};
  memcpy(h, MAGIC, 8);
  put32(h + 8, caps ? 2u : 1u);
  put32(h + 12, hs->bytes);
  put32(h + 16, g->dim);
  put32(h + 20, (uint32_t)g->enc);
  put32(h + 24, g->row_bytes);
  put32(h + 28, g->refine ? FG_GALLERY_REFINE : 0);
  put64(h + 32, n);
  put64(h + 40, ns);
  memcpy(h + 48, g->model_id, FG_GALLERY_MODEL_ID_BYTES);
  for (int i = 0; i < (int)hs->n_sect; i++) {
    if (!present(i, g->refine, caps)) continue; /* stays zero */
    uint8_t *e = h + SECT_AT + 48 * i;
    put64(e, sc[i].off);
    put64(e + 8, sc[i].size);
    memcpy(e + 16, sc[i].digest, DIGEST);
  }
  digest(h, hs->digest_at, h + hs->digest_at);
  if (w.bad || w.pos != end || fflush(w.f) || fseek(w.f, 0, SEEK_SET) || fwrite(h, 1, hs->bytes, w.f) != hs->bytes ||
      fflush(w.f) || fsync(fileno(w.f))) {
    rc = fg__seterr(err, FG_EIO, "%s: write failed: %s", tmp, strerror(errno));
    fclose(w.f);
    goto fail;
  }
  if (fclose(w.f)) {
    rc = fg__seterr(err, FG_EIO, "%s: close failed: %s", tmp, strerror(errno));
    goto fail;
  }
  if (rename(tmp, path)) {
    rc = fg__seterr(err, FG_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    goto fail;
  }
  free(remap), free(tmp);
  return FG_OK;
fail:
  unlink(tmp);
  free(remap), free(tmp);
  return rc;
}

/* ------------------------------------------------------------ open */

static int all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

static int check_digests(const uint8_t *buf, const sect *sc, int refine, int caps, int vectors_too, int meta_too,
                         fg_error *err) {
  for (int i = 0; i < N_SECT; i++) {
    if (!present(i, refine, caps)) continue;
    if (i == S_VEC || i == S_REF ? !vectors_too : !meta_too) continue;
    uint8_t d[DIGEST];
    digest(buf + sc[i].off, (size_t)sc[i].size, d);
    if (memcmp(d, sc[i].digest, DIGEST))
      return fg__seterr(err, FG_ECHECKSUM, "gallery section '%s' fails its checksum: the file is corrupt",
                        sect_name[i]);
  }
  return FG_OK;
}

static int open_view(const uint8_t *buf, size_t len, const uint8_t *expect, unsigned flags, fg_gallery **out,
                     fg_error *err) {
  *out = NULL;
  int verify = !(flags & FG_GALLERY_OPEN_NO_VERIFY);
  if (len >= 8 && memcmp(buf, MAGIC, 8))
    return fg__seterr(err, FG_EFORMAT, "not a facegate gallery (bad magic)");
  if (len < 16) return fg__seterr(err, FG_EFORMAT, "gallery truncated: %zu bytes, shorter than its header", len);
  uint32_t version = get32(buf + 8);
  if (version < 1 || version > FG_GALLERY_FORMAT_VERSION)
    return fg__seterr(err, FG_EUNSUPPORTED, "gallery format version %u; this build reads versions 1 to %u", version,
                      FG_GALLERY_FORMAT_VERSION);
  const hdr_shape *hs = version == 2 ? &HDR_V2 : &HDR_V1;
  int caps = version == 2;
  if (get32(buf + 12) != hs->bytes)
    return fg__seterr(err, FG_EFORMAT, "gallery header size %u, expected %u for version %u", get32(buf + 12),
                      hs->bytes, version);
  if (len < hs->bytes)
    return fg__seterr(err, FG_EFORMAT, "gallery truncated: %zu bytes, shorter than its %u-byte header", len, hs->bytes);
  if (verify) {
    uint8_t d[DIGEST];
    digest(buf, hs->digest_at, d);
    if (memcmp(d, buf + hs->digest_at, DIGEST))
      return fg__seterr(err, FG_ECHECKSUM, "gallery header fails its checksum: the file is corrupt");
  }
  uint32_t dim = get32(buf + 16), enc = get32(buf + 20), rb = get32(buf + 24);
  uint64_t n = get64(buf + 32), ns = get64(buf + 40);
  if (enc < FG_ENCODING_FP32 || enc > FG_ENCODING_INT8)
    return fg__seterr(err, FG_EFORMAT, "gallery encoding %u unknown", enc);
  if (dim == 0 || dim > FG_GALLERY_MAX_DIM) return fg__seterr(err, FG_EFORMAT, "gallery dimension %u", dim);
  if (rb != fg_encoding_row_bytes((fg_encoding)enc, dim))
    return fg__seterr(err, FG_EFORMAT, "gallery row size %u inconsistent with dimension %u", rb, dim);
  uint32_t gflags = get32(buf + 28);
  if (gflags & ~FG_GALLERY_REFINE) return fg__seterr(err, FG_EUNSUPPORTED, "gallery flags %#x unknown", gflags);
  int refine = (gflags & FG_GALLERY_REFINE) != 0;
  if (refine && enc != FG_ENCODING_INT8)
    return fg__seterr(err, FG_EFORMAT, "gallery has refine rows but is not int8");
  if (!all_zero(buf + hs->reserved_at, hs->digest_at - hs->reserved_at))
    return fg__seterr(err, FG_EFORMAT, "gallery header reserved bytes set");
  if (!refine && !all_zero(buf + SECT_AT + 48 * S_REF, 48))
    return fg__seterr(err, FG_EFORMAT, "gallery has a refine section entry but no refine flag");
  if (n > FG_GALLERY_MAX_TEMPLATES || ns > n)
    return fg__seterr(err, FG_EFORMAT, "gallery counts invalid (%llu templates, %llu subjects)",
                      (unsigned long long)n, (unsigned long long)ns);
  if (expect && memcmp(expect, buf + 48, FG_GALLERY_MODEL_ID_BYTES)) {
    char have[33], want[33];
    hex_id(buf + 48, have);
    hex_id(expect, want);
    return fg__seterr(err, FG_EMODEL, "gallery holds templates of model %s..., not of the expected model %s...",
                      have, want);
  }
  int i8 = enc == FG_ENCODING_INT8;
  sect sc[N_SECT] = {{0}}, want[N_SECT] = {{0}};
  for (int i = 0; i < (int)hs->n_sect; i++) {
    const uint8_t *e = buf + SECT_AT + 48 * i;
    sc[i].off = get64(e);
    sc[i].size = get64(e + 8);
    memcpy(sc[i].digest, e + 16, DIGEST);
  }
  want[S_SUBJ].size = ns * 16;
  want[S_NAMES].size = sc[S_NAMES].size;
  want[S_TSUBJ].size = n * 4;
  want[S_SCALE].size = i8 ? n * 4 : 0;
  want[S_SUM].size = i8 ? n * 4 : 0;
  want[S_VEC].size = n * rb;
  uint64_t ref_rb = fg_encoding_row_bytes(FG_ENCODING_FP16, dim);
  want[S_REF].size = refine ? n * ref_rb : 0;
  want[S_CAP].size = caps ? n : 0;
  if (sc[S_NAMES].size < ns * 2 || sc[S_NAMES].size > ns * (FG_GALLERY_ID_MAX + 1))
    return fg__seterr(err, FG_EFORMAT, "gallery names section size %llu invalid for %llu subjects",
                      (unsigned long long)sc[S_NAMES].size, (unsigned long long)ns);
  uint64_t end;
  if (layout(want, refine, caps, hs->bytes, &end)) return fg__seterr(err, FG_EFORMAT, "gallery sections overflow");
  for (int i = 0; i < N_SECT; i++)
    if (sc[i].off != want[i].off || sc[i].size != want[i].size)
      return fg__seterr(err, FG_EFORMAT, "gallery section '%s' at %llu+%llu, expected %llu+%llu", sect_name[i],
                        (unsigned long long)sc[i].off, (unsigned long long)sc[i].size,
                        (unsigned long long)want[i].off, (unsigned long long)want[i].size);
  if (len < end)
    return fg__seterr(err, FG_EFORMAT, "gallery truncated: %zu bytes, its header describes %llu", len,
                      (unsigned long long)end);
  if (len > end)
    return fg__seterr(err, FG_EFORMAT, "gallery has %llu bytes after its end", (unsigned long long)(len - end));
  uint64_t prev = hs->bytes;
  for (int i = 0; i < N_SECT; i++) {
    if (!present(i, refine, caps)) continue;
    if (!all_zero(buf + prev, (size_t)(sc[i].off - prev)))
      return fg__seterr(err, FG_EFORMAT, "gallery padding before section '%s' is not zero", sect_name[i]);
    prev = sc[i].off + sc[i].size;
  }
  if (verify) {
    int rc = check_digests(buf, sc, refine, caps, !(flags & FG_GALLERY_OPEN_LAZY), 1, err);
    if (rc) return rc;
  }

  /* structure: subjects, names, template subjects, scales */
  const fg__subject *subj = (const fg__subject *)(const void *)(buf + sc[S_SUBJ].off);
  const char *names = (const char *)buf + sc[S_NAMES].off;
  const uint32_t *tsubj = (const uint32_t *)(const void *)(buf + sc[S_TSUBJ].off);
  uint64_t noff = 0;
  for (uint64_t s = 0; s < ns; s++) {
    const fg__subject *e = &subj[s];
    if (e->name_off != noff || e->name_len == 0 || e->name_len > FG_GALLERY_ID_MAX ||
        e->name_len >= sc[S_NAMES].size - noff || names[noff + e->name_len] != 0 ||
        memchr(names + noff, 0, e->name_len) || e->n_templates == 0)
      return fg__seterr(err, FG_EFORMAT, "gallery subject %llu is malformed", (unsigned long long)s);
    noff += (uint64_t)e->name_len + 1;
  }
  if (noff != sc[S_NAMES].size) return fg__seterr(err, FG_EFORMAT, "gallery names section has stray bytes");
  uint32_t *count = calloc(ns ? ns : 1, sizeof *count);
  if (!count) return fg__seterr(err, FG_ENOMEM, "out of memory checking the gallery");
  int rc = FG_OK;
  for (uint64_t t = 0; t < n && !rc; t++) {
    if (tsubj[t] >= ns) rc = fg__seterr(err, FG_EFORMAT, "gallery template %llu names subject %u of %llu",
                                        (unsigned long long)t, tsubj[t], (unsigned long long)ns);
    else count[tsubj[t]]++;
  }
  for (uint64_t s = 0; s < ns && !rc; s++)
    if (count[s] != subj[s].n_templates)
      rc = fg__seterr(err, FG_EFORMAT, "gallery subject %llu claims %u templates, has %u", (unsigned long long)s,
                      subj[s].n_templates, count[s]);
  free(count);
  if (rc) return rc;
  const float *tscale = i8 ? (const float *)(const void *)(buf + sc[S_SCALE].off) : NULL;
  const int32_t *tsum = i8 ? (const int32_t *)(const void *)(buf + sc[S_SUM].off) : NULL;
  for (uint64_t t = 0; i8 && t < n; t++)
    if (!(tscale[t] > 0.0f) || !isfinite(tscale[t]) || tsum[t] > 127 * (int32_t)dim || tsum[t] < -127 * (int32_t)dim)
      return fg__seterr(err, FG_EFORMAT, "gallery template %llu has an invalid scale or sum", (unsigned long long)t);
  const uint8_t *tcap = caps ? buf + sc[S_CAP].off : NULL;
  for (uint64_t t = 0; caps && t < n; t++)
    if (tcap[t] & ~FG_TEMPLATE_CAPTURE_KNOWN)
      return fg__seterr(err, FG_EFORMAT, "gallery template %llu has unknown capture flags %#x", (unsigned long long)t,
                        tcap[t]);

  fg_gallery *g;
  if ((rc = fg__gallery_alloc(dim, (fg_encoding)enc, buf + 48, &g, err))) return rc;
  if (refine && (rc = fg__gallery_set_refine(g, err))) {
    fg_gallery_destroy(g);
    return rc;
  }
  if (refine) g->ref = (uint8_t *)(uintptr_t)(buf + sc[S_REF].off);
  g->n = (size_t)n;
  g->vec = (uint8_t *)(uintptr_t)(buf + sc[S_VEC].off);
  g->tsubj = (uint32_t *)(uintptr_t)tsubj;
  g->tscale = (float *)(uintptr_t)tscale;
  g->tsum = (int32_t *)(uintptr_t)tsum;
  g->tcap = (uint8_t *)(uintptr_t)tcap;
  g->ns = g->ns_live = (size_t)ns;
  g->subj = (fg__subject *)(uintptr_t)subj;
  g->names = (char *)(uintptr_t)names;
  g->names_len = (size_t)sc[S_NAMES].size;
  g->mapped = 1;
  g->file = buf;
  g->file_len = len;
  g->file_version = version;
  *out = g;
  return FG_OK;
}

int fg_gallery_open_memory(const void *buf, size_t len, const uint8_t *expect_model, unsigned flags,
                           fg_gallery **out, fg_error *err) {
  if (!out) return fg__seterr(err, FG_EINVAL, "out is NULL");
  *out = NULL;
  if (!buf && len) return fg__seterr(err, FG_EINVAL, "buffer is NULL");
  if ((uintptr_t)buf % 64) return fg__seterr(err, FG_EINVAL, "gallery buffer must be 64-byte aligned");
  if (sodium_init() < 0) return fg__seterr(err, FG_EIO, "libsodium failed to initialise");
  return open_view(buf, len, expect_model, flags, out, err);
}

int fg_gallery_open(const char *path, const uint8_t *expect_model, unsigned flags, fg_gallery **out,
                    fg_error *err) {
  if (!out || !path) return fg__seterr(err, FG_EINVAL, "path or out is NULL");
  *out = NULL;
  if (sodium_init() < 0) return fg__seterr(err, FG_EIO, "libsodium failed to initialise");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fg__seterr(err, errno == ENOENT ? FG_ENOTFOUND : FG_EIO, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    return fg__seterr(err, FG_EIO, "%s: not a regular file", path);
  }
  size_t len = (size_t)st.st_size;
  if (len < HDR_MIN) { /* also covers empty files, which cannot be mapped */
    uint8_t h[HDR_MIN];
    ssize_t got = pread(fd, h, sizeof h, 0);
    close(fd);
    fg_gallery *g = NULL;
    fg_error e2 = {0};
    int rc = open_view(h, got > 0 ? (size_t)got : 0, expect_model, flags, &g, &e2);
    fg_gallery_destroy(g); /* never set: len < header */
    return fg__seterr(err, rc ? rc : FG_EFORMAT, "%s: %s", path, rc ? e2.msg : "truncated");
  }
  int mflags = MAP_PRIVATE;
#ifdef MAP_POPULATE
  if (flags & FG_GALLERY_OPEN_POPULATE) mflags |= MAP_POPULATE;
#endif
  void *map = mmap(NULL, len, PROT_READ, mflags, fd, 0);
  int e = errno;
  close(fd);
  if (map == MAP_FAILED) return fg__seterr(err, FG_EIO, "%s: mmap: %s", path, strerror(e));
  fg_gallery *g;
  int rc = open_view(map, len, expect_model, flags, &g, err);
  if (rc) {
    munmap(map, len);
    return fg__err_prefix(err, rc, "%s", path);
  }
  g->map = map;
  g->map_len = len;
#ifdef MADV_RANDOM
  if (g->refine && g->n) { /* only candidates' rows are read: no read-ahead around them */
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), off = (size_t)(g->ref - (const uint8_t *)map) / pg * pg;
    madvise((uint8_t *)map + off, len - off, MADV_RANDOM);
  }
#endif
  *out = g;
  return FG_OK;
}

int fg_gallery_verify(const fg_gallery *g, fg_error *err) {
  if (!g) return fg__seterr(err, FG_EINVAL, "gallery is NULL");
  if (!g->file) return FG_OK;
  int caps = get32(g->file + 8) == 2; /* open_view checked the version */
  const hdr_shape *hs = caps ? &HDR_V2 : &HDR_V1;
  uint8_t d[DIGEST];
  digest(g->file, hs->digest_at, d);
  if (memcmp(d, g->file + hs->digest_at, DIGEST))
    return fg__seterr(err, FG_ECHECKSUM, "gallery header fails its checksum: the file is corrupt");
  sect sc[N_SECT] = {{0}};
  for (int i = 0; i < (int)hs->n_sect; i++) {
    const uint8_t *e = g->file + SECT_AT + 48 * i;
    sc[i].off = get64(e);
    sc[i].size = get64(e + 8);
    memcpy(sc[i].digest, e + 16, DIGEST);
  }
  return check_digests(g->file, sc, g->refine, caps, 1, 1, err);
}
