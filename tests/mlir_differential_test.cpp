// Differential tests of the two backends (label mlir): the same kernel compiled by Halide
// (actforge::jit, host) and by MLIR (runtime::mlir::Library, host) must agree with each other and
// with the long-double reference:
//   - every library activation × role (forward, backward[_g], backward_from_output, param_grad)
//     in f32 on a sample of 2^16 f32 patterns plus special values;
//   - random expressions (depth ≤ 6 over every IR node kind: constants, x, a parameter, + − × ÷,
//     neg, exp, expm1, log, log1p, sqrt, rsqrt, abs, integer powers, min, max, select over each
//     comparison, sigmoid, tanh, erf, erfc, softplus), forward and backward, on 600 points of
//     [-12, 12] and special values: ACTFORGE_MLIR_RANDOM=N expressions (default 200),
//     ACTFORGE_MLIR_SEED=S (default 1).
// At each point both backends must be within 8 ulp of the reference plus the first-order error
// bound of evaluating the formula node by node in f32 (the bound that holds the MLIR kernels in
// kernel_check), NaN exactly where the reference is: so they agree with it and with each other.
// Points where that bound is undefined are counted, not judged: a select whose condition's
// operands lie within their error bounds of each other (either branch may be right), a domain
// edge (a log at a rounding of 0), and, for gated kernels, an infinite input with an extreme
// partner (outside the infinity guard's scheme, as in kernel_check). Skips when actforge-mlir
// is missing.
#include "actforge/check/numeric.hpp"
#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/from_output.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/print.hpp"
#include "actforge/runtime/formula_bound.hpp"
#include "actforge/runtime/jit.hpp"
#include "actforge/runtime/mlir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace actforge;
using codegen::DType;
using codegen::Role;

constexpr float kInf = std::numeric_limits<float>::infinity();

/// What one comparison found.
struct Tally {
  long points = 0, equal = 0, undecided = 0;
  std::vector<std::string> disagreements;
};

long double ulp_f32(long double v) {
  const float f = static_cast<float>(std::fabs(v));
  if (!std::isfinite(f)) return std::numeric_limits<long double>::infinity();
  return std::max<long double>(std::nextafter(f, kInf) - f, 0x1p-149L);
}

/// One kernel (role) of expression f: its formula per output, of x (and g), times dy.
struct Formula {
  ir::Expr expr; // of ir::input(0..) ; for backward_from_output of y
  bool times_dy = false;
};

/// Whether v is within `tolerance` of the reference r (NaN only where r is NaN). A tolerance
/// beyond the float range admits anything: the formula may overflow on the way.
bool near(float v, long double r, long double tolerance) {
  if (tolerance > FLT_MAX) return true;
  if (std::isnan(r) || std::isnan(v)) return std::isnan(r) && std::isnan(v);
  if (std::isinf(r) || std::isinf(v)) return static_cast<long double>(v) == r;
  return std::fabs(static_cast<long double>(v) - r) <= tolerance;
}

/// The reference side of one kernel output: the formula, its long-double program (with limits
/// at ±inf), its f32 error bound, and its plain f32 evaluation.
class Judge {
public:
  Judge(const Formula &f, const Params &params, bool gated)
      : f_(f), program_(f.expr), gated_(gated), long_params_(to_long(params)),
        bound_(f.expr, long_params_, DType::F32, true) {
    for (const auto &info : program_.params()) {
      pv_.push_back(params.at(info.name));
      pf_.push_back(static_cast<float>(params.at(info.name)));
    }
  }

