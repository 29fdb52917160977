// The HLS emitter: an activation's forward or backward kernel as FPGA-friendly C99 (Vitis HLS /
// Intel HLS style), in IEEE f32 or in fixed point with interpolated tables.
//
// The C it writes obeys the rules of targets/fpga (checked there): C99 that also compiles as
// C++, only <stdint.h> included, no heap, recursion, function pointers or library calls, no
// `if`/loops other than the element loop (branch-free ?: selects), every constant written out,
// the element loop `for (i = 0; i < n; ++i)` pipelined at II=1 with a LOOP_TRIPCOUNT of the
// header's maximum count. HLS pragmas sit in `#ifdef __SYNTHESIS__` blocks, so the same file
// compiles warning-free with gcc and clang for C simulation.
//
// Parameters are compile-time constants of the kernel (their defaults, or values given to
// generate()): an FPGA kernel is specialised, and in fixed point its tables depend on them.
//
// Fixed point: every input (x, g, dy) is a signed `in` word, every output (y, dx, dg) a signed
// `out` word, saturated. Sub-expressions that need a transcendental function (or a division by
// a non-constant) and depend on one input only are tables of that function of the input word,
// linearly interpolated, with affine tails outside the tabled range; the rest is integer
// arithmetic on int64 with at least 24 fractional bits, rounded once to the output format.
// Table sizes and ranges are chosen from the requested error bound (or the requested size), and
// the error actually achieved is measured exhaustively (every input word when it has at most 16
// bits) by evaluating the very integer program the C spells out.
#pragma once

#include "actforge/codegen/hls/ops.hpp"
#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/ir/expr.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace actforge::codegen::hls {

/// A signed two's-complement fixed-point format: `width` bits of which `frac` are fractional
/// (value = word · 2^-frac). "16.10": a 16-bit word, 10 fractional bits.
struct FixedFormat {
  int width = 16;
  int frac = 10;
  long double lsb() const;       // 2^-frac
  long double min_value() const; // -2^(width-1) · lsb
  long double max_value() const; // (2^(width-1) - 1) · lsb
  std::string c_type() const;    // int8_t, int16_t or int32_t: the narrowest that holds it
  std::string to_string() const; // "16.10"
  friend bool operator==(const FixedFormat &, const FixedFormat &) = default;
};
/// "W.F" (1 <= W <= 32, 0 <= F < W); throws actforge::Error naming the problem.
FixedFormat parse_fixed(const std::string &text);

struct Options {
  /// Fixed point in `in` → `out`; unset: IEEE f32 (float mode).
  std::optional<FixedFormat> in, out;
  /// Fixed point: the largest error allowed, absolute, in output units (for backward and gated
  /// kernels relative to max(1,|dy|)·max(1,|x|), see Report::error_scale). Unset: one output
  /// LSB (2^-out.frac).
  std::optional<double> max_error;
  /// Fixed point: intervals per table (a power of two) instead of an error bound.
  std::optional<int> table_intervals;
  /// Parameter values; a parameter not named takes its default (one without a default is an
  /// error).
  std::map<std::string, long double> params;
  /// The element loop's largest count per call (the header's <NAME>_MAX_N).
  std::int64_t max_n = 1 << 20;
  /// Also a second top function, <NAME>_zero_count(..., int32_t n, int64_t *zero_count), the
  /// same loop counting the elements of its first output (y, or dx) that are zero (float ±0,
  /// fixed word 0): dead-unit statistics in the same pipelined pass (`gen --zero-counts`).
  bool zero_count = false;
  /// Input g is generated in the loop, not read (KernelSpec::uniform_g's contract: Philox-4x32-10,
  /// key = seed, counter = offset + i, g = (word 0 >> 8)·2^-24): the kernel takes `uint64_t seed,
  /// uint64_t offset` after n, no g array, and backward writes no dg. Float mode, expressions with
  /// input g (RReLU training: dsl::rrelu_train_expr()).
  bool uniform_g = false;
};

