// jit_maxout(): maxout kernels compiled like jit kernels (no-runtime object, ld -shared, dlopen
// after the process's Halide runtime, the disk cache) and called with halide_buffer_t's built on
// the stack.
#include "actforge/runtime/maxout.hpp"

#include "disk_cache.hpp"
#include "kernel_loader.hpp"
#include "kernel_object.hpp"
#include "maxout_object.hpp"

#include "actforge/codegen/halide/maxout.hpp"
#include "actforge/dsl/maxout.hpp"
#include "actforge/targets/arm.hpp"
#include "actforge/targets/process.hpp"
#include "actforge/targets/target.hpp"
#include "actforge/targets/x86.hpp"

#include <HalideRuntime.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <tuple>

namespace actforge {

using codegen::DType;
using codegen::Role;

struct MaxoutKernel::Impl {
  int k = 2;
  DType dtype = DType::F32;
  std::string target;
  codegen::Schedule schedule;
  std::string names[2]; // forward, backward
  runtime::ArgvEntry entries[2] = {nullptr, nullptr};
  int bytes = 4;
};

namespace {

std::atomic<std::size_t> compiles{0};

using runtime::maxout_symbol;

// One kernel: from the disk cache (verified) or compiled now and published there.
runtime::ArgvEntry load_entry(Role role, int k, DType dtype, const targets::TargetInfo &target,
                              const codegen::Schedule &schedule, const std::string &symbol) {
  runtime::runtime_symbol("halide_set_error_handler"); // the Halide runtime, loaded first
  const std::string key =
      "maxout 1\nsymbol " + symbol + "\nrole " + std::string(codegen::to_string(role)) + "\nk " +
      std::to_string(k) + "\ndtype " + std::string(codegen::to_string(dtype)) + "\ntarget " +
      target.name + "\nschedule " + schedule.describe() + "\nhalide " + runtime::halide_version() +
      "\nactforge " + ACTFORGE_VERSION + " " + runtime::codegen_fingerprint();
  bool from_disk = false;
  void *handle =
      runtime::obtain_library(
          key, RTLD_LOCAL, from_disk,
          [&](const std::string &meta) { return meta == "maxout " + symbol; },
          [&](const std::string &work, const std::string &so) {
            const std::string object = work + "/kernel.o";
            runtime::compile_maxout_object(role, dtype, k, schedule, target, symbol, object);
            runtime::link_shared_object({object}, so);
            return "maxout " + symbol;
          })
          .first;
  if (!from_disk) ++compiles;
  auto entry = reinterpret_cast<runtime::ArgvEntry>(::dlsym(handle, (symbol + "_argv").c_str()));
  if (!entry) throw Error("compiled kernel " + symbol + " has no entry point");
  return entry;
}

using CacheKey = std::tuple<int, int, std::string, int, int, std::int64_t>;
struct Cache {
  std::mutex mutex;
  std::map<CacheKey, std::shared_ptr<const MaxoutKernel::Impl>> kernels;
};
Cache &cache() {
  static Cache *c = new Cache; // immortal, like jit()'s
  return *c;
}

// Blocks the kernels can index with 32-bit offsets: whole outer rows, else ranges of groups of
// one row, else pieces of the rows of one group.
constexpr std::int64_t kChunk = std::int64_t{1} << 30;

bool overlap(const void *a, std::int64_t a_bytes, const void *b, std::int64_t b_bytes) {
  const auto pa = reinterpret_cast<std::uintptr_t>(a), pb = reinterpret_cast<std::uintptr_t>(b);
  return a_bytes > 0 && b_bytes > 0 && pa < pb + static_cast<std::uintptr_t>(b_bytes) &&
         pb < pa + static_cast<std::uintptr_t>(a_bytes);
}

} // namespace

MaxoutKernel jit_maxout(int k, const MaxoutOptions &options) {
  if (k < 2 || k > 16)
    throw Error("maxout: k must be an integer from 2 to 16, got " + std::to_string(k));
  const targets::TargetInfo info = targets::resolve(options.target);
  if (info.family != targets::Family::X86)
    throw Error("maxout kernels run on x86 CPUs (host, x86-64-avx2, x86-64-avx512), not " +
                info.name);
  if (!targets::x86::cpu_supports(info.name))
    throw Error("this CPU cannot run " + info.name + " kernels");
  const codegen::Schedule schedule =
      options.schedule.value_or(runtime::maxout_default_schedule(info, options.dtype));
  codegen::validate(schedule);
  if (schedule.gpu()) throw Error("maxout has CPU kernels only: a GPU schedule was given");
  const CacheKey key{k,
                     static_cast<int>(options.dtype),
                     info.name,
                     schedule.lanes,
                     schedule.unroll,
                     schedule.parallel_chunk};
  Cache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (auto it = c.kernels.find(key); it != c.kernels.end()) return MaxoutKernel(it->second);
  }
  auto impl = std::make_shared<MaxoutKernel::Impl>();
  impl->k = k;
  impl->dtype = options.dtype;
  impl->target = info.name;
  impl->schedule = schedule;
  impl->bytes = codegen::bytes_of(options.dtype);
  for (int r = 0; r < 2; ++r) {
    const Role role = r == 0 ? Role::Forward : Role::Backward;
    impl->names[r] = maxout_symbol(role, k, options.dtype, info.name, schedule);
    impl->entries[r] = load_entry(role, k, options.dtype, info, schedule, impl->names[r]);
  }
  std::lock_guard<std::mutex> lock(c.mutex);
  return MaxoutKernel(c.kernels.emplace(key, std::move(impl)).first->second);
}

