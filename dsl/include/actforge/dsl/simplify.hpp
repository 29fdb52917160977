// simplify(e): rebuild an expression through the folding constructors of build.hpp.
#pragma once

#include "actforge/dsl/build.hpp"

#include <boost/hana/transform.hpp>
#include <boost/hana/unpack.hpp>

namespace actforge::dsl {

template <class E> constexpr auto simplify(const E &e) {
  static_assert(Expression<E>, "simplify(): not a DSL expression");
  if constexpr (requires { e.base; })
    return build::pow<pow_exponent<E>::value>(simplify(e.base));
  else if constexpr (requires { e.children; }) {
    constexpr Kind k = node_kind<E>::value;
    return hana::unpack(hana::transform(e.children, [](const auto &c) { return simplify(c); }),
                        [](const auto &...c) {
                          if constexpr (k == Kind::Add)
                            return build::add(c...);
                          else if constexpr (k == Kind::Sub)
                            return build::sub(c...);
                          else if constexpr (k == Kind::Mul)
                            return build::mul(c...);
                          else if constexpr (k == Kind::Div)
                            return build::div(c...);
                          else if constexpr (k == Kind::Neg)
                            return build::neg(c...);
                          else if constexpr (k == Kind::Min)
                            return build::min(c...);
                          else if constexpr (k == Kind::Max)
                            return build::max(c...);
                          else if constexpr (k == Kind::Select)
                            return build::select(c...);
                          else if constexpr (ir::is_comparison(k))
                            return build::compare<k>(c...);
                          else
                            return build::unary<k>(c...);
                        });
  } else
    return e;
}

} // namespace actforge::dsl
