// The benchmark suite's shared parts: the one list of activations, the grid of sizes and thread
// counts, the arrays every implementation reads and writes, and how a case is named and counted.
//
// Every implementation (ours, memcpy, each peer) registers its cases through register_case(), so
// that names, counters and statistics are the same for all of them and report.py can pair a
// kernel with the memcpy of the same bytes measured in the same run.
#pragma once

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace actforge::bench {

/// The activations of the benchmark (ACTIVATIONS.md names), with the library defaults
/// of their parameters; every peer is configured with the same values.
inline constexpr std::array<std::string_view, 10> kActivations = {
    "relu",      "leaky_relu", "sigmoid", "tanh",      "gelu",
    "gelu_tanh", "swish",      "elu",     "hardswish", "mish"};
inline constexpr float kLeakyReluAlpha = 0.01f;
inline constexpr float kEluAlpha = 1.0f;
inline constexpr float kSwishBeta = 1.0f;

enum class Direction { Forward, Backward };
inline constexpr std::array<Direction, 2> kDirections = {Direction::Forward, Direction::Backward};

/// The grid every implementation is measured on.
struct Grid {
  std::vector<std::int64_t> sizes = {16384, 1048576, 67108864}; // 16 Ki, 1 Mi, 64 Mi
  std::vector<int> threads;                                     // 1 and all hardware threads
};
const Grid &grid();
void set_grid(Grid g);

/// One point of the grid. For memcpy, `activation` is empty: it copies the bytes the kernels of
/// `direction` move.
struct Case {
  std::string_view activation;
  Direction direction;
  std::int64_t n;
  int threads;
};

/// Bytes one call moves through memory: read x (and dy), write y (or dx). f32 throughout.
std::int64_t bytes_moved(Direction d, std::int64_t n);

/// "actforge/swish_bwd/n:16384/threads:1"; memcpy cases are "memcpy/bwd/n:16384/threads:1".
std::string case_name(std::string_view impl, const Case &c);

/// The arrays of size n, allocated, filled and touched once, then kept for the whole run:
/// x uniform in [-6, 6] (every branch of every activation), dy uniform in [-1, 1], and an
/// output of 2n elements (y or dx in the first n; memcpy's destination).
struct Arrays {
  const float *x;
  const float *dy; // x + n: x and dy are one block of 2n, memcpy's source
  float *out;
};
const Arrays &arrays(std::int64_t n);

/// Registers one case: real time, counters `bytes` and `elements` per second (bytes_moved and n
/// per call; in G/s these are GB/s and elements/ns),
/// and min/max statistics beside the default ones so repetitions report their spread.
using Body = std::function<void(benchmark::State &, const Case &)>;
void register_case(std::string_view impl, const Case &c, Body body);

/// The parallel chunk (elements per task) of a kernel run on `threads` threads: one task per
/// thread in cache, tasks of at most 2^20 elements out of cache so the threads stay balanced.
/// A multiple of `width` (lanes * unroll).
std::int64_t parallel_chunk(std::int64_t n, int threads, int width);

} // namespace actforge::bench