std::size_t maxout_compile_count() { return compiles.load(); }

namespace runtime {

std::string maxout_symbol(Role role, int k, DType dtype, const std::string &target,
                          const codegen::Schedule &schedule) {
  return "maxout_" + std::string(codegen::short_name(role)) + "_k" + std::to_string(k) + "_" +
         std::string(codegen::to_string(dtype)) + "_" + targets::isa(target) + "_" +
         schedule.describe();
}

codegen::Schedule maxout_default_schedule(const targets::TargetInfo &target, DType dtype) {
  return codegen::default_schedule(target.vector_bits, 8 * codegen::bytes_of(dtype));
}

void compile_maxout_object(Role role, DType dtype, int k, const codegen::Schedule &schedule,
                           const targets::TargetInfo &target, const std::string &symbol,
                           const std::string &object_path) {
  const Halide::Target t = kernel_object_target(target);
  try {
    codegen::halide::MaxoutPipeline p =
        codegen::halide::build_maxout_pipeline(role, dtype, k, schedule);
    p.pipeline.compile_to({{Halide::OutputFileType::object, object_path}}, p.arguments(), symbol,
                          t);
  } catch (const Halide::Error &e) {
    throw Error("Halide could not compile " + symbol + ": " + e.what());
  }
}

} // namespace runtime

int MaxoutKernel::k() const { return impl_->k; }
DType MaxoutKernel::dtype() const { return impl_->dtype; }
const std::string &MaxoutKernel::target() const { return impl_->target; }
const codegen::Schedule &MaxoutKernel::schedule() const { return impl_->schedule; }
const std::string &MaxoutKernel::forward_name() const { return impl_->names[0]; }
const std::string &MaxoutKernel::backward_name() const { return impl_->names[1]; }

void MaxoutKernel::expect_element_size(std::size_t bytes) const {
  if (bytes != static_cast<std::size_t>(impl_->bytes))
    throw Error(impl_->names[0] + " takes " + std::to_string(impl_->bytes) +
                "-byte elements, got a pointer to " + std::to_string(bytes) + "-byte ones");
}

