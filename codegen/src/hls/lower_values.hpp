// lower_values(): the element computation shared by the HLS float mode (C) and the MLIR emitter
// (codegen/src/mlir), built into the current c::Scope in its syntax. Internal; not installed.
#pragma once

#include "c_prims.hpp"

#include "actforge/ir/expr.hpp"

#include <map>
#include <string>
#include <vector>

namespace actforge::codegen::hls {

/// Each of `exprs` (of ir::input(k) = inputs[k], each parameter bound to params' value) in f32,
/// with pipeline.cpp's guards (inputs at ±inf evaluated at stand-ins and read back as limits where
/// the expressions need it; NaN where an input the expression does not carry is NaN), times dy
/// when given. Throws actforge::Error for a parameter missing from `params`.
std::vector<c::V> lower_values(const std::vector<c::V> &inputs,
                               const std::map<std::string, c::V> &params,
                               const std::vector<ir::Expr> &exprs, const c::OptV &dy);

} // namespace actforge::codegen::hls
