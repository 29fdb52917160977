// lower(): an IR expression as a Halide expression, every primitive in a numerically safe form.
//
// Exists so that backends share one translation with the IR's semantics: min/max propagate NaN,
// sigmoid/tanh/softplus/erfc use the overflow-free forms of primitives.hpp (tanh never becomes a
// scalar tanhf call per lane), and exp(-u²) keeps its accuracy where u² would round.
#pragma once

#include "actforge/ir/expr.hpp"

#include <Halide.h>

#include <map>
#include <string>
#include <vector>

namespace actforge::codegen::halide {

struct LowerEnv {
  Halide::Type type;                          // compute type: Float(32) or Float(64)
  std::vector<Halide::Expr> inputs;           // input(i), already of `type`
  std::map<std::string, Halide::Expr> params; // parameters by name, of `type`
};

Halide::Expr lower(ir::Expr e, const LowerEnv &env);

} // namespace actforge::codegen::halide
