// check_kernels(): samples per dtype, the kernels' outputs, and their ULP distance from the
// reference.
#include "actforge/runtime/kernel_check.hpp"

#include "actforge/check/numeric.hpp"
#include "actforge/dsl/from_output.hpp"
#include "actforge/dsl/maxout.hpp"
#include "actforge/dsl/scalar.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/mutate.hpp"
#include "actforge/runtime/cross.hpp"
#include "actforge/runtime/formula_bound.hpp"
#include "actforge/runtime/maxout.hpp"
#include "actforge/runtime/mlir.hpp"
#include "actforge/runtime/neon_audit.hpp"
#include "actforge/targets/arm.hpp"
#include "actforge/targets/cuda.hpp"
#include "actforge/targets/fpga.hpp"
#include "actforge/targets/program.hpp"
#include "actforge/targets/x86.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

namespace actforge::runtime {
namespace {

constexpr long double kNaN = std::numeric_limits<long double>::quiet_NaN();

struct Format {
  int precision;    // significand bits, hidden bit included
  int min_exponent; // of the smallest normal, as frexp reports exponents (0.5 <= m < 1)
  long double max;  // largest finite
};

Format format(DType d) {
  switch (d) {
  case DType::F32: return {24, FLT_MIN_EXP, FLT_MAX};
  case DType::F64: return {53, DBL_MIN_EXP, DBL_MAX};
  case DType::F16: return {11, -13, 65504.0L};
  case DType::BF16: return {8, FLT_MIN_EXP, 3.38953138925153547590470800371487867e38L};
  }
  return {24, FLT_MIN_EXP, FLT_MAX};
}

// ---- storage conversions ----
std::uint16_t bf16_from_float(float f) {
  std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if (std::isnan(f)) return static_cast<std::uint16_t>((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1); // round to nearest even
  return static_cast<std::uint16_t>(u >> 16);
}
float float_from_bf16(std::uint16_t b) { return std::bit_cast<float>(std::uint32_t{b} << 16); }

/// A buffer of n elements of `dtype`, with conversions from and to long double.
struct Buffer {
  DType dtype;
  std::vector<unsigned char> bytes;

  Buffer(DType d, std::size_t n)
      : dtype(d), bytes(n * static_cast<std::size_t>(codegen::bytes_of(d)) + 64) {}
  // Data starts one byte past a 64-byte boundary plus the element size when `unaligned`.
  void *data(bool unaligned = false) {
    return bytes.data() + (unaligned ? codegen::bytes_of(dtype) : 0);
  }

  void set(std::size_t i, long double v, bool unaligned = false) {
    unsigned char *p = static_cast<unsigned char *>(data(unaligned)) + i * codegen::bytes_of(dtype);
    switch (dtype) {
    case DType::F32: {
      float f = static_cast<float>(v);
      std::memcpy(p, &f, 4);
      break;
    }
    case DType::F64: {
      double f = static_cast<double>(v);
      std::memcpy(p, &f, 8);
      break;
    }
    case DType::F16: {
      _Float16 h = static_cast<_Float16>(static_cast<float>(v));
      std::memcpy(p, &h, 2);
      break;
    }
    case DType::BF16: {
      std::uint16_t h = bf16_from_float(static_cast<float>(v));
      std::memcpy(p, &h, 2);
      break;
    }
    }
  }
  long double get(std::size_t i, bool unaligned = false) {
    const unsigned char *p =
        static_cast<unsigned char *>(data(unaligned)) + i * codegen::bytes_of(dtype);
    switch (dtype) {
    case DType::F32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case DType::F64: {
      double f;
      std::memcpy(&f, p, 8);
      return f;
    }
    case DType::F16: {
      _Float16 h;
      std::memcpy(&h, p, 2);
      return static_cast<float>(h);
    }
    case DType::BF16: {
      std::uint16_t h;
      std::memcpy(&h, p, 2);
      return float_from_bf16(h);
    }
    }
    return kNaN;
  }
};

/// Round a long double to the dtype (what storing it would give).
long double round_to(long double v, DType d) {
  Buffer b(d, 1);
  b.set(0, v);
  return b.get(0);
}

std::vector<long double> specials(const std::vector<long double> &kinks, DType d) {
  const Format f = format(d);
  const long double tiny = std::ldexp(1.0L, f.min_exponent - f.precision);
  const long double min_normal = std::ldexp(1.0L, f.min_exponent - 1);
  std::vector<long double> s{0.0L,  -0.0L,  tiny,     -tiny,     min_normal, -min_normal,
                             f.max, -f.max, INFINITY, -INFINITY, kNaN,       88,
                             -88,   20,     -20,      1e-7L,     -1e-7L};
  for (long double k : kinks)
    for (long double dk : {0.0L, 1e-3L, -1e-3L})
      s.push_back(k + dk);
  for (auto &v : s)
    if (!std::isnan(v)) v = round_to(v, d);
  return s;
}

/// The sample of ACTIVATIONS.md for one dtype: strided bit patterns plus specials.
std::vector<long double> sample(DType d, int log2_stride, const std::vector<long double> &kinks) {
  std::vector<long double> v = specials(kinks, d);
  switch (d) {
  case DType::F32: {
    const std::uint64_t step = std::uint64_t{1} << log2_stride;
    for (std::uint64_t bits = 0; bits < (std::uint64_t{1} << 32); bits += step)
      v.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
    break;
  }
  case DType::F64: {
    const std::uint64_t step = std::uint64_t{1} << (32 + log2_stride); // as many as for f32
    for (std::uint64_t bits = 12345; bits >= 12345 && bits < ~std::uint64_t{0} - step; bits += step)
      v.push_back(std::bit_cast<double>(bits));
    break;
  }
  case DType::F16:
    for (std::uint32_t bits = 0; bits < 65536; ++bits) {
      const auto h = std::bit_cast<_Float16>(static_cast<std::uint16_t>(bits));
      v.push_back(static_cast<float>(h));
    }
    break;
  case DType::BF16:
    for (std::uint32_t bits = 0; bits < 65536; ++bits)
      v.push_back(float_from_bf16(static_cast<std::uint16_t>(bits)));
    break;
  }
  return v;
}

std::vector<long double> kinks_of(const check::Subject &s) {
  std::vector<long double> k;
  if (s.entry)
    for (int i = 0; i < s.entry->info.n_kinks; ++i)
      k.push_back(s.entry->info.kinks[static_cast<std::size_t>(i)].at);
  return k;
}

Params kernel_params(const check::Subject &s) {
  Params p;
  for (const auto &[name, value] : s.params)
    p[name] = static_cast<double>(value);
  return p;
}

std::string fmt(long double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9Lg", v);
  return buf;
}

/// A kernel as the checks call it: flat arrays of n elements in, outputs of n elements (one
/// value per parameter for param_grad), the subject's parameters bound.
struct Callable {
  std::function<void(const std::vector<const void *> &, const std::vector<void *> &, std::int64_t)>
      run;
  std::vector<std::string> outputs; // names: y / dx[, dg] / d<param>...
  /// The kernel evaluates its formula node by node in f32 (the fpga target's float mode), so an
  /// f32 kernel may be held to the formula's own f32 error bound where the ULP bound is out of
  /// reach (as f64 kernels are to their f64 bound).
  bool formula_f32 = false;
};

/// Where the checked kernels come from and run.
class Executor {
public:
  virtual ~Executor() = default;
  virtual Callable kernel(Role role, DType dtype) = 0;
};

/// Kernels of this process: jit(), handed host arrays (GPU kernels copy them in and out).
class JitExecutor final : public Executor {
public:
  JitExecutor(const check::Subject &s, std::string target,
              std::optional<codegen::Schedule> schedule)
      : s_(s), target_(std::move(target)), schedule_(schedule) {}
  Callable kernel(Role role, DType dtype) override {
    JitOptions o{role, dtype, target_, schedule_};
    o.use_tuning_db = false;
    o.memory = Memory::Host;
    const Kernel k = jit(s_.expr, o, s_.name);
    Callable c;
    for (const auto &port : k.output_ports())
      c.outputs.push_back(port.name);
    c.run = [k, params = kernel_params(s_)](const std::vector<const void *> &in,
                                            const std::vector<void *> &out, std::int64_t n) {
      k.run(std::span<const void *const>(in), std::span<void *const>(out), n, params);
    };
    return c;
  }

private:
  const check::Subject &s_;
  std::string target_;
  std::optional<codegen::Schedule> schedule_;
};

/// Kernels of a cross target (ARM): one AOT library of every role and dtype the check needs,
/// run by a cross::Runner under qemu; arrays travel to it and back.
class CrossExecutor final : public Executor {
public:
  CrossExecutor(const check::Subject &s, const std::string &target, std::vector<Role> roles,
                std::vector<DType> dtypes)
      : s_(s), target_(target) {
    aot::Options o;
    o.activations = {{"subject", s.expr}};
    o.targets = {target};
    o.roles = std::move(roles);
    o.dtypes = std::move(dtypes);
    runner_ = std::make_unique<cross::Runner>(o);
  }
  Callable kernel(Role role, DType dtype) override {
    const std::string name = "subject_" + std::string(codegen::short_name(role)) + "_" +
                             std::string(codegen::to_string(dtype)) + "_" + targets::isa(target_);
    const std::optional<cross::Info> info = runner_->info(name);
    if (!info) throw Error("internal error: the cross library has no kernel " + name);
    // The defaults go as NULL: the C ABI's parameter structs of f32/f16/bf16 kernels have float
    // fields, while a kernel computing in f64 takes its defaults as double literals (as jit()).
    std::optional<std::vector<double>> params = std::vector<double>{};
    bool defaults = true;
    for (std::size_t i = 0; i < info->params.size(); ++i) {
      params->push_back(static_cast<double>(s_.params.at(info->params[i])));
      defaults = defaults && params->back() == info->param_defaults[i];
    }
    if (defaults) params.reset();
    Callable c;
    c.outputs = info->outputs;
    const std::size_t bytes = static_cast<std::size_t>(codegen::bytes_of(dtype));
    const bool grad = role == Role::ParamGrad;
    c.run = [this, name, params, bytes, grad](const std::vector<const void *> &in,
                                              const std::vector<void *> &out, std::int64_t n) {
      cross::Call call;
      call.name = name;
      call.n = n;
      call.params = params;
      const std::size_t size = static_cast<std::size_t>(n) * bytes;
      for (const void *p : in) {
        cross::Array a;
        a.bytes.assign(static_cast<const unsigned char *>(p),
                       static_cast<const unsigned char *>(p) + size);
        call.inputs.push_back(std::move(a));
      }
      for (std::size_t i = 0; i < out.size(); ++i)
        call.outputs.push_back(cross::Array::zeros(grad ? bytes : size));
      const cross::Result r = runner_->call(call);
      if (r.rc != 0) throw Error(name + " returned error " + std::to_string(r.rc) + " under qemu");
      if (!r.guards_intact) throw Error(name + " wrote past the end of an array under qemu");
      for (std::size_t i = 0; i < out.size(); ++i)
        std::memcpy(out[i], r.outputs[i].data(), r.outputs[i].size());
    };
    return c;
  }
  /// One record per kernel object: its main loop must be NEON vector code (audit_neon).
  std::vector<check::Record> audit(const std::string &activation) const {
    std::vector<check::Record> out;
    for (const std::string &object : runner_->kernel_objects()) {
      const std::string stem = std::filesystem::path(object).stem().string();
      // subject_<role>_<dtype>_<isa>_<schedule>
      std::vector<std::string> part;
      for (std::size_t at = 0, next; at <= stem.size(); at = next + 1) {
        next = std::min(stem.find('_', at), stem.size());
        part.push_back(stem.substr(at, next - at));
      }
      check::Record r;
      r.activation = activation;
      r.target = target_;
      r.role = "neon:" + part.at(1);
      for (Role role : {Role::Forward, Role::Backward, Role::BackwardFromOutput, Role::ParamGrad})
        if (part.at(1) == codegen::short_name(role))
          r.role = "neon:" + std::string(codegen::to_string(role));
      r.dtype = part.at(2);
      try {
        const NeonAudit a =
            audit_neon(runner_->disassemble(object), stem, codegen::parse_dtype(part.at(2)));
        r.status = a.ok ? check::Status::Pass : check::Status::Fail;
        r.points = a.loop_instructions;
        r.reason = a.describe();
      } catch (const Error &e) {
        r.status = check::Status::Fail;
        r.reason = e.what();
      }
      out.push_back(r);
    }
    return out;
  }

private:
  const check::Subject &s_;
  std::string target_;
  std::unique_ptr<cross::Runner> runner_;
};

/// The MLIR backend: the kernels of every role and dtype the check needs emitted by codegen/mlir
/// into one module, compiled by actforge-mlir into an object with the C ABI, linked and loaded
/// into this process.
class MlirExecutor final : public Executor {
public:
  MlirExecutor(const check::Subject &s, const std::string &target, const std::vector<Role> &roles,
               const std::vector<DType> &dtypes)
      : s_(s) {
    std::vector<std::pair<std::string, codegen::KernelSpec>> specs;
    for (DType dtype : dtypes)
      for (Role role : roles)
        if (dtype != DType::F64) specs.push_back({name(role, dtype), {s.expr, role, dtype}});
    library_ = std::make_unique<mlir::Library>(specs, target);
  }
  Callable kernel(Role role, DType dtype) override {
    auto k = std::make_shared<mlir::Kernel>(library_->kernel(name(role, dtype)));
    std::vector<float> params;
    for (const auto &p : k->module().params)
      params.push_back(static_cast<float>(s_.params.at(p)));
    Callable c;
    c.outputs = k->module().outputs;
    c.formula_f32 = true; // node by node in f32, like the fpga float kernels
    c.run = [k, params](const std::vector<const void *> &in, const std::vector<void *> &out,
                        std::int64_t n) {
      const int rc = k->call(in, out, n, &params);
      if (rc != 0) throw Error("the MLIR kernel returned " + std::to_string(rc));
    };
    return c;
  }

private:
  static std::string name(Role role, DType dtype) {
    return "subject_" + std::string(codegen::short_name(role)) + "_" +
           std::string(codegen::to_string(dtype));
  }
  const check::Subject &s_;
  std::unique_ptr<mlir::Library> library_;
};

/// The fpga target's float mode: each role's C kernel from the HLS emitter, compiled with a
/// driver for this host and run in its own process (the C simulation of an HLS flow).
class FpgaExecutor final : public Executor {
public:
  explicit FpgaExecutor(const check::Subject &s) : s_(s) {}
  Callable kernel(Role role, DType dtype) override {
    if (dtype != DType::F32) throw Error("internal error: the fpga float kernels are f32");
    auto it = sims_.find(role);
    if (it == sims_.end()) {
      const codegen::hls::Kernel k = generate_fpga(s_, role, codegen::hls::Options{});
      kernels_.push_back(k);
      const std::map<std::string, std::string> files{{k.c_name + ".c", k.source},
                                                     {k.c_name + ".h", k.header}};
      targets::fpga::Signature sig{k.c_name, upper(k.c_name) + "_MAX_N",
                                   std::vector<std::string>(k.report.inputs.size(), "float"),
                                   std::vector<std::string>(k.report.outputs.size(), "float")};
      auto sim = std::make_shared<targets::fpga::Csim>(files, k.c_name + ".c", sig);
      it = sims_.emplace(role, std::make_pair(sim, k.report.outputs)).first;
    }
    Callable c;
    c.outputs = it->second.second;
    c.formula_f32 = true;
    c.run = [sim = it->second.first](const std::vector<const void *> &in,
                                     const std::vector<void *> &out, std::int64_t n) {
      std::vector<std::vector<unsigned char>> arrays;
      for (const void *p : in)
        arrays.emplace_back(static_cast<const unsigned char *>(p),
                            static_cast<const unsigned char *>(p) + n * 4);
      const auto results = sim->run(arrays, n);
      for (std::size_t i = 0; i < out.size(); ++i)
        std::memcpy(out[i], results.at(i).data(), results.at(i).size());
    };
    return c;
  }
  /// One record per kernel built: the rule check of targets/fpga.
  std::vector<check::Record> rules(const std::string &target) const {
    std::vector<check::Record> out;
    for (const auto &k : kernels_)
      out.push_back(rule_record(s_.name, target, "f32", k));
    return out;
  }

  static std::string upper(std::string t) {
    for (char &ch : t)
      ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return t;
  }
  /// The subject's kernel for `role`, its parameters bound to the subject's values.
  static codegen::hls::Kernel generate_fpga(const check::Subject &s, Role role,
                                            codegen::hls::Options o) {
    for (const auto &p : ir::collect_params(s.expr))
      o.params[p.name] = s.params.at(p.name);
    return codegen::hls::generate(s.expr, role, "subject_" + std::string(codegen::short_name(role)),
                                  o);
  }
  static check::Record rule_record(const std::string &activation, const std::string &target,
                                   const std::string &dtype, const codegen::hls::Kernel &k) {
    check::Record r;
    r.activation = activation;
    r.target = target;
    r.dtype = dtype;
    r.role = "rules:" + std::string(codegen::to_string(k.report.role));
    const targets::fpga::RuleCheck rc = targets::fpga::check_rules(
        {{k.c_name + ".c", k.source}, {k.c_name + ".h", k.header}}, k.c_name + ".c");
    r.status = rc.ok() ? check::Status::Pass : check::Status::Fail;
    r.points = static_cast<long>(rc.ran.size());
    r.reason = rc.ok() ? std::to_string(rc.ran.size()) + " compilations clean, nm -u empty, no "
                                                         "forbidden construct"
                       : rc.problems.front() +
                             (rc.problems.size() > 1
                                  ? " (and " + std::to_string(rc.problems.size() - 1) + " more)"
                                  : std::string());
    return r;
  }

private:
  const check::Subject &s_;
  std::map<Role, std::pair<std::shared_ptr<targets::fpga::Csim>, std::vector<std::string>>> sims_;
  std::vector<codegen::hls::Kernel> kernels_;
};

/// The fpga target in fixed point: per role, the rule check, then the C simulation on every
/// input combination the emitter measured, which must give the emitter's integer program's words
/// and so the error it reported.
std::vector<check::Record> check_fpga_fixed(const check::Subject &s,
                                            const KernelCheckOptions &options,
                                            const std::string &target) {
  std::vector<check::Record> out;
  const std::string dtype =
      "q" + options.fixed_in->to_string() +
      (*options.fixed_out == *options.fixed_in ? std::string()
                                               : ":q" + options.fixed_out->to_string());
  for (Role role : {Role::Forward, Role::Backward}) {
    check::Record r;
    r.activation = s.name;
    r.target = target;
    r.dtype = dtype;
    r.role = std::string(codegen::to_string(role));
    try {
      codegen::hls::Options o;
      o.in = options.fixed_in;
      o.out = options.fixed_out;
      o.max_error = options.max_error;
      o.table_intervals = options.table_intervals;
      const codegen::hls::Kernel k = FpgaExecutor::generate_fpga(s, role, o);
      out.push_back(FpgaExecutor::rule_record(s.name, target, dtype, k));
      // Every combination of the measured words, the first input varying fastest.
      const auto &sets = k.measured_sets;
      std::size_t total = 1;
      for (const auto &set : sets)
        total *= set.size();
      std::vector<std::vector<std::int64_t>> words(sets.size(), std::vector<std::int64_t>(total));
      for (std::size_t i = 0; i < total; ++i) {
        std::size_t rest = i;
        for (std::size_t p = 0; p < sets.size(); ++p) {
          words[p][i] = sets[p][rest % sets[p].size()];
          rest /= sets[p].size();
        }
      }
      const std::string in_t = options.fixed_in->c_type(), out_t = options.fixed_out->c_type();
      const std::size_t in_size = targets::fpga::element_size(in_t),
                        out_size = targets::fpga::element_size(out_t);
      std::vector<std::vector<unsigned char>> arrays;
      for (const auto &w : words) {
        std::vector<unsigned char> bytes(total * in_size);
        for (std::size_t i = 0; i < total; ++i) {
          const std::int64_t v = w[i];
          if (in_size == 1) bytes[i] = static_cast<unsigned char>(static_cast<std::int8_t>(v));
          if (in_size == 2) {
            const auto t = static_cast<std::int16_t>(v);
            std::memcpy(&bytes[i * 2], &t, 2);
          }
          if (in_size == 4) {
            const auto t = static_cast<std::int32_t>(v);
            std::memcpy(&bytes[i * 4], &t, 4);
          }
        }
        arrays.push_back(std::move(bytes));
      }
      const targets::fpga::Csim sim({{k.c_name + ".c", k.source}, {k.c_name + ".h", k.header}},
                                    k.c_name + ".c",
                                    {k.c_name, FpgaExecutor::upper(k.c_name) + "_MAX_N",
                                     std::vector<std::string>(sets.size(), in_t),
                                     std::vector<std::string>(k.report.outputs.size(), out_t)});
      const auto results = sim.run(arrays, static_cast<std::int64_t>(total));
      const auto expected = k.simulate(words);
      // The reference, independently of the emitter: f or dy·∂f/∂input, parameters bound.
      std::unordered_map<ir::Expr, ir::Expr, ir::ExprHash> bind;
      for (const auto &p : ir::collect_params(s.expr))
        bind[ir::param(p.name, p.default_value)] = ir::constant(s.params.at(p.name));
      const ir::Expr f = ir::substitute(s.expr, bind);
      const bool gated = ir::count_inputs(f) > 1;
      std::vector<ir::Program> refs;
      if (role == Role::Forward)
        refs.emplace_back(f);
      else
        for (int in = 0; in < (gated ? 2 : 1); ++in)
          refs.emplace_back(ir::input(2) * ir::differentiate(f, ir::input(in)));
      const long double in_lsb = options.fixed_in->lsb(), out_lsb = options.fixed_out->lsb();
      long double worst = 0;
      long mismatches = 0;
      for (std::size_t j = 0; j < results.size(); ++j) {
        for (std::size_t i = 0; i < total; ++i) {
          std::int64_t got = 0;
          const unsigned char *b = &results[j][i * out_size];
          if (out_size == 1) got = static_cast<std::int8_t>(b[0]);
          if (out_size == 2) {
            std::int16_t t;
            std::memcpy(&t, b, 2);
            got = t;
          }
          if (out_size == 4) {
            std::int32_t t;
            std::memcpy(&t, b, 4);
            got = t;
          }
          if (got != expected[j][i]) ++mismatches;
          std::array<long double, 3> v{};
          for (std::size_t p = 0; p < sets.size(); ++p)
            v[p < (gated ? 2u : 1u) ? p : 2] = static_cast<long double>(words[p][i]) * in_lsb;
          const long double ref =
              std::clamp(refs[j].eval<long double>(
                             std::span<const long double>(
                                 v.data(), static_cast<std::size_t>(refs[j].num_inputs())),
                             std::span<const long double>()),
                         options.fixed_out->min_value(), options.fixed_out->max_value());
          long double scale = 1;
          if (role == Role::Backward) scale *= std::max(1.0L, std::fabs(v[2]));
          if (gated) scale *= std::max(1.0L, std::fabs(v[0]));
          worst = std::max(worst, std::fabs(static_cast<long double>(got) * out_lsb - ref) / scale);
        }
      }
      r.points = static_cast<long>(total);
      r.max_abs_err = static_cast<double>(worst);
      const double bound = k.report.requested_error ? *k.report.requested_error : 0;
      if (mismatches) {
        r.status = check::Status::Fail;
        r.reason =
            std::to_string(mismatches) + " outputs differ from the emitter's integer program";
      } else if (worst != k.report.achieved_error) {
        r.status = check::Status::Fail;
        r.reason =
            "measured " + fmt(worst) + " but the report says " + fmt(k.report.achieved_error);
      } else if (k.report.requested_error && worst > bound) {
        r.status = check::Status::Fail;
        r.reason = "error " + fmt(worst) + " above the requested " + fmt(bound);
      } else {
        r.status = check::Status::Pass;
        const std::string over =
            k.report.measured_over.substr(0, k.report.measured_over.find(" ("));
        const std::size_t tables = k.report.tables.size();
        r.reason = "error " + fmt(worst) + " " + k.report.error_scale + ", as reported" +
                   (k.report.requested_error ? "; requested " + fmt(bound) : std::string()) + "; " +
                   std::to_string(tables) + (tables == 1 ? " table, " : " tables, ") +
                   std::to_string(k.report.table_bits) + " bits; over " + over;
      }
    } catch (const Error &e) {
      r.status = check::Status::Fail;
      r.reason = e.what();
    }
    out.push_back(r);
  }
  return out;
}

/// Maxout's sample values, drawn by a 64-bit LCG: ties among a few small values and ±0, now and
/// then ±inf or NaN, and dy as multiples of 1/8 in [-125, 125].
class MaxoutSampler {
public:
  explicit MaxoutSampler(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return state_ >> 33;
  }
  /// One of -3, -1, -0.5, 0, 0.5, 1, 2, 3, -0; one draw in `specials` also ±inf or NaN.
  long double pooled(std::uint64_t specials) {
    static constexpr long double pool[] = {-3, -1, -0.5L, 0,        0.5L,      1,
                                           2,  3,  -0.0L, INFINITY, -INFINITY, NAN};
    const std::uint64_t size = next() % specials == 0 ? 12 : 9;
    return pool[next() % size];
  }
  long double dy() {
    return static_cast<long double>(static_cast<std::int64_t>(next() % 2001) - 1000) / 8;
  }

private:
  std::uint64_t state_;
};

/// The fpga target's maxout (float, or fixed point in options.fixed_in): for k = 2 and 3, the
/// forward and backward kernels' C simulation on several shapes, with ties (values from a small
/// set) and, in float, NaNs and infinities, bit-identical to dsl::maxout_forward/backward.
std::vector<check::Record> check_fpga_maxout(const KernelCheckOptions &options,
                                             const std::string &target) {
  std::vector<check::Record> out;
  const bool fixed = options.fixed_in.has_value();
  const std::string dtype = fixed ? "q" + options.fixed_in->to_string() : "f32";
  const std::string type = fixed ? options.fixed_in->c_type() : "float";
  const std::size_t size = targets::fpga::element_size(type);
  const std::vector<std::array<std::int32_t, 3>> shapes{{2, 3, 5}, {1, 4, 1}, {3, 2, 17},
                                                        {1, 1, 1}, {0, 2, 3}, {4, 8, 1000}};
  for (Role role : {Role::Forward, Role::Backward}) {
    check::Record r;
    r.activation = "maxout";
    r.target = target;
    r.dtype = dtype;
    r.role = std::string(codegen::to_string(role));
    long points = 0, wrong = 0;
    std::string first;
    try {
      for (int k : {2, 3}) {
        codegen::hls::Options o;
        o.in = options.fixed_in;
        o.out = options.fixed_in;
        o.params["k"] = k;
        o.max_n = 1 << 16;
        const codegen::hls::Kernel kern = codegen::hls::generate_maxout(
            role, "maxout_" + std::string(codegen::short_name(role)), o);
        if (k == 2) out.push_back(FpgaExecutor::rule_record("maxout", target, dtype, kern));
        const bool bwd = role == Role::Backward;
        targets::fpga::Signature sig{kern.c_name,
                                     FpgaExecutor::upper(kern.c_name) + "_MAX_N",
                                     bwd ? std::vector<std::string>{type, type}
                                         : std::vector<std::string>{type},
                                     {type}};
        sig.in_per = bwd ? std::vector<int>{k, 1} : std::vector<int>{k};
        sig.out_per = {bwd ? k : 1};
        sig.shape_args = 3;
        const targets::fpga::Csim sim(
            {{kern.c_name + ".c", kern.source}, {kern.c_name + ".h", kern.header}},
            kern.c_name + ".c", sig);
        MaxoutSampler sample(0x243F6A8885A308D3ull + static_cast<unsigned>(k));
        auto next = [&] { return sample.next(); };
        for (const auto &shape : shapes) {
          const dsl::MaxoutShape ms{shape[0], static_cast<std::int64_t>(shape[1]) * k, shape[2], k};
          const std::size_t nin = static_cast<std::size_t>(ms.outer * ms.channels * ms.inner);
          const std::size_t nout = static_cast<std::size_t>(ms.outer * ms.groups() * ms.inner);
          // Values as long double: for fixed point, words from a small set (ties) and random.
          std::vector<long double> xs(nin), dys(nout);
          // Fixed point: words, mostly from a small set (ties), some anywhere in the format.
          const std::int64_t half = fixed ? std::int64_t{1} << (options.fixed_in->width - 1) : 0;
          auto word = [&] {
            const auto span = static_cast<std::uint64_t>(2 * half);
            return static_cast<long double>(next() % 4 == 0
                                                ? static_cast<std::int64_t>(next() % span) - half
                                                : static_cast<std::int64_t>(next() % 7) - 3);
          };
          for (auto &v : xs)
            v = fixed ? word() : sample.pooled(50);
          for (auto &v : dys)
            v = fixed ? word() : sample.dy();
          auto bytes = [&](const std::vector<long double> &v) {
            std::vector<unsigned char> b(v.size() * size);
            for (std::size_t i = 0; i < v.size(); ++i) {
              if (fixed && size == 2) {
                const auto w = static_cast<std::int16_t>(v[i]);
                std::memcpy(&b[i * 2], &w, 2);
              } else if (fixed && size == 4) {
                const auto w = static_cast<std::int32_t>(v[i]);
                std::memcpy(&b[i * 4], &w, 4);
              } else if (fixed) {
                const auto w = static_cast<std::int8_t>(v[i]);
                std::memcpy(&b[i], &w, 1);
              } else {
                const auto w = static_cast<float>(v[i]);
                std::memcpy(&b[i * 4], &w, 4);
              }
            }
            return b;
          };
          auto value = [&](const std::vector<unsigned char> &b, std::size_t i) -> long double {
            if (fixed && size == 2) {
              std::int16_t w;
              std::memcpy(&w, &b[i * 2], 2);
              return w;
            }
            if (fixed && size == 4) {
              std::int32_t w;
              std::memcpy(&w, &b[i * 4], 4);
              return w;
            }
            if (fixed) return static_cast<std::int8_t>(b[i]);
            float w;
            std::memcpy(&w, &b[i * 4], 4);
            return w;
          };
          std::vector<std::vector<unsigned char>> in{bytes(xs)};
          if (bwd) in.push_back(bytes(dys));
          const auto res =
              sim.run(in, static_cast<std::int64_t>(nout), {shape[0], shape[1], shape[2]});
          std::vector<long double> want(bwd ? nin : nout);
          if (bwd)
            dsl::maxout_backward<long double>(xs, dys, want, ms);
          else
            dsl::maxout_forward<long double>(xs, want, ms);
          for (std::size_t i = 0; i < want.size(); ++i) {
            const long double got = value(res[0], i);
            ++points;
            const bool same = (std::isnan(got) && std::isnan(want[i])) ||
                              (got == want[i] && std::signbit(got) == std::signbit(want[i]));
            if (!same && wrong++ == 0)
              first = "k=" + std::to_string(k) + " shape (" + std::to_string(shape[0]) + ", " +
                      std::to_string(shape[1]) + ", " + std::to_string(shape[2]) + ") element " +
                      std::to_string(i) + ": " + fmt(got) + " vs " + fmt(want[i]);
          }
        }
      }
      r.points = points;
      r.status = wrong ? check::Status::Fail : check::Status::Pass;
      r.reason = wrong
                     ? std::to_string(wrong) + " elements differ from the reference, first " + first
                     : "bit-identical to the reference (k = 2, 3; 6 shapes; ties" +
                           std::string(fixed ? ")" : ", NaN, ±inf, -0)");
    } catch (const Error &e) {
      r.status = check::Status::Fail;
      r.reason = e.what();
    }
    out.push_back(r);
  }
  return out;
}

/// Maxout's kernels (runtime/maxout.hpp: x86 in this process, ARM under qemu in one batch) for
/// k = 2, 3, 4 on random shapes (outer and inner 1 and odd among them), x from a small set (ties,
/// ±0) with NaN, ±inf and random bit patterns: bit-identical to dsl::maxout_forward/backward in
/// long double, every dtype asked for.
std::vector<check::Record> check_maxout_kernels(const KernelCheckOptions &options,
                                                const std::string &target, bool arm) {
  struct Case {
    std::size_t record; // index into `out`
    MaxoutCall call;
    std::vector<long double> want;
  };
  std::vector<check::Record> out;
  std::vector<Case> cases;
  for (DType dtype : options.dtypes)
    for (Role role : {Role::Forward, Role::Backward}) {
      if (!options.roles.empty() &&
          std::find(options.roles.begin(), options.roles.end(), role) == options.roles.end())
        continue;
      check::Record r;
      r.activation = "maxout";
      r.target = target;
      r.dtype = std::string(codegen::to_string(dtype));
      r.role = std::string(codegen::to_string(role));
      out.push_back(r);
      MaxoutSampler sample(0x9E3779B97F4A7C15ull ^ static_cast<unsigned>(dtype));
      auto next = [&] { return sample.next(); };
      const int bytes = codegen::bytes_of(dtype);
      for (int k : {2, 3, 4})
        for (int trial = 0; trial < 12; ++trial) {
          static const std::int64_t inners[] = {1, 1, 2, 3, 7, 16, 17, 33, 64, 101};
          const std::int64_t outer = 1 + static_cast<std::int64_t>(next() % 4);
          const std::int64_t groups = 1 + static_cast<std::int64_t>(next() % 9);
          const std::int64_t inner =
              trial < 10 ? inners[trial] : 1 + static_cast<std::int64_t>(next() % 200);
          const dsl::MaxoutShape ms{outer, groups * k, inner, k};
          const auto nin = static_cast<std::size_t>(outer * groups * k * inner);
          const auto nout = static_cast<std::size_t>(outer * groups * inner);
          Buffer x(dtype, nin), dy(dtype, nout);
          for (std::size_t i = 0; i < nin; ++i) {
            if (next() % 8 == 0) { // any bit pattern: NaN payloads, subnormals
              const std::uint64_t b = (next() << 31) ^ next() ^ (next() << 62);
              std::memcpy(static_cast<unsigned char *>(x.data()) + i * bytes, &b,
                          static_cast<std::size_t>(bytes));
            } else {
              x.set(i, sample.pooled(16));
            }
          }
          for (std::size_t i = 0; i < nout; ++i)
            dy.set(i, next() % 32 == 0 ? -0.0L : sample.dy());
          std::vector<long double> xs(nin), dys(nout), want(role == Role::Forward ? nout : nin);
          for (std::size_t i = 0; i < nin; ++i)
            xs[i] = x.get(i);
          for (std::size_t i = 0; i < nout; ++i)
            dys[i] = dy.get(i);
          if (role == Role::Forward)
            dsl::maxout_forward<long double>(xs, want, ms);
          else
            dsl::maxout_backward<long double>(xs, dys, want, ms);
          MaxoutCall c{k, dtype, role, outer, groups * k, inner, {}, {}};
          const auto *xb = static_cast<const unsigned char *>(x.data());
          c.x.assign(xb, xb + nin * bytes);
          if (role == Role::Backward) {
            const auto *db = static_cast<const unsigned char *>(dy.data());
            c.dy.assign(db, db + nout * bytes);
          }
          cases.push_back({out.size() - 1, std::move(c), std::move(want)});
        }
    }
  std::vector<long> points(out.size()), wrong(out.size());
  std::vector<std::string> first(out.size()), failure(out.size());
  auto compare = [&](const Case &c, const std::vector<unsigned char> &got_bytes) {
    Buffer got(c.call.dtype, c.want.size());
    std::memcpy(got.data(), got_bytes.data(), got_bytes.size());
    for (std::size_t i = 0; i < c.want.size(); ++i) {
      const long double g = got.get(i), w = c.want[i];
      ++points[c.record];
      const bool same =
          (std::isnan(g) && std::isnan(w)) || (g == w && std::signbit(g) == std::signbit(w));
      if (!same && wrong[c.record]++ == 0)
        first[c.record] = "k=" + std::to_string(c.call.k) + " shape (" +
                          std::to_string(c.call.outer) + ", " + std::to_string(c.call.channels) +
                          ", " + std::to_string(c.call.inner) + ") element " + std::to_string(i) +
                          ": " + fmt(g) + " vs " + fmt(w);
    }
  };
  if (arm) {
    try {
      std::vector<MaxoutCall> calls;
      for (const Case &c : cases)
        calls.push_back(c.call);
      const auto results = run_maxout_cross(target, calls);
      for (std::size_t i = 0; i < cases.size(); ++i)
        compare(cases[i], results[i]);
    } catch (const Error &e) {
      for (auto &f : failure)
        f = e.what();
    }
  } else {
    for (const Case &c : cases) {
      if (!failure[c.record].empty()) continue;
      try {
        const MaxoutKernel m = jit_maxout(c.call.k, {c.call.dtype, target, options.schedule});
        const std::size_t bytes = static_cast<std::size_t>(codegen::bytes_of(c.call.dtype));
        std::vector<unsigned char> res(c.want.size() * bytes);
        if (c.call.role == Role::Forward)
          m.forward(static_cast<const void *>(c.call.x.data()), static_cast<void *>(res.data()),
                    c.call.outer, c.call.channels, c.call.inner);
        else
          m.backward(static_cast<const void *>(c.call.x.data()),
                     static_cast<const void *>(c.call.dy.data()), static_cast<void *>(res.data()),
                     c.call.outer, c.call.channels, c.call.inner);
        compare(c, res);
      } catch (const Error &e) {
        failure[c.record] = e.what();
      }
    }
  }
  for (std::size_t r = 0; r < out.size(); ++r) {
    out[r].points = points[r];
    if (!failure[r].empty()) {
      out[r].status = check::Status::Fail;
      out[r].reason = failure[r];
    } else if (wrong[r]) {
      out[r].status = check::Status::Fail;
      out[r].reason =
          std::to_string(wrong[r]) + " elements differ from the reference, first " + first[r];
    } else {
      out[r].status = check::Status::Pass;
      out[r].reason = std::string("bit-identical to the reference (k = 2, 3, 4; 12 shapes each; "
                                  "ties, NaN, ±inf, ±0") +
                      (arm ? "; under qemu)" : ")");
    }
  }
  return out;
}

struct Outcome {
  double max_ulp = 0;
  long double worst_at = 0;
  long points = 0;
  long failures = 0;
  long excluded = 0; // gated pairs outside the limit scheme's domain (see limit_comparable)
  long widened = 0;  // f64 points beyond the ULP bound, within the formula's own bound
  double max_ulp_unwidened = 0; // max ulp over the points the ULP bound itself admits
  double max_rel_grad = 0;
  std::string first;
  void fail(const std::string &what) {
    if (failures++ == 0) first = what;
  }
};

/// What one record measures: which kernel output against which reference.
struct Case {
  Role role;             // Forward, Backward or BackwardFromOutput
  int wrt = 0;           // Backward: the input differentiated by (0 = x, 1 = g)
  ir::Expr formula;      // evaluated at the kernel's inputs: f, ∂f/∂x|g, or g(y)
  bool piecewise_linear; // exact: equal to the formula in the compute type
};

/// The inputs of one run: x (or y for backward_from_output) and, for gated activations, g.
struct Points {
  std::vector<long double> a, g;
  std::size_t size() const { return a.size(); }
};

Points points_for(const check::Subject &s, Role role, DType dtype,
                  const std::vector<long double> &xs, bool gated) {
  Points p;
  if (role == Role::BackwardFromOutput) {
    // y = f(x) correctly rounded to the dtype (the long-double reference, stored): the kind of
    // input a framework keeps from its forward pass.
    check::Probe f{nullptr, {0}, {}, 0, false};
    const ir::Program prog(s.expr);
    f.program = &prog;
    for (const auto &info : prog.params())
      f.params.push_back(s.params.at(info.name));
    for (long double x : xs)
      p.a.push_back(std::isnan(x) ? x : round_to(check::reference_value(f, x), dtype));
    return p;
  }
  p.a = xs;
  if (gated) {
    // Pairs: every sample value against a scrambled partner, plus every special pair.
    const std::size_t n = xs.size();
    for (std::size_t i = 0; i < n; ++i)
      p.g.push_back(xs[(i * 2654435761u + 12345) % n]);
    const std::vector<long double> sp = specials({}, dtype);
    for (long double x : sp)
      for (long double g : sp) {
        p.a.push_back(x);
        p.g.push_back(g);
      }
  }
  return p;
}

/// At an infinite input a kernel evaluates at a large stand-in (2^80 for an input the gated
/// family is linear in) and reads results beyond 2^30 as infinite (pipeline.hpp). For a gated
/// pair that scheme gives the limit when the other input is finite and moderate: 0, or a
/// magnitude in [2^-40, 16]. Beyond, a gate's factor (s'(g) = 1e-7 at 16, e^-g/... further out)
/// may fall below the threshold's margin, and the infinite input times it reads as finite: a
/// documented limit of the scheme, not compared here.
bool limit_comparable(long double x, long double g) {
  if (std::isinf(x) && std::isinf(g)) return false;
  const long double other = std::fabs(std::isinf(x) ? g : x);
  return other == 0 || (other >= 0x1p-40L && other <= 16);
}

Outcome measure(const check::Subject &s, const Case &c, DType dtype, const Callable &kernel,
                const Points &pts) {
  Outcome o;
  const std::size_t n = pts.size();
  const bool gated = !pts.g.empty();
  const ir::Program df(c.formula);
  std::vector<long double> pl;
  for (const auto &info : df.params())
    pl.push_back(s.params.at(info.name));
  const std::vector<float> pf(pl.begin(), pl.end());
  const std::vector<double> pd(pl.begin(), pl.end());

  Buffer a(dtype, n), g(dtype, gated ? n : 0), dy(dtype, n), out0(dtype, n), out1(dtype, n);
  for (std::size_t i = 0; i < n; ++i) {
    a.set(i, pts.a[i]);
    if (gated) g.set(i, pts.g[i]);
    dy.set(i, i % 3 == 0 ? -0.75L : 1.25L);
  }
  std::vector<const void *> in{a.data()};
  if (gated) in.push_back(g.data());
  if (c.role != Role::Forward) in.push_back(dy.data());
  std::vector<void *> outs{out0.data()};
  if (kernel.outputs.size() > 1) outs.push_back(out1.data());
  kernel.run(in, outs, static_cast<std::int64_t>(n));
  Buffer &out = c.wrt == 0 ? out0 : out1;

  const Format fm = format(dtype);
  const double bound = c.role == Role::Forward ? kForwardUlp : kBackwardUlp;
  std::optional<FormulaErrorBound> f64_bound;
  if (dtype == DType::F64 && !c.piecewise_linear) f64_bound.emplace(c.formula, s.params);
  // Kernels that evaluate node by node in f32 (fpga float, MLIR), for f32 storage and for the
  // f16/bf16 storage that MLIR kernels compute in f32: the f32 formula bound, plus the rounding
  // to the storage type (in `allowed` below).
  if (dtype != DType::F64 && kernel.formula_f32 && !c.piecewise_linear)
    f64_bound.emplace(c.formula, s.params, DType::F32);
  for (std::size_t i = 0; i < n; ++i) {
    const long double xi = a.get(i), gi = gated ? g.get(i) : 0, got = out.get(i);
    const long double scale = c.role == Role::Forward ? 1.0L : dy.get(i);
    ++o.points;
    if (std::isnan(xi) || std::isnan(gi)) {
      if (!std::isnan(got)) o.fail("f(NaN) = " + fmt(got) + ", not NaN");
      continue;
    }
    // A gated pair with an infinite input is compared where pipeline.hpp's limit scheme is
    // defined (the other input moderate); elsewhere only NaN handling (above) is checked.
    if (gated && (std::isinf(xi) || std::isinf(gi)) && !limit_comparable(xi, gi)) {
      ++o.excluded;
      continue;
    }
    const bool along_g = gated && std::isinf(gi);
    const check::Probe probe{&df, {xi, gi}, pl, along_g ? 1 : 0, false};
    const long double exact = scale * check::reference_value(probe, along_g ? gi : xi);
    const double err = ulp_error(got, exact, dtype);
    const std::string where = gated ? "(" + fmt(xi) + ", " + fmt(gi) + ")" : fmt(xi);
    if (c.piecewise_linear && std::isfinite(xi) && std::isfinite(gi)) {
      // Exact: equal to the same formula evaluated in the compute type.
      const long double same =
          dtype == DType::F64
              ? static_cast<long double>(
                    static_cast<double>(scale) *
                    df.eval<double>(
                        std::vector<double>{static_cast<double>(xi), static_cast<double>(gi)}, pd))
              : static_cast<long double>(
                    static_cast<float>(scale) *
                    df.eval<float>(
                        std::vector<float>{static_cast<float>(xi), static_cast<float>(gi)}, pf));
      const long double stored = round_to(same, dtype);
      if (!(stored == got || (std::isnan(stored) && std::isnan(got))))
        o.fail("f" + (gated ? where : "(" + where + ")") + " = " + fmt(got) +
               ", the formula in the compute type gives " + fmt(stored));
    } else {
      // Backward may instead be absolutely close where the true value is tiny (ACTIVATIONS.md).
      const long double abs_ok = std::ldexp(1.0L, -fm.precision) * std::max(1.0L, std::fabs(scale));
      const bool tiny = std::fabs(exact) < std::ldexp(1.0L, 4 - fm.precision);
      bool ok =
          err <= bound || (c.role != Role::Forward && tiny && std::fabs(got - exact) <= abs_ok);
      if (!ok && f64_bound && std::isfinite(xi) && std::isfinite(gi) && !std::isnan(got)) {
        // Within what evaluating the formula in the compute type can guarantee: f64 kernels, and
        // those that compute node by node in f32 (see FormulaErrorBound).
        const long double allowed = std::fabs(scale) * f64_bound->at(xi, gi) +
                                    std::ldexp(1.0L, -fm.precision) * std::fabs(exact);
        // An intermediate beyond DBL_MAX makes the bound infinite: then only the overflow of the
        // result itself (an infinity of the exact value's sign) is admitted, nothing else.
        const bool within = std::isfinite(allowed)
                                ? std::fabs(got - exact) <= allowed
                                : std::isinf(got) && std::signbit(got) == std::signbit(exact);
        if (within) {
          ok = true;
          ++o.widened;
        }
      }
      if (!ok)
        o.fail("at " + std::string(gated ? "(x, g)=" : "x=") + where + ": " + fmt(got) + " vs " +
               fmt(exact) + " (" + fmt(err) + " ulp)");
    }
    if (err <= bound) o.max_ulp_unwidened = std::max(o.max_ulp_unwidened, err);
    if (err > o.max_ulp && std::isfinite(err)) {
      o.max_ulp = err;
      o.worst_at = xi;
    }
  }
  return o;
}

/// The compiled backward kernel against central differences of the long-double forward formula
/// (independent of the symbolic derivative): relative error on the stated point set of
/// check::point_set, away from kinks and where |f'| >= 2^-10.
double gradient_check(const check::Subject &s, DType dtype, const Callable &kernel,
                      const std::vector<long double> &kinks, long *points) {
  std::vector<long double> xs;
  for (long double x : check::point_set(kinks))
    xs.push_back(round_to(x, dtype));
  const std::size_t n = xs.size();
  Buffer x(dtype, n), dy(dtype, n), dx(dtype, n);
  for (std::size_t i = 0; i < n; ++i) {
    x.set(i, xs[i]);
    dy.set(i, 1.0L);
  }
  kernel.run({x.data(), dy.data()}, {dx.data()}, static_cast<std::int64_t>(n));
  const ir::Program f(s.expr);
  check::Probe probe{&f, {0}, {}, 0, false};
  for (const auto &info : f.params())
    probe.params.push_back(s.params.at(info.name));
  // A kernel computing node by node in f32 may be off by its formula's own f32 error bound
  // (where f' cancels): the difference beyond that bound is what is compared.
  std::optional<FormulaErrorBound> bound;
  if (kernel.formula_f32)
    bound.emplace(ir::differentiate(s.expr, ir::input(0)), s.params, DType::F32);
  double worst = 0;
  *points = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const check::Difference d = check::central_difference(probe, xs[i]);
    if (d.crosses_kink || !std::isfinite(d.value) || std::fabs(d.value) < 0x1p-10L) continue;
    ++*points;
    long double off = std::fabs(dx.get(i) - d.value);
    if (bound) off = std::max(0.0L, off - bound->at(xs[i]));
    const long double rel = off / std::fabs(d.value);
    if (!(rel <= worst)) worst = std::isnan(rel) ? INFINITY : static_cast<double>(rel); // NaN fails
  }
  return worst;
}

/// param_grad kernels: Σ dy·∂f/∂p over the stated point set (check::point_set: a grid on
/// [-10, 10], points near ±20, ±88 and the kinks; dy alternating -0.75 and 1.25), against the
/// same sum in long double. The kernel's terms are each within the backward bound and it sums in
/// f64, so the sum may differ by 8 ulp of the dtype times Σ|terms| (the sum can cancel) plus the
/// final rounding to the dtype.
std::vector<check::Record> check_param_grad(const check::Subject &s, DType dtype,
                                            const std::string &target,
                                            const std::vector<long double> &kinks,
                                            Executor &executor) {
  std::vector<check::Record> out;
  const Callable k = executor.kernel(Role::ParamGrad, dtype);
  std::vector<long double> xs;
  for (long double x : check::point_set(kinks))
    xs.push_back(round_to(x, dtype));
  const std::size_t n = xs.size();
  Buffer x(dtype, n), dy(dtype, n);
  for (std::size_t i = 0; i < n; ++i) {
    x.set(i, xs[i]);
    dy.set(i, i % 3 == 0 ? -0.75L : 1.25L);
  }
  std::vector<Buffer> grads(k.outputs.size(), Buffer(dtype, 1));
  std::vector<void *> outs;
  for (auto &g : grads)
    outs.push_back(g.data());
  k.run({x.data(), dy.data()}, outs, static_cast<std::int64_t>(n));
  const Format fm = format(dtype);
  for (std::size_t o = 0; o < k.outputs.size(); ++o) {
    const std::string param = k.outputs[o].substr(1); // d<param>
    const ir::Program dp(ir::differentiate(s.expr, ir::param(param)));
    check::Probe probe{&dp, {0}, {}, 0, false};
    for (const auto &info : dp.params())
      probe.params.push_back(s.params.at(info.name));
    long double sum = 0, magnitude = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const long double term = dy.get(i) * check::reference_value(probe, x.get(i));
      sum += term;
      magnitude += std::fabs(term);
    }
    const long double got = grads[o].get(0);
    const long double allowed = kBackwardUlp * std::ldexp(1.0L, 1 - fm.precision) * magnitude +
                                std::ldexp(1.0L, -fm.precision) * std::fabs(sum);
    check::Record r;
    r.activation = s.name;
    r.role = "param_grad:" + param;
    r.target = target;
    r.dtype = std::string(codegen::to_string(dtype));
    r.points = static_cast<long>(n);
    r.max_ulp = ulp_error(got, sum, dtype);
    const bool ok = std::fabs(got - sum) <= allowed;
    r.status = ok ? check::Status::Pass : check::Status::Fail;
    r.reason = (ok ? "sum " : "sum off: ") + fmt(got) + " vs " + fmt(sum) + " (allowed " +
               fmt(allowed) + " from sum|terms| " + fmt(magnitude) + ")";
    out.push_back(r);
  }
  return out;
}

} // namespace

