// actforge::jit(): compile an activation for this machine at run time and call it.
//
//   auto fwd = actforge::jit("swish");                                  // library name
//   auto bwd = actforge::jit("x * sigmoid(beta * x), beta=1", {.role = Role::Backward});
//   fwd.forward(x, y, n);  bwd.backward(x, dy, dx, n, {{"beta", 1.5}});
//   auto pg = actforge::jit("swish", {.role = Role::ParamGrad});
//   double dbeta = pg.param_grad(x, dy, n).at("beta");                  // Σ dy·∂f/∂beta
//
// Every role (forward, backward, backward_from_output, param_grad) and the layouts: flat n
// elements, or [outer, C, inner] (NCHW: outer = N, inner = H·W) where a parameter may take one
// value per channel (JitOptions::per_channel). Kernel::input_ports() / output_ports() say which
// arrays a kernel takes; Kernel::run() is the general call.
//
// Gated activations (x and g) also take one tensor [rows, 2d] split in halves along its last
// dimension, x = xg[:, :d] and g = xg[:, d:] (the transformer convention,
// torch.nn.functional.glu(xg, dim=-1)): Layout::Halves, calls sized Shape::halves(rows, d).
// Forward takes xg and writes y [rows, d]; backward takes xg and dy [rows, d] and writes one
// gradient dxg [rows, 2d], dx in each row's first half and dg in its second:
//
//   auto fwd = actforge::jit("swiglu", {.layout = Layout::Halves});
//   fwd.run({xg}, {y}, Shape::halves(rows, d));
//   auto bwd = actforge::jit("swiglu", {.role = Role::Backward, .layout = Layout::Halves});
//   bwd.run({xg, dy}, {dxg}, Shape::halves(rows, d));
//
// A Kernel is immutable and thread-safe; calls from many threads may share it. jit() keeps
// compiled kernels in a process-wide cache keyed by (canonical expression, role, dtype, layout,
// per-channel and wrt parameters, target, schedule): asking again costs a lookup. Compiled code is
// also kept on disk, in a private directory ($XDG_CACHE_HOME/actforge, ~/.cache/actforge;
// ACTFORGE_CACHE_DIR overrides, ACTFORGE_NO_DISK_CACHE=1 disables), checked by a content hash
// before it is loaded, so a new process gets a known kernel in about a millisecond. Kernels are
// linked with the system linker (`ld` on PATH). Errors throw actforge::Error; nothing aborts the
// host.
//
// Generated noise (JitOptions::uniform_g): the kernel computes input g itself, g = U[0, 1) from
// Philox-4x32-10 keyed by a 64-bit seed at counter (element index + offset) (the contract is
// codegen::KernelSpec::uniform_g's; dsl/philox.hpp is the reference). Calls give the seed and
// offset as a Noise; the same Noise gives the same g in every role, on every target, schedule
// and thread count, so a backward pass regenerates its forward's noise instead of storing it:
//
//   auto fwd = actforge::jit(dsl::rrelu_train_expr(), {.uniform_g = true}, "rrelu_train");
//   fwd.run({x}, {y}, Shape::flat(n), {}, Noise{seed, step * n});   // RReLU training
//   bwd.run({x, dy}, {dx}, Shape::flat(n), {}, Noise{seed, step * n}); // the same slopes
//
// Dead-unit statistics (JitOptions::zero_counts): the kernel also counts the outputs that are
// exactly zero (+0 or -0) — y for forward, dx for the backward roles — per channel, and writes
// the counts to one more output, "zero_counts", of int64_t values: C of them in Layout::Channels
// (channel c counts its outer·inner elements), d in Layout::Halves (column j counts its rows),
// one in Layout::Flat. A call overwrites them. The counting is fused at cache-block granularity:
// the kernel runs on blocks of at most 2^14 elements and each block's output is counted while it
// is still in the L1/L2 cache, so there is no second pass over memory:
//
//   auto fwd = actforge::jit("relu", {.layout = Layout::Channels, .zero_counts = true});
//   std::vector<std::int64_t> zeros(C);
//   fwd.run({x}, {y, zeros.data()}, Shape::with_channels(N, C, H * W));  // zeros[c]: dead in c
#pragma once

