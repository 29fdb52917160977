// The implementations the suite measures. main() registers, for each point (n, threads) of the
// grid, the cases of every implementation found at configure time, one after the other, so that
// a kernel and the memcpy it is compared with run minutes apart at most, never the whole suite.
#pragma once

#include <cstdint>
#include <string>

namespace actforge::bench {

struct Implementation {
  const char *name;
  // A line of the run's context (version, instruction set). Called once before any case runs;
  // it also initialises the library where one needs it (XNNPACK).
  std::string (*describe)();
  void (*register_cases)(std::int64_t n, int threads);
};

Implementation memcpy_implementation();
Implementation copy_implementation(); // memcpy_bench.cpp: the copy without non-temporal stores
Implementation actforge_implementation();
Implementation mlir_implementation(); // our MLIR backend: serial, 1-thread cases only
#ifdef ACTFORGE_BENCH_WITH_ONEDNN
Implementation onednn_implementation();
#endif
#ifdef ACTFORGE_BENCH_WITH_SLEEF
Implementation sleef_implementation();
#endif
#ifdef ACTFORGE_BENCH_WITH_EIGEN
Implementation eigen_implementation();
#endif
#ifdef ACTFORGE_BENCH_WITH_XNNPACK
Implementation xnnpack_implementation();
#endif

} // namespace actforge::bench
