// The bar out of cache: memcpy of the bytes a kernel moves, on the same threads, in the same run.
// A forward kernel reads n and writes n floats: memcpy of n floats moves the same bytes; a
// backward kernel moves 3n floats: memcpy of 1.5n floats. All-threads memcpy splits the copy
// into one contiguous part per thread.
//
// Beside it, `copy`: the same copy as a vector loop of ordinary stores. Above glibc's
// non-temporal threshold (x86_non_temporal_threshold, about 3/4 of the L3 per thread) memcpy
// streams its stores past the cache and saves the read-for-ownership of every destination line;
// a kernel with ordinary stores pays it. `copy` is that kernel's bar without the saving, so the
// two ratios tell a store policy gap from a compute gap.
#include "bench_common.hpp"
#include "implementations.hpp"
#include "thread_pool.hpp"

#include <immintrin.h>

#include <cstring>

namespace actforge::bench {
namespace {

void copy(benchmark::State &state, const Case &c) {
  const Arrays &a = arrays(c.n);
  const std::int64_t floats = bytes_moved(c.direction, c.n) / 2 / std::int64_t{sizeof(float)};
  const float *src = a.x; // x and dy are one block of 2n floats
  float *dst = a.out;     // 2n floats
  for (auto _ : state) {
    parallel_for(c.threads, floats, [&](std::int64_t begin, std::int64_t end) {
      std::memcpy(dst + begin, src + begin, static_cast<std::size_t>(end - begin) * sizeof(float));
    });
    benchmark::ClobberMemory();
  }
}

__attribute__((target("avx512f"))) void copy_avx512(const float *src, float *dst, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512 a = _mm512_loadu_ps(src + i), b = _mm512_loadu_ps(src + i + 16);
    const __m512 c = _mm512_loadu_ps(src + i + 32), d = _mm512_loadu_ps(src + i + 48);
    _mm512_storeu_ps(dst + i, a);
    _mm512_storeu_ps(dst + i + 16, b);
    _mm512_storeu_ps(dst + i + 32, c);
    _mm512_storeu_ps(dst + i + 48, d);
  }
  for (; i < n; ++i)
    dst[i] = src[i];
}

__attribute__((target("avx2"))) void copy_avx2(const float *src, float *dst, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256 a = _mm256_loadu_ps(src + i), b = _mm256_loadu_ps(src + i + 8);
    const __m256 c = _mm256_loadu_ps(src + i + 16), d = _mm256_loadu_ps(src + i + 24);
    _mm256_storeu_ps(dst + i, a);
    _mm256_storeu_ps(dst + i + 8, b);
    _mm256_storeu_ps(dst + i + 16, c);
    _mm256_storeu_ps(dst + i + 24, d);
  }
  for (; i < n; ++i)
    dst[i] = src[i];
}

void copy_loop(benchmark::State &state, const Case &c) {
  const Arrays &a = arrays(c.n);
  const std::int64_t floats = bytes_moved(c.direction, c.n) / 2 / std::int64_t{sizeof(float)};
  const auto loop = __builtin_cpu_supports("avx512f") ? copy_avx512
                    : __builtin_cpu_supports("avx2")  ? copy_avx2
                                                      : nullptr;
  if (!loop) {
    state.SkipWithError("the copy loop needs AVX2");
    return;
  }
  for (auto _ : state) {
    parallel_for(c.threads, floats, [&](std::int64_t begin, std::int64_t end) {
      loop(a.x + begin, a.out + begin, end - begin);
    });
    benchmark::ClobberMemory();
  }
}

} // namespace

Implementation copy_implementation() {
  return {"copy",
          [] {
            return std::string(__builtin_cpu_supports("avx512f") ? "AVX-512" : "AVX2 (or none)") +
                   " copy loop with ordinary stores (no non-temporal stores)";
          },
          [](std::int64_t n, int threads) {
            for (const Direction d : kDirections)
              register_case("copy", {"", d, n, threads}, copy_loop);
          }};
}

Implementation memcpy_implementation() {
  return {"memcpy",
          [] { return std::string("glibc memcpy; more than one thread: one part per thread"); },
          [](std::int64_t n, int threads) {
            for (const Direction d : kDirections)
              register_case("memcpy", {"", d, n, threads}, copy);
          }};
}

} // namespace actforge::bench
