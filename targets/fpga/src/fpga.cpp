// The fpga target: its name and description, element sizes, and the temporary directories of
// the rule check (rules.cpp) and the C simulation (csim.cpp).
#include "actforge/targets/fpga.hpp"

#include "actforge/error.hpp"
#include "temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace actforge::targets::fpga {

const std::vector<std::string> &names() {
  static const std::vector<std::string> n{"fpga"};
  return n;
}

bool is_fpga(std::string_view name) { return name == "fpga"; }

TargetInfo resolve(std::string_view name) {
  if (!is_fpga(name)) throw Error("'" + std::string(name) + "' is not an fpga target (fpga)");
  return {"fpga", Halide::Target(), 32, false, Family::Fpga};
}

std::size_t element_size(std::string_view c_type) {
  if (c_type == "float" || c_type == "int32_t") return 4;
  if (c_type == "double" || c_type == "int64_t") return 8;
  if (c_type == "int16_t") return 2;
  if (c_type == "int8_t") return 1;
  throw Error("no element size for the C type '" + std::string(c_type) +
              "' (float, double, int8_t, int16_t, int32_t, int64_t)");
}

TempDir::TempDir() {
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/actforge-fpga-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw Error("cannot make a temporary directory " + pattern + ": " + std::strerror(errno));
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string &name, const std::string &text) const {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    throw Error("'" + name + "' is not a plain file name");
  const std::string file = path_ + "/" + name;
  std::ofstream out(file, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw Error("cannot write " + file);
  return file;
}

void TempDir::write_all(const std::map<std::string, std::string> &files) const {
  for (const auto &[name, text] : files)
    write(name, text);
}

std::string TempDir::read(const std::string &name) const {
  const std::string file = path_ + "/" + name;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read " + file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string TempDir::relative(std::string text) const {
  const std::string prefix = path_ + "/";
  for (auto at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at))
    text.erase(at, prefix.size());
  return text;
}

} // namespace actforge::targets::fpga
