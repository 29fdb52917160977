// build_pipeline(): roles, layouts, dtypes, the infinity/NaN guards and the schedule.
#include "actforge/codegen/halide/pipeline.hpp"

#include "actforge/codegen/halide/lower.hpp"
#include "actforge/dsl/from_output.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

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

struct Guard {
  Halide::Type type;
  Halide::Expr any_nan, any_inf;
  std::vector<Halide::Expr> clamped; // inputs with ±inf replaced by ±largest finite

  Halide::Expr constant(double v) const { return Halide::Internal::make_const(type, v); }

  // A result at a stand-in for infinity that is beyond `big` is read as the infinite limit.
  // Likewise a result below `tiny` is read as a zero limit (1/x² at the stand-in is 2^-80, f64
  // 2^-600); `tiny` stays far below any constant a user would give (a slope of 1e-12 is 2^-40).
  // Written as one select whose conditions carry any_inf, and with ±inf built from v's sign
  // bit: the lanes without an infinite input keep v through a couple of masked operations.
  Halide::Expr limit(const Halide::Expr &v) const {
    const double big = type.bits() == 64 ? std::ldexp(1.0, 200) : std::ldexp(1.0, 30);
    const double tiny = type.bits() == 64 ? std::ldexp(1.0, -400) : std::ldexp(1.0, -60);
    const Halide::Expr a = Halide::abs(v);
    return Halide::select(any_inf && a >= constant(big),
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

Guard make_guard(const std::vector<Halide::Expr> &inputs, Halide::Type type) {
  Guard g{type, Halide::Internal::const_false(), Halide::Internal::const_false(), {}};
  // ±inf is evaluated at ±2^40 (f64: ±2^300): far enough for every limit of the library, near
  // enough that x³ does not overflow on the way (gelu_tanh).
  const double max = type.bits() == 64 ? std::ldexp(1.0, 300) : std::ldexp(1.0, 40);
  for (const auto &in : inputs) {
    g.any_nan = g.any_nan || Halide::is_nan(in);
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
  Builder(const KernelSpec &spec, const Schedule &schedule)
      : spec_(spec), schedule_(schedule), store_(storage_type(spec.dtype)),
        compute_(compute_type(spec)), inputs_(std::max(1, ir::count_inputs(spec.expr))) {
    p_.layout = spec.layout;
    env_.type = compute_;
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
  int width() const { return schedule_.lanes * schedule_.unroll; }

  // An Elements buffer: its value at the current element, in the compute type.
  Halide::Expr add_elements(const std::string &name) {
    p_.buffers.emplace_back(store_, dimensions(Extent::Elements, spec_.layout), name);
    p_.inputs.push_back({name, Extent::Elements});
    const Halide::ImageParam &b = p_.buffers.back();
    return Halide::cast(compute_, channels() ? b(i_, c_, o_) : b(i_));
  }

  // The activation's inputs x[, g] (or y for backward_from_output).
  std::vector<Halide::Expr> add_activation_inputs() {
    std::vector<Halide::Expr> values;
    for (int k = 0; k < inputs_; ++k)
      values.push_back(add_elements(std::string(ir::input_name(k))));
    return values;
  }

  // Per-channel parameter buffers, then scalar parameters, both in name order, into env_.
  void add_params(ir::Expr e) {
    const auto infos = ir::collect_params(e);
    for (const auto &info : infos) {
      if (!is_per_channel(spec_, info.name)) continue;
      p_.buffers.emplace_back(store_, 1, info.name);
      p_.inputs.push_back({info.name, Extent::Channels});
      env_.params[info.name] = Halide::cast(compute_, p_.buffers.back()(c_));
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

  void forward() {
    const auto values = add_activation_inputs();
    add_params(spec_.expr);
    const Guard guard = make_guard(values, compute_);
    Halide::Func out("y");
    at(out) = store_value(store_, guard.any_nan, lower_guarded(guard, spec_.expr));
    p_.outputs.push_back({"y", Extent::Elements});
    finish_elementwise(out);
  }

  void backward() {
    const auto values = add_activation_inputs();
    const Halide::Expr dy = add_elements("dy");
    add_params(spec_.expr);
    const Guard guard = make_guard(values, compute_);
    std::vector<Halide::Expr> grads;
    for (int k = 0; k < inputs_; ++k) {
      const Halide::Expr d = lower_guarded(guard, ir::differentiate(spec_.expr, ir::input(k)));
      grads.push_back(store_value(store_, guard.any_nan || Halide::is_nan(dy), dy * d));
      p_.outputs.push_back({"d" + std::string(ir::input_name(k)), Extent::Elements});
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
    const Guard guard = make_guard({y}, compute_);
    const Halide::Expr d = lower_guarded(guard, g);
    Halide::Func out("dx");
    at(out) = store_value(store_, guard.any_nan || Halide::is_nan(dy), dy * d);
    p_.outputs.push_back({"dx", Extent::Elements});
    finish_elementwise(out);
  }

  void param_grad();

  Halide::FuncRef at(Halide::Func &f) const { return channels() ? f(i_, c_, o_) : f(i_); }

  void finish_elementwise(Halide::Func &out) {
    validate(schedule_);
    if (channels())
      schedule_channels(out);
    else
      schedule_flat(out);
    p_.pipeline = Halide::Pipeline(out);
  }

  void schedule_flat(Halide::Func &out) {
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

  // Rows of `inner` contiguous elements are vectorised along i; where rows are shorter than a
  // vector (channels-last data: inner = 1) the vector runs across channels instead. A parallel
  // schedule hands each task one outer index.
  void schedule_channels(Halide::Func &out) {
    if (schedule_.parallel_chunk > 0) out.parallel(o_);
    const Halide::Expr inner = out.output_buffers()[0].dim(0).extent();
    out.specialize(inner >= width()).vectorize(i_, width(), Halide::TailStrategy::GuardWithIf);
    out.reorder(c_, i_, o_).vectorize(c_, width(), Halide::TailStrategy::GuardWithIf);
  }

  const KernelSpec &spec_;
  const Schedule &schedule_;
  const Halide::Type store_, compute_;
  const int inputs_;
  Pipeline p_;
  LowerEnv env_;
  Halide::Var i_{"i"}, c_{"c"}, o_{"o"};
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
  const Guard guard = make_guard(values, compute_);
  const Halide::Expr nan_in = guard.any_nan || Halide::is_nan(dy);
  const Halide::Type acc = Halide::Float(64);
  const Halide::Expr nan = Halide::Internal::make_const(acc, std::nan(""));
  const Halide::Expr zero = Halide::Internal::make_const(acc, 0.0);

  const std::vector<std::string> names = grad_params(spec_);
  const std::size_t K = names.size();
  const bool kahan = compute_.bits() == 64;
  const std::size_t w = kahan ? 2 : 1; // accumulator components per parameter: sum[, carry]

  Halide::Func term("term");
  std::vector<Halide::Expr> terms;
  for (const auto &name : names) {
    const Halide::Expr d = lower_guarded(guard, ir::differentiate(spec_.expr, ir::param(name)));
    // In f64 the product of two f32 values is exact.
    terms.push_back(Halide::select(nan_in, nan, Halide::cast(acc, dy) * Halide::cast(acc, d)));
  }
  define(term(i_, c_, o_), terms);

  const Halide::ImageParam &x = p_.buffers.front();
  const Halide::Expr inner = x.dim(0).extent();
  const Halide::Expr C = channels() ? x.dim(1).extent() : Halide::Expr(1);
  const Halide::Expr outer = channels() ? x.dim(2).extent() : Halide::Expr(1);
  const int V = width();
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
  Halide::RDom r(0, inner / V, 0, outer, "r");
  define(partial(u, c_), zeros);
  define(partial(u, c_), add(partial(u, c_), term_at(r.x * V + u, c_, r.y)));
  Halide::RDom rt(full, inner - full, 0, outer, "rt");
  define(tail(c_), zeros);
  define(tail(c_), add(tail(c_), term_at(rt.x, c_, rt.y)));

  // Per channel: the lanes and the tail, each as sum - carry.
  auto settled = [&](const Halide::FuncRef &f, std::size_t k) {
    return kahan ? element(f, k * w, K * w) - element(f, k * w + 1, K * w)
                 : element(f, k * w, K * w);
  };
  Halide::RDom ru(0, V, "ru");
  std::vector<Halide::Expr> per_channel;
  for (std::size_t k = 0; k < K; ++k)
    per_channel.push_back(settled(tail(c_), k) + Halide::sum(settled(partial(ru, c_), k)));
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

} // namespace actforge::codegen::halide
