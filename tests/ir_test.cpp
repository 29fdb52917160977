// Tests of the runtime IR: interning, folding, simplification, differentiation, the interpreter.
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/expr.hpp"
#include "actforge/ir/fold.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/print.hpp"
#include "actforge/ir/simplify.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace actforge::ir {

// Failure messages show expressions as text, not as pointers (found by ADL, so in ir itself).
void PrintTo(Expr e, std::ostream *os) { *os << (e.defined() ? print(e) : "<undefined>"); }

namespace {

constexpr long double kInf = std::numeric_limits<long double>::infinity();
constexpr long double kNaN = std::numeric_limits<long double>::quiet_NaN();
constexpr long double kPi = 3.14159265358979323846264338327950288L;

Expr c(long double v) { return constant(v); }
const Expr x = input(0);
const Expr g = input(1);

// f at (x, g) with every parameter at its default.
long double at(Expr f, long double xv, long double gv = 0) {
  const Program p(f);
  const std::vector<long double> in{xv, gv};
  return p.eval<long double>(in, p.default_params());
}

// The derivative of f by x, at x.
long double d_at(Expr f, long double xv, long double gv = 0) {
  return at(differentiate(f, x), xv, gv);
}

// ---- Interning ----------------------------------------------------------------------------------

TEST(IrIntern, SameStructureIsSamePointer) {
  const Expr a = x * sigmoid(param("beta", 1) * x);
  const Expr b = x * sigmoid(param("beta", 1) * x);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(pow(x + c(1), 3).get(), pow(x + c(1), 3).get());
  EXPECT_EQ(select(x > c(0), x, g).get(), select(x > c(0), x, g).get());
  // Structure, not value: the operand order, the exponent and the default all count.
  EXPECT_NE(x + g, g + x);
  EXPECT_NE(pow(x, 2), pow(x, 3));
  EXPECT_NE(param("beta", 1), param("beta", 2));
  EXPECT_NE(param("beta", 1), param("beta"));
  EXPECT_NE(param("beta", 0), param("beta")); // a default of 0 is still a default
  EXPECT_NE(input(0), input(1));
  EXPECT_NE(x > c(0), x >= c(0));
}

TEST(IrIntern, SharedSubexpressionsAreOneNode) {
  const Expr sq = x * x;
  EXPECT_EQ(dag_size(sq + sq), 3u); // x, x*x, the sum
  EXPECT_EQ(dag_size(x * sigmoid(x)), 3u);
  EXPECT_EQ((x * x).depth(), 2u);
  EXPECT_EQ(x.depth(), 1u);
}

TEST(IrIntern, SignedZerosAreDistinct) {
  EXPECT_NE(c(0.0L), c(-0.0L));
  EXPECT_EQ(c(-0.0L), c(-0.0L));
  EXPECT_TRUE(std::signbit(c(-0.0L).value()));
  EXPECT_NE(param("a", 0.0L), param("a", -0.0L));
}

TEST(IrIntern, NanConstantsAreEqual) {
  EXPECT_EQ(c(kNaN), c(kNaN));
  EXPECT_EQ(c(kNaN), c(-kNaN));
  EXPECT_EQ(c(kNaN), c(std::nanl("0x123")));
  EXPECT_EQ(x + c(kNaN), x + c(std::nanl("7")));
  EXPECT_NE(c(kNaN), c(kInf));
  EXPECT_NE(c(kInf), c(-kInf));
}

TEST(IrIntern, FactoriesRejectMisuse) {
  EXPECT_THROW(select(x, c(1), c(2)), Error);        // not a comparison
  EXPECT_THROW(select(x + c(1), c(1), c(2)), Error); // not a comparison
  EXPECT_THROW((x > c(0)) + x, Error);               // a comparison has no value
  EXPECT_THROW(x * (g < c(1)), Error);
  EXPECT_THROW(sigmoid(x > c(0)), Error);
  EXPECT_THROW(select(x > c(0), x > c(1), x), Error); // a comparison as a branch
  EXPECT_THROW((x > c(0)) > c(1), Error);
  EXPECT_THROW(pow(x > c(0), 2), Error);
  EXPECT_THROW(make(Kind::Exp, x, g), Error); // arity
  EXPECT_THROW(make(Kind::Add, x), Error);
  EXPECT_THROW(make(Kind::Pow, x), Error); // pow has its own factory (the exponent)
  EXPECT_THROW(make(Kind::Select, x, g), Error);
  EXPECT_THROW(input(-1), Error);
  EXPECT_THROW(input(kMaxInputs), Error);
  EXPECT_THROW(param(""), Error);
  try {
    (void)((x > c(0)) + x);
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("comparison"), std::string::npos) << e.what();
  }
}

