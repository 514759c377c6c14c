/*
 * EF.DG2 tests: a DG2 built around a real face photo (JPEG, and JPEG 2000 as
 * chips often carry) read back field by field and decoded to the same pixels
 * as the bare image; multi-face / multi-instance files assembled by hand; and
 * hostile files: every truncation, bad long-form lengths, children longer than
 * their parent, inconsistent facial-record lengths and counts, byte flips, and
 * the fuzz-found inputs kept under tests/fixtures/fuzz-regress/.
 */
#include <dirent.h>

#include <openjpeg.h>
#include <turbojpeg.h>

#include "facegate/dg2.h"
#include "facegate/image.h"
#include "image/image_internal.h"
#include "testutil.h"

/* ---- growable byte buffer and TLV assembly ---------------------------------------- */

/* With FACEGATE_SEED_DIR set, inputs made here are also written there: this is
 * how fuzz/corpus/fuzz_image and fuzz/corpus/fuzz_dg2 were seeded. */
static void seed(const char *name, const uint8_t *b, size_t n) {
  const char *d = getenv("FACEGATE_SEED_DIR");
  if (!d || !*d) return;
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", d, name);
  FILE *f = fopen(p, "wb");
  if (!f) return;
  fwrite(b, 1, n, f);
  fclose(f);
}

typedef struct bb {
  uint8_t *p;
  size_t n, cap;
} bb;

static void bb_put(bb *b, const void *d, size_t n) {
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n) cap *= 2;
    b->p = realloc(b->p, cap);
    assert_non_null(b->p);
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, d, n);
  b->n += n;
}
static void bb_u8(bb *b, unsigned v) {
  uint8_t x = (uint8_t)v;
  bb_put(b, &x, 1);
}
static void bb_u16(bb *b, unsigned v) {
  bb_u8(b, v >> 8);
  bb_u8(b, v);
}
static void bb_u32(bb *b, uint32_t v) {
  bb_u16(b, v >> 16);
  bb_u16(b, v & 0xFFFF);
}
static void bb_tag(bb *b, uint32_t tag) {
  if (tag > 0xFFFF) bb_u8(b, tag >> 16);
  if (tag > 0xFF) bb_u8(b, tag >> 8);
  bb_u8(b, tag);
}
static void bb_len(bb *b, size_t n) {
  if (n < 0x80) bb_u8(b, (unsigned)n);
  else if (n <= 0xFF) { bb_u8(b, 0x81); bb_u8(b, (unsigned)n); }
  else if (n <= 0xFFFF) { bb_u8(b, 0x82); bb_u16(b, (unsigned)n); }
  else { bb_u8(b, 0x83); bb_u8(b, (unsigned)(n >> 16)); bb_u16(b, (unsigned)(n & 0xFFFF)); }
}
/* tag, minimal length, value; frees the value buffer */
static void bb_tlv(bb *b, uint32_t tag, bb *val) {
  bb_tag(b, tag);
  bb_len(b, val->n);
  bb_put(b, val->p, val->n);
  free(val->p);
  memset(val, 0, sizeof *val);
}

/* One 19794-5 face block: 20-byte info, npts points, 12-byte image info, image. */
static void face_block(bb *b, uint8_t gender, unsigned npts, const uint8_t *img, size_t n) {
  bb_u32(b, (uint32_t)(20 + 8 * npts + 12 + n));
  bb_u16(b, npts);
  bb_u8(b, gender);
  bb_u8(b, FG_DG2_EYE_BLUE);
  bb_u8(b, FG_DG2_HAIR_BROWN);
  bb_u8(b, 0); bb_u8(b, 0); bb_u8(b, 1);   /* mask */
  bb_u16(b, FG_DG2_EXPR_NEUTRAL);
  bb_u8(b, 91); bb_u8(b, 91); bb_u8(b, 91); /* pose 0,0,0 */
  bb_u8(b, 0); bb_u8(b, 0); bb_u8(b, 0);
  for (unsigned k = 0; k < npts; k++) {
    bb_u8(b, 1); bb_u8(b, 0x31); bb_u16(b, 10 + k); bb_u16(b, 20 + k); bb_u16(b, 0);
  }
  bb_u8(b, 1); bb_u8(b, 0); bb_u16(b, 32); bb_u16(b, 32);
  bb_u8(b, 1); bb_u8(b, 2); bb_u16(b, 0); bb_u16(b, 0);
  bb_put(b, img, n);
}

static void record_header(bb *b, uint32_t rec_len, unsigned nfaces) {
  bb_put(b, "FAC\0", 4);
  bb_put(b, "010\0", 4);
  bb_u32(b, rec_len);
  bb_u16(b, nfaces);
}

/* A facial record holding `nfaces` copies of img. */
static void facial_record(bb *b, unsigned nfaces, const uint8_t *img, size_t n) {
  bb faces = {0};
  for (unsigned i = 0; i < nfaces; i++) face_block(&faces, (uint8_t)(1 + i % 2), i, img, n);
  record_header(b, (uint32_t)(14 + faces.n), nfaces);
  bb_put(b, faces.p, faces.n);
  free(faces.p);
}

