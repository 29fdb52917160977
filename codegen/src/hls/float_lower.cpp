// lower_float(): an activation as f32 C99 statements, the float mode of the HLS emitter.
//
// A port of the Halide backend (codegen/src/halide): primitives.cpp's range-reduced polynomials
// with its f32 coefficient tables, lower.cpp's IR rules and special patterns (double-word
// arguments, scaled results, exp(-(u·u)), u - tanh(u), constants added in two parts) and
// pipeline.cpp's roles, NaN tests and infinity guard. Differences: C99 without libm has no fma,
// so Horner steps are a multiply and an add, and exact products use Veltkamp's split (Dekker's
// TwoProduct without fma); every value is bound to a `const` temporary in evaluation order, so
// with -ffp-contract=off the C compiler (and an HLS tool) evaluates exactly the operations
// written, each rounded once.
#include "actforge/codegen/hls/float_lower.hpp"

#include "actforge/codegen/guards.hpp"

#include "c_prims.hpp"
#include "lower_values.hpp"

#include "actforge/error.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/mutate.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <numbers>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>

namespace actforge::codegen::hls {
namespace {

using c::fc;
using c::ic;
using c::OptV;
using c::sel;
using c::Ty;
using c::uc;
using c::V;

// ---- Coefficient tables: primitives.cpp's f32 tables, lowest degree first --------------------
constexpr double kExpm1[] = {0x1.0000000000000p-1, 0x1.5555560000000p-3,  0x1.5554e40000000p-5,
                             0x1.1110de0000000p-7, 0x1.6d492c0000000p-10, 0x1.a12a4e0000000p-13};
constexpr double kLog[] = {0x1.5555560000000p-1, 0x1.9999ec0000000p-2, 0x1.245c280000000p-2,
                           0x1.ddd4da0000000p-3};
constexpr double kErfC0Lo = 0x1.ce14720000000p-31;
constexpr double kErf[] = {0x1.06eba80000000p-3,  -0x1.8127460000000p-2, 0x1.ce2eb60000000p-4,
                           -0x1.b81e9e0000000p-6, 0x1.5573500000000p-8,  -0x1.b0ce5c0000000p-11,
                           0x1.74dba00000000p-14};
constexpr double kErfcNearMid = 1.6875;
constexpr double kErfcNearC0Lo = -0x1.afec1a0000000p-27;
constexpr double kErfcNearPoly[] = {
    0x1.2c6c3e0000000p-2,  -0x1.1b110a0000000p-3,  0x1.ecaee40000000p-5,  -0x1.9127320000000p-6,
    0x1.346ad00000000p-7,  -0x1.c2d76c0000000p-9,  0x1.3b63380000000p-10, -0x1.a995580000000p-12,
    0x1.0cd3ba0000000p-13, -0x1.3683d40000000p-15, 0x1.f255280000000p-17, -0x1.89c0ba0000000p-18};
constexpr double kErfcFarMid = 0x1.5090900000000p-4;
constexpr double kErfcFarC0Lo = 0x1.c3ae8e0000000p-26;
constexpr double kErfcFarPoly[] = {
    0x1.1639360000000p-1, -0x1.d380920000000p-3, 0x1.068e1e0000000p-2,  -0x1.bce0880000000p-2,
    0x1.e3289e0000000p-1, -0x1.37b1760000000p+1, 0x1.ca1b5e0000000p+2,  -0x1.7442100000000p+4,
    0x1.3adffa0000000p+6, -0x1.26853e0000000p+8, 0x1.ae82980000000p+10, -0x1.d310620000000p+12};
constexpr double kTanhFar = 0.5493061443340549;
constexpr double kTanh[] = {-0x1.5555560000000p-2, 0x1.1111040000000p-3,  -0x1.ba143e0000000p-5,
                            0x1.657a9a0000000p-6,  -0x1.176fde0000000p-7, 0x1.4b68d80000000p-9};
constexpr double kXMinusTanhC0Lo = -0x1.9204340000000p-27;
constexpr double kXMinusTanh[] = {
    0x1.5555560000000p-2, -0x1.1110f20000000p-3, 0x1.ba11460000000p-5,  -0x1.65a4f20000000p-6,
    0x1.1cf1c20000000p-7, -0x1.a3eac40000000p-9, 0x1.e2f9bc0000000p-11, -0x1.2a0f9e0000000p-13};
constexpr double kErfSmall = 0.84375;
constexpr double kErfcMid = 0.25;
constexpr double kErfcNear = 0.6875;
constexpr double kErfcFar = 2.53125;

// primitives.cpp's Format, f32.
constexpr int kMantissaBits = 23;
constexpr int kBias = 127;
constexpr double kLn2Hi = 0x1.62e4p-1;
constexpr double kLn2Lo = 0x1.7f7d1cf79abcap-20;
constexpr double kExpMin = -110.0;
constexpr double kExpMax = 89.0;
constexpr int kExpm1KMax = 100;
constexpr double kSplit = 0x1p12 + 1;
constexpr double kErfcMax = 11.0;
constexpr int kTailScale = 64;
constexpr double kTailExpBelow = -45.0;
constexpr double kTailErfcAbove = 6.5;
const std::uint32_t kSqrtHalfBits =
    std::bit_cast<std::uint32_t>(static_cast<float>(std::numbers::sqrt2 / 2));
const double kTwoOverSqrtPi = 2 / std::sqrt(std::numbers::pi);

// ---- Building blocks (primitives.cpp, in C) ----------------------------------------------------

V one() { return fc(1); }
V zero() { return fc(0); }

/// Horner's scheme as multiply and add (no fma in C99 without libm).
V horner(const V &w, std::span<const double> coef) {
  V acc = fc(coef.back());
  for (std::size_t i = coef.size() - 1; i-- > 0;)
    acc = acc * w + fc(coef[i]);
  return acc;
}
V horner_select(const V &w, const V &first, std::span<const double> a, std::span<const double> b) {
  auto coefficient = [&](std::size_t i) {
    const double ca = i < a.size() ? a[i] : 0.0;
    const double cb = i < b.size() ? b[i] : 0.0;
    return ca == cb ? fc(ca) : sel(first, fc(ca), fc(cb));
  };
  const std::size_t n = std::max(a.size(), b.size());
  V acc = coefficient(n - 1);
  for (std::size_t i = n - 1; i-- > 0;)
    acc = acc * w + coefficient(i);
  return acc;
}

/// u clamped to [lo, hi]; NaN goes to lo (so that float-to-int conversions stay defined; the
/// callers' NaN tests pick the NaN result).
V clamp(const V &u, double lo, double hi) {
  return sel(u > fc(lo), sel(u < fc(hi), u, fc(hi)), fc(lo));
}
V min_c(const V &u, double hi) { return sel(u < fc(hi), u, fc(hi)); }

/// 2^k for int32 k in the normal range, built in the exponent field.
V pow2(const V &k) { return c::from_bits(c::shl(c::to_u(k + ic(kBias)), kMantissaBits)); }
/// v·2^k as two normal factors: one rounding.
V scale(const V &v, const V &k) {
  const V k1 = c::shr(k, 1);
  const V k2 = k - k1;
  return (v * pow2(k1)) * pow2(k2);
}

struct Reduced {
  V k; // int32
  V r;
};
/// x = k ln2 + r (Cody-Waite); x_lo a small extra term.
Reduced reduce(const V &x, const OptV &x_lo) {
  const V magic = fc(std::ldexp(1.5, kMantissaBits));
  const V kf = (x * fc(std::numbers::log2e) + magic) - magic;
  const V a = x - kf * fc(kLn2Hi);
  const V b = x_lo ? kf * fc(kLn2Lo) - *x_lo : kf * fc(kLn2Lo);
  return {c::to_int(kf), a - b};
}
V expm1_tail(const V &r) { return (r * r) * horner(r, kExpm1); }
V expm1_reduced(const V &r) { return r + expm1_tail(r); }

/// The argument of a primitive: u + lo (lo the low part of a double word, 0 where u is not
/// finite), and whether the scaled form is asked for.
struct Arg {
  V u;
  OptV lo;
  bool scaled = false;
};
OptV abs_low(const Arg &a) {
  if (!a.lo) return std::nullopt;
  return sel(a.u >= zero(), *a.lo, -*a.lo);
}
OptV negated(const OptV &lo) {
  if (!lo) return std::nullopt;
  return -*lo;
}
OptV clamped_low(const V &x, const V &u, const OptV &lo) {
  if (!lo) return std::nullopt;
  return sel(x == u, *lo, zero());
}

struct ExpParts {
  V m;
  V k;
};
ExpParts exp_parts(const V &u, const OptV &lo) {
  const V x = clamp(u, kExpMin, kExpMax);
  const Reduced red = reduce(x, clamped_low(x, u, lo));
  return {one() + expm1_reduced(red.r), red.k};
}

V exp_impl(const Arg &a) {
  const ExpParts p = exp_parts(a.u, a.lo);
  return sel(c::is_nan(a.u), a.u, scale(p.m, p.k));
}

V expm1_lo(const V &u, const OptV &lo) {
  const V x = clamp(u, kExpMin, kExpMax);
  const Reduced red = reduce(x, clamped_low(x, u, lo));
  const V high = red.k >= ic(-1);
  const V kc = sel(red.k > ic(kExpm1KMax), ic(kExpm1KMax), sel(high, red.k, ic(-1)));
  const V cc = sel(high, one() - pow2(-kc), one());
  const V scaled = scale((red.r + cc) + expm1_tail(red.r), red.k);
  const V result = scaled - sel(high, zero(), one());
  return sel(c::is_nan(u) || u == zero(), u, result);
}

V log_core(const V &fr, const V &kf, const OptV &corr) {
  const V s = fr / (fc(2) + fr);
  const V z = s * s;
  const V r = z * horner(z, kLog);
  const V hfsq = fc(0.5) * fr * fr;
  const V low = corr ? kf * fc(kLn2Lo) + *corr : kf * fc(kLn2Lo);
  return (((s * (hfsq + r) + low) - hfsq) + fr) + kf * fc(kLn2Hi);
}

struct Decomposed {
  V k; // int32
  V m;
};
Decomposed decompose(const V &x) {
  const std::uint32_t onebits = static_cast<std::uint32_t>(kBias) << kMantissaBits;
  const V ix = c::bits(x) + uc(onebits - kSqrtHalfBits);
  const V kk = c::to_int(c::shr(ix, kMantissaBits)) - ic(kBias);
  const V m = c::from_bits(c::band(ix, uc((1u << kMantissaBits) - 1)) + uc(kSqrtHalfBits));
  return {kk, m};
}

V log_impl(const V &u) {
  const V subnormal = u < fc(std::ldexp(1.0, 1 - kBias));
  const int boost = kMantissaBits + 2;
  const V x = sel(subnormal, u * fc(std::ldexp(1.0, boost)), u);
  const Decomposed d = decompose(x);
  const V k = d.k - sel(subnormal, ic(boost), ic(0));
  const V result = log_core(d.m - one(), c::to_float(k), std::nullopt);
  return sel(u == c::inf_f(), u,
             sel(u > zero(), result, sel(u == zero(), fc(-INFINITY), c::nan_f())));
}

V log1p_impl(const V &x) {
  const V u = one() + x;
  const Decomposed d = decompose(u);
  const V corr = sel(d.k >= ic(2), one() - (u - x), x - (u - one())) / u;
  const V near = (x >= fc(std::numbers::sqrt2 / 2 - 1)) && (x < fc(std::numbers::sqrt2 - 1));
  const V result = log_core(sel(near, x, d.m - one()), sel(near, zero(), c::to_float(d.k)),
                            sel(near, zero(), corr));
  return sel(x == c::inf_f() || x == zero(), x,
             sel(x == fc(-1), fc(-INFINITY), sel(x < fc(-1) || c::is_nan(x), c::nan_f(), result)));
}

struct Sum {
  V value;
  V error;
};
Sum fast_two_sum(const V &a, const V &b) {
  const V value = a + b;
  return {value, b - (value - a)};
}
V divide_compensated(const V &n, const Sum &d, const V &inv_d) {
  const V q = n / d.value;
  return q - q * (d.error * inv_d);
}
V tail_offset(const V &tail) { return sel(tail, ic(kTailScale), ic(0)); }

V sigmoid_impl(const Arg &a) {
  const V &u = a.u;
  const ExpParts p = exp_parts(-c::fabs_(u), negated(abs_low(a)));
  const V tail = u < fc(kTailExpBelow);
  const V e = scale(p.m, a.scaled ? p.k + tail_offset(tail) : p.k);
  const V e1 = a.scaled ? sel(tail, zero(), e) : e;
  const Sum d = fast_two_sum(one(), e1);
  const V inv_d = one() - fc(0.5) * e1;
  const V y = divide_compensated(sel(u >= zero(), one(), e), d, inv_d);
  if (!a.scaled) return sel(c::is_nan(u), u, y);
  return sel(c::is_nan(u), u, sel(u < fc(kExpMin), zero(), y));
}

V one_minus_tanh(const V &a, const OptV &la) {
  const V tm = expm1_lo(fc(2) * a, la ? OptV(fc(2) * *la) : std::nullopt);
  const Sum d = fast_two_sum(tm, fc(2));
  const V q = fc(2) / d.value;
  return sel(tm == c::inf_f(), q, q - q * (d.error * (q * fc(0.5))));
}

V tanh_impl(const Arg &arg) {
  const V &u = arg.u;
  const V a = c::fabs_(u);
  const OptV la = abs_low(arg);
  const V z = a * a;
  const V corr = a * (z * horner(z, kTanh));
  const V near = a + (la ? *la + corr : corr);
  const V far = one() - one_minus_tanh(a, la);
  const V y = sel(a <= fc(kTanhFar), near, far);
  return sel(c::is_nan(u), u, c::copysign_(y, u));
}

V softplus_from(const Arg &a, const ExpParts &p) {
  const V log_part = log1p_impl(scale(p.m, p.k));
  const V pos = a.u > zero();
  const V positive = sel(pos, a.u, zero());
  if (!a.lo) return positive + log_part;
  return positive + (sel(pos, *a.lo, zero()) + log_part);
}

V softplus_impl(const Arg &a) {
  const ExpParts p = exp_parts(-c::fabs_(a.u), negated(abs_low(a)));
  return sel(c::is_nan(a.u), a.u, softplus_from(a, p));
}

V tanh_softplus_scaled_impl(const Arg &a) {
  const V &u = a.u;
  const ExpParts p = exp_parts(-c::fabs_(u), negated(abs_low(a)));
  const V sp = softplus_from(a, p);
  const V y = tanh_impl({sp, std::nullopt, false});
  const V tail = scale(p.m, p.k + ic(kTailScale));
  return sel(c::is_nan(u), u, sel(u < fc(kExpMin), zero(), sel(u < fc(kTailExpBelow), tail, y)));
}

struct Square {
  V hi;
  V lo;
};
/// a = ah + al with ah holding the upper half of the significand (Veltkamp).
std::pair<V, V> split(const V &a) {
  const V p = a * fc(kSplit);
  const V ah = p - (p - a);
  return {ah, a - ah};
}
Square exact_square(const V &a) {
  const auto [ah, al] = split(a);
  const V hi = a * a;
  const V lo = ((ah * ah - hi) + fc(2) * ah * al) + al * al;
  return {hi, lo};
}

V x_minus_tanh_impl(const V &u) {
  const V a = c::fabs_(u);
  const V z = a * a;
  const V q =
      fc(kXMinusTanh[0]) + (fc(kXMinusTanhC0Lo) + z * horner(z, std::span(kXMinusTanh).subspan(1)));
  const V near = a * (z * q);
  const V far = (a - one()) + one_minus_tanh(a, std::nullopt);
  const V y = sel(a <= one(), near, far);
  return sel(c::is_nan(u), u, c::copysign_(y, u));
}

Reduced reduce_neg_square(const Square &sq) { return reduce(-sq.hi, -sq.lo); }

V erfc_tail(const V &a_in, const OptV &la, const OptV &k_extra) {
  const V a = min_c(a_in, kErfcMax);
  Square sq = exact_square(a);
  const OptV la_in = clamped_low(a, a_in, la);
  if (la_in) sq.lo = sq.lo + fc(2) * a * *la_in;
  const Reduced red = reduce_neg_square(sq);
  const V p = expm1_reduced(red.r);
  const V near = a < fc(kErfcFar);
  const V w = sel(near, a - fc(kErfcNearMid), one() / sq.hi - fc(kErfcFarMid));
  const V c0_hi = sel(near, fc(kErfcNearPoly[0]), fc(kErfcFarPoly[0]));
  const V c0_lo = sel(near, fc(kErfcNearC0Lo), fc(kErfcFarC0Lo));
  const V low = c0_lo + w * horner_select(w, near, std::span(kErfcNearPoly).subspan(1),
                                          std::span(kErfcFarPoly).subspan(1));
  const V poly = c0_hi + low;
  V rest = low + poly * p;
  if (la_in) {
    const V ep = one() + p;
    const V q0 = poly * ep;
    const V ke = fc(kTwoOverSqrtPi) * ep;
    rest = rest + *la_in * sel(near, fc(2) * a * q0 - ke, a * (fc(2) * q0 - ke));
  }
  const V q = c0_hi + rest;
  return scale(sel(near, q, q / a), k_extra ? red.k + *k_extra : red.k);
}

struct ErfSmall {
  V value;
  V xy;
};
ErfSmall erf_small(const V &x, const OptV &l) {
  const V z = x * x;
  const V y = fc(kErf[0]) + (fc(kErfC0Lo) + z * horner(z, std::span(kErf).subspan(1)));
  V xy = x * y;
  if (l) {
    static constexpr double kTaylor[] = {1.0, -1.0, 0.5, -1.0 / 6};
    xy = xy + *l * (fc(kTwoOverSqrtPi) * horner(z, kTaylor));
  }
  return {x + xy, xy};
}

V erf_impl(const V &x) {
  const V a = c::fabs_(x);
  const ErfSmall small = erf_small(x, std::nullopt);
  const V large = c::copysign_(one() - erfc_tail(a, std::nullopt, std::nullopt), x);
  return sel(c::is_nan(x), x, sel(a < fc(kErfSmall), small.value, large));
}

V erfc_impl(const Arg &arg) {
  const V &x = arg.u;
  const V in_tail = x > fc(kTailErfcAbove);
  const V tail =
      erfc_tail(c::fabs_(x), abs_low(arg), arg.scaled ? OptV(tail_offset(in_tail)) : std::nullopt);
  const ErfSmall small = erf_small(x, arg.lo);
  const V &xy = small.xy;
  const V middle = sel(x < fc(0.5), fc(0.5) - ((x - fc(0.5)) + xy), (one() - x) - xy);
  const V far = arg.scaled ? sel(x > fc(kErfcMax), zero(), tail) : tail;
  return sel(c::is_nan(x), x,
             sel(x < fc(-kErfSmall), fc(2) - tail,
                 sel(x < fc(kErfcMid), one() - small.value, sel(x < fc(kErfcNear), middle, far))));
}

V exp_neg_square_impl(const V &u) {
  const V a = min_c(c::fabs_(u), kErfcMax);
  const Reduced red = reduce_neg_square(exact_square(a));
  return sel(c::is_nan(u), u, scale(one() + expm1_reduced(red.r), red.k));
}

/// sqrt without libm: an integer first guess of 1/sqrt, three Newton steps, then one step on
/// the exact residual (x - y² by Veltkamp's split), which leaves y within an ulp.
V sqrt_impl(const V &x) {
  // Tiny and huge arguments are scaled by 2^±100 first: r·r would underflow (x > 2^100) or
  // overflow (subnormal x) in the Newton steps.
  const V sub = x < fc(std::ldexp(1.0, -100));
  const V big = x > fc(std::ldexp(1.0, 100));
  const V xs = sel(sub, x * fc(std::ldexp(1.0, 100)), sel(big, x * fc(std::ldexp(1.0, -100)), x));
  V r = c::from_bits(uc(0x5f3759dfu) - c::shr(c::bits(xs), 1));
  for (int i = 0; i < 3; ++i)
    r = r * (fc(1.5) - (fc(0.5) * xs) * (r * r));
  const V y = xs * r;
  const Square sq = exact_square(y);
  const V resid = (xs - sq.hi) - sq.lo;
  const V yc = y + resid * (fc(0.5) * r);
  const V result =
      sel(sub, yc * fc(std::ldexp(1.0, -50)), sel(big, yc * fc(std::ldexp(1.0, 50)), yc));
  return sel(x == zero() || x == c::inf_f(), x, sel(x > zero(), result, c::nan_f()));
}

// ---- The helpers: one static function per primitive variant ---------------------------------

V helper(const std::string &name, const std::vector<V> &args,
         const std::function<V(const std::vector<V> &)> &body) {
  std::vector<Ty> params(args.size(), Ty::F);
  return c::current().module->call(name, args, params, Ty::F, body);
}

/// lo where u is finite, else 0 (an overflowed TwoSum/TwoProduct leaves NaN there).
V safe_low(const V &u, const V &lo) { return sel(c::fabs_(u) < c::inf_f(), lo, zero()); }

/// A primitive p(u + lo) called as a helper: af_<name>[_lo][_scaled](u[, lo]).
V call_arg(const std::string &name, const V &u, const OptV &lo, bool scaled,
           V (*impl)(const Arg &)) {
  const std::string full = "af_" + name + (lo ? "_lo" : "") + (scaled ? "_scaled" : "");
  if (!lo)
    return helper(full, {u}, [&](const std::vector<V> &p) {
      return impl({p[0], std::nullopt, scaled});
    });
  return helper(full, {u, *lo}, [&](const std::vector<V> &p) {
    return impl({p[0], safe_low(p[0], p[1]), scaled});
  });
}
V call1(const std::string &name, const V &u, V (*impl)(const V &)) {
  return helper("af_" + name, {u}, [&](const std::vector<V> &p) { return impl(p[0]); });
}

V max_nan(const V &a, const V &b) {
  return helper("af_max", {a, b}, [](const std::vector<V> &p) {
    return sel((p[0] > p[1]) || c::is_nan(p[0]), p[0], p[1]);
  });
}
V min_nan(const V &a, const V &b) {
  return helper("af_min", {a, b}, [](const std::vector<V> &p) {
    return sel((p[0] < p[1]) || c::is_nan(p[0]), p[0], p[1]);
  });
}
V mul_zero_wins(const V &a, const V &b) {
  return helper("af_mul_zero_wins", {a, b}, [](const std::vector<V> &p) {
    return sel((p[0] == zero()) && c::is_inf(p[1]), zero(), p[0] * p[1]);
  });
}

// ---- Double words (primitives.cpp's dw_*, without fma) --------------------------------------

struct DoubleWord {
  V hi;
  OptV lo;
  std::optional<long double> value; // a constant's value (for the power-of-two shortcut)
};

bool is_power_of_two(const DoubleWord &d) {
  if (!d.value || d.lo) return false;
  const float v = static_cast<float>(*d.value);
  if (v == 0 || !std::isfinite(v)) return false;
  int e = 0;
  return std::abs(std::frexp(v, &e)) == 0.5f;
}

DoubleWord dw_constant(long double v) {
  const long double hi = static_cast<long double>(static_cast<float>(v));
  const long double lo = v - hi;
  if (lo == 0 || !std::isfinite(hi)) return {fc(hi), std::nullopt, v};
  return {fc(hi), fc(lo), std::nullopt};
}

DoubleWord dw_mul(const DoubleWord &a, const DoubleWord &b) {
  if (is_power_of_two(b) && !is_power_of_two(a)) return dw_mul(b, a);
  if (is_power_of_two(a)) return {a.hi * b.hi, b.lo ? OptV(a.hi * *b.lo) : std::nullopt, {}};
  // Dekker's TwoProduct: a_hi b_hi = p + e exactly (Veltkamp's halves multiply exactly), the
  // cross terms added to e. Past 2^100 the split overflows: e is dropped (it is then far below
  // an ulp of anything the primitives make of p).
  const V p = a.hi * b.hi;
  const auto [ah, al] = split(a.hi);
  const auto [bh, bl] = split(b.hi);
  V e = (((ah * bh - p) + ah * bl) + al * bh) + al * bl;
  if (b.lo) e = e + a.hi * *b.lo;
  if (a.lo) e = e + *a.lo * b.hi;
  e = sel(c::fabs_(p) < fc(std::ldexp(1.0, 100)), e, zero());
  return {p, e, {}};
}

DoubleWord dw_add(const DoubleWord &a, const DoubleWord &b) {
  const V s = a.hi + b.hi;
  const V bb = s - a.hi;
  V lo = (a.hi - (s - bb)) + (b.hi - bb);
  if (a.lo) lo = lo + *a.lo;
  if (b.lo) lo = lo + *b.lo;
  const V l = safe_low(s, lo);
  const V hi = s + l;
  return {hi, l - (hi - s), {}};
}

DoubleWord dw_neg(const DoubleWord &a) {
  return {-a.hi, a.lo ? OptV(-*a.lo) : std::nullopt,
          a.value ? std::optional<long double>(-*a.value) : std::nullopt};
}

// ---- IR to C (lower.cpp) ------------------------------------------------------------------------

using guards::Growth;

struct Scaled {
  V value;
  V unscale;
};

class Lower {
public:
  Lower(std::vector<V> inputs, const std::map<std::string, V> &params)
      : inputs_(std::move(inputs)), params_(params) {}

