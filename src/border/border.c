/*
 * The border-operations handle: opening the store, key file, policy and
 * calibrations; the clock; and the helpers every workflow shares (audit
 * events, sealing bound to a record, templates, thresholds, times).
 *
 * The face engine is loaded on first use so that commands that only read
 * records (referral list, crossings, audit verify) start in milliseconds.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "border/border_internal.h"
#include "facegate/descriptor.h"
#include "store/sql_admin.h"

void fg_border_options_init(fg_border_options *o) {
  memset(o, 0, sizeof *o);
  o->data_dir = "var/data";
  o->port = "XXX";
  fg_face_options_init(&o->face);
}

static int64_t system_clock(void *ctx) {
  (void)ctx;
  return (int64_t)time(NULL);
}

int64_t fg_border_now(fg_border *b) { return b->clock(b->clock_ctx); }

const fg_policy *fg_border_policy(const fg_border *b) { return &b->policy; }

const char *fg_border_store_backend(const fg_border *b) { return fg_store_backend(b->store); }

void fg_border_store_stats(const fg_border *b, fg_store_stats *out) {
  fg_store_get_stats(b->store, out);
}

static char *dup_or_join(const char *given, const char *dir, const char *name) {
  if (given) return strdup(given);
  size_t n = strlen(dir) + strlen(name) + 2;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s/%s", dir, name);
  return s;
}

/* mkdir -p for the data directory, private to its owner. */
static int make_dirs(const char *path, fg_error *err) {
  char buf[4096];
  if (strlen(path) >= sizeof buf) return fg__seterr(err, FG_EINVAL, "data directory path too long");
  strcpy(buf, path);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir(buf, 0700) == 0) chmod(buf, 0700); /* whatever the umask */
      else if (errno != EEXIST)
        return fg__seterr(err, FG_EIO, "cannot create %s: %s", buf, strerror(errno));
      *p = c;
      if (c == '\0') break;
    }
  }
  return FG_OK;
}

static int copy_text(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)err;
  if (n > 0 && c[0].type == FG_VAL_TEXT) snprintf((char *)ctx, 65, "%s", c[0].s);
  return 1;
}

/* Record the policy in the audit chain when it differs from the last one
 * recorded (meta 'policy_sha256'). */
static int audit_policy(fg_border *b, fg_error *err) {
  json_t *pj = fg__policy_json(&b->policy);
  if (!pj) return fg__seterr(err, FG_ENOMEM, "out of memory");
  char *text = json_dumps(pj, JSON_SORT_KEYS | JSON_COMPACT);
  json_decref(pj);
  if (!text) return fg__seterr(err, FG_ENOMEM, "out of memory");
  char hex[65], old[65] = "";
  fg__sha256_hex((const uint8_t *)text, strlen(text), hex);
  fg_val k = FG_V_TEXT("policy_sha256");
  int rc = fg_store_exec(b->store, &FG_Q_ADM_META_GET, &k, 1, copy_text, old, err);
  if (rc == FG_OK && strcmp(old, hex) != 0) {
    fg_actor sys = {"facegate", "system", "policy"};
    rc = fg_store_begin(b->store, err);
    if (rc == FG_OK) {
      fg_val kv[2] = {FG_V_TEXT("policy_sha256"), FG_V_TEXT(hex)};
      rc = fg_store_exec(b->store, &FG_Q_ADM_META_PUT, kv, 2, NULL, NULL, err);
      if (rc == FG_OK)
        rc = fg__border_audit(b, &sys, old[0] ? "policy.change" : "policy.set", "policy",
                              "policy", text, err);
      if (rc == FG_OK) rc = fg_store_commit(b->store, err);
      else fg_store_rollback(b->store);
    }
  }
  free(text);
  return rc;
}

/* The key file must be the one this store was written with (meta
 * 'key_check'); a store without the value gets this key file's. */
static int check_key_file(fg_border *b, int writable, fg_error *err) {
  char mine[65], theirs[65] = "";
  fg_keyring_check_value(b->keys, mine);
  fg_val k = FG_V_TEXT("key_check");
  int rc = fg_store_exec(b->store, &FG_Q_ADM_META_GET, &k, 1, copy_text, theirs, err);
  if (rc != FG_OK) return rc;
  if (theirs[0] && strcmp(theirs, mine) != 0) {
    char shown[512];
    fg_store_redact(b->store_target, shown, sizeof shown);
    return fg__seterr(err, FG_EPERM,
                      "store %s was written with another key file than %s (another "
                      "deployment's, or a replaced one): its sealed records would not open; "
                      "use the deployment's key file (docs/deployment.md)",
                      shown, b->key_path);
  }
  if (theirs[0] || !writable) return FG_OK;
  fg_val kv[2] = {FG_V_TEXT("key_check"), FG_V_TEXT(mine)};
  return fg_store_exec(b->store, &FG_Q_ADM_META_PUT, kv, 2, NULL, NULL, err);
}

