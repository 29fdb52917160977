// CUDA kernels on a GPU (label cuda): skipped with the reason where there is no driver or
// device. Accuracy against the long-double reference is `actforge check --target cuda` (the
// same measurement as on the CPU, arrays copied in and out). These tests cover what a host
// does with device memory: device pointers from the driver API, aligned and unaligned, in place,
// n from 0 to past one 2^30-element piece, NaN and infinities, the channel layout and param_grad
// — each against the same kernel called with host memory, which the check measures.
#include "actforge/dsl/rrelu.hpp"
#include "actforge/runtime/jit.hpp"
#include "actforge/targets/cuda.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace actforge {
namespace {

// The driver API, loaded at run time like the library does.
struct Driver {
  int (*mem_alloc)(std::uint64_t *, std::size_t) = nullptr;
  int (*mem_free)(std::uint64_t) = nullptr;
  int (*htod)(std::uint64_t, const void *, std::size_t) = nullptr;
  int (*dtoh)(void *, std::uint64_t, std::size_t) = nullptr;
  int (*synchronize)() = nullptr;
  bool ok = false;

  static const Driver &get() {
    static const Driver d = [] {
      Driver r;
      if (!targets::cuda::driver_problem().empty()) return r;
      void *lib = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
      auto sym = [&](const char *name) { return ::dlsym(lib, name); };
      r.mem_alloc = reinterpret_cast<decltype(r.mem_alloc)>(sym("cuMemAlloc_v2"));
      r.mem_free = reinterpret_cast<decltype(r.mem_free)>(sym("cuMemFree_v2"));
      r.htod = reinterpret_cast<decltype(r.htod)>(sym("cuMemcpyHtoD_v2"));
      r.dtoh = reinterpret_cast<decltype(r.dtoh)>(sym("cuMemcpyDtoH_v2"));
      r.synchronize = reinterpret_cast<decltype(r.synchronize)>(sym("cuCtxSynchronize"));
      auto retain = reinterpret_cast<int (*)(void **, int)>(sym("cuDevicePrimaryCtxRetain"));
      auto set_current = reinterpret_cast<int (*)(void *)>(sym("cuCtxSetCurrent"));
      void *ctx = nullptr;
      // The context a CUDA runtime API host would have current: device 0's primary context.
      r.ok = r.mem_alloc && r.mem_free && r.htod && r.dtoh && r.synchronize && retain &&
             set_current && retain(&ctx, 0) == 0 && set_current(ctx) == 0;
      return r;
    }();
    return d;
  }
};

class Gpu : public testing::Test {
protected:
  void SetUp() override {
    if (const std::string &why = targets::cuda::driver_problem(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_TRUE(Driver::get().ok) << "the CUDA driver API did not give a context";
  }
};

// Device memory holding `bytes`, freed on scope exit.
struct DeviceArray {
  std::uint64_t ptr = 0;
  explicit DeviceArray(std::size_t bytes) {
    if (Driver::get().mem_alloc(&ptr, std::max<std::size_t>(bytes, 16)) != 0)
      throw Error("cuMemAlloc failed");
  }
  ~DeviceArray() { Driver::get().mem_free(ptr); }
  DeviceArray(const DeviceArray &) = delete;
  DeviceArray &operator=(const DeviceArray &) = delete;
  void *at(std::size_t byte_offset) const { return reinterpret_cast<void *>(ptr + byte_offset); }
};

std::size_t element_bytes(DType d) { return static_cast<std::size_t>(codegen::bytes_of(d)); }

// Random inputs in [-12, 12] of the dtype's width, with NaN, ±inf, ±0 and extremes sprinkled in.
std::vector<unsigned char> inputs(DType d, std::size_t n, unsigned seed) {
  std::vector<unsigned char> out(n * element_bytes(d));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-12, 12);
  const double specials[] = {std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             0.0,
                             -0.0,
                             1e30,
                             -1e30,
                             1e-30};
  for (std::size_t i = 0; i < n; ++i) {
    const double v = i % 97 < 8 ? specials[i % 97] : u(rng);
    codegen::store_value(out.data() + i * element_bytes(d), d, v);
  }
  return out;
}

// Results must match bit for bit, except that any NaN matches any NaN.
::testing::AssertionResult same(DType d, const std::vector<unsigned char> &got,
                                const std::vector<unsigned char> &want) {
  const std::size_t w = element_bytes(d), n = want.size() / w;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::memcmp(got.data() + i * w, want.data() + i * w, w) == 0) continue;
    const double a = codegen::load_value(got.data() + i * w, d),
                 b = codegen::load_value(want.data() + i * w, d);
    if (std::isnan(a) && std::isnan(b)) continue;
    return ::testing::AssertionFailure()
           << "element " << i << " of " << n << ": device " << a << ", host-memory call " << b;
  }
  return ::testing::AssertionSuccess();
}

