// The fork-join pool behind run_on_threads(): one generation counter that workers watch.
#include "thread_pool.hpp"

#include <immintrin.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace actforge::bench {
namespace {

// About 50-100 us of pause instructions: long enough to bridge two benchmark iterations, short
// enough that idle workers stop taking a core from the next single-threaded benchmark.
constexpr int kSpins = 1000;

// One task per thread, claimed rather than assigned: whoever is running (the caller first) takes
// the next task, so a worker the scheduler has not woken yet delays nothing (on a loaded machine
// the caller runs every task itself, as Halide's pool does). `next_` packs the job's generation
// (high 32 bits) with the next task index, so a worker that wakes late cannot claim a task of a
// job that is over, and the caller waits only for tasks that were claimed.
class Pool {
public:
  explicit Pool(int threads) : threads_(threads) {
    for (int t = 1; t < threads; ++t)
      workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto &w : workers_)
      w.join();
  }
  Pool(const Pool &) = delete;
  Pool &operator=(const Pool &) = delete;

  void run(const std::function<void(int)> &fn) {
    const std::uint64_t g = generation_.load(std::memory_order_relaxed) + 1;
    job_ = &fn;
    done_.store(0, std::memory_order_relaxed);
    next_.store(g << 32, std::memory_order_release);
    generation_.store(g, std::memory_order_release);
    generation_.notify_all();
    claim_and_run(g);
    while (done_.load(std::memory_order_acquire) != threads_)
      _mm_pause();
  }

private:
  void claim_and_run(std::uint64_t g) {
    std::uint64_t v = next_.load(std::memory_order_acquire);
    while ((v >> 32) == (g & 0xffffffffu) && static_cast<int>(v & 0xffffffffu) < threads_) {
      if (next_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) {
        (*job_)(static_cast<int>(v & 0xffffffffu));
        done_.fetch_add(1, std::memory_order_release);
        v = next_.load(std::memory_order_acquire);
      }
    }
  }

  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      std::uint64_t g;
      int spins = 0;
      while ((g = generation_.load(std::memory_order_acquire)) == seen) {
        if (++spins < kSpins)
          _mm_pause();
        else
          generation_.wait(seen, std::memory_order_acquire);
      }
      seen = g;
      if (stop_.load(std::memory_order_relaxed)) return;
      claim_and_run(g);
    }
  }

  const int threads_;
  const std::function<void(int)> *job_ = nullptr;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> next_{0}; // generation << 32 | next task
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

} // namespace

void run_on_threads(int threads, const std::function<void(int)> &fn) {
  static std::mutex mutex;
  static std::map<int, std::unique_ptr<Pool>> pools;
  Pool *pool;
  {
    std::lock_guard lock(mutex);
    auto &slot = pools[threads];
    if (!slot) slot = std::make_unique<Pool>(threads);
    pool = slot.get();
  }
  pool->run(fn);
}

} // namespace actforge::bench
