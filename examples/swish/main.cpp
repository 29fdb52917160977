// examples/swish: write an activation in one line, get its derivatives at compile time and in IR.
#include "actforge/dsl.hpp"
#include "actforge/ir/print.hpp"

#include <cstdio>

using namespace actforge::dsl;

// Swish with a learnable beta: the whole definition.
constexpr auto swish = x * sigmoid(param<"beta">(1.0) * x);

// Derivatives are compile-time expressions too; piecewise-linear ones evaluate in constexpr.
constexpr auto relu = max(x, 0);
static_assert(eval(d(relu, x), 2.0) == 1 && eval(d(relu, x), 0.0) == 0); // relu'(0) = 0

int main() {
  const long double at = 1.5L;
  std::printf("swish(%.1Lf)          = %.18Lf\n", at, eval(swish, at));
  std::printf("d swish/dx          = %.18Lf\n", eval(d(swish, x), at));
  std::printf("d swish/dx (beta=2) = %.18Lf\n", eval(d(swish, x), at, with<"beta">(2.0L)));
  std::printf("d swish/dbeta       = %.18Lf\n", eval(d(swish, param<"beta">(1.0)), at));
  std::printf("dual-number check   = %.18Lf\n", eval(swish, dual<long double>{at, 1}).d);
  // The same expression as runtime IR: what code generators and the CLI work on.
  std::printf("IR:         %s\n", actforge::ir::print(reflect(swish)).c_str());
  std::printf("derivative: %s\n", actforge::ir::print(reflect(d(swish, x))).c_str());
}
