// build_maxout_pipeline(): maxout's group maximum and its gradient on bit patterns.
#include "actforge/codegen/halide/maxout.hpp"

#include "actforge/error.hpp"

#include <cstdint>
#include <string>
#include <utility>

namespace actforge::codegen::halide {

std::vector<Halide::Argument> MaxoutPipeline::arguments() const {
  return {buffers.begin(), buffers.end()};
}

Halide::Type maxout_buffer_type(DType dtype) { return Halide::UInt(bytes_of(dtype) * 8); }

namespace {

namespace I = Halide::Internal;
using Halide::Expr;

// The bits of +inf: a magnitude above it is a NaN.
std::uint64_t infinity_bits(DType d) {
  switch (d) {
  case DType::F32: return 0x7f800000u;
  case DType::F64: return 0x7ff0000000000000u;
  case DType::F16: return 0x7c00u;
  case DType::BF16: return 0x7f80u;
  }
  throw Error("internal error: unknown dtype");
}

class Builder {
public:
  Builder(Role role, DType dtype, int k, const Schedule &schedule)
      : role_(role), dtype_(dtype), k_(k), schedule_(schedule), bits_(bytes_of(dtype) * 8),
        u_(Halide::UInt(bits_)), s_(Halide::Int(bits_)) {}

  MaxoutPipeline build() {
    p_.role = role_;
    p_.dtype = dtype_;
    p_.k = k_;
    p_.buffers.emplace_back(u_, 4, "x");
    if (role_ == Role::Backward) p_.buffers.emplace_back(u_, 3, "dy");
    const Halide::ImageParam &x = p_.buffers.front();

    // The group's values, keys and the running first arg-max, each a let: the chain stays
    // linear in k for Halide's passes.
    std::vector<std::pair<std::string, Expr>> lets;
    auto let = [&](const std::string &name, const Expr &value) {
      lets.emplace_back(name, value);
      return I::Variable::make(value.type(), name);
    };
    Expr best_bits = let("mx_v0", x(i_, 0, g_, o_));
    Expr best_key = let("mx_k0", key(best_bits));
    Expr best_at = I::make_const(u_, 0);
    for (int j = 1; j < k_; ++j) {
      const std::string n = std::to_string(j);
      const Expr v = let("mx_v" + n, x(i_, j, g_, o_));
      const Expr kv = let("mx_k" + n, key(v));
      const Expr take = let("mx_t" + n, kv > best_key); // strictly greater: the first one stays
      if (role_ == Role::Forward)
        best_bits = let("mx_b" + n, Halide::select(take, v, best_bits));
      else
        best_at = let("mx_a" + n, Halide::select(take, I::make_const(u_, j), best_at));
      if (j + 1 < k_) best_key = let("mx_m" + n, Halide::max(kv, best_key));
    }
    Expr result = role_ == Role::Forward ? best_bits : best_at;
    for (auto it = lets.rbegin(); it != lets.rend(); ++it)
      result = I::Let::make(it->first, it->second, result);

    validate(schedule_);
    if (schedule_.gpu()) throw Error("maxout has CPU kernels only: a GPU schedule was given");
    if (role_ == Role::Forward) {
      Halide::Func y("y");
      y(i_, g_, o_) = result;
      schedule_forward(y);
      p_.pipeline = Halide::Pipeline(y);
    } else {
      Halide::Func at("argmax"), dx("dx");
      at(i_, g_, o_) = result;
      const Halide::ImageParam &dy = p_.buffers[1];
      const Expr d = dy(i_, g_, o_);
      // 0 + dy: -0 becomes +0 (the reference adds dy to a zeroed dx).
      const Expr sign = I::make_const(u_, std::uint64_t{1} << (bits_ - 1));
      const Expr zero = I::make_const(u_, 0);
      const Expr grad = Halide::select(d == sign, zero, d);
      dx(i_, j_, g_, o_) = Halide::select(at(i_, g_, o_) == Halide::cast(u_, j_), grad, zero);
      dx.bound(j_, 0, k_); // the k channels of a group: unrolled
      schedule_backward(at, dx);
      p_.pipeline = Halide::Pipeline(dx);
    }
    return std::move(p_);
  }

private:
  // Sign-magnitude as a signed integer (-0 and +0 both 0); NaN the largest integer.
  Expr key(const Expr &bits) const {
    const std::uint64_t magnitude_mask = (std::uint64_t{1} << (bits_ - 1)) - 1;
    const Expr magnitude = Halide::reinterpret(s_, bits & I::make_const(u_, magnitude_mask));
    const Expr s = Halide::reinterpret(s_, bits) >> (bits_ - 1); // 0, or -1 when negative
    const Expr signed_value = (magnitude ^ s) - s;
    return Halide::select(magnitude > I::make_const(s_, infinity_bits(dtype_)),
                          I::make_const(s_, magnitude_mask), signed_value);
  }

  int width() const { return schedule_.lanes * schedule_.unroll; }

