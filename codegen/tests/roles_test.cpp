// Kernel roles (forward, backward, backward_from_output, param_grad) and layouts (flat,
// [outer, C, inner] with per-channel parameters), realized straight from the built Halide
// pipeline and compared with the long-double interpreter.
#include "actforge/codegen/halide/pipeline.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/from_output.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"

#include <Halide.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace actforge;
using codegen::DType;
using codegen::KernelSpec;
using codegen::Layout;
using codegen::Role;
namespace hp = actforge::codegen::halide;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

/// A call's size: flat n (inner = n, C = outer = 1) or [outer, C, inner].
struct Shape {
  Layout layout = Layout::Flat;
  int inner = 0, C = 1, outer = 1;
  int elements() const { return inner * C * outer; }
  static Shape flat(int n) { return {Layout::Flat, n, 1, 1}; }
  static Shape channels(int outer, int C, int inner) { return {Layout::Channels, inner, C, outer}; }
};

template <class T> std::size_t extent_size(hp::Extent e, const Shape &s) {
  switch (e) {
  case hp::Extent::Elements: return static_cast<std::size_t>(s.elements());
  case hp::Extent::Channels: return static_cast<std::size_t>(s.C);
  case hp::Extent::One: return 1;
  case hp::Extent::Pairs: return 2 * static_cast<std::size_t>(s.elements());
  }
  return 0;
}

// A Halide view of `data` with the shape the pipeline documents for this port.
template <class T> Halide::Buffer<T> view(std::vector<T> &data, hp::Extent e, const Shape &s) {
  if (e == hp::Extent::Elements && s.layout == Layout::Channels)
    return Halide::Buffer<T>(data.data(), {s.inner, s.C, s.outer});
  return Halide::Buffer<T>(data.data(), static_cast<int>(extent_size<T>(e, s)));
}

// The same memory as the pipeline's element type, which differs for f16 (CPU kernels read and
// write f16 arrays as uint16 bits; pipeline.cpp).
template <class T>
Halide::Buffer<> view_as(Halide::Type type, std::vector<T> &data, hp::Extent e, const Shape &s) {
  Halide::Buffer<> b = view(data, e, s);
  if (b.type() == type) return b;
  std::vector<int> sizes;
  for (int d = 0; d < b.dimensions(); ++d)
    sizes.push_back(b.dim(d).extent());
  return Halide::Buffer<>(type, data.data(), sizes);
}

/// Realizes `p` on `inputs` (one vector per p.inputs, in order) with scalar parameters by name.
template <class T>
std::vector<std::vector<T>> run(const hp::Pipeline &p, const Shape &s,
                                std::vector<std::vector<T>> inputs,
                                const std::map<std::string, double> &scalars = {}) {
  EXPECT_EQ(inputs.size(), p.inputs.size());
  Halide::ParamMap map;
  std::vector<Halide::Buffer<>> in;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    EXPECT_EQ(inputs[k].size(), extent_size<T>(p.inputs[k].extent, s)) << p.inputs[k].name;
    inputs[k].reserve(inputs[k].size() + 1); // a non-null pointer also for n = 0
    in.push_back(view_as(p.buffers[k].type(), inputs[k], p.inputs[k].extent, s));
    map.set(p.buffers[k], in.back());
  }
  for (std::size_t j = 0; j < p.param_names.size(); ++j)
    p.set_param(map, j, scalars.at(p.param_names[j]));
  std::vector<std::vector<T>> out;
  for (const auto &port : p.outputs)
    out.emplace_back(extent_size<T>(port.extent, s), T(-7));
  std::vector<Halide::Type> out_types; // one per output array: a Func may have several (a Tuple)
  for (const Halide::Func &f : p.pipeline.outputs())
    for (const Halide::Type &t : f.output_types())
      out_types.push_back(t);
  std::vector<Halide::Buffer<>> bufs;
  for (std::size_t k = 0; k < out.size(); ++k) {
    out[k].reserve(out[k].size() + 1);
    bufs.push_back(view_as(out_types.at(k), out[k], p.outputs[k].extent, s));
  }
  Halide::Pipeline pipeline = p.pipeline;
  pipeline.realize(Halide::Realization(bufs), Halide::get_jit_target_from_environment(), map);
  return out;
}

