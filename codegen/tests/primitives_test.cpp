// Accuracy, special values and vectorised lowering of the Halide primitive builders.
#include "actforge/codegen/halide/primitives.hpp"
#include "actforge/dsl/scalar.hpp"
#include "actforge/error.hpp"

#include <Halide.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

namespace hp = actforge::codegen::halide;
namespace scalar = actforge::dsl::scalar;

using Builder = Halide::Expr (*)(const Halide::Expr &);
using Reference = long double (*)(long double);

/// e^(-x²) with x² carried as hi + lo (fmal is exact), so the reference does not need more than
/// long double's 64 bits even for f64 inputs, whose square has 106.
long double exp_neg_square_reference(long double x) {
  const long double hi = x * x;
  if (hi > 1e5L) return 0; // also keeps exp(-lo) finite
  const long double lo = std::fmal(x, x, -hi);
  return std::exp(-hi) * std::exp(-lo);
}

/// One row per unary primitive: the builder, its long-double reference (dsl/scalar.hpp) and the
/// largest error allowed, in ulp: the count of representable values between the result and the
/// reference rounded to the type. The bounds are the measured maxima (spec target: 2 ulp).
struct Primitive {
  const char *name;
  Builder build;
  Reference reference;
  std::uint64_t max_ulp_f32;
  std::uint64_t max_ulp_f64;
};

// The results are bit-identical on every target (strict IEEE operations only), so the bounds can
// be the maxima measured on larger sweeps than this test's: every 16th f32 and 8.4M f64 values.
constexpr std::uint64_t kExpUlpF32 = 1, kExpUlpF64 = 1;
constexpr std::uint64_t kExpm1UlpF32 = 1, kExpm1UlpF64 = 1;
constexpr std::uint64_t kLogUlpF32 = 1, kLogUlpF64 = 1;
constexpr std::uint64_t kLog1pUlpF32 = 1, kLog1pUlpF64 = 1;
constexpr std::uint64_t kSigmoidUlpF32 = 2, kSigmoidUlpF64 = 2;
constexpr std::uint64_t kTanhUlpF32 = 1, kTanhUlpF64 = 1;
constexpr std::uint64_t kSoftplusUlpF32 = 2, kSoftplusUlpF64 = 2;
constexpr std::uint64_t kErfUlpF32 = 1, kErfUlpF64 = 1;
constexpr std::uint64_t kErfcUlpF32 = 2, kErfcUlpF64 = 2;
constexpr std::uint64_t kExpNegSquareUlpF32 = 1, kExpNegSquareUlpF64 = 1;
constexpr std::uint64_t kXMinusTanhUlpF32 = 3, kXMinusTanhUlpF64 = 3;

const Primitive kPrimitives[] = {
    {"exp", hp::exp, scalar::exp<long double>, kExpUlpF32, kExpUlpF64},
    {"expm1", hp::expm1, scalar::expm1<long double>, kExpm1UlpF32, kExpm1UlpF64},
    {"log", hp::log, scalar::log<long double>, kLogUlpF32, kLogUlpF64},
    {"log1p", hp::log1p, scalar::log1p<long double>, kLog1pUlpF32, kLog1pUlpF64},
    {"sigmoid", hp::sigmoid, scalar::sigmoid<long double>, kSigmoidUlpF32, kSigmoidUlpF64},
    {"tanh", hp::tanh, scalar::tanh<long double>, kTanhUlpF32, kTanhUlpF64},
    {"softplus", hp::softplus, scalar::softplus<long double>, kSoftplusUlpF32, kSoftplusUlpF64},
    {"erf", hp::erf, scalar::erf<long double>, kErfUlpF32, kErfUlpF64},
    {"erfc", hp::erfc, scalar::erfc<long double>, kErfcUlpF32, kErfcUlpF64},
    {"exp_neg_square", hp::exp_neg_square, exp_neg_square_reference, kExpNegSquareUlpF32,
     kExpNegSquareUlpF64},
    {"x_minus_tanh", hp::x_minus_tanh, scalar::x_minus_tanh<long double>, kXMinusTanhUlpF32,
     kXMinusTanhUlpF64},
};

