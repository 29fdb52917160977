// Peer: libtorch's CPU functions (ATen), f32, on tensors that wrap the suite's arrays
// (at::from_blob) and written through the out= variants, so no call allocates: forward
// relu/leaky_relu/sigmoid/tanh/gelu/silu/elu/hardswish/mish, backward the *_backward functions its
// autograd calls. Where autograd computes the gradient from the saved forward output (sigmoid,
// tanh: sigmoid_backward(dy, y)), the case computes y = f(x) into a buffer made once and then dx,
// so that it starts from x and dy like every other backward here. mish_backward has no out=
// variant in 1.13: it allocates its result in every call (as under autograd), and the accuracy
// program copies it out after.
// Calls run under c10::InferenceMode (the dispatcher skips the autograd layers, as in inference).
// Threads: at::set_num_threads(case threads). libtorch 1.13 picks AVX2 kernels unless
// ATEN_CPU_CAPABILITY=avx512 is set (bench/run.sh sets it where the CPU has AVX-512).
#include "actforge/error.hpp"
#include "peers/peer.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>

namespace actforge::bench {
namespace {

static_assert(kSwishBeta == 1.0f, "libtorch's silu is swish with beta = 1");

/// "AVX512" from at::show_config()'s "CPU capability usage: AVX512" line.
std::string cpu_capability() {
  std::istringstream config(at::show_config());
  constexpr std::string_view kKey = "CPU capability usage: ";
  for (std::string line; std::getline(config, line);)
    if (const auto at = line.find(kKey); at != std::string::npos)
      return line.substr(at + kKey.size());
  return "unknown";
}

constexpr std::string_view kActivationsHere[] = {"relu",      "leaky_relu", "sigmoid", "tanh",
                                                 "gelu",      "gelu_tanh",  "swish",   "elu",
                                                 "hardswish", "mish"};

bool has(std::string_view activation, Direction) {
  for (const std::string_view a : kActivationsHere)
    if (a == activation) return true;
  return false;
}

at::Tensor wrap(const float *p, std::int64_t n) {
  return at::from_blob(const_cast<float *>(p), {n}, at::TensorOptions().dtype(at::kFloat));
}

// The work of one call, on tensors made once, and the function it calls.
struct Work {
  std::function<void()> fn;
  std::string label;
};

Work forward(std::string_view a, at::Tensor x, at::Tensor y) {
  if (a == "relu") return {[=]() mutable { at::relu_out(y, x); }, "relu_out"};
  if (a == "leaky_relu")
    return {[=]() mutable { at::leaky_relu_out(y, x, kLeakyReluAlpha); }, "leaky_relu_out"};
  if (a == "sigmoid") return {[=]() mutable { at::sigmoid_out(y, x); }, "sigmoid_out"};
  if (a == "tanh") return {[=]() mutable { at::tanh_out(y, x); }, "tanh_out"};
  if (a == "gelu") return {[=]() mutable { at::gelu_out(y, x, "none"); }, "gelu_out"};
  if (a == "gelu_tanh")
    return {[=]() mutable { at::gelu_out(y, x, "tanh"); }, "gelu_out(approximate=tanh)"};
  if (a == "swish") return {[=]() mutable { at::silu_out(y, x); }, "silu_out"};
  if (a == "elu") return {[=]() mutable { at::elu_out(y, x, kEluAlpha, 1, 1); }, "elu_out"};
  if (a == "hardswish") return {[=]() mutable { at::hardswish_out(y, x); }, "hardswish_out"};
  if (a == "mish") return {[=]() mutable { at::mish_out(y, x); }, "mish_out"};
  throw Error("libtorch: no forward of " + std::string(a));
}

Work backward(std::string_view a, at::Tensor x, at::Tensor dy, at::Tensor dx,
              const std::shared_ptr<at::Tensor> &mish_result) {
  if (a == "relu")
    return {[=]() mutable { at::threshold_backward_out(dx, dy, x, 0); }, "threshold_backward_out"};
  if (a == "leaky_relu")
    return {[=]() mutable { at::leaky_relu_backward_out(dx, dy, x, kLeakyReluAlpha, false); },
            "leaky_relu_backward_out"};
  // Its autograd saves y = f(x) and computes sigmoid_backward(dy, y); like every other
  // implementation here, the case computes dx from x: y first (a buffer made once), then dx.
  if (a == "sigmoid") {
    at::Tensor y = at::empty_like(x);
    return {[=]() mutable {
              at::sigmoid_out(y, x);
              at::sigmoid_backward_out(dx, dy, y);
            },
            "sigmoid_out + sigmoid_backward_out(dy, y)"};
  }
  if (a == "tanh") {
    at::Tensor y = at::empty_like(x);
    return {[=]() mutable {
              at::tanh_out(y, x);
              at::tanh_backward_out(dx, dy, y);
            },
            "tanh_out + tanh_backward_out(dy, y)"};
  }
  if (a == "gelu")
    return {[=]() mutable { at::gelu_backward_out(dx, dy, x, "none"); }, "gelu_backward_out"};
  if (a == "gelu_tanh")
    return {[=]() mutable { at::gelu_backward_out(dx, dy, x, "tanh"); },
            "gelu_backward_out(approximate=tanh)"};
  if (a == "swish")
    return {[=]() mutable { at::silu_backward_out(dx, dy, x); }, "silu_backward_out"};
  if (a == "elu")
    return {[=]() mutable { at::elu_backward_out(dx, dy, kEluAlpha, 1, 1, false, x); },
            "elu_backward_out"};
  if (a == "hardswish")
    return {[=]() mutable { at::hardswish_backward_out(dx, dy, x); }, "hardswish_backward_out"};
  if (a == "mish")
    return {[=] { *mish_result = at::mish_backward(dy, x); },
            "mish_backward (allocates: no out= variant)"};
  throw Error("libtorch: no backward of " + std::string(a));
}

Prepared prepare(std::string_view activation, Direction d, const Io &io, int threads) {
  try {
    at::set_num_threads(threads);
    c10::InferenceMode inference;
    const at::Tensor x = wrap(io.x, io.n);
    const at::Tensor out = wrap(io.out, io.n);
    auto mish_result = std::make_shared<at::Tensor>();
    const Work work = d == Direction::Forward
                          ? forward(activation, x, out)
                          : backward(activation, x, wrap(io.dy, io.n), out, mish_result);
    Prepared p{[fn = work.fn] {
                 c10::InferenceMode inference_here;
                 fn();
               },
               "at::" + work.label};
    if (d == Direction::Backward && activation == "mish")
      p.finish = [mish_result, io] {
        std::memcpy(io.out, mish_result->data_ptr<float>(),
                    static_cast<std::size_t>(io.n) * sizeof(float));
      };
    return p;
  } catch (const c10::Error &e) {
    throw Error(std::string("libtorch: ") + e.what_without_backtrace());
  }
}

} // namespace

Peer torch_peer() {
  return {"torch",
          [] {
            const char *env = std::getenv("ATEN_CPU_CAPABILITY");
            return "libtorch " + std::to_string(TORCH_VERSION_MAJOR) + "." +
                   std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH) +
                   " ATen CPU functions (out= variants), CPU capability " + cpu_capability() +
                   " (ATEN_CPU_CAPABILITY=" + (env ? env : "unset") +
                   "), threads set per case (at::set_num_threads)";
          },
          has, prepare};
}

} // namespace actforge::bench
