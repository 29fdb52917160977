// The printer of the runtime IR: the inverse of parse().
//
// parse(print(e)) == e for every expression whose parameters each carry at most one default
// value: text can only give a name one default, so param("a", 1) + param("a", 2) or
// param("a") + param("a", 1) cannot come back unchanged. Parameter names are assumed to be
// identifiers that are not reserved (inputs, constants, built-in function names).
//
// Output uses minimal parentheses under C precedence, except that a negative constant or a
// negation is parenthesised as the right operand of + - * / and as either operand of * and /
// (x * (-2), x - (-y), (-x) * y), and the operand of a negation is parenthesised unless it is
// a name or a call (-(2), -(-x), -(x + y)). Constants print as the shortest decimal that reads
// back to the same long double, or as inf, -inf, nan, -0.
//
// The text is a tree: a DAG that shares sub-expressions prints each use in full.
#pragma once

#include "actforge/ir/expr.hpp"

#include <string>

namespace actforge::ir {

/// The expression, then ", name=default" for each parameter that has a default, sorted by name.
std::string print(Expr e);

/// Just the expression, without parameter defaults.
std::string print_body(Expr e);

} // namespace actforge::ir