std::string &jit_errors() {
  static std::string errors;
  return errors;
}
void record_jit_error(Halide::JITUserContext *, const char *msg) { jit_errors() += msg; }

// One 256-bit vector: 8 floats or 4 doubles.
template <class T> constexpr int kLanes = static_cast<int>(32 / sizeof(T));

/// One JIT-compiled, vectorised pipeline out(i) = body(in_0(i), ..., in_n(i)), reused for every
/// chunk of input: a compile costs far more than a million evaluations.
template <class T> class Kernel {
public:
  Kernel(const std::function<Halide::Expr(const std::vector<Halide::Expr> &)> &body, int arity) {
    std::vector<Halide::Expr> args;
    for (int a = 0; a < arity; ++a) {
      params_.emplace_back(Halide::type_of<T>(), 1, "in" + std::to_string(a));
      args.push_back(params_.back()(i_));
    }
    out_(i_) = body(args);
    // GuardWithIf: the input sizes are not multiples of the vector width.
    out_.vectorize(i_, kLanes<T>, Halide::TailStrategy::GuardWithIf);
    out_.compile_jit();
    context_.handlers.custom_error = record_jit_error;
  }

  std::vector<T> operator()(const std::vector<std::vector<T>> &inputs) {
    const int n = static_cast<int>(inputs.at(0).size());
    for (std::size_t a = 0; a < params_.size(); ++a) {
      params_[a].set(Halide::Buffer<T>(const_cast<T *>(inputs[a].data()), n));
    }
    std::vector<T> result(n);
    jit_errors().clear();
    Halide::Buffer<T> output(result.data(), n);
    out_.realize(&context_, output);
    if (!jit_errors().empty()) throw std::runtime_error("Halide runtime error: " + jit_errors());
    return result;
  }

private:
  Halide::Var i_{"i"};
  Halide::Func out_{"out"};
  std::vector<Halide::ImageParam> params_;
  Halide::JITUserContext context_;
};

template <class T> struct Bits;
template <> struct Bits<float> { using type = std::uint32_t; };
template <> struct Bits<double> { using type = std::uint64_t; };

constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

/// Representable values between a and b (0 when equal, ±0 equal); NaN matches only NaN and an
/// infinity only itself (FLT_MAX is one step from inf, but a finite answer for an infinite one
/// is wrong, not inaccurate).
template <class T> std::uint64_t ulp_distance(T a, T b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : kNever;
  if (std::isinf(a) || std::isinf(b)) return a == b ? 0 : kNever;
  using U = typename Bits<T>::type;
  constexpr U sign = U{1} << (8 * sizeof(T) - 1);
  const U ua = std::bit_cast<U>(a);
  const U ub = std::bit_cast<U>(b);
  const std::uint64_t ma = ua & ~sign;
  const std::uint64_t mb = ub & ~sign;
  if ((ua & sign) != (ub & sign)) return ma + mb;
  return ma > mb ? ma - mb : mb - ma;
}

/// Every `stride`-th f32 bit pattern from `first`, once as is and once with pseudo-random low
/// bits: the plain patterns end in 12 zero bits, which makes x·x and the Veltkamp split exact
/// and would hide exactly the errors exp_neg_square exists to avoid.
std::vector<float> f32_patterns(std::uint64_t first, std::uint64_t count, std::uint64_t stride) {
  std::vector<float> xs;
  xs.reserve(2 * count);
  for (std::uint64_t k = first; k < first + count; ++k) {
    const auto plain = static_cast<std::uint32_t>(k * stride);
    xs.push_back(std::bit_cast<float>(plain));
    if (stride > 1) {
      const auto jitter = static_cast<std::uint32_t>(((k * 0x9E3779B97F4A7C15ull) >> 40) % stride);
      xs.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(plain + jitter)));
    }
  }
  return xs;
}

