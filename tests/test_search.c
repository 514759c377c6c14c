/*
 * Search: every SIMD kernel this CPU supports against the scalar reference,
 * for each encoding and for dimensions that are not multiples of 16 or 64;
 * top-k against brute force (with subject max-fusion, ties, thresholds,
 * template mode); identical results for every thread count and batch size;
 * the error of each encoding against exact fp32 cosine.
 *
 * Tolerances: int8 kernels must equal the scalar kernel bit for bit (integer
 * dot products, same final multiplication). fp32 and fp16 kernels sum in a
 * different order, so each score may differ from the scalar one by at most
 * 2 * n * 2^-24 * sum|q_i g_i| (the classic bound for two length-n float sums),
 * with n the padded dimension.
 */
#include <math.h>

#include "testutil.h"

#include "facegate/calibration.h"
#include "facegate/gallery.h"
#include "match/match.h"

/* ---------------------------------------------------------------- helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static float gauss(void) {
  double u = ((rnd() >> 11) + 0.5) / 9007199254740992.0, v = ((rnd() >> 11) + 0.5) / 9007199254740992.0;
  return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}
static void rand_unit(float *x, size_t d) {
  double s = 0;
  for (size_t i = 0; i < d; i++) x[i] = gauss(), s += (double)x[i] * x[i];
  for (size_t i = 0; i < d; i++) x[i] = (float)(x[i] / sqrt(s));
}

static const fg_encoding encs[] = {FG_ENCODING_FP32, FG_ENCODING_FP16, FG_ENCODING_INT8};
static const fg_kernel simd[] = {FG_KERNEL_AVX2, FG_KERNEL_AVX512};

static fg_gallery *make_gallery(uint32_t dim, fg_encoding enc, size_t n, size_t per_subject, float *keep) {
  fg_gallery *g;
  fg_error e;
  assert_int_equal(fg_gallery_create(dim, enc, NULL, &g, &e), FG_OK);
  float *x = malloc(dim * sizeof *x);
  for (size_t t = 0; t < n; t++) {
    char id[32];
    snprintf(id, sizeof id, "s%zu", t / per_subject);
    rand_unit(x, dim);
    if (keep) memcpy(keep + t * dim, x, dim * sizeof *x);
    assert_int_equal(fg_gallery_add(g, id, x, dim, NULL, &e), FG_OK);
  }
  free(x);
  return g;
}

/* Prepared probes as search.c makes them (normalised, quantised, widened). */
typedef struct pbuf {
  float *f;
  int8_t *q;
  uint8_t *u;
  int16_t *w;
  fg__probes p;
} pbuf;

static void make_probes(const fg_gallery *g, const float *x, int nq, pbuf *b) {
  size_t elem = g->enc == FG_ENCODING_FP32 ? 4 : g->enc == FG_ENCODING_FP16 ? 2 : 1;
  size_t pdim = g->row_bytes / elem;
  b->f = calloc(FG_SEARCH_MAX_BATCH * pdim, 4); /* kernels may read all 8 slots (unused: zero) */
  b->q = calloc(FG_SEARCH_MAX_BATCH * pdim, 1);
  b->u = calloc(FG_SEARCH_MAX_BATCH * pdim, 1);
  b->w = calloc(FG_SEARCH_MAX_BATCH * pdim, 2);
  b->p = (fg__probes){.nq = nq, .pdim = pdim, .f32 = b->f, .i8 = b->q, .u8 = b->u, .i16 = b->w};
  for (int j = 0; j < nq; j++) {
    assert_int_equal(fg__normalise(x + (size_t)j * g->dim, g->dim, b->f + (size_t)j * pdim), FG_OK);
    int32_t sum;
    b->p.qscale[j] = fg__quantize_i8(b->f + (size_t)j * pdim, g->dim, b->q + (size_t)j * pdim, &sum);
    for (size_t i = 0; i < pdim; i++) {
      b->u[(size_t)j * pdim + i] = (uint8_t)(b->q[(size_t)j * pdim + i] + 128);
      b->w[(size_t)j * pdim + i] = b->q[(size_t)j * pdim + i];
    }
  }
}

static void free_probes(pbuf *b) { free(b->f), free(b->q), free(b->u), free(b->w); }

/* sum |q_i g_i| over the padded row, for the fp tolerance */
static double abs_dot(const fg_gallery *g, const pbuf *b, int j, size_t r) {
  size_t pdim = b->p.pdim;
  double s = 0;
  for (size_t i = 0; i < pdim; i++) {
    double gv;
    if (g->enc == FG_ENCODING_FP32) gv = ((const float *)(const void *)(g->vec + r * g->row_bytes))[i];
    else {
      uint16_t h;
      memcpy(&h, g->vec + r * g->row_bytes + 2 * i, 2);
      gv = fg__f16_to_f32(h);
    }
    s += fabs(gv * b->f[(size_t)j * pdim + i]);
  }
  return s;
}

/* ---------------------------------------------------------------- kernels */

static void test_kernels_match_scalar(void **state) {
  (void)state;
  static const uint32_t dims[] = {1, 3, 15, 16, 17, 31, 33, 63, 64, 65, 100, 127, 129, 255, 511, 512, 513, 1000};
  int ran = 0;
  for (size_t ki = 0; ki < sizeof simd / sizeof simd[0]; ki++) {
    if (!fg_kernel_supported(simd[ki])) {
      fprintf(stderr, "[  INFO    ] %s kernel not supported by this CPU: not tested\n", fg_kernel_name(simd[ki]));
      continue;
    }
    const fg__kernels *kt = fg__kernels_for(simd[ki]);
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
      for (size_t ei = 0; ei < 3; ei++) {
        uint32_t dim = dims[di];
        size_t n = 37; /* not a multiple of any tile height */
        fg_gallery *g = make_gallery(dim, encs[ei], n, 1, NULL);
        float *x = malloc((size_t)FG_SEARCH_MAX_BATCH * dim * sizeof *x);
        for (int nq = 1; nq <= (int)FG_SEARCH_MAX_BATCH; nq++) {
          for (int j = 0; j < nq; j++) rand_unit(x + (size_t)j * dim, dim);
          pbuf b;
          make_probes(g, x, nq, &b);
          float *ref = malloc(n * (size_t)nq * sizeof *ref), *got = malloc(n * (size_t)nq * sizeof *got);
          fg__kernel_fn(&fg__kernels_scalar, g->enc)(g->vec, g->row_bytes, n, g->tscale, g->tsum, &b.p, ref);
          fg__kernel_fn(kt, g->enc)(g->vec, g->row_bytes, n, g->tscale, g->tsum, &b.p, got);
          for (size_t r = 0; r < n; r++)
            for (int j = 0; j < nq; j++) {
              float a = ref[r * (size_t)nq + (size_t)j], c = got[r * (size_t)nq + (size_t)j];
              if (g->enc == FG_ENCODING_INT8) {
                if (a != c) {
                  print_error("%s int8 dim %u nq %d row %zu probe %d: scalar %.9g simd %.9g\n",
                              fg_kernel_name(simd[ki]), dim, nq, r, j, a, c);
                  fail();
                }
              } else {
                double tol = 2.0 * (double)b.p.pdim * ldexp(1.0, -24) * abs_dot(g, &b, j, r) + 1e-30;
                if (fabs((double)a - c) > tol) {
                  print_error("%s %s dim %u nq %d row %zu probe %d: scalar %.9g simd %.9g (tol %.3g)\n",
                              fg_kernel_name(simd[ki]), fg_encoding_name(g->enc), dim, nq, r, j, a, c, tol);
                  fail();
                }
              }
            }
          free(ref), free(got);
          free_probes(&b);
          ran++;
        }
        free(x);
        fg_gallery_destroy(g);
      }
  }
  if (!ran) TU_SKIP("no SIMD kernel on this CPU: only the scalar path exists here");
}

