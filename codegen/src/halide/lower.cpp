// lower(): IR to Halide, one rule a line; memoised per node so DAG sharing is kept.
#include "actforge/codegen/halide/lower.hpp"

#include "actforge/codegen/guards.hpp"

#include "actforge/codegen/halide/primitives.hpp"
#include "actforge/error.hpp"

#include <cmath>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace actforge::codegen::halide {
namespace {
namespace halide = actforge::codegen::halide;

// exp(-k·v²) for a constant k: the scaled argument is rounded once here. primitives.hpp's
// exact-square form takes over the rest of the error budget.
Halide::Expr exp_neg_scaled_square(const Halide::Expr &v, long double k) {
  return halide::exp_neg_square(
      v * Halide::Internal::make_const(v.type(), std::sqrt(static_cast<double>(k))));
}

using guards::Growth;

class Lower {
public:
  explicit Lower(const LowerEnv &env) : env_(env) {}

  Halide::Expr operator()(ir::Expr e) {
    if (auto it = memo_.find(e); it != memo_.end()) return it->second;
    Halide::Expr r = rule(e);
    memo_.emplace(e, r);
    return r;
  }

  // r inside the lets that bind() collected, the first bound outermost (later values refer to
  // earlier variables).
  Halide::Expr wrap(Halide::Expr r) const {
    for (auto it = lets_.rbegin(); it != lets_.rend(); ++it)
      r = Halide::Internal::Let::make(it->first, it->second, r);
    return r;
  }

private:
  // A value bound once by a let around the whole kernel expression: the double-word arguments
  // use each part several times, and building them as nested trees would duplicate them
  // exponentially (Halide's simplifier then takes seconds per kernel).
  Halide::Expr bind(const Halide::Expr &value) {
    if (Halide::Internal::is_const(value) || value.as<Halide::Internal::Variable>()) return value;
    const std::string name = Halide::Internal::unique_name("actforge_dw");
    lets_.emplace_back(name, value);
    return Halide::Internal::Variable::make(value.type(), name);
  }

  // e as a double-word value, when e is free of primitives (constants, inputs, parameters, +, -,
  // ·, small powers): the argument of a primitive whose own rounding would be amplified.
  std::optional<halide::DoubleWord> double_word(ir::Expr e) {
    if (!env_.double_words) return std::nullopt;
    if (auto it = dw_memo_.find(e); it != dw_memo_.end()) return it->second;
    std::optional<halide::DoubleWord> r = double_word_rule(e);
    dw_memo_.emplace(e, r);
    return r;
  }

  std::optional<halide::DoubleWord> double_word_rule(ir::Expr e) {
    using ir::Kind;
    const halide::Bind binder = [this](const Halide::Expr &v) { return bind(v); };
    auto child = [&](int i) { return double_word(e.child(i)); };
    switch (e.kind()) {
    case Kind::Const: return halide::dw_constant(env_.type, e.value());
    case Kind::Input:
    case Kind::Param: return halide::DoubleWord{bind((*this)(e)), Halide::Expr()};
    case Kind::Neg: {
      const auto a = child(0);
      if (!a) return std::nullopt;
      return halide::DoubleWord{-a->hi, a->lo.defined() ? -a->lo : Halide::Expr()};
    }
    case Kind::Add:
    case Kind::Sub:
    case Kind::Mul: {
      const auto a = child(0);
      auto b = a ? child(1) : std::nullopt;
      if (!b) return std::nullopt;
      if (e.kind() == Kind::Mul) return halide::dw_mul(*a, *b, binder, env_.unfused_products);
      if (e.kind() == Kind::Sub) *b = {-b->hi, b->lo.defined() ? -b->lo : Halide::Expr()};
      return halide::dw_add(*a, *b, binder);
    }
    case Kind::Pow: {
      const int n = e.exponent();
      const auto u = child(0);
      if (!u || n < 1 || n > 8) return std::nullopt;
      halide::DoubleWord r = *u;
      for (int k = 1; k < n; ++k)
        r = halide::dw_mul(r, *u, binder, env_.unfused_products);
      return r;
    }
    default: return std::nullopt;
    }
  }

  // The argument of a primitive: double-word where that carries a low part, else as lowered.
  halide::DoubleWord argument(ir::Expr u) {
    if (auto d = double_word(u); d && d->lo.defined()) return *d;
    return {bind((*this)(u)), Halide::Expr()};
  }
  bool has_low_part(ir::Expr u) {
    const auto d = double_word(u);
    return d && d->lo.defined();
  }

