/*
 * PNG through libpng: decode from memory (any bit depth, palette, grey, alpha,
 * interlace) to 8-bit grey or RGB, and encode 8-bit grey/RGB for --draw and
 * --save-aligned.
 *
 * libpng reports errors by calling an error function that must not return; we
 * longjmp back to a setjmp in the calling function. Everything that lives
 * across the setjmp is kept in a heap-allocated state struct whose pointer is
 * never modified afterwards, so no local needs `volatile`. libpng's own
 * messages are captured into the fg_error, warnings are dropped (nothing is
 * printed). Alpha is composited over white (a transparent background should
 * look like a photo background, not black); gamma and ICC data are ignored;
 * 16-bit samples are scaled (rounded) to 8 bits. The IHDR size is checked
 * against the pixel limit before the pixel buffer is allocated, ancillary
 * chunks are capped at 8 MiB (zTXt/iCCP bombs), and the file must reach IEND:
 * a truncated file is an error.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "image/image_internal.h"

typedef struct png_state {
  const uint8_t *src;
  size_t len, pos;
  char msg[160];
  uint8_t *px;     /* decoded pixels (channels as libpng outputs them) */
  png_bytep *rows; /* row pointers into px */
  uint8_t *obuf;   /* encoder output */
  size_t olen, ocap;
  int oom;
} png_state;