/* The scalar kernel against double-precision dot products of the stored
 * (decoded) vectors: checks the kernel's indexing, padding and scaling. */
static void test_scalar_vs_decoded(void **state) {
  (void)state;
  for (size_t ei = 0; ei < 3; ei++) {
    uint32_t dim = 77;
    size_t n = 20;
    fg_gallery *g = make_gallery(dim, encs[ei], n, 1, NULL);
    float x[77], dec[77];
    rand_unit(x, dim);
    pbuf b;
    make_probes(g, x, 1, &b);
    float out[20];
    fg__kernels_scalar.f32(g->vec, g->row_bytes, 0, NULL, NULL, &b.p, out); /* nrows 0: no-op */
    fg__kernel_fn(&fg__kernels_scalar, g->enc)(g->vec, g->row_bytes, n, g->tscale, g->tsum, &b.p, out);
    for (size_t r = 0; r < n; r++) {
      assert_int_equal(fg_gallery_template(g, r, NULL, dec), FG_OK);
      double d = 0;
      for (uint32_t i = 0; i < dim; i++) {
        double qv = g->enc == FG_ENCODING_INT8 ? (double)b.q[i] * b.p.qscale[0] : (double)b.f[i];
        d += qv * dec[i];
      }
      assert_true(fabs(d - out[r]) < 1e-5);
    }
    free_probes(&b);
    fg_gallery_destroy(g);
  }
}

/* ---------------------------------------------------------------- top-k */

typedef struct cand {
  float s;
  uint32_t key, tmpl;
} cand;

static int cmp_cand(const void *a, const void *b) {
  const cand *x = a, *y = b;
  if (x->s != y->s) return x->s > y->s ? -1 : 1;
  return x->key < y->key ? -1 : x->key > y->key;
}

/* Brute force from one kernel's scores for every row (the same kernel as the
 * search, so scores compare exactly): subject max (earliest template on ties)
 * or templates. */
static size_t brute(const fg_gallery *g, fg_kernel kern, const float *probe, size_t k, int fused, float thr,
                    cand *out) {
  pbuf b;
  make_probes(g, probe, 1, &b);
  float *sc = malloc(g->n * sizeof *sc);
  fg__kernel_fn(fg__kernels_for(kern), g->enc)(g->vec, g->row_bytes, g->n, g->tscale, g->tsum, &b.p, sc);
  cand *c = malloc((g->n + 1) * sizeof *c);
  size_t m = 0;
  if (fused) {
    cand *best = malloc((g->ns + 1) * sizeof *best);
    char *have = calloc(g->ns + 1, 1);
    for (size_t t = 0; t < g->n; t++) {
      uint32_t s = g->tsubj[t];
      if (s == FG__DEAD) continue;
      if (!have[s] || sc[t] > best[s].s) best[s] = (cand){sc[t], s, (uint32_t)t}, have[s] = 1;
    }
    for (size_t s = 0; s < g->ns; s++)
      if (have[s] && best[s].s >= thr) c[m++] = best[s];
    free(best), free(have);
  } else {
    for (size_t t = 0; t < g->n; t++)
      if (g->tsubj[t] != FG__DEAD && sc[t] >= thr) c[m++] = (cand){sc[t], (uint32_t)t, (uint32_t)t};
  }
  qsort(c, m, sizeof *c, cmp_cand);
  if (m > k) m = k;
  memcpy(out, c, m * sizeof *c);
  free(c), free(sc);
  free_probes(&b);
  return m;
}

static void check_against_brute(fg_gallery *g, const float *probes, size_t np, size_t k, const fg_search_opts *o) {
  fg_match *m = malloc(np * k * sizeof *m);
  size_t *cnt = malloc(np * sizeof *cnt);
  cand *c = malloc(k * sizeof *c);
  fg_error e;
  assert_int_equal(fg_gallery_search(g, probes, np, 0, k, o, m, cnt, &e), FG_OK);
  int fused = !(o->flags & FG_SEARCH_TEMPLATES);
  float thr = (o->flags & FG_SEARCH_THRESHOLD) ? o->threshold : -INFINITY;
  for (size_t i = 0; i < np; i++) {
    size_t nb = brute(g, o->kernel, probes + i * g->dim, k, fused, thr, c);
    assert_int_equal(cnt[i], nb);
    for (size_t r = 0; r < nb; r++) {
      const fg_match *x = &m[i * k + r];
      if ((fused ? x->subject : x->template_index) != c[r].key || x->score != c[r].s || x->template_index != c[r].tmpl) {
        print_error("probe %zu rank %zu: got subject %u template %u score %.9g, want key %u template %u score %.9g\n",
                    i, r, x->subject, x->template_index, x->score, c[r].key, c[r].tmpl, c[r].s);
        fail();
      }
      assert_int_equal(x->subject, g->tsubj[x->template_index]);
    }
  }
  free(m), free(cnt), free(c);
}

