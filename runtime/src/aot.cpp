// aot::generate(): every kernel through compile_kernel_object(), one runtime, the C files, and
// an archive of the objects.
#include "aot_c.hpp"
#include "maxout_object.hpp"
#include "sha256.hpp"

#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/from_output.hpp"
#include "actforge/dsl/rrelu.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/print.hpp"
#include "actforge/runtime/tune.hpp"
#include "actforge/targets/target.hpp"
#include "actforge/targets/x86.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

namespace actforge::aot {
namespace {

bool is_identifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Words a C or C++ compiler would not take as a name: activations and parameters become names.
bool is_reserved(std::string_view s) {
  static constexpr std::string_view kWords[] = {
      "auto",    "bool",     "break",    "case",   "char",     "class",    "const",  "continue",
      "default", "delete",   "do",       "double", "else",     "enum",     "extern", "false",
      "float",   "for",      "goto",     "if",     "inline",   "int",      "long",   "namespace",
      "new",     "operator", "private",  "public", "register", "restrict", "return", "short",
      "signed",  "sizeof",   "static",   "struct", "switch",   "template", "this",   "true",
      "typedef", "union",    "unsigned", "void",   "volatile", "while"};
  for (std::string_view w : kWords)
    if (s == w) return true;
  return false;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\n");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t\n") - b + 1));
}

bool has_param(ir::Expr e, const std::string &name) {
  for (const auto &p : ir::collect_params(e))
    if (p.name == name) return true;
  return false;
}

// Why activation `a` has no kernel of `role` ("" when it has one).
std::string missing_role(const Activation &a, codegen::Role role) {
  if (role == codegen::Role::ParamGrad && ir::collect_params(a.expr).empty())
    return a.name + " has no parameters: no param_grad";
  if (role == codegen::Role::BackwardFromOutput && a.uniform_g)
    return a.name + " generates its input g (uniform_g): no backward_from_output";
  if (role == codegen::Role::BackwardFromOutput && !dsl::find_from_output(a.expr))
    return a.name + " has no derivative expressible from its output: no backward_from_output";
  return {};
}

void write_file(const std::filesystem::path &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw Error("cannot write " + path.string());
}

} // namespace

Activation resolve_activation(std::string_view text) {
  const std::string t = trim(text);
  if (const dsl::Entry *e = dsl::find_activation(t)) {
    if (!e->expr.defined()) throw Error(e->name + " is not elementwise: no kernel to generate");
    return {e->name, e->expr};
  }
  // RReLU's training form: its slopes come from input g, meant to be generated (uniform_g).
  if (t == "rrelu_train") return {t, dsl::rrelu_train_expr()};
  // NAME=EXPR: an identifier, then '=' that is not '=='. An expression cannot start that way
  // (parameter defaults follow a comma).
  const auto eq = t.find('=');
  if (eq != std::string::npos && eq + 1 < t.size() && t[eq + 1] != '=' &&
      is_identifier(trim(t.substr(0, eq)))) {
    const std::string name = trim(t.substr(0, eq));
    return {name, dsl::parse_with_library(t.substr(eq + 1))};
  }
  const ir::Expr e = dsl::parse_with_library(t);
  return {"expr_" + runtime::sha256_hex(ir::print(e)).substr(0, 8), e};
}

