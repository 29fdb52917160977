// Names of roles and dtypes, both ways.
#include "actforge/codegen/kernel_spec.hpp"

#include "actforge/error.hpp"

#include <array>
#include <utility>

namespace actforge::codegen {
namespace {
constexpr std::array<std::pair<Role, std::string_view>, 2> kRoles{{
    {Role::Forward, "forward"},
    {Role::Backward, "backward"},
}};
constexpr std::array<std::pair<DType, std::string_view>, 4> kDTypes{{
    {DType::F32, "f32"},
    {DType::F64, "f64"},
    {DType::F16, "f16"},
    {DType::BF16, "bf16"},
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
} // namespace

std::string_view to_string(Role r) { return kRoles[static_cast<std::size_t>(r)].second; }
std::string_view to_string(DType d) { return kDTypes[static_cast<std::size_t>(d)].second; }

std::string_view short_name(Role r) {
  switch (r) {
  case Role::Forward: return "fwd";
  case Role::Backward: return "bwd";
  }
  return "?";
}

Role parse_role(std::string_view s) { return parse(s, kRoles, "role"); }
DType parse_dtype(std::string_view s) { return parse(s, kDTypes, "dtype"); }

int bytes_of(DType d) { return d == DType::F64 ? 8 : d == DType::F32 ? 4 : 2; }

} // namespace actforge::codegen
