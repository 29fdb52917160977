// actforge_gpu_bench: our CUDA kernels beside cudaMemcpy (device to device) of the same bytes and
// cuDNN's activations, in one run, on one GPU.
//
//   actforge_gpu_bench [--gpu_n=268435456] [--gpu_dtypes=f32,f16] [--gpu_only=gelu,relu]
//                      [--gpu_jobs=16] [--gpu_no_cudnn] [Google Benchmark flags]
//
// Cases (Google Benchmark names, manual time from CUDA events on the legacy default stream):
//   ours/<activation>/<fwd|bwd>/<dtype>   actforge::jit(name, {.role, .dtype, .target = "cuda"})
//                                         on device memory (Memory::Device)
//   cudnn/<activation>/<fwd|bwd>/<dtype>  cudnnActivationForward/Backward (RELU, SIGMOID, TANH,
//                                         SWISH (beta 1), ELU (alpha 1), CLIPPED_RELU (6: relu6))
//   copy/<fwd|bwd>/<dtype>                cudaMemcpyAsync device to device of n (fwd) or 1.5 n
//                                         (bwd) elements: the bytes the kernels read + write
// Counters: GBps (bytes read + written per second / 1e9), bytes (per call), n. Bytes per call:
// forward reads x and writes y (2 n elements), backward reads x and dy and writes dx (3 n); cuDNN's
// backward also reads y (4 n), but is counted as 3 n like ours so that GB/s compare times.
//
// Before any timing, every kernel runs once on the whole arrays and windows of its output (start,
// middle, end) are compared with a double-precision reference of ACTIVATIONS.md's formulas; a
// kernel that fails (or fails to compile) reports an error instead of a speed. cuDNN is opened at
// run time (libcudnn.so.9); without it the cudnn cases are skipped with "cuDNN not found". Without
// a CUDA device the program prints why and exits 0 having measured nothing.
#include "actforge/runtime/jit.hpp"
#include "sweep.hpp"

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using actforge::DType;
using actforge::Role;

// ----------------------------------------------------------------------------------------------
// What is measured.

enum class Act { Relu, Sigmoid, Gelu, Swish, Silu, Mish, Tanh, Elu, Relu6 };
struct ActInfo {
  Act act;
  const char *name;                           // library name (ACTIVATIONS.md)
  std::optional<cudnnActivationMode_t> cudnn; // cuDNN's mode, where it has one
  double cudnn_coef;                          // CLIPPED_RELU's ceiling, ELU's alpha
};
const std::vector<ActInfo> kActs = {
    {Act::Relu, "relu", CUDNN_ACTIVATION_RELU, 0.0},
    {Act::Sigmoid, "sigmoid", CUDNN_ACTIVATION_SIGMOID, 0.0},
    {Act::Gelu, "gelu", std::nullopt, 0.0},
    {Act::Swish, "swish", CUDNN_ACTIVATION_SWISH, 0.0},
    {Act::Silu, "silu", std::nullopt, 0.0},
    {Act::Mish, "mish", std::nullopt, 0.0},
    {Act::Tanh, "tanh", CUDNN_ACTIVATION_TANH, 0.0},
    {Act::Elu, "elu", CUDNN_ACTIVATION_ELU, 1.0},
    {Act::Relu6, "relu6", CUDNN_ACTIVATION_CLIPPED_RELU, 6.0},
};

const char *dtype_name(DType d) { return d == DType::F16 ? "f16" : "f32"; }
std::size_t dtype_bytes(DType d) { return d == DType::F16 ? 2 : 4; }
const char *dir_name(Role r) { return r == Role::Forward ? "fwd" : "bwd"; }