double ulp_error(long double value, long double exact, DType dtype) {
  const Format f = format(dtype);
  if (std::isnan(value) || std::isnan(exact))
    return std::isnan(value) && std::isnan(exact) ? 0 : std::numeric_limits<double>::infinity();
  // Beyond max + half an ulp of max, rounding overflows: only the infinity of that sign is right.
  const long double overflow = f.max + std::ldexp(1.0L, std::ilogb(f.max) - f.precision);
  if (std::fabs(exact) >= overflow)
    return std::isinf(value) && std::signbit(value) == std::signbit(exact)
               ? 0
               : std::numeric_limits<double>::infinity();
  if (value == exact) return 0;
  if (std::isinf(value) || std::isinf(exact)) return std::numeric_limits<double>::infinity();
  int e = 0;
  std::frexp(std::fabs(exact), &e);
  const long double ulp = std::ldexp(1.0L, std::max(e, f.min_exponent) - f.precision);
  return static_cast<double>(std::fabs(value - exact) / ulp);
}

std::vector<check::Record> check_kernels(const check::Subject &s,
                                         const KernelCheckOptions &options) {
  std::vector<check::Record> out;
  const bool pl = s.entry && s.entry->info.family == dsl::Family::PiecewiseLinear;
  const auto kinks = kinks_of(s);
  std::string target_name = options.target;
  bool runnable = true, cross_target = false, fpga = false;
  const bool mlir_backend = options.backend == "mlir";
  if (!mlir_backend && options.backend != "halide")
    throw Error("the backend is halide or mlir, not '" + options.backend + "'");
  std::string why_not;
  try {
    const targets::TargetInfo info = targets::resolve(options.target);
    target_name = info.name;
    if (mlir_backend && info.family != targets::Family::X86) {
      why_not = "the MLIR backend builds x86 CPU kernels (its PTX is checked by ptxas)";
    } else if (mlir_backend && !targets::x86::cpu_supports(target_name)) {
      why_not = "this CPU cannot run " + target_name;
    } else if (mlir_backend) {
      why_not = mlir::problem();
    } else if (info.gpu) {
      why_not = targets::cuda::driver_problem();
    } else if (info.family == targets::Family::Fpga) {
      fpga = true;
      if (targets::find_program("cc").empty())
        why_not = "no C compiler (cc) for the C simulation: apt-get install gcc";
    } else if (info.family == targets::Family::Arm) {
      cross_target = true;
      why_not = targets::arm::cross_tools().problem;
    } else if (!targets::x86::cpu_supports(target_name)) {
      why_not = "this CPU cannot run " + target_name;
    }
    runnable = why_not.empty();
  } catch (const Error &e) {
    runnable = false;
    why_not = e.what();
  }
  const bool gated = s.expr.defined() && ir::count_inputs(s.expr) > 1;
  if (fpga && options.fixed_in && s.expr.defined() && runnable)
    return check_fpga_fixed(s, options, target_name);
  if (fpga && !s.expr.defined() && s.entry && s.entry->shape == dsl::Shape::Maxout && runnable)
    return check_fpga_maxout(options, target_name);
  if (!fpga && !mlir_backend && !s.expr.defined() && s.entry &&
      s.entry->shape == dsl::Shape::Maxout && runnable &&
      (cross_target || targets::resolve(target_name).family == targets::Family::X86))
    return check_maxout_kernels(options, target_name, cross_target);
  // The records of one dtype: forward, backward (and backward_g), backward_from_output where f'
  // is a function of f's output.
  std::vector<Case> cases;
  if (s.expr.defined()) {
    cases.push_back({Role::Forward, 0, s.expr, pl});
    cases.push_back({Role::Backward, 0, ir::differentiate(s.expr, ir::input(0)), pl});
    if (gated) cases.push_back({Role::Backward, 1, ir::differentiate(s.expr, ir::input(1)), pl});
    if (!gated && !fpga && dsl::find_from_output(s.expr))
      cases.push_back({Role::BackwardFromOutput, 0, dsl::derivative_from_output(s.expr), pl});
  }
  auto wanted = [&](Role role) {
    return options.roles.empty() ||
           std::find(options.roles.begin(), options.roles.end(), role) != options.roles.end();
  };
  std::erase_if(cases, [&](const Case &c) { return !wanted(c.role); });
  const bool with_param_grad = wanted(Role::ParamGrad);
  auto record = [&](Role role, int wrt, DType dtype) {
    check::Record r;
    r.activation = s.name;
    r.role = std::string(codegen::to_string(role)) + (wrt ? "_g" : "");
    r.target = mlir_backend ? "mlir/" + target_name : target_name;
    r.dtype = std::string(codegen::to_string(dtype));
    return r;
  };
  std::unique_ptr<Executor> executor;
  if (s.expr.defined() && runnable && !options.dtypes.empty()) {
    std::vector<Role> roles;
    for (const Case &c : cases)
      if (std::find(roles.begin(), roles.end(), c.role) == roles.end()) roles.push_back(c.role);
    if (!gated && with_param_grad && !ir::collect_params(s.expr).empty())
      roles.push_back(Role::ParamGrad);
    if (cross_target || mlir_backend) {
      try {
        if (cross_target)
          executor = std::make_unique<CrossExecutor>(s, target_name, roles, options.dtypes);
        else
          executor = std::make_unique<MlirExecutor>(s, target_name, roles, options.dtypes);
      } catch (const Error &e) {
        // Generation, the cross link, the emulator or the MLIR compilation failed: every record
        // says so.
        for (DType dtype : options.dtypes)
          for (const Case &c : cases) {
            check::Record r = record(c.role, c.wrt, dtype);
            r.status = check::Status::Fail;
            r.reason = e.what();
            out.push_back(r);
          }
        return out;
      }
    } else if (fpga) {
      executor = std::make_unique<FpgaExecutor>(s);
    } else {
      executor = std::make_unique<JitExecutor>(s, target_name, options.schedule);
    }
  }
  // A dtype this target or backend does not build: forward and backward records saying why.
  auto skip = [&](DType dtype, const std::string &why) {
    for (Role role : {Role::Forward, Role::Backward}) {
      check::Record r = record(role, 0, dtype);
      r.status = check::Status::Skip;
      r.reason = why;
      out.push_back(r);
    }
  };
  for (DType dtype : options.dtypes) {
    if (fpga && s.expr.defined() && runnable && (dtype != DType::F32 || options.fixed_in)) {
      skip(dtype, "the fpga target computes in f32 or, with --fixed W.F, in fixed point");
      continue;
    }
    if (mlir_backend && s.expr.defined() && runnable && dtype == DType::F64) {
      skip(dtype, "the MLIR backend computes in f32 (f32, f16, bf16 storage)");
      continue;
    }
    if (!s.expr.defined() || !runnable) {
      for (Role role : {Role::Forward, Role::Backward}) {
        check::Record r = record(role, 0, dtype);
        r.status = check::Status::Skip;
        r.reason = !runnable ? why_not : "not elementwise: no kernel yet";
        out.push_back(r);
      }
      continue;
    }
    const std::vector<long double> xs = sample(dtype, options.log2_stride, kinks);
    for (const Case &c : cases) {
      check::Record r = record(c.role, c.wrt, dtype);
      Callable k;
      Outcome o;
      try {
        k = executor->kernel(c.role, dtype);
        o = measure(s, c, dtype, k, points_for(s, c.role, dtype, xs, gated));
      } catch (const Error &e) { // a kernel that does not compile, or an emulator that died
        r.status = check::Status::Fail;
        r.reason = e.what();
        out.push_back(r);
        continue;
      }
      r.status = o.failures ? check::Status::Fail : check::Status::Pass;
      r.max_ulp = o.max_ulp;
      r.points = o.points;
      if (o.failures) {
        r.reason = std::to_string(o.failures) + " failed, first " + o.first;
      } else {
        r.reason = "max ulp at x=" + fmt(o.worst_at);
        if (c.role == Role::BackwardFromOutput) r.reason = "against dy*g(y); " + r.reason;
        if (c.piecewise_linear) r.reason += "; equal to the formula in the compute type";
        if (o.excluded)
          r.reason += "; " + std::to_string(o.excluded) +
                      " pairs with an infinite input and an extreme partner not compared";
        if (o.widened)
          r.reason += "; " + std::to_string(o.widened) +
                      " points beyond the ulp bound but within the formula's own error bound in " +
                      std::string(codegen::to_string(dtype)) + "" + " (elsewhere max " +
                      fmt(o.max_ulp_unwidened) + " ulp)";
      }
      if (c.role == Role::Backward && !gated && !c.piecewise_linear &&
          r.status == check::Status::Pass) {
        long gpoints = 0;
        const double rel = gradient_check(s, dtype, k, kinks, &gpoints);
        r.max_rel_grad_err = rel;
        // The kernel's own rounding (8 ulp of its dtype); for f64 the long-double difference's
        // own error (about 1e-11 relative) dominates, so 1e-9 still exposes a wrong derivative.
        const double tolerance = std::max(16.0 * std::ldexp(1.0, -format(dtype).precision), 1e-9);
        if (rel > tolerance) {
          r.status = check::Status::Fail;
          r.reason = "gradient check: relative error " + fmt(rel) + " against central differences";
        }
      }
      out.push_back(r);
    }
    if (!gated && !fpga && with_param_grad && !ir::collect_params(s.expr).empty()) {
      const auto pg = check_param_grad(s, dtype, mlir_backend ? "mlir/" + target_name : target_name,
                                       kinks, *executor);
      out.insert(out.end(), pg.begin(), pg.end());
    }
  }
  if (auto *fpga_executor = dynamic_cast<FpgaExecutor *>(executor.get())) {
    const auto rules = fpga_executor->rules(target_name);
    out.insert(out.end(), rules.begin(), rules.end());
  }
  if (auto *cross_executor = dynamic_cast<CrossExecutor *>(executor.get())) {
    const auto audits = cross_executor->audit(s.name);
    out.insert(out.end(), audits.begin(), audits.end());
  }
  return out;
}

} // namespace actforge::runtime
