// Fixed-point lowering: integer arithmetic where the IR allows it, interpolated tables where it
// needs a transcendental function of one input, and the exhaustive error measurement.
#include "fixed.hpp"

#include "actforge/error.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/mutate.hpp"
#include "actforge/ir/print.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <tuple>
#include <unordered_map>

namespace actforge::codegen::hls {

long double FixedFormat::lsb() const { return std::ldexp(1.0L, -frac); }
long double FixedFormat::min_value() const { return -std::ldexp(1.0L, width - 1) * lsb(); }
long double FixedFormat::max_value() const { return (std::ldexp(1.0L, width - 1) - 1) * lsb(); }
std::string FixedFormat::c_type() const {
  return width <= 8 ? "int8_t" : width <= 16 ? "int16_t" : "int32_t";
}
std::string FixedFormat::to_string() const {
  return std::to_string(width) + "." + std::to_string(frac);
}

FixedFormat parse_fixed(const std::string &text) {
  const std::size_t dot = text.find('.');
  auto number = [&](const std::string &s) {
    if (s.empty() || s.size() > 2 || s.find_first_not_of("0123456789") != std::string::npos)
      throw Error("bad fixed-point format '" + text + "': expected W.F, e.g. 16.10");
    return std::stoi(s);
  };
  if (dot == std::string::npos)
    throw Error("bad fixed-point format '" + text + "': expected W.F, e.g. 16.10");
  FixedFormat f{number(text.substr(0, dot)), number(text.substr(dot + 1))};
  if (f.width < 2 || f.width > 32)
    throw Error("fixed-point format '" + text + "': the width must be 2 to 32 bits");
  if (f.frac >= f.width)
    throw Error("fixed-point format '" + text + "': fewer fractional bits than the width");
  return f;
}

namespace detail {
namespace {

using ir::Expr;
using ir::Kind;
using Op = IntProgram::Op;

constexpr long double kLimit = 0x1p61L; // |raw value| stays below this: products fit in int64

/// A value of the integer program: register, fractional bits, the interval of its real value.
struct Val {
  int reg;
  int frac;
  long double lo, hi;
  long double bound() const { return std::max(std::fabs(lo), std::fabs(hi)); }
};

/// Whether integer arithmetic cannot compute node e itself: every one-argument function but abs
/// (exp, log, sqrt, sigmoid, ...), a division by a non-constant, a negative power.
bool needs_table_kind(Expr e) {
  if (ir::is_unary_function(e.kind())) return e.kind() != Kind::Abs;
  if (e.kind() == Kind::Div) return !e.child(1).is_const();
  return e.kind() == Kind::Pow && e.exponent() < 0;
}

class Lowering {
public:
  explicit Lowering(const FixedRequest &r) : req_(r) {
    precision_ = std::max({24, r.out.frac + 12, r.in.frac});
    for (std::size_t p = 0; p < r.ir_inputs.size(); ++p)
      slot_[r.ir_inputs[p]] = static_cast<int>(p);
    prog_.num_inputs = static_cast<int>(r.ir_inputs.size());
    budget_ = static_cast<long double>(*r.max_error) - r.out.lsb() / 2;
  }

  FixedResult run() {
    for (Expr e : req_.outputs) {
      Val v = lower(lift(e, true));
      prog_.outputs.push_back(saturate(v));
    }
    FixedResult res;
    res.tables = tables_;
    res.program = std::move(prog_);
    measure(res);
    return res;
  }

private:
  // ---- Structure of the IR.
  unsigned inputs_of(Expr e) {
    if (auto it = inputs_.find(e); it != inputs_.end()) return it->second;
    unsigned m = 0;
    if (e.kind() == Kind::Input) m = 1u << e.input_index();
    for (int i = 0; i < e.num_children(); ++i)
      m |= inputs_of(e.child(i));
    return inputs_[e] = m;
  }
  bool needs_table(Expr e) {
    if (auto it = needs_.find(e); it != needs_.end()) return it->second;
    bool n = needs_table_kind(e);
    for (int i = 0; i < e.num_children() && !n; ++i)
      n = needs_table(e.child(i));
    return needs_[e] = n;
  }

