// Tests of the compile-time DSL: expression types, d(), eval(), simplify() and reflect().
#include "actforge/check/numeric.hpp"
#include "actforge/dsl.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/parse.hpp"
#include "actforge/ir/print.hpp"

#include <boost/hana/core/to.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/string.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace actforge::dsl {
namespace {

template <class E> using type_of = std::remove_cvref_t<E>;

// ---- Compile-time facts: if one is wrong, this file does not build ------------------------------

constexpr auto relu = max(x, 0);
static_assert(eval(d(relu, x), 2.0) == 1);
static_assert(eval(d(relu, x), -2.0) == 0);
static_assert(eval(d(relu, x), 0.0) == 0); // the tie takes the minimum-norm choice
static_assert(eval(d(max(0, x), x), 0.0) == 0);
static_assert(eval(d(min(x, 2 * x), x), 0.0) == 1); // slopes 1 and 2: the smaller
// relu' is a select of the exact integers 1 and 0, so relu'' folds away in the type.
static_assert(std::is_same_v<decltype(d(d(relu, x), x)), int_t<0>>);
static_assert(std::is_same_v<decltype(d(d(lib::relu6, x), x)), int_t<0>>);

static_assert(eval(d(x * x, x), 3.0) == 6);
static_assert(std::is_same_v<decltype(d(x * x, x)), node_t<Kind::Mul, int_t<2>, input_t<0>>>);
static_assert(std::is_same_v<decltype(d(exp(x), x)), node_t<Kind::Exp, input_t<0>>>);
static_assert(std::is_same_v<decltype(d(x, g)), int_t<0>>);
static_assert(std::is_same_v<decltype(d(g, g)), int_t<1>>);
static_assert(std::is_same_v<decltype(d(lit(3), x)), int_t<0>>);
static_assert(std::is_same_v<decltype(d(param<"beta">(1) * x, param<"beta">(1))), input_t<0>>);
static_assert(eval(d(pow<3>(x), x), 2.0) == 12);
static_assert(eval(d(x / g, g), 3.0, 2.0) == -0.75);
static_assert(eval(x * x, dual<double>{3, 1}).d == 6); // dual numbers work in constexpr too

static_assert(has_param_v<type_of<decltype(lib::swish)>, "beta">);
static_assert(!has_param_v<type_of<decltype(lib::swish)>, "alpha">);
static_assert(has_param_v<type_of<decltype(lib::threshold)>, "value">);
static_assert(decltype(hana::length(param_names(lib::relu)))::value == 0);
static_assert(decltype(hana::length(param_names(lib::softshrink)))::value == 1); // 4 uses, 1 name
static_assert(decltype(hana::length(param_names(lib::rrelu)))::value == 2);
static_assert(decltype(hana::contains(param_names(lib::hardtanh), hana_name<"lo">))::value);
static_assert(decltype(hana::contains(param_names(lib::hardtanh), hana_name<"hi">))::value);

static_assert(input_count<type_of<decltype(lib::glu)>> == 2);
static_assert(input_count<type_of<decltype(lib::rrelu_train)>> == 2);
static_assert(input_count<type_of<decltype(lib::relu)>> == 1);
static_assert(input_count<type_of<decltype(d(lib::glu, x))>> == 2); // x·s(g) by x is s(g)
static_assert(input_count<int_t<3>> == 0);

// simplify() folds what the types decide. A plain number is a lit_t, a value the type does not
// know, so x * 1 + 0 keeps both literals (the constant only moves first, one spelling for c·u);
// the exact integers int_t fold away.
static_assert(std::is_same_v<decltype(simplify(x * 1 + 0)),
                             node_t<Kind::Add, node_t<Kind::Mul, lit_t, input_t<0>>, lit_t>>);
static_assert(std::is_same_v<decltype(simplify(x * build::one + build::zero)), input_t<0>>);
static_assert(std::is_same_v<decltype(simplify(build::one * x - build::zero)), input_t<0>>);
static_assert(std::is_same_v<decltype(simplify(build::zero * exp(x))), int_t<0>>);
static_assert(std::is_same_v<decltype(simplify(build::zero - x)), node_t<Kind::Neg, input_t<0>>>);
static_assert(std::is_same_v<decltype(simplify(-(-x))), input_t<0>>);
static_assert(
    std::is_same_v<decltype(simplify(x - (-g))), node_t<Kind::Add, input_t<0>, input_t<1>>>);
static_assert(
    std::is_same_v<decltype(simplify(x + (-g))), node_t<Kind::Sub, input_t<0>, input_t<1>>>);
static_assert(std::is_same_v<decltype(simplify(pow<1>(x))), input_t<0>>);
static_assert(std::is_same_v<decltype(simplify(pow<0>(x))), int_t<1>>);
static_assert(std::is_same_v<decltype(simplify(exp(build::zero))), int_t<1>>);
static_assert(std::is_same_v<decltype(simplify(build::int_c<2> * build::int_c<3>)), int_t<6>>);
static_assert(simplify(lit(2) * lit(3)).value == 6); // literals fold in value
static_assert(simplify(lit(1) + 0.5).value == 1.5);

static_assert(eval(lib::relu6, 7.0) == 6);
static_assert(eval(lib::hardsigmoid, 0.0) == 0.5);
static_assert(eval(lib::hardtanh, -4.0) == -1);

// ---- eval() on each scalar type -----------------------------------------------------------------

TEST(DslEval, EachScalarType) {
  static_assert(std::is_same_v<decltype(eval(lib::silu, 1.5f)), float>);
  static_assert(std::is_same_v<decltype(eval(lib::silu, 1.5)), double>);
  static_assert(std::is_same_v<decltype(eval(lib::silu, 1.5L)), long double>);
  static_assert(std::is_same_v<decltype(eval(lib::silu, 2)), double>); // an integer reads as double
  static_assert(
      std::is_same_v<decltype(eval(lib::silu, dual<long double>{1.5L, 1})), dual<long double>>);
  EXPECT_FLOAT_EQ(eval(lib::silu, 1.5f), 1.5f / (1 + std::exp(-1.5f)));
  EXPECT_DOUBLE_EQ(eval(lib::silu, 1.5), 1.5 / (1 + std::exp(-1.5)));
  EXPECT_DOUBLE_EQ(eval(lib::silu, 2), 2 / (1 + std::exp(-2.0)));
  EXPECT_NEAR(eval(lib::silu, 1.5L), 1.5L / (1 + std::exp(-1.5L)), 1e-18L);
  const dual<long double> y = eval(lib::silu, dual<long double>{1.5L, 1});
  EXPECT_EQ(y.v, eval(lib::silu, 1.5L)); // the value part is the plain evaluation
  const long double s = 1 / (1 + std::exp(-1.5L));
  EXPECT_NEAR(y.d, s + 1.5L * s * (1 - s), 1e-18L);
}

TEST(DslEval, GatedTakesXThenG) {
  EXPECT_DOUBLE_EQ(eval(lib::glu, 2.0, -1.0), 2 / (1 + std::exp(1.0)));
  EXPECT_EQ(eval(lib::reglu, 3.0, 2.0), 6);
  EXPECT_EQ(eval(lib::reglu, 3.0, -2.0), 0);
}

// Forward mode on values against the symbolic rules: an independent derivation of f'.
TEST(DslEval, DualDerivativeEqualsSymbolic) {
  using D = dual<long double>;
  const auto exprs = hana::make_tuple(lib::gelu, lib::gelu_tanh, lib::mish, lib::softsign, lib::elu,
                                      lib::hardswish, lib::tanhshrink, lib::logsigmoid,
                                      x / (1 + x * x), rsqrt(1 + x * x), log1p(x * x), erf(x));
  hana::for_each(exprs, [](const auto &e) {
    for (long double v : {-2.75L, -0.4L, 0.3L, 1.0L, 2.25L}) {
      const long double forward = eval(e, D{v, 1}).d, symbolic = eval(d(e, x), v);
      EXPECT_TRUE(check::close(forward, symbolic, 1e-15L))
          << ir::print(reflect(e)) << " at x=" << v << ": dual " << forward << ", d() " << symbolic;
    }
  });
}

// FAILS (library bug): scalar::abs on dual numbers returns {0, 0} for a NaN operand, while the
// scalar abs (and so eval() on float/double/long double and the IR) propagate it.
TEST(DslEval, DualAbsKeepsNan) {
  using D = dual<long double>;
  const long double nan = std::numeric_limits<long double>::quiet_NaN();
  EXPECT_TRUE(std::isnan(eval(abs(x), nan)));
  EXPECT_TRUE(std::isnan(eval(abs(x), D{nan, 1}).v));
  // Seen through the library: hardshrink tests |x| <= lambda, and a NaN |x| must fail that test.
  EXPECT_TRUE(std::isnan(eval(lib::hardshrink, nan)));
  EXPECT_TRUE(std::isnan(eval(lib::hardshrink, D{nan, 1}).v));
}

TEST(DslEval, WithOverridesADefault) {
  EXPECT_DOUBLE_EQ(eval(lib::swish, 1.0), 1 / (1 + std::exp(-1.0)));
  EXPECT_DOUBLE_EQ(eval(lib::swish, 1.0, with<"beta">(2.0)), 1 / (1 + std::exp(-2.0)));
  EXPECT_EQ(eval(lib::hardtanh, 5.0, with<"hi">(3.0)), 3);
  EXPECT_EQ(eval(lib::hardtanh, -5.0, with<"hi">(3.0), with<"lo">(-2.0)), -2);
  EXPECT_EQ(eval(lib::leaky_relu, -2.0L), -2 * 0.01L);
  // A parameter without a default takes its value from with<>() alone.
  EXPECT_EQ(eval(lib::threshold, 0.2, with<"threshold">(0.5), with<"value">(-2.0)), -2);
  EXPECT_EQ(eval(lib::threshold, 0.7, with<"value">(-2.0), with<"threshold">(0.5)), 0.7);
}

// ---- d() ----------------------------------------------------------------------------------------

TEST(DslDerivative, ByParameter) {
  // d/dβ x·s(βx) = x²·s(βx)·(1 − s(βx)).
  const auto d_beta = d(lib::swish, param<"beta">(1));
  for (long double beta : {1.0L, 2.0L}) {
    const long double v = 1.5L, s = 1 / (1 + std::exp(-beta * v));
    EXPECT_NEAR(eval(d_beta, v, with<"beta">(beta)), v * v * s * (1 - s), 1e-18L)
        << "beta=" << beta;
  }
  // d/dα of leaky_relu is x on the negative side and 0 on the positive one.
  EXPECT_EQ(eval(d(lib::leaky_relu, param<"alpha">(0.01L)), -3.0L), -3);
  EXPECT_EQ(eval(d(lib::leaky_relu, param<"alpha">(0.01L)), 3.0L), 0);
}

TEST(DslDerivative, SecondOrderSigmoid) {
  const auto d2 = d(d(sigmoid(x), x), x);
  for (long double v : {-3.0L, -0.5L, 0.0L, 0.7L, 2.5L}) {
    const long double s = 1 / (1 + std::exp(-v));
    EXPECT_NEAR(eval(d2, v), s * (1 - s) * (1 - 2 * s), 1e-18L) << "x=" << v;
  }
  EXPECT_EQ(eval(d2, 0.0L), 0); // s(0)·s(0)·(1 − 2·s(0)) is exactly 0
}

TEST(DslDerivative, TanhIsOneMinusTanhSquared) {
  const auto dt = d(tanh(x), x);
  for (long double v : {-2.0L, -0.3L, 0.0L, 0.5L, 1.7L}) {
    const long double t = std::tanh(v);
    EXPECT_NEAR(eval(dt, v), 1 - t * t, 1e-18L) << "x=" << v;
  }
  EXPECT_EQ(eval(dt, 0.0L), 1);
}

TEST(DslDerivative, GatedByEachInput) {
  // glu = x·s(g): by x it is s(g), by g it is x·s(g)·(1 − s(g)).
  const long double xv = 1.25L, gv = -0.8L, s = 1 / (1 + std::exp(-gv));
  EXPECT_NEAR(eval(d(lib::glu, x), xv, gv), s, 1e-18L);
  EXPECT_NEAR(eval(d(lib::glu, g), xv, gv), xv * s * (1 - s), 1e-18L);
}

TEST(DslDerivative, RreluTrainUsesTheSlopeG) {
  const auto dx = d(lib::rrelu_train, x);
  EXPECT_EQ(eval(lib::rrelu_train, -2.0, 0.2), -2.0 * 0.2);
  EXPECT_EQ(eval(dx, -2.0, 0.2), 0.2);
  EXPECT_EQ(eval(dx, -2.0, 0.3), 0.3);
  EXPECT_EQ(eval(dx, 3.0, 0.2), 1);
  EXPECT_EQ(eval(dx, 0.0, 0.2), 1); // x >= 0 holds at 0: rrelu'(0) = 1
  EXPECT_EQ(eval(d(lib::rrelu_train, g), -2.0, 0.2), -2);
  EXPECT_EQ(eval(d(lib::rrelu_train, g), 3.0, 0.2), 0);
}

// ---- reflect() ----------------------------------------------------------------------------------

TEST(DslReflect, SameIrAsTheText) {
  EXPECT_EQ(reflect(lib::swish), ir::parse("x * sigmoid(beta * x), beta=1"));
  EXPECT_EQ(reflect(lib::relu), ir::parse("max(x, 0)"));
  EXPECT_EQ(reflect(lib::leaky_relu), ir::parse("x > 0 ? x : alpha * x, alpha=0.01"));
  EXPECT_EQ(reflect(lib::threshold), ir::parse("select(x <= threshold, value, x)"));
  EXPECT_EQ(reflect(lib::glu), ir::parse("x * sigmoid(g)"));
  EXPECT_EQ(reflect(pow<3>(x) - 0 + 1), ir::parse("pow(x, 3) - 0 + 1")); // reflect folds nothing
  EXPECT_EQ(reflect(d(relu, x)), ir::parse("select(x > 0, 1, 0)"));
  EXPECT_EQ(reflect(select(ne(x, 1), -x, g)), ir::parse("x != 1 ? -x : g"));
}

// ---- The library and the catalog ----------------------------------------------------------------

TEST(DslLibrary, MaxoutIsInTheCatalogOnly) {
  std::size_t n = 0;
  hana::for_each(library, [&](const auto &a) {
    ++n;
    EXPECT_NE(a.name.view(), "maxout");
  });
  EXPECT_EQ(catalog().size(), n + 1);
  const Entry *maxout = find_activation("maxout");
  ASSERT_NE(maxout, nullptr);
  EXPECT_EQ(maxout->shape, Shape::Maxout);
  EXPECT_FALSE(maxout->expr.defined());
  EXPECT_EQ(maxout->f, nullptr);
  EXPECT_EQ(find_activation("no_such_activation"), nullptr);
}

// eval(e, x, g) with every parameter of e bound by name from `values`.
template <class E>
long double eval_bound(const E &e, long double xv, long double gv, const ParamValues &values) {
  return hana::unpack(param_names(e), [&](auto... key) {
    return eval(e, xv, gv,
                binding<decltype(key), long double>{values.at(hana::to<const char *>(key))}...);
  });
}

TEST(DslLibrary, CompileTimeForwardEqualsReflectedIr) {
  hana::for_each(library, [](const auto &a) {
    const std::string name(a.name.view());
    const Entry *entry = find_activation(name);
    ASSERT_NE(entry, nullptr) << name;
    const ir::Expr reflected = reflect(a.expr);
    EXPECT_EQ(reflected, entry->expr) << name;
    const ParamValues values = entry->sample_params();
    const ir::Program program(reflected);
    std::vector<long double> params;
    for (const auto &p : program.params())
      params.push_back(values.at(p.name));
    for (long double xv : {-25.0L, -3.0L, -1.0L, -0.5L, 0.0L, 0.3L, 1.0L, 2.5L, 6.0L, 21.0L})
      for (long double gv : {-1.5L, 0.7L}) {
        const std::vector<long double> in{xv, gv};
        const long double compiled = eval_bound(a.expr, xv, gv, values);
        const long double interpreted = program.eval<long double>(in, params);
        // One scalar implementation (scalar.hpp) behind both: the results are identical.
        EXPECT_TRUE(check::close(compiled, interpreted, 0))
            << name << " at x=" << xv << ", g=" << gv << ": compile-time " << compiled << ", IR "
            << interpreted;
      }
  });
}

} // namespace
} // namespace actforge::dsl
