// actforge_peer_accuracy: the values of ours (actforge::jit, target host), the plain loop and every
// peer built here, for the activations of the benchmark, forward and backward (dy = 1), against
// the long-double reference of the check library (the one `actforge check` measures ours with),
// and their outputs at NaN, ±inf and ±FLT_MAX beside the limits ACTIVATIONS.md asks for.
//
//   actforge_peer_accuracy [--log2_stride=12] [--out=FILE.json]
//
// The sample: every 2^log2_stride-th f32 bit pattern that is finite with |x| <= 1e4 (both signs,
// -0 and subnormals included), plus ±the smallest and largest subnormal and ±FLT_MIN. Per case:
//  - bulk: max ULP over the points where x is normal (or zero) and |exact| >= 2^-20, and its x;
//  - tails, the other points (results in or near underflow, subnormal inputs: where cancelling
//    and flushing formulas fail): forward max ULP; backward the absolute error in units of 2^-24
//    (ACTIVATIONS.md's rule for derivatives below 2^-20), ULP where |exact| >= 2^-20;
//  - `beyond`: points outside ACTIVATIONS.md's bound (4 ULP forward, 8 ULP or 2^-24 absolute
//    backward; against long double for every activation, piecewise-linear ones included);
//  - backward at the library's kinks (relu'(0), hardswish'(±3), ...): the value, beside the pinned
//    convention; these points are left out of the ULP figures.
#include "actforge/check/numeric.hpp"
#include "actforge/check/reference.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/jit.hpp"
#include "actforge/runtime/kernel_check.hpp"
#include "peers/peer.hpp"

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace actforge;
using namespace actforge::bench;

constexpr double kForwardBound = runtime::kForwardUlp;
constexpr double kBackwardBound = runtime::kBackwardUlp;
constexpr long double kTiny = 0x1p-20L; // below it, backward errors are absolute
constexpr long double kAbsUnit = 0x1p-24L;

struct Options {
  int log2_stride = 12;
  std::string out;
};

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.starts_with("--log2_stride=")) {
      o.log2_stride = std::stoi(std::string(a.substr(14)));
      if (o.log2_stride < 0 || o.log2_stride > 24)
        throw Error("--log2_stride: expected 0 to 24, got " + std::string(a.substr(14)));
    } else if (a.starts_with("--out=")) {
      o.out = std::string(a.substr(6));
    } else {
      throw Error("unknown argument '" + std::string(a) +
                  "' (usage: actforge_peer_accuracy [--log2_stride=12] [--out=FILE.json])");
    }
  }
  return o;
}

std::vector<float> sample(int log2_stride) {
  std::vector<float> xs;
  const std::uint64_t step = std::uint64_t{1} << log2_stride;
  for (std::uint64_t bits = 0; bits <= 0xffffffffu; bits += step) {
    const float x = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    if (std::isfinite(x) && std::fabs(x) <= 1e4f) xs.push_back(x);
  }
  const float denorm_min = std::numeric_limits<float>::denorm_min();
  const float denorm_max = std::nextafter(FLT_MIN, 0.0f);
  for (const float x : {denorm_min, denorm_max, FLT_MIN}) {
    xs.push_back(x);
    xs.push_back(-x);
  }
  return xs;
}

struct Special {
  const char *name;
  float x;
};
const Special kSpecials[] = {{"nan", std::numeric_limits<float>::quiet_NaN()},
                             {"+inf", std::numeric_limits<float>::infinity()},
                             {"-inf", -std::numeric_limits<float>::infinity()},
                             {"+max", FLT_MAX},
                             {"-max", -FLT_MAX}};

/// The exact values of one activation and direction at the sample, the specials and the kinks.
struct Reference {
  std::vector<long double> sample, specials;
  std::vector<long double> kinks, pinned; // backward: the kinks and the pinned derivative there
};

