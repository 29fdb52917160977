// actforge: the command-line face of Actforge (list, show, check, gen).
#include "cli.hpp"

#include "actforge/error.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {
constexpr const char *kHelp = R"(usage: actforge <command> [options]

Activation kernels from one expression: write an activation, get its derivatives,
check them.

commands:
  list     the standard activations (--json for machine-readable output)
  show     an activation or expression, its parameters, kinks and derivatives
  check    symbolic derivatives against numeric ones, kink conventions, golden values
  gen      kernels ahead of time: objects, a C header and wrappers with a registry
  tune     measured schedule search on this machine, written to the tuning database
  report   the main job: correctness, speed and tuning of every activation on every target here
  analyze  range, smoothness, derivative, N(0,1) statistics, init gain and cost, side by side
  plot     curves and derivatives as an SVG file

Run 'actforge <command> --help' for a command's options.
Exit codes: 0 all passed, 1 a check failed, 2 bad usage or bad input.
)";
} // namespace

int main(int argc, char **argv) {
  using namespace actforge::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kHelp, args.empty() ? stderr : stdout);
    return args.empty() ? kUsage : kOk;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "list") return cmd_list(args);
    if (command == "show") return cmd_show(args);
    if (command == "check") return cmd_check(args);
    if (command == "gen") return cmd_gen(args);
    if (command == "tune") return cmd_tune(args);
    if (command == "report") return cmd_report(args);
    if (command == "analyze") return cmd_analyze(args);
    if (command == "plot") return cmd_plot(args);
    std::fprintf(stderr, "actforge: unknown command '%s'\n\n%s", command.c_str(), kHelp);
    return kUsage;
  } catch (const UsageError &e) {
    std::fprintf(stderr, "actforge %s: %s\n(see 'actforge %s --help')\n", command.c_str(),
                 e.message.c_str(), command.c_str());
    return kUsage;
  } catch (const actforge::Error &e) {
    std::fprintf(stderr, "actforge %s: error: %s\n", command.c_str(), e.what());
    return kUsage;
  }
}