static void std_header(bb *b, unsigned fmt_type) {
  bb h = {0};
  static const uint8_t v[] = {0x80, 2, 1, 1, 0x81, 1, 2, 0x87, 2, 1, 1};
  bb_put(&h, v, sizeof v);
  bb_u8(&h, 0x88); bb_u8(&h, 2); bb_u16(&h, fmt_type);
  bb_tlv(b, 0xA1, &h);
}

/* 7F60 { A1, <bdb_tag> record } */
static void bit(bb *b, uint32_t bdb_tag, unsigned fmt_type, bb *record) {
  bb t = {0};
  std_header(&t, fmt_type);
  bb_tlv(&t, bdb_tag, record);
  bb_tlv(b, 0x7F60, &t);
}

/* 75 { 7F61 { 02 count, bits... } } with bits already assembled */
static void dg2_wrap(bb *out, unsigned count, bb *bits) {
  bb g = {0}, top = {0};
  bb_u8(&g, 0x02); bb_u8(&g, 1); bb_u8(&g, count);
  bb_put(&g, bits->p, bits->n);
  free(bits->p);
  memset(bits, 0, sizeof *bits);
  bb_tlv(&top, 0x7F61, &g);
  bb_tlv(out, 0x75, &top);
}

/* ---- a real face photo ---------------------------------------------------------------- */

/* A face JPEG of a few KB: an LFW image as stored, else sample1 shrunk and re-encoded. */
static uint8_t *face_jpeg(size_t *len) {
  char p[1024];
  snprintf(p, sizeof p, "%s/lfw-deepfunneled/Aaron_Eckhart/Aaron_Eckhart_0001.jpg", tu_lfw_dir());
  if (tu_exists(p)) return tu_read(p, len);
  tu_path(p, sizeof p, tu_samples_dir(), "sample1.jpg");
  if (!tu_exists(p)) return NULL;
  size_t n;
  uint8_t *b = tu_read(p, &n);
  fg_image full, small;
  fg_error e;
  assert_int_equal(fg_image_decode(b, n, NULL, &full, &e), FG_OK);
  assert_int_equal(fg_image_resize_area(&full, 240, 160, &small, &e), FG_OK);
  tjhandle tj = tjInitCompress();
  unsigned char *o = NULL;
  unsigned long on = 0;
  assert_int_equal(tjCompress2(tj, small.data, 240, 0, 160, TJPF_RGB, &o, &on, TJSAMP_420, 85, 0), 0);
  tjDestroy(tj);
  uint8_t *r = malloc(on);
  memcpy(r, o, on);
  *len = on;
  tjFree(o);
  fg_image_release(&small);
  fg_image_release(&full);
  free(b);
  return r;
}

#define NEED_FACE(buf, len)                                                                \
  size_t len;                                                                                \
  uint8_t *buf = face_jpeg(&len);                                                            \
  if (!buf) TU_SKIP("no face photo: neither LFW nor %s/sample1.jpg present", tu_samples_dir())

/* Lossless JPEG 2000 codestream of img (OpenJPEG, test side). */
typedef struct jw {
  uint8_t *p;
  size_t len, cap, pos;
} jw;
static OPJ_SIZE_T jw_write(void *d, OPJ_SIZE_T n, void *ud) {
  jw *m = ud;
  if (m->pos + n > m->cap) {
    m->cap = (m->pos + n) * 2;
    m->p = realloc(m->p, m->cap);
  }
  memcpy(m->p + m->pos, d, n);
  m->pos += n;
  if (m->pos > m->len) m->len = m->pos;
  return n;
}
static OPJ_OFF_T jw_skip(OPJ_OFF_T n, void *ud) {
  jw *m = ud;
  m->pos += (size_t)n;
  return n;
}
static OPJ_BOOL jw_seek(OPJ_OFF_T off, void *ud) {
  ((jw *)ud)->pos = (size_t)off;
  return OPJ_TRUE;
}
static uint8_t *j2k_of(const fg_image *img, int jp2, size_t *len) {
  opj_image_cmptparm_t cp[3];
  memset(cp, 0, sizeof cp);
  for (int i = 0; i < 3; i++) {
    cp[i].dx = cp[i].dy = 1;
    cp[i].w = (OPJ_UINT32)img->width;
    cp[i].h = (OPJ_UINT32)img->height;
    cp[i].prec = 8;
  }
  opj_image_t *im = opj_image_create(3, cp, OPJ_CLRSPC_SRGB);
  im->x1 = (OPJ_UINT32)img->width;
  im->y1 = (OPJ_UINT32)img->height;
  for (int i = 0; i < 3; i++)
    for (size_t k = 0; k < (size_t)img->width * img->height; k++)
      im->comps[i].data[k] = img->data[k * 3 + i];
  opj_cparameters_t p;
  opj_set_default_encoder_parameters(&p);
  p.tcp_numlayers = 1;
  p.tcp_rates[0] = 0;
  p.cp_disto_alloc = 1;
  p.numresolution = 4;
  p.tcp_mct = 1;
  opj_codec_t *c = opj_create_compress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  assert_true(opj_setup_encoder(c, &p, im));
  jw m = {0};
  opj_stream_t *st = opj_stream_create(1 << 16, OPJ_FALSE);
  opj_stream_set_user_data(st, &m, NULL);
  opj_stream_set_write_function(st, jw_write);
  opj_stream_set_skip_function(st, jw_skip);
  opj_stream_set_seek_function(st, jw_seek);
  assert_true(opj_start_compress(c, im, st) && opj_encode(c, st) && opj_end_compress(c, st));
  opj_stream_destroy(st);
  opj_destroy_codec(c);
  opj_image_destroy(im);
  *len = m.len;
  return m.p;
}

