// Every role and layout through jit(): param_grad against long-double sums of the IR interpreter
// (flat and [outer, C, inner], per-channel parameters, more than 2^31 elements),
// backward_from_output against backward, ports, cache keys, and the errors of a wrong call.
#include "actforge/runtime/jit.hpp"

#include "actforge/dsl/catalog.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <sys/mman.h>
#include <vector>

namespace actforge {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Deterministic pseudo-random values in [lo, hi).
std::vector<float> values(std::size_t n, unsigned seed, float lo, float hi) {
  std::vector<float> v(n);
  std::uint32_t s = seed;
  for (auto &x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (hi - lo) * static_cast<float>(s >> 8) / 16777216.0f;
  }
  return v;
}

ir::Expr library(const char *name) { return dsl::find_activation(name)->expr; }

JitOptions options(Role role, Layout layout = Layout::Flat, std::vector<std::string> per = {}) {
  JitOptions o;
  o.role = role;
  o.layout = layout;
  o.per_channel = std::move(per);
  return o;
}

// Σ t and Σ |t| of the terms t = dy·∂f/∂p, in long double, per channel when the parameter is.
struct Sum {
  long double value = 0, magnitude = 0;
};
std::vector<Sum> reference_grad(ir::Expr f, const std::string &param, const Shape &s,
                                const std::vector<float> &x, const std::vector<float> &dy,
                                const Params &scalars, const std::vector<float> &channel_values) {
  const ir::Program d(ir::differentiate(f, ir::param(param)));
  const bool per_channel = !channel_values.empty();
  std::vector<Sum> sums(per_channel ? static_cast<std::size_t>(s.channels) : 1);
  std::vector<long double> args(d.params().size());
  for (std::int64_t o = 0; o < s.outer; ++o)
    for (std::int64_t c = 0; c < s.channels; ++c) {
      for (std::size_t j = 0; j < args.size(); ++j) {
        const std::string &name = d.params()[j].name;
        auto it = scalars.find(name);
        args[j] = name == param && per_channel ? channel_values[static_cast<std::size_t>(c)]
                  : it != scalars.end()        ? it->second
                                               : *d.params()[j].default_value;
      }
      for (std::int64_t i = 0; i < s.inner; ++i) {
        const auto e = static_cast<std::size_t>((o * s.channels + c) * s.inner + i);
        const long double in[] = {x[e]};
        const long double t = dy[e] * d.eval<long double>(in, args);
        Sum &sum = sums[per_channel ? static_cast<std::size_t>(c) : 0];
        sum.value += t;
        sum.magnitude += std::fabs(t);
      }
    }
  return sums;
}

// One rounding of the sum to float plus `term_ulps` float ulps of every term.
void expect_sum(float got, const Sum &want, double term_ulps) {
  const long double bound = std::fabs(want.value) * std::ldexp(1.0L, -24) +
                            want.magnitude * term_ulps * std::ldexp(1.0L, -24) + 1e-30L;
  EXPECT_LE(std::fabs(got - want.value), bound) << got << " vs " << want.value;
}

TEST(JitParamGrad, ScalarParametersMatchLongDoubleSums) {
  struct Case {
    const char *name, *param;
    Params values;
    double term_ulps; // 0: ∂f/∂p·dy is exact in f64
  };
  const Case cases[] = {{"swish", "beta", {{"beta", 1.25}}, 8},
                        {"elu", "alpha", {{"alpha", 0.75}}, 8},
                        {"prelu", "a", {{"a", 0.2}}, 0}};
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    const Kernel k = jit(c.name, options(Role::ParamGrad));
    ASSERT_EQ(k.output_ports().size(), 1u);
    EXPECT_EQ(k.output_ports()[0].name, std::string("d") + c.param);
    EXPECT_EQ(k.output_ports()[0].extent, Extent::One);
    for (std::size_t n : {0u, 1u, 17u, 1000003u}) {
      const auto x = values(n, 11, -6, 4), dy = values(n, 12, -1, 2);
      const Params grads =
          k.param_grad(x.data(), dy.data(), static_cast<std::int64_t>(n), c.values);
      ASSERT_EQ(grads.size(), 1u);
      const float got = static_cast<float>(grads.at(c.param));
      if (n == 0) {
        EXPECT_EQ(got, 0.0f);
      }
      expect_sum(got,
                 reference_grad(library(c.name), c.param, Shape::flat(static_cast<std::int64_t>(n)),
                                x, dy, c.values, {})[0],
                 c.term_ulps);
    }
  }
}

