/*
 * libFuzzer target for the evaluation set's group labels
 * (fg_group_labels_parse, `facegate eval identify --labels`): operator input
 * that decides in which group each miss is counted. Checks: no crash or leak;
 * an accepted file answers a lookup for each of its identities with a label
 * of the accepted alphabet, and a lookup of an absent identity with NULL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "facegate/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fg_group_labels *l = NULL;
  fg_error e;
  if (fg_group_labels_parse((const char *)data, size, &l, &e) != FG_OK) {
    if (l) abort();
    return 0;
  }
  /* Every data row's identity is the text before its first comma. */
  const char *p = (const char *)data, *end = p + size;
  int header = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (n && p[0] != '#' && !(n == 1 && p[0] == '\r')) {
      if (header) {
        const char *c = memchr(p, ',', n);
        char id[160];
        size_t k = c ? (size_t)(c - p) : 0;
        if (!c || k >= sizeof id) abort();
        memcpy(id, p, k);
        id[k] = '\0';
        for (int d = 0; d < FG_LABEL_DIMS; d++) {
          const char *v = fg_group_labels_get(l, id, d);
          if (!v || strlen(v) > 31) abort();
        }
      }
      header = 1;
    }
    p += n + (nl != NULL);
  }
  if (fg_group_labels_get(l, "no such identity, with spaces", 0)) abort();
  fg_group_labels_free(l);
  return 0;
}
