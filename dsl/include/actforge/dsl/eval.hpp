// eval(e, inputs..., with<"name">(v)...): evaluate an expression on any scalar; the reference.
#pragma once

#include "actforge/dsl/dual.hpp"
#include "actforge/dsl/params.hpp"
#include "actforge/dsl/scalar.hpp"

#include <boost/hana/all_of.hpp>
#include <boost/hana/at_key.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/partition.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/transform.hpp>
#include <boost/hana/unpack.hpp>

namespace actforge::dsl {

namespace detail {
template <class T> inline constexpr bool dependent_false = false;

template <class T, class Inputs, class Params> struct env {
  Inputs inputs; // hana::tuple of T
  Params params; // hana::map name -> T
};

template <class T, class Env, class E> constexpr auto eval_node(const Env &env, const E &e);

// a - tanh(u): true for Sub nodes whose second child is a tanh.
template <class E> struct is_minus_tanh : std::false_type {};
template <class A, class U>
struct is_minus_tanh<node_t<Kind::Sub, A, node_t<Kind::Tanh, U>>> : std::true_type {};

template <class T, class Env, Kind K, class... C>
constexpr auto eval_kind(const Env &env, const node_t<K, C...> &n) {
  auto at = [&]<std::size_t I>(hana::size_t<I>) { return eval_node<T>(env, arg<I>(n)); };
  using hana::size_c;
  if constexpr (K == Kind::Select)
    return at(size_c<0>) ? at(size_c<1>) : at(size_c<2>);
  else if constexpr (K == Kind::Add)
    return at(size_c<0>) + at(size_c<1>);
  else if constexpr (std::floating_point<T> && is_minus_tanh<node_t<K, C...>>::value) {
    // a - tanh(u) at a == u is u - tanh(u): evaluated as the IR does, without cancellation.
    const T a = at(size_c<0>), u = eval_node<T>(env, arg<0>(arg<1>(n)));
    return a == u ? scalar::x_minus_tanh(a) : a - scalar::tanh(u);
  } else if constexpr (K == Kind::Sub)
    return at(size_c<0>) - at(size_c<1>);
  else if constexpr (K == Kind::Mul)
    return at(size_c<0>) * at(size_c<1>);
  else if constexpr (K == Kind::Div)
    return at(size_c<0>) / at(size_c<1>);
  else if constexpr (K == Kind::Neg)
    return -at(size_c<0>);
  else if constexpr (K == Kind::Min)
    return scalar::min(at(size_c<0>), at(size_c<1>));
  else if constexpr (K == Kind::Max)
    return scalar::max(at(size_c<0>), at(size_c<1>));
  else if constexpr (K == Kind::Gt)
    return at(size_c<0>) > at(size_c<1>);
  else if constexpr (K == Kind::Ge)
    return at(size_c<0>) >= at(size_c<1>);
  else if constexpr (K == Kind::Lt)
    return at(size_c<0>) < at(size_c<1>);
  else if constexpr (K == Kind::Le)
    return at(size_c<0>) <= at(size_c<1>);
  else if constexpr (K == Kind::Eq)
    return at(size_c<0>) == at(size_c<1>);
  else if constexpr (K == Kind::Ne)
    return at(size_c<0>) != at(size_c<1>);
  else if constexpr (K == Kind::Exp)
    return scalar::exp(at(size_c<0>));
  else if constexpr (K == Kind::Expm1)
    return scalar::expm1(at(size_c<0>));
  else if constexpr (K == Kind::Log)
    return scalar::log(at(size_c<0>));
  else if constexpr (K == Kind::Log1p)
    return scalar::log1p(at(size_c<0>));
  else if constexpr (K == Kind::Sqrt)
    return scalar::sqrt(at(size_c<0>));
  else if constexpr (K == Kind::Rsqrt)
    return scalar::rsqrt(at(size_c<0>));
  else if constexpr (K == Kind::Abs)
    return scalar::abs(at(size_c<0>));
  else if constexpr (K == Kind::Sigmoid)
    return scalar::sigmoid(at(size_c<0>));
  else if constexpr (K == Kind::Tanh)
    return scalar::tanh(at(size_c<0>));
  else if constexpr (K == Kind::Erf)
    return scalar::erf(at(size_c<0>));
  else if constexpr (K == Kind::Erfc)
    return scalar::erfc(at(size_c<0>));
  else if constexpr (K == Kind::Softplus)
    return scalar::softplus(at(size_c<0>));
  else
    static_assert(dependent_false<Env>, "eval(): unhandled node kind");
}

template <class T, class Env, class E> constexpr auto eval_node(const Env &env, const E &e) {
  if constexpr (std::is_same_v<E, lit_t>)
    return T(e.value);
  else if constexpr (is_int_v<E>)
    return T(constant_value(e));
  else if constexpr (requires { []<int I>(input_t<I>) {}(e); })
    return []<int I>(const Env &en, input_t<I>) { return T(en.inputs[hana::size_c<I>]); }(env, e);
  else if constexpr (requires { E::name; }) { // param_t
    constexpr auto key = hana_name<E::name>;
    if constexpr (decltype(hana::contains(env.params, key))::value)
      return T(env.params[key]);
    else if constexpr (requires { requires std::is_same_v<E, param_t<E::name, true>>; })
      return T(e.default_value);
    else
      static_assert(dependent_false<E>, "eval(): a parameter without a default needs a value: "
                                        "pass with<\"name\">(value) (the name is in E below)");
  } else if constexpr (requires { e.base; })
    return scalar::powi(eval_node<T>(env, e.base), pow_exponent<E>::value);
  else
    return eval_kind<T>(env, e);
}

template <class T> struct scalar_of { using type = T; };
template <std::integral T> struct scalar_of<T> { using type = double; };
} // namespace detail

/// eval(e, x), eval(e, x, g), eval(e, x, with<"beta">(2.0)): the value of e. The scalar type is
/// that of the first input (float, double, long double, dual<...>; an integer reads as double).
template <class E, class... Args> constexpr auto eval(const E &e, const Args &...args) {
  static_assert(Value<E>, "eval(): the first argument must be an expression with a value");
  auto parts = hana::partition(hana::make_tuple(args...), [](const auto &a) {
    return hana::bool_c<is_binding<std::remove_cvref_t<decltype(a)>>::value>;
  });
  auto bindings = hana::first(parts);
  auto inputs = hana::second(parts);
  constexpr std::size_t n_inputs = decltype(hana::length(inputs))::value;
  static_assert(n_inputs >= static_cast<std::size_t>(input_count<E>),
                "eval(): too few inputs for this expression (x, then g for gated ones)");
  static_assert(n_inputs >= 1, "eval(): give at least the input x");
  using T =
      typename detail::scalar_of<std::remove_cvref_t<decltype(inputs[hana::size_c<0>])>>::type;
  static_assert(decltype(hana::all_of(bindings,
                                      [](const auto &b) {
                                        using B = std::remove_cvref_t<decltype(b)>;
                                        return hana::bool_c<has_param_key_v<E, typename B::key>>;
                                      }))::value,
                "eval(): with<\"name\">: the expression has no parameter of that name");
  auto values = hana::transform(inputs, [](const auto &v) { return T(v); });
  auto params = hana::unpack(bindings, [](const auto &...b) {
    return hana::make_map(
        hana::make_pair(typename std::remove_cvref_t<decltype(b)>::key{}, T(b.value))...);
  });
  return detail::eval_node<T>(detail::env<T, decltype(values), decltype(params)>{values, params},
                              e);
}

} // namespace actforge::dsl
