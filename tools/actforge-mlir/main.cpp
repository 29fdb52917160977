// actforge-mlir: compiles MLIR 19 text (as codegen/mlir writes it) to objects, JIT calls and PTX.
#include "driver.hpp"

#include <llvm/Support/FileSystem.h>
#include <llvm/Support/ToolOutputFile.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using actforge::mlir_tool::UsageError;
namespace tool = actforge::mlir_tool;

constexpr int kOk = 0;
constexpr int kInputFailed = 1;
constexpr int kUsage = 2;

constexpr const char *kHelp = R"(usage: actforge-mlir <command> IN.mlir [options]

Compiles MLIR 19 modules (func, arith, math, memref, scf, cf, vector, llvm, gpu, nvvm) with the
MLIR and LLVM 19 libraries.

commands:
  verify   parse and verify; prints nothing on success
  compile  lower for x86 and write an object, assembly, LLVM IR or the LLVM dialect
  run      call one C ABI function in-process (JIT) on data from files
  ptx      lower the gpu.module for NVIDIA and write its PTX

Run 'actforge-mlir <command> --help' for a command's options.
Exit codes: 0 ok, 1 the input failed (diagnostics as FILE:LINE:COL), 2 bad usage.
)";

constexpr const char *kVerifyHelp = R"(usage: actforge-mlir verify IN.mlir

Parses and verifies IN.mlir ('-' reads stdin); prints nothing when it is valid.
)";

constexpr const char *kCompileHelp = R"(usage: actforge-mlir compile IN.mlir -o OUT --target T
                             [--emit obj|asm|llvm|mlir-llvm] [--print-pipeline]

  --target T        x86-64-avx2 (haswell), x86-64-avx512 (skylake-avx512) or host
  --emit K          obj (default: ELF relocatable, PIC), asm, llvm (LLVM IR after O3) or
                    mlir-llvm (the module in the LLVM dialect, before translation)
  --print-pipeline  print the MLIR pass pipeline (mlir-opt syntax) on stdout
Strict IEEE: no fast-math, no fp-contraction; an input with fastmath flags is rejected.
)";

constexpr const char *kRunHelp =
    R"(usage: actforge-mlir run IN.mlir --entry NAME --target T --args SPEC

Compiles IN.mlir as 'compile' does, JIT-links it and calls NAME (public, returns i32).
  --args SPEC  one item per argument, comma-separated:
               in:FILE         pointer to the bytes of FILE
               out:FILE:BYTES  pointer to BYTES zeroed bytes (and 64 guard bytes after them),
                               written to FILE after the call
               ptr:FILE        pointer to the bytes of FILE (a parameter struct)
               i64:V           the integer V
               null            a null pointer
Prints rc=<value>; exits 1 if the call wrote past an out buffer.
)";

constexpr const char *kPtxHelp =
    R"(usage: actforge-mlir ptx IN.mlir -o OUT.ptx [--chip sm_90] [--features +ptx80]
                         [--libdevice FILE] [--print-pipeline]

Lowers the one gpu.module of IN.mlir to NVVM (bare-pointer kernel arguments) and writes the PTX
of LLVM's NVPTX backend (no CUDA toolkit needed). Kernels that call libdevice (math ops) link
FILE (default /usr/local/cuda/nvvm/libdevice/libdevice.10.bc).
)";

/// Arguments of one command: flags, options with a value (--o V, --o=V, -o V), positional ones.
class Args {
public:
  Args(const std::vector<std::string> &args, const std::set<std::string> &flags,
       const std::set<std::string> &options) {
    for (std::size_t i = 0; i < args.size(); ++i) {
      std::string name = args[i];
      if (name.size() < 2 || name[0] != '-') {
        positional_.push_back(name);
        continue;
      }
      std::optional<std::string> value;
      if (const auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      }
      if (flags.contains(name) && !value) {
        flags_.insert(name);
      } else if (options.contains(name)) {
        if (!value && i + 1 == args.size()) throw UsageError{name + " needs a value"};
        options_[name] = value ? *value : args[++i];
      } else {
        throw UsageError{"unknown option '" + name + "'"};
      }
    }
  }
  bool flag(const std::string &name) const { return flags_.contains(name); }
  std::optional<std::string> option(const std::string &name) const {
    const auto it = options_.find(name);
    return it == options_.end() ? std::nullopt : std::optional(it->second);
  }
  std::string required(const std::string &name) const {
    if (auto value = option(name)) return *value;
    throw UsageError{name + " is required"};
  }
  /// The input file, or "" if none was named.
  std::string named_input() const { return positional_.empty() ? "" : positional_.front(); }
  /// The one input file.
  std::string input() const {
    if (positional_.size() != 1) throw UsageError{"name one input file"};
    return positional_.front();
  }

private:
  std::set<std::string> flags_;
  std::map<std::string, std::string> options_;
  std::vector<std::string> positional_;
};