template <class T> hp::Pipeline build(KernelSpec spec, const codegen::Schedule &s = {}) {
  spec.dtype = sizeof(T) == 8 ? DType::F64 : DType::F32;
  return hp::build_pipeline(spec, s);
}

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

std::map<std::string, double> defaults(ir::Expr e) {
  std::map<std::string, double> p;
  for (const auto &info : ir::collect_params(e))
    p[info.name] = static_cast<double>(*info.default_value);
  return p;
}

// f (a Program) at one point, parameters from `scalar` or, per channel, `channel[name][c]`.
long double at(const ir::Program &f, std::vector<long double> in,
               const std::map<std::string, double> &scalar,
               const std::map<std::string, std::vector<float>> &channel = {}, int c = 0) {
  std::vector<long double> params;
  for (const auto &info : f.params()) {
    auto it = channel.find(info.name);
    params.push_back(it != channel.end() ? it->second[static_cast<std::size_t>(c)]
                                         : scalar.at(info.name));
  }
  return f.eval<long double>(in, params);
}

// |got - want| in units of float's spacing at want (0 when both NaN or equal).
double ulps(float got, long double want) {
  if (std::isnan(got) && std::isnan(static_cast<double>(want))) return 0;
  if (static_cast<long double>(got) == want) return 0;
  const float w = static_cast<float>(want);
  const float spacing = std::nextafter(std::fabs(w), kInf) - std::fabs(w);
  return static_cast<double>(std::fabs(static_cast<long double>(got) - want) / spacing);
}

bool same(float a, float b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// ---- backward_from_output ------------------------------------------------------------------

// Inputs covering both signs, the kinks and the tails.
std::vector<float> sweep() {
  std::vector<float> x;
  for (int k = -4000; k <= 4000; ++k)
    x.push_back(static_cast<float>(k) / 128.0f);
  for (float v : {0.0f, 1e-30f, 1e-40f, 6.0f, 20.0f, 88.0f, 1e30f, kInf})
    x.insert(x.end(), {v, -v});
  for (float kink : {-1.0f, 1.0f, 6.0f})
    x.insert(x.end(), {std::nextafter(kink, kInf), std::nextafter(kink, -kInf)});
  return x;
}

TEST(BackwardFromOutput, AgreesWithBackwardOnTheSameX) {
  for (const auto &row : dsl::from_output_table()) {
    SCOPED_TRACE(row.name);
    const auto params = defaults(row.f);
    const std::vector<float> x = sweep();
    const std::vector<float> dy = values(x.size(), 3, 0.5f, 2.0f);
    const Shape s = Shape::flat(static_cast<int>(x.size()));
    const auto y = run<float>(build<float>({row.f, Role::Forward}), s, {x}, params)[0];
    const auto dx = run<float>(build<float>({row.f, Role::Backward}), s, {x, dy}, params)[0];
    const auto dxy =
        run<float>(build<float>({row.f, Role::BackwardFromOutput}), s, {y, dy}, params)[0];
    const ir::Program g(row.g), df(ir::differentiate(row.f, ir::input(0)));
    const bool piecewise_linear =
        dsl::find_activation(row.name)->info.family == dsl::Family::PiecewiseLinear;
    double worst_own = 0, worst_true = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (piecewise_linear) {
        ASSERT_TRUE(same(dxy[i], dx[i])) << "x=" << x[i] << ": " << dxy[i] << " vs " << dx[i];
        continue;
      }
      // Against its own formula at the stored y: a few roundings, plus the absolute error of
      // forms that cancel (elu's y + alpha, celu's y/alpha + 1 where y nears -alpha).
      const long double own = dy[i] * at(g, {y[i]}, params);
      const double tol = 4 * ulps(std::nextafter(static_cast<float>(own), kInf), own) +
                         std::ldexp(1.0, -23) * dy[i] * std::max(1.0f, std::fabs(y[i]));
      const double err = std::fabs(static_cast<double>(dxy[i] - own));
      ASSERT_LE(err, tol) << "x=" << x[i] << " y=" << y[i] << ": " << dxy[i] << " vs " << own;
      if (std::fabs(own) >= std::ldexp(1.0L, -20))
        worst_own = std::max(worst_own, ulps(dxy[i], own));
      // Against the true f'(x): informative only. y holds f(x) rounded, and where f saturates
      // (sigmoid, tanh for |x| > 9; elu below -17) y no longer determines f'(x).
      if (std::fabs(x[i]) <= 4 && std::fabs(own) >= std::ldexp(1.0L, -20))
        worst_true = std::max(worst_true, ulps(dxy[i], dy[i] * at(df, {x[i]}, params)));
    }
    if (!piecewise_linear)
      std::printf(
          "  %-8s from y: max %.1f ulp vs its formula at y, %.1f ulp vs dy*f'(x) for |x| <= 4 "
          "(values >= 2^-20)\n",
          row.name.c_str(), worst_own, worst_true);
  }
}