TEST(JitParamGrad, PerChannelPreluInTheChannelLayout) {
  const Kernel k = jit("prelu", options(Role::ParamGrad, Layout::Channels, {"a"}));
  ASSERT_EQ(k.input_ports().size(), 3u);
  EXPECT_EQ(k.input_ports()[2].name, "a");
  EXPECT_EQ(k.input_ports()[2].extent, Extent::Channels);
  EXPECT_EQ(k.output_ports()[0].name, "da");
  EXPECT_EQ(k.output_ports()[0].extent, Extent::Channels);
  EXPECT_TRUE(k.params().empty());
  for (const Shape s : {Shape::with_channels(7, 3, 5), Shape::with_channels(4, 1, 33),
                        Shape::with_channels(3, 37, 1), Shape::with_channels(2, 5, 100003),
                        Shape::with_channels(0, 3, 5), Shape::with_channels(1, 1, 1)}) {
    SCOPED_TRACE(testing::Message()
                 << "[" << s.outer << ", " << s.channels << ", " << s.inner << "]");
    const auto n = static_cast<std::size_t>(s.outer * s.channels * s.inner);
    const auto x = values(n, 31, -3, 3), dy = values(n, 32, -1, 1);
    const auto a = values(static_cast<std::size_t>(s.channels), 33, 0.05f, 0.5f);
    std::vector<float> da(static_cast<std::size_t>(s.channels), -7.0f);
    k.run({x.data(), dy.data(), a.data()}, {da.data()}, s);
    const auto want = reference_grad(library("prelu"), "a", s, x, dy, {}, a);
    for (std::size_t c = 0; c < da.size(); ++c)
      expect_sum(da[c], want[c], 0);
  }
}

TEST(JitParamGrad, ScalarParameterInTheChannelLayout) {
  // swish's beta as one scalar over [outer, C, inner]: the same sum as the flat kernel.
  const Kernel ch = jit("swish", options(Role::ParamGrad, Layout::Channels));
  const Kernel flat = jit("swish", options(Role::ParamGrad));
  const Shape s = Shape::with_channels(3, 4, 21);
  const auto x = values(252, 5, -5, 5), dy = values(252, 6, -1, 1);
  float dbeta = 0;
  ch.run({x.data(), dy.data()}, {&dbeta}, s, {{"beta", 1.5}});
  expect_sum(dbeta, reference_grad(library("swish"), "beta", s, x, dy, {{"beta", 1.5}}, {})[0], 8);
  EXPECT_NEAR(dbeta, flat.param_grad(x.data(), dy.data(), 252, {{"beta", 1.5}}).at("beta"),
              1e-5 * std::fabs(dbeta));
}

TEST(JitParamGrad, WrtChoosesTheOutputs) {
  JitOptions o = options(Role::ParamGrad);
  const Kernel both = jit("hardtanh", o);
  o.wrt = {"lo"};
  const Kernel lo = jit("hardtanh", o);
  ASSERT_EQ(both.output_ports().size(), 2u);
  ASSERT_EQ(lo.output_ports().size(), 1u);
  const auto x = values(1003, 8, -3, 3), dy = values(1003, 9, -1, 1);
  EXPECT_EQ(lo.param_grad(x.data(), dy.data(), 1003).at("lo"),
            both.param_grad(x.data(), dy.data(), 1003).at("lo"));
}