namespace {

// Validates the call and runs `entry` block by block. `arrays`: x, then dy (backward), then the
// output; `grouped[b]`: array b has x's shape (else y's).
void run_maxout(const MaxoutKernel::Impl &m, int role, const void *const *arrays, int count,
                std::int64_t outer, std::int64_t channels, std::int64_t inner) {
  const std::string &name = m.names[role];
  if (outer < 0 || channels < 0 || inner < 0)
    throw Error(name + ": sizes must be >= 0, got [outer, channels, inner] = [" +
                std::to_string(outer) + ", " + std::to_string(channels) + ", " +
                std::to_string(inner) + "]");
  std::int64_t in_size = 0;
  if (__builtin_mul_overflow(outer, channels, &in_size) ||
      __builtin_mul_overflow(in_size, inner, &in_size))
    throw Error(name + ": the shape has more than 2^63 elements");
  const dsl::MaxoutShape shape{outer, channels, inner, m.k};
  try {
    shape.validate(static_cast<std::size_t>(in_size),
                   static_cast<std::size_t>(outer * shape.groups() * inner));
  } catch (const Error &e) {
    throw Error(name + ": " + e.what());
  }
  std::int64_t groups = shape.groups();
  const std::int64_t k = m.k;
  const std::int64_t out_size = outer * groups * inner;
  if (in_size == 0) return;
  if (inner > (std::int64_t{1} << 31) / k - 1)
    throw Error(name + ": rows of k·inner = " + std::to_string(k) + "·" + std::to_string(inner) +
                " elements exceed the kernels' 32-bit strides (2^31)");
  const bool bwd = role == 1;
  static const char *const fwd_names[] = {"x", "y"}, *const bwd_names[] = {"x", "dy", "dx"};
  const char *const *names = bwd ? bwd_names : fwd_names;
  auto grouped = [&](int b) { return b == 0 || (bwd && b == 2); }; // x's shape
  for (int b = 0; b < count; ++b)
    if (!arrays[b])
      throw Error(name + ": " + (b + 1 == count ? "output" : "input") + " '" + names[b] +
                  "' is null");
  const std::int64_t bytes = m.bytes;
  for (int b = 0; b + 1 < count; ++b)
    if (overlap(arrays[b], (grouped(b) ? in_size : out_size) * bytes, arrays[count - 1],
                (bwd ? in_size : out_size) * bytes))
      throw Error(
          name + ": output '" + names[count - 1] + "' overlaps input '" + names[b] +
          "': maxout cannot work in place (" +
          (bwd ? "dx is written while its group of x is read" : "y has 1/k of x's elements") + ")");

  // Channels-last data (inner = 1) is one row of outer·groups groups: the kernels' vectors run
  // across groups, with one tail per call instead of one per outer row.
  if (inner == 1) groups *= outer, channels *= outer, outer = 1;
  // Block extents: no outer rows, ng groups, ni inner elements (each block < 2^30 elements).
  const std::int64_t row = channels * inner;
  const std::int64_t ni = std::min(inner, std::max<std::int64_t>(1, kChunk / k));
  const std::int64_t ng = k * inner <= kChunk ? std::min(groups, kChunk / (k * inner)) : 1;
  const std::int64_t no = row <= kChunk ? std::min(outer, kChunk / row) : 1;

  halide_dimension_t dims[3][4];
  halide_buffer_t bufs[3];
  void *argv[3];
  const halide_type_t type(halide_type_uint, static_cast<std::uint8_t>(bytes * 8));
  for (int b = 0; b < count; ++b) {
    bufs[b] = halide_buffer_t{};
    bufs[b].type = type;
    bufs[b].dimensions = grouped(b) ? 4 : 3;
    bufs[b].dim = dims[b];
    argv[b] = &bufs[b];
  }
  const auto i32 = [](std::int64_t v) { return static_cast<std::int32_t>(v); };
  for (std::int64_t o = 0; o < outer; o += no)
    for (std::int64_t g = 0; g < groups; g += ng)
      for (std::int64_t i = 0; i < inner; i += ni) {
        const std::int64_t bo = std::min(no, outer - o), bg = std::min(ng, groups - g),
                           bi = std::min(ni, inner - i);
        for (int b = 0; b < count; ++b) {
          const std::int64_t start =
              grouped(b) ? (o * groups + g) * k * inner + i : (o * groups + g) * inner + i;
          bufs[b].host = static_cast<std::uint8_t *>(const_cast<void *>(arrays[b])) + start * bytes;
          if (grouped(b)) {
            dims[b][0] = halide_dimension_t(0, i32(bi), 1);
            dims[b][1] = halide_dimension_t(0, i32(k), i32(inner));
            dims[b][2] = halide_dimension_t(0, i32(bg), i32(k * inner));
            dims[b][3] = halide_dimension_t(0, i32(bo), bo > 1 ? i32(row) : 0);
          } else {
            dims[b][0] = halide_dimension_t(0, i32(bi), 1);
            dims[b][1] = halide_dimension_t(0, i32(bg), i32(inner));
            dims[b][2] = halide_dimension_t(0, i32(bo), bo > 1 ? i32(groups * inner) : 0);
          }
        }
        if (const int rc = m.entries[role](argv); rc != 0)
          throw Error(name + " failed (Halide error " + std::to_string(rc) +
                      "): " + runtime::last_runtime_error());
      }
}

} // namespace

void MaxoutKernel::forward(const void *x, void *y, std::int64_t outer, std::int64_t channels_in,
                           std::int64_t inner) const {
  const void *arrays[] = {x, y};
  run_maxout(*impl_, 0, arrays, 2, outer, channels_in, inner);
}

void MaxoutKernel::backward(const void *x, const void *dy, void *dx, std::int64_t outer,
                            std::int64_t channels_in, std::int64_t inner) const {
  const void *arrays[] = {x, dy, dx};
  run_maxout(*impl_, 1, arrays, 3, outer, channels_in, inner);
}

