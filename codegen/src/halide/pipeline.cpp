// build_pipeline(): roles, dtypes, the infinity/NaN guards and the schedule.
#include "actforge/codegen/halide/pipeline.hpp"

#include "actforge/codegen/halide/lower.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"

#include <cmath>
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
  Halide::Expr limit(const Halide::Expr &v) const {
    const double big = type.bits() == 64 ? std::ldexp(1.0, 200) : std::ldexp(1.0, 30);
    const Halide::Expr inf = constant(std::numeric_limits<double>::infinity());
    return Halide::select(any_inf && Halide::abs(v) >= constant(big),
                          Halide::select(v > constant(0), inf, -inf), v);
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
    g.clamped.push_back(
        Halide::select(Halide::is_inf(in),
                       Halide::select(in > g.constant(0), g.constant(max), g.constant(-max)), in));
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

void apply_schedule(Halide::Func &out, const Halide::Var &i, const Schedule &s) {
  validate(s);
  const int width = s.lanes * s.unroll;
  if (s.parallel_chunk > 0) {
    Halide::Var outer("io"), inner("ii");
    out.split(i, outer, inner, static_cast<int>(s.parallel_chunk),
              Halide::TailStrategy::GuardWithIf)
        .parallel(outer)
        .vectorize(inner, width, Halide::TailStrategy::GuardWithIf);
  } else {
    out.vectorize(i, width, Halide::TailStrategy::GuardWithIf);
  }
}

} // namespace

Pipeline build_pipeline(const KernelSpec &spec, const Schedule &schedule) {
  if (!spec.expr.defined()) throw Error("a kernel needs an expression");
  if (spec.expr.is_condition()) throw Error("a comparison is not an activation");
  const Halide::Type store = storage_type(spec.dtype), compute = compute_type(spec);
  const int inputs = std::max(1, ir::count_inputs(spec.expr));
  if (inputs > 2) throw Error("kernels take at most two inputs (x and g)");

  Pipeline p;
  Halide::Var i("i");
  std::vector<Halide::Expr> values;
  for (int k = 0; k < inputs; ++k) {
    p.buffers.emplace_back(store, 1, std::string(ir::input_name(k)));
    p.inputs.push_back({std::string(ir::input_name(k)), Extent::Elements});
    values.push_back(Halide::cast(compute, p.buffers.back()(i)));
  }
  LowerEnv env{compute, {}, {}};
  for (const auto &info : ir::collect_params(spec.expr)) {
    if (compute.bits() == 64)
      p.params_f64.emplace_back(info.name);
    else
      p.params_f32.emplace_back(info.name);
    p.param_names.push_back(info.name);
    env.params[info.name] = p.param(p.param_names.size() - 1);
  }
  const Guard guard = make_guard(values, compute);
  env.inputs = guard.clamped;

  Halide::Func out(spec.role == Role::Forward ? "y" : "dx");
  if (spec.role == Role::Forward) {
    const Halide::Expr y = guard.limit(lower(spec.expr, env));
    out(i) = store_value(store, guard.any_nan, y);
    p.outputs.push_back({"y", Extent::Elements});
  } else {
    p.buffers.emplace_back(store, 1, "dy");
    p.inputs.push_back({"dy", Extent::Elements});
    const Halide::Expr dy = Halide::cast(compute, p.buffers.back()(i));
    std::vector<Halide::Expr> grads;
    for (int k = 0; k < inputs; ++k) {
      const Halide::Expr d = guard.limit(lower(ir::differentiate(spec.expr, ir::input(k)), env));
      grads.push_back(store_value(store, guard.any_nan || Halide::is_nan(dy), dy * d));
      p.outputs.push_back({"d" + std::string(ir::input_name(k)), Extent::Elements});
    }
    if (grads.size() == 1)
      out(i) = grads[0];
    else
      out(i) = Halide::Tuple(grads);
    p.num_outputs = static_cast<int>(grads.size());
  }
  apply_schedule(out, i, schedule);
  p.pipeline = Halide::Pipeline(out);
  return p;
}

} // namespace actforge::codegen::halide