static void test_topk_bruteforce(void **state) {
  (void)state;
  for (size_t ei = 0; ei < 3; ei++) {
    uint32_t dim = 48;
    fg_gallery *g = make_gallery(dim, encs[ei], 600, 3, NULL); /* 200 subjects x 3 templates */
    /* remove some so dead slots are skipped */
    fg_error e;
    assert_int_equal(fg_gallery_remove(g, "s7", NULL, &e), FG_OK);
    assert_int_equal(fg_gallery_remove_template(g, 100, &e), FG_OK);
    float probes[10 * 48];
    for (int i = 0; i < 10; i++) rand_unit(probes + i * dim, dim);
    /* a probe equal to a stored template: that subject must come first */
    assert_int_equal(fg_gallery_template(g, 301, NULL, probes), FG_OK);
    size_t ks[] = {1, 5, 17, 199, 300};
    for (size_t ki = 0; ki < 5; ki++)
      for (int mode = 0; mode < 3; mode++) {
        fg_search_opts o = {.kernel = (ki & 1) ? FG_KERNEL_SCALAR : FG_KERNEL_AUTO};
        if (mode == 1) o.flags = FG_SEARCH_TEMPLATES;
        if (mode == 2) o.flags = FG_SEARCH_THRESHOLD, o.threshold = 0.1f;
        check_against_brute(g, probes, 10, ks[ki], &o);
      }
    fg_match m[3];
    size_t cnt;
    assert_int_equal(fg_gallery_search(g, probes, 1, 0, 3, NULL, m, &cnt, &e), FG_OK);
    assert_string_equal(fg_gallery_subject_id(g, m[0].subject, NULL), "s100");
    assert_true(m[0].score > 0.98f);
    fg_gallery_destroy(g);
  }
}

static void test_fusion_is_max(void **state) {
  (void)state;
  /* subject A: one close template among far ones; B: several medium templates. */
  uint32_t dim = 4;
  fg_gallery *g;
  fg_error e;
  assert_int_equal(fg_gallery_create(dim, FG_ENCODING_FP32, NULL, &g, &e), FG_OK);
  float p[4] = {1, 0, 0, 0};
  float a_far[4] = {0, 1, 0, 0}, a_near[4] = {0.95f, 0.3122499f, 0, 0};
  float b_mid[4] = {0.8f, 0.6f, 0, 0};
  assert_int_equal(fg_gallery_add(g, "A", a_far, 4, NULL, &e), FG_OK);
  assert_int_equal(fg_gallery_add(g, "B", b_mid, 4, NULL, &e), FG_OK);
  assert_int_equal(fg_gallery_add(g, "A", a_near, 4, NULL, &e), FG_OK);
  assert_int_equal(fg_gallery_add(g, "B", b_mid, 4, NULL, &e), FG_OK);
  assert_int_equal(fg_gallery_add(g, "A", a_far, 4, NULL, &e), FG_OK);
  fg_match m[2];
  size_t cnt;
  assert_int_equal(fg_gallery_search(g, p, 1, 0, 2, NULL, m, &cnt, &e), FG_OK);
  assert_int_equal(cnt, 2);
  assert_string_equal(fg_gallery_subject_id(g, m[0].subject, NULL), "A");
  assert_int_equal(m[0].template_index, 2);
  assert_float_equal(m[0].score, 0.95f, 1e-6);
  assert_string_equal(fg_gallery_subject_id(g, m[1].subject, NULL), "B");
  assert_int_equal(m[1].template_index, 1); /* equal scores: the earlier template */
  assert_float_equal(m[1].score, 0.8f, 1e-6);
  /* template mode returns both B templates before A's far ones */
  fg_search_opts o = {.flags = FG_SEARCH_TEMPLATES};
  fg_match t[5];
  assert_int_equal(fg_gallery_search(g, p, 1, 0, 5, &o, t, &cnt, &e), FG_OK);
  assert_int_equal(cnt, 5);
  assert_int_equal(t[0].template_index, 2);
  assert_int_equal(t[1].template_index, 1);
  assert_int_equal(t[2].template_index, 3);
  fg_gallery_destroy(g);
}

static void test_ties_deterministic(void **state) {
  (void)state;
  uint32_t dim = 32;
  for (size_t ei = 0; ei < 3; ei++) {
    fg_gallery *g;
    fg_error e;
    assert_int_equal(fg_gallery_create(dim, encs[ei], NULL, &g, &e), FG_OK);
    float x[32];
    rand_unit(x, dim);
    char id[16];
    for (int s = 0; s < 50; s++) { /* 50 subjects with the same vector */
      snprintf(id, sizeof id, "t%02d", s);
      assert_int_equal(fg_gallery_add(g, id, x, dim, NULL, &e), FG_OK);
    }
    for (unsigned batch = 1; batch <= FG_SEARCH_MAX_BATCH; batch++) {
      fg_search_opts o = {.batch = batch};
      fg_match m[10];
      size_t cnt;
      assert_int_equal(fg_gallery_search(g, x, 1, 0, 10, &o, m, &cnt, &e), FG_OK);
      for (uint32_t r = 0; r < 10; r++) assert_int_equal(m[r].subject, r);
    }
    fg_gallery_destroy(g);
  }
}

/* Same answers for every kernel (int8: identical; fp: same ranking where no near-ties),
 * every batch size and thread count; large enough to shard over 3 threads. */
static void test_threads_batches_identical(void **state) {
  (void)state;
  uint32_t dim = 40;
  size_t n = 3 * FG_SEARCH_MIN_SHARD + 123, np = 11, k = 7;
  for (size_t ei = 0; ei < 3; ei++) {
    fg_gallery *g = make_gallery(dim, encs[ei], n, 2, NULL);
    float *probes = malloc(np * dim * sizeof *probes);
    for (size_t i = 0; i < np; i++) rand_unit(probes + i * dim, dim);
    fg_match *ref = malloc(np * k * sizeof *ref), *got = malloc(np * k * sizeof *got);
    size_t rc[11], gc[11];
    fg_error e;
    fg_search_opts o = {.threads = 1, .batch = 1};
    assert_int_equal(fg_gallery_search(g, probes, np, 0, k, &o, ref, rc, &e), FG_OK);
    for (unsigned th = 1; th <= 4; th++)
      for (unsigned batch = 1; batch <= FG_SEARCH_MAX_BATCH; batch += 3) {
        o = (fg_search_opts){.threads = th, .batch = batch};
        assert_int_equal(fg_gallery_search(g, probes, np, 0, k, &o, got, gc, &e), FG_OK);
        for (size_t i = 0; i < np; i++) {
          assert_int_equal(gc[i], rc[i]);
          for (size_t r = 0; r < k; r++) {
            assert_int_equal(got[i * k + r].subject, ref[i * k + r].subject);
            assert_int_equal(got[i * k + r].template_index, ref[i * k + r].template_index);
            assert_true(got[i * k + r].score == ref[i * k + r].score);
          }
        }
      }
    /* scalar path: same top-1 (int8: same everything) */
    o = (fg_search_opts){.kernel = FG_KERNEL_SCALAR, .threads = 2};
    assert_int_equal(fg_gallery_search(g, probes, np, 0, k, &o, got, gc, &e), FG_OK);
    for (size_t i = 0; i < np; i++) {
      assert_int_equal(got[i * k].subject, ref[i * k].subject);
      if (encs[ei] == FG_ENCODING_INT8) assert_true(got[i * k].score == ref[i * k].score);
      else assert_float_equal(got[i * k].score, ref[i * k].score, 1e-5);
    }
    check_against_brute(g, probes, 3, k, &(fg_search_opts){.threads = 3});
    fg_gallery_destroy(g);
    /* a small gallery: threads split the probes; same answers */
    g = make_gallery(dim, encs[ei], 500, 2, NULL);
    o = (fg_search_opts){.threads = 1};
    assert_int_equal(fg_gallery_search(g, probes, np, 0, k, &o, ref, rc, &e), FG_OK);
    for (unsigned th = 2; th <= 5; th++) {
      o = (fg_search_opts){.threads = th, .batch = 2};
      assert_int_equal(fg_gallery_search(g, probes, np, 0, k, &o, got, gc, &e), FG_OK);
      for (size_t i = 0; i < np * k; i++) {
        assert_int_equal(got[i].template_index, ref[i].template_index);
        assert_true(got[i].score == ref[i].score);
      }
    }
    free(probes), free(ref), free(got);
    fg_gallery_destroy(g);
  }
}

