// autoschedule: Halide's autoscheduler plugins on our unscheduled pipelines, compiled and called
// like actforge::jit's kernels.
#include "actforge/runtime/autoschedule.hpp"

#include "kernel_loader.hpp"
#include "kernel_object.hpp"

#include "actforge/codegen/halide/pipeline.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/targets/target.hpp"
#include "actforge/targets/temp_dir.hpp"
#include "actforge/targets/x86.hpp"

#include <HalideRuntime.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <optional>

#include <dlfcn.h>
#include <unistd.h>

namespace actforge::runtime::autoschedule {

namespace {

constexpr std::size_t kMaxBuffers = 8, kMaxScalars = 16;
// Halide buffers have 32-bit extents: longer calls go in blocks of this many elements.
constexpr std::int64_t kBlock = std::int64_t{1} << 30;

struct Plugin {
  const char *name;
  const char *file;
};
constexpr Plugin kPlugins[] = {{"Adams2019", "libautoschedule_adams2019.so"},
                               {"Li2018", "libautoschedule_li2018.so"},
                               {"Mullapudi2016", "libautoschedule_mullapudi2016.so"}};

std::string known_names() {
  std::string s;
  for (const Plugin &p : kPlugins)
    s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s;
}

// halide14/ beside the libHalide this process runs, or $ACTFORGE_HALIDE_PLUGINS; "" and `why`
// when there is none.
std::string plugin_directory(std::string &why) {
  if (const char *dir = std::getenv("ACTFORGE_HALIDE_PLUGINS"); dir && *dir) return dir;
  Dl_info info{};
  if (!::dladdr(reinterpret_cast<void *>(&Halide::load_plugin), &info) || !info.dli_fname) {
    why = "cannot tell where libHalide is (dladdr failed): set ACTFORGE_HALIDE_PLUGINS";
    return "";
  }
  const std::filesystem::path lib(info.dli_fname);
  // The plugins link the shared libHalide and register themselves in it: a Halide linked
  // statically into this program would never see them.
  if (lib.filename().string().rfind("libHalide", 0) != 0) {
    why = "Halide is not a shared library in this process (" + lib.string() +
          "): the plugins register with the shared libHalide";
    return "";
  }
  return (lib.parent_path() / "halide14").string();
}

// Every plugin loaded once per process; by name, "" or why it is not available.
const std::map<std::string, std::string, std::less<>> &plugin_status() {
  static const auto status = [] {
    std::map<std::string, std::string, std::less<>> s;
    std::string why;
    const std::string dir = plugin_directory(why);
    for (const Plugin &p : kPlugins) {
      const std::string path = dir + "/" + p.file;
      if (dir.empty()) {
        s[p.name] = why;
      } else if (::access(path.c_str(), R_OK) != 0) {
        s[p.name] = "no plugin " + path + ": " + std::strerror(errno) +
                    " (Debian ships it in libhalide14-0-dev; ACTFORGE_HALIDE_PLUGINS names "
                    "another directory)";
      } else {
        try {
          Halide::load_plugin(path);
          s[p.name] = "";
        } catch (const Halide::Error &e) {
          s[p.name] = "cannot load " + path + ": " + e.what();
        }
      }
    }
    return s;
  }();
  return status;
}

std::uint64_t last_level_cache_bytes() {
  for (int level : {_SC_LEVEL3_CACHE_SIZE, _SC_LEVEL2_CACHE_SIZE})
    if (const long bytes = ::sysconf(level); bytes > 0) return static_cast<std::uint64_t>(bytes);
  return std::uint64_t{16} << 20;
}

std::string lower(std::string s) {
  for (char &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

} // namespace

struct Kernel::Impl {
  std::string name, autoscheduler, schedule, target;
  int threads = 1;
  halide_type_t type;
  int bytes = 4;
  std::vector<Port> in_ports, out_ports;
  std::string in_names, out_names; // "x, dy": for messages
  bool params_f64 = false;
  std::vector<double> params; // scalar arguments, in argument order
  void *handle = nullptr;
  ArgvEntry entry = nullptr;
  int (*set_num_threads)(int) = nullptr;
  std::int64_t min_direct = 1;

  Impl() = default;
  Impl(const Impl &) = delete;
  Impl &operator=(const Impl &) = delete;
  ~Impl() {
    if (handle) ::dlclose(handle);
  }

  // One call of the compiled entry on n <= kBlock elements; Halide's error code.
  int invoke(const void *const *inputs, void *const *outputs, std::int64_t n) const {
    union Scalar {
      float f32;
      double f64;
    };
    Scalar scalars[kMaxScalars];
    halide_dimension_t dims[kMaxBuffers];
    halide_buffer_t bufs[kMaxBuffers];
    void *argv[kMaxBuffers + kMaxScalars];
    const std::size_t n_in = in_ports.size();
    const std::size_t n_buf = n_in + out_ports.size();
    // Halide's argument order: input buffers, scalars, output buffers.
    for (std::size_t b = 0; b < n_buf; ++b) {
      bufs[b] = halide_buffer_t{};
      bufs[b].type = type;
      bufs[b].dimensions = 1;
      bufs[b].dim = &dims[b];
      dims[b] = halide_dimension_t(0, static_cast<std::int32_t>(n), 1);
      bufs[b].host =
          static_cast<std::uint8_t *>(b < n_in ? const_cast<void *>(inputs[b]) : outputs[b - n_in]);
      argv[b < n_in ? b : b + params.size()] = &bufs[b];
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (params_f64)
        scalars[i].f64 = params[i];
      else
        scalars[i].f32 = static_cast<float>(params[i]);
      argv[n_in + i] = &scalars[i];
    }
    return entry(argv);
  }

  // n < min_direct elements through zero-padded copies of min_direct elements.
  int invoke_padded(const void *const *inputs, void *const *outputs, std::int64_t n) const {
    const std::size_t n_in = in_ports.size();
    const std::size_t n_out = out_ports.size();
    const auto stride = static_cast<std::size_t>(min_direct * bytes);
    const auto used = static_cast<std::size_t>(n * bytes);
    std::vector<std::uint8_t> scratch((n_in + n_out) * stride, 0);
    const void *in[kMaxBuffers];
    void *out[kMaxBuffers];
    for (std::size_t b = 0; b < n_in; ++b) {
      std::memcpy(scratch.data() + b * stride, inputs[b], used);
      in[b] = scratch.data() + b * stride;
    }
    for (std::size_t b = 0; b < n_out; ++b)
      out[b] = scratch.data() + (n_in + b) * stride;
    const int rc = invoke(in, out, min_direct);
    if (rc == 0)
      for (std::size_t b = 0; b < n_out; ++b)
        std::memcpy(outputs[b], out[b], used);
    return rc;
  }

  std::string failure(int rc) const {
    return name + " (scheduled by " + autoscheduler + ") failed (Halide error " +
           std::to_string(rc) + "): " + last_runtime_error();
  }

  // The least n the compiled code takes: Halide's bounds checks refuse a split (ShiftInwards)
  // wider than the loop it splits before anything is read or written. Powers of two up to
  // `estimate` (the size the schedule was chosen for: it must run there), then bisection.
  std::int64_t least_direct_n(std::int64_t estimate) const {
    auto works = [&](std::int64_t n) {
      const std::size_t n_buf = in_ports.size() + out_ports.size();
      std::vector<std::uint8_t> scratch(n_buf * static_cast<std::size_t>(n * bytes), 0);
      const void *in[kMaxBuffers];
      void *out[kMaxBuffers];
      for (std::size_t b = 0; b < n_buf; ++b) {
        std::uint8_t *at = scratch.data() + b * static_cast<std::size_t>(n * bytes);
        if (b < in_ports.size())
          in[b] = at;
        else
          out[b - in_ports.size()] = at;
      }
      const int rc = invoke(in, out, n);
      if (rc != 0 && rc != halide_error_code_access_out_of_bounds &&
          rc != halide_error_code_explicit_bounds_too_small)
        throw Error(failure(rc));
      return rc == 0;
    };
    if (works(1)) return 1;
    std::int64_t fails = 1;
    std::int64_t passes = 2;
    for (; passes < estimate && !works(passes); passes *= 2)
      fails = passes;
    if (passes >= estimate) {
      passes = estimate;
      if (!works(passes))
        throw Error(name + ": the schedule " + autoscheduler +
                    " chose refuses n = " + std::to_string(estimate) +
                    ", the size it was chosen for (" + last_runtime_error() + ")");
    }
    while (passes - fails > 1) {
      const std::int64_t mid = fails + (passes - fails) / 2;
      (works(mid) ? passes : fails) = mid;
    }
    return passes;
  }
};

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const Plugin &p : kPlugins)
    out.emplace_back(p.name);
  return out;
}

std::string problem(const std::string &name) {
  const auto &status = plugin_status();
  if (auto it = status.find(name); it != status.end()) return it->second;
  return "unknown autoscheduler '" + name + "' (known: " + known_names() + ")";
}

Kernel compile(const codegen::KernelSpec &spec, const std::string &target,
               const std::string &autoscheduler, std::int64_t n_estimate, int threads,
               const Params &params) {
  const auto &status = plugin_status();
  const auto plugin = status.find(autoscheduler);
  if (plugin == status.end())
    throw Error("unknown autoscheduler '" + autoscheduler + "' (known: " + known_names() + ")");
  if (!plugin->second.empty()) throw Error(autoscheduler + " is not available: " + plugin->second);
  if (threads < 1)
    throw Error(autoscheduler + ": threads must be at least 1, got " + std::to_string(threads));
  const targets::TargetInfo info = targets::resolve(target);
  if (info.family != targets::Family::X86)
    throw Error("autoscheduled kernels are x86 CPU kernels: target '" + target +
                "' is not one (host, x86-64-avx2, x86-64-avx512)");
  if (!targets::x86::cpu_supports(info.name))
    throw Error("this CPU cannot run " + info.name + " kernels");

  auto impl = std::make_shared<Kernel::Impl>();
  impl->name = kernel_stem("autoschedule", spec) + "_" + targets::isa(info.name) + "_" +
               lower(autoscheduler);
  impl->autoscheduler = autoscheduler;
  impl->target = info.name;
  impl->threads = threads;
  codegen::halide::Pipeline p = codegen::halide::build_unscheduled_pipeline(spec, n_estimate);
  if (p.buffers.size() + p.outputs.size() > kMaxBuffers || p.param_names.size() > kMaxScalars)
    throw Error(impl->name + " takes more arrays or scalars than this call path binds");

  // Scalar parameters: the caller's values, else the defaults; the autoscheduler's estimates.
  std::map<std::string, std::optional<long double>> defaults;
  for (const auto &param : ir::collect_params(spec.expr))
    defaults[param.name] = param.default_value;
  for (const auto &given : params)
    if (std::find(p.param_names.begin(), p.param_names.end(), given.first) == p.param_names.end()) {
      std::string known;
      for (const auto &n : p.param_names)
        known += (known.empty() ? "" : ", ") + n;
      throw Error(impl->name + " has no parameter '" + given.first +
                  "' (its parameters: " + (known.empty() ? "none" : known) + ")");
    }
  impl->params_f64 = !p.params_f64.empty();
  for (std::size_t k = 0; k < p.param_names.size(); ++k) {
    const std::string &name = p.param_names[k];
    const auto given = params.find(name);
    const auto &fallback = defaults.at(name);
    if (given == params.end() && !fallback)
      throw Error(impl->name + ": parameter '" + name + "' has no default: give a value");
    const double value = given != params.end() ? given->second : static_cast<double>(*fallback);
    impl->params.push_back(value);
    if (impl->params_f64)
      p.params_f64[k].set_estimate(value);
    else
      p.params_f32[k].set_estimate(static_cast<float>(value));
  }
  for (const auto &port : p.inputs) {
    impl->in_ports.push_back({port.name, Extent::Elements});
    impl->in_names += (impl->in_names.empty() ? "" : ", ") + port.name;
  }
  for (const auto &port : p.outputs) {
    impl->out_ports.push_back({port.name, Extent::Elements});
    impl->out_names += (impl->out_names.empty() ? "" : ", ") + port.name;
  }
  impl->type = p.buffers.front().type(); // every array: f16 travels as its bits (uint16)
  impl->bytes = p.buffers.front().type().bytes();

  const Halide::Target halide_target = targets::halide_target(info);
  Halide::AutoSchedulerResults results;
  try {
    // The autoschedulers' registry and search state are process-wide.
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    results =
        p.pipeline.auto_schedule(autoscheduler, halide_target,
                                 Halide::MachineParams(threads, last_level_cache_bytes(), 40.0f));
  } catch (const Halide::Error &e) {
    throw Error(autoscheduler + " could not schedule " + impl->name + ": " + e.what());
  } catch (const std::exception &e) {
    throw Error(autoscheduler + " could not schedule " + impl->name + ": " + e.what());
  }
  if (results.schedule_source.empty())
    throw Error(autoscheduler + " produced no schedule for " + impl->name);
  impl->schedule = results.schedule_source;

  // Compiled like jit's kernels, but with Halide's asserts: an autoscheduled loop may need more
  // elements than a call has, and the asserts say so before anything is touched.
  const targets::TempDir dir;
  const std::string object = dir.path() + "/kernel.o";
  const std::string library = dir.path() + "/kernel.so";
  try {
    p.pipeline.compile_to({{Halide::OutputFileType::object, object}}, p.arguments(), impl->name,
                          halide_target.with_feature(Halide::Target::NoRuntime)
                              .with_feature(Halide::Target::NoBoundsQuery));
  } catch (const Halide::Error &e) {
    throw Error("Halide could not compile " + impl->name + " as " + autoscheduler +
                " scheduled it: " + e.what());
  }
  link_shared_object({object}, library);
  // The process's Halide runtime first: the kernel binds to it.
  impl->set_num_threads = reinterpret_cast<int (*)(int)>(runtime_symbol("halide_set_num_threads"));
  impl->handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!impl->handle) throw Error("cannot load " + impl->name + ": " + ::dlerror());
  impl->entry = reinterpret_cast<ArgvEntry>(::dlsym(impl->handle, (impl->name + "_argv").c_str()));
  if (!impl->entry) throw Error("compiled kernel " + impl->name + " has no entry point");
  impl->set_num_threads(threads);
  impl->min_direct = impl->least_direct_n(n_estimate);
  return Kernel(std::move(impl));
}

