// The implementations the suite measures. main() registers, for each point (n, threads) of the
// grid, the cases of every implementation, one after the other, so that a kernel and the memcpy
// it is compared with run minutes apart at most, never the whole suite.
#pragma once

#include "peers/peer.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace actforge::bench {

struct Implementation {
  std::string name;
  // A line of the run's context (version, instruction set). Called once before any case runs;
  // it also initialises the library where one needs it (XNNPACK).
  std::function<std::string()> describe;
  std::function<void(std::int64_t n, int threads)> register_cases;
};

Implementation memcpy_implementation();
Implementation copy_implementation(); // memcpy_bench.cpp: the copy without non-temporal stores
Implementation actforge_implementation();
Implementation mlir_implementation(); // our MLIR backend: serial, 1-thread cases only
/// A peer's cases (peer_cases.cpp): every activation and direction it has, its call prepared once
/// per case and timed.
Implementation peer_implementation(const Peer &peer);

} // namespace actforge::bench
