// hls::lower_float(): every library activation's forward and backward kernel, compiled as C99
// (cc -std=c99 -O2 -ffp-contract=off -pedantic -Wall -Wextra -Werror), free of library calls
// (nm -u of the object is empty), and run on the CI sample of ACTIVATIONS.md against the
// long-double reference: forward <= 4 ulp, backward <= 8 ulp (or 2^-24·max(1,|dy|) absolute where
// the true value is below 2^-20), piecewise-linear kernels equal to the formula evaluated node by
// node in f32; NaN in, NaN out; limits at ±inf.
#include "actforge/check/numeric.hpp"
#include "actforge/codegen/hls/float_lower.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/mutate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using actforge::codegen::Role;
namespace hls = actforge::codegen::hls;
namespace ir = actforge::ir;
namespace dsl = actforge::dsl;

/// Output of a shell command (stdout), and its exit status.
std::pair<std::string, int> shell(const std::string &cmd) {
  std::string out;
  FILE *p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {"", -1};
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p) != nullptr)
    out += buf;
  return {out, pclose(p)};
}

std::string find_cc() {
  const auto [path, rc] = shell("command -v cc 2>/dev/null");
  if (rc != 0 || path.empty()) return "";
  return path.substr(0, path.find('\n'));
}

using KernelFn = void (*)(long, const float *, const float *, const float *, float *, float *);

/// Compiles one kernel's code to an object (checked with nm -u) and a shared library; returns the
/// kernel function (the library stays loaded for the test's life).
KernelFn compile(const std::string &cc, const std::filesystem::path &dir, const std::string &name,
                 const hls::FloatCode &code, bool gated, bool backward) {
  std::ostringstream c;
  c << "#include <stdint.h>\n\n" << code.helpers;
  c << "void af_kernel(long n, const float *x, const float *g, const float *dy, float *o0, "
       "float *o1) {\n  long i;\n";
  if (!gated) c << "  (void)g;\n";
  if (!backward) c << "  (void)dy;\n";
  if (code.outputs.size() < 2) c << "  (void)o1;\n";
  c << "  for (i = 0; i < n; ++i) {\n    const float xv = x[i];\n";
  if (gated) c << "    const float gv = g[i];\n";
  if (backward) c << "    const float dyv = dy[i];\n";
  for (const auto &s : code.statements)
    c << "    " << s << "\n";
  c << "    o0[i] = " << code.outputs.at(0) << ";\n";
  if (code.outputs.size() > 1) c << "    o1[i] = " << code.outputs.at(1) << ";\n";
  c << "  }\n}\n";
  const auto src = dir / (name + ".c"), obj = dir / (name + ".o"), so = dir / (name + ".so");
  std::ofstream(src) << c.str();
  const std::string flags = "-std=c99 -O2 -ffp-contract=off -pedantic -Wall -Wextra -Werror -fPIC";
  const auto [msg, rc] =
      shell(cc + " " + flags + " -c " + src.string() + " -o " + obj.string() + " 2>&1");
  EXPECT_EQ(rc, 0) << name << ": the C does not compile:\n" << msg << "\n" << c.str();
  if (rc != 0) return nullptr;
  const auto [undefined, nm_rc] = shell("nm -u " + obj.string());
  EXPECT_EQ(nm_rc, 0);
  EXPECT_EQ(undefined, "") << name << " calls library functions";
  const auto [msg2, rc2] = shell(cc + " -shared " + obj.string() + " -o " + so.string() + " 2>&1");
  EXPECT_EQ(rc2, 0) << msg2;
  void *h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  EXPECT_NE(h, nullptr) << dlerror();
  if (h == nullptr) return nullptr;
  return reinterpret_cast<KernelFn>(dlsym(h, "af_kernel"));
}

