// Scalar semantics of every node kind, for float, double and long double: the reference.
//
// These are the IR semantics of ir/expr.hpp made executable: NaN-propagating min/max, stable
// sigmoid and softplus that reach their limits at ±inf without inf/inf.
#pragma once

#include <cmath>
#include <concepts>

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
