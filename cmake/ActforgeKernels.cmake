# actforge_add_kernels(<target>
#     ACTIVATIONS <name | expr | name=expr>...
#     [TARGETS host x86-64-avx2 x86-64-avx512 | cuda | arm-64-linux arm-64-linux-fp16]
#                                                (default: host; an AArch64 build: both ARM ones)
#     [ROLES forward backward backward_from_output param_grad] (default: forward backward)
#     [DTYPES f32 f64 f16 bf16]                  (default: f32)
#     [LAYOUT flat channels]                     (default: flat)
#     [PER_CHANNEL <param>...]                   (parameters with C values in the channel layout)
#     [UNIFORM_G]                                (input g generated in the kernels: gen --uniform-g)
#     [ZERO_COUNTS]                              (also F_zero_counts functions: gen --zero-counts)
#     [MAXOUT_K <k>...]                          (with ACTIVATIONS maxout: its group sizes, 2..16)
#     [EPILOGUE bias|affine|residual]            (each activation fused: gen --epilogue)
#     [PREFIX <c-prefix>])                        (default: actforge)
#
# Modelled on Halide's add_halide_library(): a custom command runs `actforge gen` at build time
# into ${CMAKE_CURRENT_BINARY_DIR}/<target>.actforge/, and <target> is a static library of the
# generated C wrappers and registry, linking the generated kernel archive, with the directory of
# <PREFIX>_kernels.h as its public include directory. An expression without a name is named
# expr_<8 hex digits of its hash>; write name=expr to choose. A role an activation lacks is
# skipped (the header says so). Needs C enabled in project().
# Two calls in one program need different PREFIXes (C names) and share nothing else.
# UNIFORM_G: every activation's input g is generated in the kernel (Philox-4x32-10; functions
# named <name>_<role>_rng_<dtype> take uint64_t seed, uint64_t offset after the parameters), e.g.
# ACTIVATIONS rrelu_train UNIFORM_G for RReLU in training mode.
# ZERO_COUNTS: each forward and backward function F also comes as F_zero_counts(...,
# int64_t *zero_counts), which also counts the outputs (y; dx) that are exactly zero, per channel
# (one count for flat functions): dead-unit statistics without a second pass. CPU targets only.
# ACTIVATIONS maxout (alone or beside others) gives <prefix>_maxout_k<k>_fwd_<dtype>(x, y, outer,
# channels_in, inner) and _bwd_ (x, dy, dx, ...) for each k of MAXOUT_K (default 2). CPU targets.
# EPILOGUE: each activation f becomes f(x + bias), f(scale*x + shift) or f(x + g), named
# <name>_<epilogue>; bias, scale and shift are per channel in the channel layout (LAYOUT defaults
# to channels for bias and affine), e.g. ACTIVATIONS gelu EPILOGUE bias ROLES forward backward
# param_grad gives <prefix>_gelu_bias_pgrad_ch_f32(..., const float *bias, float *dbias).
# TARGETS cuda: the functions take device pointers (param_grad results: host memory); gen also
# writes each kernel's PTX (<kernel>.ptx, <kernel>_unaligned.ptx) into the directory; the
# library loads libcuda.so.1 at run time and links only dl, pthread and m.
# TARGETS arm-64-linux (NEON) and arm-64-linux-fp16 (ARMv8.2 half-precision arithmetic): AArch64
# kernels for Linux and Android, dispatched by getauxval(AT_HWCAP), never mixed with x86 or cuda.
# They need a build for AArch64 (CMAKE_SYSTEM_PROCESSOR aarch64 or arm64: a cross build with
# cmake/toolchains/aarch64-linux-gnu.cmake or Android's NDK toolchain file, or a native one); such
# a build defaults to both ARM targets instead of host and refuses x86 and cuda ones. The actforge
# executable still runs on the build machine: find the package of an x86 installation
# (-DActforge_DIR=<prefix>/lib/cmake/Actforge).
function(actforge_add_kernels target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "UNIFORM_G;ZERO_COUNTS" "PREFIX;EPILOGUE" "ACTIVATIONS;TARGETS;ROLES;DTYPES;LAYOUT;PER_CHANNEL;MAXOUT_K")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "actforge_add_kernels: unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_ACTIVATIONS)
    message(FATAL_ERROR "actforge_add_kernels(${target}): ACTIVATIONS names no activation")
  endif()
  get_property(languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if(NOT "C" IN_LIST languages)
    message(FATAL_ERROR "actforge_add_kernels(${target}): enable C in project(): the generated "
                        "wrappers are C")
  endif()
  # The kernels are objects for the machine the project builds for; the generator's "host" is
  # the build machine (x86), and its cuda target's host side is x86 code too.
  string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" processor)
  set(aarch64 OFF)
  if(processor STREQUAL "aarch64" OR processor STREQUAL "arm64")
    set(aarch64 ON)
  endif()
  if(NOT ARG_TARGETS)
    if(aarch64)
      set(ARG_TARGETS arm-64-linux arm-64-linux-fp16)
    else()
      set(ARG_TARGETS host)
    endif()
  endif()
  set(arm_targets)
  set(other_targets)
  foreach(t IN LISTS ARG_TARGETS)
    string(REPLACE "," ";" split "${t}")
    foreach(name IN LISTS split)
      if(name MATCHES "^arm")
        list(APPEND arm_targets "${name}")
      else()
        list(APPEND other_targets "${name}")
      endif()
    endforeach()
  endforeach()
  if(arm_targets AND other_targets)
    message(FATAL_ERROR "actforge_add_kernels(${target}): TARGETS mixes ARM (${arm_targets}) with "
                        "other targets (${other_targets}): one library is for one architecture")
  endif()
  if(arm_targets AND NOT aarch64)
    message(FATAL_ERROR
      "actforge_add_kernels(${target}): TARGETS ${arm_targets} gives AArch64 objects, but this "
      "build is for '${CMAKE_SYSTEM_PROCESSOR}': they cannot link into its programs. Cross-compile "
      "for AArch64: -DCMAKE_TOOLCHAIN_FILE=<actforge>/cmake/toolchains/aarch64-linux-gnu.cmake "
      "(or Android's NDK toolchain file with -DANDROID_ABI=arm64-v8a)")
  endif()
  if(aarch64 AND other_targets)
    message(FATAL_ERROR
      "actforge_add_kernels(${target}): this build is for AArch64 but TARGETS names "
      "${other_targets}: x86 code (host is the build machine that runs actforge; cuda's host "
      "side is x86 too). Use arm-64-linux and/or arm-64-linux-fp16, or leave TARGETS out (both)")
  endif()
  if(arm_targets AND NOT CMAKE_SYSTEM_NAME MATCHES "^(Linux|Android)$")
    message(FATAL_ERROR
      "actforge_add_kernels(${target}): TARGETS ${arm_targets} gives Linux/Android ELF objects "
      "(dispatched by getauxval()); this build is for ${CMAKE_SYSTEM_NAME}")
  endif()
  if(NOT ARG_ROLES)
    set(ARG_ROLES forward backward)
  endif()
  if(NOT ARG_DTYPES)
    set(ARG_DTYPES f32)
  endif()
  if(NOT ARG_LAYOUT AND ARG_EPILOGUE MATCHES "^(bias|affine)$")
    set(ARG_LAYOUT channels) # bias, scale and shift per channel, as gen --epilogue
  elseif(NOT ARG_LAYOUT)
    set(ARG_LAYOUT flat)
  endif()
  if(NOT ARG_PREFIX)
    set(ARG_PREFIX actforge)
  endif()
  list(JOIN ARG_TARGETS "," targets)
  list(JOIN ARG_ROLES "," roles)
  list(JOIN ARG_DTYPES "," dtypes)
  list(JOIN ARG_LAYOUT "," layouts)
  set(per_channel)
  if(ARG_PER_CHANNEL)
    list(JOIN ARG_PER_CHANNEL "," per_channel_list)
    set(per_channel --per-channel "${per_channel_list}")
  endif()

  set(uniform_g)
  if(ARG_UNIFORM_G)
    set(uniform_g --uniform-g)
  endif()

  set(maxout_k)
  if(ARG_MAXOUT_K)
    list(TRANSFORM ARG_MAXOUT_K PREPEND "k=" OUTPUT_VARIABLE maxout_items)
    list(JOIN maxout_items "," maxout_list)
    set(maxout_k --param "${maxout_list}")
  endif()

  set(epilogue)
  if(ARG_EPILOGUE)
    set(epilogue --epilogue "${ARG_EPILOGUE}")
  endif()

  set(zero_counts)
  if(ARG_ZERO_COUNTS)
    set(zero_counts --zero-counts)
  endif()

  set(dir "${CMAKE_CURRENT_BINARY_DIR}/${target}.actforge")
  set(header "${dir}/${ARG_PREFIX}_kernels.h")
  set(source "${dir}/${ARG_PREFIX}_kernels.c")
  set(archive "${dir}/lib${ARG_PREFIX}_kernels.a")
  add_custom_command(
    OUTPUT "${header}" "${source}" "${archive}"
    COMMAND Actforge::actforge gen ${ARG_ACTIVATIONS} --out "${dir}" --target "${targets}"
            --role "${roles}" --dtype "${dtypes}" --layout "${layouts}" ${per_channel}
            ${uniform_g} ${zero_counts} ${maxout_k} ${epilogue} --name "${ARG_PREFIX}" --quiet
    DEPENDS Actforge::actforge
    COMMENT "Generating Actforge kernels ${target}"
    VERBATIM)
  add_custom_target(${target}.generate DEPENDS "${header}" "${source}" "${archive}")

  find_package(Threads REQUIRED)
  add_library(${target} STATIC "${source}")
  add_dependencies(${target} ${target}.generate)
  target_include_directories(${target} PUBLIC "$<BUILD_INTERFACE:${dir}>")
  target_link_libraries(${target} PUBLIC "${archive}" Threads::Threads ${CMAKE_DL_LIBS})
  if(UNIX)
    target_link_libraries(${target} PUBLIC m)
  endif()
endfunction()
