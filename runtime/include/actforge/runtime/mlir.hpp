// The MLIR backend from a host that links Halide: kernels emitted as MLIR text
// (codegen/mlir/emit.hpp) and compiled by the separate `actforge-mlir` executable (MLIR 19, LLVM
// 19), never linked into this process. A CPU kernel comes back as an object with the C ABI of
// the AOT kernels, linked into a shared object and loaded here; a GPU kernel as PTX for sm_90.
#pragma once

#include "actforge/codegen/mlir/emit.hpp"
#include "actforge/runtime/aot.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace actforge::runtime::mlir {

/// The actforge-mlir executable: $ACTFORGE_MLIR, else bin/actforge-mlir beside the running
/// executable (the build tree), else the one installed with this library, else on PATH; empty
/// when there is none (Actforge built without MLIR 19).
std::string compiler();
/// Why MLIR kernels cannot be built and run here, or empty.
std::string problem();

/// A CPU kernel of a Library: its module and C ABI entry.
class Kernel {
public:
  /// A library of this one kernel.
  Kernel(const codegen::KernelSpec &spec, const std::string &target);
  const codegen::mlir::Module &module() const { return module_; }
  /// The C ABI call: `in` and `out` as module().inputs / outputs, n elements, `params` the
  /// values of module().params (nullptr: NULL, the defaults). Returns the kernel's code (0 ok).
  int call(const std::vector<const void *> &in, const std::vector<void *> &out, std::int64_t n,
           const std::vector<float> *params) const;

private:
  friend class Library;
  Kernel(codegen::mlir::Module module, std::shared_ptr<void> library, void *entry);
  codegen::mlir::Module module_;
  std::shared_ptr<void> library_;
  void *entry_ = nullptr;
};

/// CPU kernels compiled together: one module, one actforge-mlir compilation for `target`
/// (x86-64-avx2, x86-64-avx512 or host), linked into a shared object by cc and loaded into this
/// process. Throws actforge::Error (a spec the MLIR backend does not build, no actforge-mlir, a
/// failed compilation with its diagnostics).
class Library {
public:
  Library(const std::vector<std::pair<std::string, codegen::KernelSpec>> &kernels,
          const std::string &target);
  /// The kernel of that name; throws actforge::Error when there is none.
  Kernel kernel(const std::string &name) const;

private:
  std::vector<codegen::mlir::Module> modules_;
  std::shared_ptr<void> library_;
};

/// `actforge gen --backend mlir`.
struct GenOptions {
  std::vector<aot::Activation> activations;
  std::vector<codegen::Role> roles = {codegen::Role::Forward, codegen::Role::Backward};
  std::vector<codegen::DType> dtypes = {codegen::DType::F32};
  std::string target = "host"; // x86-64-avx2, x86-64-avx512, host, or cuda (the GPU form)
  std::string emit = "mlir";   // mlir: the text only; obj (CPU) or ptx (cuda) as well
  std::string prefix = "actforge";
};

/// Writes PREFIX_NAME_ROLE_DTYPE.mlir per kernel (and .o with a .h of its C ABI, or .ptx) into
/// `dir`; returns the file names. Roles an activation lacks are skipped. Throws actforge::Error.
std::vector<std::string> generate(const GenOptions &options, const std::string &dir);

} // namespace actforge::runtime::mlir
