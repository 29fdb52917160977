// build_maxout_pipeline(): maxout's forward and backward kernels as scheduled Halide pipelines.
//
// Maxout is not elementwise (dsl/maxout.hpp is its reference): x has layout [outer, C·k, inner]
// and y [outer, C, inner], y = the first arg-max of each group of k consecutive channels, a NaN
// counting as the maximum. The kernels compare bit patterns, not floats: every dtype (f32, f64,
// f16, bf16) is read and written as unsigned integers of its width, and each element's key is
// its sign-magnitude value as a signed integer (-0 and +0 both 0), a NaN's key the largest
// integer. For non-NaN values key(a) > key(b) exactly when a > b, so the first maximal key is
// the reference's first arg-max (ties, ±0 and NaN included), and the output is its bits: no
// rounding, no fast-math flag can touch it, and NaN payloads pass through.
//
// Arguments (Halide's innermost dimension first; strides as given, dimension 0 dense):
//   forward   x [inner, k, groups, outer]                      → y  [inner, groups, outer]
//   backward  x [inner, k, groups, outer], dy [inner, groups, outer] → dx [inner, k, groups, outer]
// A dense [outer, C·k, inner] array is x with strides (1, inner, k·inner, C·k·inner).
// Backward: dx at the first arg-max of its group is 0 + dy (dy, but +0 for dy = -0, as the
// reference's accumulation gives), every other element +0; each element of dx is a pure function
// of its group (no scatter).
// Schedule (CPU only; the first variant whose condition holds runs): rows of inner >= lanes·unroll
// elements are vectorised along inner; channels-last rows (inner = 1, groups k apart, as the
// runtime passes them) across groups, whose strided loads Halide turns into dense loads and
// shuffles; rows of 8 or more elements 8 wide, of 2 or more 4 wide, masked in the tail (where
// shorter than lanes·unroll); anything else across groups. Parallel over outer when
// parallel_chunk > 0. Backward computes each vector's arg-max once, before its k rows of dx.
#pragma once

#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/codegen/schedule.hpp"

#include <Halide.h>

#include <vector>

namespace actforge::codegen::halide {

struct MaxoutPipeline {
  Halide::Pipeline pipeline;
  std::vector<Halide::ImageParam> buffers; // x[, dy]
  Role role = Role::Forward;
  DType dtype = DType::F32;
  int k = 2;
  /// The inputs in order, as compile_to_* expects them (the output follows).
  std::vector<Halide::Argument> arguments() const;
};

/// The element type of every buffer of a maxout kernel of `dtype`: UInt(16|32|64).
Halide::Type maxout_buffer_type(DType dtype);

/// Throws actforge::Error for k outside [2, 16], a role other than forward or backward, or a GPU
/// schedule (maxout has CPU kernels only).
MaxoutPipeline build_maxout_pipeline(Role role, DType dtype, int k, const Schedule &schedule);

} // namespace actforge::codegen::halide
