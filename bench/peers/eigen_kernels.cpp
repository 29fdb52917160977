// Eigen 3.4 array expressions (its vectorised exp, log1p, logistic, tanh and erf): the formulas as
// a numerical C++ user would write them. Compiled for x86-64-v4 so Eigen uses its AVX-512
// packets; peers() registers Eigen only where the CPU has them. Nothing but Eigen lives here (see
// eigen_kernels.hpp).
#include "peers/eigen_kernels.hpp"

#include "bench_common.hpp"

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include <array>
#include <cstdio>
#include <cstring>
#include <utility>

namespace actforge::bench::eigen {
namespace {

using In = Eigen::Map<const Eigen::ArrayXf>;
using Out = Eigen::Map<Eigen::ArrayXf>;
using Fn = void (*)(const In &x, const In &dy, Out &y);

constexpr float kSqrtHalf = 0.70710678118654752f;  // 1/√2
constexpr float kInvSqrt2Pi = 0.3989422804014327f; // 1/√(2π)
constexpr float kGeluTanhK = 0.7978845608028654f;  // √(2/π)
constexpr float kGeluTanhC = 0.044715f;

void fwd_relu(const In &x, const In &, Out &y) { y = x.max(0.0f); }
void fwd_leaky_relu(const In &x, const In &, Out &y) {
  y = (x > 0.0f).select(x, kLeakyReluAlpha * x);
}
void fwd_sigmoid(const In &x, const In &, Out &y) { y = x.logistic(); }
void fwd_tanh(const In &x, const In &, Out &y) { y = x.tanh(); }
void fwd_gelu(const In &x, const In &, Out &y) { y = 0.5f * x * (1.0f + (x * kSqrtHalf).erf()); }
void fwd_gelu_tanh(const In &x, const In &, Out &y) {
  y = 0.5f * x * (1.0f + (kGeluTanhK * (x + kGeluTanhC * x.cube())).tanh());
}
void fwd_swish(const In &x, const In &, Out &y) { y = x * (kSwishBeta * x).logistic(); }
// Eigen 3.4 evaluates select() and expm1() one lane at a time (a scalar expm1f or expf call per
// element), so ELU is written with min/max, which stay in vector registers.
void fwd_elu(const In &x, const In &, Out &y) {
  y = x.max(0.0f) + kEluAlpha * (x.min(0.0f).exp() - 1.0f);
}
void fwd_hardswish(const In &x, const In &, Out &y) {
  y = x * (x + 3.0f).max(0.0f).min(6.0f) * (1.0f / 6.0f);
}
void fwd_mish(const In &x, const In &, Out &y) { y = x * x.exp().log1p().tanh(); }

void bwd_relu(const In &x, const In &dy, Out &dx) { dx = (x > 0.0f).select(dy, 0.0f); }
void bwd_leaky_relu(const In &x, const In &dy, Out &dx) {
  dx = (x > 0.0f).select(dy, kLeakyReluAlpha * dy);
}
void bwd_sigmoid(const In &x, const In &dy, Out &dx) {
  dx = dy * x.logistic() * (1.0f - x.logistic());
}
void bwd_tanh(const In &x, const In &dy, Out &dx) { dx = dy * (1.0f - x.tanh().square()); }
void bwd_gelu(const In &x, const In &dy, Out &dx) {
  dx = dy * (0.5f * (1.0f + (x * kSqrtHalf).erf()) + x * kInvSqrt2Pi * (-0.5f * x.square()).exp());
}
void bwd_gelu_tanh(const In &x, const In &dy, Out &dx) {
  const auto t = (kGeluTanhK * (x + kGeluTanhC * x.cube())).tanh();
  dx = dy * (0.5f * (1.0f + t) +
             0.5f * x * (1.0f - t.square()) * kGeluTanhK * (1.0f + 3.0f * kGeluTanhC * x.square()));
}
void bwd_swish(const In &x, const In &dy, Out &dx) {
  const auto s = (kSwishBeta * x).logistic();
  dx = dy * (s + kSwishBeta * x * s * (1.0f - s));
}
void bwd_elu(const In &x, const In &dy, Out &dx) {
  static_assert(kEluAlpha == 1.0f, "e^min(x,0) is elu'(x) for alpha = 1 only");
  dx = dy * x.min(0.0f).exp();
}
// The kink conventions of ACTIVATIONS.md: hardswish'(-3) = 0, hardswish'(3) = 1.
void bwd_hardswish(const In &x, const In &dy, Out &dx) {
  dx = dy * (x > -3.0f).select((x < 3.0f).select((2.0f * x + 3.0f) * (1.0f / 6.0f), 1.0f), 0.0f);
}
void bwd_mish(const In &x, const In &dy, Out &dx) {
  const auto t = x.exp().log1p().tanh();
  dx = dy * (t + x * x.logistic() * (1.0f - t.square()));
}

struct Expressions {
  const char *activation;
  Fn forward, backward;
};
constexpr Expressions kExpressions[] = {
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

template <Fn F> void apply(const float *x, const float *dy, float *out, std::int64_t n) {
  const In vx(x, n), vdy(dy ? dy : x, n); // forward expressions never read dy
  Out y(out, n);
  F(vx, vdy, y);
}

template <std::size_t... I> constexpr auto loops(std::index_sequence<I...>) {
  struct Row {
    const char *activation;
    Loop forward, backward;
  };
  return std::array<Row, sizeof...(I)>{{{kExpressions[I].activation, apply<kExpressions[I].forward>,
                                         apply<kExpressions[I].backward>}...}};
}
constexpr auto kLoops = loops(std::make_index_sequence<std::size(kExpressions)>{});

} // namespace

Loop loop(const char *name, bool backward) {
  for (const auto &row : kLoops)
    if (std::strcmp(row.activation, name) == 0) return backward ? row.backward : row.forward;
  return nullptr;
}

const char *describe() {
  static char text[256];
  std::snprintf(text, sizeof text, "Eigen %d.%d.%d array expressions, %s", EIGEN_WORLD_VERSION,
                EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, Eigen::SimdInstructionSetsInUse());
  return text;
}

} // namespace actforge::bench::eigen
