// autoschedule: our kernels scheduled by Halide's own autoschedulers, to time beside our default
// and tuned schedules (issue 8).
//
//   namespace as = actforge::runtime::autoschedule;
//   for (const std::string &name : as::names()) {
//     if (!as::problem(name).empty()) continue;          // plugin missing: problem() says why
//     as::Kernel k = as::compile(spec, "host", name, 1 << 14, /*threads=*/1, {});
//     k.run({x}, {y}, n);                                 // the ports of actforge::jit's kernel
//     std::puts(k.schedule_text().c_str());               // what the autoscheduler chose
//   }
//
// The pipeline is codegen::halide::build_unscheduled_pipeline(): the arguments, guards and
// numerics of our own CPU kernels (outputs are bit-identical to actforge::jit's), with the
// schedule left to the autoscheduler. Flat layout; forward, backward and backward_from_output.
//
// Plugins: libautoschedule_{adams2019,li2018,mullapudi2016}.so from $ACTFORGE_HALIDE_PLUGINS, else
// from halide14/ beside the libHalide this process runs (Debian's libhalide14-0-dev), each loaded
// once per process with Halide::load_plugin. Adams2019 uses its built-in cost model weights
// (HL_WEIGHTS_DIR overrides; its HL_* knobs apply) and prints its search progress on stderr;
// Li2018 and Mullapudi2016 let Halide's cost analysis warn there about our fma calls.
//
// Compiled code: the autoscheduled pipeline is compiled for the target (StrictFloat, like ours)
// to an object with Halide's asserts kept, linked and loaded like actforge::jit's kernels, and
// called the same way (halide_buffer_t's on the stack, the compiled entry directly, the process's
// one Halide runtime). Autoschedulers split loops with TailStrategy::ShiftInwards, so a kernel
// needs a least n (a split factor): compile() finds it (min_direct_n()), and a call, or a block of
// one, below it runs on zero-padded copies of its arrays. Asserts stay for the case the search
// misses: a schedule that refuses a size throws instead of reading out of bounds.
//
// Threads: the kernels run on the Halide runtime's thread pool, which every Halide kernel of the
// process shares (actforge::jit's parallel schedules too). run() (and compile(), which calls the
// kernel to find min_direct_n()) sets its size to `threads` (halide_set_num_threads) and leaves
// it so; the autoscheduler was told the same parallelism. threads = 1: the calling thread does
// all the work, even where the schedule has parallel loops (Li2018 always makes some).
#pragma once

#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/runtime/jit.hpp"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace actforge::runtime::autoschedule {

/// The autoschedulers this module knows: {"Adams2019", "Li2018", "Mullapudi2016"}.
std::vector<std::string> names();

/// "" when the autoscheduler's plugin is loaded (loading it on first use), else why not (no
/// such file, a failed load, an unknown name).
std::string problem(const std::string &name);

/// One autoscheduled kernel. Immutable; run() may be called from one thread at a time (the
/// thread-pool size it sets is process-wide).
class Kernel {
public:
  /// One pointer per input_ports() and output_ports() (actforge::jit's order: x[, g] or y, then
  /// dy; y, or dx[, dg]), n elements each. Any n >= 0 (arrays of more than 2^30 elements go in
  /// blocks). Outputs must not overlap inputs: a ShiftInwards schedule computes some elements
  /// twice, the second time from inputs the first one overwrote. Throws actforge::Error naming
  /// the kernel and what is wrong, or Halide's message when the compiled code refuses the call.
  void run(std::span<const void *const> inputs, std::span<void *const> outputs,
           std::int64_t n) const;
  void run(std::initializer_list<const void *> inputs, std::initializer_list<void *> outputs,
           std::int64_t n) const {
    run(std::span<const void *const>(inputs.begin(), inputs.size()),
        std::span<void *const>(outputs.begin(), outputs.size()), n);
  }

  const std::string &autoscheduler() const;
  /// What the autoscheduler chose: its AutoSchedulerResults::schedule_source (Halide C++).
  const std::string &schedule_text() const;
  /// "autoschedule_fwd_f32_avx512_adams2019": role, dtype, target, autoscheduler.
  const std::string &name() const;
  const std::string &target() const; // x86-64-avx2 or x86-64-avx512
  int threads() const;
  const std::vector<Port> &input_ports() const;
  const std::vector<Port> &output_ports() const;
  /// The least n the compiled code takes directly; smaller calls run on padded copies.
  std::int64_t min_direct_n() const;

  struct Impl;
  explicit Kernel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

private:
  std::shared_ptr<const Impl> impl_;
};

/// Schedule `spec` with `autoscheduler` for calls of about `n_estimate` elements on `threads`
/// threads (MachineParams: parallelism = threads, this CPU's last-level cache, balance 40) and
/// compile it for `target` (host, x86-64-avx2, x86-64-avx512). `params` fixes the scalar
/// parameters of every call (a missing one takes its default); the autoscheduler sees them as
/// estimates. Throws actforge::Error for an unknown or unavailable autoscheduler (naming the
/// known ones, or saying why), a spec build_unscheduled_pipeline() refuses, a target this CPU
/// cannot run, threads < 1, a parameter the expression lacks or one without a default left out,
/// and, naming the autoscheduler, when it fails or produces no schedule.
Kernel compile(const codegen::KernelSpec &spec, const std::string &target,
               const std::string &autoscheduler, std::int64_t n_estimate, int threads,
               const Params &params);

} // namespace actforge::runtime::autoschedule