/* ---- round trips ------------------------------------------------------------------------- */

static void test_round_trip_jpeg(void **state) {
  (void)state;
  NEED_FACE(jpg, jlen);
  fg_error e;
  fg_dg2_feature_point pts[3] = {{1, 0x31, 100, 120}, {1, 0x32, 150, 121}, {2, 0x11, 125, 200}};
  fg_dg2_face_meta m = {0};
  m.gender = FG_DG2_GENDER_FEMALE;
  m.eye_colour = FG_DG2_EYE_BROWN;
  m.hair_colour = FG_DG2_HAIR_BLACK;
  m.feature_mask = 0x000003;
  m.expression = FG_DG2_EXPR_NEUTRAL;
  m.pose[0] = fg_dg2_angle_from_deg(10);
  m.pose[1] = fg_dg2_angle_from_deg(-4);
  m.pose[2] = fg_dg2_angle_from_deg(2);
  m.pose_uncertainty[0] = 3;
  m.image_type = FG_DG2_FACE_FULL_FRONTAL;
  m.image_data_type = FG_DG2_IMAGE_JPEG2000; /* wrong on purpose: the builder uses the magic */
  m.colour_space = FG_DG2_COLOUR_RGB24;
  m.source_type = 2;
  m.device_type = 0x1234;
  m.quality = 77;
  m.n_feature_points = 3;
  m.feature_points = pts;
  uint8_t *dg;
  size_t dl;
  assert_int_equal(fg_dg2_build(jpg, jlen, &m, &dg, &dl, &e), FG_OK);
  assert_true(fg_image_is_dg2(dg, dl));
  seed("face-jpeg.dg2", dg, dl);
  assert_false(fg_image_is_dg2(jpg, jlen));
  assert_int_equal(fg_image_sniff(dg, dl), FG_IMAGE_FORMAT_DG2);

  fg_dg2 *d;
  assert_int_equal(fg_dg2_parse(dg, dl, &d, &e), FG_OK);
  assert_int_equal(fg_dg2_face_count(d), 1);
  assert_null(fg_dg2_face_at(d, 1));
  const fg_dg2_face *f = fg_dg2_face_at(d, 0);
  assert_non_null(f);
  assert_int_equal(f->instance, 0);
  assert_int_equal(f->meta.gender, FG_DG2_GENDER_FEMALE);
  assert_int_equal(f->meta.eye_colour, FG_DG2_EYE_BROWN);
  assert_int_equal(f->meta.hair_colour, FG_DG2_HAIR_BLACK);
  assert_int_equal(f->meta.feature_mask, 3);
  assert_int_equal(f->meta.expression, FG_DG2_EXPR_NEUTRAL);
  int deg;
  assert_int_equal(fg_dg2_angle_to_deg(f->meta.pose[0], &deg), FG_OK);
  assert_int_equal(deg, 10);
  assert_int_equal(fg_dg2_angle_to_deg(f->meta.pose[1], &deg), FG_OK);
  assert_int_equal(deg, -4);
  assert_int_equal(fg_dg2_angle_to_deg(f->meta.pose[2], &deg), FG_OK);
  assert_int_equal(deg, 2);
  assert_int_equal(f->meta.pose_uncertainty[0], 3);
  assert_int_equal(f->meta.image_type, FG_DG2_FACE_FULL_FRONTAL);
  assert_int_equal(f->meta.image_data_type, FG_DG2_IMAGE_JPEG);
  assert_int_equal(f->meta.colour_space, FG_DG2_COLOUR_RGB24);
  assert_int_equal(f->meta.source_type, 2);
  assert_int_equal(f->meta.device_type, 0x1234);
  assert_int_equal(f->meta.quality, 77);
  assert_int_equal(f->meta.n_feature_points, 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(f->meta.feature_points[i].type, pts[i].type);
    assert_int_equal(f->meta.feature_points[i].code, pts[i].code);
    assert_int_equal(f->meta.feature_points[i].x, pts[i].x);
    assert_int_equal(f->meta.feature_points[i].y, pts[i].y);
  }
  /* width/height were 0 in meta: taken from the JPEG header */
  fg_image direct;
  assert_int_equal(fg_image_decode(jpg, jlen, NULL, &direct, &e), FG_OK);
  assert_int_equal(f->meta.width, direct.width);
  assert_int_equal(f->meta.height, direct.height);
  /* header template */
  const unsigned want = FG_DG2_HDR_VERSION | FG_DG2_HDR_TYPE | FG_DG2_HDR_SUBTYPE |
                        FG_DG2_HDR_FMT_OWNER | FG_DG2_HDR_FMT_TYPE;
  assert_int_equal(f->header.present, want);
  assert_int_equal(f->header.version, 0x0101);
  assert_int_equal(f->header.biometric_type, 2);
  assert_int_equal(f->header.format_owner, 0x0101);
  assert_int_equal(f->header.format_type, 0x0008);
  /* image bytes */
  assert_int_equal(f->image_len, jlen);
  assert_memory_equal(f->image, jpg, jlen);
  /* the handle owns a copy: the input may go */
  memset(dg, 0, dl);
  assert_memory_equal(f->image, jpg, jlen);
  free(dg);

  /* decoding the DG2 gives the same pixels as decoding the JPEG */
  assert_int_equal(fg_dg2_build(jpg, jlen, &m, &dg, &dl, &e), FG_OK);
  fg_image via;
  assert_int_equal(fg_image_decode(dg, dl, NULL, &via, &e), FG_OK);
  assert_int_equal(via.width, direct.width);
  assert_int_equal(via.height, direct.height);
  assert_memory_equal(via.data, direct.data, (size_t)via.width * via.height * 3);
  fg_image_release(&via);
  int num, den;
  assert_int_equal(fg_image_decode_jpeg_scaled(dg, dl, NULL, 60, &via, &num, &den, &e), FG_OK);
  assert_true(den > 1);
  assert_int_equal(via.width, (direct.width + den - 1) / den);
  fg_image_release(&via);
  assert_int_equal(fg_image_decode_region(dg, dl, NULL, 10, 20, 30, 40, &via, &e), FG_OK);
  assert_int_equal(via.width, 30);
  fg_image_release(&via);
  /* bytes after the DG2 element are ignored */
  uint8_t *pad = malloc(dl + 16);
  memcpy(pad, dg, dl);
  memset(pad + dl, 0xFF, 16);
  fg_dg2 *d2;
  assert_int_equal(fg_dg2_parse(pad, dl + 16, &d2, &e), FG_OK);
  fg_dg2_destroy(d2);
  free(pad);

  fg_image_release(&direct);
  fg_dg2_destroy(d);
  fg_dg2_destroy(NULL);
  free(dg);
  free(jpg);
}

