// The infinity and NaN guards build_pipeline() keeps: which library kernels keep which (so that a
// change is seen), and that expressions without them still give the limits and NaN.
#include "actforge/check/numeric.hpp"
#include "actforge/codegen/halide/pipeline.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/from_output.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/parse.hpp"

#include <Halide.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace actforge;
using codegen::DType;
using codegen::KernelSpec;
using codegen::Role;
namespace hp = actforge::codegen::halide;

hp::Pipeline build(ir::Expr e, Role role, DType dtype = DType::F32) {
  return hp::build_pipeline(KernelSpec{e, role, dtype}, codegen::Schedule{});
}

/// "-" for no guard, else "inf" and/or "nan(x,g)".
std::string guards_of(const hp::Pipeline &p) {
  std::string s = p.guards.infinity ? "inf" : "";
  if (!p.guards.nan.empty()) {
    s += s.empty() ? "nan(" : " nan(";
    for (std::size_t i = 0; i < p.guards.nan.size(); ++i)
      s += (i ? "," : "") + p.guards.nan[i];
    s += ")";
  }
  return s.empty() ? "-" : s;
}

/// Every role the entry has, as "fwd: ... | bwd: ... | bwdy: ... | pgrad: ...".
std::string library_guards(const dsl::Entry &entry) {
  std::string s = "fwd: " + guards_of(build(entry.expr, Role::Forward)) +
                  " | bwd: " + guards_of(build(entry.expr, Role::Backward));
  if (dsl::find_from_output(entry.expr))
    s += " | bwdy: " + guards_of(build(entry.expr, Role::BackwardFromOutput));
  if (!ir::collect_params(entry.expr).empty())
    s += " | pgrad: " + guards_of(build(entry.expr, Role::ParamGrad));
  return s;
}

TEST(Guards, LibraryKernelsKeepTheseGuards) {
  // inf: stand-ins and limit() (inf·0 at the limit, as x·sigmoid(x) at -inf, or a parameter
  // that may be 0, as α·x); nan(x): a NaN test (a select that drops a NaN, as relu').
  const std::map<std::string, std::string> expected = {
      {"relu", "fwd: - | bwd: nan(x) | bwdy: nan(y)"},
      {"leaky_relu", "fwd: inf | bwd: nan(x) | bwdy: nan(y) | pgrad: nan(x)"},
      {"prelu", "fwd: inf | bwd: nan(x) | pgrad: nan(x)"},
      {"rrelu", "fwd: inf | bwd: nan(x) | pgrad: nan(x)"},
      {"relu6", "fwd: - | bwd: nan(x) | bwdy: nan(y)"},
      {"hardtanh", "fwd: - | bwd: nan(x) | bwdy: nan(y) | pgrad: nan(x)"},
      {"elu", "fwd: - | bwd: nan(x) | bwdy: nan(y) | pgrad: nan(x)"},
      {"selu", "fwd: inf | bwd: nan(x) | bwdy: inf nan(y) | pgrad: nan(x)"},
      {"celu", "fwd: inf | bwd: inf nan(x) | bwdy: inf nan(y) | pgrad: inf nan(x)"},
      {"gelu", "fwd: inf | bwd: inf"},
      {"gelu_tanh", "fwd: inf | bwd: inf"},
      {"quick_gelu", "fwd: inf | bwd: inf"},
      {"silu", "fwd: inf | bwd: inf"},
      {"swish", "fwd: inf | bwd: inf | pgrad: inf"},
      {"mish", "fwd: inf | bwd: inf"},
      {"hardswish", "fwd: inf | bwd: inf"},
      {"hardsigmoid", "fwd: - | bwd: nan(x)"},
      {"sigmoid", "fwd: - | bwd: - | bwdy: -"},
      {"tanh", "fwd: - | bwd: - | bwdy: -"},
      {"softplus", "fwd: inf | bwd: inf nan(x) | pgrad: inf nan(x)"},
      {"softsign", "fwd: - | bwd: -"},
      {"logsigmoid", "fwd: - | bwd: -"},
      {"tanhshrink", "fwd: - | bwd: -"},
      {"softshrink", "fwd: nan(x) | bwd: nan(x) | pgrad: nan(x)"},
      {"hardshrink", "fwd: nan(x) | bwd: nan(x) | pgrad: nan(x)"},
      {"threshold", "fwd: nan(x) | bwd: nan(x) | pgrad: nan(x)"},
      {"glu", "fwd: inf | bwd: inf nan(x)"},
      {"reglu", "fwd: inf | bwd: inf nan(x,g)"},
      {"geglu", "fwd: inf | bwd: inf nan(x)"},
      {"swiglu", "fwd: inf | bwd: inf nan(x)"},
  };
  for (const auto &entry : dsl::catalog()) {
    if (!entry.expr.defined()) continue; // maxout
    const auto it = expected.find(entry.name);
    const std::string got = library_guards(entry);
    if (it == expected.end()) {
      ADD_FAILURE() << entry.name << " is not listed; it keeps " << got;
      continue;
    }
    EXPECT_EQ(got, it->second) << entry.name;
  }
}

