// `ptx`: a gpu.module lowered to NVVM and serialized to PTX by LLVM 19's NVPTX backend.
#include "driver.hpp"

#include <mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h>
#include <mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h>
#include <mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h>
#include <mlir/Dialect/GPU/IR/GPUDialect.h>
#include <mlir/Dialect/GPU/Transforms/Passes.h>
#include <mlir/Dialect/LLVMIR/LLVMDialect.h>
#include <mlir/Pass/PassManager.h>
#include <mlir/Transforms/Passes.h>

#include <llvm/Support/FileSystem.h>

#include <vector>

namespace actforge::mlir_tool {
namespace {

mlir::gpu::GPUModuleOp the_gpu_module(mlir::ModuleOp module) {
  auto gpu_modules = llvm::to_vector(module.getOps<mlir::gpu::GPUModuleOp>());
  if (gpu_modules.size() != 1) {
    mlir::emitError(module.getLoc()) << "expected one gpu.module, found " << gpu_modules.size();
    throw Error("ptx writes the PTX of one gpu.module");
  }
  return gpu_modules.front();
}

// With the bare-pointer convention a kernel's memref argument becomes one pointer, which MLIR 19
// can only do for static shapes; it would fail with "failed to legalize operation 'gpu.func'".
void check_kernel_arguments(mlir::gpu::GPUModuleOp gpu_module) {
  bool ok = true;
  gpu_module.walk([&](mlir::gpu::GPUFuncOp fn) {
    for (auto [i, type] : llvm::enumerate(fn.getArgumentTypes())) {
      auto memref = llvm::dyn_cast<mlir::MemRefType>(type);
      if (!memref || memref.hasStaticShape()) continue;
      mlir::emitError(fn.getLoc())
          << "argument " << i << " is " << type
          << ": a kernel takes !llvm.ptr (and builds its memref from it, as the C ABI "
             "wrappers do) or a static-shaped memref (bare-pointer convention)";
      ok = false;
    }
  });
  if (!ok) throw Error("the kernel arguments do not fit the bare-pointer convention");
}

void add_nvvm_lowering(mlir::PassManager &pm) {
  mlir::OpPassManager &in_gpu = pm.nest<mlir::gpu::GPUModuleOp>();
  in_gpu.addPass(mlir::createConvertSCFToCFPass());
  mlir::ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.useBarePtrCallConv = true;
  in_gpu.addPass(mlir::createConvertGpuOpsToNVVMOps(nvvm));
  in_gpu.addPass(mlir::createCanonicalizerPass());
  in_gpu.addPass(mlir::createCSEPass());
  in_gpu.addPass(mlir::createReconcileUnrealizedCastsPass());
}

void add_serialization(mlir::PassManager &pm, const PtxOptions &o,
                       llvm::ArrayRef<std::string> link) {
  mlir::GpuNVVMAttachTargetOptions target;
  target.chip = o.chip;
  target.features = o.features;
  target.optLevel = 3;
  target.linkLibs = link;
  pm.addPass(mlir::createGpuNVVMAttachTarget(target));
  mlir::GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  pm.addPass(mlir::createGpuModuleToBinaryPass(binary));
}

// Math ops lower to calls of libdevice's __nv_* functions.
std::string first_libdevice_call(mlir::gpu::GPUModuleOp gpu_module) {
  for (auto fn : gpu_module.getOps<mlir::LLVM::LLVMFuncOp>())
    if (fn.isExternal() && fn.getName().starts_with("__nv_")) return fn.getName().str();
  return {};
}

void run(mlir::PassManager &pm, mlir::ModuleOp module, llvm::raw_ostream *print_pipeline,
         const char *what) {
  if (print_pipeline) {
    pm.printAsTextualPipeline(*print_pipeline);
    *print_pipeline << "\n";
  }
  if (mlir::failed(pm.run(module))) throw Error(what);
}

} // namespace

std::string compile_ptx(mlir::ModuleOp module, const PtxOptions &options,
                        llvm::raw_ostream *print_pipeline) {
  check_kernel_arguments(the_gpu_module(module));
  mlir::PassManager lowering(module.getContext(), mlir::ModuleOp::getOperationName());
  add_nvvm_lowering(lowering);
  run(lowering, module, print_pipeline, "the lowering of the gpu.module to NVVM failed");

  std::vector<std::string> link;
  if (const std::string call = first_libdevice_call(the_gpu_module(module)); !call.empty()) {
    if (!llvm::sys::fs::is_regular_file(options.libdevice))
      throw Error("the kernel calls " + call + " from libdevice, and " + options.libdevice +
                  " does not exist (install the CUDA toolkit or pass --libdevice FILE)");
    link.push_back(options.libdevice);
  }
  mlir::PassManager serialization(module.getContext(), mlir::ModuleOp::getOperationName());
  add_serialization(serialization, options, link);
  run(serialization, module, print_pipeline, "the serialization of the gpu.module to PTX failed");

  for (auto binary : module.getOps<mlir::gpu::BinaryOp>())
    for (auto object : binary.getObjects().getAsRange<mlir::gpu::ObjectAttr>())
      return object.getObject().getValue().rtrim('\0').str();
  throw Error("gpu-module-to-binary left no PTX object");
}

} // namespace actforge::mlir_tool
