// Halide expression builders for the stable primitives: exact range reduction plus polynomials.
#include "actforge/codegen/halide/primitives.hpp"

#include "actforge/error.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <span>
#include <sstream>
#include <string>

namespace actforge::codegen::halide {
namespace {

using Halide::Expr;
using Halide::Type;

// Polynomial coefficients, lowest degree first, rounded to the type they are used in. They come
// from Chebyshev interpolation in 60-digit arithmetic (mpmath), re-expanded as monomials in the
// variable named beside each table; the comment gives the relative error with the rounded
// coefficients, before evaluation error.

// expm1(r) = r + r² P(r), |r| <= 0.3501. Rel. error of P: f32 1.0e-8, f64 4.9e-18.
constexpr double kExpm1F32[] = {0x1.0000000000000p-1, 0x1.5555560000000p-3,  0x1.5554e40000000p-5,
                                0x1.1110de0000000p-7, 0x1.6d492c0000000p-10, 0x1.a12a4e0000000p-13};
constexpr double kExpm1F64[] = {0x1.0000000000000p-1,  0x1.5555555555557p-3,  0x1.5555555555556p-5,
                                0x1.111111110ff84p-7,  0x1.6c16c16c16210p-10, 0x1.a01a01aca18acp-13,
                                0x1.a01a01a7428a4p-16, 0x1.71ddffeb0f024p-19, 0x1.27e4da17a0fb0p-22,
                                0x1.af5299b025f69p-26, 0x1.1f75b0f172291p-29};

// log1p(f) = f - f²/2 + s (f²/2 + z Q(z)), s = f/(2+f), z = s² <= 0.02947 (fdlibm's arrangement).
// Rel. error of Q: f32 3.3e-8, f64 4.7e-16 (it enters the result scaled by z/2 <= 0.015).
constexpr double kLogF32[] = {0x1.5555560000000p-1, 0x1.9999ec0000000p-2, 0x1.245c280000000p-2,
                              0x1.ddd4da0000000p-3};
constexpr double kLogF64[] = {0x1.5555555555558p-1, 0x1.9999999995273p-2, 0x1.2492492dfd86cp-2,
                              0x1.c71c62d5e53e0p-3, 0x1.7462b91b8df65p-3, 0x1.39fdcceb4bb45p-3,
                              0x1.2b5f68a50d903p-3};

// erf(x) = x + x y(z), z = x² <= 0.84375². Abs. error of y: f32 6.5e-9, f64 1.3e-17, mostly the
// rounding of c0, whose remainder is kept apart.
constexpr double kErfC0LoF32 = 0x1.ce14720000000p-31;
constexpr double kErfC0LoF64 = -0x1.cf6a2fbc07f5bp-57;
constexpr double kErfF32[] = {0x1.06eba80000000p-3,  -0x1.8127460000000p-2, 0x1.ce2eb60000000p-4,
                              -0x1.b81e9e0000000p-6, 0x1.5573500000000p-8,  -0x1.b0ce5c0000000p-11,
                              0x1.74dba00000000p-14};
constexpr double kErfF64[] = {
    0x1.06eba8214db69p-3,  -0x1.812746b0379e6p-2,  0x1.ce2f21a042acfp-4,  -0x1.b82ce31281a71p-6,
    0x1.565bcd0ceb1d7p-8,  -0x1.c02db3a033205p-11, 0x1.f9a317b0dcb87p-14, -0x1.f4d0c17daf57fp-17,
    0x1.b9c9ed1d47fd5p-20, -0x1.5e1b368bdf09ep-23, 0x1.e819bbd6706fep-27, -0x1.e82ab4a2799adp-31};

// erfc(x) = e^(-x²) erfcx(x), erfcx(x) = P(x - 1.6875) on [0.6875, 2.53125]: the variable is exact
// (x and 1.6875 are multiples of x's ulp, and so is the difference, below 1 in magnitude), so its
// rounding does not enter. Rel. error: f32 8.4e-8, f64 4.8e-17, most of it the rounding of the
// constant term, whose remainder (c0 - float(c0)) is kept apart: without it, 2.4e-8 and 4.2e-17.
constexpr double kErfcNearMid = 1.6875;
constexpr double kErfcNearC0LoF32 = -0x1.afec1a0000000p-27;
constexpr double kErfcNearC0LoF64 = 0x1.ccd204707b470p-57;
constexpr double kErfcNearF32[] = {
    0x1.2c6c3e0000000p-2,  -0x1.1b110a0000000p-3,  0x1.ecaee40000000p-5,  -0x1.9127320000000p-6,
    0x1.346ad00000000p-7,  -0x1.c2d76c0000000p-9,  0x1.3b63380000000p-10, -0x1.a995580000000p-12,
    0x1.0cd3ba0000000p-13, -0x1.3683d40000000p-15, 0x1.f255280000000p-17, -0x1.89c0ba0000000p-18};
constexpr double kErfcNearF64[] = {
    0x1.2c6c3d2ac6111p-2,  -0x1.1b110b4094c34p-3,  0x1.ecaedd624462bp-5,  -0x1.9126c9e5ff828p-6,
    0x1.346c461069750p-7,  -0x1.c2f1628080de8p-9,  0x1.3b26815b47507p-10, -0x1.a6efc317f7685p-12,
    0x1.1172b614a2350p-13, -0x1.55b71158b6be0p-15, 0x1.9db7f1052ed3ap-17, -0x1.e65593eafa647p-19,
    0x1.160f9f332a715p-20, -0x1.35d2908ec4a80p-22, 0x1.50d3e4da93225p-24, -0x1.656e6e68cc8fep-26,
    0x1.73d7ea7e3a806p-28, -0x1.808ce374157e5p-30, 0x1.75055cfae36efp-32, -0x1.30aff06b7d7a2p-34,
    0x1.a0c111287d550p-36, -0x1.424bc16f1a833p-37};

// erfc(x) = e^(-x²) F(s) / x, F(s) = x erfcx(x) = P(s - mid), s = 1/x², x in [2.53125, erfc_max].
// F varies slowly in log s, so the rounding of s barely enters. Rel. error: f32 5.0e-8,
// f64 1.8e-17, again mostly the rounding of c0.
constexpr double kErfcFarMidF32 = 0x1.5090900000000p-4;
constexpr double kErfcFarC0LoF32 = 0x1.c3ae8e0000000p-26;
constexpr double kErfcFarC0LoF64 = 0x1.5862b25b671c5p-57;
constexpr double kErfcFarF32[] = {
    0x1.1639360000000p-1, -0x1.d380920000000p-3, 0x1.068e1e0000000p-2,  -0x1.bce0880000000p-2,
    0x1.e3289e0000000p-1, -0x1.37b1760000000p+1, 0x1.ca1b5e0000000p+2,  -0x1.7442100000000p+4,
    0x1.3adffa0000000p+6, -0x1.26853e0000000p+8, 0x1.ae82980000000p+10, -0x1.d310620000000p+12};
constexpr double kErfcFarMidF64 = 0x1.424056ca2d79fp-4;
constexpr double kErfcFarF64[] = {
    0x1.16a22eb3e9a2fp-1,  -0x1.d734829527accp-3,  0x1.0b4a74c7f3b7ep-2,   -0x1.cab1f798aa139p-2,
    0x1.f9a35cbe2e3b5p-1,  -0x1.4bac70fe4def3p+1,  0x1.efba45810f3c6p+2,   -0x1.9a79bacce5c42p+4,
    0x1.717901281091bp+6,  -0x1.6490243c9c2a2p+8,  0x1.6d11a2c0f46d8p+10,  -0x1.897e4137e2668p+12,
    0x1.bd9ae4cf23084p+14, -0x1.05c505409b0dfp+17, 0x1.2b6d1d9d52351p+19,  -0x1.72a17c1d2865dp+21,
    0x1.64c3cce465126p+24, -0x1.f0c77c7c53199p+26, -0x1.cf5f55796c171p+27, 0x1.b4d234889734cp+30,
    0x1.a2486dcf5f4cep+35, -0x1.3dad976c3e354p+38};

// tanh(a) = a + a z P(z), z = a² <= 0.3018 (a <= log(3)/2, where 1 - 2/(e^2a + 1) takes over).
// Rel. error: f32 3.6e-9, f64 4.7e-18.
constexpr double kTanhFar = 0.5493061443340549;
constexpr double kTanhF32[] = {-0x1.5555560000000p-2, 0x1.1111040000000p-3,  -0x1.ba143e0000000p-5,
                               0x1.657a9a0000000p-6,  -0x1.176fde0000000p-7, 0x1.4b68d80000000p-9};
constexpr double kTanhF64[] = {
    -0x1.5555555555555p-2,  0x1.1111111111037p-3,  -0x1.ba1ba1b9ff5cep-5,  0x1.664f48774850ep-6,
    -0x1.226e32f9a18cep-7,  0x1.d6d33b2d30c32p-9,  -0x1.7d97ef74ad50cp-10, 0x1.34c6e0febbe04p-11,
    -0x1.ec1f13bfaca77p-13, 0x1.652d2a1cc3023p-14, -0x1.5a2cc15c26950p-16};

// u - tanh(u) = a³ Q(z), a = |u|, z = a² <= 1, Q(z) = (a - tanh a)/a³ = 1/3 - 2z/15 + ...
// Chebyshev interpolation of Q on [0, 1] (mpmath.chebyfit, 60 digits), then the coefficients
// rounded one at a time, lowest first, each time refitting the higher ones (relative least squares
// on 400 Chebyshev nodes) to absorb the rounding; c0's remainder is kept apart. Rel. error of Q
// with the rounded coefficients: f32 5.6e-9, f64 1.4e-18. (The series of tanh above serves only
// to a = 0.549, and a - tanh a beyond loses up to a factor 10 to cancellation until a = 1.)
constexpr double kXMinusTanhC0LoF32 = -0x1.9204340000000p-27;
constexpr double kXMinusTanhC0LoF64 = 0x1.4de6f73409c3fp-56;
constexpr double kXMinusTanhF32[] = {
    0x1.5555560000000p-2, -0x1.1110f20000000p-3, 0x1.ba11460000000p-5,  -0x1.65a4f20000000p-6,
    0x1.1cf1c20000000p-7, -0x1.a3eac40000000p-9, 0x1.e2f9bc0000000p-11, -0x1.2a0f9e0000000p-13};
constexpr double kXMinusTanhF64[] = {
    0x1.5555555555555p-2,  -0x1.1111111111108p-3,  0x1.ba1ba1ba1ac88p-5,  -0x1.664f488280c28p-6,
    0x1.226e35545e450p-7,  -0x1.d6d3cef6cc5b9p-9,  0x1.7da345574fe52p-10, -0x1.3556c632ad890p-11,
    0x1.f5670a0bb6056p-13, -0x1.95f5a95e315fbp-14, 0x1.470b8f8e760a2p-15, -0x1.028835903be99p-16,
    0x1.834b4ab7772efp-18, -0x1.015817079ae80p-19, 0x1.11f70f34b4074p-21, -0x1.8fdd3e9df72f1p-24,
    0x1.23107565e016ap-27};

// Where the erf/erfc formulas switch: erf's series serves up to fdlibm's 0.84375; erfc's middle
// form (1 - x - x y) stops at 0.6875, before erfc drops into the binade below 0.25 where the
// rounding of y would cost up to 3 ulp; the near piece of the tail takes over there.
constexpr double kErfSmall = 0.84375;
constexpr double kErfcMid = 0.25;
constexpr double kErfcNear = 0.6875;
constexpr double kErfcFar = 2.53125;

/// Everything that differs between f32 and f64.
struct Format {
  int mantissa_bits;
  int exponent_bias;
  // ln 2 = ln2_hi + ln2_lo with ln2_hi short enough that k * ln2_hi is exact for every k used.
  double ln2_hi;
  double ln2_lo;
  // exp(exp_min) rounds to 0 and exp(exp_max) to +inf; clamping to them keeps 2^k representable.
  double exp_min;
  double exp_max;
  // expm1 builds 1 - 2^-k exactly up to this k; beyond, it rounds to 1 anyway.
  int expm1_k_max;
  // Veltkamp's constant 2^ceil(p/2) + 1: splits a float into two halves whose products are exact.
  double split;
  // erfc(x) and e^(-x²) round to 0 beyond this.
  double erfc_max;
  // The bit pattern of sqrt(1/2), where log's reduction wraps to the next binade.
  std::uint64_t sqrt_half_bits;
  std::span<const double> expm1, log, tanh, erf, erfc_near, erfc_far, x_minus_tanh;
  double erfc_far_mid;
  double erf_c0_lo, erfc_near_c0_lo, erfc_far_c0_lo, x_minus_tanh_c0_lo;
  // The scaled forms (sigmoid_scaled, ...): their value times 2^tail_scale where the primitive is
  // below 2^-tail_scale, i.e. e^u for u < tail_exp_below and erfc(u) for u > tail_erfc_above
  // (mpmath: erfc(6.474) = 2^-64, erfc(9.270) = 2^-128). The scaled value is then at most 1, so a
  // factor times it cannot overflow, and it stays normal down to the clamp of exp's argument.
  int tail_scale;
  double tail_exp_below;
  double tail_erfc_above;
};

const Format kF32{.mantissa_bits = 23,
                  .exponent_bias = 127,
                  .ln2_hi = 0x1.62e4p-1,
                  .ln2_lo = 0x1.7f7d1cf79abcap-20,
                  .exp_min = -110.0,
                  .exp_max = 89.0,
                  .expm1_k_max = 100,
                  .split = 0x1p12 + 1,
                  .erfc_max = 11.0,
                  .sqrt_half_bits =
                      std::bit_cast<std::uint32_t>(static_cast<float>(std::numbers::sqrt2 / 2)),
                  .expm1 = kExpm1F32,
                  .log = kLogF32,
                  .tanh = kTanhF32,
                  .erf = kErfF32,
                  .erfc_near = kErfcNearF32,
                  .erfc_far = kErfcFarF32,
                  .x_minus_tanh = kXMinusTanhF32,
                  .erfc_far_mid = kErfcFarMidF32,
                  .erf_c0_lo = kErfC0LoF32,
                  .erfc_near_c0_lo = kErfcNearC0LoF32,
                  .erfc_far_c0_lo = kErfcFarC0LoF32,
                  .x_minus_tanh_c0_lo = kXMinusTanhC0LoF32,
                  .tail_scale = 64,
                  .tail_exp_below = -45.0,
                  .tail_erfc_above = 6.5};
const Format kF64{.mantissa_bits = 52,
                  .exponent_bias = 1023,
                  .ln2_hi = 0x1.62e42fee00000p-1,
                  .ln2_lo = 0x1.a39ef35793c76p-33,
                  .exp_min = -750.0,
                  .exp_max = 710.0,
                  .expm1_k_max = 1000,
                  .split = 0x1p27 + 1,
                  .erfc_max = 28.0,
                  .sqrt_half_bits = std::bit_cast<std::uint64_t>(std::numbers::sqrt2 / 2),
                  .expm1 = kExpm1F64,
                  .log = kLogF64,
                  .tanh = kTanhF64,
                  .erf = kErfF64,
                  .erfc_near = kErfcNearF64,
                  .erfc_far = kErfcFarF64,
                  .x_minus_tanh = kXMinusTanhF64,
                  .erfc_far_mid = kErfcFarMidF64,
                  .erf_c0_lo = kErfC0LoF64,
                  .erfc_near_c0_lo = kErfcNearC0LoF64,
                  .erfc_far_c0_lo = kErfcFarC0LoF64,
                  .x_minus_tanh_c0_lo = kXMinusTanhC0LoF64,
                  .tail_scale = 128,
                  .tail_exp_below = -89.0,
                  .tail_erfc_above = 9.3};

std::string describe(const Type &t) {
  std::ostringstream out;
  out << t;
  return out.str();
}

/// The API boundary: a clear message instead of a Halide assertion deep inside lowering.
const Format &format_of(const Expr &u, const char *name) {
  const std::string where = std::string("actforge::codegen::halide::") + name;
  if (!u.defined()) throw Error(where + " needs a defined Expr.");
  const Type t = u.type();
  if (t.is_float() && t.bits() == 32) return kF32;
  if (t.is_float() && t.bits() == 64) return kF64;
  throw Error(where + " needs a Float(32) or Float(64) Expr, not " + describe(t) + ".");
}

Expr constant(const Type &t, double v) { return Halide::Internal::make_const(t, v); }
Expr infinity(const Type &t) { return constant(t, std::numeric_limits<double>::infinity()); }
Expr nan(const Type &t) { return constant(t, std::numeric_limits<double>::quiet_NaN()); }

Type bits_type(const Type &t) { return t.with_code(halide_type_uint); }
Type int_type(const Type &t) { return Halide::Int(32, t.lanes()); }
Expr bits_of(const Expr &x) { return Halide::reinterpret(bits_type(x.type()), x); }
Expr bits_constant(const Type &t, std::uint64_t v) {
  return Halide::Internal::make_const(bits_type(t), v);
}

/// 2^k for integer k (Int(32)) in the normal exponent range, built in the exponent field.
Expr pow2(const Expr &k, const Type &t, const Format &f) {
  const Expr biased = Halide::cast(bits_type(t), k + f.exponent_bias);
  return Halide::reinterpret(t, biased << Halide::cast(bits_type(t), f.mantissa_bits));
}

/// v·2^k for k in [2 emin - 2, 2 emax]: two normal factors, so the only rounding is the final
/// one, whether the result overflows, is subnormal or neither.
Expr scale(const Expr &v, const Expr &k, const Format &f) {
  const Expr k1 = k >> 1;
  const Expr k2 = k - k1;
  return (v * pow2(k1, v.type(), f)) * pow2(k2, v.type(), f);
}

/// a·b + c rounded once: LLVM's fma intrinsic, called per lane (Halide 14 has no fma and
/// strict_float forbids contraction); LLVM's SLP vectoriser joins the lanes into vfmadd.
Expr fma(const Expr &a, const Expr &b, const Expr &c) {
  const Type t = a.type();
  return Halide::Internal::Call::make(t, t.bits() == 64 ? "llvm.fma.f64" : "llvm.fma.f32",
                                      {a, b, c}, Halide::Internal::Call::PureExtern);
}

Expr horner(const Expr &w, std::span<const double> c) {
  const Type t = w.type();
  Expr acc = constant(t, c.back());
  for (std::size_t i = c.size() - 1; i-- > 0;)
    acc = fma(acc, w, constant(t, c[i]));
  return acc;
}

/// One polynomial whose coefficients are chosen per lane: cheaper than evaluating both.
Expr horner_select(const Expr &w, const Expr &first, std::span<const double> a,
                   std::span<const double> b) {
  const Type t = w.type();
  auto coefficient = [&](std::size_t i) {
    const double ca = i < a.size() ? a[i] : 0.0;
    const double cb = i < b.size() ? b[i] : 0.0;
    return ca == cb ? constant(t, ca) : Halide::select(first, constant(t, ca), constant(t, cb));
  };
  const std::size_t n = std::max(a.size(), b.size());
  Expr acc = coefficient(n - 1);
  for (std::size_t i = n - 1; i-- > 0;)
    acc = fma(acc, w, coefficient(i));
  return acc;
}

/// Magnitude of y with the sign bit of s.
Expr copysign(const Expr &y, const Expr &s) {
  const Type t = y.type();
  const std::uint64_t sign = std::uint64_t{1} << (t.bits() - 1);
  const Expr magnitude = bits_of(y) & bits_constant(t, sign - 1);
  return Halide::reinterpret(t, magnitude | (bits_of(s) & bits_constant(t, sign)));
}

/// x = k ln2 + r with |r| <= ln2/2 (Cody-Waite): x - k ln2_hi is exact, so r carries only the
/// rounding of the last subtraction. `x_lo` is a small extra term (the low half of -u²), or 0.
struct Reduced {
  Expr k; // Int(32)
  Expr r;
};
Reduced reduce(const Expr &x, const Expr &x_lo, const Format &f) {
  const Type t = x.type();
  // Round to nearest even by adding and removing 1.5·2^p (exact for |x·log2e| < 2^(p-1), and
  // every caller's x is clamped far below): the same value as Halide::round, which Halide 14
  // lowers for AVX-512 as two 256-bit roundings joined by shuffles.
  const Expr magic = constant(t, std::ldexp(1.5, f.mantissa_bits));
  const Expr kf = (x * constant(t, std::numbers::log2e) + magic) - magic;
  const Expr r = (x - kf * constant(t, f.ln2_hi)) - (kf * constant(t, f.ln2_lo) - x_lo);
  return {Halide::cast(int_type(t), kf), r};
}

/// e^r - 1 = r + tail for a reduced r, the tail (r² P(r)) kept apart so that callers add the
/// leading r to whatever is larger first and lose nothing to cancellation.
Expr expm1_tail(const Expr &r, const Format &f) { return (r * r) * horner(r, f.expm1); }
Expr expm1_reduced(const Expr &r, const Format &f) { return r + expm1_tail(r, f); }

/// An argument u + lo of a primitive: lo, when defined, is the low part of a double-word
/// argument (primitives.hpp's DoubleWord), already 0 where u is not finite (see safe_low).
/// `scaled` asks for the scaled form: the value times 2^tail_scale in the tail.
struct Arg {
  Expr u;
  Expr lo;
  bool scaled = false;
};

/// lo where u is finite, else 0: TwoSum and TwoProduct leave NaN or inf in the low part of an
/// overflowed high part, which would otherwise reach the reduction of a clamped argument.
Expr safe_low(const Expr &u, const Expr &lo) {
  return Halide::select(Halide::abs(u) < infinity(u.type()), lo, constant(u.type(), 0.0));
}
/// The low part of |u + lo|, for |u| with u + lo normalised (u = 0 only with lo = 0).
Expr abs_low(const Arg &a) {
  return a.lo.defined() ? Halide::select(a.u >= 0, a.lo, -a.lo) : Expr();
}
Expr negated(const Expr &lo) { return lo.defined() ? -lo : Expr(); }
/// The low part of an argument u that a clamp turned into x: 0 where the clamp bit (the result
/// is 0, inf or a limit there, and lo, up to an ulp of a huge u, would swamp the reduction).
Expr clamped_low(const Expr &x, const Expr &u, const Expr &lo) {
  const Expr zero = constant(x.type(), 0.0);
  return lo.defined() ? Halide::select(x == u, lo, zero) : zero;
}

/// e^(x + lo) = m·2^k, x clamped to [exp_min, exp_max] (lo is then irrelevant: the result is 0
/// or inf either way), before the final scale().
struct ExpParts {
  Expr m;
  Expr k; // Int(32)
};
ExpParts exp_parts(const Expr &u, const Expr &lo, const Format &f) {
  const Type t = u.type();
  const Expr x = Halide::clamp(u, constant(t, f.exp_min), constant(t, f.exp_max));
  const Reduced red = reduce(x, clamped_low(x, u, lo), f);
  return {1 + expm1_reduced(red.r, f), red.k};
}

Expr exp_impl(const Arg &a, const Format &f) {
  const ExpParts p = exp_parts(a.u, a.lo, f);
  return Halide::select(Halide::is_nan(a.u), a.u, scale(p.m, p.k, f));
}

Expr expm1_lo(const Expr &u, const Expr &lo, const Format &f) {
  const Type t = u.type();
  const Expr x = Halide::clamp(u, constant(t, f.exp_min), constant(t, f.exp_max));
  const Reduced red = reduce(x, clamped_low(x, u, lo), f);
  // For k >= -1, e^x - 1 = 2^k ((r + (1 - 2^-k)) + tail) with 1 - 2^-k exact: r + c is no larger
  // than the result, so neither rounding is amplified. For k <= -2 the result is in (-1, -0.64]
  // and 2^k ((r + 1) + tail) - 1 loses nothing.
  // (The branches differ only in small terms: a select between the two full sums makes Halide
  // 14's bounds inference take tens of seconds.)
  const Expr high = red.k >= -1;
  const Expr kc = Halide::clamp(red.k, -1, f.expm1_k_max);
  const Expr c = Halide::select(high, 1 - pow2(-kc, t, f), constant(t, 1.0));
  const Expr scaled = scale((red.r + c) + expm1_tail(red.r, f), red.k, f);
  const Expr result = scaled - Halide::select(high, constant(t, 0.0), constant(t, 1.0));
  // expm1(±0) = ±0: the polynomial path returns +0 for both.
  return Halide::select(Halide::is_nan(u) || u == 0, u, result);
}
Expr expm1_impl(const Expr &u, const Format &f) { return expm1_lo(u, Expr(), f); }

/// log(1 + f) + c + k ln2 for 1 + f in [sqrt(1/2), sqrt(2)); c is a small correction (fdlibm's
/// order of summation, which keeps the error below 1 ulp).
Expr log_core(const Expr &fr, const Expr &kf, const Expr &c, const Format &f) {
  const Type t = fr.type();
  const Expr s = fr / (2 + fr);
  const Expr z = s * s;
  const Expr r = z * horner(z, f.log);
  const Expr hfsq = constant(t, 0.5) * fr * fr;
  return (((s * (hfsq + r) + (kf * constant(t, f.ln2_lo) + c)) - hfsq) + fr) +
         kf * constant(t, f.ln2_hi);
}

/// x = 2^k m with m in [sqrt(1/2), sqrt(2)), for positive normal x, from the bit pattern.
struct Decomposed {
  Expr k; // Int(32)
  Expr m;
};
Decomposed decompose(const Expr &x, const Format &f) {
  const Type t = x.type();
  const std::uint64_t one = static_cast<std::uint64_t>(f.exponent_bias) << f.mantissa_bits;
  const std::uint64_t mantissa_mask = (std::uint64_t{1} << f.mantissa_bits) - 1;
  // Moving sqrt(1/2) to 1 before reading the exponent puts the break at sqrt(1/2), not at 1.
  const Expr ix = bits_of(x) + bits_constant(t, one - f.sqrt_half_bits);
  const Expr k = Halide::cast(int_type(t), ix >> Halide::cast(bits_type(t), f.mantissa_bits)) -
                 f.exponent_bias;
  const Expr m = Halide::reinterpret(t, (ix & bits_constant(t, mantissa_mask)) +
                                            bits_constant(t, f.sqrt_half_bits));
  return {k, m};
}

Expr log_impl(const Expr &u, const Format &f) {
  const Type t = u.type();
  // Subnormals get the exponent field they lack.
  const Expr subnormal = u < constant(t, std::ldexp(1.0, 1 - f.exponent_bias));
  const int boost = f.mantissa_bits + 2;
  const Expr x = Halide::select(subnormal, u * constant(t, std::ldexp(1.0, boost)), u);
  const Decomposed d = decompose(x, f);
  const Expr k = d.k - Halide::select(subnormal, boost, 0);
  const Expr result = log_core(d.m - 1, Halide::cast(t, k), constant(t, 0.0), f);
  return Halide::select(u == infinity(t), u, u > 0, result, u == 0, -infinity(t), nan(t));
}

Expr log1p_impl(const Expr &x, const Format &f) {
  const Type t = x.type();
  const Expr u = 1 + x;
  const Decomposed d = decompose(u, f);
  // 1 + x rounded; c = (x - (u - 1))/u puts back what the rounding lost (both differences are
  // exact: Sterbenz for small k, and u - x is the rounded-away part of 1 for k >= 2).
  const Expr c = Halide::select(d.k >= 2, 1 - (u - x), x - (u - 1)) / u;
  // Near 0 use x itself: nothing to correct, and the relative accuracy of tiny x is kept.
  const Expr near =
      x >= constant(t, std::numbers::sqrt2 / 2 - 1) && x < constant(t, std::numbers::sqrt2 - 1);
  const Expr zero = constant(t, 0.0);
  const Expr result =
      log_core(Halide::select(near, x, d.m - 1), Halide::select(near, zero, Halide::cast(t, d.k)),
               Halide::select(near, zero, c), f);
  return Halide::select(x == infinity(t) || x == 0, x, x == -1, -infinity(t),
                        x < -1 || Halide::is_nan(x), nan(t), result);
}

/// d = a + b rounded and its rounding error, exactly (Fast2Sum: needs |a| >= |b|).
struct Sum {
  Expr value;
  Expr error;
};
Sum fast_two_sum(const Expr &a, const Expr &b) {
  const Expr value = a + b;
  return {value, b - (value - a)};
}

/// n/d for d = s.value + s.error: the rounding of d is put back as a first-order correction,
/// n/d ≈ q (1 - error/d), with `inv_d` any approximation of 1/d within a few percent (the
/// correction is below an ulp, so its own error is negligible).
Expr divide_compensated(const Expr &n, const Sum &d, const Expr &inv_d) {
  const Expr q = n / d.value;
  return q - q * (d.error * inv_d);
}

/// The tail flag of the scaled forms and the exponent offset it selects.
Expr tail_offset(const Expr &tail, const Format &f) {
  return Halide::select(tail, f.tail_scale, 0);
}

Expr sigmoid_impl(const Arg &a, const Format &f) {
  const Expr &u = a.u;
  const Type t = u.type();
  // e = e^-|u| <= 1: nothing overflows, and at u = ±inf e = 0 gives exactly 1 and 0.
  const ExpParts p = exp_parts(-Halide::abs(u), negated(abs_low(a)), f);
  // Scaled: where u < tail_exp_below, 1 + e rounds to 1 and the result is e(1 - e) = e to far
  // below an ulp, so e·2^S is the scaled result; 0 where the clamp of exp's argument bit.
  const Expr tail = u < constant(t, f.tail_exp_below);
  const Expr e = scale(p.m, a.scaled ? p.k + tail_offset(tail, f) : p.k, f);
  const Expr e1 = a.scaled ? Halide::select(tail, constant(t, 0.0), e) : e;
  // 1/(1 + e) or e/(1 + e), with 1 + e carried exactly; 1 - e/2 is within 13% of 1/(1 + e).
  const Sum d = fast_two_sum(constant(t, 1.0), e1);
  const Expr inv_d = 1 - constant(t, 0.5) * e1;
  const Expr y = divide_compensated(Halide::select(u >= 0, constant(t, 1.0), e), d, inv_d);
  if (!a.scaled) return Halide::select(Halide::is_nan(u), u, y);
  return Halide::select(Halide::is_nan(u), u, u < constant(t, f.exp_min), constant(t, 0.0), y);
}

/// 2/(e^2a + 1) = 1 - tanh(a) for a > 0.55, within 1.5 ulp; 0 at a = inf. t + 2 is carried
/// exactly (t = e^2a - 1 >= 2 from a > 0.55, and inf stays inf with a zero correction masked
/// below); 1/(t + 2) ≈ q/2. `la` is the low part of a (or undefined).
Expr one_minus_tanh(const Expr &a, const Expr &la, const Format &f) {
  const Type t = a.type();
  const Expr tm = expm1_lo(2 * a, la.defined() ? 2 * la : Expr(), f);
  const Sum d = fast_two_sum(tm, constant(t, 2.0));
  const Expr q = 2 / d.value;
  return Halide::select(tm == infinity(t), q, q - q * (d.error * (q * constant(t, 0.5))));
}

Expr tanh_impl(const Arg &arg, const Format &f) {
  const Expr &u = arg.u;
  const Type t = u.type();
  const Expr a = Halide::abs(u);
  const Expr la = abs_low(arg);
  const Expr z = a * a;
  // Near 0 the odd series: its correction is below a tenth of a, so only the last add rounds.
  // A low part la enters at first order (tanh' = 1 - z + ...: the -z·la left out is below a
  // third of la, itself below half an ulp of a).
  const Expr corr = a * (z * horner(z, f.tanh));
  const Expr near = a + (la.defined() ? la + corr : corr);
  // Beyond, 1 - 2/(e^2a + 1): the subtracted term is below the result, and e^2a -> inf gives 1.
  const Expr far = 1 - one_minus_tanh(a, la, f);
  const Expr y = Halide::select(a <= constant(t, kTanhFar), near, far);
  return Halide::select(Halide::is_nan(u), u, copysign(y, u));
}

/// max(u, 0) + log1p(e^-|u|), from e^-|u| = m·2^k already reduced.
Expr softplus_from(const Arg &a, const ExpParts &p, const Format &f) {
  const Type t = a.u.type();
  const Expr zero = constant(t, 0.0);
  const Expr log_part = log1p_impl(scale(p.m, p.k, f), f);
  const Expr positive = Halide::select(a.u > 0, a.u, zero);
  if (!a.lo.defined()) return positive + log_part;
  return positive + (Halide::select(a.u > 0, a.lo, zero) + log_part);
}

Expr softplus_impl(const Arg &a, const Format &f) {
  const ExpParts p = exp_parts(-Halide::abs(a.u), negated(abs_low(a)), f);
  return Halide::select(Halide::is_nan(a.u), a.u, softplus_from(a, p, f));
}

/// tanh(softplus(u)), scaled: where u < tail_exp_below it is e^u (1 - e^u/2)(1 - softplus²/3),
/// e^u to far below an ulp, so the scaled result is e^u·2^S from the same reduction as
/// softplus's e^-|u|; elsewhere tanh of softplus (bound once: tanh uses it several times).
Expr tanh_softplus_scaled_impl(const Arg &a, const Format &f) {
  const Expr &u = a.u;
  const Type t = u.type();
  const ExpParts p = exp_parts(-Halide::abs(u), negated(abs_low(a)), f);
  const std::string name = Halide::Internal::unique_name("actforge_softplus");
  const Expr sp = Halide::Internal::Variable::make(t, name);
  const Expr y =
      Halide::Internal::Let::make(name, softplus_from(a, p, f), tanh_impl({sp, Expr(), false}, f));
  const Expr tail = scale(p.m, p.k + f.tail_scale, f);
  return Halide::select(Halide::is_nan(u), u, u < constant(t, f.exp_min), constant(t, 0.0),
                        u < constant(t, f.tail_exp_below), tail, y);
}

/// a² = hi + lo exactly (Dekker's product with Veltkamp's split), for |a| far from overflow.
struct Square {
  Expr hi;
  Expr lo;
};
Square exact_square(const Expr &a, const Format &f) {
  const Type t = a.type();
  const Expr p = a * constant(t, f.split);
  const Expr ah = p - (p - a);
  const Expr al = a - ah;
  const Expr hi = a * a;
  const Expr lo = ((ah * ah - hi) + 2 * ah * al) + al * al;
  return {hi, lo};
}

/// u - tanh(u), odd (x_minus_tanh(-0) = -0), ±inf at ±inf. With a = |u|, z = a²:
///  - a <= 1: a (z Q(z)), Q = c0_hi + (c0_lo + z R(z)) in [0.238, 1/3]. The terms of z R are
///    below 0.1 and alternate, so their roundings stay below half an ulp of Q, and c0's remainder
///    takes the rounding of the constant term out: Q within about 1 ulp. z, z Q and the product
///    with a round once each, and each rounding costs up to 2/m ulp of the result for a factor
///    of mantissa m (Q near 1/3 has m = 1.33): at most 3 ulp, as measured (carrying z exactly as
///    hi + lo did not lower it). Forming z Q first keeps it normal where a³/3 is subnormal, so
///    the product rounds only once there; where z itself is subnormal, a³/3 underflows to 0.
///  - a > 1: (a - 1) + 2/(e^2a + 1). a - 1 is exact (Sterbenz to a = 2, then a multiple of a's
///    ulp), and the added term, within 1.5 ulp, is below the result: at most 2 ulp. (a - tanh a
///    on [0.55, 1] would amplify tanh's rounding up to 10 times, hence the polynomial to 1.)
Expr x_minus_tanh_impl(const Expr &u, const Format &f) {
  const Type t = u.type();
  const Expr a = Halide::abs(u);
  const Expr z = a * a;
  const Expr q = constant(t, f.x_minus_tanh.front()) +
                 (constant(t, f.x_minus_tanh_c0_lo) + z * horner(z, f.x_minus_tanh.subspan(1)));
  const Expr near = a * (z * q);
  const Expr far = (a - 1) + one_minus_tanh(a, Expr(), f);
  const Expr y = Halide::select(a <= constant(t, 1.0), near, far);
  return Halide::select(Halide::is_nan(u), u, copysign(y, u));
}

/// e^(-a²) = 2^k e^r for 0 <= a <= erfc_max. -hi - k ln2_hi is exact (k = 0, or Sterbenz once
/// hi > ln2/2), so only lo and the last subtraction enter r.
Reduced reduce_neg_square(const Square &sq, const Format &f) { return reduce(-sq.hi, -sq.lo, f); }

/// erfc(a + la) for a >= 0.6875 (finite garbage below), relative accuracy down to the underflow
/// threshold; la is a low part (or undefined), `k_extra` an exponent offset (the scaled form's)
/// or undefined.
Expr erfc_tail(const Expr &a_in, const Expr &la, const Expr &k_extra, const Format &f) {
  const Type t = a_in.type();
  const Expr a = Halide::min(a_in, constant(t, f.erfc_max));
  Square sq = exact_square(a, f);
  // (a + la)² = a² + 2a·la + la²: the cross term joins the low half (la² is far below it).
  const Expr la_in = la.defined() ? clamped_low(a, a_in, la) : Expr();
  if (la.defined()) sq.lo = sq.lo + 2 * a * la_in;
  const Reduced red = reduce_neg_square(sq, f);
  const Expr p = expm1_reduced(red.r, f);
  const Expr near = a < constant(t, kErfcFar);
  const Expr w =
      Halide::select(near, a - constant(t, kErfcNearMid), 1 / sq.hi - constant(t, f.erfc_far_mid));
  // P(w) = c0 + w R(w) with c0 = c0_hi + c0_lo, and P e^r = c0_hi + (c0_lo + w R + P p): every
  // rounding but the last falls on terms well below the result.
  const Expr c0_hi =
      Halide::select(near, constant(t, f.erfc_near.front()), constant(t, f.erfc_far.front()));
  const Expr c0_lo =
      Halide::select(near, constant(t, f.erfc_near_c0_lo), constant(t, f.erfc_far_c0_lo));
  const Expr low =
      c0_lo + w * horner_select(w, near, f.erfc_near.subspan(1), f.erfc_far.subspan(1));
  const Expr poly = c0_hi + low;
  Expr rest = low + poly * p;
  if (la.defined()) {
    // erfcx(a + la) = erfcx(a) + la (2a erfcx(a) - 2/√π) to first order. The result below is
    // q = P e^r (near) or q/a (far) with erfcx(a) e^r = q or q/a, so q gains la (2a q - κ e^r)
    // or a la (2q - κ e^r); joined to the small terms, it costs no rounding of its own.
    const Expr ep = 1 + p;
    const Expr q0 = poly * ep;
    const Expr ke = constant(t, 2 / std::sqrt(std::numbers::pi)) * ep;
    rest = rest + la_in * Halide::select(near, 2 * a * q0 - ke, a * (2 * q0 - ke));
  }
  const Expr q = c0_hi + rest;
  return scale(Halide::select(near, q, q / a), k_extra.defined() ? red.k + k_extra : red.k, f);
}

/// erf(x) = x + x y(x²) for |x| < 0.84375; also returns x y for erfc's middle range. A low part
/// l of x enters as l·erf'(x), erf'(x) = 2/√π e^-x² from four Taylor terms (relative error below
/// 2%, of a correction below 2 ulp).
struct ErfSmall {
  Expr value;
  Expr xy;
};
ErfSmall erf_small(const Expr &x, const Expr &l, const Format &f) {
  const Type t = x.type();
  const Expr z = x * x;
  const Expr y =
      constant(t, f.erf.front()) + (constant(t, f.erf_c0_lo) + z * horner(z, f.erf.subspan(1)));
  Expr xy = x * y;
  if (l.defined()) {
    static constexpr double kTaylor[] = {1.0, -1.0, 0.5, -1.0 / 6};
    xy = xy + l * (constant(t, 2 / std::sqrt(std::numbers::pi)) * horner(z, kTaylor));
  }
  return {x + xy, xy};
}

Expr erf_impl(const Expr &x, const Format &f) {
  const Type t = x.type();
  const Expr a = Halide::abs(x);
  const ErfSmall small = erf_small(x, Expr(), f);
  const Expr large = copysign(1 - erfc_tail(a, Expr(), Expr(), f), x);
  return Halide::select(Halide::is_nan(x), x, a < constant(t, kErfSmall), small.value, large);
}

Expr erfc_impl(const Arg &arg, const Format &f) {
  const Expr &x = arg.u;
  const Type t = x.type();
  // Scaled: where x > tail_erfc_above the result is the tail, times 2^S; 0 beyond erfc_max,
  // where the tail's clamped argument would leave erfc(erfc_max)·2^S.
  const Expr in_tail = x > constant(t, f.tail_erfc_above);
  const Expr tail =
      erfc_tail(Halide::abs(x), abs_low(arg), arg.scaled ? tail_offset(in_tail, f) : Expr(), f);
  const ErfSmall small = erf_small(x, arg.lo, f);
  const Expr &xy = small.xy;
  // On [0.25, 0.6875), 1 - erf(x) = 1 - x - x y, arranged so that the only large rounding is the
  // last one: 1 - x is exact on [0.5, 1] and x - 0.5 on [0.25, 1] (Sterbenz), while 1 - erf
  // would round erf in a binade above the result's.
  const Expr middle = Halide::select(
      x < constant(t, 0.5), constant(t, 0.5) - ((x - constant(t, 0.5)) + xy), (1 - x) - xy);
  const Expr far =
      arg.scaled ? Halide::select(x > constant(t, f.erfc_max), constant(t, 0.0), tail) : tail;
  return Halide::select(Halide::is_nan(x), x, x < constant(t, -kErfSmall), 2 - tail,
                        x < constant(t, kErfcMid), 1 - small.value, x < constant(t, kErfcNear),
                        middle, far);
}

Expr exp_neg_square_impl(const Expr &u, const Format &f) {
  const Type t = u.type();
  // Beyond erfc_max, e^(-u²) has long underflowed; the cap keeps Veltkamp's split finite.
  const Expr a = Halide::min(Halide::abs(u), constant(t, f.erfc_max));
  const Reduced red = reduce_neg_square(exact_square(a, f), f);
  return Halide::select(Halide::is_nan(u), u, scale(1 + expm1_reduced(red.r, f), red.k, f));
}

void check_same_type(const Expr &a, const Expr &b, const char *name) {
  if (a.type() != b.type()) {
    throw Error(std::string("actforge::codegen::halide::") + name +
                " needs two Exprs of one type, not " + describe(a.type()) + " and " +
                describe(b.type()) + ".");
  }
}

bool compares_floats(const Expr &e) {
  using namespace Halide::Internal;
  if (const auto *op = e.as<EQ>()) return op->a.type().is_float();
  if (const auto *op = e.as<NE>()) return op->a.type().is_float();
  if (const auto *op = e.as<LT>()) return op->a.type().is_float();
  if (const auto *op = e.as<LE>()) return op->a.type().is_float();
  if (const auto *op = e.as<GT>()) return op->a.type().is_float();
  if (const auto *op = e.as<GE>()) return op->a.type().is_float();
  return false;
}

/// Wraps every float-valued node and every float comparison in strict_float. Wrapping the root
/// alone is not enough in Halide 14: the common-subexpression elimination done when a Func is
/// defined hoists shared subexpressions into lets outside the wrapper, where the simplifier folds
/// ln2_hi + ln2_lo and LLVM gets fast-math flags (nnan/ninf turn NaN and inf tests into poison).
class StrictEveryNode : public Halide::Internal::IRMutator {
public:
  using IRMutator::mutate;
  Expr mutate(const Expr &e) override {
    Expr m = IRMutator::mutate(e);
    if (Halide::Internal::is_const(m) || m.as<Halide::Internal::Variable>()) return m;
    if (const auto *call = m.as<Halide::Internal::Call>()) {
      if (call->is_intrinsic(Halide::Internal::Call::strict_float)) return m;
    }
    if (m.type().is_float() || compares_floats(m)) return Halide::strict_float(m);
    return m;
  }
};

/// body(u) with u bound once by a let, so the caller's expression is neither duplicated nor made
/// strict itself.
template <class Body> Expr bind_strict(const Expr &u, const Body &body) {
  const std::string name = Halide::Internal::unique_name("actforge_u");
  const Expr var = Halide::Internal::Variable::make(u.type(), name);
  return Halide::Internal::Let::make(name, u, StrictEveryNode().mutate(body(var)));
}

Expr build(const Expr &u, const char *name, Expr (*impl)(const Expr &, const Format &)) {
  const Format &f = format_of(u, name);
  return bind_strict(u, [&](const Expr &v) { return impl(v, f); });
}

Expr strict(const Expr &e) { return StrictEveryNode().mutate(e); }

/// impl(u.hi + u.lo) with both parts bound once; the low part made safe (safe_low) in its let.
Expr build(const DoubleWord &u, bool scaled, const char *name,
           Expr (*impl)(const Arg &, const Format &)) {
  const Format &f = format_of(u.hi, name);
  if (!u.lo.defined()) {
    return bind_strict(u.hi, [&](const Expr &v) { return impl({v, Expr(), scaled}, f); });
  }
  format_of(u.lo, name);
  check_same_type(u.hi, u.lo, name);
  return bind_strict(u.hi, [&](const Expr &hi) {
    const std::string lo_name = Halide::Internal::unique_name("actforge_lo");
    const Expr lo = Halide::Internal::Variable::make(hi.type(), lo_name);
    return Halide::Internal::Let::make(lo_name, strict(safe_low(hi, u.lo)),
                                       impl({hi, lo, scaled}, f));
  });
}

/// The factor that undoes a scaled form: 2^-S where `tail` holds, else 1.
Expr unscale(const Expr &tail, const Format &f, const Type &t) {
  return strict(
      Halide::select(tail, constant(t, std::ldexp(1.0, -f.tail_scale)), constant(t, 1.0)));
}

bool is_power_of_two(const Expr &e) {
  const double *v = Halide::Internal::as_const_float(e);
  if (v == nullptr || *v == 0 || !std::isfinite(*v)) return false;
  int exponent = 0;
  return std::abs(std::frexp(*v, &exponent)) == 0.5;
}

} // namespace

Expr exp(const DoubleWord &u) { return build(u, false, "exp", exp_impl); }
Expr sigmoid(const DoubleWord &u) { return build(u, false, "sigmoid", sigmoid_impl); }
Expr tanh(const DoubleWord &u) { return build(u, false, "tanh", tanh_impl); }
Expr softplus(const DoubleWord &u) { return build(u, false, "softplus", softplus_impl); }
Expr erfc(const DoubleWord &u) { return build(u, false, "erfc", erfc_impl); }

Scaled sigmoid_scaled(const DoubleWord &u) {
  const Format &f = format_of(u.hi, "sigmoid_scaled");
  const Type t = u.hi.type();
  return {build(u, true, "sigmoid_scaled", sigmoid_impl),
          unscale(u.hi < constant(t, f.tail_exp_below), f, t)};
}
Scaled erfc_scaled(const DoubleWord &u) {
  const Format &f = format_of(u.hi, "erfc_scaled");
  const Type t = u.hi.type();
  return {build(u, true, "erfc_scaled", erfc_impl),
          unscale(u.hi > constant(t, f.tail_erfc_above), f, t)};
}
Scaled tanh_softplus_scaled(const DoubleWord &u) {
  const Format &f = format_of(u.hi, "tanh_softplus_scaled");
  const Type t = u.hi.type();
  return {build(u, true, "tanh_softplus_scaled", tanh_softplus_scaled_impl),
          unscale(u.hi < constant(t, f.tail_exp_below), f, t)};
}

DoubleWord dw_constant(const Type &t, long double v) {
  format_of(constant(t, 0.0), "dw_constant");
  const long double hi = t.bits() == 64 ? static_cast<long double>(static_cast<double>(v))
                                        : static_cast<long double>(static_cast<float>(v));
  const double lo = static_cast<double>(v - hi);
  if (lo == 0 || !std::isfinite(hi)) return {constant(t, static_cast<double>(hi)), Expr()};
  return {constant(t, static_cast<double>(hi)), constant(t, lo)};
}

// a·b rounded once, in a form LLVM cannot fuse into an add that consumes it: an fma with a +0
// addend is not folded back into a multiply (that would need no-signed-zeros), and it equals the
// rounded product except that an exact -0 comes out +0, which the select restores.
static Expr unfused_product(const Expr &a, const Expr &b) {
  const Expr q = fma(a, b, constant(a.type(), 0.0));
  return Halide::select(q == constant(a.type(), 0.0), strict(a * b), q);
}

DoubleWord dw_mul(const DoubleWord &a, const DoubleWord &b, const Bind &bind, bool unfused) {
  format_of(a.hi, "dw_mul");
  check_same_type(a.hi, b.hi, "dw_mul");
  if (is_power_of_two(b.hi) && !b.lo.defined()) return dw_mul(b, a, bind, unfused);
  if (is_power_of_two(a.hi) && !a.lo.defined()) {
    // Exact (barring overflow and underflow): no error term.
    return {bind(strict(a.hi * b.hi)), b.lo.defined() ? bind(strict(a.hi * b.lo)) : Expr()};
  }
  // Dekker's TwoProduct with the exact fma: a_hi b_hi = p + e exactly; the cross terms join e.
  const Expr p = bind(unfused ? unfused_product(a.hi, b.hi) : strict(a.hi * b.hi));
  Expr e = fma(a.hi, b.hi, -p);
  if (b.lo.defined()) e = fma(a.hi, b.lo, e);
  if (a.lo.defined()) e = fma(a.lo, b.hi, e);
  return {p, bind(strict(e))};
}

DoubleWord dw_add(const DoubleWord &a, const DoubleWord &b, const Bind &bind) {
  format_of(a.hi, "dw_add");
  check_same_type(a.hi, b.hi, "dw_add");
  // Knuth's TwoSum: a_hi + b_hi = s + err exactly, whatever their order of magnitude.
  const Expr s = bind(strict(a.hi + b.hi));
  const Expr bb = bind(strict(s - a.hi));
  Expr lo = (a.hi - (s - bb)) + (b.hi - bb);
  if (a.lo.defined()) lo = lo + a.lo;
  if (b.lo.defined()) lo = lo + b.lo;
  // Renormalised (Fast2Sum), so that hi = 0 only with lo = 0 and the sign of hi is the sign of
  // the sum; an overflowed s keeps its infinity, with a zero low part.
  const Expr l = bind(strict(safe_low(s, lo)));
  const Expr hi = bind(strict(s + l));
  return {hi, bind(strict(l - (hi - s)))};
}

Expr add_double_word(const Expr &a, const DoubleWord &c) {
  format_of(a, "add_double_word");
  check_same_type(a, c.hi, "add_double_word");
  if (!c.lo.defined()) return a + c.hi;
  return bind_strict(a, [&](const Expr &v) { return (v + c.hi) + c.lo; });
}

Expr exp(const Expr &u) { return exp(DoubleWord{u, Expr()}); }
Expr expm1(const Expr &u) { return build(u, "expm1", expm1_impl); }
Expr log(const Expr &u) { return build(u, "log", log_impl); }
Expr log1p(const Expr &u) { return build(u, "log1p", log1p_impl); }
Expr sigmoid(const Expr &u) { return sigmoid(DoubleWord{u, Expr()}); }
Expr tanh(const Expr &u) { return tanh(DoubleWord{u, Expr()}); }
Expr x_minus_tanh(const Expr &u) { return build(u, "x_minus_tanh", x_minus_tanh_impl); }
Expr softplus(const Expr &u) { return softplus(DoubleWord{u, Expr()}); }
Expr erf(const Expr &u) { return build(u, "erf", erf_impl); }
Expr erfc(const Expr &u) { return erfc(DoubleWord{u, Expr()}); }
Expr exp_neg_square(const Expr &u) { return build(u, "exp_neg_square", exp_neg_square_impl); }

Expr max_nan(const Expr &a, const Expr &b) {
  format_of(a, "max_nan");
  format_of(b, "max_nan");
  check_same_type(a, b, "max_nan");
  // a > b is false when either is NaN; the is_nan(a) term then picks a, else b is the NaN.
  return bind_strict(a, [&](const Expr &x) {
    return bind_strict(
        b, [&](const Expr &y) { return Halide::select(x > y || Halide::is_nan(x), x, y); });
  });
}

Expr mul_zero_wins(const Expr &a, const Expr &b) {
  format_of(a, "mul_zero_wins");
  format_of(b, "mul_zero_wins");
  check_same_type(a, b, "mul_zero_wins");
  return bind_strict(a, [&](const Expr &x) {
    return bind_strict(b, [&](const Expr &y) {
      return Halide::select(x == 0 && Halide::is_inf(y), constant(x.type(), 0.0), x * y);
    });
  });
}

Expr min_nan(const Expr &a, const Expr &b) {
  format_of(a, "min_nan");
  format_of(b, "min_nan");
  check_same_type(a, b, "min_nan");
  return bind_strict(a, [&](const Expr &x) {
    return bind_strict(
        b, [&](const Expr &y) { return Halide::select(x < y || Halide::is_nan(x), x, y); });
  });
}

} // namespace actforge::codegen::halide
