// ARM (AArch64 NEON) kernels, generated here and run under qemu-aarch64 through cross::Runner:
// the x86 list of kernel_test.cpp for every library activation — sizes and tails against the long
// run, unaligned arrays, in place, NaN in NaN out, limits at ±inf, nothing written past the end —
// for forward and backward in f32 and f16 on both ARM targets; the dispatcher on a core without
// FP16; and the accuracy of every role and dtype against the long-double reference
// (check_kernels, as KernelAccuracy does for x86). Skipped, with the reason, without the cross
// tools (Debian: g++-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user).
#include "actforge/check/numeric.hpp"
#include "actforge/check/reference.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/rrelu.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/cross.hpp"
#include "actforge/runtime/jit.hpp"
#include "actforge/runtime/kernel_check.hpp"
#include "actforge/targets/arm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace actforge {
namespace {

using Bytes = std::vector<unsigned char>;

std::vector<const dsl::Entry *> elementwise() {
  std::vector<const dsl::Entry *> out;
  for (const auto &e : dsl::catalog())
    if (e.expr.defined()) out.push_back(&e);
  return out;
}
std::string entry_name(const testing::TestParamInfo<const dsl::Entry *> &p) {
  return p.param->name;
}

bool cross_tools_missing(std::string *why) {
  *why = targets::arm::cross_tools().problem;
  return !why->empty();
}

// x_i in about [-30, 30], as kernel_test.cpp's inputs, stored in the dtype (f32 or f16).
Bytes inputs(std::size_t n, unsigned seed, DType dtype) {
  Bytes b(n * (dtype == DType::F32 ? 4 : 2));
  std::uint32_t s = seed;
  for (std::size_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    const float x = static_cast<float>(static_cast<std::int32_t>(s >> 8) % 60000) / 2000.0f;
    if (dtype == DType::F32) {
      std::memcpy(&b[i * 4], &x, 4);
    } else {
      const _Float16 h = static_cast<_Float16>(x);
      std::memcpy(&b[i * 2], &h, 2);
    }
  }
  return b;
}

float value_at(const Bytes &b, std::size_t i, DType dtype) {
  if (dtype == DType::F32) {
    float f;
    std::memcpy(&f, &b[i * 4], 4);
    return f;
  }
  _Float16 h;
  std::memcpy(&h, &b[i * 2], 2);
  return static_cast<float>(h);
}
Bytes store(const std::vector<float> &v, DType dtype) {
  Bytes b;
  for (float x : v) {
    const std::size_t at = b.size();
    b.resize(at + (dtype == DType::F32 ? 4 : 2));
    if (dtype == DType::F32) {
      std::memcpy(&b[at], &x, 4);
    } else {
      const _Float16 h = static_cast<_Float16>(x);
      std::memcpy(&b[at], &h, 2);
    }
  }
  return b;
}

class ArmRun : public testing::TestWithParam<const dsl::Entry *> {
protected:
  void SetUp() override {
    std::string why;
    if (cross_tools_missing(&why)) GTEST_SKIP() << why;
    aot::Options o;
    o.activations = {{GetParam()->name, GetParam()->expr}};
    o.targets = {"arm-64-linux", "arm-64-linux-fp16"};
    o.dtypes = {DType::F32, DType::F16};
    runner_ = std::make_unique<cross::Runner>(o);
    for (const auto &[name, value] : GetParam()->sample_params())
      params_[name] = static_cast<double>(value);
  }

  std::string kernel(Role role, DType dtype, const std::string &isa) const {
    return GetParam()->name + (role == Role::Forward ? "_fwd_" : "_bwd_") +
           std::string(codegen::to_string(dtype)) + "_" + isa;
  }
  int data_inputs(Role role) const {
    return std::max(1, ir::count_inputs(GetParam()->expr)) + (role == Role::Backward);
  }

