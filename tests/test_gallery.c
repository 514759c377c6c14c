/*
 * Galleries: add / remove / compact, subject ids, the fp16 and int8
 * encodings, save and open by mmap (round trip, zero-copy view, copy on first
 * mutation), and refusal of damaged files: every truncation, every single
 * flipped byte, another format version, another model; lazy verification.
 * Also re-runs the fuzz corpus kept in fuzz/corpus/fuzz_gallery, if present.
 */
#include <dirent.h>
#include <math.h>
#include <sodium.h>

#include "testutil.h"

#include "facegate/gallery.h"
#include "facegate/template.h"
#include "match/match.h"

static uint64_t rng_state = 42;
static double urand(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (((z ^ (z >> 31)) >> 11) + 0.5) / 9007199254740992.0;
}
static void rand_unit(float *x, size_t d) {
  double s = 0;
  for (size_t i = 0; i < d; i++) {
    x[i] = (float)(sqrt(-2 * log(urand())) * cos(6.283185307179586 * urand()));
    s += (double)x[i] * x[i];
  }
  for (size_t i = 0; i < d; i++) x[i] = (float)(x[i] / sqrt(s));
}

static const fg_encoding encs[] = {FG_ENCODING_FP32, FG_ENCODING_FP16, FG_ENCODING_INT8};

static char tmpdir[256];

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/fg_test_gallery.XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}
static int teardown(void **state) {
  (void)state;
  return tu_rm_rf(tmpdir);
}

static void path_in_tmp(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", tmpdir, name); }

static fg_gallery *sample_ex(fg_encoding enc, unsigned flags, uint32_t dim, int subjects, int per) {
  fg_gallery *g;
  fg_error e;
  static const uint8_t model[16] = {0x87, 0xaa, 0xcd, 0xfe, 0x57, 0x51, 0x0d, 0xbd,
                                    0xb8, 0x8e, 0xc8, 0xf8, 0xb0, 0xf1, 0x22, 0xfb};
  assert_int_equal(fg_gallery_create_ex(dim, enc, model, flags, &g, &e), FG_OK);
  float *x = malloc(dim * sizeof *x);
  for (int s = 0; s < subjects; s++)
    for (int t = 0; t < per; t++) {
      char id[32];
      snprintf(id, sizeof id, "traveller-%03d", s);
      rand_unit(x, dim);
      assert_int_equal(fg_gallery_add(g, id, x, dim, NULL, &e), FG_OK);
    }
  free(x);
  return g;
}

static fg_gallery *sample(fg_encoding enc, uint32_t dim, int subjects, int per) {
  return sample_ex(enc, 0, dim, subjects, per);
}

/* Variants for the file tests: each encoding, and int8 with refine rows. */
#define N_VARIANTS 4
static fg_encoding variant_enc(int v) { return v < 3 ? encs[v] : FG_ENCODING_INT8; }
static unsigned variant_flags(int v) { return v < 3 ? 0 : FG_GALLERY_REFINE; }

/* Aligned copy of a file's first len bytes. */
static uint8_t *aligned_copy(const uint8_t *src, size_t len) {
  uint8_t *p = NULL;
  assert_int_equal(posix_memalign((void **)&p, 64, len ? len : 64), 0);
  if (len) memcpy(p, src, len);
  return p;
}

static void same_results(fg_gallery *a, fg_gallery *b, uint32_t dim) {
  float q[5 * 64];
  for (int i = 0; i < 5; i++) rand_unit(q + i * dim, dim);
  fg_match ma[5 * 4], mb[5 * 4];
  size_t ca[5], cb[5];
  assert_int_equal(fg_gallery_search(a, q, 5, 0, 4, NULL, ma, ca, NULL), FG_OK);
  assert_int_equal(fg_gallery_search(b, q, 5, 0, 4, NULL, mb, cb, NULL), FG_OK);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(ca[i], cb[i]);
    for (size_t r = 0; r < ca[i]; r++) {
      assert_string_equal(fg_gallery_subject_id(a, ma[i * 4 + r].subject, NULL),
                          fg_gallery_subject_id(b, mb[i * 4 + r].subject, NULL));
      assert_true(ma[i * 4 + r].score == mb[i * 4 + r].score);
    }
  }
}

/* ---------------------------------------------------------------- in memory */

