// x86 targets: names, Halide targets, and CPU feature detection through cpuid/xgetbv.
#include "actforge/targets/x86.hpp"

#include "actforge/error.hpp"

#include <cpuid.h>

namespace actforge::targets::x86 {
namespace {

struct Features {
  bool avx2 = false, fma = false, f16c = false, avx512 = false;
};

// cpuid says what the core implements; xgetbv says whether the OS saves the wide registers.
Features detect() {
  Features f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & bit_OSXSAVE, avx = c & bit_AVX;
  f.fma = c & bit_FMA;
  f.f16c = c & bit_F16C;
  if (!osxsave || !avx) return f;
  unsigned lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const bool ymm = (lo & 0x6) == 0x6, zmm = (lo & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = ymm && (b & bit_AVX2);
  f.avx512 = zmm && (b & bit_AVX512F) && (b & bit_AVX512CD) && (b & bit_AVX512VL) &&
             (b & bit_AVX512BW) && (b & bit_AVX512DQ);
  return f;
}

const Features &features() {
  static const Features f = detect();
  return f;
}

TargetInfo make(const std::string &name) {
  using F = Halide::Target::Feature;
  Halide::Target t(Halide::Target::Linux, Halide::Target::X86, 64);
  t = t.with_feature(F::SSE41)
          .with_feature(F::AVX)
          .with_feature(F::AVX2)
          .with_feature(F::FMA)
          .with_feature(F::F16C)
          .with_feature(F::StrictFloat);
  if (name == "x86-64-avx512")
    return {name, t.with_feature(F::AVX512).with_feature(F::AVX512_Skylake), 512};
  return {name, t, 256};
}
} // namespace

const std::vector<std::string> &names() {
  static const std::vector<std::string> n{"x86-64-avx2", "x86-64-avx512"};
  return n;
}

bool cpu_supports(std::string_view name) {
  const Features &f = features();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  if (name == "x86-64-avx2") return avx2;
  if (name == "x86-64-avx512") return avx2 && f.avx512;
  if (name == "host") return true;
  return false;
}

TargetInfo resolve(std::string_view name) {
  if (name == "host") {
    for (auto it = names().rbegin(); it != names().rend(); ++it)
      if (cpu_supports(*it)) return make(*it);
    throw Error("this CPU has no AVX2: Actforge's x86 kernels need at least x86-64-avx2");
  }
  for (const auto &n : names())
    if (n == name) return make(n);
  std::string known = "host";
  for (const auto &n : names())
    known += ", " + n;
  throw Error("unknown target '" + std::string(name) + "' (known: " + known + ")");
}

} // namespace actforge::targets::x86