// ---- Folding ------------------------------------------------------------------------------------

TEST(IrFold, Add) {
  EXPECT_EQ(fold::add(c(0), x), x);
  EXPECT_EQ(fold::add(x, c(0)), x);
  EXPECT_EQ(fold::add(c(2), c(3)), c(5));
  EXPECT_EQ(fold::add(x, -g), x - g);
  EXPECT_EQ(fold::add(x, g), x + g);
  EXPECT_EQ(fold::add(x * g, x * g), c(2) * (x * g));
}

TEST(IrFold, Sub) {
  EXPECT_EQ(fold::sub(x, c(0)), x);
  EXPECT_EQ(fold::sub(c(0), x), -x);
  EXPECT_EQ(fold::sub(c(2), c(3)), c(-1));
  EXPECT_EQ(fold::sub(x, -g), x + g);
}

TEST(IrFold, Mul) {
  EXPECT_EQ(fold::mul(x, c(1)), x);
  EXPECT_EQ(fold::mul(c(1), x), x);
  EXPECT_EQ(fold::mul(c(-1), x), -x);
  EXPECT_EQ(fold::mul(x, c(-1)), -x);
  EXPECT_EQ(fold::mul(c(0), x), c(0));
  EXPECT_EQ(fold::mul(x, c(0)), c(0));
  EXPECT_EQ(fold::mul(c(2), c(3)), c(6));
  EXPECT_EQ(fold::mul(x, c(2)), c(2) * x); // constants first: one spelling for c·u
  EXPECT_EQ(fold::mul(-x, -g), x * g);
}

TEST(IrFold, DivNegAndConstants) {
  EXPECT_EQ(fold::div(c(0), x), c(0));
  EXPECT_EQ(fold::div(x, c(1)), x);
  EXPECT_EQ(fold::div(c(1), c(4)), c(0.25L));
  EXPECT_EQ(fold::neg(fold::neg(x)), x);
  EXPECT_EQ(fold::neg(-x), x);
  EXPECT_EQ(fold::neg(c(2)), c(-2));
  EXPECT_EQ(fold::unary(Kind::Exp, c(0)), c(1));
  EXPECT_EQ(fold::unary(Kind::Sigmoid, c(0)), c(0.5L));
  EXPECT_EQ(fold::unary(Kind::Neg, -x), x);
  EXPECT_EQ(fold::unary(Kind::Tanh, x), tanh(x));
  EXPECT_EQ(fold::min(c(1), c(2)), c(1));
  EXPECT_EQ(fold::max(c(1), c(2)), c(2));
  EXPECT_EQ(fold::max(c(kNaN), c(0)), c(kNaN)); // folding keeps NaN propagation
  EXPECT_EQ(fold::max(x, c(0)), max(x, c(0)));
}

TEST(IrFold, Select) {
  EXPECT_EQ(fold::select(x > c(0), g, g), g);
  EXPECT_EQ(fold::select(c(1) > c(0), x, g), x);
  EXPECT_EQ(fold::select(c(1) < c(0), x, g), g);
  EXPECT_EQ(fold::select(c(kNaN) > c(0), x, g), g); // a comparison with NaN is false...
  EXPECT_EQ(fold::select(make(Kind::Ne, c(kNaN), c(0)), x, g), x); // ...except !=
  EXPECT_EQ(fold::select(x > c(0), x, g), select(x > c(0), x, g));
}

TEST(IrFold, Pow) {
  EXPECT_EQ(fold::pow(x, 0), c(1));
  EXPECT_EQ(fold::pow(x, 1), x);
  EXPECT_EQ(fold::pow(c(2), 3), c(8));
  EXPECT_EQ(fold::pow(c(2), -1), c(0.5L));
  EXPECT_EQ(fold::pow(x, 2), pow(x, 2));
}

