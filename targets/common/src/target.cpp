// resolve(): a target name to its family's description.
#include "actforge/targets/target.hpp"

#include "actforge/error.hpp"
#include "actforge/targets/arm.hpp"
#include "actforge/targets/cuda.hpp"
#include "actforge/targets/fpga.hpp"
#include "actforge/targets/x86.hpp"

namespace actforge::targets {

TargetInfo resolve(std::string_view name) {
  if (cuda::is_cuda(name)) return cuda::resolve(name);
  if (fpga::is_fpga(name)) return fpga::resolve(name);
  if (arm::is_arm(name)) return arm::resolve(name);
  if (name == "host") return x86::resolve(name);
  for (const auto &n : x86::names())
    if (n == name) return x86::resolve(name);
  std::string known;
  for (const auto &n : known_names())
    known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown target '" + std::string(name) + "' (known: " + known + ")");
}

const Halide::Target &halide_target(const TargetInfo &info) {
  if (info.family == Family::Fpga)
    throw Error("the " + info.name +
                " target has no Halide target: it writes C: use `actforge gen --target fpga`");
  return info.halide;
}

std::string isa(std::string_view name) {
  if (name == "arm-64-linux") return "neon";
  const auto dash = name.rfind('-'); // x86-64-avx2, arm-64-linux-fp16, cuda
  return std::string(dash == std::string_view::npos ? name : name.substr(dash + 1));
}

const char *to_string(Family f) {
  switch (f) {
  case Family::X86: return "x86";
  case Family::Arm: return "arm";
  case Family::Cuda: return "cuda";
  case Family::Fpga: return "fpga";
  }
  return "?";
}

std::vector<std::string> family_names(Family f) {
  switch (f) {
  case Family::X86: return x86::names();
  case Family::Arm: return arm::names();
  case Family::Cuda: return cuda::names();
  case Family::Fpga: return fpga::names();
  }
  return {};
}

std::vector<std::string> known_names() {
  std::vector<std::string> names{"host"};
  for (Family f : {Family::X86, Family::Arm, Family::Cuda, Family::Fpga})
    for (const auto &n : family_names(f))
      names.push_back(n);
  return names;
}

} // namespace actforge::targets
