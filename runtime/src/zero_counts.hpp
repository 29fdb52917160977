// Counting exactly-zero values (+0 and -0) of a kernel's output block: JitOptions::zero_counts.
// Compiled at -O3 with AVX2 and AVX-512 clones (zero_counts.cpp) so the count keeps up with a
// kernel writing the block: it reads the block back from the cache.
#pragma once

#include <cstdint>

namespace actforge::runtime {

/// Values of `bytes` bytes (2, 4 or 8) among the n at p that are ±0: every bit but the sign clear.
/// n < 2^32.
std::int64_t count_zeros(const void *p, std::int64_t n, int bytes);
/// Adds 1 to counts[j] for each j < n whose value at p is ±0 (per-column counts).
void count_zeros_each(const void *p, std::int64_t n, int bytes, std::int64_t *counts);

} // namespace actforge::runtime
