/*
 * Importing a watchlist file (`facegate watchlist import`): JSON Lines, one
 * entry per line, written in batches through fg__watchlist_write_batch
 * (watchlist_batch.c). docs/encounters.md, "Bulk loading", is the user's
 * description; the rules:
 *
 *   {"name": "DOE, Jane", "reason": "...", "expires": "2027-06-30",
 *    "photos": ["photos/doe-1.jpg"]}
 *   {"name": "...", "reason": "...", "templates": ["RkdUMQEB..."]}
 *
 *   - one JSON object per line (at most 1 MiB; blank lines are skipped; a
 *     UTF-8 byte-order mark on the first line and a CR before the newline are
 *     allowed); members: "name" (1..256 bytes) and "reason" (1..1024 bytes),
 *     UTF-8 without control characters; "expires" (optional: "YYYY-MM-DD" or
 *     "YYYY-MM-DDTHH:MM[:SS]Z", or null); and exactly one of "photos" (1..16
 *     relative paths, no "..", resolved against the file's directory) and
 *     "templates" (1..16 FGT1 templates in base64, fp32 or fp16, made by the
 *     recognition model the border runs). Any other member, a duplicate
 *     member, or a NUL byte is an error.
 *
 * Two passes. The first reads every line (from --from-line) and checks it
 * entirely: syntax, members, each template decoded against the model, each
 * photo file present and of a sane size (and, with check_only, each photo
 * through the face pipeline); the first bad line is refused with its number
 * and nothing is written. The second pass reads the file again and writes it
 * in batches, each all or nothing; a failure there (a photo without an
 * acceptable face, the database) leaves earlier batches committed and says
 * where to resume (report->next_line). A file that changed between the
 * passes (size or modification time) is refused before anything is written.
 * Each batch's audit event names the import (a random id shared by its
 * batches), the batch's number and its line range.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "border/border_internal.h"

#define PHOTO_MAX_BYTES ((size_t)32 << 20)
#define BATCH_PHOTO_BYTES ((size_t)64 << 20) /* a batch of photos is written early past this */

/* ---- one line ------------------------------------------------------------------------ */

void fg__wl_line_release(fg__wl_line *l) {
  if (!l) return;
  free(l->name);
  free(l->reason);
  for (int i = 0; i < l->nphotos; i++) free(l->photo[i]);
  if (l->emb) sodium_memzero(l->emb, (size_t)l->ntemplates * (size_t)l->dim * sizeof *l->emb);
  free(l->emb);
  memset(l, 0, sizeof *l);
}

/* A member name fit for a message: at most 40 bytes, control bytes as '?'. */
static void shown(const char *k, char out[48]) {
  size_t i = 0;
  for (; k[i] && i < 40; i++) out[i] = (unsigned char)k[i] < 0x20 ? '?' : k[i];
  out[i] = '\0';
}

static int text_member(const json_t *o, const char *key, size_t max, char **out, fg_error *err) {
  const json_t *v = json_object_get(o, key);
  if (!v) return fg__seterr(err, FG_EFORMAT, "\"%s\" is missing", key);
  if (!json_is_string(v)) return fg__seterr(err, FG_EFORMAT, "\"%s\" is not a string", key);
  size_t n = json_string_length(v);
  const char *s = json_string_value(v);
  if (n == 0) return fg__seterr(err, FG_EFORMAT, "\"%s\" is empty", key);
  if (strlen(s) != n) return fg__seterr(err, FG_EFORMAT, "\"%s\" holds a NUL character", key);
  char what[32];
  snprintf(what, sizeof what, "\"%s\"", key);
  fg_error e = {0};
  if (fg__border_text(what, s, max, &e) != FG_OK) return fg__seterr(err, FG_EFORMAT, "%s", e.msg);
  if (!(*out = strdup(s))) return fg__seterr(err, FG_ENOMEM, "out of memory");
  return FG_OK;
}

static int bad_path(const char *p) {
  if (!*p || p[0] == '/') return 1;
  for (const char *s = p; *s; s++)
    if ((unsigned char)*s < 0x20) return 1;
  /* no ".." component */
  for (const char *s = p; s; s = strchr(s, '/')) {
    if (*s == '/') s++;
    if (s[0] == '.' && s[1] == '.' && (s[2] == '/' || s[2] == '\0')) return 1;
  }
  return 0;
}

