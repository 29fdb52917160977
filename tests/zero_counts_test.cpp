// Dead-unit statistics (JitOptions::zero_counts): a kernel that counts its exactly-zero outputs
// writes the same outputs, bit for bit, as the kernel without counting, and counts per channel
// (flat: one count; Layout::Halves: per column) what a plain count over those outputs gives — at
// sizes that cross the counting blocks (2^14 elements), with tails, in place, in every dtype, with
// generated noise; the counts of relu are the closed form (#x <= 0, NaN not counted); and the
// errors of a kernel or call that cannot count.
#include "actforge/runtime/jit.hpp"

#include "actforge/dsl/rrelu.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace actforge {
namespace {

constexpr DType kDTypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16};

// n values in [-3, 3) with ±0, NaN and ±inf sprinkled in, stored as `dtype`.
std::vector<unsigned char> data(std::int64_t n, DType dtype, std::uint32_t seed) {
  const int bytes = codegen::bytes_of(dtype);
  std::vector<unsigned char> out(static_cast<std::size_t>(n * bytes));
  const double specials[] = {0.0, -0.0, std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity()};
  for (std::int64_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    double v = -3.0 + 6.0 * static_cast<double>(seed >> 8) / 16777216.0;
    if ((seed >> 3) % 11 == 0) v = specials[(seed >> 9) % std::size(specials)];
    codegen::store_value(out.data() + i * bytes, dtype, v);
  }
  return out;
}

bool is_zero(const unsigned char *p, DType dtype) { return codegen::load_value(p, dtype) == 0.0; }

struct Case {
  const char *activation;
  Role role;
  Layout layout;
  std::int64_t outer, channels, inner; // Halves: rows, 1, d
};

// Output 0 of the counting kernel equals the plain kernel's, and its counts a plain count.
void check(const Case &c, DType dtype) {
  SCOPED_TRACE(std::string(c.activation) + " " + std::string(codegen::to_string(c.role)) + " " +
               std::string(codegen::to_string(c.layout)) + " " +
               std::string(codegen::to_string(dtype)) + " [" + std::to_string(c.outer) + ", " +
               std::to_string(c.channels) + ", " + std::to_string(c.inner) + "]");
  JitOptions plain_options{.role = c.role, .dtype = dtype, .layout = c.layout};
  const Kernel plain = jit(c.activation, plain_options);
  JitOptions counting_options = plain_options;
  counting_options.zero_counts = true;
  const Kernel counting = jit(c.activation, counting_options);
  ASSERT_TRUE(counting.zero_counts());
  ASSERT_EQ(counting.output_ports().back().name, "zero_counts");
  ASSERT_EQ(counting.output_ports().back().extent, Extent::Counts);
  ASSERT_EQ(counting.num_outputs(), plain.num_outputs() + 1);

  const Shape shape = c.layout == Layout::Flat ? Shape::flat(c.inner)
                      : c.layout == Layout::Channels
                          ? Shape::with_channels(c.outer, c.channels, c.inner)
                          : Shape::halves(c.outer, c.inner);
  const std::int64_t elements = c.outer * c.channels * c.inner;
  const int bytes = codegen::bytes_of(dtype);
  std::vector<std::vector<unsigned char>> in;
  std::vector<const void *> in_ptrs;
  for (std::size_t p = 0; p < plain.input_ports().size(); ++p) {
    const Extent e = plain.input_ports()[p].extent;
    const std::int64_t n = e == Extent::Pairs ? 2 * elements : elements;
    in.push_back(data(n, dtype, 17u + 31u * static_cast<std::uint32_t>(p)));
    in_ptrs.push_back(in.back().data());
  }
  std::vector<std::vector<unsigned char>> want(plain.output_ports().size()),
      got(plain.output_ports().size());
  std::vector<void *> want_ptrs, got_ptrs;
  for (std::size_t p = 0; p < want.size(); ++p) {
    const std::int64_t n =
        plain.output_ports()[p].extent == Extent::Pairs ? 2 * elements : elements;
    want[p].assign(static_cast<std::size_t>(n * bytes), 0xAB);
    got[p].assign(static_cast<std::size_t>(n * bytes), 0xCD);
    want_ptrs.push_back(want[p].data());
    got_ptrs.push_back(got[p].data());
  }
  const std::int64_t ncounts = c.layout == Layout::Channels ? c.channels
                               : c.layout == Layout::Halves ? c.inner
                                                            : 1;
  std::vector<std::int64_t> counts(static_cast<std::size_t>(ncounts), -7); // overwritten
  got_ptrs.push_back(counts.data());
  plain.run(in_ptrs, want_ptrs, shape);
  counting.run(in_ptrs, got_ptrs, shape);
  for (std::size_t p = 0; p < want.size(); ++p)
    ASSERT_EQ(want[p], got[p]) << "output " << plain.output_ports()[p].name;

  std::vector<std::int64_t> expected(static_cast<std::size_t>(ncounts), 0);
  const unsigned char *y = want[0].data();
  for (std::int64_t o = 0; o < c.outer; ++o)
    for (std::int64_t ch = 0; ch < c.channels; ++ch)
      for (std::int64_t i = 0; i < c.inner; ++i) {
        // Halves backward: dxg's rows are [dx | dg]; the count is dx's.
        const std::int64_t at =
            c.layout == Layout::Halves && plain.output_ports()[0].extent == Extent::Pairs
                ? o * 2 * c.inner + i
                : (o * c.channels + ch) * c.inner + i;
        if (is_zero(y + at * bytes, dtype))
          ++expected[static_cast<std::size_t>(c.layout == Layout::Halves ? i : ch)];
      }
  EXPECT_EQ(counts, expected);
}

