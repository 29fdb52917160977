// jit(): the in-memory kernel cache over load_kernel(); Kernel::run(): the call path, which binds
// halide_buffer_t's on the stack and calls the compiled entry directly (no allocation per call).
#include "actforge/runtime/jit.hpp"

#include "kernel_loader.hpp"

#include "actforge/dsl/catalog.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/targets/x86.hpp"

#include <HalideRuntime.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <unordered_map>

namespace actforge {

struct Kernel::Impl {
  std::string name;
  codegen::KernelSpec spec;
  codegen::Schedule schedule;
  std::string target;
  halide_type_t type;
  int bytes = 4;
  int inputs = 1;        // activation inputs: x[, g]
  int buffer_inputs = 1; // the kernel's input arrays: x[, g], then dy for backward
  int outputs = 1;
  bool params_f64 = false;
  std::vector<std::pair<std::string, double>> params;
  runtime::ArgvEntry entry = nullptr;
};

namespace {

std::atomic<std::size_t> compiles{0}, disk_loads{0};

struct Key {
  ir::Expr expr;
  Role role;
  DType dtype;
  std::string target;
  codegen::Schedule schedule;
  std::string name; // not part of the key: the same IR under another name is the same kernel
  bool operator==(const Key &o) const {
    return expr == o.expr && role == o.role && dtype == o.dtype && target == o.target &&
           schedule == o.schedule;
  }
};
struct KeyHash {
  std::size_t operator()(const Key &k) const {
    std::size_t h = k.expr.hash();
    for (std::size_t v :
         {static_cast<std::size_t>(k.role), static_cast<std::size_t>(k.dtype),
          std::hash<std::string>{}(k.target), static_cast<std::size_t>(k.schedule.lanes),
          static_cast<std::size_t>(k.schedule.unroll),
          static_cast<std::size_t>(k.schedule.parallel_chunk)})
      h = h * 1099511628211u ^ v;
    return h;
  }
};

struct Cache {
  std::mutex mutex;
  std::unordered_map<Key, std::shared_ptr<const Kernel::Impl>, KeyHash> kernels;
};
Cache &cache() {
  static Cache *c = new Cache; // immortal: kernels may be used from static destructors
  return *c;
}

std::shared_ptr<const Kernel::Impl> load(const Key &key) {
  const auto target = targets::x86::resolve(key.target);
  if (!targets::x86::cpu_supports(target.name))
    throw Error("this CPU cannot run " + target.name + " kernels");
  const codegen::KernelSpec spec{key.expr, key.role, key.dtype};
  runtime::LoadedKernel loaded = runtime::load_kernel(key.name, spec, key.schedule, target);
  const runtime::KernelInterface &k = loaded.interface;
  for (const auto &ports : {k.inputs, k.outputs})
    for (const auto &port : ports)
      if (port.extent != codegen::halide::Extent::Elements)
        throw Error(k.symbol + ": jit kernels take only arrays of n elements (port " + port.name +
                    " is not)");
  auto impl = std::make_shared<Kernel::Impl>();
  impl->name = k.symbol;
  impl->spec = spec;
  impl->schedule = key.schedule;
  impl->target = target.name;
  impl->type = k.storage;
  impl->bytes = k.storage.bytes();
  impl->buffer_inputs = static_cast<int>(k.inputs.size());
  impl->inputs = std::max(1, ir::count_inputs(key.expr));
  impl->outputs = static_cast<int>(k.outputs.size());
  impl->params_f64 = k.params_f64;
  for (std::size_t i = 0; i < k.param_names.size(); ++i)
    impl->params.emplace_back(k.param_names[i],
                              k.defaults[i].value_or(std::numeric_limits<double>::quiet_NaN()));
  impl->entry = loaded.entry;
  ++(loaded.from_disk ? disk_loads : compiles);
  return impl;
}

} // namespace

Kernel jit(ir::Expr expr, const JitOptions &options, std::string name) {
  const auto info = targets::x86::resolve(options.target);
  Key key{expr,
          options.role,
          options.dtype,
          info.name,
          options.schedule.value_or(
              codegen::default_schedule(info.vector_bits, options.dtype == DType::F64 ? 64 : 32)),
          std::move(name)};
  Cache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (auto it = c.kernels.find(key); it != c.kernels.end()) return Kernel(it->second);
  }
  codegen::validate(key.schedule);
  // Compile outside the lock: other kernels stay available meanwhile. Two threads asking for
  // the same new kernel may both build it; the first to finish is kept.
  auto impl = load(key);
  std::lock_guard<std::mutex> lock(c.mutex);
  return Kernel(c.kernels.emplace(std::move(key), std::move(impl)).first->second);
}