/* Each encoding against exact cosine on the original float vectors. */
static void test_encoding_error(void **state) {
  (void)state;
  uint32_t dim = 512;
  size_t n = 200;
  float *orig = malloc(n * dim * sizeof *orig), q[512];
  const double max_err[] = {1e-6, 1e-3, 6e-3};
  for (size_t ei = 0; ei < 3; ei++) {
    fg_gallery *g = make_gallery(dim, encs[ei], n, 1, orig);
    rand_unit(q, dim);
    fg_match m[200];
    size_t cnt;
    fg_search_opts o = {.flags = FG_SEARCH_TEMPLATES};
    assert_int_equal(fg_gallery_search(g, q, 1, 0, n, &o, m, &cnt, NULL), FG_OK);
    assert_int_equal(cnt, n);
    double worst = 0;
    for (size_t r = 0; r < n; r++) {
      double d = 0;
      for (uint32_t i = 0; i < dim; i++) d += (double)q[i] * orig[m[r].template_index * dim + i];
      worst = fmax(worst, fabs(d - m[r].score));
    }
    if (worst > max_err[ei]) {
      print_error("%s: worst error %.3g > %.3g\n", fg_encoding_name(encs[ei]), worst, max_err[ei]);
      fail();
    }
    fg_gallery_destroy(g);
  }
  free(orig);
}

/* Refine: an int8 gallery with fp16 copies answers exactly like an fp16
 * gallery of the same vectors (same kernel for the final scores), where int8
 * alone does not. Near-ties are built in: 24 subjects around one centre, a
 * probe near it, so int8's rounding reorders them; plus 3000 random others. */
static void test_refine_matches_fp16(void **state) {
  (void)state;
  uint32_t dim = 512;
  size_t n = 3024, k = 5;
  fg_gallery *r, *h;
  fg_error e;
  assert_int_equal(fg_gallery_create_ex(dim, FG_ENCODING_INT8, NULL, FG_GALLERY_REFINE, &r, &e), FG_OK);
  assert_int_equal(fg_gallery_create(dim, FG_ENCODING_FP16, NULL, &h, &e), FG_OK);
  float *x = malloc(dim * sizeof *x), *centre = malloc(dim * sizeof *centre), *q = malloc(8 * dim * sizeof *q);
  rand_unit(centre, dim);
  for (size_t t = 0; t < n; t++) {
    char id[32];
    snprintf(id, sizeof id, "s%zu", t % 1500); /* two templates for most subjects: fusion too */
    rand_unit(x, dim);
    if (t < 24)
      for (uint32_t i = 0; i < dim; i++) x[i] = centre[i] + 0.004f * x[i];
    assert_int_equal(fg_gallery_add(r, id, x, dim, NULL, &e), FG_OK);
    assert_int_equal(fg_gallery_add(h, id, x, dim, NULL, &e), FG_OK);
  }
  /* subjects whose two templates are near-tied with each other too: the refined
   * score must be the best of both in fp16, whichever int8 preferred */
  for (int j = 0; j < 40; j++) {
    char id[32];
    snprintf(id, sizeof id, "twin%d", j / 2);
    rand_unit(x, dim);
    for (uint32_t i = 0; i < dim; i++) x[i] = centre[i] + 0.004f * x[i];
    assert_int_equal(fg_gallery_add(r, id, x, dim, NULL, &e), FG_OK);
    assert_int_equal(fg_gallery_add(h, id, x, dim, NULL, &e), FG_OK);
  }
  for (int j = 0; j < 8; j++) {
    rand_unit(x, dim);
    for (uint32_t i = 0; i < dim; i++) q[j * dim + i] = centre[i] + 0.5f * x[i];
  }
  int differs = 0;
  for (unsigned fl = 0; fl <= FG_SEARCH_TEMPLATES; fl += FG_SEARCH_TEMPLATES)
    for (unsigned th = 1; th <= 3; th++) {
      fg_match mr[8 * 5], mh[8 * 5], mi[8 * 5];
      size_t cr[8], ch[8], ci[8];
      fg_search_opts o = {.threads = th, .batch = th, .flags = fl};
      assert_int_equal(fg_gallery_search(r, q, 8, 0, k, &o, mr, cr, &e), FG_OK);
      assert_int_equal(fg_gallery_search(h, q, 8, 0, k, &o, mh, ch, &e), FG_OK);
      o.flags |= FG_SEARCH_NO_REFINE;
      assert_int_equal(fg_gallery_search(r, q, 8, 0, k, &o, mi, ci, &e), FG_OK);
      for (int j = 0; j < 8; j++) {
        assert_int_equal(cr[j], k);
        assert_int_equal(ch[j], k);
        for (size_t i = 0; i < k; i++) {
          assert_int_equal(mr[j * k + i].subject, mh[j * k + i].subject);
          assert_int_equal(mr[j * k + i].template_index, mh[j * k + i].template_index);
          assert_true(mr[j * k + i].score == mh[j * k + i].score);
          differs += mi[j * k + i].template_index != mh[j * k + i].template_index;
        }
      }
    }
  assert_true(differs > 0); /* int8 alone does reorder these near-ties */
  /* a threshold is applied to the refined scores: exactly the fp16 gallery's answer */
  {
    fg_match mr[8 * 5], mh[8 * 5];
    size_t cr[8], ch[8];
    fg_search_opts o = {.flags = FG_SEARCH_THRESHOLD};
    assert_int_equal(fg_gallery_search(h, q, 1, 0, k, NULL, mh, ch, &e), FG_OK);
    o.threshold = mh[2].score; /* between ranks: keeps exactly 3 */
    assert_int_equal(fg_gallery_search(r, q, 1, 0, k, &o, mr, cr, &e), FG_OK);
    assert_int_equal(fg_gallery_search(h, q, 1, 0, k, &o, mh, ch, &e), FG_OK);
    assert_int_equal(cr[0], ch[0]);
    assert_int_equal(cr[0], 3);
  }
  /* refine is for int8 only */
  fg_gallery *bad = NULL;
  assert_int_equal(fg_gallery_create_ex(dim, FG_ENCODING_FP16, NULL, FG_GALLERY_REFINE, &bad, &e), FG_EINVAL);
  assert_null(bad);
  assert_int_equal(fg_gallery_create_ex(dim, FG_ENCODING_INT8, NULL, 0x80, &bad, &e), FG_EINVAL);
  fg_gallery_destroy(r), fg_gallery_destroy(h);
  free(x), free(centre), free(q);
}