  /// e with its selects lifted above the arithmetic that consumes them, where the condition
  /// needs no table: c·select(p, a, b) = select(p, c·a, c·b). Tables then hold smooth
  /// branches, never a jump; and dy·select(p, 1, 0) needs no multiplier. `constant_branches`:
  /// lift only selects of two constants (no code is duplicated).
  Expr lift(Expr e, bool constant_branches) {
    auto &memo = lifted_[constant_branches ? 1 : 0];
    if (auto it = memo.find(e); it != memo.end()) return it->second;
    Expr out = e;
    if (e.num_children() > 0) {
      std::vector<Expr> kids;
      for (int i = 0; i < e.num_children(); ++i)
        kids.push_back(lift(e.child(i), constant_branches));
      out = ir::with_children(e, kids);
      const bool arithmetic = out.kind() != Kind::Select && !out.is_condition();
      for (std::size_t i = 0; arithmetic && i < kids.size(); ++i) {
        const Expr c = kids[i];
        if (c.kind() != Kind::Select || needs_table(c.child(0))) continue;
        if (constant_branches && !(c.child(1).is_const() && c.child(2).is_const())) continue;
        std::vector<Expr> a(kids), b(kids);
        a[i] = c.child(1);
        b[i] = c.child(2);
        out = ir::select(c.child(0), lift(ir::with_children(out, a), constant_branches),
                         lift(ir::with_children(out, b), constant_branches));
        break;
      }
    }
    memo.emplace(e, out);
    return out;
  }

