// Our kernels, through the public API only: actforge::jit(name, {role, dtype, target, schedule})
// and Kernel::forward/backward. One thread is the target's default schedule; all threads is the
// same schedule with a parallel chunk (Halide's thread pool runs the chunks).
#include "actforge/runtime/jit.hpp"
#include "bench_common.hpp"
#include "implementations.hpp"

namespace actforge::bench {
namespace {

Kernel make_kernel(const Case &c) {
  JitOptions options{.role = c.direction == Direction::Forward ? Role::Forward : Role::Backward,
                     .dtype = DType::F32,
                     .target = "host",
                     .schedule = std::nullopt};
  Kernel serial = jit(c.activation, options);
  if (c.threads <= 1) return serial;
  codegen::Schedule s = serial.schedule();
  s.parallel_chunk = parallel_chunk(c.n, c.threads, s.lanes * s.unroll);
  options.schedule = s;
  return jit(c.activation, options);
}

void run(benchmark::State &state, const Case &c) {
  try {
    const Kernel k = make_kernel(c);
    state.SetLabel(k.name());
    const Arrays &a = arrays(c.n);
    if (c.direction == Direction::Forward) {
      for (auto _ : state) {
        k.forward(a.x, a.out, c.n);
        benchmark::ClobberMemory();
      }
    } else {
      for (auto _ : state) {
        k.backward(a.x, a.dy, a.out, c.n);
        benchmark::ClobberMemory();
      }
    }
  } catch (const Error &e) {
    state.SkipWithError(e.what());
  }
}

} // namespace

Implementation actforge_implementation() {
  return {"actforge", [] { return "actforge::jit, target host: " + jit("relu").name(); },
          [](std::int64_t n, int threads) {
            for (const std::string_view act : kActivations)
              for (const Direction d : kDirections)
                register_case("actforge", {act, d, n, threads}, run);
          }};
}

} // namespace actforge::bench
