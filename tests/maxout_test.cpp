// Maxout's x86 kernels (runtime/maxout.hpp, codegen/halide/maxout.hpp) against the reference
// dsl::maxout_forward/backward: bit-identical in every dtype, on shapes with outer and inner 1
// and odd, k = 2..5, ties, ±0, NaN and infinities; the backward's dx carries each dy once; bad
// shapes, null and overlapping arrays are errors.
#include "actforge/dsl/maxout.hpp"
#include "actforge/runtime/maxout.hpp"
#include "actforge/targets/arm.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace actforge {
namespace {

using codegen::DType;

constexpr long double kInf = std::numeric_limits<long double>::infinity();
constexpr long double kNaN = std::numeric_limits<long double>::quiet_NaN();

// Arrays of one dtype as raw elements, with conversions from and to long double.
struct Array {
  DType dtype;
  std::vector<unsigned char> bytes;
  Array(DType d, std::size_t n)
      : dtype(d), bytes(n * static_cast<std::size_t>(codegen::bytes_of(d))) {}
  std::size_t size() const {
    return bytes.size() / static_cast<std::size_t>(codegen::bytes_of(dtype));
  }
  void *data() { return bytes.data(); }
  std::uint64_t bits(std::size_t i) const {
    std::uint64_t b = 0;
    const int n = codegen::bytes_of(dtype);
    std::memcpy(&b, bytes.data() + i * static_cast<std::size_t>(n), static_cast<std::size_t>(n));
    return b;
  }
  void set_bits(std::size_t i, std::uint64_t b) {
    const int n = codegen::bytes_of(dtype);
    std::memcpy(bytes.data() + i * static_cast<std::size_t>(n), &b, static_cast<std::size_t>(n));
  }
  long double get(std::size_t i) const {
    const std::uint64_t b = bits(i);
    switch (dtype) {
    case DType::F32: return std::bit_cast<float>(static_cast<std::uint32_t>(b));
    case DType::F64: return std::bit_cast<double>(b);
    case DType::F16: return std::bit_cast<_Float16>(static_cast<std::uint16_t>(b));
    case DType::BF16: return std::bit_cast<float>(static_cast<std::uint32_t>(b << 16));
    }
    return 0;
  }
  // Values of the pools below are exact in every dtype.
  void set(std::size_t i, long double v) {
    switch (dtype) {
    case DType::F32: set_bits(i, std::bit_cast<std::uint32_t>(static_cast<float>(v))); break;
    case DType::F64: set_bits(i, std::bit_cast<std::uint64_t>(static_cast<double>(v))); break;
    case DType::F16:
      set_bits(i, std::bit_cast<std::uint16_t>(static_cast<_Float16>(static_cast<float>(v))));
      break;
    case DType::BF16: set_bits(i, std::bit_cast<std::uint32_t>(static_cast<float>(v)) >> 16); break;
    }
  }
  std::vector<long double> values() const {
    std::vector<long double> v(size());
    for (std::size_t i = 0; i < v.size(); ++i)
      v[i] = get(i);
    return v;
  }
};

struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 11;
  }
};

// x: mostly values from a small set (ties, ±0), some ±inf and NaN, some random bit patterns
// (NaNs with payloads and subnormals among them). dy: nonzero values, ±0 and NaN.
void fill_x(Array &x, Rng &rng, bool specials = true) {
  static const long double pool[] = {-3, -1, -0.5L, 0, -0.0L, 0.5L, 1, 2, 3, kInf, -kInf, kNaN};
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::uint64_t r = rng.next();
    if (r % 8 == 0) {
      x.set_bits(i,
                 rng.next() & (codegen::bytes_of(x.dtype) == 8
                                   ? ~std::uint64_t{0}
                                   : (std::uint64_t{1} << (8 * codegen::bytes_of(x.dtype))) - 1));
      if (!specials && std::isnan(x.get(i))) x.set(i, 1);
      if (!specials && std::isinf(x.get(i))) x.set(i, -2);
    } else {
      x.set(i, pool[(r >> 8) % (specials ? 12 : 9)]);
    }
  }
}
void fill_dy(Array &dy, Rng &rng) {
  for (std::size_t i = 0; i < dy.size(); ++i) {
    const std::uint64_t r = rng.next() % 64;
    dy.set(i, r == 0 ? kNaN : r == 1 ? -0.0L : r == 2 ? 0.0L : static_cast<long double>(r) - 32.5L);
  }
}

