// find_program(): where a tool the targets need is (the system linker, the cross tools).
#pragma once

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>

#include <unistd.h>

namespace actforge::targets {

/// The full path of `program` (an executable) on PATH ("/usr/bin:/bin" when PATH is unset), or
/// `program` itself when it has a slash and is executable; empty when there is none.
inline std::string find_program(std::string_view program) {
  const std::string name(program);
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char *path = std::getenv("PATH");
  const std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate =
        (end > start ? dirs.substr(start, end - start) : ".") + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

} // namespace actforge::targets
