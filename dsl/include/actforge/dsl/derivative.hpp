// d(e, v): compile-time symbolic derivatives, driven by a table of rules keyed by node kind.
//
// The rules are those of the runtime IR (ir/differentiate.hpp), one a line, and so are the kink
// conventions: select differentiates the branch taken, max/min at a tie take the minimum-norm
// choice (build::tie), abs'(0) = 0. The result is simplified as it is built (build.hpp).
#pragma once

#include "actforge/dsl/build.hpp"
#include "actforge/dsl/params.hpp"

#include <boost/hana/at_key.hpp>
#include <boost/hana/integral_constant.hpp>
#include <boost/hana/map.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/transform.hpp>
#include <boost/hana/unpack.hpp>

namespace actforge::dsl {

namespace detail {
// Hana hashes integral constants, not enums: key the table by the kind's number.
template <Kind K> inline constexpr auto kind_c = hana::int_c<static_cast<int>(K)>;
inline constexpr lit_t k2_over_sqrt_pi{1.12837916709551257389615890312154517L};

// u - tanh(u), the same u: evaluated as one function (scalar::x_minus_tanh), differentiated as one.
template <class E> struct is_u_minus_tanh_u : std::false_type {};
template <class A, class U>
struct is_u_minus_tanh_u<node_t<Kind::Sub, A, node_t<Kind::Tanh, U>>>
    : std::bool_constant<build::detail::same_expr<A, U>> {};

// Each rule takes the node and the derivatives of its children, in order.
using namespace build;
inline constexpr auto derivative_rules = hana::make_map(
    hana::make_pair(kind_c<Kind::Add>, [](const auto &, auto da, auto db) { return add(da, db); }),
    hana::make_pair(kind_c<Kind::Sub>,
                    [](const auto &n, auto da, auto db) {
                      // d(u - tanh u) = tanh²u·du, not du - sech²u·du: no cancellation near 0
                      if constexpr (is_u_minus_tanh_u<std::remove_cvref_t<decltype(n)>>::value)
                        return mul(build::pow<2>(arg<1>(n)), da);
                      else
                        return sub(da, db);
                    }),
    hana::make_pair(kind_c<Kind::Mul>,
                    [](const auto &n, auto da, auto db) {
                      return add(mul(da, arg<1>(n)), mul(arg<0>(n), db));
                    }),
    hana::make_pair(kind_c<Kind::Div>,
                    [](const auto &n, auto da, auto db) { // (da - (a/b)·db) / b: no b² to overflow
                      return div(sub(da, mul(div(arg<0>(n), arg<1>(n)), db)), arg<1>(n));
                    }),
    hana::make_pair(kind_c<Kind::Neg>, [](const auto &, auto du) { return neg(du); }),
    hana::make_pair(kind_c<Kind::Exp>, [](const auto &n, auto du) { return mul(n, du); }),
    hana::make_pair(kind_c<Kind::Expm1>,
                    [](const auto &n, auto du) { return mul(unary<Kind::Exp>(arg<0>(n)), du); }),
    hana::make_pair(kind_c<Kind::Log>, [](const auto &n, auto du) { return div(du, arg<0>(n)); }),
    hana::make_pair(kind_c<Kind::Log1p>,
                    [](const auto &n, auto du) { return div(du, add(one, arg<0>(n))); }),
    hana::make_pair(kind_c<Kind::Sqrt>,
                    [](const auto &n, auto du) { return div(du, mul(int_c<2>, n)); }),
    hana::make_pair(
        kind_c<Kind::Rsqrt>,
        [](const auto &n, auto du) { return mul(neg(div(n, mul(int_c<2>, arg<0>(n)))), du); }),
    hana::make_pair(kind_c<Kind::Abs>,
                    [](const auto &n, auto du) {
                      auto u = arg<0>(n);
                      return build::select(
                          compare<Kind::Gt>(u, zero), du,
                          build::select(compare<Kind::Lt>(u, zero), neg(du), zero));
                    }),
    hana::make_pair(kind_c<Kind::Max>,
                    [](const auto &n, auto da, auto db) {
                      auto a = arg<0>(n), b = arg<1>(n);
                      return build::select(compare<Kind::Gt>(a, b), da,
                                           build::select(compare<Kind::Lt>(a, b), db, tie(da, db)));
                    }),
    hana::make_pair(kind_c<Kind::Min>,
                    [](const auto &n, auto da, auto db) {
                      auto a = arg<0>(n), b = arg<1>(n);
                      return build::select(compare<Kind::Lt>(a, b), da,
                                           build::select(compare<Kind::Gt>(a, b), db, tie(da, db)));
                    }),
    hana::make_pair(kind_c<Kind::Select>, [](const auto &n, no_derivative_t, auto da,
                                             auto db) { return build::select(arg<0>(n), da, db); }),
    hana::make_pair(kind_c<Kind::Sigmoid>,
                    [](const auto &n, auto du) { // s·(1-s) as s(u)·s(-u): no cancellation
                      return mul(mul(n, unary<Kind::Sigmoid>(neg(arg<0>(n)))), du);
                    }),
    hana::make_pair(kind_c<Kind::Tanh>,
                    [](const auto &n, auto du) { // sech² = 4·s(2u)·s(-2u), exact at 0 and ±∞
                      auto two_u = mul(int_c<2>, arg<0>(n));
                      return mul(mul(int_c<4>, mul(unary<Kind::Sigmoid>(two_u),
                                                   unary<Kind::Sigmoid>(neg(two_u)))),
                                 du);
                    }),
    hana::make_pair(kind_c<Kind::Erf>,
                    [](const auto &n, auto du) {
                      auto u = arg<0>(n);
                      return mul(mul(k2_over_sqrt_pi, unary<Kind::Exp>(neg(mul(u, u)))), du);
                    }),
    hana::make_pair(kind_c<Kind::Erfc>,
                    [](const auto &n, auto du) {
                      auto u = arg<0>(n);
                      return neg(mul(mul(k2_over_sqrt_pi, unary<Kind::Exp>(neg(mul(u, u)))), du));
                    }),
    hana::make_pair(kind_c<Kind::Softplus>, [](const auto &n, auto du) {
      return mul(unary<Kind::Sigmoid>(arg<0>(n)), du);
    }));

template <class V> struct is_variable : std::false_type {};
template <int I> struct is_variable<input_t<I>> : std::true_type {};
template <fixed_string S, bool D> struct is_variable<param_t<S, D>> : std::true_type {};

template <class A, class B> struct same_variable : std::false_type {};
template <int I> struct same_variable<input_t<I>, input_t<I>> : std::true_type {};
template <fixed_string S, bool D1, bool D2>
struct same_variable<param_t<S, D1>, param_t<S, D2>> : std::true_type {};

template <class E, class V> constexpr auto derive(const E &e, const V &v) {
  if constexpr (Condition<E>)
    return no_derivative_t{};
  else if constexpr (is_variable<E>::value)
    return int_c < same_variable<E, V>::value ? 1 : 0 > ;
  else if constexpr (Constant<E>)
    return zero;
  else if constexpr (requires { e.base; }) { // pow_t<N, C>
    constexpr long long n = pow_exponent<E>::value;
    return mul(mul(int_c<n>, build::pow<n - 1>(e.base)), derive(e.base, v));
  } else {
    auto dchildren = hana::transform(e.children, [&](const auto &c) { return derive(c, v); });
    return hana::unpack(dchildren, [&](const auto &...dc) {
      return derivative_rules[kind_c<node_kind<E>::value>](e, dc...);
    });
  }
}
} // namespace detail

/// The variables one may differentiate by: an input (x, g) or a parameter (param<"beta">).
template <class V>
concept Variable = detail::is_variable<std::remove_cvref_t<V>>::value;

/// d(e, v): the derivative of e by v, simplified. d(d(e, x), x) for higher orders.
template <class E, class V> constexpr auto d(const E &e, const V &v) {
  static_assert(Value<E>, "d(e, v): e must be an expression with a value (not a comparison)");
  static_assert(Variable<V>, "d(e, v): v must be an input (x, g) or a parameter (param<\"name\">)");
  if constexpr (requires { V::name; })
    static_assert(has_param_v<E, V::name>,
                  "d(e, param): the expression has no parameter of that name");
  return detail::derive(e, v);
}

} // namespace actforge::dsl