  V operator()(ir::Expr e) {
    if (auto it = memo_.find(e); it != memo_.end()) return it->second;
    V r = rule(e);
    memo_.emplace(e, r);
    return r;
  }

private:
  std::optional<DoubleWord> double_word(ir::Expr e) {
    if (auto it = dw_memo_.find(e); it != dw_memo_.end()) return it->second;
    std::optional<DoubleWord> r = double_word_rule(e);
    dw_memo_.emplace(e, r);
    return r;
  }

  std::optional<DoubleWord> double_word_rule(ir::Expr e) {
    using ir::Kind;
    auto child = [&](int i) { return double_word(e.child(i)); };
    switch (e.kind()) {
    case Kind::Const: return dw_constant(e.value());
    case Kind::Input:
    case Kind::Param: return DoubleWord{(*this)(e), std::nullopt, std::nullopt};
    case Kind::Neg: {
      const auto a = child(0);
      if (!a) return std::nullopt;
      return dw_neg(*a);
    }
    case Kind::Add:
    case Kind::Sub:
    case Kind::Mul: {
      const auto a = child(0);
      auto b = a ? child(1) : std::nullopt;
      if (!b) return std::nullopt;
      if (e.kind() == Kind::Mul) return dw_mul(*a, *b);
      if (e.kind() == Kind::Sub) *b = dw_neg(*b);
      return dw_add(*a, *b);
    }
    case Kind::Pow: {
      const int n = e.exponent();
      const auto u = child(0);
      if (!u || n < 1 || n > 8) return std::nullopt;
      DoubleWord r = *u;
      for (int k = 1; k < n; ++k)
        r = dw_mul(r, *u);
      return r;
    }
    default: return std::nullopt;
    }
  }

