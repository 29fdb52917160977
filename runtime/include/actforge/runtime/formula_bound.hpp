// FormulaErrorBound: the first-order error bound of evaluating an expression node by node in
// f64 or f32, the criterion that holds kernels where a ULP bound is out of any evaluation's reach
// (check_kernels; the MLIR differential tests).
#pragma once

#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/dsl/scalar.hpp"
#include "actforge/ir/expr.hpp"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace actforge::runtime {

// A long-double reference carries 11 bits beyond f64, so near a root of a cancelling sum
// (gelu' = Φ(x) + x·φ(x) near -0.75) neither it nor any f64 evaluation can be held to a few ulps
// of the result: the terms' own roundings exceed them. f64 kernels are therefore held to the larger
// of the ULP bound and the first-order error bound of evaluating the same formula node by node in
// f64 (running error analysis): every operation and constant rounded once (relative 2^-53, and
// 2^-1075 absolute below the normal range), every primitive within 1 ulp of its rounded argument,
// argument errors propagated through the primitive itself; an intermediate beyond DBL_MAX
// overflows, and then so may the result. Where the formula is well
// conditioned the bound is a few ulps and the ULP bound rules; it only widens where the formula
// loses bits. The same criterion in f32 (2^-24, 2^-150, FLT_MAX) holds the fpga target's float
// kernels, which evaluate every formula in f32 (an FPGA has no f64 to spare; the Halide path's
// f32 kernels of cancelling derivatives compute in f64 instead, precision.cpp).
class FormulaErrorBound {
public:
  /// `dtype`: F64, or F32 for kernels that evaluate every formula in f32 (the fpga target).
  /// `undecided_branches`: a select whose condition compares operands that lie within their
  /// error bounds of each other (either branch may be taken by an evaluation) has no bound (NaN).
  FormulaErrorBound(ir::Expr e, const std::map<std::string, long double, std::less<>> &params,
                    codegen::DType dtype = codegen::DType::F64, bool undecided_branches = false)
      : params_(params), f32_(dtype == codegen::DType::F32), branches_(undecided_branches) {
    order(e);
  }

  /// The bound on |evaluation − exact| at (x, g), or NaN where it is not defined.
  long double at(long double x, long double g = 0) {
    const long double in[] = {x, g};
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      eval(i, in);
    return err_.back();
  }

private:
  // Unit roundoff and half the smallest subnormal: f64 2^-53 and 2^-1075, f32 2^-24 and 2^-150.
  long double rounding(long double v) const {
    if (std::fabs(v) > (f32_ ? FLT_MAX : DBL_MAX))
      return std::numeric_limits<long double>::infinity();
    return f32_ ? std::max(std::fabs(v) * 0x1p-24L, 0x1p-150L)
                : std::max(std::fabs(v) * 0x1p-53L, 0x1p-1075L);
  }
  bool representable(long double v) const {
    return std::isnan(v) || (f32_ ? static_cast<long double>(static_cast<float>(v)) == v
                                  : static_cast<long double>(static_cast<double>(v)) == v);
  }

  void order(ir::Expr e) {
    if (index_.count(e)) return;
    for (int i = 0; i < e.num_children(); ++i)
      order(e.child(i));
    index_.emplace(e, nodes_.size());
    nodes_.push_back(e);
    val_.push_back(0);
    err_.push_back(0);
  }

  long double v(ir::Expr e) const { return val_[index_.at(e)]; }
  long double er(ir::Expr e) const { return err_[index_.at(e)]; }
  /// The larger error; with undecided_branches NaN wins (an undefined bound stays undefined).
  long double worst(long double a, long double b) const {
    if (branches_ && (std::isnan(a) || std::isnan(b)))
      return std::numeric_limits<long double>::quiet_NaN();
    return std::max(a, b);
  }

  // A primitive f at a ± ea: the spread of f over the argument's error plus its own ulp.
  template <class F> void primitive(std::size_t i, ir::Expr a, F f) {
    const long double va = v(a), ea = er(a), y = f(va);
    const long double spread = worst(std::fabs(f(va + ea) - y), std::fabs(f(va - ea) - y));
    val_[i] = y;
    err_[i] = spread + 2 * rounding(y);
  }

