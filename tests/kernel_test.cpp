// Compiled kernels (JIT, x86): sizes, tails, in place, unaligned, NaN/inf semantics, targets
// against each other, the cache, threads and errors — for every library activation.
#include "actforge/check/numeric.hpp"
#include "actforge/check/reference.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/jit.hpp"
#include "actforge/runtime/kernel_check.hpp"
#include "actforge/targets/x86.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <thread>

namespace actforge {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<const dsl::Entry *> elementwise() {
  std::vector<const dsl::Entry *> out;
  for (const auto &e : dsl::catalog())
    if (e.expr.defined()) out.push_back(&e);
  return out;
}

Params sample_params(const dsl::Entry &e) {
  Params p;
  for (const auto &[name, value] : e.sample_params())
    p[name] = static_cast<double>(value);
  return p;
}

// Deterministic inputs covering both signs, kinks and the tails: x_i in about [-30, 30].
std::vector<float> inputs(std::size_t n, unsigned seed) {
  std::vector<float> v(n);
  std::uint32_t s = seed;
  for (auto &x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>(static_cast<std::int32_t>(s >> 8) % 60000) / 2000.0f;
  }
  return v;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

struct Run {
  const dsl::Entry *entry;
  Role role;
};
std::string run_name(const testing::TestParamInfo<Run> &info) {
  return info.param.entry->name + (info.param.role == Role::Forward ? "_fwd" : "_bwd");
}
std::vector<Run> runs() {
  std::vector<Run> r;
  for (const auto *e : elementwise())
    for (Role role : {Role::Forward, Role::Backward})
      r.push_back({e, role});
  return r;
}

class KernelRun : public testing::TestWithParam<Run> {
protected:
  Kernel kernel(const std::string &target = "host", DType dtype = DType::F32) const {
    return jit(GetParam().entry->expr, JitOptions{GetParam().role, dtype, target, std::nullopt},
               GetParam().entry->name);
  }
  int inputs_count() const {
    return std::max(1, ir::count_inputs(GetParam().entry->expr)) +
           (GetParam().role == Role::Backward);
  }
  // Runs k on `in` (inputs_count() arrays of n) into outputs, at an element offset that makes
  // the pointers unaligned when `unaligned`.
  std::vector<std::vector<float>> call(const Kernel &k, const std::vector<std::vector<float>> &in,
                                       std::size_t n, bool unaligned = false) const {
    const std::size_t off = unaligned ? 1 : 0;
    std::vector<std::vector<float>> in_store, out_store(static_cast<std::size_t>(k.num_outputs()),
                                                        std::vector<float>(n + off + 1, -7.0f));
    std::vector<const void *> in_ptr;
    for (const auto &v : in) {
      in_store.emplace_back(off, 0.0f);
      in_store.back().insert(in_store.back().end(), v.begin(), v.begin() + static_cast<long>(n));
    }
    for (const auto &v : in_store)
      in_ptr.push_back(v.data() + off);
    std::vector<void *> out_ptr;
    for (auto &v : out_store)
      out_ptr.push_back(v.data() + off);
    k.run(in_ptr, out_ptr, static_cast<std::int64_t>(n), sample_params(*GetParam().entry));
    std::vector<std::vector<float>> result;
    for (auto &v : out_store) {
      EXPECT_EQ(v[n + off], -7.0f) << "wrote past the end";
      result.emplace_back(v.begin() + static_cast<long>(off),
                          v.begin() + static_cast<long>(off + n));
    }
    return result;
  }
  std::vector<std::vector<float>> make_inputs(std::size_t n) const {
    std::vector<std::vector<float>> in;
    for (int i = 0; i < inputs_count(); ++i)
      in.push_back(inputs(n, 17u + static_cast<unsigned>(i)));
    return in;
  }
};

TEST_P(KernelRun, EverySizeAgreesWithTheLongRun) {
  const Kernel k = kernel();
  const std::size_t lanes = static_cast<std::size_t>(k.schedule().lanes * k.schedule().unroll);
  const std::size_t big = 1000003;
  const auto in = make_inputs(big);
  const auto full = call(k, in, big);
  for (std::size_t n :
       {std::size_t{0}, std::size_t{1}, lanes - 1, lanes, lanes + 1, 2 * lanes + 3}) {
    const auto part = call(k, in, n);
    for (std::size_t o = 0; o < part.size(); ++o)
      for (std::size_t i = 0; i < n; ++i)
        ASSERT_TRUE(same_bits(part[o][i], full[o][i])) << "n=" << n << " i=" << i;
  }
  const auto unaligned = call(k, in, big, true);
  for (std::size_t o = 0; o < full.size(); ++o)
    for (std::size_t i = 0; i < big; i += 7)
      ASSERT_TRUE(same_bits(unaligned[o][i], full[o][i])) << "unaligned, i=" << i;
}

TEST_P(KernelRun, InPlaceEqualsOutOfPlace) {
  const Kernel k = kernel();
  const std::size_t n = 4099;
  auto in = make_inputs(n);
  const auto expected = call(k, in, n);
  std::vector<const void *> in_ptr;
  for (const auto &v : in)
    in_ptr.push_back(v.data());
  std::vector<void *> out_ptr{in[0].data()}; // the result overwrites x
  if (k.num_outputs() == 2) out_ptr.push_back(in[1].data());
  k.run(in_ptr, out_ptr, static_cast<std::int64_t>(n), sample_params(*GetParam().entry));
  for (std::size_t o = 0; o < expected.size(); ++o)
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_TRUE(same_bits(in[o][i], expected[o][i])) << i;
}

TEST_P(KernelRun, NanInNanOutAndLimitsAtInfinity) {
  const Kernel k = kernel();
  const int n_in = inputs_count();
  for (int which = 0; which < n_in; ++which) {
    std::vector<std::vector<float>> in(static_cast<std::size_t>(n_in), std::vector<float>{0.5f});
    in[static_cast<std::size_t>(which)][0] = kNaN;
    for (const auto &out : call(k, in, 1))
      EXPECT_TRUE(std::isnan(out[0])) << "NaN in input " << which;
  }
  if (ir::count_inputs(GetParam().entry->expr) > 1)
    return; // limits of two-input functions: not defined
  const ir::Expr f = GetParam().role == Role::Forward
                         ? GetParam().entry->expr
                         : ir::differentiate(GetParam().entry->expr, ir::input(0));
  const ir::Program p(f);
  check::Probe probe{&p, {0}, {}, 0, false};
  for (const auto &info : p.params())
    probe.params.push_back(GetParam().entry->sample_params().at(info.name));
  for (float inf : {-kInf, kInf}) {
    std::vector<std::vector<float>> in{{inf}};
    if (GetParam().role == Role::Backward) in.push_back({1.0f});
    const float got = call(k, in, 1)[0][0];
    const float want = static_cast<float>(check::reference_value(probe, inf));
    EXPECT_TRUE(got == want || (std::isnan(got) && std::isnan(want)))
        << "at " << inf << ": " << got << " vs " << want;
  }
}

// Differential: the AVX2 and AVX-512 kernels are one expression at two vector widths. Halide
// picks some instructions per width (e.g. its exp), so they may differ in the last bit or two.
TEST_P(KernelRun, TargetsAgreeWithEachOther) {
  if (!targets::x86::cpu_supports("x86-64-avx512")) GTEST_SKIP() << "this CPU has no AVX-512";
  const Kernel a = kernel("x86-64-avx2"), b = kernel("x86-64-avx512");
  EXPECT_NE(a.schedule().lanes, b.schedule().lanes);
  const std::size_t n = 20011;
  const auto in = make_inputs(n);
  const auto ra = call(a, in, n), rb = call(b, in, n);
  for (std::size_t o = 0; o < ra.size(); ++o)
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_LE(runtime::ulp_error(ra[o][i], rb[o][i], DType::F32), 2.0)
          << "i=" << i << " avx2 " << ra[o][i] << " avx512 " << rb[o][i];
}

TEST_P(KernelRun, OtherDtypesRunAndRound) {
  // f64 computes in f64: the f64 kernel agrees with the f32 one to f32's accuracy. Where the
  // formula cancels x-sized terms (tanhshrink near 0) f32 is only good to ~1e-7·|x|, which the
  // absolute allowance admits; the accuracy of each kernel is measured by check_kernels.
  const std::size_t n = 257;
  const auto in = make_inputs(n);
  const auto f32 = call(kernel(), in, n);
  const Kernel k64 = kernel("host", DType::F64);
  std::vector<std::vector<double>> in64;
  for (const auto &v : in)
    in64.emplace_back(v.begin(), v.end());
  std::vector<std::vector<double>> out64(f32.size(), std::vector<double>(n));
  std::vector<const void *> ip;
  std::vector<void *> op;
  for (const auto &v : in64)
    ip.push_back(v.data());
  for (auto &v : out64)
    op.push_back(v.data());
  k64.run(ip, op, static_cast<std::int64_t>(n), sample_params(*GetParam().entry));
  for (std::size_t o = 0; o < f32.size(); ++o)
    for (std::size_t i = 0; i < n; ++i)
      EXPECT_TRUE(
          check::close(f32[o][i], out64[o][i], 1e-4L,
                       1e-6L * std::max({1.0f, std::fabs(in[0][i]), std::fabs(in.back()[i])})) ||
          (std::isnan(f32[o][i]) && std::isnan(out64[o][i])))
          << "i=" << i << " f32 " << f32[o][i] << " f64 " << out64[o][i];
}

INSTANTIATE_TEST_SUITE_P(Library, KernelRun, testing::ValuesIn(runs()), run_name);

// Accuracy against the bounds of ACTIVATIONS.md, on every 2^14-th float (f64 alike) and every
// f16/bf16 value. The (activation, dtype) pairs listed here do not meet the bounds yet;
// `actforge check --all --target host` reports their figures. Every other pair is held to them.
// None is open now (the x·f(x) family's f64 kernels carry their arguments as double words and
// scale their subnormal factors: lower.cpp, primitives.hpp); an entry reads {"gelu", "f64"}.
struct OpenPair {
  std::string_view activation, dtype; // dtype "*": every dtype
};
constexpr std::array<OpenPair, 0> kAccuracyOpen{};

bool accuracy_open(std::string_view activation, std::string_view dtype) {
  for (const OpenPair &o : kAccuracyOpen)
    if (o.activation == activation && (o.dtype == "*" || o.dtype == dtype)) return true;
  return false;
}

class KernelAccuracy : public testing::TestWithParam<const dsl::Entry *> {};

TEST_P(KernelAccuracy, WithinTheUlpBounds) {
  const dsl::Entry &e = *GetParam();
  if (accuracy_open(e.name, "*"))
    GTEST_SKIP() << e.name
                 << " does not meet the ULP bounds yet (see actforge check --target host)";
  runtime::KernelCheckOptions options;
  options.log2_stride = 14;
  int measured = 0;
  for (const auto &r : runtime::check_kernels(check::make_subject(e.name), options)) {
    if (accuracy_open(e.name, r.dtype)) continue;
    ++measured;
    EXPECT_EQ(r.status, check::Status::Pass) << r.role << " " << r.dtype << ": " << r.reason;
  }
  EXPECT_GT(measured, 0);
}

INSTANTIATE_TEST_SUITE_P(Library, KernelAccuracy, testing::ValuesIn(elementwise()),
                         [](const testing::TestParamInfo<const dsl::Entry *> &p) {
                           return p.param->name;
                         });

TEST(Jit, CacheHitsDoNotCompile) {
  const Kernel a = jit("hardsigmoid");
  const std::size_t compiled = jit_compile_count();
  const Kernel b = jit("hardsigmoid");
  EXPECT_EQ(jit_compile_count(), compiled);
  EXPECT_EQ(a.name(), b.name());
  const Kernel c = jit("min(max(x + 3, 0), 6) / 6"); // the same expression, written out
  EXPECT_EQ(jit_compile_count(), compiled);
  (void)c;
}

TEST(Jit, NamesSayWhatAKernelIs) {
  const Kernel k =
      jit("swish", JitOptions{Role::Backward, DType::F32, "x86-64-avx2", std::nullopt});
  EXPECT_EQ(k.name(), "swish_bwd_f32_avx2_v8u2p0");
}

TEST(Jit, ErrorsAreExceptionsNotAborts) {
  EXPECT_THROW(jit("relu", JitOptions{Role::Forward, DType::F32, "x86-64-avx1024", std::nullopt}),
               Error);
  EXPECT_THROW(jit("x *"), ParseError);
  const Kernel k = jit("swish");
  float x = 1, y = 0;
  const void *in2[] = {&x, &x};
  void *out[] = {&y};
  EXPECT_THROW(k.run(in2, out, 1), Error);                     // too many inputs
  EXPECT_THROW(k.forward(&x, &y, 1, {{"gamma", 2.0}}), Error); // no such parameter
  EXPECT_THROW(k.forward(&x, &y, -1), Error);
  const Kernel t = jit("threshold");
  EXPECT_THROW(t.forward(&x, &y, 1), Error); // required parameters
  t.forward(&x, &y, 1, {{"threshold", 0.5}, {"value", -2}});
  EXPECT_EQ(y, 1.0f);
}

TEST(Jit, ParametersAreBoundPerCall) {
  const Kernel k = jit("swish");
  const float x = 1.5f;
  float y1 = 0, y2 = 0;
  k.forward(&x, &y1, 1);
  k.forward(&x, &y2, 1, {{"beta", 2.0}});
  EXPECT_NEAR(y1, 1.5 / (1 + std::exp(-1.5)), 1e-6);
  EXPECT_NEAR(y2, 1.5 / (1 + std::exp(-3.0)), 1e-6);
}

TEST(Jit, OneKernelFromManyThreads) {
  const Kernel k = jit("gelu");
  const std::size_t n = 100003;
  const auto in = inputs(n, 5);
  std::vector<float> expected(n);
  k.forward(in.data(), expected.data(), static_cast<std::int64_t>(n));
  std::vector<std::vector<float>> out(4, std::vector<float>(n));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep)
        k.forward(in.data(), out[static_cast<std::size_t>(t)].data(), static_cast<std::int64_t>(n));
    });
  for (auto &th : threads)
    th.join();
  for (const auto &o : out)
    EXPECT_EQ(std::memcmp(o.data(), expected.data(), n * sizeof(float)), 0);
}

TEST(Targets, HostResolvesToWhatTheCpuRuns) {
  const auto host = targets::x86::resolve("host");
  EXPECT_TRUE(targets::x86::cpu_supports(host.name));
  if (targets::x86::cpu_supports("x86-64-avx512")) {
    EXPECT_EQ(host.name, "x86-64-avx512");
  }
  EXPECT_THROW(targets::x86::resolve("arm"), Error);
}

} // namespace
} // namespace actforge
