// Schedule naming, defaults and validation.
#include "actforge/codegen/schedule.hpp"

#include "actforge/error.hpp"

namespace actforge::codegen {

std::string Schedule::describe() const {
  if (gpu())
    return "v" + std::to_string(lanes) + "u" + std::to_string(unroll) + "t" +
           std::to_string(gpu_threads);
  return "v" + std::to_string(lanes) + "u" + std::to_string(unroll) + "p" +
         std::to_string(parallel_chunk);
}

Schedule default_schedule(int vector_bits, int element_bits) {
  Schedule s;
  s.lanes = vector_bits / element_bits;
  s.unroll = 2;
  s.parallel_chunk = 0;
  validate(s);
  return s;
}

Schedule Schedule::unaligned() const {
  if (!gpu()) return *this;
  Schedule s = *this;
  s.unroll = lanes * unroll;
  s.lanes = 1;
  return s;
}

Schedule default_gpu_schedule(int element_bits) {
  Schedule s;
  s.lanes = element_bits == 64 ? 1 : 128 / element_bits; // f64: see pipeline.cpp
  s.unroll = element_bits == 64 ? 4 : 2;
  s.gpu_threads = 256;
  validate(s);
  return s;
}

void validate(const Schedule &s) {
  const bool power_of_two = s.lanes > 0 && (s.lanes & (s.lanes - 1)) == 0;
  if (!power_of_two || s.lanes > 64)
    throw Error("schedule: lanes must be a power of two from 1 to 64, got " +
                std::to_string(s.lanes));
  if (s.unroll < 1 || s.unroll > (s.gpu_threads ? 64 : 16))
    throw Error("schedule: unroll must be from 1 to 16 (GPU: 64), got " + std::to_string(s.unroll));
  if (s.gpu_threads != 0) {
    const bool pow2 = (s.gpu_threads & (s.gpu_threads - 1)) == 0;
    if (!pow2 || s.gpu_threads < 32 || s.gpu_threads > 1024)
      throw Error("schedule: gpu_threads must be 0 (CPU) or a power of two from 32 to 1024, got " +
                  std::to_string(s.gpu_threads));
    if (s.parallel_chunk != 0)
      throw Error("schedule: a GPU schedule (gpu_threads > 0) has no parallel chunk");
    return;
  }
  if (s.parallel_chunk < 0 || (s.parallel_chunk > 0 && s.parallel_chunk % (s.lanes * s.unroll)))
    throw Error("schedule: the parallel chunk must be 0 or a multiple of lanes*unroll");
}

} // namespace actforge::codegen