/* ---------------------------------------------------------------- IVF index */

/* A clustered gallery: `nc` cluster centres, templates centre + noise, so that
 * k-means has structure to find (as face embeddings do: one cluster per person
 * and pose). Subjects have `per` templates each (fusion). */
static fg_gallery *clustered(uint32_t dim, fg_encoding enc, unsigned flags, size_t n, size_t nc, size_t per,
                             float *centres, float *keep) {
  fg_gallery *g;
  fg_error e;
  assert_int_equal(fg_gallery_create_ex(dim, enc, NULL, flags, &g, &e), FG_OK);
  for (size_t c = 0; c < nc; c++) rand_unit(centres + c * dim, dim);
  float *x = malloc(dim * sizeof *x);
  for (size_t t = 0; t < n; t++) {
    char id[32];
    snprintf(id, sizeof id, "s%zu", t / per);
    rand_unit(x, dim);
    const float *c = centres + (rnd() % nc) * dim;
    for (uint32_t i = 0; i < dim; i++) x[i] = c[i] + 0.6f * x[i];
    if (keep) memcpy(keep + t * dim, x, dim * sizeof *x);
    assert_int_equal(fg_gallery_add(g, id, x, dim, NULL, &e), FG_OK);
  }
  free(x);
  return g;
}

static void same_answers(const fg_gallery *g, const float *q, size_t nq, size_t k, unsigned flags, float thr,
                         unsigned nprobe) {
  fg_match *a = malloc(nq * k * sizeof *a), *b = malloc(nq * k * sizeof *b);
  size_t *ca = malloc(nq * sizeof *ca), *cb = malloc(nq * sizeof *cb);
  fg_error e;
  fg_search_opts oi = {.flags = flags, .threshold = thr, .nprobe = nprobe}, ox = oi;
  ox.flags |= FG_SEARCH_EXACT;
  assert_int_equal(fg_gallery_search(g, q, nq, 0, k, &oi, a, ca, &e), FG_OK);
  assert_int_equal(fg_gallery_search(g, q, nq, 0, k, &ox, b, cb, &e), FG_OK);
  for (size_t j = 0; j < nq; j++) {
    assert_int_equal(ca[j], cb[j]);
    for (size_t i = 0; i < ca[j]; i++) {
      assert_int_equal(a[j * k + i].subject, b[j * k + i].subject);
      assert_int_equal(a[j * k + i].template_index, b[j * k + i].template_index);
      assert_true(a[j * k + i].score == b[j * k + i].score);
    }
  }
  free(a), free(b), free(ca), free(cb);
}

/* Searching every cell gives exactly exact search's answers (subjects,
 * templates, scores, order), whatever the encoding, with fusion, templates
 * and thresholds: the candidates are re-scored with the gallery's own rows. */
static void test_ivf_all_cells_is_exact(void **state) {
  (void)state;
  uint32_t dim = 64;
  size_t n = 6000, nc = 40, nq = 24;
  float *centres = malloc(nc * dim * sizeof *centres), *q = malloc(nq * dim * sizeof *q);
  static const struct { fg_encoding enc; unsigned flags; } kinds[] = {
    {FG_ENCODING_FP32, 0}, {FG_ENCODING_FP16, 0}, {FG_ENCODING_INT8, 0}, {FG_ENCODING_INT8, FG_GALLERY_REFINE}};
  for (size_t kd = 0; kd < sizeof kinds / sizeof *kinds; kd++) {
    fg_gallery *g = clustered(dim, kinds[kd].enc, kinds[kd].flags, n, nc, 2, centres, NULL);
    fg_error e;
    fg_ivf_opts io = {.nlist = 32, .threads = 2};
    assert_int_equal(fg_gallery_ivf_build(g, &io, &e), FG_OK);
    fg_ivf_info in;
    assert_int_equal(fg_gallery_ivf_info(g, &in), FG_OK);
    assert_int_equal(in.nlist, 32);
    assert_int_equal(in.entries, n);
    assert_true(in.largest_cell < n);
    for (size_t j = 0; j < nq; j++) {
      float *x = q + j * dim;
      rand_unit(x, dim);
      const float *c = centres + (j % nc) * dim;
      for (uint32_t i = 0; i < dim; i++) x[i] = c[i] + 0.6f * x[i];
    }
    same_answers(g, q, nq, 1, 0, 0, 32);
    same_answers(g, q, nq, 10, 0, 0, 32);
    same_answers(g, q, nq, 10, FG_SEARCH_TEMPLATES, 0, 32);
    same_answers(g, q, nq, 10, FG_SEARCH_THRESHOLD, 0.45f, 32);
    fg_gallery_destroy(g);
  }
  free(centres), free(q);
}

/* A few cells still find the mate of a probe near its template; the index
 * follows adds, removals and compaction. */
