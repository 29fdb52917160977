// build_pipeline(): roles, layouts, dtypes, the infinity/NaN guards and the schedule.
#include "actforge/codegen/halide/pipeline.hpp"

#include "actforge/codegen/guards.hpp"
#include "actforge/codegen/halide/lower.hpp"
#include "actforge/dsl/from_output.hpp"
#include "actforge/dsl/philox.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

namespace actforge::codegen::halide {

Halide::Type storage_type(DType d) {
  switch (d) {
  case DType::F32: return Halide::Float(32);
  case DType::F64: return Halide::Float(64);
  case DType::F16: return Halide::Float(16);
  case DType::BF16: return Halide::BFloat(16);
  }
  throw Error("internal error: unknown dtype");
}

int dimensions(Extent e, Layout l) {
  if (e == Extent::Pairs) return 3;
  if (e == Extent::Elements && l == Layout::Halves) return 2;
  return e == Extent::Elements && l == Layout::Channels ? 3 : 1;
}

std::vector<Halide::Argument> Pipeline::arguments() const {
  std::vector<Halide::Argument> args;
  for (const auto &b : buffers)
    args.push_back(b);
  for (const auto &p : params_f32)
    args.push_back(p);
  for (const auto &p : params_f64)
    args.push_back(p);
  if (uniform_g) {
    args.push_back(seed);
    args.push_back(offset);
  }
  return args;
}

Halide::Expr Pipeline::param(std::size_t index) const {
  return params_f64.empty() ? Halide::Expr(params_f32.at(index))
                            : Halide::Expr(params_f64.at(index));
}

void Pipeline::set_param(Halide::ParamMap &map, std::size_t index, double value) const {
  if (params_f64.empty())
    map.set(params_f32.at(index), static_cast<float>(value));
  else
    map.set(params_f64.at(index), value);
}

namespace {

// The infinity guard: inputs at ±inf evaluated at stand-ins, results read back by limit().
// Inactive (inputs as they are, limit() the identity) where guards::exact_at_infinity holds.
struct Guard {
  Halide::Type type;
  bool active;
  Halide::Expr any_inf;
  std::vector<Halide::Expr> clamped; // inputs with ±inf replaced by ±stand-in

  Halide::Expr constant(double v) const { return Halide::Internal::make_const(type, v); }

  // A result at a stand-in for infinity that is beyond `big` is read as the infinite limit.
  // Likewise a result below `tiny` is read as a zero limit (1/x² at the stand-in is 2^-80, f64
  // 2^-600); `tiny` stays far below any constant a user would give (a slope of 1e-12 is 2^-40).
  // Written as one select whose conditions carry any_inf, and with ±inf built from v's sign
  // bit: the lanes without an infinite input keep v through a couple of masked operations.
  Halide::Expr limit(const Halide::Expr &v) const {
    if (!active) return v;
    const double big = type.bits() == 64 ? std::ldexp(1.0, 200) : std::ldexp(1.0, 30);
    const double tiny = type.bits() == 64 ? std::ldexp(1.0, -400) : std::ldexp(1.0, -60);
    const Halide::Expr a = Halide::abs(v);
    // NaN first: Halide's simplifier may rewrite a >= big as !(a < big), which NaN satisfies
    // (an infinite input beside a NaN one must still give NaN).
    return Halide::select(Halide::is_nan(v), v, any_inf && a >= constant(big),
                          with_sign_of(v, std::numeric_limits<double>::infinity()),
                          any_inf && a <= constant(tiny), v * constant(0), v);
  }

