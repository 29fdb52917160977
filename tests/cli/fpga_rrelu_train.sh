#!/bin/bash
# RReLU training (generated g) on the fpga target: the HLS C kernels and the x86 AOT kernels of
# rrelu_train --uniform-g, linked into tests/cli/fpga_rrelu_train_driver.c (C simulation).
# Usage: fpga_rrelu_train.sh ACTFORGE_BIN WORK_DIR
set -euo pipefail
actforge=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work/fpga" "$work/x86"
"$actforge" gen rrelu_train --uniform-g --target fpga --max-n 5000 --out "$work/fpga" --quiet
"$actforge" gen rrelu_train --uniform-g --target host --name frx --out "$work/x86" --quiet
cc -std=c99 -O2 -Wall -Wextra -Werror -I"$work/fpga" -I"$work/x86" \
  "$here/fpga_rrelu_train_driver.c" "$work/fpga/rrelu_train_fwd.c" "$work/fpga/rrelu_train_bwd.c" \
  "$work/x86/frx_kernels.c" "$work/x86/libfrx_kernels.a" -lpthread -ldl -lm -o "$work/driver"
"$work/driver"
