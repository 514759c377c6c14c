/*
 * LFW data: listing the images of an LFW-style tree (<dir>/<name>/<name>_NNNN.jpg)
 * and parsing the verification protocol file pairs.txt. Both produce an
 * fg_lfw_images set — sorted by (name, number), one pooled copy of each name,
 * dense identity indices — so the evaluation can map protocol pairs onto the
 * rows of an embeddings matrix whichever way the images were gathered.
 *
 * The parser is deliberately strict (see facegate/eval.h): a truncated or
 * edited pairs.txt silently changes every published figure, so anything that
 * is not exactly the protocol's shape is an error naming the line.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/internal.h"
#include "facegate/eval.h"

/* A reference to an image whose name lives at `off` in some caller buffer. */
typedef struct ref {
  size_t off;
  int number;
} ref;

typedef struct refsort {
  const char *names;
} refsort;

static int ref_cmp(const void *pa, const void *pb, void *ctx) {
  const char *names = ((const refsort *)ctx)->names;
  const ref *a = pa, *b = pb;
  int c = strcmp(names + a->off, names + b->off);
  if (c) return c;
  return (a->number > b->number) - (a->number < b->number);
}

/* Sort and deduplicate refs (names in `names`) and build *out: pooled names,
 * identities. The refs array is reordered. */
static int images_build(ref *refs, size_t nrefs, const char *names, fg_lfw_images *out,
                        fg_error *err) {
  memset(out, 0, sizeof *out);
  refsort ctx = {names};
  if (nrefs) qsort_r(refs, nrefs, sizeof *refs, ref_cmp, &ctx);
  size_t nimg = 0, nid = 0, pool_len = 0;
  for (size_t i = 0; i < nrefs; i++) {
    if (i && !ref_cmp(&refs[i], &refs[i - 1], &ctx)) continue;
    nimg++;
    if (!i || strcmp(names + refs[i].off, names + refs[i - 1].off)) {
      nid++;
      pool_len += strlen(names + refs[i].off) + 1;
    }
  }
  out->images = calloc(nimg ? nimg : 1, sizeof *out->images);
  out->pool = malloc(pool_len ? pool_len : 1);
  if (!out->images || !out->pool) {
    fg_lfw_images_release(out);
    return fg__seterr(err, FG_ENOMEM, "out of memory listing %zu images", nimg);
  }
  char *p = out->pool;
  const char *cur = NULL;
  size_t k = 0;
  uint32_t id = 0;
  for (size_t i = 0; i < nrefs; i++) {
    if (i && !ref_cmp(&refs[i], &refs[i - 1], &ctx)) continue;
    const char *nm = names + refs[i].off;
    if (!cur || strcmp(cur, nm)) {
      if (cur) id++;
      size_t l = strlen(nm) + 1;
      memcpy(p, nm, l);
      cur = p;
      p += l;
    }
    out->images[k].name = cur;
    out->images[k].number = refs[i].number;
    out->images[k].identity = id;
    k++;
  }
  out->count = nimg;
  out->identities = nid;
  return FG_OK;
}

void fg_lfw_images_release(fg_lfw_images *set) {
  if (!set) return;
  free(set->images);
  free(set->pool);
  memset(set, 0, sizeof *set);
}

