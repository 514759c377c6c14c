/*
 * JPEG through libjpeg-turbo (2.1): whole and reduced-size decodes through
 * the TurboJPEG API (header-first, so the pixel limit is checked before any
 * pixel memory exists; DCT-domain scaling), region decodes through the libjpeg
 * API underneath it (partial decode: TurboJPEG 2.1 has none; see below).
 *
 * libjpeg treats much damage as a "warning" and would hand back a partly grey
 * image (a truncated file gets a fake end-of-image marker). We decode with
 * TJFLAG_STOPONWARNING, so the first warning aborts; a warning on the short
 * list of harmless ones (extraneous bytes before a marker, an unknown JFIF
 * revision...) triggers one retry without that flag, and the retry is accepted
 * only if its last warning is harmless too. Premature end of data, bad Huffman
 * codes and every other warning are errors (FG_EFORMAT).
 *
 * Every call creates and destroys its own TurboJPEG handle, so all of this is
 * reentrant. TJFLAG_LIMITSCANS caps progressive scans (a known CPU bomb).
 */
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "image/image_internal.h"

#define JPEG_FLAGS (TJFLAG_LIMITSCANS | TJFLAG_STOPONWARNING)

static int warning_is_benign(const char *m) {
  static const char *const ok[] = {
      "extraneous bytes before marker", "unknown JFIF revision", "Unknown Adobe color transform",
      "Invalid SOS parameters for sequential JPEG", "thumbnail image size does not match",
      "Unknown APP0 marker", "Unknown APP14 marker"};
  if (!m) return 0;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (strstr(m, ok[i])) return 1;
  return 0;
}

static int tj_error(tjhandle tj, const char *what, fg_error *err) {
  const char *m = tjGetErrorStr2(tj);
  int code = FG_EFORMAT;
  if (m && strstr(m, "emory")) code = FG_ENOMEM; /* "Memory allocation failure" */
  return fg__seterr(err, code, "jpeg: %s: %s", what, m ? m : "unknown error");
}

static int read_header(tjhandle tj, const uint8_t *buf, size_t len, int *w, int *h, int *ss,
                       int *cs, fg_error *err) {
  /* TurboJPEG 2.1 returns success WITHOUT filling the outputs when the data
   * ends before a frame header (it takes that for a tables-only stream). */
  *w = *h = 0;
  *ss = *cs = -1;
  if (tjDecompressHeader3(tj, buf, (unsigned long)len, w, h, ss, cs) != 0)
    return tj_error(tj, "header", err);
  if (*w <= 0 || *h <= 0)
    return fg__seterr(err, FG_EFORMAT, "jpeg: no frame header (truncated or tables-only data)");
  return FG_OK;
}

/* Run one TurboJPEG operation with the warning policy above: op(flags) returns
 * non-zero on error or warning. */
typedef int (*tj_op)(void *ctx, int flags);

static int run_strict(tjhandle tj, tj_op op, void *ctx, const char *what, fg_error *err) {
  if (op(ctx, JPEG_FLAGS) == 0) return FG_OK;
  if (tjGetErrorCode(tj) == TJERR_FATAL || !warning_is_benign(tjGetErrorStr2(tj)))
    return tj_error(tj, what, err);
  if (op(ctx, JPEG_FLAGS & ~TJFLAG_STOPONWARNING) == 0) return FG_OK;
  if (tjGetErrorCode(tj) == TJERR_FATAL || !warning_is_benign(tjGetErrorStr2(tj)))
    return tj_error(tj, what, err);
  return FG_OK; /* only harmless warnings */
}

typedef struct decomp_ctx {
  tjhandle tj;
  const uint8_t *buf;
  size_t len;
  uint8_t *dst;
  int w, h, pf;
} decomp_ctx;

static int decomp_op(void *p, int flags) {
  decomp_ctx *c = p;
  return tjDecompress2(c->tj, c->buf, (unsigned long)c->len, c->dst, c->w, 0, c->h, c->pf, flags);
}

/* Decompress buf (header already read: colour space cs) to sw x sh pixels. */
/* Adobe-style (inverted) CMYK as libjpeg returns it, 4 bytes a pixel, turned
 * in place into RGB: R = C*K/255 etc. No colour management: good enough for a
 * face, documented as approximate. Returns the (possibly shrunk) buffer. */
