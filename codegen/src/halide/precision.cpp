// compute_type(): the arithmetic a kernel is evaluated in.
//
// ACTIVATIONS.md: f32 kernels compute in f32, f16/bf16 storage in f32, f64 in f64 — with the
// exceptions below, decided here from the structure of the expression a kernel evaluates (never
// from an activation's name):
//
//   A kernel with 32-bit or narrower storage computes in f64 when the expression it evaluates
//   (f, ∂f/∂x and ∂f/∂g for backward, g(y) for backward from the output) adds or subtracts two
//   terms that both depend on an input and of which at least one holds a transcendental primitive
//   (exp, expm1, log, log1p, sigmoid, tanh, erf, erfc, softplus).
//
// Why: such a sum can cancel to an arbitrarily small value at a root of the function it computes
// (gelu' = Φ(x) + x·φ(x) near x = -0.75, silu' = s + x·s·(1-s) near -1.28, x - tanh x near 0),
// where the terms are O(1) and the result is not. Each term carries the relative error of its
// primitive (an ulp or two of f32), so the sum's relative error grows as the terms' size over the
// result's: thousands of ulp one f32 step from the root, unbounded at it. No arrangement in f32
// holds 8 ulp there; f64 terms carry 29 more bits, which covers every f32 input (the nearest f32
// to a simple root leaves the result above 2^-30 of the terms). Sums of polynomial terms
// (gelu_tanh's x + 0.044715·x³), a constant minus a primitive (sigmoid's 1 - s, which the
// primitives form without cancellation) and u - tanh(u) (lowered as one primitive, x_minus_tanh)
// do not qualify. The rule is conservative: a sum whose terms
// never cancel also qualifies, and costs half the vector width.
//
//   Likewise when it multiplies or divides an input-dependent factor free of primitives (x,
//   0.5·x) by one that holds a transcendental primitive — unless the product is one that
//   lower.cpp evaluates to the bounds in the compute type: a factor and a sigmoid, erfc or
//   tanh(softplus(·)) whose argument and the factor are polynomials (double_word below, as
//   lower.cpp's double_word builds them): x·sigmoid(1.702·x), 0.5·x·erfc(-x/√2),
//   x·sigmoid(√(2/π)(x + 0.044715·x³)), x·tanh(softplus(x)).
//
// Why: the primitive's argument is rounded before the primitive sees it and its relative error
// is amplified by |u·f'(u)/f(u)| (≈ 2u² for erfc: 188 ulp for gelu at x ≈ -13), and the
// primitive's own value can be subnormal where the product is normal (x·sigmoid(x) near
// x = -95: 52 ulp). lower.cpp carries such polynomial arguments as double words (hi + lo) into
// the primitive and scales the primitive's value by 2^S for the product (primitives.hpp:
// DoubleWord, Scaled); other such products still compute in f64, where both effects are far
// below an f32 ulp. A product of primitives alone (sigmoid' = s(x)·s(-x)) keeps f32: its error
// adds, nothing amplifies it.
//
//   Likewise when it adds an input-dependent term and one computed from parameters alone (selu's
//   g(y) = y + λα, softshrink's x - λ).
//
// Why: parameters arrive as doubles (Kernel::run) and an f32 kernel holds them rounded to f32;
// where the sum cancels (y near -λα) that rounding, 2^-24 of λα, is amplified without bound
// (12 ulp at y = -0.0077). In f64 it is 2^-53, and lower.cpp adds an invariant term it cannot
// hold in one float (λ·α, an inexact constant) in two parts, exactly where it cancels.
//
// f16 storage is the exception to the exceptions: a kernel that stores f16 and evaluates a
// function of one input and no parameters computes in f32 when f32 holds the bounds at every
// one of the 65536 f16 inputs — measured here, by evaluating each formula the kernel computes
// (f, f', or g(y)) in f32 (ir::Program, node by node, libm primitives) against long double at
// all of them (f32_holds_f16 below; about 0.1 s, only for kernels the rules above send to f64).
//
// Why: f16's smallest step is 2^-24, its largest value 65504. A cancelling sum whose terms are
// O(1) then loses, in f32, about as much as one f16 step at most, wherever its root lies (an f16
// result below 2^-14 has that absolute step; above it, a relative one of 2^-11 or finer), and
// no primitive's value can be subnormal in f32 where an f16 product of it is normal. Terms far
// above 1 can still cancel beyond f32 (exp(x) - exp(0.999999·x) at x near 10), hence the
// measurement; parameters move roots and change the terms' size with values only known at a
// call, and two inputs are 2^32 pairs, so those kernels keep the rules above. Measured with
// the kernels (actforge check --target host --dtype f16, every input): gelu' within 0.73 ulp at
// its root, every other library kernel within 0.54 ulp. bf16 has f32's exponent range, and the
// rules above stay whole for it: computed in f32, glu's x·sigmoid(g) is 255 ulp off at
// (1.8e15, -110.5).
#include "actforge/codegen/halide/pipeline.hpp"

