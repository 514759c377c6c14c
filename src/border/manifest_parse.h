/*
 * Reading a carrier's passenger manifest (JSON or CSV, docs/manifests.md)
 * into a plain struct (not API). The parser does no I/O besides reading the
 * buffer it is given: photo paths are checked (relative, no "..") but not
 * opened, base64 photos are decoded. It is strict and bounded: every field
 * has a length and a shape, a manifest at most FG__MANIFEST_MAX_PASSENGERS
 * passengers, a passenger at most FG__MANIFEST_MAX_PHOTOS photos.
 *
 * Two kinds of failure:
 *   - the file as a whole (not JSON / not our CSV, flight fields missing or
 *     malformed, no passengers, unknown top-level member or column): the
 *     parse fails with FG_EFORMAT (FG_ELIMIT for a size limit) and *doc is
 *     left empty;
 *   - one passenger (a required field missing, a field malformed, a photo
 *     entry malformed): the parse succeeds and the passenger carries its
 *     problems. A field problem sets `rejected` (the passenger cannot be
 *     recorded); a photo entry problem only drops that photo.
 *
 * manifest.c runs the face pipeline on the photos and writes the records;
 * fuzz/fuzz_manifest.c runs both parsers on arbitrary bytes.
 */
#ifndef FG_BORDER_MANIFEST_PARSE_H
#define FG_BORDER_MANIFEST_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/internal.h"
#include "facegate/border.h"

#define FG__MANIFEST_MAX_BYTES ((size_t)256 << 20) /* a whole manifest file */
#define FG__MANIFEST_MAX_PASSENGERS 5000
#define FG__MANIFEST_MAX_PHOTOS 8                   /* per passenger */
#define FG__MANIFEST_MAX_NAME 128                   /* bytes of UTF-8: surname, given names */
#define FG__MANIFEST_MAX_DOCNUM 24                  /* document number */
#define FG__MANIFEST_MAX_PATH 1024                  /* a photo's relative path */
#define FG__MANIFEST_MAX_BASE64 ((size_t)8 << 20)   /* characters of one base64 photo */
#define FG__MANIFEST_MAX_PROBLEMS 16                /* kept per passenger (more are dropped) */
/* JSON values (strings, member names included, scalars, arrays, objects) and
 * nesting a JSON manifest may have: about 60 values for a passenger with every
 * field and eight photos, times the passengers allowed, with room to spare;
 * the deepest legitimate nesting is 4 (passengers > passenger > photos > photo). */
#define FG__MANIFEST_MAX_JSON_VALUES 400000
#define FG__MANIFEST_MAX_JSON_DEPTH 8

/* Problem codes (static strings, also the report's and passengers.problems'). */
#define FG__PROBLEM_MISSING "missing_field"
#define FG__PROBLEM_INVALID "invalid_field"
#define FG__PROBLEM_UNREADABLE "unreadable_photo"
#define FG__PROBLEM_NO_FACE "no_face"
#define FG__PROBLEM_LOW_QUALITY "low_quality"
#define FG__PROBLEM_DUPLICATE "duplicate_document"
/* Set after staging (reenrol.c): templates of another recognition model that
 * could not be made again with the running one, left out of the gallery. */
#define FG__PROBLEM_REENROL_NO_PHOTO "reenrol_no_photo"
#define FG__PROBLEM_REENROL_NO_FACE "reenrol_no_face"

typedef struct fg__manifest_problem {
  const char *code;  /* one of FG__PROBLEM_* */
  int photo;         /* position in the passenger's photo list, -1: the passenger */
  char detail[200];
} fg__manifest_problem;

typedef enum fg__photo_kind {
  FG__PHOTO_PATH = 1,   /* an image file (or a DG2: decoding looks at the bytes) */
  FG__PHOTO_DG2 = 2,    /* a DG2 file */
  FG__PHOTO_BASE64 = 3  /* inline bytes */
} fg__photo_kind;

typedef struct fg__manifest_photo {
  fg__photo_kind kind;
  int pos;        /* position in the passenger's photo list as written */
  char *path;     /* PATH, DG2: relative, checked; malloc'd */
  uint8_t *data;  /* BASE64: the decoded bytes; malloc'd */
  size_t len;
} fg__manifest_photo;

/* Text fields are NUL-terminated; "" means not given (optional fields). */
typedef struct fg__manifest_passenger {
  size_t index;   /* position among the manifest's passengers, from 0 */
  long line;      /* CSV: line the row ends on (1 = the header); JSON: 0 */
  char surname[FG__MANIFEST_MAX_NAME + 1];
  char given_names[FG__MANIFEST_MAX_NAME + 1];
  char date_of_birth[11];  /* YYYY-MM-DD */
  char nationality[4];     /* ICAO 9303 code, 1-3 letters */
  char sex[2];             /* F, M, X */
  fg_category category;
  char doc_type[3];        /* P, PP, I, ID, V...; default "P" */
  char doc_number[FG__MANIFEST_MAX_DOCNUM + 1]; /* upper-cased */
  char issuing_state[4];
  char doc_expiry[11];
  int64_t admitted_until;  /* end of the given day (or the given time), UTC; 0: none */
  int nphotos;             /* photos whose entries are well formed */
  fg__manifest_photo photo[FG__MANIFEST_MAX_PHOTOS];
  int rejected;            /* a field problem: cannot be recorded */
  int nproblems;
  fg__manifest_problem problem[FG__MANIFEST_MAX_PROBLEMS];
} fg__manifest_passenger;

typedef struct fg__manifest_doc {
  fg_manifest_format format;
  int have_flight;         /* the flight fields were given (then all five are valid) */
  char carrier[4];         /* IATA (2) or ICAO (3) code */
  char flight[11];         /* "XA123" */
  char port[6];            /* IATA (3) or ICAO (4) code */
  int64_t scheduled;       /* UTC seconds */
  char direction[6];       /* "entry", "exit" */
  size_t n;
  fg__manifest_passenger *p; /* n passengers, in file order */
} fg__manifest_doc;

/* The flight given outside the file (CSV; checked like the JSON members). */
typedef struct fg__manifest_flight {
  const char *carrier, *flight, *port, *scheduled, *direction;
} fg__manifest_flight;

/* Parse a JSON manifest. require_flight: the five flight members must be
 * there (an import); otherwise (an amend) they may be left out, but if any is
 * given all must be. On error *doc is empty (nothing to release) and err
 * names the line/column or the member. */
int fg__manifest_parse_json(const char *data, size_t len, int require_flight,
                            fg__manifest_doc *doc, fg_error *err);
/* Parse a CSV manifest (header row naming the columns); the flight comes from
 * `flight` (may be NULL or have NULL members, under the same rule). */
int fg__manifest_parse_csv(const char *data, size_t len, const fg__manifest_flight *flight,
                           int require_flight, fg__manifest_doc *doc, fg_error *err);
/* Free what a successful parse allocated and zero *doc. */
void fg__manifest_doc_release(fg__manifest_doc *doc);

/* Add a problem to a passenger (dropped past FG__MANIFEST_MAX_PROBLEMS).
 * photo: position of the photo, -1 for the passenger. */
void fg__manifest_problem_add(fg__manifest_passenger *p, const char *code, int photo,
                              const char *fmt, ...) FG__PRINTF(4, 5);

#endif
