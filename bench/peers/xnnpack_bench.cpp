// Peer: XNNPACK's f32 unary operators (Debian's 2022 snapshot: forward only, no tanh or GELU),
// a flat batch of n elements, on a pthreadpool of the case's thread count.
#include "bench_common.hpp"
#include "implementations.hpp"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <limits>

namespace actforge::bench {
namespace {

using Create = xnn_status (*)(xnn_operator_t *op);
using Setup = xnn_status (*)(xnn_operator_t op, std::int64_t n, const float *x, float *y,
                             pthreadpool_t pool);

struct Operator {
  std::string_view activation;
  Create create;
  Setup setup;
};
constexpr Operator kOperators[] = {
    {"relu",
     [](xnn_operator_t *op) {
       return xnn_create_clamp_nc_f32(1, 1, 1, 0.0f, std::numeric_limits<float>::infinity(), 0, op);
     },
     [](xnn_operator_t op, std::int64_t n, const float *x, float *y, pthreadpool_t pool) {
       return xnn_setup_clamp_nc_f32(op, static_cast<std::size_t>(n), x, y, pool);
     }},
    {"leaky_relu",
     [](xnn_operator_t *op) {
       return xnn_create_leaky_relu_nc_f32(1, 1, 1, kLeakyReluAlpha, 0, op);
     },
     [](xnn_operator_t op, std::int64_t n, const float *x, float *y, pthreadpool_t pool) {
       return xnn_setup_leaky_relu_nc_f32(op, static_cast<std::size_t>(n), x, y, pool);
     }},
    {"sigmoid", [](xnn_operator_t *op) { return xnn_create_sigmoid_nc_f32(1, 1, 1, 0, op); },
     [](xnn_operator_t op, std::int64_t n, const float *x, float *y, pthreadpool_t pool) {
       return xnn_setup_sigmoid_nc_f32(op, static_cast<std::size_t>(n), x, y, pool);
     }},
    {"elu", [](xnn_operator_t *op) { return xnn_create_elu_nc_f32(1, 1, 1, kEluAlpha, 0, op); },
     [](xnn_operator_t op, std::int64_t n, const float *x, float *y, pthreadpool_t pool) {
       return xnn_setup_elu_nc_f32(op, static_cast<std::size_t>(n), x, y, pool);
     }},
    {"hardswish", [](xnn_operator_t *op) { return xnn_create_hardswish_nc_f32(1, 1, 1, 0, op); },
     [](xnn_operator_t op, std::int64_t n, const float *x, float *y, pthreadpool_t pool) {
       return xnn_setup_hardswish_nc_f32(op, static_cast<std::size_t>(n), x, y, pool);
     }},
};

void run(benchmark::State &state, const Case &c, const Operator &o) {
  const Arrays &a = arrays(c.n);
  pthreadpool_t pool =
      c.threads > 1 ? pthreadpool_create(static_cast<std::size_t>(c.threads)) : nullptr;
  xnn_operator_t op = nullptr;
  if (o.create(&op) != xnn_status_success ||
      o.setup(op, c.n, a.x, a.out, pool) != xnn_status_success) {
    state.SkipWithError("XNNPACK: cannot create or set up the operator");
  } else {
    for (auto _ : state) {
      xnn_run_operator(op, pool);
      benchmark::ClobberMemory();
    }
  }
  if (op) xnn_delete_operator(op);
  if (pool) pthreadpool_destroy(pool);
}

} // namespace

Implementation xnnpack_implementation() {
  return {"xnnpack",
          [] {
            return std::string(xnn_initialize(nullptr) == xnn_status_success
                                   ? "XNNPACK (Debian snapshot 2022-02-16), forward operators"
                                   : "XNNPACK: xnn_initialize failed, its cases will be skipped");
          },
          [](std::int64_t n, int threads) {
            for (const Operator &o : kOperators)
              register_case("xnnpack", {o.activation, Direction::Forward, n, threads},
                            [&o](benchmark::State &s, const Case &c) { run(s, c, o); });
          }};
}

} // namespace actforge::bench
