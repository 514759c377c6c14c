/*
 * ICAO 9303 EF.DG2: a BER-TLV reader for the CBEFF structure (75 / 7F61 / 02 /
 * 7F60 / A1 / 5F2E) and the ISO/IEC 19794-5:2005 facial record inside each
 * biometric data block; plus the writer used by tests and tools.
 *
 * The reader is written for hostile input. Every element is read from a
 * (pointer, length) window that is its parent's value, and its length must fit
 * in what is left of that window; tags are at most 3 bytes, lengths at most 4
 * (0x81..0x84), indefinite lengths are refused. The facial record's own
 * lengths (record, each face block) are checked against the data block, and
 * the face blocks must add up to the record length exactly. The input is
 * copied once into the handle; faces point into that copy.
 */
#include <stdlib.h>
#include <string.h>

#include "facegate/dg2.h"
#include "image/image_internal.h"

#define TAG_DG2 0x75u
#define TAG_BIGT 0x7F61u /* biometric information group template */
#define TAG_BIT 0x7F60u  /* biometric information template */
#define TAG_COUNT 0x02u
#define TAG_BHT 0xA1u    /* biometric header template */
#define TAG_BDB 0x5F2Eu  /* biometric data block */
#define TAG_BDB_C 0x7F2Eu
#define TAG_SMT 0x7Du    /* secure messaging template */

#define FAC_HDR 14  /* general header */
#define FAC_INFO 20 /* facial information block */
#define FAC_IMG 12  /* image information block */
#define FAC_PT 8    /* one feature point */

typedef struct face_rec {
  fg_dg2_face face;
  size_t pts_first; /* index into points */
} face_rec;

struct fg_dg2 {
  uint8_t *data;
  size_t len;
  face_rec *faces;
  size_t n_faces, cap_faces;
  fg_dg2_feature_point *points;
  size_t n_points, cap_points;
};

typedef struct tlv {
  uint32_t tag;
  const uint8_t *v; /* value */
  size_t len;       /* value length */
  size_t total;     /* tag + length + value */
} tlv;

/* Read one element from [p, p+n). `where` names the parent for messages. */
static int tlv_read(const uint8_t *p, size_t n, tlv *t, const char *where, fg_error *err) {
  size_t i = 0;
  if (n < 2) return fg__seterr(err, FG_EFORMAT, "dg2: %s: truncated element", where);
  uint32_t tag = p[i++];
  if ((tag & 0x1F) == 0x1F) {
    int k = 0;
    for (;;) {
      if (i >= n) return fg__seterr(err, FG_EFORMAT, "dg2: %s: truncated tag", where);
      if (++k > 2) return fg__seterr(err, FG_EFORMAT, "dg2: %s: tag longer than 3 bytes", where);
      uint8_t b = p[i++];
      tag = tag << 8 | b;
      if (!(b & 0x80)) break;
    }
  }
  if (i >= n) return fg__seterr(err, FG_EFORMAT, "dg2: %s: truncated length of tag %X", where, tag);
  uint8_t b = p[i++];
  size_t len;
  if (b < 0x80) {
    len = b;
  } else if (b == 0x80) {
    return fg__seterr(err, FG_EUNSUPPORTED, "dg2: %s: indefinite length (tag %X)", where, tag);
  } else {
    size_t nb = b & 0x7Fu;
    if (nb > 4)
      return fg__seterr(err, FG_EFORMAT, "dg2: %s: %zu-byte length field (tag %X)", where, nb,
                        tag);
    if (n - i < nb)
      return fg__seterr(err, FG_EFORMAT, "dg2: %s: truncated length of tag %X", where, tag);
    len = 0;
    for (size_t k = 0; k < nb; k++) len = len << 8 | p[i++];
  }
  if (len > n - i)
    return fg__seterr(err, FG_EFORMAT,
                      "dg2: %s: tag %X claims %zu bytes but only %zu remain in its parent", where,
                      tag, len, n - i);
  t->tag = tag;
  t->v = p + i;
  t->len = len;
  t->total = i + len;
  return FG_OK;
}

