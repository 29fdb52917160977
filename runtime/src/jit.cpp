// jit(): the in-memory kernel cache over load_kernel(); Kernel::run(): the call path, which binds
// halide_buffer_t's on the stack and calls the compiled entry directly (no allocation per call).
#include "actforge/runtime/jit.hpp"

#include "kernel_loader.hpp"
#include "zero_counts.hpp"

#include "actforge/dsl/catalog.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/tune.hpp"
#include "actforge/targets/cuda.hpp"
#include "actforge/targets/x86.hpp"

#include <HalideRuntime.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <unordered_map>

namespace actforge {

namespace {
// Arrays and scalars one call binds on its stack.
constexpr std::size_t kMaxBuffers = 16, kMaxOutputs = 8, kStackScalars = 16;
} // namespace

struct Kernel::Impl {
  std::string name;
  codegen::KernelSpec spec;
  codegen::Schedule schedule;
  std::string schedule_origin = "given";
  std::string target;
  halide_type_t type;
  int bytes = 4;
  int inputs = 1; // activation inputs: x[, g]
  std::vector<Port> in_ports, out_ports;
  std::string in_names, out_names; // "x, dy": for messages
  bool params_f64 = false;
  std::vector<std::pair<std::string, double>> params; // scalar parameters
  std::vector<std::string> per_channel;
  runtime::ArgvEntry entry = nullptr;
  // GPU kernels: the entry for arrays not aligned to the schedule's lanes, the runtime's CUDA
  // device interface, and where the caller's arrays live.
  bool gpu = false;
  runtime::ArgvEntry entry_unaligned = nullptr;
  const halide_device_interface_t *device = nullptr;
  Memory memory = Memory::Host;
  bool zero_counts = false; // out_ports ends with zero_counts (Extent::Counts)
  // JitOptions::with_param_grad: this is the backward kernel, and param_grad the kernel of the
  // gradients that out_ports lists after dx[, dg]; calls run the two block by block.
  std::shared_ptr<const Impl> backward, param_grad;
  int (*copy_to_host)(void *, halide_buffer_t *) = nullptr;
  int (*device_free)(void *, halide_buffer_t *) = nullptr;
};

namespace {

std::atomic<std::size_t> compiles{0}, disk_loads{0};

struct Key {
  codegen::KernelSpec spec; // per_channel and wrt sorted
  std::string target;
  codegen::Schedule schedule;
  std::string name; // not part of the key: the same IR under another name is the same kernel
  bool operator==(const Key &o) const {
    return spec.expr == o.spec.expr && spec.role == o.spec.role && spec.dtype == o.spec.dtype &&
           spec.layout == o.spec.layout && spec.per_channel == o.spec.per_channel &&
           spec.wrt == o.spec.wrt && spec.uniform_g == o.spec.uniform_g && target == o.target &&
           schedule == o.schedule;
  }
};
struct KeyHash {
  std::size_t operator()(const Key &k) const {
    std::size_t h = k.spec.expr.hash();
    auto mix = [&h](std::size_t v) { h = h * 1099511628211u ^ v; };
    for (std::size_t v :
         {static_cast<std::size_t>(k.spec.role), static_cast<std::size_t>(k.spec.dtype),
          static_cast<std::size_t>(k.spec.layout), static_cast<std::size_t>(k.spec.uniform_g),
          std::hash<std::string>{}(k.target), static_cast<std::size_t>(k.schedule.lanes),
          static_cast<std::size_t>(k.schedule.unroll),
          static_cast<std::size_t>(k.schedule.parallel_chunk),
          static_cast<std::size_t>(k.schedule.gpu_threads)})
      mix(v);
    for (const auto &list : {k.spec.per_channel, k.spec.wrt}) {
      mix(list.size());
      for (const auto &s : list)
        mix(std::hash<std::string>{}(s));
    }
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

Extent extent_of(codegen::halide::Extent e) {
  switch (e) {
  case codegen::halide::Extent::Elements: return Extent::Elements;
  case codegen::halide::Extent::Channels: return Extent::Channels;
  case codegen::halide::Extent::One: return Extent::One;
  case codegen::halide::Extent::Pairs: return Extent::Pairs;
  }
  return Extent::Elements;
}

std::vector<Port> ports_of(const std::vector<codegen::halide::Port> &ports, std::string &names) {
  std::vector<Port> out;
  for (const auto &p : ports) {
    out.push_back({p.name, extent_of(p.extent)});
    names += (names.empty() ? "" : ", ") + p.name;
  }
  return out;
}

std::shared_ptr<const Kernel::Impl> load(const Key &key) {
  const auto target = targets::resolve(key.target);
  // GPU kernels compile anywhere (and fill the disk cache); running them needs the driver,
  // which Kernel::run checks.
  if (target.family == targets::Family::Arm)
    throw Error(target.name +
                " kernels cannot run in this x86-64 process: generate them with "
                "`actforge gen --target " +
                target.name +
                "` (runtime/aot.hpp), check them under qemu with `actforge check "
                "--target " +
                target.name + "`");
  if (!target.gpu && !targets::x86::cpu_supports(target.name)) {
    throw Error("this CPU cannot run " + target.name + " kernels");
  }
  runtime::LoadedKernel loaded = runtime::load_kernel(key.name, key.spec, key.schedule, target);
  const runtime::KernelInterface &k = loaded.interface;
  auto impl = std::make_shared<Kernel::Impl>();
  impl->name = k.symbol;
  impl->spec = key.spec;
  impl->schedule = key.schedule;
  impl->target = target.name;
  impl->type = k.storage;
  impl->bytes = k.storage.bytes();
  impl->inputs = key.spec.uniform_g ? 1 : std::max(1, ir::count_inputs(key.spec.expr));
  impl->in_ports = ports_of(k.inputs, impl->in_names);
  impl->out_ports = ports_of(k.outputs, impl->out_names);
  if (k.inputs.size() + k.outputs.size() > kMaxBuffers || k.outputs.size() > kMaxOutputs)
    throw Error(k.symbol + " takes more arrays than jit kernels bind (" +
                std::to_string(kMaxBuffers) + " in all, " + std::to_string(kMaxOutputs) +
                " outputs)");
  if (k.param_names.size() > kStackScalars)
    throw Error(k.symbol + " has more than " + std::to_string(kStackScalars) +
                " scalar parameters, more than jit kernels bind");
  impl->params_f64 = k.params_f64;
  for (std::size_t i = 0; i < k.param_names.size(); ++i) {
    if (codegen::is_per_channel(key.spec, k.param_names[i])) continue;
    impl->params.emplace_back(k.param_names[i],
                              k.defaults[i].value_or(std::numeric_limits<double>::quiet_NaN()));
  }
  impl->per_channel = key.spec.per_channel;
  impl->entry = loaded.entry;
  impl->entry_unaligned = loaded.entry_unaligned;
  impl->gpu = target.gpu;
  if (target.gpu) {
    using Interface = const halide_device_interface_t *(*)();
    impl->device =
        reinterpret_cast<Interface>(runtime::runtime_symbol("halide_cuda_device_interface"))();
    impl->memory = Memory::Device;
    impl->copy_to_host = reinterpret_cast<int (*)(void *, halide_buffer_t *)>(
        runtime::runtime_symbol("halide_copy_to_host"));
    impl->device_free = reinterpret_cast<int (*)(void *, halide_buffer_t *)>(
        runtime::runtime_symbol("halide_device_free"));
  }
  ++(loaded.from_disk ? disk_loads : compiles);
  return impl;
}

} // namespace

namespace {
std::shared_ptr<const Kernel::Impl> obtain(ir::Expr expr, const JitOptions &options,
                                           std::string name);
}

Kernel jit(ir::Expr expr, const JitOptions &options, std::string name) {
  if (!options.with_param_grad) return Kernel(obtain(std::move(expr), options, std::move(name)));
  if (options.role != Role::Backward)
    throw Error("with_param_grad gives backward's dx and param_grad's gradients from one call: "
                "it goes with Role::Backward, not " +
                std::string(codegen::to_string(options.role)));
  if (options.zero_counts) throw Error("with_param_grad and zero_counts do not go together");
  JitOptions backward = options, grads = options;
  backward.with_param_grad = grads.with_param_grad = false;
  backward.wrt.clear();
  grads.role = Role::ParamGrad;
  auto b = obtain(expr, backward, name);
  auto g = obtain(std::move(expr), grads, std::move(name));
  auto impl = std::make_shared<Kernel::Impl>(*b);
  impl->backward = b;
  impl->param_grad = g;
  impl->name += "_with_pgrad";
  for (const Port &p : g->out_ports) {
    impl->out_ports.push_back(p);
    impl->out_names += ", " + p.name;
  }
  return Kernel(std::move(impl));
}

namespace {
std::shared_ptr<const Kernel::Impl> obtain(ir::Expr expr, const JitOptions &options,
                                           std::string name) {
  const auto info = targets::resolve(options.target);
  if (info.family == targets::Family::Fpga)
    throw Error("the fpga target writes C: use `actforge gen --target fpga`");
  codegen::KernelSpec spec{
      expr,        options.role,     options.dtype, options.layout, options.per_channel,
      options.wrt, options.uniform_g};
  std::sort(spec.per_channel.begin(), spec.per_channel.end());
  std::sort(spec.wrt.begin(), spec.wrt.end());
  const int bits = options.dtype == DType::F64 ? 64 : 32;
  const int storage_bits = options.dtype == DType::F64 ? 64 : options.dtype == DType::F32 ? 32 : 16;
  std::string origin = "given";
  std::optional<codegen::Schedule> schedule = options.schedule;
  if (!schedule) {
    origin = "default schedule";
    if (options.use_tuning_db) {
      runtime::tune::Choice c =
          runtime::tune::lookup(spec.expr, spec.role, spec.dtype, info.name, options.size_hint);
      // The database is keyed by flat kernels; a channel layout takes the default.
      if (spec.layout == Layout::Flat || !c.schedule) {
        schedule = c.schedule;
        origin = std::move(c.why);
      }
    }
  }
  Key key{std::move(spec), info.name,
          schedule.value_or(info.gpu ? codegen::default_gpu_schedule(storage_bits)
                                     : codegen::default_schedule(info.vector_bits, bits)),
          std::move(name)};
  if (key.schedule.gpu() != info.gpu)
    throw Error(std::string("a ") + (info.gpu ? "GPU" : "CPU") + " target needs a " +
                (info.gpu ? "GPU schedule (gpu_threads > 0)" : "CPU schedule (gpu_threads = 0)"));
  if (options.zero_counts && (key.spec.role == Role::ParamGrad || info.gpu))
    throw Error(std::string("zero_counts counts the zero outputs of a forward or backward kernel "
                            "on a CPU target: ") +
                (info.gpu ? "not available for " + info.name
                          : std::string("param_grad has no elementwise output")));
  // A GPU kernel asked for with host memory, or a kernel that also counts its zero outputs: the
  // same compiled code, its calls copying or counting.
  auto with_memory =
      [&](std::shared_ptr<const Kernel::Impl> impl) -> std::shared_ptr<const Kernel::Impl> {
    const bool same_memory = !impl->gpu || options.memory == impl->memory;
    if (same_memory && impl->schedule_origin == origin && !options.zero_counts) return impl;
    auto copy = std::make_shared<Kernel::Impl>(*impl);
    if (!same_memory) copy->memory = options.memory;
    copy->schedule_origin = origin;
    if (options.zero_counts) {
      copy->zero_counts = true;
      copy->name += "_zc";
      copy->out_ports.push_back({"zero_counts", Extent::Counts});
      copy->out_names += ", zero_counts";
    }
    return copy;
  };
  Cache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (auto it = c.kernels.find(key); it != c.kernels.end()) return with_memory(it->second);
  }
  codegen::validate(key.spec);
  codegen::validate(key.schedule);
  // Compile outside the lock: other kernels stay available meanwhile. Two threads asking for
  // the same new kernel may both build it; the first to finish is kept.
  auto impl = load(key);
  std::lock_guard<std::mutex> lock(c.mutex);
  return with_memory(c.kernels.emplace(std::move(key), std::move(impl)).first->second);
}
} // namespace

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
Layout Kernel::layout() const { return impl_->spec.layout; }
const std::string &Kernel::target() const { return impl_->target; }
Memory Kernel::memory() const { return impl_->memory; }
const codegen::Schedule &Kernel::schedule() const { return impl_->schedule; }
const std::string &Kernel::schedule_origin() const { return impl_->schedule_origin; }
int Kernel::num_inputs() const { return impl_->inputs; }
bool Kernel::uniform_g() const { return impl_->spec.uniform_g; }
bool Kernel::zero_counts() const { return impl_->zero_counts; }
bool Kernel::with_param_grad() const { return impl_->param_grad != nullptr; }
int Kernel::num_outputs() const { return static_cast<int>(impl_->out_ports.size()); }
const std::vector<Port> &Kernel::input_ports() const { return impl_->in_ports; }
const std::vector<Port> &Kernel::output_ports() const { return impl_->out_ports; }
const std::vector<std::pair<std::string, double>> &Kernel::params() const { return impl_->params; }
const std::vector<std::string> &Kernel::per_channel() const { return impl_->per_channel; }

void Kernel::expect_element_size(std::size_t bytes) const {
  if (bytes != static_cast<std::size_t>(impl_->bytes))
    throw Error(impl_->name + " takes " + std::to_string(impl_->bytes) +
                "-byte elements, got a pointer to " + std::to_string(bytes) + "-byte ones");
}

namespace {

// Halide buffers have 32-bit extents and the kernels index with 32-bit offsets: a call covers a
// block of at most kChunk elements of [outer, C, inner] — whole channel ranges of whole outer
// rows where they fit, else ranges of channels of one row, else pieces of one channel's row.
// A block holds at most `max_channels` channels (param_grad accumulates them on the stack).
// Layout::Halves tiles [rows, 1, d] in blocks of at most kChunk / 2 elements, so that its
// [rows, 2d] arrays' blocks hold at most kChunk.
constexpr std::int64_t kChunk = std::int64_t{1} << 30;
constexpr std::int64_t kGroup = 128; // channels per block when param_grad sums several blocks
// Kernels counting their zero outputs run on blocks of at most this many elements, each block's
// output counted right after it is written, while it is still cached.
constexpr std::int64_t kCountBlock = std::int64_t{1} << 14;
// Backward with param_grad (JitOptions::with_param_grad) runs the two on blocks of this many.
constexpr std::int64_t kFuseBlock = std::int64_t{1} << 14;

struct Tiling {
  std::int64_t no, nc, ni; // block extents along outer, channels, inner