Reference reference(std::string_view activation, Direction d, const std::vector<float> &xs) {
  const check::Subject s = check::make_subject(activation);
  const ir::Program program(d == Direction::Forward ? s.expr
                                                    : ir::differentiate(s.expr, ir::input(0)));
  check::Probe probe{&program, {0}, {}, 0, false};
  for (const auto &info : program.params())
    probe.params.push_back(s.params.at(info.name));
  Reference r;
  for (const float x : xs)
    r.sample.push_back(check::reference_value(probe, x));
  for (const Special &sp : kSpecials)
    r.specials.push_back(std::isnan(sp.x) ? std::numeric_limits<long double>::quiet_NaN()
                                          : check::reference_value(probe, sp.x));
  if (d == Direction::Backward && s.entry)
    for (int i = 0; i < s.entry->info.n_kinks; ++i) {
      const dsl::Kink &k = s.entry->info.kinks[static_cast<std::size_t>(i)];
      if (std::isnan(k.derivative)) continue; // the library pins nothing there
      r.kinks.push_back(k.at);
      r.pinned.push_back(k.derivative);
    }
  return r;
}

/// Ours as a peer: actforge::jit(name, {role, f32, host}), called through Kernel.
Peer ours() {
  return {"actforge", [] { return "actforge::jit, target host: " + jit("relu").name(); },
          [](std::string_view, Direction) { return true; },
          [](std::string_view activation, Direction d, const Io &io, int) {
            const Kernel k =
                jit(activation, {.role = d == Direction::Forward ? Role::Forward : Role::Backward,
                                 .dtype = DType::F32,
                                 .target = "host",
                                 .schedule = std::nullopt});
            if (d == Direction::Forward)
              return Prepared{[k, io] { k.forward(io.x, io.out, io.n); }, k.name()};
            return Prepared{[k, io] { k.backward(io.x, io.dy, io.out, io.n); }, k.name()};
          }};
}

/// The outputs of one implementation at the points xs (dy = 1).
std::vector<float> run(const Peer &p, std::string_view activation, Direction d,
                       const std::vector<float> &xs, std::string *label) {
  const std::vector<float> dy(xs.size(), 1.0f);
  std::vector<float> out(xs.size(), std::numeric_limits<float>::quiet_NaN());
  const Prepared prepared =
      p.prepare(activation, d, {xs.data(), dy.data(), out.data(), std::int64_t(xs.size())}, 1);
  prepared.call();
  if (prepared.finish) prepared.finish();
  *label = prepared.label;
  return out;
}

bool subnormal(long double v) { return v != 0 && std::fabs(v) < static_cast<long double>(FLT_MIN); }

