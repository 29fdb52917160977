// f16 storage against f32 storage, and memcpy of the same bytes, in one run (one thread, target
// host, each kernel's default schedule):
//
//   actforge/f16/<act>_<dir>   the f16 kernel (x, dy, y or dx as f16 bit patterns)
//   actforge/f32/<act>_<dir>   the f32 kernel of the same activation and role
//   memcpy/<dtype>/<dir>       moves as many bytes as the kernel of <dir> reads and writes
//
// for the x·f(x) family, whose backward kernels precision.cpp sends to f64 for f32 storage and
// keeps in f32 for f16 storage where f32 holds every f16 input, and sigmoid/tanh as controls.
// Sizes: 2^14 elements (in L1/L2) and 2^24 (out of cache). Compare times directly (real time);
// the counter "bytes" is the bytes one call moves, so GB/s compare with memcpy's.
#include "actforge/runtime/jit.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

using actforge::DType;
using actforge::JitOptions;
using actforge::Kernel;
using actforge::Role;

// f16 bit pattern of v (the inputs below are multiples of 2^-8 within ±8, and dy multiples of
// 2^-7 within ±1: exact in f16).
std::uint16_t f16_bits(float v) {
  std::uint16_t h = 0;
  actforge::codegen::store_value(&h, DType::F16, v);
  return h;
}

struct Arrays {
  std::vector<float> x, dy, out;
  std::vector<std::uint16_t> hx, hdy, hout;
  explicit Arrays(std::int64_t n)
      : x(static_cast<std::size_t>(n)), dy(x.size()), out(2 * x.size()), hx(x.size()),
        hdy(x.size()), hout(2 * x.size()) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = static_cast<float>(static_cast<int>(i * 2654435761u % 4097) - 2048) / 256.0f;
      dy[i] = static_cast<float>(static_cast<int>(i * 69069u % 257) - 128) / 128.0f;
      hx[i] = f16_bits(x[i]);
      hdy[i] = f16_bits(dy[i]);
    }
  }
};

Arrays &arrays(std::int64_t n) {
  static Arrays small(std::int64_t{1} << 14), large(std::int64_t{1} << 24);
  return n == static_cast<std::int64_t>(small.x.size()) ? small : large;
}

void run(benchmark::State &state, const std::string &activation, Role role, DType dtype,
         std::int64_t n) {
  Arrays &a = arrays(n);
  const bool bwd = role == Role::Backward;
  const std::int64_t element = dtype == DType::F16 ? 2 : 4;
  state.counters["bytes"] = benchmark::Counter(static_cast<double>((bwd ? 3 : 2) * n * element),
                                               benchmark::Counter::kIsIterationInvariantRate);
  if (activation.empty()) {
    // memcpy of the same bytes: x (and half of dy) into the output, which has room for 2n.
    const bool h = dtype == DType::F16;
    const auto *x = h ? static_cast<const char *>(static_cast<const void *>(a.hx.data()))
                      : static_cast<const char *>(static_cast<const void *>(a.x.data()));
    const auto *dy = h ? static_cast<const char *>(static_cast<const void *>(a.hdy.data()))
                       : static_cast<const char *>(static_cast<const void *>(a.dy.data()));
    auto *out = h ? static_cast<char *>(static_cast<void *>(a.hout.data()))
                  : static_cast<char *>(static_cast<void *>(a.out.data()));
    const std::size_t bytes = static_cast<std::size_t>(n * element);
    for (auto _ : state) {
      std::memcpy(out, x, bytes);
      if (bwd) std::memcpy(out + bytes, dy, bytes / 2);
      benchmark::ClobberMemory();
    }
    return;
  }
  try {
    const Kernel k = actforge::jit(activation, JitOptions{.role = role, .dtype = dtype});
    state.SetLabel(k.name());
    for (auto _ : state) {
      if (dtype == DType::F16) {
        if (bwd)
          k.run({a.hx.data(), a.hdy.data()}, {a.hout.data()}, actforge::Shape::flat(n));
        else
          k.run({a.hx.data()}, {a.hout.data()}, actforge::Shape::flat(n));
      } else if (bwd) {
        k.backward(a.x.data(), a.dy.data(), a.out.data(), n);
      } else {
        k.forward(a.x.data(), a.out.data(), n);
      }
      benchmark::ClobberMemory();
    }
  } catch (const actforge::Error &e) {
    state.SkipWithError(e.what());
  }
}

} // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  for (const std::int64_t n : {std::int64_t{1} << 14, std::int64_t{1} << 24}) {
    const std::string size = "/n:" + std::to_string(n);
    for (const DType dtype : {DType::F16, DType::F32}) {
      const std::string d = dtype == DType::F16 ? "f16" : "f32";
      for (const Role role : {Role::Forward, Role::Backward}) {
        const std::string dir = role == Role::Forward ? "fwd" : "bwd";
        for (const char *act :
             {"gelu", "gelu_tanh", "quick_gelu", "silu", "swish", "mish", "sigmoid", "tanh"})
          benchmark::RegisterBenchmark(("actforge/" + d + "/" + act + "_" + dir + size).c_str(),
                                       run, std::string(act), role, dtype, n)
              ->Unit(benchmark::kMicrosecond)
              ->UseRealTime();
        benchmark::RegisterBenchmark(("memcpy/" + d + "/" + dir + size).c_str(), run, std::string(),
                                     role, dtype, n)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