/// |value - exact| in f32 ulps at exact (2^-149 below the normal range); 0 for NaN with NaN.
double ulp_error(long double value, long double exact) {
  if (std::isnan(value) || std::isnan(exact))
    return std::isnan(value) && std::isnan(exact) ? 0 : INFINITY;
  const long double max = std::numeric_limits<float>::max();
  const long double overflow = max + std::ldexp(1.0L, 127 - 24);
  if (std::fabs(exact) >= overflow)
    return std::isinf(value) && std::signbit(value) == std::signbit(exact) ? 0 : INFINITY;
  if (value == exact) return 0;
  if (std::isinf(value) || std::isinf(exact)) return INFINITY;
  int e = 0;
  std::frexp(std::fabs(exact), &e);
  return static_cast<double>(std::fabs(value - exact) / std::ldexp(1.0L, std::max(e, -125) - 24));
}

std::vector<float> sample(const std::vector<long double> &kinks) {
  std::vector<float> v{0.0f,    -0.0f,    0x1p-149f, -0x1p-149f, 0x1p-126f, -0x1p-126f,
                       FLT_MAX, -FLT_MAX, INFINITY,  -INFINITY,  NAN,       88.0f,
                       -88.0f,  20.0f,    -20.0f,    1e-7f,      -1e-7f};
  for (long double k : kinks)
    for (long double dk : {0.0L, 1e-3L, -1e-3L})
      v.push_back(static_cast<float>(k + dk));
  // ACTFORGE_HLS_LOG2_STRIDE (default 10, the CI sample) thins the sample for quick local runs.
  const char *env = std::getenv("ACTFORGE_HLS_LOG2_STRIDE");
  const int log2_stride = env != nullptr ? std::clamp(std::atoi(env), 0, 24) : 10;
  for (std::uint64_t bits = 0; bits < (std::uint64_t{1} << 32);
       bits += std::uint64_t{1} << log2_stride)
    v.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
  return v;
}

/// kernel_check's rule: with an infinite input, compare where the other input is moderate.
bool limit_comparable(long double x, long double g) {
  if (std::isinf(x) && std::isinf(g)) return false;
  const long double other = std::fabs(std::isinf(x) ? g : x);
  return other == 0 || (other >= 0x1p-20L && other <= 16);
}

struct Result {
  double max_ulp = 0;
  long failures = 0;
  std::string first;
};