static void test_round_trip_jpeg2000(void **state) {
  (void)state;
  NEED_FACE(jpg, jlen);
  fg_error e;
  fg_image face, small;
  assert_int_equal(fg_image_decode(jpg, jlen, NULL, &face, &e), FG_OK);
  assert_int_equal(fg_image_resize_area(&face, 90, 110, &small, &e), FG_OK);
  for (int jp2 = 0; jp2 <= 1; jp2++) {
    size_t kl;
    uint8_t *k = j2k_of(&small, jp2, &kl);
    uint8_t *dg;
    size_t dl;
    assert_int_equal(fg_dg2_build(k, kl, NULL, &dg, &dl, &e), FG_OK);
    seed(jp2 ? "face-jp2.dg2" : "face-j2k.dg2", dg, dl);
    fg_dg2 *d;
    assert_int_equal(fg_dg2_parse(dg, dl, &d, &e), FG_OK);
    const fg_dg2_face *f = fg_dg2_face_at(d, 0);
    assert_int_equal(f->meta.image_data_type, FG_DG2_IMAGE_JPEG2000);
    assert_int_equal(f->meta.image_type, FG_DG2_FACE_FULL_FRONTAL);
    assert_int_equal(f->meta.width, 90);
    assert_int_equal(f->meta.height, 110);
    assert_int_equal(fg_dg2_angle_to_deg(f->meta.pose[0], NULL), FG_ENOTFOUND);
    assert_memory_equal(f->image, k, kl);
    fg_image via;
    assert_int_equal(fg_image_decode(dg, dl, NULL, &via, &e), FG_OK);
    assert_int_equal(via.width, 90);
    assert_memory_equal(via.data, small.data, 90 * 110 * 3); /* lossless */
    fg_image_release(&via);
    fg_dg2_destroy(d);
    free(dg);
    free(k);
  }
  fg_image_release(&small);
  fg_image_release(&face);
  free(jpg);
}

