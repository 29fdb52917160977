// simplify(e): constant folding and 0/1 identities over a whole expression.
//
// Exists so that derivatives and user text reach the backends without dead arithmetic; sharing
// of common sub-expressions comes free from hash-consing. Keeps the value of e for finite inputs.
#pragma once

#include "actforge/ir/expr.hpp"

namespace actforge::ir {

Expr simplify(Expr e);

} // namespace actforge::ir
