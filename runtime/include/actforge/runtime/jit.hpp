// actforge::jit(): compile an activation for this machine at run time and call it.
//
//   auto fwd = actforge::jit("swish");                                  // library name
//   auto bwd = actforge::jit("x * sigmoid(beta * x), beta=1", {.role = Role::Backward});
//   fwd.forward(x, y, n);  bwd.backward(x, dy, dx, n, {{"beta", 1.5}});
//
// A Kernel is immutable and thread-safe; calls from many threads may share it. jit() keeps
// compiled kernels in a process-wide cache keyed by (canonical expression, role, dtype, target,
// schedule): asking again costs a lookup. Compiled code is also kept on disk, in a private
// directory ($XDG_CACHE_HOME/actforge, ~/.cache/actforge; ACTFORGE_CACHE_DIR overrides,
// ACTFORGE_NO_DISK_CACHE=1 disables), checked by a content hash before it is loaded, so a new
// process gets a known kernel in about a millisecond. Kernels are linked with the system linker
// (`ld` on PATH). Errors throw actforge::Error; nothing aborts the host.
#pragma once

#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/codegen/schedule.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/expr.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace actforge {

using codegen::DType;
using codegen::Role;

struct JitOptions {
  Role role = Role::Forward;
  DType dtype = DType::F32;
  std::string target = "host";               // host, x86-64-avx2, x86-64-avx512
  std::optional<codegen::Schedule> schedule; // default: the target's natural schedule
};

/// Parameter values by name; a parameter left out takes its default.
using Params = std::map<std::string, double, std::less<>>;

class Kernel {
public:
  /// The kernel's name: activation, role, dtype, target, schedule (swish_bwd_f32_avx512_v16u2p0).
  const std::string &name() const;
  Role role() const;
  DType dtype() const;
  const std::string &target() const;
  const codegen::Schedule &schedule() const;
  int num_inputs() const;  // 1, or 2 for gated activations (x, g)
  int num_outputs() const; // forward: 1; backward: one gradient per input
  /// Parameter names (sorted) and their defaults (NaN where a value is required).
  const std::vector<std::pair<std::string, double>> &params() const;

  /// The general call: `inputs` are x[, g] (then dy for backward), `outputs` are y or dx[, dg],
  /// each of `n` elements of dtype(). Outputs may alias the matching input (in place). Any
  /// n >= 0, any alignment.
  void run(std::span<const void *const> inputs, std::span<void *const> outputs, std::int64_t n,
           const Params &params = {}) const;

  // Typed forms for one-input activations.
  template <class T> void forward(const T *x, T *y, std::int64_t n, const Params &p = {}) const {
    const void *in[] = {x};
    void *out[] = {y};
    run(in, out, n, p);
  }
  template <class T>
  void backward(const T *x, const T *dy, T *dx, std::int64_t n, const Params &p = {}) const {
    const void *in[] = {x, dy};
    void *out[] = {dx};
    run(in, out, n, p);
  }

  struct Impl;
  explicit Kernel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

private:
  std::shared_ptr<const Impl> impl_;
};

/// A library activation by name, or an expression in text.
Kernel jit(std::string_view name_or_text, const JitOptions &options = {});
/// An IR expression (e.g. dsl::reflect(my_expr)); `name` names the kernel.
Kernel jit(ir::Expr expr, const JitOptions &options = {}, std::string name = "expr");

/// Number of kernels compiled (found in neither cache) by this process so far.
std::size_t jit_compile_count();
/// Number of kernels this process loaded from the disk cache instead of compiling them.
std::size_t jit_disk_load_count();

} // namespace actforge
