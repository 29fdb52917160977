// Schedule: how an elementwise kernel's loop is vectorised, unrolled and parallelised.
#pragma once

#include <cstdint>
#include <string>

namespace actforge::codegen {

/// A value type the autotuner will search over. Any n >= 0 works under every schedule: the
/// vector loop is guarded for the tail and for n below one vector.
struct Schedule {
  int lanes = 8;                   // vector width in elements
  int unroll = 1;                  // vectors per loop iteration
  std::int64_t parallel_chunk = 0; // elements per parallel task; 0: one thread

  bool operator==(const Schedule &) const = default;
  /// "v16u2p65536": lanes, unroll, parallel chunk (p0 when serial). Part of kernel names.
  std::string describe() const;
};

/// The natural schedule for a target: one register of lanes (vector_bits / element bits),
/// unrolled twice, serial. Throws actforge::Error for lanes, unroll or chunk out of range.
Schedule default_schedule(int vector_bits, int element_bits);
void validate(const Schedule &s);

} // namespace actforge::codegen
