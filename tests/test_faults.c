/*
 * Allocation failures on the library's main paths (docs/fault-tests.md).
 *
 * Each path below is one call sequence a user makes: decode an image, load
 * and run a model, build, save and reopen a gallery, open a border, import a
 * manifest, process a gate encounter, serve HTTP requests. The path first
 * runs once with every allocation counted (tests/faultalloc.h), then again
 * with allocation 1 failing, then 2, and so on until a run completes without
 * reaching the failure. Every run must end in one of two ways: the path's
 * call returns FG_ENOMEM with err.code equal to it and a message, or it
 * succeeds with a correct result (a failure the code can route around).
 * Nothing may crash (the sanitizer build catches a use after free or a
 * double free at the faulty line), nothing may leak (LeakSanitizer, checked
 * after each path and again at exit), and a failed call must leave no partial
 * write: the store's counts are as before, and the next call works.
 *
 * The server paths answer with a problem document and status 500 instead
 * (503 for a worker that cannot be opened), and the server keeps serving.
 *
 * FG_FAULTS selects how many failure points are tried:
 *   full     every allocation on every path (make check-faults, CI);
 *   sites    each distinct call site (the allocating line and its caller) once:
 *            a long path that allocates in a loop is covered in a fraction of
 *            the runs;
 *   (unset)  make test's slice: sites, on the quick paths only.
 * FG_FAULTS_PATH=NAME runs one path; FG_FAULTS_N=K fails only allocation K
 * (to debug one failure); FG_FAULTS_PERSIST=1 fails every allocation from the
 * Kth on (the error path itself must not need memory); FG_FAULTS_VERBOSE=1
 * prints every run. On PostgreSQL (FACEGATE_TEST_STORE=postgresql) the paths
 * that use a store run against a new database.
 */
#include <curl/curl.h>
#include <sodium.h>
#include <sys/stat.h>

#include "faultalloc.h"
#include "teststore.h"
#include "onnx_build.h"

#include "cli/border_json.h"
#include "facegate/border.h"
#include "facegate/dg2.h"
#include "facegate/face.h"
#include "facegate/gallery.h"
#include "facegate/image.h"
#include "facegate/nn.h"
#include "facegate/server.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FT_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FT_LSAN)
#define FT_LSAN 1
#endif
#ifdef FT_LSAN
#include <sanitizer/lsan_interface.h>
/* The report chart draws text with cairo, whose fontconfig caches live until exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\nleak:libcairo.so\n"; }
#endif

/* A result that is wrong although the call succeeded. */
#define FT_WRONG 1

typedef int (*ft_fn)(void *ctx, fg_error *err);

typedef struct ft_path {
  const char *name;
  ft_fn run;           /* the faulted call sequence; frees what it made */
  void *ctx;
  void (*after_ok)(void *ctx); /* optional: after a run that succeeded (restore its state) */
  unsigned flags;      /* FT_* */
} ft_path;

#define FT_QUICK 1u /* part of make test's slice */
#define FT_SITES 2u /* each site once, also in full mode (a long path whose
                       allocations repeat a few sites; see the comment at its use) */

static int mode_full, mode_sites, mode_quick, persist, verbose, only_n;
static const char *only_path;
static int total_bad;

/* ---- the driver ------------------------------------------------------------------------ */

/* The failure points to try: 1..K (full), or the first allocation of each
 * distinct site in the counting run (sites). */
static long *points_of(const uintptr_t *sites, long k, int by_site, long *n) {
  long *pts = malloc(sizeof *pts * (size_t)(k > 0 ? k : 1));
  assert_non_null(pts);
  *n = 0;
  for (long i = 0; i < k; i++) {
    int seen = 0;
    if (by_site && i < FA_MAX_SITES)
      for (long j = 0; j < i && !seen; j++)
        seen = sites[2 * j] == sites[2 * i] && sites[2 * j + 1] == sites[2 * i + 1];
    if (!seen) pts[(*n)++] = i + 1;
  }
  return pts;
}

static void run_path(const ft_path *p) {
  fg_error e;
  uintptr_t *sites = calloc(2 * (size_t)FA_MAX_SITES, sizeof *sites);
  assert_non_null(sites);
  memset(&e, 0, sizeof e);
  fa_arm(0, 0, sites);
  int rc = p->run(p->ctx, &e);
  fa_disarm();
  long k = fa_counted();
  if (rc != FG_OK) print_error("%s: the path fails without any injected failure: %d %s\n", p->name, rc, e.msg);
  assert_int_equal(rc, FG_OK);
  if (p->after_ok) p->after_ok(p->ctx);

  long npts = 0, *pts;
  int by_site = mode_sites || (p->flags & FT_SITES);
  if (only_n) {
    pts = malloc(sizeof *pts);
    assert_non_null(pts);
    pts[0] = only_n, npts = 1;
  } else {
    pts = points_of(sites, k, by_site, &npts);
  }
  free(sites);
  long runs = 0, nomem = 0, routed = 0, bad = 0, beyond = 0;
  double t0 = fg__test_ms();
  for (long i = 0; i < npts || (!by_site && !only_n && i < 4 * k + 100); i++) {
    long n = i < npts ? pts[i] : i + 1;
    memset(&e, 0, sizeof e);
    fa_arm(n, persist, NULL);
    rc = p->run(p->ctx, &e);
    int fired = fa_disarm();
    runs++;
    if (verbose)
      fprintf(stderr, "  %s #%ld: fired %d at +0x%lx +0x%lx, rc %d %s\n", p->name, n, fired,
              (unsigned long)(fa_fired_site[0] - (uintptr_t)__executable_start),
              (unsigned long)(fa_fired_site[1] - (uintptr_t)__executable_start), rc, e.msg);
    if (!fired) {
      if (rc != FG_OK) {
        print_error("%s: allocation %ld not reached, yet the path failed: %s %s\n", p->name, n,
                    fg_err_name(rc), e.msg);
        bad++;
      }
      if (p->after_ok) p->after_ok(p->ctx);
      if (i >= npts) break; /* full mode: the path completed */
      continue;
    }
    if (i >= npts) beyond++; /* more allocations than the counting run made (threads) */
    if (rc == FG_OK) {
      routed++;
      if (p->after_ok) p->after_ok(p->ctx);
    } else if (rc == FG_ENOMEM && e.code == rc && e.msg[0]) {
      nomem++;
    } else {
      bad++;
      if (rc == FT_WRONG)
        print_error("%s: allocation %ld failed and the call succeeded with a wrong result: %s\n",
                    p->name, n, e.msg);
      else
        print_error("%s: allocation %ld failed: returned %s (err.code %s) \"%s\", not FG_ENOMEM with a message\n",
                    p->name, n, fg_err_name(rc), fg_err_name(e.code), e.msg);
    }
  }
  free(pts);
#ifdef FT_LSAN
  if (__lsan_do_recoverable_leak_check()) {
    print_error("%s: memory leaked (the report above)\n", p->name);
    bad++;
  }
#endif
  fprintf(stderr, "  %-22s %6ld allocations, %5ld runs: %5ld FG_ENOMEM, %4ld routed around, %ld wrong (%.1f s)\n",
          p->name, k, runs, nomem, routed, bad, (fg__test_ms() - t0) / 1e3);
  (void)beyond;
  total_bad += (int)bad;
}

