// The parameters of an expression, as a compile-time map keyed by name, and value bindings.
#pragma once

#include "actforge/dsl/expr.hpp"

#include <boost/hana/contains.hpp>
#include <boost/hana/fold_left.hpp>
#include <boost/hana/insert.hpp>
#include <boost/hana/keys.hpp>
#include <boost/hana/map.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/set.hpp>

namespace actforge::dsl {

namespace detail {
template <class E> constexpr auto collect_params(hana::basic_type<E>, auto acc) {
  if constexpr (requires { E::name; })
    return hana::insert(acc, hana_name<E::name>);
  else if constexpr (requires(E e) { e.base; })
    return collect_params(hana::type_c<decltype(E{}.base)>, acc);
  else if constexpr (requires(E e) { e.children; })
    return hana::fold_left(decltype(E{}.children){}, acc, [](auto a, const auto &child) {
      return collect_params(hana::type_c<std::remove_cvref_t<decltype(child)>>, a);
    });
  else
    return acc;
}

template <class E> constexpr int count_inputs(hana::basic_type<E>) {
  if constexpr (requires { []<int I>(input_t<I>) {}(E{}); })
    return []<int I>(input_t<I>) { return I + 1; }(E{});
  else if constexpr (requires(E e) { e.base; })
    return count_inputs(hana::type_c<decltype(E{}.base)>);
  else if constexpr (requires(E e) { e.children; })
    return hana::fold_left(decltype(E{}.children){}, 0, [](int n, const auto &child) {
      const int c = count_inputs(hana::type_c<std::remove_cvref_t<decltype(child)>>);
      return n > c ? n : c;
    });
  else
    return 0;
}
} // namespace detail

/// The names of the parameters of E, as a hana::set of hana::string (each name once).
template <class E> constexpr auto param_names(const E &) {
  return detail::collect_params(hana::type_c<E>, hana::make_set());
}

/// Whether E has a parameter whose name is the hana::string Key.
template <class E, class Key>
inline constexpr bool has_param_key_v = decltype(hana::contains(param_names(E{}), Key{}))::value;
/// Whether E has a parameter called Name.
template <class E, fixed_string Name>
inline constexpr bool has_param_v =
    has_param_key_v<E, std::remove_cvref_t<decltype(hana_name<Name>)>>;

/// How many inputs E reads: 1 for f(x), 2 for gated f(x, g).
template <class E> inline constexpr int input_count = detail::count_inputs(hana::type_c<E>);

/// A value for the parameter named by the hana::string Key, passed to eval().
template <class Key, class T> struct binding {
  using key = Key;
  T value;
};
/// with<"beta">(2.0): a value for parameter beta.
template <fixed_string Name, class T> constexpr auto with(T value) {
  return binding<std::remove_cvref_t<decltype(hana_name<Name>)>, T>{value};
}

template <class T> struct is_binding : std::false_type {};
template <class K, class T> struct is_binding<binding<K, T>> : std::true_type {};

} // namespace actforge::dsl
