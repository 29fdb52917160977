// The implementations our kernels are compared with: the plain C++ loop and the peer libraries
// found at configure time. One interface serves both programs: actforge_bench times a prepared
// call, actforge_peer_accuracy runs it once on a sample and measures the values.
#pragma once

#include "bench_common.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace actforge::bench {

/// The arrays of one call: y = f(x) into `out` (forward), dx = dy·f'(x) into `out` (backward).
struct Io {
  const float *x;
  const float *dy; // backward only
  float *out;
  std::int64_t n;
};

/// A call made ready once, outside any timing: the library's primitive or operator created, its
/// tensors wrapped around the arrays. `call` does the work; `label` says what runs (oneDNN's
/// implementation, Sleef's instruction set, ...). `finish`, where set, makes `out` hold the result
/// of the last call where the library leaves it elsewhere (libtorch's mish_backward allocates its
/// result): run after the timing, before the values are read.
struct Prepared {
  std::function<void()> call;
  std::string label;
  std::function<void()> finish = {};
};

struct Peer {
  const char *name;
  /// A line of the run's context: version, instruction set, threads. Called once before any
  /// case is prepared; it also initialises the library where one needs it (XNNPACK).
  std::string (*describe)();
  /// Whether the peer computes this activation in this direction (no emulation by composing
  /// other operators: XNNPACK has no backward at all).
  bool (*has)(std::string_view activation, Direction d);
  /// Throws actforge::Error where the library refuses (it then says why).
  Prepared (*prepare)(std::string_view activation, Direction d, const Io &io, int threads);
};

/// The plain loop and every peer built here that this CPU can run, in the order of the tables.
/// A peer built here that this CPU cannot run (Eigen's AVX-512 loops) is left out, and why goes
/// to `skipped`.
std::vector<Peer> peers(std::vector<std::string> *skipped);

Peer loop_peer();
#ifdef ACTFORGE_BENCH_WITH_ONEDNN
Peer onednn_peer();
#endif
#ifdef ACTFORGE_BENCH_WITH_XNNPACK
Peer xnnpack_peer();
#endif
#ifdef ACTFORGE_BENCH_WITH_SLEEF
Peer sleef_peer();
#endif
#ifdef ACTFORGE_BENCH_WITH_EIGEN
Peer eigen_peer();
#endif
#ifdef ACTFORGE_BENCH_WITH_TORCH
Peer torch_peer();
#endif

} // namespace actforge::bench
