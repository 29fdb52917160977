// reflect(e): the runtime IR of a compile-time expression (the bridge from types to values).
#pragma once

#include "actforge/dsl/expr.hpp"
#include "actforge/ir/expr.hpp"

#include <boost/hana/transform.hpp>
#include <boost/hana/unpack.hpp>

#include <string>

namespace actforge::dsl {

template <class E> ir::Expr reflect(const E &e) {
  static_assert(Expression<E>, "reflect(): not a DSL expression");
  if constexpr (std::is_same_v<E, lit_t>)
    return ir::constant(e.value);
  else if constexpr (is_int_v<E>)
    return ir::constant(constant_value(e));
  else if constexpr (requires { []<int I>(input_t<I>) {}(e); })
    return []<int I>(input_t<I>) { return ir::input(I); }(e);
  else if constexpr (requires { E::name; }) {
    const std::string name(E::name.view());
    if constexpr (std::is_same_v<E, param_t<E::name, true>>)
      return ir::param(name, e.default_value);
    else
      return ir::param(name);
  } else if constexpr (requires { e.base; })
    return ir::pow(reflect(e.base), static_cast<int>(pow_exponent<E>::value));
  else {
    constexpr Kind k = node_kind<E>::value;
    return hana::unpack(e.children, [](const auto &...c) {
      if constexpr (k == Kind::Select)
        return ir::select(reflect(c)...);
      else
        return ir::make(k, reflect(c)...);
    });
  }
}

} // namespace actforge::dsl
