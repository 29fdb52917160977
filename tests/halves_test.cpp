// Gated activations on one tensor split in halves (Layout::Halves, the transformer layout
// [rows, 2d]): forward, backward and param_grad give bit for bit what the two-tensor kernels
// give on the de-interleaved data, in every dtype, at sizes with vector tails; ports, names,
// and the errors of a wrong spec or call.
#include "actforge/runtime/aot.hpp"
#include "actforge/runtime/jit.hpp"

#include "actforge/dsl/catalog.hpp"
#include "actforge/targets/cuda.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace actforge {
namespace {

constexpr DType kDTypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16};
constexpr const char *kGated[] = {"glu", "reglu", "geglu", "swiglu", "x * tanh(g)"};
constexpr std::int64_t kRows[] = {1, 3, 17};
constexpr std::int64_t kWidths[] = {1, 7, 16, 1000}; // d: lanes' tails, one vector, many

// n values of `dtype` (bytes), pseudo-random in [-6, 6) with special values sprinkled in:
// ±0, ±inf, NaN, tiny and large magnitudes (the guards' paths).
std::vector<unsigned char> data(std::size_t n, DType dtype, unsigned seed) {
  const int bytes = codegen::bytes_of(dtype);
  std::vector<unsigned char> out(n * static_cast<std::size_t>(bytes));
  const double specials[] = {0.0,
                             -0.0,
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN(),
                             1e-5,
                             -3e4,
                             60.0};
  std::uint32_t s = seed;
  for (std::size_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    double v = -6.0 + 12.0 * static_cast<double>(s >> 8) / 16777216.0;
    if ((s >> 4) % 13 == 0) v = specials[(s >> 9) % std::size(specials)];
    codegen::store_value(out.data() + i * static_cast<std::size_t>(bytes), dtype, v);
  }
  return out;
}

// Half h (0: x, 1: g) of a [rows, 2d] tensor, as a [rows, d] one.
std::vector<unsigned char> half(const std::vector<unsigned char> &xg, std::int64_t rows,
                                std::int64_t d, int h, int bytes) {
  std::vector<unsigned char> out(static_cast<std::size_t>(rows * d * bytes));
  const auto row = static_cast<std::size_t>(d * bytes);
  for (std::int64_t r = 0; r < rows; ++r)
    std::memcpy(out.data() + static_cast<std::size_t>(r) * row,
                xg.data() + static_cast<std::size_t>(2 * r + h) * row, row);
  return out;
}

JitOptions options(Role role, DType dtype, Layout layout) {
  JitOptions o;
  o.role = role;
  o.dtype = dtype;
  o.layout = layout;
  return o;
}

std::string where(const std::string &f, DType dtype, std::int64_t rows, std::int64_t d) {
  return f + " " + std::string(codegen::to_string(dtype)) + " rows=" + std::to_string(rows) +
         " d=" + std::to_string(d);
}

TEST(Halves, ForwardAndBackwardMatchTheTwoTensorKernelsBitForBit) {
  for (const char *f : kGated)
    for (DType dtype : kDTypes) {
      const Kernel fwd2 = jit(f, options(Role::Forward, dtype, Layout::Flat));
      const Kernel bwd2 = jit(f, options(Role::Backward, dtype, Layout::Flat));
      const Kernel fwd = jit(f, options(Role::Forward, dtype, Layout::Halves));
      const Kernel bwd = jit(f, options(Role::Backward, dtype, Layout::Halves));
      const int bytes = codegen::bytes_of(dtype);
      for (std::int64_t rows : kRows)
        for (std::int64_t d : kWidths) {
          SCOPED_TRACE(where(f, dtype, rows, d));
          const auto n = static_cast<std::size_t>(rows * d);
          const auto xg = data(2 * n, dtype, static_cast<unsigned>(rows * 131 + d));
          const auto dy = data(n, dtype, static_cast<unsigned>(rows * 7 + d * 3 + 1));
          const auto x = half(xg, rows, d, 0, bytes), g = half(xg, rows, d, 1, bytes);
          const std::size_t size = n * static_cast<std::size_t>(bytes);

          // The outputs start as a pattern, so an element left unwritten shows.
          std::vector<unsigned char> y2(size, 0xa5), y(size, 0x5a);
          fwd2.run({x.data(), g.data()}, {y2.data()}, Shape::flat(rows * d));
          fwd.run({xg.data()}, {y.data()}, Shape::halves(rows, d));
          EXPECT_EQ(y, y2) << "forward";

          std::vector<unsigned char> dx2(size, 0xa5), dg2(size, 0xa5), dxg(2 * size, 0x5a);
          bwd2.run({x.data(), g.data(), dy.data()}, {dx2.data(), dg2.data()},
                   Shape::flat(rows * d));
          bwd.run({xg.data(), dy.data()}, {dxg.data()}, Shape::halves(rows, d));
          EXPECT_EQ(half(dxg, rows, d, 0, bytes), dx2) << "backward dx";
          EXPECT_EQ(half(dxg, rows, d, 1, bytes), dg2) << "backward dg";
        }
    }
}

