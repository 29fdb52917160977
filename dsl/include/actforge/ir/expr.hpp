// The runtime IR of Actforge: small immutable hash-consed expression nodes.
//
// Semantics every node obeys, on every backend:
// - Values are real scalars (IEEE float/double/long double). NaN propagates through every
//   arithmetic node, every function, min and max (min/max are NOT the IEEE minNum/maxNum that
//   drop a NaN: max(NaN, 0) is NaN).
// - Comparisons (Gt, Ge, Lt, Le, Eq, Ne) yield a condition, never a number; a comparison with a
//   NaN operand is false except Ne, which is true. select(c, a, b) is a when c holds, else b, and
//   may only have a comparison as its condition.
// - Infinities give the limit of the function (sigmoid(-inf) = 0, softplus(+inf) = +inf, ...);
//   backends evaluate each primitive in a form that never builds inf/inf or inf*0 from finite
//   inputs.
// - Derivatives at kinks follow the minimum-norm subgradient, locally per node: select
//   differentiates the branch the forward pass takes; max/min at a tie take the minimum-norm
//   choice of the two one-sided derivatives (0 when they differ in sign, else the smaller in
//   magnitude); abs'(0) = 0. See differentiate.hpp.
// - Pow has an integer exponent (negative allowed); 0^0 = 1.
//
// Nodes are interned: two structurally equal expressions are the same pointer, so equality and
// hashing are O(1) and common sub-expressions are shared (the IR is a DAG). Nodes live for the
// life of the process. Construction is thread-safe.
#pragma once

#include "actforge/error.hpp"
#include "actforge/ir/kind.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace actforge::ir {

class Expr;

/// One interned node. Obtain nodes only through the Expr factories below.
struct Node {
  Kind kind;
  std::uint8_t num_children;
  std::uint32_t depth; // 1 for leaves; 1 + deepest child otherwise
  std::int32_t index;  // Input: input number; Pow: exponent
  long double value;   // Const: the value; Param: the default (when has_default)
  bool has_default;    // Param only
  std::string name;    // Param only
  std::array<const Node *, 3> children;
  std::size_t hash;
};

/// A handle to an interned node. Cheap to copy; compares by identity (= structure).
class Expr {
public:
  Expr() = default;
  explicit Expr(const Node *n) : node_(n) {}

  bool defined() const { return node_ != nullptr; }
  const Node *get() const { return node_; }
  Kind kind() const { return node_->kind; }
  int num_children() const { return node_->num_children; }
  Expr child(int i) const { return Expr(node_->children[static_cast<std::size_t>(i)]); }
  std::size_t hash() const { return node_->hash; }
  std::uint32_t depth() const { return node_->depth; }

  // Leaf accessors (valid for the matching kind only).
  long double value() const { return node_->value; }
  int input_index() const { return node_->index; }
  int exponent() const { return node_->index; }
  const std::string &param_name() const { return node_->name; }
  std::optional<long double> param_default() const {
    return node_->has_default ? std::optional<long double>(node_->value) : std::nullopt;
  }

  bool is_const() const { return kind() == Kind::Const; }
  bool is_const(long double v) const { return is_const() && value() == v; }
  bool is_condition() const { return is_comparison(kind()); }

  friend bool operator==(Expr a, Expr b) { return a.node_ == b.node_; }
  friend bool operator!=(Expr a, Expr b) { return a.node_ != b.node_; }

private:
  const Node *node_ = nullptr;
};

struct ExprHash {
  std::size_t operator()(Expr e) const { return e.hash(); }
};

// ---- Factories. They check shape (arity, conditions only where a condition belongs) and throw
// actforge::Error on misuse; they never simplify.
Expr constant(long double v);
Expr input(int index);
Expr param(std::string name, std::optional<long double> default_value = std::nullopt);
Expr make(Kind k, Expr a);
Expr make(Kind k, Expr a, Expr b);
Expr select(Expr cond, Expr a, Expr b);
Expr pow(Expr base, int exponent);

// Readable builders for code that constructs IR by hand (rules, tests, the library).
inline Expr operator+(Expr a, Expr b) { return make(Kind::Add, a, b); }
inline Expr operator-(Expr a, Expr b) { return make(Kind::Sub, a, b); }
inline Expr operator*(Expr a, Expr b) { return make(Kind::Mul, a, b); }
inline Expr operator/(Expr a, Expr b) { return make(Kind::Div, a, b); }
inline Expr operator-(Expr a) { return make(Kind::Neg, a); }
inline Expr operator>(Expr a, Expr b) { return make(Kind::Gt, a, b); }
inline Expr operator>=(Expr a, Expr b) { return make(Kind::Ge, a, b); }
inline Expr operator<(Expr a, Expr b) { return make(Kind::Lt, a, b); }
inline Expr operator<=(Expr a, Expr b) { return make(Kind::Le, a, b); }
inline Expr exp(Expr a) { return make(Kind::Exp, a); }
inline Expr expm1(Expr a) { return make(Kind::Expm1, a); }
inline Expr log(Expr a) { return make(Kind::Log, a); }
inline Expr log1p(Expr a) { return make(Kind::Log1p, a); }
inline Expr sqrt(Expr a) { return make(Kind::Sqrt, a); }
inline Expr rsqrt(Expr a) { return make(Kind::Rsqrt, a); }
inline Expr abs(Expr a) { return make(Kind::Abs, a); }
inline Expr min(Expr a, Expr b) { return make(Kind::Min, a, b); }
inline Expr max(Expr a, Expr b) { return make(Kind::Max, a, b); }
inline Expr sigmoid(Expr a) { return make(Kind::Sigmoid, a); }
inline Expr tanh(Expr a) { return make(Kind::Tanh, a); }
inline Expr erf(Expr a) { return make(Kind::Erf, a); }
inline Expr erfc(Expr a) { return make(Kind::Erfc, a); }
inline Expr softplus(Expr a) { return make(Kind::Softplus, a); }

/// Number of distinct nodes reachable from `e` (DAG size).
std::size_t dag_size(Expr e);

} // namespace actforge::ir
