// TempDir (temp_dir.hpp).
#include "actforge/targets/temp_dir.hpp"

#include "actforge/error.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace actforge::targets {

TempDir::TempDir() {
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/actforge-XXXXXX";
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

} // namespace actforge::targets
