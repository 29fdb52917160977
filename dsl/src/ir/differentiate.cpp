// differentiate(e, v): the derivative rules, one a line, over a memoised walk of the DAG.
#include "actforge/ir/differentiate.hpp"

#include "actforge/ir/fold.hpp"
#include "actforge/ir/mutate.hpp"

#include <unordered_map>

namespace actforge::ir {
namespace {
using namespace fold;
const Expr kZero = constant(0);
const Expr kOne = constant(1);
const Expr k2OverSqrtPi = constant(1.12837916709551257389615890312154517L);

class Differentiate {
public:
  explicit Differentiate(Expr by) : by_(by) {}

  Expr d(Expr e) {
    if (auto it = memo_.find(e); it != memo_.end()) return it->second;
    Expr r = rule(e);
    memo_.emplace(e, r);
    return r;
  }

private:
  bool is_variable(Expr e) const {
    if (by_.kind() == Kind::Input) return e == by_;
    return e.kind() == Kind::Param && e.param_name() == by_.param_name();
  }

  Expr rule(Expr e) {
    if (e.num_children() == 0) return is_variable(e) ? kOne : kZero;
    const Expr u = e.child(0);
    const Expr v = e.num_children() > 1 ? e.child(1) : Expr();
    switch (e.kind()) {
    case Kind::Add: return add(d(u), d(v));
    case Kind::Sub:
      if (v.kind() == Kind::Tanh && v.child(0) == u) return mul(fold::pow(v, 2), d(u)); // tanh²u·du
      return sub(d(u), d(v));
    case Kind::Mul: return add(mul(d(u), v), mul(u, d(v)));
    case Kind::Div: return div(sub(d(u), mul(div(u, v), d(v))), v); // (du - (u/v)·dv) / v
    case Kind::Neg: return neg(d(u));
    case Kind::Exp: return mul(e, d(u));
    case Kind::Expm1: return mul(unary(Kind::Exp, u), d(u));
    case Kind::Log: return div(d(u), u);
    case Kind::Log1p: return div(d(u), add(kOne, u));
    case Kind::Sqrt: return div(d(u), mul(constant(2), e));
    case Kind::Rsqrt: return mul(neg(div(e, mul(constant(2), u))), d(u));
    case Kind::Pow: return mul(mul(constant(e.exponent()), fold::pow(u, e.exponent() - 1)), d(u));
    case Kind::Abs: return fold::select(u > kZero, d(u), fold::select(u < kZero, neg(d(u)), kZero));
    case Kind::Max: return fold::select(u > v, d(u), fold::select(u < v, d(v), tie(d(u), d(v))));
    case Kind::Min: return fold::select(u < v, d(u), fold::select(u > v, d(v), tie(d(u), d(v))));
    case Kind::Select: return fold::select(u, d(v), d(e.child(2)));
    case Kind::Sigmoid: return mul(mul(e, unary(Kind::Sigmoid, neg(u))), d(u)); // s(u)·s(-u)
    case Kind::Tanh: return mul(mul(constant(4), sech2_factor(u)), d(u));       // 4·s(2u)·s(-2u)
    case Kind::Erf: return mul(mul(k2OverSqrtPi, unary(Kind::Exp, neg(mul(u, u)))), d(u));
    case Kind::Erfc: return neg(mul(mul(k2OverSqrtPi, unary(Kind::Exp, neg(mul(u, u)))), d(u)));
    case Kind::Softplus: return mul(unary(Kind::Sigmoid, u), d(u));
    default:
      throw Error("internal error: no derivative rule for '" + std::string(spelling(e.kind())) +
                  "'");
    }
  }

  static Expr sech2_factor(Expr u) {
    const Expr two_u = mul(constant(2), u);
    return mul(unary(Kind::Sigmoid, two_u), unary(Kind::Sigmoid, neg(two_u)));
  }

  Expr by_;
  std::unordered_map<Expr, Expr, ExprHash> memo_;
};

bool has_param_named(Expr e, const std::string &name) {
  bool found = false;
  for_each_node(
      e, [&](Expr n) { found = found || (n.kind() == Kind::Param && n.param_name() == name); });
  return found;
}

void validate(Expr e, Expr by) {
  if (!by.defined() || (by.kind() != Kind::Input && by.kind() != Kind::Param))
    throw Error("a derivative is taken by an input (x, g) or a parameter");
  if (e.is_condition()) throw Error("a comparison has no derivative");
  if (by.kind() == Kind::Param && !has_param_named(e, by.param_name()))
    throw Error("the expression has no parameter named '" + by.param_name() + "'");
}
} // namespace

Expr differentiate(Expr e, Expr by) { return differentiate(e, by, 1); }

Expr differentiate(Expr e, Expr by, int order) {
  validate(e, by);
  if (order < 0) throw Error("the order of a derivative must be at least 0");
  for (int i = 0; i < order; ++i)
    e = Differentiate(by).d(e);
  return e;
}

} // namespace actforge::ir
