/*
 * Image module tests: every input format decoded from data made here out of a
 * real photo (encoded with libpng / OpenJPEG / TurboJPEG directly, PNM by
 * hand), EXIF orientation, limits against decompression bombs, truncated and
 * random inputs, scaled and region decodes, the pixel operations, and the
 * fuzz-found inputs kept under tests/fixtures/fuzz-regress/.
 */
#include <dirent.h>
#include <math.h>

#include <openjpeg.h>
#include <png.h>
#include <turbojpeg.h>

#include "facegate/image.h"
#include "image/image_internal.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------ */

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

static uint8_t *sample_jpeg(size_t *len) {
  char p[512];
  tu_path(p, sizeof p, tu_samples_dir(), "sample1.jpg");
  if (!tu_exists(p)) return NULL;
  return tu_read(p, len);
}

#define NEED_SAMPLE(buf, len)                                                             \
  size_t len;                                                                               \
  uint8_t *buf = sample_jpeg(&len);                                                         \
  if (!buf) TU_SKIP("%s/sample1.jpg absent (run scripts/setup)", tu_samples_dir())

/* A real photo, decoded and shrunk to about w pixels wide (area resize). */
static void small_photo(const uint8_t *jpg, size_t len, int w, int h, fg_image *out) {
  fg_image full;
  fg_error e;
  assert_int_equal(fg_image_decode(jpg, len, NULL, &full, &e), FG_OK);
  assert_int_equal(fg_image_resize_area(&full, w, h, out, &e), FG_OK);
  fg_image_release(&full);
}

static void assert_same_image(const fg_image *a, const fg_image *b) {
  assert_int_equal(a->width, b->width);
  assert_int_equal(a->height, b->height);
  assert_int_equal(a->channels, b->channels);
  assert_memory_equal(a->data, b->data, (size_t)a->width * a->height * a->channels);
}

static double mean_abs_diff(const fg_image *a, const fg_image *b, int *maxd) {
  assert_int_equal(a->width, b->width);
  assert_int_equal(a->height, b->height);
  assert_int_equal(a->channels, b->channels);
  size_t n = (size_t)a->width * a->height * a->channels;
  double s = 0;
  int m = 0;
  for (size_t i = 0; i < n; i++) {
    int d = abs((int)a->data[i] - (int)b->data[i]);
    s += d;
    if (d > m) m = d;
  }
  if (maxd) *maxd = m;
  return s / (double)n;
}

static uint8_t *jpeg_encode(const fg_image *img, int quality, int subsamp, size_t *len) {
  tjhandle tj = tjInitCompress();
  assert_non_null(tj);
  unsigned char *out = NULL;
  unsigned long n = 0;
  int pf = img->channels == 3 ? TJPF_RGB : TJPF_GRAY;
  assert_int_equal(tjCompress2(tj, img->data, img->width, 0, img->height, pf, &out, &n,
                               img->channels == 3 ? subsamp : TJSAMP_GRAY, quality, 0),
                   0);
  tjDestroy(tj);
  uint8_t *copy = malloc(n);
  assert_non_null(copy);
  memcpy(copy, out, n);
  tjFree(out);
  *len = n;
  return copy;
}

/* Insert an Exif APP1 with IFD0 = {Orientation (SHORT) = o} after SOI. */
static uint8_t *with_exif(const uint8_t *jpg, size_t len, int o, int little_endian,
                          size_t *out_len) {
  uint8_t app[2 + 2 + 6 + 26];
  size_t k = 0;
  app[k++] = 0xFF;
  app[k++] = 0xE1;
  app[k++] = 0;
  app[k++] = 2 + 6 + 26;
  memcpy(app + k, "Exif\0\0", 6);
  k += 6;
  uint8_t *t = app + k;
  memset(t, 0, 26);
  if (little_endian) {
    memcpy(t, "II*\0", 4);
    t[4] = 8;
    t[8] = 1;        /* one entry */
    t[10] = 0x12;    /* tag 0x0112 */
    t[11] = 0x01;
    t[12] = 3;       /* SHORT */
    t[14] = 1;       /* count */
    t[18] = (uint8_t)o;
  } else {
    memcpy(t, "MM\0*", 4);
    t[7] = 8;
    t[9] = 1;
    t[10] = 0x01;
    t[11] = 0x12;
    t[13] = 3;
    t[17] = 1;
    t[19] = (uint8_t)o;
  }
  k += 26;
  uint8_t *b = malloc(len + k);
  assert_non_null(b);
  memcpy(b, jpg, 2);
  memcpy(b + 2, app, k);
  memcpy(b + 2 + k, jpg + 2, len - 2);
  *out_len = len + k;
  return b;
}

/* ---- in-memory PNG writer (test side, straight libpng) ---------------------------- */

typedef struct membuf {
  uint8_t *p;
  size_t len, cap, pos;
} membuf;

static void mb_write(membuf *m, const void *d, size_t n) {
  if (m->pos + n > m->cap) {
    size_t cap = m->cap ? m->cap : 4096;
    while (cap < m->pos + n) cap *= 2;
    m->p = realloc(m->p, cap);
    assert_non_null(m->p);
    m->cap = cap;
  }
  memcpy(m->p + m->pos, d, n);
  m->pos += n;
  if (m->pos > m->len) m->len = m->pos;
}

static void png_wr(png_structp png, png_bytep d, png_size_t n) { mb_write(png_get_io_ptr(png), d, n); }
static void png_fl(png_structp png) { (void)png; }

/* rows: h rows of rowbytes each (already in PNG sample layout). */
static uint8_t *png_raw(int w, int h, int ctype, int depth, int interlace, const uint8_t *rows,
                        size_t rowbytes, const png_color *pal, int npal, const uint8_t *trns,
                        int ntrns, size_t *len) {
  membuf m = {0};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  assert_non_null(info);
  if (setjmp(png_jmpbuf(png))) fail_msg("libpng write failed");
  png_set_write_fn(png, &m, png_wr, png_fl);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, ctype,
               interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (pal) png_set_PLTE(png, info, pal, npal);
  if (trns) png_set_tRNS(png, info, trns, ntrns, NULL);
  png_write_info(png, info);
  png_bytep *rp = malloc(sizeof(png_bytep) * (size_t)h);
  for (int y = 0; y < h; y++) rp[y] = (png_bytep)rows + (size_t)y * rowbytes;
  png_write_image(png, rp);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  free(rp);
  *len = m.len;
  return m.p;
}

/* ---- in-memory JPEG 2000 writer (lossless, OpenJPEG) -------------------------------- */

static OPJ_SIZE_T j_write(void *d, OPJ_SIZE_T n, void *ud) {
  mb_write(ud, d, n);
  return n;
}
static OPJ_OFF_T j_skip(OPJ_OFF_T n, void *ud) {
  membuf *m = ud;
  m->pos += (size_t)n;
  if (m->pos > m->len) {
    uint8_t z = 0;
    size_t p = m->pos;
    m->pos = m->len;
    while (m->pos < p) mb_write(m, &z, 1);
  }
  return n;
}
static OPJ_BOOL j_seek(OPJ_OFF_T off, void *ud) {
  membuf *m = ud;
  m->pos = (size_t)off;
  return OPJ_TRUE;
}

