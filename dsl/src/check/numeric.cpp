// Numeric tools of the checks.
#include "actforge/check/numeric.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace actforge::check {

long double Probe::at(long double v, std::vector<std::int8_t> *trace) const {
  std::vector<long double> in = inputs, p = params;
  (by_param ? p : in)[static_cast<std::size_t>(var)] = v;
  return program->eval<long double>(in, p, trace);
}

std::vector<std::int8_t> Probe::trace(long double v) const {
  std::vector<std::int8_t> t;
  at(v, &t);
  return t;
}

namespace {
long double step_for(long double v) {
  const long double h = std::cbrt(LDBL_EPSILON) * std::max(1.0L, std::fabs(v));
  volatile long double shifted = v + h; // make v ± h exact so the quotient uses the real step
  return shifted - v;
}
} // namespace

Difference central_difference(const Probe &f, long double v) {
  const long double h = step_for(v);
  Difference r;
  const auto t0 = f.trace(v);
  std::vector<std::int8_t> t;
  long double fv[4];
  const long double offsets[4] = {-2 * h, -h, h, 2 * h};
  for (int i = 0; i < 4; ++i) {
    fv[i] = f.at(v + offsets[i], &t);
    r.crosses_kink = r.crosses_kink || t != t0;
  }
  const long double d1 = (fv[2] - fv[1]) / (2 * h);
  const long double d2 = (fv[3] - fv[0]) / (4 * h);
  long double magnitude = 0;
  for (long double x : fv)
    magnitude = std::max(magnitude, std::fabs(x));
  // Richardson: D(h) = f' + c·h² + O(h⁴), so (4·D(h) − D(2h))/3 cancels the h² term, and
  // |D(h) − D(2h)|/3 (the error of D(h)) bounds what is left. Rounding: each value carries a
  // few ulps of long double.
  r.value = (4 * d1 - d2) / 3;
  r.error = std::fabs(d1 - d2) / 3 + 64 * LDBL_EPSILON * magnitude / h;
  return r;
}

double grad_error(long double symbolic, const Difference &numeric) {
  const long double diff = std::fabs(symbolic - numeric.value);
  if (diff == 0) return 0;
  const long double scale = std::max({std::fabs(symbolic), std::fabs(numeric.value),
                                      numeric.error / static_cast<long double>(kGradTolerance)});
  return static_cast<double>(diff / scale);
}

std::vector<long double> point_set(std::span<const long double> kinks) {
  std::vector<long double> p;
  for (int i = -640; i <= 640; ++i)
    p.push_back(i / 64.0L);
  for (long double x = -10 + 0.00731L; x < 10; x += 0.0373L)
    p.push_back(x);
  for (long double c : {20.0L, 88.0L})
    for (int k = -4; k <= 4; ++k) {
      p.push_back(c + k * 0.25L);
      p.push_back(-c + k * 0.25L);
    }
  for (long double k : kinks)
    for (long double d : {-1e-2L, -1e-3L, 1e-3L, 1e-2L})
      p.push_back(k + d);
  std::sort(p.begin(), p.end());
  p.erase(std::unique(p.begin(), p.end()), p.end());
  return p;
}

std::vector<long double> coarse_point_set() {
  std::vector<long double> p;
  for (int i = -20; i <= 20; ++i)
    p.push_back(i / 2.0L);
  for (long double x = -10 + 0.0731L; x < 10; x += 0.731L)
    p.push_back(x);
  for (long double x : {-88.0L, -20.0L, 20.0L, 88.0L})
    p.push_back(x);
  std::sort(p.begin(), p.end());
  return p;
}

bool close(long double a, long double b, long double rel, long double abs) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (a == b) return true;
  if (std::isinf(a) || std::isinf(b)) return false; // an infinity is close only to itself
  return std::fabs(a - b) <= rel * std::max(std::fabs(a), std::fabs(b)) + abs;
}

long double reference_value(const Probe &f, long double v) {
  if (!std::isinf(v)) return f.at(v);
  // Far enough for every activation's limit, near enough that x³ still fits in long double.
  const long double sign = v > 0 ? 1 : -1;
  const long double near = f.at(sign * std::ldexp(1.0L, 3000)),
                    far = f.at(sign * std::ldexp(1.0L, 5000));
  if (std::isinf(far) || std::fabs(far) > std::ldexp(1.0L, 4000)) // grows without bound
    return std::copysign(std::numeric_limits<long double>::infinity(), far);
  if (close(near, far, 1e-12L, 1e-300L)) return far;
  return std::numeric_limits<long double>::quiet_NaN();
}

std::vector<long double> find_kinks(const Probe &f, long double lo, long double hi,
                                    long double step) {
  std::vector<long double> kinks;
  long double a = lo;
  auto ta = f.trace(a);
  while (a < hi) {
    const long double b = std::min(hi, a + step);
    const auto tb = f.trace(b);
    if (tb != ta) {
      // A point exactly at a kink has a trace of its own (a tie): find where the trace leaves
      // ta and where it becomes tb, and take the kink between.
      long double l = a, r = b;
      for (int i = 0; i < 200 && r - l > 0; ++i) {
        const long double m = l + (r - l) / 2;
        if (m <= l || m >= r) break;
        (f.trace(m) == ta ? l : r) = m;
      }
      // Report a short decimal where one lies within 1e-12: rounding inside the expression can
      // move the exact switch a few ulps away from the mathematical kink (exp(x) - 1 at 0).
      long double k = r;
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.12Lf", r);
      const long double snapped = std::strtold(buf, nullptr);
      if (std::fabs(snapped - r) <= 1e-12L * std::max(1.0L, std::fabs(r)))
        k = snapped == 0 ? 0.0L : snapped; // no -0 in reports
      if (kinks.empty() || std::fabs(kinks.back() - k) > 1e-12L) kinks.push_back(k);
    }
    a = b;
    ta = tb;
  }
  return kinks;
}

double ulp_error_f32(long double value, long double exact) {
  if (std::isnan(value) || std::isnan(exact))
    return std::isnan(value) && std::isnan(exact) ? 0 : std::numeric_limits<double>::infinity();
  if (value == exact) return 0;
  if (std::isinf(value) || std::isinf(exact)) return std::numeric_limits<double>::infinity();
  const long double mag = std::fabs(exact);
  long double ulp;
  if (mag < FLT_MIN) {
    ulp = std::ldexp(1.0L, -149);
  } else {
    int e;
    std::frexp(mag, &e); // mag = m·2^e, m in [0.5, 1)
    ulp = std::ldexp(1.0L, e - 24);
  }
  return static_cast<double>(std::fabs(value - exact) / ulp);
}

} // namespace actforge::check
