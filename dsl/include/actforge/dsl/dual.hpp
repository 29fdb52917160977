// dual<T>: forward-mode automatic differentiation, an independent check of the symbolic rules.
//
// eval(e, dual<long double>{x, 1}).d is f'(x) computed by the chain rule on values, never by
// building the derivative expression, so comparing it with eval(d(e, x), x) tests d().
#pragma once

#include "actforge/dsl/scalar.hpp"

namespace actforge::dsl {

template <std::floating_point T> struct dual {
  T v{}; // value
  T d{}; // derivative

  constexpr dual() = default;
  constexpr dual(T value, T derivative = T(0)) : v(value), d(derivative) {}
  template <std::floating_point U>
  requires(!std::same_as<U, T>) constexpr explicit dual(U value) : v(static_cast<T>(value)) {}

  friend constexpr dual operator+(dual a, dual b) { return {a.v + b.v, a.d + b.d}; }
  friend constexpr dual operator-(dual a, dual b) { return {a.v - b.v, a.d - b.d}; }
  friend constexpr dual operator*(dual a, dual b) { return {a.v * b.v, a.d * b.v + a.v * b.d}; }
  friend constexpr dual operator/(dual a, dual b) {
    const T q = a.v / b.v;
    return {q, (a.d - q * b.d) / b.v};
  }
  friend constexpr dual operator-(dual a) { return {-a.v, -a.d}; }
  friend constexpr bool operator==(dual a, dual b) { return a.v == b.v; }
  friend constexpr bool operator!=(dual a, dual b) { return a.v != b.v; }
  friend constexpr bool operator<(dual a, dual b) { return a.v < b.v; }
  friend constexpr bool operator>(dual a, dual b) { return a.v > b.v; }
  friend constexpr bool operator<=(dual a, dual b) { return a.v <= b.v; }
  friend constexpr bool operator>=(dual a, dual b) { return a.v >= b.v; }
};

namespace scalar {
template <class T> dual<T> exp(dual<T> a) {
  const T e = std::exp(a.v);
  return {e, e * a.d};
}
template <class T> dual<T> expm1(dual<T> a) { return {std::expm1(a.v), std::exp(a.v) * a.d}; }
template <class T> dual<T> log(dual<T> a) { return {std::log(a.v), a.d / a.v}; }
template <class T> dual<T> log1p(dual<T> a) { return {std::log1p(a.v), a.d / (T(1) + a.v)}; }
template <class T> dual<T> sqrt(dual<T> a) {
  const T s = std::sqrt(a.v);
  return {s, a.d / (T(2) * s)};
}
template <class T> dual<T> rsqrt(dual<T> a) {
  const T r = T(1) / std::sqrt(a.v);
  return {r, -r / (T(2) * a.v) * a.d};
}
template <class T> dual<T> abs(dual<T> a) {
  if (is_nan(a.v)) return a;
  return a.v > 0 ? a : (a.v < 0 ? -a : dual<T>{T(0), T(0)});
}
template <class T> dual<T> sigmoid(dual<T> a) {
  const T s = sigmoid(a.v);
  return {s, s * sigmoid(-a.v) * a.d};
}
template <class T> dual<T> tanh(dual<T> a) {
  const T sech2 = T(4) * sigmoid(T(2) * a.v) * sigmoid(T(-2) * a.v);
  return {std::tanh(a.v), sech2 * a.d};
}
template <class T> dual<T> erf(dual<T> a) {
  const T k = T(1.12837916709551257389615890312154517L);
  return {std::erf(a.v), k * std::exp(-a.v * a.v) * a.d};
}
template <class T> dual<T> erfc(dual<T> a) {
  const T k = T(1.12837916709551257389615890312154517L);
  return {std::erfc(a.v), -k * std::exp(-a.v * a.v) * a.d};
}
template <class T> dual<T> softplus(dual<T> a) { return {softplus(a.v), sigmoid(a.v) * a.d}; }
} // namespace scalar

} // namespace actforge::dsl