  DoubleWord argument(ir::Expr u) {
    if (auto d = double_word(u); d && d->lo) return *d;
    return {(*this)(u), std::nullopt, std::nullopt};
  }
  bool has_low_part(ir::Expr u) {
    const auto d = double_word(u);
    return d && d->lo;
  }

  Scaled sigmoid_scaled(const DoubleWord &u) {
    return {call_arg("sigmoid", u.hi, u.lo, true, sigmoid_impl),
            sel(u.hi < fc(kTailExpBelow), fc(std::ldexp(1.0, -kTailScale)), one())};
  }
  Scaled erfc_scaled(const DoubleWord &u) {
    return {call_arg("erfc", u.hi, u.lo, true, erfc_impl),
            sel(u.hi > fc(kTailErfcAbove), fc(std::ldexp(1.0, -kTailScale)), one())};
  }
  Scaled tanh_softplus_scaled(const DoubleWord &u) {
    return {call_arg("tanh_softplus", u.hi, u.lo, true, tanh_softplus_scaled_impl),
            sel(u.hi < fc(kTailExpBelow), fc(std::ldexp(1.0, -kTailScale)), one())};
  }

  std::optional<V> scaled_product(ir::Expr a, ir::Expr b) {
    using ir::Kind;
    const bool scalable = b.kind() == Kind::Sigmoid || b.kind() == Kind::Erfc ||
                          (b.kind() == Kind::Tanh && b.child(0).kind() == Kind::Softplus);
    if (!scalable || !growth(a).varies || growth(a).saturates || !double_word(a))
      return std::nullopt;
    Scaled s;
    if (b.kind() == Kind::Sigmoid)
      s = sigmoid_scaled(argument(b.child(0)));
    else if (b.kind() == Kind::Erfc)
      s = erfc_scaled(argument(b.child(0)));
    else
      s = tanh_softplus_scaled(argument(b.child(0).child(0)));
    const V factor = (*this)(a);
    const V ap = growth(a).overflows ? mul_zero_wins(s.value, factor) : factor * s.value;
    return ap * s.unscale;
  }

