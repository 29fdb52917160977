// range(): interval arithmetic over the IR, one rule per node kind; affine(): a·x + b forms.
#include "actforge/dsl/analysis.hpp"
#include "actforge/dsl/scalar.hpp"
#include "actforge/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>

namespace actforge::dsl {
namespace {

constexpr long double kInf = std::numeric_limits<long double>::infinity();

long double param_value(ir::Expr e, const ParamValues &params) {
  if (auto it = params.find(e.param_name()); it != params.end()) return it->second;
  if (auto d = e.param_default()) return *d;
  throw Error("parameter '" + e.param_name() + "' has no value");
}

// An endpoint candidate: a value and whether it may be attained.
struct End {
  long double v;
  bool closed;
};

// The hull of candidate endpoints: the least and the greatest, attained if any equal one is.
Interval hull(const std::vector<End> &c) {
  Interval r{kInf, -kInf, true, true};
  for (const End &e : c) {
    if (std::isnan(e.v)) return Interval::reals();
    if (e.v < r.lo)
      r.lo = e.v, r.lo_open = !e.closed;
    else if (e.v == r.lo)
      r.lo_open = r.lo_open && !e.closed;
    if (e.v > r.hi)
      r.hi = e.v, r.hi_open = !e.closed;
    else if (e.v == r.hi)
      r.hi_open = r.hi_open && !e.closed;
  }
  if (std::isinf(r.lo)) r.lo_open = true;
  if (std::isinf(r.hi)) r.hi_open = true;
  return r;
}

Interval unite(const Interval &a, const Interval &b) {
  return hull({{a.lo, !a.lo_open}, {a.hi, !a.hi_open}, {b.lo, !b.lo_open}, {b.hi, !b.hi_open}});
}

// f increasing: the ends map to the ends.
template <class F> Interval increasing(const Interval &a, F f) {
  return hull({{f(a.lo), !a.lo_open}, {f(a.hi), !a.hi_open}});
}
template <class F> Interval decreasing(const Interval &a, F f) {
  return hull({{f(a.hi), !a.hi_open}, {f(a.lo), !a.lo_open}});
}

// Products of ends with 0·inf = 0 (IEEE 1788): sound, since a zero end times any finite value
// of the other factor is 0.
long double times(long double a, long double b) { return (a == 0 || b == 0) ? 0 : a * b; }

Interval multiply(const Interval &a, const Interval &b) {
  std::vector<End> c;
  for (auto [x, xc] : {End{a.lo, !a.lo_open}, End{a.hi, !a.hi_open}})
    for (auto [y, yc] : {End{b.lo, !b.lo_open}, End{b.hi, !b.hi_open}})
      c.push_back({times(x, y), (xc && yc) || (x == 0 && xc) || (y == 0 && yc)});
  return hull(c);
}

Interval square(const Interval &a) {
  if (a.lo >= 0) return multiply(a, a);
  if (a.hi <= 0)
    return multiply({-a.hi, -a.lo, a.hi_open, a.lo_open}, {-a.hi, -a.lo, a.hi_open, a.lo_open});
  const Interval m = a.hi > -a.lo   ? Interval{0, a.hi, false, a.hi_open}
                     : a.hi < -a.lo ? Interval{0, -a.lo, false, a.lo_open}
                                    : Interval{0, a.hi, false, a.hi_open && a.lo_open};
  return multiply(m, m);
}

Interval divide(const Interval &a, const Interval &b) {
  if (!(b.lo > 0 || (b.lo == 0 && b.lo_open) || b.hi < 0 || (b.hi == 0 && b.hi_open)))
    return Interval::reals(); // the divisor reaches 0
  std::vector<End> c;
  for (auto [x, xc] : {End{a.lo, !a.lo_open}, End{a.hi, !a.hi_open}})
    for (auto [y, yc] : {End{b.lo, !b.lo_open}, End{b.hi, !b.hi_open}}) {
      const long double s = (std::signbit(x) != std::signbit(y)) ? -1 : 1;
      if (y == 0) { // an open zero end of the divisor: the quotient grows without bound
        if (x != 0) c.push_back({s * kInf, false});
        c.push_back({0, false});
      } else if (std::isinf(x) && std::isinf(y)) { // inf/inf: any value of that sign
        c.push_back({0, false});
        c.push_back({s * kInf, false});
      } else {
        c.push_back({x / y, xc && yc && std::isfinite(x / y)});
      }
    }
  return hull(c);
}

Interval absolute(const Interval &a) {
  if (a.lo >= 0) return a;
  if (a.hi <= 0) return {-a.hi, -a.lo, a.hi_open, a.lo_open};
  return unite(Interval::point(0),
               unite({0, -a.lo, false, a.lo_open}, {0, a.hi, false, a.hi_open}));
}

Interval clip_below(const Interval &a, long double floor) { // a ∩ [floor, inf), floor attained
  if (a.lo >= floor) return a;
  return {floor, std::max(a.hi, floor), false, a.hi < floor ? false : a.hi_open};
}

Interval min_of(const Interval &a, const Interval &b) {
  const Interval lo = hull({{a.lo, !a.lo_open}, {b.lo, !b.lo_open}});
  const Interval hi = hull({{a.hi, !a.hi_open}, {b.hi, !b.hi_open}});
  return {lo.lo, hi.lo, lo.lo_open, hi.lo_open};
}
Interval max_of(const Interval &a, const Interval &b) {
  const Interval lo = hull({{a.lo, !a.lo_open}, {b.lo, !b.lo_open}});
  const Interval hi = hull({{a.hi, !a.hi_open}, {b.hi, !b.hi_open}});
  return {lo.hi, hi.hi, lo.hi_open, hi.hi_open};
}

// x ∩ y, or nothing.
std::optional<Interval> intersect(const Interval &x, const Interval &y) {
  Interval r = x;
  if (y.lo > r.lo || (y.lo == r.lo && y.lo_open)) r.lo = y.lo, r.lo_open = y.lo_open;
  if (y.hi < r.hi || (y.hi == r.hi && y.hi_open)) r.hi = y.hi, r.hi_open = y.hi_open;
  if (r.lo > r.hi || (r.lo == r.hi && (r.lo_open || r.hi_open))) return std::nullopt;
  return r;
}

bool holds(ir::Kind k, long double d) { // d OP 0
  switch (k) {
  case ir::Kind::Gt: return d > 0;
  case ir::Kind::Ge: return d >= 0;
  case ir::Kind::Lt: return d < 0;
  case ir::Kind::Le: return d <= 0;
  case ir::Kind::Eq: return d == 0;
  default: return d != 0;
  }
}

class RangeOf {
public:
  RangeOf(const Interval &over, const ParamValues &params) : x_(over), params_(params) {}

