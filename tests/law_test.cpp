// Laws written once and run for every activation of the library (dsl::catalog()).
#include "actforge/check/golden.hpp"
#include "actforge/check/numeric.hpp"
#include "actforge/check/reference.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/derivative.hpp"
#include "actforge/dsl/eval.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/parse.hpp"
#include "actforge/ir/print.hpp"
#include "actforge/ir/simplify.hpp"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace actforge {

namespace ir {
// Failure messages show expressions as text, not as pointers (found by ADL, so in ir itself).
void PrintTo(Expr e, std::ostream *os) { *os << (e.defined() ? print(e) : "<undefined>"); }
} // namespace ir

namespace {

using check::close;
using dsl::Entry;
using Point = std::vector<long double>;

constexpr long double kInf = std::numeric_limits<long double>::infinity();
constexpr long double kNaN = std::numeric_limits<long double>::quiet_NaN();

std::string fmt(long double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.21Lg", v);
  return buf;
}

std::string at_text(const Point &at) {
  std::string s = "x=" + fmt(at[0]);
  if (at.size() > 1) s += ", g=" + fmt(at[1]);
  return s;
}

// A law checks thousands of points: count the violations and keep the first few, so a broken
// activation reports one readable failure instead of a wall of them.
class Violations {
public:
  void add(const std::string &what) {
    if (count_++ < 5) text_ += "\n  " + what;
  }
  bool none() const { return count_ == 0; }
  friend std::ostream &operator<<(std::ostream &os, const Violations &v) {
    return os << v.count_ << " violation(s):" << v.text_;
  }

private:
  long count_ = 0;
  std::string text_;
};

const check::Golden &golden() {
  static const check::Golden g = check::load_golden(ACTFORGE_TEST_GOLDEN);
  return g;
}

int inputs_of(const Entry &e) { return e.shape == dsl::Shape::Gated ? 2 : 1; }

std::vector<long double> declared_kinks(const Entry &e) {
  std::vector<long double> k;
  for (int i = 0; i < e.info.n_kinks; ++i)
    k.push_back(e.info.kinks[static_cast<std::size_t>(i)].at);
  return k;
}

// One input: the stated point set, which probes either side of each declared kink. Gated: a grid
// of (x, g) pairs over the coarse axis.
std::vector<Point> points_for(const Entry &e) {
  std::vector<Point> out;
  if (inputs_of(e) == 1) {
    for (long double x : check::point_set(declared_kinks(e)))
      out.push_back({x});
  } else {
    const auto axis = check::coarse_point_set();
    for (long double x : axis)
      for (long double g : axis)
        out.push_back({x, g});
  }
  return out;
}

// The values of p's parameters (sorted by name) taken from `values` by name.
std::vector<long double> param_values(const ir::Program &p, const dsl::ParamValues &values) {
  std::vector<long double> out;
  for (const auto &info : p.params())
    out.push_back(values.at(info.name));
  return out;
}

// An expression with the entry's sample parameters bound: evaluation and probes.
struct Bound {
  ir::Program program;
  std::vector<long double> params;

