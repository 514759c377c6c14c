/*
 * facegate/dg2.h — ICAO 9303 EF.DG2 (the face on a passport chip): parse and build.
 *
 * EF.DG2 is a BER-TLV structure (ICAO 9303-10, ISO/IEC 7816-11 CBEFF):
 *
 *   75                     DG2
 *     7F61                 biometric information group template
 *       02   n             number of instances
 *       7F60               biometric information template   (n times)
 *         A1               biometric header template: 80 version, 81 type,
 *                          82 subtype, 83 creation date, 85 validity period,
 *                          86 creator, 87 format owner, 88 format type
 *         5F2E             biometric data block: an ISO/IEC 19794-5:2005
 *                          facial record ("FAC\0", "010\0"), which holds one
 *                          or more faces, each with its metadata and a JPEG
 *                          or JPEG 2000 image
 *
 * fg_dg2_parse() checks every length against its enclosing element, collects
 * ALL faces of ALL instances (in file order) and copies the input, so the
 * caller may free its buffer at once. The returned fg_dg2 is immutable: it may
 * be read from several threads at once. Pointers obtained from it (faces,
 * image bytes, feature points) live until fg_dg2_destroy().
 *
 *     fg_dg2 *d;
 *     if (fg_dg2_parse(buf, len, &d, &e) == FG_OK) {
 *         const fg_dg2_face *f = fg_dg2_face_at(d, 0);
 *         // f->image, f->image_len: the JPEG / JPEG 2000; f->meta: gender, pose...
 *         fg_dg2_destroy(d);
 *     }
 *
 * fg_image_decode() accepts a DG2 directly and decodes its first face's image.
 * Not handled (FG_EUNSUPPORTED): the ISO/IEC 39794-5 encoding of LDS 2 (7F2E
 * whose header does not announce format type 0x0008), secure-messaging
 * protected templates (7D), indefinite lengths, facial record versions other
 * than "010". See docs/images.md.
 */
#ifndef FACEGATE_DG2_H
#define FACEGATE_DG2_H

#include <stddef.h>
#include <stdint.h>

#include "facegate/error.h"

