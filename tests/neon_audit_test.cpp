// neon_audit_test: the NEON codegen check (label arm). The objdump parser and the verdict on
// canned disassemblies, then every library activation's ARM kernels, every role and dtype,
// disassembled by aarch64-linux-gnu-objdump (skipped without it). Prints the table of the main
// loops' instruction counts.
#include "actforge/dsl/catalog.hpp"
#include "actforge/error.hpp"
#include "actforge/runtime/aot.hpp"
#include "actforge/runtime/neon_audit.hpp"
#include "actforge/targets/arm.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using actforge::codegen::DType;
using actforge::runtime::audit_neon;
using actforge::runtime::inspect_aarch64;

constexpr const char *kHead = R"(
k.o:     file format elf64-littleaarch64


Disassembly of section .text.k:

0000000000000000 <k>:
)";

// A branch-free .4s loop: what Halide emits for an elementwise f32 kernel.
const std::string kVectorLoop = std::string(kHead) + R"(   0:	mov	x8, xzr
   4:	ldr	q0, [x0, x8]
   8:	fmla	v1.4s, v0.4s, v2.4s
   c:	and	v1.16b, v1.16b, v3.16b
  10:	str	q1, [x1, x8]
  14:	add	x8, x8, #0x10
  18:	cmp	x8, x2
  1c:	b.ne	4 <k+0x4>  // b.any
  20:	ret
)";

// The same loop calling expf: in a relocatable object objdump shows `bl 0 <k>`, and only the
// relocation names the callee.
const std::string kExpfLoop = std::string(kHead) + R"(   0:	mov	x8, xzr
   4:	ldr	s0, [x0, x8]
   8:	bl	0 <k>
			8: R_AARCH64_CALL26	expf
   c:	str	s0, [x1, x8]
  10:	add	x8, x8, #0x4
  14:	cmp	x8, x2
  18:	b.ne	4 <k+0x4>  // b.any
  1c:	ret
)";

const std::string kScalarLoop = std::string(kHead) + R"(   0:	mov	x8, xzr
   4:	ldr	s0, [x0, x8]
   8:	fmul	s0, s0, s1
   c:	str	s0, [x1, x8]
  10:	add	x8, x8, #0x4
  14:	cmp	x8, x2
  18:	b.ne	4 <k+0x4>  // b.any
  1c:	ret
)";

TEST(NeonAudit, VectorLoopPasses) {
  const auto a = audit_neon(kVectorLoop, "k", DType::F32);
  EXPECT_TRUE(a.ok) << a.describe();
  const auto &l = a.function.main_loop;
  EXPECT_EQ(l.first, 0x4u);
  EXPECT_EQ(l.last, 0x1cu);
  EXPECT_EQ(l.instructions, 7);
  EXPECT_EQ(l.blocks, 1);
  EXPECT_EQ(l.vector, 4);
  EXPECT_EQ(l.vector_by_arrangement.at("4s"), 1);
  EXPECT_EQ(l.vector_by_arrangement.at("16b"), 1);
  EXPECT_EQ(l.vector_by_arrangement.at("q"), 2);
  EXPECT_EQ(l.fp_by_arrangement.at("4s"), 1);
  EXPECT_EQ(l.loads, 1);
  EXPECT_EQ(l.stores, 1);
  EXPECT_EQ(l.scalar_fp, 0);
  EXPECT_EQ(a.arrangement, "4s");
  EXPECT_EQ(a.loop_instructions, 7);
  EXPECT_EQ(a.loop_fp, 1);
  EXPECT_EQ(a.function.loops, 1);
  EXPECT_EQ(a.function.instructions, 9);
  EXPECT_NE(a.describe().find("k: ok; main loop 0x4-0x1c: 7 instructions"), std::string::npos)
      << a.describe();
}

TEST(NeonAudit, LibmCallFails) {
  const auto a = audit_neon(kExpfLoop, "k", DType::F32);
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.reason, "calls the math library (expf)");
  EXPECT_EQ(a.function.main_loop.calls, std::vector<std::string>{"expf"});
  EXPECT_EQ(a.function.calls, std::vector<std::string>{"expf"});
  EXPECT_EQ(a.function.main_loop.scalar_fp, 0); // a load and a store are not arithmetic
}

