// Fused epilogues against the same work unfused, in one run (f32, one thread, layout
// [outer, C, inner]). Both sides are Actforge kernels, so the difference is the fusion alone:
//
//   forward   fused    y = f(pre(x))                      one kernel
//             unfused  t = pre(x); y = f(t)               two kernels (t stays for backward)
//   backward  fused    dx = dy·f'(pre(x))·∂pre/∂x         backward and param_grad in one call
//                      d<p> = Σ dy·f'(pre(x))·∂pre/∂p     (JitOptions::with_param_grad: block
//                                                         by block, x and dy read once)
//             fused_two_calls                             the same two kernels, each over all
//             unfused  dt = dy·f'(t)                      f's backward on the stored t
//                      d<p> = Σ dt·∂pre/∂p                pre's param_grad (bias, affine)
//                      dx = dt·∂pre/∂x                    pre's backward (affine; bias and
//                                                         residual pass dt on as dx: no work)
//
// with pre = x + bias, scale·x + shift (affine), x + r (residual; fused backward also writes
// dr, which unfused shares with dx). Sizes: [1, 64, 256] (16 Ki, in cache) and [16, 256, 4096]
// (16 Mi, out of cache). Each counter "bytes" is what the variant moves; compare times directly.
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/epilogue.hpp"
#include "channel_size.hpp"

#include "actforge/runtime/jit.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using actforge::JitOptions;
using actforge::Kernel;
using actforge::Layout;
using actforge::Role;
using actforge::dsl::Epilogue;

using Size = actforge::bench::ChannelSize;

struct Buffers {
  std::vector<float> x, r, t, y, dy, dt, dx, dr, b, scale, shift, db, dscale, dshift;
  explicit Buffers(const Size &s) {
    const auto n = static_cast<std::size_t>(s.n()), c = static_cast<std::size_t>(s.channels);
    for (auto *v : {&x, &r, &t, &y, &dy, &dt, &dx, &dr})
      v->assign(n, 0.0f);
    for (auto *v : {&b, &scale, &shift, &db, &dscale, &dshift})
      v->assign(c, 0.0f);
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = static_cast<float>(static_cast<int>(i * 2654435761u % 2001) - 1000) / 250.0f;
      r[i] = static_cast<float>(static_cast<int>(i * 40503u % 1001) - 500) / 500.0f;
      dy[i] = static_cast<float>(static_cast<int>(i * 69069u % 201) - 100) / 100.0f;
    }
    for (std::size_t i = 0; i < c; ++i) {
      b[i] = static_cast<float>(i % 7) / 8.0f - 0.375f;
      scale[i] = 1.0f + static_cast<float>(i % 5) / 16.0f;
      shift[i] = static_cast<float>(i % 3) / 4.0f - 0.25f;
    }
  }
};

Kernel kernel(actforge::ir::Expr e, Role role, Epilogue ep, const std::string &name,
              bool with_param_grad = false) {
  JitOptions o;
  o.with_param_grad = with_param_grad;
  o.role = role;
  o.layout = Layout::Channels;
  o.per_channel = actforge::dsl::epilogue_params(ep);
  if (role == Role::ParamGrad || with_param_grad)
    o.wrt = o.per_channel; // not the activation's own (swish's beta)
  o.use_tuning_db = false;
  return actforge::jit(e, o, name);
}

void call(const Kernel &k, const std::vector<const void *> &in, const std::vector<void *> &out,
          const Size &s) {
  k.run(in, out, s.shape());
}

// pre(x) as an activation of its own: the identity under the epilogue.
actforge::ir::Expr pre(Epilogue ep) {
  return actforge::dsl::with_epilogue(actforge::ir::input(0), ep);
}

