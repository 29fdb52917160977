// The CPU lowering: func/arith/math/memref/scf/vector to the LLVM dialect, one pass a line.
#include "driver.hpp"

#include <mlir/Conversion/ArithToLLVM/ArithToLLVM.h>
#include <mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h>
#include <mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h>
#include <mlir/Conversion/MathToLLVM/MathToLLVM.h>
#include <mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h>
#include <mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h>
#include <mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h>
#include <mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h>
#include <mlir/Conversion/VectorToSCF/VectorToSCF.h>
#include <mlir/Dialect/Arith/Transforms/Passes.h>
#include <mlir/Dialect/MemRef/Transforms/Passes.h>
#include <mlir/Pass/PassManager.h>
#include <mlir/Transforms/Passes.h>

namespace actforge::mlir_tool {
namespace {

void add_cpu_passes(mlir::PassManager &pm) {
  pm.addPass(mlir::createInlinerPass());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  pm.addPass(mlir::createConvertVectorToSCFPass());
  pm.addPass(mlir::createConvertSCFToCFPass());
  // No math polynomial approximation: the kernels bring their own primitives. Nor log1p(x) as
  // log(1 + x) (the pass's default), which loses every digit near 0: a math.log1p that is left
  // stops the translation with a diagnostic instead.
  pm.addPass(mlir::createConvertMathToLLVMPass({/*approximateLog1p=*/false}));
  // bf16 truncf/extf as integer operations: x86 before AVX512-BF16 has no instruction for them.
  pm.addPass(mlir::arith::createArithExpandOpsPass({/*includeBf16=*/true}));
  pm.addPass(mlir::createConvertVectorToLLVMPass());
  pm.addPass(mlir::memref::createExpandStridedMetadataPass());
  // memref before arith: memref.dim with an arith.constant index folds to a descriptor field;
  // once arith is lowered the index is an llvm.mlir.constant and the sizes go through an alloca.
  pm.addPass(mlir::createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(mlir::createArithToLLVMConversionPass());
  pm.addPass(mlir::createConvertFuncToLLVMPass());
  pm.addPass(mlir::createConvertControlFlowToLLVMPass());
  pm.addPass(mlir::createReconcileUnrealizedCastsPass());
}

} // namespace

std::string cpu_pipeline_text(mlir::MLIRContext &context) {
  mlir::PassManager pm(&context, mlir::ModuleOp::getOperationName());
  add_cpu_passes(pm);
  std::string text;
  llvm::raw_string_ostream os(text);
  pm.printAsTextualPipeline(os);
  return text;
}

void lower_for_cpu(mlir::ModuleOp module) {
  mlir::PassManager pm(module.getContext(), mlir::ModuleOp::getOperationName());
  add_cpu_passes(pm);
  if (mlir::failed(pm.run(module))) throw Error("the CPU lowering to the LLVM dialect failed");
}

} // namespace actforge::mlir_tool