static uint8_t *j2k_encode(const fg_image *img, int jp2, size_t *len) {
  const int nc = img->channels;
  opj_image_cmptparm_t cp[3];
  memset(cp, 0, sizeof cp);
  for (int i = 0; i < nc; i++) {
    cp[i].dx = cp[i].dy = 1;
    cp[i].w = (OPJ_UINT32)img->width;
    cp[i].h = (OPJ_UINT32)img->height;
    cp[i].prec = 8;
  }
  opj_image_t *im = opj_image_create((OPJ_UINT32)nc, cp, nc == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
  assert_non_null(im);
  im->x1 = (OPJ_UINT32)img->width;
  im->y1 = (OPJ_UINT32)img->height;
  size_t np = (size_t)img->width * img->height;
  for (int i = 0; i < nc; i++)
    for (size_t k = 0; k < np; k++) im->comps[i].data[k] = img->data[k * nc + i];
  opj_cparameters_t p;
  opj_set_default_encoder_parameters(&p);
  p.tcp_numlayers = 1;
  p.tcp_rates[0] = 0; /* lossless */
  p.cp_disto_alloc = 1;
  p.numresolution = 4;
  p.tcp_mct = nc == 3 ? 1 : 0;
  opj_codec_t *c = opj_create_compress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  assert_true(opj_setup_encoder(c, &p, im));
  membuf m = {0};
  opj_stream_t *st = opj_stream_create(1 << 16, OPJ_FALSE);
  opj_stream_set_user_data(st, &m, NULL);
  opj_stream_set_write_function(st, j_write);
  opj_stream_set_skip_function(st, j_skip);
  opj_stream_set_seek_function(st, j_seek);
  assert_true(opj_start_compress(c, im, st));
  assert_true(opj_encode(c, st));
  assert_true(opj_end_compress(c, st));
  opj_stream_destroy(st);
  opj_destroy_codec(c);
  opj_image_destroy(im);
  *len = m.len;
  return m.p;
}

/* JPEG 2000 from nc planes (w x h of component 0; components k >= 1 subsampled by
 * sub[k]), with precision, signedness, colour space and an optional alpha component. */
static uint8_t *j2k_planes(int nc, int32_t *const *planes, int w, int h, int prec, int sgnd,
                           const int *sub, OPJ_COLOR_SPACE cs, int alpha, int jp2, size_t *len) {
  opj_image_cmptparm_t cp[4];
  memset(cp, 0, sizeof cp);
  for (int i = 0; i < nc; i++) {
    int s = sub ? sub[i] : 1;
    cp[i].dx = cp[i].dy = (OPJ_UINT32)s;
    cp[i].w = (OPJ_UINT32)((w + s - 1) / s);
    cp[i].h = (OPJ_UINT32)((h + s - 1) / s);
    cp[i].prec = (OPJ_UINT32)prec;
    cp[i].sgnd = (OPJ_UINT32)sgnd;
  }
  opj_image_t *im = opj_image_create((OPJ_UINT32)nc, cp, cs);
  assert_non_null(im);
  im->x1 = (OPJ_UINT32)w;
  im->y1 = (OPJ_UINT32)h;
  for (int i = 0; i < nc; i++) {
    memcpy(im->comps[i].data, planes[i], sizeof(int32_t) * cp[i].w * cp[i].h);
    if (i == alpha) im->comps[i].alpha = 1;
  }
  opj_cparameters_t p;
  opj_set_default_encoder_parameters(&p);
  p.tcp_numlayers = 1;
  p.tcp_rates[0] = 0;
  p.cp_disto_alloc = 1;
  p.numresolution = 3;
  p.tcp_mct = 0;
  opj_codec_t *c = opj_create_compress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  assert_true(opj_setup_encoder(c, &p, im));
  membuf m = {0};
  opj_stream_t *st = opj_stream_create(1 << 16, OPJ_FALSE);
  opj_stream_set_user_data(st, &m, NULL);
  opj_stream_set_write_function(st, j_write);
  opj_stream_set_skip_function(st, j_skip);
  opj_stream_set_seek_function(st, j_seek);
  assert_true(opj_start_compress(c, im, st) && opj_encode(c, st) && opj_end_compress(c, st));
  opj_stream_destroy(st);
  opj_destroy_codec(c);
  opj_image_destroy(im);
  *len = m.len;
  return m.p;
}

/* ---- format decoding -------------------------------------------------------------- */

static void test_sniff(void **state) {
  (void)state;
  static const uint8_t jpg[] = {0xFF, 0xD8, 0xFF, 0xE0};
  static const uint8_t png[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  static const uint8_t j2k[] = {0xFF, 0x4F, 0xFF, 0x51};
  static const uint8_t jp2[] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};
  static const uint8_t dg2[] = {0x75, 0x82, 0x10, 0x00, 0x7F, 0x61};
  assert_int_equal(fg_image_sniff(jpg, sizeof jpg), FG_IMAGE_FORMAT_JPEG);
  assert_int_equal(fg_image_sniff(png, sizeof png), FG_IMAGE_FORMAT_PNG);
  assert_int_equal(fg_image_sniff(j2k, sizeof j2k), FG_IMAGE_FORMAT_J2K);
  assert_int_equal(fg_image_sniff(jp2, sizeof jp2), FG_IMAGE_FORMAT_JP2);
  assert_int_equal(fg_image_sniff((const uint8_t *)"P6\n", 3), FG_IMAGE_FORMAT_PNM);
  assert_int_equal(fg_image_sniff((const uint8_t *)"P5 ", 3), FG_IMAGE_FORMAT_PNM);
  assert_int_equal(fg_image_sniff((const uint8_t *)"P3\n", 3), FG_IMAGE_FORMAT_UNKNOWN);
  assert_int_equal(fg_image_sniff(dg2, sizeof dg2), FG_IMAGE_FORMAT_DG2);
  assert_int_equal(fg_image_sniff(jpg, 2), FG_IMAGE_FORMAT_UNKNOWN);
  assert_int_equal(fg_image_sniff(NULL, 0), FG_IMAGE_FORMAT_UNKNOWN);
  assert_string_equal(fg_image_format_name(FG_IMAGE_FORMAT_JP2), "jp2");
}

static void test_jpeg_sample(void **state) {
  (void)state;
  NEED_SAMPLE(buf, len);
  fg_image img;
  fg_error e;
  assert_int_equal(fg_image_decode(buf, len, NULL, &img, &e), FG_OK);
  assert_int_equal(img.width, 1920);
  assert_int_equal(img.height, 1280);
  assert_int_equal(img.channels, 3);
  /* same pixels as TurboJPEG's own decode */
  tjhandle tj = tjInitDecompress();
  uint8_t *ref = malloc((size_t)1920 * 1280 * 3);
  assert_int_equal(tjDecompress2(tj, buf, len, ref, 1920, 0, 1280, TJPF_RGB, 0), 0);
  tjDestroy(tj);
  assert_memory_equal(ref, img.data, (size_t)1920 * 1280 * 3);
  free(ref);
  fg_image_release(&img);
  fg_image_release(&img); /* twice is fine */
  assert_null(img.data);
  free(buf);
}

static void test_jpeg_grey(void **state) {
  (void)state;
  NEED_SAMPLE(buf, len);
  fg_image rgb, grey, g2;
  fg_error e;
  small_photo(buf, len, 120, 80, &rgb);
  assert_int_equal(fg_image_to_grey(&rgb, &grey, &e), FG_OK);
  size_t jl;
  uint8_t *j = jpeg_encode(&grey, 95, TJSAMP_GRAY, &jl);
  seed("grey.jpg", j, jl);
  fg_image_limits keep = {.flags = FG_IMAGE_KEEP_GREY};
  assert_int_equal(fg_image_decode(j, jl, &keep, &g2, &e), FG_OK);
  assert_int_equal(g2.channels, 1);
  int maxd;
  assert_true(mean_abs_diff(&grey, &g2, &maxd) < 2.0);
  fg_image as_rgb;
  assert_int_equal(fg_image_decode(j, jl, NULL, &as_rgb, &e), FG_OK);
  assert_int_equal(as_rgb.channels, 3);
  for (size_t i = 0; i < (size_t)g2.width * g2.height; i++) {
    assert_int_equal(as_rgb.data[3 * i], g2.data[i]);
    assert_int_equal(as_rgb.data[3 * i + 2], g2.data[i]);
  }
  fg_image_release(&as_rgb);
  fg_image_release(&g2);
  fg_image_release(&grey);
  fg_image_release(&rgb);
  free(j);
  free(buf);
}

static void test_jpeg_cmyk(void **state) {
  (void)state;
  /* 16x16 CMYK JPEG of one colour: inverted C=M=Y=255 (no ink), K=128 -> grey 128 */
  uint8_t px[16 * 16 * 4];
  for (int i = 0; i < 16 * 16; i++) {
    px[4 * i] = 255;
    px[4 * i + 1] = 255;
    px[4 * i + 2] = 255;
    px[4 * i + 3] = 128;
  }
  tjhandle tj = tjInitCompress();
  unsigned char *out = NULL;
  unsigned long n = 0;
  assert_int_equal(tjCompress2(tj, px, 16, 0, 16, TJPF_CMYK, &out, &n, TJSAMP_444, 100, 0), 0);
  seed("cmyk.jpg", out, n);
  tjDestroy(tj);
  fg_image img;
  fg_error e;
  assert_int_equal(fg_image_decode(out, n, NULL, &img, &e), FG_OK);
  assert_int_equal(img.channels, 3);
  for (int i = 0; i < 16 * 16 * 3; i++) assert_in_range(img.data[i], 124, 132);
  fg_image_release(&img);
  tjFree(out);
}

static void test_png_formats(void **state) {
  (void)state;
  NEED_SAMPLE(buf, len);
  fg_image rgb, grey, d;
  fg_error e;
  small_photo(buf, len, 64, 48, &rgb);
  assert_int_equal(fg_image_to_grey(&rgb, &grey, &e), FG_OK);
  const int w = 64, h = 48;
  size_t pl;
  uint8_t *p;

  /* 8-bit RGB through our own encoder: exact round trip */
  assert_int_equal(fg_image_encode_png(&rgb, &p, &pl, &e), FG_OK);
  seed("rgb8.png", p, pl);
  assert_int_equal(fg_image_decode(p, pl, NULL, &d, &e), FG_OK);
  assert_same_image(&rgb, &d);
  fg_image_release(&d);
  free(p);

  /* 8-bit grey, kept grey and expanded */
  fg_image_limits keep = {.flags = FG_IMAGE_KEEP_GREY};
  assert_int_equal(fg_image_encode_png(&grey, &p, &pl, &e), FG_OK);
  seed("grey8.png", p, pl);
  assert_int_equal(fg_image_decode(p, pl, &keep, &d, &e), FG_OK);
  assert_same_image(&grey, &d);
  fg_image_release(&d);
  assert_int_equal(fg_image_decode(p, pl, NULL, &d, &e), FG_OK);
  assert_int_equal(d.channels, 3);
  assert_int_equal(d.data[3 * 100 + 1], grey.data[100]);
  fg_image_release(&d);
  free(p);

  /* 16-bit RGB, interlaced: v*257 scales back to v exactly */
  uint8_t *r16 = malloc((size_t)w * h * 6);
  for (size_t i = 0; i < (size_t)w * h * 3; i++) r16[2 * i] = r16[2 * i + 1] = rgb.data[i];
  p = png_raw(w, h, PNG_COLOR_TYPE_RGB, 16, 1, r16, (size_t)w * 6, NULL, 0, NULL, 0, &pl);
  seed("rgb16-interlaced.png", p, pl);
  assert_int_equal(fg_image_decode(p, pl, NULL, &d, &e), FG_OK);
  assert_same_image(&rgb, &d);
  fg_image_release(&d);
  free(p);
  free(r16);

  /* RGBA: alpha 255 keeps the colour, alpha 0 gives white */
  uint8_t *rgba = malloc((size_t)w * h * 4);
  for (size_t i = 0; i < (size_t)w * h; i++) {
    memcpy(rgba + 4 * i, rgb.data + 3 * i, 3);
    rgba[4 * i + 3] = (i % w) < (size_t)w / 2 ? 255 : 0;
  }
  p = png_raw(w, h, PNG_COLOR_TYPE_RGBA, 8, 0, rgba, (size_t)w * 4, NULL, 0, NULL, 0, &pl);
  seed("rgba8.png", p, pl);
  assert_int_equal(fg_image_decode(p, pl, NULL, &d, &e), FG_OK);
  assert_int_equal(d.channels, 3);
  for (size_t i = 0; i < (size_t)w * h; i++)
    for (int k = 0; k < 3; k++)
      assert_int_equal(d.data[3 * i + k], (i % w) < (size_t)w / 2 ? rgb.data[3 * i + k] : 255);
  fg_image_release(&d);
  free(p);
  free(rgba);

  /* grey + alpha, 16 bit */
  uint8_t *ga = malloc((size_t)w * h * 4);
  for (size_t i = 0; i < (size_t)w * h; i++) {
    ga[4 * i] = ga[4 * i + 1] = grey.data[i];
    ga[4 * i + 2] = ga[4 * i + 3] = 0xFF;
  }
  p = png_raw(w, h, PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0, ga, (size_t)w * 4, NULL, 0, NULL, 0, &pl);
  seed("greyalpha16.png", p, pl);
  assert_int_equal(fg_image_decode(p, pl, &keep, &d, &e), FG_OK);
  assert_same_image(&grey, &d);
  fg_image_release(&d);
  free(p);
  free(ga);

  /* palette with a transparent entry */
  png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
  uint8_t trns[4] = {255, 255, 255, 0};
  uint8_t *idx = malloc((size_t)w * h);
  for (size_t i = 0; i < (size_t)w * h; i++) idx[i] = (uint8_t)(i % 4);
  p = png_raw(w, h, PNG_COLOR_TYPE_PALETTE, 8, 0, idx, (size_t)w, pal, 4, trns, 4, &pl);
  seed("palette-trns.png", p, pl);
  assert_int_equal(fg_image_decode(p, pl, NULL, &d, &e), FG_OK);
  assert_int_equal(d.channels, 3);
  assert_memory_equal(d.data, "\xFF\x00\x00\x00\xFF\x00\x00\x00\xFF\xFF\xFF\xFF", 12);
  fg_image_release(&d);
  free(p);
  free(idx);

  /* 1-bit grey */
  uint8_t bits[8 * 16];
  for (int i = 0; i < 8 * 16; i++) bits[i] = (uint8_t)(i % 2 ? 0xF0 : 0x0F);
  p = png_raw(64, 16, PNG_COLOR_TYPE_GRAY, 1, 0, bits, 8, NULL, 0, NULL, 0, &pl);
  seed("grey1.png", p, pl);
  assert_int_equal(fg_image_decode(p, pl, &keep, &d, &e), FG_OK);
  assert_int_equal(d.width, 64);
  assert_int_equal(d.data[0], 0);
  assert_int_equal(d.data[4], 255);
  assert_int_equal(d.data[8], 255);
  assert_int_equal(d.data[12], 0);
  fg_image_release(&d);
  free(p);

  fg_image_release(&grey);
  fg_image_release(&rgb);
  free(buf);
}

static void test_j2k_formats(void **state) {
  (void)state;
  NEED_SAMPLE(buf, len);
  fg_image rgb, grey, d;
  fg_error e;
  small_photo(buf, len, 96, 64, &rgb);
  assert_int_equal(fg_image_to_grey(&rgb, &grey, &e), FG_OK);
  for (int jp2 = 0; jp2 <= 1; jp2++) {
    size_t jl;
    uint8_t *j = j2k_encode(&rgb, jp2, &jl);
    seed(jp2 ? "rgb.jp2" : "rgb.j2k", j, jl);
    assert_int_equal(fg_image_sniff(j, jl), jp2 ? FG_IMAGE_FORMAT_JP2 : FG_IMAGE_FORMAT_J2K);
    assert_int_equal(fg_image_decode(j, jl, NULL, &d, &e), FG_OK);
    assert_same_image(&rgb, &d); /* lossless */
    fg_image_release(&d);
    uint32_t pw, ph;
    assert_int_equal(fg__j2k_probe(j, jl, jp2, &pw, &ph, &e), FG_OK);
    assert_int_equal(pw, 96);
    assert_int_equal(ph, 64);
    free(j);

    j = j2k_encode(&grey, jp2, &jl);
    seed(jp2 ? "grey.jp2" : "grey.j2k", j, jl);
    fg_image_limits keep = {.flags = FG_IMAGE_KEEP_GREY};
    assert_int_equal(fg_image_decode(j, jl, &keep, &d, &e), FG_OK);
    assert_same_image(&grey, &d);
    fg_image_release(&d);
    free(j);
  }
  fg_image_release(&grey);
  fg_image_release(&rgb);
  free(buf);
}

/* JPEG 2000 beyond 8-bit RGB: 12-bit, signed, sYCC with subsampled chroma, alpha. */
static void test_j2k_variants(void **state) {
  (void)state;
  NEED_SAMPLE(buf, len);
  fg_image rgb, grey, d;
  fg_error e;
  const int w = 64, h = 48;
  small_photo(buf, len, w, h, &rgb);
  assert_int_equal(fg_image_to_grey(&rgb, &grey, &e), FG_OK);
  const size_t np = (size_t)w * h;
  int32_t *pl[4];
  for (int i = 0; i < 4; i++) pl[i] = calloc(np, sizeof(int32_t));
  fg_image_limits keep = {.flags = FG_IMAGE_KEEP_GREY};
  size_t jl;
  uint8_t *j;
  int maxd;

  /* 12-bit grey: v * 16 comes back within 1 of v */
  for (size_t i = 0; i < np; i++) pl[0][i] = grey.data[i] * 16;
  j = j2k_planes(1, pl, w, h, 12, 0, NULL, OPJ_CLRSPC_GRAY, -1, 0, &jl);
  seed("grey12.j2k", j, jl);
  assert_int_equal(fg_image_decode(j, jl, &keep, &d, &e), FG_OK);
  mean_abs_diff(&grey, &d, &maxd);
  assert_true(maxd <= 1);
  fg_image_release(&d);
  free(j);

  /* signed 8-bit grey: v - 128 is shifted back exactly */
  for (size_t i = 0; i < np; i++) pl[0][i] = grey.data[i] - 128;
  j = j2k_planes(1, pl, w, h, 8, 1, NULL, OPJ_CLRSPC_GRAY, -1, 0, &jl);
  assert_int_equal(fg_image_decode(j, jl, &keep, &d, &e), FG_OK);
  assert_memory_equal(d.data, grey.data, np);
  fg_image_release(&d);
  free(j);

  /* sYCC 4:2:0 in JP2: resampled chroma and the colour conversion */
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const uint8_t *p = rgb.data + ((size_t)y * w + x) * 3;
      double r = p[0], g = p[1], b = p[2];
      pl[0][(size_t)y * w + x] = (int32_t)(0.299 * r + 0.587 * g + 0.114 * b + 0.5);
    }
  for (int y = 0; y < ch; y++)
    for (int x = 0; x < cw; x++) {
      double cb = 0, cr = 0;
      int n = 0;
      for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
          int sx = 2 * x + dx, sy = 2 * y + dy;
          if (sx >= w || sy >= h) continue;
          const uint8_t *p = rgb.data + ((size_t)sy * w + sx) * 3;
          cb += -0.168736 * p[0] - 0.331264 * p[1] + 0.5 * p[2] + 128;
          cr += 0.5 * p[0] - 0.418688 * p[1] - 0.081312 * p[2] + 128;
          n++;
        }
      pl[1][(size_t)y * cw + x] = (int32_t)(cb / n + 0.5);
      pl[2][(size_t)y * cw + x] = (int32_t)(cr / n + 0.5);
    }
  const int sub[3] = {1, 2, 2};
  j = j2k_planes(3, pl, w, h, 8, 0, sub, OPJ_CLRSPC_SYCC, -1, 1, &jl);
  seed("sycc420.jp2", j, jl);
  assert_int_equal(fg_image_decode(j, jl, NULL, &d, &e), FG_OK);
  assert_int_equal(d.width, w);
  double mad = mean_abs_diff(&rgb, &d, &maxd);
  if (mad > 4.0) fail_msg("sYCC 4:2:0: mean diff %.2f", mad);
  fg_image_release(&d);
  free(j);

  /* RGBA in JP2 (alpha in a cdef box) and grey + unlabelled second component in J2K:
   * left half opaque, right half transparent -> white */
  for (int k = 0; k < 3; k++)
    for (size_t i = 0; i < np; i++) pl[k][i] = rgb.data[3 * i + k];
  for (size_t i = 0; i < np; i++) pl[3][i] = (int)(i % w) < w / 2 ? 255 : 0;
  j = j2k_planes(4, pl, w, h, 8, 0, NULL, OPJ_CLRSPC_SRGB, 3, 1, &jl);
  seed("rgba.jp2", j, jl);
  assert_int_equal(fg_image_decode(j, jl, NULL, &d, &e), FG_OK);
  for (size_t i = 0; i < np; i++)
    for (int k = 0; k < 3; k++)
      assert_int_equal(d.data[3 * i + k], (int)(i % w) < w / 2 ? rgb.data[3 * i + k] : 255);
  fg_image_release(&d);
  free(j);
  for (size_t i = 0; i < np; i++) pl[0][i] = grey.data[i];
  int32_t *ga[2] = {pl[0], pl[3]};
  j = j2k_planes(2, ga, w, h, 8, 0, NULL, OPJ_CLRSPC_GRAY, -1, 0, &jl);
  assert_int_equal(fg_image_decode(j, jl, &keep, &d, &e), FG_OK);
  assert_int_equal(d.channels, 1);
  for (size_t i = 0; i < np; i++)
    assert_int_equal(d.data[i], (int)(i % w) < w / 2 ? grey.data[i] : 255);
  fg_image_release(&d);
  free(j);

  /* five components: refused as unsupported from the SIZ marker */
  opj_image_cmptparm_t cp5[5];
  memset(cp5, 0, sizeof cp5);
  for (int i = 0; i < 5; i++) {
    cp5[i].dx = cp5[i].dy = 1;
    cp5[i].w = 16;
    cp5[i].h = 16;
    cp5[i].prec = 8;
  }
  opj_image_t *im5 = opj_image_create(5, cp5, OPJ_CLRSPC_UNSPECIFIED);
  im5->x1 = im5->y1 = 16;
  opj_cparameters_t p5;
  opj_set_default_encoder_parameters(&p5);
  p5.numresolution = 2;
  opj_codec_t *c5 = opj_create_compress(OPJ_CODEC_J2K);
  assert_true(opj_setup_encoder(c5, &p5, im5));
  membuf m5 = {0};
  opj_stream_t *st5 = opj_stream_create(1 << 16, OPJ_FALSE);
  opj_stream_set_user_data(st5, &m5, NULL);
  opj_stream_set_write_function(st5, j_write);
  opj_stream_set_skip_function(st5, j_skip);
  opj_stream_set_seek_function(st5, j_seek);
  assert_true(opj_start_compress(c5, im5, st5) && opj_encode(c5, st5) && opj_end_compress(c5, st5));
  opj_stream_destroy(st5);
  opj_destroy_codec(c5);
  opj_image_destroy(im5);
  assert_int_equal(fg_image_decode(m5.p, m5.len, NULL, &d, &e), FG_EUNSUPPORTED);
  free(m5.p);
  for (int i = 0; i < 4; i++) free(pl[i]);
  fg_image_release(&grey);
  fg_image_release(&rgb);
  free(buf);
}

