// targets/common: what every target family describes, and the one place a target name is
// resolved (x86 names and "host", ARM names, "cuda").
#pragma once

#include <Halide.h>

#include <string>
#include <string_view>
#include <vector>

namespace actforge::targets {

/// Targets of one family share a generated library (its functions dispatch among them at run
/// time); different families never do.
enum class Family { X86, Arm, Cuda };

struct TargetInfo {
  std::string name;      // x86-64-avx2, x86-64-avx512, arm-64-linux, arm-64-linux-fp16, cuda
  Halide::Target halide; // what Halide compiles for
  int vector_bits;       // natural vector width: 256, 512 (x86); 128 (NEON; GPU: one access)
  bool gpu = false;      // kernels run on a GPU and take device pointers
  Family family = Family::X86;
};

/// Any known target name: "host", x86-64-avx2, x86-64-avx512, arm-64-linux, arm-64-linux-fp16,
/// cuda. Throws actforge::Error for an unknown name, listing the known ones.
TargetInfo resolve(std::string_view name);

/// The short name of a target in kernel and function names: avx2, avx512, neon, fp16, cuda.
std::string isa(std::string_view name);

/// "x86", "arm", "cuda".
const char *to_string(Family f);

/// The names of a family, least capable first (the order its dispatch tries them in reverse).
std::vector<std::string> family_names(Family f);

/// Every target name a user may give, "host" first.
std::vector<std::string> known_names();

} // namespace actforge::targets