void fused(benchmark::State &state, std::string act, Epilogue ep, bool backward, Size s,
           bool one_call) {
  const auto f = actforge::dsl::with_epilogue(actforge::dsl::find_activation(act)->expr, ep);
  const std::string name = act + "_" + std::string(actforge::dsl::to_string(ep));
  Buffers a(s);
  std::vector<const void *> params; // per-channel parameter buffers, in name order
  if (ep == Epilogue::Bias) params = {a.b.data()};
  if (ep == Epilogue::Affine) params = {a.scale.data(), a.shift.data()};
  std::vector<const void *> in{a.x.data()};
  if (ep == Epilogue::Residual) in.push_back(a.r.data());
  if (!backward) {
    const Kernel k = kernel(f, Role::Forward, ep, name);
    in.insert(in.end(), params.begin(), params.end());
    for (auto _ : state) {
      call(k, in, {a.y.data()}, s);
      benchmark::ClobberMemory();
    }
    return;
  }
  in.push_back(a.dy.data());
  in.insert(in.end(), params.begin(), params.end());
  const Kernel bwd = kernel(f, Role::Backward, ep, name);
  std::vector<void *> out{a.dx.data()};
  if (ep == Epilogue::Residual) out.push_back(a.dr.data());
  std::vector<void *> grads;
  if (ep == Epilogue::Bias) grads = {a.db.data()};
  if (ep == Epilogue::Affine) grads = {a.dscale.data(), a.dshift.data()};
  const bool with_grads = !grads.empty();
  const Kernel pg = with_grads ? kernel(f, Role::ParamGrad, ep, name) : bwd;
  if (one_call && with_grads) {
    const Kernel both = kernel(f, Role::Backward, ep, name, true);
    out.insert(out.end(), grads.begin(), grads.end());
    for (auto _ : state) {
      call(both, in, out, s);
      benchmark::ClobberMemory();
    }
    return;
  }
  for (auto _ : state) {
    call(bwd, in, out, s);
    if (with_grads) call(pg, in, grads, s);
    benchmark::ClobberMemory();
  }
}

void unfused(benchmark::State &state, std::string act, Epilogue ep, bool backward, Size s) {
  const auto f = actforge::dsl::find_activation(act)->expr;
  const auto p = pre(ep);
  const std::string pname = "pre_" + std::string(actforge::dsl::to_string(ep));
  Buffers a(s);
  std::vector<const void *> params;
  if (ep == Epilogue::Bias) params = {a.b.data()};
  if (ep == Epilogue::Affine) params = {a.scale.data(), a.shift.data()};
  std::vector<const void *> pre_in{a.x.data()};
  if (ep == Epilogue::Residual) pre_in.push_back(a.r.data());
  pre_in.insert(pre_in.end(), params.begin(), params.end());
  if (!backward) {
    const Kernel kp = kernel(p, Role::Forward, ep, pname);
    const Kernel kf = kernel(f, Role::Forward, Epilogue::None, act);
    for (auto _ : state) {
      call(kp, pre_in, {a.t.data()}, s);
      call(kf, {a.t.data()}, {a.y.data()}, s);
      benchmark::ClobberMemory();
    }
    return;
  }
  const Kernel kf = kernel(f, Role::Backward, Epilogue::None, act);
  // pre's gradients of dt: x and dt in, then the parameter buffers.
  std::vector<const void *> pre_bwd_in{a.x.data(), a.dt.data()};
  pre_bwd_in.insert(pre_bwd_in.end(), params.begin(), params.end());
  std::vector<void *> grads;
  if (ep == Epilogue::Bias) grads = {a.db.data()};
  if (ep == Epilogue::Affine) grads = {a.dscale.data(), a.dshift.data()};
  const bool with_grads = !grads.empty(), with_dx = ep == Epilogue::Affine;
  const Kernel pg = with_grads ? kernel(p, Role::ParamGrad, ep, pname) : kf;
  const Kernel px = with_dx ? kernel(p, Role::Backward, ep, pname) : kf;
  for (auto _ : state) {
    call(kf, {a.t.data(), a.dy.data()}, {a.dt.data()}, s);
    if (with_grads) call(pg, pre_bwd_in, grads, s);
    if (with_dx) call(px, pre_bwd_in, {a.dx.data()}, s);
    benchmark::ClobberMemory();
  }
}

const bool registered = [] {
  const Size sizes[] = {{1, 64, 256}, {16, 256, 4096}};
  for (const char *act : {"relu", "gelu", "swish"})
    for (Epilogue ep : {Epilogue::Bias, Epilogue::Affine, Epilogue::Residual})
      for (bool backward : {false, true})
        for (const Size &s : sizes) {
          const std::string tag = std::string(act) + "/" +
                                  std::string(actforge::dsl::to_string(ep)) + "/" +
                                  (backward ? "bwd" : "fwd") + "/" + std::to_string(s.n());
          benchmark::RegisterBenchmark(("fused/" + tag).c_str(), fused, act, ep, backward, s, true)
              ->Unit(benchmark::kMicrosecond)
              ->UseRealTime();
          if (backward && ep != Epilogue::Residual) // residual has no parameter gradients
            benchmark::RegisterBenchmark(("fused_two_calls/" + tag).c_str(), fused, act, ep,
                                         backward, s, false)
                ->Unit(benchmark::kMicrosecond)
                ->UseRealTime();
          benchmark::RegisterBenchmark(("unfused/" + tag).c_str(), unfused, act, ep, backward, s)
              ->Unit(benchmark::kMicrosecond)
              ->UseRealTime();
        }
  return true;
}();

} // namespace

BENCHMARK_MAIN();
