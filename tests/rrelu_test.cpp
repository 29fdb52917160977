// RReLU training with Philox-4x32-10 noise generated in the kernel (KernelSpec::uniform_g):
// the generator's known answers, x86 kernels against the reference with the same u, replay of
// the noise by the backward pass, independence from schedule, threads and call splitting, and
// the distribution of the slopes (Kolmogorov–Smirnov).
#include "actforge/codegen/halide/pipeline.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/philox.hpp"
#include "actforge/dsl/rrelu.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/parse.hpp"
#include "actforge/runtime/jit.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <dlfcn.h>
#include <limits>
#include <vector>

namespace actforge {
namespace {

namespace philox = dsl::philox;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kLower = 0.125f, kUpper = static_cast<float>(1.0L / 3);

// Random123's kat_vectors, philox4x32 with 10 rounds: counter, key -> output.
static_assert(philox::philox4x32({0, 0, 0, 0}, {0, 0}) ==
              philox::Counter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
static_assert(philox::philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                                 {0xffffffff, 0xffffffff}) ==
              philox::Counter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
static_assert(philox::philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                                 {0xa4093822, 0x299f31d0}) ==
              philox::Counter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});

TEST(Philox, KnownAnswersAtRunTime) {
  // The same vectors through the non-constant-evaluated path.
  volatile std::uint32_t zero = 0;
  const philox::Counter c = philox::philox4x32({zero, zero, zero, zero}, {zero, zero});
  EXPECT_EQ(c, (philox::Counter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  // Fewer rounds give something else: the round count is part of the answer.
  EXPECT_NE(philox::philox4x32({0, 0, 0, 0}, {0, 0}, 7), c);
}

TEST(Philox, UniformMapping) {
  // Key = seed (low word first), counter = index + offset in words 0-1.
  const std::uint64_t seed = 0x299f31d0a4093822u;
  EXPECT_EQ(philox::key_of(seed), (philox::Key{0xa4093822, 0x299f31d0}));
  EXPECT_EQ(philox::counter_of(0x85a308d3243f6a88u),
            (philox::Counter{0x243f6a88, 0x85a308d3, 0, 0}));
  const std::uint32_t word0 = philox::philox4x32({5, 0, 0, 0}, philox::key_of(seed))[0];
  EXPECT_EQ(philox::uniform_bits(seed, 5), word0 >> 8);
  EXPECT_EQ(philox::uniform(seed, 2, 3), (word0 >> 8) * 0x1p-24);
  // The offset carries into the counter's high word, and wraps modulo 2^64.
  EXPECT_EQ(philox::uniform(seed, 1, 0xffffffffu), philox::uniform(seed, 0x100000000u));
  EXPECT_EQ(philox::uniform(seed, 1, ~std::uint64_t{0}), philox::uniform(seed, 0));
  double lo = 1, hi = 0;
  for (std::uint64_t i = 0; i < 100000; ++i) {
    const double u = philox::uniform(seed, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    ASSERT_EQ(u, static_cast<float>(u)); // exact in f32
    lo = std::min(lo, u), hi = std::max(hi, u);
  }
  EXPECT_LT(lo, 1e-4);
  EXPECT_GT(hi, 1 - 1e-4);
}

TEST(RreluTrain, Reference) {
  const dsl::RreluTrain r{7, 3};
  EXPECT_EQ(r.forward(2.5L, 0), 2.5L);
  EXPECT_EQ(r.forward(-2.0L, 4), -2.0L * (0.125L + (1.0L / 3 - 0.125L) * r.u(4)));
  EXPECT_EQ(r.u(4), philox::uniform(7, 7));
  EXPECT_EQ(r.backward(-2.0L, 3.0L, 4), 3.0L * r.slope(4));
  EXPECT_EQ(r.backward(0.0L, 3.0L, 4), 3.0L); // rrelu'(0) = 1
  EXPECT_TRUE(std::isnan(r.forward(std::nanl(""), 0)));
  // The expression the kernels are built from has the library's parameters and input g.
  const ir::Expr e = dsl::rrelu_train_expr();
  EXPECT_EQ(ir::count_inputs(e), 2);
  const ir::Program p(e);
  const std::vector<long double> in{-2.0L, r.u(4)}, params{0.125L, 1.0L / 3};
  EXPECT_NEAR(static_cast<double>(p.eval<long double>(in, params)),
              static_cast<double>(r.forward(-2.0L, 4)), 1e-18);
}

// Inputs with every special value first, then moderate values of both signs.
std::vector<float> sample(std::size_t n) {
  std::vector<float> v{0.0f,
                       -0.0f,
                       kInf,
                       -kInf,
                       kNaN,
                       std::numeric_limits<float>::denorm_min(),
                       -std::numeric_limits<float>::denorm_min(),
                       -1e-40f,
                       std::numeric_limits<float>::max(),
                       -std::numeric_limits<float>::max(),
                       std::numeric_limits<float>::min(),
                       -std::numeric_limits<float>::min(),
                       -1.0f,
                       1.0f};
  std::uint32_t s = 12345;
  while (v.size() < n) {
    s = s * 1664525u + 1013904223u;
    v.push_back(static_cast<float>(static_cast<std::int32_t>(s >> 8) % 60000) / 2000.0f);
  }
  v.resize(n);
  return v;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

double ulps(float got, long double exact) {
  if (std::isnan(got) || std::isnan(exact))
    return std::isnan(got) && std::isnan(exact) ? 0 : std::numeric_limits<double>::infinity();
  if (got == exact) return 0;
  if (std::isinf(got) || std::isinf(exact)) return std::numeric_limits<double>::infinity();
  int e = 0;
  std::frexp(std::fabs(exact), &e);
  const long double ulp = std::ldexp(1.0L, std::max(e, -125) - 24);
  return static_cast<double>(std::fabs(got - exact) / ulp);
}

Kernel rrelu_kernel(Role role, DType dtype = DType::F32,
                    std::optional<codegen::Schedule> schedule = std::nullopt,
                    Layout layout = Layout::Flat) {
  JitOptions o;
  o.role = role;
  o.dtype = dtype;
  o.schedule = schedule;
  o.layout = layout;
  o.uniform_g = true;
  return jit(dsl::rrelu_train_expr(), o, "rrelu_train");
}

std::vector<float> forward(const Kernel &k, const std::vector<float> &x, Noise noise) {
  std::vector<float> y(x.size());
  k.run({x.data()}, {y.data()}, Shape::flat(static_cast<std::int64_t>(x.size())), {}, noise);
  return y;
}

constexpr Noise kNoise{0x0123456789abcdefu, 1000};

TEST(RreluTrainKernel, Interface) {
  const Kernel fwd = rrelu_kernel(Role::Forward), bwd = rrelu_kernel(Role::Backward);
  EXPECT_NE(fwd.name().find("rrelu_train_fwd_rng_f32"), std::string::npos) << fwd.name();
  EXPECT_TRUE(fwd.uniform_g());
  EXPECT_EQ(fwd.num_inputs(), 1);
  ASSERT_EQ(fwd.input_ports().size(), 1u);
  EXPECT_EQ(fwd.input_ports()[0].name, "x");
  ASSERT_EQ(bwd.input_ports().size(), 2u);
  EXPECT_EQ(bwd.input_ports()[1].name, "dy");
  ASSERT_EQ(bwd.output_ports().size(), 1u); // no dg for a generated input
  EXPECT_EQ(bwd.output_ports()[0].name, "dx");
  // The same expression with g read from memory is another kernel.
  const Kernel read = jit(dsl::rrelu_train_expr(), {}, "rrelu_train");
  EXPECT_EQ(read.input_ports().size(), 2u);
  EXPECT_NE(read.name(), fwd.name());
}

TEST(RreluTrainKernel, Errors) {
  const Kernel fwd = rrelu_kernel(Role::Forward);
  std::vector<float> x(4, -1.0f), y(4);
  try {
    fwd.run({x.data()}, {y.data()}, Shape::flat(4));
    FAIL() << "a call without Noise ran";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("Noise{seed, offset}"), std::string::npos) << e.what();
  }
  EXPECT_THROW(fwd.forward(x.data(), y.data(), 4), Error);
  const Kernel relu = jit("relu");
  try {
    relu.run({x.data()}, {y.data()}, Shape::flat(4), {}, kNoise);
    FAIL() << "a Noise was accepted by a kernel without a generated input";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("takes no Noise"), std::string::npos) << e.what();
  }
  auto refused = [](codegen::KernelSpec spec, const char *what) {
    try {
      codegen::validate(spec);
      ADD_FAILURE() << "validate() accepted " << what;
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find("uniform_g"), std::string::npos) << e.what();
    }
  };
  codegen::KernelSpec one_input{dsl::find_activation("relu")->expr};
  one_input.uniform_g = true;
  refused(one_input, "an expression without g");
  codegen::KernelSpec from_output{dsl::rrelu_train_expr(), Role::BackwardFromOutput};
  from_output.uniform_g = true;
  refused(from_output, "backward_from_output");
  codegen::KernelSpec clash{ir::parse("x * g + seed")};
  clash.uniform_g = true;
  refused(clash, "a parameter named seed");
}

// Forward and backward against the long-double reference with the same u, and bit for bit
// against the formula evaluated in the kernel's compute type with the same u (the
// piecewise-linear class: exact). The compute type is f64 here (precision.cpp: an input-dependent
// term plus one of parameters alone), which leaves the f32 results correctly rounded but for
// double rounding.
TEST(RreluTrainKernel, MatchesReference) {
  const std::vector<float> x = sample(4099);
  const std::size_t n = x.size();
  const Kernel fwd = rrelu_kernel(Role::Forward), bwd = rrelu_kernel(Role::Backward);
  const std::vector<float> y = forward(fwd, x, kNoise);
  std::vector<float> dy(n), dx(n);
  for (std::size_t i = 0; i < n; ++i)
    dy[i] = 0.5f + static_cast<float>(i % 7);
  bwd.run({x.data(), dy.data()}, {dx.data()}, Shape::flat(static_cast<std::int64_t>(n)), {},
          kNoise);

  const ir::Expr e = dsl::rrelu_train_expr();
  codegen::KernelSpec spec{e};
  spec.uniform_g = true;
  const bool f64 = codegen::halide::compute_type(spec).bits() == 64;
  const ir::Program f(e), df(ir::differentiate(e, ir::input(0)));
  // The formula in the compute type, rounded to f32: NaN in, NaN out (the formula of dx alone
  // would take the x < 0 branch at NaN).
  auto in_compute_type = [&](const ir::Program &p, float xi, float u, float scale) {
    if (std::isnan(xi)) return kNaN;
    if (f64) {
      const std::vector<double> in{xi, u}, params{0.125, static_cast<double>(1.0L / 3)};
      return static_cast<float>(static_cast<double>(scale) * p.eval<double>(in, params));
    }
    const std::vector<float> in{xi, u}, params{kLower, kUpper};
    return scale * p.eval<float>(in, params);
  };
  const dsl::RreluTrain ref{kNoise.seed, kNoise.offset};
  double max_fwd = 0, max_bwd = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float u = static_cast<float>(ref.u(i));
    const float want = in_compute_type(f, x[i], u, 1.0f);
    ASSERT_TRUE(same_bits(y[i], want) || (std::isnan(y[i]) && std::isnan(want)))
        << "x = " << x[i] << " (element " << i << "): " << y[i] << ", formula " << want;
    const float want_dx = in_compute_type(df, x[i], u, dy[i]);
    ASSERT_TRUE(same_bits(dx[i], want_dx) || (std::isnan(dx[i]) && std::isnan(want_dx)))
        << "x = " << x[i] << ": dx " << dx[i] << ", formula " << want_dx;
    max_fwd = std::max(max_fwd, ulps(y[i], ref.forward(x[i], i)));
    max_bwd = std::max(max_bwd, ulps(dx[i], ref.backward(x[i], dy[i], i)));
  }
  // f64 arithmetic then one rounding to f32: within 0.5 ulp and a hair (f32: three roundings).
  EXPECT_LE(max_fwd, f64 ? 0.5 + 1e-6 : 2.0);
  EXPECT_LE(max_bwd, f64 ? 0.5 + 1e-6 : 2.0);
  std::printf("[ measured ] compute type f%d: forward max %.4f ulp, backward max %.4f ulp vs the "
              "long-double reference\n",
              f64 ? 64 : 32, max_fwd, max_bwd);
}

TEST(RreluTrainKernel, F64MatchesReference) {
  const std::vector<float> xf = sample(1031);
  std::vector<double> x(xf.begin(), xf.end()), y(x.size());
  const Kernel fwd = rrelu_kernel(Role::Forward, DType::F64);
  fwd.run({x.data()}, {y.data()}, Shape::flat(static_cast<std::int64_t>(x.size())), {}, kNoise);
  const dsl::RreluTrain ref{kNoise.seed, kNoise.offset, 0.125L, static_cast<double>(1.0L / 3)};
  for (std::size_t i = 0; i < x.size(); ++i) {
    const long double want = ref.forward(x[i], i);
    if (std::isnan(want) || std::isinf(want)) {
      EXPECT_TRUE(std::isnan(want) ? std::isnan(y[i]) : y[i] == want) << "x = " << x[i];
      continue;
    }
    EXPECT_LE(std::fabs(y[i] - want), 4 * std::ldexp(std::fabs(want), -53) + 1e-320)
        << "x = " << x[i];
  }
}

// dx of the backward kernel against central differences of the reference forward pass at the
// same element (the same u), away from the kink at 0.
TEST(RreluTrainKernel, GradientCheck) {
  std::vector<float> x = sample(2000);
  x.erase(std::remove_if(x.begin(), x.end(),
                         [](float v) { return !std::isfinite(v) || std::fabs(v) < 1e-3f; }),
          x.end());
  std::vector<float> ones(x.size(), 1.0f), dx(x.size());
  rrelu_kernel(Role::Backward)
      .run({x.data(), ones.data()}, {dx.data()}, Shape::flat(static_cast<std::int64_t>(x.size())),
           {}, kNoise);
  const dsl::RreluTrain ref{kNoise.seed, kNoise.offset, kLower, kUpper};
  for (std::size_t i = 0; i < x.size(); ++i) {
    const long double h = 1e-4L * std::max(1.0L, std::fabs(static_cast<long double>(x[i])));
    const long double numeric = (ref.forward(x[i] + h, i) - ref.forward(x[i] - h, i)) / (2 * h);
    ASSERT_NEAR(dx[i], static_cast<double>(numeric), 1e-6 * std::fabs(static_cast<double>(numeric)))
        << "x = " << x[i];
  }
}

// The backward pass regenerates the forward's slopes: with x = -2^k, y = a·x is exact, so the
// forward's a = y/x and the backward's a = dx/dy (dy = 1) must agree bit for bit.
TEST(RreluTrainKernel, ReplayIsBitIdentical) {
  const std::size_t n = 10007;
  std::vector<float> x(n), ones(n, 1.0f), dx(n);
  for (std::size_t i = 0; i < n; ++i)
    x[i] = -std::ldexp(1.0f, static_cast<int>(i % 11) - 5);
  const Kernel fwd = rrelu_kernel(Role::Forward), bwd = rrelu_kernel(Role::Backward);
  const std::vector<float> y1 = forward(fwd, x, kNoise), y2 = forward(fwd, x, kNoise);
  bwd.run({x.data(), ones.data()}, {dx.data()}, Shape::flat(static_cast<std::int64_t>(n)), {},
          kNoise);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(same_bits(y1[i], y2[i])) << i;
    const float a = y1[i] / x[i];
    ASSERT_TRUE(same_bits(a, dx[i]))
        << "element " << i << ": forward slope " << a << ", backward slope " << dx[i];
    ASSERT_GE(a, kLower);
    ASSERT_LE(a, kUpper);
  }
}