int fg_image_is_dg2(const uint8_t *b, size_t n) {
  if (!b || n < 4 || b[0] != TAG_DG2) return 0;
  size_t i = 1;
  if (b[i] < 0x80) {
    i++;
  } else {
    size_t nb = b[i] & 0x7Fu;
    if (nb == 0 || nb > 4) return 0;
    i += 1 + nb;
  }
  return n >= i + 2 && b[i] == 0x7F && b[i + 1] == 0x61;
}

int fg_dg2_angle_to_deg(uint8_t code, int *deg) {
  if (code == 0) return FG_ENOTFOUND;
  if (code > 181) return FG_EFORMAT;
  if (deg) *deg = ((int)code - 91) * 2;
  return FG_OK;
}

uint8_t fg_dg2_angle_from_deg(int deg) {
  if (deg < -180) deg = -180;
  if (deg > 180) deg = 180;
  int half = deg >= 0 ? (deg + 1) / 2 : -((-deg + 1) / 2);
  return (uint8_t)(91 + half);
}

/* ---- parser ------------------------------------------------------------------- */

static int push_face(fg_dg2 *d, face_rec **out, fg_error *err) {
  if (d->n_faces == d->cap_faces) {
    size_t cap = d->cap_faces ? d->cap_faces * 2 : 2;
    face_rec *nf = realloc(d->faces, cap * sizeof *nf);
    if (!nf) return fg__seterr(err, FG_ENOMEM, "dg2: out of memory");
    d->faces = nf;
    d->cap_faces = cap;
  }
  *out = &d->faces[d->n_faces++];
  memset(*out, 0, sizeof **out);
  return FG_OK;
}

static int reserve_points(fg_dg2 *d, size_t more, fg_error *err) {
  if (more <= d->cap_points - d->n_points) return FG_OK;
  size_t cap = d->cap_points ? d->cap_points : 16;
  while (cap - d->n_points < more) cap *= 2;
  fg_dg2_feature_point *np = realloc(d->points, cap * sizeof *np);
  if (!np) return fg__seterr(err, FG_ENOMEM, "dg2: out of memory");
  d->points = np;
  d->cap_points = cap;
  return FG_OK;
}

/* ISO/IEC 19794-5:2005 facial record of `n` bytes. */
static int parse_record(fg_dg2 *d, const uint8_t *r, size_t n, const fg_dg2_header *hdr,
                        unsigned instance, fg_error *err) {
  if (n < FAC_HDR) return fg__seterr(err, FG_EFORMAT, "dg2: facial record shorter than its header");
  if (memcmp(r, "FAC\0", 4) != 0)
    return fg__seterr(err, FG_EFORMAT, "dg2: biometric data block is not an ISO/IEC 19794-5 "
                                       "facial record (no 'FAC' identifier)");
  if (memcmp(r + 4, "010\0", 4) != 0)
    return fg__seterr(err, FG_EUNSUPPORTED, "dg2: facial record version '%.3s' (only '010')",
                      (const char *)r + 4);
  uint32_t rec_len = fg__be32(r + 8);
  unsigned nfaces = fg__be16(r + 12);
  if (rec_len < FAC_HDR || rec_len > n)
    return fg__seterr(err, FG_EFORMAT,
                      "dg2: facial record length %u does not fit its %zu-byte data block",
                      rec_len, n);
  if (nfaces == 0) return fg__seterr(err, FG_EFORMAT, "dg2: facial record with no faces");
  size_t off = FAC_HDR;
  for (unsigned i = 0; i < nfaces; i++) {
    if (rec_len - off < FAC_INFO)
      return fg__seterr(err, FG_EFORMAT, "dg2: face %u: truncated facial information block", i);
    const uint8_t *f = r + off;
    uint32_t flen = fg__be32(f);
    unsigned npts = fg__be16(f + 4);
    size_t fixed = FAC_INFO + (size_t)npts * FAC_PT + FAC_IMG;
    if (flen > rec_len - off || flen < fixed)
      return fg__seterr(err, FG_EFORMAT,
                        "dg2: face %u: block length %u does not fit (%zu left, %zu needed for "
                        "%u feature points)",
                        i, flen, rec_len - off, fixed, npts);
    if (flen == fixed) return fg__seterr(err, FG_EFORMAT, "dg2: face %u: no image data", i);
    face_rec *fr = NULL;
    int rc = push_face(d, &fr, err);
    if (rc) return rc;
    if ((rc = reserve_points(d, npts, err))) return rc;
    fg_dg2_face_meta *m = &fr->face.meta;
    m->n_feature_points = (uint16_t)npts;
    m->gender = f[6];
    m->eye_colour = f[7];
    m->hair_colour = f[8];
    m->feature_mask = (uint32_t)f[9] << 16 | (uint32_t)f[10] << 8 | f[11];
    m->expression = fg__be16(f + 12);
    memcpy(m->pose, f + 14, 3);
    memcpy(m->pose_uncertainty, f + 17, 3);
    fr->pts_first = d->n_points;
    for (unsigned k = 0; k < npts; k++) {
      const uint8_t *p = f + FAC_INFO + (size_t)k * FAC_PT;
      fg_dg2_feature_point *pt = &d->points[d->n_points++];
      pt->type = p[0];
      pt->code = p[1];
      pt->x = fg__be16(p + 2);
      pt->y = fg__be16(p + 4);
    }
    const uint8_t *ii = f + FAC_INFO + (size_t)npts * FAC_PT;
    m->image_type = ii[0];
    m->image_data_type = ii[1];
    m->width = fg__be16(ii + 2);
    m->height = fg__be16(ii + 4);
    m->colour_space = ii[6];
    m->source_type = ii[7];
    m->device_type = fg__be16(ii + 8);
    m->quality = fg__be16(ii + 10);
    fr->face.header = *hdr;
    fr->face.instance = instance;
    fr->face.image = ii + FAC_IMG;
    fr->face.image_len = flen - fixed;
    off += flen;
  }
  if (off != rec_len)
    return fg__seterr(err, FG_EFORMAT,
                      "dg2: facial record length %u but its %u face(s) take %zu bytes", rec_len,
                      nfaces, off);
  return FG_OK;
}