/// Runs `kernel` on (xs, gs) with each dy of `dys` and checks output `wrt` against `formula`.
Result measure(KernelFn kernel, ir::Expr formula, bool gated, Role role, int wrt, bool pl,
               const std::vector<float> &xs, const std::vector<float> &gs) {
  Result r;
  const std::size_t n = xs.size();
  const ir::Program prog(formula);
  const bool backward = role == Role::Backward;
  // The reference (dy = 1) once per point; the float formula for the exact comparison.
  std::vector<long double> ref(n);
  std::vector<float> same(n);
  for (std::size_t i = 0; i < n; ++i) {
    const long double x = xs[i], g = gated ? gs[i] : 0;
    if (std::isnan(x) || std::isnan(g) ||
        (gated && (std::isinf(x) || std::isinf(g)) && !limit_comparable(x, g))) {
      ref[i] = NAN;
      continue;
    }
    const bool along_g = gated && std::isinf(g);
    const actforge::check::Probe probe{&prog, {x, g}, {}, along_g ? 1 : 0, false};
    ref[i] = actforge::check::reference_value(probe, along_g ? g : x);
    if (pl && std::isfinite(x) && std::isfinite(g))
      same[i] = prog.eval<float>(std::vector<float>{xs[i], gated ? gs[i] : 0.0f}, {});
  }
  std::vector<std::vector<float>> dy_sets;
  if (!backward) {
    dy_sets.push_back(std::vector<float>(n, 1.0f));
  } else {
    for (float d : {1.0f, 0.0f, INFINITY, -INFINITY})
      dy_sets.push_back(std::vector<float>(n, d));
    std::vector<float> mixed(n);
    for (std::size_t i = 0; i < n; ++i)
      mixed[i] = i % 3 == 0 ? -0.75f : 1.25f;
    dy_sets.push_back(mixed);
  }
  std::vector<float> o0(n), o1(n);
  for (const auto &dy : dy_sets) {
    kernel(static_cast<long>(n), xs.data(), gated ? gs.data() : nullptr, dy.data(), o0.data(),
           o1.data());
    const std::vector<float> &out = wrt == 0 ? o0 : o1;
    for (std::size_t i = 0; i < n; ++i) {
      const long double x = xs[i], g = gated ? gs[i] : 0, d = dy[i], got = out[i];
      auto fail = [&](const std::string &what) {
        if (r.failures++ < 1)
          r.first = "at x=" + std::to_string(static_cast<double>(x)) +
                    (gated ? " g=" + std::to_string(static_cast<double>(g)) : "") +
                    " dy=" + std::to_string(static_cast<double>(d)) + ": " + what;
      };
      if (std::isnan(x) || std::isnan(g)) {
        if (!std::isnan(got)) fail("NaN in, " + std::to_string(static_cast<double>(got)) + " out");
        continue;
      }
      if (std::isnan(ref[i]) && gated && (std::isinf(x) || std::isinf(g)) &&
          !limit_comparable(x, g))
        continue;
      const long double exact = d * ref[i];
      char text[160];
      std::snprintf(text, sizeof text, "got %.9Lg, want %.12Lg", got, exact);
      if (std::isinf(d)) {
        // dy = ±inf: ±inf where f' is a normal f32, NaN where f' = 0; tiny f' may give either.
        const long double fp = std::fabs(ref[i]);
        const bool ok = fp == 0 || std::isnan(fp) ? std::isnan(got)
                        : fp >= 0x1p-126L         ? got == exact
                                                  : std::isnan(got) || got == exact;
        if (!ok) fail(text);
        continue;
      }
      if (pl && std::isfinite(x) && std::isfinite(g)) {
        const float want = backward ? static_cast<float>(dy[i]) * same[i] : same[i];
        if (!(std::bit_cast<std::uint32_t>(want) == std::bit_cast<std::uint32_t>(out[i]) ||
              (std::isnan(want) && std::isnan(out[i])))) {
          std::snprintf(text, sizeof text, "got %.9g, the formula in f32 gives %.9g", out[i], want);
          fail(text);
        }
        continue;
      }
      const double err = ulp_error(got, exact);
      const double bound = backward ? 8 : 4;
      const bool tiny = std::fabs(exact) < 0x1p-20L;
      const bool ok =
          err <= bound ||
          (backward && tiny && std::fabs(got - exact) <= 0x1p-24L * std::max(1.0L, std::fabs(d)));
      if (!ok) fail(std::string(text) + " (" + std::to_string(err) + " ulp)");
      if (std::isfinite(err)) r.max_ulp = std::max(r.max_ulp, err);
    }
  }
  return r;
}

ir::Expr with_params(const dsl::Entry &e) {
  const dsl::ParamValues values = e.sample_params();
  std::unordered_map<ir::Expr, ir::Expr, ir::ExprHash> map;
  ir::for_each_node(e.expr, [&](ir::Expr n) {
    if (n.kind() == ir::Kind::Param) map.emplace(n, ir::constant(values.at(n.param_name())));
  });
  return ir::substitute(e.expr, map);
}

TEST(HlsFloat, RejectsParametersAndOtherRoles) {
  EXPECT_THROW(hls::lower_float(ir::param("a", 1.0L) * ir::input(0), Role::Forward),
               actforge::Error);
  EXPECT_THROW(hls::lower_float(ir::sigmoid(ir::input(0)), Role::ParamGrad), actforge::Error);
  EXPECT_THROW(hls::lower_float(ir::sigmoid(ir::input(0)), Role::BackwardFromOutput),
               actforge::Error);
}

