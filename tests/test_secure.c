/*
 * The security layer (include/facegate/secure.h): the key file (created
 * 0600, refused when group/other-accessible, malformed or truncated), sealing
 * (round trip, wrong associated data, flipped bytes, unknown key, rotation),
 * the audit chain (verifies; an edited, deleted or reordered event is named;
 * a cut-off tail is caught by the anchor) and API tokens. Each test works in
 * its own mkdtemp directory under /tmp and removes it.
 *
 * The audit chain's tests run on the test's store (tests/teststore.h): SQLite,
 * or a fresh PostgreSQL database when FACEGATE_TEST_STORE=postgresql; the
 * tampering goes behind facegate's back with the backend's own client.
 */
#include "teststore.h"

#include <dirent.h>
#include <sys/stat.h>

#include "facegate/secure.h"
#include "facegate/store.h"

typedef struct tmp {
  char dir[64];
  char key[96];
} tmp;

static void tmp_make(tmp *t) {
  snprintf(t->dir, sizeof t->dir, "/tmp/fg_secure_XXXXXX");
  assert_non_null(mkdtemp(t->dir));
  snprintf(t->key, sizeof t->key, "%s/facegate.key", t->dir);
}

static void tmp_clean(tmp *t) {
  assert_int_equal(tu_rm_rf(t->dir), 0);
}

static void write_text(const char *path, const char *text, size_t n, mode_t mode) {
  unlink(path);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, n, f), n);
  fclose(f);
  assert_int_equal(chmod(path, mode), 0);
}

static fg_keyring *open_kr(const char *path) {
  fg_keyring *kr = NULL;
  fg_error e = {0};
  int rc = fg_keyring_open(path, FG_KEYRING_CREATE, &kr, &e);
  if (rc != FG_OK) print_error("keyring %s: %s\n", path, e.msg);
  assert_int_equal(rc, FG_OK);
  return kr;
}