void Kernel::run(std::span<const void *const> inputs, std::span<void *const> outputs,
                 std::int64_t n) const {
  const Impl &k = *impl_;
  if (inputs.size() != k.in_ports.size())
    throw Error(k.name + " takes " + std::to_string(k.in_ports.size()) + " input arrays (" +
                k.in_names + "), got " + std::to_string(inputs.size()));
  if (outputs.size() != k.out_ports.size())
    throw Error(k.name + " takes " + std::to_string(k.out_ports.size()) + " output arrays (" +
                k.out_names + "), got " + std::to_string(outputs.size()));
  if (n < 0) throw Error(k.name + ": n must be >= 0, got " + std::to_string(n));
  if (n == 0) return;
  if (n > std::numeric_limits<std::int64_t>::max() / k.bytes)
    throw Error(k.name + ": n = " + std::to_string(n) + " elements do not fit in memory");
  const auto span = static_cast<std::uintptr_t>(n * k.bytes);
  for (std::size_t b = 0; b < inputs.size(); ++b)
    if (!inputs[b]) throw Error(k.name + ": input '" + k.in_ports[b].name + "' is null");
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    if (!outputs[o]) throw Error(k.name + ": output '" + k.out_ports[o].name + "' is null");
    const auto out = reinterpret_cast<std::uintptr_t>(outputs[o]);
    for (std::size_t b = 0; b < inputs.size(); ++b) {
      const auto in = reinterpret_cast<std::uintptr_t>(inputs[b]);
      if (out < in + span && in < out + span)
        throw Error(k.name + ": output '" + k.out_ports[o].name + "' overlaps input '" +
                    k.in_ports[b].name + "' (autoscheduled kernels do not run in place)");
    }
  }
  k.set_num_threads(k.threads);
  const void *in[kMaxBuffers];
  void *out[kMaxBuffers];
  for (std::int64_t start = 0; start < n; start += kBlock) {
    const std::int64_t count = std::min(kBlock, n - start);
    const auto offset = static_cast<std::size_t>(start * k.bytes);
    for (std::size_t b = 0; b < inputs.size(); ++b)
      in[b] = static_cast<const std::uint8_t *>(inputs[b]) + offset;
    for (std::size_t b = 0; b < outputs.size(); ++b)
      out[b] = static_cast<std::uint8_t *>(outputs[b]) + offset;
    const int rc =
        count >= k.min_direct ? k.invoke(in, out, count) : k.invoke_padded(in, out, count);
    if (rc != 0) throw Error(k.failure(rc));
  }
}

const std::string &Kernel::autoscheduler() const { return impl_->autoscheduler; }
const std::string &Kernel::schedule_text() const { return impl_->schedule; }
const std::string &Kernel::name() const { return impl_->name; }
const std::string &Kernel::target() const { return impl_->target; }
int Kernel::threads() const { return impl_->threads; }
const std::vector<Port> &Kernel::input_ports() const { return impl_->in_ports; }
const std::vector<Port> &Kernel::output_ports() const { return impl_->out_ports; }
std::int64_t Kernel::min_direct_n() const { return impl_->min_direct; }

} // namespace actforge::runtime::autoschedule
