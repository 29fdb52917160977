// Peer: XNNPACK's f32 unary operators, a flat batch of n elements, on a pthreadpool of the case's
// thread count. Debian's 2022 snapshot has relu (clamp), leaky_relu, sigmoid, elu and hardswish;
// it has no tanh, GELU, swish or mish operator and no backward operator at all (XNNPACK is an
// inference library).
#include "actforge/error.hpp"
#include "peers/peer.hpp"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <limits>
#include <memory>
#include <string>

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

Prepared prepare(std::string_view activation, Direction, const Io &io, int threads) {
  const Operator *o = nullptr;
  for (const Operator &candidate : kOperators)
    if (candidate.activation == activation) o = &candidate;
  // The pool and the operator live as long as the call (the last copy deletes them).
  std::shared_ptr<pthreadpool> pool(
      threads > 1 ? pthreadpool_create(static_cast<std::size_t>(threads)) : nullptr,
      [](pthreadpool_t p) {
        if (p) pthreadpool_destroy(p);
      });
  xnn_operator_t raw = nullptr;
  const xnn_status created = o->create(&raw);
  std::shared_ptr<xnn_operator> op(raw, [](xnn_operator_t p) {
    if (p) xnn_delete_operator(p);
  });
  const xnn_status status =
      created != xnn_status_success ? created : o->setup(op.get(), io.n, io.x, io.out, pool.get());
  if (status != xnn_status_success)
    throw Error("XNNPACK: cannot create or set up the " + std::string(activation) +
                " operator (xnn_status " + std::to_string(static_cast<int>(status)) +
                "; was xnn_initialize successful?)");
  return {[op, pool] { xnn_run_operator(op.get(), pool.get()); }, "f32 nc operator"};
}

} // namespace

Peer xnnpack_peer() {
  return {"xnnpack",
          [] {
            return std::string(xnn_initialize(nullptr) == xnn_status_success
                                   ? "XNNPACK (Debian snapshot 2022-02-16), forward operators"
                                   : "XNNPACK: xnn_initialize failed, its cases will be skipped");
          },
          [](std::string_view activation, Direction d) {
            if (d != Direction::Forward) return false; // XNNPACK has no backward operators
            for (const Operator &o : kOperators)
              if (o.activation == activation) return true;
            return false;
          },
          prepare};
}

} // namespace actforge::bench