static void test_keyring_file(void **state) {
  (void)state;
  tmp t;
  tmp_make(&t);
  fg_keyring *kr = NULL;
  fg_error e = {0};
  assert_int_equal(fg_keyring_open(t.key, 0, &kr, &e), FG_ENOTFOUND);
  assert_null(kr);
  kr = open_kr(t.key);
  struct stat sb;
  assert_int_equal(stat(t.key, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_int_equal(fg_keyring_count(kr), 1);
  uint32_t cur = fg_keyring_current(kr);
  fg_keyring_destroy(kr);
  fg_keyring_destroy(NULL);

  /* Re-open: same keys (a blob sealed before opens after). */
  size_t n;
  uint8_t *text = tu_read(t.key, &n);
  assert_true(n > 20 && memcmp(text, "facegate-keyring 1\naudit ", 25) == 0);
  kr = open_kr(t.key);
  assert_int_equal(fg_keyring_current(kr), cur);
  fg_keyring_destroy(kr);

  /* Group or other access: refused. */
  assert_int_equal(chmod(t.key, 0644), 0);
  assert_int_equal(fg_keyring_open(t.key, FG_KEYRING_CREATE, &kr, &e), FG_EPERM);
  assert_null(kr);
  assert_non_null(strstr(e.msg, "644"));
  assert_int_equal(chmod(t.key, 0640), 0);
  assert_int_equal(fg_keyring_open(t.key, 0, &kr, &e), FG_EPERM);
  assert_int_equal(chmod(t.key, 0400), 0);
  kr = open_kr(t.key);
  fg_keyring_destroy(kr);

  /* Every truncation is malformed (the "end" line). */
  char path[128];
  snprintf(path, sizeof path, "%s/cut.key", t.dir);
  for (size_t k = 0; k < n; k++) {
    write_text(path, (const char *)text, k, 0600);
    assert_int_equal(fg_keyring_open(path, FG_KEYRING_CREATE, &kr, &e), FG_EFORMAT);
    assert_null(kr);
  }
  /* Every single-byte corruption is either refused or changes nothing. */
  char *bad = malloc(n);
  assert_non_null(bad);
  for (size_t k = 0; k < n; k++) {
    memcpy(bad, text, n);
    bad[k] = text[k] == '\n' ? ' ' : text[k] == '0' ? 'G' : '\n';
    write_text(path, bad, n, 0600);
    assert_int_equal(fg_keyring_open(path, 0, &kr, &e), FG_EFORMAT);
  }
  free(bad);
  static const char *const malformed[] = {
      "",
      "facegate-keyring 2\n",
      "facegate-keyring 1\nend\n",
      /* two current keys */
      "facegate-keyring 1\naudit 0000000000000000000000000000000000000000000000000000000000000000\n"
      "key 1 1111111111111111111111111111111111111111111111111111111111111111 current\n"
      "key 2 2222222222222222222222222222222222222222222222222222222222222222 current\nend\n",
      /* no current key */
      "facegate-keyring 1\naudit 0000000000000000000000000000000000000000000000000000000000000000\n"
      "key 1 1111111111111111111111111111111111111111111111111111111111111111\nend\n",
      /* duplicate id */
      "facegate-keyring 1\naudit 0000000000000000000000000000000000000000000000000000000000000000\n"
      "key 1 1111111111111111111111111111111111111111111111111111111111111111 current\n"
      "key 1 2222222222222222222222222222222222222222222222222222222222222222\nend\n",
      /* id 0, leading zero, too large */
      "facegate-keyring 1\naudit 0000000000000000000000000000000000000000000000000000000000000000\n"
      "key 0 1111111111111111111111111111111111111111111111111111111111111111 current\nend\n",
      "facegate-keyring 1\naudit 0000000000000000000000000000000000000000000000000000000000000000\n"
      "key 01 1111111111111111111111111111111111111111111111111111111111111111 current\nend\n",
      "facegate-keyring 1\naudit 0000000000000000000000000000000000000000000000000000000000000000\n"
      "key 4294967296 1111111111111111111111111111111111111111111111111111111111111111 current\nend\n",
      /* upper-case hex, CRLF, short key, trailing text */
      "facegate-keyring 1\naudit 0000000000000000000000000000000000000000000000000000000000000000\n"
      "key 1 AAAA111111111111111111111111111111111111111111111111111111111111 current\nend\n",
      "facegate-keyring 1\r\naudit 0000000000000000000000000000000000000000000000000000000000000000\n"
      "key 1 1111111111111111111111111111111111111111111111111111111111111111 current\nend\n",
      "facegate-keyring 1\naudit 0000000000000000000000000000000000000000000000000000000000000000\n"
      "key 1 11111111111111111111111111111111111111111111111111111111111111 current\nend\n",
      "facegate-keyring 1\naudit 0000000000000000000000000000000000000000000000000000000000000000\n"
      "key 1 1111111111111111111111111111111111111111111111111111111111111111 current\nend\nx\n",
  };
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
    write_text(path, malformed[i], strlen(malformed[i]), 0600);
    assert_int_equal(fg_keyring_open(path, 0, &kr, &e), FG_EFORMAT);
  }
  const char *good =
      "facegate-keyring 1\naudit 0000000000000000000000000000000000000000000000000000000000000000\n"
      "key 7 1111111111111111111111111111111111111111111111111111111111111111\n"
      "key 4294967295 2222222222222222222222222222222222222222222222222222222222222222 current\n"
      "end\n";
  write_text(path, good, strlen(good), 0600);
  assert_int_equal(fg_keyring_open(path, 0, &kr, &e), FG_OK);
  assert_int_equal(fg_keyring_current(kr), 4294967295u);
  assert_int_equal(fg_keyring_count(kr), 2);
  fg_keyring_destroy(kr);
  /* A directory or a symlink is not a key file. */
  assert_int_not_equal(fg_keyring_open(t.dir, 0, &kr, &e), FG_OK);
  snprintf(path, sizeof path, "%s/link.key", t.dir);
  assert_int_equal(symlink(t.key, path), 0);
  assert_int_not_equal(fg_keyring_open(path, 0, &kr, &e), FG_OK);
  free(text);
  tmp_clean(&t);
}

static void test_seal(void **state) {
  (void)state;
  tmp t;
  tmp_make(&t);
  fg_keyring *kr = open_kr(t.key);
  fg_error e = {0};
  char ad[96], ad2[96];
  fg_seal_ad(ad, sizeof ad, "encounters", "capture_sealed", 42);
  assert_string_equal(ad, "facegate:encounters.capture_sealed:42");
  fg_seal_ad(ad2, sizeof ad2, "encounters", "capture_sealed", 43);
  const char msg[] = "a JPEG, pretend";
  uint8_t *s = NULL, *p = NULL;
  size_t sn = 0, pn = 0;
  assert_int_equal(fg_seal(kr, msg, sizeof msg, ad, &s, &sn, &e), FG_OK);
  assert_int_equal(sn, sizeof msg + FG_SEAL_OVERHEAD);
  assert_memory_equal(s, "FGS1", 4);
  uint32_t id;
  assert_int_equal(fg_sealed_key_id(s, sn, &id, &e), FG_OK);
  assert_int_equal(id, fg_keyring_current(kr));
  assert_int_equal(fg_unseal(kr, s, sn, ad, &p, &pn, &e), FG_OK);
  assert_int_equal(pn, sizeof msg);
  assert_memory_equal(p, msg, pn);
  free(p);
  /* Two seals of the same bytes differ (random nonce). */
  uint8_t *s2;
  size_t sn2;
  assert_int_equal(fg_seal(kr, msg, sizeof msg, ad, &s2, &sn2, &e), FG_OK);
  assert_true(memcmp(s, s2, sn) != 0);
  free(s2);
  /* Bound to its record. */
  assert_int_equal(fg_unseal(kr, s, sn, ad2, &p, &pn, &e), FG_EAUTH);
  assert_null(p);
  /* Every flipped byte: the header is FG_EFORMAT/FG_ENOTFOUND, the rest FG_EAUTH. */
  for (size_t k = 0; k < sn; k++) {
    s[k] ^= 0x20;
    int rc = fg_unseal(kr, s, sn, ad, &p, &pn, &e);
    if (k < 4) assert_int_equal(rc, FG_EFORMAT);
    else if (k < 8) assert_int_equal(rc, FG_ENOTFOUND);
    else assert_int_equal(rc, FG_EAUTH);
    s[k] ^= 0x20;
  }
  /* Truncated: too short is FG_EFORMAT, shortened FG_EAUTH. */
  assert_int_equal(fg_unseal(kr, s, FG_SEAL_OVERHEAD - 1, ad, &p, &pn, &e), FG_EFORMAT);
  assert_int_equal(fg_unseal(kr, s, sn - 1, ad, &p, &pn, &e), FG_EAUTH);
  assert_int_equal(fg_sealed_key_id(s, 3, &id, &e), FG_EFORMAT);
  /* Empty plaintext. */
  uint8_t *z;
  size_t zn;
  assert_int_equal(fg_seal(kr, NULL, 0, ad, &z, &zn, &e), FG_OK);
  assert_int_equal(zn, FG_SEAL_OVERHEAD);
  assert_int_equal(fg_unseal(kr, z, zn, ad, &p, &pn, &e), FG_OK);
  assert_int_equal(pn, 0);
  free(p);
  free(z);
  /* Another keyring (other keys, same ids) cannot open it. */
  char other[128];
  snprintf(other, sizeof other, "%s/other.key", t.dir);
  fg_keyring *kr2 = open_kr(other);
  assert_int_equal(fg_unseal(kr2, s, sn, ad, &p, &pn, &e), FG_EAUTH);
  fg_keyring_destroy(kr2);
  free(s);
  fg_keyring_destroy(kr);
  tmp_clean(&t);
}

static void test_rotation(void **state) {
  (void)state;
  tmp t;
  tmp_make(&t);
  fg_keyring *kr = open_kr(t.key);
  fg_error e = {0};
  const char *ad = "facegate:photos.image_sealed:1";
  uint8_t *old, *neu, *p;
  size_t on, nn, pn;
  uint32_t id0 = fg_keyring_current(kr);
  assert_int_equal(fg_seal(kr, "old", 3, ad, &old, &on, &e), FG_OK);

  assert_int_equal(fg_keyring_rotate_begin(kr, t.key, &e), FG_OK);
  assert_int_equal(fg_keyring_count(kr), 2);
  assert_int_not_equal(fg_keyring_current(kr), id0);
  assert_int_equal(fg_keyring_rotate_begin(kr, t.key, &e), FG_ECONFLICT);
  assert_int_equal(fg_seal(kr, "new", 3, ad, &neu, &nn, &e), FG_OK);
  uint32_t id;
  assert_int_equal(fg_sealed_key_id(neu, nn, &id, &e), FG_OK);
  assert_int_equal(id, fg_keyring_current(kr));
  /* During the rotation both open, in this process and after a "crash". */
  assert_int_equal(fg_unseal(kr, old, on, ad, &p, &pn, &e), FG_OK);
  free(p);
  fg_keyring *again = open_kr(t.key);
  assert_int_equal(fg_keyring_count(again), 2);
  assert_int_equal(fg_keyring_current(again), id);
  assert_int_equal(fg_unseal(again, old, on, ad, &p, &pn, &e), FG_OK);
  free(p);
  assert_int_equal(fg_unseal(again, neu, nn, ad, &p, &pn, &e), FG_OK);
  free(p);
  fg_keyring_destroy(again);
  struct stat sb;
  assert_int_equal(stat(t.key, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);

  assert_int_equal(fg_keyring_rotate_finish(kr, t.key, &e), FG_OK);
  assert_int_equal(fg_keyring_count(kr), 1);
  assert_int_equal(fg_unseal(kr, old, on, ad, &p, &pn, &e), FG_ENOTFOUND);
  assert_int_equal(fg_unseal(kr, neu, nn, ad, &p, &pn, &e), FG_OK);
  assert_memory_equal(p, "new", 3);
  free(p);
  again = open_kr(t.key);
  assert_int_equal(fg_keyring_count(again), 1);
  assert_int_equal(fg_unseal(again, old, on, ad, &p, &pn, &e), FG_ENOTFOUND);
  fg_keyring_destroy(again);
  /* No temporary files left behind. */
  char cmd[160];
  snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq 1", t.dir);
  assert_int_equal(system(cmd), 0);
  /* A failed write leaves the keyring as it was. */
  assert_int_equal(fg_keyring_rotate_begin(kr, "/nonexistent/dir/k.key", &e), FG_EIO);
  assert_int_equal(fg_keyring_count(kr), 1);
  assert_int_equal(fg_keyring_current(kr), id);
  free(old);
  free(neu);
  fg_keyring_destroy(kr);
  tmp_clean(&t);
}

/* ---- audit ---------------------------------------------------------------- */

static void append_n(fg_store *st, fg_keyring *kr, int n) {
  fg_error e = {0};
  for (int i = 1; i <= n; i++) {
    char object[32], detail[64];
    snprintf(object, sizeof object, "encounter:%d", i);
    snprintf(detail, sizeof detail, "{\"gate\":\"g%d\",\"score\":0.%d}", i % 3, i);
    fg_audit_event ev = {.at = 1700000000 + i, .actor = "gate-1", .role = "gate",
                         .action = "encounter.create", .object = object, .purpose = "boarding",
                         .detail = detail};
    int64_t seq = 0;
    assert_int_equal(fg_audit_append(st, kr, &ev, &seq, &e), FG_OK);
    assert_true(seq > 0);
  }
}

static fg_audit_check verify(fg_store *st, fg_keyring *kr, const char *anchor) {
  fg_audit_check c;
  fg_error e = {0};
  assert_int_equal(fg_audit_verify(st, kr, anchor, &c, &e), FG_OK);
  return c;
}

/* A fresh chain of n events in a fresh database; the store and keyring are returned open. */
static void fresh_chain(ts_store *t, int n, fg_store **st, fg_keyring **kr) {
  ts_reset(t);
  fg_error e = {0};
  int rc = fg_store_open(t->target, FG_STORE_NOSYNC, st, &e);
  if (rc != FG_OK) print_error("open %s: %s\n", t->target, e.msg);
  assert_int_equal(rc, FG_OK);
  assert_string_equal(fg_store_backend(*st), ts_backend());
  char key[128];
  snprintf(key, sizeof key, "%s/facegate.key", t->dir);
  *kr = open_kr(key);
  append_n(*st, *kr, n);
}

/* The audit test's store and scratch directory: removed by the teardown,
 * also when an assertion failed half-way. */
static int audit_setup(void **state) {
  ts_store *t = calloc(1, sizeof *t);
  if (!t) return -1;
  ts_make(t, "audit");
  *state = t;
  return 0;
}

static int audit_teardown(void **state) {
  ts_store *t = *state;
  ts_clean(t);
  free(t);
  return 0;
}

static void test_audit(void **state) {
  ts_store *t = *state;
  fg_store *st;
  fg_keyring *kr;
  fg_error e = {0};

  /* Empty chain. */
  fresh_chain(t, 0, &st, &kr);
  fg_audit_check c = verify(st, kr, NULL);
  assert_true(c.ok);
  assert_int_equal(c.events, 0);
  int64_t hseq = -1;
  char hex[65] = "x";
  assert_int_equal(fg_audit_head(st, &hseq, hex, &e), FG_OK);
  assert_int_equal(hseq, 0);
  assert_string_equal(hex, "");

  /* Ten events verify; head = anchor. Inside a caller's transaction too. */
  append_n(st, kr, 9);
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  append_n(st, kr, 1);
  assert_int_equal(fg_store_commit(st, &e), FG_OK);
  c = verify(st, kr, NULL);
  assert_true(c.ok);
  assert_int_equal(c.events, 10);
  assert_int_equal(c.head_seq, 10);
  assert_int_equal(fg_audit_head(st, &hseq, hex, &e), FG_OK);
  assert_int_equal(hseq, 10);
  assert_string_equal(hex, c.head_hash);
  char anchor[96];
  snprintf(anchor, sizeof anchor, "%lld:%s", (long long)hseq, hex);
  assert_true(verify(st, kr, anchor).ok);
  /* A rolled-back append leaves no trace. */
  assert_int_equal(fg_store_begin(st, &e), FG_OK);
  append_n(st, kr, 1);
  fg_store_rollback(st);
  assert_int_equal(verify(st, kr, NULL).events, 10);
  /* Bad events and anchors. */
  fg_audit_event no_actor = {.at = 1, .role = "gate", .action = "x"};
  assert_int_equal(fg_audit_append(st, kr, &no_actor, NULL, &e), FG_EINVAL);
  assert_int_equal(fg_audit_verify(st, kr, "10", &c, &e), FG_EINVAL);
  assert_int_equal(fg_audit_verify(st, kr, "x:00", &c, &e), FG_EINVAL);
  /* Another key: the first event already fails. */
  char other[128];
  snprintf(other, sizeof other, "%s/other.key", t->dir);
  fg_keyring *kr2 = open_kr(other);
  c = verify(st, kr2, NULL);
  assert_false(c.ok);
  assert_int_equal(c.bad_seq, 1);
  fg_keyring_destroy(kr2);

  /* Edit one row's detail. */
  ts_raw(t->target, "UPDATE audit SET detail = '{\"gate\":\"g1\",\"score\":0.99}' WHERE seq = 4");
  c = verify(st, kr, NULL);
  assert_false(c.ok);
  assert_int_equal(c.bad_seq, 4);
  assert_string_equal(c.problem, "event 4 was edited");
  assert_int_equal(c.events, 10);
  assert_int_equal(c.head_seq, 10);
  fg_store_close(st);
  fg_keyring_destroy(kr);

  /* Delete a middle row. */
  fresh_chain(t, 10, &st, &kr);
  ts_raw(t->target, "DELETE FROM audit WHERE seq = 6");
  c = verify(st, kr, NULL);
  assert_false(c.ok);
  assert_int_equal(c.bad_seq, 6);
  assert_string_equal(c.problem, "event 6 is missing (deleted)");
  ts_raw(t->target, "DELETE FROM audit WHERE seq IN (7, 8)");
  c = verify(st, kr, NULL);
  assert_string_equal(c.problem, "events 6 to 8 are missing (deleted)");
  ts_raw(t->target, "DELETE FROM audit WHERE seq = 1");
  assert_int_equal(verify(st, kr, NULL).bad_seq, 1);
  fg_store_close(st);
  fg_keyring_destroy(kr);

  /* Swap two rows' contents (far apart, then neighbours). */
  static const char swap[] =
      "CREATE TEMP TABLE s AS SELECT * FROM audit WHERE seq IN (%d, %d);"
      "UPDATE audit SET (at, actor, role, action, object, purpose, detail, hash) = "
      "(SELECT at, actor, role, action, object, purpose, detail, hash FROM s "
      " WHERE s.seq = %d + %d - audit.seq) WHERE seq IN (%d, %d);";
  int pairs[2][2] = {{3, 8}, {5, 6}};
  for (int k = 0; k < 2; k++) {
    fresh_chain(t, 10, &st, &kr);
    char q[512];
    int a = pairs[k][0], b = pairs[k][1];
    snprintf(q, sizeof q, swap, a, b, a, b, a, b);
    ts_raw(t->target, q);
    c = verify(st, kr, NULL);
    assert_false(c.ok);
    assert_int_equal(c.bad_seq, a);
    char want[160];
    snprintf(want, sizeof want, "event %d is out of place: it holds event %d's contents (events reordered)", a, b);
    assert_string_equal(c.problem, want);
    fg_store_close(st);
    fg_keyring_destroy(kr);
  }

  /* Truncate the tail: the chain itself still verifies; the anchor does not. */
  fresh_chain(t, 10, &st, &kr);
  assert_int_equal(fg_audit_head(st, &hseq, hex, &e), FG_OK);
  snprintf(anchor, sizeof anchor, "%lld:%s", (long long)hseq, hex);
  char mid[96];
  ts_raw(t->target, "DELETE FROM audit WHERE seq > 7");
  c = verify(st, kr, NULL);
  assert_true(c.ok);
  assert_int_equal(c.head_seq, 7);
  c = verify(st, kr, anchor);
  assert_false(c.ok);
  assert_int_equal(c.bad_seq, 10);
  assert_non_null(strstr(c.problem, "removed from the end"));
  /* An anchor in the middle still holds; a wrong hash for it does not. */
  snprintf(mid, sizeof mid, "7:%s", c.head_hash);
  assert_true(verify(st, kr, mid).ok);
  mid[2] = mid[2] == '0' ? '1' : '0';
  c = verify(st, kr, mid);
  assert_false(c.ok);
  assert_int_equal(c.bad_seq, 7);
  assert_non_null(strstr(c.problem, "anchor"));
  /* Appending goes on from the cut (and the anchor still catches it). */
  append_n(st, kr, 1);
  assert_int_equal(verify(st, kr, NULL).head_seq, 8);
  assert_false(verify(st, kr, anchor).ok);
  fg_store_close(st);
  fg_keyring_destroy(kr);
}

static void test_tokens(void **state) {
  (void)state;
  tmp t;
  tmp_make(&t);
  char a[4 + FG_TOKEN_CHARS + 1], b[4 + FG_TOKEN_CHARS + 1];
  fg_token_generate(a);
  fg_token_generate(b);
  assert_int_equal(strlen(a), 4 + FG_TOKEN_CHARS);
  assert_memory_equal(a, "fgt_", 4);
  assert_string_not_equal(a, b);
  for (int i = 4; a[i]; i++)
    assert_true((a[i] >= 'A' && a[i] <= 'Z') || (a[i] >= 'a' && a[i] <= 'z') ||
                (a[i] >= '0' && a[i] <= '9') || a[i] == '-' || a[i] == '_');
  fg_keyring *kr = open_kr(t.key);
  uint8_t h1[32], h2[32], h3[32];
  fg_token_hash(kr, a, h1);
  fg_token_hash(kr, a, h2);
  assert_memory_equal(h1, h2, 32);
  fg_token_hash(kr, b, h3);
  assert_memory_not_equal(h1, h3, 32);
  char other[128];
  snprintf(other, sizeof other, "%s/other.key", t.dir);
  fg_keyring *kr2 = open_kr(other);
  fg_token_hash(kr2, a, h3);
  assert_memory_not_equal(h1, h3, 32); /* keyed: another install hashes differently */
  fg_keyring_destroy(kr2);
  fg_keyring_destroy(kr);
  tmp_clean(&t);
}

/* The fuzz target's corpus, each copied to a 0600 file and opened. */
static void test_keyring_corpus(void **state) {
  (void)state;
  DIR *d = opendir("fuzz/corpus/fuzz_keyring");
  if (!d) TU_SKIP("fuzz/corpus/fuzz_keyring not found (run from the project root)");
  tmp t;
  tmp_make(&t);
  int files = 0;
  for (struct dirent *de; (de = readdir(d));) {
    if (de->d_name[0] == '.') continue;
    char src[512];
    snprintf(src, sizeof src, "fuzz/corpus/fuzz_keyring/%s", de->d_name);
    size_t n;
    uint8_t *data = tu_read(src, &n);
    write_text(t.key, (const char *)data, n, 0600);
    free(data);
    fg_keyring *kr = NULL;
    fg_error e = {0};
    if (fg_keyring_open(t.key, 0, &kr, &e) == FG_OK) {
      uint8_t *s, *p;
      size_t sn, pn;
      assert_int_equal(fg_seal(kr, "x", 1, "ad", &s, &sn, &e), FG_OK);
      assert_int_equal(fg_unseal(kr, s, sn, "ad", &p, &pn, &e), FG_OK);
      free(s);
      free(p);
      fg_keyring_destroy(kr);
    }
    files++;
  }
  closedir(d);
  assert_true(files >= 2);
  tmp_clean(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keyring_file),
      cmocka_unit_test(test_seal),
      cmocka_unit_test(test_rotation),
      cmocka_unit_test_setup_teardown(test_audit, audit_setup, audit_teardown),
      cmocka_unit_test(test_tokens),
      cmocka_unit_test(test_keyring_corpus),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
