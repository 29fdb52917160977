// cross::Runner: an AOT library for a cross target, linked with a C driver by the cross compiler
// and run under the emulator, one process per Runner, spoken to over a socket.
#include "actforge/runtime/cross.hpp"

#include "actforge/error.hpp"
#include "actforge/targets/arm.hpp"
#include "actforge/targets/process.hpp"
#include "actforge/targets/target.hpp"
#include "disk_cache.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace actforge::cross {
namespace {

constexpr const char *kPrefix = "afx";

// The driver: reads requests on fd 0 and answers on fd 1 (one socket), calling kernels through
// the registry of afx_kernels.h. Every integer is little-endian (both ends are).
//   'N'                      -> u32 count, then count strings          (registry names)
//   'I' str                  -> u8 found [str role, layout, dtype, targets; u32 k + k strings for
//                               inputs, outputs, params; u32 k + k f64 parameter defaults]
//   'L' str (empty: NULL)    -> i32 rc of afx_limit_target
//   'C' str, u8 channels, i64 d[3], u32 np (~0: NULL) + np f64, u64 seed, u64 offset (kernels
//       with a generated g), u32 ni + ni {u64 bytes, u32 offset, bytes}, u32 no + no {u64 bytes,
//       u32 offset, i32 alias, bytes}
//                            -> i32 rc, u8 guards intact, no {u64 bytes, bytes}
//   'Q'                      -> exit
// A string is u32 length + bytes. Arrays sit `offset` bytes past a 64-byte boundary and are
// followed by 64 guard bytes of 0xA5.
constexpr const char *kDriver = R"DRIVER(
#include "afx_kernels.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GUARD 64

static void die(const char *what) {
  fprintf(stderr, "actforge cross driver: %s\n", what);
  exit(3);
}
static void get(void *p, size_t n) {
  unsigned char *c = (unsigned char *)p;
  while (n) {
    ssize_t r = read(0, c, n);
    if (r <= 0) die(r == 0 ? "the host closed the connection" : "read failed");
    c += r;
    n -= (size_t)r;
  }
}
static void put(const void *p, size_t n) {
  const unsigned char *c = (const unsigned char *)p;
  while (n) {
    ssize_t r = write(1, c, n);
    if (r <= 0) die("write failed");
    c += r;
    n -= (size_t)r;
  }
}
static uint32_t get_u32(void) { uint32_t v; get(&v, 4); return v; }
static char *get_str(void) {
  uint32_t n = get_u32();
  char *s = (char *)malloc(n + 1);
  if (!s) die("out of memory");
  get(s, n);
  s[n] = 0;
  return s;
}
static void put_u32(uint32_t v) { put(&v, 4); }
static void put_i32(int32_t v) { put(&v, 4); }
static void put_str(const char *s) {
  uint32_t n = s ? (uint32_t)strlen(s) : 0;
  put_u32(n);
  put(s, n);
}
static void put_list(int k, const char *const *names) {
  put_u32((uint32_t)k);
  for (int i = 0; i < k; ++i) put_str(names[i]);
}

typedef struct array {
  unsigned char *block, *data;
  uint64_t bytes;
  int alias;
} array;

static void make(array *a, uint64_t bytes, uint32_t offset) {
  a->block = (unsigned char *)aligned_alloc(64, (size_t)((bytes + offset + GUARD + 63) / 64 * 64));
  if (!a->block) die("out of memory");
  a->data = a->block + offset;
  a->bytes = bytes;
  a->alias = -1;
  memset(a->data + bytes, 0xA5, GUARD);
}
static int intact(const array *a) {
  for (int i = 0; i < GUARD; ++i)
    if (a->data[a->bytes + i] != 0xA5) return 0;
  return 1;
}

static void call(void) {
  char *name = get_str();
  unsigned char channels;
  int64_t d[3];
  get(&channels, 1);
  get(d, sizeof d);
  uint32_t np = get_u32();
  double *params = NULL;
  if (np != 0xFFFFFFFFu) {
    params = (double *)malloc(sizeof(double) * (np + 1));
    if (!params) die("out of memory");
    get(params, sizeof(double) * np);
  }
  uint64_t noise[2];
  get(noise, sizeof noise);
  uint32_t ni = get_u32();
  array *in = (array *)calloc(ni + 1, sizeof(array));
  const void **inputs = (const void **)calloc(ni + 1, sizeof(void *));
  for (uint32_t i = 0; i < ni; ++i) {
    uint64_t bytes;
    get(&bytes, 8);
    make(&in[i], bytes, get_u32());
    get(in[i].data, (size_t)bytes);
    inputs[i] = in[i].data;
  }
  uint32_t no = get_u32();
  array *out = (array *)calloc(no + 1, sizeof(array));
  void **outputs = (void **)calloc(no + 1, sizeof(void *));
  for (uint32_t i = 0; i < no; ++i) {
    uint64_t bytes;
    get(&bytes, 8);
    uint32_t offset = get_u32();
    int32_t alias;
    get(&alias, 4);
    if (alias >= 0 && (uint32_t)alias < ni) {
      out[i] = in[alias];
      out[i].alias = alias;
    } else {
      make(&out[i], bytes, offset);
    }
    if (out[i].alias < 0) get(out[i].data, (size_t)bytes);
    outputs[i] = out[i].data;
  }
  const afx_kernel_info *k = afx_find_kernel(name);
  int32_t rc;
  if (!k)
    rc = -1000;
  else if ((int)ni != k->num_inputs || (int)no != k->num_outputs)
    rc = -1001;
  else if (k->uniform_g ? (channels ? !k->call_channels_rng : !k->call_rng)
                        : (channels ? !k->call_channels : !k->call))
    rc = -1002;
  else if (k->uniform_g && channels)
    rc = k->call_channels_rng(inputs, outputs, d[0], d[1], d[2], params, noise[0], noise[1]);
  else if (k->uniform_g)
    rc = k->call_rng(inputs, outputs, d[0], params, noise[0], noise[1]);
  else if (channels)
    rc = k->call_channels(inputs, outputs, d[0], d[1], d[2], params);
  else
    rc = k->call(inputs, outputs, d[0], params);
  put_i32(rc);
  unsigned char ok = 1;
  for (uint32_t i = 0; i < ni; ++i) ok = ok && intact(&in[i]);
  for (uint32_t i = 0; i < no; ++i) ok = ok && intact(&out[i]);
  put(&ok, 1);
  for (uint32_t i = 0; i < no; ++i) {
    put(&out[i].bytes, 8);
    put(out[i].data, (size_t)out[i].bytes);
  }
  for (uint32_t i = 0; i < ni; ++i) free(in[i].block);
  for (uint32_t i = 0; i < no; ++i)
    if (out[i].alias < 0) free(out[i].block);
  free(in);
  free(out);
  free(inputs);
  free(outputs);
  free(params);
  free(name);
}

int main(void) {
  for (;;) {
    unsigned char op;
    get(&op, 1);
    if (op == 'Q') return 0;
    if (op == 'N') {
      size_t n = afx_kernel_count();
      put_u32((uint32_t)n);
      for (size_t i = 0; i < n; ++i) put_str(afx_kernel_at(i)->name);
    } else if (op == 'I') {
      char *name = get_str();
      const afx_kernel_info *k = afx_find_kernel(name);
      unsigned char found = k != NULL;
      put(&found, 1);
      if (k) {
        put_str(k->role);
        put_str(k->layout);
        put_str(k->dtype);
        put_str(k->targets);
        put_list(k->num_inputs, k->input_names);
        put_list(k->num_outputs, k->output_names);
        put_list(k->num_params, k->param_names);
        put_u32((uint32_t)k->num_params);
        if (k->num_params) put(k->param_defaults, sizeof(double) * (size_t)k->num_params);
      }
      free(name);
    } else if (op == 'L') {
      char *name = get_str();
      put_i32(afx_limit_target(name[0] ? name : NULL));
      free(name);
    } else if (op == 'C') {
      call();
    } else {
      die("unknown request");
    }
  }
}
)DRIVER";

