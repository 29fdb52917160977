// actforge analyze: activations side by side — range, monotonicity, smoothness, derivative,
// statistics under N(0,1), initialisation gain, cost per element.
#include "cli.hpp"

#include "actforge/check/record.hpp"
#include "actforge/codegen/halide/cost.hpp"
#include "actforge/dsl/analysis.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/jit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <random>

namespace actforge::cli {
namespace {
constexpr const char *kHelp =
    R"(usage: actforge analyze NAME|EXPR [NAME|EXPR...] [--json] [--no-speed] [--samples N]

Analyses activations of one input, side by side (columns = activations):
  range          output range: interval analysis on the IR (a sound bound; "(" open, "[" closed)
                 beside the min/max of dense samples (±inf as limits); "exact" when they agree
  monotonic      from the sign of f' (proved: by the interval of f')
  smoothness     C^inf without kinks, else the weakest kink: C2, C1, C0 or discontinuous
  kinks          where a branch (select, min, max, abs) switches, in [-1000, 1000]
  f' range       the derivative's interval bound and sampled range
  f' = 0 on      x-intervals where f' is exactly 0; stationary points: isolated zeros of f'
  E[f], Var[f]   under z ~ N(0,1), by quadrature (method named in --json)
  gain           1/sqrt(E[f(z)^2]) (variance-preserving init) beside PyTorch's calculate_gain
  P(f=0) ...     Monte-Carlo (fixed seed) p ± standard error, with the exact value where the
                 zero set is a union of intervals; saturated: P(|f'(z)| < 1e-3)
  ops/elem       operations in the lowered Halide forward kernel (after CSE; loads excluded)
  ns/elem        the host's forward f32 kernel, 16 Ki elements in cache, median of 15 (spread)

  --json         machine-readable output
  --no-speed     skip compiling and timing the kernels (no ops/elem, ns/elem)
  --samples N    Monte-Carlo draws (1000..100000000, default 1000000)

Gated activations (two inputs) and maxout are not analysed.
)";

struct Speed {
  double median = 0, lo = 0, hi = 0;
};

Speed measure(const check::Subject &s) {
  JitOptions o;
  o.size_hint = 16384;
  const Kernel k = jit(s.expr, o, s.name);
  Params p;
  for (const auto &[name, v] : s.params)
    p[name] = static_cast<double>(v);
  constexpr std::int64_t n = 16384;
  std::vector<float> x(n), y(n);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-6, 6);
  for (float &v : x)
    v = u(rng);
  for (int i = 0; i < 50; ++i)
    k.forward(x.data(), y.data(), n, p);
  std::vector<double> ns;
  for (int r = 0; r < 15; ++r) {
    constexpr int calls = 50;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i)
      k.forward(x.data(), y.data(), n, p);
    const auto t1 = std::chrono::steady_clock::now();
    ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / calls / n);
  }
  std::sort(ns.begin(), ns.end());
  return {ns[ns.size() / 2], ns.front(), ns.back()};
}

struct Column {
  dsl::Analysis a;
  std::optional<codegen::halide::OpCount> ops;
  std::optional<Speed> speed;
};

std::string num(long double v, int digits = 6) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*Lg", digits, v);
  return buf;
}
std::string jnum(long double v) { // JSON: infinities as strings
  if (std::isinf(v)) return v > 0 ? "\"inf\"" : "\"-inf\"";
  if (std::isnan(v)) return "null";
  return num(v, 17);
}
std::string sets(const std::vector<dsl::Interval> &s) {
  std::string out;
  for (const auto &i : s)
    out += (out.empty() ? "" : " ") + i.str();
  return out.empty() ? "-" : out;
}
std::string prob(const dsl::Probability &p) {
  std::string s = num(p.p, 4) + " +-" + num(p.std_error, 2);
  if (p.exact) s += " (" + num(*p.exact, 4) + ")";
  return s;
}