TEST(BackwardFromOutput, NanInYOrDyGivesNan) {
  const ir::Expr f = library("tanh");
  const hp::Pipeline p = build<float>({f, Role::BackwardFromOutput});
  const auto out = run<float>(p, Shape::flat(3), {{kNaN, 0.5f, 0.25f}, {1, kNaN, 1}})[0];
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_TRUE(std::isnan(out[1]));
  EXPECT_FLOAT_EQ(out[2], (1 - 0.25f) * (1 + 0.25f));
}

TEST(BackwardFromOutput, UnsupportedActivationThrows) {
  try {
    build<float>({library("gelu"), Role::BackwardFromOutput});
    ADD_FAILURE() << "gelu built a from-output kernel";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()),
              "gelu has no derivative expressible from its output; use backward");
  }
}

// ---- param_grad, flat --------------------------------------------------------------------

struct Sum {
  long double value = 0, magnitude = 0; // Σ t and Σ |t|
};

// The long-double reference of dp = Σ dy·∂f/∂p, per channel when `per_channel`.
std::vector<Sum> reference_grad(ir::Expr f, const std::string &param, const Shape &s,
                                const std::vector<std::vector<float>> &in,
                                const std::vector<float> &dy,
                                const std::map<std::string, double> &scalar,
                                const std::map<std::string, std::vector<float>> &channel,
                                bool per_channel) {
  const ir::Program d(ir::differentiate(f, ir::param(param)));
  std::vector<Sum> sums(per_channel ? static_cast<std::size_t>(s.C) : 1);
  for (int o = 0; o < s.outer; ++o)
    for (int c = 0; c < s.C; ++c)
      for (int i = 0; i < s.inner; ++i) {
        const auto e = static_cast<std::size_t>((o * s.C + c) * s.inner + i);
        std::vector<long double> args;
        for (const auto &v : in)
          args.push_back(v[e]);
        const long double t = dy[e] * at(d, args, scalar, channel, c);
        Sum &sum = sums[per_channel ? static_cast<std::size_t>(c) : 0];
        sum.value += t;
        sum.magnitude += std::fabs(t);
      }
  return sums;
}

// |got - want| <= one rounding to float plus `term_ulps` ulps of every term (each term's
// derivative is computed in float, to ≤ 8 ulp for the transcendental ones).
void expect_sum(float got, const Sum &want, double term_ulps) {
  const long double bound = std::fabs(want.value) * std::ldexp(1.0L, -24) +
                            want.magnitude * term_ulps * std::ldexp(1.0L, -24) + 1e-30L;
  EXPECT_LE(std::fabs(got - want.value), bound) << got << " vs " << want.value;
}