  void eval(std::size_t i, const long double (&in)[2]) {
    namespace sc = dsl::scalar;
    using ir::Kind;
    const ir::Expr e = nodes_[i];
    auto a = [&] { return e.child(0); };
    auto b = [&] { return e.child(1); };
    long double y = 0, err = 0;
    switch (e.kind()) {
    case Kind::Const:
      y = e.value();
      err = representable(y) ? 0 : rounding(y);
      break;
    case Kind::Input: y = in[e.input_index() == 0 ? 0 : 1]; break;
    case Kind::Param:
      y = params_.at(e.param_name());
      err = representable(y) ? 0 : rounding(y);
      break;
    case Kind::Add:
    case Kind::Sub:
      // x − tanh(x) is evaluated as one primitive by the reference and the kernels.
      if (e.kind() == Kind::Sub && b().kind() == Kind::Tanh && b().child(0) == a()) {
        primitive(i, a(), [](long double u) { return dsl::scalar::x_minus_tanh(u); });
        return;
      }
      y = e.kind() == Kind::Add ? v(a()) + v(b()) : v(a()) - v(b());
      err = er(a()) + er(b()) + rounding(y);
      break;
    case Kind::Mul:
      y = v(a()) * v(b());
      err = std::fabs(v(b())) * er(a()) + std::fabs(v(a())) * er(b()) + er(a()) * er(b()) +
            rounding(y);
      break;
    case Kind::Div:
      y = v(a()) / v(b());
      err =
          (er(a()) + std::fabs(y) * er(b())) / std::max(std::fabs(v(b())) - er(b()), 0x1p-16000L) +
          rounding(y);
      break;
    case Kind::Neg:
      y = -v(a());
      err = er(a());
      break;
    case Kind::Abs:
      y = std::fabs(v(a()));
      err = er(a());
      break;
    case Kind::Pow: {
      const int n = e.exponent();
      primitive(i, a(), [n](long double u) { return sc::powi(u, n); });
      err_[i] += (std::bit_width(static_cast<unsigned>(n < 0 ? -n : n)) + 1) * rounding(val_[i]);
      return;
    }
    case Kind::Exp: primitive(i, a(), [](long double u) { return std::exp(u); }); return;
    case Kind::Expm1: primitive(i, a(), [](long double u) { return std::expm1(u); }); return;
    case Kind::Log: primitive(i, a(), [](long double u) { return std::log(u); }); return;
    case Kind::Log1p: primitive(i, a(), [](long double u) { return std::log1p(u); }); return;
    case Kind::Sqrt: primitive(i, a(), [](long double u) { return std::sqrt(u); }); return;
    case Kind::Rsqrt: primitive(i, a(), [](long double u) { return 1 / std::sqrt(u); }); return;
    case Kind::Sigmoid: primitive(i, a(), [](long double u) { return sc::sigmoid(u); }); return;
    case Kind::Tanh: primitive(i, a(), [](long double u) { return std::tanh(u); }); return;
    case Kind::Erf: primitive(i, a(), [](long double u) { return std::erf(u); }); return;
    case Kind::Erfc: primitive(i, a(), [](long double u) { return std::erfc(u); }); return;
    case Kind::Softplus: primitive(i, a(), [](long double u) { return sc::softplus(u); }); return;
    case Kind::Min:
    case Kind::Max: {
      y = e.kind() == Kind::Min ? sc::min(v(a()), v(b())) : sc::max(v(a()), v(b()));
      err = worst(er(a()), er(b()));
      break;
    }
    case Kind::Select:
      y = v(a()) != 0 ? v(b()) : v(e.child(2));
      err = v(a()) != 0 ? er(b()) : er(e.child(2));
      if (std::isnan(er(a()))) err = er(a());
      break;
    case Kind::Gt: y = v(a()) > v(b()); break;
    case Kind::Ge: y = v(a()) >= v(b()); break;
    case Kind::Lt: y = v(a()) < v(b()); break;
    case Kind::Le: y = v(a()) <= v(b()); break;
    case Kind::Eq: y = v(a()) == v(b()); break;
    case Kind::Ne: y = v(a()) != v(b()); break;
    }
    if (branches_ && e.is_condition() &&
        (std::fabs(v(a()) - v(b())) <= er(a()) + er(b()) || std::isnan(er(a()) + er(b()))))
      err = std::numeric_limits<long double>::quiet_NaN();
    val_[i] = y;
    err_[i] = err;
  }

  const std::map<std::string, long double, std::less<>> &params_;
  bool f32_ = false;
  bool branches_ = false;
  std::vector<ir::Expr> nodes_;
  std::unordered_map<ir::Expr, std::size_t, ir::ExprHash> index_;
  std::vector<long double> val_, err_;
};

} // namespace actforge::runtime
