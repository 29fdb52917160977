#!/bin/bash
# Maxout through the C ABI on ARM: `actforge gen maxout` for arm-64-linux and arm-64-linux-fp16,
# the library and tests/cli/maxout_driver.c cross-compiled by aarch64-linux-gnu-gcc and run under
# qemu-aarch64 (which has every feature: both targets run). Exits 77 (skipped) where the cross
# tools are missing.
# Usage: maxout_arm.sh ACTFORGE_BIN WORK_DIR
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
"$actforge" gen maxout --param k=3 --target arm-64-linux,arm-64-linux-fp16 --dtype f32,f64 \
  --name amo --out "$work/gen" --quiet
aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -I"$work/gen" "$here/maxout_driver.c" \
  "$work/gen/amo_kernels.c" "$work/gen/libamo_kernels.a" -lpthread -ldl -lm -o "$work/driver"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$work/driver"
