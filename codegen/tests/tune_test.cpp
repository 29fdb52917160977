// codegen/tune: the schedule space, the noise rule and the search, with synthetic measurements.
#include "actforge/codegen/tune.hpp"

#include "actforge/error.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace actforge::codegen::tune {
namespace {

Stats exact(double t) { return summarize({t, t, t, t, t}); }

TEST(TuneSpace, CpuSerialSpaceStartsWithTheDefaultAndIsValid) {
  const Schedule natural = default_schedule(512, 32); // v16u2p0
  const auto s = space({natural, 1, 1 << 16});
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.front(), natural);
  EXPECT_EQ(s.size(), 12u); // lanes 16, 32, 64 × unroll 1, 2, 4, 8
  for (const Schedule &t : s) {
    EXPECT_NO_THROW(validate(t));
    EXPECT_EQ(t.parallel_chunk, 0);
    EXPECT_EQ(t.lanes % 16, 0);
  }
  // f64 on AVX2: 4 lanes natural, 4·4 = 16 at most.
  const auto d = space({default_schedule(256, 64), 1, 1 << 16});
  EXPECT_EQ(d.size(), 12u);
}

TEST(TuneSpace, ThreadsAddParallelChunksCutForTheSize) {
  const Schedule natural = default_schedule(256, 32); // v8u2p0
  const auto s = space({natural, 4, 1 << 20});
  int parallel = 0;
  for (const Schedule &t : s) {
    EXPECT_NO_THROW(validate(t));
    if (t.parallel_chunk) {
      ++parallel;
      EXPECT_LE(t.parallel_chunk, 1 << 20);
      EXPECT_EQ(t.parallel_chunk % (t.lanes * t.unroll), 0);
    }
  }
  EXPECT_GT(parallel, 12);
  EXPECT_THROW(space({natural, 0, 1 << 20}), Error);
}

TEST(TuneSpace, GpuSpaceVariesThreadsPerBlock) {
  const Schedule natural = default_gpu_schedule(32); // v4u2t256
  const auto s = space({natural, 1, 0});
  EXPECT_EQ(s.front(), natural);
  EXPECT_EQ(s.size(), 24u); // lanes 1, 4 × unroll 1, 2, 4, 8 × 128, 256, 512 threads
  for (const Schedule &t : s)
    EXPECT_TRUE(t.gpu());
}

TEST(TuneSpace, NeighboursAreOneStepInOneDimension) {
  const auto s = space({default_schedule(512, 32), 1, 1 << 16});
  const auto n = neighbours(Schedule{32, 2, 0, 0}, s);
  // lanes 16 / 64 at unroll 2; unroll 1 / 4 at 32 lanes.
  ASSERT_EQ(n.size(), 4u);
  for (const Schedule &t : n) {
    const bool lanes_step = t.unroll == 2 && (t.lanes == 16 || t.lanes == 64);
    const bool unroll_step = t.lanes == 32 && (t.unroll == 1 || t.unroll == 4);
    EXPECT_TRUE(lanes_step || unroll_step) << t.describe();
  }
  EXPECT_EQ(neighbours(Schedule{16, 1, 0, 0}, s).size(), 2u); // a corner
}

TEST(TuneStats, SummarizeAndTheNoiseRule) {
  const Stats s = summarize({5, 1, 3, 2, 4});
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_DOUBLE_EQ(s.q1, 2);
  EXPECT_DOUBLE_EQ(s.q3, 4);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 5);
  EXPECT_NEAR(s.noise(), 1.0 / 3, 1e-12);
  EXPECT_THROW(summarize({}), Error);
  // Quiet measurements: 10 % faster wins, 1 % does not (2 % floor).
  EXPECT_TRUE(beats(exact(0.9), exact(1.0)));
  EXPECT_FALSE(beats(exact(0.99), exact(1.0)));
  EXPECT_FALSE(beats(exact(1.0), exact(1.0)));
  // 10 % faster inside ±20 % noise does not win.
  const Stats noisy = summarize({0.7, 0.8, 0.9, 1.0, 1.1});
  EXPECT_FALSE(beats(noisy, exact(1.0)));
  EXPECT_FALSE(beats(exact(0.9), summarize({0.8, 0.9, 1.0, 1.1, 1.2})));
  EXPECT_TRUE(beats(exact(0.5), summarize({0.8, 0.9, 1.0, 1.1, 1.2})));
}

