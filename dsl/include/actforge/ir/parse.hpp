// The text form of the runtime IR: parse() reads an activation written in infix notation.
//
// Grammar (C precedence, binary operators left associative):
//
//   top        := ternary { ',' IDENT '=' ['+'|'-'] NUMBER } END     parameter defaults
//   ternary    := comparison [ '?' ternary ':' ternary ]             c ? a : b is select(c, a, b)
//   comparison := additive [ ('>'|'>='|'<'|'<='|'=='|'!=') additive ]
//   additive   := term { ('+'|'-') term }
//   term       := unary { ('*'|'/') unary }
//   unary      := '-' unary | '+' unary | primary
//   primary    := NUMBER | IDENT | IDENT '(' [ ternary { ',' ternary } ] ')' | '(' ternary ')'
//
// - A '-' written directly before a number, `inf` or `nan` is part of the constant: "-2" is
//   constant(-2), "-(2)" is Neg(constant(2)).
// - NUMBER is a C integer or floating literal (decimal or hexadecimal, optional f/F/l/L suffix);
//   octal-looking integers such as 010 are rejected rather than silently read as ten.
// - Names: x, g, in2, in3 are the inputs; inf, nan, pi are constants; exp expm1 log log1p sqrt
//   rsqrt abs sigmoid tanh erf erfc softplus min max select pow are the built-in functions (they
//   must be called); a name followed by '(' is then looked up as a macro; any other name is a
//   parameter. pow() takes an integer literal exponent; select() a comparison as its condition.
// - A comparison may only be the condition of select() or of '?:'.
// - Whitespace includes newlines; '#' starts a comment that runs to the end of the line.
// - Parameters are unified by name: every occurrence gets the default written after the
//   expression, else the one default that macro bodies give it, else none.
//
// Errors throw actforge::ParseError with a 1-based line and column.
#pragma once

#include "actforge/ir/expr.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace actforge::ir {

/// A function the text may call besides the built-in ones. `body` is written over
/// input(0)..input(arity-1), which the call's arguments replace; a body may carry parameters with
/// defaults (param("alpha", 1)), and may be a comparison, usable as a condition.
struct Macro {
  int arity;
  Expr body;
};

/// Returns the macro called `name`, or nullptr when there is none. The pointee must outlive the
/// parse() call.
using MacroLookup = std::function<const Macro *(std::string_view name)>;

struct ParseOptions {
  /// Longer input is rejected up front, at 1:1.
  std::size_t max_bytes = 1 << 20;
  /// Limits both the nesting of parentheses, calls and '?:' branches in the text and the depth
  /// of the built tree (Expr::depth()). The parser's own recursion is bounded by it.
  std::uint32_t max_depth = 512;
  /// May be empty: then only the built-in functions can be called.
  MacroLookup macros;
};

/// Parses `text` into an interned expression. Throws actforge::ParseError on any error.
Expr parse(std::string_view text, const ParseOptions &options = {});

} // namespace actforge::ir
