// The guard analyses on the IR (guards.hpp): where IEEE evaluation already gives the limits at
// ±inf and carries a NaN, so a backend can leave the guards out.
#include "actforge/codegen/guards.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <optional>
#include <unordered_map>
#include <vector>

namespace actforge::codegen::guards {
// ---- Which guards a kernel needs ---------------------------------------------------------------
//
// The guards cost about 16 instructions per vector on every element, and many kernels get ±inf
// and NaN right by plain IEEE evaluation (relu, hardtanh, sigmoid, tanh, elu, softsign, ...). Two
// analyses on the IR decide, both erring towards keeping a guard. They rest on strict IEEE
// evaluation (the x86 targets compile with Target::StrictFloat; the primitives are strict by
// themselves) and mirror lower.cpp: Rsqrt is 1/sqrt, Pow a chain of products (1/u first for a
// negative exponent, the constant 1 for 0), Min/Max are min_nan/max_nan, and each primitive has
// the limits and NaN propagation primitives.hpp promises and primitives_test checks. A change
// to lower.cpp's rules must be mirrored here.
//
// Infinity. For every setting of the inputs to +inf, -inf or "finite", at least one infinite,
// each node gets the set of sign classes {-inf, <0, 0, >0, +inf} its IEEE value can take there;
// a class says that value is also the node's limit as the infinite inputs grow. Operations on
// finite values may overflow or underflow (the set widens to ±inf and 0); a parameter is any
// finite value, 0 included; a constant has the class of its value in the compute type. A node is
// Bad where IEEE may give something other than the limit: inf - inf, 0·inf, inf/inf, anything/0,
// log or sqrt of a value that may be 0 or negative, log1p of one that may be below -1, and a
// select whose condition depends on an infinite input but is not decided by the classes
// (x > c at x = +inf is decided; x > g with both infinite is not). A condition on finite values
// alone reads the same with or without stand-ins: both branches count. No Bad root in any
// setting: the stand-ins and limit() go.
//
// NaN. The test of input k goes when a NaN in k reaches the value by itself: through arithmetic,
// the primitives, min_nan/max_nan and Pow with a nonzero exponent; through a select only when
// both branches carry it (the condition is not trusted either way: select(x > 0, 1, 0) drops the
// NaN). dy needs no test: dy·f'(x) carries its NaN.
namespace {

// Sign classes as bits; kBad marks a node where IEEE evaluation may miss the limit.
constexpr unsigned kNegInf = 1, kNeg = 2, kZero = 4, kPos = 8, kPosInf = 16, kBad = 32;
constexpr unsigned kInf = kNegInf | kPosInf;
constexpr unsigned kFinite = kNeg | kZero | kPos;
constexpr unsigned kSignedInf[2] = {kPosInf, kNegInf};
// Conditions use the same mask: may be false, may be true.
constexpr unsigned kFalse = 1, kTrue = 2;

// Position of a single class in the order -inf < negative < 0 < positive < +inf.
int rank(unsigned c) { return std::countr_zero(c); }
bool negative(unsigned c) { return (c & (kNegInf | kNeg)) != 0; }
unsigned with_sign(bool neg, unsigned pos) {
  return neg ? ((pos & kPos ? kNeg : 0u) | (pos & kPosInf ? kNegInf : 0u) | (pos & kZero)) : pos;
}

// Operations on single classes, as IEEE evaluates them at the limit values.
unsigned neg1(unsigned a) { return 1u << (4 - rank(a)); }
unsigned abs1(unsigned a) { return negative(a) ? neg1(a) : a; }
unsigned add1(unsigned a, unsigned b) {
  if ((a | b) == kInf) return kBad; // inf - inf
  if (a & kInf) return a;
  if (b & kInf) return b;
  if (a == kZero) return b;
  if (b == kZero) return a;
  if (a == b) return a | (a == kPos ? kPosInf : kNegInf); // may overflow
  return kFinite;
}
unsigned mul1(unsigned a, unsigned b) {
  if ((a == kZero && (b & kInf)) || (b == kZero && (a & kInf))) return kBad; // 0·inf
  if (a == kZero || b == kZero) return kZero;
  const bool neg = negative(a) != negative(b);
  if ((a | b) & kInf) return kSignedInf[neg];
  return with_sign(neg, kPos | kZero | kPosInf); // may underflow or overflow
}
unsigned div1(unsigned a, unsigned b) {
  if (b == kZero) return kBad;               // a/0: the sign of the zero decides
  if ((a & kInf) && (b & kInf)) return kBad; // inf/inf
  if (a == kZero || (b & kInf)) return kZero;
  const bool neg = negative(a) != negative(b);
  if (a & kInf) return kSignedInf[neg];
  return with_sign(neg, kPos | kZero | kPosInf);
}
// a^n, n > 0, as lower.cpp's products: the partial products of one finite value all lie on one
// side of 1, so they may overflow or underflow but never meet 0·inf.
unsigned pow1(unsigned a, int n) {
  const bool neg = negative(a) && n % 2 == 1;
  if (a == kZero) return kZero;
  if (a & kInf) return kSignedInf[neg];
  return with_sign(neg, kPos | kZero | kPosInf);
}
unsigned compare1(ir::Kind k, unsigned a, unsigned b) {
  if (a == b) return kFalse | kTrue; // one class says nothing about the order
  const bool less = rank(a) < rank(b);
  switch (k) {
  case ir::Kind::Gt:
  case ir::Kind::Ge: return less ? kFalse : kTrue;
  case ir::Kind::Lt:
  case ir::Kind::Le: return less ? kTrue : kFalse;
  case ir::Kind::Eq: return kFalse;
  case ir::Kind::Ne: return kTrue;
  default: return kFalse | kTrue;
  }
}

// The primitives on each class, in the order -inf, <0, 0, >0, +inf: their limits at ±inf, with
// underflow to 0 (and overflow) from finite arguments.
using Row = std::array<unsigned, 5>;
std::optional<Row> primitive_row(ir::Kind k) {
  using ir::Kind;
  switch (k) {
  case Kind::Exp: return Row{kZero, kZero | kPos, kPos, kPos | kPosInf, kPosInf};
  case Kind::Expm1: return Row{kNeg, kNeg | kZero, kZero, kPos | kPosInf, kPosInf};
  case Kind::Log: return Row{kBad, kBad, kBad, kFinite, kPosInf};
  case Kind::Log1p: return Row{kBad, kBad, kZero, kPos, kPosInf};
  case Kind::Sqrt: return Row{kBad, kBad, kBad, kPos, kPosInf};
  case Kind::Rsqrt: return Row{kBad, kBad, kBad, kPos | kZero, kZero};
  case Kind::Sigmoid: return Row{kZero, kZero | kPos, kPos, kPos, kPos};
  case Kind::Tanh:
  case Kind::Erf: return Row{kNeg, kNeg | kZero, kZero, kPos | kZero, kPos};
  case Kind::Erfc: return Row{kPos, kPos, kPos, kPos | kZero, kZero};
  case Kind::Softplus: return Row{kZero, kZero | kPos, kPos, kPos | kPosInf, kPosInf};
  default: return std::nullopt;
  }
}

// Applies a single-class operation to every pair of classes of two sets.
template <class Op> unsigned pairwise(unsigned a, unsigned b, Op op) {
  unsigned r = 0;
  for (unsigned ca = 1; ca <= kPosInf; ca <<= 1)
    for (unsigned cb = 1; cb <= kPosInf; cb <<= 1)
      if ((a & ca) && (b & cb)) r |= op(ca, cb);
  return r;
}
// ... or to each class of one set, paired with itself (x·x is never 0·inf).
template <class Op> unsigned diagonal(unsigned a, Op op) {
  unsigned r = 0;
  for (unsigned c = 1; c <= kPosInf; c <<= 1)
    if (a & c) r |= op(c, c);
  return r;
}

struct Value {
  unsigned classes = 0; // kBad, or sign classes (conditions: kFalse/kTrue)
  bool varying = false; // depends on an infinite input
};

class Limits {
public:
  Limits(std::vector<unsigned> inputs, int bits) : inputs_(std::move(inputs)), bits_(bits) {}

