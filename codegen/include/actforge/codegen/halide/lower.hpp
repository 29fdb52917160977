// lower(): an IR expression as a Halide expression, every primitive in a numerically safe form.
//
// Exists so that backends share one translation with the IR's semantics: min/max propagate NaN,
// sigmoid/tanh/softplus/erfc use the overflow-free forms of primitives.hpp (tanh never becomes a
// scalar tanhf call per lane), and exp(-u²) keeps its accuracy where u² would round.
//
// Accuracy in the compute type itself, for what f32 arithmetic would otherwise lose:
//  - the argument of exp/sigmoid/tanh/softplus/erfc, where it is a polynomial in inputs,
//    parameters and constants, is carried as a double word hi + lo (constants split from the IR's
//    long double, TwoProduct by the exact fma, TwoSum), each part bound once in a let around the
//    returned expression (so nothing is duplicated), and lo enters the primitive;
//  - a polynomial factor times sigmoid(u), erfc(u) or tanh(softplus(u)) multiplies the primitive
//    scaled by 2^S and scales back once, so a subnormal p(u) keeps its relative precision;
//  - a sum of an input-dependent term and one free of inputs the compute type cannot hold
//    (λ·α, 1/3) adds its two parts in turn, exact where the sum cancels.
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
  // Double-word arguments, scaled products and two-part invariant terms (above). A kernel that
  // computes in f64 for f32/f16/bf16 storage does not need them (its roundings are 2^-29 of an
  // output ulp) and may turn them off: they cost 10-20% in such backward kernels.
  bool double_words = true;
  // GPU kernels: Halide 14 compiles PTX with LLVM's TargetOptions::AllowFPOpFusion = Fast (its
  // device module lacks the strict-float flag), so the DAG combiner fuses a product into the add
  // that uses it — inside TwoSum that loses the double word's low part (gelu_tanh on an H100:
  // 50 ulp). Products of double words are then formed so that they cannot be fused.
  bool unfused_products = false;
};

Halide::Expr lower(ir::Expr e, const LowerEnv &env);

} // namespace actforge::codegen::halide