std::vector<std::pair<std::string, std::string>> rows(const Column &c) {
  const dsl::Analysis &a = c.a;
  std::string kinks;
  for (const auto &k : a.kinks)
    kinks += (kinks.empty() ? "" : " ") + num(k.x);
  std::string stationary;
  for (long double z : a.derivative_isolated_zeros)
    stationary += (stationary.empty() ? "" : " ") + num(z);
  std::vector<std::pair<std::string, std::string>> r = {
      {"range (bound)", a.range_bound.str()},
      {"range (sampled)", "[" + num(a.sampled_min) + ", " + num(a.sampled_max) + "]" +
                              (a.range_exact ? " exact" : " loose")},
      {"monotonic", a.monotonic + (a.monotonic_proved ? " (proved)" : "")},
      {"smoothness", a.smoothness},
      {"kinks", kinks.empty() ? "-" : kinks},
      {"f' range (bound)", a.derivative_bound.str()},
      {"f' range (sampled)", "[" + num(a.sampled_dmin) + ", " + num(a.sampled_dmax) + "]" +
                                 (a.derivative_exact ? " exact" : " loose")},
      {"f' = 0 on", sets(a.derivative_zero_set)},
      {"stationary points", stationary.empty() ? "-" : stationary},
      {"E[f(z)]", num(a.mean)},
      {"Var[f(z)]", num(a.variance)},
      {"moments by",
       a.quadrature.rfind("Gauss-Hermite", 0) == 0 ? "Gauss-Hermite" : "Gauss-Legendre by pieces"},
      {"gain 1/sqrt(E[f^2])", num(a.gain, 7)},
      {"torch calculate_gain", a.torch_gain ? num(*a.torch_gain, 7) : "-"},
      {"P(f(z)=0)", prob(a.p_zero)},
      {"P(f'(z)=0)", prob(a.p_dzero)},
      {"P(|f'(z)|<1e-3)", prob(a.p_saturated)},
  };
  if (c.ops)
    r.push_back({"ops/elem",
                 std::to_string(c.ops->total()) + " (" + std::to_string(c.ops->call) + " calls)"});
  if (c.speed)
    r.push_back({"ns/elem (host f32)", num(c.speed->median, 3) + " [" + num(c.speed->lo, 3) + "-" +
                                           num(c.speed->hi, 3) + "]"});
  return r;
}

void print_table(const std::vector<Column> &cols) {
  std::vector<std::vector<std::pair<std::string, std::string>>> all;
  for (const auto &c : cols)
    all.push_back(rows(c));
  std::size_t label = 0;
  for (const auto &[k, v] : all[0])
    label = std::max(label, k.size());
  std::vector<std::size_t> width;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    std::size_t w = cols[i].a.name.size();
    for (const auto &[k, v] : all[i])
      w = std::max(w, v.size());
    width.push_back(std::min<std::size_t>(w, 60));
  }
  auto line = [&](const std::string &head, auto cell) {
    std::printf("%-*s", static_cast<int>(label + 2), head.c_str());
    for (std::size_t i = 0; i < cols.size(); ++i)
      std::printf("  %-*s", static_cast<int>(width[i]), cell(i).c_str());
    std::printf("\n");
  };
  line("", [&](std::size_t i) { return cols[i].a.name; });
  for (std::size_t r = 0; r < all[0].size(); ++r)
    line(all[0][r].first, [&](std::size_t i) { return all[i][r].second; });
  std::printf("\n(bound: interval analysis on the IR; P: Monte-Carlo +- standard error, exact in "
              "parentheses; the quadrature of each column in --json)\n");
}

std::string json_interval(const dsl::Interval &i) {
  return "{\"lo\": " + jnum(i.lo) + ", \"hi\": " + jnum(i.hi) +
         ", \"lo_open\": " + (i.lo_open ? "true" : "false") +
         ", \"hi_open\": " + (i.hi_open ? "true" : "false") + "}";
}
std::string json_prob(const dsl::Probability &p) {
  return "{\"p\": " + jnum(p.p) + ", \"std_error\": " + jnum(p.std_error) +
         ", \"exact\": " + (p.exact ? jnum(*p.exact) : "null") + "}";
}