#ifdef __cplusplus
extern "C" {
#endif
FG_API_BEGIN

typedef struct fg_dg2 fg_dg2;

/* Largest DG2 accepted by fg_dg2_parse (FG_ELIMIT above). */
#define FG_DG2_MAX_BYTES ((size_t)32 << 20)

/* ISO/IEC 19794-5:2005 codes (the raw byte is kept; these name common values). */
enum { FG_DG2_GENDER_UNSPECIFIED = 0, FG_DG2_GENDER_MALE = 1, FG_DG2_GENDER_FEMALE = 2,
       FG_DG2_GENDER_UNKNOWN = 0xFF };
enum { FG_DG2_EYE_UNSPECIFIED = 0, FG_DG2_EYE_BLACK, FG_DG2_EYE_BLUE, FG_DG2_EYE_BROWN,
       FG_DG2_EYE_GREY, FG_DG2_EYE_GREEN, FG_DG2_EYE_MULTI, FG_DG2_EYE_PINK,
       FG_DG2_EYE_UNKNOWN = 0xFF };
enum { FG_DG2_HAIR_UNSPECIFIED = 0, FG_DG2_HAIR_BALD, FG_DG2_HAIR_BLACK, FG_DG2_HAIR_BLONDE,
       FG_DG2_HAIR_BROWN, FG_DG2_HAIR_GREY, FG_DG2_HAIR_WHITE, FG_DG2_HAIR_RED,
       FG_DG2_HAIR_UNKNOWN = 0xFF };
enum { FG_DG2_EXPR_UNSPECIFIED = 0, FG_DG2_EXPR_NEUTRAL, FG_DG2_EXPR_SMILE_CLOSED,
       FG_DG2_EXPR_SMILE_OPEN, FG_DG2_EXPR_RAISED_EYEBROWS, FG_DG2_EXPR_LOOKING_AWAY,
       FG_DG2_EXPR_SQUINTING, FG_DG2_EXPR_FROWNING };
enum { FG_DG2_FACE_BASIC = 0, FG_DG2_FACE_FULL_FRONTAL = 1, FG_DG2_FACE_TOKEN_FRONTAL = 2 };
enum { FG_DG2_IMAGE_JPEG = 0, FG_DG2_IMAGE_JPEG2000 = 1 };
enum { FG_DG2_COLOUR_UNSPECIFIED = 0, FG_DG2_COLOUR_RGB24 = 1, FG_DG2_COLOUR_YUV422 = 2,
       FG_DG2_COLOUR_GREY8 = 3, FG_DG2_COLOUR_OTHER = 4 };

/* One ISO/IEC 19794-5 feature point (MPEG-4 code: type, major.minor in `code`). */
typedef struct fg_dg2_feature_point {
  uint8_t type;
  uint8_t code; /* major in the high nibble, minor in the low nibble */
  uint16_t x, y;
} fg_dg2_feature_point;

/* The facial information and image information blocks of one face, as coded.
 * Pose angles are coded bytes: 0 = unspecified, 1..181 = (code - 91) * 2
 * degrees (see fg_dg2_angle_to_deg); order yaw, pitch, roll. */
typedef struct fg_dg2_face_meta {
  uint8_t gender, eye_colour, hair_colour;
  uint32_t feature_mask; /* 24-bit property mask */
  uint16_t expression;
  uint8_t pose[3];             /* yaw, pitch, roll */
  uint8_t pose_uncertainty[3]; /* same order; 0 = unspecified */
  uint8_t image_type;          /* FG_DG2_FACE_* */
  uint8_t image_data_type;     /* FG_DG2_IMAGE_* as recorded */
  uint16_t width, height;      /* as recorded (not checked against the image) */
  uint8_t colour_space, source_type;
  uint16_t device_type, quality;
  uint16_t n_feature_points;
  const fg_dg2_feature_point *feature_points; /* n_feature_points entries or NULL */
} fg_dg2_face_meta;

/* fg_dg2_header.present bits: which biometric header template elements were there. */
#define FG_DG2_HDR_VERSION 0x01u    /* 80 */
#define FG_DG2_HDR_TYPE 0x02u       /* 81 */
#define FG_DG2_HDR_SUBTYPE 0x04u    /* 82 */
#define FG_DG2_HDR_CREATED 0x08u    /* 83 */
#define FG_DG2_HDR_VALIDITY 0x10u   /* 85 */
#define FG_DG2_HDR_CREATOR 0x20u    /* 86 (content not kept) */
#define FG_DG2_HDR_FMT_OWNER 0x40u  /* 87 */
#define FG_DG2_HDR_FMT_TYPE 0x80u   /* 88 */

/* The biometric header template (A1) of the instance a face came from. */
typedef struct fg_dg2_header {
  unsigned present;        /* FG_DG2_HDR_* bits */
  uint16_t version;        /* 80: e.g. 0x0101 */
  uint32_t biometric_type; /* 81: 0x02 = facial features */
  uint8_t biometric_subtype;
  uint8_t created[7];      /* 83: YYYYMMDDhhmmss, BCD */
  uint8_t validity[8];     /* 85: from YYYYMMDD, to YYYYMMDD, BCD */
  uint16_t format_owner;   /* 87: 0x0101 = ISO/IEC JTC 1/SC 37 */
  uint16_t format_type;    /* 88: 0x0008 = ISO/IEC 19794-5 face image */
} fg_dg2_header;

typedef struct fg_dg2_face {
  fg_dg2_face_meta meta;
  fg_dg2_header header;
  unsigned instance;    /* index of the 7F60 template it came from */
  const uint8_t *image; /* the embedded JPEG / JPEG 2000 bytes, owned by the fg_dg2 */
  size_t image_len;     /* > 0 */
} fg_dg2_face;

/* 1 if buf starts like a DG2 (tag 75, a valid length, then 7F61), else 0. */
int fg_image_is_dg2(const uint8_t *buf, size_t len);

/* Parse a DG2. On success *out is a new handle holding at least one face;
 * destroy it with fg_dg2_destroy. On error *out is NULL. Bytes after the
 * outer 75 element are ignored (chip readers may pad). Errors: FG_EFORMAT
 * (any length running past its parent, bad counts, missing elements, no
 * face), FG_EUNSUPPORTED, FG_ELIMIT (len > FG_DG2_MAX_BYTES), FG_ENOMEM. */
int fg_dg2_parse(const uint8_t *buf, size_t len, fg_dg2 **out, fg_error *err);
/* Free the handle and everything pointing into it. NULL does nothing. */
void fg_dg2_destroy(fg_dg2 *dg2);
/* Number of faces (>= 1). */
size_t fg_dg2_face_count(const fg_dg2 *dg2);
/* Face i in file order, or NULL when i >= fg_dg2_face_count. */
const fg_dg2_face *fg_dg2_face_at(const fg_dg2 *dg2, size_t i);

/* Decode a coded pose angle: 0 and *deg set for 1..181; FG_ENOTFOUND for 0
 * (unspecified); FG_EFORMAT for 182..255. */
int fg_dg2_angle_to_deg(uint8_t code, int *deg);
/* Code an angle in degrees (clamped to -180..180, rounded to the 2-degree grid). */
uint8_t fg_dg2_angle_from_deg(int deg);

/* Wrap a JPEG or JPEG 2000 (codestream or JP2) into a DG2 with one instance
 * and one face. `meta` may be NULL (all fields unspecified, full frontal).
 * image_data_type is always set from the image's magic bytes (other formats:
 * FG_EUNSUPPORTED); width/height come from meta when both are non-zero,
 * otherwise from the image header. The header template written has
 * version 0101, type 02 (face), subtype 00, owner 0101, format type 0008.
 * *out is malloc'd: free() it; on error *out is NULL and *out_len 0. */
int fg_dg2_build(const uint8_t *img, size_t img_len, const fg_dg2_face_meta *meta,
                 uint8_t **out, size_t *out_len, fg_error *err);

FG_API_END
#ifdef __cplusplus
}
#endif
#endif
