// The from-output derivative table: g(f(x)) == f'(x) on a dense set of x, kinks and ±inf
// included, in the long-double interpreter; matching by expression; the error for the rest.
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/from_output.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/print.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace actforge;
using Values = std::map<std::string, long double>;

long double eval(const ir::Program &p, long double x, const Values &values) {
  std::vector<long double> params;
  for (const auto &info : p.params())
    params.push_back(values.at(info.name));
  const long double in[1] = {x};
  return p.eval<long double>(in, params);
}

// Parameter values each row is checked at: the defaults and values on both sides of them.
std::vector<Values> parameter_sets(const std::string &name) {
  if (name == "leaky_relu") return {{{"alpha", 0.01L}}, {{"alpha", 0}}, {{"alpha", 0.3L}}};
  if (name == "hardtanh")
    return {{{"lo", -1}, {"hi", 1}}, {{"lo", -2}, {"hi", 0.5L}}, {{"lo", 0.5L}, {"hi", 3}}};
  if (name == "elu") return {{{"alpha", 1}}, {{"alpha", 0.5L}}, {{"alpha", 2}}, {{"alpha", 0}}};
  if (name == "celu") return {{{"alpha", 1}}, {{"alpha", 0.5L}}, {{"alpha", 2}}};
  if (name == "selu") {
    Values v;
    for (const auto &info : ir::collect_params(dsl::find_activation("selu")->expr))
      v[info.name] = *info.default_value;
    return {v, {{"alpha", 1}, {"lambda", 2}}};
  }
  return {{}};
}

std::vector<long double> dense_inputs(const Values &params) {
  std::vector<long double> xs;
  for (int k = -40 * 128; k <= 40 * 128; ++k)
    xs.push_back(k / 128.0L);
  const long double inf = std::numeric_limits<long double>::infinity();
  for (long double v : {0.0L, 1e-30L, 1e-300L, 6.0L, 3.0L, 1e10L, 700.0L, 1e4L, inf})
    xs.insert(xs.end(), {v, -v});
  for (const auto &[name, value] : params) // hardtanh's lo and hi are kinks
    xs.insert(xs.end(), {value, std::nextafter(value, inf), std::nextafter(value, -inf)});
  return xs;
}

TEST(FromOutput, TableReproducesTheDerivativeEverywhere) {
  ASSERT_EQ(dsl::from_output_table().size(), 9u);
  constexpr long double kEps = std::numeric_limits<long double>::epsilon();
  for (const auto &row : dsl::from_output_table()) {
    SCOPED_TRACE(row.name);
    const ir::Program f(row.f), df(ir::differentiate(row.f, ir::input(0))), g(row.g);
    ASSERT_EQ(g.num_inputs(), 1);
    for (const Values &params : parameter_sets(row.name)) {
      int checked = 0;
      for (long double x : dense_inputs(params)) {
        const long double y = eval(f, x, params), want = eval(df, x, params);
        const long double got = eval(g, y, params);
        // The two formulas round differently; kinks and ±inf must agree exactly.
        const long double scale = std::fmax(1.0L, std::fabs(y));
        EXPECT_TRUE(got == want || std::fabs(got - want) <= 64 * kEps * scale)
            << "x=" << x << " y=" << y << ": g(y)=" << got << " f'(x)=" << want;
        ++checked;
      }
      EXPECT_GT(checked, 10000);
    }
  }
}

// The conventions ACTIVATIONS.md pins at the kinks, reached through y.
TEST(FromOutput, KinkConventionsThroughTheOutput) {
  for (const auto &row : dsl::from_output_table()) {
    const dsl::Entry *e = dsl::find_activation(row.name);
    ASSERT_NE(e, nullptr);
    const ir::Program f(row.f), g(row.g);
    Values params;
    for (const auto &[name, value] : e->sample_params())
      params[name] = value;
    for (int k = 0; k < e->info.n_kinks; ++k) {
      const auto kink = e->info.kinks[static_cast<std::size_t>(k)];
      EXPECT_EQ(eval(g, eval(f, kink.at, params), params), kink.derivative)
          << row.name << " at " << kink.at;
    }
  }
}

TEST(FromOutput, MatchesUpToParameterDefaults) {
  const ir::Expr elu = dsl::parse_with_library("select(x > 0, x, alpha * expm1(x)), alpha=0.5");
  const dsl::FromOutput *row = dsl::find_from_output(elu);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->name, "elu");
  const auto params = ir::collect_params(dsl::derivative_from_output(elu));
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].name, "alpha");
  EXPECT_EQ(params[0].default_value, 0.5L); // g carries the caller's default, not the library's
  EXPECT_EQ(dsl::find_from_output(dsl::parse_with_library("max(x, 0)"))->name, "relu");
  EXPECT_EQ(dsl::find_from_output(dsl::parse_with_library("sigmoid(x)"))->name, "sigmoid");
  EXPECT_EQ(dsl::find_from_output(dsl::parse_with_library("tanh(x)"))->name, "tanh");
  EXPECT_EQ(dsl::find_from_output(dsl::parse_with_library("x * x")), nullptr);
}

void expect_error(ir::Expr f, const std::string &message) {
  try {
    dsl::derivative_from_output(f);
    ADD_FAILURE() << "no error for " << ir::print(f);
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
}

TEST(FromOutput, OthersHaveNoneAndSaySo) {
  expect_error(dsl::find_activation("swish")->expr,
               "swish has no derivative expressible from its output; use backward");
  expect_error(dsl::find_activation("prelu")->expr,
               "prelu has no derivative expressible from its output; use backward");
  expect_error(dsl::find_activation("swiglu")->expr,
               "swiglu has no derivative expressible from its output; use backward");
  expect_error(dsl::parse_with_library("x * x"),
               "x * x has no derivative expressible from its output; use backward");
}

} // namespace