  // Calls `name` on the first n elements of `in`, arrays `offset` bytes past 64-byte alignment.
  std::vector<Bytes> call(const std::string &name, const std::vector<Bytes> &in, std::size_t n,
                          std::size_t element, std::uint32_t offset = 0) {
    const std::optional<cross::Info> info = runner_->info(name);
    EXPECT_TRUE(info) << name;
    if (!info) return {};
    cross::Call c;
    c.name = name;
    c.n = static_cast<std::int64_t>(n);
    std::vector<double> p;
    for (const auto &param : info->params)
      p.push_back(params_.at(param));
    c.params = p;
    for (const Bytes &b : in) {
      cross::Array a;
      a.bytes.assign(b.begin(), b.begin() + static_cast<long>(n * element));
      a.offset = offset;
      c.inputs.push_back(std::move(a));
    }
    for (std::size_t o = 0; o < info->outputs.size(); ++o)
      c.outputs.push_back(cross::Array::zeros(n * element, offset));
    const cross::Result r = runner_->call(c);
    EXPECT_EQ(r.rc, 0) << name << " n=" << n;
    EXPECT_TRUE(r.guards_intact) << name << " wrote past the end, n=" << n;
    return r.outputs;
  }

  std::unique_ptr<cross::Runner> runner_;
  std::map<std::string, double> params_;
};

TEST_P(ArmRun, SizesUnalignedInPlaceAndSpecialValues) {
  for (const std::string isa : {"neon", "fp16"})
    for (DType dtype : {DType::F32, DType::F16})
      for (Role role : {Role::Forward, Role::Backward}) {
        const std::string name = kernel(role, dtype, isa);
        SCOPED_TRACE(name);
        const std::size_t element = dtype == DType::F32 ? 4 : 2;
        const std::size_t big = 1000003, step = 2 * (16 / 4); // lanes·unroll of f32 and f16
        std::vector<Bytes> in;
        for (int i = 0; i < data_inputs(role); ++i)
          in.push_back(inputs(big, 17u + static_cast<unsigned>(i), dtype));
        const std::vector<Bytes> full = call(name, in, big, element);
        ASSERT_FALSE(full.empty());
        // Every size against the long run, bit for bit (tails take the same arithmetic).
        for (std::size_t n : {std::size_t{0}, std::size_t{1}, step - 1, step, step + 1,
                              2 * step + 3, std::size_t{1000}}) {
          const auto part = call(name, in, n, element);
          for (std::size_t o = 0; o < part.size(); ++o)
            ASSERT_EQ(0, std::memcmp(part[o].data(), full[o].data(), n * element)) << "n=" << n;
        }
        // Unaligned: one element past the boundary.
        const auto unaligned = call(name, in, big, element, static_cast<std::uint32_t>(element));
        for (std::size_t o = 0; o < full.size(); ++o)
          ASSERT_EQ(0, std::memcmp(unaligned[o].data(), full[o].data(), big * element))
              << "unaligned";
        // In place: the results overwrite the inputs.
        {
          cross::Call c;
          c.name = name;
          c.n = 4099;
          std::vector<double> p;
          const std::optional<cross::Info> info = runner_->info(name);
          for (const auto &param : info->params)
            p.push_back(params_.at(param));
          c.params = p;
          for (const Bytes &b : in)
            c.inputs.push_back({Bytes(b.begin(), b.begin() + 4099 * element), 0, -1});
          for (std::size_t o = 0; o < full.size(); ++o)
            c.outputs.push_back(cross::Array::in_place(static_cast<int>(o)));
          const cross::Result r = runner_->call(c);
          ASSERT_EQ(r.rc, 0);
          for (std::size_t o = 0; o < full.size(); ++o)
            ASSERT_EQ(0, std::memcmp(r.outputs[o].data(), full[o].data(), 4099 * element))
                << "in place, output " << o;
        }
        // NaN in any input, NaN out: in the vector body (n = 24) and in the tail (n = 3).
        const float nan = std::numeric_limits<float>::quiet_NaN();
        for (std::size_t n : {std::size_t{3}, std::size_t{24}})
          for (int which = 0; which < data_inputs(role); ++which) {
            std::vector<Bytes> special;
            for (int i = 0; i < data_inputs(role); ++i) {
              std::vector<float> v(n, 0.5f);
              if (i == which) v[n - 1] = nan;
              special.push_back(store(v, dtype));
            }
            for (const Bytes &out : call(name, special, n, element))
              EXPECT_TRUE(std::isnan(value_at(out, n - 1, dtype)))
                  << "NaN in input " << which << ", n=" << n;
          }
        // Limits at ±inf against the long-double reference (one-input activations).
        if (ir::count_inputs(GetParam()->expr) > 1) continue;
        const ir::Expr f = role == Role::Forward
                               ? GetParam()->expr
                               : ir::differentiate(GetParam()->expr, ir::input(0));
        const ir::Program prog(f);
        check::Probe probe{&prog, {0}, {}, 0, false};
        for (const auto &info : prog.params())
          probe.params.push_back(GetParam()->sample_params().at(info.name));
        for (float inf :
             {-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()}) {
          std::vector<Bytes> special{store({inf, inf, inf}, dtype)};
          if (role == Role::Backward) special.push_back(store({1, 1, 1}, dtype));
          const float got = value_at(call(name, special, 3, element)[0], 2, dtype);
          // The limit, stored in the dtype.
          const float want = value_at(
              store({static_cast<float>(check::reference_value(probe, inf))}, dtype), 0, dtype);
          EXPECT_TRUE(got == want || (std::isnan(got) && std::isnan(want)))
              << "at " << inf << ": " << got << " vs " << want;
        }
      }
}

INSTANTIATE_TEST_SUITE_P(Library, ArmRun, testing::ValuesIn(elementwise()), entry_name);

// Accuracy of every role and dtype on arm-64-linux, as KernelAccuracy for x86: every 2^14-th
// float (f64 alike) and every f16/bf16 value, against the long-double reference.
class ArmAccuracy : public testing::TestWithParam<const dsl::Entry *> {};

TEST_P(ArmAccuracy, WithinTheUlpBounds) {
  std::string why;
  if (cross_tools_missing(&why)) GTEST_SKIP() << why;
  runtime::KernelCheckOptions options;
  options.target = "arm-64-linux";
  options.log2_stride = 14;
  int measured = 0;
  for (const auto &r : runtime::check_kernels(check::make_subject(GetParam()->name), options)) {
    ++measured;
    EXPECT_EQ(r.status, check::Status::Pass) << r.role << " " << r.dtype << ": " << r.reason;
  }
  EXPECT_GT(measured, 0);
}

INSTANTIATE_TEST_SUITE_P(Library, ArmAccuracy, testing::ValuesIn(elementwise()), entry_name);

// The dispatcher: on a core without FP16 (qemu -cpu cortex-a53, ARMv8.0) the plain names run the
// arm-64-linux kernels and the fp16 forms refuse (ERR_CPU) instead of faulting; on qemu's "max"
// core they dispatch to fp16. limit_target() caps the dispatch.
TEST(ArmDispatch, PicksWhatTheCoreRuns) {
  std::string why;
  if (cross_tools_missing(&why)) GTEST_SKIP() << why;
  aot::Options o;
  o.activations = {aot::resolve_activation("swish")};
  o.targets = {"arm-64-linux", "arm-64-linux-fp16"};
  o.dtypes = {DType::F16};
  o.roles = {Role::Forward};
  const Bytes x = inputs(100, 5, DType::F16);
  auto run = [&](cross::Runner &r, const std::string &name) {
    cross::Call c;
    c.name = name;
    c.n = 100;
    c.inputs = {{x, 0, -1}};
    c.outputs = {cross::Array::zeros(200)};
    return r.call(c);
  };
  cross::Runner a53(o, "cortex-a53");
  const cross::Result neon = run(a53, "swish_fwd_f16_neon");
  ASSERT_EQ(neon.rc, 0);
  const cross::Result plain = run(a53, "swish_fwd_f16");
  ASSERT_EQ(plain.rc, 0);
  EXPECT_EQ(plain.outputs[0], neon.outputs[0]);
  EXPECT_NE(run(a53, "swish_fwd_f16_fp16").rc, 0) << "an FP16 kernel ran on an ARMv8.0 core";

  cross::Runner max(o);
  EXPECT_EQ(run(max, "swish_fwd_f16_fp16").rc, 0);
  EXPECT_EQ(run(max, "swish_fwd_f16").rc, 0);
  EXPECT_EQ(max.limit_target("arm-64-linux"), 0);
  EXPECT_EQ(run(max, "swish_fwd_f16_fp16").rc, run(a53, "swish_fwd_f16_fp16").rc)
      << "limit_target(arm-64-linux) lets fp16 kernels run";
  EXPECT_NE(max.limit_target("x86-64-avx2"), 0);
}

// Errors from the runner name what went wrong.
TEST(ArmRunner, ErrorsNameTheProblem) {
  std::string why;
  if (cross_tools_missing(&why)) GTEST_SKIP() << why;
  aot::Options o;
  o.activations = {aot::resolve_activation("relu")};
  o.targets = {"arm-64-linux"};
  cross::Runner r(o);
  EXPECT_EQ(r.kernels().size(), 4u); // fwd, bwd: dispatcher and the neon form
  EXPECT_FALSE(r.info("swish_fwd_f32"));
  cross::Call c;
  c.name = "swish_fwd_f32";
  try {
    r.call(c);
    FAIL() << "no error for an unknown kernel";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("no kernel is named 'swish_fwd_f32'"), std::string::npos)
        << e.what();
  }
  c.name = "relu_fwd_f32";
  c.n = 4;
  try {
    r.call(c); // no arrays
    FAIL() << "no error for missing arrays";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("do not match"), std::string::npos) << e.what();
  }
  aot::Options x86 = o;
  x86.targets = {"x86-64-avx2"};
  EXPECT_THROW(cross::Runner{x86}, Error);
}

