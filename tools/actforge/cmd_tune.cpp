// actforge tune: measured schedule search, written to the tuning database.
#include "cli.hpp"

#include "actforge/dsl/catalog.hpp"
#include "actforge/error.hpp"
#include "actforge/runtime/autoschedule.hpp"
#include "actforge/runtime/tune.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>

namespace actforge::cli {
namespace {
constexpr const char *kHelp =
    R"(usage: actforge tune NAME|EXPR...|--all [--target T] [--budget SECONDS] [--db FILE] [--json]
                     [--role R,...] [--dtype D] [--size-class C,...] [--threads N]
                     [--no-autoschedulers] [--seed N]
       actforge tune --import FILE [--db FILE]

Searches the schedule space of each activation's kernels on this machine (vector lanes: the
target's natural width ×1, ×2, ×4; unroll 1, 2, 4, 8; with --threads N > 1 also parallel
chunks), exhaustively when the space is small, else by random sampling then local search within
the budget. Every candidate is first checked against the long-double reference (the bounds of
`actforge check --target`, every 2^14-th f32 pattern), then timed at one size per size class:
cache (16 Ki elements), l3 (a quarter of the last-level cache) and dram (twice it, 16-64 Mi
elements) — warm-up, repeated timed runs, the median. A candidate wins only when it beats the
incumbent beyond the measured noise, and the winner is confirmed against the default in an
interleaved re-measurement; memcpy of the same bytes and Halide's own autoschedulers (Adams2019,
Li2018, Mullapudi2016, where their plugins load) are timed in the same run. The entries go to the
tuning database, which `actforge gen` and actforge::jit consult (`gen --verbose` says which
schedule each kernel got).

  --all              every library activation with a kernel
  --target T         host (default), x86-64-avx2, x86-64-avx512 (kernels are timed here: other
                     targets take entries tuned on their hardware, imported into the database)
  --budget SECONDS   wall time for the whole command (default 60 per activation), shared
                     evenly among the remaining jobs (one job: an activation's role); a job's
                     search gets its share less what a job spends outside the search (the
                     default's measurement, confirmation, autoschedulers: measured as it goes).
                     A job always measures the default, so a small budget may be overrun
  --db FILE          the database (default $ACTFORGE_TUNING_DB, else
                     ~/.config/actforge/tuning.json); written after each activation
  --role R,...       forward, backward, backward_from_output (default forward,backward)
  --dtype D          f32 (default), f64, f16, bf16
  --size-class C,... cache, l3, dram (default all three)
  --threads N        tune for N threads (default 1: serial schedules)
  --no-autoschedulers  do not time Halide's autoschedulers
  --seed N           the random sampling's seed (default 1)
  --json             print the entries written as a JSON array instead of the table
  --import FILE      merge the entries of another database (e.g. tuned on an ARM board or a GPU
                     machine) into --db and exit; an entry with the same key is replaced. x86
                     entries apply where their CPU model matches; other targets' entries apply
                     to builds for that target on any machine

Progress goes to stderr (a bar on a terminal, a line per candidate otherwise). Ctrl-C stops the
search: what was found so far is confirmed, written and shown; a second Ctrl-C quits at once.
Exit code 0, 2 on bad usage or input.
)";

std::atomic<bool> g_stop{false};

void on_sigint(int) {
  if (g_stop.exchange(true)) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
}

std::string fmt(const char *f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

/// "1.23 us" style time per call.
std::string duration(double ns) {
  if (ns < 1e3) return fmt("%.0f ns", ns);
  if (ns < 1e6) return fmt("%.1f us", ns / 1e3);
  return fmt("%.2f ms", ns / 1e6);
}

void print_table(const std::vector<runtime::tune::Entry> &entries) {
  const auto autos = runtime::autoschedule::names();
  std::printf("%-12s %-20s %-5s %9s %10s %10s %-11s %7s %6s", "activation", "role", "class", "n",
              "default", "tuned", "schedule", "speedup", "/copy");
  for (const auto &a : autos)
    std::printf(" %13s", ("÷" + a).c_str());
  std::printf("\n");
  for (const auto &e : entries) {
    std::printf("%-12s %-20s %-5s %9lld %10s %10s %-11s %6.2fx %6.2f", e.activation.c_str(),
                e.key.role.c_str(), e.key.size_class.c_str(), static_cast<long long>(e.n),
                duration(e.default_ns).c_str(), duration(e.tuned_ns).c_str(),
                e.schedule.describe().c_str(), e.default_ns / e.tuned_ns, e.memcpy_ns / e.tuned_ns);
    for (const auto &a : autos) {
      const auto it = e.autoschedulers_ns.find(a);
      // The autoscheduled kernel's time over ours: above 1, ours is faster.
      std::printf(" %12s", it == e.autoschedulers_ns.end()
                               ? "-"
                               : fmt("%.2fx", it->second / e.tuned_ns).c_str());
    }
    std::printf("\n");
  }
  std::printf("default/tuned: median time per call (tuned = default where nothing beat it beyond "
              "the noise); speedup = default ÷ tuned; /copy = memcpy of the same bytes ÷ tuned "
              "(1.0: as fast as copying); ÷Name = that Halide autoscheduler's time ÷ tuned (above "
              "1: ours is faster)\n");
}

} // namespace

int cmd_tune(const std::vector<std::string> &argv) {
  const Args args(argv, {"--all", "--json", "--no-autoschedulers", "--help", "-h"},
                  {"--target", "--budget", "--db", "--role", "--dtype", "--size-class", "--threads",
                   "--seed", "--import"});
  if (args.flag("--help") || args.flag("-h")) {
    std::fputs(kHelp, stdout);
    return kOk;
  }
  if (auto from = args.option("--import")) {
    if (!args.positional().empty() || args.flag("--all"))
      throw UsageError{"--import takes no activations"};
    const std::string db_path =
        args.option("--db").value_or(runtime::tune::Database::default_path());
    if (db_path.empty()) throw UsageError{"no tuning database: give --db FILE"};
    runtime::tune::Database db = runtime::tune::Database::load(db_path);
    const runtime::tune::Database other = runtime::tune::Database::load(*from);
    if (other.entries().empty()) throw Error(*from + ": no entries to import");
    for (const auto &e : other.entries())
      db.put(e);
    db.save(db_path);
    std::printf("imported %zu entries from %s into %s (%zu entries)\n", other.entries().size(),
                from->c_str(), db_path.c_str(), db.entries().size());
    return kOk;
  }
  std::vector<std::string> names = args.positional();
  if (args.flag("--all")) {
    if (!names.empty()) throw UsageError{"--all takes no activation names"};
    for (const dsl::Entry &e : dsl::catalog())
      if (e.expr.defined()) names.push_back(e.name);
  }
  if (names.empty()) throw UsageError{"name an activation or expression, or give --all"};
  for (const std::string &n : names)
    resolve_subject(n); // parse errors now, with the caret, not midway
  runtime::tune::Options o;
  if (auto t = args.option("--target")) o.target = *t;
  read_roles(args, o.roles);
  std::vector<codegen::DType> dtypes{codegen::DType::F32};
  read_dtypes(args, dtypes);
  if (dtypes.size() != 1) throw UsageError{"--dtype takes one dtype per run"};
  o.dtype = dtypes.front();
  if (auto c = args.option("--size-class")) {
    o.classes.clear();
    for (const auto &s : split(*c))
      o.classes.push_back(runtime::tune::parse_size_class(s));
  }
  o.threads = int_option(args, "--threads", 1, 1, 1024);
  o.seed = static_cast<std::uint64_t>(int_option(args, "--seed", 1, 0, 2147483647));
  o.autoschedulers = !args.flag("--no-autoschedulers");
  double budget = 60.0 * static_cast<double>(names.size());
  if (auto b = args.option("--budget")) {
    try {
      std::size_t used = 0;
      budget = std::stod(*b, &used);
      if (used != b->size() || !(budget > 0)) throw std::invalid_argument("");
    } catch (const std::exception &) {
      throw UsageError{"--budget takes a positive number of seconds, not '" + *b + "'"};
    }
  }
  const std::string db_path = args.option("--db").value_or(runtime::tune::Database::default_path());
  if (db_path.empty())
    throw UsageError{"no tuning database: give --db FILE (ACTFORGE_TUNING_DB=none disables it)"};
  runtime::tune::Database db = runtime::tune::Database::load(db_path);

  const bool tty = ::isatty(2);
  const bool json = args.flag("--json");
  g_stop = false;
  std::signal(SIGINT, on_sigint);
  const int jobs_total = static_cast<int>(names.size() * o.roles.size());
  int jobs_done = 0;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<runtime::tune::Entry> written;
  runtime::tune::Hooks hooks;
  hooks.stop = [] { return g_stop.load(); };
  hooks.note = [&](const std::string &m) {
    std::fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", m.c_str());
  };
  hooks.trial = [&](const std::string &job, int done, int total, const codegen::tune::Trial &t) {
    std::string what = t.evaluation.failure.empty()
                           ? duration(t.evaluation.classes.front().median * 1e9)
                           : "failed: " + t.evaluation.failure.substr(0, 60);
    if (tty) {
      const int width = 24, filled = total ? width * done / total : 0;
      std::fprintf(stderr, "\r\033[K[%s%s] job %d/%d %s: %d/%d %s %s (%.0f s)",
                   std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                   jobs_done + 1, jobs_total, job.c_str(), done, total,
                   t.schedule.describe().c_str(), what.c_str(), elapsed());
    } else {
      std::fprintf(stderr, "tune: job %d/%d %s: candidate %d/%d %s %s\n", jobs_done + 1, jobs_total,
                   job.c_str(), done, total, t.schedule.describe().c_str(), what.c_str());
    }
  };
  double outside_search = 0; // seconds the jobs so far spent outside their searches
  for (const std::string &name : names) {
    if (g_stop) break;
    // The budget covers everything: each job's search gets an even share of what is left, less
    // the time a job spends outside its search (checks of the default, confirmation, memcpy,
    // autoschedulers), estimated from the jobs so far.
    const int remaining = jobs_total - jobs_done;
    const double left = std::max(budget - elapsed(), 0.0);
    const double overhead = jobs_done ? outside_search / jobs_done : 0.0;
    o.budget_s = std::max(left / remaining - overhead, 0.0);
    std::vector<runtime::tune::JobResult> results;
    const double job_start = elapsed();
    try {
      results = runtime::tune::tune_activation(name, o, hooks);
    } catch (const Error &e) {
      if (tty) std::fprintf(stderr, "\r\033[K");
      throw Error(name + ": " + e.what());
    }
    jobs_done += static_cast<int>(o.roles.size());
    outside_search += elapsed() - job_start;
    for (const auto &r : results)
      outside_search -= r.search_s;
    for (auto &r : results) {
      for (const auto &[as, why] : r.autoscheduler_problems)
        hooks.note(r.activation + " " + std::string(codegen::to_string(r.role)) + ": " + as +
                   " not timed: " + why);
      for (auto &e : r.entries) {
        db.put(e);
        written.push_back(e);
      }
    }
    db.save(db_path); // after each activation: an interruption or crash loses at most one
  }
  std::signal(SIGINT, SIG_DFL);
  if (tty) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "tune: %zu entries written to %s in %.0f s%s\n", written.size(),
               db_path.c_str(), elapsed(), g_stop ? " (interrupted: what was found so far)" : "");
  if (json) {
    std::fputs(runtime::tune::entries_json(written).c_str(), stdout);
  } else {
    print_table(written);
  }
  return kOk;
}

} // namespace actforge::cli