int fg_border_open(const fg_border_options *o, fg_border **out, fg_error *err) {
  fg_border_options defaults;
  if (!o) {
    fg_border_options_init(&defaults);
    o = &defaults;
  }
  *out = NULL;
  fg_border *b = calloc(1, sizeof *b);
  if (!b) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = FG_ENOMEM;
  const char *dir = o->data_dir ? o->data_dir : "var/data";
  b->data_dir = strdup(dir);
  b->store_target = dup_or_join(o->store, dir, "facegate.db");
  b->key_path = dup_or_join(o->key_file, dir, "facegate.key");
  b->port = strdup(o->port ? o->port : "XXX");
  b->scratch = malloc(sizeof *b->scratch);
  if (!b->data_dir || !b->store_target || !b->key_path || !b->port || !b->scratch) {
    fg__seterr(err, rc, "out of memory");
    goto fail;
  }
  b->clock = o->clock ? o->clock : system_clock;
  b->clock_ctx = o->clock_ctx;

  /* Face options: keep private copies of the path strings. */
  b->face_opts = o->face;
  const char **paths[6] = {&b->face_opts.models_dir, &b->face_opts.detect_model,
                           &b->face_opts.landmark_model, &b->face_opts.feature_model,
                           &b->face_opts.liveness_model, &b->face_opts.model};
  for (int i = 0; i < 6; i++) {
    if (!*paths[i]) continue;
    if (!(b->face_strings[i] = strdup(*paths[i]))) {
      fg__seterr(err, rc, "out of memory");
      goto fail;
    }
    *paths[i] = b->face_strings[i];
  }

  fg_policy_defaults(&b->policy);
  if (o->policy_file && (rc = fg_policy_load(o->policy_file, &b->policy, err)) != FG_OK) goto fail;
  b->face_opts.quality_min = b->policy.quality_min;
  /* The liveness model costs about a fifth of an encounter; with the check
   * off (its error rates are unmeasured: the default) it is not run at all. */
  b->face_opts.liveness = b->policy.liveness_min > 0;

  if (!o->store || !o->key_file) {
    if ((rc = make_dirs(dir, err)) != FG_OK) goto fail;
  }
  /* The key file is created only for a store that has none yet: next to a
   * store written with another key, a fresh one would seal what nobody else
   * can open. */
  rc = fg_keyring_open(b->key_path, 0, &b->keys, err);
  if (rc != FG_OK && rc != FG_ENOTFOUND) goto fail;
  if ((rc = fg_store_open(b->store_target, o->store_flags, &b->store, err)) != FG_OK) goto fail;
  if (!b->keys) {
    char theirs[65] = "";
    fg_val k = FG_V_TEXT("key_check");
    if ((rc = fg_store_exec(b->store, &FG_Q_ADM_META_GET, &k, 1, copy_text, theirs, err)) != FG_OK)
      goto fail;
    if (theirs[0]) {
      rc = fg__seterr(err, FG_ENOTFOUND,
                      "key file %s not found, and this store's records are sealed with a key "
                      "file: copy the deployment's key file there (docs/deployment.md)",
                      b->key_path);
      goto fail;
    }
    if ((rc = fg_keyring_open(b->key_path, FG_KEYRING_CREATE, &b->keys, err)) != FG_OK) goto fail;
  }
  if ((rc = check_key_file(b, !(o->store_flags & FG_STORE_READONLY), err)) != FG_OK) goto fail;
  /* A store written before personal data was sealed: seal it now. */
  if (!(o->store_flags & FG_STORE_READONLY) && (rc = fg__personal_seal_legacy(b, err)) != FG_OK)
    goto fail;
  if ((rc = fg__gallery_cache_listen(b, err)) != FG_OK) goto fail;

  /* Thresholds of the recognition model the gates run: the descriptor's
   * calibration files when a model is named, else the default model's. */
  snprintf(b->cal_path, sizeof b->cal_path, "%s", FG_CALIBRATION_DEFAULT);
  snprintf(b->fpir_path, sizeof b->fpir_path, "%s", FG_FPIR_CALIBRATION_DEFAULT);
  if (b->face_opts.model && *b->face_opts.model) {
    fg_model_descriptor d;
    if ((rc = fg_model_descriptor_load(b->face_opts.model, &d, err)) != FG_OK) goto fail;
    snprintf(b->cal_path, sizeof b->cal_path, "%s", d.calibration);
    snprintf(b->fpir_path, sizeof b->fpir_path, "%s", d.fpir_calibration);
  }
  if (o->calibration) snprintf(b->cal_path, sizeof b->cal_path, "%s", o->calibration);
  if (o->fpir_calibration) snprintf(b->fpir_path, sizeof b->fpir_path, "%s", o->fpir_calibration);
  const char *cal = b->cal_path, *fcal = b->fpir_path;
  fg_error ce = {0}, fe = {0};
  if (!*cal) fg__seterr(&ce, FG_ENOTFOUND, "the model's descriptor names no calibration file");
  if (!*fcal) fg__seterr(&fe, FG_ENOTFOUND, "the model's descriptor names no FPIR calibration file");
  b->have_cal = *cal && fg_calibration_load(cal, &b->cal, &ce) == FG_OK;
  b->have_fpir = *fcal && fg_fpir_calibration_load(fcal, &b->fpir, &fe) == FG_OK;
  if (o->require_calibration && (!b->have_cal || !b->have_fpir)) {
    rc = fg__seterr(err, b->have_cal ? fe.code : ce.code,
                    "calibration %s: %s (1:1 and 1:N thresholds come from %s and %s; start "
                    "from the project directory or name the files)",
                    b->have_cal ? fcal : cal, b->have_cal ? fe.msg : ce.msg, cal, fcal);
    goto fail;
  }

  if (!(o->store_flags & FG_STORE_READONLY) && (rc = audit_policy(b, err)) != FG_OK) goto fail;
  *out = b;
  return FG_OK;
fail:
  fg_border_close(b);
  return rc;
}