bool same(long double a, long double b) {
  return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
}

// The forward and backward of every shape against the reference; returns the elements compared.
long compare(const MaxoutKernel &m, std::int64_t outer, std::int64_t groups, std::int64_t inner,
             std::uint64_t seed) {
  const int k = m.k();
  const dsl::MaxoutShape s{outer, groups * k, inner, k};
  const std::size_t nin = static_cast<std::size_t>(outer * groups * k * inner);
  const std::size_t nout = static_cast<std::size_t>(outer * groups * inner);
  Rng rng{seed};
  Array x(m.dtype(), nin), y(m.dtype(), nout), dy(m.dtype(), nout), dx(m.dtype(), nin);
  fill_x(x, rng);
  fill_dy(dy, rng);
  std::memset(y.data(), 0xa5, y.bytes.size());
  std::memset(dx.data(), 0xa5, dx.bytes.size());
  m.forward(x.data(), y.data(), outer, groups * k, inner);
  m.backward(x.data(), dy.data(), dx.data(), outer, groups * k, inner);
  const std::vector<long double> xs = x.values(), dys = dy.values();
  std::vector<long double> want_dx(nin);
  dsl::maxout_backward<long double>(xs, dys, want_dx, s);
  const std::string where = m.forward_name() + " shape (" + std::to_string(outer) + ", " +
                            std::to_string(groups * k) + ", " + std::to_string(inner) + ")";
  long n = 0;
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t g = 0; g < groups; ++g)
      for (std::int64_t i = 0; i < inner; ++i) {
        // The forward's bits are those of the reference's first arg-max (NaN payloads too).
        const auto at = static_cast<std::size_t>(dsl::maxout_argmax<long double>(xs, s, o, g, i));
        const auto yi = static_cast<std::size_t>((o * groups + g) * inner + i);
        EXPECT_EQ(y.bits(yi), x.bits(at)) << where << " y element " << yi;
        ++n;
      }
  for (std::size_t i = 0; i < nin; ++i, ++n)
    EXPECT_TRUE(same(dx.get(i), want_dx[i]))
        << where << " dx element " << i << ": " << dx.get(i) << " vs " << want_dx[i];
  return n;
}

const DType kDtypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16};

class MaxoutKernels : public ::testing::TestWithParam<DType> {};

TEST_P(MaxoutKernels, BitIdenticalToTheReference) {
  long n = 0;
  std::uint64_t seed = 1;
  for (int k = 2; k <= 5; ++k) {
    const MaxoutKernel m = jit_maxout(k, {.dtype = GetParam()});
    EXPECT_EQ(m.k(), k);
    for (std::int64_t outer : {1, 3})
      for (std::int64_t groups : {1, 2, 5})
        for (std::int64_t inner : {1, 2, 3, 7, 16, 17, 33, 100})
          n += compare(m, outer, groups, inner, seed++);
  }
  EXPECT_GT(n, 10000);
}

TEST_P(MaxoutKernels, ChannelsLastManyGroups) {
  // inner = 1 with more groups than a vector: the vector runs across groups.
  for (int k : {2, 3, 4}) {
    const MaxoutKernel m = jit_maxout(k, {.dtype = GetParam()});
    compare(m, 2, 257, 1, 100 + static_cast<std::uint64_t>(k));
    compare(m, 1, 64, 3, 200 + static_cast<std::uint64_t>(k));
  }
}

