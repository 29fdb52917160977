// actforge report: the project's main job — correctness, speed and tuning of every library
// activation on every target that runs here, and the classic relu-vs-sigmoid comparison.
#include "cli.hpp"

#include "actforge/dsl/catalog.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/jit.hpp"
#include "actforge/runtime/kernel_check.hpp"
#include "actforge/runtime/tune.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>

namespace actforge::cli {
namespace {
constexpr const char *kHelp =
    R"(usage: actforge report [NAME|EXPR...] [--targets T,...] [--no-speed] [--json]
                       [--sample-stride N]

The project's main job. For every library activation (or the ones named) on every target that
runs on this machine:
  correctness  its f32 kernels (forward, backward[_g], backward_from_output, param_grad) against
               the long-double reference, as `actforge check --target T --dtype f32` does: max
               ULP forward and backward, the gradient check's max relative error, pass/fail
  speed        (host only) forward and backward at 16 Ki elements (in cache) and 16 Mi (out of
               cache), 1 thread, median of repeated runs, as a fraction of memcpy of the same
               bytes timed in the same run (1.0 = as fast as copying the bytes)
  tuning       the schedule the tuning database gives each kernel (`actforge tune`) and its
               speed-up over the default measured now, side by side
and the classic comparison: relu's forward time as a fraction of sigmoid's (the seed paper puts
it at 12-17 % on a mobile CPU).

  --targets T,...   of host, mlir (the MLIR backend on host), arm-64-linux and
                    arm-64-linux-fp16 (under qemu-aarch64), cuda (a GPU), fpga (C simulation);
                    default: all six; those that cannot run here are listed with the reason
  --no-speed        correctness only
  --sample-stride N every 2^N-th f32 pattern (default 12: about a million points per kernel)
  --json            one JSON object instead of the tables

Progress goes to stderr. Exit code 0 when every check passes, 1 when one fails, 2 on bad usage.
)";

std::string fmt(const char *f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

/// A JSON number, or null for inf/NaN (which JSON lacks).
std::string number(double v) { return std::isfinite(v) ? fmt("%.6g", v) : "null"; }

struct Correctness {
  double fwd_ulp = 0, bwd_ulp = 0, grad_err = 0;
  bool fwd_widened = false, bwd_widened = false; // some points held to the formula's bound
  int pass = 0, fail = 0, skip = 0;
  std::string first_failure;
};

struct Speed {
  double fwd_cache = 0, bwd_cache = 0, fwd_dram = 0, bwd_dram = 0; // ÷ memcpy
  double fwd_cache_ns = 0;                                         // per call
  std::string fwd_origin, bwd_origin;                              // the schedule chosen
  double fwd_tuned_gain = 0, bwd_tuned_gain = 0; // default ÷ chosen, cache; 0: no entry
};

struct Buffers {
  std::int64_t n;
  std::vector<float> x, dy, y, copy_from, copy_to;
  explicit Buffers(std::int64_t count) : n(count) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-8, 8), g(-1, 1);
    x.resize(n), dy.resize(n), y.resize(n);
    for (std::int64_t i = 0; i < n; ++i) {
      x[i] = u(rng);
      dy[i] = g(rng);
    }
    copy_from.assign(3 * n, 1.0f);
    copy_to.assign(3 * n, 0.0f);
  }
};

/// Median seconds per call of `k` on `b`, and of memcpy of the same bytes.
std::pair<double, double> time_kernel(const Kernel &k, Buffers &b, const Params &params) {
  const bool bwd = k.role() == Role::Backward;
  auto call = [&] {
    if (bwd)
      k.run({b.x.data(), b.dy.data()}, {b.y.data()}, Shape::flat(b.n), params);
    else
      k.run({b.x.data()}, {b.y.data()}, Shape::flat(b.n), params);
  };
  const std::size_t bytes = static_cast<std::size_t>(b.n) * (bwd ? 6 : 4);
  auto copy = [&] { std::memcpy(b.copy_to.data(), b.copy_from.data(), bytes); };
  const double min_time = b.n > (1 << 20) ? 0.05 : 0.005;
  // Alternately, so that both see the same machine (it is shared and noisy).
  const auto [t, c] = runtime::tune::time_pair(call, copy, 7, min_time);
  return {t.median, c.median};
}

