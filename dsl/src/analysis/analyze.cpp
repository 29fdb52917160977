// analyze(): kinks, smoothness, zero sets, sampled ranges and the N(0,1) statistics of f(x).
#include "actforge/check/numeric.hpp"
#include "actforge/dsl/analysis.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/mutate.hpp"
#include "actforge/ir/simplify.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <random>

namespace actforge::dsl {
namespace {

constexpr long double kInf = std::numeric_limits<long double>::infinity();
constexpr long double kKinkSpan = 1000;  // kinks are looked for in [−span, span]
constexpr long double kMomentSpan = 40;  // φ(40) < 1e−347: the moments' integrals stop there
constexpr long double kSaturated = 1e-3; // |f'| below this passes (almost) no gradient

// f as a function of x with fixed parameter values.
struct Fn {
  ir::Program program;
  std::vector<long double> params;

  Fn(ir::Expr e, const ParamValues &values) : program(e) {
    for (const auto &p : program.params()) {
      if (auto it = values.find(p.name); it != values.end())
        params.push_back(it->second);
      else if (p.default_value)
        params.push_back(*p.default_value);
      else
        throw Error("parameter '" + p.name + "' has no value");
    }
  }
  long double operator()(long double x) const {
    const long double in[] = {x};
    return program.eval<long double>(in, params);
  }
  check::Probe probe() const { return {&program, {0}, params, 0, false}; }
  // f(x), with f(±inf) the limit.
  long double at(long double x) const {
    return std::isinf(x) ? check::reference_value(probe(), x) : (*this)(x);
  }
};

bool near(long double a, long double b, long double rel) {
  if (a == b) return true;
  if (std::isnan(a) || std::isnan(b) || std::isinf(a) || std::isinf(b)) return false;
  return std::fabs(a - b) <= rel * std::max({1.0L, std::fabs(a), std::fabs(b)});
}

// Affine thresholds of the IR's branch nodes, to snap bisected kinks to their exact place.
std::vector<long double> affine_thresholds(ir::Expr e, const ParamValues &params) {
  std::vector<long double> out;
  auto add = [&](ir::Expr l, ir::Expr r) {
    const auto u = affine(l, params), v = affine(r, params);
    if (u && v && u->a != v->a) out.push_back(-(u->b - v->b) / (u->a - v->a));
  };
  ir::for_each_node(e, [&](ir::Expr n) {
    if (n.kind() == ir::Kind::Select) add(n.child(0).child(0), n.child(0).child(1));
    if (n.kind() == ir::Kind::Min || n.kind() == ir::Kind::Max) add(n.child(0), n.child(1));
    if (n.kind() == ir::Kind::Abs) add(n.child(0), ir::constant(0));
  });
  return out;
}

std::vector<BranchPoint> find_kinks(const Fn &f, const Fn &df, const Fn &d2f, ir::Expr e,
                                    const ParamValues &params) {
  const auto exact = affine_thresholds(e, params);
  std::vector<BranchPoint> out;
  for (long double k : check::find_kinks(f.probe(), -kKinkSpan, kKinkSpan, 1.0L / 128)) {
    BranchPoint kink{k + 0.0L, 2, false}; // + 0: no -0
    for (long double t : exact)
      if (std::fabs(t - k) <= 1e-9L * std::max(1.0L, std::fabs(k))) kink = {t + 0.0L, 2, true};
    const long double h = 1e-9L * std::max(1.0L, std::fabs(kink.x));
    const Fn *fs[] = {&f, &df, &d2f};
    for (int order = 0; order < 3 && kink.continuous_to == 2; ++order)
      if (!near((*fs[order])(kink.x - h), (*fs[order])(kink.x + h), 1e-7L))
        kink.continuous_to = order - 1;
    out.push_back(kink);
  }
  return out;
}

// Points inside (a, b) for testing a property of one branch piece.
std::vector<long double> inside(long double a, long double b) {
  std::vector<long double> pts;
  if (std::isinf(a) && std::isinf(b)) {
    for (int k = -20; k <= 60; k += 2)
      pts.push_back(std::ldexp(1.0L, k)), pts.push_back(-std::ldexp(1.0L, k));
    pts.push_back(0);
  } else if (std::isinf(a) || std::isinf(b)) {
    const long double end = std::isinf(a) ? b : a, dir = std::isinf(a) ? -1 : 1;
    for (int k = -20; k <= 60; k += 2)
      pts.push_back(end + dir * std::ldexp(1.0L, k));
  } else {
    for (int i = 1; i < 64; ++i)
      pts.push_back(a + (b - a) * i / 64);
  }
  return pts;
}

// The pieces between kinks (and ±inf) on which g is exactly 0, merged across kinks where g is
// 0 at the kink too.
std::vector<Interval> zero_set(const Fn &g, const std::vector<BranchPoint> &kinks) {
  std::vector<long double> ends{-kInf};
  for (const BranchPoint &k : kinks)
    ends.push_back(k.x);
  ends.push_back(kInf);
  std::vector<Interval> out;
  for (std::size_t i = 0; i + 1 < ends.size(); ++i) {
    const long double a = ends[i], b = ends[i + 1];
    const auto pts = inside(a, b);
    if (!std::all_of(pts.begin(), pts.end(), [&](long double x) { return g(x) == 0; })) continue;
    Interval piece{a, b, std::isinf(a) || g(a) != 0, std::isinf(b) || g(b) != 0};
    if (!out.empty() && out.back().hi == a && !out.back().hi_open)
      out.back().hi = piece.hi, out.back().hi_open = piece.hi_open;
    else
      out.push_back(piece);
  }
  return out;
}

long double probability(const std::vector<Interval> &set) {
  long double p = 0;
  for (const Interval &i : set)
    p += normal_cdf(i.hi) - normal_cdf(i.lo);
  return p;
}

// Sign changes of g on a grid of step 1/64 over [−20, 20] away from kinks, bisected.
std::vector<long double> isolated_zeros(const Fn &g, const Fn &f,
                                        const std::vector<Interval> &flat) {
  std::vector<long double> out;
  auto same_piece = [&](long double a, long double b) {
    return check::find_kinks(f.probe(), a, b, b - a).empty();
  };
  for (long double a = -20; a < 20; a += 1.0L / 64) {
    const long double b = a + 1.0L / 64;
    long double ga = g(a), gb = g(b);
    if (!(ga * gb < 0) || !same_piece(a, b)) continue;
    long double lo = a, hi = b;
    for (int it = 0; it < 200 && hi - lo > 1e-15L; ++it) {
      const long double m = (lo + hi) / 2, gm = g(m);
      if ((gm < 0) == (ga < 0))
        lo = m, ga = gm;
      else
        hi = m;
    }
    const long double z = (lo + hi) / 2;
    if (std::none_of(flat.begin(), flat.end(), [&](const Interval &i) { return i.contains(z); }))
      out.push_back(z);
  }
  return out;
}

// E[h(z)], z ~ N(0,1): Gauss–Hermite (100 nodes) where f has no kink within the span, else
// composite 20-point Gauss–Legendre on h·φ between the kinks, in pieces no longer than 1/2.
long double expectation(const std::function<long double(long double)> &h,
                        const std::vector<long double> &breaks) {
  if (breaks.empty()) {
    static const Quadrature gh = gauss_hermite(100);
    long double s = 0;
    for (std::size_t i = 0; i < gh.nodes.size(); ++i)
      s += gh.weights[i] * h(std::numbers::sqrt2_v<long double> * gh.nodes[i]);
    return s / std::sqrt(std::numbers::pi_v<long double>);
  }
  static const Quadrature gl = gauss_legendre(20);
  std::vector<long double> ends{-kMomentSpan};
  ends.insert(ends.end(), breaks.begin(), breaks.end());
  ends.push_back(kMomentSpan);
  const long double norm = 1 / std::sqrt(2 * std::numbers::pi_v<long double>);
  long double s = 0;
  for (std::size_t i = 0; i + 1 < ends.size(); ++i) {
    const long double a = ends[i], b = ends[i + 1];
    const int pieces = std::max(1, static_cast<int>(std::ceil((b - a) * 2)));
    for (int p = 0; p < pieces; ++p) {
      const long double lo = a + (b - a) * p / pieces, hi = a + (b - a) * (p + 1) / pieces;
      const long double mid = (lo + hi) / 2, half = (hi - lo) / 2;
      for (std::size_t k = 0; k < gl.nodes.size(); ++k) {
        const long double z = mid + half * gl.nodes[k];
        s += half * gl.weights[k] * h(z) * norm * std::exp(-z * z / 2);
      }
    }
  }
  return s;
}

void torch_gain(Analysis &a, const std::string &name, ir::Expr e, const ParamValues &params) {
  const auto set = [&](const char *n, long double g) { a.torch_gain_name = n, a.torch_gain = g; };
  if (name == "relu")
    set("relu", std::numbers::sqrt2_v<long double>);
  else if (name == "sigmoid")
    set("sigmoid", 1);
  else if (name == "tanh")
    set("tanh", 5.0L / 3);
  else if (name == "selu")
    set("selu", 0.75L);
  else if (name == "identity" || name == "linear" || e == ir::input(0))
    set("linear", 1);
  else if (name == "leaky_relu") {
    const auto it = params.find("alpha");
    const long double alpha = it != params.end() ? it->second : 0.01L;
    set("leaky_relu", std::sqrt(2 / (1 + alpha * alpha)));
  }
}

Interval sample_extent(const std::vector<long double> &v, long double &lo, long double &hi) {
  lo = kInf, hi = -kInf;
  for (long double y : v)
    if (!std::isnan(y)) lo = std::min(lo, y), hi = std::max(hi, y);
  return Interval::closed(lo, hi);
}

bool bound_agrees(long double bound, long double sampled) {
  return (std::isinf(bound) && bound == sampled) || near(bound, sampled, 1e-9L);
}

} // namespace

Analysis analyze(const std::string &name, ir::Expr e, const ParamValues &params,
                 const AnalysisOptions &options) {
  if (!e.defined()) throw Error(name + ": maxout is not an elementwise function; not analysed");
  if (ir::count_inputs(e) > 1)
    throw Error(name + " has two inputs (x, g): analyze takes activations of one input");
  if (options.samples < 1) throw Error("analyze: the Monte-Carlo sample count must be positive");
  Analysis a;
  a.name = name;
  const ir::Expr d1 = ir::simplify(ir::differentiate(e, ir::input(0)));
  const ir::Expr d2 = ir::simplify(ir::differentiate(d1, ir::input(0)));
  const Fn f(e, params), df(d1, params), d2f(d2, params);

  // Ranges: the interval bound beside the dense samples.
  a.range_bound = range(e, Interval::reals(), params);
  a.derivative_bound = range(d1, Interval::reals(), params);
  a.kinks = find_kinks(f, df, d2f, e, params);
  std::vector<long double> kink_x;
  for (const BranchPoint &k : a.kinks)
    kink_x.push_back(k.x);
  std::vector<long double> pts = check::point_set(kink_x);
  for (int k = 0; k <= 1000; k += 5)
    pts.push_back(std::ldexp(1.0L, k)), pts.push_back(-std::ldexp(1.0L, k));
  pts.insert(pts.end(), kink_x.begin(), kink_x.end());
  std::vector<long double> fv, dv;
  for (long double p : pts)
    fv.push_back(f(p)), dv.push_back(df(p));
  for (long double p : {-kInf, kInf})
    fv.push_back(f.at(p)), dv.push_back(df.at(p));
  sample_extent(fv, a.sampled_min, a.sampled_max);
  sample_extent(dv, a.sampled_dmin, a.sampled_dmax);
  a.range_exact = bound_agrees(a.range_bound.lo, a.sampled_min) &&
                  bound_agrees(a.range_bound.hi, a.sampled_max);
  a.derivative_exact = bound_agrees(a.derivative_bound.lo, a.sampled_dmin) &&
                       bound_agrees(a.derivative_bound.hi, a.sampled_dmax);

  // Smoothness: the weakest kink.
  int weakest = 3;
  for (const BranchPoint &k : a.kinks)
    weakest = std::min(weakest, k.continuous_to);
  a.smoothness = weakest == 3    ? "C^inf"
                 : weakest == -1 ? "discontinuous"
                                 : "C" + std::to_string(weakest);

  // Zero sets, and monotonicity from the sign of f' on the samples (jumps included).
  a.zero_set = zero_set(f, a.kinks);
  a.derivative_zero_set = zero_set(df, a.kinks);
  a.derivative_isolated_zeros = isolated_zeros(df, f, a.derivative_zero_set);
  bool up = a.sampled_dmin >= 0, down = a.sampled_dmax <= 0;
  for (const BranchPoint &k : a.kinks)
    if (k.continuous_to < 0) {
      const long double h = 1e-9L * std::max(1.0L, std::fabs(k.x));
      up = up && f(k.x - h) <= f(k.x + h);
      down = down && f(k.x - h) >= f(k.x + h);
    }
  const bool flat = !a.derivative_zero_set.empty();
  a.monotonic = up     ? (flat ? "non-decreasing" : "increasing")
                : down ? (flat ? "non-increasing" : "decreasing")
                       : "no";
  const bool no_jumps = weakest >= 0;
  a.monotonic_proved =
      no_jumps && ((up && a.derivative_bound.lo >= 0) || (down && a.derivative_bound.hi <= 0));

  // Moments under N(0,1).
  std::vector<long double> breaks;
  for (long double k : kink_x)
    if (std::fabs(k) < kMomentSpan) breaks.push_back(k);
  a.mean = expectation([&](long double z) { return f(z); }, breaks);
  a.second_moment = expectation(
      [&](long double z) {
        const long double y = f(z);
        return y * y;
      },
      breaks);
  a.variance = a.second_moment - a.mean * a.mean;
  a.gain = 1 / std::sqrt(a.second_moment);
  a.quadrature =
      breaks.empty()
          ? "Gauss-Hermite, 100 nodes"
          : "Gauss-Legendre (20 nodes, pieces <= 1/2) on f*phi over [-40, 40], split at " +
                std::to_string(breaks.size()) + " kink(s)";

  // Monte-Carlo probabilities, beside the exact ones from the zero sets.
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> normal;
  std::int64_t zero = 0, dzero = 0, saturated = 0;
  for (std::int64_t i = 0; i < options.samples; ++i) {
    const long double z = normal(rng);
    const long double d = df(z);
    zero += f(z) == 0;
    dzero += d == 0;
    saturated += std::fabs(d) < kSaturated;
  }
  const auto estimate = [&](std::int64_t count) {
    Probability p;
    p.p = static_cast<double>(count) / static_cast<double>(options.samples);
    p.std_error = std::sqrt(p.p * (1 - p.p) / static_cast<double>(options.samples));
    return p;
  };
  a.p_zero = estimate(zero);
  a.p_dzero = estimate(dzero);
  a.p_saturated = estimate(saturated);
  a.p_zero.exact = probability(a.zero_set);
  a.p_dzero.exact = probability(a.derivative_zero_set);
  torch_gain(a, name, e, params);
  return a;
}

} // namespace actforge::dsl
