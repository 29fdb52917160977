// The user-facing spelling of expressions: operators and functions that build the tree as written.
#pragma once

#include "actforge/dsl/expr.hpp"

namespace actforge::dsl {

inline constexpr input_t<0> x{};
inline constexpr input_t<1> g{};

/// A named parameter with a default: param<"beta">(1.0). Without a default, param<"t">() must be
/// given a value whenever the expression is evaluated.
template <fixed_string Name> constexpr auto param(long double default_value) {
  return param_t<Name, true>{default_value};
}
template <fixed_string Name> constexpr auto param() { return param_t<Name, false>{}; }

/// A literal with the full precision of long double (1.0507009873554804934L).
constexpr lit_t lit(long double v) { return lit_t{v}; }

namespace detail {
template <Kind K, class... C> constexpr auto raw(const C &...c) {
  static_assert((Value<C> && ...),
                "a comparison (such as x > 0) can only be the condition of select()");
  return node_t<K, C...>{hana::make_tuple(c...)};
}
} // namespace detail

#define ACTFORGE_DSL_BINARY(op, kind)                                                              \
  template <Operand A, Operand B>                                                                  \
  requires(Expression<A> || Expression<B>) constexpr auto operator op(const A &a, const B &b) {    \
    return detail::raw<kind>(as_expr(a), as_expr(b));                                              \
  }
ACTFORGE_DSL_BINARY(+, Kind::Add)
ACTFORGE_DSL_BINARY(-, Kind::Sub)
ACTFORGE_DSL_BINARY(*, Kind::Mul)
ACTFORGE_DSL_BINARY(/, Kind::Div)
ACTFORGE_DSL_BINARY(>, Kind::Gt)
ACTFORGE_DSL_BINARY(>=, Kind::Ge)
ACTFORGE_DSL_BINARY(<, Kind::Lt)
ACTFORGE_DSL_BINARY(<=, Kind::Le)
#undef ACTFORGE_DSL_BINARY

template <Expression A> constexpr auto operator-(const A &a) { return detail::raw<Kind::Neg>(a); }

/// Equality comparisons are functions, not operators, so C++20's rewritten == never interferes.
template <Operand A, Operand B> constexpr auto eq(const A &a, const B &b) {
  return detail::raw<Kind::Eq>(as_expr(a), as_expr(b));
}
template <Operand A, Operand B> constexpr auto ne(const A &a, const B &b) {
  return detail::raw<Kind::Ne>(as_expr(a), as_expr(b));
}

#define ACTFORGE_DSL_UNARY(fn, kind)                                                               \
  template <Expression A> constexpr auto fn(const A &a) { return detail::raw<kind>(a); }
ACTFORGE_DSL_UNARY(exp, Kind::Exp)
ACTFORGE_DSL_UNARY(expm1, Kind::Expm1)
ACTFORGE_DSL_UNARY(log, Kind::Log)
ACTFORGE_DSL_UNARY(log1p, Kind::Log1p)
ACTFORGE_DSL_UNARY(sqrt, Kind::Sqrt)
ACTFORGE_DSL_UNARY(rsqrt, Kind::Rsqrt)
ACTFORGE_DSL_UNARY(abs, Kind::Abs)
ACTFORGE_DSL_UNARY(sigmoid, Kind::Sigmoid)
ACTFORGE_DSL_UNARY(tanh, Kind::Tanh)
ACTFORGE_DSL_UNARY(erf, Kind::Erf)
ACTFORGE_DSL_UNARY(erfc, Kind::Erfc)
ACTFORGE_DSL_UNARY(softplus, Kind::Softplus)
#undef ACTFORGE_DSL_UNARY

template <Operand A, Operand B>
requires(Expression<A> || Expression<B>) constexpr auto min(const A &a, const B &b) {
  return detail::raw<Kind::Min>(as_expr(a), as_expr(b));
}
template <Operand A, Operand B>
requires(Expression<A> || Expression<B>) constexpr auto max(const A &a, const B &b) {
  return detail::raw<Kind::Max>(as_expr(a), as_expr(b));
}

/// select(x > 0, a, b): a where the condition holds, else b.
template <class C, Operand A, Operand B> constexpr auto select(const C &c, const A &a, const B &b) {
  static_assert(Condition<C>, "the first argument of select() must be a comparison such as x > 0");
  static_assert(!Condition<A> && !Condition<B>,
                "a comparison (such as x > 0) can only be the condition of select()");
  return node_t<Kind::Select, C, decltype(as_expr(a)), decltype(as_expr(b))>{
      hana::make_tuple(c, as_expr(a), as_expr(b))};
}

/// u^N for an integer N known at compile time: pow<3>(x).
template <long long N, Expression A> constexpr auto pow(const A &a) {
  static_assert(Value<A>, "a comparison (such as x > 0) can only be the condition of select()");
  return pow_t<N, A>{a};
}

} // namespace actforge::dsl