void fg_border_close(fg_border *b) {
  if (!b) return;
  fg__gallery_cache_release(b);
  fg_face_engine_destroy(b->face);
  fg_store_close(b->store);
  fg_keyring_destroy(b->keys);
  for (int i = 0; i < 6; i++) free(b->face_strings[i]);
  if (b->scratch) sodium_memzero(b->scratch, sizeof *b->scratch); /* the last embedding */
  free(b->scratch);
  free(b->data_dir);
  free(b->store_target);
  free(b->key_path);
  free(b->port);
  free(b);
}

int fg__border_face(fg_border *b, fg_face_engine **fe, fg_error *err) {
  if (!b->face) {
    int rc = fg_face_engine_create(&b->face_opts, &b->face, err);
    if (rc != FG_OK) return rc;
  }
  *fe = b->face;
  return FG_OK;
}

int fg__border_text(const char *what, const char *s, size_t max, fg_error *err) {
  if (!s) return FG_OK;
  size_t n = strlen(s);
  if (n > max) return fg__seterr(err, FG_EINVAL, "%s: longer than %zu bytes", what, max);
  if (!fg__utf8_text((const unsigned char *)s, n))
    return fg__seterr(err, FG_EINVAL, "%s: not UTF-8 text (or has control characters)", what);
  return FG_OK;
}

int fg__border_audit(fg_border *b, const fg_actor *who, const char *action, const char *object,
                     const char *purpose, const char *detail, fg_error *err) {
  /* Who acted goes into every audit listing: refuse what JSON cannot carry. */
  int rc;
  if (who && ((rc = fg__border_text("actor name", who->name, 256, err)) != FG_OK ||
              (rc = fg__border_text("actor role", who->role, 64, err)) != FG_OK ||
              (rc = fg__border_text("purpose", who->purpose, 256, err)) != FG_OK))
    return rc;
  fg_audit_event ev = {
      .at = fg_border_now(b),
      .actor = who && who->name ? who->name : "unknown",
      .role = who && who->role ? who->role : "unknown",
      .action = action,
      .object = object ? object : "",
      .purpose = who && who->purpose ? who->purpose : (purpose ? purpose : ""),
      .detail = detail ? detail : "",
  };
  uint64_t serial = fg_store_txn_serial(b->store);
  if (serial == 0) return fg_audit_append(b->store, b->keys, &ev, NULL, err);
  if (b->tail_serial != serial) {
    int rc2 = fg_audit_tail_read(b->store, &b->tail, err);
    if (rc2 != FG_OK) return rc2;
    b->tail_serial = serial;
  }
  return fg_audit_append_after(b->store, b->keys, &b->tail, &ev, NULL, err);
}

