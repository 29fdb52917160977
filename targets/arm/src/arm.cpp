// ARM targets: names, Halide targets, and the cross tools that build and run them here.
#include "actforge/targets/arm.hpp"

#include "actforge/error.hpp"
#include "actforge/targets/program.hpp"

#include <cstdlib>
#include <filesystem>

namespace actforge::targets::arm {
namespace {

TargetInfo make(const std::string &name) {
  using F = Halide::Target::Feature;
  Halide::Target t(Halide::Target::Linux, Halide::Target::ARM, 64);
  t = t.with_feature(F::StrictFloat);
  if (name == "arm-64-linux-fp16") t = t.with_feature(F::ARMFp16);
  return {name, t, 128, false, Family::Arm};
}

std::string env_or(const char *name, std::string fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

CrossTools find_tools() {
  CrossTools t;
  const std::string prefix = env_or("ACTFORGE_AARCH64_PREFIX", "aarch64-linux-gnu-");
  std::vector<std::string> missing;
  auto need = [&](std::string &field, const std::string &program, const char *package) {
    field = find_program(program);
    if (field.empty()) missing.push_back(program + " (Debian package " + package + ")");
  };
  need(t.cc, prefix + "gcc", "gcc-aarch64-linux-gnu");
  need(t.cxx, prefix + "g++", "g++-aarch64-linux-gnu");
  need(t.objdump, prefix + "objdump", "binutils-aarch64-linux-gnu");
  if (const char *q = std::getenv("ACTFORGE_QEMU_AARCH64"); q && *q) {
    need(t.qemu, q, "qemu-user");
  } else {
    t.qemu = find_program("qemu-aarch64");
    if (t.qemu.empty()) t.qemu = find_program("qemu-aarch64-static");
    if (t.qemu.empty()) missing.push_back("qemu-aarch64 (Debian package qemu-user)");
  }
  t.sysroot = env_or("ACTFORGE_AARCH64_SYSROOT", "/usr/aarch64-linux-gnu");
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(t.sysroot) / "lib" / "ld-linux-aarch64.so.1",
                               ec))
    missing.push_back(t.sysroot + "/lib/ld-linux-aarch64.so.1 (Debian package "
                                  "libc6-dev-arm64-cross)");
  if (!missing.empty()) {
    t.problem = "the AArch64 cross tools are missing: ";
    for (std::size_t i = 0; i < missing.size(); ++i)
      t.problem += (i ? ", " : "") + missing[i];
  }
  return t;
}

} // namespace

const std::vector<std::string> &names() {
  static const std::vector<std::string> n{"arm-64-linux", "arm-64-linux-fp16"};
  return n;
}

bool is_arm(std::string_view name) {
  for (const auto &n : names())
    if (n == name) return true;
  return false;
}

TargetInfo resolve(std::string_view name) {
  if (!is_arm(name))
    throw Error("unknown ARM target '" + std::string(name) +
                "' (known: arm-64-linux, arm-64-linux-fp16)");
  return make(std::string(name));
}

const CrossTools &cross_tools() {
  static const CrossTools t = find_tools();
  return t;
}

} // namespace actforge::targets::arm
