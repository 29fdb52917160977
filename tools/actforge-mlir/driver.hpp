// actforge-mlir's compile steps: parse an MLIR 19 module, lower it for x86 or NVIDIA, emit or run.
//
// This is MLIR/LLVM 19 code: it must never be linked with Halide (LLVM 14). Errors of the input
// are printed as MLIR diagnostics (FILE:LINE:COL: error: ...) and then thrown as actforge::Error;
// usage mistakes are thrown as UsageError.
#pragma once

#include "actforge/error.hpp"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <mlir/IR/BuiltinOps.h>
#include <mlir/IR/Diagnostics.h>
#include <mlir/IR/MLIRContext.h>
#include <mlir/IR/OwningOpRef.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace actforge::mlir_tool {

/// A usage mistake (a bad option value, --args that do not fit the entry): exit code 2.
struct UsageError {
  std::string message;
};

/// An MLIR context with the dialects actforge-mlir accepts (builtin, func, arith, math, memref,
/// scf, cf, vector, llvm, gpu, nvvm) and their lowerings and translations. Its diagnostics print
/// as FILE:LINE:COL: error: MESSAGE, with the source line.
class Session {
public:
  Session();
  /// Parses and verifies `path`.
  mlir::OwningOpRef<mlir::ModuleOp> parse(const std::string &path);
  mlir::MLIRContext &context() { return context_; }

private:
  mlir::MLIRContext context_;
  llvm::SourceMgr sources_;
  mlir::SourceMgrDiagnosticHandler diagnostics_;
};

/// An x86 target: `x86-64-avx2` (haswell), `x86-64-avx512` (skylake-avx512) or `host`.
struct CpuTarget {
  std::string name;
  std::string triple;
  std::string cpu;
  std::string features; ///< "+avx2,+fma,..."
};
std::optional<CpuTarget> cpu_target(std::string_view name);

/// The CPU lowering to the LLVM dialect, as mlir-opt pipeline text.
std::string cpu_pipeline_text(mlir::MLIRContext &context);
/// Runs the CPU lowering on `module` (in place).
void lower_for_cpu(mlir::ModuleOp module);

/// A TargetMachine for `t`: PIC, -O3 code generation, strict IEEE (no fp-contraction).
std::unique_ptr<llvm::TargetMachine> make_target_machine(const CpuTarget &t);
/// The lowered module as LLVM IR for `tm`: triple, data layout, target cpu and features on every
/// function, LLVM's O3 pipeline. Throws if any instruction carries fast-math flags.
std::unique_ptr<llvm::Module> to_llvm_ir(mlir::ModuleOp module, llvm::LLVMContext &context,
                                         llvm::TargetMachine &tm);
enum class Emit { Object, Assembly, LlvmIr, MlirLlvm };
void emit_machine_code(llvm::Module &module, llvm::TargetMachine &tm, Emit kind,
                       llvm::raw_pwrite_stream &out);

/// Calls `entry` of the (not yet lowered) `module` in-process through mlir::ExecutionEngine,
/// compiled as `compile` would compile it. `spec`: one item per C argument, comma-separated:
/// in:FILE, out:FILE:BYTES, ptr:FILE, i64:V, null. Prints rc=<value>; returns false (after a
/// message) when the call wrote past an out buffer.
bool run_entry(mlir::ModuleOp module, const CpuTarget &target, const std::string &entry,
               const std::string &spec);

/// The NVIDIA path: one gpu.module lowered to NVVM with bare-pointer kernel arguments and
/// serialized to PTX by LLVM's NVPTX backend; `libdevice` is linked when the kernel calls it.
/// Returns the PTX text. Prints the two pass pipelines it runs to `print_pipeline` if given.
struct PtxOptions {
  std::string chip = "sm_90";
  std::string features = "+ptx80";
  std::string libdevice = "/usr/local/cuda/nvvm/libdevice/libdevice.10.bc";
};
std::string compile_ptx(mlir::ModuleOp module, const PtxOptions &options,
                        llvm::raw_ostream *print_pipeline = nullptr);

} // namespace actforge::mlir_tool