// Lanes, unroll, parallel chunks and thread counts change nothing.
TEST(RreluTrainKernel, ScheduleAndThreadsIndependent) {
  const std::vector<float> x = sample(100003);
  const std::vector<float> want = forward(rrelu_kernel(Role::Forward), x, kNoise);
  using SetThreads = int (*)(int);
  const auto set_threads =
      reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "halide_set_num_threads"));
  ASSERT_NE(set_threads, nullptr) << "the Halide runtime is loaded with RTLD_GLOBAL";
  for (const codegen::Schedule s :
       {codegen::Schedule{1, 1, 0}, codegen::Schedule{4, 3, 0}, codegen::Schedule{16, 2, 0},
        codegen::Schedule{8, 2, 4096}, codegen::Schedule{16, 4, 65536}})
    for (int threads : {1, 3, 8}) {
      const int before = set_threads(threads);
      const std::vector<float> y = forward(rrelu_kernel(Role::Forward, DType::F32, s), x, kNoise);
      set_threads(before);
      for (std::size_t i = 0; i < x.size(); ++i)
        ASSERT_TRUE(same_bits(y[i], want[i]))
            << s.describe() << ", " << threads << " threads, element " << i;
    }
}

// A call on [0, n) equals calls on [0, k) and [k, n) with offset advanced by k; the channel
// layout draws element (o, c, i) at (o·C + c)·inner + i, as a flat call does.
TEST(RreluTrainKernel, SplitCallsAndLayoutsAgree) {
  const std::vector<float> x = sample(30011);
  const std::size_t n = x.size(), k = 12345;
  const Kernel fwd = rrelu_kernel(Role::Forward);
  const std::vector<float> whole = forward(fwd, x, kNoise);
  std::vector<float> parts(n);
  fwd.run({x.data()}, {parts.data()}, Shape::flat(static_cast<std::int64_t>(k)), {}, kNoise);
  fwd.run({x.data() + k}, {parts.data() + k}, Shape::flat(static_cast<std::int64_t>(n - k)), {},
          Noise{kNoise.seed, kNoise.offset + k});
  for (std::size_t i = 0; i < n; ++i)
    ASSERT_TRUE(same_bits(whole[i], parts[i])) << i;

  const Kernel ch = rrelu_kernel(Role::Forward, DType::F32, std::nullopt, Layout::Channels);
  for (const Shape s : {Shape::with_channels(7, 13, 329), Shape::with_channels(30011, 1, 1),
                        Shape::with_channels(1, 30011, 1), Shape::with_channels(10, 3001, 1)}) {
    std::vector<float> y(n);
    ch.run({x.data()}, {y.data()}, s, {}, kNoise);
    for (std::size_t i = 0; i < static_cast<std::size_t>(s.outer * s.channels * s.inner); ++i)
      ASSERT_TRUE(same_bits(whole[i], y[i]))
          << "[" << s.outer << ", " << s.channels << ", " << s.inner << "] element " << i;
  }
}

