// targets/fpga: the target's description, the rule checker on a hand-written HLS-style kernel
// (accepted) and on variants that break one rule each (rejected, with the rule named), and the C
// simulation of that kernel on float and int16_t arrays.
#include "actforge/codegen/hls/hls.hpp"
#include "actforge/dsl/catalog.hpp"
#include "actforge/dsl/rrelu.hpp"
#include "actforge/error.hpp"
#include "actforge/runtime/aot.hpp"
#include "actforge/runtime/jit.hpp"
#include "actforge/targets/fpga.hpp"
#include "actforge/targets/program.hpp"
#include "actforge/targets/target.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace targets = actforge::targets;
namespace fpga = actforge::targets::fpga;

namespace {

constexpr int kMaxN = 8; // RELU_MAX_N: small, so that runs of a few elements take several calls

const char *kHeader = R"(/* relu: a hand-written HLS-style kernel (tests/fpga_target_test.cpp). */
#ifndef RELU_H
#define RELU_H
#include <stdint.h>
#define RELU_MAX_N 8
#ifdef __cplusplus
extern "C" {
#endif
void relu(const T *x, T *y, int32_t n);
#ifdef __cplusplus
}
#endif
#endif
)";

const char *kSource = R"(/* relu over an array: branch-free, one element a cycle. */
#include "relu.h"
/* DECLS */
void relu(const T *x, T *y, int32_t n) {
#ifdef __SYNTHESIS__
#pragma HLS INTERFACE m_axi port = x offset = slave
#endif
  int32_t i;
  for (i = 0; i < n; ++i) {
#ifdef __SYNTHESIS__
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT max = RELU_MAX_N
#endif
    const T v = x[i];
    y[i] = v > ZERO ? v : ZERO; /* "if" in a comment or a string is no branch */
  }
}
)";

std::string replace(std::string text, const std::string &from, const std::string &to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The kernel's files for element type `type` (float or an integer type).
std::map<std::string, std::string> relu_files(const std::string &type) {
  const std::string zero = type == "float" ? "0.0f" : "0";
  std::string h = kHeader, c = kSource;
  for (std::string *text : {&h, &c}) {
    for (auto at = text->find(" T "); at != std::string::npos; at = text->find(" T ", at))
      text->replace(at + 1, 1, type);
    for (auto at = text->find("ZERO"); at != std::string::npos; at = text->find("ZERO"))
      text->replace(at, 4, zero);
  }
  return {{"relu.h", h}, {"relu.c", c}};
}

// The float kernel with each `from` of relu.c replaced by its `to`.
std::map<std::string, std::string>
variant(std::initializer_list<std::pair<std::string, std::string>> edits) {
  auto files = relu_files("float");
  for (const auto &[from, to] : edits)
    files["relu.c"] = replace(files["relu.c"], from, to);
  return files;
}

const std::string kStatement = "y[i] = v > 0.0f ? v : 0.0f;";

std::string missing_tools() {
  std::string missing;
  for (const char *tool : {"gcc", "clang", "g++", "nm"})
    if (targets::find_program(tool).empty())
      missing += std::string(missing.empty() ? "" : ", ") + tool;
  return missing;
}

#define SKIP_WITHOUT_TOOLS()                                                                       \
  do {                                                                                             \
    if (const std::string m = missing_tools(); !m.empty())                                         \
      GTEST_SKIP() << "the rule check needs gcc, clang, g++ and nm; missing: " << m;               \
  } while (0)

std::string all(const fpga::RuleCheck &check) {
  std::string s;
  for (const auto &p : check.problems)
    s += p + "\n";
  return s;
}

// Whether some problem contains every one of `parts`.
bool has_problem(const fpga::RuleCheck &check, std::initializer_list<std::string> parts) {
  return std::any_of(check.problems.begin(), check.problems.end(), [&](const std::string &p) {
    return std::all_of(parts.begin(), parts.end(),
                       [&](const std::string &part) { return p.find(part) != std::string::npos; });
  });
}

} // namespace