static void test_pnm_formats(void **state) {
  (void)state;
  NEED_SAMPLE(buf, len);
  fg_image rgb, grey, d;
  fg_error e;
  small_photo(buf, len, 40, 30, &rgb);
  assert_int_equal(fg_image_to_grey(&rgb, &grey, &e), FG_OK);
  const size_t n3 = 40 * 30 * 3, n1 = 40 * 30;
  uint8_t *f = malloc(64 + n3 * 2);
  fg_image_limits keep = {.flags = FG_IMAGE_KEEP_GREY};

  /* P6 255 with a comment */
  int h = sprintf((char *)f, "P6\n# made by a test\n40 30\n255\n");
  memcpy(f + h, rgb.data, n3);
  seed("rgb8.ppm", f, h + n3);
  assert_int_equal(fg_image_decode(f, h + n3, NULL, &d, &e), FG_OK);
  assert_same_image(&rgb, &d);
  fg_image_release(&d);
  /* one byte short */
  assert_int_equal(fg_image_decode(f, h + n3 - 1, NULL, &d, &e), FG_EFORMAT);
  assert_null(d.data);

  /* P5 255 */
  h = sprintf((char *)f, "P5 40 30 255 ");
  memcpy(f + h, grey.data, n1);
  seed("grey8.pgm", f, h + n1);
  assert_int_equal(fg_image_decode(f, h + n1, &keep, &d, &e), FG_OK);
  assert_same_image(&grey, &d);
  fg_image_release(&d);

  /* P6 65535: v*257 big-endian maps back to v */
  h = sprintf((char *)f, "P6\n40 30\n65535\n");
  for (size_t i = 0; i < n3; i++) f[h + 2 * i] = f[h + 2 * i + 1] = rgb.data[i];
  seed("rgb16.ppm", f, h + 2 * n3);
  assert_int_equal(fg_image_decode(f, h + 2 * n3, NULL, &d, &e), FG_OK);
  assert_same_image(&rgb, &d);
  fg_image_release(&d);

  /* P5 1023 (10-bit): v*4 comes back within 1 of v */
  h = sprintf((char *)f, "P5\n40 30\n1023\n");
  for (size_t i = 0; i < n1; i++) fg__put_be16(f + h + 2 * i, (uint16_t)(grey.data[i] * 4));
  seed("grey10.pgm", f, h + 2 * n1);
  assert_int_equal(fg_image_decode(f, h + 2 * n1, &keep, &d, &e), FG_OK);
  int maxd;
  mean_abs_diff(&grey, &d, &maxd);
  assert_true(maxd <= 1);
  fg_image_release(&d);
  /* sample above maxval */
  fg__put_be16(f + h, 2000);
  assert_int_equal(fg_image_decode(f, h + 2 * n1, &keep, &d, &e), FG_EFORMAT);

  /* bad headers */
  const char *bad[] = {"P6\n", "P6 40", "P6 40 30 0\n", "P6 40 30 70000\n", "P6 -4 30 255\n",
                       "P6 0 30 255\n", "P6 40 30 255", "P5 99999999999 1 255\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = fg_image_decode((const uint8_t *)bad[i], strlen(bad[i]), NULL, &d, &e);
    assert_true(rc == FG_EFORMAT || rc == FG_ELIMIT);
  }
  free(f);
  fg_image_release(&grey);
  fg_image_release(&rgb);
  free(buf);
}

