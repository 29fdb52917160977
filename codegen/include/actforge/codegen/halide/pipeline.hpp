// build_pipeline(): a KernelSpec and a Schedule as a scheduled Halide pipeline.
//
// Arguments, in order (Pipeline::arguments(), Pipeline::inputs then param_names):
//   1. data buffers, storage type, Extent::Elements:
//        forward               x[, g]
//        backward              x[, g], dy
//        backward_from_output  y, dy
//        param_grad            x[, g], dy
//      Layout::Halves: x and g are one buffer xg (Extent::Pairs) in their place: forward xg,
//      backward and param_grad xg, dy;
//   2. per-channel parameter buffers (KernelSpec::per_channel), storage type, Extent::Channels,
//      sorted by name;
//   3. scalar parameters, compute type, sorted by name (ir::collect_params order, less the
//      per-channel ones);
//   4. KernelSpec::uniform_g only: the generator's scalars seed and offset (uint64), in that
//      order. Input g is then computed, not read: it is not among the data buffers, and
//      backward has no dg. Its element index is the element's offset in x's buffer in
//      elements, i + c·stride(1) + o·stride(2) (i for flat; (o·C + c)·inner + i for a dense
//      call): callers cutting a call into pieces pass offset + the piece's first element and
//      the full call's strides, so every piece draws what one call would.
// Outputs, in order (Pipeline::outputs; compiled code takes them after the arguments):
//        forward y · backward dx[, dg] · backward_from_output dx (all Extent::Elements);
//        Layout::Halves: backward's one output dxg (Extent::Pairs) holds dx and dg;
//        param_grad d<p> for each parameter of grad_params(spec), in name order: Extent::One for
//        a scalar p, Extent::Channels for a per-channel p; storage type.
// Halide shapes: Elements is 1-D [n] in Layout::Flat and 3-D [inner, C, outer] (Halide's
// innermost first, dense) in Layout::Channels; Channels is 1-D [C]; One is 1-D [1].
// Layout::Halves (rows of d outputs from rows of 2d inputs): Elements is 2-D [d, rows] (y, dy),
// Pairs is 3-D [d, 2, rows] (xg, dxg): a row's two halves, x (dx) at [., 0, .] and g (dg) at
// [., 1, .], for a dense [rows, 2d] tensor strides 1, d and 2d. The halves as a dimension of
// extent 2 (not one of 2d) keep every loop select-free: backward unrolls it, storing a vector of
// dx and one of dg per vector of x and g, the two sharing their common subexpressions.
//
// At ±inf f gives its limit with no inf·0 inside, and a NaN input (x, g, y or dy) gives NaN in
// every elementwise output and in every parameter gradient. Where plain IEEE evaluation gets that
// right it is all a kernel does; elsewhere guards see to it (pipeline.cpp decides, per kernel, by
// an analysis of the IR that errs towards keeping them; Pipeline::guards says which it kept):
// - infinity: inputs at ±inf are evaluated at ±2^80 where the kernel's expressions are at most
//   linear in them, else ±2^40 (guards::stand_in_exponent; f64: ±2^300), and a result beyond
//   2^30 (f64: 2^200) reads as the infinite limit, one below 2^-60 (f64: 2^-400) as 0: an
//   infinite x times a factor down to 2^-50 (f32) reads as infinite (x·relu(g) at g = 1e-5);
// - NaN: a test of an input (never of dy, which dy·f' carries) forces NaN onto the outputs.
// The analysis assumes strict IEEE evaluation: compile for a target with Target::StrictFloat.
// param_grad accumulates in f64 in lanes·unroll partial sums (Kahan-compensated for f64 data),
// serially; the schedule's parallel chunk applies to the elementwise roles.
#pragma once

#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/codegen/schedule.hpp"

#include <Halide.h>

#include <cstdint>
#include <string>
#include <vector>

namespace actforge::codegen::halide {

Halide::Type storage_type(DType d);
/// The type a kernel computes in (codegen/src/halide/precision.cpp decides; see there).
Halide::Type compute_type(const KernelSpec &spec);

/// The shape of one buffer argument or output relative to the call's size.
enum class Extent {
  Elements, // n elements (flat layout) or outer*C*inner (channel layout)
  Channels, // C elements: a per-channel parameter or its gradient
  One,      // one element: the gradient of a scalar parameter
  Pairs,    // Layout::Halves: 2·rows·d elements, x and g (or dx and dg) of every row
};
struct Port {
  std::string name; // x, g, xg, y, dy, dx, dg, dxg, d<param>, or a per-channel parameter's name
  Extent extent = Extent::Elements;
};

/// Number of Halide dimensions of a buffer of this extent in this layout (1, 2 or 3).
int dimensions(Extent e, Layout l);

/// The guards a pipeline kept (see above).
struct Guards {
  bool infinity = false;        // inputs at ±inf go through stand-ins and limit()
  std::vector<std::string> nan; // inputs with a NaN test, by Port::name, each once
};

struct Pipeline {
  Halide::Pipeline pipeline;
  std::vector<Halide::ImageParam> buffers; // inputs in argument order
  std::vector<std::string> param_names;    // scalar parameters in argument order
  int num_outputs = 1;
  Layout layout = Layout::Flat;
  std::vector<Port> inputs;  // one per entry of `buffers`, same order
  std::vector<Port> outputs; // one per output of `pipeline`, same order
  Guards guards;

  /// Every argument in order, as compile_to_* and JIT modules expect them.
  std::vector<Halide::Argument> arguments() const;
  /// The parameter at `index` as an expression of the compute type.
  Halide::Expr param(std::size_t index) const;
  /// Bind parameter `index` to `value` (rounded to the compute type) for one realize().
  void set_param(Halide::ParamMap &map, std::size_t index, double value) const;

  // Scalar parameters of the compute type: ParamMap::set needs the static type.
  std::vector<Halide::Param<float>> params_f32;
  std::vector<Halide::Param<double>> params_f64;
  /// KernelSpec::uniform_g: the generator's scalars, the last arguments.
  bool uniform_g = false;
  Halide::Param<std::uint64_t> seed{"seed"}, offset{"offset"};
};

/// Throws actforge::Error for a spec validate() rejects, and for backward_from_output of an
/// activation without a from-output derivative (dsl/from_output.hpp).
Pipeline build_pipeline(const KernelSpec &spec, const Schedule &schedule);

/// The same pipeline as a CPU build_pipeline() (same arguments, guards and numerics) with no
/// schedule of ours, for Halide's autoschedulers to schedule. Estimates, which they need: every
/// buffer and output over [0, n_estimate), each scalar parameter at its default (1 where it has
/// none; Param::set_estimate overrides). Flat layout and the elementwise roles only: throws
/// actforge::Error for Layout::Channels, for param_grad (its reduction is ours to schedule) and
/// for n_estimate outside [1, 2^31).
Pipeline build_unscheduled_pipeline(const KernelSpec &spec, std::int64_t n_estimate);

} // namespace actforge::codegen::halide