static int selected(const ft_path *p) {
  if (only_path) return strcmp(only_path, p->name) == 0;
  return !mode_quick || (p->flags & FT_QUICK);
}

static void run_paths(const ft_path *ps, size_t n) {
  int before = total_bad;
  for (size_t i = 0; i < n; i++)
    if (selected(&ps[i])) run_path(&ps[i]);
  assert_int_equal(total_bad, before);
}

static uint8_t *read_sample(int k, size_t *len) {
  char p[1024];
  snprintf(p, sizeof p, "%s/sample%d.jpg", tu_samples_dir(), k);
  return tu_read(p, len);
}

static int have_samples(void) {
  char p[1024];
  snprintf(p, sizeof p, "%s/sample1.jpg", tu_samples_dir());
  return tu_exists(p);
}

/* The paths that use no store run once, in the SQLite run. */
#define SKIP_ON_POSTGRESQL()                                                                        \
  do {                                                                                              \
    if (ts_pg()) TU_SKIP("uses no store: run once, with SQLite");                                  \
  } while (0)

static int have_models(void) {
  char p[1024];
  tu_path(p, sizeof p, tu_models_dir(), "fr_feature.onnx");
  return tu_exists(p);
}

/* ---- images -------------------------------------------------------------------------- */

typedef struct img_ctx {
  uint8_t *jpg, *png, *pgm, *dg2;
  size_t jpg_len, png_len, pgm_len, dg2_len;
} img_ctx;

static img_ctx IMG;

static int img_decode(const uint8_t *buf, size_t len, unsigned flags, int want_c, fg_error *err) {
  fg_image im;
  fg_image_limits lim = {.flags = flags};
  int rc = fg_image_decode(buf, len, &lim, &im, err);
  if (rc) return rc;
  rc = im.width > 0 && im.channels == want_c ? FG_OK : FT_WRONG;
  fg_image_release(&im);
  return rc;
}

static int path_jpeg(void *ctx, fg_error *err) {
  img_ctx *c = ctx;
  int rc = img_decode(c->jpg, c->jpg_len, 0, 3, err);
  if (rc) return rc;
  fg_image im;
  if ((rc = fg_image_decode_jpeg_scaled(c->jpg, c->jpg_len, NULL, 160, &im, NULL, NULL, err))) return rc;
  fg_image_release(&im);
  return FG_OK;
}

static int path_png(void *ctx, fg_error *err) {
  img_ctx *c = ctx;
  return img_decode(c->png, c->png_len, FG_IMAGE_KEEP_GREY, 1, err);
}

static int path_pnm(void *ctx, fg_error *err) {
  img_ctx *c = ctx;
  return img_decode(c->pgm, c->pgm_len, 0, 3, err);
}

static int path_dg2(void *ctx, fg_error *err) {
  img_ctx *c = ctx;
  uint8_t *dg2;
  size_t n;
  int rc = fg_dg2_build(c->jpg, c->jpg_len, NULL, &dg2, &n, err);
  if (rc) return rc;
  fg_dg2 *d;
  rc = fg_dg2_parse(dg2, n, &d, err);
  if (rc == FG_OK) {
    rc = fg_dg2_face_count(d) == 1 ? FG_OK : FT_WRONG;
    fg_dg2_destroy(d);
  }
  if (rc == FG_OK) rc = img_decode(dg2, n, 0, 3, err);
  free(dg2);
  return rc;
}

/* Resampling, warping, conversions and the two encoders. */
static int path_image_ops(void *ctx, fg_error *err) {
  img_ctx *c = ctx;
  fg_image src, a = {0}, b = {0};
  int rc = fg_image_decode(c->pgm, c->pgm_len, NULL, &src, err);
  if (rc) return rc;
  const float m[6] = {0.5f, 0.1f, 3, -0.1f, 0.5f, 4};
  uint8_t *enc = NULL;
  size_t n;
  if (!(rc = fg_image_resize_area(&src, 40, 30, &a, err))) {
    fg_image_release(&a);
    rc = fg_image_resize_bilinear(&src, 70, 50, &a, err);
  }
  if (!rc) rc = fg_image_warp_affine(&a, m, 32, 32, FG_IMAGE_BORDER_REPLICATE, &b, err);
  if (!rc) {
    fg_image_release(&a);
    rc = fg_image_to_grey(&b, &a, err);
  }
  if (!rc) rc = fg_image_encode_png(&a, &enc, &n, err);
  free(enc);
  enc = NULL;
  if (!rc) rc = fg_image_encode_jpeg(&b, 90, &enc, &n, err);
  free(enc);
  fg_image_release(&a);
  fg_image_release(&b);
  fg_image_release(&src);
  return rc;
}

static int images_setup(void **state) {
  (void)state;
  if (!have_samples()) return 0;
  IMG.jpg = read_sample(3, &IMG.jpg_len);
  fg_image im, small, grey;
  fg_error e;
  if (fg_image_decode_jpeg_scaled(IMG.jpg, IMG.jpg_len, NULL, 96, &im, NULL, NULL, &e) ||
      fg_image_resize_area(&im, 96, 64, &small, &e) || fg_image_to_grey(&small, &grey, &e) ||
      fg_image_encode_png(&grey, &IMG.png, &IMG.png_len, &e))
    return -1;
  /* a binary PGM of the grey image */
  IMG.pgm = malloc(64 + (size_t)96 * 64);
  if (!IMG.pgm) return -1;
  int h = snprintf((char *)IMG.pgm, 64, "P5\n96 64\n255\n");
  memcpy(IMG.pgm + h, grey.data, (size_t)96 * 64);
  IMG.pgm_len = (size_t)h + 96 * 64;
  fg_image_release(&im);
  fg_image_release(&small);
  fg_image_release(&grey);
  return 0;
}

static int images_teardown(void **state) {
  (void)state;
  free(IMG.jpg);
  free(IMG.png);
  free(IMG.pgm);
  return 0;
}