static void on_error(png_structp png, png_const_charp msg) {
  png_state *st = png_get_error_ptr(png);
  if (st) snprintf(st->msg, sizeof st->msg, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

static void on_read(png_structp png, png_bytep data, png_size_t n) {
  png_state *st = png_get_io_ptr(png);
  if (n > st->len - st->pos) png_error(png, "truncated PNG (read past the end of the data)");
  memcpy(data, st->src + st->pos, n);
  st->pos += n;
}

int fg__png_decode(const uint8_t *buf, size_t len, const fg_image_limits *lim, fg_image *out,
                   fg_error *err) {
  memset(out, 0, sizeof *out);
  if (len < 8 || png_sig_cmp(buf, 0, 8) != 0)
    return fg__seterr(err, FG_EFORMAT, "png: bad signature");
  png_state *st = calloc(1, sizeof *st);
  if (!st) return fg__seterr(err, FG_ENOMEM, "png: out of memory");
  st->src = buf;
  st->len = len;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, st, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  int rc = FG_OK;
  if (!png || !info) {
    rc = fg__seterr(err, FG_ENOMEM, "png: cannot create a decoder");
    goto done;
  }
  if (setjmp(png_jmpbuf(png))) {
    /* No locals are read here except st, png, info, err: none changes after setjmp. */
    rc = fg__seterr(err, strstr(st->msg, "memory") ? FG_ENOMEM : FG_EFORMAT, "png: %s",
                    st->msg[0] ? st->msg : "decode error");
    goto done;
  }
  png_set_read_fn(png, st, on_read);
  png_set_chunk_malloc_max(png, (png_alloc_size_t)8 << 20);
  png_set_user_limits(png, 0x7fffffffu, 0x7fffffffu); /* our own pixel limit applies below */
  png_read_info(png, info);

  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  int depth = png_get_bit_depth(png, info), ctype = png_get_color_type(png, info);
  if ((rc = fg__image_check_dims(w, h, lim, "png", err))) goto done;

  if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (depth == 16) png_set_scale_16(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);

  int pch = png_get_channels(png, info); /* 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
  if (pch < 1 || pch > 4 || png_get_bit_depth(png, info) != 8 ||
      png_get_rowbytes(png, info) != (size_t)w * pch) {
    rc = fg__seterr(err, FG_EFORMAT, "png: unexpected layout after conversion");
    goto done;
  }
  st->px = malloc((size_t)w * h * pch);
  st->rows = malloc(sizeof(png_bytep) * h);
  if (!st->px || !st->rows) {
    rc = fg__seterr(err, FG_ENOMEM, "png: %ux%u: out of memory", (unsigned)w, (unsigned)h);
    goto done;
  }
  for (png_uint_32 y = 0; y < h; y++) st->rows[y] = st->px + (size_t)y * w * pch;
  png_read_image(png, st->rows);
  png_read_end(png, NULL); /* reads up to IEND: catches truncation after IDAT */

  int och = pch >= 3 ? 3 : 1;
  if (pch == 2 || pch == 4) { /* composite over white, in place (output is smaller) */
    size_t np = (size_t)w * h;
    for (size_t i = 0; i < np; i++) {
      const uint8_t *s = st->px + i * pch;
      unsigned a = s[pch - 1];
      uint8_t *d = st->px + i * och;
      for (int k = 0; k < och; k++) d[k] = (uint8_t)((s[k] * a + 255u * (255u - a) + 127u) / 255u);
    }
  }
  out->data = st->px;
  st->px = NULL;
  out->width = (int)w;
  out->height = (int)h;
  out->channels = och;
done:
  png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
  free(st->px);
  free(st->rows);
  free(st);
  return rc;
}

/* ---- encoder ------------------------------------------------------------------ */

static void on_write(png_structp png, png_bytep data, png_size_t n) {
  png_state *st = png_get_io_ptr(png);
  if (n > st->ocap - st->olen) {
    size_t cap = st->ocap ? st->ocap : 65536;
    while (cap - st->olen < n) {
      if (cap > SIZE_MAX / 2) {
        st->oom = 1;
        png_error(png, "out of memory");
      }
      cap *= 2;
    }
    uint8_t *nb = realloc(st->obuf, cap);
    if (!nb) {
      st->oom = 1;
      png_error(png, "out of memory");
    }
    st->obuf = nb;
    st->ocap = cap;
  }
  memcpy(st->obuf + st->olen, data, n);
  st->olen += n;
}

static void on_flush(png_structp png) { (void)png; }

int fg_image_encode_png(const fg_image *img, uint8_t **png_out, size_t *len, fg_error *err) {
  if (png_out) *png_out = NULL;
  if (len) *len = 0;
  if (!img || !png_out || !len || !img->data || img->width <= 0 || img->height <= 0 ||
      (img->channels != 1 && img->channels != 3))
    return fg__seterr(err, FG_EINVAL, "png encode: invalid image or arguments");
  png_state *st = calloc(1, sizeof *st);
  if (!st) return fg__seterr(err, FG_ENOMEM, "png encode: out of memory");
  st->rows = malloc(sizeof(png_bytep) * (size_t)img->height);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, st, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  int rc = FG_OK;
  if (!png || !info || !st->rows) {
    rc = fg__seterr(err, FG_ENOMEM, "png encode: cannot create an encoder");
    goto done;
  }
  if (setjmp(png_jmpbuf(png))) {
    rc = fg__seterr(err, st->oom ? FG_ENOMEM : FG_EINVAL, "png encode: %s", st->msg);
    goto done;
  }
  png_set_write_fn(png, st, on_write, on_flush);
  png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
               img->channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 6);
  png_write_info(png, info);
  for (int y = 0; y < img->height; y++)
    st->rows[y] = img->data + (size_t)y * img->width * img->channels;
  png_write_image(png, st->rows);
  png_write_end(png, NULL);
  *png_out = st->obuf;
  *len = st->olen;
  st->obuf = NULL;
done:
  png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
  free(st->obuf);
  free(st->rows);
  free(st);
  return rc;
}

int fg_image_write_png(const char *path, const fg_image *img, fg_error *err) {
  if (!path) return fg__seterr(err, FG_EINVAL, "fg_image_write_png: NULL path");
  uint8_t *buf;
  size_t n;
  int rc = fg_image_encode_png(img, &buf, &n, err);
  if (rc) return rc;
  FILE *f = fopen(path, "wb");
  if (!f) {
    free(buf);
    return fg__seterr(err, FG_EIO, "%s: cannot open for writing", path);
  }
  size_t wr = fwrite(buf, 1, n, f);
  free(buf);
  if (fclose(f) != 0 || wr != n) return fg__seterr(err, FG_EIO, "%s: write error", path);
  return FG_OK;
}
