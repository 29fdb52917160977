// Simplifying constructors: what derivative rules and simplify() build with.
//
// Each one folds what the types (or constexpr values) decide: exact integers int_t fold in the
// type, literals fold in value, and 0/1 identities drop out of the tree. Assumes finite operands
// (0·u → 0 even though 0·inf is NaN), the usual convention of symbolic differentiation.
#pragma once

#include "actforge/dsl/ops.hpp"

namespace actforge::dsl::build {

template <long long N> inline constexpr int_t<N> int_c{};
inline constexpr int_t<0> zero{};
inline constexpr int_t<1> one{};

namespace detail {
template <class T> struct int_value;
template <long long N> struct int_value<int_t<N>> : std::integral_constant<long long, N> {};
template <class T> struct is_neg : std::false_type {};
template <class C> struct is_neg<node_t<Kind::Neg, C>> : std::true_type {};
template <Kind K, class T> struct is_kind : std::false_type {};
template <Kind K, class A, class B> struct is_kind<K, node_t<K, A, B>> : std::true_type {};
template <class A, long long N>
constexpr bool is_int = std::is_same_v<std::remove_cvref_t<A>, int_t<N>>;
template <class A> constexpr bool is_lit = std::is_same_v<std::remove_cvref_t<A>, lit_t>;
template <class A, class B> constexpr bool both_int = (is_int_v<A> && is_int_v<B>);
template <class A, class B> constexpr bool both_const = (Constant<A> && Constant<B>);

// Whether two expressions of one type are one expression: yes unless a literal inside may differ
// in value (a literal's value is not in its type).
template <class T> struct has_lit : std::false_type {};
template <> struct has_lit<lit_t> : std::true_type {};
template <Kind K, class... C> struct has_lit<node_t<K, C...>> : std::disjunction<has_lit<C>...> {};
template <long long N, class C> struct has_lit<pow_t<N, C>> : has_lit<C> {};
template <class A, class B> constexpr bool same_expr = (std::is_same_v<A, B> && !has_lit<A>::value);
} // namespace detail

template <class A> constexpr auto neg(const A &a) {
  using namespace detail;
  if constexpr (is_int_v<A>)
    return int_c<-int_value<A>::value>;
  else if constexpr (is_lit<A>)
    return lit_t{-a.value};
  else if constexpr (is_neg<A>::value)
    return arg<0>(a);
  else
    return dsl::detail::raw<Kind::Neg>(a);
}

template <class A, class B> constexpr auto mul(const A &a, const B &b);

template <class A, class B> constexpr auto add(const A &a, const B &b) {
  using namespace detail;
  if constexpr (is_int<A, 0>)
    return b;
  else if constexpr (is_int<B, 0>)
    return a;
  else if constexpr (both_int<A, B>)
    return int_c<int_value<A>::value + int_value<B>::value>;
  else if constexpr (both_const<A, B>)
    return lit_t{constant_value(a) + constant_value(b)};
  else if constexpr (is_neg<B>::value)
    return dsl::detail::raw<Kind::Sub>(a, arg<0>(b));
  else if constexpr (same_expr<A, B>) // u + u = 2·u
    return mul(int_c<2>, a);
  else
    return dsl::detail::raw<Kind::Add>(a, b);
}

template <class A, class B> constexpr auto sub(const A &a, const B &b) {
  using namespace detail;
  if constexpr (is_int<B, 0>)
    return a;
  else if constexpr (is_int<A, 0>)
    return neg(b);
  else if constexpr (both_int<A, B>)
    return int_c<int_value<A>::value - int_value<B>::value>;
  else if constexpr (both_const<A, B>)
    return lit_t{constant_value(a) - constant_value(b)};
  else if constexpr (is_neg<B>::value)
    return dsl::detail::raw<Kind::Add>(a, arg<0>(b));
  else if constexpr (is_kind<Kind::Sub, B>::value) { // c - (c - y) = y
    if constexpr (same_expr<A, std::remove_cvref_t<decltype(arg<0>(b))>>)
      return arg<1>(b);
    else
      return dsl::detail::raw<Kind::Sub>(a, b);
  } else if constexpr (is_kind<Kind::Add, A>::value) { // (c + y) - c = y, (y + c) - c = y
    if constexpr (same_expr<B, std::remove_cvref_t<decltype(arg<0>(a))>>)
      return arg<1>(a);
    else if constexpr (same_expr<B, std::remove_cvref_t<decltype(arg<1>(a))>>)
      return arg<0>(a);
    else
      return dsl::detail::raw<Kind::Sub>(a, b);
  } else
    return dsl::detail::raw<Kind::Sub>(a, b);
}

template <class A, class B> constexpr auto mul(const A &a, const B &b) {
  using namespace detail;
  if constexpr (is_int<A, 0> || is_int<B, 0>)
    return zero;
  else if constexpr (is_int<A, 1>)
    return b;
  else if constexpr (is_int<B, 1>)
    return a;
  else if constexpr (is_int<A, -1>)
    return neg(b);
  else if constexpr (is_int<B, -1>)
    return neg(a);
  else if constexpr (both_int<A, B>)
    return int_c<int_value<A>::value * int_value<B>::value>;
  else if constexpr (both_const<A, B>)
    return lit_t{constant_value(a) * constant_value(b)};
  else if constexpr (is_neg<A>::value && is_neg<B>::value)
    return mul(arg<0>(a), arg<0>(b));
  else if constexpr (Constant<B> && !Constant<A>)
    return dsl::detail::raw<Kind::Mul>(b, a); // constants first: one spelling for c·u
  else
    return dsl::detail::raw<Kind::Mul>(a, b);
}

template <class A, class B> constexpr auto div(const A &a, const B &b) {
  using namespace detail;
  if constexpr (is_int<A, 0>)
    return zero;
  else if constexpr (is_int<B, 1>)
    return a;
  else if constexpr (both_const<A, B>)
    return lit_t{constant_value(a) / constant_value(b)};
  else
    return dsl::detail::raw<Kind::Div>(a, b);
}

template <class A, class B> constexpr auto min(const A &a, const B &b) {
  using namespace detail;
  if constexpr (both_int<A, B>)
    return int_c<(int_value<A>::value < int_value<B>::value ? int_value<A>::value
                                                            : int_value<B>::value)>;
  else if constexpr (both_const<A, B>)
    return lit_t{constant_value(a) < constant_value(b) ? constant_value(a) : constant_value(b)};
  else
    return dsl::detail::raw<Kind::Min>(a, b);
}

template <class A, class B> constexpr auto max(const A &a, const B &b) {
  using namespace detail;
  if constexpr (both_int<A, B>)
    return int_c<(int_value<A>::value > int_value<B>::value ? int_value<A>::value
                                                            : int_value<B>::value)>;
  else if constexpr (both_const<A, B>)
    return lit_t{constant_value(a) > constant_value(b) ? constant_value(a) : constant_value(b)};
  else
    return dsl::detail::raw<Kind::Max>(a, b);
}

template <class C, class A, class B> constexpr auto select(const C &c, const A &a, const B &b) {
  if constexpr (detail::same_expr<A, B>) // select(c, u, u) = u
    return a;
  else
    return node_t<Kind::Select, C, A, B>{hana::make_tuple(c, a, b)};
}

template <Kind K, class A, class B> constexpr auto compare(const A &a, const B &b) {
  return node_t<K, A, B>{hana::make_tuple(a, b)};
}

template <Kind K, class A> constexpr auto unary(const A &a) {
  if constexpr (K == Kind::Exp && detail::is_int<A, 0>)
    return one;
  else
    return dsl::detail::raw<K>(a);
}

template <long long N, class A> constexpr auto pow(const A &a) {
  if constexpr (N == 0)
    return one;
  else if constexpr (N == 1)
    return a;
  else
    return pow_t<N, A>{a};
}

/// The minimum-norm element of the interval between p and q: the derivative at a tie of max/min.
/// 0 when p and q differ in sign, else the one of smaller magnitude.
template <class P, class Q> constexpr auto tie(const P &p, const Q &q) {
  return build::max(build::min(p, q), build::min(build::max(p, q), zero));
}

} // namespace actforge::dsl::build