// f(x) and f'(x) in double (ACTIVATIONS.md; swish with beta = 1, elu with alpha = 1).
struct FD {
  double f, d;
};
FD reference(Act a, double x) {
  const double s = 1.0 / (1.0 + std::exp(-x));
  switch (a) {
  case Act::Relu: return {x > 0 ? x : 0.0, x > 0 ? 1.0 : 0.0};
  case Act::Relu6: return {std::min(std::max(x, 0.0), 6.0), (x > 0 && x < 6) ? 1.0 : 0.0};
  case Act::Sigmoid: return {s, s * (1 - s)};
  case Act::Tanh: {
    const double t = std::tanh(x);
    return {t, 1 - t * t};
  }
  case Act::Gelu: {
    const double cdf = 0.5 * std::erfc(-x / std::sqrt(2.0));
    const double pdf = std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
    return {x * cdf, cdf + x * pdf};
  }
  case Act::Swish:
  case Act::Silu: return {x * s, s + x * s * (1 - s)};
  case Act::Mish: {
    const double t = std::tanh(std::log1p(std::exp(x)));
    return {x * t, t + x * (1 - t * t) * s};
  }
  case Act::Elu: return {x > 0 ? x : std::expm1(x), x > 0 ? 1.0 : std::exp(x)};
  }
  return {0, 0};
}

// ----------------------------------------------------------------------------------------------
// Inputs: pure functions of the index, so the check recomputes them instead of keeping copies.

std::uint64_t mix(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
float uniform(std::uint64_t i, std::uint64_t seed, float lo, float hi) {
  const float u = static_cast<float>(mix(i ^ seed) >> 40) * 0x1p-24f; // [0, 1)
  return lo + (hi - lo) * u;
}
float x_at(std::int64_t i) { return uniform(static_cast<std::uint64_t>(i), 0x1234, -6.f, 6.f); }
float dy_at(std::int64_t i) { return uniform(static_cast<std::uint64_t>(i), 0xabcdef, -1.f, 1.f); }

double as_stored(float v, DType d) {
  return d == DType::F16 ? static_cast<double>(static_cast<_Float16>(v)) : static_cast<double>(v);
}

// ----------------------------------------------------------------------------------------------
// CUDA and cuDNN.

struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void cuda_ok(cudaError_t e, const char *what) {
  if (e != cudaSuccess) throw CudaError(std::string(what) + ": " + cudaGetErrorString(e));
}

// cuDNN through dlopen: the program starts without it. The legacy activation API is deprecated
// in cuDNN 9 but still there (libcudnn.so.9 forwards it to libcudnn_ops.so.9).
struct Cudnn {
  using GetVersion = std::size_t (*)();
  using GetErrorString = const char *(*)(cudnnStatus_t);
  using Create = cudnnStatus_t (*)(cudnnHandle_t *);
  using Destroy = cudnnStatus_t (*)(cudnnHandle_t);
  using CreateTensor = cudnnStatus_t (*)(cudnnTensorDescriptor_t *);
  using SetTensor4d = cudnnStatus_t (*)(cudnnTensorDescriptor_t, cudnnTensorFormat_t,
                                        cudnnDataType_t, int, int, int, int);
  using CreateAct = cudnnStatus_t (*)(cudnnActivationDescriptor_t *);
  using SetAct = cudnnStatus_t (*)(cudnnActivationDescriptor_t, cudnnActivationMode_t,
                                   cudnnNanPropagation_t, double);
  using SetSwishBeta = cudnnStatus_t (*)(cudnnActivationDescriptor_t, double);
  using Forward = cudnnStatus_t (*)(cudnnHandle_t, cudnnActivationDescriptor_t, const void *,
                                    const cudnnTensorDescriptor_t, const void *, const void *,
                                    const cudnnTensorDescriptor_t, void *);
  using Backward = cudnnStatus_t (*)(cudnnHandle_t, cudnnActivationDescriptor_t, const void *,
                                     const cudnnTensorDescriptor_t, const void *,
                                     const cudnnTensorDescriptor_t, const void *,
                                     const cudnnTensorDescriptor_t, const void *, const void *,
                                     const cudnnTensorDescriptor_t, void *);

  void *lib = nullptr;
  std::string problem; // why cuDNN cases are skipped, "" when usable
  GetVersion get_version = nullptr;
  GetErrorString error_string = nullptr;
  Create create = nullptr;
  CreateTensor create_tensor = nullptr;
  SetTensor4d set_tensor_4d = nullptr;
  CreateAct create_act = nullptr;
  SetAct set_act = nullptr;
  SetSwishBeta set_swish_beta = nullptr;
  Forward forward = nullptr;
  Backward backward = nullptr;
  cudnnHandle_t handle = nullptr;

  template <class F> void sym(F &f, const char *name) {
    f = reinterpret_cast<F>(dlsym(lib, name));
    if (!f && problem.empty()) problem = std::string("cuDNN lacks ") + name;
  }
  void open(bool wanted) {
    if (!wanted) {
      problem = "cuDNN not measured (--gpu_no_cudnn)";
      return;
    }
    lib = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char *e = dlerror();
      problem = std::string("cuDNN not found (") + (e ? e : "libcudnn.so.9") + ")";
      return;
    }
    sym(get_version, "cudnnGetVersion");
    sym(error_string, "cudnnGetErrorString");
    sym(create, "cudnnCreate");
    sym(create_tensor, "cudnnCreateTensorDescriptor");
    sym(set_tensor_4d, "cudnnSetTensor4dDescriptor");
    sym(create_act, "cudnnCreateActivationDescriptor");
    sym(set_act, "cudnnSetActivationDescriptor");
    sym(set_swish_beta, "cudnnSetActivationDescriptorSwishBeta");
    sym(forward, "cudnnActivationForward");
    sym(backward, "cudnnActivationBackward");
    if (!problem.empty()) return;
    if (const cudnnStatus_t s = create(&handle); s != CUDNN_STATUS_SUCCESS)
      problem = std::string("cudnnCreate failed: ") + error_string(s);
  }
  void ok(cudnnStatus_t s, const char *what) const {
    if (s != CUDNN_STATUS_SUCCESS) throw CudaError(std::string(what) + ": " + error_string(s));
  }
};
Cudnn cudnn;

