// resolve(): a target name to its family's description.
#include "actforge/targets/target.hpp"

#include "actforge/error.hpp"
#include "actforge/targets/cuda.hpp"
#include "actforge/targets/x86.hpp"

namespace actforge::targets {

TargetInfo resolve(std::string_view name) {
  if (cuda::is_cuda(name)) return cuda::resolve(name);
  for (const auto &n : known_names())
    if (n == name) return x86::resolve(name);
  std::string known;
  for (const auto &n : known_names())
    known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown target '" + std::string(name) + "' (known: " + known + ")");
}

std::vector<std::string> known_names() {
  std::vector<std::string> names{"host"};
  for (const auto &n : x86::names())
    names.push_back(n);
  for (const auto &n : cuda::names())
    names.push_back(n);
  return names;
}

} // namespace actforge::targets
