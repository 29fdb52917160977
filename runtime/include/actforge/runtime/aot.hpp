// actforge::aot: kernels generated ahead of time for C and C++ hosts — what `actforge gen` and
// the CMake function actforge_add_kernels() run.
//
//   aot::Options o;
//   o.activations = {aot::resolve_activation("swish"),
//   aot::resolve_activation("mish=x*tanh(softplus(x))")}; o.targets = {"x86-64-avx2",
//   "x86-64-avx512"}; aot::generate(o, "out/");   // out/actforge_kernels.h, .c,
//   libactforge_kernels.a, objects
//
// The C ABI (actforge_kernels.h): per activation A, role R (fwd, bwd, bwdy, pgrad), layout and
// dtype D (T is float, double, or uint16_t for f16/bf16 storage):
//   int actforge_A_fwd_D(const T *x[, const T *g], T *y, int64_t n, const actforge_A_params *p);
//   int actforge_A_bwd_D(const T *x[, const T *g], const T *dy, T *dx[, T *dg], int64_t n, p);
//   int actforge_A_bwdy_D(const T *y, const T *dy, T *dx, int64_t n, p);
//   int actforge_A_pgrad_D(const T *x[, const T *g], const T *dy, int64_t n, p, T *dbeta...);
// p only when A has parameters; p == NULL means the defaults. The channel layout [outer, C,
// inner] (Options::layouts) names its functions A_R_ch_D and takes `int64_t outer, int64_t
// channels, int64_t inner` instead of n, then one `const T *name` of C values per per-channel
// parameter, then the scalar parameters (actforge_A_ch_params when some are per-channel);
// param_grad writes C values for a per-channel parameter, one for a scalar one. Gated
// activations in Layout::Halves (CPU targets) name theirs A_R_half_D and take one tensor xg
// [rows, 2d] and `int64_t rows, int64_t d` (bwd writes one dxg [rows, 2d], dx | dg). Returns 0 or
// an error code (ACTFORGE_ERR_*). With several targets, each function picks the best one this CPU
// runs (cpuid) and its _avx2 / _avx512 forms call one target; a target the CPU lacks returns
// ACTFORGE_ERR_CPU, never an illegal instruction. A registry finds kernels by name:
// actforge_find_kernel("swish_fwd_f32"). Generation is deterministic: the same options give
// byte-identical files.
//
// Generated noise (Activation::uniform_g, `actforge gen --uniform-g`): input g of a gated
// activation is computed in the kernel, g = U[0, 1) from Philox-4x32-10 (the contract of
// codegen::KernelSpec::uniform_g), not passed: the functions are named A_R_rng[_ch]_D, take no g
// (and bwd writes no dg), and take `uint64_t seed, uint64_t offset` after the parameters (after
// p, or where p would be; param_grad's gradients follow them). Element e of a call draws counter
// e + offset: a call on [k, n) with offset k gives what elements k.. of a call on [0, n) with
// offset 0 give, on every target, so a backward pass replays its forward's slopes from the same
// (seed, offset). RReLU in training mode: aot::resolve_activation("rrelu_train") with uniform_g.
//
// Dead-unit counts (Options::zero_counts, `actforge gen --zero-counts`): beside each forward and
// backward function F, F_zero_counts(..., int64_t *zero_counts) also writes how many outputs are
// exactly zero per channel (one count for flat functions), counted block by block while cached.
#pragma once

#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/ir/expr.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace actforge::aot {

struct Activation {
  std::string name; // a C identifier
  ir::Expr expr;
  /// Input g (ir::input(1)) is generated in the kernel (KernelSpec::uniform_g; see above): expr
  /// must have input g. Its functions are named A_R_rng[_ch]_D and take seed and offset.
  bool uniform_g = false;
};

/// "swish" (a library activation), "mish=x*tanh(softplus(x))" (an expression with a name), or
/// "x*tanh(softplus(x))" (an expression, named expr_ and 8 hex digits of the SHA-256 of its
/// canonical text, so the name does not change with spacing); also "rrelu_train", RReLU's
/// training form select(x >= 0, x, (lower + (upper - lower)·g)·x) with g = U[0, 1)
/// (dsl/rrelu.hpp: meant for uniform_g; the library's rrelu is eval mode). Throws actforge::Error
/// (ParseError for bad text).
Activation resolve_activation(std::string_view text);

struct Options {
  std::vector<Activation> activations;
  std::vector<std::string> targets = {"host"}; // host resolves to this machine's best target
  std::vector<codegen::Role> roles = {codegen::Role::Forward, codegen::Role::Backward};
  std::vector<codegen::DType> dtypes = {codegen::DType::F32};
  std::vector<codegen::Layout> layouts = {codegen::Layout::Flat};
  /// Parameters that take C values in the channel layout, for each activation that has them.
  std::vector<std::string> per_channel = {};
  std::string prefix = "actforge";                   // C identifiers and file names start with it
  std::string generator = "actforge::aot::generate"; // named in each file's first line
  /// Flat kernels take the tuning database's schedule for their target on this CPU where it has
  /// one (runtime/tune.hpp: the largest size class tuned), else the default.
  bool use_tuning_db = true;
  /// The forward and backward roles also get functions A_R[_ch]_D_zero_counts that take
  /// `int64_t *zero_counts` last and count the outputs (y; dx) that are exactly zero, one count
  /// per channel (one for flat), as jit's JitOptions::zero_counts does (`actforge gen
  /// --zero-counts`). CPU targets only.
  bool zero_counts = false;
  /// Maxout over groups of each k given (2..16): P_maxout_kK_fwd_D(const T *x, T *y, int64_t
  /// outer, int64_t channels_in, int64_t inner) and P_maxout_kK_bwd_D(const T *x, const T *dy, T
  /// *dx, ...) for the forward and backward roles asked for and every dtype, with _<isa> forms
  /// (the kernels of runtime/maxout.hpp: bit-identical to dsl/maxout.hpp). CPU targets (x86, ARM).
  /// Not in the registry. `activations` may then be empty (`actforge gen maxout --param k=4`).
  std::vector<int> maxout = {};
  /// Told, per kernel object, which schedule it got and why (`actforge gen --verbose`).
  std::function<void(const std::string &kernel, const std::string &why)> on_schedule = {};
};

/// Writes the kernels of `options` into `out_dir` (created if missing):
///   <prefix>_kernels.h     the C ABI: functions, parameter structs, error codes, registry
///   <prefix>_kernels.c     the wrappers (checks, 2^30-element chunks), CPU dispatch, registry
///   <kernel>.o             one no-runtime Halide object per kernel and target
///   <prefix>_runtime.o     the Halide runtime, built for the least capable target (one runtime
///                          per program: every target's kernels share it)
///   lib<prefix>_kernels.a  the objects and the runtime in one archive
///   <kernel>.ptx, <kernel>_unaligned.ptx  (target cuda) the PTX of each kernel's two entries
/// The targets must be of one family: x86 (cpuid dispatch), ARM (arm-64-linux, -fp16: AArch64
/// objects and C, dispatched by getauxval(AT_HWCAP)) or cuda (its functions take device pointers).
/// A role an activation does not have (param_grad without parameters, backward_from_output
/// without a from-output derivative, or with a generated g) is skipped, and the header says so.
/// Returns the file names written, in order. Throws actforge::Error.
std::vector<std::string> generate(const Options &options, const std::string &out_dir);

} // namespace actforge::aot