struct GradCase {
  const char *name;
  const char *param;
  double term_ulps; // 0: every term is exact in f64 (∂f/∂p is x or 0)
};
const GradCase kGradCases[] = {{"swish", "beta", 8}, {"leaky_relu", "alpha", 0}, {"prelu", "a", 0}};

TEST(ParamGrad, ScalarParametersMatchLongDoubleSums) {
  for (const auto &gc : kGradCases) {
    SCOPED_TRACE(gc.name);
    const ir::Expr f = library(gc.name);
    const auto params = defaults(f);
    const hp::Pipeline p = build<float>({f, Role::ParamGrad});
    ASSERT_EQ(p.outputs.size(), 1u);
    EXPECT_EQ(p.outputs[0].name, std::string("d") + gc.param);
    EXPECT_EQ(p.outputs[0].extent, hp::Extent::One);
    for (int n : {0, 1, 2, 15, 16, 17, 33, 1001, 100003}) {
      const Shape s = Shape::flat(n);
      const auto x = values(static_cast<std::size_t>(n), 11, -6, 4);
      const auto dy = values(static_cast<std::size_t>(n), 12, -1, 2);
      const float got = run<float>(p, s, {x, dy}, params)[0][0];
      const Sum want = reference_grad(f, gc.param, s, {x}, dy, params, {}, false)[0];
      if (n == 0) {
        EXPECT_EQ(got, 0.0f);
      }
      expect_sum(got, want, gc.term_ulps);
    }
  }
}

// 10^7 terms: the f64 accumulation keeps f32 results correctly rounded (exact terms) and f64
// results within a few ulps of Σ|t|·eps (Kahan). Prints the measured relative errors.
TEST(ParamGrad, TenMillionTermsStayAccurate) {
  const ir::Expr f = library("leaky_relu");
  const int n = 10'000'000;
  const Shape s = Shape::flat(n);
  const auto x = values(static_cast<std::size_t>(n), 21, -3, 1);
  const auto dy = values(static_cast<std::size_t>(n), 22, 0.1f, 1);
  const auto params = defaults(f);
  const Sum want = reference_grad(f, "alpha", s, {x}, dy, params, {}, false)[0];

  const hp::Pipeline p32 = build<float>({f, Role::ParamGrad});
  const auto t0 = std::chrono::steady_clock::now();
  const float got32 = run<float>(p32, s, {x, dy}, params)[0][0];
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(run<float>(p32, s, {x, dy}, params)[0][0], got32); // deterministic
  const double warm_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  const long double rel32 = std::fabs(got32 - want.value) / std::fabs(want.value);
  EXPECT_LE(rel32, std::ldexp(1.0L, -24)); // the sum rounded once to float

  const std::vector<double> x64(x.begin(), x.end()), dy64(dy.begin(), dy.end());
  const hp::Pipeline p64 = build<double>({f, Role::ParamGrad});
  const double got64 = run<double>(p64, s, {x64, dy64}, params)[0][0];
  const long double rel64 = std::fabs(got64 - want.value) / std::fabs(want.value);
  EXPECT_LE(std::fabs(got64 - want.value), 4 * std::ldexp(1.0L, -53) * want.magnitude);
  std::printf("  n=1e7 leaky_relu dalpha: f32 rel err %.3Lg (first run incl. JIT %.0f ms), "
              "f64 rel err %.3Lg; second f32 run %.1f ms (incl. copying the inputs)\n",
              rel32, ms, rel64, warm_ms);
}