// The halves take their rows from the call, not from the buffer: a call on rows [r0, r1) of a
// bigger tensor writes exactly those rows.
TEST(Halves, ACallOnSomeRowsWritesOnlyThem) {
  const Kernel bwd = jit("swiglu", options(Role::Backward, DType::F32, Layout::Halves));
  const std::int64_t rows = 9, d = 37;
  const auto xg = data(static_cast<std::size_t>(rows * 2 * d), DType::F32, 5);
  const auto dy = data(static_cast<std::size_t>(rows * d), DType::F32, 6);
  std::vector<unsigned char> whole(xg.size()), part(xg.size(), 0x11);
  bwd.run({xg.data(), dy.data()}, {whole.data()}, Shape::halves(rows, d));
  const std::size_t in_row = 2 * d * 4, dy_row = d * 4;
  bwd.run({xg.data() + 2 * in_row, dy.data() + 2 * dy_row}, {part.data() + 2 * in_row},
          Shape::halves(4, d));
  for (std::size_t b = 0; b < part.size(); ++b) {
    const bool inside = b >= 2 * in_row && b < 6 * in_row;
    ASSERT_EQ(part[b], inside ? whole[b] : 0x11) << "byte " << b;
  }
}

// param_grad sums rows of d elements, as the channel layout [rows, 1, d] does: the same bits.
TEST(Halves, ParamGradMatchesTheChannelLayoutsSums) {
  const char *f = "x * sigmoid(beta * g) + a * g, beta=1.25, a=0.5";
  for (DType dtype : {DType::F32, DType::F64})
    for (std::int64_t rows : kRows)
      for (std::int64_t d : kWidths) {
        SCOPED_TRACE(where(f, dtype, rows, d));
        const Kernel pg = jit(f, options(Role::ParamGrad, dtype, Layout::Halves));
        const Kernel ch = jit(f, options(Role::ParamGrad, dtype, Layout::Channels));
        ASSERT_EQ(pg.output_ports().size(), 2u);
        const int bytes = codegen::bytes_of(dtype);
        const auto n = static_cast<std::size_t>(rows * d);
        auto xg = data(2 * n, dtype, static_cast<unsigned>(d + 3 * rows));
        // Finite values: a NaN or infinity would make both sums NaN/inf, hiding their order.
        for (std::size_t i = 0; i < 2 * n; ++i) {
          const double v = codegen::load_value(xg.data() + i * bytes, dtype);
          if (!std::isfinite(v) || std::abs(v) > 100)
            codegen::store_value(xg.data() + i * bytes, dtype, 0.75);
        }
        const auto dy = data(n, dtype, 77);
        std::vector<unsigned char> dy_finite = dy;
        for (std::size_t i = 0; i < n; ++i)
          if (!std::isfinite(codegen::load_value(dy.data() + i * bytes, dtype)))
            codegen::store_value(dy_finite.data() + i * bytes, dtype, -0.5);
        const auto x = half(xg, rows, d, 0, bytes), g = half(xg, rows, d, 1, bytes);
        std::vector<unsigned char> da(8), dbeta(8), da2(8), dbeta2(8);
        const Params p{{"a", 0.3}, {"beta", 0.9}};
        pg.run({xg.data(), dy_finite.data()}, {da.data(), dbeta.data()}, Shape::halves(rows, d), p);
        ch.run({x.data(), g.data(), dy_finite.data()}, {da2.data(), dbeta2.data()},
               Shape::with_channels(rows, 1, d), p);
        EXPECT_EQ(da, da2);
        EXPECT_EQ(dbeta, dbeta2);
        EXPECT_NE(codegen::load_value(dbeta.data(), dtype), 0.0);
      }
}