  // True where rows are one element and the groups' values lie k apart: the vector across groups
  // then reads consecutive memory, which Halide loads densely and deinterleaves.
  Expr channels_last(const Halide::OutputImageParam &out, bool out_grouped) const {
    const Halide::ImageParam &x = p_.buffers.front();
    Expr c = out.dim(0).extent() == 1 && x.dim(1).stride() == 1 && x.dim(2).stride() == k_;
    if (out_grouped)
      c = c && out.dim(1).stride() == 1 && out.dim(2).stride() == k_;
    else
      c = c && out.dim(1).stride() == 1;
    if (p_.buffers.size() > 1) c = c && p_.buffers[1].dim(1).stride() == 1;
    return c;
  }

  // Rows shorter than width() but of 2 elements or more: vectors of 8 (rows of 8 or more) or 4
  // along inner, masked in the tail: contiguous, where vectors across groups would gather.
  std::vector<int> mid_widths() const {
    std::vector<int> v;
    for (int m : {8, 4})
      if (m < width()) v.push_back(m);
    return v;
  }
  static Expr mid_rows(const Expr &inner, int m) { return inner >= (m == 4 ? 2 : m); }

  void schedule_forward(Halide::Func &y) {
    if (schedule_.parallel_chunk > 0) y.parallel(o_);
    const Halide::OutputImageParam out = y.output_buffer();
    const Expr inner = out.dim(0).extent();
    const int w = width();
    y.specialize(inner >= w).vectorize(i_, w, Halide::TailStrategy::GuardWithIf);
    y.specialize(channels_last(out, false))
        .reorder(g_, i_, o_)
        .vectorize(g_, w, Halide::TailStrategy::GuardWithIf);
    for (int m : mid_widths())
      y.specialize(mid_rows(inner, m)).vectorize(i_, m, Halide::TailStrategy::GuardWithIf);
    y.reorder(g_, i_, o_).vectorize(g_, w, Halide::TailStrategy::GuardWithIf);
  }

  void schedule_backward(Halide::Func &at, Halide::Func &dx) {
    if (schedule_.parallel_chunk > 0) dx.parallel(o_);
    const Halide::OutputImageParam out = dx.output_buffer();
    const Expr inner = out.dim(0).extent();
    const int w = width();
    // Every variant has a loop `vo` over vectors, and the arg-max of the groups its vector
    // covers is computed there (one vector, or inner·w values for short rows: registers).
    Halide::Var vo("vo"), vi("vi");
    const Expr long_rows = inner >= w, short_rows = channels_last(out, true);
    // Long rows: per vector of inner, the group's arg-max once, then its k rows of dx.
    dx.specialize(long_rows)
        .split(i_, vo, vi, w, Halide::TailStrategy::GuardWithIf)
        .reorder(vi, j_, vo, g_, o_)
        .vectorize(vi)
        .unroll(j_);
    // Channels-last rows: vectors across groups, the k channels of a group unrolled.
    dx.specialize(short_rows)
        .split(g_, vo, vi, w, Halide::TailStrategy::GuardWithIf)
        .reorder(j_, vi, i_, vo, o_)
        .vectorize(vi)
        .unroll(j_);
    for (int m : mid_widths())
      dx.specialize(mid_rows(inner, m))
          .split(i_, vo, vi, m, Halide::TailStrategy::GuardWithIf)
          .reorder(vi, j_, vo, g_, o_)
          .vectorize(vi)
          .unroll(j_);
    dx.split(g_, vo, vi, w, Halide::TailStrategy::GuardWithIf)
        .reorder(j_, vi, i_, vo, o_)
        .vectorize(vi)
        .unroll(j_);
    at.compute_at(dx, vo);
    at.specialize(long_rows).vectorize(i_, w, Halide::TailStrategy::GuardWithIf);
    at.specialize(short_rows)
        .reorder(g_, i_, o_)
        .vectorize(g_, w, Halide::TailStrategy::GuardWithIf);
    for (int m : mid_widths())
      at.specialize(mid_rows(inner, m)).vectorize(i_, m, Halide::TailStrategy::GuardWithIf);
    at.reorder(g_, i_, o_).vectorize(g_, w, Halide::TailStrategy::GuardWithIf);
  }

  const Role role_;
  const DType dtype_;
  const int k_;
  const Schedule &schedule_;
  const int bits_;
  const Halide::Type u_, s_;
  MaxoutPipeline p_;
  Halide::Var i_{"i"}, j_{"j"}, g_{"g"}, o_{"o"};
};

} // namespace

MaxoutPipeline build_maxout_pipeline(Role role, DType dtype, int k, const Schedule &schedule) {
  if (k < 2 || k > 16)
    throw Error("maxout: k must be an integer from 2 to 16, got " + std::to_string(k));
  if (role != Role::Forward && role != Role::Backward)
    throw Error("maxout has forward and backward kernels only, not " +
                std::string(to_string(role)));
  return Builder(role, dtype, k, schedule).build();
}

} // namespace actforge::codegen::halide