// One elementwise kernel, device memory against host memory: every size, aligned and not.
void compare_elementwise(const std::string &name, Role role, DType d) {
  SCOPED_TRACE(name + " " + std::string(codegen::to_string(role)) + " " +
               std::string(codegen::to_string(d)));
  const Kernel dev = jit(name, {.role = role, .dtype = d, .target = "cuda"});
  const Kernel host =
      jit(name, {.role = role, .dtype = d, .target = "cuda", .memory = Memory::Host});
  ASSERT_EQ(dev.memory(), Memory::Device);
  ASSERT_EQ(host.memory(), Memory::Host);
  const std::size_t w = element_bytes(d);
  const std::int64_t lanes = dev.schedule().lanes;
  const std::size_t n_in = dev.input_ports().size();
  for (std::int64_t n :
       {std::int64_t{0}, std::int64_t{1}, lanes - 1, lanes, lanes + 1, std::int64_t{1000003}}) {
    if (n < 0) continue;
    for (std::size_t offset : {std::size_t{0}, std::size_t{1}}) { // elements: 1 = unaligned
      for (bool in_place : {false, true}) {
        const std::size_t bytes = static_cast<std::size_t>(n) * w;
        std::vector<std::vector<unsigned char>> in;
        std::vector<std::unique_ptr<DeviceArray>> d_in;
        std::vector<const void *> dev_args, host_args;
        for (std::size_t b = 0; b < n_in; ++b) {
          in.push_back(inputs(d, static_cast<std::size_t>(n), 7 + static_cast<unsigned>(b)));
          d_in.push_back(std::make_unique<DeviceArray>(bytes + offset * w));
          ASSERT_EQ(Driver::get().htod(d_in.back()->ptr + offset * w, in.back().data(), bytes), 0);
          dev_args.push_back(d_in.back()->at(offset * w));
          host_args.push_back(in.back().data());
        }
        DeviceArray d_out(bytes + offset * w);
        void *out_ptr = in_place ? const_cast<void *>(dev_args.back()) : d_out.at(offset * w);
        std::vector<unsigned char> want(bytes), got(bytes);
        ASSERT_NO_THROW(host.run(host_args, std::vector<void *>{want.data()}, n)) << "n=" << n;
        ASSERT_NO_THROW(dev.run(dev_args, std::vector<void *>{out_ptr}, n)) << "n=" << n;
        ASSERT_EQ(Driver::get().synchronize(), 0);
        ASSERT_EQ(Driver::get().dtoh(got.data(), reinterpret_cast<std::uint64_t>(out_ptr), bytes),
                  0);
        EXPECT_TRUE(same(d, got, want))
            << "n=" << n << " offset=" << offset << " in_place=" << in_place;
      }
    }
  }
}

