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
/// Halves: gated activations on one tensor [rows, 2d] split in halves along its last dimension
/// (the transformer convention, torch.nn.functional.glu(input, dim=-1)): row r holds x in
/// elements [0, d) and g in [d, 2d), element (r, j) at r·2d + j; outputs are [rows, d] (element
/// (r, i) at r·d + i), except backward's one gradient [rows, 2d] with dx in the first half of
/// each row and dg in the second. Only for expressions that read g, without per-channel
/// parameters or a generated g; no backward_from_output.
enum class Layout { Flat, Channels, Halves };

struct KernelSpec {
  ir::Expr expr; // the activation
  Role role = Role::Forward;
  DType dtype = DType::F32;
  Layout layout = Layout::Flat;
  /// Parameters given as a buffer of C values instead of a scalar (Layout::Channels only).
  std::vector<std::string> per_channel = {};
  /// ParamGrad: the parameters to differentiate by; empty means every parameter of expr.
  std::vector<std::string> wrt = {};
  /// Input g (ir::input(1)) is generated, not read: g = U[0, 1) from Philox-4x32-10 with key =
  /// the call's 64-bit seed (low word first) and counter = (element index + offset) mod 2^64 in
  /// words 0 (low) and 1, words 2 and 3 zero; g = (output word 0 >> 8)·2^-24 (dsl/philox.hpp).
  /// The element index is the element's position in the call: i (flat), (o·C + c)·inner + i
  /// (channels). Kernels take two more scalars, seed and offset (uint64), after the others; g
  /// is not among their arrays and the backward role has no dg. Never NaN or infinite.
  bool uniform_g = false;
};

/// Throws actforge::Error when the spec cannot be built: no expression, a comparison as the
/// activation, more than two inputs, per-channel parameters outside Layout::Channels or not
/// parameters of expr, a wrt outside ParamGrad or naming no parameter, ParamGrad of an
/// expression without parameters; uniform_g for an expression without input g, for
/// backward_from_output, or with a parameter named seed or offset (the generator's scalars);
/// Layout::Halves for an expression without input g, with uniform_g or for
/// backward_from_output.
void validate(const KernelSpec &spec);

/// The parameters a ParamGrad kernel differentiates by, sorted by name: spec.wrt, or every
/// parameter of spec.expr when wrt is empty.
std::vector<std::string> grad_params(const KernelSpec &spec);
bool is_per_channel(const KernelSpec &spec, std::string_view param);

std::string_view to_string(Role r);   // forward, backward, backward_from_output, param_grad
std::string_view to_string(DType d);  // f32, f64, f16, bf16
std::string_view to_string(Layout l); // flat, channels, halves
std::string_view short_name(Role r);  // fwd, bwd, bwdy, pgrad: the role part of kernel names
Role parse_role(std::string_view s);  // throws actforge::Error naming the choices
DType parse_dtype(std::string_view s);
Layout parse_layout(std::string_view s);
int bytes_of(DType d);
/// One value of storage type `d` at `p` as a double, and back (rounded to nearest even).
double load_value(const void *p, DType d);
void store_value(void *p, DType d, double v);

} // namespace actforge::codegen
