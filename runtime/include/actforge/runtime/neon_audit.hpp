// A codegen check for ARM kernels: read `aarch64-linux-gnu-objdump -dr --no-show-raw-insn OBJECT`
// and say whether a kernel's main loop is NEON vector code (no scalar fallback, no libm call).
//
//   const std::string text = run("aarch64-linux-gnu-objdump -dr --no-show-raw-insn k.o");
//   const runtime::NeonAudit a = runtime::audit_neon(text, "swish_fwd_f32_neon_v4u2p0",
//                                                    codegen::DType::F32);
//   if (!a.ok) fail(a.describe());
//
// Loops are natural loops of the function's control-flow graph: an edge (a backward branch
// b, b.cond, cbz, cbnz, tbz or tbnz) whose target dominates the branch, and every block that
// reaches the branch without passing the target. Halide's out-of-line lane blocks also branch
// backwards (`tbz w6, #1, 1180` from the end of the function into a tail loop), but their
// target does not dominate them, so they are not loops: an address-range rule would take them
// for loops that span most of the function.
//
// The main loop: of the innermost loops (those containing no other loop's header), a branch-free
// one (a single basic block) with the most vector instructions; when no innermost loop is
// branch-free, the one with the most vector instructions. Halide emits an elementwise kernel's
// steady state as one branch-free block (selects are bit/bif masks) and its tail as a loop that
// tests each lane (tbnz) around single-lane loads, holding the same arithmetic (sometimes twice):
// counting vector instructions alone picks the tail (in 284 of the 332 library kernels).
// param_grad's scalar remainder loop and its result-broadcast loops are branch-free too, but hold
// fewer vector instructions.
//
// Text only: the caller runs objdump. Relocatable objects show a call as `bl 0 <first symbol of
// the section>`; the R_AARCH64_CALL26 (bl) and R_AARCH64_JUMP26 (tail-call b) relocation that
// -r prints names the real callee, so pass -r.
#pragma once

#include "actforge/codegen/kernel_spec.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace actforge::runtime {

/// What one loop holds. Vector instructions are counted by the arrangement of their first vector
/// operand ("4s", "16b", "2d", "8h", ...; "s[]" for a single lane, as in `ld1 {v0.s}[3]` or
/// `mov w0, v1.s[1]`; "q" for a load or store of q registers).
struct LoopReport {
  std::uint64_t first = 0; // address of its lowest instruction
  std::uint64_t last = 0;  // address of its highest instruction
  int blocks = 0;
  int instructions = 0;
  int vector = 0; // instructions with a vector operand or q registers
  std::map<std::string, int> vector_by_arrangement;
  /// Vector floating-point instructions (arithmetic, compares, conversions; not fmov) by the
  /// arrangement of their destination: fmla v0.4s -> "4s", fcvtl v0.4s, v1.4h -> "4s".
  std::map<std::string, int> fp_by_arrangement;
  int conversions = 0; // fcvtl/fcvtn/bfcvtn (f16, bf16) and shll/ushll/shrn/xtn family
  int scalar_fp = 0;   // floating-point instructions on s, d or h registers: fmul s0, s1, s2
  std::vector<std::string> scalar_fp_examples; // the first three, as objdump printed them
  int loads = 0;
  int stores = 0;
  std::vector<std::string> calls; // callees of bl/blr/tail-call b inside the loop, in order
};

/// The loops and calls of one function.
struct FunctionReport {
  std::string symbol;
  int instructions = 0;
  int loops = 0;     // natural loops (back edges to one header count once)
  int innermost = 0; // loops containing no other loop
  bool has_loop = false;
  LoopReport main_loop;                // the main loop (see the rule above); empty without loops
  std::vector<std::string> calls;      // every callee in the function, first occurrence order
  std::vector<std::string> libm_calls; // the callees that are C math library functions
};

/// Parses `objdump_text` (objdump -d or -dr, with or without --no-show-raw-insn) and reports on
/// the function `symbol`. Throws actforge::Error when the text holds no such function.
FunctionReport inspect_aarch64(std::string_view objdump_text, std::string_view symbol);

/// exp, expf, tanhf, erff, __logf_finite, ...: a function of the C math library.
bool is_libm_function(std::string_view name);

struct NeonAudit {
  bool ok = false;
  std::string reason;      // why it fails; empty when ok
  std::string arrangement; // the arithmetic expected: "4s" (f32, f16, bf16) or "2d" (f64)
  int loop_instructions = 0;
  int loop_vector = 0; // vector instructions in the main loop
  int loop_fp = 0;     // vector FP instructions on `arrangement` (or .8h/.4h for f16)
  FunctionReport function;
  /// One line: symbol, verdict, the loop's range and counts.
  std::string describe() const;
};

/// The verdict on a kernel of `dtype`. It passes when the function has a loop and its main loop
///  - has at least one vector FP instruction on .4s (f32, and f16/bf16, which are stored in 16
///    bits and computed in f32: fcvtl/fcvtn or shll/shrn around .4s arithmetic; an f16 kernel may
///    instead compute on .8h/.4h) or on .2d (f64),
///  - has no scalar FP instruction (on s, d or h registers),
///  - calls nothing,
/// and nothing in the function calls the C math library. Scalar FP code outside the main loop
/// (tails, param_grad's remainder and final sums) and calls to other functions outside it are
/// allowed. Throws actforge::Error when the text holds no function `symbol`.
NeonAudit audit_neon(std::string_view objdump_text, std::string_view symbol, codegen::DType dtype);

} // namespace actforge::runtime
