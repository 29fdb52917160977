// targets/x86: the x86-64 target names, their Halide targets and natural vector widths, and what
// this CPU can run.
//
// Names: "x86-64-avx2" (AVX2 + FMA + F16C), "x86-64-avx512" (Skylake-server AVX-512: F, CD, VL,
// BW, DQ) and "host" (the best of those this CPU supports). Kernels for a target the CPU lacks
// can be generated (AOT) but not run: a host without AVX-512 runs the AVX2 kernel.
#pragma once

#include "actforge/targets/target.hpp"

#include <Halide.h>

#include <string>
#include <string_view>
#include <vector>

namespace actforge::targets::x86 {

using targets::TargetInfo; // name x86-64-avx2 or x86-64-avx512, vector_bits 256 or 512

/// The x86 target names Actforge knows, best last.
const std::vector<std::string> &names();

/// "host" resolves to the best target this CPU supports. Throws actforge::Error for an
/// unknown name, listing the known ones.
TargetInfo resolve(std::string_view name);

/// Whether this CPU (and OS: XSAVE-enabled register state) can run code for `name`.
bool cpu_supports(std::string_view name);

} // namespace actforge::targets::x86
