// Folding constructors: build a node, applying constant folding and 0/1 identities on the way.
//
// The runtime twin of dsl/build.hpp; simplify() and differentiate() build through these so their
// results are simplified as they are made. Assumes finite operands (0·u → 0), the convention of
// symbolic differentiation; everything else keeps IEEE semantics.
#pragma once

#include "actforge/ir/expr.hpp"

#include <span>

namespace actforge::ir::fold {

Expr add(Expr a, Expr b);
Expr sub(Expr a, Expr b);
Expr mul(Expr a, Expr b);
Expr div(Expr a, Expr b);
Expr neg(Expr a);
Expr min(Expr a, Expr b);
Expr max(Expr a, Expr b);
Expr compare(Kind k, Expr a, Expr b);
Expr select(Expr cond, Expr a, Expr b);
Expr unary(Kind k, Expr a);
Expr pow(Expr a, int exponent);

/// The minimum-norm element of the interval between p and q: the derivative of max/min at a tie.
Expr tie(Expr p, Expr q);

/// Rebuild one node of kind `k` from (already folded) operands; dispatches to the above.
Expr node(Expr original, std::span<const Expr> children);

} // namespace actforge::ir::fold