TEST(Halves, PortsNameAndShapes) {
  const Kernel fwd = jit("glu", options(Role::Forward, DType::F32, Layout::Halves));
  const Kernel bwd = jit("glu", options(Role::Backward, DType::F32, Layout::Halves));
  EXPECT_EQ(fwd.layout(), Layout::Halves);
  EXPECT_NE(fwd.name().find("glu_fwd_half_f32_"), std::string::npos) << fwd.name();
  EXPECT_NE(bwd.name().find("glu_bwd_half_f32_"), std::string::npos) << bwd.name();
  ASSERT_EQ(fwd.input_ports().size(), 1u);
  EXPECT_EQ(fwd.input_ports()[0].name, "xg");
  EXPECT_EQ(fwd.input_ports()[0].extent, Extent::Pairs);
  ASSERT_EQ(fwd.output_ports().size(), 1u);
  EXPECT_EQ(fwd.output_ports()[0].name, "y");
  EXPECT_EQ(fwd.output_ports()[0].extent, Extent::Elements);
  ASSERT_EQ(bwd.input_ports().size(), 2u);
  EXPECT_EQ(bwd.input_ports()[1].name, "dy");
  EXPECT_EQ(bwd.input_ports()[1].extent, Extent::Elements);
  ASSERT_EQ(bwd.output_ports().size(), 1u);
  EXPECT_EQ(bwd.output_ports()[0].name, "dxg");
  EXPECT_EQ(bwd.output_ports()[0].extent, Extent::Pairs);
  // A different kernel from the flat one of the same activation (the cache keys the layout).
  EXPECT_NE(jit("glu", options(Role::Forward, DType::F32, Layout::Flat)).name(), fwd.name());

  const Shape s = Shape::halves_of(3, 14);
  EXPECT_EQ(s.layout, Layout::Halves);
  EXPECT_EQ(s.outer, 3);
  EXPECT_EQ(s.inner, 7);
  // No rows, or d = 0: nothing to do, nothing read.
  fwd.run({nullptr}, {nullptr}, Shape::halves(0, 5));
  fwd.run({nullptr}, {nullptr}, Shape::halves(4, 0));
}

