// TempDir: a fresh private directory for one tool run (the fpga rule check and C simulation,
// the MLIR backend's compilations), removed with it.
#pragma once

#include <map>
#include <string>

namespace actforge::targets {

class TempDir {
public:
  /// mkdtemp under $TMPDIR (or /tmp); throws actforge::Error when it cannot.
  TempDir();
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::string &path() const { return path_; }
  /// Writes `text` to path()/name and returns that path. `name` must be a plain file name (no
  /// '/', not "." or ".."): throws actforge::Error otherwise, or when the write fails.
  std::string write(const std::string &name, const std::string &text) const;
  /// write() for every file.
  void write_all(const std::map<std::string, std::string> &files) const;
  /// The text of path()/name; throws actforge::Error when it cannot be read.
  std::string read(const std::string &name) const;
  /// `text` with every occurrence of path() + "/" removed: tool output that names our files
  /// by their plain names.
  std::string relative(std::string text) const;

private:
  std::string path_;
};

} // namespace actforge::targets
