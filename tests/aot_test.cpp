// AOT kernels through their C ABI (generated at build time by actforge_add_kernels into
// aott_kernels.h): every registry entry against the JIT kernel of the same target bit for bit,
// at n = 0, 1, lanes-1, lanes, lanes+1 and odd sizes, in place, NULL parameters, error codes,
// dispatch limits, and byte-identical output of two `actforge gen` runs.
#include "aott_kernels.h"

#include "actforge/dsl/catalog.hpp"
#include "actforge/runtime/jit.hpp"
#include "actforge/targets/x86.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace actforge {
namespace {

namespace fs = std::filesystem;

int bytes_of(const std::string &dtype) { return dtype == "f64" ? 8 : dtype == "f32" ? 4 : 2; }

// n elements of `dtype`: values in about [-30, 30] for f32/f64, any bit pattern for 16 bits.
std::vector<unsigned char> inputs(const std::string &dtype, std::size_t n, unsigned seed) {
  std::vector<unsigned char> out(n * static_cast<std::size_t>(bytes_of(dtype)));
  std::uint32_t s = seed;
  for (std::size_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    const double v = static_cast<double>(static_cast<std::int32_t>(s >> 8) % 60000) / 2000.0;
    if (dtype == "f64") {
      std::memcpy(&out[8 * i], &v, 8);
    } else if (dtype == "f32") {
      const float f = static_cast<float>(v);
      std::memcpy(&out[4 * i], &f, 4);
    } else {
      const std::uint16_t bits = static_cast<std::uint16_t>(s >> 7);
      std::memcpy(&out[2 * i], &bits, 2);
    }
  }
  return out;
}

std::vector<double> sample_params(const aott_kernel_info &k) {
  const dsl::Entry *e = dsl::find_activation(k.activation);
  std::vector<double> out;
  for (int i = 0; i < k.num_params; ++i)
    out.push_back(static_cast<double>(e->sample_params().at(k.param_names[i])));
  return out;
}

// The JIT kernel built from the same expression, role, dtype and target.
Kernel jit_twin(const aott_kernel_info &k) {
  JitOptions o;
  o.role = codegen::parse_role(k.role);
  o.dtype = codegen::parse_dtype(k.dtype);
  o.target = k.targets;
  return jit(dsl::find_activation(k.activation)->expr, o, k.activation);
}

std::vector<const aott_kernel_info *> single_target_kernels() {
  std::vector<const aott_kernel_info *> out;
  for (std::size_t i = 0; i < aott_kernel_count(); ++i)
    if (!std::strchr(aott_kernel_at(i)->targets, ' ')) out.push_back(aott_kernel_at(i));
  return out;
}

TEST(Aot, EveryKernelEqualsItsJitTwinBitForBit) {
  std::size_t checked = 0;
  for (const aott_kernel_info *k : single_target_kernels()) {
    if (!targets::x86::cpu_supports(k->targets)) continue; // the dispatch test covers refusal
    SCOPED_TRACE(k->name);
    const Kernel twin = jit_twin(*k);
    ASSERT_EQ(twin.num_outputs(), k->num_outputs);
    const auto params = sample_params(*k);
    Params named;
    for (int i = 0; i < k->num_params; ++i)
      named[k->param_names[i]] = params[static_cast<std::size_t>(i)];
    const std::size_t lanes = static_cast<std::size_t>(twin.schedule().lanes);
    const int bytes = bytes_of(k->dtype);
    for (std::size_t n :
         {std::size_t{0}, std::size_t{1}, lanes - 1, lanes, lanes + 1, std::size_t{1001}}) {
      std::vector<std::vector<unsigned char>> in, want, got;
      std::vector<const void *> in_ptr;
      std::vector<void *> want_ptr, got_ptr;
      for (int i = 0; i < k->num_inputs; ++i)
        in.push_back(inputs(k->dtype, n + 2, 7u + static_cast<unsigned>(i)));
      for (int o = 0; o < k->num_outputs; ++o) {
        want.emplace_back((n + 2) * static_cast<std::size_t>(bytes), 0xa5);
        got.emplace_back((n + 2) * static_cast<std::size_t>(bytes), 0xa5);
      }
      // Unaligned: one element in.
      for (auto &v : in)
        in_ptr.push_back(v.data() + bytes);
      for (auto &v : want)
        want_ptr.push_back(v.data() + bytes);
      for (auto &v : got)
        got_ptr.push_back(v.data() + bytes);
      const std::size_t m = n;
      twin.run(in_ptr, want_ptr, static_cast<std::int64_t>(m), named);
      ASSERT_EQ(k->call(in_ptr.data(), got_ptr.data(), static_cast<std::int64_t>(m),
                        params.empty() ? nullptr : params.data()),
                AOTT_OK);
      for (int o = 0; o < k->num_outputs; ++o)
        ASSERT_EQ(got[static_cast<std::size_t>(o)], want[static_cast<std::size_t>(o)])
            << "n = " << m;
    }
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

TEST(Aot, InPlaceEqualsOutOfPlace) {
  const auto x = inputs("f32", 1001, 3);
  std::vector<float> src(1001), y(1001), inplace(1001);
  std::memcpy(src.data(), x.data(), x.size());
  inplace = src;
  aott_swish_params p{1.5f};
  ASSERT_EQ(aott_swish_fwd_f32(src.data(), y.data(), 1001, &p), AOTT_OK);
  ASSERT_EQ(aott_swish_fwd_f32(inplace.data(), inplace.data(), 1001, &p), AOTT_OK);
  EXPECT_EQ(std::memcmp(y.data(), inplace.data(), y.size() * 4), 0);
}

TEST(Aot, NullParamsAreTheDefaults) {
  const float x[3] = {-2.0f, 0.5f, 3.0f};
  float a[3], b[3], c[3];
  aott_swish_params one{1.0f}, two{2.0f};
  ASSERT_EQ(aott_swish_fwd_f32(x, a, 3, nullptr), AOTT_OK);
  ASSERT_EQ(aott_swish_fwd_f32(x, b, 3, &one), AOTT_OK);
  ASSERT_EQ(aott_swish_fwd_f32(x, c, 3, &two), AOTT_OK);
  EXPECT_EQ(std::memcmp(a, b, sizeof a), 0);
  EXPECT_NE(std::memcmp(a, c, sizeof a), 0);
  aott_swish_params_f64 d{1.0};
  const double xd[1] = {0.5};
  double yd[1];
  ASSERT_EQ(aott_swish_fwd_f64(xd, yd, 1, &d), AOTT_OK);
  EXPECT_NEAR(yd[0], 0.5 / (1 + std::exp(-0.5)), 1e-15);
  // 16-bit storage is uint16_t: 0x3c00 is 1.0 in f16, 0x3f80 in bf16; relu keeps them.
  const std::uint16_t h[2] = {0x3c00, 0xbc00};
  std::uint16_t r[2];
  ASSERT_EQ(aott_relu_fwd_f16(h, r, 2), AOTT_OK);
  EXPECT_EQ(r[0], 0x3c00);
  EXPECT_EQ(r[1], 0x0000);
  const std::uint16_t bh[1] = {0x3f80};
  ASSERT_EQ(aott_relu_fwd_bf16(bh, r, 1), AOTT_OK);
  EXPECT_EQ(r[0], 0x3f80);
}

TEST(Aot, ErrorCodes) {
  float x[2] = {1, 2}, y[2];
  EXPECT_EQ(aott_relu_fwd_f32(x, y, -1), AOTT_ERR_ARGUMENT);
  EXPECT_EQ(aott_relu_fwd_f32(nullptr, y, 2), AOTT_ERR_ARGUMENT);
  EXPECT_EQ(aott_relu_fwd_f32(x, nullptr, 2), AOTT_ERR_ARGUMENT);
  EXPECT_EQ(aott_relu_fwd_f32(nullptr, nullptr, 0), AOTT_OK);
  // threshold's parameters have no defaults.
  EXPECT_EQ(aott_threshold_fwd_f32(x, y, 2, nullptr), AOTT_ERR_PARAM);
  aott_threshold_params tp{1.5f, -1.0f};
  ASSERT_EQ(aott_threshold_fwd_f32(x, y, 2, &tp), AOTT_OK);
  EXPECT_EQ(y[0], -1.0f);
  EXPECT_EQ(y[1], 2.0f);
  const aott_kernel_info *t = aott_find_kernel("threshold_fwd_f32");
  ASSERT_NE(t, nullptr);
  const void *in[] = {x};
  void *out[] = {y};
  EXPECT_EQ(t->call(in, out, 2, nullptr), AOTT_ERR_PARAM);
  EXPECT_TRUE(std::isnan(t->param_defaults[0]));
  EXPECT_EQ(t->call(nullptr, out, 2, nullptr), AOTT_ERR_ARGUMENT);
  for (int code : {AOTT_OK, AOTT_ERR_ARGUMENT, AOTT_ERR_PARAM, AOTT_ERR_CPU, AOTT_ERR_KERNEL})
    EXPECT_GT(std::strlen(aott_error_string(code)), 5u);
}

TEST(Aot, DispatchNeverRunsATargetTheCpuLacks) {
  float x[3] = {-1, 0, 1}, y[3];
  EXPECT_EQ(aott_limit_target("x86-64-sse2"), AOTT_ERR_ARGUMENT);
  ASSERT_EQ(aott_limit_target("x86-64-avx2"), AOTT_OK);
  EXPECT_EQ(aott_relu_fwd_f32(x, y, 3), AOTT_OK); // the AVX2 kernel
  EXPECT_EQ(y[2], 1.0f);
  // Only on a machine with AVX-512 does the library hold AVX-512 kernels (host resolves to it).
  const aott_kernel_info *avx512 = aott_find_kernel("relu_fwd_f32_avx512");
  const void *in[] = {x};
  void *out[] = {y};
  if (avx512) {
    EXPECT_EQ(avx512->call(in, out, 3, nullptr), AOTT_ERR_CPU);
  }
  ASSERT_EQ(aott_limit_target(nullptr), AOTT_OK);
  if (avx512) {
    EXPECT_EQ(avx512->call(in, out, 3, nullptr), AOTT_OK);
  }
}

TEST(Aot, TheRegistryFindsEveryFunction) {
  const aott_kernel_info *k = aott_find_kernel("aott_reglu_bwd_f32");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(aott_find_kernel("reglu_bwd_f32"), k);
  EXPECT_STREQ(k->role, "backward");
  EXPECT_EQ(k->num_inputs, 3); // x, g, dy
  EXPECT_EQ(k->num_outputs, 2);
  EXPECT_EQ(aott_find_kernel("reglu_bwd_f8"), nullptr);
  EXPECT_EQ(aott_find_kernel(nullptr), nullptr);
  EXPECT_EQ(aott_kernel_at(aott_kernel_count()), nullptr);
  // 4 activations x 2 roles x 4 dtypes, each a dispatcher plus one function per target.
  const std::size_t per = 1 + single_target_kernels().size() / 32;
  EXPECT_EQ(aott_kernel_count(), 32 * per);
}

std::string read(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Aot, GenerationIsDeterministic) {
  const fs::path base =
      fs::temp_directory_path() / ("actforge-aot-test-" + std::to_string(::getpid()));
  const std::string args = " gen relu 'leaky=select(x > 0, x, 0.1 * x)' --target "
                           "x86-64-avx2,x86-64-avx512 --dtype f32,bf16 --quiet --out ";
  ASSERT_EQ(std::system((std::string(ACTFORGE_BIN) + args + (base / "a").string()).c_str()), 0);
  ASSERT_EQ(std::system((std::string(ACTFORGE_BIN) + args + (base / "b").string()).c_str()), 0);
  std::size_t files = 0;
  for (const auto &e : fs::directory_iterator(base / "a")) {
    SCOPED_TRACE(e.path().filename().string());
    const std::string a = read(e.path()), b = read(base / "b" / e.path().filename());
    EXPECT_FALSE(a.empty());
    EXPECT_TRUE(a == b);
    ++files;
  }
  EXPECT_EQ(files, 2u * 2 * 2 * 2 + 4); // objects, runtime, archive, header, source
  EXPECT_EQ(read(base / "a" / "actforge_kernels.h").rfind("/* Generated by actforge gen", 0), 0u);
  fs::remove_all(base);
}

} // namespace
} // namespace actforge
