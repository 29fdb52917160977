// The GPU schedule sweep, one list for gpu_bench (which times it) and warm_cache (which compiles
// it beforehand): relu and gelu forward, f32 and f16, beside the default schedule (v4u2t256 f32,
// v8u2t256 f16) with fewer or more elements a thread and other block sizes; for f16 also 64-bit
// vectors (v4): ptxas gives the v8 f16 kernels about twice the registers of the v4 f32 ones
// (sm_90, gelu forward: 117 and 64), so fewer lanes may buy occupancy. Data for the defaults and
// the autotuner.
#pragma once

#include "actforge/codegen/schedule.hpp"
#include "actforge/runtime/jit.hpp"

#include <utility>
#include <vector>

namespace actforge::bench {

inline constexpr const char *kSweepActivations[] = {"relu", "gelu"};

inline std::vector<codegen::Schedule> sweep_schedules(DType d) {
  struct Point {
    int lanes, unroll, threads;
  };
  const int v = d == DType::F32 ? 4 : 8;
  std::vector<Point> points{{v, 1, 256}, {v, 4, 256}, {v, 8, 256},
                            {v, 2, 128}, {v, 2, 512}, {v, 4, 512}};
  if (d == DType::F16)
    for (const Point p : {Point{4, 1, 256}, Point{4, 2, 256}, Point{4, 4, 256}})
      points.push_back(p);
  std::vector<codegen::Schedule> out;
  for (const Point p : points) {
    codegen::Schedule sc;
    sc.lanes = p.lanes;
    sc.unroll = p.unroll;
    sc.gpu_threads = p.threads;
    out.push_back(sc);
  }
  return out;
}

} // namespace actforge::bench