TEST(RreluTrainKernel, SeedsAndOffsetsDiffer) {
  const std::vector<float> x(4096, -1.0f);
  const Kernel fwd = rrelu_kernel(Role::Forward);
  const std::vector<float> a = forward(fwd, x, kNoise);
  for (Noise other : {Noise{kNoise.seed + 1, kNoise.offset}, Noise{kNoise.seed, kNoise.offset + 1},
                      Noise{kNoise.seed ^ (std::uint64_t{1} << 63), kNoise.offset}}) {
    const std::vector<float> b = forward(fwd, x, other);
    std::size_t same = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
      same += a[i] == b[i];
    EXPECT_LT(same, 16u) << "seed " << other.seed << " offset " << other.offset;
  }
}

// The Kolmogorov–Smirnov statistic of `a` (sorted) against U(lo, hi).
double ks_uniform(const std::vector<double> &a, double lo, double hi) {
  double d = 0;
  const double n = static_cast<double>(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double cdf = std::clamp((a[i] - lo) / (hi - lo), 0.0, 1.0);
    d = std::max({d, cdf - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - cdf});
  }
  return d;
}

TEST(RreluTrainKernel, SlopesAreUniform) {
  const std::size_t n = 100000;
  const std::vector<float> x(n, -1.0f);
  const std::vector<float> y = forward(rrelu_kernel(Role::Forward), x, kNoise);
  std::vector<double> a(n);
  for (std::size_t i = 0; i < n; ++i)
    a[i] = -static_cast<double>(y[i]);
  std::sort(a.begin(), a.end());
  const double critical = 1.63 / std::sqrt(static_cast<double>(n)); // 1% level
  const double d = ks_uniform(a, kLower, kUpper);
  std::printf("[ measured ] KS D = %.5f (1%% critical value %.5f)\n", d, critical);
  EXPECT_LT(d, critical);
  // The test can fail: a wrong range is rejected.
  EXPECT_GT(ks_uniform(a, kLower, kUpper + 0.05), critical);
  EXPECT_GT(ks_uniform(a, kLower + 0.01, kUpper), critical);
}

