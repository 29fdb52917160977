// The size of a call in the channel layout [outer, C, inner], for the benchmarks of channel
// kernels (epilogue_bench.cpp, zero_counts_bench.cpp).
#pragma once

#include "actforge/runtime/jit.hpp"

#include <cstdint>
#include <string>

namespace actforge::bench {

struct ChannelSize {
  std::int64_t outer, channels, inner;
  std::int64_t n() const { return outer * channels * inner; }
  Shape shape() const { return Shape::with_channels(outer, channels, inner); }
  /// "16x256x4096"
  std::string text() const {
    return std::to_string(outer) + "x" + std::to_string(channels) + "x" + std::to_string(inner);
  }
};

} // namespace actforge::bench
