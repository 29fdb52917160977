// The C side of AOT kernels: the header with the C ABI and the source with its wrappers, CPU
// dispatch and registry, as text.
#pragma once

#include "kernel_object.hpp"

#include "actforge/runtime/aot.hpp"

#include <string>
#include <vector>

namespace actforge::aot {

/// One C function family: an activation in one role, layout and dtype, compiled for each target
/// (each KernelInterface's spec says which parameters are per-channel).
struct CKernel {
  Activation activation;
  codegen::Role role;
  codegen::DType dtype;
  std::vector<runtime::KernelInterface> targets; // least capable first
};

/// One maxout function family (Options::maxout): groups of k channels, one role (forward or
/// backward) and dtype, compiled for each target: (target, Halide symbol), least capable first.
struct CMaxout {
  int k = 2;
  codegen::Role role = codegen::Role::Forward;
  codegen::DType dtype = codegen::DType::F32;
  std::vector<std::pair<std::string, std::string>> targets;
};

/// `skipped`: sentences naming the roles an activation does not have, for the header.
std::string emit_header(const Options &options, const std::vector<CKernel> &kernels,
                        const std::vector<CMaxout> &maxouts,
                        const std::vector<std::string> &skipped);
std::string emit_source(const Options &options, const std::vector<CKernel> &kernels,
                        const std::vector<CMaxout> &maxouts);

} // namespace actforge::aot