TEST(IrFold, TieIsTheMinimumNormChoice) {
  EXPECT_EQ(fold::tie(c(1), c(-1)), c(0));
  EXPECT_EQ(fold::tie(c(-1), c(1)), c(0));
  EXPECT_EQ(fold::tie(c(1), c(2)), c(1));
  EXPECT_EQ(fold::tie(c(2), c(1)), c(1));
  EXPECT_EQ(fold::tie(c(-3), c(-2)), c(-2));
  EXPECT_EQ(fold::tie(c(0), c(1)), c(0));
}

TEST(IrSimplify, WholeExpression) {
  EXPECT_EQ(simplify(x * c(1) + c(0) * g), x);
  EXPECT_EQ(simplify((c(2) * c(3)) * x), c(6) * x);
  EXPECT_EQ(simplify(-(-x) - c(0)), x);
  EXPECT_EQ(simplify(select(c(3) >= c(3), x * c(1), g)), x);
  EXPECT_EQ(simplify(pow(x, 1) / c(1)), x);
  EXPECT_EQ(simplify(sigmoid(x)), sigmoid(x)); // nothing to fold: the same node back
}

// ---- Differentiation ----------------------------------------------------------------------------

TEST(IrDifferentiate, ProductAndExp) {
  EXPECT_EQ(d_at(x * x, 3), 6);
  EXPECT_EQ(differentiate(x * x, x), c(2) * x); // 1·x + x·1 = x + x = 2·x
  EXPECT_EQ(differentiate(exp(x), x), exp(x));
  EXPECT_EQ(differentiate(x * g, g), x);
  EXPECT_EQ(differentiate(x + g, g), c(1));
  EXPECT_EQ(differentiate(c(5), x), c(0));
  EXPECT_EQ(differentiate(g, x), c(0));
}

TEST(IrDifferentiate, ElementaryFunctionsByHand) {
  EXPECT_EQ(d_at(x / g, 3, 2), 0.5L);
  EXPECT_EQ(at(differentiate(x / g, g), 3, 2), -0.75L); // -x/g²
  EXPECT_EQ(d_at(-x, 2), -1);
  EXPECT_EQ(d_at(sqrt(x), 4), 0.25L);
  EXPECT_EQ(d_at(rsqrt(x), 4), -1.0L / 16);
  EXPECT_EQ(d_at(log(x), 2), 0.5L);
  EXPECT_EQ(d_at(log1p(x), 1), 0.5L);
  EXPECT_EQ(d_at(expm1(x), 0), 1);
  EXPECT_EQ(d_at(sigmoid(x), 0), 0.25L);
  EXPECT_EQ(d_at(tanh(x), 0), 1);
  EXPECT_NEAR(d_at(tanh(x), 0.5L), 1 - std::pow(std::tanh(0.5L), 2), 1e-18L);
  EXPECT_NEAR(d_at(erf(x), 0), 2 / std::sqrt(kPi), 1e-18L);
  EXPECT_NEAR(d_at(erfc(x), 1), -2 / std::sqrt(kPi) * std::exp(-1.0L), 1e-18L);
  EXPECT_EQ(d_at(softplus(x), 0), 0.5L);
  EXPECT_EQ(d_at(pow(x, -1), 2), -0.25L);
  EXPECT_EQ(d_at(pow(x, 3), -2), 12);
  EXPECT_NEAR(d_at(exp(c(2) * x), 0.25L), 2 * std::exp(0.5L), 1e-18L);
}

TEST(IrDifferentiate, SelectTakesTheBranchOfTheForwardPass) {
  const Expr f = select(x > c(0), x * x, -x);
  EXPECT_EQ(d_at(f, 2), 4);
  EXPECT_EQ(d_at(f, -1), -1);
  EXPECT_EQ(d_at(f, 0), -1); // 0 > 0 is false
}