TEST(ParamGrad, NanAndInfinityPropagate) {
  const ir::Expr f = library("leaky_relu");
  const hp::Pipeline p = build<float>({f, Role::ParamGrad});
  const auto params = defaults(f);
  std::vector<float> x = values(40, 5, -2, 2), dy(40, 1.0f);
  x[23] = kNaN;
  EXPECT_TRUE(std::isnan(run<float>(p, Shape::flat(40), {x, dy}, params)[0][0]));
  x[23] = 0.5f;
  dy[38] = kNaN; // in the tail of the vector loop
  EXPECT_TRUE(std::isnan(run<float>(p, Shape::flat(40), {x, dy}, params)[0][0]));
  dy[38] = 1;
  x[7] = -kInf; // ∂f/∂alpha = x: the sum is -inf
  EXPECT_EQ(run<float>(p, Shape::flat(40), {x, dy}, params)[0][0], -kInf);
  const hp::Pipeline p64 = build<double>({f, Role::ParamGrad});
  const std::vector<double> x64(x.begin(), x.end()), dy64(dy.begin(), dy.end());
  EXPECT_EQ(run<double>(p64, Shape::flat(40), {x64, dy64}, params)[0][0],
            -std::numeric_limits<double>::infinity());
}

TEST(ParamGrad, SeveralParametersInOnePass) {
  const ir::Expr f = library("hardtanh");
  const auto params = defaults(f);
  const hp::Pipeline p = build<float>({f, Role::ParamGrad});
  ASSERT_EQ(p.outputs.size(), 2u);
  EXPECT_EQ(p.outputs[0].name, "dhi");
  EXPECT_EQ(p.outputs[1].name, "dlo");
  const Shape s = Shape::flat(1003);
  const auto x = values(1003, 8, -3, 3), dy = values(1003, 9, -1, 1);
  const auto out = run<float>(p, s, {x, dy}, params);
  expect_sum(out[0][0], reference_grad(f, "hi", s, {x}, dy, params, {}, false)[0], 0);
  expect_sum(out[1][0], reference_grad(f, "lo", s, {x}, dy, params, {}, false)[0], 0);
  const hp::Pipeline only_lo =
      build<float>({f, Role::ParamGrad, DType::F32, Layout::Flat, {}, {"lo"}});
  ASSERT_EQ(only_lo.outputs.size(), 1u);
  EXPECT_EQ(run<float>(only_lo, s, {x, dy}, params)[0][0], out[1][0]);
}

// ---- the channel layout ------------------------------------------------------------------

struct ChannelRun {
  Shape shape;
  codegen::Schedule schedule;
};
const ChannelRun kChannelRuns[] = {
    {Shape::channels(7, 3, 5), {}},               // the shape of the brief: rows < a vector
    {Shape::channels(2, 3, 35), {}},              // rows of whole vectors plus a tail
    {Shape::channels(3, 37, 1), {}},              // channels-last: vectors across channels
    {Shape::channels(0, 3, 5), {}},               // no elements
    {Shape::channels(4, 5, 33), {8, 2, 16 * 33}}, // parallel over outer
};

