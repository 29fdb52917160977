// actforge gen: kernels ahead of time — objects, a Halide runtime, a C header and wrappers with
// a registry (actforge::aot::generate).
#include "cli.hpp"

#include "actforge/dsl/epilogue.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/runtime/aot.hpp"
#include "actforge/runtime/fpga.hpp"
#include "actforge/runtime/mlir.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace actforge::cli {
namespace {
constexpr const char *kHelp = R"help(usage: actforge gen NAME|EXPR|NAME=EXPR... --out DIR [options]

Generates kernels ahead of time for C and C++ hosts. Each activation is a library name (swish),
an expression ("x*tanh(softplus(x))", named expr_ and 8 hex digits of its hash), or a named
expression (mish="x*tanh(softplus(x))"). DIR receives:
  PREFIX_kernels.h      the C ABI, documented: int PREFIX_swish_fwd_f32(const float *x,
                        float *y, int64_t n, const PREFIX_swish_params *p), the other roles
                        (bwd, bwdy, pgrad) and layouts (_ch), error codes, the registry
  PREFIX_kernels.c      the wrappers, the run-time CPU dispatch, the registry
  libPREFIX_kernels.a   the kernel objects and one Halide runtime (also written separately)
Link the archive and compile the .c. The same arguments give byte-identical files. A role an
activation lacks (param_grad without parameters, backward_from_output where f' is not a function
of f) is skipped, and the header says so.