TEST(ZeroCounts, EqualsAPlainCountOfThePlainKernelsOutput) {
  const Case cases[] = {
      {"relu", Role::Forward, Layout::Flat, 1, 1, 100003}, // 7 blocks and a tail
      {"relu", Role::Backward, Layout::Flat, 1, 1, 40000},
      {"relu", Role::BackwardFromOutput, Layout::Flat, 1, 1, 33},
      {"gelu", Role::Forward, Layout::Flat, 1, 1, 20000},
      {"hardswish", Role::Backward, Layout::Flat, 1, 1, 16384},
      {"relu6", Role::Forward, Layout::Channels, 3, 5, 7001},  // blocks of whole channels
      {"relu", Role::Forward, Layout::Channels, 7, 300, 49},   // many channels per block
      {"relu", Role::Backward, Layout::Channels, 2, 3, 40000}, // a channel's row in pieces
      {"hardsigmoid", Role::Forward, Layout::Channels, 4, 2, 9000},
      {"reglu", Role::Forward, Layout::Flat, 1, 1, 30000}, // gated: dx counted
      {"reglu", Role::Backward, Layout::Channels, 2, 3, 5000},
      {"reglu", Role::Forward, Layout::Halves, 1000, 1, 37},  // per column
      {"reglu", Role::Backward, Layout::Halves, 9, 1, 20000}, // dx half of dxg
      {"swiglu", Role::Forward, Layout::Halves, 700, 1, 33},
  };
  for (const Case &c : cases)
    for (DType d : kDTypes)
      check(c, d);
}

TEST(ZeroCounts, ReluCountsAreTheNonPositiveInputs) {
  const std::int64_t n = 70001;
  std::vector<float> x(static_cast<std::size_t>(n)), y(x.size());
  std::int64_t want = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = i % 97 == 0   ? std::numeric_limits<float>::quiet_NaN()
                    : i % 89 == 0 ? -0.0f
                                  : static_cast<float>((i * 7919) % 2001 - 1000) / 100.0f;
    x[static_cast<std::size_t>(i)] = v;
    want += v <= 0.0f; // NaN: not counted (relu(NaN) = NaN)
  }
  const Kernel fwd = jit("relu", {.zero_counts = true});
  std::int64_t count = -1;
  fwd.run({x.data()}, {y.data(), &count}, Shape::flat(n));
  EXPECT_EQ(count, want);
  // In place: y over x, the same count.
  fwd.run({x.data()}, {x.data(), &count}, Shape::flat(n));
  EXPECT_EQ(count, want);
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0);
  // No elements: the count is 0.
  count = 5;
  fwd.run({x.data()}, {y.data(), &count}, Shape::flat(0));
  EXPECT_EQ(count, 0);
}

TEST(ZeroCounts, GeneratedNoiseDrawsWhatOneCallDraws) {
  // RReLU training with the counting blocks: each block continues the Philox stream.
  const std::int64_t n = 50000;
  std::vector<float> x(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    x[static_cast<std::size_t>(i)] = i % 5 == 0 ? 0.0f : static_cast<float>(i % 200 - 100);
  const Kernel plain = jit(dsl::rrelu_train_expr(), {.uniform_g = true}, "rrelu_train");
  const Kernel counting =
      jit(dsl::rrelu_train_expr(), {.uniform_g = true, .zero_counts = true}, "rrelu_train");
  std::vector<float> want(x.size()), got(x.size());
  std::int64_t count = -1;
  plain.run({x.data()}, {want.data()}, Shape::flat(n), {}, Noise{42, 1000});
  counting.run({x.data()}, {got.data(), &count}, Shape::flat(n), {}, Noise{42, 1000});
  EXPECT_EQ(std::memcmp(want.data(), got.data(), x.size() * sizeof(float)), 0);
  EXPECT_EQ(count, n / 5); // x = 0 exactly: a slope in [lower, upper] keeps the others nonzero
}

TEST(ZeroCounts, Errors) {
  EXPECT_THROW(jit("prelu", {.role = Role::ParamGrad, .zero_counts = true}), Error);
  try {
    jit("relu", {.target = "cuda", .zero_counts = true});
    ADD_FAILURE() << "a cuda kernel with zero_counts";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("not available for cuda"), std::string::npos) << e.what();
  }
  const Kernel fwd = jit("relu", {.layout = Layout::Channels, .zero_counts = true});
  EXPECT_NE(fwd.name().find("_zc"), std::string::npos) << fwd.name();
  std::vector<float> x(12), y(12);
  try {
    fwd.run({x.data()}, {y.data()}, Shape::with_channels(2, 3, 2));
    ADD_FAILURE() << "a call without zero_counts";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("y, zero_counts"), std::string::npos) << e.what();
  }
  try {
    fwd.run({x.data()}, {y.data(), nullptr}, Shape::with_channels(2, 3, 2));
    ADD_FAILURE() << "a null zero_counts";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("'zero_counts' is null"), std::string::npos) << e.what();
  }
  // No channels: nothing to count, a null array is fine.
  EXPECT_NO_THROW(fwd.run({x.data()}, {y.data(), nullptr}, Shape::with_channels(2, 0, 2)));
  // Asking for the counting kernel compiles nothing more than the plain one.
  const std::size_t before = jit_compile_count();
  (void)jit("relu", {.layout = Layout::Channels});
  (void)jit("relu", {.layout = Layout::Channels, .zero_counts = true});
  EXPECT_EQ(jit_compile_count(), before);
}

} // namespace
} // namespace actforge
