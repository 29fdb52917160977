// targets/common: what every target family describes, and the one place a target name is
// resolved (x86 names and "host", then "cuda").
#pragma once

#include <Halide.h>

#include <string>
#include <string_view>
#include <vector>

namespace actforge::targets {

struct TargetInfo {
  std::string name;      // x86-64-avx2, x86-64-avx512, cuda
  Halide::Target halide; // what Halide compiles for
  int vector_bits;       // natural vector width: 256, 512 (CPU); 128 (GPU: one 128-bit access)
  bool gpu = false;      // kernels run on a GPU and take device pointers
};

/// Any known target name: "host", x86-64-avx2, x86-64-avx512, cuda. Throws actforge::Error for
/// an unknown name, listing the known ones.
TargetInfo resolve(std::string_view name);

/// Every target name a user may give, "host" first.
std::vector<std::string> known_names();

} // namespace actforge::targets