TEST_P(MaxoutKernels, ParallelScheduleAgrees) {
  codegen::Schedule s;
  s.lanes = 4;
  s.unroll = 1;
  s.parallel_chunk = 4;
  const MaxoutKernel m = jit_maxout(3, {.dtype = GetParam(), .schedule = s});
  compare(m, 7, 3, 37, 300);
  compare(m, 5, 9, 1, 301);
  compare(m, 4, 5, 3, 302); // rows shorter than a vector of 4: vectors across groups
}

INSTANTIATE_TEST_SUITE_P(Dtypes, MaxoutKernels, ::testing::ValuesIn(kDtypes),
                         [](const auto &p) { return std::string(codegen::to_string(p.param)); });

TEST(Maxout, TiesGoToTheFirstArgMax) {
  const MaxoutKernel m = jit_maxout(4);
  // Groups (inner = 1): equal maxima, -0 before +0, +0 before -0, a NaN after the maximum,
  // two NaNs (the first wins), -inf only.
  const float nan1 = std::bit_cast<float>(0x7fc00001u), nan2 = std::bit_cast<float>(0xffc00002u);
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x{1, 5, 5,    2, -0.0f, 0.0f, -1, -2,  0.0f, -0.0f, -1,   -3,
                             9, 1, nan1, 2, nan2,  nan1, 1,  inf, -inf, -inf,  -inf, -inf};
  std::vector<float> y(6), dy{10, 20, 30, 40, 50, 60}, dx(24);
  m.forward(x.data(), y.data(), 1, 24, 1);
  EXPECT_EQ(y[0], 5);
  EXPECT_TRUE(std::signbit(y[1]));
  EXPECT_FALSE(std::signbit(y[2]));
  EXPECT_EQ(std::bit_cast<std::uint32_t>(y[3]), 0x7fc00001u);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(y[4]), 0xffc00002u);
  EXPECT_EQ(y[5], -inf);
  m.backward(x.data(), dy.data(), dx.data(), 1, 24, 1);
  const std::vector<float> want{0, 10, 0,  0, 20, 0, 0, 0, 30, 0, 0, 0,
                                0, 0,  40, 0, 50, 0, 0, 0, 60, 0, 0, 0};
  EXPECT_EQ(dx, want);
}

TEST(Maxout, BackwardCarriesEachDyOnce) {
  // Finite values: Σ dx = Σ dy exactly (integers), and each group holds one nonzero element.
  for (int k : {2, 3, 5}) {
    const MaxoutKernel m = jit_maxout(k, {.dtype = DType::F64});
    const std::int64_t outer = 3, groups = 11, inner = 19;
    Rng rng{static_cast<std::uint64_t>(k)};
    Array x(DType::F64, static_cast<std::size_t>(outer * groups * k * inner));
    fill_x(x, rng, /*specials=*/false);
    std::vector<double> dy(static_cast<std::size_t>(outer * groups * inner)), dx(x.size());
    for (auto &v : dy)
      v = static_cast<double>(rng.next() % 1000) + 1;
    m.backward(static_cast<const double *>(x.data()), dy.data(), dx.data(), outer, groups * k,
               inner);
    double sum_dx = 0, sum_dy = 0;
    for (double v : dx)
      sum_dx += v;
    for (double v : dy)
      sum_dy += v;
    EXPECT_EQ(sum_dx, sum_dy) << "k=" << k;
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t g = 0; g < groups; ++g)
        for (std::int64_t i = 0; i < inner; ++i) {
          int nonzero = 0;
          for (int j = 0; j < k; ++j)
            nonzero += dx[static_cast<std::size_t>(((o * groups + g) * k + j) * inner + i)] != 0;
          EXPECT_EQ(nonzero, 1);
        }
  }
}

TEST(Maxout, CachedPerKAndDtype) {
  const MaxoutKernel a = jit_maxout(3);
  const std::size_t compiled = maxout_compile_count();
  const MaxoutKernel b = jit_maxout(3);
  EXPECT_EQ(maxout_compile_count(), compiled);
  EXPECT_EQ(a.forward_name(), b.forward_name());
  EXPECT_NE(jit_maxout(3, {.dtype = DType::F64}).forward_name(), a.forward_name());
  EXPECT_NE(a.backward_name().find("maxout_bwd_k3_f32_"), std::string::npos);
}

