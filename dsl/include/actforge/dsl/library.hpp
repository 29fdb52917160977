// The standard activations (shared/ACTIVATIONS.md), written in the DSL, in one list.
//
// `library` is the single list that drives the runtime catalog, the tests and the CLI. Formulas
// are written in the numerically safe form the spec asks for (gelu through erfc, elu through
// expm1, gelu_tanh's 0.5·(1+tanh z) as sigmoid(2z)); each differs from the spec's spelling only
// in rounding, never in value.
#pragma once

#include "actforge/dsl/ops.hpp"

#include <boost/hana/tuple.hpp>

#include <array>
#include <limits>

namespace actforge::dsl {

/// Accuracy class of ACTIVATIONS.md: piecewise-linear kernels must be exact.
enum class Family { PiecewiseLinear, Transcendental };

/// A branch point — where a select, min/max or abs decision changes, so the derivative may jump —
/// and the derivative the library pins there (NaN where the spec pins none, e.g. softplus's
/// switch to the identity at its threshold). Smooth branch points count too (softsign at 0).
struct Kink {
  long double at;
  long double derivative;
};

/// A parameter value used for checks where the parameter has no default (threshold's t, v).
struct SampleParam {
  const char *name;
  long double value;
};

struct Info {
  Family family;
  const char *summary; // the formula as ACTIVATIONS.md writes it
  const char *golden;  // name in shared/golden/activations.csv, or "" where it has none
  std::array<Kink, 4> kinks{};
  int n_kinks = 0;
  std::array<SampleParam, 2> samples{};
  int n_samples = 0;
};

/// One library entry: a name, an expression, its metadata.
template <fixed_string Name, class E> struct activation {
  static constexpr auto name = Name;
  E expr;
  Info info;
};
template <fixed_string Name, class E> constexpr auto define(const E &e, const Info &info) {
  return activation<Name, E>{e, info};
}

namespace lib {
inline constexpr long double kInvSqrt2 = 0.707106781186547524400844362104849039L;
inline constexpr long double kSqrt2OverPi = 0.797884560802865355879892119868763737L;
inline constexpr long double kSeluAlpha = 1.6732632423543772848170429916717L;
inline constexpr long double kSeluLambda = 1.0507009873554804934193349852946L;

inline constexpr auto relu = max(x, 0);
inline constexpr auto leaky_relu = select(x > 0, x, param<"alpha">(0.01L) * x);
inline constexpr auto prelu = select(x > 0, x, param<"a">(0.25L) * x);
// Eval mode: the slope is the mean of U(lower, upper). Training draws it per element: see
// rrelu.hpp.
inline constexpr auto rrelu =
    select(x >= 0, x, (param<"lower">(0.125L) + param<"upper">(1.0L / 3)) / 2 * x);
inline constexpr auto relu6 = min(max(x, 0), 6);
inline constexpr auto hardtanh = min(max(x, param<"lo">(-1)), param<"hi">(1));
inline constexpr auto elu = select(x > 0, x, param<"alpha">(1) * expm1(x));
inline constexpr auto selu =
    param<"lambda">(kSeluLambda) * select(x > 0, x, param<"alpha">(kSeluAlpha) * expm1(x));
inline constexpr auto celu = select(x > 0, x, param<"alpha">(1) * expm1(x / param<"alpha">(1)));
inline constexpr auto gelu = 0.5L * x * erfc(-x * lit(kInvSqrt2));
inline constexpr auto gelu_tanh = x * sigmoid(2 * lit(kSqrt2OverPi) * (x + 0.044715L * pow<3>(x)));
inline constexpr auto quick_gelu = x * sigmoid(1.702L * x);
inline constexpr auto silu = x * sigmoid(x);
inline constexpr auto swish = x * sigmoid(param<"beta">(1) * x);
inline constexpr auto mish = x * tanh(softplus(x));
inline constexpr auto hardswish = x * min(max(x + 3, 0), 6) / 6;
inline constexpr auto hardsigmoid = min(max(x + 3, 0), 6) / 6;
inline constexpr auto sigmoid_ = sigmoid(x);
inline constexpr auto tanh_ = tanh(x);
inline constexpr auto softplus_ = select(param<"beta">(1) * x > param<"threshold">(20), x,
                                         softplus(param<"beta">(1) * x) / param<"beta">(1));
// Beyond |x| = 1 as ±(1 - 1/(1+|x|)): the same value, but the quotient rule applied to x/(1+|x|)
// gives 1/(1+|x|) - |x|/(1+|x|)², which cancels as |x| grows; these branches differentiate to
// 1/(1+|x|)² directly. Inside, x/(1+|x|) keeps small x exact and its derivative cancels < 2x.
inline constexpr auto softsign =
    select(x > 1, 1 - 1 / (1 + x), select(x < -1, 1 / (1 - x) - 1, x / (1 + abs(x))));
inline constexpr auto logsigmoid = -softplus(-x);
inline constexpr auto tanhshrink = x - tanh(x);
// The shrinks and threshold test so that a NaN x (every comparison false) lands in a branch that
// carries x: the spec's "x>t ? x : v" would turn NaN into v.
inline constexpr auto softshrink =
    select(x > param<"lambda">(0.5L), x - param<"lambda">(0.5L),
           select(x >= -param<"lambda">(0.5L), 0, x + param<"lambda">(0.5L)));
inline constexpr auto hardshrink = select(abs(x) <= param<"lambda">(0.5L), 0, x);
inline constexpr auto threshold = select(x <= param<"threshold">(), param<"value">(), x);
// Gated: x is the value, g the gate.
inline constexpr auto glu = x * sigmoid(g);
inline constexpr auto reglu = x * max(g, 0);
inline constexpr auto geglu = x * (0.5L * g * erfc(-g * lit(kInvSqrt2)));
inline constexpr auto swiglu = x * (g * sigmoid(g));
// RReLU in training: the slope is a second input, drawn per element from U(lower, upper) by
// the caller; the derivative by x uses the same slope, as the spec requires.
inline constexpr auto rrelu_train = select(x >= 0, x, g *x);
} // namespace lib

namespace detail {
inline constexpr long double kNoPin = std::numeric_limits<long double>::quiet_NaN();
constexpr Info pl(const char *summary, const char *golden, std::array<Kink, 4> kinks, int n) {
  return {Family::PiecewiseLinear, summary, golden, kinks, n};
}
constexpr Info tr(const char *summary, const char *golden, std::array<Kink, 4> kinks = {},
                  int n = 0) {
  return {Family::Transcendental, summary, golden, kinks, n};
}
} // namespace detail

/// Every standard single- and two-input activation. (Maxout is not elementwise: maxout.hpp.)
inline constexpr auto library = [] {
  using namespace lib;
  using detail::pl;
  using detail::tr;
  return hana::make_tuple(
      define<"relu">(relu, pl("max(x, 0)", "relu", {{{0, 0}}}, 1)),
      define<"leaky_relu">(leaky_relu, pl("x>0 ? x : alpha*x", "leaky_relu", {{{0, 0.01L}}}, 1)),
      define<"prelu">(prelu, pl("x>0 ? x : a*x  (a learnable)", "prelu", {{{0, 0.25L}}}, 1)),
      define<"rrelu">(rrelu,
                      pl("x>=0 ? x : (lower+upper)/2*x  (eval mode)", "rrelu_eval", {{{0, 1}}}, 1)),
      define<"relu6">(relu6, pl("min(max(x, 0), 6)", "relu6", {{{0, 0}, {6, 0}}}, 2)),
      define<"hardtanh">(hardtanh, pl("min(max(x, lo), hi)", "hardtanh", {{{-1, 0}, {1, 0}}}, 2)),
      define<"elu">(elu, tr("x>0 ? x : alpha*(exp(x)-1)", "elu", {{{0, 1}}}, 1)),
      define<"selu">(selu, tr("lambda*(x>0 ? x : alpha*(exp(x)-1))", "selu",
                              {{{0, kSeluLambda * kSeluAlpha}}}, 1)),
      define<"celu">(celu, tr("x>0 ? x : alpha*(exp(x/alpha)-1)", "celu", {{{0, 1}}}, 1)),
      define<"gelu">(gelu, tr("x*Phi(x) = 0.5*x*erfc(-x/sqrt(2))", "gelu")),
      define<"gelu_tanh">(gelu_tanh,
                          tr("0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x^3)))", "gelu_tanh")),
      define<"quick_gelu">(quick_gelu, tr("x*sigmoid(1.702*x)", "quick_gelu")),
      define<"silu">(silu, tr("x*sigmoid(x)", "silu")),
      define<"swish">(swish, tr("x*sigmoid(beta*x)", "silu")),
      define<"mish">(mish, tr("x*tanh(softplus(x))", "mish")),
      define<"hardswish">(hardswish, pl("x*relu6(x+3)/6", "hardswish", {{{-3, 0}, {3, 1}}}, 2)),
      define<"hardsigmoid">(hardsigmoid, pl("relu6(x+3)/6", "hardsigmoid", {{{-3, 0}, {3, 0}}}, 2)),
      define<"sigmoid">(sigmoid_, tr("1/(1+exp(-x))", "sigmoid")),
      define<"tanh">(tanh_, tr("tanh(x)", "tanh")),
      define<"softplus">(softplus_, tr("x*beta>threshold ? x : log1p(exp(beta*x))/beta", "softplus",
                                       {{{20, detail::kNoPin}}}, 1)),
      define<"softsign">(softsign,
                         tr("x/(1+|x|)", "softsign", {{{0, 1}, {-1, 0.25L}, {1, 0.25L}}}, 3)),
      define<"logsigmoid">(logsigmoid, tr("-softplus(-x)", "logsigmoid")),
      define<"tanhshrink">(tanhshrink, tr("x-tanh(x)", "tanhshrink")),
      define<"softshrink">(softshrink, pl("x>lambda ? x-lambda : x<-lambda ? x+lambda : 0",
                                          "softshrink", {{{-0.5L, 0}, {0.5L, 0}}}, 2)),
      define<"hardshrink">(
          hardshrink, pl("|x|>lambda ? x : 0", "hardshrink", {{{-0.5L, 0}, {0, 0}, {0.5L, 0}}}, 3)),
      define<"threshold">(threshold, Info{Family::PiecewiseLinear,
                                          "x>threshold ? x : value",
                                          "",
                                          {{{0.5L, 0}}},
                                          1,
                                          {{{"threshold", 0.5L}, {"value", -2}}},
                                          2}),
      define<"glu">(glu, tr("x*sigmoid(g)", "")),
      define<"reglu">(reglu, pl("x*relu(g)", "", {}, 0)),
      define<"geglu">(geglu, tr("x*gelu(g)", "")), define<"swiglu">(swiglu, tr("x*silu(g)", "")));
}();

} // namespace actforge::dsl