  Tiling(const Shape &s, std::int64_t max_channels, std::int64_t chunk = kChunk) {
    ni = std::min(s.inner, chunk);
    nc = std::min({s.channels, max_channels, s.inner >= chunk ? 1 : chunk / s.inner});
    no = s.channels * s.inner <= chunk ? chunk / (s.channels * s.inner) : 1;
    no = std::min(no, s.outer);
  }
  bool single(const Shape &s) const { return no == s.outer && nc == s.channels && ni == s.inner; }
};

// The number of zero_counts values of a call: one per channel (Extent::Counts).
std::int64_t counts_size(const Shape &s) {
  return s.layout == Layout::Channels ? s.channels : s.layout == Layout::Halves ? s.inner : 1;
}

// Throws unless a call gives as many input and output arrays as the kernel takes.
void check_array_counts(const std::string &kernel, std::size_t inputs, std::size_t want_inputs,
                        const std::string &input_names, std::size_t outputs,
                        std::size_t want_outputs, const std::string &output_names) {
  if (inputs != want_inputs)
    throw Error(kernel + " takes " + std::to_string(want_inputs) + " input arrays (" + input_names +
                "), got " + std::to_string(inputs));
  if (outputs != want_outputs)
    throw Error(kernel + " takes " + std::to_string(want_outputs) + " output arrays (" +
                output_names + "), got " + std::to_string(outputs));
}

std::string shape_text(const Shape &s) {
  if (s.layout == Layout::Halves)
    return "[rows, d] = [" + std::to_string(s.outer) + ", " + std::to_string(s.inner) + "]";
  return s.layout == Layout::Flat
             ? "n = " + std::to_string(s.inner)
             : "[outer, channels, inner] = [" + std::to_string(s.outer) + ", " +
                   std::to_string(s.channels) + ", " + std::to_string(s.inner) + "]";
}

} // namespace

void Kernel::run(std::span<const void *const> inputs, std::span<void *const> outputs,
                 const Shape &shape, const Params &params) const {
  run_with(inputs, outputs, shape, params, nullptr);
}

void Kernel::run(std::span<const void *const> inputs, std::span<void *const> outputs,
                 const Shape &shape, const Params &params, const Noise &noise) const {
  run_with(inputs, outputs, shape, params, &noise);
}

void Kernel::run_with(std::span<const void *const> inputs, std::span<void *const> outputs,
                      const Shape &shape, const Params &params, const Noise *noise) const {
  const Impl &k = *impl_;
  if (k.param_grad) {
    run_with_param_grad(inputs, outputs, shape, params, noise);
    return;
  }
  if (k.spec.uniform_g && !noise)
    throw Error(k.name + " generates its input g: call run(inputs, outputs, shape, params, "
                         "Noise{seed, offset})");
  if (!k.spec.uniform_g && noise) throw Error(k.name + " generates no input: it takes no Noise");
  // --- What the caller gave: counts, shape, pointers, parameters.
  check_array_counts(k.name, inputs.size(), k.in_ports.size(), k.in_names, outputs.size(),
                     k.out_ports.size(), k.out_names);
  const bool channels = k.spec.layout == Layout::Channels;
  const bool halves = k.spec.layout == Layout::Halves;
  if (shape.layout != k.spec.layout)
    throw Error(k.name + (channels ? " has the channel layout: give its size as "
                                     "Shape::with_channels(outer, channels, inner)"
                          : halves ? " splits one tensor [rows, 2d] in halves: give its size as "
                                     "Shape::halves(rows, d)"
                                   : " is flat: give its size as n elements (Shape::flat)"));
  if (shape.outer < 0 || shape.channels < 0 || shape.inner < 0)
    throw Error(k.name + ": sizes must be >= 0, got " + shape_text(shape));
  // Halide's strides are 32-bit: a row's second half starts d elements after its first.
  if (halves && (shape.channels != 1 || shape.inner >= (std::int64_t{1} << 30)))
    throw Error(k.name + ": the halves layout takes Shape::halves(rows, d) with d < 2^30, got " +
                shape_text(shape) + (shape.channels != 1 ? " and channels != 1" : ""));
  std::int64_t elements = 0;
  if (__builtin_mul_overflow(shape.outer, shape.channels, &elements) ||
      __builtin_mul_overflow(elements, shape.inner, &elements))
    throw Error(k.name + ": " + shape_text(shape) + " has more than 2^63 elements");
  auto check_pointer = [&](const void *p, const Port &port, bool input) {
    const std::int64_t count = port.extent == Extent::Elements   ? elements
                               : port.extent == Extent::Pairs    ? elements // (2·: 0 alike)
                               : port.extent == Extent::Channels ? shape.channels
                               : port.extent == Extent::Counts   ? counts_size(shape)
                                                                 : 1;
    if (!p && count > 0)
      throw Error(k.name + ": " + (input ? "input" : "output") + " '" + port.name + "' is null");
  };
  for (std::size_t b = 0; b < inputs.size(); ++b)
    check_pointer(inputs[b], k.in_ports[b], true);
  for (std::size_t b = 0; b < outputs.size(); ++b)
    check_pointer(outputs[b], k.out_ports[b], false);
  for (const auto &[name, value] : params) {
    bool known = false;
    for (const auto &p : k.params)
      known = known || p.first == name;
    if (known) continue;
    for (const auto &p : k.per_channel)
      if (p == name)
        throw Error(k.name + ": parameter '" + name +
                    "' is per-channel: pass its values as the input array '" + name + "'");
    throw Error(k.name + " has no parameter '" + name + "'");
  }

  // --- Everything the entry reads lives on this stack frame: buffers, dimensions, scalars, argv.
  union Scalar {
    float f32;
    double f64;
  };
  if (k.params.size() > kStackScalars)
    throw Error(k.name + ": more than " + std::to_string(kStackScalars) + " scalar parameters");
  Scalar scalars[kStackScalars];
  // The generator's scalars, after the parameters; the offset advances with each block.
  std::uint64_t rng_seed = noise ? noise->seed : 0, rng_offset = 0;
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
  if (k.gpu)
    if (const std::string &problem = targets::cuda::driver_problem(); !problem.empty())
      throw Error(k.name + " cannot run: " + problem);
  const bool grad = k.spec.role == Role::ParamGrad;
  std::int64_t *zero_counts =
      k.zero_counts ? static_cast<std::int64_t *>(outputs[outputs.size() - 1]) : nullptr;
  if (zero_counts)
    std::fill_n(zero_counts, counts_size(shape), std::int64_t{0}); // a call overwrites them
  if (elements == 0) {
    // Nothing to read. A sum over no elements is 0 (all-zero bits in every storage type).
    if (grad)
      for (std::size_t b = 0; b < outputs.size(); ++b) {
        const bool per_channel = k.out_ports[b].extent == Extent::Channels;
        const std::int64_t count = per_channel ? shape.channels : 1;
        if (count > 0) std::memset(outputs[b], 0, static_cast<std::size_t>(count * k.bytes));
      }
    return;
  }

  // zero_counts is ours to fill, not an array of the compiled kernel.
  const std::size_t n_in = inputs.size(),
                    n_buf = inputs.size() + outputs.size() - (k.zero_counts ? 1 : 0);
  halide_dimension_t dims[kMaxBuffers][3];
  halide_buffer_t bufs[kMaxBuffers];
  void *argv[kMaxBuffers + kStackScalars + 2];
  auto port_of = [&](std::size_t b) -> const Port & {
    return b < n_in ? k.in_ports[b] : k.out_ports[b - n_in];
  };
  // Halide's argument order: input buffers, scalars, output buffers.
  for (std::size_t b = 0; b < n_buf; ++b) {
    bufs[b] = halide_buffer_t{};
    bufs[b].type = k.type;
    bufs[b].dimensions = channels && port_of(b).extent == Extent::Elements ? 3 : 1;
    if (halves && port_of(b).extent == Extent::Elements) bufs[b].dimensions = 2; // [d, rows]
    if (port_of(b).extent == Extent::Pairs) bufs[b].dimensions = 3;              // [d, 2, rows]
    bufs[b].dim = dims[b];
    argv[b < n_in ? b : b + k.params.size() + (noise ? 2 : 0)] = &bufs[b];
  }
  for (std::size_t i = 0; i < k.params.size(); ++i)
    argv[n_in + i] = &scalars[i];
  if (noise) {
    argv[n_in + k.params.size()] = &rng_seed;
    argv[n_in + k.params.size() + 1] = &rng_offset;
  }

  const std::int64_t chunk = k.zero_counts ? kCountBlock : kChunk;
  Tiling tiling(shape, std::numeric_limits<std::int64_t>::max(), halves ? chunk / 2 : chunk);
  const bool single = tiling.single(shape);
  bool grouped = false; // param_grad with per-channel gradients over several blocks
  if (grad && !single)
    for (const Port &p : k.out_ports)
      grouped = grouped || p.extent == Extent::Channels;
  if (grouped) tiling = Tiling(shape, kGroup);

  // param_grad over several blocks: each block's results land in `slot` and are summed in f64.
  alignas(8) unsigned char slot[kMaxOutputs][kGroup * 8];
  double sum[kMaxOutputs][kGroup];
  const std::size_t n_out = outputs.size();

  // GPU kernels with lanes > 1 assume 128-bit aligned elementwise arrays (flat elementwise roles
  // only: the others read element by element); any other call takes the unaligned entry.
  const std::uintptr_t alignment = static_cast<std::uintptr_t>(k.schedule.lanes * k.bytes);
  auto call = [&](std::int64_t o, std::int64_t c, std::int64_t i, std::int64_t no, std::int64_t nc,
                  std::int64_t ni) {
    const std::int64_t start = (o * shape.channels + c) * shape.inner + i;
    // A block's elements keep their index in the call (pipeline.hpp: the index is the offset in
    // x's buffer, whose strides are the call's): its counters start at the block's first element.
    if (noise) rng_offset = noise->offset + static_cast<std::uint64_t>(start);
    bool aligned = true; // cleared below for a device array off the alignment
    for (std::size_t b = 0; b < n_buf; ++b) {
      const Port &port = port_of(b);
      const void *base = b < n_in ? inputs[b] : outputs[b - n_in];
      std::int64_t offset = 0, extent = 1;
      if (port.extent == Extent::Elements) {
        offset = start, extent = no * nc * ni;
      } else if (port.extent == Extent::Pairs) { // Layout::Halves: row o of 2d, from column i
        offset = o * 2 * shape.inner + i;
      } else if (port.extent == Extent::Channels) {
        offset = c, extent = nc;
      }
      if (b >= n_in && grad && !single) base = slot[b - n_in], offset = 0; // a partial result
      std::uint8_t *at = static_cast<std::uint8_t *>(const_cast<void *>(base)) + offset * k.bytes;
      bufs[b].host = at;
      bufs[b].device = 0;
      bufs[b].device_interface = nullptr;
      bufs[b].flags = 0;
      // GPU kernels: device memory is bound as the buffer's device allocation; param_grad's
      // results are computed on the host side, into host memory. Host memory marked dirty is
      // copied in by the kernel itself (and the outputs back, below).
      if (k.gpu && k.memory == Memory::Device && !(b >= n_in && grad)) {
        bufs[b].host = nullptr;
        bufs[b].device = reinterpret_cast<std::uint64_t>(at);
        bufs[b].device_interface = k.device;
        if (port.extent == Extent::Elements && !grad && k.spec.layout == Layout::Flat)
          aligned = aligned && reinterpret_cast<std::uintptr_t>(at) % alignment == 0;
      }
      if (k.gpu && k.memory == Memory::Host && b < n_in)
        bufs[b].flags = halide_buffer_flag_host_dirty;
      if (port.extent == Extent::Pairs) {
        const auto d = static_cast<std::int32_t>(shape.inner); // < 2^30, checked above
        dims[b][0] = halide_dimension_t(0, static_cast<std::int32_t>(ni), 1);
        dims[b][1] = halide_dimension_t(0, 2, d);
        dims[b][2] = halide_dimension_t(0, static_cast<std::int32_t>(no), 2 * d);
      } else if (halves && port.extent == Extent::Elements) {
        dims[b][0] = halide_dimension_t(0, static_cast<std::int32_t>(ni), 1);
        dims[b][1] = halide_dimension_t(0, static_cast<std::int32_t>(no),
                                        static_cast<std::int32_t>(shape.inner));
      } else if (bufs[b].dimensions == 3) {
        dims[b][0] = halide_dimension_t(0, static_cast<std::int32_t>(ni), 1);
        dims[b][1] = halide_dimension_t(0, static_cast<std::int32_t>(nc),
                                        static_cast<std::int32_t>(nc > 1 ? shape.inner : ni));
        dims[b][2] = halide_dimension_t(
            0, static_cast<std::int32_t>(no),
            static_cast<std::int32_t>(no > 1 ? shape.channels * shape.inner : ni * nc));
      } else {
        dims[b][0] = halide_dimension_t(0, static_cast<std::int32_t>(extent), 1);
      }
    }
    int rc = (aligned ? k.entry : k.entry_unaligned)(argv);
    if (k.gpu && k.memory == Memory::Host) {
      for (std::size_t b = n_in; b < n_buf && rc == 0; ++b)
        if (bufs[b].device) rc = k.copy_to_host(nullptr, &bufs[b]);
      for (std::size_t b = 0; b < n_buf; ++b)
        if (bufs[b].device) k.device_free(nullptr, &bufs[b]);
    }
    if (rc != 0)
      throw Error(k.name + " failed (Halide error " + std::to_string(rc) +
                  "): " + runtime::last_runtime_error());
    if (zero_counts) {
      // The block of output 0 (y, dx, or dxg whose rows start with dx) just written.
      const auto *out = static_cast<const std::uint8_t *>(outputs[0]);
      if (halves) {
        const std::int64_t row = (k.out_ports[0].extent == Extent::Pairs ? 2 : 1) * shape.inner;
        for (std::int64_t r = o; r < o + no; ++r)
          runtime::count_zeros_each(out + (r * row + i) * k.bytes, ni, k.bytes, zero_counts + i);
      } else {
        for (std::int64_t r = o; r < o + no; ++r)
          for (std::int64_t ch = c; ch < c + nc; ++ch)
            zero_counts[ch] += runtime::count_zeros(
                out + ((r * shape.channels + ch) * shape.inner + i) * k.bytes, ni, k.bytes);
      }
    }
    if (!grad || single) return;
    for (std::size_t b = 0; b < n_out; ++b) {
      const bool per_channel = k.out_ports[b].extent == Extent::Channels;
      for (std::int64_t j = 0; j < (per_channel ? nc : 1); ++j)
        sum[b][j] += codegen::load_value(slot[b] + j * k.bytes, k.spec.dtype);
    }
  };

  double scalar_sum[kMaxOutputs] = {};
  for (std::int64_t c = 0; c < shape.channels; c += tiling.nc) {
    const std::int64_t nc = std::min(tiling.nc, shape.channels - c);
    for (std::size_t b = 0; b < n_out; ++b)
      std::fill_n(sum[b], kGroup, 0.0);
    for (std::int64_t o = 0; o < shape.outer; o += tiling.no)
      for (std::int64_t i = 0; i < shape.inner; i += tiling.ni)
        call(o, c, i, std::min(tiling.no, shape.outer - o), nc,
             std::min(tiling.ni, shape.inner - i));
    if (!grad || single) continue;
    for (std::size_t b = 0; b < n_out; ++b) {
      if (k.out_ports[b].extent == Extent::One) {
        scalar_sum[b] += sum[b][0];
        continue;
      }
      for (std::int64_t j = 0; j < nc; ++j)
        codegen::store_value(static_cast<std::uint8_t *>(outputs[b]) + (c + j) * k.bytes,
                             k.spec.dtype, sum[b][j]);
    }
  }
  if (grad && !single)
    for (std::size_t b = 0; b < n_out; ++b)
      if (k.out_ports[b].extent == Extent::One)
        codegen::store_value(outputs[b], k.spec.dtype, scalar_sum[b]);
}

// JitOptions::with_param_grad: backward and param_grad over blocks of at most kFuseBlock elements
// (whole rows where they fit, as Tiling cuts), param_grad reading each block right after
// backward read it, from the cache: x and dy come from memory once. Each block's gradients are
// rounded to the dtype and summed in f64. f16 and bf16 (whose block sums could round coarsely or
// overflow at 65504), GPU kernels and calls of one block run the two kernels over the whole call.
void Kernel::run_with_param_grad(std::span<const void *const> inputs,
                                 std::span<void *const> outputs, const Shape &shape,
                                 const Params &params, const Noise *noise) const {
  const Impl &k = *impl_;
  const Kernel backward(k.backward), grads(k.param_grad);
  const std::size_t nb = k.backward->out_ports.size(), ng = k.param_grad->out_ports.size();
  check_array_counts(k.name, inputs.size(), k.in_ports.size(), k.in_names, outputs.size(), nb + ng,
                     k.out_names);
  const bool halves = k.spec.layout == Layout::Halves;
  std::int64_t elements = 0;
  const bool whole = k.gpu || k.spec.dtype == DType::F16 || k.spec.dtype == DType::BF16 ||
                     shape.layout != k.spec.layout || shape.outer < 0 || shape.channels < 0 ||
                     shape.inner < 0 ||
                     __builtin_mul_overflow(shape.outer, shape.channels, &elements) ||
                     __builtin_mul_overflow(elements, shape.inner, &elements) ||
                     elements <= kFuseBlock || (halves && 2 * shape.inner > kFuseBlock);
  if (whole) {
    backward.run_with(inputs, outputs.first(nb), shape, params, noise);
    grads.run_with(inputs, outputs.subspan(nb), shape, params, noise);
    return;
  }
  for (std::size_t b = 0; b < inputs.size(); ++b)
    if (!inputs[b]) throw Error(k.name + ": input '" + k.in_ports[b].name + "' is null");
  for (std::size_t b = 0; b < outputs.size(); ++b)
    if (!outputs[b]) throw Error(k.name + ": output '" + k.out_ports[b].name + "' is null");

  const Tiling t(shape, std::numeric_limits<std::int64_t>::max(),
                 halves ? kFuseBlock / 2 : kFuseBlock);
  const std::int64_t row = halves ? 2 * shape.inner : 0; // Pairs: a row of xg or dxg
  // One sum per gradient and channel (Extent::One: one), and one block's values of each.
  std::vector<double> sums(ng * static_cast<std::size_t>(shape.channels), 0.0);
  std::vector<unsigned char> slot(ng * static_cast<std::size_t>(t.nc) * 8);
  const void *in[kMaxBuffers];
  void *out[kMaxBuffers];
  auto at = [&](const void *base, const Port &port, std::int64_t start, std::int64_t o,
                std::int64_t c) {
    const std::int64_t offset = port.extent == Extent::Elements   ? start
                                : port.extent == Extent::Pairs    ? o * row
                                : port.extent == Extent::Channels ? c
                                                                  : 0;
    return static_cast<const std::uint8_t *>(base) + offset * k.bytes;
  };
  for (std::int64_t c = 0; c < shape.channels; c += t.nc) {
    const std::int64_t nc = std::min(t.nc, shape.channels - c);
    for (std::int64_t o = 0; o < shape.outer; o += t.no) {
      const std::int64_t no = std::min(t.no, shape.outer - o);
      for (std::int64_t i = 0; i < shape.inner; i += t.ni) {
        const std::int64_t ni = std::min(t.ni, shape.inner - i);
        const std::int64_t start = (o * shape.channels + c) * shape.inner + i;
        const Shape block = halves                          ? Shape::halves(no, ni)
                            : k.spec.layout == Layout::Flat ? Shape::flat(ni)
                                                            : Shape::with_channels(no, nc, ni);
        for (std::size_t b = 0; b < inputs.size(); ++b)
          in[b] = at(inputs[b], k.in_ports[b], start, o, c);
        for (std::size_t b = 0; b < nb; ++b)
          out[b] = const_cast<std::uint8_t *>(at(outputs[b], k.out_ports[b], start, o, c));
        for (std::size_t b = 0; b < ng; ++b)
          out[nb + b] = slot.data() + b * static_cast<std::size_t>(t.nc) * 8;
        const Noise moved{noise ? noise->seed : 0,
                          (noise ? noise->offset : 0) + static_cast<std::uint64_t>(start)};
        const Noise *block_noise = noise ? &moved : nullptr;
        backward.run_with(std::span<const void *const>(in, inputs.size()),
                          std::span<void *const>(out, nb), block, params, block_noise);
        grads.run_with(std::span<const void *const>(in, inputs.size()),
                       std::span<void *const>(out + nb, ng), block, params, block_noise);
        for (std::size_t b = 0; b < ng; ++b) {
          const bool per_channel = k.param_grad->out_ports[b].extent == Extent::Channels;
          for (std::int64_t j = 0; j < (per_channel ? nc : 1); ++j)
            sums[b * static_cast<std::size_t>(shape.channels) +
                 static_cast<std::size_t>(per_channel ? c + j : 0)] +=
                codegen::load_value(static_cast<const std::uint8_t *>(out[nb + b]) + j * k.bytes,
                                    k.spec.dtype);
        }
      }
    }
  }
  for (std::size_t b = 0; b < ng; ++b) {
    const bool per_channel = k.param_grad->out_ports[b].extent == Extent::Channels;
    for (std::int64_t j = 0; j < (per_channel ? shape.channels : 1); ++j)
      codegen::store_value(static_cast<std::uint8_t *>(outputs[nb + b]) + j * k.bytes, k.spec.dtype,
                           sums[b * static_cast<std::size_t>(shape.channels) + j]);
  }
}

Params Kernel::param_grad_values(std::span<const void *const> inputs, std::int64_t n,
                                 const Params &params) const {
  const Impl &k = *impl_;
  if (k.spec.role != Role::ParamGrad)
    throw Error(k.name + " is a " + std::string(codegen::to_string(k.spec.role)) +
                " kernel, not param_grad");
  if (k.spec.layout != Layout::Flat || inputs.size() != k.in_ports.size())
    throw Error(k.name +
                ": param_grad(x, dy, n) is for flat kernels of one input; call run() "
                "with its arrays (" +
                k.in_names + ")");
  alignas(8) unsigned char slots[kMaxOutputs][8];
  void *out[kMaxOutputs];
  for (std::size_t b = 0; b < k.out_ports.size(); ++b)
    out[b] = slots[b];
  run(inputs, std::span<void *const>(out, k.out_ports.size()), Shape::flat(n), params);
  Params grads;
  for (std::size_t b = 0; b < k.out_ports.size(); ++b)
    grads[k.out_ports[b].name.substr(1)] = codegen::load_value(slots[b], k.spec.dtype); // d<p> -> p
  return grads;
}

} // namespace actforge