static void test_images(void **state) {
  (void)state;
  SKIP_ON_POSTGRESQL();
  if (!IMG.jpg) TU_SKIP("no sample photos in %s (run scripts/setup)", tu_samples_dir());
  const ft_path ps[] = {
      {"image.jpeg", path_jpeg, &IMG, NULL, FT_QUICK},
      {"image.png", path_png, &IMG, NULL, FT_QUICK},
      {"image.pnm", path_pnm, &IMG, NULL, FT_QUICK},
      {"image.dg2", path_dg2, &IMG, NULL, FT_QUICK},
      {"image.ops", path_image_ops, &IMG, NULL, FT_QUICK},
  };
  run_paths(ps, sizeof ps / sizeof *ps);
}

/* ---- the inference engine -------------------------------------------------------------- */

typedef struct nn_ctx {
  uint8_t *small;
  size_t small_len;
  char landmark[1024];
  int backend;
} nn_ctx;

/* Load, compile for ctx's backend and run once on zeros. */
static int load_run(const nn_ctx *c, const void *buf, size_t len, const char *path, fg_error *err) {
  fg_model *m;
  int rc = path ? fg_model_load_file(path, NULL, &m, err) : fg_model_load_memory(buf, len, NULL, &m, err);
  if (rc) return rc;
  fg_session_options so = {.threads = 1, .backend = c->backend};
  fg_session *s = NULL;
  float *in = NULL, *out = NULL;
  if ((rc = fg_session_create(m, &so, &s, err))) goto out;
  /* the test's own buffers: made with the wrappers off */
  fa_exempt(1);
  in = calloc(fg_model_input(m, 0)->count, sizeof *in);
  out = calloc(fg_model_output(m, 0)->count, sizeof *out);
  fa_exempt(0);
  const float *ins[1] = {in};
  float *outs[1] = {out};
  rc = fg_session_run(s, ins, outs, err);
  if (rc == FG_OK && !(out[0] == out[0])) rc = FT_WRONG;
out:
  free(in);
  free(out);
  fg_session_destroy(s);
  fg_model_destroy(m);
  return rc;
}

static int path_nn_small(void *ctx, fg_error *err) {
  nn_ctx *c = ctx;
  return load_run(c, c->small, c->small_len, NULL, err);
}

static int path_nn_landmark(void *ctx, fg_error *err) { return load_run(ctx, NULL, 0, ((nn_ctx *)ctx)->landmark, err); }

/* The model of tests/test_nn_hostile.c: Conv+Relu, MaxPool, Conv,
 * GlobalAveragePool, the Shape chain, Reshape, Gemm, Softmax. */
static uint8_t *small_model(size_t *len) {
  mb *b = mb_new(11);
  mb_input(b, "x", 4, (int64_t[]){1, 2, 8, 8});
  float w1[4 * 2 * 9], b1[4] = {0, 0.1f, 0.2f, 0.3f}, w2[6 * 4], W[3 * 6];
  for (size_t i = 0; i < sizeof w1 / sizeof *w1; i++) w1[i] = (float)((int)(i % 7) - 3) / 8;
  for (size_t i = 0; i < sizeof w2 / sizeof *w2; i++) w2[i] = (float)((int)(i % 5) - 2) / 4;
  for (size_t i = 0; i < sizeof W / sizeof *W; i++) W[i] = (float)((int)(i % 3) - 1) / 2;
  mb_init_f(b, "w1", 4, (int64_t[]){4, 2, 3, 3}, w1, 0);
  mb_init_f(b, "b1", 1, (int64_t[]){4}, b1, 1);
  mb_init_f(b, "w2", 4, (int64_t[]){6, 4, 1, 1}, w2, 0);
  mb_init_f(b, "W", 2, (int64_t[]){3, 6}, W, 0);
  mb_init_i64(b, "zero", 0, NULL, (int64_t[]){0});
  mb_ints(b, "m1", 1, (int64_t[]){-1});
  Onnx__NodeProto *n = mb_node(b, "Conv", "x,w1,b1", "c1");
  mb_attr_ints(b, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
  mb_node(b, "Relu", "c1", "r1");
  n = mb_node(b, "MaxPool", "r1", "p1");
  mb_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){2, 2});
  mb_attr_ints(b, n, "strides", 2, (int64_t[]){2, 2});
  mb_node(b, "Conv", "p1,w2", "c2");
  mb_node(b, "GlobalAveragePool", "c2", "g");
  mb_node(b, "Shape", "g", "shp");
  n = mb_node(b, "Gather", "shp,zero", "n0");
  mb_attr_i(b, n, "axis", 0);
  n = mb_node(b, "Unsqueeze", "n0", "n1");
  mb_attr_ints(b, n, "axes", 1, (int64_t[]){0});
  n = mb_node(b, "Concat", "n1,m1", "shape");
  mb_attr_i(b, n, "axis", 0);
  mb_node(b, "Reshape", "g,shape", "f");
  n = mb_node(b, "Gemm", "f,W", "logits");
  mb_attr_i(b, n, "transB", 1);
  n = mb_node(b, "Softmax", "logits", "y");
  mb_attr_i(b, n, "axis", 1);
  mb_output(b, "y");
  uint8_t *buf = mb_pack(b, len);
  mb_free(b);
  return buf;
}

static void test_nn(void **state) {
  (void)state;
  SKIP_ON_POSTGRESQL();
  nn_ctx x = {0}, r = {0}, lx = {0}, lr = {0};
  x.small = small_model(&x.small_len);
  r = x;
  r.backend = FG_BACKEND_REFERENCE;
  tu_path(lx.landmark, sizeof lx.landmark, tu_models_dir(), "fr_landmark.onnx");
  memcpy(lr.landmark, lx.landmark, sizeof lr.landmark);
  lr.backend = FG_BACKEND_REFERENCE;
  ft_path ps[] = {
      {"onnx.small.xnnpack", path_nn_small, &x, NULL, FT_QUICK},
      {"onnx.small.reference", path_nn_small, &r, NULL, FT_QUICK},
      {"onnx.landmark.xnnpack", path_nn_landmark, &lx, NULL, 0},
      /* the reference backend's session: each site once (the loading is the same
         as above, where every allocation fails in turn) */
      {"onnx.landmark.reference", path_nn_landmark, &lr, NULL, FT_SITES},
  };
  size_t n = tu_exists(lx.landmark) ? 4 : 2;
  if (n == 2) fprintf(stderr, "  (fr_landmark.onnx not in %s: its paths skipped)\n", tu_models_dir());
  run_paths(ps, n);
  free(x.small);
}

/* ---- galleries ------------------------------------------------------------------------- */

#define GDIM 128
#define GSUBJ 40