static void test_multiple_faces_and_instances(void **state) {
  (void)state;
  NEED_FACE(jpg, jlen);
  fg_error e;
  bb bits = {0}, rec = {0}, dg = {0};
  facial_record(&rec, 2, jpg, jlen); /* one record with 2 faces (0 and 1 feature points) */
  bit(&bits, 0x5F2E, 8, &rec);
  facial_record(&rec, 1, jpg, 100); /* second instance: 1 face, first 100 bytes as image */
  bit(&bits, 0x7F2E, 8, &rec);      /* constructed tag with 19794-5 format type: accepted */
  dg2_wrap(&dg, 2, &bits);
  fg_dg2 *d;
  seed("two-instances-three-faces.dg2", dg.p, dg.n);
  assert_int_equal(fg_dg2_parse(dg.p, dg.n, &d, &e), FG_OK);
  assert_int_equal(fg_dg2_face_count(d), 3);
  const fg_dg2_face *f0 = fg_dg2_face_at(d, 0), *f1 = fg_dg2_face_at(d, 1),
                    *f2 = fg_dg2_face_at(d, 2);
  assert_int_equal(f0->instance, 0);
  assert_int_equal(f1->instance, 0);
  assert_int_equal(f2->instance, 1);
  assert_int_equal(f0->meta.gender, 1);
  assert_int_equal(f1->meta.gender, 2);
  assert_int_equal(f0->meta.n_feature_points, 0);
  assert_null(f0->meta.feature_points);
  assert_int_equal(f1->meta.n_feature_points, 1);
  assert_int_equal(f1->meta.feature_points[0].x, 10);
  assert_int_equal(f1->meta.feature_points[0].y, 20);
  assert_int_equal(f2->image_len, 100);
  assert_memory_equal(f1->image, jpg, jlen);
  fg_dg2_destroy(d);
  /* fg_image_decode takes the first face */
  fg_image a, b;
  assert_int_equal(fg_image_decode(dg.p, dg.n, NULL, &a, &e), FG_OK);
  assert_int_equal(fg_image_decode(jpg, jlen, NULL, &b, &e), FG_OK);
  assert_memory_equal(a.data, b.data, (size_t)a.width * a.height * 3);
  fg_image_release(&a);
  fg_image_release(&b);
  free(dg.p);
  free(jpg);
}

static void test_angles(void **state) {
  (void)state;
  int d;
  assert_int_equal(fg_dg2_angle_to_deg(91, &d), FG_OK);
  assert_int_equal(d, 0);
  assert_int_equal(fg_dg2_angle_to_deg(1, &d), FG_OK);
  assert_int_equal(d, -180);
  assert_int_equal(fg_dg2_angle_to_deg(181, &d), FG_OK);
  assert_int_equal(d, 180);
  assert_int_equal(fg_dg2_angle_to_deg(0, &d), FG_ENOTFOUND);
  assert_int_equal(fg_dg2_angle_to_deg(182, &d), FG_EFORMAT);
  assert_int_equal(fg_dg2_angle_from_deg(0), 91);
  assert_int_equal(fg_dg2_angle_from_deg(10), 96);
  assert_int_equal(fg_dg2_angle_from_deg(-4), 89);
  assert_int_equal(fg_dg2_angle_from_deg(1000), 181);
  assert_int_equal(fg_dg2_angle_from_deg(-1000), 1);
  for (int a = -180; a <= 180; a += 2) {
    assert_int_equal(fg_dg2_angle_to_deg(fg_dg2_angle_from_deg(a), &d), FG_OK);
    assert_int_equal(d, a);
  }
}

/* ---- hostile input ------------------------------------------------------------------------ */

static void test_every_truncation(void **state) {
  (void)state;
  NEED_FACE(jpg, jlen);
  fg_error e;
  uint8_t *dg;
  size_t dl;
  fg_dg2_feature_point pt = {1, 0x31, 5, 6};
  fg_dg2_face_meta m = {.n_feature_points = 1, .feature_points = &pt};
  assert_int_equal(fg_dg2_build(jpg, jlen, &m, &dg, &dl, &e), FG_OK);
  for (size_t n = 0; n < dl; n++) {
    fg_dg2 *d = (fg_dg2 *)1;
    int rc = fg_dg2_parse(dg, n, &d, &e);
    if (rc != FG_EFORMAT) fail_msg("truncated to %zu of %zu: %s", n, dl, fg_err_name(rc));
    assert_null(d);
    fg_image img;
    rc = fg_image_decode(dg, n, NULL, &img, &e);
    if (rc != FG_EFORMAT) fail_msg("decode truncated to %zu: %s", n, fg_err_name(rc));
    assert_null(img.data);
  }
  free(dg);
  free(jpg);
}

/* Parse buf and expect `want`; print the message on mismatch. */
static void expect_rc(const uint8_t *b, size_t n, int want, const char *what) {
  fg_dg2 *d = NULL;
  fg_error e = {0};
  int rc = fg_dg2_parse(b, n, &d, &e);
  if (rc != want)
    fail_msg("%s: got %s (%s), want %s", what, fg_err_name(rc), e.msg, fg_err_name(want));
  if (rc == FG_OK) fg_dg2_destroy(d);
  else assert_null(d);
}

