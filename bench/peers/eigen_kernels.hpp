// Eigen's loops (eigen_kernels.cpp, compiled for x86-64-v4), behind an interface that carries no
// Eigen or standard-library template, so the rest of the program is compiled for every CPU.
#pragma once

#include <cstddef>
#include <cstdint>

namespace actforge::bench::eigen {

/// out[i] = f(x[i]) or dy[i]·f'(x[i]) for i in [0, n).
using Loop = void (*)(const float *x, const float *dy, float *out, std::int64_t n);

/// The loop of activation `name` (an entry of kActivations), null if none is written.
Loop loop(const char *name, bool backward);

/// "Eigen 3.4.0 array expressions, AVX512, FMA, ...".
const char *describe();

} // namespace actforge::bench::eigen