static void test_add_remove_compact(void **state) {
  (void)state;
  for (int ei = 0; ei < 3; ei++) {
    fg_gallery *g = sample(encs[ei], 20, 10, 3);
    fg_gallery_info in;
    fg_gallery_get_info(g, &in);
    assert_int_equal(in.n_templates, 30);
    assert_int_equal(in.n_subjects, 10);
    uint32_t s;
    size_t nt;
    assert_int_equal(fg_gallery_find_subject(g, "traveller-004", &s), FG_OK);
    assert_int_equal(s, 4);
    assert_string_equal(fg_gallery_subject_id(g, 4, &nt), "traveller-004");
    assert_int_equal(nt, 3);
    fg_error e;
    size_t removed;
    float x[20];
    assert_int_equal(fg_gallery_template(g, 13, &s, x), FG_OK); /* traveller-004 has templates 12..14 */
    assert_int_equal(s, 4);
    assert_int_equal(fg_gallery_remove(g, "traveller-004", &removed, &e), FG_OK);
    assert_int_equal(removed, 3);
    assert_int_equal(fg_gallery_remove(g, "traveller-004", &removed, &e), FG_ENOTFOUND);
    assert_int_equal(fg_gallery_find_subject(g, "traveller-004", &s), FG_ENOTFOUND);
    assert_int_equal(fg_gallery_remove_template(g, 0, &e), FG_OK);
    assert_int_equal(fg_gallery_remove_template(g, 0, &e), FG_ENOTFOUND);
    assert_int_equal(fg_gallery_remove_template(g, 1000, &e), FG_ENOTFOUND);
    fg_gallery_get_info(g, &in);
    assert_int_equal(in.n_templates, 26);
    assert_int_equal(in.n_subjects, 9);
    assert_int_equal(in.template_slots, 30);
    /* removed templates are no longer found */
    assert_int_equal(fg_gallery_template(g, 0, NULL, NULL), FG_ENOTFOUND);
    assert_int_equal(fg_gallery_template(g, 13, NULL, NULL), FG_ENOTFOUND);
    assert_int_equal(fg_gallery_template(g, 1, &s, NULL), FG_OK);
    /* searching with a removed template never returns its subject */
    fg_match m[9];
    size_t cnt;
    assert_int_equal(fg_gallery_search(g, x, 1, 0, 9, NULL, m, &cnt, &e), FG_OK);
    assert_int_equal(cnt, 9);
    for (size_t r = 0; r < cnt; r++) assert_int_not_equal(m[r].subject, 4);
    /* compaction keeps order and answers */
    fg_gallery_search(g, x, 1, 0, 9, NULL, m, &cnt, &e);
    char top[64];
    snprintf(top, sizeof top, "%s", fg_gallery_subject_id(g, m[0].subject, NULL));
    float top_score = m[0].score;
    assert_int_equal(fg_gallery_compact(g, &e), FG_OK);
    fg_gallery_get_info(g, &in);
    assert_int_equal(in.template_slots, 26);
    assert_int_equal(in.subject_slots, 9);
    assert_int_equal(fg_gallery_find_subject(g, "traveller-005", &s), FG_OK);
    assert_int_equal(s, 4);
    assert_int_equal(fg_gallery_search(g, x, 1, 0, 9, NULL, m, &cnt, &e), FG_OK);
    assert_string_equal(fg_gallery_subject_id(g, m[0].subject, NULL), top);
    assert_true(m[0].score == top_score);
    /* re-adding a removed id works; the subject's first template removed kept the subject */
    assert_int_equal(fg_gallery_add(g, "traveller-004", x, 20, NULL, &e), FG_OK);
    assert_int_equal(fg_gallery_find_subject(g, "traveller-004", &s), FG_OK);
    assert_int_equal(s, 9);
    assert_int_equal(fg_gallery_find_subject(g, "traveller-000", &s), FG_OK);
    assert_string_equal(fg_gallery_subject_id(g, s, &nt), "traveller-000");
    assert_int_equal(nt, 2);
    fg_gallery_destroy(g);
  }
}

