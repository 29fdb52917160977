// Folding constructors: constant folding and 0/1 identities, one rule a line.
#include "actforge/ir/fold.hpp"

#include "actforge/dsl/scalar.hpp"

namespace actforge::ir::fold {
namespace {
namespace sc = actforge::dsl::scalar;
bool is(Expr e, long double v) { return e.is_const(v); }
bool both_const(Expr a, Expr b) { return a.is_const() && b.is_const(); }

long double apply_unary(Kind k, long double v) {
  switch (k) {
  case Kind::Neg: return -v;
  case Kind::Exp: return sc::exp(v);
  case Kind::Expm1: return sc::expm1(v);
  case Kind::Log: return sc::log(v);
  case Kind::Log1p: return sc::log1p(v);
  case Kind::Sqrt: return sc::sqrt(v);
  case Kind::Rsqrt: return sc::rsqrt(v);
  case Kind::Abs: return sc::abs(v);
  case Kind::Sigmoid: return sc::sigmoid(v);
  case Kind::Tanh: return sc::tanh(v);
  case Kind::Erf: return sc::erf(v);
  case Kind::Erfc: return sc::erfc(v);
  case Kind::Softplus: return sc::softplus(v);
  default: throw Error("internal error: not a unary function");
  }
}

bool apply_compare(Kind k, long double a, long double b) {
  switch (k) {
  case Kind::Gt: return a > b;
  case Kind::Ge: return a >= b;
  case Kind::Lt: return a < b;
  case Kind::Le: return a <= b;
  case Kind::Eq: return a == b;
  case Kind::Ne: return a != b;
  default: throw Error("internal error: not a comparison");
  }
}
} // namespace

Expr neg(Expr a) {
  if (a.is_const()) return constant(-a.value());
  if (a.kind() == Kind::Neg) return a.child(0); // -(-u) = u
  return make(Kind::Neg, a);
}

Expr add(Expr a, Expr b) {
  if (is(a, 0)) return b; // 0 + u = u
  if (is(b, 0)) return a; // u + 0 = u
  if (both_const(a, b)) return constant(a.value() + b.value());
  if (b.kind() == Kind::Neg) return sub(a, b.child(0)); // a + (-b) = a - b
  if (a == b) return mul(constant(2), a);               // u + u = 2·u
  return make(Kind::Add, a, b);
}

Expr sub(Expr a, Expr b) {
  if (is(b, 0)) return a;      // u - 0 = u
  if (is(a, 0)) return neg(b); // 0 - u = -u
  if (both_const(a, b)) return constant(a.value() - b.value());
  if (b.kind() == Kind::Neg) return add(a, b.child(0));            // a - (-b) = a + b
  if (b.kind() == Kind::Sub && b.child(0) == a) return b.child(1); // c - (c - y) = y
  if (a.kind() == Kind::Add && a.child(0) == b) return a.child(1); // (c + y) - c = y
  if (a.kind() == Kind::Add && a.child(1) == b) return a.child(0); // (y + c) - c = y
  return make(Kind::Sub, a, b);
}

Expr mul(Expr a, Expr b) {
  if (is(a, 0) || is(b, 0)) return constant(0); // 0·u = 0
  if (is(a, 1)) return b;                       // 1·u = u
  if (is(b, 1)) return a;
  if (is(a, -1)) return neg(b); // -1·u = -u
  if (is(b, -1)) return neg(a);
  if (both_const(a, b)) return constant(a.value() * b.value());
  if (a.kind() == Kind::Neg && b.kind() == Kind::Neg) return mul(a.child(0), b.child(0));
  if (b.is_const()) return make(Kind::Mul, b, a); // constants first
  return make(Kind::Mul, a, b);
}

Expr div(Expr a, Expr b) {
  if (is(a, 0)) return constant(0); // 0/u = 0
  if (is(b, 1)) return a;           // u/1 = u
  if (both_const(a, b)) return constant(a.value() / b.value());
  return make(Kind::Div, a, b);
}

// op(select(c, k1, k2), k3) = select(c, op(k1, k3), op(k2, k3)) for constants k: lets the
// derivative of a tie (built from selects of constants) fold away.
bool select_of_constants(Expr e) {
  return e.kind() == Kind::Select && e.child(1).is_const() && e.child(2).is_const();
}

Expr min(Expr a, Expr b) {
  if (both_const(a, b)) return constant(sc::min(a.value(), b.value()));
  if (select_of_constants(a) && b.is_const())
    return fold::select(a.child(0), fold::min(a.child(1), b), fold::min(a.child(2), b));
  if (select_of_constants(b) && a.is_const()) return fold::min(b, a);
  return make(Kind::Min, a, b);
}

Expr max(Expr a, Expr b) {
  if (both_const(a, b)) return constant(sc::max(a.value(), b.value()));
  if (select_of_constants(a) && b.is_const())
    return fold::select(a.child(0), fold::max(a.child(1), b), fold::max(a.child(2), b));
  if (select_of_constants(b) && a.is_const()) return fold::max(b, a);
  return make(Kind::Max, a, b);
}

Expr compare(Kind k, Expr a, Expr b) { return make(k, a, b); }

Expr select(Expr c, Expr a, Expr b) {
  if (a == b) return a;                   // select(c, u, u) = u
  if (both_const(c.child(0), c.child(1))) // a decided condition
    return apply_compare(c.kind(), c.child(0).value(), c.child(1).value()) ? a : b;
  return ir::select(c, a, b);
}

Expr unary(Kind k, Expr a) {
  if (k == Kind::Neg) return neg(a);
  if (a.is_const()) return constant(apply_unary(k, a.value()));
  return make(k, a);
}

Expr pow(Expr a, int n) {
  if (n == 0) return constant(1); // u^0 = 1
  if (n == 1) return a;           // u^1 = u
  if (a.is_const()) return constant(sc::powi(a.value(), n));
  return ir::pow(a, n);
}

Expr tie(Expr p, Expr q) {
  return fold::max(fold::min(p, q), fold::min(fold::max(p, q), constant(0)));
}

Expr node(Expr e, std::span<const Expr> c) {
  switch (e.kind()) {
  case Kind::Const:
  case Kind::Input:
  case Kind::Param: return e;
  case Kind::Add: return fold::add(c[0], c[1]);
  case Kind::Sub: return fold::sub(c[0], c[1]);
  case Kind::Mul: return fold::mul(c[0], c[1]);
  case Kind::Div: return fold::div(c[0], c[1]);
  case Kind::Min: return fold::min(c[0], c[1]);
  case Kind::Max: return fold::max(c[0], c[1]);
  case Kind::Select: return fold::select(c[0], c[1], c[2]);
  case Kind::Pow: return fold::pow(c[0], e.exponent());
  default:
    if (is_comparison(e.kind())) return fold::compare(e.kind(), c[0], c[1]);
    return fold::unary(e.kind(), c[0]);
  }
}

} // namespace actforge::ir::fold
