// load_kernel(): disk cache → or compile, link and publish → dlopen, after the Halide runtime.
#include "kernel_loader.hpp"

#include "disk_cache.hpp"

#include "actforge/error.hpp"
#include "actforge/ir/print.hpp"
#include "actforge/targets/cuda.hpp"

#include <dlfcn.h>
#include <mutex>
#include <sstream>

namespace actforge::runtime {
namespace {

thread_local std::string last_error;
void *runtime_handle = nullptr;

extern "C" void actforge_halide_error(void *, const char *message) { last_error = message; }

void *open_library(const std::string &path, int flags) {
  void *handle = ::dlopen(path.c_str(), RTLD_NOW | flags);
  if (!handle) throw Error("cannot load " + path + ": " + ::dlerror());
  return handle;
}

// The process's one Halide runtime, global so that every kernel binds to it.
void load_runtime() {
  static std::mutex mutex;
  static bool loaded = false;
  std::lock_guard<std::mutex> lock(mutex);
  if (loaded) return;
  // Built with Halide's CUDA module: the one runtime serves CPU and GPU kernels alike. The
  // driver is loaded only when a GPU kernel first runs.
  std::vector<std::string> loadable{"cuda"}; // the x86 targets and cuda: not ARM (cross only)
  for (const auto &name : targets::family_names(targets::Family::X86))
    loadable.push_back(name);
  const targets::TargetInfo target = runtime_target(loadable);
  const std::string key = std::string("halide-runtime 1\ntarget ") + target.halide.to_string() +
                          "\nhalide " + halide_version() + "\nactforge " + ACTFORGE_VERSION + " " +
                          codegen_fingerprint();
  bool from_disk = false;
  void *handle = obtain_library(
                     key, RTLD_GLOBAL, from_disk,
                     [](const std::string &meta) { return meta == "halide runtime"; },
                     [&](const std::string &work, const std::string &so) {
                       compile_runtime_object(target, work + "/runtime.o");
                       link_shared_object({work + "/runtime.o"}, so);
                       return std::string("halide runtime");
                     })
                     .first;
  using SetHandler = void *(*)(void (*)(void *, const char *));
  auto set_handler = reinterpret_cast<SetHandler>(::dlsym(handle, "halide_set_error_handler"));
  if (!set_handler) throw Error("the Halide runtime has no halide_set_error_handler");
  set_handler(&actforge_halide_error); // Halide's default prints to stderr; ours keeps the text
  // GPU kernels run in the host's current CUDA context (else the device's primary context),
  // not in a private context of Halide's, so device pointers from cudaMalloc are valid in them.
  using SetAcquire = void *(*)(int (*)(void *, void **, bool));
  using SetRelease = void *(*)(int (*)(void *));
  using Reuse = int (*)(void *, bool);
  auto set_acquire =
      reinterpret_cast<SetAcquire>(::dlsym(handle, "halide_set_cuda_acquire_context"));
  auto set_release =
      reinterpret_cast<SetRelease>(::dlsym(handle, "halide_set_cuda_release_context"));
  auto reuse = reinterpret_cast<Reuse>(::dlsym(handle, "halide_reuse_device_allocations"));
  if (!set_acquire || !set_release || !reuse)
    throw Error("the Halide runtime has no CUDA context hooks");
  set_acquire(&targets::cuda::acquire_context);
  set_release(&targets::cuda::release_context);
  reuse(nullptr, true); // keep device scratch (param_grad's partial sums) between calls
  runtime_handle = handle;
  loaded = true;
}

char extent_code(codegen::halide::Extent e) {
  switch (e) {
  case codegen::halide::Extent::Elements: return 'E';
  case codegen::halide::Extent::Channels: return 'C';
  case codegen::halide::Extent::One: return '1';
  case codegen::halide::Extent::Pairs: return 'P';
  }
  return '?';
}

std::string describe_ports(const std::vector<codegen::halide::Port> &ports) {
  std::string s;
  for (const auto &p : ports)
    s += " " + p.name + ":" + extent_code(p.extent);
  return s;
}

std::vector<codegen::halide::Port> parse_ports(std::istringstream &line) {
  std::vector<codegen::halide::Port> ports;
  for (std::string word; line >> word;) {
    const auto colon = word.rfind(':');
    if (colon == std::string::npos || colon + 2 != word.size()) break;
    const char c = word.back();
    ports.push_back({word.substr(0, colon), c == 'C'   ? codegen::halide::Extent::Channels
                                            : c == '1' ? codegen::halide::Extent::One
                                            : c == 'P' ? codegen::halide::Extent::Pairs
                                                       : codegen::halide::Extent::Elements});
  }
  return ports;
}

// What a cached kernel's record says about its entry; the rest comes from the spec.
std::string describe_interface(const KernelInterface &k) {
  return "symbol " + k.symbol + "\ninputs" + describe_ports(k.inputs) + "\noutputs" +
         describe_ports(k.outputs) + "\nscalars " + (k.params_f64 ? "f64" : "f32");
}

bool read_interface(const std::string &meta, KernelInterface &k) {
  std::istringstream in(meta);
  bool symbol = false, inputs = false, outputs = false, scalars = false;
  for (std::string text; std::getline(in, text);) {
    std::istringstream line(text);
    std::string word;
    line >> word;
    if (word == "symbol") symbol = static_cast<bool>(line >> k.symbol);
    if (word == "inputs") k.inputs = parse_ports(line), inputs = true;
    if (word == "outputs") k.outputs = parse_ports(line), outputs = true;
    if (word == "scalars") {
      line >> word;
      k.params_f64 = word == "f64";
      scalars = true;
    }
  }
  return symbol && inputs && outputs && scalars && !k.outputs.empty();
}

} // namespace

std::pair<void *, std::string> obtain_library(
    const std::string &key, int flags, bool &from_disk,
    const std::function<bool(const std::string &meta)> &accept,
    const std::function<std::string(const std::string &work, const std::string &so)> &build) {
  const CacheDir dir = cache_directory();
  if (!dir.path.empty())
    if (auto entry = find_entry(dir.path, key); entry && accept(entry->meta)) {
      if (void *handle = ::dlopen(entry->path.c_str(), RTLD_NOW | flags)) {
        from_disk = true;
        return {handle, entry->meta};
      }
    }
  WorkDir work(dir.path);
  const std::string so = work.path() + "/out.so";
  std::string meta = build(work.path(), so);
  void *handle = open_library(so, flags);
  if (!dir.path.empty()) {
    try {
      publish_entry(dir.path, key, meta, so);
    } catch (const Error &) {
      // A cache that cannot be written (full disk, ...) costs only speed.
    }
  }
  from_disk = false;
  return {handle, meta};
}

std::string kernel_key(const std::string &activation, const codegen::KernelSpec &spec,
                       const codegen::Schedule &schedule, const std::string &target) {
  std::string key = "kernel 1\nname " + activation + "\nexpr " + ir::print(spec.expr) + "\nrole " +
                    std::string(codegen::to_string(spec.role)) + "\ndtype " +
                    std::string(codegen::to_string(spec.dtype)) + "\nlayout " +
                    std::string(codegen::to_string(spec.layout)) + "\nper_channel";
  for (const auto &p : spec.per_channel)
    key += " " + p;
  key += "\nwrt";
  for (const auto &p : spec.wrt)
    key += " " + p;
  if (spec.uniform_g) key += "\nuniform_g philox4x32_10";
  return key + "\ntarget " + target + "\nschedule " + schedule.describe() + "\nhalide " +
         halide_version() + "\nactforge " + ACTFORGE_VERSION + " " + codegen_fingerprint();
}

LoadedKernel load_kernel(const std::string &activation, const codegen::KernelSpec &spec,
                         const codegen::Schedule &schedule, const targets::TargetInfo &target) {
  load_runtime();
  LoadedKernel out;
  KernelInterface &k = out.interface;
  const KernelInterface basics = describe_kernel(activation, spec, schedule, target);
  void *handle =
      obtain_library(
          kernel_key(activation, spec, schedule, target.name), RTLD_LOCAL, out.from_disk,
          [&](const std::string &meta) {
            k = basics;
            return read_interface(meta, k) && k.symbol == basics.symbol;
          },
          [&](const std::string &work, const std::string &so) {
            k = compile_kernel_object(activation, spec, schedule, target, work + "/kernel.o");
            link_shared_object({work + "/kernel.o"}, so);
            return describe_interface(k);
          })
          .first;
  out.entry = reinterpret_cast<ArgvEntry>(::dlsym(handle, (k.symbol + "_argv").c_str()));
  if (!out.entry) throw Error("compiled kernel " + k.symbol + " has no entry point");
  out.entry_unaligned = out.entry;
  if (target.gpu) {
    out.entry_unaligned =
        reinterpret_cast<ArgvEntry>(::dlsym(handle, (k.symbol + "_unaligned_argv").c_str()));
    if (!out.entry_unaligned)
      throw Error("compiled kernel " + k.symbol + " has no unaligned entry");
  }
  return out;
}

std::string last_runtime_error() { return last_error; }

void *runtime_symbol(const char *name) {
  load_runtime();
  void *symbol = ::dlsym(runtime_handle, name);
  if (!symbol) throw Error(std::string("the Halide runtime has no ") + name);
  return symbol;
}

} // namespace actforge::runtime