  V power(const V &u, int n) {
    if (n < 0) return power(one() / u, -n);
    V result = one(), base = u;
    bool first = true;
    for (; n > 0; n >>= 1) {
      if (n & 1) {
        result = first ? base : result * base;
        first = false;
      }
      if (n > 1) base = base * base;
    }
    return result;
  }

  Growth growth(ir::Expr e) { return growth_(e); }

  V product(ir::Expr a, ir::Expr b) {
    if (auto r = scaled_product(a, b)) return *r;
    if (auto r = scaled_product(b, a)) return *r;
    const Growth ga = growth(a), gb = growth(b);
    if (ga.saturates && !gb.saturates && gb.overflows) return mul_zero_wins((*this)(a), (*this)(b));
    if (gb.saturates && !ga.saturates && ga.overflows) return mul_zero_wins((*this)(b), (*this)(a));
    return (*this)(a) * (*this)(b);
  }

  std::optional<V> plus_invariant(ir::Expr a, ir::Expr cst, bool negate_a, bool negate_c) {
    if (growth(cst).varies || !growth(a).varies) return std::nullopt;
    auto d = double_word(cst);
    if (!d || !d->lo) return std::nullopt;
    if (negate_c) *d = dw_neg(*d);
    const V va = negate_a ? -(*this)(a) : (*this)(a);
    return (va + d->hi) + *d->lo;
  }

