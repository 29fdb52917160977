// Peer: Eigen 3.4 array expressions (eigen_kernels.cpp, compiled for x86-64-v4), on the
// suite's fork-join pool for all-threads cases (Eigen's array expressions are serial).
#include "peers/eigen_kernels.hpp"
#include "peers/peer.hpp"
#include "thread_pool.hpp"

#include <string>

namespace actforge::bench {

Peer eigen_peer() {
  return {
      "eigen",
      [] { return std::string(eigen::describe()) + "; more than one thread: one part per thread"; },
      [](std::string_view activation, Direction d) {
        return eigen::loop(std::string(activation).c_str(), d == Direction::Backward) != nullptr;
      },
      [](std::string_view activation, Direction d, const Io &io, int threads) {
        const eigen::Loop loop =
            eigen::loop(std::string(activation).c_str(), d == Direction::Backward);
        const float *dy = d == Direction::Backward ? io.dy : nullptr;
        return Prepared{[loop, io, dy, threads] {
                          parallel_for(threads, io.n, [&](std::int64_t b, std::int64_t e) {
                            loop(io.x + b, dy ? dy + b : nullptr, io.out + b, e - b);
                          });
                        },
                        "AVX-512 packets"};
      }};
}

} // namespace actforge::bench
