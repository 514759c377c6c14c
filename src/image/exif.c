/*
 * EXIF orientation from a JPEG, read by hand (no EXIF library): walk the
 * marker segments from SOI up to the first SOS, take the first APP1 segment
 * that starts with "Exif\0\0", read its TIFF header (II or MM byte order) and
 * look for tag 0x0112 (Orientation) in IFD0. Every offset and count is checked
 * against the segment before it is used; anything odd means "no orientation"
 * (0), never an error, since the image itself may still be fine.
 */
#include <string.h>

#include "image/image_internal.h"

typedef struct tiff {
  const uint8_t *p;
  size_t n;
  int le; /* little-endian ("II") */
} tiff;

static uint16_t t16(const tiff *t, size_t off) {
  const uint8_t *q = t->p + off;
  return t->le ? (uint16_t)(q[0] | q[1] << 8) : (uint16_t)(q[0] << 8 | q[1]);
}

static uint32_t t32(const tiff *t, size_t off) {
  const uint8_t *q = t->p + off;
  return t->le ? (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                     (uint32_t)q[3] << 24
               : (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
}

/* Orientation from a TIFF structure of n bytes; 0 if absent or malformed. */
static int tiff_orientation(const uint8_t *p, size_t n) {
  if (n < 8) return 0;
  tiff t = {p, n, 0};
  if (p[0] == 'I' && p[1] == 'I') t.le = 1;
  else if (!(p[0] == 'M' && p[1] == 'M')) return 0;
  if (t16(&t, 2) != 42) return 0;
  uint32_t ifd = t32(&t, 4);
  if (ifd < 8 || ifd > n || n - ifd < 2) return 0;
  size_t count = t16(&t, ifd);
  size_t avail = (n - ifd - 2) / 12;
  if (count > avail) return 0; /* IFD runs past the segment */
  for (size_t i = 0; i < count; i++) {
    size_t e = ifd + 2 + i * 12;
    if (t16(&t, e) != 0x0112) continue;
    uint16_t type = t16(&t, e + 2);
    uint32_t cnt = t32(&t, e + 4);
    if (cnt < 1) return 0;
    uint32_t v;
    if (type == 3) v = t16(&t, e + 8);      /* SHORT, as the standard says */
    else if (type == 4) v = t32(&t, e + 8); /* LONG: seen from some writers */
    else return 0;
    return v >= 1 && v <= 8 ? (int)v : 0;
  }
  return 0;
}

int fg__exif_orientation(const uint8_t *p, size_t n) {
  if (!p || n < 4 || p[0] != 0xFF || p[1] != 0xD8) return 0;
  size_t i = 2;
  while (i + 4 <= n) {
    if (p[i] != 0xFF) return 0;
    uint8_t m = p[i + 1];
    if (m == 0xFF) { /* fill byte */
      i++;
      continue;
    }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) { /* markers without a length */
      i += 2;
      continue;
    }
    if (m == 0xDA || m == 0xD9) return 0; /* image data or end: no EXIF before it */
    size_t seg = fg__be16(p + i + 2);     /* includes its own 2 length bytes */
    if (seg < 2 || seg > n - i - 2) return 0;
    if (m == 0xE1 && seg >= 2 + 6 && memcmp(p + i + 4, "Exif\0\0", 6) == 0)
      return tiff_orientation(p + i + 10, seg - 8); /* only the first Exif APP1 counts */
    i += 2 + seg;
  }
  return 0;
}
