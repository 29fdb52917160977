# The aot_arm example as a test: install Actforge from BUILD_DIR into a fresh prefix under
# WORK_DIR, cross-configure the example project for AArch64 with
# cmake/toolchains/aarch64-linux-gnu.cmake against that installation only, build it, and run its
# program under qemu-aarch64: through the example's own ctest (CMAKE_CROSSCOMPILING_EMULATOR),
# then directly on -cpu max (FP16 arithmetic) and -cpu cortex-a53 (NEON only), so both dispatch
# levels run. Prints "aot arm example: skipped" (the test's SKIP_REGULAR_EXPRESSION)
# when the cross compiler, its sysroot or qemu-aarch64 is missing.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DTOOLCHAIN=... -DWORK_DIR=... -DGENERATOR=...
#         -P run_example.cmake
find_program(cross_cc aarch64-linux-gnu-gcc)
find_program(qemu qemu-aarch64)
set(sysroot /usr/aarch64-linux-gnu)
if(NOT cross_cc OR NOT qemu OR NOT EXISTS "${sysroot}/lib")
  message("aot arm example: skipped: needs aarch64-linux-gnu-gcc (${cross_cc}), its sysroot "
          "${sysroot} and qemu-aarch64 (${qemu}); Debian: apt install gcc-aarch64-linux-gnu "
          "libc6-dev-arm64-cross qemu-user")
  return()
endif()

include(${CMAKE_CURRENT_LIST_DIR}/../example_common.cmake)
install_actforge()
# Actforge_DIR, not CMAKE_PREFIX_PATH: the toolchain file confines package searches to the
# AArch64 root, and this package (an x86 executable) lives outside it.
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN} -DActforge_DIR=${prefix}/lib/cmake/Actforge
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo)
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run(${CMAKE_CTEST_COMMAND} --test-dir "${WORK_DIR}/build" --output-on-failure -V)
# Both dispatch levels, each on a CPU that picks it.
foreach(cpu_and_level "max;has FP16" "cortex-a53;lacks FP16")
  list(GET cpu_and_level 0 cpu)
  list(GET cpu_and_level 1 level)
  execute_process(COMMAND ${qemu} -cpu ${cpu} -L ${sysroot} "${WORK_DIR}/build/aot_arm"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("qemu-aarch64 -cpu ${cpu}:\n${out}")
  if(NOT rc EQUAL 0 OR NOT out MATCHES "this CPU ${level} arithmetic")
    message(FATAL_ERROR "aot_arm on -cpu ${cpu}: exit ${rc}, expected a CPU that ${level}")
  endif()
endforeach()
