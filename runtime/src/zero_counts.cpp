// See zero_counts.hpp. The loops are written for the vectoriser: an integer test per value, a
// 32-bit sum. -O3 (runtime/CMakeLists.txt) vectorises them; the clones pick AVX-512 or AVX2
// where the CPU has them.
#include "zero_counts.hpp"

namespace actforge::runtime {

namespace {

template <class U> constexpr U kMagnitude = static_cast<U>(~(U{1} << (8 * sizeof(U) - 1)));

#define ACTFORGE_CLONES                                                                            \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

ACTFORGE_CLONES std::int64_t zeros16(const std::uint16_t *u, std::int64_t n) {
  std::uint32_t count = 0;
  for (std::int64_t j = 0; j < n; ++j)
    count += (u[j] & kMagnitude<std::uint16_t>) == 0;
  return count;
}
ACTFORGE_CLONES std::int64_t zeros32(const std::uint32_t *u, std::int64_t n) {
  std::uint32_t count = 0;
  for (std::int64_t j = 0; j < n; ++j)
    count += (u[j] & kMagnitude<std::uint32_t>) == 0;
  return count;
}
ACTFORGE_CLONES std::int64_t zeros64(const std::uint64_t *u, std::int64_t n) {
  std::uint64_t count = 0;
  for (std::int64_t j = 0; j < n; ++j)
    count += (u[j] & kMagnitude<std::uint64_t>) == 0;
  return static_cast<std::int64_t>(count);
}
template <class U> void each(const U *u, std::int64_t n, std::int64_t *counts) {
  for (std::int64_t j = 0; j < n; ++j)
    counts[j] += (u[j] & kMagnitude<U>) == 0;
}

} // namespace

std::int64_t count_zeros(const void *p, std::int64_t n, int bytes) {
  switch (bytes) {
  case 2: return zeros16(static_cast<const std::uint16_t *>(p), n);
  case 4: return zeros32(static_cast<const std::uint32_t *>(p), n);
  default: return zeros64(static_cast<const std::uint64_t *>(p), n);
  }
}

void count_zeros_each(const void *p, std::int64_t n, int bytes, std::int64_t *counts) {
  switch (bytes) {
  case 2: return each(static_cast<const std::uint16_t *>(p), n, counts);
  case 4: return each(static_cast<const std::uint32_t *>(p), n, counts);
  default: return each(static_cast<const std::uint64_t *>(p), n, counts);
  }
}

} // namespace actforge::runtime