int fg__border_audit_prefetch(fg_border *b, fg_error *err) {
  uint64_t serial = fg_store_txn_serial(b->store);
  if (serial == 0 || b->tail_serial == serial) return FG_OK;
  b->tail_serial = serial;
  return fg_audit_tail_read(b->store, &b->tail, err);
}

int fg__border_audit_json(fg_border *b, const fg_actor *who, const char *action,
                          const char *object, const char *purpose, const json_t *detail,
                          fg_error *err) {
  char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  if (detail && !text) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = fg__border_audit(b, who, action, object, purpose, text, err);
  free(text);
  return rc;
}

int fg_border_audit_event(fg_border *b, const fg_actor *who, const char *action,
                          const char *object, const char *purpose, const fg_doc *detail,
                          fg_error *err) {
  if (!b || !who || !action || !object) return fg__seterr(err, FG_EINVAL, "audit event: missing argument");
  return fg__border_audit_json(b, who, action, object, purpose, fg__json(detail), err);
}

int fg_border_audit_head(fg_border *b, int64_t *seq, char hex[65], fg_error *err) {
  if (!b || !seq || !hex) return fg__seterr(err, FG_EINVAL, "audit head: missing argument");
  return fg_audit_head(b->store, seq, hex, err);
}

int fg__border_audit_about(fg_border *b, const fg_actor *who, const char *action,
                           const char *kind, int64_t id, const char *purpose, json_t *detail,
                           fg_error *err) {
  if (!detail) return fg__seterr(err, FG_ENOMEM, "out of memory");
  char object[64];
  snprintf(object, sizeof object, "%s:%lld", kind, (long long)id);
  int rc = fg__border_audit_json(b, who, action, object, purpose, detail, err);
  json_decref(detail);
  return rc;
}

int fg__border_seal(fg_border *b, const char *table, const char *column, int64_t id,
                    const void *plain, size_t n, uint8_t **out, size_t *out_len, fg_error *err) {
  char ad[160];
  fg_seal_ad(ad, sizeof ad, table, column, id);
  return fg_seal(b->keys, plain, n, ad, out, out_len, err);
}

int fg__border_unseal(fg_border *b, const char *table, const char *column, int64_t id,
                      const uint8_t *sealed, size_t n, uint8_t **plain, size_t *plain_len,
                      fg_error *err) {
  char ad[160];
  fg_seal_ad(ad, sizeof ad, table, column, id);
  return fg_unseal(b->keys, sealed, n, ad, plain, plain_len, err);
}

int fg__border_template(fg_border *b, const float *emb, int dim, uint8_t **out, size_t *len,
                        fg_error *err) {
  return fg__border_template_capture(b, emb, dim, 0, out, len, err);
}