// Arrays of more than 2^31 floats without the memory: untouched anonymous pages read as zeros
// (the kernel's zero page). A few planted values, at both ends and at the 2^30-element seams of
// the pieces the call is cut into, make the sum.
class ZeroPages {
public:
  explicit ZeroPages(std::size_t n) : bytes_(n * sizeof(float)) {
    void *p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    data_ = p == MAP_FAILED ? nullptr : static_cast<float *>(p);
    if (data_) ::madvise(data_, bytes_, MADV_HUGEPAGE); // the huge zero page: fewer faults
  }
  ~ZeroPages() {
    if (data_) ::munmap(data_, bytes_);
  }
  float *data() const { return data_; }

private:
  std::size_t bytes_;
  float *data_;
};

TEST(JitParamGrad, MoreThan2To31ElementsFlat) {
  const std::int64_t n = (std::int64_t{1} << 31) + 17;
  ZeroPages x(static_cast<std::size_t>(n)), dy(static_cast<std::size_t>(n));
  if (!x.data() || !dy.data()) GTEST_SKIP() << "cannot map 2 x 8 GiB of address space";
  // prelu's ∂f/∂a is x where x <= 0: the sum is Σ dy·x over the planted negative x.
  long double want = 0;
  const std::int64_t seam = std::int64_t{1} << 30;
  for (std::int64_t at : {std::int64_t{0}, seam - 1, seam, 2 * seam - 1, 2 * seam, n - 1}) {
    x.data()[at] = -static_cast<float>(at % 1000 + 1);
    dy.data()[at] = 0.5f;
    want += -0.5L * static_cast<long double>(at % 1000 + 1);
  }
  const Kernel k = jit("prelu", options(Role::ParamGrad));
  EXPECT_EQ(k.param_grad(x.data(), dy.data(), n).at("a"), static_cast<double>(want));
}

TEST(JitParamGrad, MoreThan2To31ElementsPerChannel) {
  // [9, 2, 2^27 + 1]: blocks of 3 outer rows; per channel the sum spans 3 blocks.
  const Shape s = Shape::with_channels(9, 2, (std::int64_t{1} << 27) + 1);
  const std::int64_t n = s.outer * s.channels * s.inner;
  ASSERT_GT(n, std::int64_t{1} << 31);
  ZeroPages x(static_cast<std::size_t>(n)), dy(static_cast<std::size_t>(n));
  if (!x.data() || !dy.data()) GTEST_SKIP() << "cannot map 2 x 9 GiB of address space";
  long double want[2] = {0, 0};
  for (std::int64_t o : {0, 2, 3, 8})
    for (std::int64_t c : {0, 1})
      for (std::int64_t i : {std::int64_t{0}, s.inner - 1}) {
        const std::int64_t at = (o * s.channels + c) * s.inner + i;
        x.data()[at] = -static_cast<float>(o + 1 + 10 * c);
        dy.data()[at] = 2.0f;
        want[c] += -2.0L * (o + 1 + 10 * c);
      }
  const Kernel k = jit("prelu", options(Role::ParamGrad, Layout::Channels, {"a"}));
  const float a[2] = {0.25f, 0.5f};
  float da[2] = {1, 1};
  k.run({x.data(), dy.data(), a}, {da}, s);
  EXPECT_EQ(da[0], static_cast<float>(want[0]));
  EXPECT_EQ(da[1], static_cast<float>(want[1]));
}

TEST(JitChannels, PerChannelForwardAndBackwardMatchTheInterpreter) {
  for (const Role role : {Role::Forward, Role::Backward}) {
    const Kernel k = jit("prelu", options(role, Layout::Channels, {"a"}));
    EXPECT_NE(k.name().find("_ch_f32_"), std::string::npos) << k.name();
    const ir::Program f(role == Role::Forward ? library("prelu")
                                              : ir::differentiate(library("prelu"), ir::input(0)));
    for (const Shape s : {Shape::with_channels(2, 3, 35), Shape::with_channels(5, 1, 9),
                          Shape::with_channels(3, 37, 1)}) {
      const auto n = static_cast<std::size_t>(s.outer * s.channels * s.inner);
      const auto x = values(n, 41, -3, 3), dy = values(n, 42, -1, 1);
      const auto a = values(static_cast<std::size_t>(s.channels), 43, 0.05f, 0.5f);
      std::vector<float> out(n);
      if (role == Role::Forward)
        k.run({x.data(), a.data()}, {out.data()}, s);
      else
        k.run({x.data(), dy.data(), a.data()}, {out.data()}, s);
      for (std::size_t e = 0; e < n; ++e) {
        const long double in[] = {x[e]}, p[] = {a[e / static_cast<std::size_t>(s.inner) %
                                                  static_cast<std::size_t>(s.channels)]};
        const long double v = f.eval<long double>(in, p);
        ASSERT_EQ(out[e], static_cast<float>(role == Role::Forward ? v : dy[e] * v)) << e;
      }
    }
  }
}

