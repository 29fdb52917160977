// actforge check: symbolic against numeric derivatives, kink conventions, golden values.
#include "cli.hpp"

#include "actforge/check/golden.hpp"
#include "actforge/check/reference.hpp"

#include <cstdio>
#include <optional>
#include <unistd.h>

namespace actforge::cli {
namespace {
constexpr const char *kHelp =
    R"(usage: actforge check NAME|EXPR...|--all [--reference] [--json] [--golden FILE]

Checks the long-double reference of activations (library names or expressions):
  forward            values against the golden oracle (50-digit values that share none of our
                     formulas), compile-time DSL against IR, NaN in -> NaN out, limits at +-inf
  backward[_g]       each first derivative against central differences in long double (step
                     cbrt(eps)*max(1,|x|)) over a grid of step 1/64 on [-10, 10], a shifted grid,
                     points near +-20, +-88 and each kink; relative error <= 1e-7 (or within the
                     difference's own error estimate); pinned kink conventions of ACTIVATIONS.md;
                     golden derivatives; compile-time against IR
  second_derivative  the same for the second derivative (against differences of the first)
  param_grad:NAME    the derivative by each parameter, against differences in the parameter

  --all            every library activation
  --reference      check the long-double reference (the only target until compiled kernels exist)
  --json           one JSON array of {activation, role, target, dtype, status, max_ulp,
                   max_rel_grad_err, points, reason}
  --golden FILE    the golden CSV (default: the copy in tests/golden, or $ACTFORGE_GOLDEN)

Exit code 0 when every check passes, 1 when one fails, 2 on bad usage or input.
)";

void print_table(const std::vector<check::Record> &records) {
  std::printf("%-16s %-22s %-6s %10s %12s %7s  %s\n", "activation", "role", "status", "max_ulp",
              "max_rel_err", "points", "notes");
  for (const auto &r : records) {
    auto fig = [](const std::optional<double> &v, const char *f) {
      if (!v) return std::string("-");
      char buf[32];
      std::snprintf(buf, sizeof buf, f, *v);
      return std::string(buf);
    };
    const std::string name =
        r.activation.size() > 16 ? r.activation.substr(0, 13) + "..." : r.activation;
    std::printf("%-16s %-22s %-6s %10s %12s %7s  %s\n", name.c_str(), r.role.c_str(),
                check::to_string(r.status), fig(r.max_ulp, "%.3g").c_str(),
                fig(r.max_rel_grad_err, "%.2e").c_str(),
                r.points ? std::to_string(*r.points).c_str() : "-", r.reason.c_str());
  }
}
} // namespace

int cmd_check(const std::vector<std::string> &argv) {
  const Args args(argv, {"--all", "--reference", "--json", "--help"}, {"--golden", "--target"});
  if (args.flag("--help")) {
    std::fputs(kHelp, stdout);
    return kOk;
  }
  if (auto target = args.option("--target"))
    throw UsageError{
        "--target " + *target +
        ": no compiled targets exist yet; use --reference (the long-double reference)"};
  std::vector<std::string> names = args.positional();
  if (args.flag("--all")) {
    if (!names.empty()) throw UsageError{"give activations or --all, not both"};
    for (const auto &e : dsl::catalog())
      names.push_back(e.name);
  }
  if (names.empty()) throw UsageError{"name an activation or expression, or give --all"};

  std::vector<check::Subject> subjects;
  for (const auto &n : names)
    subjects.push_back(resolve_subject(n)); // all input errors before any work
  const std::string golden_path = args.option("--golden").value_or(check::default_golden_path());
  const check::Golden golden = check::load_golden(golden_path);

  const bool progress = isatty(fileno(stderr)) && subjects.size() > 1;
  std::vector<check::Record> records;
  for (const auto &s : subjects) {
    if (progress) std::fprintf(stderr, "\rchecking %-40.40s", s.name.c_str());
    auto r = check::check_reference(s, &golden);
    records.insert(records.end(), r.begin(), r.end());
  }
  if (progress) std::fprintf(stderr, "\r%50s\r", "");
  long passed = 0, failed = 0, skipped = 0;
  for (const auto &r : records)
    (r.status == check::Status::Pass   ? passed
     : r.status == check::Status::Fail ? failed
                                       : skipped)++;
  if (args.flag("--json")) {
    std::fputs(check::to_json(records).c_str(), stdout);
  } else {
    print_table(records);
    std::printf("\ncheck: %ld passed, %ld failed, %ld skipped\n", passed, failed, skipped);
  }
  return failed ? kCheckFailed : kOk;
}

} // namespace actforge::cli
