// The CUDA target: its Halide target, and the driver found at run time with dlopen.
#include "actforge/targets/cuda.hpp"

#include "actforge/error.hpp"
#include "actforge/targets/x86.hpp"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

namespace actforge::targets::cuda {
namespace {

// The few driver entry points used here, by their C signatures (CUresult is int).
using CuInit = int (*)(unsigned);
using CuDeviceGetCount = int (*)(int *);
using CuDeviceGet = int (*)(int *, int);
using CuCtxGetCurrent = int (*)(void **);
using CuPrimaryCtxRetain = int (*)(void **, int);

struct Driver {
  void *lib = nullptr;
  CuCtxGetCurrent ctx_get_current = nullptr;
  CuDeviceGet device_get = nullptr;
  CuPrimaryCtxRetain primary_retain = nullptr;
  int ordinal = 0; // $ACTFORGE_CUDA_DEVICE
  std::string problem;
};

const Driver &driver() {
  static const Driver d = [] {
    Driver r;
    r.lib = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    if (!r.lib) {
      const char *why = ::dlerror();
      r.problem =
          std::string("no CUDA driver found (") + (why ? why : "libcuda.so.1: not loaded") + ")";
      return r;
    }
    auto init = reinterpret_cast<CuInit>(::dlsym(r.lib, "cuInit"));
    auto count = reinterpret_cast<CuDeviceGetCount>(::dlsym(r.lib, "cuDeviceGetCount"));
    r.ctx_get_current = reinterpret_cast<CuCtxGetCurrent>(::dlsym(r.lib, "cuCtxGetCurrent"));
    r.device_get = reinterpret_cast<CuDeviceGet>(::dlsym(r.lib, "cuDeviceGet"));
    r.primary_retain =
        reinterpret_cast<CuPrimaryCtxRetain>(::dlsym(r.lib, "cuDevicePrimaryCtxRetain_v2"));
    if (!r.primary_retain)
      r.primary_retain =
          reinterpret_cast<CuPrimaryCtxRetain>(::dlsym(r.lib, "cuDevicePrimaryCtxRetain"));
    if (!init || !count || !r.ctx_get_current || !r.device_get || !r.primary_retain) {
      r.problem = "no CUDA driver found (libcuda.so.1 lacks the driver API's entry points)";
      return r;
    }
    if (const int rc = init(0); rc != 0) {
      r.problem = rc == 100 ? "no CUDA device found (cuInit: CUDA_ERROR_NO_DEVICE)"
                            : "no CUDA driver found (cuInit failed with CUresult " +
                                  std::to_string(rc) + ")";
      return r;
    }
    int devices = 0;
    if (count(&devices) != 0 || devices == 0) {
      r.problem = "no CUDA device found";
      return r;
    }
    if (const char *env = std::getenv("ACTFORGE_CUDA_DEVICE"); env && *env) {
      char *end = nullptr;
      const long v = std::strtol(env, &end, 10);
      if (*end != '\0' || v < 0 || v >= devices)
        r.problem = "no CUDA device found: ACTFORGE_CUDA_DEVICE=" + std::string(env) +
                    " names none of this machine's " + std::to_string(devices) + " (0 to " +
                    std::to_string(devices - 1) + ")";
      else
        r.ordinal = static_cast<int>(v);
    }
    return r;
  }();
  return d;
}

} // namespace

const std::vector<std::string> &names() {
  static const std::vector<std::string> n{"cuda"};
  return n;
}

bool is_cuda(std::string_view name) { return name == "cuda"; }

TargetInfo resolve(std::string_view name) {
  if (!is_cuda(name)) throw Error("'" + std::string(name) + "' is not a CUDA target (known: cuda)");
  // The host side is the x86 AVX2 target's code (strict float included), launching the PTX.
  using F = Halide::Target::Feature;
  const Halide::Target t =
      x86::resolve("x86-64-avx2").halide.with_feature(F::CUDA).with_feature(F::CUDACapability80);
  return {std::string(name), t, 128, true, Family::Cuda};
}

const std::string &driver_problem() { return driver().problem; }

int acquire_context(void *, void **context, bool create) {
  const Driver &d = driver();
  if (!d.problem.empty()) return 3; // CUDA_ERROR_NOT_INITIALIZED
  void *current = nullptr;
  if (const int rc = d.ctx_get_current(&current); rc != 0) return rc;
  if (current) {
    *context = current;
    return 0;
  }
  static std::mutex mutex;
  static void *primary = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (!primary && create) {
    int device = 0;
    if (const int rc = d.device_get(&device, d.ordinal); rc != 0) return rc;
    if (const int rc = d.primary_retain(&primary, device); rc != 0) return rc;
  }
  *context = primary;
  return 0;
}

int release_context(void *) { return 0; }

} // namespace actforge::targets::cuda