static uint8_t *cmyk_to_rgb(uint8_t *px, size_t np) {
  for (size_t i = 0; i < np; i++) {
    unsigned k = px[4 * i + 3];
    px[3 * i + 0] = (uint8_t)((px[4 * i + 0] * k + 127) / 255);
    px[3 * i + 1] = (uint8_t)((px[4 * i + 1] * k + 127) / 255);
    px[3 * i + 2] = (uint8_t)((px[4 * i + 2] * k + 127) / 255);
  }
  uint8_t *shrunk = realloc(px, np * 3);
  return shrunk ? shrunk : px;
}

static int decompress(tjhandle tj, const uint8_t *buf, size_t len, int cs, int sw, int sh,
                      fg_image *out, fg_error *err) {
  memset(out, 0, sizeof *out);
  int cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
  int ch = cs == TJCS_GRAY ? 1 : 3;
  int pf = cs == TJCS_GRAY ? TJPF_GRAY : cmyk ? TJPF_CMYK : TJPF_RGB;
  size_t n;
  if (fg__mul_size((size_t)sw, (size_t)sh, &n) || fg__mul_size(n, cmyk ? 4 : (size_t)ch, &n))
    return fg__seterr(err, FG_ELIMIT, "jpeg: %dx%d: size overflows", sw, sh);
  uint8_t *px = malloc(n);
  if (!px) return fg__seterr(err, FG_ENOMEM, "jpeg: %dx%d: out of memory", sw, sh);
  decomp_ctx c = {tj, buf, len, px, sw, sh, pf};
  int rc = run_strict(tj, decomp_op, &c, "decode", err);
  if (rc) {
    free(px);
    return rc;
  }
  if (cmyk) px = cmyk_to_rgb(px, (size_t)sw * sh);
  out->width = sw;
  out->height = sh;
  out->channels = ch;
  out->data = px;
  return FG_OK;
}

int fg__jpeg_probe(const uint8_t *buf, size_t len, int *w, int *h, fg_error *err) {
  tjhandle tj = tjInitDecompress();
  if (!tj) return fg__seterr(err, FG_ENOMEM, "jpeg: cannot create a decompressor");
  int ss, cs;
  int rc = read_header(tj, buf, len, w, h, &ss, &cs, err);
  tjDestroy(tj);
  return rc;
}

int fg__jpeg_decode(const uint8_t *buf, size_t len, const fg_image_limits *lim, int max_side,
                    int *scale_num, int *scale_den, fg_image *out, fg_error *err) {
  memset(out, 0, sizeof *out);
  tjhandle tj = tjInitDecompress();
  if (!tj) return fg__seterr(err, FG_ENOMEM, "jpeg: cannot create a decompressor");
  int w, h, ss, cs, rc;
  if ((rc = read_header(tj, buf, len, &w, &h, &ss, &cs, err))) goto done;
  if ((rc = fg__image_check_dims((uint64_t)w, (uint64_t)h, lim, "jpeg", err))) goto done;
  int den = 1;
  if (max_side > 0) {
    int lng = w > h ? w : h;
    for (int d = 8; d >= 2; d /= 2)
      if ((lng + d - 1) / d >= max_side) {
        den = d;
        break;
      }
  }
  int sw = (w + den - 1) / den, sh = (h + den - 1) / den;
  rc = decompress(tj, buf, len, cs, sw, sh, out, err);
  if (rc == FG_OK) {
    *scale_num = 1;
    *scale_den = den;
  }
done:
  tjDestroy(tj);
  return rc;
}

/* ---- region decode through the libjpeg API ------------------------------------------
 *
 * TurboJPEG 2.1 has no partial decode, but the libjpeg API underneath it does:
 * jpeg_crop_scanline (columns, widened to iMCU boundaries) and
 * jpeg_skip_scanlines (rows above the region: their entropy-coded data is
 * still read, but nothing is inverse-transformed, upsampled or
 * colour-converted). With scale_num/scale_denom the region comes out reduced.
 * The same policy as above: a warning is an error unless it is on the benign
 * list (here checked as each warning arrives: no retry needed), progressive
 * images are limited to 500 scans (TJFLAG_LIMITSCANS's limit), errors
 * longjmp back here and are reported as FG_EFORMAT (FG_ENOMEM for allocation
 * failures). */

#include <setjmp.h>
#include <stdio.h>

#include <jpeglib.h>
#include <jerror.h>

#define JPEG_MAX_SCANS 500

typedef struct lj_err {
  struct jpeg_error_mgr pub;
  jmp_buf jb;
  int code;
  char msg[JMSG_LENGTH_MAX];
} lj_err;