TEST(JitBackwardFromOutput, EqualsBackward) {
  for (const char *name : {"relu", "sigmoid", "tanh", "elu"}) {
    SCOPED_TRACE(name);
    const Kernel fwd = jit(name), bwd = jit(name, options(Role::Backward)),
                 bwdy = jit(name, options(Role::BackwardFromOutput));
    EXPECT_NE(bwdy.name().find("_bwdy_"), std::string::npos);
    EXPECT_EQ(bwdy.input_ports()[0].name, "y");
    const std::size_t n = 4001;
    auto x = values(n, 51, -4, 4);
    x[0] = 0, x[1] = -kInf, x[2] = kInf;
    const auto dy = values(n, 52, 0.5f, 2);
    std::vector<float> y(n), dx(n), dxy(n);
    fwd.forward(x.data(), y.data(), static_cast<std::int64_t>(n));
    bwd.backward(x.data(), dy.data(), dx.data(), static_cast<std::int64_t>(n));
    bwdy.backward_from_output(y.data(), dy.data(), dxy.data(), static_cast<std::int64_t>(n));
    for (std::size_t i = 0; i < n; ++i) {
      if (std::string(name) == "relu") {
        ASSERT_EQ(dxy[i], dx[i]) << "x=" << x[i];
        continue;
      }
      // y is f(x) rounded: g(y) differs from f'(x) by a few roundings, plus the absolute
      // error of forms that cancel (elu's y + alpha).
      const double tol = 8 * std::ldexp(1.0, -24) * std::fabs(dx[i]) +
                         std::ldexp(1.0, -23) * dy[i] * std::max(1.0f, std::fabs(y[i]));
      ASSERT_LE(std::fabs(dxy[i] - dx[i]), tol) << "x=" << x[i] << " y=" << y[i];
    }
  }
}