void print_json(const std::vector<Column> &cols) {
  std::printf("[");
  for (std::size_t i = 0; i < cols.size(); ++i) {
    const dsl::Analysis &a = cols[i].a;
    std::string kinks, zeros, dzeros, stationary;
    for (const auto &k : a.kinks)
      kinks += std::string(kinks.empty() ? "" : ", ") + "{\"x\": " + jnum(k.x) +
               ", \"continuous_to\": " + std::to_string(k.continuous_to) +
               ", \"exact\": " + (k.exact ? "true" : "false") + "}";
    for (const auto &z : a.zero_set)
      zeros += (zeros.empty() ? "" : ", ") + json_interval(z);
    for (const auto &z : a.derivative_zero_set)
      dzeros += (dzeros.empty() ? "" : ", ") + json_interval(z);
    for (long double z : a.derivative_isolated_zeros)
      stationary += (stationary.empty() ? "" : ", ") + jnum(z);
    std::printf("%s\n  {\"name\": %s,\n", i ? "," : "", check::json_quote(a.name).c_str());
    std::printf("   \"range\": {\"bound\": %s, \"sampled_min\": %s, \"sampled_max\": %s, "
                "\"exact\": %s},\n",
                json_interval(a.range_bound).c_str(), jnum(a.sampled_min).c_str(),
                jnum(a.sampled_max).c_str(), a.range_exact ? "true" : "false");
    std::printf("   \"derivative_range\": {\"bound\": %s, \"sampled_min\": %s, \"sampled_max\": "
                "%s, \"exact\": %s},\n",
                json_interval(a.derivative_bound).c_str(), jnum(a.sampled_dmin).c_str(),
                jnum(a.sampled_dmax).c_str(), a.derivative_exact ? "true" : "false");
    std::printf("   \"monotonic\": %s, \"monotonic_proved\": %s, \"smoothness\": %s,\n",
                check::json_quote(a.monotonic).c_str(), a.monotonic_proved ? "true" : "false",
                check::json_quote(a.smoothness).c_str());
    std::printf("   \"kinks\": [%s],\n   \"zero_set\": [%s],\n   \"derivative_zero_set\": [%s],\n"
                "   \"stationary_points\": [%s],\n",
                kinks.c_str(), zeros.c_str(), dzeros.c_str(), stationary.c_str());
    std::printf("   \"normal\": {\"mean\": %s, \"variance\": %s, \"second_moment\": %s, "
                "\"quadrature\": %s,\n     \"p_zero\": %s, \"p_derivative_zero\": %s, "
                "\"p_saturated\": %s},\n",
                jnum(a.mean).c_str(), jnum(a.variance).c_str(), jnum(a.second_moment).c_str(),
                check::json_quote(a.quadrature).c_str(), json_prob(a.p_zero).c_str(),
                json_prob(a.p_dzero).c_str(), json_prob(a.p_saturated).c_str());
    std::printf("   \"gain\": %s, \"torch_gain\": %s, \"torch_nonlinearity\": %s",
                jnum(a.gain).c_str(), a.torch_gain ? jnum(*a.torch_gain).c_str() : "null",
                a.torch_gain ? check::json_quote(a.torch_gain_name).c_str() : "null");
    if (const auto &o = cols[i].ops)
      std::printf(",\n   \"ops\": {\"total\": %d, \"arithmetic\": %d, \"compare\": %d, "
                  "\"select\": %d, \"cast\": %d, \"call\": %d}",
                  o->total(), o->arithmetic, o->compare, o->select, o->cast, o->call);
    if (const auto &s = cols[i].speed)
      std::printf(",\n   \"ns_per_element\": {\"median\": %s, \"min\": %s, \"max\": %s, "
                  "\"n\": 16384, \"dtype\": \"f32\", \"target\": \"host\"}",
                  num(s->median, 4).c_str(), num(s->lo, 4).c_str(), num(s->hi, 4).c_str());
    std::printf("}");
  }
  std::printf("\n]\n");
}
} // namespace

int cmd_analyze(const std::vector<std::string> &argv) {
  const Args args(argv, {"--json", "--no-speed", "--help"}, {"--samples"});
  if (args.flag("--help")) {
    std::fputs(kHelp, stdout);
    return kOk;
  }
  if (args.positional().empty()) throw UsageError{"name an activation or give an expression"};
  const int samples = int_option(args, "--samples", 1000000, 1000, 100000000);
  std::vector<check::Subject> subjects;
  for (const auto &text : args.positional()) {
    check::Subject s = resolve_subject(text);
    if (!s.expr.defined())
      throw UsageError{s.name +
                       " is not elementwise (a maximum over channel groups): not analysed"};
    if (ir::count_inputs(s.expr) > 1)
      throw UsageError{s.name + " is gated (two inputs, x and g): analyze takes activations of one "
                                "input x"};
    subjects.push_back(std::move(s));
  }
  std::vector<Column> cols;
  for (const auto &s : subjects) {
    Column c{dsl::analyze(s.name, s.expr, s.params, {.samples = samples}), {}, {}};
    if (!args.flag("--no-speed")) {
      codegen::KernelSpec spec;
      spec.expr = s.expr;
      c.ops = codegen::halide::count_ops(spec);
      c.speed = measure(s);
    }
    cols.push_back(std::move(c));
  }
  if (args.flag("--json"))
    print_json(cols);
  else
    print_table(cols);
  return kOk;
}

} // namespace actforge::cli
