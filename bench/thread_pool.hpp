// A small fork-join pool for the loops that have no threads of their own (memcpy, Sleef and
// Eigen loops), so that "all threads" splits their work over the same number of threads as our
// kernels and oneDNN. Workers spin briefly between jobs (as Halide's and OpenMP's do) and then
// sleep, so back-to-back iterations do not pay a wake-up.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>

namespace actforge::bench {

/// Runs fn(t) for every t in [0, threads), each on whichever of `threads` threads (the caller
/// included) claims it first, and waits for all of them. The pool of each size is created on first
/// use and lives until exit.
void run_on_threads(int threads, const std::function<void(int)> &fn);

/// Splits [0, n) into `threads` contiguous parts, each a multiple of 16 elements except the last,
/// and calls fn(begin, end) for each part (one task per thread, see run_on_threads).
template <class F> void parallel_for(int threads, std::int64_t n, F &&fn) {
  if (threads <= 1) {
    fn(std::int64_t{0}, n);
    return;
  }
  const std::int64_t part = ((n + threads - 1) / threads + 15) / 16 * 16;
  run_on_threads(threads, [&](int t) {
    const std::int64_t begin = std::min(n, part * t), end = std::min(n, begin + part);
    if (begin < end) fn(begin, end);
  });
}

} // namespace actforge::bench
