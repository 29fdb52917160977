#!/bin/bash
# The fpga kernels' zero-count forms (gen --target fpga --zero-counts), float and fixed point,
# compiled with cc and run against the plain kernels by tests/cli/fpga_zero_counts_driver.c.
# Usage: fpga_zero_counts.sh ACTFORGE_BIN WORK_DIR
set -euo pipefail
actforge=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
"$actforge" gen relu hardsigmoid --target fpga --zero-counts --max-n 40000 --out "$work" --quiet
"$actforge" gen "relu_q=max(x, 0)" --role forward --target fpga --fixed 16.10 --zero-counts --max-n 40000 \
  --out "$work" --quiet
cc -std=c99 -O2 -Wall -Wextra -Werror -I"$work" "$here/fpga_zero_counts_driver.c" \
  "$work/relu_fwd.c" "$work/hardsigmoid_fwd.c" "$work/hardsigmoid_bwd.c" "$work/relu_q_fwd.c" \
  -o "$work/driver"
"$work/driver"