// param_grad: dlower = Σ dy·(1-u)·x and dupper = Σ dy·u·x over x < 0, with regenerated u.
TEST(RreluTrainKernel, ParamGrad) {
  const std::vector<float> xs = sample(50000);
  std::vector<float> x;
  for (float v : xs)
    if (std::isfinite(v) && std::fabs(v) < 1e30f) x.push_back(v);
  std::vector<float> dy(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    dy[i] = 1.0f - static_cast<float>(i % 3);
  const Kernel pg = rrelu_kernel(Role::ParamGrad);
  ASSERT_EQ(pg.output_ports().size(), 2u);
  float dlower = 0, dupper = 0;
  pg.run({x.data(), dy.data()}, {&dlower, &dupper},
         Shape::flat(static_cast<std::int64_t>(x.size())), {}, kNoise);
  const dsl::RreluTrain ref{kNoise.seed, kNoise.offset, kLower, kUpper};
  long double want_lower = 0, want_upper = 0, scale = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!(x[i] < 0)) continue;
    want_lower += dy[i] * (1 - ref.u(i)) * x[i];
    want_upper += dy[i] * ref.u(i) * x[i];
    scale += std::fabs(dy[i] * x[i]);
  }
  EXPECT_NEAR(dlower, static_cast<double>(want_lower), 1e-6 * static_cast<double>(scale));
  EXPECT_NEAR(dupper, static_cast<double>(want_upper), 1e-6 * static_cast<double>(scale));
}

// Eval mode is the library's rrelu: a = (lower + upper)/2, no noise.
TEST(RreluTrainKernel, EvalModeUsesMeanSlope) {
  const Kernel eval = jit("rrelu");
  EXPECT_FALSE(eval.uniform_g());
  const std::vector<float> x{-3.0f, -1.0f, 2.0f, -0.5f};
  std::vector<float> y(x.size());
  eval.forward(x.data(), y.data(), static_cast<std::int64_t>(x.size()));
  const float mean = (kLower + kUpper) / 2;
  for (std::size_t i = 0; i < x.size(); ++i)
    EXPECT_EQ(y[i], x[i] >= 0 ? x[i] : mean * x[i]) << x[i];
}

} // namespace
} // namespace actforge
