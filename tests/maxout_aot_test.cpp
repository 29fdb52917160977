// Maxout through the C ABI (`actforge gen maxout --param k=N`, actforge_add_kernels(...
// ACTIVATIONS maxout MAXOUT_K ...)): every function and target against dsl/maxout.hpp (f32) and
// jit_maxout (every dtype of the library), bit for bit, over shapes with vector tails, channels-
// last rows (inner = 1), ties, ±0, ±inf and NaN; and the arguments it refuses.
#include ACTFORGE_AOTM_HEADER

#include "actforge/dsl/maxout.hpp"
#include "actforge/runtime/maxout.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace {

// Bit patterns of `bytes` bytes: small integers (ties), ±0, ±inf and NaN among random values.
std::vector<unsigned char> values(std::int64_t n, int bytes, std::uint32_t seed) {
  std::vector<unsigned char> out(static_cast<std::size_t>(n * bytes));
  for (std::int64_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    float f = static_cast<float>(static_cast<int>(seed >> 24) % 7 - 3);
    switch ((seed >> 8) % 16) {
    case 0: f = -0.0f; break;
    case 1: f = std::numeric_limits<float>::infinity(); break;
    case 2: f = -std::numeric_limits<float>::infinity(); break;
    case 3: f = std::numeric_limits<float>::quiet_NaN(); break;
    case 4: f = static_cast<float>(seed >> 12) / 1048576.0f - 2.0f; break;
    default: break;
    }
    std::uint32_t b;
    std::memcpy(&b, &f, 4);
    if (bytes == 2) {
      const std::uint16_t h = static_cast<std::uint16_t>(b >> 16); // bf16: f32's top half
      std::memcpy(&out[static_cast<std::size_t>(i * 2)], &h, 2);
    } else {
      std::memcpy(&out[static_cast<std::size_t>(i * 4)], &b, 4);
    }
  }
  return out;
}

struct Shape {
  std::int64_t outer, channels, inner;
};
constexpr Shape kShapes[] = {{2, 8, 37}, {3, 12, 1}, {1, 4, 1000}, {5, 16, 3}};

TEST(MaxoutAot, F32EqualsTheReferenceOnEveryTarget) {
  using Fwd = int (*)(const float *, float *, std::int64_t, std::int64_t, std::int64_t);
  using Bwd =
      int (*)(const float *, const float *, float *, std::int64_t, std::int64_t, std::int64_t);
  const struct {
    int k;
    Fwd fwd[3];
    Bwd bwd[3];
  } families[] = {
      {2,
       {aotm_maxout_k2_fwd_f32, aotm_maxout_k2_fwd_f32_avx2, aotm_maxout_k2_fwd_f32_avx512},
       {aotm_maxout_k2_bwd_f32, aotm_maxout_k2_bwd_f32_avx2, aotm_maxout_k2_bwd_f32_avx512}},
      {4,
       {aotm_maxout_k4_fwd_f32, aotm_maxout_k4_fwd_f32_avx2, aotm_maxout_k4_fwd_f32_avx512},
       {aotm_maxout_k4_bwd_f32, aotm_maxout_k4_bwd_f32_avx2, aotm_maxout_k4_bwd_f32_avx512}},
  };
  for (const auto &f : families)
    for (const Shape s : kShapes) {
      SCOPED_TRACE("k " + std::to_string(f.k) + " [" + std::to_string(s.outer) + ", " +
                   std::to_string(s.channels) + ", " + std::to_string(s.inner) + "]");
      const std::int64_t n = s.outer * s.channels * s.inner, m = n / f.k;
      const auto xb = values(n, 4, 3), dyb = values(m, 4, 4);
      std::vector<float> x(static_cast<std::size_t>(n)), dy(static_cast<std::size_t>(m));
      std::memcpy(x.data(), xb.data(), xb.size());
      std::memcpy(dy.data(), dyb.data(), dyb.size());
      const actforge::dsl::MaxoutShape shape{s.outer, s.channels, s.inner, f.k};
      std::vector<float> y_ref(static_cast<std::size_t>(m)), dx_ref(x.size());
      actforge::dsl::maxout_forward<float>(x, y_ref, shape);
      actforge::dsl::maxout_backward<float>(x, dy, dx_ref, shape);
      for (int t = 0; t < 3; ++t) {
        std::vector<float> y(y_ref.size(), 7.0f), dx(x.size(), 7.0f);
        const int rc = f.fwd[t](x.data(), y.data(), s.outer, s.channels, s.inner);
        if (rc == AOTM_ERR_CPU) continue; // a target this CPU lacks
        ASSERT_EQ(rc, AOTM_OK);
        ASSERT_EQ(f.bwd[t](x.data(), dy.data(), dx.data(), s.outer, s.channels, s.inner), AOTM_OK);
        EXPECT_EQ(0, std::memcmp(y.data(), y_ref.data(), y.size() * 4)) << "forward, form " << t;
        EXPECT_EQ(0, std::memcmp(dx.data(), dx_ref.data(), dx.size() * 4))
            << "backward, form " << t;
      }
    }
}