  // The constant c (> 0) with the sign bit of v: one bitwise operation, no compare and blend.
  Halide::Expr with_sign_of(const Halide::Expr &v, double c) const {
    const Halide::Type bits = Halide::UInt(type.bits());
    const Halide::Expr sign =
        Halide::Internal::make_const(bits, std::uint64_t{1} << (type.bits() - 1));
    return Halide::reinterpret(type, (Halide::reinterpret(bits, v) & sign) |
                                         Halide::reinterpret(bits, constant(c)));
  }
};

// Input k at ±inf is evaluated at ±2^stand_in[k] (guards::stand_in_exponent: 2^80 in f32 where
// the expressions are at most linear in it, else 2^40, so that x³ does not overflow on the way;
// f64 2^300): far enough for every limit of the library.
Guard make_guard(const std::vector<Halide::Expr> &inputs, const std::vector<int> &stand_in,
                 Halide::Type type, bool active) {
  Guard g{type, active, Halide::Internal::const_false(), {}};
  if (!active) {
    g.clamped = inputs;
    return g;
  }
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const Halide::Expr &in = inputs[k];
    const double max = std::ldexp(1.0, stand_in[k]);
    g.any_inf = g.any_inf || Halide::is_inf(in);
    g.clamped.push_back(Halide::select(Halide::is_inf(in), g.with_sign_of(in, max), in));
  }
  return g;
}

// The value to store: NaN where an input is NaN. Halide 14's conversion to 16-bit floats turns
// a NaN into an infinity, so for those the NaN is written as its bit pattern.
Halide::Expr store_value(Halide::Type store, const Halide::Expr &is_nan, const Halide::Expr &v) {
  const Halide::Expr nan =
      Halide::Internal::make_const(v.type(), std::numeric_limits<double>::quiet_NaN());
  if (store.bits() == 16) {
    const Halide::Expr nan_bits =
        Halide::cast(Halide::UInt(16), store.is_bfloat() ? 0x7fc0 : 0x7e00);
    const Halide::Expr bits = Halide::reinterpret(Halide::UInt(16), Halide::cast(store, v));
    return Halide::reinterpret(store, Halide::select(is_nan || Halide::is_nan(v), nan_bits, bits));
  }
  return Halide::cast(store, Halide::select(is_nan, nan, v));
}

// bf16 as bits, for GPU code: LLVM 14's PTX back end cannot convert to or from bfloat (it
// crashes), so GPU kernels read and write bf16 arrays as uint16 and convert with integer
// arithmetic. f32 from bf16 is exact (a shift); the way back rounds to nearest even, from f64
// through f32 rounded to odd (which leaves the final rounding correct, not double).
Halide::Expr bf16_from_bits(const Halide::Expr &bits) {
  return Halide::reinterpret(Halide::Float(32), Halide::cast(Halide::UInt(32), bits) << 16);
}
// f64 to f32 rounded to odd (inexact results get their last bit set): a second rounding, to a
// format of at most 22 significant bits (f16, bf16), is then as if from f64 directly.
Halide::Expr f32_round_to_odd(const Halide::Expr &v) {
  const Halide::Expr r = Halide::cast(Halide::Float(32), v);
  const Halide::Expr rb = Halide::reinterpret(Halide::UInt(32), r);
  const Halide::Expr back = Halide::cast(Halide::Float(64), r);
  const Halide::Expr toward_zero = Halide::select(Halide::abs(back) > Halide::abs(v), rb - 1, rb);
  return Halide::reinterpret(Halide::Float(32), Halide::select(back != v, toward_zero | 1, rb));
}

// f32 from f16 bits, exactly, with integer and f32 vector operations only: the magnitude's bits
// shifted into an f32 and scaled by 2^112 (subnormals included), all-ones exponents to inf/NaN,
// then the sign. Used where the compute type is f64: LLVM turns a direct f16 -> f64 conversion
// into one scalar fcvt per lane on AArch64.
Halide::Expr f32_from_f16_bits(const Halide::Expr &bits) {
  const Halide::Expr h = Halide::cast(Halide::UInt(32), bits);
  const Halide::Expr magnitude = (h & 0x7fff) << 13;
  const Halide::Expr finite = Halide::reinterpret(Halide::Float(32), magnitude) *
                              Halide::Internal::make_const(Halide::Float(32), 0x1p112);
  const Halide::Expr special = Halide::reinterpret(Halide::Float(32), magnitude | 0x7f800000);
  const Halide::Expr abs = Halide::select((h & 0x7fff) >= 0x7c00, special, finite);
  return Halide::reinterpret(Halide::Float(32),
                             Halide::reinterpret(Halide::UInt(32), abs) | ((h & 0x8000) << 16));
}

Halide::Expr bf16_bits(const Halide::Expr &is_nan, Halide::Expr v) {
  if (v.type().bits() == 64) v = f32_round_to_odd(v);
  const Halide::Expr b = Halide::reinterpret(Halide::UInt(32), v);
  const Halide::Expr rounded = (b + 0x7fff + ((b >> 16) & 1)) >> 16;
  return Halide::select(is_nan || Halide::is_nan(v), Halide::cast(Halide::UInt(16), 0x7fc0),
                        Halide::cast(Halide::UInt(16), rounded));
}

// Defines f(args) as one value or a Tuple; element() reads component k back either way.
void define(Halide::FuncRef ref, const std::vector<Halide::Expr> &values) {
  if (values.size() == 1)
    ref = values[0];
  else
    ref = Halide::Tuple(values);
}
Halide::Expr element(const Halide::FuncRef &ref, std::size_t k, std::size_t count) {
  return count == 1 ? Halide::Expr(ref) : Halide::Expr(ref[static_cast<int>(k)]);
}

class Builder {
public:
  // estimate > 0: no schedule, estimates over [0, estimate) (build_unscheduled_pipeline).
  Builder(const KernelSpec &spec, const Schedule &schedule, std::int64_t estimate = 0)
      : spec_(spec), schedule_(schedule), estimate_(estimate), store_(storage_type(spec.dtype)),
        compute_(compute_type(spec)), inputs_(std::max(1, ir::count_inputs(spec.expr))) {
    p_.layout = spec.layout;
    env_.type = compute_;
    // f64 arithmetic for narrower storage already leaves every rounding 2^-29 of an output ulp:
    // double-word arguments would only cost time (10-20% in the x·f(x) family's backward).
    env_.double_words = !(compute_.bits() == 64 && store_.bits() < 64);
    gpu_bf16_ = schedule_.gpu() && spec_.dtype == DType::BF16;
    cpu_f16_ = !schedule_.gpu() && spec_.dtype == DType::F16;
    env_.unfused_products = schedule_.gpu();
  }