TEST(IrDifferentiate, KinksTakeTheMinimumNormSubgradient) {
  EXPECT_EQ(d_at(max(x, c(0)), 0), 0);
  EXPECT_EQ(d_at(max(c(0), x), 0), 0); // the order of the operands does not matter
  EXPECT_EQ(d_at(max(x, c(0)), 1), 1);
  EXPECT_EQ(d_at(max(c(0), x), -1), 0);
  EXPECT_EQ(d_at(min(x, c(0)), 0), 0);
  EXPECT_EQ(d_at(min(c(0), x), -2), 1);
  EXPECT_EQ(d_at(abs(x), 0), 0);
  EXPECT_EQ(d_at(abs(x), -2), -1);
  EXPECT_EQ(d_at(abs(x), 2), 1);
  // min(x, 2x) at 0: the one-sided slopes are 1 and 2, same sign: the smaller one.
  EXPECT_EQ(d_at(min(x, c(2) * x), 0), 1);
  EXPECT_EQ(d_at(min(x, c(2) * x), 1), 1);
  EXPECT_EQ(d_at(min(x, c(2) * x), -1), 2);
  EXPECT_EQ(d_at(max(-x, c(-3) * x), 0), -1);
}

TEST(IrDifferentiate, ByParameter) {
  const Expr f = param("beta", 1) * x * x;
  EXPECT_EQ(differentiate(f, param("beta")), x * x);
  EXPECT_EQ(differentiate(f, param("beta", 7)), x * x); // matched by name, not by default
  EXPECT_EQ(at(differentiate(f, param("beta")), 3), 9);
  const Expr swish = x * sigmoid(param("beta", 1) * x);
  // d/dβ x·s(βx) = x²·s(βx)·s(-βx)
  const long double s = 1 / (1 + std::exp(-1.5L));
  EXPECT_NEAR(at(differentiate(swish, param("beta")), 1.5L), 2.25L * s * (1 - s), 1e-18L);
}

TEST(IrDifferentiate, RejectsWhatIsNotAVariable) {
  EXPECT_THROW(differentiate(x * x, param("beta")), Error);
  EXPECT_THROW(differentiate(x * x, c(2)), Error);
  EXPECT_THROW(differentiate(x * x, x + g), Error);
  EXPECT_THROW(differentiate(x * x, Expr()), Error);
  EXPECT_THROW(differentiate(x > c(0), x), Error);
  EXPECT_THROW(differentiate(x * x, x, -1), Error);
  try {
    differentiate(x * param("alpha", 1), param("beta"));
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("'beta'"), std::string::npos) << e.what();
  }
}

TEST(IrDifferentiate, HigherOrders) {
  const Expr f = pow(x, 4);
  EXPECT_EQ(differentiate(f, x, 0), f);
  const Expr d3 = differentiate(f, x, 3);
  for (long double v : {-2.0L, -0.5L, 0.0L, 1.0L, 1.5L, 3.0L})
    EXPECT_EQ(at(d3, v), 24 * v) << "x=" << v;
  EXPECT_EQ(differentiate(f, x, 4), c(24));
  EXPECT_EQ(differentiate(f, x, 5), c(0));
  EXPECT_EQ(differentiate(differentiate(f, x), x), differentiate(f, x, 2));
}

// ---- Program ------------------------------------------------------------------------------------

TEST(IrProgram, ParamsAreSortedByName) {
  const Program p(param("zeta", 1) * x + param("alpha", 2) + param("mu", 3) * param("zeta", 1));
  ASSERT_EQ(p.params().size(), 3u);
  EXPECT_EQ(p.params()[0].name, "alpha");
  EXPECT_EQ(p.params()[1].name, "mu");
  EXPECT_EQ(p.params()[2].name, "zeta");
  EXPECT_EQ(p.default_params(), (std::vector<long double>{2, 3, 1}));
  const std::vector<long double> in{2}, values{10, 0, 3}; // alpha, mu, zeta
  EXPECT_EQ(p.eval<long double>(in, values), 16);
}

TEST(IrProgram, DefaultParamsThrowsForARequiredParameter) {
  const Program p(select(x > param("t"), x, param("v", 0)));
  EXPECT_FALSE(p.params()[0].default_value);
  EXPECT_THROW(p.default_params(), Error);
  EXPECT_THROW(p(1), Error);
  try {
    p.default_params();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("'t'"), std::string::npos) << e.what();
  }
}

TEST(IrProgram, EvalChecksItsArguments) {
  const Program p(x * g + param("a", 1));
  EXPECT_EQ(p.num_inputs(), 2);
  const std::vector<long double> one{1}, two{1, 2}, none{};
  EXPECT_THROW(p.eval<long double>(one, p.default_params()), Error);
  EXPECT_THROW(p.eval<long double>(two, none), Error);
  EXPECT_EQ(p.eval<long double>(two, p.default_params()), 3);
}

