// The on-disk kernel cache: directory policy, entry checks, atomic publication.
#include "disk_cache.hpp"

#include "sha256.hpp"

#include "actforge/error.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace actforge::runtime {
namespace {

constexpr const char *kRecordMagic = "actforge-cache-entry 1";

std::string env(const char *name) {
  const char *v = std::getenv(name);
  return v ? v : "";
}

// mkdir -p, each new level private. Returns an error message, or "" on success.
std::string make_private_dirs(const std::string &path) {
  for (std::size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    const std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
      return "cannot create " + prefix + ": " + std::strerror(errno);
  }
  return {};
}

// Why `path` may not hold code this process will run, or "" when it may.
std::string check_private_dir(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "cannot stat " + path + ": " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return path + " is not a directory";
  if (st.st_uid != ::geteuid())
    return path + " is owned by another user (uid " + std::to_string(st.st_uid) + ")";
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return path + " is writable by group or others (make it private: chmod 700)";
  return {};
}

std::string escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// The whole file at `path` if it is a regular file of this user that others cannot write.
std::optional<std::string> read_trusted_file(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st;
  std::optional<std::string> out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
      !(st.st_mode & (S_IWGRP | S_IWOTH))) {
    std::string data(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t got = ::read(fd, data.data() + done, data.size() - done);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      done += static_cast<std::size_t>(got);
    }
    if (done == data.size()) out = std::move(data);
  }
  ::close(fd);
  return out;
}

void write_file(const std::string &path, const std::string &data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw Error("cannot write " + path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t put = ::write(fd, data.data() + done, data.size() - done);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) {
      ::close(fd);
      throw Error("cannot write " + path + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(put);
  }
  ::close(fd);
}

void remove_tree(const std::string &path) {
  if (DIR *d = ::opendir(path.c_str())) {
    while (const dirent *e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") ::unlink((path + "/" + name).c_str());
    }
    ::closedir(d);
  }
  ::rmdir(path.c_str());
}

} // namespace

CacheDir cache_directory() {
  if (env("ACTFORGE_NO_DISK_CACHE") == "1") return {};
  if (std::string dir = env("ACTFORGE_CACHE_DIR"); !dir.empty()) {
    std::string why = make_private_dirs(dir);
    if (why.empty()) why = check_private_dir(dir);
    if (!why.empty()) throw Error("ACTFORGE_CACHE_DIR cannot be used for compiled kernels: " + why);
    return {dir, {}};
  }
  std::string base = env("XDG_CACHE_HOME");
  if (base.empty() || base[0] != '/') { // XDG: a relative path is invalid and ignored
    const std::string home = env("HOME");
    if (home.empty()) return {{}, "neither XDG_CACHE_HOME nor HOME is set"};
    base = home + "/.cache";
  }
  const std::string dir = base + "/actforge";
  std::string why = make_private_dirs(dir);
  if (why.empty()) why = check_private_dir(dir);
  if (!why.empty()) return {{}, why};
  return {dir, {}};
}

WorkDir::WorkDir(const std::string &cache_dir) {
  std::string base = cache_dir;
  if (base.empty()) {
    base = env("TMPDIR");
    if (base.empty()) base = "/tmp";
  }
  std::string pattern = base + "/tmp-actforge-XXXXXX";
  if (!::mkdtemp(pattern.data()))
    throw Error("cannot create a work directory in " + base + ": " + std::strerror(errno));
  path_ = pattern;
}

WorkDir::~WorkDir() { remove_tree(path_); }

std::string entry_id(const std::string &key) { return sha256_hex(key).substr(0, 32); }

// The record: magic, key, size and sha256 of the object, then the meta text, one a line.
static std::string record_text(const std::string &key, const std::string &so,
                               const std::string &meta) {
  return std::string(kRecordMagic) + "\nkey " + escape(key) + "\nsize " +
         std::to_string(so.size()) + "\nsha256 " + Sha256().update(so).hex() + "\nmeta " +
         escape(meta) + "\n";
}

std::optional<Entry> find_entry(const std::string &dir, const std::string &key) {
  const std::string stem = dir + "/" + entry_id(key);
  const auto record = read_trusted_file(stem + ".record");
  if (!record) return std::nullopt;
  const auto meta_at = record->find("\nmeta ");
  if (meta_at == std::string::npos || record->back() != '\n') return std::nullopt;
  std::string meta;
  for (std::size_t i = meta_at + 6; i + 1 < record->size(); ++i) {
    if ((*record)[i] == '\n') return std::nullopt;
    if ((*record)[i] != '\\') {
      meta += (*record)[i];
    } else if (++i + 1 < record->size()) {
      meta += (*record)[i] == 'n' ? '\n' : (*record)[i];
    }
  }
  const auto so = read_trusted_file(stem + ".so");
  if (!so || *record != record_text(key, *so, meta)) return std::nullopt;
  return Entry{stem + ".so", meta};
}

void publish_entry(const std::string &dir, const std::string &key, const std::string &meta,
                   const std::string &built) {
  const auto so = read_trusted_file(built);
  if (!so) throw Error("cannot read back " + built);
  const std::string stem = dir + "/" + entry_id(key);
  const std::string record = record_text(key, *so, meta);
  ::chmod(built.c_str(), 0700); // private like the directory
  const std::string record_tmp = built + ".record";
  write_file(record_tmp, record);
  // Object first, then its record: a reader that sees the new record sees the new object (or a
  // newer one, which fails the hash and is rebuilt).
  if (::rename(built.c_str(), (stem + ".so").c_str()) != 0 ||
      ::rename(record_tmp.c_str(), (stem + ".record").c_str()) != 0)
    throw Error("cannot publish a cache entry in " + dir + ": " + std::strerror(errno));
}

} // namespace actforge::runtime