  Interval operator()(ir::Expr e) {
    if (auto it = memo_.find(e.get()); it != memo_.end()) return it->second;
    const Interval r = rule(e);
    memo_.emplace(e.get(), r);
    return r;
  }

private:
  Interval rule(ir::Expr e) {
    using ir::Kind;
    auto a = [&] { return (*this)(e.child(0)); };
    auto b = [&] { return (*this)(e.child(1)); };
    switch (e.kind()) {
    case Kind::Const: return Interval::point(e.value());
    case Kind::Param: return Interval::point(param_value(e, params_));
    case Kind::Input:
      if (e.input_index() != 0) throw Error("range(): the expression has more than one input");
      return x_;
    case Kind::Add: return increasing2(a(), b());
    case Kind::Sub: return increasing2(a(), negate(b()));
    case Kind::Neg: return negate(a());
    case Kind::Mul: return e.child(0) == e.child(1) ? square(a()) : multiply(a(), b());
    case Kind::Div: return divide(a(), b());
    case Kind::Exp: return increasing(a(), [](long double v) { return std::exp(v); });
    case Kind::Expm1: return increasing(a(), [](long double v) { return std::expm1(v); });
    case Kind::Log: {
      const Interval u = a();
      if (u.hi < 0) return Interval::reals(); // NaN everywhere: nothing to say
      return increasing(clip_below(u, 0), [](long double v) { return std::log(v); });
    }
    case Kind::Log1p: {
      const Interval u = a();
      if (u.hi < -1) return Interval::reals();
      return increasing(clip_below(u, -1), [](long double v) { return std::log1p(v); });
    }
    case Kind::Sqrt: {
      const Interval u = a();
      if (u.hi < 0) return Interval::reals();
      return increasing(clip_below(u, 0), [](long double v) { return std::sqrt(v); });
    }
    case Kind::Rsqrt: {
      const Interval u = a();
      if (u.hi < 0) return Interval::reals();
      return decreasing(clip_below(u, 0), [](long double v) { return 1 / std::sqrt(v); });
    }
    case Kind::Abs: return absolute(a());
    case Kind::Pow: return power(a(), e.exponent());
    case Kind::Min: return min_of(a(), b());
    case Kind::Max: return max_of(a(), b());
    case Kind::Select: return select(e);
    case Kind::Sigmoid: return increasing(a(), scalar::sigmoid<long double>);
    case Kind::Tanh: return increasing(a(), [](long double v) { return std::tanh(v); });
    case Kind::Erf: return increasing(a(), [](long double v) { return std::erf(v); });
    case Kind::Erfc: return decreasing(a(), [](long double v) { return std::erfc(v); });
    case Kind::Softplus: return increasing(a(), scalar::softplus<long double>);
    default: throw Error("range(): a comparison has no value");
    }
  }

