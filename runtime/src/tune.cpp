// tune_activation(): the measured schedule search of one activation (runtime/tune.hpp).
#include "actforge/runtime/tune.hpp"

#include "actforge/check/reference.hpp"
#include "actforge/dsl/from_output.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/autoschedule.hpp"
#include "actforge/runtime/kernel_check.hpp"
#include "actforge/targets/target.hpp"
#include "actforge/targets/x86.hpp"
#include "kernel_loader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <random>

namespace actforge::runtime::tune {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Seconds per call of `calls` back-to-back calls.
double timed_batch(const std::function<void()> &call, int calls) {
  const auto t = Clock::now();
  for (int i = 0; i < calls; ++i)
    call();
  return seconds_since(t) / calls;
}

/// Calls per timed run so that one run lasts at least min_time_s (from one timed call).
int batch_size(const std::function<void()> &call, double min_time_s) {
  const double once = std::max(timed_batch(call, 1), 1e-9);
  return static_cast<int>(std::clamp(min_time_s / once, 1.0, 1e6));
}

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

/// 64-byte aligned storage for one array.
struct Array {
  std::unique_ptr<std::byte, decltype(&std::free)> data{nullptr, &std::free};
  std::size_t bytes = 0;
  explicit Array(std::size_t b)
      : data(static_cast<std::byte *>(std::aligned_alloc(64, (b + 63) / 64 * 64)), &std::free),
        bytes(b) {
    if (!data) throw Error("tune: cannot allocate " + std::to_string(b) + " bytes");
  }
};

/// Uniform values in [lo, hi) in the dtype's storage.
void fill(Array &a, DType dtype, std::int64_t n, double lo, double hi, std::mt19937_64 &rng) {
  std::uniform_real_distribution<double> u(lo, hi);
  const std::size_t size = dtype == DType::F64 ? 8 : dtype == DType::F32 ? 4 : 2;
  for (std::int64_t i = 0; i < n; ++i)
    codegen::store_value(a.data.get() + static_cast<std::size_t>(i) * size, dtype, u(rng));
}

/// The arrays of one size class: inputs, outputs and memcpy's source and destination.
struct Case {
  std::int64_t n = 0;
  std::vector<Array> in, out;
  std::vector<const void *> in_ptr;
  std::vector<void *> out_ptr;
  std::unique_ptr<Array> copy_from, copy_to;
};

Case make_case(std::int64_t n, const Kernel &k, DType dtype, int element_bytes, int bpe,
               std::uint64_t seed) {
  Case c;
  c.n = n;
  std::mt19937_64 rng(seed);
  const std::size_t bytes = static_cast<std::size_t>(n) * element_bytes;
  for (const Port &p : k.input_ports()) {
    c.in.emplace_back(bytes);
    // x and g over the activations' interesting range; y of backward_from_output and dy small.
    const bool grad = p.name == "dy";
    fill(c.in.back(), dtype, n, grad ? -1 : -8, grad ? 1 : 8, rng);
  }
  for (std::size_t i = 0; i < k.output_ports().size(); ++i) {
    c.out.emplace_back(bytes);
    std::memset(c.out.back().data.get(), 0, bytes);
  }
  for (const Array &a : c.in)
    c.in_ptr.push_back(a.data.get());
  for (Array &a : c.out)
    c.out_ptr.push_back(a.data.get());
  // memcpy of the same bytes: half the traffic of one call (read and write each byte once).
  const std::size_t copy_bytes = static_cast<std::size_t>(n) * bpe / 2;
  c.copy_from = std::make_unique<Array>(copy_bytes);
  c.copy_to = std::make_unique<Array>(copy_bytes);
  std::memset(c.copy_from->data.get(), 1, copy_bytes);
  std::memset(c.copy_to->data.get(), 0, copy_bytes);
  return c;
}

/// Silences stderr (fd 2) while alive: Halide's autoschedulers print their search and Halide's
/// warnings there, hundreds of lines that would bury the tuner's progress.
class QuietStderr {
public:
  QuietStderr() : saved_(::dup(2)) {
    std::fflush(stderr);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, 2);
      ::close(null);
    }
  }
  ~QuietStderr() {
    std::fflush(stderr);
    if (saved_ >= 0) {
      ::dup2(saved_, 2);
      ::close(saved_);
    }
  }
  QuietStderr(const QuietStderr &) = delete;
  QuietStderr &operator=(const QuietStderr &) = delete;

private:
  int saved_;
};

void set_threads(int threads) {
  using SetThreads = int (*)(int);
  reinterpret_cast<SetThreads>(runtime_symbol("halide_set_num_threads"))(threads);
}

} // namespace