std::string text(double v) {
  if (std::isnan(v)) return "nan"; // the sign of a NaN carries nothing
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
std::string json_number(double v) { return std::isfinite(v) ? text(v) : "\"" + text(v) + "\""; }
std::string json_string(const std::string &s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

struct Result {
  std::string impl, activation, role, label, error;
  double bulk_ulp = 0, bulk_x = 0; // x normal or zero, |exact| >= 2^-20
  double tail = 0, tail_x = 0;     // elsewhere: ULP (forward), |error| / 2^-24 (backward)
  long points = 0, beyond = 0;
  std::vector<float> specials;        // outputs at kSpecials
  std::vector<long double> expected;  // the reference there
  std::vector<bool> special_ok;       // NaN for NaN, the limit within the bound
  std::vector<float> kinks, at_kinks; // backward: x and the output
  std::vector<long double> pinned;    // the library's convention there
};

Result measure(const Peer &p, std::string_view activation, Direction d,
               const std::vector<float> &xs, const Reference &ref) {
  Result r;
  r.impl = p.name;
  r.activation = activation;
  r.role = d == Direction::Forward ? "fwd" : "bwd";
  const double bound = d == Direction::Forward ? kForwardBound : kBackwardBound;
  std::vector<float> points = xs;
  for (const Special &sp : kSpecials)
    points.push_back(sp.x);
  for (const long double k : ref.kinks)
    points.push_back(static_cast<float>(k));
  std::vector<float> out;
  try {
    out = run(p, activation, d, points, &r.label);
  } catch (const std::exception &e) { // actforge::Error, or a library's own (c10::Error)
    r.error = e.what();
    return r;
  }
  auto is_kink = [&](float x) {
    for (const long double k : ref.kinks)
      if (static_cast<long double>(x) == k) return true;
    return false;
  };
  auto raise = [](double &max, double &at, double err, float x) {
    if (!(err <= max)) { // a NaN error counts as the worst
      max = err;
      at = x;
    }
  };
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const long double exact = ref.sample[i];
    const float got = out[i];
    if (d == Direction::Backward && is_kink(xs[i])) continue;
    ++r.points;
    const double err = runtime::ulp_error(got, exact, DType::F32);
    const bool tiny = std::fabs(exact) < kTiny;
    if (!tiny && !subnormal(xs[i])) {
      raise(r.bulk_ulp, r.bulk_x, err, xs[i]);
      if (!(err <= bound)) ++r.beyond;
    } else if (d == Direction::Forward || !tiny) {
      raise(r.tail, r.tail_x, err, xs[i]);
      if (!(err <= bound)) ++r.beyond;
    } else {
      // ACTIVATIONS.md: a backward value below 2^-20 may instead be within 2^-24 absolutely.
      const double abs_err =
          std::isnan(got) ? INFINITY : static_cast<double>(std::fabs(got - exact) / kAbsUnit);
      raise(r.tail, r.tail_x, abs_err, xs[i]);
      if (!(err <= bound) && !(abs_err <= 1)) ++r.beyond;
    }
  }
  for (std::size_t j = 0; j < std::size(kSpecials); ++j) {
    const float got = out[xs.size() + j];
    const long double exact = ref.specials[j];
    r.specials.push_back(got);
    r.expected.push_back(exact);
    r.special_ok.push_back(std::isnan(exact) ? std::isnan(got)
                                             : runtime::ulp_error(got, exact, DType::F32) <= bound);
  }
  for (std::size_t j = 0; j < ref.kinks.size(); ++j) {
    r.kinks.push_back(static_cast<float>(ref.kinks[j]));
    r.at_kinks.push_back(out[xs.size() + std::size(kSpecials) + j]);
    r.pinned.push_back(ref.pinned[j]);
  }
  return r;
}

void write_json(const std::string &path, const Options &o, std::size_t sample_points,
                const std::vector<std::pair<std::string, std::string>> &impls,
                const std::vector<Result> &results) {
  std::ofstream f(path);
  if (!f) throw Error("cannot write " + path);
  f << "{\n  \"sample\": {\"log2_stride\": " << o.log2_stride << ", \"points\": " << sample_points
    << ", \"description\": "
    << json_string("every 2^" + std::to_string(o.log2_stride) +
                   "-th f32 bit pattern with |x| <= 1e4 (-0 and subnormals included), plus "
                   "±denorm_min, ±largest subnormal, ±FLT_MIN; dy = 1")
    << ", \"forward_bound_ulp\": " << kForwardBound
    << ", \"backward_bound_ulp\": " << kBackwardBound << "},\n  \"specials\": [";
  for (std::size_t j = 0; j < std::size(kSpecials); ++j)
    f << (j ? ", " : "") << json_string(kSpecials[j].name);
  f << "],\n  \"implementations\": {";
  for (std::size_t i = 0; i < impls.size(); ++i)
    f << (i ? ",\n    " : "\n    ") << json_string(impls[i].first) << ": "
      << json_string(impls[i].second);
  f << "\n  },\n  \"results\": [";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Result &r = results[i];
    f << (i ? ",\n    {" : "\n    {") << "\"impl\": " << json_string(r.impl)
      << ", \"activation\": " << json_string(r.activation) << ", \"role\": " << json_string(r.role)
      << ", \"label\": " << json_string(r.label);
    if (!r.error.empty()) {
      f << ", \"error\": " << json_string(r.error) << "}";
      continue;
    }
    f << ", \"points\": " << r.points << ", \"bulk_ulp\": " << json_number(r.bulk_ulp)
      << ", \"bulk_x\": " << json_number(r.bulk_x) << ", \"tail\": " << json_number(r.tail)
      << ", \"tail_unit\": " << (r.role == "fwd" ? "\"ulp\"" : "\"2^-24\"")
      << ", \"tail_x\": " << json_number(r.tail_x) << ", \"beyond\": " << r.beyond
      << ", \"specials\": {";
    for (std::size_t j = 0; j < r.specials.size(); ++j)
      f << (j ? ", " : "") << json_string(kSpecials[j].name)
        << ": {\"got\": " << json_string(text(r.specials[j]))
        << ", \"expected\": " << json_string(text(static_cast<double>(r.expected[j])))
        << ", \"ok\": " << (r.special_ok[j] ? "true" : "false") << "}";
    f << "}, \"kinks\": [";
    for (std::size_t j = 0; j < r.kinks.size(); ++j)
      f << (j ? ", " : "") << "{\"x\": " << json_number(r.kinks[j])
        << ", \"got\": " << json_string(text(r.at_kinks[j]))
        << ", \"pinned\": " << json_string(text(static_cast<float>(r.pinned[j]))) << "}";
    f << "]}";
  }
  f << "\n  ]\n}\n";
  if (!f) throw Error("cannot write " + path);
}