TEST(FpgaTarget, NameFamilyAndNoHalideTarget) {
  const targets::TargetInfo info = targets::resolve("fpga");
  EXPECT_EQ(info.name, "fpga");
  EXPECT_EQ(info.family, targets::Family::Fpga);
  EXPECT_FALSE(info.gpu);
  EXPECT_STREQ(targets::to_string(targets::Family::Fpga), "fpga");
  EXPECT_EQ(targets::family_names(targets::Family::Fpga), std::vector<std::string>{"fpga"});
  EXPECT_EQ(targets::isa("fpga"), "fpga");
  const auto known = targets::known_names();
  EXPECT_NE(std::find(known.begin(), known.end(), "fpga"), known.end());
  try {
    targets::halide_target(info);
    FAIL() << "fpga has no Halide target";
  } catch (const actforge::Error &e) {
    EXPECT_NE(std::string(e.what()).find("actforge gen --target fpga"), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(targets::halide_target(targets::resolve("x86-64-avx2")));
  EXPECT_THROW(fpga::resolve("fpga2"), actforge::Error);
}

// The fpga target writes C (codegen/hls): the Halide paths refuse it with what to do instead.
TEST(FpgaTarget, JitAndHalideAotRefuseIt) {
  const std::string advice = "the fpga target writes C: use `actforge gen --target fpga`";
  try {
    actforge::jit("relu", actforge::JitOptions{actforge::Role::Forward, actforge::DType::F32,
                                               "fpga", std::nullopt});
    FAIL() << "jit() accepted the fpga target";
  } catch (const actforge::Error &e) {
    EXPECT_EQ(std::string(e.what()), advice);
  }
  namespace aot = actforge::aot;
  aot::Options o;
  o.activations = {aot::resolve_activation("relu")};
  for (const auto &list : {std::vector<std::string>{"fpga"}, {"x86-64-avx2", "fpga"}}) {
    o.targets = list;
    try {
      aot::generate(o, ::testing::TempDir() + "/fpga_aot");
      FAIL() << "aot::generate() accepted the fpga target";
    } catch (const actforge::Error &e) {
      EXPECT_EQ(std::string(e.what()), advice);
    }
  }
}

TEST(FpgaTarget, ElementSizes) {
  EXPECT_EQ(fpga::element_size("float"), 4u);
  EXPECT_EQ(fpga::element_size("double"), 8u);
  EXPECT_EQ(fpga::element_size("int8_t"), 1u);
  EXPECT_EQ(fpga::element_size("int16_t"), 2u);
  EXPECT_EQ(fpga::element_size("int32_t"), 4u);
  EXPECT_EQ(fpga::element_size("int64_t"), 8u);
  EXPECT_THROW(fpga::element_size("half"), actforge::Error);
}

TEST(FpgaRules, AcceptsTheHandWrittenKernel) {
  SKIP_WITHOUT_TOOLS();
  for (const char *type : {"float", "int16_t"}) {
    const fpga::RuleCheck check = fpga::check_rules(relu_files(type), "relu.c");
    EXPECT_TRUE(check.ok()) << type << ":\n" << all(check);
    const std::vector<std::string> expected{
        "gcc -std=c99 -pedantic -Wall -Wextra -Werror -O0 -c relu.c",
        "gcc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -c relu.c",
        "clang -std=c99 -pedantic -Wall -Wextra -Werror -O0 -c relu.c",
        "clang -std=c99 -pedantic -Wall -Wextra -Werror -O2 -c relu.c",
        "g++ -x c++ -std=c++17 -pedantic -Wall -Wextra -Werror -c relu.c"};
    for (const auto &command : expected)
      EXPECT_NE(std::find(check.ran.begin(), check.ran.end(), command), check.ran.end()) << command;
    EXPECT_EQ(std::count_if(check.ran.begin(), check.ran.end(),
                            [](const std::string &r) { return r.rfind("nm -u ", 0) == 0; }),
              5);
  }
}

// The zero-count form (hls::Options::zero_count, gen --zero-counts) obeys the same rules: a
// second top function with its own pipelined element loop, an int64 accumulator and one store.
TEST(FpgaRules, AcceptsTheZeroCountForm) {
  SKIP_WITHOUT_TOOLS();
  for (const bool fixed : {false, true}) {
    namespace hls = actforge::codegen::hls;
    using actforge::codegen::Role;
    hls::Options o;
    o.zero_count = true;
    if (fixed) o.in = o.out = hls::parse_fixed("16.10");
    for (const Role role : {Role::Forward, Role::Backward}) {
      const std::string name =
          std::string("hardsigmoid_") + (role == Role::Forward ? "fwd" : "bwd");
      const hls::Kernel k =
          hls::generate(actforge::dsl::find_activation("hardsigmoid")->expr, role, name, o);
      EXPECT_NE(k.source.find(name + "_zero_count("), std::string::npos);
      const fpga::RuleCheck check =
          fpga::check_rules({{name + ".c", k.source}, {name + ".h", k.header}}, name + ".c");
      EXPECT_TRUE(check.ok()) << name << (fixed ? " fixed" : " float") << ":\n" << all(check);
    }
  }
}

// RReLU training with g generated in the loop (hls::Options::uniform_g): Philox-4x32-10 written
// out round by round obeys the rules too (no loop but the element loop, no call, no warning),
// with and without the zero-count form. Its values: tests/cli/fpga_rrelu_train.sh.
TEST(FpgaRules, AcceptsGeneratedNoise) {
  SKIP_WITHOUT_TOOLS();
  namespace hls = actforge::codegen::hls;
  using actforge::codegen::Role;
  hls::Options o;
  o.uniform_g = true;
  for (const bool zero_count : {false, true}) {
    o.zero_count = zero_count;
    for (const Role role : {Role::Forward, Role::Backward}) {
      const std::string name =
          std::string("rrelu_train_") + (role == Role::Forward ? "fwd" : "bwd");
      const hls::Kernel k = hls::generate(actforge::dsl::rrelu_train_expr(), role, name, o);
      EXPECT_NE(k.source.find("uint64_t seed, uint64_t offset"), std::string::npos);
      EXPECT_EQ(k.report.inputs.size(), role == Role::Forward ? 1u : 2u) << "g is not read";
      const fpga::RuleCheck check =
          fpga::check_rules({{name + ".c", k.source}, {name + ".h", k.header}}, name + ".c");
      EXPECT_TRUE(check.ok()) << name << ":\n" << all(check);
    }
  }
  o.in = o.out = hls::parse_fixed("16.10");
  EXPECT_THROW(hls::generate(actforge::dsl::rrelu_train_expr(), Role::Forward, "r", o),
               actforge::Error);
}

TEST(FpgaRules, StaticBoundNeedsNoTripCount) {
  SKIP_WITHOUT_TOOLS();
  auto files = variant({{"#pragma HLS LOOP_TRIPCOUNT max = RELU_MAX_N\n", ""}});
  files["relu.c"] = replace(files["relu.c"], "i < n;", "i < RELU_MAX_N && i < n;");
  // `i < n` is still in the condition: a run-time bound. A static one needs no trip count:
  EXPECT_TRUE(has_problem(fpga::check_rules(files, "relu.c"), {"LOOP_TRIPCOUNT"}));
  files["relu.c"] = replace(files["relu.c"], "i < RELU_MAX_N && i < n;", "i < RELU_MAX_N * 2;");
  files["relu.c"] = replace(files["relu.c"], "const float v = x[i];", "const float v = x[i] + n;");
  const fpga::RuleCheck check = fpga::check_rules(files, "relu.c");
  EXPECT_TRUE(check.ok()) << all(check);
}

TEST(FpgaRules, RejectsAnIf) {
  SKIP_WITHOUT_TOOLS();
  const auto check = fpga::check_rules(
      variant({{kStatement, "if (v > 0.0f) y[i] = v; else y[i] = 0.0f;"}}), "relu.c");
  EXPECT_TRUE(has_problem(check, {"relu.c:15: ", "`if`", "branch-free"})) << all(check);
  EXPECT_TRUE(has_problem(check, {"relu.c:15: ", "`else`"})) << all(check);
}

TEST(FpgaRules, RejectsACallOfExpf) {
  SKIP_WITHOUT_TOOLS();
  const auto check = fpga::check_rules(variant({{"/* DECLS */", "float expf(float);"},
                                                {kStatement, "y[i] = v > 0.0f ? v : expf(v);"}}),
                                       "relu.c");
  EXPECT_TRUE(has_problem(check, {"relu.c (gcc-O2): the object calls `expf` (nm -u)"}))
      << all(check);
  EXPECT_TRUE(has_problem(check, {"relu.c (clang-O0): the object calls `expf`"})) << all(check);
  EXPECT_TRUE(has_problem(check, {"relu.c:15: call of `expf`: no libm"})) << all(check);
}

TEST(FpgaRules, RejectsMalloc) {
  SKIP_WITHOUT_TOOLS();
  const auto check = fpga::check_rules(
      variant({{"/* DECLS */", "void *malloc(unsigned long);"},
               {"  int32_t i;\n", "  int32_t i;\n  float *scratch = (float *)malloc(4);\n"},
               {kStatement, "y[i] = v > 0.0f ? v : scratch[0];"}}),
      "relu.c");
  EXPECT_TRUE(has_problem(check, {"relu.c:9: `malloc`: no heap"})) << all(check);
  EXPECT_TRUE(has_problem(check, {"the object calls `malloc` (nm -u)"})) << all(check);
}

TEST(FpgaRules, RejectsRecursion) {
  SKIP_WITHOUT_TOOLS();
  const auto check = fpga::check_rules(
      variant({{"/* DECLS */",
                "static int32_t depth(int32_t k) { return k > 0 ? depth(k - 1) + 1 : 0; }"},
               {kStatement, "y[i] = v > 0.0f ? v : (float)depth(i);"}}),
      "relu.c");
  EXPECT_TRUE(has_problem(check, {"relu.c:3: `depth` calls itself: no recursion"})) << all(check);
}

TEST(FpgaRules, RejectsALoopWithoutPipelinePragma) {
  SKIP_WITHOUT_TOOLS();
  const auto check = fpga::check_rules(variant({{"#pragma HLS PIPELINE II=1\n", ""}}), "relu.c");
  EXPECT_TRUE(has_problem(check, {"relu.c:9: ", "does not open with `#pragma HLS PIPELINE II=1`"}))
      << all(check);
  // II=2 is not II=1.
  const auto ii2 = fpga::check_rules(variant({{"II=1", "II=2"}}), "relu.c");
  EXPECT_TRUE(has_problem(ii2, {"relu.c:9: ", "PIPELINE II=1"})) << all(ii2);
}

TEST(FpgaRules, RejectsMathH) {
  SKIP_WITHOUT_TOOLS();
  const auto check = fpga::check_rules(variant({{"/* DECLS */", "#include <math.h>"}}), "relu.c");
  EXPECT_TRUE(has_problem(check, {"relu.c:3: #include <math.h>: only <stdint.h>"})) << all(check);
}

TEST(FpgaRules, RejectsDouble) {
  SKIP_WITHOUT_TOOLS();
  const auto check = fpga::check_rules(variant({{"const float v = x[i];", "const double v = x[i];"},
                                                {kStatement, "y[i] = v > 0.0 ? (float)v : 0.0f;"}}),
                                       "relu.c");
  EXPECT_TRUE(has_problem(check, {"relu.c:14: `double`: float mode is IEEE f32 only"}))
      << all(check);
  EXPECT_TRUE(has_problem(check, {"relu.c:15: `0.0` is a double constant"})) << all(check);
}

TEST(FpgaRules, RejectsOtherForbiddenConstructs) {
  SKIP_WITHOUT_TOOLS();
  EXPECT_TRUE(has_problem(
      fpga::check_rules(variant({{"/* DECLS */", "typedef float (*unary)(float);"}}), "relu.c"),
      {"relu.c:3: function pointer"}));
  EXPECT_TRUE(has_problem(
      fpga::check_rules(variant({{"for (i = 0; i < n; ++i) {", "i = 0;\n  while (i < n) {"},
                                 {kStatement, kStatement + std::string(" ++i;")}}),
                        "relu.c"),
      {"`while`"}));
  EXPECT_TRUE(has_problem(
      fpga::check_rules(variant({{"#pragma HLS LOOP_TRIPCOUNT max = RELU_MAX_N\n", ""}}), "relu.c"),
      {"relu.c:9: ", "run-time bound and no `#pragma HLS LOOP_TRIPCOUNT`"}));
  EXPECT_TRUE(
      has_problem(fpga::check_rules(variant({{"/* DECLS */", "#pragma HLS INLINE"}}), "relu.c"),
                  {"relu.c:3: `#pragma HLS` outside `#ifdef __SYNTHESIS__`"}));
  // A file that does not compile: the compiler's own message, naming the file and line.
  EXPECT_TRUE(has_problem(fpga::check_rules(variant({{kStatement, "y[i] = w;"}}), "relu.c"),
                          {"relu.c does not compile with gcc", "relu.c:15:"}));
  EXPECT_THROW(fpga::check_rules(relu_files("float"), "other.c"), actforge::Error);
}

TEST(FpgaRules, PragmasInTheElseOfIfndefSynthesisCount) {
  SKIP_WITHOUT_TOOLS();
  const auto check =
      fpga::check_rules(variant({{"#ifdef __SYNTHESIS__\n#pragma HLS PIPELINE",
                                  "#ifndef __SYNTHESIS__\n#else\n#pragma HLS PIPELINE"}}),
                        "relu.c");
  EXPECT_TRUE(check.ok()) << all(check);
  const auto wrong = fpga::check_rules(variant({{"#ifdef __SYNTHESIS__\n#pragma HLS PIPELINE",
                                                 "#ifndef __SYNTHESIS__\n#pragma HLS PIPELINE"}}),
                                       "relu.c");
  EXPECT_TRUE(has_problem(wrong, {"relu.c:11: `#pragma HLS` outside `#ifdef __SYNTHESIS__`"}))
      << all(wrong);
}

// A tool that is missing is a problem, never a silent pass.
TEST(FpgaRules, MissingToolsAreProblems) {
  const char *path = std::getenv("PATH");
  const std::string saved = path ? path : "";
  ::setenv("PATH", "/nonexistent-actforge-test-dir", 1);
  const auto check = fpga::check_rules(relu_files("float"), "relu.c");
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_FALSE(check.ok());
  EXPECT_TRUE(has_problem(check, {"gcc not found: apt-get install gcc"})) << all(check);
  EXPECT_TRUE(has_problem(check, {"clang not found: apt-get install clang"})) << all(check);
  EXPECT_TRUE(has_problem(check, {"g++ not found: apt-get install g++"})) << all(check);
  EXPECT_TRUE(has_problem(check, {"nm not found: apt-get install binutils"})) << all(check);
  EXPECT_TRUE(check.ran.empty());
}

namespace {

template <class T> std::vector<unsigned char> bytes_of(const std::vector<T> &values) {
  std::vector<unsigned char> b(values.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), values.data(), b.size());
  return b;
}

template <class T> std::vector<T> relu_inputs(std::int64_t n) {
  std::vector<T> x;
  for (std::int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, float>)
      x.push_back(i % 3 == 0 ? -1.5f * static_cast<float>(i) - 0.25f
                             : 0.125f * static_cast<float>(i * i) + 1e-3f);
    else
      x.push_back(static_cast<T>(i % 2 ? -7 * i : (i % 4 ? 32767 : -32768 + i)));
  }
  return x;
}

template <class T> void check_csim(const std::string &type) {
  if (targets::find_program("cc").empty()) GTEST_SKIP() << "C simulation needs cc (gcc)";
  const fpga::Csim sim(relu_files(type), "relu.c", {"relu", "RELU_MAX_N", {type}, {type}});
  for (std::int64_t n : {std::int64_t{0}, std::int64_t{1}, std::int64_t{kMaxN + 3}}) {
    const std::vector<T> x = relu_inputs<T>(n);
    std::vector<T> want;
    for (T v : x)
      want.push_back(v > T(0) ? v : T(0));
    const auto out = sim.run({bytes_of(x)}, n);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], bytes_of(want)) << type << ", n = " << n;
  }
}

} // namespace