#include "actforge/dsl/from_output.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"

#include <cmath>
#include <cstdint>
#include <span>
#include <unordered_map>

namespace actforge::codegen::halide {
namespace {

bool is_transcendental(ir::Kind k) {
  switch (k) {
  case ir::Kind::Exp:
  case ir::Kind::Expm1:
  case ir::Kind::Log:
  case ir::Kind::Log1p:
  case ir::Kind::Sigmoid:
  case ir::Kind::Tanh:
  case ir::Kind::Erf:
  case ir::Kind::Erfc:
  case ir::Kind::Softplus: return true;
  default: return false;
  }
}

/// Whether lower.cpp carries e as a double word: constants, inputs, parameters, ±, · and small
/// powers of them (lower.cpp's double_word_rule; keep the two in step). Memoised: the IR is a
/// DAG, and a shared subexpression must not be walked once per path.
bool double_word(ir::Expr e, std::unordered_map<ir::Expr, bool, ir::ExprHash> &memo) {
  if (auto it = memo.find(e); it != memo.end()) return it->second;
  bool r = false;
  switch (e.kind()) {
  case ir::Kind::Const:
  case ir::Kind::Input:
  case ir::Kind::Param: r = true; break;
  case ir::Kind::Pow:
    r = e.exponent() >= 1 && e.exponent() <= 8 && double_word(e.child(0), memo);
    break;
  case ir::Kind::Neg:
  case ir::Kind::Add:
  case ir::Kind::Sub:
  case ir::Kind::Mul:
    r = true;
    for (int i = 0; i < e.num_children(); ++i)
      r = r && double_word(e.child(i), memo);
    break;
  default: break;
  }
  memo.emplace(e, r);
  return r;
}
bool double_word(ir::Expr e) {
  std::unordered_map<ir::Expr, bool, ir::ExprHash> memo;
  return double_word(e, memo);
}

/// The inputs e reads, as a bit set (bit i: input(i)); memoised like double_word.
unsigned inputs_read(ir::Expr e, std::unordered_map<ir::Expr, unsigned, ir::ExprHash> &memo) {
  if (auto it = memo.find(e); it != memo.end()) return it->second;
  unsigned r = e.kind() == ir::Kind::Input ? 1u << e.input_index() : 0u;
  for (int i = 0; i < e.num_children(); ++i)
    r |= inputs_read(e.child(i), memo);
  memo.emplace(e, r);
  return r;
}
unsigned inputs_read(ir::Expr e) {
  std::unordered_map<ir::Expr, unsigned, ir::ExprHash> memo;
  return inputs_read(e, memo);
}

/// factor·p for a double-word factor and p = sigmoid(u), erfc(u) or tanh(softplus(u)) of a
/// double-word u: lower.cpp's scaled_product, accurate in the compute type — when factor and u
/// read the same one input. With different inputs (glu's x·sigmoid(g)) a huge factor can lift a
/// p far below the primitives' clamp (e^-110 in f32) into the normal range: f64 then.
bool scaled_product(ir::Expr factor, ir::Expr p) {
  if (!double_word(factor)) return false;
  const ir::Expr u = p.kind() == ir::Kind::Tanh && p.child(0).kind() == ir::Kind::Softplus
                         ? p.child(0).child(0)
                     : p.kind() == ir::Kind::Sigmoid || p.kind() == ir::Kind::Erfc ? p.child(0)
                                                                                   : ir::Expr();
  if (!u.defined() || !double_word(u)) return false;
  const unsigned a = inputs_read(factor), b = inputs_read(u);
  return a == b && a != 0 && (a & (a - 1)) == 0;
}

/// Per node of the DAG: whether it depends on an input, holds a transcendental primitive, and
/// holds a form that f32 cannot evaluate to the bounds (see above). Memoised: linear in the DAG.
class PrecisionFacts {
public:
  struct Facts {
    bool varies = false;
    bool transcendental = false;
    bool has_param = false;
    bool needs_f64 = false; // a sum that may cancel, or a primitive times x (see above)
  };

