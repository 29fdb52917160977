// Numerics pinned where formulas cancel or overflow: u - tanh(u) (tanhshrink) in the reference and
// in every dtype's kernels, its derivative tanh², and gelu_tanh's f64 derivative at huge x.
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

} // namespace
} // namespace actforge