  Pipeline build() {
    switch (spec_.role) {
    case Role::Forward: forward(); break;
    case Role::Backward: backward(); break;
    case Role::BackwardFromOutput: backward_from_output(); break;
    case Role::ParamGrad: param_grad(); break;
    }
    p_.num_outputs = static_cast<int>(p_.outputs.size());
    return std::move(p_);
  }

private:
  bool channels() const { return spec_.layout == Layout::Channels; }
  bool halves() const { return spec_.layout == Layout::Halves; }
  // The element type of buffers the kernel reads and writes elementwise, and the conversions.
  // CPU f16 arrays are read and written as uint16 bits: Halide 14 gives the masked loads of a
  // vector tail its default fast-math flags (nnan, ninf) when their type is floating point, and
  // with native f16 (arm-64-linux-fp16) LLVM then drops the NaN tests of the tail's values.
  Halide::Type buffer_type() const { return gpu_bf16_ || cpu_f16_ ? Halide::UInt(16) : store_; }
  Halide::Expr decode(const Halide::Expr &stored) const {
    // (param_grad widens its terms to f64 too.)
    if (cpu_f16_ && (compute_.bits() == 64 || spec_.role == Role::ParamGrad))
      return Halide::cast(compute_, f32_from_f16_bits(stored));
    if (cpu_f16_) return Halide::cast(compute_, Halide::reinterpret(store_, stored));
    return Halide::cast(compute_, gpu_bf16_ ? bf16_from_bits(stored) : stored);
  }
  Halide::Expr encode(const Halide::Expr &is_nan, const Halide::Expr &v) const {
    // From f64 through f32 rounded to odd: f32 -> f16 is a vector conversion, f64 -> f16 is not.
    if (cpu_f16_)
      return Halide::reinterpret(
          Halide::UInt(16),
          store_value(store_, is_nan, v.type().bits() == 64 ? f32_round_to_odd(v) : v));
    return gpu_bf16_ ? bf16_bits(is_nan, v) : store_value(store_, is_nan, v);
  }
  int width() const { return schedule_.lanes * schedule_.unroll; }

  // An Elements buffer: its value at the current element, in the compute type.
  Halide::Expr add_elements(const std::string &name) {
    p_.buffers.emplace_back(buffer_type(), dimensions(Extent::Elements, spec_.layout), name);
    p_.inputs.push_back({name, Extent::Elements});
    const Halide::ImageParam &b = p_.buffers.back();
    return decode(channels() ? b(i_, c_, o_) : halves() ? b(i_, o_) : b(i_));
  }

  // The activation's inputs x[, g] (or y for backward_from_output); g computed where generated.
  std::vector<Halide::Expr> add_activation_inputs() {
    std::vector<Halide::Expr> values;
    if (halves()) { // x and g: the halves of one buffer [d, 2, rows] (validate: both read)
      p_.buffers.emplace_back(buffer_type(), dimensions(Extent::Pairs, spec_.layout), "xg");
      p_.inputs.push_back({"xg", Extent::Pairs});
      const Halide::ImageParam &xg = p_.buffers.back();
      return {decode(xg(i_, 0, o_)), decode(xg(i_, 1, o_))};
    }
    for (int k = 0; k < inputs_; ++k)
      values.push_back(generated(k) ? uniform_g() : add_elements(std::string(ir::input_name(k))));
    return values;
  }
  // KernelSpec::uniform_g: input g is computed (never NaN or infinite), not read.
  bool generated(int k) const { return spec_.uniform_g && k == 1; }
  // The inputs with a gradient output (backward): those not generated.
  int differentiated_inputs() const { return spec_.uniform_g ? 1 : inputs_; }

