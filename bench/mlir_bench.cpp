// The MLIR backend's kernels (codegen/mlir, compiled by actforge-mlir) beside the Halide ones:
// every activation forward and backward, f32, target host, in one runtime::mlir::Library (one
// compilation) called through its C ABI. Its kernels are serial, so only 1-thread cases exist.
#include "actforge/error.hpp"
#include "actforge/runtime/aot.hpp"
#include "actforge/runtime/mlir.hpp"
#include "bench_common.hpp"
#include "implementations.hpp"

#include <cctype>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace actforge::bench {
namespace {

namespace mlir = runtime::mlir;

std::string kernel_name(std::string_view activation, Direction d) {
  return "mlir_" + std::string(activation) + (d == Direction::Forward ? "_fwd_f32" : "_bwd_f32");
}

/// The values every implementation uses (bench_common.hpp), by the parameter names of the library.
float param_value(std::string_view activation, const std::string &param) {
  if (activation == "leaky_relu" && param == "alpha") return kLeakyReluAlpha;
  if (activation == "elu" && param == "alpha") return kEluAlpha;
  if (activation == "swish" && param == "beta") return kSwishBeta;
  throw Error("mlir bench: no value for parameter '" + param + "' of " + std::string(activation));
}

/// The f32 lanes of a kernel as its module says ("vector<16xf32>"), 0 if it has no f32 vector.
int lanes(const codegen::mlir::Module &m) {
  constexpr std::string_view kVector = "vector<";
  for (auto at = m.text.find(kVector); at != std::string::npos; at = m.text.find(kVector, at + 1)) {
    const std::size_t digits = at + kVector.size();
    std::size_t end = digits;
    while (end < m.text.size() && std::isdigit(static_cast<unsigned char>(m.text[end])))
      ++end;
    if (end > digits && m.text.compare(end, 4, "xf32") == 0)
      return std::stoi(m.text.substr(digits, end - digits));
  }
  return 0;
}

/// Every kernel of the suite, compiled together once. Either the library or why it failed: a
/// failed compilation turns every mlir case into an error row instead of ending the run.
struct Compiled {
  std::unique_ptr<mlir::Library> library;
  std::string error;
};

const Compiled &compiled() {
  static const Compiled c = [] {
    Compiled r;
    try {
      std::vector<std::pair<std::string, codegen::KernelSpec>> specs;
      for (const std::string_view act : kActivations) {
        const ir::Expr expr = aot::resolve_activation(act).expr;
        specs.push_back({kernel_name(act, Direction::Forward), {expr, codegen::Role::Forward}});
        specs.push_back({kernel_name(act, Direction::Backward), {expr, codegen::Role::Backward}});
      }
      r.library = std::make_unique<mlir::Library>(specs, "host");
    } catch (const Error &e) {
      r.error = e.what();
    }
    return r;
  }();
  return c;
}

void run(benchmark::State &state, const Case &c) {
  try {
    if (!compiled().error.empty()) throw Error(compiled().error);
    const mlir::Kernel k = compiled().library->kernel(kernel_name(c.activation, c.direction));
    std::vector<float> params;
    for (const std::string &p : k.module().params)
      params.push_back(param_value(c.activation, p));
    const Arrays &a = arrays(c.n);
    const std::vector<const void *> in = c.direction == Direction::Forward
                                             ? std::vector<const void *>{a.x}
                                             : std::vector<const void *>{a.x, a.dy};
    const std::vector<void *> out = {a.out};
    state.SetLabel(k.module().function + "_v" + std::to_string(lanes(k.module())));
    // The C ABI returns a code instead of throwing: the first call's is checked before the
    // timing, the timed calls' are or-ed together and checked after it.
    if (const int rc = k.call(in, out, c.n, &params); rc != 0)
      throw Error(k.module().function + " returned " + std::to_string(rc));
    int rc = 0;
    for (auto _ : state) {
      rc |= k.call(in, out, c.n, &params);
      benchmark::ClobberMemory();
    }
    if (rc != 0) throw Error(k.module().function + " returned " + std::to_string(rc));
  } catch (const Error &e) {
    state.SkipWithError(e.what());
  }
}

} // namespace

Implementation mlir_implementation() {
  return {"mlir",
          [] {
            const std::string why = mlir::problem();
            if (!why.empty()) return "not measured: " + why;
            return "codegen/mlir + " + mlir::compiler() +
                   ", target host, serial (one thread), f32 node by node, one library of " +
                   std::to_string(2 * kActivations.size()) + " kernels";
          },
          [](std::int64_t n, int threads) {
            // Serial kernels: an all-threads case would time the 1-thread kernel again.
            if (threads != 1) return;
            if (const std::string why = mlir::problem(); !why.empty()) {
              static bool said = false;
              if (!std::exchange(said, true))
                std::cerr << "actforge_bench: mlir skipped: " << why << "\n";
              return;
            }
            compiled(); // the one compilation, at registration (not inside a timed case)
            for (const std::string_view act : kActivations)
              for (const Direction d : kDirections)
                register_case("mlir", {act, d, n, threads}, run);
          }};
}

} // namespace actforge::bench