  static std::optional<std::pair<long double, ir::Expr>> scaled(ir::Expr u) {
    long double sign = 1;
    auto strip = [&](ir::Expr v) {
      for (; v.kind() == ir::Kind::Neg; v = v.child(0))
        sign = -sign;
      return v;
    };
    u = strip(u);
    if (u.kind() != ir::Kind::Mul) return std::nullopt;
    ir::Expr cc = u.child(0), v = u.child(1);
    if (v.is_const()) std::swap(cc, v);
    if (!cc.is_const()) return std::nullopt;
    v = strip(v);
    return std::make_pair(sign * cc.value(), v);
  }

  V exp_neg_square_of(ir::Expr u) {
    if (auto cv = scaled(u)) {
      const V v = (*this)(cv->second) * fc(std::sqrt(static_cast<double>(cv->first * cv->first)));
      return call1("exp_neg_square", v, exp_neg_square_impl);
    }
    return call1("exp_neg_square", (*this)(u), exp_neg_square_impl);
  }

  V primitive(ir::Expr u, const std::string &name, V (*impl)(const Arg &)) {
    if (has_low_part(u)) {
      const DoubleWord d = argument(u);
      return call_arg(name, d.hi, d.lo, false, impl);
    }
    return call_arg(name, (*this)(u), std::nullopt, false, impl);
  }

