/*
 * JPEG 2000 through OpenJPEG (2.5): bare codestreams (.j2k, FF 4F FF 51) and the
 * JP2 container, decoded from memory through an opj_stream with our own
 * read/skip/seek callbacks, in strict mode (a truncated codestream is an error,
 * not a partly decoded image).
 *
 * Before OpenJPEG sees the data we read the SIZ marker ourselves (and, for JP2,
 * walk the boxes to the codestream and check ihdr/pclr), because OpenJPEG
 * allocates per-tile and per-component structures while reading the header:
 * image size (pixel limit), component count (1..4), sample precision (1..16
 * bits) and tile count (<= 4096) are all checked first. The decoded components
 * (any precision, signed or not, possibly subsampled) are converted to 8-bit
 * grey or RGB; sYCC is converted to RGB, alpha is composited over white; CMYK
 * and e-sYCC are refused (FG_EUNSUPPORTED). ICC profiles are ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openjpeg.h>

#include "image/image_internal.h"

#define J2K_MAX_TILES 4096u
#define J2K_MAX_COMPS 4u

/* ---- header checks without OpenJPEG ---------------------------------------------- */

typedef struct box {
  uint32_t type;
  const uint8_t *data; /* content */
  size_t len;
} box;

/* Read the box at b[*pos] (bounded by n); advance *pos past it. -1 if malformed. */
static int next_box(const uint8_t *b, size_t n, size_t *pos, box *bx) {
  size_t p = *pos;
  if (n - p < 8) return -1;
  uint64_t l = fg__be32(b + p);
  bx->type = fg__be32(b + p + 4);
  size_t hdr = 8;
  if (l == 1) {
    if (n - p < 16) return -1;
    l = (uint64_t)fg__be32(b + p + 8) << 32 | fg__be32(b + p + 12);
    hdr = 16;
  } else if (l == 0) {
    l = n - p; /* last box: to the end */
  }
  if (l < hdr || l > n - p) return -1;
  bx->data = b + p + hdr;
  bx->len = (size_t)l - hdr;
  *pos = p + (size_t)l;
  return 0;
}

#define BOX(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* For JP2: check the header boxes and find the codestream. */
static int jp2_find_codestream(const uint8_t *b, size_t n, const uint8_t **cs, size_t *cs_len,
                               fg_error *err) {
  size_t pos = 0;
  box bx;
  int seen_jp2h = 0;
  while (pos < n) {
    if (next_box(b, n, &pos, &bx)) return fg__seterr(err, FG_EFORMAT, "jp2: malformed box");
    if (bx.type == BOX('j', 'p', '2', 'h')) {
      seen_jp2h = 1;
      size_t q = 0;
      box sub;
      while (q < bx.len) {
        if (next_box(bx.data, bx.len, &q, &sub))
          return fg__seterr(err, FG_EFORMAT, "jp2: malformed header box");
        if (sub.type == BOX('i', 'h', 'd', 'r')) {
          if (sub.len < 14) return fg__seterr(err, FG_EFORMAT, "jp2: short ihdr box");
          unsigned nc = fg__be16(sub.data + 8);
          if (nc == 0 || nc > J2K_MAX_COMPS)
            return fg__seterr(err, FG_EUNSUPPORTED, "jp2: %u components (1..%u handled)", nc,
                              J2K_MAX_COMPS);
        } else if (sub.type == BOX('p', 'c', 'l', 'r')) {
          if (sub.len < 3) return fg__seterr(err, FG_EFORMAT, "jp2: short pclr box");
          unsigned npc = sub.data[2];
          if (npc == 0 || npc > J2K_MAX_COMPS)
            return fg__seterr(err, FG_EUNSUPPORTED, "jp2: palette with %u channels", npc);
        }
      }
    } else if (bx.type == BOX('j', 'p', '2', 'c')) {
      if (!seen_jp2h) return fg__seterr(err, FG_EFORMAT, "jp2: codestream before header box");
      *cs = bx.data;
      *cs_len = bx.len;
      return FG_OK;
    }
  }
  return fg__seterr(err, FG_EFORMAT, "jp2: no codestream (jp2c) box");
}