TEST(HlsFloat, CodeShape) {
  const hls::FloatCode code = hls::lower_float(ir::sigmoid(ir::input(0)), Role::Forward);
  EXPECT_EQ(code.outputs.size(), 1u);
  EXPECT_NE(code.helpers.find("static float af_sigmoid("), std::string::npos) << code.helpers;
  for (const char *banned : {"if (", "if(", "double", "expf", "fmaf", "while", "memcpy"})
    EXPECT_EQ(code.helpers.find(banned), std::string::npos) << banned;
  for (const auto &s : code.statements)
    EXPECT_EQ(s.rfind("const ", 0), 0u) << s;
  EXPECT_GT(code.ops.multipliers, 5);
  EXPECT_GT(code.ops.dividers, 0);
  const hls::FloatCode relu =
      hls::lower_float(ir::max(ir::input(0), ir::constant(0)), Role::Forward);
  EXPECT_EQ(relu.ops.multipliers, 0);
  EXPECT_LE(relu.ops.comparators + relu.ops.selects, 6);
}

TEST(HlsFloat, EveryActivationWithinBounds) {
  const std::string cc = find_cc();
  if (cc.empty()) GTEST_SKIP() << "no C compiler (cc) on PATH";
  char tmpl[] = "/tmp/actforge_hls_float_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir(tmpl);
  std::printf("%-12s %-9s %9s %9s %9s  %s\n", "activation", "class", "fwd ulp", "bwd dx", "bwd dg",
              "ops fwd / bwd (mul add div cmp sel)");
  for (const auto &e : dsl::catalog()) {
    if (e.shape == dsl::Shape::Maxout) continue;
    const ir::Expr f = with_params(e);
    const bool gated = e.shape == dsl::Shape::Gated;
    const bool pl = e.info.family == dsl::Family::PiecewiseLinear;
    std::vector<long double> kinks;
    for (int k = 0; k < e.info.n_kinks; ++k)
      kinks.push_back(e.info.kinks[static_cast<std::size_t>(k)].at);
    const std::vector<float> base = sample(kinks);
    std::vector<float> xs = base, gs;
    if (gated) {
      // kernel_check's pairs: every value against a scrambled partner, plus the special pairs.
      const std::size_t n = base.size();
      for (std::size_t i = 0; i < n; ++i)
        gs.push_back(base[(i * 2654435761u + 12345) % n]);
      const std::vector<float> sp(base.begin(), base.begin() + 17);
      for (float a : sp)
        for (float b : sp) {
          xs.push_back(a);
          gs.push_back(b);
        }
    }
    double ulps[3] = {0, 0, 0};
    std::string ops_text;
    for (Role role : {Role::Forward, Role::Backward}) {
      const bool backward = role == Role::Backward;
      const hls::FloatCode code = hls::lower_float(f, role);
      ASSERT_EQ(code.outputs.size(), backward && gated ? 2u : 1u);
      const auto &o = code.ops;
      ops_text += (backward ? " / " : "") + std::to_string(o.multipliers) + " " +
                  std::to_string(o.adders) + " " + std::to_string(o.dividers) + " " +
                  std::to_string(o.comparators) + " " + std::to_string(o.selects);
      const std::string name = e.name + (backward ? "_bwd" : "_fwd");
      const KernelFn kernel = compile(cc, dir, name, code, gated, backward);
      if (kernel == nullptr) continue;
      for (int wrt = 0; wrt < (backward && gated ? 2 : 1); ++wrt) {
        const ir::Expr formula = backward ? ir::differentiate(f, ir::input(wrt)) : f;
        const Result r = measure(kernel, formula, gated, role, wrt, pl, xs, gs);
        ulps[backward ? 1 + wrt : 0] = r.max_ulp;
        EXPECT_EQ(r.failures, 0) << name << (wrt ? " (dg)" : "") << ": " << r.failures
                                 << " points out of bounds, first " << r.first;
      }
    }
    std::printf("%-12s %-9s %9.3f %9.3f %9s  %s\n", e.name.c_str(), pl ? "exact" : "transc",
                ulps[0], ulps[1], gated ? std::to_string(ulps[2]).substr(0, 6).c_str() : "-",
                ops_text.c_str());
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
}

} // namespace