  // KernelSpec::uniform_g: u = (philox4x32_10(counter, key)[0] >> 8)·2^-24 (dsl/philox.hpp),
  // counter = (index + offset) in words 0-1, key = seed. The index is the element's offset in
  // x's buffer (pipeline.hpp), a function of the pure variables: right under any split,
  // vectorisation or parallel chunk. Every round is a let, so the DAG stays linear in size.
  Halide::Expr uniform_g() {
    using Halide::Expr;
    namespace I = Halide::Internal;
    p_.uniform_g = true;
    const Halide::ImageParam &x = p_.buffers.front();
    const Expr index = channels()
                           ? Expr(i_) + Expr(c_) * x.dim(1).stride() + Expr(o_) * x.dim(2).stride()
                           : Expr(i_);
    const Halide::Type u32 = Halide::UInt(32), u64 = Halide::UInt(64);
    auto word = [&](std::uint32_t v) { return I::make_const(u32, v); };
    std::vector<std::pair<std::string, Expr>> lets; // in order; each may read the earlier ones
    auto let = [&](const std::string &name, Expr value) {
      lets.emplace_back(name, std::move(value));
      return I::Variable::make(u32, name);
    };
    auto mulhi = [&](std::uint32_t m, const Expr &v) {
      return Halide::cast(u32, (Halide::cast(u64, v) * I::make_const(u64, m)) >> 32);
    };
    const Expr off_lo = let("rng_off_lo", Halide::cast(u32, p_.offset));
    const Expr off_hi = let("rng_off_hi", Halide::cast(u32, p_.offset >> 32));
    Expr k0 = let("rng_k0_1", Halide::cast(u32, p_.seed));
    Expr k1 = let("rng_k1_1", Halide::cast(u32, p_.seed >> 32));
    Expr c0 = let("rng_c0_0", Halide::cast(u32, index) + off_lo);
    // The 64-bit counter's high word takes the carry of the low word's addition.
    Expr c1 = let("rng_c1_0", off_hi + Halide::select(c0 < off_lo, word(1), word(0)));
    Expr c2 = word(0), c3 = word(0);
    for (int r = 1; r <= dsl::philox::kRounds; ++r) {
      const std::string n = std::to_string(r);
      if (r > 1) {
        k0 = let("rng_k0_" + n, k0 + word(dsl::philox::kWeyl0));
        k1 = let("rng_k1_" + n, k1 + word(dsl::philox::kWeyl1));
      }
      const Expr d0 = let("rng_c0_" + n, mulhi(dsl::philox::kMultiplier1, c2) ^ c1 ^ k0);
      const Expr d1 = let("rng_c1_" + n, c2 * word(dsl::philox::kMultiplier1));
      const Expr d2 = let("rng_c2_" + n, mulhi(dsl::philox::kMultiplier0, c0) ^ c3 ^ k1);
      const Expr d3 = let("rng_c3_" + n, c0 * word(dsl::philox::kMultiplier0));
      c0 = d0, c1 = d1, c2 = d2, c3 = d3;
    }
    Expr u = Halide::cast(compute_, c0 >> 8) * I::make_const(compute_, 0x1p-24);
    for (auto it = lets.rbegin(); it != lets.rend(); ++it)
      u = I::Let::make(it->first, it->second, u);
    return u;
  }

  // Per-channel parameter buffers, then scalar parameters, both in name order, into env_.
  void add_params(ir::Expr e) {
    const auto infos = ir::collect_params(e);
    for (const auto &info : infos) {
      if (!is_per_channel(spec_, info.name)) continue;
      p_.buffers.emplace_back(buffer_type(), 1, info.name);
      p_.inputs.push_back({info.name, Extent::Channels});
      env_.params[info.name] = decode(p_.buffers.back()(c_));
    }
    for (const auto &info : infos) {
      if (is_per_channel(spec_, info.name)) continue;
      if (compute_.bits() == 64)
        p_.params_f64.emplace_back(info.name);
      else
        p_.params_f32.emplace_back(info.name);
      p_.param_names.push_back(info.name);
      env_.params[info.name] = p_.param(p_.param_names.size() - 1);
    }
  }

  Halide::Expr lower_guarded(const Guard &guard, ir::Expr e) {
    env_.inputs = guard.clamped;
    return guard.limit(lower(e, env_));
  }

  // The infinity guard over `values`, active unless every expression the pipeline lowers over
  // them is exact at infinity without it.
  Guard infinity_guard(const std::vector<Halide::Expr> &values,
                       const std::vector<ir::Expr> &exprs) {
    const int n = static_cast<int>(values.size());
    const bool active = std::any_of(exprs.begin(), exprs.end(), [&](ir::Expr e) {
      return !guards::exact_at_infinity(e, n, compute_.bits());
    });
    p_.guards.infinity = p_.guards.infinity || active;
    std::vector<int> stand_in;
    for (int k = 0; k < n; ++k)
      stand_in.push_back(guards::stand_in_exponent(exprs, k, compute_.bits()));
    return make_guard(values, stand_in, compute_, active);
  }