  // ---- Integer program building blocks.
  int raw(std::int64_t v) {
    if (auto it = consts_.find(v); it != consts_.end()) return it->second;
    return consts_[v] = prog_.add({Op::Const, -1, -1, -1, v});
  }
  bool is_const(int reg) const { return prog_.ins[static_cast<std::size_t>(reg)].op == Op::Const; }
  std::int64_t const_of(int reg) const { return prog_.ins[static_cast<std::size_t>(reg)].imm; }
  /// An instruction; folded to a constant when its operands are constants.
  int op(Op o, int a, int b = -1, int c = -1, std::int64_t imm = 0) {
    const bool foldable = o != Op::Input && o != Op::Load && a >= 0 && is_const(a) &&
                          (b < 0 || is_const(b)) && (c < 0 || is_const(c));
    if (o == Op::Select && (b == c || is_const(a))) return b == c || const_of(a) ? b : c;
    // x + 0, 0 + x, x - 0, x·1 and x·2^0 are x.
    if ((o == Op::Add || o == Op::Sub) && b >= 0 && is_const(b) && const_of(b) == 0) return a;
    if (o == Op::Add && is_const(a) && const_of(a) == 0) return b;
    if (o == Op::Mul && b >= 0 && is_const(b) && const_of(b) == 1) return a;
    if (o == Op::Mul && is_const(a) && const_of(a) == 1) return b;
    if (o == Op::Scale && imm == 0) return a;
    if (!foldable) {
      // The same instruction twice is one register (common sub-expressions of the tables).
      const auto key = std::make_tuple(static_cast<int>(o), a, b, c, imm);
      if (auto it = cse_.find(key); it != cse_.end()) return it->second;
      return cse_[key] = prog_.add({o, a, b, c, imm});
    }
    IntProgram one;
    std::array<std::int64_t, 3> v{const_of(a), b >= 0 ? const_of(b) : 0, c >= 0 ? const_of(c) : 0};
    one.ins = {{Op::Const, -1, -1, -1, v[0]},
               {Op::Const, -1, -1, -1, v[1]},
               {Op::Const, -1, -1, -1, v[2]},
               {o, 0, b >= 0 ? 1 : -1, c >= 0 ? 2 : -1, imm}};
    std::vector<std::int64_t> regs;
    one.run(nullptr, regs);
    return raw(regs[3]);
  }
  /// v at `frac` fractional bits: scaled up exactly, or rounded to nearest (ties up).
  Val at(Val v, int frac) {
    if (frac == v.frac) return v;
    if (frac > v.frac) {
      if (v.bound() * std::ldexp(1.0L, frac) >= kLimit)
        throw Error("fixed point: a value of magnitude up to " + std::to_string(double(v.bound())) +
                    " does not fit 64-bit intermediates at " + std::to_string(frac) +
                    " fractional bits");
      return {op(Op::Scale, v.reg, -1, -1, frac - v.frac), frac, v.lo, v.hi};
    }
    const int s = v.frac - frac;
    const int sum = op(Op::Add, v.reg, raw(std::int64_t{1} << (s - 1)));
    // Rounding to nearest (ties up) is monotonic: the interval's ends round the same way.
    auto rounded = [&](long double r) {
      return std::ldexp(std::floor(std::ldexp(r, frac) + 0.5L), -frac);
    };
    return {op(Op::Shr, sum, -1, -1, s), frac, rounded(v.lo), rounded(v.hi)};
  }
  /// The largest fractional bits <= want at which a value of this bound fits the limit.
  static int fitting(long double bound, int want) {
    int f = want;
    while (f > 0 && bound * std::ldexp(1.0L, f) >= kLimit)
      --f;
    return f;
  }
  Val constant(long double c) {
    int f = 0;
    while (f < precision_ && std::ldexp(c, f) != std::nearbyint(std::ldexp(c, f)))
      ++f;
    f = fitting(std::fabs(c), f);
    const long double scaled = std::nearbyint(std::ldexp(c, f));
    if (std::fabs(scaled) >= kLimit)
      throw Error("fixed point: the constant " + std::to_string(double(c)) + " is too large");
    const long double r = std::ldexp(scaled, -f);
    return {raw(static_cast<std::int64_t>(scaled)), f, r, r};
  }
  std::pair<Val, Val> aligned(Val a, Val b) {
    const int f = fitting(std::max(a.bound(), b.bound()) * 2, std::max(a.frac, b.frac));
    return {at(a, f), at(b, f)};
  }
  Val add(Val a, Val b, bool subtract) {
    auto [x, y] = aligned(a, b);
    if (is_const(y.reg) && const_of(y.reg) == 0) return x;
    if (!subtract && is_const(x.reg) && const_of(x.reg) == 0) return y;
    return {op(subtract ? Op::Sub : Op::Add, x.reg, y.reg), x.frac,
            subtract ? x.lo - y.hi : x.lo + y.lo, subtract ? x.hi - y.lo : x.hi + y.hi};
  }
  Val mul(Val a, Val b) {
    // Keep the product below the limit: take fractional bits off the finer operand first.
    // x·1 and x·0 need no multiplier (the derivative of a piecewise-linear function).
    for (int swap = 0; swap < 2; ++swap, std::swap(a, b)) {
      if (!is_const(b.reg)) continue;
      if (const_of(b.reg) == 0) return constant(0);
      if (b.lo == 1) return a;
      if (b.lo == -1) return {op(Op::Neg, a.reg), a.frac, -a.hi, -a.lo};
    }
    // The fractional bits each operand keeps (the finer one gives up bits first), then one
    // rounding each: rounding bit by bit would round repeatedly.
    int fa = a.frac, fb = b.frac;
    while ((a.bound() + std::ldexp(1.0L, -fa)) * std::ldexp(1.0L, fa) *
               (b.bound() + std::ldexp(1.0L, -fb)) * std::ldexp(1.0L, fb) >=
           kLimit) {
      if (fa == 0 && fb == 0) throw Error("fixed point: a product overflows 64 bits");
      if (fa >= fb)
        --fa;
      else
        --fb;
    }
    a = at(a, fa);
    b = at(b, fb);
    const long double c1 = a.lo * b.lo, c2 = a.lo * b.hi, c3 = a.hi * b.lo, c4 = a.hi * b.hi;
    Val p{op(Op::Mul, a.reg, b.reg), a.frac + b.frac, std::min({c1, c2, c3, c4}),
          std::max({c1, c2, c3, c4})};
    return p.frac > precision_ ? at(p, precision_) : p;
  }
  int compare(Kind k, Val a, Val b) {
    auto [x, y] = aligned(a, b);
    Op o = k == Kind::Gt   ? Op::Gt
           : k == Kind::Ge ? Op::Ge
           : k == Kind::Lt ? Op::Lt
           : k == Kind::Le ? Op::Le
           : k == Kind::Eq ? Op::Eq
                           : Op::Ne;
    return op(o, x.reg, y.reg);
  }
  Val select(int cond, Val a, Val b) {
    auto [x, y] = aligned(a, b);
    return {op(Op::Select, cond, x.reg, y.reg), x.frac, std::min(x.lo, y.lo), std::max(x.hi, y.hi)};
  }
  int saturate(Val v) {
    const FixedFormat &o = req_.out;
    Val r = at(v, o.frac);
    const std::int64_t hi = (std::int64_t{1} << (o.width - 1)) - 1, lo = -hi - 1;
    const long double scale = std::ldexp(1.0L, o.frac);
    int reg = r.reg;
    if (r.lo * scale < static_cast<long double>(lo))
      reg = op(Op::Select, op(Op::Lt, reg, raw(lo)), raw(lo), reg);
    if (r.hi * scale > static_cast<long double>(hi))
      reg = op(Op::Select, op(Op::Gt, reg, raw(hi)), raw(hi), reg);
    return reg;
  }

