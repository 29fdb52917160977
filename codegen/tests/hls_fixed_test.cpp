// The HLS emitter's fixed-point mode: table sizing, formats, errors, and its integer program.
#include "actforge/codegen/hls/hls.hpp"

#include "actforge/dsl/catalog.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/parse.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace actforge::codegen::hls {
namespace {

ir::Expr lib(const char *name) { return dsl::find_activation(name)->expr; }

Options fixed(const char *format, std::optional<double> bound = std::nullopt) {
  Options o;
  o.in = parse_fixed(format);
  o.out = o.in;
  o.max_error = bound;
  return o;
}

TEST(HlsFixed, ParsesFormats) {
  EXPECT_EQ(parse_fixed("16.10"), (FixedFormat{16, 10}));
  EXPECT_EQ(parse_fixed("8.0"), (FixedFormat{8, 0}));
  EXPECT_EQ(parse_fixed("16.10").c_type(), "int16_t");
  EXPECT_EQ(parse_fixed("20.12").c_type(), "int32_t");
  EXPECT_EQ(parse_fixed("16.10").max_value(), 32 - 1.0L / 1024);
  for (const char *bad : {"16", "16.16", "33.1", "1.0", "x.y", "16.-1", ""})
    EXPECT_THROW(parse_fixed(bad), Error) << bad;
}

TEST(HlsFixed, PiecewiseLinearNeedsNoTableAndIsExact) {
  for (const char *name : {"relu", "relu6", "hardtanh", "threshold", "softshrink"}) {
    for (Role role : {Role::Forward, Role::Backward}) {
      Options o = fixed("16.10");
      for (const auto &[k, v] : dsl::find_activation(name)->sample_params())
        o.params[k] = v;
      const Kernel k = generate(lib(name), role, "k", o);
      EXPECT_TRUE(k.report.tables.empty()) << name;
      EXPECT_EQ(k.report.achieved_error, 0) << name << " " << to_string(role);
    }
  }
  // relu: one comparison, one select, nothing else: no saturation, no multiplier.
  const Kernel relu = generate(lib("relu"), Role::Forward, "relu", fixed("16.10"));
  EXPECT_EQ(relu.report.ops.comparators, 1);
  EXPECT_EQ(relu.report.ops.selects, 1);
  EXPECT_EQ(relu.report.ops.multipliers, 0);
  const Kernel relu_bwd = generate(lib("relu"), Role::Backward, "relu", fixed("16.10"));
  EXPECT_EQ(relu_bwd.report.ops.multipliers, 0) << "dy·select(x > 0, 1, 0) is a select";
}

TEST(HlsFixed, TablesMeetTheBoundAndShrinkWithIt) {
  long long previous = -1;
  for (double bound : {1e-3, 4e-3, 1.6e-2}) {
    const Kernel k = generate(lib("gelu"), Role::Forward, "gelu", fixed("16.10", bound));
    EXPECT_LE(k.report.achieved_error, bound);
    EXPECT_GT(k.report.achieved_error, 0);
    ASSERT_EQ(k.report.tables.size(), 1u);
    const Table &t = k.report.tables[0];
    EXPECT_LE(t.max_error, bound - std::ldexp(1.0, -11)) << "room for the output's rounding";
    EXPECT_EQ(k.report.table_bits, t.bits());
    if (previous >= 0) {
      EXPECT_LT(t.bits(), previous) << bound;
    }
    previous = t.bits();
  }
}

TEST(HlsFixed, RequestedTableSize) {
  Options o = fixed("16.10");
  o.table_intervals = 64;
  const Kernel k = generate(lib("sigmoid"), Role::Forward, "s", o);
  ASSERT_EQ(k.report.tables.size(), 1u);
  EXPECT_EQ(k.report.tables[0].intervals, 64);
  EXPECT_NE(k.source.find("s_t0[65]"), std::string::npos) << "65 values for 64 intervals";
  o.table_intervals = 3;
  EXPECT_THROW(generate(lib("sigmoid"), Role::Forward, "s", o), Error);
}

TEST(HlsFixed, SelectsAreTakenApartSoNoTableSpansAJump) {
  // selu'(x) jumps at 0 (λ to λα): each branch is tabled or computed on its own side.
  const Kernel k = generate(lib("selu"), Role::Backward, "selu", fixed("16.10", 1e-3));
  EXPECT_LE(k.report.achieved_error, 1e-3);
  EXPECT_LT(k.report.table_bits, 16384) << "a table across the jump would need 2^14 entries";
}

TEST(HlsFixed, SimulateIsTheMeasuredProgram) {
  const Kernel k = generate(lib("tanh"), Role::Forward, "t", fixed("16.10", 1e-3));
  std::vector<std::int64_t> words;
  for (std::int64_t w = -32768; w < 32768; w += 7)
    words.push_back(w);
  const auto out = k.simulate({words});
  const ir::Program ref(lib("tanh"));
  long double worst = 0;
  for (std::size_t i = 0; i < words.size(); ++i)
    worst = std::max(worst, std::fabs(out[0][i] / 1024.0L - ref(words[i] / 1024.0L)));
  EXPECT_LE(worst, k.report.achieved_error);
  EXPECT_GT(worst, k.report.achieved_error / 2);
}

TEST(HlsFixed, FormatsWideNarrowAndMixed) {
  // 8 bits: all 256 words; the error still within one output LSB.
  const Kernel narrow = generate(lib("sigmoid"), Role::Forward, "s", fixed("8.6"));
  EXPECT_EQ(narrow.report.measured_points, 256);
  EXPECT_LE(narrow.report.achieved_error, std::ldexp(1.0, -6));
  EXPECT_NE(narrow.source.find("const int8_t x["), std::string::npos);
  // 20 bits: a spread sample of 65536 words, int32_t arrays.
  const Kernel wide = generate(lib("sigmoid"), Role::Forward, "s", fixed("20.14", 1e-4));
  EXPECT_EQ(wide.report.measured_points, 65536);
  EXPECT_LE(wide.report.achieved_error, 1e-4);
  EXPECT_NE(wide.source.find("const int32_t x["), std::string::npos);
  // Q12.8 in, Q16.12 out.
  Options mixed = fixed("12.8", 4e-4);
  mixed.out = parse_fixed("16.12");
  const Kernel m = generate(lib("gelu"), Role::Forward, "g", mixed);
  EXPECT_LE(m.report.achieved_error, 4e-4);
  EXPECT_EQ(m.report.measured_points, 4096);
}

TEST(HlsFixed, ParametersAreConstantsOfTheKernel) {
  Options o = fixed("16.10");
  o.params["alpha"] = 0.25;
  const Kernel k = generate(lib("leaky_relu"), Role::Forward, "l", o);
  EXPECT_EQ(k.report.params.at("alpha"), 0.25L);
  const auto y = k.simulate({{-1024}});
  EXPECT_EQ(y[0][0], -256);
  o.params["beta"] = 1;
  EXPECT_THROW(generate(lib("leaky_relu"), Role::Forward, "l", o), Error);
  EXPECT_THROW(generate(lib("threshold"), Role::Forward, "t", fixed("16.10")), Error)
      << "threshold's t and v have no defaults";
}

TEST(HlsFixed, ClearErrors) {
  auto message = [](ir::Expr e, Options o) {
    try {
      generate(e, Role::Forward, "k", o);
    } catch (const Error &err) {
      return std::string(err.what());
    }
    return std::string();
  };
  EXPECT_NE(message(ir::parse("x * exp(x * g)"), fixed("16.10")).find("one input only"),
            std::string::npos);
  EXPECT_NE(message(ir::parse("sqrt(x)"), fixed("16.10")).find("undefined at x = -32"),
            std::string::npos);
  EXPECT_NE(message(lib("gelu"), fixed("16.10", 1e-4)).find("below the rounding"),
            std::string::npos);
  EXPECT_NE(message(lib("gelu"), fixed("24.10")).find("at most 20 bits"), std::string::npos);
  EXPECT_THROW(generate(lib("relu"), Role::ParamGrad, "k", fixed("16.10")), Error);
  EXPECT_THROW(generate(lib("relu"), Role::Forward, "1k", fixed("16.10")), Error);
}

TEST(HlsFixed, WritesHlsC) {
  const Kernel k = generate(lib("swish"), Role::Backward, "swish_bwd", fixed("16.10", 1e-3));
  EXPECT_NE(k.header.find("void swish_bwd(const int16_t x[SWISH_BWD_MAX_N], const int16_t "
                          "dy[SWISH_BWD_MAX_N], int16_t dx[SWISH_BWD_MAX_N], int32_t n);"),
            std::string::npos)
      << k.header;
  EXPECT_NE(k.source.find("static const int16_t swish_bwd_t0["), std::string::npos);
  EXPECT_NE(k.source.find("#pragma HLS PIPELINE II=1"), std::string::npos);
  EXPECT_EQ(k.source.find("if ("), std::string::npos);
  const std::string json = to_json(k.report);
  for (const char *key : {"\"achieved\"", "\"table_bits\"", "\"multipliers\"", "\"entries\""})
    EXPECT_NE(json.find(key), std::string::npos) << key;
}

} // namespace
} // namespace actforge::codegen::hls