static int siz_check(const uint8_t *b, size_t n, const fg_image_limits *lim, uint32_t *w,
                     uint32_t *h, fg_error *err) {
  /* SOC, SIZ marker, Lsiz, Rsiz, 8 x 32-bit sizes/offsets, Csiz */
  if (n < 4 + 2 + 2 + 32 + 2) return fg__seterr(err, FG_EFORMAT, "j2k: truncated SIZ marker");
  if (!(b[0] == 0xFF && b[1] == 0x4F && b[2] == 0xFF && b[3] == 0x51))
    return fg__seterr(err, FG_EFORMAT, "j2k: codestream does not start with SOC, SIZ");
  const uint8_t *s = b + 4;
  unsigned lsiz = fg__be16(s);
  uint32_t X = fg__be32(s + 4), Y = fg__be32(s + 8), XO = fg__be32(s + 12),
           YO = fg__be32(s + 16), XT = fg__be32(s + 20), YT = fg__be32(s + 24),
           XTO = fg__be32(s + 28), YTO = fg__be32(s + 32);
  unsigned nc = fg__be16(s + 36);
  if (nc == 0 || lsiz != 38 + 3 * nc || n - 4 < lsiz)
    return fg__seterr(err, FG_EFORMAT, "j2k: bad SIZ marker length or component count");
  if (nc > J2K_MAX_COMPS)
    return fg__seterr(err, FG_EUNSUPPORTED, "j2k: %u components (1..%u handled)", nc,
                      J2K_MAX_COMPS);
  if (X <= XO || Y <= YO || XT == 0 || YT == 0 || XTO > XO || YTO > YO ||
      (uint64_t)XTO + XT <= XO || (uint64_t)YTO + YT <= YO)
    return fg__seterr(err, FG_EFORMAT, "j2k: inconsistent image/tile geometry in SIZ");
  int rc = fg__image_check_dims(X - XO, Y - YO, lim, "j2k", err);
  if (rc) return rc;
  uint64_t ntx = ((uint64_t)X - XTO + XT - 1) / XT, nty = ((uint64_t)Y - YTO + YT - 1) / YT;
  if (ntx * nty > J2K_MAX_TILES)
    return fg__seterr(err, FG_ELIMIT, "j2k: %llu tiles exceeds the limit of %u",
                      (unsigned long long)(ntx * nty), J2K_MAX_TILES);
  for (unsigned i = 0; i < nc; i++) {
    const uint8_t *c = s + 38 + 3 * i;
    unsigned prec = (c[0] & 0x7F) + 1u;
    if (prec > 16) return fg__seterr(err, FG_EUNSUPPORTED, "j2k: %u-bit samples", prec);
    if (c[1] == 0 || c[2] == 0)
      return fg__seterr(err, FG_EFORMAT, "j2k: zero component subsampling");
  }
  *w = X - XO;
  *h = Y - YO;
  return FG_OK;
}

int fg__j2k_probe(const uint8_t *buf, size_t len, int jp2, uint32_t *w, uint32_t *h,
                  fg_error *err) {
  fg_image_limits lim = {.max_bytes = SIZE_MAX, .max_pixels = UINT64_MAX};
  const uint8_t *cs = buf;
  size_t cs_len = len;
  int rc;
  if (jp2 && (rc = jp2_find_codestream(buf, len, &cs, &cs_len, err))) return rc;
  return siz_check(cs, cs_len, &lim, w, h, err);
}

/* ---- memory stream for OpenJPEG ---------------------------------------------- */

typedef struct mem_stream {
  const uint8_t *p;
  size_t len, pos;
} mem_stream;

static OPJ_SIZE_T ms_read(void *buf, OPJ_SIZE_T n, void *ud) {
  mem_stream *m = ud;
  size_t left = m->len - m->pos;
  if (left == 0) return (OPJ_SIZE_T)-1; /* end of stream */
  if (n > left) n = left;
  memcpy(buf, m->p + m->pos, n);
  m->pos += n;
  return n;
}

static OPJ_OFF_T ms_skip(OPJ_OFF_T n, void *ud) {
  mem_stream *m = ud;
  if (n < 0) {
    if ((uint64_t)-n > m->pos) return -1;
    m->pos -= (size_t)-n;
    return n;
  }
  size_t left = m->len - m->pos;
  if ((uint64_t)n > left) n = (OPJ_OFF_T)left;
  m->pos += (size_t)n;
  return n;
}

