// Gated activations in the halves layout through the C ABI (`actforge gen ... --layout halves`):
// forward, backward and param_grad of the generated functions give what jit's Layout::Halves
// kernels give (bit for bit; param_grad to its f64 sums), also through the registry's
// call_channels (rows, 1, d); sizes with vector tails; and the arguments they refuse.
#include ACTFORGE_AOTH_HEADER

#include "actforge/runtime/jit.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

using actforge::Layout;
using actforge::Role;
using actforge::Shape;

std::vector<float> values(std::int64_t n, std::uint32_t seed) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto &e : v) {
    seed = seed * 1664525u + 1013904223u;
    e = (seed >> 4) % 17 == 0 ? 0.0f : -4.0f + 8.0f * static_cast<float>(seed >> 8) / 16777216.0f;
  }
  return v;
}

bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

TEST(HalvesAot, SwigluAndAParameterisedGateEqualJit) {
  for (const auto &[rows, d] : {std::pair<std::int64_t, std::int64_t>{7, 37}, {1, 1000}, {33, 1}}) {
    SCOPED_TRACE("[rows, d] = [" + std::to_string(rows) + ", " + std::to_string(d) + "]");
    const auto xg = values(rows * 2 * d, 1), dy = values(rows * d, 2);
    const Shape shape = Shape::halves(rows, d);
    // swiglu: forward and backward, the dispatcher and the avx512/avx2 forms.
    std::vector<float> y1(dy.size()), y2(dy.size()), dxg1(xg.size()), dxg2(xg.size());
    actforge::jit("swiglu", {.layout = Layout::Halves}).run({xg.data()}, {y1.data()}, shape);
    actforge::jit("swiglu", {.role = Role::Backward, .layout = Layout::Halves})
        .run({xg.data(), dy.data()}, {dxg1.data()}, shape);
    ASSERT_EQ(aoth_swiglu_fwd_half_f32(xg.data(), y2.data(), rows, d), AOTH_OK);
    ASSERT_EQ(aoth_swiglu_bwd_half_f32(xg.data(), dy.data(), dxg2.data(), rows, d), AOTH_OK);
    EXPECT_TRUE(same_bits(y1, y2));
    EXPECT_TRUE(same_bits(dxg1, dxg2));
    std::fill(y2.begin(), y2.end(), 0.0f);
    ASSERT_EQ(aoth_swiglu_fwd_half_f32_avx2(xg.data(), y2.data(), rows, d), AOTH_OK);
    EXPECT_TRUE(same_bits(y1, y2)) << "avx2";
    // Through the registry: call_channels(in, out, rows, 1, d, params).
    const aoth_kernel_info *info = aoth_find_kernel("swiglu_bwd_half_f32");
    ASSERT_NE(info, nullptr);
    EXPECT_STREQ(info->layout, "halves");
    ASSERT_NE(info->call_channels, nullptr);
    EXPECT_EQ(info->call, nullptr);
    std::fill(dxg2.begin(), dxg2.end(), 0.0f);
    const void *in[] = {xg.data(), dy.data()};
    void *out[] = {dxg2.data()};
    ASSERT_EQ(info->call_channels(in, out, rows, 1, d, nullptr), AOTH_OK);
    EXPECT_TRUE(same_bits(dxg1, dxg2)) << "registry";
    EXPECT_EQ(info->call_channels(in, out, rows, 2, d, nullptr), AOTH_ERR_ARGUMENT);

    // x * sigmoid(beta * g) with beta = 0.75: forward and d(beta).
    const actforge::Params params{{"beta", 0.75}};
    const aoth_gsw_params p{0.75f};
    actforge::jit("x * sigmoid(beta * g), beta=1.5", {.layout = Layout::Halves})
        .run({xg.data()}, {y1.data()}, shape, params);
    ASSERT_EQ(aoth_gsw_fwd_half_f32(xg.data(), y2.data(), rows, d, &p), AOTH_OK);
    EXPECT_TRUE(same_bits(y1, y2)) << "gsw forward";
    float dbeta1 = 0, dbeta2 = 0;
    actforge::jit("x * sigmoid(beta * g), beta=1.5",
                  {.role = Role::ParamGrad, .layout = Layout::Halves})
        .run({xg.data(), dy.data()}, {&dbeta1}, shape, params);
    ASSERT_EQ(aoth_gsw_pgrad_half_f32(xg.data(), dy.data(), rows, d, &p, &dbeta2), AOTH_OK);
    EXPECT_EQ(dbeta1, dbeta2) << "d(beta)";
  }
}

TEST(HalvesAot, RefusesBadArguments) {
  std::vector<float> xg(40), y(20), dxg(40);
  EXPECT_EQ(aoth_swiglu_fwd_half_f32(xg.data(), y.data(), -1, 10), AOTH_ERR_ARGUMENT);
  EXPECT_EQ(aoth_swiglu_fwd_half_f32(nullptr, y.data(), 2, 10), AOTH_ERR_ARGUMENT);
  // dxg over xg: refused (dx and dg are written while the row's x and g are read).
  EXPECT_EQ(aoth_swiglu_bwd_half_f32(xg.data(), y.data(), xg.data(), 2, 10), AOTH_ERR_ARGUMENT);
  EXPECT_EQ(aoth_swiglu_bwd_half_f32(xg.data(), y.data(), dxg.data(), 2, 10), AOTH_OK);
  EXPECT_EQ(aoth_swiglu_fwd_half_f32(nullptr, nullptr, 0, 10), AOTH_OK);
  float dbeta = 5;
  EXPECT_EQ(aoth_gsw_pgrad_half_f32(nullptr, nullptr, 0, 10, nullptr, &dbeta), AOTH_OK);
  EXPECT_EQ(dbeta, 0.0f);
}

} // namespace