/// f at x for each x, realized in strict float as the x86 targets compile (the guards' analysis
/// assumes it): forward only, parameters at their defaults.
template <class T> std::vector<T> realize(ir::Expr e, std::vector<T> xs) {
  const hp::Pipeline p = build(e, Role::Forward, sizeof(T) == 8 ? DType::F64 : DType::F32);
  Halide::ParamMap map;
  Halide::Buffer<T> in(xs.data(), static_cast<int>(xs.size()));
  map.set(p.buffers.at(0), in);
  const ir::Program program(e);
  const std::vector<long double> defaults = program.default_params();
  for (std::size_t j = 0; j < p.param_names.size(); ++j)
    p.set_param(map, j, static_cast<double>(defaults.at(j)));
  std::vector<T> out(xs.size());
  Halide::Buffer<T> result(out.data(), static_cast<int>(out.size()));
  Halide::Pipeline pipeline = p.pipeline;
  const Halide::Target strict =
      Halide::get_jit_target_from_environment().with_feature(Halide::Target::StrictFloat);
  pipeline.realize(Halide::Realization(result), strict, map);
  return out;
}

template <class T> void expect_limits_and_nan(const std::string &text) {
  const ir::Expr e = ir::parse(text);
  const ir::Program program(e);
  const check::Probe probe{&program, {0}, program.default_params(), 0, false};
  constexpr T inf = std::numeric_limits<T>::infinity();
  const std::vector<T> xs = {-inf, inf, std::numeric_limits<T>::quiet_NaN()};
  const std::vector<T> got = realize<T>(e, xs);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    // A kernel gives NaN for a NaN input, whatever its formula does with one.
    const T want = std::isnan(xs[i]) ? xs[i] : static_cast<T>(check::reference_value(probe, xs[i]));
    EXPECT_TRUE(got[i] == want || (std::isnan(got[i]) && std::isnan(want)))
        << text << (sizeof(T) == 8 ? " f64" : " f32") << " at " << xs[i] << ": " << got[i]
        << ", want " << want;
  }
}

// Expressions beside the library's, with the guards each keeps and its values at ±inf and NaN:
// the analysis sees through min/max, selects decided by the infinite input, saturating
// primitives, division by an infinity and exp(-x²); it keeps the guards for inf·0, inf - inf,
// a parameter that may be 0, and a select that drops a NaN.
TEST(Guards, ExpressionsGiveLimitsAndNanWithTheGuardsTheyKeep) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"max(x, 0)", "-"},
      {"min(max(x, -2), 3) * 2", "-"},
      {"tanh(x) * 3 + 1 / x", "-"},
      {"exp(-(x * x)) + erfc(0.5 * x) - erf(x)", "-"},
      {"rsqrt(1 + x * x) + sigmoid(-x)", "-"},
      {"sigmoid(1.702 * x) - tanh(0.7 * x + 0.1) * softplus(0.3 * x)", "-"},
      {"select(x > 1, 1 - 1 / (1 + x), select(x < -1, 1 / (1 - x) - 1, x / (1 + abs(x))))", "-"},
      {"select(x > 0, x, 2 * expm1(x))", "-"},
      {"pow(x, 3) - x", "inf"},
      {"pow(x, -2) + softplus(x)", "-"},
      {"x * sigmoid(x)", "inf"},
      {"x - x", "inf"},
      {"softplus(-x) + x", "inf"},
      {"select(x > 0, x, a * x), a=0.5", "inf"},
      {"select(x > 0, x, 0)", "nan(x)"},
      {"select(x > 0, 1, 0) * x", "inf"},
  };
  for (const auto &[text, guards] : cases) {
    EXPECT_EQ(guards_of(build(ir::parse(text), Role::Forward)), guards) << text;
    expect_limits_and_nan<float>(text);
    expect_limits_and_nan<double>(text);
  }
}

} // namespace