static void lj_error_exit(j_common_ptr ci) {
  lj_err *e = (lj_err *)ci->err;
  (*ci->err->format_message)(ci, e->msg);
  e->code = ci->err->msg_code == JERR_OUT_OF_MEMORY ? FG_ENOMEM : FG_EFORMAT;
  longjmp(e->jb, 1);
}

static void lj_emit(j_common_ptr ci, int level) {
  if (level >= 0) return; /* trace messages */
  lj_err *e = (lj_err *)ci->err;
  char m[JMSG_LENGTH_MAX];
  (*ci->err->format_message)(ci, m);
  ci->err->num_warnings++;
  if (warning_is_benign(m)) return;
  memcpy(e->msg, m, sizeof m);
  e->code = FG_EFORMAT;
  longjmp(e->jb, 1);
}

static void lj_progress(j_common_ptr ci) {
  if (ci->is_decompressor) {
    j_decompress_ptr d = (j_decompress_ptr)ci;
    if (d->progressive_mode && d->input_scan_number > JPEG_MAX_SCANS) {
      lj_err *e = (lj_err *)ci->err;
      snprintf(e->msg, sizeof e->msg, "progressive JPEG image has more than %d scans", JPEG_MAX_SCANS);
      e->code = FG_ELIMIT;
      longjmp(e->jb, 1);
    }
  }
}

int fg__jpeg_decode_raw_region_scaled(const uint8_t *buf, size_t len, const fg_image_limits *lim, int x,
                                      int y, int w, int h, int den, int read_all, fg_image *out, int *sx,
                                      int *sy, fg_error *err) {
  memset(out, 0, sizeof *out);
  if (den != 1 && den != 2 && den != 4 && den != 8)
    return fg__seterr(err, FG_EINVAL, "jpeg: scale 1/%d (1, 2, 4 or 8)", den);
  if (len > (size_t)(unsigned long)-1) return fg__seterr(err, FG_ELIMIT, "jpeg: input too large");
  /* volatile: read after a longjmp */
  uint8_t *volatile px = NULL;
  uint8_t *volatile row = NULL;
  struct jpeg_decompress_struct ci;
  lj_err je;
  struct jpeg_progress_mgr prog;
  memset(&ci, 0, sizeof ci);
  ci.err = jpeg_std_error(&je.pub);
  je.pub.error_exit = lj_error_exit;
  je.pub.emit_message = lj_emit;
  je.code = FG_OK;
  je.msg[0] = 0;
  if (setjmp(je.jb)) {
    int code = je.code ? je.code : FG_EFORMAT;
    jpeg_destroy_decompress(&ci);
    free(px);
    free(row);
    memset(out, 0, sizeof *out);
    return fg__seterr(err, code, "jpeg: region: %s", je.msg);
  }
  jpeg_create_decompress(&ci);
  prog.progress_monitor = lj_progress;
  ci.progress = &prog;
  jpeg_mem_src(&ci, buf, (unsigned long)len);
  jpeg_read_header(&ci, TRUE);
  int rc;
  if ((rc = fg__image_check_dims(ci.image_width, ci.image_height, lim, "jpeg", err))) goto fail;
  int W = (int)ci.image_width, H = (int)ci.image_height;
  if (w <= 0 || h <= 0 || x < 0 || y < 0 || x > W - w || y > H - h) {
    rc = fg__seterr(err, FG_EINVAL, "jpeg: region %d,%d %dx%d is not inside %dx%d", x, y, w, h, W, H);
    goto fail;
  }
  int cmyk = ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK;
  int chn = ci.jpeg_color_space == JCS_GRAYSCALE ? 1 : 3;
  ci.out_color_space = chn == 1 ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
  ci.scale_num = 1;
  ci.scale_denom = (unsigned)den;
  ci.dct_method = JDCT_ISLOW; /* TurboJPEG's default: the same pixels as fg__jpeg_decode */
  jpeg_start_decompress(&ci);
  int SW = (int)ci.output_width, SH = (int)ci.output_height, oc = ci.output_components;
  /* The scaled pixels covering the region. */
  int x0 = x / den, y0 = y / den, x1 = (x + w + den - 1) / den, y1 = (y + h + den - 1) / den;
  if (x1 > SW) x1 = SW;
  if (y1 > SH) y1 = SH;
  if (x0 >= x1) x0 = x1 - 1;
  if (y0 >= y1) y0 = y1 - 1;
  /* Decode one iMCU more on each side where there is one, so that the cut
   * edges' chroma upsampling (which treats a crop edge as an image edge)
   * falls outside the region. */
  int imcu = ci.max_h_samp_factor * ci.min_DCT_scaled_size;
  int cx0 = x0 - imcu < 0 ? 0 : x0 - imcu, cx1 = x1 + imcu > SW ? SW : x1 + imcu;
  JDIMENSION xoff = (JDIMENSION)cx0, cw = (JDIMENSION)(cx1 - cx0);
  if (cx0 > 0 || cx1 < SW) jpeg_crop_scanline(&ci, &xoff, &cw);
  int ry0 = y0 - 2 < 0 ? 0 : y0 - 2; /* a little context above: the vertical upsampling */
  if (ry0 > 0) jpeg_skip_scanlines(&ci, (JDIMENSION)ry0);
  size_t rw = (size_t)ci.output_width * (size_t)oc, n;
  int ow = x1 - x0, oh = y1 - y0;
  if (fg__mul_size((size_t)ow, (size_t)oh, &n) || fg__mul_size(n, (size_t)oc, &n)) {
    rc = fg__seterr(err, FG_ELIMIT, "jpeg: region %dx%d: size overflows", ow, oh);
    goto fail;
  }
  px = malloc(n);
  row = malloc(rw);
  if (!px || !row) {
    rc = fg__seterr(err, FG_ENOMEM, "jpeg: region %dx%d: out of memory", ow, oh);
    goto fail;
  }
  size_t off = (size_t)(x0 - (int)xoff) * (size_t)oc, ob = (size_t)ow * (size_t)oc;
  while ((int)ci.output_scanline < y1) {
    int s = (int)ci.output_scanline;
    JSAMPROW rp = row;
    if (jpeg_read_scanlines(&ci, &rp, 1) != 1) {
      rc = fg__seterr(err, FG_EFORMAT, "jpeg: region: no data at row %d", s);
      goto fail;
    }
    if (s >= y0) memcpy(px + (size_t)(s - y0) * ob, row + off, ob);
  }
  if (read_all) {
    /* Read the rest of the entropy-coded data too, so that damage below the
     * region is an error as in a full decode. (Skipping to the very end
     * reads nothing: jpeg_skip_scanlines then only marks the input done. So
     * skip to the last row, which entropy-decodes, and read that row.) */
    JDIMENSION left = ci.output_height - ci.output_scanline;
    if (left > 1) jpeg_skip_scanlines(&ci, left - 1);
    if (ci.output_scanline < ci.output_height) {
      JSAMPROW rp = row;
      if (jpeg_read_scanlines(&ci, &rp, 1) != 1) {
        rc = fg__seterr(err, FG_EFORMAT, "jpeg: region: no data at the last row");
        goto fail;
      }
    }
    jpeg_finish_decompress(&ci);
  }
  jpeg_destroy_decompress(&ci);
  free(row);
  uint8_t *p = cmyk ? cmyk_to_rgb(px, (size_t)ow * oh) : px;
  out->width = ow;
  out->height = oh;
  out->channels = chn;
  out->data = p;
  if (sx) *sx = x0;
  if (sy) *sy = y0;
  return FG_OK;
fail:
  jpeg_destroy_decompress(&ci);
  free(px);
  free(row);
  return rc;
}