// ----------------------------------------------------------------------------------------------
// Options and device arrays.

struct Options {
  std::int64_t n = std::int64_t{1} << 28;
  std::vector<DType> dtypes = {DType::F32, DType::F16};
  std::vector<std::string> only; // empty: every activation
  int jobs = 0;                  // compile threads; 0: hardware threads
  bool use_cudnn = true;
  /// --gpu_check_on_host: no GPU; the same compile and check with CPU kernels (target host) on
  /// host memory, then exit: validates the reference and the check where there is no GPU.
  bool on_host = false;
};
Options opt;

// Per dtype: x and dy as one block of 2n (the copy's source), out of 2n (y or dx; the copy's
// destination), and y (cuDNN's forward output, which its backward takes).
struct Arrays {
  void *xdy = nullptr, *out = nullptr, *y = nullptr;
  const void *x() const { return xdy; }
  const void *dy(DType d) const {
    return static_cast<const char *>(xdy) + opt.n * static_cast<std::int64_t>(dtype_bytes(d));
  }
};
std::map<DType, Arrays> arrays;

template <class T> void fill_host(std::vector<T> &h, float (*gen)(std::int64_t)) {
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  const std::int64_t n = static_cast<std::int64_t>(h.size());
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (std::int64_t i = n * t / threads; i < n * (t + 1) / threads; ++i)
        h[i] = static_cast<T>(gen(i));
    });
  for (auto &th : pool)
    th.join();
}

template <class T> void upload(void *dest, float (*gen)(std::int64_t)) {
  std::vector<T> h(static_cast<std::size_t>(opt.n));
  fill_host(h, gen);
  if (opt.on_host)
    std::memcpy(dest, h.data(), h.size() * sizeof(T));
  else
    cuda_ok(cudaMemcpy(dest, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice),
            "cudaMemcpy to device");
}

std::vector<std::vector<unsigned char>> host_memory; // --gpu_check_on_host's arrays

void *allocate_bytes(std::size_t bytes) {
  if (opt.on_host) return host_memory.emplace_back(bytes).data();
  void *p = nullptr;
  cuda_ok(cudaMalloc(&p, bytes), "cudaMalloc");
  cuda_ok(cudaMemset(p, 0, bytes), "cudaMemset");
  return p;
}