typedef struct gal_ctx {
  fg_encoding enc;
  unsigned flags;
  char path[128];
  float emb[GSUBJ][GDIM];
} gal_ctx;

/* Build (two templates for each of GSUBJ subjects), search, remove a subject
 * and compact; then save, reopen from the file and from memory, and search
 * the copy: the best match of subject 7's first template is subject 7. */
static int path_gallery(void *ctx, fg_error *err) {
  gal_ctx *c = ctx;
  fg_gallery *g = NULL, *f = NULL, *mg = NULL;
  uint8_t *copy = NULL;
  int rc = fg_gallery_create_ex(GDIM, c->enc, NULL, c->flags, &g, err);
  if (rc) return rc;
  char id[16];
  for (int i = 0; i < GSUBJ && !rc; i++) {
    snprintf(id, sizeof id, "s%02d", i);
    rc = fg_gallery_add(g, id, c->emb[i], GDIM, NULL, err);
    if (!rc) rc = fg_gallery_add_centroid(g, id, c->emb[i < GSUBJ - 1 ? i : i - 1], 2, GDIM, 0, NULL, err);
  }
  fg_match m[3];
  size_t cnt;
  fg_search_opts so = {0};
  if (!rc) rc = fg_gallery_search(g, c->emb[7], 1, 0, 3, &so, m, &cnt, err);
  if (!rc && (cnt != 3 || strcmp(fg_gallery_subject_id(g, m[0].subject, NULL), "s07"))) rc = FT_WRONG;
  size_t removed;
  if (!rc) rc = fg_gallery_remove(g, "s03", &removed, err);
  if (!rc) rc = fg_gallery_compact(g, err);
  if (!rc) rc = fg_gallery_save(g, c->path, err);
  if (!rc) rc = fg_gallery_open(c->path, NULL, 0, &f, err);
  if (!rc) rc = fg_gallery_search(f, c->emb[7], 1, 0, 3, &so, m, &cnt, err);
  if (!rc && (cnt != 3 || strcmp(fg_gallery_subject_id(f, m[0].subject, NULL), "s07"))) rc = FT_WRONG;
  if (!rc) {
    size_t len;
    fa_exempt(1); /* the test's own buffer */
    uint8_t *file = tu_read(c->path, &len);
    copy = aligned_alloc(64, (len + 63) / 64 * 64);
    memcpy(copy, file, len);
    free(file);
    fa_exempt(0);
    rc = fg_gallery_open_memory(copy, len, NULL, FG_GALLERY_OPEN_LAZY, &mg, err);
    if (!rc) rc = fg_gallery_verify(mg, err);
    if (!rc) rc = fg_gallery_search(mg, c->emb[7], 1, 0, 3, &so, m, &cnt, err);
  }
  fg_gallery_destroy(mg);
  free(copy);
  fg_gallery_destroy(f);
  fg_gallery_destroy(g);
  return rc;
}

static void test_gallery(void **state) {
  (void)state;
  SKIP_ON_POSTGRESQL();
  static gal_ctx g[3];
  uint32_t x = 12345;
  for (int i = 0; i < GSUBJ; i++)
    for (int d = 0; d < GDIM; d++) {
      x = x * 1664525u + 1013904223u;
      g[0].emb[i][d] = (float)(x >> 8) / (float)(1u << 24) - 0.5f;
    }
  char dir[] = "/tmp/fg_faults_gallery_XXXXXX";
  assert_non_null(mkdtemp(dir));
  const fg_encoding enc[3] = {FG_ENCODING_FP32, FG_ENCODING_FP16, FG_ENCODING_INT8};
  for (int i = 0; i < 3; i++) {
    if (i) memcpy(g[i].emb, g[0].emb, sizeof g[0].emb);
    g[i].enc = enc[i];
    g[i].flags = enc[i] == FG_ENCODING_INT8 ? FG_GALLERY_REFINE : 0;
    snprintf(g[i].path, sizeof g[i].path, "%s/g%d.fgg", dir, i);
  }
  const ft_path ps[] = {
      {"gallery.fp32", path_gallery, &g[0], NULL, FT_QUICK},
      {"gallery.fp16", path_gallery, &g[1], NULL, 0},
      {"gallery.int8.refine", path_gallery, &g[2], NULL, FT_QUICK},
  };
  run_paths(ps, sizeof ps / sizeof *ps);
  tu_rm_rf(dir);
}

/* ---- the face pipeline ----------------------------------------------------------------- */

typedef struct face_ctx {
  fg_face_engine *fe; /* for path_face_process */
  uint8_t *jpg;
  size_t len;
} face_ctx;

static int path_face_engine(void *ctx, fg_error *err) {
  (void)ctx;
  fg_face_options o;
  fg_face_options_init(&o);
  o.models_dir = tu_models_dir();
  fg_face_engine *fe;
  int rc = fg_face_engine_create(&o, &fe, err);
  if (rc == FG_OK) fg_face_engine_destroy(fe);
  return rc;
}

static int path_face_process(void *ctx, fg_error *err) {
  face_ctx *c = ctx;
  static fg_face_result r;
  int rc = fg_face_process_buffer(c->fe, c->jpg, c->len, NULL, &r, err);
  if (rc) return rc;
  return r.status == FG_FACE_OK && r.dim > 0 ? FG_OK : FT_WRONG;
}

static void test_face(void **state) {
  (void)state;
  SKIP_ON_POSTGRESQL();
  if (!have_models() || !have_samples()) TU_SKIP("models or sample photos missing (run scripts/setup)");
  face_ctx c = {0};
  fg_face_options o;
  fg_face_options_init(&o);
  o.models_dir = tu_models_dir();
  fg_error e;
  assert_int_equal(fg_face_engine_create(&o, &c.fe, &e), FG_OK);
  c.jpg = read_sample(3, &c.len);
  const ft_path ps[] = {
      /* four models' loading: 15000 allocations at some 70 sites, each site
         failed once (one model's loading is failed at every allocation above) */
      {"face.engine", path_face_engine, &c, NULL, FT_SITES},
      {"face.process", path_face_process, &c, NULL, FT_QUICK},
  };
  run_paths(ps, sizeof ps / sizeof *ps);
  fg_face_engine_destroy(c.fe);
  free(c.jpg);
}

/* ---- the border: opening, manifests, encounters, the watchlist, 1:1 ------------------ */

static ts_store T;       /* the border tests' data directory and store */
static fg_border *B;     /* the test's own handle (staging, not faulted) */
static int64_t clock_now = 1795780800; /* 2026-11-27T10:00:00Z */
static const fg_actor SUPERVISOR = {"supervisor-1", "supervisor", NULL};
static const fg_actor GATE = {"gate-b12", "gate", "boarding"};
static const fg_actor OFFICER = {"officer-7", "officer", NULL};

