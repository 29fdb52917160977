// Autotuning: measured schedule search per kernel, and the tuning database jit() and gen read.
//
//   actforge tune swish --target host --budget 60        # the CLI (tools/actforge)
//   auto entries = runtime::tune::tune_activation("swish", options, hooks);
//
// A tuning job is one activation × role × dtype × target. It evaluates schedules of
// codegen::tune::space() (codegen/tune.hpp says how the search goes): each candidate is compiled
// through actforge::jit, checked against the long-double reference (check_kernels on a sample:
// every 2^14-th f32 pattern, every f16/bf16 value) and, only when it passes, timed at one
// representative size per size class. The winner per class is then confirmed against the
// default in an interleaved re-measurement (default, winner, default, ...): it is kept only when
// it still beats the default beyond the noise, so a tuned entry is never slower than the default
// within what the machine lets us see. memcpy of the same bytes is timed in the same run and
// recorded beside each entry, with Halide's own autoschedulers (runtime/autoschedule.hpp) where
// their plugins load.
//
// The database is one JSON file (schema 1, human-readable) keyed by the canonical expression's
// hash, role, dtype, target, CPU model and size class. Its path: $ACTFORGE_TUNING_DB, else
// $XDG_CONFIG_HOME/actforge/tuning.json, else ~/.config/actforge/tuning.json;
// ACTFORGE_TUNING_DB=none disables it (the test suites set that).
#pragma once

#include "actforge/codegen/tune.hpp"
#include "actforge/ir/expr.hpp"
#include "actforge/runtime/jit.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace actforge::runtime::tune {

/// Where a call's arrays live: in L1/L2 (cache), in the last-level cache (l3), or beyond (dram).
enum class SizeClass { Cache, L3, Dram };
std::string_view to_string(SizeClass c);
/// "cache", "l3" or "dram"; throws actforge::Error otherwise.
SizeClass parse_size_class(std::string_view text);

struct Machine {
  std::string cpu;           // /proc/cpuinfo's model name ("unknown" without one)
  std::int64_t l2_bytes = 0; // per core
  std::int64_t l3_bytes = 0; // last level, shared
  int threads = 1;           // hardware threads
};
const Machine &this_machine();

/// Bytes one call touches per element: (inputs + outputs) × the dtype's size.
int bytes_per_element(Role role, DType dtype, int num_inputs = 1);
/// The size a class is measured at: 16 Ki elements in cache; in L3 a working set of a quarter of
/// the L3 (at least 4× L2); beyond it twice the L3, at least 16 Mi and at most 64 Mi elements.
std::int64_t representative_n(SizeClass c, int bytes_per_element, const Machine &m);
/// The class a call of n elements falls in.
SizeClass size_class_of(std::int64_t n, int bytes_per_element, const Machine &m);

/// sha256 of the canonical expression text (ir::print), first 16 hex digits.
std::string expression_hash(const ir::Expr &e);

struct Key {
  std::string expr_hash, role, dtype, target, cpu, size_class;
  bool operator==(const Key &) const = default;
};

struct Entry {
  Key key;
  std::string activation; // the library name or the expression's text, for people
  codegen::Schedule schedule;
  std::string default_schedule; // describe() of the target's default
  int threads = 1;
  std::int64_t n = 0;    // elements per call measured
  double default_ns = 0; // median ns per call, default schedule (confirmation run)
  double tuned_ns = 0;   // median ns per call, `schedule` (same run)
  double noise = 0;      // the larger relative noise of the two
  double memcpy_ns = 0;  // memcpy of the same bytes, same run
  std::map<std::string, double> autoschedulers_ns; // Halide autoscheduler → median ns per call
  int trials = 0;
  std::string strategy; // exhaustive | random+local
  std::string date;     // YYYY-MM-DD
};

class Database {
public:
  static constexpr int kSchema = 1;
  /// The file's entries; a missing file is an empty database. Throws actforge::Error naming the
  /// file and line:column for malformed JSON, or the entry for a bad field / unknown schema.
  static Database load(const std::string &path);
  /// Writes atomically (a temporary file renamed over `path`), creating its directory.
  void save(const std::string &path) const;
  const Entry *find(const Key &key) const;
  void put(Entry entry); // replaces an entry with the same key
  const std::vector<Entry> &entries() const { return entries_; }
  /// $ACTFORGE_TUNING_DB, $XDG_CONFIG_HOME/actforge/tuning.json or ~/.config/actforge/...;
  /// "" when ACTFORGE_TUNING_DB=none.
  static std::string default_path();

private:
  std::vector<Entry> entries_;
};

/// Entries as a JSON array, each in the database's form (for `actforge tune --json`).
std::string entries_json(const std::vector<Entry> &entries);

/// What jit()/gen use when no schedule is given: the database's entry for this kernel on this
/// CPU, in the class of `size_hint` elements (0: the largest class tuned), or the default.
struct Choice {
  std::optional<codegen::Schedule> schedule; // empty: the default
  std::string why;                           // "tuned (dram, 2026-11-27, 1.31x): FILE" / ...
};
Choice lookup(const ir::Expr &expr, Role role, DType dtype, const std::string &target,
              std::int64_t size_hint = 0, const std::string &db_path = Database::default_path());

struct Options {
  std::string target = "host";
  std::vector<Role> roles{Role::Forward, Role::Backward};
  DType dtype = DType::F32;
  std::vector<SizeClass> classes{SizeClass::Cache, SizeClass::L3, SizeClass::Dram};
  int threads = 1;      // 1: serial schedules; more: parallel chunks too (HL_NUM_THREADS)
  double budget_s = 60; // per job (activation × role)
  std::uint64_t seed = 1;
  bool autoschedulers = true;
  int repetitions = 7;       // timed runs per measurement
  double min_time_s = 0.005; // each timed run repeats calls for at least this long
};

struct JobResult {
  std::string activation;
  Role role = Role::Forward;
  std::vector<Entry> entries; // one per class
  codegen::tune::Result search;
  double search_s = 0; // seconds the search took (the rest: confirmation, autoschedulers)
  std::map<std::string, std::string> autoscheduler_problems; // name → why it has no time
};

struct Hooks {
  std::function<bool()> stop = [] { return false; };
  /// Progress: the job (activation/role), trials so far, the space size, the latest trial.
  std::function<void(const std::string &, int, int, const codegen::tune::Trial &)> trial =
      [](const std::string &, int, int, const codegen::tune::Trial &) {};
  std::function<void(const std::string &)> note = [](const std::string &) {};
};

/// Tunes one activation (library name or expression text) for every role of `options`. Throws
/// actforge::Error for an unknown activation, a target this CPU cannot run or time (cross and
/// GPU targets: tune on the hardware and import the entry), or a default kernel that fails.
std::vector<JobResult> tune_activation(std::string_view name_or_text, const Options &options,
                                       const Hooks &hooks = {});

/// Median time per call of `call`, after a warm-up: repetitions × (as many calls as fill
/// min_time_s). Exposed for `actforge report` and the tests.
codegen::tune::Stats time_calls(const std::function<void()> &call, int repetitions,
                                double min_time_s);

/// a and b timed alternately (a, b, a, b, ...) after a warm-up of both, so that both see the
/// same machine: the fair comparison on a noisy machine. Returns their summaries.
std::pair<codegen::tune::Stats, codegen::tune::Stats> time_pair(const std::function<void()> &a,
                                                                const std::function<void()> &b,
                                                                int repetitions, double min_time_s);

} // namespace actforge::runtime::tune
