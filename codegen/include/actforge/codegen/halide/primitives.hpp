// Halide expression builders for the stable primitives of the IR: vectorisable, exact at NaN/inf.
#pragma once

#include <Halide.h>

#include <functional>

/// \file
/// Each builder takes a Float(32) or Float(64) Expr and returns an Expr of the same type built
/// only from operations that vectorise on every CPU target: arithmetic, select, comparisons,
/// round and bit reinterpretation. None of them lowers to a libm call per lane, and
/// none uses Halide::exp or Halide::log: Halide's f32 exp is up to 5 ulp off and flushes subnormal
/// results to zero, and its f64 exp and log call libm once per lane.
///
/// Semantics, as in ACTIVATIONS.md: NaN in, NaN out; infinities give the limits; no inf/inf or
/// inf*0 for finite inputs; subnormal inputs and results are exact to the same bound as the rest.
/// Every float operation of the result is marked Halide::strict_float (the argument itself is
/// bound by a let and left as the caller built it): the accuracy rests on error-free steps
/// (Cody-Waite reduction, Dekker squaring, exact residuals) that Halide's float simplifications and
/// LLVM's fast-math flags would reassociate away.
///
/// Accuracy, as the distance in ulp to the correctly rounded result, measured against a
/// long-double reference and bounded by codegen/tests/primitives_test.cpp, f32 and f64 alike:
/// at most 1 for exp, expm1, log, log1p, tanh, erf and exp_neg_square, at most 2 for sigmoid,
/// softplus and erfc (erfc relative to its value all the way down its tail), at most 3 for
/// x_minus_tanh (u³/3 near 0: a product of three rounded factors). Being
/// made of correctly rounded IEEE operations only, never fused or reassociated, the results should
/// be the same bits on every target; the test measures them on the host.
///
/// Each builder throws actforge::Error when its argument is undefined or not Float(32)/Float(64).
///
/// Call them qualified (`halide::exp(x)`): unqualified, argument-dependent lookup also finds
/// Halide::exp and the call is ambiguous.

