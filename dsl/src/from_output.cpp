// The from-output derivative table: one row an activation, g(y) reads like the math.
#include "actforge/dsl/from_output.hpp"

#include "actforge/dsl/catalog.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/mutate.hpp"
#include "actforge/ir/print.hpp"

#include <unordered_map>

namespace actforge::dsl {
namespace {

// Parameters compare by name only: a user's "elu, alpha=0.5" is still elu.
class StripDefaults : public ir::Mutator {
  ir::Expr rewrite(ir::Expr e) override {
    return e.kind() == ir::Kind::Param ? ir::param(e.param_name()) : rewrite_children(e);
  }
};
ir::Expr strip_defaults(ir::Expr e) { return StripDefaults().visit(e); }

std::vector<FromOutput> build_table() {
  using ir::constant;
  using ir::select;
  const ir::Expr y = ir::input(0), zero = constant(0), one = constant(1);
  const ir::Expr alpha = ir::param("alpha"), lambda = ir::param("lambda");
  // Each kink sits where y equals the kink's image, and the strict comparisons on y take the
  // same branch there as the select/max/min of f does on x: relu'(0) = 0, leaky'(0) = alpha,
  // relu6'(0) = relu6'(6) = 0, hardtanh'(lo) = hardtanh'(hi) = 0, elu'(0) = alpha,
  // selu'(0) = lambda·alpha, celu'(0) = 1.
  const struct {
    const char *name;
    ir::Expr g;
    const char *assumes;
  } rows[] = {
      {"relu", select(y > zero, one, zero), ""},
      {"leaky_relu", select(y > zero, one, alpha), "alpha >= 0"},
      {"relu6", select(y > zero, select(y < constant(6), one, zero), zero), ""},
      {"hardtanh", select(y > ir::param("lo"), select(y < ir::param("hi"), one, zero), zero),
       "lo < hi"},
      {"elu", select(y > zero, one, y + alpha), "alpha >= 0"},
      {"selu", select(y > zero, lambda, y + lambda * alpha), "lambda > 0, alpha >= 0"},
      {"celu", select(y > zero, one, y / alpha + one), "alpha > 0"},
      {"sigmoid", y * (one - y), ""},
      // 1 - y² as (1 - y)(1 + y): 1 - y is exact for y in [1/2, 1], where 1 - y² would cancel.
      {"tanh", (one - y) * (one + y), ""},
  };
  std::vector<FromOutput> table;
  for (const auto &row : rows) {
    const Entry *e = find_activation(row.name);
    if (!e || !e->expr.defined())
      throw Error(std::string("internal error: no library activation '") + row.name + "'");
    table.push_back({row.name, e->expr, row.g, row.assumes});
  }
  return table;
}

} // namespace

const std::vector<FromOutput> &from_output_table() {
  static const std::vector<FromOutput> table = build_table();
  return table;
}

const FromOutput *find_from_output(ir::Expr f) {
  if (!f.defined()) return nullptr;
  const ir::Expr key = strip_defaults(f);
  for (const FromOutput &row : from_output_table())
    if (strip_defaults(row.f) == key) return &row;
  return nullptr;
}

ir::Expr derivative_from_output(ir::Expr f) {
  if (!f.defined()) throw Error("derivative_from_output: no expression");
  const FromOutput *row = find_from_output(f);
  if (!row) {
    std::string name = ir::print_body(f);
    const ir::Expr key = strip_defaults(f);
    for (const Entry &e : catalog())
      if (e.expr.defined() && strip_defaults(e.expr) == key) name = e.name;
    throw Error(name + " has no derivative expressible from its output; use backward");
  }
  // g's parameters become f's own nodes, so g carries the same defaults as f.
  std::unordered_map<ir::Expr, ir::Expr, ir::ExprHash> own;
  ir::for_each_node(f, [&](ir::Expr n) {
    if (n.kind() == ir::Kind::Param) own.emplace(ir::param(n.param_name()), n);
  });
  return ir::substitute(row->g, own);
}

} // namespace actforge::dsl