  // ---- IR nodes.
  Val lower(Expr e) {
    if (auto it = memo_.find(e); it != memo_.end()) return it->second;
    Val v = lower_new(e);
    memo_.emplace(e, v);
    return v;
  }
  Val lower_new(Expr e) {
    const unsigned m = inputs_of(e);
    if (needs_table(e) && m == 0) return constant(ir::Program(e)(0));
    if (needs_table_kind(e) && (m & (m - 1)) != 0)
      throw Error("fixed point cannot compute " + ir::print(e) +
                  ": a function that needs a table must depend on one input only");
    if (needs_table(e) && (m & (m - 1)) == 0) {
      int k = 0;
      while (!(m & (1u << k)))
        ++k;
      if (slot_.count(k) == 0) throw Error("internal error: input " + std::to_string(k));
      std::vector<char> active(words(), 1);
      return tabled(e, k, active);
    }
    auto c = [&](int i) { return lower(e.child(i)); };
    switch (e.kind()) {
    case Kind::Const: return constant(e.value());
    case Kind::Input: {
      auto it = slot_.find(e.input_index());
      if (it == slot_.end()) throw Error("internal error: unmapped input");
      const FixedFormat &f = req_.in;
      return {op(Op::Input, -1, -1, -1, it->second), f.frac, f.min_value(), f.max_value()};
    }
    case Kind::Param: throw Error("fixed point: parameter '" + e.param_name() + "' has no value");
    case Kind::Add: return add(c(0), c(1), false);
    case Kind::Sub: return add(c(0), c(1), true);
    case Kind::Mul: return mul(c(0), c(1));
    case Kind::Div: return mul(c(0), constant(1.0L / e.child(1).value()));
    case Kind::Neg: {
      Val a = c(0);
      return {op(Op::Neg, a.reg), a.frac, -a.hi, -a.lo};
    }
    case Kind::Abs: {
      Val a = c(0);
      const int neg = op(Op::Lt, a.reg, raw(0));
      return {op(Op::Select, neg, op(Op::Neg, a.reg), a.reg), a.frac,
              a.lo >= 0   ? a.lo
              : a.hi <= 0 ? -a.hi
                          : 0,
              a.bound()};
    }
    case Kind::Pow: {
      Val r = constant(1);
      for (int i = 0; i < e.exponent(); ++i)
        r = i == 0 ? c(0) : mul(r, c(0));
      return r;
    }
    case Kind::Min:
    case Kind::Max: {
      Val a = c(0), b = c(1);
      // min(a, b) = a < b ? a : b; max(a, b) = a > b ? a : b (b at a tie, as the IR says).
      const int cond = compare(e.kind() == Kind::Min ? Kind::Lt : Kind::Gt, a, b);
      return select(cond, a, b);
    }
    case Kind::Select: return select(condition(e.child(0)), c(1), lower(e.child(2)));
    default: throw Error("internal error: no fixed-point rule for " + ir::print(e));
    }
  }
  int condition(Expr c) {
    if (!c.is_condition()) throw Error("internal error: a select without a comparison");
    return compare(c.kind(), lower(c.child(0)), lower(c.child(1)));
  }

  // ---- Tables.
  int in_width() const { return req_.in.width; }
  std::size_t words() const { return std::size_t{1} << in_width(); }
  std::int64_t word_min() const { return -(std::int64_t{1} << (in_width() - 1)); }

  /// The value of register `reg` for every word of IR input k (other inputs 0).
  std::vector<std::int64_t> over_words(int reg, int k) const {
    std::vector<std::int64_t> out(words()), regs;
    std::array<std::int64_t, 4> in{};
    for (std::size_t i = 0; i < words(); ++i) {
      in[static_cast<std::size_t>(slot_.at(k))] = word_min() + static_cast<std::int64_t>(i);
      prog_.run(in.data(), regs);
      out[i] = regs[static_cast<std::size_t>(reg)];
    }
    return out;
  }

  /// e (a function of IR input k alone) on the words where `active` is set; selects whose
  /// condition needs no table are taken apart, so that no table interpolates across a jump.
  Val tabled(Expr e, int k, const std::vector<char> &active) {
    e = lift(e, false);
    if (!needs_table(e)) return lower(e);
    if (e.kind() == Kind::Select && !needs_table(e.child(0))) {
      const int cond = condition(e.child(0));
      const std::vector<std::int64_t> taken = over_words(cond, k);
      std::vector<char> a(active), b(active);
      for (std::size_t i = 0; i < a.size(); ++i) {
        a[i] = active[i] && taken[i];
        b[i] = active[i] && !taken[i];
      }
      Val x = tabled(e.child(1), k, a), y = tabled(e.child(2), k, b);
      return select(cond, x, y);
    }
    return table(e, k, active);
  }