static void test_ivf_recall_and_updates(void **state) {
  (void)state;
  uint32_t dim = 64;
  size_t n = 20000, nc = 200;
  float *centres = malloc(nc * dim * sizeof *centres), *keep = malloc(n * dim * sizeof *keep);
  fg_gallery *g = clustered(dim, FG_ENCODING_FP16, 0, n, nc, 1, centres, keep);
  fg_error e;
  assert_int_equal(fg_gallery_ivf_build(g, &(fg_ivf_opts){.nlist = 128, .nprobe = 8}, &e), FG_OK);
  float *x = malloc(dim * sizeof *x), *noise = malloc(dim * sizeof *noise);
  fg_match m[5];
  size_t cnt, found = 0, tries = 400;
  for (size_t i = 0; i < tries; i++) {
    size_t t = rnd() % n;
    rand_unit(noise, dim);
    for (uint32_t d = 0; d < dim; d++) x[d] = keep[t * dim + d] + 0.15f * noise[d]; /* a mated probe */
    assert_int_equal(fg_gallery_search(g, x, 1, 0, 1, NULL, m, &cnt, &e), FG_OK);
    found += cnt == 1 && m[0].template_index == t;
  }
  assert_true(found >= tries * 99 / 100);
  /* removed subjects never come back; an added one is found at once */
  size_t removed;
  assert_int_equal(fg_gallery_remove(g, "s7", &removed, &e), FG_OK);
  assert_int_equal(removed, 1);
  assert_int_equal(fg_gallery_search(g, keep + 7 * dim, 1, 0, 3, NULL, m, &cnt, &e), FG_OK);
  for (size_t i = 0; i < cnt; i++) assert_int_not_equal(m[i].template_index, 7);
  rand_unit(x, dim);
  size_t t_new;
  assert_int_equal(fg_gallery_add(g, "new", x, dim, &t_new, &e), FG_OK);
  assert_int_equal(fg_gallery_search(g, x, 1, 0, 1, NULL, m, &cnt, &e), FG_OK);
  assert_int_equal(m[0].template_index, t_new);
  fg_ivf_info in;
  assert_int_equal(fg_gallery_ivf_info(g, &in), FG_OK);
  assert_int_equal(in.entries, n);
  /* compaction renumbers templates: the index follows */
  for (int r = 100; r < 200; r++) {
    char id[16];
    snprintf(id, sizeof id, "s%d", r);
    assert_int_equal(fg_gallery_remove(g, id, NULL, &e), FG_OK);
  }
  assert_int_equal(fg_gallery_compact(g, &e), FG_OK);
  assert_int_equal(fg_gallery_ivf_info(g, &in), FG_OK);
  assert_int_equal(in.entries, n - 100);
  uint32_t s_new;
  assert_int_equal(fg_gallery_find_subject(g, "new", &s_new), FG_OK);
  assert_int_equal(fg_gallery_search(g, x, 1, 0, 1, NULL, m, &cnt, &e), FG_OK);
  assert_int_equal(m[0].subject, s_new);
  assert_int_equal(fg_gallery_search(g, keep + 500 * dim, 1, 0, 1, NULL, m, &cnt, &e), FG_OK);
  assert_string_equal(fg_gallery_subject_id(g, m[0].subject, NULL), "s500");
  same_answers(g, keep + 1000 * dim, 8, 5, 0, 0, 128);
  /* dropping it goes back to the scan; errors */
  fg_gallery_index_drop(g);
  assert_int_equal(fg_gallery_ivf_info(g, &in), FG_ENOTFOUND);
  assert_int_equal(fg_gallery_ivf_build(g, &(fg_ivf_opts){.nlist = 70000}, &e), FG_EINVAL);
  fg_gallery *empty;
  assert_int_equal(fg_gallery_create(dim, FG_ENCODING_FP16, NULL, &empty, &e), FG_OK);
  assert_int_equal(fg_gallery_ivf_build(empty, NULL, &e), FG_EINVAL);
  fg_gallery_destroy(empty);
  fg_gallery_destroy(g);
  free(centres), free(keep), free(x), free(noise);
}

/* The AVX-512 sketch kernels equal their scalar twins bit for bit: Hamming
 * distances of random 32-byte codes (0 and 256 included) for every row count
 * up to 40, and the selection of distances <= a cut for every cut. */
static void test_sketch_kernels(void **state) {
  (void)state;
#ifdef FG__HAVE_X86
  if (fg__sketch_best() == &fg__sketch_scalar) TU_SKIP("no AVX-512 VPOPCNTDQ on this CPU");
  uint8_t *codes = NULL, *probe = NULL;
  assert_int_equal(posix_memalign((void **)&codes, 64, 40 * 32), 0);
  assert_int_equal(posix_memalign((void **)&probe, 64, 32), 0);
  for (size_t i = 0; i < 40 * 32; i++) codes[i] = (uint8_t)rnd();
  for (size_t i = 0; i < 32; i++) probe[i] = (uint8_t)rnd();
  memcpy(codes + 3 * 32, probe, 32);
  for (size_t i = 0; i < 32; i++) codes[5 * 32 + i] = (uint8_t)~probe[i];
  for (size_t n = 1; n <= 40; n++) {
    uint16_t a[40], b[40];
    fg__sketch_scalar.ham32(codes, n, probe, a);
    fg__sketch_avx512.ham32(codes, n, probe, b);
    assert_memory_equal(a, b, n * sizeof *a);
    if (n > 5) assert_int_equal(a[3], 0), assert_int_equal(a[5], 256);
  }
  uint16_t d[1000];
  uint32_t ia[1000], ib[1000];
  for (int i = 0; i < 1000; i++) d[i] = (uint16_t)(rnd() % 257);
  for (unsigned cut = 0; cut <= 256; cut += 3) {
    size_t na = fg__sketch_scalar.select_le(d, 1000, (uint16_t)cut, ia), nb = fg__sketch_avx512.select_le(d, 1000, (uint16_t)cut, ib);
    assert_int_equal(na, nb);
    assert_memory_equal(ia, ib, na * sizeof *ia);
  }
  free(codes), free(probe);
#else
  TU_SKIP("not an x86 build");
#endif
}

/* The sketch index: with every template a candidate it is exact search; with
 * a few it still finds mates near their templates; Hamming distance tracks
 * the angle; it follows adds, removals and compaction. */
