// examples/new_variant: a new activation in one line of the DSL — Swish with a learnable beta —
// and every kernel of it through actforge::jit(): forward, backward, backward_from_output (which
// this activation lacks: the error says why), the gradient of beta, and a per-channel beta in the
// [outer, C, inner] layout. Each result is checked against the DSL's own long-double evaluation
// and, for the gradient of beta, against central differences; a mismatch exits 1.
#include "actforge/dsl.hpp"
#include "actforge/runtime/jit.hpp"

#include <cmath>
#include <cstdio>
#include <vector>

using namespace actforge::dsl;
using actforge::JitOptions, actforge::Layout, actforge::Role, actforge::Shape;

// The new activation: the whole definition.
constexpr auto swish_beta = x * sigmoid(param<"beta">(1.0) * x);

using Real = long double;
Real f(Real xv, Real b) { return eval(swish_beta, xv, with<"beta">(b)); }
Real df_dx(Real xv, Real b) { return eval(d(swish_beta, x), xv, with<"beta">(b)); }
Real df_dbeta(Real xv, Real b) {
  return eval(d(swish_beta, param<"beta">(1.0)), xv, with<"beta">(b));
}

int failures = 0;
void check(const char *what, Real got, Real want, Real scale) {
  const Real err = std::fabs(got - want) / scale;
  const bool ok = err <= 1e-6L; // f32 kernels: a few roundings of values of size `scale`
  std::printf("%-44s %-4s (relative error %.1Le)\n", what, ok ? "ok" : "FAIL", err);
  failures += !ok;
}

int main() {
  const actforge::ir::Expr expr = reflect(swish_beta); // the DSL expression as runtime IR
  auto kernel = [&](JitOptions o) { return actforge::jit(expr, o, "swish_beta"); };

  const std::size_t n = 100000;
  const double beta = 1.7;
  std::vector<float> in(n), dy(n), y(n), dx(n);
  for (std::size_t i = 0; i < n; ++i) {
    in[i] = -8.0f + 16.0f * static_cast<float>(i) / n;
    dy[i] = 0.5f + static_cast<float>(i % 7) / 7.0f;
  }

  // Forward and backward: elementwise, worst error against the long-double reference.
  kernel({.role = Role::Forward}).forward(in.data(), y.data(), n, {{"beta", beta}});
  kernel({.role = Role::Backward}).backward(in.data(), dy.data(), dx.data(), n, {{"beta", beta}});
  Real worst_y = 0, worst_dx = 0;
  for (std::size_t i = 0; i < n; ++i) {
    worst_y = std::max(worst_y, std::fabs(y[i] - f(in[i], beta)) /
                                    std::max(1.0L, std::fabs(f(in[i], beta))));
    const Real want = dy[i] * df_dx(in[i], beta);
    worst_dx = std::max(worst_dx, std::fabs(dx[i] - want) / std::max(1.0L, std::fabs(want)));
  }
  check("forward  y = x*sigmoid(beta*x)", worst_y, 0, 1);
  check("backward dx = dy*f'(x)", worst_dx, 0, 1);

  // backward_from_output needs f' as a function of y = f(x); Swish has none.
  try {
    kernel({.role = Role::BackwardFromOutput});
    std::printf("backward_from_output: built, but Swish has no such form\n");
    ++failures;
  } catch (const actforge::Error &e) {
    std::printf("backward_from_output: not available: %s\n", e.what());
  }

  // param_grad: dbeta = Σ dy·∂f/∂beta, against the symbolic derivative and central differences.
  const auto grad = kernel({.role = Role::ParamGrad});
  const double dbeta = grad.param_grad(in.data(), dy.data(), n, {{"beta", beta}}).at("beta");
  Real symbolic = 0, central = 0, magnitude = 0;
  const Real h = 1e-6L;
  for (std::size_t i = 0; i < n; ++i) {
    symbolic += dy[i] * df_dbeta(in[i], beta);
    central += dy[i] * (f(in[i], beta + h) - f(in[i], beta - h)) / (2 * h);
    magnitude += std::fabs(dy[i] * df_dbeta(in[i], beta));
  }
  std::printf("dbeta = %.9g (long double %.9Lg)\n", dbeta, symbolic);
  check("param_grad vs the symbolic derivative", dbeta, symbolic, magnitude);
  check("param_grad vs central differences", dbeta, central, magnitude);

  // A beta per channel: [outer, C, inner] = [4, 3, 2500] with beta = 0.5, 1, 2.
  const Shape shape = Shape::with_channels(4, 3, 2500);
  const std::vector<float> betas = {0.5f, 1.0f, 2.0f};
  JitOptions channels{.role = Role::Forward, .layout = Layout::Channels, .per_channel = {"beta"}};
  kernel(channels).run({in.data(), betas.data()}, {y.data()}, shape);
  channels.role = Role::ParamGrad;
  std::vector<float> dbetas(3);
  kernel(channels).run({in.data(), dy.data(), betas.data()}, {dbetas.data()}, shape);
  worst_y = 0;
  std::vector<Real> sums(3), sizes(3);
  for (std::size_t e = 0; e < 4 * 3 * 2500; ++e) {
    const std::size_t c = e / 2500 % 3;
    worst_y = std::max(worst_y, std::fabs(y[e] - f(in[e], betas[c])) /
                                    std::max(1.0L, std::fabs(f(in[e], betas[c]))));
    sums[c] += dy[e] * df_dbeta(in[e], betas[c]);
    sizes[c] += std::fabs(dy[e] * df_dbeta(in[e], betas[c]));
  }
  check("channels: forward with beta per channel", worst_y, 0, 1);
  for (std::size_t c = 0; c < 3; ++c) {
    char what[64];
    std::snprintf(what, sizeof what, "channels: dbeta[%zu] = %.6g", c, dbetas[c]);
    check(what, dbetas[c], sums[c], sizes[c]);
  }
  std::printf(failures ? "new_variant: %d checks failed\n" : "new_variant: all checks passed\n",
              failures);
  return failures ? 1 : 0;
}