static int photos_member(const json_t *a, fg__wl_line *l, fg_error *err) {
  if (!json_is_array(a)) return fg__seterr(err, FG_EFORMAT, "\"photos\" is not an array");
  size_t n = json_array_size(a);
  if (n < 1 || n > FG_WATCHLIST_PHOTOS_MAX)
    return fg__seterr(err, FG_EFORMAT, "\"photos\" holds %zu paths (1 to %d)", n, FG_WATCHLIST_PHOTOS_MAX);
  for (size_t i = 0; i < n; i++) {
    const json_t *v = json_array_get(a, i);
    if (!json_is_string(v)) return fg__seterr(err, FG_EFORMAT, "photo %zu is not a string", i + 1);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) != len || len > FG__WL_PATH_MAX || bad_path(s))
      return fg__seterr(err, FG_EFORMAT,
                        "photo %zu: not a relative path (at most %d bytes, no \"..\", no control "
                        "characters)", i + 1, FG__WL_PATH_MAX);
    if (!(l->photo[i] = strdup(s))) return fg__seterr(err, FG_ENOMEM, "out of memory");
    l->nphotos = (int)i + 1;
  }
  return FG_OK;
}

static int templates_member(const json_t *a, const uint8_t *model, int dim, fg__wl_line *l,
                            fg_error *err) {
  if (!json_is_array(a)) return fg__seterr(err, FG_EFORMAT, "\"templates\" is not an array");
  size_t n = json_array_size(a);
  if (n < 1 || n > FG_WATCHLIST_PHOTOS_MAX)
    return fg__seterr(err, FG_EFORMAT, "\"templates\" holds %zu (1 to %d)", n, FG_WATCHLIST_PHOTOS_MAX);
  uint8_t *buf = malloc(FG_TEMPLATE_MAX_BYTES);
  if (!buf) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = FG_OK;
  for (size_t i = 0; i < n && rc == FG_OK; i++) {
    const json_t *v = json_array_get(a, i);
    size_t len = 0;
    if (!json_is_string(v)) {
      rc = fg__seterr(err, FG_EFORMAT, "template %zu is not a string", i + 1);
      break;
    }
    const char *s = json_string_value(v);
    if (sodium_base642bin(buf, FG_TEMPLATE_MAX_BYTES, s, json_string_length(v), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
      rc = fg__seterr(err, FG_EFORMAT, "template %zu is not base64 of at most %d bytes", i + 1,
                      FG_TEMPLATE_MAX_BYTES);
      break;
    }
    fg_template t;
    fg_error e = {0};
    if (fg_template_decode(buf, len, model, &t, &e) != FG_OK) {
      rc = fg__seterr(err, e.code == FG_ENOMEM ? FG_ENOMEM : FG_EFORMAT, "template %zu: %s", i + 1,
                      e.msg);
      break;
    }
    if (!l->emb) {
      l->dim = dim ? dim : t.dim;
      if (!(l->emb = malloc(n * (size_t)l->dim * sizeof *l->emb)))
        rc = fg__seterr(err, FG_ENOMEM, "out of memory");
    }
    if (rc == FG_OK && t.dim != l->dim)
      rc = fg__seterr(err, FG_EFORMAT, "template %zu has %d values, not %d", i + 1, t.dim, l->dim);
    if (rc == FG_OK) {
      memcpy(l->emb + i * (size_t)l->dim, t.values, (size_t)l->dim * sizeof *l->emb);
      l->capture[i] = (uint8_t)t.capture;
      l->ntemplates = (int)i + 1;
    }
    sodium_memzero(t.values, (size_t)t.dim * sizeof *t.values);
    fg_template_release(&t);
  }
  sodium_memzero(buf, FG_TEMPLATE_MAX_BYTES);
  free(buf);
  return rc;
}

int fg__wl_parse_line(const char *text, size_t len, const uint8_t *model, int dim, fg__wl_line *out,
                      fg_error *err) {
  memset(out, 0, sizeof *out);
  if (len > FG__WL_LINE_MAX)
    return fg__seterr(err, FG_EFORMAT, "longer than %zu bytes", FG__WL_LINE_MAX);
  json_error_t je;
  json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!o) return fg__seterr(err, FG_EFORMAT, "not JSON: %s (column %d)", je.text, je.column);
  int rc = FG_OK;
  if (!json_is_object(o)) rc = fg__seterr(err, FG_EFORMAT, "not a JSON object");
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    if (rc != FG_OK) break;
    if (strcmp(key, "name") && strcmp(key, "reason") && strcmp(key, "expires") &&
        strcmp(key, "photos") && strcmp(key, "templates")) {
      char k[48];
      shown(key, k);
      rc = fg__seterr(err, FG_EFORMAT, "unknown member \"%s\" (name, reason, expires, photos, templates)", k);
    }
  }
  if (rc == FG_OK) rc = text_member(o, "name", 256, &out->name, err);
  if (rc == FG_OK) rc = text_member(o, "reason", 1024, &out->reason, err);
  const json_t *ex = json_object_get(o, "expires");
  if (rc == FG_OK && ex && !json_is_null(ex) &&
      (!json_is_string(ex) || fg__parse_time(json_string_value(ex), &out->expires_at) != FG_OK ||
       out->expires_at <= 0))
    rc = fg__seterr(err, FG_EFORMAT, "\"expires\" is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z)");
  const json_t *ph = json_object_get(o, "photos"), *tp = json_object_get(o, "templates");
  if (rc == FG_OK && !ph == !tp)
    rc = fg__seterr(err, FG_EFORMAT, "give either \"photos\" or \"templates\" (one of them)");
  if (rc == FG_OK && ph) rc = photos_member(ph, out, err);
  if (rc == FG_OK && tp) rc = templates_member(tp, model, dim, out, err);
  json_decref(o);
  if (rc != FG_OK) fg__wl_line_release(out);
  return rc;
}

