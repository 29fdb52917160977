// The grid, the arrays and the naming and counting of every case.
#include "bench_common.hpp"

#include "actforge/error.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace actforge::bench {
namespace {

Grid &mutable_grid() {
  static Grid g = [] {
    Grid d;
    const int all = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    d.threads = all > 1 ? std::vector<int>{1, all} : std::vector<int>{1};
    return d;
  }();
  return g;
}

struct FreeDeleter {
  void operator()(float *p) const { std::free(p); }
};
using Block = std::unique_ptr<float[], FreeDeleter>;

// Page-aligned, transparent huge pages where the kernel offers them (fewer TLB misses for every
// implementation alike), every page touched before any timing.
Block allocate(std::int64_t elements) {
  constexpr std::size_t kAlign = std::size_t{2} << 20;
  const std::size_t bytes =
      (static_cast<std::size_t>(elements) * sizeof(float) + kAlign - 1) / kAlign * kAlign;
  void *p = std::aligned_alloc(kAlign, bytes);
  if (!p) throw Error("bench: cannot allocate " + std::to_string(bytes) + " bytes");
  madvise(p, bytes, MADV_HUGEPAGE);
  std::memset(p, 0, bytes);
  return Block(static_cast<float *>(p));
}

// A fixed sequence (the same inputs in every run) mapped to [lo, hi).
void fill_uniform(float *p, std::int64_t n, float lo, float hi, std::uint64_t seed) {
  std::uint64_t s = seed;
  for (std::int64_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    const float u = static_cast<float>(s >> 40) * 0x1p-24f;
    p[i] = lo + (hi - lo) * u;
  }
}

struct Storage {
  Block in, out;
  Arrays view;
};

} // namespace

const Grid &grid() { return mutable_grid(); }
void set_grid(Grid g) { mutable_grid() = std::move(g); }

std::int64_t bytes_moved(Direction d, std::int64_t n) {
  const std::int64_t arrays = d == Direction::Forward ? 2 : 3;
  return arrays * n * static_cast<std::int64_t>(sizeof(float));
}

std::string case_name(std::string_view impl, const Case &c) {
  const std::string_view role = c.direction == Direction::Forward ? "fwd" : "bwd";
  std::string op = c.activation.empty() ? std::string(role)
                                        : std::string(c.activation) + "_" + std::string(role);
  return std::string(impl) + "/" + op + "/n:" + std::to_string(c.n) +
         "/threads:" + std::to_string(c.threads);
}

const Arrays &arrays(std::int64_t n) {
  static std::mutex mutex;
  static std::map<std::int64_t, Storage> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(n);
  if (it == cache.end()) {
    Storage s{allocate(2 * n), allocate(2 * n), {}};
    fill_uniform(s.in.get(), n, -6.0f, 6.0f, 1);
    fill_uniform(s.in.get() + n, n, -1.0f, 1.0f, 2);
    s.view = {s.in.get(), s.in.get() + n, s.out.get()};
    it = cache.emplace(n, std::move(s)).first;
  }
  return it->second.view;
}

void register_case(std::string_view impl, const Case &c, Body body) {
  auto run = [c, body = std::move(body)](benchmark::State &state) {
    body(state, c);
    // Per second, in units of 1000: "bytes=75G/s" is 75 GB/s, "elements=9.4G/s" 9.4 elem/ns.
    using benchmark::Counter;
    state.counters["bytes"] = Counter(static_cast<double>(bytes_moved(c.direction, c.n)),
                                      Counter::kIsIterationInvariantRate, Counter::OneK::kIs1000);
    state.counters["elements"] = Counter(
        static_cast<double>(c.n), Counter::kIsIterationInvariantRate, Counter::OneK::kIs1000);
  };
  benchmark::RegisterBenchmark(case_name(impl, c).c_str(), run)
      ->UseRealTime()
      ->ComputeStatistics(
          "min", [](const std::vector<double> &v) { return *std::min_element(v.begin(), v.end()); })
      ->ComputeStatistics("max", [](const std::vector<double> &v) {
        return *std::max_element(v.begin(), v.end());
      });
}

std::int64_t parallel_chunk(std::int64_t n, int threads, int width) {
  constexpr std::int64_t kMaxTask = std::int64_t{1} << 20;
  const std::int64_t per_thread = (n + threads - 1) / threads;
  const std::int64_t chunk = std::min(per_thread, kMaxTask);
  return std::max<std::int64_t>(width, (chunk + width - 1) / width * width);
}

} // namespace actforge::bench
