// Maxout kernel objects: the one place that names and compiles them, for jit_maxout() (disk
// cache), run_maxout_cross() (ARM under qemu) and aot::generate() (C libraries).
#pragma once

#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/codegen/schedule.hpp"
#include "actforge/targets/target.hpp"

#include <string>

namespace actforge::runtime {

/// "maxout_fwd_k4_f32_avx512_v16u2p0": role, k, dtype, the target's ISA, the schedule.
std::string maxout_symbol(codegen::Role role, int k, codegen::DType dtype,
                          const std::string &target, const codegen::Schedule &schedule);

/// The default schedule of a maxout kernel: one vector register of the storage type, unrolled
/// twice, serial.
codegen::Schedule maxout_default_schedule(const targets::TargetInfo &target, codegen::DType dtype);

/// Compiles maxout's `role` kernel to a no-runtime object at `object_path` whose C entry is
/// `symbol` (and `symbol`_argv). Throws actforge::Error (k outside 2..16, a role other than
/// forward or backward, Halide's message).
void compile_maxout_object(codegen::Role role, codegen::DType dtype, int k,
                           const codegen::Schedule &schedule, const targets::TargetInfo &target,
                           const std::string &symbol, const std::string &object_path);

} // namespace actforge::runtime
