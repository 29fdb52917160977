// fixed_string: a string usable as a template argument (param<"beta">), bridged to hana::string.
#pragma once

#include <boost/hana/string.hpp>

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <utility>

namespace actforge::dsl {

/// A string literal as a structural type, so it can be a template argument: param<"beta">.
template <std::size_t N> struct fixed_string {
  char data[N]{};
  constexpr fixed_string(const char (&s)[N]) { std::copy_n(s, N, data); }
  constexpr std::string_view view() const { return {data, N - 1}; }
  static constexpr std::size_t size = N - 1;
};

namespace detail {
template <fixed_string S, std::size_t... I>
constexpr auto to_hana_string(std::index_sequence<I...>) {
  return boost::hana::string_c<S.data[I]...>;
}
} // namespace detail

/// The hana::string with the same characters: the key of a name in compile-time maps.
template <fixed_string S>
inline constexpr auto hana_name = detail::to_hana_string<S>(std::make_index_sequence<S.size>{});

} // namespace actforge::dsl
