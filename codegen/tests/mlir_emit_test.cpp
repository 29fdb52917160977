// codegen::mlir::emit(): the emitted text of relu, swish and gelu against golden files
// (tests/golden/mlir; ACTFORGE_UPDATE_GOLDEN=1 rewrites them after a reviewed change), the shape
// of every role's module, and what it refuses. That mlir-opt-19 accepts the text is
// tests/mlir/verify_all.sh; what the kernels compute is the differential test's and
// `check --backend mlir`'s.
#include "actforge/codegen/mlir/emit.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/parse.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace {

using namespace actforge;
namespace mlir = codegen::mlir;
using codegen::DType;
using codegen::KernelSpec;
using codegen::Role;

ir::Expr library(const std::string &name) {
  for (const auto &e : dsl::catalog())
    if (e.name == name) return e.expr;
  throw Error("no activation " + name);
}

std::size_t count(const std::string &text, const std::string &what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

class Golden : public ::testing::TestWithParam<std::pair<const char *, Role>> {};

TEST_P(Golden, EmittedTextIsTheReviewedOne) {
  const auto [name, role] = GetParam();
  const std::string kernel =
      "actforge_" + std::string(name) + "_" + std::string(codegen::short_name(role)) + "_f32";
  const mlir::Module m = mlir::emit({library(name), role, DType::F32}, kernel);
  const std::string path = std::string(ACTFORGE_MLIR_GOLDEN) + "/" + kernel + ".mlir";
  if (const char *update = std::getenv("ACTFORGE_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::binary) << m.text;
    GTEST_SKIP() << "rewrote " << path;
  }
  std::ifstream f(path, std::ios::binary);
  ASSERT_TRUE(f) << "missing " << path << " (ACTFORGE_UPDATE_GOLDEN=1 writes it)";
  std::stringstream golden;
  golden << f.rdbuf();
  EXPECT_EQ(m.text, golden.str()) << "the emitted form of " << kernel << " changed; review the "
                                  << "difference and rewrite with ACTFORGE_UPDATE_GOLDEN=1";
}

INSTANTIATE_TEST_SUITE_P(Mlir, Golden,
                         ::testing::Values(std::make_pair("relu", Role::Forward),
                                           std::make_pair("swish", Role::Forward),
                                           std::make_pair("swish", Role::Backward),
                                           std::make_pair("gelu", Role::Forward)));

TEST(MlirEmit, CpuModuleShape) {
  const mlir::Module m = mlir::emit({library("swish"), Role::Forward, DType::F32}, "k");
  EXPECT_EQ(m.inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(m.outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(m.params, std::vector<std::string>{"beta"});
  EXPECT_EQ(m.defaults, std::vector<double>{1.0});
  EXPECT_FALSE(m.sums);
  for (const char *piece :
       {"func.func private @k_element(", "func.func @k_memref(%x: memref<?xf32>, %y: memref<?xf32>, "
                                         "%arg_beta: f32)",
        "func.func @k(%x_ptr: !llvm.ptr, %y_ptr: !llvm.ptr, %n: i64, %p: !llvm.ptr) -> i32",
        "vector.maskedload", "vector.maskedstore", "scf.for", "vector<16xf32>"})
    EXPECT_NE(m.text.find(piece), std::string::npos) << piece;
  // Our primitives, not MLIR's math approximations or libm: no math ops, no calls but ours.
  EXPECT_EQ(m.text.find("math."), std::string::npos);
  EXPECT_EQ(count(m.text, "func.call"), 3u); // element ×2 (loop, tail), memref ×1
  const mlir::Module avx2 =
      mlir::emit({library("swish"), Role::Forward, DType::F32}, "k", {mlir::Device::Cpu, 8});
  EXPECT_NE(avx2.text.find("vector<8xf32>"), std::string::npos);
  EXPECT_EQ(avx2.text.find("vector<16xf32>"), std::string::npos);
}

TEST(MlirEmit, RolesAndStorage) {
  const ir::Expr swish = library("swish");
  const mlir::Module bwd = mlir::emit({swish, Role::Backward, DType::F16}, "b");
  EXPECT_EQ(bwd.inputs, (std::vector<std::string>{"x", "dy"}));
  EXPECT_EQ(bwd.outputs, std::vector<std::string>{"dx"});
  EXPECT_NE(bwd.text.find("memref<?xf16>"), std::string::npos);
  EXPECT_NE(bwd.text.find("arith.extf"), std::string::npos);
  const mlir::Module pg = mlir::emit({swish, Role::ParamGrad, DType::BF16}, "g");
  EXPECT_TRUE(pg.sums);
  EXPECT_EQ(pg.outputs, std::vector<std::string>{"dbeta"});
  EXPECT_NE(pg.text.find("vector.reduction <add>"), std::string::npos);
  EXPECT_NE(pg.text.find("memref<?xi16>"), std::string::npos); // bf16 as bits
  EXPECT_EQ(pg.text.find("bf16>"), std::string::npos);
  EXPECT_NE(pg.text.find("%dbeta_ptr: !llvm.ptr) -> i32"), std::string::npos); // after p
  const mlir::Module y = mlir::emit({library("elu"), Role::BackwardFromOutput}, "e");
  EXPECT_EQ(y.inputs, (std::vector<std::string>{"y", "dy"}));
  const mlir::Module gated = mlir::emit({library("swiglu"), Role::Backward}, "s");
  EXPECT_EQ(gated.inputs, (std::vector<std::string>{"x", "g", "dy"}));
  EXPECT_EQ(gated.outputs, (std::vector<std::string>{"dx", "dg"}));
}

TEST(MlirEmit, GpuModule) {
  const mlir::Module m = mlir::emit({library("gelu"), Role::Forward, DType::F32}, "gelu_fwd",
                                    {mlir::Device::Gpu});
  for (const char *piece : {"gpu.container_module", "gpu.module @gelu_fwd_gpu",
                            "gpu.func @gelu_fwd(%x_ptr: !llvm.ptr, %y_ptr: !llvm.ptr, %n64: i64) "
                            "kernel",
                            "gpu.grid_dim x", "memref.load", "memref.store"})
    EXPECT_NE(m.text.find(piece), std::string::npos) << piece;
  EXPECT_EQ(m.text.find("vector<"), std::string::npos);
}

TEST(MlirEmit, Refusals) {
  const ir::Expr swish = library("swish");
  auto message = [](const KernelSpec &s, mlir::Options o = {}) -> std::string {
    try {
      mlir::emit(s, "k", o);
    } catch (const Error &e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message({swish, Role::Forward, DType::F64}).find("f64"), std::string::npos);
  KernelSpec channels{swish, Role::Forward, DType::F32, codegen::Layout::Channels};
  EXPECT_NE(message(channels).find("flat layout"), std::string::npos);
  EXPECT_NE(message({swish, Role::ParamGrad}, {mlir::Device::Gpu}).find("param_grad"),
            std::string::npos);
  EXPECT_NE(message({swish, Role::Forward}, {mlir::Device::Cpu, 0}).find("lanes"),
            std::string::npos);
  EXPECT_NE(message({swish, Role::BackwardFromOutput}).find("use backward"), std::string::npos);
  EXPECT_THROW(mlir::emit({ir::Expr(), Role::Forward}, "k"), Error);
}

} // namespace
