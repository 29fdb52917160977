// The JIT's caches: memory hits, disk reuse across processes, corrupt and foreign entries
// rebuilt, directory permissions, and the errors of jit() — through jit_cache_probe processes.
#include "actforge/runtime/jit.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace actforge {
namespace {

namespace fs = std::filesystem;

// A fresh directory for one test, removed afterwards.
class TempDir {
public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "actforge-cache-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path &path() const { return path_; }

private:
  fs::path path_;
};

struct Probe {
  int status = -1;
  std::string output;
  bool has(const std::string &s) const { return output.find(s) != std::string::npos; }
  std::string sum() const {
    const auto at = output.find("sum=");
    return at == std::string::npos ? "" : output.substr(at, 20);
  }
};

// Runs jit_cache_probe with `env` ("NAME=value ...") in a new process.
Probe probe(const std::string &env, const std::string &expr, const std::string &role = "forward") {
  const std::string command =
      "env " + env + " " + ACTFORGE_PROBE + " '" + expr + "' " + role + " 2>&1";
  Probe p;
  FILE *pipe = ::popen(command.c_str(), "r");
  if (!pipe) return p;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe))
    p.output += buf;
  const int status = ::pclose(pipe);
  p.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return p;
}

std::string cache_env(const TempDir &d) { return "ACTFORGE_CACHE_DIR=" + d.path().string(); }

std::vector<fs::path> entries(const fs::path &dir, const std::string &ext) {
  std::vector<fs::path> out;
  for (const auto &e : fs::directory_iterator(dir))
    if (e.path().extension() == ext) out.push_back(e.path());
  return out;
}

TEST(JitCache, SecondJitIsAMemoryHit) {
  TempDir d;
  ::setenv("ACTFORGE_CACHE_DIR", d.path().c_str(), 1);
  const std::size_t compiled = jit_compile_count(), loaded = jit_disk_load_count();
  const Kernel a = jit("x * 0.625 + relu(x) / 3");
  EXPECT_EQ(jit_compile_count() + jit_disk_load_count(), compiled + loaded + 1);
  const Kernel b = jit("x * 0.625 + relu(x) / 3");
  EXPECT_EQ(jit_compile_count() + jit_disk_load_count(), compiled + loaded + 1);
  EXPECT_EQ(a.name(), b.name());
  ::unsetenv("ACTFORGE_CACHE_DIR");
}

TEST(JitCache, ANewProcessLoadsFromDisk) {
  TempDir d;
  const Probe first = probe(cache_env(d), "x * sigmoid(1.25 * x)");
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_TRUE(first.has("compiled=1 disk=0")) << first.output;
  const Probe second = probe(cache_env(d), "x * sigmoid(1.25 * x)");
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_TRUE(second.has("compiled=0 disk=1")) << second.output;
  EXPECT_EQ(first.sum(), second.sum());
  // The directory is private, and so is every entry.
  EXPECT_EQ(fs::status(d.path()).permissions() & (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);
  for (const auto &so : entries(d.path(), ".so"))
    EXPECT_EQ(fs::status(so).permissions() & (fs::perms::group_write | fs::perms::others_write),
              fs::perms::none);
}

TEST(JitCache, BackwardKernelsAreCachedToo) {
  TempDir d;
  const Probe first = probe(cache_env(d), "swish", "backward");
  const Probe second = probe(cache_env(d), "swish", "backward");
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_TRUE(second.has("compiled=0 disk=1")) << second.output;
  EXPECT_EQ(first.sum(), second.sum());
}

TEST(JitCache, ConcurrentProcessesShareTheDirectory) {
  TempDir d;
  const std::string command = "for i in 1 2 3 4; do env " + cache_env(d) + " " + ACTFORGE_PROBE +
                              " 'x * sigmoid(0.625 * x)' forward & done; wait";
  FILE *pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::vector<std::string> lines;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe))
    lines.push_back(buf);
  ::pclose(pipe);
  ASSERT_EQ(lines.size(), 4u);
  for (const auto &line : lines) {
    EXPECT_EQ(line.rfind("compiled=", 0), 0u) << line;
    EXPECT_EQ(line.substr(line.find("sum="), 20), lines[0].substr(lines[0].find("sum="), 20));
  }
  const Probe after = probe(cache_env(d), "x * sigmoid(0.625 * x)");
  EXPECT_TRUE(after.has("compiled=0 disk=1")) << after.output;
}

// Each way an entry can be wrong makes the next process rebuild it, with the right result.
void expect_rebuilt(const std::string &what, void (*damage)(const fs::path &dir)) {
  TempDir d;
  const Probe good = probe(cache_env(d), "x * tanh(softplus(x))");
  ASSERT_EQ(good.status, 0) << good.output;
  damage(d.path());
  const Probe rebuilt = probe(cache_env(d), "x * tanh(softplus(x))");
  ASSERT_EQ(rebuilt.status, 0) << what << ": " << rebuilt.output;
  EXPECT_TRUE(rebuilt.has("compiled=1 disk=0")) << what << ": " << rebuilt.output;
  EXPECT_EQ(rebuilt.sum(), good.sum()) << what;
  const Probe again = probe(cache_env(d), "x * tanh(softplus(x))");
  EXPECT_TRUE(again.has("compiled=0 disk=1")) << what << ": " << again.output;
}