// A synthetic landscape: time per schedule, one size class, a clock that advances one second per
// evaluation.
struct Landscape {
  std::map<std::string, double> time;
  double now = 0;
  int evaluations = 0;
  std::string failing;
  Callbacks callbacks() {
    Callbacks cb;
    cb.clock = [this] { return now; };
    cb.evaluate = [this](const Schedule &s) {
      ++evaluations;
      now += 1;
      Evaluation e;
      if (s.describe() == failing) {
        e.failure = "wrong results";
        return e;
      }
      const auto it = time.find(s.describe());
      e.classes.push_back(exact(it == time.end() ? 1.0 : it->second));
      return e;
    };
    return cb;
  }
};

TEST(TuneSearch, ExhaustiveFindsTheFastestBeyondNoise) {
  const auto s = space({default_schedule(512, 32), 1, 1 << 16});
  Landscape l;
  l.time = {{"v32u4p0", 0.6}, {"v64u8p0", 0.99}, {"v16u8p0", 0.3}};
  l.failing = "v16u8p0"; // the fastest is wrong: it must not win
  SearchOptions o;
  o.budget_s = 100;
  const Result r = search(s, o, l.callbacks());
  EXPECT_TRUE(r.exhaustive);
  EXPECT_FALSE(r.out_of_budget);
  EXPECT_EQ(r.trials.size(), s.size());
  EXPECT_EQ(r.trials.front().schedule, s.front());
  ASSERT_EQ(r.best.size(), 1u);
  EXPECT_EQ(r.best[0].describe(), "v32u4p0");
  EXPECT_DOUBLE_EQ(r.best_stats[0].median, 0.6);
  EXPECT_DOUBLE_EQ(r.default_stats[0].median, 1.0);
}

TEST(TuneSearch, NothingBeatsTheDefaultWithinNoise) {
  const auto s = space({default_schedule(512, 32), 1, 1 << 16});
  Landscape l;
  l.time = {{"v32u4p0", 0.99}};
  const Result r = search(s, {}, l.callbacks());
  EXPECT_EQ(r.best[0], s.front());
}

TEST(TuneSearch, BudgetAndStopEndTheSearch) {
  const auto s = space({default_schedule(256, 32), 8, 1 << 22}); // large: random + local
  ASSERT_GT(s.size(), 16u);
  Landscape l;
  SearchOptions o;
  o.budget_s = 5;
  Result r = search(s, o, l.callbacks());
  EXPECT_FALSE(r.exhaustive);
  EXPECT_TRUE(r.out_of_budget);
  EXPECT_LE(r.trials.size(), 6u);
  Landscape m;
  Callbacks cb = m.callbacks();
  cb.stop = [&m] { return m.evaluations >= 3; };
  o.budget_s = 1000;
  r = search(s, o, cb);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.trials.size(), 3u);
}

TEST(TuneSearch, LocalSearchWalksDownhill) {
  // A bowl centred on v32u8 (chunk 0): the random half finds something, the local search must
  // reach the bottom.
  const auto s = space({default_schedule(256, 32), 8, 1 << 22});
  Landscape l;
  for (const Schedule &t : s) {
    const double d = std::abs(std::log2(t.lanes / 32.0)) + std::abs(std::log2(t.unroll / 8.0)) +
                     (t.parallel_chunk ? 1 : 0);
    l.time[t.describe()] = 0.2 + 0.1 * d;
  }
  l.time[s.front().describe()] = 1.0;
  SearchOptions o;
  o.budget_s = 24; // 12 random samples, then the local search
  o.seed = 7;
  const Result r = search(s, o, l.callbacks());
  EXPECT_LT(r.trials.size(), s.size() / 2);
  EXPECT_EQ(r.best[0].describe(), "v32u8p0");
}

TEST(TuneSearch, TheDefaultMustPass) {
  const auto s = space({default_schedule(512, 32), 1, 1 << 16});
  Landscape l;
  l.failing = s.front().describe();
  EXPECT_THROW(search(s, {}, l.callbacks()), Error);
}

} // namespace
} // namespace actforge::codegen::tune