TEST(NeonAudit, ScalarLoopFails) {
  const auto a = audit_neon(kScalarLoop, "k", DType::F32);
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.function.main_loop.scalar_fp, 1);
  EXPECT_EQ(a.function.main_loop.vector, 0);
  EXPECT_NE(a.reason.find("1 scalar floating-point instructions (8:\tfmul\ts0, s0, s1)"),
            std::string::npos)
      << a.reason;
}

TEST(NeonAudit, ArrangementFollowsTheDtype) {
  // f64 kernels compute on .2d: a .4s loop is not their arithmetic.
  const auto f64 = audit_neon(kVectorLoop, "k", DType::F64);
  EXPECT_FALSE(f64.ok);
  EXPECT_EQ(f64.reason, "the main loop has no vector floating-point instruction on .2d registers");
  // f16 may compute natively on .8h (ARMFp16), bf16 may not.
  std::string h = kVectorLoop;
  h.replace(h.find("v1.4s, v0.4s, v2.4s"), 19, "v1.8h, v0.8h, v2.8h");
  const auto f16 = audit_neon(h, "k", DType::F16);
  EXPECT_TRUE(f16.ok) << f16.describe();
  EXPECT_EQ(f16.arrangement, "8h");
  EXPECT_FALSE(audit_neon(h, "k", DType::BF16).ok);
  EXPECT_FALSE(audit_neon(h, "k", DType::F32).ok);
}

TEST(NeonAudit, CallsOutsideTheLoop) {
  // A call to a non-math function outside the loop passes; a tail call to tanhf anywhere fails.
  std::string t = kVectorLoop;
  t.replace(t.find("  20:\tret"), 9,
            "  20:\tbl\t0 <k>\n\t\t\t20: R_AARCH64_CALL26\thalide_error\n"
            "  24:\tb\t0 <k>\n\t\t\t24: R_AARCH64_JUMP26\ttanhf");
  const auto a = audit_neon(t, "k", DType::F32);
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.function.calls, (std::vector<std::string>{"halide_error", "tanhf"}));
  EXPECT_EQ(a.function.libm_calls, std::vector<std::string>{"tanhf"});
  EXPECT_TRUE(a.function.main_loop.calls.empty());
  t.replace(t.find("tanhf"), 5, "other");
  EXPECT_TRUE(audit_neon(t, "k", DType::F32).ok);
}

TEST(NeonAudit, NoLoopFails) {
  const std::string t = std::string(kHead) + "   0:\tfadd\tv0.4s, v0.4s, v1.4s\n   4:\tret\n";
  const auto a = audit_neon(t, "k", DType::F32);
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.reason, "no loop");
  EXPECT_FALSE(a.function.has_loop);
}

TEST(NeonAudit, UnknownSymbolThrows) {
  EXPECT_THROW(audit_neon(kVectorLoop, "kk", DType::F32), actforge::Error);
  EXPECT_THROW(audit_neon("", "k", DType::F32), actforge::Error);
}

TEST(NeonAudit, RawEncodingsAndOtherFunctions) {
  // objdump without --no-show-raw-insn, and a second function after the first.
  const std::string t = std::string(kHead) + R"(   0:	aa1f03e8 	mov	x8, xzr
   4:	3ce86800 	ldr	q0, [x0, x8]
   8:	4e22cc01 	fmla	v1.4s, v0.4s, v2.4s
   c:	3ca86821 	str	q1, [x1, x8]
  10:	91004108 	add	x8, x8, #0x10
  14:	eb02011f 	cmp	x8, x2
  18:	54ffff61 	b.ne	4 <k+0x4>  // b.any
  1c:	d65f03c0 	ret

0000000000000000 <k_argv>:
   0:	fmul	s0, s0, s0
   4:	b.ne	0 <k_argv>
)";
  const auto a = audit_neon(t, "k", DType::F32);
  EXPECT_TRUE(a.ok) << a.describe();
  EXPECT_EQ(a.loop_instructions, 6);
  EXPECT_EQ(a.function.instructions, 8);
  EXPECT_FALSE(audit_neon(t, "k_argv", DType::F32).ok);
}