  // True where an input of `values` is NaN that e does not carry to its value by itself.
  Halide::Expr nan_test(const std::vector<Halide::Expr> &values, ir::Expr e) {
    Halide::Expr test = Halide::Internal::const_false();
    for (std::size_t k = 0; k < values.size(); ++k) {
      if (generated(static_cast<int>(k)) || guards::carries_nan(e, static_cast<int>(k))) continue;
      test = test || Halide::is_nan(values[k]);
      // (Layout::Halves: both values come from the one buffer xg.)
      const std::string &name = halves() ? p_.inputs.front().name : p_.inputs[k].name;
      if (std::find(p_.guards.nan.begin(), p_.guards.nan.end(), name) == p_.guards.nan.end())
        p_.guards.nan.push_back(name);
    }
    return test;
  }

  void forward() {
    const auto values = add_activation_inputs();
    add_params(spec_.expr);
    const Guard guard = infinity_guard(values, {spec_.expr});
    Halide::Func out("y");
    at(out) = encode(nan_test(values, spec_.expr), lower_guarded(guard, spec_.expr));
    p_.outputs.push_back({"y", Extent::Elements});
    finish_elementwise(out);
  }

  void backward() {
    const auto values = add_activation_inputs();
    const Halide::Expr dy = add_elements("dy");
    add_params(spec_.expr);
    std::vector<ir::Expr> derivatives;
    for (int k = 0; k < differentiated_inputs(); ++k)
      derivatives.push_back(ir::differentiate(spec_.expr, ir::input(k)));
    const Guard guard = infinity_guard(values, derivatives);
    std::vector<Halide::Expr> grads;
    for (int k = 0; k < differentiated_inputs(); ++k) {
      const ir::Expr &e = derivatives[static_cast<std::size_t>(k)];
      // dy · f'(x) is NaN where dy is: only the inputs need a test.
      grads.push_back(encode(nan_test(values, e), dy * lower_guarded(guard, e)));
      if (!halves()) p_.outputs.push_back({"d" + std::string(ir::input_name(k)), Extent::Elements});
    }
    if (halves()) {
      // One output [d, 2, rows]: dx in half 0, dg in half 1. The schedule unrolls h, so each
      // half's store holds only its own expression.
      Halide::Func out("dxg");
      out(i_, h_, o_) = Halide::select(h_ == 0, grads[0], grads[1]);
      p_.outputs.push_back({"dxg", Extent::Pairs});
      finish_elementwise(out);
      return;
    }
    Halide::Func out("dx");
    define(at(out), grads);
    finish_elementwise(out);
  }

  void backward_from_output() {
    const ir::Expr g = dsl::derivative_from_output(spec_.expr); // in input(0) = y
    const Halide::Expr y = add_elements("y");
    const Halide::Expr dy = add_elements("dy");
    add_params(spec_.expr);
    const Guard guard = infinity_guard({y}, {g});
    const Halide::Expr d = lower_guarded(guard, g);
    Halide::Func out("dx");
    at(out) = encode(nan_test({y}, g), dy * d);
    p_.outputs.push_back({"dx", Extent::Elements});
    finish_elementwise(out);
  }

  void param_grad();

  Halide::FuncRef at(Halide::Func &f) const {
    return channels() ? f(i_, c_, o_) : halves() ? f(i_, o_) : f(i_);
  }

  void finish_elementwise(Halide::Func &out) {
    if (estimate_ > 0) {
      set_estimates(out);
      p_.pipeline = Halide::Pipeline(out);
      return;
    }
    validate(schedule_);
    if (channels())
      schedule_channels(out);
    else if (halves())
      schedule_halves(out);
    else
      schedule_flat(out);
    p_.pipeline = Halide::Pipeline(out);
  }

  // Layout::Halves: y or dy [d, rows], or backward's dxg [d, 2, rows]. Vectors run along d, the
  // contiguous dimension; backward's halves dimension (extent 2) is unrolled inside the vector
  // loop, so one iteration loads a vector of x and of g and stores a vector of dx and of dg. A
  // parallel schedule hands each task one row.
  void schedule_halves(Halide::Func &out) {
    const bool pairs = out.dimensions() == 3;
    if (pairs) out.bound(h_, 0, 2);
    if (schedule_.gpu()) {
      // One flat index over (i, rows), scalar accesses (rows of any length fill whole warps);
      // each thread stores both halves of its element.
      Halide::Var all("all");
      if (pairs) out.reorder(h_, i_, o_).unroll(h_);
      out.fuse(i_, o_, all);
      schedule_gpu(out, all, /*vector=*/false);
      return;
    }
    if (schedule_.parallel_chunk > 0) out.parallel(o_);
    Halide::Var io("io"), ii("ii");
    out.split(i_, io, ii, width(), Halide::TailStrategy::GuardWithIf);
    if (pairs) out.reorder(ii, h_, io, o_).unroll(h_);
    out.vectorize(ii);
  }