long fg_lfw_images_find(const fg_lfw_images *set, const char *name, int number) {
  size_t lo = 0, hi = set->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const fg_lfw_image *m = &set->images[mid];
    int c = strcmp(m->name, name);
    if (!c) c = (m->number > number) - (m->number < number);
    if (!c) return (long)mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

int fg_lfw_image_path(const char *images_dir, const fg_lfw_image *img, char *buf, size_t n,
                      fg_error *err) {
  int w = snprintf(buf, n, "%s/%s/%s_%04d.jpg", images_dir, img->name, img->name, img->number);
  if (w < 0 || (size_t)w >= n)
    return fg__seterr(err, FG_ELIMIT, "path of %s_%04d under %s is longer than %zu bytes",
                      img->name, img->number, images_dir, n);
  return FG_OK;
}

/* ------------------------------------------------------------------ scan */

/* A growable byte buffer and ref array, used while scanning. */
typedef struct scan_acc {
  char *names;
  size_t len, cap;
  ref *refs;
  size_t nrefs, rcap;
} scan_acc;

static int acc_name(scan_acc *a, const char *s, size_t *off) {
  size_t l = strlen(s) + 1;
  if (a->len + l > a->cap) {
    size_t c = a->cap ? a->cap * 2 : 1 << 16;
    while (c < a->len + l) c *= 2;
    char *p = realloc(a->names, c);
    if (!p) return -1;
    a->names = p;
    a->cap = c;
  }
  memcpy(a->names + a->len, s, l);
  *off = a->len;
  a->len += l;
  return 0;
}

static int acc_ref(scan_acc *a, size_t off, int number) {
  if (a->nrefs == a->rcap) {
    size_t c = a->rcap ? a->rcap * 2 : 1 << 14;
    ref *p = realloc(a->refs, c * sizeof *p);
    if (!p) return -1;
    a->refs = p;
    a->rcap = c;
  }
  a->refs[a->nrefs++] = (ref){off, number};
  return 0;
}

/* If file is "<person>_<digits>.jpg" return the number (1..9999), else 0. */
static int image_number(const char *person, const char *file) {
  size_t pl = strlen(person);
  if (strncmp(file, person, pl) || file[pl] != '_') return 0;
  const char *d = file + pl + 1;
  int v = 0, nd = 0;
  while (isdigit((unsigned char)*d) && nd < 5) v = v * 10 + (*d++ - '0'), nd++;
  if (!nd || nd > 4 || strcmp(d, ".jpg") || v < 1) return 0;
  return v;
}

int fg_lfw_images_scan(const char *images_dir, fg_lfw_images *out, fg_error *err) {
  memset(out, 0, sizeof *out);
  DIR *top = opendir(images_dir);
  if (!top)
    return fg__seterr(err, errno == ENOENT ? FG_ENOTFOUND : FG_EIO, "%s: %s", images_dir,
                      strerror(errno));
  scan_acc a = {0};
  int rc = FG_OK;
  char path[4096];
  struct dirent *de;
  while ((de = readdir(top))) {
    if (de->d_name[0] == '.') continue;
    if (snprintf(path, sizeof path, "%s/%s", images_dir, de->d_name) >= (int)sizeof path) continue;
    DIR *sub = opendir(path);
    if (!sub) continue; /* not a directory (or unreadable): not a person */
    size_t off = 0;
    int have_name = 0;
    struct dirent *fe;
    while ((fe = readdir(sub))) {
      int num = image_number(de->d_name, fe->d_name);
      if (!num) continue;
      if (!have_name && acc_name(&a, de->d_name, &off)) { rc = FG_ENOMEM; break; }
      have_name = 1;
      if (acc_ref(&a, off, num)) { rc = FG_ENOMEM; break; }
    }
    closedir(sub);
    if (rc) break;
  }
  closedir(top);
  if (!rc) rc = images_build(a.refs, a.nrefs, a.names, out, err);
  else fg__seterr(err, rc, "out of memory scanning %s", images_dir);
  free(a.names);
  free(a.refs);
  return rc;
}

/* ----------------------------------------------------------------- parse */

#define MAX_FIELDS 5

typedef struct line_t {
  char *start; /* NUL-terminated (in the working copy) */
  char *field[MAX_FIELDS];
  int nfields; /* MAX_FIELDS means "more than 4" */
} line_t;

/* Split a line in place on spaces/tabs. */
static void split(line_t *l) {
  l->nfields = 0;
  char *p = l->start;
  while (*p) {
    while (*p == ' ' || *p == '\t') *p++ = '\0';
    if (!*p) break;
    if (l->nfields == MAX_FIELDS) return;
    l->field[l->nfields++] = p;
    while (*p && *p != ' ' && *p != '\t') p++;
  }
}

/* Strict positive integer in [lo, hi]; -1 if not. */
static long parse_uint(const char *s, long lo, long hi) {
  if (!*s || strlen(s) > 9) return -1;
  long v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    v = v * 10 + (*p - '0');
  }
  return v < lo || v > hi ? -1 : v;
}

static int valid_name(const char *s) {
  return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* Copy of a line for an error message: at most 60 characters, fields joined by
 * single spaces (the line has already been split in place). */
static void show(const line_t *l, char *buf, size_t n) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < l->nfields && i < 4 && k + 1 < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? " " : "", l->field[i]);
  if (k >= 60 && n > 64) strcpy(buf + 57, "...");
}