static void test_add_errors(void **state) {
  (void)state;
  fg_gallery *g;
  fg_error e;
  assert_int_equal(fg_gallery_create(0, FG_ENCODING_INT8, NULL, &g, &e), FG_EINVAL);
  assert_null(g);
  assert_int_equal(fg_gallery_create(FG_GALLERY_MAX_DIM + 1, FG_ENCODING_INT8, NULL, &g, &e), FG_EINVAL);
  assert_int_equal(fg_gallery_create(8, (fg_encoding)9, NULL, &g, &e), FG_EINVAL);
  assert_int_equal(fg_gallery_create(8, FG_ENCODING_INT8, NULL, &g, &e), FG_OK);
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, z[8] = {0}, bad[8] = {1, NAN};
  char longid[FG_GALLERY_ID_MAX + 2];
  memset(longid, 'a', sizeof longid - 1);
  longid[sizeof longid - 1] = 0;
  assert_int_equal(fg_gallery_add(g, "", x, 8, NULL, &e), FG_EINVAL);
  assert_int_equal(fg_gallery_add(g, NULL, x, 8, NULL, &e), FG_EINVAL);
  assert_int_equal(fg_gallery_add(g, longid, x, 8, NULL, &e), FG_EINVAL);
  longid[FG_GALLERY_ID_MAX] = 0;
  assert_int_equal(fg_gallery_add(g, longid, x, 8, NULL, &e), FG_OK);
  assert_int_equal(fg_gallery_add(g, "a", x, 7, NULL, &e), FG_EINVAL);
  assert_int_equal(fg_gallery_add(g, "a", z, 8, NULL, &e), FG_EINVAL);
  assert_int_equal(fg_gallery_add(g, "a", bad, 8, NULL, &e), FG_EINVAL);
  fg_gallery_info in;
  fg_gallery_get_info(g, &in);
  assert_int_equal(in.n_templates, 1);
  assert_int_equal(in.n_subjects, 1);
  fg_gallery_destroy(g);
  fg_gallery_destroy(NULL);
  fg_encoding enc;
  assert_int_equal(fg_encoding_parse("fp16", &enc), FG_OK);
  assert_int_equal(enc, FG_ENCODING_FP16);
  assert_int_equal(fg_encoding_parse("int4", &enc), FG_EINVAL);
  uint8_t id[16];
  assert_int_equal(fg_gallery_model_id_from_hex("87aacdfe57510dbdb88ec8f8b0f122fbe5b61ab98", id), FG_OK);
  assert_int_equal(id[0], 0x87);
  assert_int_equal(id[15], 0xfb);
  assert_int_equal(fg_gallery_model_id_from_hex("87aa", id), FG_EINVAL);
}

/* The centroid: normalised mean of normalised inputs, scored like any template. */
static void test_add_centroid(void **state) {
  (void)state;
  fg_gallery *g;
  fg_error e;
  assert_int_equal(fg_gallery_create(4, FG_ENCODING_FP32, NULL, &g, &e), FG_OK);
  /* two photos of different lengths in a stride of 5: each counts once, whatever its norm */
  const float two[10] = {3, 0, 0, 0, 99, 0, 0.5f, 0, 0, 99};
  size_t t = 99;
  assert_int_equal(fg_gallery_add_centroid(g, "p", two, 2, 4, 5, &t, &e), FG_OK);
  assert_int_equal(t, 0);
  float c[4];
  uint32_t subj;
  assert_int_equal(fg_gallery_template(g, 0, &subj, c), FG_OK);
  assert_float_equal(c[0], 0.70710678f, 1e-6);
  assert_float_equal(c[1], 0.70710678f, 1e-6);
  assert_float_equal(c[2], 0, 0);
  /* a probe along the first photo scores 1/sqrt(2) against the centroid; max-fusion would give 1 */
  const float probe[4] = {1, 0, 0, 0};
  fg_match m;
  size_t cnt;
  assert_int_equal(fg_gallery_search(g, probe, 1, 0, 1, NULL, &m, &cnt, &e), FG_OK);
  assert_int_equal(cnt, 1);
  assert_float_equal(m.score, 0.70710678f, 1e-6);
  /* one embedding: the same template as fg_gallery_add */
  const float one[4] = {0, 0, 2, 0};
  assert_int_equal(fg_gallery_add_centroid(g, "q", one, 1, 4, 0, NULL, &e), FG_OK);
  assert_int_equal(fg_gallery_template(g, 1, &subj, c), FG_OK);
  assert_float_equal(c[2], 1, 0);
  /* refusals leave the gallery as it was */
  const float opposite[8] = {1, 0, 0, 0, -1, 0, 0, 0}, bad[8] = {1, 0, 0, 0, NAN, 0, 0, 0};
  assert_int_equal(fg_gallery_add_centroid(g, "r", opposite, 2, 4, 0, NULL, &e), FG_EINVAL);
  assert_non_null(strstr(e.msg, "cancel"));
  assert_int_equal(fg_gallery_add_centroid(g, "r", bad, 2, 4, 0, NULL, &e), FG_EINVAL);
  assert_non_null(strstr(e.msg, "embedding 1"));
  assert_int_equal(fg_gallery_add_centroid(g, "r", one, 0, 4, 0, NULL, &e), FG_EINVAL);
  assert_int_equal(fg_gallery_add_centroid(g, "r", one, 1, 3, 0, NULL, &e), FG_EINVAL);
  assert_int_equal(fg_gallery_add_centroid(g, "r", two, 2, 4, 3, NULL, &e), FG_EINVAL);
  assert_int_equal(fg_gallery_add_centroid(g, "", one, 1, 4, 0, NULL, &e), FG_EINVAL);
  fg_gallery_info in;
  fg_gallery_get_info(g, &in);
  assert_int_equal(in.n_templates, 2);
  fg_gallery_destroy(g);
}