codegen::tune::Stats time_calls(const std::function<void()> &call, int repetitions,
                                double min_time_s) {
  if (repetitions < 1) throw Error("tune: at least one repetition");
  // Warm-up (caches, page faults of fresh arrays, the thread pool, frequency): 20 ms or twice
  // min_time_s of calls, at least one; a long call (out of cache) is its own warm-up.
  const auto warm = Clock::now();
  double once = timed_batch(call, 1);
  while (once < min_time_s && seconds_since(warm) < std::min(0.02, min_time_s * 2))
    once = timed_batch(call, 1);
  const int calls = static_cast<int>(std::clamp(min_time_s / std::max(once, 1e-9), 1.0, 1e6));
  std::vector<double> times;
  for (int r = 0; r < repetitions; ++r)
    times.push_back(timed_batch(call, calls));
  return codegen::tune::summarize(std::move(times));
}

std::pair<codegen::tune::Stats, codegen::tune::Stats> time_pair(const std::function<void()> &a,
                                                                const std::function<void()> &b,
                                                                int repetitions,
                                                                double min_time_s) {
  time_calls(a, 1, min_time_s); // warm both
  time_calls(b, 1, min_time_s);
  const int ca = batch_size(a, min_time_s), cb = batch_size(b, min_time_s);
  std::vector<double> ta, tb;
  for (int r = 0; r < repetitions; ++r) {
    ta.push_back(timed_batch(a, ca));
    tb.push_back(timed_batch(b, cb));
  }
  return {codegen::tune::summarize(std::move(ta)), codegen::tune::summarize(std::move(tb))};
}