  // x·p(u) for a factor x free of primitives and a p whose value may be subnormal where the
  // product is normal: p scaled by 2^S, multiplied, scaled back once (primitives.hpp, Scaled).
  std::optional<Halide::Expr> scaled_product(ir::Expr a, ir::Expr b) {
    using ir::Kind;
    const bool scalable = b.kind() == Kind::Sigmoid || b.kind() == Kind::Erfc ||
                          (b.kind() == Kind::Tanh && b.child(0).kind() == Kind::Softplus);
    if (!scalable || !growth(a).varies || growth(a).saturates || !double_word(a))
      return std::nullopt;
    std::optional<halide::Scaled> s;
    if (b.kind() == Kind::Sigmoid)
      s = halide::sigmoid_scaled(argument(b.child(0)));
    else if (b.kind() == Kind::Erfc)
      s = halide::erfc_scaled(argument(b.child(0)));
    else if (b.kind() == Kind::Tanh && b.child(0).kind() == Kind::Softplus)
      s = halide::tanh_softplus_scaled(argument(b.child(0).child(0)));
    if (!s) return std::nullopt;
    // A factor that overflows (a polynomial of degree 2 or more) meets p's exact 0 as in product().
    const Halide::Expr factor = (*this)(a);
    const Halide::Expr ap =
        growth(a).overflows ? halide::mul_zero_wins(s->value, factor) : factor * s->value;
    return ap * s->unscale;
  }

  Halide::Expr constant(long double v) const {
    return Halide::Internal::make_const(env_.type, static_cast<double>(v));
  }

  // u^n by repeated squaring, 1/u^-n for negative n: exact for small n, no pow() call.
  Halide::Expr power(Halide::Expr u, int n) {
    if (n < 0)
      return power(constant(1) / u, -n); // (1/u)^n: u^n may overflow where the result does not
    Halide::Expr result = constant(1), base = u;
    bool first = true;
    for (; n > 0; n >>= 1) {
      if (n & 1) {
        result = first ? base : result * base;
        first = false;
      }
      if (n > 1) base = base * base;
    }
    return result;
  }

  Growth growth(ir::Expr e) { return growth_(e); }

  // a·b where a has saturated to exactly 0 and b, free of primitives, has overflowed: the chain
  // rule's sigmoid'(u)·u' for a polynomial u (gelu_tanh' at |x| ~ 1e103 in f64, where u' = inf).
  // The product of the limits is 0; IEEE gives NaN. Only such products pay the extra select.
  Halide::Expr product(ir::Expr a, ir::Expr b) {
    if (auto r = scaled_product(a, b)) return *r;
    if (auto r = scaled_product(b, a)) return *r;
    const Growth ga = growth(a), gb = growth(b);
    if (ga.saturates && !gb.saturates && gb.overflows)
      return halide::mul_zero_wins((*this)(a), (*this)(b));
    if (gb.saturates && !ga.saturates && ga.overflows)
      return halide::mul_zero_wins((*this)(b), (*this)(a));
    return (*this)(a) * (*this)(b);
  }

  // a ± c for c free of inputs and primitives (a constant, λ·α) that the compute type cannot
  // hold: c as c_hi + c_lo, added in two steps (primitives.hpp, add_double_word).
  std::optional<Halide::Expr> plus_invariant(ir::Expr a, ir::Expr c, bool negate_a, bool negate_c) {
    if (growth(c).varies || !growth(a).varies) return std::nullopt;
    auto d = double_word(c);
    if (!d || !d->lo.defined()) return std::nullopt;
    if (negate_c) *d = {-d->hi, -d->lo};
    return halide::add_double_word(negate_a ? -(*this)(a) : (*this)(a), *d);
  }

  // u as c·v for a constant c (signs folded into c), when it has that shape.
  static std::optional<std::pair<long double, ir::Expr>> scaled(ir::Expr u) {
    long double sign = 1;
    auto strip = [&](ir::Expr v) {
      for (; v.kind() == ir::Kind::Neg; v = v.child(0))
        sign = -sign;
      return v;
    };
    u = strip(u);
    if (u.kind() != ir::Kind::Mul) return std::nullopt;
    ir::Expr c = u.child(0), v = u.child(1);
    if (v.is_const()) std::swap(c, v);
    if (!c.is_const()) return std::nullopt;
    v = strip(v);
    return std::make_pair(sign * c.value(), v);
  }

  // exp(-u²): with u = c·v the square is formed as c²·v² (v split exactly, c² rounded once),
  // not by rounding c·v first — in erfc's tail that rounding costs hundreds of ulps.
  Halide::Expr exp_neg_square_of(ir::Expr u) {
    if (auto cv = scaled(u))
      return exp_neg_scaled_square((*this)(cv->second), cv->first * cv->first);
    return halide::exp_neg_square((*this)(u));
  }

  // p(u) for a primitive p whose argument's rounding matters: u as a double word where it has
  // a low part (primitives.hpp), else as lowered.
  template <class P> Halide::Expr primitive(ir::Expr u, P p) {
    if (has_low_part(u)) return p(argument(u));
    return p(halide::DoubleWord{(*this)(u), Halide::Expr()});
  }

  /// Whether e cannot be NaN unless an input is (a NaN input's result is forced to NaN by the
  /// pipeline's test): no domain error (log, sqrt of a negative), ∞ − ∞, 0·∞ or 0/0 inside.
  static bool nan_free(ir::Expr e) {
    using ir::Kind;
    switch (e.kind()) {
    case Kind::Const:
    case Kind::Input:
    case Kind::Param: return true;
    case Kind::Neg:
    case Kind::Abs:
    case Kind::Exp:
    case Kind::Expm1:
    case Kind::Sigmoid:
    case Kind::Tanh:
    case Kind::Erf:
    case Kind::Erfc:
    case Kind::Softplus:
    case Kind::Min:
    case Kind::Max:
    case Kind::Select:
      for (int i = e.kind() == Kind::Select ? 1 : 0; i < e.num_children(); ++i)
        if (!nan_free(e.child(i))) return false;
      return true;
    default: return false;
    }
  }