static void test_int8_encoding(void **state) {
  (void)state;
  /* rounding half away from zero, scale max|x|/127, symmetric range */
  float x[5] = {1.0f, -1.0f, 0.5f / 127.0f, -1.5f / 127.0f, 0.0f};
  int8_t q[5];
  int32_t sum;
  float scale = fg__quantize_i8(x, 5, q, &sum);
  assert_float_equal(scale, 1.0f / 127.0f, 1e-9);
  assert_int_equal(q[0], 127);
  assert_int_equal(q[1], -127);
  assert_int_equal(q[2], 1);
  assert_int_equal(q[3], -2);
  assert_int_equal(q[4], 0);
  assert_int_equal(sum, 127 - 127 + 1 - 2);
  /* memory per int8 template at dim 512: target <= 1.1 * (512 + 8) bytes plus ids */
  fg_gallery *g = sample(FG_ENCODING_INT8, 512, 4, 2);
  fg_gallery_info in;
  fg_gallery_get_info(g, &in);
  fprintf(stderr, "[  INFO    ] int8 dim 512: %zu bytes per template (row %u + subject 4 + scale 4 + sum 4)\n",
          in.bytes_per_template, in.row_bytes);
  assert_true(in.bytes_per_template <= (size_t)(1.1 * (512 + 8)));
  fg_gallery_destroy(g);
}

static void test_fp16_conversion(void **state) {
  (void)state;
  /* every finite half survives a round trip through float */
  for (uint32_t h = 0; h < 65536; h++) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; /* NaN payloads */
    uint16_t back = fg__f32_to_f16(fg__f16_to_f32((uint16_t)h));
    if (back != h) {
      print_error("half %#06x -> %g -> %#06x\n", h, fg__f16_to_f32((uint16_t)h), back);
      fail();
    }
  }
  /* ties round to even, overflow to inf, tiny to zero */
  assert_int_equal(fg__f32_to_f16(1.0f + 1.0f / 2048), 0x3c00);         /* halfway, even below */
  assert_int_equal(fg__f32_to_f16(1.0f + 3.0f / 2048), 0x3c02);         /* halfway, even above */
  assert_int_equal(fg__f32_to_f16(70000.0f), 0x7c00);
  assert_int_equal(fg__f32_to_f16(-1e-10f), 0x8000);
  assert_int_equal(fg__f32_to_f16(5.9604645e-8f), 0x0001);              /* smallest subnormal */
  assert_true(isnan(fg__f16_to_f32(fg__f32_to_f16(NAN))));
  /* against the F16C instruction, where there is one */
#if defined(__x86_64__)
  if (fg_kernel_supported(FG_KERNEL_AVX2)) {
    extern uint16_t fg_test_f16c(float);
    for (int i = 0; i < 200000; i++) {
      float f = (float)((urand() - 0.5) * pow(2.0, (int)(urand() * 40) - 28));
      assert_int_equal(fg__f32_to_f16(f), fg_test_f16c(f));
    }
  }
#endif
}

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("f16c"))) uint16_t fg_test_f16c(float f) {
  return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}
#endif

/* ---------------------------------------------------------------- files */