static int64_t test_clock(void *ctx) {
  (void)ctx;
  return clock_now;
}

static void border_options(fg_border_options *o, const char *dir) {
  fg_border_options_init(o);
  o->data_dir = dir;
  o->store = ts_store_opt(&T);
  o->store_flags = FG_STORE_NOSYNC;
  o->face.models_dir = tu_models_dir();
  o->clock = test_clock;
}

static char *base64_of(const uint8_t *p, size_t n) {
  size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
  char *b = malloc(cap);
  assert_non_null(b);
  return sodium_bin2base64(b, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
}

/* A flight of two passengers (sample photos 3 and 5, inline), flight FGnnn;
 * document numbers unique to the flight. */
static char *manifest_text(int flight) {
  static const int PHOTO[2] = {3, 5};
  json_t *pax = json_array();
  for (int i = 0; i < 2; i++) {
    size_t n;
    uint8_t *jpg = read_sample(PHOTO[i], &n);
    char *b64 = base64_of(jpg, n), num[16], name[16];
    snprintf(num, sizeof num, "F%05dP%d", flight, i);
    snprintf(name, sizeof name, "Person%d", i);
    json_array_append_new(pax, json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s},s:[{s:s}]}", "surname", name,
                                         "given_names", "T", "category", "foreign", "nationality", "FRA",
                                         "document", "type", "P", "number", num, "issuing_state", "FRA",
                                         "photos", "base64", b64));
    free(b64);
    free(jpg);
  }
  char fl[16];
  snprintf(fl, sizeof fl, "FG%d", flight);
  json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "carrier", "FG", "flight", fl, "port", "XXX",
                        "scheduled", "2026-11-27T12:00:00Z", "direction", "entry", "passengers", pax);
  char *text = json_dumps(m, JSON_COMPACT);
  json_decref(m);
  assert_non_null(text);
  return text;
}

static int64_t count_rows(const char *table) {
  char sql[96];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", table);
  fa_exempt(1);
  int64_t n = ts_int(T.target, sql, 0);
  fa_exempt(0);
  return n;
}

/* What a failed call must not have changed. */
static const char *const TABLES[] = {"manifests", "passengers", "photos",    "travellers",
                                     "encounters", "crossings",  "referrals", "watchlist",
                                     "watchlist_templates", "audit"};
#define NTABLES (sizeof TABLES / sizeof *TABLES)

static void count_all(int64_t n[NTABLES]) {
  for (size_t i = 0; i < NTABLES; i++) n[i] = count_rows(TABLES[i]);
}

/* FT_WRONG (with the table in err) if a failed call left rows behind. */
static int unchanged(int rc, const int64_t before[NTABLES], fg_error *err) {
  if (rc == FG_OK) return rc;
  int64_t after[NTABLES];
  count_all(after);
  for (size_t i = 0; i < NTABLES; i++)
    if (after[i] != before[i]) {
      fg_error keep = *err;
      snprintf(err->msg, sizeof err->msg, "the failed call (%s: %.200s) left %lld rows in %s (was %lld)",
               fg_err_name(keep.code), keep.msg, (long long)after[i], TABLES[i], (long long)before[i]);
      return FT_WRONG;
    }
  return rc;
}

/* Open a border on a fresh data directory (SQLite: a new store, migrated
 * from nothing; PostgreSQL: the test's database, with its key file), then
 * check that whatever a failure left behind opens cleanly. */
static int path_border_open(void *ctx, fg_error *err) {
  (void)ctx;
  static int serial;
  char dir[160];
  fa_exempt(1);
  if (ts_pg()) snprintf(dir, sizeof dir, "%s", T.dir);
  else {
    snprintf(dir, sizeof dir, "%s/open%d", T.dir, ++serial);
    assert_int_equal(mkdir(dir, 0700), 0);
  }
  fa_exempt(0);
  fg_border_options o;
  border_options(&o, dir);
  if (ts_pg()) o.store = T.target;
  fg_border *b;
  int rc = fg_border_open(&o, &b, err);
  if (rc == FG_OK) fg_border_close(b);
  fa_exempt(1);
  fg_error e2;
  if (fg_border_open(&o, &b, &e2) != FG_OK) {
    snprintf(err->msg, sizeof err->msg, "after %s, the data directory does not open: %.300s", fg_err_name(rc),
             e2.msg);
    rc = FT_WRONG;
  } else {
    fg_border_close(b);
  }
  if (!ts_pg()) tu_rm_rf(dir);
  fa_exempt(0);
  return rc;
}

typedef struct man_ctx {
  int flight;
  char *text;
} man_ctx;

static void man_next(man_ctx *c) {
  free(c->text);
  c->text = manifest_text(++c->flight);
}

static int path_manifest_import(void *ctx, fg_error *err) {
  man_ctx *c = ctx;
  int64_t before[NTABLES];
  count_all(before);
  fg_manifest_import_opts o = {.inline_photos_only = 1};
  json_t *rep = NULL;
  int rc = fg_border_manifest_import_buffer_j(B, &SUPERVISOR, c->text, strlen(c->text), &o, &rep, err);
  if (rc == FG_OK) {
    json_t *probs = json_object_get(rep, "problems");
    if (json_integer_value(json_object_get(rep, "manifest_id")) <= 0 || json_array_size(probs) != 0) {
      char *s = json_dumps(rep, JSON_COMPACT);
      snprintf(err->msg, sizeof err->msg, "report: %.400s", s ? s : "?");
      free(s);
      rc = FT_WRONG;
    }
  }
  json_decref(rep);
  return unchanged(rc, before, err);
}

static void after_import(void *ctx) { man_next(ctx); }

static man_ctx MAN = {100, NULL};