tool::CpuTarget target_of(const Args &a) {
  const std::string name = a.required("--target");
  if (auto target = tool::cpu_target(name)) return *target;
  throw UsageError{"unknown target '" + name + "' (x86-64-avx2, x86-64-avx512, host)"};
}

tool::Emit emit_of(const Args &a) {
  const std::string kind = a.option("--emit").value_or("obj");
  if (kind == "obj") return tool::Emit::Object;
  if (kind == "asm") return tool::Emit::Assembly;
  if (kind == "llvm") return tool::Emit::LlvmIr;
  if (kind == "mlir-llvm") return tool::Emit::MlirLlvm;
  throw UsageError{"unknown --emit '" + kind + "' (obj, asm, llvm, mlir-llvm)"};
}

std::unique_ptr<llvm::ToolOutputFile> open_output(const std::string &path, bool text) {
  std::error_code ec;
  auto out = std::make_unique<llvm::ToolOutputFile>(
      path, ec, text ? llvm::sys::fs::OF_Text : llvm::sys::fs::OF_None);
  if (ec) throw actforge::Error("cannot write " + path + ": " + ec.message());
  return out;
}

int cmd_verify(const Args &a) {
  tool::Session session;
  session.parse(a.input());
  return kOk;
}

int cmd_compile(const Args &a) {
  const std::string input = a.input();
  const std::string output = a.required("-o");
  const tool::CpuTarget target = target_of(a);
  const tool::Emit emit = emit_of(a);
  tool::Session session;
  auto module = session.parse(input);
  if (a.flag("--print-pipeline"))
    std::printf("%s\n", tool::cpu_pipeline_text(session.context()).c_str());
  tool::lower_for_cpu(*module);
  auto out = open_output(output, emit != tool::Emit::Object);
  if (emit == tool::Emit::MlirLlvm) {
    module->print(out->os());
    out->os() << "\n";
  } else {
    std::unique_ptr<llvm::TargetMachine> tm = tool::make_target_machine(target);
    llvm::LLVMContext context;
    std::unique_ptr<llvm::Module> ir = tool::to_llvm_ir(*module, context, *tm);
    tool::emit_machine_code(*ir, *tm, emit, out->os());
  }
  out->keep();
  return kOk;
}

int cmd_run(const Args &a) {
  const std::string input = a.input();
  const std::string entry = a.required("--entry");
  const tool::CpuTarget target = target_of(a);
  const std::string spec = a.option("--args").value_or("");
  tool::Session session;
  auto module = session.parse(input);
  return tool::run_entry(*module, target, entry, spec) ? kOk : kInputFailed;
}

int cmd_ptx(const Args &a) {
  const std::string input = a.input();
  const std::string output = a.required("-o");
  tool::PtxOptions options;
  options.chip = a.option("--chip").value_or(options.chip);
  options.features = a.option("--features").value_or(options.features);
  options.libdevice = a.option("--libdevice").value_or(options.libdevice);
  tool::Session session;
  auto module = session.parse(input);
  const std::string ptx =
      tool::compile_ptx(*module, options, a.flag("--print-pipeline") ? &llvm::outs() : nullptr);
  auto out = open_output(output, true);
  out->os() << ptx;
  out->keep();
  return kOk;
}

struct Command {
  int (*run)(const Args &);
  const char *help;
  std::set<std::string> flags;
  std::set<std::string> options;
};

const std::map<std::string, Command> &commands() {
  static const std::map<std::string, Command> table = {
      {"verify", {cmd_verify, kVerifyHelp, {}, {}}},
      {"compile", {cmd_compile, kCompileHelp, {"--print-pipeline"}, {"-o", "--target", "--emit"}}},
      {"run", {cmd_run, kRunHelp, {}, {"--entry", "--target", "--args"}}},
      {"ptx",
       {cmd_ptx, kPtxHelp, {"--print-pipeline"}, {"-o", "--chip", "--features", "--libdevice"}}},
  };
  return table;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kHelp, args.empty() ? stderr : stdout);
    return args.empty() ? kUsage : kOk;
  }
  const std::string name = args[0];
  args.erase(args.begin());
  const auto command = commands().find(name);
  if (command == commands().end()) {
    std::fprintf(stderr, "actforge-mlir: unknown command '%s'\n\n%s", name.c_str(), kHelp);
    return kUsage;
  }
  const Command &c = command->second;
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(c.help, stdout);
    return kOk;
  }
  std::string input;
  try {
    const Args parsed(args, c.flags, c.options);
    input = parsed.named_input();
    return c.run(parsed);
  } catch (const UsageError &e) {
    std::fprintf(stderr, "actforge-mlir %s: %s\n(see 'actforge-mlir %s --help')\n", name.c_str(),
                 e.message.c_str(), name.c_str());
    return kUsage;
  } catch (const std::exception &e) { // actforge::Error; std::bad_alloc for a huge out:F:BYTES
    std::fprintf(stderr, "actforge-mlir %s: error: %s: %s\n", name.c_str(), input.c_str(),
                 e.what());
    return kInputFailed;
  }
}
