// Peer: Eigen 3.4 array expressions (its vectorised exp, expm1, logistic, tanh and erf), the
// formulas as a numerical C++ user would write them. Compiled for x86-64-v4 so Eigen uses its
// AVX-512 packets; main() registers it only where the CPU has them.
#include "bench_common.hpp"
#include "implementations.hpp"
#include "thread_pool.hpp"

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include <cmath>

namespace actforge::bench {
namespace {

using In = Eigen::Map<const Eigen::ArrayXf>;
using Out = Eigen::Map<Eigen::ArrayXf>;
using Fn = void (*)(const In &x, const In &dy, Out &y);

void fwd_relu(const In &x, const In &, Out &y) { y = x.max(0.0f); }
void fwd_leaky_relu(const In &x, const In &, Out &y) {
  y = (x > 0.0f).select(x, kLeakyReluAlpha * x);
}
void fwd_sigmoid(const In &x, const In &, Out &y) { y = x.logistic(); }
void fwd_tanh(const In &x, const In &, Out &y) { y = x.tanh(); }
void fwd_gelu(const In &x, const In &, Out &y) {
  y = 0.5f * x * (1.0f + (x * float(M_SQRT1_2)).erf());
}
void fwd_gelu_tanh(const In &x, const In &, Out &y) {
  y = 0.5f * x * (1.0f + (0.7978845608028654f * (x + 0.044715f * x.cube())).tanh());
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

void bwd_relu(const In &x, const In &dy, Out &dx) { dx = (x > 0.0f).select(dy, 0.0f); }
void bwd_sigmoid(const In &x, const In &dy, Out &dx) {
  dx = dy * x.logistic() * (1.0f - x.logistic());
}
void bwd_tanh(const In &x, const In &dy, Out &dx) { dx = dy * (1.0f - x.tanh().square()); }
void bwd_gelu(const In &x, const In &dy, Out &dx) {
  dx = dy * (0.5f * (1.0f + (x * float(M_SQRT1_2)).erf()) +
             x * 0.3989422804014327f * (-0.5f * x.square()).exp());
}
void bwd_swish(const In &x, const In &dy, Out &dx) {
  const auto s = (kSwishBeta * x).logistic();
  dx = dy * (s + kSwishBeta * x * s * (1.0f - s));
}
void bwd_elu(const In &x, const In &dy, Out &dx) {
  static_assert(kEluAlpha == 1.0f, "e^min(x,0) is elu'(x) for alpha = 1 only");
  dx = dy * x.min(0.0f).exp();
}

struct Expression {
  std::string_view activation;
  Direction direction;
  Fn fn;
};
constexpr Expression kExpressions[] = {
    {"relu", Direction::Forward, fwd_relu},
    {"leaky_relu", Direction::Forward, fwd_leaky_relu},
    {"sigmoid", Direction::Forward, fwd_sigmoid},
    {"tanh", Direction::Forward, fwd_tanh},
    {"gelu", Direction::Forward, fwd_gelu},
    {"gelu_tanh", Direction::Forward, fwd_gelu_tanh},
    {"swish", Direction::Forward, fwd_swish},
    {"elu", Direction::Forward, fwd_elu},
    {"hardswish", Direction::Forward, fwd_hardswish},
    {"relu", Direction::Backward, bwd_relu},
    {"sigmoid", Direction::Backward, bwd_sigmoid},
    {"tanh", Direction::Backward, bwd_tanh},
    {"gelu", Direction::Backward, bwd_gelu},
    {"swish", Direction::Backward, bwd_swish},
    {"elu", Direction::Backward, bwd_elu},
};

void run(benchmark::State &state, const Case &c, Fn fn) {
  const Arrays &a = arrays(c.n);
  for (auto _ : state) {
    parallel_for(c.threads, c.n, [&](std::int64_t begin, std::int64_t end) {
      const In x(a.x + begin, end - begin), dy(a.dy + begin, end - begin);
      Out y(a.out + begin, end - begin);
      fn(x, dy, y);
    });
    benchmark::ClobberMemory();
  }
}

} // namespace

Implementation eigen_implementation() {
  return {"eigen",
          [] {
            return "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
                   std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION) +
                   " array expressions, " + Eigen::SimdInstructionSetsInUse();
          },
          [](std::int64_t n, int threads) {
            for (const Expression &e : kExpressions) {
              const Fn fn = e.fn;
              register_case("eigen", {e.activation, e.direction, n, threads},
                            [fn](benchmark::State &s, const Case &c) { run(s, c, fn); });
            }
          }};
}

} // namespace actforge::bench