/// One interpolation table of a fixed-point kernel.
struct Table {
  std::string name;           // C name of the static const array
  std::string function;       // the tabled sub-expression, as text
  int input = 0;              // the input it is a function of (0 = x, 1 = g)
  long double lo = 0, hi = 0; // tabled input range [lo, hi]; affine tails outside
  int intervals = 0;          // hi - lo in steps; intervals + 1 values stored
  int entry_bits = 0;         // bits per stored value (two's complement)
  int frac = 0;               // fractional bits of the stored values
  bool tails = false;         // whether inputs outside [lo, hi) exist (then affine tails)
  long double max_error = 0;  // max |interpolated − exact| over every input word (incl. tails)
  long long bits() const { return static_cast<long long>(intervals + 1) * entry_bits; }
};

/// What the kernel computes and what it costs: report.json's contents.
struct Report {
  std::string name;       // the C function
  std::string expression; // the activation, as text (parameters substituted)
  Role role = Role::Forward;
  std::string mode; // "float" or "fixed"
  std::optional<FixedFormat> in, out;
  std::vector<std::string> inputs, outputs; // array names in call order: x [g] [dy], y | dx [dg]
  std::map<std::string, long double> params;
  std::vector<Table> tables;
  OpCount ops; // per element
  /// Fixed point: the signed operand widths of each multiplier (a DSP block takes 18×27 bits).
  std::vector<std::pair<int, int>> multiplier_bits;
  long long table_bits = 0; // all tables together (BRAM)
  /// Fixed point: the requested bound and the error achieved, measured exhaustively over
  /// `measured_over` by the integer program the C spells out (the C simulation must agree bit
  /// for bit: targets/fpga tests it).
  std::optional<double> requested_error;
  long double achieved_error = 0;
  std::string error_scale; // how the error is normalised ("absolute", "/max(1,|dy|)", ...)
  std::string measured_over;
  long long measured_points = 0;
};

/// The files of one kernel.
struct Kernel {
  std::string c_name; // file stem and C function name
  std::string header; // <c_name>.h
  std::string source; // <c_name>.c
  Report report;
  /// Fixed point only: the integer program's outputs (raw words) on given input words, for
  /// cross-checking a C simulation. inputs[k][i]: input k (x, g, dy order), element i.
  std::vector<std::vector<std::int64_t>>
  simulate(const std::vector<std::vector<std::int64_t>> &inputs) const;
  std::shared_ptr<const void> program; // the fixed-point integer program (opaque)
  /// Fixed point only: the words each input took in the measurement (every combination of
  /// them was measured, the first input varying fastest).
  std::vector<std::vector<std::int64_t>> measured_sets;
};

/// Generates the kernel of `f` (an activation of one input x or two, x and g) for `role`
/// (Forward or Backward) named `c_name` (a C identifier). Throws actforge::Error for another
/// role, a maxout, an input format wider than 32 bits, an unreachable error bound (below the
/// output format's half LSB, or beyond what the largest table reaches), a parameter without
/// value.
Kernel generate(ir::Expr f, Role role, const std::string &c_name, const Options &options);

/// Maxout (not an expression: the maximum over each group of k consecutive channels, layout
/// [outer, groups·k, inner] → [outer, groups, inner], the gradient to each group's first
/// arg-max, a NaN counting as the maximum) for `role` (Forward or Backward), k from
/// options.params["k"] (default 2, at least 2): float or fixed point (options.in; exact in both,
/// outputs in the input format). The kernel takes (x[, dy], y|dx, int32_t outer, int32_t groups,
/// int32_t inner), outer·groups·inner <= <NAME>_MAX_N, and walks the output elements in one
/// pipelined loop (no division: the group's row advances by k·inner when inner wraps).
Kernel generate_maxout(Role role, const std::string &c_name, const Options &options);

/// report.json: the report as a JSON object (stable key order, two-space indented).
std::string to_json(const Report &r);

} // namespace actforge::codegen::hls