template <class T> std::vector<T> special_values() {
  using L = std::numeric_limits<T>;
  std::vector<T> base = {0,
                         L::denorm_min(),
                         L::min(),
                         L::max(),
                         L::infinity(),
                         88,
                         20,
                         T(1e-7),
                         1,
                         0.5,
                         0.25,
                         0.84375,
                         2.53125,
                         T(0.2554128118829953),
                         T(0.5493061443340549),
                         T(0.41421356237309503),
                         T(0.29289321881345248),
                         T(0.34657359027997264),
                         T(88.72283935546875),
                         T(103.97),
                         T(709.782712893384),
                         T(745.1332191019411),
                         T(9.194),
                         T(10.05),
                         T(26.55),
                         T(27.25)};
  std::vector<T> xs;
  for (T v : base) {
    xs.push_back(v);
    xs.push_back(-v);
    xs.push_back(std::nextafter(v, T(0)));
    xs.push_back(-std::nextafter(v, L::infinity()));
  }
  xs.push_back(L::quiet_NaN());
  return xs;
}

/// A few hundred thousand f64 values: log-uniform over ±[1e-300, 1e300] as asked, plus denser
/// sets where the primitives change (|x| < 40, and ±[2^-40, 2^10]), which the wide sweep visits
/// only a few hundred times.
std::vector<double> f64_inputs() {
  std::mt19937_64 rng(0x5EED);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> xs = special_values<double>();
  auto log_uniform = [&](double lo, double hi) {
    return std::exp(std::log(lo) + unit(rng) * (std::log(hi) - std::log(lo)));
  };
  for (int k = 0; k < (1 << 17); ++k)
    xs.push_back((k & 1 ? -1 : 1) * log_uniform(1e-300, 1e300));
  for (int k = 0; k < (1 << 17); ++k)
    xs.push_back(-40 + 80 * unit(rng));
  for (int k = 0; k < (1 << 16); ++k)
    xs.push_back((k & 1 ? -1 : 1) * log_uniform(std::ldexp(1.0, -40), 1024));
  return xs;
}

std::uint64_t f32_stride() {
  // ACTFORGE_F32_STRIDE=1 sweeps all 2^32 floats: about ten minutes per primitive on one core.
  const char *env = std::getenv("ACTFORGE_F32_STRIDE");
  const std::uint64_t stride = env ? std::strtoull(env, nullptr, 10) : 4096;
  return stride == 0 ? 4096 : stride;
}

/// The largest error seen, where, and the exactness faults an ulp bound would let through: a
/// limit at ±inf off by an ulp, or a zero of the wrong sign.
template <class T> struct Measure {
  std::uint64_t max_ulp = 0;
  T worst_input = 0, worst_result = 0, worst_expected = 0;
  std::vector<T> inexact_limits, wrong_sign_zeros;

  void add(const std::vector<T> &xs, const std::vector<T> &got, Reference reference) {
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const T expected = static_cast<T>(reference(static_cast<long double>(xs[i])));
      const std::uint64_t d = ulp_distance(got[i], expected);
      if (d > max_ulp) {
        max_ulp = d;
        worst_input = xs[i];
        worst_result = got[i];
        worst_expected = expected;
      }
      if (std::isinf(xs[i]) && d != 0) inexact_limits.push_back(xs[i]);
      if (expected == 0 && got[i] == 0 && std::signbit(expected) != std::signbit(got[i])) {
        wrong_sign_zeros.push_back(xs[i]);
      }
    }
  }
};

template <class T> std::string listed(const std::vector<T> &xs) {
  std::ostringstream out;
  for (T x : xs)
    out << x << " ";
  return out.str();
}

template <class T> std::string describe(const char *name, const Measure<T> &m) {
  std::ostringstream out;
  out.precision(std::numeric_limits<T>::max_digits10);
  out << name << (sizeof(T) == 4 ? " f32" : " f64") << ": max ";
  if (m.max_ulp == kNever) {
    out << "NaN/inf mismatch";
  } else {
    out << m.max_ulp << " ulp";
  }
  if (m.max_ulp == 0) return out.str();
  out << " at x = " << m.worst_input << " (got " << m.worst_result << ", want " << m.worst_expected
      << ")";
  return out.str();
}