// ARM kernels are never loaded into this x86-64 process: jit() says what to do instead, and gen
// refuses a library that mixes families.
TEST(ArmJit, RefusesWithWhatToDo) {
  try {
    jit("relu", JitOptions{Role::Forward, DType::F32, "arm-64-linux", std::nullopt});
    FAIL() << "jit() accepted an ARM target";
  } catch (const Error &e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot run in this x86-64 process"), std::string::npos) << what;
    EXPECT_NE(what.find("actforge check --target arm-64-linux"), std::string::npos) << what;
  }
  aot::Options o;
  o.activations = {aot::resolve_activation("relu")};
  o.targets = {"arm-64-linux", "cuda"};
  EXPECT_THROW(aot::generate(o, ::testing::TempDir() + "/arm_cuda"), Error);
  EXPECT_EQ(targets::isa("arm-64-linux"), "neon");
  EXPECT_EQ(targets::isa("arm-64-linux-fp16"), "fp16");
  EXPECT_EQ(targets::resolve("arm-64-linux-fp16").family, targets::Family::Arm);
  EXPECT_EQ(targets::resolve("arm-64-linux").vector_bits, 128);
}

// RReLU training with g generated in the kernel (aot::Activation::uniform_g): the AArch64
// kernels draw the same Philox-4x32-10 slopes as the x86 ones for the same (seed, offset) and,
// computing in the same type (precision.cpp decides from the spec alone), give the same bits;
// the slopes recovered as y/x at x = -2^k (exact) are compared too, and a call split into
// [0, k) + [k, n) with offset + k equals one call. Forward, backward (which replays the
// forward's slopes) and the channel layout, on arm-64-linux and arm-64-linux-fp16.
TEST(ArmRrelu, GeneratedSlopesMatchX86BitForBit) {
  std::string why;
  if (cross_tools_missing(&why)) GTEST_SKIP() << why;
  aot::Options o;
  o.activations = {{"rrelu_train", dsl::rrelu_train_expr(), true}};
  o.targets = {"arm-64-linux", "arm-64-linux-fp16"};
  o.dtypes = {DType::F32};
  o.roles = {Role::Forward, Role::Backward};
  o.layouts = {Layout::Flat, Layout::Channels};
  cross::Runner arm(o);
  ASSERT_TRUE(arm.info("rrelu_train_fwd_rng_f32_neon"));
  EXPECT_EQ(arm.info("rrelu_train_fwd_rng_f32_neon")->inputs, std::vector<std::string>{"x"});

  auto x86 = [](Role role, Layout layout) {
    JitOptions j;
    j.role = role;
    j.layout = layout;
    j.uniform_g = true;
    return jit(dsl::rrelu_train_expr(), j, "rrelu_train");
  };
  const std::size_t n = 1031; // not a multiple of any vector width
  std::vector<float> x(n), dy(n);
  const Bytes values = inputs(n, 17, DType::F32);
  for (std::size_t i = 0; i < n; ++i) {
    // Every third element a power of two below 0 (y = a·x exact), the rest about [-30, 30].
    x[i] = i % 3 == 0 ? -std::ldexp(1.0f, static_cast<int>(i % 13) - 6)
                      : value_at(values, i, DType::F32);
    dy[i] = 0.5f + static_cast<float>(i % 7);
  }
  const std::uint64_t seed = 0x9e3779b97f4a7c15u;
  for (const std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{0xffffffffu - 500}}) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    std::vector<float> want_y(n), want_dx(n);
    x86(Role::Forward, Layout::Flat)
        .run({x.data()}, {want_y.data()}, Shape::flat(static_cast<std::int64_t>(n)), {},
             Noise{seed, offset});
    x86(Role::Backward, Layout::Flat)
        .run({x.data(), dy.data()}, {want_dx.data()}, Shape::flat(static_cast<std::int64_t>(n)), {},
             Noise{seed, offset});
    for (const char *isa : {"neon", "fp16"}) {
      SCOPED_TRACE(isa);
      cross::Call c;
      c.name = std::string("rrelu_train_fwd_rng_f32_") + isa;
      c.n = static_cast<std::int64_t>(n);
      c.seed = seed, c.offset = offset;
      c.inputs = {cross::Array::of(x, 4)};
      c.outputs = {cross::Array::zeros(n * 4)};
      const cross::Result fwd = arm.call(c);
      ASSERT_EQ(fwd.rc, 0);
      EXPECT_TRUE(fwd.guards_intact);
      ASSERT_EQ(fwd.outputs[0], Bytes(store(want_y, DType::F32)));
      // The slopes themselves, exact at x = -2^k, against the reference's.
      const dsl::RreluTrain ref{seed, offset};
      for (std::size_t i = 0; i < n; i += 3) {
        const float slope = value_at(fwd.outputs[0], i, DType::F32) / x[i];
        ASSERT_LE(std::fabs(slope - ref.slope(i)), std::ldexp(ref.slope(i), -24)) << i;
      }
      // Split at k: [0, k) with offset, [k, n) with offset + k.
      const std::size_t k = 517;
      Bytes split;
      for (const auto &[first, count] : {std::pair{std::size_t{0}, k}, std::pair{k, n - k}}) {
        cross::Call part = c;
        part.n = static_cast<std::int64_t>(count);
        part.offset = offset + first;
        part.inputs = {cross::Array::of(std::vector<float>(
            x.begin() + static_cast<long>(first), x.begin() + static_cast<long>(first + count)))};
        part.outputs = {cross::Array::zeros(count * 4)};
        const cross::Result r = arm.call(part);
        ASSERT_EQ(r.rc, 0);
        split.insert(split.end(), r.outputs[0].begin(), r.outputs[0].end());
      }
      EXPECT_EQ(split, fwd.outputs[0]);
      // Backward: the same slopes, replayed.
      cross::Call b = c;
      b.name = std::string("rrelu_train_bwd_rng_f32_") + isa;
      b.inputs = {cross::Array::of(x), cross::Array::of(dy)};
      const cross::Result bwd = arm.call(b);
      ASSERT_EQ(bwd.rc, 0);
      EXPECT_EQ(bwd.outputs[0], Bytes(store(want_dx, DType::F32)));
    }
  }
  // The channel layout: index (o·C + c)·inner + i, as on x86.
  const std::int64_t outer = 2, channels = 3, inner = 41;
  const std::size_t m = static_cast<std::size_t>(outer * channels * inner);
  const std::vector<float> xc(x.begin(), x.begin() + static_cast<long>(m));
  std::vector<float> want(m);
  x86(Role::Forward, Layout::Channels)
      .run({xc.data()}, {want.data()}, Shape::with_channels(outer, channels, inner), {},
           Noise{seed, 12345});
  cross::Call c;
  c.name = "rrelu_train_fwd_rng_ch_f32";
  c.channels = std::array<std::int64_t, 3>{outer, channels, inner};
  c.seed = seed, c.offset = 12345;
  c.inputs = {cross::Array::of(xc)};
  c.outputs = {cross::Array::zeros(m * 4)};
  const cross::Result r = arm.call(c);
  ASSERT_EQ(r.rc, 0);
  EXPECT_EQ(r.outputs[0], Bytes(store(want, DType::F32)));
}

} // namespace
} // namespace actforge

