/*
 * What the two halves of a gate encounter share (not API): encounter.c
 * checks the request, reads the manifest, runs the face pipeline and the
 * searches outside any transaction; encounter_record.c decides and writes the
 * outcome in one store transaction. The working state `enc` goes from one to
 * the other.
 */
#ifndef FG_BORDER_ENCOUNTER_INTERNAL_H
#define FG_BORDER_ENCOUNTER_INTERNAL_H

#include "border/border_internal.h"

typedef struct fg__manifest_row {
  int found;
  char status[16], direction[8], port[64];
} fg__manifest_row;

typedef struct fg__passenger_row {
  fg_border *b;        /* to open the traveller's sealed name */
  int64_t traveller;
  int found;
  char status[16];
  int64_t admitted_until;
  fg_category category;
  char name[160];
} fg__passenger_row;

typedef struct fg__enc {
  fg_border *b;
  const fg_actor *who;
  const fg_encounter_request *rq;
  fg_encounter_result *r;
  fg__manifest_row m;
  double t0;
  int64_t holder;            /* the presented document's holder on this manifest (0: none) */
  /* face */
  int have_face;             /* a face was found (an embedding exists) */
  int acquired;              /* FG_FACE_OK */
  int harsh;                 /* the capture is harsh-lit (fg_face_quality_harsh_light) */
  float *emb;
  int dim;
  /* watchlist screen */
  int wl_searched;
  size_t wl_templates;
  float wl_best, wl_threshold;  /* the best score; the threshold it (or the hit) was held to */
  int64_t wl_best_id;
  int wl_harsh;              /* that threshold carries the harsh-light margin */
  /* flight search */
  int searched;
  size_t flight_templates;
  int64_t nearest;           /* best-scoring traveller (0: empty gallery) */
  /* decision */
  int64_t candidate;         /* matched above threshold (0: none) */
  const char *referral;      /* NULL: none */
  int64_t referral_candidate;
  int cross;                 /* record a crossing for r->traveller_id */
  int64_t enc_traveller;     /* encounters.traveller_id */
  const char *category;      /* encounters.category (NULL: unidentified) */
  fg__passenger_row pax;     /* the candidate's or holder's passenger row */
  char fingerprint[65];      /* of the request, with an idempotency key */
  char row_hash[65];         /* the encounter row's hash, for its audit event (reconcile.c) */
  int64_t at;                /* the encounter's time, as recorded */
  int replay;                /* the key's first outcome was found inside the transaction */
} fg__enc;

/* Queue (in a read batch) or run the read of a manifest's row / a
 * passenger's row; the row is filled when the read runs. */
int fg__enc_read_manifest(fg_border *b, int64_t id, fg__manifest_row *m, fg_error *err);
int fg__enc_read_passenger(fg_border *b, int64_t manifest, int64_t traveller,
                           fg__passenger_row *p, fg_error *err);
/* The manifest read must exist and be open. */
int fg__enc_check_manifest(const fg__manifest_row *m, int64_t id, fg_error *err);

/* encounter_record.c: the transaction. On FG_OK either the outcome is
 * committed in c->r, or c->replay says the key's first outcome is in c->r. */
int fg__enc_record(fg__enc *c, fg_error *err);

#endif