#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/codegen/schedule.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/expr.hpp"

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace actforge {

using codegen::DType;
using codegen::Layout;
using codegen::Role;

/// Where the arrays of a GPU kernel's calls live. CPU kernels take host memory either way.
enum class Memory {
  /// Device pointers valid in the calling thread's current CUDA context (a host using the CUDA
  /// runtime API: its device's primary context), or with none current, device 0's primary
  /// context ($ACTFORGE_CUDA_DEVICE picks another). A call queues the kernel on that context's
  /// default stream and returns without waiting, like cuDNN: synchronise before reading results
  /// on the host. param_grad's results (d<p>: one value, or one per channel) are host memory.
  Device,
  /// Host pointers: a call copies the inputs to the device, runs, copies the outputs back and
  /// returns when they are there. For tests and small work; device memory is the fast path.
  Host,
};

struct JitOptions {
  Role role = Role::Forward;
  DType dtype = DType::F32;
  /// host, x86-64-avx2, x86-64-avx512, or cuda (an NVIDIA GPU). cuda kernels compile on any
  /// machine (and land in the disk cache); calling one where there is no NVIDIA driver or GPU
  /// throws actforge::Error "<kernel> cannot run: no CUDA driver found (...)" / "no CUDA device
  /// found".
  std::string target = "host";
  std::optional<codegen::Schedule> schedule = std::nullopt; // default: the target's natural one
  /// Channels: calls take (outer, C, inner). Halves: gated activations only, calls take
  /// (rows, d), x and g the halves of one input xg (see the top of this file).
  Layout layout = Layout::Flat;
  /// Parameters given as C values (one per channel) instead of a scalar; Layout::Channels only.
  std::vector<std::string> per_channel = {};
  /// param_grad: the parameters to differentiate by; empty means all of them.
  std::vector<std::string> wrt = {};
  /// GPU targets: where every call's arrays live (see Memory).
  Memory memory = Memory::Device;
  /// With no `schedule`: take the tuning database's schedule for this kernel on this CPU where
  /// it has one (runtime/tune.hpp; `actforge tune` writes it), else the default.
  /// Kernel::schedule_origin() says which and why.
  bool use_tuning_db = true;
  /// The elements per call the kernel is for, choosing the database's size class (cache, l3,
  /// dram); 0: the largest class tuned.
  std::int64_t size_hint = 0;
  /// Input g is generated in the kernel, not passed (codegen::KernelSpec::uniform_g): calls take
  /// a Noise, g is not among input_ports() and backward has no dg. Names end in "_rng".
  bool uniform_g = false;
  /// Count the exactly-zero outputs (y; dx for the backward roles) per channel into one more
  /// output array, "zero_counts" (Extent::Counts, int64_t; see the top of this file). Not for
  /// param_grad, nor for GPU targets. The compiled code is the same kernel's: asking for it
  /// compiles nothing more.
  bool zero_counts = false;
  /// Role::Backward only: the kernel also writes param_grad's gradients (d<p> for `wrt`, or
  /// every parameter), after dx[, dg], from the same call: the two run block by block (2^14
  /// elements), param_grad reading each block of x and dy from the cache right after backward,
  /// so x and dy cross memory once — the backward of a fused epilogue (dsl/epilogue.hpp) gives
  /// dx, dbias or dscale and dshift in one pass. Each block's gradients are rounded to the dtype
  /// and summed in f64. f16 and bf16, GPU targets and calls of one block run the two kernels
  /// whole, one after the other (their results then equal the two kernels').
  bool with_param_grad = false;
};

/// The seed and offset of a kernel with a generated input: element e of a call draws from
/// counter e + offset (mod 2^64) under key seed. A call on [k, n) with offset k draws what
/// elements k.. of a call on [0, n) with offset 0 draw.
struct Noise {
  std::uint64_t seed = 0, offset = 0;
};

/// Scalar parameter values by name; a parameter left out takes its default.
using Params = std::map<std::string, double, std::less<>>;

/// The size of one call: n elements (Layout::Flat), or [outer, channels, inner] with element
/// (o, c, i) at (o·channels + c)·inner + i (Layout::Channels), or rows of d outputs from rows
/// of 2d inputs (Layout::Halves: outer = rows, channels = 1, inner = d; d < 2^30).
struct Shape {
  Layout layout = Layout::Flat;
  std::int64_t outer = 1, channels = 1, inner = 0;

  static constexpr Shape flat(std::int64_t n) { return {Layout::Flat, 1, 1, n}; }
  static constexpr Shape with_channels(std::int64_t outer, std::int64_t channels,
                                       std::int64_t inner) {
    return {Layout::Channels, outer, channels, inner};
  }
  /// Layout::Halves: xg and dxg are [rows, 2d] (row r, column j at r·2d + j), y and dy [rows, d].
  static constexpr Shape halves(std::int64_t rows, std::int64_t d) {
    return {Layout::Halves, rows, 1, d};
  }
  /// Layout::Halves from the input tensor's shape [rows, last]: d = last / 2. Throws
  /// actforge::Error for an odd (or negative) last dimension, as glu(input, dim=-1) refuses one.
  static Shape halves_of(std::int64_t rows, std::int64_t last) {
    if (last < 0 || last % 2 != 0)
      throw Error("the halves layout splits the last dimension into x and g: it must be even "
                  "and >= 0, got " +
                  std::to_string(last));
    return halves(rows, last / 2);
  }
};

/// How many values an array of a kernel holds, relative to the call's Shape.
enum class Extent {
  Elements, // every element: n, or outer·channels·inner (Layout::Halves: rows·d)
  Channels, // one per channel: a per-channel parameter or its gradient
  One,      // one value: the gradient of a scalar parameter
  Pairs,    // Layout::Halves: rows·2d, both halves of every row (xg, dxg)
  Counts,   // JitOptions::zero_counts: int64_t (whatever the dtype), one per channel: C
            // (Layout::Channels), d (Layout::Halves), 1 (Layout::Flat)
};
struct Port {
  std::string name; // x, g, xg, y, dy, dx, dg, dxg, d<param>, zero_counts, or a per-channel
                    // parameter's name
  Extent extent = Extent::Elements;
};

class Kernel {
public:
  /// The kernel's name: activation, role, layout (_ch, _half), dtype, target, schedule
  /// (swish_bwd_f32_avx512_v16u2p0, prelu_pgrad_ch_f32_avx2_v8u2p0, glu_fwd_half_f32_...).
  const std::string &name() const;
  Role role() const;
  DType dtype() const;
  Layout layout() const;
  const std::string &target() const; // x86-64-avx2, x86-64-avx512, cuda
  /// GPU kernels: where calls' arrays live. CPU kernels: Memory::Host.
  Memory memory() const;
  const codegen::Schedule &schedule() const;
  /// How the schedule was chosen: "given", "tuned schedule v32u4p0 (dram, 2026-11-27, 1.21x the
  /// default's speed): FILE", or "default schedule (no entry ...)".
  const std::string &schedule_origin() const;
  int num_inputs() const;       // 1, or 2 for gated activations (x, g) unless g is generated
  bool uniform_g() const;       // input g is generated: calls need a Noise
  bool zero_counts() const;     // the last output is "zero_counts" (JitOptions::zero_counts)
  bool with_param_grad() const; // backward's outputs, then d<p>... (JitOptions::with_param_grad)
  int num_outputs() const;      // the number of output arrays: output_ports().size()
  /// The arrays run() takes, in order. Inputs: x[, g] (y for backward_from_output; xg in
  /// Layout::Halves), then dy for the backward roles and param_grad, then the per-channel
  /// parameters by name. Outputs: y; dx[, dg] (dxg in Layout::Halves); or d<p> for each
  /// differentiated parameter by name (param_grad; after dx[, dg] where with_param_grad());
  /// then zero_counts where zero_counts().
  const std::vector<Port> &input_ports() const;
  const std::vector<Port> &output_ports() const;
  /// Scalar parameter names (sorted) and their defaults (NaN where a value is required): the
  /// ones a Params map sets. Per-channel parameters are arrays among the inputs.
  const std::vector<std::pair<std::string, double>> &params() const;
  const std::vector<std::string> &per_channel() const;

  /// The general call: one pointer per input_ports() and per output_ports(), each to the number
  /// of dtype() values its Extent says (int64_t values for Extent::Counts). Elementwise outputs may
  /// alias the matching input (in place), except dxg, which must not overlap xg. Any size, any
  /// alignment; arrays of more than 2^30 elements go through in pieces (param_grad sums the pieces'
  /// results in f64, but each piece's own sum is rounded to dtype() first: f16/bf16 pieces can
  /// round coarsely or overflow). Throws actforge::Error naming the argument that is wrong.
  /// Allocates nothing (with_param_grad(): scratch for one value per channel and gradient).
  void run(std::span<const void *const> inputs, std::span<void *const> outputs, const Shape &shape,
           const Params &params = {}) const;
  /// The call of a kernel with a generated input (uniform_g()); the other run()s throw for one.
  void run(std::span<const void *const> inputs, std::span<void *const> outputs, const Shape &shape,
           const Params &params, const Noise &noise) const;
  void run(std::initializer_list<const void *> inputs, std::initializer_list<void *> outputs,
           const Shape &shape, const Params &params, const Noise &noise) const {
    run(std::span<const void *const>(inputs.begin(), inputs.size()),
        std::span<void *const>(outputs.begin(), outputs.size()), shape, params, noise);
  }
  /// Flat kernels: n elements.
  void run(std::span<const void *const> inputs, std::span<void *const> outputs, std::int64_t n,
           const Params &params = {}) const {
    run(inputs, outputs, Shape::flat(n), params);
  }
  void run(std::initializer_list<const void *> inputs, std::initializer_list<void *> outputs,
           const Shape &shape, const Params &params = {}) const {
    run(std::span<const void *const>(inputs.begin(), inputs.size()),
        std::span<void *const>(outputs.begin(), outputs.size()), shape, params);
  }

  // Typed forms for flat kernels of one-input activations.
  template <class T> void forward(const T *x, T *y, std::int64_t n, const Params &p = {}) const {
    expect_element_size(sizeof(T));
    run({x}, {y}, Shape::flat(n), p);
  }
  template <class T>
  void backward(const T *x, const T *dy, T *dx, std::int64_t n, const Params &p = {}) const {
    expect_element_size(sizeof(T));
    run({x, dy}, {dx}, Shape::flat(n), p);
  }
  template <class T>
  void backward_from_output(const T *y, const T *dy, T *dx, std::int64_t n,
                            const Params &p = {}) const {
    expect_element_size(sizeof(T));
    run({y, dy}, {dx}, Shape::flat(n), p);
  }
  /// Σ dy·∂f/∂p over the n elements, for every parameter p the kernel differentiates by.
  template <class T>
  Params param_grad(const T *x, const T *dy, std::int64_t n, const Params &p = {}) const {
    expect_element_size(sizeof(T));
    const void *in[] = {x, dy};
    return param_grad_values(in, n, p);
  }

  struct Impl;
  explicit Kernel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

private:
  void expect_element_size(std::size_t bytes) const;
  void run_with(std::span<const void *const> inputs, std::span<void *const> outputs,
                const Shape &shape, const Params &params, const Noise *noise) const;
  void run_with_param_grad(std::span<const void *const> inputs, std::span<void *const> outputs,
                           const Shape &shape, const Params &params, const Noise *noise) const;
  Params param_grad_values(std::span<const void *const> inputs, std::int64_t n,
                           const Params &params) const;
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
