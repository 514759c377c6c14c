/*
 * Backups and restores of the border store, as audited operations.
 *
 * fg_border_backup copies the store into one file (fg_store_backup: SQLite's
 * online backup, PostgreSQL's pg_dump) and records who took it, where, and
 * how many records it holds. Sealed columns stay sealed: a backup without
 * the deployment's key file opens nothing biometric.
 *
 * fg_border_restore loads such a file into an empty store and brings it up to
 * date before anyone uses it: it opens it (migrating a backup of an older
 * schema; the key file must be the one the backup was sealed with), runs the
 * retention purge as of now (a backup may hold captures whose retention has
 * ended since it was taken: they go before the store serves again), verifies
 * the audit chain, and records the restore in it; if any step fails, what was
 * loaded is discarded (fg_store_discard_restored). Retention thus applies to
 * backups when they are used; how long backup files themselves are kept is
 * the operator's schedule (docs/deployment.md).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "border/border_internal.h"
#include "store/sql_admin.h"

static int counts_row(void *ctx, const fg_val *c, int n, fg_error *err) {
  (void)n;
  static const char *const NAMES[] = {"travellers", "manifests", "encounters", "crossings",
                                      "referrals",  "watchlist", "audit_events"};
  json_t *o = ctx;
  for (int i = 0; i < 7; i++)
    if (json_object_set_new(o, NAMES[i], json_integer(c[i].type == FG_VAL_INT ? c[i].i : 0)))
      return fg__seterr(err, FG_ENOMEM, "out of memory");
  return 1;
}

/* How many records of each kind the store holds. */
static int store_counts(fg_border *b, json_t **out, fg_error *err) {
  json_t *o = json_object();
  if (!o) return fg__seterr(err, FG_ENOMEM, "out of memory");
  int rc = fg_store_exec(b->store, &FG_Q_ADM_COUNTS, NULL, 0, counts_row, o, err);
  if (rc != FG_OK) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return FG_OK;
}

int fg_border_backup(fg_border *b, const fg_actor *who, const char *path, fg_doc **out,
                     fg_error *err) {
  *out = NULL;
  if (!path || !*path) return fg__seterr(err, FG_EINVAL, "backup: no destination file given");
  json_t *counts = NULL;
  int rc = store_counts(b, &counts, err);
  if (rc == FG_OK) rc = fg_store_backup(b->store, path, err);
  struct stat st;
  long long bytes = rc == FG_OK && stat(path, &st) == 0 ? (long long)st.st_size : 0;
  json_t *report = NULL;
  if (rc == FG_OK) {
    report = json_pack("{s:s, s:s, s:I, s:O}", "backend", fg_store_backend(b->store), "file",
                       path, "bytes", (json_int_t)bytes, "counts", counts);
    if (!report) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  }
  if (rc == FG_OK) rc = fg__border_audit_json(b, who, "store.backup", "store", "backup", report, err);
  json_decref(counts);
  if (rc != FG_OK) {
    json_decref(report);
    return rc;
  }
  *out = fg__doc(report);
  return FG_OK;
}

int fg_border_restore(const fg_border_options *o, const fg_actor *who, const char *path,
                      fg_doc **out, fg_error *err) {
  *out = NULL;
  if (!o || !path || !*path) return fg__seterr(err, FG_EINVAL, "restore: no backup file given");
  /* The target: as fg_border_open would choose it. A SQLite file's directory
   * is created private to its owner if needed. */
  char target[4096];
  const char *dir = o->data_dir ? o->data_dir : "var/data";
  if (o->store) snprintf(target, sizeof target, "%s", o->store);
  else snprintf(target, sizeof target, "%s/facegate.db", dir);
  /* The key file first: a backup restored without its key would be opened by
   * nobody, and a new key would be created beside it. */
  char key_path[4096];
  if (o->key_file) snprintf(key_path, sizeof key_path, "%s", o->key_file);
  else snprintf(key_path, sizeof key_path, "%s/facegate.key", dir);
  fg_keyring *kr = NULL;
  fg_error ke;
  int rc = fg_keyring_open(key_path, 0, &kr, &ke);
  fg_keyring_destroy(kr);
  if (rc == FG_ENOTFOUND)
    return fg__seterr(err, rc, "restore: key file %s not found: copy the deployment's key file "
                      "(the one the backup was sealed with) there first", key_path);
  if (rc != FG_OK) return fg__seterr(err, rc, "restore: %s", ke.msg);
  if (!o->store) mkdir(dir, 0700);
  rc = fg_store_restore(target, path, err);
  if (rc != FG_OK) return rc;
  fg_border *b = NULL;
  fg_doc *purge_doc = NULL, *verify_doc = NULL;
  json_t *purge = NULL, *verify = NULL, *counts = NULL;
  if ((rc = fg_border_open(o, &b, err)) != FG_OK) goto done;
  if ((rc = fg_border_purge(b, who, &purge_doc, err)) != FG_OK) goto done;
  purge = fg__json(purge_doc);
  if ((rc = fg_border_audit_verify(b, who, NULL, &verify_doc, err)) != FG_OK) goto done;
  verify = fg__json(verify_doc);
  if ((rc = store_counts(b, &counts, err)) != FG_OK) goto done;
  json_t *d = json_pack("{s:s, s:O, s:O}", "file", path, "audit_ok",
                        json_object_get(verify, "ok"), "counts", counts);
  rc = d ? fg__border_audit_json(b, who, "store.restore", "store", "restore", d, err)
         : fg__seterr(err, FG_ENOMEM, "out of memory");
  json_decref(d);
  if (rc == FG_OK) {
    *out = fg__doc(json_pack("{s:s, s:s, s:O, s:O, s:O}", "backend", fg_store_backend(b->store),
                     "file", path, "counts", counts, "purge", purge, "audit", verify));
    if (!*out) rc = fg__seterr(err, FG_ENOMEM, "out of memory");
  }
done:
  json_decref(purge);
  json_decref(verify);
  json_decref(counts);
  fg_border_close(b);
  if (rc != FG_OK) { /* all or nothing: a restore that cannot be used is not left behind */
    fg_error de;
    if (fg_store_discard_restored(target, &de) != FG_OK && err) {
      char msg[FG_ERROR_MSG_MAX];
      snprintf(msg, sizeof msg, "%s", err->msg);
      fg__seterr(err, rc, "%s (and the restored data could not be removed: %s)", msg, de.msg);
    }
  }
  return rc;
}