/* ---- reading lines ------------------------------------------------------------------- */

typedef struct reader {
  FILE *f;
  char *buf;      /* FG__WL_LINE_MAX + 1 */
  size_t len;
  long line;      /* the current line's number */
  int too_long, has_nul;
} reader;

/* The next line into r->buf (without its newline or a CR before it); 0 at
 * the end of the file, -1 on a read error. */
static int next_line(reader *r) {
  int c = EOF;
  r->len = 0;
  r->too_long = r->has_nul = 0;
  int any = 0;
  while ((c = getc_unlocked(r->f)) != EOF) {
    any = 1;
    if (c == '\n') break;
    if (c == '\0') r->has_nul = 1;
    if (r->len < FG__WL_LINE_MAX) r->buf[r->len++] = (char)c;
    else r->too_long = 1;
  }
  if (ferror(r->f)) return -1;
  if (!any) return 0;
  r->line++;
  if (r->len && r->buf[r->len - 1] == '\r') r->len--;
  if (r->line == 1 && r->len >= 3 && !memcmp(r->buf, "\xEF\xBB\xBF", 3)) {
    memmove(r->buf, r->buf + 3, r->len - 3);
    r->len -= 3;
  }
  r->buf[r->len] = '\0';
  return 1;
}

static int blank(const reader *r) {
  for (size_t i = 0; i < r->len; i++)
    if (r->buf[i] != ' ' && r->buf[i] != '\t') return 0;
  return 1;
}

/* ---- the import ---------------------------------------------------------------------- */

typedef struct importer {
  fg_border *b;
  const fg_actor *who;
  const fg_watchlist_import_opts *o;
  fg_watchlist_import_report *r;
  fg_face_engine *fe;
  uint8_t model[8];
  int dim;
  char base[4096];
  reader rd;
  /* the batch being gathered */
  fg__wl_line *lines;
  long *line_no;
  fg_watchlist_entry *entries;
  uint8_t **photos;   /* per entry: FG_WATCHLIST_PHOTOS_MAX slots */
  size_t *photo_lens;
  float *embs;        /* batch x FG_WATCHLIST_PHOTOS_MAX x dim */
  uint8_t *caps;      /* their capture flags: batch x FG_WATCHLIST_PHOTOS_MAX */
  size_t n, cap, templates, photo_bytes, batch_no;
  char import_id[17];
  size_t total, done;
} importer;