static void test_save_open_roundtrip(void **state) {
  (void)state;
  for (int ei = 0; ei < N_VARIANTS; ei++) {
    fg_gallery *g = sample_ex(variant_enc(ei), variant_flags(ei), 64, 30, 2);
    fg_error e;
    assert_int_equal(fg_gallery_remove(g, "traveller-003", NULL, &e), FG_OK); /* saved compacted */
    char path[300];
    path_in_tmp(path, sizeof path, "g.fgg");
    assert_int_equal(fg_gallery_save(g, path, &e), FG_OK);
    fg_gallery *h;
    assert_int_equal(fg_gallery_open(path, NULL, 0, &h, &e), FG_OK);
    fg_gallery_info a, b;
    fg_gallery_get_info(g, &a);
    fg_gallery_get_info(h, &b);
    assert_int_equal(b.mapped, 1);
    assert_int_equal(b.n_templates, a.n_templates);
    assert_int_equal(b.n_subjects, 29);
    assert_int_equal(b.template_slots, 58);
    assert_int_equal(b.encoding, variant_enc(ei));
    assert_int_equal(b.refine, variant_flags(ei) != 0);
    assert_int_equal(b.refine_bytes_per_template, variant_flags(ei) ? 1024 / 8 : 0); /* 64 fp16 values */
    assert_memory_equal(a.model_id, b.model_id, 16);
    /* zero-copy: the vectors are read inside the mapping */
    same_results(g, h, 64);
    uint32_t s;
    assert_int_equal(fg_gallery_find_subject(h, "traveller-029", &s), FG_OK);
    assert_int_equal(fg_gallery_find_subject(h, "traveller-003", &s), FG_ENOTFOUND);
    assert_int_equal(fg_gallery_verify(h, &e), FG_OK);
    /* first mutation copies; the file is untouched */
    float x[64];
    rand_unit(x, 64);
    assert_int_equal(fg_gallery_add(h, "late", x, 64, NULL, &e), FG_OK);
    fg_gallery_get_info(h, &b);
    assert_int_equal(b.mapped, 0);
    assert_int_equal(b.n_subjects, 30);
    fg_gallery *h2;
    assert_int_equal(fg_gallery_open(path, NULL, FG_GALLERY_OPEN_LAZY | FG_GALLERY_OPEN_POPULATE, &h2, &e), FG_OK);
    fg_gallery_get_info(h2, &b);
    assert_int_equal(b.n_subjects, 29);
    same_results(g, h2, 64);
    /* save over it, re-open: the added subject is there */
    assert_int_equal(fg_gallery_save(h, path, &e), FG_OK);
    fg_gallery_destroy(h);
    assert_int_equal(fg_gallery_open(path, NULL, 0, &h, &e), FG_OK);
    assert_int_equal(fg_gallery_find_subject(h, "late", &s), FG_OK);
    fg_match m;
    size_t cnt;
    assert_int_equal(fg_gallery_search(h, x, 1, 0, 1, NULL, &m, &cnt, &e), FG_OK);
    assert_int_equal(m.subject, s);
    fg_gallery_destroy(h);
    fg_gallery_destroy(h2); /* its mapping of the replaced file stays valid until now */
    fg_gallery_destroy(g);
  }
  /* an empty gallery round-trips */
  fg_gallery *g, *h;
  char path[300];
  path_in_tmp(path, sizeof path, "empty.fgg");
  assert_int_equal(fg_gallery_create(7, FG_ENCODING_FP16, NULL, &g, NULL), FG_OK);
  assert_int_equal(fg_gallery_save(g, path, NULL), FG_OK);
  assert_int_equal(fg_gallery_open(path, NULL, 0, &h, NULL), FG_OK);
  fg_gallery_info b;
  fg_gallery_get_info(h, &b);
  assert_int_equal(b.n_templates, 0);
  assert_int_equal(b.dim, 7);
  float x[7] = {1, 0, 0, 0, 0, 0, 0};
  assert_int_equal(fg_gallery_add(h, "x", x, 7, NULL, NULL), FG_OK);
  fg_gallery_destroy(h);
  fg_gallery_destroy(g);
}

/* Save a small gallery and read the file back into memory. */
static uint8_t *small_file_ex(fg_encoding enc, unsigned flags, size_t *len) {
  fg_gallery *g = sample_ex(enc, flags, 24, 5, 2);
  char path[300];
  path_in_tmp(path, sizeof path, "small.fgg");
  assert_int_equal(fg_gallery_save(g, path, NULL), FG_OK);
  fg_gallery_destroy(g);
  return tu_read(path, len);
}

static uint8_t *small_file(fg_encoding enc, size_t *len) { return small_file_ex(enc, 0, len); }