std::vector<std::string> generate(const Options &options, const std::string &out_dir) {
  if (options.activations.empty() && options.maxout.empty())
    throw Error("name at least one activation to generate");
  for (int k : options.maxout)
    if (k < 2 || k > 16)
      throw Error("maxout: k must be an integer from 2 to 16, got " + std::to_string(k));
  if (options.roles.empty() || options.dtypes.empty() || options.targets.empty())
    throw Error("give at least one role, dtype and target");
  if (!is_identifier(options.prefix))
    throw Error("the prefix '" + options.prefix + "' is not a C identifier");
  for (std::size_t i = 0; i < options.activations.size(); ++i) {
    const Activation &a = options.activations[i];
    if (!is_identifier(a.name) || is_reserved(a.name))
      throw Error("'" + a.name +
                  "' cannot name C functions: give the activation a name (NAME=EXPR)");
    for (const auto &p : ir::collect_params(a.expr))
      if (is_reserved(p.name))
        throw Error(a.name + ": the parameter '" + p.name +
                    "' is a C keyword and cannot be a field");
    if (a.uniform_g) {
      if (ir::count_inputs(a.expr) < 2)
        throw Error(a.name + ": uniform_g generates input g, but " + a.name +
                    " has no input g (it reads x only)");
      for (const auto &p : ir::collect_params(a.expr))
        if (p.name == "seed" || p.name == "offset")
          throw Error(a.name + ": the parameter '" + p.name +
                      "' clashes with the generator's scalars seed and offset");
    }
    for (std::size_t j = 0; j < i; ++j)
      if (options.activations[j].name == a.name)
        throw Error("two activations are named '" + a.name + "'");
  }
  // Targets resolved, deduplicated, least capable first, all of one family: a library's
  // functions dispatch among its targets on the CPU that runs them (x86 or ARM), and cuda's take
  // device pointers, so a library is for x86, for ARM or for CUDA, never two of them.
  std::vector<targets::TargetInfo> targets;
  const targets::Family family = targets::resolve(options.targets.front()).family;
  for (const auto &t : options.targets) {
    const targets::TargetInfo info = targets::resolve(t);
    if (info.family == targets::Family::Fpga)
      throw Error("the fpga target writes C: use `actforge gen --target fpga`");
    if (info.family == targets::Family::Cuda && !options.maxout.empty())
      throw Error("maxout has CPU kernels only (x86, ARM), not for the cuda target");
    if (info.family == targets::Family::Cuda && options.zero_counts)
      throw Error("zero counts are for CPU targets: the cuda target's outputs are device memory");
    if (info.family != family) {
      if (info.family == targets::Family::Cuda || family == targets::Family::Cuda)
        throw Error("the cuda target cannot share a library with CPU targets (its functions take "
                    "device pointers): generate it separately, with another --out and --name");
      throw Error("targets of different families (" + std::string(targets::to_string(family)) +
                  ": " + options.targets.front() + ", " + targets::to_string(info.family) + ": " +
                  t +
                  ") cannot share a library: generate each separately, with another --out "
                  "and --name");
    }
  }
  for (const auto &name : targets::family_names(family))
    for (const auto &t : options.targets)
      if (targets::resolve(t).name == name) {
        targets.push_back(targets::resolve(name));
        break;
      }

  if (std::find(options.layouts.begin(), options.layouts.end(), codegen::Layout::Halves) !=
          options.layouts.end() &&
      family == targets::Family::Cuda)
    throw Error("the halves layout (one tensor [rows, 2d] split into x and g) has C functions "
                "for CPU targets: for cuda, use jit (Layout::Halves) or the flat layout");
  for (const auto &name : options.per_channel) {
    if (std::find(options.layouts.begin(), options.layouts.end(), codegen::Layout::Channels) ==
        options.layouts.end())
      throw Error("per-channel parameters need the channel layout (layouts: channels)");
    bool found = false;
    for (const Activation &a : options.activations)
      found = found || has_param(a.expr, name);
    if (!found) throw Error("per-channel: no activation has a parameter '" + name + "'");
  }

  std::filesystem::create_directories(out_dir);
  const std::filesystem::path dir(out_dir);
  std::vector<std::string> written, objects, skipped;
  std::vector<CKernel> kernels;
  for (const Activation &a : options.activations)
    for (codegen::Role role : options.roles) {
      if (const std::string why = missing_role(a, role); !why.empty()) {
        skipped.push_back(why);
        continue;
      }
      for (codegen::Layout layout : options.layouts) {
        if (layout == codegen::Layout::Halves && (ir::count_inputs(a.expr) < 2 || a.uniform_g ||
                                                  role == codegen::Role::BackwardFromOutput)) {
          skipped.push_back(a.name + " " + std::string(codegen::to_string(role)) +
                            " in the halves layout (" +
                            (ir::count_inputs(a.expr) < 2 ? "it has no input g"
                             : a.uniform_g                ? "its g is generated"
                                                          : "no backward_from_output") +
                            ")");
          continue;
        }
        for (codegen::DType dtype : options.dtypes) {
          codegen::KernelSpec spec{a.expr, role, dtype, layout};
          spec.uniform_g = a.uniform_g;
          if (layout == codegen::Layout::Channels)
            for (const auto &name : options.per_channel)
              if (has_param(a.expr, name)) spec.per_channel.push_back(name);
          std::sort(spec.per_channel.begin(), spec.per_channel.end());
          CKernel k{a, role, dtype, {}};
          for (const auto &target : targets) {
            const int storage_bits = dtype == codegen::DType::F64   ? 64
                                     : dtype == codegen::DType::F32 ? 32
                                                                    : 16;
            codegen::Schedule schedule =
                target.gpu ? codegen::default_gpu_schedule(storage_bits)
                           : codegen::default_schedule(target.vector_bits,
                                                       dtype == codegen::DType::F64 ? 64 : 32);
            std::string why = "default schedule";
            if (options.use_tuning_db && layout == codegen::Layout::Flat) {
              const auto choice = runtime::tune::lookup(a.expr, role, dtype, target.name);
              if (choice.schedule) schedule = *choice.schedule;
              why = choice.why;
            }
            const std::string stem = runtime::kernel_name(a.name, spec, target.name, schedule);
            if (options.on_schedule) options.on_schedule(stem, why);
            k.targets.push_back(runtime::compile_kernel_object(a.name, spec, schedule, target,
                                                               (dir / (stem + ".o")).string()));
            objects.push_back((dir / (stem + ".o")).string());
            written.push_back(stem + ".o");
            if (target.gpu) {
              // The PTX of both entries, next to the object, for inspection and ptxas.
              const auto ptx = runtime::embedded_ptx((dir / (stem + ".o")).string());
              if (ptx.size() != 2)
                throw Error("internal error: " + stem + ".o holds " + std::to_string(ptx.size()) +
                            " PTX modules, not 2");
              write_file(dir / (stem + ".ptx"), ptx[0]);
              write_file(dir / (stem + "_unaligned.ptx"), ptx[1]);
              written.push_back(stem + ".ptx");
              written.push_back(stem + "_unaligned.ptx");
            }
          }
          kernels.push_back(std::move(k));
        }
      }
    }
  // Maxout: its own kernels (runtime/maxout_object.hpp), forward and backward.
  std::vector<CMaxout> maxouts;
  for (int k : options.maxout) {
    for (codegen::Role role : options.roles)
      if (role != codegen::Role::Forward && role != codegen::Role::Backward)
        skipped.push_back("maxout_k" + std::to_string(k) + " has no " +
                          std::string(codegen::to_string(role)) + " (forward and backward only)");
    for (codegen::Role role : {codegen::Role::Forward, codegen::Role::Backward}) {
      if (std::find(options.roles.begin(), options.roles.end(), role) == options.roles.end())
        continue;
      for (codegen::DType dtype : options.dtypes) {
        CMaxout m{k, role, dtype, {}};
        for (const auto &target : targets) {
          const codegen::Schedule schedule = runtime::maxout_default_schedule(target, dtype);
          const std::string symbol = runtime::maxout_symbol(role, k, dtype, target.name, schedule);
          if (options.on_schedule) options.on_schedule(symbol, "default schedule");
          runtime::compile_maxout_object(role, dtype, k, schedule, target, symbol,
                                         (dir / (symbol + ".o")).string());
          objects.push_back((dir / (symbol + ".o")).string());
          written.push_back(symbol + ".o");
          m.targets.emplace_back(target.name, symbol);
        }
        maxouts.push_back(std::move(m));
      }
    }
  }
  if (kernels.empty() && maxouts.empty())
    throw Error("nothing to generate: " +
                (skipped.empty() ? std::string("no kernels") : skipped.front()));
  const std::string runtime_object = options.prefix + "_runtime.o";
  std::vector<std::string> target_names;
  for (const auto &t : targets)
    target_names.push_back(t.name);
  runtime::compile_runtime_object(runtime::runtime_target(target_names),
                                  (dir / runtime_object).string());
  objects.push_back((dir / runtime_object).string());
  written.push_back(runtime_object);

  const std::string archive = "lib" + options.prefix + "_kernels.a";
  try {
    Halide::create_static_library(objects, targets.front().halide, (dir / archive).string(), true);
  } catch (const Halide::Error &e) {
    throw Error("cannot write " + archive + ": " + e.what());
  }
  written.push_back(archive);
  const std::string header = options.prefix + "_kernels.h", source = options.prefix + "_kernels.c";
  write_file(dir / header, emit_header(options, kernels, maxouts, skipped));
  write_file(dir / source, emit_source(options, kernels, maxouts));
  written.push_back(header);
  written.push_back(source);
  return written;
}

} // namespace actforge::aot
