// The plain C++ loop: the formulas of ACTIVATIONS.md as a C++ user writes them, with std::exp,
// std::expm1, std::tanh, std::erf and std::log1p, one element at a time. CMake compiles this file
// with -O3 and the default target flags (no -march): glibc's scalar libm calls do not vectorise
// without -ffast-math, so this is the floor a library has to beat.
#include "peers/peer.hpp"
#include "thread_pool.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

namespace actforge::bench {
namespace {

constexpr float kSqrtHalf = 0.70710678118654752f;  // 1/√2
constexpr float kInvSqrt2Pi = 0.3989422804014327f; // 1/√(2π)
constexpr float kGeluTanhK = 0.7978845608028654f;  // √(2/π)
constexpr float kGeluTanhC = 0.044715f;

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float gelu_tanh_u(float x) { return kGeluTanhK * (x + kGeluTanhC * x * x * x); }

float fwd_relu(float x, float) { return std::max(x, 0.0f); } // std::max(NaN, 0) is NaN
float fwd_leaky_relu(float x, float) { return x > 0.0f ? x : kLeakyReluAlpha * x; }
float fwd_sigmoid(float x, float) { return sigmoid(x); }
float fwd_tanh(float x, float) { return std::tanh(x); }
float fwd_gelu(float x, float) { return 0.5f * x * (1.0f + std::erf(x * kSqrtHalf)); }
float fwd_gelu_tanh(float x, float) { return 0.5f * x * (1.0f + std::tanh(gelu_tanh_u(x))); }
float fwd_swish(float x, float) { return x * sigmoid(kSwishBeta * x); }
float fwd_elu(float x, float) { return x > 0.0f ? x : kEluAlpha * std::expm1(x); }
float fwd_hardswish(float x, float) { return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
float fwd_mish(float x, float) { return x * std::tanh(std::log1p(std::exp(x))); }

float bwd_relu(float x, float dy) { return x > 0.0f ? dy : 0.0f * dy; }
float bwd_leaky_relu(float x, float dy) { return x > 0.0f ? dy : kLeakyReluAlpha * dy; }
float bwd_sigmoid(float x, float dy) {
  const float s = sigmoid(x);
  return dy * s * (1.0f - s);
}
float bwd_tanh(float x, float dy) {
  const float t = std::tanh(x);
  return dy * (1.0f - t * t);
}
float bwd_gelu(float x, float dy) {
  const float cdf = 0.5f * (1.0f + std::erf(x * kSqrtHalf));
  return dy * (cdf + x * kInvSqrt2Pi * std::exp(-0.5f * x * x));
}
float bwd_gelu_tanh(float x, float dy) {
  const float t = std::tanh(gelu_tanh_u(x));
  const float du = kGeluTanhK * (1.0f + 3.0f * kGeluTanhC * x * x);
  return dy * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du);
}
float bwd_swish(float x, float dy) {
  const float s = sigmoid(kSwishBeta * x);
  return dy * (s + kSwishBeta * x * s * (1.0f - s));
}
float bwd_elu(float x, float dy) { return x > 0.0f ? dy : dy * kEluAlpha * std::exp(x); }
// The kink conventions of ACTIVATIONS.md: hardswish'(-3) = 0, hardswish'(3) = 1.
float bwd_hardswish(float x, float dy) {
  if (x <= -3.0f) return 0.0f * dy;
  if (x >= 3.0f) return dy;
  return dy * (2.0f * x + 3.0f) / 6.0f;
}
float bwd_mish(float x, float dy) {
  const float t = std::tanh(std::log1p(std::exp(x)));
  return dy * (t + x * sigmoid(x) * (1.0f - t * t));
}

using Fn = float (*)(float x, float dy);
struct Formula {
  std::string_view activation;
  Fn forward, backward;
};
constexpr Formula kFormulas[] = {
    {"relu", fwd_relu, bwd_relu},
    {"leaky_relu", fwd_leaky_relu, bwd_leaky_relu},
    {"sigmoid", fwd_sigmoid, bwd_sigmoid},
    {"tanh", fwd_tanh, bwd_tanh},
    {"gelu", fwd_gelu, bwd_gelu},
    {"gelu_tanh", fwd_gelu_tanh, bwd_gelu_tanh},
    {"swish", fwd_swish, bwd_swish},
    {"elu", fwd_elu, bwd_elu},
    {"hardswish", fwd_hardswish, bwd_hardswish},
    {"mish", fwd_mish, bwd_mish},
};

// One loop per formula, so the compiler inlines the formula into it (as a user's loop would).
template <Fn F> void apply(const float *x, const float *dy, float *out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    out[i] = F(x[i], dy ? dy[i] : 1.0f);
}
using Loop = void (*)(const float *, const float *, float *, std::int64_t);
template <std::size_t... I> constexpr auto make_loops(std::index_sequence<I...>) {
  return std::array<std::array<Loop, 2>, sizeof...(I)>{
      {{apply<kFormulas[I].forward>, apply<kFormulas[I].backward>}...}};
}
constexpr auto kLoops = make_loops(std::make_index_sequence<std::size(kFormulas)>{});

Loop loop_of(std::string_view activation, Direction d) {
  for (std::size_t i = 0; i < std::size(kFormulas); ++i)
    if (kFormulas[i].activation == activation) return kLoops[i][d == Direction::Forward ? 0 : 1];
  return nullptr;
}

} // namespace

Peer loop_peer() {
  return {
      "loop",
      [] {
        return std::string("plain C++ loop (std::exp/expm1/tanh/erf/log1p, scalar, -O3, "
                           "default target flags); more than one thread: one part per thread");
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
                        "scalar"};
      }};
}

} // namespace actforge::bench
