// compute_type(): the arithmetic a kernel is evaluated in.
#include "actforge/codegen/halide/pipeline.hpp"

namespace actforge::codegen::halide {

// ACTIVATIONS.md: f32 kernels compute in f32, f16/bf16 storage in f32, f64 in f64.
Halide::Type compute_type(const KernelSpec &spec) {
  return spec.dtype == DType::F64 ? Halide::Float(64) : Halide::Float(32);
}

} // namespace actforge::codegen::halide
