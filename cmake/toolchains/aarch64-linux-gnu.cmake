# Cross-compiling for 64-bit ARM Linux (AArch64) with the GNU cross toolchain, e.g. Debian's
# gcc-aarch64-linux-gnu/g++-aarch64-linux-gnu and libc6-dev-arm64-cross (sysroot
# /usr/aarch64-linux-gnu). Use it for a project that consumes Actforge, never for Actforge itself
# (the generator runs on the build machine):
#   cmake -S <project> -B build-arm -DCMAKE_TOOLCHAIN_FILE=<actforge>/cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DActforge_DIR=<x86 install prefix>/lib/cmake/Actforge
# Overridable: -DACTFORGE_AARCH64_PREFIX=aarch64-linux-gnu- (compiler name prefix) and
# -DACTFORGE_AARCH64_SYSROOT=/usr/aarch64-linux-gnu.
# With qemu-aarch64 (Debian: qemu-user) on PATH, CMAKE_CROSSCOMPILING_EMULATOR is set, so
# add_test() and ctest run the AArch64 programs under qemu; try_run() works too.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(ACTFORGE_AARCH64_PREFIX "aarch64-linux-gnu-" CACHE STRING
    "Prefix of the AArch64 cross compilers' names (aarch64-linux-gnu-gcc, ...)")
set(ACTFORGE_AARCH64_SYSROOT "/usr/aarch64-linux-gnu" CACHE PATH
    "Root of the AArch64 libraries and headers (the find root and qemu's -L)")
# try_compile() projects read this file again: hand them the values chosen here.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ACTFORGE_AARCH64_PREFIX ACTFORGE_AARCH64_SYSROOT)

set(CMAKE_C_COMPILER "${ACTFORGE_AARCH64_PREFIX}gcc")
set(CMAKE_CXX_COMPILER "${ACTFORGE_AARCH64_PREFIX}g++")

# Libraries, headers and packages come from the AArch64 root only; programs (tools that run
# during the build) from the build machine only. A host-side package such as Actforge's (its
# actforge executable runs at build time) is found by its directory: -DActforge_DIR=..., which
# find_package() takes as given whatever the root path modes say.
set(CMAKE_FIND_ROOT_PATH "${ACTFORGE_AARCH64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Run AArch64 programs (ctest, try_run) under user-mode qemu when it is installed.
find_program(ACTFORGE_QEMU_AARCH64 qemu-aarch64)
if(ACTFORGE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${ACTFORGE_QEMU_AARCH64};-L;${ACTFORGE_AARCH64_SYSROOT}")
endif()