  struct Candidate {
    int s = 0;
    std::int64_t lo = 0, hi = 0; // table nodes lo, lo + 2^s, ..., hi (words)
    int bits = 0;
    long double error = 0;
    long long cost = 0;
  };

  Val table(Expr e, int k, const std::vector<char> &active) {
    if (in_width() > 20)
      throw Error("fixed point: tables need an input format of at most 20 bits (this one has " +
                  std::to_string(in_width()) + ")");
    if (!req_.table_intervals && budget_ <= 0)
      throw Error("fixed point: the error bound is below the output format's rounding");
    const ir::Program fn(e);
    const long double lsb = req_.in.lsb();
    const long double cap = 2 * std::ldexp(1.0L, req_.out.width - 1 - req_.out.frac);
    const std::size_t n = words();
    const std::int64_t xmin = word_min(), xend = xmin + static_cast<std::int64_t>(n); // exclusive
    std::vector<long double> phi(n + 1);
    std::array<long double, 4> in{};
    bool any = false;
    for (std::size_t i = 0; i <= n; ++i) {
      in[static_cast<std::size_t>(k)] = static_cast<long double>(xmin + std::int64_t(i)) * lsb;
      long double v = fn.eval<long double>(
          std::span<const long double>(in.data(), static_cast<std::size_t>(fn.num_inputs())),
          std::span<const long double>());
      if (std::isnan(v)) {
        if (i < n && active[i])
          throw Error("fixed point: " + ir::print(e) + " is undefined at " +
                      std::string(ir::input_name(k)) + " = " +
                      std::to_string(double(in[static_cast<std::size_t>(k)])));
        v = 0;
      }
      phi[i] = std::clamp(v, -cap, cap);
      any = any || (i < n && active[i]);
    }
    if (!any) return constant(0); // a branch no input word takes
    // Stored values carry enough fractional bits that their rounding is a small part of the
    // budget (or 3 bits beyond the output's for a requested size).
    int tf = req_.out.frac + 3;
    if (!req_.table_intervals)
      tf = std::max(req_.out.frac + 2, static_cast<int>(std::ceil(std::log2(4 / budget_))));
    tf = std::min(tf, 30);
    const long double scale = std::ldexp(1.0L, tf);
    auto q = [&](std::int64_t x) {
      return static_cast<std::int64_t>(
          std::llround(phi[static_cast<std::size_t>(x - xmin)] * scale));
    };
    auto err_at = [&](std::int64_t x, std::int64_t y) {
      return std::fabs(static_cast<long double>(y) / scale -
                       phi[static_cast<std::size_t>(x - xmin)]);
    };

    // Breakpoints where a table may start or end: 0, ±2^m and the ends of the input range.
    std::vector<std::int64_t> points{xmin, 0, xend};
    for (std::int64_t p = 1; p < xend; p *= 2) {
      points.push_back(p);
      points.push_back(-p);
    }
    std::sort(points.begin(), points.end());
    points.erase(std::unique(points.begin(), points.end()), points.end());

    std::optional<Candidate> best;
    std::map<std::pair<bool, std::int64_t>, long double> tails; // (lower, edge) -> tail error
    for (int s = 0; s < in_width(); ++s) {
      const std::int64_t step = std::int64_t{1} << s;
      // Interpolation error of every word, and the largest per block between breakpoints.
      std::vector<long double> seg(points.size(), 0); // block b: [points[b], points[b+1])
      std::vector<std::int64_t> mag(points.size(), 0);
      for (std::size_t b = 0; b + 1 < points.size(); ++b) {
        for (std::int64_t x = points[b]; x < points[b + 1]; ++x) {
          const std::int64_t j0 = (x >> s) << s;
          const std::int64_t q0 = q(j0), q1 = q(j0 + step), r = x - j0;
          mag[b] = std::max({mag[b], std::abs(q0), std::abs(q1)});
          if (!active[static_cast<std::size_t>(x - xmin)]) continue;
          const std::int64_t y = s == 0 ? q0 : q0 + (((q1 - q0) * r + (step >> 1)) >> s);
          seg[b] = std::max(seg[b], err_at(x, y));
        }
      }
      for (std::size_t i = 0; i < points.size(); ++i) {
        for (std::size_t j = i + 1; j < points.size(); ++j) {
          const std::int64_t lo = points[i], hi = points[j];
          if (lo % step != 0 || hi % step != 0) continue;
          const std::int64_t intervals = (hi - lo) >> s;
          if (intervals > (std::int64_t{1} << 16)) continue;
          if (req_.table_intervals && intervals != *req_.table_intervals) continue;
          long double error = 0;
          std::int64_t m = 0;
          for (std::size_t b = i; b < j; ++b) {
            error = std::max(error, seg[b]);
            m = std::max(m, mag[b]);
          }
          if (!req_.table_intervals && error > budget_) continue;
          Candidate c{s, lo, hi, 0, error, 0};
          c.bits = 1;
          while ((std::int64_t{1} << (c.bits - 1)) <= m)
            ++c.bits;
          c.cost = (intervals + 1) * c.bits;
          // The tails are measured only for candidates that could win.
          if (best && (req_.table_intervals ? c.error >= best->error : c.cost > best->cost))
            continue;
          auto cached = [&](bool lower) {
            const auto key = std::make_pair(lower, lower ? lo : hi);
            auto it = tails.find(key);
            if (it == tails.end()) it = tails.emplace(key, tail(lower, c, q, err_at, active)).first;
            return it->second;
          };
          c.error = std::max({c.error, cached(true), cached(false)});
          if (!req_.table_intervals && c.error > budget_) continue;
          const bool better =
              !best || (req_.table_intervals ? c.error < best->error
                                             : c.cost < best->cost ||
                                                   (c.cost == best->cost && c.error < best->error));
          if (better) best = c;
        }
      }
    }
    if (!best) {
      if (req_.table_intervals)
        throw Error("fixed point: no table of " + std::to_string(*req_.table_intervals) +
                    " intervals (a power of two) fits the input format " + req_.in.to_string());
      throw Error("fixed point: no table of " + ir::print(e) + " reaches the error bound " +
                  std::to_string(*req_.max_error) + " in " + req_.in.to_string() + " → " +
                  req_.out.to_string());
    }
    return emit_table(e, k, *best, tf, q);
  }