TEST(JitErrors, WrongCallsNameTheArgument) {
  const Kernel k = jit("swish", options(Role::ParamGrad));
  const float x[4] = {1, 2, 3, 4};
  float d = 0;
  auto message = [](auto &&f) {
    try {
      f();
    } catch (const Error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([&] { k.run({x}, {&d}, Shape::flat(4)); }),
            k.name() + " takes 2 input arrays (x, dy), got 1");
  EXPECT_EQ(message([&] {
              k.run({x, x}, {&d, &d}, Shape::flat(4));
            }),
            k.name() + " takes 1 output arrays (dbeta), got 2");
  EXPECT_EQ(message([&] {
              k.run({x, nullptr}, {&d}, Shape::flat(4));
            }),
            k.name() + ": input 'dy' is null");
  EXPECT_EQ(message([&] {
              k.run({x, x}, {nullptr}, Shape::flat(0));
            }),
            k.name() + ": output 'dbeta' is null");
  EXPECT_EQ(message([&] {
              k.run({x, x}, {&d}, Shape::flat(-1));
            }),
            k.name() + ": sizes must be >= 0, got n = -1");
  EXPECT_EQ(message([&] {
              k.run({x, x}, {&d}, Shape::with_channels(1, 2, 2));
            }),
            k.name() + " is flat: give its size as n elements (Shape::flat)");
  EXPECT_EQ(message([&] {
              k.run({x, x}, {&d}, Shape::flat(4), {{"gamma", 1}});
            }),
            k.name() + " has no parameter 'gamma'");
  EXPECT_EQ(message([&] { jit("swish").param_grad(x, x, 4); }),
            jit("swish").name() + " is a forward kernel, not param_grad");
  const double xd[1] = {1};
  double yd[1];
  EXPECT_EQ(message([&] { jit("swish").forward(xd, yd, 1); }),
            jit("swish").name() + " takes 4-byte elements, got a pointer to 8-byte ones");

  const Kernel ch = jit("prelu", options(Role::Forward, Layout::Channels, {"a"}));
  float y[4];
  EXPECT_EQ(message([&] {
              ch.run({x, x}, {y}, Shape::flat(4));
            }),
            ch.name() + " has the channel layout: give its size as "
                        "Shape::with_channels(outer, channels, inner)");
  EXPECT_EQ(message([&] {
              ch.run({x, x}, {y}, Shape::with_channels(1, 2, 2), {{"a", 0.5}});
            }),
            ch.name() + ": parameter 'a' is per-channel: pass its values as the input array 'a'");
  EXPECT_EQ(message([&] {
              ch.run({x, nullptr}, {y}, Shape::with_channels(1, 2, 2));
            }),
            ch.name() + ": input 'a' is null");
  EXPECT_EQ(message([&] {
              ch.run({x, x}, {y}, Shape::with_channels(1 << 30, 1 << 30, 1 << 30));
            }),
            ch.name() + ": [outer, channels, inner] = [1073741824, 1073741824, 1073741824] has "
                        "more than 2^63 elements");
}

TEST(JitErrors, SpecsThatCannotBeBuilt) {
  auto message = [](const char *expr, const JitOptions &o) {
    try {
      jit(expr, o);
    } catch (const Error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("prelu", options(Role::Forward, Layout::Flat, {"a"})),
            "per-channel parameters need the channel layout [outer, C, inner]");
  EXPECT_EQ(message("prelu", options(Role::Forward, Layout::Channels, {"b"})),
            "per-channel: the expression has no parameter 'b'");
  EXPECT_EQ(message("swish", options(Role::BackwardFromOutput)),
            "swish has no derivative expressible from its output; use backward");
  EXPECT_EQ(message("relu", options(Role::ParamGrad)),
            "param_grad: the expression has no parameters");
  JitOptions wrt = options(Role::Forward);
  wrt.wrt = {"beta"};
  EXPECT_EQ(message("swish", wrt),
            "wrt names the parameters of a param_grad kernel; this one is forward");
}

TEST(JitCacheKeys, LayoutPerChannelAndWrtMakeDifferentKernels) {
  const Kernel flat = jit("prelu");
  const Kernel ch = jit("prelu", options(Role::Forward, Layout::Channels));
  const Kernel per = jit("prelu", options(Role::Forward, Layout::Channels, {"a"}));
  EXPECT_EQ(flat.input_ports().size(), 1u);
  EXPECT_EQ(ch.input_ports().size(), 1u);
  EXPECT_EQ(per.input_ports().size(), 2u);
  EXPECT_EQ(flat.layout(), Layout::Flat);
  EXPECT_EQ(ch.layout(), Layout::Channels);
  EXPECT_EQ(ch.params().size(), 1u);
  EXPECT_TRUE(per.params().empty());
  ASSERT_EQ(per.per_channel().size(), 1u);
  // Asking again is a memory hit: nothing is compiled.
  const std::size_t compiled = jit_compile_count() + jit_disk_load_count();
  EXPECT_EQ(jit("prelu", options(Role::Forward, Layout::Channels, {"a"})).name(), per.name());
  EXPECT_EQ(jit_compile_count() + jit_disk_load_count(), compiled);
  // A scalar a over [outer, C, inner] is the flat kernel's result.
  const auto x = values(60, 3, -2, 2);
  std::vector<float> y1(60), y2(60);
  flat.forward(x.data(), y1.data(), 60, {{"a", 0.3}});
  ch.run({x.data()}, {y2.data()}, Shape::with_channels(3, 4, 5), {{"a", 0.3}});
  EXPECT_EQ(y1, y2);
}

} // namespace
} // namespace actforge