// prelu with a per-channel: forward, backward and da per channel, vs the interpreter.
TEST(Channels, PerChannelPreluAllRoles) {
  const ir::Expr f = library("prelu");
  for (const auto &cr : kChannelRuns) {
    const Shape s = cr.shape;
    SCOPED_TRACE(testing::Message() << "outer=" << s.outer << " C=" << s.C << " inner=" << s.inner);
    const auto n = static_cast<std::size_t>(s.elements());
    const auto x = values(n, 31, -3, 3), dy = values(n, 32, -1, 1);
    const std::vector<float> a = values(static_cast<std::size_t>(s.C), 33, 0.05f, 0.5f);
    const KernelSpec base{f, Role::Forward, DType::F32, Layout::Channels, {"a"}};
    KernelSpec fwd = base, bwd = base, grad = base;
    bwd.role = Role::Backward;
    grad.role = Role::ParamGrad;
    const hp::Pipeline pf = build<float>(fwd, cr.schedule), pb = build<float>(bwd, cr.schedule),
                       pg = build<float>(grad, cr.schedule);
    ASSERT_EQ(pf.inputs.size(), 2u);
    EXPECT_EQ(pf.inputs[1].name, "a");
    EXPECT_EQ(pf.inputs[1].extent, hp::Extent::Channels);
    EXPECT_TRUE(pf.param_names.empty());
    EXPECT_EQ(pg.outputs[0].extent, hp::Extent::Channels);
    const auto y = run<float>(pf, s, {x, a})[0];
    const auto dx = run<float>(pb, s, {x, dy, a})[0];
    const auto da = run<float>(pg, s, {x, dy, a})[0];
    const std::map<std::string, std::vector<float>> channel{{"a", a}};
    const ir::Program pfx(f), pdx(ir::differentiate(f, ir::input(0)));
    for (int o = 0; o < s.outer; ++o)
      for (int c = 0; c < s.C; ++c)
        for (int i = 0; i < s.inner; ++i) {
          const auto e = static_cast<std::size_t>((o * s.C + c) * s.inner + i);
          ASSERT_EQ(y[e], static_cast<float>(at(pfx, {x[e]}, {}, channel, c))) << e;
          ASSERT_EQ(dx[e], static_cast<float>(dy[e] * at(pdx, {x[e]}, {}, channel, c))) << e;
        }
    const auto want = reference_grad(f, "a", s, {x}, dy, {}, channel, true);
    for (int c = 0; c < s.C; ++c)
      expect_sum(da[static_cast<std::size_t>(c)], want[static_cast<std::size_t>(c)], 0);
    // The same kernel with a scalar a: one gradient over every element.
    KernelSpec scalar = grad;
    scalar.per_channel.clear();
    const hp::Pipeline ps = build<float>(scalar, cr.schedule);
    EXPECT_EQ(ps.outputs[0].extent, hp::Extent::One);
    const float da1 = run<float>(ps, s, {x, dy}, {{"a", 0.25}})[0][0];
    expect_sum(da1, reference_grad(f, "a", s, {x}, dy, {{"a", 0.25}}, {}, false)[0], 0);
  }
}

// A per-channel parameter of a transcendental activation, and a from-output kernel with one.
TEST(Channels, SwishBetaAndLeakyFromOutputPerChannel) {
  const Shape s = Shape::channels(7, 3, 5);
  const auto n = static_cast<std::size_t>(s.elements());
  const auto x = values(n, 41, -6, 6), dy = values(n, 42, -1, 1);
  const std::vector<float> beta{0.5f, 1.0f, 1.702f};
  const std::map<std::string, std::vector<float>> channel{{"beta", beta}};
  const ir::Expr swish = library("swish");
  const KernelSpec fwd{swish, Role::Forward, DType::F32, Layout::Channels, {"beta"}};
  KernelSpec grad = fwd;
  grad.role = Role::ParamGrad;
  const auto y = run<float>(build<float>(fwd), s, {x, beta})[0];
  const auto dbeta = run<float>(build<float>(grad), s, {x, dy, beta})[0];
  const ir::Program f(swish);
  for (std::size_t e = 0; e < n; ++e) {
    const int c = static_cast<int>(e / 5 % 3);
    EXPECT_LE(ulps(y[e], at(f, {x[e]}, {}, channel, c)), 4) << e;
  }
  const auto want = reference_grad(swish, "beta", s, {x}, dy, {}, channel, true);
  for (std::size_t c = 0; c < 3; ++c)
    expect_sum(dbeta[c], want[c], 8);

  const ir::Expr leaky = library("leaky_relu");
  const std::vector<float> alpha{0.01f, 0.1f, 0.3f};
  const KernelSpec lf{leaky, Role::Forward, DType::F32, Layout::Channels, {"alpha"}};
  KernelSpec lb = lf, ly = lf;
  lb.role = Role::Backward;
  ly.role = Role::BackwardFromOutput;
  const auto ly_out = run<float>(build<float>(lf), s, {x, alpha})[0];
  const auto dx = run<float>(build<float>(lb), s, {x, dy, alpha})[0];
  const auto dxy = run<float>(build<float>(ly), s, {ly_out, dy, alpha})[0];
  for (std::size_t e = 0; e < n; ++e)
    ASSERT_TRUE(same(dx[e], dxy[e])) << e;
}

