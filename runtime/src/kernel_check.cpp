// check_kernels(): samples per dtype, the kernels' outputs, and their ULP distance from the
// reference.
#include "actforge/runtime/kernel_check.hpp"

#include "actforge/check/numeric.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/targets/x86.hpp"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

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

struct Outcome {
  double max_ulp = 0;
  long double worst_at = 0;
  long points = 0;
  long failures = 0;
  std::string first;
  void fail(const std::string &what) {
    if (failures++ == 0) first = what;
  }
};

// One input per point (single-input activations): compare kernel and reference at each.
Outcome measure(const check::Subject &s, Role role, DType dtype, const Kernel &kernel,
                const std::vector<long double> &xs, bool piecewise_linear) {
  Outcome o;
  const std::size_t n = xs.size();
  const ir::Program f(s.expr);
  const ir::Program df(role == Role::Forward ? s.expr : ir::differentiate(s.expr, ir::input(0)));
  const check::Probe ref{&df, {0}, {}, 0, false};
  check::Probe probe = ref;
  for (const auto &info : df.params())
    probe.params.push_back(s.params.at(info.name));
  const std::vector<float> pf(probe.params.begin(), probe.params.end());
  const std::vector<double> pd(probe.params.begin(), probe.params.end());

  Buffer x(dtype, n), dy(dtype, n), out(dtype, n);
  for (std::size_t i = 0; i < n; ++i) {
    x.set(i, xs[i]);
    dy.set(i, i % 3 == 0 ? -0.75L : 1.25L);
  }
  if (role == Role::Forward) {
    const void *in[] = {x.data()};
    void *outs[] = {out.data()};
    kernel.run(in, outs, static_cast<std::int64_t>(n), kernel_params(s));
  } else {
    const void *in[] = {x.data(), dy.data()};
    void *outs[] = {out.data()};
    kernel.run(in, outs, static_cast<std::int64_t>(n), kernel_params(s));
  }
  const Format fm = format(dtype);
  for (std::size_t i = 0; i < n; ++i) {
    const long double xi = x.get(i), got = out.get(i);
    const long double scale = role == Role::Forward ? 1.0L : dy.get(i);
    ++o.points;
    if (std::isnan(xi)) {
      if (!std::isnan(got)) o.fail("f(NaN) = " + fmt(got) + ", not NaN");
      continue;
    }
    const long double exact = scale * check::reference_value(probe, xi);
    double err = ulp_error(got, exact, dtype);
    if (piecewise_linear && std::isfinite(xi)) {
      // Exact: equal to the same formula evaluated in the compute type.
      const long double same =
          dtype == DType::F64
              ? static_cast<long double>(
                    static_cast<double>(scale) *
                    df.eval<double>(
                        std::span<const double>(std::vector<double>{static_cast<double>(xi)}), pd))
              : static_cast<long double>(
                    static_cast<float>(scale) *
                    df.eval<float>(
                        std::span<const float>(std::vector<float>{static_cast<float>(xi)}), pf));
      const long double stored = round_to(same, dtype);
      if (!(stored == got || (std::isnan(stored) && std::isnan(got))))
        o.fail("f(" + fmt(xi) + ") = " + fmt(got) + ", the formula in the compute type gives " +
               fmt(stored));
    } else {
      const double bound = role == Role::Forward ? kForwardUlp : kBackwardUlp;
      // Backward may instead be absolutely close where the true value is tiny (ACTIVATIONS.md).
      const long double abs_ok = std::ldexp(1.0L, -fm.precision) * std::max(1.0L, std::fabs(scale));
      const bool tiny = std::fabs(exact) < std::ldexp(1.0L, 4 - fm.precision);
      const bool ok =
          err <= bound || (role != Role::Forward && tiny && std::fabs(got - exact) <= abs_ok);
      if (!ok)
        o.fail("at x=" + fmt(xi) + ": " + fmt(got) + " vs " + fmt(exact) + " (" + fmt(err) +
               " ulp)");
    }
    if (err > o.max_ulp && std::isfinite(err)) {
      o.max_ulp = err;
      o.worst_at = xi;
    }
  }
  return o;
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
  bool runnable = true;
  std::string why_not;
  try {
    target_name = targets::x86::resolve(options.target).name;
    runnable = targets::x86::cpu_supports(target_name);
    if (!runnable) why_not = "this CPU cannot run " + target_name;
  } catch (const Error &e) {
    runnable = false;
    why_not = e.what();
  }
  for (DType dtype : options.dtypes)
    for (Role role : {Role::Forward, Role::Backward}) {
      check::Record r;
      r.activation = s.name;
      r.role = std::string(codegen::to_string(role));
      r.target = target_name;
      r.dtype = std::string(codegen::to_string(dtype));
      if (!s.expr.defined() || ir::count_inputs(s.expr) > 1 || !runnable) {
        r.status = check::Status::Skip;
        r.reason = !runnable           ? why_not
                   : !s.expr.defined() ? "not elementwise: no kernel yet"
                                       : "two-input kernels are checked by the test suite only";
        out.push_back(r);
        continue;
      }
      const Kernel k = jit(s.expr, JitOptions{role, dtype, target_name, std::nullopt}, s.name);
      const Outcome o = measure(s, role, dtype, k, sample(dtype, options.log2_stride, kinks), pl);
      r.status = o.failures ? check::Status::Fail : check::Status::Pass;
      r.max_ulp = o.max_ulp;
      r.points = o.points;
      r.reason = o.failures ? std::to_string(o.failures) + " failed, first " + o.first
                            : "max ulp at x=" + fmt(o.worst_at) +
                                  (pl ? "; equal to the formula in the compute type" : "");
      out.push_back(r);
    }
  return out;
}

} // namespace actforge::runtime
