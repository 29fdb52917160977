// lower(): IR to Halide, one rule a line; memoised per node so DAG sharing is kept.
#include "actforge/codegen/halide/lower.hpp"

#include "actforge/codegen/halide/primitives.hpp"
#include "actforge/error.hpp"

#include <cmath>
#include <optional>
#include <unordered_map>
#include <utility>

namespace actforge::codegen::halide {
namespace {
namespace halide = actforge::codegen::halide;

// exp(-k·v²) and erfc(c·v) for constants k, c: the scaled arguments are rounded once here.
// primitives.hpp's exact-square forms take over the rest of the error budget.
Halide::Expr exp_neg_scaled_square(const Halide::Expr &v, long double k) {
  return halide::exp_neg_square(
      v * Halide::Internal::make_const(v.type(), std::sqrt(static_cast<double>(k))));
}
Halide::Expr erfc_scaled(const Halide::Expr &v, long double c) {
  return halide::erfc(v * Halide::Internal::make_const(v.type(), static_cast<double>(c)));
}

bool is_transcendental(ir::Kind k) {
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

/// Per node: whether it holds a primitive that saturates (to 0 or 1 far out), and whether it is
/// a polynomial in the inputs of degree 2 or more, which overflows for large finite inputs.
struct Growth {
  bool varies = false;
  bool saturates = false;
  bool overflows = false;
};

class Lower {
public:
  explicit Lower(const LowerEnv &env) : env_(env) {}

  Halide::Expr operator()(ir::Expr e) {
    if (auto it = memo_.find(e); it != memo_.end()) return it->second;
    Halide::Expr r = rule(e);
    memo_.emplace(e, r);
    return r;
  }

private:
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

  Growth growth(ir::Expr e) {
    if (auto it = growth_.find(e); it != growth_.end()) return it->second;
    Growth g;
    g.varies = e.kind() == ir::Kind::Input;
    g.saturates = is_transcendental(e.kind());
    for (int i = 0; i < e.num_children(); ++i) {
      const Growth c = growth(e.child(i));
      g.varies |= c.varies;
      g.saturates |= c.saturates;
      g.overflows |= c.overflows;
    }
    if (e.kind() == ir::Kind::Pow) g.overflows |= e.exponent() >= 2 && g.varies;
    if (e.kind() == ir::Kind::Mul)
      g.overflows |= growth(e.child(0)).varies && growth(e.child(1)).varies;
    growth_.emplace(e, g);
    return g;
  }

  // a·b where a has saturated to exactly 0 and b, free of primitives, has overflowed: the chain
  // rule's sigmoid'(u)·u' for a polynomial u (gelu_tanh' at |x| ~ 1e103 in f64, where u' = inf).
  // The product of the limits is 0; IEEE gives NaN. Only such products pay the extra select.
  Halide::Expr product(ir::Expr a, ir::Expr b) {
    const Growth ga = growth(a), gb = growth(b);
    if (ga.saturates && !gb.saturates && gb.overflows)
      return halide::mul_zero_wins((*this)(a), (*this)(b));
    if (gb.saturates && !ga.saturates && ga.overflows)
      return halide::mul_zero_wins((*this)(b), (*this)(a));
    return (*this)(a) * (*this)(b);
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

  // erfc(c·v) likewise: erfc's tail is exp(-z²)·R(z), and only the exp part is sensitive to
  // the rounding of z = c·v.
  Halide::Expr erfc_of(ir::Expr u) {
    if (auto cv = scaled(u)) return erfc_scaled((*this)(cv->second), cv->first);
    return halide::erfc((*this)(u));
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
    case Kind::Add: return a() + b();
    case Kind::Sub:
      if (e.child(1).kind() == Kind::Tanh && e.child(1).child(0) == e.child(0))
        return halide::x_minus_tanh(a()); // u - tanh(u), as the IR's interpreter evaluates it
      return a() - b();
    case Kind::Mul: return product(e.child(0), e.child(1));
    case Kind::Div: return a() / b();
    case Kind::Neg: return -a();
    case Kind::Exp:
      if (e.child(0).kind() == Kind::Neg && e.child(0).child(0).kind() == Kind::Mul &&
          e.child(0).child(0).child(0) == e.child(0).child(0).child(1))
        return exp_neg_square_of(e.child(0).child(0).child(0)); // exp(-(u·u))
      return halide::exp(a());
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
    case Kind::Gt: return a() > b();
    case Kind::Ge: return a() >= b();
    case Kind::Lt: return a() < b();
    case Kind::Le: return a() <= b();
    case Kind::Eq: return a() == b();
    case Kind::Ne: return a() != b();
    case Kind::Sigmoid: return halide::sigmoid(a());
    case Kind::Tanh: return halide::tanh(a());
    case Kind::Erf: return halide::erf(a());
    case Kind::Erfc: return erfc_of(e.child(0));
    case Kind::Softplus: return halide::softplus(a());
    }
    throw Error("internal error: no lowering for '" + std::string(ir::spelling(e.kind())) + "'");
  }

  const LowerEnv &env_;
  std::unordered_map<ir::Expr, Halide::Expr, ir::ExprHash> memo_;
  std::unordered_map<ir::Expr, Growth, ir::ExprHash> growth_;
};

} // namespace

Halide::Expr lower(ir::Expr e, const LowerEnv &env) { return Lower(env)(e); }

} // namespace actforge::codegen::halide