TEST(FpgaCsim, RunsReluOnFloats) { check_csim<float>("float"); }

TEST(FpgaCsim, RunsReluOnInt16) { check_csim<std::int16_t>("int16_t"); }

TEST(FpgaCsim, CatchesWritesPastTheChunk) {
  if (targets::find_program("cc").empty()) GTEST_SKIP() << "C simulation needs cc (gcc)";
  auto files = variant({{kStatement, kStatement + std::string(" y[i + 1] = 0.0f;")}});
  const fpga::Csim sim(files, "relu.c", {"relu", "RELU_MAX_N", {"float"}, {"float"}});
  const std::vector<float> x(3, 1.0f);
  try {
    sim.run({bytes_of(x)}, 3);
    FAIL() << "a write past the end of the output went unnoticed";
  } catch (const actforge::Error &e) {
    EXPECT_NE(std::string(e.what()).find("relu wrote past the end of output 0"), std::string::npos)
        << e.what();
  }
}

TEST(FpgaCsim, ErrorsNameTheProblem) {
  if (targets::find_program("cc").empty()) GTEST_SKIP() << "C simulation needs cc (gcc)";
  try {
    fpga::Csim sim(variant({{kStatement, "y[i] = w;"}}), "relu.c",
                   {"relu", "RELU_MAX_N", {"float"}, {"float"}});
    FAIL() << "a kernel that does not compile";
  } catch (const actforge::Error &e) {
    EXPECT_NE(std::string(e.what()).find("relu.c:15"), std::string::npos) << e.what();
  }
  EXPECT_THROW(
      fpga::Csim(relu_files("float"), "relu.c", {"relu", "RELU_MAX_N", {"half"}, {"float"}}),
      actforge::Error);
  const fpga::Csim sim(relu_files("float"), "relu.c", {"relu", "RELU_MAX_N", {"float"}, {"float"}});
  EXPECT_THROW(sim.run({std::vector<unsigned char>(7)}, 2), actforge::Error); // 7 bytes, not 8
  EXPECT_THROW(sim.run({}, 0), actforge::Error);                              // one input
}
