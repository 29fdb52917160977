// examples/jit_host: a C++ host authors Swish in the DSL, JIT-compiles its forward and backward
// kernels for this CPU and runs them.
#include "actforge/dsl.hpp"
#include "actforge/runtime/jit.hpp"

#include <cmath>
#include <cstdio>
#include <vector>

using namespace actforge::dsl;

int main() {
  constexpr auto swish = x * sigmoid(param<"beta">(1.0) * x);
  const actforge::ir::Expr expr = reflect(swish);

  const auto fwd = actforge::jit(expr, {}, "swish");
  actforge::JitOptions backward;
  backward.role = actforge::Role::Backward;
  const auto bwd = actforge::jit(expr, backward, "swish");
  std::printf("compiled %s and %s\n", fwd.name().c_str(), bwd.name().c_str());

  const std::size_t n = 1 << 20;
  std::vector<float> in(n), y(n), dy(n, 1.0f), dx(n);
  for (std::size_t i = 0; i < n; ++i)
    in[i] = -8.0f + 16.0f * static_cast<float>(i) / n;
  fwd.forward(in.data(), y.data(), static_cast<std::int64_t>(n), {{"beta", 1.5}});
  bwd.backward(in.data(), dy.data(), dx.data(), static_cast<std::int64_t>(n), {{"beta", 1.5}});

  // Compare a few points with the compile-time reference of the same expression.
  double worst = 0;
  for (std::size_t i = 0; i < n; i += 4099) {
    const long double xi = in[i];
    const long double ref_y = eval(swish, xi, with<"beta">(1.5L));
    const long double ref_dx = eval(d(swish, x), xi, with<"beta">(1.5L));
    worst = std::max(
        {worst, static_cast<double>(std::fabs(y[i] - ref_y) / std::max(1e-30L, std::fabs(ref_y))),
         static_cast<double>(std::fabs(dx[i] - ref_dx) / std::max(1e-3L, std::fabs(ref_dx)))});
  }
  std::printf(
      "swish(1.5 at x=%g) = %g, d/dx = %g; worst relative difference from the reference %.2e\n",
      in[n / 2 + 100000], y[n / 2 + 100000], dx[n / 2 + 100000], worst);
  return worst < 1e-5 ? 0 : 1;
}
