#!/bin/bash
# Zero counts through the C ABI on ARM: `actforge gen --zero-counts` for arm-64-linux, the library
# and tests/cli/zero_counts_driver.c cross-compiled by aarch64-linux-gnu-gcc and run under
# qemu-aarch64. Exits 77 (skipped) where the cross tools are missing.
# Usage: zero_counts_arm.sh ACTFORGE_BIN WORK_DIR
set -euo pipefail
actforge=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
for tool in aarch64-linux-gnu-gcc qemu-aarch64; do
  if ! command -v "$tool" > /dev/null; then
    echo "skipped: $tool not found (apt-get install g++-aarch64-linux-gnu qemu-user)"
    exit 77
  fi
done
rm -rf "$work"
mkdir -p "$work"
"$actforge" gen relu reglu --zero-counts --target arm-64-linux --layout flat,channels \
  --dtype f32,f16 --name azc --out "$work/gen" --quiet
aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -I"$work/gen" "$here/zero_counts_driver.c" \
  "$work/gen/azc_kernels.c" "$work/gen/libazc_kernels.a" -lpthread -ldl -lm -o "$work/driver"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$work/driver"
