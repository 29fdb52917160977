// Peer: oneDNN's JIT eltwise primitives, forward (training) and backward from the source, f32,
// a flat tensor of n elements. Its OpenMP runtime gets the case's thread count.
#include "bench_common.hpp"
#include "implementations.hpp"

#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <optional>

namespace actforge::bench {
namespace {

struct Eltwise {
  dnnl::algorithm algorithm;
  float alpha = 0.0f;
  float beta = 0.0f;
};

std::optional<Eltwise> eltwise(std::string_view activation) {
  using dnnl::algorithm;
  if (activation == "relu") return Eltwise{algorithm::eltwise_relu};
  if (activation == "leaky_relu") return Eltwise{algorithm::eltwise_relu, kLeakyReluAlpha};
  if (activation == "sigmoid") return Eltwise{algorithm::eltwise_logistic};
  if (activation == "tanh") return Eltwise{algorithm::eltwise_tanh};
  if (activation == "gelu") return Eltwise{algorithm::eltwise_gelu_erf};
  if (activation == "gelu_tanh") return Eltwise{algorithm::eltwise_gelu_tanh};
  if (activation == "swish") return Eltwise{algorithm::eltwise_swish, kSwishBeta};
  if (activation == "elu") return Eltwise{algorithm::eltwise_elu, kEluAlpha};
  if (activation == "hardswish") return Eltwise{algorithm::eltwise_hardswish};
  return std::nullopt;
}

void run(benchmark::State &state, const Case &c) {
  try {
    omp_set_num_threads(c.threads);
    const Eltwise e = *eltwise(c.activation);
    const Arrays &a = arrays(c.n);
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    const dnnl::memory::desc md({c.n}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
    dnnl::memory x(md, engine, const_cast<float *>(a.x));
    dnnl::memory dy(md, engine, const_cast<float *>(a.dy));
    dnnl::memory out(md, engine, a.out);
    const dnnl::eltwise_forward::primitive_desc fwd(
        {dnnl::prop_kind::forward_training, e.algorithm, md, e.alpha, e.beta}, engine);
    if (c.direction == Direction::Forward) {
      state.SetLabel(fwd.impl_info_str());
      const dnnl::eltwise_forward prim(fwd);
      for (auto _ : state) {
        prim.execute(stream, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, out}});
        stream.wait();
      }
    } else {
      const dnnl::eltwise_backward::primitive_desc bwd({e.algorithm, md, md, e.alpha, e.beta},
                                                       engine, fwd);
      state.SetLabel(bwd.impl_info_str());
      const dnnl::eltwise_backward prim(bwd);
      for (auto _ : state) {
        prim.execute(stream,
                     {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, out}});
        stream.wait();
      }
    }
  } catch (const dnnl::error &err) {
    state.SkipWithError(err.what());
  }
}

} // namespace

Implementation onednn_implementation() {
  return {"onednn",
          [] {
            const dnnl_version_t *v = dnnl_version();
            return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                   std::to_string(v->patch) + " (OpenMP), eltwise forward_training/backward";
          },
          [](std::int64_t n, int threads) {
            for (const std::string_view act : kActivations)
              for (const Direction d : kDirections)
                if (eltwise(act)) register_case("onednn", {act, d, n, threads}, run);
          }};
}

} // namespace actforge::bench