static void test_sketch_index(void **state) {
  (void)state;
  uint32_t dim = 128;
  size_t n = 20000, nc = 200;
  float *centres = malloc(nc * dim * sizeof *centres), *keep = malloc(n * dim * sizeof *keep), *q = malloc(16 * dim * sizeof *q);
  static const struct { fg_encoding enc; unsigned flags; } kinds[] = {
    {FG_ENCODING_FP32, 0}, {FG_ENCODING_FP16, 0}, {FG_ENCODING_INT8, 0}, {FG_ENCODING_INT8, FG_GALLERY_REFINE}};
  fg_error e;
  for (size_t kd = 0; kd < sizeof kinds / sizeof *kinds; kd++) {
    fg_gallery *g = clustered(dim, kinds[kd].enc, kinds[kd].flags, 3000, 30, 2, centres, NULL);
    assert_int_equal(fg_gallery_sketch_build(g, &(fg_sketch_opts){.candidates = 3000}, &e), FG_OK);
    for (size_t j = 0; j < 16; j++) {
      rand_unit(q + j * dim, dim);
      for (uint32_t i = 0; i < dim; i++) q[j * dim + i] += centres[(j % 30) * dim + i];
    }
    same_answers(g, q, 16, 10, 0, 0, 0);
    same_answers(g, q, 16, 10, FG_SEARCH_TEMPLATES, 0, 0);
    same_answers(g, q, 16, 10, FG_SEARCH_THRESHOLD, 0.45f, 0);
    fg_gallery_destroy(g);
  }
  fg_gallery *g = clustered(dim, FG_ENCODING_FP16, 0, n, nc, 1, centres, keep);
  assert_int_equal(fg_gallery_sketch_build(g, NULL, &e), FG_OK);
  fg_sketch_info si;
  assert_int_equal(fg_gallery_sketch_info(g, &si), FG_OK);
  assert_int_equal(si.bits, 256); /* 128 outputs, zero-padded to the 256-bit unit */
  assert_int_equal(si.candidates, 256);
  assert_int_equal(si.entries, n);
  float *x = malloc(dim * sizeof *x), *noise = malloc(dim * sizeof *noise);
  fg_match m[5];
  size_t cnt, found = 0, tries = 300;
  for (size_t i = 0; i < tries; i++) {
    size_t t = rnd() % n;
    rand_unit(noise, dim);
    for (uint32_t d = 0; d < dim; d++) x[d] = keep[t * dim + d] + 0.3f * noise[d];
    assert_int_equal(fg_gallery_search(g, x, 1, 0, 1, NULL, m, &cnt, &e), FG_OK);
    found += cnt == 1 && m[0].template_index == t;
  }
  assert_true(found >= tries * 99 / 100);
  /* a threshold: every template exact search finds at or above it is found */
  for (size_t j = 0; j < 16; j++) {
    size_t t = rnd() % n;
    rand_unit(noise, dim);
    for (uint32_t d = 0; d < dim; d++) q[j * dim + d] = keep[t * dim + d] + 0.9f * noise[d];
  }
  same_answers(g, q, 16, 5, FG_SEARCH_THRESHOLD, 0.5f, 0);
  /* updates */
  assert_int_equal(fg_gallery_remove(g, "s11", NULL, &e), FG_OK);
  assert_int_equal(fg_gallery_search(g, keep + 11 * dim, 1, 0, 3, NULL, m, &cnt, &e), FG_OK);
  for (size_t i = 0; i < cnt; i++) assert_int_not_equal(m[i].template_index, 11);
  rand_unit(x, dim);
  size_t t_new;
  assert_int_equal(fg_gallery_add(g, "new", x, dim, &t_new, &e), FG_OK);
  assert_int_equal(fg_gallery_search(g, x, 1, 0, 1, NULL, m, &cnt, &e), FG_OK);
  assert_int_equal(m[0].template_index, t_new);
  for (int r = 100; r < 300; r++) {
    char id[16];
    snprintf(id, sizeof id, "s%d", r);
    assert_int_equal(fg_gallery_remove(g, id, NULL, &e), FG_OK);
  }
  assert_int_equal(fg_gallery_compact(g, &e), FG_OK);
  assert_int_equal(fg_gallery_sketch_info(g, &si), FG_OK);
  assert_int_equal(si.entries, n - 200);
  assert_int_equal(fg_gallery_search(g, x, 1, 0, 1, NULL, m, &cnt, &e), FG_OK);
  assert_string_equal(fg_gallery_subject_id(g, m[0].subject, NULL), "new");
  assert_int_equal(fg_gallery_search(g, keep + 700 * dim, 1, 0, 1, NULL, m, &cnt, &e), FG_OK);
  assert_string_equal(fg_gallery_subject_id(g, m[0].subject, NULL), "s700");
  /* one index at a time: building the IVF drops the sketches */
  assert_int_equal(fg_gallery_ivf_build(g, &(fg_ivf_opts){.nlist = 16}, &e), FG_OK);
  assert_int_equal(fg_gallery_sketch_info(g, &si), FG_ENOTFOUND);
  fg_gallery_destroy(g);
  free(centres), free(keep), free(q), free(x), free(noise);
}

static void test_search_errors(void **state) {
  (void)state;
  fg_gallery *g = make_gallery(8, FG_ENCODING_INT8, 5, 1, NULL);
  float z[8] = {0}, q[8] = {1, 0, 0, 0, 0, 0, 0, 0};
  fg_match m[4];
  size_t cnt[2];
  fg_error e;
  assert_int_equal(fg_gallery_search(g, z, 1, 0, 3, NULL, m, cnt, &e), FG_EINVAL);
  assert_int_equal(fg_gallery_search(g, q, 1, 0, 0, NULL, m, cnt, &e), FG_EINVAL);
  assert_int_equal(fg_gallery_search(g, q, 1, 4, 3, NULL, m, cnt, &e), FG_EINVAL); /* stride < dim */
  fg_search_opts o = {.batch = FG_SEARCH_MAX_BATCH + 1};
  assert_int_equal(fg_gallery_search(g, q, 1, 0, 3, &o, m, cnt, &e), FG_EINVAL);
  /* k larger than the gallery: all subjects */
  assert_int_equal(fg_gallery_search(g, q, 1, 0, 4, NULL, m, cnt, &e), FG_OK);
  assert_int_equal(cnt[0], 4);
  /* empty gallery: no matches */
  fg_gallery *h;
  assert_int_equal(fg_gallery_create(8, FG_ENCODING_FP16, NULL, &h, &e), FG_OK);
  assert_int_equal(fg_gallery_search(h, q, 1, 0, 3, NULL, m, cnt, &e), FG_OK);
  assert_int_equal(cnt[0], 0);
  fg_gallery_destroy(h);
  fg_gallery_destroy(g);
  assert_string_equal(fg_kernel_name(fg_kernel_best()), fg_kernel_name(fg_kernel_best()));
  assert_true(fg_kernel_supported(FG_KERNEL_SCALAR));
}