void PrintTo(const Primitive &p, std::ostream *out) { *out << p.name; }

class Accuracy : public ::testing::TestWithParam<Primitive> {};

TEST_P(Accuracy, F32WithinBoundOverTheFloatRange) {
  const Primitive &p = GetParam();
  Kernel<float> kernel([&](const std::vector<Halide::Expr> &a) { return p.build(a[0]); }, 1);
  Measure<float> m;
  const std::vector<float> specials = special_values<float>();
  m.add(specials, kernel({specials}), p.reference);
  const std::uint64_t stride = f32_stride();
  const std::uint64_t total = (std::uint64_t{1} << 32) / stride;
  const std::uint64_t chunk = std::uint64_t{1} << 22;
  for (std::uint64_t first = 0; first < total; first += chunk) {
    const std::vector<float> xs = f32_patterns(first, std::min(chunk, total - first), stride);
    m.add(xs, kernel({xs}), p.reference);
  }
  std::printf("%s\n", describe(p.name, m).c_str());
  EXPECT_LE(m.max_ulp, p.max_ulp_f32) << describe(p.name, m);
  EXPECT_TRUE(m.inexact_limits.empty()) << "inexact at x = " << listed(m.inexact_limits);
  EXPECT_TRUE(m.wrong_sign_zeros.empty()) << "wrong sign at x = " << listed(m.wrong_sign_zeros);
}

TEST_P(Accuracy, F64WithinBoundOnASample) {
  const Primitive &p = GetParam();
  Kernel<double> kernel([&](const std::vector<Halide::Expr> &a) { return p.build(a[0]); }, 1);
  const std::vector<double> xs = f64_inputs();
  Measure<double> m;
  m.add(xs, kernel({xs}), p.reference);
  std::printf("%s\n", describe(p.name, m).c_str());
  EXPECT_LE(m.max_ulp, p.max_ulp_f64) << describe(p.name, m);
  EXPECT_TRUE(m.inexact_limits.empty()) << "inexact at x = " << listed(m.inexact_limits);
  EXPECT_TRUE(m.wrong_sign_zeros.empty()) << "wrong sign at x = " << listed(m.wrong_sign_zeros);
}

INSTANTIATE_TEST_SUITE_P(Primitives, Accuracy, ::testing::ValuesIn(kPrimitives),
                         [](const auto &row) { return std::string(row.param.name); });

/// A primitive of a double-word argument (hi + lo) against its reference at hi + lo, in f32: the
/// low part must count as if the argument had twice the precision. `scaled` rows build
/// p(u)·2^S with the factor unscale, and are held to the bound on the scaled value (normal where
/// p(u) is subnormal); `lo_min`, `lo_max` bound the sampled argument.
struct DoubleWordRow {
  const char *name;
  std::function<Halide::Expr(const hp::DoubleWord &)> build;
  std::function<hp::Scaled(const hp::DoubleWord &)> build_scaled;
  Reference reference;
  long double lo_min, lo_max;
  std::uint64_t max_ulp;
};

long double tanh_softplus_reference(long double u) {
  return std::tanh(scalar::softplus<long double>(u));
}

void PrintTo(const DoubleWordRow &r, std::ostream *out) { *out << r.name; }

