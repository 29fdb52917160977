// dsl/analysis: interval bounds, kinks and smoothness, zero sets, quadrature, gains and the
// Monte-Carlo probabilities of `actforge analyze`.
#include "actforge/dsl/analysis.hpp"
#include "actforge/ir/parse.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

using namespace actforge;
using dsl::Interval;

namespace {

constexpr long double kInf = std::numeric_limits<long double>::infinity();

dsl::Analysis run(const std::string &name, dsl::ParamValues params = {}) {
  const dsl::Entry *e = dsl::find_activation(name);
  if (!e) throw std::runtime_error("no activation " + name);
  dsl::ParamValues p = e->sample_params();
  for (const auto &[k, v] : params)
    p[k] = v;
  return dsl::analyze(name, e->expr, p, {.samples = 200000, .seed = 7});
}

void expect_interval(const Interval &i, long double lo, long double hi, bool lo_open,
                     bool hi_open) {
  EXPECT_EQ(i.lo, lo) << i.str();
  EXPECT_EQ(i.hi, hi) << i.str();
  EXPECT_EQ(i.lo_open, lo_open) << i.str();
  EXPECT_EQ(i.hi_open, hi_open) << i.str();
}

// ∫ h(z)φ(z) dz by the trapezoid rule, step 1/256 over [−40, 40]: spectrally accurate for smooth
// integrands that decay like φ — an independent check of the Gauss rules.
long double trapezoid(long double (*h)(long double)) {
  const long double step = 1.0L / 256;
  long double s = 0;
  for (long double z = -40; z <= 40; z += step)
    s += h(z) * std::exp(-z * z / 2);
  return s * step / std::sqrt(2 * std::numbers::pi_v<long double>);
}

} // namespace

TEST(Analysis, GaussHermiteIntegratesPolynomialsExactly) {
  const auto q = dsl::gauss_hermite(100);
  // ∫ t^{2k} e^{−t²} dt = Γ(k + 1/2).
  for (int k = 0; k < 100; k += 7) {
    long double s = 0;
    for (std::size_t i = 0; i < q.nodes.size(); ++i)
      s += q.weights[i] * std::pow(q.nodes[i], 2 * k);
    const long double exact = std::tgamma(k + 0.5L);
    EXPECT_NEAR(static_cast<double>(s / exact), 1.0, 1e-12) << "k=" << k;
  }
  const auto small = dsl::gauss_hermite(5);
  long double odd = 0;
  for (std::size_t i = 0; i < 5; ++i)
    odd += small.weights[i] * std::pow(small.nodes[i], 7);
  EXPECT_NEAR(static_cast<double>(odd), 0.0, 1e-15);
  const auto gl = dsl::gauss_legendre(20);
  long double s = 0;
  for (std::size_t i = 0; i < 20; ++i)
    s += gl.weights[i] * std::pow(gl.nodes[i], 38);
  EXPECT_NEAR(static_cast<double>(s), 2.0 / 39, 1e-16);
}

TEST(Analysis, GainsMatchClosedForms) {
  EXPECT_NEAR(static_cast<double>(run("relu").gain), std::sqrt(2.0), 1e-9);
  for (long double alpha : {0.01L, 0.2L}) {
    const auto a = run("leaky_relu", {{"alpha", alpha}});
    EXPECT_NEAR(static_cast<double>(a.gain), std::sqrt(2 / (1 + alpha * alpha)), 1e-9);
    EXPECT_NEAR(static_cast<double>(*a.torch_gain), std::sqrt(2 / (1 + alpha * alpha)), 1e-15);
  }
  const auto id = dsl::analyze("identity", ir::input(0), {});
  EXPECT_NEAR(static_cast<double>(id.gain), 1.0, 1e-15);
  EXPECT_EQ(id.smoothness, "C^inf");
  const auto t = run("tanh");
  const long double e_tanh2 = trapezoid([](long double z) { return std::tanh(z) * std::tanh(z); });
  EXPECT_NEAR(static_cast<double>(t.second_moment), static_cast<double>(e_tanh2),
              5e-11); // GH-100: ~6e-12
  EXPECT_NEAR(static_cast<double>(t.mean), 0.0, 1e-15);
  EXPECT_NEAR(static_cast<double>(*t.torch_gain), 5.0 / 3, 1e-15);
  // gelu: E[(zΦ(z))²] by the independent rule.
  const long double e_gelu2 = trapezoid([](long double z) {
    const long double g = z * 0.5L * std::erfc(-z / std::numbers::sqrt2_v<long double>);
    return g * g;
  });
  EXPECT_NEAR(static_cast<double>(run("gelu").second_moment), static_cast<double>(e_gelu2), 1e-12);
  EXPECT_FALSE(run("gelu").torch_gain.has_value());
}