  /// Affine tail beyond the table: the chord from the table's end to the end of the input range.
  struct Tail {
    std::int64_t edge = 0, c = 0, a = 0;
    int shift = 0;
    std::int64_t at(std::int64_t x) const {
      return a == 0
                 ? c
                 : c + ((a * (x - edge) + (shift ? std::int64_t{1} << (shift - 1) : 0)) >> shift);
    }
  };
  template <class Q> Tail make_tail(bool lower, const Candidate &c, const Q &q) const {
    const std::int64_t xmin = word_min(), xmax = xmin + static_cast<std::int64_t>(words()) - 1;
    Tail t;
    t.edge = lower ? c.lo : c.hi;
    const std::int64_t far = lower ? xmin : xmax;
    t.c = q(t.edge);
    if (far == t.edge) return t;
    const long double slope =
        static_cast<long double>(q(t.edge) - q(far)) / static_cast<long double>(t.edge - far);
    if (slope == 0) return t;
    // A coefficient of at most 25 signed bits: one DSP multiplier (27×18) with the offset.
    t.shift = std::clamp(23 - static_cast<int>(std::ceil(std::log2(std::fabs(slope)))), 0, 40);
    t.a = static_cast<std::int64_t>(std::llround(std::ldexp(slope, t.shift)));
    return t;
  }
  template <class Q, class E>
  long double tail(bool lower, const Candidate &c, const Q &q, const E &err_at,
                   const std::vector<char> &active) const {
    const std::int64_t xmin = word_min(), xend = xmin + static_cast<std::int64_t>(words());
    const Tail t = make_tail(lower, c, q);
    long double e = 0;
    const std::int64_t from = lower ? xmin : c.hi, to = lower ? c.lo : xend;
    for (std::int64_t x = from; x < to; ++x)
      if (active[static_cast<std::size_t>(x - xmin)]) e = std::max(e, err_at(x, t.at(x)));
    return e;
  }