  V rule(ir::Expr e) {
    using ir::Kind;
    auto a = [&] { return (*this)(e.child(0)); };
    auto b = [&] { return (*this)(e.child(1)); };
    switch (e.kind()) {
    case Kind::Const: return fc(e.value());
    case Kind::Input:
      if (static_cast<std::size_t>(e.input_index()) >= inputs_.size())
        throw Error("the kernel has no input " + std::string(ir::input_name(e.input_index())));
      return inputs_[static_cast<std::size_t>(e.input_index())];
    case Kind::Param:
      if (auto it = params_.find(e.param_name()); it != params_.end()) return it->second;
      throw Error("actforge::codegen::hls::lower_float: parameter '" + e.param_name() +
                  "' must be replaced by a constant first (ir::substitute)");
    case Kind::Add:
      if (auto r = plus_invariant(e.child(0), e.child(1), false, false)) return *r;
      if (auto r = plus_invariant(e.child(1), e.child(0), false, false)) return *r;
      return a() + b();
    case Kind::Sub:
      if (e.child(1).kind() == Kind::Tanh && e.child(1).child(0) == e.child(0))
        return call1("x_minus_tanh", a(), x_minus_tanh_impl);
      if (auto r = plus_invariant(e.child(0), e.child(1), false, true)) return *r;
      if (auto r = plus_invariant(e.child(1), e.child(0), true, false)) return *r;
      return a() - b();
    case Kind::Mul: return product(e.child(0), e.child(1));
    case Kind::Div: return a() / b();
    case Kind::Neg: return -a();
    case Kind::Exp:
      if (e.child(0).kind() == Kind::Neg && e.child(0).child(0).kind() == Kind::Mul &&
          e.child(0).child(0).child(0) == e.child(0).child(0).child(1))
        return exp_neg_square_of(e.child(0).child(0).child(0));
      return primitive(e.child(0), "exp", exp_impl);
    case Kind::Expm1:
      return helper("af_expm1", {a()},
                    [](const std::vector<V> &p) { return expm1_lo(p[0], std::nullopt); });
    case Kind::Log: return call1("log", a(), log_impl);
    case Kind::Log1p: return call1("log1p", a(), log1p_impl);
    case Kind::Sqrt: return call1("sqrt", a(), sqrt_impl);
    case Kind::Rsqrt: return one() / call1("sqrt", a(), sqrt_impl);
    case Kind::Abs: return c::fabs_(a());
    case Kind::Pow: return power(a(), e.exponent());
    case Kind::Min: return min_nan(a(), b());
    case Kind::Max: return max_nan(a(), b());
    case Kind::Select: return sel(a(), b(), (*this)(e.child(2)));
    case Kind::Gt: return a() > b();
    case Kind::Ge: return a() >= b();
    case Kind::Lt: return a() < b();
    case Kind::Le: return a() <= b();
    case Kind::Eq: return a() == b();
    case Kind::Ne: return a() != b();
    case Kind::Sigmoid: return primitive(e.child(0), "sigmoid", sigmoid_impl);
    case Kind::Tanh: return primitive(e.child(0), "tanh", tanh_impl);
    case Kind::Erf: return call1("erf", a(), erf_impl);
    case Kind::Erfc: return primitive(e.child(0), "erfc", erfc_impl);
    case Kind::Softplus: return primitive(e.child(0), "softplus", softplus_impl);
    }
    throw Error("internal error: no HLS lowering for '" + std::string(ir::spelling(e.kind())) +
                "'");
  }