std::string read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string tail(const std::string &text, std::size_t max = 4000) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

} // namespace

struct Runner::Impl {
  runtime::WorkDir work{""};
  int fd = -1;
  pid_t pid = -1;
  std::string stderr_path;

  ~Impl() {
    if (fd >= 0) {
      const char q = 'Q';
      (void)::send(fd, &q, 1, MSG_NOSIGNAL);
      ::close(fd);
    }
    if (pid > 0) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  [[noreturn]] void died(const std::string &doing) {
    std::string why = "the AArch64 driver (under qemu) stopped while " + doing;
    if (pid > 0) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        if (WIFSIGNALED(status))
          why += ": killed by signal " + std::to_string(WTERMSIG(status));
        else if (WIFEXITED(status))
          why += ": exit code " + std::to_string(WEXITSTATUS(status));
      }
    }
    const std::string err = read_file(stderr_path);
    if (!err.empty()) why += "; its stderr: " + tail(err, 2000);
    throw Error(why);
  }

  void send_bytes(const void *p, std::size_t n) {
    const auto *c = static_cast<const unsigned char *>(p);
    while (n) {
      const ssize_t r = ::send(fd, c, n, MSG_NOSIGNAL);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) died("receiving a request");
      c += r;
      n -= static_cast<std::size_t>(r);
    }
  }
  void recv_bytes(void *p, std::size_t n) {
    auto *c = static_cast<unsigned char *>(p);
    while (n) {
      const ssize_t r = ::recv(fd, c, n, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) died("answering a request");
      c += r;
      n -= static_cast<std::size_t>(r);
    }
  }
  template <class T> void send_value(T v) { send_bytes(&v, sizeof v); }
  template <class T> T recv_value() {
    T v;
    recv_bytes(&v, sizeof v);
    return v;
  }
  void send_string(const std::string &s) {
    send_value(static_cast<std::uint32_t>(s.size()));
    send_bytes(s.data(), s.size());
  }
  std::string recv_string() {
    std::string s(recv_value<std::uint32_t>(), '\0');
    recv_bytes(s.data(), s.size());
    return s;
  }
  std::vector<std::string> recv_list() {
    std::vector<std::string> v(recv_value<std::uint32_t>());
    for (auto &s : v)
      s = recv_string();
    return v;
  }
};