/* A staged flight for encounters: the next flight's manifest. */
static int64_t stage(void) {
  man_next(&MAN);
  json_t *rep = NULL;
  fg_error e;
  fg_manifest_import_opts o = {0};
  int rc = fg_border_manifest_import_buffer_j(B, &SUPERVISOR, MAN.text, strlen(MAN.text), &o, &rep, &e);
  if (rc) print_error("staging: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  int64_t id = json_integer_value(json_object_get(rep, "manifest_id"));
  json_decref(rep);
  return id;
}

typedef struct enc_ctx {
  int64_t manifest;
  uint8_t *jpg;
  size_t len;
  fg_outcome want;
  const char *doc;
} enc_ctx;

static int path_encounter(void *ctx, fg_error *err) {
  enc_ctx *c = ctx;
  int64_t before[NTABLES];
  count_all(before);
  fg_encounter_request rq = {.manifest_id = c->manifest, .gate = "B12", .image = c->jpg, .image_len = c->len};
  fg_encounter_result r;
  int rc = fg_border_encounter(B, &GATE, &rq, &r, err);
  if (rc == FG_OK && r.outcome != c->want) {
    snprintf(err->msg, sizeof err->msg, "outcome %s, not %s", fg_outcome_name(r.outcome), fg_outcome_name(c->want));
    rc = FT_WRONG;
  }
  return unchanged(rc, before, err);
}

/* A MATCHED traveller has crossed: the next run needs a flight of its own. */
static void after_match(void *ctx) {
  enc_ctx *c = ctx;
  c->manifest = stage();
}

static int path_verify(void *ctx, fg_error *err) {
  enc_ctx *c = ctx;
  fg_verify_result r;
  int rc = fg_border_verify(B, &OFFICER, c->jpg, c->len, c->jpg, c->len, 0, &r, err);
  if (rc == FG_OK && r.decision != 1) rc = FT_WRONG;
  return rc;
}

static int path_watchlist(void *ctx, fg_error *err) {
  enc_ctx *c = ctx;
  int64_t before[NTABLES];
  count_all(before);
  const uint8_t *imgs[1] = {c->jpg};
  size_t lens[1] = {c->len};
  int64_t id = 0;
  int rc = fg_border_watchlist_add(B, &SUPERVISOR, "Watched Person", "test", 0, imgs, lens, 1, &id, err);
  if (rc == FG_OK) rc = fg_border_watchlist_remove(B, &SUPERVISOR, id, err);
  json_t *list = NULL;
  if (rc == FG_OK) rc = fg_border_watchlist_list_j(B, &SUPERVISOR, &list, err);
  json_decref(list);
  if (rc != FG_OK && id > 0) { /* a failed remove or list: take the entry out for the next run */
    fa_exempt(1);
    fg_error e2;
    fg_border_watchlist_remove(B, &SUPERVISOR, id, &e2);
    fa_exempt(0);
    count_all(before);
  }
  return unchanged(rc, before, err);
}

/* The officer's reads: manifests, referrals, crossings, overstays, the audit chain. */
static int path_reads(void *ctx, fg_error *err) {
  enc_ctx *c = ctx;
  json_t *j = NULL;
  int rc = fg_border_manifest_list_j(B, &OFFICER, &j, err);
  json_decref(j), j = NULL;
  if (!rc) rc = fg_border_manifest_show_j(B, &OFFICER, c->manifest, &j, err);
  json_decref(j), j = NULL;
  if (!rc) rc = fg_border_referral_list_j(B, &OFFICER, NULL, &j, err);
  int64_t ref = json_integer_value(json_object_get(json_array_get(j, 0), "id"));
  json_decref(j), j = NULL;
  if (!rc && ref > 0) rc = fg_border_referral_show_j(B, &OFFICER, ref, 1, &j, err);
  json_decref(j), j = NULL;
  if (!rc) rc = fg_border_referral_summary_j(B, &j, err);
  json_decref(j), j = NULL;
  if (!rc) rc = fg_border_crossings_j(B, &OFFICER, c->doc, &j, err);
  json_decref(j), j = NULL;
  if (!rc) rc = fg_border_overstays_j(B, &OFFICER, clock_now, &j, err);
  json_decref(j), j = NULL;
  static const fg_actor AUDITOR = {"auditor-1", "auditor", NULL};
  if (!rc) rc = fg_border_audit_verify_j(B, &AUDITOR, NULL, &j, err);
  json_decref(j), j = NULL;
  if (!rc) rc = fg_border_report_j(B, &AUDITOR, "2026-11-27", NULL, &j, err);
  json_decref(j);
  return rc;
}

static int border_setup(void **state) {
  (void)state;
  if (!have_models() || !have_samples()) return 0;
  ts_make(&T, "faults");
  fg_border_options o;
  border_options(&o, T.dir);
  fg_error e;
  if (fg_border_open(&o, &B, &e) != FG_OK) {
    fprintf(stderr, "fg_border_open: %s\n", e.msg);
    return -1;
  }
  return 0;
}

static int border_teardown(void **state) {
  (void)state;
  fg_border_close(B);
  B = NULL;
  if (T.dir[0]) ts_clean(&T);
  free(MAN.text);
  MAN.text = NULL;
  return 0;
}

static void test_border(void **state) {
  (void)state;
  if (!B) TU_SKIP("models or sample photos missing (run scripts/setup)");
  man_ctx imp = {500, NULL};
  man_next(&imp);
  enc_ctx match = {0}, stranger = {0};
  match.manifest = stage();
  match.want = FG_OUTCOME_MATCHED;
  match.jpg = read_sample(3, &match.len);
  match.doc = "F00101P0";
  stranger = match;
  stranger.want = FG_OUTCOME_NO_MATCH;
  stranger.jpg = read_sample(6, &stranger.len);
  /* the stranger is on the watchlist: a hit, referred */
  size_t wl;
  uint8_t *w = read_sample(6, &wl);
  const uint8_t *imgs[1] = {w};
  fg_error e;
  int64_t id;
  int rc = fg_border_watchlist_add(B, &SUPERVISOR, "Listed Person", "test", 0, imgs, &wl, 1, &id, &e);
  if (rc) print_error("watchlist: %s\n", e.msg);
  assert_int_equal(rc, FG_OK);
  free(w);
  /* one encounter each way first: the face engine is loaded on first use */
  fg_encounter_request rq = {.manifest_id = match.manifest, .gate = "A1", .image = stranger.jpg,
                             .image_len = stranger.len};
  fg_encounter_result r;
  assert_int_equal(fg_border_encounter(B, &GATE, &rq, &r, &e), FG_OK);
  const ft_path ps[] = {
      {"border.open", path_border_open, NULL, NULL, FT_QUICK},
      {"manifest.import", path_manifest_import, &imp, after_import, 0},
      {"encounter.matched", path_encounter, &match, after_match, 0},
      {"encounter.no_match", path_encounter, &stranger, NULL, FT_QUICK},
      {"verify", path_verify, &match, NULL, 0},
      {"watchlist", path_watchlist, &stranger, NULL, 0},
      {"records.reads", path_reads, &match, NULL, FT_QUICK},
  };
  run_paths(ps, sizeof ps / sizeof *ps);
  free(imp.text);
  free(match.jpg);
  free(stranger.jpg);
}

static int path_purge(void *ctx, fg_error *err) {
  (void)ctx;
  static const fg_actor SYSTEM = {"purge-timer", "system", NULL};
  json_t *j = NULL;
  int rc = fg_border_purge_j(B, &SYSTEM, &j, err);
  json_decref(j);
  return rc;
}

/* ---- the HTTP service ------------------------------------------------------------------ */

typedef struct http_resp {
  long status;
  char *body;
  size_t len;
  char ctype[96];
} http_resp;

static size_t on_body(char *p, size_t sz, size_t n, void *ctx) {
  http_resp *r = ctx;
  char *nb = realloc(r->body, r->len + sz * n + 1);
  if (!nb) return 0;
  memcpy(nb + r->len, p, sz * n);
  r->body = nb;
  r->len += sz * n;
  r->body[r->len] = '\0';
  return sz * n;
}

typedef struct http_req {
  const char *name;
  const char *method, *path, *role; /* role: whose token (NULL: none; "bad": a wrong one) */
  long want;                        /* the status without injected failures */
  const char *body;                 /* JSON */
  int multipart;                    /* the capture as multipart/form-data */
  void (*after_ok)(void *ctx);
} http_req;

static fg_server *SRV;
static const char *const ROLES[FG_ROLE_COUNT] = {"gate", "officer", "supervisor", "auditor", "admin"};
static char TOKENS[FG_ROLE_COUNT][FG_API_TOKEN_LEN];
static enc_ctx SRV_ENC;   /* the staged flight and the capture the server paths use */
static char *SRV_IMPORT;  /* a manifest for POST /v1/manifests */
static char *SRV_CAPTURE; /* an encounter as JSON */
static int srv_flight = 900;

static const char *token_of(const char *role) {
  if (!role) return NULL;
  for (int i = 0; i < FG_ROLE_COUNT; i++)
    if (!strcmp(ROLES[i], role)) return TOKENS[i];
  return "fg1_wrongwrongwrongwrongwrongwrongwrongwrongw";
}

static void http(const http_req *q, http_resp *r) {
  memset(r, 0, sizeof *r);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  char url[512], auth[160];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", fg_server_port(SRV), q->path);
  struct curl_slist *h = curl_slist_append(NULL, "Expect:");
  if (q->role) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token_of(q->role));
    h = curl_slist_append(h, auth);
  }
  curl_mime *m = NULL;
  if (q->multipart) {
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)SRV_ENC.manifest);
    m = curl_mime_init(c);
    curl_mimepart *p = curl_mime_addpart(m);
    curl_mime_name(p, "manifest_id");
    curl_mime_data(p, id, CURL_ZERO_TERMINATED);
    p = curl_mime_addpart(m);
    curl_mime_name(p, "gate");
    curl_mime_data(p, "C4", CURL_ZERO_TERMINATED);
    p = curl_mime_addpart(m);
    curl_mime_name(p, "image");
    curl_mime_filename(p, "capture.jpg");
    curl_mime_type(p, "image/jpeg");
    curl_mime_data(p, (const char *)SRV_ENC.jpg, SRV_ENC.len);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, m);
  } else if (q->body) {
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  CURLcode cc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  char *ct = NULL;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
  snprintf(r->ctype, sizeof r->ctype, "%s", ct ? ct : "");
  if (cc != CURLE_OK) r->status = -(long)cc;
  curl_mime_free(m);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
}

