// Dead-unit counts (JitOptions::zero_counts) against the same work in two passes, and memcpy, in
// one run (f32, one thread, layout [outer, C, inner]):
//
//   plain     y = f(x)                              the kernel alone
//   fused     y = f(x), zeros[c] = #(y == 0)        the counting kernel (blocks of 2^14,
//                                                   each counted while cached)
//   separate  y = f(x); then a count over all of y  a second pass over memory
//   memcpy    y = x                                 the floor for reading x and writing y
//
// for relu, gelu and hardswish forward and relu backward (dx counted; reads x and dy). Sizes:
// [1, 64, 256] (16 Ki elements, in cache) and [16, 256, 4096] (16 Mi, 64 MiB per array, out of
// cache). Compare times directly (real time; the counter "bytes" is the arrays moved).
#include "channel_size.hpp"

#include "actforge/runtime/jit.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

using actforge::JitOptions;
using actforge::Kernel;
using actforge::Layout;
using actforge::Role;

using Size = actforge::bench::ChannelSize;

struct Arrays {
  std::vector<float> x, dy, y;
  std::vector<std::int64_t> zeros;
  explicit Arrays(const Size &s)
      : x(static_cast<std::size_t>(s.n())), dy(x.size()), y(x.size()),
        zeros(static_cast<std::size_t>(s.channels)) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = static_cast<float>(static_cast<int>(i * 2654435761u % 2001) - 1000) / 250.0f;
      dy[i] = static_cast<float>(static_cast<int>(i * 69069u % 201) - 100) / 100.0f;
    }
  }
};

// What a training loop without zero_counts would do: count y after the kernel, channel by
// channel, with the same vectorised bit test as the fused count (this file is built at -O3).
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) std::uint32_t
count_row(const std::uint32_t *row, std::int64_t n) {
  std::uint32_t count = 0;
  for (std::int64_t i = 0; i < n; ++i)
    count += (row[i] & 0x7fffffffu) == 0;
  return count;
}
void count_pass(const float *y, const Size &s, std::int64_t *zeros) {
  for (std::int64_t o = 0; o < s.outer; ++o)
    for (std::int64_t c = 0; c < s.channels; ++c)
      zeros[c] += count_row(
          reinterpret_cast<const std::uint32_t *>(y + (o * s.channels + c) * s.inner), s.inner);
}

enum class Variant { Plain, Fused, Separate, Memcpy };

void run(benchmark::State &state, const std::string &activation, Role role, Variant v, Size s) {
  Arrays a(s);
  JitOptions options{.role = role, .layout = Layout::Channels};
  const Kernel plain = actforge::jit(activation, options);
  options.zero_counts = true;
  const Kernel fused = actforge::jit(activation, options);
  const bool backward = role != Role::Forward;
  for (auto _ : state) {
    switch (v) {
    case Variant::Plain:
      if (backward)
        plain.run({a.x.data(), a.dy.data()}, {a.y.data()}, s.shape());
      else
        plain.run({a.x.data()}, {a.y.data()}, s.shape());
      break;
    case Variant::Fused:
      if (backward)
        fused.run({a.x.data(), a.dy.data()}, {a.y.data(), a.zeros.data()}, s.shape());
      else
        fused.run({a.x.data()}, {a.y.data(), a.zeros.data()}, s.shape());
      break;
    case Variant::Separate:
      if (backward)
        plain.run({a.x.data(), a.dy.data()}, {a.y.data()}, s.shape());
      else
        plain.run({a.x.data()}, {a.y.data()}, s.shape());
      std::fill(a.zeros.begin(), a.zeros.end(), 0);
      count_pass(a.y.data(), s, a.zeros.data());
      break;
    case Variant::Memcpy: std::memcpy(a.y.data(), a.x.data(), a.x.size() * sizeof(float)); break;
    }
    benchmark::DoNotOptimize(a.y.data());
    benchmark::DoNotOptimize(a.zeros.data());
    benchmark::ClobberMemory();
  }
  const double arrays = v == Variant::Memcpy ? 2 : backward ? 3 : 2;
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * s.n() * 4 *
                          static_cast<std::int64_t>(arrays));
}

} // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  const Size sizes[] = {{1, 64, 256}, {16, 256, 4096}};
  const struct {
    const char *activation;
    Role role;
  } kernels[] = {{"relu", Role::Forward},
                 {"gelu", Role::Forward},
                 {"hardswish", Role::Forward},
                 {"relu", Role::Backward}};
  const std::pair<Variant, const char *> variants[] = {
      {Variant::Plain, "plain"}, {Variant::Fused, "fused"}, {Variant::Separate, "separate"}};
  for (const Size &s : sizes) {
    const std::string size =
        std::to_string(s.outer) + "x" + std::to_string(s.channels) + "x" + std::to_string(s.inner);
    for (const auto &k : kernels)
      for (const auto &[v, tag] : variants) {
        const std::string name = std::string(tag) + "/" + k.activation + "_" +
                                 (k.role == Role::Forward ? "fwd" : "bwd") + "/" + size;
        benchmark::RegisterBenchmark(name.c_str(), run, std::string(k.activation), k.role, v, s)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
    benchmark::RegisterBenchmark(("memcpy/" + size).c_str(), run, std::string("relu"),
                                 Role::Forward, Variant::Memcpy, s)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