  /// An IEEE comparison: false with a NaN operand (!= true). Halide's simplifier rewrites
  /// comparisons as if no value were NaN (!(a <= b) as b < a), so where an operand can become NaN
  /// the test is explicit.
  Halide::Expr compare(ir::Expr e, const Halide::Expr &c) {
    if (nan_free(e.child(0)) && nan_free(e.child(1))) return c;
    const Halide::Expr nan =
        Halide::is_nan((*this)(e.child(0))) || Halide::is_nan((*this)(e.child(1)));
    return e.kind() == ir::Kind::Ne ? (c || nan) : (c && !nan);
  }

  Halide::Expr rule(ir::Expr e) {
    using ir::Kind;
    auto a = [&] { return (*this)(e.child(0)); };
    auto b = [&] { return (*this)(e.child(1)); };
    switch (e.kind()) {
    case Kind::Const: return constant(e.value());
    case Kind::Input:
      if (static_cast<std::size_t>(e.input_index()) >= env_.inputs.size())
        throw Error("the kernel has no input " + std::string(ir::input_name(e.input_index())));
      return env_.inputs[static_cast<std::size_t>(e.input_index())];
    case Kind::Param: {
      auto it = env_.params.find(e.param_name());
      if (it == env_.params.end()) throw Error("no kernel parameter '" + e.param_name() + "'");
      return it->second;
    }
    case Kind::Add:
      if (auto r = plus_invariant(e.child(0), e.child(1), false, false)) return *r;
      if (auto r = plus_invariant(e.child(1), e.child(0), false, false)) return *r;
      return a() + b();
    case Kind::Sub:
      if (e.child(1).kind() == Kind::Tanh && e.child(1).child(0) == e.child(0))
        return halide::x_minus_tanh(a()); // u - tanh(u), as the IR's interpreter evaluates it
      if (auto r = plus_invariant(e.child(0), e.child(1), false, true)) return *r;
      if (auto r = plus_invariant(e.child(1), e.child(0), true, false)) return *r;
      return a() - b();
    case Kind::Mul: return product(e.child(0), e.child(1));
    case Kind::Div: return a() / b();
    case Kind::Neg: return -a();
    case Kind::Exp:
      if (e.child(0).kind() == Kind::Neg && e.child(0).child(0).kind() == Kind::Mul &&
          e.child(0).child(0).child(0) == e.child(0).child(0).child(1))
        return exp_neg_square_of(e.child(0).child(0).child(0)); // exp(-(u·u))
      return primitive(e.child(0), [](const halide::DoubleWord &u) { return halide::exp(u); });
    case Kind::Expm1: return halide::expm1(a());
    case Kind::Log: return halide::log(a());
    case Kind::Log1p: return halide::log1p(a());
    case Kind::Sqrt: return Halide::sqrt(a());
    case Kind::Rsqrt: return constant(1) / Halide::sqrt(a());
    case Kind::Abs: return Halide::abs(a());
    case Kind::Pow: return power(a(), e.exponent());
    case Kind::Min: return halide::min_nan(a(), b());
    case Kind::Max: return halide::max_nan(a(), b());
    case Kind::Select: return Halide::select(a(), b(), (*this)(e.child(2)));
    case Kind::Gt: return compare(e, a() > b());
    case Kind::Ge: return compare(e, a() >= b());
    case Kind::Lt: return compare(e, a() < b());
    case Kind::Le: return compare(e, a() <= b());
    case Kind::Eq: return compare(e, a() == b());
    case Kind::Ne: return compare(e, a() != b());
    case Kind::Sigmoid:
      return primitive(e.child(0), [](const halide::DoubleWord &u) { return halide::sigmoid(u); });
    case Kind::Tanh:
      return primitive(e.child(0), [](const halide::DoubleWord &u) { return halide::tanh(u); });
    case Kind::Erf: return halide::erf(a());
    case Kind::Erfc:
      return primitive(e.child(0), [](const halide::DoubleWord &u) { return halide::erfc(u); });
    case Kind::Softplus:
      return primitive(e.child(0), [](const halide::DoubleWord &u) { return halide::softplus(u); });
    }
    throw Error("internal error: no lowering for '" + std::string(ir::spelling(e.kind())) + "'");
  }

  const LowerEnv &env_;
  std::unordered_map<ir::Expr, Halide::Expr, ir::ExprHash> memo_;
  guards::GrowthAnalysis growth_;
  std::unordered_map<ir::Expr, std::optional<halide::DoubleWord>, ir::ExprHash> dw_memo_;
  std::vector<std::pair<std::string, Halide::Expr>> lets_;
};

} // namespace

Halide::Expr lower(ir::Expr e, const LowerEnv &env) {
  Lower l(env);
  return l.wrap(l(e));
}

} // namespace actforge::codegen::halide
