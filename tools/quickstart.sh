#!/usr/bin/env bash
# Actforge quickstart for Debian 12 (bookworm): install what is missing, build, run.
#
#   bash tools/quickstart.sh main    build, then run the CLI: check every activation against its
#                                    reference, `actforge report` (every activation's kernels on
#                                    every target that runs here: accuracy, speed vs memcpy,
#                                    tuned vs default), and show swish's derivative
#   bash tools/quickstart.sh test    build, then run the whole test suite (ctest; its exit code
#                                    is this script's exit code)
#   bash tools/quickstart.sh --install-only [PKG...]
#                                    only install the given Debian packages that are missing
#                                    (default: the build packages); .ci/run uses this
#
# Packages are checked with dpkg-query; apt-get runs only when something is missing (that part
# needs root). The build goes to build/ (CMake + Ninja, RelWithDebInfo). Works from any directory.
set -euo pipefail

# Debian packages the build needs. Add new dependencies here, one per line.
BUILD_PACKAGES=(
  ca-certificates
  g++
  cmake
  ninja-build
  libboost1.81-dev # Boost.Hana (header-only)
  libhalide14-0-dev # Halide 14 (LLVM 14): the main code generator
  libmlir-19-dev # MLIR 19 (LLVM 19): tools/actforge-mlir, the second backend's compiler
  mlir-19-tools # mlir-opt-19: the emitted .mlir is verified with it (label mlir)
  llvm-19-dev
  googletest
  libgtest-dev
)
# Extra packages only the test suite needs (on top of BUILD_PACKAGES): the AArch64 cross tools
# and qemu that build and run the ARM kernels' tests (label arm), and clang for the fpga rule check.
TEST_PACKAGES=(
  g++-aarch64-linux-gnu
  libc6-dev-arm64-cross
  qemu-user
  clang # the fpga target's rule check compiles its C with gcc and clang (label fpga)
  libxml2-utils # xmllint: cli_plot_svg checks that `actforge plot` writes valid SVG
)

BUILD_DIR=build

log() { printf '==> %s\n' "$*"; }

# die MESSAGE [EXIT_CODE]
die() {
  printf 'quickstart: error: %s\n' "$1" >&2
  exit "${2:-1}"
}

usage() {
  sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# install_missing PKG...: apt-get install the packages that dpkg does not report as installed.
install_missing() {
  local pkg status missing=()
  for pkg in "$@"; do
    status="$(dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null || true)"
    if [[ "$status" != *"install ok installed"* ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    log "all $# packages already installed"
    return 0
  fi
  if ((EUID != 0)); then
    die "missing packages: ${missing[*]} (run this script as root, or: sudo apt-get install ${missing[*]})"
  fi
  log "installing ${#missing[@]} packages: ${missing[*]}"
  # dpkg's maintainer scripts need the sbin directories, which a plain user PATH may lack.
  export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
  # A failing third-party source should not stop us: the install below says if a package is
  # really unavailable.
  apt-get update -q || log "warning: apt-get update reported errors; trying the install anyway"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

configure_and_build() {
  log "configuring ($BUILD_DIR/, RelWithDebInfo)"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  log "building"
  cmake --build "$BUILD_DIR"
}

# run_step CMD...: print and run one command; on failure say which one and exit with its code.
run_step() {
  log "running: $*"
  local rc=0
  "$@" || rc=$?
  if ((rc != 0)); then
    printf 'quickstart: FAILED (exit %d): %s\n' "$rc" "$*" >&2
    exit "$rc"
  fi
}

# The main job: the long-double reference of every activation, then `actforge report` (every
# activation's f32 kernels on every target that runs here against the reference, their speed
# against memcpy, the tuning database's schedules, relu vs sigmoid), then Swish's derivative.
mode_main() {
  install_missing "${BUILD_PACKAGES[@]}"
  configure_and_build
  run_step "$BUILD_DIR/bin/actforge" check --all --reference
  run_step "$BUILD_DIR/bin/actforge" report
  run_step "$BUILD_DIR/bin/actforge" show swish --derivative
}

mode_test() {
  install_missing "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  configure_and_build
  run_step ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 --no-tests=error
}

main() {
  local mode="${1:-}"
  case "$mode" in
    -h | --help | help)
      usage
      return 0
      ;;
    --install-only)
      shift
      if (($# == 0)); then set -- "${BUILD_PACKAGES[@]}"; fi
      install_missing "$@"
      return 0
      ;;
    main | test) ;;
    "")
      usage >&2
      die "no mode given" 2
      ;;
    *)
      usage >&2
      die "unknown mode: $mode" 2
      ;;
  esac

  # Everything below runs from the repository root, wherever the script was called from.
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  local start=$SECONDS
  "mode_$mode"
  log "quickstart $mode: OK in $((SECONDS - start))s"
}

main "$@"
