// differentiate(e, v): the symbolic derivative of e by an input or a parameter, simplified.
//
// The rules and kink conventions are those of the compile-time d() (dsl/derivative.hpp):
// select differentiates the branch taken; max/min at a tie take the minimum-norm choice of the
// two one-sided derivatives; abs'(0) = 0. Linear in the DAG size of e (memoised per node).
#pragma once

#include "actforge/ir/expr.hpp"

namespace actforge::ir {

/// `by` is input(i) or a parameter (matched by name; its default does not matter).
/// Throws actforge::Error for anything else, or for a parameter e does not have.
Expr differentiate(Expr e, Expr by);

/// differentiate applied `order` times by the same variable.
Expr differentiate(Expr e, Expr by, int order);

} // namespace actforge::ir