  Bound(ir::Expr e, const dsl::ParamValues &values)
      : program(e), params(param_values(program, values)) {}
  long double operator()(const Point &at) const { return program.eval<long double>(at, params); }
  check::Probe probe(const Point &at, int var) const { return {&program, at, params, var, false}; }
};

struct Derivatives {
  ir::Expr d1, d2;
};
Derivatives derivatives(const Entry &e, int var) {
  const ir::Expr d1 = ir::differentiate(e.expr, ir::input(var));
  return {d1, ir::differentiate(d1, ir::input(var))};
}

// f and its first and second derivatives by each input, each with a name for messages.
std::vector<std::pair<std::string, ir::Expr>> with_derivatives(const Entry &e) {
  std::vector<std::pair<std::string, ir::Expr>> out{{"f", e.expr}};
  for (int var = 0; var < inputs_of(e); ++var) {
    const Derivatives d = derivatives(e, var);
    const std::string by(ir::input_name(var));
    out.push_back({"d/d" + by, d.d1});
    out.push_back({"d2/d" + by + "2", d.d2});
  }
  return out;
}

// Tests are parameterized by the entry's name: it reads well in test names and failure output.
std::vector<std::string> all_entries() {
  std::vector<std::string> out;
  for (const Entry &e : dsl::catalog())
    out.push_back(e.name);
  return out;
}

std::string entry_name(const testing::TestParamInfo<std::string> &info) { return info.param; }

// Laws over every entry, maxout included.
class Law : public testing::TestWithParam<std::string> {
protected:
  const Entry &entry() const { return *dsl::find_activation(GetParam()); }
};

// Laws over an entry's expression: maxout has none.
class ExprLaw : public Law {
protected:
  void SetUp() override {
    if (!entry().expr.defined())
      GTEST_SKIP() << entry().name
                   << " is not elementwise and has no expression; check_maxout covers it";
    params_ = entry().sample_params();
    points_ = points_for(entry());
  }
  dsl::ParamValues params_;
  std::vector<Point> points_;
};

// ---- 1. The symbolic derivative agrees with central differences ---------------------------------

TEST_P(ExprLaw, DerivativeMatchesCentralDifference) {
  for (int var = 0; var < inputs_of(entry()); ++var) {
    const Derivatives d = derivatives(entry(), var);
    const Bound f(entry().expr, params_), df(d.d1, params_), d2f(d.d2, params_);
    // Order 1 differentiates f numerically, order 2 differentiates the symbolic f'.
    const std::pair<const Bound *, const Bound *> orders[] = {{&f, &df}, {&df, &d2f}};
    for (int order = 1; order <= 2; ++order) {
      const auto [of, symbolic] = orders[order - 1];
      Violations v;
      long compared = 0;
      for (const Point &at : points_) {
        const auto num =
            check::central_difference(of->probe(at, var), at[static_cast<std::size_t>(var)]);
        if (num.crosses_kink) continue;
        ++compared;
        const long double sym = (*symbolic)(at);
        const double err = check::grad_error(sym, num);
        if (!(err <= check::kGradTolerance))
          v.add("at " + at_text(at) + ": symbolic " + fmt(sym) + ", numeric " + fmt(num.value) +
                " (error " + std::to_string(err) + ")");
      }
      EXPECT_TRUE(v.none()) << "order " << order << " by " << ir::input_name(var) << ": " << v;
      // Most points are away from kinks: a probe that skips everything checks nothing.
      EXPECT_GT(compared, static_cast<long>(points_.size() * 9 / 10));
    }
  }
}

// ---- 2. print then parse is the identity --------------------------------------------------------

TEST_P(ExprLaw, PrintThenParseIsIdentity) {
  const ir::ParseOptions no_macros;
  for (const auto &[role, e] : with_derivatives(entry())) {
    const std::string text = ir::print(e);
    ir::Expr back;
    ASSERT_NO_THROW(back = ir::parse(text, no_macros)) << role << ": " << text;
    EXPECT_EQ(back, e) << role << ": printed " << text << "\nreparsed prints " << ir::print(back);
  }
}

// ---- 3. simplify keeps the value and is idempotent ----------------------------------------------

TEST_P(ExprLaw, SimplifyKeepsValueAndIsIdempotent) {
  for (const auto &[role, e] : with_derivatives(entry())) {
    const ir::Expr s = ir::simplify(e);
    EXPECT_EQ(ir::simplify(s), s) << role << ": " << ir::print(s);
    const Bound before(e, params_), after(s, params_);
    Violations v;
    for (const Point &at : points_) {
      const long double a = before(at), b = after(at);
      // Folding constants and reordering c·u may change the rounding of a product by an ulp.
      if (!close(a, b, 1e-15L))
        v.add("at " + at_text(at) + ": " + fmt(a) + " before, " + fmt(b) + " after");
    }
    EXPECT_TRUE(v.none()) << role << ": " << v;
  }
}

// ---- 4. Compile-time and IR derivatives agree ---------------------------------------------------

TEST_P(ExprLaw, CompileTimeDerivativesMatchIr) {
  const Derivatives dx = derivatives(entry(), 0);
  struct Role {
    const char *name;
    dsl::CompiledFn compiled;
    ir::Expr ir;
  };
  std::vector<Role> roles{{"f", entry().f, entry().expr},
                          {"df/dx", entry().df_dx, dx.d1},
                          {"d2f/dx2", entry().d2f_dx2, dx.d2}};
  if (inputs_of(entry()) == 2)
    roles.push_back({"df/dg", entry().df_dg, ir::differentiate(entry().expr, ir::input(1))});
  for (const Role &r : roles) {
    ASSERT_NE(r.compiled, nullptr) << r.name;
    const Bound ir_fn(r.ir, params_);
    Violations v;
    for (const Point &at : points_) {
      const long double ct = r.compiled(at[0], at.size() > 1 ? at[1] : 0, params_);
      const long double ir_value = ir_fn(at);
      if (!close(ct, ir_value, check::kAgreementRel))
        v.add("at " + at_text(at) + ": compile-time " + fmt(ct) + ", IR " + fmt(ir_value));
    }
    EXPECT_TRUE(v.none()) << r.name << ": " << v;
  }
}

// ---- 5. Forward-mode dual numbers agree with the symbolic derivative ----------------------------

TEST_P(ExprLaw, DualNumbersMatchSymbolicDerivative) {
  ASSERT_NE(entry().df_dx_dual, nullptr);
  const Bound df(derivatives(entry(), 0).d1, params_);
  const auto kinks = declared_kinks(entry());
  Violations v;
  long compared = 0;
  for (const Point &at : points_) {
    bool skip = false;
    for (long double k : kinks)
      skip = skip || std::fabs(at[0] - k) <= 1e-6L; // the two sides take a branch each
    for (long double coordinate : at)
      skip = skip || std::fabs(coordinate) > 50; // exp(±50)-sized intermediates round apart
    if (skip) continue;
    ++compared;
    const long double dual = entry().df_dx_dual(at[0], at.size() > 1 ? at[1] : 0, params_);
    const long double sym = df(at);
    // Dual numbers apply the chain rule to values in their own order (dx·u' + u·dx', powers by
    // repeated squaring), so the two may differ by rounding: a few long-double ulps per operation,
    // far below 1e-12 for expressions of depth < 20. Near a zero of f' that is still an O(ulp)
    // absolute difference: none of the grid points lies that close to one.
    if (!close(dual, sym, 1e-12L))
      v.add("at " + at_text(at) + ": dual " + fmt(dual) + ", symbolic " + fmt(sym));
  }
  EXPECT_TRUE(v.none()) << v;
  EXPECT_GT(compared, 0);
}

// ---- 6. Kink conventions ------------------------------------------------------------------------

TEST_P(ExprLaw, DerivativeAtDeclaredKinksIsThePinnedValue) {
  if (inputs_of(entry()) != 1 || entry().info.n_kinks == 0)
    GTEST_SKIP() << entry().name << " declares no kink";
  const Bound df(derivatives(entry(), 0).d1, params_);
  for (int i = 0; i < entry().info.n_kinks; ++i) {
    const dsl::Kink &k = entry().info.kinks[static_cast<std::size_t>(i)];
    if (std::isnan(k.derivative))
      continue; // the spec pins no value there (softplus's switch to the identity)
    EXPECT_EQ(df({k.at}), k.derivative) << "IR f'(" << fmt(k.at) << ")";
    EXPECT_EQ(entry().df_dx(k.at, 0, params_), k.derivative)
        << "compile-time f'(" << fmt(k.at) << ")";
  }
}

// ---- 7. Golden values ---------------------------------------------------------------------------

TEST_P(ExprLaw, MatchesGoldenValues) {
  const std::string name = entry().info.golden;
  if (name.empty()) GTEST_SKIP() << entry().name << " has no golden values";
  const auto it = golden().find(name);
  ASSERT_NE(it, golden().end()) << "the golden file has no rows for '" << name << "'";
  ASSERT_FALSE(it->second.empty());
  const Bound f(entry().expr, params_), df(derivatives(entry(), 0).d1, params_);
  Violations vf, vdf;
  for (const check::GoldenPoint &g : it->second) {
    const long double v = check::reference_value(f.probe({g.x}, 0), g.x);
    if (!close(v, g.f, check::kGoldenRel, 4 * LDBL_EPSILON * std::fabs(g.x)))
      vf.add("f(" + fmt(g.x) + ") = " + fmt(v) + ", golden " + fmt(g.f));
    if (std::isinf(g.x)) continue;
    const long double dv = df({g.x});
    if (!close(dv, g.df, check::kGoldenDerivativeRel,
               4 * LDBL_EPSILON * std::max(1.0L, std::fabs(g.x))))
      vdf.add("f'(" + fmt(g.x) + ") = " + fmt(dv) + ", golden " + fmt(g.df));
  }
  EXPECT_TRUE(vf.none()) << "forward: " << vf;
  EXPECT_TRUE(vdf.none()) << "derivative: " << vdf;
}

// The reverse direction: rows nobody reads would be an activation the library lost.
TEST(Golden, EveryGoldenActivationIsNamedByAnEntry) {
  for (const auto &[name, rows] : golden()) {
    bool named = false;
    for (const Entry &e : dsl::catalog())
      named = named || name == e.info.golden;
    EXPECT_TRUE(named) << "golden rows for '" << name << "' that no catalog entry names";
    EXPECT_GT(rows.size(), 100u) << name;
  }
}

// ---- 8. NaN and infinities ----------------------------------------------------------------------

TEST_P(ExprLaw, NanInNanOut) {
  const Bound f(entry().expr, params_);
  for (int i = 0; i < inputs_of(entry()); ++i) {
    Point at(static_cast<std::size_t>(inputs_of(entry())), 0.5L);
    at[static_cast<std::size_t>(i)] = kNaN;
    EXPECT_TRUE(std::isnan(f(at))) << "NaN in " << ir::input_name(i) << " gives " << fmt(f(at));
  }
}

TEST_P(ExprLaw, HasLimitsAtInfinity) {
  if (inputs_of(entry()) != 1) GTEST_SKIP() << "limits are checked for one-input activations";
  const Bound f(entry().expr, params_);
  for (long double inf : {-kInf, kInf})
    EXPECT_FALSE(std::isnan(check::reference_value(f.probe({0}, 0), inf))) << "at " << fmt(inf);
}

// ---- 9. The reference checks of `actforge check --reference` pass -------------------------------

TEST_P(Law, ReferenceCheckHasNoFailure) {
  const auto records = check::check_reference(check::make_subject(entry().name), &golden());
  ASSERT_FALSE(records.empty());
  for (const check::Record &r : records)
    EXPECT_NE(r.status, check::Status::Fail) << r.role << ": " << r.reason;
}

INSTANTIATE_TEST_SUITE_P(Catalog, Law, testing::ValuesIn(all_entries()), entry_name);
INSTANTIATE_TEST_SUITE_P(Catalog, ExprLaw, testing::ValuesIn(all_entries()), entry_name);

// ---- The conventions ACTIVATIONS.md pins, written out -------------------------------------------

// The IR derivative of the named catalog entry at x, with the entry's sample parameters.
long double ir_derivative(const char *name, long double x) {
  const Entry *e = dsl::find_activation(name);
  if (!e) {
    ADD_FAILURE() << "no activation " << name;
    return kNaN;
  }
  return Bound(ir::differentiate(e->expr, ir::input(0)), e->sample_params())({x});
}

TEST(KinkConventions, PinnedBySpec) {
  using namespace dsl;
  struct Pin {
    const char *name;
    long double at, compile_time, expected;
  };
  const Pin pins[] = {
      {"relu", 0, eval(d(lib::relu, x), 0.0L), 0},
      {"leaky_relu", 0, eval(d(lib::leaky_relu, x), 0.0L), 0.01L},
      {"relu6", 0, eval(d(lib::relu6, x), 0.0L), 0},
      {"relu6", 6, eval(d(lib::relu6, x), 6.0L), 0},
      {"hardtanh", -1, eval(d(lib::hardtanh, x), -1.0L), 0},
      {"hardtanh", 1, eval(d(lib::hardtanh, x), 1.0L), 0},
      {"elu", 0, eval(d(lib::elu, x), 0.0L), 1},
      {"celu", 0, eval(d(lib::celu, x), 0.0L), 1},
      {"rrelu", 0, eval(d(lib::rrelu, x), 0.0L), 1},
      {"hardsigmoid", -3, eval(d(lib::hardsigmoid, x), -3.0L), 0},
      {"hardsigmoid", 3, eval(d(lib::hardsigmoid, x), 3.0L), 0},
      {"hardswish", -3, eval(d(lib::hardswish, x), -3.0L), 0},
      {"hardswish", 3, eval(d(lib::hardswish, x), 3.0L), 1},
  };
  for (const Pin &p : pins) {
    EXPECT_EQ(p.compile_time, p.expected) << "compile-time " << p.name << "'(" << fmt(p.at) << ")";
    EXPECT_EQ(ir_derivative(p.name, p.at), p.expected)
        << "IR " << p.name << "'(" << fmt(p.at) << ")";
  }
}

// max(x, 0) and max(0, x) are one function: the minimum-norm rule must not depend on the order.
TEST(KinkConventions, MaxOperandOrderDoesNotMatter) {
  using namespace dsl;
  EXPECT_EQ(eval(d(max(x, 0), x), 0.0L), 0);
  EXPECT_EQ(eval(d(max(0, x), x), 0.0L), 0);
}

// ---- The limits ACTIVATIONS.md states -----------------------------------------------------------

TEST(Limits, StatedBySpec) {
  struct Limit {
    const char *name;
    long double at, expected;
  };
  const Limit limits[] = {
      {"relu", -kInf, 0}, {"sigmoid", -kInf, 0}, {"tanh", kInf, 1},        {"swish", -kInf, 0},
      {"gelu", -kInf, 0}, {"mish", -kInf, 0},    {"softplus", kInf, kInf},
  };
  for (const Limit &l : limits) {
    const Entry *e = dsl::find_activation(l.name);
    ASSERT_NE(e, nullptr) << l.name;
    const Bound f(e->expr, e->sample_params());
    EXPECT_EQ(check::reference_value(f.probe({0}, 0), l.at), l.expected)
        << l.name << "(" << fmt(l.at) << ")";
  }
}

} // namespace
} // namespace actforge