Runner::Runner(aot::Options options, std::string emulator_cpu) : impl_(std::make_unique<Impl>()) {
  for (const auto &t : options.targets)
    if (targets::resolve(t).family != targets::Family::Arm)
      throw Error("cross::Runner runs ARM targets under qemu; '" + t + "' is not one");
  const targets::arm::CrossTools &tools = targets::arm::cross_tools();
  if (!tools.problem.empty()) throw Error(tools.problem);
  options.prefix = kPrefix;
  options.generator = "actforge::cross::Runner";
  const std::string dir = impl_->work.path();
  aot::generate(options, dir);
  {
    std::ofstream driver(dir + "/driver.c");
    driver << kDriver;
  }
  const std::string program = dir + "/driver";
  targets::run_program({tools.cc, "-std=c11", "-O1", "-D_GNU_SOURCE", "-I" + dir, "-o", program,
                        dir + "/driver.c", dir + "/" + kPrefix + "_kernels.c",
                        dir + "/lib" + std::string(kPrefix) + "_kernels.a", "-lpthread", "-ldl",
                        "-lm"},
                       "linking the AArch64 driver with " + tools.cc + " failed");

  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw Error(std::string("socketpair: ") + std::strerror(errno));
  impl_->stderr_path = dir + "/driver.stderr";
  std::vector<std::string> args{tools.qemu, "-L", tools.sysroot};
  if (!emulator_cpu.empty()) args.insert(args.end(), {"-cpu", emulator_cpu});
  args.push_back(program);
  std::vector<char *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, impl_->stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const int spawned = ::posix_spawn(&impl_->pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    impl_->pid = -1;
    throw Error("cannot run " + tools.qemu + ": " + std::strerror(spawned));
  }
  impl_->fd = fds[0];
}

Runner::~Runner() = default;

const std::string &Runner::directory() const { return impl_->work.path(); }