int fg_image_encode_jpeg(const fg_image *img, int quality, uint8_t **jpg, size_t *len, fg_error *err) {
  *jpg = NULL;
  *len = 0;
  if (!img || !img->data || img->width <= 0 || img->height <= 0 || (img->channels != 1 && img->channels != 3))
    return fg__seterr(err, FG_EINVAL, "jpeg: not a decoded image");
  if (quality < 1 || quality > 100) return fg__seterr(err, FG_EINVAL, "jpeg: quality %d outside 1..100", quality);
  tjhandle tj = tjInitCompress();
  if (!tj) return fg__seterr(err, FG_ENOMEM, "jpeg: cannot create an encoder");
  unsigned char *out = NULL;
  unsigned long n = 0;
  int grey = img->channels == 1;
  int rc = FG_OK;
  if (tjCompress2(tj, img->data, img->width, 0, img->height, grey ? TJPF_GRAY : TJPF_RGB, &out, &n,
                  grey ? TJSAMP_GRAY : TJSAMP_420, quality, 0) != 0) {
    rc = tj_error(tj, "encode", err);
  } else if (!(*jpg = malloc(n))) {
    rc = fg__seterr(err, FG_ENOMEM, "jpeg: out of memory");
  } else {
    memcpy(*jpg, out, n);
    *len = n;
  }
  tjFree(out);
  tjDestroy(tj);
  return rc;
}