  /// Judges halide (a) and mlir (b) at x (and g, dy): each within 8 ulp of the reference plus
  /// the formula's f32 error bound.
  void operator()(long double x, long double g, long double dy, float a, float b,
                  const std::string &what, Tally &t) {
    ++t.points;
    if (std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b) ||
        (std::isnan(a) && std::isnan(b)))
      ++t.equal;
    const bool same = a == b || (std::isnan(a) && std::isnan(b)); // -0 == 0
    const bool infinite_input = std::isinf(x) || (gated_ && std::isinf(g));
    // A gated kernel at an infinite input with an extreme partner: outside the infinity guard's
    // scheme (kernel_check's limit_comparable).
    if (gated_ && infinite_input) {
      const long double other = std::fabs(std::isinf(x) ? g : x);
      if ((std::isinf(x) && std::isinf(g)) || (other != 0 && (other < 0x1p-20L || other > 16)))
        return undecided(t);
    }
    std::vector<long double> in{x, g};
    in.resize(static_cast<std::size_t>(std::max(1, program_.num_inputs())));
    // NaN in, NaN out (ACTIVATIONS.md); at ±inf the limit (check::reference_value).
    long double r = std::numeric_limits<long double>::quiet_NaN();
    if (!std::isnan(x) && !(gated_ && std::isnan(g))) {
      const bool along_g = gated_ && std::isinf(g);
      const check::Probe probe{&program_, in, pv_, along_g ? 1 : 0, false};
      r = check::reference_value(probe, along_g ? g : x);
    }
    long double e = bound_.at(x, g);
    if (f_.times_dy) {
      r *= dy;
      e *= std::fabs(dy);
    }
    const long double tolerance = 8 * ulp_f32(r) + e;
    if (std::isnan(r) && !std::isnan(x) && !(gated_ && std::isnan(g))) {
      // No limit at ±inf; NaN in exact arithmetic where evaluating in f32 is not NaN (an
      // intermediate that underflows to 0 before a division, a log or a square root); or both
      // kernels give the same number: their products let a saturated 0 beat an infinite factor
      // (0 · log(0) = 0, by design: codegen/halide/primitives.hpp), where IEEE says NaN.
      // Or a pole: the reference beyond the float range one f32 step away (x = 0 in 1/x · ...).
      const std::vector<float> inf32(in.begin(), in.end());
      if (infinite_input || !std::isnan(program_.eval<float>(inf32, pf_)) || same || pole(in))
        return undecided(t);
    } else if (std::isnan(tolerance)) {
      return undecided(t); // a branch either evaluation may take, or a domain edge
    }
    const bool ok_a = near(a, r, tolerance), ok_b = near(b, r, tolerance);
    if (ok_a && ok_b) return;
    // At ±inf both evaluate at ±2^40 (the infinity guard): a slowly varying f (√x, 1/√x,
    // log x) has not reached its limit there. A limit of the guard, the same in both.
    if (infinite_input && same) return undecided(t);
    if (t.disagreements.size() < 8) {
      char buf[300];
      std::snprintf(buf, sizeof buf,
                    " at x=%.9Lg g=%.9Lg: halide %.9g%s, mlir %.9g%s, reference %.9Lg, "
                    "tolerance %.3Lg",
                    x, g, static_cast<double>(a), ok_a ? "" : " (off)", static_cast<double>(b),
                    ok_b ? "" : " (off)", r, tolerance);
      t.disagreements.push_back(what + buf);
    }
  }

private:
  static std::map<std::string, long double, std::less<>> to_long(const Params &params) {
    std::map<std::string, long double, std::less<>> p;
    for (const auto &[name, v] : params)
      p[name] = v;
    return p;
  }
  static void undecided(Tally &t) { ++t.undecided; }
  bool pole(std::vector<long double> in) const {
    const float x = static_cast<float>(in[0]);
    for (float next : {std::nextafter(x, -kInf), std::nextafter(x, kInf)}) {
      in[0] = next;
      const long double v = program_.eval<long double>(in, pv_);
      if (!std::isnan(v) && std::fabs(v) > FLT_MAX) return true;
    }
    return false;
  }
  Formula f_;
  ir::Program program_;
  bool gated_;
  std::map<std::string, long double, std::less<>> long_params_; // bound_ keeps a reference
  runtime::FormulaErrorBound bound_;
  std::vector<long double> pv_;
  std::vector<float> pf_;
};

/// Inputs: `xs` for x; g and dy derived from the index (deterministic, varied).
struct Sample {
  std::vector<float> x, g, dy;
};

Sample make_sample(std::vector<float> xs) {
  Sample s;
  s.x = std::move(xs);
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    s.g.push_back(s.x[(i * 7919 + 13) % s.x.size()]);
    s.dy.push_back(0.25f + static_cast<float>(i % 11) / 8);
  }
  return s;
}

