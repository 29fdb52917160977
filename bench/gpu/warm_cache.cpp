// actforge_gpu_warm_cache: compile, here, every CUDA kernel a GPU run needs, into the JIT disk
// cache ($ACTFORGE_CACHE_DIR), so that the GPU machine — lent for minutes — loads kernels
// (about a millisecond each) instead of compiling them (about a second each). cuda kernels
// compile without a GPU; only calling them needs one.
//
// Kernels: every library activation × role (forward, backward, backward_from_output where f'
// is a function of f's output, param_grad where it has parameters) × dtype (f32, f64, f16,
// bf16) with the default GPU schedule — what `actforge check --target cuda`, tests/cuda_test
// and gpu_bench ask for — plus prelu's per-channel kernels in the channel layout.
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/from_output.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/jit.hpp"
#include "sweep.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

int main(int argc, char **argv) {
  using namespace actforge;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  if (argc > 1) threads = static_cast<unsigned>(std::max(1, std::atoi(argv[1])));
  struct Job {
    std::string name;
    JitOptions options;
  };
  std::vector<Job> jobs;
  for (const auto &e : dsl::catalog()) {
    if (!e.expr.defined()) continue;
    const bool gated = ir::count_inputs(e.expr) > 1;
    for (DType d : {DType::F32, DType::F64, DType::F16, DType::BF16}) {
      std::vector<Role> roles{Role::Forward, Role::Backward};
      if (!gated && dsl::find_from_output(e.expr)) roles.push_back(Role::BackwardFromOutput);
      if (!gated && !ir::collect_params(e.expr).empty()) roles.push_back(Role::ParamGrad);
      for (Role r : roles)
        jobs.push_back({e.name, {.role = r, .dtype = d, .target = "cuda"}});
    }
  }
  // gpu_bench's schedule sweep (sweep.hpp).
  for (const char *name : bench::kSweepActivations)
    for (DType d : {DType::F32, DType::F16})
      for (const codegen::Schedule &sc : bench::sweep_schedules(d))
        jobs.push_back({name, {.dtype = d, .target = "cuda", .schedule = sc}});
  for (Role r : {Role::Forward, Role::ParamGrad})
    jobs.push_back(
        {"prelu", {.role = r, .target = "cuda", .layout = Layout::Channels, .per_channel = {"a"}}});

  std::atomic<std::size_t> next{0}, done{0}, failed{0};
  std::mutex print;
  auto work = [&] {
    for (std::size_t i; (i = next++) < jobs.size();) {
      try {
        jit(jobs[i].name, jobs[i].options);
      } catch (const Error &e) {
        std::lock_guard<std::mutex> lock(print);
        std::fprintf(stderr, "FAILED %s: %s\n", jobs[i].name.c_str(), e.what());
        ++failed;
      }
      const std::size_t d = ++done;
      if (d % 25 == 0 || d == jobs.size()) {
        std::lock_guard<std::mutex> lock(print);
        std::printf("[%zu/%zu] kernels compiled or found\n", d, jobs.size());
        std::fflush(stdout);
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back(work);
  for (auto &t : pool)
    t.join();
  std::printf("%zu kernels: %zu compiled, %zu from the disk cache, %zu failed\n", jobs.size(),
              jit_compile_count(), jit_disk_load_count(), failed.load());
  return failed ? 1 : 0;
}
