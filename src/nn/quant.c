/*
 * Activation ranges for int8 inference: what each tensor of a model held over
 * a calibration set, so that a quantising session can give every activation a
 * scale (nn/dnnl.c).
 *
 * They are recorded by running an fp32 oneDNN session over the calibration
 * inputs (fg_session_record after each run: every activation is a buffer of
 * its own there), saved as JSON and read back:
 *
 *   {"model_sha256": "<64 hex>", "runs": N, "method": "...",
 *    "tensors": {"<tensor name>": [min, max, mean_absmax], ...}}
 *
 * min and max are over every element of every run; mean_absmax is the mean
 * over runs of each run's largest |x| (a statistic that one outlying image
 * cannot stretch).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/model.h"

#define MAX_ENTRIES 100000

static int bad(fg_error *err, const char *what) { return fg__seterr(err, FG_EFORMAT, "quantisation ranges: %s", what); }

static fg_quant_ranges *alloc_ranges(size_t n) {
  fg_quant_ranges *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->names = calloc(n + 1, sizeof *r->names);
  r->min = calloc(n + 1, sizeof *r->min);
  r->max = calloc(n + 1, sizeof *r->max);
  r->sum_absmax = calloc(n + 1, sizeof *r->sum_absmax);
  if (!r->names || !r->min || !r->max || !r->sum_absmax) {
    fg_quant_ranges_destroy(r);
    return NULL;
  }
  return r;
}

void fg_quant_ranges_destroy(fg_quant_ranges *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) free(r->names[i]);
  free(r->names);
  free(r->min);
  free(r->max);
  free(r->sum_absmax);
  free(r);
}

int fg_quant_ranges_create(const fg_model *m, fg_quant_ranges **out, fg_error *err) {
  *out = NULL;
  const fg__graph *g = &m->g;
  fg_quant_ranges *r = alloc_ranges((size_t)g->n_t);
  if (!r) return fg__seterr(err, FG_ENOMEM, "out of memory");
  memcpy(r->model_sha256, m->stats.sha256, sizeof r->model_sha256);
  /* the activations a run computes: graph inputs and live nodes' outputs (a
   * tensor fused away, like a Conv's output before its Relu, is not one) */
  char *live = calloc((size_t)g->n_t + 1, 1);
  if (!live) {
    fg_quant_ranges_destroy(r);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  for (int i = 0; i < g->n_inputs; i++) live[g->inputs[i]] = 1;
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].n_out; k++) live[g->nodes[i].out[k]] = 1;
  for (int i = 0; i < g->n_t; i++) {
    const fg__tensor *t = &g->t[i];
    if (t->data || t->dtype != FG__DT_FLOAT || !live[i]) continue;
    size_t k = r->n;
    if (!(r->names[k] = strdup(t->name))) {
      free(live);
      fg_quant_ranges_destroy(r);
      return fg__seterr(err, FG_ENOMEM, "out of memory");
    }
    r->min[k] = INFINITY;
    r->max[k] = -INFINITY;
    r->n++;
  }
  free(live);
  *out = r;
  return FG_OK;
}

int fg__quant_find(const fg_quant_ranges *r, const char *name) {
  if (!r) return -1;
  for (size_t i = 0; i < r->n; i++)
    if (!strcmp(r->names[i], name)) return (int)i;
  return -1;
}

void fg__quant_update(fg_quant_ranges *r, int k, float lo, float hi) {
  if (k < 0) return;
  if (lo < r->min[k]) r->min[k] = lo;
  if (hi > r->max[k]) r->max[k] = hi;
  r->sum_absmax[k] += fmaxf(fabsf(lo), fabsf(hi));
}

size_t fg_quant_ranges_count(const fg_quant_ranges *r) { return r ? r->n : 0; }
uint64_t fg_quant_ranges_runs(const fg_quant_ranges *r) { return r ? r->runs : 0; }

int fg_quant_ranges_save(const fg_quant_ranges *r, const char *path, const char *method, fg_error *err) {
  json_t *root = json_object(), *ts = json_object();
  int rc = FG_OK;
  if (!root || !ts) { json_decref(root); json_decref(ts); return fg__seterr(err, FG_ENOMEM, "out of memory"); }
  json_object_set_new(root, "model_sha256", json_string(r->model_sha256));
  json_object_set_new(root, "runs", json_integer((json_int_t)r->runs));
  if (method) json_object_set_new(root, "method", json_string(method));
  for (size_t i = 0; i < r->n; i++) {
    if (!(r->min[i] <= r->max[i])) continue; /* never seen */
    double mean = r->runs ? r->sum_absmax[i] / (double)r->runs : 0;
    json_t *v = json_pack("[f,f,f]", (double)r->min[i], (double)r->max[i], mean);
    if (!v || json_object_set_new(ts, r->names[i], v)) { rc = fg__seterr(err, FG_ENOMEM, "out of memory"); break; }
  }
  json_object_set_new(root, "tensors", ts);
  if (!rc) {
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
      rc = fg__seterr(err, FG_EINVAL, "%s: path too long", path);
    else if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9)) || rename(tmp, path)) {
      unlink(tmp);
      rc = fg__seterr(err, FG_EIO, "%s: could not write the ranges", path);
    }
  }
  json_decref(root);
  return rc;
}

