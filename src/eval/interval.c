/*
 * The Wilson score interval for a binomial proportion (Wilson 1927; Brown,
 * Cai and DasGupta 2001 recommend it over the normal "Wald" interval, which
 * collapses to a point at 0 or 1 and undercovers with small counts, the usual
 * case for an error rate per traveller group):
 *
 *   p = k/n,  centre = (p + z²/2n) / (1 + z²/n),
 *   half  = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)
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