/// Median seconds per call of kernels a and b on `cache`, timed alternately.
std::pair<double, double> time_two(const Kernel &a, const Kernel &b, Buffers &buf,
                                   const Params &params) {
  auto call = [&](const Kernel &k) {
    return [&k, &buf, &params] {
      if (k.role() == Role::Backward)
        k.run({buf.x.data(), buf.dy.data()}, {buf.y.data()}, Shape::flat(buf.n), params);
      else
        k.run({buf.x.data()}, {buf.y.data()}, Shape::flat(buf.n), params);
    };
  };
  const auto [ta, tb] = runtime::tune::time_pair(call(a), call(b), 7, 0.005);
  return {ta.median, tb.median};
}

} // namespace

int cmd_report(const std::vector<std::string> &argv) {
  const Args args(argv, {"--no-speed", "--json", "--help", "-h"}, {"--targets", "--sample-stride"});
  if (args.flag("--help") || args.flag("-h")) {
    std::fputs(kHelp, stdout);
    return kOk;
  }
  std::vector<check::Subject> subjects;
  for (const std::string &n : args.positional())
    subjects.push_back(resolve_subject(n));
  if (subjects.empty())
    for (const dsl::Entry &e : dsl::catalog())
      subjects.push_back(check::make_subject(e.name));
  std::vector<std::string> targets{"host", "mlir", "arm-64-linux", "arm-64-linux-fp16",
                                   "cuda", "fpga"};
  if (auto t = args.option("--targets")) targets = split(*t);
  for (const std::string &t : targets)
    if (t != "host" && t != "mlir" && t != "arm-64-linux" && t != "arm-64-linux-fp16" &&
        t != "cuda" && t != "fpga")
      throw UsageError{"unknown target '" + t +
                       "' (host, mlir, arm-64-linux, arm-64-linux-fp16, cuda, fpga)"};
  std::vector<std::pair<std::string, std::string>> skipped; // target, why
  std::vector<std::string> run;
  const int stride = int_option(args, "--sample-stride", 12, 0, 24);
  const bool speed = !args.flag("--no-speed");
  const bool json = args.flag("--json");
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };

  // Correctness: per target, per activation.
  std::map<std::string, std::map<std::string, Correctness>> correct;
  bool any_failure = false;
  for (const std::string &t : targets) {
    int done = 0;
    bool runs = true;
    for (const check::Subject &s : subjects) {
      std::fprintf(stderr, "report: %s %d/%zu %s (%.0f s)\n", t.c_str(), ++done, subjects.size(),
                   s.name.c_str(), elapsed());
      runtime::KernelCheckOptions o;
      o.target = t == "mlir" ? "host" : t;
      o.backend = t == "mlir" ? "mlir" : "halide";
      o.dtypes = {DType::F32};
      o.log2_stride = stride;
      const auto records = runtime::check_kernels(s, o);
      // A target that cannot run here skips every record of a kernel, saying why: list it once.
      if (s.expr.defined() && !records.empty() &&
          std::all_of(records.begin(), records.end(),
                      [](const check::Record &r) { return r.status == check::Status::Skip; })) {
        skipped.emplace_back(t, records.front().reason);
        runs = false;
        break;
      }
      Correctness &c = correct[t][s.name];
      for (const check::Record &r : records) {
        if (r.status == check::Status::Skip) {
          ++c.skip;
          continue;
        }
        if (r.status == check::Status::Fail) {
          ++c.fail;
          any_failure = true;
          if (c.first_failure.empty()) c.first_failure = r.role + ": " + r.reason;
          continue;
        }
        ++c.pass;
        const double ulp = r.max_ulp.value_or(0);
        const bool widened = r.reason.find("formula's own error bound") != std::string::npos;
        if (r.role == "forward") {
          c.fwd_ulp = std::max(c.fwd_ulp, ulp);
          c.fwd_widened = c.fwd_widened || widened;
        }
        if (r.role.rfind("backward", 0) == 0) {
          c.bwd_ulp = std::max(c.bwd_ulp, ulp);
          c.bwd_widened = c.bwd_widened || widened;
        }
        c.grad_err = std::max(c.grad_err, r.max_rel_grad_err.value_or(0));
      }
    }
    if (runs)
      run.push_back(t);
    else
      correct.erase(t);
  }

  // Speed on the host, through jit() as a user gets it (the tuning database consulted).
  std::map<std::string, Speed> speeds;
  if (speed) {
    Buffers cache(16384), dram(1 << 24);
    int done = 0;
    for (const check::Subject &s : subjects) {
      ++done;
      if (!s.expr.defined() || ir::count_inputs(s.expr) > 1) continue; // gated: two inputs
      std::fprintf(stderr, "report: speed %d/%zu %s (%.0f s)\n", done, subjects.size(),
                   s.name.c_str(), elapsed());
      Params params;
      for (const auto &[name, value] : s.params)
        params[name] = value;
      Speed &sp = speeds[s.name];
      for (Role role : {Role::Forward, Role::Backward}) {
        const bool fwd = role == Role::Forward;
        JitOptions o{role, DType::F32, "host"};
        o.size_hint = cache.n;
        const Kernel k_cache = jit(s.expr, o, s.name);
        o.size_hint = dram.n;
        const Kernel k_dram = jit(s.expr, o, s.name);
        const auto [tc, mc] = time_kernel(k_cache, cache, params);
        const auto [td, md] = time_kernel(k_dram, dram, params);
        (fwd ? sp.fwd_cache : sp.bwd_cache) = mc / tc;
        (fwd ? sp.fwd_dram : sp.bwd_dram) = md / td;
        if (fwd) sp.fwd_cache_ns = tc * 1e9;
        (fwd ? sp.fwd_origin : sp.bwd_origin) = k_cache.schedule().describe();
        if (k_cache.schedule_origin().rfind("tuned", 0) == 0) {
          o.use_tuning_db = false;
          const Kernel plain = jit(s.expr, o, s.name);
          double gain = 1; // the tuned schedule is the default: nothing to measure
          if (plain.schedule() != k_cache.schedule()) {
            const auto [t_plain, t_tuned] = time_two(plain, k_cache, cache, params);
            gain = t_plain / t_tuned;
          }
          (fwd ? sp.fwd_tuned_gain : sp.bwd_tuned_gain) = gain;
        }
      }
    }
  }

  const bool classic = speeds.count("relu") && speeds.count("sigmoid");
  const double ratio = classic ? speeds["relu"].fwd_cache_ns / speeds["sigmoid"].fwd_cache_ns : 0;
  if (json) {
    std::printf("{\n  \"cpu\": %s,\n  \"targets\": [",
                check::json_quote(runtime::tune::this_machine().cpu).c_str());
    for (std::size_t i = 0; i < run.size(); ++i)
      std::printf("%s\"%s\"", i ? ", " : "", run[i].c_str());
    std::printf("],\n  \"not_run\": [");
    for (std::size_t i = 0; i < skipped.size(); ++i)
      std::printf("%s\n    {\"target\": \"%s\", \"reason\": %s}", i ? "," : "",
                  skipped[i].first.c_str(), check::json_quote(skipped[i].second).c_str());
    std::printf("],\n  \"correctness\": [");
    bool first = true;
    for (const auto &[t, per] : correct)
      for (const auto &[a, c] : per) {
        std::printf("%s\n    {\"target\": \"%s\", \"activation\": %s, \"pass\": %d, \"fail\": %d, "
                    "\"skip\": %d, \"max_ulp_forward\": %s, \"max_ulp_backward\": %s, "
                    "\"max_rel_grad_err\": %s}",
                    first ? "" : ",", t.c_str(), check::json_quote(a).c_str(), c.pass, c.fail,
                    c.skip, number(c.fwd_ulp).c_str(), number(c.bwd_ulp).c_str(),
                    number(c.grad_err).c_str());
        first = false;
      }
    std::printf("\n  ],\n  \"speed\": [");
    first = true;
    for (const auto &[a, sp] : speeds) {
      std::printf("%s\n    {\"activation\": %s, \"forward_cache_vs_memcpy\": %.4f, "
                  "\"backward_cache_vs_memcpy\": %.4f, \"forward_dram_vs_memcpy\": %.4f, "
                  "\"backward_dram_vs_memcpy\": %.4f, \"forward_schedule\": \"%s\", "
                  "\"backward_schedule\": \"%s\", \"forward_tuned_speedup\": %.4f, "
                  "\"backward_tuned_speedup\": %.4f}",
                  first ? "" : ",", check::json_quote(a).c_str(), sp.fwd_cache, sp.bwd_cache,
                  sp.fwd_dram, sp.bwd_dram, sp.fwd_origin.c_str(), sp.bwd_origin.c_str(),
                  sp.fwd_tuned_gain, sp.bwd_tuned_gain);
      first = false;
    }
    std::printf("\n  ],\n  \"relu_forward_over_sigmoid\": %s\n}\n",
                classic ? fmt("%.4f", ratio).c_str() : "null");
    return any_failure ? kCheckFailed : kOk;
  }

  std::printf("Actforge report — %s, %d hardware threads\n\n",
              runtime::tune::this_machine().cpu.c_str(), runtime::tune::this_machine().threads);
  for (const auto &[t, why] : skipped)
    std::printf("target %s: not run here (%s)\n", t.c_str(), why.c_str());
  for (const std::string &t : run) {
    std::printf("\n== correctness: %s, f32, every 2^%d-th pattern + specials ==\n", t.c_str(),
                stride);
    std::printf("%-14s %5s %5s %5s %10s %10s %12s  %s\n", "activation", "pass", "fail", "skip",
                "ulp fwd", "ulp bwd", "gradcheck", "notes");
    for (const check::Subject &s : subjects) {
      const Correctness &c = correct[t][s.name];
      std::printf("%-14s %5d %5d %5d %10s %10s %12s  %s\n", s.name.c_str(), c.pass, c.fail, c.skip,
                  c.pass ? (fmt("%.2f", c.fwd_ulp) + (c.fwd_widened ? "*" : "")).c_str() : "-",
                  c.pass ? (fmt("%.2f", c.bwd_ulp) + (c.bwd_widened ? "*" : "")).c_str() : "-",
                  c.grad_err > 0 ? fmt("%.2e", c.grad_err).c_str() : "-",
                  c.first_failure.substr(0, 80).c_str());
    }
  }
  if (!run.empty())
    std::printf(
        "\nulp: max error in f32 ulps against the long-double reference (piecewise-linear "
        "kernels: 0, equal to their formula); *: the max includes points where the check "
        "holds the kernel to its formula's own f32 error bound instead (cancellation near a "
        "root of f', gated products at extreme pairs: `actforge check --target T` counts "
        "them); gradcheck: max relative error of backward against central differences\n");
  if (speed) {
    std::printf("\n== speed: host, f32, 1 thread, ÷ memcpy of the same bytes (1.0 = copy speed) "
                "==\n");
    std::printf("%-14s %9s %9s %9s %9s  %-12s %-12s %8s %8s\n", "activation", "fwd 16Ki",
                "bwd 16Ki", "fwd 16Mi", "bwd 16Mi", "fwd sched", "bwd sched", "fwd tune",
                "bwd tune");
    for (const auto &[a, sp] : speeds)
      std::printf("%-14s %9.2f %9.2f %9.2f %9.2f  %-12s %-12s %8s %8s\n", a.c_str(), sp.fwd_cache,
                  sp.bwd_cache, sp.fwd_dram, sp.bwd_dram, sp.fwd_origin.c_str(),
                  sp.bwd_origin.c_str(),
                  sp.fwd_tuned_gain > 0 ? fmt("%.2fx", sp.fwd_tuned_gain).c_str() : "default",
                  sp.bwd_tuned_gain > 0 ? fmt("%.2fx", sp.bwd_tuned_gain).c_str() : "default");
    std::printf("sched: the schedule jit() chose at 16 Ki; tune: its speed-up over the default "
                "schedule, measured now (\"default\": no tuning database entry — run `actforge "
                "tune`)\n");
  }
  if (classic)
    std::printf("\nclassic: relu's forward takes %.0f %% of sigmoid's time here (16 Ki f32, 1 "
                "thread; the seed paper: 12-17 %% on a mobile CPU)\n",
                100 * ratio);
  std::printf("\n%s (%.0f s)\n", any_failure ? "SOME CHECKS FAILED" : "all checks passed",
              elapsed());
  return any_failure ? kCheckFailed : kOk;
}

} // namespace actforge::cli
