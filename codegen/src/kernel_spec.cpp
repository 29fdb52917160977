// Names of roles, dtypes and layouts, both ways; the checks every backend relies on.
#include "actforge/codegen/kernel_spec.hpp"

#include "actforge/error.hpp"
#include "actforge/ir/interpret.hpp"

#include <Halide.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <set>
#include <utility>

namespace actforge::codegen {
namespace {
constexpr std::array<std::pair<Role, std::string_view>, 4> kRoles{{
    {Role::Forward, "forward"},
    {Role::Backward, "backward"},
    {Role::BackwardFromOutput, "backward_from_output"},
    {Role::ParamGrad, "param_grad"},
}};
constexpr std::array<std::pair<DType, std::string_view>, 4> kDTypes{{
    {DType::F32, "f32"},
    {DType::F64, "f64"},
    {DType::F16, "f16"},
    {DType::BF16, "bf16"},
}};
constexpr std::array<std::pair<Layout, std::string_view>, 3> kLayouts{{
    {Layout::Flat, "flat"},
    {Layout::Channels, "channels"},
    {Layout::Halves, "halves"},
}};

template <class T, std::size_t N>
T parse(std::string_view s, const std::array<std::pair<T, std::string_view>, N> &table,
        const char *what) {
  std::string choices;
  for (const auto &[value, name] : table) {
    if (name == s) return value;
    choices += (choices.empty() ? "" : ", ") + std::string(name);
  }
  throw Error("unknown " + std::string(what) + " '" + std::string(s) + "' (one of " + choices +
              ")");
}

// Each of `names` is a parameter of the expression, and none is listed twice.
void check_names(const std::vector<std::string> &names, const std::set<std::string> &params,
                 const char *what) {
  std::set<std::string> seen;
  for (const auto &name : names) {
    if (!params.count(name))
      throw Error(std::string(what) + ": the expression has no parameter '" + name + "'");
    if (!seen.insert(name).second)
      throw Error(std::string(what) + ": parameter '" + name + "' is listed twice");
  }
}
} // namespace

void validate(const KernelSpec &spec) {
  if (!spec.expr.defined()) throw Error("a kernel needs an expression");
  if (spec.expr.is_condition()) throw Error("a comparison is not an activation");
  if (ir::count_inputs(spec.expr) > 2) throw Error("kernels take at most two inputs (x and g)");
  std::set<std::string> params;
  for (const auto &info : ir::collect_params(spec.expr))
    params.insert(info.name);
  if (!spec.per_channel.empty() && spec.layout != Layout::Channels)
    throw Error("per-channel parameters need the channel layout [outer, C, inner]");
  check_names(spec.per_channel, params, "per-channel");
  if (!spec.wrt.empty() && spec.role != Role::ParamGrad)
    throw Error("wrt names the parameters of a param_grad kernel; this one is " +
                std::string(to_string(spec.role)));
  check_names(spec.wrt, params, "param_grad");
  if (spec.role == Role::ParamGrad && params.empty())
    throw Error("param_grad: the expression has no parameters");
  if (spec.layout == Layout::Halves) {
    if (ir::count_inputs(spec.expr) != 2)
      throw Error("the halves layout splits one tensor into x and g, but the expression does "
                  "not read g: use the flat layout");
    if (spec.uniform_g)
      throw Error("the halves layout reads g from the tensor's second half; uniform_g generates "
                  "it: use the flat layout");
    if (spec.role == Role::BackwardFromOutput)
      throw Error("the halves layout: backward_from_output reads only y, it cannot give dg; use "
                  "the backward role");
  }
  if (spec.uniform_g) {
    if (ir::count_inputs(spec.expr) != 2)
      throw Error("uniform_g generates input g, but the expression does not read g");
    if (spec.role == Role::BackwardFromOutput)
      throw Error("uniform_g: backward_from_output reads only y, it cannot regenerate g; use "
                  "the backward role");
    for (const char *name : {"seed", "offset"})
      if (params.count(name))
        throw Error(std::string("uniform_g: parameter '") + name +
                    "' would clash with the generator's scalar of that name");
  }
}

std::vector<std::string> grad_params(const KernelSpec &spec) {
  std::vector<std::string> names = spec.wrt;
  if (names.empty())
    for (const auto &info : ir::collect_params(spec.expr))
      names.push_back(info.name);
  std::sort(names.begin(), names.end());
  return names;
}

bool is_per_channel(const KernelSpec &spec, std::string_view param) {
  return std::find(spec.per_channel.begin(), spec.per_channel.end(), param) !=
         spec.per_channel.end();
}

std::string_view to_string(Role r) { return kRoles[static_cast<std::size_t>(r)].second; }
std::string_view to_string(DType d) { return kDTypes[static_cast<std::size_t>(d)].second; }
std::string_view to_string(Layout l) { return kLayouts[static_cast<std::size_t>(l)].second; }

std::string_view short_name(Role r) {
  switch (r) {
  case Role::Forward: return "fwd";
  case Role::Backward: return "bwd";
  case Role::BackwardFromOutput: return "bwdy";
  case Role::ParamGrad: return "pgrad";
  }
  return "?";
}

Role parse_role(std::string_view s) { return parse(s, kRoles, "role"); }
DType parse_dtype(std::string_view s) { return parse(s, kDTypes, "dtype"); }
Layout parse_layout(std::string_view s) { return parse(s, kLayouts, "layout"); }

int bytes_of(DType d) { return d == DType::F64 ? 8 : d == DType::F32 ? 4 : 2; }

double load_value(const void *p, DType d) {
  switch (d) {
  case DType::F32: {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  case DType::F64: {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  case DType::F16:
  case DType::BF16: {
    std::uint16_t bits;
    std::memcpy(&bits, p, 2);
    return d == DType::F16 ? static_cast<double>(Halide::float16_t::make_from_bits(bits))
                           : static_cast<double>(Halide::bfloat16_t::make_from_bits(bits));
  }
  }
  return 0;
}
void store_value(void *p, DType d, double v) {
  switch (d) {
  case DType::F32: {
    const float f = static_cast<float>(v);
    std::memcpy(p, &f, 4);
    return;
  }
  case DType::F64: std::memcpy(p, &v, 8); return;
  case DType::F16:
  case DType::BF16: {
    const std::uint16_t bits =
        d == DType::F16 ? Halide::float16_t(v).to_bits() : Halide::bfloat16_t(v).to_bits();
    std::memcpy(p, &bits, 2);
    return;
  }
  }
}

} // namespace actforge::codegen
