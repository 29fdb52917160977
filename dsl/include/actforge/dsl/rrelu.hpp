// RReLU in training mode with the slope generated inside the kernel.
//
// The slope of element i is a_i = lower + (upper - lower)·u_i with u_i ~ U[0, 1) drawn by
// Philox-4x32-10 from (seed, i + offset) (philox.hpp). As an expression that is
// select(x >= 0, x, (lower + (upper - lower)·g)·x) whose input g a kernel generates instead of
// reading (codegen::KernelSpec::uniform_g): forward and backward come from the ordinary
// expression machinery, and the backward pass regenerates the forward's slopes from the same
// (seed, offset) rather than storing them (PyTorch stores a noise tensor). Eval mode is the
// library's rrelu: a = (lower + upper)/2.
#pragma once

#include "actforge/dsl/library.hpp"
#include "actforge/dsl/philox.hpp"
#include "actforge/dsl/reflect.hpp"
#include "actforge/ir/expr.hpp"

#include <cstdint>

namespace actforge::dsl {

namespace lib {
/// RReLU training in x and a uniform variate g in [0, 1) (generated: KernelSpec::uniform_g).
inline constexpr auto rrelu_train_uniform =
    select(x >= 0, x,
           (param<"lower">(0.125L) + (param<"upper">(1.0L / 3) - param<"lower">(0.125L)) * g) * x);
} // namespace lib

/// lib::rrelu_train_uniform as IR: the expression to build kernels with uniform_g from.
inline ir::Expr rrelu_train_expr() { return reflect(lib::rrelu_train_uniform); }

/// The long-double reference of RReLU training, element `index` of a call with `offset`.
struct RreluTrain {
  std::uint64_t seed = 0, offset = 0;
  long double lower = 0.125L, upper = 1.0L / 3;

  long double u(std::uint64_t index) const { return philox::uniform(seed, index, offset); }
  long double slope(std::uint64_t index) const { return lower + (upper - lower) * u(index); }
  /// y = x >= 0 ? x : a·x (NaN stays NaN: the comparison is false and a·NaN is NaN).
  long double forward(long double v, std::uint64_t index) const {
    return v >= 0 ? v : slope(index) * v;
  }
  /// dx = dy·(x >= 0 ? 1 : a), with the forward pass's slope; rrelu'(0) = 1.
  long double backward(long double v, long double dy, std::uint64_t index) const {
    if (v != v) return v;
    return dy * (v >= 0 ? 1.0L : slope(index));
  }
};

} // namespace actforge::dsl
