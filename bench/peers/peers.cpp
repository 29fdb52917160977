// The list of peers: the plain loop, then every library found at configure time.
#include "peers/peer.hpp"

namespace actforge::bench {

std::vector<Peer> peers([[maybe_unused]] std::vector<std::string> *skipped) {
  std::vector<Peer> all = {loop_peer()};
#ifdef ACTFORGE_BENCH_WITH_ONEDNN
  all.push_back(onednn_peer());
#endif
#ifdef ACTFORGE_BENCH_WITH_XNNPACK
  all.push_back(xnnpack_peer());
#endif
#ifdef ACTFORGE_BENCH_WITH_SLEEF
  // AVX-512 loops where the CPU has them, else AVX2 (sleef_bench.cpp).
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    all.push_back(sleef_peer());
  else if (skipped)
    skipped->push_back("sleef: its loops need AVX2 and FMA, which this CPU lacks");
#endif
#ifdef ACTFORGE_BENCH_WITH_EIGEN
  // Eigen's loops are compiled for x86-64-v4 (AVX-512): not one instruction of theirs may run on
  // a CPU without it.
  if (__builtin_cpu_supports("x86-64-v4"))
    all.push_back(eigen_peer());
  else if (skipped)
    skipped->push_back("eigen: compiled for x86-64-v4 (AVX-512), which this CPU lacks");
#endif
#ifdef ACTFORGE_BENCH_WITH_TORCH
  all.push_back(torch_peer());
#endif
  return all;
}

} // namespace actforge::bench