  void schedule_flat(Halide::Func &out) {
    if (schedule_.gpu()) {
      if (schedule_.lanes > 1 && store_.bits() < 64) align_elements(out);
      schedule_gpu(out, i_);
      return;
    }
    if (schedule_.parallel_chunk > 0) {
      Halide::Var outer("io"), inner("ii");
      out.split(i_, outer, inner, static_cast<int>(schedule_.parallel_chunk),
                Halide::TailStrategy::GuardWithIf)
          .parallel(outer)
          .vectorize(inner, width(), Halide::TailStrategy::GuardWithIf);
    } else {
      out.vectorize(i_, width(), Halide::TailStrategy::GuardWithIf);
    }
  }

  // What an autoscheduler plans for: flat buffers of estimate_ elements, parameters at their
  // defaults.
  void set_estimates(Halide::Func &out) {
    const int n = static_cast<int>(estimate_);
    for (auto &b : p_.buffers)
      b.dim(0).set_estimate(0, n);
    out.set_estimate(i_, 0, n);
    std::unordered_map<std::string, double> defaults;
    for (const auto &info : ir::collect_params(spec_.expr))
      defaults[info.name] = info.default_value ? static_cast<double>(*info.default_value) : 1.0;
    for (std::size_t k = 0; k < p_.params_f32.size(); ++k)
      p_.params_f32[k].set_estimate(static_cast<float>(defaults.at(p_.param_names[k])));
    for (std::size_t k = 0; k < p_.params_f64.size(); ++k)
      p_.params_f64[k].set_estimate(defaults.at(p_.param_names[k]));
    if (p_.uniform_g) {
      p_.seed.set_estimate(0);
      p_.offset.set_estimate(0);
    }
  }

  // Rows of `inner` contiguous elements are vectorised along i; where rows are shorter than a
  // vector (channels-last data: inner = 1) the vector runs across channels instead. A parallel
  // schedule hands each task one outer index.
  void schedule_channels(Halide::Func &out) {
    if (schedule_.gpu()) {
      // One flat index over (i, c, o): the channel of an element is found by division, which
      // costs nothing next to the memory traffic, and rows of any length fill whole warps.
      // Rows need not be 128-bit aligned, so every access is scalar (lanes are ignored).
      Halide::Var ic("ic"), all("all");
      out.fuse(i_, c_, ic).fuse(ic, o_, all);
      schedule_gpu(out, all, /*vector=*/false);
      return;
    }
    if (schedule_.parallel_chunk > 0) out.parallel(o_);
    const Halide::Expr inner = out.output_buffers()[0].dim(0).extent();
    out.specialize(inner >= width()).vectorize(i_, width(), Halide::TailStrategy::GuardWithIf);
    out.reorder(c_, i_, o_).vectorize(c_, width(), Halide::TailStrategy::GuardWithIf);
  }

  // Blocks of gpu_threads·lanes·unroll elements; in a block, step u of thread t covers the
  // lanes elements from (u·gpu_threads + t)·lanes: a warp's loads are contiguous.
  void schedule_gpu(Halide::Func &out, const Halide::Var &v, bool vector = true) {
    // f64 arrays are read element by element: LLVM 14's PTX back end crashes on f64 vectors.
    const bool vectors = vector && store_.bits() < 64;
    const int lanes = vectors ? schedule_.lanes : 1;
    const int unroll = vectors ? schedule_.unroll : schedule_.lanes * schedule_.unroll;
    const int threads = schedule_.gpu_threads;
    Halide::Var block("block"), rest("rest"), step("step"), lane_group("lane_group"),
        thread("thread"), lane("lane");
    out.split(v, block, rest, threads * lanes * unroll, Halide::TailStrategy::GuardWithIf)
        .split(rest, step, lane_group, threads * lanes, Halide::TailStrategy::RoundUp)
        .split(lane_group, thread, lane, lanes, Halide::TailStrategy::RoundUp)
        .reorder(lane, thread, step, block)
        .gpu_blocks(block)
        .gpu_threads(thread)
        .unroll(step);
    if (lanes > 1) out.vectorize(lane);
  }