  template <class Q> Val emit_table(Expr e, int k, const Candidate &c, int tf, const Q &q) {
    const std::int64_t xmin = word_min(), xend = xmin + static_cast<std::int64_t>(words());
    IntProgram::TableData data;
    data.name = req_.table_prefix + "_t" + std::to_string(prog_.tables.size());
    data.entry_bits = c.bits;
    std::int64_t mn = q(c.lo), mx = q(c.lo);
    for (std::int64_t x = c.lo; x <= c.hi; x += std::int64_t{1} << c.s) {
      data.values.push_back(q(x));
      mn = std::min(mn, q(x));
      mx = std::max(mx, q(x));
    }
    const int id = static_cast<int>(prog_.tables.size());
    prog_.tables.push_back(data);

    const int x = op(Op::Input, -1, -1, -1, slot_.at(k));
    const bool low_tail = c.lo > xmin, high_tail = c.hi < xend;
    const int d = c.lo == 0 ? x : op(Op::Sub, x, raw(c.lo));
    int idx = c.s == 0 ? d : op(Op::Shr, d, -1, -1, c.s);
    int is_low = -1, is_high = -1;
    if (low_tail) {
      is_low = op(Op::Lt, x, raw(c.lo));
      idx = op(Op::Select, is_low, raw(0), idx);
    }
    if (high_tail) {
      is_high = op(Op::Ge, x, raw(c.hi));
      idx = op(Op::Select, is_high, raw(0), idx);
    }
    const int t0 = prog_.add({Op::Load, idx, -1, -1, 0, id});
    int y = t0;
    if (c.s > 0) {
      const int t1 = prog_.add({Op::Load, op(Op::Add, idx, raw(1)), -1, -1, 0, id});
      const int r = op(Op::And, d, -1, -1, (std::int64_t{1} << c.s) - 1);
      const int prod = op(Op::Mul, op(Op::Sub, t1, t0), r);
      const int rounded =
          op(Op::Shr, op(Op::Add, prod, raw(std::int64_t{1} << (c.s - 1))), -1, -1, c.s);
      y = op(Op::Add, t0, rounded);
    }
    auto tail_reg = [&](bool lower) {
      const Tail t = make_tail(lower, c, q);
      mn = std::min({mn, t.at(lower ? xmin : c.hi), t.at(lower ? c.lo - 1 : xend - 1)});
      mx = std::max({mx, t.at(lower ? xmin : c.hi), t.at(lower ? c.lo - 1 : xend - 1)});
      if (t.a == 0) return raw(t.c);
      const int prod = op(Op::Mul, op(Op::Sub, x, raw(t.edge)), raw(t.a));
      const int sh = t.shift == 0
                         ? prod
                         : op(Op::Shr, op(Op::Add, prod, raw(std::int64_t{1} << (t.shift - 1))), -1,
                              -1, t.shift);
      return op(Op::Add, raw(t.c), sh);
    };
    if (high_tail) y = op(Op::Select, is_high, tail_reg(false), y);
    if (low_tail) y = op(Op::Select, is_low, tail_reg(true), y);

    Table t;
    t.name = data.name;
    t.function = ir::print(e);
    t.input = k;
    t.lo = static_cast<long double>(c.lo) * req_.in.lsb();
    t.hi = static_cast<long double>(c.hi) * req_.in.lsb();
    t.intervals = static_cast<int>((c.hi - c.lo) >> c.s);
    t.entry_bits = c.bits;
    t.frac = tf;
    t.tails = low_tail || high_tail;
    t.max_error = c.error;
    tables_.push_back(t);
    return {y, tf, std::ldexp(static_cast<long double>(mn), -tf),
            std::ldexp(static_cast<long double>(mx), -tf)};
  }

  // ---- Measurement: the program against the reference, over every input word of the tabled
  // input and a stated set of the others.
  std::vector<std::int64_t> probe_words() const {
    const FixedFormat &f = req_.in;
    const std::int64_t lo = word_min(), hi = -lo - 1, one = std::int64_t{1} << f.frac;
    std::vector<std::int64_t> w{
        one, -one, lo, hi, 1, 0, -1, lo + 1, hi - 1, -one - (one >> 1), one + (one >> 1)};
    std::uint64_t state = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 6; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      w.push_back(
          lo + static_cast<std::int64_t>((state >> 33) % static_cast<std::uint64_t>(hi - lo + 1)));
    }
    std::vector<std::int64_t> out;
    for (std::int64_t v : w)
      if (v >= lo && v <= hi && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
    return out;
  }

