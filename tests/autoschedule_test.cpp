// Halide's autoschedulers on our pipelines (runtime/autoschedule.hpp): every available
// autoscheduler's kernel gives outputs bit-identical to actforge::jit's default kernel, on NaN,
// ±inf, ±0 and denormals, at odd sizes (below, near and above the least size its schedule takes
// directly); a missing plugin skips with the reason; wrong calls throw naming the mistake.
#include "actforge/runtime/autoschedule.hpp"

#include "actforge/dsl/catalog.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

namespace actforge {
namespace {

namespace as = runtime::autoschedule;

constexpr std::int64_t kEstimate = 1 << 14;
constexpr std::int64_t kSizes[] = {1, 17, 1000, 100003};

// The special values of a storage type, as bits: NaN (both signs), ±inf, ±0, the smallest and
// largest denormals, the smallest normal, ±max, ±1, and values where exp over- or underflows.
std::vector<std::uint64_t> specials(DType d) {
  switch (d) {
  case DType::F16:
    return {0x7e00, 0xfe00, 0x7c00, 0xfc00, 0x0000, 0x8000, 0x0001, 0x8001, 0x03ff,
            0x83ff, 0x0400, 0x7bff, 0xfbff, 0x3c00, 0xbc00, 0x4900, 0xc900};
  case DType::BF16:
    return {0x7fc0, 0xffc0, 0x7f80, 0xff80, 0x0000, 0x8000, 0x0001, 0x8001, 0x007f,
            0x807f, 0x0080, 0x7f7f, 0xff7f, 0x3f80, 0xbf80, 0x42b1, 0xc2d0};
  case DType::F64:
    return {0x7ff8000000000000, 0xfff8000000000000, 0x7ff0000000000000, 0xfff0000000000000,
            0x0000000000000000, 0x8000000000000000, 0x0000000000000001, 0x8000000000000001,
            0x000fffffffffffff, 0x800fffffffffffff, 0x0010000000000000, 0x7fefffffffffffff,
            0xffefffffffffffff, 0x3ff0000000000000, 0xbff0000000000000, 0x40862e42fefa39ef,
            0xc0874910d52d3052};
  case DType::F32: break;
  }
  return {0x7fc00000, 0xffc00000, 0x7f800000, 0xff800000, 0x00000000, 0x80000000,
          0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000, 0x7f7fffff,
          0xff7fffff, 0x3f800000, 0xbf800000, 0x42b17218, 0xc2d00000};
}

// A value of [-8, 8) (where activations bend) as bits of the storage type (rounded toward zero
// for the 16-bit types, which is as good a sample).
std::uint64_t bits_of(float v, DType d) {
  const auto b = std::bit_cast<std::uint32_t>(v);
  switch (d) {
  case DType::F16: return ((b >> 16) & 0x8000) | (((b >> 13) - 0x1c000) & 0x7fff);
  case DType::BF16: return b >> 16;
  case DType::F64: return std::bit_cast<std::uint64_t>(static_cast<double>(v));
  case DType::F32: break;
  }
  return b;
}

// `count` elements of storage type d: special values first and last (so every size sees some,
// the larger ones in their vector tails), then alternately values of [-8, 8) and any bits.
std::vector<std::uint8_t> sample(std::int64_t count, DType d, unsigned seed) {
  const auto bytes = static_cast<std::size_t>(codegen::bytes_of(d));
  const std::vector<std::uint64_t> special = specials(d);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(count) * bytes);
  std::uint32_t s = seed;
  auto next = [&s] { return s = s * 1664525u + 1013904223u; };
  for (std::int64_t i = 0; i < count; ++i) {
    std::uint64_t bits = (std::uint64_t{next()} << 32) | next();
    if (i % 2 == 0) bits = bits_of(-8.0f + 16.0f * static_cast<float>(s >> 8) / 16777216.0f, d);
    const auto k = static_cast<std::size_t>(i);
    const auto from_end = static_cast<std::size_t>(count - 1 - i);
    if (k < special.size()) bits = special[k];
    if (from_end < special.size()) bits = special[(from_end + seed) % special.size()];
    std::memcpy(out.data() + k * bytes, &bits, bytes); // little-endian: the low bytes
  }
  return out;
}

struct Case {
  const char *activation;
  Role role;
  DType dtype;
};

std::string case_name(const Case &c);
void PrintTo(const Case &c, std::ostream *os) { *os << case_name(c); }

std::string case_name(const Case &c) {
  return std::string(c.activation) + "_" + std::string(codegen::to_string(c.role)) + "_" +
         std::string(codegen::to_string(c.dtype));
}

codegen::KernelSpec spec_of(const Case &c) {
  return {dsl::find_activation(c.activation)->expr, c.role, c.dtype};
}

class BitIdentical : public ::testing::TestWithParam<std::tuple<Case, std::string>> {};

TEST_P(BitIdentical, ToOurDefaultKernel) {
  const auto &[c, scheduler] = GetParam();
  if (const std::string why = as::problem(scheduler); !why.empty())
    GTEST_SKIP() << scheduler << " is not available: " << why;
  const as::Kernel theirs = as::compile(spec_of(c), "host", scheduler, kEstimate, 1, {});
  const Kernel ours = jit(c.activation, {.role = c.role, .dtype = c.dtype});
  ASSERT_EQ(theirs.input_ports().size(), ours.input_ports().size());
  ASSERT_EQ(theirs.output_ports().size(), ours.output_ports().size());
  for (std::size_t k = 0; k < ours.input_ports().size(); ++k)
    EXPECT_EQ(theirs.input_ports()[k].name, ours.input_ports()[k].name);
  const int bytes = codegen::bytes_of(c.dtype);
  for (const std::int64_t n : kSizes) {
    std::vector<std::vector<std::uint8_t>> in;
    std::vector<std::vector<std::uint8_t>> want;
    std::vector<std::vector<std::uint8_t>> got;
    std::vector<const void *> in_ptrs;
    std::vector<void *> want_ptrs;
    std::vector<void *> got_ptrs;
    for (std::size_t k = 0; k < ours.input_ports().size(); ++k)
      in.push_back(sample(n, c.dtype, 7u + static_cast<unsigned>(k)));
    for (std::size_t k = 0; k < ours.output_ports().size(); ++k) {
      want.emplace_back(static_cast<std::size_t>(n * bytes), 0xa5);
      got.emplace_back(static_cast<std::size_t>(n * bytes), 0x5a);
    }
    for (auto &v : in)
      in_ptrs.push_back(v.data());
    for (std::size_t k = 0; k < want.size(); ++k) {
      want_ptrs.push_back(want[k].data());
      got_ptrs.push_back(got[k].data());
    }
    ours.run(in_ptrs, want_ptrs, n);
    theirs.run(in_ptrs, got_ptrs, n);
    for (std::size_t k = 0; k < want.size(); ++k)
      for (std::int64_t i = 0; i < n; ++i) {
        const auto at = static_cast<std::size_t>(i * bytes);
        std::uint64_t w = 0;
        std::uint64_t g = 0;
        std::uint64_t x = 0;
        std::memcpy(&w, want[k].data() + at, static_cast<std::size_t>(bytes));
        std::memcpy(&g, got[k].data() + at, static_cast<std::size_t>(bytes));
        std::memcpy(&x, in[0].data() + at, static_cast<std::size_t>(bytes));
        ASSERT_EQ(g, w) << theirs.name() << " output " << ours.output_ports()[k].name
                        << " at n = " << n << ", element " << i << " (input bits 0x" << std::hex
                        << x << std::dec << "; min_direct_n " << theirs.min_direct_n()
                        << "); schedule:\n"
                        << theirs.schedule_text();
      }
  }
}

const Case kCases[] = {
    {"relu", Role::Forward, DType::F32},    {"relu", Role::Backward, DType::F32},
    {"swish", Role::Forward, DType::F32},   {"swish", Role::Backward, DType::F32},
    {"gelu", Role::Forward, DType::F32},    {"gelu", Role::Backward, DType::F32},
    {"swish", Role::Forward, DType::F16},   {"relu", Role::BackwardFromOutput, DType::F32},
    {"swiglu", Role::Backward, DType::F32}, {"swish", Role::Backward, DType::F64},
    {"gelu", Role::Forward, DType::BF16},
};

std::string test_name(const ::testing::TestParamInfo<std::tuple<Case, std::string>> &p) {
  return case_name(std::get<0>(p.param)) + "_" + std::get<1>(p.param);
}

INSTANTIATE_TEST_SUITE_P(Autoschedulers, BitIdentical,
                         ::testing::Combine(::testing::ValuesIn(kCases),
                                            ::testing::ValuesIn(as::names())),
                         test_name);

TEST(Autoschedule, Names) {
  EXPECT_EQ(as::names(), (std::vector<std::string>{"Adams2019", "Li2018", "Mullapudi2016"}));
}

// The first available autoscheduler, or "" (the test then skips).
std::string available() {
  for (const auto &name : as::names())
    if (as::problem(name).empty()) return name;
  return "";
}

std::string error_of(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "no error";
}

TEST(Autoschedule, UnknownNameThrowsNamingTheKnownOnes) {
  const codegen::KernelSpec swish = spec_of({"swish", Role::Forward, DType::F32});
  const std::string message =
      error_of([&] { as::compile(swish, "host", "Ragan2013", kEstimate, 1, {}); });
  EXPECT_NE(message.find("unknown autoscheduler 'Ragan2013'"), std::string::npos) << message;
  EXPECT_NE(message.find("Adams2019, Li2018, Mullapudi2016"), std::string::npos) << message;
  EXPECT_NE(as::problem("Ragan2013").find("Adams2019, Li2018, Mullapudi2016"), std::string::npos);
}

// Plugins are looked for once per process: a fresh one (threadsafe death tests re-run the test
// binary) with $ACTFORGE_HALIDE_PLUGINS naming an empty place.
TEST(AutoscheduleDeathTest, AMissingPluginSaysWhereItWasLookedFor) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::setenv("ACTFORGE_HALIDE_PLUGINS", "/nonexistent/plugins", 1);
        const std::string message = error_of([] {
          as::compile(spec_of({"swish", Role::Forward, DType::F32}), "host", "Li2018", kEstimate, 1,
                      {});
        });
        std::fprintf(stderr, "%s\n", message.c_str());
        std::exit(as::problem("Li2018") == message.substr(message.find(": ") + 2) ? 0 : 1);
      },
      ::testing::ExitedWithCode(0),
      "Li2018 is not available: no plugin /nonexistent/plugins/libautoschedule_li2018.so");
}