void for_each_kernel(const fs::path &dir, void (*f)(const fs::path &so)) {
  // The runtime's entry is the one whose record names the Halide runtime; damage the others.
  for (const auto &so : entries(dir, ".so")) {
    std::ifstream record(fs::path(so).replace_extension(".record"));
    const std::string text((std::istreambuf_iterator<char>(record)), {});
    if (text.find("meta halide runtime") == std::string::npos) f(so);
  }
}

TEST(JitCache, CorruptEntriesAreRebuilt) {
  expect_rebuilt("a flipped byte", [](const fs::path &dir) {
    for_each_kernel(dir, [](const fs::path &so) {
      std::fstream f(so, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(fs::file_size(so) / 2));
      f.put('\x5a');
    });
  });
  expect_rebuilt("a truncated object", [](const fs::path &dir) {
    for_each_kernel(dir, [](const fs::path &so) { fs::resize_file(so, fs::file_size(so) / 3); });
  });
  expect_rebuilt("a missing record", [](const fs::path &dir) {
    for_each_kernel(
        dir, [](const fs::path &so) { fs::remove(fs::path(so).replace_extension(".record")); });
  });
  expect_rebuilt("a foreign record", [](const fs::path &dir) {
    // The record of another kernel: right format, wrong key.
    for_each_kernel(dir, [](const fs::path &so) {
      std::ofstream(fs::path(so).replace_extension(".record"))
          << "actforge-cache-entry 1\nkey kernel 1\nname relu\nsize 1\nsha256 00\nmeta x\n";
    });
  });
  expect_rebuilt("an object others may write", [](const fs::path &dir) {
    for_each_kernel(dir, [](const fs::path &so) {
      fs::permissions(so, fs::perms::group_write | fs::perms::others_write, fs::perm_options::add);
    });
  });
}

TEST(JitCache, AnEntryOfAnotherUserIsRebuilt) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file to another user";
  expect_rebuilt("another user's object", [](const fs::path &dir) {
    for_each_kernel(dir, [](const fs::path &so) { (void)::chown(so.c_str(), 65534, 65534); });
  });
}

TEST(JitCache, APublicDirectoryIsRefused) {
  TempDir d;
  fs::permissions(d.path(), fs::perms::all);
  const Probe p = probe(cache_env(d), "x * 0.75");
  EXPECT_EQ(p.status, 3) << p.output;
  EXPECT_TRUE(p.has("is writable by group or others")) << p.output;
  EXPECT_TRUE(entries(d.path(), ".so").empty());
}

TEST(JitCache, ADirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another user";
  TempDir d;
  ASSERT_EQ(::chown(d.path().c_str(), 65534, 65534), 0);
  const Probe p = probe(cache_env(d), "x * 0.75");
  EXPECT_EQ(p.status, 3) << p.output;
  EXPECT_TRUE(p.has("is owned by another user")) << p.output;
}

TEST(JitCache, TheDefaultDirectoryIsPrivateUnderXdgCacheHome) {
  TempDir d;
  const Probe p = probe("-u ACTFORGE_CACHE_DIR XDG_CACHE_HOME=" + d.path().string(), "x * 0.5");
  ASSERT_EQ(p.status, 0) << p.output;
  const fs::path dir = d.path() / "actforge";
  ASSERT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(fs::status(dir).permissions() & (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);
  EXPECT_FALSE(entries(dir, ".so").empty());
}

TEST(JitCache, DisabledWritesNothing) {
  TempDir d;
  const Probe p = probe(cache_env(d) + " ACTFORGE_NO_DISK_CACHE=1", "x * 0.875");
  ASSERT_EQ(p.status, 0) << p.output;
  EXPECT_TRUE(p.has("compiled=1 disk=0")) << p.output;
  EXPECT_TRUE(fs::is_empty(d.path()));
}

TEST(JitCache, NoLinkerIsAClearError) {
  TempDir d;
  const Probe p = probe(cache_env(d) + " PATH=/nonexistent", "x * 0.375");
  EXPECT_EQ(p.status, 3) << p.output;
  EXPECT_TRUE(p.has("no 'ld' is on PATH")) << p.output;
}

TEST(JitCache, ErrorsAreExceptions) {
  JitOptions sse2, riscv;
  sse2.target = "x86-64-sse2";
  riscv.target = "riscv";
  EXPECT_THROW(jit("relu", sse2), Error);
  try {
    jit("relu", riscv);
    ADD_FAILURE() << "an unknown target must throw";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("unknown target 'riscv'"), std::string::npos);
  }
  const Kernel t = jit("select(x > t, x, 0)");
  float x = 1, y = 0;
  try {
    t.forward(&x, &y, 1);
    ADD_FAILURE() << "a missing parameter must throw";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("parameter 't' has no default"), std::string::npos);
  }
  t.forward(&x, &y, 1, {{"t", 0.5}});
  EXPECT_EQ(y, 1.0f);
}

} // namespace
} // namespace actforge