int fg_lfw_pairs_parse(const char *text, size_t len, fg_lfw_pairs *out, fg_error *err) {
  memset(out, 0, sizeof *out);
  int rc = FG_OK;
  char *copy = malloc(len + 1);
  line_t *lines = NULL;
  ref *refs = NULL;
  if (!copy) return fg__seterr(err, FG_ENOMEM, "out of memory (%zu bytes)", len);
  memcpy(copy, text, len);
  copy[len] = 0;
  if (memchr(copy, 0, len)) {
    int ln = 1;
    for (size_t i = 0; i < len && copy[i]; i++) ln += copy[i] == '\n';
    rc = fg__seterr(err, FG_EFORMAT, "line %d: NUL byte in a text file", ln);
    goto fail;
  }

  /* Lines. */
  size_t nlines = 0, cap = 0;
  for (char *p = copy; *p || p == copy;) {
    if (nlines == cap) {
      cap = cap ? cap * 2 : 8192;
      line_t *nl = realloc(lines, cap * sizeof *nl);
      if (!nl) { rc = fg__seterr(err, FG_ENOMEM, "out of memory"); goto fail; }
      lines = nl;
    }
    char *e = strchr(p, '\n');
    lines[nlines].start = p;
    if (e) *e = 0;
    size_t l = strlen(p);
    if (l && p[l - 1] == '\r') p[l - 1] = 0;
    split(&lines[nlines]);
    nlines++;
    if (!e) break;
    p = e + 1;
    if (!*p) break; /* final newline */
  }
  /* Trailing blank lines are allowed; drop them. */
  while (nlines && lines[nlines - 1].nfields == 0) nlines--;
  char shown[80];

  if (!nlines) { rc = fg__seterr(err, FG_EFORMAT, "line 1: empty file, expected the header \"<folds> <pairs per fold>\" (LFW: \"10 300\")"); goto fail; }
  long folds = -1, per = -1;
  if (lines[0].nfields == 2) {
    folds = parse_uint(lines[0].field[0], 2, FG_EVAL_MAX_FOLDS);
    per = parse_uint(lines[0].field[1], 1, 10000000);
  }
  if (folds < 0 || per < 0) {
    show(&lines[0], shown, sizeof shown);
    rc = fg__seterr(err, FG_EFORMAT,
                    "line 1: expected the header \"<folds> <pairs per fold>\" with folds in 2..%d "
                    "and pairs >= 1 (LFW: \"10 300\"), got \"%s\"",
                    FG_EVAL_MAX_FOLDS, shown);
    goto fail;
  }
  size_t npairs = (size_t)folds * (size_t)per * 2;
  out->pairs = calloc(npairs, sizeof *out->pairs);
  refs = malloc(npairs * 2 * sizeof *refs);
  if (!out->pairs || !refs) { rc = fg__seterr(err, FG_ENOMEM, "out of memory for %zu pairs", npairs); goto fail; }

  for (size_t k = 0; k < npairs; k++) {
    size_t li = 1 + k;
    int f = (int)(k / (size_t)(2 * per));
    long within = (long)(k % (size_t)(2 * per));
    int same = within < per;
    long idx = same ? within + 1 : within - per + 1;
    const char *what = same ? "same-person" : "different-person";
    const char *shape = same ? "name i j" : "name1 i name2 j";
    if (li >= nlines) {
      rc = fg__seterr(err, FG_EFORMAT,
                      "line %zu: file ends early; expected fold %d's %s pair %ld of %ld (\"%s\"); "
                      "the header promises %ld folds of %ld + %ld pairs",
                      li + 1, f + 1, what, idx, per, shape, folds, per, per);
      goto fail;
    }
    line_t *l = &lines[li];
    int want = same ? 3 : 4;
    show(l, shown, sizeof shown);
    if (l->nfields != want) {
      const char *hint = "";
      if (l->nfields == 0) hint = " (blank line)";
      else if (same && l->nfields == 4) hint = " (a different-person line where fold's same-person lines are expected: too few same-person lines before it?)";
      else if (!same && l->nfields == 3) hint = " (a same-person line where different-person lines are expected: too many same-person lines?)";
      rc = fg__seterr(err, FG_EFORMAT,
                      "line %zu: expected fold %d's %s pair %ld of %ld as %d fields \"%s\", got %s%d "
                      "field%s: \"%s\"%s",
                      li + 1, f + 1, what, idx, per, want, shape,
                      l->nfields == MAX_FIELDS ? "more than " : "",
                      l->nfields == MAX_FIELDS ? 4 : l->nfields,
                      l->nfields == 1 ? "" : "s", shown, hint);
      goto fail;
    }
    const char *n1 = l->field[0], *n2 = same ? l->field[0] : l->field[2];
    const char *s1 = l->field[1], *s2 = same ? l->field[2] : l->field[3];
    long i1 = parse_uint(s1, 1, 9999), i2 = parse_uint(s2, 1, 9999);
    if (!valid_name(n1) || !valid_name(n2)) {
      rc = fg__seterr(err, FG_EFORMAT, "line %zu: bad person name \"%s\" (empty, \".\", \"..\" or containing '/')",
                      li + 1, valid_name(n1) ? n2 : n1);
      goto fail;
    }
    if (i1 < 0 || i2 < 0) {
      rc = fg__seterr(err, FG_EFORMAT, "line %zu: image number \"%s\" is not an integer in 1..9999: \"%s\"",
                      li + 1, i1 < 0 ? s1 : s2, shown);
      goto fail;
    }
    if (!same && !strcmp(n1, n2)) {
      rc = fg__seterr(err, FG_EFORMAT,
                      "line %zu: a different-person pair names the same person twice: \"%s\"", li + 1, shown);
      goto fail;
    }
    refs[2 * k] = (ref){(size_t)(n1 - copy), (int)i1};
    refs[2 * k + 1] = (ref){(size_t)(n2 - copy), (int)i2};
    out->pairs[k].same = (uint8_t)same;
    out->pairs[k].fold = (uint8_t)f;
    out->pairs[k].line = (int)(li + 1);
  }
  if (nlines > npairs + 1) {
    show(&lines[npairs + 1], shown, sizeof shown);
    rc = fg__seterr(err, FG_EFORMAT,
                    "line %zu: unexpected content after the last fold (the header promises %ld folds of "
                    "%ld + %ld pairs): \"%s\"",
                    npairs + 2, folds, per, per, shown);
    goto fail;
  }

  /* The pairs' images, as a set; then map each pair onto it. refs is sorted by
   * images_build, so keep the lookups to a copy of the pair's two refs. */
  ref *order = malloc(npairs * 2 * sizeof *order);
  if (!order) { rc = fg__seterr(err, FG_ENOMEM, "out of memory"); goto fail; }
  memcpy(order, refs, npairs * 2 * sizeof *order);
  rc = images_build(order, npairs * 2, copy, &out->images, err);
  free(order);
  if (rc) goto fail;
  for (size_t k = 0; k < npairs; k++) {
    long a = fg_lfw_images_find(&out->images, copy + refs[2 * k].off, refs[2 * k].number);
    long b = fg_lfw_images_find(&out->images, copy + refs[2 * k + 1].off, refs[2 * k + 1].number);
    out->pairs[k].a = (uint32_t)a;
    out->pairs[k].b = (uint32_t)b;
  }
  out->folds = (int)folds;
  out->per_fold = (int)per;
  out->npairs = npairs;
  free(lines);
  free(refs);
  free(copy);
  return FG_OK;

fail:
  free(lines);
  free(refs);
  free(copy);
  fg_lfw_pairs_release(out);
  return rc;
}