/// Runs both backends' kernels of `role` of f on the sample and judges every output.
void compare(const std::string &label, ir::Expr f, Role role, const runtime::mlir::Kernel &mk,
             const Params &params, const Sample &s, Tally &t) {
  const int inputs = std::max(1, ir::count_inputs(f));
  JitOptions o;
  o.role = role;
  o.dtype = DType::F32;
  const Kernel hk = jit(f, o, "diff");
  const std::size_t n = s.x.size();
  std::vector<const void *> in;
  std::vector<Formula> formulas;
  if (role == Role::BackwardFromOutput) {
    // y = f(x) computed by the Halide forward kernel feeds both.
    static thread_local std::vector<float> y;
    y.assign(n, 0);
    JitOptions fo;
    const Kernel fwd = jit(f, fo, "diff");
    const std::vector<const void *> fin{s.x.data()};
    const std::vector<void *> fout{y.data()};
    fwd.run(std::span<const void *const>(fin), std::span<void *const>(fout),
            static_cast<std::int64_t>(n), params);
    in = {y.data(), s.dy.data()};
    formulas.push_back({dsl::derivative_from_output(f), true});
  } else {
    in.push_back(s.x.data());
    if (inputs > 1) in.push_back(s.g.data());
    if (role == Role::Forward) {
      formulas.push_back({f, false});
    } else {
      in.push_back(s.dy.data());
      for (int k = 0; k < inputs; ++k)
        formulas.push_back({ir::differentiate(f, ir::input(k)), true});
    }
  }
  std::vector<std::vector<float>> ha(formulas.size(), std::vector<float>(n)),
      ma(formulas.size(), std::vector<float>(n));
  std::vector<void *> hout, mout;
  for (std::size_t k = 0; k < formulas.size(); ++k) {
    hout.push_back(ha[k].data());
    mout.push_back(ma[k].data());
  }
  hk.run(std::span<const void *const>(in), std::span<void *const>(hout),
         static_cast<std::int64_t>(n), params);
  std::vector<float> pv;
  for (const auto &name : mk.module().params)
    pv.push_back(static_cast<float>(params.at(name)));
  ASSERT_EQ(mk.call(in, mout, static_cast<std::int64_t>(n), &pv), 0);
  for (std::size_t k = 0; k < formulas.size(); ++k) {
    Judge judge(formulas[k], params, inputs > 1);
    for (std::size_t i = 0; i < n; ++i) {
      const long double x = role == Role::BackwardFromOutput ? static_cast<const float *>(in[0])[i]
                                                             : static_cast<long double>(s.x[i]);
      judge(x, s.g[i], s.dy[i], ha[k][i], ma[k][i],
            label + " " + std::string(codegen::to_string(role)) + (k ? "_g" : ""), t);
    }
  }
}

std::string skip_reason() { return runtime::mlir::problem(); }

std::vector<float> specials() {
  return {0.0f,   -0.0f,  1e-30f, -1e-30f, 1e-3f,
          -1e-3f, 0.5f,   -0.5f,  1.0f,    -1.0f,
          3.0f,   -3.0f,  20.0f,  -20.0f,  40.0f,
          -40.0f, 88.0f,  -88.0f, 100.0f,  -100.0f,
          1e30f,  -1e30f, kInf,   -kInf,   std::numeric_limits<float>::quiet_NaN()};
}