static int parse_header(const uint8_t *p, size_t n, fg_dg2_header *h, fg_error *err) {
  memset(h, 0, sizeof *h);
  size_t off = 0;
  while (off < n) {
    tlv t;
    int rc = tlv_read(p + off, n - off, &t, "biometric header template", err);
    if (rc) return rc;
    off += t.total;
    size_t want = 0;
    switch (t.tag) {
    case 0x80: want = 2; break;
    case 0x81: want = t.len >= 1 && t.len <= 3 ? t.len : 1; break;
    case 0x82: want = 1; break;
    case 0x83: want = 7; break;
    case 0x85: want = 8; break;
    case 0x87: want = 2; break;
    case 0x88: want = 2; break;
    default: continue; /* 86 creator and anything else: skipped */
    }
    if (t.len != want)
      return fg__seterr(err, FG_EFORMAT, "dg2: header element %X has %zu bytes, expected %zu",
                        t.tag, t.len, want);
    switch (t.tag) {
    case 0x80: h->version = fg__be16(t.v); h->present |= FG_DG2_HDR_VERSION; break;
    case 0x81:
      h->biometric_type = 0;
      for (size_t k = 0; k < t.len; k++) h->biometric_type = h->biometric_type << 8 | t.v[k];
      h->present |= FG_DG2_HDR_TYPE;
      break;
    case 0x82: h->biometric_subtype = t.v[0]; h->present |= FG_DG2_HDR_SUBTYPE; break;
    case 0x83: memcpy(h->created, t.v, 7); h->present |= FG_DG2_HDR_CREATED; break;
    case 0x85: memcpy(h->validity, t.v, 8); h->present |= FG_DG2_HDR_VALIDITY; break;
    case 0x87: h->format_owner = fg__be16(t.v); h->present |= FG_DG2_HDR_FMT_OWNER; break;
    case 0x88: h->format_type = fg__be16(t.v); h->present |= FG_DG2_HDR_FMT_TYPE; break;
    }
  }
  return FG_OK;
}