void allocate(DType d) {
  const std::size_t bytes = static_cast<std::size_t>(opt.n) * dtype_bytes(d);
  Arrays a;
  a.xdy = allocate_bytes(2 * bytes);
  a.out = allocate_bytes(2 * bytes);
  a.y = allocate_bytes(bytes);
  if (d == DType::F16) {
    upload<_Float16>(a.xdy, x_at);
    upload<_Float16>(const_cast<void *>(a.dy(d)), dy_at);
  } else {
    upload<float>(a.xdy, x_at);
    upload<float>(const_cast<void *>(a.dy(d)), dy_at);
  }
  arrays[d] = a;
}

// ----------------------------------------------------------------------------------------------
// The check: windows of the output against the reference.

// Compares `out` (device, n elements of d) with f (forward) or dy*f'(x) (backward) at the start,
// a few places inside (one not aligned to anything) and the end. Returns "" or what is wrong.
std::string check_output(Act a, Role role, DType d, const void *out, double tolerance_scale) {
  constexpr std::int64_t kWindow = 512;
  const std::int64_t n = opt.n;
  std::vector<std::int64_t> starts = {0, n / 3 + 7, n / 2 - 1, n - kWindow};
  const std::size_t eb = dtype_bytes(d);
  const double rtol = (d == DType::F16 ? 4.0 / 1024 : 1e-5) * tolerance_scale;
  const double atol = (d == DType::F16 ? 1e-4 : 1e-6) * tolerance_scale;
  std::vector<unsigned char> buf(static_cast<std::size_t>(kWindow) * eb);
  for (std::int64_t s : starts) {
    s = std::clamp<std::int64_t>(s, 0, std::max<std::int64_t>(0, n - kWindow));
    const std::int64_t len = std::min(kWindow, n - s);
    const char *from = static_cast<const char *>(out) + s * static_cast<std::int64_t>(eb);
    if (opt.on_host)
      std::memcpy(buf.data(), from, static_cast<std::size_t>(len) * eb);
    else
      cuda_ok(
          cudaMemcpy(buf.data(), from, static_cast<std::size_t>(len) * eb, cudaMemcpyDeviceToHost),
          "cudaMemcpy of a sample");
    for (std::int64_t j = 0; j < len; ++j) {
      const std::int64_t i = s + j;
      double got;
      if (d == DType::F16) {
        _Float16 h;
        std::memcpy(&h, buf.data() + j * 2, 2);
        got = static_cast<double>(h);
      } else {
        float f;
        std::memcpy(&f, buf.data() + j * 4, 4);
        got = f;
      }
      const double x = as_stored(x_at(i), d);
      const FD r = reference(a, x);
      const double dy = as_stored(dy_at(i), d);
      const double want = role == Role::Forward ? r.f : dy * r.d;
      if (!(std::fabs(got - want) <= atol + rtol * std::fabs(want))) {
        char msg[200];
        std::snprintf(msg, sizeof msg, "wrong output at i=%lld: x=%.9g%s got %.9g, want %.9g",
                      static_cast<long long>(i), x,
                      role == Role::Forward ? "" : (" dy=" + std::to_string(dy)).c_str(), got,
                      want);
        return msg;
      }
    }
  }
  return "";
}

// ----------------------------------------------------------------------------------------------
// Timing.

struct Events {
  cudaEvent_t start = nullptr, stop = nullptr;
  Events() {
    cuda_ok(cudaEventCreate(&start), "cudaEventCreate");
    cuda_ok(cudaEventCreate(&stop), "cudaEventCreate");
  }
  ~Events() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
};