int fg_lfw_pairs_load(const char *path, fg_lfw_pairs *out, fg_error *err) {
  memset(out, 0, sizeof *out);
  uint8_t *data;
  size_t len;
  int rc = fg__read_file(path, (size_t)64 << 20, &data, &len, err);
  if (rc) return rc;
  fg_error e = {0};
  rc = fg_lfw_pairs_parse((const char *)data, len, out, &e);
  free(data);
  if (rc) return fg__seterr(err, rc, "%s: %s", path, e.msg);
  return FG_OK;
}

void fg_lfw_pairs_release(fg_lfw_pairs *p) {
  if (!p) return;
  free(p->pairs);
  fg_lfw_images_release(&p->images);
  memset(p, 0, sizeof *p);
}

int fg_lfw_devset(const fg_lfw_images *all, const fg_lfw_pairs *pairs, int per_person, fg_lfw_images *out,
                  fg_error *err) {
  memset(out, 0, sizeof *out);
  if (!all || !pairs || per_person < 0) return fg__seterr(err, FG_EINVAL, "devset: bad arguments");
  ref *refs = malloc((all->count ? all->count : 1) * sizeof *refs);
  if (!refs) return fg__seterr(err, FG_ENOMEM, "out of memory");
  size_t n = 0;
  for (size_t i = 0; i < all->count;) {
    size_t j = i, start = n;
    int kept = 0;
    for (; j < all->count && all->images[j].identity == all->images[i].identity; j++) {
      const fg_lfw_image *im = &all->images[j];
      if (fg_lfw_images_find(&pairs->images, im->name, im->number) >= 0) continue;
      if (per_person && kept >= per_person) continue;
      refs[n++] = (ref){(size_t)(im->name - all->pool), im->number};
      kept++;
    }
    if (kept < 2) n = start;
    i = j;
  }
  int rc = images_build(refs, n, all->pool, out, err);
  free(refs);
  return rc;
}