TEST(MaxoutAot, Bf16EqualsJitMaxout) {
  const actforge::MaxoutKernel jit =
      actforge::jit_maxout(4, {.dtype = actforge::codegen::DType::BF16});
  for (const Shape s : kShapes) {
    const std::int64_t n = s.outer * s.channels * s.inner, m = n / 4;
    const auto x = values(n, 2, 5), dy = values(m, 2, 6);
    std::vector<std::uint16_t> y1(static_cast<std::size_t>(m)), y2(y1.size()),
        dx1(static_cast<std::size_t>(n)), dx2(dx1.size());
    jit.forward(x.data(), y1.data(), s.outer, s.channels, s.inner);
    jit.backward(x.data(), dy.data(), dx1.data(), s.outer, s.channels, s.inner);
    const auto *xp = reinterpret_cast<const std::uint16_t *>(x.data());
    const auto *dyp = reinterpret_cast<const std::uint16_t *>(dy.data());
    ASSERT_EQ(aotm_maxout_k4_fwd_bf16(xp, y2.data(), s.outer, s.channels, s.inner), AOTM_OK);
    ASSERT_EQ(aotm_maxout_k4_bwd_bf16(xp, dyp, dx2.data(), s.outer, s.channels, s.inner), AOTM_OK);
    EXPECT_EQ(y1, y2);
    EXPECT_EQ(dx1, dx2);
  }
}

TEST(MaxoutAot, RefusesBadArguments) {
  std::vector<float> x(64), y(32), dx(64);
  EXPECT_EQ(aotm_maxout_k2_fwd_f32(x.data(), y.data(), 1, 3, 4), AOTM_ERR_ARGUMENT); // 3 % 2
  EXPECT_EQ(aotm_maxout_k2_fwd_f32(x.data(), y.data(), -1, 2, 4), AOTM_ERR_ARGUMENT);
  EXPECT_EQ(aotm_maxout_k2_fwd_f32(nullptr, y.data(), 1, 2, 4), AOTM_ERR_ARGUMENT);
  EXPECT_EQ(aotm_maxout_k2_fwd_f32(x.data(), x.data() + 4, 1, 16, 4), AOTM_ERR_ARGUMENT);
  EXPECT_EQ(aotm_maxout_k2_bwd_f32(x.data(), y.data(), x.data(), 1, 16, 4), AOTM_ERR_ARGUMENT);
  EXPECT_EQ(aotm_maxout_k2_fwd_f32(nullptr, nullptr, 0, 2, 4), AOTM_OK); // nothing to do
  EXPECT_EQ(aotm_maxout_k2_bwd_f32(x.data(), y.data(), dx.data(), 2, 8, 4), AOTM_OK);
}

} // namespace
