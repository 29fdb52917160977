// actforge gen --target fpga: the HLS emitter's files, and the float mode's measured accuracy.
#include "actforge/runtime/fpga.hpp"

#include "actforge/error.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/kernel_check.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace actforge::runtime::fpga {
namespace {

void write(const std::filesystem::path &path, const std::string &text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f.flush()) throw Error("cannot write " + path.string());
}

} // namespace

std::vector<std::string> generate(const Options &options, const std::string &dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create " + dir + ": " + ec.message());
  std::vector<std::string> written;
  // A parameter value applies to every activation that has the parameter, and must fit one.
  for (const auto &[name, value] : options.hls.params) {
    (void)value;
    bool used =
        name == "k" && std::any_of(options.activations.begin(), options.activations.end(),
                                   [](const aot::Activation &a) { return !a.expr.defined(); });
    for (const auto &a : options.activations)
      if (a.expr.defined())
        for (const auto &p : ir::collect_params(a.expr))
          used = used || p.name == name;
    if (!used) throw Error("no activation given has a parameter '" + name + "'");
  }
  for (const auto &a : options.activations) {
    if (a.uniform_g && options.hls.in)
      throw Error(a.name + ": a generated input g (uniform_g) is for the fpga float mode, not "
                           "fixed point");
    if (!a.expr.defined()) {
      // maxout: a group maximum, exact in both modes; k from --param k (default 2).
      codegen::hls::Options o = options.hls;
      o.params.clear();
      if (auto k = options.hls.params.find("k"); k != options.hls.params.end())
        o.params["k"] = k->second;
      for (codegen::Role role : options.roles) {
        const std::string stem = a.name + "_" + std::string(codegen::short_name(role));
        const codegen::hls::Kernel kern = codegen::hls::generate_maxout(role, stem, o);
        write(std::filesystem::path(dir) / (stem + ".c"), kern.source);
        write(std::filesystem::path(dir) / (stem + ".h"), kern.header);
        write(std::filesystem::path(dir) / (stem + ".report.json"),
              codegen::hls::to_json(kern.report));
        for (const char *ext : {".c", ".h", ".report.json"})
          written.push_back(stem + ext);
      }
      continue;
    }
    // Float mode: the C simulation's max ULP per role, from the same check as `actforge check`.
    // A generated g (uniform_g) lies in [0, 1), which that check's sample of g (every f32 pattern)
    // does not respect: such kernels are measured against the x86 kernels by their test instead.
    std::vector<check::Record> measured;
    if (!options.hls.in && !a.uniform_g) {
      check::Subject s{a.name, a.expr, nullptr, {}};
      for (const auto &p : ir::collect_params(a.expr)) {
        auto given = options.hls.params.find(p.name);
        if (given != options.hls.params.end())
          s.params[p.name] = given->second;
        else if (p.default_value)
          s.params[p.name] = *p.default_value;
        else
          throw Error("parameter '" + p.name + "' of " + a.name +
                      " has no default: give it a value");
      }
      KernelCheckOptions ko;
      ko.target = "fpga";
      ko.dtypes = {DType::F32};
      measured = check_kernels(s, ko);
    }
    for (codegen::Role role : options.roles) {
      const std::string stem = a.name + "_" + std::string(codegen::short_name(role));
      codegen::hls::Options o = options.hls;
      o.uniform_g = a.uniform_g;
      std::erase_if(o.params, [&](const auto &kv) {
        for (const auto &p : ir::collect_params(a.expr))
          if (p.name == kv.first) return false;
        return true;
      });
      codegen::hls::Kernel k = codegen::hls::generate(a.expr, role, stem, o);
      if (!options.hls.in && a.uniform_g) {
        k.report.error_scale = "ulp of f32";
        k.report.measured_over =
            "not measured by gen: g is generated in [0, 1) in the kernel; "
            "tests/cli/fpga_rrelu_train.sh compares the kernels with the x86 ones (C simulation)";
      } else if (!options.hls.in) {
        double ulp = 0;
        long points = 0;
        bool found = false;
        for (const auto &r : measured) {
          const std::string want(codegen::to_string(role));
          if (r.role != want && r.role != want + "_g") continue;
          if (r.status != check::Status::Pass)
            throw Error(stem + ": its C simulation fails the accuracy check: " + r.reason);
          ulp = std::max(ulp, r.max_ulp.value_or(0));
          points += r.points.value_or(0);
          found = true;
        }
        if (!found) throw Error("internal error: no accuracy record for " + stem);
        k.report.achieved_error = ulp;
        k.report.error_scale = "ulp of f32";
        k.report.measured_points = points;
        k.report.measured_over =
            "C simulation on every 2^10-th f32 bit pattern plus the special values (±0, "
            "denormals, ±FLT_MAX, ±inf, NaN, kinks, ±88, ±20) against the long-double reference";
      }
      write(std::filesystem::path(dir) / (stem + ".c"), k.source);
      write(std::filesystem::path(dir) / (stem + ".h"), k.header);
      write(std::filesystem::path(dir) / (stem + ".report.json"), codegen::hls::to_json(k.report));
      for (const char *ext : {".c", ".h", ".report.json"})
        written.push_back(stem + ext);
    }
  }
  return written;
}

} // namespace actforge::runtime::fpga
