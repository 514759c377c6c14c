/*
 * libFuzzer target for the manifest parsers (src/border/manifest_parse.c):
 * the JSON and CSV passenger manifests a supervisor imports. Both must refuse
 * anything malformed with an error, never crash, over-read or leak, and what
 * they accept must respect the documented bounds (field lengths, photos per
 * passenger, passengers per manifest). The first input byte picks the parser
 * (bit 0: CSV) and whether the flight is required (bit 1), so one corpus
 * covers both; checked-in seeds are in fuzz/corpus/fuzz_manifest/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "border/manifest_parse.h"

static void check(int ok) {
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  fg__manifest_doc d;
  fg_error e;
  int require = (data[0] >> 1) & 1;
  const char *text = (const char *)data + 1;
  int rc;
  if (data[0] & 1) {
    fg__manifest_flight fl = {"XA", "XA123", "JFK", "2026-11-27T10:00:00Z", "entry"};
    rc = fg__manifest_parse_csv(text, size - 1, require ? &fl : NULL, require, &d, &e);
  } else {
    rc = fg__manifest_parse_json(text, size - 1, require, &d, &e);
  }
  if (rc != FG_OK) {
    check(d.n == 0 && d.p == NULL);
    return 0;
  }
  check(d.n >= 1 && d.n <= FG__MANIFEST_MAX_PASSENGERS);
  if (require) check(d.have_flight);
  volatile size_t sink = 0;
  for (size_t i = 0; i < d.n; i++) {
    const fg__manifest_passenger *p = &d.p[i];
    check(p->index == i);
    check(strlen(p->surname) <= FG__MANIFEST_MAX_NAME);
    check(strlen(p->given_names) <= FG__MANIFEST_MAX_NAME);
    check(strlen(p->doc_number) <= FG__MANIFEST_MAX_DOCNUM);
    check(p->nphotos >= 0 && p->nphotos <= FG__MANIFEST_MAX_PHOTOS);
    check(p->nproblems >= 0 && p->nproblems <= FG__MANIFEST_MAX_PROBLEMS);
    if (!p->rejected) check(p->surname[0] && p->doc_number[0] && p->issuing_state[0]);
    for (int k = 0; k < p->nproblems; k++) sink += strlen(p->problem[k].detail);
    for (int j = 0; j < p->nphotos; j++) {
      const fg__manifest_photo *ph = &p->photo[j];
      if (ph->kind == FG__PHOTO_BASE64) {
        check(ph->data && ph->len > 0);
        for (size_t b = 0; b < ph->len; b++) sink += ph->data[b];
      } else {
        check(ph->path && ph->path[0] != '/' && strlen(ph->path) <= FG__MANIFEST_MAX_PATH);
      }
    }
  }
  (void)sink;
  fg__manifest_doc_release(&d);
  return 0;
}
