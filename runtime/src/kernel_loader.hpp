// Kernels as callable code in this process: found in the disk cache or compiled, linked into a
// shared object and loaded, after the process's one Halide runtime.
#pragma once

#include "kernel_object.hpp"

#include <functional>
#include <string>
#include <utility>

namespace actforge::runtime {

/// `symbol_argv`: the kernel's arguments as an array (buffers as halide_buffer_t*, scalars by
/// address), inputs, then scalars, then outputs. Returns 0, or a Halide error code.
using ArgvEntry = int (*)(void **args);

struct LoadedKernel {
  KernelInterface interface;
  ArgvEntry entry = nullptr;
  ArgvEntry entry_unaligned = nullptr; // GPU: the entry for arrays of any alignment (else entry)
  bool from_disk = false;              // found in the disk cache (else compiled now)
};

/// The kernel `activation` / spec / schedule / target, ready to call. Loads the Halide runtime
/// first (once per process). Throws actforge::Error.
LoadedKernel load_kernel(const std::string &activation, const codegen::KernelSpec &spec,
                         const codegen::Schedule &schedule, const targets::TargetInfo &target);

/// A function of the process's Halide runtime (loading it first), e.g. halide_copy_to_host.
/// Throws actforge::Error when it has none.
void *runtime_symbol(const char *name);

/// The message of the last Halide runtime error reported on this thread.
std::string last_runtime_error();

/// A shared object for `key`: the verified disk-cache entry whose record's meta text `accept`
/// takes, else `build(work_dir, so_path)`'s output (build returns the meta text to record),
/// published to the cache when there is one; dlopen'ed with RTLD_NOW | flags. Returns the handle
/// and the meta text; `from_disk` says which. An entry `accept` refuses is rebuilt like a
/// corrupt one. Every kernel the process compiles (jit, maxout, the Halide runtime) comes
/// through here. Throws actforge::Error.
std::pair<void *, std::string> obtain_library(
    const std::string &key, int flags, bool &from_disk,
    const std::function<bool(const std::string &meta)> &accept,
    const std::function<std::string(const std::string &work, const std::string &so)> &build);

/// The full cache key of a kernel: everything its machine code depends on.
std::string kernel_key(const std::string &activation, const codegen::KernelSpec &spec,
                       const codegen::Schedule &schedule, const std::string &target);

} // namespace actforge::runtime