int fg_quant_ranges_parse(const char *json, size_t len, const fg_model *m, fg_quant_ranges **out, fg_error *err) {
  *out = NULL;
  if (!json) return fg__seterr(err, FG_EINVAL, "quantisation ranges: NULL input");
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) return fg__seterr(err, FG_EFORMAT, "quantisation ranges: line %d: %s", jerr.line, jerr.text);
  int rc = FG_OK;
  fg_quant_ranges *r = NULL;
  json_t *sha = json_object_get(root, "model_sha256"), *runs = json_object_get(root, "runs"),
         *method = json_object_get(root, "method"), *ts = json_object_get(root, "tensors");
  if (!json_is_object(root)) rc = bad(err, "not a JSON object");
  else if (!json_is_string(sha) || strlen(json_string_value(sha)) != 64 ||
           strspn(json_string_value(sha), "0123456789abcdef") != 64)
    rc = bad(err, "model_sha256 is not 64 lowercase hex digits");
  else if (!json_is_integer(runs) || json_integer_value(runs) < 1) rc = bad(err, "runs is not a positive integer");
  else if (method && !json_is_string(method)) rc = bad(err, "method is not a string");
  else if (!json_is_object(ts) || json_object_size(ts) == 0) rc = bad(err, "no tensors");
  else if (json_object_size(ts) > MAX_ENTRIES) rc = bad(err, "too many tensors");
  else if (m && strcmp(json_string_value(sha), m->stats.sha256))
    rc = fg__seterr(err, FG_EMODEL, "quantisation ranges were measured on model %.16s..., not on this model %.16s...",
                    json_string_value(sha), m->stats.sha256);
  if (!rc && !(r = alloc_ranges(json_object_size(ts)))) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  if (!rc) {
    memcpy(r->model_sha256, json_string_value(sha), 65);
    r->runs = (uint64_t)json_integer_value(runs);
    const char *key;
    json_t *v;
    json_object_foreach(ts, key, v) {
      double lo, hi, mean;
      if (!json_is_array(v) || json_array_size(v) != 3 || !json_is_number(json_array_get(v, 0)) ||
          !json_is_number(json_array_get(v, 1)) || !json_is_number(json_array_get(v, 2))) {
        rc = fg__seterr(err, FG_EFORMAT, "quantisation ranges: tensor '%.100s' is not [min, max, mean_absmax]", key);
        break;
      }
      lo = json_number_value(json_array_get(v, 0));
      hi = json_number_value(json_array_get(v, 1));
      mean = json_number_value(json_array_get(v, 2));
      if (!isfinite(lo) || !isfinite(hi) || !isfinite(mean) || lo > hi || fabs(lo) > 1e30 || fabs(hi) > 1e30 ||
          mean < 0 || mean > fmax(fabs(lo), fabs(hi)) * (1 + 1e-6) + 1e-30) {
        rc = fg__seterr(err, FG_EFORMAT, "quantisation ranges: tensor '%.100s' has an impossible range", key);
        break;
      }
      size_t k = r->n;
      if (!(r->names[k] = strdup(key))) { rc = fg__seterr(err, FG_ENOMEM, "out of memory"); break; }
      r->min[k] = (float)lo;
      r->max[k] = (float)hi;
      r->sum_absmax[k] = mean * (double)r->runs;
      r->n++;
    }
  }
  json_decref(root);
  if (rc) fg_quant_ranges_destroy(r);
  else *out = r;
  return rc;
}

int fg_quant_ranges_load(const char *path, const fg_model *m, fg_quant_ranges **out, fg_error *err) {
  *out = NULL;
  uint8_t *buf;
  size_t len;
  int rc = fg__read_file(path, (size_t)64 << 20, &buf, &len, err);
  if (rc) return rc;
  rc = fg_quant_ranges_parse((const char *)buf, len, m, out, err);
  free(buf);
  return rc ? fg__err_prefix(err, rc, "%s", path) : FG_OK;
}