  std::vector<V> inputs_;
  std::map<std::string, V> params_;
  std::unordered_map<ir::Expr, V, ir::ExprHash> memo_;
  guards::GrowthAnalysis growth_;
  std::unordered_map<ir::Expr, std::optional<DoubleWord>, ir::ExprHash> dw_memo_;
};

// ---- Roles (pipeline.cpp's forward()/backward()) ------------------------------------------------

/// The infinity guard: inputs at ±inf evaluated at ±2^40 or ±2^80 (guards::stand_in_exponent, as
/// pipeline.cpp), results read back by limit().
struct Guard {
  bool active = false;
  V any_inf;
  std::vector<V> clamped;

  V limit(const V &v) const {
    if (!active) return v;
    const V a = c::fabs_(v);
    return sel(c::is_nan(v), v,
               sel(any_inf && (a >= fc(std::ldexp(1.0, 30))), c::copysign_(c::inf_f(), v),
                   sel(any_inf && (a <= fc(std::ldexp(1.0, -60))), v * zero(), v)));
  }
};

Guard infinity_guard(const std::vector<V> &inputs, const std::vector<ir::Expr> &exprs) {
  const int n = static_cast<int>(inputs.size());
  bool active = false;
  for (const auto &e : exprs)
    active = active || !guards::exact_at_infinity(e, n, 32);
  Guard g;
  g.active = active;
  if (!active) {
    g.clamped = inputs;
    return g;
  }
  for (int k = 0; k < n; ++k) {
    const V &in = inputs[static_cast<std::size_t>(k)];
    const V inf = c::is_inf(in);
    const double stand_in = std::ldexp(1.0, guards::stand_in_exponent(exprs, k, 32));
    g.any_inf = k == 0 ? inf : g.any_inf || inf;
    g.clamped.push_back(sel(inf, c::copysign_(fc(stand_in), in), in));
  }
  return g;
}

/// v, or NaN where an input that e does not carry to its value by itself is NaN.
V with_nan_test(const std::vector<V> &inputs, ir::Expr e, const V &v) {
  OptV test;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (guards::carries_nan(e, static_cast<int>(k))) continue;
    const V t = c::is_nan(inputs[k]);
    test = test ? *test || t : t;
  }
  return test ? sel(*test, c::nan_f(), v) : v;
}

} // namespace

