// targets/arm: AArch64 (ARMv8-A NEON) Linux and Android, generated on this x86-64 machine.
//
// Names: "arm-64-linux" (ARMv8.0-A: NEON, every AArch64 core) and "arm-64-linux-fp16" (ARMv8.2-A
// half-precision arithmetic, FEAT_FP16: Halide's ARMFp16; dispatched by HWCAP_FPHP and
// HWCAP_ASIMDHP). Natural width 128 bits: 4 f32, 2 f64 a register; f16 and bf16 are stored in
// 16 bits and computed in f32 (8 elements: two .4s registers), as on x86, so the accuracy of
// every kernel is the same on both families. Kernels are strict float (Halide may not reassociate
// or contract our arithmetic). Halide 14's ARMDotProd is not offered: no activation kernel has an
// integer dot product, so its code would be arm-64-linux's.
//
// What runs here: ARM kernels are generated here (AOT objects, never loaded into this x86-64
// process); they run under qemu-aarch64 with the cross toolchain's sysroot. cross_tools() finds
// the Debian cross tools (g++-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user) and says
// what is missing.
#pragma once

#include "actforge/targets/target.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace actforge::targets::arm {

/// The ARM target names, least capable first: arm-64-linux, arm-64-linux-fp16.
const std::vector<std::string> &names();
bool is_arm(std::string_view name);

/// Throws actforge::Error for a name that is_arm() refuses.
TargetInfo resolve(std::string_view name);

/// The cross tools that build and run AArch64 programs here.
struct CrossTools {
  std::string cc;      // aarch64-linux-gnu-gcc
  std::string cxx;     // aarch64-linux-gnu-g++
  std::string objdump; // aarch64-linux-gnu-objdump
  std::string qemu;    // qemu-aarch64 (or qemu-aarch64-static)
  std::string sysroot; // /usr/aarch64-linux-gnu: qemu's -L, where the dynamic loader lives
  std::string problem; // empty when all of them are there; else what is missing and how to get it
};

/// Found once on PATH (ACTFORGE_AARCH64_PREFIX overrides the "aarch64-linux-gnu-" prefix,
/// ACTFORGE_QEMU_AARCH64 the emulator, ACTFORGE_AARCH64_SYSROOT the sysroot).
const CrossTools &cross_tools();

} // namespace actforge::targets::arm
