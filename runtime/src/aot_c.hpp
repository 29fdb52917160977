// The C side of AOT kernels: the header with the C ABI and the source with its wrappers, CPU
// dispatch and registry, as text.
#pragma once

#include "kernel_object.hpp"

#include "actforge/runtime/aot.hpp"

#include <string>
#include <vector>

namespace actforge::aot {

/// One C function family: an activation in one role and dtype, compiled for each target.
struct CKernel {
  Activation activation;
  codegen::Role role;
  codegen::DType dtype;
  std::vector<runtime::KernelInterface> targets; // least capable first
};

std::string emit_header(const Options &options, const std::vector<CKernel> &kernels);
std::string emit_source(const Options &options, const std::vector<CKernel> &kernels);

} // namespace actforge::aot
