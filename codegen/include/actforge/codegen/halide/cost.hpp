// count_ops(): the cost of a kernel per element, as operations in its lowered Halide definition.
//
// Exists so that `actforge analyze` can put a count read off the code we actually generate beside
// the measured time. Counted over the output Func's value after Halide's common-subexpression
// elimination (shared work once), excluding the loads of inputs and parameters: arithmetic
// (+ − × ÷, min, max, neg), comparisons and logic, select, casts/reinterprets (the bit tricks of
// the primitives) and calls (math-library and intrinsic calls, none of them loads).
#pragma once

#include "actforge/codegen/kernel_spec.hpp"

namespace actforge::codegen::halide {

struct OpCount {
  int arithmetic = 0; // add sub mul div mod min max
  int compare = 0;    // lt le gt ge eq ne and or not
  int select = 0;
  int cast = 0; // cast, reinterpret
  int call = 0; // transcendental library calls and intrinsics (not loads)
  int total() const { return arithmetic + compare + select + cast + call; }
};

/// The forward pipeline of `spec` (role ignored: forward is counted), with the host's default
/// schedule. Throws actforge::Error where build_pipeline() does.
OpCount count_ops(const KernelSpec &spec);

} // namespace actforge::codegen::halide
