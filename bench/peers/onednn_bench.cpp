// Peer: oneDNN's JIT eltwise primitives, forward (training) and backward from the source, f32,
// a flat tensor of n elements, created once per case and executed repeatedly. oneDNN 2.6 has
// all ten activations in both directions (gelu_erf, gelu_tanh, swish, hardswish and mish
// included). Its OpenMP runtime gets the case's thread count.
#include "actforge/error.hpp"
#include "peers/peer.hpp"

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
  if (activation == "swish") return Eltwise{algorithm::eltwise_swish, kSwishBeta}; // alpha: β
  if (activation == "elu") return Eltwise{algorithm::eltwise_elu, kEluAlpha};
  if (activation == "hardswish") return Eltwise{algorithm::eltwise_hardswish};
  if (activation == "mish") return Eltwise{algorithm::eltwise_mish};
  return std::nullopt;
}

Prepared prepare(std::string_view activation, Direction d, const Io &io, int threads) {
  try {
    omp_set_num_threads(threads);
    const Eltwise e = *eltwise(activation);
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    const dnnl::memory::desc md({io.n}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
    dnnl::memory x(md, engine, const_cast<float *>(io.x));
    dnnl::memory out(md, engine, io.out);
    const dnnl::eltwise_forward::primitive_desc fwd(
        {dnnl::prop_kind::forward_training, e.algorithm, md, e.alpha, e.beta}, engine);
    if (d == Direction::Forward) {
      const dnnl::eltwise_forward prim(fwd);
      return {[=]() mutable {
                prim.execute(stream, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, out}});
                stream.wait();
              },
              fwd.impl_info_str()};
    }
    dnnl::memory dy(md, engine, const_cast<float *>(io.dy));
    const dnnl::eltwise_backward::primitive_desc bwd({e.algorithm, md, md, e.alpha, e.beta}, engine,
                                                     fwd);
    const dnnl::eltwise_backward prim(bwd);
    return {[=]() mutable {
              prim.execute(stream,
                           {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, out}});
              stream.wait();
            },
            bwd.impl_info_str()};
  } catch (const dnnl::error &err) {
    throw Error(std::string("oneDNN: ") + err.what());
  }
}

} // namespace

Peer onednn_peer() {
  return {"onednn",
          [] {
            const dnnl_version_t *v = dnnl_version();
            return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                   std::to_string(v->patch) + " (OpenMP), eltwise forward_training/backward";
          },
          [](std::string_view activation, Direction) { return eltwise(activation).has_value(); },
          prepare};
}

} // namespace actforge::bench
