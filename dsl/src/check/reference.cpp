// check_reference(): forward, derivative, second-derivative and parameter-gradient checks of the
// long-double reference of one activation.
#include "actforge/check/reference.hpp"

#include "actforge/check/numeric.hpp"
#include "actforge/dsl/maxout.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/print.hpp"

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <limits>

namespace actforge::check {
namespace {

constexpr long double kInf = std::numeric_limits<long double>::infinity();
constexpr long double kNaN = std::numeric_limits<long double>::quiet_NaN();

std::string fmt(long double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.10Lg", v);
  return buf;
}

/// Collects the outcome of one record: figures, failures (the first few kept) and notes.
struct Tally {
  double max_ulp = 0;
  double max_err = 0;
  long double worst_ulp_at = 0, worst_err_at = 0;
  long points = 0;
  long failures = 0;
  std::string first_failures;
  std::vector<std::string> notes;

  void fail(const std::string &what) {
    if (failures++ < 3) first_failures += (first_failures.empty() ? "" : "; ") + what;
  }
  void expect(bool ok, const std::string &what) {
    if (!ok) fail(what);
  }
  void ulp(double u, long double at) {
    if (u > max_ulp) {
      max_ulp = u;
      worst_ulp_at = at;
    }
  }
  void err(double e, long double at) {
    if (e > max_err) {
      max_err = e;
      worst_err_at = at;
    }
  }
};

Record finish(const Subject &s, std::string role, const Tally &t, bool ulp, bool grad) {
  Record r;
  r.activation = s.name;
  r.role = std::move(role);
  r.target = "reference";
  r.dtype = "f80";
  r.status = t.failures ? Status::Fail : Status::Pass;
  if (ulp) r.max_ulp = t.max_ulp;
  if (grad) r.max_rel_grad_err = t.max_err;
  r.points = t.points;
  if (t.failures) {
    r.reason = std::to_string(t.failures) + " failed: " + t.first_failures;
    return r;
  }
  std::vector<std::string> notes = t.notes;
  if (ulp && t.max_ulp > 0) notes.push_back("max ulp at x=" + fmt(t.worst_ulp_at));
  if (grad && t.max_err > 0) notes.push_back("max error at " + fmt(t.worst_err_at));
  for (const auto &n : notes)
    r.reason += (r.reason.empty() ? "" : "; ") + n;
  return r;
}

std::vector<long double> values_for(const ir::Program &p, const dsl::ParamValues &values) {
  std::vector<long double> out;
  for (const auto &info : p.params()) {
    auto it = values.find(info.name);
    if (it == values.end()) throw Error("no value for parameter '" + info.name + "'");
    out.push_back(it->second);
  }
  return out;
}

/// One check context: the subject compiled, and its points as input tuples.
struct Context {
  const Subject &s;
  ir::Program f;
  int inputs;
  std::vector<long double> declared_kinks;
  std::vector<std::vector<long double>> points;

  explicit Context(const Subject &subject)
      : s(subject), f(subject.expr), inputs(std::max(1, f.num_inputs())) {
    if (s.entry)
      for (int i = 0; i < s.entry->info.n_kinks; ++i)
        declared_kinks.push_back(s.entry->info.kinks[static_cast<std::size_t>(i)].at);
    else if (inputs == 1) // a user expression: its kinks are found, then probed like declared ones
      declared_kinks = find_kinks(probe(f, {0}, 0), -100, 100, 1.0L / 128);
    if (inputs == 1) {
      for (long double x : point_set(declared_kinks))
        points.push_back({x});
    } else {
      const auto axis = coarse_point_set();
      for (long double x : axis)
        for (long double g : axis)
          points.push_back(inputs == 2
                               ? std::vector<long double>{x, g}
                               : std::vector<long double>(static_cast<std::size_t>(inputs), x));
    }
  }

  Probe probe(const ir::Program &p, const std::vector<long double> &at, int var,
              bool by_param = false) const {
    return Probe{&p, at, values_for(p, s.params), var, by_param};
  }