std::vector<std::string> Runner::kernel_objects() const {
  std::vector<std::string> out;
  for (const auto &entry : std::filesystem::directory_iterator(impl_->work.path())) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".o" && name != std::string(kPrefix) + "_runtime.o")
      out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Runner::disassemble(const std::string &object) const {
  const targets::arm::CrossTools &tools = targets::arm::cross_tools();
  return targets::run_program({tools.objdump, "-dr", "--no-show-raw-insn", object},
                              tools.objdump + " could not disassemble " + object);
}

std::vector<std::string> Runner::kernels() {
  impl_->send_value('N');
  return impl_->recv_list();
}

std::optional<Info> Runner::info(const std::string &name) {
  impl_->send_value('I');
  impl_->send_string(name);
  if (!impl_->recv_value<unsigned char>()) return std::nullopt;
  Info i;
  i.role = impl_->recv_string();
  i.layout = impl_->recv_string();
  i.dtype = impl_->recv_string();
  i.targets = impl_->recv_string();
  i.inputs = impl_->recv_list();
  i.outputs = impl_->recv_list();
  i.params = impl_->recv_list();
  i.param_defaults.resize(impl_->recv_value<std::uint32_t>());
  impl_->recv_bytes(i.param_defaults.data(), i.param_defaults.size() * sizeof(double));
  return i;
}

int Runner::limit_target(const std::string &target) {
  impl_->send_value('L');
  impl_->send_string(target);
  return impl_->recv_value<std::int32_t>();
}

Result Runner::call(const Call &c) {
  Impl &m = *impl_;
  m.send_value('C');
  m.send_string(c.name);
  m.send_value(static_cast<unsigned char>(c.channels ? 1 : 0));
  const std::array<std::int64_t, 3> d =
      c.channels ? *c.channels : std::array<std::int64_t, 3>{c.n, 0, 0};
  m.send_bytes(d.data(), sizeof d);
  if (c.params) {
    m.send_value(static_cast<std::uint32_t>(c.params->size()));
    m.send_bytes(c.params->data(), c.params->size() * sizeof(double));
  } else {
    m.send_value(~std::uint32_t{0});
  }
  m.send_value(c.seed);
  m.send_value(c.offset);
  m.send_value(static_cast<std::uint32_t>(c.inputs.size()));
  for (const Array &a : c.inputs) {
    m.send_value(static_cast<std::uint64_t>(a.bytes.size()));
    m.send_value(a.offset);
    m.send_bytes(a.bytes.data(), a.bytes.size());
  }
  m.send_value(static_cast<std::uint32_t>(c.outputs.size()));
  for (const Array &a : c.outputs) {
    if (a.alias >= static_cast<int>(c.inputs.size()))
      throw Error("cross call " + c.name + ": an output aliases input " + std::to_string(a.alias) +
                  " of " + std::to_string(c.inputs.size()));
    m.send_value(static_cast<std::uint64_t>(a.bytes.size()));
    m.send_value(a.offset);
    m.send_value(static_cast<std::int32_t>(a.alias));
    if (a.alias < 0) m.send_bytes(a.bytes.data(), a.bytes.size());
  }
  Result r;
  r.rc = m.recv_value<std::int32_t>();
  r.guards_intact = m.recv_value<unsigned char>() != 0;
  for (std::size_t i = 0; i < c.outputs.size(); ++i) {
    std::vector<unsigned char> bytes(m.recv_value<std::uint64_t>());
    m.recv_bytes(bytes.data(), bytes.size());
    r.outputs.push_back(std::move(bytes));
  }
  if (r.rc == -1000) throw Error("cross call: no kernel is named '" + c.name + "'");
  if (r.rc == -1001)
    throw Error("cross call " + c.name + ": " + std::to_string(c.inputs.size()) + " inputs and " +
                std::to_string(c.outputs.size()) + " outputs do not match the kernel's");
  if (r.rc == -1002)
    throw Error("cross call " + c.name + ": the kernel has no " +
                (c.channels ? "channel" : "flat") + " layout");
  return r;
}

} // namespace actforge::cross