std::string message(auto &&call) {
  try {
    call();
  } catch (const Error &e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Halves, Errors) {
  EXPECT_EQ(message([] { (void)Shape::halves_of(2, 7); }),
            "the halves layout splits the last dimension into x and g: it must be even and >= "
            "0, got 7");
  EXPECT_NE(message([] {
              (void)jit("relu", options(Role::Forward, DType::F32, Layout::Halves));
            }).find("does not read g"),
            std::string::npos);
  EXPECT_NE(message([] {
              JitOptions o = options(Role::Forward, DType::F32, Layout::Halves);
              o.uniform_g = true;
              (void)jit("glu", o);
            }).find("uniform_g generates it"),
            std::string::npos);
  EXPECT_NE(message([] {
              (void)jit("glu", options(Role::BackwardFromOutput, DType::F32, Layout::Halves));
            }).find("backward_from_output reads only y"),
            std::string::npos);
  EXPECT_NE(message([] {
              JitOptions o = options(Role::Forward, DType::F32, Layout::Halves);
              o.per_channel = {"beta"};
              (void)jit("x * sigmoid(beta * g), beta=1", o);
            }).find("per-channel parameters need the channel layout"),
            std::string::npos);

  const Kernel fwd = jit("glu", options(Role::Forward, DType::F32, Layout::Halves));
  const Kernel flat = jit("glu", options(Role::Forward, DType::F32, Layout::Flat));
  std::vector<float> xg(8), y(4), g(4);
  EXPECT_NE(message([&] {
              fwd.run({xg.data()}, {y.data()}, Shape::flat(4));
            }).find("give its size as Shape::halves(rows, d)"),
            std::string::npos);
  EXPECT_NE(message([&] {
              flat.run({xg.data(), g.data()}, {y.data()}, Shape::halves(1, 4));
            }).find("is flat"),
            std::string::npos);
  EXPECT_NE(message([&] {
              fwd.run({xg.data(), g.data()}, {y.data()}, Shape::halves(1, 4));
            }).find("takes 1 input arrays (xg)"),
            std::string::npos);
  EXPECT_NE(message([&] {
              fwd.run({nullptr}, {y.data()}, Shape::halves(1, 4));
            }).find("input 'xg' is null"),
            std::string::npos);
  EXPECT_NE(message([&] {
              fwd.run({xg.data()}, {y.data()}, Shape::halves(1, std::int64_t{1} << 30));
            }).find("d < 2^30"),
            std::string::npos);
  EXPECT_NE(message([&] {
              fwd.run({xg.data()}, {y.data()}, Shape{Layout::Halves, 1, 2, 2});
            }).find("channels != 1"),
            std::string::npos);
}

// AOT libraries have the layout on CPU targets (tests/halves_aot_test.cpp); cuda's refuse it, and
// a library of activations without g in the layout has nothing to generate.
TEST(Halves, AheadOfTimeRefusesCudaAndActivationsWithoutG) {
  aot::Options o;
  o.activations = {aot::resolve_activation("glu")};
  o.layouts = {Layout::Halves};
  o.targets = {"cuda"};
  const auto dir = std::filesystem::temp_directory_path() / "actforge_halves_test_aot";
  EXPECT_NE(message([&] { aot::generate(o, dir.string()); }).find("C functions for CPU targets"),
            std::string::npos);
  o.activations = {aot::resolve_activation("relu")};
  o.targets = {"host"};
  EXPECT_NE(message([&] {
              aot::generate(o, dir.string());
            }).find("relu forward in the halves layout (it has no input g)"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

// The disk cache's record keeps the ports' extents (xg and dxg: 'P'): a second process loads the
// kernel from disk with the same ports and results. The test runs itself as that process, with
// ACTFORGE_HALVES_CHILD set, in a private cache directory.
TEST(Halves, TheDiskCacheKeepsThePorts) {
  if (std::getenv("ACTFORGE_HALVES_CHILD")) {
    const Kernel bwd = jit("swiglu", options(Role::Backward, DType::F32, Layout::Halves));
    const auto xg = data(2 * 3 * 21, DType::F32, 9), dy = data(3 * 21, DType::F32, 10);
    std::vector<unsigned char> dxg(xg.size());
    bwd.run({xg.data(), dy.data()}, {dxg.data()}, Shape::halves(3, 21));
    std::uint64_t sum = 1469598103934665603ull;
    for (unsigned char b : dxg)
      sum = (sum ^ b) * 1099511628211ull;
    std::string ports;
    for (const auto *list : {&bwd.input_ports(), &bwd.output_ports()})
      for (const Port &p : *list)
        ports += p.name + ":" + std::to_string(static_cast<int>(p.extent)) + " ";
    std::printf("probe: compiled=%zu disk=%zu ports=%ssum=%016llx\n", jit_compile_count(),
                jit_disk_load_count(), ports.c_str(), static_cast<unsigned long long>(sum));
    return;
  }
  char dir_template[] = "/tmp/actforge_halves_XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir(dir_template);
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  auto probe = [&] {
    const std::string command = "env -u ACTFORGE_NO_DISK_CACHE ACTFORGE_HALVES_CHILD=1 "
                                "ACTFORGE_TUNING_DB=none ACTFORGE_CACHE_DIR='" +
                                (dir / "cache").string() + "' '" + self +
                                "' --gtest_filter=Halves.TheDiskCacheKeepsThePorts 2>&1";
    std::string out;
    if (FILE *pipe = ::popen(command.c_str(), "r")) {
      char buffer[4096];
      while (std::fgets(buffer, sizeof buffer, pipe))
        out += buffer;
      ::pclose(pipe);
    }
    const auto at = out.find("probe: ");
    return at == std::string::npos ? out : out.substr(at, out.find('\n', at) - at);
  };
  const std::string first = probe(), second = probe();
  std::filesystem::remove_all(dir);
  const std::string ports = "ports=xg:3 dy:0 dxg:3 "; // Extent::Pairs, Elements, Pairs
  EXPECT_EQ(first.rfind("probe: compiled=1 disk=0 " + ports, 0), 0u) << first;
  EXPECT_EQ(second.rfind("probe: compiled=0 disk=1 " + ports, 0), 0u) << second;
  EXPECT_EQ(first.substr(first.find("sum=")), second.substr(second.find("sum="))) << first;
}

// The GPU schedule of the layout compiles (PTX) for every role. Without a driver a call says
// why it cannot run; with a GPU, the halves kernels give the two-tensor cuda kernels' bits.
TEST(Halves, CudaKernelsCompileAndMatchWhereTheyRun) {
  const bool runs = targets::cuda::driver_problem().empty();
  const std::int64_t rows = 5, d = 300;
  const auto n = static_cast<std::size_t>(rows * d);
  const auto xg = data(2 * n, DType::F32, 21), dy = data(n, DType::F32, 22);
  const auto x = half(xg, rows, d, 0, 4), g = half(xg, rows, d, 1, 4);
  for (Role role : {Role::Forward, Role::Backward, Role::ParamGrad}) {
    const char *f = role == Role::ParamGrad ? "x * sigmoid(beta * g), beta=1" : "geglu";
    JitOptions halves = options(role, DType::F32, Layout::Halves);
    halves.target = "cuda";
    halves.memory = Memory::Host;
    const Kernel k = jit(f, halves);
    EXPECT_EQ(k.target(), "cuda");
    std::vector<unsigned char> out(2 * n * 4, 0x5a), ref(2 * n * 4, 0xa5);
    std::vector<const void *> in{xg.data()};
    if (role != Role::Forward) in.push_back(dy.data());
    void *outs[] = {out.data()};
    if (!runs) {
      EXPECT_NE(message([&] { k.run(in, outs, Shape::halves(rows, d)); }).find("cannot run"),
                std::string::npos);
      continue;
    }
    k.run(in, outs, Shape::halves(rows, d));
    JitOptions two = halves;
    two.layout = role == Role::ParamGrad ? Layout::Channels : Layout::Flat;
    const Kernel k2 = jit(f, two);
    std::vector<const void *> in2{x.data(), g.data()};
    if (role != Role::Forward) in2.push_back(dy.data());
    const Shape s2 =
        role == Role::ParamGrad ? Shape::with_channels(rows, 1, d) : Shape::flat(rows * d);
    std::vector<unsigned char> ref_dg(n * 4);
    std::vector<void *> outs2{ref.data()};
    if (role == Role::Backward) outs2.push_back(ref_dg.data());
    k2.run(in2, outs2, s2);
    if (role == Role::Backward) {
      ref.resize(n * 4);
      EXPECT_EQ(half(out, rows, d, 0, 4), ref);
      EXPECT_EQ(half(out, rows, d, 1, 4), ref_dg);
    } else { // y: n values; d<beta>: one
      const std::size_t bytes = role == Role::Forward ? n * 4 : 4;
      EXPECT_TRUE(
          std::equal(ref.begin(), ref.begin() + static_cast<std::ptrdiff_t>(bytes), out.begin()));
    }
  }
}

} // namespace
} // namespace actforge
