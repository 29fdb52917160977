// Node kinds shared by the compile-time DSL and the runtime IR.
#pragma once

#include <cstdint>
#include <string_view>

namespace actforge::ir {

/// Every operation an activation can be written with. The compile-time DSL uses the same tags,
/// so a rule is written against one vocabulary on both sides of the reflect() bridge.
enum class Kind : std::uint8_t {
  // Leaves.
  Const,
  Input,
  Param,
  // Arithmetic.
  Add,
  Sub,
  Mul,
  Div,
  Neg,
  // Elementary functions.
  Exp,
  Expm1,
  Log,
  Log1p,
  Sqrt,
  Rsqrt,
  Abs,
  Pow, // integer exponent, stored beside the node
  Min,
  Max,
  // Branching: select(cond, a, b) and the comparisons that may stand as its condition.
  Select,
  Gt,
  Ge,
  Lt,
  Le,
  Eq,
  Ne,
  // Stable primitives (lowered per backend into overflow-free forms).
  Sigmoid,
  Tanh,
  Erf,
  Erfc,
  Softplus,
};

inline constexpr int kKindCount = static_cast<int>(Kind::Softplus) + 1;

/// Number of expression children a node of this kind has.
constexpr int arity(Kind k) {
  switch (k) {
  case Kind::Const:
  case Kind::Input:
  case Kind::Param: return 0;
  case Kind::Add:
  case Kind::Sub:
  case Kind::Mul:
  case Kind::Div:
  case Kind::Min:
  case Kind::Max:
  case Kind::Gt:
  case Kind::Ge:
  case Kind::Lt:
  case Kind::Le:
  case Kind::Eq:
  case Kind::Ne: return 2;
  case Kind::Select: return 3;
  default: return 1;
  }
}

/// True for the comparisons: they produce a condition, not a number.
constexpr bool is_comparison(Kind k) { return k >= Kind::Gt && k <= Kind::Ne; }

/// True for the one-argument functions written `name(u)` in text.
constexpr bool is_unary_function(Kind k) {
  return (k >= Kind::Exp && k <= Kind::Abs) || (k >= Kind::Sigmoid && k <= Kind::Softplus);
}

/// The spelling of a kind in text: function name, operator symbol, or leaf description.
constexpr std::string_view spelling(Kind k) {
  switch (k) {
  case Kind::Const: return "constant";
  case Kind::Input: return "input";
  case Kind::Param: return "parameter";
  case Kind::Add: return "+";
  case Kind::Sub: return "-";
  case Kind::Mul: return "*";
  case Kind::Div: return "/";
  case Kind::Neg: return "-";
  case Kind::Exp: return "exp";
  case Kind::Expm1: return "expm1";
  case Kind::Log: return "log";
  case Kind::Log1p: return "log1p";
  case Kind::Sqrt: return "sqrt";
  case Kind::Rsqrt: return "rsqrt";
  case Kind::Abs: return "abs";
  case Kind::Pow: return "pow";
  case Kind::Min: return "min";
  case Kind::Max: return "max";
  case Kind::Select: return "select";
  case Kind::Gt: return ">";
  case Kind::Ge: return ">=";
  case Kind::Lt: return "<";
  case Kind::Le: return "<=";
  case Kind::Eq: return "==";
  case Kind::Ne: return "!=";
  case Kind::Sigmoid: return "sigmoid";
  case Kind::Tanh: return "tanh";
  case Kind::Erf: return "erf";
  case Kind::Erfc: return "erfc";
  case Kind::Softplus: return "softplus";
  }
  return "?";
}

/// Name of input `i` in text and printouts: x, g, then in2, in3, ...
constexpr std::string_view input_name(int i) {
  switch (i) {
  case 0: return "x";
  case 1: return "g";
  case 2: return "in2";
  case 3: return "in3";
  default: return "in?";
  }
}

inline constexpr int kMaxInputs = 4;

} // namespace actforge::ir
