// actforge_bench: our x86 kernels beside memcpy of the same bytes and the peers found at
// configure time, in one run. Google Benchmark's flags apply; ours:
//   --actforge_sizes=16384,1048576,67108864   the sizes n (default: the three)
// The grid is every size x {1 thread, all hardware threads}; see bench/README.md.
#include "bench_common.hpp"
#include "implementations.hpp"

#include "actforge/error.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

using namespace actforge::bench;

std::vector<std::int64_t> parse_sizes(const char *text) {
  std::vector<std::int64_t> sizes;
  for (const char *p = text; *p;) {
    char *end = nullptr;
    const long long n = std::strtoll(p, &end, 10);
    if (end == p || n <= 0 || (*end && *end != ','))
      throw actforge::Error(std::string("--actforge_sizes: expected positive integers separated "
                                        "by commas, got '") +
                            text + "'");
    sizes.push_back(n);
    p = *end ? end + 1 : end;
  }
  return sizes;
}

// Removes our flags from argv (Google Benchmark rejects flags it does not know).
Grid parse_grid(int &argc, char **argv) {
  Grid g = grid();
  constexpr std::string_view kSizes = "--actforge_sizes=";
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).starts_with(kSizes))
      g.sizes = parse_sizes(argv[i] + kSizes.size());
    else
      argv[kept++] = argv[i];
  }
  argc = kept;
  return g;
}

std::vector<Implementation> implementations() {
  std::vector<Implementation> all = {memcpy_implementation(), copy_implementation(),
                                     actforge_implementation(), mlir_implementation()};
  std::vector<std::string> skipped;
  for (const Peer &p : peers(&skipped))
    all.push_back(peer_implementation(p));
  for (const std::string &why : skipped)
    std::cerr << "actforge_bench: " << why << ": skipped\n";
  return all;
}

// /proc/cpuinfo's model name ("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"), or "unknown".
std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.starts_with("model name"))
      if (const auto start = line.find_first_not_of(" \t", line.find(':') + 1);
          start != std::string::npos)
        return line.substr(start);
  return "unknown";
}

} // namespace

int main(int argc, char **argv) {
  try {
    set_grid(parse_grid(argc, argv));
    // Halide's thread pool takes its size from HL_NUM_THREADS when it starts: all threads.
    const std::string all_threads = std::to_string(grid().threads.back());
    setenv("HL_NUM_THREADS", all_threads.c_str(), 0);

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    const std::vector<Implementation> impls = implementations();
    benchmark::AddCustomContext("actforge_threads", all_threads);
    benchmark::AddCustomContext("cpu_model", cpu_model());
    for (const Implementation &impl : impls)
      benchmark::AddCustomContext(std::string("impl:") + impl.name, impl.describe());
    for (const std::int64_t n : grid().sizes)
      for (const int threads : grid().threads)
        for (const Implementation &impl : impls)
          impl.register_cases(n, threads);

    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  } catch (const std::exception &e) {
    std::cerr << "actforge_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