static void test_bad_lengths(void **state) {
  (void)state;
  static const uint8_t img[] = {0xFF, 0xD8, 0xFF, 0xD9, 1, 2, 3, 4};
  bb rec = {0}, bits = {0}, dg = {0};
  facial_record(&rec, 1, img, sizeof img);
  const size_t rec_len = rec.n;
  bit(&bits, 0x5F2E, 8, &rec);
  dg2_wrap(&dg, 1, &bits);
  expect_rc(dg.p, dg.n, FG_OK, "well-formed");
  uint8_t *b = malloc(dg.n + 64);

  /* outer length in each long form, then broken forms */
  size_t inner = dg.n - 2; /* the small file uses a 1-byte length */
  assert_true(dg.p[1] < 0x80);
  for (int nb = 1; nb <= 4; nb++) {
    b[0] = 0x75;
    b[1] = (uint8_t)(0x80 | nb);
    for (int k = 0; k < nb; k++) b[2 + k] = (uint8_t)(inner >> (8 * (nb - 1 - k)));
    memcpy(b + 2 + nb, dg.p + 2, inner);
    expect_rc(b, 2 + nb + inner, FG_OK, "long-form outer length");
  }
  b[1] = 0x85; /* five length bytes */
  memset(b + 2, 0, 4);
  b[6] = (uint8_t)inner;
  memcpy(b + 7, dg.p + 2, inner);
  expect_rc(b, 7 + inner, FG_EFORMAT, "0x85 length");
  b[1] = 0x80; /* indefinite */
  memcpy(b + 2, dg.p + 2, inner);
  expect_rc(b, 2 + inner, FG_EUNSUPPORTED, "indefinite length");
  b[1] = 0x84; /* 4 GB */
  memset(b + 2, 0xFF, 4);
  memcpy(b + 6, dg.p + 2, inner);
  expect_rc(b, 6 + inner, FG_EFORMAT, "0x84 FFFFFFFF");
  b[1] = 0x82; /* long form cut short */
  expect_rc(b, 3, FG_EFORMAT, "truncated long-form length");
  b[0] = 0x61; /* DG1, not DG2 */
  memcpy(b + 1, dg.p + 1, dg.n - 1);
  expect_rc(b, dg.n, FG_EFORMAT, "wrong outer tag");
  static const uint8_t longtag[] = {0x75, 0x06, 0x7F, 0xFF, 0xFF, 0x01, 0x00, 0x00};
  expect_rc(longtag, sizeof longtag, FG_EFORMAT, "4-byte tag");
  free(b);
  free(dg.p);

  /* child longer than its parent, though within the file: 7F60 claims 5 more bytes than
   * 7F61 holds; the outer 75 and the buffer have 5 spare bytes */
  {
    bb r2 = {0}, t = {0}, g = {0}, top = {0};
    facial_record(&r2, 1, img, sizeof img);
    std_header(&t, 8);
    bb_tlv(&t, 0x5F2E, &r2);
    bb_u8(&g, 2); bb_u8(&g, 1); bb_u8(&g, 1);
    bb_tag(&g, 0x7F60);
    bb_len(&g, t.n + 5);
    bb_put(&g, t.p, t.n);
    free(t.p);
    bb_tlv(&top, 0x7F61, &g);
    bb_put(&top, "\0\0\0\0\0", 5);
    bb out = {0};
    bb_tlv(&out, 0x75, &top);
    expect_rc(out.p, out.n, FG_EFORMAT, "7F60 longer than 7F61");
    fg_error e;
    fg_dg2 *d;
    fg_dg2_parse(out.p, out.n, &d, &e);
    assert_non_null(strstr(e.msg, "remain in its parent"));
    free(out.p);
  }
  (void)rec_len;
}

/* Variants of the facial record inside a correct TLV frame. */
static void expect_record(const bb *rec, uint32_t bdb_tag, unsigned fmt, int want,
                          const char *what) {
  bb r = {0}, bits = {0}, dg = {0};
  bb_put(&r, rec->p, rec->n);
  bit(&bits, bdb_tag, fmt, &r);
  dg2_wrap(&dg, 1, &bits);
  expect_rc(dg.p, dg.n, want, what);
  free(dg.p);
}