TEST(MlirDifferential, LibraryActivationsAgreeWithHalide) {
  if (const std::string why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
  std::vector<float> xs = specials();
  for (std::uint64_t bits = 0; bits < (1ull << 32); bits += 1ull << 16)
    xs.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
  const Sample s = make_sample(xs);
  struct Item {
    std::string activation;
    Role role;
    std::string kernel;
  };
  std::vector<Item> items;
  std::vector<std::pair<std::string, codegen::KernelSpec>> specs;
  for (const auto &e : dsl::catalog()) {
    if (!e.expr.defined()) continue;
    std::vector<Role> roles{Role::Forward, Role::Backward};
    if (dsl::find_from_output(e.expr)) roles.push_back(Role::BackwardFromOutput);
    for (Role r : roles) {
      items.push_back({e.name, r, e.name + "_" + std::string(codegen::short_name(r))});
      specs.push_back({items.back().kernel, {e.expr, r, DType::F32}});
    }
  }
  const runtime::mlir::Library library(specs, "host");
  long points = 0, equal = 0, undecided = 0;
  for (const auto &item : items) {
    const auto &e = *std::find_if(dsl::catalog().begin(), dsl::catalog().end(),
                                  [&](const auto &c) { return c.name == item.activation; });
    Params params;
    for (const auto &info : ir::collect_params(e.expr))
      params[info.name] = static_cast<double>(info.default_value.value_or(1.0L));
    Tally t;
    compare(item.activation, e.expr, item.role, library.kernel(item.kernel), params, s, t);
    for (const auto &d : t.disagreements)
      ADD_FAILURE() << d;
    points += t.points;
    equal += t.equal;
    undecided += t.undecided;
  }
  std::printf("%zu kernels, %ld points: %ld bit-identical, %ld undecided\n", items.size(), points,
              equal, undecided);
  EXPECT_GT(items.size(), 60u);
}

/// A random expression of x (and a parameter a = 0.75) of depth ≤ `depth`.
class Generator {
public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}
  ir::Expr operator()(int depth) {
    if (depth <= 1 || pick(5) == 0) return leaf();
    switch (pick(26)) {
    case 0: return (*this)(depth - 1) + (*this)(depth - 1);
    case 1: return (*this)(depth - 1) - (*this)(depth - 1);
    case 2:
    case 3: return (*this)(depth - 1) * (*this)(depth - 1);
    case 4: return (*this)(depth - 1) / (*this)(depth - 1);
    case 5: return -(*this)(depth - 1);
    case 6: return ir::exp((*this)(depth - 1));
    case 7: return ir::expm1((*this)(depth - 1));
    case 8: return ir::log((*this)(depth - 1));
    case 9: return ir::log1p((*this)(depth - 1));
    case 10: return ir::sqrt((*this)(depth - 1));
    case 11: return ir::rsqrt((*this)(depth - 1));
    case 12: return ir::abs((*this)(depth - 1));
    case 13: return ir::pow((*this)(depth - 1), 2 + pick(3));
    case 14: return ir::min((*this)(depth - 1), (*this)(depth - 1));
    case 15: return ir::max((*this)(depth - 1), (*this)(depth - 1));
    case 16:
    case 17: return ir::select(condition(depth - 1), (*this)(depth - 1), (*this)(depth - 1));
    case 18:
    case 19: return ir::sigmoid((*this)(depth - 1));
    case 20:
    case 21: return ir::tanh((*this)(depth - 1));
    case 22: return ir::erf((*this)(depth - 1));
    case 23: return ir::erfc((*this)(depth - 1));
    default: return ir::softplus((*this)(depth - 1));
    }
  }

private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  ir::Expr leaf() {
    switch (pick(6)) {
    case 0: return ir::constant(std::ldexp(1 + pick(15), -pick(4)) * (pick(2) ? 1 : -1));
    case 1: return ir::param("a", 0.75L);
    default: return ir::input(0);
    }
  }
  ir::Expr condition(int depth) {
    const ir::Expr a = (*this)(depth), b = pick(2) ? (*this)(depth) : ir::constant(0);
    switch (pick(6)) {
    case 0: return a > b;
    case 1: return a >= b;
    case 2: return a < b;
    case 3: return a <= b;
    case 4: return ir::make(ir::Kind::Eq, a, b);
    default: return ir::make(ir::Kind::Ne, a, b);
    }
  }
  std::mt19937_64 rng_;
};

long env(const char *name, long fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::strtol(v, nullptr, 10) : fallback;
}

TEST(MlirDifferential, RandomExpressionsAgree) {
  if (const std::string why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
  const long count = env("ACTFORGE_MLIR_RANDOM", 200);
  Generator generate(static_cast<std::uint64_t>(env("ACTFORGE_MLIR_SEED", 1)));
  std::vector<ir::Expr> exprs;
  while (static_cast<long>(exprs.size()) < count) {
    const ir::Expr e = generate(6);
    // An activation of x; keep the kernels' size sane (derivatives grow).
    if (ir::count_inputs(e) < 1 || e.is_condition() || ir::dag_size(e) > 40) continue;
    exprs.push_back(e);
  }
  std::vector<std::pair<std::string, codegen::KernelSpec>> specs;
  for (std::size_t i = 0; i < exprs.size(); ++i)
    for (Role r : {Role::Forward, Role::Backward})
      specs.push_back({"random" + std::to_string(i) + "_" + std::string(codegen::short_name(r)),
                       {exprs[i], r, DType::F32}});
  const runtime::mlir::Library library(specs, "host");
  std::vector<float> xs = specials();
  for (int i = 0; i < 600; ++i)
    xs.push_back(-12.0f + 24.0f * static_cast<float>(i) / 600);
  const Sample s = make_sample(xs);
  long points = 0, equal = 0, undecided = 0;
  for (std::size_t i = 0; i < exprs.size(); ++i) {
    Params params;
    if (!ir::collect_params(exprs[i]).empty()) params["a"] = 0.75;
    for (Role r : {Role::Forward, Role::Backward}) {
      Tally t;
      compare(
          "random" + std::to_string(i) + " " + ir::print(exprs[i]), exprs[i], r,
          library.kernel("random" + std::to_string(i) + "_" + std::string(codegen::short_name(r))),
          params, s, t);
      for (const auto &d : t.disagreements)
        ADD_FAILURE() << d;
      points += t.points;
      equal += t.equal;
      undecided += t.undecided;
    }
  }
  std::printf("%zu random expressions, %ld points: %ld bit-identical, %ld undecided\n",
              exprs.size(), points, equal, undecided);
}

} // namespace
