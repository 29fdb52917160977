// lower_fixed(): the fixed-point kernel of some output expressions as an IntProgram with tables.
#pragma once

#include "actforge/codegen/hls/hls.hpp"
#include "int_program.hpp"

#include <string>
#include <vector>

namespace actforge::codegen::hls::detail {

struct FixedRequest {
  std::vector<ir::Expr> outputs; // over IR inputs x = 0, g = 1, dy = 2
  std::vector<int> ir_inputs;    // the IR input of each program input (call order)
  FixedFormat in, out;
  std::optional<double> max_error; // already defaulted by the caller when unset
  std::optional<int> table_intervals;
  std::string table_prefix; // C names of the tables: <prefix>_t0, ...
  bool backward = false;    // errors relative to max(1,|dy|)
  bool gated = false;       // and to max(1,|x|)
};

struct FixedResult {
  IntProgram program;
  std::vector<Table> tables;
  long double achieved_error = 0;
  std::string error_scale;
  std::string measured_over;
  long long measured_points = 0;
  std::vector<std::vector<std::int64_t>> measured_sets; // per program input: the words measured
};

/// Throws actforge::Error when an output cannot be computed in fixed point (a transcendental
/// of two inputs) or the bound cannot be met.
FixedResult lower_fixed(const FixedRequest &request);

} // namespace actforge::codegen::hls::detail
