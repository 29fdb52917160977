// A process for jit_cache_test: JITs one kernel, runs it, and prints what the caches did.
//   jit_cache_probe EXPR [forward|backward]
// prints "compiled=C disk=D sum=HEX jit_ms=T" (exit 0) or "error: MESSAGE" (exit 3).
#include "actforge/runtime/jit.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: jit_cache_probe EXPR [forward|backward]\n");
    return 2;
  }
  try {
    actforge::JitOptions options;
    if (argc > 2) options.role = actforge::codegen::parse_role(argv[2]);
    const auto start = std::chrono::steady_clock::now();
    const actforge::Kernel k = actforge::jit(argv[1], options);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::vector<float> x(1001), dy(1001, 0.5f), out(1001);
    for (std::size_t i = 0; i < x.size(); ++i)
      x[i] = static_cast<float>(i) / 50.0f - 10.0f;
    if (k.role() == actforge::Role::Forward)
      k.forward(x.data(), out.data(), 1001);
    else
      k.backward(x.data(), dy.data(), out.data(), 1001);
    unsigned long long sum = 1469598103934665603ull;
    for (float v : out) {
      unsigned bits;
      std::memcpy(&bits, &v, sizeof bits);
      sum = (sum ^ bits) * 1099511628211ull;
    }
    std::printf("compiled=%zu disk=%zu sum=%016llx jit_ms=%.3f\n", actforge::jit_compile_count(),
                actforge::jit_disk_load_count(), sum, ms);
    return 0;
  } catch (const actforge::Error &e) {
    std::printf("error: %s\n", e.what());
    return 3;
  }
}
