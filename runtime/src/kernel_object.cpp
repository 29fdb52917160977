// compile_kernel_object(), compile_runtime_object(), link_shared_object().
#include "kernel_object.hpp"

#include "actforge/error.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/targets/process.hpp"
#include "actforge/targets/program.hpp"
#include "actforge/targets/target.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace actforge::runtime {

std::string kernel_name(const std::string &activation, const codegen::KernelSpec &spec,
                        const std::string &target, const codegen::Schedule &schedule) {
  return kernel_stem(activation, spec) + "_" + targets::isa(target) + "_" + schedule.describe();
}

std::string kernel_stem(const std::string &activation, const codegen::KernelSpec &spec) {
  return activation + "_" + std::string(codegen::short_name(spec.role)) +
         (spec.uniform_g ? "_rng" : "") +
         (spec.layout == codegen::Layout::Channels ? "_ch_"
          : spec.layout == codegen::Layout::Halves ? "_half_"
                                                   : "_") +
         std::string(codegen::to_string(spec.dtype));
}

KernelInterface describe_kernel(const std::string &activation, const codegen::KernelSpec &spec,
                                const codegen::Schedule &schedule,
                                const targets::TargetInfo &target) {
  KernelInterface k;
  k.symbol = kernel_name(activation, spec, target.name, schedule);
  k.spec = spec;
  k.schedule = schedule;
  k.target = target.name;
  k.storage = codegen::halide::storage_type(spec.dtype);
  for (const auto &p : ir::collect_params(spec.expr)) {
    k.param_names.push_back(p.name);
    k.defaults.push_back(p.default_value
                             ? std::optional<double>(static_cast<double>(*p.default_value))
                             : std::nullopt);
  }
  return k;
}

namespace {

// PTX's mul/add/sub without a rounding modifier may be fused into fma by ptxas, and LLVM's
// NVPTX back end writes them so unless its FMA level is 0. Our kernels' error analysis (and the
// double-word arithmetic of the x·f(x) family) counts one rounding per operation: contraction
// cost gelu_tanh 5 ulp on an H100. Halide reads HL_LLVM_ARGS once, when it first starts LLVM,
// so this runs before any compile of ours. compile_kernel_object() verifies the result.
void forbid_ptx_contraction() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char *given = std::getenv("HL_LLVM_ARGS");
    std::string args = given ? given : "";
    if (args.find("nvptx-fma-level") == std::string::npos)
      ::setenv("HL_LLVM_ARGS", (args + (args.empty() ? "" : " ") + "-nvptx-fma-level=0").c_str(),
               1);
  });
}

// An arithmetic instruction ptxas may contract: "mul.f32 ", "add.f64 ", ... (not ".rn").
bool contractible(const std::string &ptx) {
  for (const char *op :
       {"\tmul.f32 ", "\tadd.f32 ", "\tsub.f32 ", "\tmul.f64 ", "\tadd.f64 ", "\tsub.f64 "})
    if (ptx.find(op) != std::string::npos) return true;
  return false;
}

} // namespace

Halide::Target kernel_object_target(const targets::TargetInfo &target) {
  using F = Halide::Target::Feature;
  return targets::halide_target(target)
      .with_feature(F::NoRuntime)
      .with_feature(F::NoAsserts)
      .with_feature(F::NoBoundsQuery);
}

KernelInterface compile_kernel_object(const std::string &activation,
                                      const codegen::KernelSpec &spec,
                                      const codegen::Schedule &schedule,
                                      const targets::TargetInfo &target,
                                      const std::string &object_path) {
  forbid_ptx_contraction();
  KernelInterface k = describe_kernel(activation, spec, schedule, target);
  const Halide::Target t = kernel_object_target(target);
  try {
    codegen::halide::Pipeline p = codegen::halide::build_pipeline(spec, schedule);
    k.inputs = p.inputs;
    k.outputs = p.outputs;
    k.params_f64 = !p.params_f64.empty();
    if (!target.gpu) {
      p.pipeline.compile_to({{Halide::OutputFileType::object, object_path}}, p.arguments(),
                            k.symbol, t);
      return k;
    }
    const std::string aligned = object_path + ".aligned.o", unaligned = object_path + ".any.o";
    p.pipeline.compile_to({{Halide::OutputFileType::object, aligned}}, p.arguments(), k.symbol, t);
    codegen::halide::Pipeline q = codegen::halide::build_pipeline(spec, schedule.unaligned());
    q.pipeline.compile_to({{Halide::OutputFileType::object, unaligned}}, q.arguments(),
                          k.symbol + "_unaligned", t);
    link_relocatable({aligned, unaligned}, object_path);
    ::unlink(aligned.c_str());
    ::unlink(unaligned.c_str());
    for (const std::string &ptx : embedded_ptx(object_path))
      if (contractible(ptx))
        throw Error("the PTX of " + k.symbol +
                    " has arithmetic that ptxas may fuse into fma: LLVM was started before "
                    "Actforge could set -nvptx-fma-level=0 (compile a cuda kernel first, or set "
                    "HL_LLVM_ARGS=-nvptx-fma-level=0)");
  } catch (const Halide::Error &e) {
    throw Error("Halide could not compile " + k.symbol + ": " + e.what());
  }
  return k;
}

