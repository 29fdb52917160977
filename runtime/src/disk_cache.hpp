// The on-disk cache of compiled kernels: a private directory of shared objects, each checked by
// its recorded SHA-256 (and its key, owner and mode) before it may be loaded. An entry that fails
// a check is rebuilt, never trusted. Writes are atomic (temp file + rename), so processes may
// share the directory.
#pragma once

#include <optional>
#include <string>

namespace actforge::runtime {

/// The cache directory, or none. Read from the environment on each call:
/// ACTFORGE_NO_DISK_CACHE=1 disables it; ACTFORGE_CACHE_DIR names it (throws actforge::Error when
/// it cannot be made private); otherwise $XDG_CACHE_HOME/actforge or ~/.cache/actforge, left
/// unused (with `reason` set) when it cannot be made private. Created mode 0700; refused when
/// owned by another user or writable by group or others.
struct CacheDir {
  std::string path;   // empty: no disk cache
  std::string reason; // why not, when the default location was refused
};
CacheDir cache_directory();

/// A fresh private work directory: inside `cache_dir`, or under $TMPDIR when it is empty.
/// Removed with everything in it when the object goes.
class WorkDir {
public:
  explicit WorkDir(const std::string &cache_dir);
  ~WorkDir();
  WorkDir(const WorkDir &) = delete;
  WorkDir &operator=(const WorkDir &) = delete;
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

struct Entry {
  std::string path; // the shared object to load
  std::string meta; // what the publisher recorded beside it
};

/// The entry of `key` (its full text) in `dir`, if it exists and passes every check: owned by
/// this user, not writable by others, its key and size as recorded, its bytes hashing to the
/// recorded SHA-256.
std::optional<Entry> find_entry(const std::string &dir, const std::string &key);

/// Publish the shared object at `built` (inside `dir`, e.g. in a WorkDir of it) as the entry of
/// `key`, with `meta` (any text) recorded beside it: the object is renamed into place, then its
/// record is written and renamed next to it.
void publish_entry(const std::string &dir, const std::string &key, const std::string &meta,
                   const std::string &built);

/// The file name stem of the entry of `key`: 32 hex digits of its SHA-256.
std::string entry_id(const std::string &key);

} // namespace actforge::runtime