  static Interval negate(const Interval &a) { return {-a.hi, -a.lo, a.hi_open, a.lo_open}; }
  static Interval increasing2(const Interval &a, const Interval &b) {
    Interval r{a.lo + b.lo, a.hi + b.hi, a.lo_open || b.lo_open, a.hi_open || b.hi_open};
    if (std::isnan(r.lo)) r.lo = -kInf;
    if (std::isnan(r.hi)) r.hi = kInf;
    if (std::isinf(r.lo)) r.lo_open = true;
    if (std::isinf(r.hi)) r.hi_open = true;
    return r;
  }

  static Interval power(const Interval &u, int n) {
    if (n == 0) return Interval::point(1);
    if (n < 0) return divide(Interval::point(1), power(u, -n));
    if (n % 2 == 0) return increasing(absolute(u), [n](long double v) { return std::pow(v, n); });
    return increasing(u, [n](long double v) { return std::pow(v, n); });
  }

  // select(c, t, f): where c compares two affine functions of x, each branch on its own part of
  // x; where the sides' ranges decide c, the one branch; otherwise both branches over all of x.
  Interval select(ir::Expr e) {
    const ir::Expr c = e.child(0);
    const auto l = affine(c.child(0), params_), r = affine(c.child(1), params_);
    if (l && r) {
      const long double a = l->a - r->a, b0 = l->b - r->b; // c is a·x + b0 OP 0
      if (a == 0) return (*this)(e.child(holds(c.kind(), b0) ? 1 : 2));
      const long double t = -b0 / a;
      Interval yes;
      switch (c.kind()) {
      case ir::Kind::Gt:
        yes = a > 0 ? Interval{t, kInf, true, true} : Interval{-kInf, t, true, true};
        break;
      case ir::Kind::Ge:
        yes = a > 0 ? Interval{t, kInf, false, true} : Interval{-kInf, t, true, false};
        break;
      case ir::Kind::Lt:
        yes = a > 0 ? Interval{-kInf, t, true, true} : Interval{t, kInf, true, true};
        break;
      case ir::Kind::Le:
        yes = a > 0 ? Interval{-kInf, t, true, false} : Interval{t, kInf, false, true};
        break;
      case ir::Kind::Eq: yes = Interval::point(t); break;
      default: yes = Interval::reals(); break; // Ne: the true branch may be taken anywhere
      }
      Interval no;
      if (c.kind() == ir::Kind::Eq)
        no = Interval::reals();
      else if (c.kind() == ir::Kind::Ne)
        no = Interval::point(t);
      else if (std::isinf(yes.lo))
        no = {yes.hi, kInf, !yes.hi_open, true};
      else
        no = {-kInf, yes.lo, true, !yes.lo_open};
      std::optional<Interval> out;
      for (auto [part, branch] : {std::pair{yes, 1}, std::pair{no, 2}})
        if (auto xs = intersect(x_, part)) {
          const Interval v = RangeOf(*xs, params_)(e.child(branch));
          out = out ? unite(*out, v) : v;
        }
      return out ? *out : Interval::reals();
    }
    const Interval lr = (*this)(c.child(0)), rr = (*this)(c.child(1));
    const Interval d = increasing2(lr, negate(rr)); // the sides' difference
    const bool always = (c.kind() == ir::Kind::Gt && (d.lo > 0 || (d.lo == 0 && d.lo_open))) ||
                        (c.kind() == ir::Kind::Ge && d.lo >= 0) ||
                        (c.kind() == ir::Kind::Lt && (d.hi < 0 || (d.hi == 0 && d.hi_open))) ||
                        (c.kind() == ir::Kind::Le && d.hi <= 0);
    const bool never = (c.kind() == ir::Kind::Gt && d.hi <= 0) ||
                       (c.kind() == ir::Kind::Ge && (d.hi < 0 || (d.hi == 0 && d.hi_open))) ||
                       (c.kind() == ir::Kind::Lt && d.lo >= 0) ||
                       (c.kind() == ir::Kind::Le && (d.lo > 0 || (d.lo == 0 && d.lo_open)));
    if (always) return (*this)(e.child(1));
    if (never) return (*this)(e.child(2));
    return unite((*this)(e.child(1)), (*this)(e.child(2)));
  }

