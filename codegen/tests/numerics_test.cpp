// Numerics pinned where formulas cancel or overflow: u - tanh(u) (tanhshrink) in the reference and
// in every dtype's kernels, its derivative tanh², and gelu_tanh's f64 derivative at huge x.
#include "actforge/codegen/halide/lower.hpp"
#include "actforge/codegen/halide/pipeline.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/scalar.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/fold.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/jit.hpp"
#include "actforge/runtime/kernel_check.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace actforge {
namespace {

using codegen::DType;
using codegen::Role;

const ir::Expr kX = ir::input(0);

JitOptions options(Role role, DType dtype) {
  JitOptions o;
  o.role = role;
  o.dtype = dtype;
  return o;
}

/// u - tanh(u) from its series, independent of scalar::x_minus_tanh: u³/3 - 2u⁵/15 + 17u⁷/315.
long double tanhshrink_series(long double u) {
  const long double z = u * u;
  return u * z * (1.0L / 3 - z * (2.0L / 15 - z * (17.0L / 315)));
}

TEST(Reference, TanhshrinkIsCubeOverThreeNearZero) {
  const dsl::Entry *e = dsl::find_activation("tanhshrink");
  ASSERT_NE(e, nullptr);
  const ir::Program p(e->expr);
  // Where u⁹ is below 1e-19 of u³ the three terms are the value to long double's precision.
  for (long double x : {1e-7L, -1e-7L, 1e-20L, 3e-4L, -2.5e-4L, 1e-150L, 0x1p-60L}) {
    const long double want = tanhshrink_series(x);
    EXPECT_NEAR(static_cast<double>(p(x) / want), 1.0, 4e-19) << "IR at x=" << x;
    EXPECT_NEAR(static_cast<double>(e->f(x, 0, {}) / want), 1.0, 4e-19) << "eval() at x=" << x;
  }
  EXPECT_EQ(p(0.0L), 0.0L);
  EXPECT_TRUE(std::signbit(p(-0.0L)));
  EXPECT_TRUE(std::isnan(p(NAN)));
}

TEST(Reference, TanhshrinkSeriesMeetsTheDirectFormulaAtTheSwitch) {
  // Either side of |u| = 0.75, where scalar::x_minus_tanh changes formula, the two agree to the
  // long-double rounding of u - tanh(u) (a few ulps of u over the result).
  for (long double u : {0.7499L, 0.75L, -0.7501L, 0.6L, 0.9L}) {
    const long double direct = u - std::tanh(u);
    EXPECT_NEAR(static_cast<double>(dsl::scalar::x_minus_tanh(u) / direct), 1.0, 2e-18) << u;
  }
}

TEST(Derivative, UMinusTanhUIsTanhSquared) {
  const ir::Expr t = ir::make(ir::Kind::Tanh, kX);
  EXPECT_EQ(ir::differentiate(kX - t, kX), ir::fold::pow(t, 2));
  const ir::Expr u = ir::constant(3) * kX;
  const ir::Expr tu = ir::make(ir::Kind::Tanh, u);
  EXPECT_EQ(ir::differentiate(u - tu, kX), ir::fold::mul(ir::fold::pow(tu, 2), ir::constant(3)));
  // Not the pattern: a - tanh(b) keeps the general rule.
  EXPECT_NE(ir::differentiate(u - t, kX), ir::fold::mul(ir::fold::pow(t, 2), ir::constant(3)));
}

TEST(Simplify, ConstantMinusItsDifferenceIsTheOther) {
  const ir::Expr y = ir::make(ir::Kind::Sigmoid, kX);
  const ir::Expr c = ir::constant(1);
  EXPECT_EQ(ir::fold::sub(c, ir::fold::sub(c, y)), y);   // c - (c - y) = y
  EXPECT_EQ(ir::fold::sub(ir::fold::add(c, y), c), y);   // (c + y) - c = y
  EXPECT_EQ(ir::fold::sub(ir::fold::add(kX, y), y), kX); // (x + y) - y = x
}

void store(DType dtype, unsigned char *p, long double v) {
  switch (dtype) {
  case DType::F32: {
    const float f = static_cast<float>(v);
    std::memcpy(p, &f, 4);
    break;
  }
  case DType::F64: {
    const double d = static_cast<double>(v);
    std::memcpy(p, &d, 8);
    break;
  }
  case DType::F16: {
    const _Float16 h = static_cast<_Float16>(static_cast<float>(v));
    std::memcpy(p, &h, 2);
    break;
  }
  case DType::BF16: { // round to nearest even (no NaN here)
    std::uint32_t u = std::bit_cast<std::uint32_t>(static_cast<float>(v));
    u += 0x7fff + ((u >> 16) & 1);
    const auto b = static_cast<std::uint16_t>(u >> 16);
    std::memcpy(p, &b, 2);
    break;
  }
  }
}

long double load(DType dtype, const unsigned char *p) {
  switch (dtype) {
  case DType::F32: {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  case DType::F64: {
    double d;
    std::memcpy(&d, p, 8);
    return d;
  }
  case DType::F16: {
    _Float16 h;
    std::memcpy(&h, p, 2);
    return static_cast<float>(h);
  }
  case DType::BF16: {
    std::uint16_t b;
    std::memcpy(&b, p, 2);
    return std::bit_cast<float>(std::uint32_t{b} << 16);
  }
  }
  return NAN;
}

/// x as stored in `dtype`.
long double stored(DType dtype, long double x) {
  unsigned char p[8] = {};
  store(dtype, p, x);
  return load(dtype, p);
}

/// One input through a one-element kernel of `dtype`: forward f(x), or backward with dy = 1.
long double run_one(const Kernel &k, Role role, DType dtype, long double x) {
  unsigned char in[8] = {}, dy[8] = {}, out[8] = {};
  store(dtype, in, x);
  store(dtype, dy, 1);
  std::vector<const void *> inputs{in};
  if (role == Role::Backward) inputs.push_back(dy);
  std::vector<void *> outputs{out};
  k.run(inputs, outputs, 1);
  return load(dtype, out);
}

class TanhshrinkKernel : public testing::TestWithParam<DType> {};

TEST_P(TanhshrinkKernel, NearZeroWithinTheUlpBounds) {
  const DType dtype = GetParam();
  const Kernel fwd = jit("tanhshrink", options(Role::Forward, dtype));
  const Kernel bwd = jit("tanhshrink", options(Role::Backward, dtype));
  for (long double x : {1e-7L, -1e-7L, 1e-20L, -1e-20L, 3e-3L, 0.6L}) {
    // The exact values at the input as stored in the dtype.
    const long double xs = stored(dtype, x);
    const long double f = dsl::scalar::x_minus_tanh(xs), df = std::tanh(xs) * std::tanh(xs);
    const long double got_f = run_one(fwd, Role::Forward, dtype, x);
    const long double got_df = run_one(bwd, Role::Backward, dtype, x);
    EXPECT_LE(runtime::ulp_error(got_f, f, dtype), 4.0) << "f(" << xs << ") = " << got_f;
    EXPECT_LE(runtime::ulp_error(got_df, df, dtype), 8.0) << "f'(" << xs << ") = " << got_df;
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, TanhshrinkKernel,
                         testing::Values(DType::F32, DType::F64, DType::F16, DType::BF16),
                         [](const testing::TestParamInfo<DType> &p) {
                           return std::string(codegen::to_string(p.param));
                         });

TEST(GeluTanhKernel, F64DerivativeHasItsLimitsAtHugeX) {
  // sigmoid(u)·sigmoid(-u) is exactly 0 there while u' = c(1 + 0.134 x²) overflows: the chain
  // rule's product is 0, not inf·0 = NaN, and gelu_tanh' tends to 1 and 0.
  const Kernel bwd = jit("gelu_tanh", options(Role::Backward, DType::F64));
  for (long double x : {1e200L, static_cast<long double>(DBL_MAX)})
    EXPECT_EQ(run_one(bwd, Role::Backward, DType::F64, x), 1.0L) << x;
  for (long double x : {-1e200L, static_cast<long double>(-DBL_MAX)})
    EXPECT_EQ(run_one(bwd, Role::Backward, DType::F64, x), 0.0L) << x;
}

/// The activation's long-double reference at x as stored in `dtype`.
long double reference(const char *name, DType dtype, long double x) {
  const dsl::Entry *e = dsl::find_activation(name);
  return ir::Program(e->expr)(stored(dtype, x));
}

struct FamilyPoint {
  const char *name;
  DType dtype;
  long double x;
};

// The x·f(x) family computes its forward kernels in the storage's own arithmetic (f32 for f32)
// since primitive arguments travel as double words and the products are scaled: pinned where the
// argument's rounding was amplified (gelu's erfc at x = -20, -37) and where f(x) is subnormal
// while x·f(x) is normal (silu at -95 in f32 and -711 in f64, quick_gelu at -88 in f32).
class FamilyForward : public testing::TestWithParam<FamilyPoint> {};

TEST_P(FamilyForward, WithinFourUlp) {
  const FamilyPoint p = GetParam();
  const Kernel fwd = jit(p.name, options(Role::Forward, p.dtype));
  const long double want = reference(p.name, p.dtype, p.x);
  const long double got = run_one(fwd, Role::Forward, p.dtype, p.x);
  EXPECT_LE(runtime::ulp_error(got, want, p.dtype), 4.0)
      << p.name << "(" << p.x << ") = " << got << ", want " << want;
}

INSTANTIATE_TEST_SUITE_P(
    Tails, FamilyForward,
    testing::Values(
        FamilyPoint{"gelu", DType::F32, -20}, FamilyPoint{"gelu", DType::F32, -37},
        FamilyPoint{"gelu", DType::F32, -13.2L}, FamilyPoint{"gelu", DType::F32, -9},
        FamilyPoint{"gelu", DType::F64, -20}, FamilyPoint{"gelu", DType::F64, -37},
        FamilyPoint{"gelu", DType::F64, -37.78125L}, FamilyPoint{"gelu_tanh", DType::F32, -5.5L},
        FamilyPoint{"gelu_tanh", DType::F64, -21.25L}, FamilyPoint{"silu", DType::F32, -95},
        FamilyPoint{"silu", DType::F32, -90}, FamilyPoint{"silu", DType::F64, -711},
        FamilyPoint{"silu", DType::F64, -740}, FamilyPoint{"swish", DType::F64, -716},
        FamilyPoint{"quick_gelu", DType::F32, -88}, FamilyPoint{"quick_gelu", DType::F32, -54},
        FamilyPoint{"quick_gelu", DType::F64, -421}, FamilyPoint{"mish", DType::F32, -95},
        FamilyPoint{"mish", DType::F64, -711}),
    [](const testing::TestParamInfo<FamilyPoint> &p) {
      std::string x = std::to_string(static_cast<int>(-p.param.x * 100));
      return std::string(p.param.name) + "_" + std::string(codegen::to_string(p.param.dtype)) +
             "_minus" + x;
    });

TEST(FamilyForward, ComputesInF32ForF32) {
  // precision.cpp: the family's forward f32 kernels compute in f32; their backward kernels hold
  // cancelling sums (Φ(x) + x·φ(x)) and keep f64; a product lower.cpp does not scale
  // (x·exp(x): exp's value is not scaled) keeps f64 too.
  for (const char *name : {"gelu", "gelu_tanh", "quick_gelu", "silu", "swish", "mish"}) {
    codegen::KernelSpec spec{.expr = dsl::find_activation(name)->expr};
    EXPECT_EQ(codegen::halide::compute_type(spec), Halide::Float(32)) << name;
    spec.role = Role::Backward;
    EXPECT_EQ(codegen::halide::compute_type(spec), Halide::Float(64)) << name;
  }
  const codegen::KernelSpec x_exp{.expr = kX * ir::make(ir::Kind::Exp, kX)};
  EXPECT_EQ(codegen::halide::compute_type(x_exp), Halide::Float(64));
}

TEST(FamilyForward, F16StorageComputesInF32WhereEveryInputHolds) {
  // precision.cpp: a one-input, parameter-free kernel storing f16 computes in f32 when f32 holds
  // every f16 input (measured when the kernel is built). The family's backward kernels do; bf16
  // and f32 storage keep f64 for them.
  for (const char *name : {"gelu", "gelu_tanh", "quick_gelu", "silu", "mish"}) {
    codegen::KernelSpec spec{
        .expr = dsl::find_activation(name)->expr, .role = Role::Backward, .dtype = DType::F16};
    EXPECT_EQ(codegen::halide::compute_type(spec), Halide::Float(32)) << name;
    for (const DType d : {DType::F32, DType::BF16}) {
      spec.dtype = d;
      EXPECT_EQ(codegen::halide::compute_type(spec), Halide::Float(64)) << name;
    }
  }
  // A parameter (swish's beta) moves the root with a value known only at the call; two inputs
  // (glu's x·sigmoid(g)) are 2^32 pairs: both keep f64.
  for (const char *name : {"swish", "glu"}) {
    const codegen::KernelSpec spec{
        .expr = dsl::find_activation(name)->expr, .role = Role::Backward, .dtype = DType::F16};
    EXPECT_EQ(codegen::halide::compute_type(spec), Halide::Float(64)) << name;
  }
  // Terms far above 1 that cancel: exp(x) - exp(0.999999·x) near x = 10 is 0.22 from terms of
  // 22026, beyond f32 even for an f16 result; the measurement sees it and keeps f64.
  const ir::Expr cancel =
      ir::make(ir::Kind::Exp, kX) - ir::make(ir::Kind::Exp, ir::constant(0.999999L) * kX);
  EXPECT_EQ(codegen::halide::compute_type({.expr = cancel, .dtype = DType::F16}),
            Halide::Float(64));
}

TEST(FamilyForward, DoubleWordsCanBeTurnedOff) {
  // LowerEnv::double_words = false lowers quick_gelu's argument 1.702·x rounded, with no lets.
  const ir::Expr e = dsl::find_activation("quick_gelu")->expr;
  for (bool on : {true, false}) {
    codegen::halide::LowerEnv env{.type = Halide::Float(32),
                                  .inputs = {Halide::cast<float>(Halide::Var("x"))},
                                  .params = {},
                                  .double_words = on};
    std::ostringstream text;
    text << codegen::halide::lower(e, env);
    EXPECT_EQ(text.str().find("actforge_dw") != std::string::npos, on) << text.str();
  }
}

TEST(FamilyForward, LimitsAtInfinityAndOverflow) {
  // The double-word argument of an overflowed polynomial has a NaN low part; the primitive must
  // see the infinity alone, and the scaled product must not turn 0·inf or ∞·1 into NaN.
  for (const char *name : {"gelu", "gelu_tanh", "quick_gelu", "silu", "swish", "mish"}) {
    for (DType dtype : {DType::F32, DType::F64}) {
      const Kernel fwd = jit(name, options(Role::Forward, dtype));
      const long double big = dtype == DType::F32 ? FLT_MAX : DBL_MAX;
      for (long double x : {static_cast<long double>(INFINITY), big, 1e30L}) {
        const long double got = run_one(fwd, Role::Forward, dtype, x);
        EXPECT_EQ(got, stored(dtype, x)) << name << " " << codegen::to_string(dtype) << " " << x;
      }
      for (long double x : {-static_cast<long double>(INFINITY), -big, -1e30L}) {
        const long double got = run_one(fwd, Role::Forward, dtype, x);
        EXPECT_EQ(got, 0.0L) << name << " " << codegen::to_string(dtype) << " " << x;
      }
      EXPECT_TRUE(std::isnan(run_one(fwd, Role::Forward, dtype, NAN))) << name;
    }
  }
}

} // namespace
} // namespace actforge
