#!/bin/bash
# A C driver against an AOT library on ARM: `actforge gen GEN_ARGS... --name PREFIX` for AArch64,
# the library and DRIVER.c cross-compiled by aarch64-linux-gnu-gcc, run under qemu-aarch64 (which
# has every feature: every ARM target runs). The driver prints its checks and "all passed".
# Exits 77 (skipped) where the cross tools are missing.
# Usage: aot_arm.sh ACTFORGE_BIN WORK_DIR DRIVER.c PREFIX GEN_ARGS...
set -euo pipefail
actforge=$1
work=$2
driver=$3
prefix=$4
shift 4
for tool in aarch64-linux-gnu-gcc qemu-aarch64; do
  if ! command -v "$tool" > /dev/null; then
    echo "skipped: $tool not found (apt-get install g++-aarch64-linux-gnu qemu-user)"
    exit 77
  fi
done
rm -rf "$work"
mkdir -p "$work"
"$actforge" gen "$@" --name "$prefix" --out "$work/gen" --quiet
aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -I"$work/gen" "$driver" \
  "$work/gen/${prefix}_kernels.c" "$work/gen/lib${prefix}_kernels.a" -lpthread -ldl -lm \
  -o "$work/driver"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$work/driver"