static void test_fpir_calibration(void **state) {
  (void)state;
  static const char js[] =
      "{\"model_sha256\": \"87aacdfe57510dbdb88ec8f8b0f122fbe5b61ab98\", \"method\": \"x \\\"y\\\"\",\n"
      " \"extra\": {\"a\": [1, 2, {\"b\": null}], \"c\": true},\n"
      " \"gallery_sizes\": [1000, 100], \"fpir\": [0.001, 0.01, 0.1],\n"
      " \"thresholds\": [[0.50, 0.45, 0.40], [0.40, 0.35, 0.30]]}";
  fg_fpir_calibration c;
  fg_error e;
  assert_int_equal(fg_fpir_calibration_parse(js, strlen(js), &c, &e), FG_OK);
  assert_int_equal(c.n_sizes, 2);
  assert_true(c.size[0] == 100 && c.size[1] == 1000);    /* sorted ascending */
  assert_true(c.fpir[0] == 0.1 && c.fpir[2] == 0.001);  /* descending */
  assert_true(c.threshold[0][0] == 0.30 && c.threshold[1][2] == 0.50);
  double t;
  assert_int_equal(fg_fpir_threshold(&c, "87aacdfe57510dbd", 100, 0.01, &t, &e), FG_OK);
  assert_float_equal(t, 0.35, 1e-12);
  /* log-log interpolation: halfway in log N and in log F */
  assert_int_equal(fg_fpir_threshold(&c, NULL, 316, sqrt(0.01 * 0.001), &t, &e), FG_OK);
  assert_float_equal(t, 0.5 * (0.375 + 0.475), 2e-3);
  /* beyond the largest size: 1 - (1 - F)^(1/N) per comparison, so 10x the size at the same FPIR
   * needs the largest row's threshold at about FPIR / 10 */
  assert_int_equal(fg_fpir_threshold(&c, NULL, 10000, 0.01, &t, &e), FG_OK);
  assert_float_equal(t, 0.50, 2e-3);
  assert_int_equal(fg_fpir_threshold(&c, NULL, 100000, 0.01, &t, &e), FG_ELIMIT);
  /* below the smallest size, likewise from the smallest row: 10 subjects at FPIR 0.01 ~ 100 at 0.1 */
  assert_int_equal(fg_fpir_threshold(&c, NULL, 10, 0.01, &t, &e), FG_OK);
  assert_float_equal(t, 0.30, 3e-3);
  assert_int_equal(fg_fpir_threshold(&c, NULL, 10, 0.1, &t, &e), FG_ELIMIT);
  assert_int_equal(fg_fpir_threshold(&c, NULL, 100, 0.5, &t, &e), FG_ELIMIT);
  assert_int_equal(fg_fpir_threshold(&c, "6c0256ccd3164f84", 100, 0.01, &t, &e), FG_EINVAL);
  static const char *bad[] = {"", "[]", "{\"fpir\": [0.1]}",
                              ("{\"gallery_sizes\": [1], \"fpir\": [0.1], "
                               "\"thresholds\": [[0.1, 0.2]]}"),
                              "{\"gallery_sizes\": [1], \"fpir\": [2], \"thresholds\": [[0.1]]}",
                              "{\"gallery_sizes\": [1], \"fpir\": [0.1], \"thresholds\": [[0.1]]} x",
                              "{\"a\": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}", "{\"a\": \"unterminated}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(fg_fpir_calibration_parse(bad[i], strlen(bad[i]), &c, &e), FG_EFORMAT);
}

/* Producing an FPIR calibration: the threshold of a set of non-mated scores, and
 * a file written by fg_fpir_calibration_write reads back the same. */
static void test_fpir_calibration_write(void **state) {
  (void)state;
  float scores[1000];
  for (int i = 0; i < 1000; i++) scores[i] = (float)((i * 7919) % 1000) / 1000.0f; /* 0.000..0.999 */
  /* at most 10 of 1000 at or above: the 11th highest is 0.989, so the threshold is just above it */
  double t = fg_fpir_threshold_of(scores, 1000, 0.01);
  assert_true(t > 0.989 && t < 0.98901);
  size_t above = 0;
  for (int i = 0; i < 1000; i++) above += scores[i] >= t;
  assert_int_equal(above, 10);
  assert_true(isinf(fg_fpir_threshold_of(scores, 10, 1.0)));

  fg_fpir_calibration c = {.n_sizes = 2, .n_fpir = 2};
  snprintf(c.model_sha256, sizeof c.model_sha256, "%s",
           "87aacdfe57510dbd0000000000000000000000000000000000000000000000ff");
  c.size[0] = 100, c.size[1] = 1000, c.fpir[0] = 0.01, c.fpir[1] = 0.001;
  c.threshold[0][0] = 0.41, c.threshold[0][1] = 0.47, c.threshold[1][0] = 0.45, c.threshold[1][1] = 0.5;
  char dir[] = "/tmp/fg-fpir-XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/fpir.json", dir);
  size_t searches[2] = {60000, 61000};
  fg_error e;
  assert_int_equal(fg_fpir_calibration_write(path, &c, "test", searches, &e), FG_OK);
  fg_fpir_calibration r;
  assert_int_equal(fg_fpir_calibration_load(path, &r, &e), FG_OK);
  assert_string_equal(r.model_sha256, c.model_sha256);
  assert_int_equal(r.n_sizes, 2);
  assert_int_equal(r.n_fpir, 2);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) assert_true(fabs(r.threshold[i][j] - c.threshold[i][j]) < 1e-9);
  double a, b;
  assert_int_equal(fg_fpir_threshold(&c, NULL, 420, 0.003, &a, &e), FG_OK);
  assert_int_equal(fg_fpir_threshold(&r, NULL, 420, 0.003, &b, &e), FG_OK);
  assert_true(fabs(a - b) < 1e-9);
  /* an unwritable place: a clear error, no file left behind */
  char bad[96];
  snprintf(bad, sizeof bad, "%s/missing/fpir.json", dir);
  assert_int_equal(fg_fpir_calibration_write(bad, &c, "test", NULL, &e), FG_EIO);
  assert_non_null(strstr(e.msg, bad));
  fg_fpir_calibration empty = {0};
  assert_int_equal(fg_fpir_calibration_write(path, &empty, NULL, NULL, &e), FG_EINVAL);
  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kernels_match_scalar),
      cmocka_unit_test(test_scalar_vs_decoded),
      cmocka_unit_test(test_topk_bruteforce),
      cmocka_unit_test(test_fusion_is_max),
      cmocka_unit_test(test_ties_deterministic),
      cmocka_unit_test(test_threads_batches_identical),
      cmocka_unit_test(test_encoding_error),
      cmocka_unit_test(test_refine_matches_fp16),
      cmocka_unit_test(test_ivf_all_cells_is_exact),
      cmocka_unit_test(test_ivf_recall_and_updates),
      cmocka_unit_test(test_sketch_kernels),
      cmocka_unit_test(test_sketch_index),
      cmocka_unit_test(test_search_errors),
      cmocka_unit_test(test_fpir_calibration),
      cmocka_unit_test(test_fpir_calibration_write),
  };
  fprintf(stderr, "[  INFO    ] best kernel on this CPU: %s\n", fg_kernel_name(fg_kernel_best()));
  return cmocka_run_group_tests(tests, NULL, NULL);
}
