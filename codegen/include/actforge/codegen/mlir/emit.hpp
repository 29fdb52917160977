// emit(): a KernelSpec as an MLIR 19 module in text form (func, scf, vector, arith, memref; gpu
// for the GPU form). Text only: this library links no MLIR. `actforge-mlir` (tools/) compiles it
// to objects, runs it in its JIT, or writes PTX; IREE or another MLIR pipeline can take it too.
//
// The element computation is the HLS float mode's (codegen/src/hls/float_lower.cpp, itself a port
// of the Halide backend's primitives and guards) printed as `arith` operations: range-reduced
// polynomials with the same f32 coefficient tables, double-word arguments, scaled products, the
// infinity and NaN guards. Every operation is one IEEE f32 operation (compile without fast-math
// and without fp-contraction: `actforge-mlir` does), so MLIR's own `math` approximations are not
// used. f16 and bf16 storage compute in f32; f64 is not supported (the primitives' tables are f32).
//
// CPU module (Device::Cpu):
//   func.func private @NAME_element(f32 vectors...) -> (f32 vectors...)   one vector of elements
//   func.func @NAME_memref(memref<?xT> inputs..., memref<?xT> outputs..., f32 params...)
//     a loop of full vectors and one masked tail; param_grad sums dy·∂f/∂p in f64 lanes and
//     stores one value per parameter in its output's element 0;
//   func.func @NAME(...) -> i32   (Options::c_abi) the C ABI of the Halide AOT kernels (DESIGN.md):
//     int NAME(const T *in..., T *out..., int64_t n, const P *p)  (param_grad: the gradients
//     after p, one element each). p points to the parameters as float fields in name order
//     (Module::params); NULL takes the defaults. Returns 0, 1 for n < 0 or a NULL array that is
//     needed, 2 for p == NULL when a parameter has no default.
// GPU module (Device::Gpu): gpu.module @NAME_gpu { gpu.func @NAME(!llvm.ptr in..., !llvm.ptr
//   out..., i64 n, f32 params...) kernel }: each pointer wrapped in a memref<?xT> of n elements
//   inside (MLIR 19's bare-pointer convention takes only static shapes), one element per thread
//   in a grid-stride loop; forward and the two backward roles. Its PTX parameters are exactly
//   those arguments (.u64 pointers, .u64 n, .f32 parameters).
#pragma once

#include "actforge/codegen/kernel_spec.hpp"

#include <string>
#include <vector>

namespace actforge::codegen::mlir {

enum class Device { Cpu, Gpu };

struct Options {
  Device device = Device::Cpu;
  int lanes = 16;    // CPU: f32 lanes per vector (8 for AVX2, 16 for AVX-512)
  bool c_abi = true; // CPU: add the C ABI entry
};

struct Module {
  std::string text;                 // the .mlir
  std::string functions;            // text's functions without the module around them (CPU):
                                    // modules of distinctly named kernels combine into one
  std::string function;             // the C ABI entry (CPU) or the kernel (GPU)
  std::vector<std::string> inputs;  // data arrays in argument order: x[, g][, dy] or y, dy
  std::vector<std::string> outputs; // y | dx[, dg] | d<param>... (one element each)
  bool sums = false;                // param_grad: the outputs follow p in the C ABI
  std::vector<std::string> params;  // scalar parameters, name order (the struct's fields)
  std::vector<double> defaults;     // their defaults (NaN: none)
};

/// Throws actforge::Error for a spec it cannot build (validate(), f64, the channel layout,
/// backward_from_output of an f without a from-output row, param_grad on the GPU) with the reason.
Module emit(const KernelSpec &spec, const std::string &name, const Options &options = {});

} // namespace actforge::codegen::mlir