static OPJ_BOOL ms_seek(OPJ_OFF_T off, void *ud) {
  mem_stream *m = ud;
  if (off < 0 || (uint64_t)off > m->len) return OPJ_FALSE;
  m->pos = (size_t)off;
  return OPJ_TRUE;
}

typedef struct msg_sink {
  char msg[200];
} msg_sink;

static void on_error(const char *msg, void *ud) {
  msg_sink *s = ud;
  if (s->msg[0]) return; /* keep the first: it names the cause */
  snprintf(s->msg, sizeof s->msg, "%s", msg ? msg : "error");
  size_t l = strlen(s->msg);
  while (l && (s->msg[l - 1] == '\n' || s->msg[l - 1] == ' ')) s->msg[--l] = 0;
}

static void on_quiet(const char *msg, void *ud) {
  (void)msg;
  (void)ud;
}

/* ---- conversion to 8 bits ------------------------------------------------------- */

/* Component ci resampled onto the W x H grid of component 0, scaled to 8 bits. */
static void comp_to_u8(const opj_image_t *im, unsigned ci, int W, int H, uint8_t *dst) {
  const opj_image_comp_t *c0 = &im->comps[0], *c = &im->comps[ci];
  const int prec = (int)c->prec, shift = c->sgnd ? 1 << (prec - 1) : 0;
  const int64_t maxv = ((int64_t)1 << prec) - 1;
  const int same = c->dx == c0->dx && c->dy == c0->dy && (int)c->w == W && (int)c->h == H;
  for (int y = 0; y < H; y++) {
    int cy = same ? y : (int)((uint64_t)y * c0->dy / c->dy);
    if (cy >= (int)c->h) cy = (int)c->h - 1;
    const OPJ_INT32 *row = c->data + (size_t)cy * c->w;
    uint8_t *d = dst + (size_t)y * W;
    for (int x = 0; x < W; x++) {
      int cx = same ? x : (int)((uint64_t)x * c0->dx / c->dx);
      if (cx >= (int)c->w) cx = (int)c->w - 1;
      int64_t v = (int64_t)row[cx] + shift;
      if (v < 0) v = 0;
      if (v > maxv) v = maxv;
      d[x] = prec == 8 ? (uint8_t)v : (uint8_t)((v * 255 + maxv / 2) / maxv);
    }
  }
}

