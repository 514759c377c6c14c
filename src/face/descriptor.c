/*
 * Recognition model descriptors (facegate/descriptor.h): parsing with jansson,
 * strict about what it reads (unknown members are refused, so that a typo in
 * an operator's descriptor is an error rather than a silent default), the
 * SHA-256 check of the files, and applying one to the engine's options.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/internal.h"
#include "face/face_internal.h"
#include "facegate/descriptor.h"
#include "facegate/nn.h"

static int bad(fg_error *err, const char *src, const char *what) {
  return fg__seterr(err, FG_EFORMAT, "model descriptor %s: %s", src, what);
}

static int copy_str(json_t *v, char *dst, size_t cap, int required, const char *src, const char *what, fg_error *err) {
  if (!v) {
    if (required) return fg__seterr(err, FG_EFORMAT, "model descriptor %s: no \"%s\"", src, what);
    *dst = 0;
    return FG_OK;
  }
  const char *s = json_string_value(v);
  if (!s || strlen(s) >= cap)
    return fg__seterr(err, FG_EFORMAT, "model descriptor %s: \"%s\" must be a string under %zu bytes", src, what, cap);
  strcpy(dst, s);
  return FG_OK;
}

/* A file name inside the models directory: no directories, no "..". */
static int plain_name(const char *s) { return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, ".."); }

static int check_keys(json_t *obj, const char *const *allowed, const char *src, const char *where, fg_error *err) {
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    int ok = 0;
    for (int i = 0; allowed[i]; i++) ok |= !strcmp(k, allowed[i]);
    if (!ok) return fg__seterr(err, FG_EFORMAT, "model descriptor %s: unknown member \"%s\"%s", src, k, where);
  }
  return FG_OK;
}

static int num(json_t *v, double lo, double hi, double *out) {
  if (!json_is_number(v)) return -1;
  double x = json_number_value(v);
  if (!isfinite(x) || x < lo || x > hi) return -1;
  *out = x;
  return 0;
}