static void test_lfw_jpegs(void **state) {
  (void)state;
  char dir[512];
  tu_path(dir, sizeof dir, tu_lfw_dir(), "lfw-deepfunneled");
  DIR *dp = opendir(dir);
  if (!dp) TU_SKIP("%s absent", dir);
  int done = 0;
  struct dirent *de;
  while ((de = readdir(dp)) && done < 40) {
    if (de->d_name[0] == '.') continue;
    char person[1024];
    snprintf(person, sizeof person, "%s/%s", dir, de->d_name);
    DIR *pp = opendir(person);
    if (!pp) continue;
    struct dirent *fe;
    while ((fe = readdir(pp))) {
      if (!strstr(fe->d_name, ".jpg")) continue;
      char path[1400];
      snprintf(path, sizeof path, "%s/%s", person, fe->d_name);
      fg_image img;
      fg_error e;
      int rc = fg_image_decode_file(path, NULL, &img, &e);
      if (rc) fail_msg("%s: %s", path, e.msg);
      assert_int_equal(img.width, 250);
      assert_int_equal(img.height, 250);
      fg_image_release(&img);
      done++;
    }
    closedir(pp);
  }
  closedir(dp);
  assert_true(done > 0);
}

/* ---- EXIF ------------------------------------------------------------------------- */

static void test_exif_orientation_6_photo(void **state) {
  (void)state;
  NEED_SAMPLE(buf, len);
  fg_image small, raw, rot;
  fg_error e;
  small_photo(buf, len, 120, 80, &small);
  size_t jl, xl;
  uint8_t *j = jpeg_encode(&small, 90, TJSAMP_420, &jl);
  uint8_t *x = with_exif(j, jl, 6, 0, &xl);
  assert_int_equal(fg__exif_orientation(x, xl), 6);
  seed("exif6.jpg", x, xl);
  fg_image_limits ign = {.flags = FG_IMAGE_IGNORE_EXIF};
  assert_int_equal(fg_image_decode(x, xl, &ign, &raw, &e), FG_OK);
  assert_int_equal(fg_image_decode(x, xl, NULL, &rot, &e), FG_OK);
  assert_int_equal(raw.width, 120);
  assert_int_equal(raw.height, 80);
  assert_int_equal(rot.width, 80); /* swapped */
  assert_int_equal(rot.height, 120);
  /* orientation 6: the stored image is shown rotated 90 degrees clockwise, so
   * displayed (x, y) is stored (y, H-1-x); the top-left shown is stored bottom-left */
  for (int y = 0; y < rot.height; y++)
    for (int xx = 0; xx < rot.width; xx++)
      assert_memory_equal(rot.data + ((size_t)y * rot.width + xx) * 3,
                          raw.data + ((size_t)(raw.height - 1 - xx) * raw.width + y) * 3, 3);
  fg_image_release(&raw);
  fg_image_release(&rot);
  fg_image_release(&small);
  free(x);
  free(j);
  free(buf);
}