TEST(Autoschedule, WrongRequestsThrow) {
  const std::string name = available();
  if (name.empty()) GTEST_SKIP() << "no autoscheduler plugin: " << as::problem("Adams2019");
  const codegen::KernelSpec swish = spec_of({"swish", Role::Forward, DType::F32});
  auto expect = [&](const codegen::KernelSpec &spec, const std::string &target, std::int64_t n,
                    int threads, const Params &params, const std::string &what) {
    const std::string message =
        error_of([&] { as::compile(spec, target, name, n, threads, params); });
    EXPECT_NE(message.find(what), std::string::npos) << message;
  };
  expect(spec_of({"swish", Role::ParamGrad, DType::F32}), "host", kEstimate, 1, {}, "param_grad");
  expect(swish, "cuda", kEstimate, 1, {}, "x86 CPU kernels");
  expect(swish, "host", 0, 1, {}, "size estimate");
  expect(swish, "host", kEstimate, 0, {}, "threads must be at least 1");
  expect(swish, "host", kEstimate, 1, {{"gamma", 1.0}}, "has no parameter 'gamma'");
}

TEST(Autoschedule, WrongCallsThrow) {
  const std::string name = available();
  if (name.empty()) GTEST_SKIP() << "no autoscheduler plugin: " << as::problem("Adams2019");
  const as::Kernel k = as::compile(spec_of({"swish", Role::Backward, DType::F32}), "host", name,
                                   kEstimate, 1, {{"beta", 1.5}});
  EXPECT_EQ(k.autoscheduler(), name);
  EXPECT_FALSE(k.schedule_text().empty());
  std::vector<float> x(64, 1.0f);
  std::vector<float> dy(64, 1.0f);
  std::vector<float> dx(64);
  EXPECT_NE(error_of([&] { k.run({x.data()}, {dx.data()}, 64); }).find("takes 2 input arrays"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              k.run({x.data(), dy.data()}, {dx.data()}, -1);
            }).find("n must be"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              k.run({x.data(), nullptr}, {dx.data()}, 64);
            }).find("input 'dy' is null"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              k.run({x.data(), dy.data()}, {dy.data() + 8}, 32);
            }).find("overlaps input 'dy'"),
            std::string::npos);
  k.run({x.data(), dy.data()}, {dx.data()}, 0); // nothing to do
}

