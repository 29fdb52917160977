// codegen/tune: the schedule space of a target and a measured search over it.
//
// Nothing here times or compiles anything: the caller (runtime/tune.hpp, `actforge tune`) passes
// an evaluation function that checks a candidate against the reference and measures it, and a
// clock. The search decides which schedules to try and which one wins:
//
//   - exhaustive when the space has at most SearchOptions::exhaustive_limit schedules;
//   - otherwise random sampling (seeded) until half the budget is spent, then local search from
//     the best point (neighbours differ in one dimension by one step) until the budget is spent;
//   - the default schedule is always evaluated first and is the first incumbent;
//   - a candidate replaces the incumbent only when it is faster beyond the measured noise
//     (beats()); a candidate that failed its check or its measurement never wins.
//
// Each evaluation may measure several size classes at once (one compiled kernel, timed at each
// size); the winner is chosen per size class, while the search itself is steered by the mean of
// the time ratios to the default over the classes.
#pragma once

#include "actforge/codegen/schedule.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace actforge::codegen::tune {

/// What spans a target's schedule space.
struct SpaceOptions {
  Schedule natural;       // the target's default schedule (default_schedule / default_gpu_...)
  int threads = 1;        // CPU: 1 explores serial schedules only; more adds parallel chunks
  std::int64_t n = 65536; // CPU with threads > 1: the size the parallel chunks are cut for
};

/// Every schedule of the space, the default (`natural`) first, each valid (validate()). CPU:
/// lanes natural·{1, 2, 4} (at most 64) × unroll {1, 2, 4, 8}, serial, and with threads > 1 also
/// parallel chunks of n/threads, n/(4·threads), 2^16 and 2^20 elements (rounded to lanes·unroll,
/// each at most n). GPU: lanes {1, natural} × unroll {1, 2, 4, 8} × threads per block {128, 256,
/// 512}.
std::vector<Schedule> space(const SpaceOptions &options);

/// The schedules of `space` one step away from `s` in one dimension (lanes, unroll, chunk or
/// threads per block; serial and any parallel chunk are one step apart), in space order.
std::vector<Schedule> neighbours(const Schedule &s, const std::vector<Schedule> &space);

/// Repeated timings of one case, summarised. Times in seconds (per call).
struct Stats {
  double median = 0, q1 = 0, q3 = 0, min = 0, max = 0;
  int samples = 0;
  /// Half the interquartile range over the median: the relative noise of one measurement.
  double noise() const { return median > 0 ? (q3 - q1) / (2 * median) : 0; }
};
/// Throws actforge::Error for an empty list.
Stats summarize(std::vector<double> times);

/// True when `candidate` is faster than `incumbent` beyond the noise of both: its median is below
/// the incumbent's by more than max(noise of either, `floor`) of the incumbent's median, and its
/// third quartile is below the incumbent's median.
bool beats(const Stats &candidate, const Stats &incumbent, double floor = 0.02);

/// One evaluation: per size class (the caller's order), the measurement; or why it failed.
struct Evaluation {
  std::vector<Stats> classes;
  std::string failure; // nonempty: the candidate failed its check, compilation or timing
};

struct SearchOptions {
  double budget_s = 60;      // wall time for the whole search (the clock's seconds)
  int exhaustive_limit = 16; // a space this small is searched exhaustively
  std::uint64_t seed = 1;    // random sampling
  int classes = 1;           // size classes each evaluation measures
};

struct Trial {
  Schedule schedule;
  Evaluation evaluation;
};

struct Result {
  /// Per class: the winning schedule and its measurement (the default when nothing beat it).
  std::vector<Schedule> best;
  std::vector<Stats> best_stats;
  std::vector<Stats> default_stats;
  std::vector<Trial> trials; // in the order evaluated; the default first
  bool exhaustive = false;
  bool stopped = false;       // interrupted (the stop callback said so) before the end
  bool out_of_budget = false; // the budget ran out before the space or the local search did
};

struct Callbacks {
  std::function<Evaluation(const Schedule &)> evaluate;
  std::function<double()> clock;                     // seconds, monotonic
  std::function<bool()> stop = [] { return false; }; // e.g. Ctrl-C
  /// After each trial: trials so far, the space's size, the trial.
  std::function<void(int, int, const Trial &)> progress = [](int, int, const Trial &) {};
};

/// Runs the search over `space` (whose first schedule is the default). Throws actforge::Error
/// when the default itself fails: there is nothing to compare with.
Result search(const std::vector<Schedule> &space, const SearchOptions &options,
              const Callbacks &callbacks);

} // namespace actforge::codegen::tune