TEST(Analysis, Intervals) {
  expect_interval(run("relu").range_bound, 0, kInf, false, true);
  expect_interval(run("sigmoid").range_bound, 0, 1, true, true);
  expect_interval(run("tanh").range_bound, -1, 1, true, true);
  expect_interval(run("relu6").range_bound, 0, 6, false, false);
  expect_interval(run("elu").range_bound, -1, kInf, true, true);
  expect_interval(run("relu").derivative_bound, 0, 1, false, false);
  expect_interval(run("hardsigmoid").derivative_bound, 0, 1.0L / 6, false, false);
  const auto s = run("sigmoid");
  EXPECT_TRUE(s.range_exact);
  EXPECT_EQ(s.sampled_min, 0);
  EXPECT_EQ(s.sampled_max, 1);
  // Loose but sound: x·sigmoid(x) has its minimum near −0.278, the bound says −inf.
  const auto sw = run("swish");
  EXPECT_FALSE(sw.range_exact);
  EXPECT_LE(sw.range_bound.lo, sw.sampled_min);
  EXPECT_NEAR(static_cast<double>(sw.sampled_min), -0.278464542761074, 1e-6);
  // Parameters count, and even powers are not negative.
  const auto sq = dsl::range(ir::parse("pow(x, 2) * a, a=3"), Interval::reals(), {});
  expect_interval(sq, 0, kInf, false, true);
  const auto cube = dsl::range(ir::parse("pow(x, 3)"), Interval::closed(-2, 1), {});
  expect_interval(cube, -8, 1, false, false);
  const auto div = dsl::range(ir::parse("x / (1 + abs(x))"), Interval::reals(), {});
  expect_interval(div, -kInf, kInf, true, true); // x twice: loose, still sound
}

TEST(Analysis, KinksAndSmoothness) {
  const auto relu = run("relu");
  ASSERT_EQ(relu.kinks.size(), 1u);
  EXPECT_EQ(relu.kinks[0].x, 0);
  EXPECT_TRUE(relu.kinks[0].exact);
  EXPECT_EQ(relu.smoothness, "C0");
  EXPECT_EQ(run("elu", {{"alpha", 1}}).smoothness, "C1");
  EXPECT_EQ(run("elu", {{"alpha", 0.5}}).smoothness, "C0");
  EXPECT_EQ(run("gelu").smoothness, "C^inf");
  EXPECT_EQ(run("threshold").smoothness, "discontinuous");
  const auto r6 = run("relu6");
  ASSERT_EQ(r6.kinks.size(), 2u);
  EXPECT_EQ(r6.kinks[0].x, 0);
  EXPECT_EQ(r6.kinks[1].x, 6);
  EXPECT_EQ(relu.monotonic, "non-decreasing");
  EXPECT_TRUE(relu.monotonic_proved);
  EXPECT_EQ(run("sigmoid").monotonic, "increasing");
  EXPECT_EQ(run("gelu").monotonic, "no");
  EXPECT_EQ(run("swish").derivative_isolated_zeros.size(), 1u);
}

TEST(Analysis, ZeroSets) {
  const auto relu = run("relu");
  ASSERT_EQ(relu.derivative_zero_set.size(), 1u);
  expect_interval(relu.derivative_zero_set[0], -kInf, 0, true, false); // relu'(0) = 0
  const auto r6 = run("relu6");
  ASSERT_EQ(r6.derivative_zero_set.size(), 2u);
  EXPECT_EQ(r6.derivative_zero_set[0].hi, 0);
  EXPECT_EQ(r6.derivative_zero_set[1].lo, 6);
  const auto hs = run("hardsigmoid");
  ASSERT_EQ(hs.derivative_zero_set.size(), 2u);
  EXPECT_EQ(hs.derivative_zero_set[0].hi, -3);
  EXPECT_EQ(hs.derivative_zero_set[1].lo, 3);
  EXPECT_TRUE(run("gelu").derivative_zero_set.empty());
  EXPECT_TRUE(run("sigmoid").zero_set.empty());
}

TEST(Analysis, MonteCarloWithinFourStandardErrors) {
  for (const char *name :
       {"relu", "relu6", "hardsigmoid", "hardswish", "leaky_relu", "softshrink"}) {
    const auto a = run(name);
    for (const auto *p : {&a.p_zero, &a.p_dzero}) {
      ASSERT_TRUE(p->exact.has_value()) << name;
      const double se = std::max(p->std_error, 1e-6);
      EXPECT_LE(std::fabs(p->p - static_cast<double>(*p->exact)), 4 * se)
          << name << ": " << p->p << " vs " << static_cast<double>(*p->exact);
    }
  }
  EXPECT_NEAR(static_cast<double>(*run("relu").p_zero.exact), 0.5, 1e-18);
  // tanh saturates: |1 − tanh²(z)| < 1e−3 where |z| > atanh(sqrt(1 − 1e−3)) ≈ 4.15.
  const auto t = run("tanh");
  const double sat = 2 * static_cast<double>(dsl::normal_cdf(-std::atanh(std::sqrt(1 - 1e-3L))));
  EXPECT_LE(std::fabs(t.p_saturated.p - sat), 4 * std::max(t.p_saturated.std_error, 1e-5));
}

TEST(Analysis, RefusesTwoInputs) {
  EXPECT_THROW(dsl::analyze("glu", dsl::find_activation("glu")->expr, {}), Error);
}
