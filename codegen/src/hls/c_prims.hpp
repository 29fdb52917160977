// A small builder of branch-free C99 f32 code for the HLS float mode: values are C expressions
// bound to `const` temporaries as they are formed, every operator counted into an OpCount, and
// static helper functions (the primitives: af_exp, af_sigmoid, ...) defined once per module.
// Internal to codegen/src/hls (float_lower.cpp); not installed.
#pragma once

#include "actforge/codegen/hls/ops.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace actforge::codegen::hls::c {

/// The C type of a value: float, int32_t, uint32_t, or a condition (int, 0 or 1).
enum class Ty { F, I, U, C };

/// How operations are written: C99 expressions bound to `const` temporaries, or MLIR `arith`
/// operations (codegen/src/mlir) on scalars (width 0: f32, i32, i1) or on vector<width x ..>,
/// bound to SSA values. The same primitives, rounded the same way, in either.
struct Syntax {
  bool mlir = false;
  int width = 0;
};

/// A C expression: an identifier or a literal (everything else is bound to a temporary).
struct V {
  std::string s;
  Ty t = Ty::F;
};
using OptV = std::optional<V>;

/// One function body (a helper's, or the kernel's statements) being built. Each line binds one
/// operation's result; lines that nothing uses are dropped by finish(), with their counts.
class Body {
public:
  explicit Body(std::string prefix) : prefix_(std::move(prefix)) {}
  /// Binds `expr` (of type t) to a fresh temporary, charging `ops` to it.
  V bind(const std::string &expr, Ty t, const OpCount &ops);
  /// The lines still used by `roots` (identifiers referenced), and their total count.
  struct Finished {
    std::vector<std::string> lines;
    OpCount ops;
  };
  Finished finish(const std::vector<std::string> &roots) const;

private:
  struct Line {
    std::string name, text;
    OpCount ops;
  };
  std::string prefix_;
  std::vector<Line> lines_;
};

/// The helpers of one kernel: each defined once, callees before callers.
class Module {
public:
  explicit Module(Syntax syntax = {}) : syntax_(syntax) {}
  const Syntax &syntax() const { return syntax_; }
  using Builder = std::function<V(const std::vector<V> &params)>;
  /// Calls helper `name` (defining it first with `build` over parameters of types `params`),
  /// charging its count to the current body. MLIR: builds the helper's operations in place.
  V call(const std::string &name, const std::vector<V> &args, const std::vector<Ty> &params,
         Ty result, const Builder &build);
  /// The definitions that `code` (the kernel's statements and outputs) uses, directly or
  /// through other helpers.
  std::string text(const std::vector<std::string> &code) const;

private:
  struct Helper {
    std::string text;
    OpCount ops;
  };
  Syntax syntax_;
  std::map<std::string, Helper> helpers_;
  std::vector<std::string> order_;
};

/// The body and module that the operators below build into (set by Scope, one per thread).
struct Context {
  Body *body = nullptr;
  Module *module = nullptr;
};
Context &current();
/// Makes `body` current until destroyed.
class Scope {
public:
  Scope(Body &body, Module &module);
  ~Scope();
  Scope(const Scope &) = delete;
  Scope &operator=(const Scope &) = delete;

private:
  Context saved_;
};

// ---- Values ------------------------------------------------------------------------------------
/// The type of a value as the current syntax spells it (float / f32 / vector<8xf32>, ...).
std::string type_name(Ty t);

/// The float nearest to v (long double rounded once), as a C literal (MLIR: a constant op).
V fc(long double v);
V ic(std::int64_t v); // int32_t literal
V uc(std::uint32_t v);
V nan_f();
V inf_f();

V operator+(const V &a, const V &b);
V operator-(const V &a, const V &b);
V operator*(const V &a, const V &b);
V operator/(const V &a, const V &b);
V operator-(const V &a);
V operator<(const V &a, const V &b);
V operator<=(const V &a, const V &b);
V operator>(const V &a, const V &b);
V operator>=(const V &a, const V &b);
V operator==(const V &a, const V &b);
V operator!=(const V &a, const V &b);
V operator&&(const V &a, const V &b); // conditions; not counted (a gate)
V operator||(const V &a, const V &b);
V operator!(const V &a);
V sel(const V &c, const V &a, const V &b);
// Integer bit operations (not counted: wiring).
V shr(const V &a, int n);
V shl(const V &a, int n);
V band(const V &a, const V &b);
V bor(const V &a, const V &b);
V to_int(const V &f);   // (int32_t) of a float holding an integer
V to_float(const V &i); // (float) of an int32_t
V to_u(const V &i);     // (uint32_t) of an int32_t
V bits(const V &f);     // the bit pattern of a float
V from_bits(const V &u);

V is_nan(const V &a); // a != a
V fabs_(const V &a);  // sign bit cleared
V copysign_(const V &y, const V &s);
V is_inf(const V &a);

} // namespace actforge::codegen::hls::c
