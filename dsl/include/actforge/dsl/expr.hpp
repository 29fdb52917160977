// The compile-time expression types: an expression's type is its tree.
#pragma once

#include "actforge/dsl/fixed_string.hpp"
#include "actforge/ir/kind.hpp"

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

#include <concepts>
#include <type_traits>

namespace actforge::dsl {

namespace hana = boost::hana;
using ir::Kind;

/// Input number I: x is input_t<0>, g (the gate of glu-like activations) is input_t<1>.
template <int I> struct input_t {
  static_assert(I >= 0 && I < ir::kMaxInputs, "input index out of range");
};

/// A numeric literal whose value the compiler knows only as a value (0.01, 1.702, ...).
struct lit_t {
  long double value;
};

/// An exact integer known to the type system: derivative rules build these, so 0·u and 1·u
/// disappear from the type while the derivative is formed.
template <long long N> struct int_t {};

/// A named scalar parameter. HasDefault is in the type so a missing required value is a
/// compile-time error.
template <fixed_string Name, bool HasDefault> struct param_t {
  long double default_value = 0;
  static constexpr auto name = Name;
};

/// An operation node: the kind and the children's types are the tree.
template <Kind K, class... C> struct node_t { hana::tuple<C...> children; };

/// u^N with an integer exponent.
template <long long N, class C> struct pow_t { C base; };

/// What the derivative of a comparison is: nothing (select never differentiates its condition).
struct no_derivative_t {};

// ---- classification ----
template <class T> struct expr_traits {
  static constexpr bool is_expr = false;
  static constexpr bool is_condition = false;
  static constexpr bool is_constant = false;
};
template <int I> struct expr_traits<input_t<I>> : expr_traits<void> {
  static constexpr bool is_expr = true;
};
template <> struct expr_traits<lit_t> : expr_traits<void> {
  static constexpr bool is_expr = true;
  static constexpr bool is_constant = true;
};
template <long long N> struct expr_traits<int_t<N>> : expr_traits<void> {
  static constexpr bool is_expr = true;
  static constexpr bool is_constant = true;
};
template <fixed_string S, bool D> struct expr_traits<param_t<S, D>> : expr_traits<void> {
  static constexpr bool is_expr = true;
};
template <Kind K, class... C> struct expr_traits<node_t<K, C...>> : expr_traits<void> {
  static constexpr bool is_expr = true;
  static constexpr bool is_condition = ir::is_comparison(K);
};
template <long long N, class C> struct expr_traits<pow_t<N, C>> : expr_traits<void> {
  static constexpr bool is_expr = true;
};

template <class T>
concept Expression = expr_traits<std::remove_cvref_t<T>>::is_expr;
/// A comparison: may only stand as the condition of select().
template <class T>
concept Condition = Expression<T> && expr_traits<std::remove_cvref_t<T>>::is_condition;
/// An expression with a numeric value (everything but a comparison).
template <class T>
concept Value = Expression<T> && !Condition<T>;
template <class T>
concept Constant = expr_traits<std::remove_cvref_t<T>>::is_constant;
/// What an operator accepts: an expression or a plain number (which becomes a literal). A
/// comparison is accepted here so that its misuse meets a readable static_assert (ops.hpp)
/// rather than a failed constraint.
template <class T>
concept Operand = Expression<T> || std::is_arithmetic_v<std::remove_cvref_t<T>>;

template <class T> struct is_int_t : std::false_type {};
template <long long N> struct is_int_t<int_t<N>> : std::true_type {};
template <class T> inline constexpr bool is_int_v = is_int_t<std::remove_cvref_t<T>>::value;

template <class T> struct node_kind;
template <Kind K, class... C>
struct node_kind<node_t<K, C...>> : std::integral_constant<Kind, K> {};
template <class T> struct pow_exponent;
template <long long N, class C>
struct pow_exponent<pow_t<N, C>> : std::integral_constant<long long, N> {};

/// Child I of a node.
template <std::size_t I, Kind K, class... C> constexpr const auto &arg(const node_t<K, C...> &n) {
  return n.children[hana::size_c<I>];
}

/// A plain number becomes a literal; an expression stays itself.
template <Operand T> constexpr auto as_expr(const T &t) {
  if constexpr (Expression<T>)
    return t;
  else
    return lit_t{static_cast<long double>(t)};
}

/// The value of a constant leaf.
template <long long N> constexpr long double constant_value(int_t<N>) { return N; }
constexpr long double constant_value(lit_t l) { return l.value; }

} // namespace actforge::dsl
