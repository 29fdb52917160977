// The fpga target ahead of time (`actforge gen --target fpga`): HLS C99 kernels with their
// reports, the float mode's error measured by a C simulation.
#pragma once

#include "actforge/codegen/hls/hls.hpp"
#include "actforge/runtime/aot.hpp"

#include <string>
#include <vector>

namespace actforge::runtime::fpga {

struct Options {
  std::vector<aot::Activation> activations;
  std::vector<codegen::Role> roles = {codegen::Role::Forward, codegen::Role::Backward};
  codegen::hls::Options hls; // fixed point or float, error bound or table size, max count
};

/// Writes <activation>_<fwd|bwd>.c, .h and .report.json into `dir` (created if missing) for
/// every activation and role; returns the file names written. A float kernel's report gets the
/// max ULP that its C simulation measured on the CI sample (every 2^10-th f32 pattern plus the
/// special values) against the long-double reference; a fixed-point kernel's report is the
/// emitter's exhaustive measurement. Throws actforge::Error (a role other than forward and
/// backward, maxout, an unreachable bound, a C simulation that cannot be built).
std::vector<std::string> generate(const Options &options, const std::string &dir);

} // namespace actforge::runtime::fpga