  long double eval(const ir::Program &p, const std::vector<long double> &at) const {
    return p.eval<long double>(at, values_for(p, s.params));
  }
};

std::string input_role(const char *base, int i) {
  return i == 0 ? std::string(base) : std::string(base) + "_" + std::string(ir::input_name(i));
}

const std::vector<GoldenPoint> *golden_rows(const Subject &s, const Golden *golden) {
  if (!golden || !s.entry || !*s.entry->info.golden) return nullptr;
  auto it = golden->find(std::string_view(s.entry->info.golden));
  return it == golden->end() ? nullptr : &it->second;
}

// ---- forward ----
Record check_forward(const Context &c, const Golden *golden) {
  Tally t;
  for (const auto &at : c.points) {
    const long double v = c.eval(c.f, at);
    ++t.points;
    if (c.s.entry && c.s.entry->f) {
      const long double ct = c.s.entry->f(at[0], at.size() > 1 ? at[1] : 0, c.s.params);
      t.expect(close(ct, v, kAgreementRel),
               "compile-time f=" + fmt(ct) + " but IR f=" + fmt(v) + " at x=" + fmt(at[0]));
    }
  }
  if (const auto *rows = golden_rows(c.s, golden)) {
    for (const GoldenPoint &g : *rows) {
      const long double v = reference_value(c.probe(c.f, {g.x}, 0), g.x);
      t.ulp(ulp_error_f32(v, g.f), g.x);
      ++t.points;
      t.expect(close(v, g.f, kGoldenRel, 4 * LDBL_EPSILON * std::fabs(g.x)),
               "f(" + fmt(g.x) + ") = " + fmt(v) + ", golden " + fmt(g.f));
    }
    t.notes.push_back("matches golden (" + std::to_string(rows->size()) + " points)");
  } else if (c.s.entry) {
    t.notes.push_back(golden ? "no golden values for this activation" : "golden values not loaded");
  }
  // NaN in, NaN out, through every input.
  for (int i = 0; i < c.inputs; ++i) {
    std::vector<long double> at(static_cast<std::size_t>(c.inputs), 0.5L);
    at[static_cast<std::size_t>(i)] = kNaN;
    t.expect(std::isnan(c.eval(c.f, at)),
             "a NaN in " + std::string(ir::input_name(i)) + " does not give NaN");
  }
  // Infinities give the limit (taken for the reference where IEEE evaluation meets inf·0).
  if (c.inputs == 1)
    for (long double inf : {-kInf, kInf}) {
      const Probe p = c.probe(c.f, {0}, 0);
      const long double lim = reference_value(p, inf);
      t.expect(!std::isnan(lim), "no limit at x=" + fmt(inf));
      const long double ieee = p.at(inf);
      if (std::isnan(ieee) && !std::isnan(lim))
        t.notes.push_back("plain IEEE evaluation at x=" + fmt(inf) + " is NaN; the limit is " +
                          fmt(lim));
    }
  return finish(c.s, "forward", t, golden_rows(c.s, golden) != nullptr, false);
}

// ---- derivative checks shared by first and second order ----
// Compares `symbolic` (a program) with central differences of `of` along input `var`.
void gradient_points(const Context &c, const ir::Program &of, const ir::Program &symbolic, int var,
                     Tally &t, long &skipped) {
  for (const auto &at : c.points) {
    const Difference num =
        central_difference(c.probe(of, at, var), at[static_cast<std::size_t>(var)]);
    if (num.crosses_kink) {
      ++skipped;
      continue;
    }
    const long double sym = c.eval(symbolic, at);
    const double err = grad_error(sym, num);
    ++t.points;
    if (std::isnan(err) || err > kGradTolerance)
      t.fail("symbolic " + fmt(sym) + " vs numeric " + fmt(num.value) + " at " +
             std::string(ir::input_name(var)) + "=" + fmt(at[static_cast<std::size_t>(var)]));
    if (!std::isnan(err)) t.err(err, at[static_cast<std::size_t>(var)]);
  }
}

void agreement(const Context &c, const ir::Program &symbolic, dsl::CompiledFn ct, Tally &t,
               const char *what) {
  if (!ct) return;
  for (const auto &at : c.points) {
    const long double ir_value = c.eval(symbolic, at);
    const long double ct_value = ct(at[0], at.size() > 1 ? at[1] : 0, c.s.params);
    t.expect(close(ct_value, ir_value, kAgreementRel, 1e-300L),
             std::string("compile-time ") + what + "=" + fmt(ct_value) + " but IR " +
                 fmt(ir_value) + " at x=" + fmt(at[0]));
  }
}

// Kinks found by scanning must be the declared ones; for a user expression, each found kink is
// reported, with a warning where kinks coincide and cancel (the per-node rule then errs).
void kink_checks(const Context &c, const ir::Program &df, Tally &t) {
  const Probe p = c.probe(c.f, {0}, 0);
  const auto found = c.s.entry ? find_kinks(p, -100, 100, 1.0L / 128) : c.declared_kinks;
  if (c.s.entry) {
    for (long double k : found) {
      bool declared = false;
      for (long double d : c.declared_kinks)
        declared = declared || std::fabs(k - d) <= 1e-9L * std::max(1.0L, std::fabs(d));
      t.expect(declared, "undeclared kink at x=" + fmt(k));
    }
    for (long double d : c.declared_kinks) {
      bool seen = false;
      for (long double k : found)
        seen = seen || std::fabs(k - d) <= 1e-9L * std::max(1.0L, std::fabs(d));
      t.expect(seen, "declared kink at x=" + fmt(d) + " not found");
    }
    for (int i = 0; i < c.s.entry->info.n_kinks; ++i) {
      const dsl::Kink &k = c.s.entry->info.kinks[static_cast<std::size_t>(i)];
      if (std::isnan(k.derivative)) continue;
      const long double v = c.eval(df, {k.at});
      ++t.points;
      t.expect(close(v, k.derivative, 1e-15L),
               "f'(" + fmt(k.at) + ") = " + fmt(v) + ", pinned " + fmt(k.derivative));
    }
    if (c.s.entry->info.n_kinks) t.notes.push_back("kink conventions hold");
    return;
  }
  for (long double k : found) {
    const long double h = 1e-7L * std::max(1.0L, std::fabs(k));
    const long double f0 = p.at(k), left = (f0 - p.at(k - h)) / h, right = (p.at(k + h) - f0) / h;
    const long double v = c.eval(df, {k});
    std::string note = "kink at x=" + fmt(k) + ": f'=" + fmt(v) + " (left " + fmt(left) +
                       ", right " + fmt(right) + ")";
    if (close(left, right, 1e-5L, 1e-9L) && !close(v, left, 1e-5L, 1e-9L))
      note = "warning: coinciding kinks at x=" + fmt(k) +
             " cancel (one-sided derivatives agree: " + fmt(left) +
             ") but the per-node convention gives f'=" + fmt(v) +
             "; write the function with select() to get the true derivative";
    t.notes.push_back(note);
  }
}

Record check_first(const Context &c, int var, const Golden *golden) {
  Tally t;
  long skipped = 0;
  const ir::Expr dexpr = ir::differentiate(c.s.expr, ir::input(var));
  const ir::Program df(dexpr);
  gradient_points(c, c.f, df, var, t, skipped);
  if (c.s.entry) agreement(c, df, var == 0 ? c.s.entry->df_dx : c.s.entry->df_dg, t, "f'");
  if (c.inputs == 1) kink_checks(c, df, t);
  bool with_ulp = false;
  if (const auto *rows = var == 0 ? golden_rows(c.s, golden) : nullptr) {
    with_ulp = true;
    for (const GoldenPoint &g : *rows) {
      if (std::isinf(g.x)) continue;
      const long double v = c.eval(df, {g.x});
      // The oracle's derivatives are differences at 50 digits: good to about 1e-30 of |f|
      // (elu'(-100) = e^-100 reads 0 there). Differences below that are not counted as error.
      const long double slack = 1e-30L * std::max(1.0L, std::fabs(g.f));
      const long double off = std::max(0.0L, std::fabs(v - g.df) - slack);
      t.ulp(ulp_error_f32(g.df + std::copysign(off, v - g.df), g.df), g.x);
      t.expect(
          close(v, g.df, kGoldenDerivativeRel, 4 * LDBL_EPSILON * std::max(1.0L, std::fabs(g.x))),
          "f'(" + fmt(g.x) + ") = " + fmt(v) + ", golden " + fmt(g.df));
    }
  }
  if (skipped)
    t.notes.push_back(std::to_string(skipped) +
                      " points next to a kink compared by convention only");
  return finish(c.s, input_role("backward", var), t, with_ulp, true);
}

Record check_second(const Context &c, int var) {
  Tally t;
  long skipped = 0;
  const ir::Expr d1 = ir::differentiate(c.s.expr, ir::input(var));
  const ir::Program df(d1), d2f(ir::differentiate(d1, ir::input(var)));
  gradient_points(c, df, d2f, var, t, skipped);
  if (c.s.entry && var == 0) agreement(c, d2f, c.s.entry->d2f_dx2, t, "f''");
  return finish(c.s, input_role("second_derivative", var), t, false, true);
}

Record check_param(const Context &c, const ir::ParamInfo &param, int index) {
  Tally t;
  const ir::Program dp(ir::differentiate(c.s.expr, ir::param(param.name)));
  for (std::size_t i = 0; i < c.points.size(); i += c.inputs == 1 ? 4 : 8) {
    const auto &at = c.points[i];
    const long double value = c.s.params.at(param.name);
    const Difference num = central_difference(c.probe(c.f, at, index, true), value);
    if (num.crosses_kink) continue;
    const long double sym = c.eval(dp, at);
    const double err = grad_error(sym, num);
    ++t.points;
    if (std::isnan(err) || err > kGradTolerance)
      t.fail("symbolic " + fmt(sym) + " vs numeric " + fmt(num.value) + " at x=" + fmt(at[0]));
    if (!std::isnan(err)) t.err(err, at[0]);
  }
  return finish(c.s, "param_grad:" + param.name, t, false, true);
}

} // namespace

Subject make_subject(std::string_view name_or_text) {
  Subject s;
  if (const dsl::Entry *e = dsl::find_activation(name_or_text)) {
    s.name = e->name;
    s.entry = e;
    s.expr = e->expr;
    if (e->expr.defined()) s.params = e->sample_params();
    return s;
  }
  s.name = std::string(name_or_text);
  s.expr = dsl::parse_with_library(name_or_text);
  if (s.expr.is_condition()) throw Error("a comparison is not an activation: it has no value");
  for (const auto &p : ir::collect_params(s.expr)) {
    if (!p.default_value)
      throw Error("parameter '" + p.name +
                  "' has no value: give one after the expression, e.g. \"" +
                  std::string(name_or_text) + ", " + p.name + "=1\"");
    s.params[p.name] = *p.default_value;
  }
  return s;
}

std::vector<Record> check_reference(const Subject &subject, const Golden *golden) {
  if (subject.entry && subject.entry->shape == dsl::Shape::Maxout) return check_maxout();
  const Context c(subject);
  std::vector<Record> out{check_forward(c, golden)};
  for (int var = 0; var < c.inputs; ++var)
    out.push_back(check_first(c, var, golden));
  for (int var = 0; var < c.inputs; ++var)
    out.push_back(check_second(c, var));
  const auto &params = c.f.params();
  for (std::size_t i = 0; i < params.size(); ++i)
    out.push_back(check_param(c, params[i], static_cast<int>(i)));
  return out;
}

std::vector<Record> check_maxout() {
  // Random groups (a fixed LCG), plus ties, plus a NaN: the forward picks the maximum, the
  // backward's central differences agree away from ties, ties send the gradient to the first.
  const dsl::MaxoutShape shape{3, 8, 5, 4};
  std::vector<long double> x(static_cast<std::size_t>(shape.outer * shape.channels * shape.inner));
  std::uint64_t state = 12345;
  for (auto &v : x) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    v = static_cast<long double>(static_cast<std::int64_t>(state >> 33) % 2001 - 1000) / 100;
  }
  // A tie in group (o=0, group 0, inner 0), whose channels sit at x[0], x[5], x[10], x[15].
  x[0] = x[5] = 7.5L;
  x[10] = x[15] = -1;
  const std::size_t ny = static_cast<std::size_t>(shape.outer * shape.groups() * shape.inner);
  std::vector<long double> y(ny), dy(ny), dx(x.size());
  for (std::size_t i = 0; i < ny; ++i)
    dy[i] = 1 + static_cast<long double>(i) / 7;
  Subject s{"maxout", {}, dsl::find_activation("maxout"), {}};
  Tally fwd, bwd;
  dsl::maxout_forward<long double>(x, y, shape);
  for (std::int64_t o = 0; o < shape.outer; ++o)
    for (std::int64_t grp = 0; grp < shape.groups(); ++grp)
      for (std::int64_t i = 0; i < shape.inner; ++i) {
        long double m = -kInf;
        for (std::int64_t ch = 0; ch < shape.k; ++ch)
          m = std::max(m, x[static_cast<std::size_t>(
                              (o * shape.channels + grp * shape.k + ch) * shape.inner + i)]);
        ++fwd.points;
        fwd.expect(y[static_cast<std::size_t>((o * shape.groups() + grp) * shape.inner + i)] == m,
                   "group maximum wrong");
      }
  dsl::maxout_backward<long double>(x, dy, dx, shape);
  auto loss = [&](const std::vector<long double> &xs) {
    std::vector<long double> ys(ny);
    dsl::maxout_forward<long double>(xs, ys, shape);
    long double sum = 0;
    for (std::size_t i = 0; i < ny; ++i)
      sum += dy[i] * ys[i];
    return sum;
  };
  for (std::size_t j = 1; j < x.size(); ++j) {
    if (j == 5) continue; // the tie: checked by convention below
    std::vector<long double> xp = x, xm = x;
    const long double h = 1e-6L;
    xp[j] += h;
    xm[j] -= h;
    const long double num = (loss(xp) - loss(xm)) / (2 * h);
    const double err = static_cast<double>(std::fabs(num - dx[j]) / std::max(1.0L, std::fabs(num)));
    bwd.err(err, static_cast<long double>(j));
    ++bwd.points;
    bwd.expect(err <= kGradTolerance,
               "dx[" + std::to_string(j) + "] = " + fmt(dx[j]) + ", numeric " + fmt(num));
  }
  bwd.expect(dx[0] == dy[0] && dx[5] == 0, "a tie does not send the gradient to the first arg-max");
  bwd.notes.push_back("ties: gradient to the first arg-max");
  x[7] = kNaN;
  dsl::maxout_forward<long double>(x, y, shape);
  fwd.expect(std::isnan(y[2]), "a NaN in a group does not give NaN");
  return {finish(s, "forward", fwd, false, false), finish(s, "backward", bwd, false, true)};
}

} // namespace actforge::check