int fg__border_template_capture(fg_border *b, const float *emb, int dim, unsigned capture, uint8_t **out,
                                size_t *len, fg_error *err) {
  fg_face_engine *fe;
  int rc = fg__border_face(b, &fe, err);
  if (rc != FG_OK) return rc;
  uint8_t id[FG_TEMPLATE_MODEL_ID_BYTES];
  fg_face_engine_model_id(fe, id);
  fg_template t;
  if ((rc = fg_template_init(&t, emb, dim, id, err)) != FG_OK) return rc;
  t.capture = capture;
  size_t cap = fg_template_encoded_size(dim, FG_TEMPLATE_FP32);
  *out = malloc(cap);
  if (!*out) {
    fg_template_release(&t);
    return fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  rc = fg_template_encode(&t, FG_TEMPLATE_FP32, *out, cap, len, err);
  fg_template_release(&t);
  if (rc != FG_OK) {
    free(*out);
    *out = NULL;
  }
  return rc;
}

int fg__border_fpir_threshold(fg_border *b, size_t n, double fpir, float *t, fg_error *err) {
  if (!b->have_fpir)
    return fg__seterr(err, FG_ENOTFOUND, "no FPIR calibration (%s): cannot set a 1:N threshold",
                      *b->fpir_path ? b->fpir_path : "the model's descriptor names none");
  fg_face_engine *fe;
  int rc = fg__border_face(b, &fe, err);
  if (rc != FG_OK) return rc;
  double th;
  rc = fg_fpir_threshold(&b->fpir, fg_face_engine_model_sha256(fe), n ? n : 1, fpir, &th, err);
  if (rc == FG_ELIMIT) {
    /* A gallery so large (a big watchlist) that the target needs a threshold
     * beyond every measured one: use the strictest measured threshold rather
     * than refuse the encounter. Fewer false hits than asked, and less
     * sensitivity than the calibration can vouch for (docs/encounters.md). */
    const fg_fpir_calibration *c = &b->fpir;
    th = c->threshold[c->n_sizes - 1][c->n_fpir - 1];
    for (int i = 0; i < c->n_sizes; i++)
      for (int j = 0; j < c->n_fpir; j++)
        if (c->threshold[i][j] > th) th = c->threshold[i][j];
    rc = FG_OK;
  }
  if (rc == FG_OK) *t = (float)th;
  return rc;
}

int fg__border_fmr_threshold(fg_border *b, double fmr, float *t, fg_error *err) {
  return fg__border_fmr_threshold_for(b, fmr, 0, 0, t, err);
}

int fg__border_fmr_threshold_for(fg_border *b, double fmr, unsigned capture_a, unsigned capture_b, float *t,
                                 fg_error *err) {
  if (!b->have_cal)
    return fg__seterr(err, FG_ENOTFOUND, "no FMR calibration (%s): cannot set a 1:1 threshold",
                      *b->cal_path ? b->cal_path : "the model's descriptor names none");
  /* A threshold is a property of one model: never apply another's. */
  fg_face_engine *fe;
  int rc = fg__border_face(b, &fe, err);
  if (rc != FG_OK) return rc;
  if (strcmp(b->cal.model_sha256, fg_face_engine_model_sha256(fe)))
    return fg__seterr(err, FG_EMODEL, "FMR calibration %s is for model %.12s..., the gates run %s (%.12s...)",
                      b->cal_path, b->cal.model_sha256, fg_face_engine_model_name(fe), fg_face_engine_model_sha256(fe));
  double th;
  rc = fg_calibration_threshold_for(&b->cal, fmr, capture_a, capture_b, &th, err);
  if (rc == FG_OK) *t = (float)th;
  return rc;
}

float fg__border_harsh_margin(const fg_border *b) {
  return b->have_cal ? (float)fg_calibration_harsh_margin(&b->cal) : 0.f;
}

int fg__parse_time(const char *s, int64_t *t) {
  if (!s) return FG_EINVAL;
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;
  size_t len = strlen(s);
  /* Digits where digits belong: sscanf alone would take "-5" or "+5". */
  static const char shape[] = "dddd-dd-ddTdd:dd:dd";
  for (size_t i = 0; i < len && i < 19; i++)
    if (shape[i] == 'd' && (s[i] < '0' || s[i] > '9')) return FG_EINVAL;
  if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10) return FG_EINVAL;
  if (len > 10) {
    int used2 = 0;
    if (s[10] != 'T' && s[10] != ' ') return FG_EINVAL;
    if (sscanf(s + 11, "%2d:%2d%n", &h, &mi, &used2) != 2) return FG_EINVAL;
    const char *p = s + 11 + used2;
    if (*p == ':') {
      int used3 = 0;
      if (sscanf(p + 1, "%2d%n", &sec, &used3) != 1) return FG_EINVAL;
      p += 1 + used3;
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "") != 0 && strcmp(p, "+00:00") != 0) return FG_EINVAL;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1900)
    return FG_EINVAL;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  time_t v = timegm(&tm);
  /* timegm normalises 31 February into March: refuse dates that moved. */
  struct tm back;
  gmtime_r(&v, &back);
  if (back.tm_mday != d || back.tm_mon != mo - 1) return FG_EINVAL;
  *t = (int64_t)v;
  return FG_OK;
}

int fg_time_parse(const char *s, int64_t *t) { return fg__parse_time(s, t); }

void fg_time_format(int64_t t, char buf[32]) { fg__iso_time(t, buf); }

json_t *fg__val_json(const fg_val *v) {
  switch (v->type) {
  case FG_VAL_INT: return json_integer(v->i);
  case FG_VAL_REAL: return json_real(v->r);
  case FG_VAL_TEXT: return json_string(v->s);
  default: return json_null();
  }
}

int64_t fg__val_int(const fg_val *v) { return v->type == FG_VAL_INT ? v->i : 0; }
