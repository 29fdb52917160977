// lower_float(): an activation's forward or backward formula as f32 C99 statements, with every
// transcendental primitive a generated polynomial (no libm): the float mode of the HLS emitter.
#pragma once

#include "actforge/codegen/hls/ops.hpp"
#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/ir/expr.hpp"

#include <string>
#include <vector>

namespace actforge::codegen::hls {

/// C99 code computing one element. The caller wraps it in the element loop.
struct FloatCode {
  /// Definitions of the static helper functions the statements call (af_exp, af_sigmoid, ...),
  /// each at most once, callees before callers; placed at file scope before the kernel.
  std::string helpers;
  /// Statements inside the loop body, in order; they read the element values `xv` (and `gv` for a
  /// gated f, `dyv` for backward), all `float`, and declare only names starting with `t`.
  std::vector<std::string> statements;
  /// One C expression of type float per output: forward {y}; backward {dx} or {dx, dg}.
  std::vector<std::string> outputs;
  /// Per element, helpers counted once per call.
  OpCount ops;
};

/// `f`: the activation with every parameter replaced by a constant (inputs x = ir::input(0),
/// g = ir::input(1)). `role`: Forward or Backward. Implements the IR's semantics in f32 (NaN in,
/// NaN out; infinities give the limits; kinks as the IR states), like the Halide pipeline's f32
/// kernels. Throws actforge::Error for another role or an expression with parameters.
/// `dx_only`: backward computes dx alone, no dg (a gated f whose g is generated, not an array);
/// statements only dg needs are not written.
FloatCode lower_float(ir::Expr f, Role role, bool dx_only = false);

} // namespace actforge::codegen::hls