const DoubleWordRow kDoubleWordRows[] = {
    {"exp", [](const hp::DoubleWord &u) { return hp::exp(u); }, nullptr, scalar::exp<long double>,
     -100, 88, kExpUlpF32},
    {"sigmoid", [](const hp::DoubleWord &u) { return hp::sigmoid(u); }, nullptr,
     scalar::sigmoid<long double>, -100, 30, kSigmoidUlpF32},
    {"tanh", [](const hp::DoubleWord &u) { return hp::tanh(u); }, nullptr,
     scalar::tanh<long double>, -10, 10, kTanhUlpF32},
    {"softplus", [](const hp::DoubleWord &u) { return hp::softplus(u); }, nullptr,
     scalar::softplus<long double>, -100, 100, kSoftplusUlpF32},
    {"erfc", [](const hp::DoubleWord &u) { return hp::erfc(u); }, nullptr,
     scalar::erfc<long double>, -5, 10, kErfcUlpF32},
    {"sigmoid_scaled", nullptr, hp::sigmoid_scaled, scalar::sigmoid<long double>, -109, 30,
     kSigmoidUlpF32},
    {"erfc_scaled", nullptr, hp::erfc_scaled, scalar::erfc<long double>, -5, 10.9L, kErfcUlpF32},
    {"tanh_softplus_scaled", nullptr, hp::tanh_softplus_scaled, tanh_softplus_reference, -109, 20,
     2},
};

class DoubleWordAccuracy : public ::testing::TestWithParam<DoubleWordRow> {};

TEST_P(DoubleWordAccuracy, F32LowPartCounts) {
  const DoubleWordRow &r = GetParam();
  auto value = [&](const std::vector<Halide::Expr> &a) {
    const hp::DoubleWord u{a[0], a[1]};
    return r.build ? r.build(u) : r.build_scaled(u).value;
  };
  Kernel<float> kernel(value, 2);
  std::mt19937_64 rng(0xD0B1E);
  std::uniform_real_distribution<long double> uniform(r.lo_min, r.lo_max);
  std::vector<float> hi, lo;
  for (int k = 0; k < (1 << 18); ++k) {
    const long double v = uniform(rng);
    hi.push_back(static_cast<float>(v));
    lo.push_back(static_cast<float>(v - static_cast<long double>(hi.back())));
  }
  const std::vector<float> got = kernel({hi, lo});
  std::vector<float> unscale(hi.size(), 1.0f);
  if (r.build_scaled) {
    Kernel<float> factor(
        [&](const std::vector<Halide::Expr> &a) {
          return r.build_scaled({a[0], a[1]}).unscale;
        },
        2);
    unscale = factor({hi, lo});
  }
  std::uint64_t worst = 0;
  long double worst_at = 0;
  int low_part_matters = 0;
  for (std::size_t i = 0; i < hi.size(); ++i) {
    const long double u = static_cast<long double>(hi[i]) + lo[i];
    const auto want = static_cast<float>(r.reference(u) / unscale[i]);
    const std::uint64_t d = ulp_distance(got[i], want);
    low_part_matters += static_cast<float>(r.reference(hi[i]) / unscale[i]) != want;
    if (d > worst) {
      worst = d;
      worst_at = u;
    }
  }
  std::printf("%s f32 double-word: max %llu ulp at %Lg\n", r.name,
              static_cast<unsigned long long>(worst), worst_at);
  EXPECT_LE(worst, r.max_ulp) << r.name << " at " << worst_at;
  // The sample must exercise the low part: p(hi) alone is off by an ulp or more often.
  EXPECT_GT(low_part_matters, 1000) << r.name;
}

INSTANTIATE_TEST_SUITE_P(Primitives, DoubleWordAccuracy, ::testing::ValuesIn(kDoubleWordRows),
                         [](const auto &row) { return std::string(row.param.name); });

