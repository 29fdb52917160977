// Fused epilogues (dsl/epilogue.hpp) in the channel layout: per-channel bias, scale, shift give,
// channel by channel, what the flat kernel gives with those values as scalars (forward and dx
// bit for bit), and dbias, dscale, dshift meet the long-double reductions within param_grad's
// bound. The flat kernels themselves are checked against the reference by `actforge check
// --epilogue` (tests/CMakeLists.txt: cli_check_epilogue_*).
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/epilogue.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/jit.hpp"
#include "actforge/runtime/kernel_check.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using actforge::JitOptions;
using actforge::Layout;
using actforge::Role;
using actforge::Shape;
using actforge::dsl::Epilogue;

struct Case {
  std::string activation;
  Epilogue epilogue;
};

class EpilogueChannels : public ::testing::TestWithParam<Case> {};

constexpr std::int64_t kOuter = 3, kChannels = 4, kInner = 517; // odd: vector tails

// Values that f32 holds exactly, so that a per-channel buffer and a scalar agree.
std::vector<float> channel_values(std::mt19937 &rng, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(kChannels);
  for (auto &e : v)
    e = std::ldexp(std::round(std::ldexp(d(rng), 8)), -8);
  return v;
}

TEST_P(EpilogueChannels, PerChannelEqualsFlatAndReductionsMeetTheReference) {
  const Case c = GetParam();
  const actforge::dsl::Entry *entry = actforge::dsl::find_activation(c.activation);
  ASSERT_NE(entry, nullptr);
  const actforge::ir::Expr fused = actforge::dsl::with_epilogue(entry->expr, c.epilogue);
  const std::vector<std::string> pnames = actforge::dsl::epilogue_params(c.epilogue);
  const std::string name = c.activation + "_" + std::string(actforge::dsl::to_string(c.epilogue));

  std::mt19937 rng(7);
  std::uniform_real_distribution<float> xs(-6, 6), dys(-2, 2);
  const std::int64_t n = kOuter * kChannels * kInner;
  std::vector<float> x(n), dy(n);
  for (auto &v : x)
    v = xs(rng);
  for (auto &v : dy)
    v = dys(rng);
  x[5] = 0;
  x[9] = -0.0f;
  std::vector<std::vector<float>> pv; // per parameter of pnames, one value per channel
  for (const auto &p : pnames)
    pv.push_back(p == "scale" ? channel_values(rng, 0.25f, 2) : channel_values(rng, -1, 1));

  JitOptions ch;
  ch.layout = Layout::Channels;
  ch.per_channel = pnames;
  const Shape shape = Shape::with_channels(kOuter, kChannels, kInner);
  auto run = [&](Role role, std::vector<const void *> in, std::vector<void *> out,
                 const JitOptions &base, const Shape &s, const actforge::Params &params) {
    JitOptions o = base;
    o.role = role;
    // The epilogue's reductions only (swish's beta, elu's alpha are scalars).
    if (role == Role::ParamGrad) o.wrt = pnames;
    const actforge::Kernel k = actforge::jit(fused, o, name);
    k.run(in, out, s, params);
  };

  // Per channel: the channel kernels against the flat kernel on each [o, c, :] slice.
  std::vector<float> y(n), dx(n);
  std::vector<std::vector<float>> dparam(pnames.size(), std::vector<float>(kChannels));
  {
    std::vector<const void *> in{x.data()};
    for (const auto &v : pv)
      in.push_back(v.data());
    run(Role::Forward, in, {y.data()}, ch, shape, {});
    in.insert(in.begin() + 1, dy.data());
    run(Role::Backward, in, {dx.data()}, ch, shape, {});
    std::vector<void *> out;
    for (auto &d : dparam)
      out.push_back(d.data());
    run(Role::ParamGrad, in, out, ch, shape, {});
  }
  for (std::int64_t c2 = 0; c2 < kChannels; ++c2) {
    actforge::Params scalars;
    for (std::size_t p = 0; p < pnames.size(); ++p)
      scalars[pnames[p]] = pv[p][static_cast<std::size_t>(c2)];
    for (std::int64_t o = 0; o < kOuter; ++o) {
      const std::int64_t at = (o * kChannels + c2) * kInner;
      std::vector<float> y1(kInner), dx1(kInner);
      run(Role::Forward, {x.data() + at}, {y1.data()}, {}, Shape::flat(kInner), scalars);
      run(Role::Backward, {x.data() + at, dy.data() + at}, {dx1.data()}, {}, Shape::flat(kInner),
          scalars);
      EXPECT_EQ(0, std::memcmp(y1.data(), y.data() + at, sizeof(float) * kInner))
          << "forward, channel " << c2 << ", outer " << o;
      EXPECT_EQ(0, std::memcmp(dx1.data(), dx.data() + at, sizeof(float) * kInner))
          << "backward, channel " << c2 << ", outer " << o;
    }
  }

  // The reductions against long double, with param_grad's bound (kernel_check.cpp): 8 ulp of
  // the sum of magnitudes plus half an ulp of the sum.
  for (std::size_t p = 0; p < pnames.size(); ++p) {
    const actforge::ir::Program dp(
        actforge::ir::differentiate(fused, actforge::ir::param(pnames[p])));
    for (std::int64_t c2 = 0; c2 < kChannels; ++c2) {
      std::vector<long double> values;
      for (const auto &info : dp.params()) {
        const auto at = std::find(pnames.begin(), pnames.end(), info.name);
        if (at == pnames.end()) { // the activation's own parameter, at its default
          ASSERT_TRUE(info.default_value) << info.name;
          values.push_back(*info.default_value);
          continue;
        }
        values.push_back(
            pv[static_cast<std::size_t>(at - pnames.begin())][static_cast<std::size_t>(c2)]);
      }
      long double sum = 0, magnitude = 0;
      for (std::int64_t o = 0; o < kOuter; ++o)
        for (std::int64_t i = 0; i < kInner; ++i) {
          const std::size_t at = static_cast<std::size_t>((o * kChannels + c2) * kInner + i);
          const long double in[] = {x[at]};
          const long double t = dy[at] * dp.eval<long double>(in, values);
          sum += t;
          magnitude += std::fabs(t);
        }
      const long double allowed =
          actforge::runtime::kBackwardUlp * 0x1p-23L * magnitude + 0x1p-24L * std::fabs(sum);
      EXPECT_LE(std::fabs(dparam[p][static_cast<std::size_t>(c2)] - sum), allowed)
          << "d" << pnames[p] << "[" << c2 << "] = " << dparam[p][static_cast<std::size_t>(c2)]
          << ", long double " << static_cast<double>(sum);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Library, EpilogueChannels,
    ::testing::Values(Case{"relu", Epilogue::Bias}, Case{"gelu", Epilogue::Bias},
                      Case{"swish", Epilogue::Bias}, Case{"mish", Epilogue::Bias},
                      Case{"relu", Epilogue::Affine}, Case{"gelu", Epilogue::Affine},
                      Case{"sigmoid", Epilogue::Affine}, Case{"elu", Epilogue::Affine}),
    [](const auto &test) {
      return test.param.activation + "_" +
             std::string(actforge::dsl::to_string(test.param.epilogue));
    });

TEST(Epilogue, Expressions) {
  using actforge::dsl::with_epilogue;
  const auto relu = actforge::dsl::find_activation("relu")->expr;
  EXPECT_EQ(actforge::ir::count_inputs(with_epilogue(relu, Epilogue::Residual)), 2);
  const actforge::ir::Program bias(with_epilogue(relu, Epilogue::Bias));
  const long double in[] = {-1.0L}, b[] = {1.5L};
  EXPECT_EQ(bias.eval<long double>(in, b), 0.5L);
  const actforge::ir::Program affine(with_epilogue(relu, Epilogue::Affine));
  const long double bg[] = {3.0L, 0.5L}; // scale, shift (name order)
  EXPECT_EQ(affine.eval<long double>(in, bg), 0.0L);
  const long double in2[] = {2.0L};
  EXPECT_EQ(affine.eval<long double>(in2, bg), 6.5L);
}

TEST(Epilogue, Errors) {
  using actforge::dsl::with_epilogue;
  const auto *swiglu = actforge::dsl::find_activation("swiglu");
  EXPECT_THROW(with_epilogue(swiglu->expr, Epilogue::Bias), actforge::Error);
  const auto uses_b = actforge::dsl::parse_with_library("x * sigmoid(bias * x), bias=1");
  try {
    with_epilogue(uses_b, Epilogue::Bias);
    FAIL() << "no error";
  } catch (const actforge::Error &e) {
    EXPECT_NE(std::string(e.what()).find("already has"), std::string::npos) << e.what();
  }
  EXPECT_THROW(actforge::dsl::parse_epilogue("bn"), actforge::Error);
  EXPECT_EQ(actforge::dsl::parse_epilogue("affine"), Epilogue::Affine);
}

} // namespace

// JitOptions::with_param_grad: one call gives backward's dx (bit for bit) and param_grad's
// dbias / dscale, dshift, block by block over sizes that cross the blocks (2^14 elements): whole
// channel groups, pieces of long rows, flat. f32 block sums are summed in f64, so the gradients
// meet param_grad's own within a few f32 ulps of the sum of magnitudes; f16 runs the two kernels
// whole and equals them bit for bit.
TEST(Epilogue, BackwardWithParamGradInOneCall) {
  struct Size {
    std::int64_t outer, channels, inner;
  };
  for (const Epilogue e : {Epilogue::Bias, Epilogue::Affine})
    for (const Size s : {Size{4, 8, 3000}, Size{2, 3, 40000}, Size{16, 64, 49}, Size{1, 2, 100}})
      for (const actforge::DType dtype : {actforge::DType::F32, actforge::DType::F16}) {
        SCOPED_TRACE(std::string(actforge::dsl::to_string(e)) + " [" + std::to_string(s.outer) +
                     ", " + std::to_string(s.channels) + ", " + std::to_string(s.inner) + "] " +
                     std::string(actforge::codegen::to_string(dtype)));
        const auto fused =
            actforge::dsl::with_epilogue(actforge::dsl::find_activation("gelu")->expr, e);
        const auto pnames = actforge::dsl::epilogue_params(e);
        JitOptions o{.role = Role::Backward,
                     .dtype = dtype,
                     .layout = Layout::Channels,
                     .per_channel = pnames};
        const actforge::Kernel bwd = actforge::jit(fused, o, "gelu_epilogue");
        o.role = Role::ParamGrad;
        const actforge::Kernel pg = actforge::jit(fused, o, "gelu_epilogue");
        o.role = Role::Backward;
        o.with_param_grad = true;
        const actforge::Kernel both = actforge::jit(fused, o, "gelu_epilogue");
        ASSERT_TRUE(both.with_param_grad());
        ASSERT_EQ(both.num_outputs(), 1 + static_cast<int>(pnames.size()));
        EXPECT_EQ(both.output_ports()[1].name, "d" + pnames[0]);
        EXPECT_EQ(both.output_ports()[1].extent, actforge::Extent::Channels);

        const int bytes = actforge::codegen::bytes_of(dtype);
        const std::int64_t n = s.outer * s.channels * s.inner;
        std::mt19937 rng(11);
        std::uniform_real_distribution<double> xs(-4, 4), ps(0.5, 1.5);
        auto values = [&](std::int64_t count, bool param) {
          std::vector<unsigned char> v(static_cast<std::size_t>(count * bytes));
          for (std::int64_t j = 0; j < count; ++j)
            actforge::codegen::store_value(v.data() + j * bytes, dtype, param ? ps(rng) : xs(rng));
          return v;
        };
        const auto x = values(n, false), dy = values(n, false);
        std::vector<std::vector<unsigned char>> pv;
        for (std::size_t p = 0; p < pnames.size(); ++p)
          pv.push_back(values(s.channels, true));
        std::vector<const void *> in{x.data(), dy.data()};
        for (const auto &v : pv)
          in.push_back(v.data());
        std::vector<unsigned char> dx1(x.size()), dx2(x.size());
        std::vector<std::vector<unsigned char>> g1, g2;
        std::vector<void *> out1{dx2.data()}, grad_out;
        for (std::size_t p = 0; p < pnames.size(); ++p) {
          g1.emplace_back(static_cast<std::size_t>(s.channels * bytes));
          g2.emplace_back(static_cast<std::size_t>(s.channels * bytes));
        }
        for (std::size_t p = 0; p < pnames.size(); ++p) {
          grad_out.push_back(g1[p].data());
          out1.push_back(g2[p].data());
        }
        const Shape shape = Shape::with_channels(s.outer, s.channels, s.inner);
        std::vector<void *> dx_out{dx1.data()};
        bwd.run(in, dx_out, shape);
        pg.run(in, grad_out, shape);
        both.run(in, out1, shape);
        EXPECT_EQ(dx1, dx2) << "dx";
        for (std::size_t p = 0; p < pnames.size(); ++p)
          for (std::int64_t c = 0; c < s.channels; ++c) {
            const double want = actforge::codegen::load_value(g1[p].data() + c * bytes, dtype);
            const double got = actforge::codegen::load_value(g2[p].data() + c * bytes, dtype);
            if (dtype == actforge::DType::F16) {
              EXPECT_EQ(std::memcmp(&want, &got, sizeof want), 0) << "d" << pnames[p] << c;
              continue;
            }
            // Both within param_grad's bound of the exact sum; against each other: a few ulps
            // of a sum of magnitudes bounded by 8·|inputs|·count.
            EXPECT_NEAR(got, want, 1e-6 * 8.0 * static_cast<double>(s.outer * s.inner) + 1e-6)
                << "d" << pnames[p] << "[" << c << "]";
          }
      }
  // Errors: not for the other roles, nor with zero_counts.
  EXPECT_THROW(actforge::jit("swish", {.role = Role::Forward, .with_param_grad = true}),
               actforge::Error);
  EXPECT_THROW(actforge::jit(
                   "swish", {.role = Role::Backward, .zero_counts = true, .with_param_grad = true}),
               actforge::Error);
  // Flat, scalar beta: d(beta) summed over blocks.
  const std::int64_t n = 100001;
  std::vector<float> x(n), dy(n), dx1(n), dx2(n);
  for (std::int64_t i = 0; i < n; ++i) {
    x[static_cast<std::size_t>(i)] = static_cast<float>(i % 801 - 400) / 100.0f;
    dy[static_cast<std::size_t>(i)] = static_cast<float>(i % 7 - 3) / 4.0f;
  }
  const actforge::Kernel both =
      actforge::jit("swish", {.role = Role::Backward, .with_param_grad = true});
  float dbeta = 0;
  both.run({x.data(), dy.data()}, {dx2.data(), &dbeta}, Shape::flat(n));
  actforge::jit("swish", {.role = Role::Backward}).backward(x.data(), dy.data(), dx1.data(), n);
  const double want = actforge::jit("swish", {.role = Role::ParamGrad})
                          .param_grad(x.data(), dy.data(), n)
                          .at("beta");
  EXPECT_EQ(0, std::memcmp(dx1.data(), dx2.data(), sizeof(float) * n));
  EXPECT_NEAR(dbeta, want, 1e-5 * std::fabs(want) + 1e-3);
}