  Value operator()(ir::Expr e) {
    if (auto it = memo_.find(e); it != memo_.end()) return it->second;
    Value v = rule(e);
    if (v.classes & kBad) v.classes = kBad;
    memo_.emplace(e, v);
    return v;
  }

private:
  unsigned constant(long double v) const {
    const double r = bits_ == 64 ? static_cast<double>(v) : static_cast<float>(v);
    if (std::isnan(r)) return kBad;
    if (std::isinf(r)) return r > 0 ? kPosInf : kNegInf;
    return r > 0 ? kPos : r < 0 ? kNeg : kZero;
  }

  Value rule(ir::Expr e) {
    using ir::Kind;
    const Kind k = e.kind();
    switch (k) {
    case Kind::Const: return {constant(e.value()), false};
    case Kind::Param: return {kFinite, false};
    case Kind::Input: {
      const auto i = static_cast<std::size_t>(e.input_index());
      if (i >= inputs_.size()) return {kBad, true}; // lower() reports it
      return {inputs_[i], inputs_[i] != kFinite};
    }
    case Kind::Select: return select(e);
    default: break;
    }
    const Value a = (*this)(e.child(0));
    if (a.classes == kBad) return a;
    if (e.num_children() == 1) {
      switch (k) {
      case Kind::Neg:
        return {diagonal(a.classes, [](unsigned c, unsigned) { return neg1(c); }), a.varying};
      case Kind::Abs:
        return {diagonal(a.classes, [](unsigned c, unsigned) { return abs1(c); }), a.varying};
      case Kind::Pow: return power(a, e.exponent());
      default: break;
      }
      const std::optional<Row> row = primitive_row(k);
      if (!row) return {kBad, true}; // a kind this analysis does not know: keep the guard
      return {
          diagonal(a.classes,
                   [&](unsigned c, unsigned) { return (*row)[static_cast<std::size_t>(rank(c))]; }),
          a.varying};
    }
    const Value b = (*this)(e.child(1));
    if (b.classes == kBad) return b;
    const bool varying = a.varying || b.varying;
    const bool same = e.child(0) == e.child(1);
    auto apply = [&](auto op) {
      return Value{same ? diagonal(a.classes, op) : pairwise(a.classes, b.classes, op), varying};
    };
    switch (k) {
    case Kind::Add: return apply(add1);
    case Kind::Sub: return apply([](unsigned x, unsigned y) { return add1(x, neg1(y)); });
    case Kind::Mul: return apply(mul1);
    case Kind::Div: return apply(div1);
    case Kind::Min: return extremum(a, b, same, Kind::Lt);
    case Kind::Max: return extremum(a, b, same, Kind::Gt);
    default: break;
    }
    if (ir::is_comparison(k))
      return apply([k](unsigned x, unsigned y) { return compare1(k, x, y); });
    return {kBad, true};
  }