  // The kernel may assume 128-bit aligned arrays: every Elements buffer, in and out, starts on a
  // multiple of lanes elements (the caller checks) and is indexed from 0.
  void align_elements(Halide::Func &out) {
    const int bytes = schedule_.lanes * store_.bytes();
    for (auto &b : p_.buffers)
      if (b.dimensions() == 1 && b.name() != "" && is_elements(b.name()))
        b.set_host_alignment(bytes).dim(0).set_min(0);
    // Halide constrains the second and later outputs' bounds to the first's itself.
    const std::vector<Halide::OutputImageParam> outputs = out.output_buffers();
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      Halide::OutputImageParam o = outputs[k];
      o.set_host_alignment(bytes);
      if (k == 0) o.dim(0).set_min(0);
    }
  }
  bool is_elements(const std::string &name) const {
    for (const auto &port : p_.inputs)
      if (port.name == name) return port.extent == Extent::Elements;
    return false;
  }

  const KernelSpec &spec_;
  const Schedule &schedule_;
  const std::int64_t estimate_;
  const Halide::Type store_, compute_;
  const int inputs_;
  Pipeline p_;
  LowerEnv env_;
  bool gpu_bf16_ = false;
  bool cpu_f16_ = false;
  Halide::Var i_{"i"}, c_{"c"}, o_{"o"};
  Halide::Var h_{"h"}; // Layout::Halves: which half of a row (0: x, dx; 1: g, dg)
};

