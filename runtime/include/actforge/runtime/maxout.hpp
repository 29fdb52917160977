// actforge::jit_maxout(): maxout's forward and backward kernels for this machine.
//
//   auto m = actforge::jit_maxout(4);                     // groups of k = 4 channels, f32
//   m.forward(x, y, outer, channels_in, inner);           // x [outer, channels_in, inner]
//   m.backward(x, dy, dx, outer, channels_in, inner);     // dy [outer, channels_in / 4, inner]
//
// y = the max over each group of k consecutive channels (a NaN is the maximum); dx = dy at each
// group's first arg-max and 0 elsewhere (dsl/maxout.hpp is the reference; the kernels are
// bit-identical to it, codegen/halide/maxout.hpp says how). Arrays are dense, any alignment.
// Outputs may not overlap inputs: y is smaller than x, and dx (x's size) is written while its
// group is still being read, so neither works in place (an overlap throws). Rows of k·inner
// elements must stay below 2^31; larger arrays are cut into blocks of whole groups.
//
// Kernels are compiled once per (k, role, dtype, target, schedule), kept in memory and in the jit
// kernels' disk cache (runtime/jit.hpp: the same directory, checks and environment variables).
#pragma once

#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/codegen/schedule.hpp"
#include "actforge/error.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace actforge {

struct MaxoutOptions {
  codegen::DType dtype = codegen::DType::F32; // f32, f64, f16 or bf16
  std::string target = "host";                // host, x86-64-avx2, x86-64-avx512
  /// Default: one vector register of the storage type (lanes = vector bits / element bits),
  /// unrolled twice, serial. parallel_chunk > 0 parallelises over outer.
  std::optional<codegen::Schedule> schedule = std::nullopt;
};

class MaxoutKernel {
public:
  int k() const;
  codegen::DType dtype() const;
  const std::string &target() const;
  const codegen::Schedule &schedule() const;
  /// "maxout_fwd_k4_f32_avx512_v16u2p0" and the backward's "maxout_bwd_...".
  const std::string &forward_name() const;
  const std::string &backward_name() const;

  /// y [outer, channels_in / k, inner] from x [outer, channels_in, inner], each pointing to
  /// dtype() values. Throws actforge::Error for a bad shape (dsl::MaxoutShape::validate), null
  /// or overlapping arrays.
  void forward(const void *x, void *y, std::int64_t outer, std::int64_t channels_in,
               std::int64_t inner) const;
  /// dx [outer, channels_in, inner] from x and dy [outer, channels_in / k, inner].
  void backward(const void *x, const void *dy, void *dx, std::int64_t outer,
                std::int64_t channels_in, std::int64_t inner) const;

  template <class T>
  void forward(const T *x, T *y, std::int64_t outer, std::int64_t channels_in,
               std::int64_t inner) const {
    expect_element_size(sizeof(T));
    forward(static_cast<const void *>(x), static_cast<void *>(y), outer, channels_in, inner);
  }
  template <class T>
  void backward(const T *x, const T *dy, T *dx, std::int64_t outer, std::int64_t channels_in,
                std::int64_t inner) const {
    expect_element_size(sizeof(T));
    backward(static_cast<const void *>(x), static_cast<const void *>(dy), static_cast<void *>(dx),
             outer, channels_in, inner);
  }

  struct Impl;
  explicit MaxoutKernel(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

private:
  void expect_element_size(std::size_t bytes) const;
  std::shared_ptr<const Impl> impl_;
};

/// Maxout over groups of k channels (2 to 16). Throws actforge::Error for k out of range, a
/// target that is not an x86 CPU this machine runs, or a GPU schedule.
MaxoutKernel jit_maxout(int k, const MaxoutOptions &options = {});

/// One call of a maxout kernel run where this process cannot load it (ARM, under qemu).
struct MaxoutCall {
  int k = 2;
  codegen::DType dtype = codegen::DType::F32;
  codegen::Role role = codegen::Role::Forward; // Forward or Backward
  std::int64_t outer = 0, channels = 0, inner = 0;
  std::vector<unsigned char> x, dy; // dense arrays of dtype values (dy: backward only)
};

/// ARM targets (arm-64-linux, arm-64-linux-fp16): compiles the kernels the calls need for
/// `target` (Halide, no runtime) with a standalone Halide runtime and a small C driver by the
/// cross compiler, runs the program once under qemu-aarch64 on every call, and returns each
/// call's output bytes (y, or dx). Validates every shape first. Throws actforge::Error with the
/// reason when the cross tools are missing (targets::arm::cross_tools()) or a step fails.
std::vector<std::vector<unsigned char>> run_maxout_cross(const std::string &target,
                                                         const std::vector<MaxoutCall> &calls);

/// Number of maxout kernels this process compiled (found in neither cache) so far.
std::size_t maxout_compile_count();

} // namespace actforge