  Facts operator()(ir::Expr e) {
    if (auto it = memo_.find(e); it != memo_.end()) return it->second;
    Facts f;
    f.varies = e.kind() == ir::Kind::Input;
    f.transcendental = is_transcendental(e.kind());
    f.has_param = e.kind() == ir::Kind::Param;
    for (int i = 0; i < e.num_children(); ++i) {
      const Facts c = (*this)(e.child(i));
      f.varies |= c.varies;
      f.transcendental |= c.transcendental;
      f.has_param |= c.has_param;
      f.needs_f64 |= c.needs_f64;
    }
    const bool x_minus_tanh = e.kind() == ir::Kind::Sub && e.child(1).kind() == ir::Kind::Tanh &&
                              e.child(1).child(0) == e.child(0);
    if ((e.kind() == ir::Kind::Add || e.kind() == ir::Kind::Sub) && !x_minus_tanh) {
      const Facts a = (*this)(e.child(0)), b = (*this)(e.child(1));
      f.needs_f64 |= a.varies && b.varies && (a.transcendental || b.transcendental);
      f.needs_f64 |=
          (a.varies && !b.varies && b.has_param) || (b.varies && !a.varies && a.has_param);
    }
    if (e.kind() == ir::Kind::Mul || e.kind() == ir::Kind::Div) {
      const Facts a = (*this)(e.child(0)), b = (*this)(e.child(1));
      const bool mul = e.kind() == ir::Kind::Mul;
      f.needs_f64 |= (a.varies && !a.transcendental && b.transcendental &&
                      !(mul && scaled_product(e.child(0), e.child(1)))) ||
                     (b.varies && !b.transcendental && a.transcendental &&
                      !(mul && scaled_product(e.child(1), e.child(0))));
    }
    memo_.emplace(e, f);
    return f;
  }

private:
  std::unordered_map<ir::Expr, Facts, ir::ExprHash> memo_;
};

bool needs_f64(const KernelSpec &spec) {
  PrecisionFacts facts;
  if (spec.role == Role::Forward) return facts(spec.expr).needs_f64;
  if (spec.role == Role::BackwardFromOutput)
    return facts(dsl::derivative_from_output(spec.expr)).needs_f64;
  const int inputs = std::max(1, ir::count_inputs(spec.expr));
  for (int k = 0; k < inputs; ++k)
    if (facts(ir::differentiate(spec.expr, ir::input(k))).needs_f64) return true;
  return false;
}

/// Error of `got` against `exact` in f16 steps (the step at |exact|; 2^-24 below 2^-14). A
/// non-finite `got` where `exact` is a finite f16 value is an infinite error.
long double f16_steps(float got, long double exact) {
  if (!std::isfinite(got)) return got == exact ? 0.0L : INFINITY;
  const long double a = std::fabs(exact);
  const long double step = a < 0x1p-14L ? 0x1p-24L : std::ldexp(1.0L, std::ilogb(a) - 10);
  return std::fabs(static_cast<long double>(got) - exact) / step;
}

/// Whether formula f (one input, no parameters) evaluated in f32 stays within one f16 step of
/// its long-double value at every f16 input where that value is a finite f16 number. The kernel
/// adds its own f32 primitives' error (an ulp or two of f32) and the rounding to f16 (half a
/// step), still far inside ACTIVATIONS.md's 4 and 8 steps. A backward kernel multiplies f' by
/// dy after: one step of f' is one step of dy·f' where f' is a normal f16 value, and at most
/// 2^-24·|dy| where it is not — inside the bounds' absolute clause, 2^-11·max(1, |dy|).
bool f32_holds_f16(ir::Expr f) {
  const ir::Program p(f);
  for (std::uint32_t bits = 0; bits < 0x10000u; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    const auto x = static_cast<float>(load_value(&h, DType::F16)); // exact
    if (!std::isfinite(x)) continue;
    const long double xl = x;
    const long double exact = p.eval<long double>(std::span<const long double>(&xl, 1), {});
    if (!std::isfinite(exact) || std::fabs(exact) > 65504.0L) continue;
    if (f16_steps(p.eval<float>(std::span<const float>(&x, 1), {}), exact) > 1.0L) return false;
  }
  return true;
}

/// f16 storage, elementwise roles, one input, no parameters: f32 when it holds (see above).
bool f16_in_f32(const KernelSpec &spec) {
  if (spec.dtype != DType::F16 || spec.role == Role::ParamGrad || spec.uniform_g) return false;
  if (ir::count_inputs(spec.expr) > 1 || !ir::collect_params(spec.expr).empty()) return false;
  switch (spec.role) {
  case Role::Forward: return f32_holds_f16(spec.expr);
  case Role::BackwardFromOutput: return f32_holds_f16(dsl::derivative_from_output(spec.expr));
  default: return f32_holds_f16(ir::differentiate(spec.expr, ir::input(0)));
  }
}

} // namespace

Halide::Type compute_type(const KernelSpec &spec) {
  if (spec.dtype == DType::F64 || (spec.expr.defined() && needs_f64(spec) && !f16_in_f32(spec)))
    return Halide::Float(64);
  return Halide::Float(32);
}

} // namespace actforge::codegen::halide