void print(const std::vector<Result> &results) {
  std::printf("%-9s %-11s %-4s %10s %11s %10s %11s %7s  %-s\n", "impl", "activation", "role",
              "bulk ulp", "at x", "tail", "at x", "beyond",
              "nan +inf -inf +max -max (wrong: value)");
  for (const Result &r : results) {
    std::printf("%-9s %-11s %-4s ", r.impl.c_str(), r.activation.c_str(), r.role.c_str());
    if (!r.error.empty()) {
      std::printf("%s\n", r.error.c_str());
      continue;
    }
    std::string specials;
    for (std::size_t j = 0; j < r.specials.size(); ++j)
      specials += r.special_ok[j] ? "ok " : text(r.specials[j]) + " ";
    std::string kinks;
    for (std::size_t j = 0; j < r.kinks.size(); ++j)
      if (!(r.at_kinks[j] == static_cast<float>(r.pinned[j])))
        kinks += " f'(" + text(r.kinks[j]) + ")=" + text(r.at_kinks[j]);
    std::printf("%10.3g %11.4g %10.3g %11.4g %7ld  %s%s\n", r.bulk_ulp, r.bulk_x, r.tail, r.tail_x,
                r.beyond, specials.c_str(), kinks.c_str());
  }
}

} // namespace

int main(int argc, char **argv) {
  try {
    const Options o = parse(argc, argv);
    const std::vector<float> xs = sample(o.log2_stride);
    std::vector<std::string> skipped;
    std::vector<Peer> impls = {ours()};
    for (const Peer &p : peers(&skipped))
      impls.push_back(p);
    for (const std::string &why : skipped)
      std::cerr << "actforge_peer_accuracy: " << why << ": skipped\n";
    std::vector<std::pair<std::string, std::string>> described;
    for (const Peer &p : impls) {
      described.emplace_back(p.name, p.describe());
      std::cout << "# " << p.name << ": " << described.back().second << "\n";
    }
    std::cout << "# sample: " << xs.size() << " points (every 2^" << o.log2_stride
              << "-th f32 bit pattern with |x| <= 1e4, subnormals, ±FLT_MIN); dy = 1\n";
    std::vector<Result> results;
    for (const std::string_view act : kActivations)
      for (const Direction d : kDirections) {
        const Reference ref = reference(act, d, xs);
        for (const Peer &p : impls)
          if (p.has(act, d)) results.push_back(measure(p, act, d, xs, ref));
      }
    print(results);
    if (!o.out.empty()) {
      write_json(o.out, o, xs.size(), described, results);
      std::cout << "# written: " << o.out << "\n";
    }
  } catch (const std::exception &e) {
    std::cerr << "actforge_peer_accuracy: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
