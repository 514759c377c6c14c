/*
 * libFuzzer target for the policy reader (fg_policy_parse): a policy file is
 * operator input that decides what is deleted when, so a malformed one must
 * be refused with a message, never half-applied. Checks: a refused policy
 * leaves the caller's struct untouched; an accepted one prints (fg_policy_to_json)
 * and reads back to the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "facegate/border.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fg_policy p, before;
  fg_policy_defaults(&p);
  before = p;
  fg_error e;
  if (fg_policy_parse((const char *)data, size, &p, &e) != FG_OK) {
    if (memcmp(&p, &before, sizeof p)) abort(); /* refused: nothing applied */
    return 0;
  }
  fg_doc *d = fg_policy_to_json(&p);
  if (!d) abort();
  char *text = fg_doc_text(d, FG_DOC_COMPACT);
  fg_doc_free(d);
  if (!text) abort();
  fg_policy q;
  fg_policy_defaults(&q);
  if (fg_policy_parse(text, strlen(text), &q, &e) != FG_OK) abort();
  free(text);
  /* Durations survive the round trip to the second (hours and days are exact
   * in JSON reals for any value the parser accepts). */
  for (int c = 0; c < FG_CATEGORY_COUNT; c++) {
    const fg_category_policy *a = &p.category[c], *b = &q.category[c];
    if (a->opt_out_allowed != b->opt_out_allowed || llabs(a->capture_retention - b->capture_retention) > 1 ||
        llabs(a->template_retention - b->template_retention) > 1 ||
        llabs(a->crossing_retention - b->crossing_retention) > 1)
      abort();
  }
  if (p.capture_mandatory != q.capture_mandatory || p.fta_max_tries != q.fta_max_tries ||
      p.admit_days != q.admit_days || p.report_min_group != q.report_min_group)
    abort();
  return 0;
}
