// Memoised bottom-up rewriting of IR DAGs: the base every pass builds on.
#pragma once

#include "actforge/ir/expr.hpp"

#include <functional>
#include <span>
#include <unordered_map>

namespace actforge::ir {

/// `e` with its children replaced (same kind, exponent, leaf data). Returns `e` itself when
/// nothing changed.
Expr with_children(Expr e, std::span<const Expr> children);

/// A pass over a DAG: visit() returns the rewritten node, each distinct node is rewritten once.
/// Override rewrite() for the kinds the pass touches and call rewrite_children() for the rest.
class Mutator {
public:
  virtual ~Mutator() = default;
  Expr visit(Expr e);

protected:
  /// Default: rebuild with visited children.
  virtual Expr rewrite(Expr e) { return rewrite_children(e); }
  Expr rewrite_children(Expr e);

private:
  std::unordered_map<Expr, Expr, ExprHash> memo_;
};

/// Replace every occurrence of the keys by their values (leaves or whole sub-expressions).
Expr substitute(Expr e, const std::unordered_map<Expr, Expr, ExprHash> &replacements);

/// Calls `f` once for each distinct node reachable from `e`, children before parents.
void for_each_node(Expr e, const std::function<void(Expr)> &f);

} // namespace actforge::ir