static void test_every_truncation_refused(void **state) {
  (void)state;
  for (int ei = 0; ei < N_VARIANTS; ei++) {
    size_t len;
    uint8_t *file = small_file_ex(variant_enc(ei), variant_flags(ei), &len);
    uint8_t *buf = aligned_copy(file, len);
    fg_gallery *g;
    fg_error e;
    assert_int_equal(fg_gallery_open_memory(buf, len, NULL, 0, &g, &e), FG_OK);
    fg_gallery_destroy(g);
    for (size_t n = 0; n < len; n++) {
      for (unsigned fl = 0; fl <= FG_GALLERY_OPEN_NO_VERIFY; fl += FG_GALLERY_OPEN_NO_VERIFY) {
        int rc = fg_gallery_open_memory(buf, n, NULL, fl, &g, &e);
        if (rc == FG_OK) {
          print_error("%s: truncation to %zu of %zu bytes accepted\n", fg_encoding_name(variant_enc(ei)), n, len);
          fail();
        }
        assert_null(g);
      }
    }
    /* through the file path too, at a few lengths */
    char path[300];
    path_in_tmp(path, sizeof path, "trunc.fgg");
    size_t cuts[] = {0, 7, 100, 447, 448, 1000, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
      FILE *f = fopen(path, "wb");
      fwrite(file, 1, cuts[i], f);
      fclose(f);
      int rc = fg_gallery_open(path, NULL, 0, &g, &e);
      assert_int_equal(rc, FG_EFORMAT);
      assert_non_null(strstr(e.msg, "trunc.fgg"));
    }
    free(buf), free(file);
  }
}

/* Open a (possibly damaged) file; if it opens, searching it must be safe. */
static void search_if_it_opens(const uint8_t *buf, size_t len, unsigned flags) {
  fg_gallery *g;
  if (fg_gallery_open_memory(buf, len, NULL, flags, &g, NULL) != FG_OK) return;
  fg_gallery_info in;
  fg_gallery_get_info(g, &in); /* the dimension itself may be a damaged byte */
  float *q = calloc(in.dim, sizeof *q);
  q[0] = 1;
  fg_match m[4];
  size_t cnt;
  fg_gallery_search(g, q, 1, 0, 4, NULL, m, &cnt, NULL);
  free(q);
  fg_gallery_destroy(g);
}

static void test_every_flipped_byte_refused(void **state) {
  (void)state;
  for (unsigned flags = 0; flags <= FG_GALLERY_REFINE; flags += FG_GALLERY_REFINE) {
    size_t len;
    uint8_t *file = small_file_ex(FG_ENCODING_INT8, flags, &len);
    uint8_t *buf = aligned_copy(file, len);
    fg_gallery *g;
    fg_error e;
    for (size_t i = 0; i < len; i++) {
      buf[i] ^= 0x20;
      int rc = fg_gallery_open_memory(buf, len, NULL, 0, &g, &e);
      if (rc == FG_OK) {
        print_error("flipping byte %zu of %zu went unnoticed\n", i, len);
        fail();
      }
      assert_true(rc == FG_ECHECKSUM || rc == FG_EFORMAT || rc == FG_EUNSUPPORTED);
      /* without digests: refused or, if accepted, still safe to search */
      search_if_it_opens(buf, len, FG_GALLERY_OPEN_NO_VERIFY);
      buf[i] ^= 0x20;
    }
    /* appended bytes are refused too */
    uint8_t *longer = NULL;
    assert_int_equal(posix_memalign((void **)&longer, 64, len + 1), 0);
    memcpy(longer, file, len);
    longer[len] = 0;
    assert_int_equal(fg_gallery_open_memory(longer, len + 1, NULL, 0, &g, &e), FG_EFORMAT);
    free(longer), free(buf), free(file);
  }
}

