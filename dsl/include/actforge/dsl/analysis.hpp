// analysis: what an activation f(x) does, read off its IR — ranges, kinks, smoothness, zero
// sets, and its statistics under z ~ N(0,1) (the initialisation gain of He et al.).
//
// Exists for `actforge analyze`: the classic comparison table of activations, computed rather
// than copied. Every figure is either proved on the IR (interval arithmetic, affine branch
// conditions solved exactly) or measured numerically in long double, and the result says which.
#pragma once

#include "actforge/dsl/catalog.hpp"
#include "actforge/ir/expr.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace actforge::dsl {

/// A set of reals: from lo to hi, each end open or closed. An infinite end is always open: the
/// range of f over the reals, with f(±inf) read as a limit that is approached, not attained.
struct Interval {
  long double lo = -__builtin_huge_vall();
  long double hi = __builtin_huge_vall();
  bool lo_open = true;
  bool hi_open = true;

  static Interval point(long double v) { return {v, v, false, false}; }
  static Interval closed(long double lo, long double hi) { return {lo, hi, false, false}; }
  static Interval reals() { return {}; }
  bool contains(long double v) const;
  /// "[0, inf)", "(0, 1)", "[0, 6]".
  std::string str() const;
};

/// A sound enclosure of { e(x) : x in `over` } (input 0 is x; every parameter takes `params`, or
/// its default): one rule per node kind, branches of select() with a condition affine in x
/// evaluated on their part of `x` only. NaN values (log of a negative) are left out. Loose where
/// x occurs more than once (x·sigmoid(x)); never too narrow. Throws actforge::Error for an
/// expression of more than one input or a parameter without a value.
Interval range(ir::Expr e, const Interval &over, const ParamValues &params = {});

/// a·x + b when e is affine in x (built of +, −, neg, × or ÷ by x-free terms), else nullopt.
struct Affine {
  long double a = 0, b = 0;
};
std::optional<Affine> affine(ir::Expr e, const ParamValues &params = {});

/// Gauss–Hermite rule for ∫ e^{−t²} g(t) dt with n nodes (Newton on the Hermite recurrence, long
/// double): exact for polynomials g of degree ≤ 2n − 1.
struct Quadrature {
  std::vector<long double> nodes, weights;
};
Quadrature gauss_hermite(int n);
/// Gauss–Legendre rule on [−1, 1] with n nodes.
Quadrature gauss_legendre(int n);

/// A point where f switches branch, and how smooth f is there: the order of the highest
/// derivative (0, 1 or 2) whose one-sided limits agree, or −1 when f itself jumps.
struct BranchPoint {
  long double x = 0;
  int continuous_to = 0; // −1 jump; 0: C⁰; 1: C¹; 2: f, f', f'' all agree (C² or better)
  bool exact = false;    // located by solving an affine condition, not by bisection
};

/// A Monte-Carlo estimate p with its standard error, beside the exact value where it is known.
struct Probability {
  double p = 0, std_error = 0;
  std::optional<long double> exact;
};

struct Analysis {
  std::string name;
  Interval range_bound, derivative_bound;         // interval analysis of f and f' over the reals
  long double sampled_min = 0, sampled_max = 0;   // f on the dense sample set (±inf as limits)
  long double sampled_dmin = 0, sampled_dmax = 0; // f' likewise
  bool range_exact = false, derivative_exact = false; // bound and samples agree
  std::vector<BranchPoint> kinks;                     // in [−1000, 1000]
  /// "C^inf" (no kinks), "C2", "C1", "C0", "discontinuous": the weakest kink.
  std::string smoothness;
  /// "increasing", "non-decreasing", "decreasing", "non-increasing" or "no".
  std::string monotonic;
  bool monotonic_proved = false;                       // by the interval of f', not only by samples
  std::vector<Interval> zero_set, derivative_zero_set; // x-intervals where f (f') is exactly 0
  std::vector<long double> derivative_isolated_zeros;  // sign changes of f' (stationary points)
  // Under z ~ N(0,1).
  long double mean = 0, variance = 0, second_moment = 0, gain = 0;
  std::string quadrature;                   // which rule computed the moments, in words
  Probability p_zero, p_dzero, p_saturated; // P(f=0), P(f'=0), P(|f'| < 1e-3)
  std::optional<long double> torch_gain;    // PyTorch's calculate_gain where it has an entry
  std::string torch_gain_name;              // the nonlinearity name given to calculate_gain
};

struct AnalysisOptions {
  std::int64_t samples = 1000000; // Monte-Carlo draws
  std::uint64_t seed = 20261128;
};

/// Every figure above for f = e (one input). `name` labels the result and chooses PyTorch's
/// gain entry (relu, leaky_relu, tanh, sigmoid, selu, identity/linear). Throws actforge::Error
/// for two-input (gated) expressions and parameters without a value.
Analysis analyze(const std::string &name, ir::Expr e, const ParamValues &params,
                 const AnalysisOptions &options = {});

/// Φ, the standard normal distribution function, in long double.
long double normal_cdf(long double z);

} // namespace actforge::dsl
