// The standard library at run time: one entry per activation, reflected from dsl::library.
#pragma once

#include "actforge/dsl/library.hpp"
#include "actforge/ir/expr.hpp"
#include "actforge/ir/parse.hpp"

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace actforge::dsl {

/// Parameter values by name (a missing name takes the parameter's default).
using ParamValues = std::map<std::string, long double, std::less<>>;

/// What an entry computes: an elementwise f(x), a gated f(x, g), or maxout's group maximum.
enum class Shape { Unary, Gated, Maxout };

/// A compile-time-evaluated function of the entry: f, a derivative, ... at (x, g).
using CompiledFn = long double (*)(long double x, long double g, const ParamValues &params);

struct Entry {
  std::string name;
  Shape shape;
  ir::Expr expr; // undefined for maxout
  Info info;
  /// The compile-time references (eval() of the DSL expression and of d()), for agreement
  /// checks against the IR. Null for maxout.
  CompiledFn f = nullptr;
  CompiledFn df_dx = nullptr;
  CompiledFn d2f_dx2 = nullptr;
  CompiledFn df_dg = nullptr;      // gated only
  CompiledFn df_dx_dual = nullptr; // forward-mode AD of f: the chain rule on values

  /// Parameter values for checks: defaults plus info.samples for parameters without one.
  ParamValues sample_params() const;
};

/// Every standard activation, in the order of ACTIVATIONS.md.
const std::vector<Entry> &catalog();

/// The entry called `name`, or nullptr. (silu and swish are two entries: swish has a beta.)
const Entry *find_activation(std::string_view name);

/// Library activations as functions of text expressions: "x * relu(g)".
ir::MacroLookup library_macros();

/// Parse text with the library's activations available as functions.
ir::Expr parse_with_library(std::string_view text);

} // namespace actforge::dsl