static int ft_err(fg_error *err, int code, const char *msg) {
  err->code = code;
  snprintf(err->msg, sizeof err->msg, "%s", msg);
  return code;
}

/* One request: the expected status, or a problem document saying FG_ENOMEM
 * with status 500 (503 when a worker's border could not be opened). */
static int path_http(void *ctx, fg_error *err) {
  const http_req *q = ctx;
  http_resp r;
  fa_exempt(1); /* this thread is the client; the server's threads are counted */
  http(q, &r);
  int rc = FG_OK;
  if (r.status == q->want) {
    rc = FG_OK;
  } else if ((r.status == 500 || r.status == 503) && strstr(r.ctype, "application/problem+json")) {
    json_t *j = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
    const char *code = json_string_value(json_object_get(j, "code"));
    const char *detail = json_string_value(json_object_get(j, "detail"));
    if (code && !strcmp(code, "FG_ENOMEM") && detail && *detail) rc = ft_err(err, FG_ENOMEM, detail);
    else rc = ft_err(err, FG_EIO, r.body ? r.body : "(no body)");
    json_decref(j);
  } else {
    char what[FG_ERROR_MSG_MAX];
    snprintf(what, sizeof what, "HTTP %ld (%s), not %ld: %.300s", r.status, r.ctype, q->want, r.body ? r.body : "");
    rc = ft_err(err, FG_EIO, what);
  }
  free(r.body);
  /* the server still answers */
  fa_pause(1);
  http_req hz = {.method = "GET", .path = "/healthz", .want = 200};
  http(&hz, &r);
  if (r.status != 200) rc = ft_err(err, FG_EIO, "the server stopped answering");
  free(r.body);
  fa_pause(0);
  fa_exempt(0);
  return rc;
}

static void srv_after_import(void *ctx) {
  (void)ctx;
  free(SRV_IMPORT);
  SRV_IMPORT = manifest_text(++srv_flight);
  ((http_req *)ctx)->body = SRV_IMPORT;
}

static void srv_capture_json(void) {
  char *b64 = base64_of(SRV_ENC.jpg, SRV_ENC.len);
  json_t *j = json_pack("{s:I,s:s,s:s}", "manifest_id", (json_int_t)SRV_ENC.manifest, "gate", "C3",
                        "image_base64", b64);
  free(SRV_CAPTURE);
  SRV_CAPTURE = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  free(b64);
}

static void srv_after_match(void *ctx) {
  SRV_ENC.manifest = stage();
  srv_capture_json();
  ((http_req *)ctx)->body = SRV_CAPTURE;
}

