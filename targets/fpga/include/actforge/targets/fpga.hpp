// targets/fpga: the "fpga" target — FPGA-friendly C99 for Vitis HLS / Intel HLS, written by
// codegen/hls (no Halide) — the rules its C obeys, checked with the compilers of this machine, and
// its C simulation.
//
// The rules (the same as codegen/hls/hls.hpp states): plain C99 that also compiles as C++; only
// <stdint.h> and the kernel's own files included; no heap, recursion, function pointers, `double`
// or library call of any kind (`nm -u` of the object is empty: no expf, no memcpy, no __muldi3);
// branch-free (the ternary ?: only: no if/else/switch/while/do/goto); every `for` loop starts its
// body with `#pragma HLS PIPELINE II=1` and has a static bound or a `#pragma HLS LOOP_TRIPCOUNT`;
// HLS pragmas sit inside `#ifdef __SYNTHESIS__`, so gcc and clang -Wall -Werror accept the file.
//
// What is tested here: the rules (check_rules: gcc and clang at -O0 and -O2, g++ as C++, nm, a
// scan of the source) and the arithmetic (Csim: the kernel compiled for this host with
// -ffp-contract=off and run on arrays). What cannot be: synthesis, timing (II=1 met at a clock),
// the resources actually used.
#pragma once

#include "actforge/targets/target.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace actforge::targets::fpga {

/// {"fpga"}.
const std::vector<std::string> &names();
bool is_fpga(std::string_view name);

/// Family Fpga, no Halide target (halide_target() throws), natural width 32 bits: one f32
/// element a clock cycle. Throws actforge::Error for a name that is_fpga() refuses.
TargetInfo resolve(std::string_view name);

struct Compiler {
  std::string name; // "gcc", "clang", "g++"
  std::string path;
};

/// The compilers of the rule check found on PATH: gcc and clang (C99), g++ (the same file as C++).
std::vector<Compiler> rule_compilers();

struct RuleCheck {
  std::vector<std::string> ran;      // one line per command run: "gcc -std=c99 ... -c k.c"
  std::vector<std::string> problems; // empty when every rule holds; each names file:line if it can
  bool ok() const { return problems.empty(); }
};

/// files: file name -> text (a kernel's .c and .h, written to a fresh temporary directory).
/// Compiles c_file with gcc and clang (-std=c99 -pedantic -Wall -Wextra -Werror -c, at -O0 and
/// -O2) and with g++ as C++ (-x c++ -std=c++17 -pedantic -Wall -Wextra -Werror -c); `nm -u`
/// of every object must list nothing. Then scans every file (comments and literals removed) for
/// what the rules forbid. A missing tool is a problem, never a silent pass. Throws
/// actforge::Error when c_file is not in files or a file name is not a plain name.
RuleCheck check_rules(const std::map<std::string, std::string> &files, const std::string &c_file);

/// Bytes of one element of a C type: float 4, double 8, int8_t 1, int16_t 2, int32_t 4,
/// int64_t 8; throws actforge::Error for another.
std::size_t element_size(std::string_view c_type);

/// How a kernel is called: function(in0, in1, ..., out0, out1, ..., (int32_t)count), every
/// array of `count` elements, count <= the header's max_n_macro.
struct Signature {
  std::string function;               // the kernel's C name
  std::string max_n_macro;            // macro of the header giving the largest count per call
  std::vector<std::string> in_types;  // C element type of each input array: "float", "int16_t"
  std::vector<std::string> out_types; // and of each output array
  /// Elements of input/output array i per counted element (default 1): maxout's x and dx hold k
  /// channels per output element.
  std::vector<int> in_per = {}, out_per = {};
  /// Shape arguments: the kernel takes this many int32_t after its arrays instead of the count
  /// (maxout: outer, groups, inner) and is called once on all n elements (n <= MAX_N).
  int shape_args = 0;
};

/// C simulation: the kernel compiled for this host with a generated driver (which includes every
/// .h of files) by `cc -std=c99 -O2 -ffp-contract=off` (no FMA contraction, as the rules
/// assume), run once per call in its own process.
class Csim {
public:
  /// Throws actforge::Error with the compiler's output when the kernel or driver do not build.
  Csim(std::map<std::string, std::string> files, std::string c_file, Signature sig);
  ~Csim(); // removes its temporary directory
  Csim(Csim &&) noexcept;
  Csim &operator=(Csim &&) noexcept;

  /// inputs: the raw bytes of each input array, n elements each; returns the raw bytes of each
  /// output array (n elements each). The driver calls the kernel in chunks of at most MAX_N (once
  /// with count 0 when n is 0) and fails, naming the array, when a call writes past the end of
  /// an output.
  std::vector<std::vector<unsigned char>> run(const std::vector<std::vector<unsigned char>> &inputs,
                                              std::int64_t n,
                                              const std::vector<std::int32_t> &shape = {}) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace actforge::targets::fpga