targets::TargetInfo runtime_target(const std::vector<std::string> &targets) {
  if (targets.empty()) throw Error("no target to build a Halide runtime for");
  bool gpu = false, arm = false;
  std::vector<std::string> cpu;
  for (const auto &t : targets) {
    const targets::TargetInfo info = targets::resolve(t);
    gpu = gpu || info.gpu;
    arm = arm || info.family == targets::Family::Arm;
    if (!info.gpu) cpu.push_back(info.name);
  }
  if (arm && cpu.size() != targets.size())
    throw Error("ARM kernels cannot share a Halide runtime with kernels of another family");
  // The least capable CPU target of the family (the host side of GPU kernels is x86 AVX2).
  const auto names = targets::family_names(arm ? targets::Family::Arm : targets::Family::X86);
  targets::TargetInfo runtime = targets::resolve(names.front());
  for (const auto &name : names)
    if (std::find(cpu.begin(), cpu.end(), name) != cpu.end()) {
      runtime = targets::resolve(name);
      break;
    }
  if (gpu) runtime.halide = runtime.halide.with_feature(Halide::Target::CUDA);
  return runtime;
}

std::vector<std::string> embedded_ptx(const std::string &object_path) {
  std::FILE *f = std::fopen(object_path.c_str(), "rb");
  if (!f) throw Error("cannot read " + object_path + ": " + std::strerror(errno));
  std::string bytes;
  char buf[65536];
  for (std::size_t got; (got = std::fread(buf, 1, sizeof buf, f)) > 0;)
    bytes.append(buf, got);
  std::fclose(f);
  // Halide embeds each PTX module as NUL-terminated text that LLVM's NVPTX back end begins so.
  static const std::string banner = "//\n// Generated by LLVM NVPTX Back-End";
  std::vector<std::string> modules;
  for (std::size_t at = bytes.find(banner); at != std::string::npos;
       at = bytes.find(banner, at + 1)) {
    const std::size_t end = bytes.find('\0', at);
    modules.push_back(bytes.substr(at, end == std::string::npos ? end : end - at));
  }
  return modules;
}

void compile_runtime_object(const targets::TargetInfo &target, const std::string &path) {
  forbid_ptx_contraction();
  try {
    Halide::compile_standalone_runtime(path, targets::halide_target(target));
  } catch (const Halide::Error &e) {
    throw Error("Halide could not build its runtime for " + target.name + ": " + e.what());
  }
}

namespace {

void run_linker(std::vector<std::string> args, const std::vector<std::string> &objects,
                const std::string &output) {
  static const std::string ld = targets::find_program("ld");
  if (ld.empty())
    throw Error("Actforge links JIT kernels with the system linker, but no 'ld' is on PATH "
                "(install binutils)");
  args.insert(args.begin(), ld);
  args.insert(args.end(), {"-o", output});
  args.insert(args.end(), objects.begin(), objects.end());
  targets::run_program(args, "the linker failed to make " + output);
}

} // namespace

void link_shared_object(const std::vector<std::string> &objects, const std::string &output) {
  run_linker({"-shared", "-Bsymbolic", "-z", "noexecstack"}, objects, output);
}

void link_relocatable(const std::vector<std::string> &objects, const std::string &output) {
  run_linker({"-r"}, objects, output);
}

const char *halide_version() { return ACTFORGE_HALIDE_VERSION; }

} // namespace actforge::runtime
