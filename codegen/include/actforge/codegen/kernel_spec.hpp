// KernelSpec: what one generated kernel computes — expression, role, dtype, layout.
#pragma once

#include "actforge/ir/expr.hpp"

#include <string>
#include <string_view>

namespace actforge::codegen {

/// What a kernel computes from an activation f.
enum class Role {
  Forward,  // y = f(x[, g])
  Backward, // dx = dy·∂f/∂x (and dg = dy·∂f/∂g for gated f)
};

/// Storage type of the buffers. f16 and bf16 compute in f32; f64 computes in f64.
enum class DType { F32, F64, F16, BF16 };

struct KernelSpec {
  ir::Expr expr; // the activation
  Role role = Role::Forward;
  DType dtype = DType::F32;
};

std::string_view to_string(Role r);  // forward, backward
std::string_view to_string(DType d); // f32, f64, f16, bf16
std::string_view short_name(Role r); // fwd, bwd: the role part of kernel names
Role parse_role(std::string_view s); // throws actforge::Error naming the choices
DType parse_dtype(std::string_view s);
int bytes_of(DType d);

} // namespace actforge::codegen
