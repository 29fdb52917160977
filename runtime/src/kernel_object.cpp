// compile_kernel_object(), compile_runtime_object(), link_shared_object().
#include "kernel_object.hpp"

#include "actforge/error.hpp"
#include "actforge/ir/interpret.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace actforge::runtime {

std::string kernel_name(const std::string &activation, const codegen::KernelSpec &spec,
                        const std::string &target, const codegen::Schedule &schedule) {
  const std::string isa = target.substr(target.rfind('-') + 1); // avx2 / avx512
  return kernel_stem(activation, spec) + "_" + isa + "_" + schedule.describe();
}

std::string kernel_stem(const std::string &activation, const codegen::KernelSpec &spec) {
  return activation + "_" + std::string(codegen::short_name(spec.role)) +
         (spec.layout == codegen::Layout::Channels ? "_ch_" : "_") +
         std::string(codegen::to_string(spec.dtype));
}

KernelInterface describe_kernel(const std::string &activation, const codegen::KernelSpec &spec,
                                const codegen::Schedule &schedule,
                                const targets::x86::TargetInfo &target) {
  KernelInterface k;
  k.symbol = kernel_name(activation, spec, target.name, schedule);
  k.spec = spec;
  k.schedule = schedule;
  k.target = target.name;
  k.storage = codegen::halide::storage_type(spec.dtype);
  for (const auto &p : ir::collect_params(spec.expr)) {
    k.param_names.push_back(p.name);
    k.defaults.push_back(p.default_value
                             ? std::optional<double>(static_cast<double>(*p.default_value))
                             : std::nullopt);
  }
  return k;
}

KernelInterface compile_kernel_object(const std::string &activation,
                                      const codegen::KernelSpec &spec,
                                      const codegen::Schedule &schedule,
                                      const targets::x86::TargetInfo &target,
                                      const std::string &object_path) {
  KernelInterface k = describe_kernel(activation, spec, schedule, target);
  using F = Halide::Target::Feature;
  const Halide::Target t = target.halide.with_feature(F::NoRuntime)
                               .with_feature(F::NoAsserts)
                               .with_feature(F::NoBoundsQuery);
  try {
    codegen::halide::Pipeline p = codegen::halide::build_pipeline(spec, schedule);
    k.inputs = p.inputs;
    k.outputs = p.outputs;
    k.params_f64 = !p.params_f64.empty();
    p.pipeline.compile_to({{Halide::OutputFileType::object, object_path}}, p.arguments(), k.symbol,
                          t);
  } catch (const Halide::Error &e) {
    throw Error("Halide could not compile " + k.symbol + ": " + e.what());
  }
  return k;
}

targets::x86::TargetInfo runtime_target(const std::vector<std::string> &targets) {
  const auto &known = targets::x86::names(); // least capable first
  for (const auto &name : known)
    for (const auto &t : targets)
      if (targets::x86::resolve(t).name == name) return targets::x86::resolve(name);
  throw Error("no target to build a Halide runtime for");
}

void compile_runtime_object(const targets::x86::TargetInfo &target, const std::string &path) {
  try {
    Halide::compile_standalone_runtime(path, target.halide);
  } catch (const Halide::Error &e) {
    throw Error("Halide could not build its runtime for " + target.name + ": " + e.what());
  }
}

namespace {

std::string find_on_path(const char *tool) {
  const char *path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    std::string candidate = (end > start ? dirs.substr(start, end - start) : ".") + "/" + tool;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

} // namespace

void link_shared_object(const std::vector<std::string> &objects, const std::string &output) {
  static const std::string ld = find_on_path("ld");
  if (ld.empty())
    throw Error("Actforge links JIT kernels with the system linker, but no 'ld' is on PATH "
                "(install binutils)");
  std::vector<std::string> args{"ld", "-shared", "-Bsymbolic", "-z", "noexecstack", "-o", output};
  args.insert(args.end(), objects.begin(), objects.end());
  std::vector<char *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw Error(std::string("cannot run the linker: pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, ld.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  std::string message;
  char buf[4096];
  for (ssize_t got; (got = ::read(pipe_fds[0], buf, sizeof buf)) != 0;) {
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) break;
    message.append(buf, static_cast<std::size_t>(got));
  }
  ::close(pipe_fds[0]);
  if (spawned != 0) throw Error("cannot run " + ld + ": " + std::strerror(spawned));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error("the linker failed to make " + output + ": " + message);
}

const char *halide_version() { return ACTFORGE_HALIDE_VERSION; }

} // namespace actforge::runtime