  --out DIR            where to write (created if missing)
  --target T[,T...]    one family: host, x86-64-avx2, x86-64-avx512 (default host);
                       or arm-64-linux, arm-64-linux-fp16: AArch64 objects and C for Linux and
                       Android (compile the .c with the cross compiler; it dispatches by
                       getauxval(AT_HWCAP)); or cuda alone: functions on device pointers
                       (param_grad results: host memory), PTX of each kernel beside its object
                       (<kernel>.ptx, _unaligned.ptx);
                       or fpga alone: HLS C99 for Vitis/Intel HLS flows, one kernel per
                       activation and role: NAME_fwd.c, NAME_fwd.h, NAME_fwd.report.json (the
                       error achieved, table sizes in bits, operations per element), and _bwd;
                       IEEE f32 with generated polynomials (no libm), or fixed point:
  --fixed W.F[:W.F]    (fpga) fixed point, input[:output] format, e.g. 16.10: 16-bit words with
                       10 fractional bits; smooth functions become interpolated tables
  --max-error E        (fpga, fixed) the error bound the tables are sized for (default one
                       output LSB); the report gives the error measured over every input word
  --table N            (fpga, fixed) N intervals per table (a power of two) instead
  --max-n N            (fpga) the largest element count of one call (default 1048576)
  --param P=V[,P=V...] (fpga) parameter values: the kernels are specialised to them (default:
                       each parameter's default; one without a default needs a value);
                       maxout takes its group size as k (default 2). CPU targets: maxout's
                       --param k=N[,k=M...] (2 to 16) gives PREFIX_maxout_kN_fwd_DTYPE(x, y,
                       outer, channels_in, inner) and _bwd_ (x, dy, dx, ...) per dtype
  --backend mlir       the MLIR backend instead (codegen/mlir; needs actforge-mlir, built with
                       MLIR 19): PREFIX_NAME_ROLE_DTYPE.mlir per kernel (func over
                       memref<?xT>, scf + vector + arith; verified by mlir-opt-19), for IREE
                       or your own pipeline; one target: host, x86-64-avx2, x86-64-avx512, or
                       cuda (a gpu.module, one element per thread); flat layout; f32, f16, bf16
  --emit mlir|obj|ptx  (mlir) also the object with the C ABI above and its .h (obj, CPU), or
                       the PTX for sm_90 (ptx, --target cuda); default mlir
  --role R[,R...]      forward, backward, backward_from_output, param_grad
                       (default forward,backward)
  --dtype D[,D...]     f32, f64, f16, bf16 (default f32)
  --layout L[,L...]    flat (n elements), channels ([outer, C, inner]) (default flat)
  --per-channel P[,P...]  parameters that take C values in the channel layout
  --uniform-g          input g of every activation given is generated in the kernel, not
                       passed: g = U[0, 1) from Philox-4x32-10 keyed by a 64-bit seed at counter
                       element index + offset. Functions are named NAME_ROLE_rng_DTYPE, take no
                       g (bwd writes no dg) and take uint64_t seed, uint64_t offset after the
                       parameters; the same (seed, offset) gives the same g in every role and
                       on every target. RReLU in training mode: gen rrelu_train --uniform-g
                       (slope = lower + (upper - lower)*g). CPU, cuda and fpga (float) targets;
                       not --backend mlir
  --epilogue E         each activation f fused with the operation before it (one input x):
                       bias f(x + bias), affine f(scale*x + shift) (batch norm), residual
                       f(x + g); functions named NAME_E_ROLE..., bias, scale and shift per
                       channel in the channel layout (the default layout with --epilogue
                       bias|affine); backward gives dx (and dg), param_grad dbias or dscale,
                       dshift. Halide backend, CPU and cuda targets
  --zero-counts        forward and backward functions F also come as F_zero_counts(...,
                       int64_t *zero_counts), which also write how many outputs (y; dx) are
                       exactly zero: one count per channel (channels layout), one for flat.
                       Dead-unit statistics at no second pass over memory. CPU targets with
                       the halide backend; fpga: NAME_ROLE_zero_count(..., n, int64_t
                       *zero_count) beside each kernel, counting in the same pipelined loop
  --name PREFIX        the prefix of C names and files (default actforge)
  --quiet              print nothing on success (else the files written)
  --verbose            say on stderr which schedule each kernel got: the tuning database's
                       (`actforge tune`; ACTFORGE_TUNING_DB=none ignores it) or the default
)help";

int gen_mlir(const Args &args, const aot::Options &options, const std::string &out) {
  runtime::mlir::GenOptions mo;
  mo.activations = options.activations;
  if (options.targets.size() != 1)
    throw UsageError{"--backend mlir takes one --target: host, x86-64-avx2, x86-64-avx512 or cuda"};
  mo.target = options.targets.front();
  for (const char *o :
       {"--layout", "--per-channel", "--fixed", "--max-error", "--table", "--max-n", "--param"})
    if (args.option(o))
      throw UsageError{std::string(o) + " does not apply to --backend mlir (flat arrays)"};
  if (auto e = args.option("--emit")) mo.emit = *e;
  if (mo.emit != "mlir" && mo.emit != "obj" && mo.emit != "ptx")
    throw UsageError{"--emit takes mlir, obj or ptx, not '" + mo.emit + "'"};
  if ((mo.emit == "ptx") != (mo.target == "cuda") && mo.emit != "mlir")
    throw UsageError{"--emit ptx goes with --target cuda, --emit obj with a CPU target"};
  read_roles(args, mo.roles);
  read_dtypes(args, mo.dtypes);
  for (codegen::DType d : mo.dtypes)
    if (d == codegen::DType::F64)
      throw UsageError{"--backend mlir computes in f32: f16, bf16 or f32 storage, not f64"};
  if (auto n = args.option("--name")) mo.prefix = *n;
  const auto files = runtime::mlir::generate(mo, out);
  if (!args.flag("--quiet"))
    for (const auto &f : files)
      std::printf("%s/%s\n", out.c_str(), f.c_str());
  return kOk;
}

} // namespace