/* Parsing 7F60 under its own name in messages; 86 creator flag set there. */
static int parse_bit(fg_dg2 *d, const uint8_t *p, size_t n, unsigned instance, fg_error *err) {
  fg_dg2_header hdr;
  int have_hdr = 0, have_bdb = 0;
  size_t off = 0;
  while (off < n) {
    tlv t;
    int rc = tlv_read(p + off, n - off, &t, "biometric information template", err);
    if (rc) return rc;
    off += t.total;
    if (t.tag == TAG_BHT) {
      if (have_hdr)
        return fg__seterr(err, FG_EFORMAT, "dg2: instance %u: two header templates", instance);
      if ((rc = parse_header(t.v, t.len, &hdr, err))) return rc;
      /* note a creator element (86) without keeping it */
      size_t q = 0;
      while (q < t.len) {
        tlv s;
        if (tlv_read(t.v + q, t.len - q, &s, "header", NULL)) break;
        if (s.tag == 0x86) hdr.present |= FG_DG2_HDR_CREATOR;
        q += s.total;
      }
      have_hdr = 1;
    } else if (t.tag == TAG_BDB || t.tag == TAG_BDB_C) {
      if (!have_hdr)
        return fg__seterr(err, FG_EFORMAT,
                          "dg2: instance %u: data block before the biometric header template",
                          instance);
      if (have_bdb)
        return fg__seterr(err, FG_EFORMAT, "dg2: instance %u: two data blocks", instance);
      if (t.tag == TAG_BDB_C) {
        int iso19794 = ((hdr.present & FG_DG2_HDR_FMT_TYPE) && hdr.format_type == 0x0008) ||
                       (t.len >= 4 && memcmp(t.v, "FAC\0", 4) == 0);
        if (!iso19794)
          return fg__seterr(err, FG_EUNSUPPORTED,
                            "dg2: instance %u: ISO/IEC 39794-5 data block (7F2E) not supported",
                            instance);
      }
      if ((rc = parse_record(d, t.v, t.len, &hdr, instance, err))) return rc;
      have_bdb = 1;
    } else if (t.tag == TAG_SMT) {
      return fg__seterr(err, FG_EUNSUPPORTED,
                        "dg2: instance %u: secure-messaging protected template (7D)", instance);
    }
  }
  if (!have_hdr || !have_bdb)
    return fg__seterr(err, FG_EFORMAT, "dg2: instance %u: missing %s", instance,
                      have_hdr ? "biometric data block (5F2E)" : "biometric header template (A1)");
  return FG_OK;
}

static int parse_group(fg_dg2 *d, const uint8_t *p, size_t n, fg_error *err) {
  long count = -1;
  unsigned instances = 0;
  size_t off = 0;
  while (off < n) {
    tlv t;
    int rc = tlv_read(p + off, n - off, &t, "biometric information group template", err);
    if (rc) return rc;
    off += t.total;
    if (t.tag == TAG_COUNT) {
      if (count >= 0 || t.len < 1 || t.len > 2)
        return fg__seterr(err, FG_EFORMAT, "dg2: bad or repeated instance count element");
      count = t.len == 1 ? t.v[0] : fg__be16(t.v);
    } else if (t.tag == TAG_BIT) {
      if ((rc = parse_bit(d, t.v, t.len, instances, err))) return rc;
      instances++;
    } else if (t.tag == TAG_SMT) {
      return fg__seterr(err, FG_EUNSUPPORTED, "dg2: secure-messaging protected template (7D)");
    }
  }
  if (count < 0) return fg__seterr(err, FG_EFORMAT, "dg2: no instance count (tag 02)");
  if ((unsigned long)count != instances)
    return fg__seterr(err, FG_EFORMAT, "dg2: instance count says %ld, found %u templates", count,
                      instances);
  if (instances == 0) return fg__seterr(err, FG_EFORMAT, "dg2: no biometric information template");
  return FG_OK;
}

void fg_dg2_destroy(fg_dg2 *d) {
  if (!d) return;
  free(d->data);
  free(d->faces);
  free(d->points);
  free(d);
}