  void measure(FixedResult &res) const {
    const int num = static_cast<int>(req_.ir_inputs.size());
    // The input swept over every word: g for gated kernels, else x.
    const int sweep = req_.gated ? 1 : 0;
    std::vector<std::vector<std::int64_t>> &sets = res.measured_sets;
    sets.assign(static_cast<std::size_t>(num), {});
    const std::vector<std::int64_t> probes = probe_words();
    std::vector<std::int64_t> all;
    const bool exhaustive = in_width() <= 16;
    const std::size_t count = exhaustive ? words() : (std::size_t{1} << 16);
    for (std::size_t i = 0; i < count; ++i)
      all.push_back(exhaustive ? word_min() + static_cast<std::int64_t>(i)
                               : word_min() + static_cast<std::int64_t>(
                                                  (static_cast<long double>(i) / count) * words()));
    std::string over;
    for (int p = 0; p < num; ++p) {
      const int k = req_.ir_inputs[static_cast<std::size_t>(p)];
      // Three inputs (gated backward): the third takes the first 5 probe words only.
      std::vector<std::int64_t> few(probes.begin(),
                                    probes.begin() + std::min<std::size_t>(5, probes.size()));
      sets[static_cast<std::size_t>(p)] = k == sweep ? all : (num == 3 && p == 2 ? few : probes);
      if (!over.empty()) over += " × ";
      over += std::string(k == 2 ? "dy" : ir::input_name(k)) +
              (k == sweep ? (exhaustive ? " every word" : " 65536 evenly spread words")
                          : " in " + std::to_string(sets[static_cast<std::size_t>(p)].size()) +
                                " probe words");
    }
    res.measured_over = over + " (probe words, in order: ±1, the extremes, ±1 lsb, 0, the extremes "
                               "∓ 1 lsb, ±1.5, 6 random)";
    res.error_scale = req_.backward ? (req_.gated ? "/(max(1,|dy|)·max(1,|x|))" : "/max(1,|dy|)")
                                    : (req_.gated ? "/max(1,|x|)" : "absolute");
    std::vector<ir::Program> refs;
    for (Expr e : req_.outputs)
      refs.emplace_back(e);
    const FixedFormat &o = req_.out, &in = req_.in;
    std::vector<std::int64_t> words_in(static_cast<std::size_t>(num)), regs;
    std::vector<std::size_t> pos(static_cast<std::size_t>(num), 0);
    long double worst = 0;
    long long points = 0;
    for (;;) {
      std::array<long double, 4> real{};
      for (int p = 0; p < num; ++p) {
        words_in[static_cast<std::size_t>(p)] =
            sets[static_cast<std::size_t>(p)][pos[static_cast<std::size_t>(p)]];
        real[static_cast<std::size_t>(req_.ir_inputs[static_cast<std::size_t>(p)])] =
            static_cast<long double>(words_in[static_cast<std::size_t>(p)]) * in.lsb();
      }
      res.program.run(words_in.data(), regs);
      long double scale = 1;
      if (req_.backward) scale *= std::max(1.0L, std::fabs(real[2]));
      if (req_.gated) scale *= std::max(1.0L, std::fabs(real[0]));
      for (std::size_t j = 0; j < refs.size(); ++j) {
        const long double ref = refs[j].eval<long double>(
            std::span<const long double>(real.data(),
                                         static_cast<std::size_t>(refs[j].num_inputs())),
            std::span<const long double>());
        if (std::isnan(ref))
          throw Error("fixed point: the reference of output " + std::to_string(j) +
                      " is undefined at an input word");
        const long double want = std::clamp(ref, o.min_value(), o.max_value());
        const long double got =
            static_cast<long double>(regs[static_cast<std::size_t>(res.program.outputs[j])]) *
            o.lsb();
        worst = std::max(worst, std::fabs(got - want) / scale);
      }
      ++points;
      int p = 0;
      for (; p < num; ++p) {
        auto &i = pos[static_cast<std::size_t>(p)];
        if (++i < sets[static_cast<std::size_t>(p)].size()) break;
        i = 0;
      }
      if (p == num) break;
    }
    res.achieved_error = worst;
    res.measured_points = points;
  }

  const FixedRequest &req_;
  IntProgram prog_;
  std::vector<Table> tables_;
  int precision_ = 24;
  long double budget_ = 0;
  std::map<int, int> slot_; // IR input -> program input
  std::map<std::int64_t, int> consts_;
  std::map<std::tuple<int, int, int, int, std::int64_t>, int> cse_;
  std::unordered_map<Expr, Val, ir::ExprHash> memo_;
  std::unordered_map<Expr, unsigned, ir::ExprHash> inputs_;
  std::unordered_map<Expr, bool, ir::ExprHash> needs_;
  std::array<std::unordered_map<Expr, Expr, ir::ExprHash>, 2> lifted_;
};

} // namespace

FixedResult lower_fixed(const FixedRequest &request) { return Lowering(request).run(); }

} // namespace detail
} // namespace actforge::codegen::hls
