/*
 * .npy reading and writing, so tensors can be exchanged with NumPy, ONNX Runtime
 * and OpenCV scripts. The header is a Python dict literal; we read just the
 * three keys the format guarantees ('descr', 'fortran_order', 'shape') and
 * refuse anything we do not understand rather than guessing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/internal.h"
#include "facegate/nn.h"

#define NPY_MAX_BYTES ((size_t)1 << 30)

int fg_npy_read_memory(const uint8_t *buf, size_t len, float **data, int *rank, int64_t dims[FG_NN_MAX_RANK],
                       fg_error *err) {
  *data = NULL;
  if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) return fg__seterr(err, FG_EFORMAT, "not a .npy file");
  size_t hlen, off;
  if (buf[6] == 1) { hlen = buf[8] | (size_t)buf[9] << 8; off = 10; }
  else if (buf[6] == 2 || buf[6] == 3) {
    if (len < 12) return fg__seterr(err, FG_EFORMAT, ".npy header truncated");
    hlen = buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    off = 12;
  } else return fg__seterr(err, FG_EUNSUPPORTED, ".npy version %d", buf[6]);
  if (hlen > len - off || hlen > 65536) return fg__seterr(err, FG_EFORMAT, ".npy header truncated");
  char hdr[65537];
  memcpy(hdr, buf + off, hlen);
  hdr[hlen] = 0;
  off += hlen;
  const char *d = strstr(hdr, "'descr'");
  const char *f = strstr(hdr, "'fortran_order'");
  const char *s = strstr(hdr, "'shape'");
  if (!d || !f || !s) return fg__seterr(err, FG_EFORMAT, ".npy header lacks descr/fortran_order/shape");
  d = strchr(d + 7, '\'');
  if (!d) return fg__seterr(err, FG_EFORMAT, ".npy descr malformed");
  d++;
  int kind;
  size_t esz;
  if (!strncmp(d, "<f4'", 4)) { kind = 'f'; esz = 4; }
  else if (!strncmp(d, "<f8'", 4)) { kind = 'd'; esz = 8; }
  else if (!strncmp(d, "|u1'", 4)) { kind = 'u'; esz = 1; }
  else if (!strncmp(d, "<i8'", 4)) { kind = 'l'; esz = 8; }
  else return fg__seterr(err, FG_EUNSUPPORTED, ".npy element type %.4s (need <f4, <f8, |u1 or <i8)", d);
  f += 15;
  while (*f == ' ' || *f == ':') f++;
  if (strncmp(f, "False", 5) != 0) return fg__seterr(err, FG_EUNSUPPORTED, ".npy in Fortran order");
  s = strchr(s, '(');
  if (!s) return fg__seterr(err, FG_EFORMAT, ".npy shape malformed");
  s++;
  int r = 0;
  size_t count = 1;
  for (;;) {
    while (*s == ' ' || *s == ',') s++;
    if (*s == ')') break;
    char *e;
    long long v = strtoll(s, &e, 10);
    if (e == s || v < 0) return fg__seterr(err, FG_EFORMAT, ".npy shape malformed");
    if (r == FG_NN_MAX_RANK) return fg__seterr(err, FG_ELIMIT, ".npy rank above %d", FG_NN_MAX_RANK);
    dims[r++] = v;
    if (fg__mul_size(count, (size_t)v, &count)) return fg__seterr(err, FG_ELIMIT, ".npy too large");
    s = e;
  }
  size_t bytes;
  if (fg__mul_size(count, esz, &bytes) || bytes > NPY_MAX_BYTES) return fg__seterr(err, FG_ELIMIT, ".npy too large");
  if (len - off < bytes) return fg__seterr(err, FG_EFORMAT, ".npy data truncated (%zu of %zu bytes)", len - off, bytes);
  float *out = malloc(count * sizeof(float) + 1);
  if (!out) return fg__seterr(err, FG_ENOMEM, "out of memory");
  const uint8_t *p = buf + off;
  for (size_t i = 0; i < count; i++) {
    switch (kind) {
    case 'f': memcpy(&out[i], p + 4 * i, 4); break;
    case 'd': { double v; memcpy(&v, p + 8 * i, 8); out[i] = (float)v; break; }
    case 'u': out[i] = p[i]; break;
    default: { int64_t v; memcpy(&v, p + 8 * i, 8); out[i] = (float)v; break; }
    }
  }
  *data = out;
  *rank = r;
  return FG_OK;
}

int fg_npy_read(const char *path, float **data, int *rank, int64_t dims[FG_NN_MAX_RANK], fg_error *err) {
  uint8_t *buf;
  size_t len;
  int rc = fg__read_file(path, NPY_MAX_BYTES + 65536, &buf, &len, err);
  if (rc) return rc;
  rc = fg_npy_read_memory(buf, len, data, rank, dims, err);
  free(buf);
  return rc;
}

int fg_npy_write(const char *path, const float *data, int rank, const int64_t *dims, fg_error *err) {
  char shape[256] = "";
  size_t count = 1, n = 0;
  for (int i = 0; i < rank; i++) {
    n += (size_t)snprintf(shape + n, sizeof shape - n, "%lld,%s", (long long)dims[i], i + 1 < rank || rank == 1 ? "" : "");
    count *= (size_t)dims[i];
    if (n >= sizeof shape) return fg__seterr(err, FG_EINVAL, "shape too long");
  }
  if (rank > 1 && n) shape[--n] = 0; /* (a,b) not (a,b,) — but keep (a,) for rank 1 */
  char hdr[384];
  int hl = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shape);
  int total = 10 + hl + 1;
  int pad = (64 - total % 64) % 64;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) return fg__seterr(err, FG_EIO, "%s: cannot create", tmp);
  uint16_t h = (uint16_t)(hl + pad + 1);
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(h & 0xff), (unsigned char)(h >> 8)};
  int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)hl, f) == (size_t)hl;
  for (int i = 0; i < pad && ok; i++) ok = fputc(' ', f) != EOF;
  ok = ok && fputc('\n', f) != EOF && fwrite(data, sizeof(float), count, f) == count;
  if (fclose(f) != 0) ok = 0;
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return fg__seterr(err, FG_EIO, "%s: write failed", path);
  }
  return FG_OK;
}