// ctest runs this once more with ACTFORGE_CUDA_DEVICE=4096 (cuda_device_ordinal in
// tests/CMakeLists.txt): an ordinal past the last device is refused with a sentence that names
// it, at the call; kernels still compile.
TEST(CudaDeviceOrdinal, PastTheLastDeviceIsRefused) {
  const char *env = std::getenv("ACTFORGE_CUDA_DEVICE");
  if (!env || std::string(env) != "4096")
    GTEST_SKIP() << "runs under ctest's cuda_device_ordinal, with ACTFORGE_CUDA_DEVICE=4096";
  const std::string &why = targets::cuda::driver_problem();
  const std::string refused = "no CUDA device found: ACTFORGE_CUDA_DEVICE=4096 names none of "
                              "this machine's ";
  if (why.rfind(refused, 0) != 0) GTEST_SKIP() << why; // no driver or no device at all
  const Kernel k = jit("relu", {.target = "cuda", .memory = Memory::Host});
  float x[4] = {1, -1, 2, -2}, y[4] = {};
  try {
    k.forward(x, y, 4);
    ADD_FAILURE() << "a kernel ran on device 4096";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(refused), std::string::npos) << e.what();
  }
}

TEST_F(Gpu, ForwardAndBackwardOnDevicePointersMatchHostMemoryCalls) {
  for (const char *name : {"relu", "sigmoid", "tanh", "gelu", "swish", "mish", "elu", "relu6"})
    for (DType d : {DType::F32, DType::F16, DType::BF16, DType::F64})
      for (Role role : {Role::Forward, Role::Backward}) {
        compare_elementwise(name, role, d);
        if (HasFatalFailure()) return;
      }
  compare_elementwise("sigmoid", Role::BackwardFromOutput, DType::F32);
  compare_elementwise("elu", Role::BackwardFromOutput, DType::F16);
}

TEST_F(Gpu, ParamGradSumsDeviceArraysIntoHostResults) {
  for (DType d : {DType::F32, DType::F64, DType::F16}) {
    const Kernel dev = jit("swish", {.role = Role::ParamGrad, .dtype = d, .target = "cuda"});
    const Kernel host = jit(
        "swish", {.role = Role::ParamGrad, .dtype = d, .target = "cuda", .memory = Memory::Host});
    const std::size_t w = element_bytes(d);
    for (std::int64_t n : {std::int64_t{1}, std::int64_t{65537}, std::int64_t{3000017}}) {
      auto x = inputs(d, static_cast<std::size_t>(n), 3),
           dy = inputs(d, static_cast<std::size_t>(n), 4);
      // NaN-free data: the sum of a NaN is NaN either way; finite sums are compared.
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i)
        if (i % 97 < 8) {
          std::memset(x.data() + i * w, 0, w);
          std::memset(dy.data() + i * w, 0, w);
        }
      DeviceArray dx(x.size()), ddy(dy.size());
      ASSERT_EQ(Driver::get().htod(dx.ptr, x.data(), x.size()), 0);
      ASSERT_EQ(Driver::get().htod(ddy.ptr, dy.data(), dy.size()), 0);
      std::vector<unsigned char> gd(8), gh(8);
      const void *din[] = {dx.at(0), ddy.at(0)};
      const void *hin[] = {x.data(), dy.data()};
      void *dout[] = {gd.data()}, *hout[] = {gh.data()};
      dev.run(std::span<const void *const>(din), std::span<void *const>(dout), n);
      host.run(std::span<const void *const>(hin), std::span<void *const>(hout), n);
      EXPECT_TRUE(same(d, std::vector<unsigned char>(gd.begin(), gd.begin() + static_cast<long>(w)),
                       std::vector<unsigned char>(gh.begin(), gh.begin() + static_cast<long>(w))))
          << "n=" << n << " " << codegen::to_string(d);
    }
  }
}