Kernel jit(std::string_view name_or_text, const JitOptions &options) {
  if (const dsl::Entry *e = dsl::find_activation(name_or_text)) {
    if (!e->expr.defined()) throw Error(e->name + " is not elementwise: no jit kernel");
    return jit(e->expr, options, e->name);
  }
  return jit(dsl::parse_with_library(name_or_text), options, "expr");
}

std::size_t jit_compile_count() { return compiles.load(); }
std::size_t jit_disk_load_count() { return disk_loads.load(); }

const std::string &Kernel::name() const { return impl_->name; }
Role Kernel::role() const { return impl_->spec.role; }
DType Kernel::dtype() const { return impl_->spec.dtype; }
const std::string &Kernel::target() const { return impl_->target; }
const codegen::Schedule &Kernel::schedule() const { return impl_->schedule; }
int Kernel::num_inputs() const { return impl_->inputs; }
int Kernel::num_outputs() const { return impl_->outputs; }
const std::vector<std::pair<std::string, double>> &Kernel::params() const { return impl_->params; }

void Kernel::run(std::span<const void *const> inputs, std::span<void *const> outputs,
                 std::int64_t n, const Params &params) const {
  const Impl &k = *impl_;
  if (inputs.size() != static_cast<std::size_t>(k.buffer_inputs) ||
      outputs.size() != static_cast<std::size_t>(k.outputs))
    throw Error(k.name + " takes " + std::to_string(k.buffer_inputs) + " inputs and " +
                std::to_string(k.outputs) + " outputs, got " + std::to_string(inputs.size()) +
                " and " + std::to_string(outputs.size()));
  if (n < 0) throw Error(k.name + ": n must be >= 0, got " + std::to_string(n));
  for (const auto &[name, value] : params) {
    bool known = false;
    for (const auto &p : k.params)
      known = known || p.first == name;
    if (!known) throw Error(k.name + " has no parameter '" + name + "'");
  }

  // Everything the entry reads lives on this stack frame: buffers, dimensions, scalars, argv.
  constexpr std::size_t kMaxBuffers = 8, kStackScalars = 16;
  union Scalar {
    float f32;
    double f64;
  };
  Scalar stack_scalars[kStackScalars];
  std::vector<Scalar> heap_scalars;
  Scalar *scalars = stack_scalars;
  if (k.params.size() > kStackScalars) {
    heap_scalars.resize(k.params.size());
    scalars = heap_scalars.data();
  }
  for (std::size_t i = 0; i < k.params.size(); ++i) {
    auto it = params.find(k.params[i].first);
    const double value = it != params.end() ? it->second : k.params[i].second;
    if (std::isnan(value) && it == params.end())
      throw Error(k.name + ": parameter '" + k.params[i].first + "' has no default: give a value");
    if (k.params_f64)
      scalars[i].f64 = value;
    else
      scalars[i].f32 = static_cast<float>(value);
  }
  const std::size_t buffers = inputs.size() + outputs.size();
  halide_dimension_t dims[kMaxBuffers];
  halide_buffer_t bufs[kMaxBuffers];
  void *stack_argv[kMaxBuffers + kStackScalars];
  std::vector<void *> heap_argv;
  void **argv = stack_argv;
  if (k.params.size() > kStackScalars) {
    heap_argv.resize(buffers + k.params.size());
    argv = heap_argv.data();
  }
  // Halide's argument order: input buffers, scalars, output buffers.
  for (std::size_t b = 0; b < buffers; ++b) {
    dims[b] = halide_dimension_t(0, 0, 1);
    bufs[b] = halide_buffer_t{};
    bufs[b].type = k.type;
    bufs[b].dimensions = 1;
    bufs[b].dim = &dims[b];
    argv[b < inputs.size() ? b : b + k.params.size()] = &bufs[b];
  }
  for (std::size_t i = 0; i < k.params.size(); ++i)
    argv[inputs.size() + i] = &scalars[i];

  // Halide buffers have 32-bit extents: larger arrays go through in chunks.
  constexpr std::int64_t kChunk = std::int64_t{1} << 30;
  for (std::int64_t start = 0; start < n; start += kChunk) {
    const std::int64_t offset = start * k.bytes;
    for (std::size_t b = 0; b < buffers; ++b) {
      const void *base = b < inputs.size() ? inputs[b] : outputs[b - inputs.size()];
      bufs[b].host = static_cast<std::uint8_t *>(const_cast<void *>(base)) + offset;
      dims[b].extent = static_cast<std::int32_t>(std::min(kChunk, n - start));
    }
    if (const int rc = k.entry(argv); rc != 0)
      throw Error(k.name + " failed (Halide error " + std::to_string(rc) +
                  "): " + runtime::last_runtime_error());
  }
}

} // namespace actforge
