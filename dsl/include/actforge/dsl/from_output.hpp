// derivative_from_output(): f' written as a function of f's output, for backward-from-output
// kernels (dx = dy·g(y)) that need only y, so a framework does not keep x alive.
#pragma once

#include "actforge/ir/expr.hpp"

#include <string>
#include <vector>

namespace actforge::dsl {

/// One row of the table: a library activation f and the g with f'(x) = g(f(x)) for every x,
/// kinks and ±inf included (the kink conventions of ACTIVATIONS.md). g is an IR expression in
/// input(0), which stands for y, and in f's parameters.
struct FromOutput {
  std::string name;
  ir::Expr f;          // the catalog's expression
  ir::Expr g;          // in input(0) = y
  std::string assumes; // the parameter range where the identity holds ("" if every value)
};

/// relu, leaky_relu, relu6, hardtanh, elu, selu, celu, sigmoid, tanh.
const std::vector<FromOutput> &from_output_table();

/// The row whose f equals `f` up to parameter defaults (so "elu, alpha=0.5" matches elu), or
/// nullptr.
const FromOutput *find_from_output(ir::Expr f);

/// g(y) for `f`, with f's own parameter nodes (defaults included). Throws actforge::Error
/// "<name> has no derivative expressible from its output; use backward" where f has no row.
ir::Expr derivative_from_output(ir::Expr f);

} // namespace actforge::dsl