TEST_F(Gpu, PerChannelForwardAndParamGradInTheChannelLayout) {
  const std::int64_t N = 3, C = 5, HW = 1001, n = N * C * HW;
  for (Role role : {Role::Forward, Role::ParamGrad}) {
    JitOptions o{.role = role, .target = "cuda", .layout = Layout::Channels, .per_channel = {"a"}};
    const Kernel dev = jit("prelu", o);
    o.memory = Memory::Host;
    const Kernel host = jit("prelu", o);
    auto x = inputs(DType::F32, static_cast<std::size_t>(n), 5);
    auto dy = inputs(DType::F32, static_cast<std::size_t>(n), 6);
    std::vector<float> alpha{0.1f, 0.2f, -0.3f, 0.25f, 2.0f}; // prelu's a, per channel
    DeviceArray dx(x.size()), ddy(dy.size()), dalpha(alpha.size() * 4), dy_out(x.size());
    ASSERT_EQ(Driver::get().htod(dx.ptr, x.data(), x.size()), 0);
    ASSERT_EQ(Driver::get().htod(ddy.ptr, dy.data(), dy.size()), 0);
    ASSERT_EQ(Driver::get().htod(dalpha.ptr, alpha.data(), alpha.size() * 4), 0);
    const Shape shape = Shape::with_channels(N, C, HW);
    if (role == Role::Forward) {
      std::vector<unsigned char> want(x.size()), got(x.size());
      host.run({x.data(), alpha.data()}, {want.data()}, shape);
      dev.run({dx.at(0), dalpha.at(0)}, {dy_out.at(0)}, shape);
      ASSERT_EQ(Driver::get().synchronize(), 0);
      ASSERT_EQ(Driver::get().dtoh(got.data(), dy_out.ptr, got.size()), 0);
      EXPECT_TRUE(same(DType::F32, got, want));
    } else {
      std::vector<float> want(C), got(C);
      host.run({x.data(), dy.data(), alpha.data()}, {want.data()}, shape);
      dev.run({dx.at(0), ddy.at(0), dalpha.at(0)}, {got.data()}, shape);
      for (std::int64_t c = 0; c < C; ++c)
        if (!(std::isnan(want[c]) && std::isnan(got[c]))) {
          EXPECT_EQ(got[c], want[c]) << "c=" << c;
        }
    }
  }
}

// More than one 2^30-element piece: the call is split and every piece lands where it belongs.
TEST_F(Gpu, CallsPastOnePieceOf2To30Elements) {
  const std::int64_t n = (std::int64_t{1} << 30) + 5;
  const Kernel k = jit("relu", {.dtype = DType::F16, .target = "cuda"});
  std::uint16_t in[2048], out[2048]; // x = i % 2048 - 1024 and relu of it, as f16 bits
  for (int v = 0; v < 2048; ++v) {
    in[v] = Halide::float16_t(v - 1024.0).to_bits();
    out[v] = Halide::float16_t(v > 1024 ? v - 1024.0 : 0.0).to_bits();
  }
  std::vector<std::uint16_t> x(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = in[i % 2048];
  DeviceArray dx(x.size() * 2);
  ASSERT_EQ(Driver::get().htod(dx.ptr, x.data(), x.size() * 2), 0);
  k.forward(static_cast<const std::uint16_t *>(dx.at(0)), static_cast<std::uint16_t *>(dx.at(0)),
            n);
  ASSERT_EQ(Driver::get().synchronize(), 0);
  std::vector<std::uint16_t> y(x.size());
  ASSERT_EQ(Driver::get().dtoh(y.data(), dx.ptr, y.size() * 2), 0);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < y.size(); ++i)
    wrong += y[i] != out[i % 2048];
  EXPECT_EQ(wrong, 0u);
}

