// One training step of a conv layer's epilogue, the way a framework would call Actforge:
//
//   forward   y = relu(x + bias[c])          one kernel, which also counts y == 0 per channel
//                                            (dead units) while its output is in cache
//   backward  dx = dy * relu'(x + bias[c])   one call for dx and dbias[c] = sum of dx over
//             dbias                          the channel's elements (x and dy read once)
//
// Checks every value against plain loops, prints the fraction of dead units per channel, and
// flags channels that are entirely dead (no gradient reaches their bias). README: "Dead-unit
// statistics" and "Fused epilogues".
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/epilogue.hpp"
#include "actforge/runtime/jit.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
  using namespace actforge;
  const std::int64_t N = 8, C = 6, HW = 56 * 56; // [N, C, H*W]
  const Shape shape = Shape::with_channels(N, C, HW);
  const std::int64_t n = N * C * HW;
  std::vector<float> x(n), dy(n), y(n), dx(n), bias(C), dbias(C);
  for (std::int64_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>((i * 7919) % 2001 - 1000) / 500.0f;  // [-2, 2]
    dy[i] = static_cast<float>((i * 104729) % 401 - 200) / 400.0f; // [-0.5, 0.5]
  }
  for (std::int64_t c = 0; c < C; ++c)
    bias[c] = c == C - 1 ? -3.0f : 0.5f * static_cast<float>(c) - 1.0f; // the last: all dead

  const ir::Expr relu_bias =
      dsl::with_epilogue(dsl::find_activation("relu")->expr, dsl::Epilogue::Bias);
  JitOptions o{.layout = Layout::Channels, .per_channel = {"bias"}, .zero_counts = true};
  const Kernel forward = jit(relu_bias, o, "relu_bias");
  o.zero_counts = false;
  o.role = Role::Backward;
  o.with_param_grad = true;
  const Kernel backward = jit(relu_bias, o, "relu_bias");

  std::vector<std::int64_t> zeros(C);
  forward.run({x.data(), bias.data()}, {y.data(), zeros.data()}, shape);
  backward.run({x.data(), dy.data(), bias.data()}, {dx.data(), dbias.data()}, shape);

  int failures = 0;
  std::printf("channel  bias    dead units  dbias\n");
  for (std::int64_t c = 0; c < C; ++c) {
    std::int64_t want_zeros = 0;
    double want_dbias = 0, magnitude = 0;
    for (std::int64_t b = 0; b < N; ++b)
      for (std::int64_t i = 0; i < HW; ++i) {
        const std::int64_t at = (b * C + c) * HW + i;
        const float pre = x[at] + bias[c];
        const float want_y = pre > 0 ? pre : 0.0f;
        const float want_dx = pre > 0 ? dy[at] : 0.0f;
        if (y[at] != want_y || dx[at] != want_dx) ++failures;
        want_zeros += want_y == 0.0f;
        want_dbias += want_dx;
        magnitude += std::fabs(want_dx);
      }
    if (zeros[c] != want_zeros) ++failures;
    if (std::fabs(dbias[c] - want_dbias) > 1e-6 * magnitude + 1e-6) ++failures;
    const double dead = static_cast<double>(zeros[c]) / static_cast<double>(N * HW);
    std::printf("%7lld  %5.2f  %9.1f %%  %9.4f%s\n", static_cast<long long>(c), bias[c],
                100.0 * dead, dbias[c], dead == 1.0 ? "  <- dead channel: no gradient" : "");
  }
  if (failures) {
    std::printf("train_step example: %d mismatches\n", failures);
    return 1;
  }
  std::printf("train_step example: all checks passed\n");
  return 0;
}