static void test_version_model_lazy(void **state) {
  (void)state;
  size_t len;
  uint8_t *file = small_file(FG_ENCODING_FP16, &len);
  uint8_t *buf = aligned_copy(file, len);
  fg_gallery *g;
  fg_error e;
  /* a format version from the future, with a valid header digest: unsupported, not "corrupt" */
  buf[8] = 3;
  crypto_generichash(buf + 416, 32, buf, 416, NULL, 0);
  assert_int_equal(fg_gallery_open_memory(buf, len, NULL, 0, &g, &e), FG_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "version 3"));
  /* version 2 has a 512-byte header: a version-1 header relabelled is malformed */
  buf[8] = 2;
  crypto_generichash(buf + 416, 32, buf, 416, NULL, 0);
  assert_int_equal(fg_gallery_open_memory(buf, len, NULL, 0, &g, &e), FG_EFORMAT);
  assert_non_null(strstr(e.msg, "header size"));
  memcpy(buf, file, len);
  /* another model */
  uint8_t other[16] = {0x6c, 0x02, 0x56};
  assert_int_equal(fg_gallery_open_memory(buf, len, other, 0, &g, &e), FG_EMODEL);
  assert_non_null(strstr(e.msg, "model"));
  uint8_t right[16];
  memcpy(right, buf + 48, 16);
  assert_int_equal(fg_gallery_open_memory(buf, len, right, 0, &g, &e), FG_OK);
  fg_gallery_destroy(g);
  /* not a gallery at all */
  assert_int_equal(fg_gallery_open_memory(buf + 64, len - 64, NULL, 0, &g, &e), FG_EFORMAT);
  assert_non_null(strstr(e.msg, "magic"));
  /* lazy: a damaged vector opens, verify finds it */
  buf[len - 1] ^= 1;
  assert_int_equal(fg_gallery_open_memory(buf, len, NULL, 0, &g, &e), FG_ECHECKSUM);
  assert_int_equal(fg_gallery_open_memory(buf, len, NULL, FG_GALLERY_OPEN_LAZY, &g, &e), FG_OK);
  assert_int_equal(fg_gallery_verify(g, &e), FG_ECHECKSUM);
  assert_non_null(strstr(e.msg, "vectors"));
  fg_gallery_destroy(g);
  /* unaligned buffers are refused, not misread */
  assert_int_equal(fg_gallery_open_memory(buf + 1, len - 1, NULL, 0, &g, &e), FG_EINVAL);
  /* missing file */
  char path[300];
  path_in_tmp(path, sizeof path, "nope.fgg");
  assert_int_equal(fg_gallery_open(path, NULL, 0, &g, &e), FG_ENOTFOUND);
  free(buf), free(file);
}

/* Capture flags (harsh light) per template: kept through save and open
 * (format version 2, written only when a template has flags), compaction
 * and the copy of a mapped gallery; a file without flags stays version 1
 * and reads as evenly lit; damage to a version-2 file is refused too. */
static uint32_t file_version(const char *path) {
  size_t len;
  uint8_t *p = tu_read(path, &len);
  assert_true(len >= 16);
  uint32_t v = p[8] | (uint32_t)p[9] << 8, h = p[12] | (uint32_t)p[13] << 8;
  assert_int_equal(h, v == 2 ? 512 : 448);
  free(p);
  return v;
}

