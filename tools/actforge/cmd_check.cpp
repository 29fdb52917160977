// actforge check: symbolic against numeric derivatives, kink conventions, golden values.
#include "cli.hpp"

#include "actforge/check/golden.hpp"
#include "actforge/check/reference.hpp"
#include "actforge/codegen/kernel_spec.hpp"
#include "actforge/dsl/epilogue.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/kernel_check.hpp"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <unistd.h>

namespace actforge::cli {
namespace {
constexpr const char *kHelp =
    R"(usage: actforge check NAME|EXPR...|--all [--reference] [--target T] [--dtype D,...]
                      [--sample-stride N | --exhaustive] [--epilogue E] [--json]

With --target, compiles the kernels of each activation for T (host, x86-64-avx2,
x86-64-avx512, arm-64-linux, arm-64-linux-fp16, cuda, fpga) — forward, backward (backward_g for gated activations, whose x and g run over
scrambled pairs of the sample), and backward_from_output where f' is a function of f's output —
runs them on every 2^10-th float32 (all f16/bf16 values, 2^22 f64 patterns) plus the special
values, and reports the max ULP against the long-double reference: piecewise-linear kernels must
equal their formula evaluated in the compute type, transcendental ones be within 4 ULP (forward)
and 8 ULP (backward; or absolutely within 2^-p max(1,|dy|) where the true value is below 2^(4-p)).
f64 kernels may instead stay within the first-order error bound of evaluating the same formula
in f64 (the long-double reference has only 11 more bits; near a root of a cancelling sum no f64
evaluation holds a few ulps); the notes count such points. Each backward kernel also meets
central differences of the long-double forward formula (max_rel_err: relative, where
|f'| >= 2^-10, away from kinks; at most 16 ulp of the dtype, f64 1e-9). Targets this CPU lacks
are skipped, and so is cuda on a machine without an NVIDIA driver and GPU (the reason says
which). cuda kernels get the sample in host memory and copy it to the GPU and back. ARM kernels
are generated as for `actforge gen`, linked by aarch64-linux-gnu-gcc with a driver and run under
qemu-aarch64 (the sample travels to it and back), and each kernel's inner loop is disassembled
(aarch64-linux-gnu-objdump) and must be NEON vector code without calls (record role "neon");
skipped, with the reason, when the cross tools are missing. fpga kernels (HLS C99, forward and
backward) pass the rule check (record role "rules": gcc and clang -std=c99 -pedantic -Wall
-Wextra -Werror, g++ as C++, nm -u empty, no forbidden construct) and run as a C simulation: in
f32 against the bounds above; with --fixed on every input word (x, or g for gated ones) times
probe words of the other inputs, where they must give the emitter's integer program bit for bit,
an error (max_abs_err; backward relative to max(1,|dy|), gated to max(1,|x|)) equal to the one
`actforge gen` reports, and within --max-error.

Without --target (or with --reference), checks the long-double reference itself:
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
  --reference      check the long-double reference (the default)
  --json           one JSON array of {activation, role, target, dtype, status, max_ulp,
                   max_rel_grad_err, points, reason}
  --golden FILE    the golden CSV (default: the copy in tests/golden, or $ACTFORGE_GOLDEN)
  --target T       check compiled kernels for T instead (see above)
  --dtype D,...    with --target: f32, f64, f16, bf16 (default: all four)
  --sample-stride N  with --target: every 2^N-th f32 pattern (N from 0 to 24; default 10), and
                   as many f64 patterns; f16/bf16 always take all 65536 values
  --exhaustive     with --target: every f32 input (2^32), not a sample; takes long
  --fixed W.F[:W.F]  with --target fpga: fixed point, input[:output] format (16.10: 16-bit
                   words, 10 fractional bits); without it the fpga kernels are IEEE f32
  --backend B      with --target: halide (default) or mlir: the kernels of the MLIR backend
                   (codegen/mlir, compiled by actforge-mlir with MLIR 19) for host,
                   x86-64-avx2 or x86-64-avx512, f32/f16/bf16 storage (default those three),
                   every role; records name the target mlir/<target>
  --epilogue E     check each activation f fused with an epilogue instead: bias f(x + bias),
                   affine f(scale*x + shift) (batch norm's gamma, beta), residual f(x + g) (a
                   second input: backward_g is the residual's gradient), or all (the three in
                   turn). The parameters take bias = 0.375, scale = 1.25, shift = -0.5;
                   param_grad:bias, :scale and :shift are their reductions. Named "f+bias" etc.; with --all, the activations of one
                   input (gated ones and maxout take no epilogue)
  --max-error E    with --fixed: the tables' error bound (default: one output LSB)
  --table N        with --fixed: N intervals per table (a power of two) instead of a bound

Exit code 0 when every check passes, 1 when one fails, 2 on bad usage or input.
)";

void print_table(const std::vector<check::Record> &records) {
  std::printf("%-16s %-22s %-5s %-6s %10s %12s %7s  %s\n", "activation", "role", "dtype", "status",
              "max_ulp", "max_rel_err", "points", "notes");
  for (const auto &r : records) {
    auto fig = [](const std::optional<double> &v, const char *f) {
      if (!v) return std::string("-");
      char buf[32];
      std::snprintf(buf, sizeof buf, f, *v);
      return std::string(buf);
    };
    const std::string name =
        r.activation.size() > 16 ? r.activation.substr(0, 13) + "..." : r.activation;
    std::printf("%-16s %-22s %-5s %-6s %10s %12s %7s  %s\n", name.c_str(), r.role.c_str(),
                r.dtype.c_str(), check::to_string(r.status), fig(r.max_ulp, "%.3g").c_str(),
                fig(r.max_rel_grad_err, "%.2e").c_str(),
                r.points ? std::to_string(*r.points).c_str() : "-", r.reason.c_str());
  }
}
} // namespace

int cmd_check(const std::vector<std::string> &argv) {
  const Args args(argv, {"--all", "--reference", "--json", "--exhaustive", "--help"},
                  {"--golden", "--target", "--dtype", "--sample-stride", "--fixed", "--max-error",
                   "--table", "--backend", "--epilogue"});
  if (args.flag("--help")) {
    std::fputs(kHelp, stdout);
    return kOk;
  }
  const auto target = args.option("--target");
  if (target && args.flag("--reference"))
    throw UsageError{"give --reference or --target, not both"};
  runtime::KernelCheckOptions kernel_options;
  {
    codegen::hls::Options hls;
    read_fpga_options(args, target && *target == "fpga", hls);
    kernel_options.fixed_in = hls.in;
    kernel_options.fixed_out = hls.out;
    kernel_options.max_error = hls.max_error;
    kernel_options.table_intervals = hls.table_intervals;
    if (target && *target == "fpga" && !args.option("--dtype"))
      kernel_options.dtypes = {codegen::DType::F32};
  }
  if (auto backend = args.option("--backend")) {
    if (*backend != "halide" && *backend != "mlir")
      throw UsageError{"--backend takes halide or mlir, not '" + *backend + "'"};
    if (!target) throw UsageError{"--backend goes with --target"};
    if (*backend == "mlir" && *target != "host" && target->rfind("x86-64", 0) != 0)
      throw UsageError{"--backend mlir checks x86 CPU kernels (host, x86-64-avx2, "
                       "x86-64-avx512), not '" +
                       *target + "'"};
    kernel_options.backend = *backend;
    if (*backend == "mlir" && !args.option("--dtype"))
      kernel_options.dtypes = {codegen::DType::F32, codegen::DType::F16, codegen::DType::BF16};
  }
  if (target) {
    kernel_options.target = *target;
    if (auto stride = args.option("--sample-stride")) {
      if (args.flag("--exhaustive")) throw UsageError{"give --sample-stride or --exhaustive"};
      char *end = nullptr;
      const long v = std::strtol(stride->c_str(), &end, 10);
      if (stride->empty() || *end || v < 0 || v > 24)
        throw UsageError{"--sample-stride must be an integer from 0 to 24, got '" + *stride + "'"};
      kernel_options.log2_stride = static_cast<int>(v);
    }
    if (args.flag("--exhaustive")) kernel_options.log2_stride = 0;
    if (auto list = args.option("--dtype")) {
      kernel_options.dtypes.clear();
      for (std::size_t start = 0; start <= list->size();) {
        const std::size_t comma = std::min(list->find(',', start), list->size());
        try {
          kernel_options.dtypes.push_back(codegen::parse_dtype(list->substr(start, comma - start)));
        } catch (const Error &e) {
          throw UsageError{std::string("--dtype: ") + e.what()};
        }
        start = comma + 1;
      }
    }
  } else if (args.option("--dtype") || args.flag("--exhaustive") ||
             args.option("--sample-stride")) {
    throw UsageError{"--dtype, --sample-stride and --exhaustive go with --target"};
  }
  std::vector<std::string> names = args.positional();
  if (args.flag("--all")) {
    if (!names.empty()) throw UsageError{"give activations or --all, not both"};
    for (const auto &e : dsl::catalog())
      names.push_back(e.name);
  }
  if (names.empty()) throw UsageError{"name an activation or expression, or give --all"};

  std::vector<dsl::Epilogue> epilogues{dsl::Epilogue::None};
  if (auto e = args.option("--epilogue")) {
    try {
      epilogues = *e == "all" ? std::vector{dsl::Epilogue::Bias, dsl::Epilogue::Affine,
                                            dsl::Epilogue::Residual}
                              : std::vector{dsl::parse_epilogue(*e)};
    } catch (const Error &err) {
      throw UsageError{std::string("--epilogue: ") + err.what() + " or all"};
    }
  }
  std::vector<check::Subject> subjects;
  for (const auto &n : names) {
    const check::Subject s = resolve_subject(n); // all input errors before any work
    for (const dsl::Epilogue e : epilogues) {
      if (e == dsl::Epilogue::None) {
        subjects.push_back(s);
        continue;
      }
      const bool unary = s.expr.defined() && ir::count_inputs(s.expr) <= 1;
      if (!unary && args.flag("--all")) continue;
      if (!unary)
        throw UsageError{"--epilogue: " + s.name +
                         " is not an activation of one input (x): it takes no epilogue"};
      check::Subject fused;
      fused.name = s.name + "+" + std::string(dsl::to_string(e));
      try {
        fused.expr = dsl::with_epilogue(s.expr, e);
      } catch (const Error &err) {
        throw UsageError{std::string("--epilogue: ") + err.what()};
      }
      fused.params = s.params;
      const dsl::ParamValues values{{"bias", 0.375L}, {"scale", 1.25L}, {"shift", -0.5L}};
      for (const std::string &p : dsl::epilogue_params(e))
        fused.params[p] = values.at(p);
      subjects.push_back(std::move(fused));
    }
  }
  const std::string golden_path = args.option("--golden").value_or(check::default_golden_path());
  const check::Golden golden = check::load_golden(golden_path);

  const bool progress = isatty(fileno(stderr)) && subjects.size() > 1;
  std::vector<check::Record> records;
  for (const auto &s : subjects) {
    if (progress) std::fprintf(stderr, "\rchecking %-40.40s", s.name.c_str());
    auto r =
        target ? runtime::check_kernels(s, kernel_options) : check::check_reference(s, &golden);
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
