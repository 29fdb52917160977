// build_pipeline(): a KernelSpec and a Schedule as a scheduled Halide pipeline.
//
// The pipeline's arguments are, in order: the input buffers (x, then g for gated activations,
// then dy for backward), then one scalar per parameter (sorted by name, as ir::collect_params),
// in the compute type. Its outputs are y (forward) or dx then dg (backward). At ±inf an input is
// evaluated at ±2^40 (f64: ±2^300) and a result beyond 2^30 (f64: 2^200) reads as the infinite
// limit, so f(±inf) is the limit with no inf·0 inside; a NaN input gives NaN in every output.
#pragma once

#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/codegen/schedule.hpp"

#include <Halide.h>

#include <string>
#include <vector>

namespace actforge::codegen::halide {

Halide::Type storage_type(DType d);
/// The type a kernel computes in (codegen/src/halide/precision.cpp decides; see there).
Halide::Type compute_type(const KernelSpec &spec);

/// The shape of one buffer argument or output relative to the call's size. Today every port is
/// Elements (n elements, flat); param_grad and the [outer, C, inner] layout add the others.
enum class Extent {
  Elements, // n elements (flat layout) or outer*C*inner (channel layout)
  Channels, // C elements: a per-channel parameter or its gradient
  One,      // one element: the gradient of a scalar parameter
};
struct Port {
  std::string name; // x, g, dy, y, dx, dg, d<param>, or a per-channel parameter's name
  Extent extent = Extent::Elements;
};

struct Pipeline {
  Halide::Pipeline pipeline;
  std::vector<Halide::ImageParam> buffers; // inputs in argument order
  std::vector<std::string> param_names;    // scalar parameters in argument order
  int num_outputs = 1;
  std::vector<Port> inputs;  // one per entry of `buffers`, same order
  std::vector<Port> outputs; // one per output of `pipeline`, same order

  /// Every argument in order, as compile_to_* and JIT modules expect them.
  std::vector<Halide::Argument> arguments() const;
  /// The parameter at `index` as an expression of the compute type.
  Halide::Expr param(std::size_t index) const;
  /// Bind parameter `index` to `value` (rounded to the compute type) for one realize().
  void set_param(Halide::ParamMap &map, std::size_t index, double value) const;

  // Scalar parameters of the compute type: ParamMap::set needs the static type.
  std::vector<Halide::Param<float>> params_f32;
  std::vector<Halide::Param<double>> params_f64;
};

Pipeline build_pipeline(const KernelSpec &spec, const Schedule &schedule);

} // namespace actforge::codegen::halide
