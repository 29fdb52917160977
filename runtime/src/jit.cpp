// jit(): build, compile and cache kernels; Kernel::run() binds buffers and realises.
#include "actforge/runtime/jit.hpp"

#include "actforge/codegen/halide/pipeline.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/targets/x86.hpp"

#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <tuple>
#include <unordered_map>

namespace actforge {

struct Kernel::Impl {
  std::string name;
  codegen::KernelSpec spec;
  codegen::Schedule schedule;
  targets::x86::TargetInfo target;
  codegen::halide::Pipeline pipeline;
  Halide::Type storage;
  int inputs = 1;
  std::vector<std::pair<std::string, double>> params;
};

namespace {

std::atomic<std::size_t> compiles{0};

struct Key {
  ir::Expr expr;
  Role role;
  DType dtype;
  std::string target;
  codegen::Schedule schedule;
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
          std::hash<std::string>{}(k.target), std::hash<std::string>{}(k.schedule.describe())})
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

std::string kernel_name(const std::string &base, const codegen::KernelSpec &spec,
                        const std::string &target, const codegen::Schedule &s) {
  std::string t = target.substr(target.rfind('-') + 1); // avx2 / avx512
  return base + "_" + std::string(codegen::short_name(spec.role)) + "_" +
         std::string(codegen::to_string(spec.dtype)) + "_" + t + "_" + s.describe();
}

std::shared_ptr<const Kernel::Impl> compile(const Key &key, const std::string &base) {
  auto impl = std::make_shared<Kernel::Impl>();
  impl->spec = codegen::KernelSpec{key.expr, key.role, key.dtype};
  impl->schedule = key.schedule;
  impl->target = targets::x86::resolve(key.target);
  if (!targets::x86::cpu_supports(impl->target.name))
    throw Error("this CPU cannot run " + impl->target.name + " kernels");
  impl->name = kernel_name(base, impl->spec, impl->target.name, key.schedule);
  impl->storage = codegen::halide::storage_type(key.dtype);
  impl->inputs = std::max(1, ir::count_inputs(key.expr));
  for (const auto &p : ir::collect_params(key.expr))
    impl->params.emplace_back(p.name, p.default_value ? static_cast<double>(*p.default_value)
                                                      : std::numeric_limits<double>::quiet_NaN());
  try {
    impl->pipeline = codegen::halide::build_pipeline(impl->spec, key.schedule);
    impl->pipeline.pipeline.compile_jit(impl->target.halide);
  } catch (const Halide::Error &e) {
    throw Error("Halide could not compile " + impl->name + ": " + e.what());
  }
  ++compiles;
  return impl;
}

} // namespace

Kernel jit(ir::Expr expr, const JitOptions &options, std::string name) {
  const auto info = targets::x86::resolve(options.target);
  Key key{expr, options.role, options.dtype, info.name,
          options.schedule.value_or(
              codegen::default_schedule(info.vector_bits, options.dtype == DType::F64 ? 64 : 32))};
  Cache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (auto it = c.kernels.find(key); it != c.kernels.end()) return Kernel(it->second);
  }
  // Compile outside the lock: other kernels stay available meanwhile. Two threads asking for
  // the same new kernel may both compile it; the first to finish is kept.
  auto impl = compile(key, name);
  std::lock_guard<std::mutex> lock(c.mutex);
  return Kernel(c.kernels.emplace(key, std::move(impl)).first->second);
}

Kernel jit(std::string_view name_or_text, const JitOptions &options) {
  if (const dsl::Entry *e = dsl::find_activation(name_or_text)) {
    if (!e->expr.defined()) throw Error(e->name + " is not elementwise: no jit kernel");
    return jit(e->expr, options, e->name);
  }
  return jit(dsl::parse_with_library(name_or_text), options, "expr");
}

std::size_t jit_compile_count() { return compiles.load(); }

const std::string &Kernel::name() const { return impl_->name; }
Role Kernel::role() const { return impl_->spec.role; }
DType Kernel::dtype() const { return impl_->spec.dtype; }
const std::string &Kernel::target() const { return impl_->target.name; }
const codegen::Schedule &Kernel::schedule() const { return impl_->schedule; }
int Kernel::num_inputs() const { return impl_->inputs; }
int Kernel::num_outputs() const { return impl_->pipeline.num_outputs; }
const std::vector<std::pair<std::string, double>> &Kernel::params() const { return impl_->params; }

void Kernel::run(std::span<const void *const> inputs, std::span<void *const> outputs,
                 std::int64_t n, const Params &params) const {
  const Impl &k = *impl_;
  const std::size_t want_in = static_cast<std::size_t>(k.inputs) + (k.spec.role == Role::Backward);
  if (inputs.size() != want_in || outputs.size() != static_cast<std::size_t>(num_outputs()))
    throw Error(k.name + " takes " + std::to_string(want_in) + " inputs and " +
                std::to_string(num_outputs()) + " outputs, got " + std::to_string(inputs.size()) +
                " and " + std::to_string(outputs.size()));
  if (n < 0) throw Error(k.name + ": n must be >= 0, got " + std::to_string(n));
  for (const auto &[name, value] : params) {
    bool known = false;
    for (const auto &p : k.params)
      known = known || p.first == name;
    if (!known) throw Error(k.name + " has no parameter '" + name + "'");
  }
  Halide::ParamMap map;
  for (std::size_t i = 0; i < k.params.size(); ++i) {
    auto it = params.find(k.params[i].first);
    const double value = it != params.end() ? it->second : k.params[i].second;
    if (std::isnan(value) && it == params.end())
      throw Error(k.name + ": parameter '" + k.params[i].first + "' has no default: give a value");
    k.pipeline.set_param(map, i, value);
  }
  // Halide buffers have 32-bit extents: larger arrays go through in chunks.
  constexpr std::int64_t kChunk = std::int64_t{1} << 30;
  const std::int64_t bytes = k.storage.bytes();
  for (std::int64_t start = 0; start < n; start += kChunk) {
    const int len = static_cast<int>(std::min(kChunk, n - start));
    auto at = [&](const void *p) {
      return static_cast<char *>(const_cast<void *>(p)) + start * bytes;
    };
    std::vector<Halide::Buffer<>> in, out;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      in.emplace_back(k.storage, at(inputs[i]), len);
      map.set(k.pipeline.buffers[i], in.back());
    }
    for (void *o : outputs)
      out.emplace_back(k.storage, at(o), len);
    try {
      Halide::Pipeline pipeline = k.pipeline.pipeline; // a shared handle; realize() is not const
      if (out.size() == 1)
        pipeline.realize(out[0], k.target.halide, map);
      else
        pipeline.realize(Halide::Realization(out), k.target.halide, map);
    } catch (const Halide::Error &e) {
      throw Error(k.name + " failed: " + e.what());
    }
  }
}

} // namespace actforge
