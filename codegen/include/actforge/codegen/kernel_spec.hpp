// KernelSpec: what one generated kernel computes — expression, role, dtype, layout.
#pragma once

#include "actforge/ir/expr.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace actforge::codegen {

/// What a kernel computes from an activation f.
enum class Role {
  Forward,            // y = f(x[, g])
  Backward,           // dx = dy·∂f/∂x (and dg = dy·∂f/∂g for gated f)
  BackwardFromOutput, // dx = dy·g(y) where f'(x) = g(f(x)) (dsl/from_output.hpp): needs only y
  ParamGrad,          // dp = Σ_i dy_i·∂f/∂p(x_i): one value per scalar p, C per per-channel p
};

/// Storage type of the buffers. f16 and bf16 compute in f32; f64 computes in f64.
enum class DType { F32, F64, F16, BF16 };

/// How elements are arranged. Flat: n elements. Channels: [outer, C, inner] (NCHW with
/// outer = N, inner = H·W), element (o, c, i) at o·C·inner + c·inner + i; per-channel
/// parameters take one value per c.
enum class Layout { Flat, Channels };

struct KernelSpec {
  ir::Expr expr; // the activation
  Role role = Role::Forward;
  DType dtype = DType::F32;
  Layout layout = Layout::Flat;
  /// Parameters given as a buffer of C values instead of a scalar (Layout::Channels only).
  std::vector<std::string> per_channel = {};
  /// ParamGrad: the parameters to differentiate by; empty means every parameter of expr.
  std::vector<std::string> wrt = {};
};

/// Throws actforge::Error when the spec cannot be built: no expression, a comparison as the
/// activation, more than two inputs, per-channel parameters outside Layout::Channels or not
/// parameters of expr, a wrt outside ParamGrad or naming no parameter, ParamGrad of an
/// expression without parameters.
void validate(const KernelSpec &spec);

/// The parameters a ParamGrad kernel differentiates by, sorted by name: spec.wrt, or every
/// parameter of spec.expr when wrt is empty.
std::vector<std::string> grad_params(const KernelSpec &spec);
bool is_per_channel(const KernelSpec &spec, std::string_view param);

std::string_view to_string(Role r);   // forward, backward, backward_from_output, param_grad
std::string_view to_string(DType d);  // f32, f64, f16, bf16
std::string_view to_string(Layout l); // flat, channels
std::string_view short_name(Role r);  // fwd, bwd, bwdy, pgrad: the role part of kernel names
Role parse_role(std::string_view s);  // throws actforge::Error naming the choices
DType parse_dtype(std::string_view s);
Layout parse_layout(std::string_view s);
int bytes_of(DType d);
/// One value of storage type `d` at `p` as a double, and back (rounded to nearest even).
double load_value(const void *p, DType d);
void store_value(void *p, DType d, double v);

} // namespace actforge::codegen
