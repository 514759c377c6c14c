/*
 * JPEG through the TurboJPEG API of libjpeg-turbo (2.1): header-first decoding
 * so the pixel limit is checked before any pixel memory exists, DCT-domain
 * scaling for reduced-size decodes, and lossless DCT-domain cropping
 * (tjTransform, TJXOPT_CROP) for region decodes.
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
  if (cmyk) {
    /* Adobe-style (inverted) CMYK as libjpeg returns it: R = C*K/255 etc. No
     * colour management: good enough for a face, documented as approximate. */
    size_t np = (size_t)sw * sh;
    for (size_t i = 0; i < np; i++) {
      unsigned k = px[4 * i + 3];
      px[3 * i + 0] = (uint8_t)((px[4 * i + 0] * k + 127) / 255);
      px[3 * i + 1] = (uint8_t)((px[4 * i + 1] * k + 127) / 255);
      px[3 * i + 2] = (uint8_t)((px[4 * i + 2] * k + 127) / 255);
    }
    uint8_t *shrunk = realloc(px, np * 3);
    if (shrunk) px = shrunk;
  }
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

typedef struct xform_ctx {
  tjhandle tj;
  const uint8_t *buf;
  size_t len;
  tjtransform *xf;
  unsigned char *dst;
  unsigned long dst_len;
} xform_ctx;

static int xform_op(void *p, int flags) {
  xform_ctx *c = p;
  if (c->dst) {
    tjFree(c->dst);
    c->dst = NULL;
  }
  c->dst_len = 0;
  return tjTransform(c->tj, c->buf, (unsigned long)c->len, 1, &c->dst, &c->dst_len, c->xf, flags);
}

int fg__jpeg_decode_raw_region(const uint8_t *buf, size_t len, const fg_image_limits *lim,
                               int x, int y, int w, int h, fg_image *out, fg_error *err) {
  memset(out, 0, sizeof *out);
  tjhandle tj = tjInitTransform();
  if (!tj) return fg__seterr(err, FG_ENOMEM, "jpeg: cannot create a transformer");
  fg_image cut = {0};
  xform_ctx c = {tj, buf, len, NULL, NULL, 0};
  int W, H, ss, cs, rc;
  if ((rc = read_header(tj, buf, len, &W, &H, &ss, &cs, err))) goto done;
  if ((rc = fg__image_check_dims((uint64_t)W, (uint64_t)H, lim, "jpeg", err))) goto done;
  if (w <= 0 || h <= 0 || x < 0 || y < 0 || x > W - w || y > H - h) {
    rc = fg__seterr(err, FG_EINVAL, "jpeg: region %d,%d %dx%d is not inside %dx%d", x, y, w, h,
                    W, H);
    goto done;
  }
  if (ss < 0 || ss >= TJ_NUMSAMP) {
    rc = fg__seterr(err, FG_EUNSUPPORTED, "jpeg: unknown chroma subsampling");
    goto done;
  }
  /* The lossless crop must start on an MCU boundary: widen to the left/top. */
  int ax = x - x % tjMCUWidth[ss], ay = y - y % tjMCUHeight[ss];
  tjtransform xf;
  memset(&xf, 0, sizeof xf);
  xf.r.x = ax;
  xf.r.y = ay;
  xf.r.w = x + w - ax;
  xf.r.h = y + h - ay;
  xf.op = TJXOP_NONE;
  xf.options = TJXOPT_CROP | TJXOPT_COPYNONE;
  c.xf = &xf;
  if ((rc = run_strict(tj, xform_op, &c, "crop", err))) goto done;
  int cw, ch, css, ccs;
  if ((rc = read_header(tj, c.dst, c.dst_len, &cw, &ch, &css, &ccs, err))) goto done;
  if (cw != xf.r.w || ch != xf.r.h) {
    rc = fg__seterr(err, FG_EFORMAT, "jpeg: cropped size %dx%d, expected %dx%d", cw, ch, xf.r.w,
                    xf.r.h);
    goto done;
  }
  if ((rc = decompress(tj, c.dst, c.dst_len, ccs, cw, ch, &cut, err))) goto done;
  rc = fg_image_crop(&cut, x - ax, y - ay, w, h, out, err);
done:
  fg_image_release(&cut);
  if (c.dst) tjFree(c.dst);
  tjDestroy(tj);
  return rc;
}