static void test_bad_records(void **state) {
  (void)state;
  static const uint8_t img[] = {0xFF, 0xD8, 0xFF, 0xD9, 1, 2, 3, 4};
  bb good = {0};
  facial_record(&good, 1, img, sizeof img);
  expect_record(&good, 0x5F2E, 8, FG_OK, "good record");
  bb r = {0};
#define VARIANT(what, want, edit)                                                              \
  do {                                                                                       \
    r.n = 0;                                                                                 \
    bb_put(&r, good.p, good.n);                                                              \
    edit;                                                                                    \
    expect_record(&r, 0x5F2E, 8, want, what);                                                \
  } while (0)
  VARIANT("record length beyond block", FG_EFORMAT, fg__put_be32(r.p + 8, (uint32_t)good.n + 1));
  VARIANT("record length below faces", FG_EFORMAT, fg__put_be32(r.p + 8, (uint32_t)good.n - 1));
  VARIANT("record length tiny", FG_EFORMAT, fg__put_be32(r.p + 8, 3));
  VARIANT("zero faces", FG_EFORMAT, fg__put_be16(r.p + 12, 0));
  VARIANT("two faces claimed, one present", FG_EFORMAT, fg__put_be16(r.p + 12, 2));
  VARIANT("65535 faces claimed", FG_EFORMAT, fg__put_be16(r.p + 12, 0xFFFF));
  VARIANT("face block longer than record", FG_EFORMAT, fg__put_be32(r.p + 14, 0xFFFFFFF0u));
  VARIANT("face block shorter than fixed part", FG_EFORMAT, fg__put_be32(r.p + 14, 31));
  VARIANT("face with no image", FG_EFORMAT, fg__put_be32(r.p + 14, 32));
  VARIANT("65535 feature points", FG_EFORMAT, fg__put_be16(r.p + 18, 0xFFFF));
  VARIANT("not FAC", FG_EFORMAT, r.p[0] = 'X');
  VARIANT("version 030", FG_EUNSUPPORTED, r.p[5] = '3');
  VARIANT("record shorter than header", FG_EFORMAT, r.n = 10);
  /* trailing bytes in the data block after the record are tolerated */
  VARIANT("padding after record", FG_OK, bb_put(&r, "\0\0\0", 3));
  /* 7F2E: ISO/IEC 39794-5 content is refused, 19794-5 content accepted */
  r.n = 0;
  bb_put(&r, "\x30\x03\x02\x01\x00", 5); /* some DER, not FAC */
  expect_record(&r, 0x7F2E, 9, FG_EUNSUPPORTED, "39794-5 block");
  expect_record(&good, 0x7F2E, 9, FG_OK, "7F2E holding FAC");
#undef VARIANT
  free(r.p);
  free(good.p);
}

static void test_bad_structure(void **state) {
  (void)state;
  static const uint8_t img[] = {0xFF, 0xD8, 0xFF, 0xD9, 1, 2, 3, 4};
  bb rec = {0}, bits = {0}, dg = {0};
  /* count says 2, one template */
  facial_record(&rec, 1, img, sizeof img);
  bit(&bits, 0x5F2E, 8, &rec);
  dg2_wrap(&dg, 2, &bits);
  expect_rc(dg.p, dg.n, FG_EFORMAT, "count mismatch");
  free(dg.p);
  memset(&dg, 0, sizeof dg);
  /* no count */
  {
    bb t = {0}, g = {0}, top = {0};
    facial_record(&rec, 1, img, sizeof img);
    bit(&t, 0x5F2E, 8, &rec);
    bb_put(&g, t.p, t.n);
    free(t.p);
    bb_tlv(&top, 0x7F61, &g);
    bb_tlv(&dg, 0x75, &top);
    expect_rc(dg.p, dg.n, FG_EFORMAT, "no count");
    free(dg.p);
    memset(&dg, 0, sizeof dg);
  }
  /* no header template; data block before header; secure messaging */
  for (int v = 0; v < 4; v++) {
    bb t = {0}, b7 = {0};
    facial_record(&rec, 1, img, sizeof img);
    if (v == 0) {
      bb_tlv(&t, 0x5F2E, &rec);
    } else if (v == 1) {
      bb_tlv(&t, 0x5F2E, &rec);
      std_header(&t, 8);
    } else if (v == 2) {
      std_header(&t, 8);
      bb_u8(&t, 0x7D); bb_u8(&t, 2); bb_u8(&t, 0x85); bb_u8(&t, 0);
      bb_tlv(&t, 0x5F2E, &rec);
    } else {
      std_header(&t, 8); /* header only, no data block */
      free(rec.p);
      memset(&rec, 0, sizeof rec);
    }
    bb_tlv(&b7, 0x7F60, &t);
    dg2_wrap(&dg, 1, &b7);
    expect_rc(dg.p, dg.n, v == 2 ? FG_EUNSUPPORTED : FG_EFORMAT, "template variants");
    free(dg.p);
    memset(&dg, 0, sizeof dg);
  }
  /* a header element with the wrong length */
  {
    bb t = {0}, h = {0}, b7 = {0};
    bb_put(&h, "\x87\x03\x01\x01\x01", 5);
    bb_tlv(&t, 0xA1, &h);
    facial_record(&rec, 1, img, sizeof img);
    bb_tlv(&t, 0x5F2E, &rec);
    bb_tlv(&b7, 0x7F60, &t);
    dg2_wrap(&dg, 1, &b7);
    expect_rc(dg.p, dg.n, FG_EFORMAT, "87 with 3 bytes");
    free(dg.p);
    memset(&dg, 0, sizeof dg);
  }
  /* no 7F61 */
  static const uint8_t empty75[] = {0x75, 0x03, 0x5F, 0x01, 0x00};
  expect_rc(empty75, sizeof empty75, FG_EFORMAT, "no group template");
  /* limits and arguments */
  fg_dg2 *d;
  fg_error e;
  assert_int_equal(fg_dg2_parse(empty75, FG_DG2_MAX_BYTES + 1, &d, &e), FG_ELIMIT);
  assert_int_equal(fg_dg2_parse(empty75, 0, &d, &e), FG_EFORMAT);
  assert_int_equal(fg_dg2_parse(NULL, 5, &d, &e), FG_EINVAL);
  assert_int_equal(fg_dg2_parse(empty75, 5, NULL, &e), FG_EINVAL);
  /* builder refusals */
  uint8_t *o;
  size_t ol;
  assert_int_equal(fg_dg2_build((const uint8_t *)"\x89PNG\r\n\x1A\n", 8, NULL, &o, &ol, &e),
                   FG_EUNSUPPORTED);
  assert_null(o);
  fg_dg2_face_meta m = {.n_feature_points = 2};
  assert_int_equal(fg_dg2_build(img, sizeof img, &m, &o, &ol, &e), FG_EINVAL);
  assert_int_equal(fg_dg2_build(img, sizeof img, NULL, &o, &ol, &e), FG_EFORMAT); /* no SOF */
  fg_dg2_face_meta sized = {.width = 10, .height = 10};
  assert_int_equal(fg_dg2_build(img, sizeof img, &sized, &o, &ol, &e), FG_OK);
  free(o);
}

