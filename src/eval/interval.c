/*
 * The Wilson score interval for a binomial proportion (Wilson 1927; Brown,
 * Cai and DasGupta 2001 recommend it over the normal "Wald" interval, which
 * collapses to a point at 0 or 1 and undercovers with small counts, the usual
 * case for an error rate per traveller group):
 *
 *   p = k/n,  centre = (p + z²/2n) / (1 + z²/n),
 *   half  = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)
 *
 * And the rule that decides which groups of a breakdown may be shown
 * (fg_groups_withhold): the daily report's groups and `eval identify --labels`.
 */
#include <math.h>

#include "facegate/eval.h"

void fg_wilson95(int64_t k, int64_t n, double *lo, double *hi) {
  if (n <= 0 || k < 0 || k > n) {
    *lo = 0;
    *hi = 1;
    return;
  }
  const double z = 1.959963984540054, z2 = z * z;
  double dn = (double)n, p = (double)k / dn;
  double denom = 1 + z2 / dn;
  double centre = (p + z2 / (2 * dn)) / denom;
  double half = z / denom * sqrt(p * (1 - p) / dn + z2 / (4 * dn * dn));
  *lo = k == 0 ? 0 : fmax(0, centre - half);
  *hi = k == n ? 1 : fmin(1, centre + half);
}

size_t fg_groups_withhold(const int64_t *members, size_t n, int64_t min, uint8_t *shown) {
  int64_t withheld = 0;
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    shown[i] = members[i] >= min;
    if (!shown[i]) withheld += members[i], count++;
  }
  /* One withheld group beside shown ones and a known total is recovered by
   * subtraction; so is a set of withheld groups that is itself small. */
  while (withheld > 0 && withheld < min) {
    size_t smallest = n;
    for (size_t i = 0; i < n; i++)
      if (shown[i] && (smallest == n || members[i] < members[smallest])) smallest = i;
    if (smallest == n) break; /* everything is withheld */
    shown[smallest] = 0;
    withheld += members[smallest];
    count++;
  }
  return count;
}