// Halide's shape: a branch-free main loop, then a tail loop that tests each lane (more vector
// instructions, several blocks), and out-of-line lane blocks that branch back into the tail
// (backward branches that are no loops). The main loop is the branch-free one.
TEST(NeonAudit, PicksTheBranchFreeLoop) {
  const std::string t = std::string(kHead) + R"(   0:	mov	x8, xzr
   4:	ldr	q0, [x0, x8]
   8:	fadd	v0.4s, v0.4s, v0.4s
   c:	str	q0, [x1, x8]
  10:	subs	x9, x9, #0x1
  14:	b.ne	4 <k+0x4>  // b.any
  18:	cbz	x2, 50 <k+0x50>
  1c:	tbnz	w3, #0, 54 <k+0x54>
  20:	fadd	v0.4s, v0.4s, v0.4s
  24:	fmul	v0.4s, v0.4s, v0.4s
  28:	fmul	v0.4s, v0.4s, v0.4s
  2c:	fmul	v0.4s, v0.4s, v0.4s
  30:	tbz	w3, #1, 3c <k+0x3c>
  34:	ld1	{v0.s}[1], [x0]
  38:	fsub	v0.4s, v0.4s, v0.4s
  3c:	st1	{v0.s}[0], [x1]
  40:	subs	x2, x2, #0x1
  44:	b.ne	1c <k+0x1c>  // b.any
  48:	nop
  4c:	nop
  50:	ret
  54:	ld1	{v0.s}[0], [x0]
  58:	tbz	w3, #1, 20 <k+0x20>
  5c:	b	30 <k+0x30>
)";
  const auto a = audit_neon(t, "k", DType::F32);
  EXPECT_TRUE(a.ok) << a.describe();
  EXPECT_EQ(a.function.loops, 2);
  EXPECT_EQ(a.function.innermost, 2);
  EXPECT_EQ(a.function.main_loop.first, 0x4u);
  EXPECT_EQ(a.function.main_loop.last, 0x14u);
  // Without the branch-free loop, the tail loop (lane blocks included) is the main loop.
  std::string tail = t;
  tail.replace(tail.find("b.ne\t4 <k+0x4>"), 14, "nop");
  const auto b = inspect_aarch64(tail, "k");
  EXPECT_EQ(b.loops, 1);
  EXPECT_EQ(b.main_loop.first, 0x1cu);
  EXPECT_EQ(b.main_loop.last, 0x5cu);
  EXPECT_EQ(b.main_loop.blocks, 7);
  EXPECT_EQ(b.main_loop.instructions, 14);
  EXPECT_EQ(b.main_loop.vector_by_arrangement.at("s[]"), 3);
}

TEST(NeonAudit, NestedLoops) {
  const std::string t = std::string(kHead) + R"(   0:	mov	x8, xzr
   4:	mov	x9, xzr
   8:	fadd	v0.2d, v0.2d, v1.2d
   c:	add	x9, x9, #0x1
  10:	cmp	x9, x3
  14:	b.ne	8 <k+0x8>
  18:	fmul	v0.4s, v0.4s, v0.4s
  1c:	fmul	v0.4s, v0.4s, v0.4s
  20:	add	x8, x8, #0x1
  24:	cbnz	x8, 4 <k+0x4>
  28:	ret
)";
  const auto a = audit_neon(t, "k", DType::F64);
  EXPECT_TRUE(a.ok) << a.describe();
  EXPECT_EQ(a.function.loops, 2);
  EXPECT_EQ(a.function.innermost, 1);
  EXPECT_EQ(a.loop_instructions, 4);
  EXPECT_EQ(a.arrangement, "2d");
}

TEST(NeonAudit, LibmNames) {
  for (const char *n : {"expf", "exp", "tanhf", "erff", "logf", "powf", "expm1l", "__expf_finite"})
    EXPECT_TRUE(actforge::runtime::is_libm_function(n)) << n;
  for (const char *n : {"halide_error", "memcpy", "k", "f", "expff"})
    EXPECT_FALSE(actforge::runtime::is_libm_function(n)) << n;
}

// --- the real kernels -----------------------------------------------------------------------