  Interval x_;
  const ParamValues &params_;
  std::unordered_map<const ir::Node *, Interval> memo_;
};

std::string format(long double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6Lg", v);
  return buf;
}

} // namespace

bool Interval::contains(long double v) const {
  return (v > lo || (v == lo && !lo_open)) && (v < hi || (v == hi && !hi_open));
}

std::string Interval::str() const {
  return std::string(lo_open ? "(" : "[") + format(lo) + ", " + format(hi) + (hi_open ? ")" : "]");
}

Interval range(ir::Expr e, const Interval &over, const ParamValues &params) {
  if (!e.defined()) throw Error("range(): no expression");
  return RangeOf(over, params)(e);
}

std::optional<Affine> affine(ir::Expr e, const ParamValues &params) {
  using ir::Kind;
  switch (e.kind()) {
  case Kind::Const: return Affine{0, e.value()};
  case Kind::Param: return Affine{0, param_value(e, params)};
  case Kind::Input:
    if (e.input_index() == 0) return Affine{1, 0};
    return std::nullopt;
  case Kind::Neg: {
    auto u = affine(e.child(0), params);
    if (!u) return std::nullopt;
    return Affine{-u->a, -u->b};
  }
  case Kind::Add:
  case Kind::Sub: {
    auto u = affine(e.child(0), params), v = affine(e.child(1), params);
    if (!u || !v) return std::nullopt;
    const long double s = e.kind() == Kind::Add ? 1 : -1;
    return Affine{u->a + s * v->a, u->b + s * v->b};
  }
  case Kind::Mul: {
    auto u = affine(e.child(0), params), v = affine(e.child(1), params);
    if (!u || !v || (u->a != 0 && v->a != 0)) return std::nullopt;
    if (u->a != 0) std::swap(u, v); // u is x-free
    return Affine{u->b * v->a, u->b * v->b};
  }
  case Kind::Div: {
    auto u = affine(e.child(0), params), v = affine(e.child(1), params);
    if (!u || !v || v->a != 0 || v->b == 0) return std::nullopt;
    return Affine{u->a / v->b, u->b / v->b};
  }
  default: return std::nullopt;
  }
}

} // namespace actforge::dsl