static uint8_t clamp255(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

static int convert(const opj_image_t *im, fg_image *out, fg_error *err) {
  unsigned nc = im->numcomps;
  if (nc == 0 || nc > J2K_MAX_COMPS)
    return fg__seterr(err, FG_EUNSUPPORTED, "j2k: %u decoded components", nc);
  if (im->color_space == OPJ_CLRSPC_CMYK || im->color_space == OPJ_CLRSPC_EYCC)
    return fg__seterr(err, FG_EUNSUPPORTED, "j2k: CMYK / e-sYCC colour space");
  const int W = (int)im->comps[0].w, H = (int)im->comps[0].h;
  for (unsigned i = 0; i < nc; i++) {
    const opj_image_comp_t *c = &im->comps[i];
    if (!c->data || c->w == 0 || c->h == 0 || c->prec < 1 || c->prec > 16 || c->dx == 0 ||
        c->dy == 0)
      return fg__seterr(err, FG_EFORMAT, "j2k: component %u missing or invalid", i);
  }
  /* Which components are colour, which (if any) is alpha. */
  unsigned col[3], ncol = 0;
  int alpha = -1;
  for (unsigned i = 0; i < nc; i++) {
    if (im->comps[i].alpha && alpha < 0) alpha = (int)i;
    else if (ncol < 3) col[ncol++] = i;
  }
  if (ncol == 0) { /* a lone component flagged as alpha: read it as grey */
    col[ncol++] = (unsigned)alpha;
    alpha = -1;
  }
  if (ncol == 2 && alpha < 0) { /* grey + unlabelled alpha */
    alpha = (int)col[1];
    ncol = 1;
  }
  if (ncol == 2) ncol = 1; /* grey + something unknown: use the grey */
  const int och = ncol == 3 ? 3 : 1;
  int rc = fg__image_alloc(out, W, H, och, err);
  if (rc) return rc;
  size_t np = (size_t)W * H;
  uint8_t *planes = malloc(np * (size_t)(och + (alpha >= 0)));
  if (!planes) {
    fg_image_release(out);
    return fg__seterr(err, FG_ENOMEM, "j2k: out of memory");
  }
  for (int k = 0; k < och; k++) comp_to_u8(im, col[k], W, H, planes + np * k);
  if (alpha >= 0) comp_to_u8(im, (unsigned)alpha, W, H, planes + np * och);
  const int sycc = och == 3 && im->color_space == OPJ_CLRSPC_SYCC;
  for (size_t i = 0; i < np; i++) {
    int v[3];
    for (int k = 0; k < och; k++) v[k] = planes[np * k + i];
    if (sycc) { /* BT.601 full range, 16-bit fixed point */
      int Y = v[0], cb = v[1] - 128, cr = v[2] - 128;
      v[0] = Y + ((91881 * cr + 32768) >> 16);
      v[1] = Y - ((22554 * cb + 46802 * cr + 32768) >> 16);
      v[2] = Y + ((116130 * cb + 32768) >> 16);
    }
    for (int k = 0; k < och; k++) {
      int s = clamp255(v[k]);
      if (alpha >= 0) {
        unsigned a = planes[np * och + i];
        s = (int)(((unsigned)s * a + 255u * (255u - a) + 127u) / 255u);
      }
      out->data[i * och + k] = (uint8_t)s;
    }
  }
  free(planes);
  return FG_OK;
}

/* ---- decode ---------------------------------------------------------------------- */

int fg__j2k_decode(const uint8_t *buf, size_t len, int jp2, const fg_image_limits *lim,
                   fg_image *out, fg_error *err) {
  memset(out, 0, sizeof *out);
  const char *what = jp2 ? "jp2" : "j2k";
  const uint8_t *cs = buf;
  size_t cs_len = len;
  uint32_t w, h;
  int rc;
  if (jp2 && (rc = jp2_find_codestream(buf, len, &cs, &cs_len, err))) return rc;
  if ((rc = siz_check(cs, cs_len, lim, &w, &h, err))) return rc;

  mem_stream ms = {buf, len, 0};
  msg_sink sink = {{0}};
  opj_image_t *im = NULL;
  opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  opj_stream_t *st = opj_stream_create(64 * 1024, OPJ_TRUE);
  if (!codec || !st) {
    rc = fg__seterr(err, FG_ENOMEM, "%s: cannot create a decoder", what);
    goto done;
  }
  opj_stream_set_user_data(st, &ms, NULL);
  opj_stream_set_user_data_length(st, len);
  opj_stream_set_read_function(st, ms_read);
  opj_stream_set_skip_function(st, ms_skip);
  opj_stream_set_seek_function(st, ms_seek);
  opj_set_error_handler(codec, on_error, &sink);
  opj_set_warning_handler(codec, on_quiet, NULL);
  opj_set_info_handler(codec, on_quiet, NULL);

  opj_dparameters_t prm;
  opj_set_default_decoder_parameters(&prm);
  if (!opj_setup_decoder(codec, &prm) || !opj_decoder_set_strict_mode(codec, OPJ_TRUE)) {
    rc = fg__seterr(err, FG_EFORMAT, "%s: decoder setup failed", what);
    goto done;
  }
  opj_codec_set_threads(codec, 0);
  if (!opj_read_header(st, codec, &im) || !im) {
    rc = fg__seterr(err, FG_EFORMAT, "%s: header: %s", what, sink.msg[0] ? sink.msg : "invalid");
    goto done;
  }
  if ((uint64_t)im->x1 - im->x0 != w || (uint64_t)im->y1 - im->y0 != h ||
      im->numcomps > J2K_MAX_COMPS) {
    rc = fg__seterr(err, FG_EFORMAT, "%s: header disagrees with the SIZ marker", what);
    goto done;
  }
  if (!opj_decode(codec, st, im) || !opj_end_decompress(codec, st)) {
    rc = fg__seterr(err, FG_EFORMAT, "%s: decode: %s", what,
                    sink.msg[0] ? sink.msg : "corrupt or truncated data");
    goto done;
  }
  rc = convert(im, out, err);
done:
  if (im) opj_image_destroy(im);
  if (st) opj_stream_destroy(st);
  if (codec) opj_destroy_codec(codec);
  return rc;
}
