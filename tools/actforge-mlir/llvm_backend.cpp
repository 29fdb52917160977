// From the LLVM dialect to x86 machine code: target machines, translation, O3, emission.
#include "driver.hpp"

#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/IR/InstIterator.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Operator.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/TargetParser/Host.h>
#include <mlir/Target/LLVMIR/Export.h>

namespace actforge::mlir_tool {
namespace {

constexpr const char *kX86Triple = "x86_64-unknown-linux-gnu";

std::string host_features() {
  std::string features;
  for (const auto &[name, enabled] : llvm::sys::getHostCPUFeatures())
    features += (features.empty() ? "" : ",") + std::string(enabled ? "+" : "-") + name.str();
  return features;
}

std::string describe(const llvm::Instruction &inst) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "@" << inst.getFunction()->getName() << ": `" << inst << "`";
  return text;
}

// The kernels rely on the IEEE rounding of every operation: no fast-math flag may reach LLVM
// (contract would fuse a*b+c, afn would approximate), nor llvm.fmuladd, whose rounding LLVM may
// choose (constant folding fuses it, code generation under FPOpFusion::Strict does not).
// LLVM's passes add no such flag of their own, so checking the translated module is enough.
void check_strict_fp(const llvm::Module &module) {
  for (const llvm::Function &f : module) {
    for (const char *attr : {"unsafe-fp-math", "no-nans-fp-math", "no-infs-fp-math",
                             "no-signed-zeros-fp-math", "approx-func-fp-math"})
      if (f.getFnAttribute(attr).getValueAsString() == "true")
        throw Error("@" + f.getName().str() + " has the attribute " + attr +
                    "=true: the kernels need IEEE semantics");
    for (const llvm::Instruction &inst : llvm::instructions(f)) {
      if (const auto *fp = llvm::dyn_cast<llvm::FPMathOperator>(&inst);
          fp && fp->getFastMathFlags().any())
        throw Error(describe(inst) + " has fast-math flags: the kernels need the IEEE rounding of "
                                     "every operation (remove fastmath<...> from the MLIR op)");
      if (const auto *call = llvm::dyn_cast<llvm::IntrinsicInst>(&inst);
          call && call->getIntrinsicID() == llvm::Intrinsic::fmuladd)
        throw Error(describe(inst) + " leaves the choice between fused and unfused rounding to "
                                     "LLVM (vector.fma lowers to it): write math.fma for a fused "
                                     "multiply-add, or arith.mulf and arith.addf");
    }
  }
}

void optimize_o3(llvm::Module &module, llvm::TargetMachine &tm) {
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = true;
  tuning.LoopInterleaving = true;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder builder(&tm, tuning);
  // Declared in this order so that they are destroyed in the right one.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(module, mam);
}

} // namespace

std::optional<CpuTarget> cpu_target(std::string_view name) {
  if (name == "x86-64-avx2")
    return CpuTarget{std::string(name), kX86Triple, "haswell", "+avx2,+fma,+f16c"};
  if (name == "x86-64-avx512")
    return CpuTarget{std::string(name), kX86Triple, "skylake-avx512",
                     "+avx512f,+avx512cd,+avx512bw,+avx512dq,+avx512vl"};
  if (name == "host")
    return CpuTarget{std::string(name), llvm::sys::getProcessTriple(),
                     llvm::sys::getHostCPUName().str(), host_features()};
  return std::nullopt;
}

std::unique_ptr<llvm::TargetMachine> make_target_machine(const CpuTarget &t) {
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(t.triple, error);
  if (!target) throw Error("no LLVM target for " + t.triple + ": " + error);
  llvm::TargetOptions options;
  options.AllowFPOpFusion = llvm::FPOpFusion::Strict;
  std::unique_ptr<llvm::TargetMachine> tm(
      target->createTargetMachine(t.triple, t.cpu, t.features, options, llvm::Reloc::PIC_,
                                  std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm) throw Error("cannot create an LLVM target machine for " + t.name);
  return tm;
}

std::unique_ptr<llvm::Module> to_llvm_ir(mlir::ModuleOp module, llvm::LLVMContext &context,
                                         llvm::TargetMachine &tm) {
  std::unique_ptr<llvm::Module> ir = mlir::translateModuleToLLVMIR(module, context);
  if (!ir) throw Error("the translation to LLVM IR failed");
  ir->setTargetTriple(tm.getTargetTriple().str());
  ir->setDataLayout(tm.createDataLayout());
  // As clang does: the IR names the CPU it was optimised for, and each function is compiled for it.
  for (llvm::Function &f : *ir) {
    if (f.isDeclaration()) continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    f.addFnAttr("target-features", tm.getTargetFeatureString());
  }
  check_strict_fp(*ir);
  optimize_o3(*ir, tm);
  return ir;
}

void emit_machine_code(llvm::Module &module, llvm::TargetMachine &tm, Emit kind,
                       llvm::raw_pwrite_stream &out) {
  if (kind == Emit::LlvmIr) {
    module.print(out, nullptr);
    return;
  }
  llvm::legacy::PassManager pm;
  const auto type = kind == Emit::Object ? llvm::CodeGenFileType::ObjectFile
                                         : llvm::CodeGenFileType::AssemblyFile;
  if (tm.addPassesToEmitFile(pm, out, nullptr, type))
    throw Error("LLVM cannot emit this file type for " + tm.getTargetTriple().str());
  pm.run(module);
}

} // namespace actforge::mlir_tool