TEST(IrProgram, EvaluatesInEachFloatingType) {
  // The constant is rounded to the evaluation type and the arithmetic happens in that type.
  const Program p(x * c(0.1L) + g);
  const std::vector<float> inf32{3, 2};
  const std::vector<double> inf64{3, 2};
  const std::vector<long double> inf80{3, 2};
  EXPECT_EQ(p.eval<float>(inf32, {}), static_cast<float>(0.1L) * 3.0f + 2.0f);
  EXPECT_EQ(p.eval<double>(inf64, {}), static_cast<double>(0.1L) * 3.0 + 2.0);
  EXPECT_EQ(p.eval<long double>(inf80, {}), 0.1L * 3.0L + 2.0L);
  EXPECT_NE(static_cast<long double>(p.eval<float>(inf32, {})), p.eval<long double>(inf80, {}));
  EXPECT_EQ(Program(sigmoid(x))(0), 0.5L);
}

TEST(IrProgram, NanPropagatesThroughMinAndMax) {
  for (const Expr &f : {max(x, c(0)), max(c(0), x), min(x, c(0)), min(c(0), x)}) {
    EXPECT_TRUE(std::isnan(at(f, kNaN))) << print(f);
    const std::vector<float> in{std::numeric_limits<float>::quiet_NaN()};
    EXPECT_TRUE(std::isnan(Program(f).eval<float>(in, {}))) << print(f) << " in float";
  }
  EXPECT_TRUE(std::isnan(at(abs(x), kNaN)));
  EXPECT_TRUE(std::isnan(at(softplus(x), kNaN)));
  EXPECT_TRUE(std::isnan(at(sigmoid(x), kNaN)));
}

TEST(IrProgram, ComparisonsWithNanAreFalseExceptNotEqual) {
  EXPECT_EQ(at(select(x > c(0), c(1), c(2)), kNaN), 2);
  EXPECT_EQ(at(select(x <= c(0), c(1), c(2)), kNaN), 2);
  EXPECT_EQ(at(select(make(Kind::Eq, x, x), c(1), c(2)), kNaN), 2);
  EXPECT_EQ(at(select(make(Kind::Ne, x, x), c(1), c(2)), kNaN), 1);
}

TEST(IrProgram, TraceChangesAcrossAKink) {
  const Program p(max(x, c(0)) + select(x > c(2), x, c(0)));
  auto trace = [&](long double v) {
    std::vector<std::int8_t> t;
    const std::vector<long double> in{v};
    p.eval<long double>(in, {}, &t);
    return t;
  };
  EXPECT_EQ(trace(0.5L), trace(1.5L));
  EXPECT_NE(trace(-0.5L), trace(0.5L)); // the max decides differently
  EXPECT_NE(trace(0), trace(0.5L));     // a tie is a decision of its own
  EXPECT_NE(trace(1.5L), trace(2.5L));  // the select decides differently
  EXPECT_EQ(trace(2.5L).size(), 2u);    // one entry per branching node
}

TEST(IrProgram, CollectParams) {
  EXPECT_THROW(collect_params(param("a", 1) + param("a", 2) * x), Error);
  EXPECT_THROW(collect_params(param("a") + param("a", 1)), Error);
  EXPECT_THROW(Program(param("a", 1) * param("a", 2)), Error);
  const auto same = collect_params(param("a", 1) * x + param("a", 1));
  ASSERT_EQ(same.size(), 1u);
  EXPECT_EQ(same[0].name, "a");
  EXPECT_EQ(same[0].default_value, 1.0L);
  EXPECT_TRUE(collect_params(x * x).empty());
}

TEST(IrProgram, CountInputs) {
  EXPECT_EQ(count_inputs(x * g), 2);
  EXPECT_EQ(count_inputs(x), 1);
  EXPECT_EQ(count_inputs(g), 2); // 1 + the highest index read
  EXPECT_EQ(count_inputs(input(3) + x), 4);
  EXPECT_EQ(count_inputs(c(1) + param("a", 1)), 0);
}

} // namespace
} // namespace actforge::ir
