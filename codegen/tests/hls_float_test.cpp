// hls::lower_float(): what it refuses and the shape of the C it writes. Its accuracy is measured
// where the kernels run, by the fpga target's check: `actforge check --all --target fpga` compiles
// every activation's forward and backward kernel with a driver and measures it on the CI sample
// (tests/CMakeLists.txt, cli_fpga_check_all_float).
#include "actforge/codegen/hls/float_lower.hpp"
#include "actforge/error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using actforge::codegen::Role;
namespace hls = actforge::codegen::hls;
namespace ir = actforge::ir;

TEST(HlsFloat, RejectsParametersAndOtherRoles) {
  EXPECT_THROW(hls::lower_float(ir::param("a", 1.0L) * ir::input(0), Role::Forward),
               actforge::Error);
  EXPECT_THROW(hls::lower_float(ir::sigmoid(ir::input(0)), Role::ParamGrad), actforge::Error);
  EXPECT_THROW(hls::lower_float(ir::sigmoid(ir::input(0)), Role::BackwardFromOutput),
               actforge::Error);
}

TEST(HlsFloat, CodeShape) {
  const hls::FloatCode code = hls::lower_float(ir::sigmoid(ir::input(0)), Role::Forward);
  EXPECT_EQ(code.outputs.size(), 1u);
  EXPECT_NE(code.helpers.find("static float af_sigmoid("), std::string::npos) << code.helpers;
  for (const char *banned : {"if (", "if(", "double", "expf", "fmaf", "while", "memcpy"})
    EXPECT_EQ(code.helpers.find(banned), std::string::npos) << banned;
  for (const auto &s : code.statements)
    EXPECT_EQ(s.rfind("const ", 0), 0u) << s;
  EXPECT_GT(code.ops.multipliers, 5);
  EXPECT_GT(code.ops.dividers, 0);
  const hls::FloatCode relu =
      hls::lower_float(ir::max(ir::input(0), ir::constant(0)), Role::Forward);
  EXPECT_EQ(relu.ops.multipliers, 0);
  EXPECT_LE(relu.ops.comparators + relu.ops.selects, 6);
}

} // namespace
