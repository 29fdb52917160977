// Fused epilogues: an activation f with the operation before it folded into its expression, so
// one kernel reads x once and the ordinary roles give every gradient:
//
//   bias      f(x + bias)              per channel  backward: dx; param_grad: dbias (Σ dy·f')
//   affine    f(scale·x + shift)       per channel  backward: dx; param_grad: dscale, dshift
//             (batch norm's γ and β: named so that swish's beta stays free)
//   residual  f(x + g)   g a second input (r)       backward: dx and dg (the residual's gradient)
//
// They are expressions, not kernels: with_epilogue(f, Epilogue::Bias) is f with x replaced by
// x + bias, and jit/aot/check take it like any activation (bias and affine in Layout::Channels with
// their parameters per channel: epilogue_params()).
#pragma once

#include "actforge/ir/expr.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace actforge::dsl {

enum class Epilogue { None, Bias, Affine, Residual };

/// "none", "bias", "affine", "residual".
std::string_view to_string(Epilogue e);
/// Throws actforge::Error naming the choices.
Epilogue parse_epilogue(std::string_view s);

/// The parameters the epilogue adds, in name order: {"bias"}, {"scale", "shift"} or none. A
/// kernel takes them per channel (KernelSpec::per_channel).
std::vector<std::string> epilogue_params(Epilogue e);

/// f with input x replaced by the epilogue's pre-activation. Throws actforge::Error when f has
/// a second input already (residual), or a parameter the epilogue adds (b, gamma, beta).
ir::Expr with_epilogue(ir::Expr f, Epilogue e);

} // namespace actforge::dsl