std::vector<V> lower_values(const std::vector<V> &inputs, const std::map<std::string, V> &params,
                            const std::vector<ir::Expr> &exprs, const OptV &dy) {
  const Guard guard = infinity_guard(inputs, exprs);
  Lower lower(guard.clamped, params);
  std::vector<V> out;
  for (const auto &e : exprs) {
    const V v = guard.limit(lower(e));
    // dy·e is NaN where dy is: only the inputs need a test.
    out.push_back(with_nan_test(inputs, e, dy ? *dy * v : v));
  }
  return out;
}

FloatCode lower_float(ir::Expr f, Role role, bool dx_only) {
  if (!f.defined()) throw Error("actforge::codegen::hls::lower_float needs an expression");
  if (role != Role::Forward && role != Role::Backward)
    throw Error(
        "actforge::codegen::hls::lower_float computes the forward and backward roles, not " +
        std::string(to_string(role)));
  if (f.is_condition())
    throw Error("actforge::codegen::hls::lower_float: a comparison is not an activation");
  const auto params = ir::collect_params(f);
  if (!params.empty())
    throw Error("actforge::codegen::hls::lower_float: parameter '" + params.front().name +
                "' must be replaced by a constant first (ir::substitute)");
  const int n = std::max(1, ir::count_inputs(f));
  if (n > 2)
    throw Error("actforge::codegen::hls::lower_float: at most two inputs (x, g), not " +
                std::to_string(n));

  c::Module module;
  c::Body body("t");
  std::vector<V> outputs;
  {
    c::Scope scope(body, module);
    std::vector<V> inputs{V{"xv", Ty::F}};
    if (n > 1) inputs.push_back(V{"gv", Ty::F});
    if (role == Role::Forward) {
      outputs = lower_values(inputs, {}, {f}, std::nullopt);
    } else {
      std::vector<ir::Expr> derivatives;
      for (int k = 0; k < (dx_only ? 1 : n); ++k)
        derivatives.push_back(ir::differentiate(f, ir::input(k)));
      outputs = lower_values(inputs, {}, derivatives, V{"dyv", Ty::F});
    }
  }
  std::vector<std::string> roots;
  for (const auto &o : outputs)
    roots.push_back(o.s);
  const c::Body::Finished fin = body.finish(roots);
  std::vector<std::string> code_text = fin.lines;
  code_text.insert(code_text.end(), roots.begin(), roots.end());
  FloatCode code;
  code.helpers = module.text(code_text);
  code.statements = fin.lines;
  code.outputs = roots;
  code.ops = fin.ops;
  return code;
}

} // namespace actforge::codegen::hls