std::size_t threads_of_this_process() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto &entry : std::filesystem::directory_iterator("/proc/self/task"))
    ++count;
  return count;
}

// `threads` sizes Halide's thread pool: 1 runs a parallel schedule on the calling thread alone,
// 2 starts a worker. (Each test runs in a process of its own under ctest; run alone, the other
// tests of this file start no Halide worker.)
TEST(Autoschedule, ThreadsSizeTheThreadPool) {
  const codegen::KernelSpec swish = spec_of({"swish", Role::Forward, DType::F32});
  const std::int64_t n = 1 << 16;
  for (const auto &name : as::names()) {
    if (!as::problem(name).empty()) continue;
    const as::Kernel one = as::compile(swish, "host", name, n, 1, {});
    if (one.schedule_text().find("parallel") == std::string::npos) continue;
    std::vector<float> x(n, 0.5f);
    std::vector<float> y(n);
    const std::size_t before = threads_of_this_process();
    one.run({x.data()}, {y.data()}, n);
    EXPECT_EQ(threads_of_this_process(), before) << name << " with threads = 1";
    const as::Kernel two = as::compile(swish, "host", name, n, 2, {});
    ASSERT_NE(two.schedule_text().find("parallel"), std::string::npos) << two.schedule_text();
    two.run({x.data()}, {y.data()}, n);
    EXPECT_GT(threads_of_this_process(), before) << name << " with threads = 2";
    return;
  }
  GTEST_SKIP() << "no available autoscheduler chose a parallel schedule";
}

} // namespace
} // namespace actforge