// Runs `call` once per iteration between two events on the legacy default stream (where our
// kernels, cudaMemcpyAsync(..., 0) and cuDNN's default stream all queue) and reports that time.
void timed(benchmark::State &state, const std::function<void()> &call, std::int64_t bytes) {
  try {
    Events ev;
    call(); // warm-up: first launch, module load
    cuda_ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    double seconds = 0;
    std::int64_t calls = 0;
    for (auto _ : state) {
      cuda_ok(cudaEventRecord(ev.start, 0), "cudaEventRecord");
      call();
      cuda_ok(cudaEventRecord(ev.stop, 0), "cudaEventRecord");
      cuda_ok(cudaEventSynchronize(ev.stop), "cudaEventSynchronize");
      float ms = 0;
      cuda_ok(cudaEventElapsedTime(&ms, ev.start, ev.stop), "cudaEventElapsedTime");
      state.SetIterationTime(ms * 1e-3);
      seconds += ms * 1e-3;
      ++calls;
    }
    state.counters["GBps"] = seconds > 0 ? static_cast<double>(bytes) * calls / seconds / 1e9 : 0;
    state.counters["bytes"] = static_cast<double>(bytes);
    state.counters["n"] = static_cast<double>(opt.n);
  } catch (const std::exception &e) {
    state.SkipWithError(e.what());
  }
}

void add(const std::string &name, std::function<void(benchmark::State &)> body) {
  benchmark::RegisterBenchmark(name.c_str(), std::move(body))
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond)
      ->ComputeStatistics(
          "min", [](const std::vector<double> &v) { return *std::min_element(v.begin(), v.end()); })
      ->ComputeStatistics("max", [](const std::vector<double> &v) {
        return *std::max_element(v.begin(), v.end());
      });
}

std::int64_t bytes_of(Role role, DType d) {
  return (role == Role::Forward ? 2 : 3) * opt.n * static_cast<std::int64_t>(dtype_bytes(d));
}

// ----------------------------------------------------------------------------------------------
// Our kernels: compiled in parallel, checked, registered.

struct Ours {
  const ActInfo *act;
  Role role;
  DType dtype;
  std::optional<actforge::Kernel> kernel;
  std::string error; // compile or check failure: the case reports it instead of a speed
  double compile_s = 0;
  // Set for the schedule sweep ("sweep/..."): another GPU schedule than the default.
  std::optional<actforge::codegen::Schedule> schedule = std::nullopt;
};

void compile_all(std::vector<Ours> &all) {
  std::atomic<std::size_t> next{0}, done{0};
  std::mutex print;
  const auto t0 = std::chrono::steady_clock::now();
  const unsigned jobs = static_cast<unsigned>(
      opt.jobs > 0 ? opt.jobs
                   : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  std::printf("compiling %zu kernels on %u threads\n", all.size(), jobs);
  std::fflush(stdout);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < std::min<std::size_t>(jobs, all.size()); ++t)
    pool.emplace_back([&] {
      for (std::size_t i; (i = next++) < all.size();) {
        Ours &o = all[i];
        const auto start = std::chrono::steady_clock::now();
        try {
          o.kernel =
              actforge::jit(o.act->name, {.role = o.role,
                                          .dtype = o.dtype,
                                          .target = opt.on_host ? "host" : "cuda",
                                          .schedule = opt.on_host ? std::nullopt : o.schedule});
        } catch (const std::exception &e) {
          o.error = std::string("compile failed: ") + e.what();
        }
        o.compile_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const std::lock_guard lock(print);
        std::printf("  [%2zu/%zu] %-7s %s %s  %-40s %6.1f s%s%s\n", ++done, all.size(), o.act->name,
                    dir_name(o.role), dtype_name(o.dtype),
                    o.kernel ? o.kernel->name().c_str() : "-", o.compile_s,
                    o.error.empty() ? "" : "  ", o.error.c_str());
        std::fflush(stdout);
      }
    });
  for (auto &th : pool)
    th.join();
  std::printf("compiled in %.1f s (jit compiled %zu, loaded %zu from the disk cache)\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
              actforge::jit_compile_count(), actforge::jit_disk_load_count());
}

void ours_call(const Ours &o) {
  const Arrays &a = arrays.at(o.dtype);
  if (o.role == Role::Forward)
    o.kernel->run({a.x()}, {a.out}, actforge::Shape::flat(opt.n));
  else
    o.kernel->run({a.x(), a.dy(o.dtype)}, {a.out}, actforge::Shape::flat(opt.n));
}