TEST(Maxout, ArmUnderQemuMatchesX86BitForBit) {
  if (const std::string &problem = targets::arm::cross_tools().problem; !problem.empty())
    GTEST_SKIP() << problem;
  // Every schedule variant (inner 1, 3, 7, 40) of k = 2 and 3, forward and backward, f32 and
  // f16, against the x86 kernels' bytes (themselves bit-identical to the reference above).
  std::vector<MaxoutCall> calls;
  std::vector<std::vector<unsigned char>> want;
  Rng rng{77};
  for (DType dtype : {DType::F32, DType::F16})
    for (int k : {2, 3})
      for (std::int64_t inner : {1, 3, 7, 40}) {
        const MaxoutKernel m = jit_maxout(k, {.dtype = dtype});
        const std::int64_t outer = 2, groups = 5;
        Array x(dtype, static_cast<std::size_t>(outer * groups * k * inner)),
            dy(dtype, static_cast<std::size_t>(outer * groups * inner));
        fill_x(x, rng);
        fill_dy(dy, rng);
        for (codegen::Role role : {codegen::Role::Forward, codegen::Role::Backward}) {
          const bool bwd = role == codegen::Role::Backward;
          Array res(dtype, bwd ? x.size() : dy.size());
          if (bwd)
            m.backward(static_cast<const void *>(x.data()), dy.data(), res.data(), outer,
                       groups * k, inner);
          else
            m.forward(static_cast<const void *>(x.data()), res.data(), outer, groups * k, inner);
          want.push_back(res.bytes);
          calls.push_back({k, dtype, role, outer, groups * k, inner, x.bytes,
                           bwd ? dy.bytes : std::vector<unsigned char>{}});
        }
      }
  const auto got = run_maxout_cross("arm-64-linux", calls);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i], want[i]) << "call " << i << ": k=" << calls[i].k << " inner "
                               << calls[i].inner << " " << codegen::to_string(calls[i].dtype) << " "
                               << codegen::to_string(calls[i].role);
}

template <class F> std::string error_of(F &&f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "no error";
}

TEST(Maxout, Errors) {
  const MaxoutKernel m = jit_maxout(3);
  std::vector<float> x(36), y(12), dx(36);
  EXPECT_NE(error_of([&] {
              m.forward(x.data(), y.data(), 1, 8, 4);
            }).find("the channel count must be a multiple of k"),
            std::string::npos);
  EXPECT_NE(error_of([&] { m.forward(x.data(), y.data(), -1, 9, 4); }).find("sizes must be >= 0"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              m.forward(x.data(), static_cast<float *>(nullptr), 1, 9, 4);
            }).find("output 'y' is null"),
            std::string::npos);
  // y is smaller than x: no kernel can write it over x (the groups after the first would read
  // values already overwritten).
  EXPECT_NE(error_of([&] { m.forward(x.data(), x.data(), 1, 9, 4); }).find("cannot work in place"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              m.backward(x.data(), y.data(), x.data(), 1, 9, 4);
            }).find("output 'dx' overlaps input 'x'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              m.backward(x.data(), dx.data(), dx.data() + 2, 1, 3, 4);
            }).find("overlaps input 'dy'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              double d[36];
              m.forward(d, d + 1, 1, 3, 1);
            }).find("takes 4-byte elements"),
            std::string::npos);
  EXPECT_NE(error_of([] { jit_maxout(1); }).find("k must be an integer from 2 to 16"),
            std::string::npos);
  EXPECT_NE(error_of([] { jit_maxout(17); }).find("k must be an integer from 2 to 16"),
            std::string::npos);
  EXPECT_NE(error_of([] { jit_maxout(2, {.target = "cuda"}); }).find("run on x86 CPUs"),
            std::string::npos);
  // An empty shape does nothing (and needs no arrays).
  m.forward(static_cast<const float *>(nullptr), static_cast<float *>(nullptr), 0, 9, 4);
}

} // namespace
} // namespace actforge
