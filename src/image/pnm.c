/*
 * Binary PGM (P5) and PPM (P6), read by hand: the netpbm header (magic, width,
 * height, maxval separated by whitespace, '#' comments allowed between
 * fields, then exactly one whitespace byte) and the raster, 1 byte per sample
 * when maxval < 256, otherwise 2 bytes big-endian. maxval may be 1..65535;
 * samples are rescaled to 0..255 with rounding, and samples above maxval are
 * an error. Only the first image of a multi-image file is read. The raster
 * must be complete: a short file is FG_EFORMAT.
 */
#include <string.h>

#include "image/image_internal.h"

static int is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Skip whitespace and comments, then read a decimal number <= limit. */
static int read_num(const uint8_t *b, size_t n, size_t *pos, uint32_t limit, uint32_t *v) {
  size_t i = *pos;
  for (;;) {
    while (i < n && is_space(b[i])) i++;
    if (i < n && b[i] == '#') {
      while (i < n && b[i] != '\n' && b[i] != '\r') i++;
      continue;
    }
    break;
  }
  if (i >= n || b[i] < '0' || b[i] > '9') return -1;
  uint64_t x = 0;
  while (i < n && b[i] >= '0' && b[i] <= '9') {
    x = x * 10 + (uint64_t)(b[i] - '0');
    if (x > limit) return -1;
    i++;
  }
  *v = (uint32_t)x;
  *pos = i;
  return 0;
}

int fg__pnm_decode(const uint8_t *b, size_t n, const fg_image_limits *lim, fg_image *out,
                   fg_error *err) {
  memset(out, 0, sizeof *out);
  if (n < 3 || b[0] != 'P' || (b[1] != '5' && b[1] != '6'))
    return fg__seterr(err, FG_EFORMAT, "pnm: not a binary PGM/PPM (P5/P6)");
  const int ch = b[1] == '5' ? 1 : 3;
  size_t pos = 2;
  uint32_t w, h, maxval;
  if (read_num(b, n, &pos, 0x7fffffffu, &w) || read_num(b, n, &pos, 0x7fffffffu, &h))
    return fg__seterr(err, FG_EFORMAT, "pnm: bad or truncated width/height");
  if (read_num(b, n, &pos, 65535, &maxval) || maxval == 0)
    return fg__seterr(err, FG_EFORMAT, "pnm: bad maxval (must be 1..65535)");
  if (pos >= n || !is_space(b[pos]))
    return fg__seterr(err, FG_EFORMAT, "pnm: truncated header");
  pos++;
  int rc = fg__image_check_dims(w, h, lim, "pnm", err);
  if (rc) return rc;
  const size_t bps = maxval < 256 ? 1 : 2;
  const size_t samples = (size_t)w * h * ch; /* bounded by the pixel limit */
  if ((n - pos) / bps < samples)
    return fg__seterr(err, FG_EFORMAT, "pnm: truncated raster (%zu of %zu bytes)", n - pos,
                      samples * bps);
  if ((rc = fg__image_alloc(out, (int)w, (int)h, ch, err))) return rc;
  const uint8_t *s = b + pos;
  if (bps == 1 && maxval == 255) {
    memcpy(out->data, s, samples);
    return FG_OK;
  }
  for (size_t i = 0; i < samples; i++) {
    uint32_t v = bps == 1 ? s[i] : fg__be16(s + 2 * i);
    if (v > maxval) {
      fg_image_release(out);
      return fg__seterr(err, FG_EFORMAT, "pnm: sample %u exceeds maxval %u", v, maxval);
    }
    out->data[i] = (uint8_t)((v * 255u + maxval / 2) / maxval);
  }
  return FG_OK;
}