static int line_error(importer *im, long line, fg_error *err) {
  char msg[FG_ERROR_MSG_MAX];
  snprintf(msg, sizeof msg, "%s", err->msg);
  im->r->error_line = line;
  return fg__seterr(err, err->code ? err->code : FG_EFORMAT, "line %ld: %s", line, msg);
}

static void photo_path(const importer *im, const char *rel, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", im->base, rel);
}

/* Read photo k of line l into *data (malloc'd). */
static int read_photo(const importer *im, const fg__wl_line *l, int k, uint8_t **data, size_t *len,
                      fg_error *err) {
  char path[4096 + FG__WL_PATH_MAX + 2];
  photo_path(im, l->photo[k], path, sizeof path);
  *data = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return fg__seterr(err, FG_EFORMAT, "photo %d (%s): %s", k + 1, l->photo[k], strerror(errno));
  struct stat st;
  int rc = FG_OK;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
    rc = fg__seterr(err, FG_EFORMAT, "photo %d (%s): not a regular file", k + 1, l->photo[k]);
  else if (st.st_size <= 0 || (size_t)st.st_size > PHOTO_MAX_BYTES)
    rc = fg__seterr(err, FG_EFORMAT, "photo %d (%s): %lld bytes (1 to %zu)", k + 1, l->photo[k],
                    (long long)st.st_size, PHOTO_MAX_BYTES);
  else if (!(*data = malloc((size_t)st.st_size)))
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  else if (fread(*data, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
    rc = fg__seterr(err, FG_EIO, "photo %d (%s): read failed", k + 1, l->photo[k]);
  fclose(f);
  if (rc != FG_OK) {
    free(*data);
    *data = NULL;
  } else {
    *len = (size_t)st.st_size;
  }
  return rc;
}

/* Photo k of line l exists and has a sane size (first pass, without reading it). */
static int stat_photo(const importer *im, const fg__wl_line *l, int k, fg_error *err) {
  char path[4096 + FG__WL_PATH_MAX + 2];
  photo_path(im, l->photo[k], path, sizeof path);
  struct stat st;
  if (stat(path, &st) != 0)
    return fg__seterr(err, FG_EFORMAT, "photo %d (%s): %s", k + 1, l->photo[k], strerror(errno));
  if (!S_ISREG(st.st_mode))
    return fg__seterr(err, FG_EFORMAT, "photo %d (%s): not a regular file", k + 1, l->photo[k]);
  if (st.st_size <= 0 || (size_t)st.st_size > PHOTO_MAX_BYTES)
    return fg__seterr(err, FG_EFORMAT, "photo %d (%s): %lld bytes (1 to %zu)", k + 1, l->photo[k],
                      (long long)st.st_size, PHOTO_MAX_BYTES);
  return FG_OK;
}

/* The embedding of one photo into out (dim floats), its capture flags
 * (harsh light, from its quality) into *cap (may be NULL). */
static int embed_photo(importer *im, const uint8_t *data, size_t len, int k, float *out, uint8_t *cap,
                       fg_error *err) {
  fg_face_result *fr = im->b->scratch;
  fg_error e2 = {0};
  int rc = fg_face_process_buffer(im->fe, data, len, NULL, fr, &e2);
  if (rc != FG_OK)
    return fg__seterr(err, rc == FG_ENOMEM ? rc : FG_EINVAL, "photo %d cannot be read: %s", k + 1, e2.msg);
  if (fr->status == FG_FACE_NO_FACE) return fg__seterr(err, FG_EINVAL, "photo %d: no face found", k + 1);
  if (fr->status != FG_FACE_OK || fr->dim != im->dim)
    return fg__seterr(err, FG_EINVAL, "photo %d: quality %.0f too low", k + 1, (double)fr->quality.score);
  memcpy(out, fr->embedding, (size_t)im->dim * sizeof *out);
  if (cap) *cap = fg_face_quality_harsh_light(&fr->quality) ? FG_TEMPLATE_CAPTURE_HARSH_LIGHT : 0;
  sodium_memzero(fr->embedding, (size_t)fr->dim * sizeof *fr->embedding);
  return FG_OK;
}

static void batch_clear(importer *im) {
  for (size_t i = 0; i < im->n; i++) {
    fg__wl_line_release(&im->lines[i]);
    for (int k = 0; k < FG_WATCHLIST_PHOTOS_MAX; k++) {
      free(im->photos[i * FG_WATCHLIST_PHOTOS_MAX + k]);
      im->photos[i * FG_WATCHLIST_PHOTOS_MAX + k] = NULL;
    }
  }
  /* the embeddings used (a failed entry's may lie past im->templates: up to 16 more) */
  size_t used = im->templates + FG_WATCHLIST_PHOTOS_MAX;
  if (used > im->cap * FG_WATCHLIST_PHOTOS_MAX) used = im->cap * FG_WATCHLIST_PHOTOS_MAX;
  sodium_memzero(im->embs, used * (size_t)im->dim * sizeof *im->embs);
  im->n = im->templates = im->photo_bytes = 0;
}

static int batch_write(importer *im, fg_error *err) {
  if (im->n == 0) return FG_OK;
  json_t *extra = json_pack("{s:s, s:I, s:[I, I]}", "import", im->import_id, "batch",
                            (json_int_t)(im->batch_no + 1), "lines", (json_int_t)im->line_no[0],
                            (json_int_t)im->line_no[im->n - 1]);
  fg_watchlist_batch_result br;
  int rc = fg__watchlist_write_batch(im->b, im->who, im->entries, im->n, im->embs, im->caps, im->dim, "file",
                                     extra, &br, err);
  if (rc != FG_OK) {
    im->r->next_line = im->line_no[0];
    batch_clear(im);
    return rc;
  }
  im->batch_no++;
  fg_watchlist_import_report *r = im->r;
  if (!r->first_id) r->first_id = br.first_id;
  r->last_id = br.last_id;
  r->entries += br.entries;
  r->templates += br.templates;
  r->batches++;
  r->next_line = im->line_no[im->n - 1] + 1;
  im->done += im->n;
  batch_clear(im);
  if (im->o->progress) im->o->progress(im->o->progress_ctx, im->done, im->total);
  return FG_OK;
}

/* Add the parsed line l (taken over) to the batch: its embeddings made. */
static int batch_add(importer *im, fg__wl_line *l, long line, fg_error *err) {
  size_t i = im->n;
  fg_watchlist_entry *e = &im->entries[i];
  uint8_t **ph = &im->photos[i * FG_WATCHLIST_PHOTOS_MAX];
  size_t *pl = &im->photo_lens[i * FG_WATCHLIST_PHOTOS_MAX];
  float *dst = im->embs + im->templates * (size_t)im->dim;
  uint8_t *cap = im->caps + im->templates;
  int rc = FG_OK;
  if (l->ntemplates) {
    memcpy(dst, l->emb, (size_t)l->ntemplates * (size_t)im->dim * sizeof *dst);
    memcpy(cap, l->capture, (size_t)l->ntemplates); /* as the templates recorded them */
  } else {
    for (int k = 0; k < l->nphotos && rc == FG_OK; k++) {
      rc = read_photo(im, l, k, &ph[k], &pl[k], err);
      if (rc == FG_OK) rc = embed_photo(im, ph[k], pl[k], k, dst + (size_t)k * (size_t)im->dim, cap + k, err);
      if (rc == FG_OK) im->photo_bytes += pl[k];
    }
  }
  im->lines[i] = *l;
  memset(l, 0, sizeof *l);
  if (rc != FG_OK) {
    im->n++; /* so that batch_clear frees it */
    im->r->next_line = im->n > 1 ? im->line_no[0] : line;
    return line_error(im, line, err);
  }
  fg__wl_line *kept = &im->lines[i];
  *e = (fg_watchlist_entry){.name = kept->name, .reason = kept->reason,
                            .expires_at = kept->expires_at,
                            .embeddings = kept->ntemplates ? dst : NULL,
                            .photos = kept->nphotos ? (const uint8_t *const *)ph : NULL,
                            .photo_lens = kept->nphotos ? pl : NULL,
                            .n = kept->ntemplates ? kept->ntemplates : kept->nphotos};
  im->line_no[i] = line;
  im->templates += (size_t)e->n;
  im->n++;
  return FG_OK;
}

/* Pass 1: check every line from first_line; count entries. */
static int check_pass(importer *im, fg_error *err) {
  fg_watchlist_import_report *r = im->r;
  long from = im->o->first_line > 1 ? im->o->first_line : 1;
  int got;
  float *scratch = im->o->check_only ? malloc((size_t)im->dim * sizeof *scratch) : NULL;
  if (im->o->check_only && !scratch) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = FG_OK;
  while (rc == FG_OK && (got = next_line(&im->rd)) > 0) {
    if (im->rd.line < from) continue;
    r->lines++;
    if (im->rd.too_long) {
      fg__seterr(err, FG_EFORMAT, "longer than %zu bytes", FG__WL_LINE_MAX);
      rc = line_error(im, im->rd.line, err);
      break;
    }
    if (im->rd.has_nul) {
      fg__seterr(err, FG_EFORMAT, "holds a NUL byte");
      rc = line_error(im, im->rd.line, err);
      break;
    }
    if (blank(&im->rd)) continue;
    fg__wl_line l;
    if ((rc = fg__wl_parse_line(im->rd.buf, im->rd.len, im->model, im->dim, &l, err)) != FG_OK) {
      rc = line_error(im, im->rd.line, err);
      break;
    }
    for (int k = 0; k < l.nphotos && rc == FG_OK; k++) {
      if (!im->o->check_only) {
        rc = stat_photo(im, &l, k, err);
      } else {
        uint8_t *data = NULL;
        size_t len = 0;
        rc = read_photo(im, &l, k, &data, &len, err);
        if (rc == FG_OK) rc = embed_photo(im, data, len, k, scratch, NULL, err);
        free(data);
      }
    }
    if (rc == FG_OK) {
      im->total++;
      r->templates += (size_t)(l.ntemplates + l.nphotos);
      /* checking: total 0 (photos through the pipeline are slow: report each) */
      if (im->o->progress && (im->total % 1000 == 0 || (l.nphotos && im->o->check_only)))
        im->o->progress(im->o->progress_ctx, im->total, 0);
    } else {
      rc = line_error(im, im->rd.line, err);
    }
    fg__wl_line_release(&l);
  }
  if (rc == FG_OK && got < 0) rc = fg__seterr(err, FG_EIO, "reading the file: %s", strerror(errno));
  if (rc == FG_OK && im->total == 0)
    rc = fg__seterr(err, FG_EFORMAT, "no entries%s", from > 1 ? " from that line on" : "");
  if (scratch) sodium_memzero(scratch, (size_t)im->dim * sizeof *scratch);
  free(scratch);
  return rc;
}

/* Pass 2: the same lines again, written in batches. */
static int write_pass(importer *im, size_t batch, fg_error *err) {
  long from = im->o->first_line > 1 ? im->o->first_line : 1;
  int got, rc = FG_OK;
  im->rd.line = 0;
  while (rc == FG_OK && (got = next_line(&im->rd)) > 0) {
    if (im->rd.line < from || blank(&im->rd)) continue;
    fg__wl_line l;
    if (im->rd.too_long || im->rd.has_nul ||
        (rc = fg__wl_parse_line(im->rd.buf, im->rd.len, im->model, im->dim, &l, err)) != FG_OK) {
      if (rc == FG_OK) fg__seterr(err, FG_EFORMAT, "changed since it was checked");
      im->r->next_line = im->n ? im->line_no[0] : im->rd.line;
      rc = line_error(im, im->rd.line, err);
      break;
    }
    rc = batch_add(im, &l, im->rd.line, err);
    fg__wl_line_release(&l);
    if (rc == FG_OK && (im->n == batch || im->photo_bytes >= BATCH_PHOTO_BYTES))
      rc = batch_write(im, err);
  }
  if (rc == FG_OK && got < 0) rc = fg__seterr(err, FG_EIO, "reading the file: %s", strerror(errno));
  if (rc == FG_OK) rc = batch_write(im, err);
  if (rc == FG_OK) im->r->next_line = 0;
  batch_clear(im);
  return rc;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int fg_border_watchlist_import(fg_border *b, const fg_actor *who, const char *path,
                               const fg_watchlist_import_opts *o, fg_watchlist_import_report *r,
                               fg_error *err) {
  fg_watchlist_import_opts defaults = {0};
  fg_watchlist_import_report local;
  fg_error local_err;
  if (!o) o = &defaults;
  if (!r) r = &local;
  if (!err) err = &local_err;
  memset(r, 0, sizeof *r);
  if (!b || !path) return fg__seterr(err, FG_EINVAL, "watchlist import: missing argument");
  size_t batch = o->batch ? o->batch : FG_WATCHLIST_BATCH_DEFAULT;
  if (batch > FG_WATCHLIST_BATCH_MAX)
    return fg__seterr(err, FG_EINVAL, "watchlist import: batches of at most %d entries",
                      FG_WATCHLIST_BATCH_MAX);
  if (o->first_line < 0) return fg__seterr(err, FG_EINVAL, "watchlist import: a negative line");
  importer im = {.b = b, .who = who, .o = o, .r = r};
  int rc = fg__border_face(b, &im.fe, err);
  if (rc != FG_OK) return rc;
  fg_face_engine_model_id(im.fe, im.model);
  im.dim = fg_face_engine_dim(im.fe);
  if (o->base_dir) {
    snprintf(im.base, sizeof im.base, "%s", o->base_dir);
  } else {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(im.base, sizeof im.base, "%s", dirname(tmp));
  }
  im.rd.f = fopen(path, "rb");
  if (!im.rd.f) return fg__seterr(err, errno == ENOENT ? FG_ENOTFOUND : FG_EIO, "%s: %s", path, strerror(errno));
  struct stat st0, st1;
  im.rd.buf = malloc(FG__WL_LINE_MAX + 1);
  im.cap = batch;
  im.lines = calloc(batch, sizeof *im.lines);
  im.line_no = calloc(batch, sizeof *im.line_no);
  im.entries = calloc(batch, sizeof *im.entries);
  im.photos = calloc(batch * FG_WATCHLIST_PHOTOS_MAX, sizeof *im.photos);
  im.photo_lens = calloc(batch * FG_WATCHLIST_PHOTOS_MAX, sizeof *im.photo_lens);
  im.embs = malloc(batch * FG_WATCHLIST_PHOTOS_MAX * (size_t)im.dim * sizeof *im.embs);
  im.caps = calloc(batch * FG_WATCHLIST_PHOTOS_MAX, 1);
  if (!im.rd.buf || !im.lines || !im.line_no || !im.entries || !im.photos || !im.photo_lens || !im.embs ||
      !im.caps)
    rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  if (rc == FG_OK && fstat(fileno(im.rd.f), &st0) != 0)
    rc = fg__seterr(err, FG_EIO, "%s: %s", path, strerror(errno));
  if (rc == FG_OK) rc = check_pass(&im, err);
  if (rc == FG_OK && !o->check_only) {
    /* the file as checked: same size and modification time */
    if (fstat(fileno(im.rd.f), &st1) != 0 || st1.st_size != st0.st_size ||
        st1.st_mtim.tv_sec != st0.st_mtim.tv_sec || st1.st_mtim.tv_nsec != st0.st_mtim.tv_nsec ||
        fseek(im.rd.f, 0, SEEK_SET) != 0)
      rc = fg__seterr(err, FG_ECONFLICT, "%s changed while it was checked: nothing written", path);
  }
  if (rc == FG_OK && o->check_only) r->entries = im.total;
  if (rc == FG_OK && !o->check_only) {
    uint8_t id[8];
    randombytes_buf(id, sizeof id);
    sodium_bin2hex(im.import_id, sizeof im.import_id, id, sizeof id);
    size_t checked_templates = r->templates;
    r->templates = 0;
    double t0 = now_s();
    rc = write_pass(&im, batch, err);
    r->seconds = now_s() - t0;
    if (rc == FG_OK && (r->entries != im.total || r->templates != checked_templates))
      rc = fg__seterr(err, FG_ECONFLICT, "%s changed while it was imported: %zu entries checked, %zu written",
                      path, im.total, r->entries);
  }
  fclose(im.rd.f);
  free(im.rd.buf);
  if (im.embs) sodium_memzero(im.embs, batch * FG_WATCHLIST_PHOTOS_MAX * (size_t)im.dim * sizeof *im.embs);
  free(im.embs);
  free(im.caps);
  free(im.lines);
  free(im.line_no);
  free(im.entries);
  free(im.photos);
  free(im.photo_lens);
  return rc;
}
