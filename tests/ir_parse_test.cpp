// Tests of the runtime IR's text form: parse(), print() and their round trip.
#include "actforge/ir/parse.hpp"
#include "actforge/ir/print.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace actforge::ir {
namespace {

constexpr long double kInf = std::numeric_limits<long double>::infinity();
constexpr long double kNaN = std::numeric_limits<long double>::quiet_NaN();

Expr c(long double v) { return constant(v); }
const Expr x = input(0);
const Expr g = input(1);

// Parses `text` expecting failure; returns the error so each test checks position and message.
ParseError parse_error(std::string_view text, const ParseOptions &options = {}) {
  try {
    const Expr e = parse(text, options);
    ADD_FAILURE() << "parsed without error: " << text.substr(0, 80) << " -> " << print(e);
  } catch (const ParseError &err) {
    return err;
  }
  return ParseError(0, 0, "");
}

void expect_error(std::string_view text, int line, int column, const std::string &message,
                  const ParseOptions &options = {}) {
  const ParseError err = parse_error(text, options);
  EXPECT_EQ(err.line(), line) << text.substr(0, 80) << ": " << err.what();
  EXPECT_EQ(err.column(), column) << text.substr(0, 80) << ": " << err.what();
  EXPECT_NE(err.message().find(message), std::string::npos)
      << text.substr(0, 80) << ": got '" << err.message() << "', wanted '" << message << "'";
}

// ---- Precedence and associativity ---------------------------------------------------------------

TEST(IrParse, PrecedenceAndAssociativity) {
  EXPECT_EQ(parse("x + g * 2"), x + g * c(2));
  EXPECT_EQ(parse("x * g + 2"), x * g + c(2));
  EXPECT_EQ(parse("(x + g) * 2"), (x + g) * c(2));
  EXPECT_EQ(parse("x - g - 2"), (x - g) - c(2));
  EXPECT_EQ(parse("x - (g - 2)"), x - (g - c(2)));
  EXPECT_EQ(parse("x / g / 2"), (x / g) / c(2));
  EXPECT_EQ(parse("x / g * 2"), (x / g) * c(2));
  EXPECT_EQ(parse("x + g - x + g"), ((x + g) - x) + g);
  EXPECT_EQ(parse("x * g + g * x"), x * g + g * x);
  EXPECT_EQ(parse("-x * g"), (-x) * g);
  EXPECT_EQ(parse("-(x * g)"), -(x * g));
  EXPECT_EQ(parse("2 * -x"), c(2) * -x);
  EXPECT_EQ(parse("x - -2"), x - c(-2));
  EXPECT_EQ(parse("x--2"), x - c(-2));
  EXPECT_EQ(parse("((((x))))"), x);
}

TEST(IrParse, UnaryMinusFoldsOnlyIntoAnAdjacentNumber) {
  EXPECT_EQ(parse("-2"), c(-2));
  EXPECT_EQ(parse("- 2"), c(-2));
  EXPECT_EQ(parse("-(2)"), -c(2));
  EXPECT_EQ(parse("--x"), -(-x));
  EXPECT_EQ(parse("--2"), -c(-2));
  EXPECT_EQ(parse("+x"), x);
  EXPECT_EQ(parse("+-2"), c(-2));
  EXPECT_EQ(parse("-+2"), -c(2));
  EXPECT_EQ(parse("-inf"), c(-kInf));
  EXPECT_EQ(parse("-nan"), c(kNaN));
  EXPECT_EQ(parse("-pi"), -c(3.14159265358979323846264338327950288L));
  EXPECT_EQ(parse("-0"), c(-0.0L));
  EXPECT_NE(parse("-0"), c(0.0L));
  EXPECT_EQ(parse("(-2)"), c(-2));
  EXPECT_EQ(parse("-2 * x"), c(-2) * x);
}

TEST(IrParse, LeavesAndFunctions) {
  EXPECT_EQ(parse("x"), input(0));
  EXPECT_EQ(parse("g"), input(1));
  EXPECT_EQ(parse("in2 + in3"), input(2) + input(3));
  EXPECT_EQ(parse("inf"), c(kInf));
  EXPECT_EQ(parse("nan"), c(kNaN));
  EXPECT_EQ(parse("pi"), c(3.14159265358979323846264338327950288L));
  EXPECT_EQ(parse("beta"), param("beta"));
  EXPECT_EQ(parse("_a1"), param("_a1"));
  EXPECT_EQ(parse("exp(x) + expm1(x) + log(x) + log1p(x)"), exp(x) + expm1(x) + log(x) + log1p(x));
  EXPECT_EQ(parse("sqrt(x) * rsqrt(g) * abs(x)"), sqrt(x) * rsqrt(g) * abs(x));
  EXPECT_EQ(parse("sigmoid(tanh(erf(erfc(softplus(x)))))"), sigmoid(tanh(erf(erfc(softplus(x))))));
  EXPECT_EQ(parse("min(x, g) - max(x, 0)"), min(x, g) - max(x, c(0)));
  EXPECT_EQ(parse("pow(x, 3)"), pow(x, 3));
  EXPECT_EQ(parse("pow(x + 1, -2)"), pow(x + c(1), -2));
  EXPECT_EQ(parse("pow(x, 2.0)"), pow(x, 2));
  EXPECT_EQ(parse("pow(x, -2147483648)"), pow(x, -2147483647 - 1));
}

TEST(IrParse, TernaryAndSelect) {
  EXPECT_EQ(parse("x > 0 ? x : 0.5 * x"), select(x > c(0), x, c(0.5) * x));
  EXPECT_EQ(parse("select(x > 0, x, 0.5 * x)"), select(x > c(0), x, c(0.5) * x));
  EXPECT_EQ(parse("(x > 0) ? x : g"), select(x > c(0), x, g));
  EXPECT_EQ(parse("select((x > 0), x, g)"), select(x > c(0), x, g));
  // Right associative, as in C.
  EXPECT_EQ(parse("x > 1 ? 1 : x < -1 ? -1 : x"),
            select(x > c(1), c(1), select(x < c(-1), c(-1), x)));
  EXPECT_EQ(parse("x > 0 ? g > 0 ? 1 : 2 : 3"),
            select(x > c(0), select(g > c(0), c(1), c(2)), c(3)));
  EXPECT_EQ(parse("x + 1 >= g * 2 ? 1 : 0"), select(x + c(1) >= g * c(2), c(1), c(0)));
  EXPECT_EQ(parse("select(x < 0, 1, 0)"), select(x < c(0), c(1), c(0)));
  EXPECT_EQ(parse("select(x <= 0, 1, 0)"), select(x <= c(0), c(1), c(0)));
  EXPECT_EQ(parse("select(x == 0, 1, 0)"), select(make(Kind::Eq, x, c(0)), c(1), c(0)));
  EXPECT_EQ(parse("select(x != 0, 1, 0)"), select(make(Kind::Ne, x, c(0)), c(1), c(0)));
  EXPECT_EQ(parse("select(-x > -1, 1, 0)"), select(-x > c(-1), c(1), c(0)));
  EXPECT_EQ(parse("2 * (x > 0 ? x : g)"), c(2) * select(x > c(0), x, g));
}

// ---- Numbers ------------------------------------------------------------------------------------

TEST(IrParse, NumberSyntax) {
  struct Case {
    const char *text;
    long double value;
  };
  const Case cases[] = {
      {"1", 1.0L},
      {"1.", 1.0L},
      {".5", 0.5L},
      {"0.25", 0.25L},
      {"1e-3", 1e-3L},
      {"1E3", 1e3L},
      {"1.5E+2", 150.0L},
      {"2.5e-2", 2.5e-2L},
      {"1.e2", 100.0L},
      {"0.1", 0.1L},
      {"0x1.8p3", 12.0L},
      {"0x10", 16.0L},
      {"0X1P-2", 0.25L},
      {"0x.8p1", 1.0L},
      {"0xA.8", 10.5L},
      {"1f", 1.0L},
      {"2.5F", 2.5L},
      {"3l", 3.0L},
      {"4.25L", 4.25L},
      {"1e3f", 1000.0L},
      {"0x1p4L", 16.0L},
      {"0", 0.0L},
      {"0.0", 0.0L},
      {"00.5", 0.5L},
      {"3.14159265358979323846264338327950288", 3.14159265358979323846264338327950288L},
      {"1e-5000", 0.0L},
      {"123456789012345678901234567890", 123456789012345678901234567890.0L},
  };
  for (const Case &k : cases)
    EXPECT_EQ(parse(k.text), c(k.value)) << k.text << " -> " << print(parse(k.text));
  char hex[64];
  std::snprintf(hex, sizeof hex, "%La", std::numeric_limits<long double>::denorm_min());
  EXPECT_EQ(parse(hex), c(std::numeric_limits<long double>::denorm_min())) << hex;
}

TEST(IrParse, BadNumbers) {
  expect_error("1e", 1, 1, "invalid number '1e'");
  expect_error("x + 1e+", 1, 5, "invalid number '1e+'");
  expect_error("1.5.3", 1, 1, "invalid number '1.5.3'");
  expect_error("2x", 1, 1, "invalid number '2x'");
  expect_error("0x", 1, 1, "invalid number '0x'");
  expect_error("0xp3", 1, 1, "invalid number '0xp3'");
  expect_error("1ll", 1, 1, "invalid number '1ll'");
  expect_error("010", 1, 1, "octal");
  expect_error("x * 1e99999", 1, 5, "number '1e99999' is too large");
  expect_error("0x1p99999", 1, 1, "too large");
}

// ---- Whitespace, comments, positions ------------------------------------------------------------

TEST(IrParse, WhitespaceAndComments) {
  EXPECT_EQ(parse("x # the input\n + g # the gradient\n"), x + g);
  EXPECT_EQ(parse("\tx\n*\r\n  g"), x * g);
  EXPECT_EQ(parse("# only a comment\nx"), x);
  EXPECT_EQ(parse("x#"), x);
}

TEST(IrParse, PositionsOnLaterLines) {
  expect_error("x +\n    sigmod(x)", 2, 5, "unknown function 'sigmod' (did you mean 'sigmoid'?)");
  expect_error("x\n  +\n   ", 3, 4, "expected an expression, found end of input");
  expect_error("x * 2 # fine\n\t+ $", 2, 4, "unexpected character '$'");
  expect_error("max(x,\n    g", 2, 6,
               "expected ',' or ')' to close 'max(' at 1:4, found end of input");
  expect_error("(x\n+ 1\n,", 3, 1, "expected ')' to close '(' at 1:1, found ','");
}

// ---- Parameters and defaults --------------------------------------------------------------------

TEST(IrParse, ParameterDefaults) {
  const Expr beta = param("beta", 1.0L);
  EXPECT_EQ(parse("x * sigmoid(beta * x), beta=1.0"), x * sigmoid(beta * x));
  EXPECT_EQ(parse("x * sigmoid(beta * x)"), x * sigmoid(param("beta") * x));
  EXPECT_EQ(parse("a * x + b, a = -0.5, b = +2"), param("a", -0.5L) * x + param("b", 2.0L));
  EXPECT_EQ(parse("a + a, a=3"), param("a", 3.0L) + param("a", 3.0L));
  EXPECT_EQ(parse("a, a=-inf"), param("a", -kInf));
  EXPECT_EQ(parse("a, a=nan"), param("a", kNaN));
  EXPECT_EQ(parse("a, a=-0"), param("a", -0.0L));
  EXPECT_EQ(parse("a, a=pi"), param("a", 3.14159265358979323846264338327950288L));
  EXPECT_EQ(parse("a, a=0x1p-3"), param("a", 0.125L));
}

TEST(IrParse, ParameterDefaultErrors) {
  expect_error("x, beta=1", 1, 4, "parameter 'beta' is not used");
  expect_error("a, a=1, a=2", 1, 9, "parameter 'a' already has a default (at 1:4)");
  expect_error("a, x=1", 1, 4, "'x' is an input, not a parameter");
  expect_error("a, in2=1", 1, 4, "'in2' is an input, not a parameter");
  expect_error("a, in7=1", 1, 4, "'in7' is reserved for inputs");
  expect_error("a, pi=1", 1, 4, "'pi' is a constant, not a parameter");
  expect_error("a, exp=1", 1, 4, "'exp' is a function, not a parameter");
  expect_error("a, a=b", 1, 6, "expected a number as the default of 'a', found 'b'");
  expect_error("a, a=1+1", 1, 7,
               "expected ',' or end of input after the default of 'a', found '+'");
  expect_error("a, a", 1, 5, "expected '=' after parameter name 'a', found end of input");
  expect_error("a, 1", 1, 4, "expected a parameter default such as ', beta=1', found '1'");
  expect_error("a, a=--1", 1, 7, "expected a number as the default of 'a', found '-'");
}

// ---- Macros -------------------------------------------------------------------------------------

const Macro *test_macros(std::string_view name) {
  static const Macro twice{1, input(0) + input(0)};
  static const Macro elu{
      1, select(input(0) > constant(0), input(0), param("alpha", 1.0L) * expm1(input(0)))};
  static const Macro leaky{
      1, select(input(0) > constant(0), input(0), param("alpha", 0.01L) * input(0))};
  static const Macro swap{2, input(1) - input(0)};
  static const Macro positive{1, input(0) > constant(0)};
  static const Macro zero{0, constant(0)};
  static const Macro broken{9, constant(0)};
  if (name == "twice") return &twice;
  if (name == "elu") return &elu;
  if (name == "leaky") return &leaky;
  if (name == "swap") return &swap;
  if (name == "positive") return &positive;
  if (name == "zero") return &zero;
  if (name == "broken") return &broken;
  return nullptr;
}

ParseOptions with_macros() {
  ParseOptions o;
  o.macros = test_macros;
  return o;
}

TEST(IrParse, MacroExpansion) {
  const ParseOptions o = with_macros();
  const Expr alpha = param("alpha", 1.0L);
  EXPECT_EQ(parse("twice(g)", o), g + g);
  EXPECT_EQ(parse("twice(x * 2) + 1", o), (x * c(2) + x * c(2)) + c(1));
  EXPECT_EQ(parse("twice(twice(x))", o), (x + x) + (x + x));
  EXPECT_EQ(parse("swap(x, g)", o), g - x);
  EXPECT_EQ(parse("swap(g, x)", o), x - g); // substitution is simultaneous
  EXPECT_EQ(parse("elu(x)", o), select(x > c(0), x, alpha * expm1(x)));
  EXPECT_EQ(parse("elu(x), alpha=2", o), select(x > c(0), x, param("alpha", 2.0L) * expm1(x)));
  // A bare occurrence takes the default the macro brought.
  EXPECT_EQ(parse("elu(x) + alpha", o), select(x > c(0), x, alpha * expm1(x)) + alpha);
  EXPECT_EQ(parse("elu(g) * elu(x)", o),
            select(g > c(0), g, alpha * expm1(g)) * select(x > c(0), x, alpha * expm1(x)));
  EXPECT_EQ(parse("elu(x) + leaky(x), alpha=0.5", o),
            select(x > c(0), x, param("alpha", 0.5L) * expm1(x)) +
                select(x > c(0), x, param("alpha", 0.5L) * x));
  EXPECT_EQ(parse("select(positive(x), x, g)", o), select(x > c(0), x, g));
  EXPECT_EQ(parse("positive(x) ? 1 : 0", o), select(x > c(0), c(1), c(0)));
  EXPECT_EQ(parse("zero() + x", o), c(0) + x);
  // Builtins win over macros, and a macro name without a call is a parameter.
  EXPECT_EQ(parse("elu", o), param("elu"));
}

TEST(IrParse, MacroErrors) {
  const ParseOptions o = with_macros();
  expect_error("elu(x) + leaky(x)", 1, 10,
               "parameter 'alpha' gets the default 0.01 here but 1 at 1:1", o);
  expect_error("twice(x, g)", 1, 1, "'twice' takes 1 argument, got 2", o);
  expect_error("swap(x)", 1, 1, "'swap' takes 2 arguments, got 1", o);
  expect_error("zero(x)", 1, 1, "'zero' takes 0 arguments, got 1", o);
  expect_error("1 + positive(x)", 1, 5, "a comparison can only be the condition", o);
  expect_error("twice(x > 0)", 1, 9, "a comparison can only be the condition", o);
  expect_error("ellu(x)", 1, 1, "unknown function 'ellu'", o);
  expect_error("broken()", 1, 1, "macro 'broken' is malformed", o);
  expect_error("twice(x)", 1, 1, "unknown function 'twice'");
  expect_error("twice(x), beta=2", 1, 11, "parameter 'beta' is not used", o);
}

// ---- Errors -------------------------------------------------------------------------------------

TEST(IrParse, SyntaxErrors) {
  expect_error("x*sigmoid(beta*", 1, 16, "expected an expression, found end of input");
  expect_error("", 1, 1, "expected an expression, found end of input");
  expect_error("   ", 1, 4, "expected an expression, found end of input");
  expect_error("x + * g", 1, 5, "expected an expression, found '*'");
  expect_error("(x + 1", 1, 7, "expected ')' to close '(' at 1:1, found end of input");
  expect_error("x * (g, 1)", 1, 7, "expected ')' to close '(' at 1:5, found ','");
  expect_error("max(x, 1 g)", 1, 10, "expected ',' or ')' to close 'max(' at 1:4, found 'g'");
  expect_error("max(x,)", 1, 7, "expected an expression, found ')'");
  expect_error("x y", 1, 3, "expected an operator or end of input, found 'y'");
  expect_error("x + 1)", 1, 6, "found ')' with no matching '('");
  expect_error("x $ 1", 1, 3, "unexpected character '$'");
  expect_error("x ^ 2", 1, 3, "pow(x, 3)");
  expect_error("x ! g", 1, 3, "unexpected character '!'");
  expect_error("x \x01", 1, 3, "unexpected character byte 0x01");
  expect_error("x = 1", 1, 3, "expected an operator or end of input, found '='");
  expect_error("x > 0 ? 1", 1, 10, "expected ':' to go with '?' at 1:7, found end of input");
  expect_error("x > 0 ? 1 , 2", 1, 11, "expected ':' to go with '?' at 1:7, found ','");
}

TEST(IrParse, NameErrors) {
  expect_error("sigmod(x)", 1, 1, "unknown function 'sigmod' (did you mean 'sigmoid'?)");
  expect_error("2 * tahn(x)", 1, 5, "unknown function 'tahn' (did you mean 'tanh'?)");
  expect_error("softpuls(x)", 1, 1, "(did you mean 'softplus'?)");
  expect_error("sigmiod(x)", 1, 1, "(did you mean 'sigmoid'?)");
  const ParseError sin = parse_error("sin(x)");
  EXPECT_EQ(sin.message(), "unknown function 'sin'");
  expect_error("x(2)", 1, 1, "'x' is an input, not a function");
  expect_error("pi(2)", 1, 1, "'pi' is a constant, not a function");
  expect_error("exp + 1", 1, 1, "'exp' is a function; call it as exp(...)");
  expect_error("in4", 1, 1, "'in4' is not an input; the inputs are x, g, in2 and in3");
}

TEST(IrParse, ArityErrors) {
  expect_error("max(x)", 1, 1, "'max' takes 2 arguments, got 1");
  expect_error("1 + min(x, g, 2)", 1, 5, "'min' takes 2 arguments, got 3");
  expect_error("exp(x, g)", 1, 1, "'exp' takes 1 argument, got 2");
  expect_error("exp()", 1, 1, "'exp' takes 1 argument, got 0");
  expect_error("select(x > 0, x)", 1, 1, "'select' takes 3 arguments, got 2");
  expect_error("pow(x)", 1, 1, "'pow' takes 2 arguments, got 1");
}

TEST(IrParse, PowErrors) {
  expect_error("pow(x, g)", 1, 8, "pow() needs an integer literal exponent");
  expect_error("pow(x, 2.5)", 1, 8, "pow() needs an integer literal exponent");
  expect_error("pow(x, 1 + 1)", 1, 8, "pow() needs an integer literal exponent");
  expect_error("pow(x, -(2))", 1, 8, "pow() needs an integer literal exponent");
  expect_error("pow(x, nan)", 1, 8, "pow() needs an integer literal exponent");
  expect_error("pow(x, 1e10)", 1, 8, "the exponent of pow() must lie between");
  expect_error("pow(x, inf)", 1, 8, "pow() needs an integer literal exponent");
}

TEST(IrParse, ComparisonMisuse) {
  expect_error("x > 0", 1, 3, "a comparison can only be the condition of select() or '?:'");
  expect_error("exp(x > 0)", 1, 7, "a comparison can only be the condition of select() or '?:'");
  expect_error("(x > 0) + 1", 1, 4, "a comparison can only be the condition");
  expect_error("1 + (x > 0)", 1, 8, "a comparison can only be the condition");
  expect_error("-(x > 0)", 1, 5, "a comparison can only be the condition");
  expect_error("(x > 0) > 1", 1, 4, "a comparison can only be the condition");
  expect_error("x < g < 2", 1, 7, "comparisons do not chain");
  expect_error("select(x > 0, g < 1, 2)", 1, 17, "a comparison can only be the condition");
  expect_error("x > 0 ? g > 0 : 1", 1, 11, "a comparison can only be the condition");
  expect_error("select(x, x, g)", 1, 8,
               "the condition of select() must be a comparison such as x > 0");
  expect_error("select(x + 1, x, g)", 1, 8, "the condition of select() must be a comparison");
  expect_error("x ? 1 : 2", 1, 1, "the condition of '?:' must be a comparison such as x > 0");
  expect_error("(x + 1) ? 1 : 2", 1, 1, "the condition of '?:' must be a comparison");
}

// ---- Limits -------------------------------------------------------------------------------------

TEST(IrParse, NestingLimit) {
  const std::string deep = std::string(100000, '(') + "x" + std::string(100000, ')');
  expect_error(deep, 1, 513, "expression is nested too deeply (limit 512)");
  const std::string ok = std::string(512, '(') + "x" + std::string(512, ')');
  EXPECT_EQ(parse(ok), x);

  std::string calls;
  for (int i = 0; i < 100000; ++i)
    calls += "exp(";
  // The 513th call's '(' is the first too many.
  expect_error(calls, 1, 4 * 513, "expression is nested too deeply (limit 512)");

  std::string ternaries;
  for (int i = 0; i < 50000; ++i)
    ternaries += "x > 0 ? 1 : ";
  expect_error(ternaries + "0", 1, 12 * 512 + 7, "expression is nested too deeply");

  // Negations apply innermost first; the 513th from the end makes the tree too deep.
  expect_error(std::string(100000, '-') + "x", 1, 100000 - 512 + 1,
               "expression is nested too deeply");
  EXPECT_EQ(parse(std::string(100000, '+') + "x"), x);

  ParseOptions shallow;
  shallow.max_depth = 3;
  EXPECT_EQ(parse("(((x)))", shallow), x);
  expect_error("((((x))))", 1, 4, "expression is nested too deeply (limit 3)", shallow);
  EXPECT_EQ(parse("exp(x + 1)", shallow), exp(x + c(1)));
  expect_error("exp(x + 1) * 2", 1, 12, "expression is nested too deeply (limit 3)", shallow);
}

TEST(IrParse, TreeDepthLimit) {
  std::string chain = "x";
  for (int i = 1; i < 5000; ++i)
    chain += "+x";
  // The 512th '+' makes the tree 513 levels deep; it sits at column 2 * 512.
  expect_error(chain, 1, 1024, "expression is nested too deeply (limit 512)");

  std::string fine = "x";
  for (int i = 1; i < 512; ++i)
    fine += "+x";
  EXPECT_EQ(parse(fine).depth(), 512u);
}

TEST(IrParse, SizeLimit) {
  const std::string huge(10 * 1024 * 1024, 'x');
  expect_error(huge, 1, 1, "input is 10485760 bytes; the limit is 1048576");
  ParseOptions small;
  small.max_bytes = 4;
  EXPECT_EQ(parse("x+g", small), x + g);
  expect_error("x + g", 1, 1, "input is 5 bytes; the limit is 4", small);
}

// ---- Printing -----------------------------------------------------------------------------------

TEST(IrPrint, Spelling) {
  EXPECT_EQ(print(x + g * c(2)), "x + g * 2");
  EXPECT_EQ(print((x + g) * c(2)), "(x + g) * 2");
  EXPECT_EQ(print(x - (g - c(1))), "x - (g - 1)");
  EXPECT_EQ(print((x - g) - c(1)), "x - g - 1");
  EXPECT_EQ(print(x / (g * c(2))), "x / (g * 2)");
  EXPECT_EQ(print(x * c(-2)), "x * (-2)");
  EXPECT_EQ(print(c(-2) * x), "(-2) * x");
  EXPECT_EQ(print(c(-2) + x), "-2 + x");
  EXPECT_EQ(print(x - (-g)), "x - (-g)");
  EXPECT_EQ(print(-x + g), "-x + g");
  EXPECT_EQ(print((-x) * g), "(-x) * g");
  EXPECT_EQ(print(-(x * g)), "-(x * g)");
  EXPECT_EQ(print(-c(2)), "-(2)");
  EXPECT_EQ(print(-c(-2)), "-(-2)");
  EXPECT_EQ(print(-(-x)), "-(-x)");
  EXPECT_EQ(print(-exp(x)), "-exp(x)");
  EXPECT_EQ(print(pow(x, -3)), "pow(x, -3)");
  EXPECT_EQ(print(select(x > c(0), x, c(0))), "select(x > 0, x, 0)");
  EXPECT_EQ(print(select(x + c(1) <= c(-1), -x, min(x, g))), "select(x + 1 <= -1, -x, min(x, g))");
  EXPECT_EQ(print(input(2) * input(3)), "in2 * in3");
  EXPECT_EQ(print(x * sigmoid(param("beta", 1.0L) * x)), "x * sigmoid(beta * x), beta=1");
  EXPECT_EQ(print_body(x * sigmoid(param("beta", 1.0L) * x)), "x * sigmoid(beta * x)");
  EXPECT_EQ(print(param("b", 2.0L) * x + param("a", -0.5L)), "b * x + a, a=-0.5, b=2");
  EXPECT_THROW(print(Expr()), Error);
}

TEST(IrPrint, Constants) {
  EXPECT_EQ(print(c(0)), "0");
  EXPECT_EQ(print(c(-0.0L)), "-0");
  EXPECT_EQ(print(c(1)), "1");
  EXPECT_EQ(print(c(100)), "100");
  EXPECT_EQ(print(c(0.1L)), "0.1");
  EXPECT_EQ(print(c(-2.5L)), "-2.5");
  EXPECT_EQ(print(c(1e-7L)), "1e-7");
  EXPECT_EQ(print(c(0.0001L)), "0.0001");
  EXPECT_EQ(print(c(1e25L)), "1e25");
  EXPECT_EQ(print(c(123456.75L)), "123456.75");
  if constexpr (std::numeric_limits<long double>::digits == 64) { // x87 extended precision
    EXPECT_EQ(print(c(0.1)), "0.10000000000000000555");           // the double nearest 0.1
  }
  EXPECT_EQ(print(c(kInf)), "inf");
  EXPECT_EQ(print(c(-kInf)), "-inf");
  EXPECT_EQ(print(c(kNaN)), "nan");
  EXPECT_EQ(print(c(-kNaN)), "nan");
}

// ---- Round trip ---------------------------------------------------------------------------------

void expect_round_trip(Expr e) {
  const std::string text = print(e);
  Expr back;
  try {
    back = parse(text);
  } catch (const ParseError &err) {
    ADD_FAILURE() << "'" << text << "' does not parse: " << err.what();
    return;
  }
  EXPECT_EQ(back, e) << "'" << text << "' reads back as '" << print(back) << "'";
}

TEST(IrRoundTrip, HandBuilt) {
  const Expr beta = param("beta", 1.0L);
  const Expr alpha = param("alpha");
  const std::vector<Expr> cases = {
      x,
      c(2),
      c(-2),
      -c(2),
      -c(-2),
      -(-x),
      -(-c(0)),
      c(-0.0L),
      -c(-0.0L),
      c(kNaN),
      -c(kNaN),
      c(kInf),
      c(-kInf),
      -c(kInf),
      x * c(-kInf),
      pow(x, -3),
      pow(-x, 0),
      pow(c(-2), 2147483647),
      pow(x, -2147483647 - 1),
      x - (g - c(1)),
      x + (g + c(1)),
      x / (g / c(2)),
      x * (g * c(2)),
      (x * g) / (g * x),
      x - (-g),
      x - c(-1),
      c(-1) - x,
      c(-1) * c(-1),
      -x / -g,
      -(x + g),
      -(x - g) * -(g - x),
      select(x > c(0), x, c(0)),
      select(c(1) > c(2), c(3), c(4)),
      select(c(-1) >= c(-2), c(-3), -c(4)),
      select(-x < -g, -x, -g),
      select(make(Kind::Eq, x, c(0)), select(make(Kind::Ne, g, x), c(1), c(2)),
             select(x <= c(kNaN), c(3), c(4))),
      select(x > c(0), select(x > c(1), x, g), select(g > c(0), x - g, x + g)),
      x * sigmoid(beta * x),
      alpha * x + alpha,
      softplus(x) - log1p(exp(-abs(x))) + max(x, c(0)) - min(-x, c(0)),
      sqrt(rsqrt(erf(erfc(tanh(expm1(log(x))))))),
      c(0.1) + c(1.0L / 3) + c(3.14159265358979323846264338327950288L),
      c(std::numeric_limits<long double>::denorm_min()),
      c(-std::numeric_limits<long double>::max()),
      c(std::numeric_limits<long double>::min()),
      c(std::numeric_limits<long double>::epsilon()),
      c(1e21L) + c(1e20L) + c(123456789012345678901.0L),
      c(1e-5L) * c(1e-6L) * c(-1e-300L),
      param("p", -0.0L) + param("q", kNaN) + param("r", -kInf),
      input(2) + input(3) * g,
  };
  for (const Expr &e : cases)
    expect_round_trip(e);
}

// Random long doubles across the whole range, including subnormals.
TEST(IrRoundTrip, RandomConstants) {
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<int> exponent(-16445, 16383);
  std::uniform_real_distribution<double> unit(0.5, 1.0);
  for (int i = 0; i < 3000; ++i) {
    const long double mantissa =
        static_cast<long double>(unit(rng)) + static_cast<long double>(unit(rng)) * 0x1p-50L;
    long double v = std::ldexp(mantissa, exponent(rng));
    if (i % 2) v = -v;
    const Expr e = c(v);
    ASSERT_EQ(parse(print(e)), e) << print(e);
  }
}

// Random trees over every factory, printed and parsed back.
Expr random_value(std::mt19937 &rng, int depth);

Expr random_condition(std::mt19937 &rng, int depth) {
  const Kind kinds[] = {Kind::Gt, Kind::Ge, Kind::Lt, Kind::Le, Kind::Eq, Kind::Ne};
  return make(kinds[rng() % 6], random_value(rng, depth - 1), random_value(rng, depth - 1));
}

Expr random_value(std::mt19937 &rng, int depth) {
  static const long double constants[] = {0,    -0.0L, 1,       -1,   2,     -2.5L,
                                          0.1L, 1e30L, -1e-30L, kInf, -kInf, kNaN};
  const unsigned pick = depth <= 1 ? rng() % 3 : rng() % 12;
  switch (pick) {
  case 0: return c(constants[rng() % 12]);
  case 1: return input(static_cast<int>(rng() % 4));
  case 2: return rng() % 2 ? param("a") : param("b", 0.5L);
  case 3: return -random_value(rng, depth - 1);
  case 4:
  case 5: {
    const Kind kinds[] = {Kind::Add, Kind::Sub, Kind::Mul, Kind::Div, Kind::Min, Kind::Max};
    return make(kinds[rng() % 6], random_value(rng, depth - 1), random_value(rng, depth - 1));
  }
  case 6: return pow(random_value(rng, depth - 1), static_cast<int>(rng() % 7) - 3);
  case 7:
    return select(random_condition(rng, depth - 1), random_value(rng, depth - 1),
                  random_value(rng, depth - 1));
  default: {
    const Kind kinds[] = {Kind::Exp,  Kind::Expm1, Kind::Log,  Kind::Log1p,
                          Kind::Sqrt, Kind::Rsqrt, Kind::Abs,  Kind::Sigmoid,
                          Kind::Tanh, Kind::Erf,   Kind::Erfc, Kind::Softplus};
    return make(kinds[rng() % 12], random_value(rng, depth - 1));
  }
  }
}

TEST(IrRoundTrip, RandomTrees) {
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i)
    expect_round_trip(random_value(rng, 1 + i % 9));
}

TEST(IrRoundTrip, PrintOfParseIsStable) {
  const char *texts[] = {
      "x * sigmoid(beta * x), beta=1.0",
      "x > 0 ? x : alpha * expm1(x), alpha = 1.67326",
      "0.5 * x * (1 + erf(x * 0.70710678118654752440))",
      "-2 * x - -x + (-(3))",
      "select(x != x, nan, max(x, -inf))",
  };
  for (const char *t : texts) {
    const Expr e = parse(t);
    EXPECT_EQ(print(parse(print(e))), print(e)) << t;
    EXPECT_EQ(parse(print(e)), e) << t;
  }
}

} // namespace
} // namespace actforge::ir
