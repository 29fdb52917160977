// Which guards a kernel needs: two analyses on the IR that find where plain IEEE evaluation
// already gives the limits at ±inf and carries a NaN from an input to the value, so that a
// backend can leave out the guard (about 16 instructions per vector in the Halide kernels).
// Both err towards keeping a guard. They assume each backend lowers the IR as codegen/halide
// does (lower.cpp; codegen/hls mirrors it): Rsqrt is 1/sqrt, Pow a chain of products, Min/Max
// propagate NaN, and each primitive has the limits and NaN propagation primitives.hpp promises.
// The reasoning, rule by rule, is at the top of guards.cpp.
#pragma once

#include "actforge/ir/expr.hpp"

#include <unordered_map>
#include <vector>

namespace actforge::codegen::guards {

/// True when IEEE evaluation of e over `inputs` inputs, in a float type of `bits` (32 or 64),
/// gives the limit in every setting of the inputs to ±inf or finite with at least one infinite.
bool exact_at_infinity(ir::Expr e, int inputs, int bits);

/// True when a NaN in input `input` makes e NaN without a test.
bool carries_nan(ir::Expr e, int input);

/// The exponent s of the stand-in ±2^s at which the infinity guard evaluates input `input` when
/// it is ±inf, for kernels that lower every expression of `exprs` (the limit() threshold stays
/// 2^30, f64 2^200). f64: 300. f32: 80 where every expression is at most linear in the input
/// (x·relu(g), x·sigmoid(x), softplus(x): no product, quotient or power of two terms that
/// involve it, and no exp of it; parameters and constants up to 2^47 then cannot overflow), so
/// that a factor as small as 2^-50 times an infinite input still reads as infinite; otherwise
/// 40, so that x³ does not overflow on the way (gelu_tanh).
int stand_in_exponent(const std::vector<ir::Expr> &exprs, int input, int bits);

/// Per node: whether it varies with the inputs, holds a primitive that saturates (to 0 or 1 far
/// out: exp, expm1, sigmoid, tanh, erf, erfc, softplus), and is a polynomial in the inputs of
/// degree 2 or more, which overflows for large finite inputs. The lowerings use it to decide
/// where a product needs the "a saturated 0 wins over an overflowed factor" form.
struct Growth {
  bool varies = false;
  bool saturates = false;
  bool overflows = false;
};
class GrowthAnalysis {
public:
  Growth operator()(ir::Expr e);

private:
  std::unordered_map<ir::Expr, Growth, ir::ExprHash> memo_;
};

} // namespace actforge::codegen::guards