namespace {

// The AArch64 driver: reads the calls from argv[1], runs each through its kernel's entry and
// writes the outputs to argv[2]. ENTRIES (generated) declares the kernels and fills `entries`.
const char *const kCrossDriver = R"(#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* halide_buffer_t and halide_dimension_t of HalideRuntime.h (Halide 14). */
typedef struct hl_dimension { int32_t min, extent, stride; uint32_t flags; } hl_dimension;
typedef struct hl_type { uint8_t code, bits; uint16_t lanes; } hl_type;
typedef struct hl_buffer {
  uint64_t device; const void *device_interface; uint8_t *host; uint64_t flags; hl_type type;
  int32_t dimensions; hl_dimension *dim; void *padding;
} hl_buffer;
_Static_assert(sizeof(hl_buffer) == 56, "halide_buffer_t layout");
typedef int (*entry_t)(void **);
ENTRIES
static void bind(hl_buffer *b, hl_dimension *d, uint8_t *host, int bits, int dims, int64_t inner,
                 int64_t k, int64_t groups, int64_t outer) {
  memset(b, 0, sizeof *b);
  b->host = host; b->type.code = 1; b->type.bits = (uint8_t)bits; b->type.lanes = 1;
  b->dimensions = dims; b->dim = d;
  int64_t e[4] = {inner, k, groups, outer};
  if (dims == 3) e[1] = groups, e[2] = outer;
  int64_t stride = 1;
  for (int i = 0; i < dims; ++i) {
    d[i].min = 0; d[i].extent = (int32_t)e[i]; d[i].stride = (int32_t)stride; d[i].flags = 0;
    stride *= e[i];
  }
}
static void must_read(void *p, size_t n, FILE *f) {
  if (n && fread(p, 1, n, f) != n) { fprintf(stderr, "short input\n"); exit(3); }
}
int main(int argc, char **argv) {
  if (argc != 3) return 4;
  FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
  if (!in || !out) return 5;
  int64_t count;
  must_read(&count, 8, in);
  for (int64_t c = 0; c < count; ++c) {
    int64_t h[7]; /* kernel, backward, outer, groups, inner, k, bytes */
    must_read(h, sizeof h, in);
    const size_t nin = (size_t)(h[2] * h[3] * h[5] * h[4]), nout = (size_t)(h[2] * h[3] * h[4]);
    const size_t eb = (size_t)h[6], nres = h[1] ? nin : nout;
    uint8_t *x = malloc(nin * eb + 1), *dy = malloc(nout * eb + 1), *res = malloc(nres * eb + 1);
    must_read(x, nin * eb, in);
    if (h[1]) must_read(dy, nout * eb, in);
    hl_buffer b[3];
    hl_dimension d[3][4];
    void *args[3];
    const int bits = (int)(eb * 8);
    bind(&b[0], d[0], x, bits, 4, h[4], h[5], h[3], h[2]);
    if (h[1]) {
      bind(&b[1], d[1], dy, bits, 3, h[4], h[5], h[3], h[2]);
      bind(&b[2], d[2], res, bits, 4, h[4], h[5], h[3], h[2]);
    } else {
      bind(&b[1], d[1], res, bits, 3, h[4], h[5], h[3], h[2]);
    }
    for (int i = 0; i < (h[1] ? 3 : 2); ++i) args[i] = &b[i];
    const int rc = nin ? entries[h[0]](args) : 0;
    if (rc != 0) { fprintf(stderr, "kernel %d failed: Halide error %d\n", (int)h[0], rc); return 6; }
    if (nres && fwrite(res, eb, nres, out) != nres) return 7;
    free(x); free(dy); free(res);
  }
  return fclose(out) == 0 ? 0 : 8;
}
)";

void put64(std::string &s, std::int64_t v) { s.append(reinterpret_cast<const char *>(&v), 8); }

} // namespace