// dp = Σ dy·∂f/∂p over every element (scalar p) or over outer and inner for each c
// (per-channel p). Each row of `inner` elements is summed in `width` lanes of partial sums
// (vectorised) plus a tail of fewer than `width` elements; sums are f64, with Kahan
// compensation when the data is f64 (f32 terms summed in f64 lose nothing that shows in f32).
// All parameters are reduced in one pass over x and dy.
void Builder::param_grad() {
  const auto values = add_activation_inputs();
  const Halide::Expr dy = add_elements("dy");
  add_params(spec_.expr);
  const Halide::Type acc = Halide::Float(64);
  const Halide::Expr nan = Halide::Internal::make_const(acc, std::nan(""));
  const Halide::Expr zero = Halide::Internal::make_const(acc, 0.0);

  const std::vector<std::string> names = grad_params(spec_);
  const std::size_t K = names.size();
  const bool kahan = compute_.bits() == 64;
  const std::size_t w = kahan ? 2 : 1; // accumulator components per parameter: sum[, carry]

  std::vector<ir::Expr> derivatives;
  for (const auto &name : names)
    derivatives.push_back(ir::differentiate(spec_.expr, ir::param(name)));
  const Guard guard = infinity_guard(values, derivatives);
  Halide::Func term("term");
  std::vector<Halide::Expr> terms;
  for (const auto &e : derivatives) {
    const Halide::Expr d = lower_guarded(guard, e);
    // In f64 the product of two f32 values is exact, and NaN where dy is.
    terms.push_back(
        Halide::select(nan_test(values, e), nan, Halide::cast(acc, dy) * Halide::cast(acc, d)));
  }
  define(term(i_, c_, o_), terms);

  // Layout::Halves sums as the channel layout [rows, 1, d] would: rows of d elements.
  const Halide::ImageParam &x = p_.buffers.front();
  const Halide::Expr inner = x.dim(0).extent();
  const Halide::Expr C = channels() ? x.dim(1).extent() : Halide::Expr(1);
  const Halide::Expr outer = channels() || halves() ? x.dim(2).extent() : Halide::Expr(1);
  // GPU: partial sums for U threads, thread u taking elements u, u + U, ... of every row; the
  // CPU sums them after (Halide copies the U·C partial sums back).
  const bool gpu = schedule_.gpu();
  const int U = channels() || halves() ? 256 : 65536;
  const int V = gpu ? U : width();
  const Halide::Expr full = inner / V * V;

  // acc' = acc + t for every parameter, as Kahan's compensated step where `kahan`.
  auto add = [&](const Halide::FuncRef &self, const std::vector<Halide::Expr> &t) {
    std::vector<Halide::Expr> next;
    for (std::size_t k = 0; k < K; ++k) {
      const Halide::Expr sum = element(self, k * w, K * w);
      if (!kahan) {
        next.push_back(sum + t[k]);
        continue;
      }
      const Halide::Expr carry = element(self, k * w + 1, K * w);
      const Halide::Expr y = Halide::strict_float(t[k] - carry);
      const Halide::Expr s = Halide::strict_float(sum + y);
      next.push_back(s);
      // Past an infinity the carry would be inf - inf: keep it 0 so the sum stays ±inf.
      next.push_back(Halide::select(Halide::is_inf(s), zero, Halide::strict_float((s - sum) - y)));
    }
    return next;
  };
  auto term_at = [&](const Halide::Expr &i, const Halide::Expr &c, const Halide::Expr &o) {
    std::vector<Halide::Expr> t;
    for (std::size_t k = 0; k < K; ++k)
      t.push_back(element(term(i, c, o), k, K));
    return t;
  };
  const std::vector<Halide::Expr> zeros(K * w, zero);

  Halide::Var u("u");
  Halide::Func partial("partial"), tail("tail"), chan("chan");
  Halide::RDom r(0, gpu ? (inner + V - 1) / V : inner / V, 0, outer, "r");
  if (gpu) r.where(r.x * V + u < inner);
  define(partial(u, c_), zeros);
  define(partial(u, c_), add(partial(u, c_), term_at(r.x * V + u, c_, r.y)));
  Halide::RDom rt(full, inner - full, 0, outer, "rt");
  define(tail(c_), zeros);
  if (!gpu) define(tail(c_), add(tail(c_), term_at(rt.x, c_, rt.y)));

  // Per channel: the lanes and the tail, each as sum - carry.
  auto settled = [&](const Halide::FuncRef &f, std::size_t k) {
    return kahan ? element(f, k * w, K * w) - element(f, k * w + 1, K * w)
                 : element(f, k * w, K * w);
  };
  Halide::RDom ru(0, V, "ru");
  std::vector<Halide::Expr> per_channel;
  Halide::Func gather("gather"); // GPU: the U partial sums, added as the partial sums were
  if (gpu) {
    std::vector<Halide::Expr> parts;
    for (std::size_t k = 0; k < K; ++k)
      parts.push_back(settled(partial(ru, c_), k));
    define(gather(c_), zeros);
    define(gather(c_), add(gather(c_), parts));
  }
  for (std::size_t k = 0; k < K; ++k)
    per_channel.push_back(gpu ? settled(gather(c_), k)
                              : settled(tail(c_), k) + Halide::sum(settled(partial(ru, c_), k)));
  define(chan(c_), per_channel);

  std::vector<Halide::Func> outs;
  Halide::RDom rc(0, C, "rc");
  for (std::size_t k = 0; k < K; ++k) {
    Halide::Func out("d" + names[k]);
    if (is_per_channel(spec_, names[k])) {
      out(c_) = store_value(store_, Halide::Internal::const_false(), element(chan(c_), k, K));
      p_.outputs.push_back({"d" + names[k], Extent::Channels});
    } else {
      out(i_) = store_value(store_, Halide::Internal::const_false(),
                            Halide::sum(element(chan(rc), k, K)));
      p_.outputs.push_back({"d" + names[k], Extent::One});
    }
    outs.push_back(out);
  }

  validate(schedule_);
  if (gpu) {
    const int T = std::min(256, U);
    Halide::Var ub("ub"), ut("ut");
    partial.compute_root()
        .split(u, ub, ut, T)
        .reorder(ut, c_, ub)
        .gpu_blocks(c_, ub)
        .gpu_threads(ut);
    partial.update()
        .split(u, ub, ut, T)
        .reorder(r.x, r.y, ut, c_, ub)
        .gpu_blocks(c_, ub)
        .gpu_threads(ut);
    gather.compute_root();
    chan.compute_root();
    p_.pipeline = Halide::Pipeline(outs);
    return;
  }
  partial.compute_root().vectorize(u, V);
  partial.update().reorder(u, r.x, c_, r.y).vectorize(u, V);
  tail.compute_root();
  if (channels())
    tail.update().reorder(c_, rt.x, rt.y).vectorize(c_, V, Halide::TailStrategy::GuardWithIf);
  chan.compute_root();
  p_.pipeline = Halide::Pipeline(outs);
}

} // namespace

Pipeline build_pipeline(const KernelSpec &spec, const Schedule &schedule) {
  validate(spec);
  return Builder(spec, schedule).build();
}

Pipeline build_unscheduled_pipeline(const KernelSpec &spec, std::int64_t n_estimate) {
  validate(spec);
  if (spec.layout != Layout::Flat)
    throw Error("an unscheduled pipeline is flat: the " + std::string(to_string(spec.layout)) +
                " layout is not supported");
  if (spec.role == Role::ParamGrad)
    throw Error("an unscheduled pipeline is elementwise: param_grad (a reduction) is not "
                "supported");
  if (n_estimate < 1 || n_estimate > std::numeric_limits<std::int32_t>::max())
    throw Error("the size estimate of an unscheduled pipeline must be in [1, 2^31), got " +
                std::to_string(n_estimate));
  // A CPU schedule: Builder's numerics (f16 as bits, fused products) follow the CPU kernels'.
  static const Schedule cpu;
  return Builder(spec, cpu, n_estimate).build();
}

} // namespace actforge::codegen::halide