// ----------------------------------------------------------------------------------------------
// cuDNN cases.

struct CudnnCase {
  const ActInfo *act;
  Role role;
  DType dtype;
  cudnnTensorDescriptor_t desc = nullptr;
  cudnnActivationDescriptor_t act_desc = nullptr;
  std::string error;
  std::string note; // its output differs from the reference: timed, and labelled so
};

void cudnn_call(const CudnnCase &c, void *out) {
  const Arrays &a = arrays.at(c.dtype);
  const float one = 1.f, zero = 0.f; // scaling factors are float for f32 and f16 tensors
  if (c.role == Role::Forward)
    cudnn.ok(cudnn.forward(cudnn.handle, c.act_desc, &one, c.desc, a.x(), &zero, c.desc, out),
             "cudnnActivationForward");
  else
    cudnn.ok(cudnn.backward(cudnn.handle, c.act_desc, &one, c.desc, a.y, c.desc, a.dy(c.dtype),
                            c.desc, a.x(), &zero, c.desc, out),
             "cudnnActivationBackward");
}

void cudnn_setup(CudnnCase &c) {
  if (opt.n > 0x7fffffff) throw CudaError("n is beyond cuDNN's int dimensions");
  cudnn.ok(cudnn.create_tensor(&c.desc), "cudnnCreateTensorDescriptor");
  // 1 x 1 x H x W with W the largest power of two up to 2^16 that divides n: a packed tensor, so
  // the same n elements in the same order, without a dimension of 2^28.
  std::int64_t w = 1;
  while (w < 65536 && opt.n % (2 * w) == 0)
    w *= 2;
  cudnn.ok(cudnn.set_tensor_4d(c.desc, CUDNN_TENSOR_NCHW,
                               c.dtype == DType::F16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT, 1, 1,
                               static_cast<int>(opt.n / w), static_cast<int>(w)),
           "cudnnSetTensor4dDescriptor");
  cudnn.ok(cudnn.create_act(&c.act_desc), "cudnnCreateActivationDescriptor");
  cudnn.ok(cudnn.set_act(c.act_desc, *c.act->cudnn, CUDNN_PROPAGATE_NAN, c.act->cudnn_coef),
           "cudnnSetActivationDescriptor");
  if (*c.act->cudnn == CUDNN_ACTIVATION_SWISH)
    cudnn.ok(cudnn.set_swish_beta(c.act_desc, 1.0), "cudnnSetActivationDescriptorSwishBeta");
}

// ----------------------------------------------------------------------------------------------

bool take_flag(std::string_view arg, std::string_view name, std::string &value) {
  if (arg.substr(0, name.size()) != name) return false;
  if (arg.size() == name.size()) {
    value.clear();
    return true;
  }
  if (arg[name.size()] != '=') return false;
  value = std::string(arg.substr(name.size() + 1));
  return true;
}