int fg_dg2_parse(const uint8_t *buf, size_t len, fg_dg2 **out, fg_error *err) {
  if (out) *out = NULL;
  if (!out || (!buf && len)) return fg__seterr(err, FG_EINVAL, "fg_dg2_parse: bad arguments");
  if (len == 0) return fg__seterr(err, FG_EFORMAT, "dg2: empty input");
  if (len > FG_DG2_MAX_BYTES)
    return fg__seterr(err, FG_ELIMIT, "dg2: %zu bytes exceeds the limit of %zu", len,
                      FG_DG2_MAX_BYTES);
  fg_dg2 *d = calloc(1, sizeof *d);
  if (!d || !(d->data = malloc(len))) {
    free(d);
    return fg__seterr(err, FG_ENOMEM, "dg2: out of memory");
  }
  memcpy(d->data, buf, len);
  d->len = len;
  tlv top;
  int rc = tlv_read(d->data, len, &top, "file", err);
  if (rc) goto fail;
  if (top.tag != TAG_DG2) {
    rc = fg__seterr(err, FG_EFORMAT, "dg2: outer tag is %X, expected 75", top.tag);
    goto fail;
  }
  int groups = 0;
  size_t off = 0;
  while (off < top.len) {
    tlv t;
    if ((rc = tlv_read(top.v + off, top.len - off, &t, "DG2", err))) goto fail;
    off += t.total;
    if (t.tag == TAG_BIGT) {
      if (groups++) {
        rc = fg__seterr(err, FG_EFORMAT, "dg2: more than one group template (7F61)");
        goto fail;
      }
      if ((rc = parse_group(d, t.v, t.len, err))) goto fail;
    }
  }
  if (!groups) {
    rc = fg__seterr(err, FG_EFORMAT, "dg2: no biometric information group template (7F61)");
    goto fail;
  }
  for (size_t i = 0; i < d->n_faces; i++) {
    fg_dg2_face_meta *m = &d->faces[i].face.meta;
    m->feature_points = m->n_feature_points ? d->points + d->faces[i].pts_first : NULL;
  }
  *out = d;
  return FG_OK;
fail:
  fg_dg2_destroy(d);
  return rc;
}

size_t fg_dg2_face_count(const fg_dg2 *d) { return d ? d->n_faces : 0; }

const fg_dg2_face *fg_dg2_face_at(const fg_dg2 *d, size_t i) {
  return d && i < d->n_faces ? &d->faces[i].face : NULL;
}

/* ---- writer ----------------------------------------------------------------------- */

static size_t len_size(size_t n) {
  return n < 0x80 ? 1 : n <= 0xFF ? 2 : n <= 0xFFFF ? 3 : n <= 0xFFFFFF ? 4 : 5;
}

static size_t tag_size(uint32_t tag) { return tag > 0xFFFF ? 3 : tag > 0xFF ? 2 : 1; }

static uint8_t *put_tl(uint8_t *p, uint32_t tag, size_t n) {
  if (tag > 0xFFFF) *p++ = (uint8_t)(tag >> 16);
  if (tag > 0xFF) *p++ = (uint8_t)(tag >> 8);
  *p++ = (uint8_t)tag;
  size_t ls = len_size(n);
  if (ls == 1) {
    *p++ = (uint8_t)n;
  } else {
    *p++ = (uint8_t)(0x80 | (ls - 1));
    for (size_t k = ls - 1; k > 0; k--) *p++ = (uint8_t)(n >> (8 * (k - 1)));
  }
  return p;
}

static size_t tlv_size(uint32_t tag, size_t n) { return tag_size(tag) + len_size(n) + n; }