static void test_capture_flags(void **state) {
  (void)state;
  const unsigned H = FG_TEMPLATE_CAPTURE_HARSH_LIGHT;
  fg_error e;
  char path[300];
  path_in_tmp(path, sizeof path, "capture.fgg");
  for (int v = 0; v < N_VARIANTS; v++) {
    fg_gallery *g = sample_ex(variant_enc(v), variant_flags(v), 24, 5, 2); /* subject s: templates 2s, 2s+1 */
    assert_int_equal(fg_gallery_template_capture(g, 3), 0);
    assert_int_equal(fg_gallery_save(g, path, &e), FG_OK);
    assert_int_equal(file_version(path), 1); /* no flags: the old format, byte for byte */
    assert_int_equal(fg_gallery_set_template_capture(g, 2, H, &e), FG_OK);
    assert_int_equal(fg_gallery_set_template_capture(g, 3, H, &e), FG_OK);
    assert_int_equal(fg_gallery_set_template_capture(g, 4, H, &e), FG_OK);
    assert_int_equal(fg_gallery_set_template_capture(g, 4, 0x2, &e), FG_EINVAL);
    assert_int_equal(fg_gallery_set_template_capture(g, 10, H, &e), FG_ENOTFOUND);
    assert_int_equal(fg_gallery_template_capture(g, 2), H);
    assert_int_equal(fg_gallery_template_capture(g, 5), 0);
    assert_int_equal(fg_gallery_subject_capture(g, 1), H); /* both its templates */
    assert_int_equal(fg_gallery_subject_capture(g, 2), 0); /* one of two */
    assert_int_equal(fg_gallery_save(g, path, &e), FG_OK);
    assert_int_equal(file_version(path), 2);
    fg_gallery *m;
    assert_int_equal(fg_gallery_open(path, NULL, 0, &m, &e), FG_OK);
    fg_gallery_info in;
    fg_gallery_get_info(m, &in);
    assert_int_equal(in.format_version, 2);
    for (size_t t = 0; t < 10; t++) assert_int_equal(fg_gallery_template_capture(m, t), t >= 2 && t <= 4 ? H : 0);
    same_results(g, m, 24);
    assert_int_equal(fg_gallery_verify(m, &e), FG_OK);
    /* a mutation copies the mapped gallery with its flags; a new template has none */
    float x[24];
    rand_unit(x, 24);
    size_t nt;
    assert_int_equal(fg_gallery_add(m, "new", x, 24, &nt, &e), FG_OK);
    assert_int_equal(fg_gallery_template_capture(m, nt), 0);
    assert_int_equal(fg_gallery_template_capture(m, 3), H);
    /* compaction keeps each template's flags with it */
    assert_int_equal(fg_gallery_remove(m, "traveller-000", NULL, &e), FG_OK);
    assert_int_equal(fg_gallery_compact(m, &e), FG_OK);
    uint32_t s1;
    assert_int_equal(fg_gallery_find_subject(m, "traveller-001", &s1), FG_OK);
    assert_int_equal(fg_gallery_subject_capture(m, s1), H);
    assert_int_equal(fg_gallery_template_capture(m, 0), H);
    assert_int_equal(fg_gallery_template_capture(m, 3), 0);
    assert_int_equal(fg_gallery_template_capture(m, 10), 0); /* "new", last after compaction */
    fg_gallery_destroy(m);
    /* flags cleared: version 1 again */
    for (size_t t = 2; t <= 4; t++) assert_int_equal(fg_gallery_set_template_capture(g, t, 0, &e), FG_OK);
    assert_int_equal(fg_gallery_save(g, path, &e), FG_OK);
    assert_int_equal(file_version(path), 1);
    fg_gallery_destroy(g);
  }
  /* every flipped byte and every truncation of a version-2 file is refused */
  fg_gallery *g = sample(FG_ENCODING_INT8, 24, 3, 1);
  assert_int_equal(fg_gallery_set_template_capture(g, 1, H, &e), FG_OK);
  assert_int_equal(fg_gallery_save(g, path, &e), FG_OK);
  fg_gallery_destroy(g);
  size_t len;
  uint8_t *file = tu_read(path, &len);
  uint8_t *buf = aligned_copy(file, len);
  for (size_t i = 0; i < len; i++) {
    buf[i] ^= 0x20;
    int rc = fg_gallery_open_memory(buf, len, NULL, 0, &g, &e);
    if (rc == FG_OK) {
      print_error("version 2: flipping byte %zu of %zu went unnoticed\n", i, len);
      fail();
    }
    search_if_it_opens(buf, len, FG_GALLERY_OPEN_NO_VERIFY);
    buf[i] ^= 0x20;
  }
  for (size_t n = 0; n < len; n++) assert_int_not_equal(fg_gallery_open_memory(buf, n, NULL, 0, &g, &e), FG_OK);
  /* an undefined capture flag is refused even without digests */
  buf[len - 2] = 0x80; /* the capture section ends the file: template 1's byte */
  assert_int_equal(fg_gallery_open_memory(buf, len, NULL, FG_GALLERY_OPEN_NO_VERIFY, &g, &e), FG_EFORMAT);
  assert_non_null(strstr(e.msg, "capture flags"));
  free(buf), free(file);
}

/* Inputs the fuzzer found (or seeds) must keep being handled. */
static void test_fuzz_corpus(void **state) {
  (void)state;
  const char *dir = "fuzz/corpus/fuzz_gallery";
  DIR *d = opendir(dir);
  if (!d) TU_SKIP("%s not found (run from the repository root)", dir);
  struct dirent *de;
  int n = 0;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    size_t len;
    uint8_t *raw = tu_read(p, &len);
    uint8_t *buf = aligned_copy(raw, len);
    for (unsigned fl = 0; fl < 4; fl++) {
      search_if_it_opens(buf, len, fl);
    }
    free(buf), free(raw);
    n++;
  }
  closedir(d);
  fprintf(stderr, "[  INFO    ] %d corpus inputs\n", n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_remove_compact),
      cmocka_unit_test(test_add_errors),
      cmocka_unit_test(test_add_centroid),
      cmocka_unit_test(test_int8_encoding),
      cmocka_unit_test(test_fp16_conversion),
      cmocka_unit_test(test_save_open_roundtrip),
      cmocka_unit_test(test_every_truncation_refused),
      cmocka_unit_test(test_every_flipped_byte_refused),
      cmocka_unit_test(test_version_model_lazy),
      cmocka_unit_test(test_capture_flags),
      cmocka_unit_test(test_fuzz_corpus),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
