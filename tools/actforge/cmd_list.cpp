// actforge list: the standard activations.
#include "cli.hpp"

#include "actforge/check/record.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/print.hpp"

#include <cstdio>

namespace actforge::cli {
namespace {
constexpr const char *kHelp = R"(usage: actforge list [--json]

The standard activations of shared/ACTIVATIONS.md: name, inputs, class, parameters with their
defaults, and the formula as written in the DSL.

  --json   one JSON array: {name, inputs, family, formula, summary, params, kinks, golden}
)";

const char *shape_name(dsl::Shape s) {
  switch (s) {
  case dsl::Shape::Unary: return "x";
  case dsl::Shape::Gated: return "x, g";
  case dsl::Shape::Maxout: return "x[outer, C, inner]";
  }
  return "?";
}

const char *family_name(dsl::Family f) {
  return f == dsl::Family::PiecewiseLinear ? "piecewise-linear" : "transcendental";
}

std::string number(long double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.17Lg", v);
  return buf;
}

std::string json_entry(const dsl::Entry &e) {
  using check::json_quote;
  std::string params = "{", kinks = "[";
  if (e.expr.defined())
    for (const auto &p : ir::collect_params(e.expr))
      params += std::string(params.size() > 1 ? ", " : "") + json_quote(p.name) + ": " +
                (p.default_value ? number(*p.default_value) : "null");
  for (int i = 0; i < e.info.n_kinks; ++i)
    kinks += std::string(i ? ", " : "") + number(e.info.kinks[static_cast<std::size_t>(i)].at);
  return "{\"name\": " + json_quote(e.name) + ", \"inputs\": " + json_quote(shape_name(e.shape)) +
         ", \"family\": " + json_quote(family_name(e.info.family)) +
         ", \"formula\": " + (e.expr.defined() ? json_quote(ir::print_body(e.expr)) : "null") +
         ", \"summary\": " + json_quote(e.info.summary) + ", \"params\": " + params +
         "}, \"kinks\": " + kinks +
         "], \"golden\": " + (*e.info.golden ? json_quote(e.info.golden) : "null") + "}";
}
} // namespace

int cmd_list(const std::vector<std::string> &argv) {
  const Args args(argv, {"--json", "--help"}, {});
  if (args.flag("--help")) {
    std::fputs(kHelp, stdout);
    return kOk;
  }
  if (!args.positional().empty())
    throw UsageError{"list takes no arguments, got '" + args.positional()[0] + "'"};
  const auto &entries = dsl::catalog();
  if (args.flag("--json")) {
    std::string out = "[";
    for (std::size_t i = 0; i < entries.size(); ++i)
      out += (i ? ",\n " : "\n ") + json_entry(entries[i]);
    std::fputs((out + "\n]\n").c_str(), stdout);
    return kOk;
  }
  std::printf("%-12s %-18s %-17s %s\n", "name", "inputs", "class", "definition");
  for (const auto &e : entries) {
    std::string def = e.expr.defined() ? ir::print(e.expr) : std::string(e.info.summary);
    std::printf("%-12s %-18s %-17s %s\n", e.name.c_str(), shape_name(e.shape),
                family_name(e.info.family), def.c_str());
  }
  std::printf("\n%zu activations. 'actforge show NAME' for one of them.\n", entries.size());
  std::printf("RReLU in training mode (slopes drawn per element in the kernel, Philox-4x32-10):\n"
              "'actforge show rrelu_train'; generate it with 'actforge gen rrelu_train "
              "--uniform-g'.\n");
  return kOk;
}

} // namespace actforge::cli