int fg_dg2_build(const uint8_t *img, size_t img_len, const fg_dg2_face_meta *meta,
                 uint8_t **out, size_t *out_len, fg_error *err) {
  if (out) *out = NULL;
  if (out_len) *out_len = 0;
  if (!img || !img_len || !out || !out_len)
    return fg__seterr(err, FG_EINVAL, "fg_dg2_build: bad arguments");
  fg_dg2_face_meta m = {0};
  if (meta) m = *meta;
  else m.image_type = FG_DG2_FACE_FULL_FRONTAL;
  if (m.n_feature_points && !m.feature_points)
    return fg__seterr(err, FG_EINVAL, "fg_dg2_build: feature point count without points");
  fg_image_format fmt = fg_image_sniff(img, img_len);
  int rc;
  if (fmt == FG_IMAGE_FORMAT_JPEG) m.image_data_type = FG_DG2_IMAGE_JPEG;
  else if (fmt == FG_IMAGE_FORMAT_J2K || fmt == FG_IMAGE_FORMAT_JP2)
    m.image_data_type = FG_DG2_IMAGE_JPEG2000;
  else
    return fg__seterr(err, FG_EUNSUPPORTED, "fg_dg2_build: image is neither JPEG nor JPEG 2000");
  if (m.width == 0 || m.height == 0) {
    uint32_t w, h;
    if (fmt == FG_IMAGE_FORMAT_JPEG) {
      int jw, jh;
      if ((rc = fg__jpeg_probe(img, img_len, &jw, &jh, err))) return rc;
      w = (uint32_t)jw;
      h = (uint32_t)jh;
    } else if ((rc = fg__j2k_probe(img, img_len, fmt == FG_IMAGE_FORMAT_JP2, &w, &h, err))) {
      return rc;
    }
    if (w > 0xFFFF || h > 0xFFFF)
      return fg__seterr(err, FG_EINVAL, "fg_dg2_build: %ux%u does not fit the record", w, h);
    m.width = (uint16_t)w;
    m.height = (uint16_t)h;
  }
  const size_t fixed = FAC_HDR + FAC_INFO + (size_t)m.n_feature_points * FAC_PT + FAC_IMG;
  if (img_len > FG_DG2_MAX_BYTES - fixed - 64)
    return fg__seterr(err, FG_ELIMIT, "fg_dg2_build: image of %zu bytes is too large", img_len);
  const size_t rec_len = fixed + img_len;
  static const uint8_t bht[] = {0x80, 2, 0x01, 0x01, 0x81, 1, 0x02, 0x82, 1, 0x00,
                                0x87, 2, 0x01, 0x01, 0x88, 2, 0x00, 0x08};
  const size_t bit_len = tlv_size(TAG_BHT, sizeof bht) + tlv_size(TAG_BDB, rec_len);
  const size_t grp_len = 3 + tlv_size(TAG_BIT, bit_len); /* 7F61 value: count + template */
  const size_t dg2_len = tlv_size(TAG_BIGT, grp_len);
  const size_t total = tlv_size(TAG_DG2, dg2_len);
  uint8_t *b = malloc(total);
  if (!b) return fg__seterr(err, FG_ENOMEM, "fg_dg2_build: out of memory");
  uint8_t *p = b;
  p = put_tl(p, TAG_DG2, dg2_len);
  p = put_tl(p, TAG_BIGT, grp_len);
  *p++ = TAG_COUNT;
  *p++ = 1;
  *p++ = 1;
  p = put_tl(p, TAG_BIT, bit_len);
  p = put_tl(p, TAG_BHT, sizeof bht);
  memcpy(p, bht, sizeof bht);
  p += sizeof bht;
  p = put_tl(p, TAG_BDB, rec_len);
  memcpy(p, "FAC", 4); /* identifier and version, each NUL-terminated */
  memcpy(p + 4, "010", 4);
  fg__put_be32(p + 8, (uint32_t)rec_len);
  fg__put_be16(p + 12, 1);
  p += FAC_HDR;
  fg__put_be32(p, (uint32_t)(rec_len - FAC_HDR));
  fg__put_be16(p + 4, m.n_feature_points);
  p[6] = m.gender;
  p[7] = m.eye_colour;
  p[8] = m.hair_colour;
  p[9] = (uint8_t)(m.feature_mask >> 16);
  p[10] = (uint8_t)(m.feature_mask >> 8);
  p[11] = (uint8_t)m.feature_mask;
  fg__put_be16(p + 12, m.expression);
  memcpy(p + 14, m.pose, 3);
  memcpy(p + 17, m.pose_uncertainty, 3);
  p += FAC_INFO;
  for (unsigned k = 0; k < m.n_feature_points; k++, p += FAC_PT) {
    const fg_dg2_feature_point *pt = &m.feature_points[k];
    p[0] = pt->type;
    p[1] = pt->code;
    fg__put_be16(p + 2, pt->x);
    fg__put_be16(p + 4, pt->y);
    p[6] = p[7] = 0;
  }
  p[0] = m.image_type;
  p[1] = m.image_data_type;
  fg__put_be16(p + 2, m.width);
  fg__put_be16(p + 4, m.height);
  p[6] = m.colour_space;
  p[7] = m.source_type;
  fg__put_be16(p + 8, m.device_type);
  fg__put_be16(p + 10, m.quality);
  p += FAC_IMG;
  memcpy(p, img, img_len);
  p += img_len;
  if ((size_t)(p - b) != total) { /* cannot happen: sizes computed above */
    free(b);
    return fg__seterr(err, FG_EINVAL, "fg_dg2_build: internal size mismatch");
  }
  *out = b;
  *out_len = total;
  return FG_OK;
}
