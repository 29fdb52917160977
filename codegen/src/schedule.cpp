// Schedule naming, defaults and validation.
#include "actforge/codegen/schedule.hpp"

#include "actforge/error.hpp"

namespace actforge::codegen {

std::string Schedule::describe() const {
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

void validate(const Schedule &s) {
  const bool power_of_two = s.lanes > 0 && (s.lanes & (s.lanes - 1)) == 0;
  if (!power_of_two || s.lanes > 64)
    throw Error("schedule: lanes must be a power of two from 1 to 64, got " +
                std::to_string(s.lanes));
  if (s.unroll < 1 || s.unroll > 16)
    throw Error("schedule: unroll must be from 1 to 16, got " + std::to_string(s.unroll));
  if (s.parallel_chunk < 0 || (s.parallel_chunk > 0 && s.parallel_chunk % (s.lanes * s.unroll)))
    throw Error("schedule: the parallel chunk must be 0 or a multiple of lanes*unroll");
}

} // namespace actforge::codegen