namespace actforge {
namespace {

// The halves layout's C functions on AArch64 (under qemu): forward and backward of swiglu and
// reglu on one tensor [rows, 2d] give bit for bit what the same library's two-array functions
// give on the de-interleaved x and g, in f32 and f16, on both ARM targets, called through the
// registry's call_channels (rows, 1, d).
TEST(ArmHalves, EqualTheTwoArrayFunctions) {
  std::string why;
  if (cross_tools_missing(&why)) GTEST_SKIP() << why;
  aot::Options o;
  o.activations = {aot::resolve_activation("swiglu"), aot::resolve_activation("reglu")};
  o.targets = {"arm-64-linux", "arm-64-linux-fp16"};
  o.dtypes = {DType::F32, DType::F16};
  o.roles = {Role::Forward, Role::Backward};
  o.layouts = {Layout::Flat, Layout::Halves};
  cross::Runner arm(o);
  const std::int64_t rows = 5, d = 37, n = rows * d;
  for (const DType dtype : {DType::F32, DType::F16})
    for (const char *name : {"swiglu", "reglu"})
      for (const char *isa : {"neon", "fp16"}) {
        const std::string suffix = std::string(codegen::to_string(dtype)) + "_" + isa;
        SCOPED_TRACE(std::string(name) + " " + suffix);
        const int bytes = codegen::bytes_of(dtype);
        const Bytes xg = inputs(static_cast<std::size_t>(2 * n), 23, dtype),
                    dy = inputs(static_cast<std::size_t>(n), 29, dtype);
        Bytes x, g; // the halves of each row
        for (std::int64_t r = 0; r < rows; ++r) {
          const auto row = xg.begin() + static_cast<long>(r * 2 * d * bytes);
          x.insert(x.end(), row, row + d * bytes);
          g.insert(g.end(), row + d * bytes, row + 2 * d * bytes);
        }
        cross::Call flat_fwd;
        flat_fwd.name = std::string(name) + "_fwd_" + suffix;
        flat_fwd.n = n;
        flat_fwd.inputs = {cross::Array::of(x), cross::Array::of(g)};
        flat_fwd.outputs = {cross::Array::zeros(static_cast<std::size_t>(n * bytes))};
        cross::Call half_fwd;
        half_fwd.name = std::string(name) + "_fwd_half_" + suffix;
        half_fwd.channels = std::array<std::int64_t, 3>{rows, 1, d};
        half_fwd.inputs = {cross::Array::of(xg, 4)};
        half_fwd.outputs = {cross::Array::zeros(static_cast<std::size_t>(n * bytes))};
        const cross::Result a = arm.call(flat_fwd), b = arm.call(half_fwd);
        ASSERT_EQ(a.rc, 0);
        ASSERT_EQ(b.rc, 0);
        EXPECT_TRUE(b.guards_intact);
        EXPECT_EQ(a.outputs[0], b.outputs[0]) << "forward";

        cross::Call flat_bwd = flat_fwd;
        flat_bwd.name = std::string(name) + "_bwd_" + suffix;
        flat_bwd.inputs.push_back(cross::Array::of(dy));
        flat_bwd.outputs.push_back(cross::Array::zeros(static_cast<std::size_t>(n * bytes)));
        cross::Call half_bwd = half_fwd;
        half_bwd.name = std::string(name) + "_bwd_half_" + suffix;
        half_bwd.inputs.push_back(cross::Array::of(dy));
        half_bwd.outputs = {cross::Array::zeros(static_cast<std::size_t>(2 * n * bytes))};
        const cross::Result c = arm.call(flat_bwd), e = arm.call(half_bwd);
        ASSERT_EQ(c.rc, 0);
        ASSERT_EQ(e.rc, 0);
        EXPECT_TRUE(e.guards_intact);
        Bytes joined; // dx | dg per row
        for (std::int64_t r = 0; r < rows; ++r)
          for (int h = 0; h < 2; ++h) {
            const auto row =
                c.outputs[static_cast<std::size_t>(h)].begin() + static_cast<long>(r * d * bytes);
            joined.insert(joined.end(), row, row + d * bytes);
          }
        EXPECT_EQ(joined, e.outputs[0]) << "backward";
      }
}

} // namespace
} // namespace actforge