std::vector<JobResult> tune_activation(std::string_view name_or_text, const Options &o,
                                       const Hooks &hooks) {
  const check::Subject s = check::make_subject(name_or_text);
  if (!s.expr.defined()) throw Error(s.name + " is not elementwise: no kernel to tune");
  const targets::TargetInfo info = targets::resolve(o.target);
  if (info.family != targets::Family::X86)
    throw Error("tuning measures kernels on this machine: " + info.name +
                " kernels cannot be timed here (tune on that hardware and import its entries "
                "into the database; meanwhile they use the default schedule)");
  if (!targets::x86::cpu_supports(info.name)) throw Error("this CPU cannot run " + info.name);
  if (o.threads < 1) throw Error("tune: threads must be at least 1");
  if (o.classes.empty()) throw Error("tune: no size class to measure");
  const Machine &m = this_machine();
  const int bits = o.dtype == DType::F64 ? 64 : 32;
  const int element_bytes = o.dtype == DType::F64 ? 8 : o.dtype == DType::F32 ? 4 : 2;
  const codegen::Schedule natural = codegen::default_schedule(info.vector_bits, bits);
  const int inputs = static_cast<int>(ir::count_inputs(s.expr));
  Params params;
  for (const auto &[name, value] : s.params)
    params[name] = value;
  set_threads(o.threads);

  std::vector<JobResult> results;
  for (Role role : o.roles) {
    const std::string job = s.name + " " + std::string(codegen::to_string(role));
    if (role == Role::ParamGrad) {
      hooks.note(job + ": skipped (param_grad is a serial reduction; its schedule is fixed)");
      continue;
    }
    if (role == Role::BackwardFromOutput && (inputs > 1 || !dsl::find_from_output(s.expr))) {
      hooks.note(job + ": skipped (no derivative from the output)");
      continue;
    }
    JitOptions base{role, o.dtype, info.name, natural};
    base.use_tuning_db = false;
    const Kernel reference_kernel = jit(s.expr, base, s.name);
    const int bpe = bytes_per_element(role, o.dtype, inputs);
    std::vector<Case> cases;
    for (SizeClass c : o.classes)
      cases.push_back(make_case(representative_n(c, bpe, m), reference_kernel, o.dtype,
                                element_bytes, bpe, o.seed + cases.size()));

    auto kernel_for = [&](const codegen::Schedule &schedule) {
      JitOptions jo = base;
      jo.schedule = schedule;
      return jit(s.expr, jo, s.name);
    };
    auto call = [&](const Kernel &k, Case &c) {
      return [&k, &c, &params] {
        k.run(std::span<const void *const>(c.in_ptr), std::span<void *const>(c.out_ptr), c.n,
              params);
      };
    };
    codegen::tune::Callbacks cb;
    cb.clock = [start = Clock::now()] { return seconds_since(start); };
    cb.stop = hooks.stop;
    cb.progress = [&](int done, int total, const codegen::tune::Trial &t) {
      hooks.trial(job, done, total, t);
    };
    cb.evaluate = [&](const codegen::Schedule &schedule) {
      codegen::tune::Evaluation e;
      try {
        const Kernel k = kernel_for(schedule);
        KernelCheckOptions co;
        co.target = info.name;
        co.dtypes = {o.dtype};
        co.log2_stride = 14;
        co.schedule = schedule;
        co.roles = {role};
        for (const check::Record &r : check_kernels(s, co))
          if (r.status == check::Status::Fail) {
            e.failure = "check " + r.role + ": " + r.reason;
            return e;
          }
        for (Case &c : cases)
          e.classes.push_back(time_calls(call(k, c), o.repetitions, o.min_time_s));
      } catch (const Error &err) {
        e.failure = err.what();
        e.classes.clear();
      }
      return e;
    };
    JobResult r;
    r.activation = s.name;
    r.role = role;
    codegen::tune::SpaceOptions so{natural, o.threads, cases.back().n};
    const auto space = codegen::tune::space(so);
    codegen::tune::SearchOptions search_options;
    search_options.budget_s = o.budget_s;
    search_options.seed = o.seed;
    search_options.classes = static_cast<int>(cases.size());
    r.search = codegen::tune::search(space, search_options, cb);

    r.search_s = cb.clock();
    // Confirmation, memcpy and Halide's autoschedulers, per class. memcpy and each
    // autoscheduled kernel are timed alternately with the chosen kernel (the machine is shared
    // and noisy) and recorded scaled to its time: their ratios are what the entry keeps.
    const Kernel default_kernel = kernel_for(natural);
    const codegen::KernelSpec spec{s.expr, role, o.dtype, Layout::Flat, {}, {}};
    for (std::size_t ci = 0; ci < cases.size(); ++ci) {
      Case &c = cases[ci];
      Entry e;
      e.key = {expression_hash(s.expr),
               std::string(codegen::to_string(role)),
               std::string(codegen::to_string(o.dtype)),
               info.name,
               m.cpu,
               std::string(to_string(o.classes[ci]))};
      e.activation = s.name;
      e.default_schedule = natural.describe();
      e.threads = o.threads;
      e.n = c.n;
      e.trials = static_cast<int>(r.search.trials.size());
      e.strategy = r.search.exhaustive ? "exhaustive" : "random+local";
      e.date = today();
      e.schedule = natural;
      const codegen::Schedule best = r.search.best[ci];
      std::optional<Kernel> tuned;
      if (best != natural) {
        hooks.note(job + " " + e.key.size_class + ": confirming " + best.describe() + " against " +
                   natural.describe());
        const Kernel candidate = kernel_for(best);
        const auto [d, t] =
            time_pair(call(default_kernel, c), call(candidate, c), 2 * o.repetitions, o.min_time_s);
        e.default_ns = d.median * 1e9;
        e.noise = std::max(d.noise(), t.noise());
        if (codegen::tune::beats(t, d)) {
          e.schedule = best;
          e.tuned_ns = t.median * 1e9;
          tuned = candidate;
        } else {
          e.tuned_ns = e.default_ns;
          hooks.note(job + " " + e.key.size_class + ": " + best.describe() +
                     " did not beat the default beyond the noise on re-measurement: kept the "
                     "default");
        }
      }
      const Kernel &chosen = tuned ? *tuned : default_kernel;
      auto copy = [&c] {
        std::memcpy(c.copy_to->data.get(), c.copy_from->data.get(), c.copy_from->bytes);
      };
      const auto [k, mc] = time_pair(call(chosen, c), copy, o.repetitions, o.min_time_s);
      if (!tuned && best == natural) {
        e.default_ns = e.tuned_ns = k.median * 1e9;
        e.noise = k.noise();
      }
      e.memcpy_ns = e.tuned_ns * mc.median / k.median;
      for (const std::string &name :
           o.autoschedulers ? autoschedule::names() : std::vector<std::string>{}) {
        if (hooks.stop()) break;
        if (std::string why = autoschedule::problem(name); !why.empty()) {
          r.autoscheduler_problems[name] = why;
          continue;
        }
        try {
          const autoschedule::Kernel a = [&] {
            QuietStderr quiet;
            return autoschedule::compile(spec, info.name, name, c.n, o.threads, params);
          }();
          auto run_a = [&a, &c] {
            a.run(std::span<const void *const>(c.in_ptr), std::span<void *const>(c.out_ptr), c.n);
          };
          const auto [ta, tk] = time_pair(run_a, call(chosen, c), o.repetitions, o.min_time_s);
          e.autoschedulers_ns[name] = e.tuned_ns * ta.median / tk.median;
        } catch (const Error &err) {
          r.autoscheduler_problems[name] = err.what();
        }
        set_threads(o.threads);
      }
      r.entries.push_back(std::move(e));
    }
    results.push_back(std::move(r));
    if (hooks.stop()) break;
  }
  return results;
}

} // namespace actforge::runtime::tune
