// Peer: loops over Sleef's 1-ULP (u10) vector functions (expf, expm1f, tanhf, erff, log1pf):
// AVX-512 (Sleef_*f16_u10avx512f) where the CPU has AVX-512F, else AVX2 (Sleef_*f8_u10avx2).
// This file is compiled with the default target flags; the loops of each instruction set are
// compiled for it alone (#pragma GCC target), so no AVX-512 instruction sits in code every CPU
// runs. The formulas are in sleef_loops.inc, included once per instruction set.
#include "actforge/error.hpp"
#include "peers/peer.hpp"
#include "thread_pool.hpp"

#include <immintrin.h>
// sleef.h gives the version and CONST, and declares an instruction set's functions only where
// the whole file targets it: the ones used are declared below as sleef.h writes them.
#include <sleef.h>

#include <cstdlib>
#include <cstring>
#include <iterator>

namespace actforge::bench {
namespace {

using Loop = void (*)(const float *x, const float *dy, float *out, std::int64_t n);
struct Loops {
  std::string_view activation;
  Loop forward, backward;
};

template <std::size_t N> constexpr bool in_suite_order(const Loops (&loops)[N]) {
  if (N != kActivations.size()) return false;
  for (std::size_t i = 0; i < N; ++i)
    if (loops[i].activation != kActivations[i]) return false;
  return true;
}

} // namespace
} // namespace actforge::bench

#pragma GCC push_options
#pragma GCC target("avx2,fma")
extern "C" {
CONST __m256 Sleef_expf8_u10avx2(__m256);
CONST __m256 Sleef_expm1f8_u10avx2(__m256);
CONST __m256 Sleef_tanhf8_u10avx2(__m256);
CONST __m256 Sleef_erff8_u10avx2(__m256);
CONST __m256 Sleef_log1pf8_u10avx2(__m256);
}
namespace actforge::bench::sleef_avx2 {
namespace {
using V = __m256;
constexpr std::int64_t kLanes = 8;
V exp_(V x) { return Sleef_expf8_u10avx2(x); }
V expm1_(V x) { return Sleef_expm1f8_u10avx2(x); }
V tanh_(V x) { return Sleef_tanhf8_u10avx2(x); }
V erf_(V x) { return Sleef_erff8_u10avx2(x); }
V log1p_(V x) { return Sleef_log1pf8_u10avx2(x); }
#include "peers/sleef_loops.inc"
} // namespace
} // namespace actforge::bench::sleef_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,fma")
extern "C" {
CONST __m512 Sleef_expf16_u10avx512f(__m512);
CONST __m512 Sleef_expm1f16_u10avx512f(__m512);
CONST __m512 Sleef_tanhf16_u10avx512f(__m512);
CONST __m512 Sleef_erff16_u10avx512f(__m512);
CONST __m512 Sleef_log1pf16_u10avx512f(__m512);
}
namespace actforge::bench::sleef_avx512 {
namespace {
using V = __m512;
constexpr std::int64_t kLanes = 16;
V exp_(V x) { return Sleef_expf16_u10avx512f(x); }
V expm1_(V x) { return Sleef_expm1f16_u10avx512f(x); }
V tanh_(V x) { return Sleef_tanhf16_u10avx512f(x); }
V erf_(V x) { return Sleef_erff16_u10avx512f(x); }
V log1p_(V x) { return Sleef_log1pf16_u10avx512f(x); }
#include "peers/sleef_loops.inc"
} // namespace
} // namespace actforge::bench::sleef_avx512
#pragma GCC pop_options

namespace actforge::bench {
namespace {

static_assert(in_suite_order(sleef_avx2::kLoops) && in_suite_order(sleef_avx512::kLoops),
              "sleef_loops.inc: one row per activation, in the order of kActivations");

// ACTFORGE_BENCH_SLEEF=avx2 takes the AVX2 loops on an AVX-512 CPU too (to check them).
bool has_avx512() {
  const char *isa = std::getenv("ACTFORGE_BENCH_SLEEF");
  if (isa && std::string_view(isa) == "avx2") return false;
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

Loop loop_of(std::string_view activation, Direction d) {
  const Loops *table = has_avx512() ? sleef_avx512::kLoops : sleef_avx2::kLoops;
  for (std::size_t i = 0; i < kActivations.size(); ++i)
    if (table[i].activation == activation)
      return d == Direction::Forward ? table[i].forward : table[i].backward;
  return nullptr;
}

} // namespace

Peer sleef_peer() {
  return {
      "sleef",
      [] {
        return "Sleef " + std::to_string(SLEEF_VERSION_MAJOR) + "." +
               std::to_string(SLEEF_VERSION_MINOR) + "." +
               std::to_string(SLEEF_VERSION_PATCHLEVEL) + " u10 loops, " +
               (has_avx512() ? "AVX-512 (Sleef_*f16_u10avx512f)" : "AVX2 (Sleef_*f8_u10avx2)") +
               "; more than one thread: one part per thread";
      },
      [](std::string_view activation, Direction d) { return loop_of(activation, d) != nullptr; },
      [](std::string_view activation, Direction d, const Io &io, int threads) {
        const Loop loop = loop_of(activation, d);
        const float *dy = d == Direction::Backward ? io.dy : nullptr;
        return Prepared{[loop, io, dy, threads] {
                          parallel_for(threads, io.n, [&](std::int64_t b, std::int64_t e) {
                            loop(io.x + b, dy ? dy + b : nullptr, io.out + b, e - b);
                          });
                        },
                        has_avx512() ? "avx512f u10" : "avx2 u10"};
      }};
}

} // namespace actforge::bench
