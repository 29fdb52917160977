// targets/common: what every target family describes, and the one place a target name is
// resolved (x86 names and "host", ARM names, "cuda", "fpga").
#pragma once

#include <Halide.h>

#include <string>
#include <string_view>
#include <vector>

namespace actforge::targets {

/// Targets of one family share a generated library (its functions dispatch among them at run
/// time); different families never do.
enum class Family { X86, Arm, Cuda, Fpga };

struct TargetInfo {
  std::string name;      // x86-64-avx2, x86-64-avx512, arm-64-linux, arm-64-linux-fp16, cuda, fpga
  Halide::Target halide; // what Halide compiles for; Halide::Target() for fpga: see halide_target()
  int vector_bits;       // natural width: 256, 512 (x86); 128 (NEON; GPU: one access); 32 (FPGA:
                         // one f32 element a clock cycle)
  bool gpu = false;      // kernels run on a GPU and take device pointers
  Family family = Family::X86;
};

/// Any known target name: "host", x86-64-avx2, x86-64-avx512, arm-64-linux, arm-64-linux-fp16,
/// cuda, fpga. Throws actforge::Error for an unknown name, listing the known ones.
TargetInfo resolve(std::string_view name);

/// info.halide, for code that compiles with Halide. Throws actforge::Error for a target that has
/// no Halide target (fpga: its kernels are C written by codegen/hls).
const Halide::Target &halide_target(const TargetInfo &info);

/// The short name of a target in kernel and function names: avx2, avx512, neon, fp16, cuda, fpga.
std::string isa(std::string_view name);

/// "x86", "arm", "cuda", "fpga".
const char *to_string(Family f);

/// The names of a family, least capable first (the order its dispatch tries them in reverse).
std::vector<std::string> family_names(Family f);

/// Every target name a user may give, "host" first.
std::vector<std::string> known_names();

} // namespace actforge::targets
