// The measured search: exhaustive, or random sampling then local search, within a budget.
#include "actforge/codegen/tune.hpp"

#include "actforge/error.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace actforge::codegen::tune {

Stats summarize(std::vector<double> times) {
  if (times.empty()) throw Error("tune: no timings to summarise");
  std::sort(times.begin(), times.end());
  // Quantiles by linear interpolation between order statistics.
  auto quantile = [&](double q) {
    const double pos = q * static_cast<double>(times.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const auto hi = std::min(lo + 1, times.size() - 1);
    return times[lo] + (pos - static_cast<double>(lo)) * (times[hi] - times[lo]);
  };
  Stats s;
  s.median = quantile(0.5);
  s.q1 = quantile(0.25);
  s.q3 = quantile(0.75);
  s.min = times.front();
  s.max = times.back();
  s.samples = static_cast<int>(times.size());
  return s;
}

bool beats(const Stats &candidate, const Stats &incumbent, double floor) {
  const double margin = std::max({candidate.noise(), incumbent.noise(), floor});
  return candidate.median < incumbent.median * (1 - margin) && candidate.q3 < incumbent.median;
}

namespace {

class Searcher {
public:
  Searcher(const std::vector<Schedule> &space, const SearchOptions &o, const Callbacks &cb)
      : space_(space), o_(o), cb_(cb), start_(cb.clock()) {}

  Result run() {
    if (space_.empty()) throw Error("tune: an empty schedule space");
    if (o_.classes < 1) throw Error("tune: at least one size class");
    const Trial &first = evaluate(space_.front());
    if (!first.evaluation.failure.empty())
      throw Error("tune: the default schedule " + space_.front().describe() +
                  " failed: " + first.evaluation.failure);
    if (static_cast<int>(first.evaluation.classes.size()) != o_.classes)
      throw Error("tune: the evaluation measured " +
                  std::to_string(first.evaluation.classes.size()) + " size classes, not " +
                  std::to_string(o_.classes));
    r_.default_stats = r_.best_stats = first.evaluation.classes;
    r_.best.assign(o_.classes, space_.front());
    r_.exhaustive = static_cast<int>(space_.size()) <= o_.exhaustive_limit;
    std::vector<Schedule> order(space_.begin() + 1, space_.end());
    if (r_.exhaustive) {
      for (const Schedule &s : order)
        if (!step(s, o_.budget_s)) break;
      return std::move(r_);
    }
    std::mt19937_64 rng(o_.seed);
    std::shuffle(order.begin(), order.end(), rng);
    std::size_t next = 0;
    // Random sampling for half the budget.
    while (next < order.size() && !over(o_.budget_s / 2) && !r_.stopped)
      step(order[next++], o_.budget_s);
    // Local search from the best point so far: move to the best improving neighbour until none
    // improves; then back to the sample for what budget is left.
    Schedule at = best_scoring();
    while (!r_.stopped && !over(o_.budget_s)) {
      const Schedule before = at;
      for (const Schedule &n : neighbours(at, space_))
        if (!tried(n) && !step(n, o_.budget_s)) break;
      at = best_scoring();
      if (at == before) break;
    }
    while (next < order.size() && !r_.stopped) {
      const Schedule &s = order[next++];
      if (!tried(s) && !step(s, o_.budget_s)) break;
    }
    if (!r_.stopped && tried_count() < space_.size()) r_.out_of_budget = true;
    return std::move(r_);
  }

private:
  bool over(double budget) const { return cb_.clock() - start_ >= budget; }
  bool tried(const Schedule &s) const {
    return std::any_of(r_.trials.begin(), r_.trials.end(),
                       [&](const Trial &t) { return t.schedule == s; });
  }
  std::size_t tried_count() const { return r_.trials.size(); }

  /// Evaluates `s` unless stopped or out of budget; false when the search must end.
  bool step(const Schedule &s, double budget) {
    if (cb_.stop()) {
      r_.stopped = true;
      return false;
    }
    if (over(budget)) {
      r_.out_of_budget = true;
      return false;
    }
    const Trial &t = evaluate(s);
    if (!t.evaluation.failure.empty()) return true;
    for (int c = 0; c < o_.classes && c < static_cast<int>(t.evaluation.classes.size()); ++c)
      if (beats(t.evaluation.classes[c], r_.best_stats[c])) {
        r_.best[c] = s;
        r_.best_stats[c] = t.evaluation.classes[c];
      }
    return true;
  }

  const Trial &evaluate(const Schedule &s) {
    Trial t{s, cb_.evaluate(s)};
    if (t.evaluation.failure.empty() && static_cast<int>(t.evaluation.classes.size()) != o_.classes)
      t.evaluation.failure = "measured " + std::to_string(t.evaluation.classes.size()) +
                             " size classes, not " + std::to_string(o_.classes);
    r_.trials.push_back(std::move(t));
    cb_.progress(static_cast<int>(r_.trials.size()), static_cast<int>(space_.size()),
                 r_.trials.back());
    return r_.trials.back();
  }

  /// The successful trial with the lowest mean ratio of its medians to the default's.
  Schedule best_scoring() const {
    Schedule best = space_.front();
    double best_score = 1;
    for (const Trial &t : r_.trials) {
      if (!t.evaluation.failure.empty()) continue;
      double score = 0;
      for (int c = 0; c < o_.classes; ++c)
        score += t.evaluation.classes[c].median / r_.default_stats[c].median;
      score /= o_.classes;
      if (score < best_score) {
        best_score = score;
        best = t.schedule;
      }
    }
    return best;
  }

  const std::vector<Schedule> &space_;
  const SearchOptions &o_;
  const Callbacks &cb_;
  double start_;
  Result r_;
};

} // namespace

Result search(const std::vector<Schedule> &space, const SearchOptions &options,
              const Callbacks &callbacks) {
  if (!callbacks.evaluate || !callbacks.clock) throw Error("tune: search needs evaluate and clock");
  return Searcher(space, options, callbacks).run();
}

} // namespace actforge::codegen::tune
