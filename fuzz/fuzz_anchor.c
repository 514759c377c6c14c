/*
 * libFuzzer target for the anchor-file line reader (fg__anchor_parse,
 * src/border/audit_api.c): `audit verify --anchor-file` reads a file that
 * lives outside the store and may be damaged or tampered with. Checks: no
 * crash on any line; an accepted line names a positive sequence number and a
 * hash of 64 lowercase hex digits, and the line begins with exactly what
 * fg_border_audit_publish writes for them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "border/border_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *line = malloc(size + 1);
  if (!line) return 0;
  memcpy(line, data, size);
  line[size] = '\0';
  int64_t seq = 0;
  char hex[65];
  if (fg__anchor_parse(line, &seq, hex) == 0) {
    if (seq <= 0 || strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64) abort();
    char want[128];
    int n = snprintf(want, sizeof want, "facegate-anchor 1 %lld:%s", (long long)seq, hex);
    if (strncmp(line, want, (size_t)n) != 0) abort();
  }
  free(line);
  return 0;
}