  // min/max: the operand that wins (a where a `wins` b) is the value, so the value depends on an
  // infinite input only if a winner may: max(x, c) at x = -inf is c, for any x below c.
  static Value extremum(const Value &a, const Value &b, bool same, ir::Kind wins) {
    if (same) return a;
    Value r{0, false};
    for (unsigned ca = 1; ca <= kPosInf; ca <<= 1)
      for (unsigned cb = 1; cb <= kPosInf; cb <<= 1) {
        if (!(a.classes & ca) || !(b.classes & cb)) continue;
        const unsigned a_wins = compare1(wins, ca, cb);
        if (a_wins & kTrue) r = {r.classes | ca, r.varying || a.varying};
        if (a_wins & kFalse) r = {r.classes | cb, r.varying || b.varying};
      }
    return r;
  }

  Value power(const Value &a, int n) {
    if (n == 0) return {kPos, false}; // lower.cpp: the constant 1
    unsigned base = a.classes;
    if (n < 0) {
      base = pairwise(kPos, base, div1);
      if (base & kBad) return {kBad, true};
      n = -n;
    }
    return {diagonal(base, [n](unsigned c, unsigned) { return pow1(c, n); }), a.varying};
  }

  Value select(ir::Expr e) {
    const Value c = (*this)(e.child(0));
    if (c.classes == kBad) return c;
    if (c.classes == kTrue) return (*this)(e.child(1));
    if (c.classes == kFalse) return (*this)(e.child(2));
    if (c.varying) return {kBad, true}; // the branch at inf need not be the branch of the limit
    const Value a = (*this)(e.child(1)), b = (*this)(e.child(2));
    return {a.classes | b.classes, a.varying || b.varying};
  }

  std::vector<unsigned> inputs_;
  int bits_;
  std::unordered_map<ir::Expr, Value, ir::ExprHash> memo_;
};

/// A NaN in input k makes e NaN without a test.
class CarriesNan {
public:
  explicit CarriesNan(int input) : input_(input) {}

  bool operator()(ir::Expr e) {
    if (auto it = memo_.find(e); it != memo_.end()) return it->second;
    const bool r = rule(e);
    memo_.emplace(e, r);
    return r;
  }

private:
  bool rule(ir::Expr e) {
    using ir::Kind;
    switch (e.kind()) {
    case Kind::Input: return e.input_index() == input_;
    case Kind::Const:
    case Kind::Param: return false;
    case Kind::Pow: return e.exponent() != 0 && (*this)(e.child(0));
    case Kind::Select: return (*this)(e.child(1)) && (*this)(e.child(2));
    case Kind::Add:
    case Kind::Sub:
    case Kind::Mul:
    case Kind::Div:
    case Kind::Min: // min_nan
    case Kind::Max: // max_nan
      return (*this)(e.child(0)) || (*this)(e.child(1));
    case Kind::Neg:
    case Kind::Exp:
    case Kind::Expm1:
    case Kind::Log:
    case Kind::Log1p:
    case Kind::Sqrt:
    case Kind::Rsqrt:
    case Kind::Abs:
    case Kind::Sigmoid:
    case Kind::Tanh:
    case Kind::Erf:
    case Kind::Erfc:
    case Kind::Softplus: return (*this)(e.child(0));
    default: return false; // comparisons are not values; a new kind keeps the test
    }
  }