namespace actforge::codegen::halide {

/// e^u; overflows to +inf, underflows through the subnormals to 0.
Halide::Expr exp(const Halide::Expr &u);
/// e^u - 1 without cancellation near 0; expm1(-inf) = -1.
Halide::Expr expm1(const Halide::Expr &u);
/// Natural logarithm; log(0) = -inf, log(u < 0) = NaN.
Halide::Expr log(const Halide::Expr &u);
/// log(1 + u) without cancellation near 0; log1p(-1) = -inf, log1p(u < -1) = NaN.
Halide::Expr log1p(const Halide::Expr &u);
/// 1/(1 + e^-u) from one exp of -|u|; exactly 0 and 1 at -inf and +inf.
Halide::Expr sigmoid(const Halide::Expr &u);
/// tanh from one expm1 of ±2|u|; odd, so tanh(-0) = -0; ±1 at ±inf.
Halide::Expr tanh(const Halide::Expr &u);
/// u - tanh(u) without its cancellation near 0 (u³/3 there); odd; ±inf at ±inf.
Halide::Expr x_minus_tanh(const Halide::Expr &u);
/// log(1 + e^u) = max(u, 0) + log1p(e^-|u|); 0 at -inf, +inf at +inf.
Halide::Expr softplus(const Halide::Expr &u);
/// Error function; ±1 at ±inf.
Halide::Expr erf(const Halide::Expr &u);
/// 1 - erf(u) with relative accuracy in the tail until it underflows; 2 at -inf, 0 at +inf.
Halide::Expr erfc(const Halide::Expr &u);
/// e^(-u²) with u² carried exactly (as a sum of two floats), so the result does not inherit the
/// rounding error of u·u, which is amplified by u² (up to ~100 ulp in f32 near underflow).
Halide::Expr exp_neg_square(const Halide::Expr &u);
/// max(a, b) that propagates NaN from either side (a bare SIMD max returns the other operand);
/// returns b when they compare equal, as dsl::scalar::max does.
Halide::Expr max_nan(const Halide::Expr &a, const Halide::Expr &b);
/// a·b, except 0 where a is exactly 0 and b infinite: a factor that has saturated to 0 (the
/// sigmoid'(u) of a chain rule) wins over one that has overflowed (the u' of a polynomial u).
/// NaN stays NaN.
Halide::Expr mul_zero_wins(const Halide::Expr &a, const Halide::Expr &b);
/// min(a, b) that propagates NaN from either side; returns b when they compare equal.
Halide::Expr min_nan(const Halide::Expr &a, const Halide::Expr &b);

/// \name Double-word arguments and scaled results
/// The value hi + lo of two floats of the compute type, |lo| at most about an ulp of hi: an
/// argument carried to twice the compute type's precision (lower.cpp builds them for arguments
/// free of primitives: 1.702·x, x/√2, √(2/π)(x + 0.044715x³)). Its rounding would otherwise be
/// amplified by |u p'(u)/p(u)| (2u² in erfc's tail, |u| in sigmoid's). An undefined lo means 0.
/// Both parts should be let variables or constants: the builders below refer to them more than
/// once.
///@{
struct DoubleWord {
  Halide::Expr hi;
  Halide::Expr lo;
};

/// p(hi + lo) for the primitives whose argument's rounding matters, to the bounds above (the
/// low part enters the exp reductions exactly, erf's series and tanh's at first order). A
/// non-finite hi gives p(hi): its low part (NaN after an overflow) is ignored.
Halide::Expr exp(const DoubleWord &u);
Halide::Expr sigmoid(const DoubleWord &u);
Halide::Expr tanh(const DoubleWord &u);
Halide::Expr softplus(const DoubleWord &u);
Halide::Expr erfc(const DoubleWord &u);

/// v·unscale = p(u), where v is p(u)·2^S (S = 64 in f32, 128 in f64) where p(u) < 2^-S and
/// p(u) elsewhere; unscale is 2^-S or 1. For x·p(u) with p(u) subnormal and the product normal
/// (x·sigmoid(x) near x = -90 in f32, -711 in f64): (x·v)·unscale rounds once, where x·p(u)
/// would carry the subnormal's absolute error. v <= 1 where scaled, so x·v cannot overflow.
/// Where the argument is beyond the clamp of exp's (erfc's) argument, v is 0.
struct Scaled {
  Halide::Expr value;
  Halide::Expr unscale;
};
Scaled sigmoid_scaled(const DoubleWord &u);
Scaled erfc_scaled(const DoubleWord &u);
/// tanh(softplus(u)), scaled (mish's factor): e^u·2^S in the tail.
Scaled tanh_softplus_scaled(const DoubleWord &u);

/// Binds a value to a fresh let variable and returns the variable (lower.cpp wraps the kernel's
/// expression in the lets). Each part of the results below is bound once through it.
using Bind = std::function<Halide::Expr(const Halide::Expr &)>;
/// v as hi + lo of type t (hi = v rounded, lo = the rest rounded); lo undefined when v is exact.
DoubleWord dw_constant(const Halide::Type &t, long double v);
/// a·b: Dekker's TwoProduct with the exact fma (hi = a_hi b_hi rounded, its error exactly) plus
/// the cross terms; by a power of two, exact. Relative error about 2^-2p. `unfused`: hi is formed
/// so that no back end can fuse it into an add that uses it (LowerEnv::unfused_products).
DoubleWord dw_mul(const DoubleWord &a, const DoubleWord &b, const Bind &bind, bool unfused = false);
/// a + b: Knuth's TwoSum plus the low parts, renormalised. Relative error about 2^-2p of the
/// larger term (cancellation leaves the low parts' own errors).
DoubleWord dw_add(const DoubleWord &a, const DoubleWord &b, const Bind &bind);
/// a + c for c = c_hi + c_lo (a constant or a product of parameters, not rounded to one float),
/// as (a + c_hi) + c_lo: where a + c_hi cancels it is exact (Sterbenz), and c_lo restores c
/// (selu's backward from the output, y + λα near y = -λα).
Halide::Expr add_double_word(const Halide::Expr &a, const DoubleWord &c);
///@}

} // namespace actforge::codegen::halide