std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start <= s.size();) {
    const std::size_t comma = std::min(s.find(',', start), s.size());
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

void parse_options(int &argc, char **argv) {
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    const std::string_view arg = argv[i];
    if (take_flag(arg, "--gpu_n", v)) {
      opt.n = std::stoll(v);
      if (opt.n < 512) throw std::invalid_argument("--gpu_n must be at least 512");
    } else if (take_flag(arg, "--gpu_dtypes", v)) {
      opt.dtypes.clear();
      for (const auto &d : split(v)) {
        if (d == "f32")
          opt.dtypes.push_back(DType::F32);
        else if (d == "f16")
          opt.dtypes.push_back(DType::F16);
        else
          throw std::invalid_argument("--gpu_dtypes: f32, f16, not " + d);
      }
    } else if (take_flag(arg, "--gpu_only", v)) {
      opt.only = split(v);
    } else if (take_flag(arg, "--gpu_jobs", v)) {
      opt.jobs = std::stoi(v);
    } else if (take_flag(arg, "--gpu_no_cudnn", v)) {
      opt.use_cudnn = false;
    } else if (take_flag(arg, "--gpu_check_on_host", v)) {
      opt.on_host = true;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
}

// --gpu_check_on_host: CPU kernels through the same compile, fill and check; 1 if one fails.
int check_on_host(std::vector<Ours> &ours) {
  compile_all(ours);
  for (DType d : opt.dtypes)
    allocate(d);
  int failed = 0;
  for (Ours &o : ours) {
    if (o.error.empty()) {
      try {
        ours_call(o);
        o.error = check_output(o.act->act, o.role, o.dtype, arrays.at(o.dtype).out, 1.0);
      } catch (const std::exception &e) {
        o.error = e.what();
      }
    }
    failed += !o.error.empty();
    std::printf("  host  %-7s %s %s: %s\n", o.act->name, dir_name(o.role), dtype_name(o.dtype),
                o.error.empty() ? "ok" : o.error.c_str());
  }
  std::printf("check on host: %zu kernels, %d failed\n", ours.size(), failed);
  return failed ? 1 : 0;
}

int run(int argc, char **argv) {
  parse_options(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  std::vector<const ActInfo *> acts;
  for (const auto &a : kActs)
    if (opt.only.empty() || std::find(opt.only.begin(), opt.only.end(), a.name) != opt.only.end())
      acts.push_back(&a);
  static std::vector<Ours> ours; // referenced by the registered bodies
  for (DType d : opt.dtypes)
    for (Role r : {Role::Forward, Role::Backward})
      for (const ActInfo *a : acts)
        ours.push_back({a, r, d, std::nullopt, "", 0});
  if (opt.on_host) return check_on_host(ours);
  for (DType d : opt.dtypes)
    for (const ActInfo *a : acts)
      if (std::find(std::begin(actforge::bench::kSweepActivations),
                    std::end(actforge::bench::kSweepActivations),
                    std::string_view(a->name)) != std::end(actforge::bench::kSweepActivations))
        for (const auto &sc : actforge::bench::sweep_schedules(d))
          ours.push_back({a, Role::Forward, d, std::nullopt, "", 0, sc});

  int devices = 0;
  if (const cudaError_t e = cudaGetDeviceCount(&devices); e != cudaSuccess || devices == 0) {
    std::printf("actforge_gpu_bench: skipped: no CUDA device (%s)\n",
                e != cudaSuccess ? cudaGetErrorString(e) : "cudaGetDeviceCount found none");
    return 0;
  }
  cuda_ok(cudaSetDevice(0), "cudaSetDevice");
  cuda_ok(cudaFree(nullptr), "creating the CUDA context"); // device 0's primary context, current
  cudaDeviceProp prop{};
  cuda_ok(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  cudnn.open(opt.use_cudnn);
  std::printf("device 0: %s, sm_%d%d, %d SMs, %.1f GiB; driver API %d, runtime %d; cuDNN: %s\n",
              prop.name, prop.major, prop.minor, prop.multiProcessorCount,
              static_cast<double>(prop.totalGlobalMem) / (1 << 30), driver, runtime,
              cudnn.problem.empty() ? std::to_string(cudnn.get_version()).c_str()
                                    : cudnn.problem.c_str());
  benchmark::AddCustomContext("gpu", prop.name);
  benchmark::AddCustomContext("cuda_driver", std::to_string(driver));
  benchmark::AddCustomContext("cudnn", cudnn.problem.empty() ? std::to_string(cudnn.get_version())
                                                             : cudnn.problem);
  benchmark::AddCustomContext("gpu_n", std::to_string(opt.n));

  compile_all(ours);

  std::printf("allocating and filling arrays of n = %lld\n", static_cast<long long>(opt.n));
  std::fflush(stdout);
  for (DType d : opt.dtypes)
    allocate(d);

  // Check every kernel once on the whole arrays (also its first launch).
  std::printf("checking outputs against the double-precision reference\n");
  for (Ours &o : ours) {
    if (!o.error.empty()) continue;
    try {
      ours_call(o);
      cuda_ok(cudaDeviceSynchronize(), "running the kernel");
      o.error = check_output(o.act->act, o.role, o.dtype, arrays.at(o.dtype).out, 1.0);
    } catch (const std::exception &e) {
      o.error = e.what();
    }
    std::printf("  ours  %-7s %s %s: %s\n", o.act->name, dir_name(o.role), dtype_name(o.dtype),
                o.error.empty() ? "ok" : o.error.c_str());
  }
  static std::vector<CudnnCase> peers;
  for (DType d : opt.dtypes)
    for (Role r : {Role::Forward, Role::Backward})
      for (const ActInfo *a : acts)
        if (a->cudnn) peers.push_back({a, r, d, nullptr, nullptr, "", ""});
  for (CudnnCase &c : peers) {
    if (!cudnn.problem.empty()) {
      c.error = cudnn.problem;
      continue;
    }
    try {
      cudnn_setup(c);
      // Backward takes y: cuDNN's own forward output, made here before the backward is timed.
      if (c.role == Role::Backward) {
        CudnnCase fwd = c;
        fwd.role = Role::Forward;
        cudnn_call(fwd, arrays.at(c.dtype).y);
      }
      cudnn_call(c, arrays.at(c.dtype).out);
      cuda_ok(cudaDeviceSynchronize(), "running cuDNN");
      // cuDNN may compute f16 in f16: a looser bound, still far below a wrong result.
      // A peer that differs (cuDNN's f16 tanh backward works from y rounded to f16; its
      // relu6' at 6 is 1 where ours is 0) is still timed, with the difference as its label.
      c.note = check_output(c.act->act, c.role, c.dtype, arrays.at(c.dtype).out, 4.0);
    } catch (const std::exception &e) {
      c.error = e.what();
    }
    std::printf("  cudnn %-7s %s %s: %s\n", c.act->name, dir_name(c.role), dtype_name(c.dtype),
                !c.error.empty()  ? c.error.c_str()
                : !c.note.empty() ? ("differs (timed anyway): " + c.note).c_str()
                                  : "ok");
  }
  std::fflush(stdout);

  // Registration order: per dtype, the copies, then per direction and activation ours and cuDNN.
  for (DType d : opt.dtypes) {
    for (Role r : {Role::Forward, Role::Backward}) {
      const std::int64_t bytes = bytes_of(r, d);
      add(std::string("copy/") + dir_name(r) + "/" + dtype_name(d),
          [d, bytes](benchmark::State &state) {
            const Arrays &a = arrays.at(d);
            timed(
                state,
                [&] {
                  cuda_ok(cudaMemcpyAsync(a.out, a.xdy, static_cast<std::size_t>(bytes / 2),
                                          cudaMemcpyDeviceToDevice, 0),
                          "cudaMemcpyAsync");
                },
                bytes);
          });
    }
    for (Role r : {Role::Forward, Role::Backward})
      for (const ActInfo *a : acts) {
        const std::string suffix = std::string(a->name) + "/" + dir_name(r) + "/" + dtype_name(d);
        for (const Ours &o : ours)
          if (o.act == a && o.role == r && o.dtype == d)
            add((o.schedule ? "sweep/" : "ours/") + suffix +
                    (o.schedule ? "/" + o.schedule->describe() : std::string()),
                [&o](benchmark::State &state) {
                  if (!o.error.empty()) return state.SkipWithError(o.error.c_str());
                  timed(
                      state, [&] { ours_call(o); }, bytes_of(o.role, o.dtype));
                });
        for (const CudnnCase &c : peers)
          if (c.act == a && c.role == r && c.dtype == d)
            add("cudnn/" + suffix, [&c](benchmark::State &state) {
              if (!c.error.empty()) return state.SkipWithError(c.error.c_str());
              if (!c.note.empty()) state.SetLabel("output differs: " + c.note);
              timed(
                  state, [&] { cudnn_call(c, arrays.at(c.dtype).out); }, bytes_of(c.role, c.dtype));
            });
      }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "actforge_gpu_bench: %s\n", e.what());
    return 1;
  }
}
