// Numeric tools of the checks: probes along one variable, central differences with an error
// estimate, kink discovery, limits at ±inf, and float ULP distances.
#pragma once

#include "actforge/ir/interpret.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace actforge::check {

/// A compiled expression as a function of one variable — input `var` or, with `by_param`,
/// parameter number `var` — with every other input and parameter held fixed.
struct Probe {
  const ir::Program *program = nullptr;
  std::vector<long double> inputs;
  std::vector<long double> params;
  int var = 0;
  bool by_param = false;

  long double at(long double v, std::vector<std::int8_t> *trace = nullptr) const;
  /// Where the expression's branch decisions (select, min/max, abs) stand at v.
  std::vector<std::int8_t> trace(long double v) const;
};

/// A central difference in long double, h = ∛ε·max(1, |v|), Richardson-extrapolated from the
/// steps h and 2h.
struct Difference {
  long double value = 0;
  long double error = 0;     // Richardson estimate of truncation plus a rounding bound
  bool crosses_kink = false; // a branch decision differs within [v−2h, v+2h]: not comparable
};
Difference central_difference(const Probe &f, long double v);

/// The error of a symbolic derivative against a central difference, relative to the larger of
/// the two, or to the difference's own error estimate ×10⁷ where that is larger (a derivative
/// that vanishes, as tanhshrink'(0)): pass when ≤ kGradTolerance.
double grad_error(long double symbolic, const Difference &numeric);
inline constexpr double kGradTolerance = 1e-7;

/// The stated point set for a one-input check: a grid of step 1/64 over [-10, 10], a shifted
/// irrational-step grid, points around ±20 and ±88, and points 10⁻³ and 10⁻² either side of
/// each given kink.
std::vector<long double> point_set(std::span<const long double> kinks);
/// A coarser set for each axis of two-input checks.
std::vector<long double> coarse_point_set();

/// f(v) with f(±inf) taken as the limit lim f(±L), evaluated at L = 2³⁰⁰⁰ and 2⁵⁰⁰⁰ (x³ still
/// fits in long double): where IEEE evaluation meets inf·0 or inf/inf the limit is still
/// defined. A value beyond 2⁴⁰⁰⁰ at 2⁵⁰⁰⁰ reads as ±inf; NaN where the two disagree (no limit).
long double reference_value(const Probe &f, long double v);

/// Points where the branch decisions of f change inside [lo, hi], located by bisection and
/// reported as a short decimal (12 places) where one lies within 1e-12.
std::vector<long double> find_kinks(const Probe &f, long double lo, long double hi,
                                    long double step);

/// |value − exact| in units of the float32 spacing at `exact` (2⁻¹⁴⁹ below the normal range).
double ulp_error_f32(long double value, long double exact);

/// |a − b| ≤ rel·max(|a|, |b|) + abs, with NaN equal to NaN and equal infinities equal.
bool close(long double a, long double b, long double rel, long double abs = 0);

} // namespace actforge::check
