// Gauss–Hermite and Gauss–Legendre rules in long double: Newton's method on the three-term
// recurrences of the orthonormal polynomials, from the classic asymptotic starting guesses.
#include "actforge/dsl/analysis.hpp"
#include "actforge/error.hpp"

#include <cmath>
#include <limits>
#include <numbers>

namespace actforge::dsl {

Quadrature gauss_hermite(int n) {
  if (n < 1 || n > 1000) throw Error("gauss_hermite: n must be from 1 to 1000");
  Quadrature q;
  q.nodes.assign(static_cast<std::size_t>(n), 0);
  q.weights.assign(static_cast<std::size_t>(n), 0);
  const long double pim4 = 1 / std::pow(std::numbers::pi_v<long double>, 0.25L);
  const long double nn = n;
  long double z = 0;
  for (int i = 1; i <= (n + 1) / 2; ++i) {
    auto at = [&](int k) { return q.nodes[static_cast<std::size_t>(k)]; };
    if (i == 1)
      z = std::sqrt(2 * nn + 1) - 1.85575L * std::pow(2 * nn + 1, -0.16667L);
    else if (i == 2)
      z -= 1.14L * std::pow(nn, 0.426L) / z;
    else if (i == 3)
      z = 1.86L * z - 0.86L * at(0);
    else if (i == 4)
      z = 1.91L * z - 0.91L * at(1);
    else
      z = 2 * z - at(i - 3);
    long double pp = 0;
    for (int iter = 0; iter < 100; ++iter) {
      long double p1 = pim4, p2 = 0;
      for (int j = 1; j <= n; ++j) {
        const long double p3 = p2;
        p2 = p1;
        p1 = z * std::sqrt(2.0L / j) * p2 - std::sqrt((j - 1.0L) / j) * p3;
      }
      pp = std::sqrt(2 * nn) * p2;
      const long double z1 = z;
      z = z1 - p1 / pp;
      if (std::fabs(z - z1) <= 4 * std::numeric_limits<long double>::epsilon() * std::fabs(z))
        break;
    }
    const auto lo = static_cast<std::size_t>(i - 1), hi = static_cast<std::size_t>(n - i);
    q.nodes[lo] = z;
    q.nodes[hi] = -z;
    q.weights[lo] = q.weights[hi] = 2 / (pp * pp);
  }
  if (n % 2 == 1) q.nodes[static_cast<std::size_t>(n / 2)] = 0; // exactly
  return q;
}

Quadrature gauss_legendre(int n) {
  if (n < 1 || n > 1000) throw Error("gauss_legendre: n must be from 1 to 1000");
  Quadrature q;
  q.nodes.assign(static_cast<std::size_t>(n), 0);
  q.weights.assign(static_cast<std::size_t>(n), 0);
  for (int i = 1; i <= (n + 1) / 2; ++i) {
    long double z = std::cos(std::numbers::pi_v<long double> * (i - 0.25L) / (n + 0.5L)), pp = 0;
    for (int iter = 0; iter < 100; ++iter) {
      long double p1 = 1, p2 = 0;
      for (int j = 1; j <= n; ++j) {
        const long double p3 = p2;
        p2 = p1;
        p1 = ((2 * j - 1) * z * p2 - (j - 1) * p3) / j;
      }
      pp = n * (z * p1 - p2) / (z * z - 1);
      const long double z1 = z;
      z = z1 - p1 / pp;
      if (std::fabs(z - z1) <= 4 * std::numeric_limits<long double>::epsilon()) break;
    }
    const auto lo = static_cast<std::size_t>(i - 1), hi = static_cast<std::size_t>(n - i);
    q.nodes[lo] = -z;
    q.nodes[hi] = z;
    q.weights[lo] = q.weights[hi] = 2 / ((1 - z * z) * pp * pp);
  }
  if (n % 2 == 1) q.nodes[static_cast<std::size_t>(n / 2)] = 0;
  return q;
}

long double normal_cdf(long double z) {
  return 0.5L * std::erfc(-z / std::numbers::sqrt2_v<long double>);
}

} // namespace actforge::dsl
