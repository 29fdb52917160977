// Linked into every codegen test binary: Halide aborts on compile-time errors by default, and a
// test must fail instead.
#include <Halide.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>

namespace {

class ThrowingReporter : public Halide::CompileTimeErrorReporter {
public:
  void warning(const char *msg) override { std::fprintf(stderr, "Halide warning: %s\n", msg); }
  void error(const char *msg) override { throw std::runtime_error(msg); }
};

class HalideErrorsThrow : public ::testing::Environment {
public:
  void SetUp() override { Halide::set_custom_compile_time_error_reporter(&reporter_); }
  void TearDown() override { Halide::set_custom_compile_time_error_reporter(nullptr); }

private:
  ThrowingReporter reporter_;
};

[[maybe_unused]] const auto *const kHalideErrorsThrow =
    ::testing::AddGlobalTestEnvironment(new HalideErrorsThrow);

} // namespace