TEST(DoubleWordArithmetic, ProductAndSumAreExactToTwiceThePrecision) {
  // hi + lo of x·c (c = 1/√2 split from long double) and of x + c·x³ against long double.
  const long double c = 0.707106781186547524400844362104849039L;
  auto body = [&](const std::vector<Halide::Expr> &a, bool want_lo, bool cubic) {
    std::vector<std::pair<std::string, Halide::Expr>> lets;
    const hp::Bind bind = [&](const Halide::Expr &v) {
      const std::string name = Halide::Internal::unique_name("t");
      lets.emplace_back(name, v);
      return Halide::Internal::Variable::make(v.type(), name);
    };
    const hp::DoubleWord x{a[0], Halide::Expr()};
    hp::DoubleWord r = hp::dw_mul(hp::dw_constant(Halide::Float(32), c), x, bind);
    if (cubic) r = hp::dw_add(x, hp::dw_mul(r, hp::dw_mul(x, x, bind), bind), bind);
    Halide::Expr e = want_lo ? r.lo : r.hi;
    for (auto it = lets.rbegin(); it != lets.rend(); ++it)
      e = Halide::Internal::Let::make(it->first, it->second, e);
    return e;
  };
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> uniform(-30.0f, 30.0f);
  std::vector<float> xs;
  for (int k = 0; k < 4096; ++k)
    xs.push_back(uniform(rng));
  for (bool cubic : {false, true}) {
    Kernel<float> hi([&](const auto &a) { return body(a, false, cubic); }, 1);
    Kernel<float> lo([&](const auto &a) { return body(a, true, cubic); }, 1);
    const std::vector<float> h = hi({xs}), l = lo({xs});
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const long double x = xs[i];
      const long double want = cubic ? x + c * x * (x * x) : c * x;
      const long double got = static_cast<long double>(h[i]) + l[i];
      EXPECT_LE(std::fabs(got - want), std::fabs(want) * 0x1p-44L) << x << " cubic " << cubic;
    }
  }
}

/// max_nan/min_nan on every pair of special values: exactly dsl::scalar::max/min, NaN included.
template <class T> void check_nan_propagating_extrema() {
  const std::vector<T> specials = special_values<T>();
  std::vector<T> a;
  std::vector<T> b;
  for (T x : specials) {
    for (T y : specials) {
      a.push_back(x);
      b.push_back(y);
    }
  }
  Kernel<T> max_kernel([](const auto &v) { return hp::max_nan(v[0], v[1]); }, 2);
  Kernel<T> min_kernel([](const auto &v) { return hp::min_nan(v[0], v[1]); }, 2);
  const std::vector<T> maxima = max_kernel({a, b});
  const std::vector<T> minima = min_kernel({a, b});
  for (std::size_t i = 0; i < a.size(); ++i) {
    const T want_max = scalar::max(a[i], b[i]);
    const T want_min = scalar::min(a[i], b[i]);
    EXPECT_TRUE(std::isnan(want_max) ? std::isnan(maxima[i])
                                     : std::bit_cast<typename Bits<T>::type>(maxima[i]) ==
                                           std::bit_cast<typename Bits<T>::type>(want_max))
        << "max_nan(" << a[i] << ", " << b[i] << ") = " << maxima[i];
    EXPECT_TRUE(std::isnan(want_min) ? std::isnan(minima[i])
                                     : std::bit_cast<typename Bits<T>::type>(minima[i]) ==
                                           std::bit_cast<typename Bits<T>::type>(want_min))
        << "min_nan(" << a[i] << ", " << b[i] << ") = " << minima[i];
  }
}

TEST(NanPropagatingExtrema, F32MatchesScalarSemantics) { check_nan_propagating_extrema<float>(); }
TEST(NanPropagatingExtrema, F64MatchesScalarSemantics) { check_nan_propagating_extrema<double>(); }

/// The kernel function's body in LLVM assembly, without the runtime the file also holds.
std::string kernel_llvm_ir(Builder build, const std::string &name) {
  Halide::ImageParam in(Halide::Float(32), 1, "in");
  Halide::Var i("i");
  Halide::Func out("out");
  out(i) = build(in(i));
  out.vectorize(i, kLanes<float>, Halide::TailStrategy::GuardWithIf);
  const Halide::Target target = Halide::get_host_target()
                                    .with_feature(Halide::Target::NoRuntime)
                                    .with_feature(Halide::Target::NoAsserts);
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("actforge_primitives_" + name + "_" + std::to_string(::getpid()) + ".ll");
  out.compile_to_llvm_assembly(path.string(), {in}, name, target);
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  std::filesystem::remove(path);
  const std::string all = text.str();
  const std::size_t begin = all.find("define i32 @" + name + "(");
  const std::size_t end = all.find("\n}\n", begin);
  return begin == std::string::npos ? std::string() : all.substr(begin, end - begin);
}