/* Quadrant image: TL red, TR green, BL blue, BR white; where does each land? */
static void test_exif_all_orientations(void **state) {
  (void)state;
  fg_image q;
  fg_error e;
  const int W = 64, H = 32;
  assert_int_equal(fg_image_init(&q, W, H, 3, &e), FG_OK);
  static const uint8_t col[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      memcpy(q.data + ((size_t)y * W + x) * 3, col[(y >= H / 2) * 2 + (x >= W / 2)], 3);
  size_t jl;
  uint8_t *j = jpeg_encode(&q, 95, TJSAMP_444, &jl);
  /* for each orientation: which stored quadrant (0 TL,1 TR,2 BL,3 BR) is shown at TL, TR, BL, BR */
  static const int shown[9][4] = {{0},          {0, 1, 2, 3}, {1, 0, 3, 2}, {3, 2, 1, 0},
                                  {2, 3, 0, 1}, {0, 2, 1, 3}, {2, 0, 3, 1}, {3, 1, 2, 0},
                                  {1, 3, 0, 2}};
  for (int o = 1; o <= 8; o++) {
    for (int le = 0; le <= 1; le++) {
      size_t xl;
      uint8_t *x = with_exif(j, jl, o, le, &xl);
      assert_int_equal(fg__exif_orientation(x, xl), o);
      fg_image d;
      assert_int_equal(fg_image_decode(x, xl, NULL, &d, &e), FG_OK);
      assert_int_equal(d.width, o >= 5 ? H : W);
      assert_int_equal(d.height, o >= 5 ? W : H);
      int px[4][2] = {{2, 2}, {d.width - 3, 2}, {2, d.height - 3}, {d.width - 3, d.height - 3}};
      for (int c = 0; c < 4; c++) {
        const uint8_t *p = d.data + ((size_t)px[c][1] * d.width + px[c][0]) * 3;
        for (int k = 0; k < 3; k++) assert_in_range(p[k], col[shown[o][c]][k] ? 200 : 0,
                                                    col[shown[o][c]][k] ? 255 : 55);
      }
      fg_image_release(&d);
      free(x);
    }
  }
  free(j);
  fg_image_release(&q);
}

static void test_exif_parser_malformed(void **state) {
  (void)state;
  uint8_t b[64];
  memset(b, 0, sizeof b);
  b[0] = 0xFF; b[1] = 0xD8; b[2] = 0xFF; b[3] = 0xE1;
  b[4] = 0; b[5] = 34;
  memcpy(b + 6, "Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06", 26);
  assert_int_equal(fg__exif_orientation(b, 40), 6);
  assert_int_equal(fg__exif_orientation(b, 38), 6); /* segment ends exactly there */
  for (size_t n = 0; n < 38; n++) assert_int_equal(fg__exif_orientation(b, n), 0);
  uint8_t c[64];
  memcpy(c, b, sizeof c);
  c[16] = 0xFF; /* IFD offset far outside */
  assert_int_equal(fg__exif_orientation(c, 40), 0);
  memcpy(c, b, sizeof c);
  c[20] = 0xFF; /* entry count runs past the segment */
  assert_int_equal(fg__exif_orientation(c, 40), 0);
  memcpy(c, b, sizeof c);
  c[31] = 9; /* out-of-range value */
  assert_int_equal(fg__exif_orientation(c, 40), 0);
  memcpy(c, b, sizeof c);
  c[5] = 200; /* segment longer than the data */
  assert_int_equal(fg__exif_orientation(c, 40), 0);
  memcpy(c, b, sizeof c);
  c[5] = 1; /* segment length < 2 */
  assert_int_equal(fg__exif_orientation(c, 40), 0);
  memcpy(c, b, sizeof c);
  c[12] = 'X'; /* bad byte order */
  assert_int_equal(fg__exif_orientation(c, 40), 0);
}

/* ---- limits and hostile input ----------------------------------------------------- */

static uint32_t crc32_png(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

/* Find the SOF0..SOF2 marker of a JPEG and return the offset of its height field. */
static size_t sof_dims_offset(const uint8_t *j, size_t n) {
  for (size_t i = 2; i + 9 < n; i++)
    if (j[i] == 0xFF && (j[i + 1] == 0xC0 || j[i + 1] == 0xC1 || j[i + 1] == 0xC2)) return i + 5;
  fail_msg("no SOF marker");
  return 0;
}

static void test_limits_bombs(void **state) {
  (void)state;
  NEED_SAMPLE(buf, len);
  fg_image small, d;
  fg_error e;
  small_photo(buf, len, 64, 48, &small);

  /* JPEG whose SOF claims 60000 x 60000: refused from the header */
  size_t jl;
  uint8_t *j = jpeg_encode(&small, 80, TJSAMP_420, &jl);
  size_t o = sof_dims_offset(j, jl);
  fg__put_be16(j + o, 60000);
  fg__put_be16(j + o + 2, 60000);
  assert_int_equal(fg_image_decode(j, jl, NULL, &d, &e), FG_ELIMIT);
  assert_non_null(strstr(e.msg, "60000x60000"));
  assert_null(d.data);
  assert_int_equal(fg_image_decode_jpeg_scaled(j, jl, NULL, 320, &d, NULL, NULL, &e), FG_ELIMIT);
  assert_int_equal(fg_image_decode_region(j, jl, NULL, 0, 0, 8, 8, &d, &e), FG_ELIMIT);
  free(j);

  /* the sample photo against a small pixel limit, and a small byte limit */
  fg_image_limits lim = {.max_pixels = 1000};
  assert_int_equal(fg_image_decode(buf, len, &lim, &d, &e), FG_ELIMIT);
  fg_image_limits lb = {.max_bytes = 1000};
  assert_int_equal(fg_image_decode(buf, len, &lb, &d, &e), FG_ELIMIT);

  /* PNG whose IHDR claims 60000 x 60000 (CRC recomputed) */
  size_t pl;
  uint8_t *p;
  assert_int_equal(fg_image_encode_png(&small, &p, &pl, &e), FG_OK);
  fg__put_be32(p + 16, 60000);
  fg__put_be32(p + 20, 60000);
  fg__put_be32(p + 29, crc32_png(p + 12, 17));
  assert_int_equal(fg_image_decode(p, pl, NULL, &d, &e), FG_ELIMIT);
  free(p);

  /* J2K whose SIZ claims 60000 x 60000 */
  uint8_t *k = j2k_encode(&small, 0, &jl);
  fg__put_be32(k + 8, 60000);
  fg__put_be32(k + 12, 60000);
  assert_int_equal(fg_image_decode(k, jl, NULL, &d, &e), FG_ELIMIT);
  fg__put_be32(k + 8, 64); /* zero height: x1 == x0 */
  fg__put_be32(k + 12, 0);
  assert_int_equal(fg_image_decode(k, jl, NULL, &d, &e), FG_EFORMAT);
  free(k);

  /* PPM header claiming 60000 x 60000 with no data */
  const char *ppm = "P6 60000 60000 255\n";
  assert_int_equal(fg_image_decode((const uint8_t *)ppm, strlen(ppm), NULL, &d, &e), FG_ELIMIT);

  fg_image_release(&small);
  free(buf);
}

static void test_empty_and_garbage(void **state) {
  (void)state;
  fg_image d;
  fg_error e;
  uint8_t z = 0;
  assert_int_equal(fg_image_decode(&z, 0, NULL, &d, &e), FG_EFORMAT);
  assert_int_equal(fg_image_decode(NULL, 0, NULL, &d, &e), FG_EFORMAT);
  assert_int_equal(fg_image_decode(NULL, 5, NULL, &d, &e), FG_EINVAL);
  assert_int_equal(fg_image_decode(&z, 1, NULL, NULL, &e), FG_EINVAL);
  uint8_t g[4096];
  uint32_t s = 12345;
  static const uint8_t *const magic[] = {
      (const uint8_t *)"", (const uint8_t *)"\xFF\xD8\xFF", (const uint8_t *)"\x89PNG\r\n\x1A\n",
      (const uint8_t *)"\xFF\x4F\xFF\x51", (const uint8_t *)"\0\0\0\x0CjP  \r\n\x87\n",
      (const uint8_t *)"P6\n", (const uint8_t *)"\x75\x82\x0F\xF0\x7F\x61"};
  static const size_t mlen[] = {0, 3, 8, 4, 12, 3, 6};
  for (int round = 0; round < 200; round++) {
    for (size_t i = 0; i < sizeof g; i++) {
      s = s * 1103515245u + 12345u;
      g[i] = (uint8_t)(s >> 16);
    }
    int m = round % 7;
    memcpy(g, magic[m], mlen[m]);
    size_t n = 16 + (size_t)(s % (sizeof g - 16));
    int rc = fg_image_decode(g, n, NULL, &d, &e);
    assert_true(rc == FG_EFORMAT || rc == FG_EUNSUPPORTED || rc == FG_ELIMIT);
    assert_null(d.data);
  }
  assert_int_equal(fg_image_decode_file("/nonexistent/x.jpg", NULL, &d, &e), FG_ENOTFOUND);
  assert_non_null(strstr(e.msg, "/nonexistent/x.jpg"));
}

/* Decoding every listed prefix of `b` must fail cleanly. */
static void expect_truncations_fail(const uint8_t *b, size_t n, const char *what) {
  fg_image d;
  fg_error e;
  size_t cuts[80];
  int nc = 0;
  for (size_t c = 0; c < 40; c++) cuts[nc++] = c * n / 40;
  for (size_t c = 1; c <= 24 && c < n; c++) cuts[nc++] = n - c;
  for (int i = 0; i < nc; i++) {
    int rc = fg_image_decode(b, cuts[i], NULL, &d, &e);
    if (rc != FG_EFORMAT)
      fail_msg("%s truncated to %zu of %zu bytes: %s (%s), expected FG_EFORMAT", what, cuts[i], n,
               fg_err_name(rc), rc ? e.msg : "decoded");
    assert_null(d.data);
  }
}

static void test_truncated_inputs(void **state) {
  (void)state;
  NEED_SAMPLE(buf, len);
  fg_image small;
  fg_error e;
  expect_truncations_fail(buf, len, "sample1.jpg");
  small_photo(buf, len, 96, 64, &small);
  size_t n;
  uint8_t *j = jpeg_encode(&small, 90, TJSAMP_420, &n);
  seed("baseline420.jpg", j, n);
  expect_truncations_fail(j, n, "jpeg");
  free(j);
  /* progressive JPEG */
  tjhandle tj = tjInitCompress();
  unsigned char *pj = NULL;
  unsigned long pn = 0;
  assert_int_equal(tjCompress2(tj, small.data, 96, 0, 64, TJPF_RGB, &pj, &pn, TJSAMP_420, 90,
                               TJFLAG_PROGRESSIVE), 0);
  seed("progressive.jpg", pj, pn);
  tjDestroy(tj);
  expect_truncations_fail(pj, pn, "progressive jpeg");
  tjFree(pj);
  uint8_t *p;
  assert_int_equal(fg_image_encode_png(&small, &p, &n, &e), FG_OK);
  expect_truncations_fail(p, n, "png");
  free(p);
  for (int jp2 = 0; jp2 <= 1; jp2++) {
    p = j2k_encode(&small, jp2, &n);
    expect_truncations_fail(p, n, jp2 ? "jp2" : "j2k");
    free(p);
  }
  fg_image_release(&small);
  free(buf);
}

/* ---- scaled and region decodes ------------------------------------------------------ */

static void test_scaled_decode(void **state) {
  (void)state;
  NEED_SAMPLE(buf, len);
  fg_image full, sc, ref;
  fg_error e;
  int num, den;
  assert_int_equal(fg_image_decode(buf, len, NULL, &full, &e), FG_OK);
  assert_int_equal(fg_image_decode_jpeg_scaled(buf, len, NULL, 320, &sc, &num, &den, &e), FG_OK);
  assert_int_equal(num, 1);
  assert_int_equal(den, 4); /* 1/8 would give 240 < 320 */
  assert_int_equal(sc.width, 480);
  assert_int_equal(sc.height, 320);
  assert_int_equal(fg_image_resize_area(&full, 480, 320, &ref, &e), FG_OK);
  int maxd;
  assert_true(mean_abs_diff(&sc, &ref, &maxd) < 3.0);
  fg_image_release(&sc);
  fg_image_release(&ref);
  assert_int_equal(fg_image_decode_jpeg_scaled(buf, len, NULL, 200, &sc, &num, &den, &e), FG_OK);
  assert_int_equal(den, 8);
  assert_int_equal(sc.width, 240);
  fg_image_release(&sc);
  assert_int_equal(fg_image_decode_jpeg_scaled(buf, len, NULL, 1000, &sc, &num, &den, &e), FG_OK);
  assert_int_equal(den, 1);
  assert_same_image(&sc, &full);
  fg_image_release(&sc);
  assert_int_equal(fg_image_decode_jpeg_scaled(buf, len, NULL, 0, &sc, &num, &den, &e), FG_OK);
  assert_int_equal(den, 1);
  fg_image_release(&sc);
  /* odd sizes round up: 1921 / 4 -> 481 */
  fg_image odd;
  assert_int_equal(fg_image_resize_bilinear(&full, 1921, 1279, &odd, &e), FG_OK);
  size_t jl;
  uint8_t *j = jpeg_encode(&odd, 85, TJSAMP_420, &jl);
  assert_int_equal(fg_image_decode_jpeg_scaled(j, jl, NULL, 320, &sc, &num, &den, &e), FG_OK);
  assert_int_equal(sc.width, 481);
  assert_int_equal(sc.height, 320);
  fg_image_release(&sc);
  free(j);
  fg_image_release(&odd);
  /* a PNG comes back at 1/1 */
  fg_image tiny;
  assert_int_equal(fg_image_resize_area(&full, 100, 50, &tiny, &e), FG_OK);
  uint8_t *p;
  assert_int_equal(fg_image_encode_png(&tiny, &p, &jl, &e), FG_OK);
  assert_int_equal(fg_image_decode_jpeg_scaled(p, jl, NULL, 10, &sc, &num, &den, &e), FG_OK);
  assert_int_equal(num, 1);
  assert_int_equal(den, 1);
  assert_same_image(&sc, &tiny);
  fg_image_release(&sc);
  free(p);
  fg_image_release(&tiny);
  fg_image_release(&full);
  free(buf);
}

/* The scaled region decode (libjpeg: columns cropped, rows above skipped,
 * decoding stopped after the region) against the same pixels cut from a
 * whole decode at the same DCT scale. The crop is widened by an iMCU on each
 * side before the cut, so the chroma upsampling at the crop edges stays
 * outside the region: the pixels must be identical (tolerance 0), in every
 * EXIF orientation. */
static void test_region_decode_scaled(void **state) {
  (void)state;
  NEED_SAMPLE(buf, len);
  fg_image reg, ref, scaled;
  fg_error e;
  static const int rects[][4] = {{0, 0, 64, 64},     {701, 333, 250, 310}, {1800, 1200, 120, 80},
                                 {5, 1279, 1915, 1}, {0, 0, 1920, 1280},   {1919, 0, 1, 1280},
                                 {1001, 7, 3, 5}};
  static const int side[4] = {0, 960, 480, 240}; /* -> 1/1, 1/2, 1/4, 1/8 of 1920x1280 */
  for (int d = 0; d < 4; d++) {
    int den = 1 << d, num, sden;
    assert_int_equal(fg_image_decode_jpeg_scaled(buf, len, NULL, side[d], &scaled, &num, &sden, &e), FG_OK);
    assert_int_equal(sden, den);
    for (size_t i = 0; i < sizeof rects / sizeof rects[0]; i++) {
      const int *r = rects[i];
      int ox, oy, od;
      assert_int_equal(
          fg__image_decode_region_scaled(buf, len, NULL, r[0], r[1], r[2], r[3], den, &reg, &ox, &oy, &od, &e),
          FG_OK);
      assert_int_equal(od, den);
      /* the fewest scaled pixels covering the region */
      assert_int_equal(ox, r[0] / den * den);
      assert_int_equal(oy, r[1] / den * den);
      assert_int_equal(reg.width, (r[0] + r[2] + den - 1) / den - r[0] / den);
      assert_int_equal(reg.height, (r[1] + r[3] + den - 1) / den - r[1] / den);
      assert_int_equal(fg_image_crop(&scaled, ox / den, oy / den, reg.width, reg.height, &ref, &e), FG_OK);
      int maxd;
      double mad = mean_abs_diff(&reg, &ref, &maxd);
      if (maxd != 0) fail_msg("1/%d region %zu: mean diff %.3f max %d", den, i, mad, maxd);
      fg_image_release(&reg);
      fg_image_release(&ref);
    }
    fg_image_release(&scaled);
  }
  int ox, oy, od;
  assert_int_equal(fg__image_decode_region_scaled(buf, len, NULL, 0, 0, 8, 8, 3, &reg, &ox, &oy, &od, &e),
                   FG_EINVAL);
  assert_int_equal(fg__image_decode_region_scaled(buf, len, NULL, 1900, 0, 21, 10, 2, &reg, &ox, &oy, &od, &e),
                   FG_EINVAL);
  assert_null(reg.data);

  /* EXIF orientation: (ox, oy) in the displayed image, pixels as the
   * displayed image's own scaled decode (160 x 96 is a multiple of 8) */
  fg_image small;
  small_photo(buf, len, 160, 96, &small);
  size_t jl, xl;
  uint8_t *j = jpeg_encode(&small, 92, TJSAMP_420, &jl);
  for (int o = 1; o <= 8; o++) {
    uint8_t *x = with_exif(j, jl, o, 0, &xl);
    for (int d = 0; d < 3; d++) {
      int den = 1 << d, num, sden;
      assert_int_equal(fg_image_decode_jpeg_scaled(x, xl, NULL, d ? 160 / den : 0, &scaled, &num, &sden, &e),
                       FG_OK);
      assert_int_equal(sden, den);
      int rx = 13, ry = 21, rw = 40, rh = 50;
      assert_int_equal(fg__image_decode_region_scaled(x, xl, NULL, rx, ry, rw, rh, den, &reg, &ox, &oy, &od, &e),
                       FG_OK);
      assert_true(ox <= rx && oy <= ry && ox + reg.width * den >= rx + rw && oy + reg.height * den >= ry + rh);
      assert_int_equal(ox % den, 0);
      assert_int_equal(oy % den, 0);
      assert_int_equal(fg_image_crop(&scaled, ox / den, oy / den, reg.width, reg.height, &ref, &e), FG_OK);
      int maxd;
      double mad = mean_abs_diff(&reg, &ref, &maxd);
      if (maxd != 0) fail_msg("orientation %d, 1/%d: region mean diff %.3f max %d", o, den, mad, maxd);
      fg_image_release(&reg);
      fg_image_release(&ref);
      fg_image_release(&scaled);
    }
    free(x);
  }

  /* Damage inside or above the region is an error, never a partial image;
   * the plain region decode reads the whole file, so a cut below the region
   * is an error there too. */
  size_t cut = len / 2;
  assert_int_equal(fg__image_decode_region_scaled(buf, cut, NULL, 0, 1200, 64, 64, 1, &reg, &ox, &oy, &od, &e),
                   FG_EFORMAT);
  assert_null(reg.data);
  assert_int_equal(fg_image_decode_region(buf, cut, NULL, 0, 0, 64, 64, &reg, &e), FG_EFORMAT);
  assert_null(reg.data);
  uint8_t *bad = malloc(len);
  memcpy(bad, buf, len);
  for (size_t i = len / 3; i < len / 3 + 64; i++) bad[i] = (uint8_t)(bad[i] * 31 + 7);
  int rc = fg__image_decode_region_scaled(bad, len, NULL, 0, 1200, 1920, 80, 2, &reg, &ox, &oy, &od, &e);
  if (rc == FG_OK) fail_msg("corrupt data decoded");
  assert_null(reg.data);
  free(bad);
  free(j);
  fg_image_release(&small);
  free(buf);
}

static void test_region_decode(void **state) {
  (void)state;
  NEED_SAMPLE(buf, len);
  fg_image full, reg, ref;
  fg_error e;
  assert_int_equal(fg_image_decode(buf, len, NULL, &full, &e), FG_OK);
  static const int rects[][4] = {{0, 0, 64, 64},      {701, 333, 250, 310}, {1800, 1200, 120, 80},
                                 {5, 1279, 1915, 1},  {0, 0, 1920, 1280},   {1919, 0, 1, 1280}};
  for (size_t i = 0; i < sizeof rects / sizeof rects[0]; i++) {
    const int *r = rects[i];
    assert_int_equal(fg_image_decode_region(buf, len, NULL, r[0], r[1], r[2], r[3], &reg, &e),
                     FG_OK);
    assert_int_equal(fg_image_crop(&full, r[0], r[1], r[2], r[3], &ref, &e), FG_OK);
    /* chroma upsampling at the cut edges may differ slightly from the full decode */
    int maxd;
    double mad = mean_abs_diff(&reg, &ref, &maxd);
    if (mad > 0.5 || maxd > 40) fail_msg("region %zu: mean diff %.3f max %d", i, mad, maxd);
    fg_image_release(&reg);
    fg_image_release(&ref);
  }
  assert_int_equal(fg_image_decode_region(buf, len, NULL, 1900, 0, 21, 10, &reg, &e), FG_EINVAL);
  assert_int_equal(fg_image_decode_region(buf, len, NULL, -1, 0, 10, 10, &reg, &e), FG_EINVAL);
  assert_int_equal(fg_image_decode_region(buf, len, NULL, 0, 0, 0, 10, &reg, &e), FG_EINVAL);

  /* with EXIF orientation: coordinates are in the displayed image */
  fg_image small;
  small_photo(buf, len, 160, 96, &small);
  size_t jl, xl;
  uint8_t *j = jpeg_encode(&small, 92, TJSAMP_444, &jl);
  for (int o = 1; o <= 8; o++) {
    uint8_t *x = with_exif(j, jl, o, 0, &xl);
    fg_image shown;
    assert_int_equal(fg_image_decode(x, xl, NULL, &shown, &e), FG_OK);
    int rx = 13, ry = 21, rw = 40, rh = 50;
    assert_int_equal(fg_image_decode_region(x, xl, NULL, rx, ry, rw, rh, &reg, &e), FG_OK);
    assert_int_equal(fg_image_crop(&shown, rx, ry, rw, rh, &ref, &e), FG_OK);
    int maxd;
    double mad = mean_abs_diff(&reg, &ref, &maxd);
    if (mad > 0.5) fail_msg("orientation %d: region mean diff %.3f", o, mad);
    fg_image_release(&reg);
    fg_image_release(&ref);
    fg_image_release(&shown);
    free(x);
  }
  free(j);
  fg_image_release(&small);
  fg_image_release(&full);
  free(buf);
}

/* ---- pixel operations ----------------------------------------------------------------- */

static void fill_pattern(fg_image *img, int w, int h, int c) {
  fg_error e;
  assert_int_equal(fg_image_init(img, w, h, c, &e), FG_OK);
  for (size_t i = 0; i < (size_t)w * h * c; i++) img->data[i] = (uint8_t)((i * 37 + i / 7) & 0xFF);
}

static void test_crop_grey_flip(void **state) {
  (void)state;
  fg_image a, b, c;
  fg_error e;
  fill_pattern(&a, 17, 11, 3);
  assert_int_equal(fg_image_crop(&a, 3, 2, 5, 4, &b, &e), FG_OK);
  assert_int_equal(b.width, 5);
  assert_memory_equal(b.data, a.data + (2 * 17 + 3) * 3, 15);
  assert_memory_equal(b.data + 15 * 3, a.data + (5 * 17 + 3) * 3, 15);
  fg_image_release(&b);
  assert_int_equal(fg_image_crop(&a, 13, 0, 5, 4, &b, &e), FG_EINVAL);
  assert_int_equal(fg_image_crop(&a, 0, 0, 17, 11, &b, &e), FG_OK);
  assert_same_image(&a, &b);
  fg_image_release(&b);
  assert_int_equal(fg_image_crop(&a, 0, 0, 1, 1, &a, &e), FG_EINVAL); /* aliasing refused */

  assert_int_equal(fg_image_to_grey(&a, &b, &e), FG_OK);
  const uint8_t *p = a.data + 5 * 3;
  assert_int_equal(b.data[5], (77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
  assert_int_equal(fg_image_to_rgb(&b, &c, &e), FG_OK);
  assert_int_equal(c.data[15], b.data[5]);
  assert_int_equal(c.data[17], b.data[5]);
  fg_image_release(&c);
  fg_image_release(&b);

  assert_int_equal(fg_image_flip_horizontal(&a, &b, &e), FG_OK);
  assert_memory_equal(b.data, a.data + 16 * 3, 3);
  assert_int_equal(fg_image_flip_horizontal(&b, &c, &e), FG_OK);
  assert_same_image(&a, &c);
  fg_image_release(&c);
  fg_image_release(&b);
  fg_image_release(&a);

  fg_image bad = {0};
  assert_int_equal(fg_image_to_grey(&bad, &b, &e), FG_EINVAL);
  assert_int_equal(fg_image_init(&bad, 0, 5, 3, &e), FG_EINVAL);
  assert_int_equal(fg_image_init(&bad, 5, 5, 2, &e), FG_EINVAL);
}

static void test_resize(void **state) {
  (void)state;
  fg_image a, b, c;
  fg_error e;
  fill_pattern(&a, 31, 23, 3);
  /* same size: identity */
  assert_int_equal(fg_image_resize_bilinear(&a, 31, 23, &b, &e), FG_OK);
  assert_same_image(&a, &b);
  fg_image_release(&b);
  assert_int_equal(fg_image_resize_area(&a, 31, 23, &b, &e), FG_OK);
  assert_same_image(&a, &b);
  fg_image_release(&b);
  fg_image_release(&a);

  /* constant stays constant */
  assert_int_equal(fg_image_init(&a, 50, 40, 1, &e), FG_OK);
  memset(a.data, 77, 2000);
  assert_int_equal(fg_image_resize_bilinear(&a, 13, 91, &b, &e), FG_OK);
  for (int i = 0; i < 13 * 91; i++) assert_int_equal(b.data[i], 77);
  fg_image_release(&b);
  assert_int_equal(fg_image_resize_area(&a, 7, 6, &b, &e), FG_OK);
  for (int i = 0; i < 42; i++) assert_int_equal(b.data[i], 77);
  fg_image_release(&b);
  fg_image_release(&a);

  /* area 2x reduction is the 2x2 mean; bilinear 2x enlargement interpolates */
  assert_int_equal(fg_image_init(&a, 4, 2, 1, &e), FG_OK);
  memcpy(a.data, "\x00\x64\xC8\xC8\x64\x64\x00\x00", 8); /* 0 100 200 200 / 100 100 0 0 */
  assert_int_equal(fg_image_resize_area(&a, 2, 1, &b, &e), FG_OK);
  assert_int_equal(b.data[0], 75);
  assert_int_equal(b.data[1], 100);
  fg_image_release(&b);
  fg_image_release(&a);
  assert_int_equal(fg_image_init(&a, 2, 1, 1, &e), FG_OK);
  a.data[0] = 0;
  a.data[1] = 200;
  assert_int_equal(fg_image_resize_bilinear(&a, 4, 1, &b, &e), FG_OK);
  /* centres: dst 0..3 -> src -0.25, 0.25, 0.75, 1.25 -> 0, 50, 150, 200 */
  assert_int_equal(b.data[0], 0);
  assert_int_equal(b.data[1], 50);
  assert_int_equal(b.data[2], 150);
  assert_int_equal(b.data[3], 200);
  fg_image_release(&b);
  /* an enlargement through resize_area falls back to bilinear */
  assert_int_equal(fg_image_resize_area(&a, 4, 1, &c, &e), FG_OK);
  assert_int_equal(c.data[1], 50);
  fg_image_release(&c);
  assert_int_equal(fg_image_resize_bilinear(&a, 0, 1, &b, &e), FG_EINVAL);
  fg_image_release(&a);
}

/* The area resize's SIMD passes (SSE2 on x86-64) against their portable
 * scalar twins: the same float operations in the same order, so identical
 * bytes; on a real photo (the detector's and the face stages' reductions)
 * and on patterns of awkward sizes (row lengths that are not a multiple of
 * the vector width, grey and RGB, integer and fractional factors). */
static void test_resize_area_simd_matches_scalar(void **state) {
  (void)state;
  fg_error e;
  fg_image srcs[4];
  int ns = 0;
  size_t len;
  uint8_t *jpg = sample_jpeg(&len);
  if (jpg) {
    assert_int_equal(fg_image_decode(jpg, len, NULL, &srcs[ns], &e), FG_OK);
    assert_int_equal(fg_image_to_grey(&srcs[ns], &srcs[ns + 1], &e), FG_OK);
    ns += 2;
    free(jpg);
  }
  fill_pattern(&srcs[ns++], 37, 29, 3);
  fill_pattern(&srcs[ns++], 53, 17, 1);
  static const double f[][2] = {{1, 1}, {1.0 / 3, 1.0 / 3}, {0.5, 0.5}, {2.0 / 3, 2.0 / 3}, {0.3, 0.45},
                                {0.07, 0.11}, {0.999, 0.5}, {1.0 / 17, 1.0 / 29}};
  for (int i = 0; i < ns; i++)
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
      int w = (int)(srcs[i].width * f[k][0]), h = (int)(srcs[i].height * f[k][1]);
      if (w < 1) w = 1;
      if (h < 1) h = 1;
      fg_image a, b;
      assert_int_equal(fg__image_resize_area_impl(&srcs[i], w, h, &a, 0, &e), FG_OK);
      assert_int_equal(fg__image_resize_area_impl(&srcs[i], w, h, &b, 1, &e), FG_OK);
      assert_same_image(&a, &b);
      fg_image_release(&a);
      fg_image_release(&b);
    }
  /* A rectangle read in place gives the bytes of a crop then a resize. */
  for (int i = 0; i < ns; i++) {
    const fg_image *im = &srcs[i];
    int x = im->width / 5, y = im->height / 7, w = im->width / 2 + 1, h = im->height / 3 + 1;
    fg_image cut, a, b;
    assert_int_equal(fg_image_crop(im, x, y, w, h, &cut, &e), FG_OK);
    for (int k = 1; k <= 3; k++) {
      int dw = w * 2 / (k + 2) > 0 ? w * 2 / (k + 2) : 1, dh = h / k > 0 ? h / k : 1;
      assert_int_equal(fg__image_resize_area_rect(im, x, y, w, h, dw, dh, &a, 1, &e), FG_OK);
      assert_int_equal(fg_image_resize_area(&cut, dw, dh, &b, &e), FG_OK);
      assert_same_image(&a, &b);
      fg_image_release(&a);
      fg_image_release(&b);
    }
    fg_image_release(&cut);
    assert_int_equal(fg__image_resize_area_rect(im, x, y, w, h, w + 1, h, &a, 1, &e), FG_EINVAL);
    assert_int_equal(fg__image_resize_area_rect(im, x + w, y, w * 2, h, 1, 1, &a, 1, &e), FG_EINVAL);
  }
  for (int i = 0; i < ns; i++) fg_image_release(&srcs[i]);
}

static void test_warp(void **state) {
  (void)state;
  fg_image a, b, c;
  fg_error e;
  fill_pattern(&a, 40, 30, 3);
  const float id[6] = {1, 0, 0, 0, 1, 0};
  for (int br = 0; br <= 1; br++) {
    assert_int_equal(fg_image_warp_affine(&a, id, 40, 30, (fg_image_border)br, &b, &e), FG_OK);
    assert_same_image(&a, &b);
    fg_image_release(&b);
  }
  /* integer translation: out(x,y) = src(x+3, y-2) */
  const float tr[6] = {1, 0, 3, 0, 1, -2};
  assert_int_equal(fg_image_warp_affine(&a, tr, 40, 30, FG_IMAGE_BORDER_ZERO, &b, &e), FG_OK);
  assert_int_equal(fg_image_warp_affine(&a, tr, 40, 30, FG_IMAGE_BORDER_REPLICATE, &c, &e), FG_OK);
  for (int y = 0; y < 30; y++)
    for (int x = 0; x < 40; x++) {
      int sx = x + 3, sy = y - 2;
      const uint8_t *pb = b.data + ((size_t)y * 40 + x) * 3, *pc = c.data + ((size_t)y * 40 + x) * 3;
      if (sx < 40 && sy >= 0) {
        assert_memory_equal(pb, a.data + ((size_t)sy * 40 + sx) * 3, 3);
        assert_memory_equal(pc, pb, 3);
      } else {
        assert_int_equal(pb[0] | pb[1] | pb[2], 0);
        int cx = sx > 39 ? 39 : sx, cy = sy < 0 ? 0 : sy;
        assert_memory_equal(pc, a.data + ((size_t)cy * 40 + cx) * 3, 3);
      }
    }
  fg_image_release(&b);
  fg_image_release(&c);
  /* half-pixel shift averages neighbours */
  const float half[6] = {1, 0, 0.5f, 0, 1, 0};
  assert_int_equal(fg_image_warp_affine(&a, half, 10, 10, FG_IMAGE_BORDER_ZERO, &b, &e), FG_OK);
  assert_int_equal(b.data[0], (a.data[0] + a.data[3] + 1) / 2);
  fg_image_release(&b);
  /* scaling by 2 then back through the inverse */
  const float sc[6] = {0.5f, 0, 0, 0, 0.5f, 0};
  float inv[6];
  assert_int_equal(fg_image_affine_invert(sc, inv), FG_OK);
  assert_true(fabsf(inv[0] - 2) < 1e-6f && fabsf(inv[4] - 2) < 1e-6f);
  const float rot[6] = {0.8f, -0.6f, 5, 0.6f, 0.8f, -3};
  assert_int_equal(fg_image_affine_invert(rot, inv), FG_OK);
  float x = 7, y = 11, u = rot[0] * x + rot[1] * y + rot[2], v = rot[3] * x + rot[4] * y + rot[5];
  assert_true(fabsf(inv[0] * u + inv[1] * v + inv[2] - x) < 1e-4f);
  assert_true(fabsf(inv[3] * u + inv[4] * v + inv[5] - y) < 1e-4f);
  const float sing[6] = {1, 2, 0, 2, 4, 0};
  assert_int_equal(fg_image_affine_invert(sing, inv), FG_EINVAL);
  const float nanm[6] = {NAN, 0, 0, 0, 1, 0};
  assert_int_equal(fg_image_warp_affine(&a, nanm, 4, 4, FG_IMAGE_BORDER_ZERO, &b, &e), FG_EINVAL);
  /* far outside: all zero, no crash */
  const float far[6] = {1, 0, 1e30f, 0, 1, -1e30f};
  assert_int_equal(fg_image_warp_affine(&a, far, 4, 4, FG_IMAGE_BORDER_ZERO, &b, &e), FG_OK);
  for (int i = 0; i < 48; i++) assert_int_equal(b.data[i], 0);
  fg_image_release(&b);
  fg_image_release(&a);
}

static void test_png_write_file(void **state) {
  (void)state;
  fg_image a, b;
  fg_error e;
  fill_pattern(&a, 33, 21, 3);
  char path[] = "/tmp/fg_test_image_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(fg_image_write_png(path, &a, &e), FG_OK);
  assert_int_equal(fg_image_decode_file(path, NULL, &b, &e), FG_OK);
  assert_same_image(&a, &b);
  fg_image_release(&b);
  unlink(path);
  assert_int_equal(fg_image_write_png("/nonexistent-dir/x.png", &a, &e), FG_EIO);
  fg_image_release(&a);
  uint8_t *p;
  size_t n;
  assert_int_equal(fg_image_encode_png(&a, &p, &n, &e), FG_EINVAL);
  assert_null(p);
}

/* ---- fuzz-found inputs ------------------------------------------------------------------ */

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
    if (strncmp(de->d_name, "image-", 6) != 0) continue;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    size_t len;
    uint8_t *b = tu_read(path, &len);
    fg_image_limits lim = {.max_bytes = 1 << 20, .max_pixels = 1 << 22};
    fg_image d;
    fg_error e;
    int rc = fg_image_decode(b, len, &lim, &d, &e);
    regress_expect(de->d_name, 6, rc, e.msg);
    if (rc == FG_OK) fg_image_release(&d);
    int num, den;
    if (fg_image_decode_jpeg_scaled(b, len, &lim, 64, &d, &num, &den, &e) == FG_OK)
      fg_image_release(&d);
    if (fg_image_decode_region(b, len, &lim, 1, 1, 4, 4, &d, &e) == FG_OK) fg_image_release(&d);
    free(b);
    n++;
  }
  closedir(dp);
  fprintf(stderr, "[          ] %d fuzz regression inputs re-run\n", n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sniff),
      cmocka_unit_test(test_jpeg_sample),
      cmocka_unit_test(test_jpeg_grey),
      cmocka_unit_test(test_jpeg_cmyk),
      cmocka_unit_test(test_png_formats),
      cmocka_unit_test(test_j2k_formats),
      cmocka_unit_test(test_j2k_variants),
      cmocka_unit_test(test_pnm_formats),
      cmocka_unit_test(test_lfw_jpegs),
      cmocka_unit_test(test_exif_orientation_6_photo),
      cmocka_unit_test(test_exif_all_orientations),
      cmocka_unit_test(test_exif_parser_malformed),
      cmocka_unit_test(test_limits_bombs),
      cmocka_unit_test(test_empty_and_garbage),
      cmocka_unit_test(test_truncated_inputs),
      cmocka_unit_test(test_scaled_decode),
      cmocka_unit_test(test_region_decode),
      cmocka_unit_test(test_region_decode_scaled),
      cmocka_unit_test(test_crop_grey_flip),
      cmocka_unit_test(test_resize),
      cmocka_unit_test(test_resize_area_simd_matches_scalar),
      cmocka_unit_test(test_warp),
      cmocka_unit_test(test_png_write_file),
      cmocka_unit_test(test_fuzz_regressions),
  };
  return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}
