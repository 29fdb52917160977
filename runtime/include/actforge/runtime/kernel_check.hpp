// check_kernels(): run compiled kernels on a sample of inputs and measure them against the
// long-double reference, in ULPs of the kernel's dtype (`actforge check --target ...`).
#pragma once

#include "actforge/check/record.hpp"
#include "actforge/check/reference.hpp"
#include "actforge/codegen/hls/hls.hpp"
#include "actforge/runtime/jit.hpp"

#include <vector>

namespace actforge::runtime {

struct KernelCheckOptions {
  std::string target = "host";
  /// halide (every target), or mlir: the CPU kernels of codegen/mlir compiled by actforge-mlir
  /// (f32, f16, bf16 storage; f64 is skipped with the reason).
  std::string backend = "halide";
  std::vector<DType> dtypes{DType::F32, DType::F64, DType::F16, DType::BF16};
  /// f32 inputs: every 2^log2_stride-th bit pattern (10: the CI sample of ACTIVATIONS.md; 0: all
  /// 2^32) plus the special values; f64 as many patterns, evenly spread; f16/bf16 all 65536.
  int log2_stride = 10;
  /// The fpga target: fixed point in `fixed_in` → `fixed_out` (unset: its float mode, f32), the
  /// error bound or table size of its tables (codegen::hls::Options).
  std::optional<codegen::hls::FixedFormat> fixed_in, fixed_out;
  std::optional<double> max_error;
  std::optional<int> table_intervals;
  /// The Halide backend on x86: the schedule to compile (unset: the target's default; the tuning
  /// database is not consulted, so a check always says which code it measured).
  std::optional<codegen::Schedule> schedule;
  /// Only these roles' records (empty: every role). Backward includes backward_g.
  std::vector<Role> roles;
};

/// ULP bounds of ACTIVATIONS.md. Piecewise-linear kernels must equal the same formula evaluated
/// in the compute type (0 ULP from it); transcendental ones are measured against long double.
inline constexpr double kForwardUlp = 4;
inline constexpr double kBackwardUlp = 8;

/// One record per role (forward, backward[_g]) and dtype; skips name the reason (a target this
/// CPU cannot run). The fpga target: its C kernels (forward, backward) pass the rule check
/// (records `rules:<role>`) and run as a C simulation: in float mode against the same ULP bounds,
/// in fixed point on every measured input combination, bit-identical to the emitter's integer
/// program, with the error it reported (max_abs_err), within the requested bound.
std::vector<check::Record> check_kernels(const check::Subject &subject,
                                         const KernelCheckOptions &options);

/// |value − exact| in units of the spacing of `dtype` at `exact` (fractional; 0 when equal, inf
/// when one is infinite or NaN and the other not). `exact` beyond the dtype's range means ±inf.
double ulp_error(long double value, long double exact, DType dtype);

} // namespace actforge::runtime
