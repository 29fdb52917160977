// Fused epilogues through the C ABI (`actforge gen gelu relu --epilogue bias`,
// actforge_add_kernels(
// ... EPILOGUE bias)): the generated functions give what jit gives for the same fused
// expression in the channel layout with bias per channel — forward and backward bit for bit, and
// dbias — on sizes with tails and several blocks.
#include ACTFORGE_AOTE_HEADER

#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/epilogue.hpp"
#include "actforge/runtime/jit.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

using actforge::Layout;
using actforge::Role;
using actforge::Shape;

TEST(EpilogueAot, BiasFunctionsEqualJit) {
  using Fwd =
      int (*)(const float *, float *, std::int64_t, std::int64_t, std::int64_t, const float *);
  using Bwd = int (*)(const float *, const float *, float *, std::int64_t, std::int64_t,
                      std::int64_t, const float *);
  using Pgrad = int (*)(const float *, const float *, std::int64_t, std::int64_t, std::int64_t,
                        const float *, float *);
  const struct {
    const char *activation;
    Fwd fwd;
    Bwd bwd;
    Pgrad pgrad;
  } families[] = {
      {"gelu", aote_gelu_bias_fwd_ch_f32, aote_gelu_bias_bwd_ch_f32, aote_gelu_bias_pgrad_ch_f32},
      {"relu", aote_relu_bias_fwd_ch_f32, aote_relu_bias_bwd_ch_f32, aote_relu_bias_pgrad_ch_f32},
  };
  const std::int64_t outer = 3, channels = 5, inner = 1001, n = outer * channels * inner;
  std::vector<float> x(n), dy(n), bias(channels);
  for (std::int64_t i = 0; i < n; ++i) {
    x[static_cast<std::size_t>(i)] = static_cast<float>((i * 7919) % 1201 - 600) / 100.0f;
    dy[static_cast<std::size_t>(i)] = static_cast<float>((i * 104729) % 201 - 100) / 50.0f;
  }
  for (std::int64_t c = 0; c < channels; ++c)
    bias[static_cast<std::size_t>(c)] = 0.25f * static_cast<float>(c) - 0.5f;
  const Shape shape = Shape::with_channels(outer, channels, inner);
  for (const auto &f : families) {
    SCOPED_TRACE(f.activation);
    const auto fused = actforge::dsl::with_epilogue(
        actforge::dsl::find_activation(f.activation)->expr, actforge::dsl::Epilogue::Bias);
    actforge::JitOptions o{.layout = Layout::Channels, .per_channel = {"bias"}};
    std::vector<float> y1(n), y2(n), dx1(n), dx2(n), db1(channels), db2(channels);
    actforge::jit(fused, o).run({x.data(), bias.data()}, {y1.data()}, shape);
    o.role = Role::Backward;
    actforge::jit(fused, o).run({x.data(), dy.data(), bias.data()}, {dx1.data()}, shape);
    o.role = Role::ParamGrad;
    actforge::jit(fused, o).run({x.data(), dy.data(), bias.data()}, {db1.data()}, shape);
    ASSERT_EQ(f.fwd(x.data(), y2.data(), outer, channels, inner, bias.data()), AOTE_OK);
    ASSERT_EQ(f.bwd(x.data(), dy.data(), dx2.data(), outer, channels, inner, bias.data()), AOTE_OK);
    ASSERT_EQ(f.pgrad(x.data(), dy.data(), outer, channels, inner, bias.data(), db2.data()),
              AOTE_OK);
    EXPECT_EQ(0, std::memcmp(y1.data(), y2.data(), sizeof(float) * n)) << "forward";
    EXPECT_EQ(0, std::memcmp(dx1.data(), dx2.data(), sizeof(float) * n)) << "backward";
    EXPECT_EQ(db1, db2) << "dbias";
  }
}

} // namespace
