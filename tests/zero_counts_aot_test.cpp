// Zero counts through the C ABI (`actforge gen --zero-counts`, actforge_add_kernels(...
// ZERO_COUNTS)): each F_zero_counts function writes what F writes, bit for bit, and counts per
// channel (one count for flat functions) what a plain count over that output gives, for every
// target of the library, at sizes that cross the counting blocks; and refuses a NULL count array.
#include ACTFORGE_AOTZ_HEADER

#include "actforge/codegen/kernel_spec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace {

using actforge::codegen::DType;

template <class T> std::vector<T> data(std::int64_t n, DType dtype, std::uint32_t seed) {
  std::vector<T> out(static_cast<std::size_t>(n));
  for (auto &v : out) {
    seed = seed * 1664525u + 1013904223u;
    double x = -3.0 + 6.0 * static_cast<double>(seed >> 8) / 16777216.0;
    if ((seed >> 3) % 11 == 0)
      x = (seed >> 9) % 3 == 0   ? std::numeric_limits<double>::quiet_NaN()
          : (seed >> 9) % 3 == 1 ? -0.0
                                 : 0.0;
    actforge::codegen::store_value(&v, dtype, x);
  }
  return out;
}

// Bit for bit (NaN payloads too).
template <class T> bool same_bits(const std::vector<T> &a, const std::vector<T> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

template <class T>
std::vector<std::int64_t> plain_counts(const std::vector<T> &y, DType dtype, std::int64_t outer,
                                       std::int64_t channels, std::int64_t inner) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(channels), 0);
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t c = 0; c < channels; ++c)
      for (std::int64_t i = 0; i < inner; ++i)
        counts[static_cast<std::size_t>(c)] +=
            actforge::codegen::load_value(
                &y[static_cast<std::size_t>((o * channels + c) * inner + i)], dtype) == 0.0;
  return counts;
}

TEST(ZeroCountsAot, FlatForwardAndBackwardOnEveryTarget) {
  const std::int64_t n = 50001;
  const auto x = data<float>(n, DType::F32, 1), g = data<float>(n, DType::F32, 2),
             dy = data<float>(n, DType::F32, 3);
  std::vector<float> want(x.size()), got(x.size()), dg(x.size()), dg2(x.size());
  using Fwd = int (*)(const float *, float *, std::int64_t, std::int64_t *);
  const Fwd forms[] = {aotz_relu_fwd_f32_zero_counts, aotz_relu_fwd_f32_zero_counts_avx2,
                       aotz_relu_fwd_f32_zero_counts_avx512};
  ASSERT_EQ(aotz_relu_fwd_f32(x.data(), want.data(), n), AOTZ_OK);
  for (Fwd f : forms) {
    std::int64_t count = -1;
    const int rc = f(x.data(), got.data(), n, &count);
    if (rc == AOTZ_ERR_CPU) continue; // a target this CPU lacks
    ASSERT_EQ(rc, AOTZ_OK);
    EXPECT_TRUE(same_bits(got, want));
    EXPECT_EQ(count, plain_counts(want, DType::F32, 1, 1, n)[0]);
  }
  // Gated backward: dx counted, dg written as by the plain function.
  ASSERT_EQ(aotz_reglu_bwd_f32(x.data(), g.data(), dy.data(), want.data(), dg.data(), n), AOTZ_OK);
  std::int64_t count = -1;
  ASSERT_EQ(aotz_reglu_bwd_f32_zero_counts(x.data(), g.data(), dy.data(), got.data(), dg2.data(), n,
                                           &count),
            AOTZ_OK);
  EXPECT_TRUE(same_bits(got, want));
  EXPECT_TRUE(same_bits(dg2, dg));
  EXPECT_EQ(count, plain_counts(want, DType::F32, 1, 1, n)[0]);
  EXPECT_GT(count, n / 4); // reglu's dx is 0 wherever g <= 0
  // No count array: refused; no elements: the count is 0.
  EXPECT_EQ(aotz_relu_fwd_f32_zero_counts(x.data(), got.data(), n, nullptr), AOTZ_ERR_ARGUMENT);
  count = 9;
  EXPECT_EQ(aotz_relu_fwd_f32_zero_counts(x.data(), got.data(), 0, &count), AOTZ_OK);
  EXPECT_EQ(count, 0);
}

TEST(ZeroCountsAot, ChannelsPerChannelCounts) {
  struct Shape {
    std::int64_t outer, channels, inner;
  };
  for (const Shape s : {Shape{3, 5, 7001}, Shape{7, 300, 49}, Shape{2, 3, 40000}}) {
    const std::int64_t n = s.outer * s.channels * s.inner;
    const auto x = data<std::uint16_t>(n, DType::BF16, 4),
               dy = data<std::uint16_t>(n, DType::BF16, 5);
    std::vector<std::uint16_t> want(x.size()), got(x.size());
    std::vector<std::int64_t> counts(static_cast<std::size_t>(s.channels), -1);
    ASSERT_EQ(aotz_relu_bwd_ch_bf16(x.data(), dy.data(), want.data(), s.outer, s.channels, s.inner),
              AOTZ_OK);
    ASSERT_EQ(aotz_relu_bwd_ch_bf16_zero_counts(x.data(), dy.data(), got.data(), s.outer,
                                                s.channels, s.inner, counts.data()),
              AOTZ_OK);
    EXPECT_TRUE(same_bits(got, want));
    EXPECT_EQ(counts, plain_counts(want, DType::BF16, s.outer, s.channels, s.inner));
    ASSERT_EQ(aotz_relu_fwd_ch_bf16(x.data(), want.data(), s.outer, s.channels, s.inner), AOTZ_OK);
    ASSERT_EQ(aotz_relu_fwd_ch_bf16_zero_counts_avx2(x.data(), got.data(), s.outer, s.channels,
                                                     s.inner, counts.data()),
              AOTZ_OK);
    EXPECT_TRUE(same_bits(got, want));
    EXPECT_EQ(counts, plain_counts(want, DType::BF16, s.outer, s.channels, s.inner));
  }
}

} // namespace