int fg_model_descriptor_parse(const char *json, size_t len, const char *source, fg_model_descriptor *d,
                              fg_error *err) {
  static const char *const top[] = {"name", "description", "files", "model", "input", "alignment", "embedding",
                                    "calibration", "fpir_calibration", "fuse", NULL};
  static const char *const fuse_top[] = {"name", "description", "fuse", "calibration", "fpir_calibration", NULL};
  static const char *const fu_keys[] = {"model", "weight", NULL};
  static const char *const in_keys[] = {"width", "height", "channels", "mean", "scale", NULL};
  static const char *const al_keys[] = {"template5", NULL};
  static const char *const em_keys[] = {"length", "metric", NULL};
  static const char *const f_keys[] = {"path", "sha256", NULL};
  memset(d, 0, sizeof *d);
  const char *src = source ? source : "(memory)";
  snprintf(d->source, sizeof d->source, "%s", src);
  json_error_t je;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) return fg__seterr(err, FG_EFORMAT, "model descriptor %s: line %d: %s", src, je.line, je.text);
  int rc = FG_OK;
  double v;
  if (!json_is_object(root)) { rc = bad(err, src, "not a JSON object"); goto done; }
  if ((rc = check_keys(root, top, src, "", err))) goto done;
  if ((rc = copy_str(json_object_get(root, "name"), d->name, sizeof d->name, 1, src, "name", err))) goto done;
  if (!*d->name || strspn(d->name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(d->name)) {
    rc = bad(err, src, "\"name\" must be lowercase letters, digits, '-', '_' or '.'");
    goto done;
  }
  if ((rc = copy_str(json_object_get(root, "description"), d->description, sizeof d->description, 0, src,
                     "description", err)))
    goto done;
  json_t *fuse = json_object_get(root, "fuse");
  if (fuse) { /* a fused model: two others and their weights */
    if ((rc = check_keys(root, fuse_top, src, " (a fused model)", err))) goto done;
    if (!json_is_array(fuse) || json_array_size(fuse) != 2) { rc = bad(err, src, "\"fuse\" must list two models"); goto done; }
    double sq = 0;
    for (int k = 0; k < 2; k++) {
      json_t *m = json_array_get(fuse, (size_t)k);
      if (!json_is_object(m) || (rc = check_keys(m, fu_keys, src, " in fuse", err))) {
        if (!rc) rc = bad(err, src, "each of \"fuse\" must be {\"model\", \"weight\"}");
        goto done;
      }
      if ((rc = copy_str(json_object_get(m, "model"), d->fuse_model[k], sizeof d->fuse_model[k], 1, src, "fuse[].model", err)))
        goto done;
      if (!*d->fuse_model[k] || strspn(d->fuse_model[k], "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(d->fuse_model[k]) ||
          d->fuse_model[k][0] == '.' || !strcmp(d->fuse_model[k], d->name)) {
        rc = bad(err, src, "fuse[].model must name another descriptor in the same directory");
        goto done;
      }
      if (num(json_object_get(m, "weight"), 1e-3, 1, &v)) { rc = bad(err, src, "fuse[].weight must be in (0, 1]"); goto done; }
      d->fuse_weight[k] = (float)v;
      sq += v * v;
    }
    if (fabs(sq - 1) > 1e-3) { rc = bad(err, src, "the squares of fuse[].weight must sum to 1"); goto done; }
    d->n_fuse = 2;
    if ((rc = copy_str(json_object_get(root, "calibration"), d->calibration, sizeof d->calibration, 0, src, "calibration", err)) ||
        (rc = copy_str(json_object_get(root, "fpir_calibration"), d->fpir_calibration, sizeof d->fpir_calibration, 0, src,
                       "fpir_calibration", err)))
      goto done;
    goto done;
  }
  json_t *files = json_object_get(root, "files");
  if (!json_is_array(files) || json_array_size(files) < 1 || json_array_size(files) > FG_DESC_MAX_FILES) {
    rc = bad(err, src, "\"files\" must list 1..8 {\"path\", \"sha256\"}");
    goto done;
  }
  size_t i;
  json_t *f;
  json_array_foreach(files, i, f) {
    if (!json_is_object(f) || (rc = check_keys(f, f_keys, src, " in files", err))) {
      if (!rc) rc = bad(err, src, "each of \"files\" must be an object");
      goto done;
    }
    if ((rc = copy_str(json_object_get(f, "path"), d->file[i], sizeof d->file[i], 1, src, "files[].path", err)) ||
        (rc = copy_str(json_object_get(f, "sha256"), d->file_sha256[i], sizeof d->file_sha256[i], 1, src,
                       "files[].sha256", err)))
      goto done;
    if (!plain_name(d->file[i])) { rc = bad(err, src, "files[].path must be a file name in the models directory"); goto done; }
    if (strlen(d->file_sha256[i]) != 64 || strspn(d->file_sha256[i], "0123456789abcdef") != 64) {
      rc = bad(err, src, "files[].sha256 must be 64 lowercase hex digits");
      goto done;
    }
    d->n_files++;
  }
  if ((rc = copy_str(json_object_get(root, "model"), d->model, sizeof d->model, 1, src, "model", err))) goto done;
  int listed = 0;
  for (int k = 0; k < d->n_files; k++) listed |= !strcmp(d->file[k], d->model);
  if (!listed) { rc = bad(err, src, "\"model\" must be one of \"files\""); goto done; }

  json_t *in = json_object_get(root, "input");
  if (!json_is_object(in)) { rc = bad(err, src, "no \"input\" object"); goto done; }
  if ((rc = check_keys(in, in_keys, src, " in input", err))) goto done;
  if (num(json_object_get(in, "width"), 16, 1024, &v) || v != floor(v)) { rc = bad(err, src, "input.width must be an integer 16..1024"); goto done; }
  d->width = (int)v;
  if (num(json_object_get(in, "height"), 16, 1024, &v) || v != floor(v)) { rc = bad(err, src, "input.height must be an integer 16..1024"); goto done; }
  d->height = (int)v;
  const char *ch = json_string_value(json_object_get(in, "channels"));
  if (!ch || (strcmp(ch, "rgb") && strcmp(ch, "bgr"))) { rc = bad(err, src, "input.channels must be \"rgb\" or \"bgr\""); goto done; }
  d->channels = !strcmp(ch, "rgb") ? FG_CHANNELS_RGB : FG_CHANNELS_BGR;
  if (num(json_object_get(in, "mean"), -1000, 1000, &v)) { rc = bad(err, src, "input.mean must be a number"); goto done; }
  d->mean = (float)v;
  if (num(json_object_get(in, "scale"), 1e-6, 1e3, &v)) { rc = bad(err, src, "input.scale must be a positive number"); goto done; }
  d->scale = (float)v;

  json_t *al = json_object_get(root, "alignment"), *t5 = json_object_get(al, "template5");
  if (!json_is_object(al) || (rc = check_keys(al, al_keys, src, " in alignment", err))) {
    if (!rc) rc = bad(err, src, "no \"alignment\" object");
    goto done;
  }
  if (!json_is_array(t5) || json_array_size(t5) != 10) { rc = bad(err, src, "alignment.template5 must hold 10 numbers"); goto done; }
  for (int k = 0; k < 10; k++) {
    if (num(json_array_get(t5, (size_t)k), 0, k % 2 ? d->height : d->width, &v)) {
      rc = bad(err, src, "alignment.template5: each point must lie inside the input");
      goto done;
    }
    d->template5[k] = (float)v;
  }
  json_t *em = json_object_get(root, "embedding");
  if (!json_is_object(em) || (rc = check_keys(em, em_keys, src, " in embedding", err))) {
    if (!rc) rc = bad(err, src, "no \"embedding\" object");
    goto done;
  }
  if (num(json_object_get(em, "length"), 2, FG_FACE_MAX_DIM, &v) || v != floor(v)) {
    rc = bad(err, src, "embedding.length must be an integer 2..2048");
    goto done;
  }
  d->embedding = (int)v;
  if ((rc = copy_str(json_object_get(em, "metric"), d->metric, sizeof d->metric, 1, src, "embedding.metric", err))) goto done;
  if (strcmp(d->metric, "cosine") && strcmp(d->metric, "euclidean")) {
    rc = bad(err, src, "embedding.metric must be \"cosine\" or \"euclidean\"");
    goto done;
  }
  if ((rc = copy_str(json_object_get(root, "calibration"), d->calibration, sizeof d->calibration, 0, src, "calibration", err)) ||
      (rc = copy_str(json_object_get(root, "fpir_calibration"), d->fpir_calibration, sizeof d->fpir_calibration, 0, src,
                     "fpir_calibration", err)))
    goto done;
done:
  json_decref(root);
  if (rc) {
    char keep[512];
    snprintf(keep, sizeof keep, "%s", d->source);
    memset(d, 0, sizeof *d);
    snprintf(d->source, sizeof d->source, "%s", keep);
  }
  return rc;
}

/* dir (the descriptor's directory, "" for none) joined with rel, each leading
 * "../" of rel taking one component off dir ("data/models" + "../calibration/x"
 * = "data/calibration/x"), so that the paths a person reads stay short. An
 * absolute rel, or no dir, is kept as it is. */
static int join_dir(const char *dir, const char *rel, char *out, size_t cap) {
  if (!*rel || rel[0] == '/' || !*dir) return snprintf(out, cap, "%s", rel) < (int)cap ? 0 : -1;
  char d[1024];
  if (snprintf(d, sizeof d, "%s", dir) >= (int)sizeof d) return -1;
  while (!strncmp(rel, "./", 2)) rel += 2;
  while (!strncmp(rel, "../", 3)) {
    char *slash = strrchr(d, '/');
    const char *last = slash ? slash + 1 : d;
    if (!*last || !strcmp(last, "..") || !strcmp(last, ".")) break; /* "/", "..": left to the system */
    if (slash == d) d[1] = 0;                                       /* "/x" -> "/" */
    else if (slash) *slash = 0;
    else strcpy(d, ".");
    rel += 3;
  }
  int n = !strcmp(d, "/") ? snprintf(out, cap, "/%s", rel) : snprintf(out, cap, "%s/%s", d, rel);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The directory of a descriptor file ("" when it has none: "x.json" -> "."). */
static void dir_of(const char *path, char *out, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(out, cap, ".");
  else if (slash == path) snprintf(out, cap, "/");
  else snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

int fg__descriptor_member(const fg_model_descriptor *d, int k, char *path, size_t cap) {
  char dir[512];
  dir_of(d->source, dir, sizeof dir);
  int n = snprintf(path, cap, "%s/%s.json", dir, d->fuse_model[k]);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Calibration paths are relative to the descriptor's own directory. */
static int resolve_paths(fg_model_descriptor *d, fg_error *err) {
  char dir[512], buf[512];
  dir_of(d->source, dir, sizeof dir);
  char *p[2] = {d->calibration, d->fpir_calibration};
  for (int i = 0; i < 2; i++) {
    if (!*p[i]) continue;
    if (join_dir(dir, p[i], buf, sizeof buf))
      return fg__seterr(err, FG_EFORMAT, "model descriptor %s: calibration path too long", d->source);
    strcpy(p[i], buf);
  }
  return FG_OK;
}

int fg_model_descriptor_load(const char *name_or_path, fg_model_descriptor *d, fg_error *err) {
  memset(d, 0, sizeof *d);
  if (!name_or_path || !*name_or_path) return fg__seterr(err, FG_EINVAL, "model descriptor: no name");
  char path[512];
  size_t n = strlen(name_or_path);
  if (strchr(name_or_path, '/') || (n > 5 && !strcmp(name_or_path + n - 5, ".json")))
    snprintf(path, sizeof path, "%s", name_or_path);
  else if (strspn(name_or_path, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != n || name_or_path[0] == '.')
    return fg__seterr(err, FG_EINVAL, "model descriptor: '%s' is neither a name nor a path", name_or_path);
  else
    snprintf(path, sizeof path, "%s/%s.json", FG_DESC_DIR, name_or_path);
  uint8_t *buf;
  size_t len;
  fg_error e = {0};
  int rc = fg__read_file(path, 1 << 20, &buf, &len, &e);
  if (rc == FG_ENOTFOUND || (rc == FG_EIO && errno == ENOENT))
    return fg__seterr(err, FG_ENOTFOUND, "no model descriptor %s (facegate models lists them)", path);
  if (rc) return fg__seterr(err, rc, "%s", e.msg);
  rc = fg_model_descriptor_parse((const char *)buf, len, path, d, err);
  free(buf);
  if (rc == FG_OK) rc = resolve_paths(d, err);
  return rc;
}

int fg_model_descriptor_verify(const fg_model_descriptor *d, const char *models_dir, fg_error *err) {
  const char *dir = models_dir && *models_dir ? models_dir : "var/models";
  for (int k = 0; k < d->n_fuse; k++) {
    fg_model_descriptor m;
    char mp[600];
    if (fg__descriptor_member(d, k, mp, sizeof mp)) return fg__seterr(err, FG_EINVAL, "model %s: path too long", d->name);
    int rc = fg_model_descriptor_load(mp, &m, err);
    if (!rc && m.n_fuse) rc = fg__seterr(err, FG_EFORMAT, "model %s: %s is itself fused", d->name, m.name);
    if (!rc) rc = fg_model_descriptor_verify(&m, models_dir, err);
    if (rc) return rc;
  }
  for (int i = 0; i < d->n_files; i++) {
    char path[4096], hex[65];
    snprintf(path, sizeof path, "%s/%s", dir, d->file[i]);
    fg_error e = {0};
    int rc = fg_file_sha256(path, hex, &e);
    if (rc) return fg__seterr(err, rc == FG_EIO ? FG_ENOTFOUND : rc, "model %s: %s", d->name, e.msg);
    if (strcmp(hex, d->file_sha256[i]))
      return fg__seterr(err, FG_ECHECKSUM, "model %s: %s has SHA-256 %s, the descriptor pins %s", d->name, path, hex,
                        d->file_sha256[i]);
  }
  return FG_OK;
}

int fg_model_descriptor_apply(const fg_model_descriptor *d, const char *models_dir, fg_face_options *o, char *path,
                              size_t path_cap, fg_error *err) {
  const char *dir = models_dir && *models_dir ? models_dir : "var/models";
  if (d->n_fuse) return fg__seterr(err, FG_EINVAL, "model %s is fused: the face engine runs it (fg_face_options.model)", d->name);
  int k = snprintf(path, path_cap, "%s/%s", dir, d->model);
  if (k < 0 || (size_t)k >= path_cap) return fg__seterr(err, FG_EINVAL, "model %s: path too long", d->name);
  o->feature_model = path;
  o->align_width = d->width;
  o->align_height = d->height;
  memcpy(o->align_template, d->template5, sizeof o->align_template);
  o->feat_channels = d->channels;
  o->feat_mean = d->mean;
  o->feat_scale = d->scale;
  o->feat_dim = d->embedding;
  return FG_OK;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const fg_model_descriptor *)a)->name, ((const fg_model_descriptor *)b)->name);
}

int fg_model_descriptor_list(const char *dir_path, fg_model_descriptor **out, int *n, fg_error *err) {
  *out = NULL;
  *n = 0;
  if (!dir_path || !*dir_path) dir_path = FG_DESC_DIR;
  DIR *dir = opendir(dir_path);
  if (!dir) return fg__seterr(err, FG_ENOTFOUND, "%s: %s", dir_path, strerror(errno));
  fg_model_descriptor *v = NULL;
  int cnt = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(dir))) {
    size_t l = strlen(de->d_name);
    if (l < 6 || strcmp(de->d_name + l - 5, ".json") || de->d_name[0] == '.') continue;
    if (cnt == cap) {
      cap = cap ? cap * 2 : 8;
      fg_model_descriptor *nv = realloc(v, (size_t)cap * sizeof *nv);
      if (!nv) {
        free(v);
        closedir(dir);
        return fg__seterr(err, FG_ENOMEM, "out of memory");
      }
      v = nv;
    }
    char path[1024];
    if (snprintf(path, sizeof path, "%s/%s", dir_path, de->d_name) >= (int)sizeof path) continue;
    if (fg_model_descriptor_load(path, &v[cnt], NULL) == FG_OK) cnt++;
  }
  closedir(dir);
  if (cnt) qsort(v, (size_t)cnt, sizeof *v, by_name);
  *out = v;
  *n = cnt;
  return FG_OK;
}