/* Flip every byte of a small DG2 in turn: parse and decode must never crash. */
static void test_byte_flips(void **state) {
  (void)state;
  uint8_t px[24 * 24 * 3];
  for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 7);
  tjhandle tj = tjInitCompress();
  unsigned char *j = NULL;
  unsigned long jl = 0;
  assert_int_equal(tjCompress2(tj, px, 24, 0, 24, TJPF_RGB, &j, &jl, TJSAMP_420, 75, 0), 0);
  tjDestroy(tj);
  uint8_t *dg;
  size_t dl;
  fg_error e;
  assert_int_equal(fg_dg2_build(j, jl, NULL, &dg, &dl, &e), FG_OK);
  tjFree(j);
  seed("tiny.dg2", dg, dl);
  int ok = 0;
  for (size_t i = 0; i < dl; i++) {
    for (int v = 0; v < 3; v++) {
      uint8_t keep = dg[i];
      dg[i] = v == 0 ? (uint8_t)(keep ^ 0xFF) : v == 1 ? 0x00 : 0x80;
      fg_dg2 *d;
      if (fg_dg2_parse(dg, dl, &d, &e) == FG_OK) {
        ok++;
        for (size_t k = 0; k < fg_dg2_face_count(d); k++) assert_non_null(fg_dg2_face_at(d, k));
        fg_dg2_destroy(d);
      }
      if (i < 96) { /* structure bytes: also run the full decode */
        fg_image img;
        if (fg_image_decode(dg, dl, NULL, &img, &e) == FG_OK) fg_image_release(&img);
      }
      dg[i] = keep;
    }
  }
  assert_true(ok > 0); /* flips in metadata/image bytes still parse */
  free(dg);
}

/* A regression file named <prefix>FG_E<NAME>-<what> (or <prefix>FG_OK-<what>)
 * must decode to exactly that result; other names only must not crash. */
static void regress_expect(const char *name, size_t plen, int rc, const char *msg) {
  const char *want = name + plen;
  if (strncmp(want, "FG_", 3) != 0) return;
  const char *got = fg_err_name(rc);
  size_t n = strlen(got);
  if (strncmp(want, got, n) != 0 || want[n] != '-')
    fail_msg("%s: got %s (%s)", name, got, rc ? msg : "decoded");
}

static void test_fuzz_regressions(void **state) {
  (void)state;
  const char *dir = "tests/fixtures/fuzz-regress";
  DIR *dp = opendir(dir);
  if (!dp) TU_SKIP("%s absent", dir);
  int n = 0;
  struct dirent *de;
  while ((de = readdir(dp))) {
    if (strncmp(de->d_name, "dg2-", 4) != 0) continue;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    size_t len;
    uint8_t *b = tu_read(path, &len);
    fg_dg2 *d;
    fg_error e;
    int rc = fg_dg2_parse(b, len, &d, &e);
    regress_expect(de->d_name, 4, rc, e.msg);
    if (rc == FG_OK) fg_dg2_destroy(d);
    fg_image_limits lim = {.max_bytes = 1 << 20, .max_pixels = 1 << 22};
    fg_image img;
    if (fg_image_decode(b, len, &lim, &img, &e) == FG_OK) fg_image_release(&img);
    free(b);
    n++;
  }
  closedir(dp);
  fprintf(stderr, "[          ] %d fuzz regression inputs re-run\n", n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_jpeg),
      cmocka_unit_test(test_round_trip_jpeg2000),
      cmocka_unit_test(test_multiple_faces_and_instances),
      cmocka_unit_test(test_angles),
      cmocka_unit_test(test_every_truncation),
      cmocka_unit_test(test_bad_lengths),
      cmocka_unit_test(test_bad_records),
      cmocka_unit_test(test_bad_structure),
      cmocka_unit_test(test_byte_flips),
      cmocka_unit_test(test_fuzz_regressions),
  };
  return cmocka_run_group_tests_name("dg2", tests, NULL, NULL);
}