  int input_;
  std::unordered_map<ir::Expr, bool, ir::ExprHash> memo_;
};

} // namespace

/// True when IEEE evaluation of e over `inputs` inputs gives the limit in every setting with an
/// infinite input.
bool exact_at_infinity(ir::Expr e, int inputs, int bits) {
  std::vector<unsigned> setting(static_cast<std::size_t>(inputs), kFinite);
  // Count through {finite, -inf, +inf}^inputs, skipping the all-finite setting.
  for (;;) {
    std::size_t i = 0;
    for (; i < setting.size(); ++i) {
      setting[i] = setting[i] == kFinite ? kNegInf : setting[i] == kNegInf ? kPosInf : kFinite;
      if (setting[i] != kFinite) break;
    }
    if (i == setting.size()) return true;
    if (Limits(setting, bits)(e).classes == kBad) return false;
  }
}

bool carries_nan(ir::Expr e, int input) { return CarriesNan(input)(e); }

namespace {
// An upper bound on how fast |e| grows with input k far out, as a power of it: 0 for a bounded
// or input-free node, 1 for linear growth. Products add, a power multiplies, and exp of a
// growing argument, which no power bounds, counts as 2: only 0 and 1 are acted on.
int growth_degree(ir::Expr e, int k, std::unordered_map<ir::Expr, int, ir::ExprHash> &memo) {
  if (auto it = memo.find(e); it != memo.end()) return it->second;
  auto child = [&](int i) { return growth_degree(e.child(i), k, memo); };
  int d = 0;
  switch (e.kind()) {
  case ir::Kind::Const:
  case ir::Kind::Param: d = 0; break;
  case ir::Kind::Input: d = e.input_index() == k ? 1 : 0; break;
  case ir::Kind::Mul:
  case ir::Kind::Div: d = child(0) + child(1); break;
  case ir::Kind::Pow: d = child(0) * std::max(1, std::abs(e.exponent())); break;
  case ir::Kind::Exp:
  case ir::Kind::Expm1: d = child(0) > 0 ? 2 : 0; break;
  // Bounded, or growing like log; an argument that overflows on the way (x³ at 2^80) may still
  // meet inf - inf inside, so it keeps the small stand-in.
  case ir::Kind::Log:
  case ir::Kind::Log1p:
  case ir::Kind::Sigmoid:
  case ir::Kind::Tanh:
  case ir::Kind::Erf:
  case ir::Kind::Erfc: d = child(0) > 1 ? 2 : 0; break;
  // The value branches of a select; a condition compares, it does not carry magnitude.
  case ir::Kind::Select: d = std::max(child(1), child(2)); break;
  default: // Add, Sub, Neg, Abs, Min, Max, Sqrt, Rsqrt, Softplus, comparisons
    for (int i = 0; i < e.num_children(); ++i)
      d = std::max(d, child(i));
  }
  memo.emplace(e, d);
  return d;
}
} // namespace

int stand_in_exponent(const std::vector<ir::Expr> &exprs, int input, int bits) {
  if (bits == 64) return 300;
  std::unordered_map<ir::Expr, int, ir::ExprHash> memo;
  for (const ir::Expr &e : exprs)
    if (growth_degree(e, input, memo) > 1) return 40;
  return 80;
}

namespace {
// Primitives whose value tends to a finite limit (0, ±1, 2) at one end or both, where a
// polynomial factor multiplying them can overflow while the product stays finite (not
// precision.cpp's transcendental set: log and log1p grow without bound).
bool saturating_primitive(ir::Kind k) {
  switch (k) {
  case ir::Kind::Exp:
  case ir::Kind::Expm1:
  case ir::Kind::Sigmoid:
  case ir::Kind::Tanh:
  case ir::Kind::Erf:
  case ir::Kind::Erfc:
  case ir::Kind::Softplus: return true;
  default: return false;
  }
}
} // namespace

Growth GrowthAnalysis::operator()(ir::Expr e) {
  if (auto it = memo_.find(e); it != memo_.end()) return it->second;
  Growth g;
  g.varies = e.kind() == ir::Kind::Input;
  g.saturates = saturating_primitive(e.kind());
  for (int i = 0; i < e.num_children(); ++i) {
    const Growth c = (*this)(e.child(i));
    g.varies |= c.varies;
    g.saturates |= c.saturates;
    g.overflows |= c.overflows;
  }
  if (e.kind() == ir::Kind::Pow) g.overflows |= e.exponent() >= 2 && g.varies;
  if (e.kind() == ir::Kind::Mul)
    g.overflows |= (*this)(e.child(0)).varies && (*this)(e.child(1)).varies;
  memo_.emplace(e, g);
  return g;
}

} // namespace actforge::codegen::guards
