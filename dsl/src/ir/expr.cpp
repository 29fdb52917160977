// Interning of IR nodes: one global table, guarded by a mutex, never freed.
#include "actforge/ir/expr.hpp"

#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace actforge::ir {
namespace {

// Hash and compare long doubles by value, with NaNs all equal and -0 distinct from +0, without
// reading the padding bytes of x87 extended precision.
std::size_t hash_value(long double v) {
  if (std::isnan(v)) return 0x7ff8u;
  const double hi = static_cast<double>(v);
  const double lo = static_cast<double>(v - static_cast<long double>(hi));
  std::size_t h = std::hash<double>{}(hi)*31 + std::hash<double>{}(lo);
  return h ^ (std::signbit(v) ? 0x9e3779b9u : 0u);
}

bool same_value(long double a, long double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

struct NodeHash {
  std::size_t operator()(const Node *n) const { return n->hash; }
};
struct NodeEq {
  bool operator()(const Node *a, const Node *b) const {
    if (a->kind != b->kind || a->num_children != b->num_children || a->index != b->index ||
        a->has_default != b->has_default || a->name != b->name)
      return false;
    const bool uses_value = a->kind == Kind::Const || a->has_default;
    if (uses_value && !same_value(a->value, b->value)) return false;
    return a->children == b->children;
  }
};

struct Table {
  std::mutex mutex;
  std::unordered_set<const Node *, NodeHash, NodeEq> nodes;
};

Table &table() {
  static Table *t = new Table; // intentionally immortal: nodes outlive every static destructor
  return *t;
}

Expr intern(Node n) {
  std::size_t h = static_cast<std::size_t>(n.kind) * 0x100000001b3u;
  h = h * 1099511628211u ^ static_cast<std::size_t>(n.index);
  if (n.kind == Kind::Const || n.has_default) h = h * 1099511628211u ^ hash_value(n.value);
  if (!n.name.empty()) h = h * 1099511628211u ^ std::hash<std::string>{}(n.name);
  for (int i = 0; i < n.num_children; ++i)
    h = h * 1099511628211u ^ n.children[static_cast<std::size_t>(i)]->hash;
  n.hash = h;
  n.depth = 1;
  for (int i = 0; i < n.num_children; ++i)
    n.depth = std::max(n.depth, n.children[static_cast<std::size_t>(i)]->depth + 1);

  Table &t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (auto it = t.nodes.find(&n); it != t.nodes.end()) return Expr(*it);
  const Node *stored = new Node(std::move(n));
  t.nodes.insert(stored);
  return Expr(stored);
}

Node blank(Kind k) {
  Node n{};
  n.kind = k;
  n.children = {nullptr, nullptr, nullptr};
  return n;
}

void require_value(Expr e, Kind parent) {
  if (!e.defined())
    throw Error("internal error: undefined operand of '" + std::string(spelling(parent)) + "'");
  if (e.is_condition())
    throw Error("a comparison can only be the condition of select(); '" +
                std::string(spelling(parent)) + "' needs a number");
}

} // namespace

Expr constant(long double v) {
  Node n = blank(Kind::Const);
  n.value = v;
  return intern(std::move(n));
}

Expr input(int index) {
  if (index < 0 || index >= kMaxInputs)
    throw Error("input index " + std::to_string(index) + " is out of range (0.." +
                std::to_string(kMaxInputs - 1) + ")");
  Node n = blank(Kind::Input);
  n.index = index;
  return intern(std::move(n));
}

Expr param(std::string name, std::optional<long double> default_value) {
  if (name.empty()) throw Error("a parameter needs a name");
  Node n = blank(Kind::Param);
  n.name = std::move(name);
  n.has_default = default_value.has_value();
  n.value = default_value.value_or(0.0L);
  return intern(std::move(n));
}

Expr make(Kind k, Expr a) {
  if (arity(k) != 1 || k == Kind::Pow)
    throw Error("'" + std::string(spelling(k)) + "' does not take one operand");
  require_value(a, k);
  Node n = blank(k);
  n.num_children = 1;
  n.children[0] = a.get();
  return intern(std::move(n));
}

Expr make(Kind k, Expr a, Expr b) {
  if (arity(k) != 2) throw Error("'" + std::string(spelling(k)) + "' does not take two operands");
  require_value(a, k);
  require_value(b, k);
  Node n = blank(k);
  n.num_children = 2;
  n.children[0] = a.get();
  n.children[1] = b.get();
  return intern(std::move(n));
}

Expr select(Expr cond, Expr a, Expr b) {
  if (!cond.defined() || !cond.is_condition())
    throw Error("the condition of select() must be a comparison such as x > 0");
  require_value(a, Kind::Select);
  require_value(b, Kind::Select);
  Node n = blank(Kind::Select);
  n.num_children = 3;
  n.children = {cond.get(), a.get(), b.get()};
  return intern(std::move(n));
}

Expr pow(Expr base, int exponent) {
  require_value(base, Kind::Pow);
  Node n = blank(Kind::Pow);
  n.num_children = 1;
  n.index = exponent;
  n.children[0] = base.get();
  return intern(std::move(n));
}

std::size_t dag_size(Expr e) {
  std::unordered_set<const Node *> seen;
  std::vector<const Node *> stack{e.get()};
  while (!stack.empty()) {
    const Node *n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second) continue;
    for (int i = 0; i < n->num_children; ++i)
      stack.push_back(n->children[static_cast<std::size_t>(i)]);
  }
  return seen.size();
}

} // namespace actforge::ir
