// Scalar semantics of every node kind, for float, double and long double: the reference.
//
// These are the IR semantics of ir/expr.hpp made executable: NaN-propagating min/max, stable
// sigmoid and softplus that reach their limits at ±inf without inf/inf.
#pragma once

#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>

namespace actforge::dsl::scalar {

template <class T> constexpr bool is_nan(const T &v) { return !(v == v); }

template <std::floating_point T> T exp(T v) { return std::exp(v); }
template <std::floating_point T> T expm1(T v) { return std::expm1(v); }
template <std::floating_point T> T log(T v) { return std::log(v); }
template <std::floating_point T> T log1p(T v) { return std::log1p(v); }
template <std::floating_point T> T sqrt(T v) { return std::sqrt(v); }
template <std::floating_point T> T rsqrt(T v) { return T(1) / std::sqrt(v); }
template <std::floating_point T> constexpr T abs(T v) { return v < 0 ? -v : (v == 0 ? T(0) : v); }
template <std::floating_point T> T tanh(T v) { return std::tanh(v); }
template <std::floating_point T> T erf(T v) { return std::erf(v); }
template <std::floating_point T> T erfc(T v) { return std::erfc(v); }

namespace detail {
/// tanh(u) = Σ kTanhSeries[k]·u^(2k+1), from tanh' = 1 - tanh²: (2m+3)·c[m+1] = -Σ c[i]·c[m-i].
/// The coefficients alternate in sign with magnitudes near 2·(2/π)^(2k+2): no cancellation in
/// the sums, so each is within a few long-double ulps of the exact rational.
inline constexpr auto kTanhSeries = [] {
  std::array<long double, 40> c{};
  c[0] = 1;
  for (std::size_t m = 0; m + 1 < c.size(); ++m) {
    long double s = 0;
    for (std::size_t i = 0; i <= m; ++i)
      s += c[i] * c[m - i];
    c[m + 1] = -s / static_cast<long double>(2 * m + 3);
  }
  return c;
}();
} // namespace detail

/// u - tanh(u) without its cancellation near 0, where it is u³/3 - 2u⁵/15 + ...: below |u| = 0.75
/// the series (its terms shrink by (2u/π)² ≤ 0.23 each, so the 39 kept leave a relative
/// remainder below 1e-24); beyond, u - tanh(u) loses at most a factor 6 to cancellation, which
/// leaves long double 1e-18 relative. Odd: -0 gives -0. The IR evaluates u - tanh(u) (the same u)
/// as this function, and so do the compiled kernels (codegen's x_minus_tanh).
template <std::floating_point T> T x_minus_tanh(T u) {
  if (!(u < T(0.75) && u > T(-0.75))) return u - std::tanh(u); // also NaN and ±inf
  const T z = u * u;
  T s = 0;
  for (std::size_t k = detail::kTanhSeries.size() - 1; k >= 1; --k)
    s = s * z + static_cast<T>(detail::kTanhSeries[k]);
  return -u * z * s;
}

/// 1/(1+e^-u), as e^u/(1+e^u) for u < 0 so nothing overflows.
template <std::floating_point T> T sigmoid(T u) {
  if (u >= 0) return T(1) / (T(1) + std::exp(-u));
  const T e = std::exp(u);
  return e / (T(1) + e);
}

/// log(1+e^u) = max(u, 0) + log1p(e^-|u|).
template <std::floating_point T> T softplus(T u) {
  if (is_nan(u)) return u;
  return (u > 0 ? u : T(0)) + std::log1p(std::exp(-(u < 0 ? -u : u)));
}

template <class T> constexpr T max(const T &a, const T &b) {
  if (is_nan(a) || is_nan(b)) return a + b;
  return a > b ? a : b;
}
template <class T> constexpr T min(const T &a, const T &b) {
  if (is_nan(a) || is_nan(b)) return a + b;
  return a < b ? a : b;
}

/// u^n for an integer n by repeated squaring; 0^0 = 1.
template <class T> constexpr T powi(T u, long long n) {
  if (n < 0) return T(1) / powi(u, -n);
  T result(1);
  while (n > 0) {
    if (n & 1) result = result * u;
    u = u * u;
    n >>= 1;
  }
  return result;
}

} // namespace actforge::dsl::scalar
