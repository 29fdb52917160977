// Schedule: how an elementwise kernel's loop is vectorised, unrolled and parallelised.
#pragma once

#include <cstdint>
#include <string>

namespace actforge::codegen {

/// A value type the autotuner will search over. Any n >= 0 works under every schedule: the
/// vector loop is guarded for the tail and for n below one vector.
///
/// GPU schedules (gpu_threads > 0): a block of gpu_threads threads covers
/// gpu_threads·lanes·unroll consecutive elements; each thread takes `unroll` vectors of `lanes`
/// elements, gpu_threads·lanes apart, so every load of a warp is coalesced. The grid has one
/// block per such span (any n, up to Halide's 32-bit extents; larger calls come in pieces).
/// With lanes > 1 the kernel assumes every array is aligned to lanes elements (128-bit loads
/// and stores): callers use it only for aligned pointers and a lanes = 1 kernel otherwise.
struct Schedule {
  int lanes = 8;                   // vector width in elements
  int unroll = 1;                  // vectors per loop iteration (GPU: per thread)
  std::int64_t parallel_chunk = 0; // elements per parallel task; 0: one thread (CPU only)
  int gpu_threads = 0;             // threads per GPU block; 0: a CPU schedule

  bool operator==(const Schedule &) const = default;
  bool gpu() const { return gpu_threads > 0; }
  /// "v16u2p65536" (CPU: lanes, unroll, parallel chunk, p0 when serial) or "v4u4t256" (GPU:
  /// lanes, unroll, threads per block). Part of kernel names.
  std::string describe() const;
  /// The GPU kernel for arrays that are not aligned to `lanes` elements: one element per step,
  /// lanes·unroll per thread (the same elements per block). CPU schedules are returned as is.
  Schedule unaligned() const;
};

/// The natural schedule for a target: one register of lanes (vector_bits / element bits),
/// unrolled twice, serial. Throws actforge::Error for lanes, unroll or chunk out of range.
Schedule default_schedule(int vector_bits, int element_bits);
/// The natural GPU schedule: 128-bit vectors (lanes = 128 / element bits), 256 threads a block,
/// 16 elements of f16/bf16 and 8 of f32 a thread, so each thread keeps two independent 128-bit
/// loads in flight per input. f64: 4 scalar elements a thread (Halide 14 / LLVM 14 cannot
/// vectorise f64 for PTX; f64 GPU kernels ignore lanes).
Schedule default_gpu_schedule(int element_bits);
void validate(const Schedule &s);

} // namespace actforge::codegen