std::vector<std::vector<unsigned char>> run_maxout_cross(const std::string &target,
                                                         const std::vector<MaxoutCall> &calls) {
  const targets::TargetInfo info = targets::resolve(target);
  if (info.family != targets::Family::Arm)
    throw Error("run_maxout_cross runs ARM targets under qemu; '" + info.name + "' is not one");
  const targets::arm::CrossTools &tools = targets::arm::cross_tools();
  if (!tools.problem.empty()) throw Error(tools.problem);
  runtime::WorkDir work("");
  const std::string dir = work.path();
  // The kernels the calls need, each once, and the calls' input file.
  std::map<std::tuple<int, int, int>, int> index; // (k, dtype, role) -> entry
  std::vector<std::string> symbols, objects;
  std::string input;
  put64(input, static_cast<std::int64_t>(calls.size()));
  for (const MaxoutCall &c : calls) {
    if (c.k < 2 || c.k > 16)
      throw Error("maxout: k must be an integer from 2 to 16, got " + std::to_string(c.k));
    if (c.role != Role::Forward && c.role != Role::Backward)
      throw Error("maxout has forward and backward kernels only");
    const bool bwd = c.role == Role::Backward;
    const std::int64_t bytes = codegen::bytes_of(c.dtype);
    const dsl::MaxoutShape shape{c.outer, c.channels, c.inner, c.k};
    if (c.outer < 0 || c.channels < 0 || c.inner < 0) throw Error("maxout: sizes must be >= 0");
    const std::int64_t nin = c.outer * c.channels * c.inner;
    shape.validate(c.x.size() / static_cast<std::size_t>(bytes),
                   static_cast<std::size_t>(c.outer * shape.groups() * c.inner));
    if (c.x.size() != static_cast<std::size_t>(nin * bytes))
      throw Error("maxout: x must hold outer·channels·inner values");
    if (bwd && c.dy.size() != static_cast<std::size_t>(c.outer * shape.groups() * c.inner * bytes))
      throw Error("maxout: dy must hold outer·(channels / k)·inner values");
    if (nin > (std::int64_t{1} << 30))
      throw Error("maxout: cross calls are limited to 2^30 values");
    const auto key = std::make_tuple(c.k, static_cast<int>(c.dtype), static_cast<int>(c.role));
    auto it = index.find(key);
    if (it == index.end()) {
      const codegen::Schedule schedule = runtime::maxout_default_schedule(info, c.dtype);
      const std::string symbol = maxout_symbol(c.role, c.k, c.dtype, info.name, schedule);
      const std::string object = dir + "/" + symbol + ".o";
      runtime::compile_maxout_object(c.role, c.dtype, c.k, schedule, info, symbol, object);
      it = index.emplace(key, static_cast<int>(symbols.size())).first;
      symbols.push_back(symbol);
      objects.push_back(object);
    }
    // Channels-last calls as one row of groups, as the host does.
    const std::int64_t groups = shape.groups();
    const bool flat = c.inner == 1;
    for (std::int64_t v : {std::int64_t{it->second}, std::int64_t{bwd}, flat ? 1 : c.outer,
                           flat ? c.outer * groups : groups, c.inner, std::int64_t{c.k}, bytes})
      put64(input, v);
    input.append(c.x.begin(), c.x.end());
    if (bwd) input.append(c.dy.begin(), c.dy.end());
  }
  std::string entries;
  for (const auto &s : symbols)
    entries += "extern int " + s + "_argv(void **);\n";
  entries += "static const entry_t entries[] = {";
  for (const auto &s : symbols)
    entries += s + "_argv, ";
  entries += "0};\n";
  std::string driver = kCrossDriver;
  driver.replace(driver.find("ENTRIES"), 7, entries);
  {
    std::ofstream f(dir + "/driver.c");
    f << driver;
    std::ofstream in(dir + "/calls.bin", std::ios::binary);
    in << input;
  }
  runtime::compile_runtime_object(info, dir + "/runtime.o");
  std::vector<std::string> link{tools.cc, "-std=c11",      "-O1",
                                "-o",     dir + "/driver", dir + "/driver.c"};
  link.insert(link.end(), objects.begin(), objects.end());
  link.insert(link.end(), {dir + "/runtime.o", "-lpthread", "-ldl", "-lm"});
  targets::run_program(link, "linking the AArch64 maxout driver with " + tools.cc + " failed");
  targets::run_program(
      {tools.qemu, "-L", tools.sysroot, dir + "/driver", dir + "/calls.bin", dir + "/results.bin"},
      "the AArch64 maxout driver failed under " + tools.qemu);
  std::ifstream results(dir + "/results.bin", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(results)),
                          std::istreambuf_iterator<char>());
  std::vector<std::vector<unsigned char>> out;
  std::size_t at = 0;
  for (const MaxoutCall &c : calls) {
    const std::size_t n = c.role == Role::Backward ? c.x.size() : c.x.size() / c.k;
    if (at + n > bytes.size()) throw Error("the AArch64 maxout driver returned too few results");
    out.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                     bytes.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  }
  return out;
}

} // namespace actforge
