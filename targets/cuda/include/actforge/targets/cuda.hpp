// targets/cuda: NVIDIA GPUs through Halide 14's PTX back end.
//
// Name: "cuda" — PTX ISA 7.0 for sm_80 (Halide's cuda_capability_80), which ptxas assembles for
// sm_80 and sm_90 and the driver compiles for any GPU from Ampere on (an H100 runs it). The host
// side of a kernel is x86-64 (AVX2) code that launches it through Halide's CUDA runtime.
// Natural width: one 128-bit load or store per thread step (4 f32, 8 f16/bf16, 2 f64).
//
// What runs here: nothing needs a GPU to generate kernels; ptxas checks their PTX. Running them
// needs the NVIDIA driver (libcuda.so.1, loaded at run time, never linked) and a device:
// driver_problem() says why not when they are missing.
#pragma once

#include "actforge/targets/target.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace actforge::targets::cuda {

/// The CUDA target names: {"cuda"}.
const std::vector<std::string> &names();
bool is_cuda(std::string_view name);

/// Throws actforge::Error for a name that is_cuda() refuses.
TargetInfo resolve(std::string_view name);

/// Empty when this process can run CUDA kernels: libcuda.so.1 loads (it is then loaded with
/// RTLD_GLOBAL, where Halide's CUDA runtime finds it), cuInit succeeds and there is a device
/// (the one $ACTFORGE_CUDA_DEVICE names, when it is set: a decimal ordinal below the device
/// count). Else the reason, beginning "no CUDA driver found" or "no CUDA device found". Checked
/// once.
const std::string &driver_problem();

/// The CUDA context kernels run in, as Halide's runtime asks for it
/// (halide_set_cuda_acquire_context): the context current on the calling thread if there is one
/// (a host using the CUDA runtime API has its device's primary context current), else the
/// primary context of device $ACTFORGE_CUDA_DEVICE (default 0), retained once. Device pointers a
/// host passes must belong to that context. Returns 0 or a CUresult.
int acquire_context(void *user_context, void **context, bool create);
int release_context(void *user_context);

} // namespace actforge::targets::cuda