// Gated activations in the channel layout: the same bits as the flat kernels (one expression,
// one lowering), and a parameter of the gate per channel.
TEST(Channels, GatedActivations) {
  const Shape s = Shape::channels(3, 4, 9);
  const auto n = static_cast<std::size_t>(s.elements());
  const auto x = values(n, 51, -4, 4), g = values(n, 52, -4, 4), dy = values(n, 53, -1, 1);
  for (const char *name : {"swiglu", "glu", "reglu"}) {
    SCOPED_TRACE(name);
    const ir::Expr f = library(name);
    const auto flat_y = run<float>(build<float>({f, Role::Forward}), Shape::flat(int(n)), {x, g});
    const auto flat_d =
        run<float>(build<float>({f, Role::Backward}), Shape::flat(int(n)), {x, g, dy});
    const auto y =
        run<float>(build<float>({f, Role::Forward, DType::F32, Layout::Channels}), s, {x, g});
    const auto d =
        run<float>(build<float>({f, Role::Backward, DType::F32, Layout::Channels}), s, {x, g, dy});
    ASSERT_EQ(d.size(), 2u);
    for (std::size_t e = 0; e < n; ++e) {
      ASSERT_TRUE(same(y[0][e], flat_y[0][e])) << e;
      ASSERT_TRUE(same(d[0][e], flat_d[0][e])) << e;
      ASSERT_TRUE(same(d[1][e], flat_d[1][e])) << e;
    }
  }
  const ir::Expr gate = dsl::parse_with_library("x * sigmoid(beta * g), beta=1");
  const std::vector<float> beta{0.5f, 1, 2, 3};
  const std::map<std::string, std::vector<float>> channel{{"beta", beta}};
  const auto dbeta =
      run<float>(build<float>({gate, Role::ParamGrad, DType::F32, Layout::Channels, {"beta"}}), s,
                 {x, g, dy, beta})[0];
  const auto want = reference_grad(gate, "beta", s, {x, g}, dy, {}, channel, true);
  for (std::size_t c = 0; c < 4; ++c)
    expect_sum(dbeta[c], want[c], 8);
}

TEST(Channels, NanStaysInItsChannel) {
  const Shape s = Shape::channels(7, 3, 5);
  const auto n = static_cast<std::size_t>(s.elements());
  auto x = values(n, 61, -3, 3);
  const auto dy = values(n, 62, -1, 1);
  x[1 * 15 + 2 * 5 + 4] = kNaN; // o = 1, c = 2, i = 4
  const KernelSpec spec{library("prelu"), Role::ParamGrad, DType::F32, Layout::Channels, {"a"}};
  const auto da = run<float>(build<float>(spec), s, {x, dy, {0.25f, 0.25f, 0.25f}})[0];
  EXPECT_FALSE(std::isnan(da[0]));
  EXPECT_FALSE(std::isnan(da[1]));
  EXPECT_TRUE(std::isnan(da[2]));
  KernelSpec fwd = spec;
  fwd.role = Role::Forward;
  const auto y = run<float>(build<float>(fwd), s, {x, {0.25f, 0.25f, 0.25f}})[0];
  for (std::size_t e = 0; e < n; ++e)
    EXPECT_EQ(std::isnan(y[e]), e == 1 * 15 + 2 * 5 + 4) << e;
}