std::string quote(const std::string &s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::pair<int, std::string> capture(const std::string &command) {
  std::FILE *p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  char buf[1 << 16];
  for (std::size_t got; (got = std::fread(buf, 1, sizeof buf, p)) > 0;)
    out.append(buf, got);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// <activation>_<role>_<dtype>_<isa>_<schedule>: the dtype and role fields, from the right.
std::pair<std::string, std::string> role_and_dtype(const std::string &stem) {
  std::vector<std::string> parts;
  for (std::size_t i = 0, j; i <= stem.size(); i = j + 1) {
    j = std::min(stem.find('_', i), stem.size());
    parts.push_back(stem.substr(i, j - i));
  }
  if (parts.size() < 5) return {};
  return {parts[parts.size() - 4], parts[parts.size() - 3]};
}

TEST(NeonAuditArm, EveryLibraryKernelIsVectorCode) {
  const auto &tools = actforge::targets::arm::cross_tools();
  if (tools.objdump.empty()) GTEST_SKIP() << "no AArch64 objdump: " << tools.problem;
  actforge::aot::Options o;
  for (const auto &e : actforge::dsl::catalog())
    if (e.expr.defined()) o.activations.push_back(actforge::aot::resolve_activation(e.name));
  o.targets = {"arm-64-linux"};
  using actforge::codegen::Role;
  o.roles = {Role::Forward, Role::Backward, Role::BackwardFromOutput, Role::ParamGrad};
  o.dtypes = {DType::F32, DType::F16, DType::F64, DType::BF16};
  o.prefix = "neonaudit";
  const fs::path dir =
      fs::temp_directory_path() / ("actforge-neon-audit-" + std::to_string(::getpid()));
  struct Remove {
    fs::path dir;
    ~Remove() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } remove{dir};
  const auto files = actforge::aot::generate(o, dir.string());

  std::map<std::string, std::vector<int>> sizes; // "f32 fwd" -> main loop instructions
  std::map<std::string, std::pair<int, std::string>> smallest, largest;
  int kernels = 0;
  std::printf("%-36s %6s %6s %6s %4s %5s %4s %4s  %s\n", "kernel (main loop)", "insns", "vector",
              "fp", "arr", "block", "ld", "st", "vector instructions by arrangement");
  for (const std::string &f : files) {
    if (f.size() < 3 || f.substr(f.size() - 2) != ".o" || f == o.prefix + "_runtime.o") continue;
    const std::string stem = f.substr(0, f.size() - 2);
    const auto [code, text] =
        capture(quote(tools.objdump) + " -dr --no-show-raw-insn " + quote((dir / f).string()));
    ASSERT_EQ(code, 0) << text;
    const auto [role, dtype] = role_and_dtype(stem);
    const auto a = audit_neon(text, stem, actforge::codegen::parse_dtype(dtype));
    EXPECT_TRUE(a.ok) << a.describe();
    ++kernels;
    std::string arrangements;
    for (const auto &[arr, n] : a.function.main_loop.vector_by_arrangement)
      arrangements += arr + ":" + std::to_string(n) + " ";
    const auto &l = a.function.main_loop;
    std::printf("%-36s %6d %6d %6d %4s %5d %4d %4d  %s\n", stem.c_str(), a.loop_instructions,
                a.loop_vector, a.loop_fp, a.arrangement.c_str(), l.blocks, l.loads, l.stores,
                arrangements.c_str());
    const std::string key = dtype + " " + role;
    sizes[key].push_back(a.loop_instructions);
    if (!smallest.count(key) || a.loop_instructions < smallest[key].first)
      smallest[key] = {a.loop_instructions, stem};
    if (!largest.count(key) || a.loop_instructions > largest[key].first)
      largest[key] = {a.loop_instructions, stem};
  }
  std::printf("\nmain loop instructions: min / median / max (kernels)\n");
  for (auto &[key, v] : sizes) {
    std::sort(v.begin(), v.end());
    std::printf("%-12s %5d (%s) / %5d / %5d (%s)  n=%zu\n", key.c_str(), v.front(),
                smallest[key].second.c_str(), v[v.size() / 2], v.back(),
                largest[key].second.c_str(), v.size());
  }
  std::fflush(stdout);
  // Every activation has forward and backward in each dtype; param_grad and
  // backward_from_output where it has them.
  EXPECT_GE(kernels, static_cast<int>(o.activations.size()) * 2 * 4);
}

} // namespace