// RReLU training with g generated on the GPU (JitOptions::uniform_g): the same (seed, offset)
// draws the same Philox-4x32-10 slopes as the CPU kernel, so the results are the CPU's bit for
// bit (the compute type is the spec's, the same on both); a call split into [0, k) + [k, n) with
// offset + k equals one call; the backward kernel replays the forward's slopes. Without a GPU
// this test is skipped: tests/cuda_compile_test.cpp (label cuda-compile) only assembles these
// kernels with ptxas.
TEST_F(Gpu, RreluTrainReplaysTheCpuSlopesBitForBit) {
  auto kernel = [](Role role, const std::string &target) {
    JitOptions o;
    o.role = role;
    o.target = target;
    o.uniform_g = true;
    return jit(dsl::rrelu_train_expr(), o, "rrelu_train");
  };
  const Kernel gpu_fwd = kernel(Role::Forward, "cuda"), gpu_bwd = kernel(Role::Backward, "cuda");
  const Kernel cpu_fwd = kernel(Role::Forward, "host"), cpu_bwd = kernel(Role::Backward, "host");
  const std::size_t n = 1000003, k = 333337, bytes = n * 4;
  std::vector<float> x(n), dy(n);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-12, 12);
  for (std::size_t i = 0; i < n; ++i) {
    // Every fourth element -2^j (y = a·x exact: the slope is y/x), the rest random.
    x[i] = i % 4 == 0 ? -std::ldexp(1.0f, static_cast<int>(i % 9) - 4) : u(rng);
    dy[i] = 1.0f;
  }
  const std::uint64_t seed = 0x0123456789abcdefu;
  for (const std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{0xffffffffu - 1000}}) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    std::vector<float> want_y(n), want_dx(n);
    cpu_fwd.run({x.data()}, {want_y.data()}, Shape::flat(static_cast<std::int64_t>(n)), {},
                Noise{seed, offset});
    cpu_bwd.run({x.data(), dy.data()}, {want_dx.data()}, Shape::flat(static_cast<std::int64_t>(n)),
                {}, Noise{seed, offset});
    DeviceArray d_x(bytes), d_dy(bytes), d_y(bytes), d_split(bytes), d_dx(bytes);
    ASSERT_EQ(Driver::get().htod(d_x.ptr, x.data(), bytes), 0);
    ASSERT_EQ(Driver::get().htod(d_dy.ptr, dy.data(), bytes), 0);
    gpu_fwd.run({d_x.at(0)}, {d_y.at(0)}, Shape::flat(static_cast<std::int64_t>(n)), {},
                Noise{seed, offset});
    gpu_fwd.run({d_x.at(0)}, {d_split.at(0)}, Shape::flat(static_cast<std::int64_t>(k)), {},
                Noise{seed, offset});
    gpu_fwd.run({d_x.at(k * 4)}, {d_split.at(k * 4)}, Shape::flat(static_cast<std::int64_t>(n - k)),
                {}, Noise{seed, offset + k});
    gpu_bwd.run({d_x.at(0), d_dy.at(0)}, {d_dx.at(0)}, Shape::flat(static_cast<std::int64_t>(n)),
                {}, Noise{seed, offset});
    ASSERT_EQ(Driver::get().synchronize(), 0);
    std::vector<unsigned char> y(bytes), split(bytes), dx(bytes), want(bytes), want_b(bytes);
    ASSERT_EQ(Driver::get().dtoh(y.data(), d_y.ptr, bytes), 0);
    ASSERT_EQ(Driver::get().dtoh(split.data(), d_split.ptr, bytes), 0);
    ASSERT_EQ(Driver::get().dtoh(dx.data(), d_dx.ptr, bytes), 0);
    std::memcpy(want.data(), want_y.data(), bytes);
    std::memcpy(want_b.data(), want_dx.data(), bytes);
    EXPECT_TRUE(same(DType::F32, y, want)) << "forward, GPU vs CPU";
    EXPECT_TRUE(same(DType::F32, split, y)) << "[0, k) + [k, n) vs one call";
    EXPECT_TRUE(same(DType::F32, dx, want_b)) << "backward, GPU vs CPU";
    // The replay: at x = -2^j with dy = 1, the forward's y/x is the backward's dx.
    const dsl::RreluTrain ref{seed, offset};
    for (std::size_t i = 0; i < n; i += 4) {
      float yi, dxi;
      std::memcpy(&yi, y.data() + i * 4, 4);
      std::memcpy(&dxi, dx.data() + i * 4, 4);
      ASSERT_EQ(yi / x[i], dxi) << "element " << i;
      ASSERT_LE(std::fabs(dxi - ref.slope(i)), std::ldexp(ref.slope(i), -24)) << "element " << i;
    }
  }
}

} // namespace
} // namespace actforge