// f16 storage: per-channel gradients are summed in f64 and rounded once to f16.
TEST(Channels, HalfPrecisionStorage) {
  const Shape s = Shape::channels(5, 2, 17);
  const auto n = static_cast<std::size_t>(s.elements());
  const auto xf = values(n, 71, -3, 1), dyf = values(n, 72, 0.25f, 1);
  std::vector<Halide::float16_t> x, dy, a{Halide::float16_t(0.25f), Halide::float16_t(0.5f)};
  std::vector<float> xr, dyr;
  for (std::size_t e = 0; e < n; ++e) {
    x.emplace_back(xf[e]);
    dy.emplace_back(dyf[e]);
    xr.push_back(static_cast<float>(x.back()));
    dyr.push_back(static_cast<float>(dy.back()));
  }
  const ir::Expr f = library("prelu");
  const hp::Pipeline p =
      hp::build_pipeline({f, Role::ParamGrad, DType::F16, Layout::Channels, {"a"}}, {16, 1, 0});
  const auto da = run<Halide::float16_t>(p, s, {x, dy, a})[0];
  const auto want = reference_grad(f, "a", s, {xr}, dyr, {}, {{"a", {0.25f, 0.5f}}}, true);
  for (std::size_t c = 0; c < 2; ++c)
    EXPECT_EQ(static_cast<float>(da[c]),
              static_cast<float>(Halide::float16_t(static_cast<double>(want[c].value))));
}

// ---- errors --------------------------------------------------------------------------------

void expect_error(const KernelSpec &spec, const std::string &message) {
  try {
    hp::build_pipeline(spec, {});
    ADD_FAILURE() << "no error, expected: " << message;
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
}

TEST(Specs, BadSpecsThrowClearly) {
  const ir::Expr prelu = library("prelu");
  expect_error({prelu, Role::Forward, DType::F32, Layout::Flat, {"a"}},
               "per-channel parameters need the channel layout [outer, C, inner]");
  expect_error({prelu, Role::Forward, DType::F32, Layout::Channels, {"b"}},
               "per-channel: the expression has no parameter 'b'");
  expect_error({prelu, Role::ParamGrad, DType::F32, Layout::Flat, {}, {"a", "a"}},
               "param_grad: parameter 'a' is listed twice");
  expect_error({prelu, Role::Backward, DType::F32, Layout::Flat, {}, {"a"}},
               "wrt names the parameters of a param_grad kernel; this one is backward");
  expect_error({library("relu"), Role::ParamGrad}, "param_grad: the expression has no parameters");
  EXPECT_EQ(codegen::parse_role("backward_from_output"), Role::BackwardFromOutput);
  EXPECT_EQ(codegen::parse_role("param_grad"), Role::ParamGrad);
  EXPECT_EQ(codegen::parse_layout("channels"), Layout::Channels);
  EXPECT_EQ(codegen::short_name(Role::BackwardFromOutput), "bwdy");
}

// The documented argument order: data buffers, per-channel buffers, scalars.
TEST(Specs, ArgumentOrder) {
  const ir::Expr f = dsl::parse_with_library("x * sigmoid(beta * g) + alpha * x, beta=1, alpha=2");
  const hp::Pipeline p =
      hp::build_pipeline({f, Role::ParamGrad, DType::F32, Layout::Channels, {"beta"}}, {});
  std::vector<std::string> names;
  for (const auto &arg : p.arguments())
    names.push_back(arg.name);
  EXPECT_EQ(names, (std::vector<std::string>{"x", "g", "dy", "beta", "alpha"}));
  ASSERT_EQ(p.outputs.size(), 2u);
  EXPECT_EQ(p.outputs[0].name, "dalpha");
  EXPECT_EQ(p.outputs[0].extent, hp::Extent::One);
  EXPECT_EQ(p.outputs[1].name, "dbeta");
  EXPECT_EQ(p.outputs[1].extent, hp::Extent::Channels);
  EXPECT_EQ(hp::dimensions(hp::Extent::Elements, Layout::Channels), 3);
  EXPECT_EQ(p.buffers[0].dimensions(), 3);
  EXPECT_EQ(p.buffers[3].dimensions(), 1);
}

} // namespace
