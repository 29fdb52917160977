// Memoised bottom-up rewriting of IR DAGs.
#include "actforge/ir/mutate.hpp"

#include <unordered_set>
#include <vector>

namespace actforge::ir {

Expr with_children(Expr e, std::span<const Expr> c) {
  bool same = true;
  for (int i = 0; i < e.num_children(); ++i)
    same = same && c[static_cast<std::size_t>(i)] == e.child(i);
  if (same) return e;
  switch (e.num_children()) {
  case 1: return e.kind() == Kind::Pow ? pow(c[0], e.exponent()) : make(e.kind(), c[0]);
  case 2: return make(e.kind(), c[0], c[1]);
  case 3: return select(c[0], c[1], c[2]);
  default: return e;
  }
}

Expr Mutator::visit(Expr e) {
  if (auto it = memo_.find(e); it != memo_.end()) return it->second;
  Expr r = rewrite(e);
  memo_.emplace(e, r);
  return r;
}

Expr Mutator::rewrite_children(Expr e) {
  std::array<Expr, 3> c;
  for (int i = 0; i < e.num_children(); ++i)
    c[static_cast<std::size_t>(i)] = visit(e.child(i));
  return with_children(e,
                       std::span<const Expr>(c.data(), static_cast<std::size_t>(e.num_children())));
}

namespace {
class Substitute : public Mutator {
public:
  explicit Substitute(const std::unordered_map<Expr, Expr, ExprHash> &r) : r_(r) {}

protected:
  Expr rewrite(Expr e) override {
    if (auto it = r_.find(e); it != r_.end()) return it->second;
    return rewrite_children(e);
  }

private:
  const std::unordered_map<Expr, Expr, ExprHash> &r_;
};
} // namespace

Expr substitute(Expr e, const std::unordered_map<Expr, Expr, ExprHash> &replacements) {
  return Substitute(replacements).visit(e);
}

void for_each_node(Expr root, const std::function<void(Expr)> &f) {
  // Iterative post-order so deep expressions cannot overflow the stack.
  std::unordered_set<const Node *> done;
  std::vector<std::pair<Expr, int>> stack{{root, 0}};
  while (!stack.empty()) {
    auto &[e, next] = stack.back();
    if (next == 0 && done.count(e.get())) {
      stack.pop_back();
      continue;
    }
    if (next < e.num_children()) {
      Expr c = e.child(next++);
      if (!done.count(c.get())) stack.push_back({c, 0});
      continue;
    }
    Expr finished = e;
    stack.pop_back();
    if (done.insert(finished.get()).second) f(finished);
  }
}

} // namespace actforge::ir
