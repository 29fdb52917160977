// CUDA kernels without a GPU (label cuda-compile): every activation × role × dtype is compiled
// for the `cuda` target, and each PTX module it embeds (the 128-bit-aligned entry and the one
// for any alignment) is assembled by ptxas for sm_80 and sm_90. The PTX may call nothing
// outside itself: no libdevice or libm function left unresolved (`.extern .func`).
//
// COMPILED AND ASSEMBLED HERE, NOT RUN: running them needs a GPU (tests/cuda_test.cpp).
#include "kernel_object.hpp"

#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/epilogue.hpp"
#include "actforge/dsl/from_output.hpp"
#include "actforge/dsl/rrelu.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/aot.hpp"
#include "actforge/runtime/jit.hpp"
#include "actforge/targets/cuda.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sys/wait.h>

namespace actforge {
namespace {

namespace fs = std::filesystem;
using codegen::DType;
using codegen::Role;

std::string ptxas() {
  const char *env = std::getenv("ACTFORGE_PTXAS");
  return env ? env : ACTFORGE_PTXAS;
}

// Runs `command`, returning its exit status and output.
std::pair<int, std::string> shell(const std::string &command) {
  std::FILE *p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  for (std::size_t got; (got = std::fread(buf, 1, sizeof buf, p)) > 0;)
    out.append(buf, got);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class CudaCompile : public testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    if (::access(ptxas().c_str(), X_OK) != 0)
      GTEST_SKIP() << "no ptxas at " << ptxas()
                   << " (install the CUDA toolkit or set ACTFORGE_PTXAS)";
    dir_ = fs::temp_directory_path() /
           ("actforge-ptx-" + std::to_string(::getpid()) + "-" + GetParam());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // Compiles one kernel and checks every PTX module in it.
  void check(const dsl::Entry &e, codegen::KernelSpec spec) { check(e.name, std::move(spec)); }
  runtime::KernelInterface check(const std::string &name, codegen::KernelSpec spec) {
    runtime::KernelInterface k;
    check_into(name, std::move(spec), k);
    return k;
  }
  void check_into(const std::string &name, codegen::KernelSpec spec, runtime::KernelInterface &k) {
    const auto target = targets::cuda::resolve("cuda");
    const int bits = spec.dtype == DType::F64 ? 64 : spec.dtype == DType::F32 ? 32 : 16;
    const codegen::Schedule schedule = codegen::default_gpu_schedule(bits);
    const std::string object = (dir_ / "kernel.o").string();
    ASSERT_NO_THROW(k = runtime::compile_kernel_object(name, spec, schedule, target, object))
        << name;
    const auto modules = runtime::embedded_ptx(object);
    ASSERT_EQ(modules.size(), 2u) << k.symbol << ": an aligned and an unaligned entry";
    for (std::size_t m = 0; m < modules.size(); ++m) {
      const std::string &ptx = modules[m];
      EXPECT_NE(ptx.find(".target sm_80"), std::string::npos) << k.symbol;
      // Every f32/f64 mul, add and sub carries .rn: ptxas may not fuse it into an fma.
      for (const char *op :
           {"\tmul.f32 ", "\tadd.f32 ", "\tsub.f32 ", "\tmul.f64 ", "\tadd.f64 ", "\tsub.f64 "})
        EXPECT_EQ(ptx.find(op), std::string::npos) << k.symbol << " has a contractible" << op;
      EXPECT_EQ(ptx.find(".extern .func"), std::string::npos)
          << k.symbol << " calls a function outside its PTX:\n"
          << ptx.substr(ptx.find(".extern .func"), 200);
      const fs::path file = dir_ / (k.symbol + (m ? "_unaligned" : "") + ".ptx");
      std::ofstream(file) << ptx;
      for (const char *arch : {"sm_80", "sm_90"}) {
        const auto [rc, out] = shell(ptxas() + " -arch=" + arch + " -o " +
                                     (dir_ / "out.cubin").string() + " " + file.string());
        EXPECT_EQ(rc, 0) << "ptxas -arch=" << arch << " rejected " << file.filename() << ":\n"
                         << out;
      }
      ++modules_;
    }
  }

  fs::path dir_;
  int modules_ = 0;
};

TEST_P(CudaCompile, EveryRoleAndDtypeAssemblesForSm80AndSm90) {
  const dsl::Entry *e = dsl::find_activation(GetParam());
  ASSERT_NE(e, nullptr);
  for (DType dtype : {DType::F32, DType::F16, DType::BF16, DType::F64}) {
    std::vector<codegen::KernelSpec> specs{{e->expr, Role::Forward, dtype},
                                           {e->expr, Role::Backward, dtype}};
    if (dsl::find_from_output(e->expr)) specs.push_back({e->expr, Role::BackwardFromOutput, dtype});
    if (!ir::collect_params(e->expr).empty()) {
      specs.push_back({e->expr, Role::ParamGrad, dtype});
      // Every parameter per channel, in the channel layout: forward and param_grad.
      std::vector<std::string> all;
      for (const auto &p : ir::collect_params(e->expr))
        all.push_back(p.name);
      specs.push_back({e->expr, Role::Forward, dtype, codegen::Layout::Channels, all});
      specs.push_back({e->expr, Role::ParamGrad, dtype, codegen::Layout::Channels, all});
    }
    for (const auto &spec : specs)
      check(*e, spec);
  }
  RecordProperty("ptx_modules", modules_);
}

std::vector<std::string> elementwise_activations() {
  std::vector<std::string> names;
  for (const auto &e : dsl::catalog())
    if (e.expr.defined()) names.push_back(e.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Catalog, CudaCompile, testing::ValuesIn(elementwise_activations()),
                         [](const auto &param_info) { return param_info.param; });

// RReLU training with g generated in the kernel (KernelSpec::uniform_g): Philox-4x32-10 in
// 32-bit integer arithmetic, every role and layout, f32, f16 and f64 storage. COMPILED AND
// ASSEMBLED HERE, NOT RUN (no GPU): tests/cuda_test.cpp (label cuda) replays the slopes on a GPU.
class CudaCompileRng : public CudaCompile {};

TEST_P(CudaCompileRng, GeneratedNoiseAssemblesForSm80AndSm90) {
  const ir::Expr e = dsl::rrelu_train_expr();
  for (DType dtype : {DType::F32, DType::F16, DType::F64})
    for (Role role : {Role::Forward, Role::Backward, Role::ParamGrad})
      for (codegen::Layout layout : {codegen::Layout::Flat, codegen::Layout::Channels}) {
        codegen::KernelSpec spec{e, role, dtype, layout};
        spec.uniform_g = true;
        const runtime::KernelInterface k = check(GetParam(), spec);
        if (HasFatalFailure()) return;
        // g is not read: x (and dy) only; backward writes dx alone.
        ASSERT_FALSE(k.inputs.empty());
        EXPECT_EQ(k.inputs.size(), role == Role::Forward ? 1u : 2u) << k.symbol;
        EXPECT_EQ(k.inputs[0].name, "x");
        if (role == Role::Backward) {
          ASSERT_EQ(k.outputs.size(), 1u) << k.symbol;
          EXPECT_EQ(k.outputs[0].name, "dx");
        }
      }
  RecordProperty("ptx_modules", modules_);
}

INSTANTIATE_TEST_SUITE_P(RreluTrain, CudaCompileRng, testing::Values("rrelu_train"));

// Fused epilogues (dsl/epilogue.hpp) and the halves layout of gated activations on the GPU:
// forward, backward and param_grad with bias, scale and shift per channel, and the halves
// layout's forward and backward. COMPILED AND ASSEMBLED HERE, NOT RUN (no GPU).
class CudaCompileTraining : public CudaCompile {};

TEST_P(CudaCompileTraining, EpiloguesAndHalvesAssembleForSm80AndSm90) {
  const std::string name = GetParam();
  const dsl::Entry *e = dsl::find_activation(name);
  ASSERT_NE(e, nullptr);
  for (DType dtype : {DType::F32, DType::F16}) {
    if (ir::count_inputs(e->expr) > 1) { // gated: the halves layout
      for (Role role : {Role::Forward, Role::Backward})
        check(*e, {e->expr, role, dtype, codegen::Layout::Halves});
      continue;
    }
    for (dsl::Epilogue ep : {dsl::Epilogue::Bias, dsl::Epilogue::Affine, dsl::Epilogue::Residual}) {
      const ir::Expr f = dsl::with_epilogue(e->expr, ep);
      const std::vector<std::string> params = dsl::epilogue_params(ep);
      const std::string fused = name + "_" + std::string(dsl::to_string(ep));
      const codegen::Layout layout =
          params.empty() ? codegen::Layout::Flat : codegen::Layout::Channels;
      check(fused, {f, Role::Forward, dtype, layout, params});
      check(fused, {f, Role::Backward, dtype, layout, params});
      if (!params.empty()) check(fused, {f, Role::ParamGrad, dtype, layout, params, params});
    }
  }
  RecordProperty("ptx_modules", modules_);
}

INSTANTIATE_TEST_SUITE_P(Training, CudaCompileTraining,
                         testing::Values("relu", "gelu", "swish", "swiglu", "reglu"),
                         [](const auto &param_info) { return param_info.param; });

// The AOT library for cuda with generated g (gen --uniform-g --target cuda): the C wrappers
// compile warning-free as C11 with the seed and offset in the prototypes, and every PTX file
// assembles. Compiled only, not run.
TEST(CudaAotRng, GeneratedLibraryCompilesAndAssembles) {
  if (::access(ptxas().c_str(), X_OK) != 0) GTEST_SKIP() << "no ptxas at " << ptxas();
  const fs::path dir =
      fs::temp_directory_path() / ("actforge-aot-rng-" + std::to_string(::getpid()));
  aot::Options o;
  o.activations = {{"rrelu_train", dsl::rrelu_train_expr(), true}};
  o.targets = {"cuda"};
  o.prefix = "aotgc";
  o.use_tuning_db = false;
  o.layouts = {codegen::Layout::Flat, codegen::Layout::Channels};
  const auto files = aot::generate(o, dir.string());
  std::ifstream in(dir / "aotgc_kernels.h");
  const std::string header((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(header.find("int aotgc_rrelu_train_fwd_rng_f32(const float *x, float *y, int64_t n, "
                        "const aotgc_rrelu_train_params *p, uint64_t seed, uint64_t offset);"),
            std::string::npos)
      << header;
  const auto [rc, out] =
      shell(std::string(ACTFORGE_CC) + " -std=c11 -Wall -Wextra -Werror -c " +
            (dir / "aotgc_kernels.c").string() + " -o " + (dir / "aotgc_kernels.o").string());
  EXPECT_EQ(rc, 0) << out;
  int ptx = 0;
  for (const auto &f : files)
    if (f.size() > 4 && f.substr(f.size() - 4) == ".ptx") {
      const auto [prc, pout] = shell(ptxas() + " -arch=sm_90 -o " + (dir / "out.cubin").string() +
                                     " " + (dir / f).string());
      EXPECT_EQ(prc, 0) << f << ":\n" << pout;
      ++ptx;
    }
  EXPECT_EQ(ptx, 8); // fwd and bwd, flat and channels, aligned and unaligned entries
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(CudaTarget, NameResolvesToPtxForSm80) {
  const auto t = targets::resolve("cuda");
  EXPECT_TRUE(t.gpu);
  EXPECT_TRUE(t.halide.has_feature(Halide::Target::CUDA));
  EXPECT_TRUE(t.halide.has_feature(Halide::Target::CUDACapability80));
  EXPECT_THROW(targets::resolve("cuda-sm100"), Error);
}

// Without a driver (this machine, CI) a cuda kernel compiles but a call says why it cannot run,
// and nothing crashes; with one, the GPU tests (tests/cuda_test.cpp) run instead.
TEST(CudaTarget, NoDriverIsAClearErrorAtTheCall) {
  if (targets::cuda::driver_problem().empty())
    GTEST_SKIP() << "this machine has a CUDA driver and device: tests/cuda_test.cpp runs kernels";
  const Kernel gpu = jit("relu", {.target = "cuda"});
  EXPECT_EQ(gpu.target(), "cuda");
  float x[3] = {-1, 0, 2}, y[3] = {};
  for (Memory memory : {Memory::Device, Memory::Host}) {
    const Kernel k = jit("relu", {.target = "cuda", .memory = memory});
    try {
      k.forward(x, y, 3);
      FAIL() << "a cuda kernel ran without a driver";
    } catch (const Error &e) {
      const std::string what = e.what();
      EXPECT_TRUE(what.find("no CUDA driver found") != std::string::npos ||
                  what.find("no CUDA device found") != std::string::npos)
          << what;
    }
  }
  // A CPU kernel in the same process is unaffected.
  jit("relu").forward(x, y, 3);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[2], 2.0f);
}

} // namespace
} // namespace actforge
