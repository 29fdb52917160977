// actforge show: an activation or expression, its parameters, kinks and derivatives.
#include "cli.hpp"

#include "actforge/check/numeric.hpp"
#include "actforge/dsl/rrelu.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/print.hpp"
#include "actforge/ir/simplify.hpp"

#include "actforge/ir/mutate.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

namespace actforge::cli {
namespace {
constexpr const char *kHelp =
    R"(usage: actforge show NAME|EXPR [--derivative] [--order N] [--wrt VAR]

Prints an activation (a library name, or an expression such as "x * sigmoid(beta * x), beta=1"),
its inputs, parameters and kinks, and with --derivative its symbolic derivative, simplified.
rrelu is RReLU in eval mode; rrelu_train is its training form, whose input g (U[0, 1)) kernels
generate themselves (Philox-4x32-10) from a seed and offset.

  --derivative   print the first derivative (same as --order 1)
  --order N      print derivatives up to order N (1..6)
  --wrt VAR      differentiate by VAR: an input (x, g) or a parameter name (default x)

Text syntax: + - * / and unary -, comparisons inside select(c, a, b) or c ? a : b, functions
exp expm1 log log1p sqrt rsqrt abs min max pow(u, N) sigmoid tanh erf erfc softplus, and every
library activation as a function (relu(g)). Inputs are x and g; other names are parameters,
with defaults written after the expression: "x * sigmoid(beta * x), beta=1.5".
)";

std::string number(long double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.17Lg", v);
  return buf;
}

// Nodes in the printed (tree) form of e, saturating at `cap`: sharing in the DAG is lost in
// text, so a small DAG can print enormously.
std::size_t printed_size(ir::Expr e, std::size_t cap) {
  std::unordered_map<const ir::Node *, std::size_t> size;
  ir::for_each_node(e, [&](ir::Expr n) {
    std::size_t total = 1;
    for (int i = 0; i < n.num_children(); ++i)
      total = std::min(cap, total + size.at(n.child(i).get()));
    size[n.get()] = total;
  });
  return size.at(e.get());
}

ir::Expr variable(const std::string &name, ir::Expr e) {
  for (int i = 0; i < ir::kMaxInputs; ++i)
    if (name == ir::input_name(i)) return ir::input(i);
  for (const auto &p : ir::collect_params(e))
    if (p.name == name) return ir::param(name);
  throw UsageError{"--wrt " + name + ": not an input (x, g) or a parameter of the expression"};
}
} // namespace

int cmd_show(const std::vector<std::string> &argv) {
  const Args args(argv, {"--derivative", "--help"}, {"--order", "--wrt"});
  if (args.flag("--help")) {
    std::fputs(kHelp, stdout);
    return kOk;
  }
  if (args.positional().size() != 1)
    throw UsageError{"show takes one activation name or expression"};
  // RReLU's training form is no catalog entry (its g is meant to be generated): dsl/rrelu.hpp.
  const bool rrelu_train = args.positional()[0] == "rrelu_train";
  check::Subject s;
  if (rrelu_train) {
    s.name = "rrelu_train";
    s.expr = dsl::rrelu_train_expr();
    for (const auto &p : ir::collect_params(s.expr))
      s.params[p.name] = *p.default_value;
  } else {
    s = resolve_subject(args.positional()[0]);
  }
  if (!s.expr.defined()) { // maxout: not an expression
    std::printf("%s: %s\n  reference semantics in dsl/maxout.hpp: the gradient goes to the "
                "first arg-max of each group\n",
                s.name.c_str(), s.entry->info.summary);
    return kOk;
  }
  const int order = int_option(args, "--order", args.flag("--derivative") ? 1 : 0, 1, 6);
  const std::string wrt = args.option("--wrt").value_or("x");
  const ir::Program program(s.expr);

  std::printf("%s = %s\n", s.name.c_str(), ir::print_body(s.expr).c_str());
  if (s.entry) std::printf("  spec:       %s\n", s.entry->info.summary);
  std::printf("  inputs:     %d (%s)\n", program.num_inputs(),
              program.num_inputs() > 1 ? "x, g" : "x");
  std::string params;
  for (const auto &p : program.params())
    params += (params.empty() ? "" : ", ") + p.name + " = " +
              (p.default_value ? number(*p.default_value) : std::string("(required)"));
  std::printf("  parameters: %s\n", params.empty() ? "none" : params.c_str());
  if (rrelu_train || s.name == "rrelu")
    std::printf(
        "  training:   rrelu_train = x>=0 ? x : (lower + (upper-lower)*g)*x, the slope drawn per\n"
        "              element from g = U[0, 1), generated in the kernel by Philox-4x32-10 at\n"
        "              (seed, element index + offset): the backward pass replays the forward's\n"
        "              slopes from the same seed and offset. C++: actforge::jit(\n"
        "              dsl::rrelu_train_expr(), {.uniform_g = true}) and run(..., Noise{seed,\n"
        "              offset}); C: actforge gen rrelu_train --uniform-g (dsl/rrelu.hpp)\n");
  if (program.num_inputs() <= 1) {
    check::Probe probe{&program, {0}, {}, 0, false};
    for (const auto &p : program.params())
      probe.params.push_back(s.params.count(p.name) ? s.params.at(p.name) : 0);
    if (program.params().empty() || s.params.size() == program.params().size()) {
      std::string kinks;
      for (long double k : check::find_kinks(probe, -100, 100, 1.0L / 128))
        kinks += (kinks.empty() ? "" : ", ") + number(k);
      std::printf("  kinks:      %s\n", kinks.empty() ? "none in [-100, 100]" : kinks.c_str());
    }
  }
  if (order > 0) {
    const ir::Expr by = variable(wrt, s.expr);
    ir::Expr e = s.expr;
    for (int k = 1; k <= order; ++k) {
      e = ir::differentiate(e, by);
      constexpr std::size_t kPrintable = 20000;
      const std::string power = k > 1 ? "^" + std::to_string(k) : "";
      const std::string text =
          printed_size(e, kPrintable) < kPrintable
              ? ir::print_body(e)
              : "(" + std::to_string(ir::dag_size(e)) + " distinct nodes: too large to print)";
      std::printf("d%s/d%s%s = %s\n", power.c_str(), wrt.c_str(), power.c_str(), text.c_str());
    }
  }
  return kOk;
}

} // namespace actforge::cli