int cmd_gen(const std::vector<std::string> &argv) {
  const Args args(argv, {"--help", "--quiet", "--verbose", "--uniform-g", "--zero-counts"},
                  {"--out", "--target", "--role", "--dtype", "--layout", "--per-channel", "--name",
                   "--epilogue", "--fixed", "--max-error", "--table", "--max-n", "--param",
                   "--backend", "--emit"});
  if (args.flag("--help")) {
    std::fputs(kHelp, stdout);
    return kOk;
  }
  if (args.positional().empty()) throw UsageError{"name an activation or an expression"};
  const auto out = args.option("--out");
  if (!out) throw UsageError{"--out DIR is required"};
  aot::Options options;
  options.generator = "actforge gen";
  const bool fpga_target = args.option("--target") && *args.option("--target") == "fpga";
  bool maxout = false; // maxout named for a CPU target: aot::Options::maxout
  for (const auto &text : args.positional()) {
    try {
      // maxout is no expression; the fpga target writes its group maximum as a kernel, the CPU
      // targets their maxout kernels (runtime/maxout.hpp).
      if (text == "maxout") {
        if (fpga_target)
          options.activations.push_back({"maxout", ir::Expr()});
        else
          maxout = true;
        continue;
      }
      options.activations.push_back(aot::resolve_activation(text));
    } catch (const ParseError &e) {
      throw UsageError{"cannot read the expression " +
                       describe_parse_error(text, e.line(), e.column(), e.message())};
    }
  }
  if (auto t = args.option("--target")) options.targets = split(*t);
  const bool uniform_g = args.flag("--uniform-g");
  if (uniform_g && args.option("--backend") && *args.option("--backend") == "mlir")
    throw UsageError{"--uniform-g is not available with --backend mlir (its kernels read every "
                     "input): use the halide backend (the default)"};
  if (uniform_g && fpga_target && args.option("--fixed"))
    throw UsageError{"--uniform-g on --target fpga is for the float mode, not --fixed"};
  for (auto &a : options.activations) {
    if (uniform_g && a.expr.defined() && ir::count_inputs(a.expr) < 2)
      throw UsageError{"--uniform-g generates input g, but " + a.name +
                       " has no input g (it reads x only)" +
                       (a.name == "rrelu" ? ": RReLU's training form is rrelu_train" : "")};
    a.uniform_g = uniform_g;
  }
  // --epilogue: each activation f fused with the operation before it (dsl/epilogue.hpp).
  dsl::Epilogue epilogue = dsl::Epilogue::None;
  if (auto e = args.option("--epilogue")) {
    try {
      epilogue = dsl::parse_epilogue(*e);
    } catch (const Error &err) {
      throw UsageError{std::string("--epilogue: ") + err.what()};
    }
  }
  if (epilogue != dsl::Epilogue::None) {
    if (fpga_target || (args.option("--backend") && *args.option("--backend") != "halide"))
      throw UsageError{"--epilogue is for the halide backend's CPU and cuda targets (check the "
                       "fpga kernels with `actforge check --epilogue`)"};
    if (maxout) throw UsageError{"--epilogue: maxout takes no epilogue"};
    for (auto &a : options.activations) {
      if (ir::count_inputs(a.expr) > 1 || a.uniform_g)
        throw UsageError{"--epilogue: " + a.name +
                         " is not an activation of one input (x): it takes no epilogue"};
      try {
        a.expr = dsl::with_epilogue(a.expr, epilogue);
      } catch (const Error &err) {
        throw UsageError{std::string("--epilogue: ") + err.what()};
      }
      a.name += "_" + std::string(dsl::to_string(epilogue));
    }
  }
  options.zero_counts = args.flag("--zero-counts");
  if (options.zero_counts) {
    if (args.option("--backend") && *args.option("--backend") != "halide")
      throw UsageError{"--zero-counts is not available with --backend mlir: use the halide "
                       "backend (the default)"};
    for (const auto &t : options.targets)
      if (t == "cuda")
        throw UsageError{"--zero-counts is for CPU and fpga targets, not --target " + t};
  }
  if (auto backend = args.option("--backend"); backend && *backend != "halide") {
    if (*backend != "mlir")
      throw UsageError{"--backend takes halide or mlir, not '" + *backend + "'"};
    if (maxout) throw UsageError{"maxout has no MLIR kernel: generate it with the halide backend"};
    return gen_mlir(args, options, *out);
  }
  if (args.option("--emit")) throw UsageError{"--emit goes with --backend mlir"};
  const bool fpga =
      std::find(options.targets.begin(), options.targets.end(), "fpga") != options.targets.end();
  runtime::fpga::Options fo;
  read_fpga_options(args, fpga, fo.hls);
  fo.hls.zero_count = options.zero_counts;
  if (fpga) {
    if (options.targets.size() != 1)
      throw UsageError{"the fpga target writes C on its own: give --target fpga alone"};
    for (const char *o : {"--dtype", "--layout", "--per-channel", "--name"})
      if (args.option(o))
        throw UsageError{std::string(o) + " does not apply to --target fpga (flat arrays; f32 "
                                          "or --fixed)"};
    fo.activations = options.activations;
    read_roles(args, fo.roles);
    fo.hls.max_n = int_option(args, "--max-n", 1 << 20, 1, 2147483647);
    if (auto p = args.option("--param")) {
      for (const auto &item : split(*p)) {
        const std::size_t eq = item.find('=');
        char *end = nullptr;
        const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
        const long double v = std::strtold(value.c_str(), &end);
        if (eq == 0 || eq == std::string::npos || value.empty() || *end || !std::isfinite(v))
          throw UsageError{"--param takes NAME=NUMBER items, got '" + item + "'"};
        fo.hls.params[item.substr(0, eq)] = v;
      }
    }
    const auto files = runtime::fpga::generate(fo, *out);
    if (!args.flag("--quiet"))
      for (const auto &f : files)
        std::printf("%s/%s\n", out->c_str(), f.c_str());
    return kOk;
  }
  if (args.option("--max-n") || (args.option("--param") && !maxout))
    throw UsageError{"--max-n and --param go with --target fpga (and --param k=N with maxout)"};
  if (maxout) {
    // maxout's group sizes: --param k=N[,k=M...], default 2.
    if (auto p = args.option("--param"))
      for (const auto &item : split(*p)) {
        char *end = nullptr;
        const long k = item.rfind("k=", 0) == 0 ? std::strtol(item.c_str() + 2, &end, 10) : 0;
        if (!end || *end || item.size() == 2 || k < 2 || k > 16)
          throw UsageError{"maxout takes its group size as --param k=N, N from 2 to 16, got '" +
                           item + "'"};
        options.maxout.push_back(static_cast<int>(k));
      }
    if (options.maxout.empty()) options.maxout = {2};
  }
  read_roles(args, options.roles);
  read_dtypes(args, options.dtypes);
  if (auto l = args.option("--layout")) {
    options.layouts.clear();
    for (const auto &s : split(*l))
      options.layouts.push_back(codegen::parse_layout(s));
  }
  if (auto p = args.option("--per-channel")) options.per_channel = split(*p);
  if (epilogue != dsl::Epilogue::None) {
    // bias, scale and shift take one value per channel: the channel layout unless --layout
    // says otherwise (flat kernels take them as scalars).
    if (!args.option("--layout")) options.layouts = {codegen::Layout::Channels};
    if (std::find(options.layouts.begin(), options.layouts.end(), codegen::Layout::Channels) !=
        options.layouts.end())
      for (const std::string &p : dsl::epilogue_params(epilogue))
        if (std::find(options.per_channel.begin(), options.per_channel.end(), p) ==
            options.per_channel.end())
          options.per_channel.push_back(p);
  }
  if (auto n = args.option("--name")) options.prefix = *n;
  if (args.flag("--verbose"))
    options.on_schedule = [](const std::string &kernel, const std::string &why) {
      std::fprintf(stderr, "%s: %s\n", kernel.c_str(), why.c_str());
    };
  const auto files = aot::generate(options, *out);
  if (!args.flag("--quiet"))
    for (const auto &f : files)
      std::printf("%s/%s\n", out->c_str(), f.c_str());
  return kOk;
}

} // namespace actforge::cli
