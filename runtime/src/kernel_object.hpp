// The one path from a KernelSpec to machine code, shared by jit() and `actforge gen`: a
// no-runtime Halide object with a plain C entry, one standalone Halide runtime, and the system
// linker to make shared objects of them for the JIT.
#pragma once

#include "actforge/codegen/halide/pipeline.hpp"
#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/codegen/schedule.hpp"
#include "actforge/targets/target.hpp"

#include <optional>
#include <string>
#include <vector>

namespace actforge::runtime {

/// The C entry of a compiled kernel: `int symbol(halide_buffer_t *in..., T param...,
/// halide_buffer_t *out...)`, and `symbol_argv(void **)` taking the same in an array. The kernel
/// checks nothing (NoAsserts, NoBoundsQuery): its caller passes valid, non-null buffers of
/// `storage` type.
struct KernelInterface {
  std::string symbol;
  codegen::KernelSpec spec;
  codegen::Schedule schedule;
  std::string target;                        // x86-64-avx2 or x86-64-avx512
  Halide::Type storage;                      // element type of every buffer
  std::vector<codegen::halide::Port> inputs; // x[, g][, dy]
  std::vector<codegen::halide::Port> outputs;
  std::vector<std::string> param_names;        // sorted, as ir::collect_params
  std::vector<std::optional<double>> defaults; // one per param_names
  bool params_f64 = false;                     // scalars are double (else float)
};

/// The Halide target a kernel object is compiled for: `target`'s, with no runtime of its own
/// (one standalone runtime serves every kernel), no asserts and no bounds queries.
Halide::Target kernel_object_target(const targets::TargetInfo &target);

/// "swish_bwd_f32_avx512_v16u2p0": activation, role, layout, dtype, target, schedule — the
/// stem, then the target's ISA and the schedule.
std::string kernel_name(const std::string &activation, const codegen::KernelSpec &spec,
                        const std::string &target, const codegen::Schedule &schedule);

/// "swish_bwd_f32", "prelu_pgrad_ch_f32": activation, role (fwd, bwd, bwdy, pgrad), "_rng" for
/// a generated input g (KernelSpec::uniform_g), "_ch" for the channel layout, dtype. The names
/// of AOT C functions.
std::string kernel_stem(const std::string &activation, const codegen::KernelSpec &spec);

/// What a kernel's interface is without building it: symbol, spec, schedule, target, storage,
/// parameters. Ports and the scalar type are left for compile_kernel_object() to fill in.
KernelInterface describe_kernel(const std::string &activation, const codegen::KernelSpec &spec,
                                const codegen::Schedule &schedule,
                                const targets::TargetInfo &target);

/// Lower `spec` and compile it to a no-runtime object at `object_path` whose C entry is named
/// kernel_name(activation, ...). Deterministic: the same inputs give the same bytes.
/// GPU targets: the object holds two entries, `symbol` (the schedule as given: with lanes > 1
/// it assumes every elementwise array is aligned to lanes elements) and `symbol_unaligned`
/// (Schedule::unaligned(): any alignment), each with its PTX embedded; the host code launches
/// them through the Halide runtime's CUDA module.
KernelInterface compile_kernel_object(const std::string &activation,
                                      const codegen::KernelSpec &spec,
                                      const codegen::Schedule &schedule,
                                      const targets::TargetInfo &target,
                                      const std::string &object_path);

/// The target a process's (or a generated library's) single Halide runtime is built for: the
/// least capable x86 target of `targets` (x86-64-avx2 when there is none), so it runs wherever
/// any of their kernels may run, with Halide's CUDA runtime when one of them is a GPU target.
targets::TargetInfo runtime_target(const std::vector<std::string> &targets);

/// The PTX modules embedded in a GPU kernel object, in the order they appear (one per entry).
std::vector<std::string> embedded_ptx(const std::string &object_path);

/// Halide's standalone runtime for `target`, as an object file.
void compile_runtime_object(const targets::TargetInfo &target, const std::string &path);

/// `ld -r`: the objects as one relocatable object (the system linker, found on PATH).
void link_relocatable(const std::vector<std::string> &objects, const std::string &output);

/// `ld -shared` the objects into a shared object (the system linker, found on PATH). Throws
/// actforge::Error with the linker's message when it fails or is missing.
void link_shared_object(const std::vector<std::string> &objects, const std::string &output);

/// Halide's version ("14.0.0") and a fingerprint of the code generator's sources: part of every
/// cache key and of generated files' banners.
const char *halide_version();
const char *codegen_fingerprint();

} // namespace actforge::runtime
