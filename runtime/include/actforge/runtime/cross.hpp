// actforge::cross: kernels of a target this process cannot load (AArch64), run where they can
// run — an emulator (qemu-aarch64) — and driven from here.
//
//   aot::Options o;
//   o.activations = {aot::resolve_activation("swish")};
//   o.targets = {"arm-64-linux"};
//   o.dtypes = {DType::F32, DType::F16};
//   cross::Runner arm(o);                       // gen, cross-link, start under qemu
//   cross::Call c{"swish_fwd_f32_neon", 1000};
//   c.inputs = {cross::Array::of(x)};          // bytes in, and where they sit
//   c.outputs = {cross::Array::zeros(1000 * 4)};
//   const cross::Result r = arm.call(c);        // r.rc, r.outputs[0] (bytes), r.guards_intact
//
// The Runner generates the AOT library of `options` (runtime/aot.hpp: the same C ABI as every
// host), links it with a small C driver by the cross compiler, and starts the program once under
// the emulator; each call() then sends the arrays over a socket, the driver calls the kernel
// through the library's registry (`<name>` as in <prefix>_find_kernel: "swish_fwd_f32" dispatches,
// "swish_fwd_f32_neon" names one target) and sends the results back. Arrays are placed `offset`
// bytes past a 64-byte boundary (unaligned calls), outputs may alias an input (in place), and
// every output is followed by guard bytes whose damage the result reports (writes past n).
#pragma once

#include "actforge/runtime/aot.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace actforge::cross {

struct Array {
  std::vector<unsigned char> bytes; // input: the contents; output: the initial contents
  std::uint32_t offset = 0;         // bytes past a 64-byte boundary
  int alias = -1;                   // output only: the input array it shares (in place)

  template <class T> static Array of(const std::vector<T> &v, std::uint32_t offset = 0) {
    Array a;
    a.bytes.resize(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(a.bytes.data(), v.data(), a.bytes.size());
    a.offset = offset;
    return a;
  }
  static Array zeros(std::size_t bytes, std::uint32_t offset = 0) {
    return {std::vector<unsigned char>(bytes), offset, -1};
  }
  static Array in_place(int input) { return {{}, 0, input}; }
};

struct Call {
  std::string name; // a registry name: "swish_fwd_f32" or "swish_fwd_f32_neon"
  std::int64_t n = 0;
  /// The channel layout's [outer, channels, inner] (n is then unused).
  std::optional<std::array<std::int64_t, 3>> channels;
  /// The scalar parameters in the registry's param_names order; nullopt passes NULL (defaults).
  std::optional<std::vector<double>> params;
  /// Kernels with a generated g (aot::Activation::uniform_g): the generator's seed and offset.
  std::uint64_t seed = 0, offset = 0;
  std::vector<Array> inputs, outputs;
};

struct Result {
  int rc = 0;                                      // the C function's return value (0: OK)
  std::vector<std::vector<unsigned char>> outputs; // each output's bytes after the call
  bool guards_intact = true;                       // nothing written past any output
};

/// What the registry says of a kernel.
struct Info {
  std::string role, layout, dtype, targets;
  std::vector<std::string> inputs, outputs, params;
  std::vector<double> param_defaults; // NaN where a value is required
};

class Runner {
public:
  /// Generates `options` (targets of one cross family; the prefix is replaced) in a private work
  /// directory, links the driver and starts it. Throws actforge::Error when the cross tools are
  /// missing (the reason of targets::arm::cross_tools()), or a step fails (its output quoted).
  /// `emulator_cpu`: qemu's -cpu (e.g. "cortex-a53": ARMv8.0, no FP16; empty: qemu's default,
  /// "max", which has every feature).
  explicit Runner(aot::Options options, std::string emulator_cpu = "");
  ~Runner();
  Runner(const Runner &) = delete;
  Runner &operator=(const Runner &) = delete;

  /// Every registry name, in registry order.
  std::vector<std::string> kernels();
  /// nullopt when no kernel has that name.
  std::optional<Info> info(const std::string &name);
  /// Calls the kernel. Throws actforge::Error when no kernel has that name, an array count does
  /// not match the registry, or the driver dies (its stderr quoted).
  Result call(const Call &c);
  /// <prefix>_limit_target(target) in the driver (empty: NULL, no limit); returns its code.
  int limit_target(const std::string &target);
  /// The directory of the generated library (objects, header, source, archive, the driver).
  const std::string &directory() const;
  /// The kernel objects of the library (full paths, sorted; each defines the symbol of its
  /// file name's stem), without the Halide runtime.
  std::vector<std::string> kernel_objects() const;
  /// `objdump -dr --no-show-raw-insn` of an object, by the cross binutils (for audit_neon()).
  std::string disassemble(const std::string &object) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace actforge::cross