static void test_server(void **state) {
  (void)state;
  if (!B) TU_SKIP("models or sample photos missing (run scripts/setup)");
  fg_error e;
  static const fg_actor LOCAL = {"test", "local", NULL};
  for (int i = 0; i < FG_ROLE_COUNT; i++) {
    char name[32];
    snprintf(name, sizeof name, "%s-faults", ROLES[i]);
    assert_int_equal(fg_api_token_create(B, &LOCAL, name, ROLES[i], TOKENS[i], NULL, &e), FG_OK);
  }
  char web[128], index[160];
  snprintf(web, sizeof web, "%s/web", T.dir);
  snprintf(index, sizeof index, "%s/index.html", web);
  assert_int_equal(mkdir(web, 0700), 0);
  FILE *f = fopen(index, "w");
  assert_non_null(f);
  fputs("<!doctype html><title>facegate</title>\n", f);
  fclose(f);

  fg_server_options o;
  fg_server_options_init(&o);
  o.listen = "127.0.0.1:0";
  o.web_dir = web;
  o.threads = 1; /* one worker: the counted allocations come in one order */
  o.purge_interval = 0;
  o.auth_fail_limit = 1000000;
  border_options(&o.border, T.dir);
  assert_int_equal(fg_server_create(&o, &SRV, &e), FG_OK);

  SRV_ENC.manifest = stage();
  int warm_flight = MAN.flight;
  SRV_ENC.jpg = read_sample(3, &SRV_ENC.len);
  srv_capture_json();
  SRV_IMPORT = manifest_text(++srv_flight);
  /* warm the worker's face engine (loaded on first use) */
  http_req warm = {"warm", "POST", "/v1/encounters", "gate", 201, SRV_CAPTURE, 0, NULL};
  http_resp r;
  http(&warm, &r);
  assert_int_equal(r.status, 201);
  free(r.body);
  SRV_ENC.manifest = stage();
  srv_capture_json();

  char man[64], ref[64], cross[96];
  snprintf(man, sizeof man, "/v1/manifests/%lld", (long long)SRV_ENC.manifest);
  snprintf(ref, sizeof ref, "/v1/referrals/%lld", (long long)ts_int(T.target, "SELECT MAX(id) FROM referrals", 0));
  snprintf(cross, sizeof cross, "/v1/travellers/F%05dP0/crossings", warm_flight);
  static const char *DECIDE = "{\"decision\":\"note\",\"note\":\"checked by hand\"}";
  http_req rq[] = {
      {"http.healthz", "GET", "/healthz", NULL, 200, NULL, 0, NULL},
      {"http.openapi", "GET", "/openapi.json", NULL, 200, NULL, 0, NULL},
      {"http.static", "GET", "/index.html", NULL, 200, NULL, 0, NULL},
      {"http.unknown", "GET", "/v1/nothing", "officer", 404, NULL, 0, NULL},
      {"http.bad_token", "GET", "/v1/manifests", "bad", 401, NULL, 0, NULL},
      {"http.wrong_role", "GET", "/v1/audit", "gate", 403, NULL, 0, NULL},
      {"http.whoami", "GET", "/v1/whoami", "officer", 200, NULL, 0, NULL},
      {"http.metrics", "GET", "/metrics", "admin", 200, NULL, 0, NULL},
      {"http.manifests", "GET", "/v1/manifests", "officer", 200, NULL, 0, NULL},
      {"http.manifest", "GET", man, "officer", 200, NULL, 0, NULL},
      {"http.import", "POST", "/v1/manifests", "supervisor", 201, SRV_IMPORT, 0, srv_after_import},
      {"http.encounter.json", "POST", "/v1/encounters", "gate", 201, SRV_CAPTURE, 0, srv_after_match},
      {"http.encounter.form", "POST", "/v1/encounters", "gate", 201, NULL, 1, srv_after_match},
      {"http.referrals", "GET", "/v1/referrals?status=open", "officer", 200, NULL, 0, NULL},
      {"http.referral", "GET", ref, "officer", 200, NULL, 0, NULL},
      {"http.referral.summary", "GET", "/v1/referrals/summary", "officer", 200, NULL, 0, NULL},
      {"http.decision", "POST", NULL, "officer", 200, DECIDE, 0, NULL},
      {"http.crossings", "GET", cross, "officer", 200, NULL, 0, NULL},
      {"http.overstays", "GET", "/v1/overstays", "officer", 200, NULL, 0, NULL},
      {"http.report", "GET", "/v1/reports/2026-11-27", "auditor", 200, NULL, 0, NULL},
      {"http.audit", "GET", "/v1/audit?after=0&limit=20", "auditor", 200, NULL, 0, NULL},
      {"http.audit.verify", "GET", "/v1/audit/verify", "auditor", 200, NULL, 0, NULL},
      {"http.policy", "GET", "/v1/policy", "admin", 200, NULL, 0, NULL},
      {"http.tokens", "GET", "/v1/tokens", "admin", 200, NULL, 0, NULL},
      {"http.watchlist", "GET", "/v1/watchlist", "supervisor", 200, NULL, 0, NULL},
  };
  char decide[96];
  snprintf(decide, sizeof decide, "%s/decision", ref);
  enum { NRQ = sizeof rq / sizeof *rq };
  ft_path ps[NRQ];
  for (size_t i = 0; i < NRQ; i++) {
    if (!rq[i].path) rq[i].path = decide;
    ps[i] = (ft_path){rq[i].name, path_http, &rq[i], rq[i].after_ok, 0};
  }
  for (size_t i = 0; i < NRQ; i++)
    if (i < 7 || !strcmp(ps[i].name, "http.manifests") || !strcmp(ps[i].name, "http.encounter.form"))
      ps[i].flags = FT_QUICK;
  run_paths(ps, NRQ);
  fg_server_destroy(SRV);
  SRV = NULL;
  free(SRV_ENC.jpg);
  free(SRV_IMPORT);
  free(SRV_CAPTURE);
}

/* Starting and stopping a server (its workers' border handles, the listener). */
static int path_server_start(void *ctx, fg_error *err) {
  (void)ctx;
  fg_server_options o;
  fg_server_options_init(&o);
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  o.purge_interval = 0;
  border_options(&o.border, T.dir);
  fg_server *s;
  int rc = fg_server_create(&o, &s, err);
  if (rc == FG_OK) fg_server_destroy(s);
  return rc;
}

static void test_server_start(void **state) {
  (void)state;
  if (!B) TU_SKIP("models or sample photos missing (run scripts/setup)");
  const ft_path ps[] = {
      {"server.start", path_server_start, NULL, NULL, FT_QUICK},
      {"purge", path_purge, NULL, NULL, FT_QUICK},
  };
  run_paths(ps, sizeof ps / sizeof *ps);
}

int main(void) {
  fa_install();
  const char *m = getenv("FG_FAULTS");
  mode_full = m && !strcmp(m, "full");
  mode_sites = !mode_full;
  mode_quick = !m || !*m;
  only_path = getenv("FG_FAULTS_PATH");
  only_n = getenv("FG_FAULTS_N") ? atoi(getenv("FG_FAULTS_N")) : 0;
  persist = getenv("FG_FAULTS_PERSIST") && atoi(getenv("FG_FAULTS_PERSIST"));
  verbose = getenv("FG_FAULTS_VERBOSE") && atoi(getenv("FG_FAULTS_VERBOSE"));
  if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_images, images_setup, images_teardown),
      cmocka_unit_test(test_nn),
      cmocka_unit_test(test_gallery),
      cmocka_unit_test(test_face),
      cmocka_unit_test_setup_teardown(test_border, border_setup, NULL),
      cmocka_unit_test(test_server_start),
      cmocka_unit_test_teardown(test_server, border_teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