/// What an f32 kernel's IR shows that it should not: calls other than LLVM intrinsics and Halide's
/// error reporting (a libm call per lane), and fast-math flags on arithmetic or comparisons.
struct LoweringFaults {
  std::vector<std::string> callees;
  std::string flagged;
  bool vectorised = false;
};

LoweringFaults lowering_faults(Builder build, const std::string &name) {
  const std::string ir = kernel_llvm_ir(build, name);
  LoweringFaults faults;
  const std::regex call(R"(call [^@]*@([A-Za-z_][\w.]*))");
  for (std::sregex_iterator it(ir.begin(), ir.end(), call), end; it != end; ++it) {
    const std::string callee = (*it)[1];
    if (!callee.starts_with("llvm.") && !callee.starts_with("halide_")) {
      faults.callees.push_back(callee);
    }
  }
  const std::regex fast_math(
      R"(= (fadd|fsub|fmul|fdiv|fneg|fcmp|select) [^=\n]*\b(fast|nnan|ninf|reassoc|contract|afn|arcp)\b)");
  std::smatch flagged;
  if (std::regex_search(ir, flagged, fast_math)) faults.flagged = flagged.str();
  faults.vectorised = ir.find("<8 x float>") != std::string::npos;
  return faults;
}

TEST(Lowering, F32PrimitivesCallNoLibmAndKeepStrictFloat) {
  for (const Primitive &p : kPrimitives) {
    const LoweringFaults faults = lowering_faults(p.build, std::string("prim_") + p.name);
    EXPECT_TRUE(faults.callees.empty()) << p.name << " calls " << faults.callees.front();
    EXPECT_EQ(faults.flagged, "") << p.name << ": fast-math flags survive strict_float";
    EXPECT_TRUE(faults.vectorised) << p.name << ": no 8-wide float operations";
  }
}

TEST(Lowering, CheckSeesWhatHalidesOwnTanhAndExpDo) {
  // The control for the test above: Halide::tanh is a tanhf call per lane, and Halide::exp
  // compiles with fast-math flags.
  const LoweringFaults tanh_faults =
      lowering_faults([](const Halide::Expr &x) { return Halide::tanh(x); }, "control_tanh");
  EXPECT_NE(std::find(tanh_faults.callees.begin(), tanh_faults.callees.end(), "tanhf"),
            tanh_faults.callees.end());
  const LoweringFaults exp_faults =
      lowering_faults([](const Halide::Expr &x) { return Halide::exp(x); }, "control_exp");
  EXPECT_NE(exp_faults.flagged, "");
}

TEST(Errors, NonFloatArgumentIsRejectedWithItsType) {
  try {
    hp::sigmoid(Halide::Expr(3));
    FAIL() << "no exception";
  } catch (const actforge::Error &e) {
    EXPECT_STREQ(
        e.what(),
        "actforge::codegen::halide::sigmoid needs a Float(32) or Float(64) Expr, not int32.");
  }
}

TEST(Errors, UndefinedArgumentIsRejected) {
  try {
    hp::erfc(Halide::Expr());
    FAIL() << "no exception";
  } catch (const actforge::Error &e) {
    EXPECT_STREQ(e.what(), "actforge::codegen::halide::erfc needs a defined Expr.");
  }
}

TEST(Errors, ExtremaOfMixedTypesAreRejected) {
  try {
    hp::max_nan(Halide::Expr(1.0f), Halide::Expr(1.0));
    FAIL() << "no exception";
  } catch (const actforge::Error &e) {
    EXPECT_STREQ(e.what(),
                 "actforge::codegen::halide::max_nan needs two Exprs of one type, not float32 "
                 "and float64.");
  }
}

} // namespace
